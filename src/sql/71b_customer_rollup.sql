-- Roll-up of customer_profile (DESIGN.md section 12, docs/reports.md
-- "Customer profile", docs/performance.md "Roll-ups"): the triggers that keep
-- repairsys.customer_rollup (27c_tables_customer_rollup.sql) in the writing
-- transaction, its recomputation from the base tables, and its part of
-- repairsys.rollup_rebuild() (71_rollups.sql).  The triggers on
-- repairsys.ticket are in 80_ticket_triggers.sql
-- (ticket_51_customer_rollup_*, ticket_78_customer_rollup_delete).
--
-- Every trigger moves only the rows of the customers whose assets, tickets,
-- feedback or payments its statement wrote, by signed deltas applied to the
-- latest row version (UPDATE ... SET n = n + d), so two transactions on one
-- customer queue on its row and both count, and two on different customers
-- share no row.  The latest opening, history and complaint times are raised
-- with greatest(), and a ticket that comes to count for a customer (opened,
-- moved to it, no longer cancelled) has its opening merged into the latest
-- openings (recent_opened, newest first, cut to customer_recent_depth());
-- when a write may lower them or take an opening out (a ticket cancelled,
-- moved to another customer, deleted, reopened or given another opening
-- time, a feedback changed or removed) they are recounted from that
-- customer's tickets through ticket_customer_idx, in a statement of its own
-- after the row is locked, so that it sees what the writers it waited for
-- committed.  The triggers of
-- feedback and payments take a share lock on the ticket they count for, so
-- that a ticket's cancellation or move and a feedback or payment on it are
-- ordered and neither counts on a state the other is changing.

------------------------------------------------------------------------------
-- The recomputation (what the roll-up must equal)
------------------------------------------------------------------------------
-- (given service centers: only the rows of their customers, read through
-- their tickets and assets; custom plans, as ticket_fact_recomputed)
CREATE FUNCTION repairsys.customer_rollup_recomputed(centers bigint[] DEFAULT NULL)
RETURNS SETOF repairsys.customer_rollup
LANGUAGE plpgsql STABLE
SET search_path = repairsys, pg_catalog, pg_temp
SET plan_cache_mode = force_custom_plan
AS $$
BEGIN
	RETURN QUERY
	SELECT c.id, coalesce(a.assets, 0)::integer, coalesce(a.purchase_total, 0.00)::numeric(16,2),
	       coalesce(k.tickets, 0)::integer, coalesce(k.repairs, 0)::integer, coalesce(k.rating_sum, 0)::bigint,
	       coalesce(k.rating_count, 0)::integer, coalesce(k.complaints, 0)::integer, coalesce(p.total_spent, 0.00)::numeric(16,2),
	       k.last_ticket_at, k.history_until, k.last_complaint_at,
	       coalesce(k.recent_opened[1:repairsys.customer_recent_depth()], '{}')
	  FROM repairsys.customer c
	  LEFT JOIN (SELECT x.customer_id, count(*) AS assets, sum(x.purchase_price) AS purchase_total
	               FROM repairsys.asset x
	              WHERE centers IS NULL
	                 OR x.customer_id IN (SELECT y.id FROM repairsys.customer y WHERE y.service_center_id = ANY (centers))
	              GROUP BY x.customer_id) a ON a.customer_id = c.id
	  LEFT JOIN (SELECT t.customer_id, count(*) AS tickets, count(*) FILTER (WHERE t.resolved_at IS NOT NULL) AS repairs,
	                    sum(fb.rating) AS rating_sum, count(fb.rating) AS rating_count,
	                    count(*) FILTER (WHERE fb.complaint) AS complaints, max(t.opened_at) AS last_ticket_at,
	                    greatest(max(t.opened_at), max(t.resolved_at), max(fb.at)) AS history_until,
	                    max(fb.at) FILTER (WHERE fb.complaint) AS last_complaint_at,
	                    array_agg(t.opened_at ORDER BY t.opened_at DESC) AS recent_opened
	               FROM repairsys.ticket t
	               LEFT JOIN repairsys.feedback fb ON fb.ticket_id = t.id
	              WHERE t.status_role <> 'cancelled'
	                AND (centers IS NULL
	                     OR t.customer_id IN (SELECT y.id FROM repairsys.customer y WHERE y.service_center_id = ANY (centers)))
	              GROUP BY t.customer_id) k ON k.customer_id = c.id
	  LEFT JOIN (SELECT t.customer_id, sum(pm.amount) AS total_spent
	               FROM repairsys.ticket t
	               JOIN repairsys.invoice i ON i.ticket_id = t.id
	               JOIN repairsys.payment pm ON pm.invoice_id = i.id
	              WHERE centers IS NULL
	                 OR t.customer_id IN (SELECT y.id FROM repairsys.customer y WHERE y.service_center_id = ANY (centers))
	              GROUP BY t.customer_id) p ON p.customer_id = c.id
	 WHERE centers IS NULL OR c.service_center_id = ANY (centers);
END
$$;
COMMENT ON FUNCTION repairsys.customer_rollup_recomputed(bigint[]) IS 'Every customer''s roll-up row (repairsys.customer_rollup) recomputed from the assets, tickets, feedback and payments, or only those of the customers of the given service centers (check_invariants compares, rollup_rebuild writes)';

------------------------------------------------------------------------------
-- Moving one customer's row
------------------------------------------------------------------------------
-- Adds the deltas to the customer's row (made if it is missing), raises its
-- latest times to last_at / until / complaint_at, merges the opening
-- opened into its latest openings, and, when recount, recounts the latest
-- times and openings from the customer's tickets (leaving out except_ticket,
-- a ticket being deleted).  Called by the triggers below only (no grant).
CREATE FUNCTION repairsys.customer_rollup_move(customer bigint, d_assets integer, d_purchase numeric, d_tickets integer,
                                               d_repairs integer, d_rating_sum integer, d_rating_count integer,
                                               d_complaints integer, d_spent numeric, last_at timestamptz, until timestamptz,
                                               complaint_at timestamptz, opened timestamptz,
                                               recount boolean, except_ticket bigint)
RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
BEGIN
	IF customer IS NULL THEN
		RETURN;
	END IF;
	FOR i IN 1 .. 2 LOOP
		UPDATE repairsys.customer_rollup r
		   SET assets = r.assets + d_assets, purchase_total = r.purchase_total + d_purchase,
		       tickets = r.tickets + d_tickets, repairs = r.repairs + d_repairs,
		       rating_sum = r.rating_sum + d_rating_sum, rating_count = r.rating_count + d_rating_count,
		       complaints = r.complaints + d_complaints, total_spent = r.total_spent + d_spent,
		       last_ticket_at = greatest(r.last_ticket_at, last_at), history_until = greatest(r.history_until, until),
		       last_complaint_at = greatest(r.last_complaint_at, complaint_at),
		       -- (applied to the latest row version: two openings merged by
		       -- two writers queued on the row are both kept)
		       recent_opened = CASE WHEN opened IS NULL THEN r.recent_opened
		                            ELSE ARRAY(SELECT o FROM unnest(r.recent_opened || opened) o
		                                        ORDER BY o DESC LIMIT repairsys.customer_recent_depth()) END
		 WHERE r.customer_id = customer;
		EXIT WHEN FOUND;
		-- (a customer written around the triggers: its row from scratch)
		INSERT INTO repairsys.customer_rollup (customer_id) VALUES (customer) ON CONFLICT DO NOTHING;
	END LOOP;
	IF recount THEN
		-- (a statement of its own: the row is locked now, and this one's
		-- snapshot sees what the writers it waited for committed)
		UPDATE repairsys.customer_rollup r
		   SET last_ticket_at = m.last_ticket_at, history_until = m.history_until, last_complaint_at = m.last_complaint_at,
		       recent_opened = coalesce(m.recent_opened[1:repairsys.customer_recent_depth()], '{}')
		  -- (one pass over the customer's tickets, the expressions of
		  -- customer_rollup_recomputed())
		  FROM (SELECT max(t.opened_at) AS last_ticket_at, greatest(max(t.opened_at), max(t.resolved_at), max(fb.at)) AS history_until,
		               max(fb.at) FILTER (WHERE fb.complaint) AS last_complaint_at,
		               array_agg(t.opened_at ORDER BY t.opened_at DESC) AS recent_opened
		          FROM repairsys.ticket t
		          LEFT JOIN repairsys.feedback fb ON fb.ticket_id = t.id
		         WHERE t.customer_id = customer AND t.status_role <> 'cancelled' AND t.id IS DISTINCT FROM except_ticket) m
		 WHERE r.customer_id = customer;
	END IF;
END
$$;
COMMENT ON FUNCTION repairsys.customer_rollup_move(bigint, integer, numeric, integer, integer, integer, integer, integer, numeric, timestamptz, timestamptz, timestamptz, timestamptz, boolean, bigint) IS 'Moves one customer''s roll-up row (customer_rollup) by signed deltas, raises or recounts its latest times and merges or recounts its latest openings (the roll-up triggers only)';

-- Moves the customer's row by what one ticket counts for (sign +1 or -1):
-- the ticket itself, its feedback when it is not cancelled, and with
-- payments the payments on its invoice; with merge (+1 only: a ticket that
-- did not count for this customer before) its opening joins the latest
-- openings.
CREATE FUNCTION repairsys.customer_rollup_ticket(t repairsys.ticket, sign integer, payments boolean, recount boolean, except_ticket bigint,
                                                 merge boolean)
RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
DECLARE
	counted boolean := t.status_role IS DISTINCT FROM 'cancelled';
	rating  integer;
	complaint boolean;
	fb_at   timestamptz;
	spent   numeric := 0;
BEGIN
	IF counted THEN
		SELECT fb.rating, fb.complaint, fb.at INTO rating, complaint, fb_at FROM repairsys.feedback fb WHERE fb.ticket_id = t.id;
	END IF;
	IF payments THEN
		SELECT coalesce(sum(pm.amount), 0) INTO spent
		  FROM repairsys.invoice i JOIN repairsys.payment pm ON pm.invoice_id = i.id
		 WHERE i.ticket_id = t.id;
	END IF;
	PERFORM repairsys.customer_rollup_move(t.customer_id, 0, 0, sign * counted::integer,
	                                       sign * (counted AND t.resolved_at IS NOT NULL)::integer,
	                                       sign * coalesce(rating, 0), sign * (rating IS NOT NULL)::integer,
	                                       sign * coalesce(complaint, false)::integer, sign * spent,
	                                       CASE WHEN counted AND sign > 0 THEN t.opened_at END,
	                                       CASE WHEN counted AND sign > 0 THEN greatest(t.opened_at, t.resolved_at, fb_at) END,
	                                       CASE WHEN counted AND sign > 0 AND complaint THEN fb_at END,
	                                       CASE WHEN counted AND sign > 0 AND merge THEN t.opened_at END,
	                                       recount AND counted AND sign < 0, except_ticket);
END
$$;
COMMENT ON FUNCTION repairsys.customer_rollup_ticket(repairsys.ticket, integer, boolean, boolean, bigint, boolean) IS 'Adds (+1) or takes (-1) what one ticket counts for in its customer''s roll-up row (customer_rollup): the ticket, its feedback, optionally its payments and its opening (the roll-up triggers only)';

------------------------------------------------------------------------------
-- The triggers
------------------------------------------------------------------------------
-- AFTER INSERT / UPDATE on ticket (the UPDATE one when the customer, the
-- cancelled role, the opening or the resolution changed: WHEN clause in
-- 80_ticket_triggers.sql).  A ticket is written with its row locked, so the
-- feedback and payments read here are those the ticket's other writers left.
CREATE FUNCTION repairsys.customer_rollup_ticket_trg()
RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
BEGIN
	IF TG_OP = 'INSERT' THEN
		PERFORM repairsys.customer_rollup_ticket(NEW, 1, false, false, NULL, true);
	ELSIF NEW.customer_id IS DISTINCT FROM OLD.customer_id THEN
		-- (the lower customer id first: two moves in opposite directions
		-- lock the two rows in the same order)
		IF OLD.customer_id < NEW.customer_id THEN
			PERFORM repairsys.customer_rollup_ticket(OLD, -1, true, true, NULL, false);
			PERFORM repairsys.customer_rollup_ticket(NEW, 1, true, false, NULL, true);
		ELSE
			PERFORM repairsys.customer_rollup_ticket(NEW, 1, true, false, NULL, true);
			PERFORM repairsys.customer_rollup_ticket(OLD, -1, true, true, NULL, false);
		END IF;
	ELSE
		-- the same customer: what the old row counted for goes, what the new
		-- one counts for comes; the latest times and openings are recounted
		-- only when they may go down or an opening may leave them (the
		-- recount sees the new row, so its opening is merged only when the
		-- old row did not count: a ticket no longer cancelled)
		PERFORM repairsys.customer_rollup_ticket(OLD, -1, false,
		            NEW.status_role = 'cancelled' OR NEW.opened_at <> OLD.opened_at
		            OR (OLD.resolved_at IS NOT NULL AND (NEW.resolved_at IS NULL OR NEW.resolved_at < OLD.resolved_at)), NULL, false);
		PERFORM repairsys.customer_rollup_ticket(NEW, 1, false, false, NULL, OLD.status_role = 'cancelled');
	END IF;
	RETURN NULL;
END
$$;
COMMENT ON FUNCTION repairsys.customer_rollup_ticket_trg() IS 'AFTER INSERT / UPDATE trigger of ticket (customer, cancelled role, opening or resolution changed): moves the customers'' roll-up rows (customer_rollup)';

-- BEFORE DELETE on ticket (the table owner's): the ticket, its feedback
-- (which the delete cascades to, and whose own trigger then finds no ticket)
-- and its payments leave the customer's row.  The last BEFORE DELETE
-- trigger, so that the row is deleted when it runs.
CREATE FUNCTION repairsys.customer_rollup_ticket_delete_trg()
RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
BEGIN
	PERFORM repairsys.customer_rollup_ticket(OLD, -1, true, true, OLD.id, false);
	RETURN OLD;
END
$$;
COMMENT ON FUNCTION repairsys.customer_rollup_ticket_delete_trg() IS 'BEFORE DELETE trigger of ticket: the ticket, its feedback and payments leave its customer''s roll-up row (customer_rollup)';

-- AFTER INSERT / UPDATE / DELETE on feedback, per row: the rating and the
-- complaint count for the ticket's customer while the ticket is not
-- cancelled.  The ticket's row is share-locked, so a concurrent cancellation
-- or move of the ticket waits for this one or this one for it.
CREATE FUNCTION repairsys.customer_rollup_feedback_trg()
RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
DECLARE
	customer bigint;
BEGIN
	IF TG_OP IN ('UPDATE', 'DELETE') THEN
		SELECT t.customer_id INTO customer FROM repairsys.ticket t
		 WHERE t.id = OLD.ticket_id AND t.status_role <> 'cancelled' FOR SHARE;
		-- (no ticket: it is being deleted, and its trigger took the feedback)
		PERFORM repairsys.customer_rollup_move(customer, 0, 0, 0, 0, -OLD.rating, -1, -OLD.complaint::integer, 0,
		                                       NULL, NULL, NULL, NULL, true, NULL);
	END IF;
	IF TG_OP IN ('INSERT', 'UPDATE') THEN
		customer := NULL;
		SELECT t.customer_id INTO customer FROM repairsys.ticket t
		 WHERE t.id = NEW.ticket_id AND t.status_role <> 'cancelled' FOR SHARE;
		PERFORM repairsys.customer_rollup_move(customer, 0, 0, 0, 0, NEW.rating, 1, NEW.complaint::integer, 0,
		                                       NULL, NEW.at, CASE WHEN NEW.complaint THEN NEW.at END, NULL, false, NULL);
	END IF;
	RETURN NULL;
END
$$;
COMMENT ON FUNCTION repairsys.customer_rollup_feedback_trg() IS 'AFTER trigger of feedback: the rating and complaint in the customer''s roll-up row (customer_rollup)';

-- AFTER INSERT / UPDATE / DELETE on payment, per row (payments are
-- append-only: changes and deletes are the table owner's): the amount counts
-- for the customer of the invoice's ticket, share-locked as above.
CREATE FUNCTION repairsys.customer_rollup_payment_trg()
RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
DECLARE
	customer bigint;
BEGIN
	IF TG_OP IN ('UPDATE', 'DELETE') THEN
		SELECT t.customer_id INTO customer FROM repairsys.invoice i JOIN repairsys.ticket t ON t.id = i.ticket_id
		 WHERE i.id = OLD.invoice_id FOR SHARE OF t;
		PERFORM repairsys.customer_rollup_move(customer, 0, 0, 0, 0, 0, 0, 0, -OLD.amount, NULL, NULL, NULL, NULL, false, NULL);
	END IF;
	IF TG_OP IN ('INSERT', 'UPDATE') THEN
		customer := NULL;
		SELECT t.customer_id INTO customer FROM repairsys.invoice i JOIN repairsys.ticket t ON t.id = i.ticket_id
		 WHERE i.id = NEW.invoice_id FOR SHARE OF t;
		PERFORM repairsys.customer_rollup_move(customer, 0, 0, 0, 0, 0, 0, 0, NEW.amount, NULL, NULL, NULL, NULL, false, NULL);
	END IF;
	RETURN NULL;
END
$$;
COMMENT ON FUNCTION repairsys.customer_rollup_payment_trg() IS 'AFTER trigger of payment: the amount in the customer''s roll-up row (customer_rollup)';

-- AFTER UPDATE OF ticket_id on invoice (the table owner only): its payments
-- move to the other ticket's customer.
CREATE FUNCTION repairsys.customer_rollup_invoice_trg()
RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
DECLARE
	spent numeric;
BEGIN
	SELECT coalesce(sum(pm.amount), 0) INTO spent FROM repairsys.payment pm WHERE pm.invoice_id = NEW.id;
	PERFORM repairsys.customer_rollup_move((SELECT t.customer_id FROM repairsys.ticket t WHERE t.id = OLD.ticket_id),
	                                       0, 0, 0, 0, 0, 0, 0, -spent, NULL, NULL, NULL, NULL, false, NULL);
	PERFORM repairsys.customer_rollup_move((SELECT t.customer_id FROM repairsys.ticket t WHERE t.id = NEW.ticket_id),
	                                       0, 0, 0, 0, 0, 0, 0, spent, NULL, NULL, NULL, NULL, false, NULL);
	RETURN NULL;
END
$$;
COMMENT ON FUNCTION repairsys.customer_rollup_invoice_trg() IS 'AFTER UPDATE OF ticket_id trigger of invoice: its payments move between the customers'' roll-up rows (customer_rollup)';

-- AFTER INSERT / UPDATE / DELETE on asset, per statement (an import of a
-- thousand units moves each customer's row once): the asset count and the
-- purchase total of the customers, by signed deltas.
CREATE FUNCTION repairsys.customer_rollup_asset_trg()
RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
BEGIN
	IF TG_OP IN ('INSERT', 'UPDATE') THEN
		-- (a customer written around the triggers: its row from scratch)
		INSERT INTO repairsys.customer_rollup (customer_id)
		SELECT DISTINCT x.customer_id FROM new_assets x ON CONFLICT DO NOTHING;
	END IF;
	IF TG_OP = 'INSERT' THEN
		UPDATE repairsys.customer_rollup r
		   SET assets = r.assets + d.n, purchase_total = r.purchase_total + d.price
		  FROM (SELECT x.customer_id, count(*) AS n, coalesce(sum(x.purchase_price), 0) AS price
		          FROM new_assets x GROUP BY x.customer_id) d
		 WHERE r.customer_id = d.customer_id;
	ELSIF TG_OP = 'DELETE' THEN
		UPDATE repairsys.customer_rollup r
		   SET assets = r.assets - d.n, purchase_total = r.purchase_total - d.price
		  FROM (SELECT o.customer_id, count(*) AS n, coalesce(sum(o.purchase_price), 0) AS price
		          FROM old_assets o GROUP BY o.customer_id) d
		 WHERE r.customer_id = d.customer_id;
	ELSE
		UPDATE repairsys.customer_rollup r
		   SET assets = r.assets + d.n, purchase_total = r.purchase_total + d.price
		  FROM (SELECT u.customer_id, sum(u.n) AS n, sum(u.price) AS price
		          FROM (SELECT x.customer_id, 1 AS n, coalesce(x.purchase_price, 0) AS price FROM new_assets x
		                UNION ALL
		                SELECT o.customer_id, -1, -coalesce(o.purchase_price, 0) FROM old_assets o) u
		         GROUP BY u.customer_id
		        HAVING sum(u.n) <> 0 OR sum(u.price) <> 0) d
		 WHERE r.customer_id = d.customer_id;
	END IF;
	RETURN NULL;
END
$$;
COMMENT ON FUNCTION repairsys.customer_rollup_asset_trg() IS 'AFTER statement trigger of asset: moves the customers'' asset count and purchase total in customer_rollup by signed deltas';

-- AFTER INSERT on customer, per statement: the new customers' rows (zero),
-- so that their first asset or ticket finds one.
CREATE FUNCTION repairsys.customer_rollup_customer_trg()
RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
BEGIN
	INSERT INTO repairsys.customer_rollup (customer_id) SELECT c.id FROM new_customers c ON CONFLICT DO NOTHING;
	RETURN NULL;
END
$$;
COMMENT ON FUNCTION repairsys.customer_rollup_customer_trg() IS 'AFTER INSERT statement trigger of customer: the new customers'' (empty) roll-up rows (customer_rollup)';

CREATE TRIGGER customer_50_rollup AFTER INSERT ON repairsys.customer
	REFERENCING NEW TABLE AS new_customers FOR EACH STATEMENT EXECUTE FUNCTION repairsys.customer_rollup_customer_trg();
CREATE TRIGGER asset_50_rollup_insert AFTER INSERT ON repairsys.asset
	REFERENCING NEW TABLE AS new_assets FOR EACH STATEMENT EXECUTE FUNCTION repairsys.customer_rollup_asset_trg();
CREATE TRIGGER asset_50_rollup_update AFTER UPDATE ON repairsys.asset
	REFERENCING OLD TABLE AS old_assets NEW TABLE AS new_assets FOR EACH STATEMENT EXECUTE FUNCTION repairsys.customer_rollup_asset_trg();
CREATE TRIGGER asset_50_rollup_delete AFTER DELETE ON repairsys.asset
	REFERENCING OLD TABLE AS old_assets FOR EACH STATEMENT EXECUTE FUNCTION repairsys.customer_rollup_asset_trg();
CREATE TRIGGER feedback_51_rollup AFTER INSERT OR DELETE ON repairsys.feedback
	FOR EACH ROW EXECUTE FUNCTION repairsys.customer_rollup_feedback_trg();
CREATE TRIGGER feedback_51_rollup_update AFTER UPDATE ON repairsys.feedback
	FOR EACH ROW WHEN ((NEW.ticket_id, NEW.rating, NEW.complaint, NEW.at) IS DISTINCT FROM (OLD.ticket_id, OLD.rating, OLD.complaint, OLD.at))
	EXECUTE FUNCTION repairsys.customer_rollup_feedback_trg();
CREATE TRIGGER payment_50_rollup AFTER INSERT OR DELETE ON repairsys.payment
	FOR EACH ROW EXECUTE FUNCTION repairsys.customer_rollup_payment_trg();
CREATE TRIGGER payment_50_rollup_update AFTER UPDATE ON repairsys.payment
	FOR EACH ROW WHEN ((NEW.invoice_id, NEW.amount) IS DISTINCT FROM (OLD.invoice_id, OLD.amount))
	EXECUTE FUNCTION repairsys.customer_rollup_payment_trg();
CREATE TRIGGER invoice_51_rollup AFTER UPDATE OF ticket_id ON repairsys.invoice
	FOR EACH ROW WHEN (NEW.ticket_id IS DISTINCT FROM OLD.ticket_id) EXECUTE FUNCTION repairsys.customer_rollup_invoice_trg();
