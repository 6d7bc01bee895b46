#!/usr/bin/env bash
# Every ticket change sends NOTIFY repairsys_events with a JSON payload; a
# listening application gets it after commit.  Needs a committed transaction,
# so it runs as a shell test against the throwaway cluster.
set -u
db=repairsys_notify_$$
psql -X -q -d postgres -c "CREATE DATABASE $db" >/dev/null
psql -X -q -d $db -c 'CREATE EXTENSION repairsys' >/dev/null
psql -X -q -v ON_ERROR_STOP=1 -d $db >/dev/null <<'SQL'
INSERT INTO repairsys.customer (name) VALUES ('notify customer');
INSERT INTO repairsys.technician (name) VALUES ('notify tech');
INSERT INTO repairsys.service_type (code, name, labor_fee) VALUES ('nt', 'notify', '0+:1.00');
SQL
echo "1..4"
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
check() { if printf '%s\n' "$out" | grep -qF -- "$2"; then echo "ok $1 - $3"; else echo "not ok $1 - $3"; printf '# %s\n' "$out"; fi; }
check 1 'payload "{"ticket_id" : 1, "from" : null, "to" : "new", "technician_id" : null}"' 'opening notifies with from null'
check 2 'payload "{"ticket_id" : 1, "from" : "new", "to" : "assigned", "technician_id" : 1}"' 'assignment notifies with the technician'
n=$(printf '%s\n' "$out" | grep -c 'Asynchronous notification "repairsys_events"')
if [ "$n" -eq 2 ]; then echo "ok 3 - a rolled-back change notifies nobody"; else echo "not ok 3 - expected 2 notifications, got $n"; fi
ev=$(psql -X -At -d $db -c "SELECT string_agg(coalesce(from_status,'-') || '>' || to_status, ',' ORDER BY id) FROM repairsys.ticket_event")
if [ "$ev" = "->new,new>assigned" ]; then echo "ok 4 - history matches the notifications"; else echo "not ok 4 - history is $ev"; fi
psql -X -q -d postgres -c "DROP DATABASE $db" >/dev/null
