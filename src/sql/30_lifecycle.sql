-- The ticket life cycle (docs/lifecycle.md), enforced by triggers on
-- repairsys.ticket so that no route (function, plain UPDATE, ORM) can go
-- around it; the append-only rule of the history and ledger tables; the
-- pg_dump handling of user data and seeded rows; repairsys.open_ticket().
-- The functions of the life-cycle triggers are here; the triggers themselves,
-- with those of every other feature and their order, in 80_ticket_triggers.sql.

------------------------------------------------------------------------------
-- Settings
------------------------------------------------------------------------------
CREATE FUNCTION repairsys.setting_value(setting_name text)
RETURNS text
LANGUAGE plpgsql STABLE STRICT PARALLEL SAFE
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
DECLARE
	v text;
BEGIN
	SELECT s.value INTO v FROM repairsys.setting s WHERE s.name = setting_name;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'unknown repairsys setting "%"', setting_name
			USING ERRCODE = '22023',
			      HINT = 'The settings are the rows of repairsys.setting.';
	END IF;
	RETURN v;
END
$$;
COMMENT ON FUNCTION repairsys.setting_value(text) IS 'Value of a row of repairsys.setting, as text; unknown name: error 22023';

------------------------------------------------------------------------------
-- Append-only tables
------------------------------------------------------------------------------
CREATE FUNCTION repairsys.forbid_change()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
BEGIN
	-- The owner of the table (and superusers, members of every role) may
	-- correct the history; nobody else.
	IF repairsys.is_table_owner(TG_RELID) THEN
		IF TG_LEVEL = 'STATEMENT' THEN
			RETURN NULL;
		ELSIF TG_OP = 'DELETE' THEN
			RETURN OLD;
		END IF;
		RETURN NEW;
	END IF;
	-- (a partition of ticket_event, stock_movement or event is named by its
	-- table, 57_partitions.sql)
	RAISE EXCEPTION 'cannot % rows of append-only table %', pg_catalog.lower(TG_OP),
		(SELECT pg_catalog.format('%I.%I', n.nspname, c.relname)
		   FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) c.relnamespace
		  WHERE c.oid OPERATOR(pg_catalog.=) coalesce(pg_catalog.pg_partition_root(TG_RELID), TG_RELID))
		USING ERRCODE = '42501',
		      DETAIL = 'Rows of this table are never changed or removed once written.',
		      HINT = 'Record a correcting row instead.';
END
$$;
COMMENT ON FUNCTION repairsys.forbid_change() IS 'Trigger function of the append-only tables: UPDATE, DELETE and TRUNCATE fail (42501) for every role but the table owner';

CREATE TRIGGER ticket_event_append_only BEFORE UPDATE OR DELETE ON repairsys.ticket_event
	FOR EACH ROW EXECUTE FUNCTION repairsys.forbid_change();
CREATE TRIGGER ticket_event_no_truncate BEFORE TRUNCATE ON repairsys.ticket_event
	FOR EACH STATEMENT EXECUTE FUNCTION repairsys.forbid_change();

------------------------------------------------------------------------------
-- Seeded rows and pg_dump
------------------------------------------------------------------------------
-- Seeded rows are inserted with dump = false and left out of pg_dump (the
-- config-dump filter is 'WHERE dump'); CREATE EXTENSION seeds them again on
-- restore.  When a user changes a seeded row, the flag turns true so the
-- change is dumped; when the restore then inserts that row, it replaces the
-- seeded row of the same key instead of failing on the key.  Arguments: the
-- key columns.
CREATE FUNCTION repairsys.seed_row_changed()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
-- The dynamic statements below are built only from identifiers quoted by
-- format('%I') (the trigger's key-column arguments and the table's own column
-- names) and pass every value as a parameter, which plpgsql_check cannot see:
-- @plpgsql_check_options: security_warnings = false
DECLARE
	cond  text := '';
	sets  text;
	k     text;
	seeded boolean;
BEGIN
	IF TG_OP = 'UPDATE' THEN
		IF NOT NEW.dump AND (pg_catalog.to_jsonb(NEW) - 'dump') IS DISTINCT FROM (pg_catalog.to_jsonb(OLD) - 'dump') THEN
			NEW.dump := true;
		END IF;
		RETURN NEW;
	END IF;

	FOREACH k IN ARRAY TG_ARGV LOOP
		cond := cond || pg_catalog.format(' AND %I OPERATOR(pg_catalog.=) ($1).%I', k, k);
	END LOOP;
	EXECUTE pg_catalog.format('SELECT true FROM %I.%I WHERE NOT dump %s', TG_TABLE_SCHEMA, TG_TABLE_NAME, cond)
		INTO seeded USING NEW;
	IF seeded THEN
		SELECT pg_catalog.string_agg(pg_catalog.format('%I = ($1).%I', a.attname, a.attname), ', ')
		  INTO sets
		  FROM pg_catalog.pg_attribute a
		 WHERE a.attrelid = TG_RELID AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = '';
		EXECUTE pg_catalog.format('UPDATE %I.%I SET %s WHERE true %s', TG_TABLE_SCHEMA, TG_TABLE_NAME, sets, cond)
			USING NEW;
		RETURN NULL;
	END IF;
	RETURN NEW;
END
$$;
COMMENT ON FUNCTION repairsys.seed_row_changed() IS 'Trigger function of seeded tables: marks changed seeded rows for pg_dump, and lets an INSERT of a row whose key is an unchanged seeded row replace that row (so a restore keeps the user''s changes)';

CREATE TRIGGER setting_seed BEFORE INSERT OR UPDATE ON repairsys.setting
	FOR EACH ROW EXECUTE FUNCTION repairsys.seed_row_changed('name');
CREATE TRIGGER complexity_rule_seed BEFORE INSERT OR UPDATE ON repairsys.complexity_rule
	FOR EACH ROW EXECUTE FUNCTION repairsys.seed_row_changed('level');
CREATE TRIGGER urgency_rule_seed BEFORE INSERT OR UPDATE ON repairsys.urgency_rule
	FOR EACH ROW EXECUTE FUNCTION repairsys.seed_row_changed('urgency');
-- (states are matched on the code they were seeded with: a renamed seeded
-- state, restored, replaces its seeded row, and its transitions follow)
CREATE TRIGGER ticket_status_seed BEFORE INSERT OR UPDATE ON repairsys.ticket_status
	FOR EACH ROW EXECUTE FUNCTION repairsys.seed_row_changed('seed_code');
CREATE TRIGGER ticket_transition_seed BEFORE INSERT OR UPDATE ON repairsys.ticket_transition
	FOR EACH ROW EXECUTE FUNCTION repairsys.seed_row_changed('from_status', 'to_status');
CREATE TRIGGER assign_policy_seed BEFORE INSERT OR UPDATE ON repairsys.assign_policy
	FOR EACH ROW EXECUTE FUNCTION repairsys.seed_row_changed('name');

-- (one call per statement: each call updates the pg_extension row)
DO $$
DECLARE
	t text;
BEGIN
	FOREACH t IN ARRAY ARRAY['setting', 'complexity_rule', 'urgency_rule', 'ticket_status',
	                         'ticket_transition', 'assign_policy'] LOOP
		PERFORM pg_catalog.pg_extension_config_dump(pg_catalog.format('repairsys.%I', t)::regclass, 'WHERE dump');
	END LOOP;
	-- User data: dumped whole.  repairsys.stock is derived from the ledger
	-- and the reservations (see the spare-parts piece).
	FOREACH t IN ARRAY ARRAY['service_center', 'customer', 'asset', 'technician', 'technician_skill',
	                         'service_type', 'sla_policy', 'holiday', 'ticket', 'ticket_event',
	                         'part', 'stock_movement', 'part_unit', 'ticket_part', 'invoice',
	                         'invoice_line', 'payment', 'installment', 'feedback'] LOOP
		PERFORM pg_catalog.pg_extension_config_dump(pg_catalog.format('repairsys.%I', t)::regclass, '');
	END LOOP;
END
$$;

------------------------------------------------------------------------------
-- The workflow's states (data: docs/lifecycle.md)
------------------------------------------------------------------------------
-- The roles some rule of the extension needs a state of: opening (initial),
-- assignment (assigned), work (active), invoicing (resolved), settlement and
-- follow-ups (closed), cancellation (cancelled).  on_hold is optional.
CREATE FUNCTION repairsys.required_state_roles()
RETURNS text[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE
BEGIN ATOMIC
	SELECT ARRAY['initial', 'assigned', 'active', 'resolved', 'closed', 'cancelled'];
END;
COMMENT ON FUNCTION repairsys.required_state_roles() IS 'State roles the workflow must always have a state of (every role but on_hold)';

-- The code of the state of a role that a ticket in state from_code moves to
-- by an enabled transition (the first by sort_order), else NULL.
CREATE FUNCTION repairsys.next_state(from_code text, to_role text)
RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = repairsys, pg_catalog, pg_temp
BEGIN ATOMIC
	SELECT s.code
	  FROM repairsys.ticket_transition x
	  JOIN repairsys.ticket_status s ON s.code = x.to_status
	 WHERE x.from_status = next_state.from_code AND x.enabled AND s.role = next_state.to_role
	 ORDER BY s.sort_order, s.code
	 LIMIT 1;
END;
COMMENT ON FUNCTION repairsys.next_state(text, text) IS 'The state of a role that a ticket in state from_code can move to by an enabled transition (first by sort_order, then code); NULL when none';

-- BEFORE INSERT OR UPDATE on ticket_status: the name defaults to the code; a
-- state's role cannot change while tickets are in it; a rename (code
-- changed) carries the history along (the tickets and transitions follow by
-- their foreign keys, ON UPDATE CASCADE) and tells the ticket triggers that
-- a rename is under way (transaction setting repairsys.renaming_status: the
-- cascaded ticket updates run, and their AFTER triggers fire, after this
-- statement's own AFTER triggers, so it stays on until the transaction ends;
-- the C triggers take a change for a rename only when the old code is gone
-- from ticket_status, so the setting cannot excuse a real status change).
-- SECURITY DEFINER: the history is append-only for everyone but its owner.
CREATE FUNCTION repairsys.ticket_status_trg()
RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
BEGIN
	IF NEW.name IS NULL OR NEW.name = '' THEN
		NEW.name := NEW.code;
	END IF;
	IF TG_OP = 'UPDATE' THEN
		IF NEW.role IS DISTINCT FROM OLD.role
		   AND EXISTS (SELECT 1 FROM repairsys.ticket t WHERE t.status = OLD.code) THEN
			RAISE EXCEPTION 'cannot change the role of state "%" while tickets are in it', OLD.code
				USING ERRCODE = '23514',
				      DETAIL = pg_catalog.format('The role is "%s"; %s tickets are in the state.', OLD.role,
				                                 (SELECT pg_catalog.count(*) FROM repairsys.ticket t WHERE t.status = OLD.code)),
				      HINT = 'Add a state with the new role and move the tickets there.';
		END IF;
		IF NEW.code IS DISTINCT FROM OLD.code THEN
			PERFORM pg_catalog.set_config('repairsys.renaming_status', 'on', true);
			UPDATE repairsys.ticket_event e SET from_status = NEW.code WHERE e.from_status = OLD.code;
			UPDATE repairsys.ticket_event e SET to_status = NEW.code WHERE e.to_status = OLD.code;
		END IF;
	END IF;
	RETURN NEW;
END
$$;
COMMENT ON FUNCTION repairsys.ticket_status_trg() IS 'BEFORE INSERT OR UPDATE trigger of ticket_status: the name defaults to the code, no role change under tickets (23514), a rename carries the history along';

-- AFTER each statement on ticket_status: every role a rule needs still has a
-- state.
CREATE FUNCTION repairsys.ticket_status_check_trg()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
DECLARE
	missing text;
BEGIN
	SELECT pg_catalog.string_agg(pg_catalog.format('"%s"', r), ', ' ORDER BY r) INTO missing
	  FROM pg_catalog.unnest(repairsys.required_state_roles()) AS r
	 WHERE NOT EXISTS (SELECT 1 FROM repairsys.ticket_status s WHERE s.role = r);
	IF missing IS NOT NULL THEN
		RAISE EXCEPTION 'the workflow needs a state of each role %', missing
			USING ERRCODE = '23514',
			      DETAIL = 'The rules of repairsys find states by role: opening (initial), assignment (assigned), work (active), invoicing (resolved), settlement (closed) and cancellation (cancelled).',
			      HINT = 'Keep at least one state of each of these roles; disable transitions instead of removing states.';
	END IF;
	RETURN NULL;
END
$$;
COMMENT ON FUNCTION repairsys.ticket_status_check_trg() IS 'AFTER statement trigger of ticket_status: refuses a workflow without a state of a role a rule needs (23514)';

CREATE TRIGGER ticket_status_10_check BEFORE INSERT OR UPDATE ON repairsys.ticket_status
	FOR EACH ROW EXECUTE FUNCTION repairsys.ticket_status_trg();
CREATE TRIGGER ticket_status_90_roles AFTER INSERT OR UPDATE OR DELETE ON repairsys.ticket_status
	FOR EACH STATEMENT EXECUTE FUNCTION repairsys.ticket_status_check_trg();

------------------------------------------------------------------------------
-- The life cycle
------------------------------------------------------------------------------

-- Nearest service center (great circle) to a point; NULL without coordinates.
CREATE FUNCTION repairsys.nearest_service_center(lat double precision, lon double precision)
RETURNS bigint
LANGUAGE plpgsql STABLE STRICT PARALLEL SAFE
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
BEGIN
	RETURN (SELECT c.id
	          FROM repairsys.service_center c
	         WHERE c.lat IS NOT NULL AND c.lon IS NOT NULL
	         ORDER BY repairsys.haversine_km(c.lat, c.lon, nearest_service_center.lat, nearest_service_center.lon), c.id
	         LIMIT 1);
END
$$;
COMMENT ON FUNCTION repairsys.nearest_service_center(double precision, double precision) IS 'Id of the service center nearest to a point (great-circle distance; ties: lower id)';

-- BEFORE INSERT: a new ticket starts in the initial state with trigger-owned
-- columns empty.  The table owner may insert rows that carry a state of their
-- own (status_changed_at given): that is how pg_dump restores, and how a DBA
-- migrates history; such rows are taken as they are.
CREATE FUNCTION repairsys.ticket_open_trg()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
DECLARE
	initial text;
	cust    repairsys.customer;
	owner   boolean;
BEGIN
	owner := repairsys.is_table_owner(TG_RELID);
	IF NEW.status_changed_at IS NOT NULL THEN
		IF owner THEN
			-- restore or migration of an existing ticket: taken as it is, its
			-- state's role read from the workflow
			NEW.status_role := (SELECT s.role FROM repairsys.ticket_status s WHERE s.code = NEW.status);
			RETURN NEW;
		END IF;
		RAISE EXCEPTION 'column "status_changed_at" of a new ticket is set by repairsys'
			USING ERRCODE = '428C9',
			      DETAIL = 'Only the owner of repairsys.ticket may insert tickets with a history (restore, migration).';
	END IF;

	SELECT s.code INTO initial FROM repairsys.ticket_status s WHERE s.role = 'initial';
	IF NEW.status IS NULL THEN
		NEW.status := initial;
	ELSIF NEW.status IS DISTINCT FROM initial THEN
		RAISE EXCEPTION 'a new ticket must start in status "%"', initial
			USING ERRCODE = '23514',
			      DETAIL = pg_catalog.format('The ticket was inserted with status "%s"; later states are reached through transitions.', NEW.status);
	END IF;
	IF NEW.first_response_at IS NOT NULL OR NEW.resolved_at IS NOT NULL OR NEW.closed_at IS NOT NULL
	   OR NEW.reopen_count <> 0 THEN
		RAISE EXCEPTION 'columns first_response_at, resolved_at, closed_at and reopen_count of a ticket are set by repairsys'
			USING ERRCODE = '428C9';
	END IF;

	SELECT * INTO cust FROM repairsys.customer c WHERE c.id = NEW.customer_id;
	-- (an unknown customer is left to the foreign key, which names it)
	IF NEW.asset_id IS NOT NULL AND FOUND
	   AND NOT EXISTS (SELECT 1 FROM repairsys.asset a WHERE a.id = NEW.asset_id AND a.customer_id = NEW.customer_id) THEN
		IF EXISTS (SELECT 1 FROM repairsys.asset a WHERE a.id = NEW.asset_id) THEN
			RAISE EXCEPTION 'asset % does not belong to customer %', NEW.asset_id, NEW.customer_id
				USING ERRCODE = '23514';
		END IF;
	END IF;
	IF NEW.lat IS NULL AND NEW.lon IS NULL THEN
		NEW.lat := cust.lat;
		NEW.lon := cust.lon;
	END IF;
	IF NEW.service_center_id IS NULL THEN
		NEW.service_center_id := coalesce(cust.service_center_id,
		                                  repairsys.nearest_service_center(NEW.lat, NEW.lon));
	END IF;
	NEW.status_role := 'initial';
	NEW.status_changed_at := pg_catalog.now();
	NEW.changed_by := current_user;
	RETURN NEW;
END
$$;
COMMENT ON FUNCTION repairsys.ticket_open_trg() IS 'BEFORE INSERT trigger of repairsys.ticket: initial state, defaults from the customer, trigger-owned columns';

-- Reason the guard refuses the ticket (NULL: the guard passes).  Guards read
-- bills and payments the caller may not see, so the life-cycle trigger
-- (src/lifecycle.c) calls this with the ticket table owner's rights, around
-- this one query.  It is not SECURITY DEFINER and nobody but the owner may
-- execute it (90_security.sql): a row made up by a caller
-- (jsonb_populate_record(NULL::repairsys.ticket, ...)) never reaches it, and
-- what it answers goes only into the trigger's error message, which names
-- what is missing, never a figure (an invoice number, a balance) the caller
-- may not read.
CREATE FUNCTION repairsys.check_guard(guard text, t repairsys.ticket)
RETURNS text
LANGUAGE plpgsql STABLE
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
BEGIN
	CASE guard
		WHEN 'has_technician' THEN RETURN repairsys.guard_has_technician(t);
		WHEN 'estimate_approved' THEN RETURN repairsys.guard_estimate_approved(t);
		WHEN 'labor_recorded' THEN RETURN repairsys.guard_labor_recorded(t);
		WHEN 'settled' THEN RETURN repairsys.guard_settled(t);
		WHEN 'reopen_window' THEN RETURN repairsys.guard_reopen_window(t);
		ELSE
			RAISE EXCEPTION 'unknown ticket transition guard "%"', guard USING ERRCODE = '22023';
	END CASE;
END
$$;
COMMENT ON FUNCTION repairsys.check_guard(text, repairsys.ticket) IS 'Evaluates a named transition guard on a ticket row: NULL when it passes, else what is missing; called only by the life-cycle trigger, with the table owner''s rights';

-- BEFORE UPDATE: checks a status change against ticket_transition and its
-- guard (23514, the allowed next states in the DETAIL); keeps the
-- trigger-owned columns (428C9); sets changed_by and the life-cycle stamps.
-- In C (src/lifecycle.c): it runs on every ticket UPDATE.
CREATE FUNCTION repairsys.ticket_transition_trg()
RETURNS trigger
AS 'MODULE_PATHNAME', 'ticket_transition_trg' LANGUAGE C;
COMMENT ON FUNCTION repairsys.ticket_transition_trg() IS 'BEFORE UPDATE trigger of repairsys.ticket: checks status changes against ticket_transition and its guard (23514), sets the life-cycle stamps';

-- AFTER INSERT OR UPDATE: one ticket_event row per status change (and per
-- change of technician), and a notification to listening applications.  In C
-- (src/lifecycle.c).  The history row is written with the rights of the
-- ticket table's owner, so that roles without INSERT on the history still get
-- their changes recorded; the actor is the changed_by the BEFORE trigger took
-- from current_user.  (Not SECURITY DEFINER: the C function switches the user
-- only around its one INSERT, and all its queries are schema-qualified.)
CREATE FUNCTION repairsys.ticket_log_trg()
RETURNS trigger
AS 'MODULE_PATHNAME', 'ticket_log_trg' LANGUAGE C;
COMMENT ON FUNCTION repairsys.ticket_log_trg() IS 'AFTER INSERT OR UPDATE trigger of repairsys.ticket: appends the ticket_event row and sends NOTIFY repairsys_events';


------------------------------------------------------------------------------
-- Distribution key of the billing tables
------------------------------------------------------------------------------
-- An invoice carries its ticket's service center, so that invoice lines,
-- payments and installments reach a center in one join (docs/scaling.md).
CREATE FUNCTION repairsys.invoice_center_trg()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
BEGIN
	IF NEW.service_center_id IS NULL THEN
		SELECT t.service_center_id INTO NEW.service_center_id FROM repairsys.ticket t WHERE t.id = NEW.ticket_id;
	END IF;
	IF NEW.invoice_no IS NULL THEN
		NEW.invoice_no := 'INV-' || pg_catalog.lpad(NEW.id::text, 8, '0');
	END IF;
	RETURN NEW;
END
$$;
COMMENT ON FUNCTION repairsys.invoice_center_trg() IS 'BEFORE INSERT trigger of repairsys.invoice: takes the service center from the ticket, and numbers the invoice INV-<8-digit id>, when not given';
CREATE TRIGGER invoice_10_center BEFORE INSERT ON repairsys.invoice
	FOR EACH ROW EXECUTE FUNCTION repairsys.invoice_center_trg();

------------------------------------------------------------------------------
-- Functions for applications
------------------------------------------------------------------------------
CREATE FUNCTION repairsys.open_ticket(customer_id bigint, service_type text, description text,
                                      urgency text DEFAULT 'normal', complexity integer DEFAULT 1,
                                      asset_id bigint DEFAULT NULL, channel text DEFAULT 'web')
RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
DECLARE
	new_id bigint;
BEGIN
	IF NOT EXISTS (SELECT 1 FROM repairsys.customer c WHERE c.id = open_ticket.customer_id) THEN
		RAISE EXCEPTION 'customer % does not exist', open_ticket.customer_id USING ERRCODE = '23503';
	END IF;
	IF NOT EXISTS (SELECT 1 FROM repairsys.service_type s WHERE s.code = open_ticket.service_type) THEN
		RAISE EXCEPTION 'service type "%" does not exist', open_ticket.service_type USING ERRCODE = '23503';
	END IF;
	IF NOT EXISTS (SELECT 1 FROM repairsys.urgency_rule u WHERE u.urgency = open_ticket.urgency) THEN
		RAISE EXCEPTION 'invalid urgency "%"', open_ticket.urgency
			USING ERRCODE = '22023',
			      HINT = (SELECT pg_catalog.format('Known urgencies: %s.', pg_catalog.string_agg(u.urgency, ', ' ORDER BY u.surcharge_pct))
			                FROM repairsys.urgency_rule u);
	END IF;
	IF open_ticket.channel IS NULL OR open_ticket.channel NOT IN ('phone', 'web', 'app', 'mini_program', 'walk_in') THEN
		RAISE EXCEPTION 'invalid channel "%"', open_ticket.channel
			USING ERRCODE = '22023',
			      HINT = 'Known channels: phone, web, app, mini_program, walk_in.';
	END IF;
	IF open_ticket.complexity IS NULL OR open_ticket.complexity NOT BETWEEN 1 AND 5 THEN
		RAISE EXCEPTION 'complexity % is out of range', coalesce(open_ticket.complexity::text, 'NULL')
			USING ERRCODE = '22023',
			      HINT = 'Complexity is a level from 1 to 5.';
	END IF;
	INSERT INTO repairsys.ticket (customer_id, service_type, description, urgency, complexity, asset_id, channel)
	VALUES (open_ticket.customer_id, open_ticket.service_type, open_ticket.description, open_ticket.urgency,
	        open_ticket.complexity, open_ticket.asset_id, open_ticket.channel)
	RETURNING id INTO new_id;
	RETURN new_id;
END
$$;
COMMENT ON FUNCTION repairsys.open_ticket(bigint, text, text, text, integer, bigint, text) IS 'Opens a ticket for a customer; location and service center default to the customer''s; returns the ticket id';

CREATE FUNCTION repairsys.set_status(ticket_id bigint, status text, note text DEFAULT NULL)
RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
BEGIN
	PERFORM pg_catalog.set_config('repairsys.note', coalesce(note, ''), true);
	UPDATE repairsys.ticket t SET status = set_status.status WHERE t.id = set_status.ticket_id;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'ticket % does not exist', set_status.ticket_id USING ERRCODE = '22023';
	END IF;
	PERFORM pg_catalog.set_config('repairsys.note', '', true);
END
$$;
COMMENT ON FUNCTION repairsys.set_status(bigint, text, text) IS 'Moves a ticket to another status (checked by the life-cycle trigger) with an optional note for its history';
