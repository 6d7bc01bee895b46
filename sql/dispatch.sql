-- Time-aware dispatch (docs/dispatch.md): rosters and shifts with holidays
-- and make-up days, absences, slots, bookings, reschedules, cancellations,
-- check-in and late arrivals, candidates() with the reasons of time, the
-- rules of the tables for plain writes, the invariants.
-- (pinned, so that no output depends on the server's or the client's defaults)
SET TimeZone = 'UTC';
SET DateStyle = 'ISO, YMD';
SET IntervalStyle = 'postgres';
\set SHOW_CONTEXT never
SET client_min_messages = notice;
-- Ids show up in messages: this file's rows get ids from 800001 on; the
-- sequences are put back at the end.
CREATE TEMP TABLE dp_seq AS
	SELECT format('%I.%I', schemaname, sequencename) AS seq, last_value, start_value
	  FROM pg_sequences WHERE schemaname = 'repairsys';
SELECT bool_and(setval(seq, 800000) = 800000) AS ids_moved FROM dp_seq;
-- Everything below is rolled back at the end (the files after this one see
-- the database they would see without it); each failing statement rolls
-- back only itself.
\set ON_ERROR_ROLLBACK on
BEGIN;

-- sla_windows(): the concrete windows of a calendar.  Friday 4 December 2026
-- .. Tuesday 8th in Shanghai; Saturday 5th is a make-up day with Monday's
-- windows, Monday 7th is closed.
SELECT starts AT TIME ZONE 'Asia/Shanghai' AS opens, ends AT TIME ZONE 'Asia/Shanghai' AS closes
  FROM repairsys.sla_windows('1h in mon-fri 09:00-18:00 Asia/Shanghai', '2026-12-04 00:00+08', '2026-12-09 00:00+08',
                             ARRAY['2026-12-07']::date[], NULL, ARRAY['2026-12-05']::date[]);
-- overnight windows are merged with the next day's, and clipped to the stretch
SELECT starts, ends FROM repairsys.sla_windows('1h in mon-sun 22:00-24:00, mon-sun 00:00-06:00 UTC',
                                                 '2026-12-01 03:00+00', '2026-12-03 00:00+00');
-- wall-clock values: the whole stretch; empty and reversed stretches: nothing
SELECT * FROM repairsys.sla_windows('4h', '2026-12-01 03:00+00', '2026-12-01 05:00+00');
SELECT count(*) FROM repairsys.sla_windows('1h in mon-fri 09:00-18:00', '2026-12-01', '2026-11-01');
SELECT count(*) FROM repairsys.sla_windows('1h in mon-fri 09:00-18:00', NULL, '2026-11-01');
-- errors
SELECT * FROM repairsys.sla_windows('1h in mon-fri 09:00-18:00', '2026-12-01', 'infinity');
SELECT * FROM repairsys.sla_windows('1h in mon-fri 09:00-18:00', '2000-01-01', '2026-01-01');
SELECT * FROM repairsys.sla_windows('1h in mon-fri 09:00-18:00', '2026-01-01', '2026-01-09', NULL, 'Mars/Olympus');
-- brute force: the windows' lengths are sla_elapsed over random stretches of
-- random calendars (zones with DST, overnight windows, closed and open days)
SELECT setseed(0.18);
WITH cal AS (
	SELECT i, (ARRAY['1h in mon-fri 09:00-18:00 Europe/Berlin', '1h in mon-sun 22:00-06:00 America/New_York',
	                 '1h in mon-fri 08:00-12:00 13:00-17:00, sat 09:00-12:00 Asia/Shanghai',
	                 '1h in tue 23:30-24:00, thu 23:30-24:00, sun 00:00-03:00 Australia/Sydney'])[1 + (i % 4)]::repairsys.sla_interval AS c,
	       timestamptz '2026-01-01 00:00+00' + random() * interval '700 days' AS t0,
	       random() * interval '40 days' AS len,
	       ARRAY[date '2026-01-01' + (random() * 700)::int, date '2026-03-29', date '2026-10-25'] AS closed,
	       ARRAY[date '2026-04-01' + (random() * 200)::int, date '2026-03-28', date '2026-11-01'] AS open,
	       ARRAY[1 + (random() * 6)::int, 7, 3] AS open_as
	  FROM generate_series(1, 400) i
)
SELECT count(*) AS stretches,
       count(*) FILTER (WHERE coalesce(w.total, interval '0') <> repairsys.sla_elapsed(c, t0, t0 + len, closed, NULL, open, open_as)) AS differ,
       count(*) FILTER (WHERE NOT w.ordered) AS unordered
  FROM cal
 CROSS JOIN LATERAL (SELECT sum(x.ends - x.starts) AS total,
                            coalesce(bool_and(x.starts < x.ends AND (x.prev IS NULL OR x.prev < x.starts)), true) AS ordered
                       FROM (SELECT y.*, lag(y.ends) OVER (ORDER BY y.starts) AS prev
                               FROM repairsys.sla_windows(c, t0, t0 + len, closed, NULL, open, open_as) y) x) w;

-- A center in Shanghai with a make-up Saturday (调休) and a closed Monday,
-- two technicians with the skill near each other and one without it.
INSERT INTO repairsys.service_center (name, lat, lon, time_zone) VALUES ('dp Pudong', 31.2200, 121.5400, 'Asia/Shanghai');
CREATE FUNCTION pg_temp.center() RETURNS bigint LANGUAGE sql AS $$ SELECT id FROM repairsys.service_center WHERE name = 'dp Pudong' $$;
CREATE FUNCTION pg_temp.tech(n text) RETURNS bigint LANGUAGE sql AS $$ SELECT id FROM repairsys.technician WHERE name = n $$;
INSERT INTO repairsys.holiday (service_center_id, day, name, kind, works_as)
	VALUES (pg_temp.center(), '2030-02-09', 'dp make-up Saturday', 'workday', 5),
	       (pg_temp.center(), '2030-02-11', 'dp closed Monday', 'closed', 1);
INSERT INTO repairsys.service_type (code, name, required_skill, min_skill_level, labor_fee)
	VALUES ('dp_wash', 'Washer repair', 'dp_washer', 2, '0+:1.00');
INSERT INTO repairsys.technician (name, service_center_id, lat, lon)
	SELECT n, pg_temp.center(), 31.2200, 121.5400 FROM unnest(ARRAY['dp Wang', 'dp Li', 'dp Zhao']) n;
INSERT INTO repairsys.technician_skill (technician_id, skill, level)
	VALUES (pg_temp.tech('dp Wang'), 'dp_washer', 4), (pg_temp.tech('dp Li'), 'dp_washer', 2), (pg_temp.tech('dp Zhao'), 'dp_washer', 1);
INSERT INTO repairsys.technician_roster (technician_id, calendar, valid_from, valid_to) VALUES
	(pg_temp.tech('dp Wang'), 'mon-fri 09:00-13:00', '2030-01-01', NULL),
	(pg_temp.tech('dp Li'),   'mon-fri 09:00-13:00', '2030-01-01', '2030-02-10'),
	(pg_temp.tech('dp Li'),   'tue-sat 14:00-18:00 Asia/Shanghai', '2030-02-12', NULL),
	(pg_temp.tech('dp Zhao'), 'mon-sun 00:00-24:00', '2030-01-01', NULL);
-- a calendar sla_interval refuses is refused
INSERT INTO repairsys.technician_roster (technician_id, calendar, valid_from) VALUES (pg_temp.tech('dp Wang'), 'mon-fri 09:00', '2030-01-01');
INSERT INTO repairsys.technician_roster (technician_id, calendar, valid_from) VALUES (pg_temp.tech('dp Wang'), 'mon-fri 09:00-18:00 Mars/Olympus', '2030-01-01');
INSERT INTO repairsys.technician_roster (technician_id, calendar, valid_from, valid_to) VALUES (pg_temp.tech('dp Wang'), 'mon 09:00-10:00', '2030-01-02', '2030-01-01');

-- Shifts from Friday 8 to Tuesday 12 February 2030 (local times): the
-- make-up Saturday works as a Friday, the closed Monday has none, Li's second
-- roster starts on Tuesday.
SELECT te.name, s.shift_start AT TIME ZONE 'Asia/Shanghai' AS starts, s.shift_end AT TIME ZONE 'Asia/Shanghai' AS ends
  FROM repairsys.technician_shifts('2030-02-08', '2030-02-12') s JOIN repairsys.technician te ON te.id = s.technician_id
 WHERE te.name IN ('dp Wang', 'dp Li') ORDER BY te.name, s.shift_start;
SELECT * FROM repairsys.technician_shifts('2030-02-08', '2030-01-01');
SELECT * FROM repairsys.technician_shifts('2030-02-08', NULL);

-- A customer's ticket.  The slots of the make-up Saturday and the Tuesday:
-- two-hour slots (setting slot_length) within the shifts.
INSERT INTO repairsys.customer (name, lat, lon, service_center_id) SELECT 'dp Chen', 31.2300, 121.5500, pg_temp.center();
CREATE TEMP TABLE dp AS SELECT repairsys.open_ticket((SELECT id FROM repairsys.customer WHERE name = 'dp Chen'), 'dp_wash', 'dp drum') AS t1,
                               repairsys.open_ticket((SELECT id FROM repairsys.customer WHERE name = 'dp Chen'), 'dp_wash', 'dp door') AS t2,
                               repairsys.open_ticket((SELECT id FROM repairsys.customer WHERE name = 'dp Chen'), 'dp_wash', 'dp pump') AS t3;
SELECT slot_start AT TIME ZONE 'Asia/Shanghai' AS local_start, slot_end AT TIME ZONE 'Asia/Shanghai' AS local_end, technicians_free
  FROM repairsys.available_slots((SELECT t1 FROM dp), '2030-02-09', 4);
SELECT * FROM repairsys.available_slots((SELECT t1 FROM dp), '2030-02-09', 0);
SELECT * FROM repairsys.available_slots(-1, '2030-02-09');

-- Booking: the best scored free one (Wang, level 4) comes and the ticket is assigned.
SELECT repairsys.book_visit((SELECT t1 FROM dp), '2030-02-09 09:00+08') AS appointment;
SELECT te.name, t.status FROM repairsys.ticket t JOIN repairsys.technician te ON te.id = t.technician_id WHERE t.id = (SELECT t1 FROM dp);
-- the slot has one technician less, the next slot too (travel time from the
-- first visit, 1.2 km at 30 km/h, does not fit between back-to-back slots)
SELECT slot_start AT TIME ZONE 'Asia/Shanghai' AS local_start, technicians_free
  FROM repairsys.available_slots((SELECT t2 FROM dp), '2030-02-09', 1);
SELECT repairsys.book_visit((SELECT t2 FROM dp), '2030-02-09 09:00+08') AS appointment;
SELECT te.name FROM repairsys.ticket t JOIN repairsys.technician te ON te.id = t.technician_id WHERE t.id = (SELECT t2 FROM dp);
-- a ticket has one booked visit: another is refused (reschedule it instead)
SELECT repairsys.book_visit((SELECT t2 FROM dp), '2030-02-09 11:00+08');
-- nobody is left for the slot: 23514, nothing written
SELECT repairsys.book_visit((SELECT t3 FROM dp), '2030-02-09 09:00+08');
SELECT repairsys.book_visit((SELECT t3 FROM dp), '2030-02-09 10:00+08');
-- a named technician who is off shift, booked or lacks the skill: 23514
SELECT repairsys.book_visit((SELECT t3 FROM dp), '2030-02-11 09:00+08', pg_temp.tech('dp Wang'));
SELECT repairsys.book_visit((SELECT t3 FROM dp), '2030-02-09 10:00+08', pg_temp.tech('dp Wang'));
SELECT repairsys.book_visit((SELECT t3 FROM dp), '2030-02-12 14:00+08', pg_temp.tech('dp Zhao'));
SELECT repairsys.book_visit((SELECT t3 FROM dp), NULL);
SELECT count(*) AS visits_of_t3 FROM repairsys.appointment WHERE ticket_id = (SELECT t3 FROM dp);

-- candidates() of a ticket with a booked visit: the others are booked or off shift
SELECT te.name, c.eligible, c.reason FROM repairsys.candidates((SELECT t1 FROM dp)) c
  JOIN repairsys.technician te ON te.id = c.technician_id WHERE te.name LIKE 'dp %' ORDER BY te.name;

-- Absences: requested ones do not block, approved ones do; approving one
-- over a booked visit is refused.
INSERT INTO repairsys.technician_absence (technician_id, during, reason)
	VALUES (pg_temp.tech('dp Li'), '[2030-02-12 14:00+08, 2030-02-12 16:00+08)', 'dp dentist');
SELECT slot_start AT TIME ZONE 'Asia/Shanghai' AS local_start, technicians_free
  FROM repairsys.available_slots((SELECT t3 FROM dp), '2030-02-12', 1);
UPDATE repairsys.technician_absence SET status = 'approved' WHERE reason = 'dp dentist';
SELECT status, decided_at = now() AS stamped, decided_by = current_user AS by_me FROM repairsys.technician_absence WHERE reason = 'dp dentist';
SELECT slot_start AT TIME ZONE 'Asia/Shanghai' AS local_start, technicians_free
  FROM repairsys.available_slots((SELECT t3 FROM dp), '2030-02-12', 1);
SELECT repairsys.book_visit((SELECT t3 FROM dp), '2030-02-12 14:00+08', pg_temp.tech('dp Li'));
INSERT INTO repairsys.technician_absence (technician_id, during, reason, status)
	VALUES (pg_temp.tech('dp Wang'), '[2030-02-09 08:00+08, 2030-02-09 10:00+08)', 'dp clash', 'approved');
-- (terse: the failing row would show requested_at, which is now)
\set VERBOSITY terse
INSERT INTO repairsys.technician_absence (technician_id, during, reason) VALUES (pg_temp.tech('dp Wang'), '[2030-02-09 08:00+08, infinity)', 'dp forever');
INSERT INTO repairsys.technician_absence (technician_id, during, reason) VALUES (pg_temp.tech('dp Wang'), 'empty', 'dp never');
INSERT INTO repairsys.technician_absence (technician_id, during, reason, status) VALUES (pg_temp.tech('dp Wang'), '[2030-02-09, 2030-02-10)', 'dp x', 'maybe');
\set VERBOSITY default
-- a roster change that would leave a booked visit outside the hours is refused
UPDATE repairsys.technician_roster SET calendar = 'mon-fri 10:00-13:00' WHERE technician_id = pg_temp.tech('dp Wang');
DELETE FROM repairsys.technician_roster WHERE technician_id = pg_temp.tech('dp Wang');

-- Rescheduling (改约): the old row stays, rescheduled, with the reason; the
-- same technician keeps it when free.  At most max_reschedules times.
UPDATE repairsys.setting SET value = '2' WHERE name = 'max_reschedules';
SELECT repairsys.reschedule_visit((SELECT t1 FROM dp), '2030-02-13 11:00+08', 'dp customer away');
SELECT repairsys.reschedule_visit((SELECT t1 FROM dp), '2030-02-14 09:00+08', 'dp customer away again');
SELECT repairsys.reschedule_visit((SELECT t1 FROM dp), '2030-02-15 09:00+08', 'dp third time');
SELECT repairsys.reschedule_visit((SELECT t1 FROM dp), '2030-02-15 09:00+08', '');
SELECT repairsys.reschedule_visit((SELECT t3 FROM dp), '2030-02-15 09:00+08', 'dp none booked');
SELECT a.id - 800000 AS n, te.name, a.slot_start AT TIME ZONE 'Asia/Shanghai' AS local_start, a.state, a.reason, a.replaces - 800000 AS replaces_n
  FROM repairsys.appointment a JOIN repairsys.technician te ON te.id = a.technician_id
 WHERE a.ticket_id = (SELECT t1 FROM dp) ORDER BY a.id;
-- a reschedule to a slot nobody can serve changes nothing
SELECT repairsys.reschedule_visit((SELECT t2 FROM dp), '2030-02-11 09:00+08', 'dp closed day');
SELECT state, count(*) FROM repairsys.appointment WHERE ticket_id = (SELECT t2 FROM dp) GROUP BY 1;

-- Cancelling
SELECT repairsys.cancel_visit((SELECT t2 FROM dp), 'dp fixed it himself') - 800000 AS n;
SELECT repairsys.cancel_visit((SELECT t2 FROM dp), 'dp again');
SELECT repairsys.cancel_visit((SELECT t2 FROM dp), NULL);

-- Check-in (上门) and late arrivals in sla_status: a visit booked in the past
-- (by the table owner, as a migration would) is late until the technician
-- arrives; a visit in the future is not late.
INSERT INTO repairsys.appointment (ticket_id, technician_id, slot_start, slot_end, booked_at)
	SELECT t3, pg_temp.tech('dp Zhao'), now() - interval '3 hours', now() - interval '1 hour', now() - interval '1 day' FROM dp;
SELECT ticket_id = (SELECT t1 FROM dp) AS is_t1, visit_start IS NOT NULL AS has_visit, arrival_late, minutes_late >= 180 AS three_hours
  FROM repairsys.sla_status WHERE ticket_id IN (SELECT t1 FROM dp UNION ALL SELECT t3 FROM dp) ORDER BY 1;
-- (as a dispatcher: the table owner may write any arrival, as a restore does)
CREATE ROLE dp_disp IN ROLE repairsys_dispatcher;
GRANT SELECT ON dp TO dp_disp;
SET ROLE dp_disp;
SELECT repairsys.check_in((SELECT t3 FROM dp)) = now() AS checked_in;
SELECT state FROM repairsys.appointment WHERE ticket_id = (SELECT t3 FROM dp);
SELECT arrived_at = now() AS arrived, arrival_late, minutes_late BETWEEN 180 AND 181 AS three_hours_late
  FROM repairsys.sla_status WHERE ticket_id = (SELECT t3 FROM dp);
SELECT repairsys.check_in((SELECT t3 FROM dp));
SELECT repairsys.check_in(-1);
UPDATE repairsys.ticket SET arrived_at = now() - interval '1 day' WHERE id = (SELECT t1 FROM dp);
UPDATE repairsys.ticket SET arrived_at = NULL WHERE id = (SELECT t3 FROM dp);
RESET ROLE;

-- Plain writes get the same rules as the functions
UPDATE repairsys.appointment SET slot_start = slot_start + interval '1 hour' WHERE ticket_id = (SELECT t1 FROM dp) AND state = 'booked';
UPDATE repairsys.appointment SET state = 'booked' WHERE ticket_id = (SELECT t2 FROM dp);
UPDATE repairsys.appointment SET state = 'done' WHERE ticket_id = (SELECT t1 FROM dp) AND state = 'booked';
UPDATE repairsys.appointment SET state = 'cancelled', reason = NULL WHERE ticket_id = (SELECT t1 FROM dp) AND state = 'booked';
UPDATE repairsys.appointment SET technician_id = pg_temp.tech('dp Wang') WHERE ticket_id = (SELECT t3 FROM dp);
INSERT INTO repairsys.appointment (ticket_id, slot_start, slot_end, state) SELECT t2, '2030-02-14 11:00+08', '2030-02-14 13:00+08', 'done' FROM dp;
INSERT INTO repairsys.appointment (ticket_id, slot_start, slot_end) SELECT t2, '2030-02-14 11:00+08', '2030-02-14 10:00+08' FROM dp;
INSERT INTO repairsys.appointment (ticket_id, slot_start, slot_end) SELECT t2, '2030-02-14 11:00+08', '2030-02-16 11:00+08' FROM dp;
INSERT INTO repairsys.appointment (ticket_id, slot_start, slot_end, replaces) SELECT t2, '2030-02-14 11:00+08', '2030-02-14 13:00+08', 800001 FROM dp;
INSERT INTO repairsys.appointment (ticket_id, slot_start, slot_end) SELECT t2, '2030-02-14 09:00+08', '2030-02-14 11:00+08' FROM dp;
-- a plain INSERT is a booking: t2 gets the free one (Wang, Li is off shift) and is assigned to him
INSERT INTO repairsys.appointment (ticket_id, slot_start, slot_end) SELECT t2, '2030-02-15 09:00+08', '2030-02-15 11:00+08' FROM dp;
SELECT te.name, a.state FROM repairsys.appointment a JOIN repairsys.technician te ON te.id = a.technician_id
 WHERE a.ticket_id = (SELECT t2 FROM dp) AND a.state = 'booked';
SELECT te.name FROM repairsys.ticket t JOIN repairsys.technician te ON te.id = t.technician_id WHERE t.id = (SELECT t2 FROM dp);
-- moving a ticket to another technician takes its visit along, if he is
-- free: not to Li (off shift then), to Zhao once he has the skill
UPDATE repairsys.ticket SET technician_id = pg_temp.tech('dp Li') WHERE id = (SELECT t2 FROM dp);
UPDATE repairsys.technician_skill SET level = 2 WHERE technician_id = pg_temp.tech('dp Zhao');
UPDATE repairsys.ticket SET technician_id = pg_temp.tech('dp Zhao') WHERE id = (SELECT t2 FROM dp);
SELECT te.name FROM repairsys.appointment a JOIN repairsys.technician te ON te.id = a.technician_id
 WHERE a.ticket_id = (SELECT t2 FROM dp) AND a.state = 'booked';

-- The invariants of time hold (other files leave broken rows of their own
-- behind on purpose), and find what is broken when the rules are bypassed
SELECT * FROM repairsys.check_invariants() WHERE invariant ~ 'visit';
SAVEPOINT broken;
ALTER TABLE repairsys.appointment DISABLE TRIGGER appointment_10_check;
INSERT INTO repairsys.appointment (ticket_id, technician_id, slot_start, slot_end)
	SELECT repairsys.open_ticket(c.id, 'dp_wash', 'dp bypass ' || v.n), pg_temp.tech(v.tech), v.s, v.s + interval '2 hours'
	  FROM repairsys.customer c,
	       (VALUES (1, 'dp Wang', timestamptz '2030-02-14 09:30+08'), (2, 'dp Wang', '2030-02-16 09:30+08'),
	               (3, 'dp Li', '2030-02-12 14:00+08')) v(n, tech, s)
	 WHERE c.name = 'dp Chen';
SELECT invariant, detail ~ '^appointment' AS names_it FROM repairsys.check_invariants() WHERE invariant ~ 'visit' ORDER BY 1;
ROLLBACK TO broken;
ROLLBACK;

-- Put the id sequences back.
SELECT bool_and(CASE WHEN last_value IS NULL THEN setval(seq, start_value, false)
                     ELSE setval(seq, last_value, true) END IS NOT NULL) AS ids_back
  FROM dp_seq;
