-- Cost management (docs/reports.md): overheads allocated to the month's
-- tickets so that each sums exactly to its amount, ticket_cost and
-- service_benefit with direct, indirect and full cost, budgets against actual
-- cost, reputation per month and center, recalls, and the manager's page;
-- every figure against a hand computation, every bad input refused.  In a
-- database of its own, so that the ids the other files print do not depend
-- on the rows made here.
-- (pinned, so that no output depends on the server's or the client's defaults)
SET TimeZone = 'America/Los_Angeles';
SET DateStyle = 'Postgres, MDY';
SET IntervalStyle = 'postgres';
\set SHOW_CONTEXT never
SET client_min_messages = warning;
SELECT current_database() AS regress_db \gset
DROP DATABASE IF EXISTS repairsys_cost;
CREATE DATABASE repairsys_cost;
\c repairsys_cost
SET TimeZone = 'America/Los_Angeles';
SET DateStyle = 'Postgres, MDY';
SET IntervalStyle = 'postgres';
SET client_min_messages = warning;
CREATE EXTENSION repairsys;
SET search_path = repairsys, public;
INSERT INTO service_center (id, name, time_zone) OVERRIDING SYSTEM VALUE
	VALUES (9801, 'cs north', 'Asia/Shanghai'), (9802, 'cs south', 'UTC');
UPDATE service_center SET language = 'zh-CN' WHERE id = 9802;
INSERT INTO customer (id, name, service_center_id) OVERRIDING SYSTEM VALUE
	VALUES (9801, 'cs customer', 9801), (9802, 'cs customer south', 9802);
INSERT INTO technician (id, name, service_center_id, hourly_cost) OVERRIDING SYSTEM VALUE VALUES (9801, 'cs tech', 9801, 60.00);
INSERT INTO service_type (code, name, labor_fee, callout_fee) VALUES ('cs_fix', 'cs fix', '0+:1.00', 10);
-- a ticket of the center opened at a fixed time, with labor recorded
CREATE FUNCTION pg_temp.t(center bigint, opened timestamptz, minutes numeric) RETURNS bigint LANGUAGE sql AS $$
	INSERT INTO repairsys.ticket (customer_id, service_center_id, service_type, opened_at, labor_minutes)
	VALUES (CASE center WHEN 9801 THEN 9801 ELSE 9802 END, center, 'cs_fix', opened, minutes) RETURNING id
$$;

-- March 2020 in Shanghai: three tickets with 10, 20 and 40 minutes of labor;
-- a cancelled one and one of the other center do not count, and one opened
-- 2020-03-31 16:30 UTC is 1 April 00:30 in Shanghai: April's.
SELECT pg_temp.t(9801, '2020-03-02 09:00+08', 10) AS m1 \gset
SELECT pg_temp.t(9801, '2020-03-15 09:00+08', 20) AS m2 \gset
SELECT pg_temp.t(9801, '2020-03-31 23:00+08', 40) AS m3 \gset
SELECT pg_temp.t(9801, '2020-03-20 09:00+08', 500) AS mx \gset
UPDATE ticket SET status = next_state(status, 'cancelled') WHERE id = :mx;
SELECT pg_temp.t(9802, '2020-03-20 09:00+00', 500) AS other \gset
SELECT pg_temp.t(9801, '2020-03-31 16:30+00', NULL) AS a1 \gset
-- April: seven tickets (the one above and six more, some without labor)
SELECT pg_temp.t(9801, ('2020-04-0' || i || ' 10:00+08')::timestamptz, CASE WHEN i % 2 = 0 THEN 15 END) FROM generate_series(1, 6) i \g /dev/null
INSERT INTO overhead (service_center_id, month, cost_class, amount, note) VALUES
	(9801, '2020-03-01', 'rent', 1000.00, 'March rent'),
	(9801, '2020-03-01', 'vehicles', 0.01, 'one cent'),
	(9801, '2020-04-01', 'rent', 1000.00, 'April rent');

-- driver labor_minutes (the default): 1000.00 x 10/70, 20/70, 40/70 = 142.857, 285.714, 571.429:
-- whole cents 142.85, 285.71, 571.42 (99998 cents); the 2 cents left go to the largest
-- remainders (40 min: .429, 10 min: .857 - .85 = .007 ... in cents .57 and .71): 142.86, 285.71, 571.43.
-- The cent of vehicles goes to the largest remainder, the 40-minute ticket.
SELECT cost_class, ticket_id - :m1 AS nth, driver, driver_value, amount
  FROM overhead_allocation WHERE service_center_id = 9801 AND month = '2020-03-01' ORDER BY cost_class, ticket_id;
-- every overhead sums exactly to its amount; April's labor (3 x 15 min) is shared in thirds,
-- the tickets without labor get nothing
SELECT o.month, o.cost_class, o.amount, sum(a.amount) AS allocated, count(a.*) AS tickets, count(*) FILTER (WHERE a.amount > 0) AS bearing
  FROM overhead o LEFT JOIN overhead_allocation a ON a.overhead_id = o.id
 WHERE o.service_center_id = 9801 GROUP BY o.id ORDER BY o.month, o.cost_class;
SELECT amount, count(*) FROM overhead_allocation WHERE service_center_id = 9801 AND month = '2020-04-01' GROUP BY amount ORDER BY amount;

-- driver tickets: 1000.00 / 3 = 333.34 + 333.33 + 333.33 (the cent to the lowest id);
-- 1000.00 / 7 = 142.857: 5 x 142.86 + 2 x 142.85 = 1000.00
UPDATE setting SET value = 'tickets' WHERE name = 'overhead_driver';
SELECT ticket_id - :m1 AS nth, amount FROM overhead_allocation WHERE service_center_id = 9801 AND month = '2020-03-01' AND cost_class = 'rent' ORDER BY ticket_id;
SELECT amount, count(*), sum(amount) FROM overhead_allocation WHERE service_center_id = 9801 AND month = '2020-04-01' GROUP BY ROLLUP (amount) ORDER BY amount;
SELECT bool_and(a.ticket_id < b.ticket_id) AS cents_to_lowest_ids
  FROM overhead_allocation a, overhead_allocation b
 WHERE a.month = '2020-04-01' AND b.month = '2020-04-01' AND a.service_center_id = 9801 AND b.service_center_id = 9801
   AND a.amount = 142.86 AND b.amount = 142.85;
-- a driver that is not one of the three is refused when written
UPDATE setting SET value = 'hours' WHERE name = 'overhead_driver';
\echo :LAST_ERROR_SQLSTATE :LAST_ERROR_MESSAGE
UPDATE setting SET value = 'labor_minutes' WHERE name = 'overhead_driver';

-- May 2020: two tickets worked and invoiced: revenue 10 + 60 x 1.00 = 70.00 and 10 + 30 = 40.00;
-- labor cost 60.00 an hour: 60.00 and 30.00
CREATE FUNCTION pg_temp.job(opened timestamptz, minutes numeric) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE t bigint := pg_temp.t(9801, opened, NULL);
BEGIN
	UPDATE repairsys.ticket SET status = 'assigned', technician_id = 9801 WHERE id = t;
	PERFORM repairsys.approve_estimate(t);
	UPDATE repairsys.ticket SET status = 'in_progress' WHERE id = t;
	UPDATE repairsys.ticket SET status = 'resolved', labor_minutes = minutes WHERE id = t;
	PERFORM repairsys.issue_invoice(t);
	RETURN t;
END $$;
SELECT pg_temp.job('2020-05-10 10:00+08', 60) AS j1 \gset
SELECT pg_temp.job('2020-05-11 10:00+08', 30) AS j2 \gset
INSERT INTO overhead (service_center_id, month, cost_class, amount) VALUES (9801, '2020-05-01', 'call_center', 100.00);
-- driver revenue: 100.00 x 70/110 = 63.636 -> 63.64, x 40/110 = 36.364 -> 36.36
UPDATE setting SET value = 'revenue' WHERE name = 'overhead_driver';
SELECT ticket_id = :j1 AS j1, revenue, labor_cost, cost, margin, direct_cost, indirect_cost, full_cost, full_margin
  FROM ticket_cost WHERE ticket_id IN (:j1, :j2) ORDER BY ticket_id;
-- the month: revenue 110.00, labor 90.00, margin 20.00, roi 20/90 = 0.2222 (on the direct cost, as before);
-- full cost 90.00 + 100.00 = 190.00, full margin -80.00, ROI on full cost -80/190 = -0.4211
SELECT month, tickets, revenue, labor_cost, margin, roi, direct_cost, indirect_cost, full_cost, full_margin, full_roi
  FROM service_benefit WHERE service_center_id = 9801 AND month = '2020-05-01';
-- March under the revenue driver: nothing invoiced, so shared equally (333.34 + 333.33 + 333.33)
SELECT ticket_id - :m1 AS nth, driver_value, amount FROM overhead_allocation WHERE service_center_id = 9801 AND month = '2020-03-01' AND cost_class = 'rent' ORDER BY ticket_id;
UPDATE setting SET value = 'labor_minutes' WHERE name = 'overhead_driver';

-- bad rows are refused at the table, whoever writes them
\set VERBOSITY terse
INSERT INTO overhead (service_center_id, month, cost_class, amount) VALUES (9801, '2020-05-15', 'rent', 1);
\echo :LAST_ERROR_SQLSTATE
INSERT INTO overhead (service_center_id, month, cost_class, amount) VALUES (9801, '2020-06-01', 'labor', 1);
\echo :LAST_ERROR_SQLSTATE
INSERT INTO overhead (service_center_id, month, cost_class, amount) VALUES (9801, '2020-06-01', 'rent', -1);
\echo :LAST_ERROR_SQLSTATE
INSERT INTO overhead (service_center_id, month, cost_class, amount) VALUES (9801, '2020-06-01', 'rent', 'NaN');
\echo :LAST_ERROR_SQLSTATE
INSERT INTO overhead (service_center_id, month, cost_class, amount) VALUES (9801, 'infinity', 'rent', 1);
\echo :LAST_ERROR_SQLSTATE
INSERT INTO overhead (service_center_id, month, cost_class, amount) VALUES (9801, '2020-05-01', 'call_center', 1);
\echo :LAST_ERROR_SQLSTATE
INSERT INTO budget (service_center_id, month, cost_class, amount) VALUES (9801, '2020-05-01', 'Rent!', 1);
\echo :LAST_ERROR_SQLSTATE
INSERT INTO budget (service_center_id, month, cost_class, amount) VALUES (9801, '2020-05-01', 'rent', NULL);
\echo :LAST_ERROR_SQLSTATE
INSERT INTO budget (service_center_id, month, cost_class, amount) VALUES (-1, '2020-05-01', 'rent', 1);
\echo :LAST_ERROR_SQLSTATE
\set VERBOSITY default

-- budgets of May 2020 (a past month: projected = actual): labor 80.00 against 90.00 spent:
-- over by 10.00; call center 120.00 against 100.00: ok (-20.00); parts 0.00 against 0.00: ok;
-- rent 50.00 with no overhead booked: 0.00, ok
INSERT INTO budget (service_center_id, month, cost_class, amount) VALUES
	(9801, '2020-05-01', 'labor', 80.00), (9801, '2020-05-01', 'call_center', 120.00),
	(9801, '2020-05-01', 'parts', 0.00), (9801, '2020-05-01', 'rent', 50.00);
SELECT cost_class, budget, actual, projected, variance, alert FROM budget_status WHERE service_center_id = 9801 ORDER BY month, cost_class;

-- the share of a month passed, in the center's time zone: a quarter of February 2027 at
-- 8 Feb 00:00 in Shanghai; 0 before the month, 1 after it; 31 days of March less one hour
-- on the day European clocks change (a 743-hour month): 0.5 after 371.5 hours
SELECT month_elapsed('2027-02-01', 'Asia/Shanghai', '2027-02-08 00:00+08') AS quarter,
       month_elapsed('2027-02-01', 'Asia/Shanghai', '2027-01-31 23:59+08') AS before,
       month_elapsed('2027-02-01', 'Asia/Shanghai', '2027-03-01 00:00+08') AS after,
       month_elapsed('2027-03-01', 'Europe/Berlin', '2027-03-01 00:00+01'::timestamptz + interval '371.5 hours') AS half_of_743h;
-- the current month: spent 60.00 of labor, budget 60.00: not over yet, but the month is not over:
-- projected 60.00 / share passed
BEGIN;
INSERT INTO ticket (customer_id, service_center_id, service_type, technician_id, labor_minutes) VALUES (9801, 9801, 'cs_fix', 9801, 60);
INSERT INTO budget (service_center_id, month, cost_class, amount)
	VALUES (9801, date_trunc('month', now() AT TIME ZONE 'Asia/Shanghai')::date, 'labor', 60.00);
SELECT actual, projected = round(60.00 / month_elapsed(month, 'Asia/Shanghai', now()), 2) AS projected_by_share,
       projected > budget AS over, alert
  FROM budget_status WHERE service_center_id = 9801 AND month = date_trunc('month', now() AT TIME ZONE 'Asia/Shanghai')::date;
ROLLBACK;

-- Reputation.  Center 9802 (UTC), tickets imported as closed (the owner's path, with their
-- history): June 2020 closes four: rated 5, 4 and 2 (a complaint), one unrated, and one of
-- them repeats a repair of the same asset closed 15 days before it was opened; July closes
-- two, rated 5 and 5.  June: 3 ratings, CSAT 2/3 = 66.7 %, detractors 33.3 %, complaints
-- 1 per 4 closed = 25.00 per 100, repeats 1/4 = 25.0 %.  July: CSAT 100.0, detractors 0.0,
-- complaints 0.00, repeats 0.0; changes 2 - 3 = -1, +33.3, -33.3, -25.00, -25.0.
INSERT INTO asset (id, customer_id, model, serial_no) OVERRIDING SYSTEM VALUE VALUES (9801, 9802, 'CS-AC', 'R-1');
CREATE FUNCTION pg_temp.closed(center bigint, asset bigint, opened timestamptz, closed timestamptz) RETURNS bigint LANGUAGE sql AS $$
	INSERT INTO repairsys.ticket (customer_id, asset_id, service_center_id, service_type, status, opened_at, resolved_at, closed_at, status_changed_at)
	VALUES (CASE center WHEN 9801 THEN 9801 ELSE 9802 END, asset, center, 'cs_fix', 'closed', opened, closed, closed, closed) RETURNING id
$$;
SELECT pg_temp.closed(9802, 9801, '2020-06-01 09:00+00', '2020-06-05 12:00+00') AS r1 \gset
SELECT pg_temp.closed(9802, 9801, '2020-06-20 09:00+00', '2020-06-25 12:00+00') AS r2 \gset
SELECT pg_temp.closed(9802, NULL, '2020-06-10 09:00+00', '2020-06-30 23:30+00') AS r3 \gset
SELECT pg_temp.closed(9802, NULL, '2020-06-10 09:00+00', '2020-06-12 09:00+00') AS r4 \gset
SELECT pg_temp.closed(9802, NULL, '2020-07-01 09:00+00', '2020-07-02 09:00+00') AS r5 \gset
SELECT pg_temp.closed(9802, NULL, '2020-07-01 09:00+00', '2020-07-31 23:59+00') AS r6 \gset
-- closed 30 June 17:00 UTC, 1 July 01:00 in Shanghai: July's for center 9801
SELECT pg_temp.closed(9801, NULL, '2020-06-10 09:00+00', '2020-06-30 17:00+00') AS r7 \gset
INSERT INTO feedback (ticket_id, rating, complaint) VALUES (:r1, 5, false), (:r2, 2, true), (:r3, 4, false), (:r5, 5, false), (:r6, 5, false), (:r7, 1, true);
SELECT rework_of(t) = :r1 AS r2_repeats_r1 FROM ticket t WHERE id = :r2;
SELECT * FROM reputation WHERE service_center_id IN (9801, 9802) ORDER BY service_center_id, month;

-- Recalls: model RC-1, serials A001..A005 (byte order), two customers; A010, another
-- model's A002 and a unit without a serial are not affected
INSERT INTO asset (customer_id, model, serial_no) VALUES
	(9801, 'RC-1', 'A001'), (9801, 'RC-1', 'A002'), (9802, 'RC-1', 'A003'), (9802, 'RC-1', 'A005'),
	(9801, 'RC-1', 'A010'), (9801, 'RC-2', 'A002'), (9802, 'RC-1', NULL);
SELECT tickets_opened FROM open_recall('RC-1', 'A001', 'A005', 'cs_fix', 'battery may overheat');
-- run twice: nothing new, the same recall
SELECT tickets_opened, recall_id = (SELECT id FROM recall WHERE model = 'RC-1') AS same_recall FROM open_recall('RC-1', 'A001', 'A005', 'cs_fix', 'battery may overheat');
SELECT a.serial_no, t.customer_id, t.service_type, t.status, t.description LIKE 'Recall %: battery may overheat' AS described
  FROM recall_ticket rt JOIN asset a ON a.id = rt.asset_id JOIN ticket t ON t.id = rt.ticket_id ORDER BY a.serial_no;
SELECT model, serial_from, serial_to, tickets, open_tickets, done_tickets, cancelled_tickets, done_pct, assets_without_ticket FROM recall_progress;
-- A001, A002, A003 and A005 got a ticket each, for their own customers.  Then a unit
-- registered in the range since (A003b, between A003 and A004 in byte order), one ticket
-- done and one cancelled: done 1 of 4 - 1 = 33.3 %, one unit waiting; the next run opens its
-- ticket only: done 1 of 5 - 1 = 25.0 %
INSERT INTO asset (customer_id, model, serial_no) VALUES (9801, 'RC-1', 'A003b');
UPDATE ticket SET status = next_state(status, 'cancelled')
 WHERE id = (SELECT rt.ticket_id FROM recall_ticket rt JOIN asset a ON a.id = rt.asset_id WHERE a.serial_no = 'A005');
UPDATE ticket SET status = 'assigned', technician_id = 9801
 WHERE id = (SELECT rt.ticket_id FROM recall_ticket rt JOIN asset a ON a.id = rt.asset_id WHERE a.serial_no = 'A001');
SELECT approve_estimate(rt.ticket_id) IS NOT NULL AS approved FROM recall_ticket rt JOIN asset a ON a.id = rt.asset_id WHERE a.serial_no = 'A001';
UPDATE ticket SET status = 'in_progress' WHERE id = (SELECT rt.ticket_id FROM recall_ticket rt JOIN asset a ON a.id = rt.asset_id WHERE a.serial_no = 'A001');
UPDATE ticket SET status = 'resolved', labor_minutes = 5 WHERE id = (SELECT rt.ticket_id FROM recall_ticket rt JOIN asset a ON a.id = rt.asset_id WHERE a.serial_no = 'A001');
SELECT tickets, open_tickets, done_tickets, cancelled_tickets, done_pct, assets_without_ticket FROM recall_progress;
SELECT tickets_opened FROM open_recall('RC-1', 'A001', 'A005', 'cs_fix', 'battery may overheat');
SELECT tickets, open_tickets, done_tickets, cancelled_tickets, done_pct, assets_without_ticket FROM recall_progress;
-- bad input
SELECT * FROM open_recall('RC-1', 'A001', 'A005', 'cs_fix', 'another reason');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM open_recall('RC-1', 'A005', 'A001', 'cs_fix', 'x');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM open_recall(NULL, 'A001', 'A005', 'cs_fix', 'x');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM open_recall('RC-1', 'A001', 'A005', 'cs_fix', '');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM open_recall('RC-1', 'A001', 'A005', 'no_such_type', 'x');
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) AS recalls FROM recall;
-- the plain-write route: nobody but open_recall() writes recalls; the dispatcher may call it,
-- a technician may not; budgets and overheads are the admin's
SET ROLE repairsys_dispatcher;
INSERT INTO recall (model, serial_from, serial_to, service_type, reason) VALUES ('RC-9', 'A', 'B', 'cs_fix', 'x');
\echo :LAST_ERROR_SQLSTATE
INSERT INTO recall_ticket (recall_id, asset_id, ticket_id) SELECT recall_id, asset_id, ticket_id FROM recall_ticket LIMIT 1;
\echo :LAST_ERROR_SQLSTATE
INSERT INTO overhead (service_center_id, month, cost_class, amount) VALUES (9801, '2020-08-01', 'rent', 1);
\echo :LAST_ERROR_SQLSTATE
UPDATE budget SET amount = 0;
\echo :LAST_ERROR_SQLSTATE
SELECT tickets_opened FROM open_recall('RC-1', 'A001', 'A005', 'cs_fix', 'battery may overheat');
RESET ROLE;
SET ROLE repairsys_technician;
SELECT tickets_opened FROM open_recall('RC-1', 'A001', 'A005', 'cs_fix', 'battery may overheat');
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) FROM budget;
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
SET ROLE repairsys_admin;
INSERT INTO recall (model, serial_from, serial_to, service_type, reason) VALUES ('RC-9', 'A', 'B', 'cs_fix', 'x');
\echo :LAST_ERROR_SQLSTATE
INSERT INTO budget (service_center_id, month, cost_class, amount) VALUES (9801, '2020-08-01', 'rent', 10.00);
DELETE FROM budget WHERE month = '2020-08-01';
RESET ROLE;

-- The manager's page: the figures of May 2020 are service_benefit's and budget_status's
SELECT report_html(9801, '2020-05-17') AS page \gset
SELECT :'page' LIKE '<!DOCTYPE html>%</html>' || E'\n' AS complete,
       :'page' LIKE '%<svg %' AS chart,
       :'page' LIKE '%id="revenue">110.00 CNY<%' AS revenue,
       :'page' LIKE '%id="full_cost">190.00 CNY<%' AS full_cost,
       :'page' LIKE '%id="full_roi">-0.4211<%' AS full_roi,
       :'page' LIKE '%id="budget-labor">80.00<%' AND :'page' LIKE '%id="actual-labor">90.00<%' AS budget,
       :'page' LIKE '%<tr class="over_budget"><td>labor</td>%' AS alert,
       :'page' ~ '(src|href)=|@import|url\(' AS external;
-- center 9802 reports in Chinese; June 2020 ratings 5, 4, 2
SELECT report_html(9802, '2020-06-01') AS page \gset
SELECT :'page' LIKE '%<html lang="zh-CN">%月度经营报告%' AS chinese,
       :'page' LIKE '%id="ratings">3<%' AS ratings, :'page' LIKE '%id="csat">66.7 %%' AS csat,
       :'page' LIKE '%id="stars-5">1<%id="stars-4">1<%id="stars-3">0<%id="stars-2">1<%id="stars-1">0<%' AS stars;
-- a month without data is a page too
SELECT report_html(9802, '2019-01-01') LIKE '%id="tickets">0<%' AS empty_month;
SELECT report_html(NULL, '2020-05-01');
\echo :LAST_ERROR_SQLSTATE
SELECT report_html(9801, NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT report_html(9801, 'infinity');
\echo :LAST_ERROR_SQLSTATE
SELECT report_html(-1, '2020-05-01');
\echo :LAST_ERROR_SQLSTATE
\set VERBOSITY terse
UPDATE service_center SET language = 'fr' WHERE id = 9802;
\echo :LAST_ERROR_SQLSTATE
\set VERBOSITY default
\c :regress_db
DROP DATABASE repairsys_cost;
