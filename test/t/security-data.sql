-- Data in every table, for the upgrade and dump/restore tests
-- (test/t/upgrade.sh, test/t/security-dump.sh); run as a superuser.
-- Seeded rows changed by the user, rows added to seeded tables, and tickets
-- in several states of the life cycle, with parts, invoices and payments.
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
UPDATE repairsys.setting SET value = '10 days' WHERE name = 'reopen_window';
UPDATE repairsys.complexity_rule SET factor = 1.200 WHERE level = 2;
UPDATE repairsys.urgency_rule SET surcharge_pct = 30 WHERE urgency = 'urgent';
INSERT INTO repairsys.ticket_status (code, name, pauses_sla, sort_order) VALUES ('on_hold', 'On hold', true, 45);
INSERT INTO repairsys.ticket_transition (from_status, to_status) VALUES ('in_progress', 'on_hold'), ('on_hold', 'in_progress');
UPDATE repairsys.ticket_transition SET enabled = false WHERE from_status = 'assigned' AND to_status = 'new';
UPDATE repairsys.assign_policy SET w_skill = 0.30 WHERE name = 'default';
INSERT INTO repairsys.assign_policy (name, same_center) VALUES ('same_center', true);

INSERT INTO repairsys.service_center (name, lat, lon, time_zone) VALUES
	('Shanghai Pudong', 31.22, 121.54, 'Asia/Shanghai'), ('Beijing Haidian', 39.96, 116.30, 'Asia/Shanghai');
INSERT INTO repairsys.customer (name, phone, email, lat, lon, service_center_id, db_role)
	SELECT 'Li Lei', '13800000001', 'li@example.com', 31.23, 121.50, id, 'sec_data_cust' FROM repairsys.service_center WHERE name = 'Shanghai Pudong';
INSERT INTO repairsys.customer (name, lat, lon, service_center_id)
	SELECT v.name, v.lat, v.lon, c.id FROM (VALUES ('Han Meimei', 39.95, 116.31, 'Beijing Haidian'), ('Wang Fang', 31.20, 121.45, 'Shanghai Pudong')) AS v(name, lat, lon, center)
	  JOIN repairsys.service_center c ON c.name = v.center;
INSERT INTO repairsys.asset (customer_id, model, serial_no, purchased_at, purchase_price, warranty_until)
	SELECT id, 'WM-100', 'SN-' || id, date '2025-01-10', 2999.00, date '2027-01-10' FROM repairsys.customer;
INSERT INTO repairsys.technician (name, service_center_id, lat, lon, capacity, hourly_cost, db_role)
	SELECT 'Zhang Wei', id, 31.21, 121.52, 4, 80.00, 'sec_data_tech' FROM repairsys.service_center WHERE name = 'Shanghai Pudong';
INSERT INTO repairsys.technician (name, service_center_id, active)
	SELECT 'Liu Yang', id, false FROM repairsys.service_center WHERE name = 'Beijing Haidian';
INSERT INTO repairsys.technician_skill (technician_id, skill, level) SELECT id, 'washer', 4 FROM repairsys.technician;
INSERT INTO repairsys.service_type (code, name, required_skill, labor_fee, travel_fee, callout_fee, est_minutes_low, est_minutes_high) VALUES
	('washer_repair', 'Washer repair', 'washer', '0+:1.50', '0+:2.00', 30.00, 30, 90),
	('install', 'Installation', NULL, '0+:1.00', NULL, 0, 20, 40);
INSERT INTO repairsys.sla_policy (service_type, urgency, respond_within, resolve_within) VALUES
	('washer_repair', 'normal', '4h', '48h'), ('washer_repair', 'urgent', '2h', '24h');
INSERT INTO repairsys.holiday (service_center_id, day, name) VALUES (NULL, date '2026-10-01', 'National Day');
INSERT INTO repairsys.holiday (service_center_id, day, name) SELECT id, date '2026-06-19', 'Local' FROM repairsys.service_center WHERE name = 'Beijing Haidian';
INSERT INTO repairsys.part (sku, name, unit_cost, unit_price, lead_time_days, min_stock, serialized) VALUES
	('PUMP-1', 'Drain pump', 40.00, 85.00, 5, 2, false), ('BOARD-1', 'Control board', 200.00, 420.00, 14, 1, true);
INSERT INTO repairsys.stock_movement (sku, service_center_id, kind, qty, unit_cost, note)
	SELECT p.sku, c.id, 'receipt', 10, p.unit_cost, 'initial stock' FROM repairsys.part p CROSS JOIN repairsys.service_center c;
INSERT INTO repairsys.part_unit (serial, sku, service_center_id) SELECT 'B-' || g, 'BOARD-1', c.id
	FROM generate_series(1, 2) g CROSS JOIN repairsys.service_center c WHERE c.name = 'Shanghai Pudong';

-- ticket 1: the whole life cycle to closed, invoiced, paid, rated
SELECT repairsys.open_ticket((SELECT id FROM repairsys.customer WHERE name = 'Li Lei'), 'washer_repair', 'does not drain',
                             'urgent', 2, NULL, 'app') AS t1 \gset
UPDATE repairsys.ticket SET technician_id = (SELECT id FROM repairsys.technician WHERE name = 'Zhang Wei'), status = 'assigned' WHERE id = :t1;
UPDATE repairsys.ticket SET estimate_approved_at = now() WHERE id = :t1;
SELECT repairsys.set_status(:t1, 'in_progress', 'on site');
INSERT INTO repairsys.ticket_part (ticket_id, sku, service_center_id, qty, state, unit_price, unit_cost, used_at)
	SELECT :t1, 'PUMP-1', service_center_id, 1, 'used', 85.00, 40.00, now() FROM repairsys.ticket WHERE id = :t1;
INSERT INTO repairsys.stock_movement (sku, service_center_id, kind, qty, ticket_id, unit_cost)
	SELECT 'PUMP-1', service_center_id, 'issue', -1, :t1, 40.00 FROM repairsys.ticket WHERE id = :t1;
UPDATE repairsys.ticket SET labor_minutes = 45, travel_km = 6.5 WHERE id = :t1;
SELECT repairsys.set_status(:t1, 'resolved');
INSERT INTO repairsys.invoice (invoice_no, ticket_id, total) VALUES ('INV-0001', :t1, 230.40);
INSERT INTO repairsys.invoice_line (invoice_id, line_no, kind, description, quantity, unit, unit_price, amount, tax_rate, tax_amount)
	SELECT i.id, v.*
	  FROM repairsys.invoice i,
	       (VALUES (1, 'callout', 'Call-out', 1::numeric, 'visit', 30.00, 30.00, 0.06, 1.80),
	               (2, 'labor', 'Labor 0-45 min', 45, 'min', 1.50, 67.50, 0.06, 4.05),
	               (3, 'part', 'Drain pump', 1, 'pcs', 85.00, 85.00, 0.13, 11.05),
	               (4, 'travel', 'Travel', 6.5, 'km', 2.00, 13.00, 0.06, 0.78)) AS v
	 WHERE i.invoice_no = 'INV-0001';
UPDATE repairsys.invoice SET total = total WHERE false;
SELECT repairsys.sign_off(:t1, 'Li Lei', '\x89504e470d0a1a0a'::bytea) > 0 AS signed;
INSERT INTO repairsys.payment (invoice_id, method, amount, idempotency_key)
	SELECT id, 'wechat', 200.00, 'pay-1' FROM repairsys.invoice WHERE invoice_no = 'INV-0001'
	UNION ALL SELECT id, 'cash', 30.40, 'pay-2' FROM repairsys.invoice WHERE invoice_no = 'INV-0001';
SELECT repairsys.set_status(:t1, 'closed');
INSERT INTO repairsys.feedback (ticket_id, rating, comment) VALUES (:t1, 5, 'fast and clean');
INSERT INTO repairsys.ticket_discount (ticket_id, description, amount) VALUES (:t1, 'loyal customer', 5.00);
-- the fault found on it, recorded after closing: learned by the diagnosis
-- model (its counts, its part, its sample); and a fitted churn model (the
-- few customers here are too few to fit one: the row is written as the owner)
INSERT INTO repairsys.fault_code (code, name, service_type) VALUES ('pump_worn', '水泵磨损', NULL);
UPDATE repairsys.ticket SET fault_code = 'pump_worn' WHERE id = :t1;
INSERT INTO repairsys.churn_model (fitted_at, as_of, horizon, features, means, scales, coefficients, lambda,
                                   samples, churned, iterations, converged, log_likelihood)
VALUES (now(), now(), '180 days', ARRAY['recency_days', 'tickets', 'avg_rating', 'complaints', 'repeat_repairs', 'unresolved'],
        '{30,2,4,0,0,1}', '{10,1,1,1,1,1}', '{0.1,0.5,-0.3,-0.4,0.6,0.2,0.1}', 1, 20, 8, 6, true, -10.5);

-- ticket 2: in progress with a reserved part and a serialized unit, invoiced in installments
SELECT repairsys.open_ticket((SELECT id FROM repairsys.customer WHERE name = 'Wang Fang'), 'washer_repair', 'board dead') AS t2 \gset
UPDATE repairsys.ticket SET technician_id = (SELECT id FROM repairsys.technician WHERE name = 'Zhang Wei'), status = 'assigned' WHERE id = :t2;
UPDATE repairsys.ticket SET estimate_approved_at = now() WHERE id = :t2;
UPDATE repairsys.ticket SET status = 'in_progress' WHERE id = :t2;
UPDATE repairsys.ticket SET status = 'on_hold' WHERE id = :t2;
INSERT INTO repairsys.ticket_part (ticket_id, sku, service_center_id, qty, unit_price)
	SELECT :t2, 'BOARD-1', c.id, 1, 420.00 FROM repairsys.service_center c WHERE c.name = 'Shanghai Pudong';
UPDATE repairsys.part_unit SET state = 'reserved', ticket_id = :t2 WHERE serial = 'B-1';
INSERT INTO repairsys.invoice (invoice_no, ticket_id, total) VALUES ('INV-0002', :t2, 480.00);
INSERT INTO repairsys.installment (invoice_id, seq, due_on, amount)
	SELECT id, s, date '2026-12-01' + (s - 1) * 30, 160.00 FROM repairsys.invoice, generate_series(1, 3) s WHERE invoice_no = 'INV-0002';

-- ticket 3 cancelled, ticket 4 new
SELECT repairsys.open_ticket((SELECT id FROM repairsys.customer WHERE name = 'Han Meimei'), 'install', 'new unit') AS t3 \gset
SELECT repairsys.set_status(:t3, 'cancelled', 'customer changed their mind');
SELECT repairsys.open_ticket((SELECT id FROM repairsys.customer WHERE name = 'Han Meimei'), 'washer_repair', 'noisy', 'normal', 1,
                             (SELECT id FROM repairsys.asset WHERE serial_no = 'SN-' || (SELECT id FROM repairsys.customer WHERE name = 'Han Meimei'))) AS t4 \gset

-- cost management: a budget, an overhead, and a recall of the WM-100 units with its tickets
INSERT INTO repairsys.budget (service_center_id, month, cost_class, amount)
	SELECT id, date '2026-11-01', 'labor', 5000.00 FROM repairsys.service_center WHERE name = 'Shanghai Pudong';
INSERT INTO repairsys.overhead (service_center_id, month, cost_class, amount, note)
	SELECT id, date '2026-11-01', 'rent', 3000.00, 'November rent' FROM repairsys.service_center WHERE name = 'Shanghai Pudong';
SELECT tickets_opened FROM repairsys.open_recall('WM-100', 'SN-', 'SN-~', 'washer_repair', 'door lock may fail');
UPDATE repairsys.service_center SET language = 'zh-CN' WHERE name = 'Beijing Haidian';
-- visits (docs/dispatch.md): rosters, absences asked for and approved, and
-- ticket 2's visit with its history (written as a migration writes it:
-- booked_at in the past, taken as it is)
INSERT INTO repairsys.technician_roster (technician_id, calendar, valid_from, valid_to)
	SELECT id, 'mon-fri 09:00-18:00', date '2026-01-01', NULL FROM repairsys.technician;
INSERT INTO repairsys.technician_absence (technician_id, during, reason)
	SELECT id, '[2030-03-10 09:00+08, 2030-03-10 18:00+08)', 'training' FROM repairsys.technician WHERE name = 'Liu Yang';
INSERT INTO repairsys.technician_absence (technician_id, during, reason, status)
	SELECT id, '[2030-03-11 09:00+08, 2030-03-11 18:00+08)', 'leave', 'approved' FROM repairsys.technician WHERE name = 'Zhang Wei';
INSERT INTO repairsys.appointment (ticket_id, technician_id, slot_start, slot_end, state, reason, booked_at)
	SELECT :t2, id, '2030-03-04 10:00+08', '2030-03-04 12:00+08', 'rescheduled', 'customer away', '2026-02-01 10:00+08'
	  FROM repairsys.technician WHERE name = 'Zhang Wei';
INSERT INTO repairsys.appointment (ticket_id, technician_id, slot_start, slot_end, replaces, reason, booked_at)
	SELECT :t2, te.id, '2030-03-05 10:00+08', '2030-03-05 12:00+08', a.id, 'customer away', '2026-02-02 10:00+08'
	  FROM repairsys.technician te, repairsys.appointment a WHERE te.name = 'Zhang Wei' AND a.ticket_id = :t2;
-- the event log's consumers, the jobs' rows (escalations, stuck tickets and
-- notifications, two months on) and a customer's notification preference
INSERT INTO repairsys.customer_preference (customer_id, language, channel)
	SELECT id, 'en', 'sms' FROM repairsys.customer WHERE name = 'Li Lei';
SELECT count(*) FROM repairsys.run_jobs(now() + interval '60 days');
SELECT repairsys.ack_events('security_test', (SELECT max(id) FROM repairsys.read_events('security_test', 5)));
-- a month of history detached (57_partitions.sql): a ticket's history row
-- of January 2020, archived
SELECT repairsys.ensure_partitions('2020-01-01', '2020-01-31');
INSERT INTO repairsys.ticket_event (ticket_id, from_status, to_status, at, note)
	SELECT t.id, t.status, t.status, '2020-01-10 10:00+00', 'archived' FROM repairsys.ticket t WHERE t.description = 'noisy';
SELECT repairsys.detach_month('repairsys.ticket_event', '2020-01-01');
