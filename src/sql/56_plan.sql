-- Day plans (DESIGN.md section 15, docs/dispatch.md "Day plans"): each
-- technician's visits of one local day of a center in the order of the least
-- driving, from the day's booked visits and the center's unbooked tickets,
-- on top of route_solve (src/route.c); commit_plan() books what the plan says
-- through book_visit(), so the rules and locks of appointment_10_check apply.
--
-- route_solve travels in straight lines: the points are projected around the
-- center (equirectangular, earth radius 6371.0088 km) and scaled to minutes
-- at setting travel_speed_kmh, 1% longer than the great-circle distance
-- (more than the projection's error at the scale of a city), so that the
-- schedule recomputed with haversine distances is never later than the
-- solver's: no booked window, shift or absence is broken by the rounding.

-- One technician's day: the route of his booked visits (fixed: service
-- starts at slot_start) and of those of the unbooked tickets he can serve
-- (not in skip) that fit in the longest stretch of his shifts of the day that
-- no booked visit takes, within his free capacity; booked visits are kept
-- before unbooked ones.  Rows in route order, seq from 1; a booked visit the route
-- cannot keep (its neighbours too far apart) comes last with seq NULL.
CREATE FUNCTION repairsys.plan_technician(technician_id bigint, day date, skip bigint[],
                                          time_limit_ms integer DEFAULT 200)
RETURNS TABLE (seq integer, ticket_id bigint, arrive_at timestamptz, start_at timestamptz,
               depart_at timestamptz, travel_km double precision)
LANGUAGE plpgsql VOLATILE
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
DECLARE
	te     record;
	zone   text;
	t0     timestamptz;
	shifts tstzmultirange;
	wide   tstzrange;
	len    interval := repairsys.setting_value('slot_length')::interval;
	speed  double precision := repairsys.setting_value('travel_speed_kmh')::double precision;
	lat0   double precision;
	lon0   double precision;
	k      double precision;
	ids    bigint[] := ARRAY[NULL::bigint];
	xs     double precision[];
	ys     double precision[];
	dem    double precision[];
	rdy    double precision[];
	dues   double precision[];
	svc    double precision[];
	lats   double precision[];
	lons   double precision[];
	v      record;
	n_booked integer := 0;
	free   double precision;
	p_lat  double precision;
	p_lon  double precision;
	p_dep  timestamptz;
	arr    timestamptz;
	st     timestamptz;
	km     double precision;
	route  integer[];
	lost   integer[];
	lost0  integer;
	far    double precision;
	booked_visits tstzmultirange;
	drop_node integer;
BEGIN
	SELECT x.id, x.lat, x.lon, x.service_center_id, x.capacity, c.lat AS c_lat, c.lon AS c_lon INTO te
	  FROM repairsys.technician x LEFT JOIN repairsys.service_center c ON c.id = x.service_center_id
	 WHERE x.id = plan_technician.technician_id AND x.active;
	IF NOT FOUND THEN
		RETURN;
	END IF;
	zone := repairsys.center_time_zone(te.service_center_id);
	t0 := repairsys.local_midnight(day, zone);
	shifts := repairsys.roster_ranges(te.id, t0, repairsys.local_midnight(day + 1, zone)) OPERATOR(pg_catalog.-) repairsys.absence_ranges(te.id);
	IF pg_catalog.isempty(shifts) THEN
		RETURN;
	END IF;
	-- (unbooked visits go into the longest stretch of the shifts that no
	-- booked visit takes)
	booked_visits := coalesce((SELECT pg_catalog.range_agg(pg_catalog.tstzrange(a.slot_start, a.slot_end))
	                             FROM repairsys.appointment a
	                            WHERE a.technician_id = te.id AND a.state IN ('booked', 'done')
	                              AND a.slot_end > t0 AND a.slot_start < repairsys.local_midnight(day + 1, zone)), '{}');
	SELECT r INTO wide FROM pg_catalog.unnest(shifts OPERATOR(pg_catalog.-) booked_visits) r
	 ORDER BY pg_catalog.upper(r) - pg_catalog.lower(r) DESC, pg_catalog.lower(r) LIMIT 1;
	lat0 := coalesce(te.lat, te.c_lat, 0);
	lon0 := coalesce(te.lon, te.c_lon, 0);
	-- minutes of travel per degree, 1% on top (see the head of the file)
	k := 6371.0088 * pi() / 180 * 60 / speed * 1.01;
	-- node 1: the technician's base, open over the day's shifts
	xs := ARRAY[0::double precision];
	ys := ARRAY[0::double precision];
	lats := ARRAY[lat0];
	lons := ARRAY[lon0];
	dem := ARRAY[0::double precision];
	rdy := ARRAY[pg_catalog.date_part('epoch', pg_catalog.lower(shifts) - t0) / 60];
	dues := ARRAY[pg_catalog.date_part('epoch', pg_catalog.upper(shifts) - t0) / 60];
	svc := ARRAY[0::double precision];
	-- his booked visits of the day: service starts at slot_start
	FOR v IN SELECT a.ticket_id, a.slot_start, a.slot_end, coalesce(t.lat, lat0) AS lat, coalesce(t.lon, lon0) AS lon
	           FROM repairsys.appointment a JOIN repairsys.ticket t ON t.id = a.ticket_id
	          WHERE a.technician_id = te.id AND a.state = 'booked'
	            AND a.slot_start >= t0 AND a.slot_start < repairsys.local_midnight(day + 1, zone)
	          ORDER BY a.slot_start, a.ticket_id
	LOOP
		n_booked := n_booked + 1;
		ids := ids || v.ticket_id;
		lats := lats || v.lat;
		lons := lons || v.lon;
		xs := xs || (v.lon - lon0) * pg_catalog.cos(pg_catalog.radians(lat0)) * k;
		ys := ys || (v.lat - lat0) * k;
		dem := dem || 0::double precision;
		rdy := rdy || pg_catalog.date_part('epoch', v.slot_start - t0) / 60;
		dues := dues || pg_catalog.date_part('epoch', v.slot_start - t0) / 60;
		svc := svc || pg_catalog.date_part('epoch', v.slot_end - v.slot_start) / 60;
	END LOOP;
	-- the unbooked tickets he may serve, inside his longest window, one unit of
	-- his free capacity each
	free := te.capacity - repairsys.open_ticket_count(te.id);
	IF free > 0 AND wide IS NOT NULL AND pg_catalog.upper(wide) - len >= pg_catalog.lower(wide) THEN
		FOR v IN SELECT t.id AS ticket_id, t.lat, t.lon
		           FROM repairsys.ticket t
		          WHERE t.service_center_id = te.service_center_id AND t.status_role = 'initial'
		            AND t.lat IS NOT NULL AND t.lon IS NOT NULL
		            AND t.id <> ALL (coalesce(skip, '{}'))
		            AND NOT EXISTS (SELECT 1 FROM repairsys.appointment a WHERE a.ticket_id = t.id AND a.state = 'booked')
		            AND repairsys.technician_fits(te.id, t.id) IS NULL
		          ORDER BY t.id
		LOOP
			ids := ids || v.ticket_id;
			lats := lats || v.lat;
			lons := lons || v.lon;
			xs := xs || (v.lon - lon0) * pg_catalog.cos(pg_catalog.radians(lat0)) * k;
			ys := ys || (v.lat - lat0) * k;
			dem := dem || 1::double precision;
			rdy := rdy || pg_catalog.date_part('epoch', pg_catalog.lower(wide) - t0) / 60;
			dues := dues || pg_catalog.date_part('epoch', pg_catalog.upper(wide) - len - t0) / 60;
			svc := svc || pg_catalog.date_part('epoch', len) / 60;
		END LOOP;
	END IF;
	IF pg_catalog.array_length(ids, 1) = 1 THEN
		RETURN;
	END IF;
	-- The route.  route_solve serves as many visits as it can, booked or
	-- not, so a booked visit could give way to two unbooked ones: the booked
	-- visits the route can keep alone (lost0 lost) are kept, by taking out
	-- the last unbooked visit of the route (moved out of reach: past the end
	-- of the day) until no more booked ones are lost.
	far := dues[1] + 100000;
	lost0 := 0;
	IF n_booked > 0 THEN
		SELECT pg_catalog.count(*) FILTER (WHERE r.vehicle IS NULL AND r.node BETWEEN 2 AND n_booked + 1) INTO lost0
		  FROM repairsys.route_solve(xs[1:n_booked + 1], ys[1:n_booked + 1], dem[1:n_booked + 1], rdy[1:n_booked + 1],
		                             dues[1:n_booked + 1], svc[1:n_booked + 1], 1, greatest(free, 0) + 0.5, time_limit_ms) r;
	END IF;
	LOOP
		SELECT pg_catalog.array_agg(r.node ORDER BY r.seq) FILTER (WHERE r.vehicle IS NOT NULL AND r.node > 1),
		       pg_catalog.array_agg(r.node ORDER BY r.node) FILTER (WHERE r.vehicle IS NULL AND r.node BETWEEN 2 AND n_booked + 1)
		  INTO route, lost
		  FROM repairsys.route_solve(xs, ys, dem, rdy, dues, svc, 1, greatest(free, 0) + 0.5, time_limit_ms) r;
		EXIT WHEN coalesce(pg_catalog.array_length(lost, 1), 0) <= lost0
		       OR NOT EXISTS (SELECT 1 FROM pg_catalog.unnest(route) u WHERE u > n_booked + 1);
		drop_node := (SELECT q.u FROM pg_catalog.unnest(route) WITH ORDINALITY AS q(u, o) WHERE q.u > n_booked + 1
		               ORDER BY q.o DESC LIMIT 1);
		rdy[drop_node] := far;
		dues[drop_node] := far;
	END LOOP;
	-- its schedule again with great-circle distances; the booked visits the
	-- route could not keep last
	p_lat := lat0;
	p_lon := lon0;
	p_dep := pg_catalog.lower(shifts);
	FOR v IN SELECT 1 AS vehicle, q.o::integer AS seq, q.u AS node FROM pg_catalog.unnest(route) WITH ORDINALITY AS q(u, o)
	         UNION ALL
	         SELECT NULL, NULL, l.u FROM pg_catalog.unnest(lost) AS l(u)
	         ORDER BY 1 NULLS LAST, 2, 3
	LOOP
		IF v.vehicle IS NULL THEN
			seq := NULL;
			ticket_id := ids[v.node];
			arrive_at := NULL;
			start_at := t0 + pg_catalog.make_interval(secs => rdy[v.node] * 60);
			depart_at := NULL;
			travel_km := NULL;
			RETURN NEXT;
			CONTINUE;
		END IF;
		km := repairsys.haversine_km(p_lat, p_lon, lats[v.node], lons[v.node]);
		arr := p_dep + pg_catalog.make_interval(secs => km / speed * 3600);
		st := greatest(arr, t0 + pg_catalog.make_interval(secs => rdy[v.node] * 60));
		seq := v.seq;
		ticket_id := ids[v.node];
		arrive_at := arr;
		start_at := st;
		depart_at := st + pg_catalog.make_interval(secs => svc[v.node] * 60);
		travel_km := km;
		RETURN NEXT;
		p_lat := lats[v.node];
		p_lon := lons[v.node];
		p_dep := depart_at;
	END LOOP;
END
$$;
COMMENT ON FUNCTION repairsys.plan_technician(bigint, date, bigint[], integer) IS 'Internal step of plan_day(): one technician''s route of a local day (booked visits at their slot_start, unbooked tickets he can serve, not in skip, inside the longest stretch of his shifts no booked visit takes, within his free capacity, never at the cost of a booked visit) by route_solve, scheduled again with great-circle distances; a booked visit the route cannot keep comes last with seq NULL';

CREATE FUNCTION repairsys.plan_day(service_center_id bigint, day date)
RETURNS TABLE (technician_id bigint, seq integer, ticket_id bigint, arrive_at timestamptz,
               start_at timestamptz, depart_at timestamptz, travel_km double precision)
LANGUAGE plpgsql VOLATILE
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
DECLARE
	te    bigint;
	taken bigint[] := '{}'::bigint[];
	r     record;
BEGIN
	IF plan_day.service_center_id IS NULL OR plan_day.day IS NULL OR NOT pg_catalog.isfinite(plan_day.day) THEN
		RAISE EXCEPTION 'service_center_id and a finite day of plan_day must be given' USING ERRCODE = '22023';
	END IF;
	IF NOT EXISTS (SELECT 1 FROM repairsys.service_center c WHERE c.id = plan_day.service_center_id) THEN
		RAISE EXCEPTION 'service center % does not exist', plan_day.service_center_id USING ERRCODE = '22023';
	END IF;
	-- technicians one after the other (by id): an unbooked ticket goes to the
	-- first whose route takes it
	FOR te IN SELECT x.id FROM repairsys.technician x
	           WHERE x.service_center_id = plan_day.service_center_id AND x.active ORDER BY x.id
	LOOP
		FOR r IN SELECT * FROM repairsys.plan_technician(te, plan_day.day, taken) LOOP
			technician_id := te;
			seq := r.seq;
			ticket_id := r.ticket_id;
			arrive_at := r.arrive_at;
			start_at := r.start_at;
			depart_at := r.depart_at;
			travel_km := r.travel_km;
			taken := taken || r.ticket_id;
			RETURN NEXT;
		END LOOP;
	END LOOP;
END
$$;
COMMENT ON FUNCTION repairsys.plan_day(bigint, date) IS 'Day plan of a center (DESIGN 15): per active technician (by id) the ordered visits of the local day -- his booked visits at their slot_start and the center''s unbooked tickets he can serve inside the longest free stretch of his shifts, within his free capacity, booked visits first -- by route_solve over haversine distances at travel_speed_kmh: technician_id, seq, ticket_id, arrive_at, start_at, depart_at, travel_km (from the previous stop); a booked visit the route cannot keep has seq NULL; unknown center or bad day: 22023';

CREATE FUNCTION repairsys.commit_plan(service_center_id bigint, day date)
RETURNS integer
LANGUAGE plpgsql VOLATILE
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
DECLARE
	r record;
	n integer := 0;
BEGIN
	-- (book_visit and the appointment's trigger: the technician's row lock and
	-- the check that he is free, as for any booking; one refused: 23514 and
	-- nothing of the plan is booked)
	FOR r IN SELECT p.* FROM repairsys.plan_day(commit_plan.service_center_id, commit_plan.day) p
	          WHERE p.seq IS NOT NULL
	            AND NOT EXISTS (SELECT 1 FROM repairsys.appointment a WHERE a.ticket_id = p.ticket_id AND a.state = 'booked')
	          ORDER BY p.technician_id, p.seq
	LOOP
		PERFORM repairsys.book_visit(r.ticket_id, r.start_at, r.technician_id);
		n := n + 1;
	END LOOP;
	RETURN n;
END
$$;
COMMENT ON FUNCTION repairsys.commit_plan(bigint, date) IS 'Books the unbooked visits of plan_day() through book_visit() (their technician assigned, the same locks and checks as any booking); returns how many; a visit no longer free: 23514 and nothing booked';
