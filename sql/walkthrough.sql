-- The README's walk through the whole flow, statement for statement (the
-- block between the "walkthrough" markers of README.md; test/t/readme.sh
-- checks that the two are the same).  Runs in a database of its own.
-- (pinned, so that no output depends on the server's or the client's defaults)
SET TimeZone = 'America/Los_Angeles';
SET DateStyle = 'Postgres, MDY';
SET IntervalStyle = 'postgres';
SET client_min_messages = warning;
SELECT current_database() AS regress_db \gset
DROP DATABASE IF EXISTS repairsys_walkthrough;
CREATE DATABASE repairsys_walkthrough;
\c repairsys_walkthrough
SET TimeZone = 'America/Los_Angeles';
SET DateStyle = 'Postgres, MDY';
SET IntervalStyle = 'postgres';
SET client_min_messages = warning;
-- walkthrough begins
CREATE EXTENSION repairsys;
-- The types' operators live in schema repairsys: put it on the search_path.
SET search_path = repairsys, public;

-- The catalog: a center, a service with its prices and estimated minutes, an
-- SLA policy, a customer with a unit out of warranty, a technician, a part.
INSERT INTO service_center (name, lat, lon, time_zone)
     VALUES ('Shanghai Pudong', 31.2304, 121.5050, 'Asia/Shanghai');
INSERT INTO service_type (code, name, required_skill, labor_fee, travel_fee, callout_fee, est_minutes_low, est_minutes_high)
     VALUES ('ac_repair', 'Air conditioner repair', 'hvac',
             'base=20, 0-60:2.00, 60-180:1.50, 180+:1.20, min=80', '0-5:0, 5+:2.00', 50, 45, 120);
INSERT INTO sla_policy (service_type, urgency, respond_within, resolve_within)
     VALUES ('ac_repair', 'urgent', '2h', '8h in mon-fri 09:00-18:00');
INSERT INTO customer (name, phone, lat, lon) VALUES ('Li Lei', '13800000001', 31.2600, 121.5400);
INSERT INTO asset (customer_id, model, serial_no, warranty_until) VALUES (1, 'Gree KFR-35', 'SN-1', '2020-06-30');
INSERT INTO technician (name, service_center_id, lat, lon) VALUES ('Wang Wei', 1, 31.2304, 121.5050);
INSERT INTO technician_skill (technician_id, skill, level) VALUES (1, 'hvac', 4);
INSERT INTO part (sku, name, unit_cost, unit_price) VALUES ('CAP-35', 'Run capacitor 35uF', 12.00, 38.00);
SELECT receive_part('CAP-35', 1, 10) AS ledger_row;

-- open: the SLA deadlines are stamped from the policy
SELECT open_ticket(1, 'ac_repair', 'Not cooling', urgency => 'urgent', asset_id => 1) AS ticket;
SELECT status, respond_by > opened_at AS has_deadline FROM ticket WHERE id = 1;

-- the rules hold for every route, a plain UPDATE too
UPDATE ticket SET status = 'closed' WHERE id = 1;

-- estimate (预估费用): the price range before work, with every line explained
SELECT scenario, line_no, description, amount, scenario_total FROM estimate(1) ORDER BY scenario DESC, line_no;

-- assign: the best technician, with the reasons
SELECT technician_id, eligible, round(score::numeric, 3) AS score FROM candidates(1);
SELECT auto_assign(1) AS technician;

-- the customer approves, the technician works, a part is used
SELECT * FROM approve_estimate(1);
UPDATE ticket SET status = 'in_progress' WHERE id = 1;
SELECT reserve_part(1, 'CAP-35', 1) > 0 AS reserved;
UPDATE ticket SET labor_minutes = 75, travel_km = 8.4, status = 'resolved' WHERE id = 1;

-- bill, invoice, pay, close
SELECT line_no, kind, description, amount, tax_amount FROM bill_detail WHERE ticket_id = 1 ORDER BY line_no;
SELECT total, paid, balance FROM bill_summary WHERE ticket_id = 1;
SELECT issue_invoice(1) AS invoice;
SELECT record_payment(1, 'wechat', (SELECT total FROM invoice WHERE id = 1), 'pay-1') AS payment;
UPDATE ticket SET status = 'closed' WHERE id = 1;

-- feedback, the follow-up call (回访), and the reports
INSERT INTO feedback (ticket_id, rating, comment) VALUES (1, 5, 'Fixed in one visit');
SELECT reason, customer_phone FROM follow_up_due WHERE ticket_id = 1;
SELECT tickets, revenue, round(roi, 2) AS roi, avg_rating FROM service_benefit WHERE service_type = 'ac_repair';
SELECT from_status, to_status FROM ticket_event WHERE ticket_id = 1 ORDER BY id;
SELECT count(*) AS problems FROM billing_audit;
SELECT count(*) AS broken_invariants FROM check_invariants();
-- walkthrough ends
\c :regress_db
DROP DATABASE repairsys_walkthrough;
