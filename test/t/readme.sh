#!/usr/bin/env bash
# The README's walk through the whole flow is the regression test
# sql/walkthrough.sql (between its "walkthrough begins" and "walkthrough
# ends" lines), which the pg_regress suite runs with its expected output: this
# test checks that the README's block is still exactly those statements, so
# the walkthrough cannot rot.
set -u
. "$RS_TOP/test/tap.sh"
tap_tmp
sed -n '/^-- walkthrough begins$/,/^-- walkthrough ends$/p' "$RS_TOP/sql/walkthrough.sql" | sed '1d;$d' >"$tmp/test.sql"
awk '/^<!-- walkthrough:/ {on = 1; next} on && /^```sql$/ {grab = 1; next} grab && /^```$/ {exit} grab' "$RS_TOP/README.md" >"$tmp/readme.sql"
[ -s "$tmp/test.sql" ] && [ -s "$tmp/readme.sql" ]
ok $? "the walkthrough is found in README.md and in sql/walkthrough.sql"
if diff -u --label README.md --label sql/walkthrough.sql "$tmp/readme.sql" "$tmp/test.sql" >"$tmp/diff"; then
	ok 0 "README.md's walkthrough is the statements sql/walkthrough.sql runs"
else
	ok 1 "README.md's walkthrough is the statements sql/walkthrough.sql runs"
	mapfile -t lines < <(head -30 "$tmp/diff")
	diag "${lines[@]}"
fi
