#!/usr/bin/env bash
# Every ticket change sends NOTIFY repairsys_events; a listening application
# gets it after commit.  PostgreSQL has no privilege on LISTEN: every role that
# can connect hears every payload, also a role with no grant at all, and any
# role can send a fake one.  So the payload is the id of the new ticket_event
# row and nothing else (docs/security.md): no ticket, states, technician or
# customer.  Needs committed transactions, so it runs as a shell test against
# the throwaway cluster.
set -u
. "$RS_TOP/test/tap.sh"
nobody=repairsys_notify_nobody_$$
drop_role() { psql -X -q -d postgres -c "DROP ROLE IF EXISTS $nobody" >/dev/null 2>&1; }
tap_at_exit drop_role
tap_db notify
db=$notify
tap_tmp
psql -X -q -d postgres -c "CREATE ROLE $nobody LOGIN" >/dev/null
psql -X -q -v ON_ERROR_STOP=1 -d $db >/dev/null <<'SQL'
INSERT INTO repairsys.customer (name) VALUES ('notify customer');
INSERT INTO repairsys.technician (name) VALUES ('notify tech');
INSERT INTO repairsys.service_type (code, name, labor_fee) VALUES ('nt', 'notify', '0+:1.00');
SQL
out=$(psql -X -d $db 2>&1 <<'SQL'
LISTEN repairsys_events;
SELECT repairsys.open_ticket(1, 'nt', 'x');
UPDATE repairsys.ticket SET status = 'assigned', technician_id = 1 WHERE id = 1;
BEGIN;
UPDATE repairsys.ticket SET status = 'cancelled' WHERE id = 1;
ROLLBACK;
SELECT 1;
SQL
)
ev1=$(psql -X -At -d $db -c "SELECT id FROM repairsys.ticket_event WHERE to_status = 'new'")
ev2=$(psql -X -At -d $db -c "SELECT id FROM repairsys.ticket_event WHERE to_status = 'assigned'")
check() { printf '%s\n' "$out" | grep -qF -- "$1"; ok $? "$2" "$out"; }
check "Asynchronous notification \"repairsys_events\" with payload \"$ev1\" received" 'opening notifies with the id of its history row'
check "Asynchronous notification \"repairsys_events\" with payload \"$ev2\" received" 'assignment notifies with the id of its history row'
nn=$(printf '%s\n' "$out" | grep -c 'Asynchronous notification "repairsys_events"')
[ "$nn" -eq 2 ]
ok $? "a rolled-back change notifies nobody" "expected 2 notifications, got $nn"
ev=$(psql -X -At -d $db -c "SELECT string_agg(coalesce(from_status,'-') || '>' || to_status, ',' ORDER BY id) FROM repairsys.ticket_event")
is "$ev" "->new,new>assigned" "history matches the notifications"
bad=$(printf '%s\n' "$out" | grep 'Asynchronous notification "repairsys_events"' | grep -cvE 'with payload "[0-9]+" received')
[ "$bad" -eq 0 ]
ok $? "every payload is a bare event id" "$bad payloads carry more than an id
$out"

# A role with no grant at all hears the notification (that is why the payload
# carries nothing) and cannot read the event it names.
psql -X -q -d $db -U $nobody -c 'LISTEN repairsys_events' -c 'SELECT pg_sleep(4)' -c 'SELECT 1' >"$tmp/notify.out" 2>&1 &
listener=$!
# (the change is made once the listener is asleep, so after its LISTEN)
for _ in $(seq 1 100); do
	[ "$(psql -X -At -d $db -c "SELECT count(*) FROM pg_stat_activity WHERE usename = '$nobody' AND query LIKE 'SELECT pg_sleep%'")" = 1 ] && break
	sleep 0.1
done
psql -X -q -d $db -c "SELECT repairsys.set_status(1, 'cancelled')" >/dev/null
wait $listener
ev3=$(psql -X -At -d $db -c "SELECT max(id) FROM repairsys.ticket_event")
grep -qF "with payload \"$ev3\" received" "$tmp/notify.out"
ok $? "a role with no grants hears the event id, and only that" "$(cat "$tmp/notify.out")"
r=$(psql -X -At -d $db -U $nobody -c "SELECT count(*) FROM repairsys.ticket_event" 2>&1)
case "$r" in *"permission denied"*) rc=0;; *) rc=1;; esac
ok $rc "and cannot read the event it names" "a role with no grants read the history: $r"
