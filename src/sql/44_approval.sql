-- Approval authority for fees (费用审批, DESIGN.md section 13, docs/billing.md
-- "Approval authority").  The limits are repairsys.approval_limit
-- (29_tables_approval.sql); the bill skips discounts that are not approved
-- (compute_bill, 40_billing.sql), billing_audit reports an approved discount
-- its approver's limit does not cover, and the check itself is
-- may_grant_discount() (40_billing.sql, before the view that uses it).
--
-- The one way a person lowers what a customer pays is a discount
-- (ticket_discount: a waiver is a discount of the whole bill, which the
-- table allows up to the bill).  There is no other: coverage lines are
-- computed from the warranty rules, part prices are the list price
-- (ticket_part_snapshot_trg refuses another, 428C9), the price inputs of an
-- approved ticket are its snapshot (ticket_price_snapshot_trg) and invoices
-- are written only by issue_invoice().
--
-- The rule holds at the table: a plain INSERT or UPDATE of ticket_discount
-- gets it from the trigger below, whoever writes it but the table owner's
-- import of rows with a status (restore).  The acting role is CURRENT_USER
-- (the person's role, SET ROLE of an application included).

------------------------------------------------------------------------------
-- The limits: admin only (90_security.sql), a role that exists, dumped once
-- changed
------------------------------------------------------------------------------
-- BEFORE INSERT OR UPDATE on approval_limit: the role must exist (22023),
-- for every writer but the table owner (a restore may come before the roles
-- of the people).
CREATE FUNCTION repairsys.approval_limit_trg()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
BEGIN
	IF NOT repairsys.is_table_owner(TG_RELID)
	   AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles r WHERE r.rolname = NEW.role) THEN
		RAISE EXCEPTION 'role "%" does not exist', NEW.role
			USING ERRCODE = '22023', DETAIL = 'An approval limit is given to an existing database role.';
	END IF;
	RETURN NEW;
END
$$;
COMMENT ON FUNCTION repairsys.approval_limit_trg() IS 'BEFORE INSERT OR UPDATE trigger of approval_limit: the role must exist (22023); the table owner may (restore)';
CREATE TRIGGER approval_limit_10_check BEFORE INSERT OR UPDATE ON repairsys.approval_limit
	FOR EACH ROW EXECUTE FUNCTION repairsys.approval_limit_trg();
CREATE TRIGGER approval_limit_seed BEFORE INSERT OR UPDATE ON repairsys.approval_limit
	FOR EACH ROW EXECUTE FUNCTION repairsys.seed_row_changed('role');
SELECT pg_catalog.pg_extension_config_dump('repairsys.approval_limit', 'WHERE dump');

------------------------------------------------------------------------------
-- The rule at the table
------------------------------------------------------------------------------
-- The sentence that says why a role's limit does not cover a discount.
CREATE FUNCTION repairsys.discount_limit_detail(who name, ticket_id bigint, total numeric, basis numeric)
RETURNS text
LANGUAGE sql STABLE
SET search_path = repairsys, pg_catalog, pg_temp
BEGIN ATOMIC
	SELECT pg_catalog.format('With it the approved discounts of ticket %s would total %s%s; the limits of role %s: %s.',
	           discount_limit_detail.ticket_id, total,
	           CASE WHEN basis > 0 THEN pg_catalog.format(', %s%% of its bill before discounts of %s',
	                                                      pg_catalog.round(total * 100 / basis, 2), basis) ELSE '' END,
	           who,
	           coalesce((SELECT pg_catalog.string_agg(pg_catalog.format('%s up to %s and %s', l.role,
	                                                 coalesce(l.max_amount::text, 'any amount'),
	                                                 coalesce(l.max_pct || '%', 'any percent')), ', ' ORDER BY l.role)
	                       FROM repairsys.approval_limit l
	                       JOIN pg_catalog.pg_roles r ON r.rolname = l.role
	                       JOIN pg_catalog.pg_roles w ON w.rolname = discount_limit_detail.who
	                      WHERE pg_catalog.pg_has_role(w.oid, r.oid, 'USAGE')), 'none'));
END;
COMMENT ON FUNCTION repairsys.discount_limit_detail(name, bigint, numeric, numeric) IS 'The DETAIL of a refused approval: what the ticket''s approved discounts would total, in percent of the bill, and the approval limits the role has';

-- BEFORE INSERT OR UPDATE on ticket_discount (after ticket_discount_10_rules,
-- which locks the ticket and keeps the discounts within the bill):
--   INSERT  the discount is approved at once (approved_by = the giver) when
--           the giver's limit covers the ticket's approved discounts with it
--           (may_grant_discount), else recorded pending; requested_by and
--           created_by are the giver; status, approved_by, approved_at and
--           bill_basis are repairsys's (428C9 when given).  The table owner's
--           rows with a status are taken as they are (restore, migration).
--   UPDATE  only a pending discount is decided (23514 for one already
--           approved or rejected): approving needs a limit that covers it,
--           rejecting too unless it is the requester's own (a withdrawal);
--           42501 otherwise.  Who decided and when are recorded.  Its amount
--           and ticket never change (23514), who asked and when never
--           (428C9).  The table owner decides without a limit.
CREATE FUNCTION repairsys.ticket_discount_approval_trg()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
DECLARE
	owner  boolean := repairsys.is_table_owner(TG_RELID);
	me     name := CURRENT_USER;
	t      repairsys.ticket;
	basis  numeric;
	others numeric;
BEGIN
	IF TG_OP = 'INSERT' THEN
		IF owner AND NEW.status IS NOT NULL THEN
			RETURN NEW;		-- restore or migration: the row as it was
		END IF;
		IF NOT owner AND (NEW.status IS NOT NULL OR NEW.approved_by IS NOT NULL OR NEW.approved_at IS NOT NULL OR NEW.bill_basis IS NOT NULL) THEN
			RAISE EXCEPTION 'columns status, approved_by, approved_at and bill_basis of ticket_discount are set by repairsys'
				USING ERRCODE = '428C9',
				      DETAIL = 'A discount is approved at once when it is within the approval limit of who gives it, else it waits for repairsys.approve_discount().';
		END IF;
		IF NOT owner THEN
			NEW.requested_by := me;
			NEW.created_by := me;
		END IF;
		NEW.status := 'pending';
		IF NEW.amount IS NULL OR NEW.amount = 'NaN' OR NEW.amount <= 0 THEN
			RETURN NEW;		-- the CHECK constraints name it
		END IF;
		SELECT * INTO t FROM repairsys.ticket x WHERE x.id = NEW.ticket_id;
		IF NOT FOUND THEN
			RETURN NEW;		-- the foreign key names it
		END IF;
		basis := repairsys.discount_basis(t);
		SELECT coalesce(sum(x.amount), 0) INTO others
		  FROM repairsys.ticket_discount x WHERE x.ticket_id = t.id AND x.status = 'approved';
		NEW.bill_basis := basis;
		IF repairsys.may_grant_discount(me, others + NEW.amount, basis) THEN
			NEW.status := 'approved';
			NEW.approved_by := me;
			NEW.approved_at := pg_catalog.clock_timestamp();
		END IF;
		RETURN NEW;
	END IF;

	-- UPDATE
	IF NOT owner THEN
		IF NEW.amount IS DISTINCT FROM OLD.amount OR NEW.ticket_id IS DISTINCT FROM OLD.ticket_id THEN
			RAISE EXCEPTION 'cannot change the amount or the ticket of discount %', OLD.id
				USING ERRCODE = '23514', DETAIL = 'A discount is approved for its amount on its ticket.',
				      HINT = 'Reject it, or delete it, and give a new one.';
		END IF;
		IF (NEW.requested_by, NEW.created_by, NEW.created_at, NEW.approved_by, NEW.approved_at, NEW.bill_basis)
		   IS DISTINCT FROM (OLD.requested_by, OLD.created_by, OLD.created_at, OLD.approved_by, OLD.approved_at, OLD.bill_basis) THEN
			RAISE EXCEPTION 'columns requested_by, created_by, created_at, approved_by, approved_at and bill_basis of ticket_discount are set by repairsys'
				USING ERRCODE = '428C9';
		END IF;
	END IF;
	IF NEW.status IS NOT DISTINCT FROM OLD.status OR NEW.status IS NULL THEN
		RETURN NEW;
	END IF;
	IF OLD.status <> 'pending' THEN
		RAISE EXCEPTION 'discount % was already %', OLD.id, OLD.status
			USING ERRCODE = '23514', DETAIL = 'A decision on a discount is never changed.';
	END IF;
	IF NEW.status = 'pending' THEN
		RETURN NEW;
	END IF;
	SELECT * INTO t FROM repairsys.ticket x WHERE x.id = NEW.ticket_id;
	basis := CASE WHEN FOUND THEN repairsys.discount_basis(t) END;
	SELECT coalesce(sum(x.amount), 0) INTO others
	  FROM repairsys.ticket_discount x WHERE x.ticket_id = NEW.ticket_id AND x.status = 'approved' AND x.id <> OLD.id;
	IF NOT owner AND NOT (NEW.status = 'rejected' AND OLD.requested_by = me)
	   AND NOT repairsys.may_grant_discount(me, others + NEW.amount, coalesce(basis, 0)) THEN
		RAISE EXCEPTION 'the approval limit of role "%" does not cover discount %', me, OLD.id
			USING ERRCODE = '42501',
			      DETAIL = repairsys.discount_limit_detail(me, NEW.ticket_id, others + NEW.amount, basis),
			      HINT = 'A role whose approval limit (repairsys.approval_limit) covers it approves or rejects it.';
	END IF;
	IF owner AND NEW.approved_by IS DISTINCT FROM OLD.approved_by THEN
		RETURN NEW;		-- the owner wrote the decision in full
	END IF;
	NEW.approved_by := me;
	NEW.approved_at := pg_catalog.clock_timestamp();
	NEW.bill_basis := basis;
	RETURN NEW;
END
$$;
COMMENT ON FUNCTION repairsys.ticket_discount_approval_trg() IS 'BEFORE INSERT OR UPDATE trigger of ticket_discount (approval authority): a new discount is approved at once within the giver''s approval limit, else pending; a pending one is approved, or rejected, by a role whose limit covers it (42501 otherwise; the requester may withdraw their own); decisions are final (23514); who asked and who decided are recorded (428C9 when given); the table owner''s rows with a status are taken as they are';
CREATE TRIGGER ticket_discount_20_approval
	BEFORE INSERT OR UPDATE ON repairsys.ticket_discount
	FOR EACH ROW EXECUTE FUNCTION repairsys.ticket_discount_approval_trg();

------------------------------------------------------------------------------
-- The functions: the same route as a plain UPDATE of status
------------------------------------------------------------------------------
-- Decides a pending discount (approved or rejected): unknown id 22023, a
-- discount already decided 23514, a limit that does not cover it 42501 (the
-- trigger).  With the caller's rights: a role without UPDATE on
-- ticket_discount gets 42501.
CREATE FUNCTION repairsys.decide_discount(discount_id bigint, decision text)
RETURNS repairsys.ticket_discount
LANGUAGE plpgsql VOLATILE
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
DECLARE
	d repairsys.ticket_discount;
BEGIN
	IF decision IS NULL OR decision NOT IN ('approved', 'rejected') THEN
		RAISE EXCEPTION 'invalid decision on a discount: "%"', coalesce(decision, 'NULL')
			USING ERRCODE = '22023', DETAIL = 'A discount is approved or rejected.';
	END IF;
	IF discount_id IS NULL THEN
		RAISE EXCEPTION 'invalid discount id: NULL' USING ERRCODE = '22023';
	END IF;
	UPDATE repairsys.ticket_discount x SET status = decide_discount.decision
	 WHERE x.id = decide_discount.discount_id AND x.status = 'pending'
	RETURNING x.* INTO d;
	IF NOT FOUND THEN
		SELECT x.* INTO d FROM repairsys.ticket_discount x WHERE x.id = decide_discount.discount_id;
		IF FOUND THEN
			RAISE EXCEPTION 'discount % was already %', d.id, d.status
				USING ERRCODE = '23514', DETAIL = 'A decision on a discount is never changed.';
		END IF;
		RAISE EXCEPTION 'discount % does not exist', discount_id USING ERRCODE = '22023';
	END IF;
	RETURN d;
END
$$;
COMMENT ON FUNCTION repairsys.decide_discount(bigint, text) IS 'Approves or rejects a pending discount (decision: approved or rejected) by the caller''s approval limit and returns its row; unknown id or decision 22023, already decided 23514, limit too small 42501';

CREATE FUNCTION repairsys.approve_discount(discount_id bigint)
RETURNS repairsys.ticket_discount
LANGUAGE sql VOLATILE
SET search_path = repairsys, pg_catalog, pg_temp
BEGIN ATOMIC
	SELECT * FROM repairsys.decide_discount(approve_discount.discount_id, 'approved');
END;
COMMENT ON FUNCTION repairsys.approve_discount(bigint) IS 'Approves a pending discount: the caller''s approval limit must cover the ticket''s approved discounts with it (42501 otherwise); then it is on the bill; unknown id 22023, already decided 23514; returns its row';

CREATE FUNCTION repairsys.reject_discount(discount_id bigint)
RETURNS repairsys.ticket_discount
LANGUAGE sql VOLATILE
SET search_path = repairsys, pg_catalog, pg_temp
BEGIN ATOMIC
	SELECT * FROM repairsys.decide_discount(reject_discount.discount_id, 'rejected');
END;
COMMENT ON FUNCTION repairsys.reject_discount(bigint) IS 'Rejects a pending discount (never on the bill): by a role whose approval limit covers it, or by the role that asked for it (a withdrawal); 42501 otherwise; unknown id 22023, already decided 23514; returns its row';

------------------------------------------------------------------------------
-- Events (docs/events.md), in the transaction of the change
------------------------------------------------------------------------------
-- AFTER INSERT OR UPDATE OF status on ticket_discount: discount_requested (a
-- pending discount), discount_approved (at once or later), discount_rejected.
CREATE FUNCTION repairsys.ticket_discount_event_trg()
RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
BEGIN
	IF TG_OP = 'INSERT' AND repairsys.is_import(NEW.created_at, TG_RELID)
	   OR TG_OP = 'UPDATE' AND NEW.status IS NOT DISTINCT FROM OLD.status THEN
		RETURN NULL;
	END IF;
	PERFORM repairsys.emit_event(CASE NEW.status WHEN 'pending' THEN 'discount_requested' ELSE 'discount_' || NEW.status END,
		NEW.ticket_id, (SELECT t.service_center_id FROM repairsys.ticket t WHERE t.id = NEW.ticket_id),
		pg_catalog.jsonb_build_object('discount_id', NEW.id, 'amount', NEW.amount, 'description', NEW.description,
		                              'requested_by', NEW.requested_by, 'approved_by', NEW.approved_by,
		                              'bill_basis', NEW.bill_basis));
	RETURN NULL;
END
$$;
COMMENT ON FUNCTION repairsys.ticket_discount_event_trg() IS 'AFTER INSERT OR UPDATE trigger of ticket_discount: writes discount_requested (pending), discount_approved or discount_rejected (not for a restored or migrated row: is_import())';
CREATE TRIGGER ticket_discount_90_event AFTER INSERT OR UPDATE OF status ON repairsys.ticket_discount
	FOR EACH ROW EXECUTE FUNCTION repairsys.ticket_discount_event_trg();
