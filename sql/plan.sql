-- Day plans (docs/dispatch.md "Day plans"): plan_day() over route_solve with
-- the day's booked visits and unbooked tickets, never breaking a booked
-- window, a shift or an absence; commit_plan() books through book_visit().
SET TimeZone = 'UTC';
SET DateStyle = 'ISO, YMD';
SET IntervalStyle = 'postgres';
\set SHOW_CONTEXT never
SET client_min_messages = notice;
-- (ids show up in messages: from 810001 on; put back at the end; everything
-- else is rolled back)
CREATE TEMP TABLE pl_seq AS
	SELECT format('%I.%I', schemaname, sequencename) AS seq, last_value, start_value
	  FROM pg_sequences WHERE schemaname = 'repairsys';
SELECT bool_and(setval(seq, 810000) = 810000) AS ids_moved FROM pl_seq;
\set ON_ERROR_ROLLBACK on
BEGIN;

-- A center in Shanghai, two technicians (one on leave in the afternoon), a
-- customer's ticket booked at 10:00 and five unbooked tickets around town.
INSERT INTO repairsys.service_center (name, lat, lon, time_zone) VALUES ('pl center', 31.2300, 121.4700, 'Asia/Shanghai');
INSERT INTO repairsys.service_type (code, name, required_skill, labor_fee) VALUES ('pl_fix', 'pl fix', 'pl_skill', '0+:1.00');
INSERT INTO repairsys.technician (name, service_center_id, lat, lon, capacity)
	SELECT n, c.id, c.lat, c.lon, 6 FROM repairsys.service_center c, unnest(ARRAY['pl Gao', 'pl Hu']) n WHERE c.name = 'pl center';
INSERT INTO repairsys.technician_skill (technician_id, skill, level) SELECT id, 'pl_skill', 3 FROM repairsys.technician WHERE name LIKE 'pl %';
INSERT INTO repairsys.technician_roster (technician_id, calendar, valid_from)
	SELECT id, 'mon-fri 09:00-12:00 13:00-18:00', '2030-01-01' FROM repairsys.technician WHERE name LIKE 'pl %';
INSERT INTO repairsys.technician_absence (technician_id, during, reason, status)
	SELECT id, '[2030-03-05 13:00+08, 2030-03-05 18:00+08)', 'pl afternoon off', 'approved' FROM repairsys.technician WHERE name = 'pl Hu';
INSERT INTO repairsys.customer (name, lat, lon, service_center_id)
	SELECT 'pl customer ' || i, 31.2300 + d.dlat, 121.4700 + d.dlon, c.id
	  FROM repairsys.service_center c,
	       (VALUES (1, 0.010, 0.020), (2, -0.030, 0.015), (3, 0.040, -0.020), (4, -0.010, -0.040), (5, 0.025, 0.035), (6, -0.045, -0.010)) d(i, dlat, dlon)
	 WHERE c.name = 'pl center';
CREATE TEMP TABLE pl AS
SELECT i, repairsys.open_ticket((SELECT id FROM repairsys.customer WHERE name = 'pl customer ' || i), 'pl_fix', 'pl ' || i) AS t
  FROM generate_series(1, 6) i;
SELECT repairsys.book_visit((SELECT t FROM pl WHERE i = 6), '2030-03-05 10:00+08', (SELECT id FROM repairsys.technician WHERE name = 'pl Gao')) > 0 AS booked;

-- The plan of Tuesday 5 March 2030
CREATE TEMP TABLE plan1 AS SELECT * FROM repairsys.plan_day((SELECT id FROM repairsys.service_center WHERE name = 'pl center'), '2030-03-05');
SELECT te.name, p.seq, pl.i AS ticket, to_char(p.arrive_at AT TIME ZONE 'Asia/Shanghai', 'HH24:MI') AS arrive,
       to_char(p.start_at AT TIME ZONE 'Asia/Shanghai', 'HH24:MI') AS start, to_char(p.depart_at AT TIME ZONE 'Asia/Shanghai', 'HH24:MI') AS depart,
       round(p.travel_km::numeric, 2) AS km
  FROM plan1 p JOIN repairsys.technician te ON te.id = p.technician_id JOIN pl ON pl.t = p.ticket_id
 ORDER BY te.name, p.seq;
-- what it never does: break the booked window, a shift or the absence, put
-- one ticket twice, make a technician be in two places at once
SELECT count(*) FILTER (WHERE pl.i = 6 AND p.start_at <> '2030-03-05 10:00+08') AS booked_moved,
       count(*) FILTER (WHERE NOT (repairsys.roster_ranges(p.technician_id, p.start_at, p.depart_at)
                                   OPERATOR(pg_catalog.-) repairsys.absence_ranges(p.technician_id)
                                   @> tstzrange(p.start_at, p.depart_at))) AS outside_shift,
       count(*) - count(DISTINCT p.ticket_id) AS twice
  FROM plan1 p JOIN pl ON pl.t = p.ticket_id;
SELECT count(*) AS too_close
  FROM plan1 a JOIN plan1 b ON a.technician_id = b.technician_id AND a.seq < b.seq
  JOIN repairsys.ticket ta ON ta.id = a.ticket_id JOIN repairsys.ticket tb ON tb.id = b.ticket_id
 WHERE b.start_at < a.depart_at + repairsys.travel_time(ta.lat, ta.lon, tb.lat, tb.lon);
-- the same input, the same plan
SELECT count(*) AS differ FROM ((SELECT * FROM plan1 EXCEPT SELECT * FROM repairsys.plan_day((SELECT id FROM repairsys.service_center WHERE name = 'pl center'), '2030-03-05'))
                                UNION ALL (SELECT * FROM repairsys.plan_day((SELECT id FROM repairsys.service_center WHERE name = 'pl center'), '2030-03-05') EXCEPT SELECT * FROM plan1)) x;

-- commit_plan books the unbooked visits of the plan and assigns their technicians
SELECT repairsys.commit_plan((SELECT id FROM repairsys.service_center WHERE name = 'pl center'), '2030-03-05') AS booked_now;
SELECT pl.i AS ticket, te.name, t.status, to_char(a.slot_start AT TIME ZONE 'Asia/Shanghai', 'HH24:MI') AS visit
  FROM pl JOIN repairsys.ticket t ON t.id = pl.t
  LEFT JOIN repairsys.appointment a ON a.ticket_id = t.id AND a.state = 'booked'
  LEFT JOIN repairsys.technician te ON te.id = t.technician_id
 ORDER BY pl.i;
SELECT count(*) AS differ FROM (SELECT p.ticket_id, p.start_at FROM plan1 p EXCEPT
                                SELECT a.ticket_id, a.slot_start FROM repairsys.appointment a WHERE a.state = 'booked') x;
SELECT * FROM repairsys.check_invariants() WHERE invariant ~ 'visit';
-- committed twice: nothing more to book
SELECT repairsys.commit_plan((SELECT id FROM repairsys.service_center WHERE name = 'pl center'), '2030-03-05') AS booked_now;

-- A day without shifts has no plan; bad input
SELECT count(*) FROM repairsys.plan_day((SELECT id FROM repairsys.service_center WHERE name = 'pl center'), '2030-03-09');
SELECT * FROM repairsys.plan_day(-1, '2030-03-05');
SELECT * FROM repairsys.plan_day((SELECT id FROM repairsys.service_center WHERE name = 'pl center'), 'infinity');
SELECT * FROM repairsys.plan_day(NULL, '2030-03-05');
ROLLBACK;

SELECT bool_and(CASE WHEN last_value IS NULL THEN setval(seq, start_value, false)
                     ELSE setval(seq, last_value, true) END IS NOT NULL) AS ids_back
  FROM pl_seq;
