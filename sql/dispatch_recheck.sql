-- Booked visits survive calendar changes (docs/dispatch.md): a holiday
-- added or a make-up working day removed on a day with booked visits, a
-- center's new time zone, a technician deactivated or moved to another
-- center are refused with 23514 while they would leave a booked visit
-- outside the technician's rostered hours; the same changes pass once the
-- visits are moved.  The writes are plain ones, by the roles that may make
-- them (holidays, centers and moves: admin; deactivation: dispatcher).
-- (pinned, so that no output depends on the server's or the client's defaults)
SET TimeZone = 'UTC';
SET DateStyle = 'ISO, YMD';
SET IntervalStyle = 'postgres';
\set SHOW_CONTEXT never
-- Ids show up in messages: this file's rows get ids from 810001 on; the
-- sequences are put back at the end.
CREATE TEMP TABLE rc_seq AS
	SELECT format('%I.%I', schemaname, sequencename) AS seq, last_value, start_value
	  FROM pg_sequences WHERE schemaname = 'repairsys';
SELECT bool_and(setval(seq, 810000) = 810000) AS ids_moved FROM rc_seq;
\set ON_ERROR_ROLLBACK on
BEGIN;

-- Shanghai, Monday to Friday 09:00-18:00; a second center in the same zone
-- and a third in New York.
INSERT INTO repairsys.service_center (name, time_zone) VALUES
	('rc Shanghai', 'Asia/Shanghai'), ('rc Shanghai 2', 'Asia/Shanghai'), ('rc New York', 'America/New_York');
INSERT INTO repairsys.customer (name, service_center_id) VALUES ('rc customer', 810001);
INSERT INTO repairsys.technician (name, service_center_id, capacity) VALUES ('rc Ann', 810001, 20);
INSERT INTO repairsys.technician_roster (technician_id, calendar, valid_from) VALUES (810001, 'mon-fri 09:00-18:00', '2030-01-01');
INSERT INTO repairsys.service_type (code, name, labor_fee) VALUES ('rc', 'rc service', '0+:1.00');
-- Saturday 9 March 2030 is a make-up working day with Monday's hours
INSERT INTO repairsys.holiday (service_center_id, day, name, kind, works_as) VALUES (810001, '2030-03-09', 'rc make-up', 'workday', 1);
SELECT repairsys.open_ticket(810001, 'rc', 'rc weekday') AS t1 \gset
SELECT repairsys.open_ticket(810001, 'rc', 'rc saturday') AS t2 \gset
-- Wednesday 6 March 10:00 and Saturday 9 March 10:00, Shanghai time
SELECT repairsys.book_visit(:t1, '2030-03-06 10:00+08', 810001) AS v1 \gset
SELECT repairsys.book_visit(:t2, '2030-03-09 10:00+08', 810001) AS v2 \gset

SET ROLE repairsys_admin;
-- a holiday on the day of a visit: refused, for the center and for all
-- centers; on another day it passes
INSERT INTO repairsys.holiday (service_center_id, day, name) VALUES (810001, '2030-03-06', 'rc closed');
INSERT INTO repairsys.holiday (service_center_id, day, name) VALUES (NULL, '2030-03-06', 'rc closed everywhere');
INSERT INTO repairsys.holiday (service_center_id, day, name) VALUES (810001, '2030-03-07', 'rc closed Thursday');
-- another center's holiday on that day does not concern the visit
INSERT INTO repairsys.holiday (service_center_id, day, name) VALUES (810002, '2030-03-06', 'rc closed elsewhere');
-- the make-up day carries the Saturday visit: it cannot go, move or close
DELETE FROM repairsys.holiday WHERE name = 'rc make-up';
UPDATE repairsys.holiday SET day = '2030-03-16' WHERE name = 'rc make-up';
UPDATE repairsys.holiday SET kind = 'closed' WHERE name = 'rc make-up';
-- the center moves to New York time: 10:00 in Shanghai is 21:00 or 22:00 there
UPDATE repairsys.service_center SET time_zone = 'America/New_York' WHERE id = 810001;
-- Ann moves: to New York refused, to the other Shanghai center (same zone,
-- but closed on the 6th and without the make-up Saturday) refused too
UPDATE repairsys.technician SET service_center_id = 810003 WHERE id = 810001;
UPDATE repairsys.technician SET service_center_id = 810002 WHERE id = 810001;
RESET ROLE;
-- a dispatcher cannot deactivate her while she has booked visits
SET ROLE repairsys_dispatcher;
UPDATE repairsys.technician SET active = false WHERE id = 810001;
-- her capacity still changes (the check looks only at active and the center)
UPDATE repairsys.technician SET capacity = 19 WHERE id = 810001;
RESET ROLE;

-- nothing of the refused changes is there
SELECT day, name, kind FROM repairsys.holiday WHERE name LIKE 'rc %' ORDER BY day, name;
SELECT te.name, te.service_center_id, te.active, te.capacity, sc.time_zone
  FROM repairsys.technician te JOIN repairsys.service_center sc ON sc.id = te.service_center_id WHERE te.id = 810001;
SELECT count(*) AS findings FROM repairsys.check_invariants() c WHERE c.ticket_id > 810000 OR c.technician_id > 810000;

-- the table owner's insert (a restore, a migration) is taken as it is, and
-- check_invariants() reports what it broke
SAVEPOINT owner_insert;
INSERT INTO repairsys.holiday (service_center_id, day, name) VALUES (810001, '2030-03-06', 'rc restored');
SELECT invariant, ticket_id - 810000 AS ticket FROM repairsys.check_invariants() c WHERE c.ticket_id > 810000 OR c.technician_id > 810000;
ROLLBACK TO SAVEPOINT owner_insert;

-- once the visits are moved or cancelled, the changes pass
SELECT repairsys.reschedule_visit(:t1, '2030-03-05 10:00+08', 'rc holiday on the 6th') IS NOT NULL AS moved;
SELECT repairsys.cancel_visit(:t2, 'rc the make-up day goes') = :v2 AS cancelled;
SET ROLE repairsys_admin;
INSERT INTO repairsys.holiday (service_center_id, day, name) VALUES (810001, '2030-03-06', 'rc closed');
DELETE FROM repairsys.holiday WHERE name = 'rc make-up';
RESET ROLE;
SELECT repairsys.cancel_visit(:t1, 'rc Ann leaves') IS NOT NULL AS cancelled;
SET ROLE repairsys_dispatcher;
UPDATE repairsys.technician SET active = false WHERE id = 810001;
RESET ROLE;
SET ROLE repairsys_admin;
UPDATE repairsys.service_center SET time_zone = 'America/New_York' WHERE id = 810001;
RESET ROLE;
SELECT a.id - 810000 AS appointment, a.state, a.slot_start AT TIME ZONE 'Asia/Shanghai' AS local_start
  FROM repairsys.appointment a WHERE a.technician_id = 810001 ORDER BY a.id;
SELECT count(*) AS findings FROM repairsys.check_invariants() c WHERE c.ticket_id > 810000 OR c.technician_id > 810000;

ROLLBACK;
SELECT bool_and(CASE WHEN last_value IS NULL THEN setval(seq, start_value, false) ELSE setval(seq, last_value) END IS NOT NULL) AS ids_back
  FROM rc_seq;
