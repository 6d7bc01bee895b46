-- The BI query of customer_profile (one center's customers) through the
-- roll-up and through the definition it had before (issue 22: every
-- customer's assets, tickets, feedback and payments aggregated when read,
-- and churn_risk(c.id, now())), side by side in one session: the roll-up's
-- the median of 3 runs, the old definition's one run (it takes tens of
-- seconds at 200,000 tickets), each an EXPLAIN ANALYZE, TIMING OFF (every
-- column computed, nothing sent), with JIT as the server has it and off.  Run by test/bench/customer_profile.sh
-- on a demo company (or by hand: psql -d DB -f test/bench/customer_profile.sql).
SET client_min_messages = warning;
\i test/bench/scale.sql
-- the definition before the roll-up, test-only
CREATE TEMP VIEW old_customer_profile AS
SELECT c.id AS customer_id,
       c.name,
       c.phone,
       c.service_center_id,
       coalesce(a.assets, 0)::integer AS assets,
       coalesce(a.purchase_total, 0)::numeric(14,2) AS purchase_total,
       coalesce(k.tickets, 0)::integer AS tickets,
       coalesce(k.repairs, 0)::integer AS repairs,
       coalesce(p.total_spent, 0)::numeric(14,2) AS total_spent,
       round(k.avg_rating, 2) AS avg_rating,
       coalesce(k.complaints, 0)::integer AS complaints,
       k.last_ticket_at,
       CASE WHEN k.recent_complaints > 0
                 OR k.avg_rating < repairsys.setting_value('segment_at_risk_rating')::numeric THEN 'at_risk'
            WHEN coalesce(a.purchase_total, 0) + coalesce(p.total_spent, 0)
                 >= repairsys.setting_value('segment_high_value_total')::numeric THEN 'high_value'
            WHEN coalesce(k.recent_tickets, 0) >= repairsys.setting_value('segment_frequent_repairs')::integer THEN 'frequent_repair'
            ELSE 'regular' END AS segment,
       round(repairsys.churn_risk(c.id, now())::numeric, 4) AS churn_risk
  FROM repairsys.customer c
  LEFT JOIN LATERAL (
	SELECT count(*) AS assets, sum(x.purchase_price) AS purchase_total
	  FROM repairsys.asset x WHERE x.customer_id = c.id
  ) a ON true
  LEFT JOIN LATERAL (
	SELECT count(*) AS tickets,
	       count(*) FILTER (WHERE t.resolved_at IS NOT NULL) AS repairs,
	       avg(fb.rating) AS avg_rating,
	       count(*) FILTER (WHERE fb.complaint) AS complaints,
	       count(*) FILTER (WHERE fb.complaint AND fb.at >= now() - repairsys.setting_value('segment_at_risk_window')::interval) AS recent_complaints,
	       count(*) FILTER (WHERE t.opened_at >= now() - repairsys.setting_value('segment_frequent_window')::interval) AS recent_tickets,
	       max(t.opened_at) AS last_ticket_at
	  FROM repairsys.ticket t
	  LEFT JOIN repairsys.feedback fb ON fb.ticket_id = t.id
	 WHERE t.customer_id = c.id AND t.status_role <> 'cancelled'
  ) k ON true
  LEFT JOIN LATERAL (
	SELECT sum(pm.amount) AS total_spent
	  FROM repairsys.ticket t
	  JOIN repairsys.invoice i ON i.ticket_id = t.id
	  JOIN repairsys.payment pm ON pm.invoice_id = i.id
	 WHERE t.customer_id = c.id
  ) p ON true;
SELECT (SELECT count(*) FROM repairsys.ticket) AS tickets, (SELECT count(*) FROM repairsys.customer) AS customers,
       (SELECT count(*) FROM repairsys.customer WHERE service_center_id = 1) AS center_customers,
       (SELECT count(*) FROM repairsys.churn_model) AS churn_model;
SELECT 'jit ' || current_setting('jit') AS setting, pg_temp.median_ms('SELECT * FROM repairsys.customer_profile WHERE service_center_id = 1', 3) AS rollup_ms,
       pg_temp.median_ms('SELECT * FROM old_customer_profile WHERE service_center_id = 1', 1) AS before_ms;
SET jit = off;
SELECT 'jit off' AS setting, pg_temp.median_ms('SELECT * FROM repairsys.customer_profile WHERE service_center_id = 1', 3) AS rollup_ms,
       pg_temp.median_ms('SELECT * FROM old_customer_profile WHERE service_center_id = 1', 1) AS before_ms;
-- the columns that need no per-customer read (no segment, no churn risk)
SELECT 'jit off, figures only' AS setting,
       pg_temp.median_ms('SELECT customer_id, name, phone, service_center_id, assets, purchase_total, tickets, repairs, total_spent, avg_rating, complaints, last_ticket_at FROM repairsys.customer_profile WHERE service_center_id = 1', 3) AS rollup_ms,
       pg_temp.median_ms('SELECT customer_id, name, phone, service_center_id, assets, purchase_total, tickets, repairs, total_spent, avg_rating, complaints, last_ticket_at FROM old_customer_profile WHERE service_center_id = 1', 1) AS before_ms;
-- the same rows
SELECT count(*) AS rows_compared, count(*) FILTER (WHERE o::text IS DISTINCT FROM n::text) AS rows_differing
  FROM (SELECT * FROM old_customer_profile WHERE service_center_id = 1) o
  FULL JOIN (SELECT * FROM repairsys.customer_profile WHERE service_center_id = 1) n ON n.customer_id = o.customer_id;
