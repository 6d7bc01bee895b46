-- Roll-ups of the report views (DESIGN.md section 12, docs/performance.md
-- "Roll-ups"): the triggers that keep repairsys.ticket_fact (27b_tables_rollups.sql)
-- in the writing transaction, its recomputation from the base tables, and
-- repairsys.rollup_rebuild().  The triggers on repairsys.ticket are in
-- 80_ticket_triggers.sql (ticket_50_rollup_*); the views that read the
-- roll-up are in 72_cost.sql.
--
-- Every trigger writes only the rows of the tickets its statement touched:
-- the ticket's own columns are copied from the row (the ticket's row lock
-- orders its writers), the sums of its invoice lines and stock movements are
-- moved by signed deltas, so no write path recomputes anything but its own
-- rows, and two transactions on different tickets share no row.  The
-- triggers on invoice lines and stock movements are per statement with
-- transition tables, so an invoice of eight lines or a set-based import
-- moves each ticket's row once per statement.

------------------------------------------------------------------------------
-- The recomputation (what the roll-up must equal)
------------------------------------------------------------------------------
-- The month a ticket belongs to: the month of its opening, in its center's
-- time zone (UTC without a center), as the reports have always counted it.
CREATE FUNCTION repairsys.ticket_month(opened_at timestamptz, time_zone text)
RETURNS date
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = repairsys, pg_catalog, pg_temp
BEGIN ATOMIC
	SELECT pg_catalog.date_trunc('month', opened_at AT TIME ZONE coalesce(time_zone, 'UTC'))::date;
END;
COMMENT ON FUNCTION repairsys.ticket_month(timestamptz, text) IS 'First day of the month an instant falls in, in the time zone (NULL: UTC): the month a ticket opened then belongs to in the reports';

-- Every ticket's roll-up row computed from the base tables, set-based.
CREATE FUNCTION repairsys.ticket_fact_recomputed()
RETURNS SETOF repairsys.ticket_fact
LANGUAGE sql STABLE
SET search_path = repairsys, pg_catalog, pg_temp
BEGIN ATOMIC
	SELECT t.id, t.service_center_id, repairsys.ticket_month(t.opened_at, sc.time_zone), t.service_type,
	       t.status_role <> 'cancelled', t.technician_id, t.labor_minutes, t.travel_km, t.opened_at, t.resolved_at, t.resolve_by,
	       coalesce(r.lines, 0)::integer, coalesce(r.revenue, 0.00), coalesce(p.parts_cost, 0.00), fb.rating
	  FROM repairsys.ticket t
	  LEFT JOIN repairsys.service_center sc ON sc.id = t.service_center_id
	  LEFT JOIN (SELECT i.ticket_id, count(*) AS lines, sum(l.amount) AS revenue
	               FROM repairsys.invoice i JOIN repairsys.invoice_line l ON l.invoice_id = i.id
	              GROUP BY i.ticket_id) r ON r.ticket_id = t.id
	  LEFT JOIN (SELECT m.ticket_id, sum(-m.qty * coalesce(m.unit_cost, pt.unit_cost)) AS parts_cost
	               FROM repairsys.stock_movement m JOIN repairsys.part pt ON pt.sku = m.sku
	              WHERE m.kind IN ('issue', 'return') AND m.ticket_id IS NOT NULL
	              GROUP BY m.ticket_id) p ON p.ticket_id = t.id
	  LEFT JOIN repairsys.feedback fb ON fb.ticket_id = t.id;
END;
COMMENT ON FUNCTION repairsys.ticket_fact_recomputed() IS 'Every ticket''s roll-up row (repairsys.ticket_fact) recomputed from the tickets, invoice lines, stock movements and feedback (check_invariants compares, rollup_rebuild writes)';

-- Recomputes every roll-up from the base tables, set-based: after a load
-- with triggers disabled, a data-only restore, or to repair what
-- check_invariants() reports.  Takes the roll-up's lock for the rebuild, so
-- writers of tickets wait for it rather than change what it is rebuilding.
CREATE FUNCTION repairsys.rollup_rebuild()
RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
DECLARE
	n bigint;
	m bigint;  -- (customer_rollup)
BEGIN
	LOCK TABLE repairsys.ticket_fact IN EXCLUSIVE MODE;
	DELETE FROM repairsys.ticket_fact;
	INSERT INTO repairsys.ticket_fact SELECT * FROM repairsys.ticket_fact_recomputed();
	GET DIAGNOSTICS n = ROW_COUNT;
	ANALYZE repairsys.ticket_fact;
	-- customer_rollup (customer_profile's roll-up, 71b_customer_rollup.sql)
	LOCK TABLE repairsys.customer_rollup IN EXCLUSIVE MODE;
	DELETE FROM repairsys.customer_rollup;
	INSERT INTO repairsys.customer_rollup SELECT * FROM repairsys.customer_rollup_recomputed();
	GET DIAGNOSTICS m = ROW_COUNT;
	n := n + m;
	ANALYZE repairsys.customer_rollup;
	-- (end of customer_rollup)
	RETURN n;
END
$$;
COMMENT ON FUNCTION repairsys.rollup_rebuild() IS 'Recomputes every roll-up of the report views (ticket_fact, customer_rollup) from the base tables, set-based (after an import or restore with triggers disabled); returns the rows written';

------------------------------------------------------------------------------
-- The triggers
------------------------------------------------------------------------------
-- AFTER INSERT on ticket: the new ticket's row (its invoice lines, stock
-- movements and feedback, which reference it, come later, also on restore).
CREATE FUNCTION repairsys.ticket_fact_insert_trg()
RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
BEGIN
	INSERT INTO repairsys.ticket_fact (ticket_id, service_center_id, month, service_type, counted, technician_id,
	                                   labor_minutes, travel_km, opened_at, resolved_at, resolve_by)
	VALUES (NEW.id, NEW.service_center_id,
	        repairsys.ticket_month(NEW.opened_at, (SELECT sc.time_zone FROM repairsys.service_center sc WHERE sc.id = NEW.service_center_id)),
	        NEW.service_type, NEW.status_role <> 'cancelled', NEW.technician_id, NEW.labor_minutes, NEW.travel_km,
	        NEW.opened_at, NEW.resolved_at, NEW.resolve_by);
	RETURN NULL;
END
$$;
COMMENT ON FUNCTION repairsys.ticket_fact_insert_trg() IS 'AFTER INSERT trigger of ticket: the new ticket''s roll-up row (ticket_fact)';

-- AFTER UPDATE on ticket, per row, only when a column the reports read
-- changed (WHEN clause in 80_ticket_triggers.sql): copies them.  The ticket's
-- row lock orders the writers of one ticket, so the last one wins with the
-- last values.
CREATE FUNCTION repairsys.ticket_fact_update_trg()
RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
BEGIN
	UPDATE repairsys.ticket_fact f
	   SET service_center_id = NEW.service_center_id,
	       month = CASE WHEN NEW.opened_at IS DISTINCT FROM OLD.opened_at OR NEW.service_center_id IS DISTINCT FROM OLD.service_center_id
	                    THEN repairsys.ticket_month(NEW.opened_at, (SELECT sc.time_zone FROM repairsys.service_center sc WHERE sc.id = NEW.service_center_id))
	                    ELSE f.month END,
	       service_type = NEW.service_type, counted = NEW.status_role <> 'cancelled', technician_id = NEW.technician_id,
	       labor_minutes = NEW.labor_minutes, travel_km = NEW.travel_km, opened_at = NEW.opened_at,
	       resolved_at = NEW.resolved_at, resolve_by = NEW.resolve_by
	 WHERE f.ticket_id = NEW.id;
	RETURN NULL;
END
$$;
COMMENT ON FUNCTION repairsys.ticket_fact_update_trg() IS 'AFTER UPDATE trigger of ticket (when a column the reports read changed): copies them to its roll-up row (ticket_fact)';

-- AFTER INSERT / UPDATE / DELETE on invoice_line, per statement: the
-- invoiced revenue and the line count of the tickets, by signed deltas.
-- (Lines are frozen: only the table owner may change or delete one.)
CREATE FUNCTION repairsys.invoice_line_fact_trg()
RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
BEGIN
	IF TG_OP IN ('UPDATE', 'DELETE') THEN
		UPDATE repairsys.ticket_fact f
		   SET invoice_lines = f.invoice_lines - d.n, revenue = f.revenue - d.amount
		  FROM (SELECT i.ticket_id, count(*) AS n, sum(o.amount) AS amount
		          FROM old_lines o JOIN repairsys.invoice i ON i.id = o.invoice_id GROUP BY i.ticket_id) d
		 WHERE f.ticket_id = d.ticket_id;
	END IF;
	IF TG_OP IN ('INSERT', 'UPDATE') THEN
		UPDATE repairsys.ticket_fact f
		   SET invoice_lines = f.invoice_lines + d.n, revenue = f.revenue + d.amount
		  FROM (SELECT i.ticket_id, count(*) AS n, sum(x.amount) AS amount
		          FROM new_lines x JOIN repairsys.invoice i ON i.id = x.invoice_id GROUP BY i.ticket_id) d
		 WHERE f.ticket_id = d.ticket_id;
	END IF;
	RETURN NULL;
END
$$;
COMMENT ON FUNCTION repairsys.invoice_line_fact_trg() IS 'AFTER statement trigger of invoice_line: moves the tickets'' invoiced revenue and line count in ticket_fact by signed deltas';

-- AFTER UPDATE OF ticket_id on invoice (the table owner only): the lines'
-- revenue moves to the other ticket.
CREATE FUNCTION repairsys.invoice_fact_trg()
RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
DECLARE
	n      bigint;
	amount numeric;
BEGIN
	SELECT count(*), coalesce(sum(l.amount), 0) INTO n, amount FROM repairsys.invoice_line l WHERE l.invoice_id = NEW.id;
	UPDATE repairsys.ticket_fact f SET invoice_lines = f.invoice_lines - n, revenue = f.revenue - amount WHERE f.ticket_id = OLD.ticket_id;
	UPDATE repairsys.ticket_fact f SET invoice_lines = f.invoice_lines + n, revenue = f.revenue + amount WHERE f.ticket_id = NEW.ticket_id;
	RETURN NULL;
END
$$;
COMMENT ON FUNCTION repairsys.invoice_fact_trg() IS 'AFTER UPDATE OF ticket_id trigger of invoice: moves the invoice''s revenue between the tickets'' ticket_fact rows';

-- AFTER INSERT / UPDATE on stock_movement, per row: the parts cost of the
-- ticket (issues less returns at the row's unit cost, the part's where it has
-- none), by signed deltas.  Per row, not per statement: the ledger is
-- partitioned by month, and a restore COPYs into the month partitions, where
-- only the parent's row triggers (cloned to every partition) fire.  Not on
-- DELETE: the ledger is append-only, and ensure_partitions() moving a month
-- out of the DEFAULT partition deletes its rows there (the table owner's
-- corrections of the ledger: repairsys.rollup_rebuild()).
CREATE FUNCTION repairsys.stock_movement_fact_trg()
RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
BEGIN
	IF TG_OP = 'UPDATE' AND OLD.kind IN ('issue', 'return') AND OLD.ticket_id IS NOT NULL THEN
		UPDATE repairsys.ticket_fact f
		   SET parts_cost = f.parts_cost - coalesce(-OLD.qty * coalesce(OLD.unit_cost, (SELECT pt.unit_cost FROM repairsys.part pt WHERE pt.sku = OLD.sku)), 0)
		 WHERE f.ticket_id = OLD.ticket_id;
	END IF;
	IF NEW.kind IN ('issue', 'return') AND NEW.ticket_id IS NOT NULL THEN
		UPDATE repairsys.ticket_fact f
		   SET parts_cost = f.parts_cost + coalesce(-NEW.qty * coalesce(NEW.unit_cost, (SELECT pt.unit_cost FROM repairsys.part pt WHERE pt.sku = NEW.sku)), 0)
		 WHERE f.ticket_id = NEW.ticket_id;
	END IF;
	RETURN NULL;
END
$$;
COMMENT ON FUNCTION repairsys.stock_movement_fact_trg() IS 'AFTER INSERT OR UPDATE row trigger of stock_movement: moves the ticket''s parts cost in ticket_fact by signed deltas';

-- AFTER UPDATE OF unit_cost on part: ledger rows without a unit cost of
-- their own are costed at the part's, so the tickets they were issued to
-- change by the difference.
CREATE FUNCTION repairsys.part_fact_trg()
RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
BEGIN
	UPDATE repairsys.ticket_fact f
	   SET parts_cost = f.parts_cost + d.qty * (NEW.unit_cost - OLD.unit_cost)
	  FROM (SELECT m.ticket_id, sum(-m.qty) AS qty FROM repairsys.stock_movement m
	         WHERE m.sku = NEW.sku AND m.unit_cost IS NULL AND m.kind IN ('issue', 'return') AND m.ticket_id IS NOT NULL
	         GROUP BY m.ticket_id) d
	 WHERE f.ticket_id = d.ticket_id;
	RETURN NULL;
END
$$;
COMMENT ON FUNCTION repairsys.part_fact_trg() IS 'AFTER UPDATE OF unit_cost trigger of part: the parts cost in ticket_fact of tickets issued units without a ledger unit cost follows the part''s';

-- AFTER INSERT / UPDATE / DELETE on feedback: the ticket's rating.
CREATE FUNCTION repairsys.feedback_fact_trg()
RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
BEGIN
	IF TG_OP = 'DELETE' OR (TG_OP = 'UPDATE' AND NEW.ticket_id IS DISTINCT FROM OLD.ticket_id) THEN
		UPDATE repairsys.ticket_fact f SET rating = NULL WHERE f.ticket_id = OLD.ticket_id;
	END IF;
	IF TG_OP IN ('INSERT', 'UPDATE') THEN
		UPDATE repairsys.ticket_fact f SET rating = NEW.rating WHERE f.ticket_id = NEW.ticket_id;
	END IF;
	RETURN NULL;
END
$$;
COMMENT ON FUNCTION repairsys.feedback_fact_trg() IS 'AFTER trigger of feedback: the ticket''s rating in ticket_fact';

-- AFTER UPDATE OF time_zone on service_center: its tickets' months are
-- counted in the new zone (one UPDATE of the center's rows, through the
-- index on center and month).
CREATE FUNCTION repairsys.service_center_fact_trg()
RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
BEGIN
	UPDATE repairsys.ticket_fact f SET month = repairsys.ticket_month(f.opened_at, NEW.time_zone)
	 WHERE f.service_center_id = NEW.id AND f.month IS DISTINCT FROM repairsys.ticket_month(f.opened_at, NEW.time_zone);
	RETURN NULL;
END
$$;
COMMENT ON FUNCTION repairsys.service_center_fact_trg() IS 'AFTER UPDATE OF time_zone trigger of service_center: its tickets'' months in ticket_fact follow the new zone';

CREATE TRIGGER invoice_line_50_fact_insert AFTER INSERT ON repairsys.invoice_line
	REFERENCING NEW TABLE AS new_lines FOR EACH STATEMENT EXECUTE FUNCTION repairsys.invoice_line_fact_trg();
CREATE TRIGGER invoice_line_50_fact_update AFTER UPDATE ON repairsys.invoice_line
	REFERENCING OLD TABLE AS old_lines NEW TABLE AS new_lines FOR EACH STATEMENT EXECUTE FUNCTION repairsys.invoice_line_fact_trg();
CREATE TRIGGER invoice_line_50_fact_delete AFTER DELETE ON repairsys.invoice_line
	REFERENCING OLD TABLE AS old_lines FOR EACH STATEMENT EXECUTE FUNCTION repairsys.invoice_line_fact_trg();
CREATE TRIGGER invoice_50_fact AFTER UPDATE OF ticket_id ON repairsys.invoice
	FOR EACH ROW WHEN (NEW.ticket_id IS DISTINCT FROM OLD.ticket_id) EXECUTE FUNCTION repairsys.invoice_fact_trg();
CREATE TRIGGER stock_movement_50_fact AFTER INSERT OR UPDATE ON repairsys.stock_movement
	FOR EACH ROW EXECUTE FUNCTION repairsys.stock_movement_fact_trg();
CREATE TRIGGER part_50_fact AFTER UPDATE OF unit_cost ON repairsys.part
	FOR EACH ROW WHEN (NEW.unit_cost IS DISTINCT FROM OLD.unit_cost) EXECUTE FUNCTION repairsys.part_fact_trg();
CREATE TRIGGER feedback_50_fact AFTER INSERT OR DELETE ON repairsys.feedback
	FOR EACH ROW EXECUTE FUNCTION repairsys.feedback_fact_trg();
CREATE TRIGGER feedback_50_fact_update AFTER UPDATE ON repairsys.feedback
	FOR EACH ROW WHEN (NEW.ticket_id IS DISTINCT FROM OLD.ticket_id OR NEW.rating IS DISTINCT FROM OLD.rating)
	EXECUTE FUNCTION repairsys.feedback_fact_trg();
CREATE TRIGGER service_center_50_fact AFTER UPDATE OF time_zone ON repairsys.service_center
	FOR EACH ROW WHEN (NEW.time_zone IS DISTINCT FROM OLD.time_zone) EXECUTE FUNCTION repairsys.service_center_fact_trg();
