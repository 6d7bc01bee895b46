#!/usr/bin/env bash
# docs/reference.md is generated from the catalog (test/reference.sh); this
# test generates it again from the installed extension, in a fresh database,
# and fails when the committed copy differs: a change to a function, view,
# setting, trigger or error code must come with `make reference`.
set -u
. "$RS_TOP/test/tap.sh"
# The committed copy is generated on PostgreSQL 15, the README's default: other
# servers word some catalog text (constraint and trigger definitions) their own way.
if [ "${RS_PGVER:-15}" != 15 ]; then
	skip "docs/reference.md is generated on PostgreSQL 15, this is ${RS_PGVER}"
	exit 0
fi
tap_db db
tap_tmp

regen="make reference (a running server: PGHOST/PGPORT; after make install), or bash test/run.sh --reference"
if ! PG_CONFIG=${RS_PG_CONFIG:-pg_config} bash "$RS_TOP/test/reference.sh" -d "$db" >"$tmp/reference.md" 2>"$tmp/err"; then
	ok 1 "docs/reference.md is what the catalog says (the generator failed)"
	mapfile -t lines < <(head -40 "$tmp/err")
	diag "${lines[@]}"
elif diff -u --label docs/reference.md --label catalog "$RS_TOP/docs/reference.md" "$tmp/reference.md" >"$tmp/diff" 2>&1; then
	ok 0 "docs/reference.md is what the catalog says"
else
	ok 1 "docs/reference.md is what the catalog says"
	mapfile -t lines < <(head -40 "$tmp/diff")
	diag "${lines[@]}" "$(wc -l <"$tmp/diff") lines of diff in all; regenerate it with: $regen"
fi
