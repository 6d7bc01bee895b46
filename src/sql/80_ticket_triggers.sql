-- Every trigger on repairsys.ticket, in one place, in the order they fire
-- (docs/lifecycle.md "The triggers of a ticket").  The functions they run
-- are defined by the pieces of their features (30_lifecycle.sql,
-- 35_sla.sql, 40_billing.sql, 42_consent.sql, 50_assign.sql, 52_dispatch.sql, 60_parts.sql,
-- 70_reports.sql, 71_rollups.sql, 73_models.sql, 75_events.sql);
-- this piece runs after all of them.
--
-- PostgreSQL fires the row triggers of one timing and event in the order of
-- their names, so the number in each name is its place.  A BEFORE trigger
-- sees NEW as the triggers before it left it, and its WHEN condition is
-- evaluated just before it would run, on that NEW; an UPDATE OF trigger fires
-- when one of its columns is a target of the UPDATE statement (a column set
-- by an earlier trigger does not count), so the checks of what a caller may
-- write (15, 16, 25_sla_guard, 35) cost nothing on the ordinary status
-- changes of the life cycle.  The AFTER triggers run when the row is written,
-- inside the changing transaction: an error in any of them undoes the change.
-- test/pgtap/ticket_triggers.sql lists them, so this order cannot change
-- unnoticed.

------------------------------------------------------------------------------
-- BEFORE INSERT
------------------------------------------------------------------------------
-- 05: a ticket opened with a technician: he is active and below his capacity
-- (his row locked, so concurrent assignments are counted one after another).
-- First, so that a refused assignment costs nothing else.
CREATE TRIGGER ticket_05_assign_check BEFORE INSERT ON repairsys.ticket
	FOR EACH ROW WHEN (NEW.technician_id IS NOT NULL)
	EXECUTE FUNCTION repairsys.ticket_assign_check_trg();
-- 10: the initial-role state, its role, the defaults from the customer (lat,
-- lon, service center) and the columns the triggers own.  Everything after
-- reads what it set.
CREATE TRIGGER ticket_10_open BEFORE INSERT ON repairsys.ticket
	FOR EACH ROW EXECUTE FUNCTION repairsys.ticket_open_trg();
-- 12: opened_at, respond_by, resolve_by finite, no ticket opened in the
-- future (but by the owner's restore), the SLA time zone valid: checked on
-- the caller's values, before 30 computes deadlines from them.
CREATE TRIGGER ticket_12_times BEFORE INSERT ON repairsys.ticket
	FOR EACH ROW EXECUTE FUNCTION repairsys.ticket_times_trg();
-- 15: a new ticket comes neither approved nor with a price snapshot (but from
-- the owner's restore); fires only when one of those columns is given, so an
-- ordinary new ticket does not pay for it.
CREATE TRIGGER ticket_15_price_snapshot_insert
	BEFORE INSERT ON repairsys.ticket
	FOR EACH ROW
	WHEN (NEW.estimate_approved_at IS NOT NULL OR NEW.price_labor_fee IS NOT NULL OR NEW.price_travel_fee IS NOT NULL
	      OR NEW.price_callout_fee IS NOT NULL OR NEW.price_complexity_factor IS NOT NULL OR NEW.price_surcharge_pct IS NOT NULL
	      OR NEW.price_tax_rate_labor IS NOT NULL OR NEW.price_tax_rate_parts IS NOT NULL OR NEW.price_rework_window IS NOT NULL
	      OR NEW.approved_estimate_low IS NOT NULL OR NEW.approved_estimate_high IS NOT NULL OR NEW.estimate_approved_by IS NOT NULL)
	EXECUTE FUNCTION repairsys.ticket_price_snapshot_trg();
-- 30: the SLA targets from sla_policy and the deadlines, in the center's
-- calendar (holidays, make-up working days): needs 10's service center.
CREATE TRIGGER ticket_30_sla_open BEFORE INSERT ON repairsys.ticket
	FOR EACH ROW EXECUTE FUNCTION repairsys.ticket_sla_open_trg();
-- 36: a new ticket has no arrival (but from the owner's restore): after the
-- clock checks, with which it shares nothing.
CREATE TRIGGER ticket_36_arrival BEFORE INSERT ON repairsys.ticket
	FOR EACH ROW WHEN (NEW.arrived_at IS NOT NULL)
	EXECUTE FUNCTION repairsys.ticket_arrival_trg();

------------------------------------------------------------------------------
-- BEFORE UPDATE
------------------------------------------------------------------------------
-- 15: approving the estimate snapshots the price inputs and the estimate
-- totals; nobody writes the snapshot or undoes an approval.  Before 20, so
-- the transition's guards see the approval of the same UPDATE.
CREATE TRIGGER ticket_15_price_snapshot
	BEFORE UPDATE OF estimate_approved_at, price_labor_fee, price_travel_fee, price_callout_fee,
	                 price_complexity_factor, price_surcharge_pct, price_tax_rate_labor, price_tax_rate_parts,
	                 price_rework_window, approved_estimate_low, approved_estimate_high, estimate_approved_by
	ON repairsys.ticket
	FOR EACH ROW EXECUTE FUNCTION repairsys.ticket_price_snapshot_trg();
-- 16: the asset belongs to the customer; once the bill is agreed (approved
-- or invoiced) the facts it was computed from are frozen.
CREATE TRIGGER ticket_16_bill_facts
	BEFORE UPDATE OF customer_id, asset_id, warranty_void, service_type, complexity, urgency ON repairsys.ticket
	FOR EACH ROW EXECUTE FUNCTION repairsys.ticket_bill_facts_trg();
-- 20: the life cycle (C, src/lifecycle.c): the status change against
-- ticket_transition and its guard, the role of the new state, the stamps
-- (first response, resolved, closed, reopen count, status_changed_at).
CREATE TRIGGER ticket_20_transition BEFORE UPDATE ON repairsys.ticket
	FOR EACH ROW EXECUTE FUNCTION repairsys.ticket_transition_trg();
-- 22: a billable ticket entering (or working in) a resolved-role state bills
-- no more than the approved estimate allows (docs/billing.md); after 20, so
-- NEW.status_role is the role of the state being entered and the transition
-- passed, and before the SLA and assignment triggers, which need not run for
-- a move it refuses.  The WHEN clause keeps it off every other change.
CREATE TRIGGER ticket_22_approved_ceiling BEFORE UPDATE ON repairsys.ticket
	FOR EACH ROW
	WHEN (NEW.status_role = 'resolved'
	      AND (NEW.status IS DISTINCT FROM OLD.status OR NEW.labor_minutes IS DISTINCT FROM OLD.labor_minutes
	           OR NEW.travel_km IS DISTINCT FROM OLD.travel_km)
	      AND NOT repairsys.is_table_owner('repairsys.ticket'::regclass))
	EXECUTE FUNCTION repairsys.ticket_approved_ceiling_trg();
-- 23: with require_sign_off, entering a closed-role state needs a sign-off
-- that matches the bill; after 20 (the role) and 22.
CREATE TRIGGER ticket_23_sign_off_required BEFORE UPDATE OF status ON repairsys.ticket
	FOR EACH ROW
	WHEN (NEW.status_role = 'closed' AND OLD.status_role IS DISTINCT FROM 'closed'
	      AND NOT repairsys.is_table_owner('repairsys.ticket'::regclass))
	EXECUTE FUNCTION repairsys.ticket_sign_off_required_trg();
-- 25: an assignment (or a reopened finished ticket that keeps its
-- technician): active and below capacity.  After 20, whose reopen clears
-- closed_at, which the condition reads.
CREATE TRIGGER ticket_25_assign_check BEFORE UPDATE ON repairsys.ticket
	FOR EACH ROW WHEN (NEW.technician_id IS NOT NULL
	                   AND (NEW.technician_id IS DISTINCT FROM OLD.technician_id
	                        OR (NEW.closed_at IS NULL AND OLD.closed_at IS NOT NULL)))
	EXECUTE FUNCTION repairsys.ticket_assign_check_trg();
-- 25: only the table owner changes the SLA snapshot columns.
CREATE TRIGGER ticket_25_sla_guard BEFORE UPDATE OF sla_respond_within, sla_resolve_within, sla_time_zone, sla_paused
	ON repairsys.ticket
	FOR EACH ROW EXECUTE FUNCTION repairsys.ticket_sla_guard_trg();
-- 30: leaving a state that pauses the SLA adds the business time of the
-- hold to sla_paused and moves resolve_by; after 20, which stamped the new
-- status_changed_at, reading OLD's.
CREATE TRIGGER ticket_30_sla_pause BEFORE UPDATE OF status ON repairsys.ticket
	FOR EACH ROW
	WHEN (NEW.status IS DISTINCT FROM OLD.status AND OLD.sla_resolve_within IS NOT NULL
	      AND OLD.resolve_by IS NOT NULL AND OLD.status_changed_at IS NOT NULL)
	EXECUTE FUNCTION repairsys.ticket_sla_pause_trg();
-- 35: a caller's opened_at, respond_by, resolve_by are finite, the zone
-- valid; last, on the values the row will have.
CREATE TRIGGER ticket_35_times BEFORE UPDATE OF opened_at, respond_by, resolve_by, sla_time_zone ON repairsys.ticket
	FOR EACH ROW WHEN (NEW.opened_at IS DISTINCT FROM OLD.opened_at OR NEW.respond_by IS DISTINCT FROM OLD.respond_by
	                   OR NEW.resolve_by IS DISTINCT FROM OLD.resolve_by OR NEW.sla_time_zone IS DISTINCT FROM OLD.sla_time_zone)
	EXECUTE FUNCTION repairsys.ticket_times_trg();
-- 36: the arrival (上门) is stamped once, now, by check_in() or a plain
-- UPDATE (docs/dispatch.md).
CREATE TRIGGER ticket_36_arrival_update BEFORE UPDATE OF arrived_at ON repairsys.ticket
	FOR EACH ROW WHEN (NEW.arrived_at IS DISTINCT FROM OLD.arrived_at)
	EXECUTE FUNCTION repairsys.ticket_arrival_trg();

------------------------------------------------------------------------------
-- BEFORE DELETE
------------------------------------------------------------------------------
-- 55: a deleted ticket leaves its technician's load.
CREATE TRIGGER ticket_55_load_delete BEFORE DELETE ON repairsys.ticket
	FOR EACH ROW WHEN (OLD.technician_id IS NOT NULL)
	EXECUTE FUNCTION repairsys.ticket_load_trg();
-- 75: a deleted ticket's learned sample leaves the diagnosis model
-- (docs/reports.md); BEFORE, so the sample, which references the ticket, is
-- gone before the foreign key is checked.
CREATE TRIGGER ticket_75_diagnosis_delete BEFORE DELETE ON repairsys.ticket
	FOR EACH ROW EXECUTE FUNCTION repairsys.ticket_diagnosis_trg();
-- 78: the ticket, its feedback and payments leave its customer's roll-up
-- row (customer_rollup, 71b_customer_rollup.sql); the last BEFORE DELETE
-- trigger, so that no trigger after it keeps the row, and BEFORE, because the
-- delete cascades to the feedback, which the AFTER triggers could no longer
-- tie to the ticket's customer.
CREATE TRIGGER ticket_78_customer_rollup_delete BEFORE DELETE ON repairsys.ticket
	FOR EACH ROW EXECUTE FUNCTION repairsys.customer_rollup_ticket_delete_trg();

------------------------------------------------------------------------------
-- AFTER INSERT
------------------------------------------------------------------------------
-- 50: the new ticket's roll-up row (ticket_fact, 71_rollups.sql); before
-- 95, whose automatic assignment then changes it as an UPDATE does.
CREATE TRIGGER ticket_50_rollup_insert AFTER INSERT ON repairsys.ticket
	FOR EACH ROW EXECUTE FUNCTION repairsys.ticket_fact_insert_trg();
-- 51: the customer's roll-up row (customer_rollup, 71b_customer_rollup.sql)
-- counts the new ticket; it reads the row and writes only that row, so its
-- place does not matter (before 95, whose assignment changes nothing it
-- counts).
CREATE TRIGGER ticket_51_customer_rollup_insert AFTER INSERT ON repairsys.ticket
	FOR EACH ROW EXECUTE FUNCTION repairsys.customer_rollup_ticket_trg();
-- 55: the technician's load counts a ticket opened with him.
CREATE TRIGGER ticket_55_load_insert AFTER INSERT ON repairsys.ticket
	FOR EACH ROW WHEN (NEW.technician_id IS NOT NULL)
	EXECUTE FUNCTION repairsys.ticket_load_trg();
-- 90: the history row (ticket_event) and NOTIFY repairsys_events (C).
CREATE TRIGGER ticket_90_log AFTER INSERT OR UPDATE ON repairsys.ticket
	FOR EACH ROW EXECUTE FUNCTION repairsys.ticket_log_trg();
-- 95: automatic assignment of a new ticket (policy 'default' with
-- auto_assign_on_open): after 90, so the history tells the opening before the
-- assignment, which is an UPDATE of its own and fires the UPDATE triggers.
CREATE TRIGGER ticket_95_auto_assign AFTER INSERT ON repairsys.ticket
	FOR EACH ROW EXECUTE FUNCTION repairsys.ticket_auto_assign_trg();

------------------------------------------------------------------------------
-- AFTER UPDATE (90_log is the AFTER INSERT OR UPDATE trigger above)
------------------------------------------------------------------------------
-- 50: the roll-up row (ticket_fact, 71_rollups.sql) follows the columns the
-- reports read; it reads only the row and writes only its roll-up row, so
-- its place among the others does not matter.  The WHEN clause keeps it off
-- the status changes that change none of them (in_progress <-> on hold moves
-- resolve_by, so those pay for it).
CREATE TRIGGER ticket_50_rollup_update AFTER UPDATE ON repairsys.ticket
	FOR EACH ROW
	WHEN ((NEW.service_center_id, NEW.opened_at, NEW.service_type, NEW.status_role = 'cancelled', NEW.technician_id,
	       NEW.labor_minutes, NEW.travel_km, NEW.resolved_at, NEW.resolve_by, NEW.status_role = 'closed', NEW.closed_at,
	       NEW.reopen_count, NEW.asset_id, NEW.sla_resolve_within::text, NEW.sla_time_zone)
	      IS DISTINCT FROM (OLD.service_center_id, OLD.opened_at, OLD.service_type, OLD.status_role = 'cancelled', OLD.technician_id,
	       OLD.labor_minutes, OLD.travel_km, OLD.resolved_at, OLD.resolve_by, OLD.status_role = 'closed', OLD.closed_at,
	       OLD.reopen_count, OLD.asset_id, OLD.sla_resolve_within::text, OLD.sla_time_zone))
	EXECUTE FUNCTION repairsys.ticket_fact_update_trg();
-- 51: the customers' roll-up rows (customer_rollup, 71b_customer_rollup.sql)
-- follow a change of customer, of the cancelled role, of the opening or of
-- the resolution; it reads the row, its feedback and payments and writes only
-- the customers' rows, so its place does not matter.  The WHEN clause keeps
-- it off every other status change (the life cycle's in_progress <->
-- waiting_parts does not pay for it).
CREATE TRIGGER ticket_51_customer_rollup_update AFTER UPDATE ON repairsys.ticket
	FOR EACH ROW
	WHEN ((NEW.customer_id, NEW.status_role = 'cancelled', NEW.opened_at, NEW.resolved_at)
	      IS DISTINCT FROM (OLD.customer_id, OLD.status_role = 'cancelled', OLD.opened_at, OLD.resolved_at))
	EXECUTE FUNCTION repairsys.customer_rollup_ticket_trg();
-- 52: an approval records the approved first estimate as revision 1; it
-- reads only the row and writes only estimate_revision.
CREATE TRIGGER ticket_52_first_revision AFTER UPDATE OF estimate_approved_at ON repairsys.ticket
	FOR EACH ROW WHEN (OLD.estimate_approved_at IS NULL AND NEW.estimate_approved_at IS NOT NULL)
	EXECUTE FUNCTION repairsys.ticket_first_revision_trg();
-- 55: the load follows an assignment, a reassignment, a finish, a reopen.
CREATE TRIGGER ticket_55_load_update AFTER UPDATE ON repairsys.ticket
	FOR EACH ROW WHEN (NEW.technician_id IS DISTINCT FROM OLD.technician_id
	                   OR (NEW.closed_at IS NULL) <> (OLD.closed_at IS NULL))
	EXECUTE FUNCTION repairsys.ticket_load_trg();
-- 57: a ticket given another technician takes its booked visit with it
-- (the appointment's trigger checks he is free); after 55, which moved the
-- load.
CREATE TRIGGER ticket_57_visit_follow AFTER UPDATE OF technician_id ON repairsys.ticket
	FOR EACH ROW WHEN (NEW.technician_id IS NOT NULL AND NEW.technician_id IS DISTINCT FROM OLD.technician_id)
	EXECUTE FUNCTION repairsys.ticket_visit_trg();
-- 58: the arrival marks the booked visit done.
CREATE TRIGGER ticket_58_visit_done AFTER UPDATE OF arrived_at ON repairsys.ticket
	FOR EACH ROW WHEN (NEW.arrived_at IS NOT NULL AND OLD.arrived_at IS NULL)
	EXECUTE FUNCTION repairsys.ticket_visit_trg();
-- 60: entering a resolved-role state issues the parts still reserved,
-- a cancelled-role state releases them.
CREATE TRIGGER ticket_60_parts AFTER UPDATE OF status ON repairsys.ticket
	FOR EACH ROW WHEN (NEW.status_role IS DISTINCT FROM OLD.status_role AND NEW.status_role IN ('resolved', 'cancelled'))
	EXECUTE FUNCTION repairsys.ticket_parts_on_status_trg();
-- 65: when the warranty flag or the unit changes (allowed while the bill is
-- not agreed), the coverage of the ticket's parts follows.
CREATE TRIGGER ticket_65_part_coverage
	AFTER UPDATE OF warranty_void, asset_id ON repairsys.ticket
	FOR EACH ROW WHEN (NEW.warranty_void IS DISTINCT FROM OLD.warranty_void OR NEW.asset_id IS DISTINCT FROM OLD.asset_id)
	EXECUTE FUNCTION repairsys.ticket_part_coverage_sync_trg();
-- 70: entering a closed-role state owes the customer a follow-up call.
CREATE TRIGGER ticket_70_follow_up AFTER UPDATE OF status ON repairsys.ticket
	FOR EACH ROW WHEN (NEW.status_role = 'closed' AND OLD.status_role IS DISTINCT FROM 'closed')
	EXECUTE FUNCTION repairsys.ticket_follow_up_trg();
-- 75: a ticket with a fault code learned (or unlearned) by the diagnosis
-- model when it enters or leaves a resolved or closed role, or its fault,
-- description or labor change; after 60, which issued the parts used.
CREATE TRIGGER ticket_75_diagnosis AFTER UPDATE ON repairsys.ticket
	FOR EACH ROW WHEN ((NEW.fault_code IS NOT NULL OR OLD.fault_code IS NOT NULL)
	                   AND (NEW.status_role IS DISTINCT FROM OLD.status_role OR NEW.fault_code IS DISTINCT FROM OLD.fault_code
	                        OR NEW.description IS DISTINCT FROM OLD.description OR NEW.labor_minutes IS DISTINCT FROM OLD.labor_minutes))
	EXECUTE FUNCTION repairsys.ticket_diagnosis_trg();
-- 91: an approved estimate goes to the event log (docs/events.md); after 90
-- (its AFTER UPDATE part), so a status change and an approval in one UPDATE log the status event
-- first; the WHEN clause keeps it off every other UPDATE.
CREATE TRIGGER ticket_91_event_estimate AFTER UPDATE OF estimate_approved_at ON repairsys.ticket
	FOR EACH ROW WHEN (NEW.estimate_approved_at IS NOT NULL AND NEW.estimate_approved_at IS DISTINCT FROM OLD.estimate_approved_at)
	EXECUTE FUNCTION repairsys.ticket_estimate_event_trg();

------------------------------------------------------------------------------
-- AFTER DELETE
------------------------------------------------------------------------------
-- 50: a deleted ticket (the table owner's) on an asset may have been the
-- repeat of earlier tickets of the asset: their first-time fixes in the
-- roll-up (ticket_fact, 71_rollups.sql) are judged again; AFTER, so the
-- deleted ticket no longer counts.  Its own roll-up row goes by the foreign
-- key's cascade.
CREATE TRIGGER ticket_50_rollup_delete AFTER DELETE ON repairsys.ticket
	FOR EACH ROW WHEN (OLD.asset_id IS NOT NULL)
	EXECUTE FUNCTION repairsys.ticket_fact_delete_trg();
