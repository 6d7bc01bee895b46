-- Time-aware dispatch (DESIGN.md section 14, docs/dispatch.md): shifts from
-- rosters, absences, bookable visit slots, appointments, arrival.
--
-- Every rule is kept by the triggers of the tables (23_tables_dispatch.sql),
-- so a plain INSERT into repairsys.appointment does what book_visit() does:
-- the functions here are the convenient route, not the only guarded one.
-- Lock order, as in 50_assign.sql: the ticket, then the technician.  Every
-- writer that can put a technician's time in question (a booking, a change of
-- technician, an absence approved, a roster changed) locks the technician's
-- row first, so such writers are serialized per technician and each checks
-- what the one before it committed.

------------------------------------------------------------------------------
-- Shifts
------------------------------------------------------------------------------
-- The instant local date d begins in time zone zone.
CREATE FUNCTION repairsys.local_midnight(d date, zone text)
RETURNS timestamptz
LANGUAGE sql STABLE STRICT PARALLEL SAFE
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
	SELECT d::timestamp AT TIME ZONE zone
$$;
COMMENT ON FUNCTION repairsys.local_midnight(date, text) IS 'The instant a local date begins in a time zone (as timestamp AT TIME ZONE resolves it)';

-- The rostered hours of one technician that meet [from_ts, to_ts): the
-- windows of each roster row over the local dates it is valid (in the
-- center's zone), the center's holidays closed and make-up days open,
-- merged.  Absences are not taken off (technician_shifts() does that).
CREATE FUNCTION repairsys.roster_ranges(technician_id bigint, from_ts timestamptz, to_ts timestamptz)
RETURNS tstzmultirange
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
	SELECT coalesce(pg_catalog.range_agg(pg_catalog.tstzrange(w.starts, w.ends)), '{}'::tstzmultirange)
	  FROM repairsys.technician te
	 CROSS JOIN LATERAL (SELECT repairsys.center_time_zone(te.service_center_id) AS zone,
	                            repairsys.closed_dates(te.service_center_id) AS closed) c
	 CROSS JOIN LATERAL repairsys.open_dates(te.service_center_id) od
	  JOIN repairsys.technician_roster r ON r.technician_id = te.id
	 CROSS JOIN LATERAL repairsys.sla_windows(
	        ('1min in ' || r.calendar)::repairsys.sla_interval,
	        greatest(roster_ranges.from_ts, repairsys.local_midnight(r.valid_from, c.zone)),
	        CASE WHEN r.valid_to IS NULL THEN roster_ranges.to_ts
	             ELSE least(roster_ranges.to_ts, repairsys.local_midnight(r.valid_to + 1, c.zone)) END,
	        c.closed, c.zone, od.days, od.works_as) w
	 WHERE te.id = roster_ranges.technician_id
	   AND r.valid_from <= (roster_ranges.to_ts AT TIME ZONE c.zone)::date
	   AND (r.valid_to IS NULL OR r.valid_to >= (roster_ranges.from_ts AT TIME ZONE c.zone)::date - 1)
$$;
COMMENT ON FUNCTION repairsys.roster_ranges(bigint, timestamptz, timestamptz) IS 'Rostered hours of a technician within [from_ts, to_ts) as one multirange: his rosters'' windows on their valid local dates with his center''s holidays and make-up working days (absences not taken off)';

-- The approved absences of a technician as one multirange.
CREATE FUNCTION repairsys.absence_ranges(technician_id bigint)
RETURNS tstzmultirange
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
	SELECT coalesce(pg_catalog.range_agg(a.during), '{}'::tstzmultirange)
	  FROM repairsys.technician_absence a
	 WHERE a.technician_id = absence_ranges.technician_id AND a.status = 'approved'
$$;
COMMENT ON FUNCTION repairsys.absence_ranges(bigint) IS 'Approved absences of a technician as one multirange';

CREATE FUNCTION repairsys.technician_shifts(from_day date, to_day date)
RETURNS TABLE (technician_id bigint, shift_start timestamptz, shift_end timestamptz)
LANGUAGE plpgsql STABLE
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
BEGIN
	IF from_day IS NULL OR to_day IS NULL THEN
		RAISE EXCEPTION 'from_day and to_day of technician_shifts must not be null' USING ERRCODE = '22023';
	END IF;
	IF NOT pg_catalog.isfinite(from_day) OR NOT pg_catalog.isfinite(to_day) OR to_day < from_day OR to_day - from_day > 366 THEN
		RAISE EXCEPTION 'invalid range of days % to %', from_day, to_day
			USING ERRCODE = '22023',
			      DETAIL = 'The days must be finite, to_day not before from_day and at most 366 days after it.';
	END IF;
	RETURN QUERY
	SELECT te.id, pg_catalog.lower(x.r), pg_catalog.upper(x.r)
	  FROM repairsys.technician te
	 CROSS JOIN LATERAL (SELECT repairsys.center_time_zone(te.service_center_id) AS zone) z
	 CROSS JOIN LATERAL pg_catalog.unnest(
	        repairsys.roster_ranges(te.id, repairsys.local_midnight(from_day, z.zone), repairsys.local_midnight(to_day + 1, z.zone))
	        OPERATOR(pg_catalog.-) repairsys.absence_ranges(te.id)) AS x(r)
	 ORDER BY 1, 2;
END
$$;
COMMENT ON FUNCTION repairsys.technician_shifts(date, date) IS 'Concrete working intervals of every technician the caller may see over the local dates from_day..to_day of his center: rostered hours (holidays and make-up working days applied) less approved absences; bad range: 22023';

------------------------------------------------------------------------------
-- Availability
------------------------------------------------------------------------------
-- Travel time between two points at setting travel_speed_kmh (0 when a point
-- is unknown), at most 12 hours (so that a visit's neighbours are the visits
-- within 12 hours of it, which the index finds).
CREATE FUNCTION repairsys.travel_time(lat1 double precision, lon1 double precision,
                                      lat2 double precision, lon2 double precision)
RETURNS interval
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
	SELECT CASE WHEN lat1 IS NULL OR lon1 IS NULL OR lat2 IS NULL OR lon2 IS NULL THEN interval '0'
	            ELSE pg_catalog.make_interval(secs => least(43200, repairsys.haversine_km(lat1, lon1, lat2, lon2)
	                                                               / repairsys.setting_value('travel_speed_kmh')::double precision * 3600)) END
$$;
COMMENT ON FUNCTION repairsys.travel_time(double precision, double precision, double precision, double precision) IS 'Travel time between two points (great-circle distance at setting travel_speed_kmh, at most 12 hours); 0 when a point is unknown';

-- Why a technician cannot make a visit to a place at [slot_start, slot_end):
-- 'off shift' (not rostered for the whole of it), 'absent' (an approved
-- absence meets it), 'booked' (another booked or done visit of his, with the
-- travel time between the two places on either side, meets it); NULL when
-- free.  except_appointment is left out (the visit being moved).
CREATE FUNCTION repairsys.visit_conflict(technician_id bigint, lat double precision, lon double precision,
                                         slot_start timestamptz, slot_end timestamptz,
                                         except_appointment bigint DEFAULT NULL)
RETURNS text
LANGUAGE sql STABLE
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
	SELECT CASE
		WHEN NOT (repairsys.roster_ranges(visit_conflict.technician_id, visit_conflict.slot_start, visit_conflict.slot_end)
		          @> pg_catalog.tstzrange(visit_conflict.slot_start, visit_conflict.slot_end)) THEN 'off shift'
		WHEN EXISTS (SELECT 1 FROM repairsys.technician_absence a
		              WHERE a.technician_id = visit_conflict.technician_id AND a.status = 'approved'
		                AND a.during && pg_catalog.tstzrange(visit_conflict.slot_start, visit_conflict.slot_end)) THEN 'absent'
		WHEN EXISTS (SELECT 1 FROM repairsys.appointment a
		               JOIN repairsys.ticket t ON t.id = a.ticket_id
		              CROSS JOIN LATERAL (SELECT repairsys.travel_time(t.lat, t.lon, visit_conflict.lat, visit_conflict.lon) AS d) tr
		              WHERE a.technician_id = visit_conflict.technician_id AND a.state IN ('booked', 'done')
		                AND a.id IS DISTINCT FROM visit_conflict.except_appointment
		                AND a.slot_start < visit_conflict.slot_end + interval '12 hours'
		                AND a.slot_end > visit_conflict.slot_start - interval '12 hours'
		                AND a.slot_start < visit_conflict.slot_end + tr.d
		                AND visit_conflict.slot_start < a.slot_end + tr.d) THEN 'booked'
	END
$$;
COMMENT ON FUNCTION repairsys.visit_conflict(bigint, double precision, double precision, timestamptz, timestamptz, bigint) IS 'Why a technician cannot make a visit to a place in [slot_start, slot_end): off shift, absent, booked (another visit, travel time between the places included; except_appointment left out), or NULL when he is free';

-- The slots of a center for a service type at a place: the engine of
-- available_slots().  SECURITY DEFINER, because a customer sees no
-- technician: it takes no ticket (whose rows the caller might not see), only
-- what every role may read (a center, a service type, a point), and tells
-- how many technicians are free, never who.
CREATE FUNCTION repairsys.slots_for(service_center_id bigint, service_type text,
                                    lat double precision, lon double precision,
                                    from_day date, days integer)
RETURNS TABLE (slot_start timestamptz, slot_end timestamptz, technicians_free integer)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
DECLARE
	len    interval := repairsys.setting_value('slot_length')::interval;
	zone   text := repairsys.center_time_zone(slots_for.service_center_id);
	closed date[] := repairsys.closed_dates(slots_for.service_center_id);
	od     record;
	req_skill text;
	req_level integer;
	t0     timestamptz;
	t1     timestamptz;
BEGIN
	IF from_day IS NULL OR days IS NULL OR NOT pg_catalog.isfinite(from_day) OR days < 1 OR days > 31 THEN
		RAISE EXCEPTION 'invalid slot range: from_day %, days %', from_day, days
			USING ERRCODE = '22023', DETAIL = 'from_day must be a finite date and days between 1 and 31.';
	END IF;
	SELECT st.required_skill, st.min_skill_level INTO req_skill, req_level
	  FROM repairsys.service_type st WHERE st.code = slots_for.service_type;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'service type "%" does not exist', slots_for.service_type USING ERRCODE = '22023';
	END IF;
	od := repairsys.open_dates(slots_for.service_center_id);
	t0 := repairsys.local_midnight(from_day, zone);
	t1 := repairsys.local_midnight(from_day + days, zone);
	RETURN QUERY
	WITH tech AS (
		SELECT te.id FROM repairsys.technician te
		 WHERE te.service_center_id = slots_for.service_center_id AND te.active
		   AND (req_skill IS NULL OR EXISTS (SELECT 1 FROM repairsys.technician_skill ts
		                                      WHERE ts.technician_id = te.id AND ts.skill = req_skill AND ts.level >= req_level))
	), win AS (
		SELECT tech.id, w.starts, w.ends
		  FROM tech
		  JOIN repairsys.technician_roster r ON r.technician_id = tech.id
		 CROSS JOIN LATERAL repairsys.sla_windows(
		        ('1min in ' || r.calendar)::repairsys.sla_interval,
		        greatest(t0, repairsys.local_midnight(r.valid_from, zone)),
		        CASE WHEN r.valid_to IS NULL THEN t1 ELSE least(t1, repairsys.local_midnight(r.valid_to + 1, zone)) END,
		        closed, zone, od.days, od.works_as) w
		 WHERE r.valid_from < from_day + days AND (r.valid_to IS NULL OR r.valid_to >= from_day - 1)
	), shift AS (
		SELECT win.id, pg_catalog.unnest(pg_catalog.range_agg(pg_catalog.tstzrange(win.starts, win.ends))) AS r
		  FROM win GROUP BY win.id
	), cand AS (
		SELECT shift.id, g AS s, g + len AS e
		  FROM shift CROSS JOIN LATERAL pg_catalog.generate_series(pg_catalog.lower(shift.r), pg_catalog.upper(shift.r) - len, len) g
	), away AS (
		-- approved absences per technician
		SELECT a.technician_id AS id, pg_catalog.range_agg(a.during) AS r
		  FROM repairsys.technician_absence a JOIN tech ON tech.id = a.technician_id
		 WHERE a.status = 'approved' AND a.during && pg_catalog.tstzrange(t0, t1)
		 GROUP BY a.technician_id
	), busy AS (
		-- the time each technician's visits take, with the travel time from and
		-- to this place on either side (open bounds: a slot may begin exactly
		-- when he can be there); as visit_conflict() counts it
		SELECT a.technician_id AS id,
		       pg_catalog.range_agg(pg_catalog.tstzrange(a.slot_start - tr.d, a.slot_end + tr.d, '()')) AS r
		  FROM repairsys.appointment a
		  JOIN tech ON tech.id = a.technician_id
		  JOIN repairsys.ticket t ON t.id = a.ticket_id
		 CROSS JOIN LATERAL (SELECT repairsys.travel_time(t.lat, t.lon, slots_for.lat, slots_for.lon) AS d) tr
		 WHERE a.state IN ('booked', 'done')
		   AND a.slot_start < t1 + interval '12 hours' AND a.slot_end > t0 - interval '12 hours'
		 GROUP BY a.technician_id
	)
	SELECT cand.s, cand.e, pg_catalog.count(*)::integer
	  FROM cand
	  LEFT JOIN away ON away.id = cand.id
	  LEFT JOIN busy ON busy.id = cand.id
	 WHERE NOT coalesce(away.r && pg_catalog.tstzrange(cand.s, cand.e), false)
	   AND NOT coalesce(busy.r && pg_catalog.tstzrange(cand.s, cand.e), false)
	 GROUP BY cand.s, cand.e
	 ORDER BY cand.s, cand.e;
END
$$;
COMMENT ON FUNCTION repairsys.slots_for(bigint, text, double precision, double precision, date, integer) IS 'Engine of available_slots(): slots of setting slot_length over local days from_day .. from_day + days - 1 of a center in which active technicians of the center with the service type''s skill are on shift, not absent and not booked (travel time to and from their other visits included), with how many; SECURITY DEFINER: says how many, never who';

CREATE FUNCTION repairsys.available_slots(ticket_id bigint, from_day date, days integer DEFAULT 7)
RETURNS TABLE (slot_start timestamptz, slot_end timestamptz, technicians_free integer)
LANGUAGE plpgsql STABLE
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
DECLARE
	t record;
BEGIN
	-- (row-level security applies: a ticket the caller may not see does not exist)
	SELECT x.service_center_id, x.service_type, x.lat, x.lon, x.status_role INTO t
	  FROM repairsys.ticket x WHERE x.id = available_slots.ticket_id;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'ticket % does not exist', available_slots.ticket_id USING ERRCODE = '22023';
	END IF;
	IF t.status_role IN ('resolved', 'closed', 'cancelled') THEN
		RAISE EXCEPTION 'ticket % is finished', available_slots.ticket_id
			USING ERRCODE = '23514', DETAIL = 'Visits are booked only for open tickets.';
	END IF;
	RETURN QUERY SELECT s.slot_start, s.slot_end, s.technicians_free
	  FROM repairsys.slots_for(t.service_center_id, t.service_type, t.lat, t.lon, from_day, days) s;
END
$$;
COMMENT ON FUNCTION repairsys.available_slots(bigint, date, integer) IS 'Bookable visit slots for a ticket over local days from_day .. from_day + days - 1 of its center: slot_start, slot_end (setting slot_length) and how many eligible technicians (skill, center, active, on shift for the whole visit, not absent, not booked, travel time included) are free; unknown ticket or bad range: 22023; finished ticket: 23514';

------------------------------------------------------------------------------
-- Rules of the tables
------------------------------------------------------------------------------
-- Locks a technician's row (and leaves a new version, as auto_assign does:
-- a REPEATABLE READ writer with an older snapshot then fails with 40001
-- instead of checking stale data).  Returns whether he exists.
CREATE FUNCTION repairsys.lock_technician(technician_id bigint)
RETURNS boolean
LANGUAGE plpgsql VOLATILE
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
BEGIN
	UPDATE repairsys.technician te SET capacity = te.capacity WHERE te.id = lock_technician.technician_id;
	RETURN FOUND;
END
$$;
COMMENT ON FUNCTION repairsys.lock_technician(bigint) IS 'Locks a technician''s row so that writers of his time (bookings, absences, rosters) are serialized; false when he does not exist';

-- Whether a technician may serve a ticket at all: active, with the service
-- type's skill at its minimum level.
CREATE FUNCTION repairsys.technician_fits(technician_id bigint, ticket_id bigint)
RETURNS text
LANGUAGE sql STABLE
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
	SELECT CASE
		WHEN te.id IS NULL THEN 'unknown technician'
		WHEN NOT te.active THEN 'inactive'
		WHEN st.required_skill IS NOT NULL AND NOT EXISTS (
		        SELECT 1 FROM repairsys.technician_skill ts
		         WHERE ts.technician_id = te.id AND ts.skill = st.required_skill AND ts.level >= st.min_skill_level)
		THEN 'lacks skill'
	END
	  FROM repairsys.ticket t
	  JOIN repairsys.service_type st ON st.code = t.service_type
	  LEFT JOIN repairsys.technician te ON te.id = technician_fits.technician_id
	 WHERE t.id = technician_fits.ticket_id
$$;
COMMENT ON FUNCTION repairsys.technician_fits(bigint, bigint) IS 'Why a technician cannot serve a ticket at all (unknown technician, inactive, lacks skill), NULL when he can';

-- BEFORE INSERT on appointment, first, with the caller's rights: the ticket
-- must be one the caller may see (row-level security of ticket), so that the
-- checks after it, which read every ticket and technician, never answer about
-- someone else's ticket (the policy's own check would come only after them).
CREATE FUNCTION repairsys.appointment_visible_trg()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
BEGIN
	IF NOT EXISTS (SELECT 1 FROM repairsys.ticket x WHERE x.id = NEW.ticket_id) THEN
		RAISE EXCEPTION 'new row violates row-level security policy for table "appointment"'
			USING ERRCODE = '42501', DETAIL = 'The ticket is not one the current role may see.';
	END IF;
	RETURN NEW;
END
$$;
COMMENT ON FUNCTION repairsys.appointment_visible_trg() IS 'BEFORE INSERT trigger of appointment (caller''s rights): the ticket is one the caller may see (42501), before any check answers about it';
CREATE TRIGGER appointment_05_visible BEFORE INSERT ON repairsys.appointment
	FOR EACH ROW EXECUTE FUNCTION repairsys.appointment_visible_trg();

-- BEFORE INSERT OR UPDATE on appointment.  A new row is a booking: state
-- booked, for an open ticket, replacing (when it does) a rescheduled row of
-- the same ticket within setting max_reschedules; the technician, when not
-- given, is the ticket's own if he is free, else the best scored free one
-- (candidates_base(), default policy); he must fit the ticket and be free
-- (visit_conflict()) once his row is locked, else 23514.  An update changes
-- only the state (booked to rescheduled or cancelled with a reason, or to done
-- once the technician checked in), the reason, or, while booked, the
-- technician (checked as a new booking).  Rows the table owner restores or
-- migrates (booked_at not now) are taken as they are.
CREATE FUNCTION repairsys.appointment_check_trg()
RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
DECLARE
	t      record;
	why    text;
	n      integer;
	c      record;
	tried  integer := 0;
BEGIN
	IF TG_OP = 'INSERT' AND NEW.booked_at IS DISTINCT FROM pg_catalog.now() AND repairsys.is_table_owner(TG_RELID) THEN
		RETURN NEW;
	END IF;
	IF TG_OP = 'UPDATE' THEN
		IF NEW.ticket_id IS DISTINCT FROM OLD.ticket_id OR NEW.slot_start IS DISTINCT FROM OLD.slot_start
		   OR NEW.slot_end IS DISTINCT FROM OLD.slot_end OR NEW.replaces IS DISTINCT FROM OLD.replaces
		   OR NEW.booked_at IS DISTINCT FROM OLD.booked_at OR NEW.booked_by IS DISTINCT FROM OLD.booked_by THEN
			RAISE EXCEPTION 'only the state, reason and technician of appointment % may change', OLD.id
				USING ERRCODE = '23514', HINT = 'To move a visit, use repairsys.reschedule_visit(): it keeps the history.';
		END IF;
		IF NEW.state IS DISTINCT FROM OLD.state THEN
			IF OLD.state <> 'booked' THEN
				RAISE EXCEPTION 'appointment % is % and cannot become %', OLD.id, OLD.state, NEW.state
					USING ERRCODE = '23514', DETAIL = 'Only a booked visit changes its state.';
			END IF;
			IF NEW.state IN ('rescheduled', 'cancelled') AND coalesce(pg_catalog.btrim(NEW.reason), '') = '' THEN
				RAISE EXCEPTION 'a visit is % only with a reason', NEW.state USING ERRCODE = '23514';
			END IF;
			IF NEW.state = 'done' AND NOT EXISTS (SELECT 1 FROM repairsys.ticket x WHERE x.id = NEW.ticket_id AND x.arrived_at IS NOT NULL) THEN
				RAISE EXCEPTION 'appointment % is done only once the technician checked in', OLD.id
					USING ERRCODE = '23514', HINT = 'repairsys.check_in() stamps the arrival and marks the visit done.';
			END IF;
			NEW.changed_at := pg_catalog.now();
		END IF;
		IF NEW.technician_id IS NOT DISTINCT FROM OLD.technician_id THEN
			RETURN NEW;
		END IF;
		IF NEW.state <> 'booked' THEN
			RAISE EXCEPTION 'the technician of appointment % (%) cannot change', OLD.id, OLD.state USING ERRCODE = '23514';
		END IF;
	END IF;

	-- a booking (new row, or a booked row given another technician)
	SELECT x.id, x.technician_id, x.lat, x.lon, x.status_role INTO t
	  FROM repairsys.ticket x WHERE x.id = NEW.ticket_id FOR UPDATE;
	IF NOT FOUND THEN
		RETURN NEW;		-- the foreign key names the unknown ticket
	END IF;
	IF t.status_role IN ('resolved', 'closed', 'cancelled') THEN
		RAISE EXCEPTION 'ticket % is finished', t.id USING ERRCODE = '23514', DETAIL = 'Visits are booked only for open tickets.';
	END IF;
	-- (before any arithmetic on them: an infinite end would overflow there)
	IF NOT (pg_catalog.isfinite(NEW.slot_start) AND pg_catalog.isfinite(NEW.slot_end)) THEN
		RAISE EXCEPTION 'a visit starts and ends at finite instants' USING ERRCODE = '23514',
			DETAIL = pg_catalog.format('slot_start %s, slot_end %s.', NEW.slot_start, NEW.slot_end);
	END IF;
	IF TG_OP = 'INSERT' THEN
		IF NOT (NEW.slot_end > NEW.slot_start) THEN
			RAISE EXCEPTION 'a visit ends after it starts' USING ERRCODE = '23514',
				DETAIL = pg_catalog.format('slot_start %s, slot_end %s.', NEW.slot_start, NEW.slot_end);
		END IF;
		IF NEW.state <> 'booked' THEN
			RAISE EXCEPTION 'a new appointment is booked, not %', NEW.state USING ERRCODE = '23514';
		END IF;
		-- (after the ticket's lock: a booking of the same ticket that committed
		-- meanwhile is seen here, and this one is refused as a rule, not as a
		-- duplicate key)
		IF EXISTS (SELECT 1 FROM repairsys.appointment a WHERE a.ticket_id = NEW.ticket_id AND a.state = 'booked') THEN
			RAISE EXCEPTION 'ticket % has a booked visit already', NEW.ticket_id
				USING ERRCODE = '23514', HINT = 'repairsys.reschedule_visit() moves it; repairsys.cancel_visit() cancels it.';
		END IF;
		NEW.changed_at := NULL;
		IF NEW.replaces IS NOT NULL THEN
			IF NOT EXISTS (SELECT 1 FROM repairsys.appointment a
			                WHERE a.id = NEW.replaces AND a.ticket_id = NEW.ticket_id AND a.state = 'rescheduled')
			   OR EXISTS (SELECT 1 FROM repairsys.appointment a WHERE a.replaces = NEW.replaces) THEN
				RAISE EXCEPTION 'appointment % is not a rescheduled visit of ticket % waiting for its new slot', NEW.replaces, NEW.ticket_id
					USING ERRCODE = '23514';
			END IF;
			n := (SELECT pg_catalog.count(*) FROM repairsys.appointment a WHERE a.ticket_id = NEW.ticket_id AND a.state = 'rescheduled');
			IF n > repairsys.setting_value('max_reschedules')::integer THEN
				RAISE EXCEPTION 'the visit of ticket % cannot be rescheduled again', NEW.ticket_id
					USING ERRCODE = '23514',
					      DETAIL = pg_catalog.format('It was rescheduled %s times; setting max_reschedules is %s.', n - 1,
					                                 repairsys.setting_value('max_reschedules'));
			END IF;
		END IF;
	END IF;

	IF NEW.technician_id IS NOT NULL THEN
		why := repairsys.technician_fits(NEW.technician_id, t.id);
		IF why IS NULL THEN
			PERFORM repairsys.lock_technician(NEW.technician_id);
			why := repairsys.visit_conflict(NEW.technician_id, t.lat, t.lon, NEW.slot_start, NEW.slot_end,
			                                CASE WHEN TG_OP = 'UPDATE' THEN OLD.id END);
		END IF;
		IF why IS NOT NULL THEN
			RAISE EXCEPTION 'technician % cannot come to ticket % at %', NEW.technician_id, t.id, NEW.slot_start
				USING ERRCODE = '23514',
				      DETAIL = pg_catalog.format('Technician %s: %s.', NEW.technician_id, why),
				      HINT = 'repairsys.available_slots() lists the slots with a free technician.';
		END IF;
		RETURN NEW;
	END IF;

	-- none given: the ticket's own technician if free, else the best scored free one
	FOR c IN SELECT k.technician_id FROM repairsys.candidates_base(t.id, 'default') k
	          WHERE k.eligible AND repairsys.technician_fits(k.technician_id, t.id) IS NULL
	          ORDER BY (k.technician_id = t.technician_id) DESC NULLS LAST, k.score DESC NULLS LAST, k.technician_id
	LOOP
		-- (checked without the lock first, so that only a technician who looks
		-- free is locked; the subtransaction lets the lock of one who turns
		-- out busy go again)
		IF repairsys.visit_conflict(c.technician_id, t.lat, t.lon, NEW.slot_start, NEW.slot_end) IS NOT NULL THEN
			CONTINUE;
		END IF;
		tried := tried + 1;
		BEGIN
			PERFORM repairsys.lock_technician(c.technician_id);
			IF repairsys.visit_conflict(c.technician_id, t.lat, t.lon, NEW.slot_start, NEW.slot_end) IS NOT NULL THEN
				RAISE EXCEPTION 'taken meanwhile' USING ERRCODE = 'RSD01';
			END IF;
			NEW.technician_id := c.technician_id;
			RETURN NEW;
		EXCEPTION WHEN SQLSTATE 'RSD01' THEN
			NULL;	-- booked meanwhile: the next one
		END;
	END LOOP;
	RAISE EXCEPTION 'no technician can come to ticket % at %', t.id, NEW.slot_start
		USING ERRCODE = '23514',
		      DETAIL = CASE WHEN tried > 0 THEN pg_catalog.format('%s free technician(s) were booked meanwhile.', tried)
		                    ELSE 'Every eligible technician is off shift, absent or booked then.' END,
		      HINT = 'repairsys.available_slots() lists the slots with a free technician.';
END
$$;
COMMENT ON FUNCTION repairsys.appointment_check_trg() IS 'BEFORE INSERT OR UPDATE trigger of appointment: a booking is for an open ticket, within max_reschedules, by a technician who fits the ticket and is free then (chosen when not given), checked under his row lock (23514); an update changes only the state (booked to rescheduled or cancelled with a reason, done after check-in), the reason or, while booked, the technician';
CREATE TRIGGER appointment_10_check BEFORE INSERT OR UPDATE ON repairsys.appointment
	FOR EACH ROW EXECUTE FUNCTION repairsys.appointment_check_trg();

-- AFTER INSERT on appointment: the ticket is assigned to the visit's
-- technician and, from the initial state, moved to its assigned-role state
-- (through a plain UPDATE: the life-cycle and capacity triggers check it).
CREATE FUNCTION repairsys.appointment_assign_trg()
RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
DECLARE
	t record;
BEGIN
	IF NEW.state <> 'booked' OR (NEW.booked_at IS DISTINCT FROM pg_catalog.now() AND repairsys.is_table_owner(TG_RELID)) THEN
		RETURN NULL;	-- history restored or migrated
	END IF;
	SELECT x.status, x.status_role, x.technician_id INTO t FROM repairsys.ticket x WHERE x.id = NEW.ticket_id;
	IF t.status_role = 'initial' THEN
		UPDATE repairsys.ticket x SET technician_id = NEW.technician_id, status = repairsys.assigned_state(t.status)
		 WHERE x.id = NEW.ticket_id;
	ELSIF t.technician_id IS DISTINCT FROM NEW.technician_id THEN
		UPDATE repairsys.ticket x SET technician_id = NEW.technician_id WHERE x.id = NEW.ticket_id;
	END IF;
	RETURN NULL;
END
$$;
COMMENT ON FUNCTION repairsys.appointment_assign_trg() IS 'AFTER INSERT trigger of appointment: assigns the ticket to the booked technician (from the initial state: moved to the assigned-role state)';
CREATE TRIGGER appointment_20_assign AFTER INSERT ON repairsys.appointment
	FOR EACH ROW EXECUTE FUNCTION repairsys.appointment_assign_trg();

-- BEFORE INSERT OR UPDATE on technician_absence: deciding stamps who and
-- when; an approved absence may not meet a booked visit of the technician
-- (checked under his row lock: an approval and a booking at once are
-- serialized, the second refused).  Not SECURITY DEFINER: decided_by is the
-- caller.  Rows the table owner restores (requested_at not now) are taken as
-- they are.
CREATE FUNCTION repairsys.absence_check_trg()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
DECLARE
	v record;
BEGIN
	IF TG_OP = 'INSERT' AND NEW.requested_at IS DISTINCT FROM pg_catalog.now() AND repairsys.is_table_owner(TG_RELID) THEN
		RETURN NEW;
	END IF;
	IF TG_OP = 'INSERT' OR NEW.status IS DISTINCT FROM OLD.status THEN
		IF NEW.status = 'requested' THEN
			NEW.decided_at := NULL;
			NEW.decided_by := NULL;
		ELSE
			NEW.decided_at := pg_catalog.now();
			NEW.decided_by := CURRENT_USER;
		END IF;
	END IF;
	IF NEW.status = 'approved'
	   AND (TG_OP = 'INSERT' OR OLD.status <> 'approved' OR NEW.during IS DISTINCT FROM OLD.during
	        OR NEW.technician_id IS DISTINCT FROM OLD.technician_id) THEN
		PERFORM repairsys.lock_technician(NEW.technician_id);
		SELECT a.id, a.ticket_id, a.slot_start INTO v
		  FROM repairsys.appointment a
		 WHERE a.technician_id = NEW.technician_id AND a.state = 'booked'
		   AND pg_catalog.tstzrange(a.slot_start, a.slot_end) && NEW.during
		 ORDER BY a.slot_start LIMIT 1;
		IF FOUND THEN
			RAISE EXCEPTION 'technician % has a booked visit during the absence', NEW.technician_id
				USING ERRCODE = '23514',
				      DETAIL = pg_catalog.format('Appointment %s of ticket %s at %s.', v.id, v.ticket_id, v.slot_start),
				      HINT = 'Reschedule or cancel the visits first (repairsys.reschedule_visit()).';
		END IF;
	END IF;
	RETURN NEW;
END
$$;
COMMENT ON FUNCTION repairsys.absence_check_trg() IS 'BEFORE INSERT OR UPDATE trigger of technician_absence: stamps decided_at and decided_by; an approved absence may not meet a booked visit (23514, under the technician''s row lock)';
CREATE TRIGGER technician_absence_10_check BEFORE INSERT OR UPDATE ON repairsys.technician_absence
	FOR EACH ROW EXECUTE FUNCTION repairsys.absence_check_trg();

-- AFTER INSERT OR UPDATE OR DELETE on technician_roster: the technician's
-- booked visits stay within his rostered hours (23514 otherwise, under his
-- row lock).
CREATE FUNCTION repairsys.roster_check_trg()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
DECLARE
	tech bigint;
	v    record;
BEGIN
	FOR tech IN SELECT DISTINCT x.id FROM (VALUES (CASE WHEN TG_OP <> 'INSERT' THEN OLD.technician_id END),
	                                              (CASE WHEN TG_OP <> 'DELETE' THEN NEW.technician_id END)) x(id)
	             WHERE x.id IS NOT NULL
	LOOP
		IF NOT repairsys.lock_technician(tech) THEN
			CONTINUE;	-- deleted with the technician
		END IF;
		SELECT a.id, a.ticket_id, a.slot_start INTO v
		  FROM repairsys.appointment a
		 WHERE a.technician_id = tech AND a.state = 'booked'
		   AND NOT (repairsys.roster_ranges(tech, a.slot_start, a.slot_end) @> pg_catalog.tstzrange(a.slot_start, a.slot_end))
		 ORDER BY a.slot_start LIMIT 1;
		IF FOUND THEN
			RAISE EXCEPTION 'technician % would have a booked visit outside his rostered hours', tech
				USING ERRCODE = '23514',
				      DETAIL = pg_catalog.format('Appointment %s of ticket %s at %s.', v.id, v.ticket_id, v.slot_start),
				      HINT = 'Reschedule or cancel the visits first (repairsys.reschedule_visit()).';
		END IF;
	END LOOP;
	RETURN NULL;
END
$$;
COMMENT ON FUNCTION repairsys.roster_check_trg() IS 'AFTER trigger of technician_roster: a roster change leaves every booked visit of the technician within his rostered hours (23514)';
CREATE TRIGGER technician_roster_10_check AFTER INSERT OR UPDATE OR DELETE ON repairsys.technician_roster
	FOR EACH ROW EXECUTE FUNCTION repairsys.roster_check_trg();

-- The booked visits of the technicians of some centers (of every center when
-- every_center) on the local dates d0 - 1 .. d1 + 1 (every date when d0 is
-- NULL) stay within the technicians' rostered hours: 23514 otherwise.  Every
-- technician of those centers is locked first, in id order: a booking takes
-- its technician's lock before it reads the calendar, so a booking and a
-- calendar change are serialized whichever comes first, and the second sees
-- what the first committed.  (A night window of the day before reaches into
-- a day: hence the day before.)
CREATE FUNCTION repairsys.recheck_visits(centers bigint[], every_center boolean, d0 date, d1 date)
RETURNS void
LANGUAGE plpgsql
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
DECLARE
	tech bigint;
	v    record;
BEGIN
	FOR tech IN SELECT te.id FROM repairsys.technician te
	             WHERE every_center OR te.service_center_id = ANY (centers)
	             ORDER BY te.id
	LOOP
		PERFORM repairsys.lock_technician(tech);
	END LOOP;
	SELECT a.id, a.ticket_id, a.slot_start, a.technician_id INTO v
	  FROM repairsys.appointment a
	  JOIN repairsys.technician te ON te.id = a.technician_id
	 WHERE a.state = 'booked'
	   AND (every_center OR te.service_center_id = ANY (centers))
	   AND (d0 IS NULL
	        OR (a.slot_start AT TIME ZONE repairsys.center_time_zone(te.service_center_id))::date BETWEEN d0 - 1 AND d1 + 1)
	   AND NOT (repairsys.roster_ranges(a.technician_id, a.slot_start, a.slot_end) @> pg_catalog.tstzrange(a.slot_start, a.slot_end))
	 ORDER BY a.slot_start, a.id LIMIT 1;
	IF FOUND THEN
		RAISE EXCEPTION 'technician % would have a booked visit outside his rostered hours', v.technician_id
			USING ERRCODE = '23514',
			      DETAIL = pg_catalog.format('Appointment %s of ticket %s at %s.', v.id, v.ticket_id, v.slot_start),
			      HINT = 'Reschedule or cancel the visits first (repairsys.reschedule_visit()).';
	END IF;
END
$$;
COMMENT ON FUNCTION repairsys.recheck_visits(bigint[], boolean, date, date) IS 'After a calendar change: the booked visits of the centers'' technicians (on the dates around d0..d1, all when d0 is NULL) are within their rostered hours (23514 otherwise), checked under the technicians'' row locks';

-- AFTER INSERT OR UPDATE OR DELETE on holiday: a closed date added, or a
-- make-up working day taken away, keeps the booked visits of the center (of
-- every center, for an all-center row) within the rostered hours.  Rows the
-- table owner inserts (a restore, a migration) are taken as they are: a
-- restore loads the holidays before the rosters that the check reads.
CREATE FUNCTION repairsys.holiday_visits_trg()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
BEGIN
	IF TG_OP = 'INSERT' AND repairsys.is_table_owner(TG_RELID) THEN
		RETURN NULL;
	END IF;
	IF TG_OP = 'INSERT' THEN
		PERFORM repairsys.recheck_visits(ARRAY[NEW.service_center_id], NEW.service_center_id IS NULL, NEW.day, NEW.day);
	ELSIF TG_OP = 'DELETE' THEN
		PERFORM repairsys.recheck_visits(ARRAY[OLD.service_center_id], OLD.service_center_id IS NULL, OLD.day, OLD.day);
	ELSE
		PERFORM repairsys.recheck_visits(ARRAY[NEW.service_center_id, OLD.service_center_id],
		                                 NEW.service_center_id IS NULL OR OLD.service_center_id IS NULL,
		                                 least(NEW.day, OLD.day), greatest(NEW.day, OLD.day));
	END IF;
	RETURN NULL;
END
$$;
COMMENT ON FUNCTION repairsys.holiday_visits_trg() IS 'AFTER trigger of holiday: a closed date added or a make-up working day removed keeps every booked visit of the center''s technicians within their rostered hours (recheck_visits, 23514); rows the table owner inserts (restore) are taken as they are';
CREATE TRIGGER holiday_10_visits AFTER INSERT OR UPDATE OR DELETE ON repairsys.holiday
	FOR EACH ROW EXECUTE FUNCTION repairsys.holiday_visits_trg();

-- AFTER UPDATE OF time_zone on service_center: the center's shifts move with
-- its time zone, and its booked visits must stay within them.
CREATE FUNCTION repairsys.center_visits_trg()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
BEGIN
	PERFORM repairsys.recheck_visits(ARRAY[NEW.id], false, NULL, NULL);
	RETURN NULL;
END
$$;
COMMENT ON FUNCTION repairsys.center_visits_trg() IS 'AFTER UPDATE trigger of service_center: a new time zone keeps every booked visit of the center''s technicians within their rostered hours (recheck_visits, 23514)';
CREATE TRIGGER service_center_10_visits AFTER UPDATE OF time_zone ON repairsys.service_center
	FOR EACH ROW WHEN (OLD.time_zone IS DISTINCT FROM NEW.time_zone)
	EXECUTE FUNCTION repairsys.center_visits_trg();

-- AFTER UPDATE OF active, service_center_id on technician: a technician with
-- booked visits is not deactivated (he could not make them), and moving him
-- to another center (its time zone, holidays and make-up days) leaves his
-- booked visits within his rostered hours (23514 otherwise).  The row being
-- updated is locked, like lock_technician() locks it for a booking.
CREATE FUNCTION repairsys.technician_visits_trg()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
DECLARE
	v record;
BEGIN
	IF NOT NEW.active AND OLD.active THEN
		SELECT a.id, a.ticket_id, a.slot_start INTO v
		  FROM repairsys.appointment a
		 WHERE a.technician_id = NEW.id AND a.state = 'booked'
		 ORDER BY a.slot_start, a.id LIMIT 1;
		IF FOUND THEN
			RAISE EXCEPTION 'technician % has booked visits and cannot be deactivated', NEW.id
				USING ERRCODE = '23514',
				      DETAIL = pg_catalog.format('Appointment %s of ticket %s at %s.', v.id, v.ticket_id, v.slot_start),
				      HINT = 'Reschedule or cancel the visits first (repairsys.reschedule_visit()).';
		END IF;
	END IF;
	IF NEW.service_center_id IS DISTINCT FROM OLD.service_center_id THEN
		SELECT a.id, a.ticket_id, a.slot_start INTO v
		  FROM repairsys.appointment a
		 WHERE a.technician_id = NEW.id AND a.state = 'booked'
		   AND NOT (repairsys.roster_ranges(a.technician_id, a.slot_start, a.slot_end) @> pg_catalog.tstzrange(a.slot_start, a.slot_end))
		 ORDER BY a.slot_start, a.id LIMIT 1;
		IF FOUND THEN
			RAISE EXCEPTION 'technician % would have a booked visit outside his rostered hours in center %', NEW.id, NEW.service_center_id
				USING ERRCODE = '23514',
				      DETAIL = pg_catalog.format('Appointment %s of ticket %s at %s.', v.id, v.ticket_id, v.slot_start),
				      HINT = 'Reschedule or cancel the visits first (repairsys.reschedule_visit()).';
		END IF;
	END IF;
	RETURN NULL;
END
$$;
COMMENT ON FUNCTION repairsys.technician_visits_trg() IS 'AFTER UPDATE trigger of technician: a technician with booked visits is not deactivated, and a move to another center keeps his booked visits within his rostered hours (23514)';
CREATE TRIGGER technician_10_visits AFTER UPDATE OF active, service_center_id ON repairsys.technician
	FOR EACH ROW WHEN (OLD.active IS DISTINCT FROM NEW.active OR OLD.service_center_id IS DISTINCT FROM NEW.service_center_id)
	EXECUTE FUNCTION repairsys.technician_visits_trg();

-- Functions of triggers on repairsys.ticket (the triggers, with their order:
-- 80_ticket_triggers.sql)
--
-- ticket_36_arrival (BEFORE INSERT OR UPDATE OF arrived_at, after the clock
-- checks of ticket_35_times, with which it shares nothing): the arrival is
-- stamped once, now, by check_in() or a plain UPDATE; only the table owner
-- (restore, migration) writes other values.
CREATE FUNCTION repairsys.ticket_arrival_trg()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
BEGIN
	IF repairsys.is_table_owner(TG_RELID) THEN
		RETURN NEW;
	END IF;
	IF TG_OP = 'INSERT' THEN
		IF NEW.arrived_at IS NOT NULL THEN
			RAISE EXCEPTION 'a new ticket has no arrival' USING ERRCODE = '23514',
				HINT = 'repairsys.check_in() stamps the arrival.';
		END IF;
		RETURN NEW;
	END IF;
	IF OLD.arrived_at IS NOT NULL THEN
		RAISE EXCEPTION 'ticket % has its arrival stamped already', OLD.id USING ERRCODE = '23514';
	END IF;
	IF NEW.arrived_at IS DISTINCT FROM pg_catalog.now() THEN
		RAISE EXCEPTION 'the arrival at ticket % is stamped with the current time', OLD.id
			USING ERRCODE = '23514', HINT = 'repairsys.check_in() stamps the arrival.';
	END IF;
	RETURN NEW;
END
$$;
COMMENT ON FUNCTION repairsys.ticket_arrival_trg() IS 'BEFORE INSERT OR UPDATE OF arrived_at trigger of ticket: the arrival is stamped once, with now(), but by the table owner (23514)';

-- ticket_57_visit_follow (AFTER UPDATE OF technician_id, after the load kept
-- by ticket_55_load_update): a ticket given another technician takes its
-- booked visit with it; the appointment's trigger checks he is free then.
-- ticket_58_visit_done (AFTER UPDATE OF arrived_at): the arrival marks the
-- booked visit done.  (Both write appointment as its owner: SECURITY DEFINER.)
CREATE FUNCTION repairsys.ticket_visit_trg()
RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
BEGIN
	IF NEW.technician_id IS NOT NULL AND NEW.technician_id IS DISTINCT FROM OLD.technician_id THEN
		UPDATE repairsys.appointment a SET technician_id = NEW.technician_id
		 WHERE a.ticket_id = NEW.id AND a.state = 'booked' AND a.technician_id <> NEW.technician_id;
	END IF;
	IF NEW.arrived_at IS NOT NULL AND OLD.arrived_at IS NULL THEN
		UPDATE repairsys.appointment a SET state = 'done'
		 WHERE a.ticket_id = NEW.id AND a.state = 'booked';
	END IF;
	RETURN NULL;
END
$$;
COMMENT ON FUNCTION repairsys.ticket_visit_trg() IS 'AFTER UPDATE trigger of ticket: a new technician takes the booked visit with him (checked by the appointment''s trigger); the arrival marks it done';

------------------------------------------------------------------------------
-- Booking, rescheduling, cancelling, arriving
------------------------------------------------------------------------------
CREATE FUNCTION repairsys.book_visit(ticket_id bigint, slot_start timestamptz, technician_id bigint DEFAULT NULL)
RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
DECLARE
	id bigint;
BEGIN
	IF book_visit.ticket_id IS NULL OR book_visit.slot_start IS NULL OR NOT pg_catalog.isfinite(book_visit.slot_start) THEN
		RAISE EXCEPTION 'ticket_id and slot_start of book_visit must be given (slot_start finite)' USING ERRCODE = '22023';
	END IF;
	PERFORM 1 FROM repairsys.ticket x WHERE x.id = book_visit.ticket_id;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'ticket % does not exist', book_visit.ticket_id USING ERRCODE = '22023';
	END IF;
	IF book_visit.technician_id IS NULL THEN
		-- (a customer may not name a technician: the column is not his to write)
		INSERT INTO repairsys.appointment (ticket_id, slot_start, slot_end)
		VALUES (book_visit.ticket_id, book_visit.slot_start,
		        book_visit.slot_start + repairsys.setting_value('slot_length')::interval)
		RETURNING appointment.id INTO id;
	ELSE
		INSERT INTO repairsys.appointment (ticket_id, technician_id, slot_start, slot_end)
		VALUES (book_visit.ticket_id, book_visit.technician_id, book_visit.slot_start,
		        book_visit.slot_start + repairsys.setting_value('slot_length')::interval)
		RETURNING appointment.id INTO id;
	END IF;
	RETURN id;
END
$$;
COMMENT ON FUNCTION repairsys.book_visit(bigint, timestamptz, bigint) IS 'Books a visit of setting slot_length at slot_start for a ticket and assigns the technician (given, else the ticket''s own if free, else the best scored free one); returns the appointment id; nobody free: 23514; unknown ticket: 22023';

CREATE FUNCTION repairsys.reschedule_visit(ticket_id bigint, slot_start timestamptz, reason text)
RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
DECLARE
	old_id bigint;
	id     bigint;
BEGIN
	IF reschedule_visit.ticket_id IS NULL OR reschedule_visit.slot_start IS NULL OR NOT pg_catalog.isfinite(reschedule_visit.slot_start) THEN
		RAISE EXCEPTION 'ticket_id and slot_start of reschedule_visit must be given (slot_start finite)' USING ERRCODE = '22023';
	END IF;
	IF coalesce(pg_catalog.btrim(reschedule_visit.reason), '') = '' THEN
		RAISE EXCEPTION 'a reschedule needs a reason' USING ERRCODE = '22023';
	END IF;
	UPDATE repairsys.appointment a SET state = 'rescheduled', reason = reschedule_visit.reason
	 WHERE a.ticket_id = reschedule_visit.ticket_id AND a.state = 'booked'
	RETURNING a.id INTO old_id;
	IF old_id IS NULL THEN
		RAISE EXCEPTION 'ticket % has no booked visit', reschedule_visit.ticket_id
			USING ERRCODE = '23514', HINT = 'repairsys.book_visit() books one.';
	END IF;
	INSERT INTO repairsys.appointment (ticket_id, slot_start, slot_end, replaces, reason)
	VALUES (reschedule_visit.ticket_id, reschedule_visit.slot_start,
	        reschedule_visit.slot_start + repairsys.setting_value('slot_length')::interval, old_id, reschedule_visit.reason)
	RETURNING appointment.id INTO id;
	RETURN id;
END
$$;
COMMENT ON FUNCTION repairsys.reschedule_visit(bigint, timestamptz, text) IS 'Moves the booked visit of a ticket (改约) to slot_start: the old row becomes rescheduled, a new booking replaces it (the same technician if free, else the best scored free one); at most setting max_reschedules times; returns the new appointment id; no booked visit, nobody free, limit reached: 23514; no reason: 22023';

CREATE FUNCTION repairsys.cancel_visit(ticket_id bigint, reason text)
RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
DECLARE
	id bigint;
BEGIN
	IF coalesce(pg_catalog.btrim(cancel_visit.reason), '') = '' THEN
		RAISE EXCEPTION 'a cancellation needs a reason' USING ERRCODE = '22023';
	END IF;
	UPDATE repairsys.appointment a SET state = 'cancelled', reason = cancel_visit.reason
	 WHERE a.ticket_id = cancel_visit.ticket_id AND a.state = 'booked'
	RETURNING a.id INTO id;
	IF id IS NULL THEN
		RAISE EXCEPTION 'ticket % has no booked visit', cancel_visit.ticket_id USING ERRCODE = '23514';
	END IF;
	RETURN id;
END
$$;
COMMENT ON FUNCTION repairsys.cancel_visit(bigint, text) IS 'Cancels the booked visit of a ticket with a reason (the ticket keeps its technician); returns the appointment id; none booked: 23514; no reason: 22023';

CREATE FUNCTION repairsys.check_in(ticket_id bigint)
RETURNS timestamptz
LANGUAGE plpgsql VOLATILE
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
DECLARE
	at timestamptz;
BEGIN
	UPDATE repairsys.ticket x SET arrived_at = pg_catalog.now()
	 WHERE x.id = check_in.ticket_id AND x.arrived_at IS NULL
	RETURNING x.arrived_at INTO at;
	IF at IS NULL THEN
		-- (row-level security applies: a ticket the caller may not see does not exist)
		IF EXISTS (SELECT 1 FROM repairsys.ticket x WHERE x.id = check_in.ticket_id) THEN
			RAISE EXCEPTION 'ticket % has its arrival stamped already', check_in.ticket_id USING ERRCODE = '23514';
		END IF;
		RAISE EXCEPTION 'ticket % does not exist', check_in.ticket_id USING ERRCODE = '22023';
	END IF;
	RETURN at;
END
$$;
COMMENT ON FUNCTION repairsys.check_in(bigint) IS 'The technician arrived (上门): stamps ticket.arrived_at with now() (once) and marks the booked visit done; returns the stamp; unknown ticket: 22023; stamped already: 23514';

------------------------------------------------------------------------------
-- Assignment with time: candidates() over the C kernel's candidates_base()
------------------------------------------------------------------------------
CREATE FUNCTION repairsys.candidates(ticket_id bigint, policy text DEFAULT 'default')
RETURNS TABLE (technician_id bigint, eligible boolean, reason text, score double precision,
               skill_score double precision, distance_km double precision,
               distance_score double precision, load double precision, load_score double precision,
               rating_score double precision, continuity_score double precision,
               open_tickets integer, capacity integer)
LANGUAGE sql STABLE
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
	SELECT k.technician_id, k.eligible AND v.why IS NULL, coalesce(k.reason, v.why), k.score,
	       k.skill_score, k.distance_km, k.distance_score, k.load, k.load_score,
	       k.rating_score, k.continuity_score, k.open_tickets, k.capacity
	  FROM repairsys.candidates_base(candidates.ticket_id, candidates.policy) WITH ORDINALITY AS k
	  LEFT JOIN repairsys.ticket t ON t.id = candidates.ticket_id
	  LEFT JOIN repairsys.appointment a ON a.ticket_id = candidates.ticket_id AND a.state = 'booked'
	  LEFT JOIN LATERAL (SELECT CASE WHEN a.id IS NOT NULL AND k.eligible
	                                 THEN repairsys.visit_conflict(k.technician_id, t.lat, t.lon, a.slot_start, a.slot_end, a.id) END AS why) v ON true
	 ORDER BY (k.eligible AND v.why IS NULL) DESC, k.ordinality
$$;
COMMENT ON FUNCTION repairsys.candidates(bigint, text) IS
	'Every technician for a ticket under an assignment policy: eligible or not and why, score in [0,1] and its parts; best first (eligible, higher score, lower id). A ticket with a booked visit takes only technicians free for it (reasons off shift, absent, booked). Unknown ticket or policy: 22023; finished ticket: 23514; NULL argument: 22004';
