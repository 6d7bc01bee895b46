-- upgrade-fragment-consent.sql: issue 17 (consent over every price), for
-- the 1.1 -> 1.2 upgrade script.  Brings a database at main's state to the
-- consent branch's for the objects that existed before it and that it
-- changed, and for what it added to the existing pieces (40_billing.sql,
-- 70_reports.sql, 90_security.sql).  The entirely new pieces,
-- src/sql/22_tables_consent.sql (table estimate_revision) and
-- src/sql/42_consent.sql (its triggers, revise_estimate, the ceiling trigger
-- on ticket, the estimate_tolerance_pct setting), are not repeated here: the
-- upgrade script takes them whole, 22_tables_consent.sql BEFORE this
-- fragment (approve_estimate and billing_audit read estimate_revision) and
-- 42_consent.sql AFTER it (its functions read approved_ceiling and the
-- estimate_approved_by column).  Then: the finite CHECKs of the new table
-- (85_finite.sql makes them in a fresh install) and its grants and policies
-- (90_security.sql's loop), at the end of this file; 42_consent.sql revokes
-- EXECUTE on its SECURITY DEFINER trigger functions itself.

-- the ticket column (20_tables.sql, at the end of CREATE TABLE repairsys.ticket)
ALTER TABLE repairsys.ticket ADD COLUMN estimate_approved_by name;
COMMENT ON COLUMN repairsys.ticket.estimate_approved_by IS 'Role that recorded the approval of the estimate (set by repairsys with estimate_approved_at)';

-- 40_billing.sql: the snapshot trigger also stamps who approved

CREATE OR REPLACE FUNCTION repairsys.ticket_price_snapshot_trg()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
DECLARE
	st repairsys.service_type;
BEGIN
	IF TG_OP = 'INSERT' THEN
		-- (the trigger's WHEN: the approval or a snapshot column is given)
		IF repairsys.is_table_owner(TG_RELID) THEN
			RETURN NEW;		-- restore or migration of an approved ticket
		END IF;
		RAISE EXCEPTION 'columns estimate_approved_at and the price snapshot of a new ticket are set by repairsys'
			USING ERRCODE = '428C9',
			      DETAIL = 'A ticket is opened unapproved; the customer approves its estimate afterwards (repairsys.approve_estimate), which takes the snapshot.';
	END IF;
	IF OLD.estimate_approved_at IS NOT NULL AND NEW.estimate_approved_at IS DISTINCT FROM OLD.estimate_approved_at THEN
		RAISE EXCEPTION 'the estimate of ticket % was already approved', OLD.id
			USING ERRCODE = '23514', DETAIL = 'An approval is never changed or withdrawn.';
	END IF;
	IF OLD.estimate_approved_at IS NULL AND NEW.estimate_approved_at IS NOT NULL THEN
		SELECT * INTO st FROM repairsys.service_type s WHERE s.code = NEW.service_type;
		NEW.estimate_approved_by := CURRENT_USER;
		NEW.price_labor_fee := st.labor_fee;
		NEW.price_travel_fee := st.travel_fee;
		NEW.price_callout_fee := st.callout_fee;
		NEW.price_complexity_factor := (SELECT c.factor FROM repairsys.complexity_rule c WHERE c.level = NEW.complexity);
		NEW.price_surcharge_pct := (SELECT u.surcharge_pct FROM repairsys.urgency_rule u WHERE u.urgency = NEW.urgency);
		NEW.price_tax_rate_labor := repairsys.setting_value('tax_rate_labor')::numeric;
		NEW.price_tax_rate_parts := repairsys.setting_value('tax_rate_parts')::numeric;
		NEW.price_rework_window := repairsys.setting_value('rework_window');
		SELECT sum(b.amount + b.tax_amount) INTO NEW.approved_estimate_low
		  FROM repairsys.compute_bill(NEW, coalesce(st.est_minutes_low, st.est_minutes_high, 0), repairsys.estimate_km(NEW), true) b;
		SELECT sum(b.amount + b.tax_amount) INTO NEW.approved_estimate_high
		  FROM repairsys.compute_bill(NEW, coalesce(st.est_minutes_high, st.est_minutes_low, 0), repairsys.estimate_km(NEW), true) b;
		NEW.approved_estimate_low := coalesce(NEW.approved_estimate_low, 0);
		NEW.approved_estimate_high := coalesce(NEW.approved_estimate_high, 0);
	ELSIF (NEW.price_labor_fee, NEW.price_travel_fee, NEW.price_callout_fee, NEW.price_complexity_factor, NEW.price_surcharge_pct,
	       NEW.price_tax_rate_labor, NEW.price_tax_rate_parts, NEW.price_rework_window, NEW.approved_estimate_low, NEW.approved_estimate_high,
	       NEW.estimate_approved_by)
	      IS DISTINCT FROM
	      (OLD.price_labor_fee, OLD.price_travel_fee, OLD.price_callout_fee, OLD.price_complexity_factor, OLD.price_surcharge_pct,
	       OLD.price_tax_rate_labor, OLD.price_tax_rate_parts, OLD.price_rework_window, OLD.approved_estimate_low, OLD.approved_estimate_high,
	       OLD.estimate_approved_by) THEN
		RAISE EXCEPTION 'the price snapshot of ticket % is set by repairsys when the estimate is approved', OLD.id
			USING ERRCODE = '428C9';
	END IF;
	RETURN NEW;
END
$$;
COMMENT ON FUNCTION repairsys.ticket_price_snapshot_trg() IS 'BEFORE INSERT OR UPDATE trigger of ticket: snapshots the price inputs and the estimate totals (and who approved) when the estimate is approved; refuses changes of the snapshot (428C9) and of an approval (23514), and a new ticket that comes approved or with a snapshot (428C9, but from the table owner: restore)';

DROP TRIGGER ticket_15_price_snapshot ON repairsys.ticket;
DROP TRIGGER ticket_15_price_snapshot_insert ON repairsys.ticket;

CREATE TRIGGER ticket_15_price_snapshot
	BEFORE UPDATE OF estimate_approved_at, price_labor_fee, price_travel_fee, price_callout_fee,
	                 price_complexity_factor, price_surcharge_pct, price_tax_rate_labor, price_tax_rate_parts,
	                 price_rework_window, approved_estimate_low, approved_estimate_high, estimate_approved_by
	ON repairsys.ticket
	FOR EACH ROW EXECUTE FUNCTION repairsys.ticket_price_snapshot_trg();

CREATE TRIGGER ticket_15_price_snapshot_insert
	BEFORE INSERT ON repairsys.ticket
	FOR EACH ROW
	WHEN (NEW.estimate_approved_at IS NOT NULL OR NEW.price_labor_fee IS NOT NULL OR NEW.price_travel_fee IS NOT NULL
	      OR NEW.price_callout_fee IS NOT NULL OR NEW.price_complexity_factor IS NOT NULL OR NEW.price_surcharge_pct IS NOT NULL
	      OR NEW.price_tax_rate_labor IS NOT NULL OR NEW.price_tax_rate_parts IS NOT NULL OR NEW.price_rework_window IS NOT NULL
	      OR NEW.approved_estimate_low IS NOT NULL OR NEW.approved_estimate_high IS NOT NULL OR NEW.estimate_approved_by IS NOT NULL)
	EXECUTE FUNCTION repairsys.ticket_price_snapshot_trg();


-- 40_billing.sql: approve_estimate(ticket, revision) is new, approve_estimate(ticket) approves the latest revision

CREATE FUNCTION repairsys.approve_estimate(ticket_id bigint, revision integer, OUT low_total numeric, OUT high_total numeric)
RETURNS record
LANGUAGE plpgsql VOLATILE
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
DECLARE
	t repairsys.ticket := repairsys.ticket_row(ticket_id, true);
BEGIN
	IF revision IS NULL OR revision < 1 THEN
		RAISE EXCEPTION 'invalid estimate revision: %', coalesce(revision::text, 'NULL') USING ERRCODE = '22023',
			DETAIL = 'Revisions are numbered from 1.';
	END IF;
	IF t.estimate_approved_at IS NULL THEN
		IF revision <> 1 THEN
			RAISE EXCEPTION 'revision % of the estimate of ticket % does not exist', revision, t.id USING ERRCODE = '22023',
				DETAIL = 'The first estimate (revision 1, repairsys.estimate()) was not approved yet.';
		END IF;
		IF t.status_role IN ('resolved', 'closed', 'cancelled') THEN
			RAISE EXCEPTION 'cannot approve the estimate of ticket % in status "%"', t.id, t.status USING ERRCODE = '23514';
		END IF;
		UPDATE repairsys.ticket x SET estimate_approved_at = pg_catalog.now() WHERE x.id = t.id
		RETURNING x.approved_estimate_low, x.approved_estimate_high INTO low_total, high_total;
		RETURN;
	END IF;
	UPDATE repairsys.estimate_revision r SET approved_at = pg_catalog.now()
	 WHERE r.ticket_id = t.id AND r.revision = approve_estimate.revision AND r.approved_at IS NULL
	RETURNING r.low, r.high INTO low_total, high_total;
	IF NOT FOUND THEN
		IF EXISTS (SELECT 1 FROM repairsys.estimate_revision r WHERE r.ticket_id = t.id AND r.revision = approve_estimate.revision) THEN
			RAISE EXCEPTION 'revision % of the estimate of ticket % was already approved', revision, t.id
				USING ERRCODE = '23514', DETAIL = 'An approval is never changed or withdrawn.';
		END IF;
		RAISE EXCEPTION 'revision % of the estimate of ticket % does not exist', revision, t.id USING ERRCODE = '22023';
	END IF;
END
$$;
COMMENT ON FUNCTION repairsys.approve_estimate(bigint, integer) IS 'Records the customer''s approval of the given estimate revision (1: the estimate before work, which also snapshots every price input onto the ticket); refused (23514) unless it is the latest revision, not yet approved, of an open ticket; returns its low and high totals';

CREATE OR REPLACE FUNCTION repairsys.approve_estimate(ticket_id bigint, OUT low_total numeric, OUT high_total numeric)
RETURNS record
LANGUAGE plpgsql VOLATILE
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
DECLARE
	t      repairsys.ticket := repairsys.ticket_row(ticket_id);
	latest repairsys.estimate_revision;
BEGIN
	SELECT * INTO latest FROM repairsys.estimate_revision r WHERE r.ticket_id = t.id ORDER BY r.revision DESC LIMIT 1;
	IF FOUND AND latest.approved_at IS NOT NULL OR NOT FOUND AND t.estimate_approved_at IS NOT NULL THEN
		RAISE EXCEPTION 'the estimate of ticket % was already approved', t.id
			USING ERRCODE = '23514', DETAIL = 'An approval is never changed or withdrawn.';
	END IF;
	SELECT a.low_total, a.high_total INTO low_total, high_total
	  FROM repairsys.approve_estimate(t.id, coalesce(latest.revision, 1)) a;
END
$$;
COMMENT ON FUNCTION repairsys.approve_estimate(bigint) IS 'Records the customer''s approval of the latest estimate revision (revision 1, the estimate before work, when none exists: it snapshots every price input onto the ticket, so later price-list changes never change its bill); refused (23514) when it was already approved or a newer revision appears meanwhile; returns the approved low and high totals';


-- 40_billing.sql: the canonical text of a bill that a sign-off hashes (new)
CREATE FUNCTION repairsys.bill_canonical_text(t repairsys.ticket)
RETURNS text
LANGUAGE sql STABLE
SET search_path = repairsys, pg_catalog, pg_temp
BEGIN ATOMIC
	SELECT 'repairsys bill v1|ticket ' || t.id || E'\n'
	       || coalesce(pg_catalog.string_agg(pg_catalog.concat_ws('|', b.line_no, b.kind, b.description,
	                                                             coalesce(pg_catalog.trim_scale(b.quantity)::text, ''), coalesce(b.unit, ''),
	                                                             coalesce(pg_catalog.trim_scale(b.unit_price)::text, ''),
	                                                             pg_catalog.trim_scale(b.amount), pg_catalog.trim_scale(b.tax_rate),
	                                                             pg_catalog.trim_scale(b.tax_amount)) || E'\n', '' ORDER BY b.line_no), '')
	       || 'total|' || pg_catalog.trim_scale(coalesce(sum(b.amount + b.tax_amount), 0)) || '|'
	       || coalesce((SELECT i.currency FROM repairsys.invoice i WHERE i.ticket_id = t.id), repairsys.setting_value('currency'))
	  FROM repairsys.bill_lines(t) b;
END;
COMMENT ON FUNCTION repairsys.bill_canonical_text(repairsys.ticket) IS 'The canonical text of a ticket''s bill (one "|"-separated line per bill line, numbers without trailing zeros, then total and currency): what a sign-off hashes with sha256()';

-- 40_billing.sql: the approved ceiling (new), billing_audit's new problems

CREATE FUNCTION repairsys.approved_ceiling(t repairsys.ticket,
	OUT revision integer, OUT high numeric, OUT tolerance_pct numeric, OUT ceiling numeric)
RETURNS SETOF record
LANGUAGE sql STABLE
SET search_path = repairsys, pg_catalog, pg_temp
BEGIN ATOMIC
	SELECT c.revision, c.high, c.tolerance_pct, pg_catalog.round(c.high * (1 + c.tolerance_pct / 100), 2)
	  FROM (SELECT r.revision, r.high, r.tolerance_pct
	          FROM repairsys.estimate_revision r
	         WHERE r.ticket_id = t.id AND r.approved_at IS NOT NULL
	        UNION ALL
	        SELECT NULL::integer, t.approved_estimate_high, repairsys.setting_value('estimate_tolerance_pct')::numeric
	         WHERE t.estimate_approved_at IS NOT NULL AND t.approved_estimate_high IS NOT NULL
	           AND NOT EXISTS (SELECT 1 FROM repairsys.estimate_revision r2 WHERE r2.ticket_id = t.id AND r2.approved_at IS NOT NULL)) c
	 ORDER BY c.revision DESC NULLS LAST
	 LIMIT 1;
END;
COMMENT ON FUNCTION repairsys.approved_ceiling(repairsys.ticket) IS 'The approved ceiling of a ticket: its latest approved estimate revision (number, high total, tolerance kept with the approval) and high x (1 + tolerance/100) rounded to cents; a ticket approved before revisions were kept: its snapshot''s high and the setting; no row when nothing was approved';

CREATE OR REPLACE VIEW repairsys.billing_audit AS
SELECT i.ticket_id, 'invoice total differs from its lines' AS problem,
       pg_catalog.format('Invoice %s: total %s, lines %s.', i.invoice_no, i.total, coalesce(l.s, 0)) AS detail
  FROM repairsys.invoice i
  LEFT JOIN LATERAL (SELECT sum(x.amount + x.tax_amount) AS s FROM repairsys.invoice_line x WHERE x.invoice_id = i.id) l ON true
 WHERE i.total <> coalesce(l.s, 0)
UNION ALL
SELECT t.id, 'bill changed after approval',
       CASE WHEN t.price_labor_fee IS NULL
            THEN 'The estimate is marked approved but no prices were snapshotted (approved without repairsys.approve_estimate).'
            ELSE pg_catalog.format('Invoice %s: total %s, but the approved prices and the recorded work give %s.',
                                   i.invoice_no, i.total, c.total) END
  FROM repairsys.ticket t
  LEFT JOIN repairsys.invoice i ON i.ticket_id = t.id
  LEFT JOIN LATERAL (SELECT sum(b.amount + b.tax_amount) AS total
                       FROM repairsys.compute_bill(t, t.labor_minutes, t.travel_km, false) b
                      WHERE i.id IS NOT NULL AND t.price_labor_fee IS NOT NULL) c ON true
 WHERE t.estimate_approved_at IS NOT NULL
   AND (t.price_labor_fee IS NULL OR (i.id IS NOT NULL AND i.total <> coalesce(c.total, 0)))
UNION ALL
SELECT i.ticket_id, 'payments exceed the invoice total',
       pg_catalog.format('Invoice %s: total %s, paid %s.', i.invoice_no, i.total, p.s)
  FROM repairsys.invoice i
  JOIN LATERAL (SELECT sum(x.amount) AS s FROM repairsys.payment x WHERE x.invoice_id = i.id) p ON true
 WHERE p.s > i.total
UNION ALL
SELECT t.id, 'closed with a balance',
       pg_catalog.format('Total %s, paid %s.', b.total, b.paid)
  FROM repairsys.ticket t
  JOIN repairsys.ticket_status s ON s.code = t.status
  JOIN repairsys.bill_summary b ON b.ticket_id = t.id
 WHERE s.role = 'closed' AND b.balance > 0
UNION ALL
SELECT tp.ticket_id, 'parts used but neither billed nor covered',
       pg_catalog.format('%s x %s used at a unit price of %s%s.', tp.qty, tp.sku, tp.unit_price,
                         CASE WHEN i.id IS NOT NULL THEN ', missing from invoice ' || i.invoice_no ELSE '' END)
  FROM repairsys.ticket_part tp
  LEFT JOIN repairsys.invoice i ON i.ticket_id = tp.ticket_id
 WHERE tp.state = 'used' AND NOT tp.covered
   AND (tp.unit_price = 0
        OR (i.id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM repairsys.invoice_line l
                                              WHERE l.invoice_id = i.id AND l.kind = 'part' AND l.description LIKE '%(' || tp.sku || ')')))
UNION ALL
SELECT t.id, 'labor billed without work recorded',
       pg_catalog.format('Labor lines of %s, but the ticket records %s minutes.', l.s, coalesce(t.labor_minutes, 0))
  FROM repairsys.ticket t
  JOIN repairsys.invoice i ON i.ticket_id = t.id
  JOIN LATERAL (SELECT sum(x.amount) AS s FROM repairsys.invoice_line x WHERE x.invoice_id = i.id AND x.kind = 'labor') l ON true
 WHERE l.s > 0 AND coalesce(t.labor_minutes, 0) = 0
UNION ALL
SELECT t.id, 'bill exceeds the approved estimate',
       pg_catalog.format('Bill total %s, approved estimate high %s%s: at most %s with the tolerance of %s%%.', b.total, c.high,
                         coalesce(' (revision ' || c.revision || ')', ''), c.ceiling, repairsys.fmt_num(c.tolerance_pct))
  FROM repairsys.ticket t
  CROSS JOIN LATERAL repairsys.approved_ceiling(t) c
  JOIN repairsys.bill_summary b ON b.ticket_id = t.id
 WHERE t.status_role IN ('resolved', 'closed') AND NOT repairsys.under_warranty(t) AND b.total > c.ceiling
UNION ALL
SELECT t.id, 'bill changed after sign-off',
       pg_catalog.format('Signed by %s on %s for a total of %s; the bill now totals %s and hashes differently.', s.signed_by,
                         pg_catalog.to_char(s.signed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI "UTC"'), s.bill_total, b.total)
  FROM repairsys.ticket t
  JOIN LATERAL (SELECT x.* FROM repairsys.ticket_sign_off x WHERE x.ticket_id = t.id ORDER BY x.id DESC LIMIT 1) s ON true
  JOIN repairsys.bill_summary b ON b.ticket_id = t.id
 WHERE s.bill_sha256 <> pg_catalog.sha256(pg_catalog.convert_to(repairsys.bill_canonical_text(t), 'UTF8'));
COMMENT ON VIEW repairsys.billing_audit IS 'One row per billing problem found; empty on a healthy database';
COMMENT ON COLUMN repairsys.billing_audit.ticket_id IS 'Ticket concerned';
COMMENT ON COLUMN repairsys.billing_audit.problem IS 'invoice total differs from its lines, bill changed after approval, payments exceed the invoice total, closed with a balance, parts used but neither billed nor covered, labor billed without work recorded, bill exceeds the approved estimate, bill changed after sign-off';

-- (CREATE OR REPLACE VIEW drops the option 90_security.sql set: PostgreSQL 15 and later)
ALTER VIEW repairsys.billing_audit SET (security_invoker = true);


-- 40_billing.sql: bill_html shows the latest approved estimate revision
CREATE OR REPLACE FUNCTION repairsys.bill_html(ticket_id bigint)
RETURNS text
LANGUAGE plpgsql STABLE
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
DECLARE
	t    repairsys.ticket;
	c    repairsys.customer;
	s    repairsys.bill_summary;
	st   repairsys.service_type;
	html text;
	rows text;
	pays text;
	est  text;
	rev  repairsys.estimate_revision;
BEGIN
	SELECT * INTO t FROM repairsys.ticket x WHERE x.id = bill_html.ticket_id;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'ticket % does not exist', bill_html.ticket_id USING ERRCODE = '22023';
	END IF;
	SELECT * INTO c FROM repairsys.customer x WHERE x.id = t.customer_id;
	SELECT * INTO st FROM repairsys.service_type x WHERE x.code = t.service_type;
	SELECT * INTO s FROM repairsys.bill_summary x WHERE x.ticket_id = t.id;
	SELECT string_agg(format('<tr class="%s"><td>%s</td><td>%s</td><td class="n">%s</td><td>%s</td><td class="n">%s</td><td class="n">%s</td><td class="n">%s%%</td><td class="n">%s</td></tr>',
	                         html_escape(b.kind), b.line_no, html_escape(b.description), coalesce(fmt_num(b.quantity), ''),
	                         html_escape(b.unit), coalesce(fmt_price(b.unit_price), ''), b.amount,
	                         fmt_num(b.tax_rate * 100), b.tax_amount), E'\n' ORDER BY b.line_no)
	  INTO rows FROM repairsys.bill_lines(t) b;
	SELECT string_agg(format('<tr><td>%s</td><td>%s</td><td class="n">%s</td></tr>',
	                         to_char(p.paid_at, 'YYYY-MM-DD HH24:MI'), html_escape(p.method), p.amount), E'\n' ORDER BY p.paid_at, p.id)
	  INTO pays FROM repairsys.payment p JOIN repairsys.invoice i ON i.id = p.invoice_id WHERE i.ticket_id = t.id;
	-- the latest approved revision of the estimate (estimate_revision), else
	-- the snapshot of a ticket approved before revisions were kept
	SELECT * INTO rev FROM repairsys.estimate_revision r
	 WHERE r.ticket_id = t.id AND r.approved_at IS NOT NULL ORDER BY r.revision DESC LIMIT 1;
	est := CASE WHEN t.estimate_approved_at IS NULL THEN '<p>No estimate was approved (warranty work needs none).</p>'
	            WHEN rev.revision > 1
	            THEN format('<p>Revised estimate %s approved on %s (%s): between <b>%s</b> and <b>%s</b> %s, tax included.</p>',
	                        rev.revision, to_char(rev.approved_at, 'YYYY-MM-DD HH24:MI'), html_escape(rev.reason), rev.low,
	                        rev.high, html_escape(s.currency))
	            ELSE format('<p>Estimate approved on %s: between <b>%s</b> and <b>%s</b> %s, tax included.</p>',
	                        to_char(t.estimate_approved_at, 'YYYY-MM-DD HH24:MI'), t.approved_estimate_low,
	                        t.approved_estimate_high, html_escape(s.currency)) END;
	html := format($html$<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Bill for ticket %s</title>
<style>
body { font-family: sans-serif; margin: 2em; color: #222; background: #fff; }
h1 { font-size: 1.5em; border-bottom: 3px solid #1565c0; padding-bottom: .3em; }
table { border-collapse: collapse; width: 100%%; margin: 1em 0; }
th, td { border: 1px solid #bbb; padding: .35em .6em; text-align: left; }
th { background: #e3f2fd; }
td.n { text-align: right; white-space: nowrap; }
tr.coverage td, tr.discount td { color: #2e7d32; }
.total { font-size: 1.3em; font-weight: bold; }
.balance { font-size: 1.2em; color: #b71c1c; }
</style></head><body>
<h1>Bill for ticket %s</h1>
<p>Customer: %s. Service: %s. Status: %s. %s</p>
%s
<h2>Lines</h2>
<table><thead><tr><th>#</th><th>What</th><th>Quantity</th><th>Unit</th><th>Unit price</th><th>Amount</th><th>Tax rate</th><th>Tax</th></tr></thead>
<tbody>
%s
</tbody></table>
<table>
<tr><td>Labor</td><td class="n">%s</td></tr><tr><td>Parts</td><td class="n">%s</td></tr>
<tr><td>Travel</td><td class="n">%s</td></tr><tr><td>Call-out and surcharges</td><td class="n">%s</td></tr>
<tr><td>Warranty and repeat-repair coverage</td><td class="n">%s</td></tr><tr><td>Discounts</td><td class="n">%s</td></tr>
<tr><td>Subtotal</td><td class="n">%s</td></tr><tr><td>Tax</td><td class="n">%s</td></tr>
<tr class="total"><td>Total</td><td class="n" id="total">%s %s</td></tr>
</table>
<h2>Payments</h2>
<table><thead><tr><th>When</th><th>Method</th><th>Amount</th></tr></thead><tbody>
%s
</tbody></table>
<p class="balance">Balance due: %s %s</p>
</body></html>
$html$,
		t.id, t.id, html_escape(c.name), html_escape(st.name), html_escape(t.status),
		CASE WHEN s.invoice_no IS NOT NULL THEN 'Invoice ' || html_escape(s.invoice_no) || '.' ELSE 'Not invoiced yet.' END,
		est, coalesce(rows, '<tr><td colspan="8">No charge so far.</td></tr>'),
		s.labor, s.parts, s.travel, s.surcharges, s.coverage, s.discounts, s.subtotal, s.tax,
		s.total, html_escape(s.currency),
		coalesce(pays, '<tr><td colspan="3">None yet.</td></tr>'), s.balance, html_escape(s.currency));
	RETURN html;
END
$$;
COMMENT ON FUNCTION repairsys.bill_html(bigint) IS 'The bill of a ticket as a complete, self-contained HTML page for the customer: approved estimate (its latest approved revision), every line with its explanation, taxes, payments and balance';

-- 70_reports.sql: demo_load revises and approves when the work exceeds the estimate, has the
-- customer sign off, and picks technicians by a hash (not random() per row)

CREATE OR REPLACE FUNCTION repairsys.demo_load(tickets integer, seed integer)
RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
DECLARE
	centers  bigint[] := '{}'::bigint[];
	techs    bigint[] := '{}'::bigint[];
	custs    bigint[] := '{}'::bigint[];
	types    text[] := ARRAY['demo_ac_repair', 'demo_washer_repair', 'demo_tv_repair', 'demo_fridge_repair', 'demo_phone_screen'];
	models   text[] := ARRAY['Gree KFR-35', 'Haier XQG100', 'Hisense 65E7', 'Midea BCD-520', 'Huawei P60'];
	prices   numeric[] := ARRAY[3299.00, 2599.00, 4999.00, 5899.00, 4488.00];
	skus     text[] := ARRAY['DEMO-CAP', 'DEMO-PUMP', 'DEMO-BOARD', 'DEMO-SCREEN'];
	tag      text;
	n_cust   integer;
	c        bigint;
	r        float8;
	cust     bigint;
	ast      repairsys.asset;
	st       repairsys.service_type;
	tid      bigint;
	tech     bigint;
	inv      bigint;
	bill_total numeric;
	part_sku text;
	stars    integer;
	last_tid bigint;
BEGIN
	IF tickets IS NULL OR tickets < 0 THEN
		RAISE EXCEPTION 'number of tickets must be zero or positive' USING ERRCODE = '22023';
	END IF;
	IF tickets > 100000 THEN
		RAISE EXCEPTION 'cannot load more than 100000 tickets at once' USING ERRCODE = '54000',
			DETAIL = pg_catalog.format('%s tickets were asked for.', tickets);
	END IF;
	IF seed IS NULL THEN
		RAISE EXCEPTION 'seed must not be null' USING ERRCODE = '22023';
	END IF;
	PERFORM pg_catalog.setseed(pg_catalog.sin(seed::float8));
	tag := 'D' || seed || '-' || (SELECT count(*) FROM repairsys.service_center);

	-- the catalog, shared by every load
	INSERT INTO repairsys.service_type (code, name, required_skill, min_skill_level, labor_fee, travel_fee, callout_fee, est_minutes_low, est_minutes_high)
	VALUES ('demo_ac_repair', 'Air conditioner repair (demo)', 'hvac', 3, 'base=20, 0-60:2.00, 60-180:1.50, 180+:1.20, min=80', '0-10:0, 10+:2.50', 50.00, 45, 150),
	       ('demo_washer_repair', 'Washing machine repair (demo)', 'appliance', 2, '0-30:2.50, 30-90:2.00, 90+:1.60, min=60', '0-15:0, 15+:2.00', 30.00, 30, 90),
	       ('demo_tv_repair', 'Television repair (demo)', 'electronics', 3, '0-60:3.00, 60+:2.20', '0-15:0, 15+:2.00', 40.00, 40, 120),
	       ('demo_fridge_repair', 'Refrigerator repair (demo)', 'appliance', 3, 'base=30, 0-90:2.20, 90+:1.80', '0-10:0, 10+:2.20', 40.00, 60, 180),
	       ('demo_phone_screen', 'Phone screen replacement (demo)', 'electronics', 2, '0+:1.50, volume, min=30', NULL, 0.00, 20, 40)
	ON CONFLICT (code) DO NOTHING;
	INSERT INTO repairsys.sla_policy (service_type, urgency, respond_within, resolve_within)
	SELECT s.code, u.urgency, u.respond::repairsys.sla_interval, u.resolve::repairsys.sla_interval
	  FROM pg_catalog.unnest(types) AS s(code)
	 CROSS JOIN (VALUES ('normal', '4h in mon-sun 08:00-20:00 Asia/Shanghai', '36h in mon-sun 08:00-20:00 Asia/Shanghai'),
	                    ('urgent', '2h in mon-sun 08:00-20:00 Asia/Shanghai', '12h in mon-sun 08:00-20:00 Asia/Shanghai'),
	                    ('emergency', '1h', '8h')) AS u(urgency, respond, resolve)
	ON CONFLICT (service_type, urgency) DO NOTHING;
	INSERT INTO repairsys.part (sku, name, unit_cost, unit_price, lead_time_days, min_stock)
	VALUES ('DEMO-CAP', 'Compressor capacitor (demo)', 12.00, 35.00, 5, 6),
	       ('DEMO-PUMP', 'Washer drain pump (demo)', 45.00, 120.00, 10, 3),
	       ('DEMO-BOARD', 'TV main board (demo)', 260.00, 680.00, 14, 2),
	       ('DEMO-SCREEN', 'Phone screen (demo)', 180.00, 420.00, 7, 4)
	ON CONFLICT (sku) DO NOTHING;

	-- three centers, four technicians each, stock at every center
	FOR k IN 1..3 LOOP
		INSERT INTO repairsys.service_center (name, lat, lon, time_zone)
		VALUES (pg_catalog.format('%s %s', tag, (ARRAY['Shanghai Pudong', 'Shanghai Minhang', 'Suzhou SIP'])[k]),
		        (ARRAY[31.2304, 31.1120, 31.3150])[k], (ARRAY[121.5050, 121.3815, 120.6690])[k], 'Asia/Shanghai')
		RETURNING id INTO c;
		centers := centers || c;
		FOR i IN 1..4 LOOP
			INSERT INTO repairsys.technician (name, service_center_id, lat, lon, capacity, hourly_cost)
			VALUES (pg_catalog.format('%s tech %s-%s', tag, k, i), c, 31.2 + pg_catalog.random() * 0.1, 121.4 + pg_catalog.random() * 0.1,
			        10, 60 + (pg_catalog.random() * 40)::integer)
			RETURNING id INTO tech;
			techs := techs || tech;
			INSERT INTO repairsys.technician_skill (technician_id, skill, level)
			SELECT tech, s.skill, 2 + (pg_catalog.random() * 3)::integer
			  FROM pg_catalog.unnest(ARRAY['hvac', 'appliance', 'electronics']) WITH ORDINALITY AS s(skill, o)
			 WHERE s.o <> 1 + (i % 3) OR i = 4;
		END LOOP;
		FOREACH part_sku IN ARRAY skus LOOP
			PERFORM repairsys.receive_part(part_sku, c, 10 + (pg_catalog.random() * 30)::integer,
			                               (SELECT p.unit_cost FROM repairsys.part p WHERE p.sku = part_sku));
		END LOOP;
	END LOOP;

	-- customers with one to three assets; a few buy expensive units
	n_cust := greatest(10, tickets / 3);
	FOR i IN 1..n_cust LOOP
		INSERT INTO repairsys.customer (name, phone, service_center_id, lat, lon)
		VALUES (pg_catalog.format('%s customer %s', tag, i), '138' || pg_catalog.lpad((seed::bigint * 100000 + i)::text, 8, '0'),
		        centers[1 + (i % 3)], 31.1 + pg_catalog.random() * 0.25, 120.7 + pg_catalog.random() * 0.8)
		RETURNING id INTO cust;
		custs := custs || cust;
		FOR k IN 1..1 + (pg_catalog.random() < 0.3)::integer + (pg_catalog.random() < 0.1)::integer LOOP
			r := pg_catalog.random();
			INSERT INTO repairsys.asset (customer_id, model, serial_no, purchased_at, purchase_price, warranty_until)
			SELECT cust, models[m], pg_catalog.format('%s-%s-%s', tag, i, k), d,
			       CASE WHEN r < 0.08 THEN prices[m] * 4 ELSE prices[m] END, d + 365
			  FROM (SELECT 1 + floor(pg_catalog.random() * 5)::integer AS m,
			               CURRENT_DATE - (30 + (pg_catalog.random() * 900)::integer) AS d) x;
		END LOOP;
	END LOOP;

	-- tickets: a quarter of them come from the first tenth of the customers (regulars)
	FOR i IN 1..tickets LOOP
		IF pg_catalog.random() < 0.25 THEN
			cust := custs[1 + floor(pg_catalog.random() * greatest(1, n_cust / 10))::integer];	-- the regulars
		ELSE
			cust := custs[1 + floor(pg_catalog.random() * n_cust)::integer];
		END IF;
		r := pg_catalog.random();
		IF r < 0.08 AND last_tid IS NOT NULL
		   AND (SELECT x.resolved_at IS NOT NULL AND x.asset_id IS NOT NULL FROM repairsys.ticket x WHERE x.id = last_tid) THEN
			-- a repeat visit for the last repair: opened after it, left open (rework)
			INSERT INTO repairsys.ticket (customer_id, asset_id, service_type, description, opened_at)
			SELECT x.customer_id, x.asset_id, x.service_type, 'Demo: the fault came back', pg_catalog.clock_timestamp()
			  FROM repairsys.ticket x WHERE x.id = last_tid
			RETURNING id INTO tid;
			last_tid := NULL;
			CONTINUE;
		END IF;
		SELECT * INTO ast FROM repairsys.asset a WHERE a.customer_id = cust ORDER BY a.id
		 OFFSET floor(pg_catalog.random() * (SELECT count(*) FROM repairsys.asset a2 WHERE a2.customer_id = cust)) LIMIT 1;
		SELECT * INTO st FROM repairsys.service_type s WHERE s.code = types[pg_catalog.array_position(models, ast.model)];
		INSERT INTO repairsys.ticket (customer_id, asset_id, service_type, complexity, urgency, channel, description, opened_at)
		VALUES (cust, ast.id, st.code, 1 + (pg_catalog.random() * 3)::integer,
		        (ARRAY['normal', 'normal', 'normal', 'normal', 'urgent', 'urgent', 'emergency'])[1 + (pg_catalog.random() * 6)::integer],
		        (ARRAY['phone', 'web', 'app', 'mini_program', 'walk_in'])[1 + (pg_catalog.random() * 4)::integer],
		        pg_catalog.format('Demo request %s', i),
		        pg_catalog.now() - pg_catalog.make_interval(mins => 60 + (pg_catalog.random() * 95 * 60)::integer))
		RETURNING id INTO tid;
		r := pg_catalog.random();
		IF r < 0.06 THEN
			CONTINUE;					-- still new
		ELSIF r < 0.10 THEN
			UPDATE repairsys.ticket x SET status = repairsys.next_state(x.status, 'cancelled') WHERE x.id = tid;
			CONTINUE;
		END IF;
		-- a qualified technician with room (capacity), of the ticket's center when there is one
		SELECT ts.technician_id INTO tech
		  FROM repairsys.technician_skill ts JOIN repairsys.technician te ON te.id = ts.technician_id
		 WHERE ts.technician_id = ANY (techs) AND ts.skill = st.required_skill AND ts.level >= st.min_skill_level
		   AND repairsys.open_ticket_count(ts.technician_id) < te.capacity
		 ORDER BY te.service_center_id IS DISTINCT FROM (SELECT x.service_center_id FROM repairsys.ticket x WHERE x.id = tid),
		          pg_catalog.md5(te.name || '/' || i || '/' || r)	-- (not random() per row: its values would follow the plan's scan order)
		 LIMIT 1;
		IF tech IS NULL THEN
			CONTINUE;
		END IF;
		UPDATE repairsys.ticket x SET status = repairsys.next_state(x.status, 'assigned'), technician_id = tech WHERE x.id = tid;
		IF r < 0.15 THEN
			CONTINUE;
		END IF;
		PERFORM repairsys.approve_estimate(tid);
		UPDATE repairsys.ticket x SET status = repairsys.next_state(x.status, 'active') WHERE x.id = tid;
		IF pg_catalog.random() < 0.35 THEN
			part_sku := CASE st.required_skill WHEN 'hvac' THEN 'DEMO-CAP' WHEN 'appliance' THEN 'DEMO-PUMP'
			            ELSE CASE WHEN st.code = 'demo_phone_screen' THEN 'DEMO-SCREEN' ELSE 'DEMO-BOARD' END END;
			IF (SELECT s.on_hand - s.reserved FROM repairsys.stock s JOIN repairsys.ticket x ON x.service_center_id = s.service_center_id
			     WHERE x.id = tid AND s.sku = part_sku) >= 1 THEN
				PERFORM repairsys.reserve_part(tid, part_sku, 1);
			END IF;
		END IF;
		IF r < 0.20 THEN
			CONTINUE;					-- work under way
		END IF;
		UPDATE repairsys.ticket x
		   SET labor_minutes = st.est_minutes_low + pg_catalog.round((pg_catalog.random() * (st.est_minutes_high - st.est_minutes_low))::numeric),
		       travel_km = pg_catalog.round((pg_catalog.random() * 30)::numeric, 1)
		 WHERE x.id = tid;
		-- more work than the approved estimate (a part, a longer trip): the
		-- technician revises it and the customer approves, as the approved
		-- ceiling asks before resolving (docs/billing.md)
		IF (SELECT (SELECT sum(b.amount + b.tax_amount) FROM repairsys.compute_bill(x, x.labor_minutes, x.travel_km, true) b) > c.ceiling
		      FROM repairsys.ticket x
		      CROSS JOIN LATERAL repairsys.approved_ceiling(x) c
		     WHERE x.id = tid AND NOT repairsys.under_warranty(x)) THEN
			PERFORM repairsys.revise_estimate(tid, 'Demo: more work than estimated');
			PERFORM repairsys.approve_estimate(tid);
		END IF;
		UPDATE repairsys.ticket x SET status = repairsys.next_state(x.status, 'resolved') WHERE x.id = tid;
		IF pg_catalog.random() < 0.06 THEN
			UPDATE repairsys.ticket x SET status = repairsys.next_state(x.status, 'active') WHERE x.id = tid;
			UPDATE repairsys.ticket x SET status = repairsys.next_state(x.status, 'resolved') WHERE x.id = tid;
		END IF;
		last_tid := tid;
		-- the customer signs the work and the bill off on the technician's tablet (签字确认)
		PERFORM repairsys.sign_off(tid, (SELECT c.name FROM repairsys.customer c WHERE c.id = cust));
		-- the customer's rating: each technician has a typical quality
		IF pg_catalog.random() < 0.8 THEN
			stars := least(5, greatest(1, pg_catalog.round(2.5 + (pg_catalog.array_position(techs, tech) % 4) * 0.6
			                                                + (pg_catalog.random() - 0.5) * 3)::integer));
			INSERT INTO repairsys.feedback (ticket_id, rating, comment, complaint)
			VALUES (tid, stars, CASE WHEN stars >= 4 THEN 'Quick and friendly' WHEN stars <= 2 THEN 'Not satisfied' END,
			        stars <= 2 AND pg_catalog.random() < 0.6);
		END IF;
		-- bill: most are invoiced and paid and closed; some wait for payment
		r := pg_catalog.random();
		IF r < 0.85 THEN
			SELECT b.total INTO bill_total FROM repairsys.bill_summary b WHERE b.ticket_id = tid;
			IF coalesce(bill_total, 0) > 0 THEN
				inv := repairsys.issue_invoice(tid);
				IF r < 0.75 THEN
					PERFORM repairsys.record_payment(inv, (ARRAY['wechat', 'alipay', 'card', 'cash'])[1 + (pg_catalog.random() * 3)::integer],
					                                 (SELECT v.total FROM repairsys.invoice v WHERE v.id = inv),
					                                 pg_catalog.format('demo-%s-%s', tag, tid));
				END IF;
			END IF;
			IF r < 0.75 THEN
				UPDATE repairsys.ticket x SET status = repairsys.next_state(x.status, 'closed') WHERE x.id = tid;
			END IF;
		END IF;
	END LOOP;
	RETURN tickets;
END
$$;
COMMENT ON FUNCTION repairsys.demo_load(integer, integer) IS 'Demo data generator: 3 centers, 12 technicians, customers with assets, demo_* service types with SLA policies, stocked parts, and the given number of tickets moved through the life cycle with labor, estimate revisions, parts, sign-offs, feedback, invoices and payments; reproducible for a seed (docs/reports.md)';


-- 85_finite.sql: the finite CHECKs of estimate_revision's numbers and times
ALTER TABLE repairsys.estimate_revision
	ADD CONSTRAINT estimate_revision_low_finite CHECK (low OPERATOR(pg_catalog.<>) 'NaN' AND low OPERATOR(pg_catalog.>) '-Infinity' AND low OPERATOR(pg_catalog.<) 'Infinity'),
	ADD CONSTRAINT estimate_revision_high_finite CHECK (high OPERATOR(pg_catalog.<>) 'NaN' AND high OPERATOR(pg_catalog.>) '-Infinity' AND high OPERATOR(pg_catalog.<) 'Infinity'),
	ADD CONSTRAINT estimate_revision_expected_minutes_finite CHECK (expected_minutes OPERATOR(pg_catalog.<>) 'NaN' AND expected_minutes OPERATOR(pg_catalog.>) '-Infinity' AND expected_minutes OPERATOR(pg_catalog.<) 'Infinity'),
	ADD CONSTRAINT estimate_revision_created_at_finite CHECK (pg_catalog.isfinite(created_at)),
	ADD CONSTRAINT estimate_revision_approved_at_finite CHECK (pg_catalog.isfinite(approved_at)),
	ADD CONSTRAINT estimate_revision_tolerance_pct_finite CHECK (tolerance_pct OPERATOR(pg_catalog.<>) 'NaN' AND tolerance_pct OPERATOR(pg_catalog.>) '-Infinity' AND tolerance_pct OPERATOR(pg_catalog.<) 'Infinity');

-- 90_security.sql: estimate_revision's rows of the decision list, as its loop makes them
ALTER TABLE repairsys.estimate_revision ENABLE ROW LEVEL SECURITY;
REVOKE ALL ON repairsys.estimate_revision FROM PUBLIC;
GRANT SELECT, INSERT, UPDATE, DELETE ON repairsys.estimate_revision TO repairsys_admin;
CREATE POLICY admin ON repairsys.estimate_revision FOR ALL TO repairsys_admin USING (true) WITH CHECK (true);
GRANT SELECT ON repairsys.estimate_revision TO repairsys_auditor;
CREATE POLICY auditor ON repairsys.estimate_revision FOR SELECT TO repairsys_auditor USING (true);
GRANT SELECT, INSERT (ticket_id, reason, expected_minutes), UPDATE (approved_at) ON repairsys.estimate_revision TO repairsys_dispatcher;
CREATE POLICY dispatcher ON repairsys.estimate_revision FOR ALL TO repairsys_dispatcher USING (true) WITH CHECK (true);
GRANT SELECT, INSERT (ticket_id, reason, expected_minutes) ON repairsys.estimate_revision TO repairsys_technician;
CREATE POLICY technician ON repairsys.estimate_revision FOR ALL TO repairsys_technician
	USING (ticket_id = ANY (ARRAY(SELECT t.id FROM repairsys.ticket t))) WITH CHECK (ticket_id = ANY (ARRAY(SELECT t.id FROM repairsys.ticket t)));
GRANT SELECT, UPDATE (approved_at) ON repairsys.estimate_revision TO repairsys_customer;
CREATE POLICY customer ON repairsys.estimate_revision FOR ALL TO repairsys_customer
	USING (ticket_id = ANY (ARRAY(SELECT t.id FROM repairsys.ticket t))) WITH CHECK (ticket_id = ANY (ARRAY(SELECT t.id FROM repairsys.ticket t)));

-- 90_security.sql: ticket_sign_off is append-only (forbid_change triggers) and its rows of the decision list
CREATE TRIGGER ticket_sign_off_append_only BEFORE UPDATE OR DELETE ON repairsys.ticket_sign_off
	FOR EACH ROW EXECUTE FUNCTION repairsys.forbid_change();
CREATE TRIGGER ticket_sign_off_no_truncate BEFORE TRUNCATE ON repairsys.ticket_sign_off
	FOR EACH STATEMENT EXECUTE FUNCTION repairsys.forbid_change();
ALTER TABLE repairsys.ticket_sign_off ENABLE ROW LEVEL SECURITY;
REVOKE ALL ON repairsys.ticket_sign_off FROM PUBLIC;
GRANT SELECT, INSERT ON repairsys.ticket_sign_off TO repairsys_admin;
CREATE POLICY admin ON repairsys.ticket_sign_off FOR ALL TO repairsys_admin USING (true) WITH CHECK (true);
GRANT SELECT ON repairsys.ticket_sign_off TO repairsys_auditor;
CREATE POLICY auditor ON repairsys.ticket_sign_off FOR SELECT TO repairsys_auditor USING (true);
GRANT SELECT, INSERT (ticket_id, signed_by, signature) ON repairsys.ticket_sign_off TO repairsys_dispatcher;
CREATE POLICY dispatcher ON repairsys.ticket_sign_off FOR ALL TO repairsys_dispatcher USING (true) WITH CHECK (true);
GRANT SELECT, INSERT (ticket_id, signed_by, signature) ON repairsys.ticket_sign_off TO repairsys_technician;
CREATE POLICY technician ON repairsys.ticket_sign_off FOR ALL TO repairsys_technician
	USING (ticket_id = ANY (ARRAY(SELECT t.id FROM repairsys.ticket t))) WITH CHECK (ticket_id = ANY (ARRAY(SELECT t.id FROM repairsys.ticket t)));
GRANT SELECT, INSERT (ticket_id, signed_by, signature) ON repairsys.ticket_sign_off TO repairsys_customer;
CREATE POLICY customer ON repairsys.ticket_sign_off FOR ALL TO repairsys_customer
	USING (ticket_id = ANY (ARRAY(SELECT t.id FROM repairsys.ticket t))) WITH CHECK (ticket_id = ANY (ARRAY(SELECT t.id FROM repairsys.ticket t)));
-- (1.1's repairsys.security_audit lists the append-only tables by name: the
-- upgrade script should add ticket_sign_off to both of its lists)
ALTER TABLE repairsys.ticket_sign_off
	ADD CONSTRAINT ticket_sign_off_bill_total_finite CHECK (bill_total OPERATOR(pg_catalog.<>) 'NaN' AND bill_total OPERATOR(pg_catalog.>) '-Infinity' AND bill_total OPERATOR(pg_catalog.<) 'Infinity'),
	ADD CONSTRAINT ticket_sign_off_signed_at_finite CHECK (pg_catalog.isfinite(signed_at));
-- (99_finish.sql registers every sequence for pg_dump in a fresh install)
SELECT pg_catalog.pg_extension_config_dump('repairsys.ticket_sign_off_id_seq', '');
REVOKE ALL ON SEQUENCE repairsys.ticket_sign_off_id_seq FROM PUBLIC;
