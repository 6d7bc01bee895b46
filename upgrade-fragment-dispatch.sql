-- upgrade-fragment-dispatch.sql: issue 18 (time-aware dispatch), for the
-- author of repairsys--1.1--1.2.sql.  It brings a database that has the
-- extension as main had it (commit 736e2cf) to the dispatch branch's state for
-- the objects that existed before and that the branch changed.  The branch's
-- entirely new pieces, src/sql/23_tables_dispatch.sql, src/sql/52_dispatch.sql
-- and src/sql/56_plan.sql, are taken as they are, in between:
--
--   part A (below), then 23_tables_dispatch.sql, then part B, then
--   52_dispatch.sql and 56_plan.sql, then part C.
--
-- (A before 23: the new tables' CHECK uses sla_calendar(), which exists; A
-- adds the ticket column the functions of 52 read and renames the C
-- candidates() to candidates_base() so that 52 can create the SQL
-- candidates().  C after 52: the view, the invariants and the ticket
-- triggers use 52's functions, and the rights cover 52's objects.)

------------------------------------------------------------------------------
-- part A
------------------------------------------------------------------------------
-- the arrival stamp of ticket (src/sql/20_tables.sql, last column)
ALTER TABLE repairsys.ticket ADD COLUMN arrived_at timestamptz;
COMMENT ON COLUMN repairsys.ticket.arrived_at IS 'When the technician arrived on site (上门; set by repairsys.check_in(), now, once)';
-- (the finite CHECK that 85_finite.sql gives every time column)
ALTER TABLE repairsys.ticket ADD CONSTRAINT ticket_arrived_at_finite CHECK (pg_catalog.isfinite(arrived_at));

-- sla_windows() (src/sql/11_sla_interval.sql, new C function of sla_interval.c)
CREATE FUNCTION repairsys.sla_windows(sla repairsys.sla_interval, from_ts timestamptz, to_ts timestamptz,
                                      closed date[] DEFAULT NULL, default_zone text DEFAULT NULL,
                                      open date[] DEFAULT NULL, open_as integer[] DEFAULT NULL)
RETURNS TABLE (starts timestamptz, ends timestamptz)
	AS 'MODULE_PATHNAME', 'sla_interval_windows' LANGUAGE C STABLE PARALLEL SAFE ROWS 20;
COMMENT ON FUNCTION repairsys.sla_windows(repairsys.sla_interval, timestamptz, timestamptz, date[], text, date[], integer[]) IS 'The business windows of the value''s calendar (with the closed and open dates, as in sla_elapsed) that meet [from_ts, to_ts), clipped to it, in time order, touching windows merged (wall-clock values: the whole stretch); their lengths sum to sla_elapsed; at most 3660 days (54000)';

-- the settings of dispatch (src/sql/25_seed.sql)
INSERT INTO repairsys.setting (name, value, description, dump, type, min_value, choices) VALUES
	('slot_length', '2 hours', 'Length of a bookable visit slot (预约时段): available_slots() offers slots of this length and book_visit() books one', false, 'interval', NULL, NULL),
	('travel_speed_kmh', '30', 'Speed in km/h at which travel time between two consecutive visits of a technician is counted (great-circle distance)', false, 'number', 1, NULL),
	('max_reschedules', '3', 'How often one ticket''s visit may be rescheduled (改约)', false, 'integer', 0, NULL);

-- candidates(): the C function keeps its body under a new name; the SQL
-- candidates() of 52_dispatch.sql wraps it (src/sql/50_assign.sql)
ALTER FUNCTION repairsys.candidates(bigint, text) RENAME TO candidates_base;
COMMENT ON FUNCTION repairsys.candidates_base(bigint, text) IS
	'Internal kernel of repairsys.candidates(): every technician for a ticket under an assignment policy, without the rules of time: eligible or not and why, score in [0,1] and its parts; best first (eligible, higher score, lower id). Unknown ticket or policy: 22023; finished ticket: 23514; NULL argument: 22004';

------------------------------------------------------------------------------
-- part B: (src/sql/23_tables_dispatch.sql goes before this point)
------------------------------------------------------------------------------
-- the identity sequences of the new tables are dumped (as 99_finish.sql does
-- for every dumped table)
SELECT pg_catalog.pg_extension_config_dump(pg_catalog.pg_get_serial_sequence('repairsys.' || t, 'id')::regclass, '')
  FROM unnest(ARRAY['technician_roster', 'technician_absence', 'appointment']) t;
-- the finite CHECKs that 85_finite.sql gives every number and time column
-- of every table, for the new tables (the same loop, on them only)
DO $$
DECLARE
	c record;
BEGIN
	FOR c IN
		SELECT a.attrelid::pg_catalog.regclass AS rel, r.relname, a.attname, t.typname
		  FROM pg_catalog.pg_attribute a
		  JOIN pg_catalog.pg_class r ON r.oid OPERATOR(pg_catalog.=) a.attrelid
		  JOIN pg_catalog.pg_type t ON t.oid OPERATOR(pg_catalog.=) a.atttypid
		 WHERE r.relnamespace OPERATOR(pg_catalog.=) 'repairsys'::pg_catalog.regnamespace
		   AND r.relname OPERATOR(pg_catalog.=) ANY (ARRAY['technician_roster', 'technician_absence', 'appointment']::name[])
		   AND a.attnum OPERATOR(pg_catalog.>) 0 AND NOT a.attisdropped
		   AND t.typname OPERATOR(pg_catalog.=) ANY (ARRAY['numeric', 'float4', 'float8', 'date', 'timestamp', 'timestamptz', 'interval']::name[])
		 ORDER BY r.relname, a.attnum
	LOOP
		EXECUTE pg_catalog.format('ALTER TABLE %s ADD CONSTRAINT %I CHECK (%s)', c.rel, c.relname || '_' || c.attname || '_finite',
			CASE WHEN c.typname OPERATOR(pg_catalog.=) ANY (ARRAY['numeric', 'float4', 'float8']::name[])
			     THEN pg_catalog.format('%1$I OPERATOR(pg_catalog.<>) ''NaN'' AND %1$I OPERATOR(pg_catalog.>) ''-Infinity'' AND %1$I OPERATOR(pg_catalog.<) ''Infinity''', c.attname)
			     ELSE pg_catalog.format('pg_catalog.isfinite(%I)', c.attname) END);
	END LOOP;
END
$$;

------------------------------------------------------------------------------
-- part C: (src/sql/52_dispatch.sql and 56_plan.sql go before this point)
------------------------------------------------------------------------------
-- sla_status with the visit and the arrival (src/sql/35_sla.sql)
CREATE OR REPLACE VIEW repairsys.sla_status AS
SELECT t.id AS ticket_id,
       t.service_center_id,
       t.service_type,
       t.urgency,
       t.status,
       t.opened_at,
       t.respond_by,
       t.first_response_at,
       CASE WHEN t.respond_by IS NULL THEN NULL
            ELSE coalesce(t.first_response_at, pg_catalog.now()) > t.respond_by END AS response_breached,
       t.resolve_by,
       s.pauses_sla AS paused,
       CASE WHEN s.pauses_sla THEN t.status_changed_at END AS paused_since,
       pg_catalog.round((pg_catalog.date_part('epoch', t.sla_paused) / 3600)::numeric, 2) AS paused_business_hours,
       pg_catalog.round((pg_catalog.date_part('epoch', x.left_time) / 3600)::numeric, 2) AS business_hours_left,
       x.left_time < interval '0' AS breached,
       t.sla_resolve_within::text AS resolve_within,
       t.sla_time_zone AS time_zone,
       v.slot_start AS visit_start,
       t.arrived_at,
       CASE WHEN v.slot_start IS NULL THEN NULL
            ELSE coalesce(t.arrived_at, pg_catalog.now()) > v.slot_start END AS arrival_late,
       CASE WHEN v.slot_start IS NULL THEN NULL
            ELSE greatest(0, pg_catalog.floor(pg_catalog.date_part('epoch', coalesce(t.arrived_at, pg_catalog.now()) - v.slot_start) / 60))::integer END AS minutes_late
  FROM repairsys.ticket t
  JOIN repairsys.ticket_status s ON s.code = t.status
  -- the visit the technician is due at: the booked one, else the one he
  -- checked in for (docs/dispatch.md)
  LEFT JOIN LATERAL (
	SELECT a.slot_start FROM repairsys.appointment a
	 WHERE a.ticket_id = t.id AND a.state IN ('booked', 'done')
	 ORDER BY a.state = 'booked' DESC, a.id DESC LIMIT 1
  ) v ON true
  LEFT JOIN LATERAL (
	-- (a row the triggers would refuse today, e.g. restored from an older
	-- version, gives NULL here instead of failing the whole view)
	SELECT CASE WHEN t.resolve_by IS NULL OR t.sla_resolve_within IS NULL
	                 OR NOT pg_catalog.isfinite(t.resolve_by) OR NOT pg_catalog.isfinite(t.status_changed_at) THEN NULL
	            ELSE repairsys.sla_elapsed(t.sla_resolve_within,
	                                       CASE WHEN s.pauses_sla THEN t.status_changed_at ELSE pg_catalog.now() END,
	                                       t.resolve_by,
	                                       repairsys.closed_dates(t.service_center_id), t.sla_time_zone,
	                                       od.days, od.works_as) END AS left_time
	  FROM repairsys.open_dates(t.service_center_id) od
  ) x ON true
 WHERE NOT s.is_terminal AND t.resolved_at IS NULL;
COMMENT ON COLUMN repairsys.sla_status.visit_start IS 'Start of the booked visit (else of the visit checked in for; NULL: no appointment)';
COMMENT ON COLUMN repairsys.sla_status.arrived_at IS 'When the technician checked in (NULL: not yet)';
COMMENT ON COLUMN repairsys.sla_status.arrival_late IS 'True when the technician arrived, or has still not arrived, after visit_start (NULL: no appointment)';
COMMENT ON COLUMN repairsys.sla_status.minutes_late IS 'Whole minutes from visit_start to the arrival (or to now while awaited), 0 when on time (NULL: no appointment)';
ALTER VIEW repairsys.sla_status SET (security_invoker = true);

-- check_invariants() with the invariants of time (src/sql/95_invariants.sql)
CREATE OR REPLACE FUNCTION repairsys.check_invariants()
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
	   AND NOT (repairsys.roster_ranges(a.technician_id, a.slot_start, a.slot_end) @> pg_catalog.tstzrange(a.slot_start, a.slot_end));
END;
COMMENT ON FUNCTION repairsys.check_invariants() IS 'One row per violated invariant: ticket status = last event, status_role = the role of the status, stock = ledger and never negative, reserved = reservations and within on hand, serialized units = stock, returns within issues, reservations only on open tickets, no technician over capacity, closed_at set exactly in terminal states, each technician''s kept load = a recount, bill lines = bill total, invoice = its lines, payments within the invoice, no technician in two visits at once or booked inside an approved absence or outside his rostered hours; empty on a healthy database';

-- (the triggers on repairsys.ticket, ticket_36_arrival, ticket_36_arrival_update,
-- ticket_57_visit_follow and ticket_58_visit_done, are created by
-- 52_dispatch.sql in its block "-- triggers on repairsys.ticket")

-- rights (src/sql/90_security.sql's decision lists and loops)
GRANT UPDATE (arrived_at) ON repairsys.ticket TO repairsys_technician;
DO $$
DECLARE
	me_t     constant text := '(SELECT t.id FROM repairsys.technician t WHERE t.db_role = CURRENT_USER)';
	tickets  constant text := 'ARRAY(SELECT t.id FROM repairsys.ticket t)';
	d record;
BEGIN
	FOR d IN SELECT * FROM (VALUES
		('technician_roster', 'repairsys_dispatcher', 'SELECT, INSERT, UPDATE, DELETE', 'ALL', 'true', 'true'),
		('technician_roster', 'repairsys_technician', 'SELECT', 'SELECT', 'technician_id = ' || me_t, NULL),
		('technician_absence', 'repairsys_dispatcher', 'SELECT, INSERT (technician_id, during, reason, status), UPDATE (status, reason)', 'ALL', 'true', 'true'),
		('technician_absence', 'repairsys_technician', 'SELECT, INSERT (technician_id, during, reason)', 'ALL',
		                       'technician_id = ' || me_t, 'technician_id = ' || me_t || ' AND status = ''requested'''),
		('appointment', 'repairsys_dispatcher', 'SELECT, INSERT (ticket_id, technician_id, slot_start, slot_end, replaces, reason), UPDATE (state, reason, technician_id)', 'ALL', 'true', 'true'),
		('appointment', 'repairsys_technician', 'SELECT', 'SELECT', 'technician_id = ' || me_t, NULL),
		('appointment', 'repairsys_customer', 'SELECT, INSERT (ticket_id, slot_start, slot_end, replaces, reason), UPDATE (state, reason)', 'ALL',
		                'ticket_id = ANY (' || tickets || ')', 'ticket_id = ANY (' || tickets || ') AND state IN (''booked'', ''rescheduled'', ''cancelled'')')
	) AS v(tbl, role, privs, cmd, using_expr, check_expr)
	LOOP
		EXECUTE pg_catalog.format('GRANT %s ON repairsys.%I TO %I', d.privs, d.tbl, d.role);
		EXECUTE pg_catalog.format('CREATE POLICY %I ON repairsys.%I FOR %s TO %I USING (%s)%s',
			pg_catalog.substr(d.role, 11), d.tbl, d.cmd, d.role, d.using_expr,
			CASE WHEN d.check_expr IS NULL THEN '' ELSE ' WITH CHECK (' || d.check_expr || ')' END);
	END LOOP;
END
$$;
DO $$
DECLARE
	t text;
BEGIN
	FOREACH t IN ARRAY ARRAY['technician_roster', 'technician_absence', 'appointment'] LOOP
		EXECUTE pg_catalog.format('ALTER TABLE repairsys.%I ENABLE ROW LEVEL SECURITY', t);
		EXECUTE pg_catalog.format('REVOKE ALL ON repairsys.%I FROM PUBLIC', t);
		EXECUTE pg_catalog.format('GRANT SELECT, INSERT, UPDATE, DELETE ON repairsys.%I TO repairsys_admin', t);
		EXECUTE pg_catalog.format('CREATE POLICY admin ON repairsys.%I FOR ALL TO repairsys_admin USING (true) WITH CHECK (true)', t);
		EXECUTE pg_catalog.format('GRANT SELECT ON repairsys.%I TO repairsys_auditor', t);
		EXECUTE pg_catalog.format('CREATE POLICY auditor ON repairsys.%I FOR SELECT TO repairsys_auditor USING (true)', t);
	END LOOP;
END
$$;
REVOKE ALL ON SEQUENCE repairsys.technician_roster_id_seq, repairsys.technician_absence_id_seq, repairsys.appointment_id_seq FROM PUBLIC;
-- SECURITY DEFINER functions of 52_dispatch.sql: the trigger functions for
-- nobody, slots_for() for every role
REVOKE ALL ON FUNCTION repairsys.appointment_check_trg(), repairsys.appointment_assign_trg(), repairsys.ticket_visit_trg() FROM PUBLIC;
REVOKE ALL ON FUNCTION repairsys.slots_for(bigint, text, double precision, double precision, date, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION repairsys.slots_for(bigint, text, double precision, double precision, date, integer)
	TO repairsys_admin, repairsys_dispatcher, repairsys_technician, repairsys_customer;
