-- Learned models (DESIGN.md section 18, docs/reports.md): diagnosis
-- suggestions (辅助诊断) from resolved tickets, and the fit of the churn
-- model (客户流失风险) whose scoring is in 68_churn_score.sql.  The C is in
-- src/diagnosis.c and src/churn.c; the tables in 27_tables_models.sql.

INSERT INTO repairsys.setting (name, value, description, dump, type, min_value) VALUES
	('churn_horizon', '180 days', 'churn risk: a customer churned who opened no ticket within this interval; refit_churn_model() learns from the features as of now - churn_horizon', false, 'interval', NULL),
	('churn_l2', '1.0', 'churn risk: L2 penalty (lambda) of the logistic regression over standardized features', false, 'number', 0);

------------------------------------------------------------------------------
-- Diagnosis suggestions
------------------------------------------------------------------------------
CREATE FUNCTION repairsys.diagnosis_grams(description text)
RETURNS TABLE (gram text, n integer)
AS 'MODULE_PATHNAME', 'rs_diagnosis_grams' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION repairsys.diagnosis_grams(text) IS 'The character n-grams (1 to 3 characters) diagnosis suggestions read in a description, with their counts: ASCII, Latin-1 and full-width letters lower-cased, full-width digits made ASCII, cut at white space and punctuation; only the first 2,000 characters count';

CREATE FUNCTION repairsys.diagnosis_scores(description text, service_type text, k integer)
RETURNS TABLE (fault_code text, probability float8)
AS 'MODULE_PATHNAME', 'rs_diagnosis_scores' LANGUAGE C STABLE;
COMMENT ON FUNCTION repairsys.diagnosis_scores(text, text, integer) IS 'The kernel of suggest_diagnosis(): the k most probable fault codes by multinomial naive Bayes with Laplace smoothing over the learned counts (22023 on a NULL or empty description, k outside 1..100, an unknown service type)';

CREATE FUNCTION repairsys.suggest_diagnosis(description text, service_type text DEFAULT NULL, k integer DEFAULT 3)
RETURNS TABLE (fault_code text, name text, probability float8, typical_parts text[], typical_minutes numeric)
LANGUAGE sql STABLE
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
	SELECT s.fault_code, f.name, s.probability,
	       ARRAY(SELECT p.sku FROM repairsys.diagnosis_part p WHERE p.fault_code = s.fault_code
	              ORDER BY p.tickets DESC, p.sku COLLATE "C" LIMIT 3),
	       round(c.minutes_sum / nullif(c.minutes_count, 0), 2)
	  FROM repairsys.diagnosis_scores($1, $2, $3) s
	  JOIN repairsys.fault_code f ON f.code = s.fault_code
	  JOIN repairsys.diagnosis_class c ON c.fault_code = s.fault_code
	 ORDER BY s.probability DESC, s.fault_code COLLATE "C"
$$;
COMMENT ON FUNCTION repairsys.suggest_diagnosis(text, text, integer) IS 'The k most probable fault codes for a customer''s description (辅助诊断), learned from resolved tickets: probability (over all learned codes, or those of service_type), the up to 3 parts most often used and the mean labor minutes of the code''s learned tickets; empty before anything is learned';

-- Learns one ticket: adds its counts and records the sample.  Called with
-- the owner's rights (by the trigger and rebuild_diagnosis_model()); the
-- model row is locked first, so learners take turns and the vocabulary
-- count stays exact.
CREATE FUNCTION repairsys.diagnosis_learn(tk repairsys.ticket)
RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
DECLARE
	d     text := coalesce(tk.description, '');
	total bigint;
	fresh bigint;
	used  text[];
BEGIN
	INSERT INTO repairsys.diagnosis_model AS m (id, samples) VALUES (true, 1)
	ON CONFLICT (id) DO UPDATE SET samples = m.samples + 1, changed_at = pg_catalog.now();
	SELECT coalesce(sum(g.n), 0) INTO total FROM repairsys.diagnosis_grams(d) g;
	used := ARRAY(SELECT DISTINCT x.sku FROM repairsys.ticket_part x
	               WHERE x.ticket_id = tk.id AND x.state = 'used' ORDER BY 1);
	INSERT INTO repairsys.diagnosis_class AS c (fault_code, docs, grams, minutes_sum, minutes_count)
	VALUES (tk.fault_code, 1, total, coalesce(tk.labor_minutes, 0), CASE WHEN tk.labor_minutes IS NULL THEN 0 ELSE 1 END)
	ON CONFLICT (fault_code) DO UPDATE
	   SET docs = c.docs + 1, grams = c.grams + EXCLUDED.grams,
	       minutes_sum = c.minutes_sum + EXCLUDED.minutes_sum, minutes_count = c.minutes_count + EXCLUDED.minutes_count;
	SELECT count(*) INTO fresh FROM repairsys.diagnosis_grams(d) g
	 WHERE NOT EXISTS (SELECT 1 FROM repairsys.diagnosis_gram x WHERE x.gram = g.gram);
	INSERT INTO repairsys.diagnosis_gram AS x (gram, fault_code, count)
	SELECT g.gram, tk.fault_code, g.n FROM repairsys.diagnosis_grams(d) g
	ON CONFLICT (gram, fault_code) DO UPDATE SET count = x.count + EXCLUDED.count;
	UPDATE repairsys.diagnosis_model SET vocabulary = vocabulary + fresh;
	INSERT INTO repairsys.diagnosis_part AS p (fault_code, sku, tickets)
	SELECT tk.fault_code, u, 1 FROM pg_catalog.unnest(used) u
	ON CONFLICT (fault_code, sku) DO UPDATE SET tickets = p.tickets + 1;
	INSERT INTO repairsys.diagnosis_sample (ticket_id, fault_code, description, labor_minutes, parts)
	VALUES (tk.id, tk.fault_code, d, tk.labor_minutes, used);
END
$$;
COMMENT ON FUNCTION repairsys.diagnosis_learn(repairsys.ticket) IS 'Internal (learning trigger): adds a resolved ticket''s description, labor and parts to the diagnosis model';

-- Forgets one learned ticket: subtracts exactly what its sample added.
CREATE FUNCTION repairsys.diagnosis_forget(ticket_id bigint)
RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
DECLARE
	s     repairsys.diagnosis_sample;
	gone  text[];
BEGIN
	UPDATE repairsys.diagnosis_model SET samples = samples - 1, changed_at = pg_catalog.now();
	DELETE FROM repairsys.diagnosis_sample x WHERE x.ticket_id = diagnosis_forget.ticket_id RETURNING * INTO s;
	IF s.ticket_id IS NULL THEN
		RAISE EXCEPTION 'ticket % was not learned', diagnosis_forget.ticket_id USING ERRCODE = '22023';
	END IF;
	WITH g AS (SELECT * FROM repairsys.diagnosis_grams(s.description)),
	     d AS (DELETE FROM repairsys.diagnosis_gram x USING g
	            WHERE x.gram = g.gram AND x.fault_code = s.fault_code AND x.count <= g.n
	            RETURNING x.gram)
	SELECT coalesce(pg_catalog.array_agg(d.gram), '{}') INTO gone FROM d;
	UPDATE repairsys.diagnosis_gram x SET count = x.count - g.n
	  FROM repairsys.diagnosis_grams(s.description) g
	 WHERE x.gram = g.gram AND x.fault_code = s.fault_code;
	UPDATE repairsys.diagnosis_model SET vocabulary = vocabulary - (
		SELECT count(*) FROM pg_catalog.unnest(gone) u
		 WHERE NOT EXISTS (SELECT 1 FROM repairsys.diagnosis_gram x WHERE x.gram = u));
	UPDATE repairsys.diagnosis_class c
	   SET docs = c.docs - 1,
	       grams = c.grams - (SELECT coalesce(sum(g.n), 0) FROM repairsys.diagnosis_grams(s.description) g),
	       minutes_sum = c.minutes_sum - coalesce(s.labor_minutes, 0),
	       minutes_count = c.minutes_count - CASE WHEN s.labor_minutes IS NULL THEN 0 ELSE 1 END
	 WHERE c.fault_code = s.fault_code;
	DELETE FROM repairsys.diagnosis_part p WHERE p.fault_code = s.fault_code AND p.sku = ANY (s.parts) AND p.tickets = 1;
	UPDATE repairsys.diagnosis_part p SET tickets = p.tickets - 1 WHERE p.fault_code = s.fault_code AND p.sku = ANY (s.parts);
END
$$;
COMMENT ON FUNCTION repairsys.diagnosis_forget(bigint) IS 'Internal (learning trigger): subtracts what a learned ticket added to the diagnosis model (22023 when it was not learned)';
REVOKE ALL ON FUNCTION repairsys.diagnosis_learn(repairsys.ticket) FROM PUBLIC;
REVOKE ALL ON FUNCTION repairsys.diagnosis_forget(bigint) FROM PUBLIC;

-- AFTER UPDATE / BEFORE DELETE on ticket: the model holds exactly the
-- tickets in a resolved- or closed-role state with a fault code, as they are
-- now.  A change of such a ticket's fault code, description or labor
-- forgets what was learned from it and learns it again; leaving those roles
-- (a reopen) or being deleted forgets it.  A ticket inserted already
-- resolved (restore, migration) is not learned: a restore brings the model
-- with its dump; after a migration, rebuild_diagnosis_model() learns them.
CREATE FUNCTION repairsys.ticket_diagnosis_trg()
RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
DECLARE
	s       repairsys.diagnosis_sample;
	want    boolean;
BEGIN
	IF TG_OP = 'DELETE' THEN
		IF EXISTS (SELECT 1 FROM repairsys.diagnosis_sample x WHERE x.ticket_id = OLD.id) THEN
			PERFORM repairsys.diagnosis_forget(OLD.id);
		END IF;
		RETURN OLD;
	END IF;
	want := NEW.status_role IN ('resolved', 'closed') AND NEW.fault_code IS NOT NULL;
	SELECT * INTO s FROM repairsys.diagnosis_sample x WHERE x.ticket_id = NEW.id;
	IF s.ticket_id IS NOT NULL THEN
		IF want AND s.fault_code = NEW.fault_code AND s.description = coalesce(NEW.description, '')
		   AND s.labor_minutes IS NOT DISTINCT FROM NEW.labor_minutes THEN
			RETURN NULL;		-- learned as it is (resolved to closed, say)
		END IF;
		PERFORM repairsys.diagnosis_forget(NEW.id);
	END IF;
	IF want THEN
		PERFORM repairsys.diagnosis_learn(NEW);
	END IF;
	RETURN NULL;
END
$$;
COMMENT ON FUNCTION repairsys.ticket_diagnosis_trg() IS 'Trigger of ticket: learns a ticket with a fault code entering a resolved- or closed-role state into the diagnosis model, and corrects the model when its fault code, description or labor changes afterwards, it is reopened or deleted';

-- Learns every resolved or closed ticket with a fault code from scratch
-- (after a migration that inserted resolved tickets, or to check the counts),
-- set-based: each count is one GROUP BY over the samples, so the cost grows
-- with the tickets (learning them one by one in one transaction would update
-- the same class and model rows once per ticket, and each update walks the
-- row versions of the earlier ones).  The counts are exactly those the
-- learning trigger keeps (sql/models.sql compares them).
CREATE FUNCTION repairsys.rebuild_diagnosis_model()
RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
DECLARE
	n bigint;
BEGIN
	LOCK TABLE repairsys.diagnosis_model, repairsys.diagnosis_sample IN EXCLUSIVE MODE;
	DELETE FROM repairsys.diagnosis_sample;
	DELETE FROM repairsys.diagnosis_part;
	DELETE FROM repairsys.diagnosis_gram;
	DELETE FROM repairsys.diagnosis_class;
	DELETE FROM repairsys.diagnosis_model;
	-- the classes first (the samples, grams and parts refer to them)
	INSERT INTO repairsys.diagnosis_class (fault_code, docs, grams, minutes_sum, minutes_count)
	SELECT x.fault_code, pg_catalog.count(*), coalesce(pg_catalog.sum(g.total), 0),
	       pg_catalog.sum(coalesce(x.labor_minutes, 0)), pg_catalog.count(x.labor_minutes)
	  FROM repairsys.ticket x
	  LEFT JOIN LATERAL (SELECT pg_catalog.sum(d.n) AS total FROM repairsys.diagnosis_grams(coalesce(x.description, '')) d) g ON true
	 WHERE x.status_role IN ('resolved', 'closed') AND x.fault_code IS NOT NULL
	 GROUP BY x.fault_code;
	INSERT INTO repairsys.diagnosis_sample (ticket_id, fault_code, description, labor_minutes, parts)
	SELECT x.id, x.fault_code, coalesce(x.description, ''), x.labor_minutes,
	       ARRAY(SELECT DISTINCT p.sku FROM repairsys.ticket_part p WHERE p.ticket_id = x.id AND p.state = 'used' ORDER BY 1)
	  FROM repairsys.ticket x
	 WHERE x.status_role IN ('resolved', 'closed') AND x.fault_code IS NOT NULL;
	GET DIAGNOSTICS n = ROW_COUNT;
	INSERT INTO repairsys.diagnosis_gram (gram, fault_code, count)
	SELECT d.gram, s.fault_code, pg_catalog.sum(d.n)
	  FROM repairsys.diagnosis_sample s
	 CROSS JOIN LATERAL repairsys.diagnosis_grams(s.description) d
	 GROUP BY d.gram, s.fault_code;
	INSERT INTO repairsys.diagnosis_part (fault_code, sku, tickets)
	SELECT s.fault_code, u.sku, pg_catalog.count(*)
	  FROM repairsys.diagnosis_sample s
	 CROSS JOIN LATERAL pg_catalog.unnest(s.parts) AS u(sku)
	 GROUP BY s.fault_code, u.sku;
	IF n > 0 THEN
		INSERT INTO repairsys.diagnosis_model (id, samples, vocabulary)
		VALUES (true, n, (SELECT pg_catalog.count(DISTINCT g.gram) FROM repairsys.diagnosis_gram g));
	END IF;
	RETURN n;
END
$$;
COMMENT ON FUNCTION repairsys.rebuild_diagnosis_model() IS 'Forgets the diagnosis model and learns every resolved or closed ticket with a fault code again; returns how many (admin only)';

------------------------------------------------------------------------------
-- Churn risk: the fit
------------------------------------------------------------------------------
CREATE FUNCTION repairsys.logistic_fit(x float8[], y boolean[], lambda float8, max_iter integer DEFAULT 100, tolerance float8 DEFAULT 1e-9,
                                       OUT coefficients float8[], OUT iterations integer, OUT converged boolean, OUT log_likelihood float8)
RETURNS record
AS 'MODULE_PATHNAME', 'rs_logistic_fit' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION repairsys.logistic_fit(float8[], boolean[], float8, integer, float8) IS 'L2-regularized logistic regression by Newton''s method (IRLS) on an n x p matrix x (one row per sample) and labels y: intercept first in coefficients, then one per column (the intercept is not penalized); deterministic; 22023 on bad input';

CREATE FUNCTION repairsys.refit_churn_model(as_of timestamptz DEFAULT now(), horizon interval DEFAULT NULL)
RETURNS repairsys.churn_model
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
DECLARE
	h       interval := coalesce(horizon, repairsys.setting_value('churn_horizon')::interval);
	cutoff  timestamptz;
	lambda  float8 := repairsys.setting_value('churn_l2')::float8;
	names   constant text[] := ARRAY['recency_days', 'tickets', 'avg_rating', 'complaints', 'repeat_repairs', 'unresolved'];
	mu      float8[];
	sd      float8[];
	raw     float8[];
	x       float8[];
	y       boolean[];
	n       integer;
	pos     integer;
	fit     record;
	result  repairsys.churn_model;
BEGIN
	IF as_of IS NULL OR NOT pg_catalog.isfinite(as_of) THEN
		RAISE EXCEPTION 'as_of must be a finite time' USING ERRCODE = '22023';
	END IF;
	IF NOT h > interval '0' THEN
		RAISE EXCEPTION 'horizon must be a positive interval' USING ERRCODE = '22023', DETAIL = pg_catalog.format('horizon is %s.', h);
	END IF;
	cutoff := as_of - h;
	-- one row per customer with a ticket by the cutoff, in id order
	SELECT count(*), count(*) FILTER (WHERE z.churned), pg_catalog.array_agg(z.x ORDER BY z.id), pg_catalog.array_agg(z.churned ORDER BY z.id)
	  INTO n, pos, raw, y
	  FROM (SELECT c.id, f.x,
	               NOT EXISTS (SELECT 1 FROM repairsys.ticket t WHERE t.customer_id = c.id
	                              AND t.opened_at > cutoff AND t.opened_at <= as_of) AS churned
	          FROM repairsys.customer c
	         CROSS JOIN LATERAL (SELECT repairsys.churn_features(c.id, cutoff) AS x OFFSET 0) f
	         WHERE f.x IS NOT NULL) z;
	IF n < 10 OR pos = 0 OR pos = n THEN
		RAISE EXCEPTION 'not enough history to fit the churn model'
			USING ERRCODE = '22023',
			      DETAIL = pg_catalog.format('%s customers had a ticket by %s, %s of them churned; the fit needs at least 10, some churned and some not.', n, cutoff, pos),
			      HINT = 'Give a later as_of or a shorter horizon.';
	END IF;
	-- standardized: (x - mean) / standard deviation; a missing rating is the mean
	SELECT pg_catalog.array_agg(coalesce(a.m, 0) ORDER BY a.i), pg_catalog.array_agg(CASE WHEN coalesce(a.s, 0) > 0 THEN a.s ELSE 1 END ORDER BY a.i)
	  INTO mu, sd
	  FROM (SELECT i, avg(raw[r][i]) AS m, stddev_pop(raw[r][i]) AS s
	          FROM pg_catalog.generate_subscripts(raw, 1) r CROSS JOIN pg_catalog.generate_series(1, pg_catalog.array_length(names, 1)) i
	         GROUP BY i) a;
	SELECT pg_catalog.array_agg(ARRAY(SELECT (coalesce(raw[r][i], mu[i]) - mu[i]) / sd[i]
	                                    FROM pg_catalog.generate_series(1, pg_catalog.array_length(names, 1)) i ORDER BY i) ORDER BY r)
	  INTO x
	  FROM pg_catalog.generate_subscripts(raw, 1) r;
	SELECT * INTO fit FROM repairsys.logistic_fit(x, y, lambda, 100, 1e-9);
	INSERT INTO repairsys.churn_model AS m (id, fitted_at, as_of, horizon, features, means, scales, coefficients, lambda,
	                                       samples, churned, iterations, converged, log_likelihood)
	VALUES (true, pg_catalog.now(), as_of, h, names, mu, sd, fit.coefficients, lambda, n, pos, fit.iterations, fit.converged, fit.log_likelihood)
	ON CONFLICT (id) DO UPDATE SET fitted_at = EXCLUDED.fitted_at, as_of = EXCLUDED.as_of, horizon = EXCLUDED.horizon,
	       features = EXCLUDED.features, means = EXCLUDED.means, scales = EXCLUDED.scales, coefficients = EXCLUDED.coefficients,
	       lambda = EXCLUDED.lambda, samples = EXCLUDED.samples, churned = EXCLUDED.churned, iterations = EXCLUDED.iterations,
	       converged = EXCLUDED.converged, log_likelihood = EXCLUDED.log_likelihood
	RETURNING * INTO result;
	RETURN result;
END
$$;
COMMENT ON FUNCTION repairsys.refit_churn_model(timestamptz, interval) IS 'Fits the churn model on the customers'' own history and stores it in churn_model: features as of as_of - horizon (default setting churn_horizon) of every customer with a ticket by then, labelled churned when they opened no ticket in the horizon after; standardized, L2 penalty churn_l2 (admin only; 22023 with fewer than 10 such customers or only one label)';

-- (the triggers on repairsys.ticket that run it, with their order:
-- 80_ticket_triggers.sql)
