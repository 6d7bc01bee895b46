#!/usr/bin/env bash
# The example consumer of docs/examples/consumer.py (Debian's python3-psycopg2)
# drains the event log once and prints what would be sent, one line per
# event; run again it prints nothing (the events were acknowledged).
set -u
. "$RS_TOP/test/tap.sh"
# (Debian's python3, which Debian's psycopg2 is installed for)
py=/usr/bin/python3
[ -x "$py" ] || py=python3
if ! "$py" -c 'import psycopg2' 2>/dev/null; then
	skip "python3-psycopg2 is not installed (Debian package python3-psycopg2)"
	exit 0
fi
tap_db db
q -d $db >/dev/null <<'SQL'
INSERT INTO repairsys.service_center (name) VALUES ('consumer center');
INSERT INTO repairsys.customer (name, service_center_id) VALUES ('consumer customer', 1);
INSERT INTO repairsys.technician (name, service_center_id) VALUES ('consumer tech', 1);
INSERT INTO repairsys.service_type (code, name, labor_fee) VALUES ('cons', 'consumer', '0+:1.00');
SELECT repairsys.open_ticket(1, 'cons', 'one');
SELECT repairsys.open_ticket(1, 'cons', 'two');
UPDATE repairsys.ticket SET status = 'assigned', technician_id = 1 WHERE id = 1;
UPDATE repairsys.ticket SET status = 'cancelled' WHERE id = 2;
SQL
n=$(q -d $db -c "SELECT count(*) FROM repairsys.event")
out=$("$py" "$RS_TOP/docs/examples/consumer.py" --once --consumer docs_example "dbname=$db" 2>&1)
printf '%s\n' "$out" | sed 's/^/# /'
is "$(printf '%s\n' "$out" | grep -c '^would send: ')" "$n" "the consumer printed one message per event ($n)"
printf '%s\n' "$out" | grep -qx 'would send: ticket 1 is now assigned'
ok $? "the status change reads as a message" "$out"
is "$(printf '%s\n' "$out" | tail -1)" "drained $n events" "it says how many it drained"
out=$("$py" "$RS_TOP/docs/examples/consumer.py" --once --consumer docs_example "dbname=$db" 2>&1)
is "$out" "drained 0 events" "run again, it gets nothing: the events were acknowledged"
