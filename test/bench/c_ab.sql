-- test/bench/c_ab.sql, run by test/bench/c_ab.sh: the C functions of a base
-- build (schema b, bound to the module file :'base') against the installed
-- build (schema repairsys), in one backend on one data set, alternating.
-- Both modules are loaded at once: every function measured here calls only
-- functions of its own file or the server, so neither build reaches into
-- the other.  Everything is dropped at the end.
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
CREATE SCHEMA b;
CREATE FUNCTION b.candidates(ticket_id bigint, policy text DEFAULT 'default')
RETURNS TABLE (technician_id bigint, eligible boolean, reason text, score double precision,
               skill_score double precision, distance_km double precision,
               distance_score double precision, load double precision, load_score double precision,
               rating_score double precision, continuity_score double precision,
               open_tickets integer, capacity integer)
AS :'base', 'rs_candidates' LANGUAGE C STABLE;
CREATE FUNCTION b.sla_deadline(sla repairsys.sla_interval, start timestamptz, closed date[] DEFAULT NULL,
	default_zone text DEFAULT NULL, open date[] DEFAULT NULL, open_as integer[] DEFAULT NULL)
RETURNS timestamptz AS :'base', 'sla_interval_deadline' LANGUAGE C STABLE;
CREATE FUNCTION b.sla_elapsed(sla repairsys.sla_interval, from_ts timestamptz, to_ts timestamptz, closed date[] DEFAULT NULL,
	default_zone text DEFAULT NULL, open date[] DEFAULT NULL, open_as integer[] DEFAULT NULL)
RETURNS interval AS :'base', 'sla_interval_elapsed' LANGUAGE C STABLE;
CREATE FUNCTION b.fee_tier_lt(repairsys.fee_tier, repairsys.fee_tier) RETURNS boolean
	AS :'base', 'fee_tier_lt' LANGUAGE C IMMUTABLE STRICT;
CREATE FUNCTION b.sla_interval_lt(repairsys.sla_interval, repairsys.sla_interval) RETURNS boolean
	AS :'base', 'sla_interval_lt' LANGUAGE C IMMUTABLE STRICT;

SELECT setseed(0.5) \gset
CREATE TABLE sla_cases AS
SELECT (CASE g % 3 WHEN 0 THEN '8h in mon-fri 09:00-18:00 Asia/Shanghai'
                   WHEN 1 THEN '6h in mon-fri 08:00-12:00 13:00-17:00, sat 09:00-12:00 Europe/Berlin'
                   ELSE '1000h in mon-sun 22:00-06:00 America/New_York' END)::repairsys.sla_interval AS s,
       timestamptz '2027-01-01 00:00 UTC' + random() * interval '700 days' AS start,
       ARRAY(SELECT date '2027-01-01' + (random() * 700)::int FROM generate_series(1, 10) ORDER BY 1) AS closed,
       ARRAY(SELECT date '2027-01-02' + 7 * k FROM generate_series(0, 59) k) AS open
  FROM generate_series(1, 20000) g;
CREATE TABLE ft_vals AS SELECT format('base=%s, 0-%s:2, %s+:1.5', g % 7, 1 + g % 50, 1 + g % 50)::repairsys.fee_tier AS v FROM generate_series(1, 1000) g;
CREATE TABLE sla_vals AS SELECT format('%sh in mon-fri 09:00-18:00 Asia/Shanghai', 1 + g % 40)::repairsys.sla_interval AS v FROM generate_series(1, 1000) g;
ANALYZE;
\echo == both builds give the same results (all 0)
SELECT count(*) FILTER (WHERE repairsys.sla_deadline(s, start, closed, NULL, open) IS DISTINCT FROM b.sla_deadline(s, start, closed, NULL, open)) AS deadline_differences,
       count(*) FILTER (WHERE repairsys.sla_elapsed(s, start, start + interval '90 days', closed) IS DISTINCT FROM b.sla_elapsed(s, start, start + interval '90 days', closed)) AS elapsed_differences
  FROM sla_cases;
SELECT count(*) AS candidates_differences FROM (
	(SELECT * FROM repairsys.candidates((SELECT max(id) FROM repairsys.ticket)) EXCEPT ALL SELECT * FROM b.candidates((SELECT max(id) FROM repairsys.ticket)))
	UNION ALL
	(SELECT * FROM b.candidates((SELECT max(id) FROM repairsys.ticket)) EXCEPT ALL SELECT * FROM repairsys.candidates((SELECT max(id) FROM repairsys.ticket)))) d;

CREATE TEMP TABLE t (what text, impl text, run int, ms float8);
CREATE FUNCTION pg_temp.timeit(what text, impl text, run int, q text) RETURNS void LANGUAGE plpgsql AS $$
DECLARE t0 timestamptz; n bigint;
BEGIN
	t0 := clock_timestamp();
	EXECUTE q INTO n;
	INSERT INTO t VALUES (what, impl, run, extract(epoch FROM clock_timestamp() - t0) * 1000);
END $$;
DO $$
DECLARE
	probe bigint := (SELECT max(id) FROM repairsys.ticket);
	q record;
BEGIN
	FOR run IN 0..20 LOOP
		FOR q IN SELECT * FROM (VALUES
			('sla_deadline, 20000 cases (60 open days, 10 closed)', 'SELECT count(%s.sla_deadline(s, start, closed, NULL, open)) FROM sla_cases'),
			('sla_elapsed over 90 days, 20000 cases', 'SELECT count(%s.sla_elapsed(s, start, start + interval ''90 days'', closed)) FROM sla_cases'),
			('candidates(), 10000 technicians', 'SELECT count(*) FROM %s.candidates(' || probe || ')'),
			('fee_tier <, 1000000 pairs of stored values', 'SELECT count(*) FILTER (WHERE %s.fee_tier_lt(a.v, c.v)) FROM ft_vals a, ft_vals c'),
			('sla_interval <, 1000000 pairs of stored values', 'SELECT count(*) FILTER (WHERE %s.sla_interval_lt(a.v, c.v)) FROM sla_vals a, sla_vals c')) x(what, q)
		LOOP
			IF run % 2 = 0 THEN
				PERFORM pg_temp.timeit(q.what, 'base', run, format(q.q, 'b'));
				PERFORM pg_temp.timeit(q.what, 'new', run, format(q.q, 'repairsys'));
			ELSE
				PERFORM pg_temp.timeit(q.what, 'new', run, format(q.q, 'repairsys'));
				PERFORM pg_temp.timeit(q.what, 'base', run, format(q.q, 'b'));
			END IF;
		END LOOP;
	END LOOP;
END $$;
\echo == run 0 warms up; over runs 1..20: median times, their ratio base / new (above 1: the new build is faster) and the spread of the per-run ratios
CREATE TEMP VIEW result AS
SELECT what, round((percentile_cont(0.5) WITHIN GROUP (ORDER BY base_ms) / percentile_cont(0.5) WITHIN GROUP (ORDER BY new_ms))::numeric, 2) AS base_over_new,
       round(percentile_cont(0.5) WITHIN GROUP (ORDER BY base_ms)::numeric, 1) AS base_ms,
       round(percentile_cont(0.5) WITHIN GROUP (ORDER BY new_ms)::numeric, 1) AS new_ms,
       round(percentile_cont(0.25) WITHIN GROUP (ORDER BY ratio)::numeric, 2) AS ratio_q1,
       round(percentile_cont(0.75) WITHIN GROUP (ORDER BY ratio)::numeric, 2) AS ratio_q3
  FROM (SELECT x.what, x.run, x.ms AS base_ms, y.ms AS new_ms, x.ms / y.ms AS ratio
          FROM t x JOIN t y ON y.what = x.what AND y.run = x.run AND y.impl = 'new'
         WHERE x.impl = 'base' AND x.run > 0) r
 GROUP BY what;
SELECT * FROM result ORDER BY what;
SELECT format('SUMMARY|c_ab|%s: %s / this tree (medians of 20 alternating runs)|%sx (%s vs %s ms)|report|-',
              what, :'rev', base_over_new, base_ms, new_ms)
  FROM result ORDER BY what \g (tuples_only=on format=unaligned)
DROP SCHEMA b CASCADE;
DROP TABLE sla_cases, ft_vals, sla_vals;
