-- Load-test fixture: a company and a workload driver (schema load, not part
-- of the extension).  load.step(kind) does one business action on a random
-- suitable ticket and returns what happened; refusals that are legitimate
-- business outcomes under concurrency (nothing in stock, nobody free, the
-- ticket moved meanwhile) return 'refused'; anything else raises, so
-- pgbench counts it as a failure.
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
CREATE SCHEMA load;
INSERT INTO repairsys.service_center (name, lat, lon, time_zone)
SELECT 'load center ' || i, 31 + i * 0.05, 121 + i * 0.05, 'Asia/Shanghai' FROM generate_series(1, 3) i;
INSERT INTO repairsys.technician (name, service_center_id, lat, lon, capacity)
SELECT 'load tech ' || i, c.id, c.lat, c.lon, 4 FROM generate_series(1, 24) i
  JOIN repairsys.service_center c ON c.name = 'load center ' || (1 + i % 3);
INSERT INTO repairsys.technician_skill SELECT id, 'hvac', 3 FROM repairsys.technician;
-- rosters (docs/dispatch.md): every day 08:00-20:00 in the center's zone, so
-- that visits can be booked in the week the load books into
INSERT INTO repairsys.technician_roster (technician_id, calendar, valid_from)
SELECT id, 'mon-sun 08:00-20:00', '2030-01-01' FROM repairsys.technician;
INSERT INTO repairsys.customer (name, lat, lon, service_center_id)
SELECT 'load customer ' || i, c.lat, c.lon, c.id FROM generate_series(1, 300) i
  JOIN repairsys.service_center c ON c.name = 'load center ' || (1 + i % 3);
INSERT INTO repairsys.service_type (code, name, required_skill, labor_fee, travel_fee, callout_fee, est_minutes_low, est_minutes_high)
VALUES ('load_fix', 'load fix', 'hvac', 'base=20, 0-60:2.00, 60+:1.50, min=80', '0-10:0, 10+:2.50', 30, 30, 120);
INSERT INTO repairsys.sla_policy (service_type, urgency, respond_within, resolve_within)
SELECT 'load_fix', u, '4h in mon-sun 08:00-20:00 Asia/Shanghai', '24h in mon-sun 08:00-20:00 Asia/Shanghai'
  FROM unnest(ARRAY['normal', 'urgent', 'emergency']) u;
INSERT INTO repairsys.part (sku, name, unit_cost, unit_price) VALUES ('LOAD-1', 'load part', 10, 25), ('LOAD-2', 'scarce part', 50, 90);
SELECT repairsys.receive_part('LOAD-1', id, 400) FROM repairsys.service_center WHERE name LIKE 'load center %';
SELECT repairsys.receive_part('LOAD-2', id, 15) FROM repairsys.service_center WHERE name LIKE 'load center %';

-- a ticket in a state: the first at or after a random point, else the first
CREATE FUNCTION load.pick(st text) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
	start bigint := (SELECT min(id) + floor(random() * (max(id) - min(id) + 1))::bigint FROM repairsys.ticket WHERE service_type = 'load_fix');
BEGIN
	RETURN coalesce((SELECT t.id FROM repairsys.ticket t WHERE t.status = st AND t.service_type = 'load_fix' AND t.id >= start ORDER BY t.id LIMIT 1),
	                (SELECT t.id FROM repairsys.ticket t WHERE t.status = st AND t.service_type = 'load_fix' ORDER BY t.id LIMIT 1));
END $$;

CREATE FUNCTION load.step(kind text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	c   text;
	t   bigint;
	inv bigint;
	bal numeric;
BEGIN
	CASE kind
	WHEN 'open' THEN
		c := 'load customer ' || (1 + floor(random() * 300))::int;
		PERFORM repairsys.open_ticket((SELECT id FROM repairsys.customer WHERE name = c),
		                              'load_fix', 'load', (ARRAY['normal', 'normal', 'urgent', 'emergency'])[1 + floor(random() * 4)::int]);
	WHEN 'assign' THEN
		t := load.pick('new');
		IF t IS NULL THEN RETURN 'idle'; END IF;
		IF repairsys.auto_assign(t) IS NULL THEN RETURN 'refused'; END IF;
	WHEN 'book' THEN
		-- a visit in a random two-hour slot of the week of 4 March 2030 (local);
		-- nobody free then: refused (23514)
		t := load.pick('new');
		IF t IS NULL THEN RETURN 'idle'; END IF;
		PERFORM repairsys.book_visit(t, (timestamp '2030-03-04 08:00' + floor(random() * 7) * interval '1 day'
		                                 + floor(random() * 6) * interval '2 hours') AT TIME ZONE 'Asia/Shanghai');
	WHEN 'reschedule' THEN
		t := (SELECT a.ticket_id FROM repairsys.appointment a WHERE a.state = 'booked'
		       ORDER BY a.ticket_id >= (SELECT floor(random() * (max(x.id) + 1)) FROM repairsys.ticket x) DESC, a.ticket_id LIMIT 1);
		IF t IS NULL THEN RETURN 'idle'; END IF;
		IF (SELECT count(*) FROM repairsys.appointment a WHERE a.ticket_id = t AND a.state = 'rescheduled') >= 3 THEN
			PERFORM repairsys.cancel_visit(t, 'load: moved too often');
		ELSE
			PERFORM repairsys.reschedule_visit(t, (timestamp '2030-03-04 08:00' + floor(random() * 7) * interval '1 day'
			                                       + floor(random() * 6) * interval '2 hours') AT TIME ZONE 'Asia/Shanghai',
			                                   'load: customer asked');
		END IF;
	WHEN 'start' THEN
		t := load.pick('assigned');
		IF t IS NULL THEN RETURN 'idle'; END IF;
		PERFORM repairsys.approve_estimate(t);
		UPDATE repairsys.ticket SET status = 'in_progress' WHERE id = t;
	WHEN 'reserve' THEN
		t := load.pick('in_progress');
		IF t IS NULL THEN RETURN 'idle'; END IF;
		PERFORM repairsys.reserve_part(t, CASE WHEN random() < 0.7 THEN 'LOAD-1' ELSE 'LOAD-2' END, 1 + floor(random() * 2)::int);
	WHEN 'resolve' THEN
		t := load.pick('in_progress');
		IF t IS NULL THEN RETURN 'idle'; END IF;
		UPDATE repairsys.ticket SET status = 'resolved', labor_minutes = 20 + floor(random() * 150), travel_km = round((random() * 25)::numeric, 1)
		 WHERE id = t;
	WHEN 'pay' THEN
		t := load.pick('resolved');
		IF t IS NULL THEN RETURN 'idle'; END IF;
		inv := (SELECT id FROM repairsys.invoice WHERE ticket_id = t);
		IF inv IS NULL THEN inv := repairsys.issue_invoice(t); END IF;
		SELECT balance INTO bal FROM repairsys.bill_summary WHERE ticket_id = t;
		IF bal > 0 THEN
			-- a payment, retried once with the same key as a flaky network would
			PERFORM repairsys.record_payment(inv, 'wechat', bal, 'load-' || inv || '-' || bal);
			PERFORM repairsys.record_payment(inv, 'wechat', bal, 'load-' || inv || '-' || bal);
		END IF;
		UPDATE repairsys.ticket SET status = 'closed' WHERE id = t;
	END CASE;
	RETURN 'done';
EXCEPTION
	WHEN check_violation THEN RETURN 'refused';   -- 23514: a domain rule refused (moved meanwhile, no stock, paid twice)
END $$;
