-- Tables of the learned models (DESIGN.md section 18, docs/reports.md):
-- diagnosis suggestions (multinomial naive Bayes over character n-grams) and
-- churn risk (logistic regression).  The fault_code catalog is in
-- 20_tables.sql, before ticket, which references it.
--
-- The model tables are written only by the SECURITY DEFINER functions and
-- triggers of 73_models.sql (every role, the admin too, only reads them:
-- src/sql/90_security.sql), and are dumped whole, so a restored database
-- suggests what the dumped one did without learning anything again.

------------------------------------------------------------------------------
-- Diagnosis: the counts of naive Bayes, kept current by the trigger
------------------------------------------------------------------------------
CREATE TABLE repairsys.diagnosis_model (
	id         boolean PRIMARY KEY DEFAULT true CHECK (id),
	vocabulary bigint NOT NULL DEFAULT 0 CHECK (vocabulary >= 0),
	samples    bigint NOT NULL DEFAULT 0 CHECK (samples >= 0),
	changed_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE repairsys.diagnosis_model IS 'Diagnosis suggestions: the one row of model-wide counts (written by the learning trigger)';
COMMENT ON COLUMN repairsys.diagnosis_model.id IS 'Always true: the table has at most one row';
COMMENT ON COLUMN repairsys.diagnosis_model.vocabulary IS 'Distinct n-grams learned (V of the Laplace smoothing)';
COMMENT ON COLUMN repairsys.diagnosis_model.samples IS 'Tickets learned';
COMMENT ON COLUMN repairsys.diagnosis_model.changed_at IS 'When the model last learned or forgot a ticket';

CREATE TABLE repairsys.diagnosis_class (
	fault_code    text PRIMARY KEY REFERENCES repairsys.fault_code ON UPDATE CASCADE,
	docs          bigint NOT NULL DEFAULT 0 CHECK (docs >= 0),
	grams         bigint NOT NULL DEFAULT 0 CHECK (grams >= 0),
	minutes_sum   numeric(16,2) NOT NULL DEFAULT 0 CHECK (minutes_sum >= 0),
	minutes_count bigint NOT NULL DEFAULT 0 CHECK (minutes_count >= 0)
);
COMMENT ON TABLE repairsys.diagnosis_class IS 'Diagnosis suggestions: per fault code, the tickets and n-grams learned';
COMMENT ON COLUMN repairsys.diagnosis_class.fault_code IS 'Fault code (a class of the classifier)';
COMMENT ON COLUMN repairsys.diagnosis_class.docs IS 'Tickets learned with this fault code (its prior is docs / all tickets learned)';
COMMENT ON COLUMN repairsys.diagnosis_class.grams IS 'N-grams of these tickets'' descriptions, counted with repetition';
COMMENT ON COLUMN repairsys.diagnosis_class.minutes_sum IS 'Sum of the labor minutes of these tickets (those with labor recorded)';
COMMENT ON COLUMN repairsys.diagnosis_class.minutes_count IS 'Tickets counted in minutes_sum';

CREATE TABLE repairsys.diagnosis_gram (
	gram       text NOT NULL,
	fault_code text NOT NULL REFERENCES repairsys.diagnosis_class ON UPDATE CASCADE,
	count      bigint NOT NULL CHECK (count > 0),
	PRIMARY KEY (gram, fault_code)
);
COMMENT ON TABLE repairsys.diagnosis_gram IS 'Diagnosis suggestions: how often each n-gram occurs in the learned descriptions of each fault code';
COMMENT ON COLUMN repairsys.diagnosis_gram.gram IS 'N-gram of 1 to 3 characters of the normalized description (repairsys.diagnosis_grams)';
COMMENT ON COLUMN repairsys.diagnosis_gram.fault_code IS 'Fault code';
COMMENT ON COLUMN repairsys.diagnosis_gram.count IS 'Occurrences (rows reaching 0 are removed)';

CREATE TABLE repairsys.diagnosis_part (
	fault_code text NOT NULL REFERENCES repairsys.diagnosis_class ON UPDATE CASCADE,
	sku        text NOT NULL REFERENCES repairsys.part ON UPDATE CASCADE,
	tickets    bigint NOT NULL CHECK (tickets > 0),
	PRIMARY KEY (fault_code, sku)
);
COMMENT ON TABLE repairsys.diagnosis_part IS 'Diagnosis suggestions: the parts used on the learned tickets of each fault code';
COMMENT ON COLUMN repairsys.diagnosis_part.fault_code IS 'Fault code';
COMMENT ON COLUMN repairsys.diagnosis_part.sku IS 'Part used';
COMMENT ON COLUMN repairsys.diagnosis_part.tickets IS 'Learned tickets of the fault code on which the part was used';

-- What was learned from each ticket, so that it is forgotten exactly (the
-- counts of this row are subtracted) when the ticket's fault code,
-- description or labor changes afterwards, it is reopened, or deleted.
CREATE TABLE repairsys.diagnosis_sample (
	ticket_id     bigint PRIMARY KEY REFERENCES repairsys.ticket,
	fault_code    text NOT NULL REFERENCES repairsys.diagnosis_class ON UPDATE CASCADE,
	description   text NOT NULL,
	labor_minutes numeric(10,2),
	parts         text[] NOT NULL DEFAULT '{}',
	learned_at    timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE repairsys.diagnosis_sample IS 'Diagnosis suggestions: each learned ticket as it was learned (admin and auditor only: it holds customers'' descriptions)';
COMMENT ON COLUMN repairsys.diagnosis_sample.ticket_id IS 'Ticket learned';
COMMENT ON COLUMN repairsys.diagnosis_sample.fault_code IS 'Its fault code when learned';
COMMENT ON COLUMN repairsys.diagnosis_sample.description IS 'Its description when learned';
COMMENT ON COLUMN repairsys.diagnosis_sample.labor_minutes IS 'Its labor minutes when learned';
COMMENT ON COLUMN repairsys.diagnosis_sample.parts IS 'The distinct parts used on it when learned';
COMMENT ON COLUMN repairsys.diagnosis_sample.learned_at IS 'When it was learned';
CREATE INDEX diagnosis_sample_fault_code_idx ON repairsys.diagnosis_sample (fault_code);

------------------------------------------------------------------------------
-- Churn: the fitted logistic regression (refit_churn_model())
------------------------------------------------------------------------------
CREATE TABLE repairsys.churn_model (
	id             boolean PRIMARY KEY DEFAULT true CHECK (id),
	fitted_at      timestamptz NOT NULL,
	as_of          timestamptz NOT NULL,
	horizon        interval NOT NULL CHECK (horizon > interval '0'),
	features       text[] NOT NULL,
	means          float8[] NOT NULL,
	scales         float8[] NOT NULL,
	coefficients   float8[] NOT NULL,
	lambda         float8 NOT NULL CHECK (lambda >= 0),
	samples        integer NOT NULL CHECK (samples > 0),
	churned        integer NOT NULL CHECK (churned >= 0),
	iterations     integer NOT NULL CHECK (iterations >= 0),
	converged      boolean NOT NULL,
	log_likelihood float8 NOT NULL,
	CHECK (pg_catalog.array_length(means, 1) = pg_catalog.array_length(features, 1)
	       AND pg_catalog.array_length(scales, 1) = pg_catalog.array_length(features, 1)
	       AND pg_catalog.array_length(coefficients, 1) = pg_catalog.array_length(features, 1) + 1),
	CHECK (churned <= samples)
);
COMMENT ON TABLE repairsys.churn_model IS 'Churn risk: the one fitted logistic regression (written by refit_churn_model())';
COMMENT ON COLUMN repairsys.churn_model.id IS 'Always true: the table has at most one row';
COMMENT ON COLUMN repairsys.churn_model.fitted_at IS 'When the model was fitted';
COMMENT ON COLUMN repairsys.churn_model.as_of IS 'End of the history the model learned from: features as of as_of - horizon, labels from the horizon after';
COMMENT ON COLUMN repairsys.churn_model.horizon IS 'A customer churned who opened no ticket within this interval after the feature date';
COMMENT ON COLUMN repairsys.churn_model.features IS 'Names of the features, in the order of means, scales and coefficients[2:]';
COMMENT ON COLUMN repairsys.churn_model.means IS 'Mean of each feature over the training customers (a missing rating counts as this mean)';
COMMENT ON COLUMN repairsys.churn_model.scales IS 'Standard deviation of each feature (1 where it is 0): features are standardized before the fit';
COMMENT ON COLUMN repairsys.churn_model.coefficients IS 'Intercept, then one coefficient per standardized feature';
COMMENT ON COLUMN repairsys.churn_model.lambda IS 'L2 penalty of the fit (setting churn_l2)';
COMMENT ON COLUMN repairsys.churn_model.samples IS 'Customers the model learned from';
COMMENT ON COLUMN repairsys.churn_model.churned IS 'Of these, customers that churned';
COMMENT ON COLUMN repairsys.churn_model.iterations IS 'Newton iterations of the fit';
COMMENT ON COLUMN repairsys.churn_model.converged IS 'False when the fit stopped at its iteration limit';
COMMENT ON COLUMN repairsys.churn_model.log_likelihood IS 'Penalized log-likelihood of the fit on its customers';

-- (one call per statement: each call updates the pg_extension row)
SELECT pg_catalog.pg_extension_config_dump('repairsys.fault_code', '');
SELECT pg_catalog.pg_extension_config_dump('repairsys.diagnosis_model', '');
SELECT pg_catalog.pg_extension_config_dump('repairsys.diagnosis_class', '');
SELECT pg_catalog.pg_extension_config_dump('repairsys.diagnosis_gram', '');
SELECT pg_catalog.pg_extension_config_dump('repairsys.diagnosis_part', '');
SELECT pg_catalog.pg_extension_config_dump('repairsys.diagnosis_sample', '');
SELECT pg_catalog.pg_extension_config_dump('repairsys.churn_model', '');
