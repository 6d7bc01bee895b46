#!/usr/bin/env bash
# The customer's bill page (repairsys.bill_html) rendered in headless
# Chromium (Debian's chromium package, installed here when missing): the page
# is a complete document without external resources, the screenshot is not
# blank, and the total and every line's text are on the rendered page; then
# the same bill for a customer who reads Chinese (customer.language zh-CN,
# with a CJK font, fonts-wqy-microhei, installed here when missing): the page
# shows 合计 and the same total.
set -u
. "$RS_TOP/test/tap.sh"
if ! command -v chromium >/dev/null 2>&1; then
	if [ "$(id -u)" -eq 0 ]; then i=""; else i=sudo; fi
	$i env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null 2>&1
fi
if ! fc-list 2>/dev/null | grep -qi 'wqy\|cjk'; then
	if [ "$(id -u)" -eq 0 ]; then i=""; else i=sudo; fi
	$i env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fonts-wqy-microhei >/dev/null 2>&1
fi
png_rows() {
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
# count distinct filter-line byte patterns on a sample of rows: a blank page has one
print(len({raw[r * stride + 1:(r + 1) * stride] for r in range(0, h, max(1, h // 200))}))
PY
}
tap_db db
tap_tmp
q -d "$db" >/dev/null <<'SQL'
SET search_path = repairsys;
INSERT INTO service_center (name, lat, lon) VALUES ('html center', 31.2, 121.5);
INSERT INTO customer (name, service_center_id) VALUES ('Li <Lei> & "Sons"', 1);
INSERT INTO asset (customer_id, model, warranty_until) VALUES (1, 'AC', '2020-01-01');
INSERT INTO technician (name) VALUES ('html tech');
INSERT INTO service_type (code, name, labor_fee, travel_fee, callout_fee, est_minutes_low, est_minutes_high)
	VALUES ('html_ac', 'AC repair', 'base=20, 0-60:2.00, 60+:1.50, min=80', '0-10:0, 10+:2.50', 50, 45, 120);
INSERT INTO part (sku, name, unit_price) VALUES ('H-1', 'Capacitor', 30);
SELECT receive_part('H-1', 1, 5);
SELECT open_ticket(1, 'html_ac', 'not cooling', asset_id => 1);
SELECT reserve_part(1, 'H-1', 2);
UPDATE ticket SET status = 'assigned', technician_id = 1 WHERE id = 1;
SELECT approve_estimate(1);
UPDATE ticket SET status = 'in_progress' WHERE id = 1;
UPDATE ticket SET status = 'resolved', labor_minutes = 75, travel_km = 12.5 WHERE id = 1;
SELECT record_payment(issue_invoice(1), 'wechat', 100.00, 'html-1');
SQL
dir=$tmp
q -d "$db" -c "SELECT repairsys.bill_html(1)" > "$dir/bill.html"
total=$(q -d "$db" -c "SELECT total FROM repairsys.bill_summary WHERE ticket_id = 1")
q -d "$db" -c "UPDATE repairsys.customer SET language = 'zh-CN' WHERE id = 1" >/dev/null
q -d "$db" -c "SELECT repairsys.bill_html(1)" > "$dir/bill_zh.html"
total_zh=$(q -d "$db" -c "SELECT total FROM repairsys.bill_summary WHERE ticket_id = 1")
grep -q '^<!DOCTYPE html>' "$dir/bill.html" && grep -q '</html>' "$dir/bill.html"
ok $? "a complete HTML document" "not a complete document"
! grep -Eiq '(src|href)=|@import|url\(' "$dir/bill.html"
ok $? "no external resources" "the page refers to external resources"
grep -q 'Li &lt;Lei&gt; &amp; &quot;Sons&quot;' "$dir/bill.html"
ok $? "text is HTML-escaped" "customer name not escaped"
is "$total_zh" "$total" "the same total in every language"
grep -q '<html lang="zh-CN">' "$dir/bill_zh.html" && grep -q '合计' "$dir/bill_zh.html"
ok $? "the zh-CN customer's page is in Chinese" "the zh-CN customer's page is not in Chinese"
if ! command -v chromium >/dev/null 2>&1; then
	for _ in 1 2 3 4 5 6; do skip "chromium could not be installed"; done
else
	flags="--headless --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking --disable-component-update --disable-sync --user-data-dir=$dir/profile"
	timeout 120 chromium $flags --window-size=1000,1400 --screenshot="$dir/bill.png" "file://$dir/bill.html" >/dev/null 2>&1
	timeout 120 chromium $flags --dump-dom "file://$dir/bill.html" > "$dir/dom.html" 2>/dev/null
	colors=$(png_rows "$dir/bill.png")
	[ -s "$dir/bill.png" ] && [ "${colors:-0}" -gt 5 ]
	ok $? "the screenshot is not blank ($colors distinct rows)" "blank or missing screenshot (${colors:-none})"
	grep -q "$total CNY" "$dir/dom.html"
	ok $? "the rendered page shows the total $total" "total $total not on the rendered page"
	grep -q 'Labor: 15 min in the tier 60+ min, at 1.50 per min' "$dir/dom.html" && grep -q 'Balance due' "$dir/dom.html"
	ok $? "every line is explained and the balance is shown" "lines or balance missing"
	timeout 120 chromium $flags --window-size=1000,1400 --screenshot="$dir/bill_zh.png" "file://$dir/bill_zh.html" >/dev/null 2>&1
	timeout 120 chromium $flags --dump-dom "file://$dir/bill_zh.html" > "$dir/dom_zh.html" 2>/dev/null
	colors=$(png_rows "$dir/bill_zh.png")
	[ -s "$dir/bill_zh.png" ] && [ "${colors:-0}" -gt 5 ]
	ok $? "the Chinese screenshot is not blank ($colors distinct rows)" "blank or missing Chinese screenshot (${colors:-none})"
	grep -q '合计' "$dir/dom_zh.html" && grep -q "$total CNY" "$dir/dom_zh.html"
	ok $? "the rendered Chinese page shows 合计 and the total $total" "合计 or the total $total missing from the Chinese page"
	grep -q '人工费：60+ min 档 15 min，单价 1.50/min' "$dir/dom_zh.html" && grep -q '待付余额' "$dir/dom_zh.html" \
		&& ! grep -q 'Balance due' "$dir/dom_zh.html"
	ok $? "the Chinese page's lines and balance are in Chinese" "English or missing lines on the Chinese page"
fi
