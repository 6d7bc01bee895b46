-- Sign-off (签字确认, issue 17, docs/billing.md "Sign-off"): sign_off() records
-- who accepted the work and the bill with the SHA-256 of the bill's canonical
-- text; require_sign_off makes closing wait for it; billing_audit reports a
-- bill that changed after it was signed; the table route for every role.
-- Runs in a database of its own, so that "empty" means empty.
\set regdb :DBNAME
SET client_min_messages = warning;
CREATE ROLE so_cust NOLOGIN IN ROLE repairsys_customer;
CREATE ROLE so_cust_b NOLOGIN IN ROLE repairsys_customer;
CREATE ROLE so_tech NOLOGIN IN ROLE repairsys_technician;
CREATE ROLE so_disp NOLOGIN IN ROLE repairsys_dispatcher;
CREATE ROLE so_admin NOLOGIN IN ROLE repairsys_admin;
CREATE ROLE so_aud NOLOGIN IN ROLE repairsys_auditor;
CREATE DATABASE repairsys_sign_off;
\connect repairsys_sign_off
SET client_min_messages = warning;
SET TimeZone = 'UTC';
SET DateStyle = 'ISO, YMD';
SET IntervalStyle = 'postgres';
\set SHOW_CONTEXT never
CREATE EXTENSION repairsys;
SET search_path = repairsys, pg_catalog;

INSERT INTO service_center (name, time_zone) VALUES ('so center', 'UTC');
INSERT INTO customer (name, service_center_id, db_role) VALUES ('so a', 1, 'so_cust'), ('so b', 1, 'so_cust_b');
INSERT INTO asset (customer_id, model, serial_no, warranty_until) VALUES (1, 'so model', 'SO-1', '2000-01-01'), (2, 'so model', 'SO-2', '2000-01-01');
INSERT INTO technician (name, service_center_id, db_role, capacity) VALUES ('so tech', 1, 'so_tech', 20);
INSERT INTO service_type (code, name, labor_fee, callout_fee, est_minutes_low, est_minutes_high)
	VALUES ('so_fix', 'so fix', '0+:1.00', 20, 30, 60);
SELECT name, value, type, choices FROM setting WHERE name = 'require_sign_off';
CREATE FUNCTION pg_temp.resolved(a bigint, minutes numeric) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE t bigint := repairsys.open_ticket((SELECT x.customer_id FROM repairsys.asset x WHERE x.id = a), 'so_fix', 'so', asset_id => a);
BEGIN
	UPDATE repairsys.ticket SET status = 'assigned', technician_id = 1 WHERE id = t;
	PERFORM repairsys.approve_estimate(t);
	UPDATE repairsys.ticket SET status = 'in_progress' WHERE id = t;
	UPDATE repairsys.ticket SET status = 'resolved', labor_minutes = minutes WHERE id = t;
	RETURN t;
END $$;

-- 1. The canonical text and its hash; the customer signs on the technician's tablet.
SELECT pg_temp.resolved(1, 45) AS t1 \gset
SELECT bill_canonical_text(t) FROM ticket t WHERE id = :t1;
SET ROLE so_tech;
SELECT sign_off(:t1, 'Li Na', '\x89504e470d0a1a0a'::bytea) AS s1 \gset
RESET ROLE;
SELECT ticket_id, signed_by, octet_length(signature) AS signature_bytes, bill_total, recorded_by,
       bill_sha256 = sha256(convert_to(bill_canonical_text(t), 'UTF8')) AS hash_matches, signed_off(t)
  FROM ticket_sign_off s JOIN ticket t ON t.id = s.ticket_id WHERE s.id = :s1;
-- invoicing freezes the same lines: the bill still hashes to what was signed
SELECT issue_invoice(:t1) > 0 AS invoiced;
SELECT signed_off(t) AS still_signed_off FROM ticket t WHERE id = :t1;
SELECT count(*) AS audit FROM billing_audit;

-- 2. Bad input and the wrong moment.
SELECT open_ticket(1, 'so_fix', 'so open', asset_id => 1) AS t2 \gset
SELECT sign_off(:t2, 'Li Na');
SELECT sign_off(:t1, NULL);
SELECT sign_off(:t1, '  ');
SELECT sign_off(:t1, repeat('x', 201));
SELECT sign_off(:t1, 'Li Na', ''::bytea);
SELECT sign_off(999999, 'Li Na');

-- 3. require_sign_off: closing waits for a sign-off that matches the bill.
UPDATE setting SET value = 'yes' WHERE name = 'require_sign_off';
UPDATE setting SET value = 'true' WHERE name = 'require_sign_off';
SELECT pg_temp.resolved(1, 30) AS t3 \gset
SELECT record_payment(issue_invoice(:t3), 'cash', total, 'so-3') > 0 AS paid FROM bill_summary WHERE ticket_id = :t3;
SELECT record_payment(inv.id, 'cash', inv.total, 'so-1') > 0 AS paid FROM invoice inv WHERE inv.ticket_id = :t1;
SET ROLE so_disp;
UPDATE ticket SET status = 'closed' WHERE id = :t3;
UPDATE ticket SET status = 'closed' WHERE id = :t1;
RESET ROLE;
SET ROLE so_cust;
SELECT sign_off(:t3, 'Li Na') > 0 AS signed;
RESET ROLE;
SET ROLE so_disp;
UPDATE ticket SET status = 'closed' WHERE id = :t3;
RESET ROLE;
SELECT id, status FROM ticket WHERE id IN (:t1, :t3) ORDER BY id;
-- a bill that changes after its sign-off: signed at 30 minutes, reopened and resolved at 40
-- (a repeat repair of ticket 1: labor is free, the total stays 21.20, but the lines changed)
SELECT pg_temp.resolved(1, 30) AS t4 \gset
SELECT sign_off(:t4, 'Li Na') > 0 AS signed;
UPDATE ticket SET status = 'in_progress' WHERE id = :t4;
UPDATE ticket SET status = 'resolved', labor_minutes = 40 WHERE id = :t4;
SELECT signed_off(t) FROM ticket t WHERE id = :t4;
SELECT ticket_id = :t4 AS t4, problem, regexp_replace(detail, '[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2} UTC', '<when>') AS detail FROM billing_audit;
SELECT record_payment(issue_invoice(:t4), 'cash', total, 'so-4') > 0 AS paid FROM bill_summary WHERE ticket_id = :t4;
SET ROLE so_disp;
UPDATE ticket SET status = 'closed' WHERE id = :t4;
RESET ROLE;
-- signed again, it closes
SELECT sign_off(:t4, 'Li Na') > 0 AS signed_again;
SET ROLE so_disp;
UPDATE ticket SET status = 'closed' WHERE id = :t4;
RESET ROLE;
SELECT status FROM ticket WHERE id = :t4;
SELECT count(*) AS audit FROM billing_audit;
UPDATE setting SET value = 'false' WHERE name = 'require_sign_off';

-- 4. The table route: every role's plain INSERT, UPDATE and DELETE, each tried and rolled back.
SELECT pg_temp.resolved(2, 30) AS t5 \gset
SELECT pg_temp.resolved(1, 30) AS t6 \gset
CREATE FUNCTION pg_temp.try(r name, stmt text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	n bigint;
	res text;
BEGIN
	BEGIN
		EXECUTE format('SET LOCAL ROLE %I', r);
		EXECUTE stmt;
		GET DIAGNOSTICS n = ROW_COUNT;
		RESET ROLE;
		RAISE EXCEPTION USING ERRCODE = 'RSSO0', MESSAGE = format('ran, %s rows', n);
	EXCEPTION WHEN OTHERS THEN
		RESET ROLE;
		res := CASE WHEN SQLSTATE = 'RSSO0' THEN SQLERRM ELSE SQLSTATE || ' ' || SQLERRM END;
	END;
	RETURN res;
END $$;
SELECT r AS role, what, pg_temp.try(r, stmt) AS outcome
  FROM (VALUES
	('so_cust',   'signs own ticket by plain INSERT', format($$INSERT INTO repairsys.ticket_sign_off (ticket_id, signed_by) VALUES (%s, 'Li Na')$$, :t6)),
	('so_cust',   'signs with a hash of their own', format($$INSERT INTO repairsys.ticket_sign_off (ticket_id, signed_by, bill_sha256, bill_total) VALUES (%s, 'Li Na', sha256('x'), 0)$$, :t6)),
	('so_cust',   'signs another customer''s ticket', format($$INSERT INTO repairsys.ticket_sign_off (ticket_id, signed_by) VALUES (%s, 'Li Na')$$, :t5)),
	('so_cust',   'signs another customer''s ticket with the function', format($$SELECT repairsys.sign_off(%s, 'Li Na')$$, :t5)),
	('so_cust',   'backdates a sign-off', format($$INSERT INTO repairsys.ticket_sign_off (ticket_id, signed_by, signed_at) VALUES (%s, 'Li Na', '2000-01-01')$$, :t6)),
	('so_cust',   'rewrites a sign-off', $$UPDATE repairsys.ticket_sign_off SET signed_by = 'someone else'$$),
	('so_cust',   'removes a sign-off', $$DELETE FROM repairsys.ticket_sign_off$$),
	('so_tech',   'records a sign-off on own ticket', format($$INSERT INTO repairsys.ticket_sign_off (ticket_id, signed_by) VALUES (%s, 'Li Na')$$, :t6)),
	('so_tech',   'records a sign-off with a hash of its own', format($$INSERT INTO repairsys.ticket_sign_off (ticket_id, signed_by, bill_sha256, bill_total) VALUES (%s, 'Li Na', sha256('x'), 0)$$, :t6)),
	('so_disp',   'records a sign-off with its own total', format($$INSERT INTO repairsys.ticket_sign_off (ticket_id, signed_by, bill_total) VALUES (%s, 'Li Na', 0)$$, :t6)),
	('so_disp',   'records a sign-off of an open ticket', format($$INSERT INTO repairsys.ticket_sign_off (ticket_id, signed_by) VALUES (%s, 'Li Na')$$, :t2)),
	('so_admin',  'records a sign-off with a hash of its own', format($$INSERT INTO repairsys.ticket_sign_off (ticket_id, signed_by, bill_sha256, bill_total) VALUES (%s, 'Li Na', sha256('x'), 0)$$, :t6)),
	('so_admin',  'rewrites a sign-off''s hash', $$UPDATE repairsys.ticket_sign_off SET bill_sha256 = sha256('x')$$),
	('so_admin',  'removes a sign-off', $$DELETE FROM repairsys.ticket_sign_off$$),
	('so_admin',  'empties the table', $$TRUNCATE repairsys.ticket_sign_off$$),
	('so_aud',    'records a sign-off', format($$INSERT INTO repairsys.ticket_sign_off (ticket_id, signed_by) VALUES (%s, 'Li Na')$$, :t6))
  ) AS v(r, what, stmt);
SELECT count(*) AS sign_offs FROM ticket_sign_off;
SELECT count(*) AS audit FROM billing_audit;
SELECT count(*) AS invariants FROM check_invariants();

\connect :regdb
SET client_min_messages = warning;
DROP DATABASE repairsys_sign_off;
DROP ROLE so_cust;
DROP ROLE so_cust_b;
DROP ROLE so_tech;
DROP ROLE so_disp;
DROP ROLE so_admin;
DROP ROLE so_aud;
