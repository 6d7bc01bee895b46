#!/usr/bin/env bash
# Quality benchmark of churn risk (issue 21, item 4; DESIGN.md section 18),
# not a timed test: customers generated with a churn this script controls,
# the model fitted by refit_churn_model() on one set of customers, its AUC
# on held-out customers against the rule-based at_risk segment of
# customer_profile, and the fit cross-checked with an independent
# implementation (numpy standardization + scipy.optimize on the same raw
# features and labels).
#
# The generator (fixed seeds): every customer has 1 to 4 tickets in the 400
# days before the cutoff (2026-01-01), 85% of them resolved, a repeat repair
# on the same asset for one in five customers, ratings on 60% of the resolved
# tickets from a satisfaction of their own, complaints on half the ratings of
# 1 or 2.  Each customer then churns (opens no ticket in the 180 days after the
# cutoff) with probability sigmoid(-1.0 + 0.012 (recency_days - 120)
# - 0.5 (tickets - 2) - 0.9 (avg_rating - 3.5) + 0.8 complaints
# + 0.7 repeat_repairs + 0.6 unresolved) (avg_rating term 0 when unrated):
# the labels are noisy draws, so no model reaches AUC 1.  Customers who stay
# open one ticket in the 180 days.  Two databases from two seeds: the fit
# learns on the first (train), the AUC is measured on the second (held out).
# Usage: bash test/bench/churn.sh [customers per database]   (default 4,000)
set -u
. "$(dirname "$0")/../lib.sh"
RS_NO_ASSERTS=${RS_NO_ASSERTS-1}	# a release build: what is measured
n=${1:-4000}
rs_ensure_packages
rs_build_install
rs_start_cluster
dir=$(mktemp -d /tmp/bench-churn.XXXXXX)
echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB; $(psql -X -At -d postgres -c 'SHOW server_version'); load average $(cut -d' ' -f1-3 /proc/loadavg)"
generate() {	# database $1, seed $2
	psql -X -q -d postgres -c "CREATE DATABASE $1" >/dev/null
	psql -X -q -v ON_ERROR_STOP=1 -d "$1" -c 'CREATE EXTENSION repairsys' >/dev/null
	psql -X -q -v ON_ERROR_STOP=1 -v n="$n" -v seed="$2" -d "$1" <<'SQL'
SET client_min_messages = warning;
SELECT setseed(:seed);
INSERT INTO repairsys.service_type (code, name, labor_fee) VALUES ('bench', 'bench', '0+:1.00');
INSERT INTO repairsys.customer (name) SELECT 'bench customer ' || i FROM generate_series(1, :n) i;
INSERT INTO repairsys.asset (customer_id, model) SELECT id, 'bench unit' FROM repairsys.customer;
CREATE TABLE gen AS SELECT c.id, random() AS satisfaction, 1 + floor(random() * 4)::int AS k, random() < 0.2 AS repeats FROM repairsys.customer c;
CREATE TABLE gen_ticket AS
SELECT g.id AS customer_id, a.id AS asset_id, timestamptz '2026-01-01 00:00+00' - make_interval(secs => random() * 400 * 86400) AS opened_at,
       random() < 0.85 AS resolved
  FROM gen g JOIN repairsys.asset a ON a.customer_id = g.id CROSS JOIN LATERAL generate_series(1, g.k) j;
-- a repeat repair: 5 days after the latest resolution, when that is before the cutoff
INSERT INTO gen_ticket
SELECT t.customer_id, t.asset_id, t.opened_at + interval '6 days', false
  FROM (SELECT DISTINCT ON (customer_id) * FROM gen_ticket WHERE resolved ORDER BY customer_id, opened_at DESC) t
  JOIN gen g ON g.id = t.customer_id
 WHERE g.repeats AND t.opened_at + interval '6 days' < '2026-01-01 00:00+00';
INSERT INTO repairsys.ticket (customer_id, asset_id, service_type, description, status, opened_at, status_changed_at, resolved_at, labor_minutes, changed_by)
SELECT customer_id, asset_id, 'bench', 'history', CASE WHEN resolved THEN 'resolved' ELSE 'in_progress' END, opened_at, opened_at,
       CASE WHEN resolved THEN opened_at + interval '1 day' END, 30, current_user
  FROM gen_ticket ORDER BY opened_at;
INSERT INTO repairsys.feedback (ticket_id, rating, complaint, at)
SELECT t.id, r.rating, r.rating <= 2 AND random() < 0.5, t.resolved_at + interval '1 day'
  FROM repairsys.ticket t JOIN gen g ON g.id = t.customer_id
 CROSS JOIN LATERAL (SELECT greatest(1, least(5, round(1 + 4 * g.satisfaction + (random() - 0.5) * 2)))::int AS rating) r
 WHERE t.resolved_at IS NOT NULL AND random() < 0.6;
-- the churn the generator decides, from the features as of the cutoff
CREATE TABLE label AS
SELECT c.id, random() < 1 / (1 + exp(-(-1.0 + 0.012 * (f[1] - 120) - 0.5 * (f[2] - 2) - 0.9 * coalesce(f[3] - 3.5, 0)
                                       + 0.8 * f[4] + 0.7 * f[5] + 0.6 * f[6]))) AS churned
  FROM repairsys.customer c, repairsys.churn_features(c.id, '2026-01-01 00:00+00') f;
INSERT INTO repairsys.ticket (customer_id, service_type, description, opened_at)
SELECT id, 'bench', 'came back', timestamptz '2026-01-01 00:00+00' + make_interval(secs => random() * 170 * 86400)
  FROM label WHERE NOT churned;
SQL
}
generate repairsys_train 0.31
generate repairsys_test 0.47
psql -X -q -d repairsys_train -c 'ANALYZE'
psql -X -q -d repairsys_test -c 'ANALYZE'
psql -X -At -d repairsys_train <<'SQL'
\timing on
SELECT format('fit: %s customers (%s churned), %s Newton iterations, converged %s; coefficients (intercept, %s) %s',
              samples, churned, iterations, converged, array_to_string(features, ', '),
              (SELECT array_agg(round(c::numeric, 4)) FROM unnest(coefficients) c))
  FROM repairsys.refit_churn_model('2026-06-30 00:00+00', '180 days');
SQL
# the fitted model, scored on the held-out database
psql -X -q -d repairsys_train -c "COPY repairsys.churn_model TO STDOUT" | psql -X -q -d repairsys_test -c "COPY repairsys.churn_model FROM STDIN"
psql -X -At -v ON_ERROR_STOP=1 -d repairsys_test <<'SQL'
CREATE TABLE score AS
SELECT l.id, l.churned, repairsys.churn_risk(l.id, '2026-01-01 00:00+00') AS risk,
       -- customer_profile's at_risk rule, as of the cutoff: a complaint within
       -- segment_at_risk_window, or an average rating below segment_at_risk_rating
       coalesce(EXISTS (SELECT 1 FROM repairsys.feedback fb JOIN repairsys.ticket t ON t.id = fb.ticket_id
                 WHERE t.customer_id = l.id AND fb.complaint AND fb.at <= '2026-01-01 00:00+00'
                   AND fb.at > timestamptz '2026-01-01 00:00+00' - repairsys.setting_value('segment_at_risk_window')::interval)
        OR (SELECT avg(fb.rating) FROM repairsys.feedback fb JOIN repairsys.ticket t ON t.id = fb.ticket_id
             WHERE t.customer_id = l.id AND fb.at <= '2026-01-01 00:00+00') < repairsys.setting_value('segment_at_risk_rating')::numeric, false)::int AS at_risk
  FROM label l;
-- AUC: the probability that a churner scores above a customer who stayed (ties count half)
CREATE FUNCTION pg_temp.auc(col text) RETURNS numeric LANGUAGE plpgsql AS $$
DECLARE r numeric;
BEGIN
	EXECUTE format('SELECT avg(CASE WHEN a.%1$I > b.%1$I THEN 1 WHEN a.%1$I = b.%1$I THEN 0.5 ELSE 0 END)
	                  FROM score a, score b WHERE a.churned AND NOT b.churned', col) INTO r;
	RETURN round(r, 4);
END $$;
SELECT format('held out: %s customers, %s churned; AUC of churn_risk %s, of the at_risk segment %s (%s customers at_risk)',
              count(*), count(*) FILTER (WHERE churned), pg_temp.auc('risk'), pg_temp.auc('at_risk'), sum(at_risk))
       || E'\n' || format('SUMMARY|churn|AUC on held-out customers: churn_risk vs the at_risk segment|%s vs %s|above at_risk|%s',
                           pg_temp.auc('risk'), pg_temp.auc('at_risk'), CASE WHEN pg_temp.auc('risk') > pg_temp.auc('at_risk') THEN 'yes' ELSE 'NO' END)
  FROM score;
\copy (SELECT id, churned::int, risk, at_risk FROM score ORDER BY id) TO '/tmp/churn-bench-score.csv' CSV
SQL
# the independent implementation: raw features and labels of the training
# database, standardized by numpy, fitted by scipy.optimize
psql -X -q -d repairsys_train -c "\copy (SELECT l.churned::int, f[1], f[2], f[3], f[4], f[5], f[6] FROM label l, repairsys.churn_features(l.id, '2026-01-01 00:00+00') f ORDER BY l.id) TO '$dir/train.csv' CSV"
psql -X -q -d repairsys_train -At -c "SELECT array_to_string(coefficients, ',') || ';' || lambda FROM repairsys.churn_model" >"$dir/model.txt"
mv /tmp/churn-bench-score.csv "$dir/score.csv"
/usr/bin/python3 - "$dir" <<'PY'
import sys, numpy as np
from scipy.optimize import minimize
d = sys.argv[1]
raw = np.genfromtxt(d + "/train.csv", delimiter=",", missing_values="", filling_values=np.nan)
y, X = raw[:, 0], raw[:, 1:]
# the convention of docs/reports.md: mean and population standard deviation
# over the samples that have the feature, a missing one counts as the mean
mu = np.nanmean(X, axis=0)
sd = np.nanstd(X, axis=0)
X = np.where(np.isnan(X), mu, X)
sd[sd == 0] = 1
Z = np.hstack([np.ones((len(y), 1)), (X - mu) / sd])
coef_db, lam = open(d + "/model.txt").read().strip().split(";")
coef_db = np.array([float(c) for c in coef_db.split(",")]); lam = float(lam)
pen = np.r_[0.0, np.full(Z.shape[1] - 1, lam)]
def f(b):
    e = Z @ b
    return -(y @ e - np.logaddexp(0, e).sum()) + 0.5 * (pen * b * b).sum()
def g(b):
    p = 1 / (1 + np.exp(-(Z @ b)))
    return -(Z.T @ (y - p)) + pen * b
r = minimize(f, np.zeros(Z.shape[1]), jac=g, method="BFGS", options={"gtol": 1e-10, "maxiter": 10000})
print("scipy.optimize (BFGS) on the same raw features: coefficients %s; largest difference from repairsys's %.2e"
      % (np.round(r.x, 4).tolist(), np.abs(r.x - coef_db).max()))
diff = np.abs(r.x - coef_db).max()
print("SUMMARY|churn|fitted coefficients, repairsys vs scipy.optimize|largest difference %.1e|< 1e-4|%s" % (diff, "yes" if diff < 1e-4 else "NO"))
s = np.genfromtxt(d + "/score.csv", delimiter=",")
def auc(lab, score):
    from scipy.stats import rankdata
    rk = rankdata(score)
    pos = lab == 1
    npos, nneg = pos.sum(), (~pos).sum()
    return (rk[pos].sum() - npos * (npos + 1) / 2) / (npos * nneg)
print("numpy/scipy AUC on the held-out scores (rank formula): churn_risk %.4f, at_risk %.4f" % (auc(s[:, 1], s[:, 2]), auc(s[:, 1], s[:, 3])))
PY
rm -rf "$dir"
