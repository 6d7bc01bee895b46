#!/usr/bin/env bash
# Dashboards at scale (issue 22, docs/performance.md "Dashboards at scale"):
# builds a company with repairsys.demo_load(tickets, seed, months) on a
# throwaway cluster tuned for a bulk load, ANALYZEs, and prints the load rate
# (tickets per second), the database size, and for every report view the BI
# query for one month and one center (median of 5 runs of EXPLAIN ANALYZE,
# in ms; the queries: test/bench/scale.sql), and the unfiltered service_benefit
# over the whole history.
# Usage: bash test/bench/scale.sh [tickets [months]]      (default 10,000,000 over 36 months)
#        bash test/bench/scale.sh --two-sizes [small big [months]]
#                                     (default 1,000,000 and 10,000,000): loads the small
#                                     size, measures, adds the rest, measures again and
#                                     prints each query's growth (big / small)
# The month measured is the last full month, the center the first of the
# first load.  Loads go in calls of at most LOAD_CHUNK (250,000) tickets,
# LOAD_SESSIONS (2) of them side by side (each call adds a company of its
# own, as demo_load does; as a superuser its set-based path takes no table
# lock, and the shared catalog is made before, so the calls wait for each
# other only at their ends, for the roll-ups' rebuild).  A query whose 5 runs take
# longer than QUERY_TIMEOUT (600s) together is printed as "timeout".  With LIFECYCLE=1 it ends with
# test/bench/lifecycle.sh (the life-cycle write ratio, trigger against
# application; a cluster of its own).  The cluster and its data directory are
# removed at the end.
set -u
. "$(dirname "$0")/../lib.sh"
RS_NO_ASSERTS=${RS_NO_ASSERTS-1}	# a release build: what is measured
two=""
if [ "${1:-}" = "--two-sizes" ]; then two=1; shift; fi
if [ -n "$two" ]; then
	small=${1:-1000000}; big=${2:-10000000}; months=${3:-36}
else
	big=${1:-10000000}; months=${2:-36}; small=""
fi
rs_ensure_packages
rs_build_install
rs_start_cluster
# bulk-load settings (on top of rs_start_cluster's fsync = off, full_page_writes
# = off): big shared buffers and maintenance memory, checkpoints far apart
# (but WAL kept to 8 GB: 10,000,000 tickets take about 50 GB of disk); the
# load session also runs with synchronous_commit = off
cat >>"$RS_TMP/data/postgresql.conf" <<CONF
shared_buffers = 2GB
maintenance_work_mem = 1GB
work_mem = 64MB
max_wal_size = 8GB
checkpoint_timeout = 30min
wal_level = minimal
max_wal_senders = 0
autovacuum = off
CONF
rs_restart_cluster
db=repairsys_scale
psql -X -q -d postgres -c "CREATE DATABASE $db" >/dev/null
psql -X -q -v ON_ERROR_STOP=1 -d $db -c 'CREATE EXTENSION repairsys' >/dev/null
echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB, load average $(cut -d' ' -f1-3 /proc/loadavg); $(psql -X -At -d postgres -c 'SHOW server_version'); $(date -u '+%Y-%m-%d %H:%M UTC')"
loaded=0
chunk_max=${LOAD_CHUNK:-250000}
sessions=${LOAD_SESSIONS:-2}
load_to() {	# adds tickets until $1 are loaded, in $sessions sessions side by side; prints the rate
	local want=$1 start end n chunk seed pids rc
	# the months' partitions first (demo_load makes missing ones itself, but
	# under a lock that would make the sessions wait for each other)
	psql -X -q -v ON_ERROR_STOP=1 -d $db -c "SELECT repairsys.ensure_partitions(now() - interval '$months months' - interval '1 day', now())" >/dev/null \
		|| rs_die "ensure_partitions failed"
	# and the catalog the loads share (two first loads side by side would both
	# insert it, and the second would wait for the first one's whole call)
	psql -X -q -v ON_ERROR_STOP=1 -d $db -c "SELECT repairsys.demo_catalog()" >/dev/null || rs_die "demo_catalog failed"
	start=$(date +%s.%N)
	while [ "$loaded" -lt "$want" ]; do
		pids=""
		for _ in $(seq 1 "$sessions"); do
			[ "$loaded" -lt "$want" ] || break
			chunk=$(( want - loaded )); [ "$chunk" -gt "$chunk_max" ] && chunk=$chunk_max
			seed=$(( 42 + loaded / chunk_max ))
			PGOPTIONS='-c synchronous_commit=off' psql -X -q -v ON_ERROR_STOP=1 -d $db \
				-c "SET client_min_messages = warning" -c "SELECT repairsys.demo_load($chunk, $seed, $months)" >/dev/null &
			pids="$pids $!"
			loaded=$(( loaded + chunk ))
		done
		rc=0
		for p in $pids; do wait "$p" || rc=1; done
		[ "$rc" = 0 ] || rs_die "a demo_load call failed"
	done
	end=$(date +%s.%N)
	psql -X -q -d $db -c 'VACUUM ANALYZE' >/dev/null
	n=$(( want - ${2:-0} ))
	echo "loaded $n tickets in $(python3 -c "print(round($end - $start, 1))") s ($sessions sessions side by side, calls of at most $chunk_max): $(python3 -c "print(round($n / ($end - $start)))") tickets/s; database $(psql -X -At -d $db -c "SELECT pg_size_pretty(pg_database_size('$db'))")"
}
declare -A ms
timeout=${QUERY_TIMEOUT:-600s}	# a query's 5 runs together; "timeout" is printed past it
measure() {	# median of each BI query at the current size, into ms[<label>.<view>]
	local label=$1 view query t opts
	while IFS='|' read -r view query; do
		[ -n "$view" ] || continue
		opts="-c statement_timeout=$timeout"
		[[ "$view" == *_jit_off ]] && opts="$opts -c jit=off"	# (scale.sql: the audit again, JIT off)
		t=$(PGOPTIONS="$opts" psql -X -At -d $db -f "$(dirname "$0")/scale.sql" -c "SELECT pg_temp.median_ms(\$q\$$query\$q\$)" 2>/dev/null | tail -1)
		[[ "$t" =~ ^[0-9.]+$ ]] || t=timeout
		ms[$label.$view]=$t
	done < <(psql -X -At -d $db -f "$(dirname "$0")/scale.sql" -c "SELECT view, query FROM pg_temp.bi_queries('$month', $center)" | grep '|')
	t=$(PGOPTIONS="-c statement_timeout=$timeout" psql -X -At -d $db -f "$(dirname "$0")/scale.sql" -c "SELECT pg_temp.median_ms('SELECT * FROM repairsys.service_benefit', 3)" 2>/dev/null | tail -1)
	[[ "$t" =~ ^[0-9.]+$ ]] || t=timeout
	ms[$label.all]=$t
}
views() { psql -X -At -d $db -f "$(dirname "$0")/scale.sql" -c "SELECT view FROM pg_temp.bi_queries('$month', $center)" | grep -v '^$' | grep -v '^SET$\|^CREATE FUNCTION$'; }
month=$(psql -X -At -d $db -c "SELECT (date_trunc('month', now() AT TIME ZONE 'Asia/Shanghai') - interval '1 month')::date")
first=${small:-$big}
load_to "$first"
center=$(psql -X -At -d $db -c "SELECT min(id) FROM repairsys.service_center")
echo "month $month, center $center ($(psql -X -At -d $db -c "SELECT count(*) FROM repairsys.ticket WHERE service_center_id = $center AND opened_at >= '$month' AND opened_at < '$month'::date + interval '1 month'") tickets opened in that month there)"
measure a
# the first size's figures (with --two-sizes, now: a long load of the big
# size that is stopped leaves them)
printf '\n%-26s %14s\n' "query (median ms)" "$first"
for v in $(views) all; do printf '%-26s %14s\n' "$v" "${ms[a.$v]}"; done
if [ -n "$two" ]; then
	load_to "$big" "$small"
	measure b
	printf '\n%-26s %14s %14s %8s\n' "query (median ms)" "$small" "$big" "growth"
	for v in $(views) all; do
		printf '%-26s %14s %14s %8s\n' "$v" "${ms[a.$v]}" "${ms[b.$v]}" "$(python3 -c "import sys; a, b = sys.argv[1:]; print(round(float(b) / max(float(a), 0.001), 2) if 'timeout' not in (a, b) else '-')" "${ms[a.$v]}" "${ms[b.$v]}")"
	done
fi
echo "(all: SELECT * FROM repairsys.service_benefit, every month and center; the others: month $month and center $center)"
rs_stop_cluster
if [ -n "${LIFECYCLE:-}" ]; then
	bash "$(dirname "$0")/lifecycle.sh"
else
	echo "life-cycle write ratio: LIFECYCLE=1 bash test/bench/scale.sh ..., or bash test/bench/lifecycle.sh"
fi
