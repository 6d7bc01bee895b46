-- Published, versioned prices (issue 17 item 4, docs/billing.md "Published
-- prices"): service_price and its rules, price_at(), a change scheduled two
-- seconds ahead that takes effect with nobody acting (estimates of a ticket
-- opened before keep the old prices, after it the new ones; an approved
-- ticket's bill never changes), the history of a past instant, price_list in
-- the reader's language, writes of service_type's columns as versions, and
-- every error path and role.  Runs in a database of its own.  No timestamp
-- is printed: instants are compared with the one the change was scheduled at.
\set regdb :DBNAME
SET client_min_messages = warning;
CREATE ROLE pr_cust NOLOGIN IN ROLE repairsys_customer;
CREATE ROLE pr_tech NOLOGIN IN ROLE repairsys_technician;
CREATE ROLE pr_disp NOLOGIN IN ROLE repairsys_dispatcher;
CREATE ROLE pr_admin NOLOGIN IN ROLE repairsys_admin;
CREATE DATABASE repairsys_prices;
\connect repairsys_prices
SET client_min_messages = warning;
SET TimeZone = 'UTC';
SET DateStyle = 'ISO, YMD';
SET IntervalStyle = 'postgres';
\set SHOW_CONTEXT never
CREATE EXTENSION repairsys;
SET search_path = repairsys, pg_catalog;

-- A center, a customer reading Chinese, a technician, one service: call-out
-- 50, labor base 20 then 2.00 per minute for 60 minutes and 1.50 after,
-- travel free for 10 km then 2.50 per km; estimated 30 to 90 minutes, tax 6%.
INSERT INTO service_center (name, time_zone) VALUES ('pr center', 'UTC');
INSERT INTO customer (name, service_center_id, db_role, language) VALUES ('pr a', 1, 'pr_cust', 'zh-CN');
INSERT INTO asset (customer_id, model, warranty_until) VALUES (1, 'pr model', '2000-01-01');
INSERT INTO technician (name, service_center_id, db_role, capacity) VALUES ('pr tech', 1, 'pr_tech', 20);
INSERT INTO service_type (code, name, labor_fee, travel_fee, callout_fee, est_minutes_low, est_minutes_high)
	VALUES ('pr_fix', 'AC repair', 'base=20, 0-60:2.00, 60+:1.50', '0-10:0, 10+:2.50', 50, 30, 90);
-- the new type's first version, from its columns, in force from now
SELECT service_type, labor_fee, travel_fee, callout_fee, first_version, effective_from = created_at AS from_now, created_by = current_user AS by_me
  FROM service_price;

CREATE FUNCTION pg_temp.open() RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE t bigint := repairsys.open_ticket(1, 'pr_fix', 'pr', asset_id => 1);
BEGIN
	UPDATE repairsys.ticket SET status = 'assigned', technician_id = 1 WHERE id = t;
	RETURN t;
END $$;
CREATE FUNCTION pg_temp.est(t bigint) RETURNS text LANGUAGE sql AS $$
	SELECT string_agg(scenario || ' ' || total, ', ' ORDER BY total)
	  FROM (SELECT scenario, max(scenario_total) AS total FROM repairsys.estimate(t) GROUP BY 1) s $$;

-- 1. Two tickets opened at the old prices; the second one's estimate is
--    approved (the approval snapshots the prices).
SELECT pg_temp.open() AS t_old \gset
SELECT pg_temp.open() AS t_approved \gset
SELECT pg_temp.est(:t_old) AS old_estimate;
SELECT low_total, high_total FROM approve_estimate(:t_approved);

-- 2. The admin schedules a change two seconds ahead: call-out 80, labor 3.00
--    per minute; travel unchanged.  It may be changed until it takes effect.
--    (One transaction, so that "not yet in force" holds on a slow machine:
--    its now() is before the change, however long it takes.)
BEGIN;
SELECT now() + interval '2 seconds' AS t_change \gset
SET ROLE pr_admin;
INSERT INTO service_price (service_type, effective_from, labor_fee, travel_fee, callout_fee)
	VALUES ('pr_fix', :'t_change', '0+:3.10', '0-10:0, 10+:2.50', 90);
UPDATE service_price SET labor_fee = '0+:3.00', callout_fee = 80 WHERE service_type = 'pr_fix' AND effective_from = :'t_change';
-- a second scheduled change, a day later, withdrawn before it takes effect
INSERT INTO service_price (service_type, effective_from, labor_fee, callout_fee)
	VALUES ('pr_fix', :'t_change'::timestamptz + interval '1 day', '0+:9.00', 99);
DELETE FROM service_price WHERE service_type = 'pr_fix' AND effective_from > :'t_change';
RESET ROLE;
SELECT first_version, effective_from = :'t_change' AS at_change, labor_fee, callout_fee, created_by = 'pr_admin' AS by_admin
  FROM service_price WHERE service_type = 'pr_fix' ORDER BY effective_from;
-- which version is in force at explicit instants, either side of the change
SELECT (price_at('pr_fix', :'t_change'::timestamptz - interval '1 microsecond')).callout_fee AS just_before,
       (price_at('pr_fix', :'t_change')).callout_fee AS at_the_instant,
       (price_at('pr_fix', :'t_change'::timestamptz + interval '1 year')).labor_fee AS a_year_later;
-- not in force yet: the price list, the columns and new estimates are the old ones
SELECT count(*) AS lines, min(effective_from) < :'t_change' AS old_version FROM price_list WHERE service_type = 'pr_fix';
SELECT labor_fee, callout_fee FROM service_type WHERE code = 'pr_fix';
COMMIT;

-- 3. The change takes effect with nobody acting: the test waits for it.
SELECT pg_sleep(greatest(0, extract(epoch FROM :'t_change'::timestamptz - clock_timestamp())::float8) + 0.2) AS waited;
SELECT clock_timestamp() > :'t_change' AS change_passed;
SELECT pg_temp.open() AS t_new \gset
-- a ticket opened after it is estimated at the new prices (call-out 80,
-- 3.00 a minute), the one opened before still at the old ones
SELECT pg_temp.est(:t_new) AS new_estimate, pg_temp.est(:t_old) AS old_ticket_estimate;
SELECT description, amount FROM estimate(:t_new) WHERE scenario = 'low' ORDER BY line_no;
-- the price list shows the new version at once; service_type's columns
-- mirror it when a price is next written or run_jobs() runs
SELECT line_no, kind, description, unit, price, effective_from = :'t_change' AS new_version
  FROM price_list WHERE service_type = 'pr_fix' ORDER BY line_no;
SELECT labor_fee, callout_fee FROM service_type WHERE code = 'pr_fix';
SELECT job, done FROM run_jobs() WHERE job = 'current_prices';
SELECT labor_fee, callout_fee FROM service_type WHERE code = 'pr_fix';
SELECT job, done FROM run_jobs() WHERE job = 'current_prices';

-- 4. The approved ticket's bill never changes: worked and resolved after the
--    change, it is billed at the prices it was approved at (call-out 50).
UPDATE ticket SET status = 'in_progress' WHERE id = :t_approved;
UPDATE ticket SET status = 'resolved', labor_minutes = 75, travel_km = 12 WHERE id = :t_approved;
SELECT status, price_callout_fee, price_labor_fee::text FROM ticket WHERE id = :t_approved;
SELECT line_no, kind, description, amount, tax_amount FROM bill_detail WHERE ticket_id = :t_approved ORDER BY line_no;
SELECT total FROM bill_summary WHERE ticket_id = :t_approved;
-- (the approval of the ticket opened before the change snapshots the old prices)
SELECT count(*) AS approved FROM approve_estimate(:t_old);
SELECT price_callout_fee, price_labor_fee::text FROM ticket WHERE id = :t_old;

-- 5. History: what did this cost just before the change?  (price_lines of an
--    instant; the version of an instant before the type existed is its first)
SELECT line_no, kind, description, unit, price, effective_from < :'t_change' AS old_version
  FROM price_lines('pr_fix', :'t_change'::timestamptz - interval '1 second') ORDER BY line_no;
SELECT (price_at('pr_fix', '2001-03-01 00:00+00')).first_version AS before_the_type;

-- 6. A version that took effect is never changed nor withdrawn, and none is
--    written in the past (23514), not by the admin either (terse: the
--    DETAILs name instants of today)
SET ROLE pr_admin;
\set VERBOSITY terse
UPDATE service_price SET callout_fee = 1 WHERE service_type = 'pr_fix' AND effective_from = :'t_change';
UPDATE service_price SET effective_from = now() + interval '1 day' WHERE service_type = 'pr_fix' AND first_version;
DELETE FROM service_price WHERE service_type = 'pr_fix' AND effective_from = :'t_change';
INSERT INTO service_price (service_type, effective_from, labor_fee) VALUES ('pr_fix', now() - interval '1 second', '0+:1.00');
-- a scheduled one may not be moved into the past either
INSERT INTO service_price (service_type, effective_from, labor_fee) VALUES ('pr_fix', :'t_change'::timestamptz + interval '1 hour', '0+:4.00');
UPDATE service_price SET effective_from = '2020-01-01' WHERE service_type = 'pr_fix' AND labor_fee = '0+:4.00';
-- bad values: an unknown type, no instant, two versions at one instant, NaN,
-- an infinite instant, a bad schedule; created_at and first_version are repairsys's
INSERT INTO service_price (service_type, effective_from, labor_fee) VALUES ('nope', now() + interval '1 hour', '0+:1.00');
INSERT INTO service_price (service_type, effective_from, labor_fee) VALUES ('pr_fix', NULL, '0+:1.00');
INSERT INTO service_price (service_type, effective_from, labor_fee) VALUES ('pr_fix', :'t_change'::timestamptz + interval '1 hour', '0+:1.00');
INSERT INTO service_price (service_type, effective_from, labor_fee, callout_fee) VALUES ('pr_fix', now() + interval '2 hours', '0+:1.00', 'NaN');
INSERT INTO service_price (service_type, effective_from, labor_fee) VALUES ('pr_fix', 'infinity', '0+:1.00');
INSERT INTO service_price (service_type, effective_from, labor_fee) VALUES ('pr_fix', now() + interval '2 hours', '0+:-1');
INSERT INTO service_price (service_type, effective_from, labor_fee, callout_fee) VALUES ('pr_fix', now() + interval '2 hours', '0+:1.00', -5);
\set VERBOSITY default
INSERT INTO service_price (service_type, effective_from, labor_fee, first_version, created_at, created_by)
	VALUES ('pr_fix', now() + interval '3 hours', '0+:5.00', true, '2000-01-01', 'somebody');
SELECT first_version, created_at = now() AS created_now, created_by FROM service_price WHERE labor_fee = '0+:5.00';
DELETE FROM service_price WHERE effective_from > now();
RESET ROLE;

-- 7. price_at() and price_lines() refuse bad arguments
SELECT price_at(NULL, now());
SELECT price_at('pr_fix', NULL);
SELECT price_at('pr_fix', 'infinity');
SELECT price_at('nope', now());
SELECT * FROM price_lines('pr_fix', now(), 'fr');
SELECT * FROM price_lines('pr_fix', now(), NULL);

-- 8. Who may write prices: the admin (above); dispatcher, technician and
--    customer read them and write nothing (42501)
SET ROLE pr_disp;
INSERT INTO service_price (service_type, effective_from, labor_fee) VALUES ('pr_fix', now() + interval '1 hour', '0+:1.00');
UPDATE service_price SET callout_fee = 0;
UPDATE service_type SET callout_fee = 0;
SELECT count(*) AS versions FROM service_price;
RESET ROLE;
SET ROLE pr_tech;
DELETE FROM service_price;
SELECT count(*) AS versions FROM service_price;
RESET ROLE;
-- the customer reads the price list in their language (customer.language)
SET ROLE pr_cust;
INSERT INTO service_price (service_type, effective_from, labor_fee) VALUES ('pr_fix', now() + interval '1 hour', '0+:1.00');
SELECT language, line_no, kind, description, unit, price FROM price_list ORDER BY service_type NULLS LAST, line_no;
RESET ROLE;
-- the setting's language for everybody else
SET ROLE pr_disp;
SELECT DISTINCT language FROM price_list;
RESET ROLE;
UPDATE setting SET value = 'zh-CN' WHERE name = 'language';
SET ROLE pr_disp;
SELECT DISTINCT language FROM price_list;
SELECT description FROM price_list WHERE kind = 'callout';
RESET ROLE;
UPDATE setting SET value = 'en' WHERE name = 'language';

-- 9. An admin's UPDATE of service_type's price columns is a new version in
--    force now; two in one transaction are one version; a column the UPDATE
--    does not name keeps the version in force
SET ROLE pr_admin;
UPDATE service_type SET callout_fee = 85 WHERE code = 'pr_fix';
BEGIN;
UPDATE service_type SET travel_fee = NULL WHERE code = 'pr_fix';
UPDATE service_type SET callout_fee = 88 WHERE code = 'pr_fix';
COMMIT;
RESET ROLE;
SELECT first_version, effective_from >= :'t_change' AS after_change, labor_fee, travel_fee, callout_fee
  FROM service_price WHERE service_type = 'pr_fix' ORDER BY effective_from;
SELECT line_no, kind, description, price FROM price_list WHERE service_type = 'pr_fix' ORDER BY line_no;
-- a schedule with a minimum, a maximum and volume pricing, in words
SELECT n, description, unit_name, price FROM schedule_price_lines('base=5, 0-30:1.00, 30+:0.80, min=20, max=300, volume', 'labor', 'min_unit', 'zh-CN');

-- 10. Renaming a service type moves its versions; deleting a type no ticket
--     uses removes them
SET ROLE pr_admin;
INSERT INTO service_type (code, name, labor_fee) VALUES ('pr_tmp', 'temporary', '0+:1.00');
UPDATE service_type SET labor_fee = '0+:2.00' WHERE code = 'pr_tmp';
UPDATE service_type SET code = 'pr_tmp2' WHERE code = 'pr_tmp';
SELECT service_type, labor_fee FROM service_price WHERE service_type LIKE 'pr_tmp%' ORDER BY effective_from;
DELETE FROM service_type WHERE code = 'pr_tmp2';
SELECT count(*) AS left_over FROM service_price WHERE service_type LIKE 'pr_tmp%';
RESET ROLE;

-- 11. The table owner's path (restore): rows are taken as they are, and a
--     restored first version replaces the one its restored type made
INSERT INTO service_type (code, name, labor_fee) VALUES ('pr_rs', 'restored', '0+:7.00');
INSERT INTO service_price (service_type, effective_from, labor_fee, first_version, created_at, created_by)
	VALUES ('pr_rs', '2020-01-01 00:00+00', '0+:6.00', true, '2019-12-01 00:00+00', 'old_admin');
INSERT INTO service_price (service_type, effective_from, labor_fee, created_at, created_by)
	VALUES ('pr_rs', '2021-01-01 00:00+00', '0+:7.00', '2020-12-01 00:00+00', 'old_admin');
SELECT service_type, effective_from, labor_fee, first_version, created_at, created_by FROM service_price WHERE service_type = 'pr_rs' ORDER BY 2;
SELECT (price_at('pr_rs', '2020-06-01 00:00+00')).labor_fee AS mid_2020;
SELECT labor_fee FROM service_type WHERE code = 'pr_rs';
SELECT * FROM check_invariants();
SELECT * FROM billing_audit;

\connect :regdb
SET client_min_messages = warning;
DROP DATABASE repairsys_prices;
DROP ROLE pr_cust;
DROP ROLE pr_tech;
DROP ROLE pr_disp;
DROP ROLE pr_admin;
