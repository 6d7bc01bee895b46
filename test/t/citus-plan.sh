#!/usr/bin/env bash
# Citus readiness (docs/scaling.md, "Beyond one server"), checked against the
# catalog.  Citus is not in Debian's archive, so the plan cannot be run here;
# what can be checked is the catalog against the rules Citus documents for
# distributed and reference tables (Citus documentation, "Creating and
# Modifying Distributed Objects (DDL)" and "Table Management"):
#
#   R1 a distributed table has the distribution column,
#   R2 which is NOT NULL (a row without it has no shard),
#   R3 and a primary key (shards move by logical replication, which needs a
#      replica identity to carry UPDATE and DELETE);
#   R4 every primary key, unique constraint, unique index and exclusion
#      constraint of a distributed table, and of each of its partitions,
#      holds the distribution column as a plain column;
#   R5 a foreign key between two distributed tables pairs their
#      distribution columns;
#   R6 a reference table refers to no distributed table;
#   R7 the distribution columns of one co-location group have one type.
#
# It also checks the prerequisite the schema keeps today: a distributed
# table has the center or reaches it through one foreign key (the reports
# filter by center with at most one join).
#
# The plan is docs/scaling.md's ```sql citus block: every create_reference_table
# and create_distributed_table call, in order.  This test fails when a table
# of the extension is missing from the plan or the plan names one that does
# not exist, when a call comes before a table its foreign keys refer to
# (Citus refuses it), when R6 or R7 is broken, and when the list of R1-R5
# violations differs from the one the doc gives under "What the schema must
# change first" (so that the doc says exactly what keeps the plan from
# running, and a change that adds or removes a violation says so there).
set -u
. "$RS_TOP/test/tap.sh"
tap_db db
tap_tmp
doc=$RS_TOP/docs/scaling.md

# the plan: "kind table column" lines, in the doc's order
sed -n '/^```sql citus[[:space:]]*$/,/^```/p' "$doc" | sed -nE \
	-e "s/^SELECT create_reference_table\('repairsys\.([a-z_]+)'\);.*/reference \1 -/p" \
	-e "s/^SELECT create_distributed_table\('repairsys\.([a-z_]+)', '([a-z_]+)'.*/distributed \1 \2/p" >"$tmp/plan"
# the violations the doc lists
sed -n '/^<!-- citus-violations: begin/,/^<!-- citus-violations: end/p' "$doc" \
	| sed -e '/^<!--/d' -e '/^```/d' -e '/^$/d' >"$tmp/doc-violations"
[ -s "$tmp/plan" ] || bail "docs/scaling.md has no \`\`\`sql citus block with create_*_table calls"
[ -s "$tmp/doc-violations" ] || bail "docs/scaling.md has no citus-violations list"

setup="SET search_path = pg_catalog;
CREATE TEMP TABLE plan (n serial, kind text, tbl name, dist_col name);
COPY plan (kind, tbl, dist_col) FROM STDIN WITH (DELIMITER ' ', NULL '-');
$(cat "$tmp/plan")
\\."
rules() {	# the checks' queries, on the plan in table plan
	cat <<'SQL'
CREATE TEMP VIEW catalog_tables AS
	SELECT c.relname AS tbl FROM pg_class c
	WHERE c.relnamespace = 'repairsys'::regnamespace AND c.relkind IN ('r', 'p') AND NOT c.relispartition;
CREATE TEMP VIEW p AS
	SELECT plan.*, to_regclass('repairsys.' || quote_ident(tbl)) AS rel FROM plan;
-- R1-R5, on the distributed tables
CREATE TEMP VIEW violations AS
WITH d AS (SELECT * FROM p WHERE kind = 'distributed' AND rel IS NOT NULL),
v AS (
	SELECT d.tbl, 1 AS r, format('no column %s', d.dist_col) AS what FROM d
	WHERE NOT EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = d.rel AND a.attname = d.dist_col AND NOT a.attisdropped)
	UNION ALL
	SELECT d.tbl, 2, format('%s may be NULL', d.dist_col) FROM d
	JOIN pg_attribute a ON a.attrelid = d.rel AND a.attname = d.dist_col AND NOT a.attisdropped AND NOT a.attnotnull
	UNION ALL
	SELECT d.tbl, 3, 'no primary key' FROM d
	WHERE NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conrelid = d.rel AND k.contype = 'p')
	UNION ALL
	SELECT DISTINCT d.tbl, 4, format('%s lacks %s',
		CASE WHEN k.oid IS NOT NULL AND i.indrelid = d.rel THEN pg_get_constraintdef(k.oid)
		     WHEN i.indrelid = d.rel THEN format('UNIQUE INDEX %s', ic.relname)
		     ELSE format('UNIQUE INDEX on each partition (%s)',
				(SELECT string_agg(pg_get_indexdef(i.indexrelid, n, true), ', ' ORDER BY n)
				 FROM generate_series(1, i.indnkeyatts) n)) END, d.dist_col)
	FROM d
	JOIN LATERAL (SELECT d.rel AS relid UNION SELECT relid FROM pg_partition_tree(d.rel)) pt ON true
	JOIN pg_index i ON i.indrelid = pt.relid AND (i.indisunique OR i.indisexclusion)
	JOIN pg_class ic ON ic.oid = i.indexrelid
	LEFT JOIN pg_constraint k ON k.conindid = i.indexrelid AND k.conrelid = i.indrelid
	WHERE NOT EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = i.indrelid AND a.attname = d.dist_col
		AND a.attnum = ANY ((i.indkey::int2[])[0:i.indnkeyatts - 1]))
	  -- a partition's index attached to the parent's is the parent's
	  AND (i.indrelid = d.rel OR NOT EXISTS (SELECT 1 FROM pg_inherits h WHERE h.inhrelid = i.indexrelid))
	UNION ALL
	SELECT d.tbl, 5, format('%s lacks %s', pg_get_constraintdef(k.oid), d.dist_col)
	FROM d JOIN pg_constraint k ON k.conrelid = d.rel AND k.contype = 'f'
	JOIN p t ON t.rel = k.confrelid AND t.kind = 'distributed'
	WHERE NOT EXISTS (SELECT 1 FROM generate_subscripts(k.conkey, 1) s
		JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = k.conkey[s] AND a.attname = d.dist_col
		JOIN pg_attribute b ON b.attrelid = k.confrelid AND b.attnum = k.confkey[s] AND b.attname = t.dist_col)
)
SELECT tbl || ': ' || what AS line, tbl, r FROM v;
-- the prerequisite: the center in the table or one foreign key away
CREATE TEMP VIEW unreached AS
	SELECT p.tbl FROM p WHERE p.kind = 'distributed'
	AND NOT EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = p.rel AND a.attname = p.dist_col AND NOT a.attisdropped)
	AND NOT EXISTS (SELECT 1 FROM pg_constraint k
	                  JOIN pg_attribute a ON a.attrelid = k.confrelid AND a.attname = p.dist_col AND NOT a.attisdropped
	                 WHERE k.conrelid = p.rel AND k.contype = 'f');
-- R6
CREATE TEMP VIEW reference_to_distributed AS
	SELECT r.tbl || ': ' || pg_get_constraintdef(k.oid) AS line
	FROM p r JOIN pg_constraint k ON k.conrelid = r.rel AND k.contype = 'f'
	JOIN p t ON t.rel = k.confrelid AND t.kind = 'distributed'
	WHERE r.kind = 'reference';
-- R7
CREATE TEMP VIEW column_types AS
	SELECT DISTINCT format_type(a.atttypid, a.atttypmod) AS type
	FROM p JOIN pg_attribute a ON a.attrelid = p.rel AND a.attname = p.dist_col AND NOT a.attisdropped
	WHERE p.kind = 'distributed';
-- a call that comes before a table its foreign keys refer to
CREATE TEMP VIEW out_of_order AS
	SELECT format('%s (call %s) refers to %s (call %s)', a.tbl, a.n, b.tbl, b.n) AS line
	FROM p a JOIN pg_constraint k ON k.conrelid = a.rel AND k.contype = 'f'
	JOIN p b ON b.rel = k.confrelid
	WHERE a.tbl <> b.tbl AND b.n > a.n;
SQL
}
run() {	# run() DB SQL: the plan, the rules, then SQL
	{ printf '%s\n' "$setup"; rules; printf '%s\n' "$2"; } | q -d "$1" 2>&1
}

got=$(run "$db" "SELECT string_agg(tbl, ' ' ORDER BY tbl) FROM (SELECT tbl FROM catalog_tables EXCEPT SELECT tbl FROM plan) x;")
is "$got" "" "every table of the extension is in the plan"
got=$(run "$db" "SELECT string_agg(tbl, ' ' ORDER BY tbl) FROM (SELECT tbl FROM plan EXCEPT SELECT tbl FROM catalog_tables) x;")
is "$got" "" "the plan names only tables the extension has"
got=$(run "$db" "SELECT string_agg(tbl, ' ' ORDER BY tbl) FROM (SELECT tbl FROM plan GROUP BY tbl HAVING count(*) > 1) x;")
is "$got" "" "the plan names each table once"
got=$(run "$db" "SELECT string_agg(DISTINCT dist_col, ' ') FROM plan WHERE kind = 'distributed';")
is "$got" "service_center_id" "the plan distributes every distributed table by service_center_id"
got=$(run "$db" "SELECT string_agg(line, E'\n' ORDER BY line) FROM out_of_order;")
is "$got" "" "each call comes after the calls for the tables its foreign keys refer to"
got=$(run "$db" "SELECT string_agg(tbl, ' ' ORDER BY tbl) FROM unreached;")
is "$got" "" "every distributed table has service_center_id or reaches it through one foreign key"
got=$(run "$db" "SELECT string_agg(line, E'\n' ORDER BY line) FROM reference_to_distributed;")
is "$got" "" "R6: no reference table refers to a distributed table"
got=$(run "$db" "SELECT string_agg(type, ' ') FROM column_types;")
is "$got" "bigint" "R7: every distribution column is a bigint"
run "$db" "SELECT line FROM violations ORDER BY tbl, r, line;" >"$tmp/violations"
if diff -u --label 'docs/scaling.md (citus-violations)' --label catalog "$tmp/doc-violations" "$tmp/violations" >"$tmp/diff"; then
	ok 0 "R1-R5: the violations are the $(wc -l <"$tmp/violations") the doc lists"
else
	ok 1 "R1-R5: the violations are the ones the doc lists"
	mapfile -t lines < <(head -60 "$tmp/diff")
	diag "${lines[@]}"
fi

# The checks can fail: a table added without a place in the plan, one
# distributed that does not reach its center, a reference
# table that refers to a distributed one, a unique key and a foreign key
# without the center, a nullable center, and a distributed table without a key.
probe="BEGIN;
CREATE TABLE repairsys.citus_probe_ref (id bigint PRIMARY KEY, ticket_id bigint REFERENCES repairsys.ticket);
CREATE TABLE repairsys.citus_probe_dist (k bigint UNIQUE, service_center_id bigint, ticket_id bigint REFERENCES repairsys.ticket);
CREATE TABLE repairsys.citus_probe_unplanned (id int);"
got=$(run "$db" "$probe
SELECT string_agg(tbl, ' ' ORDER BY tbl) FROM (SELECT tbl FROM catalog_tables EXCEPT SELECT tbl FROM plan) x;
ROLLBACK;")
is "$got" "citus_probe_dist citus_probe_ref citus_probe_unplanned" "a table without a place in the plan is found"
got=$(run "$db" "$probe
INSERT INTO plan (kind, tbl, dist_col) VALUES ('reference', 'citus_probe_ref', NULL), ('distributed', 'citus_probe_dist', 'service_center_id');
SELECT string_agg(line, E'\n' ORDER BY line) FROM (SELECT line FROM reference_to_distributed UNION ALL SELECT line FROM violations WHERE tbl ~ '^citus_probe') x;
ROLLBACK;")
want="citus_probe_dist: FOREIGN KEY (ticket_id) REFERENCES repairsys.ticket(id) lacks service_center_id
citus_probe_dist: UNIQUE (k) lacks service_center_id
citus_probe_dist: no primary key
citus_probe_dist: service_center_id may be NULL
citus_probe_ref: FOREIGN KEY (ticket_id) REFERENCES repairsys.ticket(id)"
is "$got" "$want" "the rules find a probe table's violations"
got=$(run "$db" "$probe
INSERT INTO plan (kind, tbl, dist_col) VALUES ('distributed', 'citus_probe_unplanned', 'service_center_id');
SELECT string_agg(tbl, ' ' ORDER BY tbl) FROM unreached;
ROLLBACK;")
is "$got" "citus_probe_unplanned" "a distributed table more than one join from its center is found"
got=$(run "$db" "$probe
INSERT INTO plan (kind, tbl, dist_col) VALUES ('distributed', 'citus_probe_dist', 'service_center_id');
UPDATE plan SET n = 0 WHERE tbl = 'citus_probe_dist';
SELECT string_agg(line, E'\n' ORDER BY line) FROM out_of_order WHERE line ~ '^citus_probe';
ROLLBACK;")
is "$got" "citus_probe_dist (call 0) refers to ticket (call $(awk '$2 == "ticket" { print NR }' "$tmp/plan"))" \
	"a call before a table its foreign key refers to is found"
