#!/usr/bin/env bash
# Spare parts through a plain pg_dump | psql round trip.  The ledger
# (stock_movement), the reservations (ticket_part) and the serialized units
# (part_unit) are dumped; stock is derived and not dumped: the restore rebuilds
# it through the triggers as the ledger and the reservations are loaded.  The
# source's ledger is written so that a later row sits physically before an
# earlier one (space of aborted inserts freed by VACUUM): the dump must still
# replay it in the order it was written, or the restore would refuse an issue
# that comes before its receipt.
set -u
. "$RS_TOP/test/tap.sh"
tap_db src
TAP_NO_EXTENSION=1 tap_db dst	# the restore target: empty, the dump creates the extension
tap_tmp
q -d $src >"$tmp/load.out" 2>&1 <<'SQL'
SET search_path = repairsys;
INSERT INTO service_center (name) VALUES ('dump East'), ('dump West');
INSERT INTO customer (name, service_center_id) SELECT 'dump customer', id FROM service_center WHERE name = 'dump East';
INSERT INTO asset (customer_id, model, serial_no) SELECT id, 'D-AC', 'd-1' FROM customer;
INSERT INTO service_type (code, name, labor_fee) VALUES ('d_fix', 'dump fix', '0+:1.00');
INSERT INTO part (sku, name, unit_cost, unit_price) VALUES ('D-CAP', 'Capacitor', 1.00, 3.00), ('D-FAN', 'Fan', 10.00, 25.00);
INSERT INTO part (sku, name, unit_cost, unit_price, serialized) VALUES ('D-PCB', 'Board', 100.00, 250.00, true);
SELECT id AS east FROM service_center WHERE name = 'dump East' \gset
SELECT id AS west FROM service_center WHERE name = 'dump West' \gset
-- aborted inserts leave space at the start of the table that VACUUM frees
BEGIN;
INSERT INTO stock_movement (sku, service_center_id, kind, qty) SELECT 'D-FAN', :east, 'receipt', 1 FROM generate_series(1, 400);
ROLLBACK;
SELECT receive_part('D-CAP', :east, 40, 1.10);
SELECT receive_part('D-FAN', :east, 6);
SELECT receive_part('D-PCB', :east, 3, serials => ARRAY['PCB-1', 'PCB-2', 'PCB-3']);
VACUUM repairsys.stock_movement;
-- these land in the freed space, before the receipts they draw on
SELECT open_ticket((SELECT id FROM customer), 'd_fix', 'one', asset_id => (SELECT id FROM asset)) AS t1 \gset
SELECT open_ticket((SELECT id FROM customer), 'd_fix', 'two') AS t2 \gset
SELECT reserve_part(:t1, 'D-CAP', 5), reserve_part(:t1, 'D-PCB', 1), reserve_part(:t2, 'D-FAN', 2), reserve_part(:t2, 'D-CAP', 3);
SELECT consume_part(:t1, 'D-CAP'), consume_part(:t1, 'D-PCB', ARRAY['PCB-2']);
SELECT return_part(:t1, 'D-CAP', 1, 'not needed');
SELECT transfer_part('D-CAP', :east, :west, 20);
SELECT adjust_stock('D-CAP', :east, -8, 'count');
SELECT adjust_stock('D-FAN', :east, -4, 'count');
SELECT release_part(:t2, 'D-CAP');
SQL
ok $? "a mixed parts workload"
sed 's/^/# /' "$tmp/load.out" | grep -i error

# Concurrency puts ids out of check order: an adjustment draws its id while
# another transaction holds the D-FAN stock row at West, writes a receipt
# there (a higher id) and commits; only then is the adjustment checked, and it
# draws on that receipt.  Replayed in id order it would come first and be
# refused; the ledger is numbered (seq) under the stock row's lock instead.
west=$(q -d $src -c "SELECT id FROM repairsys.service_center WHERE name = 'dump West'")
q -d $src >"$tmp/holder.out" 2>&1 <<SQL &
BEGIN;
SELECT repairsys.lock_stock('D-FAN', $west) IS NOT NULL;
SELECT pg_sleep(2);
INSERT INTO repairsys.stock_movement (sku, service_center_id, kind, qty, note) VALUES ('D-FAN', $west, 'receipt', 1, 'interleaved receipt');
COMMIT;
SQL
holder=$!
sleep 0.7
q -d $src -c "INSERT INTO repairsys.stock_movement (sku, service_center_id, kind, qty, note) VALUES ('D-FAN', $west, 'adjust', -1, 'interleaved adjustment')" >"$tmp/waiter.out" 2>&1
rc=$?
wait $holder
ok $((rc + $?)) "an adjustment waiting for the stock row draws on the receipt written meanwhile"
sed 's/^/# /' "$tmp/holder.out" "$tmp/waiter.out" | grep -i error
is "$(q -d $src -c "SELECT (SELECT id FROM repairsys.stock_movement WHERE note = 'interleaved adjustment') < (SELECT id FROM repairsys.stock_movement WHERE note = 'interleaved receipt')")" \
	"t" "the adjustment's id is below the receipt's"
is "$(q -d $src -c "SELECT (SELECT seq FROM repairsys.stock_movement WHERE note = 'interleaved adjustment') > (SELECT seq FROM repairsys.stock_movement WHERE note = 'interleaved receipt')")" \
	"t" "its seq is above: seq is the order the checks ran"
is "$(q -d $src -c "SELECT count(*) > 0 FROM (SELECT id, lag(id) OVER (ORDER BY ctid) AS prev FROM repairsys.stock_movement) x WHERE id < prev")" \
	"t" "the source's ledger is out of order on disk"

snapshot() {
	q -d "$1" <<'SQL'
SELECT 'movement', m.id, sku, c.name, kind, qty, ticket_id IS NOT NULL, unit_cost, note FROM repairsys.stock_movement m JOIN repairsys.service_center c ON c.id = m.service_center_id ORDER BY m.id;
SELECT 'ticket_part', id, ticket_id, sku, qty, state, unit_price, covered FROM repairsys.ticket_part ORDER BY id;
SELECT 'unit', serial, sku, c.name, state, ticket_id, asset_id FROM repairsys.part_unit u LEFT JOIN repairsys.service_center c ON c.id = u.service_center_id ORDER BY serial;
SELECT 'stock', sku, c.name, on_hand, reserved FROM repairsys.stock s JOIN repairsys.service_center c ON c.id = s.service_center_id ORDER BY sku, c.name;
SQL
}
snapshot $src >"$tmp/src"
"${RS_BINDIR:+$RS_BINDIR/}pg_dump" -d $src -f "$tmp/dump.sql" 2>"$tmp/dump.err"
ok $? "pg_dump (plain)"
# (the ledger is partitioned by month, docs/scaling.md: its rows are in the
# partitions, here all in the DEFAULT one, dumped in seq order)
ids=$(awk '/^COPY repairsys\.stock_movement_(default|[0-9][0-9][0-9][0-9]_[0-9][0-9]) /{on=1; next} on && /^\\\.$/{on=0} on{print $1}' "$tmp/dump.sql")
is "$(echo "$ids" | tr '\n' ' ')" "$(q -d $src -c "SELECT id FROM repairsys.stock_movement ORDER BY seq" | tr '\n' ' ')" \
	"the dump holds the ledger in the order its checks ran (seq), not in id order"
is "$(grep -c '^COPY repairsys.stock ' "$tmp/dump.sql")" "0" "stock (derived) is not in the dump"
psql -X -q -v ON_ERROR_STOP=1 -d $dst -f "$tmp/dump.sql" >"$tmp/restore.out" 2>&1
ok $? "psql restores the dump into a new database with the triggers firing"
sed 's/^/# /' "$tmp/restore.out" | grep -iE 'error|detail' | head -5
snapshot $dst >"$tmp/dst"
diff "$tmp/src" "$tmp/dst" >"$tmp/diff"
ok $? "ledger, reservations, units and the rebuilt stock equal the source's"
sed 's/^/# /' "$tmp/diff" | head -20
is "$(grep -c "^stock|" "$tmp/dst")" "5" "stock rows for every (part, center) of the ledger"
is "$(q -d $dst -c "SELECT count(*) FROM repairsys.stock s FULL JOIN (SELECT sku, service_center_id, sum(qty) AS q FROM repairsys.stock_movement GROUP BY 1, 2) l USING (sku, service_center_id) WHERE s.on_hand IS DISTINCT FROM l.q")" \
	"0" "restored stock equals the ledger sum everywhere"
is "$(q -d $dst -c "SELECT repairsys.reserve_part((SELECT max(id) FROM repairsys.ticket), 'D-CAP', 6) > 0" -c "SELECT on_hand - reserved FROM repairsys.stock s JOIN repairsys.service_center c ON c.id = s.service_center_id WHERE sku = 'D-CAP' AND c.name = 'dump East'")" \
	"t
2" "the restored stock takes new reservations up to what is available"
