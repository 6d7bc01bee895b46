#!/usr/bin/env bash
# The C of the learned models under valgrind memcheck, in a single-user
# backend of its own: the n-grams of random descriptions (Chinese, full-width
# letters and digits, punctuation, long texts cut at 2,000 characters, every
# byte of ASCII), the naive Bayes scoring through SPI (src/diagnosis.c) after
# the learning trigger learned, corrected and forgot tickets, and the
# logistic fit and prediction (src/churn.c) on random matrices and bad input,
# through refit_churn_model() and customer_profile.  A buffer read after its
# memory context was reset, or a read past an array, makes valgrind report
# errors; the test wants none.
set -u
. "$RS_TOP/test/tap.sh"
if ! command -v valgrind >/dev/null; then
	skip "valgrind is not installed"
	exit 0
fi
tap_tmp
dir=$(mktemp -d /tmp/models-valgrind.XXXXXX)
chmod 755 "$dir"
chown postgres "$dir" 2>/dev/null || sudo chown postgres "$dir"
cleanup_dir() { if [ -n "${REPAIRSYS_KEEP_LOG:-}" ]; then echo "# kept: $dir"; else rm -rf "$dir"; fi; }
tap_at_exit cleanup_dir
run_as_postgres() {
	if [ "$(id -un)" = postgres ]; then "$@"
	elif [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"
	else sudo -u postgres "$@"; fi
}
run_as_postgres "$RS_BINDIR/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 >/dev/null
echo "CREATE EXTENSION repairsys;" | run_as_postgres "$RS_BINDIR/postgres" --single -D "$dir/data" postgres >/dev/null 2>&1

perl -CS -e '
	srand(21);
	my @phrases = ("空调不制冷", "外机噪音很大", "洗衣机漏水", "屏幕不亮", "开机没反应", "冰箱结霜", "Ｅ５报错", "遥控器失灵",
	               "no cooling", "Water LEAK", "显示屏闪烁，有异响！", "电源灯不亮");
	my @codes = ("vg_a", "vg_b", "vg_c", "vg_d");
	print "INSERT INTO repairsys.customer (name) VALUES (\x27vg customer\x27);\n";
	print "INSERT INTO repairsys.technician (name, capacity) VALUES (\x27vg tech\x27, 1000);\n";
	print "INSERT INTO repairsys.service_type (code, name, labor_fee) VALUES (\x27vg\x27, \x27vg\x27, \x270+:1.00\x27);\n";
	print "INSERT INTO repairsys.fault_code (code, name, service_type) VALUES (\x27vg_a\x27, \x27a\x27, \x27vg\x27), (\x27vg_b\x27, \x27b\x27, NULL), (\x27vg_c\x27, \x27c\x27, NULL), (\x27vg_d\x27, \x27d\x27, \x27vg\x27);\n";
	print "CREATE TABLE vg (id bigint, k int);\n";
	for my $k (1 .. 16) {
		my $d = join(" ", map { $phrases[int(rand(@phrases))] } 1 .. 1 + int(rand(3)));
		print "INSERT INTO vg SELECT repairsys.open_ticket((SELECT max(id) FROM repairsys.customer), \x27vg\x27, \x27$d\x27), $k;\n";
	}
	print "UPDATE repairsys.ticket SET status = \x27assigned\x27, technician_id = (SELECT max(id) FROM repairsys.technician) WHERE id IN (SELECT id FROM vg);\n";
	print "UPDATE repairsys.ticket SET estimate_approved_at = now() WHERE id IN (SELECT id FROM vg);\n";
	print "UPDATE repairsys.ticket SET status = \x27in_progress\x27 WHERE id IN (SELECT id FROM vg);\n";
	print "UPDATE repairsys.ticket t SET status = \x27resolved\x27, labor_minutes = 10 + vg.k, fault_code = (ARRAY[\x27vg_a\x27, \x27vg_b\x27, \x27vg_c\x27, \x27vg_d\x27])[1 + vg.k % 4] FROM vg WHERE t.id = vg.id;\n";
	print "UPDATE repairsys.ticket t SET fault_code = \x27vg_b\x27 FROM vg WHERE t.id = vg.id AND vg.k % 5 = 0;\n";
	print "UPDATE repairsys.ticket t SET description = description || \x27 再次\x27 FROM vg WHERE t.id = vg.id AND vg.k % 7 = 0;\n";
	print "UPDATE repairsys.ticket t SET status = \x27in_progress\x27 FROM vg WHERE t.id = vg.id AND vg.k % 3 = 0;\n";
	print "UPDATE repairsys.ticket t SET status = \x27resolved\x27 FROM vg WHERE t.id = vg.id AND vg.k % 6 = 0;\n";
	print "SELECT repairsys.rebuild_diagnosis_model();\n";
	for my $k (1 .. 80) {
		my $d;
		my $r = rand();
		if ($r < 0.6) { $d = join("", map { $phrases[int(rand(@phrases))] } 1 .. 1 + int(rand(4))); }
		elsif ($r < 0.8) { $d = join("", map { chr(1 + int(rand(126))) } 1 .. int(rand(40))); }
		elsif ($r < 0.9) { $d = join("", map { chr(0x4e00 + int(rand(0x5000))) } 1 .. int(rand(60))); }
		else { $d = $phrases[int(rand(@phrases))] x (1 + int(rand(500))); }
		$d =~ s/[\r\n\\\x00]/ /g;
		$d =~ s/\x27/\x27\x27/g;
		my $st = (rand() < 0.3) ? "\x27vg\x27" : "NULL";
		my $kk = (rand() < 0.05) ? (0, 101, -1, "NULL")[int(rand(4))] : 1 + int(rand(5));
		print "SELECT count(*), coalesce(sum(probability), 0) <= 1.0000001 FROM repairsys.suggest_diagnosis(\x27$d\x27, $st, $kk);\n";
		print "SELECT count(*) FROM repairsys.diagnosis_grams(\x27$d\x27);\n" if $k % 4 == 0;
	}
	print "SELECT * FROM repairsys.suggest_diagnosis(NULL);\n";
	print "SELECT * FROM repairsys.suggest_diagnosis(\x27abc\x27, \x27nope\x27);\n";
	# churn: 60 customers with history, some coming back
	print "INSERT INTO repairsys.customer (name) SELECT \x27vg churn \x27 || g FROM generate_series(1, 30) g;\n";
	print "INSERT INTO repairsys.ticket (customer_id, service_type, description, opened_at) SELECT c.id, \x27vg\x27, \x27old\x27, timestamptz \x272020-01-01 00:00+00\x27 - make_interval(days => (c.id % 37)::int * 3 + j) FROM repairsys.customer c, generate_series(1, 1 + (c.id % 3)::int) j WHERE c.name LIKE \x27vg churn %\x27;\n";
	print "INSERT INTO repairsys.ticket (customer_id, service_type, description, opened_at) SELECT c.id, \x27vg\x27, \x27new\x27, timestamptz \x272020-03-01 00:00+00\x27 FROM repairsys.customer c WHERE c.name LIKE \x27vg churn %\x27 AND (c.id % 37 < 18) <> (c.id % 11 = 0);\n";
	print "SELECT samples, churned, converged FROM repairsys.refit_churn_model(\x272020-06-30 00:00+00\x27, \x27180 days\x27);\n";
	print "SELECT count(*), count(repairsys.churn_risk(id, \x272020-01-01 00:00+00\x27)) FROM repairsys.customer;\n";
	print "SELECT count(churn_risk) FROM repairsys.customer_profile;\n";
	for my $k (1 .. 24) {
		my $n = 1 + int(rand(120));
		my $p = 1 + int(rand(8));
		my @rows = map { "{" . join(",", map { sprintf("%.4f", rand(4) - 2) } 1 .. $p) . "}" } 1 .. $n;
		my @y = map { rand() < 0.4 ? "t" : "f" } 1 .. $n;
		my $lambda = (0, 0.01, 1, 10)[int(rand(4))];
		if ($k % 6 == 0) { $rows[int(rand($n))] = "{" . join(",", ("NaN") x $p) . "}"; }
		if ($k % 9 == 0) { pop @y; }
		print "SELECT iterations, converged FROM repairsys.logistic_fit(\x27{" . join(",", @rows) . "}\x27, \x27{" . join(",", @y) . "}\x27, $lambda, 50);\n";
	}
	print "SELECT * FROM repairsys.logistic_fit(\x27{1,2}\x27, \x27{t,f}\x27, 1);\n";
	print "SELECT repairsys.logistic_predict(\x27{1,2,3}\x27, \x27{1}\x27);\n";
	print "SELECT repairsys.logistic_predict(\x27{1,2}\x27, \x27{NULL}\x27);\n";
' >"$dir/in.sql"
chmod 644 "$dir/in.sql"
rc=0
run_as_postgres valgrind --suppressions="$RS_TOP/test/fuzz/valgrind.supp" --error-exitcode=9 --leak-check=no --track-origins=yes \
	--log-file="$dir/valgrind.log" "$RS_BINDIR/postgres" --single -D "$dir/data" -c shared_buffers=16MB postgres \
	<"$dir/in.sql" >"$dir/out.log" 2>&1 || rc=$?
summary=$(grep 'ERROR SUMMARY' "$dir/valgrind.log" | sed 's/^==[0-9]*== //')
errors=$(grep -c 'ERROR:' "$dir/out.log")
if [ "$rc" = 0 ] && echo "$summary" | grep -q '^ERROR SUMMARY: 0 errors'; then
	ok 0 "valgrind models: $summary ($(grep -c '' "$dir/in.sql") statements, $errors refused)"
else
	ok 1 "valgrind models (exit $rc)" "$(tail -20 "$dir/valgrind.log")"
fi
# the run did what it should: it learned, suggested, fitted, and refused the bad input
grep -q 'samples = "' "$dir/out.log"
ok $? "refit_churn_model() ran under valgrind" "$(grep -m3 'ERROR' "$dir/out.log")"
is "$(grep -c 'must be between 1 and 100\|must not be null\|does not exist\|two-dimensional\|finite numbers\|one per sample\|coefficients need' "$dir/out.log" | awk '{print ($1 >= 5) ? "yes" : "no"}')" "yes" \
	"the bad input was refused with its messages"
