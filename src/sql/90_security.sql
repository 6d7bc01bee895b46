-- Security (docs/security.md): the five roles, what each
-- may do on every table (grants and row-level security policies), the
-- append-only rule of the ledgers, views that apply the caller's rights, and
-- SECURITY DEFINER functions that only the roles needing them may call.
--
-- This piece runs after every other piece of the install script that creates
-- tables, views or functions, and decides for all of them with loops over the
-- catalog: a table, view or SECURITY DEFINER function that a piece adds later
-- is protected by default (row-level security on, admin and auditor only), and
-- the catalog checks of test/pgtap/security_matrix.sql fail until its row in the
-- decision lists below says who else may use it.

------------------------------------------------------------------------------
-- Roles (cluster-wide: created only when missing, so several databases of one
-- cluster can hold the extension; NOLOGIN: the DBA grants them to login roles)
------------------------------------------------------------------------------
DO $$
DECLARE
	r record;
BEGIN
	FOR r IN
		SELECT * FROM (VALUES
			('repairsys_admin', 'repairsys: reads and writes every table of the extension (except rewriting the append-only ledgers)'),
			('repairsys_dispatcher', 'repairsys: manages customers, assets, tickets and their assignment; reads everything'),
			('repairsys_technician', 'repairsys: sees and works on the tickets assigned to the technician whose db_role is the current role'),
			('repairsys_customer', 'repairsys: sees own tickets, bills and payments; approves estimates, pays and rates (customer.db_role is the current role)'),
			('repairsys_auditor', 'repairsys: reads every table, writes nothing')
		) AS v(rolname, description)
	LOOP
		IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname OPERATOR(pg_catalog.=) r.rolname) THEN
			EXECUTE pg_catalog.format('CREATE ROLE %I NOLOGIN', r.rolname);
			EXECUTE pg_catalog.format('COMMENT ON ROLE %I IS %L', r.rolname, r.description);
		END IF;
		EXECUTE pg_catalog.format('GRANT USAGE ON SCHEMA repairsys TO %I', r.rolname);
	END LOOP;
END
$$;

------------------------------------------------------------------------------
-- Append-only tables: UPDATE, DELETE and TRUNCATE fail for every role but the
-- owner (trigger repairsys.forbid_change()); a piece may have added the
-- triggers already, so they are added here only where missing.
------------------------------------------------------------------------------
CREATE OR REPLACE FUNCTION repairsys.append_only_tables()
RETURNS text[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = repairsys, pg_catalog, pg_temp
RETURN ARRAY['ticket_event', 'stock_movement', 'invoice', 'invoice_line', 'payment', 'event', 'ticket_sign_off'];
COMMENT ON FUNCTION repairsys.append_only_tables() IS 'The append-only tables of schema repairsys (docs/security.md): this loop gives them their forbid_change() triggers and security_audit checks them';

DO $$
DECLARE
	t   text;
	fn  oid := 'repairsys.forbid_change()'::pg_catalog.regprocedure;
BEGIN
	FOREACH t IN ARRAY repairsys.append_only_tables() LOOP
		-- tgtype bits: 1 row, 2 before, 8 delete, 16 update, 32 truncate
		IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_trigger g
		                WHERE g.tgrelid OPERATOR(pg_catalog.=) pg_catalog.format('repairsys.%I', t)::pg_catalog.regclass
		                  AND g.tgfoid OPERATOR(pg_catalog.=) fn
		                  AND (g.tgtype::integer OPERATOR(pg_catalog.&) 27) OPERATOR(pg_catalog.=) 27) THEN
			EXECUTE pg_catalog.format('CREATE TRIGGER %I BEFORE UPDATE OR DELETE ON repairsys.%I
				FOR EACH ROW EXECUTE FUNCTION repairsys.forbid_change()', t || '_append_only', t);
		END IF;
		IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_trigger g
		                WHERE g.tgrelid OPERATOR(pg_catalog.=) pg_catalog.format('repairsys.%I', t)::pg_catalog.regclass
		                  AND g.tgfoid OPERATOR(pg_catalog.=) fn
		                  AND (g.tgtype::integer OPERATOR(pg_catalog.&) 34) OPERATOR(pg_catalog.=) 34) THEN
			EXECUTE pg_catalog.format('CREATE TRIGGER %I BEFORE TRUNCATE ON repairsys.%I
				FOR EACH STATEMENT EXECUTE FUNCTION repairsys.forbid_change()', t || '_no_truncate', t);
		END IF;
	END LOOP;
END
$$;

------------------------------------------------------------------------------
-- Tables: grants and row-level security
------------------------------------------------------------------------------
-- Who a row belongs to.  The policies compare indexed columns with the result
-- of an uncorrelated sub-select, evaluated once per statement (an InitPlan), so
-- a policy costs one index probe on technician.db_role / customer.db_role plus
-- an index scan of the rows it lets through:
--   me_t     the technician whose db_role is the current role
--   me_c     the customer whose db_role is the current role
--   tickets  the tickets the current role may see (row-level security of
--            repairsys.ticket applies inside the sub-select)
--   invoices the invoices the current role may see
--
-- Every table gets one policy per role that may touch it, named after the
-- role; the grants say which commands that role may run, the policy which
-- rows.  Tables not listed here get the admin and auditor policies only.
DO $$
DECLARE
	me_t     constant text := '(SELECT t.id FROM repairsys.technician t WHERE t.db_role = CURRENT_USER)';
	me_c     constant text := '(SELECT c.id FROM repairsys.customer c WHERE c.db_role = CURRENT_USER)';
	tickets  constant text := 'ARRAY(SELECT t.id FROM repairsys.ticket t)';
	invoices constant text := 'ARRAY(SELECT i.id FROM repairsys.invoice i)';
	append_only constant text[] := ARRAY['ticket_event', 'stock_movement', 'invoice', 'invoice_line', 'payment', 'event', 'ticket_sign_off'];
	-- written only by SECURITY DEFINER functions: the admin reads them (and
	-- may drop an installment plan so that a new one can be made)
	-- (the event log and what run_jobs() has done are written only by the
	-- extension's triggers and jobs, the clock only by next_event_id())
	system_written constant text[] := ARRAY['invoice', 'invoice_line', 'installment', 'recall', 'recall_ticket', 'event', 'event_clock',
	                                        'sla_escalation_fired', 'job_done', 'notification',
	                                        -- (the detached months: detach_month() only)
	                                        'archived_month'];
	-- the learned models: written only by the SECURITY DEFINER functions
	-- and triggers of 73_models.sql (the admin refits and rebuilds them
	-- through those), read by everybody who needs them
	model_written constant text[] := ARRAY['diagnosis_model', 'diagnosis_class', 'diagnosis_gram', 'diagnosis_part',
	                                       'diagnosis_sample', 'churn_model',
	                                       -- the roll-ups of the reports (71_rollups.sql): their triggers
	                                       -- and rollup_rebuild() only
	                                       'ticket_fact', 'customer_rollup'];
	tbl   record;
	d     record;
	-- the columns of customer a dispatcher may write: all but the id and the
	-- login mapping (only the admin decides who a database role is)
	cust_cols constant text := (
		SELECT pg_catalog.string_agg(pg_catalog.quote_ident(a.attname), ', ' ORDER BY a.attnum)
		  FROM pg_catalog.pg_attribute a
		 WHERE a.attrelid OPERATOR(pg_catalog.=) 'repairsys.customer'::pg_catalog.regclass
		   AND a.attnum OPERATOR(pg_catalog.>) 0 AND NOT a.attisdropped
		   AND a.attidentity OPERATOR(pg_catalog.=) '' AND a.attgenerated OPERATOR(pg_catalog.=) ''
		   AND a.attname OPERATOR(pg_catalog.<>) ALL (ARRAY['db_role']::name[]));
BEGIN
	CREATE TEMPORARY TABLE pg_temp.repairsys_decision (
		tbl text, role text, privs text, cmd text, using_expr text, check_expr text
	) ON COMMIT DROP;
	INSERT INTO pg_temp.repairsys_decision VALUES
	-- reference data: everybody reads, the admin writes
	('setting',           'reader', 'SELECT', 'SELECT', 'true', NULL),
	('service_center',    'reader', 'SELECT', 'SELECT', 'true', NULL),
	('service_type',      'reader', 'SELECT', 'SELECT', 'true', NULL),
	-- (the published prices, every version: the admin schedules them,
	-- under the rules of 43_prices.sql)
	('service_price',     'reader', 'SELECT', 'SELECT', 'true', NULL),
	('complexity_rule',   'reader', 'SELECT', 'SELECT', 'true', NULL),
	('urgency_rule',      'reader', 'SELECT', 'SELECT', 'true', NULL),
	('sla_policy',        'reader', 'SELECT', 'SELECT', 'true', NULL),
	('holiday',           'reader', 'SELECT', 'SELECT', 'true', NULL),
	('ticket_status',     'reader', 'SELECT', 'SELECT', 'true', NULL),
	('ticket_transition', 'reader', 'SELECT', 'SELECT', 'true', NULL),
	('part',              'reader', 'SELECT', 'SELECT', 'true', NULL),
	('fault_code',        'reader', 'SELECT', 'SELECT', 'true', NULL),
	-- the learned models (docs/reports.md): the diagnosis counts for the
	-- staff who ask for suggestions, the churn coefficients for every reader
	-- of customer_profile; diagnosis_sample (customers' descriptions) is the
	-- admin's and the auditor's only
	('diagnosis_model',   'repairsys_dispatcher', 'SELECT', 'SELECT', 'true', NULL),
	('diagnosis_model',   'repairsys_technician', 'SELECT', 'SELECT', 'true', NULL),
	('diagnosis_class',   'repairsys_dispatcher', 'SELECT', 'SELECT', 'true', NULL),
	('diagnosis_class',   'repairsys_technician', 'SELECT', 'SELECT', 'true', NULL),
	('diagnosis_gram',    'repairsys_dispatcher', 'SELECT', 'SELECT', 'true', NULL),
	('diagnosis_gram',    'repairsys_technician', 'SELECT', 'SELECT', 'true', NULL),
	('diagnosis_part',    'repairsys_dispatcher', 'SELECT', 'SELECT', 'true', NULL),
	('diagnosis_part',    'repairsys_technician', 'SELECT', 'SELECT', 'true', NULL),
	('churn_model',       'reader', 'SELECT', 'SELECT', 'true', NULL),
	-- the roll-ups of the report views (71_rollups.sql): each role reads the
	-- rows of the tickets it may see, so a report over them shows what it
	-- showed over the tickets
	('ticket_fact',       'repairsys_dispatcher', 'SELECT', 'SELECT', 'true', NULL),
	('ticket_fact',       'repairsys_technician', 'SELECT', 'SELECT', 'ticket_id = ANY (' || tickets || ')', NULL),
	('ticket_fact',       'repairsys_customer',   'SELECT', 'SELECT', 'ticket_id = ANY (' || tickets || ')', NULL),
	-- (customer_profile's roll-up: the rows of the customers the role sees)
	('customer_rollup',   'repairsys_dispatcher', 'SELECT', 'SELECT', 'true', NULL),
	('customer_rollup',   'repairsys_technician', 'SELECT', 'SELECT', 'customer_id = ANY (ARRAY(SELECT t.customer_id FROM repairsys.ticket t))', NULL),
	('customer_rollup',   'repairsys_customer',   'SELECT', 'SELECT', 'customer_id = ' || me_c, NULL),
	-- assignment rules and stock: staff read
	('assign_policy',     'repairsys_dispatcher', 'SELECT', 'SELECT', 'true', NULL),
	('stock',             'repairsys_dispatcher', 'SELECT', 'SELECT', 'true', NULL),
	('stock',             'repairsys_technician', 'SELECT', 'SELECT', 'true', NULL),
	('technician_load',   'repairsys_dispatcher', 'SELECT', 'SELECT', 'true', NULL),
	('technician_load',   'repairsys_technician', 'SELECT', 'SELECT', 'true', NULL),
	-- people
	-- (the dispatcher sets who takes work: active and capacity; automatic
	-- assignment locks a technician's row by updating it)
	('technician',        'repairsys_dispatcher', 'SELECT, UPDATE (active, capacity)', 'ALL', 'true', 'true'),
	('technician',        'repairsys_technician', 'SELECT', 'SELECT', 'db_role = CURRENT_USER', NULL),
	('technician_skill',  'repairsys_dispatcher', 'SELECT', 'SELECT', 'true', NULL),
	('technician_skill',  'repairsys_technician', 'SELECT', 'SELECT', 'technician_id = ' || me_t, NULL),
	('customer',          'repairsys_dispatcher', pg_catalog.format('SELECT, INSERT (%s), UPDATE (%s)', cust_cols, cust_cols), 'ALL', 'true', 'true'),
	('customer',          'repairsys_technician', 'SELECT', 'SELECT', 'id = ANY (ARRAY(SELECT t.customer_id FROM repairsys.ticket t))', NULL),
	('customer',          'repairsys_customer',   'SELECT', 'SELECT', 'db_role = CURRENT_USER', NULL),
	('asset',             'repairsys_dispatcher', 'SELECT, INSERT, UPDATE', 'ALL', 'true', 'true'),
	('asset',             'repairsys_technician', 'SELECT', 'SELECT', 'id = ANY (ARRAY(SELECT t.asset_id FROM repairsys.ticket t))', NULL),
	('asset',             'repairsys_customer',   'SELECT', 'SELECT', 'customer_id = ' || me_c, NULL),
	-- tickets: the dispatcher manages all, a technician works on own, a
	-- customer sees own and approves the estimate
	('ticket',            'repairsys_dispatcher', 'SELECT, INSERT, UPDATE', 'ALL', 'true', 'true'),
	('ticket',            'repairsys_technician', 'SELECT, UPDATE (status, labor_minutes, travel_km, warranty_void, arrived_at, fault_code)', 'ALL',
	                      'technician_id = ' || me_t, 'technician_id = ' || me_t),
	('ticket',            'repairsys_customer',   'SELECT, UPDATE (estimate_approved_at)', 'ALL',
	                      'customer_id = ' || me_c, 'customer_id = ' || me_c || ' AND estimate_approved_at IS NOT NULL'),
	('ticket_event',      'repairsys_dispatcher', 'SELECT', 'SELECT', 'true', NULL),
	('ticket_event',      'repairsys_technician', 'SELECT', 'SELECT', 'ticket_id = ANY (' || tickets || ')', NULL),
	('ticket_event',      'repairsys_customer',   'SELECT', 'SELECT', 'ticket_id = ANY (' || tickets || ')', NULL),
	-- parts
	('ticket_part',       'repairsys_dispatcher', 'SELECT, INSERT, UPDATE', 'ALL', 'true', 'true'),
	('ticket_part',       'repairsys_technician', 'SELECT, INSERT, UPDATE', 'ALL', 'ticket_id = ANY (' || tickets || ')', 'ticket_id = ANY (' || tickets || ')'),
	('ticket_part',       'repairsys_customer',   'SELECT', 'SELECT', 'ticket_id = ANY (' || tickets || ')', NULL),
	-- (the dispatcher books deliveries and issues/returns for tickets; a
	-- technician issues and returns parts of their own tickets; transfers
	-- between centers and inventory adjustments are the admin's, who alone
	-- may lock and write the derived stock rows.  What each row may hold,
	-- whoever writes it -- returns within what was issued, issues and
	-- reservations only for open tickets, serialized units agreeing with
	-- stock -- is checked by the triggers of 60_parts.sql.)
	('stock_movement',    'repairsys_dispatcher', 'SELECT, INSERT', 'ALL', 'true', 'kind IN (''receipt'', ''issue'', ''return'')'),
	('stock_movement',    'repairsys_technician', 'SELECT, INSERT', 'ALL', 'ticket_id = ANY (' || tickets || ')',
	                      'ticket_id = ANY (' || tickets || ') AND kind IN (''issue'', ''return'')'),
	('part_unit',         'repairsys_dispatcher', 'SELECT, INSERT, UPDATE', 'ALL', 'true', 'true'),
	('part_unit',         'repairsys_technician', 'SELECT', 'SELECT', 'ticket_id = ANY (' || tickets || ')', NULL),
	-- billing.  Invoices, their lines and installment plans are written only
	-- by the SECURITY DEFINER functions issue_invoice() and
	-- plan_installments() (granted below): nobody holds INSERT on them, not
	-- even the admin (see system_written), so a bill is frozen exactly as
	-- compute_bill() makes it and a plan always sums to its balance.
	-- Payments may be written directly: the table's trigger gives a plain
	-- INSERT the rules of record_payment() (40_billing.sql).
	('invoice',           'repairsys_dispatcher', 'SELECT', 'SELECT', 'true', NULL),
	('invoice',           'repairsys_customer',   'SELECT', 'SELECT', 'ticket_id = ANY (' || tickets || ')', NULL),
	('invoice_line',      'repairsys_dispatcher', 'SELECT', 'SELECT', 'true', NULL),
	('invoice_line',      'repairsys_customer',   'SELECT', 'SELECT', 'invoice_id = ANY (' || invoices || ')', NULL),
	('payment',           'repairsys_dispatcher', 'SELECT, INSERT (invoice_id, method, amount, paid_at, idempotency_key)', 'ALL', 'true', 'true'),
	('payment',           'repairsys_customer',   'SELECT, INSERT (invoice_id, method, amount, idempotency_key)', 'ALL',
	                      'invoice_id = ANY (' || invoices || ')', 'invoice_id = ANY (' || invoices || ')'),
	('installment',       'repairsys_dispatcher', 'SELECT', 'SELECT', 'true', NULL),
	('installment',       'repairsys_customer',   'SELECT', 'SELECT', 'invoice_id = ANY (' || invoices || ')', NULL),
	-- estimate revisions (42_consent.sql): staff revise (the triggers compute
	-- every figure), the customer approves the latest of own tickets, the
	-- dispatcher records an approval given by phone; nobody changes or
	-- deletes one (the triggers refuse it, even for the admin)
	('estimate_revision', 'repairsys_dispatcher', 'SELECT, INSERT (ticket_id, reason, expected_minutes), UPDATE (approved_at)', 'ALL', 'true', 'true'),
	('estimate_revision', 'repairsys_technician', 'SELECT, INSERT (ticket_id, reason, expected_minutes)', 'ALL',
	                      'ticket_id = ANY (' || tickets || ')', 'ticket_id = ANY (' || tickets || ')'),
	('estimate_revision', 'repairsys_customer',   'SELECT, UPDATE (approved_at)', 'ALL',
	                      'ticket_id = ANY (' || tickets || ')', 'ticket_id = ANY (' || tickets || ')'),
	-- sign-offs (42_consent.sql, append-only): the customer signs own
	-- tickets, on the technician's tablet or a dispatcher's desk; the hash of
	-- the bill is always computed by the trigger
	('ticket_sign_off',   'repairsys_dispatcher', 'SELECT, INSERT (ticket_id, signed_by, signature)', 'ALL', 'true', 'true'),
	('ticket_sign_off',   'repairsys_technician', 'SELECT, INSERT (ticket_id, signed_by, signature)', 'ALL',
	                      'ticket_id = ANY (' || tickets || ')', 'ticket_id = ANY (' || tickets || ')'),
	('ticket_sign_off',   'repairsys_customer',   'SELECT, INSERT (ticket_id, signed_by, signature)', 'ALL',
	                      'ticket_id = ANY (' || tickets || ')', 'ticket_id = ANY (' || tickets || ')'),
	-- discounts (approval authority, 44_approval.sql): the dispatcher gives
	-- them and decides pending ones (UPDATE of status; the trigger checks the
	-- approval limit and records who); who asked and who decided are
	-- repairsys's.  The limits are the admin's; staff read them.
	('ticket_discount',   'repairsys_dispatcher', 'SELECT, INSERT (ticket_id, description, amount), UPDATE (status)', 'ALL', 'true', 'true'),
	('ticket_discount',   'repairsys_customer',   'SELECT', 'SELECT', 'ticket_id = ANY (' || tickets || ')', NULL),
	('approval_limit',    'repairsys_dispatcher', 'SELECT', 'SELECT', 'true', NULL),
	('approval_limit',    'repairsys_technician', 'SELECT', 'SELECT', 'true', NULL),
	-- follow-ups: the dispatcher's call list
	('follow_up',         'repairsys_dispatcher', 'SELECT, UPDATE (done_at, outcome)', 'ALL', 'true', 'true'),
	-- time-aware dispatch (52_dispatch.sql): the dispatcher keeps rosters and
	-- decides absences; a technician sees his own rosters, absences and
	-- visits and asks for leave (requested only: the trigger and the policy
	-- refuse anything else); a customer books, reschedules and cancels the
	-- visits of own tickets but names no technician.  What every booking
	-- must be, whoever inserts it, is the trigger appointment_10_check.
	('technician_roster', 'repairsys_dispatcher', 'SELECT, INSERT, UPDATE, DELETE', 'ALL', 'true', 'true'),
	('technician_roster', 'repairsys_technician', 'SELECT', 'SELECT', 'technician_id = ' || me_t, NULL),
	('technician_absence', 'repairsys_dispatcher', 'SELECT, INSERT (technician_id, during, reason, status), UPDATE (status, reason)', 'ALL', 'true', 'true'),
	('technician_absence', 'repairsys_technician', 'SELECT, INSERT (technician_id, during, reason)', 'ALL',
	                      'technician_id = ' || me_t, 'technician_id = ' || me_t || ' AND status = ''requested'''),
	('appointment',       'repairsys_dispatcher', 'SELECT, INSERT (ticket_id, technician_id, slot_start, slot_end, replaces, reason), UPDATE (state, reason, technician_id)', 'ALL', 'true', 'true'),
	('appointment',       'repairsys_technician', 'SELECT', 'SELECT', 'technician_id = ' || me_t, NULL),
	('appointment',       'repairsys_customer',   'SELECT, INSERT (ticket_id, slot_start, slot_end, replaces, reason), UPDATE (state, reason)', 'ALL',
	                      'ticket_id = ANY (' || tickets || ')', 'ticket_id = ANY (' || tickets || ') AND state IN (''booked'', ''rescheduled'', ''cancelled'')'),
	-- the event log (docs/events.md): each role reads the events of the
	-- tickets it may see; consumers belong to the role that made them, and
	-- their trigger keeps the cursor going forward and below the horizon
	('event',             'repairsys_dispatcher', 'SELECT', 'SELECT', 'true', NULL),
	('event',             'repairsys_technician', 'SELECT', 'SELECT', 'ticket_id = ANY (' || tickets || ')', NULL),
	('event',             'repairsys_customer',   'SELECT', 'SELECT', 'ticket_id = ANY (' || tickets || ')', NULL),
	('event_consumer',    'repairsys_dispatcher', 'SELECT, INSERT (name, acked_up_to), UPDATE (acked_up_to)', 'ALL', 'role = CURRENT_USER', 'role = CURRENT_USER'),
	('event_consumer',    'repairsys_technician', 'SELECT, INSERT (name, acked_up_to), UPDATE (acked_up_to)', 'ALL', 'role = CURRENT_USER', 'role = CURRENT_USER'),
	('event_consumer',    'repairsys_customer',   'SELECT, INSERT (name, acked_up_to), UPDATE (acked_up_to)', 'ALL', 'role = CURRENT_USER', 'role = CURRENT_USER'),
	-- the escalation ladder: staff read it; what fired, the dispatcher reads
	('sla_escalation',    'repairsys_dispatcher', 'SELECT', 'SELECT', 'true', NULL),
	('sla_escalation',    'repairsys_technician', 'SELECT', 'SELECT', 'true', NULL),
	('sla_escalation_fired', 'repairsys_dispatcher', 'SELECT', 'SELECT', 'true', NULL),
	-- customer notifications: the dispatcher keeps the preferences (the
	-- customer too, for themselves) and reads every notification, a customer
	-- reads their own; the texts are staff's to read, the admin's to edit
	('customer_preference', 'repairsys_dispatcher', 'SELECT, INSERT, UPDATE', 'ALL', 'true', 'true'),
	('customer_preference', 'repairsys_customer',   'SELECT, INSERT, UPDATE (language, channel, wechat_id)', 'ALL',
	                        'customer_id = ' || me_c, 'customer_id = ' || me_c),
	('notification_template', 'repairsys_dispatcher', 'SELECT', 'SELECT', 'true', NULL),
	('notification',      'repairsys_dispatcher', 'SELECT', 'SELECT', 'true', NULL),
	('notification',      'repairsys_customer',   'SELECT', 'SELECT', 'customer_id = ' || me_c, NULL),
	-- feedback: the customer rates own tickets
	('feedback',          'repairsys_dispatcher', 'SELECT', 'SELECT', 'true', NULL),
	('feedback',          'repairsys_technician', 'SELECT', 'SELECT', 'ticket_id = ANY (' || tickets || ')', NULL),
	('feedback',          'repairsys_customer',   'SELECT, INSERT (ticket_id, rating, comment, complaint)', 'ALL',
	                      'ticket_id = ANY (' || tickets || ')', 'ticket_id = ANY (' || tickets || ')'),
	-- cost management (72_cost.sql): budgets and overheads are the admin's
	-- (managers' figures), the dispatcher reads them for the reports.
	-- Recalls and their tickets are written only by the SECURITY DEFINER
	-- open_recall() (granted to the dispatcher below): the admin may delete
	-- a recall that opened nothing.
	('budget',            'repairsys_dispatcher', 'SELECT', 'SELECT', 'true', NULL),
	('overhead',          'repairsys_dispatcher', 'SELECT', 'SELECT', 'true', NULL),
	('recall',            'repairsys_dispatcher', 'SELECT', 'SELECT', 'true', NULL),
	('recall_ticket',     'repairsys_dispatcher', 'SELECT', 'SELECT', 'true', NULL);

	FOR tbl IN
		SELECT c.oid::pg_catalog.regclass AS rel, c.relname::text AS relname
		  FROM pg_catalog.pg_class c
		 WHERE c.relnamespace OPERATOR(pg_catalog.=) 'repairsys'::pg_catalog.regnamespace
		   AND c.relkind OPERATOR(pg_catalog.=) ANY (ARRAY['r', 'p']::"char"[])
		   AND NOT c.relispartition
		 ORDER BY c.relname
	LOOP
		EXECUTE pg_catalog.format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', tbl.rel);
		EXECUTE pg_catalog.format('REVOKE ALL ON %s FROM PUBLIC', tbl.rel);
		-- admin: everything, but never rewriting the append-only ledgers
		EXECUTE pg_catalog.format('GRANT %s ON %s TO repairsys_admin',
			CASE WHEN tbl.relname OPERATOR(pg_catalog.=) ANY (model_written) THEN 'SELECT'
			     WHEN tbl.relname OPERATOR(pg_catalog.=) ANY (system_written) AND tbl.relname OPERATOR(pg_catalog.=) ANY (append_only) THEN 'SELECT'
			     WHEN tbl.relname OPERATOR(pg_catalog.=) ANY (system_written) THEN 'SELECT, DELETE'
			     WHEN tbl.relname OPERATOR(pg_catalog.=) ANY (append_only) THEN 'SELECT, INSERT'
			     ELSE 'SELECT, INSERT, UPDATE, DELETE' END, tbl.rel);
		EXECUTE pg_catalog.format('CREATE POLICY admin ON %s FOR ALL TO repairsys_admin USING (true) WITH CHECK (true)', tbl.rel);
		-- auditor: reads everything
		EXECUTE pg_catalog.format('GRANT SELECT ON %s TO repairsys_auditor', tbl.rel);
		EXECUTE pg_catalog.format('CREATE POLICY auditor ON %s FOR SELECT TO repairsys_auditor USING (true)', tbl.rel);

		FOR d IN SELECT * FROM pg_temp.repairsys_decision x WHERE x.tbl OPERATOR(pg_catalog.=) tbl.relname LOOP
			IF d.role OPERATOR(pg_catalog.=) 'reader' THEN
				EXECUTE pg_catalog.format('GRANT SELECT ON %s TO repairsys_dispatcher, repairsys_technician, repairsys_customer', tbl.rel);
				EXECUTE pg_catalog.format('CREATE POLICY reader ON %s FOR SELECT TO repairsys_dispatcher, repairsys_technician, repairsys_customer USING (true)', tbl.rel);
				CONTINUE;
			END IF;
			EXECUTE pg_catalog.format('GRANT %s ON %s TO %I', d.privs, tbl.rel, d.role);
			EXECUTE pg_catalog.format('CREATE POLICY %I ON %s FOR %s TO %I USING (%s)%s',
				pg_catalog.substr(d.role, 11), tbl.rel, d.cmd, d.role, d.using_expr,
				CASE WHEN d.check_expr IS NULL THEN '' ELSE ' WITH CHECK (' || d.check_expr || ')' END);
		END LOOP;
	END LOOP;
	DROP TABLE pg_temp.repairsys_decision;
END
$$;

------------------------------------------------------------------------------
-- Views apply the rights of the caller (security_invoker, PostgreSQL 15 and
-- later): a technician reading a report view sees what row-level security
-- lets them see in the tables under it, nothing more.  Before 15 a view runs
-- with its owner's rights, so there only the admin, dispatcher and auditor
-- get the views.
------------------------------------------------------------------------------
DO $$
DECLARE
	v record;
	invoker boolean := pg_catalog.current_setting('server_version_num')::integer OPERATOR(pg_catalog.>=) 150000;
BEGIN
	FOR v IN
		SELECT c.oid::pg_catalog.regclass AS rel, c.relkind
		  FROM pg_catalog.pg_class c
		 WHERE c.relnamespace OPERATOR(pg_catalog.=) 'repairsys'::pg_catalog.regnamespace
		   AND c.relkind OPERATOR(pg_catalog.=) ANY (ARRAY['v', 'm']::"char"[])
	LOOP
		EXECUTE pg_catalog.format('REVOKE ALL ON %s FROM PUBLIC', v.rel);
		IF v.relkind OPERATOR(pg_catalog.=) 'v' AND invoker THEN
			EXECUTE pg_catalog.format('ALTER VIEW %s SET (security_invoker = true)', v.rel);
			EXECUTE pg_catalog.format('GRANT SELECT ON %s TO repairsys_admin, repairsys_dispatcher, repairsys_auditor, repairsys_technician, repairsys_customer', v.rel);
		ELSE
			EXECUTE pg_catalog.format('GRANT SELECT ON %s TO repairsys_admin, repairsys_dispatcher, repairsys_auditor', v.rel);
		END IF;
	END LOOP;
END
$$;

-- Sequences: granted to nobody.  An INSERT that takes the default of an
-- identity column draws from its sequence without any privilege on it (the
-- executor's NextValueExpr checks none), and the one other sequence,
-- stock_movement_seq, is drawn by a SECURITY DEFINER trigger.  USAGE or
-- SELECT would only let a role read last_value (how many invoices, customers
-- and tickets exist) or burn ids with nextval().
DO $$
DECLARE
	s regclass;
BEGIN
	FOR s IN
		SELECT c.oid::pg_catalog.regclass FROM pg_catalog.pg_class c
		 WHERE c.relnamespace OPERATOR(pg_catalog.=) 'repairsys'::pg_catalog.regnamespace
		   AND c.relkind OPERATOR(pg_catalog.=) 'S'
	LOOP
		EXECUTE pg_catalog.format('REVOKE ALL ON SEQUENCE %s FROM PUBLIC', s);
	END LOOP;
END
$$;

------------------------------------------------------------------------------
-- SECURITY DEFINER functions: nobody but the roles that need one may call it.
-- Trigger functions are never called directly (a trigger fires whatever the
-- EXECUTE privilege), so nobody gets them.  Ordinary functions (type I/O,
-- operators, pure and invoker functions) keep PostgreSQL's default EXECUTE
-- for PUBLIC: they run with the caller's rights, and only roles with USAGE on
-- schema repairsys reach them.
------------------------------------------------------------------------------
DO $$
DECLARE
	f record;
	grantees text;
BEGIN
	FOR f IN
		SELECT p.oid::pg_catalog.regprocedure AS fn, p.proname::text AS proname,
		       p.prorettype OPERATOR(pg_catalog.=) 'pg_catalog.trigger'::pg_catalog.regtype AS is_trigger
		  FROM pg_catalog.pg_proc p
		 WHERE p.pronamespace OPERATOR(pg_catalog.=) 'repairsys'::pg_catalog.regnamespace AND p.prosecdef
	LOOP
		EXECUTE pg_catalog.format('REVOKE ALL ON FUNCTION %s FROM PUBLIC', f.fn);
		grantees := CASE
			WHEN f.is_trigger THEN NULL
			-- the only writers of invoices, their lines and installment plans
			WHEN f.proname OPERATOR(pg_catalog.=) ANY (ARRAY['issue_invoice', 'plan_installments'])
			THEN 'repairsys_admin, repairsys_dispatcher'
			-- the only writer of recalls: opens tickets, as the dispatcher may
			WHEN f.proname OPERATOR(pg_catalog.=) 'open_recall'
			THEN 'repairsys_admin, repairsys_dispatcher'
			-- the slots of a center for a service type: how many are free, never who
			WHEN f.proname OPERATOR(pg_catalog.=) 'slots_for'
			THEN 'repairsys_admin, repairsys_dispatcher, repairsys_technician, repairsys_customer'
			-- the jobs: whoever schedules them (docs/events.md)
			WHEN f.proname OPERATOR(pg_catalog.=) 'run_jobs'
			THEN 'repairsys_admin, repairsys_dispatcher'
			ELSE 'repairsys_admin' END;
		IF grantees IS NOT NULL THEN
			EXECUTE pg_catalog.format('GRANT EXECUTE ON FUNCTION %s TO %s', f.fn, grantees);
		END IF;
	END LOOP;
END
$$;

-- The transition guards take a ticket row and read what the caller may not
-- (bills, invoices, payments): only the life-cycle trigger calls them, as the
-- table owner (src/lifecycle.c).  Nobody else may execute them, so no role can
-- feed them a row of its own making (jsonb_populate_record(NULL::repairsys.ticket,
-- '{"id": 7}')) and read the answer.
REVOKE ALL ON FUNCTION repairsys.check_guard(text, repairsys.ticket) FROM PUBLIC;
REVOKE ALL ON FUNCTION repairsys.guard_has_technician(repairsys.ticket) FROM PUBLIC;
REVOKE ALL ON FUNCTION repairsys.guard_estimate_approved(repairsys.ticket) FROM PUBLIC;
REVOKE ALL ON FUNCTION repairsys.guard_labor_recorded(repairsys.ticket) FROM PUBLIC;
REVOKE ALL ON FUNCTION repairsys.guard_settled(repairsys.ticket) FROM PUBLIC;
REVOKE ALL ON FUNCTION repairsys.guard_reopen_window(repairsys.ticket) FROM PUBLIC;
-- The event writer of the extension's own triggers and jobs (75_events.sql):
-- an event that no change caused must not be written.
REVOKE ALL ON FUNCTION repairsys.emit_event(text, bigint, bigint, jsonb) FROM PUBLIC;
