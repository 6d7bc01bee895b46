-- pgTAP: what each role may NOT read stays unread (DESIGN 11, docs/security.md,
-- issue 15 item 7): through tables, views, functions (SECURITY DEFINER ones
-- above all), sequences and error messages, for a technician, a customer, a
-- dispatcher, an auditor and a role with no grant at all.  The write suite
-- (security_matrix.sql) says who may change what; this one looks for leaks.
--
-- Round 1 leaked through repairsys.check_guard(text, ticket): SECURITY
-- DEFINER, callable by technicians, fed a row of the caller's making
-- (jsonb_populate_record(NULL::repairsys.ticket, '{"id": 7}')), it named any
-- customer's invoice and balance, and by stepping opened_at any asset's
-- warranty_until; a technician's own failed closing named the invoice number
-- and balance; identity sequences told last_value.  Dates are pinned.
BEGIN;
SELECT plan(46);

-- What pg_sequence_last_value() tells the current role: 'refused' (42501,
-- PostgreSQL 15 and 17) or 'hidden' (NULL: 18 returns NULL to a role without
-- the privilege), else the value it leaks.
CREATE FUNCTION pg_temp.peek_last_value(seq text) RETURNS text LANGUAGE plpgsql AS $f$
DECLARE
	v bigint;
BEGIN
	v := pg_sequence_last_value(seq::regclass);
	RETURN coalesce(v::text, 'hidden');
EXCEPTION WHEN insufficient_privilege THEN
	RETURN 'refused';
END
$f$;
SET LOCAL client_min_messages = warning;

CREATE ROLE tap_r_tech_a IN ROLE repairsys_technician;
CREATE ROLE tap_r_tech_b IN ROLE repairsys_technician;
CREATE ROLE tap_r_cust_x IN ROLE repairsys_customer;
CREATE ROLE tap_r_cust_y IN ROLE repairsys_customer;
CREATE ROLE tap_r_disp IN ROLE repairsys_dispatcher;
CREATE ROLE tap_r_aud IN ROLE repairsys_auditor;
CREATE ROLE tap_r_nobody;

-- Two customers, each with an asset, a ticket worked by their own technician,
-- resolved, invoiced and partly paid.  Y's asset is under warranty until a
-- pinned date; X's ticket is billable.
INSERT INTO repairsys.service_center (name, time_zone) VALUES ('reads center', 'UTC');
INSERT INTO repairsys.technician (name, db_role) VALUES ('reads tech a', 'tap_r_tech_a'), ('reads tech b', 'tap_r_tech_b');
INSERT INTO repairsys.customer (name, db_role) VALUES ('reads cust x', 'tap_r_cust_x'), ('reads cust y', 'tap_r_cust_y');
INSERT INTO repairsys.asset (customer_id, model, serial_no, purchased_at, warranty_until)
	SELECT id, 'reads model', name, date '2020-01-01', CASE WHEN name = 'reads cust y' THEN date '2020-06-30' END
	  FROM repairsys.customer WHERE name LIKE 'reads cust %';
INSERT INTO repairsys.service_type (code, name, labor_fee) VALUES ('reads_st', 'reads test', '0+:2.00');
CREATE TEMP TABLE p AS SELECT
	(SELECT id FROM repairsys.service_center WHERE name = 'reads center') AS center,
	(SELECT id FROM repairsys.technician WHERE name = 'reads tech a') AS tech_a,
	(SELECT id FROM repairsys.technician WHERE name = 'reads tech b') AS tech_b,
	(SELECT id FROM repairsys.customer WHERE name = 'reads cust x') AS cust_x,
	(SELECT id FROM repairsys.customer WHERE name = 'reads cust y') AS cust_y,
	(SELECT a.id FROM repairsys.asset a JOIN repairsys.customer c ON c.id = a.customer_id WHERE c.name = 'reads cust x') AS asset_x,
	(SELECT a.id FROM repairsys.asset a JOIN repairsys.customer c ON c.id = a.customer_id WHERE c.name = 'reads cust y') AS asset_y;
ALTER TABLE p ADD ticket_x bigint, ADD ticket_y bigint, ADD inv_x bigint, ADD inv_y bigint;
UPDATE p SET ticket_x = repairsys.open_ticket(cust_x, 'reads_st', 'x broken', asset_id => asset_x),
             ticket_y = repairsys.open_ticket(cust_y, 'reads_st', 'y broken', asset_id => asset_y);
UPDATE repairsys.ticket t SET technician_id = p.tech_a, status = 'assigned', service_center_id = p.center FROM p WHERE t.id = p.ticket_x;
UPDATE repairsys.ticket t SET technician_id = p.tech_b, status = 'assigned', service_center_id = p.center FROM p WHERE t.id = p.ticket_y;
CREATE TEMP TABLE approved AS SELECT (repairsys.approve_estimate(ticket_x)).low_total AS x, (repairsys.approve_estimate(ticket_y)).low_total AS y FROM p;
UPDATE repairsys.ticket t SET status = 'in_progress' FROM p WHERE t.id IN (p.ticket_x, p.ticket_y);
UPDATE repairsys.ticket t SET labor_minutes = 45 FROM p WHERE t.id IN (p.ticket_x, p.ticket_y);
UPDATE repairsys.ticket t SET status = 'resolved' FROM p WHERE t.id IN (p.ticket_x, p.ticket_y);
UPDATE p SET inv_x = repairsys.issue_invoice(ticket_x), inv_y = repairsys.issue_invoice(ticket_y);
CREATE TEMP TABLE paid AS SELECT repairsys.record_payment(inv_x, 'cash', 10.00, 'reads-x') AS x, repairsys.record_payment(inv_y, 'cash', 10.00, 'reads-y') AS y FROM p;
ALTER TABLE p ADD seq_invoice text, ADD seq_customer text, ADD seq_payment text, ADD seq_ticket text;
UPDATE p SET seq_invoice = pg_get_serial_sequence('repairsys.invoice', 'id'),
             seq_customer = pg_get_serial_sequence('repairsys.customer', 'id'),
             seq_payment = pg_get_serial_sequence('repairsys.payment', 'id'),
             seq_ticket = pg_get_serial_sequence('repairsys.ticket', 'id');
GRANT SELECT ON p TO PUBLIC;

-- a ticket row of the caller's making, naming the other customer's ticket
CREATE FUNCTION pg_temp.made_up(ticket_id bigint, asset_id bigint DEFAULT NULL, opened date DEFAULT NULL)
RETURNS repairsys.ticket LANGUAGE sql AS $$
	SELECT jsonb_populate_record(NULL::repairsys.ticket,
		jsonb_strip_nulls(jsonb_build_object('id', ticket_id, 'asset_id', asset_id, 'opened_at', opened::timestamptz)))
$$;

-- 1. catalog: no door left open
-- (which SECURITY DEFINER functions the roles may call is the documented
-- list of security_matrix.sql; here: none of them hands out rows the caller
-- may not read)
SELECT is_empty($$SELECT p.oid::regprocedure, r.rolname FROM pg_proc p
                   JOIN pg_type ty ON ty.oid = p.prorettype AND ty.typrelid <> 0
                   CROSS JOIN pg_roles r
                   WHERE p.pronamespace = 'repairsys'::regnamespace AND p.prosecdef
                     AND r.rolname IN ('repairsys_admin', 'repairsys_dispatcher', 'repairsys_technician',
                                       'repairsys_customer', 'repairsys_auditor', 'tap_r_nobody')
                     AND has_function_privilege(r.oid, p.oid, 'EXECUTE')
                     AND NOT has_table_privilege(r.oid, ty.typrelid, 'SELECT')$$,
                'no SECURITY DEFINER function a role may call returns rows of a table the role may not read');
SELECT is_empty($$SELECT p.oid::regprocedure FROM pg_proc p
                   CROSS JOIN LATERAL unnest(p.proargtypes::oid[]) AS a(t)
                   JOIN pg_type ty ON ty.oid = a.t AND ty.typrelid <> 0
                   WHERE p.pronamespace = 'repairsys'::regnamespace AND p.prosecdef$$,
                'no SECURITY DEFINER function takes a row');
SELECT is_empty($$SELECT c.oid::regclass, r.rolname, priv FROM pg_class c
                   CROSS JOIN pg_roles r CROSS JOIN unnest(ARRAY['USAGE', 'SELECT', 'UPDATE']) AS priv
                   WHERE c.relnamespace = 'repairsys'::regnamespace AND c.relkind = 'S'
                     AND r.rolname IN ('repairsys_admin', 'repairsys_dispatcher', 'repairsys_technician',
                                       'repairsys_customer', 'repairsys_auditor', 'tap_r_nobody')
                     AND has_sequence_privilege(r.oid, c.oid, priv)$$,
                'no role holds a privilege on a sequence of the extension');
SELECT is_empty($$SELECT p.oid::regprocedure, g.rolname FROM pg_proc p
                   CROSS JOIN LATERAL aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a
                   LEFT JOIN pg_roles g ON g.oid = a.grantee
                   WHERE p.pronamespace = 'repairsys'::regnamespace
                     AND (p.proname = 'check_guard' OR p.proname LIKE 'guard\_%')
                     AND a.grantee <> p.proowner$$,
                'only the owner executes check_guard and the guard functions');

-- 2. technician a: own ticket only; the other customer's bill, invoice and
-- warranty stay unread
SET LOCAL ROLE tap_r_tech_a;
SELECT throws_ok($$SELECT repairsys.check_guard('settled', pg_temp.made_up((SELECT ticket_y FROM p)))$$, '42501', NULL,
                 'technician: check_guard with a made-up row of another customer''s ticket is refused');
SELECT throws_ok($$SELECT repairsys.check_guard('settled', t) FROM repairsys.ticket t$$, '42501', NULL,
                 'technician: check_guard even on an own ticket is refused');
SELECT throws_ok($$SELECT repairsys.guard_settled(pg_temp.made_up((SELECT ticket_y FROM p)))$$, '42501', NULL,
                 'technician: guard_settled is refused');
SELECT throws_ok($$SELECT repairsys.guard_estimate_approved(pg_temp.made_up((SELECT ticket_y FROM p), (SELECT asset_y FROM p), date '2020-06-30'))$$, '42501', NULL,
                 'technician: guard_estimate_approved is refused');
SELECT is((SELECT count(*) FILTER (WHERE repairsys.under_warranty(pg_temp.made_up(ticket_y, asset_y, d::date)))
             FROM p CROSS JOIN generate_series(date '2020-06-01', date '2020-07-31', interval '1 day') AS d),
          0::bigint,
          'technician: under_warranty of a made-up row with another customer''s asset answers false on every date (the asset is unseen)');
SELECT throws_ok('SELECT * FROM repairsys.invoice', '42501', NULL, 'technician: invoices are unreadable');
SELECT throws_ok('SELECT * FROM repairsys.payment', '42501', NULL, 'technician: payments are unreadable');
SELECT throws_ok('SELECT * FROM repairsys.bill_summary', '42501', NULL, 'technician: bill_summary is unreadable');
SELECT is((SELECT count(*) FROM repairsys.asset), 1::bigint, 'technician: only the asset of their ticket');
SELECT throws_ok(format($$UPDATE repairsys.ticket SET status = 'closed' WHERE id = %s$$, ticket_x), '23514',
                 format('guard "settled" failed for ticket %s: the ticket''s invoice is not fully paid', ticket_x),
                 'technician: closing an own unpaid ticket names what is missing, not the invoice or its balance')
  FROM p;
SELECT throws_ok(format('SELECT last_value FROM %s', seq_invoice), '42501', NULL,
                 'technician: last_value of the invoice ids is unreadable') FROM p;
SELECT throws_ok(format('SELECT last_value FROM %s', seq_customer), '42501', NULL,
                 'technician: last_value of the customer ids is unreadable') FROM p;
SELECT ok(pg_temp.peek_last_value(seq_invoice) IN ('refused', 'hidden'),
          'technician: pg_sequence_last_value of the invoice ids is refused or NULL') FROM p;
SELECT throws_ok(format('SELECT nextval(%L)', seq_invoice), '42501', NULL,
                 'technician: cannot burn invoice ids with nextval') FROM p;
SELECT is((SELECT count(*) FROM pg_sequences WHERE schemaname = 'repairsys' AND last_value IS NOT NULL), 0::bigint,
          'technician: pg_sequences shows no last_value of the extension');
RESET ROLE;
SET LOCAL ROLE tap_r_tech_b;
SELECT throws_ok(format($$UPDATE repairsys.ticket SET status = 'closed' WHERE id = %s$$, ticket_y), '23514',
                 format('guard "settled" failed for ticket %s: the ticket''s invoice is not fully paid', ticket_y),
                 'technician b: the same words for their own ticket')
  FROM p;
RESET ROLE;

-- 3. customer x: own ticket, invoice, payments; nothing of y's
SET LOCAL ROLE tap_r_cust_x;
SELECT results_eq('SELECT id FROM repairsys.invoice', 'SELECT inv_x FROM p', 'customer: only their own invoice');
SELECT results_eq('SELECT DISTINCT ticket_id FROM repairsys.bill_summary', 'SELECT ticket_x FROM p', 'customer: bill_summary of their own ticket only');
SELECT is((SELECT count(*) FROM repairsys.ticket_event e, p WHERE e.ticket_id = p.ticket_y), 0::bigint, 'customer: none of the other ticket''s history');
SELECT throws_ok($$SELECT repairsys.check_guard('settled', pg_temp.made_up((SELECT ticket_y FROM p)))$$, '42501', NULL,
                 'customer: check_guard is refused');
SELECT is((SELECT count(*) FILTER (WHERE repairsys.under_warranty(pg_temp.made_up(ticket_y, asset_y, d::date)))
             FROM p CROSS JOIN generate_series(date '2020-06-01', date '2020-07-31', interval '1 day') AS d),
          0::bigint, 'customer: under_warranty of another customer''s asset answers false on every date');
SELECT throws_ok(format('SELECT nextval(%L)', seq_payment), '42501', NULL,
                 'customer: cannot burn payment ids with nextval') FROM p;
SELECT throws_ok('SELECT * FROM repairsys.technician', '42501', NULL, 'customer: technicians are unreadable');
SELECT throws_ok('SELECT * FROM repairsys.follow_up', '42501', NULL, 'customer: follow-ups are unreadable');
RESET ROLE;

-- 4. dispatcher: reads every bill, yet calls no guard and holds no sequence
SET LOCAL ROLE tap_r_disp;
SELECT is((SELECT count(*) FROM repairsys.invoice i, p WHERE i.id IN (p.inv_x, p.inv_y)), 2::bigint, 'dispatcher: reads every invoice');
SELECT throws_ok($$SELECT repairsys.check_guard('settled', pg_temp.made_up((SELECT ticket_y FROM p)))$$, '42501', NULL,
                 'dispatcher: check_guard is refused (only the life-cycle trigger calls it)');
SELECT throws_ok(format('SELECT nextval(%L)', seq_ticket), '42501', NULL,
                 'dispatcher: cannot burn ticket ids with nextval') FROM p;
SELECT throws_ok(format('SELECT last_value FROM %s', seq_invoice), '42501', NULL,
                 'dispatcher: no sequence privilege is needed, none is held') FROM p;
SELECT lives_ok($$INSERT INTO repairsys.customer (name) VALUES ('reads new customer')$$,
                'dispatcher: an INSERT drawing an identity id needs no privilege on its sequence');
SELECT lives_ok($$SELECT repairsys.open_ticket((SELECT cust_x FROM p), 'reads_st', 'opened by the dispatcher')$$,
                'dispatcher: opening a ticket (ticket and history ids) needs no privilege on a sequence');
SELECT throws_ok(format($$UPDATE repairsys.ticket SET status = 'closed' WHERE id = %s$$, ticket_x), '23514',
                 format('guard "settled" failed for ticket %s: the ticket''s invoice is not fully paid', ticket_x),
                 'dispatcher: the same words (the figures are in invoice and bill_summary, which the dispatcher reads)')
  FROM p;
RESET ROLE;

-- 5. auditor: reads everything, calls no guard, holds no sequence
SET LOCAL ROLE tap_r_aud;
SELECT is((SELECT count(*) FROM repairsys.payment x, p WHERE x.invoice_id IN (p.inv_x, p.inv_y)), 2::bigint, 'auditor: reads every payment');
SELECT throws_ok($$SELECT repairsys.check_guard('settled', pg_temp.made_up((SELECT ticket_y FROM p)))$$, '42501', NULL,
                 'auditor: check_guard is refused');
SELECT throws_ok(format('SELECT nextval(%L)', seq_invoice), '42501', NULL,
                 'auditor: cannot burn invoice ids with nextval') FROM p;
SELECT ok(pg_temp.peek_last_value(seq_customer) IN ('refused', 'hidden'),
          'auditor: pg_sequence_last_value is refused or NULL') FROM p;
RESET ROLE;

-- 6. a role with no grant at all
SET LOCAL ROLE tap_r_nobody;
SELECT throws_ok('SELECT * FROM repairsys.ticket', '42501', NULL, 'no grants: tickets are unreadable');
SELECT throws_ok('SELECT * FROM repairsys.bill_summary', '42501', NULL, 'no grants: views are unreadable');
SELECT throws_ok($$SELECT repairsys.check_guard('settled', NULL::record)$$, '42501', NULL, 'no grants: functions are unreachable');
SELECT throws_ok(format('SELECT nextval(%L)', seq_invoice), '42501', NULL,
                 'no grants: cannot burn invoice ids with nextval') FROM p;
SELECT throws_ok(format('SELECT last_value FROM %s', seq_customer), '42501', NULL,
                 'no grants: last_value of the customer ids is unreadable') FROM p;
SELECT throws_ok('SELECT * FROM repairsys.security_audit', '42501', NULL, 'no grants: the security audit is unreadable');
SELECT lives_ok($$SELECT pg_notify('repairsys_events', '1')$$,
                'no grants: a fake repairsys_events notification can be sent (so payloads carry nothing: docs/security.md)');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
