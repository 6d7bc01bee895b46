#!/usr/bin/env bash
# Every ticket change sends NOTIFY repairsys_events; a listening application
# gets it after commit.  PostgreSQL has no privilege on LISTEN: every role that
# can connect hears every payload, also a role with no grant at all, and any
# role can send a fake one.  So the payload is the id of the new ticket_event
# row and nothing else (docs/security.md): no ticket, states, technician or
# customer.  Needs committed transactions, so it runs as a shell test against
# the throwaway cluster.
set -u
db=repairsys_notify_$$
nobody=repairsys_notify_nobody_$$
psql -X -q -d postgres -c "CREATE DATABASE $db" -c "CREATE ROLE $nobody LOGIN" >/dev/null
cleanup() { psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $db" -c "DROP ROLE IF EXISTS $nobody" >/dev/null 2>&1; }
trap cleanup EXIT
psql -X -q -d $db -c 'CREATE EXTENSION repairsys' >/dev/null
psql -X -q -v ON_ERROR_STOP=1 -d $db >/dev/null <<'SQL'
INSERT INTO repairsys.customer (name) VALUES ('notify customer');
INSERT INTO repairsys.technician (name) VALUES ('notify tech');
INSERT INTO repairsys.service_type (code, name, labor_fee) VALUES ('nt', 'notify', '0+:1.00');
SQL
echo "1..7"
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
check() { if printf '%s\n' "$out" | grep -qF -- "$2"; then echo "ok $1 - $3"; else echo "not ok $1 - $3"; printf '# %s\n' "$out"; fi; }
check 1 "Asynchronous notification \"repairsys_events\" with payload \"$ev1\" received" 'opening notifies with the id of its history row'
check 2 "Asynchronous notification \"repairsys_events\" with payload \"$ev2\" received" 'assignment notifies with the id of its history row'
n=$(printf '%s\n' "$out" | grep -c 'Asynchronous notification "repairsys_events"')
if [ "$n" -eq 2 ]; then echo "ok 3 - a rolled-back change notifies nobody"; else echo "not ok 3 - expected 2 notifications, got $n"; fi
ev=$(psql -X -At -d $db -c "SELECT string_agg(coalesce(from_status,'-') || '>' || to_status, ',' ORDER BY id) FROM repairsys.ticket_event")
if [ "$ev" = "->new,new>assigned" ]; then echo "ok 4 - history matches the notifications"; else echo "not ok 4 - history is $ev"; fi
bad=$(printf '%s\n' "$out" | grep 'Asynchronous notification "repairsys_events"' | grep -cvE 'with payload "[0-9]+" received')
if [ "$bad" -eq 0 ]; then echo "ok 5 - every payload is a bare event id"; else echo "not ok 5 - $bad payloads carry more than an id"; printf '# %s\n' "$out"; fi

# A role with no grant at all hears the notification (that is why the payload
# carries nothing) and cannot read the event it names.
psql -X -q -d $db -U $nobody -c 'LISTEN repairsys_events' -c 'SELECT pg_sleep(4)' -c 'SELECT 1' >"${TMPDIR:-/tmp}/notify_$$.out" 2>&1 &
listener=$!
# (the change is made once the listener is asleep, so after its LISTEN)
for _ in $(seq 1 100); do
	[ "$(psql -X -At -d $db -c "SELECT count(*) FROM pg_stat_activity WHERE usename = '$nobody' AND query LIKE 'SELECT pg_sleep%'")" = 1 ] && break
	sleep 0.1
done
psql -X -q -d $db -c "SELECT repairsys.set_status(1, 'cancelled')" >/dev/null
wait $listener
ev3=$(psql -X -At -d $db -c "SELECT max(id) FROM repairsys.ticket_event")
if grep -qF "with payload \"$ev3\" received" "${TMPDIR:-/tmp}/notify_$$.out"; then
	echo "ok 6 - a role with no grants hears the event id, and only that"
else
	echo "not ok 6 - a role with no grants hears the event id, and only that"; sed 's/^/# /' "${TMPDIR:-/tmp}/notify_$$.out"
fi
rm -f "${TMPDIR:-/tmp}/notify_$$.out"
r=$(psql -X -At -d $db -U $nobody -c "SELECT count(*) FROM repairsys.ticket_event" 2>&1)
case "$r" in *"permission denied"*) echo "ok 7 - and cannot read the event it names";; *) echo "not ok 7 - a role with no grants read the history: $r";; esac
