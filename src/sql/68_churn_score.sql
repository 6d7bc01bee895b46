-- Churn risk, the scoring half (DESIGN.md section 18, docs/reports.md): the
-- features of a customer as of a time, and the probability the fitted model
-- (churn_model) gives them.  Here, before 70_reports.sql, because
-- customer_profile.churn_risk calls repairsys.churn_risk(); the fit,
-- refit_churn_model(), is in 73_models.sql with the diagnosis functions.

CREATE FUNCTION repairsys.logistic_predict(coefficients float8[], x float8[])
RETURNS float8
AS 'MODULE_PATHNAME', 'rs_logistic_predict' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION repairsys.logistic_predict(float8[], float8[]) IS 'Logistic regression: 1 / (1 + exp(-(coefficients[1] + sum coefficients[j+1] * x[j]))); the first coefficient is the intercept (22023 on a length mismatch, NULL or non-finite elements)';

-- The features of churn_model.features, in that order.  Over the customer's
-- tickets opened at or before as_of (cancelled ones left out); NULL when
-- there is none (no history: no risk is estimated).
CREATE FUNCTION repairsys.churn_features(customer_id bigint, as_of timestamptz)
RETURNS float8[]
LANGUAGE sql STABLE
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
	SELECT CASE WHEN count(*) = 0 THEN NULL ELSE ARRAY[
	       -- recency: days since the latest ticket was opened
	       extract(epoch FROM $2 - max(t.opened_at)) / 86400,
	       -- frequency: tickets opened within segment_frequent_window
	       count(*) FILTER (WHERE t.opened_at > $2 - repairsys.setting_value('segment_frequent_window')::interval),
	       -- average rating given (NULL: never rated)
	       avg(fb.rating) FILTER (WHERE fb.at <= $2),
	       -- complaints filed
	       count(*) FILTER (WHERE fb.complaint AND fb.at <= $2),
	       -- repeat repairs: same asset and service type within rework_window of a resolution
	       count(*) FILTER (WHERE EXISTS (
	            SELECT 1 FROM repairsys.ticket r
	             WHERE r.asset_id = t.asset_id AND r.service_type = t.service_type AND r.id <> t.id
	               AND r.resolved_at < t.opened_at
	               AND t.opened_at <= r.resolved_at + repairsys.setting_value('rework_window')::interval)),
	       -- unresolved at as_of
	       count(*) FILTER (WHERE t.resolved_at IS NULL OR t.resolved_at > $2)
	       ]::float8[] END
	  FROM repairsys.ticket t
	  LEFT JOIN repairsys.feedback fb ON fb.ticket_id = t.id
	 WHERE t.customer_id = $1 AND t.opened_at <= $2 AND t.status_role <> 'cancelled'
$$;
COMMENT ON FUNCTION repairsys.churn_features(bigint, timestamptz) IS 'Churn features of a customer as of a time: recency_days, tickets within segment_frequent_window, avg_rating (NULL: never rated), complaints, repeat repairs (within rework_window), unresolved tickets; NULL when the customer had no ticket by then';

CREATE FUNCTION repairsys.churn_risk(customer_id bigint, as_of timestamptz DEFAULT now())
RETURNS float8
LANGUAGE sql STABLE
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
	SELECT repairsys.logistic_predict(m.coefficients,
	           ARRAY(SELECT (coalesce(f.x[i], m.means[i]) - m.means[i]) / m.scales[i]
	                   FROM generate_subscripts(m.means, 1) i ORDER BY i))
	  FROM repairsys.churn_model m,
	       -- (OFFSET 0: the features are computed once, not once per use)
	       (SELECT repairsys.churn_features($1, $2) AS x OFFSET 0) f
	 WHERE f.x IS NOT NULL
$$;
COMMENT ON FUNCTION repairsys.churn_risk(bigint, timestamptz) IS 'Probability (0..1) the fitted churn model (refit_churn_model) gives that the customer opens no ticket within its horizon after as_of; NULL without a model or without history';
