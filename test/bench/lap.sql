-- Benchmark of the batch solver against scipy; run through test/bench/lap.sh,
-- which passes :n and :k (an n x n/k matrix, capacities k), :path (the score
-- matrix as a float8[] literal, written by test/bench/lap.py), :runs and :out
-- (where the answer and the timings go, for lap.py to check against scipy).
--
-- repairsys.assignment_solve(scores, capacities k) on that matrix: one warm-up
-- call, then :runs timed calls, server side (clock_timestamp() around the
-- call alone: reading the file and parsing the array happen before).
\set ON_ERROR_STOP on
SET client_min_messages = warning;
CREATE TEMP TABLE lap_run (n integer, run integer, ms float8, answer integer[]);
CREATE FUNCTION pg_temp.lap_bench(n integer, k integer, path text, runs integer) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
	m float8[] := pg_read_file(path)::float8[];
	caps integer[] := array_fill(k, ARRAY[n / k]);
	a integer[];
	t0 timestamptz;
	ms float8;
BEGIN
	IF array_length(m, 1) <> n OR array_length(m, 2) <> n / k THEN
		RAISE EXCEPTION 'matrix % is not % x %', path, n, n / k;
	END IF;
	a := repairsys.assignment_solve(m, caps);	-- warm-up
	FOR r IN 1..runs LOOP
		t0 := clock_timestamp();
		a := repairsys.assignment_solve(m, caps);
		ms := extract(epoch FROM clock_timestamp() - t0) * 1000;
		INSERT INTO lap_run VALUES (n, r, ms, a);
	END LOOP;
END
$$;
SELECT pg_temp.lap_bench(:n, :k, :'path', :runs) IS NULL AS done \gset
-- the timings, then the answer of the first timed run (1-based columns)
\pset format unaligned
\pset tuples_only on
\o :out
SELECT 'ms|' || string_agg(round(ms::numeric, 3)::text, ' ' ORDER BY run) FROM lap_run
UNION ALL
SELECT 'answer|' || array_to_string(answer, ' ') FROM lap_run WHERE run = 1;
\o
\pset format aligned
\pset tuples_only off
-- every timed run gave the same answer
SELECT CASE WHEN count(DISTINCT answer) = 1 THEN 'same answer in every run' ELSE 'ANSWERS DIFFER' END AS runs_agree FROM lap_run;
