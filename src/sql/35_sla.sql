------------------------------------------------------------------------------
-- SLA clocks on tickets: stamping, pauses, status views (docs/sla.md)
------------------------------------------------------------------------------
-- The calendar dates of a center: its own rows and the all-center rows, the
-- center's own row winning for a date that has both (a center may work on a
-- national holiday, or close on a national make-up day).
CREATE FUNCTION repairsys.center_dates(service_center_id bigint,
                                       OUT day date, OUT kind text, OUT works_as integer)
RETURNS SETOF record
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
	SELECT DISTINCT ON (h.day) h.day, h.kind, h.works_as
	  FROM repairsys.holiday h
	 WHERE h.service_center_id IS NULL OR h.service_center_id = center_dates.service_center_id
	 ORDER BY h.day, h.service_center_id IS NULL
$$;
COMMENT ON FUNCTION repairsys.center_dates(bigint) IS 'The holiday rows that apply to a service center, one per date: its own, else the all-center row (NULL center: all-center rows only)';

-- Closed local dates of a center.
CREATE FUNCTION repairsys.closed_dates(service_center_id bigint)
RETURNS date[]
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
	SELECT coalesce(pg_catalog.array_agg(d.day ORDER BY d.day), '{}')
	  FROM repairsys.center_dates(closed_dates.service_center_id) d
	 WHERE d.kind = 'closed'
$$;
COMMENT ON FUNCTION repairsys.closed_dates(bigint) IS 'Closed local dates of a service center: its holidays and the holidays of all centers that it does not work (NULL center: all-center holidays only)';

-- Make-up working days of a center, with the weekday whose windows each has:
-- the open and open_as arguments of sla_deadline, sla_elapsed, sla_advance.
CREATE FUNCTION repairsys.open_dates(service_center_id bigint, OUT days date[], OUT works_as integer[])
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
	SELECT coalesce(pg_catalog.array_agg(d.day ORDER BY d.day), '{}'),
	       coalesce(pg_catalog.array_agg(d.works_as ORDER BY d.day), '{}')
	  FROM repairsys.center_dates(open_dates.service_center_id) d
	 WHERE d.kind = 'workday'
$$;
COMMENT ON FUNCTION repairsys.open_dates(bigint) IS 'Make-up working days (调休) of a service center (its own and the all-center ones it does not close) and, at the same positions, the ISO weekday whose windows each day has';

-- Zone an SLA calendar of a ticket is read in: the center's, else UTC.
CREATE FUNCTION repairsys.center_time_zone(service_center_id bigint)
RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
	SELECT coalesce((SELECT c.time_zone FROM repairsys.service_center c WHERE c.id = center_time_zone.service_center_id), 'UTC')
$$;
COMMENT ON FUNCTION repairsys.center_time_zone(bigint) IS 'Time zone of a service center (UTC when the center is unknown or NULL); SLA calendars without a zone of their own are read in it';

-- BEFORE INSERT (after ticket_10_open has chosen the center): respond_by and
-- resolve_by from sla_policy, holidays applied.  Rows restored or migrated
-- with a history of their own (status_changed_at not now()) keep their stamps.
CREATE FUNCTION repairsys.ticket_sla_open_trg()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
DECLARE
	pol    repairsys.sla_policy;
	closed date[];
	makeup record;
BEGIN
	IF NEW.status_changed_at IS DISTINCT FROM pg_catalog.now() THEN
		RETURN NEW;
	END IF;
	SELECT * INTO pol FROM repairsys.sla_policy p
	 WHERE p.service_type = NEW.service_type AND p.urgency = NEW.urgency;
	IF NOT FOUND THEN
		RETURN NEW;		-- no policy: no SLA stamps (and none invented)
	END IF;
	NEW.sla_respond_within := pol.respond_within;
	NEW.sla_resolve_within := pol.resolve_within;
	NEW.sla_time_zone := repairsys.center_time_zone(NEW.service_center_id);
	NEW.sla_paused := interval '0';
	closed := repairsys.closed_dates(NEW.service_center_id);
	makeup := repairsys.open_dates(NEW.service_center_id);
	NEW.respond_by := repairsys.sla_deadline(pol.respond_within, NEW.opened_at, closed, NEW.sla_time_zone,
	                                         makeup.days, makeup.works_as);
	NEW.resolve_by := repairsys.sla_deadline(pol.resolve_within, NEW.opened_at, closed, NEW.sla_time_zone,
	                                         makeup.days, makeup.works_as);
	RETURN NEW;
END
$$;
COMMENT ON FUNCTION repairsys.ticket_sla_open_trg() IS 'BEFORE INSERT trigger of repairsys.ticket: stamps respond_by and resolve_by from sla_policy with the center''s holidays and make-up working days';

-- BEFORE UPDATE OF status (after ticket_20_transition accepted the change and
-- set status_changed_at, the end of the hold): when the ticket leaves a state that pauses the SLA,
-- the business time of that hold is added to sla_paused and resolve_by moves
-- by it.  A deadline already missed before the hold began does not move.
CREATE FUNCTION repairsys.ticket_sla_pause_trg()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
DECLARE
	held     interval;
	closed   date[];
	makeup   record;
	hold_end timestamptz := coalesce(NEW.status_changed_at, pg_catalog.now());
BEGIN
	IF NEW.status IS NOT DISTINCT FROM OLD.status OR OLD.sla_resolve_within IS NULL
	   OR OLD.resolve_by IS NULL OR OLD.status_changed_at IS NULL THEN
		RETURN NEW;
	END IF;
	IF NOT coalesce((SELECT s.pauses_sla FROM repairsys.ticket_status s WHERE s.code = OLD.status), false) THEN
		RETURN NEW;
	END IF;
	closed := repairsys.closed_dates(NEW.service_center_id);
	makeup := repairsys.open_dates(NEW.service_center_id);
	held := repairsys.sla_elapsed(OLD.sla_resolve_within, OLD.status_changed_at, hold_end,
	                              closed, OLD.sla_time_zone, makeup.days, makeup.works_as);
	IF held <= interval '0' THEN
		RETURN NEW;
	END IF;
	NEW.sla_paused := OLD.sla_paused + held;
	IF OLD.resolve_by >= OLD.status_changed_at THEN
		NEW.resolve_by := repairsys.sla_advance(OLD.sla_resolve_within, OLD.resolve_by, held,
		                                        closed, OLD.sla_time_zone, makeup.days, makeup.works_as);
	END IF;
	RETURN NEW;
END
$$;
COMMENT ON FUNCTION repairsys.ticket_sla_pause_trg() IS 'BEFORE UPDATE OF status trigger of repairsys.ticket: on leaving a state with pauses_sla, adds the business time of the hold to sla_paused and moves resolve_by by it';

-- BEFORE UPDATE OF the SLA snapshot columns: they are kept by the triggers
-- above; only the table owner (restore, migration) may set them.  respond_by
-- and resolve_by stay writable: a supervisor may grant a ticket more time.
CREATE FUNCTION repairsys.ticket_sla_guard_trg()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
BEGIN
	IF (NEW.sla_respond_within IS DISTINCT FROM OLD.sla_respond_within
	    OR NEW.sla_resolve_within IS DISTINCT FROM OLD.sla_resolve_within
	    OR NEW.sla_time_zone IS DISTINCT FROM OLD.sla_time_zone
	    OR NEW.sla_paused IS DISTINCT FROM OLD.sla_paused)
	   AND NOT repairsys.is_table_owner(TG_RELID) THEN
		RAISE EXCEPTION 'columns sla_respond_within, sla_resolve_within, sla_time_zone and sla_paused of a ticket are set by repairsys'
			USING ERRCODE = '428C9',
			      DETAIL = pg_catalog.format('Ticket %s was not changed.', OLD.id),
			      HINT = 'respond_by and resolve_by may be changed directly.';
	END IF;
	RETURN NEW;
END
$$;
COMMENT ON FUNCTION repairsys.ticket_sla_guard_trg() IS 'BEFORE UPDATE trigger of repairsys.ticket: only the table owner may change the SLA snapshot columns (428C9)';

-- BEFORE INSERT (ticket_12_times, before the SLA stamps are computed from
-- opened_at) and BEFORE UPDATE of the clock columns (ticket_35_times, after
-- the SLA triggers): the instants of a ticket are finite, its calendar's time
-- zone is valid, and, but for the table owner (restore, migration), a new
-- ticket is not opened in the future.  It may be opened in the past: paper
-- tickets are keyed in later.  (A ticket opened in the future could never
-- move: its stamps would precede its opening.  An infinite resolve_by made
-- every read of sla_status fail.)  Five minutes of clock difference between
-- an application server and the database are tolerated.
CREATE FUNCTION repairsys.ticket_times_trg()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
DECLARE
	c record;
BEGIN
	FOR c IN SELECT * FROM (VALUES ('opened_at', NEW.opened_at), ('respond_by', NEW.respond_by), ('resolve_by', NEW.resolve_by)) v(col, val)
	LOOP
		IF c.val IS NOT NULL AND NOT pg_catalog.isfinite(c.val) THEN
			-- (23514, as the finite CHECK constraints of every table say it)
			RAISE EXCEPTION 'column "%" of a ticket must be a finite timestamp', c.col
				USING ERRCODE = '23514',
				      DETAIL = pg_catalog.format('The value given is %s.', c.val);
		END IF;
	END LOOP;
	IF TG_OP = 'INSERT' AND NEW.opened_at > pg_catalog.clock_timestamp() + interval '5 minutes'
	   AND NOT repairsys.is_table_owner(TG_RELID) THEN
		RAISE EXCEPTION 'a ticket cannot be opened in the future'
			USING ERRCODE = '23514',
			      DETAIL = pg_catalog.format('opened_at is %s.', NEW.opened_at),
			      HINT = 'Leave opened_at to its default (now), or give the past instant a paper ticket was opened.';
	END IF;
	IF TG_OP = 'INSERT' OR NEW.sla_time_zone IS DISTINCT FROM OLD.sla_time_zone THEN
		PERFORM repairsys.check_time_zone(NEW.sla_time_zone, 'column "sla_time_zone" of a ticket');
	END IF;
	RETURN NEW;
END
$$;
COMMENT ON FUNCTION repairsys.ticket_times_trg() IS 'BEFORE INSERT OR UPDATE trigger of ticket: opened_at, respond_by and resolve_by finite, sla_time_zone valid, no ticket opened in the future but by the table owner (23514; a bad time zone: 22023)';

------------------------------------------------------------------------------
-- Views
------------------------------------------------------------------------------
CREATE VIEW repairsys.sla_status AS
SELECT t.id AS ticket_id,
       t.service_center_id,
       t.service_type,
       t.urgency,
       t.status,
       t.opened_at,
       t.respond_by,
       t.first_response_at,
       CASE WHEN t.respond_by IS NULL THEN NULL
            ELSE coalesce(t.first_response_at, pg_catalog.now()) > t.respond_by END AS response_breached,
       t.resolve_by,
       s.pauses_sla AS paused,
       CASE WHEN s.pauses_sla THEN t.status_changed_at END AS paused_since,
       pg_catalog.round((pg_catalog.date_part('epoch', t.sla_paused) / 3600)::numeric, 2) AS paused_business_hours,
       pg_catalog.round((pg_catalog.date_part('epoch', x.left_time) / 3600)::numeric, 2) AS business_hours_left,
       x.left_time < interval '0' AS breached,
       t.sla_resolve_within::text AS resolve_within,
       t.sla_time_zone AS time_zone,
       v.slot_start AS visit_start,
       t.arrived_at,
       CASE WHEN v.slot_start IS NULL THEN NULL
            ELSE coalesce(t.arrived_at, pg_catalog.now()) > v.slot_start END AS arrival_late,
       CASE WHEN v.slot_start IS NULL THEN NULL
            ELSE greatest(0, pg_catalog.floor(pg_catalog.date_part('epoch', coalesce(t.arrived_at, pg_catalog.now()) - v.slot_start) / 60))::integer END AS minutes_late
  FROM repairsys.ticket t
  JOIN repairsys.ticket_status s ON s.code = t.status
  -- the visit the technician is due at: the booked one, else the one he
  -- checked in for (docs/dispatch.md)
  LEFT JOIN LATERAL (
	SELECT a.slot_start FROM repairsys.appointment a
	 WHERE a.ticket_id = t.id AND a.state IN ('booked', 'done')
	 ORDER BY a.state = 'booked' DESC, a.id DESC LIMIT 1
  ) v ON true
  LEFT JOIN LATERAL (
	-- (a row the triggers would refuse today, e.g. restored from an older
	-- version, gives NULL here instead of failing the whole view)
	SELECT CASE WHEN t.resolve_by IS NULL OR t.sla_resolve_within IS NULL
	                 OR NOT pg_catalog.isfinite(t.resolve_by) OR NOT pg_catalog.isfinite(t.status_changed_at) THEN NULL
	            ELSE repairsys.sla_elapsed(t.sla_resolve_within,
	                                       CASE WHEN s.pauses_sla THEN t.status_changed_at ELSE pg_catalog.now() END,
	                                       t.resolve_by,
	                                       repairsys.closed_dates(t.service_center_id), t.sla_time_zone,
	                                       od.days, od.works_as) END AS left_time
	  FROM repairsys.open_dates(t.service_center_id) od
  ) x ON true
 WHERE NOT s.is_terminal AND t.resolved_at IS NULL;
COMMENT ON VIEW repairsys.sla_status IS 'SLA clock of every open (not resolved, not terminal) ticket: deadlines, business time left, holds, breaches';
COMMENT ON COLUMN repairsys.sla_status.ticket_id IS 'Ticket id';
COMMENT ON COLUMN repairsys.sla_status.service_center_id IS 'Service center responsible';
COMMENT ON COLUMN repairsys.sla_status.service_type IS 'Service type code';
COMMENT ON COLUMN repairsys.sla_status.urgency IS 'Urgency (selects the SLA policy)';
COMMENT ON COLUMN repairsys.sla_status.status IS 'Current state';
COMMENT ON COLUMN repairsys.sla_status.opened_at IS 'When the ticket was opened';
COMMENT ON COLUMN repairsys.sla_status.respond_by IS 'Response deadline (NULL: no SLA policy)';
COMMENT ON COLUMN repairsys.sla_status.first_response_at IS 'First move out of the initial state (NULL: not yet)';
COMMENT ON COLUMN repairsys.sla_status.response_breached IS 'True when the first response came, or is still missing, after respond_by';
COMMENT ON COLUMN repairsys.sla_status.resolve_by IS 'Resolution deadline, moved by every hold so far (a running hold moves it when it ends)';
COMMENT ON COLUMN repairsys.sla_status.paused IS 'True while the ticket is in a state that pauses the SLA clock';
COMMENT ON COLUMN repairsys.sla_status.paused_since IS 'Start of the running hold (NULL when not paused)';
COMMENT ON COLUMN repairsys.sla_status.paused_business_hours IS 'Business hours of the finished holds (resolve_by has moved by them)';
COMMENT ON COLUMN repairsys.sla_status.business_hours_left IS 'Business hours from now (or from the start of the running hold) to resolve_by; negative when overdue';
COMMENT ON COLUMN repairsys.sla_status.breached IS 'True when resolve_by has passed in business time (a hold does not excuse time already missed)';
COMMENT ON COLUMN repairsys.sla_status.resolve_within IS 'Resolution target of the ticket (canonical sla_interval text)';
COMMENT ON COLUMN repairsys.sla_status.time_zone IS 'Time zone the SLA calendar is read in';
COMMENT ON COLUMN repairsys.sla_status.visit_start IS 'Start of the booked visit (else of the visit checked in for; NULL: no appointment)';
COMMENT ON COLUMN repairsys.sla_status.arrived_at IS 'When the technician checked in (NULL: not yet)';
COMMENT ON COLUMN repairsys.sla_status.arrival_late IS 'True when the technician arrived, or has still not arrived, after visit_start (NULL: no appointment)';
COMMENT ON COLUMN repairsys.sla_status.minutes_late IS 'Whole minutes from visit_start to the arrival (or to now while awaited), 0 when on time (NULL: no appointment)';

CREATE VIEW repairsys.stuck_tickets AS
SELECT t.id AS ticket_id,
       t.service_center_id,
       t.technician_id,
       t.status,
       t.status_changed_at AS in_status_since,
       pg_catalog.round((pg_catalog.date_part('epoch', pg_catalog.now() - t.status_changed_at) / 3600)::numeric, 2) AS hours_in_status,
       pg_catalog.round((pg_catalog.date_part('epoch', s.max_dwell) / 3600)::numeric, 2) AS max_dwell_hours,
       pg_catalog.round((pg_catalog.date_part('epoch', pg_catalog.now() - t.status_changed_at - s.max_dwell) / 3600)::numeric, 2) AS hours_over
  FROM repairsys.ticket t
  JOIN repairsys.ticket_status s ON s.code = t.status
 WHERE s.max_dwell IS NOT NULL AND NOT s.is_terminal
   AND t.status_changed_at IS NOT NULL
   AND t.status_changed_at + s.max_dwell < pg_catalog.now();
COMMENT ON VIEW repairsys.stuck_tickets IS 'Tickets that stayed in their state longer than its max_dwell (停留时间过长预警), wall-clock time';
COMMENT ON COLUMN repairsys.stuck_tickets.ticket_id IS 'Ticket id';
COMMENT ON COLUMN repairsys.stuck_tickets.service_center_id IS 'Service center responsible';
COMMENT ON COLUMN repairsys.stuck_tickets.technician_id IS 'Assigned technician (NULL: none)';
COMMENT ON COLUMN repairsys.stuck_tickets.status IS 'State the ticket is stuck in';
COMMENT ON COLUMN repairsys.stuck_tickets.in_status_since IS 'When the ticket entered the state';
COMMENT ON COLUMN repairsys.stuck_tickets.hours_in_status IS 'Hours spent in the state so far';
COMMENT ON COLUMN repairsys.stuck_tickets.max_dwell_hours IS 'The state''s max_dwell in hours';
COMMENT ON COLUMN repairsys.stuck_tickets.hours_over IS 'Hours beyond max_dwell';
