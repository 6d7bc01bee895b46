-- The batch solver against brute force and greedy; its errors; haversine.
BEGIN;
SELECT plan(24);

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
SELECT throws_ok($$SELECT * FROM repairsys.solve_pending(repairsys.assign_policy_row('default'),
                     array_fill(1::bigint, ARRAY[5000]), array_fill(NULL::float8, ARRAY[5000]), array_fill(NULL::float8, ARRAY[5000]),
                     array_fill(NULL::bigint, ARRAY[5000]), array_fill(0, ARRAY[5000]), array_fill(1, ARRAY[5000]),
                     array_fill(NULL::bigint, ARRAY[5000]), array_fill(NULL::bigint, ARRAY[5000]),
                     array_fill(1::bigint, ARRAY[5000]), array_fill(true, ARRAY[5000]), array_fill(NULL::bigint, ARRAY[5000]),
                     array_fill(NULL::float8, ARRAY[5000]), array_fill(NULL::float8, ARRAY[5000]), array_fill(5, ARRAY[5000]),
                     array_fill(0, ARRAY[5000]), array_fill(NULL::float8, ARRAY[5000]), '{}')$$,
                 '54000', 'assignment problem of 5000 tickets and 5000 technicians is too large', 'a problem above the size limit: 54000');

-- haversine_km
SELECT ok(abs(repairsys.haversine_km(0, 0, 0, 180) - pi() * 6371.0088) < 1e-6, 'half the equator is pi times the earth radius');
SELECT ok(abs(repairsys.haversine_km(31.2304, 121.4737, 39.9042, 116.4074) - 1067.31) < 0.5, 'Shanghai to Beijing is about 1067 km');
SELECT throws_ok($$SELECT repairsys.haversine_km(0, 181, 0, 0)$$, '22023', 'longitude "181" is out of range', 'longitude out of range: 22023');

SELECT * FROM finish();
ROLLBACK;
