-- Transparent billing (docs/billing.md): estimates the
-- customer approves, itemized bills whose lines add up, frozen invoices,
-- idempotent payments, installment plans and an audit.
--
-- One function, repairsys.compute_bill(), turns a ticket's price inputs and
-- recorded work into bill lines; the estimate, the bill views and the invoice
-- all use it, so they cannot disagree.  Every line carries its own tax,
-- rounded per line; a bill's total is the sum of its lines' amounts and
-- taxes, so the lines always add up to it.

------------------------------------------------------------------------------
-- Coverage
------------------------------------------------------------------------------
-- The earlier closed ticket of the same asset and service type that makes
-- this one a repeat repair (free of labor), or NULL (ticket_coverage(),
-- 31_guards.sql).
CREATE FUNCTION repairsys.rework_of(t repairsys.ticket)
RETURNS bigint
LANGUAGE sql STABLE
BEGIN ATOMIC
	SELECT c.rework_of FROM repairsys.ticket_coverage(t) c;
END;
COMMENT ON FUNCTION repairsys.rework_of(repairsys.ticket) IS 'The earlier closed ticket of the same asset and service type, closed within the rework window (the ticket''s snapshot, else the rework_window setting) before this one was opened (this one is then free of labor); NULL when none';

------------------------------------------------------------------------------
-- The version in force (docs/billing.md, "Published prices")
------------------------------------------------------------------------------
-- The version of a service type in force at an instant: the latest one that
-- took effect at or before it; before the type's first version took effect,
-- the first version (it also prices what happened before the type's prices
-- were published: tickets backdated or imported).  NULL when the type has no
-- version at all.  No errors: price_at() checks its arguments.
CREATE FUNCTION repairsys.price_version_at(service_type text, at timestamptz)
RETURNS repairsys.service_price
LANGUAGE sql STABLE
SET search_path = repairsys, pg_catalog, pg_temp
BEGIN ATOMIC
	SELECT p
	  FROM repairsys.service_price p
	 WHERE p.service_type = price_version_at.service_type
	 ORDER BY p.effective_from <= price_version_at.at DESC,
	          CASE WHEN p.effective_from <= price_version_at.at THEN p.effective_from END DESC,
	          p.effective_from
	 LIMIT 1;
END;
COMMENT ON FUNCTION repairsys.price_version_at(text, timestamptz) IS 'The version of a service type''s prices in force at an instant (before the first version took effect: the first version); NULL when the type has none; see price_at()';

-- price_version_at() for callers: 22023 for a NULL or infinite instant or a
-- NULL type, 23503 for a type that does not exist.
CREATE FUNCTION repairsys.price_at(service_type text, at timestamptz)
RETURNS repairsys.service_price
LANGUAGE plpgsql STABLE
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
DECLARE
	v repairsys.service_price;
BEGIN
	IF price_at.service_type IS NULL THEN
		RAISE EXCEPTION 'service type must not be NULL' USING ERRCODE = '22023';
	END IF;
	IF price_at.at IS NULL OR NOT isfinite(price_at.at) THEN
		RAISE EXCEPTION 'invalid instant %', coalesce(price_at.at::text, 'NULL')
			USING ERRCODE = '22023',
			      HINT = 'price_at() takes a finite instant, e.g. now() or the instant a ticket was opened.';
	END IF;
	v := repairsys.price_version_at(price_at.service_type, price_at.at);
	IF v.service_type IS NULL THEN
		IF NOT EXISTS (SELECT 1 FROM repairsys.service_type s WHERE s.code = price_at.service_type) THEN
			RAISE EXCEPTION 'service type "%" does not exist', price_at.service_type USING ERRCODE = '23503';
		END IF;
		-- (only the table owner can remove every version of a type)
		RAISE EXCEPTION 'service type "%" has no published prices', price_at.service_type
			USING ERRCODE = '23503',
			      HINT = 'Schedule a version in repairsys.service_price.';
	END IF;
	RETURN v;
END
$$;
COMMENT ON FUNCTION repairsys.price_at(text, timestamptz) IS 'The version of a service type''s prices in force at an instant (收费标准): the latest version that took effect at or before it; before the type''s first version, the first version (its effective_from says so); 22023 for a NULL type or a NULL or infinite instant, 23503 for an unknown type';

------------------------------------------------------------------------------
-- The bill lines
------------------------------------------------------------------------------
CREATE FUNCTION repairsys.fmt_num(n numeric)
RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
BEGIN ATOMIC
	SELECT pg_catalog.trim_scale(n)::text;
END;
COMMENT ON FUNCTION repairsys.fmt_num(numeric) IS 'A number for bill descriptions, without trailing zeros';

-- (Not STRICT: a STRICT SQL function whose body is a CASE is not inlined, and
-- is called instead, its body read and planned again for every bill; a NULL
-- gives NULL all the same.)
CREATE FUNCTION repairsys.fmt_price(n numeric)
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
BEGIN ATOMIC
	SELECT CASE WHEN pg_catalog.scale(pg_catalog.trim_scale(n)) <= 2 THEN pg_catalog.round(n, 2)::text
	            ELSE pg_catalog.trim_scale(n)::text END;
END;
COMMENT ON FUNCTION repairsys.fmt_price(numeric) IS 'A price for bill descriptions: 2 decimals, more only when the price has them';

-- The lines of a price schedule for a quantity, worded for the bill:
-- "Labor: 15 min in the tier 60+ min, at 1.50 per min".
-- Not STRICT, so that the planner inlines it into compute_bill's loops (a
-- STRICT set-returning SQL function is called instead, and its body read and
-- planned again at every call); the WHERE clause keeps what STRICT gave: no
-- line when an argument is NULL (charge_lines() is STRICT itself).
CREATE FUNCTION repairsys.schedule_lines(fee repairsys.fee_tier, qty numeric, what text, unit_name text,
	OUT description text, OUT quantity numeric, OUT line_unit text, OUT unit_price numeric, OUT amount numeric)
RETURNS SETOF record
LANGUAGE sql IMMUTABLE PARALLEL SAFE
ROWS 3
BEGIN ATOMIC
	SELECT CASE l.kind
	           WHEN 'base' THEN what || ': base fee'
	           WHEN 'tier' THEN pg_catalog.format('%s: %s %s in the tier %s %s, at %s per %s', what,
	                              repairsys.fmt_num(l.quantity), unit_name,
	                              repairsys.fmt_num(l.qty_from) || coalesce('-' || repairsys.fmt_num(l.qty_to), '+'), unit_name,
	                              repairsys.fmt_price(l.rate), unit_name)
	           WHEN 'minimum' THEN what || ': raised to the minimum charge of the schedule'
	           WHEN 'maximum' THEN what || ': lowered to the maximum charge of the schedule' END,
	       l.quantity, CASE WHEN l.kind = 'tier' THEN unit_name END, l.rate, l.amount
	  FROM repairsys.charge_lines(fee, qty) l
	 WHERE what IS NOT NULL AND unit_name IS NOT NULL
	 ORDER BY l.line_no;
END;
COMMENT ON FUNCTION repairsys.schedule_lines(repairsys.fee_tier, numeric, text, text) IS 'The lines of charge_lines() worded for a bill (what, unit): base fee, one per tier slice, minimum or maximum adjustment';

-- The prices a bill of ticket t is figured at (the snapshot taken at the
-- approval, else the published version in force when the ticket was opened,
-- price_at() above), its tax rates and its coverage (ticket_coverage()): one
-- row, what compute_bill() and bill_total() both start from.  Inlined into
-- them (a set-returning SQL function of one SELECT, no SET clause).
CREATE FUNCTION repairsys.bill_prices(t repairsys.ticket,
	OUT labor_fee repairsys.fee_tier, OUT travel_fee repairsys.fee_tier, OUT callout numeric, OUT factor numeric, OUT pct numeric,
	OUT rate_l numeric, OUT rate_p numeric, OUT warranty boolean, OUT rework bigint, OUT warranty_until date)
RETURNS SETOF record
LANGUAGE sql STABLE
ROWS 1
BEGIN ATOMIC
	SELECT coalesce(t.price_labor_fee, (x.pv).labor_fee),
	       CASE WHEN t.price_labor_fee IS NOT NULL THEN t.price_travel_fee ELSE (x.pv).travel_fee END,
	       coalesce(t.price_callout_fee, (x.pv).callout_fee, 0),
	       coalesce(t.price_complexity_factor, (SELECT c.factor FROM repairsys.complexity_rule c WHERE c.level = t.complexity), 1),
	       coalesce(t.price_surcharge_pct, (SELECT u.surcharge_pct FROM repairsys.urgency_rule u WHERE u.urgency = t.urgency), 0),
	       pg_catalog.round(coalesce(t.price_tax_rate_labor, repairsys.setting_value('tax_rate_labor')::numeric), 4),
	       pg_catalog.round(coalesce(t.price_tax_rate_parts, repairsys.setting_value('tax_rate_parts')::numeric), 4),
	       x.warranty,
	       -- (the earlier ticket only matters when the warranty does not cover the work)
	       CASE WHEN NOT x.warranty THEN x.rework_of END, x.warranty_until
	  FROM (SELECT CASE WHEN t.price_labor_fee IS NULL THEN repairsys.price_at(t.service_type, coalesce(t.opened_at, pg_catalog.now())) END AS pv,
	               v.warranty, v.warranty_until, v.rework_of
	          FROM repairsys.ticket_coverage(t) v
	        OFFSET 0) x;
END;
COMMENT ON FUNCTION repairsys.bill_prices(repairsys.ticket) IS 'The prices, tax rates and coverage a ticket''s bill is figured at, one row: the approved snapshot, else the version in force when it was opened; warranty, the earlier ticket of a repeat repair when the warranty does not cover the work, the warranty date';

-- The bill lines of ticket t for the given labor minutes and travel km (NULL:
-- none recorded).  With for_estimate, reserved parts count as well as used
-- ones.  Prices come from the ticket's snapshot when the estimate was
-- approved, else from the published version in force when the ticket was
-- opened (price_at(service_type, opened_at), above): a price change
-- scheduled later never changes the estimate of a ticket already open.
-- One SQL query, not a procedure: a set-returning SQL function whose body is
-- one SELECT (and has no SET clause) is inlined into the query that calls it,
-- so a report or an audit that bills a thousand tickets plans the bill once
-- and runs it per ticket as part of its own plan, instead of starting the
-- executor for each statement of a procedure, several times per ticket
-- (docs/performance.md, "compute_bill as one query").  Its names are
-- bound when it is created (BEGIN ATOMIC), so no search_path can change them.
CREATE FUNCTION repairsys.compute_bill(t repairsys.ticket, minutes numeric, km numeric, for_estimate boolean DEFAULT false,
	OUT line_no integer, OUT kind text, OUT description text, OUT quantity numeric, OUT unit text,
	OUT unit_price numeric, OUT amount numeric, OUT tax_rate numeric, OUT tax_amount numeric)
RETURNS SETOF record
LANGUAGE sql STABLE
ROWS 8
BEGIN ATOMIC
	WITH
	-- the prices (the snapshot, else the version in force when the ticket was
	-- opened), the rates and the coverage: one row
	k0 AS MATERIALIZED (
		SELECT * FROM repairsys.bill_prices(t)),
	-- labor and travel, one line per tier slice of the schedule, numbered (o)
	-- in the order schedule_lines() gives them
	sl AS MATERIALIZED (
		SELECT 'labor' AS kind, s.description, s.quantity, s.line_unit, s.unit_price, s.amount,
		       pg_catalog.round(s.amount * k0.rate_l, 2) AS tax, pg_catalog.row_number() OVER () AS o
		  FROM k0, repairsys.schedule_lines(k0.labor_fee, minutes, 'Labor', 'min') s
		UNION ALL
		SELECT 'travel', s.description, s.quantity, s.line_unit, s.unit_price, s.amount,
		       pg_catalog.round(s.amount * k0.rate_l, 2), pg_catalog.row_number() OVER ()
		  FROM k0, repairsys.schedule_lines(k0.travel_fee, km, 'Travel', 'km') s),
	-- the sums the later lines are figured from: labor, complexity (cx),
	-- urgency surcharge (sur), travel and their taxes
	k1 AS MATERIALIZED (
		SELECT k0.*, s.labor, s.tx_lab, s.travel, s.tx_travel,
		       CASE WHEN k0.callout > 0 THEN pg_catalog.round(k0.callout * k0.rate_l, 2) ELSE 0 END AS tx_call,
		       k0.factor <> 1 AND s.labor > 0 AS has_cx
		  FROM k0,
		       (SELECT coalesce(sum(sl.amount) FILTER (WHERE sl.kind = 'labor'), 0) AS labor,
		               coalesce(sum(sl.tax) FILTER (WHERE sl.kind = 'labor'), 0) AS tx_lab,
		               coalesce(sum(sl.amount) FILTER (WHERE sl.kind = 'travel'), 0) AS travel,
		               coalesce(sum(sl.tax) FILTER (WHERE sl.kind = 'travel'), 0) AS tx_travel
		          FROM sl) s),
	k2 AS MATERIALIZED (
		SELECT y.*, y.pct > 0 AND y.labor + y.cx > 0 AS has_sur,
		       CASE WHEN y.pct > 0 AND y.labor + y.cx > 0 THEN pg_catalog.round((y.labor + y.cx) * y.pct / 100, 2) ELSE 0 END AS sur
		  FROM (SELECT k1.*, CASE WHEN k1.has_cx THEN pg_catalog.round(k1.labor * (k1.factor - 1), 2) ELSE 0 END AS cx FROM k1) y),
	k3 AS MATERIALIZED (
		SELECT k2.*,
		       k2.tx_lab + CASE WHEN k2.has_cx THEN pg_catalog.round(k2.cx * k2.rate_l, 2) ELSE 0 END
		                 + CASE WHEN k2.has_sur THEN pg_catalog.round(k2.sur * k2.rate_l, 2) ELSE 0 END AS tx_labor
		  FROM k2),
	-- the parts, at the price of when they were reserved
	pt AS MATERIALIZED (
		SELECT y.*, pg_catalog.round(y.amt * k3.rate_p, 2) AS tax
		  FROM k3,
		       (SELECT tp.sku, p.name, sum(tp.qty)::numeric AS qty, tp.unit_price AS price, tp.covered, sum(tp.qty) * tp.unit_price AS amt
		          FROM repairsys.ticket_part tp JOIN repairsys.part p ON p.sku = tp.sku
		         WHERE tp.ticket_id = t.id AND (tp.state = 'used' OR (for_estimate AND tp.state = 'reserved'))
		         GROUP BY tp.sku, p.name, tp.unit_price, tp.covered) y),
	-- what is left to discount per tax rate (amounts and their taxes): at the
	-- labor rate what no coverage took, then the parts no warranty covers
	k4 AS MATERIALIZED (
		SELECT k3.*,
		       CASE WHEN k3.warranty THEN 0
		            WHEN k3.rework IS NOT NULL THEN k3.callout + k3.travel
		            ELSE k3.labor + k3.cx + k3.sur + k3.callout + k3.travel END AS left_l,
		       CASE WHEN k3.warranty THEN 0
		            WHEN k3.rework IS NOT NULL THEN k3.tx_call + k3.tx_travel
		            ELSE k3.tx_labor + k3.tx_call + k3.tx_travel END AS left_tl,
		       (SELECT coalesce(sum(pt.amt), 0) FROM pt WHERE NOT pt.covered) AS left_p,
		       (SELECT coalesce(sum(pt.tax), 0) FROM pt WHERE NOT pt.covered) AS left_tp
		  FROM k3),
	-- the approved discounts in the order given (a pending or rejected one is
	-- not on the bill, docs/billing.md "Approval authority"), never below
	-- zero: each takes from what is left at the labor rate first (share 1),
	-- then from the parts (share 2), and the tax it takes off never exceeds
	-- the tax left on that share (so a full waiver nets to exactly 0.00).
	-- What is left after the discounts up to d (cumulative sum upto) is
	-- greatest(left - upto, 0), so each share is what was left before it
	-- less what is left after it.
	dc AS MATERIALIZED (
		SELECT y.id, y.description,
		       y.l_before - y.l_after AS piece_l, y.p_before - y.p_after AS piece_p,
		       y.l_after, y.p_after, y.rate_l, y.rate_p, y.left_tl, y.left_tp
		  FROM (SELECT x.id, x.description, k4.rate_l, k4.rate_p, k4.left_tl, k4.left_tp,
		               GREATEST(k4.left_l - (x.upto - x.amount), 0) AS l_before, GREATEST(k4.left_l - x.upto, 0) AS l_after,
		               GREATEST(k4.left_p - GREATEST(x.upto - x.amount - k4.left_l, 0), 0) AS p_before,
		               GREATEST(k4.left_p - GREATEST(x.upto - k4.left_l, 0), 0) AS p_after
		          FROM k4,
		               (SELECT d.id, d.description, d.amount, sum(d.amount) OVER (ORDER BY d.id) AS upto
		                  FROM repairsys.ticket_discount d WHERE d.ticket_id = t.id AND d.status = 'approved') x) y),
	-- the tax of each share: what is left of the tax after the discounts up
	-- to it is what was left less their shares' rounded taxes, never below
	-- zero, and zero once nothing is left of the amounts at that rate
	dt AS (
		SELECT z.id, z.description, z.piece_l, z.piece_p, z.rate_l, z.rate_p,
		       z.tl_before - z.tl_after AS tax_l, z.tp_before - z.tp_after AS tax_p
		  FROM (SELECT w.*,
		               coalesce(pg_catalog.lag(w.tl_after) OVER (ORDER BY w.id), w.left_tl) AS tl_before,
		               coalesce(pg_catalog.lag(w.tp_after) OVER (ORDER BY w.id), w.left_tp) AS tp_before
		          FROM (SELECT v.*,
		                       CASE WHEN v.l_after = 0 THEN 0 ELSE GREATEST(v.left_tl - v.rounded_l, 0) END AS tl_after,
		                       CASE WHEN v.p_after = 0 THEN 0 ELSE GREATEST(v.left_tp - v.rounded_p, 0) END AS tp_after
		                  FROM (SELECT dc.*,
		                               sum(pg_catalog.round(dc.piece_l * dc.rate_l, 2)) OVER (ORDER BY dc.id) AS rounded_l,
		                               sum(pg_catalog.round(dc.piece_p * dc.rate_p, 2)) OVER (ORDER BY dc.id) AS rounded_p
		                          FROM dc) v) w) z),
	-- every line, in the bill's order: (1) call-out, (2) labor slices,
	-- (3) complexity, (4) urgency surcharge, (5) travel slices, (6) parts,
	-- each covered one followed by its coverage, (7) the coverage of the
	-- service: product warranty covers it all, a repeat repair its labor (a
	-- coverage line takes off exactly the amounts and taxes it covers, so
	-- covered work nets to zero to the cent), (8) discounts
	lines AS (
		SELECT 1 AS s, NULL::text AS o1, 0::numeric AS o2, NULL::text AS o3, 'callout' AS kind, 'Call-out fee' AS description, 1::numeric AS quantity, 'visit' AS unit,
		       k3.callout AS unit_price, k3.callout AS amount, k3.rate_l AS tax_rate, k3.tx_call AS tax_amount
		  FROM k3 WHERE k3.callout > 0
		UNION ALL
		SELECT CASE sl.kind WHEN 'labor' THEN 2 ELSE 5 END, NULL, sl.o, NULL, sl.kind, sl.description, sl.quantity, sl.line_unit,
		       sl.unit_price, sl.amount, k3.rate_l, sl.tax
		  FROM sl, k3
		UNION ALL
		SELECT 3, NULL, 0, NULL, 'complexity', pg_catalog.format('Complexity level %s: labor x %s', t.complexity, repairsys.fmt_num(k3.factor)),
		       NULL, NULL, NULL, k3.cx, k3.rate_l, pg_catalog.round(k3.cx * k3.rate_l, 2)
		  FROM k3 WHERE k3.has_cx
		UNION ALL
		SELECT 4, NULL, 0, NULL, 'surcharge', pg_catalog.format('Urgency "%s": %s%% of labor', t.urgency, repairsys.fmt_num(k3.pct)),
		       NULL, NULL, NULL, k3.sur, k3.rate_l, pg_catalog.round(k3.sur * k3.rate_l, 2)
		  FROM k3 WHERE k3.has_sur
		UNION ALL
		SELECT 6, pt.sku, pt.price, CASE WHEN pt.covered THEN '1' ELSE '0' END || c.n, c.kind, c.description, c.quantity, c.unit, c.unit_price, c.amount, k3.rate_p, c.tax
		  FROM pt, k3,
		       LATERAL (VALUES ('1', 'part', pg_catalog.format('Part %s (%s)', pt.name, pt.sku), pt.qty, 'pcs', pt.price, pt.amt, pt.tax),
		                       ('2', 'coverage', pg_catalog.format('Product warranty covers part %s (%s)', pt.name, pt.sku), NULL, NULL, NULL, -pt.amt, -pt.tax)
		               ) c(n, kind, description, quantity, unit, unit_price, amount, tax)
		 WHERE c.n = '1' OR pt.covered
		UNION ALL
		SELECT 7, NULL, c.n, NULL, 'coverage', c.description, NULL, NULL, NULL, -c.amt, k3.rate_l, -c.tx
		  FROM k3,
		       LATERAL (VALUES (1, 'Product warranty (until ' || pg_catalog.to_char(k3.warranty_until, 'YYYY-MM-DD')
		                           || ') covers labor, complexity and urgency surcharge', k3.labor + k3.cx + k3.sur, k3.tx_labor),
		                       (2, 'Product warranty covers the call-out fee', k3.callout, k3.tx_call),
		                       (3, 'Product warranty covers travel', k3.travel, k3.tx_travel)) c(n, description, amt, tx)
		 WHERE k3.warranty AND c.amt > 0
		UNION ALL
		SELECT 7, NULL, 0, NULL, 'coverage',
		       pg_catalog.format('Repeat repair within %s of ticket %s: labor is free',
		                         coalesce(t.price_rework_window, repairsys.setting_value('rework_window')), k3.rework),
		       NULL, NULL, NULL, -(k3.labor + k3.cx + k3.sur), k3.rate_l, -k3.tx_labor
		  FROM k3 WHERE NOT k3.warranty AND k3.rework IS NOT NULL AND k3.labor + k3.cx + k3.sur > 0
		UNION ALL
		SELECT 8, NULL, dt.id, c.n, 'discount', 'Discount: ' || dt.description || c.suffix, NULL, NULL, NULL, -c.piece, c.rate, -c.tax
		  FROM dt,
		       LATERAL (VALUES ('1', '', dt.piece_l, dt.rate_l, dt.tax_l), ('2', ' (on parts)', dt.piece_p, dt.rate_p, dt.tax_p)) c(n, suffix, piece, rate, tax)
		 WHERE c.piece > 0)
	SELECT (pg_catalog.row_number() OVER (ORDER BY l.s, l.o1, l.o2, l.o3))::integer, l.kind, l.description, l.quantity, l.unit,
	       l.unit_price, l.amount, l.tax_rate, l.tax_amount
	  FROM lines l
	 ORDER BY l.s, l.o1, l.o2, l.o3;
END;
COMMENT ON FUNCTION repairsys.compute_bill(repairsys.ticket, numeric, numeric, boolean) IS 'Bill lines of a ticket for given labor minutes and travel km: call-out, labor tier slices, complexity, urgency surcharge, travel slices, parts, warranty and rework coverage, discounts; each with its tax';

-- The total of compute_bill()'s lines (amounts and taxes; 0.00 when it has
-- none), figured without the lines: a check that needs only the total (the
-- audit's "bill changed after approval", an estimate's low and high) reads
-- the same prices, coverage, schedules, parts and discounts as
-- compute_bill() but words no line, sorts nothing and numbers nothing, at
-- about half its cost (docs/performance.md, "The audit without the lines").
-- What the lines sum to, by compute_bill()'s own construction: what is left
-- at the labor rate after coverage (left_l, its tax left_tl) and of the parts
-- no warranty covers (left_p, left_tp), less the approved discounts, which
-- take from the first, then from the second, never below zero, and whose
-- rounded taxes never exceed the tax left (compute_bill's k4, dc and dt).
-- test/pgtap/bill_reference.sql checks it against the sum of compute_bill()
-- on every variant it draws.
CREATE FUNCTION repairsys.bill_total(t repairsys.ticket, minutes numeric, km numeric, for_estimate boolean DEFAULT false,
	OUT total numeric)
RETURNS SETOF numeric
LANGUAGE sql STABLE
ROWS 1
BEGIN ATOMIC
	SELECT z.l_fin + z.p_fin
	       + CASE WHEN z.l_fin = 0 THEN 0 ELSE GREATEST(z.left_tl - z.rounded_l, 0) END
	       + CASE WHEN z.p_fin = 0 THEN 0 ELSE GREATEST(z.left_tp - z.rounded_p, 0) END
	       + 0.00
	  FROM (SELECT y.left_tl, y.left_tp,
	               GREATEST(y.left_l - d.upto, 0) AS l_fin,
	               GREATEST(y.left_p - GREATEST(d.upto - y.left_l, 0), 0) AS p_fin,
	               d.rounded_l, d.rounded_p
	          FROM (SELECT CASE WHEN k.warranty THEN 0
	                            WHEN k.rework IS NOT NULL THEN k.callout + k.travel
	                            ELSE k.labor + k.cx + k.sur + k.callout + k.travel END AS left_l,
	                       CASE WHEN k.warranty THEN 0
	                            WHEN k.rework IS NOT NULL THEN k.tx_call + k.tx_travel
	                            ELSE k.tx_lab + pg_catalog.round(k.cx * k.rate_l, 2) + pg_catalog.round(k.sur * k.rate_l, 2)
	                                 + k.tx_call + k.tx_travel END AS left_tl,
	                       p.left_p, p.left_tp, k.rate_l, k.rate_p
	                  FROM (SELECT k2.*,
	                               CASE WHEN k2.pct > 0 AND k2.labor + k2.cx > 0 THEN pg_catalog.round((k2.labor + k2.cx) * k2.pct / 100, 2) ELSE 0 END AS sur
	                          FROM (SELECT k1.*,
	                                       CASE WHEN k1.factor <> 1 AND k1.labor > 0 THEN pg_catalog.round(k1.labor * (k1.factor - 1), 2) ELSE 0 END AS cx
	                                  FROM (SELECT k0.*, la.labor, la.tx_lab, tr.travel, tr.tx_travel,
	                                               CASE WHEN k0.callout > 0 THEN pg_catalog.round(k0.callout * k0.rate_l, 2) ELSE 0 END AS tx_call
	                                          FROM (SELECT * FROM repairsys.bill_prices(t) OFFSET 0) k0,
	                                               -- the schedules' slices summed, each slice's tax rounded as its line's
	                                               LATERAL (SELECT coalesce(sum(l.amount), 0) AS labor, coalesce(sum(pg_catalog.round(l.amount * k0.rate_l, 2)), 0) AS tx_lab
	                                                          FROM repairsys.charge_lines(k0.labor_fee, minutes) l) la,
	                                               LATERAL (SELECT coalesce(sum(l.amount), 0) AS travel, coalesce(sum(pg_catalog.round(l.amount * k0.rate_l, 2)), 0) AS tx_travel
	                                                          FROM repairsys.charge_lines(k0.travel_fee, km) l) tr
	                                        OFFSET 0) k1
	                                OFFSET 0) k2
	                        OFFSET 0) k,
	                       -- the parts no warranty covers, one tax per line as compute_bill's pt
	                       LATERAL (SELECT coalesce(sum(g.amt), 0) AS left_p, coalesce(sum(pg_catalog.round(g.amt * k.rate_p, 2)), 0) AS left_tp
	                                  FROM (SELECT sum(tp.qty) * tp.unit_price AS amt
	                                          FROM repairsys.ticket_part tp
	                                         WHERE tp.ticket_id = t.id AND (tp.state = 'used' OR (for_estimate AND tp.state = 'reserved'))
	                                           AND NOT tp.covered
	                                         GROUP BY tp.sku, tp.unit_price) g) p
	                OFFSET 0) y,
	               -- the approved discounts: how much they take (upto) and the sums
	               -- of their shares' rounded taxes (compute_bill's dc and dt)
	               LATERAL (SELECT coalesce(sum(w.amount), 0) AS upto,
	                               coalesce(sum(pg_catalog.round((GREATEST(y.left_l - (w.upto - w.amount), 0) - GREATEST(y.left_l - w.upto, 0)) * y.rate_l, 2)), 0) AS rounded_l,
	                               coalesce(sum(pg_catalog.round((GREATEST(y.left_p - GREATEST(w.upto - w.amount - y.left_l, 0), 0)
	                                                              - GREATEST(y.left_p - GREATEST(w.upto - y.left_l, 0), 0)) * y.rate_p, 2)), 0) AS rounded_p
	                          FROM (SELECT dd.amount, sum(dd.amount) OVER (ORDER BY dd.id) AS upto
	                                  FROM repairsys.ticket_discount dd
	                                 WHERE dd.ticket_id = t.id AND dd.status = 'approved') w) d) z;
END;
COMMENT ON FUNCTION repairsys.bill_total(repairsys.ticket, numeric, numeric, boolean) IS 'The total (amounts and taxes) of compute_bill()''s lines for the same arguments, 0.00 when there is no line, figured without the lines';

-- The bill of a ticket: its invoice's lines once issued (frozen), else the
-- lines computed from its recorded work.
CREATE FUNCTION repairsys.bill_lines(t repairsys.ticket,
	OUT line_no integer, OUT kind text, OUT description text, OUT quantity numeric, OUT unit text,
	OUT unit_price numeric, OUT amount numeric, OUT tax_rate numeric, OUT tax_amount numeric)
RETURNS SETOF record
LANGUAGE plpgsql STABLE
ROWS 8
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
DECLARE
	inv bigint;
BEGIN
	SELECT i.id INTO inv FROM repairsys.invoice i WHERE i.ticket_id = t.id;
	IF inv IS NOT NULL THEN
		RETURN QUERY SELECT l.line_no, l.kind, l.description, l.quantity::numeric, l.unit, l.unit_price::numeric,
		                    l.amount::numeric, l.tax_rate::numeric, l.tax_amount::numeric
		               FROM repairsys.invoice_line l WHERE l.invoice_id = inv ORDER BY l.line_no;
	ELSE
		RETURN QUERY SELECT * FROM repairsys.compute_bill(t, t.labor_minutes, t.travel_km, false);
	END IF;
END
$$;
COMMENT ON FUNCTION repairsys.bill_lines(repairsys.ticket) IS 'The bill lines of a ticket: its issued invoice''s frozen lines, else computed from its recorded work';

CREATE VIEW repairsys.bill_detail AS
SELECT t.id AS ticket_id, b.line_no, b.kind,
       repairsys.bill_line_text(repairsys.customer_language(t.customer_id), b.description) AS description,
       b.quantity, b.unit, b.unit_price, b.amount, b.tax_rate, b.tax_amount
  FROM repairsys.ticket t
 CROSS JOIN LATERAL repairsys.bill_lines(t) b;
COMMENT ON VIEW repairsys.bill_detail IS 'Itemized bill of every ticket, one row per line; the lines of a ticket sum exactly to bill_summary.total';
COMMENT ON COLUMN repairsys.bill_detail.ticket_id IS 'Ticket';
COMMENT ON COLUMN repairsys.bill_detail.line_no IS 'Line number, from 1';
COMMENT ON COLUMN repairsys.bill_detail.kind IS 'callout, labor, complexity, surcharge, travel, part, coverage or discount';
COMMENT ON COLUMN repairsys.bill_detail.description IS 'What the line charges for, in words a customer can check, in the customer''s language (customer_language)';
COMMENT ON COLUMN repairsys.bill_detail.quantity IS 'Quantity (minutes, km, pieces, visits); NULL for adjustments';
COMMENT ON COLUMN repairsys.bill_detail.unit IS 'Unit of the quantity: min, km, pcs, visit';
COMMENT ON COLUMN repairsys.bill_detail.unit_price IS 'Price per unit';
COMMENT ON COLUMN repairsys.bill_detail.amount IS 'Amount before tax (negative for coverage and discounts)';
COMMENT ON COLUMN repairsys.bill_detail.tax_rate IS 'Tax rate of the line (fraction)';
COMMENT ON COLUMN repairsys.bill_detail.tax_amount IS 'Tax of the line, rounded to cents half away from zero';

CREATE VIEW repairsys.bill_summary AS
SELECT t.id AS ticket_id,
       coalesce(s.labor, 0.00) AS labor,
       coalesce(s.parts, 0.00) AS parts,
       coalesce(s.travel, 0.00) AS travel,
       coalesce(s.surcharges, 0.00) AS surcharges,
       coalesce(s.coverage, 0.00) AS coverage,
       coalesce(s.discounts, 0.00) AS discounts,
       coalesce(s.subtotal, 0.00) AS subtotal,
       coalesce(s.tax, 0.00) AS tax,
       coalesce(s.subtotal, 0.00) + coalesce(s.tax, 0.00) AS total,
       coalesce(p.paid, 0.00) AS paid,
       coalesce(s.subtotal, 0.00) + coalesce(s.tax, 0.00) - coalesce(p.paid, 0.00) AS balance,
       coalesce(i.currency, repairsys.setting_value('currency')) AS currency,
       i.invoice_no,
       i.issued_at AS invoiced_at
  FROM repairsys.ticket t
  LEFT JOIN LATERAL (
	SELECT sum(b.amount) FILTER (WHERE b.kind IN ('labor', 'complexity')) AS labor,
	       sum(b.amount) FILTER (WHERE b.kind = 'part') AS parts,
	       sum(b.amount) FILTER (WHERE b.kind = 'travel') AS travel,
	       sum(b.amount) FILTER (WHERE b.kind IN ('surcharge', 'callout')) AS surcharges,
	       sum(b.amount) FILTER (WHERE b.kind = 'coverage') AS coverage,
	       sum(b.amount) FILTER (WHERE b.kind = 'discount') AS discounts,
	       sum(b.amount) AS subtotal,
	       sum(b.tax_amount) AS tax
	  FROM repairsys.bill_lines(t) b) s ON true
  LEFT JOIN repairsys.invoice i ON i.ticket_id = t.id
  LEFT JOIN LATERAL (SELECT sum(x.amount) AS paid FROM repairsys.payment x WHERE x.invoice_id = i.id) p ON true;
COMMENT ON VIEW repairsys.bill_summary IS 'Bill of every ticket in one row: parts of the total, tax, paid and balance';
COMMENT ON COLUMN repairsys.bill_summary.ticket_id IS 'Ticket';
COMMENT ON COLUMN repairsys.bill_summary.labor IS 'Labor lines and the complexity adjustment';
COMMENT ON COLUMN repairsys.bill_summary.parts IS 'Part lines';
COMMENT ON COLUMN repairsys.bill_summary.travel IS 'Travel lines';
COMMENT ON COLUMN repairsys.bill_summary.surcharges IS 'Call-out fee and urgency surcharge';
COMMENT ON COLUMN repairsys.bill_summary.coverage IS 'Warranty and repeat-repair coverage (negative)';
COMMENT ON COLUMN repairsys.bill_summary.discounts IS 'Discounts (negative)';
COMMENT ON COLUMN repairsys.bill_summary.subtotal IS 'Sum of the line amounts before tax';
COMMENT ON COLUMN repairsys.bill_summary.tax IS 'Sum of the line taxes';
COMMENT ON COLUMN repairsys.bill_summary.total IS 'subtotal + tax: what the customer owes';
COMMENT ON COLUMN repairsys.bill_summary.paid IS 'Payments recorded against the invoice';
COMMENT ON COLUMN repairsys.bill_summary.balance IS 'total - paid';
COMMENT ON COLUMN repairsys.bill_summary.currency IS 'Currency of the amounts';
COMMENT ON COLUMN repairsys.bill_summary.invoice_no IS 'Number of the issued invoice (NULL: not issued)';
COMMENT ON COLUMN repairsys.bill_summary.invoiced_at IS 'When the invoice was issued';

------------------------------------------------------------------------------
-- Estimate and approval
------------------------------------------------------------------------------
CREATE FUNCTION repairsys.ticket_row(ticket_id bigint, lock boolean DEFAULT false)
RETURNS repairsys.ticket
LANGUAGE plpgsql VOLATILE
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
DECLARE
	t repairsys.ticket;
BEGIN
	IF lock THEN
		SELECT * INTO t FROM repairsys.ticket x WHERE x.id = ticket_row.ticket_id FOR UPDATE;
	ELSE
		SELECT * INTO t FROM repairsys.ticket x WHERE x.id = ticket_row.ticket_id;
	END IF;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'ticket % does not exist', ticket_id USING ERRCODE = '22023';
	END IF;
	RETURN t;
END
$$;
COMMENT ON FUNCTION repairsys.ticket_row(bigint, boolean) IS 'The row of a ticket, optionally locked; unknown ticket: 22023';

-- Travel distance of an estimate: what was recorded, else the great circle
-- from the service center to the repair location.
CREATE FUNCTION repairsys.estimate_km(t repairsys.ticket)
RETURNS numeric
LANGUAGE plpgsql STABLE
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
BEGIN
	RETURN coalesce(t.travel_km,
	                (SELECT round(repairsys.haversine_km(c.lat, c.lon, t.lat, t.lon)::numeric, 1)
	                   FROM repairsys.service_center c WHERE c.id = t.service_center_id));
END
$$;
COMMENT ON FUNCTION repairsys.estimate_km(repairsys.ticket) IS 'Travel km of an estimate: the recorded km, else the great-circle distance from the service center to the ticket''s location rounded to 0.1 km';

CREATE FUNCTION repairsys.estimate(ticket_id bigint)
RETURNS TABLE (scenario text, line_no integer, kind text, description text, quantity numeric, unit text,
               unit_price numeric, amount numeric, tax_rate numeric, tax_amount numeric, scenario_total numeric)
LANGUAGE plpgsql STABLE
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
DECLARE
	t  repairsys.ticket;
	st repairsys.service_type;
BEGIN
	SELECT * INTO t FROM repairsys.ticket x WHERE x.id = estimate.ticket_id;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'ticket % does not exist', estimate.ticket_id USING ERRCODE = '22023';
	END IF;
	SELECT * INTO st FROM repairsys.service_type s WHERE s.code = t.service_type;
	RETURN QUERY
	SELECT s.scenario, b.line_no, b.kind, b.description, b.quantity, b.unit, b.unit_price, b.amount, b.tax_rate, b.tax_amount,
	       sum(b.amount + b.tax_amount) OVER (PARTITION BY s.scenario)
	  FROM (VALUES (1, 'low', coalesce(st.est_minutes_low, st.est_minutes_high, 0)),
	               (2, 'high', coalesce(st.est_minutes_high, st.est_minutes_low, 0))) AS s(o, scenario, minutes)
	 CROSS JOIN LATERAL repairsys.compute_bill(t, s.minutes, repairsys.estimate_km(t), true) b
	 ORDER BY s.o, b.line_no;
END
$$;
COMMENT ON FUNCTION repairsys.estimate(bigint) IS 'Estimate of a ticket before work (预估费用): the lines and total of a low and a high scenario, from the service type''s estimated minutes, complexity, urgency, travel, call-out, reserved parts and warranty';

-- BEFORE UPDATE on ticket: approving the estimate (estimate_approved_at set
-- for the first time, by approve_estimate() or a plain UPDATE) snapshots every
-- price input; the snapshot is never changed afterwards.
CREATE FUNCTION repairsys.ticket_price_snapshot_trg()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
DECLARE
	st repairsys.service_type;
	pv repairsys.service_price;
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
		-- the published prices in force when the ticket was opened (what
		-- its estimate showed), whatever version is in force now
		pv := repairsys.price_at(NEW.service_type, NEW.opened_at);
		NEW.estimate_approved_by := CURRENT_USER;
		NEW.price_labor_fee := pv.labor_fee;
		NEW.price_travel_fee := pv.travel_fee;
		NEW.price_callout_fee := pv.callout_fee;
		NEW.price_complexity_factor := (SELECT c.factor FROM repairsys.complexity_rule c WHERE c.level = NEW.complexity);
		NEW.price_surcharge_pct := (SELECT u.surcharge_pct FROM repairsys.urgency_rule u WHERE u.urgency = NEW.urgency);
		NEW.price_tax_rate_labor := repairsys.setting_value('tax_rate_labor')::numeric;
		NEW.price_tax_rate_parts := repairsys.setting_value('tax_rate_parts')::numeric;
		NEW.price_rework_window := repairsys.setting_value('rework_window');
		SELECT b.total INTO NEW.approved_estimate_low
		  FROM repairsys.bill_total(NEW, coalesce(st.est_minutes_low, st.est_minutes_high, 0), repairsys.estimate_km(NEW), true) b;
		SELECT b.total INTO NEW.approved_estimate_high
		  FROM repairsys.bill_total(NEW, coalesce(st.est_minutes_high, st.est_minutes_low, 0), repairsys.estimate_km(NEW), true) b;
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
COMMENT ON FUNCTION repairsys.ticket_price_snapshot_trg() IS 'BEFORE INSERT OR UPDATE trigger of ticket: snapshots the price inputs (the service type''s published version in force when the ticket was opened, the rules and settings of now) and the estimate totals (and who approved) when the estimate is approved; refuses changes of the snapshot (428C9) and of an approval (23514), and a new ticket that comes approved or with a snapshot (428C9, but from the table owner: restore)';

------------------------------------------------------------------------------
-- The facts a bill depends on
------------------------------------------------------------------------------
-- Whether a ticket's bill is settled in the customer's eyes: its estimate was
-- approved (the customer agreed to prices for this unit, warranty and
-- service) or it was invoiced (the bill is frozen).
CREATE FUNCTION repairsys.bill_is_agreed(t repairsys.ticket)
RETURNS boolean
LANGUAGE sql STABLE
SET search_path = repairsys, pg_catalog, pg_temp
BEGIN ATOMIC
	SELECT t.estimate_approved_at IS NOT NULL
	       OR EXISTS (SELECT 1 FROM repairsys.invoice i WHERE i.ticket_id = t.id);
END;
COMMENT ON FUNCTION repairsys.bill_is_agreed(repairsys.ticket) IS 'True when the ticket''s estimate was approved or the ticket was invoiced: the facts its bill depends on are then frozen';

-- BEFORE UPDATE OF the facts a bill depends on: the asset always belongs to
-- the ticket's customer (as ticket_open_trg checks on INSERT); and once the
-- bill is agreed (bill_is_agreed) the customer, the asset, the warranty flag,
-- the service type, the complexity and the urgency do not change (23514).
-- For every role, the table owner included (a DBA who must disables the
-- trigger, knowingly).  The decision: refuse, rather than keep the approved
-- bill and report the change, because a bill that silently stops matching its
-- ticket is what billing_audit exists to catch, not a state to allow; a wrong
-- ticket is cancelled and a new one opened.
-- SECURITY DEFINER (a trigger function: nobody can call it): whether the
-- ticket was invoiced is read with the owner's rights, since a technician
-- (who may change warranty_void) may not read invoices; the message does not
-- say which of approval or invoice froze the bill.
CREATE FUNCTION repairsys.ticket_bill_facts_trg()
RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
DECLARE
	changed text[] := ARRAY[]::text[];
BEGIN
	IF NEW.asset_id IS NOT NULL
	   AND (NEW.asset_id IS DISTINCT FROM OLD.asset_id OR NEW.customer_id IS DISTINCT FROM OLD.customer_id)
	   AND NOT EXISTS (SELECT 1 FROM repairsys.asset a WHERE a.id = NEW.asset_id AND a.customer_id = NEW.customer_id)
	   AND EXISTS (SELECT 1 FROM repairsys.asset a WHERE a.id = NEW.asset_id) THEN
		RAISE EXCEPTION 'asset % does not belong to customer %', NEW.asset_id, NEW.customer_id
			USING ERRCODE = '23514', DETAIL = pg_catalog.format('Ticket %s was not changed.', OLD.id);
	END IF;
	IF NEW.customer_id IS DISTINCT FROM OLD.customer_id THEN changed := changed || 'customer_id'::text; END IF;
	IF NEW.asset_id IS DISTINCT FROM OLD.asset_id THEN changed := changed || 'asset_id'::text; END IF;
	IF NEW.warranty_void IS DISTINCT FROM OLD.warranty_void THEN changed := changed || 'warranty_void'::text; END IF;
	IF NEW.service_type IS DISTINCT FROM OLD.service_type THEN changed := changed || 'service_type'::text; END IF;
	IF NEW.complexity IS DISTINCT FROM OLD.complexity THEN changed := changed || 'complexity'::text; END IF;
	IF NEW.urgency IS DISTINCT FROM OLD.urgency THEN changed := changed || 'urgency'::text; END IF;
	IF pg_catalog.cardinality(changed) > 0 AND repairsys.bill_is_agreed(OLD) THEN
		RAISE EXCEPTION 'cannot change % of ticket %: its bill was agreed', pg_catalog.array_to_string(changed, ', '), OLD.id
			USING ERRCODE = '23514',
			      DETAIL = 'Its estimate was approved or it was invoiced: the customer, unit, warranty and service of an agreed bill never change.',
			      HINT = 'Cancel the ticket and open a new one.';
	END IF;
	RETURN NEW;
END
$$;
COMMENT ON FUNCTION repairsys.ticket_bill_facts_trg() IS 'BEFORE UPDATE trigger of ticket (SECURITY DEFINER, to see invoices): the asset belongs to the ticket''s customer (23514); once the estimate is approved or the ticket invoiced, customer, asset, warranty_void, service type, complexity and urgency are frozen (23514), for every role';

-- AFTER UPDATE of the warranty flag or the asset (allowed while the bill is
-- not agreed): the coverage of the ticket's parts follows the warranty rules.
CREATE FUNCTION repairsys.ticket_part_coverage_sync_trg()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
BEGIN
	UPDATE repairsys.ticket_part tp SET covered = repairsys.under_warranty(NEW)
	 WHERE tp.ticket_id = NEW.id AND tp.covered IS DISTINCT FROM repairsys.under_warranty(NEW);
	RETURN NULL;
END
$$;
COMMENT ON FUNCTION repairsys.ticket_part_coverage_sync_trg() IS 'AFTER UPDATE trigger of ticket: when warranty_void or the asset changes, the ticket''s parts are covered exactly when the ticket is under warranty';

-- BEFORE INSERT OR UPDATE OF covered, unit_price, ticket_id on ticket_part:
-- the two facts of a part line its bill depends on are set by repairsys,
-- never by a caller (428C9):
--   covered     the warranty rule's answer for the ticket (under_warranty).
--               An INSERT that claims coverage the ticket does not have is
--               refused, otherwise coverage is computed (a part of a warranty
--               ticket is covered whatever the row says); an UPDATE, or a
--               move to another ticket, may only leave it at that answer.
--   unit_price  the part's list price when the line is made (reserve_part
--               takes it so): an INSERT at another price is refused, except a
--               'released' line (the unbilled rest of a split line, which
--               keeps the price of the line it came from); an UPDATE never
--               changes it.
-- For every role but the table owner, whose rows are taken as they are
-- (restore).  A ticket the caller cannot see is left to row-level security
-- and the foreign key.
CREATE FUNCTION repairsys.ticket_part_snapshot_trg()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
DECLARE
	t     repairsys.ticket;
	rule  boolean;
	price numeric;
BEGIN
	IF repairsys.is_table_owner(TG_RELID) THEN
		RETURN NEW;
	END IF;
	SELECT * INTO t FROM repairsys.ticket x WHERE x.id = NEW.ticket_id;
	IF NOT FOUND THEN
		RETURN NEW;
	END IF;
	IF TG_OP = 'INSERT' AND NEW.state <> 'released' THEN
		SELECT p.unit_price INTO price FROM repairsys.part p WHERE p.sku = NEW.sku;
		IF FOUND AND NEW.unit_price IS DISTINCT FROM price THEN
			RAISE EXCEPTION 'column "unit_price" of ticket_part is set by repairsys'
				USING ERRCODE = '428C9',
				      DETAIL = pg_catalog.format('A part line is priced at the list price of part %s, %s.', NEW.sku, price),
				      HINT = 'Use repairsys.reserve_part(), or give a discount (ticket_discount).';
		END IF;
	ELSIF TG_OP = 'UPDATE' AND NEW.unit_price IS DISTINCT FROM OLD.unit_price THEN
		RAISE EXCEPTION 'column "unit_price" of ticket_part is set by repairsys'
			USING ERRCODE = '428C9', DETAIL = 'The price of a part line is its snapshot when the line was made.';
	END IF;
	rule := repairsys.under_warranty(t);
	IF TG_OP = 'INSERT' AND NOT (NEW.covered AND NOT rule) THEN
		NEW.covered := rule;
	ELSIF (TG_OP = 'INSERT' OR NEW.covered IS DISTINCT FROM OLD.covered OR NEW.ticket_id IS DISTINCT FROM OLD.ticket_id)
	      AND NEW.covered IS DISTINCT FROM rule THEN
		RAISE EXCEPTION 'column "covered" of ticket_part is set by repairsys'
			USING ERRCODE = '428C9',
			      DETAIL = pg_catalog.format('Ticket %s is %sunder warranty, so its parts are %scovered.', t.id,
			                                 CASE WHEN rule THEN '' ELSE 'not ' END, CASE WHEN rule THEN '' ELSE 'not ' END);
	END IF;
	RETURN NEW;
END
$$;
COMMENT ON FUNCTION repairsys.ticket_part_snapshot_trg() IS 'BEFORE INSERT OR UPDATE trigger of ticket_part: covered is the ticket''s warranty (computed on INSERT, a claim against it refused, 428C9); unit_price is the part''s list price on INSERT (but for released lines) and never changes (428C9); the table owner''s rows are taken as they are';
CREATE TRIGGER ticket_part_05_snapshot
	BEFORE INSERT OR UPDATE OF covered, unit_price, ticket_id ON repairsys.ticket_part
	FOR EACH ROW EXECUTE FUNCTION repairsys.ticket_part_snapshot_trg();

-- BEFORE UPDATE OF customer_id, warranty_until on asset: an asset stays with
-- the customer of its tickets, and its warranty does not change under a bill
-- that was agreed when the change would turn its coverage (23514), for every
-- role but the table owner.  (The same decision as ticket_bill_facts_trg.)
CREATE FUNCTION repairsys.asset_bill_facts_trg()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
DECLARE
	tid bigint;
BEGIN
	IF repairsys.is_table_owner(TG_RELID) THEN
		RETURN NEW;
	END IF;
	IF NEW.customer_id IS DISTINCT FROM OLD.customer_id THEN
		SELECT t.id INTO tid FROM repairsys.ticket t
		 WHERE t.asset_id = OLD.id AND t.customer_id IS DISTINCT FROM NEW.customer_id
		 ORDER BY t.id LIMIT 1;
		IF FOUND THEN
			RAISE EXCEPTION 'asset % cannot move to customer %: ticket % of customer % is for it', OLD.id, NEW.customer_id,
				tid, OLD.customer_id
				USING ERRCODE = '23514';
		END IF;
	END IF;
	IF NEW.warranty_until IS DISTINCT FROM OLD.warranty_until THEN
		SELECT t.id INTO tid
		  FROM repairsys.ticket t
		  LEFT JOIN repairsys.service_center c ON c.id = t.service_center_id
		  CROSS JOIN LATERAL (SELECT (t.opened_at AT TIME ZONE coalesce(c.time_zone, pg_catalog.current_setting('TimeZone')))::date AS opened_on) d
		 WHERE t.asset_id = OLD.id AND NOT t.warranty_void AND repairsys.bill_is_agreed(t)
		   AND coalesce(OLD.warranty_until >= d.opened_on, false) <> coalesce(NEW.warranty_until >= d.opened_on, false)
		 ORDER BY t.id LIMIT 1;
		IF FOUND THEN
			RAISE EXCEPTION 'cannot change the warranty of asset %: the agreed bill of ticket % depends on it', OLD.id, tid
				USING ERRCODE = '23514',
				      DETAIL = 'The change would turn the warranty coverage of a ticket whose estimate was approved or that was invoiced.';
		END IF;
	END IF;
	RETURN NEW;
END
$$;
COMMENT ON FUNCTION repairsys.asset_bill_facts_trg() IS 'BEFORE UPDATE trigger of asset: refuses (23514) moving an asset away from the customer of its tickets and a warranty change that would turn the coverage of an approved or invoiced ticket; the table owner may';
CREATE TRIGGER asset_10_bill_facts
	BEFORE UPDATE OF customer_id, warranty_until ON repairsys.asset
	FOR EACH ROW EXECUTE FUNCTION repairsys.asset_bill_facts_trg();

-- The bill a discount is measured against: the ticket's bill before discounts
-- and tax (what is left after coverage), from the work recorded; before labor
-- is recorded, the high estimate's (with the reserved parts).
CREATE FUNCTION repairsys.discount_basis(t repairsys.ticket)
RETURNS numeric
LANGUAGE plpgsql STABLE
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
DECLARE
	st   repairsys.service_type;
	bill numeric;
BEGIN
	SELECT * INTO st FROM repairsys.service_type s WHERE s.code = t.service_type;
	SELECT coalesce(sum(b.amount), 0) INTO bill
	  FROM repairsys.compute_bill(t, coalesce(t.labor_minutes, st.est_minutes_high, st.est_minutes_low, 0),
	                              coalesce(t.travel_km, repairsys.estimate_km(t)), t.labor_minutes IS NULL) b
	 WHERE b.kind <> 'discount';
	RETURN bill;
END
$$;
COMMENT ON FUNCTION repairsys.discount_basis(repairsys.ticket) IS 'The bill a discount is measured against: the ticket''s bill before discounts and tax, after coverage (before labor is recorded: the high estimate''s)';

-- Approval authority (docs/billing.md; the table is 29_tables_approval.sql,
-- the rules 44_approval.sql): whether role who may give or approve
-- discounts that take total off a bill whose basis (discount_basis) is
-- basis: some row of approval_limit of a role whose rights who has
-- (USAGE: directly or through inherited membership; a superuser has every
-- role's) allows both the amount and the percent (NULL: no limit).  An
-- unknown role may approve nothing.
CREATE FUNCTION repairsys.may_grant_discount(who name, total numeric, basis numeric)
RETURNS boolean
LANGUAGE sql STABLE
SET search_path = repairsys, pg_catalog, pg_temp
BEGIN ATOMIC
	SELECT EXISTS (
		SELECT 1
		  FROM repairsys.approval_limit l
		  JOIN pg_catalog.pg_roles r ON r.rolname = l.role
		  JOIN pg_catalog.pg_roles w ON w.rolname = may_grant_discount.who
		 WHERE pg_catalog.pg_has_role(w.oid, r.oid, 'USAGE')
		   AND (l.max_amount IS NULL OR total <= l.max_amount)
		   AND (l.max_pct IS NULL OR total * 100 <= l.max_pct * basis));
END;
COMMENT ON FUNCTION repairsys.may_grant_discount(name, numeric, numeric) IS 'Approval authority: true when a row of approval_limit of a role whose rights the role has (pg_has_role USAGE) allows discounts totalling total on a bill (before discounts and tax) of basis, in amount and in percent (NULL: no limit)';

-- BEFORE INSERT OR UPDATE on ticket_discount: no discount on an invoiced
-- ticket (its bill is frozen), and the discounts of a ticket that are not
-- rejected (approved or pending) never exceed its bill before discounts
-- (discount_basis), 23514, for every role but the table owner: checked when a
-- discount is given and again when it is approved.  Rejecting a pending
-- discount changes no bill and is never refused here.  NaN and amounts not above zero are the
-- table's CHECK constraints'.  Who may approve what: 44_approval.sql.
CREATE FUNCTION repairsys.ticket_discount_trg()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
DECLARE
	t      repairsys.ticket;
	bill   numeric;
	others numeric;
BEGIN
	IF repairsys.is_table_owner(TG_RELID)
	   OR NEW.amount IS NULL OR NEW.amount = 'NaN' OR NEW.amount <= 0 THEN
		RETURN NEW;
	END IF;
	IF TG_OP = 'UPDATE' AND NEW.status = 'rejected' AND OLD.status IS DISTINCT FROM 'rejected' THEN
		RETURN NEW;
	END IF;
	SELECT * INTO t FROM repairsys.ticket x WHERE x.id = NEW.ticket_id FOR UPDATE;
	IF NOT FOUND THEN
		RETURN NEW;		-- the foreign key names it
	END IF;
	IF EXISTS (SELECT 1 FROM repairsys.invoice i WHERE i.ticket_id = t.id) THEN
		RAISE EXCEPTION 'cannot discount ticket %: it was invoiced', t.id
			USING ERRCODE = '23514', DETAIL = 'An issued invoice never changes.';
	END IF;
	bill := repairsys.discount_basis(t);
	SELECT coalesce(sum(x.amount), 0) INTO others
	  FROM repairsys.ticket_discount x
	 WHERE x.ticket_id = t.id AND x.status <> 'rejected' AND (TG_OP = 'INSERT' OR x.id <> OLD.id);
	IF others + NEW.amount > bill THEN
		RAISE EXCEPTION 'a discount of % on ticket % would exceed its bill', NEW.amount, t.id
			USING ERRCODE = '23514',
			      DETAIL = pg_catalog.format('Bill before discounts and tax %s, discounts so far %s.', bill, others);
	END IF;
	RETURN NEW;
END
$$;
COMMENT ON FUNCTION repairsys.ticket_discount_trg() IS 'BEFORE INSERT OR UPDATE trigger of ticket_discount: refuses (23514) a discount on an invoiced ticket and discounts not rejected above the bill before discounts (checked when given and when approved; a rejection passes); the table owner may';
CREATE TRIGGER ticket_discount_10_rules
	BEFORE INSERT OR UPDATE ON repairsys.ticket_discount
	FOR EACH ROW EXECUTE FUNCTION repairsys.ticket_discount_trg();

-- approve_estimate(ticket, revision): the customer's approval of the revision
-- they were shown (estimate_revision; revision 1 is the estimate before work,
-- estimate(), recorded when it is approved).  Refused (23514) when it is not
-- the latest revision any more (a revision was made since: the customer must
-- see it first), was already approved, or the ticket is no longer open; an
-- unknown revision is 22023.  With the caller's rights: a customer approves
-- only their own tickets (row-level security), by the same route a plain
-- UPDATE takes (the triggers of ticket and estimate_revision keep the rules).
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

-- approve_estimate(ticket): approves the latest revision as it stood when the
-- call began (creating revision 1 from estimate() when none exists); a
-- revision made while the call waits for the ticket's lock makes it refuse
-- (23514) rather than approve what the customer was not shown.
CREATE FUNCTION repairsys.approve_estimate(ticket_id bigint, OUT low_total numeric, OUT high_total numeric)
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

------------------------------------------------------------------------------
-- Invoices, payments, installments
------------------------------------------------------------------------------
-- SECURITY DEFINER: invoices and their lines are written only here (no role
-- holds INSERT on them; docs/security.md), so that a bill is frozen exactly as
-- compute_bill() makes it.  Callable by the admin and the dispatcher, who see
-- every ticket anyway.
CREATE FUNCTION repairsys.issue_invoice(ticket_id bigint)
RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
DECLARE
	t     repairsys.ticket := repairsys.ticket_row(ticket_id, true);
	inv   repairsys.invoice;
BEGIN
	SELECT * INTO inv FROM repairsys.invoice i WHERE i.ticket_id = t.id;
	IF FOUND THEN
		RAISE EXCEPTION 'ticket % already has invoice %', t.id, inv.invoice_no
			USING ERRCODE = '23514', DETAIL = 'An issued invoice never changes; issue a credit note outside repairsys to correct it.';
	END IF;
	IF t.status_role <> 'resolved' THEN
		RAISE EXCEPTION 'cannot invoice ticket % in status "%"', t.id, t.status
			USING ERRCODE = '23514', DETAIL = 'A ticket is invoiced once it is resolved.';
	END IF;
	-- the lines computed once; the invoice and its lines written together
	WITH lines AS (
		SELECT * FROM repairsys.compute_bill(t, t.labor_minutes, t.travel_km, false)
	), head AS (
		INSERT INTO repairsys.invoice (ticket_id, total, currency)
		SELECT t.id, coalesce((SELECT sum(l.amount + l.tax_amount) FROM lines l), 0), repairsys.setting_value('currency')
		RETURNING *
	), body AS (
		INSERT INTO repairsys.invoice_line (invoice_id, line_no, kind, description, quantity, unit, unit_price, amount, tax_rate, tax_amount)
		SELECT h.id, l.line_no, l.kind, l.description, l.quantity, l.unit, l.unit_price, l.amount, l.tax_rate, l.tax_amount
		  FROM lines l CROSS JOIN head h
	)
	SELECT * INTO inv FROM head;
	RETURN inv.id;
END
$$;
COMMENT ON FUNCTION repairsys.issue_invoice(bigint) IS 'Freezes the bill of a resolved ticket into invoice and invoice_line (numbered INV-<8-digit invoice id>); one invoice per ticket; returns the invoice id; SECURITY DEFINER, the only writer of invoices (admin, dispatcher)';

-- The row of an invoice, after taking the lock that serializes the money
-- written against it (payments, installment plans).  An advisory lock: the
-- append-only invoice row cannot be locked FOR UPDATE by roles without UPDATE.
-- Unknown invoice: 22023.
--
-- The lock serializes, but at REPEATABLE READ whatever the caller reads after
-- it comes from the transaction's snapshot, taken before the lock was
-- granted: a payment or a plan committed meanwhile would be missed (two
-- payments could together exceed the total, two plans be written).  READ
-- COMMITTED reads afresh after the lock; SERIALIZABLE aborts one of two such
-- transactions (40001).  So every writer of money refuses REPEATABLE READ
-- here, in the one place they all go through: 25000.
CREATE FUNCTION repairsys.lock_invoice(invoice_id bigint)
RETURNS repairsys.invoice
LANGUAGE plpgsql VOLATILE
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
DECLARE
	inv repairsys.invoice;
BEGIN
	IF pg_catalog.current_setting('transaction_isolation') = 'repeatable read' THEN
		RAISE EXCEPTION 'money cannot be written against an invoice at isolation level REPEATABLE READ'
			USING ERRCODE = '25000',
			      DETAIL = 'The transaction''s snapshot predates the invoice lock: it could miss a payment or an installment plan committed concurrently.',
			      HINT = 'Run it at READ COMMITTED or SERIALIZABLE.';
	END IF;
	PERFORM pg_catalog.pg_advisory_xact_lock(1381186899, pg_catalog.hashint8(lock_invoice.invoice_id));
	SELECT * INTO inv FROM repairsys.invoice i WHERE i.id = lock_invoice.invoice_id;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'invoice % does not exist', lock_invoice.invoice_id USING ERRCODE = '22023';
	END IF;
	RETURN inv;
END
$$;
COMMENT ON FUNCTION repairsys.lock_invoice(bigint) IS 'Locks an invoice for the money written against it (transaction-level advisory lock) and returns its row; unknown invoice: 22023; at REPEATABLE READ: 25000';

-- The rules of a payment about to be written against a locked invoice
-- (lock_invoice): a retry, a key misused, the balance.  Returns the id of the
-- earlier payment when this one is a retry of it (same invoice, key, method
-- and amount), NULL when it is new; refuses with 23514 a key already used for
-- another payment of the invoice, and a payment over the balance.  Keys are
-- per invoice, so what is found here is the caller's own invoice's business.
CREATE FUNCTION repairsys.payment_admit(inv repairsys.invoice, method text, amount numeric, idempotency_key text)
RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
DECLARE
	prev repairsys.payment;
	paid numeric;
BEGIN
	SELECT * INTO prev FROM repairsys.payment p
	 WHERE p.invoice_id = inv.id AND p.idempotency_key = payment_admit.idempotency_key;
	IF FOUND THEN
		IF prev.method = payment_admit.method AND prev.amount = payment_admit.amount THEN
			RETURN prev.id;
		END IF;
		RAISE EXCEPTION 'idempotency key "%" was already used for another payment of invoice %', idempotency_key, inv.invoice_no
			USING ERRCODE = '23514',
			      DETAIL = pg_catalog.format('Payment %s: %s %s.', prev.id, prev.amount, prev.method);
	END IF;
	SELECT coalesce(sum(p.amount), 0) INTO paid FROM repairsys.payment p WHERE p.invoice_id = inv.id;
	IF paid + amount > inv.total THEN
		RAISE EXCEPTION 'payment of % would exceed the balance of invoice %', amount, inv.invoice_no
			USING ERRCODE = '23514',
			      DETAIL = pg_catalog.format('Total %s, paid %s, balance %s.', inv.total, paid, inv.total - paid);
	END IF;
	RETURN NULL;
END
$$;
COMMENT ON FUNCTION repairsys.payment_admit(repairsys.invoice, text, numeric, text) IS 'The rules of a new payment against a locked invoice: the earlier payment''s id for a retry (same key, method, amount), NULL for a new one; 23514 for a key used for another payment of the invoice or a payment over the balance';

CREATE FUNCTION repairsys.record_payment(invoice_id bigint, method text, amount numeric, idempotency_key text)
RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
DECLARE
	inv  repairsys.invoice;
	prev bigint;
	id   bigint;
BEGIN
	IF method IS NULL OR method NOT IN ('wechat', 'alipay', 'card', 'bank_transfer', 'cash') THEN
		RAISE EXCEPTION 'invalid payment method "%"', method
			USING ERRCODE = '22023', HINT = 'The methods are wechat, alipay, card, bank_transfer and cash.';
	END IF;
	-- (NaN is above every number, and equal to its rounding: named first)
	IF amount IS NULL OR amount = 'NaN' OR amount IN ('Infinity', '-Infinity') OR amount <= 0 OR amount <> round(amount, 2) THEN
		RAISE EXCEPTION 'payment amount must be positive with at most 2 decimals' USING ERRCODE = '22023';
	END IF;
	IF idempotency_key IS NULL OR idempotency_key = '' THEN
		RAISE EXCEPTION 'a payment needs an idempotency key' USING ERRCODE = '22023';
	END IF;
	-- payments of one invoice, one at a time (refused at REPEATABLE READ)
	inv := repairsys.lock_invoice(record_payment.invoice_id);
	-- a retry: the same key returns the payment it recorded
	prev := repairsys.payment_admit(inv, method, amount, idempotency_key);
	IF prev IS NOT NULL THEN
		RETURN prev;
	END IF;
	-- (the table's trigger checks again, under the same lock, for roles
	-- other than the owner: it finds what was found here)
	INSERT INTO repairsys.payment (invoice_id, method, amount, idempotency_key)
	VALUES (inv.id, method, amount, idempotency_key)
	RETURNING payment.id INTO id;
	RETURN id;
END
$$;
COMMENT ON FUNCTION repairsys.record_payment(bigint, text, numeric, text) IS 'Records a payment (wechat, alipay, card, bank_transfer, cash) idempotently on its key (per invoice): a retry returns the first payment''s id; refuses a bad method, amount (NaN, infinite, not positive, more than 2 decimals) or key (22023) and overpayment (23514); returns the payment id';

-- BEFORE INSERT on payment: a plain INSERT (an application, a BI tool, a
-- portal writing the table) gets the rules of record_payment(): a positive
-- finite amount (the column keeps 2 decimals), the invoice locked as
-- lock_invoice() locks it (refused at REPEATABLE READ, 25000), no payment
-- over the balance (23514), and idempotency: a retry of a payment (same
-- invoice, key, method and amount) writes nothing (the INSERT reports 0
-- rows), the same key for another payment is refused (23514); paid_at is not
-- in the future nor before the invoice.  For every role but the table owner,
-- whose rows (restore, import) are taken as they are.  An invoice the caller
-- cannot see is left to row-level security (42501) and the foreign key.
CREATE FUNCTION repairsys.payment_rules_trg()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
DECLARE
	inv repairsys.invoice;
BEGIN
	IF repairsys.is_table_owner(TG_RELID) THEN
		RETURN NEW;
	END IF;
	IF NEW.amount IS NULL OR NEW.amount = 'NaN' OR NEW.amount <= 0 THEN
		RAISE EXCEPTION 'payment amount must be positive with at most 2 decimals'
			USING ERRCODE = '23514', DETAIL = pg_catalog.format('The amount given is %s.', coalesce(NEW.amount::text, 'NULL'));
	END IF;
	IF NOT EXISTS (SELECT 1 FROM repairsys.invoice i WHERE i.id = NEW.invoice_id) THEN
		RETURN NEW;
	END IF;
	inv := repairsys.lock_invoice(NEW.invoice_id);
	IF NEW.paid_at > pg_catalog.now() OR NEW.paid_at < inv.issued_at THEN
		RAISE EXCEPTION 'a payment of invoice % cannot be dated before the invoice or in the future', inv.invoice_no
			USING ERRCODE = '23514', DETAIL = 'A payment is made after its invoice was issued, and is recorded when it was made or later.';
	END IF;
	IF repairsys.payment_admit(inv, NEW.method, NEW.amount, NEW.idempotency_key) IS NOT NULL THEN
		RETURN NULL;	-- a retry: nothing new
	END IF;
	RETURN NEW;
END
$$;
COMMENT ON FUNCTION repairsys.payment_rules_trg() IS 'BEFORE INSERT trigger of payment: the rules of record_payment for a plain INSERT by any role but the table owner: positive finite amount, the invoice locked (25000 at REPEATABLE READ), no overpayment, a key used for another payment refused (23514), a retry skipped, paid_at between the invoice''s issue and now';
CREATE TRIGGER payment_10_rules BEFORE INSERT ON repairsys.payment
	FOR EACH ROW EXECUTE FUNCTION repairsys.payment_rules_trg();

-- SECURITY DEFINER: installment plans are written only here (no role holds
-- INSERT on installment), so that a plan always sums to its balance.
-- Callable by the admin and the dispatcher, who see every invoice anyway.
CREATE FUNCTION repairsys.plan_installments(invoice_id bigint, n integer, first_due date, every interval DEFAULT interval '1 month')
RETURNS SETOF repairsys.installment
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
DECLARE
	inv     repairsys.invoice;
	balance numeric;
	cents   bigint;
	each    bigint;
BEGIN
	IF n IS NULL OR n < 1 OR n > 120 THEN
		RAISE EXCEPTION 'number of installments must be between 1 and 120' USING ERRCODE = '22023';
	END IF;
	IF first_due IS NULL OR every IS NULL OR every <= interval '0' OR NOT isfinite(first_due) OR NOT isfinite(every) THEN
		RAISE EXCEPTION 'installments need a first due date and a positive interval' USING ERRCODE = '22023';
	END IF;
	inv := repairsys.lock_invoice(plan_installments.invoice_id);
	balance := inv.total - (SELECT coalesce(sum(p.amount), 0) FROM repairsys.payment p WHERE p.invoice_id = inv.id);
	cents := (balance * 100)::bigint;
	IF cents < n THEN
		RAISE EXCEPTION 'a balance of % cannot be split into % installments', balance, n USING ERRCODE = '23514';
	END IF;
	IF EXISTS (SELECT 1 FROM repairsys.installment x WHERE x.invoice_id = inv.id) THEN
		RAISE EXCEPTION 'invoice % already has an installment plan', inv.invoice_no USING ERRCODE = '23514';
	END IF;
	each := cents / n;	-- the cents left over go to the first installment
	RETURN QUERY
	INSERT INTO repairsys.installment (invoice_id, seq, due_on, amount)
	SELECT inv.id, k, (first_due + (k - 1) * every)::date,
	       (CASE WHEN k = 1 THEN each + cents - each * n ELSE each END)::numeric / 100
	  FROM pg_catalog.generate_series(1, n) AS k
	RETURNING *;
END
$$;
COMMENT ON FUNCTION repairsys.plan_installments(bigint, integer, date, interval) IS 'Splits the balance of an invoice into n installments that sum exactly to it (the leftover cents go to the first); one plan per invoice; SECURITY DEFINER, the only writer of installments (admin, dispatcher)';

------------------------------------------------------------------------------
-- Audit
------------------------------------------------------------------------------
-- The canonical text of a ticket's bill, what a sign-off hashes: one line per
-- bill line (bill_lines: the invoice's once issued, the same lines as computed
-- before), its fields separated by "|", numbers without trailing zeros (so an
-- invoiced bill reads as the bill that was signed), then the total and the
-- currency.  Any change of a line, an amount or the total changes the text.
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

-- The approved ceiling of a ticket: the latest approved revision's high total
-- and the tolerance kept with it, and the most its bill may be; for a ticket
-- approved before revisions were kept (no revision rows), its snapshot's high
-- total and the setting.  No row when nothing was approved.  (No SET
-- search_path, which a BEGIN ATOMIC body does not need: billing_problems()
-- then reads it inlined, not through a call per ticket.)
CREATE FUNCTION repairsys.approved_ceiling(t repairsys.ticket,
	OUT revision integer, OUT high numeric, OUT tolerance_pct numeric, OUT ceiling numeric)
RETURNS SETOF record
LANGUAGE sql STABLE
ROWS 1
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

-- The billing problems of one ticket (billing_audit, one row per problem):
-- each check reads the ticket's own invoice, lines, payments, parts, sign-off
-- and discounts through their keys, and recomputes its bill only where a
-- check needs it.  billing_audit calls it for every ticket it reads, so a
-- filter on the ticket (the tickets of a month and a center, a ticket's
-- page) reaches each check through an index; as a UNION ALL of checks over
-- whole tables, every query recomputed every approved ticket's bill (more
-- than 24 s a run at 1,000,000 tickets, docs/performance.md "Dashboards at
-- scale").
CREATE FUNCTION repairsys.billing_problems(tk repairsys.ticket, OUT problem text, OUT detail text)
RETURNS SETOF record
LANGUAGE sql STABLE
BEGIN ATOMIC
	-- the ticket's invoice once, with the sums of its lines and payments
	WITH inv AS MATERIALIZED (
		SELECT i.id, i.invoice_no, i.total, l.s AS lines, l.labor, p.s AS paid
		  FROM repairsys.invoice i
		  LEFT JOIN LATERAL (SELECT sum(x.amount + x.tax_amount) AS s, sum(x.amount) FILTER (WHERE x.kind = 'labor') AS labor
		                       FROM repairsys.invoice_line x WHERE x.invoice_id = i.id) l ON true
		  LEFT JOIN LATERAL (SELECT sum(x.amount) AS s FROM repairsys.payment x WHERE x.invoice_id = i.id) p ON true
		 WHERE i.ticket_id = tk.id),
	-- the ticket's total, paid and balance as bill_summary gives them (the
	-- invoice's lines once issued, else the bill of the recorded work), once,
	-- for the checks that read them, when one does (the bill through
	-- bill_lines(), which is not inlined: the bill's total is inlined once, in
	-- the check of the approved prices, and the plan stays half the size)
	b AS MATERIALIZED (
		SELECT x.total, x.paid, x.total - x.paid AS balance
		  FROM (SELECT coalesce((SELECT coalesce(inv.lines, 0.00) FROM inv),
		                        (SELECT coalesce(sum(c.amount), 0.00) + coalesce(sum(c.tax_amount), 0.00)
		                           FROM repairsys.bill_lines(tk) c)) AS total,
		               coalesce((SELECT inv.paid FROM inv), 0.00) AS paid) x)
	SELECT 'invoice total differs from its lines',
	       pg_catalog.format('Invoice %s: total %s, lines %s.', i.invoice_no, i.total, coalesce(i.lines, 0))
	  FROM inv i
	 WHERE i.total <> coalesce(i.lines, 0)
	UNION ALL
	SELECT 'bill changed after approval',
	       CASE WHEN tk.price_labor_fee IS NULL
	            THEN 'The estimate is marked approved but no prices were snapshotted (approved without repairsys.approve_estimate).'
	            ELSE pg_catalog.format('Invoice %s: total %s, but the approved prices and the recorded work give %s.',
	                                   i.invoice_no, i.total, c.total) END
	  FROM (SELECT) one
	  LEFT JOIN inv i ON true
	  LEFT JOIN LATERAL (SELECT b.total
	                       FROM repairsys.bill_total(tk, tk.labor_minutes, tk.travel_km, false) b
	                      WHERE i.id IS NOT NULL AND tk.price_labor_fee IS NOT NULL) c ON true
	 WHERE tk.estimate_approved_at IS NOT NULL
	   AND (tk.price_labor_fee IS NULL OR (i.id IS NOT NULL AND i.total <> c.total))
	UNION ALL
	SELECT 'payments exceed the invoice total',
	       pg_catalog.format('Invoice %s: total %s, paid %s.', i.invoice_no, i.total, i.paid)
	  FROM inv i
	 WHERE i.paid > i.total
	UNION ALL
	SELECT 'closed with a balance',
	       pg_catalog.format('Total %s, paid %s.', b.total, b.paid)
	  FROM repairsys.ticket_status s, b
	 WHERE s.code = tk.status AND s.role = 'closed' AND b.balance > 0
	UNION ALL
	SELECT 'parts used but neither billed nor covered',
	       pg_catalog.format('%s x %s used at a unit price of %s%s.', tp.qty, tp.sku, tp.unit_price,
	                         CASE WHEN i.id IS NOT NULL THEN ', missing from invoice ' || i.invoice_no ELSE '' END)
	  FROM repairsys.ticket_part tp
	  LEFT JOIN inv i ON true
	 WHERE tp.ticket_id = tk.id AND tp.state = 'used' AND NOT tp.covered
	   AND (tp.unit_price = 0
	        OR (i.id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM repairsys.invoice_line l
	                                              WHERE l.invoice_id = i.id AND l.kind = 'part' AND l.description LIKE '%(' || tp.sku || ')')))
	UNION ALL
	SELECT 'labor billed without work recorded',
	       pg_catalog.format('Labor lines of %s, but the ticket records %s minutes.', i.labor, coalesce(tk.labor_minutes, 0))
	  FROM inv i
	 WHERE i.labor > 0 AND coalesce(tk.labor_minutes, 0) = 0
	UNION ALL
	SELECT 'bill exceeds the approved estimate',
	       pg_catalog.format('Bill total %s, approved estimate high %s%s: at most %s with the tolerance of %s%%.', b.total, c.high,
	                         coalesce(' (revision ' || c.revision || ')', ''), c.ceiling, repairsys.fmt_num(c.tolerance_pct))
	  FROM repairsys.approved_ceiling(tk) c, b
	 WHERE tk.status_role IN ('resolved', 'closed') AND b.total > c.ceiling
	   AND NOT (SELECT v.warranty FROM repairsys.ticket_coverage(tk) v)
	UNION ALL
	SELECT 'bill changed after sign-off',
	       pg_catalog.format('Signed by %s on %s for a total of %s; the bill now totals %s and hashes differently.', s.signed_by,
	                         pg_catalog.to_char(s.signed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI "UTC"'), s.bill_total, b.total)
	  FROM (SELECT x.* FROM repairsys.ticket_sign_off x WHERE x.ticket_id = tk.id ORDER BY x.id DESC LIMIT 1) s, b
	 WHERE s.bill_sha256 <> pg_catalog.sha256(pg_catalog.convert_to(repairsys.bill_canonical_text(tk), 'UTF8'))
	UNION ALL
	-- an approved discount nobody approved (written so by the table owner), or
	-- one above the limit of whoever approved it: the ticket's approved
	-- discounts up to it (in the order approved) against the bill it was
	-- measured on (docs/billing.md "Approval authority")
	SELECT 'discount without the required approval',
	       CASE WHEN x.approved_by IS NULL
	            THEN pg_catalog.format('Discount %s of %s is approved, but nobody approved it.', x.id, x.amount)
	            ELSE pg_catalog.format('Discount %s of %s (discounts %s of a bill of %s) was approved by %s, whose approval limit does not cover it.',
	                                   x.id, x.amount, x.upto, coalesce(x.bill_basis::text, 'unknown'), x.approved_by::text COLLATE pg_catalog."default") END
	  FROM (SELECT d.*, sum(d.amount) OVER (ORDER BY d.approved_at, d.id) AS upto
	          FROM repairsys.ticket_discount d
	         WHERE d.ticket_id = tk.id AND d.status = 'approved') x
	 WHERE x.approved_by IS NULL OR NOT repairsys.may_grant_discount(x.approved_by, x.upto, coalesce(x.bill_basis, 0));
END;
COMMENT ON FUNCTION repairsys.billing_problems(repairsys.ticket) IS 'billing_audit: the billing problems of one ticket (problem, detail), each check through the ticket''s own rows';

CREATE VIEW repairsys.billing_audit AS
SELECT t.id AS ticket_id, p.problem, p.detail
  FROM repairsys.ticket t
 CROSS JOIN LATERAL repairsys.billing_problems(t) p;
COMMENT ON VIEW repairsys.billing_audit IS 'One row per billing problem found; empty on a healthy database';
COMMENT ON COLUMN repairsys.billing_audit.ticket_id IS 'Ticket concerned';
COMMENT ON COLUMN repairsys.billing_audit.problem IS 'invoice total differs from its lines, bill changed after approval, payments exceed the invoice total, closed with a balance, parts used but neither billed nor covered, labor billed without work recorded, bill exceeds the approved estimate, bill changed after sign-off, discount without the required approval';
COMMENT ON COLUMN repairsys.billing_audit.detail IS 'The figures behind the finding';

------------------------------------------------------------------------------
-- The customer's bill as a page
------------------------------------------------------------------------------
CREATE FUNCTION repairsys.html_escape(s text)
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
BEGIN ATOMIC
	SELECT replace(replace(replace(replace(replace(coalesce(s, ''), '&', '&amp;'), '<', '&lt;'), '>', '&gt;'), '"', '&quot;'), '''', '&#39;');
END;
COMMENT ON FUNCTION repairsys.html_escape(text) IS 'Text escaped for HTML';

CREATE FUNCTION repairsys.bill_html(ticket_id bigint)
RETURNS text
LANGUAGE plpgsql STABLE
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
DECLARE
	t    repairsys.ticket;
	c    repairsys.customer;
	s    repairsys.bill_summary;
	st   repairsys.service_type;
	lang text;
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
	-- the customer's language (customer.language, else the setting): only
	-- the words change, every amount is the same number in every language
	lang := customer_language(t.customer_id);
	SELECT * INTO st FROM repairsys.service_type x WHERE x.code = t.service_type;
	SELECT * INTO s FROM repairsys.bill_summary x WHERE x.ticket_id = t.id;
	SELECT string_agg(format('<tr class="%s"><td>%s</td><td>%s</td><td class="n">%s</td><td>%s</td><td class="n">%s</td><td class="n">%s</td><td class="n">%s%%</td><td class="n">%s</td></tr>',
	                         html_escape(b.kind), b.line_no, html_escape(bill_line_text(lang, b.description)), coalesce(fmt_num(b.quantity), ''),
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
	est := CASE WHEN t.estimate_approved_at IS NULL THEN '<p>' || bill_label(lang, 'no_estimate') || '</p>'
	            WHEN rev.revision > 1
	            THEN '<p>' || format(bill_label(lang, 'revised'),
	                        rev.revision, to_char(rev.approved_at, 'YYYY-MM-DD HH24:MI'), html_escape(rev.reason), rev.low,
	                        rev.high, html_escape(s.currency)) || '</p>'
	            ELSE '<p>' || format(bill_label(lang, 'estimate'),
	                        to_char(t.estimate_approved_at, 'YYYY-MM-DD HH24:MI'), t.approved_estimate_low,
	                        t.approved_estimate_high, html_escape(s.currency)) || '</p>' END;
	html := format($html$<!DOCTYPE html>
<html lang="%s"><head><meta charset="utf-8"><title>%s</title>
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
<h1>%s</h1>
<p>%s: %s. %s: %s. %s: %s. %s</p>
%s
<h2>%s</h2>
<table><thead><tr><th>#</th><th>%s</th><th>%s</th><th>%s</th><th>%s</th><th>%s</th><th>%s</th><th>%s</th></tr></thead>
<tbody>
%s
</tbody></table>
<table>
<tr><td>%s</td><td class="n">%s</td></tr><tr><td>%s</td><td class="n">%s</td></tr>
<tr><td>%s</td><td class="n">%s</td></tr><tr><td>%s</td><td class="n">%s</td></tr>
<tr><td>%s</td><td class="n">%s</td></tr><tr><td>%s</td><td class="n">%s</td></tr>
<tr><td>%s</td><td class="n">%s</td></tr><tr><td>%s</td><td class="n">%s</td></tr>
<tr class="total"><td>%s</td><td class="n" id="total">%s %s</td></tr>
</table>
<h2>%s</h2>
<table><thead><tr><th>%s</th><th>%s</th><th>%s</th></tr></thead><tbody>
%s
</tbody></table>
<p class="balance">%s: %s %s</p>
</body></html>
$html$,
		lang, format(bill_label(lang, 'title'), t.id), format(bill_label(lang, 'title'), t.id),
		bill_label(lang, 'customer'), html_escape(c.name), bill_label(lang, 'service'), html_escape(st.name),
		bill_label(lang, 'status'), html_escape(t.status),
		CASE WHEN s.invoice_no IS NOT NULL THEN bill_label(lang, 'invoice') || ' ' || html_escape(s.invoice_no) || '.'
		     ELSE bill_label(lang, 'not_invoiced') END,
		est, bill_label(lang, 'lines'),
		bill_label(lang, 'what'), bill_label(lang, 'quantity'), bill_label(lang, 'unit'), bill_label(lang, 'unit_price'),
		bill_label(lang, 'amount'), bill_label(lang, 'tax_rate'), bill_label(lang, 'tax'),
		coalesce(rows, '<tr><td colspan="8">' || bill_label(lang, 'no_charge') || '</td></tr>'),
		bill_label(lang, 'labor'), s.labor, bill_label(lang, 'parts'), s.parts,
		bill_label(lang, 'travel'), s.travel, bill_label(lang, 'surcharges'), s.surcharges,
		bill_label(lang, 'coverage'), s.coverage, bill_label(lang, 'discounts'), s.discounts,
		bill_label(lang, 'subtotal'), s.subtotal, bill_label(lang, 'tax'), s.tax,
		bill_label(lang, 'total'), s.total, html_escape(s.currency),
		bill_label(lang, 'payments'), bill_label(lang, 'when'), bill_label(lang, 'method'), bill_label(lang, 'amount'),
		coalesce(pays, '<tr><td colspan="3">' || bill_label(lang, 'none_yet') || '</td></tr>'),
		bill_label(lang, 'balance'), s.balance, html_escape(s.currency));
	RETURN html;
END
$$;
COMMENT ON FUNCTION repairsys.bill_html(bigint) IS 'The bill of a ticket as a complete, self-contained HTML page for the customer, in the customer''s language (en, zh-CN; the same amounts in every language): approved estimate (its latest approved revision), every line with its explanation, taxes, payments and balance';
