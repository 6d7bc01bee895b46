-- Benchmark of automatic assignment; run through test/bench/assign.sh.
--
-- 1. candidates() for one ticket over :ntech technicians against a PL/pgSQL
--    reference of the same scoring (kept here, cross-checked row by row).
-- 2. auto_assign_pending on n x n backlogs: time, tickets served and total
--    score against a greedy assignment of the same scores, and the solver's
--    own time, for each n of :sizes.
\pset footer off
SET client_min_messages = warning;
SELECT setseed(0.17);

------------------------------------------------------------------------------
-- Data: 20 centers around Shanghai, :ntech technicians, history of tickets
-- (loaded as the table owner with their state, as a restore would).
------------------------------------------------------------------------------
INSERT INTO repairsys.service_center (name, lat, lon)
	SELECT 'bench center ' || g, 31.0 + random() * 0.5, 121.2 + random() * 0.5 FROM generate_series(1, 20) g;
INSERT INTO repairsys.customer (name, lat, lon, service_center_id)
	SELECT 'bench customer ' || g, 31.0 + random() * 0.5, 121.2 + random() * 0.5,
	       (SELECT min(id) FROM repairsys.service_center) + (g % 20)
	  FROM generate_series(1, 5000) g;
INSERT INTO repairsys.service_type (code, name, required_skill, min_skill_level, labor_fee)
	VALUES ('bench_ac', 'AC repair', 'hvac', 3, '0+:1.00'), ('bench_any', 'General', NULL, 1, '0+:1.00');
INSERT INTO repairsys.technician (name, service_center_id, lat, lon, capacity, active)
	SELECT 'bench tech ' || g, (SELECT min(id) FROM repairsys.service_center) + (g % 20),
	       31.0 + random() * 0.5, 121.2 + random() * 0.5, 3 + (random() * 5)::integer, random() < 0.9
	  FROM generate_series(1, :ntech) g;
INSERT INTO repairsys.technician_skill (technician_id, skill, level)
	SELECT id, 'hvac', 1 + (random() * 4)::integer FROM repairsys.technician WHERE random() < 0.7;
-- 3 tickets per technician: a third open, two thirds closed with feedback
INSERT INTO repairsys.ticket (customer_id, service_type, status, technician_id, lat, lon, service_center_id,
                              opened_at, status_changed_at, first_response_at, resolved_at, closed_at, labor_minutes)
	SELECT c.id, 'bench_any', CASE WHEN g % 3 = 0 THEN 'in_progress' ELSE 'closed' END, te.id, c.lat, c.lon, c.service_center_id,
	       now() - interval '30 days', now() - interval '20 days', now() - interval '29 days',
	       CASE WHEN g % 3 = 0 THEN NULL ELSE now() - interval '25 days' END,
	       CASE WHEN g % 3 = 0 THEN NULL ELSE now() - interval '20 days' END, 60
	  FROM generate_series(1, 3 * :ntech) g
	  JOIN repairsys.technician te ON te.id = (SELECT min(id) FROM repairsys.technician) + (g * 7919) % :ntech
	  JOIN repairsys.customer c ON c.id = (SELECT min(id) FROM repairsys.customer) + g % 5000;
INSERT INTO repairsys.feedback (ticket_id, rating)
	SELECT id, 1 + (random() * 4)::integer FROM repairsys.ticket WHERE status = 'closed';
INSERT INTO repairsys.ticket (customer_id, service_type, description)
	SELECT id, 'bench_ac', 'bench probe' FROM repairsys.customer ORDER BY id LIMIT 1;
ANALYZE;

------------------------------------------------------------------------------
-- The PL/pgSQL reference of candidates(): the same tables read (C reads them
-- through SPI rows, the reference as arrays for its loop), the same rules
-- and grades, computed technician by technician in PL/pgSQL.
------------------------------------------------------------------------------
-- The scoring, row by row: the same arguments as the C kernel
-- repairsys.score_candidates().
CREATE FUNCTION pg_temp.score_ref(p repairsys.assign_policy, t_lat float8, t_lon float8, t_center bigint,
	skill text, min_level integer, cont bigint[], ids bigint[], active boolean[], center bigint[],
	lat float8[], lon float8[], cap integer[], open integer[], rating float8[], level integer[])
RETURNS TABLE (technician_id bigint, eligible boolean, reason text, score double precision,
               skill_score double precision, distance_km double precision, distance_score double precision,
               load double precision, load_score double precision, rating_score double precision,
               continuity_score double precision, open_tickets integer, capacity integer)
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
	reasons text[];
	wsum float8 := p.w_skill + p.w_distance + p.w_load + p.w_rating + p.w_continuity;
	a float8;
BEGIN
	FOR i IN 1..coalesce(array_length(ids, 1), 0) LOOP
		reasons := '{}';
		technician_id := ids[i];
		IF p.only_active AND NOT active[i] THEN reasons := reasons || 'inactive'::text; END IF;
		IF skill IS NULL THEN
			skill_score := 1;
		ELSIF level[i] IS NULL THEN
			skill_score := 0;
			IF p.require_skill THEN reasons := reasons || format('missing skill "%s"', skill); END IF;
		ELSIF level[i] < min_level THEN
			skill_score := 0;
			IF p.require_skill THEN reasons := reasons || format('skill "%s" level %s below %s', skill, level[i], min_level); END IF;
		ELSIF min_level >= 5 THEN
			skill_score := 1;
		ELSE
			skill_score := (level[i] - min_level)::float8 / (5 - min_level);
		END IF;
		load := CASE WHEN cap[i] > 0 THEN open[i]::float8 / cap[i] ELSE 1 END;
		load_score := greatest(0, least(1, 1 - load));
		IF p.respect_capacity AND open[i] >= cap[i] THEN
			reasons := reasons || format('at capacity (%s of %s open tickets)', open[i], cap[i]);
		END IF;
		IF t_lat IS NOT NULL AND t_lon IS NOT NULL AND lat[i] IS NOT NULL AND lon[i] IS NOT NULL THEN
			a := sin(radians(t_lat - lat[i]) / 2) ^ 2 + cos(radians(lat[i])) * cos(radians(t_lat)) * sin(radians(t_lon - lon[i]) / 2) ^ 2;
			distance_km := 2 * 6371.0088 * asin(sqrt(least(a, 1)));
			distance_score := greatest(0, least(1, 1 - distance_km / p.distance_worst_km));
			IF p.max_distance_km IS NOT NULL AND distance_km > p.max_distance_km THEN
				reasons := reasons || format('%s km away, above the limit of %s km', to_char(distance_km, 'FM999999990.0'), p.max_distance_km);
			END IF;
		ELSE
			distance_km := NULL;
			distance_score := 0;
			IF p.max_distance_km IS NOT NULL THEN
				reasons := reasons || format('%s location unknown, the limit is %s km',
				                             CASE WHEN t_lat IS NULL OR t_lon IS NULL THEN 'ticket' ELSE 'technician' END, p.max_distance_km);
			END IF;
		END IF;
		IF p.same_center AND (center[i] IS NULL OR t_center IS NULL OR center[i] <> t_center) THEN
			reasons := reasons || CASE WHEN center[i] IS NULL THEN 'belongs to no service center'
			                           WHEN t_center IS NULL THEN 'ticket has no service center'
			                           ELSE 'belongs to another service center' END;
		END IF;
		rating_score := CASE WHEN rating[i] IS NULL THEN 0.5 ELSE greatest(0, least(1, (rating[i] - 1) / 4)) END;
		continuity_score := CASE WHEN ids[i] = cont[1] OR ids[i] = cont[2] THEN 1 ELSE 0 END;
		score := greatest(0, least(1, (p.w_skill * skill_score + p.w_distance * distance_score + p.w_load * load_score
		                               + p.w_rating * rating_score + p.w_continuity * continuity_score) / wsum));
		eligible := cardinality(reasons) = 0;
		reason := CASE WHEN eligible THEN NULL ELSE array_to_string(reasons, '; ') END;
		open_tickets := open[i];
		capacity := cap[i];
		RETURN NEXT;
	END LOOP;
END
$$;

-- The reference's inputs: the same tables and columns repairsys.candidates()
-- reads (each technician's load and rating from repairsys.technician_load),
-- as arrays for the PL/pgSQL loop.
CREATE FUNCTION pg_temp.inputs(ticket_id bigint, policy text,
	OUT p repairsys.assign_policy, OUT t repairsys.ticket, OUT st repairsys.service_type, OUT cont bigint[],
	OUT ids bigint[], OUT active boolean[], OUT center bigint[], OUT lat float8[], OUT lon float8[],
	OUT cap integer[], OUT open integer[], OUT rating float8[], OUT level integer[])
LANGUAGE plpgsql STABLE AS $$
BEGIN
	SELECT * INTO t FROM repairsys.ticket x WHERE x.id = inputs.ticket_id;
	p := repairsys.assign_policy_row(inputs.policy);
	SELECT * INTO st FROM repairsys.service_type s WHERE s.code = t.service_type;
	cont := repairsys.continuity_technicians(t);
	SELECT array_agg(te.id), array_agg(te.active), array_agg(te.service_center_id), array_agg(te.lat), array_agg(te.lon),
	       array_agg(te.capacity),
	       array_agg(coalesce(l.open_tickets, 0) - CASE WHEN te.id = t.technician_id AND t.closed_at IS NULL THEN 1 ELSE 0 END),
	       array_agg(l.rating_sum::double precision / NULLIF(l.rating_count, 0)::double precision), array_agg(sk.level)
	  INTO ids, active, center, lat, lon, cap, open, rating, level
	  FROM repairsys.technician te
	  LEFT JOIN repairsys.technician_skill sk ON sk.technician_id = te.id AND sk.skill = st.required_skill
	  LEFT JOIN repairsys.technician_load l ON l.technician_id = te.id;
END
$$;

-- The whole reference: read as candidates() does, score in PL/pgSQL, sort.
CREATE FUNCTION pg_temp.candidates_ref(ticket_id bigint, policy text DEFAULT 'default')
RETURNS TABLE (technician_id bigint, eligible boolean, reason text, score double precision,
               skill_score double precision, distance_km double precision, distance_score double precision,
               load double precision, load_score double precision, rating_score double precision,
               continuity_score double precision, open_tickets integer, capacity integer)
LANGUAGE sql STABLE AS $$
	SELECT o.* FROM pg_temp.inputs(ticket_id, policy) i,
	       LATERAL pg_temp.score_ref(i.p, (i.t).lat, (i.t).lon, (i.t).service_center_id, (i.st).required_skill,
	                                 (i.st).min_skill_level, i.cont, i.ids, i.active, i.center, i.lat, i.lon,
	                                 i.cap, i.open, i.rating, i.level) o
	 ORDER BY o.eligible DESC, o.score DESC, o.technician_id
$$;

\echo
\echo == 1. candidates() over :ntech technicians: C kernel vs the PL/pgSQL reference
SELECT id AS probe FROM repairsys.ticket WHERE description = 'bench probe' \gset
INSERT INTO repairsys.assign_policy (name, max_distance_km, same_center) VALUES ('bench_strict', 15, true);

-- cross-check: both policies, every row equal (order, eligibility, reason; numbers to 1e-9)
WITH c AS (SELECT row_number() OVER () AS n, * FROM repairsys.candidates(:probe, 'default')),
     r AS (SELECT row_number() OVER () AS n, * FROM pg_temp.candidates_ref(:probe, 'default')),
     cs AS (SELECT row_number() OVER () AS n, * FROM repairsys.candidates(:probe, 'bench_strict')),
     rs AS (SELECT row_number() OVER () AS n, * FROM pg_temp.candidates_ref(:probe, 'bench_strict'))
SELECT (SELECT count(*) FROM c) AS rows_c, (SELECT count(*) FROM r) AS rows_ref,
       (SELECT count(*) FROM c JOIN r USING (n)
         WHERE c.technician_id = r.technician_id AND c.eligible = r.eligible AND c.reason IS NOT DISTINCT FROM r.reason
           AND abs(c.score - r.score) < 1e-9 AND abs(coalesce(c.distance_km - r.distance_km, 0)) < 1e-9
           AND abs(c.load_score - r.load_score) < 1e-12 AND c.rating_score = r.rating_score
           AND c.continuity_score = r.continuity_score) AS equal_default,
       (SELECT count(*) FROM cs JOIN rs USING (n)
         WHERE cs.technician_id = rs.technician_id AND cs.eligible = rs.eligible AND cs.reason IS NOT DISTINCT FROM rs.reason
           AND abs(cs.score - rs.score) < 1e-9) AS equal_strict,
       (SELECT count(*) FILTER (WHERE eligible) FROM c) AS eligible_default,
       (SELECT count(*) FILTER (WHERE eligible) FROM cs) AS eligible_strict;

-- timing, 7 runs each, alternating; medians.  "whole": candidates() against
-- the reference function (each reads the same tables its own way); "scoring":
-- the C kernel against the PL/pgSQL scoring on the same input arrays, read
-- once beforehand.
CREATE TEMP TABLE cand_time (impl text, run integer, ms float8);
DO $$
DECLARE
	probe bigint := (SELECT id FROM repairsys.ticket WHERE description = 'bench probe');
	i record;
	t0 timestamptz;
	n bigint;
BEGIN
	SELECT * INTO i FROM pg_temp.inputs(probe, 'default');
	PERFORM count(*) FROM repairsys.candidates(probe);		-- warm up
	PERFORM count(*) FROM pg_temp.candidates_ref(probe);
	FOR run IN 1..7 LOOP
		t0 := clock_timestamp();
		SELECT count(*) INTO n FROM repairsys.candidates(probe);
		INSERT INTO cand_time VALUES ('whole: repairsys.candidates()', run, extract(epoch FROM clock_timestamp() - t0) * 1000);
		t0 := clock_timestamp();
		SELECT count(*) INTO n FROM pg_temp.candidates_ref(probe);
		INSERT INTO cand_time VALUES ('whole: PL/pgSQL reference', run, extract(epoch FROM clock_timestamp() - t0) * 1000);
		t0 := clock_timestamp();
		PERFORM pg_temp.inputs(probe, 'default');
		INSERT INTO cand_time VALUES ('reference: reading into arrays', run, extract(epoch FROM clock_timestamp() - t0) * 1000);
		t0 := clock_timestamp();
		SELECT count(*) INTO n FROM (SELECT * FROM repairsys.score_candidates(i.p, (i.t).lat, (i.t).lon, (i.t).service_center_id,
			(i.st).required_skill, (i.st).min_skill_level, i.cont, i.ids, i.active, i.center, i.lat, i.lon, i.cap, i.open,
			i.rating, i.level)) z;
		INSERT INTO cand_time VALUES ('scoring: C kernel', run, extract(epoch FROM clock_timestamp() - t0) * 1000);
		t0 := clock_timestamp();
		SELECT count(*) INTO n FROM (SELECT * FROM pg_temp.score_ref(i.p, (i.t).lat, (i.t).lon, (i.t).service_center_id,
			(i.st).required_skill, (i.st).min_skill_level, i.cont, i.ids, i.active, i.center, i.lat, i.lon, i.cap, i.open,
			i.rating, i.level) o ORDER BY o.eligible DESC, o.score DESC, o.technician_id) z;
		INSERT INTO cand_time VALUES ('scoring: PL/pgSQL', run, extract(epoch FROM clock_timestamp() - t0) * 1000);
	END LOOP;
END
$$;
SELECT impl, round(percentile_cont(0.5) WITHIN GROUP (ORDER BY ms)::numeric, 1) AS median_ms,
       round(min(ms)::numeric, 1) AS min_ms, round(max(ms)::numeric, 1) AS max_ms
  FROM cand_time GROUP BY impl ORDER BY impl DESC;
WITH m AS (SELECT impl, percentile_cont(0.5) WITHIN GROUP (ORDER BY ms) AS med, min(ms) AS best FROM cand_time GROUP BY impl)
SELECT what,
       round((r.med / c.med)::numeric, 1) AS speedup_of_medians,
       round((r.best / c.best)::numeric, 1) AS speedup_of_best_runs
  FROM (VALUES ('scoring (same input arrays)', 'scoring: PL/pgSQL', 'scoring: C kernel'),
               ('whole function (reading + scoring)', 'whole: PL/pgSQL reference', 'whole: repairsys.candidates()')) v(what, ref, c_impl)
  JOIN m r ON r.impl = v.ref JOIN m c ON c.impl = v.c_impl;

-- one line per figure for the summary table of test/bench/run.sh
\pset format unaligned
\pset tuples_only on
WITH m AS (SELECT impl, percentile_cont(0.5) WITHIN GROUP (ORDER BY ms) AS med FROM cand_time GROUP BY impl)
SELECT format('SUMMARY|assign|candidates() vs PL/pgSQL, %s technicians: the scoring alone (medians)|%sx|>= 5x|%s', :ntech,
              round((r.med / c.med)::numeric, 1), CASE WHEN r.med / c.med >= 5 THEN 'yes' ELSE 'NO' END)
  FROM m r, m c WHERE r.impl = 'scoring: PL/pgSQL' AND c.impl = 'scoring: C kernel'
UNION ALL
SELECT format('SUMMARY|assign|candidates() vs PL/pgSQL, %s technicians: the whole function (medians)|%sx|>= 5x|%s', :ntech,
              round((r.med / c.med)::numeric, 1), CASE WHEN r.med / c.med >= 5 THEN 'yes' ELSE 'NO' END)
  FROM m r, m c WHERE r.impl = 'whole: PL/pgSQL reference' AND c.impl = 'whole: repairsys.candidates()';
\pset format aligned
\pset tuples_only off

------------------------------------------------------------------------------
-- 2. Batches
------------------------------------------------------------------------------
\echo
\echo == 2. auto_assign_pending on n x n backlogs (optimal) vs greedy on the same scores
-- Each size runs in its own transaction, rolled back: n fresh technicians in
-- a fresh center (capacity 0..2, so capacity is short in places), n new
-- tickets there with mixed urgency and deadlines, policy: same center,
-- 8 km limit.
INSERT INTO repairsys.service_center (name, lat, lon) VALUES ('bench batch center', 30.0, 120.0);
INSERT INTO repairsys.assign_policy (name, max_distance_km, same_center) VALUES ('bench_batch', 8, true);
CREATE TEMP TABLE batch_result (n integer, tickets integer, technicians integer, slots integer,
	opt_served integer, opt_total float8, greedy_served integer, greedy_total float8,
	pending_ms float8, scores_ms float8, solve_ms float8, greedy_ms float8, solver_matches boolean);

CREATE FUNCTION pg_temp.batch_run(n integer) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
	center bigint := (SELECT id FROM repairsys.service_center WHERE name = 'bench batch center');
	cust bigint;
	t0 timestamptz;
	scores_ms float8; solve_ms float8; greedy_ms float8; pending_ms float8;
	m float8[]; caps integer[]; a integer[];
	tick bigint[]; techs bigint[];
	g_served integer := 0; g_total float8 := 0; o_served integer; o_total float8;
	s_total float8 := 0;
	left_ integer[];
	best integer; bs float8;
	j integer;
	slots integer;
	pol repairsys.assign_policy := repairsys.assign_policy_row('bench_batch');
	e_active boolean[]; e_center bigint[]; e_lat float8[]; e_lon float8[]; e_cap integer[]; e_open integer[];
	e_rating float8[]; e_level integer[];
BEGIN
  BEGIN
	PERFORM setseed(n / 10000.0);
	INSERT INTO repairsys.customer (name, lat, lon, service_center_id) VALUES ('bench batch customer', 30.0, 120.0, center)
	RETURNING id INTO cust;
	INSERT INTO repairsys.technician (name, service_center_id, lat, lon, capacity)
		SELECT 'bench batch tech', center, 30.0 + random() * 0.3, 120.0 + random() * 0.3, (random() * 2)::integer
		  FROM generate_series(1, n);
	INSERT INTO repairsys.technician_skill (technician_id, skill, level)
		SELECT id, 'hvac', 1 + (random() * 4)::integer FROM repairsys.technician WHERE name = 'bench batch tech';
	INSERT INTO repairsys.ticket (customer_id, service_type, description, urgency, lat, lon)
		SELECT cust, CASE WHEN g % 4 = 0 THEN 'bench_any' ELSE 'bench_ac' END, 'bench batch',
		       CASE WHEN g % 10 = 0 THEN 'emergency' WHEN g % 5 = 0 THEN 'urgent' ELSE 'normal' END,
		       30.0 + random() * 0.3, 120.0 + random() * 0.3
		  FROM generate_series(1, n) g;
	UPDATE repairsys.ticket SET respond_by = now() + (id % 17) * interval '1 hour'
	 WHERE description = 'bench batch' AND id % 3 = 0;

	-- every ticket's scores through the candidates kernel (the batch
	-- technicians read once), in the batch's priority order
	t0 := clock_timestamp();
	SELECT array_agg(x.id ORDER BY repairsys.urgency_rank(x.urgency), x.respond_by NULLS LAST, x.resolve_by NULLS LAST, x.opened_at, x.id)
	  INTO tick FROM repairsys.ticket x WHERE x.description = 'bench batch';
	SELECT array_agg(te.id ORDER BY te.id), array_agg(te.capacity - repairsys.open_ticket_count(te.id) ORDER BY te.id),
	       array_agg(te.active ORDER BY te.id), array_agg(te.service_center_id ORDER BY te.id),
	       array_agg(te.lat ORDER BY te.id), array_agg(te.lon ORDER BY te.id), array_agg(te.capacity ORDER BY te.id),
	       array_agg(repairsys.open_ticket_count(te.id) ORDER BY te.id),
	       array_agg((SELECT avg(f.rating)::float8 FROM repairsys.feedback f JOIN repairsys.ticket y ON y.id = f.ticket_id
	                   WHERE y.technician_id = te.id) ORDER BY te.id),
	       array_agg(sk.level ORDER BY te.id)
	  INTO techs, caps, e_active, e_center, e_lat, e_lon, e_cap, e_open, e_rating, e_level
	  FROM repairsys.technician te LEFT JOIN repairsys.technician_skill sk ON sk.technician_id = te.id AND sk.skill = 'hvac'
	 WHERE te.active AND te.service_center_id = center;
	CREATE TEMP TABLE sc ON COMMIT DROP AS
		SELECT gi.ri AS ti, array_position(techs, c.technician_id) AS tj, c.score
		  FROM generate_subscripts(tick, 1) gi(ri)
		  JOIN repairsys.ticket x ON x.id = tick[gi.ri]
		  JOIN repairsys.service_type st ON st.code = x.service_type,
		       LATERAL repairsys.score_candidates(pol, x.lat, x.lon, x.service_center_id, st.required_skill, st.min_skill_level,
		                   repairsys.continuity_technicians(x), techs, e_active, e_center, e_lat, e_lon, e_cap, e_open,
		                   e_rating, e_level) c
		 WHERE c.eligible;
	CREATE INDEX ON sc (ti, score DESC, tj);
	ANALYZE sc;
	SELECT array_agg(z.r ORDER BY z.ri) INTO m
	  FROM (SELECT gi.ri, array_agg(s.score ORDER BY gj.cj) AS r
	          FROM generate_subscripts(tick, 1) gi(ri) CROSS JOIN generate_subscripts(techs, 1) gj(cj)
	          LEFT JOIN sc s ON s.ti = gi.ri AND s.tj = gj.cj GROUP BY gi.ri) z;
	scores_ms := extract(epoch FROM clock_timestamp() - t0) * 1000;

	-- the solver alone on that matrix
	t0 := clock_timestamp();
	a := repairsys.assignment_solve(m, caps);
	solve_ms := extract(epoch FROM clock_timestamp() - t0) * 1000;
	FOR i IN 1..n LOOP
		IF a[i] IS NOT NULL THEN s_total := s_total + m[i][a[i]]; END IF;
	END LOOP;

	-- greedy: each ticket in priority order takes its best eligible technician with room
	t0 := clock_timestamp();
	left_ := caps;
	FOR i IN 1..n LOOP
		best := NULL; bs := NULL;
		FOR j IN SELECT s.tj FROM sc s WHERE s.ti = i ORDER BY s.score DESC, s.tj LOOP
			IF left_[j] > 0 THEN best := j; EXIT; END IF;
		END LOOP;
		IF best IS NOT NULL THEN
			left_[best] := left_[best] - 1;
			g_served := g_served + 1;
			g_total := g_total + m[i][best];
		END IF;
	END LOOP;
	greedy_ms := extract(epoch FROM clock_timestamp() - t0) * 1000;

	-- the real thing: locks, scoring in C, solving, n UPDATEs through the life-cycle trigger
	t0 := clock_timestamp();
	SELECT count(technician_id), coalesce(sum(score), 0) INTO o_served, o_total FROM repairsys.auto_assign_pending('bench_batch');
	pending_ms := extract(epoch FROM clock_timestamp() - t0) * 1000;

	slots := (SELECT sum(c) FROM unnest(caps) c);
	RAISE EXCEPTION 'rollback' USING ERRCODE = 'RSB01';	-- undo the instance, keep the figures
  EXCEPTION WHEN SQLSTATE 'RSB01' THEN
	NULL;
  END;
	INSERT INTO batch_result VALUES (n, n, n, slots, o_served, o_total, g_served, g_total,
	                                 pending_ms, scores_ms, solve_ms, greedy_ms, abs(s_total - o_total) < 1e-6);
END
$$;

-- the batch instances see only the batch center's technicians (policy: same
-- center); the other technicians are made inactive meanwhile so the solver's
-- matrix is n x n
UPDATE repairsys.technician SET active = false WHERE name LIKE 'bench tech %';
SELECT count(pg_temp.batch_run(s::integer)) AS batches FROM unnest(string_to_array(:'sizes', ' ')) s;
SELECT n || 'x' || n AS size, slots, opt_served AS served, round(opt_total::numeric, 3) AS total,
       greedy_served AS greedy_served, round(greedy_total::numeric, 3) AS greedy_total,
       round(pending_ms::numeric) AS auto_assign_pending_ms, round(solve_ms::numeric, 1) AS solver_only_ms,
       round(scores_ms::numeric) AS score_matrix_ms, solver_matches AS same_total_as_solver
  FROM batch_result ORDER BY n;
SELECT b.n || 'x' || b.n AS size,
       round((b.solve_ms / p.solve_ms)::numeric, 1) AS solver_time_vs_previous,
       round((b.pending_ms / p.pending_ms)::numeric, 1) AS pending_time_vs_previous,
       round(((b.n::float8 / p.n) ^ 2)::numeric, 1) AS quadratic_would_be,
       round(((b.n::float8 / p.n) ^ 3)::numeric, 1) AS cubic_would_be
  FROM batch_result b JOIN LATERAL (SELECT * FROM batch_result q WHERE q.n < b.n ORDER BY q.n DESC LIMIT 1) p ON true
 ORDER BY b.n;
-- one line per batch size for the summary table of test/bench/run.sh
\pset format unaligned
\pset tuples_only on
SELECT format('SUMMARY|assign|auto_assign_pending %sx%s: served / total score against greedy|%s / %s vs %s / %s, %s ms|optimal >= greedy|%s',
              n, n, opt_served, round(opt_total::numeric, 1), greedy_served, round(greedy_total::numeric, 1), round(pending_ms::numeric),
              CASE WHEN opt_total >= greedy_total - 1e-9 AND solver_matches THEN 'yes' ELSE 'NO' END)
  FROM batch_result ORDER BY n;
\pset format aligned
\pset tuples_only off
