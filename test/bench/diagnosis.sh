#!/usr/bin/env bash
# Quality benchmark of diagnosis suggestions (issue 21, item 3; DESIGN.md
# section 18), not a timed test: on generated tickets with Chinese
# descriptions whose fault -> phrase mapping this script controls (with
# noise), the top-1 and top-3 accuracy of suggest_diagnosis() on a held-out
# split against the majority-class baseline, and the cost of one suggestion
# against a primary-key lookup of a ticket, measured side by side.
#
# The generator (fixed seed): 20 fault codes with skewed frequencies (the
# most frequent about 14% of the tickets); each fault has 4 symptom phrases
# made of a component and a symptom (压缩机 + 异响 ...), and faults share
# components and symptoms, as real ones do.  A description is 1 to 3 phrases,
# each from the ticket's own fault with probability 0.75 and otherwise from a
# random other fault (noise), plus polite filler (您好, 师傅请尽快上门 ...) and a
# model number.  The model learns tickets 1..N-2000 through the learning
# trigger (resolved 1,000 a transaction); the last 2,000 are held out.
# Usage: bash test/bench/diagnosis.sh [tickets]   (default 20,000)
set -u
. "$(dirname "$0")/../lib.sh"
RS_NO_ASSERTS=${RS_NO_ASSERTS-1}	# a release build: what is measured
n=${1:-20000}
rs_ensure_packages
rs_build_install
rs_start_cluster
psql -X -q -d postgres -c 'CREATE DATABASE repairsys_bench' >/dev/null
psql -X -q -v ON_ERROR_STOP=1 -d repairsys_bench -c 'CREATE EXTENSION repairsys' >/dev/null
echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB; $(psql -X -At -d postgres -c 'SHOW server_version'); load average $(cut -d' ' -f1-3 /proc/loadavg)"
psql -X -q -v ON_ERROR_STOP=1 -v n="$n" -d repairsys_bench <<'SQL' || rs_die "the generator failed"
SET client_min_messages = warning;
SELECT setseed(0.21) \g /dev/null
INSERT INTO repairsys.customer (name) VALUES ('bench customer');
INSERT INTO repairsys.service_type (code, name, labor_fee) VALUES ('bench', 'bench', '0+:1.00');
CREATE TABLE gen_fault AS
SELECT f, 'f' || lpad(f::text, 2, '0') AS code,
       -- skewed frequencies: weight 1 / (f + 2)
       (1.0 / (f + 2)) / (SELECT sum(1.0 / (g + 2)) FROM generate_series(1, 20) g) AS share,
       ARRAY(SELECT (ARRAY['压缩机','外机','内机','显示屏','电源','遥控器','水泵','排水管','滤网','门封',
                           '温控器','风扇','加热管','电机','主板','传感器','皮带','轴承','进水阀','冷凝器'])[1 + (f * 3 + j * 7) % 20]
                 || (ARRAY['不启动','异响','漏水','结霜','报错','闪烁','发烫','不转','卡顿','有焦味',
                           '跳闸','不制冷','不加热','噪音大','震动大','排水慢'])[1 + (f * 5 + j * 3) % 16]
               FROM generate_series(0, 3) j) AS phrases
  FROM generate_series(1, 20) f;
INSERT INTO repairsys.fault_code (code, name) SELECT code, phrases[1] FROM gen_fault;
-- the fault of each ticket, drawn with the shares
CREATE TABLE gen_ticket AS
SELECT i, (SELECT g.code FROM gen_fault g
            WHERE (SELECT sum(h.share) FROM gen_fault h WHERE h.f <= g.f) >= r ORDER BY g.f LIMIT 1) AS code
  FROM (SELECT i, random() AS r FROM generate_series(1, :n) i) s;
UPDATE gen_ticket t SET code = 'f20' WHERE code IS NULL;
ALTER TABLE gen_ticket ADD description text;
UPDATE gen_ticket t SET description =
       (ARRAY['您好，', '', '麻烦看一下，', '急！', ''])[1 + floor(random() * 5)::int]
    || (SELECT string_agg(CASE WHEN random() < 0.75 THEN own.phrases[1 + floor(random() * 4)::int]
                              ELSE (SELECT o.phrases[1 + floor(random() * 4)::int] FROM gen_fault o WHERE o.f <> own.f ORDER BY random() LIMIT 1) END, '，')
          FROM gen_fault own, generate_series(1, 1 + floor(random() * 3)::int) k WHERE own.code = t.code)
    || (ARRAY['，师傅请尽快上门', '', '，在家等', '，型号KF' || (10 + floor(random() * 90))::int, '。'])[1 + floor(random() * 5)::int];
-- the learned part: imported at work (the owner's path), then resolved
-- with its fault code below, which the learning trigger learns
INSERT INTO repairsys.ticket (customer_id, service_type, description, status, opened_at, status_changed_at,
                              labor_minutes, changed_by)
SELECT (SELECT id FROM repairsys.customer), 'bench', description, 'in_progress', now() - interval '2 days', now() - interval '1 day',
       20 + (i % 7) * 10, current_user
  FROM gen_ticket WHERE i <= :n - 2000 ORDER BY i;
SQL
# resolved 1,000 tickets per transaction, as tickets resolve (one transaction
# for all would make every update of the model's hot rows walk the row
# versions of the earlier ones)
echo "learning $((n - 2000)) tickets: UPDATE ... SET status = 'resolved', fault_code = ... through the life-cycle and learning triggers, 1,000 a transaction"
t0=$(date +%s.%N)
for ((lo = 1; lo <= n - 2000; lo += 1000)); do
	psql -X -q -v ON_ERROR_STOP=1 -d repairsys_bench -c "UPDATE repairsys.ticket t SET status = 'resolved', fault_code = g.code
	                                                    FROM gen_ticket g WHERE t.id = g.i AND g.i BETWEEN $lo AND $((lo + 999)) AND g.i <= $((n - 2000))" \
		|| rs_die "resolving tickets $lo.. failed"
done
t1=$(date +%s.%N)
echo "learned in $(python3 -c "print(round($t1 - $t0, 1))") s: $(python3 -c "print(round(($t1 - $t0) * 1000 / ($n - 2000), 2))") ms a resolved ticket (all its triggers)"
# the set-based rebuild learns the same tickets from scratch in one
# transaction: it must give exactly the counts the trigger kept
psql -X -At -v ON_ERROR_STOP=1 -d repairsys_bench <<'SQL' || rs_die "the rebuild failed"
CREATE FUNCTION pg_temp.counts() RETURNS text LANGUAGE sql AS $$
	SELECT md5(concat_ws('|',
		(SELECT format('%s %s', vocabulary, samples) FROM repairsys.diagnosis_model),
		(SELECT string_agg(format('%s %s %s %s %s', fault_code, docs, grams, minutes_sum, minutes_count), ',' ORDER BY fault_code)
		   FROM repairsys.diagnosis_class WHERE docs > 0),
		(SELECT string_agg(format('%s %s %s', gram, fault_code, count), ',' ORDER BY gram COLLATE "C", fault_code) FROM repairsys.diagnosis_gram),
		(SELECT string_agg(format('%s %s %s', fault_code, sku, tickets), ',' ORDER BY fault_code, sku) FROM repairsys.diagnosis_part),
		(SELECT string_agg(format('%s %s %s %s', ticket_id, fault_code, labor_minutes, parts), ',' ORDER BY ticket_id) FROM repairsys.diagnosis_sample)))
$$;
CREATE TEMP TABLE kept AS SELECT pg_temp.counts() AS c;
SELECT clock_timestamp() AS t0 \gset
SELECT repairsys.rebuild_diagnosis_model() AS learned \gset
SELECT format('rebuild_diagnosis_model(): %s tickets learned from scratch in %s s, set-based, one transaction; the same counts as the trigger kept: %s',
              :learned, round(extract(epoch FROM clock_timestamp() - :'t0'::timestamptz)::numeric, 2),
              CASE WHEN (SELECT c FROM kept) = pg_temp.counts() THEN 'yes' ELSE 'NO' END);
SQL
psql -X -At -v ON_ERROR_STOP=1 -v n="$n" -d repairsys_bench <<'SQL'
SELECT 'model: ' || vocabulary || ' distinct n-grams, ' || samples || ' tickets, ' || (SELECT count(*) FROM repairsys.diagnosis_gram) || ' count rows' FROM repairsys.diagnosis_model;
SELECT 'example: ' || description || ' (' || code || ') -> ' ||
       (SELECT string_agg(fault_code || ' ' || round(probability::numeric, 3), ', ') FROM repairsys.suggest_diagnosis(description))
  FROM gen_ticket WHERE i = :n;
-- held out: the last 2,000 tickets
CREATE TABLE result AS
SELECT t.i, t.code, s.fault_code AS suggested, s.rank
  FROM gen_ticket t
  CROSS JOIN LATERAL (SELECT fault_code, row_number() OVER (ORDER BY probability DESC, fault_code) AS rank
                        FROM repairsys.suggest_diagnosis(t.description, k => 3)) s
 WHERE t.i > :n - 2000;
CREATE TABLE quality AS
WITH train AS (SELECT code, count(*) AS c FROM gen_ticket WHERE i <= :n - 2000 GROUP BY code),
     top AS (SELECT code, row_number() OVER (ORDER BY c DESC, code) AS rank FROM train),
     test AS (SELECT * FROM gen_ticket WHERE i > :n - 2000)
SELECT (SELECT count(*) FROM test) AS tickets,
       round(100.0 * (SELECT count(*) FROM result WHERE rank = 1 AND suggested = code) / (SELECT count(*) FROM test), 1) AS top1,
       round(100.0 * (SELECT count(*) FROM test WHERE code = (SELECT code FROM top WHERE rank = 1)) / (SELECT count(*) FROM test), 1) AS base1,
       round(100.0 * (SELECT count(*) FROM result WHERE suggested = code) / (SELECT count(*) FROM test), 1) AS top3,
       round(100.0 * (SELECT count(*) FROM test WHERE code IN (SELECT code FROM top WHERE rank <= 3)) / (SELECT count(*) FROM test), 1) AS base3;
SELECT format('held out: %s tickets; top-1 accuracy %s%% (majority-class baseline %s%%), top-3 accuracy %s%% (3 most frequent classes %s%%)',
              tickets, top1, base1, top3, base3) FROM quality;
SELECT format('SUMMARY|diagnosis|top-1 accuracy, held out, vs the majority class|%s%% vs %s%%|above the baseline|%s', top1, base1, CASE WHEN top1 > base1 THEN 'yes' ELSE 'NO' END) FROM quality;
SELECT format('SUMMARY|diagnosis|top-3 accuracy, held out, vs the 3 most frequent|%s%% vs %s%%|above the baseline|%s', top3, base3, CASE WHEN top3 > base3 THEN 'yes' ELSE 'NO' END) FROM quality;
SQL
# the cost of one suggestion: 2,000 calls in one statement, against 2,000
# primary-key lookups of a ticket in one statement, best of 3 runs each
psql -X -At -v n="$n" -d repairsys_bench <<'SQL'
CREATE FUNCTION pg_temp.run(q text) RETURNS float8 LANGUAGE plpgsql AS $$
DECLARE t0 timestamptz; best float8 := 1e9;
BEGIN
	FOR r IN 1 .. 3 LOOP
		t0 := clock_timestamp();
		EXECUTE q;
		best := least(best, extract(epoch FROM clock_timestamp() - t0) * 1000);
	END LOOP;
	RETURN best;
END $$;
SELECT format('one suggestion: %s ms (k = 3, mean of 2,000 calls; best of 3 runs); one primary-key lookup of a ticket: %s ms; ratio %sx',
              round((s / 2000)::numeric, 3), round((l / 2000)::numeric, 4), round((s / l)::numeric, 0))
       || E'\n' || format('SUMMARY|diagnosis|one suggestion (k = 3) vs a primary-key lookup|%s ms, %sx|-|-', round((s / 2000)::numeric, 3), round((s / l)::numeric, 0))
  FROM (SELECT pg_temp.run(format('SELECT count(*) FROM gen_ticket t, repairsys.suggest_diagnosis(t.description) WHERE t.i > %s', :n - 2000)) AS s,
               pg_temp.run(format('SELECT count(*) FROM gen_ticket t, LATERAL (SELECT x.id FROM repairsys.ticket x WHERE x.id = t.i - 2000) x WHERE t.i > %s', :n - 2000)) AS l) z;
SQL
