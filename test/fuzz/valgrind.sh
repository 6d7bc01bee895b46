#!/usr/bin/env bash
# test/fuzz/valgrind.sh TYPE: runs the input function of TYPE (sla_interval or
# fee_tier) on 3000 mutated strings (REPAIRSYS_FUZZ_INPUTS=N for another count;
# test/fuzz/run.sh runs 100,000 of each), then the type's kernels on the seeds
# (deadlines and elapsed times on DST days; charges and bill lines), in a
# single-user backend under valgrind memcheck.  Not part of test/run.sh (slow,
# needs valgrind); run by hand after changing a parser:
#   REPAIRSYS_PG_ROOT=/work/pg-x bash test/fuzz/valgrind.sh fee_tier
# Prints valgrind's error summary; exit status 9 when valgrind found errors.
set -eu
type=${1:-}
# TYPE lifecycle instead runs the C life-cycle triggers (src/lifecycle.c)
# through every path: transitions, refusals, guards, reopen, history, NOTIFY,
# restored rows, the functions on a wrong table, the extension dropped and
# created again in the same backend.
# TYPE forecast runs forecast_demand (src/forecast.c) on 2,000 random series:
# lengths 0..3000 (past the 1024 positions kept on the stack), zeros, -0,
# NULL, NaN, infinities and negative values.
# TYPE assign runs candidates() (src/scoring_spi.c: SPI scans into a C array),
# auto_assign and auto_assign_pending over 3,000 technicians, with the load
# kept by trigger through assignments, feedback and reassignment, then
# assignment_solve (src/assign.c) through each of its searches: the
# Jonker-Volgenant start on a dense square matrix, the sparse search with
# capacity short, the dense one with NULLs and with capacities.
# TYPE route runs route_solve (src/route.c) on 300 random instances (1 to 120
# customers, tight and wide windows, small fleets, unservable nodes,
# coincident points, zero demands and times, time limits of 0 to 100 ms) and
# on bad input (NULL elements, NaN, infinities, negative values, different
# lengths, ready after due, too few nodes, bad vehicles, capacity, limit).
case "$type" in sla_interval|fee_tier|lifecycle|forecast|assign|route) ;; *) echo "usage: test/fuzz/valgrind.sh sla_interval|fee_tier|lifecycle|forecast|assign|route" >&2; exit 2 ;; esac
. "$(dirname "$0")/../lib.sh"
if [ -n "${REPAIRSYS_VALGRIND_INSTALLED:-}" ] && [ -n "${RS_BINDIR:-}" ]; then
	:	# called by the test command (test/t/valgrind-c.sh): already built and installed
else
	rs_ensure_packages
	rs_build_install
fi
command -v valgrind >/dev/null || rs_die "valgrind is not installed (apt-get install valgrind)"
dir=$(mktemp -d /tmp/$type-valgrind.XXXXXX)
chmod 755 "$dir"
chown postgres "$dir" 2>/dev/null || rs_sudo chown postgres "$dir"
rs_as_postgres "$RS_BINDIR/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 >/dev/null
echo "CREATE EXTENSION repairsys;" | rs_as_postgres "$RS_BINDIR/postgres" --single -D "$dir/data" postgres >/dev/null 2>&1
if [ "$type" = assign ]; then
	cat >"$dir/in.sql" <<'SQL'
INSERT INTO repairsys.service_center (name, lat, lon) VALUES ('vg center', 31.2, 121.4);
INSERT INTO repairsys.customer (name, lat, lon, service_center_id) SELECT 'vg customer', 31.2, 121.4, id FROM repairsys.service_center;
INSERT INTO repairsys.service_type (code, name, required_skill, min_skill_level, labor_fee) VALUES ('vg', 'vg', 'hvac', 2, '0+:1.00');
INSERT INTO repairsys.technician (name, service_center_id, lat, lon, capacity, active) SELECT 'vg tech ' || g, CASE WHEN g % 7 = 0 THEN NULL ELSE (SELECT id FROM repairsys.service_center) END, CASE WHEN g % 11 = 0 THEN NULL ELSE 31.2 + (g % 97) / 300.0 END, 121.4 + (g % 89) / 300.0, g % 4, g % 10 <> 0 FROM generate_series(1, 3000) g;
INSERT INTO repairsys.technician_skill (technician_id, skill, level) SELECT id, 'hvac', 1 + id % 5 FROM repairsys.technician WHERE id % 3 <> 0;
INSERT INTO repairsys.assign_policy (name, max_distance_km, same_center) VALUES ('vg strict', 5, true);
SELECT count(repairsys.open_ticket((SELECT id FROM repairsys.customer), 'vg', 'vg ' || g)) FROM generate_series(1, 40) g;
SELECT count(*), count(*) FILTER (WHERE eligible), count(reason) FROM repairsys.candidates((SELECT min(id) FROM repairsys.ticket));
SELECT count(*), count(*) FILTER (WHERE eligible), count(reason) FROM repairsys.candidates((SELECT min(id) FROM repairsys.ticket), 'vg strict');
SELECT count(repairsys.auto_assign(id)) FROM repairsys.ticket WHERE description IN ('vg 1', 'vg 2', 'vg 3');
SELECT count(*) FROM repairsys.auto_assign_pending('vg strict');
SELECT count(*), count(*) FILTER (WHERE eligible) FROM repairsys.candidates((SELECT max(id) FROM repairsys.ticket WHERE technician_id IS NOT NULL));
UPDATE repairsys.ticket SET technician_id = (SELECT max(id) FROM repairsys.technician WHERE active) WHERE technician_id IS NOT NULL AND id % 2 = 0;
SELECT count(*) FROM repairsys.candidates((SELECT max(id) FROM repairsys.ticket));
SELECT count(*) AS load_drift FROM repairsys.check_invariants() WHERE invariant = 'technician load equals a recount';
SELECT * FROM repairsys.candidates(NULL);
SELECT * FROM repairsys.candidates(-1);
SELECT setseed(0.19);
SELECT count(x) AS jv_square FROM unnest(repairsys.assignment_solve((SELECT array_agg(r) FROM (SELECT i, array_agg(round(random()::numeric, 2)::float8 ORDER BY j) r FROM generate_series(1, 90) i, generate_series(1, 90) j GROUP BY i) z), array_fill(1, ARRAY[90]))) x;
SELECT count(x) AS sparse_short FROM unnest(repairsys.assignment_solve((SELECT array_agg(r) FROM (SELECT i, array_agg(CASE WHEN random() < 0.8 THEN NULL ELSE random() END ORDER BY j) r FROM generate_series(1, 120) i, generate_series(1, 60) j GROUP BY i) z), (SELECT array_agg((random() * 2)::integer) FROM generate_series(1, 60)))) x;
SELECT count(x) AS dense_short FROM unnest(repairsys.assignment_solve((SELECT array_agg(r) FROM (SELECT i, array_agg(CASE WHEN random() < 0.4 THEN NULL ELSE random() - 0.5 END ORDER BY j) r FROM generate_series(1, 100) i, generate_series(1, 40) j GROUP BY i) z), (SELECT array_agg((random() * 3)::integer) FROM generate_series(1, 40)))) x;
SELECT count(x) AS dense_capacities FROM unnest(repairsys.assignment_solve((SELECT array_agg(r) FROM (SELECT i, array_agg(random() ORDER BY j) r FROM generate_series(1, 70) i, generate_series(1, 20) j GROUP BY i) z), array_fill(3, ARRAY[20]))) x;
SQL
elif [ "$type" = route ]; then
	perl -e '
		srand(19);
		my @bad = ("NULL", "NaN", "Infinity", "-Infinity", "-1", "1e300", "-0");
		sub arr { return "\x27{" . join(",", @_) . "}\x27::float8[]"; }
		for my $k (1 .. 300) {
			my $n = 1 + (int(rand(4)) == 0 ? int(rand(120)) : int(rand(25)));
			my $wide = rand() < 0.5;
			my (@x, @y, @d, @r, @e, @s);
			for my $i (0 .. $n) {
				my $same = $i > 0 && rand() < 0.05;
				push @x, $same ? $x[-1] : sprintf("%.3f", rand(100) - ($k % 3 == 0 ? 50 : 0));
				push @y, $same ? $y[-1] : sprintf("%.3f", rand(100));
				push @d, $i == 0 ? 0 : int(rand(30));
				my $c = rand(400);
				my $w = $wide ? rand(400) : rand(40);
				push @r, $i == 0 ? 0 : sprintf("%.2f", $c);
				push @e, $i == 0 ? ($k % 7 == 0 ? 5 : 600) : sprintf("%.2f", $c + $w);
				push @s, $i == 0 ? ($k % 11 == 0 ? 3 : 0) : int(rand(15));
			}
			my $veh = 1 + int(rand(8));
			my $cap = $k % 5 == 0 ? 1e9 : 20 + int(rand(100));
			my $lim = (0, 10, 30, 100)[int(rand(4))];
			# one in four instances gets one bad element or one bad argument
			if ($k % 4 == 0) {
				my $which = int(rand(9));
				my $v = $bad[int(rand(@bad))];
				my $at = int(rand($n + 1));
				if ($which == 0) { $x[$at] = $v } elsif ($which == 1) { $d[$at] = $v }
				elsif ($which == 2) { $r[$at] = 1000; $e[$at] = 999 } elsif ($which == 3) { pop @s }
				elsif ($which == 4) { $s[$at] = $v } elsif ($which == 5) { $veh = int(rand(3)) - 1 }
				elsif ($which == 6) { $cap = (0, -1, "\x27NaN\x27", "\x27Infinity\x27")[int(rand(4))] }
				elsif ($which == 7) { $lim = (-1, 600001)[int(rand(2))] }
				else { @x = @y = @d = @r = @e = @s = (0) }
			}
			print "SELECT count(*), count(vehicle), coalesce(max(seq), 0) FROM repairsys.route_solve(" .
				join(", ", arr(@x), arr(@y), arr(@d), arr(@r), arr(@e), arr(@s)) . ", $veh, $cap, $lim);\n";
		}
		print "SELECT * FROM repairsys.route_solve(NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);\n";
		print "SELECT * FROM repairsys.route_solve(\x27{}\x27, \x27{}\x27, \x27{}\x27, \x27{}\x27, \x27{}\x27, \x27{}\x27, 1, 1);\n";
		print "SELECT * FROM repairsys.route_solve(\x27{{1,2}}\x27, \x27{1,2}\x27, \x27{1,2}\x27, \x27{1,2}\x27, \x27{1,2}\x27, \x27{1,2}\x27, 1, 1);\n";
	' >"$dir/in.sql"
elif [ "$type" = forecast ]; then
	perl -e '
		srand(11);
		my @special = ("0", "-0", "NULL", "NaN", "Infinity", "-Infinity", "-1", "1e308", "5e-324");
		my @methods = ("ses", "croston", "sba", "tsb", "SBA", "holt");
		for my $k (1 .. 2000) {
			my $n = int(rand(4)) == 0 ? int(rand(3001)) : int(rand(400));
			my @v = map { rand() < 0.9 ? "0" : (rand() < 0.995 ? int(1 + rand(5)) : $special[int(rand(@special))]) } 1 .. $n;
			my $m = $methods[int(rand(@methods))];
			print "SELECT repairsys.forecast_demand(\x27{" . join(",", @v) . "}\x27, \x27$m\x27);\n";
		}' >"$dir/in.sql"
elif [ "$type" = lifecycle ]; then
	for round in 1 2; do
		cat <<'SQL'
INSERT INTO repairsys.customer (name) VALUES ('vg customer');
INSERT INTO repairsys.technician (name, capacity) VALUES ('vg tech', 100);
INSERT INTO repairsys.service_type (code, name, labor_fee) VALUES ('vg', 'vg', '0+:1.00');
CREATE TABLE vg (id bigint);
INSERT INTO vg SELECT repairsys.open_ticket((SELECT max(id) FROM repairsys.customer), 'vg', 'valgrind ' || g) FROM generate_series(1, 20) g;
DO $$ BEGIN UPDATE repairsys.ticket SET status = 'closed' WHERE id IN (SELECT id FROM vg); EXCEPTION WHEN check_violation THEN RAISE NOTICE 'refused: %', SQLERRM; END $$;
DO $$ BEGIN UPDATE repairsys.ticket SET status = NULL WHERE id IN (SELECT id FROM vg); EXCEPTION WHEN check_violation THEN RAISE NOTICE 'refused: %', SQLERRM; END $$;
DO $$ BEGIN UPDATE repairsys.ticket SET status = 'assigned' WHERE id IN (SELECT id FROM vg); EXCEPTION WHEN check_violation THEN RAISE NOTICE 'guard: %', SQLERRM; END $$;
DO $$ BEGIN UPDATE repairsys.ticket SET closed_at = now() WHERE id IN (SELECT id FROM vg); EXCEPTION WHEN generated_always THEN RAISE NOTICE 'owned: %', SQLERRM; END $$;
UPDATE repairsys.ticket SET status = 'assigned', technician_id = (SELECT max(id) FROM repairsys.technician) WHERE id IN (SELECT id FROM vg);
UPDATE repairsys.ticket SET technician_id = NULL WHERE id IN (SELECT id FROM vg) AND id % 2 = 0;
UPDATE repairsys.ticket SET technician_id = (SELECT max(id) FROM repairsys.technician) WHERE id IN (SELECT id FROM vg);
UPDATE repairsys.ticket SET estimate_approved_at = now() WHERE id IN (SELECT id FROM vg);
SET repairsys.note = 'valgrind note';
UPDATE repairsys.ticket SET status = 'in_progress' WHERE id IN (SELECT id FROM vg);
RESET repairsys.note;
UPDATE repairsys.ticket SET status = 'waiting_parts' WHERE id IN (SELECT id FROM vg);
UPDATE repairsys.ticket SET status = 'in_progress', labor_minutes = 30 WHERE id IN (SELECT id FROM vg);
UPDATE repairsys.ticket SET status = 'resolved' WHERE id IN (SELECT id FROM vg);
UPDATE repairsys.ticket SET status = 'in_progress' WHERE id IN (SELECT id FROM vg) AND id % 2 = 0;
UPDATE repairsys.ticket SET status = 'resolved' WHERE id IN (SELECT id FROM vg) AND id % 2 = 0;
UPDATE repairsys.ticket SET status = 'new' WHERE id IN (SELECT id FROM vg) AND id % 3 = 0 AND status <> 'resolved';
UPDATE repairsys.ticket SET description = 'no status change' WHERE id IN (SELECT id FROM vg);
INSERT INTO repairsys.ticket (customer_id, service_type, status, opened_at, status_changed_at, closed_at) VALUES ((SELECT max(id) FROM repairsys.customer), 'vg', 'closed', '2025-01-02', '2025-01-03', '2025-01-03');
INSERT INTO repairsys.ticket_event (ticket_id, from_status, to_status, at, actor) SELECT max(id), 'resolved', 'closed', '2025-01-03', current_user FROM repairsys.ticket;
SELECT count(*) AS events, count(note) AS notes FROM repairsys.ticket_event;
SELECT count(*) AS invariant_violations, string_agg(invariant, ', ') AS which FROM repairsys.check_invariants();
CREATE TABLE vg_wrong (x int);
INSERT INTO vg_wrong VALUES (1);
CREATE TRIGGER t BEFORE UPDATE ON vg_wrong FOR EACH ROW EXECUTE FUNCTION repairsys.ticket_transition_trg();
UPDATE vg_wrong SET x = 2;
DROP TABLE vg_wrong;
DROP TABLE vg;
DROP EXTENSION repairsys;
CREATE EXTENSION repairsys;
SQL
	done >"$dir/in.sql"
else
FUZZ_TYPE=$type FUZZ_N=${REPAIRSYS_FUZZ_INPUTS:-3000} perl -e '
	srand(7);
	my $type = $ENV{FUZZ_TYPE};
	my @seeds = $type eq "fee_tier" ? ("base=50, 0-60:2.00, 60-180:1.50, 180+:1.20, min=80", "0+:1.5",
		"0-10:0, 10+:2.50, max=30", "0-30:2.5, 30-90:2, 90+:1.6, min=60, volume", "base=0.01, 0-0.001:9999.9999, 0.001+:0")
	: ("4h", "1h30min", "2d", "45min", "8h in mon-fri 09:00-18:00 Asia/Shanghai",
		"6h in mon-fri 08:00-12:00 13:00-17:00, sat 09:00-12:00 Europe/Berlin", "3h in mon-sun 22:00-06:00",
		"1000h in sat-mon 00:00-24:00 America/New_York", "5h in fri 20:00-02:00, sun 10:00-14:00",
		"2h in tue 9:00-12:00 13:00-24:00 UTC");
	my @toks = $type eq "fee_tier" ? ("0", "9", ".", ",", "-", "+", ":", "=", " ", "base", "min", "max", "volume",
		"999999999999999", "0.0001", "1.23456", "-1", "60+", "0-", "e5", "..", "99999999999999999999999999",
		"\xc3\xa9", "\xef\xbc\x91", "\xe4\xbd")	# é, full-width 1, a cut UTF-8 sequence
	: ("mon", "fri", "sun", "-", ",", " ", "in", "h", "min", "d", "24:00", "00:00", "9:", "99",
		"Asia/Shanghai", "/", "+", "..", "22:00-06:00", "0", "1000000000", ":");
	print "SET TimeZone = \x27Europe/Berlin\x27;\n" if $type eq "sla_interval";
	for my $i (1 .. $ENV{FUZZ_N}) {
		my $s = $seeds[int(rand(@seeds))];
		for (1 .. 1 + int(rand(4))) {
			my $p = int(rand(length($s) + 1));
			my $r = int(rand(5));
			if ($r == 0) { substr($s, $p, 1) = chr(1 + int(rand(126))) if $p < length($s); }
			elsif ($r == 1) { substr($s, $p, 0) = chr(1 + int(rand(126))); }
			elsif ($r == 2) { substr($s, $p, 1 + int(rand(3))) = "" if $p < length($s); }
			elsif ($r == 3) { substr($s, $p, 0) = $toks[int(rand(@toks))]; }
			else { $s = substr($s, $p) . substr($s, 0, $p); }
		}
		$s =~ s/[\r\n\\]/ /g;
		$s =~ s/\x27/\x27\x27/g;
		print "SELECT \x27$s\x27::repairsys.$type;\n";
	}
	for my $s (@seeds) {
		if ($type eq "fee_tier") {
			print "SELECT repairsys.charge(\x27$s\x27, q), (SELECT sum(amount) FROM repairsys.charge_lines(\x27$s\x27, q)) FROM unnest(\x27{0,0.0005,59.999,60,60.001,180,1e9}\x27::numeric[]) q;\n";
			next;
		}
		print "SELECT repairsys.sla_deadline(\x27$s\x27, \x272024-03-30 23:00+01\x27, \x27{2024-04-01}\x27), repairsys.sla_elapsed(\x27$s\x27, \x272024-10-26 20:00+02\x27, \x272024-11-05 10:00+01\x27);\n";
		# open (make-up) days, closed and open mixed, weeks skipped over them
		print "SELECT repairsys.sla_deadline(\x27$s\x27, \x272024-03-29 17:00+01\x27, \x27{2024-04-01,2024-04-06}\x27, NULL, \x27{2024-03-30,2024-03-31,2024-04-06}\x27, \x27{7,1,5}\x27), repairsys.sla_elapsed(\x27$s\x27, \x272024-10-25 20:00+02\x27, \x272025-11-05 10:00+01\x27, NULL, NULL, ARRAY(SELECT d::date FROM generate_series(date \x272024-10-26\x27, \x272025-12-31\x27, interval \x277 days\x27) d)), repairsys.sla_advance(\x27$s\x27, \x272024-10-25 20:00+02\x27, interval \x272000 hours\x27, NULL, NULL, ARRAY(SELECT d::date FROM generate_series(date \x272024-10-26\x27, \x272026-12-31\x27, interval \x273 days\x27) d));\n";
		# the concrete windows (sla_windows), open and closed days mixed, over DST changes
		print "SELECT count(*), sum(ends - starts) FROM repairsys.sla_windows(\x27$s\x27, \x272024-03-25 00:00+01\x27, \x272024-11-05 10:00+01\x27, \x27{2024-04-01,2024-04-06}\x27, NULL, \x27{2024-03-30,2024-03-31,2024-04-06}\x27, \x27{7,1,5}\x27);\n";
	}' >"$dir/in.sql"
fi
chmod 644 "$dir/in.sql"
rc=0
# (test/fuzz/valgrind.supp: reports inside PostgreSQL itself, not from
# repairsys: WAL buffers and, on 18, the relation cache's init file written
# with uninitialised padding, as PostgreSQL's own src/tools/valgrind.supp
# suppresses, and the regex cache's overlapping copy, which a CHECK
# constraint with ~ reaches)
rs_as_postgres valgrind --suppressions="$RS_TOP/test/fuzz/valgrind.supp" --error-exitcode=9 --leak-check=no --track-origins=yes --log-file="$dir/valgrind.log" \
	"$RS_BINDIR/postgres" --single -D "$dir/data" -c shared_buffers=16MB postgres <"$dir/in.sql" >"$dir/out.log" 2>&1 || rc=$?
echo "statements: $(grep -c '' "$dir/in.sql"), errors reported by the server: $(grep -c 'ERROR:' "$dir/out.log")"
grep 'ERROR SUMMARY' "$dir/valgrind.log"
if [ -n "${REPAIRSYS_KEEP_LOG:-}" ]; then echo "kept: $dir"; else rm -rf "$dir"; fi
exit $rc
