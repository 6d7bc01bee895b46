-- Consent over every price (issue 17, docs/billing.md "Consent over every
-- price"): estimate revisions, approve_estimate approving the latest one, the
-- approved ceiling at resolution (estimate_tolerance_pct), the owner's bypass
-- reported by billing_audit, and the table route of estimate_revision for
-- every role.  Runs in a database of its own, so that "empty" means empty.
\set regdb :DBNAME
SET client_min_messages = warning;
CREATE ROLE cs_cust NOLOGIN IN ROLE repairsys_customer;
CREATE ROLE cs_cust_b NOLOGIN IN ROLE repairsys_customer;
CREATE ROLE cs_tech NOLOGIN IN ROLE repairsys_technician;
CREATE ROLE cs_disp NOLOGIN IN ROLE repairsys_dispatcher;
CREATE ROLE cs_admin NOLOGIN IN ROLE repairsys_admin;
CREATE ROLE cs_aud NOLOGIN IN ROLE repairsys_auditor;
CREATE DATABASE repairsys_consent;
\connect repairsys_consent
SET client_min_messages = warning;
SET TimeZone = 'UTC';
SET DateStyle = 'ISO, YMD';
SET IntervalStyle = 'postgres';
\set SHOW_CONTEXT never
CREATE EXTENSION repairsys;
SET search_path = repairsys, pg_catalog;

-- A center, two customers (out of warranty), a technician, one service:
-- call-out 30, labor base 20 then 1.20 per minute for the first 60 minutes and
-- 1.50 after, estimated 45 to 120 minutes; tax 6% on all of it.
INSERT INTO service_center (name, time_zone) VALUES ('cs center', 'UTC');
INSERT INTO customer (name, service_center_id, db_role) VALUES ('cs a', 1, 'cs_cust'), ('cs b', 1, 'cs_cust_b');
INSERT INTO asset (customer_id, model, serial_no, warranty_until) VALUES
	(1, 'cs model', 'CS-out', '2000-01-01'), (1, 'cs model', 'CS-in', '2999-12-31'), (2, 'cs model', 'CSB-out', '2000-01-01');
INSERT INTO technician (name, service_center_id, db_role, capacity) VALUES ('cs tech', 1, 'cs_tech', 20);
INSERT INTO service_type (code, name, labor_fee, callout_fee, est_minutes_low, est_minutes_high)
	VALUES ('cs_fix', 'cs fix', 'base=20, 0-60:1.20, 60+:1.50', 30, 45, 120);
SELECT name, value, type, min_value FROM setting WHERE name = 'estimate_tolerance_pct';

CREATE FUNCTION pg_temp.ticket(a bigint) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE t bigint := repairsys.open_ticket((SELECT x.customer_id FROM repairsys.asset x WHERE x.id = a), 'cs_fix', 'cs', asset_id => a);
BEGIN
	UPDATE repairsys.ticket SET status = 'assigned', technician_id = 1 WHERE id = t;
	RETURN t;
END $$;

-- 1. The scenario of the issue: the customer approves an estimate, the
--    technician records 2,000 minutes; resolving is refused.
SELECT pg_temp.ticket(1) AS t1 \gset
SELECT scenario, max(scenario_total) AS total FROM estimate(:t1) GROUP BY 1 ORDER BY 2;
SET ROLE cs_cust;
SELECT * FROM approve_estimate(:t1);
SELECT ticket_id, revision, low, high, reason, created_by, approved_by, tolerance_pct,
       jsonb_array_length(lines) AS lines, approved_at IS NOT NULL AS approved
  FROM estimate_revision WHERE ticket_id = :t1;
SELECT estimate_approved_by FROM ticket WHERE id = :t1;
RESET ROLE;
SET ROLE cs_tech;
UPDATE ticket SET status = 'in_progress' WHERE id = :t1;
UPDATE ticket SET labor_minutes = 2000 WHERE id = :t1;
UPDATE ticket SET status = 'resolved' WHERE id = :t1;
SELECT status FROM ticket WHERE id = :t1;
-- the technician revises the estimate; until the customer approves it the
-- ticket still cannot be resolved
SELECT * FROM revise_estimate(:t1, 'The compressor had to be taken apart', 2000);
UPDATE ticket SET status = 'resolved' WHERE id = :t1;
-- the technician cannot approve for the customer
SELECT * FROM approve_estimate(:t1, 2);
RESET ROLE;
SET ROLE cs_cust;
-- the customer cannot approve the old revision once a new one exists
SELECT * FROM approve_estimate(:t1, 1);
SELECT revision, low, high, reason, created_by, approved_at IS NOT NULL AS approved FROM estimate_revision WHERE ticket_id = :t1 ORDER BY revision;
SELECT * FROM approve_estimate(:t1, 2);
SELECT * FROM approve_estimate(:t1, 2);
SELECT * FROM approve_estimate(:t1);
RESET ROLE;
SET ROLE cs_tech;
UPDATE ticket SET status = 'resolved' WHERE id = :t1;
-- once resolved, the recorded work cannot grow past the ceiling either
UPDATE ticket SET labor_minutes = 2500 WHERE id = :t1;
RESET ROLE;
SELECT status, labor_minutes, b.total FROM ticket t JOIN bill_summary b ON b.ticket_id = t.id WHERE t.id = :t1;
SELECT revision, low, high, approved_by, tolerance_pct FROM estimate_revision WHERE ticket_id = :t1 ORDER BY revision;
SELECT * FROM approved_ceiling((SELECT t FROM ticket t WHERE id = :t1));
-- the customer's page shows the revision approved last
SELECT regexp_replace(substring(bill_html(:t1) from '<p>[^<]*estimate[^<]*<b>[^<]*</b> and <b>[^<]*</b>[^<]*</p>'),
                      '[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}', '<when>') AS page_estimate;

-- 2. A small overrun passes within the tolerance, a larger one does not:
--    high 160.48 (120 minutes), at most 176.53 with 10%.
SELECT pg_temp.ticket(1) AS t2 \gset
SELECT * FROM approve_estimate(:t2);
UPDATE ticket SET status = 'in_progress' WHERE id = :t2;
UPDATE ticket SET labor_minutes = 135 WHERE id = :t2;
SELECT total FROM bill_summary WHERE ticket_id = :t2;
SET ROLE cs_tech;
UPDATE ticket SET status = 'resolved' WHERE id = :t2;
UPDATE ticket SET labor_minutes = 130 WHERE id = :t2;
RESET ROLE;
SELECT total FROM bill_summary WHERE ticket_id = :t2;
SET ROLE cs_tech;
UPDATE ticket SET status = 'resolved' WHERE id = :t2;
RESET ROLE;
SELECT status FROM ticket WHERE id = :t2;
-- the tolerance is the one in force when the estimate was approved
UPDATE setting SET value = '0' WHERE name = 'estimate_tolerance_pct';
SELECT * FROM approved_ceiling((SELECT t FROM ticket t WHERE id = :t2));
SELECT count(*) AS audit FROM billing_audit;
UPDATE setting SET value = 'ten' WHERE name = 'estimate_tolerance_pct';
UPDATE setting SET value = '-1' WHERE name = 'estimate_tolerance_pct';
UPDATE setting SET value = 'NaN' WHERE name = 'estimate_tolerance_pct';
UPDATE setting SET value = '10' WHERE name = 'estimate_tolerance_pct';

-- 3. Warranty work is exempt: the ceiling is not asked (nothing to approve).
SELECT pg_temp.ticket(2) AS t3 \gset
UPDATE ticket SET status = 'in_progress' WHERE id = :t3;
SET ROLE cs_tech;
UPDATE ticket SET labor_minutes = 2000 WHERE id = :t3;
UPDATE ticket SET status = 'resolved' WHERE id = :t3;
RESET ROLE;
SELECT status, b.total FROM ticket t JOIN bill_summary b ON b.ticket_id = t.id WHERE t.id = :t3;

-- 4. The table owner's import bypasses the ceiling; billing_audit reports it.
SELECT pg_temp.ticket(1) AS t4 \gset
SELECT * FROM approve_estimate(:t4);
UPDATE ticket SET status = 'in_progress' WHERE id = :t4;
UPDATE ticket SET status = 'resolved', labor_minutes = 2000 WHERE id = :t4;
SELECT ticket_id = :t4 AS t4, problem, detail FROM billing_audit;

-- 5. Revisions refuse bad input and calls in the wrong order.
SELECT pg_temp.ticket(1) AS t5 \gset
SELECT * FROM revise_estimate(:t5, 'before approval');
SELECT * FROM approve_estimate(:t5, 2);
SELECT * FROM approve_estimate(:t5, 0);
SELECT * FROM approve_estimate(:t5, NULL);
SELECT * FROM approve_estimate(:t5);
SELECT * FROM revise_estimate(:t5, NULL);
SELECT * FROM revise_estimate(:t5, '   ');
SELECT * FROM revise_estimate(:t5, 'more', 'NaN');
SELECT * FROM revise_estimate(:t5, 'more', '-1');
SELECT * FROM revise_estimate(:t5, 'more', 'Infinity');
SELECT * FROM revise_estimate(999999, 'more');
SELECT * FROM approve_estimate(999999, 1);
UPDATE ticket SET status = 'in_progress', labor_minutes = 50 WHERE id = :t5;
SELECT * FROM revise_estimate(:t5, 'fewer than recorded', 40);
-- without expected minutes: low is the work recorded, high the service type's high estimate
SELECT * FROM revise_estimate(:t5, 'a part is needed');
SELECT * FROM revise_estimate(:t1, 'after resolution');
SELECT * FROM approve_estimate(:t1, 2);
SELECT count(*) AS revisions FROM estimate_revision WHERE ticket_id = :t5;

-- 6. The table route: every role's plain INSERT, UPDATE and DELETE, each
--    tried and rolled back.  The figures are never taken from the caller;
--    only the latest revision is approved, once; nothing is deleted.
--    Ticket 5 has revision 1 (approved), 2 and 3 (not approved);
--    ticket 6, of customer b, is not the technician's.
SELECT revision FROM revise_estimate(:t5, 'a second part is needed', 80);
SELECT open_ticket(2, 'cs_fix', 'cs b', asset_id => 3) AS t6 \gset
SELECT high_total FROM approve_estimate(:t6);
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
		RAISE EXCEPTION USING ERRCODE = 'RSCS0', MESSAGE = format('ran, %s rows', n);
	EXCEPTION WHEN OTHERS THEN
		RESET ROLE;
		res := CASE WHEN SQLSTATE = 'RSCS0' THEN SQLERRM ELSE SQLSTATE || ' ' || SQLERRM END;
	END;
	RETURN res;
END $$;
SELECT r AS role, what, pg_temp.try(r, stmt) AS outcome
  FROM (VALUES
	('cs_cust',   'inserts a revision', format($$INSERT INTO repairsys.estimate_revision (ticket_id, reason) VALUES (%s, 'x')$$, :t5)),
	('cs_cust',   'inserts a revision with its own figures', format($$INSERT INTO repairsys.estimate_revision (ticket_id, revision, low, high, lines, reason) VALUES (%s, 9, 0, 0, '[]', 'x')$$, :t5)),
	('cs_cust',   'lowers the high of a revision', format($$UPDATE repairsys.estimate_revision SET high = 0 WHERE ticket_id = %s$$, :t5)),
	('cs_cust',   'approves the older revision 2', format($$UPDATE repairsys.estimate_revision SET approved_at = now() WHERE ticket_id = %s AND revision = 2$$, :t5)),
	('cs_cust',   'withdraws an approval', format($$UPDATE repairsys.estimate_revision SET approved_at = NULL WHERE ticket_id = %s AND revision = 1$$, :t5)),
	('cs_cust',   'approves all revisions at once', format($$UPDATE repairsys.estimate_revision SET approved_at = now() WHERE ticket_id = %s$$, :t5)),
	('cs_cust',   'approves the latest revision 3', format($$UPDATE repairsys.estimate_revision SET approved_at = now() WHERE ticket_id = %s AND revision = 3$$, :t5)),
	('cs_cust',   'deletes a revision', format($$DELETE FROM repairsys.estimate_revision WHERE ticket_id = %s$$, :t5)),
	('cs_cust_b', 'approves another customer''s revision', format($$UPDATE repairsys.estimate_revision SET approved_at = now() WHERE ticket_id = %s AND revision = 3$$, :t5)),
	('cs_cust_b', 'approves another customer''s revision with the function', format($$SELECT repairsys.approve_estimate(%s, 3)$$, :t5)),
	('cs_tech',   'inserts a revision', format($$INSERT INTO repairsys.estimate_revision (ticket_id, reason, expected_minutes) VALUES (%s, 'by plain INSERT', 90)$$, :t5)),
	('cs_tech',   'inserts a revision with its own figures', format($$INSERT INTO repairsys.estimate_revision (ticket_id, low, high, lines, reason) VALUES (%s, 0, 0, '[]', 'x')$$, :t5)),
	('cs_tech',   'inserts a revision of a ticket not his', format($$INSERT INTO repairsys.estimate_revision (ticket_id, reason) VALUES (%s, 'x')$$, :t6)),
	('cs_tech',   'revises a ticket not his', format($$SELECT repairsys.revise_estimate(%s, 'x')$$, :t6)),
	('cs_tech',   'approves for the customer', format($$UPDATE repairsys.estimate_revision SET approved_at = now() WHERE ticket_id = %s AND revision = 3$$, :t5)),
	('cs_tech',   'approves for the customer with the function', format($$SELECT repairsys.approve_estimate(%s, 3)$$, :t5)),
	('cs_tech',   'deletes a revision', format($$DELETE FROM repairsys.estimate_revision WHERE ticket_id = %s$$, :t5)),
	('cs_disp',   'inserts a revision with its own number', format($$INSERT INTO repairsys.estimate_revision (ticket_id, revision, reason) VALUES (%s, 7, 'x')$$, :t5)),
	('cs_disp',   'changes the reason of a revision', format($$UPDATE repairsys.estimate_revision SET reason = 'x' WHERE ticket_id = %s$$, :t5)),
	('cs_disp',   'records the customer''s approval given by phone', format($$UPDATE repairsys.estimate_revision SET approved_at = now() WHERE ticket_id = %s AND revision = 3$$, :t5)),
	('cs_admin',  'inserts a revision with its own figures', format($$INSERT INTO repairsys.estimate_revision (ticket_id, low, high, lines, reason) VALUES (%s, 0, 0, '[]', 'x')$$, :t5)),
	('cs_admin',  'inserts an approved revision', format($$INSERT INTO repairsys.estimate_revision (ticket_id, reason, approved_at, approved_by, tolerance_pct) VALUES (%s, 'x', now(), 'cs_cust', 100)$$, :t5)),
	('cs_admin',  'raises the high of a revision', format($$UPDATE repairsys.estimate_revision SET high = high * 10 WHERE ticket_id = %s$$, :t5)),
	('cs_admin',  'raises the tolerance of an approval', format($$UPDATE repairsys.estimate_revision SET tolerance_pct = 1000 WHERE ticket_id = %s AND revision = 1$$, :t5)),
	('cs_admin',  'deletes a revision', format($$DELETE FROM repairsys.estimate_revision WHERE ticket_id = %s$$, :t5)),
	('cs_admin',  'empties the table', $$TRUNCATE repairsys.estimate_revision$$),
	('cs_admin',  'sets who approved the ticket''s estimate', format($$UPDATE repairsys.ticket SET estimate_approved_by = 'cs_cust_b' WHERE id = %s$$, :t5)),
	('cs_aud',    'inserts a revision', format($$INSERT INTO repairsys.estimate_revision (ticket_id, reason) VALUES (%s, 'x')$$, :t5)),
	('cs_aud',    'approves', format($$UPDATE repairsys.estimate_revision SET approved_at = now() WHERE ticket_id = %s AND revision = 3$$, :t5))
  ) AS v(r, what, stmt);
-- what the plain INSERT of the technician writes: the figures of repairsys,
-- and who made it; then the customer approves it by plain UPDATE
SET ROLE cs_tech;
INSERT INTO estimate_revision (ticket_id, reason, expected_minutes) VALUES (:t5, 'by plain INSERT', 90);
RESET ROLE;
SET ROLE cs_cust;
UPDATE estimate_revision SET approved_at = now() WHERE ticket_id = :t5 AND revision = 4;
RESET ROLE;
SET ROLE cs_cust_b;
SELECT ticket_id = :t6 AS t6, revision FROM estimate_revision;
RESET ROLE;
SELECT revision, low, high, reason, created_by, approved_by, tolerance_pct FROM estimate_revision WHERE ticket_id = :t5 ORDER BY revision;
-- every revision kept, the audit finds only the owner's bypass of section 4
SELECT count(*) AS revisions FROM estimate_revision;
SELECT count(*) AS audit FROM billing_audit;
SELECT count(*) AS invariants FROM check_invariants();

\connect :regdb
SET client_min_messages = warning;
DROP DATABASE repairsys_consent;
DROP ROLE cs_cust;
DROP ROLE cs_cust_b;
DROP ROLE cs_tech;
DROP ROLE cs_disp;
DROP ROLE cs_admin;
DROP ROLE cs_aud;
