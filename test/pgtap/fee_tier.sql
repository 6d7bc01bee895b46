-- pgTAP: properties of fee_tier over generated schedules and quantities.
BEGIN;
SELECT plan(8);
SET LOCAL search_path = repairsys, public;
SELECT setseed(0.31);

-- 400 random schedules: 1 to 6 tiers, random rates, optional base/min/max/volume
CREATE TEMP TABLE sched AS
SELECT i,
       (CASE WHEN random() < 0.5 THEN 'base=' || round((random() * 100)::numeric, 2) || ', ' ELSE '' END
        || (SELECT string_agg(CASE WHEN k < n THEN b[k] || '-' || b[k + 1] ELSE b[k] || '+' END
                              || ':' || round((random() * 5)::numeric, 4), ', ' ORDER BY k)
              FROM generate_series(1, n) AS k)
        || CASE WHEN random() < 0.3 THEN ', min=' || round((random() * 50)::numeric, 2) ELSE '' END
        || CASE WHEN random() < 0.3 THEN ', max=' || round((100 + random() * 500)::numeric, 2) ELSE '' END
        || CASE WHEN random() < 0.4 THEN ', volume' ELSE '' END)::repairsys.fee_tier AS f
  FROM (SELECT i, n, ARRAY(SELECT round(x::numeric, 3) FROM (
                SELECT 0 AS x UNION SELECT DISTINCT round((random() * 300)::numeric, 3)
                  FROM generate_series(1, 10) WHERE i > 0) s ORDER BY 1 LIMIT n) AS b
          FROM (SELECT i, 1 + (random() * 5)::int AS n FROM generate_series(1, 400) AS i) g) t;
CREATE TEMP TABLE qty AS SELECT round((random() * 400)::numeric, 4) AS q FROM generate_series(1, 25);
INSERT INTO qty VALUES (0), (60), (60.0005), (59.9995);

SELECT is((SELECT count(*)::int FROM sched), 400, '400 random schedules parse');
SELECT is_empty($$
	SELECT s.i, q.q FROM sched s CROSS JOIN qty q
	 WHERE repairsys.charge(s.f, q.q) IS DISTINCT FROM
	       (SELECT coalesce(sum(amount), 0) FROM repairsys.charge_lines(s.f, q.q))
$$, 'the lines always sum exactly to charge() (11,600 cases)');
SELECT is_empty($$
	SELECT s.i FROM sched s WHERE s.f::text::repairsys.fee_tier <> s.f OR s.f::text::repairsys.fee_tier::text <> s.f::text
$$, 'text output is canonical and reads back as the same value');
SELECT is_empty($$
	SELECT s.i, q.q FROM sched s CROSS JOIN qty q
	 WHERE repairsys.charge(s.f, q.q) <> repairsys.charge(s.f, round(q.q, 3))
$$, 'the quantity is rounded to 3 decimals before pricing');
SELECT is_empty($$
	SELECT s.i, a.q FROM sched s, qty a, qty b
	 WHERE a.q < b.q AND s.f::text NOT LIKE '%volume%'
	   AND repairsys.charge(s.f, a.q) > repairsys.charge(s.f, b.q)
	 LIMIT 1
$$, 'graduated charges never decrease with the quantity');
SELECT is_empty($$
	SELECT s.i, q.q FROM sched s CROSS JOIN qty q
	 WHERE (s.f::text ~ 'min=' AND repairsys.charge(s.f, q.q) < substring(s.f::text from 'min=([0-9.]+)')::numeric)
	    OR (s.f::text ~ 'max=' AND repairsys.charge(s.f, q.q) > substring(s.f::text from 'max=([0-9.]+)')::numeric)
$$, 'charges stay within min and max');
SELECT is((SELECT count(DISTINCT f)::int FROM (SELECT f FROM sched UNION ALL SELECT f FROM sched) u),
          (SELECT count(DISTINCT f::text)::int FROM sched), 'DISTINCT agrees with the canonical text');
SELECT is_empty($$
	SELECT 1 FROM repairsys.charge_lines('base=50, 0-60:2.00, 60-180:1.50, 180+:1.20, min=80', 240) l
	 WHERE l.kind = 'tier' AND l.amount <> round(l.quantity * l.rate, 2)
$$, 'each tier line is its quantity times its rate, rounded to cents');

SELECT * FROM finish();
ROLLBACK;
