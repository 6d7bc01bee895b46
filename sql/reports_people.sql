-- technician_performance and customer_profile against hand-computed figures.
-- Each job runs in one transaction, so now() is fixed and the resolution time
-- of a ticket opened at now() - N hours is exactly N hours.
-- (pinned, so that no output depends on the server's or the client's defaults)
SET TimeZone = 'America/Los_Angeles';
SET DateStyle = 'Postgres, MDY';
SET IntervalStyle = 'postgres';
\set SHOW_CONTEXT never
SET search_path = repairsys, public;
SET client_min_messages = warning;
INSERT INTO service_center (id, name, time_zone) OVERRIDING SYSTEM VALUE VALUES (9701, 'rq center', 'UTC');
INSERT INTO technician (id, name, service_center_id, hourly_cost) OVERRIDING SYSTEM VALUE VALUES
	(9701, 'rq tech a', 9701, 60.00), (9702, 'rq tech b', 9701, 120.00);
INSERT INTO customer (id, name, phone, service_center_id) OVERRIDING SYSTEM VALUE VALUES
	(9701, 'rq x', '1', 9701), (9702, 'rq y', '2', 9701), (9703, 'rq z', '3', 9701), (9704, 'rq w', '4', 9701);
INSERT INTO asset (id, customer_id, model, serial_no, purchase_price) OVERRIDING SYSTEM VALUE VALUES
	(9701, 9701, 'rq fridge', 'X1', 12000.00), (9702, 9702, 'rq washer', 'Y1', 800.00), (9703, 9703, 'rq oven', 'Z1', 20000.00);
INSERT INTO service_type (code, name, labor_fee) VALUES ('rq_fix', 'rq fix', '0+:1.00');
-- a round-the-clock calendar: business hours equal wall-clock hours
INSERT INTO sla_policy (service_type, urgency, respond_within, resolve_within) VALUES
	('rq_fix', 'normal', '4h in mon-sun 00:00-24:00 UTC', '48h in mon-sun 00:00-24:00 UTC'),
	('rq_fix', 'urgent', '1h in mon-sun 00:00-24:00 UTC', '2h in mon-sun 00:00-24:00 UTC');
CREATE FUNCTION pg_temp.job(cust bigint, ast bigint, urg text, hours int, minutes numeric, reopen bool) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE t bigint;
BEGIN
	INSERT INTO repairsys.ticket (customer_id, asset_id, service_type, urgency, opened_at)
	VALUES (cust, ast, 'rq_fix', urg, now() - make_interval(hours => hours)) RETURNING id INTO t;
	UPDATE repairsys.ticket SET status = 'assigned', technician_id = 9701 WHERE id = t;
	PERFORM repairsys.approve_estimate(t);
	UPDATE repairsys.ticket SET status = 'in_progress' WHERE id = t;
	UPDATE repairsys.ticket SET status = 'resolved', labor_minutes = minutes WHERE id = t;
	IF reopen THEN
		UPDATE repairsys.ticket SET status = 'in_progress' WHERE id = t;
		UPDATE repairsys.ticket SET status = 'resolved' WHERE id = t;
	END IF;
	RETURN t;
END $$;

-- t1: customer y, asset y1, normal (48 h target), 5 h, 60 min: SLA met; a repeat (t2) follows
SELECT pg_temp.job(9702, 9702, 'normal', 5, 60, false) AS t1 \gset
INSERT INTO feedback (ticket_id, rating) VALUES (:t1, 5);
SELECT record_payment(issue_invoice(:t1), 'cash', (SELECT total FROM bill_summary WHERE ticket_id = :t1), 'rq-1') > 0 AS paid;
-- t2: the same asset and service type again, opened after t1 was resolved (within rework_window)
INSERT INTO ticket (customer_id, asset_id, service_type, technician_id) VALUES (9702, 9702, 'rq_fix', NULL) RETURNING id AS t2 \gset
UPDATE ticket SET status = 'assigned', technician_id = 9701 WHERE id = :t2;
-- t3: customer y, urgent (2 h target), 5 h, 30 min, reopened once: SLA missed, not a first-time fix
SELECT pg_temp.job(9702, NULL, 'urgent', 5, 30, true) AS t3 \gset
-- t4: customer z, emergency (no SLA policy: wall clock), 4 h, 90 min, rated 1 with a complaint
SELECT pg_temp.job(9703, 9703, 'emergency', 4, 90, false) AS t4 \gset
INSERT INTO feedback (ticket_id, rating, complaint) VALUES (:t4, 1, true);
SELECT id = :t3 AS t3, reopen_count, resolve_by IS NOT NULL AS has_sla FROM ticket WHERE id IN (:t1, :t3, :t4) ORDER BY id;

-- tech a: 4 tickets, 3 resolved; first-time fixes: t4 only (t1 has a repeat, t3 was reopened) -> 0.3333, rework 0.6667;
--   business hours (5 + 5 + 4) / 3 = 4.67; SLA measured on t1 (met) and t3 (missed): 50.0 %;
--   ratings 5 and 1: 3.00; labor 60 + 30 + 90 = 180 min of 176 h x 60 = 10560: 0.0170.
-- tech b: nothing yet: zero counts, NULL rates, utilization 0.
SELECT technician_id, name, tickets, resolved, first_time_fix_rate, rework_rate, mean_resolution_business_hours,
       sla_met_pct, avg_rating, labor_minutes_30d, utilization
  FROM technician_performance WHERE technician_id IN (9701, 9702) ORDER BY technician_id;

-- customers: x bought 12000 (high_value); y: 3 tickets within a year (frequent_repair), paid t1's
--   bill 60 x 1.00 + 6 % tax = 63.60; z: a complaint (at_risk, before its 20000 purchase makes it
--   high_value); w: regular.
SELECT customer_id, assets, purchase_total, tickets, repairs, total_spent, avg_rating, complaints,
       last_ticket_at IS NOT NULL AS has_ticket, segment
  FROM customer_profile WHERE customer_id BETWEEN 9701 AND 9704 ORDER BY customer_id;
-- the thresholds are settings: with 4 repairs needed, y is regular
UPDATE setting SET value = '4' WHERE name = 'segment_frequent_repairs';
SELECT segment FROM customer_profile WHERE customer_id = 9702;
UPDATE setting SET value = '3' WHERE name = 'segment_frequent_repairs';
-- a cancelled ticket gets no follow-up call and counts in no report
INSERT INTO ticket (customer_id, service_type) VALUES (9704, 'rq_fix') RETURNING id AS t5 \gset
UPDATE ticket SET status = 'cancelled' WHERE id = :t5;
SELECT (SELECT count(*) FROM follow_up WHERE ticket_id = :t5) AS follow_ups,
       (SELECT tickets FROM customer_profile WHERE customer_id = 9704) AS profile_tickets;
