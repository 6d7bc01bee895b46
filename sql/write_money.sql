-- Hostile writes on money, prices and the facts a bill depends on (issue 15,
-- docs/billing.md "Rules at the table", docs/security.md): each attempt is a
-- plain INSERT / UPDATE (or a function call with a bad argument) as one of
-- the roles, mapped to a person through db_role where the role needs one.
-- Every line shows the SQLSTATE it was refused with, whether the tables are
-- byte for byte what they were before (a fingerprint of every table a bill
-- reads), and the rows of check_invariants() and billing_audit afterwards
-- (0 and 0).  Runs in a database of its own, so that "empty" means empty.
\set regdb :DBNAME
SET client_min_messages = warning;
CREATE ROLE wm_cust_a NOLOGIN IN ROLE repairsys_customer;
CREATE ROLE wm_cust_b NOLOGIN IN ROLE repairsys_customer;
CREATE ROLE wm_tech NOLOGIN IN ROLE repairsys_technician;
CREATE DATABASE repairsys_write_money;
\connect repairsys_write_money
SET client_min_messages = warning;
SET TimeZone = 'UTC';
\set SHOW_CONTEXT never
CREATE EXTENSION repairsys;
SET search_path = repairsys, pg_catalog;

-- A center, two customers with assets in and out of warranty (dates far
-- from any day the suite runs on), a technician, a service and a part.
INSERT INTO service_center (name, time_zone) VALUES ('wm center', 'UTC');
INSERT INTO customer (name, service_center_id, db_role) VALUES ('wm a', 1, 'wm_cust_a'), ('wm b', 1, 'wm_cust_b');
INSERT INTO asset (customer_id, model, serial_no, warranty_until) VALUES
	(1, 'wm model', 'A1-out', '2000-01-01'), (1, 'wm model', 'A2-in', '2999-12-31'),
	(2, 'wm model', 'B1-in', '2999-12-31'), (2, 'wm model', 'B2-out', '2000-01-01');
INSERT INTO technician (name, service_center_id, db_role, capacity) VALUES ('wm tech', 1, 'wm_tech', 20);
INSERT INTO service_type (code, name, labor_fee, callout_fee, est_minutes_low, est_minutes_high)
	VALUES ('wm_fix', 'wm fix', '0+:1.00', 20, 30, 60);
INSERT INTO part (sku, name, unit_price) VALUES ('WM-1', 'wm part', 10);
SELECT receive_part('WM-1', 1, 20) > 0 AS stocked;

-- Tickets: 1 new; 2 approved and in progress; 3 resolved, approved, not
-- invoiced; 4 invoiced and partly paid (customer a); 5 invoiced (customer b);
-- 6 (below) assigned, under warranty.
CREATE FUNCTION pg_temp.ticket(cust bigint, asset bigint, upto text) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE t bigint := repairsys.open_ticket(cust, 'wm_fix', 'wm', asset_id => asset);
BEGIN
	IF upto = 'new' THEN RETURN t; END IF;
	UPDATE repairsys.ticket SET status = 'assigned', technician_id = 1 WHERE id = t;
	PERFORM repairsys.approve_estimate(t);
	UPDATE repairsys.ticket SET status = 'in_progress' WHERE id = t;
	IF upto = 'in_progress' THEN RETURN t; END IF;
	UPDATE repairsys.ticket SET status = 'resolved', labor_minutes = 40 WHERE id = t;
	IF upto = 'resolved' THEN RETURN t; END IF;
	PERFORM repairsys.issue_invoice(t);
	RETURN t;
END $$;
SELECT pg_temp.ticket(1, 1, 'new') AS t_new, pg_temp.ticket(1, 1, 'in_progress') AS t_work,
       pg_temp.ticket(1, 1, 'resolved') AS t_res, pg_temp.ticket(1, 1, 'invoiced') AS t_inv,
       pg_temp.ticket(2, 4, 'invoiced') AS t_inv_b \gset
SELECT reserve_part(:t_work, 'WM-1', 1) > 0 AS reserved;
-- 6: a warranty ticket of the technician's, with a covered part
SELECT pg_temp.ticket(1, 2, 'new') AS t_cov \gset
UPDATE ticket SET status = 'assigned', technician_id = 1 WHERE id = :t_cov;
SELECT reserve_part(:t_cov, 'WM-1', 1) > 0 AS reserved;
SELECT covered FROM ticket_part WHERE ticket_id = :t_cov;
SELECT id AS inv_a, invoice_no, total FROM invoice WHERE ticket_id = :t_inv \gset
SELECT id AS inv_b FROM invoice WHERE ticket_id = :t_inv_b \gset
SELECT :'invoice_no' AS invoice_a, :total AS total_a;
-- the customer pays part of it by record_payment, and then by a plain INSERT
SET ROLE wm_cust_a;
SELECT record_payment(:inv_a, 'wechat', 10.00, 'key-1') > 0 AS paid;
INSERT INTO payment (invoice_id, method, amount, idempotency_key) VALUES (:inv_a, 'alipay', 5.00, 'key-2');
RESET ROLE;

-- Everything a bill reads, as one fingerprint.
CREATE FUNCTION pg_temp.fingerprint() RETURNS text LANGUAGE sql AS $$
	SELECT md5(string_agg(r, E'\n' ORDER BY r)) FROM (
		SELECT 'payment ' || x::text FROM repairsys.payment x UNION ALL
		SELECT 'invoice ' || x::text FROM repairsys.invoice x UNION ALL
		SELECT 'invoice_line ' || x::text FROM repairsys.invoice_line x UNION ALL
		SELECT 'installment ' || x::text FROM repairsys.installment x UNION ALL
		SELECT 'ticket ' || x::text FROM repairsys.ticket x UNION ALL
		SELECT 'ticket_part ' || x::text FROM repairsys.ticket_part x UNION ALL
		SELECT 'ticket_discount ' || x::text FROM repairsys.ticket_discount x UNION ALL
		SELECT 'asset ' || x::text FROM repairsys.asset x UNION ALL
		SELECT 'customer ' || x::text FROM repairsys.customer x UNION ALL
		SELECT 'service_type ' || x::text FROM repairsys.service_type x UNION ALL
		SELECT 'complexity_rule ' || x::text FROM repairsys.complexity_rule x UNION ALL
		SELECT 'urgency_rule ' || x::text FROM repairsys.urgency_rule x UNION ALL
		SELECT 'part ' || x::text FROM repairsys.part x UNION ALL
		SELECT 'technician ' || x::text FROM repairsys.technician x UNION ALL
		SELECT 'assign_policy ' || x::text FROM repairsys.assign_policy x UNION ALL
		SELECT 'stock_movement ' || x::text FROM repairsys.stock_movement x) AS all_rows(r);
$$;

-- One hostile write: run as the role; the SQLSTATE and message, or 'ACCEPTED';
-- whether nothing changed; what check_invariants() and billing_audit find.
CREATE TEMP TABLE tried (n serial, who text, attempt text, outcome text, unchanged boolean, invariants bigint, audit bigint);
CREATE PROCEDURE pg_temp.hostile(who name, attempt text, stmt text) LANGUAGE plpgsql AS $$
DECLARE
	before text := pg_temp.fingerprint();
	outcome text;
BEGIN
	BEGIN
		EXECUTE format('SET LOCAL ROLE %I', who);
		EXECUTE stmt;
		outcome := 'ACCEPTED';
		RESET ROLE;
	EXCEPTION WHEN OTHERS THEN
		outcome := SQLSTATE || ' ' || SQLERRM;
	END;
	RESET ROLE;
	INSERT INTO pg_temp.tried (who, attempt, outcome, unchanged, invariants, audit)
	SELECT who, attempt, outcome, pg_temp.fingerprint() = before,
	       (SELECT count(*) FROM repairsys.check_invariants()), (SELECT count(*) FROM repairsys.billing_audit);
END $$;

SELECT count(*) AS invariants_before FROM check_invariants();
SELECT count(*) AS audit_before FROM billing_audit;

-- customer a: money
CALL pg_temp.hostile('wm_cust_a', 'pay over the balance', format($$INSERT INTO repairsys.payment (invoice_id, method, amount, idempotency_key) VALUES (%s, 'cash', 100000, 'c1')$$, :inv_a));
CALL pg_temp.hostile('wm_cust_a', 'pay the whole balance twice in one statement', format($$INSERT INTO repairsys.payment (invoice_id, method, amount, idempotency_key) SELECT i.id, 'cash', i.total - 15, k FROM repairsys.invoice i, unnest(ARRAY['c2', 'c3']) k WHERE i.id = %s$$, :inv_a));
CALL pg_temp.hostile('wm_cust_a', 'pay NaN', format($$INSERT INTO repairsys.payment (invoice_id, method, amount, idempotency_key) VALUES (%s, 'cash', 'NaN', 'c4')$$, :inv_a));
CALL pg_temp.hostile('wm_cust_a', 'pay Infinity', format($$INSERT INTO repairsys.payment (invoice_id, method, amount, idempotency_key) VALUES (%s, 'cash', 'Infinity', 'c5')$$, :inv_a));
CALL pg_temp.hostile('wm_cust_a', 'pay a negative amount', format($$INSERT INTO repairsys.payment (invoice_id, method, amount, idempotency_key) VALUES (%s, 'cash', -5, 'c6')$$, :inv_a));
CALL pg_temp.hostile('wm_cust_a', 'reuse a key for another amount', format($$INSERT INTO repairsys.payment (invoice_id, method, amount, idempotency_key) VALUES (%s, 'wechat', 1.00, 'key-1')$$, :inv_a));
CALL pg_temp.hostile('wm_cust_a', 'retry a payment (nothing new: 0 rows)', format($$INSERT INTO repairsys.payment (invoice_id, method, amount, idempotency_key) VALUES (%s, 'wechat', 10.00, 'key-1')$$, :inv_a));
CALL pg_temp.hostile('wm_cust_a', 'pay customer b''s invoice', format($$INSERT INTO repairsys.payment (invoice_id, method, amount, idempotency_key) VALUES (%s, 'cash', 1, 'c7')$$, :inv_b));
CALL pg_temp.hostile('wm_cust_a', 'backdate a payment', format($$INSERT INTO repairsys.payment (invoice_id, method, amount, idempotency_key, paid_at) VALUES (%s, 'cash', 1, 'c8', '2000-01-01')$$, :inv_a));
CALL pg_temp.hostile('wm_cust_a', 'record_payment NaN', format($$SELECT repairsys.record_payment(%s, 'cash', 'NaN', 'c9')$$, :inv_a));
CALL pg_temp.hostile('wm_cust_a', 'record_payment Infinity', format($$SELECT repairsys.record_payment(%s, 'cash', 'Infinity', 'c10')$$, :inv_a));
CALL pg_temp.hostile('wm_cust_a', 'record_payment over the balance', format($$SELECT repairsys.record_payment(%s, 'cash', 100000, 'c11')$$, :inv_a));
CALL pg_temp.hostile('wm_cust_a', 'plan installments', format($$SELECT repairsys.plan_installments(%s, 2, '2030-01-31')$$, :inv_a));
CALL pg_temp.hostile('wm_cust_a', 'write an installment', format($$INSERT INTO repairsys.installment (invoice_id, seq, due_on, amount) VALUES (%s, 1, '2030-01-31', 1)$$, :inv_a));
CALL pg_temp.hostile('wm_cust_a', 'approve an approved estimate again', format($$UPDATE repairsys.ticket SET estimate_approved_at = '2030-01-01' WHERE id = %s$$, :t_work));
BEGIN ISOLATION LEVEL REPEATABLE READ;
CALL pg_temp.hostile('wm_cust_a', 'pay at REPEATABLE READ', format($$INSERT INTO repairsys.payment (invoice_id, method, amount, idempotency_key) VALUES (%s, 'cash', 1, 'c12')$$, :inv_a));
COMMIT;

-- dispatcher: invoices, prices and the facts of agreed bills
CALL pg_temp.hostile('repairsys_dispatcher', 'write an invoice by hand', format($$INSERT INTO repairsys.invoice (ticket_id, total) VALUES (%s, 0)$$, :t_res));
CALL pg_temp.hostile('repairsys_dispatcher', 'write an invoice line by hand', format($$INSERT INTO repairsys.invoice_line (invoice_id, line_no, kind, description, amount) VALUES (%s, 99, 'discount', 'x', -50)$$, :inv_a));
CALL pg_temp.hostile('repairsys_dispatcher', 'write an installment by hand', format($$INSERT INTO repairsys.installment (invoice_id, seq, due_on, amount) VALUES (%s, 1, '2030-01-31', 1)$$, :inv_a));
CALL pg_temp.hostile('repairsys_dispatcher', 'record a payment over the balance', format($$INSERT INTO repairsys.payment (invoice_id, method, amount, idempotency_key) VALUES (%s, 'cash', 100000, 'd1')$$, :inv_a));
CALL pg_temp.hostile('repairsys_dispatcher', 'record a NaN payment', format($$INSERT INTO repairsys.payment (invoice_id, method, amount, idempotency_key) VALUES (%s, 'cash', 'NaN', 'd2')$$, :inv_a));
CALL pg_temp.hostile('repairsys_dispatcher', 'date a payment before its invoice', format($$INSERT INTO repairsys.payment (invoice_id, method, amount, idempotency_key, paid_at) VALUES (%s, 'cash', 1, 'd3', '2000-01-01 00:00+00')$$, :inv_a));
CALL pg_temp.hostile('repairsys_dispatcher', 'date a payment in the future', format($$INSERT INTO repairsys.payment (invoice_id, method, amount, idempotency_key, paid_at) VALUES (%s, 'cash', 1, 'd4', '2999-01-01 00:00+00')$$, :inv_a));
CALL pg_temp.hostile('repairsys_dispatcher', 'date a payment infinity', format($$INSERT INTO repairsys.payment (invoice_id, method, amount, idempotency_key, paid_at) VALUES (%s, 'cash', 1, 'd5', 'infinity')$$, :inv_a));
CALL pg_temp.hostile('repairsys_dispatcher', 'open a ticket already approved', $$INSERT INTO repairsys.ticket (customer_id, service_type, estimate_approved_at) VALUES (1, 'wm_fix', '2030-01-01')$$);
CALL pg_temp.hostile('repairsys_dispatcher', 'open a ticket with a zero price snapshot', $$INSERT INTO repairsys.ticket (customer_id, service_type, price_labor_fee, price_callout_fee, approved_estimate_low) VALUES (1, 'wm_fix', '0+:0', 0, 0)$$);
CALL pg_temp.hostile('repairsys_dispatcher', 'open a ticket for another customer''s asset', $$INSERT INTO repairsys.ticket (customer_id, service_type, asset_id) VALUES (1, 'wm_fix', 3)$$);
CALL pg_temp.hostile('repairsys_dispatcher', 'point a new ticket at another customer''s asset', format($$UPDATE repairsys.ticket SET asset_id = 3 WHERE id = %s$$, :t_new));
CALL pg_temp.hostile('repairsys_dispatcher', 'point a resolved ticket at another customer''s warranty asset', format($$UPDATE repairsys.ticket SET asset_id = 3 WHERE id = %s$$, :t_res));
CALL pg_temp.hostile('repairsys_dispatcher', 'point an approved ticket at the customer''s warranty asset', format($$UPDATE repairsys.ticket SET asset_id = 2 WHERE id = %s$$, :t_work));
CALL pg_temp.hostile('repairsys_dispatcher', 'void the warranty of an approved ticket', format($$UPDATE repairsys.ticket SET warranty_void = true WHERE id = %s$$, :t_work));
CALL pg_temp.hostile('repairsys_dispatcher', 'move an invoiced ticket to another customer', format($$UPDATE repairsys.ticket SET customer_id = 2, asset_id = 4 WHERE id = %s$$, :t_inv));
CALL pg_temp.hostile('repairsys_dispatcher', 'move an invoiced ticket to another customer (no asset)', format($$UPDATE repairsys.ticket SET customer_id = 2, asset_id = NULL WHERE id = %s$$, :t_inv));
CALL pg_temp.hostile('repairsys_dispatcher', 'change the service of an approved ticket', format($$UPDATE repairsys.ticket SET service_type = 'wm_fix', complexity = 5 WHERE id = %s$$, :t_work));
CALL pg_temp.hostile('repairsys_dispatcher', 'move an asset with tickets to another customer', $$UPDATE repairsys.asset SET customer_id = 2 WHERE id = 1$$);
CALL pg_temp.hostile('repairsys_dispatcher', 'extend a warranty under approved bills', $$UPDATE repairsys.asset SET warranty_until = '2999-12-31' WHERE id = 1$$);
CALL pg_temp.hostile('repairsys_dispatcher', 'give a NaN discount', format($$INSERT INTO repairsys.ticket_discount (ticket_id, description, amount) VALUES (%s, 'x', 'NaN')$$, :t_res));
CALL pg_temp.hostile('repairsys_dispatcher', 'give a negative discount', format($$INSERT INTO repairsys.ticket_discount (ticket_id, description, amount) VALUES (%s, 'x', -10)$$, :t_res));
CALL pg_temp.hostile('repairsys_dispatcher', 'give a discount above the bill', format($$INSERT INTO repairsys.ticket_discount (ticket_id, description, amount) VALUES (%s, 'x', 1000)$$, :t_res));
CALL pg_temp.hostile('repairsys_dispatcher', 'give two discounts above the bill together', format($$INSERT INTO repairsys.ticket_discount (ticket_id, description, amount) VALUES (%1$s, 'x', 50), (%1$s, 'y', 50)$$, :t_res));
CALL pg_temp.hostile('repairsys_dispatcher', 'discount an invoiced ticket', format($$INSERT INTO repairsys.ticket_discount (ticket_id, description, amount) VALUES (%s, 'x', 1)$$, :t_inv));
CALL pg_temp.hostile('repairsys_dispatcher', 'record NaN labor minutes', format($$UPDATE repairsys.ticket SET labor_minutes = 'NaN' WHERE id = %s$$, :t_work));
CALL pg_temp.hostile('repairsys_dispatcher', 'record NaN travel', format($$UPDATE repairsys.ticket SET travel_km = 'NaN' WHERE id = %s$$, :t_work));
CALL pg_temp.hostile('repairsys_dispatcher', 'set resolve_by to infinity', format($$UPDATE repairsys.ticket SET resolve_by = 'infinity' WHERE id = %s$$, :t_work));
CALL pg_temp.hostile('repairsys_dispatcher', 'set respond_by to -infinity', format($$UPDATE repairsys.ticket SET respond_by = '-infinity' WHERE id = %s$$, :t_new));
CALL pg_temp.hostile('repairsys_dispatcher', 'plan installments from an infinite date', format($$SELECT repairsys.plan_installments(%s, 2, 'infinity')$$, :inv_a));
CALL pg_temp.hostile('repairsys_dispatcher', 'claim coverage on an out-of-warranty part', format($$INSERT INTO repairsys.ticket_part (ticket_id, sku, service_center_id, qty, unit_price, covered) VALUES (%s, 'WM-1', 1, 1, 10, true)$$, :t_work));
CALL pg_temp.hostile('repairsys_dispatcher', 'add a part at a NaN price', format($$INSERT INTO repairsys.ticket_part (ticket_id, sku, service_center_id, qty, unit_price) VALUES (%s, 'WM-1', 1, 1, 'NaN')$$, :t_work));

-- technician: coverage, labor, warranty
CALL pg_temp.hostile('wm_tech', 'cover a part of an out-of-warranty ticket', format($$UPDATE repairsys.ticket_part SET covered = true WHERE ticket_id = %s$$, :t_work));
CALL pg_temp.hostile('wm_tech', 'add a covered part to an out-of-warranty ticket', format($$INSERT INTO repairsys.ticket_part (ticket_id, sku, service_center_id, qty, unit_price, covered) VALUES (%s, 'WM-1', 1, 1, 10, true)$$, :t_work));
CALL pg_temp.hostile('wm_tech', 'void the warranty of an approved ticket', format($$UPDATE repairsys.ticket SET warranty_void = true WHERE id = %s$$, :t_work));
CALL pg_temp.hostile('wm_tech', 'record NaN labor minutes', format($$UPDATE repairsys.ticket SET labor_minutes = 'NaN' WHERE id = %s$$, :t_work));
CALL pg_temp.hostile('wm_tech', 'record infinite labor minutes', format($$UPDATE repairsys.ticket SET labor_minutes = 'Infinity' WHERE id = %s$$, :t_work));
CALL pg_temp.hostile('wm_tech', 'record NaN travel', format($$UPDATE repairsys.ticket SET travel_km = 'NaN' WHERE id = %s$$, :t_work));
CALL pg_temp.hostile('wm_tech', 'pay an invoice', format($$INSERT INTO repairsys.payment (invoice_id, method, amount, idempotency_key) VALUES (%s, 'cash', 1, 't1')$$, :inv_a));
CALL pg_temp.hostile('wm_tech', 'move a covered part line to an out-of-warranty ticket', format($$UPDATE repairsys.ticket_part SET ticket_id = %s WHERE ticket_id = %s$$, :t_work, :t_cov));
CALL pg_temp.hostile('wm_tech', 'make a used part free', format($$UPDATE repairsys.ticket_part SET unit_price = 0 WHERE ticket_id = %s$$, :t_work));
CALL pg_temp.hostile('wm_tech', 'add a part below its list price', format($$INSERT INTO repairsys.ticket_part (ticket_id, sku, service_center_id, qty, unit_price) VALUES (%s, 'WM-1', 1, 1, 0.01)$$, :t_work));
CALL pg_temp.hostile('wm_tech', 'add a part at a NaN price', format($$INSERT INTO repairsys.ticket_part (ticket_id, sku, service_center_id, qty, unit_price) VALUES (%s, 'WM-1', 1, 1, 'NaN')$$, :t_work));

-- admin: reads and writes the price lists, but neither NaN nor invoices
CALL pg_temp.hostile('repairsys_admin', 'write an invoice by hand', format($$INSERT INTO repairsys.invoice (ticket_id, total) VALUES (%s, 0)$$, :t_res));
CALL pg_temp.hostile('repairsys_admin', 'write an installment by hand', format($$INSERT INTO repairsys.installment (invoice_id, seq, due_on, amount) VALUES (%s, 1, '2030-01-31', 1)$$, :inv_a));
CALL pg_temp.hostile('repairsys_admin', 'record a payment over the balance', format($$INSERT INTO repairsys.payment (invoice_id, method, amount, idempotency_key) VALUES (%s, 'cash', 100000, 'a1')$$, :inv_a));
CALL pg_temp.hostile('repairsys_admin', 'set a NaN complexity factor', $$UPDATE repairsys.complexity_rule SET factor = 'NaN' WHERE level = 2$$);
CALL pg_temp.hostile('repairsys_admin', 'set a NaN urgency surcharge', $$UPDATE repairsys.urgency_rule SET surcharge_pct = 'NaN' WHERE urgency = 'urgent'$$);
CALL pg_temp.hostile('repairsys_admin', 'set a NaN call-out fee', $$UPDATE repairsys.service_type SET callout_fee = 'NaN'$$);
CALL pg_temp.hostile('repairsys_admin', 'set NaN estimated minutes', $$UPDATE repairsys.service_type SET est_minutes_high = 'NaN'$$);
CALL pg_temp.hostile('repairsys_admin', 'set a NaN part price', $$UPDATE repairsys.part SET unit_price = 'NaN'$$);
CALL pg_temp.hostile('repairsys_admin', 'set a NaN part cost', $$UPDATE repairsys.part SET unit_cost = 'NaN'$$);
CALL pg_temp.hostile('repairsys_admin', 'set a NaN hourly cost', $$UPDATE repairsys.technician SET hourly_cost = 'NaN'$$);
CALL pg_temp.hostile('repairsys_admin', 'set a NaN purchase price', $$UPDATE repairsys.asset SET purchase_price = 'NaN' WHERE id = 1$$);
CALL pg_temp.hostile('repairsys_admin', 'set an infinite warranty', $$UPDATE repairsys.asset SET warranty_until = 'infinity' WHERE id = 3$$);
CALL pg_temp.hostile('repairsys_admin', 'set a NaN assignment weight', $$UPDATE repairsys.assign_policy SET w_skill = 'NaN'$$);
CALL pg_temp.hostile('repairsys_admin', 'set an infinite assignment distance', $$UPDATE repairsys.assign_policy SET max_distance_km = 'Infinity'$$);
CALL pg_temp.hostile('repairsys_admin', 'receive parts at a NaN cost', $$SELECT repairsys.receive_part('WM-1', 1, 1, 'NaN')$$);
CALL pg_temp.hostile('repairsys_admin', 'change the snapshot of an approved ticket', format($$UPDATE repairsys.ticket SET price_callout_fee = 0 WHERE id = %s$$, :t_work));

-- auditor: writes nothing
CALL pg_temp.hostile('repairsys_auditor', 'pay an invoice', format($$INSERT INTO repairsys.payment (invoice_id, method, amount, idempotency_key) VALUES (%s, 'cash', 1, 'u1')$$, :inv_a));
CALL pg_temp.hostile('repairsys_auditor', 'give a discount', format($$INSERT INTO repairsys.ticket_discount (ticket_id, description, amount) VALUES (%s, 'x', 1)$$, :t_res));

SELECT n, who, attempt, outcome, unchanged, invariants, audit FROM tried ORDER BY n;
SELECT who, count(*) AS tried, count(*) FILTER (WHERE outcome <> 'ACCEPTED') AS refused,
       count(*) FILTER (WHERE unchanged) AS nothing_written, sum(invariants) AS invariants, sum(audit) AS audit
  FROM tried GROUP BY who ORDER BY who;

-- What the rules still let through, and how.
-- A key is per invoice: customer b may use customer a's key (it tells them nothing).
SET ROLE wm_cust_b;
SELECT record_payment(:inv_b, 'card', 1.00, 'key-1') > 0 AS b_pays_with_the_same_key;
RESET ROLE;
-- The dispatcher issues invoices and plans installments through the functions.
SET ROLE repairsys_dispatcher;
SELECT issue_invoice(:t_res) > 0 AS invoiced;
SELECT count(*) AS installments, sum(amount) = (SELECT total - 15 FROM invoice WHERE id = :inv_a) AS sum_is_balance
  FROM plan_installments(:inv_a, 3, '2030-01-31');
-- a discount within the bill
INSERT INTO ticket_discount (ticket_id, description, amount) VALUES (:t_work, 'goodwill', 5);
RESET ROLE;
-- A part added by the technician to a warranty ticket is covered whatever the row says.
SELECT pg_temp.ticket(1, 2, 'new') AS t_warr \gset
UPDATE ticket SET status = 'assigned', technician_id = 1 WHERE id = :t_warr;
SET ROLE wm_tech;
INSERT INTO ticket_part (ticket_id, sku, service_center_id, qty, unit_price) VALUES (:t_warr, 'WM-1', 1, 1, 10);
SELECT covered AS warranty_part_covered FROM ticket_part WHERE ticket_id = :t_warr;
-- Before the bill is agreed the technician may void the warranty: the part's coverage follows.
UPDATE ticket SET warranty_void = true WHERE id = :t_warr;
SELECT covered AS covered_after_void FROM ticket_part WHERE ticket_id = :t_warr;
RESET ROLE;
SELECT count(*) AS invariants FROM check_invariants();
SELECT count(*) AS audit FROM billing_audit;

\connect :regdb
SET client_min_messages = warning;
DROP DATABASE repairsys_write_money;
DROP ROLE wm_cust_a;
DROP ROLE wm_cust_b;
DROP ROLE wm_tech;
