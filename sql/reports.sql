-- Feedback rules, follow-ups, cost per ticket and the service-benefit report
-- against hand-computed figures.
-- (pinned, so that no output depends on the server's or the client's defaults)
SET TimeZone = 'America/Los_Angeles';
SET DateStyle = 'Postgres, MDY';
SET IntervalStyle = 'postgres';
\set SHOW_CONTEXT never
SET search_path = repairsys, public;
SET client_min_messages = warning;
INSERT INTO service_center (id, name, time_zone) OVERRIDING SYSTEM VALUE VALUES (9601, 'rp center', 'Asia/Shanghai');
INSERT INTO customer (name, phone, service_center_id) VALUES ('rp customer', '13900000000', 9601);
INSERT INTO technician (id, name, service_center_id, hourly_cost) OVERRIDING SYSTEM VALUE VALUES (9601, 'rp tech', 9601, 90.00);
INSERT INTO service_type (code, name, labor_fee, callout_fee) VALUES ('rp_fix', 'rp fix', '0+:2.00', 20);
INSERT INTO part (sku, name, unit_cost, unit_price) VALUES ('RP-1', 'rp part', 40, 100);
SELECT receive_part('RP-1', 9601, 5, 38.00) > 0 AS stocked;
UPDATE setting SET value = '1.00' WHERE name = 'travel_cost_per_km';
CREATE FUNCTION pg_temp.job(minutes numeric, km numeric, parts int) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE t bigint := repairsys.open_ticket((SELECT id FROM repairsys.customer WHERE name = 'rp customer'), 'rp_fix', 'rp');
BEGIN
	UPDATE repairsys.ticket SET status = 'assigned', technician_id = 9601 WHERE id = t;
	PERFORM repairsys.approve_estimate(t);
	UPDATE repairsys.ticket SET status = 'in_progress' WHERE id = t;
	IF parts > 0 THEN PERFORM repairsys.reserve_part(t, 'RP-1', parts); END IF;
	UPDATE repairsys.ticket SET status = 'resolved', labor_minutes = minutes, travel_km = km WHERE id = t;
	RETURN t;
END $$;

-- feedback only after resolution
SELECT open_ticket((SELECT id FROM customer WHERE name = 'rp customer'), 'rp_fix', 'early') AS early \gset
INSERT INTO feedback (ticket_id, rating) VALUES (:early, 5);
\echo :LAST_ERROR_SQLSTATE

-- job 1: 60 min, 10 km, 1 part: revenue (before tax) 20 + 120 + 100 = 240;
--   cost: labor 90 x 60/60 = 90, part 40 (the unit cost on the issue row of the ledger), travel 10 x 1.00 = 10: 140; margin 100
SELECT pg_temp.job(60, 10, 1) AS j1 \gset
SELECT record_payment(issue_invoice(:j1), 'cash', (SELECT total FROM bill_summary WHERE ticket_id = :j1), 'rp-1') > 0 AS paid;
UPDATE ticket SET status = 'closed' WHERE id = :j1;
INSERT INTO feedback (ticket_id, rating, comment) VALUES (:j1, 4, 'good');
INSERT INTO feedback (ticket_id, rating) VALUES (:j1, 5);
-- job 2: 30 min, no travel, no part, a complaint: revenue 20 + 60 = 80; cost labor 45; margin 35
SELECT pg_temp.job(30, NULL, 0) AS j2 \gset
SELECT issue_invoice(:j2) > 0 AS invoiced;
INSERT INTO feedback (ticket_id, rating, comment, complaint) VALUES (:j2, 2, 'came late', true);

SELECT ticket_id = :j1 AS j1, revenue, labor_cost, parts_cost, travel_cost, cost, margin
  FROM ticket_cost WHERE ticket_id IN (:j1, :j2) ORDER BY ticket_id;
-- the month of the center: 3 tickets (the open early one counts too), revenue 320, cost 185,
-- margin 135, roi 135 / 185 = 0.7297, average rating (4 + 2) / 2 = 3
SELECT tickets, revenue, labor_cost, parts_cost, travel_cost, margin, roi, avg_rating, sla_met_pct IS NULL AS no_sla_policy,
       mean_resolution_hours >= 0 AS resolution_measured
  FROM service_benefit WHERE service_center_id = 9601;

-- follow-ups: the closed ticket gets a call due follow_up_days (3) after closure; the complaint one due within a day
SELECT ticket_id = :j1 AS j1, reason, round(extract(epoch FROM due_at - now()) / 86400) AS due_in_days, overdue, customer_phone, rating
  FROM follow_up_due WHERE ticket_id IN (:j1, :j2) ORDER BY reason;
SELECT complete_follow_up(follow_up_id, 'customer satisfied after apology') FROM follow_up_due WHERE ticket_id = :j2;
SELECT complete_follow_up(id, 'again') FROM follow_up WHERE ticket_id = :j2;
SELECT complete_follow_up(-1, 'x');
SELECT complete_follow_up(id, '') FROM follow_up WHERE ticket_id = :j1;
SELECT reason, done_at IS NOT NULL AS done, outcome FROM follow_up WHERE ticket_id IN (:j1, :j2) ORDER BY reason;
UPDATE setting SET value = '0.80' WHERE name = 'travel_cost_per_km';

-- Feedback inserted with a time of its own (a restore or a migration by the
-- owner) brings its follow-up with it: its complaint opens none (pg_restore
-- loads follow_up after feedback; test/t/dump-restore.sh).  Feedback given now
-- opens one, as above.
SELECT pg_temp.job(30, NULL, 0) AS j3 \gset
INSERT INTO feedback (ticket_id, rating, complaint, at) VALUES (:j3, 1, true, '2026-11-02 10:00+00');
SELECT count(*) AS follow_ups_opened FROM follow_up WHERE ticket_id = :j3;
