#!/usr/bin/env bash
# The demo's day plan (test/demo.sql, section 11; docs/dispatch.md "The day
# plan of the demo"): the demo runs to its end in a fresh database, its plan
# of Shanghai Pudong is not empty, every planned visit is a ticket of that
# center, and the plan's total km (haversine, from each technician's base and
# back, as plan_day schedules) is at most the km of the same visits in booking
# order.  The km figures themselves are printed as comments: the demo's
# earlier sections depend on the day it runs (assets' ages, SLA clocks), so
# the test compares the two orders instead of pinning a figure.
set -u
. "$RS_TOP/test/tap.sh"
tap_db db
tap_tmp
q -d "$db" -v report_file="$tmp/report.html" -P pager=off -f "$RS_TOP/test/demo.sql" >"$tmp/demo.out" 2>&1
ok $? "the demo runs to its end" "$(tail -20 "$tmp/demo.out")"
# (the demo prints aligned tables: cells trimmed, separated by |)
plan=$(sed -n '/^== 11\./,$p' "$tmp/demo.out" | sed 's/ *| */|/g; s/^ *//; s/ *$//')
# the plan table: technician|order|ticket_id|arrival|window|km rows
rows=$(printf '%s\n' "$plan" | grep -Ec '^[A-Z][a-z]+ [A-Z][a-z]+\|[0-9]+\|[0-9]+\|[0-9]{2}:[0-9]{2}\|[0-9]{2}:[0-9]{2}-[0-9]{2}:[0-9]{2}\|[0-9.]+$')
[ "${rows:-0}" -ge 2 ]
ok $? "the demo shows a day plan of Pudong ($rows visits)" "$plan"
tickets=$(printf '%s\n' "$plan" | grep -E '^[A-Z][a-z]+ [A-Z][a-z]+\|[0-9]+\|' | cut -d'|' -f3 | paste -sd, -)
is "$(q -d "$db" -c "SELECT count(*) FROM repairsys.ticket t JOIN repairsys.service_center c ON c.id = t.service_center_id
                      WHERE c.name = 'Shanghai Pudong' AND t.status_role = 'initial' AND t.id IN (${tickets:-0})")" "$rows" \
	"every planned visit is an unbooked ticket of Pudong"
# the comparison row: technicians|visits|plan_km|booking_order_km|saved_pct
cmp=$(printf '%s\n' "$plan" | grep -E '^[0-9]+\|[0-9]+\|[0-9.]+\|[0-9.]+\|-?[0-9.]+$' | tail -1)
IFS='|' read -r techs visits plan_km booking_km saved <<<"${cmp:-||||}"
is "$visits" "$rows" "the km comparison counts the visits of the plan table"
awk -v p="${plan_km:-x}" -v b="${booking_km:-x}" 'BEGIN { exit !(p ~ /^[0-9.]+$/ && b ~ /^[0-9.]+$/ && p + 0 > 0 && p + 0 <= b + 0) }'
ok $? "the plan drives at most as far as booking order: $plan_km km <= $booking_km km ($saved % saved, $techs technicians)" "$plan"
diag "plan_km=$plan_km booking_order_km=$booking_km saved_pct=$saved"
