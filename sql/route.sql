-- Day routes: repairsys.route_solve (DESIGN.md section 15, docs/routing.md):
-- small instances with hand-checked optimal answers, unservable nodes,
-- determinism, a zero time limit, every bad input with its 22023 message.
-- (pinned, so that no output depends on the server's or the client's defaults)
SET TimeZone = 'America/Los_Angeles';
SET DateStyle = 'Postgres, MDY';
SET IntervalStyle = 'postgres';
SET extra_float_digits = 0;
\set SHOW_CONTEXT never
SET client_min_messages = notice;

-- An independent check of an answer, from the definition: every customer
-- once, routes from the depot back to it, starts in the windows, loads within
-- capacity, the reported times recomputed; returns the distance and vehicles.
CREATE FUNCTION pg_temp.route_check(x float8[], y float8[], demand float8[], ready float8[],
		due float8[], service float8[], vehicles int, capacity float8, time_limit_ms int,
		OUT problems text, OUT distance numeric, OUT routes int, OUT unserved int)
LANGUAGE plpgsql AS $$
DECLARE
	r record;
	prev int;
	t float8;
	arr float8;
	load float8;
	d float8 := 0;
	seen int[] := '{}';
	v int := NULL;
BEGIN
	problems := '';
	routes := 0;
	unserved := 0;
	FOR r IN SELECT * FROM repairsys.route_solve(x, y, demand, ready, due, service, vehicles, capacity, time_limit_ms)
	         ORDER BY vehicle NULLS LAST, seq LOOP
		IF r.node <> 1 THEN
			IF r.node = ANY (seen) THEN problems := problems || format('node %s twice; ', r.node); END IF;
			seen := seen || r.node;
		END IF;
		IF r.vehicle IS NULL THEN
			unserved := unserved + 1;
			CONTINUE;
		END IF;
		IF v IS DISTINCT FROM r.vehicle THEN
			IF r.seq <> 0 OR r.node <> 1 THEN problems := problems || format('vehicle %s does not start at the depot; ', r.vehicle); END IF;
			v := r.vehicle; routes := routes + 1; prev := 1; t := ready[1]; load := 0;
			CONTINUE;
		END IF;
		arr := t + service[prev] + sqrt((x[prev] - x[r.node]) ^ 2 + (y[prev] - y[r.node]) ^ 2);
		d := d + sqrt((x[prev] - x[r.node]) ^ 2 + (y[prev] - y[r.node]) ^ 2);
		t := greatest(arr, ready[r.node]);
		IF t > due[r.node] + 1e-9 THEN problems := problems || format('node %s late; ', r.node); END IF;
		IF abs(arr - r.arrival) > 1e-6 OR abs(t - r.start) > 1e-6 THEN problems := problems || format('node %s times differ; ', r.node); END IF;
		IF r.node <> 1 THEN load := load + demand[r.node]; END IF;
		IF load > capacity THEN problems := problems || format('vehicle %s over capacity; ', r.vehicle); END IF;
		prev := r.node;
	END LOOP;
	IF cardinality(seen) <> cardinality(x) - 1 THEN problems := problems || 'customers missing; '; END IF;
	IF routes > vehicles THEN problems := problems || 'too many routes; '; END IF;
	IF problems = '' THEN problems := 'ok'; END IF;
	distance := round(d::numeric, 4);
END $$;

-- Two customers on a line through the depot: out and back, 5 + 5 + 10
SELECT * FROM repairsys.route_solve('{0,3,6}', '{0,4,8}', '{0,1,1}', '{0,0,0}', '{100,100,100}', '{0,0,0}', 1, 10);

-- The window of B (due 15) forces B before A: 10 + 20 + 10 = 40, waiting at A until 35
SELECT * FROM repairsys.route_solve('{0,0,0}', '{0,10,-10}', '{0,1,1}', '{0,35,0}', '{100,100,15}', '{0,2,3}', 2, 10);

-- Capacity 2 with demands 1, 1, 2, 2 at the corners of a square: the two
-- demand-1 customers share a route (14.14 + 20 + 14.14), the others go alone
-- (28.28 each): 104.85 in all
SELECT * FROM repairsys.route_solve('{0,10,10,-10,-10}', '{0,10,-10,10,-10}', '{0,1,1,2,2}',
	'{0,0,0,0,0}', '{1000,1000,1000,1000,1000}', '{0,0,0,0,0}', 5, 2);

-- Unservable nodes: node 2 cannot be reached by its due time, node 3 weighs
-- more than a vehicle carries, node 4 is fine; a depot window too short for
-- the round trip to node 5
SELECT * FROM repairsys.route_solve('{0,50,1,2,30}', '{0,0,0,0,0}', '{0,1,11,1,1}',
	'{0,0,0,0,0}', '{50,10,50,50,50}', '{0,0,0,0,0}', 3, 10);

-- One vehicle, two customers at the same time far apart: one is left out
-- (the one whose route is shorter is kept)
SELECT * FROM repairsys.route_solve('{0,10,-20}', '{0,0,0}', '{0,1,1}', '{0,20,20}', '{100,20,20}', '{0,0,0}', 1, 10);

-- A single customer
SELECT * FROM repairsys.route_solve('{1,4}', '{1,5}', '{0,3}', '{0,0}', '{20,20}', '{0,1}', 1, 3);

-- A 60-customer instance (deterministic pseudo-random data): feasible by
-- the independent check, the same rows on two calls, and a zero time limit
-- (the construction only) still feasible and not shorter than the search
CREATE TEMP TABLE inst AS
SELECT array_agg(((i * 37) % 101)::float8 ORDER BY i) AS x,
       array_agg(((i * 61) % 97)::float8 ORDER BY i) AS y,
       array_agg(CASE WHEN i = 0 THEN 0 ELSE 1 + (i * 7) % 20 END::float8 ORDER BY i) AS demand,
       array_agg(CASE WHEN i = 0 THEN 0 ELSE (i * 53) % 300 END::float8 ORDER BY i) AS ready,
       array_agg(CASE WHEN i = 0 THEN 1000 ELSE (i * 53) % 300 + 120 END::float8 ORDER BY i) AS due,
       array_agg(CASE WHEN i = 0 THEN 0 ELSE 10 END::float8 ORDER BY i) AS service
  FROM generate_series(0, 60) i;
SELECT c.problems, c.routes, c.unserved, c.distance < z.distance AS search_beats_construction, z.problems AS construction
  FROM inst, pg_temp.route_check(x, y, demand, ready, due, service, 12, 100, 2000) c,
       pg_temp.route_check(x, y, demand, ready, due, service, 12, 100, 0) z;
SELECT count(*) AS rows_in_one_call_only
  FROM ((SELECT * FROM inst, repairsys.route_solve(x, y, demand, ready, due, service, 12, 100, 500)
         EXCEPT ALL SELECT * FROM inst, repairsys.route_solve(x, y, demand, ready, due, service, 12, 100, 500))
        UNION ALL
        (SELECT * FROM inst, repairsys.route_solve(x, y, demand, ready, due, service, 12, 100, 500)
         EXCEPT ALL SELECT * FROM inst, repairsys.route_solve(x, y, demand, ready, due, service, 12, 100, 500))) d;
-- Query cancel reaches the search: a statement timeout stops a long limit
SET statement_timeout = '300ms';
\set ON_ERROR_STOP 0
SELECT count(*) FROM inst, repairsys.route_solve(x, y, demand, ready, due, service, 12, 100, 600000);
\set ON_ERROR_STOP 1
RESET statement_timeout;
-- Too few vehicles: the check still holds, some customers unserved
SELECT c.problems, c.routes, c.unserved > 0 AS some_unserved
  FROM inst, pg_temp.route_check(x, y, demand, ready, due, service, 2, 100, 300) c;

-- Bad input: 22023 with a message saying what is wrong
\set VERBOSITY default
\set ON_ERROR_STOP 0
SELECT * FROM repairsys.route_solve('{0,1}', '{0,1,2}', '{0,1}', '{0,0}', '{9,9}', '{0,0}', 1, 10);
SELECT * FROM repairsys.route_solve('{0,1}', '{0,1}', '{0,1}', '{0,0}', '{9,9}', '{0}', 1, 10);
SELECT * FROM repairsys.route_solve('{0,1}', '{0,NULL}', '{0,1}', '{0,0}', '{9,9}', '{0,0}', 1, 10);
SELECT * FROM repairsys.route_solve('{0,1}', '{0,1}', '{0,-1}', '{0,0}', '{9,9}', '{0,0}', 1, 10);
SELECT * FROM repairsys.route_solve('{0,1}', '{0,1}', '{0,1}', '{0,0}', '{9,9}', '{0,-0.5}', 1, 10);
SELECT * FROM repairsys.route_solve('{0,NaN}', '{0,1}', '{0,1}', '{0,0}', '{9,9}', '{0,0}', 1, 10);
SELECT * FROM repairsys.route_solve('{0,1}', '{0,1}', '{0,1}', '{0,0}', '{9,Infinity}', '{0,0}', 1, 10);
SELECT * FROM repairsys.route_solve('{0,1e10}', '{0,1}', '{0,1}', '{0,0}', '{9,9}', '{0,0}', 1, 10);
SELECT * FROM repairsys.route_solve('{0,1}', '{0,1}', '{0,1}', '{0,10}', '{9,9}', '{0,0}', 1, 10);
SELECT * FROM repairsys.route_solve('{0}', '{0}', '{0}', '{0}', '{9}', '{0}', 1, 10);
SELECT * FROM repairsys.route_solve('{}', '{}', '{}', '{}', '{}', '{}', 1, 10);
SELECT * FROM repairsys.route_solve('{{0,1}}', '{{0,1}}', '{{0,1}}', '{{0,0}}', '{{9,9}}', '{{0,0}}', 1, 10);
SELECT * FROM repairsys.route_solve('{0,1}', '{0,1}', '{0,1}', '{0,0}', '{9,9}', '{0,0}', 0, 10);
SELECT * FROM repairsys.route_solve('{0,1}', '{0,1}', '{0,1}', '{0,0}', '{9,9}', '{0,0}', 1, 0);
SELECT * FROM repairsys.route_solve('{0,1}', '{0,1}', '{0,1}', '{0,0}', '{9,9}', '{0,0}', 1, -2);
SELECT * FROM repairsys.route_solve('{0,1}', '{0,1}', '{0,1}', '{0,0}', '{9,9}', '{0,0}', 1, 'NaN');
SELECT * FROM repairsys.route_solve('{0,1}', '{0,1}', '{0,1}', '{0,0}', '{9,9}', '{0,0}', 1, 10, -1);
SELECT * FROM repairsys.route_solve('{0,1}', '{0,1}', '{0,1}', '{0,0}', '{9,9}', '{0,0}', 1, 10, 600001);
SELECT * FROM repairsys.route_solve(NULL, '{0,1}', '{0,1}', '{0,0}', '{9,9}', '{0,0}', 1, 10);
SELECT * FROM repairsys.route_solve('{0,1}', '{0,1}', NULL, '{0,0}', '{9,9}', '{0,0}', 1, 10);
SELECT * FROM repairsys.route_solve('{0,1}', '{0,1}', '{0,1}', '{0,0}', '{9,9}', '{0,0}', NULL, 10);
SELECT * FROM repairsys.route_solve('{0,1}', '{0,1}', '{0,1}', '{0,0}', '{9,9}', '{0,0}', 1, 10, NULL);
SELECT count(*) FROM repairsys.route_solve(array_fill(0::float8, '{10001}'), array_fill(0::float8, '{10001}'),
	array_fill(0::float8, '{10001}'), array_fill(0::float8, '{10001}'), array_fill(0::float8, '{10001}'),
	array_fill(0::float8, '{10001}'), 1, 10);
\set ON_ERROR_STOP 1
-- negative coordinates are fine (a projection's origin may be anywhere)
SELECT vehicle, seq, node FROM repairsys.route_solve('{-5,-5}', '{-5,-2}', '{0,1}', '{0,0}', '{9,9}', '{0,0}', 1, 10);
