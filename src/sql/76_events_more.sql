-- Events of the features merged after the event log (issue 20, DESIGN.md
-- section 16, docs/events.md): estimate revisions and their approval
-- (42_consent.sql), the customer's sign-off, and the visits
-- (52_dispatch.sql: booked, rescheduled, cancelled, checked in).  Each is
-- written in the changing transaction by an AFTER trigger of the table that
-- changes, exactly like the invoice and payment events of 75_events.sql, so
-- an application that writes the table directly gets its events too; rows
-- restored or migrated with a time of their own write none (is_import()).
-- None of these triggers is on repairsys.ticket: an ordinary status change
-- fires nothing of this piece.

------------------------------------------------------------------------------
-- Estimate revisions and sign-off
------------------------------------------------------------------------------
-- AFTER INSERT on estimate_revision: estimate_revised for a revision after
-- the first (revision 1 is the estimate approved before work, reported as
-- estimate_approved by the ticket); AFTER UPDATE of approved_at:
-- estimate_revision_approved.
CREATE FUNCTION repairsys.estimate_revision_event_trg()
RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
BEGIN
	IF TG_OP = 'INSERT' THEN
		IF NEW.revision = 1 OR repairsys.is_import(NEW.created_at, TG_RELID) THEN
			RETURN NULL;
		END IF;
		PERFORM repairsys.emit_event('estimate_revised', NEW.ticket_id,
			(SELECT t.service_center_id FROM repairsys.ticket t WHERE t.id = NEW.ticket_id),
			pg_catalog.jsonb_build_object('revision', NEW.revision, 'low', NEW.low, 'high', NEW.high,
			                              'reason', NEW.reason, 'created_by', NEW.created_by));
	ELSE
		PERFORM repairsys.emit_event('estimate_revision_approved', NEW.ticket_id,
			(SELECT t.service_center_id FROM repairsys.ticket t WHERE t.id = NEW.ticket_id),
			pg_catalog.jsonb_build_object('revision', NEW.revision, 'low', NEW.low, 'high', NEW.high,
			                              'approved_by', NEW.approved_by, 'tolerance_pct', NEW.tolerance_pct));
	END IF;
	RETURN NULL;
END
$$;
COMMENT ON FUNCTION repairsys.estimate_revision_event_trg() IS 'AFTER INSERT OR UPDATE trigger of estimate_revision: writes estimate_revised (a revision after the first; not for a restored or migrated row: is_import()) and estimate_revision_approved (approved_at set)';
CREATE TRIGGER estimate_revision_90_event AFTER INSERT ON repairsys.estimate_revision
	FOR EACH ROW EXECUTE FUNCTION repairsys.estimate_revision_event_trg();
CREATE TRIGGER estimate_revision_91_approved_event AFTER UPDATE OF approved_at ON repairsys.estimate_revision
	FOR EACH ROW WHEN (OLD.approved_at IS NULL AND NEW.approved_at IS NOT NULL)
	EXECUTE FUNCTION repairsys.estimate_revision_event_trg();

-- AFTER INSERT on ticket_sign_off: signed_off.
CREATE FUNCTION repairsys.ticket_sign_off_event_trg()
RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
BEGIN
	IF repairsys.is_import(NEW.signed_at, TG_RELID) THEN
		RETURN NULL;
	END IF;
	PERFORM repairsys.emit_event('signed_off', NEW.ticket_id,
		(SELECT t.service_center_id FROM repairsys.ticket t WHERE t.id = NEW.ticket_id),
		pg_catalog.jsonb_build_object('sign_off_id', NEW.id, 'signed_by', NEW.signed_by,
		                              'bill_total', NEW.bill_total, 'recorded_by', NEW.recorded_by));
	RETURN NULL;
END
$$;
COMMENT ON FUNCTION repairsys.ticket_sign_off_event_trg() IS 'AFTER INSERT trigger of ticket_sign_off: writes the signed_off event (not for a restored or migrated row: is_import())';
CREATE TRIGGER ticket_sign_off_90_event AFTER INSERT ON repairsys.ticket_sign_off
	FOR EACH ROW EXECUTE FUNCTION repairsys.ticket_sign_off_event_trg();

------------------------------------------------------------------------------
-- Visits
------------------------------------------------------------------------------
-- AFTER INSERT on appointment: appointment_booked, or appointment_rescheduled
-- for the visit that replaces another (reschedule_visit()); AFTER UPDATE of
-- state from booked: appointment_cancelled, or appointment_checked_in when
-- the arrival (check_in(), ticket.arrived_at) marks it done.  (A visit that
-- becomes "rescheduled" writes nothing itself: its successor's insert, in
-- the same transaction, reports both.)
CREATE FUNCTION repairsys.appointment_event_trg()
RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
DECLARE
	t    repairsys.ticket;
	kind text;
	info jsonb;
BEGIN
	SELECT * INTO t FROM repairsys.ticket x WHERE x.id = NEW.ticket_id;
	info := pg_catalog.jsonb_build_object('appointment_id', NEW.id, 'technician_id', NEW.technician_id,
	                                      'slot_start', NEW.slot_start, 'slot_end', NEW.slot_end);
	IF TG_OP = 'INSERT' THEN
		IF repairsys.is_import(NEW.booked_at, TG_RELID) THEN
			RETURN NULL;
		END IF;
		IF NEW.replaces IS NULL THEN
			kind := 'appointment_booked';
		ELSE
			kind := 'appointment_rescheduled';
			info := info || pg_catalog.jsonb_build_object('replaces', NEW.replaces, 'reason', NEW.reason,
				'previous_slot_start', (SELECT a.slot_start FROM repairsys.appointment a WHERE a.id = NEW.replaces));
		END IF;
	ELSIF NEW.state = 'cancelled' THEN
		kind := 'appointment_cancelled';
		info := info || pg_catalog.jsonb_build_object('reason', NEW.reason);
	ELSE
		kind := 'appointment_checked_in';
		info := info || pg_catalog.jsonb_build_object('arrived_at', t.arrived_at);
	END IF;
	PERFORM repairsys.emit_event(kind, NEW.ticket_id, t.service_center_id, info);
	RETURN NULL;
END
$$;
COMMENT ON FUNCTION repairsys.appointment_event_trg() IS 'AFTER INSERT OR UPDATE trigger of appointment: writes appointment_booked, appointment_rescheduled (a visit replacing another), appointment_cancelled and appointment_checked_in (the arrival marks the visit done); not for a restored or migrated row (is_import())';
CREATE TRIGGER appointment_90_event AFTER INSERT ON repairsys.appointment
	FOR EACH ROW EXECUTE FUNCTION repairsys.appointment_event_trg();
CREATE TRIGGER appointment_91_state_event AFTER UPDATE OF state ON repairsys.appointment
	FOR EACH ROW WHEN (OLD.state = 'booked' AND NEW.state IN ('cancelled', 'done'))
	EXECUTE FUNCTION repairsys.appointment_event_trg();

------------------------------------------------------------------------------
-- Jobs: visit reminders and the churn refit (run by run_jobs())
------------------------------------------------------------------------------
INSERT INTO repairsys.setting (name, value, description, dump, type, min_value) VALUES
	('appointment_reminder_lead', '2 hours', 'run_jobs(): a booked visit starting within this interval gets one appointment_reminder event (and its customer the visit_reminder notification)', false, 'interval', NULL),
	('churn_refit_every', '1 day', 'run_jobs(): refits the churn model (refit_churn_model()) at most once per this interval (days, hours or minutes; counted from 2000-01-01 UTC)', false, 'interval', NULL);

-- One appointment_reminder event per booked visit that starts within the
-- lead time after the instant (once per visit and start: a rescheduled
-- visit is a new row and is reminded again).  Returns how many.
CREATE FUNCTION repairsys.run_appointment_reminders(at timestamptz)
RETURNS integer
LANGUAGE plpgsql VOLATILE
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
DECLARE
	lead interval := repairsys.setting_value('appointment_reminder_lead')::interval;
	r    record;
	n    integer := 0;
BEGIN
	FOR r IN
		SELECT a.id, a.ticket_id, a.technician_id, a.slot_start, a.slot_end, t.service_center_id,
		       pg_catalog.to_char(a.slot_start AT TIME ZONE coalesce(c.time_zone, 'UTC'), 'YYYY-MM-DD HH24:MI') AS visit_time
		  FROM repairsys.appointment a
		  JOIN repairsys.ticket t ON t.id = a.ticket_id
		  LEFT JOIN repairsys.service_center c ON c.id = t.service_center_id
		 WHERE a.state = 'booked' AND a.slot_start > at AND a.slot_start <= at + lead
		 ORDER BY a.slot_start, a.id
	LOOP
		INSERT INTO repairsys.job_done (job, object_id, since, done_at) VALUES ('appointment_reminder', r.id, r.slot_start, at)
		ON CONFLICT DO NOTHING;
		IF FOUND THEN
			PERFORM repairsys.emit_event('appointment_reminder', r.ticket_id, r.service_center_id,
				pg_catalog.jsonb_build_object('appointment_id', r.id, 'technician_id', r.technician_id,
				                              'slot_start', r.slot_start, 'slot_end', r.slot_end, 'visit_time', r.visit_time));
			n := n + 1;
		END IF;
	END LOOP;
	RETURN n;
END
$$;
COMMENT ON FUNCTION repairsys.run_appointment_reminders(timestamptz) IS 'Writes one appointment_reminder event per booked visit starting within setting appointment_reminder_lead after the instant (once per visit); returns how many';

-- The churn model refitted as of the instant, at most once per interval of
-- setting churn_refit_every (the interval's bucket is the key in job_done).
-- Too little history to fit (22023 of refit_churn_model()) counts as the
-- bucket's try: 0 is returned and the next bucket tries again.
CREATE FUNCTION repairsys.run_churn_refit(at timestamptz)
RETURNS integer
LANGUAGE plpgsql VOLATILE
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
DECLARE
	every  interval := repairsys.setting_value('churn_refit_every')::interval;
	bucket timestamptz;
BEGIN
	IF NOT every > interval '0' OR pg_catalog.date_part('month', every) <> 0 OR pg_catalog.date_part('year', every) <> 0 THEN
		RAISE EXCEPTION 'invalid setting churn_refit_every "%"', every
			USING ERRCODE = '22023', HINT = 'A positive interval of days, hours or minutes.';
	END IF;
	bucket := pg_catalog.date_bin(every, at, timestamptz '2000-01-01 00:00+00');
	INSERT INTO repairsys.job_done (job, object_id, since, done_at) VALUES ('churn_refit', 0, bucket, at)
	ON CONFLICT DO NOTHING;
	IF NOT FOUND THEN
		RETURN 0;
	END IF;
	BEGIN
		PERFORM repairsys.refit_churn_model(at);
	EXCEPTION WHEN invalid_parameter_value THEN
		RETURN 0;
	END;
	RETURN 1;
END
$$;
COMMENT ON FUNCTION repairsys.run_churn_refit(timestamptz) IS 'Refits the churn model (refit_churn_model(at)) at most once per interval of setting churn_refit_every; returns 1 when it refitted, 0 otherwise (already done in this interval, or too little history)';
