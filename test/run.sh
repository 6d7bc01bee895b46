#!/usr/bin/env bash
# test/run.sh: the README's test command.
#
# On a fresh Debian 12 machine (root or sudo): installs what is missing from
# Debian's packages, builds (no compiler warning allowed) and installs repairsys,
# starts a throwaway cluster, runs
#   1. the pg_regress suite        (sql/, expected/)
#   2. the isolation specs         (test/isolation/)
#   3. the pgTAP suites            (test/pgtap/*.sql, through pg_prove)
#   4. the shell TAP tests         (test/t/*.sh, through prove: dump/restore,
#                                   upgrade, fuzzing, crash recovery, ...)
# and ends with one line "N passed, N failed"; the exit status is non-zero on any
# failure.  Options: --only regress|isolation|pgtap|shell (repeatable),
# environment as in test/lib.sh.
set -u
. "$(dirname "$0")/lib.sh"

only=""
while [ $# -gt 0 ]; do
	case "$1" in
		--only) only="$only $2"; shift 2 ;;
		*) rs_die "unknown option $1" ;;
	esac
done
want() { [ -z "$only" ] || [[ " $only " == *" $1 "* ]]; }

rs_ensure_packages
rs_build_install
rs_start_cluster

passed=0
failed=0
logdir=$(mktemp -d /tmp/repairsys-test-log.XXXXXX)
chmod 755 "$logdir"

count_regress() {	# count pg_regress / pg_isolation_regress result lines of log $1
	local p f
	p=$(grep -cE '\.\.\. ok|^ok [0-9]+ ' "$1")
	f=$(grep -cE '\.\.\. FAILED|\.\.\. failed|^not ok [0-9]+ ' "$1")
	passed=$((passed + p)); failed=$((failed + f))
}

count_tap() {	# count TAP assertions in verbose prove / pg_prove output $1
	local p f
	p=$(grep -cE '^[[:space:]]*ok [0-9]+' "$1")
	f=$(grep -cE '^[[:space:]]*not ok [0-9]+' "$1")
	passed=$((passed + p)); failed=$((failed + f))
	# a suite that died before its plan was complete fails once more
	if grep -qE 'Parse errors|Bad plan|Dubious|Non-zero exit status|No subtests run' "$1"; then
		failed=$((failed + 1))
	fi
}

cd "$RS_TOP"

if want regress && [ -n "$(ls sql/*.sql 2>/dev/null)" ]; then
	rs_log "pg_regress suite"
	make -s PG_CONFIG="$RS_PG_CONFIG" installcheck REGRESS="$(ls sql/*.sql | xargs -n1 basename | sed 's/\.sql$//' | tr '\n' ' ')" \
		ISOLATION= >"$logdir/regress.log" 2>&1
	cat "$logdir/regress.log"
	[ -f regression.diffs ] && head -c 20000 regression.diffs
	count_regress "$logdir/regress.log"
fi

if want isolation && [ -n "$(ls test/isolation/specs/*.spec 2>/dev/null)" ]; then
	rs_log "isolation specs"
	make -s PG_CONFIG="$RS_PG_CONFIG" installcheck REGRESS= >"$logdir/isolation.log" 2>&1
	cat "$logdir/isolation.log"
	[ -f output_iso/regression.diffs ] && head -c 20000 output_iso/regression.diffs
	count_regress "$logdir/isolation.log"
fi

if want pgtap && [ -n "$(ls test/pgtap/*.sql 2>/dev/null)" ]; then
	rs_log "pgTAP suites"
	PGOPTIONS='-c client_min_messages=warning' psql -X -q -v ON_ERROR_STOP=1 -d postgres -c 'DROP DATABASE IF EXISTS repairsys_tap' -c 'CREATE DATABASE repairsys_tap' >/dev/null
	psql -X -q -v ON_ERROR_STOP=1 -d repairsys_tap -c 'CREATE EXTENSION pgtap' -c 'CREATE EXTENSION repairsys' >/dev/null
	pg_prove -v -d repairsys_tap test/pgtap/*.sql >"$logdir/pgtap.log" 2>&1
	grep -vE '^[[:space:]]*ok [0-9]+' "$logdir/pgtap.log"
	count_tap "$logdir/pgtap.log"
fi

if want shell && [ -n "$(ls test/t/*.sh 2>/dev/null)" ]; then
	rs_log "shell TAP tests"
	export RS_TOP RS_BINDIR RS_PG_CONFIG RS_TMP
	prove -v -e bash test/t/*.sh >"$logdir/shell.log" 2>&1
	grep -vE '^[[:space:]]*ok [0-9]+' "$logdir/shell.log"
	count_tap "$logdir/shell.log"
fi

rm -rf "$logdir"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
