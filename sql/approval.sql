-- Approval authority for fees (费用审批, issue 17 item 6, docs/billing.md
-- "Approval authority"): a discount within the giver's approval_limit is on
-- the bill at once, a larger one waits (pending, not on the bill) for a role
-- whose limit covers it; percent and amount limits; rejection and
-- withdrawal; the table route for every role; an invoiced ticket; the owner's
-- bypass reported by billing_audit; the events.  Runs in a database of its
-- own, so that "empty" means empty.
\set regdb :DBNAME
SET client_min_messages = warning;
CREATE ROLE ap_disp NOLOGIN IN ROLE repairsys_dispatcher;
CREATE ROLE ap_disp2 NOLOGIN IN ROLE repairsys_dispatcher;
CREATE ROLE ap_senior NOLOGIN IN ROLE repairsys_dispatcher;
CREATE ROLE ap_admin NOLOGIN IN ROLE repairsys_admin;
CREATE ROLE ap_tech NOLOGIN IN ROLE repairsys_technician;
CREATE ROLE ap_cust NOLOGIN IN ROLE repairsys_customer;
CREATE ROLE ap_cust_b NOLOGIN IN ROLE repairsys_customer;
CREATE ROLE ap_aud NOLOGIN IN ROLE repairsys_auditor;
CREATE DATABASE repairsys_approval;
\connect repairsys_approval
SET client_min_messages = warning;
SET TimeZone = 'UTC';
SET DateStyle = 'ISO, YMD';
SET IntervalStyle = 'postgres';
\set SHOW_CONTEXT never
CREATE EXTENSION repairsys;
SET search_path = repairsys, pg_catalog;

-- The seeded limits: the admin has none (NULL), a dispatcher 100.00 and 20%
-- of the bill, the others nothing.
SELECT role, max_amount, max_pct, dump FROM approval_limit ORDER BY role;

-- A center, two customers, a technician, one service: call-out 30, labor 20
-- plus 1.00 a minute, estimated 60 to 120 minutes, tax 6%.
INSERT INTO service_center (name, time_zone) VALUES ('ap center', 'UTC');
INSERT INTO customer (name, service_center_id, db_role) VALUES ('ap a', 1, 'ap_cust'), ('ap b', 1, 'ap_cust_b');
INSERT INTO asset (customer_id, model, serial_no, warranty_until) VALUES (1, 'ap model', 'AP-1', '2000-01-01'), (2, 'ap model', 'AP-2', '2000-01-01');
INSERT INTO technician (name, service_center_id, db_role, capacity) VALUES ('ap tech', 1, 'ap_tech', 20);
INSERT INTO service_type (code, name, labor_fee, callout_fee, est_minutes_low, est_minutes_high)
	VALUES ('ap_fix', 'ap fix', 'base=20, 0+:1.00', 30, 60, 120);
-- a senior dispatcher has a limit of their own (a discount is covered when
-- any row of the roles whose rights one has covers it)
SET ROLE ap_admin;
INSERT INTO approval_limit (role, max_amount, max_pct) VALUES ('ap_senior', 300.00, 50);
RESET ROLE;

-- A ticket of customer a (asset 1) approved, in progress, with the minutes of
-- work given: its bill before discounts is 30 + 20 + minutes.
CREATE FUNCTION pg_temp.ticket(a bigint, minutes numeric) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE t bigint := repairsys.open_ticket((SELECT x.customer_id FROM repairsys.asset x WHERE x.id = a), 'ap_fix', 'ap', asset_id => a);
BEGIN
	UPDATE repairsys.ticket SET status = 'assigned', technician_id = 1 WHERE id = t;
	PERFORM repairsys.approve_estimate(t);
	UPDATE repairsys.ticket SET status = 'in_progress', labor_minutes = minutes WHERE id = t;
	RETURN t;
END $$;
-- the bill of a ticket: its total, and that its lines add up to it
CREATE FUNCTION pg_temp.bill(t bigint) RETURNS TABLE (discounts numeric, subtotal numeric, tax numeric, total numeric, lines_sum numeric)
LANGUAGE sql AS $$
	SELECT b.discounts, b.subtotal, b.tax, b.total,
	       (SELECT sum(d.amount + d.tax_amount) FROM repairsys.bill_detail d WHERE d.ticket_id = t)
	  FROM repairsys.bill_summary b WHERE b.ticket_id = t;
$$;
GRANT EXECUTE ON FUNCTION pg_temp.bill(bigint) TO PUBLIC;

-- (\echo SQLSTATE: the code of the error just shown)

-- 1. A small discount is on the bill at once; a large one waits.
--    Ticket 1: 200 minutes, a bill of 250.00 before discounts.
SELECT pg_temp.ticket(1, 200) AS t1 \gset
SELECT * FROM pg_temp.bill(:t1);
SET ROLE ap_disp;
INSERT INTO ticket_discount (ticket_id, description, amount) VALUES (:t1, 'loyal customer', 20.00) RETURNING id AS d_small \gset
SELECT status, requested_by, created_by, approved_by, approved_at IS NOT NULL AS decided, bill_basis FROM ticket_discount WHERE id = :d_small;
SELECT * FROM pg_temp.bill(:t1);
-- 80.00 more: 100.00 in all is within the amount, but 40% of the bill is not
INSERT INTO ticket_discount (ticket_id, description, amount) VALUES (:t1, 'goodwill', 80.00) RETURNING id AS d_big \gset
SELECT status, requested_by, approved_by, approved_at, bill_basis FROM ticket_discount WHERE id = :d_big;
-- not on the bill: neither in the lines nor in the totals
SELECT line_no, kind, description, amount, tax_amount FROM bill_detail WHERE ticket_id = :t1 ORDER BY line_no;
SELECT * FROM pg_temp.bill(:t1);
-- the requester cannot approve it, nor can another dispatcher (42501), by
-- the function or by a plain UPDATE
SELECT status FROM approve_discount(:d_big);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
RESET ROLE;
SET ROLE ap_disp2;
SELECT status FROM approve_discount(:d_big);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
UPDATE ticket_discount SET status = 'approved' WHERE id = :d_big;
\echo SQLSTATE :LAST_ERROR_SQLSTATE
RESET ROLE;
SELECT status, approved_by FROM ticket_discount WHERE id = :d_big;
-- a role whose limit covers it approves it: then it is on the bill, exactly
SET ROLE ap_senior;
SELECT status, requested_by, approved_by, approved_at IS NOT NULL AS decided, bill_basis FROM approve_discount(:d_big);
RESET ROLE;
SELECT line_no, kind, description, amount, tax_amount FROM bill_detail WHERE ticket_id = :t1 ORDER BY line_no;
SELECT * FROM pg_temp.bill(:t1);
-- a decision is final
SET ROLE ap_senior;
SELECT status FROM approve_discount(:d_big);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT status FROM reject_discount(:d_big);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
UPDATE ticket_discount SET status = 'pending' WHERE id = :d_big;
RESET ROLE;

-- 2. The percent limit, and that the limit holds for the ticket's discounts
--    in all (splitting a discount does not get around it).  Ticket 2: a bill
--    of 60.00; a dispatcher may take 20%, 12.00, off it.
SELECT pg_temp.ticket(1, 10) AS t2 \gset
SET ROLE ap_disp;
INSERT INTO ticket_discount (ticket_id, description, amount) VALUES (:t2, 'first part', 12.00);
INSERT INTO ticket_discount (ticket_id, description, amount) VALUES (:t2, 'second part', 1.00);
SELECT description, amount, status, approved_by FROM ticket_discount WHERE ticket_id = :t2 ORDER BY id;
SELECT * FROM pg_temp.bill(:t2);
-- a discount above what the bill has left is refused whatever the limit
INSERT INTO ticket_discount (ticket_id, description, amount) VALUES (:t2, 'too much', 48.01);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
RESET ROLE;

-- 3. Rejected, and withdrawn: never on the bill.
SET ROLE ap_disp;
INSERT INTO ticket_discount (ticket_id, description, amount) VALUES (:t2, 'asked for', 10.00) RETURNING id AS d_rej \gset
INSERT INTO ticket_discount (ticket_id, description, amount) VALUES (:t2, 'asked by mistake', 5.00) RETURNING id AS d_wd \gset
RESET ROLE;
-- another dispatcher cannot reject what their limit does not cover
SET ROLE ap_disp2;
SELECT status FROM reject_discount(:d_rej);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
RESET ROLE;
SET ROLE ap_admin;
SELECT status, requested_by, approved_by, approved_at IS NOT NULL AS decided FROM reject_discount(:d_rej);
SELECT status FROM approve_discount(:d_rej);
RESET ROLE;
-- the requester withdraws their own request
SET ROLE ap_disp;
SELECT status, requested_by, approved_by FROM reject_discount(:d_wd);
RESET ROLE;
SELECT description, amount, status, requested_by, approved_by FROM ticket_discount WHERE ticket_id = :t2 ORDER BY id;
SELECT * FROM pg_temp.bill(:t2);
-- the senior dispatcher approves the waiting 1.00 (13.00 is 21.67%, within 50%)
SET ROLE ap_senior;
SELECT status, approved_by FROM approve_discount((SELECT id FROM ticket_discount WHERE ticket_id = :t2 AND description = 'second part'));
RESET ROLE;
SELECT * FROM pg_temp.bill(:t2);

-- 4. Bad input and every error path.
SELECT * FROM approve_discount(NULL);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT * FROM approve_discount(999999);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT * FROM reject_discount(999999);
SELECT * FROM decide_discount(:d_small, 'maybe');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT * FROM decide_discount(:d_small, NULL);
SET ROLE ap_disp;
-- status, who decided and the basis are repairsys's
INSERT INTO ticket_discount (ticket_id, description, amount, status) VALUES (:t1, 'x', 1, 'approved');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
INSERT INTO ticket_discount (ticket_id, description, amount, approved_by) VALUES (:t1, 'x', 1, 'ap_disp');
UPDATE ticket_discount SET approved_by = 'ap_disp' WHERE id = :d_small;
UPDATE ticket_discount SET amount = 1 WHERE id = :d_small;
\echo SQLSTATE :LAST_ERROR_SQLSTATE
DELETE FROM ticket_discount WHERE id = :d_small;
INSERT INTO ticket_discount (ticket_id, description, amount) VALUES (:t1, 'x', 'NaN');
INSERT INTO ticket_discount (ticket_id, description, amount) VALUES (:t1, 'x', -5);
INSERT INTO ticket_discount (ticket_id, description, amount) VALUES (999999, 'x', 5);
RESET ROLE;
SET ROLE ap_admin;
INSERT INTO ticket_discount (ticket_id, description, amount, status) VALUES (:t1, 'x', 1, 'approved');
\echo SQLSTATE :LAST_ERROR_SQLSTATE
INSERT INTO ticket_discount (ticket_id, description, amount, bill_basis) VALUES (:t1, 'x', 1, 1);
UPDATE ticket_discount SET approved_by = 'ap_senior' WHERE id = :d_small;
\echo SQLSTATE :LAST_ERROR_SQLSTATE
UPDATE ticket_discount SET requested_by = 'ap_senior' WHERE id = :d_small;
UPDATE ticket_discount SET amount = 1 WHERE id = :d_small;
\echo SQLSTATE :LAST_ERROR_SQLSTATE
UPDATE ticket_discount SET ticket_id = :t2 WHERE id = :d_small;
UPDATE ticket_discount SET status = NULL WHERE id = :d_small;
UPDATE ticket_discount SET status = 'maybe' WHERE id = :d_small;
-- the description may be corrected
UPDATE ticket_discount SET description = 'loyal customer (10 years)' WHERE id = :d_small;
RESET ROLE;
-- the other roles: no discounts at all (42501), by the table or the functions
SET ROLE ap_tech;
SELECT count(*) FROM ticket_discount;
INSERT INTO ticket_discount (ticket_id, description, amount) VALUES (:t1, 'x', 1);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT status FROM approve_discount(:d_small);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
RESET ROLE;
SET ROLE ap_cust;
-- (the customer sees the discounts of own tickets, pending ones too)
SELECT description, amount, status FROM ticket_discount ORDER BY id;
INSERT INTO ticket_discount (ticket_id, description, amount) VALUES (:t1, 'x', 1);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
UPDATE ticket_discount SET status = 'approved' WHERE id = :d_small;
SELECT status FROM approve_discount(:d_small);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
RESET ROLE;
SET ROLE ap_cust_b;
SELECT count(*) AS other_customer_sees FROM ticket_discount;
RESET ROLE;
SET ROLE ap_aud;
SELECT count(*) AS auditor_sees FROM ticket_discount;
INSERT INTO ticket_discount (ticket_id, description, amount) VALUES (:t1, 'x', 1);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT status FROM approve_discount(:d_small);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
RESET ROLE;

-- 5. The limits: the admin's to change; a role that exists; valid numbers.
SET ROLE ap_disp;
SELECT role, max_amount, max_pct FROM approval_limit WHERE role = 'repairsys_dispatcher';
UPDATE approval_limit SET max_amount = 1000 WHERE role = 'repairsys_dispatcher';
\echo SQLSTATE :LAST_ERROR_SQLSTATE
INSERT INTO approval_limit (role, max_amount, max_pct) VALUES ('ap_disp', NULL, NULL);
RESET ROLE;
SET ROLE ap_tech;
SELECT role, max_amount, max_pct FROM approval_limit WHERE role = 'repairsys_technician';
UPDATE approval_limit SET max_amount = 1000 WHERE role = 'repairsys_technician';
RESET ROLE;
SET ROLE ap_cust;
SELECT count(*) FROM approval_limit;
RESET ROLE;
SET ROLE ap_admin;
INSERT INTO approval_limit (role, max_amount, max_pct) VALUES ('ap_no_such_role', 1, 1);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
INSERT INTO approval_limit (role, max_amount, max_pct) VALUES ('ap_disp2', -1, 1);
INSERT INTO approval_limit (role, max_amount, max_pct) VALUES ('ap_disp2', 1, 100.01);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
INSERT INTO approval_limit (role, max_amount, max_pct) VALUES ('ap_disp2', 'NaN', 1);
INSERT INTO approval_limit (role, max_amount, max_pct) VALUES ('ap_disp2', 'Infinity', 1);
INSERT INTO approval_limit (role, max_amount, max_pct) VALUES ('ap_disp2', 1, 'NaN');
-- a changed seeded limit is kept by pg_dump (its dump flag)
UPDATE approval_limit SET max_amount = 150.00 WHERE role = 'repairsys_dispatcher';
RESET ROLE;
SELECT role, max_amount, max_pct, dump FROM approval_limit ORDER BY role;

-- 6. An invoiced ticket: a pending discount is not on the invoice and cannot
--    be approved afterwards (an issued invoice never changes); it can be
--    rejected.  Ticket 3: 60 minutes, a bill of 110.00.
SELECT pg_temp.ticket(1, 60) AS t3 \gset
SET ROLE ap_disp;
INSERT INTO ticket_discount (ticket_id, description, amount) VALUES (:t3, 'late arrival', 50.00) RETURNING id AS d_inv \gset
UPDATE ticket SET status = 'resolved' WHERE id = :t3;
SELECT issue_invoice(:t3) AS inv \gset
SELECT i.total, (SELECT count(*) FROM invoice_line l WHERE l.invoice_id = i.id AND l.kind = 'discount') AS discount_lines
  FROM invoice i WHERE i.id = :inv;
RESET ROLE;
SET ROLE ap_admin;
SELECT status FROM approve_discount(:d_inv);
\echo SQLSTATE :LAST_ERROR_SQLSTATE
SELECT status FROM reject_discount(:d_inv);
INSERT INTO ticket_discount (ticket_id, description, amount) VALUES (:t3, 'after the invoice', 1.00);
RESET ROLE;
SELECT * FROM pg_temp.bill(:t3);

-- 7. billing_audit: empty so far; the table owner's bypass (approved, nobody
--    approved it) and an approval above the approver's limit are reported.
SELECT count(*) AS audit FROM billing_audit;
SELECT pg_temp.ticket(2, 200) AS t4 \gset
INSERT INTO ticket_discount (ticket_id, description, amount, status, requested_by)
	VALUES (:t4, 'owner''s bypass', 40.00, 'approved', 'ap_disp');
INSERT INTO ticket_discount (ticket_id, description, amount, status, requested_by, approved_by, approved_at, bill_basis)
	VALUES (:t4, 'beyond the approver', 90.00, 'approved', 'ap_disp', 'ap_disp2', now(), 250.00);
SELECT ticket_id = :t4 AS t4, problem, regexp_replace(detail, 'Discount [0-9]+', 'Discount <id>') AS detail
  FROM billing_audit ORDER BY detail;
SELECT * FROM pg_temp.bill(:t4);
-- the owner's own discounts without a status are approved by the owner
INSERT INTO ticket_discount (ticket_id, description, amount) VALUES (:t4, 'by the owner', 1.00) RETURNING status, approved_by = current_user AS by_owner;

-- 8. The events, in the transactions of the changes.
SELECT kind, payload ->> 'amount' AS amount,
       CASE WHEN payload ->> 'requested_by' = current_user THEN '(the owner)' ELSE payload ->> 'requested_by' END AS requested_by,
       CASE WHEN payload ->> 'approved_by' = current_user THEN '(the owner)' ELSE payload ->> 'approved_by' END AS approved_by
  FROM event WHERE kind LIKE 'discount%' ORDER BY id;

\connect :regdb
SET client_min_messages = warning;
DROP DATABASE repairsys_approval;
DROP ROLE ap_disp;
DROP ROLE ap_disp2;
DROP ROLE ap_senior;
DROP ROLE ap_admin;
DROP ROLE ap_tech;
DROP ROLE ap_cust;
DROP ROLE ap_cust_b;
DROP ROLE ap_aud;
