#!/usr/bin/env bash
# Every ```sql block of the docs named in $docs below (security, sla, scaling,
# upgrading, reports, dispatch, events) runs, as written, on a prepared database, so the
# examples of the docs cannot rot
# (issue 15: sla.md's sla_policy example failed with 42804, scaling.md's
# partitioning recipe broke the history).  Blocks that are not statements
# (policy expressions, grammar, output) are fenced without "sql"; scaling.md's
# Citus plan, which needs Citus, is fenced "sql citus" and checked against the
# catalog by test/t/citus-plan.sh.  Each file
# gets a fresh database holding the rows its examples name (technician 12,
# customer 10042, ticket 5511, invoice 871, service types without SLA
# policies); the blocks of a file run in order, each with ON_ERROR_STOP.
# Dates are pinned where the preparation sets them.
set -u
. "$RS_TOP/test/tap.sh"
roles="tech_zhang_wei cust_10042 app_authenticator bi_reader"
drop_roles() {
	local r
	for r in $roles; do psql -X -q -d postgres -c "DROP ROLE IF EXISTS $r" >/dev/null 2>&1; done
}
tap_at_exit drop_roles
drop_roles
tap_tmp

docs="docs/security.md docs/sla.md docs/scaling.md docs/upgrading.md docs/reports.md docs/dispatch.md docs/events.md"
# split each file's sql blocks into $tmp/<file>.<n>.sql, with their first line
for f in $docs; do
	b=$(basename "$f" .md)
	awk -v out="$tmp/$b" '
		/^```sql[[:space:]]*$/ { n++; on = 1; print NR + 1 > (out "." n ".line"); next }
		on && /^```/ { on = 0; next }
		on { print > (out "." n ".sql") }
	' "$RS_TOP/$f"
done

prepare() {	# the extension and the rows the examples name, in the empty database $1
	q -d "$1" >"$tmp/prepare.out" 2>&1 <<'SQL'
SET client_min_messages = warning;
CREATE EXTENSION repairsys;
INSERT INTO repairsys.service_center (name, time_zone) VALUES ('docs center', 'Asia/Shanghai');
INSERT INTO repairsys.technician (id, name, service_center_id) OVERRIDING SYSTEM VALUE
	SELECT 12, 'Zhang Wei', id FROM repairsys.service_center;
INSERT INTO repairsys.customer (id, name, service_center_id) OVERRIDING SYSTEM VALUE
	SELECT 10042, 'docs customer', id FROM repairsys.service_center;
INSERT INTO repairsys.service_type (code, name, labor_fee) VALUES ('docs_fix', 'docs repair', '0+:10.00'), ('docs_check', 'docs check', '0+:1.00');
-- the customer's earlier ticket, resolved and invoiced: invoice 871, unpaid
SELECT setval(pg_get_serial_sequence('repairsys.invoice', 'id'), 870);
SELECT setval(pg_get_serial_sequence('repairsys.ticket', 'id'), 5500);
SELECT repairsys.open_ticket(10042, 'docs_fix', 'earlier repair') AS t \gset
UPDATE repairsys.ticket SET technician_id = 12, status = 'assigned' WHERE id = :t;
SELECT repairsys.approve_estimate(:t) \g /dev/null
UPDATE repairsys.ticket SET status = 'in_progress' WHERE id = :t;
UPDATE repairsys.ticket SET labor_minutes = 60 WHERE id = :t;
UPDATE repairsys.ticket SET status = 'resolved' WHERE id = :t;
SELECT repairsys.issue_invoice(:t) = 871 AS invoice_871;
-- ticket 5511, open, waiting for the customer's approval
SELECT setval(pg_get_serial_sequence('repairsys.ticket', 'id'), 5510);
SELECT repairsys.open_ticket(10042, 'docs_fix', 'the ticket of the example') = 5511 AS ticket_5511;
UPDATE repairsys.ticket SET technician_id = 12, status = 'assigned' WHERE id = 5511;
-- the rows given their ids leave their sequences behind them, so a later
-- example that adds rows (demo_load) gets new ids
SELECT setval(pg_get_serial_sequence('repairsys.technician', 'id'), 100) \g /dev/null
SELECT setval(pg_get_serial_sequence('repairsys.customer', 'id'), 20000) \g /dev/null
SQL
	[ $? = 0 ] && [ "$(grep -c '^t$' "$tmp/prepare.out")" = 2 ]
}

i=0
for f in $docs; do
	b=$(basename "$f" .md)
	i=$((i + 1))
	TAP_NO_EXTENSION=1 tap_db docs_$i	# prepare() creates the extension
	v=docs_$i
	db=${!v}
	prepare $db
	rc=$?
	if [ "$f" = docs/security.md ]; then
		ok $rc "a database prepared for the examples (ticket 5511, invoice 871, ...)" "$(cat "$tmp/prepare.out")"
	fi
	k=1
	while [ -f "$tmp/$b.$k.sql" ]; do
		line=$(cat "$tmp/$b.$k.line")
		psql -X -q -v ON_ERROR_STOP=1 -d $db -f "$tmp/$b.$k.sql" >"$tmp/out" 2>&1
		ok $? "$f, the sql block at line $line runs" "$(head -10 "$tmp/out")"
		k=$((k + 1))
	done
done
