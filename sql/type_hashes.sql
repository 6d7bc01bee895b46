-- The hash support of fee_tier and sla_interval (src/fee_tier.c,
-- src/sla_interval.c): function 1, the 32-bit hash, and function 2, the
-- seeded 64-bit hash of hash partitioning.  PostgreSQL's rules: equal values
-- have equal hashes, and with seed 0 the low 32 bits of the 64-bit hash are
-- the 32-bit hash.  No output depends on the platform's hash values.
-- (pinned, so that no output depends on the server's or the client's defaults)
SET TimeZone = 'UTC';
SET DateStyle = 'ISO, YMD';
SET IntervalStyle = 'postgres';
\set SHOW_CONTEXT never
SET search_path = repairsys, public;

-- both operator families have both support functions
SELECT f.opfname, p.amprocnum, p.amproc::regproc
  FROM pg_amproc p JOIN pg_opfamily f ON f.oid = p.amprocfamily
 WHERE f.opfname IN ('fee_tier_hash_ops', 'sla_interval_hash_ops')
 ORDER BY 1, 2;

-- values written differently that are equal, and values that differ
CREATE TEMP TABLE ftv (t text, v fee_tier);
INSERT INTO ftv VALUES
	('a', '0+:1'), ('b', '0+:1.00'), ('c', 'base=0, 0+:1'), ('d', '0+:1, graduated'),
	('e', '0+:2'), ('f', '0+:1, volume'), ('g', 'base=1, 0+:1'), ('h', '0-5:1, 5+:1'),
	('i', 'base=50, 0-60:2, 60-180:1.5, 180+:1.2, min=80'), ('j', '0+:1, min=0'),
	('k', '0+:1, max=10'), ('l', '0-0.001:9999.9999, 0.001+:0.0001, volume');
CREATE TEMP TABLE slav (t text, v sla_interval);
INSERT INTO slav VALUES
	('a', '4h'), ('b', '240min'), ('c', '1d'), ('d', '24h'),
	('e', '8h in mon-fri 09:00-18:00 Asia/Shanghai'), ('f', '8h in Mon-Fri 09:00-18:00 asia/shanghai'),
	('g', '8h in mon-fri 09:00-18:00'), ('h', '8h in mon 09:00-18:00, tue-fri 09:00-18:00'),
	('i', '3h in mon-sun 22:00-06:00'), ('j', '6h in mon-fri 08:00-12:00 13:00-17:00, sat 09:00-12:00 Europe/Berlin');

-- equal values: equal 32-bit hashes and equal 64-bit hashes under every seed
SELECT 'fee_tier' AS type, count(*) AS equal_pairs,
       count(*) FILTER (WHERE fee_tier_hash(a.v) <> fee_tier_hash(b.v)) AS hash_differs,
       count(*) FILTER (WHERE fee_tier_hash_extended(a.v, s) <> fee_tier_hash_extended(b.v, s)) AS hash_extended_differs
  FROM ftv a JOIN ftv b ON a.v = b.v CROSS JOIN (VALUES (0::bigint), (1), (-1), (42), (9223372036854775807)) AS seeds(s)
UNION ALL
SELECT 'sla_interval', count(*),
       count(*) FILTER (WHERE sla_interval_hash(a.v) <> sla_interval_hash(b.v)),
       count(*) FILTER (WHERE sla_interval_hash_extended(a.v, s) <> sla_interval_hash_extended(b.v, s))
  FROM slav a JOIN slav b ON a.v = b.v CROSS JOIN (VALUES (0::bigint), (1), (-1), (42), (9223372036854775807)) AS seeds(s);
-- which pairs of different spellings are equal (the pairs above are these plus each value with itself)
SELECT 'fee_tier' AS type, string_agg(a.t || '=' || b.t, ' ' ORDER BY a.t, b.t) AS equal
  FROM ftv a JOIN ftv b ON a.v = b.v AND a.t < b.t
UNION ALL
SELECT 'sla_interval', string_agg(a.t || '=' || b.t, ' ' ORDER BY a.t, b.t)
  FROM slav a JOIN slav b ON a.v = b.v AND a.t < b.t;

-- seed 0: the low 32 bits are the 32-bit hash; other seeds give other hashes
SELECT 'fee_tier' AS type, count(*) AS n_values,
       count(*) FILTER (WHERE (fee_tier_hash_extended(v, 0) & 4294967295) = (fee_tier_hash(v)::bigint & 4294967295)) AS seed0_low32_equal,
       count(*) FILTER (WHERE fee_tier_hash_extended(v, 1) = fee_tier_hash_extended(v, 0)) AS seed1_same_as_seed0,
       count(*) FILTER (WHERE fee_tier_hash_extended(v, 2) = fee_tier_hash_extended(v, 1)) AS seed2_same_as_seed1,
       count(DISTINCT fee_tier_hash_extended(v, 0)) AS distinct_hashes,
       count(DISTINCT v) AS distinct_values
  FROM ftv
UNION ALL
SELECT 'sla_interval', count(*),
       count(*) FILTER (WHERE (sla_interval_hash_extended(v, 0) & 4294967295) = (sla_interval_hash(v)::bigint & 4294967295)),
       count(*) FILTER (WHERE sla_interval_hash_extended(v, 1) = sla_interval_hash_extended(v, 0)),
       count(*) FILTER (WHERE sla_interval_hash_extended(v, 2) = sla_interval_hash_extended(v, 1)),
       count(DISTINCT sla_interval_hash_extended(v, 0)),
       count(DISTINCT v)
  FROM slav;
SELECT fee_tier_hash_extended(NULL, 0) IS NULL AS strict_value, fee_tier_hash_extended('0+:1', NULL) IS NULL AS strict_seed;

-- a table partitioned by hash on fee_tier: equal values go to one partition,
-- and a lookup by value scans only that partition
CREATE TEMP TABLE ftp (v fee_tier, t text) PARTITION BY HASH (v);
CREATE TEMP TABLE ftp0 PARTITION OF ftp FOR VALUES WITH (MODULUS 3, REMAINDER 0);
CREATE TEMP TABLE ftp1 PARTITION OF ftp FOR VALUES WITH (MODULUS 3, REMAINDER 1);
CREATE TEMP TABLE ftp2 PARTITION OF ftp FOR VALUES WITH (MODULUS 3, REMAINDER 2);
INSERT INTO ftp SELECT v, t FROM ftv;
SELECT count(*) AS n_rows, count(DISTINCT tableoid) > 1 AS spread_over_partitions FROM ftp;
SELECT count(DISTINCT tableoid) AS partitions_of_equal_values, count(*) AS n_rows
  FROM ftp WHERE v = '0+:1';
-- the lines of a query's plan that match a pattern
CREATE FUNCTION pg_temp.plan_lines(q text, pattern text) RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
	l text;
	n integer := 0;
BEGIN
	FOR l IN EXECUTE 'EXPLAIN (COSTS OFF) ' || q LOOP
		IF l ~ pattern THEN
			n := n + 1;
		END IF;
	END LOOP;
	RETURN n;
END
$$;
SELECT pg_temp.plan_lines($q$SELECT * FROM ftp WHERE v = '0+:1.00'$q$, 'Scan on ftp[0-9]') AS partitions_scanned_by_value,
       pg_temp.plan_lines($q$SELECT * FROM ftp$q$, 'Scan on ftp[0-9]') AS partitions_scanned_all_rows;
-- the same on sla_interval
CREATE TEMP TABLE slap (v sla_interval, t text) PARTITION BY HASH (v);
CREATE TEMP TABLE slap0 PARTITION OF slap FOR VALUES WITH (MODULUS 2, REMAINDER 0);
CREATE TEMP TABLE slap1 PARTITION OF slap FOR VALUES WITH (MODULUS 2, REMAINDER 1);
INSERT INTO slap SELECT v, t FROM slav;
SELECT count(*) AS n_rows, count(DISTINCT tableoid) AS partitions_of_4h FROM slap WHERE v = '240min';

-- a hash join and hashed grouping on fee_tier (operator = HASHES)
SET enable_mergejoin = off; SET enable_nestloop = off; SET enable_sort = off;
SELECT pg_temp.plan_lines('SELECT count(*) FROM ftv a JOIN ftp b ON a.v = b.v', 'Hash Join') AS hash_joins;
SELECT count(*) AS hash_join_pairs FROM ftv a JOIN ftp b ON a.v = b.v;
SELECT pg_temp.plan_lines('SELECT v, count(*) FROM ftv GROUP BY v', 'HashAggregate') AS hash_aggregates;
SELECT count(*) AS groups FROM (SELECT v, count(*) FROM ftv GROUP BY v) g;
RESET enable_mergejoin; RESET enable_nestloop; RESET enable_sort;
DROP TABLE ftp, slap, ftv, slav;
