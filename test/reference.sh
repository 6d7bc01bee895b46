#!/usr/bin/env bash
# test/reference.sh: prints docs/reference.md, the reference generated from the
# catalog, to stdout.
#
#   bash test/reference.sh [psql options]      e.g. -d a_database_with_repairsys
#
# The database must have repairsys freshly installed (CREATE EXTENSION
# repairsys and nothing else: seeded rows are part of the reference).  `make
# reference` makes such a database and writes docs/reference.md;
# test/t/reference.sh compares the committed file with this script's output.
#
# The catalog is read by test/reference.sql (psql and SQL only).  Two things
# the catalog does not hold are fed to it on psql's standard input, one
# tab-separated row per line:
#   errcode <sqlstate> <ERRCODE_ macro> <condition name>
#       every error code of the server, from the errcodes.txt that PostgreSQL
#       installs in `pg_config --sharedir` (PG_CONFIG names pg_config)
#   raise <file> <C function> <ERRCODE_ macro>
#   call <file> <C function> <identifier>
#       the C sources src/*.c: which C function names which error code (also
#       through a macro defined in the same file; elog(ERROR) is internal_error),
#       and which identifiers it calls, so test/reference.sql can follow the
#       calls from the C symbol of each SQL function
set -eu
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

errcodes="$(${PG_CONFIG:-pg_config} --sharedir 2>/dev/null)/errcodes.txt"
if [ ! -r "$errcodes" ]; then
	errcodes=$(ls /usr/share/postgresql/*/errcodes.txt 2>/dev/null | sort -V | tail -1)
fi
[ -n "$errcodes" ] && [ -r "$errcodes" ] || { echo "test/reference.sh: no errcodes.txt (set PG_CONFIG)" >&2; exit 1; }

{
	awk 'length($1) == 5 && $1 ~ /^[0-9A-Z]+$/ && $2 == "E" && NF >= 3 { print "errcode\t" $1 "\t" $3 "\t" $4 }' "$errcodes"

	# pgindent layout: a function definition's name starts a line ("name(")
	# after its return type line, its body ends at a "}" in column 0.
	for f in "$top"/src/*.c; do
		awk -v file="src/${f##*/}" '
		function tokens(s, ctx,    t) {
			gsub(/\/\*.*\*\//, "", s)
			gsub(/\/\/.*/, "", s)
			if (s ~ /elog\(ERROR/) out("raise", ctx, "ERRCODE_INTERNAL_ERROR")
			while (match(s, /[A-Za-z_][A-Za-z0-9_]*[ \t]*\(/)) {
				t = substr(s, RSTART, RLENGTH); sub(/[ \t]*\($/, "", t)
				if (t in macro) for (k in mcode) { split(k, kk, SUBSEP); if (kk[1] == t) out("raise", ctx, kk[2]) }
				if (ctx != "") out("call", ctx, t)
				s = substr(s, RSTART + RLENGTH)
			}
		}
		function out(kind, ctx, what) { if (ctx != "") print kind "\t" file "\t" ctx "\t" what }
		{
			line = $0
			if (indef == "" && line ~ /^#define[ \t]+[A-Za-z_][A-Za-z0-9_]*\(/) {
				indef = line; sub(/^#define[ \t]+/, "", indef); sub(/\(.*/, "", indef)
				macro[indef] = 1
			}
			if (indef != "") {
				s = line
				while (match(s, /ERRCODE_[A-Z0-9_]+/)) { mcode[indef, substr(s, RSTART, RLENGTH)] = 1; s = substr(s, RSTART + RLENGTH) }
				# a macro naming an earlier macro inherits its codes
				s = line
				while (match(s, /[A-Za-z_][A-Za-z0-9_]*\(/)) {
					t = substr(s, RSTART, RLENGTH - 1)
					if (t != indef && (t in macro)) for (k in mcode) { split(k, kk, SUBSEP); if (kk[1] == t) mcode[indef, kk[2]] = 1 }
					s = substr(s, RSTART + RLENGTH)
				}
				if (line !~ /\\$/) indef = ""
				next
			}
			if (line ~ /^[A-Za-z_][A-Za-z0-9_]*\(/) { fn = line; sub(/\(.*/, "", fn); next }
			if (line ~ /^}/) { fn = ""; next }
			if (fn == "") next
			s = line
			while (match(s, /ERRCODE_[A-Z0-9_]+/)) { out("raise", fn, substr(s, RSTART, RLENGTH)); s = substr(s, RSTART + RLENGTH) }
			tokens(line, fn)
		}' "$f"
	done | sort -u
} | PGOPTIONS="${PGOPTIONS:-} -c client_min_messages=warning" \
	psql -X -q -At -v ON_ERROR_STOP=1 "$@" -f "$top/test/reference.sql"
