-- Durable events, SLA escalations and scheduled jobs (DESIGN.md section 16,
-- docs/events.md).  Tables in 24_tables_events.sql.
--
-- The event log repairsys.event is written in the transaction of the change
-- it reports: status changes and technician changes by the life-cycle
-- trigger (src/lifecycle.c, with the history row), the other kinds by the
-- triggers below and by run_jobs().  A rolled-back change leaves no event.
-- NOTIFY repairsys_events stays the wake-up call.

------------------------------------------------------------------------------
-- Event ids and the reading horizon (src/events.c)
------------------------------------------------------------------------------
CREATE FUNCTION repairsys.next_event_id()
RETURNS bigint
AS 'MODULE_PATHNAME', 'next_event_id' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION repairsys.next_event_id() IS 'Id of the next event of the current transaction: ((xid8 + offset) << 24) | n; assigns the transaction id first';

CREATE FUNCTION repairsys.event_id_offset()
RETURNS bigint
AS 'MODULE_PATHNAME', 'event_id_offset' LANGUAGE C STABLE;
COMMENT ON FUNCTION repairsys.event_id_offset() IS 'Offset added to transaction ids in this cluster''s event ids (repairsys.event_clock); NULL when no event was written in this cluster yet';

-- Events below the horizon are final: every transaction that could still add
-- an id below it has ended (the oldest running transaction id, from the
-- statement's snapshot, shifted as next_event_id() shifts).
CREATE FUNCTION repairsys.event_horizon()
RETURNS bigint
LANGUAGE sql STABLE
SET search_path = repairsys, pg_catalog, pg_temp
BEGIN ATOMIC
	SELECT CASE WHEN o.off IS NULL THEN 9223372036854775807
	            ELSE ((pg_catalog.pg_snapshot_xmin(pg_catalog.pg_current_snapshot())::text::bigint + o.off) << 24) END
	  FROM (SELECT repairsys.event_id_offset() AS off) o;
END;
COMMENT ON FUNCTION repairsys.event_horizon() IS 'The id below which every event is final: no running transaction can still add one below it (read_events reads only below it)';

------------------------------------------------------------------------------
-- Writing events
------------------------------------------------------------------------------
-- One event, and the wake-up call (an empty payload: every role that can
-- connect hears every notification, docs/security.md).  Called by the
-- SECURITY DEFINER triggers and jobs of this piece, as the owner; nobody
-- else may execute it (90_security.sql).
CREATE FUNCTION repairsys.emit_event(kind text, ticket_id bigint, service_center_id bigint, payload jsonb)
RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
DECLARE
	new_id bigint := repairsys.next_event_id();
BEGIN
	INSERT INTO repairsys.event (id, kind, ticket_id, service_center_id, payload)
	VALUES (new_id, emit_event.kind, emit_event.ticket_id, emit_event.service_center_id, coalesce(emit_event.payload, '{}'));
	PERFORM pg_catalog.pg_notify('repairsys_events', '');
	RETURN new_id;
END
$$;
COMMENT ON FUNCTION repairsys.emit_event(text, bigint, bigint, jsonb) IS 'Appends one event to repairsys.event and sends the wake-up NOTIFY repairsys_events (empty payload); used by the extension''s triggers and jobs only';

-- A row inserted with a time of its own (not the transaction's) by a
-- session of the table's owner (pg_restore, a migration) brings its history
-- with it: its events are in the log already (restored) or belong to a past
-- the log does not cover.  The triggers below write no event for it.  (The
-- session's role, not the current one: the triggers run as the owner.)
CREATE FUNCTION repairsys.is_import(at timestamptz, rel regclass)
RETURNS boolean
LANGUAGE sql STABLE
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
	SELECT at IS DISTINCT FROM pg_catalog.now()
	   AND pg_catalog.pg_has_role(SESSION_USER,
	           (SELECT c.relowner FROM pg_catalog.pg_class c WHERE c.oid OPERATOR(pg_catalog.=) rel), 'MEMBER')
$$;
COMMENT ON FUNCTION repairsys.is_import(timestamptz, regclass) IS 'True for a row inserted with a time of its own by a session of the table owner (restore, migration): the event triggers write no event for it';

-- AFTER INSERT on invoice: invoice_issued.
CREATE FUNCTION repairsys.invoice_event_trg()
RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
BEGIN
	IF repairsys.is_import(NEW.issued_at, TG_RELID) THEN
		RETURN NULL;
	END IF;
	PERFORM repairsys.emit_event('invoice_issued', NEW.ticket_id, NEW.service_center_id,
		pg_catalog.jsonb_build_object('invoice_id', NEW.id, 'invoice_no', NEW.invoice_no,
		                              'total', NEW.total, 'currency', NEW.currency));
	RETURN NULL;
END
$$;
COMMENT ON FUNCTION repairsys.invoice_event_trg() IS 'AFTER INSERT trigger of invoice: writes the invoice_issued event (not for a restored or migrated row: is_import())';
CREATE TRIGGER invoice_90_event AFTER INSERT ON repairsys.invoice
	FOR EACH ROW EXECUTE FUNCTION repairsys.invoice_event_trg();

-- AFTER INSERT on payment: payment_recorded.
CREATE FUNCTION repairsys.payment_event_trg()
RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
DECLARE
	inv repairsys.invoice;
BEGIN
	IF repairsys.is_import(NEW.paid_at, TG_RELID) THEN
		RETURN NULL;
	END IF;
	SELECT * INTO inv FROM repairsys.invoice i WHERE i.id = NEW.invoice_id;
	PERFORM repairsys.emit_event('payment_recorded', inv.ticket_id, inv.service_center_id,
		pg_catalog.jsonb_build_object('payment_id', NEW.id, 'invoice_id', NEW.invoice_id,
		                              'amount', NEW.amount, 'method', NEW.method, 'currency', inv.currency));
	RETURN NULL;
END
$$;
COMMENT ON FUNCTION repairsys.payment_event_trg() IS 'AFTER INSERT trigger of payment: writes the payment_recorded event (not for a restored or migrated row: is_import())';
CREATE TRIGGER payment_90_event AFTER INSERT ON repairsys.payment
	FOR EACH ROW EXECUTE FUNCTION repairsys.payment_event_trg();

-- AFTER INSERT on ticket_part: part_reserved.
CREATE FUNCTION repairsys.ticket_part_event_trg()
RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
BEGIN
	IF repairsys.is_import(NEW.reserved_at, TG_RELID) THEN
		RETURN NULL;
	END IF;
	PERFORM repairsys.emit_event('part_reserved', NEW.ticket_id,
		(SELECT t.service_center_id FROM repairsys.ticket t WHERE t.id = NEW.ticket_id),
		pg_catalog.jsonb_build_object('sku', NEW.sku, 'qty', NEW.qty, 'stock_center_id', NEW.service_center_id,
		                              'state', NEW.state));
	RETURN NULL;
END
$$;
COMMENT ON FUNCTION repairsys.ticket_part_event_trg() IS 'AFTER INSERT trigger of ticket_part: writes the part_reserved event (not for a restored or migrated row: is_import())';
CREATE TRIGGER ticket_part_90_event AFTER INSERT ON repairsys.ticket_part
	FOR EACH ROW EXECUTE FUNCTION repairsys.ticket_part_event_trg();

-- AFTER UPDATE of estimate_approved_at on ticket: estimate_approved.
CREATE FUNCTION repairsys.ticket_estimate_event_trg()
RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
BEGIN
	PERFORM repairsys.emit_event('estimate_approved', NEW.id, NEW.service_center_id,
		pg_catalog.jsonb_build_object('approved_at', NEW.estimate_approved_at));
	RETURN NULL;
END
$$;
COMMENT ON FUNCTION repairsys.ticket_estimate_event_trg() IS 'AFTER UPDATE trigger of ticket (estimate_approved_at set): writes the estimate_approved event';


-- The event log is append-only (the history rule of 30_lifecycle.sql).
CREATE TRIGGER event_append_only BEFORE UPDATE OR DELETE ON repairsys.event
	FOR EACH ROW EXECUTE FUNCTION repairsys.forbid_change();
CREATE TRIGGER event_no_truncate BEFORE TRUNCATE ON repairsys.event
	FOR EACH STATEMENT EXECUTE FUNCTION repairsys.forbid_change();

------------------------------------------------------------------------------
-- Consumers
------------------------------------------------------------------------------
-- BEFORE INSERT OR UPDATE on event_consumer: a consumer belongs to the role
-- that made it; its cursor moves forward only and never to or past the
-- horizon (an ack there could step over an event still being written).
-- Holds for a plain INSERT or UPDATE as for ack_events().
CREATE FUNCTION repairsys.event_consumer_trg()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
DECLARE
	horizon bigint := repairsys.event_horizon();
BEGIN
	IF TG_OP = 'INSERT' THEN
		IF NOT repairsys.is_table_owner(TG_RELID) THEN
			NEW.role := current_user;
		END IF;
	ELSE
		IF NEW.role IS DISTINCT FROM OLD.role OR NEW.name IS DISTINCT FROM OLD.name THEN
			RAISE EXCEPTION 'cannot change the name or role of event consumer "%"', OLD.name
				USING ERRCODE = '23514';
		END IF;
		IF NEW.acked_up_to < OLD.acked_up_to THEN
			RAISE EXCEPTION 'cannot move event consumer "%" back', OLD.name
				USING ERRCODE = '23514',
				      DETAIL = pg_catalog.format('Its cursor is at %s; acknowledged events are never delivered again.', OLD.acked_up_to);
		END IF;
		IF NEW.acked_up_to IS DISTINCT FROM OLD.acked_up_to THEN
			NEW.acked_at := pg_catalog.now();
		END IF;
	END IF;
	IF NEW.acked_up_to >= horizon AND (TG_OP = 'INSERT' OR NEW.acked_up_to <> OLD.acked_up_to) THEN
		RAISE EXCEPTION 'cannot acknowledge events of consumer "%" at or past the horizon', NEW.name
			USING ERRCODE = '23514',
			      DETAIL = pg_catalog.format('Event %s is not below the horizon %s: a transaction still running may add events below it.', NEW.acked_up_to, horizon),
			      HINT = 'Acknowledge only ids that read_events() returned.';
	END IF;
	RETURN NEW;
END
$$;
COMMENT ON FUNCTION repairsys.event_consumer_trg() IS 'BEFORE INSERT OR UPDATE trigger of event_consumer: owned by its creator, the cursor moves forward only and stays below the horizon (23514)';
CREATE TRIGGER event_consumer_10_check BEFORE INSERT OR UPDATE ON repairsys.event_consumer
	FOR EACH ROW EXECUTE FUNCTION repairsys.event_consumer_trg();

-- The consumer's row, made on first use; 22023 for a bad name, 42501 when
-- the name belongs to another role.
CREATE FUNCTION repairsys.event_consumer_row(consumer text)
RETURNS repairsys.event_consumer
LANGUAGE plpgsql VOLATILE
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
DECLARE
	c repairsys.event_consumer;
BEGIN
	IF consumer IS NULL OR consumer !~ '^[A-Za-z0-9_.:-]{1,63}$' THEN
		RAISE EXCEPTION 'invalid event consumer name "%"', coalesce(consumer, 'NULL')
			USING ERRCODE = '22023',
			      HINT = 'A consumer name has 1 to 63 letters, digits, _ . : or -.';
	END IF;
	SELECT * INTO c FROM repairsys.event_consumer x WHERE x.name = consumer;
	IF NOT FOUND THEN
		BEGIN
			INSERT INTO repairsys.event_consumer (name) VALUES (consumer) RETURNING * INTO c;
		EXCEPTION WHEN unique_violation THEN
			RAISE EXCEPTION 'event consumer "%" belongs to another role', consumer
				USING ERRCODE = '42501';
		END;
	END IF;
	RETURN c;
END
$$;
COMMENT ON FUNCTION repairsys.event_consumer_row(text) IS 'The row of a named event consumer of the current role, created on first use (22023: bad name; 42501: another role''s name)';

CREATE FUNCTION repairsys.read_events(consumer text, max integer DEFAULT 100)
RETURNS SETOF repairsys.event
LANGUAGE plpgsql VOLATILE
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
DECLARE
	c repairsys.event_consumer;
BEGIN
	IF max IS NULL OR max < 1 OR max > 10000 THEN
		RAISE EXCEPTION 'invalid number of events %', coalesce(max::text, 'NULL')
			USING ERRCODE = '22023',
			      HINT = 'read_events() returns 1 to 10000 events at a time.';
	END IF;
	c := repairsys.event_consumer_row(consumer);
	RETURN QUERY
		SELECT e.* FROM repairsys.event e
		 WHERE e.id > c.acked_up_to AND e.id < repairsys.event_horizon()
		 ORDER BY e.id
		 LIMIT max;
END
$$;
COMMENT ON FUNCTION repairsys.read_events(text, integer) IS 'The next events (at most max, 1..10000) after the consumer''s cursor that the current role may see, in id order, all of them final (below the horizon); the consumer is created on first use';

CREATE FUNCTION repairsys.ack_events(consumer text, up_to bigint)
RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
DECLARE
	c repairsys.event_consumer;
BEGIN
	IF up_to IS NULL OR up_to < 0 THEN
		RAISE EXCEPTION 'invalid event id %', coalesce(up_to::text, 'NULL')
			USING ERRCODE = '22023';
	END IF;
	c := repairsys.event_consumer_row(consumer);
	IF up_to <= c.acked_up_to THEN
		RETURN c.acked_up_to;		-- acked already: nothing moves back
	END IF;
	UPDATE repairsys.event_consumer x SET acked_up_to = up_to WHERE x.name = c.name;
	RETURN up_to;
END
$$;
COMMENT ON FUNCTION repairsys.ack_events(text, bigint) IS 'Moves the consumer''s cursor to up_to (forward only; an id at or below it does nothing); the acknowledged events are never returned again; returns the cursor';

------------------------------------------------------------------------------
-- SLA escalations, follow-ups due, stuck tickets: repairsys.run_jobs()
------------------------------------------------------------------------------
-- The instant a ticket reaches at_pct percent of a target: that much of the
-- target's business time (its calendar, the center's holidays and make-up
-- working days) after opening, plus, for resolution, the time its holds took
-- (sla_paused: a hold stops the clock).  NULL without the target.
CREATE FUNCTION repairsys.sla_reached_at(t repairsys.ticket, target text, at_pct numeric)
RETURNS timestamptz
LANGUAGE plpgsql STABLE
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
DECLARE
	within repairsys.sla_interval;
	makeup record;
BEGIN
	IF target NOT IN ('response', 'resolution') THEN
		RAISE EXCEPTION 'invalid SLA target "%"', target
			USING ERRCODE = '22023',
			      HINT = 'The targets are response and resolution.';
	END IF;
	IF at_pct IS NULL OR at_pct <= 0 THEN
		RAISE EXCEPTION 'invalid SLA percentage %', coalesce(at_pct::text, 'NULL') USING ERRCODE = '22023';
	END IF;
	within := CASE target WHEN 'response' THEN t.sla_respond_within ELSE t.sla_resolve_within END;
	IF within IS NULL OR t.opened_at IS NULL THEN
		RETURN NULL;
	END IF;
	makeup := repairsys.open_dates(t.service_center_id);
	RETURN repairsys.sla_advance(within, t.opened_at,
		repairsys.sla_target(within) * (at_pct / 100)::double precision
		+ CASE target WHEN 'resolution' THEN t.sla_paused ELSE interval '0' END,
		repairsys.closed_dates(t.service_center_id), t.sla_time_zone, makeup.days, makeup.works_as);
END
$$;
COMMENT ON FUNCTION repairsys.sla_reached_at(repairsys.ticket, text, numeric) IS 'Instant a ticket reaches at_pct percent of its response or resolution target (business time of its calendar with holidays and make-up days; resolution moved by the holds so far); NULL without that target';

-- Fires the escalation levels that are due at "at": each at most once per
-- ticket, target and level (the key of sla_escalation_fired), only while the
-- target is open (response: not yet responded; resolution: not resolved and
-- not on a hold that pauses the SLA), and takes each level's action.
-- Returns how many levels fired.
CREATE FUNCTION repairsys.run_escalations(at timestamptz)
RETURNS integer
LANGUAGE plpgsql VOLATILE
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
DECLARE
	r       record;
	t       repairsys.ticket;
	reached timestamptz;
	n       integer := 0;
	urg     text;
	tech    bigint;
	extra   jsonb;
BEGIN
	FOR r IN
		SELECT x.id, tg.target, e.level, e.at_pct, e.action, e.audience
		  FROM repairsys.ticket x
		 CROSS JOIN (VALUES ('response'), ('resolution')) AS tg(target)
		 CROSS JOIN repairsys.sla_escalation e
		 WHERE x.status_role NOT IN ('resolved', 'closed', 'cancelled')
		   AND CASE tg.target WHEN 'response' THEN x.sla_respond_within IS NOT NULL AND x.first_response_at IS NULL
		                      ELSE x.sla_resolve_within IS NOT NULL END
		   AND NOT (tg.target = 'resolution'
		            AND coalesce((SELECT s.pauses_sla FROM repairsys.ticket_status s WHERE s.code = x.status), false))
		   AND NOT EXISTS (SELECT 1 FROM repairsys.sla_escalation_fired f
		                    WHERE f.ticket_id = x.id AND f.target = tg.target AND f.level = e.level)
		 ORDER BY x.id, tg.target, e.at_pct
	LOOP
		SELECT * INTO t FROM repairsys.ticket x WHERE x.id = r.id;
		reached := repairsys.sla_reached_at(t, r.target, r.at_pct);
		IF reached IS NULL OR reached > at THEN
			CONTINUE;
		END IF;
		INSERT INTO repairsys.sla_escalation_fired (ticket_id, target, level, at_pct, reached_at, fired_at)
		VALUES (t.id, r.target, r.level, r.at_pct, reached, at)
		ON CONFLICT DO NOTHING;
		IF NOT FOUND THEN
			CONTINUE;
		END IF;
		-- (the action is chosen first, so that the event says what it did,
		-- and taken after the event, whose change it then follows)
		extra := '{}';
		urg := NULL;
		tech := NULL;
		IF r.action = 'raise_urgency' THEN
			SELECT u.urgency INTO urg FROM repairsys.urgency_rule u
			 WHERE u.rank < repairsys.urgency_rank(t.urgency)
			 ORDER BY u.rank DESC, u.urgency LIMIT 1;
			IF urg IS NOT NULL THEN
				extra := pg_catalog.jsonb_build_object('urgency_from', t.urgency, 'urgency_to', urg);
			END IF;
		ELSIF r.action = 'reassign' AND t.technician_id IS NOT NULL THEN
			SELECT c.technician_id INTO tech FROM repairsys.candidates(t.id) c
			 WHERE c.eligible AND c.technician_id <> t.technician_id
			 LIMIT 1;
			IF tech IS NOT NULL THEN
				extra := pg_catalog.jsonb_build_object('technician_from', t.technician_id, 'technician_to', tech);
			END IF;
		END IF;
		PERFORM repairsys.emit_event(CASE WHEN r.at_pct >= 100 THEN 'sla_breached' ELSE 'sla_warning' END,
			t.id, t.service_center_id,
			pg_catalog.jsonb_build_object('target', r.target, 'level', r.level, 'at_pct', r.at_pct,
			                              'reached_at', reached, 'due_at', CASE r.target WHEN 'response' THEN t.respond_by ELSE t.resolve_by END,
			                              'action', r.action, 'audience', r.audience, 'technician_id', t.technician_id) || extra);
		IF urg IS NOT NULL THEN
			UPDATE repairsys.ticket x SET urgency = urg WHERE x.id = t.id;
		ELSIF tech IS NOT NULL THEN
			UPDATE repairsys.ticket x SET technician_id = tech WHERE x.id = t.id;
		END IF;
		n := n + 1;
	END LOOP;
	RETURN n;
END
$$;
COMMENT ON FUNCTION repairsys.run_escalations(timestamptz) IS 'Fires the SLA escalation levels due at the given instant (each once per ticket, target and level: sla_warning / sla_breached events and the level''s action); returns how many fired';

-- Follow-up calls that came due, once each: follow_up_due events.
CREATE FUNCTION repairsys.run_follow_ups_due(at timestamptz)
RETURNS integer
LANGUAGE plpgsql VOLATILE
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
DECLARE
	f repairsys.follow_up;
	n integer := 0;
BEGIN
	FOR f IN SELECT * FROM repairsys.follow_up x WHERE x.done_at IS NULL AND x.due_at <= at ORDER BY x.due_at, x.id LOOP
		INSERT INTO repairsys.job_done (job, object_id, since, done_at) VALUES ('follow_up_due', f.id, f.due_at, at)
		ON CONFLICT DO NOTHING;
		IF FOUND THEN
			PERFORM repairsys.emit_event('follow_up_due', f.ticket_id, f.service_center_id,
				pg_catalog.jsonb_build_object('follow_up_id', f.id, 'reason', f.reason, 'due_at', f.due_at));
			n := n + 1;
		END IF;
	END LOOP;
	RETURN n;
END
$$;
COMMENT ON FUNCTION repairsys.run_follow_ups_due(timestamptz) IS 'Writes one follow_up_due event per open follow-up whose due_at has come (once each); returns how many';

-- Tickets that stayed in a state longer than its max_dwell, once per stay:
-- ticket_stuck events.
CREATE FUNCTION repairsys.run_stuck_tickets(at timestamptz)
RETURNS integer
LANGUAGE plpgsql VOLATILE
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
DECLARE
	r record;
	n integer := 0;
BEGIN
	FOR r IN
		SELECT t.id, t.service_center_id, t.status, t.status_changed_at, s.max_dwell, t.technician_id
		  FROM repairsys.ticket t
		  JOIN repairsys.ticket_status s ON s.code = t.status
		 WHERE s.max_dwell IS NOT NULL AND t.status_role NOT IN ('closed', 'cancelled')
		   AND t.status_changed_at + s.max_dwell <= at
		 ORDER BY t.id
	LOOP
		INSERT INTO repairsys.job_done (job, object_id, since, done_at) VALUES ('ticket_stuck', r.id, r.status_changed_at, at)
		ON CONFLICT DO NOTHING;
		IF FOUND THEN
			PERFORM repairsys.emit_event('ticket_stuck', r.id, r.service_center_id,
				pg_catalog.jsonb_build_object('status', r.status, 'since', r.status_changed_at,
				                              'max_dwell', r.max_dwell, 'technician_id', r.technician_id));
			n := n + 1;
		END IF;
	END LOOP;
	RETURN n;
END
$$;
COMMENT ON FUNCTION repairsys.run_stuck_tickets(timestamptz) IS 'Writes one ticket_stuck event per ticket that has been in its state longer than the state''s max_dwell (once per stay); returns how many';

------------------------------------------------------------------------------
-- Customer notifications
------------------------------------------------------------------------------
-- The placeholders a template of a kind may use.
CREATE FUNCTION repairsys.notification_placeholders(kind text)
RETURNS text[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE
BEGIN ATOMIC
	SELECT ARRAY['ticket_id', 'customer_name'] || CASE notification_placeholders.kind
		WHEN 'technician_assigned' THEN ARRAY['technician_name']
		WHEN 'bill_ready' THEN ARRAY['invoice_no', 'total', 'currency']
		WHEN 'payment_received' THEN ARRAY['amount', 'currency']
		WHEN 'technician_arrived' THEN ARRAY['technician_name']
		WHEN 'estimate_to_approve' THEN ARRAY['revision', 'low', 'high']
		WHEN 'visit_reminder' THEN ARRAY['technician_name', 'visit_time']
		ELSE ARRAY[]::text[] END;
END;
COMMENT ON FUNCTION repairsys.notification_placeholders(text) IS 'The {placeholders} a notification template of the kind may use: ticket_id and customer_name, and technician_name (technician_assigned, technician_arrived, visit_reminder), visit_time (visit_reminder), invoice_no, total, currency (bill_ready), amount, currency (payment_received), revision, low, high (estimate_to_approve)';

-- BEFORE INSERT OR UPDATE on notification_template: every {...} is a
-- placeholder of its kind (23514), braces balanced.
CREATE FUNCTION repairsys.notification_template_trg()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
DECLARE
	allowed text[] := repairsys.notification_placeholders(NEW.kind);
	bad     text;
BEGIN
	SELECT pg_catalog.string_agg(DISTINCT m[1], ', ') INTO bad
	  FROM pg_catalog.regexp_matches(NEW.body, '\{([^{}]*)\}', 'g') AS m
	 WHERE NOT (m[1] = ANY (allowed));
	IF bad IS NOT NULL THEN
		RAISE EXCEPTION 'invalid placeholder in notification template "%" (%): %', NEW.kind, NEW.language, bad
			USING ERRCODE = '23514',
			      HINT = pg_catalog.format('The placeholders of %s are {%s}.', NEW.kind, pg_catalog.array_to_string(allowed, '}, {'));
	END IF;
	IF pg_catalog.regexp_replace(NEW.body, '\{[^{}]*\}', '', 'g') ~ '[{}]' THEN
		RAISE EXCEPTION 'unbalanced braces in notification template "%" (%)', NEW.kind, NEW.language
			USING ERRCODE = '23514',
			      HINT = 'A placeholder is a name between { and }; braces are used for nothing else.';
	END IF;
	RETURN NEW;
END
$$;
COMMENT ON FUNCTION repairsys.notification_template_trg() IS 'BEFORE INSERT OR UPDATE trigger of notification_template: only the placeholders of the kind, braces balanced (23514)';
CREATE TRIGGER notification_template_10_check BEFORE INSERT OR UPDATE ON repairsys.notification_template
	FOR EACH ROW EXECUTE FUNCTION repairsys.notification_template_trg();

-- A template with its placeholders replaced by the values of vars (missing
-- values: empty).
CREATE FUNCTION repairsys.render_template(body text, vars jsonb)
RETURNS text
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
DECLARE
	k text;
	out text := body;
BEGIN
	FOR k IN SELECT pg_catalog.jsonb_object_keys(coalesce(vars, '{}')) LOOP
		out := pg_catalog.replace(out, '{' || k || '}', coalesce(vars ->> k, ''));
	END LOOP;
	RETURN pg_catalog.regexp_replace(out, '\{[a-z_]+\}', '', 'g');
END
$$;
COMMENT ON FUNCTION repairsys.render_template(text, jsonb) IS 'A notification template with each {name} replaced by vars->>name (placeholders without a value: empty)';

-- Renders the notifications of the events a customer hears about, reading
-- the log as the consumer "repairsys_notifications" (once each: the event id
-- is the key, the cursor moves past them).  Returns how many were made.
CREATE FUNCTION repairsys.run_notifications()
RETURNS integer
LANGUAGE plpgsql VOLATILE
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
DECLARE
	e      repairsys.event;
	t      repairsys.ticket;
	c      repairsys.customer;
	pref   repairsys.customer_preference;
	nkind  text;
	lang   text;
	chan   text;
	recip  text;
	body   text;
	last   bigint;
	got    integer;
	n      integer := 0;
BEGIN
	LOOP
		got := 0;
		last := NULL;
		FOR e IN SELECT * FROM repairsys.read_events('repairsys_notifications', 1000) LOOP
			got := got + 1;
			last := e.id;
			nkind := CASE
				WHEN e.kind IN ('status_changed', 'technician_changed') AND e.payload ->> 'role' = 'assigned'
				     AND e.payload ->> 'technician_id' IS NOT NULL THEN 'technician_assigned'
				WHEN e.kind = 'status_changed' AND e.payload ->> 'role' = 'resolved' THEN 'ticket_resolved'
				WHEN e.kind = 'invoice_issued' THEN 'bill_ready'
				WHEN e.kind = 'payment_recorded' THEN 'payment_received'
				WHEN e.kind = 'follow_up_due' AND e.payload ->> 'reason' = 'after_closure' THEN 'follow_up_survey'
				WHEN e.kind = 'appointment_checked_in' THEN 'technician_arrived'
				WHEN e.kind = 'estimate_revised' THEN 'estimate_to_approve'
				WHEN e.kind = 'appointment_reminder' THEN 'visit_reminder'
				END;
			CONTINUE WHEN nkind IS NULL OR e.ticket_id IS NULL;
			SELECT * INTO t FROM repairsys.ticket x WHERE x.id = e.ticket_id;
			CONTINUE WHEN NOT FOUND;
			SELECT * INTO c FROM repairsys.customer x WHERE x.id = t.customer_id;
			SELECT * INTO pref FROM repairsys.customer_preference x WHERE x.customer_id = c.id;
			lang := coalesce(pref.language, repairsys.customer_language(c.id));
			-- the preferred channel when its contact is known, else the first known
			SELECT v.ch, v.addr INTO chan, recip
			  FROM (VALUES ('wechat', pref.wechat_id, 2), ('sms', c.phone, 3), ('email', c.email, 4)) AS v(ch, addr, ord)
			 WHERE v.addr IS NOT NULL AND v.addr <> ''
			 ORDER BY (v.ch = pref.channel) DESC NULLS LAST, v.ord
			 LIMIT 1;
			CONTINUE WHEN recip IS NULL;
			SELECT x.body INTO body FROM repairsys.notification_template x WHERE x.kind = nkind AND x.language = lang;
			CONTINUE WHEN body IS NULL;
			INSERT INTO repairsys.notification (event_id, at, kind, ticket_id, customer_id, service_center_id,
			                                    language, channel, recipient, text)
			VALUES (e.id, e.at, nkind, t.id, c.id, t.service_center_id, lang, chan, recip,
			        repairsys.render_template(body, e.payload || pg_catalog.jsonb_build_object(
			            'ticket_id', t.id, 'customer_name', c.name,
			            'technician_name', (SELECT y.name FROM repairsys.technician y
			                                 WHERE y.id = (e.payload ->> 'technician_id')::bigint))))
			ON CONFLICT DO NOTHING;
			IF FOUND THEN
				n := n + 1;
			END IF;
		END LOOP;
		IF last IS NOT NULL THEN
			PERFORM repairsys.ack_events('repairsys_notifications', last);
		END IF;
		EXIT WHEN got < 1000;
	END LOOP;
	RETURN n;
END
$$;
COMMENT ON FUNCTION repairsys.run_notifications() IS 'Renders one notification per event a customer hears about (technician assigned, resolved, bill ready, payment received, follow-up survey, technician arrived, estimate to approve, visit reminder) in the customer''s language and channel, reading the log as consumer repairsys_notifications; returns how many';

-- Everything that is due.  Safe from several sessions at once: one run at a
-- time per database (transaction advisory lock; a run that finds it taken
-- returns the single row "locked" and does nothing), and every item fires
-- once whatever the number of runs (the keys of sla_escalation_fired and
-- job_done).  "at" pins the clock (tests); by default the transaction time.
CREATE FUNCTION repairsys.run_jobs(at timestamptz DEFAULT now())
RETURNS TABLE (job text, done integer)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
BEGIN
	IF at IS NULL OR NOT pg_catalog.isfinite(at) THEN
		RAISE EXCEPTION 'invalid instant %', coalesce(at::text, 'NULL')
			USING ERRCODE = '22023',
			      HINT = 'run_jobs() takes a finite instant (default: now()).';
	END IF;
	-- (the key: "RSJB", and 1 for run_jobs)
	IF NOT pg_catalog.pg_try_advisory_xact_lock(1381190210, 1) THEN
		RETURN QUERY SELECT 'locked'::text, 0;
		RETURN;
	END IF;
	-- the monthly partitions first (57_partitions.sql), so what the jobs
	-- write lands in its month's
	RETURN QUERY SELECT 'partitions'::text, repairsys.ensure_partitions(at,
		at + pg_catalog.make_interval(months => repairsys.setting_value('partition_months_ahead')::integer));
	RETURN QUERY SELECT 'sla_escalation'::text, repairsys.run_escalations(at);
	RETURN QUERY SELECT 'follow_up_due'::text, repairsys.run_follow_ups_due(at);
	RETURN QUERY SELECT 'ticket_stuck'::text, repairsys.run_stuck_tickets(at);
	RETURN QUERY SELECT 'appointment_reminder'::text, repairsys.run_appointment_reminders(at);
	RETURN QUERY SELECT 'churn_refit'::text, repairsys.run_churn_refit(at);
	-- (the prices in force now, whatever the instant asked: service_type's
	-- price columns mirror them, no rule reads the columns; 43_prices.sql)
	RETURN QUERY SELECT 'current_prices'::text, repairsys.sync_current_prices();
	RETURN QUERY SELECT 'notifications'::text, repairsys.run_notifications();
END
$$;
COMMENT ON FUNCTION repairsys.run_jobs(timestamptz) IS 'Runs what is due at the given instant (default now()): the monthly partitions from its month to partition_months_ahead months ahead (ensure_partitions()), SLA escalations, follow-ups due, stuck tickets, visit reminders (76_events_more.sql), the churn refit at most once per churn_refit_every, service_type''s price columns brought to the version in force now (current_prices), then the customer notifications of the events so far; idempotent, one run at a time (advisory lock: a concurrent call returns "locked"); one row per job with how many items it did';

-- Registers run_jobs() with pg_cron, in this database, as job
-- "repairsys_run_jobs" (again: the schedule is replaced).  Every whole
-- number of minutes from 1 to 59; 0A000 without pg_cron.
CREATE FUNCTION repairsys.schedule_jobs(every interval DEFAULT '1 minute')
RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
-- pg_cron's functions are called dynamically: the extension may be missing
-- @plpgsql_check_options: security_warnings = false
DECLARE
	minutes numeric;
	job_id  bigint;
	cron    name;
BEGIN
	IF every IS NULL OR NOT pg_catalog.isfinite(every) THEN
		RAISE EXCEPTION 'invalid job interval %', coalesce(every::text, 'NULL') USING ERRCODE = '22023';
	END IF;
	minutes := pg_catalog.date_part('epoch', every) / 60;
	IF minutes <> pg_catalog.trunc(minutes) OR minutes < 1 OR minutes > 59 THEN
		RAISE EXCEPTION 'invalid job interval "%"', every
			USING ERRCODE = '22023',
			      HINT = 'pg_cron runs jobs every whole number of minutes from 1 to 59.';
	END IF;
	-- the schema of pg_cron's schedule() (its functions live in schema cron,
	-- the extension itself in pg_catalog), found in the catalog: a variable,
	-- so that a check of this function where pg_cron is missing resolves
	-- nothing
	SELECT p.pronamespace::pg_catalog.regnamespace::name INTO cron
	  FROM pg_catalog.pg_extension x
	  JOIN pg_catalog.pg_depend d ON d.refclassid = 'pg_catalog.pg_extension'::pg_catalog.regclass AND d.refobjid = x.oid
	                             AND d.classid = 'pg_catalog.pg_proc'::pg_catalog.regclass AND d.deptype = 'e'
	  JOIN pg_catalog.pg_proc p ON p.oid = d.objid
	 WHERE x.extname = 'pg_cron' AND p.proname = 'schedule' AND p.pronargs = 3
	 LIMIT 1;
	IF cron IS NULL THEN
		RAISE EXCEPTION 'pg_cron is not installed in database "%"', pg_catalog.current_database()
			USING ERRCODE = '0A000',
			      HINT = 'Install pg_cron (Debian: postgresql-15-cron), preload it, set cron.database_name to this database and CREATE EXTENSION pg_cron; or call repairsys.run_jobs() from any scheduler.';
	END IF;
	EXECUTE pg_catalog.format('SELECT %I.schedule($1, $2, $3)', cron)
		INTO job_id
		USING 'repairsys_run_jobs',
		      CASE WHEN minutes = 1 THEN '* * * * *' ELSE pg_catalog.format('*/%s * * * *', minutes) END,
		      'SELECT * FROM repairsys.run_jobs()';
	RETURN job_id;
END
$$;
COMMENT ON FUNCTION repairsys.schedule_jobs(interval) IS 'Registers repairsys.run_jobs() with pg_cron as job repairsys_run_jobs every 1 to 59 whole minutes (default 1 minute); returns the pg_cron job id; 0A000 when pg_cron is not installed here';

------------------------------------------------------------------------------
-- Seeded rows and pg_dump
------------------------------------------------------------------------------
CREATE TRIGGER sla_escalation_seed BEFORE INSERT OR UPDATE ON repairsys.sla_escalation
	FOR EACH ROW EXECUTE FUNCTION repairsys.seed_row_changed('level');
SELECT pg_catalog.pg_extension_config_dump('repairsys.sla_escalation', 'WHERE dump');
CREATE TRIGGER notification_template_seed BEFORE INSERT OR UPDATE ON repairsys.notification_template
	FOR EACH ROW EXECUTE FUNCTION repairsys.seed_row_changed('kind', 'language');
SELECT pg_catalog.pg_extension_config_dump('repairsys.notification_template', 'WHERE dump');
SELECT pg_catalog.pg_extension_config_dump('repairsys.customer_preference', '');
SELECT pg_catalog.pg_extension_config_dump('repairsys.notification', '');
SELECT pg_catalog.pg_extension_config_dump('repairsys.event', '');
SELECT pg_catalog.pg_extension_config_dump('repairsys.event_clock', '');
SELECT pg_catalog.pg_extension_config_dump('repairsys.event_consumer', '');
SELECT pg_catalog.pg_extension_config_dump('repairsys.sla_escalation_fired', '');
SELECT pg_catalog.pg_extension_config_dump('repairsys.job_done', '');
