-- Roll-ups of the report views (DESIGN.md section 12, docs/performance.md
-- "Roll-ups"): what a report needs of each ticket, kept by triggers in the
-- writing transaction (71_rollups.sql), so that a report of one month and one
-- center reads the rows of that month and center through an index instead of
-- every ticket ever written and its invoices, parts and feedback.
--
-- One row per ticket, written only by the transactions that write that
-- ticket (or its invoice lines, stock movements and feedback): two
-- transactions on different tickets never touch the same row, so the
-- roll-up adds no lock conflict (test/isolation/specs/rollups-concurrent.spec).
-- Sums of the ticket's rows (revenue, parts cost) are kept by signed deltas
-- (revenue = revenue + x), which a concurrent writer of the same ticket
-- applies to the latest row version, never to a stale one.  Figures that
-- depend on a setting or on another table that changes (labor cost from the
-- technician's hourly_cost, travel cost from travel_cost_per_km, the
-- overheads' allocation) are computed by the views when read, from the
-- columns kept here.  Written only by the SECURITY DEFINER triggers and
-- repairsys.rollup_rebuild(); every role, the admin too, only reads it
-- (90_security.sql), with the row-level security of the ticket it belongs
-- to.  repairsys.check_invariants() compares it with a recomputation.
--
-- Derived data, as technician_load: not dumped.  A restore loads tickets
-- before their invoice lines, stock movements and feedback (foreign keys),
-- and the triggers rebuild every row as they come (test/t/dump-restore.sh);
-- after a load with triggers disabled, repairsys.rollup_rebuild().

CREATE TABLE repairsys.ticket_fact (
	ticket_id         bigint PRIMARY KEY REFERENCES repairsys.ticket ON DELETE CASCADE,
	service_center_id bigint,
	month             date NOT NULL,
	service_type      text NOT NULL,
	counted           boolean NOT NULL,
	technician_id     bigint,
	labor_minutes     numeric(10,2),
	travel_km         numeric(10,3),
	opened_at         timestamptz NOT NULL,
	resolved_at       timestamptz,
	resolve_by        timestamptz,
	invoice_lines     integer NOT NULL DEFAULT 0 CHECK (invoice_lines >= 0),
	revenue           numeric(16,2) NOT NULL DEFAULT 0.00,
	parts_cost        numeric(16,2) NOT NULL DEFAULT 0.00,
	rating            integer CHECK (rating BETWEEN 1 AND 5),
	closed_month      date,
	closed            boolean NOT NULL DEFAULT false,
	complaint         boolean NOT NULL DEFAULT false,
	first_fix         boolean NOT NULL DEFAULT false,
	resolution_hours  double precision
);
COMMENT ON TABLE repairsys.ticket_fact IS 'Roll-up: one row per ticket with what the report views (ticket_cost, service_benefit, overhead_allocation, budget_status, reputation, technician_performance) read of it, kept by triggers in the writing transaction; equal to a recomputation (check_invariants, rollup_rebuild)';
COMMENT ON COLUMN repairsys.ticket_fact.ticket_id IS 'Ticket';
COMMENT ON COLUMN repairsys.ticket_fact.service_center_id IS 'Service center of the ticket';
COMMENT ON COLUMN repairsys.ticket_fact.month IS 'First day of the month the ticket was opened in, in its center''s time zone (UTC without a center)';
COMMENT ON COLUMN repairsys.ticket_fact.service_type IS 'Service type of the ticket';
COMMENT ON COLUMN repairsys.ticket_fact.counted IS 'False while the ticket is in a cancelled-role state (the reports leave it out)';
COMMENT ON COLUMN repairsys.ticket_fact.technician_id IS 'Technician of the ticket (labor cost is his hourly_cost when read)';
COMMENT ON COLUMN repairsys.ticket_fact.labor_minutes IS 'Labor recorded on the ticket';
COMMENT ON COLUMN repairsys.ticket_fact.travel_km IS 'Travel recorded on the ticket (travel cost is km x travel_cost_per_km when read)';
COMMENT ON COLUMN repairsys.ticket_fact.opened_at IS 'When the ticket was opened';
COMMENT ON COLUMN repairsys.ticket_fact.resolved_at IS 'When the ticket was resolved';
COMMENT ON COLUMN repairsys.ticket_fact.resolve_by IS 'Resolution deadline of the ticket';
COMMENT ON COLUMN repairsys.ticket_fact.invoice_lines IS 'Invoice lines of the ticket';
COMMENT ON COLUMN repairsys.ticket_fact.revenue IS 'Sum of the amounts (before tax) of the ticket''s invoice lines';
COMMENT ON COLUMN repairsys.ticket_fact.parts_cost IS 'Units issued to the ticket less returns, at the unit cost of their ledger row (the part''s unit_cost where the row has none)';
COMMENT ON COLUMN repairsys.ticket_fact.rating IS 'The customer''s rating of the ticket (feedback)';
COMMENT ON COLUMN repairsys.ticket_fact.closed_month IS 'First day of the month the ticket was closed (closed_at) in, in its center''s time zone (UTC without a center); NULL while closed_at is';
COMMENT ON COLUMN repairsys.ticket_fact.closed IS 'True while the ticket is in a closed-role state (reputation counts it in closed_month)';
COMMENT ON COLUMN repairsys.ticket_fact.complaint IS 'The customer filed a complaint with the ticket''s feedback';
COMMENT ON COLUMN repairsys.ticket_fact.first_fix IS 'Resolved, never reopened, and no later ticket (not cancelled) on the same asset and service type opened within rework_window after the resolution (ticket_first_fix)';
COMMENT ON COLUMN repairsys.ticket_fact.resolution_hours IS 'Hours from opening to resolution in the business hours of the ticket''s resolve calendar with its center''s holidays and make-up days, wall-clock without an SLA (resolution_hours); NULL while unresolved';
-- the month x center query of every report reads this index
CREATE INDEX ticket_fact_center_month_idx ON repairsys.ticket_fact (service_center_id, month);
-- reputation's month x center query (and its previous month) reads this one:
-- the closed tickets of a center by month of closing
CREATE INDEX ticket_fact_center_closed_idx ON repairsys.ticket_fact (service_center_id, closed_month) WHERE closed;
-- technician_performance reads a technician's tickets through this one
CREATE INDEX ticket_fact_technician_idx ON repairsys.ticket_fact (technician_id) WHERE counted;
