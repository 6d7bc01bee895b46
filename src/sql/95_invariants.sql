-- repairsys.check_invariants(): one row per violation of the invariants the
-- rest of the extension maintains (docs/performance.md).  Empty on a healthy
-- database; the load tests run it after concurrent work and after a crash.

CREATE FUNCTION repairsys.check_invariants()
RETURNS TABLE (invariant text, ticket_id bigint, sku text, service_center_id bigint, invoice_id bigint, technician_id bigint, detail text)
LANGUAGE sql STABLE
SET search_path = repairsys, pg_catalog, pg_temp
BEGIN ATOMIC
	-- every ticket's status is its last history row's
	SELECT 'ticket status equals its last event', t.id, NULL::text, t.service_center_id, NULL::bigint, t.technician_id,
	       pg_catalog.format('status "%s", last event to "%s"', t.status, coalesce(e.to_status, '(no history)'))
	  FROM repairsys.ticket t
	  LEFT JOIN LATERAL (SELECT x.to_status FROM repairsys.ticket_event x WHERE x.ticket_id = t.id ORDER BY x.id DESC LIMIT 1) e ON true
	 WHERE e.to_status IS DISTINCT FROM t.status
	   -- (a ticket whose whole history is in months detached by
	   -- detach_month(), 57_partitions.sql, has no history left to compare)
	   AND NOT (e.to_status IS NULL
	            AND t.status_changed_at < coalesce((SELECT max(a.upper_bound) FROM repairsys.archived_month a WHERE a.table_name = 'ticket_event'),
	                                               '-infinity'))
	UNION ALL
	-- stock is the ledger, never negative
	SELECT 'stock equals the ledger sum', NULL, coalesce(s.sku, m.sku), coalesce(s.service_center_id, m.service_center_id), NULL, NULL,
	       pg_catalog.format('on_hand %s, ledger %s', coalesce(s.on_hand, 0), coalesce(m.total, 0))
	  FROM repairsys.stock s
	  FULL JOIN (SELECT x.sku, x.service_center_id, sum(x.qty) AS total FROM repairsys.stock_movement x GROUP BY 1, 2) m
	    ON m.sku = s.sku AND m.service_center_id = s.service_center_id
	 WHERE coalesce(s.on_hand, 0) <> coalesce(m.total, 0)
	UNION ALL
	SELECT 'stock is never negative', NULL, s.sku, s.service_center_id, NULL, NULL,
	       pg_catalog.format('on_hand %s, reserved %s', s.on_hand, s.reserved)
	  FROM repairsys.stock s WHERE s.on_hand < 0 OR s.reserved < 0
	UNION ALL
	-- reservations: stock.reserved is their sum and never exceeds on_hand
	SELECT 'reserved equals the reservations', NULL, coalesce(s.sku, r.sku), coalesce(s.service_center_id, r.service_center_id), NULL, NULL,
	       pg_catalog.format('reserved %s, reservations %s', coalesce(s.reserved, 0), coalesce(r.total, 0))
	  FROM repairsys.stock s
	  FULL JOIN (SELECT x.sku, x.service_center_id, sum(x.qty) AS total FROM repairsys.ticket_part x WHERE x.state = 'reserved' GROUP BY 1, 2) r
	    ON r.sku = s.sku AND r.service_center_id = s.service_center_id
	 WHERE coalesce(s.reserved, 0) <> coalesce(r.total, 0)
	UNION ALL
	SELECT 'reservations never exceed on hand', NULL, s.sku, s.service_center_id, NULL, NULL,
	       pg_catalog.format('on_hand %s, reserved %s', s.on_hand, s.reserved)
	  FROM repairsys.stock s WHERE s.reserved > s.on_hand
	UNION ALL
	-- serialized parts: the units in stock (or reserved) at a center are its on_hand
	SELECT 'serialized units equal stock', NULL, coalesce(s.sku, u.sku), coalesce(s.service_center_id, u.service_center_id), NULL, NULL,
	       pg_catalog.format('on_hand %s, units in stock %s', coalesce(s.on_hand, 0), coalesce(u.n, 0))
	  FROM (SELECT x.* FROM repairsys.stock x JOIN repairsys.part p ON p.sku = x.sku WHERE p.serialized) s
	  FULL JOIN (SELECT x.sku, x.service_center_id, count(*) AS n FROM repairsys.part_unit x
	              WHERE x.state IN ('in_stock', 'reserved') AND x.service_center_id IS NOT NULL GROUP BY 1, 2) u
	    ON u.sku = s.sku AND u.service_center_id = s.service_center_id
	 WHERE coalesce(s.on_hand, 0) <> coalesce(u.n, 0)
	UNION ALL
	-- a ticket's returns of a part never exceed its issues of it
	SELECT 'returns never exceed issues', m.ticket_id, m.sku, NULL, NULL, NULL,
	       pg_catalog.format('issued %s, returned %s', m.issued, m.returned)
	  FROM (SELECT x.ticket_id, x.sku,
	               coalesce(sum(-x.qty) FILTER (WHERE x.kind = 'issue'), 0) AS issued,
	               coalesce(sum(x.qty) FILTER (WHERE x.kind = 'return'), 0) AS returned
	          FROM repairsys.stock_movement x
	         WHERE x.kind IN ('issue', 'return') AND x.ticket_id IS NOT NULL
	         GROUP BY 1, 2) m
	 WHERE m.returned > m.issued
	UNION ALL
	-- reservations only on tickets that can still use them
	SELECT 'reservations only on open tickets', r.ticket_id, r.sku, r.service_center_id, NULL, t.technician_id,
	       pg_catalog.format('%s units reserved, ticket in status "%s"', r.qty, t.status)
	  FROM repairsys.ticket_part r JOIN repairsys.ticket t ON t.id = r.ticket_id
	 WHERE r.state = 'reserved' AND NOT repairsys.status_takes_parts(t.status)
	UNION ALL
	-- no technician over capacity (open tickets: non-terminal states)
	SELECT 'no technician over capacity', NULL, NULL, tech.service_center_id, NULL, tech.id,
	       pg_catalog.format('technician %s: %s open tickets, capacity %s', tech.id, o.n, tech.capacity)
	  FROM repairsys.technician tech
	  JOIN (SELECT x.technician_id, count(*) AS n FROM repairsys.ticket x JOIN repairsys.ticket_status st ON st.code = x.status
	         WHERE NOT st.is_terminal AND x.technician_id IS NOT NULL GROUP BY 1) o ON o.technician_id = tech.id
	 WHERE o.n > tech.capacity
	UNION ALL
	-- the role kept on the ticket is its state's (rules and reports read it)
	SELECT 'status_role is the role of the status', x.id, NULL, x.service_center_id, NULL, x.technician_id,
	       pg_catalog.format('status "%s" has role %s, status_role %s', x.status, st.role, x.status_role)
	  FROM repairsys.ticket x JOIN repairsys.ticket_status st ON st.code = x.status
	 WHERE st.role IS DISTINCT FROM x.status_role
	UNION ALL
	-- closed_at is set exactly while the status is terminal (open tickets are
	-- counted by it)
	SELECT 'closed_at set exactly in terminal states', x.id, NULL, x.service_center_id, NULL, x.technician_id,
	       pg_catalog.format('status %s, closed_at %s', x.status, coalesce(x.closed_at::text, 'NULL'))
	  FROM repairsys.ticket x JOIN repairsys.ticket_status st ON st.code = x.status
	 WHERE st.is_terminal <> (x.closed_at IS NOT NULL)
	UNION ALL
	-- each technician's kept load equals a recount of his open tickets and
	-- of the feedback on his tickets
	SELECT 'technician load equals a recount', NULL, NULL, tech.service_center_id, NULL, tech.id,
	       pg_catalog.format('kept: %s open, %s ratings summing to %s; recounted: %s open, %s ratings summing to %s',
	                         coalesce(l.open_tickets, 0), coalesce(l.rating_count, 0), coalesce(l.rating_sum, 0),
	                         r.open_tickets, r.rating_count, r.rating_sum)
	  FROM repairsys.technician tech
	  LEFT JOIN repairsys.technician_load l ON l.technician_id = tech.id
	  CROSS JOIN LATERAL (
		SELECT (SELECT count(*) FROM repairsys.ticket x JOIN repairsys.ticket_status st ON st.code = x.status
		         WHERE x.technician_id = tech.id AND NOT st.is_terminal) AS open_tickets,
		       (SELECT count(*) FROM repairsys.feedback f JOIN repairsys.ticket x ON x.id = f.ticket_id
		         WHERE x.technician_id = tech.id) AS rating_count,
		       (SELECT coalesce(sum(f.rating), 0) FROM repairsys.feedback f JOIN repairsys.ticket x ON x.id = f.ticket_id
		         WHERE x.technician_id = tech.id) AS rating_sum) r
	 WHERE (coalesce(l.open_tickets, 0), coalesce(l.rating_count, 0), coalesce(l.rating_sum, 0))
	       IS DISTINCT FROM (r.open_tickets, r.rating_count, r.rating_sum)
	UNION ALL
	-- every bill's lines sum to its total
	SELECT 'bill lines sum to the total', b.ticket_id, NULL, NULL, NULL, NULL,
	       pg_catalog.format('total %s, lines %s', b.total, coalesce(d.s, 0))
	  FROM repairsys.bill_summary b
	  LEFT JOIN LATERAL (SELECT sum(x.amount + x.tax_amount) AS s FROM repairsys.bill_detail x WHERE x.ticket_id = b.ticket_id) d ON true
	 WHERE b.total <> coalesce(d.s, 0)
	UNION ALL
	-- every invoice equals its lines
	SELECT 'invoice equals its lines', i.ticket_id, NULL, i.service_center_id, i.id, NULL,
	       pg_catalog.format('total %s, lines %s', i.total, coalesce(l.s, 0))
	  FROM repairsys.invoice i
	  LEFT JOIN LATERAL (SELECT sum(x.amount + x.tax_amount) AS s FROM repairsys.invoice_line x WHERE x.invoice_id = i.id) l ON true
	 WHERE i.total <> coalesce(l.s, 0)
	UNION ALL
	-- payments never exceed invoices
	SELECT 'payments never exceed the invoice', i.ticket_id, NULL, i.service_center_id, i.id, NULL,
	       pg_catalog.format('total %s, paid %s', i.total, p.s)
	  FROM repairsys.invoice i
	  JOIN LATERAL (SELECT sum(x.amount) AS s FROM repairsys.payment x WHERE x.invoice_id = i.id) p ON true
	 WHERE p.s > i.total
	UNION ALL
	-- time-aware dispatch: no technician is in two visits at once, none is
	-- booked while absent (approved) or outside his rostered hours
	SELECT 'no technician has overlapping visits', a.ticket_id, NULL, NULL, NULL, a.technician_id,
	       pg_catalog.format('appointments %s and %s overlap', a.id, b.id)
	  FROM repairsys.appointment a
	  JOIN repairsys.appointment b ON b.technician_id = a.technician_id AND b.id > a.id
	   AND b.state IN ('booked', 'done') AND b.slot_start < a.slot_end AND a.slot_start < b.slot_end
	 WHERE a.state IN ('booked', 'done')
	UNION ALL
	SELECT 'no visit is booked inside an approved absence', a.ticket_id, NULL, NULL, NULL, a.technician_id,
	       pg_catalog.format('appointment %s meets absence %s', a.id, x.id)
	  FROM repairsys.appointment a
	  JOIN repairsys.technician_absence x ON x.technician_id = a.technician_id AND x.status = 'approved'
	   AND x.during && pg_catalog.tstzrange(a.slot_start, a.slot_end)
	 WHERE a.state = 'booked'
	UNION ALL
	SELECT 'no visit is booked outside a shift', a.ticket_id, NULL, NULL, NULL, a.technician_id,
	       pg_catalog.format('appointment %s at %s is not within the rostered hours', a.id, a.slot_start)
	  FROM repairsys.appointment a
	 WHERE a.state = 'booked'
	   AND NOT (repairsys.roster_ranges(a.technician_id, a.slot_start, a.slot_end) @> pg_catalog.tstzrange(a.slot_start, a.slot_end))
	UNION ALL
	-- the roll-up of the report views (71_rollups.sql) equals a
	-- recomputation from the tickets, invoice lines, stock movements and
	-- feedback, column for column
	SELECT 'roll-up ticket_fact equals a recomputation', coalesce(k.ticket_id, r.ticket_id), NULL,
	       coalesce(k.service_center_id, r.service_center_id), NULL, coalesce(k.technician_id, r.technician_id),
	       CASE WHEN k.ticket_id IS NULL THEN 'kept (no row)'
	            WHEN r.ticket_id IS NULL THEN 'kept a row, no ticket'
	            ELSE (SELECT pg_catalog.string_agg(pg_catalog.format('%s kept %s, recomputed %s', kv.key, kv.value, rv.value), '; ' ORDER BY kv.key)
	                    FROM pg_catalog.jsonb_each(pg_catalog.to_jsonb(k)) kv
	                    JOIN pg_catalog.jsonb_each(pg_catalog.to_jsonb(r)) rv ON rv.key = kv.key
	                   WHERE kv.value::text IS DISTINCT FROM rv.value::text) END
	  FROM repairsys.ticket_fact k
	  FULL JOIN repairsys.ticket_fact_recomputed() r ON r.ticket_id = k.ticket_id
	 WHERE k.ticket_id IS NULL OR r.ticket_id IS NULL OR k::text <> r::text
	-- customer_rollup: customer_profile's roll-up (71b_customer_rollup.sql)
	-- equals a recomputation from the assets, tickets, feedback and
	-- payments, column for column; the detail names the customer
	UNION ALL
	SELECT 'roll-up customer_rollup equals a recomputation', NULL, NULL, NULL, NULL, NULL,
	       pg_catalog.format('customer %s: %s', coalesce(k.customer_id, r.customer_id),
	       CASE WHEN k.customer_id IS NULL THEN 'kept (no row)'
	            WHEN r.customer_id IS NULL THEN 'kept a row, no customer'
	            ELSE (SELECT pg_catalog.string_agg(pg_catalog.format('%s kept %s, recomputed %s', kv.key, kv.value, rv.value), '; ' ORDER BY kv.key)
	                    FROM pg_catalog.jsonb_each(pg_catalog.to_jsonb(k)) kv
	                    JOIN pg_catalog.jsonb_each(pg_catalog.to_jsonb(r)) rv ON rv.key = kv.key
	                   WHERE kv.value::text IS DISTINCT FROM rv.value::text) END)
	  FROM repairsys.customer_rollup k
	  FULL JOIN repairsys.customer_rollup_recomputed() r ON r.customer_id = k.customer_id
	 WHERE k.customer_id IS NULL OR r.customer_id IS NULL OR k::text <> r::text;
	-- (end of customer_rollup)
END;
COMMENT ON FUNCTION repairsys.check_invariants() IS 'One row per violated invariant: ticket status = last event, status_role = the role of the status, stock = ledger and never negative, reserved = reservations and within on hand, serialized units = stock, returns within issues, reservations only on open tickets, no technician over capacity, closed_at set exactly in terminal states, each technician''s kept load = a recount, bill lines = bill total, invoice = its lines, payments within the invoice, no technician in two visits at once or booked inside an approved absence or outside his rostered hours, the roll-ups of the report views (ticket_fact, customer_rollup) = a recomputation; empty on a healthy database';
