#!/usr/bin/env bash
# The manager's page (repairsys.report_html) rendered in headless Chromium
# (Debian's chromium package, installed here when missing), on a demo company
# with overheads, budgets and a stock alert: the page is a complete document
# without external resources, with inline SVG charts; the screenshot is not
# blank; and every figure on the rendered page equals the views' figure
# (service_benefit, budget_status, reputation, low_stock, the tickets' fault
# codes counted by a query), in English and,
# for a center whose language is zh-CN, in Chinese.
set -u
. "$RS_TOP/test/tap.sh"
if ! command -v chromium >/dev/null 2>&1; then
	if [ "$(id -u)" -eq 0 ]; then i=""; else i=sudo; fi
	$i env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null 2>&1
fi
tap_db db
tap_tmp
dir=$tmp
q -d "$db" >/dev/null <<'SQL'
SET client_min_messages = warning;
SET search_path = repairsys;
SELECT demo_load(150, 5);
-- the center and month with the most tickets
CREATE TABLE public.pick AS
SELECT service_center_id AS c, month AS m FROM service_benefit GROUP BY 1, 2 ORDER BY sum(tickets) DESC, 1, 2 LIMIT 1;
INSERT INTO overhead (service_center_id, month, cost_class, amount)
	SELECT c, m, k, a FROM public.pick, (VALUES ('rent', 1000.00), ('call_center', 333.33)) v(k, a);
INSERT INTO budget (service_center_id, month, cost_class, amount)
	SELECT c, m, k, a FROM public.pick, (VALUES ('labor', 100.00), ('rent', 1200.00), ('parts', 5000.00), ('travel', 0.00)) v(k, a);
UPDATE part SET min_stock = 1000 WHERE sku = 'DEMO-BOARD';
-- faults found on the tickets: three codes with different counts, and a
-- ticket of another center that must not count
INSERT INTO fault_code (code, name) VALUES ('cap.fail', 'Capacitor failed'), ('pump-block', 'Drain pump <blocked>'), ('board_burnt', 'Main board burnt');
UPDATE ticket t SET fault_code = (ARRAY['cap.fail', 'cap.fail', 'cap.fail', 'pump-block', 'pump-block', 'board_burnt'])[1 + t.id % 6]
  FROM public.pick p, service_center sc
 WHERE t.service_center_id = p.c AND sc.id = p.c AND t.id % 7 <> 0
   AND date_trunc('month', t.opened_at AT TIME ZONE sc.time_zone)::date = p.m;
UPDATE ticket t SET fault_code = 'board_burnt' WHERE t.id = (SELECT min(id) FROM ticket, public.pick p WHERE service_center_id <> p.c);
SQL
pick=$(q -d "$db" -c "SELECT c || ' ' || m FROM public.pick")
c=${pick%% *}; m=${pick#* }
q -d "$db" -c "SELECT repairsys.report_html($c, '$m')" > "$dir/report.html"
# the figures of the views
v() { q -d "$db" -c "$1"; }
sb="FROM repairsys.service_benefit WHERE service_center_id = $c AND month = '$m'"
revenue=$(v "SELECT sum(revenue) $sb")
full_cost=$(v "SELECT sum(full_cost) $sb")
indirect=$(v "SELECT sum(indirect_cost) $sb")
tickets=$(v "SELECT sum(tickets) $sb")
sla=$(v "SELECT round(100.0 * count(*) FILTER (WHERE t.resolved_at <= t.resolve_by)
                / nullif(count(*) FILTER (WHERE t.resolved_at IS NOT NULL AND t.resolve_by IS NOT NULL), 0), 1)
           FROM repairsys.ticket t JOIN repairsys.service_center sc ON sc.id = t.service_center_id
          WHERE t.service_center_id = $c AND t.status_role <> 'cancelled'
            AND date_trunc('month', t.opened_at AT TIME ZONE sc.time_zone)::date = '$m'")
ratings=$(v "SELECT coalesce((SELECT ratings FROM repairsys.reputation WHERE service_center_id = $c AND month = '$m'), 0)")
budget_rows=$(v "SELECT string_agg(cost_class || '=' || budget || '/' || actual, ' ' ORDER BY cost_class) FROM repairsys.budget_status WHERE service_center_id = $c AND month = '$m'")
low=$(v "SELECT count(*) FROM repairsys.low_stock WHERE service_center_id = $c")
faults=$(v "SELECT string_agg(fault_code || '=' || n, ' ' ORDER BY fault_code)
              FROM (SELECT t.fault_code, count(*) AS n
                      FROM repairsys.ticket t JOIN repairsys.service_center sc ON sc.id = t.service_center_id
                     WHERE t.service_center_id = $c AND t.status_role <> 'cancelled' AND t.fault_code IS NOT NULL
                       AND date_trunc('month', t.opened_at AT TIME ZONE sc.time_zone)::date = '$m'
                     GROUP BY 1) f")

grep -q '^<!DOCTYPE html>' "$dir/report.html" && grep -q '</html>' "$dir/report.html"
ok $? "a complete HTML document" "not a complete document"
! grep -Eiq '(src|href)=|@import|url\(' "$dir/report.html"
ok $? "no external resources" "the page refers to external resources"
[ "$(grep -o '<svg ' "$dir/report.html" | wc -l)" -ge 3 ]
ok $? "inline SVG charts: revenue against full cost, budget against actual, ratings" "fewer than three SVG charts"
is "$indirect" "1333.33" "the overheads of the month are allocated exactly to its tickets (1000.00 + 333.33)"

if ! command -v chromium >/dev/null 2>&1; then
	for _ in 1 2 3 4 5 6 7 8 9 10 11; do skip "chromium could not be installed"; done
	exit 0
fi
flags="--headless --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking --disable-component-update --disable-sync --user-data-dir=$dir/profile"
render() {	# $1: page; writes $1.png and $1.dom
	timeout 120 chromium $flags --window-size=1000,1800 --screenshot="$dir/$1.png" "file://$dir/$1.html" >/dev/null 2>&1
	timeout 120 chromium $flags --dump-dom "file://$dir/$1.html" > "$dir/$1.dom" 2>/dev/null
}
distinct_rows() {
	python3 - "$1" <<'PY'
import sys, zlib, struct
data = open(sys.argv[1], 'rb').read()
assert data[:8] == b'\x89PNG\r\n\x1a\n'
pos, idat, w, h, ct = 8, b'', 0, 0, 0
while pos < len(data):
    n, = struct.unpack('>I', data[pos:pos + 4]); typ = data[pos + 4:pos + 8]; body = data[pos + 8:pos + 8 + n]
    if typ == b'IHDR': w, h, depth, ct = struct.unpack('>IIBB', body[:10])
    if typ == b'IDAT': idat += body
    pos += 12 + n
raw = zlib.decompress(idat)
bpp = {2: 3, 6: 4}.get(ct, 4)
stride = w * bpp + 1
print(len({raw[r * stride + 1:(r + 1) * stride] for r in range(0, h, max(1, h // 200))}))
PY
}
render report
colors=$(distinct_rows "$dir/report.png" 2>/dev/null)
[ -s "$dir/report.png" ] && [ "${colors:-0}" -gt 5 ]
ok $? "the screenshot is not blank ($colors distinct rows)" "blank or missing screenshot (${colors:-none})"
dom() { grep -o "id=\"$1\">[^<]*<" "$dir/report.dom" | head -1 | sed 's/^[^>]*>//; s/<$//'; }
is "$(dom tickets) $(dom revenue) $(dom full_cost)" "$tickets $revenue CNY $full_cost CNY" "tickets, revenue and full cost on the page are service_benefit's"
is "$(dom sla_met)" "${sla:+$sla %}" "SLA met on the page is the month's share of tickets resolved by resolve_by"
page_budget=$(for k in labor parts rent travel; do printf '%s=%s/%s ' "$k" "$(dom "budget-$k")" "$(dom "actual-$k")"; done)
is "${page_budget% }" "$budget_rows" "budget against actual on the page is budget_status's"
stars=$(for s in 1 2 3 4 5; do grep -o "id=\"stars-$s\">[0-9]*<" "$dir/report.dom" | sed 's/[^0-9]//g; s/^\(.\)//'; done | awk '{ s += $1 } END { print s + 0 }')
is "$(dom ratings) $stars" "$ratings $ratings" "the ratings on the page are reputation's, and the distribution sums to them"
page_faults=$(for f in board_burnt cap.fail pump-block; do printf '%s=%s ' "$f" "$(dom "fault-$f")"; done)
[ "$(echo "$faults" | wc -w)" -eq 3 ] && grep -q '<td>pump-block</td><td>Drain pump &lt;blocked&gt;</td>' "$dir/report.dom" \
	&& grep -q '<td>cap.fail</td><td>Capacitor failed</td>' "$dir/report.dom"
ok $? "the three faults are on the page with their code and name (escaped)" "fault codes or names missing"
is "${page_faults% }" "$faults" "the most frequent faults on the page (code, name, count) are the center's tickets of the month, counted by a query"
[ "$low" -ge 1 ] && grep -q 'DEMO-BOARD' "$dir/report.dom"
ok $? "the stock alert of the center is on the page ($low low-stock rows)" "stock alert missing"

# the same center in Chinese
q -d "$db" -c "UPDATE repairsys.service_center SET language = 'zh-CN' WHERE id = $c"
q -d "$db" -c "SELECT repairsys.report_html($c, '$m')" > "$dir/zh.html"
render zh
colors=$(distinct_rows "$dir/zh.png" 2>/dev/null)
[ -s "$dir/zh.png" ] && [ "${colors:-0}" -gt 5 ]
ok $? "the Chinese page's screenshot is not blank ($colors distinct rows)" "blank or missing screenshot (${colors:-none})"
grep -q '<html lang="zh-CN">' "$dir/zh.dom" && grep -q '月度经营报告' "$dir/zh.dom" && grep -q '预算与实际' "$dir/zh.dom" && grep -q '库存预警' "$dir/zh.dom"
ok $? "a center whose language is zh-CN gets the page in Chinese" "Chinese texts missing"
is "$(grep -o 'id="revenue">[^<]*<' "$dir/zh.dom" | sed 's/^[^>]*>//; s/<$//')" "$revenue CNY" "the amounts are the same in every language"
