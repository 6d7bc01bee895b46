#!/usr/bin/env bash
# pg_dump / pg_restore round trip: a database with rows in every table
# (tickets through the life cycle, parts, invoices, payments, changed seeded
# rows) is dumped with pg_dump -Fc and restored with pg_restore into a new
# database, as a superuser with the triggers firing.  Every table has the
# same rows, the catalog (policies, grants, triggers) is the same as the
# source's, and the restored database works: ids go on, row-level security
# and the append-only rule hold.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$RS_TOP/test/tap.sh"
drop_roles() {
	psql -X -q -d postgres -c "DROP ROLE IF EXISTS sec_data_tech" -c "DROP ROLE IF EXISTS sec_data_cust" >/dev/null 2>&1
}
tap_at_exit drop_roles
tap_db src
TAP_NO_EXTENSION=1 tap_db dst	# the restore target: empty, pg_restore creates the extension
tap_tmp
psql -X -q -d postgres -c "CREATE ROLE sec_data_tech IN ROLE repairsys_technician" -c "CREATE ROLE sec_data_cust IN ROLE repairsys_customer" >/dev/null 2>&1
q -d $src -f "$here/security-data.sql" >/dev/null
ok $? "data in every table"
q -d $src -f "$here/security-snapshot.sql" >"$tmp/src"

"${RS_BINDIR:+$RS_BINDIR/}pg_dump" -Fc -d $src -f "$tmp/dump" 2>"$tmp/dump.err"
ok $? "pg_dump -Fc"
sed 's/^/# /' "$tmp/dump.err"
"${RS_BINDIR:+$RS_BINDIR/}pg_restore" -d $dst "$tmp/dump" 2>"$tmp/restore.err"
ok $? "pg_restore into a new database"
is "$(cat "$tmp/restore.err")" "" "pg_restore reports no error or warning"
sed 's/^/# /' "$tmp/restore.err" | head -20

q -d $dst -f "$here/security-snapshot.sql" >"$tmp/dst"
diff "$tmp/src" "$tmp/dst" >"$tmp/data.diff"
ok $? "every table has the same rows after the round trip"
sed 's/^/# /' "$tmp/data.diff"
# (month partitions the jobs made ahead of time are empty, and so are the
# DEFAULT partitions once the months are made: docs/scaling.md)
is "$(grep -vE '^(stock|(ticket_event|stock_movement|event)_([0-9]{4}_[0-9]{2}|default)) ' "$tmp/src" | awk '$2 == 0' | tr '\n' ' ')" "" \
	"every table (but stock, derived from the ledger, and empty partitions) held rows"

q -d $src -f "$here/security-catalog.sql" >"$tmp/cat-src"
q -d $dst -f "$here/security-catalog.sql" >"$tmp/cat-dst"
diff "$tmp/cat-src" "$tmp/cat-dst" >"$tmp/cat.diff"
ok $? "the restored catalog (policies, grants, triggers, config dump) is the source's"
sed 's/^/# /' "$tmp/cat.diff" | head -40

# the restored database works
id=$(q -d $dst -c "SELECT repairsys.open_ticket((SELECT id FROM repairsys.customer WHERE name = 'Li Lei'), 'install', 'after restore')")
is "$(q -d $dst -c "SELECT $id > max(id) FILTER (WHERE id <> $id) FROM repairsys.ticket")" "t" "a ticket opened after the restore gets a new id"
is "$(q -d $dst -c "SET ROLE sec_data_tech" -c "SELECT string_agg(description, ',' ORDER BY id) FROM repairsys.ticket")" \
	"does not drain,board dead" "row-level security: the technician sees only their tickets"
is "$(q -d $dst -c "SET ROLE sec_data_cust" -c "SELECT string_agg(invoice_no, ',') FROM repairsys.invoice")" \
	"INV-0001" "row-level security: the customer sees only their invoice"
is "$(q -d $dst -c "SET ROLE repairsys_admin" -c "DELETE FROM repairsys.payment" 2>&1 | grep -o 'permission denied for table payment')" \
	"permission denied for table payment" "the restored payments stay append-only"
