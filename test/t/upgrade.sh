#!/usr/bin/env bash
# Upgrades to 1.2 (docs/upgrading.md): a database created at 1.0 and one
# created at 1.1, each holding rows in every table, are updated with ALTER
# EXTENSION repairsys UPDATE; each must end with the catalog of a fresh 1.2
# install (test/t/security-catalog.sql: functions and their bodies, tables,
# columns by name, constraints, indexes, triggers, policies, grants,
# comments, extension members, the rows of the seeded tables), keep its rows,
# hold in the new columns what 1.2 itself would have put there, and follow
# the rules of 1.2 afterwards.
#
# The rows: 1.0 and 1.1 are created from their frozen scripts with today's
# module, whose life-cycle triggers read the columns of 1.2 (status_role,
# ticket_status.role), so tickets cannot be moved through the life cycle of
# an old version here.  The old databases get their rows as a restore would
# give them: a fresh 1.2 database is filled by test/t/security-data.sql
# (tickets in several states, parts, invoices, payments, changed seeded rows,
# a state of the user's own) and its rows, in the columns the old version
# has, are copied into the old database with its triggers off
# (session_replication_role = replica), seeded tables included.  The update
# must then re-derive what 1.2 added (each state's role and seed code, each
# ticket's status_role, urgency ranks, setting types) exactly as 1.2 has it.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$RS_TOP/test/tap.sh"
drop_roles() {
	psql -X -q -d postgres -c "DROP ROLE IF EXISTS sec_data_tech" -c "DROP ROLE IF EXISTS sec_data_cust" >/dev/null 2>&1
}
tap_at_exit drop_roles
TAP_NO_EXTENSION=1 tap_db new v10 v11 bad rst
tap_tmp
psql -X -q -d postgres -c "CREATE ROLE sec_data_tech IN ROLE repairsys_technician" -c "CREATE ROLE sec_data_cust IN ROLE repairsys_customer" >/dev/null 2>&1

version() { q -d "$1" -c "SELECT extversion FROM pg_extension WHERE extname = 'repairsys'"; }
# One line per table and view of database $1: its columns in their order
colorder() {
	q -d $1 -c "SELECT string_agg(x, E'\\n' ORDER BY x) FROM (
	              SELECT c.relname || ': ' || string_agg(a.attname, ',' ORDER BY a.attnum) AS x
	                FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
	               WHERE c.relnamespace = 'repairsys'::regnamespace AND c.relkind IN ('r', 'p', 'v')
	                 -- (the month partitions, which run_jobs() makes as the months come)
	                 AND NOT (c.relispartition AND c.relname ~ '_[0-9]{4}_[0-9]{2}$')
	               GROUP BY c.relname) y"
}

# {"table": ["column", ...], ...}: the columns of every table of database $1
columns() {
	q -d "$1" -c "SELECT coalesce(jsonb_object_agg(relname, cols), '{}') FROM (
		SELECT c.relname, jsonb_agg(a.attname ORDER BY a.attnum) AS cols
		  FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
		 WHERE c.relnamespace = 'repairsys'::regnamespace AND c.relkind IN ('r', 'p') GROUP BY 1) x"
}
# Copies every row of database $1 into database $2 (every table emptied
# first), in the columns $2 has, with $2's triggers and foreign keys off;
# the sequences of $2 are set to $1's.
copy_rows() {
	local src=$1 dst=$2 t cols seq
	{
		echo "SET session_replication_role = replica;"
		# A seeded table (one with a dump column) keeps only the seeded rows the
		# old version has: a row that 1.2 seeds and the old version does not
		# (a new setting, say) is the update's to add.
		while IFS='|' read -r t cols key; do
			q -d "$src" -c "\\copy (SELECT $cols FROM repairsys.$t) TO '$tmp/$t.copy'" || return 1
			[ -n "$key" ] && echo "CREATE TEMP TABLE seeded_$t AS SELECT $key AS k FROM repairsys.$t WHERE NOT dump;"
			echo "DELETE FROM repairsys.$t;"
			echo "\\copy repairsys.$t ($cols) FROM '$tmp/$t.copy'"
			[ -n "$key" ] && echo "DELETE FROM repairsys.$t WHERE NOT dump AND $key NOT IN (SELECT k FROM seeded_$t);"
		done < <(q -d "$dst" -c "SELECT c.relname, string_agg(quote_ident(a.attname), ', ' ORDER BY a.attnum),
			       (SELECT quote_ident(k.attname) FROM pg_index i JOIN pg_attribute k ON k.attrelid = i.indrelid AND k.attnum = i.indkey[0]
			         WHERE i.indrelid = c.oid AND i.indisprimary AND i.indnatts = 1
			           AND EXISTS (SELECT 1 FROM pg_attribute d WHERE d.attrelid = c.oid AND d.attname = 'dump' AND NOT d.attisdropped))
			FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = ''
			WHERE c.relnamespace = 'repairsys'::regnamespace AND c.relkind = 'r' GROUP BY c.oid, c.relname ORDER BY 1")
		for seq in $(q -d "$dst" -c "SELECT relname FROM pg_class WHERE relnamespace = 'repairsys'::regnamespace AND relkind = 'S' ORDER BY 1"); do
			q -d "$src" -c "SELECT format('SELECT setval(%L, %s, %L);', 'repairsys.$seq', last_value, is_called) FROM repairsys.$seq" || return 1
		done
	} >"$tmp/load.sql" && q -d "$dst" -f "$tmp/load.sql" >/dev/null
}

# The released full scripts are frozen: never edited (docs/upgrading.md).
# These are the sha256 of the scripts the Makefile of the 1.1 release
# (commit 67962e3) built.
for f in "repairsys--1.0.sql 9672526b0f1b6a925c9159b9791543311b4f08aa9b2759247d01deb1f58317e9" \
         "repairsys--1.1.sql 133098bffbdf91fcbfed9a66f1e4297a7a435ecd0cd39c37f04d5ff4424d347f"; do
	set -- $f
	is "$(sha256sum <"$RS_TOP/$1" | cut -d' ' -f1)" "$2" "$1 is the released script, unchanged"
done

# the reference: a fresh 1.2 with the rows of security-data.sql
q -d $new -c "CREATE EXTENSION repairsys"
is "$(version $new)" "1.2" "a fresh install is at 1.2 (default_version)"
q -d $new -f "$here/security-data.sql" >/dev/null
ok $? "fresh 1.2: data in every table"
q -d $new -f "$here/security-catalog.sql" >"$tmp/cat-new"
q -d $new -v cols='{}' -f "$here/upgrade-rows.sql" >"$tmp/rows-new"
is "$(grep -v '^stock ' "$tmp/rows-new" | awk '$2 == 0' | tr '\n' ' ')" "" "every table (but stock, derived from the ledger) holds rows"
# (security-data.sql writes some rows as the owner, past the rules: the
# invariants it breaks are the reference's, and an update must not add any)
invariants() { q -d "$1" -c "SELECT string_agg(invariant || ' ' || detail, '; ' ORDER BY invariant, detail) FROM repairsys.check_invariants()"; }
inv_new=$(invariants $new)

is "$(q -d $new -c "SELECT string_agg(source || '>' || target || ' ' || path, ', ' ORDER BY source, target) FROM pg_extension_update_paths('repairsys') WHERE path IS NOT NULL")" \
	"1.0>1.1 1.0--1.1, 1.0>1.2 1.0--1.1--1.2, 1.1>1.2 1.1--1.2" "the update paths: 1.0 -> 1.1 -> 1.2"

# The columns new in 1.2 of tables that existed before that a user sets (no
# update can know their values; every other new column the update derives;
# ticket_discount.approved_at: an update takes the discount's created_at, a
# fresh install the instant of the decision)
user_new='{"service_center": ["language"], "customer": ["language"], "ticket": ["estimate_approved_by", "arrived_at", "fault_code"], "ticket_discount": ["approved_at"]}'
for v in 1.0 1.1; do
	dbvar=v${v/./}; db=${!dbvar}
	q -d $db -c "CREATE EXTENSION repairsys VERSION '$v'"
	ok $? "CREATE EXTENSION repairsys VERSION '$v' works with today's module (every C symbol it binds is exported)"
	is "$(version $db)" "$v" "the extension is at $v"
	if [ $v = 1.0 ]; then
		is "$(q -d $db -c "SELECT to_regclass('repairsys.security_audit') IS NULL")" "t" "1.0 has no security_audit view (1.1 added it)"
	fi
	copy_rows $new $db
	ok $? "$v: the rows of the fresh database copied in, in the columns $v has"
	cols=$(columns $db)
	tables=$(q -d $db -c "SELECT string_agg(relname, ',' ORDER BY relname) FROM pg_class WHERE relnamespace = 'repairsys'::regnamespace AND relkind IN ('r', 'p')")
	# the seeded rows of the old version, by key (tables with a dump column)
	keys=$(q -d $db -c "SELECT coalesce(jsonb_object_agg(c.relname, jsonb_build_object('col', k.attname, 'in',
	                     (xpath('/row/j/text()', query_to_xml(format('SELECT coalesce(jsonb_agg(%I::text), ''[]'') AS j FROM repairsys.%I',
	                                                                 k.attname, c.relname), false, true, '')))[1]::text::jsonb)), '{}')
	                     FROM pg_class c JOIN pg_index i ON i.indrelid = c.oid AND i.indisprimary AND i.indnatts = 1
	                     JOIN pg_attribute k ON k.attrelid = c.oid AND k.attnum = i.indkey[0]
	                    WHERE c.relnamespace = 'repairsys'::regnamespace AND c.relkind = 'r'
	                      AND EXISTS (SELECT 1 FROM pg_attribute d WHERE d.attrelid = c.oid AND d.attname = 'dump' AND NOT d.attisdropped)")
	q -d $db -v cols="$cols" -v tables="$tables" -v keys="$keys" -f "$here/upgrade-rows.sql" >"$tmp/before-$v"

	q -d $db -c "ALTER EXTENSION repairsys UPDATE" 2>"$tmp/update-$v.err"
	ok $? "$v: ALTER EXTENSION repairsys UPDATE" "$(cat "$tmp/update-$v.err")"
	is "$(cat "$tmp/update-$v.err")" "" "$v: the update prints no warning"
	is "$(version $db)" "1.2" "$v: the extension is at 1.2"

	q -d $db -v cols="$cols" -v tables="$tables" -v keys="$keys" -f "$here/upgrade-rows.sql" >"$tmp/after-$v"
	diff "$tmp/before-$v" "$tmp/after-$v" >"$tmp/data-$v.diff"
	ok $? "$v: every table keeps its rows (the columns it had)" "$(cat "$tmp/data-$v.diff")"
	# (the tables the old version had; those new in 1.2 start empty)
	q -d $db -v cols='{}' -v tables="$tables" -v drop="$user_new" -f "$here/upgrade-rows.sql" >"$tmp/rows-$v"
	q -d $new -v cols='{}' -v tables="$tables" -v drop="$user_new" -f "$here/upgrade-rows.sql" >"$tmp/rows-new-$v"
	diff "$tmp/rows-$v" "$tmp/rows-new-$v" >"$tmp/rows-$v.diff"
	ok $? "$v: every row, new columns included, is what a fresh 1.2 holds" "$(cat "$tmp/rows-$v.diff")"

	q -d $db -f "$here/security-catalog.sql" >"$tmp/cat-$v"
	diff "$tmp/cat-$v" "$tmp/cat-new" >"$tmp/cat-$v.diff"
	# on a difference: the differing lines ("<" updated, ">" fresh), each cut
	# to 300 characters, the first 60
	ok $? "$v + update has the catalog of a fresh 1.2 ($(wc -l <"$tmp/cat-new") lines compared)" \
		"$(grep '^[<>]' "$tmp/cat-$v.diff" | cut -c1-300 | head -60)"
	is "$(colorder $db)" "$(colorder $new)" "$v + update: every table and view has its columns in the order of a fresh 1.2 (SELECT * agrees)"
	is "$(invariants $db)" "$inv_new" "$v + update: check_invariants() finds what it finds on the fresh database"
	is "$(q -d $db -c "SELECT count(*) FROM repairsys.security_audit")" "0" "$v + update: security_audit finds nothing"
done

# An updated database survives a dump and restore into a fresh 1.2 (its
# ticket has status_role as the last column, a fresh one in the middle: the
# dump names the columns).
"${RS_BINDIR:+$RS_BINDIR/}pg_dump" -Fc -d $v11 -f "$tmp/v11.dump" 2>"$tmp/dump.err" \
	&& "${RS_BINDIR:+$RS_BINDIR/}pg_restore" -d $rst "$tmp/v11.dump" 2>>"$tmp/dump.err"
ok $? "1.1 + update: pg_dump and pg_restore into a new database" "$(head -20 "$tmp/dump.err")"
q -d $rst -v cols='{}' -v tables="$tables" -v drop="$user_new" -f "$here/upgrade-rows.sql" >"$tmp/rows-rst"
diff "$tmp/rows-1.1" "$tmp/rows-rst" >"$tmp/rows-rst.diff"
ok $? "1.1 + update: the restored database has the same rows" "$(cat "$tmp/rows-rst.diff")"

# An update that cannot be done stops before it changes anything, saying why:
# an object of the user's own on a column the update replaces, and a NaN
# the new finite CHECKs refuse.
q -d $bad -c "CREATE EXTENSION repairsys VERSION '1.1'"
q -d $bad -c "CREATE VIEW public.finished AS SELECT code FROM repairsys.ticket_status WHERE is_terminal"
is "$(q -d $bad -c "ALTER EXTENSION repairsys UPDATE" 2>&1 | grep -o 'ERROR:  objects of your own depend on what the update to repairsys 1.2 replaces: view public.finished')" \
	"ERROR:  objects of your own depend on what the update to repairsys 1.2 replaces: view public.finished" "a view of the user's own on ticket_status.is_terminal stops the update, named"
is "$(version $bad)" "1.1" "... and the database stays at 1.1"
q -d $bad -c "DROP VIEW public.finished" -c "UPDATE repairsys.assign_policy SET w_distance = 'NaN' WHERE name = 'default'"
is "$(q -d $bad -c "ALTER EXTENSION repairsys UPDATE" 2>&1 | grep -o 'violates check constraint "[a-z_]*"\|ERROR:  check constraint "[a-z_]*"[^.]*' | head -1)" \
	'ERROR:  check constraint "assign_policy_w_distance_finite" of relation "assign_policy" is violated by some row' "a NaN of 1.1 stops the update, naming the new finite CHECK"
is "$(version $bad)$(q -d $bad -c "SELECT w_distance FROM repairsys.assign_policy WHERE name = 'default'")" "1.1NaN" "... and nothing is changed"
q -d $bad -c "UPDATE repairsys.assign_policy SET w_distance = 0.25 WHERE name = 'default'" -c "ALTER EXTENSION repairsys UPDATE"
is "$(version $bad)" "1.2" "once the row is corrected, the update succeeds"

# the rules of 1.2 on an updated database (the one from 1.1; the one from 1.0
# has the same catalog and rows)
db=$v11
is "$(q -d $db -c "SET ROLE sec_data_tech" -c "SELECT string_agg(description, ',' ORDER BY id) FROM repairsys.ticket")" \
	"does not drain,board dead" "row-level security: the technician sees only their tickets"
is "$(q -d $db -c "SELECT string_agg(code || ':' || role, ',' ORDER BY sort_order) FROM repairsys.ticket_status")" \
	"new:initial,assigned:assigned,in_progress:active,waiting_parts:on_hold,on_hold:active,waiting_customer:on_hold,resolved:resolved,closed:closed,cancelled:cancelled" \
	"every state has its role (on_hold, a state of the user's own: active, the default)"
is "$(q -d $db -c "SELECT string_agg(status || ':' || status_role, ',' ORDER BY id) FROM repairsys.ticket")" \
	"closed:closed,on_hold:active,cancelled:cancelled,new:initial,new:initial,new:initial,new:initial" "every ticket's status_role is the role of its state (the last three: a recall's tickets)"
q -d $db -c "UPDATE repairsys.ticket_status SET code = '已完成' WHERE code = 'closed'"
ok $? "a seeded state renamed (closed -> 已完成)"
is "$(q -d $db -c "SELECT t.status || ' ' || t.status_role || ' ' || (SELECT count(*) FROM repairsys.ticket_event e WHERE e.ticket_id = t.id AND e.to_status = '已完成') FROM repairsys.ticket t WHERE description = 'does not drain'")" \
	"已完成 closed 1" "the closed ticket and its history follow the rename"
is "$(q -d $db -c "UPDATE repairsys.ticket SET status = '已完成' WHERE description = 'noisy'" 2>&1 | grep -o 'invalid ticket status transition from "[^"]*" to "[^"]*"')" \
	'invalid ticket status transition from "new" to "已完成"' "the life cycle refuses an illegal transition to the renamed state"
is "$(q -d $db -c "SET client_min_messages = error" -c "UPDATE repairsys.ticket_status SET role = 'active' WHERE code = 'cancelled'" 2>&1 | grep -o 'cannot change the role of state "cancelled" while tickets are in it')" \
	'cannot change the role of state "cancelled" while tickets are in it' "a state's role cannot change under its tickets"
q -d $db -c "SELECT repairsys.set_status((SELECT id FROM repairsys.ticket WHERE description = 'noisy'), 'cancelled', 'after the update')" >/dev/null
ok $? "a ticket moves through the life cycle (new -> cancelled)"
is "$(q -d $db -c "SELECT status_role || ' ' || (closed_at IS NOT NULL) FROM repairsys.ticket WHERE description = 'noisy'")" "cancelled true" "... and gets its role and closed_at"
inv=$(q -d $db -c "SELECT id FROM repairsys.invoice WHERE invoice_no = 'INV-0002'")
is "$(q -d $db -c "INSERT INTO repairsys.payment (invoice_id, method, amount, idempotency_key) VALUES ($inv, 'cash', 'NaN', 'nan-1')" 2>&1 | grep -o 'violates check constraint "[a-z_]*"')" \
	'violates check constraint "payment_amount_finite"' "a NaN payment is refused by the new finite CHECK"
is "$(q -d $db -c "UPDATE repairsys.setting SET value = 'soon' WHERE name = 'reopen_window'" 2>&1 | grep -o 'ERROR:  [^:]*' | head -1)" \
	'ERROR:  invalid value for setting "reopen_window"' "a setting keeps its type: an invalid value is refused"
id=$(q -d $db -c "SELECT repairsys.open_ticket((SELECT id FROM repairsys.customer WHERE name = 'Li Lei'), 'install', 'after update')")
is "$(q -d $db -c "SELECT status || ' ' || status_role || ' ' || ($id > (SELECT max(id) FROM repairsys.ticket WHERE id <> $id)) FROM repairsys.ticket WHERE id = $id")" \
	"new initial true" "a ticket opened after the update starts in the initial state with a new id"
is "$(invariants $db)" "$inv_new" "check_invariants() finds nothing new"
