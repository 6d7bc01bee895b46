-- Benchmark of spare-part forecasting (issue 7), measured side by side in one run:
--   1. forecast_demand in C against a PL/pgSQL reference of the same recurrences
--      over 10,000 series of 365 days (results cross-checked);
--   2. the stock_forecast view over 2,000 parts x 10 centers with a year of
--      ledger: its time and plan.
-- psql variables: series (10000), parts (2000), centers (10).
\set ON_ERROR_STOP 1
\if :{?series}
\else
\set series 10000
\endif
\if :{?parts}
\else
\set parts 2000
\endif
\if :{?centers}
\else
\set centers 10
\endif
SET search_path = repairsys, public;
SET client_min_messages = warning;
SET jit = off;
-- local buffers for the temporary tables below (39 MB uncompressed), set
-- before the session touches any temporary table
SET temp_buffers = '256MB';
SET max_parallel_workers_per_gather = 0;

CREATE OR REPLACE FUNCTION pg_temp.ref_forecast(d float8[], method text, alpha float8, beta float8)
RETURNS float8 LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
	n int := cardinality(d);
	l float8; z float8; p float8; pr float8;
	first int := 0; last int;
BEGIN
	IF method = 'ses' THEN
		l := d[1];
		FOR t IN 2 .. n LOOP l := l + alpha * (d[t] - l); END LOOP;
		RETURN l;
	END IF;
	FOR t IN 1 .. n LOOP IF d[t] > 0 THEN first := t; EXIT; END IF; END LOOP;
	IF first = 0 THEN RETURN 0; END IF;
	z := d[first];
	IF method = 'tsb' THEN
		pr := 1.0 / first;
		FOR t IN first + 1 .. n LOOP
			pr := pr + beta * ((CASE WHEN d[t] > 0 THEN 1 ELSE 0 END) - pr);
			IF d[t] > 0 THEN z := z + alpha * (d[t] - z); END IF;
		END LOOP;
		RETURN pr * z;
	END IF;
	p := first; last := first;
	FOR t IN first + 1 .. n LOOP
		IF d[t] > 0 THEN
			z := z + alpha * (d[t] - z);
			p := p + alpha * ((t - last) - p);
			last := t;
		END IF;
	END LOOP;
	RETURN CASE WHEN method = 'sba' THEN (1 - alpha / 2) * z / p ELSE z / p END;
END $$;

\echo '== 1. forecast_demand: C against PL/pgSQL over' :series 'series of 365 days'
SELECT setseed(0.25);
CREATE TEMP TABLE series AS
SELECT i, ARRAY(SELECT CASE WHEN random() < 0.08 THEN 1 + floor(random() * 4) ELSE 0 END::float8
                  FROM generate_series(1, 365) WHERE i > 0) AS d
  FROM generate_series(1, :series) i;
SELECT count(*) AS cases,
       count(*) FILTER (WHERE abs(forecast_demand(d, m) - pg_temp.ref_forecast(d, m, 0.1, 0.1)) > 1e-12 * greatest(1, abs(forecast_demand(d, m)))) AS mismatches
  FROM series, unnest(ARRAY['ses', 'croston', 'sba', 'tsb']) m;
-- The same series stored three ways (the arrays are about 2.9 kB, so by
-- default PostgreSQL compresses them with pglz): the default; lz4 compression
-- (ALTER TABLE ... ALTER COLUMN d SET COMPRESSION lz4); and uncompressed in
-- the row (SET STORAGE PLAIN).  Fresh arrays are built for the copies: an
-- already compressed value would be kept as it is.
CREATE TEMP TABLE series_lz4 (i int, d float8[] COMPRESSION lz4);
INSERT INTO series_lz4 SELECT i, ARRAY(SELECT unnest(d)) FROM series;
CREATE TEMP TABLE series_plain (i int, d float8[]);
ALTER TABLE series_plain ALTER COLUMN d SET STORAGE PLAIN;
INSERT INTO series_plain SELECT i, ARRAY(SELECT unnest(d)) FROM series;
ANALYZE series, series_lz4, series_plain;
SELECT 'pglz (default)' AS storage, avg(pg_column_size(d))::int AS bytes_per_series, pg_size_pretty(pg_total_relation_size('series')) AS table_size FROM series
UNION ALL SELECT 'lz4', avg(pg_column_size(d))::int, pg_size_pretty(pg_total_relation_size('series_lz4')) FROM series_lz4
UNION ALL SELECT 'uncompressed', avg(pg_column_size(d))::int, pg_size_pretty(pg_total_relation_size('series_plain')) FROM series_plain;
CREATE TEMP TABLE timing (variant text, ms float8);
DO $$
DECLARE
	t0 timestamptz;
	r float8;
	tab text;
BEGIN
	FOR rep IN 1 .. 5 LOOP
		FOREACH tab IN ARRAY ARRAY['series', 'series_lz4', 'series_plain'] LOOP
			t0 := clock_timestamp();
			EXECUTE format('SELECT sum(d[365]) FROM %I', tab) INTO r;	-- reading the arrays alone
			INSERT INTO timing VALUES (tab || ': read only', 1000 * extract(epoch FROM clock_timestamp() - t0));
			t0 := clock_timestamp();
			EXECUTE format('SELECT sum(repairsys.forecast_demand(d, ''sba'')) FROM %I', tab) INTO r;
			INSERT INTO timing VALUES (tab || ': c', 1000 * extract(epoch FROM clock_timestamp() - t0));
			t0 := clock_timestamp();
			EXECUTE format('SELECT sum(pg_temp.ref_forecast(d, ''sba'', 0.1, 0.1)) FROM %I', tab) INTO r;
			INSERT INTO timing VALUES (tab || ': plpgsql', 1000 * extract(epoch FROM clock_timestamp() - t0));
		END LOOP;
	END LOOP;
END $$;
-- as stock_forecast uses it: series built in memory (no table read, no decompression)
CREATE TEMP TABLE mem AS SELECT i, d FROM series;
DO $$
DECLARE
	all_series float8[][] := (SELECT array_agg(d ORDER BY i) FROM mem);	-- one 2-D array in memory
	one float8[];
	t0 timestamptz;
	r float8;
BEGIN
	FOR rep IN 1 .. 3 LOOP
		t0 := clock_timestamp(); r := 0;
		FOREACH one SLICE 1 IN ARRAY all_series LOOP r := r + 0; END LOOP;
		INSERT INTO timing VALUES ('in memory: loop only', 1000 * extract(epoch FROM clock_timestamp() - t0));
		t0 := clock_timestamp(); r := 0;
		FOREACH one SLICE 1 IN ARRAY all_series LOOP r := r + repairsys.forecast_demand(one, 'sba'); END LOOP;
		INSERT INTO timing VALUES ('in memory: c', 1000 * extract(epoch FROM clock_timestamp() - t0));
		t0 := clock_timestamp(); r := 0;
		FOREACH one SLICE 1 IN ARRAY all_series LOOP r := r + pg_temp.ref_forecast(one, 'sba', 0.1, 0.1); END LOOP;
		INSERT INTO timing VALUES ('in memory: plpgsql', 1000 * extract(epoch FROM clock_timestamp() - t0));
	END LOOP;
END $$;
WITH b AS (SELECT variant, min(ms) AS ms FROM timing GROUP BY variant),
     s AS (SELECT * FROM (VALUES (1, 'pglz (default)', 'series'), (2, 'lz4', 'series_lz4'), (3, 'uncompressed', 'series_plain')) v(o, storage, tab))
SELECT s.storage AS "stored series",
       round(r.ms::numeric, 1) AS read_only_ms, round(c.ms::numeric, 1) AS c_ms, round(p.ms::numeric, 1) AS plpgsql_ms,
       round((p.ms / c.ms)::numeric, 1) AS "C speed-up (target >= 20x)",
       round(((p.ms - r.ms) / greatest(c.ms - r.ms, 0.001))::numeric, 1) AS "net of reading the arrays"
  FROM s JOIN b r ON r.variant = s.tab || ': read only' JOIN b c ON c.variant = s.tab || ': c'
  JOIN b p ON p.variant = s.tab || ': plpgsql'
 ORDER BY s.o;
SELECT round(((SELECT min(ms) FROM timing WHERE variant = 'in memory: plpgsql') / (SELECT min(ms) FROM timing WHERE variant = 'in memory: c'))::numeric, 1)
         AS "in memory, as stock_forecast calls it",
       round(((SELECT min(ms) FROM timing WHERE variant = 'in memory: plpgsql') - (SELECT min(ms) FROM timing WHERE variant = 'in memory: loop only'))::numeric
             / greatest((SELECT min(ms) FROM timing WHERE variant = 'in memory: c') - (SELECT min(ms) FROM timing WHERE variant = 'in memory: loop only'), 0.001)::numeric, 1)
         AS "in memory, as stock_forecast calls it (net of the loop)";

-- one line per figure for the summary table of test/bench/run.sh
\pset format unaligned
\pset tuples_only on
WITH b AS (SELECT variant, min(ms) AS ms FROM timing GROUP BY variant),
     s AS (SELECT * FROM (VALUES (1, 'uncompressed', 'series_plain'), (2, 'lz4', 'series_lz4'), (3, 'pglz (default)', 'series')) v(o, storage, tab))
SELECT format('SUMMARY|parts|forecast_demand() vs PL/pgSQL, 10,000 stored series of 365 days, %s|%sx|>= 20x|%s',
              s.storage, round((p.ms / c.ms)::numeric, 1), CASE WHEN p.ms / c.ms >= 20 THEN 'yes' ELSE 'NO' END)
  FROM s JOIN b c ON c.variant = s.tab || ': c' JOIN b p ON p.variant = s.tab || ': plpgsql'
 ORDER BY s.o;
\pset format aligned
\pset tuples_only off

\echo '== 2. stock_forecast over' :parts 'parts x' :centers 'centers with a year of ledger'
INSERT INTO service_center (name, lat, lon)
SELECT 'bench center ' || i, 31 + i * 0.05, 121 + i * 0.05 FROM generate_series(1, :centers) i;
INSERT INTO part (sku, name, unit_cost, unit_price, lead_time_days, min_stock)
SELECT 'B-' || lpad(i::text, 5, '0'), 'bench part ' || i, 10, 25, 3 + i % 20, i % 7 FROM generate_series(1, :parts) i;
\timing on
-- a receipt per (part, center) a year ago, then intermittent issues (about 1 day in 12)
INSERT INTO stock_movement (sku, service_center_id, kind, qty, unit_cost, at)
SELECT p.sku, c.id, 'receipt', 400, 10, now() - interval '366 days'
  FROM part p CROSS JOIN service_center c WHERE p.sku LIKE 'B-%' AND c.name LIKE 'bench center %';
INSERT INTO stock_movement (sku, service_center_id, kind, qty, unit_cost, at)
SELECT p.sku, c.id, 'issue', -(1 + (random() * 2)::int), 10, now() - (d || ' days')::interval
  FROM part p CROSS JOIN service_center c CROSS JOIN generate_series(1, 365) d
 WHERE p.sku LIKE 'B-%' AND c.name LIKE 'bench center %' AND random() < 0.085;
\timing off
ANALYZE stock_movement; ANALYZE stock;
SELECT count(*) AS ledger_rows, (SELECT count(*) FROM stock) AS stock_rows FROM stock_movement;
\timing on
SELECT alert, count(*) AS rows, round(avg(daily_rate)::numeric, 4) AS avg_daily_rate
  FROM stock_forecast GROUP BY alert ORDER BY alert;
\timing off
\echo 'plan of one part at one center (the access path of every row):'
EXPLAIN (COSTS OFF)
SELECT * FROM stock_forecast WHERE sku = 'B-00001' AND service_center_id = (SELECT min(id) FROM service_center WHERE name LIKE 'bench center %');
EXPLAIN (COSTS OFF) SELECT daily_issues('B-00001', 1, 365);
EXPLAIN (COSTS OFF)
SELECT (m.at AT TIME ZONE current_setting('TimeZone'))::date, sum(-m.qty) FROM stock_movement m
 WHERE m.sku = 'B-00001' AND m.service_center_id = 1 AND m.kind = 'issue' AND m.at >= current_date - 365 AND m.at < current_date
 GROUP BY 1;
