-- The events of estimate revisions, sign-off and visits, and the customer
-- notifications "technician arrived" and "estimate to approve" (issue 20,
-- DESIGN.md section 16, docs/events.md).  Event ids depend on transaction
-- ids, so the output shows kinds and payloads, never ids.  Runs in a
-- database of its own, so that "all events" means this file's.
\set regdb :DBNAME
SET client_min_messages = warning;
CREATE ROLE ep_cust NOLOGIN IN ROLE repairsys_customer;
CREATE ROLE ep_tech NOLOGIN IN ROLE repairsys_technician;
CREATE ROLE ep_disp NOLOGIN IN ROLE repairsys_dispatcher;
CREATE DATABASE repairsys_events_plus;
\connect repairsys_events_plus
SET client_min_messages = warning;
SET TimeZone = 'UTC';
SET DateStyle = 'ISO, YMD';
SET IntervalStyle = 'postgres';
\set SHOW_CONTEXT never
CREATE EXTENSION repairsys;
SET search_path = repairsys, pg_catalog;

INSERT INTO service_center (name, time_zone) VALUES ('ep center', 'UTC');
INSERT INTO customer (name, service_center_id, db_role, phone) VALUES ('ep customer', 1, 'ep_cust', '+86 138 0000 0009');
-- the second customer reads Chinese (customer.language; no preference row)
INSERT INTO customer (name, service_center_id, email, language) VALUES ('ep other', 1, 'other@example.com', 'zh-CN');
INSERT INTO customer_preference (customer_id, language, channel) VALUES (1, 'en', 'sms');
INSERT INTO technician (name, service_center_id, db_role, capacity) VALUES ('ep tech', 1, 'ep_tech', 20), ('ep tech 2', 1, NULL, 20);
INSERT INTO technician_roster (technician_id, calendar, valid_from) VALUES (1, 'mon-sun 00:00-24:00', '2030-01-01'), (2, 'mon-sun 00:00-24:00', '2030-01-01');
INSERT INTO service_type (code, name, labor_fee, callout_fee, est_minutes_low, est_minutes_high)
	VALUES ('ep_fix', 'ep fix', 'base=20, 0-60:1.20, 60+:1.50', 30, 45, 120);

CREATE FUNCTION pg_temp.events(t bigint) RETURNS TABLE (kind text, payload jsonb) LANGUAGE sql AS $$
	SELECT e.kind, e.payload - 'appointment_id' - 'replaces' - 'sign_off_id' - 'arrived_at' - 'approved_at' - 'created_by' - 'approved_by' - 'recorded_by'
	  FROM repairsys.event e
	 WHERE e.ticket_id = t AND e.kind NOT IN ('ticket_opened', 'status_changed', 'technician_changed')
	 ORDER BY e.id
$$;

-- Visits: booked, rescheduled, cancelled, booked again, checked in.
SELECT open_ticket(1, 'ep_fix', 'visits') AS t1 \gset
UPDATE ticket SET status = 'assigned', technician_id = 1 WHERE id = :t1;
SELECT book_visit(:t1, '2030-02-04 09:00+00') > 0 AS booked;
SELECT reschedule_visit(:t1, '2030-02-05 10:00+00', 'customer not at home') > 0 AS rescheduled;
SELECT cancel_visit(:t1, 'fixed it himself') IS NOT NULL AS cancelled;
SELECT book_visit(:t1, '2030-02-06 09:00+00') > 0 AS booked_again;
SELECT * FROM pg_temp.events(:t1);
-- a rolled-back booking leaves no event
BEGIN;
SELECT cancel_visit(:t1, 'rolled back') IS NOT NULL AS cancelled;
ROLLBACK;
SELECT count(*) AS cancellations FROM event WHERE ticket_id = :t1 AND kind = 'appointment_cancelled';
-- the arrival marks the visit done: appointment_checked_in
SELECT check_in(:t1) = now() AS checked_in;
SELECT kind, payload ->> 'slot_start' AS slot_start, (payload ->> 'arrived_at')::timestamptz = (SELECT arrived_at FROM ticket WHERE id = :t1) AS arrived_stamp
  FROM event WHERE ticket_id = :t1 AND kind = 'appointment_checked_in';
-- a plain INSERT by the dispatcher (no function) writes its event too
SELECT open_ticket(2, 'ep_fix', 'direct') AS t2 \gset
UPDATE ticket SET status = 'assigned', technician_id = 2 WHERE id = :t2;
SET ROLE ep_disp;
INSERT INTO appointment (ticket_id, technician_id, slot_start, slot_end) VALUES (:t2, 2, '2030-02-07 09:00+00', '2030-02-07 10:00+00');
UPDATE appointment SET state = 'cancelled', reason = 'by hand' WHERE ticket_id = :t2;
RESET ROLE;
SELECT * FROM pg_temp.events(:t2);
-- an ordinary change of an appointment (its technician) writes nothing
SELECT count(*) AS events_before FROM event \gset
UPDATE appointment SET reason = 'note' WHERE ticket_id = :t2;
SELECT count(*) - :events_before AS events_added FROM event;
-- the event triggers do not fire on ticket: a status change runs none of them
SELECT count(*) AS ticket_triggers_of_this_piece FROM pg_trigger g JOIN pg_proc p ON p.oid = g.tgfoid
 WHERE g.tgrelid = 'ticket'::regclass
   AND p.proname IN ('appointment_event_trg', 'estimate_revision_event_trg', 'ticket_sign_off_event_trg');

-- Estimates: revision 1 (approved before work) is estimate_approved; a
-- revision after it is estimate_revised, its approval estimate_revision_approved.
SELECT open_ticket(1, 'ep_fix', 'estimate') AS t3 \gset
UPDATE ticket SET status = 'assigned', technician_id = 1 WHERE id = :t3;
SET ROLE ep_cust;
SELECT count(*) AS approved FROM approve_estimate(:t3);
RESET ROLE;
SET ROLE ep_tech;
UPDATE ticket SET status = 'in_progress' WHERE id = :t3;
SELECT count(*) AS revised FROM revise_estimate(:t3, 'The pump had to be replaced', 300);
RESET ROLE;
SET ROLE ep_cust;
SELECT count(*) AS approved FROM approve_estimate(:t3, 2);
RESET ROLE;
SELECT * FROM pg_temp.events(:t3);
-- a refused approval (an approval is never changed) writes nothing
SET ROLE ep_tech;
SELECT count(*) AS revised FROM revise_estimate(:t3, 'And the belt', 400);
RESET ROLE;
SET ROLE ep_cust;
UPDATE estimate_revision SET approved_at = now() WHERE ticket_id = :t3 AND revision = 2;
UPDATE estimate_revision SET approved_at = now() WHERE ticket_id = :t3 AND revision = 1;
RESET ROLE;
SELECT kind, payload ->> 'revision' AS revision FROM event WHERE ticket_id = :t3 AND kind LIKE 'estimate_revision%' ORDER BY id;

-- Sign-off: signed_off, with the bill total signed.
SET ROLE ep_cust;
SELECT count(*) AS approved FROM approve_estimate(:t3, 3);
RESET ROLE;
SET ROLE ep_tech;
UPDATE ticket SET labor_minutes = 60 WHERE id = :t3;
UPDATE ticket SET status = 'resolved' WHERE id = :t3;
RESET ROLE;
SET ROLE ep_cust;
SELECT sign_off(:t3, 'ep customer') > 0 AS signed;
RESET ROLE;
SELECT kind, payload ->> 'signed_by' AS signed_by,
       (payload ->> 'bill_total')::numeric = (SELECT bill_total FROM ticket_sign_off WHERE ticket_id = :t3) AS total_signed
  FROM event WHERE ticket_id = :t3 AND kind = 'signed_off';
-- a sign-off refused (ticket not resolved) writes nothing
SET ROLE ep_cust;
SELECT sign_off(:t1, 'ep customer');
RESET ROLE;
SELECT count(*) AS sign_off_events FROM event WHERE kind = 'signed_off';

-- A restored or migrated row (the owner, with a time of its own) writes no event.
SELECT count(*) AS events_before FROM event \gset
INSERT INTO appointment (ticket_id, technician_id, slot_start, slot_end, state, booked_at)
	VALUES (:t2, 2, '2030-03-01 09:00+00', '2030-03-01 10:00+00', 'cancelled', '2030-01-01 00:00+00');
SELECT count(*) - :events_before AS events_added FROM event;

-- Notifications: "technician arrived" (the check-in) and "estimate to
-- approve" (each revision after the first), in the customer's language.
SELECT job, done FROM run_jobs('2030-02-06 12:00+00') WHERE job = 'notifications';
SELECT n.kind, n.ticket_id = :t1 AS visit_ticket, n.language, n.channel, n.recipient, n.text
  FROM notification n WHERE n.kind IN ('technician_arrived', 'estimate_to_approve') ORDER BY n.event_id;
SELECT job, done FROM run_jobs('2030-02-06 12:00+00') WHERE job = 'notifications';
-- the Chinese templates, for a customer without a preference
SELECT open_ticket(2, 'ep_fix', 'zh') AS t4 \gset
UPDATE ticket SET status = 'assigned', technician_id = 2 WHERE id = :t4;
SELECT book_visit(:t4, '2030-02-08 09:00+00') > 0 AS booked;
SELECT check_in(:t4) = now() AS checked_in;
UPDATE ticket SET approved_estimate_low = 10, approved_estimate_high = 20, estimate_approved_at = now() WHERE id = :t4;
SELECT count(*) AS revised FROM revise_estimate(:t4, '更换水泵', 300);
SELECT job, done FROM run_jobs('2030-02-08 12:00+00') WHERE job = 'notifications';
SELECT n.kind, n.language, n.channel, n.recipient, n.text
  FROM notification n WHERE n.ticket_id = :t4 AND n.kind IN ('technician_arrived', 'estimate_to_approve') ORDER BY n.event_id;
-- the new templates' placeholders are checked when written
UPDATE notification_template SET body = 'Revision {revision}: {low}-{high} by {technician_name}' WHERE kind = 'estimate_to_approve' AND language = 'en';
UPDATE notification_template SET body = 'Arrived: {technician_name} for {total}' WHERE kind = 'technician_arrived' AND language = 'en';
UPDATE notification_template SET body = '{technician_name} 已到达' WHERE kind = 'technician_arrived' AND language = 'zh-CN';
SELECT kind, language, dump FROM notification_template WHERE kind IN ('technician_arrived', 'estimate_to_approve') ORDER BY 1, 2;

-- Visit reminders: a booked visit starting within appointment_reminder_lead
-- (2 hours) after the instant, once per visit however often run_jobs() runs.
SELECT name, value FROM setting WHERE name IN ('appointment_reminder_lead', 'churn_refit_every') ORDER BY 1;
SELECT open_ticket(1, 'ep_fix', 'reminded') AS t5 \gset
UPDATE ticket SET status = 'assigned', technician_id = 1 WHERE id = :t5;
SELECT book_visit(:t5, '2030-03-04 09:00+00') > 0 AS booked;
SELECT job, done FROM run_jobs('2030-03-04 06:59+00') WHERE job = 'appointment_reminder';
SELECT job, done FROM run_jobs('2030-03-04 07:00+00') WHERE job = 'appointment_reminder';
SELECT job, done FROM run_jobs('2030-03-04 08:30+00') WHERE job IN ('appointment_reminder', 'notifications') ORDER BY 1;
SELECT job, done FROM run_jobs('2030-03-04 09:00+00') WHERE job = 'appointment_reminder';
SELECT kind, payload ->> 'visit_time' AS visit_time, payload ->> 'technician_id' AS technician_id
  FROM event WHERE ticket_id = :t5 AND kind = 'appointment_reminder';
SELECT n.kind, n.language, n.text FROM notification n WHERE n.ticket_id = :t5 AND n.kind = 'visit_reminder';
-- a rescheduled visit is a new visit: reminded again, the cancelled one never
SELECT reschedule_visit(:t5, '2030-03-05 09:00+00', 'later') > 0 AS rescheduled;
SELECT job, done FROM run_jobs('2030-03-05 08:00+00') WHERE job = 'appointment_reminder';
SELECT job, done FROM run_jobs('2030-03-05 08:01+00') WHERE job = 'appointment_reminder';
SELECT cancel_visit(:t5, 'gone') IS NOT NULL AS cancelled;
SELECT book_visit(:t5, '2030-03-06 09:00+00') > 0 AS booked;
SELECT cancel_visit(:t5, 'gone again') IS NOT NULL AS cancelled;
SELECT job, done FROM run_jobs('2030-03-06 08:00+00') WHERE job = 'appointment_reminder';
SELECT count(*) AS reminders FROM event WHERE ticket_id = :t5 AND kind = 'appointment_reminder';

-- The churn refit: at most once per churn_refit_every (1 day) whatever the
-- number of runs; too little history is a try that fits nothing.
SELECT job, done FROM run_jobs('2030-03-06 08:00+00') WHERE job = 'churn_refit';
SELECT count(*) AS models FROM churn_model;
-- twelve customers with a history (as sql/models.sql builds it)
INSERT INTO customer (name, service_center_id) SELECT 'ch ' || g, 1 FROM generate_series(1, 12) g;
INSERT INTO ticket (customer_id, service_type, description, opened_at)
SELECT c.id, 'ep_fix', 'old', timestamptz '2029-12-31 00:00+00' - make_interval(days => 20 * g + 3 * j)
  FROM generate_series(1, 12) g JOIN customer c ON c.name = 'ch ' || g, generate_series(1, 1 + g % 3) j;
INSERT INTO ticket (customer_id, service_type, description, opened_at)
SELECT c.id, 'ep_fix', 'new', timestamptz '2030-03-01 00:00+00'
  FROM generate_series(1, 12) g JOIN customer c ON c.name = 'ch ' || g WHERE (g <= 6 AND g <> 5) OR g = 9;
SELECT job, done FROM run_jobs('2030-06-29 23:59+00') WHERE job = 'churn_refit';
SELECT count(*) AS models FROM churn_model;
SELECT job, done FROM run_jobs('2030-06-30 00:00+00') WHERE job = 'churn_refit';
SELECT job, done FROM run_jobs('2030-06-30 12:00+00') WHERE job = 'churn_refit';
SELECT as_of, horizon, samples FROM churn_model;
SELECT job, since, done_at FROM job_done WHERE job = 'churn_refit' AND since >= '2030-06-01' ORDER BY since;
-- a churn_refit_every of months cannot be counted in fixed buckets
UPDATE setting SET value = '1 mon' WHERE name = 'churn_refit_every';
SELECT job, done FROM run_jobs('2030-07-09 00:00+00') WHERE job = 'churn_refit';
UPDATE setting SET value = '1 day' WHERE name = 'churn_refit_every';

\connect :regdb
SET client_min_messages = warning;
DROP DATABASE repairsys_events_plus;
DROP ROLE ep_cust;
DROP ROLE ep_tech;
DROP ROLE ep_disp;
