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

-- technician_performance's per-ticket figures.  The hours from opening to
-- resolution: in the business hours of the ticket's resolve calendar (its
-- SLA snapshot, with the center's closed and make-up working days) when it
-- has one, else wall-clock; NULL while unresolved.
CREATE FUNCTION repairsys.resolution_hours(sla repairsys.sla_interval, opened_at timestamptz, resolved_at timestamptz,
                                           closed date[], time_zone text, open date[], open_as integer[])
RETURNS double precision
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = repairsys, pg_catalog, pg_temp
BEGIN ATOMIC
	SELECT CASE WHEN resolved_at IS NOT NULL
	            THEN pg_catalog.date_part('epoch', CASE WHEN sla IS NOT NULL
	                                                    THEN repairsys.sla_elapsed(sla, opened_at, resolved_at, closed, time_zone, open, open_as)
	                                                    ELSE resolved_at - opened_at END) / 3600 END;
END;
COMMENT ON FUNCTION repairsys.resolution_hours(repairsys.sla_interval, timestamptz, timestamptz, date[], text, date[], integer[]) IS 'Hours from opening to resolution: business hours of the SLA calendar with the closed and make-up dates, wall-clock without one; NULL while unresolved';

-- The same for one ticket, with its center's dates (read only when needed).
CREATE FUNCTION repairsys.ticket_resolution_hours(t repairsys.ticket)
RETURNS double precision
LANGUAGE sql STABLE
SET search_path = repairsys, pg_catalog, pg_temp
BEGIN ATOMIC
	SELECT CASE WHEN t.resolved_at IS NULL THEN NULL
	            WHEN t.sla_resolve_within IS NULL THEN repairsys.resolution_hours(NULL, t.opened_at, t.resolved_at, NULL, NULL, NULL, NULL)
	            ELSE (SELECT repairsys.resolution_hours(t.sla_resolve_within, t.opened_at, t.resolved_at,
	                                                     repairsys.closed_dates(t.service_center_id), t.sla_time_zone, od.days, od.works_as)
	                    FROM repairsys.open_dates(t.service_center_id) od) END;
END;
COMMENT ON FUNCTION repairsys.ticket_resolution_hours(repairsys.ticket) IS 'resolution_hours of a ticket with its center''s holidays and make-up working days (technician_performance, ticket_fact.resolution_hours)';

-- A first-time fix: resolved, never reopened, and no later ticket (not
-- cancelled) on the same asset and service type opened within rework_window
-- after the resolution.
CREATE FUNCTION repairsys.ticket_first_fix(t repairsys.ticket)
RETURNS boolean
LANGUAGE sql STABLE
SET search_path = repairsys, pg_catalog, pg_temp
BEGIN ATOMIC
	SELECT CASE WHEN t.resolved_at IS NULL OR t.reopen_count <> 0 THEN false
	            ELSE NOT EXISTS (SELECT 1 FROM repairsys.ticket r
	                              WHERE r.asset_id = t.asset_id AND r.service_type = t.service_type AND r.id <> t.id
	                                AND r.status_role <> 'cancelled'
	                                AND r.opened_at > t.resolved_at
	                                AND r.opened_at <= t.resolved_at + repairsys.setting_value('rework_window')::interval) END;
END;
COMMENT ON FUNCTION repairsys.ticket_first_fix(repairsys.ticket) IS 'True when the ticket is resolved, never reopened, and no later ticket (not cancelled) on the same asset and service type was opened within rework_window after its resolution';

-- Every ticket's roll-up row computed from the base tables, set-based; or,
-- given service centers, only the rows of their tickets (a load of new
-- centers, demo_load's set-based path, recomputes what it wrote and not the
-- whole history).  Custom plans: the NULL test folds away, so that a call for
-- some centers reads their tickets through ticket_center_opened_idx and the
-- invoices, ledger rows and later tickets of those tickets only.
CREATE FUNCTION repairsys.ticket_fact_recomputed(centers bigint[] DEFAULT NULL)
RETURNS SETOF repairsys.ticket_fact
LANGUAGE plpgsql STABLE
SET search_path = repairsys, pg_catalog, pg_temp
SET plan_cache_mode = force_custom_plan
AS $$
BEGIN
	RETURN QUERY
	-- each center's closed and make-up dates once (n: without a center;
	-- materialized, or they would be computed again for every ticket)
	WITH cd AS MATERIALIZED (
		SELECT c.id, repairsys.closed_dates(c.id) AS closed, od.days, od.works_as
		  FROM repairsys.service_center c CROSS JOIN LATERAL repairsys.open_dates(c.id) od
		 WHERE centers IS NULL OR c.id = ANY (centers)
	), n AS MATERIALIZED (
		SELECT repairsys.closed_dates(NULL) AS closed, od.days, od.works_as FROM repairsys.open_dates(NULL) od
	)
	SELECT t.id, t.service_center_id, repairsys.ticket_month(t.opened_at, sc.time_zone), t.service_type,
	       t.status_role <> 'cancelled', t.technician_id, t.labor_minutes, t.travel_km, t.opened_at, t.resolved_at, t.resolve_by,
	       coalesce(r.lines, 0)::integer, coalesce(r.revenue, 0.00)::numeric(16,2), coalesce(p.parts_cost, 0.00)::numeric(16,2), fb.rating,
	       repairsys.ticket_month(t.closed_at, sc.time_zone), t.status_role = 'closed', coalesce(fb.complaint, false),
	       t.resolved_at IS NOT NULL AND t.reopen_count = 0 AND rw.id IS NULL,
	       repairsys.resolution_hours(t.sla_resolve_within, t.opened_at, t.resolved_at,
	                                  CASE WHEN t.service_center_id IS NULL THEN n.closed ELSE cd.closed END, t.sla_time_zone,
	                                  CASE WHEN t.service_center_id IS NULL THEN n.days ELSE cd.days END,
	                                  CASE WHEN t.service_center_id IS NULL THEN n.works_as ELSE cd.works_as END)
	  FROM repairsys.ticket t
	  LEFT JOIN repairsys.service_center sc ON sc.id = t.service_center_id
	  LEFT JOIN cd ON cd.id = t.service_center_id
	 CROSS JOIN n
	  -- the resolved tickets repaired again: a later ticket on the asset within the window
	  LEFT JOIN (SELECT DISTINCT p.id
	               FROM repairsys.ticket p
	               JOIN repairsys.ticket r ON r.asset_id = p.asset_id AND r.service_type = p.service_type AND r.id <> p.id
	                AND r.status_role <> 'cancelled' AND r.opened_at > p.resolved_at
	                AND r.opened_at <= p.resolved_at + repairsys.setting_value('rework_window')::interval
	              WHERE p.resolved_at IS NOT NULL AND (centers IS NULL OR p.service_center_id = ANY (centers))) rw ON rw.id = t.id
	  LEFT JOIN (SELECT i.ticket_id, count(*) AS lines, sum(l.amount) AS revenue
	               FROM repairsys.invoice i JOIN repairsys.invoice_line l ON l.invoice_id = i.id
	              WHERE centers IS NULL
	                 OR i.ticket_id IN (SELECT x.id FROM repairsys.ticket x WHERE x.service_center_id = ANY (centers))
	              GROUP BY i.ticket_id) r ON r.ticket_id = t.id
	  LEFT JOIN (SELECT m.ticket_id, sum(-m.qty * coalesce(m.unit_cost, pt.unit_cost)) AS parts_cost
	               FROM repairsys.stock_movement m JOIN repairsys.part pt ON pt.sku = m.sku
	              WHERE m.kind IN ('issue', 'return') AND m.ticket_id IS NOT NULL
	                AND (centers IS NULL
	                     OR m.ticket_id IN (SELECT x.id FROM repairsys.ticket x WHERE x.service_center_id = ANY (centers)))
	              GROUP BY m.ticket_id) p ON p.ticket_id = t.id
	  LEFT JOIN repairsys.feedback fb ON fb.ticket_id = t.id
	 WHERE centers IS NULL OR t.service_center_id = ANY (centers);
END
$$;
COMMENT ON FUNCTION repairsys.ticket_fact_recomputed(bigint[]) IS 'Every ticket''s roll-up row (repairsys.ticket_fact) recomputed from the tickets, invoice lines, stock movements and feedback, or only those of the tickets of the given service centers (check_invariants compares, rollup_rebuild writes)';

-- Recomputes every roll-up from the base tables, set-based: after a load
-- with triggers disabled, a data-only restore, or to repair what
-- check_invariants() reports.  Given service centers, only the rows of
-- their tickets (after a load of those centers).  Takes the roll-up's lock
-- for the rebuild, so writers of tickets wait for it rather than change what
-- it is rebuilding.
CREATE FUNCTION repairsys.rollup_rebuild(centers bigint[] DEFAULT NULL)
RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
DECLARE
	n bigint;
	m bigint;  -- (customer_rollup)
BEGIN
	IF centers IS NOT NULL AND pg_catalog.array_position(centers, NULL) IS NOT NULL THEN
		RAISE EXCEPTION 'the service centers to rebuild must not contain NULL'
			USING ERRCODE = '22023', DETAIL = 'Pass NULL (the default) to rebuild every roll-up row.';
	END IF;
	LOCK TABLE repairsys.ticket_fact IN EXCLUSIVE MODE;
	IF centers IS NULL THEN
		DELETE FROM repairsys.ticket_fact;
	ELSE
		DELETE FROM repairsys.ticket_fact f
		 WHERE f.service_center_id = ANY (centers)
		    OR f.ticket_id IN (SELECT x.id FROM repairsys.ticket x WHERE x.service_center_id = ANY (centers));
	END IF;
	INSERT INTO repairsys.ticket_fact SELECT * FROM repairsys.ticket_fact_recomputed(centers);
	GET DIAGNOSTICS n = ROW_COUNT;
	ANALYZE repairsys.ticket_fact;
	-- customer_rollup (customer_profile's roll-up, 71b_customer_rollup.sql)
	LOCK TABLE repairsys.customer_rollup IN EXCLUSIVE MODE;
	IF centers IS NULL THEN
		DELETE FROM repairsys.customer_rollup;
	ELSE
		DELETE FROM repairsys.customer_rollup r
		 WHERE r.customer_id IN (SELECT c.id FROM repairsys.customer c WHERE c.service_center_id = ANY (centers));
	END IF;
	INSERT INTO repairsys.customer_rollup SELECT * FROM repairsys.customer_rollup_recomputed(centers);
	GET DIAGNOSTICS m = ROW_COUNT;
	n := n + m;
	ANALYZE repairsys.customer_rollup;
	-- (end of customer_rollup)
	RETURN n;
END
$$;
COMMENT ON FUNCTION repairsys.rollup_rebuild(bigint[]) IS 'Recomputes every roll-up of the report views (ticket_fact, customer_rollup) from the base tables, set-based (after an import or restore with triggers disabled), or only the rows of the tickets and customers of the given service centers; returns the rows written';

------------------------------------------------------------------------------
-- The triggers
------------------------------------------------------------------------------
-- The first-time fixes of the earlier tickets of an asset and service type
-- that a ticket opened then (inserted, moved, cancelled, deleted) can change:
-- those resolved within rework_window before it, through ticket_asset_type_idx.
-- Writes only the rows whose flag changes.
CREATE FUNCTION repairsys.ticket_fact_rework(asset_id bigint, service_type text, opened_at timestamptz, ticket_id bigint)
RETURNS void
LANGUAGE sql VOLATILE
SET search_path = repairsys, pg_catalog, pg_temp
BEGIN ATOMIC
	UPDATE repairsys.ticket_fact f
	   SET first_fix = x.first_fix
	  FROM (SELECT p.id, repairsys.ticket_first_fix(p) AS first_fix
	          FROM repairsys.ticket p
	         WHERE p.asset_id = ticket_fact_rework.asset_id AND p.service_type = ticket_fact_rework.service_type
	           AND p.id <> ticket_fact_rework.ticket_id AND p.opened_at < ticket_fact_rework.opened_at
	           AND p.resolved_at < ticket_fact_rework.opened_at
	           AND p.resolved_at >= ticket_fact_rework.opened_at - repairsys.setting_value('rework_window')::interval) x
	 WHERE f.ticket_id = x.id AND f.first_fix IS DISTINCT FROM x.first_fix;
END;
COMMENT ON FUNCTION repairsys.ticket_fact_rework(bigint, text, timestamptz, bigint) IS 'Recomputes ticket_fact.first_fix of the earlier tickets of the asset and service type resolved within rework_window before the instant (a ticket opened then), but the given ticket';

-- AFTER INSERT on ticket: the new ticket's row (its invoice lines, stock
-- movements and feedback, which reference it, come later, also on restore).
CREATE FUNCTION repairsys.ticket_fact_insert_trg()
RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
BEGIN
	INSERT INTO repairsys.ticket_fact (ticket_id, service_center_id, month, service_type, counted, technician_id,
	                                   labor_minutes, travel_km, opened_at, resolved_at, resolve_by, closed_month, closed,
	                                   first_fix, resolution_hours)
	SELECT NEW.id, NEW.service_center_id, repairsys.ticket_month(NEW.opened_at, z.time_zone),
	       NEW.service_type, NEW.status_role <> 'cancelled', NEW.technician_id, NEW.labor_minutes, NEW.travel_km,
	       NEW.opened_at, NEW.resolved_at, NEW.resolve_by, repairsys.ticket_month(NEW.closed_at, z.time_zone), NEW.status_role = 'closed',
	       repairsys.ticket_first_fix(NEW), repairsys.ticket_resolution_hours(NEW)
	  FROM (SELECT (SELECT sc.time_zone FROM repairsys.service_center sc WHERE sc.id = NEW.service_center_id) AS time_zone) z;
	-- a new ticket on an asset may be the repeat of an earlier one
	IF NEW.asset_id IS NOT NULL THEN
		PERFORM repairsys.ticket_fact_rework(NEW.asset_id, NEW.service_type, NEW.opened_at, NEW.id);
	END IF;
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
	       resolved_at = NEW.resolved_at, resolve_by = NEW.resolve_by,
	       closed_month = CASE WHEN NEW.closed_at IS NULL THEN NULL
	                           WHEN NEW.closed_at IS DISTINCT FROM OLD.closed_at OR NEW.service_center_id IS DISTINCT FROM OLD.service_center_id
	                           THEN repairsys.ticket_month(NEW.closed_at, (SELECT sc.time_zone FROM repairsys.service_center sc WHERE sc.id = NEW.service_center_id))
	                           ELSE f.closed_month END,
	       closed = NEW.status_role = 'closed',
	       first_fix = CASE WHEN (NEW.resolved_at, NEW.reopen_count, NEW.asset_id, NEW.service_type)
	                             IS NOT DISTINCT FROM (OLD.resolved_at, OLD.reopen_count, OLD.asset_id, OLD.service_type)
	                        THEN f.first_fix ELSE repairsys.ticket_first_fix(NEW) END,
	       resolution_hours = CASE WHEN (NEW.opened_at, NEW.resolved_at, NEW.sla_resolve_within::text, NEW.sla_time_zone, NEW.service_center_id)
	                                    IS NOT DISTINCT FROM (OLD.opened_at, OLD.resolved_at, OLD.sla_resolve_within::text, OLD.sla_time_zone, OLD.service_center_id)
	                               THEN f.resolution_hours ELSE repairsys.ticket_resolution_hours(NEW) END
	 WHERE f.ticket_id = NEW.id;
	-- a ticket that moved to another asset, service type or opening, or
	-- that was cancelled or revived, changes whether the earlier tickets
	-- of the asset were fixed the first time
	IF (NEW.asset_id, NEW.service_type, NEW.opened_at, NEW.status_role = 'cancelled')
	   IS DISTINCT FROM (OLD.asset_id, OLD.service_type, OLD.opened_at, OLD.status_role = 'cancelled') THEN
		IF OLD.asset_id IS NOT NULL THEN
			PERFORM repairsys.ticket_fact_rework(OLD.asset_id, OLD.service_type, OLD.opened_at, NEW.id);
		END IF;
		IF NEW.asset_id IS NOT NULL THEN
			PERFORM repairsys.ticket_fact_rework(NEW.asset_id, NEW.service_type, NEW.opened_at, NEW.id);
		END IF;
	END IF;
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

-- AFTER INSERT / UPDATE / DELETE on feedback: the ticket's rating and
-- complaint flag.
CREATE FUNCTION repairsys.feedback_fact_trg()
RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
BEGIN
	IF TG_OP = 'DELETE' OR (TG_OP = 'UPDATE' AND NEW.ticket_id IS DISTINCT FROM OLD.ticket_id) THEN
		UPDATE repairsys.ticket_fact f SET rating = NULL, complaint = false WHERE f.ticket_id = OLD.ticket_id;
	END IF;
	IF TG_OP IN ('INSERT', 'UPDATE') THEN
		UPDATE repairsys.ticket_fact f SET rating = NEW.rating, complaint = NEW.complaint WHERE f.ticket_id = NEW.ticket_id;
	END IF;
	RETURN NULL;
END
$$;
COMMENT ON FUNCTION repairsys.feedback_fact_trg() IS 'AFTER trigger of feedback: the ticket''s rating and complaint flag in ticket_fact';

-- AFTER UPDATE OF time_zone on service_center: its tickets' months (of
-- opening and of closing) are counted in the new zone (one UPDATE of the
-- center's rows, through the index on center and month).
CREATE FUNCTION repairsys.service_center_fact_trg()
RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
BEGIN
	UPDATE repairsys.ticket_fact f
	   SET month = repairsys.ticket_month(f.opened_at, NEW.time_zone),
	       closed_month = repairsys.ticket_month(t.closed_at, NEW.time_zone)
	  FROM repairsys.ticket t
	 WHERE f.service_center_id = NEW.id AND t.id = f.ticket_id
	   AND (f.month IS DISTINCT FROM repairsys.ticket_month(f.opened_at, NEW.time_zone)
	        OR f.closed_month IS DISTINCT FROM repairsys.ticket_month(t.closed_at, NEW.time_zone));
	RETURN NULL;
END
$$;
COMMENT ON FUNCTION repairsys.service_center_fact_trg() IS 'AFTER UPDATE OF time_zone trigger of service_center: its tickets'' months (opening, closing) in ticket_fact follow the new zone';

-- AFTER DELETE on ticket (the table owner): its roll-up row goes with it
-- (ON DELETE CASCADE); the earlier tickets of its asset it was a repeat of
-- may be first-time fixes again.
CREATE FUNCTION repairsys.ticket_fact_delete_trg()
RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
BEGIN
	PERFORM repairsys.ticket_fact_rework(OLD.asset_id, OLD.service_type, OLD.opened_at, OLD.id);
	RETURN NULL;
END
$$;
COMMENT ON FUNCTION repairsys.ticket_fact_delete_trg() IS 'AFTER DELETE trigger of ticket (with an asset): the first-time fixes in ticket_fact of the earlier tickets of its asset';

-- AFTER INSERT / UPDATE / DELETE on holiday: a closed or make-up working
-- date of a center (or of all centers) changes the business hours of the
-- tickets with an SLA calendar open across it (two days either side, for
-- the time zones); those of the other dates are unchanged.  Writes only the
-- rows whose hours change.
CREATE FUNCTION repairsys.holiday_fact_trg()
RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
DECLARE
	h repairsys.holiday;
BEGIN
	FOREACH h IN ARRAY CASE TG_OP WHEN 'INSERT' THEN ARRAY[NEW] WHEN 'DELETE' THEN ARRAY[OLD] ELSE ARRAY[OLD, NEW] END LOOP
		UPDATE repairsys.ticket_fact f
		   SET resolution_hours = x.hours
		  FROM (SELECT t.id, repairsys.ticket_resolution_hours(t) AS hours
		          FROM repairsys.ticket t
		         WHERE t.resolved_at IS NOT NULL AND t.sla_resolve_within IS NOT NULL
		           AND (h.service_center_id IS NULL OR t.service_center_id = h.service_center_id)
		           AND t.opened_at < (h.day + 2)::timestamp AT TIME ZONE 'UTC'
		           AND t.resolved_at > (h.day - 2)::timestamp AT TIME ZONE 'UTC') x
		 WHERE f.ticket_id = x.id AND f.resolution_hours IS DISTINCT FROM x.hours;
	END LOOP;
	RETURN NULL;
END
$$;
COMMENT ON FUNCTION repairsys.holiday_fact_trg() IS 'AFTER trigger of holiday: the business hours of resolution in ticket_fact of the tickets open across the date';

-- AFTER UPDATE of the setting rework_window: every resolved ticket's
-- first-time fix is judged by the new window.
CREATE FUNCTION repairsys.setting_fact_trg()
RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
BEGIN
	UPDATE repairsys.ticket_fact f
	   SET first_fix = x.first_fix
	  FROM (SELECT t.id, repairsys.ticket_first_fix(t) AS first_fix FROM repairsys.ticket t
	         WHERE t.resolved_at IS NOT NULL AND t.reopen_count = 0 AND t.asset_id IS NOT NULL) x
	 WHERE f.ticket_id = x.id AND f.first_fix IS DISTINCT FROM x.first_fix;
	RETURN NULL;
END
$$;
COMMENT ON FUNCTION repairsys.setting_fact_trg() IS 'AFTER UPDATE trigger of setting rework_window: the first-time fixes in ticket_fact follow the new window';

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
	FOR EACH ROW WHEN (NEW.ticket_id IS DISTINCT FROM OLD.ticket_id OR NEW.rating IS DISTINCT FROM OLD.rating
	                   OR NEW.complaint IS DISTINCT FROM OLD.complaint)
	EXECUTE FUNCTION repairsys.feedback_fact_trg();
CREATE TRIGGER service_center_50_fact AFTER UPDATE OF time_zone ON repairsys.service_center
	FOR EACH ROW WHEN (NEW.time_zone IS DISTINCT FROM OLD.time_zone) EXECUTE FUNCTION repairsys.service_center_fact_trg();
CREATE TRIGGER holiday_50_fact AFTER INSERT OR UPDATE OR DELETE ON repairsys.holiday
	FOR EACH ROW EXECUTE FUNCTION repairsys.holiday_fact_trg();
CREATE TRIGGER setting_50_fact AFTER UPDATE ON repairsys.setting
	FOR EACH ROW WHEN (NEW.name = 'rework_window' AND NEW.value IS DISTINCT FROM OLD.value)
	EXECUTE FUNCTION repairsys.setting_fact_trg();
