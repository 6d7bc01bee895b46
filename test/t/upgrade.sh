#!/usr/bin/env bash
# Upgrade 1.0 -> 1.1 (docs/upgrading.md): a database created at version 1.0 and
# filled with data in every table keeps its data through ALTER EXTENSION
# repairsys UPDATE, behaves as before, gains what 1.1 adds, and ends with the
# same catalog (functions, tables, columns, constraints, triggers, policies,
# grants, comments, extension members) as a fresh install of 1.1.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$RS_TOP/test/tap.sh"
drop_roles() {
	psql -X -q -d postgres -c "DROP ROLE IF EXISTS sec_data_tech" -c "DROP ROLE IF EXISTS sec_data_cust" >/dev/null 2>&1
}
tap_at_exit drop_roles
# both empty: old gets version 1.0 below, new a fresh 1.1 after the update
TAP_NO_EXTENSION=1 tap_db old new
tap_tmp
psql -X -q -d postgres -c "CREATE ROLE sec_data_tech IN ROLE repairsys_technician" -c "CREATE ROLE sec_data_cust IN ROLE repairsys_customer" >/dev/null 2>&1

q -d $old -c "CREATE EXTENSION repairsys VERSION '1.0'"
is "$(q -d $old -c "SELECT extversion FROM pg_extension WHERE extname = 'repairsys'")" "1.0" "version 1.0 installs"
is "$(q -d $old -c "SELECT to_regclass('repairsys.security_audit') IS NULL")" "t" "1.0 has no security_audit view"
is "$(q -d $old -c "SELECT string_agg(source || '>' || target, ',' ORDER BY source, target) FROM pg_extension_update_paths('repairsys') WHERE path IS NOT NULL")" \
	"1.0>1.1" "the update path 1.0 -> 1.1 exists"
q -d $old -f "$here/security-data.sql" >/dev/null
ok $? "data in every table at 1.0"
q -d $old -f "$here/security-snapshot.sql" >"$tmp/before"

q -d $old -c "ALTER EXTENSION repairsys UPDATE"
ok $? "ALTER EXTENSION repairsys UPDATE"
is "$(q -d $old -c "SELECT extversion FROM pg_extension WHERE extname = 'repairsys'")" "1.1" "the extension is at 1.1"
q -d $old -f "$here/security-snapshot.sql" >"$tmp/after"
diff "$tmp/before" "$tmp/after" >"$tmp/data.diff"
ok $? "every table keeps its rows through the update"
sed 's/^/# /' "$tmp/data.diff" | head -20
is "$(grep -v '^stock ' "$tmp/after" | awk '$2 == 0' | tr '\n' ' ')" "" "every table (but stock, derived from the ledger) holds rows"

q -d $new -c "CREATE EXTENSION repairsys"
q -d $old -f "$here/security-catalog.sql" >"$tmp/cat-old"
q -d $new -f "$here/security-catalog.sql" >"$tmp/cat-new"
diff "$tmp/cat-old" "$tmp/cat-new" >"$tmp/cat.diff"
ok $? "1.0 + update has the same catalog as a fresh 1.1 ($(wc -l <"$tmp/cat-new") lines compared)"
sed 's/^/# /' "$tmp/cat.diff" | head -40

# behaviour after the update
is "$(q -d $old -c "SELECT count(*) FROM repairsys.security_audit")" "0" "the new security_audit view finds nothing wrong"
is "$(q -d $old -c "SET ROLE sec_data_tech" -c "SELECT string_agg(description, ',' ORDER BY id) FROM repairsys.ticket")" \
	"does not drain,board dead" "row-level security: the technician still sees only their tickets"
is "$(q -d $old -c "SET ROLE sec_data_cust" -c "SELECT count(*) FROM repairsys.security_audit" 2>&1 | grep -o 'permission denied[^.]*' | head -1)" \
	"permission denied for view security_audit" "a customer cannot read the security audit"
is "$(q -d $old -c "UPDATE repairsys.ticket SET status = 'closed' WHERE description = 'noisy'" 2>&1 | grep -o 'invalid ticket status transition from "[a-z_]*" to "[a-z_]*"')" \
	'invalid ticket status transition from "new" to "closed"' "the life cycle still refuses an illegal transition"
id=$(q -d $old -c "SELECT repairsys.open_ticket((SELECT id FROM repairsys.customer WHERE name = 'Li Lei'), 'install', 'after update')")
is "$(q -d $old -c "SELECT $id > max(id) FILTER (WHERE id <> $id) FROM repairsys.ticket")" "t" "a ticket opened after the update gets a new id"
