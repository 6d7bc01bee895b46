-- pgTAP: compute_bill() is one SQL query (inlined into the queries that call
-- it, docs/performance.md "compute_bill as one query"); its discounts
-- are shared out in closed form (what is left after the discounts up to one
-- is greatest(left - their sum, 0)).  This file checks it line for line
-- against the procedural form it replaced (a PL/pgSQL loop that takes each
-- discount's shares one after the other), kept here as the reference, on
-- tickets varied at random (seeded): prices snapshotted or not, call-out,
-- complexity and urgency on or off, tax rates of 0, warranty, repeat
-- repairs, parts used, reserved, released and covered, up to four discounts
-- (approved, pending) that exhaust the labor share and the parts, minutes
-- and kilometres NULL, zero or fractional, estimate or bill.  The rows are
-- written with triggers off (session_replication_role = replica, as the
-- table owner): what is checked is the arithmetic, not the rules of the
-- tables (tested elsewhere).  Everything is rolled back.
BEGIN;
SELECT plan(16);
SET LOCAL client_min_messages = warning;
SET LOCAL TimeZone = 'UTC';
SET LOCAL DateStyle = 'ISO, YMD';
SET LOCAL IntervalStyle = 'postgres';

-- the reference: compute_bill() as a PL/pgSQL procedure
CREATE FUNCTION pg_temp.compute_bill_reference(t repairsys.ticket, minutes numeric, km numeric, for_estimate boolean DEFAULT false,
	OUT line_no integer, OUT kind text, OUT description text, OUT quantity numeric, OUT unit text,
	OUT unit_price numeric, OUT amount numeric, OUT tax_rate numeric, OUT tax_amount numeric)
RETURNS SETOF record
LANGUAGE plpgsql STABLE
ROWS 8
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
DECLARE
	pv        repairsys.service_price;
	labor_fee repairsys.fee_tier;
	travel_fee repairsys.fee_tier;
	callout   numeric;
	factor    numeric;
	pct       numeric;
	rate_l    numeric;
	rate_p    numeric;
	l         record;
	n         integer := 0;
	labor     numeric := 0;
	cx        numeric := 0;
	sur       numeric := 0;
	travel    numeric := 0;
	subtotal  numeric := 0;
	tx_labor  numeric := 0;
	tx_call   numeric := 0;
	tx_travel numeric := 0;
	warranty  boolean := repairsys.under_warranty(t);
	-- (the earlier ticket only matters when the warranty does not cover the work)
	rework    bigint := CASE WHEN NOT warranty THEN repairsys.rework_of(t) END;
	wdate     date;
	covers    numeric;
	d         numeric;
	-- what is left to discount per tax rate: amounts and their taxes
	left_l    numeric := 0;
	left_tl   numeric := 0;
	left_p    numeric := 0;
	left_tp   numeric := 0;
	piece     numeric;
BEGIN
	IF t.price_labor_fee IS NULL THEN
		pv := repairsys.price_at(t.service_type, coalesce(t.opened_at, now()));
	END IF;
	labor_fee := coalesce(t.price_labor_fee, pv.labor_fee);
	travel_fee := CASE WHEN t.price_labor_fee IS NOT NULL THEN t.price_travel_fee ELSE pv.travel_fee END;
	callout := coalesce(t.price_callout_fee, pv.callout_fee, 0);
	factor := t.price_complexity_factor;
	IF factor IS NULL THEN
		factor := coalesce((SELECT c.factor FROM repairsys.complexity_rule c WHERE c.level = t.complexity), 1);
	END IF;
	pct := t.price_surcharge_pct;
	IF pct IS NULL THEN
		pct := coalesce((SELECT u.surcharge_pct FROM repairsys.urgency_rule u WHERE u.urgency = t.urgency), 0);
	END IF;
	rate_l := round(coalesce(t.price_tax_rate_labor, repairsys.setting_value('tax_rate_labor')::numeric), 4);
	rate_p := round(coalesce(t.price_tax_rate_parts, repairsys.setting_value('tax_rate_parts')::numeric), 4);

	-- call-out
	IF callout > 0 THEN
		n := n + 1; line_no := n; kind := 'callout'; description := 'Call-out fee';
		quantity := 1; unit := 'visit'; unit_price := callout; amount := callout;
		tax_rate := rate_l; tax_amount := round(amount * rate_l, 2);
		subtotal := subtotal + amount; tx_call := tax_amount;
		RETURN NEXT;
	END IF;

	-- labor, one line per tier slice of the schedule
	IF minutes IS NOT NULL THEN
		FOR l IN SELECT * FROM repairsys.schedule_lines(labor_fee, minutes, 'Labor', 'min') LOOP
			n := n + 1; line_no := n; kind := 'labor'; description := l.description;
			quantity := l.quantity; unit := l.line_unit; unit_price := l.unit_price; amount := l.amount;
			tax_rate := rate_l; tax_amount := round(amount * rate_l, 2);
			labor := labor + amount; subtotal := subtotal + amount; tx_labor := tx_labor + tax_amount;
			RETURN NEXT;
		END LOOP;
		IF factor <> 1 AND labor > 0 THEN
			cx := round(labor * (factor - 1), 2);
			n := n + 1; line_no := n; kind := 'complexity';
			description := pg_catalog.format('Complexity level %s: labor x %s', t.complexity, repairsys.fmt_num(factor));
			quantity := NULL; unit := NULL; unit_price := NULL; amount := cx;
			tax_rate := rate_l; tax_amount := round(amount * rate_l, 2);
			subtotal := subtotal + amount; tx_labor := tx_labor + tax_amount;
			RETURN NEXT;
		END IF;
		IF pct > 0 AND labor + cx > 0 THEN
			sur := round((labor + cx) * pct / 100, 2);
			n := n + 1; line_no := n; kind := 'surcharge';
			description := pg_catalog.format('Urgency "%s": %s%% of labor', t.urgency, repairsys.fmt_num(pct));
			quantity := NULL; unit := NULL; unit_price := NULL; amount := sur;
			tax_rate := rate_l; tax_amount := round(amount * rate_l, 2);
			subtotal := subtotal + amount; tx_labor := tx_labor + tax_amount;
			RETURN NEXT;
		END IF;
	END IF;

	-- travel, one line per tier slice
	IF km IS NOT NULL AND travel_fee IS NOT NULL THEN
		FOR l IN SELECT * FROM repairsys.schedule_lines(travel_fee, km, 'Travel', 'km') LOOP
			n := n + 1; line_no := n; kind := 'travel'; description := l.description;
			quantity := l.quantity; unit := l.line_unit; unit_price := l.unit_price; amount := l.amount;
			tax_rate := rate_l; tax_amount := round(amount * rate_l, 2);
			travel := travel + amount; subtotal := subtotal + amount; tx_travel := tx_travel + tax_amount;
			RETURN NEXT;
		END LOOP;
	END IF;

	-- in one statement: (1) the parts, at the price of when they were
	-- reserved, in the order of their SKU and price; (2) then the coverage of
	-- the service; (3) then the approved discounts, in the order given (only
	-- approved ones: a pending or rejected one is not on the bill,
	-- docs/billing.md "Approval authority")
	FOR l IN SELECT 1 AS step, tp.sku, p.name, sum(tp.qty) AS qty, tp.unit_price AS price, tp.covered, NULL::bigint AS discount_id, NULL::text AS discount_text, NULL::numeric AS discount_amount
	           FROM repairsys.ticket_part tp JOIN repairsys.part p ON p.sku = tp.sku
	          WHERE tp.ticket_id = t.id AND (tp.state = 'used' OR (for_estimate AND tp.state = 'reserved'))
	          GROUP BY tp.sku, p.name, tp.unit_price, tp.covered
	         UNION ALL
	         SELECT 2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL
	         UNION ALL
	         SELECT 3, NULL, NULL, NULL, NULL, NULL, x.id, x.description, x.amount
	           FROM repairsys.ticket_discount x WHERE x.ticket_id = t.id AND x.status = 'approved'
	          ORDER BY 1, 2, 5, 6, 7
	LOOP
		CASE l.step
		WHEN 1 THEN
			n := n + 1; line_no := n; kind := 'part';
			description := pg_catalog.format('Part %s (%s)', l.name, l.sku);
			quantity := l.qty; unit := 'pcs'; unit_price := l.price; amount := l.qty * l.price;
			tax_rate := rate_p; tax_amount := round(amount * rate_p, 2);
			subtotal := subtotal + amount;
			IF NOT l.covered THEN
				left_p := left_p + amount; left_tp := left_tp + tax_amount;
			END IF;
			RETURN NEXT;
			IF l.covered THEN
				n := n + 1; line_no := n; kind := 'coverage';
				description := pg_catalog.format('Product warranty covers part %s (%s)', l.name, l.sku);
				quantity := NULL; unit := NULL; unit_price := NULL; amount := -(l.qty * l.price);
				tax_rate := rate_p; tax_amount := -tax_amount;	-- exactly the part line's tax
				subtotal := subtotal + amount;
				RETURN NEXT;
			END IF;

		WHEN 2 THEN
			-- coverage of the service: product warranty covers it all, a repeat repair its labor
			quantity := NULL; unit := NULL; unit_price := NULL;
			-- (a coverage line takes off exactly the amounts and taxes it covers, so
			-- covered work nets to zero to the cent)
			IF warranty THEN
				SELECT a.warranty_until INTO wdate FROM repairsys.asset a WHERE a.id = t.asset_id;
				FOR o IN 1..3 LOOP
					covers := CASE o WHEN 1 THEN labor + cx + sur WHEN 2 THEN callout ELSE travel END;
					CONTINUE WHEN covers <= 0;
					n := n + 1; line_no := n; kind := 'coverage';
					description := CASE o WHEN 1 THEN 'Product warranty (until ' || pg_catalog.to_char(wdate, 'YYYY-MM-DD') || ') covers labor, complexity and urgency surcharge'
					                      WHEN 2 THEN 'Product warranty covers the call-out fee'
					                      ELSE 'Product warranty covers travel' END;
					amount := -covers;
					tax_rate := rate_l; tax_amount := -(CASE o WHEN 1 THEN tx_labor WHEN 2 THEN tx_call ELSE tx_travel END);
					subtotal := subtotal + amount;
					RETURN NEXT;
				END LOOP;
			ELSIF rework IS NOT NULL AND labor + cx + sur > 0 THEN
				n := n + 1; line_no := n; kind := 'coverage';
				description := pg_catalog.format('Repeat repair within %s of ticket %s: labor is free',
				                                 coalesce(t.price_rework_window, repairsys.setting_value('rework_window')), rework);
				amount := -(labor + cx + sur);
				tax_rate := rate_l; tax_amount := -tx_labor;
				subtotal := subtotal + amount;
				RETURN NEXT;
			END IF;

			-- discounts, never below zero: a discount takes from the amounts taxed at
			-- the labor rate first, then from the parts; each share is its own line
			-- at its own rate, and the tax it takes off never exceeds the tax left on
			-- that share (so a full waiver nets to exactly 0.00, never below)
			left_l := labor + cx + sur + callout + travel; left_tl := tx_labor + tx_call + tx_travel;
			IF warranty THEN
				left_l := 0; left_tl := 0;
			ELSIF rework IS NOT NULL THEN
				left_l := left_l - (labor + cx + sur); left_tl := left_tl - tx_labor;
			END IF;

		ELSE
			-- a discount: its share at the labor rate (1), then on the parts (2)
			d := l.discount_amount;
			FOR o IN 1..2 LOOP
				piece := LEAST(d, CASE o WHEN 1 THEN left_l ELSE left_p END);
				CONTINUE WHEN piece <= 0;
				n := n + 1; line_no := n; kind := 'discount';
				description := 'Discount: ' || l.discount_text || CASE WHEN o = 2 THEN ' (on parts)' ELSE '' END;
				quantity := NULL; unit := NULL; unit_price := NULL;
				amount := -piece; tax_rate := CASE o WHEN 1 THEN rate_l ELSE rate_p END;
				IF o = 1 THEN
					tax_amount := -LEAST(round(piece * rate_l, 2), left_tl);
					left_l := left_l - piece; left_tl := left_tl + tax_amount;
					IF left_l = 0 THEN tax_amount := tax_amount - left_tl; left_tl := 0; END IF;
				ELSE
					tax_amount := -LEAST(round(piece * rate_p, 2), left_tp);
					left_p := left_p - piece; left_tp := left_tp + tax_amount;
					IF left_p = 0 THEN tax_amount := tax_amount - left_tp; left_tp := 0; END IF;
				END IF;
				d := d - piece;
				RETURN NEXT;
			END LOOP;
		END CASE;
	END LOOP;
END
$$;

DO $$ BEGIN PERFORM repairsys.demo_load(600, 11, 2); END $$;
SELECT setseed(0.42);
SET LOCAL session_replication_role = replica;
-- a third of the assets under warranty for years to come
UPDATE repairsys.asset SET warranty_until = DATE '2099-12-31' WHERE id % 3 = 0;
-- parts and discounts on half of the tickets
INSERT INTO repairsys.ticket_part (ticket_id, sku, service_center_id, qty, state, unit_price, covered)
SELECT t.id, (SELECT p.sku FROM repairsys.part p ORDER BY p.sku OFFSET (n % 3) LIMIT 1), t.service_center_id,
       1 + (random() * 2)::int, (ARRAY['used', 'used', 'reserved', 'released'])[1 + (random() * 3)::int],
       round((random() * 300)::numeric, 2) * (random() > 0.1)::int, random() < 0.3
  FROM repairsys.ticket t, generate_series(1, 3) n
 WHERE t.id % 2 = 0 AND random() < 0.6;
INSERT INTO repairsys.ticket_discount (ticket_id, description, amount, status, approved_by, approved_at)
SELECT t.id, 'goodwill ' || n, round((5 + random() * 400)::numeric, 2), s.status,
       CASE WHEN s.status = 'approved' THEN 'postgres' END, CASE WHEN s.status = 'approved' THEN now() END
  FROM repairsys.ticket t, generate_series(1, 4) n,
       LATERAL (SELECT CASE WHEN random() < 0.8 + 0 * (t.id + n) THEN 'approved' ELSE 'pending' END AS status OFFSET 0) s
 WHERE t.id % 2 = 0 AND random() < 0.5;
SET LOCAL session_replication_role = origin;

-- the variants: each ticket three times, its price inputs drawn at random;
-- a fifth of them made repeat repairs of a closed ticket of the same unit
CREATE TEMP TABLE variant AS
SELECT row_number() OVER () AS v, x.t, x.minutes, x.km, x.for_estimate
  FROM (SELECT jsonb_populate_record(t, jsonb_strip_nulls(jsonb_build_object(
	               'price_labor_fee', CASE WHEN snap THEN coalesce(t.price_labor_fee, s.labor_fee)::text END,
	               'price_travel_fee', CASE WHEN snap THEN coalesce(t.price_travel_fee, s.travel_fee)::text END,
	               'price_callout_fee', CASE WHEN snap THEN (ARRAY[0, 25, 49.5])[1 + (random() * 2)::int] END,
	               'price_complexity_factor', CASE WHEN snap THEN (ARRAY[1, 1.25, 1.333])[1 + (random() * 2)::int] END,
	               'price_surcharge_pct', CASE WHEN snap THEN (ARRAY[0, 15, 33.3])[1 + (random() * 2)::int] END,
	               'price_tax_rate_labor', CASE WHEN snap THEN (ARRAY[0, 0.06, 0.1275])[1 + (random() * 2)::int] END,
	               'price_tax_rate_parts', CASE WHEN snap THEN (ARRAY[0, 0.13, 0.0875])[1 + (random() * 2)::int] END,
	               'complexity', 1 + (random() * 4)::int,
	               'urgency', (ARRAY['low', 'normal', 'high'])[1 + (random() * 2)::int],
	               'warranty_void', random() < 0.2,
	               'asset_id', r.asset_id, 'service_type', r.service_type,
	               'opened_at', r.closed_at + interval '3 days'))
	           || CASE WHEN snap THEN '{}'::jsonb ELSE jsonb_build_object('price_labor_fee', NULL, 'price_travel_fee', NULL,
	                  'price_callout_fee', NULL, 'price_complexity_factor', NULL, 'price_surcharge_pct', NULL,
	                  'price_tax_rate_labor', NULL, 'price_tax_rate_parts', NULL, 'price_rework_window', NULL) END) AS t,
	       (ARRAY[NULL, 0, 37, 185.5, 61])[1 + (random() * 4)::int]::numeric AS minutes,
	       (ARRAY[NULL, 0, 12.3, 80])[1 + (random() * 3)::int]::numeric AS km,
	       random() < 0.3 AS for_estimate
	  FROM repairsys.ticket t
	  CROSS JOIN generate_series(1, 3) n
	  CROSS JOIN LATERAL (SELECT random() < 0.7 + 0 * (t.id + n) AS snap OFFSET 0) c	-- (correlated: drawn per row)
	  LEFT JOIN repairsys.service_type s ON s.code = t.service_type
	  LEFT JOIN LATERAL (SELECT p.asset_id, p.service_type, p.closed_at FROM repairsys.ticket p
	                      WHERE random() < 0.2 AND p.status_role = 'closed' AND p.asset_id IS NOT NULL AND p.id <> t.id
	                      ORDER BY abs(p.id - t.id) LIMIT 1) r ON true) x;

CREATE TEMP TABLE got AS
SELECT x.v, b.* FROM variant x, repairsys.compute_bill(x.t, x.minutes, x.km, x.for_estimate) b;
CREATE TEMP TABLE want AS
SELECT x.v, b.* FROM variant x, pg_temp.compute_bill_reference(x.t, x.minutes, x.km, x.for_estimate) b;

SELECT cmp_ok((SELECT count(*) FROM variant), '>=', 1800::bigint, 'the variants were made');
SELECT is((SELECT count(*) FROM (SELECT * FROM got EXCEPT ALL SELECT * FROM want) d)
        + (SELECT count(*) FROM (SELECT * FROM want EXCEPT ALL SELECT * FROM got) d), 0::bigint,
          'compute_bill gives the reference''s lines, line for line, on every variant');
-- (so that the comparison cannot pass on tickets that exercise nothing)
SELECT cmp_ok((SELECT count(DISTINCT v) FROM want WHERE kind = 'coverage' AND description LIKE 'Product warranty (until%'), '>=', 20::bigint,
              'variants with the service under warranty');
SELECT cmp_ok((SELECT count(DISTINCT v) FROM want WHERE kind = 'coverage' AND description LIKE 'Repeat repair%'), '>=', 20::bigint,
              'variants that are repeat repairs');
SELECT cmp_ok((SELECT count(DISTINCT v) FROM want WHERE kind = 'coverage' AND description LIKE 'Product warranty covers part%'), '>=', 20::bigint,
              'variants with covered parts');
SELECT cmp_ok((SELECT count(DISTINCT v) FROM want WHERE kind = 'discount' AND description LIKE '% (on parts)'), '>=', 20::bigint,
              'variants whose discounts go past the labor share into the parts');
SELECT cmp_ok((SELECT count(*) FROM (SELECT v FROM want GROUP BY v
                                     HAVING bool_or(kind = 'discount') AND sum(amount + tax_amount) = 0) z), '>=', 10::bigint,
              'variants whose discounts take the whole bill, to exactly 0.00');
SELECT cmp_ok((SELECT count(DISTINCT v) FROM want WHERE kind = 'discount' AND v IN (SELECT v FROM want WHERE kind = 'discount' GROUP BY v HAVING count(*) >= 3)), '>=', 20::bigint,
              'variants with several discount lines');
SELECT cmp_ok((SELECT count(*) FROM variant x WHERE (x.t).price_labor_fee IS NULL), '>=', 200::bigint,
              'variants priced from the version in force (nothing snapshotted)');

-- the version in force is read only when nothing is snapshotted: an unknown
-- service type is an error then (price_at, 23503), and not otherwise
SELECT throws_ok($$SELECT * FROM repairsys.compute_bill((SELECT jsonb_populate_record(t, '{"price_labor_fee": null, "service_type": "no_such_type"}')
                                                           FROM repairsys.ticket t ORDER BY t.id LIMIT 1), 30, NULL)$$,
                 '23503', NULL, 'an unsnapshotted ticket of an unknown service type: 23503 from price_at');

-- bill_total() is the total of compute_bill()'s lines, figured without them
-- (docs/performance.md "The audit without the lines"): the same number, to
-- the cent and in the same form (two decimals; 0.00 when there is no line),
-- on every variant, and always one row
SELECT is((SELECT count(*) FROM variant x
            WHERE (SELECT count(*) FROM repairsys.bill_total(x.t, x.minutes, x.km, x.for_estimate)) <> 1
               OR (SELECT b.total::text FROM repairsys.bill_total(x.t, x.minutes, x.km, x.for_estimate) b)
                  IS DISTINCT FROM (SELECT coalesce(sum(w.amount + w.tax_amount), 0.00)::text FROM want w WHERE w.v = x.v)),
          0::bigint, 'bill_total gives the total of the reference''s lines on every variant');
SELECT cmp_ok((SELECT count(DISTINCT w.v) FROM want w), '>', (SELECT count(*) FROM variant) / 2,
              'most variants have lines to add up (the comparison is not of zeros)');
SELECT throws_ok($$SELECT * FROM repairsys.bill_total((SELECT jsonb_populate_record(t, '{"price_labor_fee": null, "service_type": "no_such_type"}')
                                                        FROM repairsys.ticket t ORDER BY t.id LIMIT 1), 30, NULL)$$,
                 '23503', NULL, 'bill_total of an unsnapshotted ticket of an unknown service type: 23503 from price_at, as compute_bill');

-- the warranty on the local date the ticket was opened: ticket_coverage()
-- looks the center's time zone up only when the warranty ends within two
-- days of the UTC date; against the rule written out, every hour from three
-- days before to three days after the warranty's last day, in centers at
-- UTC+14, UTC-12, Shanghai and New York and with no center (the session's
-- zone, here UTC), void or not
SET LOCAL session_replication_role = replica;
CREATE TEMP TABLE tz_center AS
WITH c AS (
	INSERT INTO repairsys.service_center (name, lat, lon, time_zone)
	SELECT 'tz ' || z, 30, 120, z FROM unnest(ARRAY['Pacific/Kiritimati', 'Etc/GMT+12', 'Asia/Shanghai', 'America/New_York']) z
	RETURNING id, time_zone)
SELECT id, time_zone FROM c UNION ALL SELECT NULL, NULL;
-- (bought a year before, whatever day the demo's dates are relative to:
-- a warranty never ends before the purchase)
UPDATE repairsys.asset SET purchased_at = DATE '2025-06-15', warranty_until = DATE '2026-06-15' WHERE id = (SELECT min(id) FROM repairsys.asset);
SET LOCAL session_replication_role = origin;
CREATE TEMP TABLE tz_case AS
SELECT jsonb_populate_record(t, jsonb_build_object('asset_id', (SELECT min(id) FROM repairsys.asset), 'service_center_id', c.id,
                                                   'opened_at', h, 'warranty_void', v)) AS t,
       c.time_zone, h, v
  FROM (SELECT t FROM repairsys.ticket t ORDER BY t.id LIMIT 1) x(t),
       tz_center c,
       generate_series(timestamptz '2026-06-12 00:30+00', timestamptz '2026-06-19 00:30+00', interval '1 hour') h,
       (VALUES (false), (true)) w(v);
SELECT is((SELECT count(*) FROM tz_case x
            WHERE (SELECT c.warranty FROM repairsys.ticket_coverage(x.t) c)
                  IS DISTINCT FROM coalesce(NOT x.v AND DATE '2026-06-15' >= (x.h AT TIME ZONE coalesce(x.time_zone, 'UTC'))::date, false)),
          0::bigint, 'warranty on the local date: as the rule says, every hour around its end, in zones from UTC-12 to UTC+14 and with no center');
-- (the zones disagree from 10:00 UTC on the last day, when it ends at
-- UTC+14, to 12:00 UTC the next day, when it ends at UTC-12: 26 hours)
SELECT is((SELECT count(*) FROM (SELECT x.h FROM tz_case x WHERE NOT x.v GROUP BY x.h
                                 HAVING bool_or((SELECT c.warranty FROM repairsys.ticket_coverage(x.t) c))
                                    AND NOT bool_and((SELECT c.warranty FROM repairsys.ticket_coverage(x.t) c))) d), 26::bigint,
          'the centers'' zones disagree for the 26 hours the warranty''s last day lasts somewhere and not everywhere');

-- ticket_coverage() of no ticket (a NULL row): one row, not under warranty,
-- no warranty date, no earlier ticket; under_warranty() says false
SELECT is((SELECT pg_catalog.format('%s|%s|%s|%s', c.warranty, c.warranty_until, c.rework_of, repairsys.under_warranty(NULL::repairsys.ticket))
             FROM repairsys.ticket_coverage(NULL::repairsys.ticket) c), 'f|||f',
          'ticket_coverage of a NULL ticket: not under warranty, no date, no earlier ticket');

SELECT * FROM finish();
ROLLBACK;
