#!/usr/bin/env bash
# Benchmark of the life cycle and the bill (issue 10), measured side by side
# in one run with pgbench (fixed seed, 4 clients, each figure the best of 3
# runs of 8 s, the scripts taking turns so that a busy machine slows them
# alike), at 10% and at 100% of the data set:
#   - a status change through the life-cycle trigger (check, stamps, SLA,
#     history row, event log row, NOTIFY, the reports' roll-up row), against an
#     application doing the same UPDATE plus its own history INSERT, its own
#     outbox INSERT (the event row, docs/events.md) and its own UPDATE of the
#     ticket's roll-up row (repairsys.ticket_fact, docs/performance.md
#     "Roll-ups") on a copy of the tables without triggers
#     (same rows, keys, indexes and the history's foreign key); and, for
#     comparison, against the application without an outbox (what the event
#     log costs the trigger) and on a bare copy with an empty history and no
#     foreign key;
#   - bill_detail for one ticket, against a primary-key lookup of the ticket.
# Usage: bash test/bench/lifecycle.sh [tickets]   (default 1,000,000)
set -u
. "$(dirname "$0")/../lib.sh"
RS_NO_ASSERTS=${RS_NO_ASSERTS-1}	# a release build: what is measured (or shown)
n=${1:-1000000}
rs_ensure_packages
rs_build_install
rs_start_cluster
dir=$(mktemp -d /tmp/bench-lc.XXXXXX)
tps1() {  # tps of one run of a pgbench script over the first $2 tickets
	pgbench -n -c 4 -j 2 -T 8 --random-seed=42 -D n="$2" -f "$1" repairsys_bench 2>/dev/null | sed -n 's/^tps = \([0-9.]*\).*/\1/p'
}
declare -A best
round() {  # one run of every script at both sizes, in turn; keeps each best
	local k t
	for k in trigger app appev bare bill pk; do
		for size in small n; do
			t=$(tps1 "$dir/$k.sql" "${!size}")
			best[$k.$size]=$(python3 -c "print(max(${best[$k.$size]:-0}, ${t:-0}))")
		done
	done
}
psql -X -q -d postgres -c 'CREATE DATABASE repairsys_bench' >/dev/null
psql -X -q -v ON_ERROR_STOP=1 -d repairsys_bench -c 'CREATE EXTENSION repairsys' >/dev/null
echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB; $(psql -X -At -d postgres -c 'SHOW server_version')"
start=$(date +%s)
psql -X -q -v ON_ERROR_STOP=1 -v n="$n" -d repairsys_bench <<'SQL'
SET client_min_messages = warning;
INSERT INTO repairsys.service_center (name, lat, lon, time_zone) SELECT 'bench center ' || i, 31 + i * 0.01, 121, 'Asia/Shanghai' FROM generate_series(1, 10) i;
INSERT INTO repairsys.customer (name, service_center_id) SELECT 'bench customer ' || i, 1 + i % 10 FROM generate_series(1, 10000) i;
INSERT INTO repairsys.technician (name, service_center_id, capacity) SELECT 'bench tech ' || i, 1 + i % 10, 1000000 FROM generate_series(1, 10000) i;
INSERT INTO repairsys.service_type (code, name, labor_fee, travel_fee, callout_fee)
	VALUES ('bench', 'bench', 'base=20, 0-60:2.00, 60-180:1.50, 180+:1.20, min=80', '0-10:0, 10+:2.50', 30);
INSERT INTO repairsys.sla_policy (service_type, urgency, respond_within, resolve_within)
	SELECT 'bench', u, '4h in mon-fri 09:00-18:00', '24h in mon-fri 09:00-18:00' FROM unnest(ARRAY['normal', 'urgent', 'emergency']) u;
-- tickets at work (imported with their state by the owner, as a migration would), with one history row each
INSERT INTO repairsys.ticket (customer_id, service_type, status, technician_id, service_center_id, opened_at, status_changed_at,
                              first_response_at, labor_minutes, travel_km, estimate_approved_at, changed_by)
SELECT 1 + i % 10000, 'bench', 'in_progress', 1 + i % 10000, 1 + i % 10, now() - interval '2 days', now() - interval '1 day',
       now() - interval '1 day', 30 + i % 200, i % 30, now() - interval '1 day', current_user
  FROM generate_series(1, :n) i;
INSERT INTO repairsys.ticket_event (ticket_id, from_status, to_status, at, actor)
SELECT id, 'assigned', 'in_progress', status_changed_at, current_user FROM repairsys.ticket;
-- the application's copy: the same tables, the same rows (history included),
-- the same keys, indexes and the history's foreign key to its ticket, and no
-- trigger
CREATE SCHEMA app;
CREATE TABLE app.ticket (LIKE repairsys.ticket INCLUDING DEFAULTS INCLUDING IDENTITY INCLUDING INDEXES);
INSERT INTO app.ticket OVERRIDING SYSTEM VALUE SELECT * FROM repairsys.ticket;
CREATE TABLE app.ticket_event (LIKE repairsys.ticket_event INCLUDING DEFAULTS INCLUDING IDENTITY INCLUDING INDEXES);
INSERT INTO app.ticket_event OVERRIDING SYSTEM VALUE SELECT * FROM repairsys.ticket_event;
SELECT setval(pg_get_serial_sequence('app.ticket_event', 'id'), (SELECT max(id) FROM app.ticket_event)) \g /dev/null
ALTER TABLE app.ticket_event ADD FOREIGN KEY (ticket_id) REFERENCES app.ticket (id);
-- its roll-up of the reports: the same rows, keys and indexes
CREATE TABLE app.ticket_fact (LIKE repairsys.ticket_fact INCLUDING DEFAULTS INCLUDING INDEXES INCLUDING CONSTRAINTS);
INSERT INTO app.ticket_fact SELECT * FROM repairsys.ticket_fact;
-- and its outbox: the event log's table, keys and checks, ids from a sequence
CREATE TABLE app.event (LIKE repairsys.event INCLUDING DEFAULTS INCLUDING INDEXES INCLUDING CONSTRAINTS);
CREATE SEQUENCE app.event_seq;
-- the copy earlier versions of this benchmark compared with: an empty
-- history without a foreign key (printed too, for comparison)
CREATE SCHEMA bare;
CREATE TABLE bare.ticket (LIKE repairsys.ticket INCLUDING DEFAULTS INCLUDING IDENTITY INCLUDING INDEXES);
INSERT INTO bare.ticket OVERRIDING SYSTEM VALUE SELECT * FROM repairsys.ticket;
CREATE TABLE bare.ticket_event (LIKE repairsys.ticket_event INCLUDING DEFAULTS INCLUDING IDENTITY INCLUDING INDEXES);
CREATE TABLE bare.ticket_fact (LIKE repairsys.ticket_fact INCLUDING DEFAULTS INCLUDING INDEXES INCLUDING CONSTRAINTS);
INSERT INTO bare.ticket_fact SELECT * FROM repairsys.ticket_fact;
VACUUM ANALYZE;
SQL
echo "data set: $n tickets with history, 10,000 technicians, 10,000 customers: loaded in $(( $(date +%s) - start )) s"
cat > "$dir/trigger.sql" <<'EOF2'
\set id random(1, :n)
UPDATE repairsys.ticket SET status = CASE status WHEN 'in_progress' THEN 'waiting_parts' ELSE 'in_progress' END WHERE id = :id;
EOF2
cat > "$dir/app.sql" <<'EOF2'
\set id random(1, :n)
BEGIN;
UPDATE app.ticket SET status = CASE status WHEN 'in_progress' THEN 'waiting_parts' ELSE 'in_progress' END, status_changed_at = now(), changed_by = current_user WHERE id = :id;
INSERT INTO app.ticket_event (ticket_id, from_status, to_status, actor, technician_id)
	SELECT id, CASE status WHEN 'in_progress' THEN 'waiting_parts' ELSE 'in_progress' END, status, current_user, technician_id FROM app.ticket WHERE id = :id;
UPDATE app.ticket_fact f SET resolve_by = t.resolve_by, counted = t.status_role <> 'cancelled' FROM app.ticket t WHERE t.id = :id AND f.ticket_id = t.id;
END;
EOF2
cat > "$dir/appev.sql" <<'EOF2'
\set id random(1, :n)
BEGIN;
UPDATE app.ticket SET status = CASE status WHEN 'in_progress' THEN 'waiting_parts' ELSE 'in_progress' END, status_changed_at = now(), changed_by = current_user WHERE id = :id;
WITH h AS (INSERT INTO app.ticket_event (ticket_id, from_status, to_status, actor, technician_id)
	SELECT id, CASE status WHEN 'in_progress' THEN 'waiting_parts' ELSE 'in_progress' END, status, current_user, technician_id FROM app.ticket WHERE id = :id
	RETURNING *)
INSERT INTO app.event (id, at, kind, ticket_id, service_center_id, payload)
	SELECT nextval('app.event_seq'), h.at, 'status_changed', h.ticket_id, t.service_center_id,
	       jsonb_build_object('history_id', h.id, 'from', h.from_status, 'to', h.to_status, 'role', t.status_role,
	                          'technician_id', h.technician_id, 'actor', h.actor, 'note', h.note)
	  FROM h JOIN app.ticket t ON t.id = h.ticket_id;
UPDATE app.ticket_fact f SET resolve_by = t.resolve_by, counted = t.status_role <> 'cancelled' FROM app.ticket t WHERE t.id = :id AND f.ticket_id = t.id;
END;
EOF2
sed 's/app\./bare./g' "$dir/app.sql" > "$dir/bare.sql"
cat > "$dir/bill.sql" <<'EOF2'
\set id random(1, :n)
SELECT * FROM repairsys.bill_detail WHERE ticket_id = :id;
EOF2
cat > "$dir/pk.sql" <<'EOF2'
\set id random(1, :n)
SELECT * FROM repairsys.ticket WHERE id = :id;
EOF2
printf '\n%-52s %14s %14s\n' "figure (transactions per second)" "10% of data" "100% of data"
small=$(( n / 10 ))
round; round; round
r() { python3 -c "print(round(${best[$1]} / ${best[$2]}, ${3:-2}))"; }
ok() { python3 -c "print('yes' if $1 else 'NO')"; }
printf '%-52s %14s %14s\n' "status change through the trigger" "${best[trigger.small]}" "${best[trigger.n]}" \
	"same UPDATE + history + outbox + roll-up by the app" "${best[appev.small]}" "${best[appev.n]}" \
	"same UPDATE + history + roll-up (no outbox), app" "${best[app.small]}" "${best[app.n]}" \
	"the same on a bare copy (empty history, no FK)" "${best[bare.small]}" "${best[bare.n]}" \
	"bill_detail for one ticket" "${best[bill.small]}" "${best[bill.n]}" "primary-key lookup of the ticket" "${best[pk.small]}" "${best[pk.n]}"
printf '%-52s %14s %14s\n' "ratio trigger / application (target >= 0.9)" "$(r trigger.small appev.small)" "$(r trigger.n appev.n)" \
	"ratio trigger / application without an outbox" "$(r trigger.small app.small)" "$(r trigger.n app.n)" \
	"ratio trigger / application on the bare copy" "$(r trigger.small bare.small)" "$(r trigger.n bare.n)" \
	"ratio PK lookup / bill_detail (target <= 20)" "$(r pk.small bill.small 1)" "$(r pk.n bill.n 1)"
echo "SUMMARY|lifecycle|status change through the trigger vs the application's UPDATE + history + outbox INSERT + roll-up UPDATE, 10% of $n tickets|$(r trigger.small appev.small)x|>= 0.9x|$(ok "${best[trigger.small]} / ${best[appev.small]} >= 0.9")"
echo "SUMMARY|lifecycle|status change through the trigger vs the application's UPDATE + history + outbox INSERT + roll-up UPDATE, 100% of $n tickets|$(r trigger.n appev.n)x|>= 0.9x|$(ok "${best[trigger.n]} / ${best[appev.n]} >= 0.9")"
echo "SUMMARY|lifecycle|the same against the application without an outbox (the event log's cost), 10% / 100%|$(r trigger.small app.small) / $(r trigger.n app.n)x|report|-"
echo "SUMMARY|lifecycle|the same against a bare copy (empty history, no FK), 10% / 100%|$(r trigger.small bare.small) / $(r trigger.n bare.n)x|report|-"
echo "SUMMARY|lifecycle|bill_detail for one ticket vs a primary-key lookup, 10% / 100%|$(r pk.small bill.small 1) / $(r pk.n bill.n 1)x slower|<= 20x|$(ok "${best[pk.small]} / ${best[bill.small]} <= 20 and ${best[pk.n]} / ${best[bill.n]} <= 20")"
echo
echo "plan of bill_detail for one ticket:"
psql -X -d repairsys_bench -c "EXPLAIN (COSTS OFF) SELECT * FROM repairsys.bill_detail WHERE ticket_id = 4242"
rm -rf "$dir"
