-- Consent over every price (docs/billing.md, "Consent over every price"): the
-- customer never pays more than they agreed to.  Every estimate a customer is
-- shown is kept in repairsys.estimate_revision; approve_estimate() approves
-- the latest one, revise_estimate() makes a new one from the work known now;
-- a billable ticket whose bill exceeds the approved high (with the
-- estimate_tolerance_pct setting) cannot enter a resolved-role state, and
-- billing_audit reports any ticket where that was bypassed.
--
-- Triggers on repairsys.estimate_revision (BEFORE triggers fire in name order):
--   estimate_revision_10_rules    BEFORE INSERT OR UPDATE OR DELETE  the table route's rules (caller's rights)
--   estimate_revision_20_figures  BEFORE INSERT                      number and figures of a new revision (owner's rights)
--   estimate_revision_30_approve  BEFORE UPDATE OF approved_at        only the latest revision, of an open ticket (owner's rights)
-- Triggers on repairsys.ticket_sign_off:
--   ticket_sign_off_10_rules      BEFORE INSERT  the table route's rules (caller's rights)
--   ticket_sign_off_20_hash       BEFORE INSERT  the bill's hash and total (owner's rights)
--   (and the append-only triggers of 90_security.sql)

INSERT INTO repairsys.setting (name, value, description, dump, type, min_value, choices) VALUES
	('estimate_tolerance_pct', '10', 'A billable ticket may be resolved only while its bill total is at most the approved estimate''s high total plus this percent (snapshotted on each approval)', false, 'number', 0, NULL),
	('require_sign_off', 'false', 'true: a ticket enters a closed-role state only with a sign-off (签字确认) of its bill as it is', false, 'choice', NULL, ARRAY['true', 'false']);

------------------------------------------------------------------------------
-- The figures of a revision
------------------------------------------------------------------------------
-- The low and high totals (with tax) of ticket t for the given labor minutes
-- and travel km, counting reserved parts as well as used ones, and the lines
-- of both scenarios as the customer is shown them.
-- (PL/pgSQL, so that its query, into which compute_bill() is inlined, is
-- planned once per session: an SQL function called in an expression plans
-- its body again in every transaction, and a revision is written in a
-- transaction of its own.)
CREATE FUNCTION repairsys.estimate_figures(t repairsys.ticket, minutes_low numeric, minutes_high numeric, km numeric,
	OUT low numeric, OUT high numeric, OUT lines jsonb)
RETURNS record
LANGUAGE plpgsql STABLE
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
BEGIN
	SELECT coalesce(sum(b.amount + b.tax_amount) FILTER (WHERE s.scenario = 'low'), 0),
	       coalesce(sum(b.amount + b.tax_amount) FILTER (WHERE s.scenario = 'high'), 0),
	       coalesce(pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
	                    'scenario', s.scenario, 'line_no', b.line_no, 'kind', b.kind, 'description', b.description,
	                    'quantity', b.quantity, 'unit', b.unit, 'unit_price', b.unit_price, 'amount', b.amount,
	                    'tax_rate', b.tax_rate, 'tax_amount', b.tax_amount) ORDER BY s.o, b.line_no)
	                FILTER (WHERE b.line_no IS NOT NULL), '[]'::jsonb)
	  INTO low, high, lines
	  FROM (VALUES (1, 'low', minutes_low), (2, 'high', minutes_high)) AS s(o, scenario, minutes)
	  LEFT JOIN LATERAL repairsys.compute_bill(t, s.minutes, km, true) b ON true;
END
$$;
COMMENT ON FUNCTION repairsys.estimate_figures(repairsys.ticket, numeric, numeric, numeric) IS 'Low and high totals (with tax) of a ticket for the given labor minutes and travel km, reserved parts included, and the lines of both scenarios as a JSON array';

------------------------------------------------------------------------------
-- The table route of estimate_revision
------------------------------------------------------------------------------
-- BEFORE INSERT OR UPDATE OR DELETE, with the caller's rights (current_user
-- is who made or approved the revision).  For every role but the table owner
-- (restore, whose rows are taken as they are):
--   INSERT  the caller gives ticket_id, reason and expected_minutes; the
--           number, the figures and the approval are repairsys's (428C9 when
--           given); created_at and created_by are now and the caller.
--   UPDATE  only approved_at, from NULL (an approval is never changed:
--           23514; any other column: 428C9).
--   DELETE  never (42501): the revisions are the record of what the customer
--           was shown.
-- For every role, the owner included: an approval is stamped now and by
-- current_user.
CREATE FUNCTION repairsys.estimate_revision_rules_trg()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
BEGIN
	IF TG_OP = 'UPDATE' AND OLD.approved_at IS NULL AND NEW.approved_at IS NOT NULL THEN
		NEW.approved_at := pg_catalog.now();
		NEW.approved_by := CURRENT_USER;
	END IF;
	IF repairsys.is_table_owner(TG_RELID) THEN
		RETURN CASE TG_OP WHEN 'DELETE' THEN OLD ELSE NEW END;
	END IF;
	IF TG_OP = 'DELETE' THEN
		RAISE EXCEPTION 'revision % of the estimate of ticket % cannot be deleted', OLD.revision, OLD.ticket_id
			USING ERRCODE = '42501', DETAIL = 'Every estimate a customer was shown is kept.';
	END IF;
	IF TG_OP = 'INSERT' THEN
		IF NEW.revision IS NOT NULL OR NEW.low IS NOT NULL OR NEW.high IS NOT NULL OR NEW.lines IS NOT NULL
		   OR NEW.approved_at IS NOT NULL OR NEW.approved_by IS NOT NULL OR NEW.tolerance_pct IS NOT NULL THEN
			RAISE EXCEPTION 'columns revision, low, high, lines, approved_at, approved_by and tolerance_pct of estimate_revision are set by repairsys'
				USING ERRCODE = '428C9',
				      DETAIL = 'A revision is computed from the ticket''s recorded work at its approved prices; give ticket_id, reason and expected_minutes.',
				      HINT = 'Use repairsys.revise_estimate().';
		END IF;
		NEW.created_at := pg_catalog.now();
		NEW.created_by := CURRENT_USER;
		RETURN NEW;
	END IF;
	IF OLD.approved_at IS NOT NULL AND NEW.approved_at IS DISTINCT FROM OLD.approved_at THEN
		RAISE EXCEPTION 'revision % of the estimate of ticket % was already approved', OLD.revision, OLD.ticket_id
			USING ERRCODE = '23514', DETAIL = 'An approval is never changed or withdrawn.';
	END IF;
	IF (NEW.ticket_id, NEW.revision, NEW.low, NEW.high, NEW.lines, NEW.reason, NEW.expected_minutes, NEW.created_at, NEW.created_by)
	   IS DISTINCT FROM
	   (OLD.ticket_id, OLD.revision, OLD.low, OLD.high, OLD.lines, OLD.reason, OLD.expected_minutes, OLD.created_at, OLD.created_by)
	   OR (NEW.approved_at IS NULL AND (NEW.approved_by IS NOT NULL OR NEW.tolerance_pct IS NOT NULL))
	   OR (OLD.approved_at IS NOT NULL AND (NEW.approved_by, NEW.tolerance_pct) IS DISTINCT FROM (OLD.approved_by, OLD.tolerance_pct)) THEN
		RAISE EXCEPTION 'a revision of an estimate is never changed, only approved'
			USING ERRCODE = '428C9',
			      DETAIL = pg_catalog.format('Revision %s of ticket %s: only approved_at may be set, once.', OLD.revision, OLD.ticket_id);
	END IF;
	RETURN NEW;
END
$$;
COMMENT ON FUNCTION repairsys.estimate_revision_rules_trg() IS 'BEFORE INSERT OR UPDATE OR DELETE trigger of estimate_revision: the caller gives ticket_id, reason, expected_minutes (the rest is repairsys''s, 428C9); only approved_at may be set, once (23514), stamped now and by current_user; no DELETE (42501); the table owner''s rows are taken as they are';
CREATE TRIGGER estimate_revision_10_rules BEFORE INSERT OR UPDATE OR DELETE ON repairsys.estimate_revision
	FOR EACH ROW EXECUTE FUNCTION repairsys.estimate_revision_rules_trg();

-- BEFORE INSERT of a revision without a number (every row but a restored
-- one): under the ticket's lock, a ticket whose estimate was approved and that
-- is not yet resolved, closed or cancelled (by role) gets revision max + 1,
-- from the work known now at its snapshotted prices: labor recorded or
-- expected, the recorded travel (else the distance), parts reserved or used.
-- The low scenario is the labor recorded so far (else the service type's low
-- estimate, at most the high one), the high one the expected minutes (else
-- the recorded ones, else the service type's high estimate).  SECURITY
-- DEFINER (a trigger function: nobody can call it) so that the figures count
-- what the caller may not read (discounts, an earlier ticket that makes this a
-- repeat repair); the caller's row-level security still decides which tickets
-- they may revise (the table's WITH CHECK).
CREATE FUNCTION repairsys.estimate_revision_figures_trg()
RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
DECLARE
	t   repairsys.ticket;
	st  repairsys.service_type;
	hi  numeric;
	lo  numeric;
	f   record;
BEGIN
	SELECT * INTO t FROM repairsys.ticket x WHERE x.id = NEW.ticket_id FOR UPDATE;
	IF NOT FOUND THEN
		RETURN NEW;		-- the foreign key names it
	END IF;
	IF t.estimate_approved_at IS NULL THEN
		RAISE EXCEPTION 'cannot revise the estimate of ticket %: it was never approved', t.id
			USING ERRCODE = '23514',
			      HINT = 'The customer approves the first estimate with repairsys.approve_estimate(); repairsys.estimate() shows it.';
	END IF;
	IF t.status_role IN ('resolved', 'closed', 'cancelled') THEN
		RAISE EXCEPTION 'cannot revise the estimate of ticket % in status "%"', t.id, t.status
			USING ERRCODE = '23514', DETAIL = 'An estimate is revised while the work is open.';
	END IF;
	IF NEW.expected_minutes < coalesce(t.labor_minutes, 0) THEN
		RAISE EXCEPTION 'expected minutes % are fewer than the % minutes recorded on ticket %', NEW.expected_minutes, t.labor_minutes, t.id
			USING ERRCODE = '23514';
	END IF;
	SELECT * INTO st FROM repairsys.service_type s WHERE s.code = t.service_type;
	hi := coalesce(NEW.expected_minutes, t.labor_minutes, st.est_minutes_high, st.est_minutes_low, 0);
	lo := LEAST(coalesce(t.labor_minutes, st.est_minutes_low, st.est_minutes_high, 0), hi);
	f := repairsys.estimate_figures(t, lo, hi, repairsys.estimate_km(t));
	NEW.low := f.low;
	NEW.high := GREATEST(f.high, f.low);
	NEW.lines := f.lines;
	-- (revision 1 is the approval of the estimate before work: a ticket
	-- approved before revisions were kept has no row of it, and its next
	-- revision is still 2)
	NEW.revision := (SELECT coalesce(max(r.revision), 1) + 1 FROM repairsys.estimate_revision r WHERE r.ticket_id = t.id);
	RETURN NEW;
END
$$;
COMMENT ON FUNCTION repairsys.estimate_revision_figures_trg() IS 'BEFORE INSERT trigger of estimate_revision (SECURITY DEFINER): under the ticket''s lock, numbers the revision and computes its figures from the work known now at the approved prices; refuses (23514) a ticket never approved, one in a resolved, closed or cancelled role, and expected minutes below those recorded';
CREATE TRIGGER estimate_revision_20_figures BEFORE INSERT ON repairsys.estimate_revision
	FOR EACH ROW WHEN (NEW.revision IS NULL)
	EXECUTE FUNCTION repairsys.estimate_revision_figures_trg();

-- BEFORE UPDATE OF approved_at, when a revision is approved: under the
-- ticket's lock (the one revise_estimate takes), only the latest revision, of
-- a ticket not yet resolved, closed or cancelled (23514); the tolerance in
-- force is kept with the approval.  Taking the ticket's lock first is what
-- makes an approval racing a revision safe: whichever commits first, the
-- other sees it, so a customer never approves a revision they were not shown
-- (test/isolation/specs/consent-approve-race.spec).  SECURITY DEFINER (a
-- trigger function) to lock the ticket whatever the approving role may update.
CREATE FUNCTION repairsys.estimate_revision_approve_trg()
RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
DECLARE
	t      repairsys.ticket;
	latest integer;
BEGIN
	SELECT * INTO t FROM repairsys.ticket x WHERE x.id = NEW.ticket_id FOR UPDATE;
	SELECT max(r.revision) INTO latest FROM repairsys.estimate_revision r WHERE r.ticket_id = NEW.ticket_id;
	IF latest > NEW.revision THEN
		RAISE EXCEPTION 'revision % of the estimate of ticket % is not the latest', NEW.revision, NEW.ticket_id
			USING ERRCODE = '23514',
			      DETAIL = pg_catalog.format('Revision %s was made since; the customer approves what they were shown last.', latest),
			      HINT = 'Show the customer the latest revision (repairsys.estimate_revision) and approve that one.';
	END IF;
	IF t.status_role IN ('resolved', 'closed', 'cancelled') THEN
		RAISE EXCEPTION 'cannot approve the estimate of ticket % in status "%"', t.id, t.status USING ERRCODE = '23514';
	END IF;
	NEW.tolerance_pct := repairsys.setting_value('estimate_tolerance_pct')::numeric;
	RETURN NEW;
END
$$;
COMMENT ON FUNCTION repairsys.estimate_revision_approve_trg() IS 'BEFORE UPDATE trigger of estimate_revision (SECURITY DEFINER): an approval, under the ticket''s lock, only of the latest revision of an open ticket (23514); keeps the estimate_tolerance_pct in force';
CREATE TRIGGER estimate_revision_30_approve BEFORE UPDATE OF approved_at ON repairsys.estimate_revision
	FOR EACH ROW WHEN (OLD.approved_at IS NULL AND NEW.approved_at IS NOT NULL)
	EXECUTE FUNCTION repairsys.estimate_revision_approve_trg();

------------------------------------------------------------------------------
-- Revising and approving
------------------------------------------------------------------------------
CREATE FUNCTION repairsys.revise_estimate(ticket_id bigint, reason text, expected_minutes numeric DEFAULT NULL,
	OUT revision integer, OUT low_total numeric, OUT high_total numeric)
RETURNS record
LANGUAGE plpgsql VOLATILE
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
DECLARE
	t repairsys.ticket := repairsys.ticket_row(ticket_id);
BEGIN
	IF reason IS NULL OR pg_catalog.btrim(reason) = '' THEN
		RAISE EXCEPTION 'a revised estimate needs a reason' USING ERRCODE = '22023',
			DETAIL = 'The customer is told why the estimate changed.';
	END IF;
	IF expected_minutes IS NOT NULL
	   AND (expected_minutes = 'NaN' OR expected_minutes IN ('Infinity', '-Infinity') OR expected_minutes < 0 OR expected_minutes > 99999999.99) THEN
		RAISE EXCEPTION 'invalid expected minutes: %', expected_minutes USING ERRCODE = '22023',
			DETAIL = 'Expected minutes are a finite number from 0 to 99999999.99, or NULL for the minutes recorded.';
	END IF;
	INSERT INTO repairsys.estimate_revision AS r (ticket_id, reason, expected_minutes)
	VALUES (t.id, reason, expected_minutes)
	RETURNING r.revision, r.low, r.high INTO revision, low_total, high_total;
END
$$;
COMMENT ON FUNCTION repairsys.revise_estimate(bigint, text, numeric) IS 'Records a new estimate revision of an approved, open ticket from the work known now (labor recorded or expected, travel, parts reserved or used) at its approved prices; it needs the customer''s approval (approve_estimate); returns its number, low and high; 22023 for a missing reason or bad minutes, 23514 for a ticket never approved or no longer open';

------------------------------------------------------------------------------
-- The approved ceiling
------------------------------------------------------------------------------
-- AFTER UPDATE of a ticket whose estimate was just approved: the estimate the
-- customer approved becomes revision 1 (approved), with the figures the
-- snapshot trigger took (ticket_15_price_snapshot).  SECURITY DEFINER (a
-- trigger function): a customer approves by updating the ticket, and nobody
-- but repairsys writes a revision's figures.
CREATE FUNCTION repairsys.ticket_first_revision_trg()
RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
DECLARE
	st repairsys.service_type;
	f  record;
BEGIN
	-- (no snapshot: approved behind the snapshot trigger's back, which
	-- billing_audit reports; there is no approved estimate to record)
	IF NEW.approved_estimate_high IS NULL
	   OR EXISTS (SELECT 1 FROM repairsys.estimate_revision r WHERE r.ticket_id = NEW.id) THEN
		RETURN NULL;
	END IF;
	SELECT * INTO st FROM repairsys.service_type s WHERE s.code = NEW.service_type;
	f := repairsys.estimate_figures(NEW, coalesce(st.est_minutes_low, st.est_minutes_high, 0),
	                                coalesce(st.est_minutes_high, st.est_minutes_low, 0), repairsys.estimate_km(NEW));
	INSERT INTO repairsys.estimate_revision (ticket_id, revision, low, high, lines, reason, created_at, created_by,
	                                         approved_at, approved_by, tolerance_pct)
	VALUES (NEW.id, 1, NEW.approved_estimate_low, GREATEST(NEW.approved_estimate_high, NEW.approved_estimate_low), f.lines,
	        'Estimate before work', NEW.estimate_approved_at, coalesce(NEW.estimate_approved_by, CURRENT_USER),
	        NEW.estimate_approved_at, coalesce(NEW.estimate_approved_by, CURRENT_USER),
	        repairsys.setting_value('estimate_tolerance_pct')::numeric);
	RETURN NULL;
END
$$;
COMMENT ON FUNCTION repairsys.ticket_first_revision_trg() IS 'AFTER UPDATE trigger of ticket (SECURITY DEFINER): when the estimate is approved, records it as revision 1 of estimate_revision, approved, with the snapshot''s totals and the tolerance in force';

-- BEFORE UPDATE of a ticket entering (or changing its work in) a
-- resolved-role state: a billable ticket's bill total may not exceed its
-- approved ceiling (approved_ceiling), 23514 naming both.  Warranty work is
-- exempt, free work passes by itself, an invoiced ticket's bill is frozen
-- and a ticket without any approval is left to its workflow's guards.  For
-- every role but the table owner, whose imports are taken as they are:
-- billing_audit reports "bill exceeds the approved estimate" for a ticket
-- that got past it.  SECURITY DEFINER (a trigger function) so that the bill
-- counts what the caller may not read (discounts, repeat-repair coverage);
-- the message shows the caller the two totals the contract names.
-- Named ticket_22: after ticket_20_transition, which sets NEW.status_role
-- for the state being entered and checks the transition's guards, so only a
-- move the workflow allows is checked here.
CREATE FUNCTION repairsys.ticket_approved_ceiling_trg()
RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
DECLARE
	c     record;
	total numeric;
BEGIN
	IF NEW.status_role <> 'resolved' OR repairsys.under_warranty(NEW)
	   OR EXISTS (SELECT 1 FROM repairsys.invoice i WHERE i.ticket_id = NEW.id) THEN
		RETURN NEW;
	END IF;
	SELECT * INTO c FROM repairsys.approved_ceiling(NEW);
	IF NOT FOUND THEN
		RETURN NEW;
	END IF;
	-- (reserved parts count: entering a resolved-role state issues them,
	-- ticket_60_parts, after this trigger)
	SELECT b.total INTO total
	  FROM repairsys.bill_total(NEW, NEW.labor_minutes, NEW.travel_km, true) b;
	IF total > c.ceiling THEN
		RAISE EXCEPTION 'bill total % of ticket % exceeds the approved estimate high % by more than % percent', total, NEW.id, c.high,
			repairsys.fmt_num(c.tolerance_pct)
			USING ERRCODE = '23514',
			      DETAIL = pg_catalog.format('The most the customer agreed to is %s; a revised estimate (repairsys.revise_estimate) must be approved by the customer before the ticket is resolved.', c.ceiling);
	END IF;
	RETURN NEW;
END
$$;
COMMENT ON FUNCTION repairsys.ticket_approved_ceiling_trg() IS 'BEFORE UPDATE trigger of ticket (SECURITY DEFINER): a billable ticket entering or working in a resolved-role state may not bill more than its approved ceiling (23514 with the bill total and the approved high); warranty work, invoiced tickets and the table owner are exempt';

------------------------------------------------------------------------------
-- Sign-off (签字确认)
------------------------------------------------------------------------------
-- BEFORE INSERT on ticket_sign_off, with the caller's rights: for every role
-- but the table owner (restore), the caller gives ticket_id, signed_by and
-- signature; the hash and the total are repairsys's (428C9 when given);
-- signed_at and recorded_by are now and the caller.
CREATE FUNCTION repairsys.ticket_sign_off_rules_trg()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
BEGIN
	IF repairsys.is_table_owner(TG_RELID) THEN
		RETURN NEW;
	END IF;
	IF NEW.bill_sha256 IS NOT NULL OR NEW.bill_total IS NOT NULL THEN
		RAISE EXCEPTION 'columns bill_sha256 and bill_total of ticket_sign_off are set by repairsys'
			USING ERRCODE = '428C9',
			      DETAIL = 'A sign-off records the hash of the bill as it is when signed; give ticket_id, signed_by and signature.',
			      HINT = 'Use repairsys.sign_off().';
	END IF;
	NEW.signed_at := pg_catalog.now();
	NEW.recorded_by := CURRENT_USER;
	RETURN NEW;
END
$$;
COMMENT ON FUNCTION repairsys.ticket_sign_off_rules_trg() IS 'BEFORE INSERT trigger of ticket_sign_off: the caller gives ticket_id, signed_by, signature (bill_sha256 and bill_total are repairsys''s, 428C9); signed_at and recorded_by are now and current_user; the table owner''s rows are taken as they are';
CREATE TRIGGER ticket_sign_off_10_rules BEFORE INSERT ON repairsys.ticket_sign_off
	FOR EACH ROW EXECUTE FUNCTION repairsys.ticket_sign_off_rules_trg();

-- BEFORE INSERT of a sign-off without a hash (every row but a restored one):
-- under the ticket's lock, a ticket in a resolved-role state (the work done,
-- the bill final: 23514 otherwise) gets the SHA-256 of its bill's canonical
-- text and its total.  SECURITY DEFINER (a trigger function) so that the hash
-- covers the whole bill whoever records it (a technician may not read
-- invoices); the caller's row-level security still decides which tickets
-- they may sign for (the table's WITH CHECK).
CREATE FUNCTION repairsys.ticket_sign_off_hash_trg()
RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
DECLARE
	t repairsys.ticket;
BEGIN
	SELECT * INTO t FROM repairsys.ticket x WHERE x.id = NEW.ticket_id FOR UPDATE;
	IF NOT FOUND THEN
		RETURN NEW;		-- the foreign key names it
	END IF;
	IF t.status_role <> 'resolved' THEN
		RAISE EXCEPTION 'cannot sign off ticket % in status "%"', t.id, t.status
			USING ERRCODE = '23514', DETAIL = 'The customer signs off the work and its bill once the ticket is resolved.';
	END IF;
	NEW.bill_sha256 := pg_catalog.sha256(pg_catalog.convert_to(repairsys.bill_canonical_text(t), 'UTF8'));
	NEW.bill_total := (SELECT coalesce(sum(b.amount + b.tax_amount), 0) FROM repairsys.bill_lines(t) b);
	RETURN NEW;
END
$$;
COMMENT ON FUNCTION repairsys.ticket_sign_off_hash_trg() IS 'BEFORE INSERT trigger of ticket_sign_off (SECURITY DEFINER): under the ticket''s lock, only a ticket in a resolved-role state (23514); records the SHA-256 of bill_canonical_text() and the bill total';
CREATE TRIGGER ticket_sign_off_20_hash BEFORE INSERT ON repairsys.ticket_sign_off
	FOR EACH ROW WHEN (NEW.bill_sha256 IS NULL)
	EXECUTE FUNCTION repairsys.ticket_sign_off_hash_trg();

CREATE FUNCTION repairsys.sign_off(ticket_id bigint, signed_by text, signature bytea DEFAULT NULL)
RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
DECLARE
	t  repairsys.ticket := repairsys.ticket_row(ticket_id);
	id bigint;
BEGIN
	IF signed_by IS NULL OR pg_catalog.btrim(signed_by) = '' OR pg_catalog.length(signed_by) > 200 THEN
		RAISE EXCEPTION 'a sign-off needs the name of who signed, of 1 to 200 characters' USING ERRCODE = '22023';
	END IF;
	IF pg_catalog.octet_length(signature) = 0 OR pg_catalog.octet_length(signature) > 2097152 THEN
		RAISE EXCEPTION 'a signature image must be 1 byte to 2 MiB' USING ERRCODE = '22023',
			DETAIL = pg_catalog.format('The signature given is %s bytes.', pg_catalog.octet_length(signature));
	END IF;
	INSERT INTO repairsys.ticket_sign_off AS s (ticket_id, signed_by, signature)
	VALUES (t.id, signed_by, signature)
	RETURNING s.id INTO id;
	RETURN id;
END
$$;
COMMENT ON FUNCTION repairsys.sign_off(bigint, text, bytea) IS 'Records that signed_by accepted the work and the bill of a resolved ticket (签字确认), with an optional signature image, and the SHA-256 of the bill''s canonical text now; returns the sign-off id; 22023 for a missing name or a bad image, 23514 for a ticket not resolved';

-- The sign-off of a ticket that still matches its bill: the latest sign-off,
-- when the bill hashes to what was signed; read with
-- the caller's rights (the closing trigger calls it with the owner's).
CREATE FUNCTION repairsys.signed_off(t repairsys.ticket)
RETURNS boolean
LANGUAGE sql STABLE
SET search_path = repairsys, pg_catalog, pg_temp
BEGIN ATOMIC
	SELECT coalesce((SELECT s.bill_sha256 = pg_catalog.sha256(pg_catalog.convert_to(repairsys.bill_canonical_text(t), 'UTF8'))
	                   FROM repairsys.ticket_sign_off s WHERE s.ticket_id = t.id ORDER BY s.id DESC LIMIT 1), false);
END;
COMMENT ON FUNCTION repairsys.signed_off(repairsys.ticket) IS 'True when the ticket''s latest sign-off hashes to its bill as it is now';

-- BEFORE UPDATE of a ticket entering a closed-role state while the setting
-- require_sign_off is true: its latest sign-off must match its bill (23514).
-- For every role but the table owner.  SECURITY DEFINER (a trigger
-- function): the bill is read whole, whoever closes.  Named ticket_23: after
-- ticket_20_transition (NEW.status_role is the state being entered) and
-- ticket_22_approved_ceiling.
CREATE FUNCTION repairsys.ticket_sign_off_required_trg()
RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
BEGIN
	IF NEW.status_role = 'closed' AND OLD.status_role IS DISTINCT FROM 'closed'
	   AND repairsys.setting_value('require_sign_off') = 'true' AND NOT repairsys.signed_off(NEW) THEN
		RAISE EXCEPTION 'ticket % cannot be closed without a sign-off of its bill', NEW.id
			USING ERRCODE = '23514',
			      DETAIL = CASE WHEN EXISTS (SELECT 1 FROM repairsys.ticket_sign_off s WHERE s.ticket_id = NEW.id)
			                    THEN 'The bill changed after it was signed off: the customer signs it off again (repairsys.sign_off).'
			                    ELSE 'The setting require_sign_off is true: the customer signs off the work and its bill first (repairsys.sign_off).' END;
	END IF;
	RETURN NEW;
END
$$;
COMMENT ON FUNCTION repairsys.ticket_sign_off_required_trg() IS 'BEFORE UPDATE trigger of ticket (SECURITY DEFINER): with require_sign_off true, a ticket enters a closed-role state only when its latest sign-off matches its bill (23514); the table owner is exempt';

-- (the triggers on repairsys.ticket that run these functions, with their
-- order: 80_ticket_triggers.sql)

-- The SECURITY DEFINER trigger functions above are executed by nobody
-- (90_security.sql's loop does the same for a fresh install; here for the
-- upgrade script, which takes this piece whole).
REVOKE ALL ON FUNCTION repairsys.estimate_revision_figures_trg() FROM PUBLIC;
REVOKE ALL ON FUNCTION repairsys.estimate_revision_approve_trg() FROM PUBLIC;
REVOKE ALL ON FUNCTION repairsys.ticket_first_revision_trg() FROM PUBLIC;
REVOKE ALL ON FUNCTION repairsys.ticket_approved_ceiling_trg() FROM PUBLIC;
REVOKE ALL ON FUNCTION repairsys.ticket_sign_off_hash_trg() FROM PUBLIC;
REVOKE ALL ON FUNCTION repairsys.ticket_sign_off_required_trg() FROM PUBLIC;
