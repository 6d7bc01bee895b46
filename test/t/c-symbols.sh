#!/usr/bin/env bash
# The exported C symbols of the installed module (nm -D --defined-only
# repairsys.so): every symbol an install or upgrade script binds with
# AS 'MODULE_PATHNAME', 'symbol' is there with its pg_finfo_ record (the
# released 1.0 and 1.1 scripts keep installing with the new module), every
# SQL-callable one is bound by some script, and every other extern symbol is
# prefixed repairsys_ (src/repairsys.h), so nm tells the SQL entry points
# from the helpers.
set -u
. "$RS_TOP/test/tap.sh"
tap_tmp
so="$("$RS_PG_CONFIG" --pkglibdir)/repairsys.so"
ext="$("$RS_PG_CONFIG" --sharedir)/extension"
if ! command -v nm >/dev/null; then
	skip "nm (binutils) is not installed"
	exit 0
fi
[ -r "$so" ] && ls "$ext"/repairsys--*.sql >/dev/null 2>&1
ok $? "the module and its scripts are installed ($so)"
grep -hoE "MODULE_PATHNAME'[[:space:]]*,[[:space:]]*'[A-Za-z_0-9]+'" "$ext"/repairsys--*.sql \
	| sed "s/.*'\([A-Za-z_0-9]*\)'$/\1/" | sort -u >"$tmp/bound"
nm -D --defined-only "$so" | awk '$2 ~ /^[TDBRV]$/ {print $3}' | sed 's/@.*//' | grep -v '^_' | sort -u >"$tmp/defined"
[ -s "$tmp/bound" ] && [ -s "$tmp/defined" ]
ok $? "the scripts bind $(wc -l <"$tmp/bound") symbols; the module defines $(wc -l <"$tmp/defined")"

missing=$(comm -23 "$tmp/bound" "$tmp/defined" | tr '\n' ' ')
is "$missing" "" "every symbol a script binds is defined by the module"
nofinfo=$(comm -23 "$tmp/bound" <(sed -n 's/^pg_finfo_//p' "$tmp/defined" | sort -u) | tr '\n' ' ')
is "$nofinfo" "" "every symbol a script binds has its PG_FUNCTION_INFO_V1 record"
unbound=$(comm -13 "$tmp/bound" <(sed -n 's/^pg_finfo_//p' "$tmp/defined" | sort -u) | tr '\n' ' ')
is "$unbound" "" "every SQL-callable C function is bound by a script"
stray=$(comm -23 "$tmp/defined" "$tmp/bound" | grep -vE '^(pg_finfo_[A-Za-z_0-9]+|Pg_magic_func|repairsys_[A-Za-z_0-9]+)$' | tr '\n' ' ')
is "$stray" "" "every other exported symbol is prefixed repairsys_"
