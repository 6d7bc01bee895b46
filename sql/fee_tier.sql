-- fee_tier: text I/O, canonical form, errors, charges, bill lines.
-- (pinned, so that no output depends on the server's or the client's defaults)
SET TimeZone = 'America/Los_Angeles';
SET DateStyle = 'Postgres, MDY';
SET IntervalStyle = 'postgres';
\set SHOW_CONTEXT never
SET search_path = repairsys, public;

-- canonical output: amounts with 2 decimals, rates 2 to 4, bounds without trailing zeros
SELECT 'base=50, 0-60:2, 60-180:1.5, 180+:1.2, min=80'::fee_tier;
SELECT '  BASE = 50.00 ,0 - 60.000 : 2.0000,60.0-180:1.50,  180+:1.2000 , MIN=80.0 '::fee_tier;
SELECT '0+:1.2345'::fee_tier, '0-0.5:1.234, 0.5+:0'::fee_tier, '0-12.125:1, 12.125+:0.5'::fee_tier;
SELECT 'base=0, 0+:1'::fee_tier AS base_zero_omitted, '0+:1, min=0'::fee_tier AS min_zero_kept;
SELECT 'volume, max=500, 0-10:3, 10+:2, min=20, base=5'::fee_tier AS keywords_in_any_order;
SELECT '0+:1, graduated'::fee_tier AS graduated_is_default;
-- stable round trip: text -> value -> text -> value
SELECT v::text = v::text::fee_tier::text AS stable, v = v::text::fee_tier AS same
  FROM (VALUES ('base=50, 0-60:2.00, 60-180:1.50, 180+:1.20, min=80.00'::fee_tier),
               ('0-0.001:9999.9999, 0.001+:0.0001, volume'::fee_tier)) AS t(v);

-- every kind of bad input: 22P02 with what is wrong
SELECT ''::fee_tier;
SELECT '   '::fee_tier;
SELECT 'base=10'::fee_tier;
SELECT 'min=10, max=20'::fee_tier;
SELECT '0-60:2, 70+:1'::fee_tier;
SELECT '0-60:2, 50+:1'::fee_tier;
SELECT '0-60:2, 60-60:1, 60+:1'::fee_tier;
SELECT '0-60:2, 60-30:1, 30+:1'::fee_tier;
SELECT '10-60:2, 60+:1'::fee_tier;
SELECT '0-60:2'::fee_tier;
SELECT '0-60:2, 60-100:1'::fee_tier;
SELECT '0+:2, 60-100:1'::fee_tier;
SELECT (SELECT string_agg(i || '-' || (i + 1) || ':1', ', ') FROM generate_series(0, 32) i) || ', 33+:1' AS too_many \gset
SELECT :'too_many'::fee_tier;
SELECT (SELECT string_agg(i || '-' || (i + 1) || ':1', ', ') FROM generate_series(0, 30) i) || ', 31+:1' AS max_tiers \gset
SELECT array_length(regexp_split_to_array(:'max_tiers'::fee_tier::text, ','), 1) AS tiers_32_accepted;
SELECT '0-1.2345:1, 1.2345+:1'::fee_tier;
SELECT '0+:1.23456'::fee_tier;
SELECT 'base=1.234, 0+:1'::fee_tier;
SELECT '0+:-1'::fee_tier;
SELECT 'base=-5, 0+:1'::fee_tier;
SELECT '-5-0:1, 0+:1'::fee_tier;
SELECT '0+:1, cap=5'::fee_tier;
SELECT '0+:1, base=1, base=2'::fee_tier;
SELECT '0+:1, min=1, min=2'::fee_tier;
SELECT '0+:1, max=1, max=2'::fee_tier;
SELECT '0+:1, volume, graduated'::fee_tier;
SELECT '0+:1, min=50, max=40'::fee_tier;
SELECT '0+:1 extra'::fee_tier;
SELECT '0+:1;'::fee_tier;
SELECT '0+:1,'::fee_tier;
SELECT '0+:1,,volume'::fee_tier;
SELECT '0+:１'::fee_tier;
SELECT '０+:1'::fee_tier;
SELECT 'é'::fee_tier;
SELECT '#0+:1'::fee_tier;
SELECT '0+:1e3'::fee_tier;
SELECT '0+:.5'::fee_tier;
SELECT '0+:1.'::fee_tier;
SELECT '0 60:1'::fee_tier;
SELECT '0-60 2, 60+:1'::fee_tier;
SELECT 'base 5, 0+:1'::fee_tier;
-- out of range: 22003
SELECT '0+:1000000000'::fee_tier;
SELECT 'base=1000000000000, 0+:1'::fee_tier;
SELECT '0-1000000000000:1, 1000000000000+:1'::fee_tier;
SELECT '0-99999999999999999999999:1, 99999999999999999999999+:1'::fee_tier;
\echo :LAST_ERROR_SQLSTATE

-- the example of DESIGN.md, graduated: each slice at its own tier's rate
SELECT q, charge('base=50, 0-60:2.00, 60-180:1.50, 180+:1.20, min=80'::fee_tier, q)
  FROM unnest(ARRAY[0, 10, 15, 59.999, 60, 60.001, 90, 179.999, 180, 180.001, 240]::numeric[]) AS q;
-- and its lines
SELECT * FROM charge_lines('base=50, 0-60:2.00, 60-180:1.50, 180+:1.20, min=80'::fee_tier, 240);
SELECT * FROM charge_lines('base=50, 0-60:2.00, 60-180:1.50, 180+:1.20, min=80'::fee_tier, 10);
SELECT * FROM charge_lines('base=50, 0-60:2.00, 60-180:1.50, 180+:1.20, min=80'::fee_tier, 0);
-- volume: the whole quantity at the rate of the tier it falls in; 60 falls in 0-60
SELECT q, charge('0-60:2.00, 60-180:1.50, 180+:1.20, volume'::fee_tier, q)
  FROM unnest(ARRAY[0, 1, 59.999, 60, 60.001, 179.999, 180, 180.001, 1000]::numeric[]) AS q;
SELECT * FROM charge_lines('0-60:2.00, 60-180:1.50, 180+:1.20, volume'::fee_tier, 120);
-- maximum: a negative adjustment line
SELECT * FROM charge_lines('0-10:0, 10+:2.50, max=30'::fee_tier, 25.5);
SELECT charge('0-10:0, 10+:2.50, max=30'::fee_tier, 5) AS free_first_10_km;
-- rounding: the quantity to 3 decimals half away from zero, each slice to cents half away from zero
SELECT charge('0+:1'::fee_tier, 1.0004) AS q_down, charge('0+:1'::fee_tier, 1.0005) AS q_up;
SELECT charge('0+:0.0001'::fee_tier, 50) AS half_cent_up, charge('0+:0.0001'::fee_tier, 49.999) AS below_half;
SELECT * FROM charge_lines('0-0.5:0.015, 0.5+:0.015'::fee_tier, 1);
-- the largest charges before overflow and the first past it
SELECT charge('0+:1'::fee_tier, 999999999999.99) AS largest;
SELECT charge('0+:1'::fee_tier, 999999999999.995);
SELECT charge('base=999999999999.99, 0+:0.01'::fee_tier, 0.4) AS base_at_limit;
SELECT charge('base=999999999999.99, 0+:0.01'::fee_tier, 0.5);
SELECT charge('0+:999999999.9999'::fee_tier, 1000);
SELECT charge('0+:0'::fee_tier, 999999999999.9994) AS largest_quantity;
SELECT charge('0+:0'::fee_tier, 999999999999.9995);
-- invalid quantities: 22023
SELECT charge('0+:1'::fee_tier, -0.001);
\echo :LAST_ERROR_SQLSTATE
SELECT charge('0+:1'::fee_tier, 'NaN');
SELECT * FROM charge_lines('0+:1'::fee_tier, -1);
SELECT charge('0+:1'::fee_tier, -0.0004) AS rounds_to_zero_but_negative;
SELECT charge(NULL, 1) IS NULL AS strict;

-- operators, ordering, hashing: GROUP BY, DISTINCT, UNIQUE, hash join
SELECT '0+:1'::fee_tier = '0+:1.00'::fee_tier AS eq, '0+:1'::fee_tier <> '0+:1, volume'::fee_tier AS ne,
       '0+:1'::fee_tier < '0+:2'::fee_tier AS lt, '0-5:1, 5+:1'::fee_tier > '0+:9'::fee_tier AS gt;
CREATE TEMP TABLE ft (f fee_tier);
INSERT INTO ft VALUES ('0+:1'), ('0+:1.00'), ('0+:2'), ('0+:1, volume'), ('base=1, 0+:1');
SELECT f, count(*) FROM ft GROUP BY f ORDER BY f;
SELECT count(DISTINCT f) AS distinct_values FROM ft;
SET enable_mergejoin = off; SET enable_nestloop = off;
EXPLAIN (COSTS OFF) SELECT count(*) FROM ft a JOIN ft b ON a.f = b.f;
SELECT count(*) AS hash_join_pairs FROM ft a JOIN ft b ON a.f = b.f;
RESET enable_mergejoin; RESET enable_nestloop;
CREATE UNIQUE INDEX ON ft (f);
CREATE INDEX ft_hash ON ft USING hash (f);
DELETE FROM ft WHERE f = '0+:1' AND ctid <> (SELECT min(ctid) FROM ft WHERE f = '0+:1');
CREATE UNIQUE INDEX ft_unique ON ft (f);
INSERT INTO ft VALUES ('0+:2.0000');
DROP TABLE ft;
