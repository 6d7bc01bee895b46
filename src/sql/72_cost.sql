-- Cost of the service (DESIGN.md section 18, docs/reports.md): overheads
-- allocated to the month's tickets, the cost of each ticket with its share of
-- them (ticket_cost), and the service-benefit report (service_benefit).  The
-- tables are in 26_tables_cost.sql; budgets, reputation, recalls and the
-- manager's page, which read these views, in 73_cost_reports.sql.
--
-- A ticket belongs to the month it was opened in, in its center's time zone.

INSERT INTO repairsys.setting (name, value, description, dump, type, min_value, choices) VALUES
	('overhead_driver', 'labor_minutes', 'How an overhead is shared among the month''s tickets of its center: labor_minutes (recorded labor), tickets (equally) or revenue (invoiced before tax)', false, 'choice', NULL,
	 ARRAY['labor_minutes', 'tickets', 'revenue']);

------------------------------------------------------------------------------
-- Months in a center's time zone
------------------------------------------------------------------------------
-- The instant a month (its first day) starts in a time zone.
CREATE FUNCTION repairsys.month_start(month date, time_zone text)
RETURNS timestamptz
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = repairsys, pg_catalog, pg_temp
BEGIN ATOMIC
	SELECT (month::timestamp without time zone) AT TIME ZONE coalesce(time_zone, 'UTC');
END;
COMMENT ON FUNCTION repairsys.month_start(date, text) IS 'The instant the month (given by any of its days) starts in the time zone (NULL: UTC)';

-- The share (0..1) of a month that has passed at an instant, in a time zone:
-- 0 before it starts, 1 after it ends.
CREATE FUNCTION repairsys.month_elapsed(month date, time_zone text, at timestamptz)
RETURNS numeric
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = repairsys, pg_catalog, pg_temp
BEGIN ATOMIC
	SELECT least(1, greatest(0,
	         round((extract(epoch FROM at - repairsys.month_start(month, time_zone))
	                / extract(epoch FROM repairsys.month_start((month + interval '1 month')::date, time_zone)
	                                     - repairsys.month_start(month, time_zone)))::numeric, 6)));
END;
COMMENT ON FUNCTION repairsys.month_elapsed(date, text, timestamptz) IS 'Share (0..1, 6 decimals) of the month (first day given) that has passed at the instant, in the time zone: 0 before it, 1 after it';

------------------------------------------------------------------------------
-- Overheads allocated to tickets
------------------------------------------------------------------------------
-- Every overhead is shared among the tickets (not cancelled) opened at its
-- center in its month, in proportion to the driver (setting overhead_driver).
-- Cents are placed by the largest remainder, as installments are: each ticket
-- gets the whole cents of its exact share, and the cents left over go one
-- each to the tickets with the largest remainders (ties: lower ticket id), so
-- the allocations of one overhead sum exactly to it.  The arithmetic is done
-- in whole cents and whole driver units (labor in hundredths of a minute,
-- revenue in cents), so no rounding happens anywhere else.  When the driver is
-- 0 for every ticket of the month (no labor recorded yet), the overhead is
-- shared equally.  An overhead of a month without tickets is not allocated
-- (budget_status still counts it).  The tickets and their driver values come
-- from the roll-up (ticket_fact, 71_rollups.sql), and every window is
-- partitioned by center and month too (the overhead determines them), so a
-- query of one center and month reads that month's tickets through the
-- roll-up's index and computes only that month's shares, at read time: a
-- share depends on every ticket of its month, so keeping it would rewrite the
-- whole month on each ticket's change.
CREATE VIEW repairsys.overhead_allocation AS
WITH drv AS (
	SELECT repairsys.setting_value('overhead_driver') AS driver
), w AS (
	SELECT o.id AS overhead_id, o.service_center_id, o.month, o.cost_class, o.amount, d.driver, f.ticket_id,
	       CASE d.driver WHEN 'tickets' THEN 1::numeric
	                     WHEN 'labor_minutes' THEN coalesce(f.labor_minutes, 0)
	                     ELSE greatest(coalesce(CASE WHEN f.invoice_lines > 0 THEN f.revenue END, 0), 0) END AS driver_value
	  FROM repairsys.overhead o
	 CROSS JOIN drv d
	  JOIN repairsys.ticket_fact f ON f.service_center_id = o.service_center_id AND f.month = o.month AND f.counted
), units AS (
	SELECT w.*, pg_catalog.round(w.amount * 100) AS cents,
	       CASE WHEN sum(w.driver_value) OVER (PARTITION BY w.service_center_id, w.month, w.overhead_id) > 0
	            THEN pg_catalog.round(w.driver_value * 100) ELSE 1 END AS weight
	  FROM w
), shares AS (
	SELECT u.*, pg_catalog.div(u.cents * u.weight, sum(u.weight) OVER (PARTITION BY u.service_center_id, u.month, u.overhead_id)) AS whole,
	       pg_catalog.mod(u.cents * u.weight, sum(u.weight) OVER (PARTITION BY u.service_center_id, u.month, u.overhead_id)) AS rest
	  FROM units u
), ranked AS (
	SELECT s.*, s.cents - sum(s.whole) OVER (PARTITION BY s.service_center_id, s.month, s.overhead_id) AS left_over,
	       row_number() OVER (PARTITION BY s.service_center_id, s.month, s.overhead_id ORDER BY s.rest DESC, s.ticket_id) AS place
	  FROM shares s
)
SELECT x.overhead_id, x.service_center_id, x.month, x.cost_class, x.ticket_id, x.driver, x.driver_value,
       ((x.whole + CASE WHEN x.place <= x.left_over THEN 1 ELSE 0 END) / 100.0)::numeric(14,2) AS amount
  FROM ranked x;
COMMENT ON VIEW repairsys.overhead_allocation IS 'Each overhead''s share of each ticket of its center and month, by the driver of setting overhead_driver; the shares of one overhead sum exactly to it (largest remainder, to the cent)';
COMMENT ON COLUMN repairsys.overhead_allocation.overhead_id IS 'Overhead allocated';
COMMENT ON COLUMN repairsys.overhead_allocation.service_center_id IS 'Service center of the overhead and the ticket';
COMMENT ON COLUMN repairsys.overhead_allocation.month IS 'Month of the overhead (the ticket was opened in it, in the center''s time zone)';
COMMENT ON COLUMN repairsys.overhead_allocation.cost_class IS 'Indirect cost class of the overhead';
COMMENT ON COLUMN repairsys.overhead_allocation.ticket_id IS 'Ticket that bears the share';
COMMENT ON COLUMN repairsys.overhead_allocation.driver IS 'Driver used: labor_minutes, tickets or revenue';
COMMENT ON COLUMN repairsys.overhead_allocation.driver_value IS 'The ticket''s quantity of the driver: labor minutes, 1, or revenue before tax (when it is 0 for every ticket of the month, the overhead is shared equally)';
COMMENT ON COLUMN repairsys.overhead_allocation.amount IS 'Share of the overhead borne by the ticket';

------------------------------------------------------------------------------
-- Cost and benefit
------------------------------------------------------------------------------
-- Both read the roll-up (ticket_fact, 71_rollups.sql): the invoiced revenue
-- and the parts cost kept per ticket, the labor and travel cost computed when
-- read from the kept minutes and km at the technician's hourly_cost and the
-- setting travel_cost_per_km of the moment (so a change of either shows at
-- once), and the overheads' shares from overhead_allocation, joined on the
-- center and month as well as the ticket, so that a query of one center and
-- month computes only that month's shares.
CREATE VIEW repairsys.ticket_cost AS
SELECT d.ticket_id, d.revenue, d.labor_cost, d.parts_cost, d.travel_cost, d.cost, d.revenue - d.cost AS margin,
       d.cost AS direct_cost,
       coalesce(a.indirect, 0.00) AS indirect_cost,
       d.cost + coalesce(a.indirect, 0.00) AS full_cost,
       d.revenue - d.cost - coalesce(a.indirect, 0.00) AS full_margin
  FROM (
	SELECT f.ticket_id, f.service_center_id, f.month, f.revenue, f.labor_cost, f.parts_cost, f.travel_cost,
	       f.labor_cost + f.parts_cost + f.travel_cost AS cost
	  FROM (
		SELECT x.ticket_id, x.service_center_id, x.month, x.revenue::numeric AS revenue,
		       round(coalesce(tech.hourly_cost, 0) * coalesce(x.labor_minutes, 0) / 60, 2) AS labor_cost,
		       x.parts_cost::numeric AS parts_cost,
		       round(coalesce(x.travel_km, 0) * repairsys.setting_value('travel_cost_per_km')::numeric, 2) AS travel_cost
		  FROM repairsys.ticket_fact x
		  LEFT JOIN repairsys.technician tech ON tech.id = x.technician_id
	  ) f
  ) d
  LEFT JOIN (SELECT oa.service_center_id, oa.month, oa.ticket_id, sum(oa.amount) AS indirect
               FROM repairsys.overhead_allocation oa GROUP BY oa.service_center_id, oa.month, oa.ticket_id) a
    ON a.ticket_id = d.ticket_id AND a.service_center_id = d.service_center_id AND a.month = d.month;
COMMENT ON VIEW repairsys.ticket_cost IS 'Revenue and cost of each ticket: direct cost (labor, parts, travel) and its share of the overheads (indirect cost)';
COMMENT ON COLUMN repairsys.ticket_cost.ticket_id IS 'Ticket';
COMMENT ON COLUMN repairsys.ticket_cost.revenue IS 'Invoiced amount before tax (0 until invoiced)';
COMMENT ON COLUMN repairsys.ticket_cost.labor_cost IS 'Technician hourly_cost x labor_minutes / 60';
COMMENT ON COLUMN repairsys.ticket_cost.parts_cost IS 'Units issued to the ticket (less returns) at their ledger unit cost';
COMMENT ON COLUMN repairsys.ticket_cost.travel_cost IS 'travel_km x setting travel_cost_per_km';
COMMENT ON COLUMN repairsys.ticket_cost.cost IS 'labor_cost + parts_cost + travel_cost (the direct cost)';
COMMENT ON COLUMN repairsys.ticket_cost.margin IS 'revenue - cost (before overheads)';
COMMENT ON COLUMN repairsys.ticket_cost.direct_cost IS 'labor_cost + parts_cost + travel_cost (the same as cost)';
COMMENT ON COLUMN repairsys.ticket_cost.indirect_cost IS 'The ticket''s share of its center''s overheads of its month (overhead_allocation)';
COMMENT ON COLUMN repairsys.ticket_cost.full_cost IS 'direct_cost + indirect_cost';
COMMENT ON COLUMN repairsys.ticket_cost.full_margin IS 'revenue - full_cost';

CREATE VIEW repairsys.service_benefit AS
SELECT c.month,
       c.service_center_id,
       c.service_type,
       count(*) AS tickets,
       sum(c.revenue) AS revenue,
       sum(c.labor_cost) AS labor_cost,
       sum(c.parts_cost) AS parts_cost,
       sum(c.travel_cost) AS travel_cost,
       sum(c.margin) AS margin,
       CASE WHEN sum(c.cost) > 0 THEN round(sum(c.margin) / sum(c.cost), 4) END AS roi,
       round(avg(c.rating), 2) AS avg_rating,
       round(100.0 * count(*) FILTER (WHERE c.resolved_at <= c.resolve_by)
             / nullif(count(*) FILTER (WHERE c.resolved_at IS NOT NULL AND c.resolve_by IS NOT NULL), 0), 1) AS sla_met_pct,
       round((avg(extract(epoch FROM c.resolved_at - c.opened_at)) / 3600)::numeric, 2) AS mean_resolution_hours,
       sum(c.cost) AS direct_cost,
       sum(c.indirect_cost) AS indirect_cost,
       sum(c.full_cost) AS full_cost,
       sum(c.full_margin) AS full_margin,
       CASE WHEN sum(c.full_cost) > 0 THEN round(sum(c.full_margin) / sum(c.full_cost), 4) END AS full_roi
  FROM (
	SELECT d.*, d.revenue - d.cost AS margin,
	       coalesce(a.indirect, 0.00) AS indirect_cost,
	       d.cost + coalesce(a.indirect, 0.00) AS full_cost,
	       d.revenue - d.cost - coalesce(a.indirect, 0.00) AS full_margin
	  FROM (
		SELECT f.*, f.labor_cost + f.parts_cost + f.travel_cost AS cost
		  FROM (
			SELECT x.ticket_id, x.month, x.service_center_id, x.service_type, x.revenue, x.parts_cost, x.rating,
			       x.opened_at, x.resolved_at, x.resolve_by,
			       round(coalesce(tech.hourly_cost, 0) * coalesce(x.labor_minutes, 0) / 60, 2) AS labor_cost,
			       round(coalesce(x.travel_km, 0) * repairsys.setting_value('travel_cost_per_km')::numeric, 2) AS travel_cost
			  FROM repairsys.ticket_fact x
			  LEFT JOIN repairsys.technician tech ON tech.id = x.technician_id
			 WHERE x.counted
		  ) f
	  ) d
	  LEFT JOIN (SELECT oa.service_center_id, oa.month, oa.ticket_id, sum(oa.amount) AS indirect
	               FROM repairsys.overhead_allocation oa GROUP BY oa.service_center_id, oa.month, oa.ticket_id) a
	    ON a.ticket_id = d.ticket_id AND a.service_center_id = d.service_center_id AND a.month = d.month
  ) c
 GROUP BY c.month, c.service_center_id, c.service_type;
COMMENT ON VIEW repairsys.service_benefit IS 'Cost and benefit of the service per month (of opening, in the center''s time zone), service center and service type';
COMMENT ON COLUMN repairsys.service_benefit.month IS 'First day of the month the tickets were opened';
COMMENT ON COLUMN repairsys.service_benefit.service_center_id IS 'Service center';
COMMENT ON COLUMN repairsys.service_benefit.service_type IS 'Service type';
COMMENT ON COLUMN repairsys.service_benefit.tickets IS 'Tickets opened (cancelled ones left out)';
COMMENT ON COLUMN repairsys.service_benefit.revenue IS 'Invoiced amounts before tax';
COMMENT ON COLUMN repairsys.service_benefit.labor_cost IS 'Labor cost';
COMMENT ON COLUMN repairsys.service_benefit.parts_cost IS 'Parts cost';
COMMENT ON COLUMN repairsys.service_benefit.travel_cost IS 'Travel cost';
COMMENT ON COLUMN repairsys.service_benefit.margin IS 'revenue - (labor + parts + travel cost)';
COMMENT ON COLUMN repairsys.service_benefit.roi IS '(revenue - cost) / cost on the direct cost (NULL when the cost is 0); full_roi counts the overheads';
COMMENT ON COLUMN repairsys.service_benefit.avg_rating IS 'Average customer rating (1..5)';
COMMENT ON COLUMN repairsys.service_benefit.sla_met_pct IS 'Percent of resolved tickets resolved by resolve_by';
COMMENT ON COLUMN repairsys.service_benefit.mean_resolution_hours IS 'Mean wall-clock hours from opening to resolution';
COMMENT ON COLUMN repairsys.service_benefit.direct_cost IS 'labor_cost + parts_cost + travel_cost';
COMMENT ON COLUMN repairsys.service_benefit.indirect_cost IS 'Overheads allocated to the tickets (overhead_allocation)';
COMMENT ON COLUMN repairsys.service_benefit.full_cost IS 'direct_cost + indirect_cost';
COMMENT ON COLUMN repairsys.service_benefit.full_margin IS 'revenue - full_cost';
COMMENT ON COLUMN repairsys.service_benefit.full_roi IS '(revenue - full_cost) / full_cost: the ROI on the full cost (NULL when it is 0)';
