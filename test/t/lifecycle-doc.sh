#!/usr/bin/env bash
# docs/lifecycle.md's table "The triggers and what they cost" lists every
# trigger on repairsys.ticket in the order it fires (BEFORE before AFTER;
# INSERT, UPDATE, DELETE; name order within each): this test fails when the
# catalog has another list or another order, so the table cannot drift.
set -u
. "$RS_TOP/test/tap.sh"
tap_db db
tap_tmp
awk '/^## The triggers and what they cost/ {on = 1; next} on && /^## / {exit}
     on && /^\| `ticket_/ {split($0, c, "`"); print c[2]}' "$RS_TOP/docs/lifecycle.md" >"$tmp/doc"
q -d $db -c "SELECT t.tgname FROM pg_catalog.pg_trigger t
              WHERE t.tgrelid = 'repairsys.ticket'::regclass AND NOT t.tgisinternal
              ORDER BY (t.tgtype & 2 = 0), CASE WHEN t.tgtype & 4 = 4 THEN 0 WHEN t.tgtype & 16 = 16 THEN 1 ELSE 2 END, t.tgname" >"$tmp/cat"
[ -s "$tmp/doc" ]
ok $? "docs/lifecycle.md has the table of the ticket's triggers ($(wc -l <"$tmp/doc") rows)"
if diff -u --label docs/lifecycle.md --label catalog "$tmp/doc" "$tmp/cat" >"$tmp/diff"; then
	ok 0 "the table lists every trigger of repairsys.ticket in firing order"
else
	ok 1 "the table lists every trigger of repairsys.ticket in firing order"
	mapfile -t lines < <(head -30 "$tmp/diff")
	diag "${lines[@]}"
fi
