#!/usr/bin/env bash
# test/run.sh: the README's test command.
#
# On a fresh Debian 12 machine (root or sudo): installs what is missing from
# Debian's packages, builds with -Werror (no compiler warning allowed) and
# installs repairsys, starts a throwaway cluster, runs
#   1. the pg_regress suite        (sql/, expected/; the list is the Makefile's REGRESS)
#   2. the isolation specs         (test/isolation/; the Makefile's ISOLATION)
#   3. the pgTAP suites            (test/pgtap/*.sql, through pg_prove)
#   4. the shell TAP tests         (test/t/*.sh, through prove: dump/restore,
#                                   upgrade, fuzzing, crash recovery, lint, ...)
# and then the pg_regress and pgTAP suites once more with the server's clock
# moved (Debian's libfaketime) to a date that changes every day, taken from a
# list of month ends, 29 February, year ends and days on which clocks change,
# with the server's TimeZone set to a zone for which that day is special.  It
# ends with one line "N passed, N failed, N skipped"; the exit status is
# non-zero on any failure.
#
# Options:
#   --only regress|isolation|pgtap|shell   run only these suites (repeatable)
#   --at 'YYYY-MM-DD HH:MM[:SS]'           run the suites (default: regress and
#                                          pgtap) only once, with the clock
#                                          moved to that UTC instant
#   --tz ZONE                              the server's TimeZone for --at
#   --reference                            run no suite: regenerate docs/reference.md
#                                          from the catalog (make reference) on the
#                                          throwaway cluster
# Environment as in test/lib.sh.
set -u
. "$(dirname "$0")/lib.sh"

only=""
at=""
tz=""
reference=""
while [ $# -gt 0 ]; do
	case "$1" in
		--only) only="$only $2"; shift 2 ;;
		--at) at="$2"; shift 2 ;;
		--tz) tz="$2"; shift 2 ;;
		--reference) reference=1; shift ;;
		*) rs_die "unknown option $1" ;;
	esac
done
if [ -n "$at" ]; then
	[[ "$at" =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}\ [0-9]{2}:[0-9]{2}(:[0-9]{2})?$ ]] \
		|| rs_die "--at takes 'YYYY-MM-DD HH:MM[:SS]' (UTC), not '$at'"
	[[ "$at" =~ :[0-9]{2}:[0-9]{2}$ ]] || at="$at:00"
	date -u -d "$at" >/dev/null 2>&1 || rs_die "--at '$at' is not a valid date"
	[ -n "$only" ] || only="regress pgtap"
fi
want() { [ -z "$only" ] || [[ " $only " == *" $1 "* ]]; }

rs_ensure_packages
rs_build_install
rs_start_cluster

if [ -n "$reference" ]; then
	cd "$RS_TOP" && make -s --no-print-directory PG_CONFIG="$RS_PG_CONFIG" reference
	exit $?
fi

passed=0
failed=0
skipped=0
logdir=$(mktemp -d /tmp/repairsys-test-log.XXXXXX)
chmod 755 "$logdir"

count_regress() {	# count pg_regress / pg_isolation_regress result lines of log $1; $2: its exit status
	local p f
	p=$(grep -cE '\.\.\. ok|^ok [0-9]+ ' "$1")
	f=$(grep -cE '\.\.\. FAILED|\.\.\. failed|^not ok [0-9]+ ' "$1")
	passed=$((passed + p)); failed=$((failed + f))
	# pg_regress that stopped without a failed test to show for it (no server,
	# a missing expected file, a crash): one failure more
	if [ "${2:-0}" -ne 0 ] && [ "$f" -eq 0 ] || [ $((p + f)) -eq 0 ]; then failed=$((failed + 1)); fi
}

count_tap() {	# count TAP assertions in verbose prove / pg_prove output $1
	local p f s
	# "ok N # skip reason" is a skipped check, not a passed one
	s=$(grep -ciE '^[[:space:]]*ok [0-9]+[^#]*#[[:space:]]*skip' "$1")
	p=$(grep -cE '^[[:space:]]*ok [0-9]+' "$1")
	f=$(grep -cE '^[[:space:]]*not ok [0-9]+' "$1")
	passed=$((passed + p - s)); failed=$((failed + f)); skipped=$((skipped + s))
	# a suite that died before its plan was complete fails once more
	if grep -qE 'Parse errors|Bad plan|Dubious|Non-zero exit status|No subtests run' "$1"; then
		failed=$((failed + 1))
	fi
}

cd "$RS_TOP"

# Regression files the server is too old for (the Makefile's REGRESS_SKIPPED)
regress_skipped=$(make -s --no-print-directory PG_CONFIG="$RS_PG_CONFIG" print-skipped 2>/dev/null)

# One pass over the wanted suites; $1 names it in the logs ("" or "moved").
run_suites() {
	local pass=$1 suites=$2 tag=${1:+ ($1 clock)} rc
	if [[ " $suites " == *" regress "* ]] && want regress; then
		rs_log "pg_regress suite$tag"
		make -s PG_CONFIG="$RS_PG_CONFIG" installcheck ISOLATION= >"$logdir/regress$pass.log" 2>&1
		rc=$?
		cat "$logdir/regress$pass.log"
		[ -f regression.diffs ] && head -c 20000 regression.diffs
		count_regress "$logdir/regress$pass.log" "$rc"
		for s in $regress_skipped; do
			echo "skipped: pg_regress test $s (needs a newer server than PostgreSQL $RS_PGVER)"
			skipped=$((skipped + 1))
		done
	fi
	if [[ " $suites " == *" isolation "* ]] && want isolation; then
		rs_log "isolation specs$tag"
		make -s PG_CONFIG="$RS_PG_CONFIG" installcheck REGRESS= >"$logdir/isolation$pass.log" 2>&1
		rc=$?
		cat "$logdir/isolation$pass.log"
		[ -f output_iso/regression.diffs ] && head -c 20000 output_iso/regression.diffs
		count_regress "$logdir/isolation$pass.log" "$rc"
	fi
	if [[ " $suites " == *" pgtap "* ]] && want pgtap && [ -n "$(ls test/pgtap/*.sql 2>/dev/null)" ]; then
		rs_log "pgTAP suites$tag"
		PGOPTIONS='-c client_min_messages=warning' psql -X -q -v ON_ERROR_STOP=1 -d postgres -c 'DROP DATABASE IF EXISTS repairsys_tap' -c 'CREATE DATABASE repairsys_tap' >/dev/null
		psql -X -q -v ON_ERROR_STOP=1 -d repairsys_tap -c 'CREATE EXTENSION pgtap' -c 'CREATE EXTENSION repairsys' >/dev/null
		pg_prove -v -d repairsys_tap test/pgtap/*.sql >"$logdir/pgtap$pass.log" 2>&1
		grep -vE '^[[:space:]]*ok [0-9]+' "$logdir/pgtap$pass.log"
		count_tap "$logdir/pgtap$pass.log"
	fi
	if [[ " $suites " == *" shell "* ]] && want shell && [ -n "$(ls test/t/*.sh 2>/dev/null)" ]; then
		rs_log "shell TAP tests$tag"
		export RS_TOP RS_BINDIR RS_PG_CONFIG RS_TMP RS_PGVER
		prove -v -e bash test/t/*.sh >"$logdir/shell$pass.log" 2>&1
		grep -vE '^[[:space:]]*ok [0-9]+' "$logdir/shell$pass.log"
		count_tap "$logdir/shell$pass.log"
	fi
}

# The moved clock: UTC instant and the server TimeZone that makes it special.
moved_dates=(
	'2027-01-31 23:40:00|Asia/Shanghai'         # month end in UTC, already February locally
	'2028-02-29 23:30:00|America/Los_Angeles'   # 29 February
	'2027-03-28 00:45:00|Europe/Berlin'         # 15 minutes before the EU spring-forward
	'2027-10-31 00:45:00|Europe/London'         # 15 minutes before the EU fall-back
	'2027-03-14 06:45:00|America/New_York'      # 15 minutes before the US spring-forward
	'2027-11-07 06:45:00|America/Chicago'       # 15 minutes before the US fall-back
	'2027-04-03 15:45:00|Australia/Sydney'      # 15 minutes before Sydney's fall-back
	'2029-12-31 23:50:00|Pacific/Chatham'       # year end in UTC, +13:45 locally
	'2028-12-31 15:50:00|Asia/Shanghai'         # ten minutes before the local new year
	'2027-06-30 23:59:00|UTC'                   # half-year end
)

if [ -n "$at" ]; then
	RS_FAKE_AT=$at RS_SERVER_TZ=${tz:-UTC} rs_restart_cluster
	echo "moved clock: $at UTC, server TimeZone ${tz:-UTC} (the server says it is $(psql -X -At -d postgres -c 'SELECT now()'))"
	run_suites moved "regress isolation pgtap shell"
else
	run_suites "" "regress isolation pgtap shell"
	if want regress || want pgtap; then
		pick=${moved_dates[$(( $(date -u +%s) / 86400 % ${#moved_dates[@]} ))]}
		RS_FAKE_AT=${pick%%|*} RS_SERVER_TZ=${pick##*|} rs_restart_cluster
		echo "moved clock: ${pick%%|*} UTC, server TimeZone ${pick##*|} (the server says it is $(psql -X -At -d postgres -c 'SELECT now()')); bash test/run.sh --at '${pick%%|*}' --tz ${pick##*|} repeats it"
		run_suites moved "regress pgtap"
	fi
fi

rm -rf "$logdir"
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
