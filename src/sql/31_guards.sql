-- The built-in guards of ticket transitions (ticket_transition.guard).  Each
-- takes the ticket row as it will be after the change and returns NULL when
-- the guard passes, else what is missing (a phrase for the error message).
-- They are called through repairsys.check_guard() by the life-cycle trigger,
-- with the table owner's rights; the phrase is shown to whoever moved the
-- ticket, so it names what is missing and never a figure (amount, invoice
-- number, date) that role may not read.

-- What covers a ticket's work, in one row: whether the product warranty does
-- (the asset's warranty runs on the local date the ticket was opened, and was
-- not voided), the asset's warranty date, and the earlier closed ticket of
-- the same asset and service type that makes this one a repeat repair (free
-- of labor: closed within the rework window, the ticket's snapshot, else the
-- rework_window setting, before this one was opened), or NULL.
-- under_warranty() and rework_of() read it; compute_bill() reads it in its
-- own query: a set-returning SQL function whose body is one SELECT is
-- inlined into the query that calls it, so a report that bills a thousand
-- tickets runs no query per ticket for it.
-- (no SET search_path: a BEGIN ATOMIC body's names are bound when it is
-- created, and a SET clause would keep it from being inlined)
-- The earlier ticket is read from ticket_asset_type_idx alone, which
-- carries each ticket's closing time, role and id (70_reports.sql): an
-- index-only scan of the unit's earlier tickets of the type.  Read through
-- the heap, it fetched each of them (months apart in the table) to test its
-- closing time (docs/performance.md, "The audit without the lines").
CREATE FUNCTION repairsys.ticket_coverage(t repairsys.ticket, OUT warranty boolean, OUT warranty_until date, OUT rework_of bigint)
RETURNS SETOF record
LANGUAGE sql STABLE
ROWS 1
BEGIN ATOMIC
	-- (the local date is within a day of the UTC date, so the center's time
	-- zone is looked up only when the warranty ends within two days of it)
	SELECT coalesce(NOT t.warranty_void AND
	                CASE WHEN a.warranty_until IS NULL OR t.opened_at IS NULL THEN NULL
	                     WHEN a.warranty_until >= (t.opened_at AT TIME ZONE 'UTC')::date + 2 THEN true
	                     WHEN a.warranty_until <= (t.opened_at AT TIME ZONE 'UTC')::date - 2 THEN false
	                     ELSE a.warranty_until >=
	                          (t.opened_at AT TIME ZONE coalesce((SELECT c.time_zone FROM repairsys.service_center c WHERE c.id = t.service_center_id),
	                                                             pg_catalog.current_setting('TimeZone')))::date END,
	                false),
	       a.warranty_until,
	       -- (from ticket_asset_type_idx alone, above)
	       (SELECT p.id
	          FROM repairsys.ticket p
	         WHERE t.asset_id IS NOT NULL AND p.asset_id = t.asset_id AND p.service_type = t.service_type
	           AND p.id <> t.id AND p.status_role = 'closed' AND p.closed_at <= t.opened_at
	           AND p.closed_at >= t.opened_at - coalesce(t.price_rework_window, repairsys.setting_value('rework_window'))::interval
	         ORDER BY p.closed_at DESC, p.id DESC
	         LIMIT 1)
	  FROM (SELECT 1) AS one
	  LEFT JOIN repairsys.asset a ON a.id = t.asset_id;
END;
COMMENT ON FUNCTION repairsys.ticket_coverage(repairsys.ticket) IS 'What covers a ticket''s work, one row: under product warranty (on the local date it was opened, not void), the asset''s warranty date, and the earlier ticket that makes it a repeat repair (rework_of) or NULL';

-- Whether the ticket's work is covered by the product warranty.
-- (no SET search_path: a BEGIN ATOMIC body's names are bound when it is
-- created)
CREATE FUNCTION repairsys.under_warranty(t repairsys.ticket)
RETURNS boolean
LANGUAGE sql STABLE
BEGIN ATOMIC
	SELECT c.warranty FROM repairsys.ticket_coverage(t) c;
END;
COMMENT ON FUNCTION repairsys.under_warranty(repairsys.ticket) IS 'True when the ticket''s asset is under product warranty on the local date the ticket was opened and the warranty is not void';

-- Whether the customer pays for the ticket's work (warranty work is free).
CREATE FUNCTION repairsys.ticket_is_billable(t repairsys.ticket)
RETURNS boolean
LANGUAGE sql STABLE
SET search_path = repairsys, pg_catalog, pg_temp
BEGIN ATOMIC
	SELECT NOT repairsys.under_warranty(t);
END;
COMMENT ON FUNCTION repairsys.ticket_is_billable(repairsys.ticket) IS 'True when the customer pays for the ticket''s work (not warranty work)';

CREATE FUNCTION repairsys.guard_has_technician(t repairsys.ticket)
RETURNS text
LANGUAGE sql STABLE
SET search_path = repairsys, pg_catalog, pg_temp
BEGIN ATOMIC
	SELECT CASE
		WHEN t.technician_id IS NULL THEN 'the ticket has no technician'
		WHEN NOT tech.active THEN pg_catalog.format('technician %s is not active', t.technician_id)
	END
	  FROM (SELECT 1) AS one
	  LEFT JOIN repairsys.technician tech ON tech.id = t.technician_id;
END;
COMMENT ON FUNCTION repairsys.guard_has_technician(repairsys.ticket) IS 'Guard has_technician: an active technician is assigned';

CREATE FUNCTION repairsys.guard_estimate_approved(t repairsys.ticket)
RETURNS text
LANGUAGE sql STABLE
SET search_path = repairsys, pg_catalog, pg_temp
BEGIN ATOMIC
	SELECT CASE
		WHEN t.estimate_approved_at IS NULL AND repairsys.ticket_is_billable(t)
		THEN 'the customer has not approved the estimate of this billable ticket'
	END;
END;
COMMENT ON FUNCTION repairsys.guard_estimate_approved(repairsys.ticket) IS 'Guard estimate_approved: work on a billable ticket starts only after the customer approved the estimate (warranty work needs none)';

CREATE FUNCTION repairsys.guard_labor_recorded(t repairsys.ticket)
RETURNS text
LANGUAGE sql STABLE
SET search_path = repairsys, pg_catalog, pg_temp
BEGIN ATOMIC
	SELECT CASE WHEN coalesce(t.labor_minutes, 0) <= 0 THEN 'no labor minutes are recorded' END;
END;
COMMENT ON FUNCTION repairsys.guard_labor_recorded(repairsys.ticket) IS 'Guard labor_recorded: labor minutes are recorded before resolution';

-- (PL/pgSQL, not BEGIN ATOMIC: the bill view it reads is created by
-- 40_billing.sql, after the guards)
CREATE FUNCTION repairsys.guard_settled(t repairsys.ticket)
RETURNS text
LANGUAGE plpgsql STABLE
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
DECLARE
	inv   repairsys.invoice;
	paid  numeric;
	total numeric;
BEGIN
	SELECT * INTO inv FROM repairsys.invoice i WHERE i.ticket_id = t.id;
	IF NOT FOUND THEN
		SELECT b.total INTO total FROM repairsys.bill_summary b WHERE b.ticket_id = t.id;
		IF coalesce(total, 0) = 0 THEN
			RETURN NULL;		-- free of charge
		END IF;
		RETURN 'no invoice has been issued for the ticket''s bill';
	END IF;
	SELECT coalesce(sum(p.amount), 0) INTO paid FROM repairsys.payment p WHERE p.invoice_id = inv.id;
	IF inv.total > paid THEN
		RETURN 'the ticket''s invoice is not fully paid';
	END IF;
	RETURN NULL;
END
$$;
COMMENT ON FUNCTION repairsys.guard_settled(repairsys.ticket) IS 'Guard settled: the bill is zero (free of charge), or its invoice is issued and fully paid';

CREATE FUNCTION repairsys.guard_reopen_window(t repairsys.ticket)
RETURNS text
LANGUAGE sql STABLE
SET search_path = repairsys, pg_catalog, pg_temp
BEGIN ATOMIC
	SELECT CASE
		WHEN t.resolved_at < pg_catalog.now() - repairsys.setting_value('reopen_window')::interval
		THEN pg_catalog.format('the ticket was resolved more than %s ago', repairsys.setting_value('reopen_window'))
	END;
END;
COMMENT ON FUNCTION repairsys.guard_reopen_window(repairsys.ticket) IS 'Guard reopen_window: a resolved ticket may be reopened only within the reopen_window setting';
