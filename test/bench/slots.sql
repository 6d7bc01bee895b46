-- test/bench/slots.sql: the cost of time-aware dispatch, measured side by side.
--
--   psql -X -d DB -f test/bench/slots.sql [-v ntech=200] [-v calls=20] [-v n=100000]
--
-- 1. available_slots() for one ticket of a center of :ntech technicians over
--    7 days (rosters with two windows a day, a make-up Saturday, a closed
--    day, approved absences, about two booked visits per technician), :calls
--    times; against the same answer computed the naive way (visit_conflict()
--    for every technician and every candidate slot), cross-checked for equal
--    results: ms per call and the ratio;
-- 2. sla_deadline() with 60 open (make-up) days per case against the same
--    deadlines without them, :n cases: the cost of open days as a ratio.
-- Works in a database of its own (the data stays there).
\set ON_ERROR_STOP 1
\if :{?ntech}
\else
\set ntech 200
\endif
\if :{?calls}
\else
\set calls 20
\endif
\if :{?n}
\else
\set n 100000
\endif
SET client_min_messages = warning;
SET TimeZone = 'UTC';
SELECT setseed(0.14);

INSERT INTO repairsys.service_center (name, lat, lon, time_zone) VALUES ('bench center', 31.22, 121.54, 'Asia/Shanghai');
INSERT INTO repairsys.holiday (service_center_id, day, name, kind, works_as)
	SELECT id, date '2030-03-09', 'make-up Saturday', 'workday', 1 FROM repairsys.service_center
	UNION ALL SELECT id, date '2030-03-13', 'closed Wednesday', 'closed', 1 FROM repairsys.service_center;
INSERT INTO repairsys.service_type (code, name, required_skill, labor_fee) VALUES ('bench_fix', 'bench fix', 'fix', '0+:1.00');
INSERT INTO repairsys.technician (name, service_center_id, lat, lon, capacity)
	SELECT 'bench tech ' || i, c.id, c.lat + (random() - 0.5) * 0.2, c.lon + (random() - 0.5) * 0.2, 50
	  FROM repairsys.service_center c, generate_series(1, :ntech) i;
INSERT INTO repairsys.technician_skill (technician_id, skill, level) SELECT id, 'fix', 1 + (random() * 4)::int FROM repairsys.technician;
INSERT INTO repairsys.technician_roster (technician_id, calendar, valid_from)
	SELECT id, CASE WHEN id % 5 = 0 THEN 'tue-sat 10:00-14:00 15:00-19:00' ELSE 'mon-fri 09:00-12:00 13:00-18:00' END, '2030-01-01'
	  FROM repairsys.technician;
INSERT INTO repairsys.technician_absence (technician_id, during, reason, status)
	SELECT id, tstzrange(timestamptz '2030-03-08 09:00+08' + (id % 5) * interval '1 day', timestamptz '2030-03-08 18:00+08' + (id % 5) * interval '1 day'),
	       'bench leave', 'approved'
	  FROM repairsys.technician WHERE id % 10 = 0;
INSERT INTO repairsys.customer (name, lat, lon, service_center_id)
	SELECT 'bench customer ' || i, c.lat + (random() - 0.5) * 0.2, c.lon + (random() - 0.5) * 0.2, c.id
	  FROM repairsys.service_center c, generate_series(1, 2 * :ntech + 1) i;
-- two visits per technician in the week, on different days (written as a
-- migration writes them: booked_at in the past, so they are taken as they are)
CREATE TEMP TABLE bt AS
SELECT te.id AS tech, k, repairsys.open_ticket(cu.id, 'bench_fix', 'bench') AS ticket,
       timestamptz '2030-03-08 09:00+08' + ((te.id + k * 2) % 5) * interval '1 day' + (k * 2) * interval '1 hour' AS s
  FROM repairsys.technician te
 CROSS JOIN generate_series(0, 1) k
  JOIN repairsys.customer cu ON cu.name = 'bench customer ' || (2 * (te.id - (SELECT min(id) FROM repairsys.technician)) + k + 1);
INSERT INTO repairsys.appointment (ticket_id, technician_id, slot_start, slot_end, booked_at)
	SELECT bt.ticket, bt.tech, bt.s, bt.s + interval '2 hours', '2029-01-01'
	  FROM bt
	 WHERE repairsys.visit_conflict(bt.tech, NULL, NULL, bt.s, bt.s + interval '2 hours') IS NULL;
SELECT repairsys.open_ticket((SELECT id FROM repairsys.customer WHERE name = 'bench customer ' || (2 * :ntech + 1)), 'bench_fix', 'the bench ticket') AS ticket \gset
ANALYZE;
SELECT count(*) AS technicians, (SELECT count(*) FROM repairsys.appointment) AS booked_visits,
       (SELECT count(*) FROM repairsys.technician_absence) AS absences
  FROM repairsys.technician;

-- the naive way: every technician, every candidate slot of his shifts, visit_conflict()
CREATE FUNCTION pg_temp.naive_slots(t bigint, d date, days int)
RETURNS TABLE (slot_start timestamptz, slot_end timestamptz, technicians_free integer)
LANGUAGE sql STABLE AS $$
	WITH tk AS (SELECT x.* FROM repairsys.ticket x WHERE x.id = t),
	     sh AS (SELECT te.id AS tech, r.r
	              FROM tk, repairsys.technician te
	             CROSS JOIN LATERAL unnest(repairsys.roster_ranges(te.id, repairsys.local_midnight(d, 'Asia/Shanghai'),
	                                                              repairsys.local_midnight(d + days, 'Asia/Shanghai'))) AS r(r)
	             WHERE te.service_center_id = tk.service_center_id AND te.active),
	     c AS (SELECT sh.tech, g AS s FROM sh CROSS JOIN LATERAL generate_series(lower(sh.r), upper(sh.r) - interval '2 hours', interval '2 hours') g)
	SELECT c.s, c.s + interval '2 hours', count(*)::int
	  FROM c, tk
	 WHERE repairsys.visit_conflict(c.tech, tk.lat, tk.lon, c.s, c.s + interval '2 hours') IS NULL
	 GROUP BY 1, 2 ORDER BY 1, 2
$$;

SELECT set_config('bench.calls', :'calls', false) IS NOT NULL AND set_config('bench.ticket', :'ticket', false) IS NOT NULL AS set;
DO $$
DECLARE
	t0 timestamptz;
	fast double precision;
	slow double precision;
	calls int := current_setting('bench.calls')::int;
	tk bigint := current_setting('bench.ticket')::bigint;
	diff bigint;
	nslots int;
BEGIN
	diff := (SELECT count(*) FROM ((SELECT * FROM repairsys.available_slots(tk, '2030-03-08', 7)
	                                EXCEPT ALL SELECT * FROM pg_temp.naive_slots(tk, '2030-03-08', 7))
	                               UNION ALL
	                               (SELECT * FROM pg_temp.naive_slots(tk, '2030-03-08', 7)
	                                EXCEPT ALL SELECT * FROM repairsys.available_slots(tk, '2030-03-08', 7))) x);
	nslots := (SELECT count(*) FROM repairsys.available_slots(tk, '2030-03-08', 7));
	RAISE WARNING 'available_slots: % slots over 7 days; rows differing from the naive computation: % (must be 0)', nslots, diff;
	t0 := clock_timestamp();
	FOR i IN 1..calls LOOP
		PERFORM count(*) FROM repairsys.available_slots(tk, '2030-03-08', 7);
	END LOOP;
	fast := extract(epoch FROM clock_timestamp() - t0) * 1000 / calls;
	t0 := clock_timestamp();
	FOR i IN 1..greatest(1, calls / 5) LOOP
		PERFORM count(*) FROM pg_temp.naive_slots(tk, '2030-03-08', 7);
	END LOOP;
	slow := extract(epoch FROM clock_timestamp() - t0) * 1000 / greatest(1, calls / 5);
	RAISE WARNING 'available_slots, % technicians x 7 days: % ms per call; naive per-technician-and-slot check: % ms; speed-up %x',
		(SELECT count(*) FROM repairsys.technician), round(fast::numeric, 1), round(slow::numeric, 1), round((slow / fast)::numeric, 1);
END
$$;

-- 2. open days: 60 make-up days per case against none
CREATE TEMP TABLE cases AS
SELECT timestamptz '2027-01-01 00:00+00' + random() * interval '700 days' AS start,
       (ARRAY['8h in mon-fri 09:00-18:00 Asia/Shanghai', '40h in mon-fri 09:00-12:00 13:00-18:00 Asia/Shanghai',
              '200h in mon-sat 08:00-20:00 Europe/Berlin'])[1 + (random() * 2)::int]::repairsys.sla_interval AS sla
  FROM generate_series(1, :n);
CREATE TEMP TABLE od AS
SELECT array_agg(d ORDER BY d) AS days FROM (SELECT DISTINCT date '2027-01-01' + (random() * 800)::int AS d FROM generate_series(1, 60)) x;
DO $$
DECLARE
	t0 timestamptz;
	with_open double precision;
	without double precision;
	days date[] := (SELECT days FROM od);
	n bigint := (SELECT count(*) FROM cases);
BEGIN
	-- (warm both, then time each)
	PERFORM count(repairsys.sla_deadline(c.sla, c.start)) FROM cases c;
	t0 := clock_timestamp();
	PERFORM count(repairsys.sla_deadline(c.sla, c.start)) FROM cases c;
	without := extract(epoch FROM clock_timestamp() - t0);
	t0 := clock_timestamp();
	PERFORM count(repairsys.sla_deadline(c.sla, c.start, NULL, NULL, days)) FROM cases c;
	with_open := extract(epoch FROM clock_timestamp() - t0);
	RAISE WARNING 'sla_deadline over % cases: % us each without open days, % us with % open days: ratio %',
		n, round((without * 1e6 / n)::numeric, 2), round((with_open * 1e6 / n)::numeric, 2), array_length(days, 1),
		round((with_open / without)::numeric, 2);
END
$$;
