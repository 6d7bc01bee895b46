-- Automatic technician assignment (docs/assignment.md).
--
-- The C kernel (src/scoring.c, its reader src/scoring_spi.c) scores technicians; src/assign.c solves whole
-- backlogs exactly.  The functions here read the tables, lock rows in a fixed
-- order (ticket, then technician) and write the assignments through plain
-- UPDATEs, so the life-cycle trigger checks every one of them.

------------------------------------------------------------------------------
-- C kernel
------------------------------------------------------------------------------
CREATE FUNCTION repairsys.haversine_km(lat1 double precision, lon1 double precision,
                                       lat2 double precision, lon2 double precision)
RETURNS double precision
AS 'MODULE_PATHNAME', 'rs_haversine_km_sql'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION repairsys.haversine_km(double precision, double precision, double precision, double precision) IS
	'Great-circle distance in km between two points in degrees (haversine, earth radius 6371.0088 km); coordinates out of range: error 22023';

CREATE FUNCTION repairsys.score_candidates(
	policy repairsys.assign_policy,
	ticket_lat double precision, ticket_lon double precision, ticket_center bigint,
	required_skill text, min_level integer, continuity bigint[],
	tech_id bigint[], tech_active boolean[], tech_center bigint[],
	tech_lat double precision[], tech_lon double precision[],
	tech_capacity integer[], tech_open integer[], tech_rating double precision[],
	tech_level integer[])
RETURNS TABLE (technician_id bigint, eligible boolean, reason text, score double precision,
               skill_score double precision, distance_km double precision,
               distance_score double precision, load double precision, load_score double precision,
               rating_score double precision, continuity_score double precision,
               open_tickets integer, capacity integer)
AS 'MODULE_PATHNAME', 'rs_score_candidates'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION repairsys.score_candidates(repairsys.assign_policy, double precision, double precision, bigint, text, integer, bigint[], bigint[], boolean[], bigint[], double precision[], double precision[], integer[], integer[], double precision[], integer[]) IS
	'Internal kernel of repairsys.candidates(): scores technicians given as parallel arrays for one ticket under a policy; rows best first';

CREATE FUNCTION repairsys.assignment_solve(scores double precision[], capacities integer[])
RETURNS integer[]
AS 'MODULE_PATHNAME', 'rs_assignment_solve'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION repairsys.assignment_solve(double precision[], integer[]) IS
	'Exact capacitated assignment: scores[ticket][technician] (NULL: not allowed), rows in priority order; serves the tickets a priority-ordered greedy over the matroid of servable sets picks, with the maximal total score; returns each row''s 1-based column or NULL';

CREATE FUNCTION repairsys.solve_pending(
	policy repairsys.assign_policy,
	t_id bigint[], t_lat double precision[], t_lon double precision[], t_center bigint[],
	t_skill integer[], t_min_level integer[], t_cont_customer bigint[], t_cont_asset bigint[],
	tech_id bigint[], tech_active boolean[], tech_center bigint[],
	tech_lat double precision[], tech_lon double precision[],
	tech_capacity integer[], tech_open integer[], tech_rating double precision[],
	levels integer[])
RETURNS TABLE (ticket_id bigint, technician_id bigint, score double precision)
AS 'MODULE_PATHNAME', 'rs_solve_pending'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION repairsys.solve_pending(repairsys.assign_policy, bigint[], double precision[], double precision[], bigint[], integer[], integer[], bigint[], bigint[], bigint[], boolean[], bigint[], double precision[], double precision[], integer[], integer[], double precision[], integer[]) IS
	'Internal kernel of repairsys.auto_assign_pending(): scores every ticket-technician pair and solves the batch exactly (tickets given in priority order)';

------------------------------------------------------------------------------
-- Readers
------------------------------------------------------------------------------
-- The policy row of that name; unknown name: 22023.
CREATE FUNCTION repairsys.assign_policy_row(policy text)
RETURNS repairsys.assign_policy
LANGUAGE plpgsql STABLE
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
DECLARE
	p repairsys.assign_policy;
BEGIN
	SELECT * INTO p FROM repairsys.assign_policy x WHERE x.name = assign_policy_row.policy;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'assignment policy "%" does not exist', policy
			USING ERRCODE = '22023',
			      HINT = (SELECT pg_catalog.format('Known policies: %s.', pg_catalog.string_agg(pg_catalog.format('"%s"', x.name), ', ' ORDER BY x.name))
			                FROM repairsys.assign_policy x);
	END IF;
	RETURN p;
END
$$;
COMMENT ON FUNCTION repairsys.assign_policy_row(text) IS 'The repairsys.assign_policy row of that name; unknown name: error 22023';

-- The technicians who last served the ticket's customer and its asset: the
-- technician of the latest other ticket of that customer (asset) that has
-- one and was not cancelled (still open, or resolved).
CREATE FUNCTION repairsys.continuity_technicians(t repairsys.ticket)
RETURNS bigint[]
LANGUAGE sql STABLE
SET search_path = repairsys, pg_catalog, pg_temp
BEGIN ATOMIC
	SELECT ARRAY[
		(SELECT x.technician_id FROM repairsys.ticket x
		  WHERE x.customer_id = t.customer_id AND x.id <> t.id AND x.technician_id IS NOT NULL
		    AND (x.closed_at IS NULL OR x.resolved_at IS NOT NULL)
		  ORDER BY x.opened_at DESC, x.id DESC LIMIT 1),
		(SELECT x.technician_id FROM repairsys.ticket x
		  WHERE x.asset_id = t.asset_id AND x.id <> t.id AND x.technician_id IS NOT NULL
		    AND (x.closed_at IS NULL OR x.resolved_at IS NOT NULL)
		  ORDER BY x.opened_at DESC, x.id DESC LIMIT 1)];
END;
COMMENT ON FUNCTION repairsys.continuity_technicians(repairsys.ticket) IS
	'Technicians who last served the ticket''s customer and its asset (array of two, NULL where none): the continuity objective of assignment';

-- Number of open tickets (non-terminal status) of a technician, the given
-- ticket left out.
CREATE FUNCTION repairsys.open_ticket_count(technician_id bigint, except_ticket bigint DEFAULT NULL)
RETURNS integer
LANGUAGE sql STABLE
SET search_path = repairsys, pg_catalog, pg_temp
BEGIN ATOMIC
	SELECT pg_catalog.count(*)::integer
	  FROM repairsys.ticket x
	 WHERE x.technician_id = open_ticket_count.technician_id
	   AND x.id IS DISTINCT FROM open_ticket_count.except_ticket
	   AND x.status IN (SELECT s.code FROM repairsys.ticket_status s WHERE NOT s.is_terminal);
END;
COMMENT ON FUNCTION repairsys.open_ticket_count(bigint, bigint) IS
	'Open tickets (in a non-terminal status) of a technician, leaving one ticket out; the load of assignment';

------------------------------------------------------------------------------
-- Each technician's load and rating, kept by trigger
------------------------------------------------------------------------------
-- Scoring reads, for every technician, how many open tickets he has and his
-- mean feedback rating.  Counting them over the whole ticket and feedback
-- history for each call cost most of candidates()' time, so they are kept
-- here, as repairsys.stock keeps the ledger's sums: derived data, changed by
-- the triggers below in the transaction that changes a ticket or a feedback,
-- not dumped (a restore rebuilds it as tickets and feedback are loaded), and
-- checked against a recount by repairsys.check_invariants().
--

-- Adds to a technician's load (creating his row).
CREATE FUNCTION repairsys.technician_load_add(technician_id bigint, open_tickets integer, rating_count integer, rating_sum bigint)
RETURNS void
LANGUAGE sql VOLATILE
SET search_path = repairsys, pg_catalog, pg_temp
BEGIN ATOMIC
	INSERT INTO repairsys.technician_load AS l (technician_id, open_tickets, rating_count, rating_sum)
	VALUES (technician_load_add.technician_id, technician_load_add.open_tickets, technician_load_add.rating_count,
	        technician_load_add.rating_sum)
	ON CONFLICT (technician_id) DO UPDATE
	   SET open_tickets = l.open_tickets + excluded.open_tickets,
	       rating_count = l.rating_count + excluded.rating_count,
	       rating_sum = l.rating_sum + excluded.rating_sum;
END;
COMMENT ON FUNCTION repairsys.technician_load_add(bigint, integer, integer, bigint) IS 'Adds open tickets and ratings to a technician''s repairsys.technician_load row (used by its triggers)';

-- AFTER INSERT / AFTER UPDATE / BEFORE DELETE on ticket (each with a WHEN
-- clause: only assignments, reassignments, closings and reopenings reach it).
-- BEFORE DELETE: the ticket's feedback is still there to take back (the
-- foreign key deletes it afterwards, when the ticket is already gone).
CREATE FUNCTION repairsys.ticket_load_trg()
RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
DECLARE
	f repairsys.feedback;
BEGIN
	IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.technician_id IS NOT NULL THEN
		SELECT * INTO f FROM repairsys.feedback x WHERE x.ticket_id = OLD.id;
		IF TG_OP = 'DELETE' OR NEW.technician_id IS DISTINCT FROM OLD.technician_id THEN
			PERFORM repairsys.technician_load_add(OLD.technician_id, -(OLD.closed_at IS NULL)::integer,
			                                      -(f.rating IS NOT NULL)::integer, -coalesce(f.rating, 0));
		ELSE
			PERFORM repairsys.technician_load_add(OLD.technician_id, -(OLD.closed_at IS NULL)::integer, 0, 0);
		END IF;
	END IF;
	IF TG_OP = 'DELETE' THEN
		RETURN OLD;
	END IF;
	IF NEW.technician_id IS NOT NULL THEN
		IF TG_OP = 'UPDATE' AND NEW.technician_id IS DISTINCT FROM OLD.technician_id THEN
			SELECT * INTO f FROM repairsys.feedback x WHERE x.ticket_id = NEW.id;
			PERFORM repairsys.technician_load_add(NEW.technician_id, (NEW.closed_at IS NULL)::integer,
			                                      (f.rating IS NOT NULL)::integer, coalesce(f.rating, 0));
		ELSE
			PERFORM repairsys.technician_load_add(NEW.technician_id, (NEW.closed_at IS NULL)::integer, 0, 0);
		END IF;
	END IF;
	RETURN NULL;
END
$$;
COMMENT ON FUNCTION repairsys.ticket_load_trg() IS 'Trigger of ticket: keeps repairsys.technician_load when a ticket is assigned, reassigned, closed, reopened, restored or deleted';

-- BEFORE INSERT / BEFORE UPDATE on ticket (WHEN clauses: only rows that get a
-- technician, or an assigned ticket that leaves a terminal state): the
-- technician must be active and have a free slot (technician.capacity against
-- his other open tickets), whatever route writes the row: auto_assign, a
-- dispatcher's plain UPDATE, a bulk UPDATE of many tickets.  The technician's
-- row is locked (and given a new version, as auto_assign does), so two
-- sessions filling his last slot at once are serialized: the second counts
-- after the first committed and is refused.  Tickets inserted with a history
-- of their own (status_changed_at given: restore or migration by the table
-- owner, see ticket_open_trg) are taken as they are.
CREATE FUNCTION repairsys.ticket_assign_check_trg()
RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
DECLARE
	cap integer;
	act boolean;
	n   integer;
BEGIN
	IF TG_OP = 'INSERT' AND NEW.status_changed_at IS NOT NULL THEN
		RETURN NEW;
	END IF;
	UPDATE repairsys.technician te SET capacity = te.capacity
	 WHERE te.id = NEW.technician_id
	RETURNING te.capacity, te.active INTO cap, act;
	IF NOT FOUND THEN
		RETURN NEW;		-- the foreign key names the unknown technician
	END IF;
	IF NOT act AND (TG_OP = 'INSERT' OR NEW.technician_id IS DISTINCT FROM OLD.technician_id) THEN
		RAISE EXCEPTION 'technician % is not active', NEW.technician_id
			USING ERRCODE = '23514',
			      DETAIL = pg_catalog.format('Ticket %s was not assigned: inactive technicians take no new work.', NEW.id);
	END IF;
	IF coalesce((SELECT s.is_terminal FROM repairsys.ticket_status s WHERE s.code = NEW.status), false) THEN
		RETURN NEW;		-- a finished ticket takes no slot
	END IF;
	n := repairsys.open_ticket_count(NEW.technician_id, NEW.id);
	IF n >= cap THEN
		RAISE EXCEPTION 'technician % is at capacity', NEW.technician_id
			USING ERRCODE = '23514',
			      DETAIL = pg_catalog.format('%s open tickets, capacity %s: ticket %s was not assigned.', n, cap, NEW.id),
			      HINT = 'repairsys.candidates() lists the technicians with free capacity.';
	END IF;
	RETURN NEW;
END
$$;
COMMENT ON FUNCTION repairsys.ticket_assign_check_trg() IS 'BEFORE INSERT OR UPDATE trigger of ticket, for rows that get a technician: he must be active and below his capacity of open tickets (23514); locks his row so concurrent assignments are counted one after the other';

-- AFTER INSERT OR UPDATE OR DELETE on feedback: the rating goes to the
-- technician of the rated ticket.  (A feedback deleted with its ticket finds
-- the ticket gone: the ticket's BEFORE DELETE trigger took its rating back.)
CREATE FUNCTION repairsys.feedback_load_trg()
RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
DECLARE
	tech bigint;
BEGIN
	IF TG_OP IN ('UPDATE', 'DELETE') THEN
		SELECT t.technician_id INTO tech FROM repairsys.ticket t WHERE t.id = OLD.ticket_id;
		IF tech IS NOT NULL THEN
			PERFORM repairsys.technician_load_add(tech, 0, -1, -OLD.rating);
		END IF;
	END IF;
	IF TG_OP IN ('INSERT', 'UPDATE') THEN
		SELECT t.technician_id INTO tech FROM repairsys.ticket t WHERE t.id = NEW.ticket_id;
		IF tech IS NOT NULL THEN
			PERFORM repairsys.technician_load_add(tech, 0, 1, NEW.rating);
		END IF;
	END IF;
	RETURN NULL;
END
$$;
COMMENT ON FUNCTION repairsys.feedback_load_trg() IS 'AFTER trigger of feedback: keeps the rating count and sum of repairsys.technician_load';
CREATE TRIGGER feedback_30_load AFTER INSERT OR DELETE ON repairsys.feedback
	FOR EACH ROW EXECUTE FUNCTION repairsys.feedback_load_trg();
CREATE TRIGGER feedback_30_load_update AFTER UPDATE ON repairsys.feedback
	FOR EACH ROW WHEN (NEW.ticket_id IS DISTINCT FROM OLD.ticket_id OR NEW.rating IS DISTINCT FROM OLD.rating)
	EXECUTE FUNCTION repairsys.feedback_load_trg();

-- candidates_base() in C (src/scoring_spi.c over the kernel of src/scoring.c): reads the ticket, the policy and
-- every technician with his skill level and load in one pass, scores,
-- explains and sorts.  repairsys.candidates() (52_dispatch.sql) adds the
-- rules of time (shifts, absences, bookings) for a ticket with a booked visit.
CREATE FUNCTION repairsys.candidates_base(ticket_id bigint, policy text DEFAULT 'default')
RETURNS TABLE (technician_id bigint, eligible boolean, reason text, score double precision,
               skill_score double precision, distance_km double precision,
               distance_score double precision, load double precision, load_score double precision,
               rating_score double precision, continuity_score double precision,
               open_tickets integer, capacity integer)
AS 'MODULE_PATHNAME', 'rs_candidates' LANGUAGE C STABLE;
COMMENT ON FUNCTION repairsys.candidates_base(bigint, text) IS
	'Internal kernel of repairsys.candidates(): every technician for a ticket under an assignment policy, without the rules of time: eligible or not and why, score in [0,1] and its parts; best first (eligible, higher score, lower id). Unknown ticket or policy: 22023; finished ticket: 23514; NULL argument: 22004';

------------------------------------------------------------------------------
-- Writers
------------------------------------------------------------------------------
-- The state an assignment moves a ticket of the initial state to: the
-- assigned-role state its enabled transitions reach; none: 23514.
CREATE FUNCTION repairsys.assigned_state(initial text)
RETURNS text
LANGUAGE plpgsql STABLE
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
DECLARE
	code text := repairsys.next_state(initial, 'assigned');
BEGIN
	IF code IS NULL THEN
		RAISE EXCEPTION 'no enabled transition leads from status "%" to a state of role "assigned"', initial
			USING ERRCODE = '23514',
			      HINT = 'Automatic assignment moves tickets along such a transition; enable or add one in repairsys.ticket_transition.';
	END IF;
	RETURN code;
END
$$;
COMMENT ON FUNCTION repairsys.assigned_state(text) IS 'The assigned-role state that automatic assignment moves a ticket of the given (initial) state to; 23514 when no enabled transition leads to one';

CREATE FUNCTION repairsys.auto_assign(ticket_id bigint, policy text DEFAULT 'default')
RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
DECLARE
	t       repairsys.ticket;
	initial text;
	assigned text;
	c       record;
	cap     integer;
	act     boolean;
	n       integer;
	nfull   integer := 0;
	why     text;
BEGIN
	-- Lock order: the ticket, then one technician at a time.
	SELECT * INTO t FROM repairsys.ticket x WHERE x.id = auto_assign.ticket_id FOR UPDATE;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'ticket % does not exist', auto_assign.ticket_id USING ERRCODE = '22023';
	END IF;
	PERFORM repairsys.assign_policy_row(auto_assign.policy);	-- (unknown policy: 22023)
	SELECT s.code INTO initial FROM repairsys.ticket_status s WHERE s.is_initial;
	IF t.status IS DISTINCT FROM initial THEN
		RAISE EXCEPTION 'ticket % is in status "%", not "%"', t.id, t.status, initial
			USING ERRCODE = '23514',
			      DETAIL = pg_catalog.format('Only tickets in status "%s" are assigned automatically.', initial),
			      HINT = 'To reassign a ticket, move it back to the initial status first.';
	END IF;
	assigned := repairsys.assigned_state(initial);

	FOR c IN SELECT k.technician_id, k.score FROM repairsys.candidates(t.id, auto_assign.policy) k
	          WHERE k.eligible AND EXISTS (SELECT 1 FROM repairsys.technician te WHERE te.id = k.technician_id AND te.active)
	LOOP
		BEGIN
			-- Lock the technician and leave a new row version: a concurrent
			-- assigner waits here, and one in a REPEATABLE READ transaction
			-- whose snapshot predates this one fails with 40001 instead of
			-- counting from a stale snapshot.
			UPDATE repairsys.technician te SET capacity = te.capacity
			 WHERE te.id = c.technician_id
			RETURNING te.capacity, te.active INTO cap, act;
			n := repairsys.open_ticket_count(c.technician_id, t.id);
			-- (an inactive or full technician is never assigned, whatever the
			-- policy: the has_technician guard of the life cycle and the
			-- assignment trigger ticket_25_assign_check refuse him)
			IF cap IS NULL OR n >= cap OR NOT coalesce(act, false) THEN
				-- full meanwhile: undo the lock (rolls back the subtransaction)
				RAISE EXCEPTION 'technician % is full', c.technician_id USING ERRCODE = 'RSA01';
			END IF;
			UPDATE repairsys.ticket x SET technician_id = c.technician_id, status = assigned
			 WHERE x.id = t.id;
			RETURN c.technician_id;
		EXCEPTION WHEN SQLSTATE 'RSA01' THEN
			nfull := nfull + 1;
		END;
	END LOOP;

	IF nfull > 0 THEN
		why := pg_catalog.format('%s eligible technician(s) reached their capacity meanwhile.', nfull);
	ELSE
		SELECT pg_catalog.count(*)::integer,
		       pg_catalog.string_agg(pg_catalog.format('Technician %s: %s.', k.technician_id, coalesce(k.reason, 'inactive')), ' '
		                             ORDER BY k.technician_id) FILTER (WHERE k.rn <= 5)
		  INTO n, why
		  FROM (SELECT k.technician_id, k.reason, pg_catalog.row_number() OVER (ORDER BY k.technician_id) AS rn
		          FROM repairsys.candidates(t.id, auto_assign.policy) k) k;
		-- (an eligible technician left here is an inactive one under a policy
		-- without the activity rule)
		IF n = 0 THEN
			why := 'There are no technicians.';
		ELSIF n > 5 THEN
			why := why || pg_catalog.format(' And %s more.', n - 5);
		END IF;
	END IF;
	RAISE NOTICE 'no technician is eligible for ticket %', t.id
		USING DETAIL = why,
		      HINT = 'repairsys.candidates() lists every technician with the reason.';
	RETURN NULL;
END
$$;
COMMENT ON FUNCTION repairsys.auto_assign(bigint, text) IS
	'Assigns the best eligible technician to a ticket in the initial status and moves it to "assigned"; NULL with a NOTICE when nobody fits. Safe under concurrency (locks the ticket, then the technician, and recounts his open tickets)';

-- Priority of a ticket waiting for assignment: a sort key, smaller first.
-- Urgency first (emergency, urgent, normal), then the nearer response
-- deadline, the nearer resolution deadline (NULL last), the older ticket,
-- the lower id.
CREATE FUNCTION repairsys.urgency_rank(urgency text)
RETURNS integer
LANGUAGE sql STABLE STRICT PARALLEL SAFE
SET search_path = repairsys, pg_catalog, pg_temp
BEGIN ATOMIC
	SELECT coalesce((SELECT u.rank FROM repairsys.urgency_rule u WHERE u.urgency = urgency_rank.urgency), 2147483647);
END;
COMMENT ON FUNCTION repairsys.urgency_rank(text) IS 'Rank of an urgency in assignment priority, from urgency_rule.rank (seeded: emergency 1, urgent 2, normal 3; smaller goes first; unknown: last)';

-- (jit off: the planner's row estimates of the skills x technicians product
-- are far too high, and compiling the plan would cost more than running it.)
CREATE FUNCTION repairsys.auto_assign_pending(policy text DEFAULT 'default')
RETURNS TABLE (ticket_id bigint, technician_id bigint, score double precision)
LANGUAGE plpgsql VOLATILE
SET search_path = repairsys, pg_catalog, pg_temp
SET jit = off
AS $$
DECLARE
	p       repairsys.assign_policy;
	initial text;
	assigned text;
	tids    bigint[];
	r       record;
	nfree   integer := 0;
BEGIN
	p := repairsys.assign_policy_row(auto_assign_pending.policy);
	SELECT s.code INTO initial FROM repairsys.ticket_status s WHERE s.is_initial;
	assigned := repairsys.assigned_state(initial);

	-- Lock order: tickets (by id), then technicians (by id).  Tickets another
	-- session holds (an auto_assign at work) are left to it.
	SELECT pg_catalog.array_agg(z.id ORDER BY z.id) INTO tids
	  FROM (SELECT x.id FROM repairsys.ticket x WHERE x.status = initial
	         ORDER BY x.id FOR UPDATE SKIP LOCKED) z;
	IF tids IS NULL THEN
		RETURN;
	END IF;
	-- Lock the technicians that may take work (active ones: the life cycle
	-- refuses inactive technicians, whatever the policy) and leave a new row
	-- version (see auto_assign: concurrent assigners wait or fail with 40001).
	PERFORM 1 FROM (SELECT te.id FROM repairsys.technician te WHERE te.active ORDER BY te.id FOR UPDATE) z;
	UPDATE repairsys.technician te SET capacity = te.capacity WHERE te.active;

	FOR r IN
		WITH tk AS (
			SELECT x AS tr, x.id, x.lat, x.lon, x.service_center_id, st.required_skill, st.min_skill_level,
			       pg_catalog.row_number() OVER (ORDER BY repairsys.urgency_rank(x.urgency), x.respond_by NULLS LAST,
			                                              x.resolve_by NULLS LAST, x.opened_at, x.id) AS prio
			  FROM repairsys.ticket x JOIN repairsys.service_type st ON st.code = x.service_type
			 WHERE x.id = ANY (tids)
		), skills AS (
			SELECT s.skill, pg_catalog.row_number() OVER (ORDER BY s.skill)::integer AS k
			  FROM (SELECT DISTINCT tk.required_skill AS skill FROM tk WHERE tk.required_skill IS NOT NULL) s
		), techs AS (
			SELECT te.*, coalesce(l.open_tickets, 0) AS open,
			       l.rating_sum::double precision / NULLIF(l.rating_count, 0) AS rating
			  FROM repairsys.technician te
			  LEFT JOIN repairsys.technician_load l ON l.technician_id = te.id
			 WHERE te.active
		), tin AS (
			SELECT pg_catalog.array_agg(tk.id ORDER BY tk.prio) AS id,
			       pg_catalog.array_agg(tk.lat ORDER BY tk.prio) AS lat,
			       pg_catalog.array_agg(tk.lon ORDER BY tk.prio) AS lon,
			       pg_catalog.array_agg(tk.service_center_id ORDER BY tk.prio) AS center,
			       pg_catalog.array_agg(coalesce(sk.k, 0) ORDER BY tk.prio) AS skill,
			       pg_catalog.array_agg(tk.min_skill_level ORDER BY tk.prio) AS min_level,
			       pg_catalog.array_agg(ct.c[1] ORDER BY tk.prio) AS cont_customer,
			       pg_catalog.array_agg(ct.c[2] ORDER BY tk.prio) AS cont_asset
			  FROM tk
			  LEFT JOIN skills sk ON sk.skill = tk.required_skill
			  CROSS JOIN LATERAL (SELECT repairsys.continuity_technicians(tk.tr) AS c) ct
		), ein AS (
			SELECT pg_catalog.array_agg(te.id ORDER BY te.id) AS id,
			       pg_catalog.array_agg(te.active ORDER BY te.id) AS active,
			       pg_catalog.array_agg(te.service_center_id ORDER BY te.id) AS center,
			       pg_catalog.array_agg(te.lat ORDER BY te.id) AS lat,
			       pg_catalog.array_agg(te.lon ORDER BY te.id) AS lon,
			       pg_catalog.array_agg(te.capacity ORDER BY te.id) AS cap,
			       pg_catalog.array_agg(te.open ORDER BY te.id) AS open,
			       pg_catalog.array_agg(te.rating ORDER BY te.id) AS rating
			  FROM techs te
		), lv AS (
			SELECT pg_catalog.array_agg(l.levels ORDER BY l.k) AS levels
			  FROM (SELECT sk.k, pg_catalog.array_agg(coalesce(ts.level, 0) ORDER BY te.id) AS levels
			          FROM skills sk CROSS JOIN techs te
			          LEFT JOIN repairsys.technician_skill ts ON ts.technician_id = te.id AND ts.skill = sk.skill
			         GROUP BY sk.k) l
		)
		SELECT s.*
		  FROM tin, ein, lv,
		       LATERAL repairsys.solve_pending(p, tin.id, tin.lat, tin.lon, tin.center, tin.skill, tin.min_level,
		                   tin.cont_customer, tin.cont_asset,
		                   coalesce(ein.id, '{}'), coalesce(ein.active, '{}'), coalesce(ein.center, '{}'),
		                   coalesce(ein.lat, '{}'), coalesce(ein.lon, '{}'), coalesce(ein.cap, '{}'),
		                   coalesce(ein.open, '{}'), coalesce(ein.rating, '{}'), coalesce(lv.levels, '{}')) s
	LOOP
		IF r.technician_id IS NOT NULL THEN
			UPDATE repairsys.ticket x SET technician_id = r.technician_id, status = assigned
			 WHERE x.id = r.ticket_id;
		ELSE
			nfree := nfree + 1;
		END IF;
		ticket_id := r.ticket_id;
		technician_id := r.technician_id;
		score := r.score;
		RETURN NEXT;
	END LOOP;
	IF nfree > 0 THEN
		RAISE NOTICE '% of % pending tickets could not be assigned', nfree, pg_catalog.cardinality(tids)
			USING DETAIL = 'No eligible technician had capacity left for them; they stay in the initial status.',
			      HINT = 'repairsys.candidates() lists every technician with the reason.';
	END IF;
END
$$;
COMMENT ON FUNCTION repairsys.auto_assign_pending(text) IS
	'Assigns every ticket in the initial status at once, exactly: as many tickets as capacity allows (higher priority first: urgency, then SLA deadlines), with the maximal total score; one row per ticket in priority order, technician NULL when none is left';

------------------------------------------------------------------------------
-- Assignment on opening
------------------------------------------------------------------------------
-- AFTER INSERT: when the 'default' policy says auto_assign_on_open, a ticket
-- opened now (not one restored with its history) is assigned at once; when
-- nobody fits it stays new (with the NOTICE of auto_assign).  Named to fire
-- after ticket_90_log, so the history shows the opening before the assignment.
-- SECURITY DEFINER: whoever may open a ticket (a customer, a clerk) gets it
-- assigned without rights on technicians; the history's actor of the
-- assignment is then the extension's owner, the system.
CREATE FUNCTION repairsys.ticket_auto_assign_trg()
RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
BEGIN
	IF NEW.status_changed_at IS NOT DISTINCT FROM pg_catalog.now()
	   AND NEW.technician_id IS NULL
	   AND EXISTS (SELECT 1 FROM repairsys.ticket_status s WHERE s.code = NEW.status AND s.is_initial)
	   AND EXISTS (SELECT 1 FROM repairsys.assign_policy p WHERE p.name = 'default' AND p.auto_assign_on_open) THEN
		PERFORM repairsys.auto_assign(NEW.id, 'default');
	END IF;
	RETURN NULL;
END
$$;
COMMENT ON FUNCTION repairsys.ticket_auto_assign_trg() IS
	'AFTER INSERT trigger of repairsys.ticket: assigns a newly opened ticket with the ''default'' policy when its auto_assign_on_open is set';
