-- Benchmark of fee_tier (issue 3): charge() in C against a PL/pgSQL
-- reference implementation of the same rules, and against the floor
-- sum(round(q * 1.5, 2)), side by side in one run over the same rows.
-- Run in a database with repairsys: psql -f test/bench/fee_tier.sql
-- (test/bench/run.sh does that on a throwaway cluster).  Set rows with -v rows=N.
\set ON_ERROR_STOP 1
\if :{?rows}
\else
\set rows 1000000
\endif
SET search_path = repairsys, public;
SET client_min_messages = warning;
SET jit = off;
SET max_parallel_workers_per_gather = 0;

-- The reference: the rules of DESIGN.md section 5 in PL/pgSQL with numeric,
-- on a schedule given as arrays (tier lower bounds, rates) plus base/min/max.
CREATE OR REPLACE FUNCTION pg_temp.ref_charge(froms numeric[], rates numeric[], base numeric,
                                              minv numeric, maxv numeric, volume boolean, q numeric)
RETURNS numeric LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
	total numeric := base;
	n int := array_length(froms, 1);
	upper numeric;
BEGIN
	IF q < 0 THEN RAISE EXCEPTION 'negative quantity'; END IF;
	q := round(q, 3);
	IF volume THEN
		FOR i IN 1 .. n LOOP
			IF i = n OR q <= froms[i + 1] THEN
				IF q > 0 THEN total := total + round(q * rates[i], 2); END IF;
				EXIT;
			END IF;
		END LOOP;
	ELSE
		FOR i IN 1 .. n LOOP
			EXIT WHEN q <= froms[i];
			upper := CASE WHEN i < n AND froms[i + 1] < q THEN froms[i + 1] ELSE q END;
			total := total + round((upper - froms[i]) * rates[i], 2);
		END LOOP;
	END IF;
	IF minv IS NOT NULL AND total < minv THEN total := minv; END IF;
	IF maxv IS NOT NULL AND total > maxv THEN total := maxv; END IF;
	RETURN total;
END $$;

-- the reference's view of a fee_tier: the items of its canonical text
CREATE OR REPLACE FUNCTION pg_temp.ref_from_tier(f fee_tier, q numeric) RETURNS numeric LANGUAGE sql IMMUTABLE AS $$
	SELECT pg_temp.ref_charge(
	         array_agg(substring(x FROM '^([0-9.]+)')::numeric ORDER BY o) FILTER (WHERE x ~ '^[0-9]'),
	         array_agg(split_part(x, ':', 2)::numeric ORDER BY o) FILTER (WHERE x ~ '^[0-9]'),
	         coalesce(max(substring(x FROM '^base=(.*)$'))::numeric, 0),
	         max(substring(x FROM '^min=(.*)$'))::numeric,
	         max(substring(x FROM '^max=(.*)$'))::numeric,
	         coalesce(bool_or(x = 'volume'), false),
	         q)
	  FROM unnest(string_to_array(replace(f::text, ' ', ''), ',')) WITH ORDINALITY AS t(x, o)
$$;

\echo '== cross-check: C charge() = PL/pgSQL reference on random schedules and quantities'
SELECT setseed(0.5);
CREATE TEMP TABLE xs AS
SELECT (CASE WHEN random() < 0.5 THEN 'base=' || round((random() * 60)::numeric, 2) || ', ' ELSE '' END
        || '0-' || b1 || ':' || round((random() * 3)::numeric, 4) || ', ' || b1 || '-' || b2 || ':' || round((random() * 3)::numeric, 4)
        || ', ' || b2 || '+:' || round((random() * 3)::numeric, 4)
        || CASE WHEN random() < 0.3 THEN ', min=' || round((random() * 80)::numeric, 2) ELSE '' END
        || CASE WHEN random() < 0.3 THEN ', max=' || round((200 + random() * 300)::numeric, 2) ELSE '' END
        || CASE WHEN random() < 0.4 THEN ', volume' ELSE '' END)::fee_tier AS f,
       round((random() * 400)::numeric, 4) AS q
  FROM (SELECT round((1 + random() * 100)::numeric, 3) AS b1, round((101 + random() * 200)::numeric, 3) AS b2
          FROM generate_series(1, 20000)) s;
SELECT count(*) AS cases,
       count(*) FILTER (WHERE charge(f, q) <> pg_temp.ref_from_tier(f, q)) AS mismatches
  FROM xs;

\echo '== timing over' :rows 'rows (each variant run 3 times, best time kept)'
CREATE TEMP TABLE qs AS SELECT round((random() * 400)::numeric, 2) AS q FROM generate_series(1, :rows);
ANALYZE qs;
CREATE TEMP TABLE timing (variant text, ms float8);
DO $$
DECLARE
	f fee_tier := 'base=50, 0-60:2.00, 60-180:1.50, 180+:1.20, min=80';
	froms numeric[] := ARRAY[0, 60, 180];
	rates numeric[] := ARRAY[2.00, 1.50, 1.20];
	t0 timestamptz;
	r numeric;
	v text;
BEGIN
	FOR rep IN 1 .. 3 LOOP
		FOREACH v IN ARRAY ARRAY['floor', 'c', 'plpgsql'] LOOP
			t0 := clock_timestamp();
			IF v = 'floor' THEN
				SELECT sum(round(q * 1.5, 2)) INTO r FROM qs;
			ELSIF v = 'c' THEN
				SELECT sum(repairsys.charge(f, q)) INTO r FROM qs;
			ELSE
				SELECT sum(pg_temp.ref_charge(froms, rates, 50, 80, NULL, false, q)) INTO r FROM qs;
			END IF;
			INSERT INTO timing VALUES (v, 1000 * extract(epoch FROM clock_timestamp() - t0));
		END LOOP;
	END LOOP;
END $$;
SELECT variant, round(min(ms)::numeric, 1) AS best_ms FROM timing GROUP BY variant ORDER BY 2;
SELECT round((SELECT min(ms) FROM timing WHERE variant = 'plpgsql')::numeric / (SELECT min(ms) FROM timing WHERE variant = 'c')::numeric, 1)
         AS "C speed-up over PL/pgSQL (target >= 10x)",
       round((SELECT min(ms) FROM timing WHERE variant = 'c')::numeric / (SELECT min(ms) FROM timing WHERE variant = 'floor')::numeric, 2)
         AS "C cost / floor sum(round(q*1.5,2)) (target <= 2x)";
-- one line per figure for the summary table of test/bench/run.sh
\pset format unaligned
\pset tuples_only on
WITH m AS (SELECT (SELECT min(ms) FROM timing WHERE variant = 'plpgsql') AS ref, (SELECT min(ms) FROM timing WHERE variant = 'c') AS c,
                  (SELECT min(ms) FROM timing WHERE variant = 'floor') AS fl)
SELECT format('SUMMARY|fee_tier|charge() vs PL/pgSQL, 1,000,000 rows|%sx|>= 10x|%s', round((ref / c)::numeric, 1), CASE WHEN ref / c >= 10 THEN 'yes' ELSE 'NO' END)
  FROM m
UNION ALL
SELECT format('SUMMARY|fee_tier|charge() cost vs the floor sum(round(q*1.5,2))|%sx|<= 2x|%s', round((c / fl)::numeric, 2), CASE WHEN c / fl <= 2 THEN 'yes' ELSE 'NO' END)
  FROM m;
\pset format aligned
\pset tuples_only off
