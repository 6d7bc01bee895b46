-- What customer_profile (70_reports.sql) computes when read, per customer,
-- beside its roll-up row (customer_rollup, 27c_tables_customer_rollup.sql;
-- docs/reports.md "Customer profile"): the figures that depend on now() and
-- cannot be read from the row (the churn features, and the tickets within
-- segment_frequent_window for a segment_frequent_repairs above
-- customer_recent_depth()).
-- Each reads only the customer's own tickets, through ticket_customer_idx
-- (customer_id, opened_at), and the view calls them only for the customers
-- whose row says there may be something to find.  Functions, not subqueries
-- of the view: the planner then does not charge every row of a center's
-- profile with their cost (which made it compile the whole query with JIT)
-- and does not compute the churn features for a query that does not select
-- churn_risk.

-- The customer's tickets (not cancelled) opened since an instant (at it
-- too when inclusive).
CREATE FUNCTION repairsys.customer_recent_tickets(customer bigint, since timestamptz, inclusive boolean)
RETURNS bigint
LANGUAGE sql STABLE
BEGIN ATOMIC
	SELECT count(*) FROM repairsys.ticket t
	 WHERE t.customer_id = customer_recent_tickets.customer AND t.opened_at >= customer_recent_tickets.since
	   AND (customer_recent_tickets.inclusive OR t.opened_at > customer_recent_tickets.since) AND t.status_role <> 'cancelled';
END;
COMMENT ON FUNCTION repairsys.customer_recent_tickets(bigint, timestamptz, boolean) IS 'customer_profile: the customer''s tickets (not cancelled) opened after an instant (or at it, when inclusive), through ticket_customer_idx';

-- repairsys.churn_risk(customer, as_of) for a customer whose history has
-- nothing later than as_of, from its roll-up figures: recency from the
-- latest opening, frequency and repeat repairs from its tickets, the average
-- rating, the complaints and the unresolved tickets (tickets - repairs) from
-- the row; standardized and scored as churn_risk() does (the model has the
-- six features of churn_features(), refit_churn_model() fits no other).
-- NULL without a model.
CREATE FUNCTION repairsys.customer_churn_risk(customer bigint, as_of timestamptz, last_ticket_at timestamptz, unresolved integer,
                                              avg_rating numeric, complaints integer, frequent_window interval,
                                              rework_window interval)
RETURNS float8
LANGUAGE sql STABLE
BEGIN ATOMIC
	SELECT repairsys.logistic_predict(m.coefficients, ARRAY[
	           (coalesce(f.x[1], m.means[1]) - m.means[1]) / m.scales[1],
	           (coalesce(f.x[2], m.means[2]) - m.means[2]) / m.scales[2],
	           (coalesce(f.x[3], m.means[3]) - m.means[3]) / m.scales[3],
	           (coalesce(f.x[4], m.means[4]) - m.means[4]) / m.scales[4],
	           (coalesce(f.x[5], m.means[5]) - m.means[5]) / m.scales[5],
	           (coalesce(f.x[6], m.means[6]) - m.means[6]) / m.scales[6]])
	  FROM repairsys.churn_model m,
	       -- (OFFSET 0: the features are computed once, not once per use)
	       (SELECT ARRAY[extract(epoch FROM customer_churn_risk.as_of - customer_churn_risk.last_ticket_at) / 86400,
	                     CASE WHEN customer_churn_risk.last_ticket_at > customer_churn_risk.as_of - customer_churn_risk.frequent_window
	                          THEN (SELECT count(*) FROM repairsys.ticket t
	                                 WHERE t.customer_id = customer_churn_risk.customer
	                                   AND t.opened_at > customer_churn_risk.as_of - customer_churn_risk.frequent_window
	                                   AND t.status_role <> 'cancelled') ELSE 0 END,
	                     customer_churn_risk.avg_rating,
	                     customer_churn_risk.complaints,
	                     (SELECT count(*) FROM repairsys.ticket t
	                       WHERE t.customer_id = customer_churn_risk.customer AND t.status_role <> 'cancelled' AND EXISTS (
	                             SELECT 1 FROM repairsys.ticket p
	                              WHERE p.asset_id = t.asset_id AND p.service_type = t.service_type AND p.id <> t.id
	                                AND p.resolved_at < t.opened_at AND t.opened_at <= p.resolved_at + customer_churn_risk.rework_window)),
	                     customer_churn_risk.unresolved]::float8[] AS x
	        OFFSET 0) f;
END;
COMMENT ON FUNCTION repairsys.customer_churn_risk(bigint, timestamptz, timestamptz, integer, numeric, integer, interval, interval) IS 'customer_profile: churn_risk(customer, as_of) from the customer''s roll-up figures (latest opening, unresolved tickets, average rating, complaints) and its tickets (frequency within frequent_window, repeat repairs within rework_window), for a history with nothing later than as_of; NULL without a model';
