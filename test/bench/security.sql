-- Row-level security cost: each query runs as the role (the policy filters)
-- and as the owner with the equivalent filter written by hand; both are timed
-- in the same run (best of 5 rounds of 20 executions) and the ratio printed.
-- Variables: ntickets, ntech.
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
\echo 'filling' :ntickets 'tickets,' :ntech 'technicians'
INSERT INTO repairsys.service_center (name, lat, lon) VALUES ('bench', 31.2, 121.5);
INSERT INTO repairsys.service_type (code, name, labor_fee) VALUES ('bench', 'bench', '0+:1.00');
INSERT INTO repairsys.technician (name, service_center_id, capacity, db_role)
	SELECT 'tech ' || g, 1, 1000000, 'bench_tech_' || g FROM generate_series(1, :ntech) g;
INSERT INTO repairsys.customer (name, service_center_id, db_role)
	SELECT 'customer ' || g, 1, 'bench_cust_' || g FROM generate_series(1, :ntickets / 10) g;
INSERT INTO repairsys.ticket (customer_id, service_type, description)
	SELECT 1 + g % (:ntickets / 10), 'bench', 'ticket ' || g FROM generate_series(1, :ntickets) g;
UPDATE repairsys.ticket SET technician_id = 1 + id % :ntech, status = 'assigned';
ANALYZE;
DO $$
BEGIN
	IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'bench_tech_1') THEN
		CREATE ROLE bench_tech_1 IN ROLE repairsys_technician;
	END IF;
	IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'bench_cust_1') THEN
		CREATE ROLE bench_cust_1 IN ROLE repairsys_customer;
	END IF;
END
$$;

-- best time in ms of one execution of stmt as role r (NULL: as the owner)
CREATE FUNCTION pg_temp.timed(r name, stmt text) RETURNS numeric LANGUAGE plpgsql AS $$
DECLARE
	best numeric;
	t0 timestamptz;
	ms numeric;
	n bigint;
BEGIN
	IF r IS NOT NULL THEN
		EXECUTE format('SET LOCAL ROLE %I', r);
	END IF;
	FOR round IN 1..5 LOOP
		t0 := clock_timestamp();
		FOR i IN 1..20 LOOP
			EXECUTE stmt INTO n;
		END LOOP;
		ms := extract(epoch FROM clock_timestamp() - t0) * 1000 / 20;
		best := least(best, ms);
	END LOOP;
	RESET ROLE;
	RETURN round(best, 3);
END
$$;

CREATE TEMP TABLE cases (ord int, what text, r name, with_policy text, by_hand text);
INSERT INTO cases VALUES
	(1, 'technician: own tickets', 'bench_tech_1',
	 'SELECT count(*) FROM repairsys.ticket',
	 'SELECT count(*) FROM repairsys.ticket WHERE technician_id = 1'),
	(2, 'technician: history of own tickets', 'bench_tech_1',
	 'SELECT count(*) FROM repairsys.ticket_event',
	 'SELECT count(*) FROM repairsys.ticket_event WHERE ticket_id IN (SELECT id FROM repairsys.ticket WHERE technician_id = 1)'),
	(3, 'technician: one own ticket by id', 'bench_tech_1',
	 'SELECT count(*) FROM repairsys.ticket WHERE id = 100',
	 'SELECT count(*) FROM repairsys.ticket WHERE id = 100 AND technician_id = 1'),
	(4, 'customer: own tickets', 'bench_cust_1',
	 'SELECT count(*) FROM repairsys.ticket',
	 'SELECT count(*) FROM repairsys.ticket WHERE customer_id = 1'),
	(5, 'customer: history of own tickets', 'bench_cust_1',
	 'SELECT count(*) FROM repairsys.ticket_event',
	 'SELECT count(*) FROM repairsys.ticket_event WHERE ticket_id IN (SELECT id FROM repairsys.ticket WHERE customer_id = 1)'),
	(6, 'auditor: every ticket', 'repairsys_auditor',
	 'SELECT count(*) FROM repairsys.ticket',
	 'SELECT count(*) FROM repairsys.ticket');

SELECT ord, what,
       pg_temp.timed(r, with_policy) AS policy_ms,
       pg_temp.timed(NULL, by_hand) AS by_hand_ms
  INTO TEMP results FROM cases ORDER BY ord;
SELECT what, policy_ms, by_hand_ms, round(policy_ms / nullif(by_hand_ms, 0), 2) AS ratio
  FROM results ORDER BY ord;
-- one line for the summary table of test/bench/run.sh
\pset format unaligned
\pset tuples_only on
SELECT format('SUMMARY|security|row-level security vs the same filter by hand, %s queries|%s .. %sx|report|-',
              count(*), round(min(policy_ms / nullif(by_hand_ms, 0))::numeric, 2), round(max(policy_ms / nullif(by_hand_ms, 0))::numeric, 2))
  FROM results;
\pset format aligned
\pset tuples_only off
-- the plans the policies give
SET ROLE bench_tech_1;
EXPLAIN (COSTS OFF) SELECT count(*) FROM repairsys.ticket_event;
RESET ROLE;
DROP ROLE bench_tech_1;
DROP ROLE bench_cust_1;
