#!/usr/bin/env bash
# repairsys.schedule_jobs() under a real pg_cron (issue 20, docs/events.md):
# the throwaway cluster preloads pg_cron where Debian's package is installed
# (test/lib.sh; cron.database_name = repairsys_cron).  A ticket opened five
# minutes ago with a 1-minute response target is escalated by run_jobs()
# running by itself: the test waits only until pg_cron's next minute has run
# it (polling; at most 75 s).
set -u
. "$RS_TOP/test/tap.sh"
db=repairsys_cron
if [ ! -e "$("$RS_PG_CONFIG" --pkglibdir)/pg_cron.so" ]; then
	skip "pg_cron is not installed for PostgreSQL $RS_PGVER (Debian package postgresql-$RS_PGVER-cron)"
	exit 0
fi
if [ "$(q -d postgres -c 'SHOW shared_preload_libraries')" != pg_cron ]; then
	skip "the cluster does not preload pg_cron"
	exit 0
fi
cleanup() {
	psql -X -q -d $db -c "SELECT cron.unschedule(jobid) FROM cron.job" -c 'DROP EXTENSION IF EXISTS pg_cron' \
		-c 'DROP EXTENSION IF EXISTS repairsys CASCADE' >/dev/null 2>&1
}
tap_at_exit cleanup
q -d $db -c 'CREATE EXTENSION repairsys' -c 'CREATE EXTENSION pg_cron' >/dev/null
q -d $db >/dev/null <<'SQL'
INSERT INTO repairsys.service_center (name) VALUES ('cron center');
INSERT INTO repairsys.customer (name, service_center_id) VALUES ('cron customer', 1);
INSERT INTO repairsys.service_type (code, name, labor_fee) VALUES ('cron', 'cron', '0+:1.00');
INSERT INTO repairsys.sla_policy (service_type, urgency, respond_within, resolve_within) VALUES ('cron', 'normal', '1min', '1h');
INSERT INTO repairsys.ticket (customer_id, service_type, description, opened_at) VALUES (1, 'cron', 'cron', now() - interval '5 minutes');
SQL
job=$(q -d $db -c "SELECT repairsys.schedule_jobs()")
[ -n "$job" ]
ok $? "schedule_jobs() registered run_jobs() with pg_cron (job $job)"
is "$(q -d $db -c "SELECT schedule || ' ' || command FROM cron.job WHERE jobname = 'repairsys_run_jobs'")" \
	"* * * * * SELECT * FROM repairsys.run_jobs()" "the job runs every minute"
q -d $db -c "SELECT repairsys.schedule_jobs('5 minutes')" >/dev/null
is "$(q -d $db -c "SELECT count(*) || ' ' || min(schedule) FROM cron.job WHERE jobname = 'repairsys_run_jobs'")" "1 */5 * * * *" \
	"scheduling again replaces the schedule"
q -d $db -c "SELECT repairsys.schedule_jobs()" >/dev/null
# wait for pg_cron's next minute
start=$(date +%s)
for _ in $(seq 1 750); do
	[ "$(q -d $db -c "SELECT count(*) FROM repairsys.event WHERE kind = 'sla_breached'")" -ge 1 ] && break
	sleep 0.1
done
waited=$(( $(date +%s) - start ))
ev=$(q -d $db -c "SELECT string_agg(kind || ':' || (payload ->> 'level'), ',' ORDER BY id) FROM repairsys.event WHERE kind LIKE 'sla%'")
is "$ev" "sla_warning:1,sla_warning:2,sla_breached:3" "pg_cron ran run_jobs() by itself: the ticket was escalated (after ${waited} s)"
status=$(q -d $db -c "SELECT status FROM cron.job_run_details WHERE command LIKE '%repairsys.run_jobs%' ORDER BY runid DESC LIMIT 1")
is "$status" succeeded "pg_cron reports the run succeeded"
