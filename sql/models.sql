-- Diagnosis suggestions and churn risk (DESIGN.md section 18,
-- docs/reports.md): naive Bayes probabilities against a hand computation,
-- learning on resolution and its corrections, the logistic fit against its
-- optimality conditions and closed forms, bad input, direct writes, cancel.
-- It runs in a database of its own, so that its tickets and customers take
-- no ids from the other tests and the churn model learns from its customers
-- only.
SELECT current_database() AS regress_db \gset
SET client_min_messages = warning;
DROP DATABASE IF EXISTS repairsys_models_test;
CREATE DATABASE repairsys_models_test;
\c repairsys_models_test
CREATE EXTENSION repairsys;
-- (pinned, so that no output depends on the server's or the client's defaults)
SET TimeZone = 'Asia/Shanghai';
SET DateStyle = 'ISO, YMD';
SET IntervalStyle = 'postgres';
SET extra_float_digits = 0;
\set SHOW_CONTEXT never
SET search_path = repairsys, public;
SET client_min_messages = warning;
INSERT INTO service_center (id, name, time_zone) OVERRIDING SYSTEM VALUE VALUES (9701, 'md center', 'Asia/Shanghai');
INSERT INTO customer (id, name, service_center_id) OVERRIDING SYSTEM VALUE VALUES (9701, 'md customer', 9701);
INSERT INTO technician (id, name, service_center_id, hourly_cost) OVERRIDING SYSTEM VALUE VALUES (9701, 'md tech', 9701, 60.00);
INSERT INTO service_type (code, name, labor_fee) VALUES ('md_fix', 'md fix', '0+:1.00'), ('md_other', 'md other', '0+:1.00');
INSERT INTO part (sku, name, unit_cost, unit_price) VALUES ('MD-1', 'md part', 10, 20);
SELECT receive_part('MD-1', 9701, 5, 10.00) > 0 AS stocked;
INSERT INTO fault_code (code, name, service_type) VALUES ('md_a', 'fault a', 'md_fix'), ('md_b', 'fault b', 'md_other'), ('md_c', '不制冷', NULL);
INSERT INTO fault_code (code, name) VALUES ('MD A', 'bad code');
\echo :LAST_ERROR_SQLSTATE
CREATE FUNCTION pg_temp.job(d text, fc text, minutes numeric, parts int) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE t bigint := repairsys.open_ticket(9701, 'md_fix', d);
BEGIN
	UPDATE repairsys.ticket SET status = 'assigned', technician_id = 9701 WHERE id = t;
	PERFORM repairsys.approve_estimate(t);
	UPDATE repairsys.ticket SET status = 'in_progress' WHERE id = t;
	IF parts > 0 THEN PERFORM repairsys.reserve_part(t, 'MD-1', parts); END IF;
	UPDATE repairsys.ticket SET status = 'resolved', labor_minutes = minutes, fault_code = fc WHERE id = t;
	RETURN t;
END $$;
-- the model as counts, one line (classes with learned tickets)
CREATE FUNCTION pg_temp.model() RETURNS text LANGUAGE sql AS $$
	SELECT format('V=%s N=%s | %s | %s', (SELECT vocabulary FROM repairsys.diagnosis_model), (SELECT samples FROM repairsys.diagnosis_model),
	              (SELECT string_agg(format('%s: %s docs %s grams %s/%s min', fault_code, docs, grams, minutes_sum, minutes_count), ', ' ORDER BY fault_code)
	                 FROM repairsys.diagnosis_class WHERE docs > 0),
	              (SELECT string_agg(format('%s %s x%s', fault_code, sku, tickets), ', ' ORDER BY fault_code, sku) FROM repairsys.diagnosis_part))
$$;
CREATE FUNCTION pg_temp.grams() RETURNS text LANGUAGE sql AS $$
	SELECT string_agg(format('%s/%s=%s', gram, fault_code, count), ' ' ORDER BY gram COLLATE "C", fault_code) FROM repairsys.diagnosis_gram
$$;

-- the n-grams: lower-cased (full-width too), cut at white space and punctuation (ASCII, CJK, full-width)
SELECT string_agg(gram || ':' || n, ' ' ORDER BY gram COLLATE "C") FROM diagnosis_grams('空调 不制冷，外机Ａ响！AB');
SELECT count(*) FROM diagnosis_grams('，。！ ?');
-- only the first 2,000 characters count: 2,000 + 1,999 + 1,998 grams, all distinct but 1-grams
SELECT sum(n), count(*) FROM diagnosis_grams(repeat('a', 5000));

-- nothing learned yet: no suggestion
SELECT * FROM suggest_diagnosis('ab');

-- two resolved tickets: "ab" (fault md_a, 60 min, part MD-1) and "ac" (md_b, 30 min)
SELECT pg_temp.job('ab', 'md_a', 60, 1) AS t1 \gset
SELECT pg_temp.job('ac', 'md_b', 30, 0) AS t2 \gset
SELECT pg_temp.model();
SELECT pg_temp.grams();
-- by hand: V = |{a, b, ab, c, ac}| = 5, 3 grams per class, priors 1/2.
-- "ab": md_a (1/2) (2/8)^3, md_b (1/2) (2/8)(1/8)^2: 8 : 2, so 0.8 and 0.2
SELECT fault_code, name, round(probability::numeric, 12) AS p, typical_parts, typical_minutes FROM suggest_diagnosis('ab');
-- "ab ab x": x is unknown and left out; (2/8)^6 : (2/8)^2 (1/8)^4 = 16 : 1
SELECT fault_code, round(probability::numeric, 12) AS p, round(16 / 17.0, 12) AS by_hand FROM suggest_diagnosis('ab ab x', k => 1);
-- "a，b": no gram across the comma; (2/8)^2 : (2/8)(1/8) = 2 : 1
SELECT fault_code, round(probability::numeric, 12) AS p FROM suggest_diagnosis('a，b');
-- the probabilities of all classes sum to 1
SELECT round(sum(probability)::numeric, 12) FROM suggest_diagnosis('abc', k => 100);

-- a Chinese description learned on resolution (md_c, 20 min): V = 5 + 6 (不 制 冷 不制 制冷 不制冷)
SELECT pg_temp.job('不制冷', 'md_c', 20, 0) AS t3 \gset
SELECT pg_temp.model();
-- "制冷" (制, 冷, 制冷): md_a, md_b (1/3) (1/(3+11))^3 each, md_c (1/3) (2/(6+11))^3
SELECT fault_code, round(probability::numeric, 12) AS p,
       round(CASE WHEN fault_code = 'md_c' THEN (2/17.0)^3 ELSE (1/14.0)^3 END / ((2/17.0)^3 + 2 * (1/14.0)^3), 12) AS by_hand
  FROM suggest_diagnosis('制冷');
-- with a service type: only its codes and those of none (md_a, md_c), normalized over them
SELECT fault_code, round(probability::numeric, 12) AS p,
       round(CASE WHEN fault_code = 'md_c' THEN (2/17.0)^3 ELSE (1/14.0)^3 END / ((2/17.0)^3 + (1/14.0)^3), 12) AS by_hand
  FROM suggest_diagnosis('制冷', service_type => 'md_fix');

-- the example of docs/reports.md
SELECT fault_code, name, round(probability::numeric, 3) AS p, typical_parts, typical_minutes
  FROM repairsys.suggest_diagnosis('空调外机异响，不制冷', k => 3);

-- corrections: the fault code changed afterwards moves the ticket's counts
UPDATE ticket SET fault_code = 'md_a' WHERE id = :t3;
SELECT pg_temp.model();
-- a new description or labor is learned again; closing changes nothing
UPDATE ticket SET description = '不制冷了', labor_minutes = 25 WHERE id = :t3;
SELECT pg_temp.model();
SELECT issue_invoice(:t3) > 0 AS invoiced;
SELECT record_payment(i.id, 'cash', i.total, 'md-3') > 0 AS paid FROM invoice i WHERE i.ticket_id = :t3;
UPDATE ticket SET status = 'closed' WHERE id = :t3;
SELECT pg_temp.model();
-- a reopened ticket is forgotten: only t1 and t3 remain (the grams of "ac" are gone: V = 12)
UPDATE ticket SET fault_code = 'md_c' WHERE id = :t2;
UPDATE ticket SET status = 'in_progress' WHERE id = :t2;
SELECT pg_temp.model();
SELECT pg_temp.grams();
-- resolved again: learned again
UPDATE ticket SET status = 'resolved' WHERE id = :t2;
SELECT pg_temp.model();
-- the counts kept by the trigger equal those learned from scratch
CREATE TEMP TABLE kept AS SELECT pg_temp.model() AS m, pg_temp.grams() AS g;
SELECT rebuild_diagnosis_model();
SELECT m = pg_temp.model() AS same_counts, g = pg_temp.grams() AS same_grams FROM kept;
-- a ticket without a fault code is not learned
SELECT pg_temp.job('ad', NULL, 5, 0) AS t4 \gset
SELECT count(*) FROM diagnosis_sample WHERE ticket_id = :t4;

-- bad input: 22023
SELECT * FROM suggest_diagnosis(NULL);
SELECT * FROM suggest_diagnosis('');
SELECT * FROM suggest_diagnosis('，。！');
SELECT * FROM suggest_diagnosis('ab', k => 0);
SELECT * FROM suggest_diagnosis('ab', k => 101);
SELECT * FROM suggest_diagnosis('ab', k => NULL);
SELECT * FROM suggest_diagnosis('ab', service_type => 'md_nope');
SELECT diagnosis_forget(-1);
\echo :LAST_ERROR_SQLSTATE

-- the model tables are written by the trigger only: not even the admin writes them
SET ROLE repairsys_admin;
INSERT INTO diagnosis_gram (gram, fault_code, count) VALUES ('zz', 'md_a', 100);
\echo :LAST_ERROR_SQLSTATE
UPDATE diagnosis_class SET docs = 1000;
\echo :LAST_ERROR_SQLSTATE
DELETE FROM diagnosis_sample;
\echo :LAST_ERROR_SQLSTATE
UPDATE churn_model SET coefficients = '{0}';
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) > 0 AS admin_reads_samples FROM diagnosis_sample;
RESET ROLE;
SET ROLE repairsys_dispatcher;
SELECT fault_code FROM suggest_diagnosis('ab', k => 1);
SELECT count(*) FROM diagnosis_sample;
\echo :LAST_ERROR_SQLSTATE
SELECT rebuild_diagnosis_model();
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;

------------------------------------------------------------------------------
-- logistic regression
------------------------------------------------------------------------------
-- one constant feature (0): the coefficient is 0 and the intercept log(3 / 1)
SELECT round(coefficients[1]::numeric, 9) AS b0, round(coefficients[2]::numeric, 9) AS b1, round(ln(3)::numeric, 9) AS ln3, converged
  FROM logistic_fit('{{0},{0},{0},{0}}', '{t,t,t,f}', 1);
-- x = -1, 1 with y = f, t and lambda 1: b0 = 0 and b1 solves 2 (1 - sigmoid(b1)) = b1
SELECT round(coefficients[1]::numeric, 9) AS b0, round(coefficients[2]::numeric, 6) AS b1,
       abs(2 * (1 - 1 / (1 + exp(-coefficients[2]))) - coefficients[2]) < 1e-12 AS gradient_zero
  FROM logistic_fit('{{-1},{1}}', '{f,t}', 1);
-- a fit stopped at its iteration limit says so
SELECT iterations, converged FROM logistic_fit('{{-1},{1},{2},{0.5}}', '{f,t,t,f}', 0.1, 1);
SELECT round(logistic_predict('{0.5,2}', '{1}')::numeric, 9) AS p, round((1 / (1 + exp(-2.5)))::numeric, 9) AS by_hand;
-- bad input: 22023
SELECT * FROM logistic_fit('{1,2}', '{t,f}', 1);
SELECT * FROM logistic_fit('{{1},{2}}', '{t}', 1);
SELECT * FROM logistic_fit('{{1},{NULL}}', '{t,f}', 1);
SELECT * FROM logistic_fit('{{1},{NaN}}', '{t,f}', 1);
SELECT * FROM logistic_fit('{{1},{2}}', '{t,NULL}', 1);
SELECT * FROM logistic_fit('{{1},{2}}', '{t,f}', -1);
SELECT * FROM logistic_fit('{{1},{2}}', '{t,f}', 'NaN');
SELECT * FROM logistic_fit('{{1},{2}}', '{t,f}', 1, 0);
SELECT * FROM logistic_fit('{{1},{2}}', '{t,f}', 1, 10, 0);
SELECT * FROM logistic_fit('{{1},{2}}', NULL, 1);
SELECT logistic_predict('{1,2}', '{1,2}');
SELECT logistic_predict('{1,Infinity}', '{1}');

------------------------------------------------------------------------------
-- churn risk
------------------------------------------------------------------------------
-- twelve customers with history before 2026-01-01; five of them and one more
-- come back within 180 days (by 2026-06-30), the others churn
INSERT INTO customer (id, name, service_center_id) OVERRIDING SYSTEM VALUE SELECT 9710 + g, 'ch customer ' || g, 9701 FROM generate_series(1, 12) g;
INSERT INTO ticket (customer_id, service_type, description, opened_at)
SELECT 9710 + g, 'md_fix', 'old', timestamptz '2025-12-31 00:00+00' - make_interval(days => 20 * g + 3 * j)
  FROM generate_series(1, 12) g, generate_series(1, 1 + g % 3) j;
INSERT INTO ticket (customer_id, service_type, description, opened_at)
SELECT 9710 + g, 'md_fix', 'new', timestamptz '2026-03-01 00:00+00' FROM generate_series(1, 12) g WHERE (g <= 6 AND g <> 5) OR g = 9;
SELECT customer_id, churn_features(customer_id, '2026-01-01 00:00+00') FROM (VALUES (9711), (9722), (9701)) v(customer_id);
-- (the example of docs/reports.md, with a fixed as_of)
SELECT samples, churned, converged FROM repairsys.refit_churn_model('2026-06-30 00:00+00', '180 days');
SELECT features, means, lambda, as_of, horizon, iterations > 0 AS iterated FROM churn_model;
-- optimality: the gradient of the penalized likelihood is 0 at the stored coefficients
CREATE TEMP TABLE train AS
SELECT c.id, ARRAY(SELECT (coalesce(f[i], m.means[i]) - m.means[i]) / m.scales[i] FROM generate_subscripts(m.means, 1) i ORDER BY i) AS z,
       NOT EXISTS (SELECT 1 FROM ticket t WHERE t.customer_id = c.id AND t.opened_at > '2026-01-01 00:00+00' AND t.opened_at <= '2026-06-30 00:00+00') AS y
  FROM customer c, churn_model m, churn_features(c.id, '2026-01-01 00:00+00') f WHERE f IS NOT NULL;
SELECT j - 1 AS coefficient, abs(sum(CASE WHEN j = 1 THEN 1 ELSE t.z[j - 1] END * (y::int - logistic_predict(m.coefficients, t.z)))
                                 - CASE WHEN j = 1 THEN 0 ELSE m.lambda * m.coefficients[j] END) < 1e-9 AS gradient_zero
  FROM train t, churn_model m, generate_subscripts(m.coefficients, 1) j GROUP BY j, m.lambda, m.coefficients ORDER BY j;
-- the risk of a customer is the model's logistic of their standardized features
SELECT t.id, round(churn_risk(t.id, '2026-01-01 00:00+00')::numeric, 12) = round(logistic_predict(m.coefficients, t.z)::numeric, 12) AS same,
       round(churn_risk(t.id, '2026-01-01 00:00+00')::numeric, 4) AS risk
  FROM train t, churn_model m WHERE t.id IN (9711, 9715, 9722) ORDER BY 1;
-- the churners are ranked above the others (AUC 1 on these customers)
SELECT avg(CASE WHEN a.r > b.r THEN 1 WHEN a.r = b.r THEN 0.5 ELSE 0 END) AS auc
  FROM (SELECT id, churn_risk(id, '2026-01-01 00:00+00') r FROM train WHERE y) a,
       (SELECT id, churn_risk(id, '2026-01-01 00:00+00') r FROM train WHERE NOT y) b;
-- no history: no risk; customer_profile shows the risk as of now
SELECT churn_risk(9701, '2000-01-01 00:00+00') IS NULL AS no_history;
SELECT count(*) FILTER (WHERE p.churn_risk = round(churn_risk(p.customer_id, now())::numeric, 4)) AS same,
       count(*) FILTER (WHERE p.churn_risk BETWEEN 0 AND 1) AS in_range, count(*) AS customers
  FROM customer_profile p WHERE p.customer_id BETWEEN 9711 AND 9722;
-- bad input and too little history: 22023
SELECT * FROM refit_churn_model('2000-01-01 00:00+00', '180 days');
SELECT * FROM refit_churn_model('infinity', '180 days');
SELECT * FROM refit_churn_model(NULL, '180 days');
SELECT * FROM refit_churn_model('2026-06-30 00:00+00', '-1 day');
-- the failed refits left the model as it was
SELECT samples, as_of FROM churn_model;
-- the refit is the admin's
SET ROLE repairsys_dispatcher;
SELECT * FROM refit_churn_model('2026-06-30 00:00+00');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;

-- a long fit stops on a query cancel (here: the statement timeout): 20,000
-- samples x 50 features, and a tolerance no step gets under
CREATE TEMP TABLE big AS
SELECT array_agg(r ORDER BY i) AS x, array_agg(i % 3 = 0 ORDER BY i) AS y
  FROM (SELECT i, array_agg(sin(i * 7 + j * 13)::float8 ORDER BY j) AS r
          FROM generate_series(1, 20000) i, generate_series(1, 50) j GROUP BY i) s;
-- (without the checks for interrupts in the loops, the fit would run its
-- 1,000 iterations, some 25 billion multiplications, before the error)
SELECT clock_timestamp() AS t0 \gset
SET statement_timeout = '1s';
SELECT iterations FROM big, logistic_fit(big.x, big.y, 1, 1000, 1e-300);
RESET statement_timeout;
SELECT clock_timestamp() - :'t0' < interval '10 seconds' AS stopped_promptly;
\c :regress_db
SET client_min_messages = warning;
DROP DATABASE repairsys_models_test;
