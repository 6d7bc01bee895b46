-- upgrade-fragment-models.sql: what brings a database with repairsys as main
-- is (before issue 21, items 3 and 4) to the state of branch models, for the
-- objects that existed before and changed, and for what the catalog loops of
-- old pieces (85_finite.sql, 90_security.sql) make for the new tables.  For
-- the writer of repairsys--1.1--1.2.sql, in three parts:
--   A. before the new pieces: the fault_code catalog (in 20_tables.sql,
--      before ticket) and ticket.fault_code;
--   then the entirely new pieces, whole and in order: src/sql/27_tables_models.sql,
--      src/sql/68_churn_score.sql, src/sql/73_models.sql;
--   B. after them: customer_profile with its new column churn_risk;
--   C. after them: grants, row-level security and finite checks of the new
--      tables and functions (what 90_security.sql and 85_finite.sql decide).

------------------------------------------------------------------------------
-- A. before 27_tables_models.sql
------------------------------------------------------------------------------
CREATE TABLE repairsys.fault_code (
	code         text PRIMARY KEY CHECK (code ~ '^[a-z0-9][a-z0-9_.-]*$'),
	name         text NOT NULL CHECK (name <> ''),
	service_type text REFERENCES repairsys.service_type ON UPDATE CASCADE ON DELETE SET NULL
);
COMMENT ON TABLE repairsys.fault_code IS 'Catalog of fault codes (故障代码): what a technician may record as found on a ticket (ticket.fault_code)';
COMMENT ON COLUMN repairsys.fault_code.code IS 'Fault code (lower case letters, digits, _ . -)';
COMMENT ON COLUMN repairsys.fault_code.name IS 'Name shown to people';
COMMENT ON COLUMN repairsys.fault_code.service_type IS 'Service type the fault belongs to (NULL: any); suggest_diagnosis(service_type => ...) offers only the codes of that type or of none';

ALTER TABLE repairsys.ticket ADD COLUMN fault_code text REFERENCES repairsys.fault_code ON UPDATE CASCADE;
COMMENT ON COLUMN repairsys.ticket.fault_code IS 'Fault the technician found (fault_code catalog); a ticket resolved with one is learned by suggest_diagnosis()';

------------------------------------------------------------------------------
-- B. after 68_churn_score.sql: customer_profile gains churn_risk at its end
-- (CREATE OR REPLACE VIEW resets the options it is not given, so
-- security_invoker is given again; the grants stay)
------------------------------------------------------------------------------
CREATE OR REPLACE VIEW repairsys.customer_profile WITH (security_invoker = true) AS
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
COMMENT ON COLUMN repairsys.customer_profile.churn_risk IS 'Probability (0..1, 4 places) that the customer opens no ticket within the churn model''s horizon, from the logistic regression refit_churn_model() fitted on the customers'' history (NULL: no model yet, or no ticket)';

------------------------------------------------------------------------------
-- C. after 73_models.sql: what the catalog loops decide for the new objects
------------------------------------------------------------------------------
-- finite numbers and times (85_finite.sql)
ALTER TABLE repairsys.churn_model ADD CONSTRAINT churn_model_fitted_at_finite CHECK (pg_catalog.isfinite(fitted_at));
ALTER TABLE repairsys.churn_model ADD CONSTRAINT churn_model_as_of_finite CHECK (pg_catalog.isfinite(as_of));
ALTER TABLE repairsys.churn_model ADD CONSTRAINT churn_model_horizon_finite CHECK (pg_catalog.isfinite(horizon));
ALTER TABLE repairsys.churn_model ADD CONSTRAINT churn_model_lambda_finite CHECK (lambda OPERATOR(pg_catalog.<>) 'NaN' AND lambda OPERATOR(pg_catalog.>) '-Infinity' AND lambda OPERATOR(pg_catalog.<) 'Infinity');
ALTER TABLE repairsys.churn_model ADD CONSTRAINT churn_model_log_likelihood_finite CHECK (log_likelihood OPERATOR(pg_catalog.<>) 'NaN' AND log_likelihood OPERATOR(pg_catalog.>) '-Infinity' AND log_likelihood OPERATOR(pg_catalog.<) 'Infinity');
ALTER TABLE repairsys.diagnosis_class ADD CONSTRAINT diagnosis_class_minutes_sum_finite CHECK (minutes_sum OPERATOR(pg_catalog.<>) 'NaN' AND minutes_sum OPERATOR(pg_catalog.>) '-Infinity' AND minutes_sum OPERATOR(pg_catalog.<) 'Infinity');
ALTER TABLE repairsys.diagnosis_model ADD CONSTRAINT diagnosis_model_changed_at_finite CHECK (pg_catalog.isfinite(changed_at));
ALTER TABLE repairsys.diagnosis_sample ADD CONSTRAINT diagnosis_sample_labor_minutes_finite CHECK (labor_minutes OPERATOR(pg_catalog.<>) 'NaN' AND labor_minutes OPERATOR(pg_catalog.>) '-Infinity' AND labor_minutes OPERATOR(pg_catalog.<) 'Infinity');
ALTER TABLE repairsys.diagnosis_sample ADD CONSTRAINT diagnosis_sample_learned_at_finite CHECK (pg_catalog.isfinite(learned_at));

-- row-level security and grants (90_security.sql): every new table gets
-- the admin's and the auditor's policies; the model tables are read only,
-- by the admin too
DO $$
DECLARE
	t text;
BEGIN
	FOREACH t IN ARRAY ARRAY['fault_code', 'diagnosis_model', 'diagnosis_class', 'diagnosis_gram', 'diagnosis_part',
	                         'diagnosis_sample', 'churn_model'] LOOP
		EXECUTE pg_catalog.format('ALTER TABLE repairsys.%I ENABLE ROW LEVEL SECURITY', t);
		EXECUTE pg_catalog.format('REVOKE ALL ON repairsys.%I FROM PUBLIC', t);
		EXECUTE pg_catalog.format('GRANT %s ON repairsys.%I TO repairsys_admin',
		                          CASE WHEN t OPERATOR(pg_catalog.=) 'fault_code' THEN 'SELECT, INSERT, UPDATE, DELETE' ELSE 'SELECT' END, t);
		EXECUTE pg_catalog.format('CREATE POLICY admin ON repairsys.%I FOR ALL TO repairsys_admin USING (true) WITH CHECK (true)', t);
		EXECUTE pg_catalog.format('GRANT SELECT ON repairsys.%I TO repairsys_auditor', t);
		EXECUTE pg_catalog.format('CREATE POLICY auditor ON repairsys.%I FOR SELECT TO repairsys_auditor USING (true)', t);
	END LOOP;
	-- everybody reads the catalog and the churn coefficients
	FOREACH t IN ARRAY ARRAY['fault_code', 'churn_model'] LOOP
		EXECUTE pg_catalog.format('GRANT SELECT ON repairsys.%I TO repairsys_dispatcher, repairsys_technician, repairsys_customer', t);
		EXECUTE pg_catalog.format('CREATE POLICY reader ON repairsys.%I FOR SELECT TO repairsys_dispatcher, repairsys_technician, repairsys_customer USING (true)', t);
	END LOOP;
	-- the staff read the diagnosis counts (not the samples)
	FOREACH t IN ARRAY ARRAY['diagnosis_model', 'diagnosis_class', 'diagnosis_gram', 'diagnosis_part'] LOOP
		EXECUTE pg_catalog.format('GRANT SELECT ON repairsys.%I TO repairsys_dispatcher', t);
		EXECUTE pg_catalog.format('CREATE POLICY dispatcher ON repairsys.%I FOR SELECT TO repairsys_dispatcher USING (true)', t);
		EXECUTE pg_catalog.format('GRANT SELECT ON repairsys.%I TO repairsys_technician', t);
		EXECUTE pg_catalog.format('CREATE POLICY technician ON repairsys.%I FOR SELECT TO repairsys_technician USING (true)', t);
	END LOOP;
END
$$;
-- a technician records the fault found on their own ticket (the ticket's
-- policies already limit which rows)
GRANT UPDATE (fault_code) ON repairsys.ticket TO repairsys_technician;

-- SECURITY DEFINER functions: the admin's; the trigger function nobody's
REVOKE ALL ON FUNCTION repairsys.refit_churn_model(timestamptz, interval) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION repairsys.refit_churn_model(timestamptz, interval) TO repairsys_admin;
REVOKE ALL ON FUNCTION repairsys.rebuild_diagnosis_model() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION repairsys.rebuild_diagnosis_model() TO repairsys_admin;
REVOKE ALL ON FUNCTION repairsys.ticket_diagnosis_trg() FROM PUBLIC;
