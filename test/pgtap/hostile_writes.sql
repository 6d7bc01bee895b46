-- pgTAP: hostile writes.  A catalogue of plain INSERT / UPDATE / DELETE
-- statements (and calls) that a careless or hostile application could send as
-- each role, on a demo company; every one must be refused with the SQLSTATE
-- given (or, where row-level security hides the target, change nothing:
-- 'noop').  After each attempt: no table changed (row count and md5 of every
-- table of the extension) and check_invariants() and billing_audit are empty.
BEGIN;
SET LOCAL client_min_messages = warning;
SET LOCAL TimeZone = 'UTC';

-- the company, and a login-less role for each kind of user, mapped to people
CREATE TEMP TABLE loaded AS SELECT repairsys.demo_load(60, 7) AS tickets;
CREATE ROLE tap_hw_admin IN ROLE repairsys_admin;
CREATE ROLE tap_hw_disp IN ROLE repairsys_dispatcher;
CREATE ROLE tap_hw_tech IN ROLE repairsys_technician;
CREATE ROLE tap_hw_cust IN ROLE repairsys_customer;
CREATE ROLE tap_hw_aud IN ROLE repairsys_auditor;
-- (the whole file is one transaction, in which the demo's first price
-- versions take effect at now(): still the transaction's own to replace.
-- A version of the same prices in force since 2020, written by the table
-- owner as an import would, is history that nobody may rewrite.)
INSERT INTO repairsys.service_price (service_type, effective_from, labor_fee, travel_fee, callout_fee, created_at)
SELECT code, '2020-01-01 00:00+00', labor_fee, travel_fee, callout_fee, '2020-01-01 00:00+00' FROM repairsys.service_type;

-- the ids the statements aim at
CREATE TEMP TABLE hw AS
WITH inv AS (
	SELECT i.id AS invoice_id, t.id AS ticket_id, t.customer_id, b.balance, b.total
	  FROM repairsys.invoice i JOIN repairsys.ticket t ON t.id = i.ticket_id
	  JOIN repairsys.bill_summary b ON b.ticket_id = t.id
	 WHERE b.balance > 0
	 ORDER BY i.id LIMIT 1)
SELECT inv.invoice_id, inv.ticket_id AS invoiced_ticket, inv.customer_id AS cust, inv.balance, inv.total,
       (SELECT i.id FROM repairsys.invoice i JOIN repairsys.ticket t ON t.id = i.ticket_id
         WHERE t.customer_id <> inv.customer_id ORDER BY i.id LIMIT 1) AS other_invoice,
       (SELECT t.id FROM repairsys.ticket t WHERE t.customer_id <> inv.customer_id ORDER BY t.id LIMIT 1) AS other_ticket,
       (SELECT a.id FROM repairsys.asset a WHERE a.customer_id <> inv.customer_id AND a.warranty_until > '2100-01-01'::date - 36500
         ORDER BY a.warranty_until DESC, a.id LIMIT 1) AS other_asset
  FROM inv;
-- a technician with an open ticket of his own, out of warranty
ALTER TABLE hw ADD tech bigint, ADD tech_ticket bigint, ADD closed_ticket bigint, ADD inactive_tech bigint, ADD full_tech bigint,
               ADD new_ticket bigint, ADD resolved_ticket bigint;
UPDATE hw SET (tech, tech_ticket) = (
	SELECT t.technician_id, t.id FROM repairsys.ticket t JOIN repairsys.ticket_status s ON s.code = t.status
	 WHERE t.technician_id IS NOT NULL AND NOT s.is_terminal AND t.status IN ('assigned', 'in_progress')
	   AND NOT repairsys.under_warranty(t)
	 ORDER BY t.id LIMIT 1);
-- (a part reserved on the technician's ticket, for the coverage attempts)
CREATE TEMP TABLE reserved AS
SELECT repairsys.reserve_part(t.id, st.sku, 1) AS line
  FROM hw JOIN repairsys.ticket t ON t.id = hw.tech_ticket
  CROSS JOIN LATERAL (SELECT s.sku FROM repairsys.stock s
                       WHERE s.service_center_id = t.service_center_id AND s.on_hand - s.reserved > 0
                       ORDER BY s.sku LIMIT 1) st;
UPDATE hw SET closed_ticket = (SELECT t.id FROM repairsys.ticket t WHERE t.status = 'closed' ORDER BY t.id LIMIT 1),
              resolved_ticket = (SELECT t.id FROM repairsys.ticket t WHERE t.status IN ('resolved', 'closed')
                                    AND t.estimate_approved_at IS NOT NULL ORDER BY t.id LIMIT 1);
UPDATE repairsys.customer c SET db_role = 'tap_hw_cust' FROM hw WHERE c.id = hw.cust;
UPDATE repairsys.technician x SET db_role = 'tap_hw_tech' FROM hw WHERE x.id = hw.tech;
-- an inactive technician, a full one, and a new ticket of the customer
INSERT INTO repairsys.technician (name, service_center_id, active)
	SELECT 'hw inactive', service_center_id, false FROM repairsys.ticket t, hw WHERE t.id = hw.tech_ticket;
INSERT INTO repairsys.technician (name, service_center_id, capacity)
	SELECT 'hw full', service_center_id, 0 FROM repairsys.ticket t, hw WHERE t.id = hw.tech_ticket;
UPDATE hw SET inactive_tech = (SELECT id FROM repairsys.technician WHERE name = 'hw inactive'),
              full_tech = (SELECT id FROM repairsys.technician WHERE name = 'hw full'),
              new_ticket = repairsys.open_ticket(hw.cust, (SELECT code FROM repairsys.service_type ORDER BY code LIMIT 1), 'hw new');
-- a booked visit of the technician (as a restore writes it: booked_at in the
-- past) for a new ticket of the customer, inside his round-the-clock roster
ALTER TABLE hw ADD visit_ticket bigint;
UPDATE hw SET visit_ticket = repairsys.open_ticket(hw.cust, (SELECT code FROM repairsys.service_type ORDER BY code LIMIT 1), 'hw visit');
INSERT INTO repairsys.technician_roster (technician_id, calendar, valid_from) SELECT tech, 'mon-sun 00:00-24:00 UTC', '2030-01-01' FROM hw;
INSERT INTO repairsys.appointment (ticket_id, technician_id, slot_start, slot_end, booked_at)
	SELECT visit_ticket, tech, '2030-03-04 10:00+00', '2030-03-04 12:00+00', '2029-01-01' FROM hw;
GRANT SELECT ON hw TO PUBLIC;
-- a discount the dispatcher asked for above their approval limit (half the
-- bill of the customer's new ticket: pending)
ALTER TABLE hw ADD pending_discount bigint;
SET LOCAL ROLE tap_hw_disp;
INSERT INTO repairsys.ticket_discount (ticket_id, description, amount)
	SELECT t.id, 'hw pending', round(repairsys.discount_basis(t) / 2, 2) FROM repairsys.ticket t
	 WHERE t.id = (SELECT new_ticket FROM hw);
RESET ROLE;
UPDATE hw SET pending_discount = (SELECT id FROM repairsys.ticket_discount WHERE description = 'hw pending' AND status = 'pending');


-- Row count and content checksum of every table of the extension.
CREATE FUNCTION pg_temp.fingerprint() RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	r record;
	acc text := '';
	h text;
BEGIN
	FOR r IN SELECT c.oid::regclass AS rel FROM pg_class c
	          WHERE c.relnamespace = 'repairsys'::regnamespace AND c.relkind IN ('r', 'p') ORDER BY c.relname LOOP
		EXECUTE format('SELECT count(*) || '':'' || coalesce(md5(string_agg(x::text, ''|'' ORDER BY x::text)), '''') FROM %s x', r.rel)
		   INTO h;
		acc := acc || r.rel || '=' || h || ';';
	END LOOP;
	RETURN md5(acc);
END
$$;

-- Runs a statement as a role in a subtransaction and reports what happened:
-- its SQLSTATE ('ok' when it ran), whether any table changed, and how many
-- rows check_invariants() and billing_audit show then; the subtransaction is
-- always rolled back, so no attempt sees what an earlier one did.
CREATE FUNCTION pg_temp.attempt(r name, stmt text, base text, OUT got text, OUT wrote boolean, OUT invariants int, OUT audit int)
LANGUAGE plpgsql AS $$
BEGIN
	BEGIN
		EXECUTE format('SET LOCAL ROLE %I', r);
		BEGIN
			EXECUTE stmt;
			got := 'ok';
		EXCEPTION WHEN OTHERS THEN
			got := SQLSTATE;
		END;
		RESET ROLE;
		wrote := pg_temp.fingerprint() <> base;
		-- (a read that fails because of what was written counts as -1)
		BEGIN
			invariants := (SELECT count(*) FROM repairsys.check_invariants());
		EXCEPTION WHEN OTHERS THEN
			invariants := -1;
		END;
		BEGIN
			audit := (SELECT count(*) FROM repairsys.billing_audit);
		EXCEPTION WHEN OTHERS THEN
			audit := -1;
		END;
		RAISE EXCEPTION USING ERRCODE = 'RSHW0';	-- undo whatever it did
	EXCEPTION WHEN SQLSTATE 'RSHW0' THEN
		NULL;
	END;
END
$$;

-- The catalogue: role, what is tried, the statement, the SQLSTATE it must fail
-- with ('noop': it must run and change nothing).
CREATE TEMP TABLE attempt (n serial, role name, what text, stmt text, want text);
INSERT INTO attempt (role, what, stmt, want) VALUES
-- customer
('tap_hw_cust', 'pays more than the balance by plain INSERT',
 $$INSERT INTO repairsys.payment (invoice_id, method, amount, idempotency_key) SELECT invoice_id, 'wechat', balance + 1, 'hw-1' FROM hw$$, '23514'),
('tap_hw_cust', 'pays NaN by plain INSERT',
 $$INSERT INTO repairsys.payment (invoice_id, method, amount, idempotency_key) SELECT invoice_id, 'wechat', 'NaN', 'hw-2' FROM hw$$, '23514'),
('tap_hw_cust', 'pays the balance twice in one statement',
 $$INSERT INTO repairsys.payment (invoice_id, method, amount, idempotency_key) SELECT invoice_id, 'wechat', balance, k FROM hw, unnest(ARRAY['hw-3a', 'hw-3b']) k$$, '23514'),
('tap_hw_cust', 'pays another customer''s invoice',
 $$INSERT INTO repairsys.payment (invoice_id, method, amount, idempotency_key) SELECT other_invoice, 'wechat', 0.01, 'hw-4' FROM hw$$, '42501'),
('tap_hw_cust', 'approves another customer''s estimate',
 $$UPDATE repairsys.ticket SET estimate_approved_at = now() WHERE id = (SELECT other_ticket FROM hw)$$, 'noop'),
('tap_hw_cust', 'approves a discount on their own ticket',
 $$UPDATE repairsys.ticket_discount SET status = 'approved' WHERE id = (SELECT pending_discount FROM hw)$$, '42501'),
('tap_hw_cust', 'approves a discount on their own ticket through approve_discount',
 $$SELECT repairsys.approve_discount(pending_discount) FROM hw$$, '42501'),
('tap_hw_cust', 'records labor on their own ticket',
 $$UPDATE repairsys.ticket SET labor_minutes = 1 WHERE id = (SELECT new_ticket FROM hw)$$, '42501'),
('tap_hw_cust', 'rates a ticket that is not resolved',
 $$INSERT INTO repairsys.feedback (ticket_id, rating) SELECT new_ticket, 1 FROM hw$$, '23514'),
('tap_hw_cust', 'writes an invoice',
 $$INSERT INTO repairsys.invoice (invoice_no, ticket_id, total) SELECT 'HW-1', new_ticket, 0 FROM hw$$, '42501'),
('tap_hw_cust', 'opens a recall',
 $$SELECT repairsys.open_recall('Gree KFR-35', 'A', 'Z', (SELECT min(code) FROM repairsys.service_type), 'hw')$$, '42501'),
('tap_hw_cust', 'lowers a budget',
 $$DELETE FROM repairsys.budget$$, '42501'),
('tap_hw_cust', 'removes a payment',
 $$DELETE FROM repairsys.payment$$, '42501'),
('tap_hw_cust', 'books a visit naming the technician',
 $$INSERT INTO repairsys.appointment (ticket_id, technician_id, slot_start, slot_end) SELECT visit_ticket, tech, '2030-03-05 10:00+00', '2030-03-05 12:00+00' FROM hw$$, '42501'),
('tap_hw_cust', 'books a visit for another customer''s ticket',
 $$INSERT INTO repairsys.appointment (ticket_id, slot_start, slot_end) SELECT other_ticket, '2030-03-05 10:00+00', '2030-03-05 12:00+00' FROM hw$$, '42501'),
('tap_hw_cust', 'marks their visit done without an arrival',
 $$UPDATE repairsys.appointment SET state = 'done' WHERE ticket_id = (SELECT visit_ticket FROM hw)$$, '23514'),
('tap_hw_cust', 'moves their visit by plain UPDATE',
 $$UPDATE repairsys.appointment SET slot_start = slot_start + interval '1 hour' WHERE ticket_id = (SELECT visit_ticket FROM hw)$$, '42501'),
('tap_hw_cust', 'stamps the arrival at their ticket',
 $$UPDATE repairsys.ticket SET arrived_at = now() WHERE id = (SELECT visit_ticket FROM hw)$$, '42501'),
('tap_hw_cust', 'writes an estimate revision by plain INSERT',
 $$INSERT INTO repairsys.estimate_revision (ticket_id, reason) SELECT new_ticket, 'hw' FROM hw$$, '42501'),
('tap_hw_cust', 'approves an estimate revision of another customer',
 $$UPDATE repairsys.estimate_revision SET approved_at = now() WHERE ticket_id = (SELECT other_ticket FROM hw)$$, 'noop'),
('tap_hw_cust', 'lowers the approved high of an estimate revision',
 $$UPDATE repairsys.estimate_revision SET high = 0$$, '42501'),
('tap_hw_cust', 'signs off another customer''s ticket',
 $$INSERT INTO repairsys.ticket_sign_off (ticket_id, signed_by) SELECT resolved_ticket, 'hw' FROM hw
    WHERE (SELECT customer_id FROM repairsys.ticket WHERE id = hw.resolved_ticket) <> hw.cust$$, 'noop'),
('tap_hw_cust', 'signs off with a hash of their own',
 $$INSERT INTO repairsys.ticket_sign_off (ticket_id, signed_by, bill_sha256, bill_total) SELECT invoiced_ticket, 'hw', sha256('x'), 0 FROM hw$$, '42501'),
-- technician
('tap_hw_tech', 'gives a discount on his own ticket',
 $$INSERT INTO repairsys.ticket_discount (ticket_id, description, amount) SELECT tech_ticket, 'hw', 1 FROM hw$$, '42501'),
('tap_hw_tech', 'approves a discount',
 $$SELECT repairsys.approve_discount(pending_discount) FROM hw$$, '42501'),
('tap_hw_tech', 'grants himself leave',
 $$INSERT INTO repairsys.technician_absence (technician_id, during, reason, status) SELECT tech, '[2030-03-10, 2030-03-11)', 'hw', 'approved' FROM hw$$, '42501'),
('tap_hw_tech', 'asks for leave for another technician',
 $$INSERT INTO repairsys.technician_absence (technician_id, during, reason) SELECT full_tech, '[2030-03-10, 2030-03-11)', 'hw' FROM hw$$, '42501'),
('tap_hw_tech', 'stamps an arrival in the past',
 $$UPDATE repairsys.ticket SET arrived_at = now() - interval '1 hour' WHERE id = (SELECT tech_ticket FROM hw)$$, '23514'),
('tap_hw_tech', 'writes his own roster',
 $$INSERT INTO repairsys.technician_roster (technician_id, calendar, valid_from) SELECT tech, 'mon-sun 00:00-24:00', '2030-01-01' FROM hw$$, '42501'),
('tap_hw_tech', 'mints 1000 parts with a return',
 $$INSERT INTO repairsys.stock_movement (sku, service_center_id, kind, qty, ticket_id)
   SELECT p.sku, t.service_center_id, 'return', 1000, t.id FROM repairsys.ticket t, repairsys.part p, hw WHERE t.id = hw.tech_ticket ORDER BY p.sku LIMIT 1$$, '23514'),
('tap_hw_tech', 'covers a part on an out-of-warranty ticket',
 $$UPDATE repairsys.ticket_part SET covered = true WHERE ticket_id = (SELECT tech_ticket FROM hw)$$, '428C9'),
('tap_hw_tech', 'adds a covered part to an out-of-warranty ticket',
 $$INSERT INTO repairsys.ticket_part (ticket_id, sku, service_center_id, qty, unit_price, covered)
   SELECT t.id, p.sku, t.service_center_id, 1, p.unit_price, true FROM repairsys.ticket t, repairsys.part p, hw WHERE t.id = hw.tech_ticket ORDER BY p.sku LIMIT 1$$, '428C9'),
('tap_hw_tech', 'records NaN minutes of labor',
 $$UPDATE repairsys.ticket SET labor_minutes = 'NaN' WHERE id = (SELECT tech_ticket FROM hw)$$, '23514'),
('tap_hw_tech', 'records NaN km of travel',
 $$UPDATE repairsys.ticket SET travel_km = 'NaN' WHERE id = (SELECT tech_ticket FROM hw)$$, '23514'),
('tap_hw_tech', 'reserves a part at a NaN price',
 $$INSERT INTO repairsys.ticket_part (ticket_id, sku, service_center_id, qty, unit_price)
   SELECT t.id, p.sku, t.service_center_id, 1, 'NaN' FROM repairsys.ticket t, repairsys.part p, hw WHERE t.id = hw.tech_ticket ORDER BY p.sku LIMIT 1$$, '428C9'),
('tap_hw_tech', 'hands the ticket to another technician',
 $$UPDATE repairsys.ticket SET technician_id = (SELECT full_tech FROM hw) WHERE id = (SELECT tech_ticket FROM hw)$$, '42501'),
('tap_hw_tech', 'opens a recall',
 $$SELECT repairsys.open_recall('Gree KFR-35', 'A', 'Z', (SELECT min(code) FROM repairsys.service_type), 'hw')$$, '42501'),
('tap_hw_tech', 'writes the history',
 $$INSERT INTO repairsys.ticket_event (ticket_id, to_status) SELECT tech_ticket, 'closed' FROM hw$$, '42501'),
('tap_hw_tech', 'writes an estimate revision with its own high',
 $$INSERT INTO repairsys.estimate_revision (ticket_id, reason, high) SELECT tech_ticket, 'hw', 100000 FROM hw$$, '42501'),
('tap_hw_tech', 'approves an estimate revision for the customer',
 $$UPDATE repairsys.estimate_revision SET approved_at = now() WHERE ticket_id = (SELECT tech_ticket FROM hw)$$, '42501'),
('tap_hw_tech', 'signs off a ticket that is not resolved',
 $$INSERT INTO repairsys.ticket_sign_off (ticket_id, signed_by) SELECT tech_ticket, 'hw' FROM hw$$, '23514'),
-- dispatcher
('tap_hw_disp', 'inserts a ticket with an approval and a zero price snapshot',
 $$INSERT INTO repairsys.ticket (customer_id, service_type, estimate_approved_at, price_labor_fee, price_callout_fee, approved_estimate_low, approved_estimate_high)
   SELECT cust, (SELECT code FROM repairsys.service_type ORDER BY code LIMIT 1), now(), '0+:0', 0, 0, 0 FROM hw$$, '428C9'),
('tap_hw_disp', 'points an approved ticket at another customer''s asset under warranty',
 $$UPDATE repairsys.ticket SET asset_id = (SELECT other_asset FROM hw) WHERE id = (SELECT resolved_ticket FROM hw)$$, '23514'),
('tap_hw_disp', 'moves an invoiced ticket to another customer',
 $$UPDATE repairsys.ticket SET customer_id = (SELECT customer_id FROM repairsys.ticket WHERE id = (SELECT other_ticket FROM hw)) WHERE id = (SELECT invoiced_ticket FROM hw)$$, '23514'),
('tap_hw_disp', 'writes an invoice by hand',
 $$INSERT INTO repairsys.invoice (invoice_no, ticket_id, total) SELECT 'HW-2', new_ticket, 0 FROM hw$$, '42501'),
('tap_hw_disp', 'writes an invoice line by hand',
 $$INSERT INTO repairsys.invoice_line (invoice_id, line_no, kind, description, amount) SELECT invoice_id, 99, 'labor', 'extra', -100 FROM hw$$, '42501'),
('tap_hw_disp', 'assigns an inactive technician by plain UPDATE',
 $$UPDATE repairsys.ticket SET technician_id = (SELECT inactive_tech FROM hw), status = 'assigned' WHERE id = (SELECT new_ticket FROM hw)$$, '23514'),
('tap_hw_disp', 'assigns a technician at capacity by plain UPDATE',
 $$UPDATE repairsys.ticket SET technician_id = (SELECT full_tech FROM hw), status = 'assigned' WHERE id = (SELECT new_ticket FROM hw)$$, '23514'),
('tap_hw_disp', 'sets a resolution deadline of infinity',
 $$UPDATE repairsys.ticket SET resolve_by = 'infinity' WHERE id = (SELECT new_ticket FROM hw)$$, '23514'),
('tap_hw_disp', 'opens a ticket in the year 2100',
 $$INSERT INTO repairsys.ticket (customer_id, service_type, opened_at) SELECT cust, (SELECT code FROM repairsys.service_type ORDER BY code LIMIT 1), '2100-01-01' FROM hw$$, '23514'),
('tap_hw_disp', 'grants a NaN discount',
 $$INSERT INTO repairsys.ticket_discount (ticket_id, description, amount) SELECT new_ticket, 'hw', 'NaN' FROM hw$$, '23514'),
('tap_hw_disp', 'approves its own discount above its approval limit by plain UPDATE',
 $$UPDATE repairsys.ticket_discount SET status = 'approved' WHERE id = (SELECT pending_discount FROM hw)$$, '42501'),
('tap_hw_disp', 'approves its own discount above its approval limit through approve_discount',
 $$SELECT repairsys.approve_discount(pending_discount) FROM hw$$, '42501'),
('tap_hw_disp', 'names who approved a discount',
 $$UPDATE repairsys.ticket_discount SET approved_by = 'tap_hw_admin', approved_at = now() WHERE id = (SELECT pending_discount FROM hw)$$, '42501'),
('tap_hw_disp', 'gives a discount marked approved',
 $$INSERT INTO repairsys.ticket_discount (ticket_id, description, amount, status) SELECT new_ticket, 'hw', 1, 'approved' FROM hw$$, '42501'),
('tap_hw_disp', 'raises its own approval limit',
 $$UPDATE repairsys.approval_limit SET max_amount = NULL, max_pct = NULL WHERE role = 'repairsys_dispatcher'$$, '42501'),
('tap_hw_disp', 'gives itself an approval limit',
 $$INSERT INTO repairsys.approval_limit (role, max_amount, max_pct) VALUES ('tap_hw_disp', NULL, NULL)$$, '42501'),
('tap_hw_disp', 'reserves a part on a closed ticket',
 $$SELECT repairsys.reserve_part(closed_ticket, (SELECT sku FROM repairsys.part ORDER BY sku LIMIT 1), 1) FROM hw$$, '23514'),
('tap_hw_disp', 'mints parts with a return of what was never issued',
 $$INSERT INTO repairsys.stock_movement (sku, service_center_id, kind, qty, ticket_id)
   SELECT p.sku, t.service_center_id, 'return', 1000, t.id FROM repairsys.ticket t, repairsys.part p, hw WHERE t.id = hw.new_ticket ORDER BY p.sku LIMIT 1$$, '23514'),
('tap_hw_disp', 'records a NaN payment',
 $$INSERT INTO repairsys.payment (invoice_id, method, amount, idempotency_key) SELECT invoice_id, 'cash', 'NaN', 'hw-5' FROM hw$$, '23514'),
('tap_hw_disp', 'books an overhead',
 $$INSERT INTO repairsys.overhead (service_center_id, month, cost_class, amount) SELECT min(id), '2027-01-01', 'rent', 1 FROM repairsys.service_center$$, '42501'),
('tap_hw_disp', 'raises a budget',
 $$UPDATE repairsys.budget SET amount = amount + 1000$$, '42501'),
('tap_hw_disp', 'writes a recall by hand',
 $$INSERT INTO repairsys.recall (model, serial_from, serial_to, service_type, reason) SELECT 'HW', 'A', 'B', min(code), 'hw' FROM repairsys.service_type$$, '42501'),
('tap_hw_disp', 'links a ticket to a recall by hand',
 $$INSERT INTO repairsys.recall_ticket (recall_id, asset_id, ticket_id) SELECT 1, other_asset, other_ticket FROM hw$$, '42501'),
('tap_hw_disp', 'opens a recall with serials in the wrong order',
 $$SELECT repairsys.open_recall('Gree KFR-35', 'Z', 'A', (SELECT min(code) FROM repairsys.service_type), 'hw')$$, '22023'),
('tap_hw_disp', 'books the technician twice at once by plain INSERT',
 $$INSERT INTO repairsys.appointment (ticket_id, technician_id, slot_start, slot_end) SELECT new_ticket, tech, '2030-03-04 11:00+00', '2030-03-04 13:00+00' FROM hw$$, '23514'),
('tap_hw_disp', 'approves an absence over a booked visit',
 $$INSERT INTO repairsys.technician_absence (technician_id, during, reason, status) SELECT tech, '[2030-03-04, 2030-03-05)', 'hw', 'approved' FROM hw$$, '23514'),
('tap_hw_disp', 'takes the roster from under a booked visit',
 $$DELETE FROM repairsys.technician_roster WHERE technician_id = (SELECT tech FROM hw)$$, '23514'),
('tap_hw_disp', 'books a visit that ends before it starts',
 $$INSERT INTO repairsys.appointment (ticket_id, slot_start, slot_end) SELECT new_ticket, '2030-03-05 12:00+00', '2030-03-05 10:00+00' FROM hw$$, '23514'),
('tap_hw_disp', 'books a visit that never ends',
 $$INSERT INTO repairsys.appointment (ticket_id, slot_start, slot_end) SELECT new_ticket, '2030-03-05 12:00+00', 'infinity' FROM hw$$, '23514'),
('tap_hw_disp', 'cancels a visit without a reason',
 $$UPDATE repairsys.appointment SET state = 'cancelled', reason = NULL WHERE ticket_id = (SELECT visit_ticket FROM hw)$$, '23514'),
('tap_hw_disp', 'rewrites a payment',
 $$UPDATE repairsys.payment SET amount = amount + 1$$, '42501'),
('tap_hw_disp', 'writes an estimate revision with its own number',
 $$INSERT INTO repairsys.estimate_revision (ticket_id, revision, reason) SELECT tech_ticket, 99, 'hw' FROM hw$$, '42501'),
-- admin
('tap_hw_admin', 'sets the labor tax rate to text',
 $$UPDATE repairsys.setting SET value = 'abc' WHERE name = 'tax_rate_labor'$$, '22023'),
('tap_hw_admin', 'sets a negative tax rate',
 $$UPDATE repairsys.setting SET value = '-0.06' WHERE name = 'tax_rate_labor'$$, '22023'),
('tap_hw_admin', 'sets follow-up days to a fraction',
 $$UPDATE repairsys.setting SET value = '2.5' WHERE name = 'follow_up_days'$$, '22023'),
('tap_hw_admin', 'sets negative follow-up days',
 $$UPDATE repairsys.setting SET value = '-3' WHERE name = 'follow_up_days'$$, '22023'),
('tap_hw_admin', 'sets a negative reopen window',
 $$UPDATE repairsys.setting SET value = '-1 day' WHERE name = 'reopen_window'$$, '22023'),
('tap_hw_admin', 'sets negative forecast days',
 $$UPDATE repairsys.setting SET value = '-1' WHERE name = 'forecast_days'$$, '22023'),
('tap_hw_admin', 'gives a center a time zone that does not exist',
 $$UPDATE repairsys.service_center SET time_zone = 'Mars/Olympus'$$, '22023'),
('tap_hw_admin', 'sets a NaN call-out fee',
 $$UPDATE repairsys.service_type SET callout_fee = 'NaN'$$, '23514'),
-- published prices (43_prices.sql): history is never rewritten, not by the admin
('tap_hw_admin', 'changes a published price in force',
 $$UPDATE repairsys.service_price SET callout_fee = callout_fee + 1$$, '23514'),
('tap_hw_admin', 'moves a published price in force to later',
 $$UPDATE repairsys.service_price SET effective_from = now() + interval '1 day'$$, '23514'),
('tap_hw_admin', 'withdraws a published price in force',
 $$DELETE FROM repairsys.service_price$$, '23514'),
('tap_hw_admin', 'schedules a price in the past',
 $$INSERT INTO repairsys.service_price (service_type, effective_from, labor_fee) SELECT min(code), now() - interval '1 day', '0+:0.01' FROM repairsys.service_type$$, '23514'),
('tap_hw_admin', 'schedules a NaN call-out fee',
 $$INSERT INTO repairsys.service_price (service_type, effective_from, labor_fee, callout_fee) SELECT min(code), now() + interval '1 day', '0+:1.00', 'NaN' FROM repairsys.service_type$$, '23514'),
('tap_hw_admin', 'schedules a price that never takes effect',
 $$INSERT INTO repairsys.service_price (service_type, effective_from, labor_fee) SELECT min(code), 'infinity', '0+:1.00' FROM repairsys.service_type$$, '23514'),
('tap_hw_disp', 'schedules a price',
 $$INSERT INTO repairsys.service_price (service_type, effective_from, labor_fee) SELECT min(code), now() + interval '1 day', '0+:0.01' FROM repairsys.service_type$$, '42501'),
('tap_hw_disp', 'changes a published price',
 $$UPDATE repairsys.service_price SET callout_fee = 0$$, '42501'),
('tap_hw_tech', 'withdraws published prices',
 $$DELETE FROM repairsys.service_price$$, '42501'),
('tap_hw_cust', 'schedules a price of their own',
 $$INSERT INTO repairsys.service_price (service_type, effective_from, labor_fee) SELECT min(code), now() + interval '1 day', '0+:0.01' FROM repairsys.service_type$$, '42501'),
('tap_hw_aud', 'changes a published price',
 $$UPDATE repairsys.service_price SET callout_fee = 0$$, '42501'),
('tap_hw_admin', 'sets a NaN complexity factor',
 $$UPDATE repairsys.complexity_rule SET factor = 'NaN' WHERE level = 2$$, '23514'),
('tap_hw_admin', 'sets a NaN urgency surcharge',
 $$UPDATE repairsys.urgency_rule SET surcharge_pct = 'NaN' WHERE urgency = 'urgent'$$, '23514'),
('tap_hw_admin', 'sets a NaN part price',
 $$UPDATE repairsys.part SET unit_price = 'NaN'$$, '23514'),
('tap_hw_admin', 'pays more than the balance by plain INSERT',
 $$INSERT INTO repairsys.payment (invoice_id, method, amount, idempotency_key) SELECT invoice_id, 'card', balance + 0.01, 'hw-6' FROM hw$$, '23514'),
('tap_hw_admin', 'books a NaN overhead',
 $$INSERT INTO repairsys.overhead (service_center_id, month, cost_class, amount) SELECT min(id), '2027-01-01', 'rent', 'NaN' FROM repairsys.service_center$$, '23514'),
('tap_hw_admin', 'books an overhead in the middle of a month',
 $$INSERT INTO repairsys.overhead (service_center_id, month, cost_class, amount) SELECT min(id), '2027-01-15', 'rent', 1 FROM repairsys.service_center$$, '23514'),
('tap_hw_admin', 'books labor as an overhead',
 $$INSERT INTO repairsys.overhead (service_center_id, month, cost_class, amount) SELECT min(id), '2027-01-01', 'labor', 1 FROM repairsys.service_center$$, '23514'),
('tap_hw_admin', 'budgets a negative amount',
 $$INSERT INTO repairsys.budget (service_center_id, month, cost_class, amount) SELECT min(id), '2027-01-01', 'labor', -1 FROM repairsys.service_center$$, '23514'),
('tap_hw_admin', 'sets the overhead driver to something that is not one',
 $$UPDATE repairsys.setting SET value = 'hours' WHERE name = 'overhead_driver'$$, '22023'),
('tap_hw_admin', 'gives a center a language reports do not speak',
 $$UPDATE repairsys.service_center SET language = 'fr'$$, '23514'),
('tap_hw_admin', 'writes a recall by hand',
 $$INSERT INTO repairsys.recall (model, serial_from, serial_to, service_type, reason) SELECT 'HW', 'A', 'B', min(code), 'hw' FROM repairsys.service_type$$, '42501'),
('tap_hw_admin', 'rewrites an issued invoice',
 $$UPDATE repairsys.invoice SET total = 0 WHERE id = (SELECT invoice_id FROM hw)$$, '42501'),
('tap_hw_admin', 'removes the history of a ticket',
 $$DELETE FROM repairsys.ticket_event WHERE ticket_id = (SELECT invoiced_ticket FROM hw)$$, '42501'),
-- the partitions (docs/scaling.md): nobody writes one but through its table
('tap_hw_admin', 'removes the history of a ticket from its partition',
 $$DELETE FROM repairsys.ticket_event_default WHERE ticket_id = (SELECT invoiced_ticket FROM hw)$$, '42501'),
('tap_hw_admin', 'writes a history row straight into a partition',
 $$INSERT INTO repairsys.ticket_event_default (ticket_id, to_status, at) SELECT invoiced_ticket, 'closed', now() FROM hw$$, '42501'),
('tap_hw_disp', 'writes a ledger row straight into a partition',
 $$INSERT INTO repairsys.stock_movement_default (sku, service_center_id, kind, qty, at, seq)
   SELECT min(sku), 1, 'receipt', 100, now(), 0 FROM repairsys.part$$, '42501'),
('tap_hw_disp', 'empties a partition of the event log',
 $$TRUNCATE repairsys.event_default$$, '42501'),
('tap_hw_disp', 'makes partitions',
 $$SELECT repairsys.ensure_partitions('2030-01-01', '2030-02-01')$$, '42501'),
('tap_hw_tech', 'writes an event straight into a partition',
 $$INSERT INTO repairsys.event_default (kind, ticket_id) SELECT 'status_changed', tech_ticket FROM hw$$, '42501'),
('tap_hw_cust', 'rewrites the history of own ticket in its partition',
 $$UPDATE repairsys.ticket_event_default SET note = 'x'$$, '42501'),
('tap_hw_cust', 'detaches a month of history',
 $$SELECT repairsys.detach_month('repairsys.ticket_event', '2020-01-01')$$, '42501'),
('tap_hw_admin', 'sets the slot length to text',
 $$UPDATE repairsys.setting SET value = 'two hours' WHERE name = 'slot_length'$$, '22023'),
('tap_hw_admin', 'sets a travel speed of zero',
 $$UPDATE repairsys.setting SET value = '0' WHERE name = 'travel_speed_kmh'$$, '22023'),
('tap_hw_admin', 'sets a negative reschedule limit',
 $$UPDATE repairsys.setting SET value = '-1' WHERE name = 'max_reschedules'$$, '22023'),
('tap_hw_admin', 'writes an approved estimate revision by plain INSERT',
 $$INSERT INTO repairsys.estimate_revision (ticket_id, reason, low, high, lines, approved_at, approved_by, tolerance_pct)
   SELECT resolved_ticket, 'hw', 0, 100000, '[]', now(), 'tap_hw_cust', 0 FROM hw$$, '428C9'),
('tap_hw_admin', 'raises the approved high of an estimate revision',
 $$UPDATE repairsys.estimate_revision SET high = high * 10 WHERE ticket_id = (SELECT resolved_ticket FROM hw)$$, '428C9'),
('tap_hw_admin', 'removes the estimate revisions of a ticket',
 $$DELETE FROM repairsys.estimate_revision WHERE ticket_id = (SELECT resolved_ticket FROM hw)$$, '42501'),
('tap_hw_admin', 'signs off with a hash of its own',
 $$INSERT INTO repairsys.ticket_sign_off (ticket_id, signed_by, bill_sha256, bill_total) SELECT resolved_ticket, 'hw', sha256('x'), 0 FROM hw$$, '428C9'),
('tap_hw_admin', 'gives a discount marked approved by someone else',
 $$INSERT INTO repairsys.ticket_discount (ticket_id, description, amount, status, approved_by, approved_at) SELECT new_ticket, 'hw', 1, 'approved', 'tap_hw_disp', now() FROM hw$$, '428C9'),
('tap_hw_admin', 'names another approver of a pending discount',
 $$UPDATE repairsys.ticket_discount SET approved_by = 'tap_hw_disp', approved_at = now() WHERE id = (SELECT pending_discount FROM hw)$$, '428C9'),
('tap_hw_admin', 'raises the amount of a pending discount',
 $$UPDATE repairsys.ticket_discount SET amount = amount + 1 WHERE id = (SELECT pending_discount FROM hw)$$, '23514'),
('tap_hw_admin', 'gives an approval limit to a role that does not exist',
 $$INSERT INTO repairsys.approval_limit (role, max_amount, max_pct) VALUES ('hw_nobody_has_this_role', 1, 1)$$, '22023'),
('tap_hw_admin', 'sets a NaN approval limit',
 $$UPDATE repairsys.approval_limit SET max_pct = 'NaN' WHERE role = 'repairsys_dispatcher'$$, '23514'),
('tap_hw_admin', 'rewrites a sign-off',
 $$UPDATE repairsys.ticket_sign_off SET bill_total = 0$$, '42501'),
-- auditor
('tap_hw_aud', 'books a visit',
 $$INSERT INTO repairsys.appointment (ticket_id, slot_start, slot_end) SELECT new_ticket, '2030-03-05 10:00+00', '2030-03-05 12:00+00' FROM hw$$, '42501'),
('tap_hw_aud', 'opens a ticket',
 $$INSERT INTO repairsys.ticket (customer_id, service_type) SELECT cust, (SELECT code FROM repairsys.service_type ORDER BY code LIMIT 1) FROM hw$$, '42501'),
('tap_hw_aud', 'changes a ticket',
 $$UPDATE repairsys.ticket SET description = 'x'$$, '42501'),
('tap_hw_aud', 'records a payment',
 $$INSERT INTO repairsys.payment (invoice_id, method, amount, idempotency_key) SELECT invoice_id, 'cash', 0.01, 'hw-7' FROM hw$$, '42501'),
('tap_hw_aud', 'changes a setting',
 $$UPDATE repairsys.setting SET value = '0.05' WHERE name = 'tax_rate_labor'$$, '42501'),
('tap_hw_aud', 'books an overhead',
 $$INSERT INTO repairsys.overhead (service_center_id, month, cost_class, amount) SELECT min(id), '2027-01-01', 'rent', 1 FROM repairsys.service_center$$, '42501'),
('tap_hw_aud', 'opens a recall',
 $$SELECT repairsys.open_recall('Gree KFR-35', 'A', 'Z', (SELECT min(code) FROM repairsys.service_type), 'hw')$$, '42501'),
('tap_hw_aud', 'approves an estimate revision',
 $$UPDATE repairsys.estimate_revision SET approved_at = now()$$, '42501'),
('tap_hw_aud', 'signs off a ticket',
 $$INSERT INTO repairsys.ticket_sign_off (ticket_id, signed_by) SELECT resolved_ticket, 'hw' FROM hw$$, '42501'),
('tap_hw_aud', 'approves a discount',
 $$SELECT repairsys.approve_discount(pending_discount) FROM hw$$, '42501'),
('tap_hw_aud', 'removes feedback',
 $$DELETE FROM repairsys.feedback$$, '42501');

SELECT plan(3 + 4 * (SELECT count(*)::int FROM attempt));
SELECT ok((SELECT count(*) FROM hw WHERE invoice_id IS NOT NULL AND other_invoice IS NOT NULL AND tech_ticket IS NOT NULL
             AND closed_ticket IS NOT NULL AND other_asset IS NOT NULL AND resolved_ticket IS NOT NULL AND pending_discount IS NOT NULL)
             + (SELECT count(*) FROM reserved WHERE line IS NOT NULL) = 2,
          'the demo company has every kind of row the catalogue aims at');

CREATE TEMP TABLE base AS SELECT pg_temp.fingerprint() AS fp;
SELECT is_empty('SELECT * FROM repairsys.check_invariants()', 'the demo company keeps every invariant before the attempts');
SELECT is_empty('SELECT * FROM repairsys.billing_audit', 'the demo company''s billing audit is empty before the attempts');

CREATE TEMP TABLE outcome AS
SELECT a.n, a.role, a.what, a.want, x.* FROM attempt a CROSS JOIN LATERAL pg_temp.attempt(a.role, a.stmt, (SELECT fp FROM base)) x;

SELECT is(o.got, CASE o.want WHEN 'noop' THEN 'ok' ELSE o.want END,
          format('%s %s: %s', o.role, o.what, CASE o.want WHEN 'noop' THEN 'runs and changes nothing' ELSE 'refused with ' || o.want END))
  FROM outcome o ORDER BY o.n;
SELECT ok(NOT o.wrote, format('%s %s: no table changed', o.role, o.what)) FROM outcome o ORDER BY o.n;
SELECT is(o.invariants, 0, format('%s %s: check_invariants() stays empty', o.role, o.what)) FROM outcome o ORDER BY o.n;
SELECT is(o.audit, 0, format('%s %s: billing_audit stays empty', o.role, o.what)) FROM outcome o ORDER BY o.n;
SELECT diag(format('%s: %s hostile writes tried, %s refused', role, count(*), count(*) FILTER (WHERE got <> 'ok' OR want = 'noop')))
  FROM outcome GROUP BY role ORDER BY role;

SELECT * FROM finish();
ROLLBACK;
