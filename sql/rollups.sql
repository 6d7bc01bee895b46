-- Roll-ups of the report views (docs/performance.md "Roll-ups"): the views
-- that read repairsys.ticket_fact (service_benefit, ticket_cost,
-- overhead_allocation, and budget_status, which reads service_benefit) give
-- exactly the rows of their old definitions, which recomputed everything from
-- the tickets (kept below as test-only temporary views), after a demo
-- company and after every kind of write; check_invariants() finds the
-- roll-up equal to its recomputation; a rolled-back write leaves nothing;
-- rollup_rebuild() repairs a roll-up written around its triggers; and the
-- month x center query reads the roll-up's index, not the tickets.  Rows are
-- compared as text, so a 0 where the old view gave 0.00 would show.  In a
-- database of its own, so that the ids the other files print do not depend
-- on the rows made here.  (The demo's history ends today, so only counts and
-- booleans are printed.)
SET TimeZone = 'America/Los_Angeles';
SET DateStyle = 'Postgres, MDY';
SET IntervalStyle = 'postgres';
\set SHOW_CONTEXT never
SET client_min_messages = warning;
SELECT current_database() AS regress_db \gset
DROP DATABASE IF EXISTS repairsys_rollups;
CREATE DATABASE repairsys_rollups;
\c repairsys_rollups
SET TimeZone = 'America/Los_Angeles';
SET DateStyle = 'Postgres, MDY';
SET IntervalStyle = 'postgres';
SET client_min_messages = warning;
-- (the old definitions compile to hundreds of JIT functions on this data)
SET jit = off;
CREATE EXTENSION repairsys;
SET search_path = repairsys, public;
SELECT demo_load(300, 42) AS tickets;

-- the definitions before the roll-ups (1.2 before issue 22), test-only
CREATE TEMP VIEW old_overhead_allocation AS
WITH drv AS (
	SELECT setting_value('overhead_driver') AS driver
), w AS (
	SELECT o.id AS overhead_id, o.service_center_id, o.month, o.cost_class, o.amount, d.driver, t.id AS ticket_id,
	       CASE d.driver WHEN 'tickets' THEN 1::numeric
	                     WHEN 'labor_minutes' THEN coalesce(t.labor_minutes, 0)
	                     ELSE greatest(coalesce(r.revenue, 0), 0) END AS driver_value
	  FROM overhead o
	  JOIN service_center sc ON sc.id = o.service_center_id
	 CROSS JOIN drv d
	  JOIN ticket t ON t.service_center_id = o.service_center_id
	   AND t.opened_at >= month_start(o.month, sc.time_zone)
	   AND t.opened_at < month_start((o.month + interval '1 month')::date, sc.time_zone)
	   AND t.status_role <> 'cancelled'
	  LEFT JOIN LATERAL (SELECT sum(l.amount) AS revenue
	                       FROM invoice i JOIN invoice_line l ON l.invoice_id = i.id
	                      WHERE i.ticket_id = t.id AND d.driver = 'revenue') r ON true
), units AS (
	SELECT w.*, pg_catalog.round(w.amount * 100) AS cents,
	       CASE WHEN sum(w.driver_value) OVER (PARTITION BY w.overhead_id) > 0 THEN pg_catalog.round(w.driver_value * 100) ELSE 1 END AS weight
	  FROM w
), shares AS (
	SELECT u.*, pg_catalog.div(u.cents * u.weight, sum(u.weight) OVER (PARTITION BY u.overhead_id)) AS whole,
	       pg_catalog.mod(u.cents * u.weight, sum(u.weight) OVER (PARTITION BY u.overhead_id)) AS rest
	  FROM units u
), ranked AS (
	SELECT s.*, s.cents - sum(s.whole) OVER (PARTITION BY s.overhead_id) AS left_over,
	       row_number() OVER (PARTITION BY s.overhead_id ORDER BY s.rest DESC, s.ticket_id) AS place
	  FROM shares s
)
SELECT x.overhead_id, x.service_center_id, x.month, x.cost_class, x.ticket_id, x.driver, x.driver_value,
       ((x.whole + CASE WHEN x.place <= x.left_over THEN 1 ELSE 0 END) / 100.0)::numeric(14,2) AS amount
  FROM ranked x;

CREATE TEMP VIEW old_ticket_cost AS
SELECT d.ticket_id, d.revenue, d.labor_cost, d.parts_cost, d.travel_cost, d.cost, d.revenue - d.cost AS margin,
       d.cost AS direct_cost,
       coalesce(a.indirect, 0.00) AS indirect_cost,
       d.cost + coalesce(a.indirect, 0.00) AS full_cost,
       d.revenue - d.cost - coalesce(a.indirect, 0.00) AS full_margin
  FROM (
	SELECT t.id AS ticket_id,
	       coalesce(r.revenue, 0.00) AS revenue,
	       round(coalesce(tech.hourly_cost, 0) * coalesce(t.labor_minutes, 0) / 60, 2) AS labor_cost,
	       coalesce(p.parts_cost, 0.00) AS parts_cost,
	       round(coalesce(t.travel_km, 0) * setting_value('travel_cost_per_km')::numeric, 2) AS travel_cost,
	       round(coalesce(tech.hourly_cost, 0) * coalesce(t.labor_minutes, 0) / 60, 2) + coalesce(p.parts_cost, 0.00)
	         + round(coalesce(t.travel_km, 0) * setting_value('travel_cost_per_km')::numeric, 2) AS cost
	  FROM ticket t
	  LEFT JOIN technician tech ON tech.id = t.technician_id
	  LEFT JOIN LATERAL (SELECT sum(l.amount) AS revenue FROM invoice i JOIN invoice_line l ON l.invoice_id = i.id
	                      WHERE i.ticket_id = t.id) r ON true
	  LEFT JOIN LATERAL (SELECT sum(-m.qty * coalesce(m.unit_cost, pt.unit_cost)) AS parts_cost
	                       FROM stock_movement m JOIN part pt ON pt.sku = m.sku
	                      WHERE m.ticket_id = t.id AND m.kind IN ('issue', 'return')) p ON true
  ) d
  LEFT JOIN (SELECT oa.ticket_id, sum(oa.amount) AS indirect FROM old_overhead_allocation oa GROUP BY oa.ticket_id) a
    ON a.ticket_id = d.ticket_id;

CREATE TEMP VIEW old_service_benefit AS
SELECT date_trunc('month', t.opened_at AT TIME ZONE coalesce(sc.time_zone, 'UTC'))::date AS month,
       t.service_center_id,
       t.service_type,
       count(*) AS tickets,
       sum(c.revenue) AS revenue,
       sum(c.labor_cost) AS labor_cost,
       sum(c.parts_cost) AS parts_cost,
       sum(c.travel_cost) AS travel_cost,
       sum(c.margin) AS margin,
       CASE WHEN sum(c.cost) > 0 THEN round(sum(c.margin) / sum(c.cost), 4) END AS roi,
       round(avg(fb.rating), 2) AS avg_rating,
       round(100.0 * count(*) FILTER (WHERE t.resolved_at <= t.resolve_by)
             / nullif(count(*) FILTER (WHERE t.resolved_at IS NOT NULL AND t.resolve_by IS NOT NULL), 0), 1) AS sla_met_pct,
       round((avg(extract(epoch FROM t.resolved_at - t.opened_at)) / 3600)::numeric, 2) AS mean_resolution_hours,
       sum(c.direct_cost) AS direct_cost,
       sum(c.indirect_cost) AS indirect_cost,
       sum(c.full_cost) AS full_cost,
       sum(c.full_margin) AS full_margin,
       CASE WHEN sum(c.full_cost) > 0 THEN round(sum(c.full_margin) / sum(c.full_cost), 4) END AS full_roi
  FROM ticket t
  LEFT JOIN service_center sc ON sc.id = t.service_center_id
  JOIN old_ticket_cost c ON c.ticket_id = t.id
  LEFT JOIN feedback fb ON fb.ticket_id = t.id
 WHERE t.status_role <> 'cancelled'
 GROUP BY 1, 2, 3;

CREATE TEMP VIEW old_budget_status AS
SELECT x.service_center_id, x.month, x.cost_class, x.budget, x.actual, x.projected,
       x.actual - x.budget AS variance,
       CASE WHEN x.actual > x.budget THEN 'over_budget'
            WHEN x.projected > x.budget THEN 'projected_over'
            ELSE 'ok' END AS alert
  FROM (
	SELECT b.service_center_id, b.month, b.cost_class, b.amount AS budget, a.actual,
	       CASE WHEN b.cost_class NOT IN ('labor', 'parts', 'travel') OR e.share <= 0 OR e.share >= 1 THEN a.actual
	            ELSE round(a.actual / e.share, 2) END AS projected
	  FROM budget b
	  JOIN service_center sc ON sc.id = b.service_center_id
	 CROSS JOIN LATERAL (SELECT month_elapsed(b.month, sc.time_zone, pg_catalog.now()) AS share) e
	 CROSS JOIN LATERAL (
		SELECT CASE b.cost_class
		         WHEN 'labor' THEN (SELECT coalesce(sum(s.labor_cost), 0.00) FROM old_service_benefit s
		                             WHERE s.service_center_id = b.service_center_id AND s.month = b.month)
		         WHEN 'parts' THEN (SELECT coalesce(sum(s.parts_cost), 0.00) FROM old_service_benefit s
		                             WHERE s.service_center_id = b.service_center_id AND s.month = b.month)
		         WHEN 'travel' THEN (SELECT coalesce(sum(s.travel_cost), 0.00) FROM old_service_benefit s
		                              WHERE s.service_center_id = b.service_center_id AND s.month = b.month)
		         ELSE (SELECT coalesce(sum(o.amount), 0.00) FROM overhead o
		                WHERE o.service_center_id = b.service_center_id AND o.month = b.month AND o.cost_class = b.cost_class)
		       END AS actual
	 ) a
  ) x;

CREATE TEMP VIEW old_reputation AS
WITH m AS (
	SELECT date_trunc('month', t.closed_at AT TIME ZONE sc.time_zone)::date AS month,
	       t.service_center_id,
	       count(*) AS closed_tickets,
	       count(fb.rating) AS ratings,
	       round(100.0 * count(*) FILTER (WHERE fb.rating >= 4) / nullif(count(fb.rating), 0), 1) AS csat_pct,
	       round(100.0 * count(*) FILTER (WHERE fb.rating <= 2) / nullif(count(fb.rating), 0), 1) AS detractor_pct,
	       round(100.0 * count(*) FILTER (WHERE fb.complaint) / count(*), 2) AS complaint_rate,
	       round(100.0 * count(*) FILTER (WHERE rework_of(t) IS NOT NULL) / count(*), 1) AS repeat_rate
	  FROM ticket t
	  JOIN service_center sc ON sc.id = t.service_center_id
	  LEFT JOIN feedback fb ON fb.ticket_id = t.id
	 WHERE t.status_role = 'closed' AND t.closed_at IS NOT NULL
	 GROUP BY 1, 2
)
SELECT m.month, m.service_center_id, m.closed_tickets, m.ratings, m.csat_pct, m.detractor_pct, m.complaint_rate, m.repeat_rate,
       m.ratings - p.ratings AS ratings_change,
       m.csat_pct - p.csat_pct AS csat_change,
       m.detractor_pct - p.detractor_pct AS detractor_change,
       m.complaint_rate - p.complaint_rate AS complaint_change,
       m.repeat_rate - p.repeat_rate AS repeat_change
  FROM m
  LEFT JOIN m p ON p.service_center_id = m.service_center_id AND p.month = (m.month - interval '1 month')::date;

CREATE TEMP VIEW old_technician_performance AS
SELECT tech.id AS technician_id,
       tech.name,
       tech.service_center_id,
       coalesce(s.tickets, 0)::integer AS tickets,
       coalesce(s.resolved, 0)::integer AS resolved,
       round(s.first_fixes::numeric / nullif(s.resolved, 0), 4) AS first_time_fix_rate,
       round((s.resolved - s.first_fixes)::numeric / nullif(s.resolved, 0), 4) AS rework_rate,
       round(s.business_hours, 2) AS mean_resolution_business_hours,
       round(100.0 * s.sla_met / nullif(s.sla_measured, 0), 1) AS sla_met_pct,
       round(s.avg_rating, 2) AS avg_rating,
       coalesce(s.labor_minutes_30d, 0)::numeric(12,2) AS labor_minutes_30d,
       round(coalesce(s.labor_minutes_30d, 0)
             / nullif(setting_value('technician_available_hours_30d')::numeric * 60, 0), 4) AS utilization
  FROM technician tech
  LEFT JOIN LATERAL (
	SELECT count(*) AS tickets,
	       count(*) FILTER (WHERE t.resolved_at IS NOT NULL) AS resolved,
	       count(*) FILTER (WHERE t.resolved_at IS NOT NULL AND t.reopen_count = 0 AND NOT EXISTS (
	            SELECT 1 FROM ticket r
	             WHERE r.asset_id = t.asset_id AND r.service_type = t.service_type AND r.id <> t.id
	               AND r.status_role <> 'cancelled'
	               AND r.opened_at > t.resolved_at
	               AND r.opened_at <= t.resolved_at + setting_value('rework_window')::interval)) AS first_fixes,
	       avg(date_part('epoch', CASE WHEN t.sla_resolve_within IS NOT NULL
	                                   THEN sla_elapsed(t.sla_resolve_within, t.opened_at, t.resolved_at,
	                                                    closed_dates(t.service_center_id), t.sla_time_zone,
	                                                    od.days, od.works_as)
	                                   ELSE t.resolved_at - t.opened_at END) / 3600)
	         FILTER (WHERE t.resolved_at IS NOT NULL)::numeric AS business_hours,
	       count(*) FILTER (WHERE t.resolved_at <= t.resolve_by) AS sla_met,
	       count(*) FILTER (WHERE t.resolved_at IS NOT NULL AND t.resolve_by IS NOT NULL) AS sla_measured,
	       avg(fb.rating) AS avg_rating,
	       sum(t.labor_minutes) FILTER (WHERE t.resolved_at >= now() - interval '30 days') AS labor_minutes_30d
	  FROM ticket t
	 CROSS JOIN LATERAL open_dates(t.service_center_id) od
	  LEFT JOIN feedback fb ON fb.ticket_id = t.id
	 WHERE t.technician_id = tech.id AND t.status_role <> 'cancelled'
  ) s ON true;

-- one row per view: rows only in the new view, rows only in the old one
-- (as text), rows in all; and the roll-up's invariant
CREATE FUNCTION pg_temp.diff(v text) RETURNS TABLE (view text, only_new bigint, only_old bigint, rows bigint)
LANGUAGE plpgsql AS $$
BEGIN
	-- (each side materialized once: planned together, the two sides of
	-- EXCEPT ALL over budget_status's lateral subqueries took minutes)
	EXECUTE format('CREATE TEMP TABLE new_rows AS SELECT s::text AS r FROM repairsys.%I s', v);
	EXECUTE format('CREATE TEMP TABLE old_rows AS SELECT s::text AS r FROM pg_temp.%I s', 'old_' || v);
	RETURN QUERY SELECT v, (SELECT count(*) FROM (SELECT r FROM new_rows EXCEPT ALL SELECT r FROM old_rows) x),
	                    (SELECT count(*) FROM (SELECT r FROM old_rows EXCEPT ALL SELECT r FROM new_rows) x),
	                    (SELECT count(*) FROM new_rows);
	DROP TABLE new_rows;
	DROP TABLE old_rows;
END
$$;
CREATE FUNCTION pg_temp.same() RETURNS TABLE (view text, only_new bigint, only_old bigint, rows bigint)
LANGUAGE sql AS $$
	SELECT d.* FROM unnest(ARRAY['service_benefit', 'ticket_cost', 'overhead_allocation', 'budget_status', 'reputation',
	                                   'technician_performance']) v, pg_temp.diff(v) d
	UNION ALL
	SELECT 'check_invariants', (SELECT count(*) FROM check_invariants()), 0, (SELECT count(*) FROM ticket_fact)
$$;
-- the same, printed as one line: every view equal, with how many rows
CREATE FUNCTION pg_temp.ok() RETURNS text
LANGUAGE sql AS $$
	SELECT string_agg(view || CASE WHEN only_new = 0 AND only_old = 0 THEN ' same' ELSE ' DIFFERS (' || only_new || ' new, ' || only_old || ' old)' END
	                  || CASE WHEN rows > 0 THEN '' ELSE ' (EMPTY)' END, ', ' ORDER BY view)
	  FROM pg_temp.same()
$$;

-- overheads and budgets for every center and month with tickets, and a
-- center month with an overhead and no ticket
INSERT INTO overhead (service_center_id, month, cost_class, amount)
SELECT DISTINCT f.service_center_id, f.month, c, CASE c WHEN 'rent' THEN 1000.01 ELSE 333.33 END
  FROM ticket_fact f CROSS JOIN unnest(ARRAY['rent', 'vehicles']) c WHERE f.service_center_id IS NOT NULL;
INSERT INTO overhead (service_center_id, month, cost_class, amount) SELECT min(id), '2001-01-01', 'rent', 5.00 FROM service_center;
INSERT INTO budget (service_center_id, month, cost_class, amount)
SELECT DISTINCT f.service_center_id, f.month, c, 100.00
  FROM ticket_fact f CROSS JOIN unnest(ARRAY['labor', 'parts', 'travel', 'rent']) c WHERE f.service_center_id IS NOT NULL;
SELECT pg_temp.ok() AS after_demo_load;
SELECT count(*) > 0 AS some_revenue, bool_and(invoice_lines > 0 OR revenue = 0) AS revenue_only_invoiced FROM ticket_fact WHERE revenue <> 0;
SELECT count(*) > 0 AS some_parts FROM ticket_fact WHERE parts_cost <> 0;
SELECT count(*) > 0 AS some_rated FROM ticket_fact WHERE rating IS NOT NULL;
SELECT count(*) > 0 AS some_cancelled FROM ticket_fact WHERE NOT counted;

-- the tickets the writes below work on, by state (the lowest ids)
CREATE TEMP TABLE pick AS
SELECT (SELECT min(id) FROM ticket WHERE status = 'new' AND technician_id IS NULL) AS new1,
       (SELECT min(id) FROM ticket WHERE status = 'in_progress') AS work1,
       (SELECT max(id) FROM ticket WHERE status = 'in_progress') AS work2,
       (SELECT min(t.id) FROM ticket t WHERE t.status = 'resolved' AND NOT EXISTS (SELECT 1 FROM invoice i WHERE i.ticket_id = t.id)) AS res1,
       (SELECT min(t.id) FROM ticket t WHERE t.status = 'closed' AND EXISTS (SELECT 1 FROM feedback f WHERE f.ticket_id = t.id)) AS closed1,
       (SELECT min(t.id) FROM ticket t WHERE t.status = 'resolved' AND NOT EXISTS (SELECT 1 FROM feedback f WHERE f.ticket_id = t.id)) AS res2,
       (SELECT min(m.ticket_id) FROM stock_movement m WHERE m.kind = 'issue') AS parts1;
SELECT new1 IS NOT NULL AND work1 IS NOT NULL AND work1 <> work2 AND res1 IS NOT NULL AND closed1 IS NOT NULL
       AND res2 IS NOT NULL AND parts1 IS NOT NULL AS picked FROM pick;
SELECT new1, work1, work2, res1, closed1, res2, parts1 FROM pick \gset

-- status changes: on hold and back (resolve_by moves), labor and travel
-- recorded, resolved
UPDATE ticket SET status = 'waiting_parts' WHERE id = :work1;
UPDATE ticket SET status = 'in_progress' WHERE id = :work1;
UPDATE ticket SET labor_minutes = 95, travel_km = 12.5 WHERE id = :work1;
UPDATE ticket SET status = 'resolved' WHERE id = :work1;
SELECT pg_temp.ok() AS after_status_changes;
-- an invoice (its lines, per statement) and a payment
SELECT issue_invoice(:res1) > 0 AS invoiced;
SELECT record_payment((SELECT id FROM invoice WHERE ticket_id = :res1), 'cash', 1.00, 'rollups-1') > 0 AS paid;
SELECT pg_temp.ok() AS after_invoice;
-- parts issued and returned
SELECT receive_part(p.sku, t.service_center_id, 5) > 0 AS received
  FROM ticket t, (SELECT min(sku) AS sku FROM part WHERE NOT serialized) p WHERE t.id = :work2;
SELECT reserve_part(:work2, (SELECT min(sku) FROM part WHERE NOT serialized), 2) > 0 AS reserved;
UPDATE ticket SET labor_minutes = 30 WHERE id = :work2;
UPDATE ticket SET status = 'resolved' WHERE id = :work2;
SELECT return_part(:work2, (SELECT min(sku) FROM part WHERE NOT serialized), 1) > 0 AS returned;
SELECT parts_cost > 0 AS parts_costed FROM ticket_fact WHERE ticket_id = :work2;
SELECT pg_temp.ok() AS after_parts;
-- feedback given, changed, withdrawn
INSERT INTO feedback (ticket_id, rating, complaint) VALUES (:res2, 2, true);
UPDATE feedback SET rating = 5 WHERE ticket_id = :closed1;
SELECT pg_temp.ok() AS after_feedback;
DELETE FROM feedback WHERE ticket_id = :res2;
SELECT rating IS NULL AS unrated FROM ticket_fact WHERE ticket_id = :res2;
SELECT pg_temp.ok() AS after_feedback_deleted;
-- reputation, per center and month of closing: tickets closed in earlier
-- months, imported with their state and history row by the table owner (as a
-- migration would), so that a month has a previous one; one closed half an
-- hour before a month ends in UTC (its center's zone decides the month); then
-- a later one on the same asset and service type within the rework window
-- (a repeat repair), and feedback on them with and without a complaint
CREATE TEMP TABLE imp AS
SELECT t.service_center_id AS c, t.asset_id, t.customer_id, t.service_type, t.technician_id
  FROM ticket t WHERE t.status = 'closed' AND t.asset_id IS NOT NULL ORDER BY t.id LIMIT 1;
CREATE FUNCTION pg_temp.import_closed(n integer, opened timestamptz) RETURNS bigint
LANGUAGE sql AS $$
	WITH t AS (
		INSERT INTO repairsys.ticket (customer_id, service_type, status, technician_id, service_center_id, asset_id, opened_at,
		                              status_changed_at, first_response_at, resolved_at, closed_at, labor_minutes, changed_by, description)
		SELECT i.customer_id, i.service_type, 'closed', i.technician_id, i.c, i.asset_id, opened, opened + interval '90 minutes',
		       opened + interval '10 minutes', opened + interval '1 hour', opened + interval '90 minutes', 30, current_user,
		       'rollups import ' || n
		  FROM pg_temp.imp i
		RETURNING id, status_changed_at
	), h AS (
		INSERT INTO repairsys.ticket_event (ticket_id, from_status, to_status, at, actor)
		SELECT t.id, 'resolved', 'closed', t.status_changed_at, current_user FROM t
	)
	SELECT t.id FROM t
$$;
SELECT pg_temp.import_closed(1, '2020-01-03 10:00Z') > 0 AS imported,
       pg_temp.import_closed(2, '2020-02-05 10:00Z') > 0 AS imported,
       pg_temp.import_closed(3, '2020-02-29 22:00Z') > 0 AS imported;
SELECT pg_temp.ok() AS after_closed_imports;
SELECT pg_temp.import_closed(4, '2020-01-20 10:00Z') AS repeat1 \gset
INSERT INTO feedback (ticket_id, rating, complaint)
SELECT id, 1 + id % 5, description IN ('rollups import 1', 'rollups import 3') FROM ticket WHERE description LIKE 'rollups import %';
SELECT pg_temp.ok() AS after_repeat_and_feedback;
SELECT rework_of(t) IS NOT NULL AS repeat_repair FROM ticket t WHERE t.id = :repeat1;
SELECT count(*) FILTER (WHERE ratings_change IS NOT NULL) AS months_with_a_previous, count(*) FILTER (WHERE repeat_rate > 0) AS months_with_repeats,
       sum(closed_tickets) AS closed, count(*) FILTER (WHERE complaint_rate > 0) AS months_with_complaints
  FROM reputation WHERE month < '2021-01-01' AND service_center_id = (SELECT c FROM imp);
-- the complaint withdrawn, a rating changed
UPDATE feedback SET complaint = false WHERE ticket_id = (SELECT id FROM ticket WHERE description = 'rollups import 1');
UPDATE feedback SET rating = 5 WHERE ticket_id = :repeat1;
SELECT complaint = false AS withdrawn FROM ticket_fact WHERE ticket_id = (SELECT id FROM ticket WHERE description = 'rollups import 1');
SELECT pg_temp.ok() AS after_complaint_withdrawn;
-- a ticket closed through the life cycle (its invoice paid in full, the
-- resolved -> closed transition's guard), then rated with a complaint
SELECT issue_invoice(:res2) > 0 AS invoiced;
SELECT record_payment(i.id, 'cash', i.total, 'rollups-2') > 0 AS paid FROM invoice i WHERE i.ticket_id = :res2 AND i.total > 0;
UPDATE ticket SET status = 'closed' WHERE id = :res2;
SELECT closed AND closed_month IS NOT NULL AS closed_counted FROM ticket_fact WHERE ticket_id = :res2;
INSERT INTO feedback (ticket_id, rating, complaint) VALUES (:res2, 1, true);
SELECT pg_temp.ok() AS after_closing;
-- technician_performance: a holiday and a make-up working day of a center
-- on the day a resolved ticket with an SLA calendar was open, an all-center
-- holiday, each removed again (the business hours of resolution follow);
-- the rework window widened and narrowed (the first-time fixes follow)
-- (the first resolved ticket and local date between its opening and its
-- resolution that a closed day would shorten, whatever today's weekday)
SELECT t.service_center_id AS hc, d::date AS hday, t.id AS hticket
  FROM ticket t
 CROSS JOIN LATERAL open_dates(t.service_center_id) od
 CROSS JOIN LATERAL generate_series((t.opened_at AT TIME ZONE t.sla_time_zone)::date, (t.resolved_at AT TIME ZONE t.sla_time_zone)::date, interval '1 day') d
 WHERE t.resolved_at IS NOT NULL AND t.sla_resolve_within IS NOT NULL
   AND resolution_hours(t.sla_resolve_within, t.opened_at, t.resolved_at,
                        (SELECT array_agg(x ORDER BY x) FROM unnest(closed_dates(t.service_center_id) || d::date) x),
                        t.sla_time_zone, od.days, od.works_as)
       < resolution_hours(t.sla_resolve_within, t.opened_at, t.resolved_at, closed_dates(t.service_center_id), t.sla_time_zone, od.days, od.works_as)
 ORDER BY t.id, d LIMIT 1 \gset
SELECT resolution_hours AS hours_before FROM ticket_fact WHERE ticket_id = :hticket \gset
INSERT INTO holiday (service_center_id, day, name) VALUES (:hc, :'hday', 'rollups holiday');
SELECT resolution_hours < :hours_before AS fewer_hours FROM ticket_fact WHERE ticket_id = :hticket;
SELECT pg_temp.ok() AS after_holiday;
UPDATE holiday SET day = day + 1 WHERE name = 'rollups holiday';
SELECT pg_temp.ok() AS after_holiday_moved;
DELETE FROM holiday WHERE name = 'rollups holiday';
SELECT resolution_hours = :hours_before AS hours_back FROM ticket_fact WHERE ticket_id = :hticket;
INSERT INTO holiday (service_center_id, day, name) VALUES (NULL, :'hday', 'rollups all centers');
SELECT pg_temp.ok() AS after_all_center_holiday;
INSERT INTO holiday (service_center_id, day, name, kind, works_as)
SELECT :hc, d, 'rollups make-up day', 'workday', 1 FROM generate_series(:'hday'::date - 3, :'hday'::date + 3, '1 day') d
 WHERE extract(isodow FROM d) IN (6, 7);
SELECT pg_temp.ok() AS after_make_up_days;
DELETE FROM holiday WHERE name LIKE 'rollups %';
SELECT pg_temp.ok() AS after_holidays_removed;
UPDATE setting SET value = '400 days' WHERE name = 'rework_window';
SELECT pg_temp.ok() AS after_wider_rework_window;
UPDATE setting SET value = '30 days' WHERE name = 'rework_window';
SELECT pg_temp.ok() AS after_rework_window_back;
-- a later ticket on the unit of a resolved first-time fix: the fix is a
-- rework now; cancelled, it is a first-time fix again; deleted (the table
-- owner), too
SELECT t.id AS fixed1, t.asset_id AS fixed_asset FROM ticket t JOIN ticket_fact f ON f.ticket_id = t.id
 WHERE f.first_fix AND t.status_role = 'resolved' ORDER BY t.id LIMIT 1 \gset
SELECT open_ticket(t.customer_id, t.service_type, 'rollups repeat', asset_id => t.asset_id) AS repeat2 FROM ticket t WHERE t.id = :fixed1 \gset
SELECT NOT first_fix AS reworked FROM ticket_fact WHERE ticket_id = :fixed1;
SELECT pg_temp.ok() AS after_repeat_ticket;
UPDATE ticket SET status = 'cancelled' WHERE id = :repeat2;
SELECT first_fix AS fixed_again FROM ticket_fact WHERE ticket_id = :fixed1;
SELECT pg_temp.ok() AS after_repeat_cancelled;
SELECT open_ticket(t.customer_id, t.service_type, 'rollups repeat', asset_id => t.asset_id) AS repeat3 FROM ticket t WHERE t.id = :fixed1 \gset
SELECT NOT first_fix AS reworked_again FROM ticket_fact WHERE ticket_id = :fixed1;
DELETE FROM ticket_event WHERE ticket_id = :repeat3;
DELETE FROM event WHERE ticket_id = :repeat3;
DELETE FROM ticket WHERE id = :repeat3;
SELECT first_fix AS fixed_after_delete FROM ticket_fact WHERE ticket_id = :fixed1;
SELECT pg_temp.ok() AS after_repeat_deleted;
-- a resolved ticket given to another technician, and reopened
UPDATE ticket SET technician_id = (SELECT max(id) FROM technician WHERE active) WHERE id = :fixed1;
SELECT pg_temp.ok() AS after_technician_change;
UPDATE ticket SET status = 'in_progress' WHERE id = :fixed1;
SELECT NOT first_fix AS reopened_not_first_fix FROM ticket_fact WHERE ticket_id = :fixed1;
SELECT pg_temp.ok() AS after_reopen;

-- an overhead changed, one deleted, a budget changed
UPDATE overhead SET amount = amount + 0.05 WHERE cost_class = 'rent';
DELETE FROM overhead WHERE cost_class = 'vehicles' AND month = (SELECT min(month) FROM overhead WHERE cost_class = 'vehicles');
UPDATE budget SET amount = 1.00 WHERE cost_class = 'parts';
SELECT pg_temp.ok() AS after_overheads;
-- a cancellation, an assignment, a reopen
UPDATE ticket SET status = 'cancelled' WHERE id = :new1;
SELECT NOT counted AS not_counted FROM ticket_fact WHERE ticket_id = :new1;
UPDATE ticket SET technician_id = (SELECT min(id) FROM technician WHERE active) WHERE id = (SELECT min(id) FROM ticket WHERE status = 'new' AND technician_id IS NULL);
UPDATE ticket SET status = 'in_progress' WHERE id = :work1;
SELECT pg_temp.ok() AS after_cancel_and_reopen;
-- what the views read at read time: the technician's hourly cost, the cost
-- of a km, the overhead driver; a part's cost (ledger rows without a cost
-- of their own are costed at it: one made so by the table owner)
UPDATE technician SET hourly_cost = hourly_cost + 7.25;
UPDATE setting SET value = '1.35' WHERE name = 'travel_cost_per_km';
SELECT pg_temp.ok() AS after_costs;
UPDATE setting SET value = 'revenue' WHERE name = 'overhead_driver';
SELECT pg_temp.ok() AS driver_revenue;
UPDATE setting SET value = 'tickets' WHERE name = 'overhead_driver';
SELECT pg_temp.ok() AS driver_tickets;
ALTER TABLE stock_movement DISABLE TRIGGER stock_movement_append_only;
UPDATE stock_movement SET unit_cost = NULL WHERE id = (SELECT min(id) FROM stock_movement WHERE kind = 'issue' AND ticket_id = :parts1);
ALTER TABLE stock_movement ENABLE TRIGGER stock_movement_append_only;
UPDATE part SET unit_cost = unit_cost + 3.00 WHERE sku = (SELECT sku FROM stock_movement WHERE kind = 'issue' AND ticket_id = :parts1 AND unit_cost IS NULL LIMIT 1);
SELECT pg_temp.ok() AS after_part_cost;
-- a center moves to another time zone: its tickets change month
UPDATE service_center SET time_zone = 'Pacific/Kiritimati' WHERE id = (SELECT min(id) FROM service_center);
SELECT pg_temp.ok() AS after_time_zone;
UPDATE service_center SET time_zone = 'Pacific/Pago_Pago' WHERE id = (SELECT min(id) FROM service_center);
SELECT pg_temp.ok() AS after_time_zone_back;
-- a new ticket
SELECT open_ticket((SELECT min(id) FROM customer), (SELECT min(code) FROM service_type WHERE code LIKE 'demo%'), 'rollups') > 0 AS opened;
SELECT pg_temp.ok() AS after_insert;

-- a rollback leaves nothing half-written: the roll-up is as before
CREATE TEMP TABLE before AS SELECT f::text AS r FROM ticket_fact f;
BEGIN;
UPDATE ticket SET labor_minutes = 999 WHERE id = :work2;
SELECT issue_invoice(:work2) > 0 AS invoiced_then_rolled_back;
INSERT INTO feedback (ticket_id, rating) VALUES (:work2, 1);
ROLLBACK;
SELECT (SELECT count(*) FROM (SELECT f::text FROM ticket_fact f EXCEPT SELECT r FROM before) x) AS changed_by_rollback;
-- so does a statement that fails: two lines, the second refused, add nothing
SELECT revenue AS revenue_before FROM ticket_fact WHERE ticket_id = :res1 \gset
-- (terse: the invoice's id depends on the day the demo's history ends)
\set VERBOSITY terse
INSERT INTO invoice_line (invoice_id, line_no, kind, description, amount)
SELECT i.id, n, 'labor', 'x', 10.00 FROM invoice i, (VALUES (1000), (1)) v (n) WHERE i.ticket_id = :res1;
\set VERBOSITY default
SELECT revenue = :revenue_before AS revenue_unchanged FROM ticket_fact WHERE ticket_id = :res1;
SELECT pg_temp.ok() AS after_rollback;

-- the roll-up is written only by its triggers: nobody, the admin neither,
-- writes it directly
SET ROLE repairsys_admin;
UPDATE ticket_fact SET revenue = 0 WHERE ticket_id = :res1;
\echo :LAST_ERROR_SQLSTATE
DELETE FROM ticket_fact;
\echo :LAST_ERROR_SQLSTATE
SELECT rollup_rebuild() > 0 AS admin_rebuilds;
RESET ROLE;
SET ROLE repairsys_dispatcher;
SELECT rollup_rebuild();
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;

-- written around the triggers (the table owner), the roll-up is found
-- wrong by check_invariants(), with the tickets, and rollup_rebuild()
-- repairs it
UPDATE ticket_fact SET revenue = revenue + 1 WHERE ticket_id = :res1;
DELETE FROM ticket_fact WHERE ticket_id = :closed1;
-- (and the columns reputation and technician_performance read, each named)
UPDATE ticket_fact SET closed = NOT closed, first_fix = NOT first_fix, resolution_hours = resolution_hours + 1 WHERE ticket_id = :work2;
SELECT invariant, ticket_id = :res1 AS res1, ticket_id = :closed1 AS closed1, ticket_id = :work2 AS work2, detail LIKE 'kept (no row)%' AS missing,
       detail ~ '^closed kept (true|false), recomputed (true|false); first_fix kept .*; resolution_hours kept ' AS columns_named
  FROM check_invariants() ORDER BY ticket_id;
SELECT rollup_rebuild() = (SELECT count(*) FROM ticket) + (SELECT count(*) FROM customer) AS rebuilt;
SELECT pg_temp.ok() AS after_rebuild;

-- the month x center query reads the roll-up through its index: no
-- sequential scan, of the tickets or of anything else
SET enable_seqscan = off;
SELECT f.service_center_id AS c, f.month AS m FROM ticket_fact f WHERE f.service_center_id IS NOT NULL
 GROUP BY 1, 2 ORDER BY count(*) DESC, 1, 2 LIMIT 1 \gset
CREATE FUNCTION pg_temp.plan(q text) RETURNS TABLE (seq_scans bigint, reads_the_index boolean, reads_ticket boolean)
LANGUAGE plpgsql AS $$
DECLARE
	lines text[];
BEGIN
	SELECT array_agg(l) INTO lines FROM (SELECT x AS l FROM pg_temp.explain_lines(q) x) y;
	RETURN QUERY SELECT count(*) FILTER (WHERE l LIKE '%Seq Scan%'), bool_or(l LIKE '%ticket_fact_center_month_idx%'),
	                    bool_or(l ~ ' on ticket( |$)')
	  FROM unnest(lines) l;
END
$$;
CREATE FUNCTION pg_temp.explain_lines(q text) RETURNS SETOF text
LANGUAGE plpgsql AS $$
DECLARE
	r record;
BEGIN
	FOR r IN EXECUTE 'EXPLAIN (COSTS OFF) ' || q LOOP
		RETURN NEXT r."QUERY PLAN";
	END LOOP;
END
$$;
SELECT 'service_benefit' AS view, * FROM pg_temp.plan(format('SELECT * FROM repairsys.service_benefit WHERE month = %L AND service_center_id = %s', :'m', :c))
UNION ALL
SELECT 'overhead_allocation', * FROM pg_temp.plan(format('SELECT * FROM repairsys.overhead_allocation WHERE month = %L AND service_center_id = %s', :'m', :c))
UNION ALL
SELECT 'budget_status', * FROM pg_temp.plan(format('SELECT * FROM repairsys.budget_status WHERE month = %L AND service_center_id = %s', :'m', :c));
-- technician_performance reads the technicians' rows of the roll-up through
-- its index on the technician
SELECT count(*) FILTER (WHERE l LIKE '%Seq Scan%') AS seq_scans,
       count(*) FILTER (WHERE l ~ 'Index.* (on|using) ticket_fact_technician_idx') AS technician_index_scans,
       count(*) FILTER (WHERE l ~ ' on ticket( |$)') AS ticket_reads
  FROM pg_temp.explain_lines(format('SELECT * FROM repairsys.technician_performance WHERE service_center_id = %s', :c)) l;
-- reputation reads its index on center and month of closing for the pairs
-- of the month and center asked for, and calls reputation_month() for that
-- month and the previous one
SELECT f.service_center_id AS rc, f.closed_month AS rm FROM ticket_fact f WHERE f.closed AND f.service_center_id IS NOT NULL
 GROUP BY 1, 2 ORDER BY count(*) DESC, 1, 2 LIMIT 1 \gset
SELECT count(*) FILTER (WHERE l LIKE '%Seq Scan%') AS seq_scans,
       count(*) FILTER (WHERE l ~ 'Index.* (on|using) ticket_fact_center_closed_idx') AS closed_index_scans,
       count(*) FILTER (WHERE l ~ 'Index Cond: .*closed_month = ') AS month_conditions,
       count(*) FILTER (WHERE l ~ 'Function Scan on reputation_month') AS month_calls
  FROM pg_temp.explain_lines(format('SELECT * FROM repairsys.reputation WHERE month = %L AND service_center_id = %s', :'rm', :rc)) l;
-- and reputation_month(), its body as stored with that center and month,
-- reads the same index with both bounds in the index condition, the tickets
-- by their key and the earlier tickets of the asset through
-- ticket_asset_type_idx
SELECT count(*) FILTER (WHERE l LIKE '%Seq Scan%') AS seq_scans,
       count(*) FILTER (WHERE l ~ 'Index.* (on|using) ticket_fact_center_closed_idx') AS closed_index_scans,
       count(*) FILTER (WHERE l ~ 'Index Cond: .*service_center_id = .*closed_month = ') AS both_bounds,
       count(*) FILTER (WHERE l ~ 'Index.* (on|using) ticket_pkey') AS ticket_key_scans,
       count(*) FILTER (WHERE l ~ 'Index.* (on|using) ticket_asset_type_idx') AS asset_scans
  FROM pg_temp.explain_lines((
	SELECT replace(replace(regexp_replace(pg_get_function_sqlbody('reputation_month(bigint, date)'::regprocedure),
	                                      '^BEGIN ATOMIC|;\s*END\s*$', '', 'g'),
	                       'reputation_month.center', :'rc'), 'reputation_month.month', quote_literal(:'rm') || '::date'))) l;
-- sla_status of one center reads that center's tickets through an index
-- on the center (the partial one of its open tickets, or, when the day's
-- statistics make the planner prefer it, the one on center and opening),
-- not every ticket
SELECT count(*) FILTER (WHERE l LIKE '%Seq Scan%') AS seq_scans,
       count(*) FILTER (WHERE l ~ 'Index.* (on|using) ticket_(open_center|center_opened)_idx') > 0 AS center_index_used
  FROM pg_temp.explain_lines(format('SELECT * FROM repairsys.sla_status WHERE service_center_id = %s', :c)) l;
-- follow_up_due of one center reads that center's open calls through
-- follow_up_open_center_idx, not every center's open calls
SELECT count(*) FILTER (WHERE l LIKE '%Seq Scan%') AS seq_scans,
       count(*) FILTER (WHERE l ~ 'Index.* (on|using) follow_up_open_center_idx') AS center_open_calls,
       count(*) FILTER (WHERE l ~ 'Index Cond: .*service_center_id = ') > 0 AS center_in_index_condition
  FROM pg_temp.explain_lines(format('SELECT * FROM repairsys.follow_up_due WHERE service_center_id = %s', :c)) l;
RESET enable_seqscan;

\c :regress_db
DROP DATABASE repairsys_rollups;
