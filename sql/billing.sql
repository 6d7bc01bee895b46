-- Billing: estimates, approval, bills for each kind of job, invoices,
-- payments, installments, the audit.  Totals are checked against hand
-- computations (tax: labor, travel, call-out, surcharges 6%; parts 13%).
-- (pinned, so that no output depends on the server's or the client's defaults)
SET TimeZone = 'America/Los_Angeles';
SET DateStyle = 'Postgres, MDY';
SET IntervalStyle = 'postgres';
\set SHOW_CONTEXT never
SET search_path = repairsys, public;
SET client_min_messages = warning;

INSERT INTO service_center (name, lat, lon, time_zone) VALUES ('bt center', 31.2000, 121.5000, 'Asia/Shanghai');
INSERT INTO customer (name, lat, lon, service_center_id)
	SELECT 'bt customer', 31.2900, 121.5000, id FROM service_center WHERE name = 'bt center';
INSERT INTO asset (customer_id, model, serial_no, warranty_until)
	SELECT c.id, 'BT-AC', s, d FROM customer c,
	       (VALUES ('bt-expired', date '2020-01-31'), ('bt-covered', date '2099-12-31'), ('bt-rework', date '2020-01-31'),
	               ('bt-late', date '2020-01-31')) AS v(s, d)
	 WHERE c.name = 'bt customer';
INSERT INTO technician (name) VALUES ('bt tech');
INSERT INTO service_type (code, name, labor_fee, travel_fee, callout_fee, est_minutes_low, est_minutes_high) VALUES
	('bt_ac', 'AC repair', 'base=20, 0-60:2.00, 60-180:1.50, 180+:1.20, min=80', '0-10:0, 10+:2.50', 50, 45, 150);
INSERT INTO part (sku, name, unit_cost, unit_price) VALUES ('BT-CAP', 'Capacitor', 12, 30);
SELECT receive_part('BT-CAP', id, 20) > 0 AS stocked FROM service_center WHERE name = 'bt center';
SELECT id AS tech FROM technician WHERE name = 'bt tech' \gset
CREATE FUNCTION pg_temp.open(serial text, urgency text DEFAULT 'normal', complexity int DEFAULT 1) RETURNS bigint LANGUAGE sql AS $$
	SELECT repairsys.open_ticket(a.customer_id, 'bt_ac', 'job', urgency => urgency, complexity => complexity, asset_id => a.id)
	  FROM repairsys.asset a WHERE a.serial_no = serial $$;
-- takes a ticket through the work: assigned, estimate approved, in progress, resolved with the given work
CREATE FUNCTION pg_temp.work(t bigint, minutes numeric, km numeric) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
	UPDATE repairsys.ticket SET status = 'assigned', technician_id = (SELECT id FROM repairsys.technician WHERE name = 'bt tech') WHERE id = t;
	IF repairsys.ticket_is_billable((SELECT x FROM repairsys.ticket x WHERE x.id = t))
	   AND (SELECT estimate_approved_at FROM repairsys.ticket WHERE id = t) IS NULL THEN
		PERFORM repairsys.approve_estimate(t);
	END IF;
	UPDATE repairsys.ticket SET status = 'in_progress' WHERE id = t;
	UPDATE repairsys.ticket SET status = 'resolved', labor_minutes = minutes, travel_km = km WHERE id = t;
	RETURN (SELECT status FROM repairsys.ticket WHERE id = t);
END $$;
CREATE FUNCTION pg_temp.bill(t bigint) RETURNS TABLE (line_no int, kind text, description text, quantity numeric, unit text,
	unit_price numeric, amount numeric, tax_rate numeric, tax_amount numeric)
	LANGUAGE sql AS $$ SELECT line_no, kind, description, quantity, unit, unit_price, amount, tax_rate, tax_amount
	                     FROM repairsys.bill_detail WHERE ticket_id = t ORDER BY line_no $$;

-- A. out of warranty: labor crossing two tiers, travel, two parts.
--    call-out 50 (tax 3.00); labor base 20 (1.20), 60 min x 2.00 = 120 (7.20), 15 min x 1.50 = 22.50 (1.35);
--    travel 10 km free (0), 2.5 km x 2.50 = 6.25 (0.375 -> 0.38); parts 2 x 30 = 60 (7.80)
--    subtotal 278.75, tax 20.93, total 299.68
SELECT pg_temp.open('bt-expired') AS a \gset
-- the estimate before work: low (45 min) and high (150 min), travel by distance (10 km from the center: free)
SELECT scenario, line_no, kind, description, amount, tax_amount, scenario_total FROM estimate(:a);
SELECT reserve_part(:a, 'BT-CAP', 2) > 0 AS reserved;
SELECT scenario, max(scenario_total) AS total FROM estimate(:a) GROUP BY 1 ORDER BY 2;
SELECT * FROM approve_estimate(:a);
SELECT approve_estimate(:a);
SELECT approved_estimate_low, approved_estimate_high, price_labor_fee, price_callout_fee, price_tax_rate_parts FROM ticket WHERE id = :a;
-- the price list changes after approval: this ticket's bill does not
UPDATE service_type SET labor_fee = '0+:9.99', callout_fee = 500 WHERE code = 'bt_ac';
UPDATE setting SET value = '0.20' WHERE name = 'tax_rate_labor';
SELECT pg_temp.work(:a, 75, 12.5);
SELECT * FROM pg_temp.bill(:a);
SELECT labor, parts, travel, surcharges, coverage, discounts, subtotal, tax, total, paid, balance, currency FROM bill_summary WHERE ticket_id = :a;
UPDATE service_type SET labor_fee = 'base=20, 0-60:2.00, 60-180:1.50, 180+:1.20, min=80', callout_fee = 50 WHERE code = 'bt_ac';
UPDATE setting SET value = '0.06' WHERE name = 'tax_rate_labor';
-- the snapshot belongs to repairsys
UPDATE ticket SET price_labor_fee = '0+:0' WHERE id = :a;
UPDATE ticket SET estimate_approved_at = NULL WHERE id = :a;

-- B. emergency at complexity 3, 30 min, no travel, no parts:
--    call-out 50 (3.00); labor base 20 (1.20) + 30 x 2.00 = 60 (3.60) = 80, the minimum: no minimum line;
--    complexity 80 x 0.3 = 24.00 (1.44); emergency 50% of 104 = 52.00 (3.12); total 206 + 12.36 = 218.36
SELECT pg_temp.open('bt-expired', 'emergency', 3) AS b \gset
SELECT pg_temp.work(:b, 30, NULL);
SELECT * FROM pg_temp.bill(:b);
SELECT total FROM bill_summary WHERE ticket_id = :b;

-- every complexity level on 60 minutes (labor 20 + 120 = 140): factors 1, 1.15, 1.3, 1.5, 1.8;
-- total = (50 + 140 + adjustment) each line taxed at 6%
CREATE TEMP TABLE o AS SELECT pg_temp.open('bt-expired', 'normal', c::int) AS id FROM generate_series(1, 5) c;
SELECT r.complexity, (SELECT amount FROM compute_bill(r, 60, NULL) b WHERE b.kind = 'complexity') AS adjustment,
       (SELECT sum(amount + tax_amount) FROM compute_bill(r, 60, NULL)) AS total
  FROM o JOIN ticket r ON r.id = o.id
 ORDER BY 1;

-- C. product warranty: everything is listed, then covered line by line: the bill nets to exactly 0
SELECT pg_temp.open('bt-covered') AS c \gset
SELECT reserve_part(:c, 'BT-CAP', 1) > 0 AS reserved;
SELECT pg_temp.work(:c, 95, 14);
SELECT * FROM pg_temp.bill(:c);
SELECT subtotal, tax, total, coverage FROM bill_summary WHERE ticket_id = :c;
-- a free ticket closes without an invoice
UPDATE ticket SET status = 'closed' WHERE id = :c;

-- D. repeat repair: same asset and service type within the rework window after a closed ticket:
--    labor (and its tax) free, call-out still due: 50 + 3.00 = 53.00
SELECT pg_temp.open('bt-rework') AS d1 \gset
SELECT pg_temp.work(:d1, 40, NULL);
SELECT issue_invoice(:d1) AS d1inv \gset
SELECT record_payment(:d1inv, 'alipay', total, 'bt-d1') > 0 AS paid FROM invoice WHERE id = :d1inv;
UPDATE ticket SET status = 'closed' WHERE id = :d1;
SELECT pg_temp.open('bt-rework') AS d2 \gset
SELECT rework_of(t) = :d1 AS is_rework FROM ticket t WHERE id = :d2;
SELECT pg_temp.work(:d2, 40, NULL);
SELECT kind, description ~ 'Repeat repair within 30 days of ticket' AS rework_line, amount, tax_amount FROM pg_temp.bill(:d2);
SELECT total FROM bill_summary WHERE ticket_id = :d2;
-- E. after the window it is a new job: a window shorter than the time since the first was closed
UPDATE setting SET value = '1 microsecond' WHERE name = 'rework_window';
SELECT pg_temp.open('bt-rework') AS e \gset
SELECT rework_of(t) IS NULL AS not_rework FROM ticket t WHERE id = :e;
-- but D2 was approved under the 30-day window: its snapshot keeps it a repeat repair (53.00)
SELECT price_rework_window, rework_of(t) = :d1 AS still_rework FROM ticket t WHERE id = :d2;
SELECT total FROM bill_summary WHERE ticket_id = :d2;
UPDATE setting SET value = '30 days' WHERE name = 'rework_window';

-- F. discounts: a line of their own, never taking the bill below zero
SELECT pg_temp.open('bt-late') AS f \gset
SELECT pg_temp.work(:f, 240, 0);
INSERT INTO ticket_discount (ticket_id, description, amount) VALUES (:f, 'loyal customer', 10.00);
-- labor 20 + 120 + 180 + 72 = 392, call-out 50; discount -10; travel 0 km: nothing
SELECT * FROM pg_temp.bill(:f);
SELECT subtotal, discounts, tax, total FROM bill_summary WHERE ticket_id = :f;
INSERT INTO ticket_discount (ticket_id, description, amount) VALUES (:f, 'goodwill', 99999);
SELECT subtotal, discounts, tax, total FROM bill_summary WHERE ticket_id = :f;
-- a discount takes the amounts taxed at the labor rate first, then the parts at the parts rate; a full
-- waiver of a bill with parts nets to exactly 0.00, parts tax included.  On ticket A (labor-rate share
-- 218.75 with tax 13.13; parts 60.00 with tax 7.80): 100 off (tax -6.00), then the rest waived:
-- -118.75 at 6% (tax -7.13, all the tax left on that share) and -60.00 at 13% (tax -7.80)
-- (no new tickets here: the test files share one database and the later ones print ticket ids)
INSERT INTO ticket_discount (ticket_id, description, amount) VALUES (:a, 'half off', 100.00), (:a, 'rest waived', 99999);
SELECT line_no, kind, description, amount, tax_rate, tax_amount FROM pg_temp.bill(:a) WHERE kind = 'discount';
SELECT subtotal, discounts, tax, total FROM bill_summary WHERE ticket_id = :a;
-- per-line rounding cannot push a waived bill below zero: labor 0.24 (tax 0.0144 -> 0.01) + travel
-- 0.24 (0.01), waived: the discount's tax is -0.02, not round(-0.48 x 6%) = -0.03 (a total of -0.01)
INSERT INTO service_type (code, name, labor_fee, travel_fee) VALUES ('bt_tiny', 'tiny job', '0+:0.01', '0+:0.01');
INSERT INTO ticket_discount (ticket_id, description, amount) VALUES (:e, 'waived', 1.00);
CREATE TEMP VIEW tiny AS
	SELECT b.* FROM ticket x, compute_bill(jsonb_populate_record(x, '{"service_type": "bt_tiny"}'), 24, 24) b WHERE x.id = :e;
SELECT kind, amount, tax_amount FROM tiny ORDER BY line_no;
SELECT sum(amount + tax_amount) AS total FROM tiny;

-- lines always sum exactly to the total, for every ticket
SELECT count(*) AS mismatches FROM bill_summary s
 WHERE s.total <> (SELECT coalesce(sum(amount + tax_amount), 0) FROM bill_detail d WHERE d.ticket_id = s.ticket_id);
-- one ticket's bill is read with index scans
EXPLAIN (COSTS OFF) SELECT * FROM bill_detail WHERE ticket_id = 1;

-- invoices: only for resolved tickets, once, frozen
SELECT issue_invoice(:b) AS binv \gset
SELECT issue_invoice(:b);
SELECT issue_invoice(pg_temp.open('bt-late'));
SELECT issue_invoice(-1);
SELECT invoice_no ~ '^INV-[0-9]{8}$' AS numbered, total FROM invoice WHERE id = :binv;
SELECT count(*) AS lines, sum(amount + tax_amount) AS sum FROM invoice_line WHERE invoice_id = :binv;
-- once issued, the bill is the invoice: a later change of recorded work does not change it
UPDATE ticket SET labor_minutes = 999 WHERE id = :b;
SELECT total FROM bill_summary WHERE ticket_id = :b;
UPDATE ticket SET labor_minutes = 30 WHERE id = :b;
-- and nobody but the owner may change an invoice
CREATE ROLE regress_rs_cashier;
GRANT USAGE ON SCHEMA repairsys TO regress_rs_cashier;
GRANT SELECT, UPDATE, DELETE ON invoice, invoice_line, payment TO regress_rs_cashier;
CREATE POLICY regress_rs_cashier ON invoice_line TO regress_rs_cashier USING (true);
CREATE POLICY regress_rs_cashier ON invoice TO regress_rs_cashier USING (true);
SET ROLE regress_rs_cashier;
UPDATE invoice_line SET amount = 0 WHERE invoice_id = :binv;
DELETE FROM invoice_line WHERE invoice_id = :binv;
UPDATE invoice SET total = 1 WHERE id = :binv;
RESET ROLE;
DROP POLICY regress_rs_cashier ON invoice_line;
DROP POLICY regress_rs_cashier ON invoice;
REVOKE ALL ON invoice, invoice_line, payment FROM regress_rs_cashier;
REVOKE ALL ON SCHEMA repairsys FROM regress_rs_cashier;
DROP ROLE regress_rs_cashier;

-- payments: idempotent on the key, never above the balance
SELECT record_payment(:binv, 'wechat', 100.00, 'bt-b-1') AS p1 \gset
SELECT record_payment(:binv, 'wechat', 100.00, 'bt-b-1') = :p1 AS same_payment_on_retry;
SELECT count(*) AS payments FROM payment WHERE invoice_id = :binv;
SELECT record_payment(:binv, 'cash', 100.00, 'bt-b-1');
\echo :LAST_ERROR_SQLSTATE
SELECT record_payment(:binv, 'cash', 118.37, 'bt-b-2');
SELECT record_payment(:binv, 'bitcoin', 1, 'bt-b-3');
SELECT record_payment(:binv, 'cash', 0, 'bt-b-3');
SELECT record_payment(:binv, 'cash', 1.005, 'bt-b-3');
SELECT record_payment(:binv, 'cash', 1, '');
SELECT record_payment(-1, 'cash', 1, 'bt-b-3');
SELECT paid, balance FROM bill_summary WHERE ticket_id = :b;

-- installments: the balance in n parts summing to it, the leftover cents first
-- (a pinned first due date at a month end: the later ones fall on the last day of shorter months)
SELECT seq, due_on, amount FROM plan_installments(:binv, 3, date '2027-01-31', interval '1 month');
SELECT sum(amount) AS planned, (SELECT balance FROM bill_summary WHERE ticket_id = :b) AS balance FROM installment WHERE invoice_id = :binv;
SELECT plan_installments(:binv, 2, date '2027-01-31', '1 month');
SELECT plan_installments(:binv, 0, date '2027-01-31', '1 month');
SELECT plan_installments(:binv, 2, date '2027-01-31', '-1 month');
-- awkward amounts: 100.00 / 3 = 33.34 + 33.33 + 33.33; 1000.01 / 7; 0.05 / 5; 0.04 / 5 cannot be split
CREATE FUNCTION pg_temp.invoice_of(total numeric) RETURNS bigint LANGUAGE sql AS $$
	WITH t AS (SELECT pg_temp.open('bt-late') AS id),
	     i AS (INSERT INTO repairsys.invoice (ticket_id, total) SELECT id, total FROM t RETURNING id),
	     l AS (INSERT INTO repairsys.invoice_line (invoice_id, line_no, kind, description, amount) SELECT id, 1, 'labor', 'flat', total FROM i)
	SELECT id FROM i $$;
SELECT array_agg(amount ORDER BY seq) AS split_100_in_3, sum(amount) FROM plan_installments(pg_temp.invoice_of(100.00), 3, date '2027-01-31', '1 month');
SELECT array_agg(amount ORDER BY seq) AS split_1000_01_in_7, sum(amount) FROM plan_installments(pg_temp.invoice_of(1000.01), 7, date '2027-01-31', '1 week');
SELECT array_agg(amount ORDER BY seq) AS split_0_05_in_5 FROM plan_installments(pg_temp.invoice_of(0.05), 5, date '2027-01-31', '1 day');
SELECT plan_installments(pg_temp.invoice_of(0.04), 5, date '2027-01-31', '1 day');
