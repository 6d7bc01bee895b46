-- Roll-ups of the report views (DESIGN.md section 12, docs/performance.md
-- "Roll-ups"): what a report needs of each ticket, kept by triggers in the
-- writing transaction (74_rollups.sql), so that a report of one month and one
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
	rating            integer CHECK (rating BETWEEN 1 AND 5)
);
COMMENT ON TABLE repairsys.ticket_fact IS 'Roll-up: one row per ticket with what the report views (ticket_cost, service_benefit, overhead_allocation, budget_status) read of it, kept by triggers in the writing transaction; equal to a recomputation (check_invariants, rollup_rebuild)';
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
-- the month x center query of every report reads this index
CREATE INDEX ticket_fact_center_month_idx ON repairsys.ticket_fact (service_center_id, month);
