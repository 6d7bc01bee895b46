#!/usr/bin/env bash
# The examples of docs/billing.md, "Consent over every price", run as
# written on a fresh database, in order (issue 17).  The section's examples
# make their own rows; a plain ``` block right after a ```sql block holds the
# ERROR lines that block must print (none when there is no such block), so a
# refusal the docs show is checked to happen, with its words.
set -u
. "$RS_TOP/test/tap.sh"
tap_tmp
tap_db db

# the section's blocks: $tmp/b.<n>.sql, with $tmp/b.<n>.want (expected ERROR lines) and .line
awk -v out="$tmp/b" '
	/^## / { in_sec = ($0 == "## Consent over every price"); next }
	!in_sec { next }
	/^```sql[[:space:]]*$/ { n++; on = 1; last = n; print NR + 1 > (out "." n ".line"); printf "" > (out "." n ".want"); next }
	/^```[[:space:]]*$/ && !on && !txt { txt = 1; next }
	/^```/ && on { on = 0; next }
	/^```/ && txt { txt = 0; last = 0; next }
	on { print > (out "." n ".sql"); next }
	txt && last && /^ERROR:/ { print > (out "." last ".want"); next }
	/[^[:space:]]/ && !txt { last = 0 }
' "$RS_TOP/docs/billing.md"

k=1
while [ -f "$tmp/b.$k.sql" ]; do
	line=$(cat "$tmp/b.$k.line")
	PGOPTIONS='-c client_min_messages=warning' psql -X -q -v VERBOSITY=default -d "$db" -f "$tmp/b.$k.sql" >"$tmp/out" 2>&1
	got=$(grep -o 'ERROR:.*' "$tmp/out")
	want=$(cat "$tmp/b.$k.want")
	is "$got" "$want" "docs/billing.md, the sql block at line $line prints the errors the docs show ($(grep -c . "$tmp/b.$k.want") errors)"
	k=$((k + 1))
done
[ "$k" -gt 3 ]
ok $? "the section's examples were found ($((k - 1)) sql blocks)"

# the walk-through ends with the ticket resolved on revision 2, approved
is "$(q -d "$db" -c "SELECT t.status || ' ' || string_agg(r.revision || ':' || r.high || ':' || (r.approved_at IS NOT NULL), ' ' ORDER BY r.revision)
                      FROM repairsys.ticket t JOIN repairsys.estimate_revision r ON r.ticket_id = t.id WHERE t.id = 1 GROUP BY t.status")" \
   "resolved 1:224.72:true 2:3213.92:true" "the ticket of the example is resolved on its approved revision 2"
is "$(q -d "$db" -c "SELECT count(*) FROM repairsys.billing_audit")" "0" "billing_audit finds nothing wrong with the example"
