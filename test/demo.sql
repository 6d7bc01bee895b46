-- test/demo.sql: a small after-sales service company, told as a story.
-- Run by test/demo.sh in a fresh database with the extension created.
\set ON_ERROR_STOP 1
\pset footer off
SET client_min_messages = warning;
SELECT setseed(0.42) \g /dev/null

\echo
\echo '== 1. The company: three service centers, their technicians, services and prices'
INSERT INTO repairsys.service_center (name, lat, lon, time_zone, address) VALUES
	('Shanghai Pudong',  31.2304, 121.5050, 'Asia/Shanghai', 'Century Ave 100'),
	('Shanghai Minhang', 31.1120, 121.3815, 'Asia/Shanghai', 'Humin Rd 2000'),
	('Suzhou Industrial Park', 31.3150, 120.6690, 'Asia/Shanghai', 'Xinghu St 328');

INSERT INTO repairsys.technician (name, service_center_id, lat, lon, capacity, hourly_cost)
SELECT t.name, c.id, c.lat + t.dlat, c.lon + t.dlon, t.cap, t.cost
  FROM (VALUES
	('Wang Wei',   'Shanghai Pudong',        0.010,  0.020, 4, 80.00),
	('Li Na',      'Shanghai Pudong',       -0.020,  0.010, 5, 95.00),
	('Zhang Min',  'Shanghai Pudong',        0.030, -0.010, 3, 70.00),
	('Liu Yang',   'Shanghai Minhang',       0.000,  0.030, 5, 85.00),
	('Chen Jing',  'Shanghai Minhang',       0.020,  0.000, 4, 90.00),
	('Zhao Lei',   'Suzhou Industrial Park', 0.010,  0.010, 5, 75.00),
	('Sun Li',     'Suzhou Industrial Park', -0.010, 0.020, 4, 80.00),
	('Zhou Qiang', 'Suzhou Industrial Park', 0.020, -0.020, 2, 65.00)
  ) AS t(name, center, dlat, dlon, cap, cost)
  JOIN repairsys.service_center c ON c.name = t.center;

INSERT INTO repairsys.technician_skill (technician_id, skill, level)
SELECT t.id, s.skill, s.level
  FROM (VALUES
	('Wang Wei', 'hvac', 5), ('Wang Wei', 'appliance', 3),
	('Li Na', 'appliance', 5), ('Li Na', 'electronics', 4),
	('Zhang Min', 'hvac', 2), ('Zhang Min', 'appliance', 2),
	('Liu Yang', 'hvac', 4), ('Liu Yang', 'electronics', 2),
	('Chen Jing', 'appliance', 4), ('Chen Jing', 'electronics', 5),
	('Zhao Lei', 'hvac', 3), ('Zhao Lei', 'appliance', 4),
	('Sun Li', 'electronics', 4),
	('Zhou Qiang', 'hvac', 5), ('Zhou Qiang', 'electronics', 3)
  ) AS s(name, skill, level)
  JOIN repairsys.technician t ON t.name = s.name;

INSERT INTO repairsys.service_type (code, name, required_skill, min_skill_level, labor_fee, travel_fee,
                                    callout_fee, est_minutes_low, est_minutes_high) VALUES
	('ac_repair',   'Air conditioner repair',   'hvac',        3,
	 'base=20, 0-60:2.00, 60-180:1.50, 180+:1.20, min=80', '0-10:0, 10+:2.50', 50.00, 45, 150),
	('ac_install',  'Air conditioner install',  'hvac',        2,
	 '0-120:1.80, 120+:1.40', '0-10:0, 10+:2.50', 0.00, 90, 180),
	('washer_repair', 'Washing machine repair', 'appliance',   2,
	 '0-30:2.50, 30-90:2.00, 90+:1.60, min=60', '0-15:0, 15+:2.00', 30.00, 30, 90),
	('tv_repair',   'Television repair',        'electronics', 3,
	 '0-60:3.00, 60+:2.20', '0-15:0, 15+:2.00', 40.00, 40, 120),
	('phone_screen', 'Phone screen replacement', 'electronics', 2,
	 '0+:1.50, volume, min=30', NULL, 0.00, 20, 40);

-- SLA targets per service type and urgency, in business hours of the centers' calendar
INSERT INTO repairsys.sla_policy (service_type, urgency, respond_within, resolve_within)
SELECT st.code, u.urgency, u.respond::repairsys.sla_interval, u.resolve::repairsys.sla_interval
  FROM repairsys.service_type st
 CROSS JOIN (VALUES
	('normal',    '4h in mon-fri 09:00-18:00, sat 09:00-12:00 Asia/Shanghai', '24h in mon-fri 09:00-18:00, sat 09:00-12:00 Asia/Shanghai'),
	('urgent',    '2h in mon-sat 08:00-20:00 Asia/Shanghai',                  '12h in mon-sat 08:00-20:00 Asia/Shanghai'),
	('emergency', '1h',                                                       '8h')
 ) AS u(urgency, respond, resolve);
INSERT INTO repairsys.holiday (service_center_id, day, name) VALUES
	(NULL, '2026-10-01', 'National Day'), (NULL, '2027-01-01', 'New Year'), (NULL, '2027-02-06', 'Spring Festival');

-- spare parts, received at the centers
INSERT INTO repairsys.part (sku, name, unit_cost, unit_price, lead_time_days, min_stock) VALUES
	('CAP-35UF', 'Compressor capacitor 35uF', 12.00, 35.00, 5, 6),
	('PUMP-W10', 'Washer drain pump', 45.00, 120.00, 10, 3),
	('BOARD-TV', 'TV main board', 260.00, 680.00, 14, 2);
SELECT repairsys.receive_part(p.sku, c.id, q.qty) FROM repairsys.part p
  JOIN (VALUES ('CAP-35UF', 'Shanghai Pudong', 20), ('CAP-35UF', 'Shanghai Minhang', 4), ('CAP-35UF', 'Suzhou Industrial Park', 12),
               ('PUMP-W10', 'Shanghai Pudong', 6), ('PUMP-W10', 'Suzhou Industrial Park', 2), ('BOARD-TV', 'Shanghai Minhang', 3))
       AS q(sku, center, qty) ON q.sku = p.sku
  JOIN repairsys.service_center c ON c.name = q.center \g /dev/null

\echo 'Service catalog (labor is priced per minute in tiers, travel per km):'
SELECT code, name, required_skill || ' >= ' || min_skill_level AS needs, labor_fee::text AS labor_fee,
       callout_fee, est_minutes_low || '-' || est_minutes_high || ' min' AS estimate
  FROM repairsys.service_type ORDER BY code;

\echo
\echo '== 2. Customers and what they bought'
INSERT INTO repairsys.customer (name, phone, email, address, lat, lon)
SELECT 'Customer ' || lpad(i::text, 2, '0'),
       '1380000' || lpad(i::text, 4, '0'),
       'customer' || i || '@example.com',
       'Street ' || i,
       c.lat + (random() - 0.5) * 0.12,
       c.lon + (random() - 0.5) * 0.12
  FROM generate_series(1, 30) AS i
  JOIN repairsys.service_center c ON c.id = 1 + (i % 3);

INSERT INTO repairsys.asset (customer_id, model, serial_no, purchased_at, purchase_price, warranty_until)
SELECT cu.id, m.model, m.model || '-' || lpad(cu.id::text, 5, '0'),
       current_date - (100 + (cu.id * 37) % 900)::int,
       m.price,
       current_date - (100 + (cu.id * 37) % 900)::int + m.warranty_days
  FROM repairsys.customer cu
  JOIN (VALUES (0, 'Gree KFR-35', 3299.00, 730), (1, 'Haier XQG100', 2599.00, 365), (2, 'Hisense 65E7', 4999.00, 365))
       AS m(k, model, price, warranty_days) ON m.k = cu.id % 3;
SELECT count(*) AS customers, (SELECT count(*) FROM repairsys.asset) AS assets,
       (SELECT count(*) FROM repairsys.asset WHERE warranty_until >= current_date) AS under_warranty
  FROM repairsys.customer;

\echo
\echo '== 3. Repair requests come in from every channel'
SELECT repairsys.open_ticket(a.customer_id,
                             CASE a.model WHEN 'Gree KFR-35' THEN 'ac_repair' WHEN 'Haier XQG100' THEN 'washer_repair' ELSE 'tv_repair' END,
                             'Demo request ' || a.id,
                             urgency => (ARRAY['normal', 'normal', 'normal', 'urgent', 'emergency'])[1 + a.id % 5],
                             complexity => (1 + a.id % 4)::int,
                             asset_id => a.id,
                             channel => (ARRAY['phone', 'web', 'app', 'mini_program', 'walk_in'])[1 + a.id % 5])
  FROM repairsys.asset a ORDER BY a.id \g /dev/null
SELECT channel, count(*) AS tickets FROM repairsys.ticket GROUP BY channel ORDER BY channel;
\echo 'Each ticket got its deadlines from sla_policy, counted in business hours of its calendar:'
SELECT id, urgency, to_char(opened_at AT TIME ZONE 'Asia/Shanghai', 'Dy DD Mon HH24:MI') AS opened,
       to_char(respond_by AT TIME ZONE 'Asia/Shanghai', 'Dy DD Mon HH24:MI') AS respond_by,
       to_char(resolve_by AT TIME ZONE 'Asia/Shanghai', 'Dy DD Mon HH24:MI') AS resolve_by
  FROM repairsys.ticket WHERE id IN (1, 3, 4) ORDER BY id;

\echo
\echo '== 4. The life cycle cannot be bypassed'
\set SHOW_CONTEXT never
\echo 'An application tries to close every new ticket with a plain UPDATE:'
\set ON_ERROR_STOP 0
UPDATE repairsys.ticket SET status = 'closed' WHERE status = 'new';
\set ON_ERROR_STOP 1

\echo
\echo '== 5. Dispatch: candidates are scored in C, with the reasons visible'
\echo 'The dispatcher looks at the candidates for the first ticket:'
\set SHOW_CONTEXT never
SELECT c.technician_id, t.name, c.eligible, coalesce(c.reason, '') AS reason, round(c.score::numeric, 3) AS score,
       round(c.distance_km::numeric, 1) AS km, round(c.skill_score::numeric, 2) AS skill,
       round(c.load_score::numeric, 2) AS load, round(c.continuity_score::numeric, 2) AS continuity
  FROM repairsys.candidates((SELECT min(id) FROM repairsys.ticket)) c
  JOIN repairsys.technician t ON t.id = c.technician_id;
\echo 'It assigns that one ticket to the best eligible technician:'
SELECT repairsys.auto_assign((SELECT min(id) FROM repairsys.ticket)) AS assigned_technician;
\echo 'Then the whole backlog at once, maximizing the total score within capacities (urgent first when short):'
SELECT p.ticket_id, t.urgency, tech.name AS technician, round(p.score::numeric, 3) AS score
  FROM repairsys.auto_assign_pending() p
  JOIN repairsys.ticket t ON t.id = p.ticket_id
  JOIN repairsys.technician tech ON tech.id = p.technician_id
 ORDER BY p.ticket_id;
SELECT tech.name, tech.capacity, count(t.id) AS open_tickets
  FROM repairsys.technician tech
  LEFT JOIN repairsys.ticket t ON t.technician_id = tech.id AND t.status NOT IN ('closed', 'cancelled')
 GROUP BY tech.id ORDER BY tech.id;

\echo
\echo '== 6. Work: estimates approved, parts, labor, resolution'
\echo 'Before work, the customer of an out-of-warranty job sees a price range (预估费用):'
SELECT scenario, line_no, kind, description, amount, tax_amount, scenario_total
  FROM repairsys.estimate((SELECT min(t.id) FROM repairsys.ticket t WHERE t.status = 'assigned' AND t.service_type = 'ac_repair'
                            AND repairsys.ticket_is_billable(t)));
\echo 'Work starts where the customer approved the estimate (warranty work needs no approval):'
SELECT count(*) AS estimates_approved FROM repairsys.ticket t, LATERAL repairsys.approve_estimate(t.id)
 WHERE t.id % 6 IN (1, 2, 3, 4) AND t.status = 'assigned' AND repairsys.ticket_is_billable(t);
UPDATE repairsys.ticket SET status = 'in_progress'
 WHERE status = 'assigned' AND (estimate_approved_at IS NOT NULL OR NOT repairsys.ticket_is_billable(ticket));
SELECT repairsys.set_status(id, 'waiting_parts', 'compressor ordered') FROM repairsys.ticket WHERE status = 'in_progress' AND id % 7 = 0 \g /dev/null
\echo 'Technicians reserve parts at their center (a reservation that does not fit is refused):'
SELECT t.id AS ticket_id, p.sku, repairsys.reserve_part(t.id, p.sku, 1) IS NOT NULL AS reserved
  FROM repairsys.ticket t
  JOIN (VALUES ('ac_repair', 'CAP-35UF'), ('washer_repair', 'PUMP-W10'), ('tv_repair', 'BOARD-TV')) AS p(st, sku) ON p.st = t.service_type
 WHERE t.status = 'in_progress' AND t.id % 3 <> 0 AND EXISTS (
	SELECT 1 FROM repairsys.stock s WHERE s.sku = p.sku AND s.service_center_id = t.service_center_id AND s.on_hand - s.reserved >= 1)
 ORDER BY t.id;
UPDATE repairsys.ticket SET status = 'resolved', labor_minutes = 30 + (id * 13) % 150, travel_km = (id * 7) % 25
 WHERE status = 'in_progress' AND id % 3 <> 0;
\echo 'Resolving issued the reserved parts from stock; warranty work closes right away (its bill is zero):'
UPDATE repairsys.ticket SET status = 'closed' WHERE status = 'resolved' AND NOT repairsys.ticket_is_billable(ticket);

\echo
\echo '== 6b. The bill: every line explained, invoices frozen, payments idempotent'
SELECT min(id) AS billed FROM repairsys.ticket t WHERE status = 'resolved' AND EXISTS (SELECT 1 FROM repairsys.ticket_part tp WHERE tp.ticket_id = t.id) \gset
SELECT line_no, kind, description, quantity, unit, unit_price, amount, tax_rate, tax_amount
  FROM repairsys.bill_detail WHERE ticket_id = :billed;
SELECT ticket_id, labor, parts, travel, surcharges, coverage, subtotal, tax, total FROM repairsys.bill_summary WHERE ticket_id = :billed;
\echo 'Invoices for every resolved billable ticket; customers pay by WeChat, Alipay or card (a retried payment is recorded once):'
SELECT count(*) AS invoices_issued FROM repairsys.ticket t, LATERAL repairsys.issue_invoice(t.id) WHERE t.status = 'resolved';
SELECT count(*) AS payments_submitted, count(DISTINCT p.id) AS payments_recorded
  FROM (SELECT repairsys.record_payment(i.id, (ARRAY['wechat', 'alipay', 'card'])[1 + i.id % 3], i.total, 'demo-' || i.id)
          FROM repairsys.invoice i, generate_series(1, 2) retry WHERE i.id % 4 <> 0 AND i.total > 0) p(id);
\echo 'One customer pays in three installments instead (the cents go to the first):'
SELECT seq, due_on, amount FROM repairsys.plan_installments((SELECT min(id) FROM repairsys.invoice WHERE id % 4 = 0), 3, current_date + 30, '1 month');
UPDATE repairsys.ticket t SET status = 'closed'
 WHERE t.status = 'resolved' AND (SELECT balance FROM repairsys.bill_summary b WHERE b.ticket_id = t.id) = 0;
UPDATE repairsys.ticket SET status = 'cancelled' WHERE status = 'new' AND id % 4 = 0;

SELECT s.code AS status, count(t.id) AS tickets
  FROM repairsys.ticket_status s LEFT JOIN repairsys.ticket t ON t.status = s.code
 GROUP BY s.code, s.sort_order ORDER BY s.sort_order;

\echo
\echo '== 7. SLA clocks: business time left, holds, breaches, stuck tickets'
\echo 'Two requests phoned in on a Friday evening more than a week ago were forgotten, and are entered only now:'
INSERT INTO repairsys.ticket (customer_id, asset_id, service_type, urgency, channel, description, opened_at)
SELECT a.customer_id, a.id, 'ac_repair', 'normal', 'phone', 'Late phone request',
       (d.last_friday - 7 + time '19:30') AT TIME ZONE 'Asia/Shanghai'
  FROM repairsys.asset a,
       LATERAL (SELECT l.today - ((extract(isodow FROM l.today)::int + 1) % 7 + 1) AS last_friday
                  FROM (SELECT (now() AT TIME ZONE 'Asia/Shanghai')::date AS today) l) d
 WHERE a.model = 'Gree KFR-35' ORDER BY a.id LIMIT 2;
SELECT id, to_char(opened_at AT TIME ZONE 'Asia/Shanghai', 'Dy DD Mon HH24:MI') AS opened,
       to_char(respond_by AT TIME ZONE 'Asia/Shanghai', 'Dy DD Mon HH24:MI') AS respond_by,
       to_char(resolve_by AT TIME ZONE 'Asia/Shanghai', 'Dy DD Mon HH24:MI') AS resolve_by
  FROM repairsys.ticket WHERE description = 'Late phone request' ORDER BY id;
SELECT ticket_id, status, urgency, paused, business_hours_left, response_breached, breached
  FROM repairsys.sla_status ORDER BY business_hours_left NULLS LAST, ticket_id LIMIT 8;
SELECT count(*) FILTER (WHERE breached) AS breached, count(*) FILTER (WHERE paused) AS on_hold, count(*) AS open_tickets
  FROM repairsys.sla_status;
\echo 'Tickets in a state longer than its max_dwell (none yet: this company opened today):'
SELECT ticket_id, status, hours_in_status, max_dwell_hours FROM repairsys.stuck_tickets ORDER BY ticket_id;

\echo
\echo '== 7b. Visits (预约上门): rosters, a make-up Saturday, a booked slot, leave, a reschedule, the check-in'
\echo 'Pudong works mon-fri 09:00-18:00; next Saturday is a make-up working day (调休) with Friday''s hours:'
SELECT (d.today + (6 - extract(isodow FROM d.today)::int) + 7) AS makeup_saturday
  FROM (SELECT (now() AT TIME ZONE 'Asia/Shanghai')::date AS today) d \gset
INSERT INTO repairsys.holiday (service_center_id, day, name, kind, works_as)
	SELECT id, :'makeup_saturday', 'make-up working day', 'workday', 5 FROM repairsys.service_center WHERE name = 'Shanghai Pudong';
INSERT INTO repairsys.technician_roster (technician_id, calendar, valid_from)
	SELECT te.id, 'mon-fri 09:00-12:00 13:00-18:00', :'makeup_saturday'::date - 14
	  FROM repairsys.technician te JOIN repairsys.service_center c ON c.id = te.service_center_id WHERE c.name = 'Shanghai Pudong';
SELECT te.name, to_char(s.shift_start AT TIME ZONE 'Asia/Shanghai', 'Dy DD Mon HH24:MI') AS shift_start,
       to_char(s.shift_end AT TIME ZONE 'Asia/Shanghai', 'HH24:MI') AS shift_end
  FROM repairsys.technician_shifts(:'makeup_saturday', :'makeup_saturday') s JOIN repairsys.technician te ON te.id = s.technician_id
 ORDER BY te.name, s.shift_start;
\echo 'The SLA clock runs on the make-up Saturday: 8 business hours from Friday 17:00 end there at 16:00 (else on Monday):'
SELECT to_char(repairsys.sla_deadline('8h in mon-fri 09:00-18:00 Asia/Shanghai', (:'makeup_saturday'::date - 1 + time '17:00') AT TIME ZONE 'Asia/Shanghai',
                                      NULL, NULL, ARRAY[:'makeup_saturday'::date]) AT TIME ZONE 'Asia/Shanghai', 'Dy DD Mon HH24:MI') AS with_makeup_day,
       to_char(repairsys.sla_deadline('8h in mon-fri 09:00-18:00 Asia/Shanghai', (:'makeup_saturday'::date - 1 + time '17:00') AT TIME ZONE 'Asia/Shanghai')
               AT TIME ZONE 'Asia/Shanghai', 'Dy DD Mon HH24:MI') AS without;
\echo 'A customer near Pudong with a washing machine to repair opens a request and looks at the free slots of that Saturday:'
SELECT repairsys.open_ticket(c.id, 'washer_repair', 'Washer leaks, please come on Saturday', channel => 'mini_program') AS visit_ticket
  FROM repairsys.customer c, repairsys.service_center sc
 WHERE sc.name = 'Shanghai Pudong'
 ORDER BY repairsys.haversine_km(c.lat, c.lon, sc.lat, sc.lon), c.id LIMIT 1 \gset
SELECT to_char(slot_start AT TIME ZONE 'Asia/Shanghai', 'Dy DD Mon HH24:MI') AS slot, to_char(slot_end AT TIME ZONE 'Asia/Shanghai', 'HH24:MI') AS until,
       technicians_free
  FROM repairsys.available_slots(:visit_ticket, :'makeup_saturday', 1);
\echo 'The customer picks 09:00; the best scored free technician is booked and the ticket assigned:'
SELECT repairsys.book_visit(:visit_ticket, (:'makeup_saturday'::date + time '09:00') AT TIME ZONE 'Asia/Shanghai') AS appointment \gset
SELECT te.name AS technician, t.status FROM repairsys.ticket t JOIN repairsys.technician te ON te.id = t.technician_id WHERE t.id = :visit_ticket;
\echo 'The technician asks for that Saturday off; the dispatcher cannot approve it while the visit is booked:'
INSERT INTO repairsys.technician_absence (technician_id, during, reason)
	SELECT technician_id, tstzrange((:'makeup_saturday'::date + time '00:00') AT TIME ZONE 'Asia/Shanghai',
	                                (:'makeup_saturday'::date + 1 + time '00:00') AT TIME ZONE 'Asia/Shanghai'), 'family visit'
	  FROM repairsys.appointment WHERE id = :appointment;
DO $$
BEGIN
	UPDATE repairsys.technician_absence SET status = 'approved' WHERE reason = 'family visit';
EXCEPTION WHEN check_violation THEN
	RAISE WARNING 'refused: %', SQLERRM;
END
$$;
\echo 'So the visit is cancelled, the leave approved, the visit booked again at 13:00 (another technician comes) and then moved (改约) by the customer to 15:00:'
SELECT repairsys.cancel_visit(:visit_ticket, 'technician on leave') IS NOT NULL AS cancelled;
UPDATE repairsys.technician_absence SET status = 'approved' WHERE reason = 'family visit';
SELECT repairsys.book_visit(:visit_ticket, (:'makeup_saturday'::date + time '13:00') AT TIME ZONE 'Asia/Shanghai') IS NOT NULL AS booked_again;
SELECT repairsys.reschedule_visit(:visit_ticket, (:'makeup_saturday'::date + time '15:00') AT TIME ZONE 'Asia/Shanghai', 'customer asked for later') IS NOT NULL AS moved;
SELECT te.name AS technician, to_char(a.slot_start AT TIME ZONE 'Asia/Shanghai', 'Dy DD Mon HH24:MI') AS visit, a.state, a.reason
  FROM repairsys.appointment a JOIN repairsys.technician te ON te.id = a.technician_id WHERE a.ticket_id = :visit_ticket ORDER BY a.id;
\echo 'Candidates for the ticket now say who is free for the visit, and why the others are not:'
SELECT te.name, c.eligible, c.reason FROM repairsys.candidates(:visit_ticket) c JOIN repairsys.technician te ON te.id = c.technician_id
 WHERE te.service_center_id = (SELECT service_center_id FROM repairsys.ticket WHERE id = :visit_ticket) ORDER BY c.eligible DESC, te.name;
\echo 'The technician checks in (上门); sla_status shows the visit and whether he came late:'
SELECT repairsys.check_in(:visit_ticket) IS NOT NULL AS checked_in;
SELECT ticket_id, to_char(visit_start AT TIME ZONE 'Asia/Shanghai', 'Dy DD Mon HH24:MI') AS visit, arrived_at IS NOT NULL AS arrived, arrival_late
  FROM repairsys.sla_status WHERE ticket_id = :visit_ticket;

\echo
\echo '== 8. Spare parts: the ledger, alerts and transfers between centers'
SELECT c.name AS center, s.sku, s.on_hand, s.reserved, s.on_hand - s.reserved AS available
  FROM repairsys.stock s JOIN repairsys.service_center c ON c.id = s.service_center_id ORDER BY s.sku, c.name;
\echo 'Low stock (below the part minimum):'
SELECT c.name AS center, l.sku, l.available, l.min_stock, l.missing
  FROM repairsys.low_stock l JOIN repairsys.service_center c ON c.id = l.service_center_id ORDER BY l.sku, c.name;
\echo 'Move stock before ordering (调配): surplus at one center covering a shortage at another:'
SELECT t.sku, a.name AS from_center, b.name AS to_center, t.qty, round(t.distance_km::numeric, 1) AS km
  FROM repairsys.stock_transfer_suggestion t
  JOIN repairsys.service_center a ON a.id = t.from_center_id JOIN repairsys.service_center b ON b.id = t.to_center_id
 ORDER BY t.sku, t.distance_km;
\echo 'Intermittent demand forecast (Croston / SBA / TSB) of a part issued 2 units every 10th day:'
SELECT m AS method, round(repairsys.forecast_demand(ARRAY(SELECT CASE WHEN d % 10 = 0 THEN 2 ELSE 0 END::float8 FROM generate_series(1, 365) d), m)::numeric, 4) AS units_per_day
  FROM unnest(ARRAY['ses', 'croston', 'sba', 'tsb']) m;

\echo
\echo '== 9. The DBA checks: the billing audit and the invariants are empty'
SELECT count(*) AS billing_problems FROM repairsys.billing_audit;
SELECT count(*) AS invariant_violations FROM repairsys.check_invariants();

\echo
\echo 'Every change is in the history, with who made it:'
SELECT e.ticket_id, coalesce(e.from_status, '(opened)') AS from_status, e.to_status, e.actor, e.note
  FROM repairsys.ticket_event e
 WHERE e.ticket_id = (SELECT min(ticket_id) FROM repairsys.ticket_event WHERE note IS NOT NULL)
 ORDER BY e.id;
SELECT count(*) AS history_rows, count(DISTINCT ticket_id) AS tickets FROM repairsys.ticket_event;

\echo
\echo '== 10. Cost management: overheads, budgets, reputation, a recall and the manager''s page'
\echo 'Each center books its rent and call center for the month; they are allocated to the month''s tickets by labor minutes:'
INSERT INTO repairsys.overhead (service_center_id, month, cost_class, amount, note)
SELECT c.id, date_trunc('month', now() AT TIME ZONE c.time_zone)::date, v.k, v.a, 'demo'
  FROM repairsys.service_center c, (VALUES ('rent', 8000.00), ('call_center', 2500.00)) AS v(k, a);
SELECT c.name AS center, o.cost_class, o.amount, sum(a.amount) AS allocated, count(a.ticket_id) AS tickets
  FROM repairsys.overhead o JOIN repairsys.service_center c ON c.id = o.service_center_id
  LEFT JOIN repairsys.overhead_allocation a ON a.overhead_id = o.id
 GROUP BY c.name, o.id ORDER BY c.name, o.cost_class;
\echo 'The ROI on the full cost (direct + overheads) next to the ROI on the direct cost:'
SELECT c.name AS center, b.month, sum(b.tickets) AS tickets, sum(b.revenue) AS revenue, sum(b.direct_cost) AS direct_cost,
       sum(b.indirect_cost) AS indirect_cost, round(sum(b.margin) / nullif(sum(b.direct_cost), 0), 4) AS roi,
       round(sum(b.full_margin) / nullif(sum(b.full_cost), 0), 4) AS full_roi
  FROM repairsys.service_benefit b JOIN repairsys.service_center c ON c.id = b.service_center_id
 GROUP BY c.name, b.month ORDER BY c.name, b.month;
\echo 'Budgets for the month, watched against the actual and projected cost (预算控制):'
INSERT INTO repairsys.budget (service_center_id, month, cost_class, amount)
SELECT c.id, date_trunc('month', now() AT TIME ZONE c.time_zone)::date, v.k, v.a
  FROM repairsys.service_center c, (VALUES ('labor', 300.00), ('parts', 2000.00), ('rent', 8000.00), ('call_center', 2000.00)) AS v(k, a);
SELECT c.name AS center, s.cost_class, s.budget, s.actual, s.projected, s.variance, s.alert
  FROM repairsys.budget_status s JOIN repairsys.service_center c ON c.id = s.service_center_id ORDER BY c.name, s.cost_class;
\echo 'Reputation per center and month of closing (品牌形象和声誉):'
INSERT INTO repairsys.feedback (ticket_id, rating, complaint)
SELECT t.id, 1 + (t.id * 7) % 5, (t.id * 7) % 5 = 0 FROM repairsys.ticket t
 WHERE t.status_role = 'closed' AND NOT EXISTS (SELECT 1 FROM repairsys.feedback f WHERE f.ticket_id = t.id);
SELECT c.name AS center, r.month, r.closed_tickets, r.ratings, r.csat_pct, r.detractor_pct, r.complaint_rate, r.repeat_rate
  FROM repairsys.reputation r JOIN repairsys.service_center c ON c.id = r.service_center_id ORDER BY c.name, r.month;
\echo 'A product recall (产品召回): one ticket per affected unit; run twice, it opens nothing new:'
SELECT tickets_opened FROM repairsys.open_recall('Gree KFR-35', 'Gree KFR-35-00001', 'Gree KFR-35-00020', 'ac_repair', 'Capacitor batch may overheat');
SELECT tickets_opened FROM repairsys.open_recall('Gree KFR-35', 'Gree KFR-35-00001', 'Gree KFR-35-00020', 'ac_repair', 'Capacitor batch may overheat');
SELECT model, serial_from, serial_to, tickets, open_tickets, done_tickets, done_pct FROM repairsys.recall_progress;
\if :{?report_file}
\else
\set report_file /tmp/repairsys-report.html
\endif
UPDATE repairsys.service_center SET language = 'zh-CN' WHERE name = 'Suzhou Industrial Park';
SELECT id AS report_center, date_trunc('month', now() AT TIME ZONE time_zone)::date AS report_month
  FROM repairsys.service_center WHERE name = 'Shanghai Pudong' \gset
\pset format unaligned
\pset tuples_only on
\o :report_file
SELECT repairsys.report_html(:report_center, :'report_month');
\o
\pset format aligned
\pset tuples_only off
\echo 'The manager''s one-page report of Shanghai Pudong for this month (open it in a browser; Suzhou Industrial Park''s would be in Chinese) is in:'
\echo '   ' :report_file

\echo
\echo '== 11. A day plan (plan_day): who goes where, in which order, with the least driving'
\echo 'Pudong books one-hour visits now; eight washing machines near the center break down, the requests come in one after the other:'
UPDATE repairsys.setting SET value = '1 hour' WHERE name = 'slot_length';
SELECT repairsys.open_ticket(n.id, 'washer_repair', 'Day plan request ' || n.id, channel => 'app') AS ticket_id
  FROM (SELECT c.id FROM repairsys.customer c, repairsys.service_center sc WHERE sc.name = 'Shanghai Pudong'
         ORDER BY repairsys.haversine_km(c.lat, c.lon, sc.lat, sc.lon), c.id LIMIT 8) n
 ORDER BY n.id \g /dev/null
-- the Monday after the make-up Saturday: the technicians' roster, no holiday
SELECT :'makeup_saturday'::date + 2 AS plan_day, id AS plan_center FROM repairsys.service_center WHERE name = 'Shanghai Pudong' \gset
CREATE TEMP TABLE demo_plan AS SELECT * FROM repairsys.plan_day(:plan_center, :'plan_day') WHERE seq IS NOT NULL;
\echo 'The plan of Pudong for Monday (times local, window: the booked slot or the technician''s free stretch):'
SELECT te.name AS technician, p.seq AS "order", p.ticket_id, to_char(p.arrive_at AT TIME ZONE 'Asia/Shanghai', 'HH24:MI') AS arrival,
       to_char(p.start_at AT TIME ZONE 'Asia/Shanghai', 'HH24:MI') || '-' || to_char(p.depart_at AT TIME ZONE 'Asia/Shanghai', 'HH24:MI') AS "window",
       round(p.travel_km::numeric, 1) AS km
  FROM demo_plan p JOIN repairsys.technician te ON te.id = p.technician_id ORDER BY te.id, p.seq;
\echo 'Its driving (from each technician''s base and back) against the same visits in booking order (ticket id):'
WITH base AS (
	SELECT te.id, coalesce(te.lat, c.lat) AS lat, coalesce(te.lon, c.lon) AS lon
	  FROM repairsys.technician te JOIN repairsys.service_center c ON c.id = te.service_center_id),
stops AS (
	SELECT p.technician_id, p.seq, row_number() OVER (PARTITION BY p.technician_id ORDER BY p.ticket_id) AS booked, t.lat, t.lon
	  FROM demo_plan p JOIN repairsys.ticket t ON t.id = p.ticket_id),
legs AS (
	-- each order: the legs between consecutive stops, and from the base to the first and from the last back
	SELECT o.k, s.technician_id,
	       repairsys.haversine_km(coalesce(lag(s.lat) OVER w, b.lat), coalesce(lag(s.lon) OVER w, b.lon), s.lat, s.lon)
	       + CASE WHEN lead(s.lat) OVER w IS NULL THEN repairsys.haversine_km(s.lat, s.lon, b.lat, b.lon) ELSE 0 END AS km
	  FROM (VALUES ('plan'), ('booking')) AS o(k) CROSS JOIN stops s JOIN base b ON b.id = s.technician_id
	WINDOW w AS (PARTITION BY o.k, s.technician_id ORDER BY CASE o.k WHEN 'plan' THEN s.seq ELSE s.booked END))
SELECT count(DISTINCT technician_id) AS technicians, count(*) / 2 AS visits,
       round(sum(km) FILTER (WHERE k = 'plan')::numeric, 2) AS plan_km,
       round(sum(km) FILTER (WHERE k = 'booking')::numeric, 2) AS booking_order_km,
       round(100 * (1 - sum(km) FILTER (WHERE k = 'plan') / nullif(sum(km) FILTER (WHERE k = 'booking'), 0))::numeric, 1) AS saved_pct
  FROM legs;
