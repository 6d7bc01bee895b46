-- The batch solver against brute force and greedy; its errors; haversine.
BEGIN;
SELECT plan(33);

-- A random instance: n tickets x m technicians, each pair forbidden with
-- probability p_null, scores in [0,1) rounded to 3 decimals (so ties occur),
-- capacities 0..maxcap.
CREATE FUNCTION pg_temp.rand_instance(n integer, m integer, p_null float8, maxcap integer,
                                      OUT scores float8[], OUT caps integer[])
LANGUAGE plpgsql AS $$
BEGIN
	SELECT array_agg(r ORDER BY i) INTO scores
	  FROM (SELECT i, array_agg(CASE WHEN random() < p_null THEN NULL ELSE round(random()::numeric, 3)::float8 END ORDER BY j) AS r
	          FROM generate_series(1, n) i CROSS JOIN generate_series(1, m) j GROUP BY i) z;
	SELECT array_agg(floor(random() * (maxcap + 1))::integer) INTO caps FROM generate_series(1, m);
END
$$;

-- Evaluates an assignment: is it feasible (allowed pairs, capacities), which
-- rows it serves as a number whose binary digits are the rows (row 1 the
-- most significant: a larger key serves higher-priority rows), its total.
CREATE FUNCTION pg_temp.evaluate(scores float8[], caps integer[], a integer[],
                                 OUT feasible boolean, OUT key numeric, OUT total float8)
LANGUAGE plpgsql AS $$
DECLARE
	n integer := array_length(scores, 1);
	used integer[] := array_fill(0, ARRAY[array_length(caps, 1)]);
BEGIN
	feasible := coalesce(array_length(a, 1), 0) = n;
	key := 0; total := 0;
	FOR i IN 1..n LOOP
		key := key * 2;
		IF a[i] IS NOT NULL THEN
			IF scores[i][a[i]] IS NULL THEN feasible := false; END IF;
			used[a[i]] := used[a[i]] + 1;
			key := key + 1;
			total := total + coalesce(scores[i][a[i]], 0);
		END IF;
	END LOOP;
	FOR j IN 1..coalesce(array_length(caps, 1), 0) LOOP
		IF used[j] > caps[j] THEN feasible := false; END IF;
	END LOOP;
END
$$;

-- Brute force: every assignment (each row to an allowed column with room,
-- or to none); the best has the largest served-rows key, then the largest
-- total.
CREATE FUNCTION pg_temp.brute(scores float8[], caps integer[], i integer, a integer[], left_ integer[],
                              INOUT best_key numeric, INOUT best_total float8)
LANGUAGE plpgsql AS $$
DECLARE
	n integer := array_length(scores, 1);
	m integer := array_length(caps, 1);
	e record;
BEGIN
	IF i > n THEN
		e := pg_temp.evaluate(scores, caps, a);
		IF e.key > best_key OR (e.key = best_key AND e.total > best_total) THEN
			best_key := e.key; best_total := e.total;
		END IF;
		RETURN;
	END IF;
	SELECT * INTO best_key, best_total FROM pg_temp.brute(scores, caps, i + 1, a || NULL::integer, left_, best_key, best_total);
	FOR j IN 1..m LOOP
		IF scores[i][j] IS NOT NULL AND left_[j] > 0 THEN
			left_[j] := left_[j] - 1;
			SELECT * INTO best_key, best_total FROM pg_temp.brute(scores, caps, i + 1, a || j, left_, best_key, best_total);
			left_[j] := left_[j] + 1;
		END IF;
	END LOOP;
END
$$;

-- Greedy in priority order: each row takes its best allowed column with
-- room left (ties: lower column).
CREATE FUNCTION pg_temp.greedy(scores float8[], caps integer[]) RETURNS integer[]
LANGUAGE plpgsql AS $$
DECLARE
	n integer := array_length(scores, 1);
	m integer := array_length(caps, 1);
	left_ integer[] := caps;
	res integer[] := '{}';
	bj integer;
BEGIN
	FOR i IN 1..n LOOP
		bj := NULL;
		FOR j IN 1..m LOOP
			IF scores[i][j] IS NOT NULL AND left_[j] > 0 AND (bj IS NULL OR scores[i][j] > scores[i][bj]) THEN
				bj := j;
			END IF;
		END LOOP;
		IF bj IS NOT NULL THEN left_[bj] := left_[bj] - 1; END IF;
		res := res || bj;
	END LOOP;
	RETURN res;
END
$$;

-- Small instances against brute force, several shapes, many seeds each.
CREATE TEMP TABLE small_result (shape text, seed integer, ok boolean, info text);
DO $$
DECLARE
	shape integer[];
	inst record;
	a integer[];
	e record;
	b record;
BEGIN
	FOREACH shape SLICE 1 IN ARRAY ARRAY[[1,1,1],[2,2,1],[3,2,1],[4,2,2],[5,3,2],[4,4,1],[6,2,3],[5,4,1]] LOOP
		FOR seed IN 1..15 LOOP
			PERFORM setseed(seed / 100.0 + shape[1] / 1000.0 + shape[2] / 10000.0);
			inst := pg_temp.rand_instance(shape[1], shape[2], 0.3, shape[3]);
			a := repairsys.assignment_solve(inst.scores, inst.caps);
			e := pg_temp.evaluate(inst.scores, inst.caps, a);
			b := pg_temp.brute(inst.scores, inst.caps, 1, '{}', inst.caps, -1, -1);
			INSERT INTO small_result VALUES (shape::text, seed,
				e.feasible AND e.key = b.best_key AND abs(e.total - b.best_total) < 1e-9,
				format('scores %s caps %s: solver %s (key %s total %s), brute key %s total %s',
				       inst.scores, inst.caps, a, e.key, e.total, b.best_key, b.best_total));
		END LOOP;
	END LOOP;
END
$$;
SELECT is((SELECT count(*) FROM small_result), 120::bigint, '120 small instances were solved');
SELECT is((SELECT count(*) FROM small_result WHERE ok), 120::bigint,
          'the solver equals the brute-force optimum on every small instance (served set, then total)');
SELECT is((SELECT string_agg(info, E'\n') FROM (SELECT info FROM small_result WHERE NOT ok LIMIT 3) z), NULL,
          'no small instance differs from brute force');

-- Eight rows: shapes with capacities up to 8 x 3, a few seeds each.
CREATE TEMP TABLE eight_result (shape text, seed integer, ok boolean, info text);
DO $$
DECLARE
	shape integer[];
	inst record;
	a integer[];
	e record;
	b record;
BEGIN
	FOREACH shape SLICE 1 IN ARRAY ARRAY[[7,3,2],[8,3,2],[8,2,4]] LOOP
		FOR seed IN 1..3 LOOP
			PERFORM setseed(seed / 50.0 + shape[1] / 1000.0 + shape[3] / 10000.0);
			inst := pg_temp.rand_instance(shape[1], shape[2], 0.25, shape[3]);
			a := repairsys.assignment_solve(inst.scores, inst.caps);
			e := pg_temp.evaluate(inst.scores, inst.caps, a);
			b := pg_temp.brute(inst.scores, inst.caps, 1, '{}', inst.caps, -1, -1);
			INSERT INTO eight_result VALUES (shape::text, seed,
				e.feasible AND e.key = b.best_key AND abs(e.total - b.best_total) < 1e-9,
				format('scores %s caps %s: solver %s, brute key %s total %s', inst.scores, inst.caps, a, b.best_key, b.best_total));
		END LOOP;
	END LOOP;
END
$$;
SELECT is((SELECT string_agg(info, E'\n') FROM eight_result WHERE NOT ok), NULL,
          'up to 8 rows with capacities 0..4: the solver equals brute force on 9 instances');

-- Mostly forbidden pairs (the solver's sparse search, for at most a third
-- of the pairs allowed): brute force on small instances, and on larger ones
-- the same problem with as many fully allowed columns of capacity 0 added
-- (nothing can use them, and they make it dense) gives the same answer.
CREATE TEMP TABLE sparse_result (shape text, seed integer, ok boolean, info text);
CREATE TEMP TABLE sparse_dense (seed integer, same boolean, info text);
DO $$
DECLARE
	shape integer[];
	inst record;
	a integer[];
	a2 integer[];
	wide float8[];
	e record;
	e2 record;
	b record;
BEGIN
	FOREACH shape SLICE 1 IN ARRAY ARRAY[[5,4,2],[6,5,1],[7,6,1],[8,4,2]] LOOP
		FOR seed IN 1..4 LOOP
			PERFORM setseed(seed / 30.0 + shape[1] / 1000.0 + shape[2] / 10000.0);
			inst := pg_temp.rand_instance(shape[1], shape[2], 0.75, shape[3]);
			a := repairsys.assignment_solve(inst.scores, inst.caps);
			e := pg_temp.evaluate(inst.scores, inst.caps, a);
			b := pg_temp.brute(inst.scores, inst.caps, 1, '{}', inst.caps, -1, -1);
			INSERT INTO sparse_result VALUES (shape::text, seed,
				e.feasible AND e.key = b.best_key AND abs(e.total - b.best_total) < 1e-9,
				format('scores %s caps %s: solver %s, brute key %s total %s', inst.scores, inst.caps, a, b.best_key, b.best_total));
		END LOOP;
	END LOOP;
	FOR seed IN 1..30 LOOP
		PERFORM setseed(seed / 31.0 - 0.3);
		inst := pg_temp.rand_instance(20 + seed, 8 + seed % 9, 0.85, 1 + seed % 3);
		a := repairsys.assignment_solve(inst.scores, inst.caps);
		SELECT array_agg(r ORDER BY i) INTO wide
		  FROM (SELECT i, array_agg(CASE WHEN j <= array_length(inst.caps, 1) THEN inst.scores[i][j] ELSE 0.5 END ORDER BY j) AS r
		          FROM generate_series(1, array_length(inst.scores, 1)) i
		         CROSS JOIN generate_series(1, 2 * array_length(inst.caps, 1)) j GROUP BY i) z;
		a2 := repairsys.assignment_solve(wide, inst.caps || array_fill(0, ARRAY[array_length(inst.caps, 1)]));
		e := pg_temp.evaluate(inst.scores, inst.caps, a);
		e2 := pg_temp.evaluate(inst.scores, inst.caps, a2);
		INSERT INTO sparse_dense VALUES (seed, e.feasible AND e2.feasible AND e.key = e2.key AND abs(e.total - e2.total) < 1e-9,
			format('scores %s caps %s: sparse %s (%s), dense %s (%s)', inst.scores, inst.caps, a, e.total, a2, e2.total));
	END LOOP;
END
$$;
SELECT is((SELECT string_agg(info, E'\n') FROM sparse_result WHERE NOT ok), NULL,
          'three quarters of the pairs forbidden: the solver equals brute force on 16 instances');
SELECT is((SELECT string_agg(info, E'\n') FROM sparse_dense WHERE NOT same), NULL,
          'a sparse problem and the same one made dense by unusable columns: same served set and total on 30 instances');

-- Dense square problems with capacities 1 (the solver's Jonker-Volgenant
-- start): every row is served, and the total equals the best of all n!
-- permutations, for n = 2..8, scores with many ties (one decimal) or of
-- both signs.
CREATE FUNCTION pg_temp.best_permutation(m float8[]) RETURNS float8
LANGUAGE sql IMMUTABLE AS $$
	WITH RECURSIVE p(k, used, total) AS (
		SELECT 0, '{}'::integer[], 0::float8
		UNION ALL
		SELECT p.k + 1, p.used || j, p.total + m[p.k + 1][j]
		  FROM p, generate_series(1, array_length(m, 1)) j
		 WHERE p.k < array_length(m, 1) AND j <> ALL (p.used))
	SELECT max(total) FROM p WHERE k = array_length(m, 1)
$$;
CREATE TEMP TABLE square_result (n integer, seed integer, ok boolean, info text);
DO $$
DECLARE
	m float8[];
	a integer[];
	e record;
	best float8;
BEGIN
	FOR n IN 2..8 LOOP
		FOR seed IN 1..CASE WHEN n = 8 THEN 2 ELSE 4 END LOOP
			PERFORM setseed(seed / 10.0 + n / 100.0);
			SELECT array_agg(r ORDER BY i) INTO m
			  FROM (SELECT i, array_agg(CASE WHEN seed % 2 = 0 THEN round(random()::numeric, 1)::float8
			                                 ELSE round((random() * 200 - 100)::numeric, 4)::float8 END ORDER BY j) AS r
			          FROM generate_series(1, n) i CROSS JOIN generate_series(1, n) j GROUP BY i) z;
			a := repairsys.assignment_solve(m, array_fill(1, ARRAY[n]));
			e := pg_temp.evaluate(m, array_fill(1, ARRAY[n]), a);
			best := pg_temp.best_permutation(m);
			INSERT INTO square_result VALUES (n, seed,
				e.feasible AND e.key = 2::numeric ^ n - 1 AND abs(e.total - best) < 1e-9,
				format('scores %s: solver %s total %s, best permutation %s', m, a, e.total, best));
		END LOOP;
	END LOOP;
END
$$;
SELECT is((SELECT count(*) FROM square_result), 26::bigint, '26 dense square instances were solved');
SELECT is((SELECT string_agg(info, E'\n') FROM square_result WHERE NOT ok), NULL,
          'dense square, capacities 1: every row served, total equal to the best permutation');

-- Larger random instances against greedy: the solver serves a set at least
-- as good in priority order, and when it serves the same tickets its total
-- is never below greedy's.
CREATE TEMP TABLE greedy_result (seed integer, feasible boolean, key_cmp integer, solver_total float8, greedy_total float8);
DO $$
DECLARE
	inst record;
	e record;
	g record;
BEGIN
	FOR seed IN 1..60 LOOP
		PERFORM setseed(seed / 61.0);
		inst := pg_temp.rand_instance(10 + seed % 25, 3 + seed % 9, CASE WHEN seed % 3 = 0 THEN 0.6 ELSE 0.2 END, 1 + seed % 4);
		e := pg_temp.evaluate(inst.scores, inst.caps, repairsys.assignment_solve(inst.scores, inst.caps));
		g := pg_temp.evaluate(inst.scores, inst.caps, pg_temp.greedy(inst.scores, inst.caps));
		INSERT INTO greedy_result VALUES (seed, e.feasible, sign(e.key - g.key), e.total, g.total);
	END LOOP;
END
$$;
SELECT is((SELECT count(*) FILTER (WHERE feasible) FROM greedy_result), 60::bigint, 'every solver result respects pairs and capacities');
SELECT is((SELECT count(*) FILTER (WHERE key_cmp < 0) FROM greedy_result), 0::bigint,
          'the solver never serves a set worse in priority order than greedy');
SELECT is((SELECT count(*) FILTER (WHERE key_cmp = 0 AND solver_total < greedy_total - 1e-9) FROM greedy_result), 0::bigint,
          'serving the same tickets, the solver total is never below greedy');
SELECT cmp_ok((SELECT count(*) FILTER (WHERE key_cmp > 0 OR solver_total > greedy_total + 1e-9) FROM greedy_result), '>', 0::bigint,
              'on some instances the solver does strictly better than greedy');

-- Plentiful capacity: every ticket is served, and the total beats greedy.
CREATE TEMP TABLE wide_result (solver_total float8, greedy_total float8, served integer);
DO $$
DECLARE
	inst record;
	a integer[];
BEGIN
	FOR seed IN 1..20 LOOP
		PERFORM setseed(seed / 21.0 - 0.5);
		inst := pg_temp.rand_instance(30, 12, 0.0, 5);
		inst.caps := (SELECT array_agg(c + 3) FROM unnest(inst.caps) c);
		a := repairsys.assignment_solve(inst.scores, inst.caps);
		INSERT INTO wide_result
		SELECT (pg_temp.evaluate(inst.scores, inst.caps, a)).total,
		       (pg_temp.evaluate(inst.scores, inst.caps, pg_temp.greedy(inst.scores, inst.caps))).total,
		       (SELECT count(*) FROM unnest(a) x WHERE x IS NOT NULL);
	END LOOP;
END
$$;
SELECT is((SELECT count(*) FROM wide_result WHERE served = 30), 20::bigint, 'with room for all, every ticket is served');
SELECT is((SELECT count(*) FROM wide_result WHERE solver_total < greedy_total - 1e-9), 0::bigint,
          'with room for all, the solver total is never below greedy');

-- Hand-made cases
SELECT is(repairsys.assignment_solve('{{0.9,0.1},{0.5,NULL}}', '{1,1}'), '{2,1}',
          'greedy would take column 1 for row 1 and leave row 2 out; the solver serves both');
SELECT is(repairsys.assignment_solve('{{0.1},{0.9}}', '{1}'), '{1,NULL}',
          'capacity short: the first (higher-priority) row wins over a better score');
SELECT is(repairsys.assignment_solve('{{0.5,0.5},{0.5,0.5},{0.5,0.5}}', '{2,0}'), '{1,1,NULL}',
          'a column of capacity 0 takes nothing; capacity 2 takes two rows');
SELECT is(repairsys.assignment_solve('{{NULL,NULL},{0.2,NULL}}', '{1,1}'), '{NULL,1}',
          'a row without allowed pairs stays unserved');
SELECT is(repairsys.assignment_solve('{}', '{}'), '{}'::integer[], 'an empty problem has an empty answer');
SELECT is(repairsys.assignment_solve('{{-3,7},{2,-1}}', '{1,1}'), '{2,1}', 'scores may be any finite numbers');

-- Errors
SELECT throws_ok($$SELECT repairsys.assignment_solve('{1,2}', '{1,1}')$$, '22023',
                 'scores must be a two-dimensional array (tickets x technicians)', 'one-dimensional scores: 22023');
SELECT throws_ok($$SELECT repairsys.assignment_solve('{{1,2}}', '{1}')$$, '22023',
                 'argument "capacities" has 1 elements, expected 2', 'capacities of the wrong length: 22023');
SELECT throws_ok($$SELECT repairsys.assignment_solve('{{1}}', '{-1}')$$, '22023',
                 'capacity -1 of column 1 is negative', 'negative capacity: 22023');
SELECT throws_ok($$SELECT repairsys.assignment_solve('{{NaN}}', '{1}')$$, '22023',
                 'score "NaN" at row 1, column 1 is not a finite number', 'NaN score: 22023');
SELECT throws_ok($$SELECT repairsys.assignment_solve('{{1},{Infinity}}', '{1}')$$, '22023',
                 'score "Infinity" at row 2, column 1 is not a finite number', 'infinite score: 22023');
SELECT throws_ok($$SELECT repairsys.assignment_solve('{{1e308,-1e308}}', '{1,1}')$$, '22023',
                 'score "1e+308" at row 1, column 1 is out of range', 'a score of huge magnitude: 22023');
SELECT throws_ok($$SELECT * FROM repairsys.solve_pending(repairsys.assign_policy_row('default'),
                     array_fill(1::bigint, ARRAY[5000]), array_fill(NULL::float8, ARRAY[5000]), array_fill(NULL::float8, ARRAY[5000]),
                     array_fill(NULL::bigint, ARRAY[5000]), array_fill(0, ARRAY[5000]), array_fill(1, ARRAY[5000]),
                     array_fill(NULL::bigint, ARRAY[5000]), array_fill(NULL::bigint, ARRAY[5000]),
                     array_fill(1::bigint, ARRAY[5000]), array_fill(true, ARRAY[5000]), array_fill(NULL::bigint, ARRAY[5000]),
                     array_fill(NULL::float8, ARRAY[5000]), array_fill(NULL::float8, ARRAY[5000]), array_fill(5, ARRAY[5000]),
                     array_fill(0, ARRAY[5000]), array_fill(NULL::float8, ARRAY[5000]), '{}')$$,
                 '54000', 'assignment problem of 5000 tickets and 5000 technicians is too large', 'a problem above the size limit: 54000');

-- auto_assign_pending on real rows equals the solver on the candidates()
-- matrix (same served count, same total), over several random instances
-- with two skills, a skill-less service type, mixed urgency and deadlines.
CREATE TEMP TABLE pending_result (seed integer, served_pending integer, served_solver integer,
                                  total_pending float8, total_solver float8, priority_order boolean, capacity_ok boolean);
DO $$
DECLARE
	cen bigint;
	cus bigint;
	tick bigint[];
	techs bigint[];
	caps integer[];
	m float8[];
	a integer[];
	sp integer; ss integer; tp float8; ts float8; po boolean; cok boolean;
BEGIN
	INSERT INTO repairsys.service_type (code, name, required_skill, min_skill_level, labor_fee)
	VALUES ('tap_ac', 'tap ac', 'tap_hvac', 2, '0+:1.00'), ('tap_tv', 'tap tv', 'tap_tv', 3, '0+:1.00'),
	       ('tap_any', 'tap any', NULL, 1, '0+:1.00');
	INSERT INTO repairsys.assign_policy (name, same_center, max_distance_km) VALUES ('tap_batch', true, 20);
	FOR seed IN 1..6 LOOP
		BEGIN
			PERFORM setseed(seed / 7.0);
			INSERT INTO repairsys.service_center (name, lat, lon) VALUES ('tap center', 30, 120) RETURNING id INTO cen;
			INSERT INTO repairsys.customer (name, lat, lon, service_center_id) VALUES ('tap customer', 30, 120, cen) RETURNING id INTO cus;
			INSERT INTO repairsys.technician (name, service_center_id, lat, lon, capacity, active)
				SELECT 'tap tech ' || g, cen, 30 + random() * 0.3, 120 + random() * 0.3, (random() * 2.4)::integer, random() < 0.9
				  FROM generate_series(1, 3 + seed) g;
			INSERT INTO repairsys.technician_skill (technician_id, skill, level)
				SELECT te.id, sk, 1 + (random() * 4)::integer
				  FROM repairsys.technician te, unnest(ARRAY['tap_hvac', 'tap_tv']) sk
				 WHERE te.service_center_id = cen AND random() < 0.7;
			INSERT INTO repairsys.ticket (customer_id, service_type, urgency, lat, lon)
				SELECT cus, (ARRAY['tap_ac', 'tap_tv', 'tap_any'])[1 + g % 3],
				       (ARRAY['normal', 'urgent', 'emergency'])[1 + (random() * 2)::integer],
				       30 + random() * 0.3, 120 + random() * 0.3
				  FROM generate_series(1, 4 + 2 * seed) g;
			UPDATE repairsys.ticket SET respond_by = now() + (id % 5) * interval '1 hour'
			 WHERE customer_id = cus AND id % 2 = 0;

			SELECT array_agg(x.id ORDER BY repairsys.urgency_rank(x.urgency), x.respond_by NULLS LAST, x.resolve_by NULLS LAST, x.opened_at, x.id)
			  INTO tick FROM repairsys.ticket x WHERE x.customer_id = cus;
			SELECT array_agg(te.id ORDER BY te.id), array_agg(te.capacity ORDER BY te.id) INTO techs, caps
			  FROM repairsys.technician te WHERE te.service_center_id = cen;
			SELECT array_agg(z.r ORDER BY z.i) INTO m
			  FROM (SELECT gi.i, array_agg(c.score ORDER BY gj.j) AS r
			          FROM generate_subscripts(tick, 1) gi(i) CROSS JOIN generate_subscripts(techs, 1) gj(j)
			          LEFT JOIN LATERAL (SELECT k.score FROM repairsys.candidates(tick[gi.i], 'tap_batch') k
			                              WHERE k.technician_id = techs[gj.j] AND k.eligible) c ON true
			         GROUP BY gi.i) z;
			a := repairsys.assignment_solve(m, caps);
			SELECT count(*) FILTER (WHERE a[i] IS NOT NULL), coalesce(sum(m[i][a[i]]), 0) INTO ss, ts
			  FROM generate_subscripts(tick, 1) i;

			SELECT count(p.technician_id), coalesce(sum(p.score), 0), array_agg(p.ticket_id) = tick
			  INTO sp, tp, po FROM repairsys.auto_assign_pending('tap_batch') p WHERE p.ticket_id = ANY (tick);
			SELECT bool_and(repairsys.open_ticket_count(te.id) <= te.capacity) INTO cok
			  FROM repairsys.technician te WHERE te.service_center_id = cen;
			RAISE EXCEPTION 'undo' USING ERRCODE = 'RST01';	-- drop the instance, keep the figures
		EXCEPTION WHEN SQLSTATE 'RST01' THEN
			NULL;
		END;
		INSERT INTO pending_result VALUES (seed, sp, ss, tp, ts, po, cok);
	END LOOP;
END
$$;
SELECT is((SELECT count(*) FROM pending_result WHERE served_pending = served_solver AND abs(total_pending - total_solver) < 1e-9),
          6::bigint, 'auto_assign_pending serves as many tickets, with the same total, as the solver on the candidates() scores');
SELECT is((SELECT count(*) FROM pending_result WHERE priority_order), 6::bigint, 'auto_assign_pending returns the tickets in priority order');
SELECT is((SELECT count(*) FROM pending_result WHERE capacity_ok), 6::bigint, 'no technician ends over capacity');

-- haversine_km
SELECT ok(abs(repairsys.haversine_km(0, 0, 0, 180) - pi() * 6371.0088) < 1e-6, 'half the equator is pi times the earth radius');
SELECT ok(abs(repairsys.haversine_km(31.2304, 121.4737, 39.9042, 116.4074) - 1067.31) < 0.5, 'Shanghai to Beijing is about 1067 km');
SELECT throws_ok($$SELECT repairsys.haversine_km(0, 181, 0, 0)$$, '22023', 'longitude "181" is out of range', 'longitude out of range: 22023');

SELECT * FROM finish();
ROLLBACK;
