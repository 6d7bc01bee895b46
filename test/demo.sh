#!/usr/bin/env bash
# test/demo.sh: the README's demo command.
#
# On a fresh Debian 12 machine (root or sudo): installs what is missing from
# Debian's packages, builds and installs repairsys, starts a throwaway cluster
# in a temporary directory (as user postgres, private socket and port), creates
# the extension, loads a demo service company (test/demo.sql) and prints the
# story of what repairsys did; the manager's one-page report of a center is
# written to /tmp/repairsys-report.html (REPAIRSYS_REPORT: another file), and it
# ends with a day plan of one center against booking order (docs/dispatch.md).
# The cluster is stopped at the end; with --keep
# it is left running and the script says how to connect with psql.
set -u
. "$(dirname "$0")/lib.sh"
RS_NO_ASSERTS=${RS_NO_ASSERTS-1}	# a release build: what is measured (or shown)

keep=
case "${1:-}" in
	--keep) keep=1 ;;
	"") ;;
	*) rs_die "usage: test/demo.sh [--keep]" ;;
esac

rs_ensure_packages
rs_build_install
rs_start_cluster
[ -n "$keep" ] && RS_KEEP=1

psql -X -q -v ON_ERROR_STOP=1 -d postgres -c 'CREATE DATABASE repairsys_demo' >/dev/null
psql -X -q -v ON_ERROR_STOP=1 -d repairsys_demo -c 'CREATE EXTENSION repairsys' >/dev/null
# the manager's page (repairsys.report_html) is written here, outside the
# throwaway cluster, so that it is still there when the demo has ended
report_file=${REPAIRSYS_REPORT:-/tmp/repairsys-report.html}
psql -X -q -v ON_ERROR_STOP=1 -v report_file="$report_file" -P pager=off -d repairsys_demo -f "${DEMO_SQL:-$RS_TOP/test/demo.sql}" \
	|| rs_die "the demo failed"

if [ -n "$keep" ]; then
	cat <<MSG

The demo cluster is still running.  Connect with:
    psql -h $RS_TMP/sock -p $RS_PORT -U postgres repairsys_demo
Stop it with:
    runuser -u postgres -- $RS_BINDIR/pg_ctl -D $RS_TMP/data stop && rm -rf $RS_TMP
MSG
fi
