-- pgTAP: the constraints of every table of the data model (DESIGN.md section 3).
BEGIN;
SELECT plan(72);
SET LOCAL client_min_messages = warning;

-- fixtures
INSERT INTO repairsys.service_center (name, lat, lon) VALUES ('tap center', 31.2, 121.5);
INSERT INTO repairsys.customer (name, service_center_id) SELECT 'tap customer', id FROM repairsys.service_center WHERE name = 'tap center';
INSERT INTO repairsys.technician (name) VALUES ('tap tech');
INSERT INTO repairsys.service_type (code, name, labor_fee) VALUES ('tap_st', 'tap', '0+:1.00');
INSERT INTO repairsys.part (sku, name) VALUES ('TAP-1', 'tap part');
CREATE TEMP TABLE ids AS SELECT
	(SELECT id FROM repairsys.service_center WHERE name = 'tap center') AS center,
	(SELECT id FROM repairsys.customer WHERE name = 'tap customer') AS cust,
	(SELECT id FROM repairsys.technician WHERE name = 'tap tech') AS tech,
	repairsys.open_ticket((SELECT id FROM repairsys.customer WHERE name = 'tap customer'), 'tap_st', 'x') AS ticket;
INSERT INTO repairsys.invoice (invoice_no, ticket_id, total) SELECT 'TAP-INV', ticket, 10 FROM ids;

-- keys and types
SELECT col_is_pk('repairsys', 'ticket', 'id', 'ticket.id is the primary key');
SELECT col_type_is('repairsys', 'ticket', 'id', 'bigint', 'ticket.id is bigint');
SELECT col_is_pk('repairsys', 'service_type', 'code', 'service_type.code is the primary key');
SELECT col_is_pk('repairsys', 'part', 'sku', 'part.sku is the primary key');
SELECT col_is_pk('repairsys', 'stock', ARRAY['sku', 'service_center_id'], 'stock is keyed by sku and center');
SELECT col_type_is('repairsys', 'invoice', 'total', 'numeric(14,2)', 'money is numeric(14,2)');
SELECT col_type_is('repairsys', 'payment', 'amount', 'numeric(14,2)', 'payments are numeric(14,2)');
SELECT col_type_is('repairsys', 'ticket', 'labor_minutes', 'numeric(10,2)', 'labor minutes are numeric(10,2)');
SELECT col_type_is('repairsys', 'ticket', 'opened_at', 'timestamp with time zone', 'times are timestamptz');
SELECT col_type_is('repairsys', 'service_type', 'labor_fee', 'repairsys.fee_tier', 'labor fee is a fee_tier');
SELECT col_type_is('repairsys', 'sla_policy', 'resolve_within', 'repairsys.sla_interval', 'SLA targets are sla_interval');
SELECT col_hasnt_default('repairsys', 'ticket', 'status', 'no state code as the default of status: a new ticket gets the initial-role state from its trigger');
SELECT col_default_is('repairsys', 'ticket', 'urgency', 'normal', 'urgency defaults to normal');
SELECT col_default_is('repairsys', 'ticket', 'channel', 'web', 'channel defaults to web');
SELECT col_default_is('repairsys', 'technician', 'capacity', 5, 'capacity defaults to 5');
SELECT col_default_is('repairsys', 'part', 'service_level', 0.95, 'service level defaults to 0.95');
SELECT col_not_null('repairsys', 'ticket', 'customer_id', 'a ticket has a customer');
SELECT col_not_null('repairsys', 'ticket', 'service_type', 'a ticket has a service type');
SELECT fk_ok('repairsys', 'ticket', 'customer_id', 'repairsys', 'customer', 'id');
SELECT fk_ok('repairsys', 'ticket', 'status', 'repairsys', 'ticket_status', 'code');
SELECT fk_ok('repairsys', 'ticket', 'technician_id', 'repairsys', 'technician', 'id');
SELECT fk_ok('repairsys', 'ticket_event', 'ticket_id', 'repairsys', 'ticket', 'id');
SELECT fk_ok('repairsys', 'stock_movement', 'sku', 'repairsys', 'part', 'sku');
SELECT fk_ok('repairsys', 'payment', 'invoice_id', 'repairsys', 'invoice', 'id');

-- CHECK constraints: each bad value is refused with 23514
SELECT throws_ok($$INSERT INTO repairsys.service_center (name, lat) VALUES ('bad', 91)$$, '23514', NULL, 'latitude within -90..90');
SELECT throws_ok($$INSERT INTO repairsys.service_center (name, lon) VALUES ('bad', -181)$$, '23514', NULL, 'longitude within -180..180');
SELECT throws_ok($$INSERT INTO repairsys.service_center (name) VALUES ('')$$, '23514', NULL, 'names are not empty');
SELECT throws_ok($$INSERT INTO repairsys.customer (name, email) VALUES ('x', 'no-at-sign')$$, '23514', NULL, 'e-mail has an @');
SELECT throws_ok($$INSERT INTO repairsys.asset (customer_id, model, purchase_price) SELECT cust, 'm', -1 FROM ids$$, '23514', NULL, 'purchase price not negative');
SELECT throws_ok($$INSERT INTO repairsys.asset (customer_id, model, purchased_at, warranty_until) SELECT cust, 'm', '2025-01-02', '2025-01-01' FROM ids$$, '23514', NULL, 'warranty does not end before purchase');
SELECT throws_ok($$INSERT INTO repairsys.technician (name, capacity) VALUES ('x', -1)$$, '23514', NULL, 'capacity not negative');
SELECT throws_ok($$INSERT INTO repairsys.technician (name, hourly_cost) VALUES ('x', -0.01)$$, '23514', NULL, 'hourly cost not negative');
SELECT throws_ok($$INSERT INTO repairsys.technician_skill SELECT tech, 'hvac', 0 FROM ids$$, '23514', NULL, 'skill level at least 1');
SELECT throws_ok($$INSERT INTO repairsys.technician_skill SELECT tech, 'hvac', 6 FROM ids$$, '23514', NULL, 'skill level at most 5');
SELECT throws_ok($$INSERT INTO repairsys.service_type (code, name, labor_fee) VALUES ('Bad Code', 'x', '0+:1')$$, '23514', NULL, 'service type codes are lower case words');
SELECT throws_ok($$INSERT INTO repairsys.service_type (code, name, labor_fee, callout_fee) VALUES ('neg', 'x', '0+:1', -5)$$, '23514', NULL, 'callout fee not negative');
SELECT throws_ok($$INSERT INTO repairsys.service_type (code, name, labor_fee, est_minutes_low, est_minutes_high) VALUES ('est', 'x', '0+:1', 60, 30)$$, '23514', NULL, 'estimate high not below low');
SELECT throws_ok($$INSERT INTO repairsys.service_type (code, name, labor_fee, min_skill_level) VALUES ('lvl', 'x', '0+:1', 7)$$, '23514', NULL, 'minimum skill level 1..5');
SELECT throws_ok($$UPDATE repairsys.complexity_rule SET factor = 0 WHERE level = 1$$, '23514', NULL, 'complexity factor positive');
SELECT throws_ok($$INSERT INTO repairsys.complexity_rule (level, factor) VALUES (6, 2)$$, '23514', NULL, 'complexity levels 1..5');
SELECT throws_ok($$INSERT INTO repairsys.urgency_rule (urgency, surcharge_pct) VALUES ('As soon as possible', 10)$$, '23514', NULL, 'urgency codes are lower-case words (urgencies are data: a company may add its own)');
SELECT throws_ok($$UPDATE repairsys.urgency_rule SET surcharge_pct = -1 WHERE urgency = 'urgent'$$, '23514', NULL, 'surcharge not negative');
SELECT throws_ok($$UPDATE repairsys.ticket SET complexity = 0 FROM ids WHERE id = ids.ticket$$, '23514', NULL, 'ticket complexity 1..5');
SELECT throws_ok($$UPDATE repairsys.ticket SET channel = 'fax' FROM ids WHERE id = ids.ticket$$, '23514', NULL, 'known channels only');
SELECT throws_ok($$INSERT INTO repairsys.ticket (customer_id, service_type, urgency) SELECT cust, t.service_type, 'asap' FROM ids JOIN repairsys.ticket t ON t.id = ids.ticket$$,
                 '23503', NULL, 'a ticket''s urgency is a row of urgency_rule');
SELECT throws_ok($$UPDATE repairsys.ticket SET labor_minutes = -1 FROM ids WHERE id = ids.ticket$$, '23514', NULL, 'labor minutes not negative');
SELECT throws_ok($$UPDATE repairsys.ticket SET travel_km = -1 FROM ids WHERE id = ids.ticket$$, '23514', NULL, 'travel not negative');
SELECT throws_ok($$INSERT INTO repairsys.part (sku, name, unit_price) VALUES ('NEG', 'x', -1)$$, '23514', NULL, 'part price not negative');
SELECT throws_ok($$INSERT INTO repairsys.part (sku, name, service_level) VALUES ('SL', 'x', 1)$$, '23514', NULL, 'service level below 1');
SELECT throws_ok($$INSERT INTO repairsys.stock (sku, service_center_id, on_hand, reserved) SELECT 'TAP-1', center, 1, 2 FROM ids$$, '23514', NULL, 'reserved never above on hand');
SELECT throws_ok($$INSERT INTO repairsys.stock (sku, service_center_id, on_hand) SELECT 'TAP-1', center, -1 FROM ids$$, '23514', NULL, 'stock never negative');
SELECT throws_ok($$INSERT INTO repairsys.stock_movement (sku, service_center_id, kind, qty) SELECT 'TAP-1', center, 'issue', 3 FROM ids$$, '23514', NULL, 'an issue takes stock out (negative qty)');
SELECT throws_ok($$INSERT INTO repairsys.stock_movement (sku, service_center_id, kind, qty) SELECT 'TAP-1', center, 'theft', -1 FROM ids$$, '23514', NULL, 'known movement kinds only');
SELECT throws_ok($$INSERT INTO repairsys.ticket_part (ticket_id, sku, service_center_id, qty, unit_price) SELECT ticket, 'TAP-1', center, 0, 1 FROM ids$$, '23514', NULL, 'part quantities positive');
SELECT throws_ok($$INSERT INTO repairsys.payment (invoice_id, method, amount, idempotency_key) SELECT id, 'bitcoin', 1, 'k1' FROM repairsys.invoice WHERE invoice_no = 'TAP-INV'$$, '23514', NULL, 'known payment methods only');
SELECT throws_ok($$INSERT INTO repairsys.payment (invoice_id, method, amount, idempotency_key) SELECT id, 'cash', 0, 'k2' FROM repairsys.invoice WHERE invoice_no = 'TAP-INV'$$, '23514', NULL, 'payments are positive');
SELECT throws_ok($$INSERT INTO repairsys.installment (invoice_id, seq, due_on, amount) SELECT id, 0, current_date, 1 FROM repairsys.invoice WHERE invoice_no = 'TAP-INV'$$, '23514', NULL, 'installments numbered from 1');
SELECT throws_ok($$INSERT INTO repairsys.feedback (ticket_id, rating) SELECT ticket, 0 FROM ids$$, '23514', NULL, 'rating at least 1');
SELECT throws_ok($$INSERT INTO repairsys.feedback (ticket_id, rating) SELECT ticket, 6 FROM ids$$, '23514', NULL, 'rating at most 5');
SELECT throws_ok($$INSERT INTO repairsys.assign_policy (name, w_distance) VALUES ('neg', -1)$$, '23514', NULL, 'weights not negative');
SELECT throws_ok($$INSERT INTO repairsys.assign_policy (name, w_skill, w_distance, w_load, w_rating, w_continuity) VALUES ('zero', 0, 0, 0, 0, 0)$$, '23514', NULL, 'some weight positive');
-- uniqueness
SELECT throws_ok($$INSERT INTO repairsys.holiday (day) VALUES ('2026-10-01'), ('2026-10-01')$$, '23505', NULL, 'one all-center holiday per day');
SELECT throws_ok($$INSERT INTO repairsys.invoice (invoice_no, ticket_id, total) SELECT 'TAP-INV-2', ticket, 1 FROM ids$$, '23505', NULL, 'one invoice per ticket');

-- finite numbers and times (src/sql/85_finite.sql): every numeric, float, date,
-- timestamp and interval column has its <table>_<column>_finite constraint,
-- and NaN, the infinities and infinite times are refused (PostgreSQL sorts NaN
-- above every number, so NaN passes a CHECK (x >= 0))
SELECT is_empty($$
	SELECT r.relname, a.attname
	  FROM pg_attribute a JOIN pg_class r ON r.oid = a.attrelid
	 WHERE r.relnamespace = 'repairsys'::regnamespace AND r.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped
	   AND NOT r.relispartition	-- (a partition has its table's constraint, under the table's name)
	   AND a.atttypid IN ('numeric'::regtype, 'real'::regtype, 'double precision'::regtype, 'date'::regtype,
	                      'timestamp'::regtype, 'timestamptz'::regtype, 'interval'::regtype)
	   AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conrelid = r.oid AND k.contype = 'c'
	                      AND k.conname = r.relname || '_' || a.attname || '_finite' AND k.conkey = ARRAY[a.attnum])
$$, 'every numeric, float, date, timestamp and interval column refuses NaN and infinities');
SELECT throws_ok($$UPDATE repairsys.complexity_rule SET factor = 'NaN' WHERE level = 1$$, '23514', NULL, 'complexity factor not NaN');
SELECT throws_ok($$UPDATE repairsys.urgency_rule SET surcharge_pct = 'NaN' WHERE urgency = 'urgent'$$, '23514', NULL, 'surcharge not NaN');
SELECT throws_ok($$UPDATE repairsys.ticket SET labor_minutes = 'NaN' FROM ids WHERE id = ids.ticket$$, '23514', NULL, 'labor minutes not NaN');
SELECT throws_ok($$UPDATE repairsys.ticket SET resolve_by = 'infinity' FROM ids WHERE id = ids.ticket$$, '23514', NULL, 'deadlines finite');
SELECT throws_ok($$INSERT INTO repairsys.payment (invoice_id, method, amount, idempotency_key) SELECT id, 'cash', 'NaN', 'k3' FROM repairsys.invoice WHERE invoice_no = 'TAP-INV'$$, '23514', NULL, 'payments not NaN');
SELECT throws_ok($$UPDATE repairsys.assign_policy SET w_load = 'Infinity'$$, '23514', NULL, 'weights finite');
SELECT throws_ok($$INSERT INTO repairsys.installment (invoice_id, seq, due_on, amount) SELECT id, 1, 'infinity', 1 FROM repairsys.invoice WHERE invoice_no = 'TAP-INV'$$, '23514', NULL, 'due dates finite');

-- idempotency keys are per invoice (a key taken on one customer's invoice tells another nothing)
SELECT col_is_unique('repairsys', 'payment', ARRAY['invoice_id', 'idempotency_key'], 'payment keys are unique per invoice');

-- (that every table reaches a service center in at most one join, or is a
-- reference table of the Citus plan, is checked by test/t/citus-plan.sh)

SELECT * FROM finish();
ROLLBACK;
