#!/usr/bin/env bash
# pg_dump -Fc / pg_restore of a demo company keeps every row of every table.
#
# repairsys.demo_load(300, 42) builds a company with tickets in every state,
# history, parts, invoices, payments, feedback with complaints and follow-ups.
# It is dumped with pg_dump -Fc and restored with pg_restore (as a superuser,
# triggers firing) into a fresh database.  The triggers that create rows
# (follow-ups of complaints, history events, assignment, ledger rows, load
# counters, stock) must not create them a second time for rows that come with
# the dump: every table, derived ones too, must have the same number of rows
# and the same content (md5 of its sorted rows, every column) before and
# after, and check_invariants() and billing_audit stay empty.
#
# The figures depend on the day the suite runs (the demo's history ends now),
# so the test prints none of them: only whether each table matches.
set -u
. "$RS_TOP/test/tap.sh"
tap_db dr_src
TAP_NO_EXTENSION=1 tap_db dr_dst	# the restore target: empty, pg_restore creates the extension
src=$dr_src
dst=$dr_dst
tap_tmp

# One line per table of the schema: name, row count, md5 of the sorted rows.
# stock_movement.seq is an order, renumbered on restore (docs/parts.md): its
# rank stands in for it.
tables() {
	q -d "$1" -c "SELECT c.relname FROM pg_class c
	               WHERE c.relnamespace = 'repairsys'::regnamespace AND c.relkind IN ('r', 'p') AND NOT c.relispartition
	               ORDER BY 1"
}
fingerprint() {
	local t
	for t in $(tables "$1"); do
		if [ "$t" = stock_movement ]; then
			q -d "$1" -c "SELECT '$t', count(*), md5(coalesce(string_agg(r, E'\n' ORDER BY r COLLATE \"C\"), ''))
			                FROM (SELECT (to_jsonb(x) - 'seq' || jsonb_build_object('seq_rank', rank() OVER (ORDER BY x.seq)))::text AS r
			                        FROM repairsys.stock_movement x) s"
		else
			q -d "$1" -c "SELECT '$t', count(*), md5(coalesce(string_agg(r, E'\n' ORDER BY r COLLATE \"C\"), ''))
			                FROM (SELECT x::text AS r FROM repairsys.$t x) s"
		fi
	done
}

q -d $src -c "SET client_min_messages = warning" -c "SELECT repairsys.demo_load(300, 42)" >"$tmp/load.out" 2>&1
ok $? "demo_load(300, 42) builds a demo company"
sed 's/^/# /' "$tmp/load.out" | grep -i error
# what the demo leaves empty: a holiday, an installment plan, a discount,
# serialized units, a changed seeded setting (dumped because changed), what
# run_jobs() writes and an event consumer
q -d $src >"$tmp/more.out" 2>&1 <<'SQL'
SET client_min_messages = warning;
INSERT INTO repairsys.holiday (service_center_id, day, name) VALUES (NULL, '2026-10-01', 'National Day');
SELECT count(*) FROM repairsys.plan_installments(
	(SELECT i.id FROM repairsys.invoice i WHERE NOT EXISTS (SELECT 1 FROM repairsys.payment p WHERE p.invoice_id = i.id) ORDER BY i.id LIMIT 1),
	3, date '2027-01-31', interval '1 month');
INSERT INTO repairsys.ticket_discount (ticket_id, description, amount)
	SELECT t.id, 'loyal customer', 1.00 FROM repairsys.ticket t
	 WHERE t.status IN ('assigned', 'in_progress') AND NOT EXISTS (SELECT 1 FROM repairsys.invoice i WHERE i.ticket_id = t.id)
	 ORDER BY t.id LIMIT 1;
-- approval authority: a changed seeded limit, a limit of a role of the
-- user's, and a discount a dispatcher asked for above their limit (pending)
UPDATE repairsys.approval_limit SET max_amount = 120.00 WHERE role = 'repairsys_dispatcher';
INSERT INTO repairsys.approval_limit (role, max_amount, max_pct) VALUES ('pg_monitor', 1.00, 1.00);
SET ROLE repairsys_dispatcher;
INSERT INTO repairsys.ticket_discount (ticket_id, description, amount)
	SELECT t.id, 'asked for', round(repairsys.discount_basis(t) / 2, 2) FROM repairsys.ticket t
	 WHERE t.status IN ('assigned', 'in_progress') AND NOT EXISTS (SELECT 1 FROM repairsys.invoice i WHERE i.ticket_id = t.id)
	 ORDER BY t.id DESC LIMIT 1;
RESET ROLE;
INSERT INTO repairsys.part (sku, name, unit_cost, unit_price, serialized) VALUES ('DR-BOARD', 'Main board (dump test)', 100.00, 250.00, true);
SELECT repairsys.receive_part('DR-BOARD', (SELECT min(id) FROM repairsys.service_center), 2, serials => ARRAY['DR-1', 'DR-2']);
UPDATE repairsys.setting SET value = '14 days' WHERE name = 'reopen_window';
-- cost management: an overhead, a budget, a recall with its tickets, a center's language
INSERT INTO repairsys.overhead (service_center_id, month, cost_class, amount)
	SELECT min(id), '2026-10-01', 'rent', 1000.00 FROM repairsys.service_center;
INSERT INTO repairsys.budget (service_center_id, month, cost_class, amount)
	SELECT min(id), '2026-10-01', 'labor', 5000.00 FROM repairsys.service_center;
SELECT tickets_opened > 0 FROM repairsys.open_recall('Gree KFR-35', 'D', 'E', 'demo_ac_repair', 'dump test recall');
UPDATE repairsys.service_center SET language = 'zh-CN' WHERE id = (SELECT min(id) FROM repairsys.service_center);
-- visits (docs/dispatch.md): rosters, an absence asked for and one approved,
-- visits booked, rescheduled, cancelled and checked in
INSERT INTO repairsys.technician_roster (technician_id, calendar, valid_from) SELECT id, 'mon-sun 08:00-20:00', '2030-01-01' FROM repairsys.technician;
INSERT INTO repairsys.technician_absence (technician_id, during, reason)
	SELECT min(id), '[2030-03-01, 2030-03-02)', 'training' FROM repairsys.technician;
INSERT INTO repairsys.technician_absence (technician_id, during, reason, status)
	SELECT max(id), '[2030-03-01, 2030-03-02)', 'leave', 'approved' FROM repairsys.technician;
SELECT count(repairsys.book_visit(t.id, timestamptz '2030-03-04 08:00+08' + t.n * interval '1 day'))
  FROM (SELECT t.id, row_number() OVER (ORDER BY t.id) AS n FROM repairsys.ticket t WHERE t.status = 'new' ORDER BY t.id LIMIT 3) t;
SELECT repairsys.reschedule_visit(min(ticket_id), '2030-03-12 10:00+08', 'customer away') FROM repairsys.appointment;
SELECT repairsys.cancel_visit(max(ticket_id), 'fixed by phone') FROM repairsys.appointment;
SELECT repairsys.check_in(min(ticket_id)) FROM repairsys.appointment WHERE state = 'booked';
-- a closed day next to a booked visit (the restore loads holidays before the
-- rosters that the visits' check needs: the table owner's rows are taken as
-- they are)
INSERT INTO repairsys.holiday (service_center_id, day, name) VALUES (NULL, '2030-03-07', 'closed next to a visit');
-- the jobs (escalations, follow-ups due, stuck tickets, notifications, with
-- a customer's preference) and an event consumer that acknowledged some
INSERT INTO repairsys.customer_preference (customer_id, language, channel) SELECT min(id), 'en', 'sms' FROM repairsys.customer;
SELECT count(*) FROM repairsys.run_jobs(now() + interval '60 days');
SELECT repairsys.ack_events('dump_test', (SELECT max(id) FROM repairsys.read_events('dump_test', 10)));
-- the learned models: fault codes on the resolved tickets (learned by the
-- trigger), and a churn model fitted on the last 3 days of the demo's history
INSERT INTO repairsys.fault_code (code, name) VALUES ('dr_a', '压缩机故障'), ('dr_b', '电路板故障');
UPDATE repairsys.ticket SET fault_code = CASE WHEN id % 2 = 0 THEN 'dr_a' ELSE 'dr_b' END WHERE status_role IN ('resolved', 'closed');
SELECT samples FROM repairsys.refit_churn_model(now() + interval '1 day', interval '3 days');
-- the history, the ledger and the event log in several months (docs/scaling.md):
-- this month's partitions (the rows so far move into them from the DEFAULT
-- partitions) and the next two, and rows dated in them and in a month
-- without partition (the DEFAULT partitions), in time order, as the owner
-- migrating rows would write them
-- (and a month of history detached, kept in schema repairsys_archive)
SELECT repairsys.ensure_partitions('2021-01-01', '2021-01-31') > 0;
INSERT INTO repairsys.ticket_event (ticket_id, from_status, to_status, at, note)
	SELECT t.id, t.status, t.status, '2021-01-10 10:00+00', 'archived' FROM repairsys.ticket t ORDER BY t.id LIMIT 2;
SELECT repairsys.detach_month('repairsys.ticket_event', '2021-01-01') = 2;
SELECT repairsys.ensure_partitions(now(), now() + interval '2 months') > 0;
INSERT INTO repairsys.ticket_event (ticket_id, from_status, to_status, at, note)
	SELECT t.id, t.status, t.status, v.at, 'dump test'
	  FROM (SELECT id, status FROM repairsys.ticket ORDER BY id LIMIT 3) t,
	       (VALUES (now() + interval '1 month'), (now() + interval '2 months'), (now() + interval '30 months')) v(at)
	 ORDER BY v.at, t.id;
INSERT INTO repairsys.stock_movement (sku, service_center_id, kind, qty, unit_cost, at, note)
	SELECT p.sku, c.id, 'receipt', 2, 1.00, v.at, 'dump test'
	  FROM (SELECT min(sku) AS sku FROM repairsys.part WHERE NOT serialized) p, (SELECT min(id) AS id FROM repairsys.service_center) c,
	       (VALUES (now() + interval '1 month'), (now() + interval '2 months'), (now() + interval '30 months')) v(at);
INSERT INTO repairsys.event (id, at, kind, ticket_id, service_center_id, payload)
	SELECT repairsys.next_event_id(), v.at, 'dump_test', NULL, NULL, '{}'
	  FROM (VALUES (now() + interval '1 month'), (now() + interval '30 months')) v(at);
SQL
ok $? "a holiday, an installment plan, a discount, serialized units, a changed setting, an overhead, a budget, a recall, visits, the jobs' rows, an event consumer and the learned models on top"
sed 's/^/# /' "$tmp/more.out" | grep -iE 'error|detail'
is "$(q -d $src -c "SELECT string_agg(c.relname, ' ' ORDER BY c.relname) FROM pg_class c
                    WHERE c.relnamespace = 'repairsys'::regnamespace AND c.relkind IN ('r', 'p') AND NOT c.relispartition
                      AND (xpath('/row/n/text()', query_to_xml(format('SELECT count(*) AS n FROM repairsys.%I', c.relname), false, true, '')))[1]::text = '0'")" \
	"" "no table of the source is empty"
is "$(q -d $src -c "SELECT (SELECT count(*) > 0 FROM repairsys.follow_up WHERE reason = 'complaint')
                          AND (SELECT count(*) > 0 FROM repairsys.follow_up WHERE reason = 'after_closure')
                          AND (SELECT count(*) > 0 FROM repairsys.feedback WHERE complaint)
                          AND (SELECT count(*) > 0 FROM repairsys.payment)
                          AND (SELECT count(*) > 0 FROM repairsys.stock_movement)")" \
	"t" "the company has complaints, both kinds of follow-up, payments and a parts ledger"
fingerprint $src >"$tmp/src"
# where the rows of the partitioned tables are: partition and count
spread() {
	q -d "$1" -c "SELECT string_agg(p || ':' || n, ' ' ORDER BY p) FROM (
	                SELECT tableoid::regclass::text AS p, count(*) AS n FROM repairsys.ticket_event GROUP BY 1
	                UNION ALL SELECT tableoid::regclass::text, count(*) FROM repairsys.stock_movement GROUP BY 1
	                UNION ALL SELECT tableoid::regclass::text, count(*) FROM repairsys.event GROUP BY 1) x"
}
spread $src >"$tmp/spread-src"
is "$(tr ' ' '\n' <"$tmp/spread-src" | sed -n 's/^repairsys\.\(ticket_event\|stock_movement\|event\)_\([0-9_]*\|default\):[0-9]*$/\1 \2/p' \
        | awk '{ n[$1]++; if ($2 == "default") d[$1]++ } END { printf "%s %s %s %s %s %s", n["ticket_event"], d["ticket_event"], n["stock_movement"], d["stock_movement"], n["event"], d["event"] }')" \
	"4 1 4 1 3 1" "rows of the history, the ledger and the event log in three months and in the DEFAULT partitions (ticket_event, stock_movement: 3 months; event: 2)"

"${RS_BINDIR:+$RS_BINDIR/}pg_dump" -Fc -d $src -f "$tmp/dump" 2>"$tmp/dump.err"
ok $? "pg_dump -Fc"
sed 's/^/# /' "$tmp/dump.err"
"${RS_BINDIR:+$RS_BINDIR/}pg_restore" -d $dst "$tmp/dump" 2>"$tmp/restore.err"
ok $? "pg_restore into a fresh database"
is "$(grep -c . "$tmp/restore.err")" "0" "pg_restore reports no error or warning"
sed 's/^/# /' "$tmp/restore.err" | head -20
fingerprint $dst >"$tmp/dst"
is "$(q -d $dst -c "SELECT count(*) FROM repairsys_archive.ticket_event_2021_01")" "2" "the detached month, a table of schema repairsys_archive, is restored with its rows"
is "$(spread $dst)" "$(cat "$tmp/spread-src")" "every row of the partitioned tables is restored into its month's partition (or the DEFAULT one)"
is "$(q -d $dst -c "SELECT count(*) FILTER (WHERE NOT c.relrowsecurity OR c.relacl::text ~ 'repairsys_'), count(*)
                     FROM pg_class c JOIN pg_inherits i ON i.inhrelid = c.oid
                    WHERE i.inhparent IN ('repairsys.ticket_event'::regclass, 'repairsys.stock_movement'::regclass, 'repairsys.event'::regclass)
                      AND c.relname ~ '_[0-9]{4}_[0-9]{2}$'")" "0|$(q -d $src -c "SELECT count(*) FROM pg_class WHERE relnamespace = 'repairsys'::regnamespace AND relispartition AND relname ~ '_[0-9]{4}_[0-9]{2}$'")" "the restored month partitions (all of them) keep row-level security and have no grants"

# table by table: same count and checksum
for t in $(tables $src); do
	a=$(grep "^$t|" "$tmp/src")
	b=$(grep "^$t|" "$tmp/dst")
	[ -n "$a" ] && [ "$a" = "$b" ]
	ok $? "$t: same rows after the restore" "  before: $(echo "$a" | cut -d'|' -f2) rows, after: $(echo "$b" | cut -d'|' -f2) rows"
done
is "$(tables $dst | tr '\n' ' ')" "$(tables $src | tr '\n' ' ')" "the restored database has the same tables"
is "$(q -d $dst -c "SELECT string_agg(role || ' ' || coalesce(max_amount::text, '-'), ', ' ORDER BY role) FROM repairsys.approval_limit WHERE dump")
$(q -d $dst -c "SELECT string_agg(status, ' ' ORDER BY status) FROM repairsys.ticket_discount")" \
	"pg_monitor 1.00, repairsys_dispatcher 120.00
approved pending" "the changed and the added approval limits and the pending discount survive the restore"
is "$(q -d $dst -c "SELECT count(*) FROM repairsys.check_invariants()")" "0" "check_invariants() is empty after the restore"
q -d $dst -c "SELECT * FROM repairsys.check_invariants() LIMIT 5" | sed 's/^/# /'
is "$(q -d $dst -c "SELECT count(*) FROM repairsys.billing_audit")" "0" "billing_audit is empty after the restore"
q -d $dst -c "SELECT * FROM repairsys.billing_audit LIMIT 5" | sed 's/^/# /'
# the restored models answer as the dumped ones (nothing learned twice; the
# churn risks as of a fixed time, the model's as_of)
models="SELECT string_agg(fault_code || ' ' || round(probability::numeric, 12) || ' ' || typical_parts::text || ' ' || coalesce(typical_minutes::text, '-'), '; ')
          FROM repairsys.suggest_diagnosis('屏幕不亮 pump 漏水', k => 5)
        UNION ALL SELECT round(avg(repairsys.churn_risk(c.id, m.as_of))::numeric, 12)::text FROM repairsys.customer c, repairsys.churn_model m"
is "$(q -d $dst -c "$models")" "$(q -d $src -c "$models")" "suggest_diagnosis and churn_risk answer the same after the restore"
# ids go on after the restored ones
is "$(q -d $dst -c "SELECT (SELECT max(id) FROM repairsys.follow_up) < nextval(pg_get_serial_sequence('repairsys.follow_up', 'id'))
                          AND (SELECT max(id) FROM repairsys.ticket_event) < nextval(pg_get_serial_sequence('repairsys.ticket_event', 'id'))")" \
	"t" "the identity sequences go on after the restored ids"

# events written after the restore come after the restored ones, and the
# restored consumer goes on from its cursor
is "$(q -d $dst -c "SELECT repairsys.open_ticket((SELECT min(id) FROM repairsys.customer), (SELECT min(code) FROM repairsys.service_type), 'after restore') > 0" \
        -c "SELECT max(id) = (SELECT max(id) FROM repairsys.event WHERE kind = 'ticket_opened' AND ticket_id = (SELECT max(id) FROM repairsys.ticket)) FROM repairsys.event" \
        -c "SELECT count(*) > 0 AND bool_and(id > (SELECT acked_up_to FROM repairsys.event_consumer WHERE name = 'dump_test')) FROM repairsys.read_events('dump_test', 10)" | tr '\n' ' ')" \
	"t t t " "a new event gets an id above every restored one; the restored consumer reads on after its cursor"

# the figures for the record (stderr: not part of the TAP output)
paste -d'|' "$tmp/src" "$tmp/dst" | awk -F'|' '{ printf "%-20s %8s %8s\n", $1, $2, $5 }' >&2
