-- Helpers of test/bench/scale.sh (sourced into its session with psql -f):
-- the median execution time of a query (EXPLAIN ANALYZE, so that every column
-- of the view is computed and nothing is sent), and the BI query of each
-- report view for one month and one center.
SET client_min_messages = warning;
-- median of n runs, in ms, of the query q
CREATE FUNCTION pg_temp.median_ms(q text, n integer DEFAULT 5) RETURNS numeric LANGUAGE plpgsql AS $$
DECLARE
	plan json;
	t numeric[] := '{}';
BEGIN
	FOR i IN 1..n LOOP
		EXECUTE 'EXPLAIN (ANALYZE, TIMING OFF, FORMAT JSON) ' || q INTO plan;
		t := t || ((plan -> 0 ->> 'Execution Time')::numeric);
	END LOOP;
	RETURN (SELECT round(percentile_cont(0.5) WITHIN GROUP (ORDER BY x)::numeric, 2) FROM unnest(t) x);
END
$$;
-- the BI query of each report view that exists: month and center where the
-- view has both, the center where it has one, else the tickets opened in the
-- month at the center (per-ticket views)
CREATE FUNCTION pg_temp.bi_queries(month date, center bigint) RETURNS TABLE (view text, query text) LANGUAGE sql AS $$
	WITH q AS (
	SELECT v.v AS view,
	       CASE WHEN bool_or(c.column_name = 'month') AND bool_or(c.column_name = 'service_center_id')
	            THEN format('SELECT * FROM repairsys.%I WHERE month = %L AND service_center_id = %s', v.v, month, center)
	            WHEN bool_or(c.column_name = 'service_center_id')
	            THEN format('SELECT * FROM repairsys.%I WHERE service_center_id = %s', v.v, center)
	            WHEN bool_or(c.column_name = 'ticket_id')
	            THEN format('SELECT * FROM repairsys.%I WHERE ticket_id IN (SELECT t.id FROM repairsys.ticket t WHERE t.service_center_id = %s'
	                        ' AND t.opened_at >= %L::date AND t.opened_at < %L::date + interval ''1 month'')', v.v, center, month, month)
	            ELSE format('SELECT * FROM repairsys.%I', v.v) END AS query, v.o
	  FROM unnest(ARRAY['service_benefit', 'budget_status', 'reputation', 'overhead_allocation', 'ticket_cost',
	                    'technician_performance', 'customer_profile', 'bill_summary', 'billing_audit', 'recall_progress',
	                    'sla_status', 'stuck_tickets', 'follow_up_due']) WITH ORDINALITY AS v(v, o)
	  JOIN information_schema.columns c ON c.table_schema = 'repairsys' AND c.table_name = v.v
	 GROUP BY v.v, v.o)
	SELECT x.view, x.query
	  FROM (SELECT q.view, q.query, q.o FROM q
	        UNION ALL
	        -- the audit's query again, with JIT off, as docs/billing.md "The
	        -- audit" advises (test/bench/scale.sh runs a view named *_jit_off
	        -- with jit = off)
	        SELECT 'billing_audit_jit_off', q.query, 100 FROM q WHERE q.view = 'billing_audit') x
	 ORDER BY x.o
$$;
