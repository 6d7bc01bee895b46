-- repairsys 1.1 -> 1.2: the workflow as data (state roles, urgency ranks),
-- every rule at the table, typed settings, make-up working days, finite
-- numbers everywhere, serialized parts, route_solve, and the security
-- decisions of 90_security.sql as they are now (docs/upgrading.md).
--
-- The pieces under src/sql/ hold the current definition of every object; this
-- script brings a 1.1 database to exactly that (test/t/upgrade.sh compares the
-- catalog of a fresh install with that of an updated one).  Its order:
--   0. a check that no object of the user's own depends on what it replaces;
--   1. tables: new columns (filled for existing rows so that the new NOT NULL
--      and CHECK constraints hold), changed constraints and indexes, comments,
--      and the new values of the seeded rows;
--   2. functions, new and changed, in the order of the pieces (a changed
--      signature: the old function is renamed first and dropped at the end,
--      once nothing depends on it);
--   3. views, then triggers, then what the new definitions replaced;
--   4. the finite-number CHECKs of 85_finite.sql and the grants and policies
--      of 90_security.sql, by the same catalog loops;
--   5. the identity sequences of the tables registered for pg_dump registered
--      too (99_finish.sql; nothing new in 1.2, but a table added before the
--      release gets its sequence registered without an edit here).
-- Statements copied from a piece say which one; when a piece changes again
-- before 1.2 is released, change the copy here too.
\echo Use "ALTER EXTENSION repairsys UPDATE TO '1.2'" to load this file. \quit

------------------------------------------------------------------------------
-- 0. Objects of the user's own that the update would break
------------------------------------------------------------------------------
-- The update replaces ticket_status.is_initial and is_terminal (generated
-- from the role now) and the functions whose signature changed; a view,
-- function or constraint of the user's own that depends on one of them would
-- stop it halfway with a message about the renamed column.  Say so first,
-- naming them (docs/upgrading.md).
DO $$
DECLARE
	found text;
BEGIN
	SELECT pg_catalog.string_agg(DISTINCT pg_catalog.pg_describe_object(o.classid, o.objid, 0), ', ') INTO found
	  FROM pg_catalog.pg_depend d
	 CROSS JOIN LATERAL (
		-- the object that owns the dependent one: a view for its rule, a table
		-- for its constraint, trigger or index, else the object itself
		SELECT coalesce(rw.ev_class, k.conrelid, tg.tgrelid, ix.indrelid, d.objid) AS objid,
		       CASE WHEN coalesce(rw.ev_class, k.conrelid, tg.tgrelid, ix.indrelid) IS NULL THEN d.classid
		            ELSE 'pg_catalog.pg_class'::pg_catalog.regclass END AS classid
		  FROM (SELECT 1) AS one
		  LEFT JOIN pg_catalog.pg_rewrite rw ON d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_rewrite'::pg_catalog.regclass AND rw.oid OPERATOR(pg_catalog.=) d.objid
		  LEFT JOIN pg_catalog.pg_constraint k ON d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_constraint'::pg_catalog.regclass AND k.oid OPERATOR(pg_catalog.=) d.objid
		  LEFT JOIN pg_catalog.pg_trigger tg ON d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_trigger'::pg_catalog.regclass AND tg.oid OPERATOR(pg_catalog.=) d.objid
		  LEFT JOIN pg_catalog.pg_index ix ON d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass AND ix.indexrelid OPERATOR(pg_catalog.=) d.objid
	 ) AS o
	  LEFT JOIN pg_catalog.pg_class oc ON o.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass AND oc.oid OPERATOR(pg_catalog.=) o.objid
	  LEFT JOIN pg_catalog.pg_proc op ON o.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_proc'::pg_catalog.regclass AND op.oid OPERATOR(pg_catalog.=) o.objid
	 WHERE d.deptype OPERATOR(pg_catalog.=) 'n'
	   AND ((d.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass
	         AND d.refobjid OPERATOR(pg_catalog.=) 'repairsys.ticket_status'::pg_catalog.regclass
	         AND d.refobjsubid OPERATOR(pg_catalog.=) ANY (SELECT a.attnum FROM pg_catalog.pg_attribute a
	                                                         WHERE a.attrelid OPERATOR(pg_catalog.=) 'repairsys.ticket_status'::pg_catalog.regclass
	                                                           AND a.attname OPERATOR(pg_catalog.=) ANY (ARRAY['is_initial', 'is_terminal']::name[])))
	        OR (d.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_proc'::pg_catalog.regclass
	            AND d.refobjid OPERATOR(pg_catalog.=) ANY (ARRAY[
	                'repairsys.sla_deadline(repairsys.sla_interval, timestamptz, date[], text)'::pg_catalog.regprocedure,
	                'repairsys.sla_advance(repairsys.sla_interval, timestamptz, interval, date[], text)'::pg_catalog.regprocedure,
	                'repairsys.sla_elapsed(repairsys.sla_interval, timestamptz, timestamptz, date[], text)'::pg_catalog.regprocedure,
	                'repairsys.adjust_stock(text, bigint, integer, text)'::pg_catalog.regprocedure,
	                'repairsys.return_part(bigint, text, integer, text)'::pg_catalog.regprocedure]::pg_catalog.oid[])))
	   AND coalesce(oc.relnamespace, op.pronamespace) IS DISTINCT FROM 'repairsys'::pg_catalog.regnamespace;
	IF found IS NOT NULL THEN
		RAISE EXCEPTION 'objects of your own depend on what the update to repairsys 1.2 replaces: %', found
			USING ERRCODE = '2BP01',
			      DETAIL = 'The update replaces ticket_status.is_initial and is_terminal (now generated from ticket_status.role) and the 1.1 signatures of sla_deadline, sla_advance, sla_elapsed, adjust_stock and return_part.',
			      HINT = 'Drop these objects, update, and create them again (docs/upgrading.md).';
	END IF;
END
$$;

------------------------------------------------------------------------------
-- 1. Tables (src/sql/20_tables.sql)
------------------------------------------------------------------------------
-- Existing rows are filled without firing the triggers of 1.1 (which would,
-- among other things, mark a seeded row whose new column is set as changed by
-- the user); session_replication_role is reset at the end of this section.
SET LOCAL session_replication_role = replica;

-- Settings: every row has a type and a validity rule (21_settings.sql).
ALTER TABLE repairsys.setting
	ADD COLUMN type        text NOT NULL DEFAULT 'text'
	            CHECK (type IN ('text', 'interval', 'integer', 'number', 'fraction', 'choice', 'currency')),
	ADD COLUMN min_value   numeric CHECK (min_value IS NULL OR (min_value::text NOT IN ('NaN', 'Infinity', '-Infinity'))),
	ADD COLUMN choices     text[] CHECK ((type = 'choice') = (choices IS NOT NULL));
COMMENT ON COLUMN repairsys.setting.type IS 'Type of the value, checked when the row is written (docs/security.md): text, interval (> 0), integer (whole, >= min_value), number (finite, >= min_value), fraction (0..1), choice (one of choices), currency (ISO 4217 code)';
COMMENT ON COLUMN repairsys.setting.min_value IS 'Smallest valid value of an integer or number setting (NULL: 0)';
COMMENT ON COLUMN repairsys.setting.choices IS 'The valid values of a choice setting';
-- the types of the seeded settings (25_seed.sql, 60_parts.sql, 70_reports.sql);
-- a setting of the user's own stays text
UPDATE repairsys.setting s SET type = v.type, min_value = v.min_value, choices = v.choices
  FROM (VALUES
	('reopen_window',                  'interval', NULL::numeric, NULL::text[]),
	('rework_window',                  'interval', NULL, NULL),
	('tax_rate_labor',                 'fraction', NULL, NULL),
	('tax_rate_parts',                 'fraction', NULL, NULL),
	('currency',                       'currency', NULL, NULL),
	('follow_up_days',                 'integer',  0,    NULL),
	('travel_cost_per_km',             'number',   0,    NULL),
	('forecast_method',                'choice',   NULL, ARRAY['ses', 'croston', 'sba', 'tsb']),
	('forecast_alpha',                 'fraction', NULL, NULL),
	('forecast_beta',                  'fraction', NULL, NULL),
	('forecast_days',                  'integer',  1,    NULL),
	('complaint_follow_up_within',     'interval', NULL, NULL),
	('segment_high_value_total',       'number',   0,    NULL),
	('segment_frequent_repairs',       'integer',  0,    NULL),
	('segment_frequent_window',        'interval', NULL, NULL),
	('segment_at_risk_rating',         'number',   0,    NULL),
	('segment_at_risk_window',         'interval', NULL, NULL),
	('technician_available_hours_30d', 'number',   0,    NULL)
  ) AS v(name, type, min_value, choices)
 WHERE s.name = v.name;

-- Urgencies are data: any code, ranked by urgency_rule.rank.
ALTER TABLE repairsys.urgency_rule
	DROP CONSTRAINT urgency_rule_urgency_check,
	ADD CONSTRAINT urgency_rule_urgency_check CHECK (urgency ~ '^[a-z][a-z0-9_]*$'),
	ADD COLUMN rank integer NOT NULL DEFAULT 100;
UPDATE repairsys.urgency_rule u SET rank = v.rank
  FROM (VALUES ('normal', 3), ('urgent', 2), ('emergency', 1)) AS v(urgency, rank)
 WHERE u.urgency = v.urgency;
COMMENT ON COLUMN repairsys.urgency_rule.urgency IS 'Urgency code (seeded: normal, urgent, emergency)';
COMMENT ON COLUMN repairsys.urgency_rule.rank IS 'Priority in assignment: smaller goes first (seeded: emergency 1, urgent 2, normal 3)';

-- Holidays and make-up working days (调休).
ALTER TABLE repairsys.holiday
	ADD COLUMN kind     text NOT NULL DEFAULT 'closed'
	                    CONSTRAINT holiday_kind_check CHECK (kind IN ('closed', 'workday')),
	ADD COLUMN works_as integer NOT NULL DEFAULT 1
	                    CONSTRAINT holiday_works_as_check CHECK (works_as BETWEEN 1 AND 7);
COMMENT ON TABLE repairsys.holiday IS 'Closed dates (holidays) and make-up working days (调休) of one service center, or of all centers; a center''s own row for a date overrides the all-center row';
COMMENT ON COLUMN repairsys.holiday.service_center_id IS 'Center the date applies to (NULL: all centers)';
COMMENT ON COLUMN repairsys.holiday.day IS 'Local date that is closed or, for a workday, open';
COMMENT ON COLUMN repairsys.holiday.kind IS 'closed (default): no business hours that day; workday: a make-up working day, open with the windows of weekday works_as even when the calendar has none on its own weekday';
COMMENT ON COLUMN repairsys.holiday.works_as IS 'For a workday: the ISO weekday (1 = Monday ... 7 = Sunday) whose windows the day has (default 1); not used for a closed day';

-- Workflow states have a role.  is_initial and is_terminal become columns
-- generated from it: the old columns are renamed here, new ones added, and
-- the old ones dropped in section 3 once the views and functions that read
-- them read the new ones.
ALTER TABLE repairsys.ticket_status RENAME COLUMN is_initial TO is_initial_1_1;
ALTER TABLE repairsys.ticket_status RENAME COLUMN is_terminal TO is_terminal_1_1;
DROP INDEX repairsys.ticket_status_one_initial;
ALTER TABLE repairsys.ticket_status
	DROP CONSTRAINT ticket_status_check,
	DROP CONSTRAINT ticket_status_code_check,
	ADD CONSTRAINT ticket_status_code_check CHECK (code ~ '^[^[:space:][:cntrl:]"]+$'),
	ALTER COLUMN name SET DEFAULT '',
	ADD COLUMN role text NOT NULL DEFAULT 'active'
	            CHECK (role IN ('initial', 'assigned', 'active', 'on_hold', 'resolved', 'closed', 'cancelled')),
	DROP CONSTRAINT ticket_status_max_dwell_check,
	ADD CONSTRAINT ticket_status_max_dwell_check CHECK (max_dwell > interval '0' AND isfinite(max_dwell)),
	ADD COLUMN seed_code text UNIQUE;
-- The role of each existing state: the seeded codes get their seeded role
-- and seed_code (25_seed.sql); a state of the user's own is initial if it was
-- the initial state, closed if it was terminal (cancelled if it is the seeded
-- code), else active, the column's default (docs/upgrading.md: check the roles
-- of your own states after the update).
UPDATE repairsys.ticket_status s
   SET role = CASE
	             WHEN s.is_initial_1_1 THEN 'initial'
	             WHEN s.is_terminal_1_1 AND s.code = 'cancelled' THEN 'cancelled'
	             WHEN s.is_terminal_1_1 THEN 'closed'
	             WHEN s.code = 'assigned' THEN 'assigned'
	             WHEN s.code IN ('waiting_parts', 'waiting_customer') THEN 'on_hold'
	             WHEN s.code = 'resolved' THEN 'resolved'
	             ELSE 'active' END,
       seed_code = CASE WHEN s.code IN ('new', 'assigned', 'in_progress', 'waiting_parts', 'waiting_customer',
                                        'resolved', 'closed', 'cancelled') THEN s.code END;
ALTER TABLE repairsys.ticket_status
	ADD COLUMN is_initial  boolean NOT NULL GENERATED ALWAYS AS (role = 'initial') STORED,
	ADD COLUMN is_terminal boolean NOT NULL GENERATED ALWAYS AS (role IN ('closed', 'cancelled')) STORED;
CREATE UNIQUE INDEX ticket_status_one_initial ON repairsys.ticket_status (role) WHERE role = 'initial';
COMMENT ON TABLE repairsys.ticket_status IS 'States of the ticket workflow (自定义工单流程: add rows for states of your own; every state has a role the rules read)';
COMMENT ON COLUMN repairsys.ticket_status.code IS 'State code (any text without spaces or quotes; renaming it renames every reference)';
COMMENT ON COLUMN repairsys.ticket_status.name IS 'Name shown to people (empty: the code)';
COMMENT ON COLUMN repairsys.ticket_status.role IS 'What the state means to the rules: initial (exactly one), assigned, active, on_hold, resolved, closed or cancelled';
COMMENT ON COLUMN repairsys.ticket_status.is_initial IS 'The state every ticket starts in (role initial; generated)';
COMMENT ON COLUMN repairsys.ticket_status.is_terminal IS 'The ticket is finished (role closed or cancelled; generated)';
COMMENT ON COLUMN repairsys.ticket_status.seed_code IS 'Code the state was seeded with (NULL: a state of your own): a restore of a renamed seeded state replaces the seeded row it was';
DO $$
DECLARE
	missing text;
BEGIN
	SELECT pg_catalog.string_agg(pg_catalog.format('"%s"', r), ', ' ORDER BY r) INTO missing
	  FROM pg_catalog.unnest(ARRAY['initial', 'assigned', 'active', 'resolved', 'closed', 'cancelled']) AS r
	 WHERE NOT EXISTS (SELECT 1 FROM repairsys.ticket_status s WHERE s.role OPERATOR(pg_catalog.=) r);
	IF missing IS NOT NULL THEN
		RAISE WARNING 'the workflow has no state of the roles %', missing
			USING DETAIL = 'The rules of repairsys 1.2 find states by role; every change to repairsys.ticket_status is refused until each of these roles has a state.',
			      HINT = 'Set the role of the states that play them (UPDATE repairsys.ticket_status SET role = ...), or add states.';
	END IF;
END
$$;

-- Tickets: the role of the current state is kept on the ticket; a new ticket
-- starts in the initial-role state (ticket_open_trg), so status has no
-- default; urgencies are the rows of urgency_rule.
ALTER TABLE repairsys.ticket ADD COLUMN status_role text;
UPDATE repairsys.ticket t SET status_role = s.role FROM repairsys.ticket_status s WHERE s.code = t.status;
DO $$
DECLARE
	missing text;
BEGIN
	SELECT pg_catalog.string_agg(DISTINCT pg_catalog.format('"%s"', t.urgency), ', ') INTO missing
	  FROM repairsys.ticket t
	 WHERE NOT EXISTS (SELECT 1 FROM repairsys.urgency_rule u WHERE u.urgency OPERATOR(pg_catalog.=) t.urgency);
	IF missing IS NOT NULL THEN
		RAISE EXCEPTION 'tickets have urgencies that repairsys.urgency_rule does not list: %', missing
			USING ERRCODE = '23503',
			      DETAIL = 'From 1.2 on, ticket.urgency refers to urgency_rule.',
			      HINT = 'Insert the missing urgencies into repairsys.urgency_rule (with their surcharge), then update again.';
	END IF;
END
$$;
ALTER TABLE repairsys.ticket
	ALTER COLUMN status_role SET NOT NULL,
	ALTER COLUMN status DROP DEFAULT,
	DROP CONSTRAINT ticket_urgency_check,
	ADD FOREIGN KEY (urgency) REFERENCES repairsys.urgency_rule ON UPDATE CASCADE;
COMMENT ON COLUMN repairsys.ticket.status IS 'Current workflow state (changes checked against ticket_transition; a new ticket starts in the initial-role state)';
COMMENT ON COLUMN repairsys.ticket.status_role IS 'Role of the current state (set by trigger): what rules and reports read, so that state codes are free';

-- Payments: the idempotency key is unique per invoice, not globally (whether a
-- key is taken tells nothing about other customers' payments); its unique
-- index, led by invoice_id, replaces payment_invoice_idx.
ALTER TABLE repairsys.payment
	DROP CONSTRAINT payment_idempotency_key_key,
	ADD UNIQUE (invoice_id, idempotency_key);
DROP INDEX repairsys.payment_invoice_idx;
COMMENT ON COLUMN repairsys.payment.idempotency_key IS 'Key given by the caller, unique per invoice; a retry with the same key records nothing new';

RESET session_replication_role;

------------------------------------------------------------------------------
-- 2. Functions (new and changed, in the order of the pieces)
------------------------------------------------------------------------------
-- Signatures that changed (sla_* gained open dates, adjust_stock and
-- return_part serial numbers): the 1.1 functions are renamed, so that views
-- keep working until they are replaced, and dropped in section 3.
ALTER FUNCTION repairsys.sla_deadline(repairsys.sla_interval, timestamptz, date[], text) RENAME TO sla_deadline_1_1;
ALTER FUNCTION repairsys.sla_advance(repairsys.sla_interval, timestamptz, interval, date[], text) RENAME TO sla_advance_1_1;
ALTER FUNCTION repairsys.sla_elapsed(repairsys.sla_interval, timestamptz, timestamptz, date[], text) RENAME TO sla_elapsed_1_1;
ALTER FUNCTION repairsys.adjust_stock(text, bigint, integer, text) RENAME TO adjust_stock_1_1;
ALTER FUNCTION repairsys.return_part(bigint, text, integer, text) RENAME TO return_part_1_1;
-- from src/sql/11_sla_interval.sql

-- open / open_as (make-up working days, docs/sla.md "Closed and open
-- dates"): an open date has the windows of the ISO weekday at the same
-- position in open_as (NULL: Monday for all); a date both closed and open is
-- closed.
CREATE FUNCTION repairsys.sla_deadline(sla repairsys.sla_interval, start timestamptz,
                                       closed date[] DEFAULT NULL, default_zone text DEFAULT NULL,
                                       open date[] DEFAULT NULL, open_as integer[] DEFAULT NULL)
RETURNS timestamptz
	AS 'MODULE_PATHNAME', 'sla_interval_deadline' LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION repairsys.sla_deadline(repairsys.sla_interval, timestamptz, date[], text, date[], integer[]) IS 'Deadline of the target counted from start, with whole local dates closed (holidays; NULL: none) and open (make-up working days with Monday''s windows, or those of the ISO weekday at the same position in open_as; NULL: none; closed wins); default_zone is the calendar''s zone when the value names none (NULL: the session TimeZone)';
CREATE FUNCTION repairsys.sla_advance(sla repairsys.sla_interval, start timestamptz, amount interval,
                                      closed date[] DEFAULT NULL, default_zone text DEFAULT NULL,
                                      open date[] DEFAULT NULL, open_as integer[] DEFAULT NULL)
RETURNS timestamptz
	AS 'MODULE_PATHNAME', 'sla_interval_advance' LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION repairsys.sla_advance(repairsys.sla_interval, timestamptz, interval, date[], text, date[], integer[]) IS 'The earliest instant at which amount of the value''s clock (business hours of its calendar with the closed and open dates, or the wall clock) has elapsed since start; the target itself is ignored';
CREATE FUNCTION repairsys.sla_elapsed(sla repairsys.sla_interval, from_ts timestamptz, to_ts timestamptz,
                                      closed date[] DEFAULT NULL, default_zone text DEFAULT NULL,
                                      open date[] DEFAULT NULL, open_as integer[] DEFAULT NULL)
RETURNS interval
	AS 'MODULE_PATHNAME', 'sla_interval_elapsed' LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION repairsys.sla_elapsed(repairsys.sla_interval, timestamptz, timestamptz, date[], text, date[], integer[]) IS 'Business time of the value''s calendar (with the closed and open dates) between two instants (wall-clock values: to - from); negative when to_ts is before from_ts';

-- from src/sql/21_settings.sql

-- True when the current role is the owner of the table (or a member of that
-- role, as superusers are).  Rule triggers that let the import path pass
-- (pg_restore, a DBA's migration, the extension's own SECURITY DEFINER
-- triggers, whose functions keep the rules themselves) call it in their WHEN
-- clause or body, where current_user is still the role that wrote the row.
CREATE FUNCTION repairsys.is_table_owner(rel regclass)
RETURNS boolean
LANGUAGE sql STABLE
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
	SELECT pg_catalog.pg_has_role(CURRENT_USER,
		(SELECT c.relowner FROM pg_catalog.pg_class c WHERE c.oid OPERATOR(pg_catalog.=) rel), 'MEMBER')
$$;
COMMENT ON FUNCTION repairsys.is_table_owner(regclass) IS 'True when the current role is (a member of) the owner of the table: the import path that rule triggers let pass';

-- NULL when the value is valid for a setting of this type and rule, else a
-- sentence saying what is valid.
CREATE FUNCTION repairsys.setting_check(type text, value text, min_value numeric DEFAULT NULL, choices text[] DEFAULT NULL)
RETURNS text
LANGUAGE plpgsql STABLE
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
DECLARE
	lo  numeric := coalesce(min_value, 0);
	n   numeric;
	i   interval;
	why text;
BEGIN
	IF value IS NULL THEN
		RETURN 'The value must not be NULL.';
	END IF;
	CASE type
	WHEN 'text' THEN
		RETURN NULL;
	WHEN 'interval' THEN
		why := 'The value must be a positive, finite interval, such as ''7 days'' or ''4 hours''.';
		BEGIN
			i := value::interval;
		EXCEPTION WHEN data_exception THEN
			RETURN why;
		END;
		IF NOT pg_catalog.isfinite(i) OR i <= interval '0' THEN
			RETURN why;
		END IF;
	WHEN 'integer' THEN
		why := pg_catalog.format('The value must be a whole number of at least %s.', lo);
		IF value !~ '^\s*[+-]?[0-9]+\s*$' THEN
			RETURN why;
		END IF;
		BEGIN
			n := value::integer;
		EXCEPTION WHEN data_exception THEN
			RETURN why;
		END;
		IF n < lo THEN
			RETURN why;
		END IF;
	WHEN 'number', 'fraction' THEN
		why := CASE type WHEN 'fraction' THEN 'The value must be a fraction from 0 to 1 (0.06 = 6%).'
		                 ELSE pg_catalog.format('The value must be a finite number of at least %s.', lo) END;
		BEGIN
			n := value::numeric;
		EXCEPTION WHEN data_exception THEN
			RETURN why;
		END;
		IF n::text IN ('NaN', 'Infinity', '-Infinity') OR n < lo OR (type = 'fraction' AND (n < 0 OR n > 1)) THEN
			RETURN why;
		END IF;
	WHEN 'choice' THEN
		IF NOT value = ANY (choices) THEN
			RETURN pg_catalog.format('The value must be one of: %s.', pg_catalog.array_to_string(choices, ', '));
		END IF;
	WHEN 'currency' THEN
		IF value !~ '^[A-Z]{3}$' THEN
			RETURN 'The value must be an ISO 4217 currency code of three capital letters, such as ''CNY''.';
		END IF;
	ELSE
		RETURN pg_catalog.format('Unknown setting type "%s".', type);
	END CASE;
	RETURN NULL;
END
$$;
COMMENT ON FUNCTION repairsys.setting_check(text, text, numeric, text[]) IS 'NULL when a value is valid for a setting of the given type (and minimum, choices), else a sentence saying what is valid';

-- BEFORE INSERT OR UPDATE on setting.
CREATE FUNCTION repairsys.setting_valid_trg()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
DECLARE
	why text;
BEGIN
	IF TG_OP = 'UPDATE'
	   AND (NEW.type IS DISTINCT FROM OLD.type OR NEW.min_value IS DISTINCT FROM OLD.min_value
	        OR NEW.choices IS DISTINCT FROM OLD.choices OR NEW.name IS DISTINCT FROM OLD.name)
	   AND NOT repairsys.is_table_owner(TG_RELID) THEN
		RAISE EXCEPTION 'columns name, type, min_value and choices of setting "%" are set by repairsys', OLD.name
			USING ERRCODE = '428C9',
			      DETAIL = 'Only the value (and the description) of a setting may be changed.';
	END IF;
	why := repairsys.setting_check(NEW.type, NEW.value, NEW.min_value, NEW.choices);
	IF why IS NOT NULL THEN
		RAISE EXCEPTION 'invalid value for setting "%": "%"', NEW.name, NEW.value
			USING ERRCODE = '22023', DETAIL = why;
	END IF;
	RETURN NEW;
END
$$;
COMMENT ON FUNCTION repairsys.setting_valid_trg() IS 'BEFORE INSERT OR UPDATE trigger of setting: the value must be valid for the setting''s type (22023, naming the setting and what is valid); only the table owner changes a setting''s name, type and rule (428C9)';

------------------------------------------------------------------------------
-- Time zones, checked when written
------------------------------------------------------------------------------
-- True when the name is a time zone that both the SQL clock (AT TIME ZONE,
-- used by the bill and report views) and the SLA calendars (sla_interval,
-- which loads IANA zones only) understand: 'Asia/Shanghai', 'UTC'; not
-- 'Mars/Olympus', not an abbreviation such as 'PST', not a POSIX offset.
CREATE FUNCTION repairsys.is_valid_time_zone(tz text)
RETURNS boolean
LANGUAGE plpgsql STABLE
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
BEGIN
	IF tz IS NULL OR tz !~ '^[A-Za-z][A-Za-z0-9_/+-]*$' THEN
		RETURN false;
	END IF;
	PERFORM pg_catalog.now() AT TIME ZONE tz;
	PERFORM ('1h in mon-sun 00:00-24:00 ' || tz)::repairsys.sla_interval;
	RETURN true;
EXCEPTION WHEN data_exception OR invalid_parameter_value THEN
	RETURN false;
END
$$;
COMMENT ON FUNCTION repairsys.is_valid_time_zone(text) IS 'True when the text names a time zone of the IANA database that PostgreSQL knows (as AT TIME ZONE and SLA calendars read it)';

-- Raises 22023 unless the column holds a valid time zone (NULL passes).
CREATE FUNCTION repairsys.check_time_zone(tz text, what text)
RETURNS void
LANGUAGE plpgsql STABLE
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
BEGIN
	IF tz IS NOT NULL AND NOT repairsys.is_valid_time_zone(tz) THEN
		RAISE EXCEPTION 'invalid time zone for %: "%"', what, tz
			USING ERRCODE = '22023',
			      DETAIL = 'A time zone is a name of the IANA time zone database, such as ''Asia/Shanghai'' or ''UTC'' (see pg_timezone_names).';
	END IF;
END
$$;
COMMENT ON FUNCTION repairsys.check_time_zone(text, text) IS 'Raises 22023 unless the text is NULL or a valid time zone name; what names the column in the message';

-- BEFORE INSERT OR UPDATE OF time_zone on service_center.
CREATE FUNCTION repairsys.service_center_check_trg()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
BEGIN
	PERFORM repairsys.check_time_zone(NEW.time_zone, 'service center "' || NEW.name || '"');
	RETURN NEW;
END
$$;
COMMENT ON FUNCTION repairsys.service_center_check_trg() IS 'BEFORE INSERT OR UPDATE trigger of service_center: time_zone must be a valid IANA time zone (22023)';

-- from src/sql/30_lifecycle.sql

------------------------------------------------------------------------------
-- Append-only tables
------------------------------------------------------------------------------
CREATE OR REPLACE FUNCTION repairsys.forbid_change()
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

------------------------------------------------------------------------------
-- Seeded rows and pg_dump
------------------------------------------------------------------------------
-- Seeded rows are inserted with dump = false and left out of pg_dump (the
-- config-dump filter is 'WHERE dump'); CREATE EXTENSION seeds them again on
-- restore.  When a user changes a seeded row, the flag turns true so the
-- change is dumped; when the restore then inserts that row, it replaces the
-- seeded row of the same key instead of failing on the key.  Arguments: the
-- key columns.
CREATE OR REPLACE FUNCTION repairsys.seed_row_changed()
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

-- BEFORE INSERT: a new ticket starts in the initial state with trigger-owned
-- columns empty.  The table owner may insert rows that carry a state of their
-- own (status_changed_at given): that is how pg_dump restores, and how a DBA
-- migrates history; such rows are taken as they are.
CREATE OR REPLACE FUNCTION repairsys.ticket_open_trg()
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
CREATE OR REPLACE FUNCTION repairsys.check_guard(guard text, t repairsys.ticket)
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

-- from src/sql/31_guards.sql

-- (PL/pgSQL: the bill it reads is defined by the billing piece, later)
CREATE OR REPLACE FUNCTION repairsys.guard_settled(t repairsys.ticket)
RETURNS text
LANGUAGE plpgsql STABLE
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
DECLARE
	inv   repairsys.invoice;
	paid  numeric;
	total numeric;
BEGIN
	SELECT * INTO inv FROM repairsys.invoice i WHERE i.ticket_id = t.id;
	IF NOT FOUND THEN
		SELECT b.total INTO total FROM repairsys.bill_summary b WHERE b.ticket_id = t.id;
		IF coalesce(total, 0) = 0 THEN
			RETURN NULL;		-- free of charge
		END IF;
		RETURN 'no invoice has been issued for the ticket''s bill';
	END IF;
	SELECT coalesce(sum(p.amount), 0) INTO paid FROM repairsys.payment p WHERE p.invoice_id = inv.id;
	IF inv.total > paid THEN
		RETURN 'the ticket''s invoice is not fully paid';
	END IF;
	RETURN NULL;
END
$$;
COMMENT ON FUNCTION repairsys.guard_settled(repairsys.ticket) IS 'Guard settled: the bill is zero (free of charge), or its invoice is issued and fully paid';

-- What covers a ticket's work, in one row: whether the product warranty does
-- (the asset's warranty runs on the local date the ticket was opened, and was
-- not voided), the asset's warranty date, and the earlier closed ticket of
-- the same asset and service type that makes this one a repeat repair (free
-- of labor: closed within the rework window, the ticket's snapshot, else the
-- rework_window setting, before this one was opened), or NULL.
-- under_warranty() and rework_of() read it; compute_bill() reads it in its
-- own query: a set-returning SQL function whose body is one SELECT is
-- inlined into the query that calls it, so a report that bills a thousand
-- tickets runs no query per ticket for it.
-- (no SET search_path: a BEGIN ATOMIC body's names are bound when it is
-- created, and a SET clause would keep it from being inlined)
-- The earlier ticket is read from ticket_asset_type_idx alone, which
-- carries each ticket's closing time, role and id (70_reports.sql): an
-- index-only scan of the unit's earlier tickets of the type.  Read through
-- the heap, it fetched each of them (months apart in the table) to test its
-- closing time (docs/performance.md, "The audit without the lines").
DROP INDEX repairsys.ticket_asset_type_idx;
CREATE INDEX ticket_asset_type_idx ON repairsys.ticket (asset_id, service_type, opened_at) INCLUDE (closed_at, status_role, id)
	WHERE asset_id IS NOT NULL;
CREATE FUNCTION repairsys.ticket_coverage(t repairsys.ticket, OUT warranty boolean, OUT warranty_until date, OUT rework_of bigint)
RETURNS SETOF record
LANGUAGE sql STABLE
ROWS 1
BEGIN ATOMIC
	-- (the local date is within a day of the UTC date, so the center's time
	-- zone is looked up only when the warranty ends within two days of it)
	SELECT coalesce(NOT t.warranty_void AND
	                CASE WHEN a.warranty_until IS NULL OR t.opened_at IS NULL THEN NULL
	                     WHEN a.warranty_until >= (t.opened_at AT TIME ZONE 'UTC')::date + 2 THEN true
	                     WHEN a.warranty_until <= (t.opened_at AT TIME ZONE 'UTC')::date - 2 THEN false
	                     ELSE a.warranty_until >=
	                          (t.opened_at AT TIME ZONE coalesce((SELECT c.time_zone FROM repairsys.service_center c WHERE c.id = t.service_center_id),
	                                                             pg_catalog.current_setting('TimeZone')))::date END,
	                false),
	       a.warranty_until,
	       -- (from ticket_asset_type_idx alone, above)
	       (SELECT p.id
	          FROM repairsys.ticket p
	         WHERE t.asset_id IS NOT NULL AND p.asset_id = t.asset_id AND p.service_type = t.service_type
	           AND p.id <> t.id AND p.status_role = 'closed' AND p.closed_at <= t.opened_at
	           AND p.closed_at >= t.opened_at - coalesce(t.price_rework_window, repairsys.setting_value('rework_window'))::interval
	         ORDER BY p.closed_at DESC, p.id DESC
	         LIMIT 1)
	  FROM (SELECT 1) AS one
	  LEFT JOIN repairsys.asset a ON a.id = t.asset_id;
END;
COMMENT ON FUNCTION repairsys.ticket_coverage(repairsys.ticket) IS 'What covers a ticket''s work, one row: under product warranty (on the local date it was opened, not void), the asset''s warranty date, and the earlier ticket that makes it a repeat repair (rework_of) or NULL';

-- Whether the ticket's work is covered by the product warranty.
-- (no SET search_path: a BEGIN ATOMIC body's names are bound when it is
-- created)
CREATE OR REPLACE FUNCTION repairsys.under_warranty(t repairsys.ticket)
RETURNS boolean
LANGUAGE sql STABLE
BEGIN ATOMIC
	SELECT c.warranty FROM repairsys.ticket_coverage(t) c;
END;
COMMENT ON FUNCTION repairsys.under_warranty(repairsys.ticket) IS 'True when the ticket''s asset is under product warranty on the local date the ticket was opened and the warranty is not void';

-- from src/sql/35_sla.sql

-- The calendar dates of a center: its own rows and the all-center rows, the
-- center's own row winning for a date that has both (a center may work on a
-- national holiday, or close on a national make-up day).
CREATE FUNCTION repairsys.center_dates(service_center_id bigint,
                                       OUT day date, OUT kind text, OUT works_as integer)
RETURNS SETOF record
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
	SELECT DISTINCT ON (h.day) h.day, h.kind, h.works_as
	  FROM repairsys.holiday h
	 WHERE h.service_center_id IS NULL OR h.service_center_id = center_dates.service_center_id
	 ORDER BY h.day, h.service_center_id IS NULL
$$;
COMMENT ON FUNCTION repairsys.center_dates(bigint) IS 'The holiday rows that apply to a service center, one per date: its own, else the all-center row (NULL center: all-center rows only)';

-- Closed local dates of a center.
CREATE OR REPLACE FUNCTION repairsys.closed_dates(service_center_id bigint)
RETURNS date[]
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
	SELECT coalesce(pg_catalog.array_agg(d.day ORDER BY d.day), '{}')
	  FROM repairsys.center_dates(closed_dates.service_center_id) d
	 WHERE d.kind = 'closed'
$$;
COMMENT ON FUNCTION repairsys.closed_dates(bigint) IS 'Closed local dates of a service center: its holidays and the holidays of all centers that it does not work (NULL center: all-center holidays only)';

-- Make-up working days of a center, with the weekday whose windows each has:
-- the open and open_as arguments of sla_deadline, sla_elapsed, sla_advance.
CREATE FUNCTION repairsys.open_dates(service_center_id bigint, OUT days date[], OUT works_as integer[])
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
	SELECT coalesce(pg_catalog.array_agg(d.day ORDER BY d.day), '{}'),
	       coalesce(pg_catalog.array_agg(d.works_as ORDER BY d.day), '{}')
	  FROM repairsys.center_dates(open_dates.service_center_id) d
	 WHERE d.kind = 'workday'
$$;
COMMENT ON FUNCTION repairsys.open_dates(bigint) IS 'Make-up working days (调休) of a service center (its own and the all-center ones it does not close) and, at the same positions, the ISO weekday whose windows each day has';

-- BEFORE INSERT (after ticket_10_open has chosen the center): respond_by and
-- resolve_by from sla_policy, holidays applied.  Rows restored or migrated
-- with a history of their own (status_changed_at not now()) keep their stamps.
CREATE OR REPLACE FUNCTION repairsys.ticket_sla_open_trg()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
DECLARE
	pol    repairsys.sla_policy;
	closed date[];
	makeup record;
BEGIN
	IF NEW.status_changed_at IS DISTINCT FROM pg_catalog.now() THEN
		RETURN NEW;
	END IF;
	SELECT * INTO pol FROM repairsys.sla_policy p
	 WHERE p.service_type = NEW.service_type AND p.urgency = NEW.urgency;
	IF NOT FOUND THEN
		RETURN NEW;		-- no policy: no SLA stamps (and none invented)
	END IF;
	NEW.sla_respond_within := pol.respond_within;
	NEW.sla_resolve_within := pol.resolve_within;
	NEW.sla_time_zone := repairsys.center_time_zone(NEW.service_center_id);
	NEW.sla_paused := interval '0';
	closed := repairsys.closed_dates(NEW.service_center_id);
	makeup := repairsys.open_dates(NEW.service_center_id);
	NEW.respond_by := repairsys.sla_deadline(pol.respond_within, NEW.opened_at, closed, NEW.sla_time_zone,
	                                         makeup.days, makeup.works_as);
	NEW.resolve_by := repairsys.sla_deadline(pol.resolve_within, NEW.opened_at, closed, NEW.sla_time_zone,
	                                         makeup.days, makeup.works_as);
	RETURN NEW;
END
$$;
COMMENT ON FUNCTION repairsys.ticket_sla_open_trg() IS 'BEFORE INSERT trigger of repairsys.ticket: stamps respond_by and resolve_by from sla_policy with the center''s holidays and make-up working days';

-- BEFORE UPDATE OF status (after ticket_20_transition accepted the change and
-- set status_changed_at, the end of the hold): when the ticket leaves a state that pauses the SLA,
-- the business time of that hold is added to sla_paused and resolve_by moves
-- by it.  A deadline already missed before the hold began does not move.
CREATE OR REPLACE FUNCTION repairsys.ticket_sla_pause_trg()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
DECLARE
	held     interval;
	closed   date[];
	makeup   record;
	hold_end timestamptz := coalesce(NEW.status_changed_at, pg_catalog.now());
BEGIN
	IF NEW.status IS NOT DISTINCT FROM OLD.status OR OLD.sla_resolve_within IS NULL
	   OR OLD.resolve_by IS NULL OR OLD.status_changed_at IS NULL THEN
		RETURN NEW;
	END IF;
	IF NOT coalesce((SELECT s.pauses_sla FROM repairsys.ticket_status s WHERE s.code = OLD.status), false) THEN
		RETURN NEW;
	END IF;
	closed := repairsys.closed_dates(NEW.service_center_id);
	makeup := repairsys.open_dates(NEW.service_center_id);
	held := repairsys.sla_elapsed(OLD.sla_resolve_within, OLD.status_changed_at, hold_end,
	                              closed, OLD.sla_time_zone, makeup.days, makeup.works_as);
	IF held <= interval '0' THEN
		RETURN NEW;
	END IF;
	NEW.sla_paused := OLD.sla_paused + held;
	IF OLD.resolve_by >= OLD.status_changed_at THEN
		NEW.resolve_by := repairsys.sla_advance(OLD.sla_resolve_within, OLD.resolve_by, held,
		                                        closed, OLD.sla_time_zone, makeup.days, makeup.works_as);
	END IF;
	RETURN NEW;
END
$$;
COMMENT ON FUNCTION repairsys.ticket_sla_pause_trg() IS 'BEFORE UPDATE OF status trigger of repairsys.ticket: on leaving a state with pauses_sla, adds the business time of the hold to sla_paused and moves resolve_by by it';

-- BEFORE UPDATE OF the SLA snapshot columns: they are kept by the triggers
-- above; only the table owner (restore, migration) may set them.  respond_by
-- and resolve_by stay writable: a supervisor may grant a ticket more time.
CREATE OR REPLACE FUNCTION repairsys.ticket_sla_guard_trg()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
BEGIN
	IF (NEW.sla_respond_within IS DISTINCT FROM OLD.sla_respond_within
	    OR NEW.sla_resolve_within IS DISTINCT FROM OLD.sla_resolve_within
	    OR NEW.sla_time_zone IS DISTINCT FROM OLD.sla_time_zone
	    OR NEW.sla_paused IS DISTINCT FROM OLD.sla_paused)
	   AND NOT repairsys.is_table_owner(TG_RELID) THEN
		RAISE EXCEPTION 'columns sla_respond_within, sla_resolve_within, sla_time_zone and sla_paused of a ticket are set by repairsys'
			USING ERRCODE = '428C9',
			      DETAIL = pg_catalog.format('Ticket %s was not changed.', OLD.id),
			      HINT = 'respond_by and resolve_by may be changed directly.';
	END IF;
	RETURN NEW;
END
$$;
COMMENT ON FUNCTION repairsys.ticket_sla_guard_trg() IS 'BEFORE UPDATE trigger of repairsys.ticket: only the table owner may change the SLA snapshot columns (428C9)';

-- BEFORE INSERT (ticket_12_times, before the SLA stamps are computed from
-- opened_at) and BEFORE UPDATE of the clock columns (ticket_35_times, after
-- the SLA triggers): the instants of a ticket are finite, its calendar's time
-- zone is valid, and, but for the table owner (restore, migration), a new
-- ticket is not opened in the future.  It may be opened in the past: paper
-- tickets are keyed in later.  (A ticket opened in the future could never
-- move: its stamps would precede its opening.  An infinite resolve_by made
-- every read of sla_status fail.)  Five minutes of clock difference between
-- an application server and the database are tolerated.
CREATE FUNCTION repairsys.ticket_times_trg()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
DECLARE
	c record;
BEGIN
	FOR c IN SELECT * FROM (VALUES ('opened_at', NEW.opened_at), ('respond_by', NEW.respond_by), ('resolve_by', NEW.resolve_by)) v(col, val)
	LOOP
		IF c.val IS NOT NULL AND NOT pg_catalog.isfinite(c.val) THEN
			-- (23514, as the finite CHECK constraints of every table say it)
			RAISE EXCEPTION 'column "%" of a ticket must be a finite timestamp', c.col
				USING ERRCODE = '23514',
				      DETAIL = pg_catalog.format('The value given is %s.', c.val);
		END IF;
	END LOOP;
	IF TG_OP = 'INSERT' AND NEW.opened_at > pg_catalog.clock_timestamp() + interval '5 minutes'
	   AND NOT repairsys.is_table_owner(TG_RELID) THEN
		RAISE EXCEPTION 'a ticket cannot be opened in the future'
			USING ERRCODE = '23514',
			      DETAIL = pg_catalog.format('opened_at is %s.', NEW.opened_at),
			      HINT = 'Leave opened_at to its default (now), or give the past instant a paper ticket was opened.';
	END IF;
	IF TG_OP = 'INSERT' OR NEW.sla_time_zone IS DISTINCT FROM OLD.sla_time_zone THEN
		PERFORM repairsys.check_time_zone(NEW.sla_time_zone, 'column "sla_time_zone" of a ticket');
	END IF;
	RETURN NEW;
END
$$;
COMMENT ON FUNCTION repairsys.ticket_times_trg() IS 'BEFORE INSERT OR UPDATE trigger of ticket: opened_at, respond_by and resolve_by finite, sla_time_zone valid, no ticket opened in the future but by the table owner (23514; a bad time zone: 22023)';

-- from src/sql/40_billing.sql

------------------------------------------------------------------------------
-- Coverage
------------------------------------------------------------------------------
-- The earlier closed ticket of the same asset and service type that makes
-- this one a repeat repair (free of labor), or NULL (ticket_coverage(),
-- 31_guards.sql).
CREATE OR REPLACE FUNCTION repairsys.rework_of(t repairsys.ticket)
RETURNS bigint
LANGUAGE sql STABLE
BEGIN ATOMIC
	SELECT c.rework_of FROM repairsys.ticket_coverage(t) c;
END;
COMMENT ON FUNCTION repairsys.rework_of(repairsys.ticket) IS 'The earlier closed ticket of the same asset and service type, closed within the rework window (the ticket''s snapshot, else the rework_window setting) before this one was opened (this one is then free of labor); NULL when none';


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

-- BEFORE INSERT OR UPDATE on ticket_discount: no discount on an invoiced
-- ticket (its bill is frozen), and the discounts of a ticket never exceed its
-- bill before discounts (what is left after coverage; before labor is recorded,
-- the high estimate's), 23514, for every role but the table owner.  NaN and
-- amounts not above zero are the table's CHECK constraints'.
CREATE FUNCTION repairsys.ticket_discount_trg()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
DECLARE
	t      repairsys.ticket;
	st     repairsys.service_type;
	bill   numeric;
	others numeric;
BEGIN
	IF repairsys.is_table_owner(TG_RELID)
	   OR NEW.amount IS NULL OR NEW.amount = 'NaN' OR NEW.amount <= 0 THEN
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
	SELECT * INTO st FROM repairsys.service_type s WHERE s.code = t.service_type;
	SELECT coalesce(sum(b.amount), 0) INTO bill
	  FROM repairsys.compute_bill(t, coalesce(t.labor_minutes, st.est_minutes_high, st.est_minutes_low, 0),
	                              coalesce(t.travel_km, repairsys.estimate_km(t)), t.labor_minutes IS NULL) b
	 WHERE b.kind <> 'discount';
	SELECT coalesce(sum(x.amount), 0) INTO others
	  FROM repairsys.ticket_discount x WHERE x.ticket_id = t.id AND (TG_OP = 'INSERT' OR x.id <> OLD.id);
	IF others + NEW.amount > bill THEN
		RAISE EXCEPTION 'a discount of % on ticket % would exceed its bill', NEW.amount, t.id
			USING ERRCODE = '23514',
			      DETAIL = pg_catalog.format('Bill before discounts and tax %s, discounts so far %s.', bill, others);
	END IF;
	RETURN NEW;
END
$$;
COMMENT ON FUNCTION repairsys.ticket_discount_trg() IS 'BEFORE INSERT OR UPDATE trigger of ticket_discount: refuses (23514) a discount on an invoiced ticket and discounts above the bill before discounts; the table owner may';

------------------------------------------------------------------------------
-- Invoices, payments, installments
------------------------------------------------------------------------------
-- SECURITY DEFINER: invoices and their lines are written only here (no role
-- holds INSERT on them; docs/security.md), so that a bill is frozen exactly as
-- compute_bill() makes it.  Callable by the admin and the dispatcher, who see
-- every ticket anyway.
CREATE OR REPLACE FUNCTION repairsys.issue_invoice(ticket_id bigint)
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
CREATE OR REPLACE FUNCTION repairsys.record_payment(invoice_id bigint, method text, amount numeric, idempotency_key text)
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

-- SECURITY DEFINER: installment plans are written only here (no role holds
-- INSERT on installment), so that a plan always sums to its balance.
-- Callable by the admin and the dispatcher, who see every invoice anyway.
CREATE OR REPLACE FUNCTION repairsys.plan_installments(invoice_id bigint, n integer, first_due date, every interval DEFAULT interval '1 month')
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

-- from src/sql/50_assign.sql

-- Number of open tickets (non-terminal status) of a technician, the given
-- ticket left out.
CREATE OR REPLACE FUNCTION repairsys.open_ticket_count(technician_id bigint, except_ticket bigint DEFAULT NULL)
RETURNS integer
LANGUAGE sql STABLE
SET search_path = repairsys, pg_catalog, pg_temp
BEGIN ATOMIC
	SELECT pg_catalog.count(*)::integer
	  FROM repairsys.ticket x
	 WHERE x.technician_id = open_ticket_count.technician_id
	   AND x.id IS DISTINCT FROM open_ticket_count.except_ticket
	   AND x.status IN (SELECT s.code FROM repairsys.ticket_status s WHERE NOT s.is_terminal);
END;
COMMENT ON FUNCTION repairsys.open_ticket_count(bigint, bigint) IS
	'Open tickets (in a non-terminal status) of a technician, leaving one ticket out; the load of assignment';

-- BEFORE INSERT / BEFORE UPDATE on ticket (WHEN clauses: only rows that get a
-- technician, or an assigned ticket that leaves a terminal state): the
-- technician must be active and have a free slot (technician.capacity against
-- his other open tickets), whatever route writes the row: auto_assign, a
-- dispatcher's plain UPDATE, a bulk UPDATE of many tickets.  The technician's
-- row is locked (and given a new version, as auto_assign does), so two
-- sessions filling his last slot at once are serialized: the second counts
-- after the first committed and is refused.  Tickets inserted with a history
-- of their own (status_changed_at given: restore or migration by the table
-- owner, see ticket_open_trg) are taken as they are.
CREATE FUNCTION repairsys.ticket_assign_check_trg()
RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
DECLARE
	cap integer;
	act boolean;
	n   integer;
BEGIN
	IF TG_OP = 'INSERT' AND NEW.status_changed_at IS NOT NULL THEN
		RETURN NEW;
	END IF;
	UPDATE repairsys.technician te SET capacity = te.capacity
	 WHERE te.id = NEW.technician_id
	RETURNING te.capacity, te.active INTO cap, act;
	IF NOT FOUND THEN
		RETURN NEW;		-- the foreign key names the unknown technician
	END IF;
	IF NOT act AND (TG_OP = 'INSERT' OR NEW.technician_id IS DISTINCT FROM OLD.technician_id) THEN
		RAISE EXCEPTION 'technician % is not active', NEW.technician_id
			USING ERRCODE = '23514',
			      DETAIL = pg_catalog.format('Ticket %s was not assigned: inactive technicians take no new work.', NEW.id);
	END IF;
	IF coalesce((SELECT s.is_terminal FROM repairsys.ticket_status s WHERE s.code = NEW.status), false) THEN
		RETURN NEW;		-- a finished ticket takes no slot
	END IF;
	n := repairsys.open_ticket_count(NEW.technician_id, NEW.id);
	IF n >= cap THEN
		RAISE EXCEPTION 'technician % is at capacity', NEW.technician_id
			USING ERRCODE = '23514',
			      DETAIL = pg_catalog.format('%s open tickets, capacity %s: ticket %s was not assigned.', n, cap, NEW.id),
			      HINT = 'repairsys.candidates() lists the technicians with free capacity.';
	END IF;
	RETURN NEW;
END
$$;
COMMENT ON FUNCTION repairsys.ticket_assign_check_trg() IS 'BEFORE INSERT OR UPDATE trigger of ticket, for rows that get a technician: he must be active and below his capacity of open tickets (23514); locks his row so concurrent assignments are counted one after the other';

------------------------------------------------------------------------------
-- Writers
------------------------------------------------------------------------------
-- The state an assignment moves a ticket of the initial state to: the
-- assigned-role state its enabled transitions reach; none: 23514.
CREATE FUNCTION repairsys.assigned_state(initial text)
RETURNS text
LANGUAGE plpgsql STABLE
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
DECLARE
	code text := repairsys.next_state(initial, 'assigned');
BEGIN
	IF code IS NULL THEN
		RAISE EXCEPTION 'no enabled transition leads from status "%" to a state of role "assigned"', initial
			USING ERRCODE = '23514',
			      HINT = 'Automatic assignment moves tickets along such a transition; enable or add one in repairsys.ticket_transition.';
	END IF;
	RETURN code;
END
$$;
COMMENT ON FUNCTION repairsys.assigned_state(text) IS 'The assigned-role state that automatic assignment moves a ticket of the given (initial) state to; 23514 when no enabled transition leads to one';
CREATE OR REPLACE FUNCTION repairsys.auto_assign(ticket_id bigint, policy text DEFAULT 'default')
RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
DECLARE
	t       repairsys.ticket;
	initial text;
	assigned text;
	c       record;
	cap     integer;
	act     boolean;
	n       integer;
	nfull   integer := 0;
	why     text;
BEGIN
	-- Lock order: the ticket, then one technician at a time.
	SELECT * INTO t FROM repairsys.ticket x WHERE x.id = auto_assign.ticket_id FOR UPDATE;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'ticket % does not exist', auto_assign.ticket_id USING ERRCODE = '22023';
	END IF;
	PERFORM repairsys.assign_policy_row(auto_assign.policy);	-- (unknown policy: 22023)
	SELECT s.code INTO initial FROM repairsys.ticket_status s WHERE s.is_initial;
	IF t.status IS DISTINCT FROM initial THEN
		RAISE EXCEPTION 'ticket % is in status "%", not "%"', t.id, t.status, initial
			USING ERRCODE = '23514',
			      DETAIL = pg_catalog.format('Only tickets in status "%s" are assigned automatically.', initial),
			      HINT = 'To reassign a ticket, move it back to the initial status first.';
	END IF;
	assigned := repairsys.assigned_state(initial);

	FOR c IN SELECT k.technician_id, k.score FROM repairsys.candidates(t.id, auto_assign.policy) k
	          WHERE k.eligible AND EXISTS (SELECT 1 FROM repairsys.technician te WHERE te.id = k.technician_id AND te.active)
	LOOP
		BEGIN
			-- Lock the technician and leave a new row version: a concurrent
			-- assigner waits here, and one in a REPEATABLE READ transaction
			-- whose snapshot predates this one fails with 40001 instead of
			-- counting from a stale snapshot.
			UPDATE repairsys.technician te SET capacity = te.capacity
			 WHERE te.id = c.technician_id
			RETURNING te.capacity, te.active INTO cap, act;
			n := repairsys.open_ticket_count(c.technician_id, t.id);
			-- (an inactive or full technician is never assigned, whatever the
			-- policy: the has_technician guard of the life cycle and the
			-- assignment trigger ticket_25_assign_check refuse him)
			IF cap IS NULL OR n >= cap OR NOT coalesce(act, false) THEN
				-- full meanwhile: undo the lock (rolls back the subtransaction)
				RAISE EXCEPTION 'technician % is full', c.technician_id USING ERRCODE = 'RSA01';
			END IF;
			UPDATE repairsys.ticket x SET technician_id = c.technician_id, status = assigned
			 WHERE x.id = t.id;
			RETURN c.technician_id;
		EXCEPTION WHEN SQLSTATE 'RSA01' THEN
			nfull := nfull + 1;
		END;
	END LOOP;

	IF nfull > 0 THEN
		why := pg_catalog.format('%s eligible technician(s) reached their capacity meanwhile.', nfull);
	ELSE
		SELECT pg_catalog.count(*)::integer,
		       pg_catalog.string_agg(pg_catalog.format('Technician %s: %s.', k.technician_id, coalesce(k.reason, 'inactive')), ' '
		                             ORDER BY k.technician_id) FILTER (WHERE k.rn <= 5)
		  INTO n, why
		  FROM (SELECT k.technician_id, k.reason, pg_catalog.row_number() OVER (ORDER BY k.technician_id) AS rn
		          FROM repairsys.candidates(t.id, auto_assign.policy) k) k;
		-- (an eligible technician left here is an inactive one under a policy
		-- without the activity rule)
		IF n = 0 THEN
			why := 'There are no technicians.';
		ELSIF n > 5 THEN
			why := why || pg_catalog.format(' And %s more.', n - 5);
		END IF;
	END IF;
	RAISE NOTICE 'no technician is eligible for ticket %', t.id
		USING DETAIL = why,
		      HINT = 'repairsys.candidates() lists every technician with the reason.';
	RETURN NULL;
END
$$;
COMMENT ON FUNCTION repairsys.auto_assign(bigint, text) IS
	'Assigns the best eligible technician to a ticket in the initial status and moves it to "assigned"; NULL with a NOTICE when nobody fits. Safe under concurrency (locks the ticket, then the technician, and recounts his open tickets)';

-- Priority of a ticket waiting for assignment: a sort key, smaller first.
-- Urgency first (emergency, urgent, normal), then the nearer response
-- deadline, the nearer resolution deadline (NULL last), the older ticket,
-- the lower id.
CREATE OR REPLACE FUNCTION repairsys.urgency_rank(urgency text)
RETURNS integer
LANGUAGE sql STABLE STRICT PARALLEL SAFE
SET search_path = repairsys, pg_catalog, pg_temp
BEGIN ATOMIC
	SELECT coalesce((SELECT u.rank FROM repairsys.urgency_rule u WHERE u.urgency = urgency_rank.urgency), 2147483647);
END;
COMMENT ON FUNCTION repairsys.urgency_rank(text) IS 'Rank of an urgency in assignment priority, from urgency_rule.rank (seeded: emergency 1, urgent 2, normal 3; smaller goes first; unknown: last)';

-- (jit off: the planner's row estimates of the skills x technicians product
-- are far too high, and compiling the plan would cost more than running it.)
CREATE OR REPLACE FUNCTION repairsys.auto_assign_pending(policy text DEFAULT 'default')
RETURNS TABLE (ticket_id bigint, technician_id bigint, score double precision)
LANGUAGE plpgsql VOLATILE
SET search_path = repairsys, pg_catalog, pg_temp
SET jit = off
AS $$
DECLARE
	p       repairsys.assign_policy;
	initial text;
	assigned text;
	tids    bigint[];
	r       record;
	nfree   integer := 0;
BEGIN
	p := repairsys.assign_policy_row(auto_assign_pending.policy);
	SELECT s.code INTO initial FROM repairsys.ticket_status s WHERE s.is_initial;
	assigned := repairsys.assigned_state(initial);

	-- Lock order: tickets (by id), then technicians (by id).  Tickets another
	-- session holds (an auto_assign at work) are left to it.
	SELECT pg_catalog.array_agg(z.id ORDER BY z.id) INTO tids
	  FROM (SELECT x.id FROM repairsys.ticket x WHERE x.status = initial
	         ORDER BY x.id FOR UPDATE SKIP LOCKED) z;
	IF tids IS NULL THEN
		RETURN;
	END IF;
	-- Lock the technicians that may take work (active ones: the life cycle
	-- refuses inactive technicians, whatever the policy) and leave a new row
	-- version (see auto_assign: concurrent assigners wait or fail with 40001).
	PERFORM 1 FROM (SELECT te.id FROM repairsys.technician te WHERE te.active ORDER BY te.id FOR UPDATE) z;
	UPDATE repairsys.technician te SET capacity = te.capacity WHERE te.active;

	FOR r IN
		WITH tk AS (
			SELECT x AS tr, x.id, x.lat, x.lon, x.service_center_id, st.required_skill, st.min_skill_level,
			       pg_catalog.row_number() OVER (ORDER BY repairsys.urgency_rank(x.urgency), x.respond_by NULLS LAST,
			                                              x.resolve_by NULLS LAST, x.opened_at, x.id) AS prio
			  FROM repairsys.ticket x JOIN repairsys.service_type st ON st.code = x.service_type
			 WHERE x.id = ANY (tids)
		), skills AS (
			SELECT s.skill, pg_catalog.row_number() OVER (ORDER BY s.skill)::integer AS k
			  FROM (SELECT DISTINCT tk.required_skill AS skill FROM tk WHERE tk.required_skill IS NOT NULL) s
		), techs AS (
			SELECT te.*, coalesce(l.open_tickets, 0) AS open,
			       l.rating_sum::double precision / NULLIF(l.rating_count, 0) AS rating
			  FROM repairsys.technician te
			  LEFT JOIN repairsys.technician_load l ON l.technician_id = te.id
			 WHERE te.active
		), tin AS (
			SELECT pg_catalog.array_agg(tk.id ORDER BY tk.prio) AS id,
			       pg_catalog.array_agg(tk.lat ORDER BY tk.prio) AS lat,
			       pg_catalog.array_agg(tk.lon ORDER BY tk.prio) AS lon,
			       pg_catalog.array_agg(tk.service_center_id ORDER BY tk.prio) AS center,
			       pg_catalog.array_agg(coalesce(sk.k, 0) ORDER BY tk.prio) AS skill,
			       pg_catalog.array_agg(tk.min_skill_level ORDER BY tk.prio) AS min_level,
			       pg_catalog.array_agg(ct.c[1] ORDER BY tk.prio) AS cont_customer,
			       pg_catalog.array_agg(ct.c[2] ORDER BY tk.prio) AS cont_asset
			  FROM tk
			  LEFT JOIN skills sk ON sk.skill = tk.required_skill
			  CROSS JOIN LATERAL (SELECT repairsys.continuity_technicians(tk.tr) AS c) ct
		), ein AS (
			SELECT pg_catalog.array_agg(te.id ORDER BY te.id) AS id,
			       pg_catalog.array_agg(te.active ORDER BY te.id) AS active,
			       pg_catalog.array_agg(te.service_center_id ORDER BY te.id) AS center,
			       pg_catalog.array_agg(te.lat ORDER BY te.id) AS lat,
			       pg_catalog.array_agg(te.lon ORDER BY te.id) AS lon,
			       pg_catalog.array_agg(te.capacity ORDER BY te.id) AS cap,
			       pg_catalog.array_agg(te.open ORDER BY te.id) AS open,
			       pg_catalog.array_agg(te.rating ORDER BY te.id) AS rating
			  FROM techs te
		), lv AS (
			SELECT pg_catalog.array_agg(l.levels ORDER BY l.k) AS levels
			  FROM (SELECT sk.k, pg_catalog.array_agg(coalesce(ts.level, 0) ORDER BY te.id) AS levels
			          FROM skills sk CROSS JOIN techs te
			          LEFT JOIN repairsys.technician_skill ts ON ts.technician_id = te.id AND ts.skill = sk.skill
			         GROUP BY sk.k) l
		)
		SELECT s.*
		  FROM tin, ein, lv,
		       LATERAL repairsys.solve_pending(p, tin.id, tin.lat, tin.lon, tin.center, tin.skill, tin.min_level,
		                   tin.cont_customer, tin.cont_asset,
		                   coalesce(ein.id, '{}'), coalesce(ein.active, '{}'), coalesce(ein.center, '{}'),
		                   coalesce(ein.lat, '{}'), coalesce(ein.lon, '{}'), coalesce(ein.cap, '{}'),
		                   coalesce(ein.open, '{}'), coalesce(ein.rating, '{}'), coalesce(lv.levels, '{}')) s
	LOOP
		IF r.technician_id IS NOT NULL THEN
			UPDATE repairsys.ticket x SET technician_id = r.technician_id, status = assigned
			 WHERE x.id = r.ticket_id;
		ELSE
			nfree := nfree + 1;
		END IF;
		ticket_id := r.ticket_id;
		technician_id := r.technician_id;
		score := r.score;
		RETURN NEXT;
	END LOOP;
	IF nfree > 0 THEN
		RAISE NOTICE '% of % pending tickets could not be assigned', nfree, pg_catalog.cardinality(tids)
			USING DETAIL = 'No eligible technician had capacity left for them; they stay in the initial status.',
			      HINT = 'repairsys.candidates() lists every technician with the reason.';
	END IF;
END
$$;
COMMENT ON FUNCTION repairsys.auto_assign_pending(text) IS
	'Assigns every ticket in the initial status at once, exactly: as many tickets as capacity allows (higher priority first: urgency, then SLA deadlines), with the maximal total score; one row per ticket in priority order, technician NULL when none is left';

-- from src/sql/55_route.sql
CREATE FUNCTION repairsys.route_solve(x double precision[], y double precision[],
                                      demand double precision[], ready double precision[],
                                      due double precision[], service double precision[],
                                      vehicles integer, capacity double precision,
                                      time_limit_ms integer DEFAULT 2000)
RETURNS TABLE (vehicle integer, seq integer, node integer,
               arrival double precision, start double precision)
AS 'MODULE_PATHNAME', 'rs_route_solve'
LANGUAGE C VOLATILE PARALLEL SAFE;
COMMENT ON FUNCTION repairsys.route_solve(double precision[], double precision[], double precision[], double precision[], double precision[], double precision[], integer, double precision, integer) IS
	'Vehicle routing with time windows: node 1 is the depot, Euclidean travel times; returns each route from the depot (seq 0) back to it with arrival and service start times, the nodes no route can serve with vehicle NULL; least total distance found by a seeded ruin-and-recreate search (SISR) whose iterations follow from time_limit_ms; bad input: error 22023';

-- from src/sql/60_parts.sql

-- True when a ticket in this status can still use parts: its state's role is
-- not resolved, closed or cancelled (resolving issues the reservations, cancelling
-- releases them; see ticket_parts_on_status_trg).
CREATE FUNCTION repairsys.status_takes_parts(status text)
RETURNS boolean
LANGUAGE sql STABLE
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
	SELECT coalesce((SELECT s.role NOT IN ('resolved', 'closed', 'cancelled')
	                   FROM repairsys.ticket_status s WHERE s.code = status_takes_parts.status), false)
$$;
COMMENT ON FUNCTION repairsys.status_takes_parts(text) IS 'True when a ticket in this status can still reserve and be issued parts: a known status that is neither terminal nor resolved';

-- True when the current role sees the ticket (row-level security applies:
-- a technician sees his own tickets).  The ledger's rule trigger, which reads
-- with the owner's rights, runs only for tickets the writer sees, so that its
-- messages never tell a technician about another technician's ticket: a row
-- naming a ticket the writer may not see is refused by row-level security.
CREATE FUNCTION repairsys.ticket_visible(ticket_id bigint)
RETURNS boolean
LANGUAGE sql STABLE
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
	SELECT EXISTS (SELECT 1 FROM repairsys.ticket t WHERE t.id = ticket_visible.ticket_id)
$$;
COMMENT ON FUNCTION repairsys.ticket_visible(bigint) IS 'True when the ticket exists and the current role may see it (row-level security of repairsys.ticket applies)';

-- BEFORE INSERT on stock_movement, after stock_movement_05_order has locked
-- the stock row (so two returns of one ticket's parts are checked one after
-- the other), for every role but the table owner: a return brings back only
-- what was issued to that ticket at that center and not yet returned; an
-- issue goes to a ticket that can still use parts.  (That an issue takes
-- only available stock, never another ticket's reservation, is checked for
-- every row by stock_movement_trg; which roles may write which kinds, by the
-- row-level security policies of 90_security.sql.)
CREATE FUNCTION repairsys.stock_movement_rules_trg()
RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
DECLARE
	status      text;
	outstanding integer;
BEGIN
	IF NEW.kind NOT IN ('issue', 'return') THEN
		RETURN NEW;
	END IF;
	IF NEW.ticket_id IS NULL THEN
		RAISE EXCEPTION 'a stock movement of kind "%" needs a ticket', NEW.kind
			USING ERRCODE = '23514',
			      DETAIL = 'Parts are issued to a ticket and returned from the ticket they were issued to.',
			      HINT = 'Use repairsys.consume_part() and repairsys.return_part(); corrections after a count are adjustments.';
	END IF;
	SELECT t.status INTO status FROM repairsys.ticket t WHERE t.id = NEW.ticket_id;
	IF NOT FOUND THEN
		RETURN NEW;		-- the foreign key names the unknown ticket
	END IF;
	IF NEW.kind = 'issue' THEN
		IF NOT repairsys.status_takes_parts(status) THEN
			RAISE EXCEPTION 'cannot issue parts to ticket % in status "%"', NEW.ticket_id, status
				USING ERRCODE = '23514',
				      DETAIL = 'Parts are issued only to tickets that are neither resolved nor finished.';
		END IF;
		RETURN NEW;
	END IF;
	SELECT coalesce(sum(-m.qty) FILTER (WHERE m.kind = 'issue'), 0) - coalesce(sum(m.qty) FILTER (WHERE m.kind = 'return'), 0)
	  INTO outstanding
	  FROM repairsys.stock_movement m
	 WHERE m.ticket_id = NEW.ticket_id AND m.sku = NEW.sku AND m.service_center_id = NEW.service_center_id
	   AND m.kind IN ('issue', 'return');
	IF outstanding < NEW.qty THEN
		RAISE EXCEPTION 'ticket % has only % units of part "%" issued at service center % that could be returned',
			NEW.ticket_id, outstanding, NEW.sku, NEW.service_center_id
			USING ERRCODE = '23514',
			      DETAIL = pg_catalog.format('A return of %s units was asked; returns never exceed what was issued to the ticket.', NEW.qty);
	END IF;
	RETURN NEW;
END
$$;
COMMENT ON FUNCTION repairsys.stock_movement_rules_trg() IS 'BEFORE INSERT trigger of stock_movement (every role but the owner): issues and returns name a ticket; returns never exceed what was issued to that ticket at that center; issues only to tickets that can still use parts (23514)';

-- Deferred constraint trigger of stock_movement and part_unit (every role
-- but the table owner): for a serialized part, the units in stock (or
-- reserved) at a center are exactly stock.on_hand there.  Checked at commit,
-- so a transaction may move the units and write the ledger in either order.
CREATE FUNCTION repairsys.part_units_agree_trg()
RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
DECLARE
	k       record;
	units   integer;
	on_hand integer;
BEGIN
	FOR k IN
		SELECT DISTINCT x.sku, x.center
		  FROM (SELECT NEW.sku AS sku, NEW.service_center_id AS center WHERE TG_OP <> 'DELETE'
		        UNION ALL
		        SELECT OLD.sku, OLD.service_center_id WHERE TG_OP <> 'INSERT') x
		 WHERE x.center IS NOT NULL
		   AND EXISTS (SELECT 1 FROM repairsys.part p WHERE p.sku = x.sku AND p.serialized)
	LOOP
		SELECT count(*) INTO units FROM repairsys.part_unit u
		 WHERE u.sku = k.sku AND u.service_center_id = k.center AND u.state IN ('in_stock', 'reserved');
		on_hand := coalesce((SELECT s.on_hand FROM repairsys.stock s WHERE s.sku = k.sku AND s.service_center_id = k.center), 0);
		IF units <> on_hand THEN
			RAISE EXCEPTION 'serialized units of part "%" at service center % do not agree with its stock', k.sku, k.center
				USING ERRCODE = '23514',
				      DETAIL = pg_catalog.format('%s units in stock in part_unit, stock.on_hand %s.', units, on_hand),
				      HINT = 'Serialized parts move with their serial numbers: receive_part, consume_part, return_part, transfer_part and adjust_stock take them.';
		END IF;
	END LOOP;
	RETURN NULL;
END
$$;
COMMENT ON FUNCTION repairsys.part_units_agree_trg() IS 'Deferred constraint trigger of stock_movement and part_unit (every role but the owner): the serialized units in stock at a center equal stock.on_hand (23514 at commit)';

-- BEFORE INSERT OR UPDATE on ticket_part (rows that are or become
-- reservations): units are reserved only for tickets that can still use them.
-- A reservation that only shrinks (release_part) always passes.  Runs with the
-- caller's rights: a ticket the caller may not see is left to row-level
-- security, which refuses the row.
CREATE FUNCTION repairsys.ticket_part_open_trg()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
DECLARE
	status text;
BEGIN
	IF TG_OP = 'UPDATE' AND OLD.state = 'reserved' AND NEW.ticket_id = OLD.ticket_id AND NEW.qty <= OLD.qty THEN
		RETURN NEW;
	END IF;
	-- FOR SHARE: a concurrent status change of the ticket waits for this
	-- reservation (and resolving then issues it), or this reservation waits
	-- for the change and sees the new status; never a reservation left
	-- behind on a ticket that was resolved or cancelled meanwhile.
	SELECT t.status INTO status FROM repairsys.ticket t WHERE t.id = NEW.ticket_id FOR SHARE;
	IF FOUND AND NOT repairsys.status_takes_parts(status) THEN
		RAISE EXCEPTION 'cannot reserve parts for ticket % in status "%"', NEW.ticket_id, status
			USING ERRCODE = '23514',
			      DETAIL = 'Parts are reserved only for tickets that are neither resolved nor finished.';
	END IF;
	RETURN NEW;
END
$$;
COMMENT ON FUNCTION repairsys.ticket_part_open_trg() IS 'BEFORE INSERT OR UPDATE trigger of ticket_part: a reservation (new, grown or moved) only for a ticket that can still use parts (23514)';

-- BEFORE INSERT of used lines (every role but the table owner) and BEFORE
-- UPDATE of lines that are no longer reserved, on ticket_part: a line
-- leaves "reserved" once, to "used" (issued) or "released", and a used line
-- keeps its center, ticket and quantity: they are what the ledger issued.
-- (Turning a used line back into a reservation would issue its units a
-- second time.  The sku may change: a rename of the part cascades here.)
CREATE FUNCTION repairsys.ticket_part_state_trg()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
BEGIN
	IF TG_OP = 'INSERT' THEN
		-- (a line born used would bill parts the ledger never issued; the
		-- owner's import path restores used lines as they are)
		IF NOT repairsys.is_table_owner(TG_RELID) THEN
			RAISE EXCEPTION 'a ticket part line cannot be inserted in state "used"'
				USING ERRCODE = '23514',
				      DETAIL = 'Parts are reserved first and used when the stock ledger issues them.',
				      HINT = 'Use repairsys.reserve_part() and repairsys.consume_part().';
		END IF;
		RETURN NEW;
	END IF;
	IF NEW.state IS DISTINCT FROM OLD.state THEN
		RAISE EXCEPTION 'a ticket part line in state "%" cannot become "%"', OLD.state, NEW.state
			USING ERRCODE = '23514',
			      DETAIL = 'A line leaves "reserved" once: to "used" when issued, to "released" when given back.',
			      HINT = 'Reserve again with repairsys.reserve_part(); return issued parts with repairsys.return_part().';
	END IF;
	IF OLD.state = 'used' AND (NEW.qty, NEW.service_center_id, NEW.ticket_id)
	                          IS DISTINCT FROM (OLD.qty, OLD.service_center_id, OLD.ticket_id) THEN
		RAISE EXCEPTION 'the center, ticket and quantity of a used ticket part line cannot change'
			USING ERRCODE = '23514',
			      DETAIL = 'They are what the stock ledger issued.',
			      HINT = 'Return issued parts with repairsys.return_part().';
	END IF;
	RETURN NEW;
END
$$;
COMMENT ON FUNCTION repairsys.ticket_part_state_trg() IS 'BEFORE INSERT OR UPDATE trigger of ticket_part: no line is inserted used but by the table owner; used and released lines never change state again, and a used line keeps its center, ticket and quantity (23514)';

------------------------------------------------------------------------------
-- Functions for applications
------------------------------------------------------------------------------
CREATE OR REPLACE FUNCTION repairsys.check_qty(qty integer)
RETURNS void
LANGUAGE plpgsql IMMUTABLE
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
BEGIN
	IF qty IS NULL OR qty <= 0 THEN
		RAISE EXCEPTION 'quantity must be a positive number of units' USING ERRCODE = '22023',
			-- (concatenation, not format(): format() is only STABLE)
			DETAIL = 'The quantity is ' || coalesce(qty::text, 'NULL') || '.';
	END IF;
END
$$;
COMMENT ON FUNCTION repairsys.check_qty(integer) IS 'Raises 22023 unless the quantity is a positive number of units';
CREATE OR REPLACE FUNCTION repairsys.receive_part(sku text, center bigint, qty integer, unit_cost numeric DEFAULT NULL,
                                       serials text[] DEFAULT NULL, note text DEFAULT NULL)
RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
DECLARE
	p  repairsys.part := repairsys.part_row(sku);
	id bigint;
BEGIN
	PERFORM repairsys.check_qty(qty);
	IF NOT EXISTS (SELECT 1 FROM repairsys.service_center c WHERE c.id = center) THEN
		RAISE EXCEPTION 'service center % does not exist', center USING ERRCODE = '22023';
	END IF;
	IF unit_cost = 'NaN' OR unit_cost IN ('Infinity', '-Infinity') THEN
		RAISE EXCEPTION 'unit cost must be a finite number' USING ERRCODE = '22023';
	END IF;
	IF unit_cost < 0 THEN
		RAISE EXCEPTION 'unit cost must not be negative' USING ERRCODE = '22023';
	END IF;
	IF p.serialized THEN
		IF serials IS NULL OR pg_catalog.cardinality(serials) <> qty
		   OR EXISTS (SELECT 1 FROM pg_catalog.unnest(serials) s WHERE s IS NULL OR s = '') THEN
			RAISE EXCEPTION 'part "%" is serialized: give one serial number per unit received', p.sku
				USING ERRCODE = '22023',
				      DETAIL = pg_catalog.format('%s units, %s serial numbers.', qty, coalesce(pg_catalog.cardinality(serials), 0));
		END IF;
		INSERT INTO repairsys.part_unit (serial, sku, service_center_id, state)
		SELECT s, p.sku, center, 'in_stock' FROM pg_catalog.unnest(serials) s;
	ELSIF serials IS NOT NULL THEN
		RAISE EXCEPTION 'part "%" is not serialized', p.sku USING ERRCODE = '22023';
	END IF;
	INSERT INTO repairsys.stock_movement (sku, service_center_id, kind, qty, unit_cost, note)
	VALUES (p.sku, center, 'receipt', qty, coalesce(unit_cost, p.unit_cost), note)
	RETURNING stock_movement.id INTO id;
	RETURN id;
END
$$;
COMMENT ON FUNCTION repairsys.receive_part(text, bigint, integer, numeric, text[], text) IS 'Records a receipt of parts at a center (serialized parts: one serial per unit); returns the ledger row id';
CREATE OR REPLACE FUNCTION repairsys.reserve_part(ticket_id bigint, sku text, qty integer)
RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
DECLARE
	t  repairsys.ticket;
	p  repairsys.part := repairsys.part_row(sku);
	id bigint;
BEGIN
	PERFORM repairsys.check_qty(qty);
	SELECT * INTO t FROM repairsys.ticket x WHERE x.id = reserve_part.ticket_id;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'ticket % does not exist', reserve_part.ticket_id USING ERRCODE = '22023';
	END IF;
	IF NOT repairsys.status_takes_parts(t.status) THEN
		RAISE EXCEPTION 'cannot reserve parts for ticket % in status "%"', t.id, t.status
			USING ERRCODE = '23514',
			      DETAIL = 'Parts are reserved only for tickets that are neither resolved nor finished.';
	END IF;
	IF t.service_center_id IS NULL THEN
		RAISE EXCEPTION 'ticket % has no service center to reserve parts at', t.id USING ERRCODE = '23514';
	END IF;
	-- the trigger on ticket_part locks the stock row, checks what is available and reserves
	INSERT INTO repairsys.ticket_part (ticket_id, sku, service_center_id, qty, state, unit_price, unit_cost, covered)
	VALUES (t.id, p.sku, t.service_center_id, qty, 'reserved', p.unit_price, p.unit_cost, repairsys.under_warranty(t))
	RETURNING ticket_part.id INTO id;
	RETURN id;
END
$$;
COMMENT ON FUNCTION repairsys.reserve_part(bigint, text, integer) IS 'Reserves parts for a ticket at its service center with the price of now; fails with 23514 and changes nothing when not enough is available; returns the ticket_part id';
CREATE FUNCTION repairsys.return_part(ticket_id bigint, sku text, qty integer, note text DEFAULT NULL, serials text[] DEFAULT NULL)
RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
DECLARE
	p      repairsys.part := repairsys.part_row(sku);
	center bigint;
	used   integer;
	here   integer;
	n      integer;
	id     bigint;
BEGIN
	PERFORM repairsys.check_qty(qty);
	SELECT sum(-m.qty) FILTER (WHERE m.kind = 'issue') - coalesce(sum(m.qty) FILTER (WHERE m.kind = 'return'), 0)
	  INTO used
	  FROM repairsys.stock_movement m
	 WHERE m.ticket_id = return_part.ticket_id AND m.sku = p.sku AND m.kind IN ('issue', 'return');
	IF coalesce(used, 0) < qty THEN
		RAISE EXCEPTION 'ticket % has only % units of part "%" issued that could be returned', ticket_id, coalesce(used, 0), sku
			USING ERRCODE = '23514';
	END IF;
	-- the units go back to the center they were issued from (the one issued
	-- from last, of those with units still out)
	SELECT x.center, x.outstanding INTO center, here
	  FROM (SELECT m.service_center_id AS center, max(m.seq) AS last,
	               sum(-m.qty) FILTER (WHERE m.kind = 'issue') - coalesce(sum(m.qty) FILTER (WHERE m.kind = 'return'), 0) AS outstanding
	          FROM repairsys.stock_movement m
	         WHERE m.ticket_id = return_part.ticket_id AND m.sku = p.sku AND m.kind IN ('issue', 'return')
	         GROUP BY m.service_center_id) x
	 WHERE x.outstanding > 0
	 ORDER BY x.last DESC LIMIT 1;
	IF here < qty THEN
		RAISE EXCEPTION 'ticket % has only % units of part "%" issued at service center % that could be returned', ticket_id, here, sku, center
			USING ERRCODE = '23514', DETAIL = 'Return the units of each center separately.';
	END IF;
	IF p.serialized THEN
		IF serials IS NULL OR pg_catalog.cardinality(serials) <> qty
		   OR EXISTS (SELECT 1 FROM pg_catalog.unnest(serials) s WHERE s IS NULL OR s = '')
		   OR (SELECT count(DISTINCT s) FROM pg_catalog.unnest(serials) s) <> qty THEN
			RAISE EXCEPTION 'part "%" is serialized: give one serial number per unit returned', p.sku
				USING ERRCODE = '22023',
				      DETAIL = pg_catalog.format('%s units, %s serial numbers.', qty, coalesce(pg_catalog.cardinality(serials), 0));
		END IF;
		UPDATE repairsys.part_unit u
		   SET state = 'in_stock', service_center_id = center, ticket_id = NULL, asset_id = NULL, installed_at = NULL
		 WHERE u.sku = p.sku AND u.serial = ANY (serials) AND u.state = 'installed' AND u.ticket_id = return_part.ticket_id;
		GET DIAGNOSTICS n = ROW_COUNT;
		IF n <> qty THEN
			RAISE EXCEPTION 'not every unit named was installed on ticket %', ticket_id
				USING ERRCODE = '23514',
				      DETAIL = pg_catalog.format('Not installed on it: %s.',
				                                 (SELECT pg_catalog.string_agg(pg_catalog.format('"%s"', s), ', ' ORDER BY s)
				                                    FROM pg_catalog.unnest(serials) s
				                                   WHERE NOT EXISTS (SELECT 1 FROM repairsys.part_unit u
				                                                      WHERE u.sku = p.sku AND u.serial = s AND u.service_center_id = center
				                                                        AND u.state = 'in_stock' AND u.ticket_id IS NULL)));
		END IF;
		note := pg_catalog.concat_ws('; ', note, 'serials ' || pg_catalog.array_to_string(serials, ', '));
	ELSIF serials IS NOT NULL THEN
		RAISE EXCEPTION 'part "%" is not serialized', p.sku USING ERRCODE = '22023';
	END IF;
	INSERT INTO repairsys.stock_movement (sku, service_center_id, kind, qty, ticket_id, unit_cost, note)
	VALUES (p.sku, center, 'return', qty, ticket_id, p.unit_cost, note)
	RETURNING stock_movement.id INTO id;
	RETURN id;
END
$$;
COMMENT ON FUNCTION repairsys.return_part(bigint, text, integer, text, text[]) IS 'Returns issued parts of a ticket to the stock of the center they came from (at most what was issued and not yet returned; serialized parts: the serial of each unit, which must be installed on the ticket); returns the ledger row id';
CREATE FUNCTION repairsys.adjust_stock(sku text, center bigint, qty integer, note text, serials text[] DEFAULT NULL)
RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
DECLARE
	p  repairsys.part := repairsys.part_row(sku);
	n  integer;
	id bigint;
BEGIN
	IF qty IS NULL OR qty = 0 THEN
		RAISE EXCEPTION 'an adjustment needs a quantity other than 0' USING ERRCODE = '22023';
	END IF;
	IF note IS NULL OR note = '' THEN
		RAISE EXCEPTION 'an adjustment needs a note saying why' USING ERRCODE = '22023';
	END IF;
	IF p.serialized THEN
		IF serials IS NULL OR pg_catalog.cardinality(serials) <> pg_catalog.abs(qty)
		   OR EXISTS (SELECT 1 FROM pg_catalog.unnest(serials) s WHERE s IS NULL OR s = '')
		   OR (SELECT count(DISTINCT s) FROM pg_catalog.unnest(serials) s) <> pg_catalog.abs(qty) THEN
			RAISE EXCEPTION 'part "%" is serialized: give one serial number per unit adjusted', p.sku
				USING ERRCODE = '22023',
				      DETAIL = pg_catalog.format('%s units, %s serial numbers.', pg_catalog.abs(qty), coalesce(pg_catalog.cardinality(serials), 0));
		END IF;
		IF NOT EXISTS (SELECT 1 FROM repairsys.service_center c WHERE c.id = center) THEN
			RAISE EXCEPTION 'service center % does not exist', center USING ERRCODE = '22023';
		END IF;
		IF qty > 0 THEN
			-- units found in the count: new serials, or known units that are
			-- neither in stock nor installed (scrapped or returned earlier)
			IF EXISTS (SELECT 1 FROM repairsys.part_unit u
			            WHERE u.sku = p.sku AND u.serial = ANY (serials) AND u.state IN ('in_stock', 'reserved', 'installed')) THEN
				RAISE EXCEPTION 'a unit named is already in stock or installed' USING ERRCODE = '23514',
					DETAIL = pg_catalog.format('Units: %s.',
						(SELECT pg_catalog.string_agg(pg_catalog.format('"%s" (%s)', u.serial, u.state), ', ' ORDER BY u.serial)
						   FROM repairsys.part_unit u
						  WHERE u.sku = p.sku AND u.serial = ANY (serials) AND u.state IN ('in_stock', 'reserved', 'installed')));
			END IF;
			INSERT INTO repairsys.part_unit AS u (serial, sku, service_center_id, state)
			SELECT s, p.sku, center, 'in_stock' FROM pg_catalog.unnest(serials) s
			ON CONFLICT ON CONSTRAINT part_unit_pkey DO UPDATE
			   SET state = 'in_stock', service_center_id = excluded.service_center_id, ticket_id = NULL, asset_id = NULL, installed_at = NULL;
		ELSE
			-- units missing in the count leave the stock as scrapped
			UPDATE repairsys.part_unit u SET state = 'scrapped'
			 WHERE u.sku = p.sku AND u.serial = ANY (serials) AND u.service_center_id = center AND u.state = 'in_stock';
			GET DIAGNOSTICS n = ROW_COUNT;
			IF n <> -qty THEN
				RAISE EXCEPTION 'not every unit named is in stock at service center %', center USING ERRCODE = '23514',
					DETAIL = pg_catalog.format('%s of %s units are.', n, -qty);
			END IF;
		END IF;
		note := note || '; serials ' || pg_catalog.array_to_string(serials, ', ');
	ELSIF serials IS NOT NULL THEN
		RAISE EXCEPTION 'part "%" is not serialized', p.sku USING ERRCODE = '22023';
	END IF;
	INSERT INTO repairsys.stock_movement (sku, service_center_id, kind, qty, note)
	VALUES (p.sku, center, 'adjust', qty, note)
	RETURNING stock_movement.id INTO id;
	RETURN id;
END
$$;
COMMENT ON FUNCTION repairsys.adjust_stock(text, bigint, integer, text, text[]) IS 'Corrects stock after a count (signed quantity, with a note; serialized parts: the serial of each unit found or missing); returns the ledger row id';

-- AFTER UPDATE OF status on ticket: on resolution the ticket's remaining
-- reservations become issues; on cancellation they are released.
CREATE OR REPLACE FUNCTION repairsys.ticket_parts_on_status_trg()
RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
BEGIN
	IF NEW.status_role = 'resolved' THEN
		PERFORM repairsys.consume_part(NEW.id);
	ELSIF NEW.status_role = 'cancelled' THEN
		UPDATE repairsys.ticket_part x SET state = 'released' WHERE x.ticket_id = NEW.id AND x.state = 'reserved';
	END IF;
	RETURN NULL;
END
$$;
COMMENT ON FUNCTION repairsys.ticket_parts_on_status_trg() IS 'AFTER UPDATE trigger of ticket: issues the remaining reserved parts when a ticket is resolved, releases them when it is cancelled';

-- Allocates each shortage once: every (shortage, surplus) pair of a part,
-- nearest first (then by center ids), gets what is still missing at the one
-- and still spare at the other, so the quantities suggested into a center
-- never exceed its shortage and out of a center never exceed its surplus.
CREATE FUNCTION repairsys.stock_transfer_allocation()
RETURNS TABLE (sku text, from_center_id bigint, to_center_id bigint, qty integer, from_available integer,
               to_available integer, to_shortage integer, distance_km double precision)
LANGUAGE plpgsql STABLE
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
DECLARE
	r         record;
	cur_sku   text;
	short_left jsonb;
	spare_left jsonb;
	q         integer;
BEGIN
	FOR r IN
		WITH need AS (
			SELECT f.sku, f.service_center_id, f.available,
			       greatest(pg_catalog.ceil(greatest(f.reorder_point, f.min_stock::double precision)), 0)::integer AS target
			  FROM repairsys.stock_forecast f
		), shortage AS (
			SELECT n.sku, n.service_center_id, n.available, n.target - n.available AS short FROM need n WHERE n.available < n.target
		), surplus AS (
			SELECT n.sku, n.service_center_id, n.available, n.available - n.target AS spare FROM need n WHERE n.available > n.target
		)
		SELECT sh.sku, su.service_center_id AS from_id, sh.service_center_id AS to_id, su.spare, sh.short,
		       su.available AS from_available, sh.available AS to_available,
		       repairsys.haversine_km(a.lat, a.lon, b.lat, b.lon) AS km
		  FROM shortage sh
		  JOIN surplus su ON su.sku = sh.sku
		  JOIN repairsys.service_center a ON a.id = su.service_center_id
		  JOIN repairsys.service_center b ON b.id = sh.service_center_id
		 ORDER BY sh.sku, 8 NULLS LAST, sh.service_center_id, su.service_center_id
	LOOP
		IF cur_sku IS DISTINCT FROM r.sku THEN
			cur_sku := r.sku;
			short_left := '{}';
			spare_left := '{}';
		END IF;
		q := LEAST(coalesce((short_left ->> r.to_id::text)::integer, r.short),
		           coalesce((spare_left ->> r.from_id::text)::integer, r.spare));
		CONTINUE WHEN q <= 0;
		short_left := short_left || pg_catalog.jsonb_build_object(r.to_id::text,
			coalesce((short_left ->> r.to_id::text)::integer, r.short) - q);
		spare_left := spare_left || pg_catalog.jsonb_build_object(r.from_id::text,
			coalesce((spare_left ->> r.from_id::text)::integer, r.spare) - q);
		sku := r.sku;
		from_center_id := r.from_id;
		to_center_id := r.to_id;
		qty := q;
		from_available := r.from_available;
		to_available := r.to_available;
		to_shortage := r.short;
		distance_km := r.km;
		RETURN NEXT;
	END LOOP;
END
$$;
COMMENT ON FUNCTION repairsys.stock_transfer_allocation() IS 'Transfers that cover shortages from surpluses of the same part, each shortage and each surplus allocated once, nearest pair first (the rows of view stock_transfer_suggestion)';

-- from src/sql/70_reports.sql

-- BEFORE INSERT OR UPDATE on feedback: only for resolved or closed tickets.
CREATE OR REPLACE FUNCTION repairsys.feedback_check_trg()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
DECLARE
	st text;
BEGIN
	SELECT t.status INTO st FROM repairsys.ticket t WHERE t.id = NEW.ticket_id AND t.status_role NOT IN ('resolved', 'closed');
	IF st IS NOT NULL THEN
		RAISE EXCEPTION 'cannot rate ticket % in status "%"', NEW.ticket_id, st
			USING ERRCODE = '23514', DETAIL = 'Feedback is given once the ticket is resolved.';
	END IF;
	RETURN NEW;
END
$$;
COMMENT ON FUNCTION repairsys.feedback_check_trg() IS 'BEFORE INSERT OR UPDATE trigger of feedback: refuses feedback before the ticket is resolved (23514)';

-- AFTER INSERT OR UPDATE on feedback: a complaint opens a follow-up for the center.
-- Feedback inserted with a time of its own (at is not now) is restored or
-- migrated, and brings its follow-up with it: pg_restore loads follow_up after
-- feedback, and a follow-up made here again would take the key of the dumped
-- one (the COPY of follow_up would then fail whole: 27 of 194 follow-ups of a
-- demo company survived).  Only the owner and repairsys_admin may write
-- feedback.at, and both may write follow_up directly; a customer's feedback is
-- always given now and always opens its follow-up.  (The test:
-- test/t/dump-restore.sh.)
CREATE OR REPLACE FUNCTION repairsys.feedback_complaint_trg()
RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
BEGIN
	IF TG_OP = 'INSERT' AND NEW.at IS DISTINCT FROM pg_catalog.now() THEN
		RETURN NULL;		-- restore or migration: the follow-up is in the data
	END IF;
	IF NEW.complaint AND (TG_OP = 'INSERT' OR NOT OLD.complaint) THEN
		INSERT INTO repairsys.follow_up (ticket_id, service_center_id, reason, due_at)
		SELECT t.id, t.service_center_id, 'complaint', pg_catalog.now() + repairsys.setting_value('complaint_follow_up_within')::interval
		  FROM repairsys.ticket t WHERE t.id = NEW.ticket_id
		ON CONFLICT (ticket_id, reason) DO NOTHING;
	END IF;
	RETURN NULL;
END
$$;
COMMENT ON FUNCTION repairsys.feedback_complaint_trg() IS 'AFTER trigger of feedback: a complaint opens a follow-up for the ticket''s service center (not for feedback inserted with a past time: restored or migrated, it brings its follow-up)';

-- AFTER UPDATE OF status on ticket: a closed ticket gets its follow-up call.
CREATE OR REPLACE FUNCTION repairsys.ticket_follow_up_trg()
RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
BEGIN
	INSERT INTO repairsys.follow_up (ticket_id, service_center_id, reason, due_at)
	VALUES (NEW.id, NEW.service_center_id, 'after_closure',
	        coalesce(NEW.closed_at, pg_catalog.now()) + pg_catalog.make_interval(days => repairsys.setting_value('follow_up_days')::integer))
	ON CONFLICT (ticket_id, reason) DO NOTHING;
	RETURN NULL;
END
$$;
COMMENT ON FUNCTION repairsys.ticket_follow_up_trg() IS 'AFTER UPDATE trigger of ticket: a ticket entering a closed-role state gets a follow-up call due follow_up_days later';

-- (demo_load() changed in several parts of 1.2: its definition is in
-- section 3z)
-- from src/sql/95_invariants.sql
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
	 WHERE p.s > i.total;
END;
COMMENT ON FUNCTION repairsys.check_invariants() IS 'One row per violated invariant: ticket status = last event, status_role = the role of the status, stock = ledger and never negative, reserved = reservations and within on hand, serialized units = stock, returns within issues, reservations only on open tickets, no technician over capacity, closed_at set exactly in terminal states, each technician''s kept load = a recount, bill lines = bill total, invoice = its lines, payments within the invoice; empty on a healthy database';

------------------------------------------------------------------------------
-- 3. Views, triggers, and what they replaced
------------------------------------------------------------------------------
-- Views whose definition changed, and stuck_tickets, which reads the new
-- is_terminal (CREATE OR REPLACE VIEW clears security_invoker: section 4
-- sets it again, as 90_security.sql does).

-- from src/sql/35_sla.sql

------------------------------------------------------------------------------
-- Views
------------------------------------------------------------------------------
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
       t.sla_time_zone AS time_zone
  FROM repairsys.ticket t
  JOIN repairsys.ticket_status s ON s.code = t.status
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
COMMENT ON VIEW repairsys.sla_status IS 'SLA clock of every open (not resolved, not terminal) ticket: deadlines, business time left, holds, breaches';
COMMENT ON COLUMN repairsys.sla_status.ticket_id IS 'Ticket id';
COMMENT ON COLUMN repairsys.sla_status.service_center_id IS 'Service center responsible';
COMMENT ON COLUMN repairsys.sla_status.service_type IS 'Service type code';
COMMENT ON COLUMN repairsys.sla_status.urgency IS 'Urgency (selects the SLA policy)';
COMMENT ON COLUMN repairsys.sla_status.status IS 'Current state';
COMMENT ON COLUMN repairsys.sla_status.opened_at IS 'When the ticket was opened';
COMMENT ON COLUMN repairsys.sla_status.respond_by IS 'Response deadline (NULL: no SLA policy)';
COMMENT ON COLUMN repairsys.sla_status.first_response_at IS 'First move out of the initial state (NULL: not yet)';
COMMENT ON COLUMN repairsys.sla_status.response_breached IS 'True when the first response came, or is still missing, after respond_by';
COMMENT ON COLUMN repairsys.sla_status.resolve_by IS 'Resolution deadline, moved by every hold so far (a running hold moves it when it ends)';
COMMENT ON COLUMN repairsys.sla_status.paused IS 'True while the ticket is in a state that pauses the SLA clock';
COMMENT ON COLUMN repairsys.sla_status.paused_since IS 'Start of the running hold (NULL when not paused)';
COMMENT ON COLUMN repairsys.sla_status.paused_business_hours IS 'Business hours of the finished holds (resolve_by has moved by them)';
COMMENT ON COLUMN repairsys.sla_status.business_hours_left IS 'Business hours from now (or from the start of the running hold) to resolve_by; negative when overdue';
COMMENT ON COLUMN repairsys.sla_status.breached IS 'True when resolve_by has passed in business time (a hold does not excuse time already missed)';
COMMENT ON COLUMN repairsys.sla_status.resolve_within IS 'Resolution target of the ticket (canonical sla_interval text)';
COMMENT ON COLUMN repairsys.sla_status.time_zone IS 'Time zone the SLA calendar is read in';
CREATE OR REPLACE VIEW repairsys.stuck_tickets AS
SELECT t.id AS ticket_id,
       t.service_center_id,
       t.technician_id,
       t.status,
       t.status_changed_at AS in_status_since,
       pg_catalog.round((pg_catalog.date_part('epoch', pg_catalog.now() - t.status_changed_at) / 3600)::numeric, 2) AS hours_in_status,
       pg_catalog.round((pg_catalog.date_part('epoch', s.max_dwell) / 3600)::numeric, 2) AS max_dwell_hours,
       pg_catalog.round((pg_catalog.date_part('epoch', pg_catalog.now() - t.status_changed_at - s.max_dwell) / 3600)::numeric, 2) AS hours_over
  FROM repairsys.ticket t
  JOIN repairsys.ticket_status s ON s.code = t.status
 WHERE s.max_dwell IS NOT NULL AND NOT s.is_terminal
   AND t.status_changed_at IS NOT NULL
   AND t.status_changed_at + s.max_dwell < pg_catalog.now();
COMMENT ON VIEW repairsys.stuck_tickets IS 'Tickets that stayed in their state longer than its max_dwell (停留时间过长预警), wall-clock time';
COMMENT ON COLUMN repairsys.stuck_tickets.ticket_id IS 'Ticket id';
COMMENT ON COLUMN repairsys.stuck_tickets.service_center_id IS 'Service center responsible';
COMMENT ON COLUMN repairsys.stuck_tickets.technician_id IS 'Assigned technician (NULL: none)';
COMMENT ON COLUMN repairsys.stuck_tickets.status IS 'State the ticket is stuck in';
COMMENT ON COLUMN repairsys.stuck_tickets.in_status_since IS 'When the ticket entered the state';
COMMENT ON COLUMN repairsys.stuck_tickets.hours_in_status IS 'Hours spent in the state so far';
COMMENT ON COLUMN repairsys.stuck_tickets.max_dwell_hours IS 'The state''s max_dwell in hours';
COMMENT ON COLUMN repairsys.stuck_tickets.hours_over IS 'Hours beyond max_dwell';

-- from src/sql/40_billing.sql

------------------------------------------------------------------------------
-- Audit
------------------------------------------------------------------------------
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
 WHERE l.s > 0 AND coalesce(t.labor_minutes, 0) = 0;
COMMENT ON VIEW repairsys.billing_audit IS 'One row per billing problem found; empty on a healthy database';
COMMENT ON COLUMN repairsys.billing_audit.ticket_id IS 'Ticket concerned';
COMMENT ON COLUMN repairsys.billing_audit.problem IS 'invoice total differs from its lines, bill changed after approval, payments exceed the invoice total, closed with a balance, parts used but neither billed nor covered, labor billed without work recorded';
COMMENT ON COLUMN repairsys.billing_audit.detail IS 'The figures behind the finding';

-- from src/sql/60_parts.sql
CREATE OR REPLACE VIEW repairsys.stock_transfer_suggestion AS
SELECT a.sku, a.from_center_id, a.to_center_id, a.qty, a.from_available, a.to_available, a.to_shortage, a.distance_km
  FROM repairsys.stock_transfer_allocation() a;
COMMENT ON VIEW repairsys.stock_transfer_suggestion IS 'Transfers (调配) that cover a center''s shortage from other centers'' surplus of the same part, nearest surplus first; each shortage and each surplus is allocated once';
COMMENT ON COLUMN repairsys.stock_transfer_suggestion.sku IS 'Part';
COMMENT ON COLUMN repairsys.stock_transfer_suggestion.from_center_id IS 'Center with units above its own need (max of reorder point and minimum stock)';
COMMENT ON COLUMN repairsys.stock_transfer_suggestion.to_center_id IS 'Center short of its need';
COMMENT ON COLUMN repairsys.stock_transfer_suggestion.qty IS 'Units to move: what is still missing at the receiving center and still spare at the giving one after the nearer pairs (the suggestions into a center sum to at most its shortage, out of a center to at most its surplus)';
COMMENT ON COLUMN repairsys.stock_transfer_suggestion.from_available IS 'Available units at the giving center';
COMMENT ON COLUMN repairsys.stock_transfer_suggestion.to_available IS 'Available units at the receiving center';
COMMENT ON COLUMN repairsys.stock_transfer_suggestion.to_shortage IS 'Units the receiving center is short of its need';
COMMENT ON COLUMN repairsys.stock_transfer_suggestion.distance_km IS 'Great-circle distance between the centers (NULL without coordinates)';

-- from src/sql/70_reports.sql
CREATE OR REPLACE VIEW repairsys.service_benefit AS
SELECT date_trunc('month', t.opened_at AT TIME ZONE coalesce(sc.time_zone, 'UTC'))::date AS month,
       t.service_center_id,
       t.service_type,
       count(*) AS tickets,
       sum(c.revenue) AS revenue,
       sum(c.labor_cost) AS labor_cost,
       sum(c.parts_cost) AS parts_cost,
       sum(c.travel_cost) AS travel_cost,
       sum(c.margin) AS margin,
       CASE WHEN sum(c.cost) > 0 THEN round(sum(c.margin) / sum(c.cost), 4) END AS roi,
       round(avg(fb.rating), 2) AS avg_rating,
       round(100.0 * count(*) FILTER (WHERE t.resolved_at <= t.resolve_by)
             / nullif(count(*) FILTER (WHERE t.resolved_at IS NOT NULL AND t.resolve_by IS NOT NULL), 0), 1) AS sla_met_pct,
       round((avg(extract(epoch FROM t.resolved_at - t.opened_at)) / 3600)::numeric, 2) AS mean_resolution_hours
  FROM repairsys.ticket t
  LEFT JOIN repairsys.service_center sc ON sc.id = t.service_center_id
  JOIN repairsys.ticket_cost c ON c.ticket_id = t.id
  LEFT JOIN repairsys.feedback fb ON fb.ticket_id = t.id
 WHERE t.status_role <> 'cancelled'
 GROUP BY 1, 2, 3;
COMMENT ON VIEW repairsys.service_benefit IS 'Cost and benefit of the service per month (of opening, in the center''s time zone), service center and service type';
COMMENT ON COLUMN repairsys.service_benefit.month IS 'First day of the month the tickets were opened';
COMMENT ON COLUMN repairsys.service_benefit.service_center_id IS 'Service center';
COMMENT ON COLUMN repairsys.service_benefit.service_type IS 'Service type';
COMMENT ON COLUMN repairsys.service_benefit.tickets IS 'Tickets opened (cancelled ones left out)';
COMMENT ON COLUMN repairsys.service_benefit.revenue IS 'Invoiced amounts before tax';
COMMENT ON COLUMN repairsys.service_benefit.labor_cost IS 'Labor cost';
COMMENT ON COLUMN repairsys.service_benefit.parts_cost IS 'Parts cost';
COMMENT ON COLUMN repairsys.service_benefit.travel_cost IS 'Travel cost';
COMMENT ON COLUMN repairsys.service_benefit.margin IS 'revenue - (labor + parts + travel cost)';
COMMENT ON COLUMN repairsys.service_benefit.roi IS '(revenue - cost) / cost (NULL when the cost is 0)';
COMMENT ON COLUMN repairsys.service_benefit.avg_rating IS 'Average customer rating (1..5)';
COMMENT ON COLUMN repairsys.service_benefit.sla_met_pct IS 'Percent of resolved tickets resolved by resolve_by';
COMMENT ON COLUMN repairsys.service_benefit.mean_resolution_hours IS 'Mean wall-clock hours from opening to resolution';
CREATE OR REPLACE VIEW repairsys.technician_performance AS
SELECT tech.id AS technician_id,
       tech.name,
       tech.service_center_id,
       coalesce(s.tickets, 0)::integer AS tickets,
       coalesce(s.resolved, 0)::integer AS resolved,
       round(s.first_fixes::numeric / nullif(s.resolved, 0), 4) AS first_time_fix_rate,
       round((s.resolved - s.first_fixes)::numeric / nullif(s.resolved, 0), 4) AS rework_rate,
       round(s.business_hours, 2) AS mean_resolution_business_hours,
       round(100.0 * s.sla_met / nullif(s.sla_measured, 0), 1) AS sla_met_pct,
       round(s.avg_rating, 2) AS avg_rating,
       coalesce(s.labor_minutes_30d, 0)::numeric(12,2) AS labor_minutes_30d,
       round(coalesce(s.labor_minutes_30d, 0)
             / nullif(repairsys.setting_value('technician_available_hours_30d')::numeric * 60, 0), 4) AS utilization
  FROM repairsys.technician tech
  LEFT JOIN LATERAL (
	SELECT count(*) AS tickets,
	       count(*) FILTER (WHERE t.resolved_at IS NOT NULL) AS resolved,
	       count(*) FILTER (WHERE t.resolved_at IS NOT NULL AND t.reopen_count = 0 AND NOT EXISTS (
	            SELECT 1 FROM repairsys.ticket r
	             WHERE r.asset_id = t.asset_id AND r.service_type = t.service_type AND r.id <> t.id
	               AND r.status_role <> 'cancelled'
	               AND r.opened_at > t.resolved_at
	               AND r.opened_at <= t.resolved_at + repairsys.setting_value('rework_window')::interval)) AS first_fixes,
	       avg(date_part('epoch', CASE WHEN t.sla_resolve_within IS NOT NULL
	                                   THEN repairsys.sla_elapsed(t.sla_resolve_within, t.opened_at, t.resolved_at,
	                                                              repairsys.closed_dates(t.service_center_id), t.sla_time_zone,
	                                                              od.days, od.works_as)
	                                   ELSE t.resolved_at - t.opened_at END) / 3600)
	         FILTER (WHERE t.resolved_at IS NOT NULL)::numeric AS business_hours,
	       count(*) FILTER (WHERE t.resolved_at <= t.resolve_by) AS sla_met,
	       count(*) FILTER (WHERE t.resolved_at IS NOT NULL AND t.resolve_by IS NOT NULL) AS sla_measured,
	       avg(fb.rating) AS avg_rating,
	       sum(t.labor_minutes) FILTER (WHERE t.resolved_at >= now() - interval '30 days') AS labor_minutes_30d
	  FROM repairsys.ticket t
	 CROSS JOIN LATERAL repairsys.open_dates(t.service_center_id) od
	  LEFT JOIN repairsys.feedback fb ON fb.ticket_id = t.id
	 WHERE t.technician_id = tech.id AND t.status_role <> 'cancelled'
  ) s ON true;
COMMENT ON VIEW repairsys.technician_performance IS 'Per technician: volume, first-time fix and rework rates, resolution time in business hours, SLA met, rating and utilization (docs/reports.md)';
COMMENT ON COLUMN repairsys.technician_performance.technician_id IS 'Technician';
COMMENT ON COLUMN repairsys.technician_performance.name IS 'Technician name';
COMMENT ON COLUMN repairsys.technician_performance.service_center_id IS 'Service center of the technician';
COMMENT ON COLUMN repairsys.technician_performance.tickets IS 'Tickets assigned to the technician (cancelled ones left out)';
COMMENT ON COLUMN repairsys.technician_performance.resolved IS 'Of these, tickets resolved (resolved_at set)';
COMMENT ON COLUMN repairsys.technician_performance.first_time_fix_rate IS 'Share (0..1) of resolved tickets never reopened and with no later ticket on the same asset and service type opened within rework_window after resolution (NULL: none resolved)';
COMMENT ON COLUMN repairsys.technician_performance.rework_rate IS '1 - first_time_fix_rate: share of resolved tickets reopened or repaired again within rework_window (NULL: none resolved)';
COMMENT ON COLUMN repairsys.technician_performance.mean_resolution_business_hours IS 'Mean hours from opening to resolution, in the business hours of the ticket''s resolve calendar (sla_elapsed with the center''s holidays and make-up working days) when it has an SLA, else wall-clock hours';
COMMENT ON COLUMN repairsys.technician_performance.sla_met_pct IS 'Percent of resolved tickets with a deadline resolved by resolve_by (NULL: none)';
COMMENT ON COLUMN repairsys.technician_performance.avg_rating IS 'Average customer rating (1..5) of the technician''s tickets (NULL: none rated)';
COMMENT ON COLUMN repairsys.technician_performance.labor_minutes_30d IS 'Labor minutes of the technician''s tickets resolved in the last 30 days';
COMMENT ON COLUMN repairsys.technician_performance.utilization IS 'labor_minutes_30d / (setting technician_available_hours_30d x 60): share of the available working time of the last 30 days spent on recorded labor';
CREATE OR REPLACE VIEW repairsys.customer_profile AS
SELECT c.id AS customer_id,
       c.name,
       c.phone,
       c.service_center_id,
       coalesce(a.assets, 0)::integer AS assets,
       coalesce(a.purchase_total, 0)::numeric(14,2) AS purchase_total,
       coalesce(k.tickets, 0)::integer AS tickets,
       coalesce(k.repairs, 0)::integer AS repairs,
       coalesce(p.total_spent, 0)::numeric(14,2) AS total_spent,
       round(k.avg_rating, 2) AS avg_rating,
       coalesce(k.complaints, 0)::integer AS complaints,
       k.last_ticket_at,
       CASE WHEN k.recent_complaints > 0
                 OR k.avg_rating < repairsys.setting_value('segment_at_risk_rating')::numeric THEN 'at_risk'
            WHEN coalesce(a.purchase_total, 0) + coalesce(p.total_spent, 0)
                 >= repairsys.setting_value('segment_high_value_total')::numeric THEN 'high_value'
            WHEN coalesce(k.recent_tickets, 0) >= repairsys.setting_value('segment_frequent_repairs')::integer THEN 'frequent_repair'
            ELSE 'regular' END AS segment
  FROM repairsys.customer c
  LEFT JOIN LATERAL (
	SELECT count(*) AS assets, sum(x.purchase_price) AS purchase_total
	  FROM repairsys.asset x WHERE x.customer_id = c.id
  ) a ON true
  LEFT JOIN LATERAL (
	SELECT count(*) AS tickets,
	       count(*) FILTER (WHERE t.resolved_at IS NOT NULL) AS repairs,
	       avg(fb.rating) AS avg_rating,
	       count(*) FILTER (WHERE fb.complaint) AS complaints,
	       count(*) FILTER (WHERE fb.complaint AND fb.at >= now() - repairsys.setting_value('segment_at_risk_window')::interval) AS recent_complaints,
	       count(*) FILTER (WHERE t.opened_at >= now() - repairsys.setting_value('segment_frequent_window')::interval) AS recent_tickets,
	       max(t.opened_at) AS last_ticket_at
	  FROM repairsys.ticket t
	  LEFT JOIN repairsys.feedback fb ON fb.ticket_id = t.id
	 WHERE t.customer_id = c.id AND t.status_role <> 'cancelled'
  ) k ON true
  LEFT JOIN LATERAL (
	SELECT sum(pm.amount) AS total_spent
	  FROM repairsys.ticket t
	  JOIN repairsys.invoice i ON i.ticket_id = t.id
	  JOIN repairsys.payment pm ON pm.invoice_id = i.id
	 WHERE t.customer_id = c.id
  ) p ON true;
COMMENT ON VIEW repairsys.customer_profile IS 'Customer archive (客户档案) with purchase and repair history, spending, satisfaction and a segment (thresholds: settings segment_*, docs/reports.md)';
COMMENT ON COLUMN repairsys.customer_profile.customer_id IS 'Customer';
COMMENT ON COLUMN repairsys.customer_profile.name IS 'Customer name';
COMMENT ON COLUMN repairsys.customer_profile.phone IS 'Phone number';
COMMENT ON COLUMN repairsys.customer_profile.service_center_id IS 'Home service center';
COMMENT ON COLUMN repairsys.customer_profile.assets IS 'Units the customer bought (asset rows)';
COMMENT ON COLUMN repairsys.customer_profile.purchase_total IS 'Sum of the assets'' purchase prices';
COMMENT ON COLUMN repairsys.customer_profile.tickets IS 'Tickets opened (cancelled ones left out)';
COMMENT ON COLUMN repairsys.customer_profile.repairs IS 'Of these, tickets resolved';
COMMENT ON COLUMN repairsys.customer_profile.total_spent IS 'Payments received on the invoices of the customer''s tickets';
COMMENT ON COLUMN repairsys.customer_profile.avg_rating IS 'Average rating the customer gave (NULL: never rated)';
COMMENT ON COLUMN repairsys.customer_profile.complaints IS 'Feedback rows flagged as complaints';
COMMENT ON COLUMN repairsys.customer_profile.last_ticket_at IS 'When the customer''s latest ticket was opened (NULL: none)';
COMMENT ON COLUMN repairsys.customer_profile.segment IS 'First that applies: at_risk (a complaint within segment_at_risk_window, or avg_rating below segment_at_risk_rating), high_value (purchase_total + total_spent >= segment_high_value_total), frequent_repair (at least segment_frequent_repairs tickets opened within segment_frequent_window), regular';

-- triggers on repairsys.ticket (new, and the two whose WHEN now reads status_role;
-- they fire in name order: see the pieces named)
DROP TRIGGER ticket_60_parts ON repairsys.ticket;
DROP TRIGGER ticket_70_follow_up ON repairsys.ticket;
-- (50_assign.sql)
CREATE TRIGGER ticket_05_assign_check BEFORE INSERT ON repairsys.ticket
	FOR EACH ROW WHEN (NEW.technician_id IS NOT NULL)
	EXECUTE FUNCTION repairsys.ticket_assign_check_trg();
-- (35_sla.sql)
CREATE TRIGGER ticket_12_times BEFORE INSERT ON repairsys.ticket
	FOR EACH ROW EXECUTE FUNCTION repairsys.ticket_times_trg();
-- (40_billing.sql)
CREATE TRIGGER ticket_15_price_snapshot_insert
	BEFORE INSERT ON repairsys.ticket
	FOR EACH ROW
	WHEN (NEW.estimate_approved_at IS NOT NULL OR NEW.price_labor_fee IS NOT NULL OR NEW.price_travel_fee IS NOT NULL
	      OR NEW.price_callout_fee IS NOT NULL OR NEW.price_complexity_factor IS NOT NULL OR NEW.price_surcharge_pct IS NOT NULL
	      OR NEW.price_tax_rate_labor IS NOT NULL OR NEW.price_tax_rate_parts IS NOT NULL OR NEW.price_rework_window IS NOT NULL
	      OR NEW.approved_estimate_low IS NOT NULL OR NEW.approved_estimate_high IS NOT NULL)
	EXECUTE FUNCTION repairsys.ticket_price_snapshot_trg();
-- (40_billing.sql)
CREATE TRIGGER ticket_16_bill_facts
	BEFORE UPDATE OF customer_id, asset_id, warranty_void, service_type, complexity, urgency ON repairsys.ticket
	FOR EACH ROW EXECUTE FUNCTION repairsys.ticket_bill_facts_trg();
-- (50_assign.sql)
CREATE TRIGGER ticket_25_assign_check BEFORE UPDATE ON repairsys.ticket
	FOR EACH ROW WHEN (NEW.technician_id IS NOT NULL
	                   AND (NEW.technician_id IS DISTINCT FROM OLD.technician_id
	                        OR (NEW.closed_at IS NULL AND OLD.closed_at IS NOT NULL)))
	EXECUTE FUNCTION repairsys.ticket_assign_check_trg();
-- (35_sla.sql)
CREATE TRIGGER ticket_35_times BEFORE UPDATE OF opened_at, respond_by, resolve_by, sla_time_zone ON repairsys.ticket
	FOR EACH ROW WHEN (NEW.opened_at IS DISTINCT FROM OLD.opened_at OR NEW.respond_by IS DISTINCT FROM OLD.respond_by
	                   OR NEW.resolve_by IS DISTINCT FROM OLD.resolve_by OR NEW.sla_time_zone IS DISTINCT FROM OLD.sla_time_zone)
	EXECUTE FUNCTION repairsys.ticket_times_trg();
-- (60_parts.sql)
CREATE TRIGGER ticket_60_parts AFTER UPDATE OF status ON repairsys.ticket
	FOR EACH ROW WHEN (NEW.status_role IS DISTINCT FROM OLD.status_role AND NEW.status_role IN ('resolved', 'cancelled'))
	EXECUTE FUNCTION repairsys.ticket_parts_on_status_trg();
-- (40_billing.sql)
CREATE TRIGGER ticket_65_part_coverage
	AFTER UPDATE OF warranty_void, asset_id ON repairsys.ticket
	FOR EACH ROW WHEN (NEW.warranty_void IS DISTINCT FROM OLD.warranty_void OR NEW.asset_id IS DISTINCT FROM OLD.asset_id)
	EXECUTE FUNCTION repairsys.ticket_part_coverage_sync_trg();
-- (70_reports.sql)
CREATE TRIGGER ticket_70_follow_up AFTER UPDATE OF status ON repairsys.ticket
	FOR EACH ROW WHEN (NEW.status_role = 'closed' AND OLD.status_role IS DISTINCT FROM 'closed')
	EXECUTE FUNCTION repairsys.ticket_follow_up_trg();

-- triggers on other tables (the pieces that define their functions)
DROP TRIGGER ticket_status_seed ON repairsys.ticket_status;
CREATE TRIGGER setting_10_valid BEFORE INSERT OR UPDATE ON repairsys.setting
	FOR EACH ROW EXECUTE FUNCTION repairsys.setting_valid_trg();
CREATE TRIGGER service_center_10_check BEFORE INSERT OR UPDATE OF time_zone ON repairsys.service_center
	FOR EACH ROW EXECUTE FUNCTION repairsys.service_center_check_trg();
CREATE TRIGGER ticket_status_seed BEFORE INSERT OR UPDATE ON repairsys.ticket_status
	FOR EACH ROW EXECUTE FUNCTION repairsys.seed_row_changed('seed_code');
CREATE TRIGGER ticket_status_10_check BEFORE INSERT OR UPDATE ON repairsys.ticket_status
	FOR EACH ROW EXECUTE FUNCTION repairsys.ticket_status_trg();
CREATE TRIGGER ticket_status_90_roles AFTER INSERT OR UPDATE OR DELETE ON repairsys.ticket_status
	FOR EACH STATEMENT EXECUTE FUNCTION repairsys.ticket_status_check_trg();
CREATE TRIGGER ticket_part_05_snapshot
	BEFORE INSERT OR UPDATE OF covered, unit_price, ticket_id ON repairsys.ticket_part
	FOR EACH ROW EXECUTE FUNCTION repairsys.ticket_part_snapshot_trg();
CREATE TRIGGER asset_10_bill_facts
	BEFORE UPDATE OF customer_id, warranty_until ON repairsys.asset
	FOR EACH ROW EXECUTE FUNCTION repairsys.asset_bill_facts_trg();
CREATE TRIGGER ticket_discount_10_rules
	BEFORE INSERT OR UPDATE ON repairsys.ticket_discount
	FOR EACH ROW EXECUTE FUNCTION repairsys.ticket_discount_trg();
CREATE TRIGGER payment_10_rules BEFORE INSERT ON repairsys.payment
	FOR EACH ROW EXECUTE FUNCTION repairsys.payment_rules_trg();
CREATE TRIGGER stock_movement_07_rules BEFORE INSERT ON repairsys.stock_movement
	FOR EACH ROW WHEN (NOT repairsys.is_table_owner('repairsys.stock_movement')
	                   AND (NEW.ticket_id IS NULL OR repairsys.ticket_visible(NEW.ticket_id)))
	EXECUTE FUNCTION repairsys.stock_movement_rules_trg();
CREATE CONSTRAINT TRIGGER stock_movement_20_units AFTER INSERT ON repairsys.stock_movement
	DEFERRABLE INITIALLY DEFERRED
	FOR EACH ROW WHEN (NOT repairsys.is_table_owner('repairsys.stock_movement'))
	EXECUTE FUNCTION repairsys.part_units_agree_trg();
CREATE CONSTRAINT TRIGGER part_unit_20_units AFTER INSERT OR UPDATE OR DELETE ON repairsys.part_unit
	DEFERRABLE INITIALLY DEFERRED
	FOR EACH ROW WHEN (NOT repairsys.is_table_owner('repairsys.part_unit'))
	EXECUTE FUNCTION repairsys.part_units_agree_trg();
CREATE TRIGGER ticket_part_05_open BEFORE INSERT OR UPDATE ON repairsys.ticket_part
	FOR EACH ROW WHEN (NEW.state = 'reserved')
	EXECUTE FUNCTION repairsys.ticket_part_open_trg();
CREATE TRIGGER ticket_part_06_state BEFORE UPDATE ON repairsys.ticket_part
	FOR EACH ROW WHEN (OLD.state <> 'reserved')
	EXECUTE FUNCTION repairsys.ticket_part_state_trg();
CREATE TRIGGER ticket_part_06_state_insert BEFORE INSERT ON repairsys.ticket_part
	FOR EACH ROW WHEN (NEW.state = 'used')
	EXECUTE FUNCTION repairsys.ticket_part_state_trg();

-- What nothing reads any more: the 1.1 columns of ticket_status and the 1.1
-- functions whose signature changed.
ALTER TABLE repairsys.ticket_status DROP COLUMN is_initial_1_1, DROP COLUMN is_terminal_1_1;
-- (PostgreSQL 18 keeps NOT NULL constraints in pg_constraint, named
-- <table>_<column>_not_null: the new is_initial and is_terminal were added
-- while the old columns held those names, and take them now that they are
-- free, so the catalog is the one a fresh install has.  Before 18 there are
-- no such rows and nothing happens.)
DO $$
DECLARE
	c record;
BEGIN
	FOR c IN
		SELECT k.conname, pg_catalog.format('%s_%s_not_null', r.relname, a.attname) AS want
		  FROM pg_catalog.pg_constraint k
		  JOIN pg_catalog.pg_class r ON r.oid OPERATOR(pg_catalog.=) k.conrelid
		  JOIN pg_catalog.pg_attribute a ON a.attrelid OPERATOR(pg_catalog.=) k.conrelid AND a.attnum OPERATOR(pg_catalog.=) k.conkey[1]
		 WHERE k.conrelid OPERATOR(pg_catalog.=) 'repairsys.ticket_status'::pg_catalog.regclass
		   AND k.contype OPERATOR(pg_catalog.=) 'n'
		   AND a.attname OPERATOR(pg_catalog.=) ANY (ARRAY['is_initial', 'is_terminal']::name[])
	LOOP
		IF c.conname OPERATOR(pg_catalog.<>) c.want THEN
			EXECUTE pg_catalog.format('ALTER TABLE repairsys.ticket_status RENAME CONSTRAINT %I TO %I', c.conname, c.want);
		END IF;
	END LOOP;
END
$$;
DROP FUNCTION repairsys.sla_deadline_1_1(repairsys.sla_interval, timestamptz, date[], text);
DROP FUNCTION repairsys.sla_advance_1_1(repairsys.sla_interval, timestamptz, interval, date[], text);
DROP FUNCTION repairsys.sla_elapsed_1_1(repairsys.sla_interval, timestamptz, timestamptz, date[], text);
DROP FUNCTION repairsys.adjust_stock_1_1(text, bigint, integer, text);
DROP FUNCTION repairsys.return_part_1_1(bigint, text, integer, text);

------------------------------------------------------------------------------
-- 3a. fee_tier's 64-bit seeded hash (src/sql/10_fee_tier.sql)
------------------------------------------------------------------------------

-- The C of 1.2 (files split, shared helpers, symbol prefixes) keeps every
-- symbol an install script binds, so no other C function is declared again.

-- fee_tier gets the seeded 64-bit hash (hash support function 2), as
-- sla_interval has: hash partitioning on fee_tier columns
-- (src/sql/10_fee_tier.sql holds the same definitions).
CREATE FUNCTION repairsys.fee_tier_hash_extended(repairsys.fee_tier, bigint) RETURNS bigint
	AS 'MODULE_PATHNAME', 'fee_tier_hash_extended' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION repairsys.fee_tier_hash_extended(repairsys.fee_tier, bigint) IS 'Seeded 64-bit hash of a fee_tier (hash partitioning support; seed 0 gives fee_tier_hash in the low 32 bits)';
ALTER OPERATOR FAMILY repairsys.fee_tier_hash_ops USING hash
	ADD FUNCTION 2 repairsys.fee_tier_hash_extended(repairsys.fee_tier, bigint);

------------------------------------------------------------------------------
-- 3b. Budgets, overheads, reputation, recalls, the manager's report (issue 21)
------------------------------------------------------------------------------
-- service_center.language (src/sql/20_tables.sql)
ALTER TABLE repairsys.service_center ADD COLUMN language text CHECK (language IN ('en', 'zh-CN'));
COMMENT ON COLUMN repairsys.service_center.language IS 'Language of the center''s reports (report_html): en or zh-CN; NULL: the setting language';


-- (src/sql/26_tables_cost.sql)
-- Cost management and recalls (DESIGN.md section 18, docs/reports.md): the
-- budgets a center keeps per month and cost class, the indirect costs
-- (overheads) allocated to the month's tickets, and product recalls with the
-- ticket each affected unit got.  The rules and views are in 72_cost.sql.

------------------------------------------------------------------------------
-- Budgets (预算控制) and overheads (indirect costs)
------------------------------------------------------------------------------
-- A cost class is a lower-case word: labor, parts and travel are the direct
-- costs that ticket_cost measures; any other word (rent, vehicles,
-- call_center, ...) is an indirect class whose amounts are the overhead rows.
CREATE TABLE repairsys.budget (
	service_center_id bigint NOT NULL REFERENCES repairsys.service_center ON DELETE CASCADE,
	month             date NOT NULL CHECK (extract(day FROM month) = 1),
	cost_class        text NOT NULL CHECK (cost_class ~ '^[a-z][a-z0-9_]{0,39}$'),
	amount            numeric(14,2) NOT NULL CHECK (amount >= 0),
	PRIMARY KEY (service_center_id, month, cost_class)
);
COMMENT ON TABLE repairsys.budget IS 'Budgets (预算): what a service center plans to spend in a month on a cost class; watched by the view budget_status';
COMMENT ON COLUMN repairsys.budget.service_center_id IS 'Service center';
COMMENT ON COLUMN repairsys.budget.month IS 'First day of the month (in the center''s time zone)';
COMMENT ON COLUMN repairsys.budget.cost_class IS 'labor, parts, travel (direct costs) or an indirect class of overhead (rent, vehicles, call_center, ...): a lower-case word';
COMMENT ON COLUMN repairsys.budget.amount IS 'Budgeted amount';
SELECT pg_catalog.pg_extension_config_dump('repairsys.budget', '');

CREATE TABLE repairsys.overhead (
	id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	service_center_id bigint NOT NULL REFERENCES repairsys.service_center ON DELETE CASCADE,
	month             date NOT NULL CHECK (extract(day FROM month) = 1),
	cost_class        text NOT NULL CHECK (cost_class ~ '^[a-z][a-z0-9_]{0,39}$' AND cost_class NOT IN ('labor', 'parts', 'travel')),
	amount            numeric(14,2) NOT NULL CHECK (amount >= 0),
	note              text,
	UNIQUE (service_center_id, month, cost_class)
);
COMMENT ON TABLE repairsys.overhead IS 'Indirect costs (间接成本) of a service center in a month (rent, vehicles, call center, ...), allocated to the month''s tickets by the setting overhead_driver (view overhead_allocation)';
COMMENT ON COLUMN repairsys.overhead.id IS 'Overhead id';
COMMENT ON COLUMN repairsys.overhead.service_center_id IS 'Service center that bears the cost';
COMMENT ON COLUMN repairsys.overhead.month IS 'First day of the month (in the center''s time zone)';
COMMENT ON COLUMN repairsys.overhead.cost_class IS 'Indirect cost class: a lower-case word other than labor, parts and travel';
COMMENT ON COLUMN repairsys.overhead.amount IS 'Amount of the month';
COMMENT ON COLUMN repairsys.overhead.note IS 'Free text (invoice, contract)';
SELECT pg_catalog.pg_extension_config_dump('repairsys.overhead', '');

------------------------------------------------------------------------------
-- Recalls (产品召回)
------------------------------------------------------------------------------
-- Written only by repairsys.open_recall() (SECURITY DEFINER), which opens one
-- ticket per affected asset and records it in recall_ticket.
CREATE TABLE repairsys.recall (
	id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	model        text NOT NULL CHECK (model <> ''),
	serial_from  text NOT NULL CHECK (serial_from <> ''),
	serial_to    text NOT NULL CHECK (serial_to <> ''),
	service_type text NOT NULL REFERENCES repairsys.service_type ON UPDATE CASCADE,
	reason       text NOT NULL CHECK (reason <> ''),
	opened_at    timestamptz NOT NULL DEFAULT now(),
	opened_by    name NOT NULL DEFAULT session_user,
	CHECK (serial_from COLLATE "C" <= serial_to COLLATE "C"),
	CONSTRAINT recall_key UNIQUE (model, serial_from, serial_to, service_type)
);
COMMENT ON TABLE repairsys.recall IS 'Product recalls (产品召回): the units of a model whose serial numbers lie in a range get a ticket of the service type (open_recall())';
COMMENT ON COLUMN repairsys.recall.id IS 'Recall id';
COMMENT ON COLUMN repairsys.recall.model IS 'Model recalled (asset.model, exactly)';
COMMENT ON COLUMN repairsys.recall.serial_from IS 'First serial number of the range (inclusive; compared byte by byte, COLLATE "C")';
COMMENT ON COLUMN repairsys.recall.serial_to IS 'Last serial number of the range (inclusive)';
COMMENT ON COLUMN repairsys.recall.service_type IS 'Service type of the recall tickets';
COMMENT ON COLUMN repairsys.recall.reason IS 'Why the units are recalled (the tickets'' description)';
COMMENT ON COLUMN repairsys.recall.opened_at IS 'When the recall was first opened';
COMMENT ON COLUMN repairsys.recall.opened_by IS 'Session user who first opened it';
SELECT pg_catalog.pg_extension_config_dump('repairsys.recall', '');

CREATE TABLE repairsys.recall_ticket (
	recall_id bigint NOT NULL REFERENCES repairsys.recall ON DELETE CASCADE,
	asset_id  bigint NOT NULL REFERENCES repairsys.asset,
	ticket_id bigint NOT NULL UNIQUE REFERENCES repairsys.ticket,
	PRIMARY KEY (recall_id, asset_id)
);
COMMENT ON TABLE repairsys.recall_ticket IS 'The ticket each affected asset got from a recall: one per (recall, asset), so a recall run twice opens nothing new';
COMMENT ON COLUMN repairsys.recall_ticket.recall_id IS 'Recall';
COMMENT ON COLUMN repairsys.recall_ticket.asset_id IS 'Affected asset';
COMMENT ON COLUMN repairsys.recall_ticket.ticket_id IS 'Ticket opened for it';
SELECT pg_catalog.pg_extension_config_dump('repairsys.recall_ticket', '');

-- src/sql/72_cost.sql: the overhead driver, the allocation, ticket_cost and service_benefit with their new columns
-- Cost of the service (DESIGN.md section 18, docs/reports.md): overheads
-- allocated to the month's tickets, the cost of each ticket with its share of
-- them (ticket_cost), and the service-benefit report (service_benefit).  The
-- tables are in 26_tables_cost.sql; budgets, reputation, recalls and the
-- manager's page, which read these views, in 73_cost_reports.sql.
--
-- A ticket belongs to the month it was opened in, in its center's time zone.

INSERT INTO repairsys.setting (name, value, description, dump, type, min_value, choices) VALUES
	('overhead_driver', 'labor_minutes', 'How an overhead is shared among the month''s tickets of its center: labor_minutes (recorded labor), tickets (equally) or revenue (invoiced before tax)', false, 'choice', NULL,
	 ARRAY['labor_minutes', 'tickets', 'revenue']);

------------------------------------------------------------------------------
-- Months in a center's time zone
------------------------------------------------------------------------------
-- The instant a month (its first day) starts in a time zone.
CREATE FUNCTION repairsys.month_start(month date, time_zone text)
RETURNS timestamptz
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = repairsys, pg_catalog, pg_temp
BEGIN ATOMIC
	SELECT (month::timestamp without time zone) AT TIME ZONE coalesce(time_zone, 'UTC');
END;
COMMENT ON FUNCTION repairsys.month_start(date, text) IS 'The instant the month (given by any of its days) starts in the time zone (NULL: UTC)';

-- The share (0..1) of a month that has passed at an instant, in a time zone:
-- 0 before it starts, 1 after it ends.
CREATE FUNCTION repairsys.month_elapsed(month date, time_zone text, at timestamptz)
RETURNS numeric
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = repairsys, pg_catalog, pg_temp
BEGIN ATOMIC
	SELECT least(1, greatest(0,
	         round((extract(epoch FROM at - repairsys.month_start(month, time_zone))
	                / extract(epoch FROM repairsys.month_start((month + interval '1 month')::date, time_zone)
	                                     - repairsys.month_start(month, time_zone)))::numeric, 6)));
END;
COMMENT ON FUNCTION repairsys.month_elapsed(date, text, timestamptz) IS 'Share (0..1, 6 decimals) of the month (first day given) that has passed at the instant, in the time zone: 0 before it, 1 after it';

------------------------------------------------------------------------------
-- Overheads allocated to tickets
------------------------------------------------------------------------------
-- Every overhead is shared among the tickets (not cancelled) opened at its
-- center in its month, in proportion to the driver (setting overhead_driver).
-- Cents are placed by the largest remainder, as installments are: each ticket
-- gets the whole cents of its exact share, and the cents left over go one
-- each to the tickets with the largest remainders (ties: lower ticket id), so
-- the allocations of one overhead sum exactly to it.  The arithmetic is done
-- in whole cents and whole driver units (labor in hundredths of a minute,
-- revenue in cents), so no rounding happens anywhere else.  When the driver is
-- 0 for every ticket of the month (no labor recorded yet), the overhead is
-- shared equally.  An overhead of a month without tickets is not allocated
-- (budget_status still counts it).
CREATE VIEW repairsys.overhead_allocation AS
WITH drv AS (
	SELECT repairsys.setting_value('overhead_driver') AS driver
), w AS (
	SELECT o.id AS overhead_id, o.service_center_id, o.month, o.cost_class, o.amount, d.driver, t.id AS ticket_id,
	       CASE d.driver WHEN 'tickets' THEN 1::numeric
	                     WHEN 'labor_minutes' THEN coalesce(t.labor_minutes, 0)
	                     ELSE greatest(coalesce(r.revenue, 0), 0) END AS driver_value
	  FROM repairsys.overhead o
	  JOIN repairsys.service_center sc ON sc.id = o.service_center_id
	 CROSS JOIN drv d
	  JOIN repairsys.ticket t ON t.service_center_id = o.service_center_id
	   AND t.opened_at >= repairsys.month_start(o.month, sc.time_zone)
	   AND t.opened_at < repairsys.month_start((o.month + interval '1 month')::date, sc.time_zone)
	   AND t.status_role <> 'cancelled'
	  LEFT JOIN LATERAL (SELECT sum(l.amount) AS revenue
	                       FROM repairsys.invoice i JOIN repairsys.invoice_line l ON l.invoice_id = i.id
	                      WHERE i.ticket_id = t.id AND d.driver = 'revenue') r ON true
), units AS (
	SELECT w.*, pg_catalog.round(w.amount * 100) AS cents,
	       CASE WHEN sum(w.driver_value) OVER (PARTITION BY w.overhead_id) > 0 THEN pg_catalog.round(w.driver_value * 100) ELSE 1 END AS weight
	  FROM w
), shares AS (
	SELECT u.*, pg_catalog.div(u.cents * u.weight, sum(u.weight) OVER (PARTITION BY u.overhead_id)) AS whole,
	       pg_catalog.mod(u.cents * u.weight, sum(u.weight) OVER (PARTITION BY u.overhead_id)) AS rest
	  FROM units u
), ranked AS (
	SELECT s.*, s.cents - sum(s.whole) OVER (PARTITION BY s.overhead_id) AS left_over,
	       row_number() OVER (PARTITION BY s.overhead_id ORDER BY s.rest DESC, s.ticket_id) AS place
	  FROM shares s
)
SELECT x.overhead_id, x.service_center_id, x.month, x.cost_class, x.ticket_id, x.driver, x.driver_value,
       ((x.whole + CASE WHEN x.place <= x.left_over THEN 1 ELSE 0 END) / 100.0)::numeric(14,2) AS amount
  FROM ranked x;
COMMENT ON VIEW repairsys.overhead_allocation IS 'Each overhead''s share of each ticket of its center and month, by the driver of setting overhead_driver; the shares of one overhead sum exactly to it (largest remainder, to the cent)';
COMMENT ON COLUMN repairsys.overhead_allocation.overhead_id IS 'Overhead allocated';
COMMENT ON COLUMN repairsys.overhead_allocation.service_center_id IS 'Service center of the overhead and the ticket';
COMMENT ON COLUMN repairsys.overhead_allocation.month IS 'Month of the overhead (the ticket was opened in it, in the center''s time zone)';
COMMENT ON COLUMN repairsys.overhead_allocation.cost_class IS 'Indirect cost class of the overhead';
COMMENT ON COLUMN repairsys.overhead_allocation.ticket_id IS 'Ticket that bears the share';
COMMENT ON COLUMN repairsys.overhead_allocation.driver IS 'Driver used: labor_minutes, tickets or revenue';
COMMENT ON COLUMN repairsys.overhead_allocation.driver_value IS 'The ticket''s quantity of the driver: labor minutes, 1, or revenue before tax (when it is 0 for every ticket of the month, the overhead is shared equally)';
COMMENT ON COLUMN repairsys.overhead_allocation.amount IS 'Share of the overhead borne by the ticket';

------------------------------------------------------------------------------
-- Cost and benefit
------------------------------------------------------------------------------
CREATE OR REPLACE VIEW repairsys.ticket_cost AS
SELECT d.ticket_id, d.revenue, d.labor_cost, d.parts_cost, d.travel_cost, d.cost, d.revenue - d.cost AS margin,
       d.cost AS direct_cost,
       coalesce(a.indirect, 0.00) AS indirect_cost,
       d.cost + coalesce(a.indirect, 0.00) AS full_cost,
       d.revenue - d.cost - coalesce(a.indirect, 0.00) AS full_margin
  FROM (
	SELECT t.id AS ticket_id,
	       coalesce(r.revenue, 0.00) AS revenue,
	       round(coalesce(tech.hourly_cost, 0) * coalesce(t.labor_minutes, 0) / 60, 2) AS labor_cost,
	       coalesce(p.parts_cost, 0.00) AS parts_cost,
	       round(coalesce(t.travel_km, 0) * repairsys.setting_value('travel_cost_per_km')::numeric, 2) AS travel_cost,
	       round(coalesce(tech.hourly_cost, 0) * coalesce(t.labor_minutes, 0) / 60, 2) + coalesce(p.parts_cost, 0.00)
	         + round(coalesce(t.travel_km, 0) * repairsys.setting_value('travel_cost_per_km')::numeric, 2) AS cost
	  FROM repairsys.ticket t
	  LEFT JOIN repairsys.technician tech ON tech.id = t.technician_id
	  LEFT JOIN LATERAL (SELECT sum(l.amount) AS revenue FROM repairsys.invoice i JOIN repairsys.invoice_line l ON l.invoice_id = i.id
	                      WHERE i.ticket_id = t.id) r ON true
	  LEFT JOIN LATERAL (SELECT sum(-m.qty * coalesce(m.unit_cost, pt.unit_cost)) AS parts_cost
	                       FROM repairsys.stock_movement m JOIN repairsys.part pt ON pt.sku = m.sku
	                      WHERE m.ticket_id = t.id AND m.kind IN ('issue', 'return')) p ON true
  ) d
  LEFT JOIN (SELECT oa.ticket_id, sum(oa.amount) AS indirect FROM repairsys.overhead_allocation oa GROUP BY oa.ticket_id) a
    ON a.ticket_id = d.ticket_id;
COMMENT ON VIEW repairsys.ticket_cost IS 'Revenue and cost of each ticket: direct cost (labor, parts, travel) and its share of the overheads (indirect cost)';
COMMENT ON COLUMN repairsys.ticket_cost.ticket_id IS 'Ticket';
COMMENT ON COLUMN repairsys.ticket_cost.revenue IS 'Invoiced amount before tax (0 until invoiced)';
COMMENT ON COLUMN repairsys.ticket_cost.labor_cost IS 'Technician hourly_cost x labor_minutes / 60';
COMMENT ON COLUMN repairsys.ticket_cost.parts_cost IS 'Units issued to the ticket (less returns) at their ledger unit cost';
COMMENT ON COLUMN repairsys.ticket_cost.travel_cost IS 'travel_km x setting travel_cost_per_km';
COMMENT ON COLUMN repairsys.ticket_cost.cost IS 'labor_cost + parts_cost + travel_cost (the direct cost)';
COMMENT ON COLUMN repairsys.ticket_cost.margin IS 'revenue - cost (before overheads)';
COMMENT ON COLUMN repairsys.ticket_cost.direct_cost IS 'labor_cost + parts_cost + travel_cost (the same as cost)';
COMMENT ON COLUMN repairsys.ticket_cost.indirect_cost IS 'The ticket''s share of its center''s overheads of its month (overhead_allocation)';
COMMENT ON COLUMN repairsys.ticket_cost.full_cost IS 'direct_cost + indirect_cost';
COMMENT ON COLUMN repairsys.ticket_cost.full_margin IS 'revenue - full_cost';

CREATE OR REPLACE VIEW repairsys.service_benefit AS
SELECT date_trunc('month', t.opened_at AT TIME ZONE coalesce(sc.time_zone, 'UTC'))::date AS month,
       t.service_center_id,
       t.service_type,
       count(*) AS tickets,
       sum(c.revenue) AS revenue,
       sum(c.labor_cost) AS labor_cost,
       sum(c.parts_cost) AS parts_cost,
       sum(c.travel_cost) AS travel_cost,
       sum(c.margin) AS margin,
       CASE WHEN sum(c.cost) > 0 THEN round(sum(c.margin) / sum(c.cost), 4) END AS roi,
       round(avg(fb.rating), 2) AS avg_rating,
       round(100.0 * count(*) FILTER (WHERE t.resolved_at <= t.resolve_by)
             / nullif(count(*) FILTER (WHERE t.resolved_at IS NOT NULL AND t.resolve_by IS NOT NULL), 0), 1) AS sla_met_pct,
       round((avg(extract(epoch FROM t.resolved_at - t.opened_at)) / 3600)::numeric, 2) AS mean_resolution_hours,
       sum(c.direct_cost) AS direct_cost,
       sum(c.indirect_cost) AS indirect_cost,
       sum(c.full_cost) AS full_cost,
       sum(c.full_margin) AS full_margin,
       CASE WHEN sum(c.full_cost) > 0 THEN round(sum(c.full_margin) / sum(c.full_cost), 4) END AS full_roi
  FROM repairsys.ticket t
  LEFT JOIN repairsys.service_center sc ON sc.id = t.service_center_id
  JOIN repairsys.ticket_cost c ON c.ticket_id = t.id
  LEFT JOIN repairsys.feedback fb ON fb.ticket_id = t.id
 WHERE t.status_role <> 'cancelled'
 GROUP BY 1, 2, 3;
COMMENT ON VIEW repairsys.service_benefit IS 'Cost and benefit of the service per month (of opening, in the center''s time zone), service center and service type';
COMMENT ON COLUMN repairsys.service_benefit.month IS 'First day of the month the tickets were opened';
COMMENT ON COLUMN repairsys.service_benefit.service_center_id IS 'Service center';
COMMENT ON COLUMN repairsys.service_benefit.service_type IS 'Service type';
COMMENT ON COLUMN repairsys.service_benefit.tickets IS 'Tickets opened (cancelled ones left out)';
COMMENT ON COLUMN repairsys.service_benefit.revenue IS 'Invoiced amounts before tax';
COMMENT ON COLUMN repairsys.service_benefit.labor_cost IS 'Labor cost';
COMMENT ON COLUMN repairsys.service_benefit.parts_cost IS 'Parts cost';
COMMENT ON COLUMN repairsys.service_benefit.travel_cost IS 'Travel cost';
COMMENT ON COLUMN repairsys.service_benefit.margin IS 'revenue - (labor + parts + travel cost)';
COMMENT ON COLUMN repairsys.service_benefit.roi IS '(revenue - cost) / cost on the direct cost (NULL when the cost is 0); full_roi counts the overheads';
COMMENT ON COLUMN repairsys.service_benefit.avg_rating IS 'Average customer rating (1..5)';
COMMENT ON COLUMN repairsys.service_benefit.sla_met_pct IS 'Percent of resolved tickets resolved by resolve_by';
COMMENT ON COLUMN repairsys.service_benefit.mean_resolution_hours IS 'Mean wall-clock hours from opening to resolution';
COMMENT ON COLUMN repairsys.service_benefit.direct_cost IS 'labor_cost + parts_cost + travel_cost';
COMMENT ON COLUMN repairsys.service_benefit.indirect_cost IS 'Overheads allocated to the tickets (overhead_allocation)';
COMMENT ON COLUMN repairsys.service_benefit.full_cost IS 'direct_cost + indirect_cost';
COMMENT ON COLUMN repairsys.service_benefit.full_margin IS 'revenue - full_cost';
COMMENT ON COLUMN repairsys.service_benefit.full_roi IS '(revenue - full_cost) / full_cost: the ROI on the full cost (NULL when it is 0)';

ALTER VIEW repairsys.ticket_cost SET (security_invoker = true);
ALTER VIEW repairsys.service_benefit SET (security_invoker = true);

-- (src/sql/73_cost_reports.sql)
-- Cost management reports (DESIGN.md section 18, docs/reports.md): budgets
-- against actual cost, the reputation of each center per month, product
-- recalls, and the manager's one-page report.  They read the views of
-- 72_cost.sql; the tables are in 26_tables_cost.sql.
--
-- Costs belong to the month the ticket was opened in, in its center's time
-- zone (as in service_benefit); reputation counts a rating in the month the
-- rated ticket was closed.

------------------------------------------------------------------------------
-- Budgets against actual cost
------------------------------------------------------------------------------
-- One row per budget.  Direct classes (labor, parts, travel): the actual cost
-- is the sum of service_benefit's column for the center and month, and the
-- month's projection scales it by the share of the month that has passed
-- (month_elapsed, in the center's time zone; a past month is projected at
-- its actual cost).  Indirect classes: the actual cost is the overhead of the
-- center, month and class, booked for the whole month, so it is its own
-- projection.
CREATE VIEW repairsys.budget_status AS
SELECT x.service_center_id, x.month, x.cost_class, x.budget, x.actual, x.projected,
       x.actual - x.budget AS variance,
       CASE WHEN x.actual > x.budget THEN 'over_budget'
            WHEN x.projected > x.budget THEN 'projected_over'
            ELSE 'ok' END AS alert
  FROM (
	SELECT b.service_center_id, b.month, b.cost_class, b.amount AS budget, a.actual,
	       CASE WHEN b.cost_class NOT IN ('labor', 'parts', 'travel') OR e.share <= 0 OR e.share >= 1 THEN a.actual
	            ELSE round(a.actual / e.share, 2) END AS projected
	  FROM repairsys.budget b
	  JOIN repairsys.service_center sc ON sc.id = b.service_center_id
	 CROSS JOIN LATERAL (SELECT repairsys.month_elapsed(b.month, sc.time_zone, pg_catalog.now()) AS share) e
	 CROSS JOIN LATERAL (
		SELECT CASE b.cost_class
		         WHEN 'labor' THEN (SELECT coalesce(sum(s.labor_cost), 0.00) FROM repairsys.service_benefit s
		                             WHERE s.service_center_id = b.service_center_id AND s.month = b.month)
		         WHEN 'parts' THEN (SELECT coalesce(sum(s.parts_cost), 0.00) FROM repairsys.service_benefit s
		                             WHERE s.service_center_id = b.service_center_id AND s.month = b.month)
		         WHEN 'travel' THEN (SELECT coalesce(sum(s.travel_cost), 0.00) FROM repairsys.service_benefit s
		                              WHERE s.service_center_id = b.service_center_id AND s.month = b.month)
		         ELSE (SELECT coalesce(sum(o.amount), 0.00) FROM repairsys.overhead o
		                WHERE o.service_center_id = b.service_center_id AND o.month = b.month AND o.cost_class = b.cost_class)
		       END AS actual
	 ) a
  ) x;
COMMENT ON VIEW repairsys.budget_status IS 'Budgets (预算控制) against the actual and projected cost of each center, month and cost class, with an alert';
COMMENT ON COLUMN repairsys.budget_status.service_center_id IS 'Service center';
COMMENT ON COLUMN repairsys.budget_status.month IS 'First day of the month';
COMMENT ON COLUMN repairsys.budget_status.cost_class IS 'labor, parts, travel (direct) or an indirect class of overhead';
COMMENT ON COLUMN repairsys.budget_status.budget IS 'Budgeted amount';
COMMENT ON COLUMN repairsys.budget_status.actual IS 'Cost so far: the class''s column of service_benefit for the center and month (direct), or the overhead of the class (indirect)';
COMMENT ON COLUMN repairsys.budget_status.projected IS 'Projected cost at the month''s end: actual / share of the month passed in the center''s time zone for a direct class of the current month, else actual';
COMMENT ON COLUMN repairsys.budget_status.variance IS 'actual - budget (positive: over budget so far)';
COMMENT ON COLUMN repairsys.budget_status.alert IS 'over_budget (actual > budget), projected_over (projected > budget) or ok';

------------------------------------------------------------------------------
-- Reputation (品牌形象和声誉)
------------------------------------------------------------------------------
-- Per center and month of closing (in the center's time zone), over the
-- tickets closed then (in a closed-role state now): their ratings, the share
-- of ratings of 4 or 5 (CSAT) and of 1 or 2 (detractors), complaints per 100
-- closed tickets, and the share of closed tickets that were repeat repairs
-- (rework_of(): an earlier closed ticket of the same asset and service type
-- within the rework window, as the bill counts it); then each figure's change
-- against the previous calendar month of the same center (NULL when that
-- month closed no ticket).
CREATE VIEW repairsys.reputation AS
WITH m AS (
	SELECT date_trunc('month', t.closed_at AT TIME ZONE sc.time_zone)::date AS month,
	       t.service_center_id,
	       count(*) AS closed_tickets,
	       count(fb.rating) AS ratings,
	       round(100.0 * count(*) FILTER (WHERE fb.rating >= 4) / nullif(count(fb.rating), 0), 1) AS csat_pct,
	       round(100.0 * count(*) FILTER (WHERE fb.rating <= 2) / nullif(count(fb.rating), 0), 1) AS detractor_pct,
	       round(100.0 * count(*) FILTER (WHERE fb.complaint) / count(*), 2) AS complaint_rate,
	       round(100.0 * count(*) FILTER (WHERE repairsys.rework_of(t) IS NOT NULL) / count(*), 1) AS repeat_rate
	  FROM repairsys.ticket t
	  JOIN repairsys.service_center sc ON sc.id = t.service_center_id
	  LEFT JOIN repairsys.feedback fb ON fb.ticket_id = t.id
	 WHERE t.status_role = 'closed' AND t.closed_at IS NOT NULL
	 GROUP BY 1, 2
)
SELECT m.month, m.service_center_id, m.closed_tickets, m.ratings, m.csat_pct, m.detractor_pct, m.complaint_rate, m.repeat_rate,
       m.ratings - p.ratings AS ratings_change,
       m.csat_pct - p.csat_pct AS csat_change,
       m.detractor_pct - p.detractor_pct AS detractor_change,
       m.complaint_rate - p.complaint_rate AS complaint_change,
       m.repeat_rate - p.repeat_rate AS repeat_change
  FROM m
  LEFT JOIN m p ON p.service_center_id = m.service_center_id AND p.month = (m.month - interval '1 month')::date;
COMMENT ON VIEW repairsys.reputation IS 'Reputation (品牌形象和声誉) of each service center per month of closing: ratings, CSAT, detractors, complaints and repeat repairs, with the change against the previous month';
COMMENT ON COLUMN repairsys.reputation.month IS 'First day of the month the tickets were closed (in the center''s time zone)';
COMMENT ON COLUMN repairsys.reputation.service_center_id IS 'Service center';
COMMENT ON COLUMN repairsys.reputation.closed_tickets IS 'Tickets closed in the month (in a closed-role state)';
COMMENT ON COLUMN repairsys.reputation.ratings IS 'Of these, tickets rated';
COMMENT ON COLUMN repairsys.reputation.csat_pct IS 'Percent of the ratings that are 4 or 5 (CSAT; NULL: no rating)';
COMMENT ON COLUMN repairsys.reputation.detractor_pct IS 'Percent of the ratings that are 1 or 2 (NULL: no rating)';
COMMENT ON COLUMN repairsys.reputation.complaint_rate IS 'Complaints per 100 closed tickets';
COMMENT ON COLUMN repairsys.reputation.repeat_rate IS 'Percent of the closed tickets that were repeat repairs (rework of an earlier closed ticket within the rework window)';
COMMENT ON COLUMN repairsys.reputation.ratings_change IS 'ratings minus the previous month''s (NULL: no ticket closed then)';
COMMENT ON COLUMN repairsys.reputation.csat_change IS 'csat_pct minus the previous month''s, in percentage points';
COMMENT ON COLUMN repairsys.reputation.detractor_change IS 'detractor_pct minus the previous month''s, in percentage points';
COMMENT ON COLUMN repairsys.reputation.complaint_change IS 'complaint_rate minus the previous month''s';
COMMENT ON COLUMN repairsys.reputation.repeat_change IS 'repeat_rate minus the previous month''s, in percentage points';

------------------------------------------------------------------------------
-- Recalls (产品召回)
------------------------------------------------------------------------------
-- Opens one ticket per asset of the model whose serial number lies in the
-- range (inclusive, byte order: COLLATE "C"), for the asset's customer, and
-- records it in recall_ticket.  Idempotent: the recall is keyed by (model,
-- serial_from, serial_to, service_type), and an asset that has its ticket of
-- the recall gets none again, so a second run opens nothing new (only the
-- tickets of assets registered in the range since).  Concurrent runs of the
-- same recall queue on its row (the unique key, then FOR UPDATE) and the
-- later one, reading what the first committed, opens nothing it opened.
CREATE FUNCTION repairsys.open_recall(model text, serial_from text, serial_to text, service_type text, reason text,
                                      OUT recall_id bigint, OUT tickets_opened integer)
RETURNS record
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
DECLARE
	r   repairsys.recall;
	a   record;
	tid bigint;
BEGIN
	IF open_recall.model IS NULL OR open_recall.model = '' OR open_recall.serial_from IS NULL OR open_recall.serial_from = ''
	   OR open_recall.serial_to IS NULL OR open_recall.serial_to = '' OR open_recall.reason IS NULL OR open_recall.reason = '' THEN
		RAISE EXCEPTION 'a recall needs a model, a serial number range and a reason'
			USING ERRCODE = '22023', DETAIL = 'None of model, serial_from, serial_to and reason may be NULL or empty.';
	END IF;
	IF open_recall.serial_from COLLATE "C" > open_recall.serial_to COLLATE "C" THEN
		RAISE EXCEPTION 'invalid serial number range "%" to "%"', open_recall.serial_from, open_recall.serial_to
			USING ERRCODE = '22023', DETAIL = 'serial_from must not come after serial_to (byte order).';
	END IF;
	IF NOT EXISTS (SELECT 1 FROM repairsys.service_type s WHERE s.code = open_recall.service_type) THEN
		RAISE EXCEPTION 'service type "%" does not exist', open_recall.service_type USING ERRCODE = '23503';
	END IF;
	INSERT INTO repairsys.recall (model, serial_from, serial_to, service_type, reason)
	VALUES (open_recall.model, open_recall.serial_from, open_recall.serial_to, open_recall.service_type, open_recall.reason)
	ON CONFLICT ON CONSTRAINT recall_key DO NOTHING;
	SELECT * INTO r FROM repairsys.recall x
	 WHERE x.model = open_recall.model AND x.serial_from = open_recall.serial_from
	   AND x.serial_to = open_recall.serial_to AND x.service_type = open_recall.service_type
	   FOR UPDATE;
	IF r.reason IS DISTINCT FROM open_recall.reason THEN
		RAISE EXCEPTION 'recall % of model "%" was opened with another reason', r.id, r.model
			USING ERRCODE = '23514',
			      DETAIL = pg_catalog.format('Its reason is "%s".', r.reason),
			      HINT = 'Run it again with the same reason (it opens only what is missing), or use another service type.';
	END IF;
	recall_id := r.id;
	tickets_opened := 0;
	FOR a IN
		SELECT x.id, x.customer_id
		  FROM repairsys.asset x
		 WHERE x.model = r.model
		   AND x.serial_no COLLATE "C" >= r.serial_from COLLATE "C" AND x.serial_no COLLATE "C" <= r.serial_to COLLATE "C"
		   AND NOT EXISTS (SELECT 1 FROM repairsys.recall_ticket rt WHERE rt.recall_id = r.id AND rt.asset_id = x.id)
		 ORDER BY x.id
	LOOP
		INSERT INTO repairsys.ticket (customer_id, asset_id, service_type, description, channel)
		VALUES (a.customer_id, a.id, r.service_type, 'Recall ' || r.id || ': ' || r.reason, 'phone')
		RETURNING id INTO tid;
		INSERT INTO repairsys.recall_ticket (recall_id, asset_id, ticket_id) VALUES (r.id, a.id, tid);
		tickets_opened := tickets_opened + 1;
	END LOOP;
END
$$;
COMMENT ON FUNCTION repairsys.open_recall(text, text, text, text, text) IS 'Opens a product recall (产品召回): one ticket of the service type per asset of the model with a serial number in the range (inclusive, byte order); idempotent (a second run opens only the tickets still missing); returns the recall id and the number of tickets opened';

CREATE VIEW repairsys.recall_progress AS
SELECT r.id AS recall_id, r.model, r.serial_from, r.serial_to, r.service_type, r.reason, r.opened_at,
       coalesce(k.tickets, 0) AS tickets,
       coalesce(k.open_tickets, 0) AS open_tickets,
       coalesce(k.done_tickets, 0) AS done_tickets,
       coalesce(k.cancelled_tickets, 0) AS cancelled_tickets,
       round(100.0 * k.done_tickets / nullif(k.tickets - k.cancelled_tickets, 0), 1) AS done_pct,
       (SELECT count(*) FROM repairsys.asset a
         WHERE a.model = r.model
           AND a.serial_no COLLATE "C" >= r.serial_from COLLATE "C" AND a.serial_no COLLATE "C" <= r.serial_to COLLATE "C"
           AND NOT EXISTS (SELECT 1 FROM repairsys.recall_ticket rt WHERE rt.recall_id = r.id AND rt.asset_id = a.id)) AS assets_without_ticket
  FROM repairsys.recall r
  LEFT JOIN (
	SELECT rt.recall_id, count(*) AS tickets,
	       count(*) FILTER (WHERE t.status_role NOT IN ('resolved', 'closed', 'cancelled')) AS open_tickets,
	       count(*) FILTER (WHERE t.status_role IN ('resolved', 'closed')) AS done_tickets,
	       count(*) FILTER (WHERE t.status_role = 'cancelled') AS cancelled_tickets
	  FROM repairsys.recall_ticket rt JOIN repairsys.ticket t ON t.id = rt.ticket_id
	 GROUP BY rt.recall_id
  ) k ON k.recall_id = r.id;
COMMENT ON VIEW repairsys.recall_progress IS 'Progress of each product recall: its tickets by state, the share done, and units in the range still without a ticket';
COMMENT ON COLUMN repairsys.recall_progress.recall_id IS 'Recall';
COMMENT ON COLUMN repairsys.recall_progress.model IS 'Model recalled';
COMMENT ON COLUMN repairsys.recall_progress.serial_from IS 'First serial number of the range';
COMMENT ON COLUMN repairsys.recall_progress.serial_to IS 'Last serial number of the range';
COMMENT ON COLUMN repairsys.recall_progress.service_type IS 'Service type of the recall tickets';
COMMENT ON COLUMN repairsys.recall_progress.reason IS 'Why the units are recalled';
COMMENT ON COLUMN repairsys.recall_progress.opened_at IS 'When the recall was opened';
COMMENT ON COLUMN repairsys.recall_progress.tickets IS 'Tickets opened by the recall (one per affected asset)';
COMMENT ON COLUMN repairsys.recall_progress.open_tickets IS 'Of these, tickets not yet resolved (nor cancelled)';
COMMENT ON COLUMN repairsys.recall_progress.done_tickets IS 'Of these, tickets in a resolved- or closed-role state';
COMMENT ON COLUMN repairsys.recall_progress.cancelled_tickets IS 'Of these, tickets cancelled';
COMMENT ON COLUMN repairsys.recall_progress.done_pct IS '100 x done_tickets / (tickets - cancelled_tickets), 1 decimal (NULL: none to do)';
COMMENT ON COLUMN repairsys.recall_progress.assets_without_ticket IS 'Assets in the range without a ticket of the recall (registered since the last open_recall run)';

------------------------------------------------------------------------------
-- The manager's page
------------------------------------------------------------------------------
-- A horizontal bar chart as inline SVG: one group per label, one bar per
-- series (a second series is optional), bars scaled to the largest value,
-- each bar with its value written beside it.  Negative values are drawn as
-- empty bars (the figure is still written).
CREATE FUNCTION repairsys.svg_bar_chart(labels text[], values1 numeric[], values2 numeric[] DEFAULT NULL,
                                        name1 text DEFAULT NULL, name2 text DEFAULT NULL)
RETURNS text
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
DECLARE
	n      integer := coalesce(pg_catalog.array_length(labels, 1), 0);
	series integer := CASE WHEN values2 IS NULL THEN 1 ELSE 2 END;
	top    numeric := 0;
	bar_h  constant integer := 16;
	group_h integer;
	y      integer;
	w      numeric;
	v      numeric;
	body   text := '';
	legend text := '';
BEGIN
	IF n = 0 THEN
		RETURN '';
	END IF;
	FOR i IN 1..n LOOP
		top := greatest(top, coalesce(values1[i], 0), coalesce(values2[i], 0));
	END LOOP;
	group_h := series * bar_h + 10;
	FOR i IN 1..n LOOP
		y := 24 + (i - 1) * group_h;
		body := body || pg_catalog.format('<text x="0" y="%s" font-size="12">%s</text>', y + bar_h - 3, repairsys.html_escape(labels[i]));
		FOR s IN 1..series LOOP
			v := CASE s WHEN 1 THEN values1[i] ELSE values2[i] END;
			w := CASE WHEN top > 0 AND coalesce(v, 0) > 0 THEN round(360 * v / top, 1) ELSE 0 END;
			body := body || pg_catalog.format('<rect x="160" y="%s" width="%s" height="%s" fill="%s"/><text x="%s" y="%s" font-size="11">%s</text>',
				y + (s - 1) * bar_h, w, bar_h - 2, CASE s WHEN 1 THEN '#1565c0' ELSE '#ef6c00' END,
				164 + w, y + (s - 1) * bar_h + bar_h - 4, coalesce(v::text, '-'));
		END LOOP;
	END LOOP;
	IF name1 IS NOT NULL THEN
		legend := pg_catalog.format('<rect x="160" y="2" width="12" height="12" fill="#1565c0"/><text x="176" y="12" font-size="12">%s</text>', repairsys.html_escape(name1));
		IF series = 2 THEN
			legend := legend || pg_catalog.format('<rect x="330" y="2" width="12" height="12" fill="#ef6c00"/><text x="346" y="12" font-size="12">%s</text>', repairsys.html_escape(name2));
		END IF;
	END IF;
	RETURN pg_catalog.format('<svg xmlns="http://www.w3.org/2000/svg" width="640" height="%s" role="img">%s%s</svg>',
		30 + n * group_h, legend, body);
END
$$;
COMMENT ON FUNCTION repairsys.svg_bar_chart(text[], numeric[], numeric[], text, text) IS 'A horizontal bar chart (one or two series) as inline SVG text, for report_html';

-- The texts of report_html in its two languages.
CREATE FUNCTION repairsys.report_label(language text, key text)
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = repairsys, pg_catalog, pg_temp
BEGIN ATOMIC
	SELECT CASE WHEN language = 'zh-CN' THEN v.zh ELSE v.en END
	  FROM (VALUES
		('title', 'Monthly report', '月度经营报告'),
		('month', 'Month', '月份'),
		('tickets', 'Tickets opened', '工单数'),
		('revenue', 'Revenue (before tax)', '收入（税前）'),
		('direct_cost', 'Direct cost', '直接成本'),
		('indirect_cost', 'Indirect cost (overheads)', '间接成本（分摊）'),
		('full_cost', 'Full cost', '总成本'),
		('full_margin', 'Margin on full cost', '毛利（总成本）'),
		('full_roi', 'ROI on full cost', '投资回报率（总成本）'),
		('sla_met', 'SLA met', 'SLA 达成率'),
		('rev_cost', 'Revenue against full cost', '收入与总成本'),
		('budget', 'Budget against actual', '预算与实际'),
		('class', 'Cost class', '成本类别'),
		('budgeted', 'Budget', '预算'),
		('actual', 'Actual', '实际'),
		('projected', 'Projected', '预计'),
		('alert', 'Alert', '预警'),
		('ratings', 'Ratings', '客户评分'),
		('csat', 'CSAT', '满意度'),
		('detractors', 'Detractors', '差评率'),
		('stars', 'stars', '星'),
		('frequent', 'Most frequent service types', '最常见的服务类型'),
		('faults', 'Most frequent faults', '最常见的故障'),
		('fault_code', 'Fault code', '故障代码'),
		('fault', 'Fault', '故障'),
		('count', 'Tickets', '工单数'),
		('parts', 'Most used parts', '最常用的配件'),
		('stock', 'Stock alerts (now)', '库存预警（当前）'),
		('available', 'Available', '可用'),
		('minimum', 'Minimum', '最低库存'),
		('none', 'None.', '无。'),
		('nodata', 'No data for this month.', '本月无数据。'),
		('over_budget', 'over budget', '超预算'),
		('projected_over', 'projected over', '预计超支'),
		('ok', 'ok', '正常')
	  ) AS v(k, en, zh)
	 WHERE v.k = key;
END;
COMMENT ON FUNCTION repairsys.report_label(text, text) IS 'A text of report_html in the language (en, zh-CN)';

CREATE FUNCTION repairsys.report_html(service_center_id bigint, month date)
RETURNS text
LANGUAGE plpgsql STABLE
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
DECLARE
	sc      repairsys.service_center;
	m       date;
	lang    text;
	cur     text := repairsys.setting_value('currency');
	k       record;
	sla     numeric;
	rep     repairsys.reputation;
	chart1  text;
	chart2  text;
	chart3  text;
	budgets text;
	freq    text;
	faults  text;
	parts   text;
	stock   text;
	stars   text;
BEGIN
	IF report_html.service_center_id IS NULL OR report_html.month IS NULL OR NOT pg_catalog.isfinite(report_html.month) THEN
		RAISE EXCEPTION 'a report needs a service center and a month'
			USING ERRCODE = '22023', DETAIL = 'Neither may be NULL, and the month must be a finite date.';
	END IF;
	SELECT * INTO sc FROM repairsys.service_center x WHERE x.id = report_html.service_center_id;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'service center % does not exist', report_html.service_center_id USING ERRCODE = '22023';
	END IF;
	m := date_trunc('month', report_html.month::timestamp without time zone)::date;
	lang := coalesce(sc.language,
	                 (SELECT s.value FROM repairsys.setting s WHERE s.name = 'language' AND s.value IN ('en', 'zh-CN')), 'en');

	-- the month's figures: sums of service_benefit
	SELECT coalesce(sum(b.tickets), 0) AS tickets, coalesce(sum(b.revenue), 0.00) AS revenue,
	       coalesce(sum(b.direct_cost), 0.00) AS direct_cost, coalesce(sum(b.indirect_cost), 0.00) AS indirect_cost,
	       coalesce(sum(b.full_cost), 0.00) AS full_cost, coalesce(sum(b.full_margin), 0.00) AS full_margin,
	       CASE WHEN sum(b.full_cost) > 0 THEN round(sum(b.full_margin) / sum(b.full_cost), 4) END AS full_roi
	  INTO k
	  FROM repairsys.service_benefit b WHERE b.service_center_id = sc.id AND b.month = m;
	-- SLA met: the formula of service_benefit over all the center's tickets of the month
	SELECT round(100.0 * count(*) FILTER (WHERE t.resolved_at <= t.resolve_by)
	             / nullif(count(*) FILTER (WHERE t.resolved_at IS NOT NULL AND t.resolve_by IS NOT NULL), 0), 1)
	  INTO sla
	  FROM repairsys.ticket t
	 WHERE t.service_center_id = sc.id AND t.status_role <> 'cancelled'
	   AND t.opened_at >= repairsys.month_start(m, sc.time_zone)
	   AND t.opened_at < repairsys.month_start((m + interval '1 month')::date, sc.time_zone);
	SELECT * INTO rep FROM repairsys.reputation r WHERE r.service_center_id = sc.id AND r.month = m;

	SELECT repairsys.svg_bar_chart(array_agg(b.service_type ORDER BY b.service_type), array_agg(b.revenue ORDER BY b.service_type),
	                               array_agg(b.full_cost ORDER BY b.service_type),
	                               repairsys.report_label(lang, 'revenue'), repairsys.report_label(lang, 'full_cost'))
	  INTO chart1
	  FROM repairsys.service_benefit b WHERE b.service_center_id = sc.id AND b.month = m;

	SELECT repairsys.svg_bar_chart(array_agg(s.cost_class ORDER BY s.cost_class), array_agg(s.budget ORDER BY s.cost_class),
	                               array_agg(s.actual ORDER BY s.cost_class),
	                               repairsys.report_label(lang, 'budgeted'), repairsys.report_label(lang, 'actual')),
	       string_agg(pg_catalog.format('<tr class="%s"><td>%s</td><td class="n" id="budget-%s">%s</td><td class="n" id="actual-%s">%s</td><td class="n">%s</td><td>%s</td></tr>',
	                                    s.alert, html_escape(s.cost_class), html_escape(s.cost_class), s.budget, html_escape(s.cost_class), s.actual,
	                                    s.projected, repairsys.report_label(lang, s.alert)), E'\n' ORDER BY s.cost_class)
	  INTO chart2, budgets
	  FROM repairsys.budget_status s WHERE s.service_center_id = sc.id AND s.month = m;

	-- ratings of the tickets closed in the month (those reputation counts)
	SELECT repairsys.svg_bar_chart(array_agg(g.r || ' ' || repairsys.report_label(lang, 'stars') ORDER BY g.r DESC),
	                               array_agg(coalesce(c.n, 0)::numeric ORDER BY g.r DESC)),
	       string_agg(pg_catalog.format('%s %s: <b id="stars-%s">%s</b>', g.r, repairsys.report_label(lang, 'stars'), g.r, coalesce(c.n, 0)), ', ' ORDER BY g.r DESC)
	  INTO chart3, stars
	  FROM pg_catalog.generate_series(1, 5) AS g(r)
	  LEFT JOIN (SELECT fb.rating, count(*) AS n
	               FROM repairsys.ticket t JOIN repairsys.feedback fb ON fb.ticket_id = t.id
	              WHERE t.service_center_id = sc.id AND t.status_role = 'closed'
	                AND date_trunc('month', t.closed_at AT TIME ZONE sc.time_zone)::date = m
	              GROUP BY fb.rating) c ON c.rating = g.r;

	SELECT string_agg(pg_catalog.format('<li>%s: <b>%s</b></li>', html_escape(coalesce(st.name, f.service_type)), f.tickets), E'\n' ORDER BY f.tickets DESC, f.service_type)
	  INTO freq
	  FROM (SELECT b.service_type, b.tickets FROM repairsys.service_benefit b
	         WHERE b.service_center_id = sc.id AND b.month = m ORDER BY b.tickets DESC, b.service_type LIMIT 5) f
	  LEFT JOIN repairsys.service_type st ON st.code = f.service_type;
	-- the faults the technicians found (ticket.fault_code) on the center's
	-- tickets of the month, as parts and SLA count them
	SELECT string_agg(pg_catalog.format('<tr><td>%s</td><td>%s</td><td class="n" id="fault-%s">%s</td></tr>',
	                                    html_escape(f.fault_code), html_escape(fc.name), html_escape(f.fault_code), f.tickets),
	                  E'\n' ORDER BY f.tickets DESC, f.fault_code)
	  INTO faults
	  FROM (SELECT t.fault_code, count(*) AS tickets
	          FROM repairsys.ticket t
	         WHERE t.service_center_id = sc.id AND t.fault_code IS NOT NULL AND t.status_role <> 'cancelled'
	           AND t.opened_at >= repairsys.month_start(m, sc.time_zone)
	           AND t.opened_at < repairsys.month_start((m + interval '1 month')::date, sc.time_zone)
	         GROUP BY t.fault_code ORDER BY count(*) DESC, t.fault_code LIMIT 5) f
	  JOIN repairsys.fault_code fc ON fc.code = f.fault_code;
	SELECT string_agg(pg_catalog.format('<li>%s (%s): <b>%s</b></li>', html_escape(p.name), html_escape(u.sku), u.qty), E'\n' ORDER BY u.qty DESC, u.sku)
	  INTO parts
	  FROM (SELECT tp.sku, sum(tp.qty) AS qty
	          FROM repairsys.ticket_part tp JOIN repairsys.ticket t ON t.id = tp.ticket_id
	         WHERE t.service_center_id = sc.id AND tp.state = 'used' AND t.status_role <> 'cancelled'
	           AND t.opened_at >= repairsys.month_start(m, sc.time_zone)
	           AND t.opened_at < repairsys.month_start((m + interval '1 month')::date, sc.time_zone)
	         GROUP BY tp.sku ORDER BY sum(tp.qty) DESC, tp.sku LIMIT 5) u
	  JOIN repairsys.part p ON p.sku = u.sku;
	SELECT string_agg(pg_catalog.format('<tr><td>%s (%s)</td><td class="n">%s</td><td class="n">%s</td></tr>',
	                                    html_escape(l.name), html_escape(l.sku), l.available, l.min_stock), E'\n' ORDER BY l.missing DESC, l.sku)
	  INTO stock
	  FROM repairsys.low_stock l WHERE l.service_center_id = sc.id;

	RETURN pg_catalog.format($html$<!DOCTYPE html>
<html lang="%s"><head><meta charset="utf-8"><title>%s: %s %s</title>
<style>
body { font-family: sans-serif; margin: 2em; color: #222; background: #fff; max-width: 60em; }
h1 { font-size: 1.5em; border-bottom: 3px solid #1565c0; padding-bottom: .3em; }
h2 { font-size: 1.15em; margin-top: 1.5em; }
table { border-collapse: collapse; margin: .5em 0; }
th, td { border: 1px solid #bbb; padding: .3em .6em; text-align: left; }
th { background: #e3f2fd; }
td.n { text-align: right; white-space: nowrap; }
tr.over_budget td { color: #b71c1c; font-weight: bold; }
tr.projected_over td { color: #e65100; }
</style></head><body>
<h1>%s: %s</h1>
<p>%s: <b id="month">%s</b></p>
<table>
<tr><td>%s</td><td class="n" id="tickets">%s</td></tr>
<tr><td>%s</td><td class="n" id="revenue">%s %s</td></tr>
<tr><td>%s</td><td class="n" id="direct_cost">%s %s</td></tr>
<tr><td>%s</td><td class="n" id="indirect_cost">%s %s</td></tr>
<tr><td>%s</td><td class="n" id="full_cost">%s %s</td></tr>
<tr><td>%s</td><td class="n" id="full_margin">%s %s</td></tr>
<tr><td>%s</td><td class="n" id="full_roi">%s</td></tr>
<tr><td>%s</td><td class="n" id="sla_met">%s</td></tr>
</table>
<h2>%s</h2>
%s
<h2>%s</h2>
%s
<table><thead><tr><th>%s</th><th>%s</th><th>%s</th><th>%s</th><th>%s</th></tr></thead><tbody>
%s
</tbody></table>
<h2>%s</h2>
<p>%s: <b id="ratings">%s</b>. %s: <b id="csat">%s</b>. %s: <b id="detractors">%s</b>.</p>
<p>%s.</p>
%s
<h2>%s</h2>
<table><thead><tr><th>%s</th><th>%s</th><th>%s</th></tr></thead><tbody>
%s
</tbody></table>
<h2>%s</h2>
<ul>
%s
</ul>
<h2>%s</h2>
<ul>
%s
</ul>
<h2>%s</h2>
<table><thead><tr><th></th><th>%s</th><th>%s</th></tr></thead><tbody>
%s
</tbody></table>
</body></html>
$html$,
		lang, repairsys.report_label(lang, 'title'), html_escape(sc.name), to_char(m, 'YYYY-MM'),
		repairsys.report_label(lang, 'title'), html_escape(sc.name),
		repairsys.report_label(lang, 'month'), to_char(m, 'YYYY-MM'),
		repairsys.report_label(lang, 'tickets'), k.tickets,
		repairsys.report_label(lang, 'revenue'), k.revenue, html_escape(cur),
		repairsys.report_label(lang, 'direct_cost'), k.direct_cost, html_escape(cur),
		repairsys.report_label(lang, 'indirect_cost'), k.indirect_cost, html_escape(cur),
		repairsys.report_label(lang, 'full_cost'), k.full_cost, html_escape(cur),
		repairsys.report_label(lang, 'full_margin'), k.full_margin, html_escape(cur),
		repairsys.report_label(lang, 'full_roi'), coalesce(k.full_roi::text, '-'),
		repairsys.report_label(lang, 'sla_met'), coalesce(sla || ' %', '-'),
		repairsys.report_label(lang, 'rev_cost'), coalesce(nullif(chart1, ''), '<p>' || repairsys.report_label(lang, 'nodata') || '</p>'),
		repairsys.report_label(lang, 'budget'), coalesce(chart2, ''),
		repairsys.report_label(lang, 'class'), repairsys.report_label(lang, 'budgeted'), repairsys.report_label(lang, 'actual'),
		repairsys.report_label(lang, 'projected'), repairsys.report_label(lang, 'alert'),
		coalesce(budgets, '<tr><td colspan="5">' || repairsys.report_label(lang, 'none') || '</td></tr>'),
		repairsys.report_label(lang, 'ratings'),
		repairsys.report_label(lang, 'ratings'), coalesce(rep.ratings, 0),
		repairsys.report_label(lang, 'csat'), coalesce(rep.csat_pct || ' %', '-'),
		repairsys.report_label(lang, 'detractors'), coalesce(rep.detractor_pct || ' %', '-'),
		stars, chart3,
		repairsys.report_label(lang, 'faults'), repairsys.report_label(lang, 'fault_code'), repairsys.report_label(lang, 'fault'),
		repairsys.report_label(lang, 'count'),
		coalesce(faults, '<tr><td colspan="3">' || repairsys.report_label(lang, 'none') || '</td></tr>'),
		repairsys.report_label(lang, 'frequent'), coalesce(freq, '<li>' || repairsys.report_label(lang, 'none') || '</li>'),
		repairsys.report_label(lang, 'parts'), coalesce(parts, '<li>' || repairsys.report_label(lang, 'none') || '</li>'),
		repairsys.report_label(lang, 'stock'), repairsys.report_label(lang, 'available'), repairsys.report_label(lang, 'minimum'),
		coalesce(stock, '<tr><td colspan="3">' || repairsys.report_label(lang, 'none') || '</td></tr>'));
END
$$;
COMMENT ON FUNCTION repairsys.report_html(bigint, date) IS 'The manager''s one-page report of a service center and month (any day of it) as a self-contained HTML page in the center''s language (en, zh-CN): revenue against full cost, budget against actual, SLA met, ratings, most frequent faults (ticket.fault_code), service types and parts, stock alerts; its figures are those of service_benefit, budget_status, reputation, low_stock and the tickets'' fault codes';

------------------------------------------------------------------------------
-- 3c. Shifts, absences, visits and day plans (issue 18, issue 19 item 3)
------------------------------------------------------------------------------
-- ticket.arrived_at, sla_windows(), the settings, candidates() becomes candidates_base()
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

-- (src/sql/23_tables_dispatch.sql)
------------------------------------------------------------------------------
-- Time-aware dispatch: rosters, absences, appointments (DESIGN.md section 14,
-- docs/dispatch.md).  The rules every row must keep, whoever writes it, are
-- the triggers of 52_dispatch.sql.
------------------------------------------------------------------------------

-- A technician's regular working hours: a calendar in the syntax of
-- sla_interval (what follows "in": "mon-fri 09:00-18:00 Asia/Shanghai"),
-- valid over local dates [valid_from, valid_to] of his center.  Without a zone
-- of its own the calendar is read in the center's time zone; the center's
-- holidays and make-up working days apply.  Several rows may overlap: the
-- shifts are their union.
CREATE TABLE repairsys.technician_roster (
	id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	technician_id bigint NOT NULL REFERENCES repairsys.technician ON DELETE CASCADE,
	calendar      text NOT NULL
	              -- (the cast fails with 22P02 / 22023 on a calendar sla_interval refuses)
	              CONSTRAINT technician_roster_calendar_check
	              CHECK (repairsys.sla_calendar(('1min in ' || calendar)::repairsys.sla_interval) IS NOT NULL),
	valid_from    date NOT NULL,
	valid_to      date,
	CONSTRAINT technician_roster_valid_check CHECK (valid_to IS NULL OR valid_to >= valid_from)
);
COMMENT ON TABLE repairsys.technician_roster IS 'Regular working hours of technicians (排班) in the calendar syntax of sla_interval; the concrete shifts are repairsys.technician_shifts()';
COMMENT ON COLUMN repairsys.technician_roster.id IS 'Roster id';
COMMENT ON COLUMN repairsys.technician_roster.technician_id IS 'Technician';
COMMENT ON COLUMN repairsys.technician_roster.calendar IS 'Weekly windows as after "in" of an sla_interval, e.g. mon-fri 09:00-18:00 Asia/Shanghai (no zone: the center''s); the center''s holidays close and its make-up days open them';
COMMENT ON COLUMN repairsys.technician_roster.valid_from IS 'First local date the roster applies';
COMMENT ON COLUMN repairsys.technician_roster.valid_to IS 'Last local date the roster applies (NULL: open-ended)';
CREATE INDEX technician_roster_technician_idx ON repairsys.technician_roster (technician_id, valid_from);
SELECT pg_catalog.pg_extension_config_dump('repairsys.technician_roster', '');

-- Leave, training, sickness: a technician asks (requested), a dispatcher
-- decides (approved, rejected).  Only approved absences block work.
CREATE TABLE repairsys.technician_absence (
	id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	technician_id bigint NOT NULL REFERENCES repairsys.technician ON DELETE CASCADE,
	during        tstzrange NOT NULL
	              CONSTRAINT technician_absence_during_check
	              CHECK (coalesce(pg_catalog.isfinite(pg_catalog.lower(during)) AND pg_catalog.isfinite(pg_catalog.upper(during)), false)),
	reason        text NOT NULL DEFAULT '',
	status        text NOT NULL DEFAULT 'requested'
	              CONSTRAINT technician_absence_status_check CHECK (status IN ('requested', 'approved', 'rejected')),
	requested_at  timestamptz NOT NULL DEFAULT now(),
	decided_at    timestamptz,
	decided_by    name
);
COMMENT ON TABLE repairsys.technician_absence IS 'Absences of technicians (请假) with their approval state; only approved ones block shifts and bookings';
COMMENT ON COLUMN repairsys.technician_absence.id IS 'Absence id';
COMMENT ON COLUMN repairsys.technician_absence.technician_id IS 'Technician';
COMMENT ON COLUMN repairsys.technician_absence.during IS 'When the technician is away (finite, not empty)';
COMMENT ON COLUMN repairsys.technician_absence.reason IS 'Why (leave, training, ...)';
COMMENT ON COLUMN repairsys.technician_absence.status IS 'requested, approved or rejected; approving one that overlaps a booked visit fails (23514)';
COMMENT ON COLUMN repairsys.technician_absence.requested_at IS 'When it was asked for';
COMMENT ON COLUMN repairsys.technician_absence.decided_at IS 'When it was approved or rejected (set by trigger)';
COMMENT ON COLUMN repairsys.technician_absence.decided_by IS 'Database role that approved or rejected it (set by trigger)';
CREATE INDEX technician_absence_technician_idx ON repairsys.technician_absence (technician_id) WHERE status = 'approved';
SELECT pg_catalog.pg_extension_config_dump('repairsys.technician_absence', '');

-- Booked visits (预约上门).  A reschedule (改约) keeps the old row, state
-- rescheduled, and books a new one that replaces it: the rows of a ticket are
-- the history of every change.
CREATE TABLE repairsys.appointment (
	id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	ticket_id     bigint NOT NULL REFERENCES repairsys.ticket ON DELETE CASCADE,
	technician_id bigint NOT NULL REFERENCES repairsys.technician,
	slot_start    timestamptz NOT NULL,
	slot_end      timestamptz NOT NULL,
	state         text NOT NULL DEFAULT 'booked'
	              CONSTRAINT appointment_state_check CHECK (state IN ('booked', 'rescheduled', 'cancelled', 'done')),
	reason        text,
	-- (no foreign key: a table referring to itself makes pg_dump warn of a
	-- circular reference; appointment_10_check checks the row exists)
	replaces      bigint,
	booked_at     timestamptz NOT NULL DEFAULT now(),
	booked_by     name NOT NULL DEFAULT current_user,
	changed_at    timestamptz,
	CONSTRAINT appointment_slot_check CHECK (slot_end > slot_start AND slot_end <= slot_start + interval '24 hours')
);
COMMENT ON TABLE repairsys.appointment IS 'Visits booked for tickets (预约上门) and their history: a reschedule (改约) keeps the old row as rescheduled and books a new one';
COMMENT ON COLUMN repairsys.appointment.id IS 'Appointment id';
COMMENT ON COLUMN repairsys.appointment.ticket_id IS 'Ticket visited';
COMMENT ON COLUMN repairsys.appointment.technician_id IS 'Technician who comes (chosen by trigger when not given: the best scored free one); the ticket is assigned to him';
COMMENT ON COLUMN repairsys.appointment.slot_start IS 'Start of the visit (the technician is due then)';
COMMENT ON COLUMN repairsys.appointment.slot_end IS 'End of the visit (default: slot_start + setting slot_length)';
COMMENT ON COLUMN repairsys.appointment.state IS 'booked, rescheduled (replaced by a later row), cancelled or done (the technician checked in)';
COMMENT ON COLUMN repairsys.appointment.reason IS 'Why it was rescheduled or cancelled';
COMMENT ON COLUMN repairsys.appointment.replaces IS 'The booking this one moved (改约; NULL: a first booking)';
COMMENT ON COLUMN repairsys.appointment.booked_at IS 'When it was booked';
COMMENT ON COLUMN repairsys.appointment.booked_by IS 'Database role that booked it';
COMMENT ON COLUMN repairsys.appointment.changed_at IS 'When its state last changed (set by trigger)';
CREATE UNIQUE INDEX appointment_one_booked ON repairsys.appointment (ticket_id) WHERE state = 'booked';
CREATE INDEX appointment_ticket_idx ON repairsys.appointment (ticket_id, id);
CREATE INDEX appointment_technician_idx ON repairsys.appointment (technician_id, slot_start) WHERE state IN ('booked', 'done');
CREATE INDEX appointment_replaces_idx ON repairsys.appointment (replaces) WHERE replaces IS NOT NULL;
SELECT pg_catalog.pg_extension_config_dump('repairsys.appointment', '');

-- (src/sql/52_dispatch.sql)
-- Time-aware dispatch (DESIGN.md section 14, docs/dispatch.md): shifts from
-- rosters, absences, bookable visit slots, appointments, arrival.
--
-- Every rule is kept by the triggers of the tables (23_tables_dispatch.sql),
-- so a plain INSERT into repairsys.appointment does what book_visit() does:
-- the functions here are the convenient route, not the only guarded one.
-- Lock order, as in 50_assign.sql: the ticket, then the technician.  Every
-- writer that can put a technician's time in question (a booking, a change of
-- technician, an absence approved, a roster changed) locks the technician's
-- row first, so such writers are serialized per technician and each checks
-- what the one before it committed.

------------------------------------------------------------------------------
-- Shifts
------------------------------------------------------------------------------
-- The instant local date d begins in time zone zone.
CREATE FUNCTION repairsys.local_midnight(d date, zone text)
RETURNS timestamptz
LANGUAGE sql STABLE STRICT PARALLEL SAFE
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
	SELECT d::timestamp AT TIME ZONE zone
$$;
COMMENT ON FUNCTION repairsys.local_midnight(date, text) IS 'The instant a local date begins in a time zone (as timestamp AT TIME ZONE resolves it)';

-- The rostered hours of one technician that meet [from_ts, to_ts): the
-- windows of each roster row over the local dates it is valid (in the
-- center's zone), the center's holidays closed and make-up days open,
-- merged.  Absences are not taken off (technician_shifts() does that).
CREATE FUNCTION repairsys.roster_ranges(technician_id bigint, from_ts timestamptz, to_ts timestamptz)
RETURNS tstzmultirange
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
	SELECT coalesce(pg_catalog.range_agg(pg_catalog.tstzrange(w.starts, w.ends)), '{}'::tstzmultirange)
	  FROM repairsys.technician te
	 CROSS JOIN LATERAL (SELECT repairsys.center_time_zone(te.service_center_id) AS zone,
	                            repairsys.closed_dates(te.service_center_id) AS closed) c
	 CROSS JOIN LATERAL repairsys.open_dates(te.service_center_id) od
	  JOIN repairsys.technician_roster r ON r.technician_id = te.id
	 CROSS JOIN LATERAL repairsys.sla_windows(
	        ('1min in ' || r.calendar)::repairsys.sla_interval,
	        greatest(roster_ranges.from_ts, repairsys.local_midnight(r.valid_from, c.zone)),
	        CASE WHEN r.valid_to IS NULL THEN roster_ranges.to_ts
	             ELSE least(roster_ranges.to_ts, repairsys.local_midnight(r.valid_to + 1, c.zone)) END,
	        c.closed, c.zone, od.days, od.works_as) w
	 WHERE te.id = roster_ranges.technician_id
	   AND r.valid_from <= (roster_ranges.to_ts AT TIME ZONE c.zone)::date
	   AND (r.valid_to IS NULL OR r.valid_to >= (roster_ranges.from_ts AT TIME ZONE c.zone)::date - 1)
$$;
COMMENT ON FUNCTION repairsys.roster_ranges(bigint, timestamptz, timestamptz) IS 'Rostered hours of a technician within [from_ts, to_ts) as one multirange: his rosters'' windows on their valid local dates with his center''s holidays and make-up working days (absences not taken off)';

-- The approved absences of a technician as one multirange.
CREATE FUNCTION repairsys.absence_ranges(technician_id bigint)
RETURNS tstzmultirange
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
	SELECT coalesce(pg_catalog.range_agg(a.during), '{}'::tstzmultirange)
	  FROM repairsys.technician_absence a
	 WHERE a.technician_id = absence_ranges.technician_id AND a.status = 'approved'
$$;
COMMENT ON FUNCTION repairsys.absence_ranges(bigint) IS 'Approved absences of a technician as one multirange';

CREATE FUNCTION repairsys.technician_shifts(from_day date, to_day date)
RETURNS TABLE (technician_id bigint, shift_start timestamptz, shift_end timestamptz)
LANGUAGE plpgsql STABLE
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
BEGIN
	IF from_day IS NULL OR to_day IS NULL THEN
		RAISE EXCEPTION 'from_day and to_day of technician_shifts must not be null' USING ERRCODE = '22023';
	END IF;
	IF NOT pg_catalog.isfinite(from_day) OR NOT pg_catalog.isfinite(to_day) OR to_day < from_day OR to_day - from_day > 366 THEN
		RAISE EXCEPTION 'invalid range of days % to %', from_day, to_day
			USING ERRCODE = '22023',
			      DETAIL = 'The days must be finite, to_day not before from_day and at most 366 days after it.';
	END IF;
	RETURN QUERY
	SELECT te.id, pg_catalog.lower(x.r), pg_catalog.upper(x.r)
	  FROM repairsys.technician te
	 CROSS JOIN LATERAL (SELECT repairsys.center_time_zone(te.service_center_id) AS zone) z
	 CROSS JOIN LATERAL pg_catalog.unnest(
	        repairsys.roster_ranges(te.id, repairsys.local_midnight(from_day, z.zone), repairsys.local_midnight(to_day + 1, z.zone))
	        OPERATOR(pg_catalog.-) repairsys.absence_ranges(te.id)) AS x(r)
	 ORDER BY 1, 2;
END
$$;
COMMENT ON FUNCTION repairsys.technician_shifts(date, date) IS 'Concrete working intervals of every technician the caller may see over the local dates from_day..to_day of his center: rostered hours (holidays and make-up working days applied) less approved absences; bad range: 22023';

------------------------------------------------------------------------------
-- Availability
------------------------------------------------------------------------------
-- Travel time between two points at setting travel_speed_kmh (0 when a point
-- is unknown), at most 12 hours (so that a visit's neighbours are the visits
-- within 12 hours of it, which the index finds).
CREATE FUNCTION repairsys.travel_time(lat1 double precision, lon1 double precision,
                                      lat2 double precision, lon2 double precision)
RETURNS interval
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
	SELECT CASE WHEN lat1 IS NULL OR lon1 IS NULL OR lat2 IS NULL OR lon2 IS NULL THEN interval '0'
	            ELSE pg_catalog.make_interval(secs => least(43200, repairsys.haversine_km(lat1, lon1, lat2, lon2)
	                                                               / repairsys.setting_value('travel_speed_kmh')::double precision * 3600)) END
$$;
COMMENT ON FUNCTION repairsys.travel_time(double precision, double precision, double precision, double precision) IS 'Travel time between two points (great-circle distance at setting travel_speed_kmh, at most 12 hours); 0 when a point is unknown';

-- Why a technician cannot make a visit to a place at [slot_start, slot_end):
-- 'off shift' (not rostered for the whole of it), 'absent' (an approved
-- absence meets it), 'booked' (another booked or done visit of his, with the
-- travel time between the two places on either side, meets it); NULL when
-- free.  except_appointment is left out (the visit being moved).
CREATE FUNCTION repairsys.visit_conflict(technician_id bigint, lat double precision, lon double precision,
                                         slot_start timestamptz, slot_end timestamptz,
                                         except_appointment bigint DEFAULT NULL)
RETURNS text
LANGUAGE sql STABLE
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
	SELECT CASE
		WHEN NOT (repairsys.roster_ranges(visit_conflict.technician_id, visit_conflict.slot_start, visit_conflict.slot_end)
		          @> pg_catalog.tstzrange(visit_conflict.slot_start, visit_conflict.slot_end)) THEN 'off shift'
		WHEN EXISTS (SELECT 1 FROM repairsys.technician_absence a
		              WHERE a.technician_id = visit_conflict.technician_id AND a.status = 'approved'
		                AND a.during && pg_catalog.tstzrange(visit_conflict.slot_start, visit_conflict.slot_end)) THEN 'absent'
		WHEN EXISTS (SELECT 1 FROM repairsys.appointment a
		               JOIN repairsys.ticket t ON t.id = a.ticket_id
		              CROSS JOIN LATERAL (SELECT repairsys.travel_time(t.lat, t.lon, visit_conflict.lat, visit_conflict.lon) AS d) tr
		              WHERE a.technician_id = visit_conflict.technician_id AND a.state IN ('booked', 'done')
		                AND a.id IS DISTINCT FROM visit_conflict.except_appointment
		                AND a.slot_start < visit_conflict.slot_end + interval '12 hours'
		                AND a.slot_end > visit_conflict.slot_start - interval '12 hours'
		                AND a.slot_start < visit_conflict.slot_end + tr.d
		                AND visit_conflict.slot_start < a.slot_end + tr.d) THEN 'booked'
	END
$$;
COMMENT ON FUNCTION repairsys.visit_conflict(bigint, double precision, double precision, timestamptz, timestamptz, bigint) IS 'Why a technician cannot make a visit to a place in [slot_start, slot_end): off shift, absent, booked (another visit, travel time between the places included; except_appointment left out), or NULL when he is free';

-- The slots of a center for a service type at a place: the engine of
-- available_slots().  SECURITY DEFINER, because a customer sees no
-- technician: it takes no ticket (whose rows the caller might not see), only
-- what every role may read (a center, a service type, a point), and tells
-- how many technicians are free, never who.
CREATE FUNCTION repairsys.slots_for(service_center_id bigint, service_type text,
                                    lat double precision, lon double precision,
                                    from_day date, days integer)
RETURNS TABLE (slot_start timestamptz, slot_end timestamptz, technicians_free integer)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
DECLARE
	len    interval := repairsys.setting_value('slot_length')::interval;
	zone   text := repairsys.center_time_zone(slots_for.service_center_id);
	closed date[] := repairsys.closed_dates(slots_for.service_center_id);
	od     record;
	req_skill text;
	req_level integer;
	t0     timestamptz;
	t1     timestamptz;
BEGIN
	IF from_day IS NULL OR days IS NULL OR NOT pg_catalog.isfinite(from_day) OR days < 1 OR days > 31 THEN
		RAISE EXCEPTION 'invalid slot range: from_day %, days %', from_day, days
			USING ERRCODE = '22023', DETAIL = 'from_day must be a finite date and days between 1 and 31.';
	END IF;
	SELECT st.required_skill, st.min_skill_level INTO req_skill, req_level
	  FROM repairsys.service_type st WHERE st.code = slots_for.service_type;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'service type "%" does not exist', slots_for.service_type USING ERRCODE = '22023';
	END IF;
	od := repairsys.open_dates(slots_for.service_center_id);
	t0 := repairsys.local_midnight(from_day, zone);
	t1 := repairsys.local_midnight(from_day + days, zone);
	RETURN QUERY
	WITH tech AS (
		SELECT te.id FROM repairsys.technician te
		 WHERE te.service_center_id = slots_for.service_center_id AND te.active
		   AND (req_skill IS NULL OR EXISTS (SELECT 1 FROM repairsys.technician_skill ts
		                                      WHERE ts.technician_id = te.id AND ts.skill = req_skill AND ts.level >= req_level))
	), win AS (
		SELECT tech.id, w.starts, w.ends
		  FROM tech
		  JOIN repairsys.technician_roster r ON r.technician_id = tech.id
		 CROSS JOIN LATERAL repairsys.sla_windows(
		        ('1min in ' || r.calendar)::repairsys.sla_interval,
		        greatest(t0, repairsys.local_midnight(r.valid_from, zone)),
		        CASE WHEN r.valid_to IS NULL THEN t1 ELSE least(t1, repairsys.local_midnight(r.valid_to + 1, zone)) END,
		        closed, zone, od.days, od.works_as) w
		 WHERE r.valid_from < from_day + days AND (r.valid_to IS NULL OR r.valid_to >= from_day - 1)
	), shift AS (
		SELECT win.id, pg_catalog.unnest(pg_catalog.range_agg(pg_catalog.tstzrange(win.starts, win.ends))) AS r
		  FROM win GROUP BY win.id
	), cand AS (
		SELECT shift.id, g AS s, g + len AS e
		  FROM shift CROSS JOIN LATERAL pg_catalog.generate_series(pg_catalog.lower(shift.r), pg_catalog.upper(shift.r) - len, len) g
	), away AS (
		-- approved absences per technician
		SELECT a.technician_id AS id, pg_catalog.range_agg(a.during) AS r
		  FROM repairsys.technician_absence a JOIN tech ON tech.id = a.technician_id
		 WHERE a.status = 'approved' AND a.during && pg_catalog.tstzrange(t0, t1)
		 GROUP BY a.technician_id
	), busy AS (
		-- the time each technician's visits take, with the travel time from and
		-- to this place on either side (open bounds: a slot may begin exactly
		-- when he can be there); as visit_conflict() counts it
		SELECT a.technician_id AS id,
		       pg_catalog.range_agg(pg_catalog.tstzrange(a.slot_start - tr.d, a.slot_end + tr.d, '()')) AS r
		  FROM repairsys.appointment a
		  JOIN tech ON tech.id = a.technician_id
		  JOIN repairsys.ticket t ON t.id = a.ticket_id
		 CROSS JOIN LATERAL (SELECT repairsys.travel_time(t.lat, t.lon, slots_for.lat, slots_for.lon) AS d) tr
		 WHERE a.state IN ('booked', 'done')
		   AND a.slot_start < t1 + interval '12 hours' AND a.slot_end > t0 - interval '12 hours'
		 GROUP BY a.technician_id
	)
	SELECT cand.s, cand.e, pg_catalog.count(*)::integer
	  FROM cand
	  LEFT JOIN away ON away.id = cand.id
	  LEFT JOIN busy ON busy.id = cand.id
	 WHERE NOT coalesce(away.r && pg_catalog.tstzrange(cand.s, cand.e), false)
	   AND NOT coalesce(busy.r && pg_catalog.tstzrange(cand.s, cand.e), false)
	 GROUP BY cand.s, cand.e
	 ORDER BY cand.s, cand.e;
END
$$;
COMMENT ON FUNCTION repairsys.slots_for(bigint, text, double precision, double precision, date, integer) IS 'Engine of available_slots(): slots of setting slot_length over local days from_day .. from_day + days - 1 of a center in which active technicians of the center with the service type''s skill are on shift, not absent and not booked (travel time to and from their other visits included), with how many; SECURITY DEFINER: says how many, never who';

CREATE FUNCTION repairsys.available_slots(ticket_id bigint, from_day date, days integer DEFAULT 7)
RETURNS TABLE (slot_start timestamptz, slot_end timestamptz, technicians_free integer)
LANGUAGE plpgsql STABLE
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
DECLARE
	t record;
BEGIN
	-- (row-level security applies: a ticket the caller may not see does not exist)
	SELECT x.service_center_id, x.service_type, x.lat, x.lon, x.status_role INTO t
	  FROM repairsys.ticket x WHERE x.id = available_slots.ticket_id;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'ticket % does not exist', available_slots.ticket_id USING ERRCODE = '22023';
	END IF;
	IF t.status_role IN ('resolved', 'closed', 'cancelled') THEN
		RAISE EXCEPTION 'ticket % is finished', available_slots.ticket_id
			USING ERRCODE = '23514', DETAIL = 'Visits are booked only for open tickets.';
	END IF;
	RETURN QUERY SELECT s.slot_start, s.slot_end, s.technicians_free
	  FROM repairsys.slots_for(t.service_center_id, t.service_type, t.lat, t.lon, from_day, days) s;
END
$$;
COMMENT ON FUNCTION repairsys.available_slots(bigint, date, integer) IS 'Bookable visit slots for a ticket over local days from_day .. from_day + days - 1 of its center: slot_start, slot_end (setting slot_length) and how many eligible technicians (skill, center, active, on shift for the whole visit, not absent, not booked, travel time included) are free; unknown ticket or bad range: 22023; finished ticket: 23514';

------------------------------------------------------------------------------
-- Rules of the tables
------------------------------------------------------------------------------
-- Locks a technician's row (and leaves a new version, as auto_assign does:
-- a REPEATABLE READ writer with an older snapshot then fails with 40001
-- instead of checking stale data).  Returns whether he exists.
CREATE FUNCTION repairsys.lock_technician(technician_id bigint)
RETURNS boolean
LANGUAGE plpgsql VOLATILE
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
BEGIN
	UPDATE repairsys.technician te SET capacity = te.capacity WHERE te.id = lock_technician.technician_id;
	RETURN FOUND;
END
$$;
COMMENT ON FUNCTION repairsys.lock_technician(bigint) IS 'Locks a technician''s row so that writers of his time (bookings, absences, rosters) are serialized; false when he does not exist';

-- Whether a technician may serve a ticket at all: active, with the service
-- type's skill at its minimum level.
CREATE FUNCTION repairsys.technician_fits(technician_id bigint, ticket_id bigint)
RETURNS text
LANGUAGE sql STABLE
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
	SELECT CASE
		WHEN te.id IS NULL THEN 'unknown technician'
		WHEN NOT te.active THEN 'inactive'
		WHEN st.required_skill IS NOT NULL AND NOT EXISTS (
		        SELECT 1 FROM repairsys.technician_skill ts
		         WHERE ts.technician_id = te.id AND ts.skill = st.required_skill AND ts.level >= st.min_skill_level)
		THEN 'lacks skill'
	END
	  FROM repairsys.ticket t
	  JOIN repairsys.service_type st ON st.code = t.service_type
	  LEFT JOIN repairsys.technician te ON te.id = technician_fits.technician_id
	 WHERE t.id = technician_fits.ticket_id
$$;
COMMENT ON FUNCTION repairsys.technician_fits(bigint, bigint) IS 'Why a technician cannot serve a ticket at all (unknown technician, inactive, lacks skill), NULL when he can';

-- BEFORE INSERT on appointment, first, with the caller's rights: the ticket
-- must be one the caller may see (row-level security of ticket), so that the
-- checks after it, which read every ticket and technician, never answer about
-- someone else's ticket (the policy's own check would come only after them).
CREATE FUNCTION repairsys.appointment_visible_trg()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
BEGIN
	IF NOT EXISTS (SELECT 1 FROM repairsys.ticket x WHERE x.id = NEW.ticket_id) THEN
		RAISE EXCEPTION 'new row violates row-level security policy for table "appointment"'
			USING ERRCODE = '42501', DETAIL = 'The ticket is not one the current role may see.';
	END IF;
	RETURN NEW;
END
$$;
COMMENT ON FUNCTION repairsys.appointment_visible_trg() IS 'BEFORE INSERT trigger of appointment (caller''s rights): the ticket is one the caller may see (42501), before any check answers about it';
CREATE TRIGGER appointment_05_visible BEFORE INSERT ON repairsys.appointment
	FOR EACH ROW EXECUTE FUNCTION repairsys.appointment_visible_trg();

-- BEFORE INSERT OR UPDATE on appointment.  A new row is a booking: state
-- booked, for an open ticket, replacing (when it does) a rescheduled row of
-- the same ticket within setting max_reschedules; the technician, when not
-- given, is the ticket's own if he is free, else the best scored free one
-- (candidates_base(), default policy); he must fit the ticket and be free
-- (visit_conflict()) once his row is locked, else 23514.  An update changes
-- only the state (booked to rescheduled or cancelled with a reason, or to done
-- once the technician checked in), the reason, or, while booked, the
-- technician (checked as a new booking).  Rows the table owner restores or
-- migrates (booked_at not now) are taken as they are.
CREATE FUNCTION repairsys.appointment_check_trg()
RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
DECLARE
	t      record;
	why    text;
	n      integer;
	c      record;
	tried  integer := 0;
BEGIN
	IF TG_OP = 'INSERT' AND NEW.booked_at IS DISTINCT FROM pg_catalog.now() AND repairsys.is_table_owner(TG_RELID) THEN
		RETURN NEW;
	END IF;
	IF TG_OP = 'UPDATE' THEN
		IF NEW.ticket_id IS DISTINCT FROM OLD.ticket_id OR NEW.slot_start IS DISTINCT FROM OLD.slot_start
		   OR NEW.slot_end IS DISTINCT FROM OLD.slot_end OR NEW.replaces IS DISTINCT FROM OLD.replaces
		   OR NEW.booked_at IS DISTINCT FROM OLD.booked_at OR NEW.booked_by IS DISTINCT FROM OLD.booked_by THEN
			RAISE EXCEPTION 'only the state, reason and technician of appointment % may change', OLD.id
				USING ERRCODE = '23514', HINT = 'To move a visit, use repairsys.reschedule_visit(): it keeps the history.';
		END IF;
		IF NEW.state IS DISTINCT FROM OLD.state THEN
			IF OLD.state <> 'booked' THEN
				RAISE EXCEPTION 'appointment % is % and cannot become %', OLD.id, OLD.state, NEW.state
					USING ERRCODE = '23514', DETAIL = 'Only a booked visit changes its state.';
			END IF;
			IF NEW.state IN ('rescheduled', 'cancelled') AND coalesce(pg_catalog.btrim(NEW.reason), '') = '' THEN
				RAISE EXCEPTION 'a visit is % only with a reason', NEW.state USING ERRCODE = '23514';
			END IF;
			IF NEW.state = 'done' AND NOT EXISTS (SELECT 1 FROM repairsys.ticket x WHERE x.id = NEW.ticket_id AND x.arrived_at IS NOT NULL) THEN
				RAISE EXCEPTION 'appointment % is done only once the technician checked in', OLD.id
					USING ERRCODE = '23514', HINT = 'repairsys.check_in() stamps the arrival and marks the visit done.';
			END IF;
			NEW.changed_at := pg_catalog.now();
		END IF;
		IF NEW.technician_id IS NOT DISTINCT FROM OLD.technician_id THEN
			RETURN NEW;
		END IF;
		IF NEW.state <> 'booked' THEN
			RAISE EXCEPTION 'the technician of appointment % (%) cannot change', OLD.id, OLD.state USING ERRCODE = '23514';
		END IF;
	END IF;

	-- a booking (new row, or a booked row given another technician)
	SELECT x.id, x.technician_id, x.lat, x.lon, x.status_role INTO t
	  FROM repairsys.ticket x WHERE x.id = NEW.ticket_id FOR UPDATE;
	IF NOT FOUND THEN
		RETURN NEW;		-- the foreign key names the unknown ticket
	END IF;
	IF t.status_role IN ('resolved', 'closed', 'cancelled') THEN
		RAISE EXCEPTION 'ticket % is finished', t.id USING ERRCODE = '23514', DETAIL = 'Visits are booked only for open tickets.';
	END IF;
	-- (before any arithmetic on them: an infinite end would overflow there)
	IF NOT (pg_catalog.isfinite(NEW.slot_start) AND pg_catalog.isfinite(NEW.slot_end)) THEN
		RAISE EXCEPTION 'a visit starts and ends at finite instants' USING ERRCODE = '23514',
			DETAIL = pg_catalog.format('slot_start %s, slot_end %s.', NEW.slot_start, NEW.slot_end);
	END IF;
	IF TG_OP = 'INSERT' THEN
		IF NOT (NEW.slot_end > NEW.slot_start) THEN
			RAISE EXCEPTION 'a visit ends after it starts' USING ERRCODE = '23514',
				DETAIL = pg_catalog.format('slot_start %s, slot_end %s.', NEW.slot_start, NEW.slot_end);
		END IF;
		IF NEW.state <> 'booked' THEN
			RAISE EXCEPTION 'a new appointment is booked, not %', NEW.state USING ERRCODE = '23514';
		END IF;
		-- (after the ticket's lock: a booking of the same ticket that committed
		-- meanwhile is seen here, and this one is refused as a rule, not as a
		-- duplicate key)
		IF EXISTS (SELECT 1 FROM repairsys.appointment a WHERE a.ticket_id = NEW.ticket_id AND a.state = 'booked') THEN
			RAISE EXCEPTION 'ticket % has a booked visit already', NEW.ticket_id
				USING ERRCODE = '23514', HINT = 'repairsys.reschedule_visit() moves it; repairsys.cancel_visit() cancels it.';
		END IF;
		NEW.changed_at := NULL;
		IF NEW.replaces IS NOT NULL THEN
			IF NOT EXISTS (SELECT 1 FROM repairsys.appointment a
			                WHERE a.id = NEW.replaces AND a.ticket_id = NEW.ticket_id AND a.state = 'rescheduled')
			   OR EXISTS (SELECT 1 FROM repairsys.appointment a WHERE a.replaces = NEW.replaces) THEN
				RAISE EXCEPTION 'appointment % is not a rescheduled visit of ticket % waiting for its new slot', NEW.replaces, NEW.ticket_id
					USING ERRCODE = '23514';
			END IF;
			n := (SELECT pg_catalog.count(*) FROM repairsys.appointment a WHERE a.ticket_id = NEW.ticket_id AND a.state = 'rescheduled');
			IF n > repairsys.setting_value('max_reschedules')::integer THEN
				RAISE EXCEPTION 'the visit of ticket % cannot be rescheduled again', NEW.ticket_id
					USING ERRCODE = '23514',
					      DETAIL = pg_catalog.format('It was rescheduled %s times; setting max_reschedules is %s.', n - 1,
					                                 repairsys.setting_value('max_reschedules'));
			END IF;
		END IF;
	END IF;

	IF NEW.technician_id IS NOT NULL THEN
		why := repairsys.technician_fits(NEW.technician_id, t.id);
		IF why IS NULL THEN
			PERFORM repairsys.lock_technician(NEW.technician_id);
			why := repairsys.visit_conflict(NEW.technician_id, t.lat, t.lon, NEW.slot_start, NEW.slot_end,
			                                CASE WHEN TG_OP = 'UPDATE' THEN OLD.id END);
		END IF;
		IF why IS NOT NULL THEN
			RAISE EXCEPTION 'technician % cannot come to ticket % at %', NEW.technician_id, t.id, NEW.slot_start
				USING ERRCODE = '23514',
				      DETAIL = pg_catalog.format('Technician %s: %s.', NEW.technician_id, why),
				      HINT = 'repairsys.available_slots() lists the slots with a free technician.';
		END IF;
		RETURN NEW;
	END IF;

	-- none given: the ticket's own technician if free, else the best scored free one
	FOR c IN SELECT k.technician_id FROM repairsys.candidates_base(t.id, 'default') k
	          WHERE k.eligible AND repairsys.technician_fits(k.technician_id, t.id) IS NULL
	          ORDER BY (k.technician_id = t.technician_id) DESC NULLS LAST, k.score DESC NULLS LAST, k.technician_id
	LOOP
		-- (checked without the lock first, so that only a technician who looks
		-- free is locked; the subtransaction lets the lock of one who turns
		-- out busy go again)
		IF repairsys.visit_conflict(c.technician_id, t.lat, t.lon, NEW.slot_start, NEW.slot_end) IS NOT NULL THEN
			CONTINUE;
		END IF;
		tried := tried + 1;
		BEGIN
			PERFORM repairsys.lock_technician(c.technician_id);
			IF repairsys.visit_conflict(c.technician_id, t.lat, t.lon, NEW.slot_start, NEW.slot_end) IS NOT NULL THEN
				RAISE EXCEPTION 'taken meanwhile' USING ERRCODE = 'RSD01';
			END IF;
			NEW.technician_id := c.technician_id;
			RETURN NEW;
		EXCEPTION WHEN SQLSTATE 'RSD01' THEN
			NULL;	-- booked meanwhile: the next one
		END;
	END LOOP;
	RAISE EXCEPTION 'no technician can come to ticket % at %', t.id, NEW.slot_start
		USING ERRCODE = '23514',
		      DETAIL = CASE WHEN tried > 0 THEN pg_catalog.format('%s free technician(s) were booked meanwhile.', tried)
		                    ELSE 'Every eligible technician is off shift, absent or booked then.' END,
		      HINT = 'repairsys.available_slots() lists the slots with a free technician.';
END
$$;
COMMENT ON FUNCTION repairsys.appointment_check_trg() IS 'BEFORE INSERT OR UPDATE trigger of appointment: a booking is for an open ticket, within max_reschedules, by a technician who fits the ticket and is free then (chosen when not given), checked under his row lock (23514); an update changes only the state (booked to rescheduled or cancelled with a reason, done after check-in), the reason or, while booked, the technician';
CREATE TRIGGER appointment_10_check BEFORE INSERT OR UPDATE ON repairsys.appointment
	FOR EACH ROW EXECUTE FUNCTION repairsys.appointment_check_trg();

-- AFTER INSERT on appointment: the ticket is assigned to the visit's
-- technician and, from the initial state, moved to its assigned-role state
-- (through a plain UPDATE: the life-cycle and capacity triggers check it).
CREATE FUNCTION repairsys.appointment_assign_trg()
RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
DECLARE
	t record;
BEGIN
	IF NEW.state <> 'booked' OR (NEW.booked_at IS DISTINCT FROM pg_catalog.now() AND repairsys.is_table_owner(TG_RELID)) THEN
		RETURN NULL;	-- history restored or migrated
	END IF;
	SELECT x.status, x.status_role, x.technician_id INTO t FROM repairsys.ticket x WHERE x.id = NEW.ticket_id;
	IF t.status_role = 'initial' THEN
		UPDATE repairsys.ticket x SET technician_id = NEW.technician_id, status = repairsys.assigned_state(t.status)
		 WHERE x.id = NEW.ticket_id;
	ELSIF t.technician_id IS DISTINCT FROM NEW.technician_id THEN
		UPDATE repairsys.ticket x SET technician_id = NEW.technician_id WHERE x.id = NEW.ticket_id;
	END IF;
	RETURN NULL;
END
$$;
COMMENT ON FUNCTION repairsys.appointment_assign_trg() IS 'AFTER INSERT trigger of appointment: assigns the ticket to the booked technician (from the initial state: moved to the assigned-role state)';
CREATE TRIGGER appointment_20_assign AFTER INSERT ON repairsys.appointment
	FOR EACH ROW EXECUTE FUNCTION repairsys.appointment_assign_trg();

-- BEFORE INSERT OR UPDATE on technician_absence: deciding stamps who and
-- when; an approved absence may not meet a booked visit of the technician
-- (checked under his row lock: an approval and a booking at once are
-- serialized, the second refused).  Not SECURITY DEFINER: decided_by is the
-- caller.  Rows the table owner restores (requested_at not now) are taken as
-- they are.
CREATE FUNCTION repairsys.absence_check_trg()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
DECLARE
	v record;
BEGIN
	IF TG_OP = 'INSERT' AND NEW.requested_at IS DISTINCT FROM pg_catalog.now() AND repairsys.is_table_owner(TG_RELID) THEN
		RETURN NEW;
	END IF;
	IF TG_OP = 'INSERT' OR NEW.status IS DISTINCT FROM OLD.status THEN
		IF NEW.status = 'requested' THEN
			NEW.decided_at := NULL;
			NEW.decided_by := NULL;
		ELSE
			NEW.decided_at := pg_catalog.now();
			NEW.decided_by := CURRENT_USER;
		END IF;
	END IF;
	IF NEW.status = 'approved'
	   AND (TG_OP = 'INSERT' OR OLD.status <> 'approved' OR NEW.during IS DISTINCT FROM OLD.during
	        OR NEW.technician_id IS DISTINCT FROM OLD.technician_id) THEN
		PERFORM repairsys.lock_technician(NEW.technician_id);
		SELECT a.id, a.ticket_id, a.slot_start INTO v
		  FROM repairsys.appointment a
		 WHERE a.technician_id = NEW.technician_id AND a.state = 'booked'
		   AND pg_catalog.tstzrange(a.slot_start, a.slot_end) && NEW.during
		 ORDER BY a.slot_start LIMIT 1;
		IF FOUND THEN
			RAISE EXCEPTION 'technician % has a booked visit during the absence', NEW.technician_id
				USING ERRCODE = '23514',
				      DETAIL = pg_catalog.format('Appointment %s of ticket %s at %s.', v.id, v.ticket_id, v.slot_start),
				      HINT = 'Reschedule or cancel the visits first (repairsys.reschedule_visit()).';
		END IF;
	END IF;
	RETURN NEW;
END
$$;
COMMENT ON FUNCTION repairsys.absence_check_trg() IS 'BEFORE INSERT OR UPDATE trigger of technician_absence: stamps decided_at and decided_by; an approved absence may not meet a booked visit (23514, under the technician''s row lock)';
CREATE TRIGGER technician_absence_10_check BEFORE INSERT OR UPDATE ON repairsys.technician_absence
	FOR EACH ROW EXECUTE FUNCTION repairsys.absence_check_trg();

-- AFTER INSERT OR UPDATE OR DELETE on technician_roster: the technician's
-- booked visits stay within his rostered hours (23514 otherwise, under his
-- row lock).
CREATE FUNCTION repairsys.roster_check_trg()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
DECLARE
	tech bigint;
	v    record;
BEGIN
	FOR tech IN SELECT DISTINCT x.id FROM (VALUES (CASE WHEN TG_OP <> 'INSERT' THEN OLD.technician_id END),
	                                              (CASE WHEN TG_OP <> 'DELETE' THEN NEW.technician_id END)) x(id)
	             WHERE x.id IS NOT NULL
	LOOP
		IF NOT repairsys.lock_technician(tech) THEN
			CONTINUE;	-- deleted with the technician
		END IF;
		SELECT a.id, a.ticket_id, a.slot_start INTO v
		  FROM repairsys.appointment a
		 WHERE a.technician_id = tech AND a.state = 'booked'
		   AND NOT (repairsys.roster_ranges(tech, a.slot_start, a.slot_end) @> pg_catalog.tstzrange(a.slot_start, a.slot_end))
		 ORDER BY a.slot_start LIMIT 1;
		IF FOUND THEN
			RAISE EXCEPTION 'technician % would have a booked visit outside his rostered hours', tech
				USING ERRCODE = '23514',
				      DETAIL = pg_catalog.format('Appointment %s of ticket %s at %s.', v.id, v.ticket_id, v.slot_start),
				      HINT = 'Reschedule or cancel the visits first (repairsys.reschedule_visit()).';
		END IF;
	END LOOP;
	RETURN NULL;
END
$$;
COMMENT ON FUNCTION repairsys.roster_check_trg() IS 'AFTER trigger of technician_roster: a roster change leaves every booked visit of the technician within his rostered hours (23514)';
CREATE TRIGGER technician_roster_10_check AFTER INSERT OR UPDATE OR DELETE ON repairsys.technician_roster
	FOR EACH ROW EXECUTE FUNCTION repairsys.roster_check_trg();

-- Functions of triggers on repairsys.ticket (the triggers, with their order:
-- 80_ticket_triggers.sql)
--
-- ticket_36_arrival (BEFORE INSERT OR UPDATE OF arrived_at, after the clock
-- checks of ticket_35_times, with which it shares nothing): the arrival is
-- stamped once, now, by check_in() or a plain UPDATE; only the table owner
-- (restore, migration) writes other values.
CREATE FUNCTION repairsys.ticket_arrival_trg()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
BEGIN
	IF repairsys.is_table_owner(TG_RELID) THEN
		RETURN NEW;
	END IF;
	IF TG_OP = 'INSERT' THEN
		IF NEW.arrived_at IS NOT NULL THEN
			RAISE EXCEPTION 'a new ticket has no arrival' USING ERRCODE = '23514',
				HINT = 'repairsys.check_in() stamps the arrival.';
		END IF;
		RETURN NEW;
	END IF;
	IF OLD.arrived_at IS NOT NULL THEN
		RAISE EXCEPTION 'ticket % has its arrival stamped already', OLD.id USING ERRCODE = '23514';
	END IF;
	IF NEW.arrived_at IS DISTINCT FROM pg_catalog.now() THEN
		RAISE EXCEPTION 'the arrival at ticket % is stamped with the current time', OLD.id
			USING ERRCODE = '23514', HINT = 'repairsys.check_in() stamps the arrival.';
	END IF;
	RETURN NEW;
END
$$;
COMMENT ON FUNCTION repairsys.ticket_arrival_trg() IS 'BEFORE INSERT OR UPDATE OF arrived_at trigger of ticket: the arrival is stamped once, with now(), but by the table owner (23514)';

-- ticket_57_visit_follow (AFTER UPDATE OF technician_id, after the load kept
-- by ticket_55_load_update): a ticket given another technician takes its
-- booked visit with it; the appointment's trigger checks he is free then.
-- ticket_58_visit_done (AFTER UPDATE OF arrived_at): the arrival marks the
-- booked visit done.  (Both write appointment as its owner: SECURITY DEFINER.)
CREATE FUNCTION repairsys.ticket_visit_trg()
RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
BEGIN
	IF NEW.technician_id IS NOT NULL AND NEW.technician_id IS DISTINCT FROM OLD.technician_id THEN
		UPDATE repairsys.appointment a SET technician_id = NEW.technician_id
		 WHERE a.ticket_id = NEW.id AND a.state = 'booked' AND a.technician_id <> NEW.technician_id;
	END IF;
	IF NEW.arrived_at IS NOT NULL AND OLD.arrived_at IS NULL THEN
		UPDATE repairsys.appointment a SET state = 'done'
		 WHERE a.ticket_id = NEW.id AND a.state = 'booked';
	END IF;
	RETURN NULL;
END
$$;
COMMENT ON FUNCTION repairsys.ticket_visit_trg() IS 'AFTER UPDATE trigger of ticket: a new technician takes the booked visit with him (checked by the appointment''s trigger); the arrival marks it done';

------------------------------------------------------------------------------
-- Booking, rescheduling, cancelling, arriving
------------------------------------------------------------------------------
CREATE FUNCTION repairsys.book_visit(ticket_id bigint, slot_start timestamptz, technician_id bigint DEFAULT NULL)
RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
DECLARE
	id bigint;
BEGIN
	IF book_visit.ticket_id IS NULL OR book_visit.slot_start IS NULL OR NOT pg_catalog.isfinite(book_visit.slot_start) THEN
		RAISE EXCEPTION 'ticket_id and slot_start of book_visit must be given (slot_start finite)' USING ERRCODE = '22023';
	END IF;
	PERFORM 1 FROM repairsys.ticket x WHERE x.id = book_visit.ticket_id;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'ticket % does not exist', book_visit.ticket_id USING ERRCODE = '22023';
	END IF;
	IF book_visit.technician_id IS NULL THEN
		-- (a customer may not name a technician: the column is not his to write)
		INSERT INTO repairsys.appointment (ticket_id, slot_start, slot_end)
		VALUES (book_visit.ticket_id, book_visit.slot_start,
		        book_visit.slot_start + repairsys.setting_value('slot_length')::interval)
		RETURNING appointment.id INTO id;
	ELSE
		INSERT INTO repairsys.appointment (ticket_id, technician_id, slot_start, slot_end)
		VALUES (book_visit.ticket_id, book_visit.technician_id, book_visit.slot_start,
		        book_visit.slot_start + repairsys.setting_value('slot_length')::interval)
		RETURNING appointment.id INTO id;
	END IF;
	RETURN id;
END
$$;
COMMENT ON FUNCTION repairsys.book_visit(bigint, timestamptz, bigint) IS 'Books a visit of setting slot_length at slot_start for a ticket and assigns the technician (given, else the ticket''s own if free, else the best scored free one); returns the appointment id; nobody free: 23514; unknown ticket: 22023';

CREATE FUNCTION repairsys.reschedule_visit(ticket_id bigint, slot_start timestamptz, reason text)
RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
DECLARE
	old_id bigint;
	id     bigint;
BEGIN
	IF reschedule_visit.ticket_id IS NULL OR reschedule_visit.slot_start IS NULL OR NOT pg_catalog.isfinite(reschedule_visit.slot_start) THEN
		RAISE EXCEPTION 'ticket_id and slot_start of reschedule_visit must be given (slot_start finite)' USING ERRCODE = '22023';
	END IF;
	IF coalesce(pg_catalog.btrim(reschedule_visit.reason), '') = '' THEN
		RAISE EXCEPTION 'a reschedule needs a reason' USING ERRCODE = '22023';
	END IF;
	UPDATE repairsys.appointment a SET state = 'rescheduled', reason = reschedule_visit.reason
	 WHERE a.ticket_id = reschedule_visit.ticket_id AND a.state = 'booked'
	RETURNING a.id INTO old_id;
	IF old_id IS NULL THEN
		RAISE EXCEPTION 'ticket % has no booked visit', reschedule_visit.ticket_id
			USING ERRCODE = '23514', HINT = 'repairsys.book_visit() books one.';
	END IF;
	INSERT INTO repairsys.appointment (ticket_id, slot_start, slot_end, replaces, reason)
	VALUES (reschedule_visit.ticket_id, reschedule_visit.slot_start,
	        reschedule_visit.slot_start + repairsys.setting_value('slot_length')::interval, old_id, reschedule_visit.reason)
	RETURNING appointment.id INTO id;
	RETURN id;
END
$$;
COMMENT ON FUNCTION repairsys.reschedule_visit(bigint, timestamptz, text) IS 'Moves the booked visit of a ticket (改约) to slot_start: the old row becomes rescheduled, a new booking replaces it (the same technician if free, else the best scored free one); at most setting max_reschedules times; returns the new appointment id; no booked visit, nobody free, limit reached: 23514; no reason: 22023';

CREATE FUNCTION repairsys.cancel_visit(ticket_id bigint, reason text)
RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
DECLARE
	id bigint;
BEGIN
	IF coalesce(pg_catalog.btrim(cancel_visit.reason), '') = '' THEN
		RAISE EXCEPTION 'a cancellation needs a reason' USING ERRCODE = '22023';
	END IF;
	UPDATE repairsys.appointment a SET state = 'cancelled', reason = cancel_visit.reason
	 WHERE a.ticket_id = cancel_visit.ticket_id AND a.state = 'booked'
	RETURNING a.id INTO id;
	IF id IS NULL THEN
		RAISE EXCEPTION 'ticket % has no booked visit', cancel_visit.ticket_id USING ERRCODE = '23514';
	END IF;
	RETURN id;
END
$$;
COMMENT ON FUNCTION repairsys.cancel_visit(bigint, text) IS 'Cancels the booked visit of a ticket with a reason (the ticket keeps its technician); returns the appointment id; none booked: 23514; no reason: 22023';

CREATE FUNCTION repairsys.check_in(ticket_id bigint)
RETURNS timestamptz
LANGUAGE plpgsql VOLATILE
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
DECLARE
	at timestamptz;
BEGIN
	UPDATE repairsys.ticket x SET arrived_at = pg_catalog.now()
	 WHERE x.id = check_in.ticket_id AND x.arrived_at IS NULL
	RETURNING x.arrived_at INTO at;
	IF at IS NULL THEN
		-- (row-level security applies: a ticket the caller may not see does not exist)
		IF EXISTS (SELECT 1 FROM repairsys.ticket x WHERE x.id = check_in.ticket_id) THEN
			RAISE EXCEPTION 'ticket % has its arrival stamped already', check_in.ticket_id USING ERRCODE = '23514';
		END IF;
		RAISE EXCEPTION 'ticket % does not exist', check_in.ticket_id USING ERRCODE = '22023';
	END IF;
	RETURN at;
END
$$;
COMMENT ON FUNCTION repairsys.check_in(bigint) IS 'The technician arrived (上门): stamps ticket.arrived_at with now() (once) and marks the booked visit done; returns the stamp; unknown ticket: 22023; stamped already: 23514';

------------------------------------------------------------------------------
-- Assignment with time: candidates() over the C kernel's candidates_base()
------------------------------------------------------------------------------
CREATE FUNCTION repairsys.candidates(ticket_id bigint, policy text DEFAULT 'default')
RETURNS TABLE (technician_id bigint, eligible boolean, reason text, score double precision,
               skill_score double precision, distance_km double precision,
               distance_score double precision, load double precision, load_score double precision,
               rating_score double precision, continuity_score double precision,
               open_tickets integer, capacity integer)
LANGUAGE sql STABLE
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
	SELECT k.technician_id, k.eligible AND v.why IS NULL, coalesce(k.reason, v.why), k.score,
	       k.skill_score, k.distance_km, k.distance_score, k.load, k.load_score,
	       k.rating_score, k.continuity_score, k.open_tickets, k.capacity
	  FROM repairsys.candidates_base(candidates.ticket_id, candidates.policy) WITH ORDINALITY AS k
	  LEFT JOIN repairsys.ticket t ON t.id = candidates.ticket_id
	  LEFT JOIN repairsys.appointment a ON a.ticket_id = candidates.ticket_id AND a.state = 'booked'
	  LEFT JOIN LATERAL (SELECT CASE WHEN a.id IS NOT NULL AND k.eligible
	                                 THEN repairsys.visit_conflict(k.technician_id, t.lat, t.lon, a.slot_start, a.slot_end, a.id) END AS why) v ON true
	 ORDER BY (k.eligible AND v.why IS NULL) DESC, k.ordinality
$$;
COMMENT ON FUNCTION repairsys.candidates(bigint, text) IS
	'Every technician for a ticket under an assignment policy: eligible or not and why, score in [0,1] and its parts; best first (eligible, higher score, lower id). A ticket with a booked visit takes only technicians free for it (reasons off shift, absent, booked). Unknown ticket or policy: 22023; finished ticket: 23514; NULL argument: 22004';

-- (src/sql/56_plan.sql)
-- Day plans (DESIGN.md section 15, docs/dispatch.md "Day plans"): each
-- technician's visits of one local day of a center in the order of the least
-- driving, from the day's booked visits and the center's unbooked tickets,
-- on top of route_solve (src/route.c); commit_plan() books what the plan says
-- through book_visit(), so the rules and locks of appointment_10_check apply.
--
-- route_solve travels in straight lines: the points are projected around the
-- center (equirectangular, earth radius 6371.0088 km) and scaled to minutes
-- at setting travel_speed_kmh, 1% longer than the great-circle distance
-- (more than the projection's error at the scale of a city), so that the
-- schedule recomputed with haversine distances is never later than the
-- solver's: no booked window, shift or absence is broken by the rounding.

-- One technician's day: the route of his booked visits (fixed: service
-- starts at slot_start) and of those of the unbooked tickets he can serve
-- (not in skip) that fit in the longest stretch of his shifts of the day that
-- no booked visit takes, within his free capacity; booked visits are kept
-- before unbooked ones.  Rows in route order, seq from 1; a booked visit the route
-- cannot keep (its neighbours too far apart) comes last with seq NULL.
CREATE FUNCTION repairsys.plan_technician(technician_id bigint, day date, skip bigint[],
                                          time_limit_ms integer DEFAULT 200)
RETURNS TABLE (seq integer, ticket_id bigint, arrive_at timestamptz, start_at timestamptz,
               depart_at timestamptz, travel_km double precision)
LANGUAGE plpgsql VOLATILE
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
DECLARE
	te     record;
	zone   text;
	t0     timestamptz;
	shifts tstzmultirange;
	wide   tstzrange;
	len    interval := repairsys.setting_value('slot_length')::interval;
	speed  double precision := repairsys.setting_value('travel_speed_kmh')::double precision;
	lat0   double precision;
	lon0   double precision;
	k      double precision;
	ids    bigint[] := ARRAY[NULL::bigint];
	xs     double precision[];
	ys     double precision[];
	dem    double precision[];
	rdy    double precision[];
	dues   double precision[];
	svc    double precision[];
	lats   double precision[];
	lons   double precision[];
	v      record;
	n_booked integer := 0;
	free   double precision;
	p_lat  double precision;
	p_lon  double precision;
	p_dep  timestamptz;
	arr    timestamptz;
	st     timestamptz;
	km     double precision;
	route  integer[];
	lost   integer[];
	lost0  integer;
	far    double precision;
	booked_visits tstzmultirange;
	drop_node integer;
BEGIN
	SELECT x.id, x.lat, x.lon, x.service_center_id, x.capacity, c.lat AS c_lat, c.lon AS c_lon INTO te
	  FROM repairsys.technician x LEFT JOIN repairsys.service_center c ON c.id = x.service_center_id
	 WHERE x.id = plan_technician.technician_id AND x.active;
	IF NOT FOUND THEN
		RETURN;
	END IF;
	zone := repairsys.center_time_zone(te.service_center_id);
	t0 := repairsys.local_midnight(day, zone);
	shifts := repairsys.roster_ranges(te.id, t0, repairsys.local_midnight(day + 1, zone)) OPERATOR(pg_catalog.-) repairsys.absence_ranges(te.id);
	IF pg_catalog.isempty(shifts) THEN
		RETURN;
	END IF;
	-- (unbooked visits go into the longest stretch of the shifts that no
	-- booked visit takes)
	booked_visits := coalesce((SELECT pg_catalog.range_agg(pg_catalog.tstzrange(a.slot_start, a.slot_end))
	                             FROM repairsys.appointment a
	                            WHERE a.technician_id = te.id AND a.state IN ('booked', 'done')
	                              AND a.slot_end > t0 AND a.slot_start < repairsys.local_midnight(day + 1, zone)), '{}');
	SELECT r INTO wide FROM pg_catalog.unnest(shifts OPERATOR(pg_catalog.-) booked_visits) r
	 ORDER BY pg_catalog.upper(r) - pg_catalog.lower(r) DESC, pg_catalog.lower(r) LIMIT 1;
	lat0 := coalesce(te.lat, te.c_lat, 0);
	lon0 := coalesce(te.lon, te.c_lon, 0);
	-- minutes of travel per degree, 1% on top (see the head of the file)
	k := 6371.0088 * pi() / 180 * 60 / speed * 1.01;
	-- node 1: the technician's base, open over the day's shifts
	xs := ARRAY[0::double precision];
	ys := ARRAY[0::double precision];
	lats := ARRAY[lat0];
	lons := ARRAY[lon0];
	dem := ARRAY[0::double precision];
	rdy := ARRAY[pg_catalog.date_part('epoch', pg_catalog.lower(shifts) - t0) / 60];
	dues := ARRAY[pg_catalog.date_part('epoch', pg_catalog.upper(shifts) - t0) / 60];
	svc := ARRAY[0::double precision];
	-- his booked visits of the day: service starts at slot_start
	FOR v IN SELECT a.ticket_id, a.slot_start, a.slot_end, coalesce(t.lat, lat0) AS lat, coalesce(t.lon, lon0) AS lon
	           FROM repairsys.appointment a JOIN repairsys.ticket t ON t.id = a.ticket_id
	          WHERE a.technician_id = te.id AND a.state = 'booked'
	            AND a.slot_start >= t0 AND a.slot_start < repairsys.local_midnight(day + 1, zone)
	          ORDER BY a.slot_start, a.ticket_id
	LOOP
		n_booked := n_booked + 1;
		ids := ids || v.ticket_id;
		lats := lats || v.lat;
		lons := lons || v.lon;
		xs := xs || (v.lon - lon0) * pg_catalog.cos(pg_catalog.radians(lat0)) * k;
		ys := ys || (v.lat - lat0) * k;
		dem := dem || 0::double precision;
		rdy := rdy || pg_catalog.date_part('epoch', v.slot_start - t0) / 60;
		dues := dues || pg_catalog.date_part('epoch', v.slot_start - t0) / 60;
		svc := svc || pg_catalog.date_part('epoch', v.slot_end - v.slot_start) / 60;
	END LOOP;
	-- the unbooked tickets he may serve, inside his longest window, one unit of
	-- his free capacity each
	free := te.capacity - repairsys.open_ticket_count(te.id);
	IF free > 0 AND wide IS NOT NULL AND pg_catalog.upper(wide) - len >= pg_catalog.lower(wide) THEN
		FOR v IN SELECT t.id AS ticket_id, t.lat, t.lon
		           FROM repairsys.ticket t
		          WHERE t.service_center_id = te.service_center_id AND t.status_role = 'initial'
		            AND t.lat IS NOT NULL AND t.lon IS NOT NULL
		            AND t.id <> ALL (coalesce(skip, '{}'))
		            AND NOT EXISTS (SELECT 1 FROM repairsys.appointment a WHERE a.ticket_id = t.id AND a.state = 'booked')
		            AND repairsys.technician_fits(te.id, t.id) IS NULL
		          ORDER BY t.id
		LOOP
			ids := ids || v.ticket_id;
			lats := lats || v.lat;
			lons := lons || v.lon;
			xs := xs || (v.lon - lon0) * pg_catalog.cos(pg_catalog.radians(lat0)) * k;
			ys := ys || (v.lat - lat0) * k;
			dem := dem || 1::double precision;
			rdy := rdy || pg_catalog.date_part('epoch', pg_catalog.lower(wide) - t0) / 60;
			dues := dues || pg_catalog.date_part('epoch', pg_catalog.upper(wide) - len - t0) / 60;
			svc := svc || pg_catalog.date_part('epoch', len) / 60;
		END LOOP;
	END IF;
	IF pg_catalog.array_length(ids, 1) = 1 THEN
		RETURN;
	END IF;
	-- The route.  route_solve serves as many visits as it can, booked or
	-- not, so a booked visit could give way to two unbooked ones: the booked
	-- visits the route can keep alone (lost0 lost) are kept, by taking out
	-- the last unbooked visit of the route (moved out of reach: past the end
	-- of the day) until no more booked ones are lost.
	far := dues[1] + 100000;
	lost0 := 0;
	IF n_booked > 0 THEN
		SELECT pg_catalog.count(*) FILTER (WHERE r.vehicle IS NULL AND r.node BETWEEN 2 AND n_booked + 1) INTO lost0
		  FROM repairsys.route_solve(xs[1:n_booked + 1], ys[1:n_booked + 1], dem[1:n_booked + 1], rdy[1:n_booked + 1],
		                             dues[1:n_booked + 1], svc[1:n_booked + 1], 1, greatest(free, 0) + 0.5, time_limit_ms) r;
	END IF;
	LOOP
		SELECT pg_catalog.array_agg(r.node ORDER BY r.seq) FILTER (WHERE r.vehicle IS NOT NULL AND r.node > 1),
		       pg_catalog.array_agg(r.node ORDER BY r.node) FILTER (WHERE r.vehicle IS NULL AND r.node BETWEEN 2 AND n_booked + 1)
		  INTO route, lost
		  FROM repairsys.route_solve(xs, ys, dem, rdy, dues, svc, 1, greatest(free, 0) + 0.5, time_limit_ms) r;
		EXIT WHEN coalesce(pg_catalog.array_length(lost, 1), 0) <= lost0
		       OR NOT EXISTS (SELECT 1 FROM pg_catalog.unnest(route) u WHERE u > n_booked + 1);
		drop_node := (SELECT q.u FROM pg_catalog.unnest(route) WITH ORDINALITY AS q(u, o) WHERE q.u > n_booked + 1
		               ORDER BY q.o DESC LIMIT 1);
		rdy[drop_node] := far;
		dues[drop_node] := far;
	END LOOP;
	-- its schedule again with great-circle distances; the booked visits the
	-- route could not keep last
	p_lat := lat0;
	p_lon := lon0;
	p_dep := pg_catalog.lower(shifts);
	FOR v IN SELECT 1 AS vehicle, q.o::integer AS seq, q.u AS node FROM pg_catalog.unnest(route) WITH ORDINALITY AS q(u, o)
	         UNION ALL
	         SELECT NULL, NULL, l.u FROM pg_catalog.unnest(lost) AS l(u)
	         ORDER BY 1 NULLS LAST, 2, 3
	LOOP
		IF v.vehicle IS NULL THEN
			seq := NULL;
			ticket_id := ids[v.node];
			arrive_at := NULL;
			start_at := t0 + pg_catalog.make_interval(secs => rdy[v.node] * 60);
			depart_at := NULL;
			travel_km := NULL;
			RETURN NEXT;
			CONTINUE;
		END IF;
		km := repairsys.haversine_km(p_lat, p_lon, lats[v.node], lons[v.node]);
		arr := p_dep + pg_catalog.make_interval(secs => km / speed * 3600);
		st := greatest(arr, t0 + pg_catalog.make_interval(secs => rdy[v.node] * 60));
		seq := v.seq;
		ticket_id := ids[v.node];
		arrive_at := arr;
		start_at := st;
		depart_at := st + pg_catalog.make_interval(secs => svc[v.node] * 60);
		travel_km := km;
		RETURN NEXT;
		p_lat := lats[v.node];
		p_lon := lons[v.node];
		p_dep := depart_at;
	END LOOP;
END
$$;
COMMENT ON FUNCTION repairsys.plan_technician(bigint, date, bigint[], integer) IS 'Internal step of plan_day(): one technician''s route of a local day (booked visits at their slot_start, unbooked tickets he can serve, not in skip, inside the longest stretch of his shifts no booked visit takes, within his free capacity, never at the cost of a booked visit) by route_solve, scheduled again with great-circle distances; a booked visit the route cannot keep comes last with seq NULL';

CREATE FUNCTION repairsys.plan_day(service_center_id bigint, day date)
RETURNS TABLE (technician_id bigint, seq integer, ticket_id bigint, arrive_at timestamptz,
               start_at timestamptz, depart_at timestamptz, travel_km double precision)
LANGUAGE plpgsql VOLATILE
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
DECLARE
	te    bigint;
	taken bigint[] := '{}'::bigint[];
	r     record;
BEGIN
	IF plan_day.service_center_id IS NULL OR plan_day.day IS NULL OR NOT pg_catalog.isfinite(plan_day.day) THEN
		RAISE EXCEPTION 'service_center_id and a finite day of plan_day must be given' USING ERRCODE = '22023';
	END IF;
	IF NOT EXISTS (SELECT 1 FROM repairsys.service_center c WHERE c.id = plan_day.service_center_id) THEN
		RAISE EXCEPTION 'service center % does not exist', plan_day.service_center_id USING ERRCODE = '22023';
	END IF;
	-- technicians one after the other (by id): an unbooked ticket goes to the
	-- first whose route takes it
	FOR te IN SELECT x.id FROM repairsys.technician x
	           WHERE x.service_center_id = plan_day.service_center_id AND x.active ORDER BY x.id
	LOOP
		FOR r IN SELECT * FROM repairsys.plan_technician(te, plan_day.day, taken) LOOP
			technician_id := te;
			seq := r.seq;
			ticket_id := r.ticket_id;
			arrive_at := r.arrive_at;
			start_at := r.start_at;
			depart_at := r.depart_at;
			travel_km := r.travel_km;
			taken := taken || r.ticket_id;
			RETURN NEXT;
		END LOOP;
	END LOOP;
END
$$;
COMMENT ON FUNCTION repairsys.plan_day(bigint, date) IS 'Day plan of a center (DESIGN 15): per active technician (by id) the ordered visits of the local day -- his booked visits at their slot_start and the center''s unbooked tickets he can serve inside the longest free stretch of his shifts, within his free capacity, booked visits first -- by route_solve over haversine distances at travel_speed_kmh: technician_id, seq, ticket_id, arrive_at, start_at, depart_at, travel_km (from the previous stop); a booked visit the route cannot keep has seq NULL; unknown center or bad day: 22023';

CREATE FUNCTION repairsys.commit_plan(service_center_id bigint, day date)
RETURNS integer
LANGUAGE plpgsql VOLATILE
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
DECLARE
	r record;
	n integer := 0;
BEGIN
	-- (book_visit and the appointment's trigger: the technician's row lock and
	-- the check that he is free, as for any booking; one refused: 23514 and
	-- nothing of the plan is booked)
	FOR r IN SELECT p.* FROM repairsys.plan_day(commit_plan.service_center_id, commit_plan.day) p
	          WHERE p.seq IS NOT NULL
	            AND NOT EXISTS (SELECT 1 FROM repairsys.appointment a WHERE a.ticket_id = p.ticket_id AND a.state = 'booked')
	          ORDER BY p.technician_id, p.seq
	LOOP
		PERFORM repairsys.book_visit(r.ticket_id, r.start_at, r.technician_id);
		n := n + 1;
	END LOOP;
	RETURN n;
END
$$;
COMMENT ON FUNCTION repairsys.commit_plan(bigint, date) IS 'Books the unbooked visits of plan_day() through book_visit() (their technician assigned, the same locks and checks as any booking); returns how many; a visit no longer free: 23514 and nothing booked';

-- sla_status with the visit and the arrival, check_invariants() with the invariants of time
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


-- the triggers on repairsys.ticket of dispatch (src/sql/80_ticket_triggers.sql)
CREATE TRIGGER ticket_36_arrival BEFORE INSERT ON repairsys.ticket
	FOR EACH ROW WHEN (NEW.arrived_at IS NOT NULL)
	EXECUTE FUNCTION repairsys.ticket_arrival_trg();
CREATE TRIGGER ticket_36_arrival_update BEFORE UPDATE OF arrived_at ON repairsys.ticket
	FOR EACH ROW WHEN (NEW.arrived_at IS DISTINCT FROM OLD.arrived_at)
	EXECUTE FUNCTION repairsys.ticket_arrival_trg();
CREATE TRIGGER ticket_57_visit_follow AFTER UPDATE OF technician_id ON repairsys.ticket
	FOR EACH ROW WHEN (NEW.technician_id IS NOT NULL AND NEW.technician_id IS DISTINCT FROM OLD.technician_id)
	EXECUTE FUNCTION repairsys.ticket_visit_trg();
CREATE TRIGGER ticket_58_visit_done AFTER UPDATE OF arrived_at ON repairsys.ticket
	FOR EACH ROW WHEN (NEW.arrived_at IS NOT NULL AND OLD.arrived_at IS NULL)
	EXECUTE FUNCTION repairsys.ticket_visit_trg();

------------------------------------------------------------------------------
-- 3d. The durable event log, escalations, jobs and notifications (issue 20)
------------------------------------------------------------------------------
-- (src/sql/24_tables_events.sql)
------------------------------------------------------------------------------
-- Tables of the durable event log, its consumers and the SLA escalation
-- ladder (DESIGN.md section 16, docs/events.md; functions and triggers in
-- 75_events.sql).
------------------------------------------------------------------------------

-- The event log (outbox): one row per change an application may want to hear
-- about, written in the transaction of the change.  Append-only.  The key
-- (id, at) holds the column a monthly range partition on "at" needs; ids
-- come from repairsys.next_event_id() (src/events.c), which orders them by
-- the writing transaction, so read_events() can read below the horizon of
-- the transactions still running.
CREATE TABLE repairsys.event (
	id                bigint NOT NULL,
	at                timestamptz NOT NULL DEFAULT now(),
	kind              text NOT NULL CHECK (kind ~ '^[a-z][a-z0-9_]*$'),
	ticket_id         bigint,
	service_center_id bigint,
	payload           jsonb NOT NULL DEFAULT '{}' CHECK (pg_catalog.jsonb_typeof(payload) = 'object'),
	PRIMARY KEY (id, at)
);
COMMENT ON TABLE repairsys.event IS 'Durable event log (outbox): every change applications hear about, written in the changing transaction; append-only; read with read_events() / ack_events()';
COMMENT ON COLUMN repairsys.event.id IS 'Event id: increases with the writing transaction''s id (the total order of read_events); not dense';
COMMENT ON COLUMN repairsys.event.at IS 'When the change happened (transaction time); the partition key of a monthly range partition';
COMMENT ON COLUMN repairsys.event.kind IS 'What happened: ticket_opened, status_changed, technician_changed, estimate_approved, invoice_issued, payment_recorded, part_reserved, sla_warning, sla_breached, follow_up_due, ticket_stuck, estimate_revised, estimate_revision_approved, signed_off, appointment_booked, appointment_rescheduled, appointment_cancelled, appointment_checked_in, appointment_reminder, discount_requested, discount_approved, discount_rejected';
COMMENT ON COLUMN repairsys.event.ticket_id IS 'Ticket the event is about (row-level security follows the ticket''s)';
COMMENT ON COLUMN repairsys.event.service_center_id IS 'Service center of the ticket';
COMMENT ON COLUMN repairsys.event.payload IS 'Details of the event, a JSON object (docs/events.md lists the keys of each kind)';

-- The offset of this cluster's event ids (one row; see src/events.c).
CREATE TABLE repairsys.event_clock (
	system_identifier text PRIMARY KEY,
	xid_offset        bigint NOT NULL CHECK (xid_offset >= 0),
	computed_at       timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE repairsys.event_clock IS 'Offset added to transaction ids in event ids, computed once per cluster so that ids restored from another cluster stay below new ones (written by repairsys.next_event_id())';
COMMENT ON COLUMN repairsys.event_clock.system_identifier IS 'System identifier of the cluster the offset was computed for (pg_control_system())';
COMMENT ON COLUMN repairsys.event_clock.xid_offset IS 'Added to the transaction id (xid8) before it is shifted into an event id';
COMMENT ON COLUMN repairsys.event_clock.computed_at IS 'When the offset was computed';

-- Named consumers of the event log and how far each has acknowledged.
CREATE TABLE repairsys.event_consumer (
	name        text PRIMARY KEY CHECK (name ~ '^[A-Za-z0-9_.:-]{1,63}$'),
	role        name NOT NULL DEFAULT current_user,
	acked_up_to bigint NOT NULL DEFAULT 0 CHECK (acked_up_to >= 0),
	acked_at    timestamptz,
	created_at  timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE repairsys.event_consumer IS 'Named consumers of the event log: the cursor read_events() reads after, moved by ack_events() (forward only, never past the horizon: checked by trigger)';
COMMENT ON COLUMN repairsys.event_consumer.name IS 'Consumer name (letters, digits, _ . : -; at most 63)';
COMMENT ON COLUMN repairsys.event_consumer.role IS 'Role that owns the consumer (set by trigger to the role that created it); only it moves the cursor';
COMMENT ON COLUMN repairsys.event_consumer.acked_up_to IS 'Id of the last event acknowledged: read_events() returns only later ones';
COMMENT ON COLUMN repairsys.event_consumer.acked_at IS 'When the cursor last moved (set by trigger)';
COMMENT ON COLUMN repairsys.event_consumer.created_at IS 'When the consumer was created';

-- The SLA escalation ladder: what happens when a ticket has used at_pct
-- percent of its response or resolution business time.
CREATE TABLE repairsys.sla_escalation (
	level    integer PRIMARY KEY CHECK (level BETWEEN 1 AND 100),
	at_pct   numeric(6,2) NOT NULL UNIQUE CHECK (at_pct > 0 AND at_pct <= 1000),
	action   text NOT NULL CHECK (action IN ('notify', 'raise_urgency', 'reassign')),
	audience text NOT NULL DEFAULT 'technician' CHECK (audience IN ('technician', 'center')),
	dump     boolean NOT NULL DEFAULT true
);
COMMENT ON TABLE repairsys.sla_escalation IS 'SLA escalation ladder: at at_pct percent of a target an sla_warning (below 100) or sla_breached (100 and above) event is written once per ticket, target and level, and the action taken';
COMMENT ON COLUMN repairsys.sla_escalation.level IS 'Level number (seeded 1, 2, 3)';
COMMENT ON COLUMN repairsys.sla_escalation.at_pct IS 'Percent of the response or resolution business time used (seeded 50, 80, 100)';
COMMENT ON COLUMN repairsys.sla_escalation.action IS 'notify (the event only), raise_urgency (the ticket moves to the next urgency by urgency_rule.rank), reassign (the technician is taken off the ticket and it is assigned again)';
COMMENT ON COLUMN repairsys.sla_escalation.audience IS 'Who the event is addressed to: technician (of the ticket) or center (its service center''s managers)';
COMMENT ON COLUMN repairsys.sla_escalation.dump IS 'True for rows pg_dump must keep: user rows and seeded rows the user changed (kept by trigger)';
INSERT INTO repairsys.sla_escalation (level, at_pct, action, audience, dump) VALUES
	(1, 50, 'notify', 'technician', false),
	(2, 80, 'notify', 'center', false),
	(3, 100, 'notify', 'center', false);

-- Which levels have fired for which ticket and target (exactly once: the key).
CREATE TABLE repairsys.sla_escalation_fired (
	ticket_id  bigint NOT NULL REFERENCES repairsys.ticket,
	target     text NOT NULL CHECK (target IN ('response', 'resolution')),
	level      integer NOT NULL,
	at_pct     numeric(6,2) NOT NULL,
	reached_at timestamptz NOT NULL,
	fired_at   timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (ticket_id, target, level)
);
COMMENT ON TABLE repairsys.sla_escalation_fired IS 'Escalation levels fired per ticket and target (written by run_jobs(); the key makes each fire once)';
COMMENT ON COLUMN repairsys.sla_escalation_fired.ticket_id IS 'Ticket';
COMMENT ON COLUMN repairsys.sla_escalation_fired.target IS 'response or resolution';
COMMENT ON COLUMN repairsys.sla_escalation_fired.level IS 'Level of sla_escalation that fired';
COMMENT ON COLUMN repairsys.sla_escalation_fired.at_pct IS 'Its percentage when it fired';
COMMENT ON COLUMN repairsys.sla_escalation_fired.reached_at IS 'Instant the ticket reached that percentage of the target';
COMMENT ON COLUMN repairsys.sla_escalation_fired.fired_at IS 'When run_jobs() fired it';

-- Jobs already done once (follow-ups due, stuck tickets): the key makes
-- run_jobs() idempotent.
CREATE TABLE repairsys.job_done (
	job       text NOT NULL CHECK (job IN ('follow_up_due', 'ticket_stuck', 'appointment_reminder', 'churn_refit')),
	object_id bigint NOT NULL,
	since     timestamptz NOT NULL,
	done_at   timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (job, object_id, since)
);
COMMENT ON TABLE repairsys.job_done IS 'What run_jobs() has already reported once: a follow-up due (object: follow_up id), a ticket stuck in its state (object: ticket id, since: when it entered the state), a visit reminded (object: appointment id, since: its start), a churn refit (object 0, since: the start of its churn_refit_every interval)';
COMMENT ON COLUMN repairsys.job_done.job IS 'follow_up_due, ticket_stuck, appointment_reminder or churn_refit';
COMMENT ON COLUMN repairsys.job_done.object_id IS 'Follow-up, ticket or appointment id (0 for churn_refit)';
COMMENT ON COLUMN repairsys.job_done.since IS 'Due instant of the follow-up, when the ticket entered the state it is stuck in, the start of the visit, or the start of the refit''s interval';
COMMENT ON COLUMN repairsys.job_done.done_at IS 'When it was reported';

-- Customer notifications (主动告知维修进展): how each customer is told, the
-- editable texts, and the notifications run_jobs() renders from the events.
CREATE TABLE repairsys.customer_preference (
	customer_id bigint PRIMARY KEY REFERENCES repairsys.customer ON DELETE CASCADE,
	language    text CHECK (language IN ('en', 'zh-CN')),
	channel     text CHECK (channel IN ('sms', 'wechat', 'email')),
	wechat_id   text CHECK (wechat_id <> '')
);
COMMENT ON TABLE repairsys.customer_preference IS 'How a customer is told about their tickets: language and channel (a customer without a row, or a NULL language: the customer''s language, customer_language(); the first contact of wechat, phone, e-mail)';
COMMENT ON COLUMN repairsys.customer_preference.customer_id IS 'Customer';
COMMENT ON COLUMN repairsys.customer_preference.language IS 'Language of the notifications: en or zh-CN (NULL: the customer''s language, customer_language())';
COMMENT ON COLUMN repairsys.customer_preference.channel IS 'Preferred channel: sms (customer.phone), wechat (wechat_id) or email (customer.email); NULL or a channel without its contact: the first of wechat, sms, email that has one';
COMMENT ON COLUMN repairsys.customer_preference.wechat_id IS 'WeChat id (openid) of the customer';

CREATE TABLE repairsys.notification_template (
	kind     text NOT NULL CHECK (kind IN ('technician_assigned', 'ticket_resolved', 'bill_ready', 'payment_received', 'follow_up_survey',
	                            'technician_arrived', 'estimate_to_approve', 'visit_reminder')),
	language text NOT NULL CHECK (language IN ('en', 'zh-CN')),
	body     text NOT NULL CHECK (body <> ''),
	dump     boolean NOT NULL DEFAULT true,
	PRIMARY KEY (kind, language)
);
COMMENT ON TABLE repairsys.notification_template IS 'Texts of the customer notifications per kind and language, with {placeholders} checked when written (repairsys.notification_placeholders())';
COMMENT ON COLUMN repairsys.notification_template.kind IS 'technician_assigned, ticket_resolved, bill_ready, payment_received, follow_up_survey, technician_arrived, estimate_to_approve or visit_reminder';
COMMENT ON COLUMN repairsys.notification_template.language IS 'en or zh-CN';
COMMENT ON COLUMN repairsys.notification_template.body IS 'The text; {name} is replaced by the value of that placeholder';
COMMENT ON COLUMN repairsys.notification_template.dump IS 'True for rows pg_dump must keep: user rows and seeded rows the user changed (kept by trigger)';
INSERT INTO repairsys.notification_template (kind, language, body, dump) VALUES
	('technician_assigned', 'en', 'Dear {customer_name}, technician {technician_name} will take care of your repair (ticket {ticket_id}).', false),
	('technician_assigned', 'zh-CN', '尊敬的{customer_name}，维修工程师{technician_name}已受理您的工单 {ticket_id}。', false),
	('ticket_resolved', 'en', 'Dear {customer_name}, the repair of ticket {ticket_id} is done.', false),
	('ticket_resolved', 'zh-CN', '尊敬的{customer_name}，您的工单 {ticket_id} 已维修完成。', false),
	('bill_ready', 'en', 'Your bill {invoice_no} for ticket {ticket_id} is ready: {total} {currency}.', false),
	('bill_ready', 'zh-CN', '您的工单 {ticket_id} 账单 {invoice_no} 已生成：{total} {currency}。', false),
	('payment_received', 'en', 'We received your payment of {amount} {currency} for ticket {ticket_id}. Thank you.', false),
	('payment_received', 'zh-CN', '已收到您为工单 {ticket_id} 支付的 {amount} {currency}，谢谢。', false),
	('follow_up_survey', 'en', 'Dear {customer_name}, how was the repair of ticket {ticket_id}? We will call you shortly.', false),
	('follow_up_survey', 'zh-CN', '尊敬的{customer_name}，工单 {ticket_id} 的维修您满意吗？我们将很快回访。', false),
	('technician_arrived', 'en', 'Dear {customer_name}, technician {technician_name} has arrived for ticket {ticket_id}.', false),
	('technician_arrived', 'zh-CN', '尊敬的{customer_name}，维修工程师{technician_name}已到达，为您处理工单 {ticket_id}。', false),
	('estimate_to_approve', 'en', 'Dear {customer_name}, the estimate of ticket {ticket_id} was revised (revision {revision}: {low} to {high}). Please approve it before we go on.', false),
	('estimate_to_approve', 'zh-CN', '尊敬的{customer_name}，工单 {ticket_id} 的报价已更新（第 {revision} 版：{low} 至 {high}），请确认后我们继续维修。', false),
	('visit_reminder', 'en', 'Dear {customer_name}, technician {technician_name} is on the way and will visit you at {visit_time} (ticket {ticket_id}).', false),
	('visit_reminder', 'zh-CN', '尊敬的{customer_name}，维修工程师{technician_name}将于 {visit_time} 上门（工单 {ticket_id}），已在路上。', false);

CREATE TABLE repairsys.notification (
	event_id          bigint PRIMARY KEY,
	at                timestamptz NOT NULL,
	kind              text NOT NULL,
	ticket_id         bigint NOT NULL REFERENCES repairsys.ticket,
	customer_id       bigint NOT NULL REFERENCES repairsys.customer,
	service_center_id bigint,
	language          text NOT NULL,
	channel           text NOT NULL CHECK (channel IN ('sms', 'wechat', 'email')),
	recipient         text NOT NULL,
	text              text NOT NULL,
	created_at        timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE repairsys.notification IS 'Notifications a customer should get, one per event a customer hears about, rendered by run_jobs() from notification_template in the customer''s language';
COMMENT ON COLUMN repairsys.notification.event_id IS 'The event (repairsys.event.id) the notification tells of';
COMMENT ON COLUMN repairsys.notification.at IS 'When the event happened';
COMMENT ON COLUMN repairsys.notification.kind IS 'Template kind: technician_assigned, ticket_resolved, bill_ready, payment_received, follow_up_survey, technician_arrived, estimate_to_approve, visit_reminder';
COMMENT ON COLUMN repairsys.notification.ticket_id IS 'Ticket';
COMMENT ON COLUMN repairsys.notification.customer_id IS 'Customer told';
COMMENT ON COLUMN repairsys.notification.service_center_id IS 'Service center of the ticket';
COMMENT ON COLUMN repairsys.notification.language IS 'Language of the text';
COMMENT ON COLUMN repairsys.notification.channel IS 'sms, wechat or email';
COMMENT ON COLUMN repairsys.notification.recipient IS 'Phone number, WeChat id or e-mail address';
COMMENT ON COLUMN repairsys.notification.text IS 'The rendered text';
COMMENT ON COLUMN repairsys.notification.created_at IS 'When run_jobs() rendered it';
CREATE INDEX notification_customer_idx ON repairsys.notification (customer_id, event_id);

-- (src/sql/75_events.sql)
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


-- the trigger on repairsys.ticket of the event log (src/sql/80_ticket_triggers.sql)
CREATE TRIGGER ticket_91_event_estimate AFTER UPDATE OF estimate_approved_at ON repairsys.ticket
	FOR EACH ROW WHEN (NEW.estimate_approved_at IS NOT NULL AND NEW.estimate_approved_at IS DISTINCT FROM OLD.estimate_approved_at)
	EXECUTE FUNCTION repairsys.ticket_estimate_event_trg();

------------------------------------------------------------------------------
-- 3e. Consent over every price: estimate revisions, the approved ceiling, sign-off (issue 17)
------------------------------------------------------------------------------
-- (src/sql/22_tables_consent.sql)
------------------------------------------------------------------------------
-- Consent over every price (feature: consent, see 42_consent.sql and
-- docs/billing.md, "Consent over every price"): every estimate a customer was
-- shown, and which of them the customer approved.
------------------------------------------------------------------------------
-- A row is written by repairsys.approve_estimate() (revision 1, approved) and
-- repairsys.revise_estimate() (revision 2, 3, ...), or by a plain INSERT that
-- the table's triggers give the same rules (the figures are always computed
-- by repairsys, never taken from the caller); a revision is approved by
-- approve_estimate() or a plain UPDATE of approved_at, only while it is the
-- latest.  Revisions are never changed otherwise nor deleted (but by the
-- table owner: restore).
CREATE TABLE repairsys.estimate_revision (
	ticket_id        bigint NOT NULL REFERENCES repairsys.ticket ON DELETE CASCADE,
	revision         integer NOT NULL CHECK (revision >= 1),
	low              numeric(14,2) NOT NULL CHECK (low >= 0),
	high             numeric(14,2) NOT NULL,
	lines            jsonb NOT NULL CHECK (pg_catalog.jsonb_typeof(lines) = 'array'),
	reason           text NOT NULL CHECK (pg_catalog.btrim(reason) <> ''),
	expected_minutes numeric(10,2) CHECK (expected_minutes >= 0),
	created_at       timestamptz NOT NULL DEFAULT now(),
	created_by       name NOT NULL DEFAULT current_user,
	approved_at      timestamptz,
	approved_by      name,
	tolerance_pct    numeric(6,2) CHECK (tolerance_pct >= 0),
	PRIMARY KEY (ticket_id, revision),
	CHECK (high >= low),
	CHECK ((approved_at IS NULL) = (approved_by IS NULL) AND (approved_at IS NULL) = (tolerance_pct IS NULL)),
	CHECK (approved_at IS NULL OR approved_at >= created_at)
);
COMMENT ON TABLE repairsys.estimate_revision IS 'Every estimate a customer was shown (增项: revised when more work is found), with who made it and why, and who approved it; the latest approved revision''s high total is the ticket''s approved ceiling';
COMMENT ON COLUMN repairsys.estimate_revision.ticket_id IS 'Ticket';
COMMENT ON COLUMN repairsys.estimate_revision.revision IS 'Revision number, 1, 2, ... per ticket (set by repairsys)';
COMMENT ON COLUMN repairsys.estimate_revision.low IS 'Low total with tax (set by repairsys: revision 1 from estimate(), later ones from the work recorded)';
COMMENT ON COLUMN repairsys.estimate_revision.high IS 'High total with tax (set by repairsys): what the customer agrees to pay at most, with the tolerance';
COMMENT ON COLUMN repairsys.estimate_revision.lines IS 'The lines of the low and the high scenario as the customer was shown them: a JSON array of {scenario, line_no, kind, description, quantity, unit, unit_price, amount, tax_rate, tax_amount}';
COMMENT ON COLUMN repairsys.estimate_revision.reason IS 'Why the estimate was made or revised, for the customer';
COMMENT ON COLUMN repairsys.estimate_revision.expected_minutes IS 'Labor minutes the revision expects in all (NULL: revision 1, from the service type)';
COMMENT ON COLUMN repairsys.estimate_revision.created_at IS 'When the revision was made (shown to the customer)';
COMMENT ON COLUMN repairsys.estimate_revision.created_by IS 'Role that made the revision';
COMMENT ON COLUMN repairsys.estimate_revision.approved_at IS 'When the customer approved it (NULL: not approved)';
COMMENT ON COLUMN repairsys.estimate_revision.approved_by IS 'Role that recorded the approval';
COMMENT ON COLUMN repairsys.estimate_revision.tolerance_pct IS 'The estimate_tolerance_pct setting when it was approved: the bill may exceed high by this percent';
SELECT pg_catalog.pg_extension_config_dump('repairsys.estimate_revision', '');

-- Sign-off (签字确认): who accepted the work and the bill of a ticket, when,
-- the optional signature image, and the SHA-256 of the bill's canonical text
-- at that moment (repairsys.bill_canonical_text).  Written by
-- repairsys.sign_off() or a plain INSERT that the table's triggers give the
-- same rules (the hash and the total are always computed by repairsys);
-- append-only: a later sign-off (after a reopened ticket's bill changed) is a
-- new row, the latest one counts.
CREATE TABLE repairsys.ticket_sign_off (
	id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	ticket_id   bigint NOT NULL REFERENCES repairsys.ticket ON DELETE CASCADE,
	signed_by   text NOT NULL CHECK (pg_catalog.btrim(signed_by) <> '' AND pg_catalog.length(signed_by) <= 200),
	signature   bytea CHECK (pg_catalog.octet_length(signature) BETWEEN 1 AND 2097152),
	bill_sha256 bytea NOT NULL CHECK (pg_catalog.octet_length(bill_sha256) = 32),
	bill_total  numeric(14,2) NOT NULL,
	signed_at   timestamptz NOT NULL DEFAULT now(),
	recorded_by name NOT NULL DEFAULT current_user
);
COMMENT ON TABLE repairsys.ticket_sign_off IS 'Sign-offs (签字确认): who accepted the work and the bill of a ticket, with the SHA-256 of the bill''s canonical text at that moment; append-only, the latest per ticket counts';
COMMENT ON COLUMN repairsys.ticket_sign_off.id IS 'Sign-off id';
COMMENT ON COLUMN repairsys.ticket_sign_off.ticket_id IS 'Ticket';
COMMENT ON COLUMN repairsys.ticket_sign_off.signed_by IS 'Name of the person who signed, as written (1 to 200 characters)';
COMMENT ON COLUMN repairsys.ticket_sign_off.signature IS 'The signature image (e.g. PNG bytes from the technician''s tablet), at most 2 MiB; NULL: none';
COMMENT ON COLUMN repairsys.ticket_sign_off.bill_sha256 IS 'SHA-256 of repairsys.bill_canonical_text(ticket) when signed (set by repairsys)';
COMMENT ON COLUMN repairsys.ticket_sign_off.bill_total IS 'The bill total when signed (set by repairsys)';
COMMENT ON COLUMN repairsys.ticket_sign_off.signed_at IS 'When it was signed (set by repairsys: now)';
COMMENT ON COLUMN repairsys.ticket_sign_off.recorded_by IS 'Role that recorded it (set by repairsys: current_user)';
CREATE INDEX ticket_sign_off_ticket_idx ON repairsys.ticket_sign_off (ticket_id, id);
SELECT pg_catalog.pg_extension_config_dump('repairsys.ticket_sign_off', '');

-- ticket.estimate_approved_by, the price snapshot, approve_estimate, the canonical bill text, the ceiling, billing_audit, bill_html
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

-- (src/sql/42_consent.sql)
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


-- the triggers on repairsys.ticket of consent (src/sql/80_ticket_triggers.sql)
CREATE TRIGGER ticket_22_approved_ceiling BEFORE UPDATE ON repairsys.ticket
	FOR EACH ROW
	WHEN (NEW.status_role = 'resolved'
	      AND (NEW.status IS DISTINCT FROM OLD.status OR NEW.labor_minutes IS DISTINCT FROM OLD.labor_minutes
	           OR NEW.travel_km IS DISTINCT FROM OLD.travel_km)
	      AND NOT repairsys.is_table_owner('repairsys.ticket'::regclass))
	EXECUTE FUNCTION repairsys.ticket_approved_ceiling_trg();
CREATE TRIGGER ticket_23_sign_off_required BEFORE UPDATE OF status ON repairsys.ticket
	FOR EACH ROW
	WHEN (NEW.status_role = 'closed' AND OLD.status_role IS DISTINCT FROM 'closed'
	      AND NOT repairsys.is_table_owner('repairsys.ticket'::regclass))
	EXECUTE FUNCTION repairsys.ticket_sign_off_required_trg();
CREATE TRIGGER ticket_52_first_revision AFTER UPDATE OF estimate_approved_at ON repairsys.ticket
	FOR EACH ROW WHEN (OLD.estimate_approved_at IS NULL AND NEW.estimate_approved_at IS NOT NULL)
	EXECUTE FUNCTION repairsys.ticket_first_revision_trg();

------------------------------------------------------------------------------
-- 3f. Diagnosis suggestions and churn risk (issue 21 items 3, 4)
------------------------------------------------------------------------------
-- the fault_code catalog and ticket.fault_code (src/sql/20_tables.sql)
CREATE TABLE repairsys.fault_code (
	code         text PRIMARY KEY CHECK (code ~ '^[a-z0-9][a-z0-9_.-]*$'),
	name         text NOT NULL CHECK (name <> ''),
	service_type text REFERENCES repairsys.service_type ON UPDATE CASCADE ON DELETE SET NULL
);
COMMENT ON TABLE repairsys.fault_code IS 'Catalog of fault codes (故障代码): what a technician may record as found on a ticket (ticket.fault_code)';
COMMENT ON COLUMN repairsys.fault_code.code IS 'Fault code (lower case letters, digits, _ . -)';
COMMENT ON COLUMN repairsys.fault_code.name IS 'Name shown to people';
COMMENT ON COLUMN repairsys.fault_code.service_type IS 'Service type the fault belongs to (NULL: any); suggest_diagnosis(service_type => ...) offers only the codes of that type or of none';

ALTER TABLE repairsys.ticket ADD COLUMN fault_code text REFERENCES repairsys.fault_code ON UPDATE CASCADE;
COMMENT ON COLUMN repairsys.ticket.fault_code IS 'Fault the technician found (fault_code catalog); a ticket resolved with one is learned by suggest_diagnosis()';

-- (src/sql/27_tables_models.sql)
-- Tables of the learned models (DESIGN.md section 18, docs/reports.md):
-- diagnosis suggestions (multinomial naive Bayes over character n-grams) and
-- churn risk (logistic regression).  The fault_code catalog is in
-- 20_tables.sql, before ticket, which references it.
--
-- The model tables are written only by the SECURITY DEFINER functions and
-- triggers of 73_models.sql (every role, the admin too, only reads them:
-- src/sql/90_security.sql), and are dumped whole, so a restored database
-- suggests what the dumped one did without learning anything again.

------------------------------------------------------------------------------
-- Diagnosis: the counts of naive Bayes, kept current by the trigger
------------------------------------------------------------------------------
CREATE TABLE repairsys.diagnosis_model (
	id         boolean PRIMARY KEY DEFAULT true CHECK (id),
	vocabulary bigint NOT NULL DEFAULT 0 CHECK (vocabulary >= 0),
	samples    bigint NOT NULL DEFAULT 0 CHECK (samples >= 0),
	changed_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE repairsys.diagnosis_model IS 'Diagnosis suggestions: the one row of model-wide counts (written by the learning trigger)';
COMMENT ON COLUMN repairsys.diagnosis_model.id IS 'Always true: the table has at most one row';
COMMENT ON COLUMN repairsys.diagnosis_model.vocabulary IS 'Distinct n-grams learned (V of the Laplace smoothing)';
COMMENT ON COLUMN repairsys.diagnosis_model.samples IS 'Tickets learned';
COMMENT ON COLUMN repairsys.diagnosis_model.changed_at IS 'When the model last learned or forgot a ticket';

CREATE TABLE repairsys.diagnosis_class (
	fault_code    text PRIMARY KEY REFERENCES repairsys.fault_code ON UPDATE CASCADE,
	docs          bigint NOT NULL DEFAULT 0 CHECK (docs >= 0),
	grams         bigint NOT NULL DEFAULT 0 CHECK (grams >= 0),
	minutes_sum   numeric(16,2) NOT NULL DEFAULT 0 CHECK (minutes_sum >= 0),
	minutes_count bigint NOT NULL DEFAULT 0 CHECK (minutes_count >= 0)
);
COMMENT ON TABLE repairsys.diagnosis_class IS 'Diagnosis suggestions: per fault code, the tickets and n-grams learned';
COMMENT ON COLUMN repairsys.diagnosis_class.fault_code IS 'Fault code (a class of the classifier)';
COMMENT ON COLUMN repairsys.diagnosis_class.docs IS 'Tickets learned with this fault code (its prior is docs / all tickets learned)';
COMMENT ON COLUMN repairsys.diagnosis_class.grams IS 'N-grams of these tickets'' descriptions, counted with repetition';
COMMENT ON COLUMN repairsys.diagnosis_class.minutes_sum IS 'Sum of the labor minutes of these tickets (those with labor recorded)';
COMMENT ON COLUMN repairsys.diagnosis_class.minutes_count IS 'Tickets counted in minutes_sum';

CREATE TABLE repairsys.diagnosis_gram (
	gram       text NOT NULL,
	fault_code text NOT NULL REFERENCES repairsys.diagnosis_class ON UPDATE CASCADE,
	count      bigint NOT NULL CHECK (count > 0),
	PRIMARY KEY (gram, fault_code)
);
COMMENT ON TABLE repairsys.diagnosis_gram IS 'Diagnosis suggestions: how often each n-gram occurs in the learned descriptions of each fault code';
COMMENT ON COLUMN repairsys.diagnosis_gram.gram IS 'N-gram of 1 to 3 characters of the normalized description (repairsys.diagnosis_grams)';
COMMENT ON COLUMN repairsys.diagnosis_gram.fault_code IS 'Fault code';
COMMENT ON COLUMN repairsys.diagnosis_gram.count IS 'Occurrences (rows reaching 0 are removed)';

CREATE TABLE repairsys.diagnosis_part (
	fault_code text NOT NULL REFERENCES repairsys.diagnosis_class ON UPDATE CASCADE,
	sku        text NOT NULL REFERENCES repairsys.part ON UPDATE CASCADE,
	tickets    bigint NOT NULL CHECK (tickets > 0),
	PRIMARY KEY (fault_code, sku)
);
COMMENT ON TABLE repairsys.diagnosis_part IS 'Diagnosis suggestions: the parts used on the learned tickets of each fault code';
COMMENT ON COLUMN repairsys.diagnosis_part.fault_code IS 'Fault code';
COMMENT ON COLUMN repairsys.diagnosis_part.sku IS 'Part used';
COMMENT ON COLUMN repairsys.diagnosis_part.tickets IS 'Learned tickets of the fault code on which the part was used';

-- What was learned from each ticket, so that it is forgotten exactly (the
-- counts of this row are subtracted) when the ticket's fault code,
-- description or labor changes afterwards, it is reopened, or deleted.
CREATE TABLE repairsys.diagnosis_sample (
	ticket_id     bigint PRIMARY KEY REFERENCES repairsys.ticket,
	fault_code    text NOT NULL REFERENCES repairsys.diagnosis_class ON UPDATE CASCADE,
	description   text NOT NULL,
	labor_minutes numeric(10,2),
	parts         text[] NOT NULL DEFAULT '{}',
	learned_at    timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE repairsys.diagnosis_sample IS 'Diagnosis suggestions: each learned ticket as it was learned (admin and auditor only: it holds customers'' descriptions)';
COMMENT ON COLUMN repairsys.diagnosis_sample.ticket_id IS 'Ticket learned';
COMMENT ON COLUMN repairsys.diagnosis_sample.fault_code IS 'Its fault code when learned';
COMMENT ON COLUMN repairsys.diagnosis_sample.description IS 'Its description when learned';
COMMENT ON COLUMN repairsys.diagnosis_sample.labor_minutes IS 'Its labor minutes when learned';
COMMENT ON COLUMN repairsys.diagnosis_sample.parts IS 'The distinct parts used on it when learned';
COMMENT ON COLUMN repairsys.diagnosis_sample.learned_at IS 'When it was learned';
CREATE INDEX diagnosis_sample_fault_code_idx ON repairsys.diagnosis_sample (fault_code);

------------------------------------------------------------------------------
-- Churn: the fitted logistic regression (refit_churn_model())
------------------------------------------------------------------------------
CREATE TABLE repairsys.churn_model (
	id             boolean PRIMARY KEY DEFAULT true CHECK (id),
	fitted_at      timestamptz NOT NULL,
	as_of          timestamptz NOT NULL,
	horizon        interval NOT NULL CHECK (horizon > interval '0'),
	features       text[] NOT NULL,
	means          float8[] NOT NULL,
	scales         float8[] NOT NULL,
	coefficients   float8[] NOT NULL,
	lambda         float8 NOT NULL CHECK (lambda >= 0),
	samples        integer NOT NULL CHECK (samples > 0),
	churned        integer NOT NULL CHECK (churned >= 0),
	iterations     integer NOT NULL CHECK (iterations >= 0),
	converged      boolean NOT NULL,
	log_likelihood float8 NOT NULL,
	CHECK (pg_catalog.array_length(means, 1) = pg_catalog.array_length(features, 1)
	       AND pg_catalog.array_length(scales, 1) = pg_catalog.array_length(features, 1)
	       AND pg_catalog.array_length(coefficients, 1) = pg_catalog.array_length(features, 1) + 1),
	CHECK (churned <= samples)
);
COMMENT ON TABLE repairsys.churn_model IS 'Churn risk: the one fitted logistic regression (written by refit_churn_model())';
COMMENT ON COLUMN repairsys.churn_model.id IS 'Always true: the table has at most one row';
COMMENT ON COLUMN repairsys.churn_model.fitted_at IS 'When the model was fitted';
COMMENT ON COLUMN repairsys.churn_model.as_of IS 'End of the history the model learned from: features as of as_of - horizon, labels from the horizon after';
COMMENT ON COLUMN repairsys.churn_model.horizon IS 'A customer churned who opened no ticket within this interval after the feature date';
COMMENT ON COLUMN repairsys.churn_model.features IS 'Names of the features, in the order of means, scales and coefficients[2:]';
COMMENT ON COLUMN repairsys.churn_model.means IS 'Mean of each feature over the training customers (a missing rating counts as this mean)';
COMMENT ON COLUMN repairsys.churn_model.scales IS 'Standard deviation of each feature (1 where it is 0): features are standardized before the fit';
COMMENT ON COLUMN repairsys.churn_model.coefficients IS 'Intercept, then one coefficient per standardized feature';
COMMENT ON COLUMN repairsys.churn_model.lambda IS 'L2 penalty of the fit (setting churn_l2)';
COMMENT ON COLUMN repairsys.churn_model.samples IS 'Customers the model learned from';
COMMENT ON COLUMN repairsys.churn_model.churned IS 'Of these, customers that churned';
COMMENT ON COLUMN repairsys.churn_model.iterations IS 'Newton iterations of the fit';
COMMENT ON COLUMN repairsys.churn_model.converged IS 'False when the fit stopped at its iteration limit';
COMMENT ON COLUMN repairsys.churn_model.log_likelihood IS 'Penalized log-likelihood of the fit on its customers';

-- (one call per statement: each call updates the pg_extension row)
SELECT pg_catalog.pg_extension_config_dump('repairsys.fault_code', '');
SELECT pg_catalog.pg_extension_config_dump('repairsys.diagnosis_model', '');
SELECT pg_catalog.pg_extension_config_dump('repairsys.diagnosis_class', '');
SELECT pg_catalog.pg_extension_config_dump('repairsys.diagnosis_gram', '');
SELECT pg_catalog.pg_extension_config_dump('repairsys.diagnosis_part', '');
SELECT pg_catalog.pg_extension_config_dump('repairsys.diagnosis_sample', '');
SELECT pg_catalog.pg_extension_config_dump('repairsys.churn_model', '');

-- (src/sql/68_churn_score.sql)
-- Churn risk, the scoring half (DESIGN.md section 18, docs/reports.md): the
-- features of a customer as of a time, and the probability the fitted model
-- (churn_model) gives them.  Here, before 70_reports.sql, because
-- customer_profile.churn_risk calls repairsys.churn_risk(); the fit,
-- refit_churn_model(), is in 73_models.sql with the diagnosis functions.

CREATE FUNCTION repairsys.logistic_predict(coefficients float8[], x float8[])
RETURNS float8
AS 'MODULE_PATHNAME', 'rs_logistic_predict' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION repairsys.logistic_predict(float8[], float8[]) IS 'Logistic regression: 1 / (1 + exp(-(coefficients[1] + sum coefficients[j+1] * x[j]))); the first coefficient is the intercept (22023 on a length mismatch, NULL or non-finite elements)';

-- The features of churn_model.features, in that order.  Over the customer's
-- tickets opened at or before as_of (cancelled ones left out); NULL when
-- there is none (no history: no risk is estimated).
CREATE FUNCTION repairsys.churn_features(customer_id bigint, as_of timestamptz)
RETURNS float8[]
LANGUAGE sql STABLE
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
	SELECT CASE WHEN count(*) = 0 THEN NULL ELSE ARRAY[
	       -- recency: days since the latest ticket was opened
	       extract(epoch FROM $2 - max(t.opened_at)) / 86400,
	       -- frequency: tickets opened within segment_frequent_window
	       count(*) FILTER (WHERE t.opened_at > $2 - repairsys.setting_value('segment_frequent_window')::interval),
	       -- average rating given (NULL: never rated)
	       avg(fb.rating) FILTER (WHERE fb.at <= $2),
	       -- complaints filed
	       count(*) FILTER (WHERE fb.complaint AND fb.at <= $2),
	       -- repeat repairs: same asset and service type within rework_window of a resolution
	       count(*) FILTER (WHERE EXISTS (
	            SELECT 1 FROM repairsys.ticket r
	             WHERE r.asset_id = t.asset_id AND r.service_type = t.service_type AND r.id <> t.id
	               AND r.resolved_at < t.opened_at
	               AND t.opened_at <= r.resolved_at + repairsys.setting_value('rework_window')::interval)),
	       -- unresolved at as_of
	       count(*) FILTER (WHERE t.resolved_at IS NULL OR t.resolved_at > $2)
	       ]::float8[] END
	  FROM repairsys.ticket t
	  LEFT JOIN repairsys.feedback fb ON fb.ticket_id = t.id
	 WHERE t.customer_id = $1 AND t.opened_at <= $2 AND t.status_role <> 'cancelled'
$$;
COMMENT ON FUNCTION repairsys.churn_features(bigint, timestamptz) IS 'Churn features of a customer as of a time: recency_days, tickets within segment_frequent_window, avg_rating (NULL: never rated), complaints, repeat repairs (within rework_window), unresolved tickets; NULL when the customer had no ticket by then';

CREATE FUNCTION repairsys.churn_risk(customer_id bigint, as_of timestamptz DEFAULT now())
RETURNS float8
LANGUAGE sql STABLE
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
	SELECT repairsys.logistic_predict(m.coefficients,
	           ARRAY(SELECT (coalesce(f.x[i], m.means[i]) - m.means[i]) / m.scales[i]
	                   FROM generate_subscripts(m.means, 1) i ORDER BY i))
	  FROM repairsys.churn_model m,
	       -- (OFFSET 0: the features are computed once, not once per use)
	       (SELECT repairsys.churn_features($1, $2) AS x OFFSET 0) f
	 WHERE f.x IS NOT NULL
$$;
COMMENT ON FUNCTION repairsys.churn_risk(bigint, timestamptz) IS 'Probability (0..1) the fitted churn model (refit_churn_model) gives that the customer opens no ticket within its horizon after as_of; NULL without a model or without history';

-- (src/sql/73_models.sql)
-- Learned models (DESIGN.md section 18, docs/reports.md): diagnosis
-- suggestions (辅助诊断) from resolved tickets, and the fit of the churn
-- model (客户流失风险) whose scoring is in 68_churn_score.sql.  The C is in
-- src/diagnosis.c and src/churn.c; the tables in 27_tables_models.sql.

INSERT INTO repairsys.setting (name, value, description, dump, type, min_value) VALUES
	('churn_horizon', '180 days', 'churn risk: a customer churned who opened no ticket within this interval; refit_churn_model() learns from the features as of now - churn_horizon', false, 'interval', NULL),
	('churn_l2', '1.0', 'churn risk: L2 penalty (lambda) of the logistic regression over standardized features', false, 'number', 0);

------------------------------------------------------------------------------
-- Diagnosis suggestions
------------------------------------------------------------------------------
CREATE FUNCTION repairsys.diagnosis_grams(description text)
RETURNS TABLE (gram text, n integer)
AS 'MODULE_PATHNAME', 'rs_diagnosis_grams' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION repairsys.diagnosis_grams(text) IS 'The character n-grams (1 to 3 characters) diagnosis suggestions read in a description, with their counts: ASCII, Latin-1 and full-width letters lower-cased, full-width digits made ASCII, cut at white space and punctuation; only the first 2,000 characters count';

CREATE FUNCTION repairsys.diagnosis_scores(description text, service_type text, k integer)
RETURNS TABLE (fault_code text, probability float8)
AS 'MODULE_PATHNAME', 'rs_diagnosis_scores' LANGUAGE C STABLE;
COMMENT ON FUNCTION repairsys.diagnosis_scores(text, text, integer) IS 'The kernel of suggest_diagnosis(): the k most probable fault codes by multinomial naive Bayes with Laplace smoothing over the learned counts (22023 on a NULL or empty description, k outside 1..100, an unknown service type)';

CREATE FUNCTION repairsys.suggest_diagnosis(description text, service_type text DEFAULT NULL, k integer DEFAULT 3)
RETURNS TABLE (fault_code text, name text, probability float8, typical_parts text[], typical_minutes numeric)
LANGUAGE sql STABLE
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
	SELECT s.fault_code, f.name, s.probability,
	       ARRAY(SELECT p.sku FROM repairsys.diagnosis_part p WHERE p.fault_code = s.fault_code
	              ORDER BY p.tickets DESC, p.sku COLLATE "C" LIMIT 3),
	       round(c.minutes_sum / nullif(c.minutes_count, 0), 2)
	  FROM repairsys.diagnosis_scores($1, $2, $3) s
	  JOIN repairsys.fault_code f ON f.code = s.fault_code
	  JOIN repairsys.diagnosis_class c ON c.fault_code = s.fault_code
	 ORDER BY s.probability DESC, s.fault_code COLLATE "C"
$$;
COMMENT ON FUNCTION repairsys.suggest_diagnosis(text, text, integer) IS 'The k most probable fault codes for a customer''s description (辅助诊断), learned from resolved tickets: probability (over all learned codes, or those of service_type), the up to 3 parts most often used and the mean labor minutes of the code''s learned tickets; empty before anything is learned';

-- Learns one ticket: adds its counts and records the sample.  Called with
-- the owner's rights (by the trigger and rebuild_diagnosis_model()); the
-- model row is locked first, so learners take turns and the vocabulary
-- count stays exact.
CREATE FUNCTION repairsys.diagnosis_learn(tk repairsys.ticket)
RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
DECLARE
	d     text := coalesce(tk.description, '');
	total bigint;
	fresh bigint;
	used  text[];
BEGIN
	INSERT INTO repairsys.diagnosis_model AS m (id, samples) VALUES (true, 1)
	ON CONFLICT (id) DO UPDATE SET samples = m.samples + 1, changed_at = pg_catalog.now();
	SELECT coalesce(sum(g.n), 0) INTO total FROM repairsys.diagnosis_grams(d) g;
	used := ARRAY(SELECT DISTINCT x.sku FROM repairsys.ticket_part x
	               WHERE x.ticket_id = tk.id AND x.state = 'used' ORDER BY 1);
	INSERT INTO repairsys.diagnosis_class AS c (fault_code, docs, grams, minutes_sum, minutes_count)
	VALUES (tk.fault_code, 1, total, coalesce(tk.labor_minutes, 0), CASE WHEN tk.labor_minutes IS NULL THEN 0 ELSE 1 END)
	ON CONFLICT (fault_code) DO UPDATE
	   SET docs = c.docs + 1, grams = c.grams + EXCLUDED.grams,
	       minutes_sum = c.minutes_sum + EXCLUDED.minutes_sum, minutes_count = c.minutes_count + EXCLUDED.minutes_count;
	SELECT count(*) INTO fresh FROM repairsys.diagnosis_grams(d) g
	 WHERE NOT EXISTS (SELECT 1 FROM repairsys.diagnosis_gram x WHERE x.gram = g.gram);
	INSERT INTO repairsys.diagnosis_gram AS x (gram, fault_code, count)
	SELECT g.gram, tk.fault_code, g.n FROM repairsys.diagnosis_grams(d) g
	ON CONFLICT (gram, fault_code) DO UPDATE SET count = x.count + EXCLUDED.count;
	UPDATE repairsys.diagnosis_model SET vocabulary = vocabulary + fresh;
	INSERT INTO repairsys.diagnosis_part AS p (fault_code, sku, tickets)
	SELECT tk.fault_code, u, 1 FROM pg_catalog.unnest(used) u
	ON CONFLICT (fault_code, sku) DO UPDATE SET tickets = p.tickets + 1;
	INSERT INTO repairsys.diagnosis_sample (ticket_id, fault_code, description, labor_minutes, parts)
	VALUES (tk.id, tk.fault_code, d, tk.labor_minutes, used);
END
$$;
COMMENT ON FUNCTION repairsys.diagnosis_learn(repairsys.ticket) IS 'Internal (learning trigger): adds a resolved ticket''s description, labor and parts to the diagnosis model';

-- Forgets one learned ticket: subtracts exactly what its sample added.
CREATE FUNCTION repairsys.diagnosis_forget(ticket_id bigint)
RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
DECLARE
	s     repairsys.diagnosis_sample;
	gone  text[];
BEGIN
	UPDATE repairsys.diagnosis_model SET samples = samples - 1, changed_at = pg_catalog.now();
	DELETE FROM repairsys.diagnosis_sample x WHERE x.ticket_id = diagnosis_forget.ticket_id RETURNING * INTO s;
	IF s.ticket_id IS NULL THEN
		RAISE EXCEPTION 'ticket % was not learned', diagnosis_forget.ticket_id USING ERRCODE = '22023';
	END IF;
	WITH g AS (SELECT * FROM repairsys.diagnosis_grams(s.description)),
	     d AS (DELETE FROM repairsys.diagnosis_gram x USING g
	            WHERE x.gram = g.gram AND x.fault_code = s.fault_code AND x.count <= g.n
	            RETURNING x.gram)
	SELECT coalesce(pg_catalog.array_agg(d.gram), '{}') INTO gone FROM d;
	UPDATE repairsys.diagnosis_gram x SET count = x.count - g.n
	  FROM repairsys.diagnosis_grams(s.description) g
	 WHERE x.gram = g.gram AND x.fault_code = s.fault_code;
	UPDATE repairsys.diagnosis_model SET vocabulary = vocabulary - (
		SELECT count(*) FROM pg_catalog.unnest(gone) u
		 WHERE NOT EXISTS (SELECT 1 FROM repairsys.diagnosis_gram x WHERE x.gram = u));
	UPDATE repairsys.diagnosis_class c
	   SET docs = c.docs - 1,
	       grams = c.grams - (SELECT coalesce(sum(g.n), 0) FROM repairsys.diagnosis_grams(s.description) g),
	       minutes_sum = c.minutes_sum - coalesce(s.labor_minutes, 0),
	       minutes_count = c.minutes_count - CASE WHEN s.labor_minutes IS NULL THEN 0 ELSE 1 END
	 WHERE c.fault_code = s.fault_code;
	DELETE FROM repairsys.diagnosis_part p WHERE p.fault_code = s.fault_code AND p.sku = ANY (s.parts) AND p.tickets = 1;
	UPDATE repairsys.diagnosis_part p SET tickets = p.tickets - 1 WHERE p.fault_code = s.fault_code AND p.sku = ANY (s.parts);
END
$$;
COMMENT ON FUNCTION repairsys.diagnosis_forget(bigint) IS 'Internal (learning trigger): subtracts what a learned ticket added to the diagnosis model (22023 when it was not learned)';
REVOKE ALL ON FUNCTION repairsys.diagnosis_learn(repairsys.ticket) FROM PUBLIC;
REVOKE ALL ON FUNCTION repairsys.diagnosis_forget(bigint) FROM PUBLIC;

-- AFTER UPDATE / BEFORE DELETE on ticket: the model holds exactly the
-- tickets in a resolved- or closed-role state with a fault code, as they are
-- now.  A change of such a ticket's fault code, description or labor
-- forgets what was learned from it and learns it again; leaving those roles
-- (a reopen) or being deleted forgets it.  A ticket inserted already
-- resolved (restore, migration) is not learned: a restore brings the model
-- with its dump; after a migration, rebuild_diagnosis_model() learns them.
CREATE FUNCTION repairsys.ticket_diagnosis_trg()
RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
DECLARE
	s       repairsys.diagnosis_sample;
	want    boolean;
BEGIN
	IF TG_OP = 'DELETE' THEN
		IF EXISTS (SELECT 1 FROM repairsys.diagnosis_sample x WHERE x.ticket_id = OLD.id) THEN
			PERFORM repairsys.diagnosis_forget(OLD.id);
		END IF;
		RETURN OLD;
	END IF;
	want := NEW.status_role IN ('resolved', 'closed') AND NEW.fault_code IS NOT NULL;
	SELECT * INTO s FROM repairsys.diagnosis_sample x WHERE x.ticket_id = NEW.id;
	IF s.ticket_id IS NOT NULL THEN
		IF want AND s.fault_code = NEW.fault_code AND s.description = coalesce(NEW.description, '')
		   AND s.labor_minutes IS NOT DISTINCT FROM NEW.labor_minutes THEN
			RETURN NULL;		-- learned as it is (resolved to closed, say)
		END IF;
		PERFORM repairsys.diagnosis_forget(NEW.id);
	END IF;
	IF want THEN
		PERFORM repairsys.diagnosis_learn(NEW);
	END IF;
	RETURN NULL;
END
$$;
COMMENT ON FUNCTION repairsys.ticket_diagnosis_trg() IS 'Trigger of ticket: learns a ticket with a fault code entering a resolved- or closed-role state into the diagnosis model, and corrects the model when its fault code, description or labor changes afterwards, it is reopened or deleted';

-- Learns every resolved or closed ticket with a fault code from scratch
-- (after a migration that inserted resolved tickets, or to check the counts),
-- set-based: each count is one GROUP BY over the samples, so the cost grows
-- with the tickets (learning them one by one in one transaction would update
-- the same class and model rows once per ticket, and each update walks the
-- row versions of the earlier ones).  The counts are exactly those the
-- learning trigger keeps (sql/models.sql compares them).
CREATE FUNCTION repairsys.rebuild_diagnosis_model()
RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
DECLARE
	n bigint;
BEGIN
	LOCK TABLE repairsys.diagnosis_model, repairsys.diagnosis_sample IN EXCLUSIVE MODE;
	DELETE FROM repairsys.diagnosis_sample;
	DELETE FROM repairsys.diagnosis_part;
	DELETE FROM repairsys.diagnosis_gram;
	DELETE FROM repairsys.diagnosis_class;
	DELETE FROM repairsys.diagnosis_model;
	-- the classes first (the samples, grams and parts refer to them)
	INSERT INTO repairsys.diagnosis_class (fault_code, docs, grams, minutes_sum, minutes_count)
	SELECT x.fault_code, pg_catalog.count(*), coalesce(pg_catalog.sum(g.total), 0),
	       pg_catalog.sum(coalesce(x.labor_minutes, 0)), pg_catalog.count(x.labor_minutes)
	  FROM repairsys.ticket x
	  LEFT JOIN LATERAL (SELECT pg_catalog.sum(d.n) AS total FROM repairsys.diagnosis_grams(coalesce(x.description, '')) d) g ON true
	 WHERE x.status_role IN ('resolved', 'closed') AND x.fault_code IS NOT NULL
	 GROUP BY x.fault_code;
	INSERT INTO repairsys.diagnosis_sample (ticket_id, fault_code, description, labor_minutes, parts)
	SELECT x.id, x.fault_code, coalesce(x.description, ''), x.labor_minutes,
	       ARRAY(SELECT DISTINCT p.sku FROM repairsys.ticket_part p WHERE p.ticket_id = x.id AND p.state = 'used' ORDER BY 1)
	  FROM repairsys.ticket x
	 WHERE x.status_role IN ('resolved', 'closed') AND x.fault_code IS NOT NULL;
	GET DIAGNOSTICS n = ROW_COUNT;
	INSERT INTO repairsys.diagnosis_gram (gram, fault_code, count)
	SELECT d.gram, s.fault_code, pg_catalog.sum(d.n)
	  FROM repairsys.diagnosis_sample s
	 CROSS JOIN LATERAL repairsys.diagnosis_grams(s.description) d
	 GROUP BY d.gram, s.fault_code;
	INSERT INTO repairsys.diagnosis_part (fault_code, sku, tickets)
	SELECT s.fault_code, u.sku, pg_catalog.count(*)
	  FROM repairsys.diagnosis_sample s
	 CROSS JOIN LATERAL pg_catalog.unnest(s.parts) AS u(sku)
	 GROUP BY s.fault_code, u.sku;
	IF n > 0 THEN
		INSERT INTO repairsys.diagnosis_model (id, samples, vocabulary)
		VALUES (true, n, (SELECT pg_catalog.count(DISTINCT g.gram) FROM repairsys.diagnosis_gram g));
	END IF;
	RETURN n;
END
$$;
COMMENT ON FUNCTION repairsys.rebuild_diagnosis_model() IS 'Forgets the diagnosis model and learns every resolved or closed ticket with a fault code again; returns how many (admin only)';

------------------------------------------------------------------------------
-- Churn risk: the fit
------------------------------------------------------------------------------
CREATE FUNCTION repairsys.logistic_fit(x float8[], y boolean[], lambda float8, max_iter integer DEFAULT 100, tolerance float8 DEFAULT 1e-9,
                                       OUT coefficients float8[], OUT iterations integer, OUT converged boolean, OUT log_likelihood float8)
RETURNS record
AS 'MODULE_PATHNAME', 'rs_logistic_fit' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION repairsys.logistic_fit(float8[], boolean[], float8, integer, float8) IS 'L2-regularized logistic regression by Newton''s method (IRLS) on an n x p matrix x (one row per sample) and labels y: intercept first in coefficients, then one per column (the intercept is not penalized); deterministic; 22023 on bad input';

CREATE FUNCTION repairsys.refit_churn_model(as_of timestamptz DEFAULT now(), horizon interval DEFAULT NULL)
RETURNS repairsys.churn_model
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
DECLARE
	h       interval := coalesce(horizon, repairsys.setting_value('churn_horizon')::interval);
	cutoff  timestamptz;
	lambda  float8 := repairsys.setting_value('churn_l2')::float8;
	names   constant text[] := ARRAY['recency_days', 'tickets', 'avg_rating', 'complaints', 'repeat_repairs', 'unresolved'];
	mu      float8[];
	sd      float8[];
	raw     float8[];
	x       float8[];
	y       boolean[];
	n       integer;
	pos     integer;
	fit     record;
	result  repairsys.churn_model;
BEGIN
	IF as_of IS NULL OR NOT pg_catalog.isfinite(as_of) THEN
		RAISE EXCEPTION 'as_of must be a finite time' USING ERRCODE = '22023';
	END IF;
	IF NOT h > interval '0' THEN
		RAISE EXCEPTION 'horizon must be a positive interval' USING ERRCODE = '22023', DETAIL = pg_catalog.format('horizon is %s.', h);
	END IF;
	cutoff := as_of - h;
	-- one row per customer with a ticket by the cutoff, in id order
	SELECT count(*), count(*) FILTER (WHERE z.churned), pg_catalog.array_agg(z.x ORDER BY z.id), pg_catalog.array_agg(z.churned ORDER BY z.id)
	  INTO n, pos, raw, y
	  FROM (SELECT c.id, f.x,
	               NOT EXISTS (SELECT 1 FROM repairsys.ticket t WHERE t.customer_id = c.id
	                              AND t.opened_at > cutoff AND t.opened_at <= as_of) AS churned
	          FROM repairsys.customer c
	         CROSS JOIN LATERAL (SELECT repairsys.churn_features(c.id, cutoff) AS x OFFSET 0) f
	         WHERE f.x IS NOT NULL) z;
	IF n < 10 OR pos = 0 OR pos = n THEN
		RAISE EXCEPTION 'not enough history to fit the churn model'
			USING ERRCODE = '22023',
			      DETAIL = pg_catalog.format('%s customers had a ticket by %s, %s of them churned; the fit needs at least 10, some churned and some not.', n, cutoff, pos),
			      HINT = 'Give a later as_of or a shorter horizon.';
	END IF;
	-- standardized: (x - mean) / standard deviation; a missing rating is the mean
	SELECT pg_catalog.array_agg(coalesce(a.m, 0) ORDER BY a.i), pg_catalog.array_agg(CASE WHEN coalesce(a.s, 0) > 0 THEN a.s ELSE 1 END ORDER BY a.i)
	  INTO mu, sd
	  FROM (SELECT i, avg(raw[r][i]) AS m, stddev_pop(raw[r][i]) AS s
	          FROM pg_catalog.generate_subscripts(raw, 1) r CROSS JOIN pg_catalog.generate_series(1, pg_catalog.array_length(names, 1)) i
	         GROUP BY i) a;
	SELECT pg_catalog.array_agg(ARRAY(SELECT (coalesce(raw[r][i], mu[i]) - mu[i]) / sd[i]
	                                    FROM pg_catalog.generate_series(1, pg_catalog.array_length(names, 1)) i ORDER BY i) ORDER BY r)
	  INTO x
	  FROM pg_catalog.generate_subscripts(raw, 1) r;
	SELECT * INTO fit FROM repairsys.logistic_fit(x, y, lambda, 100, 1e-9);
	INSERT INTO repairsys.churn_model AS m (id, fitted_at, as_of, horizon, features, means, scales, coefficients, lambda,
	                                       samples, churned, iterations, converged, log_likelihood)
	VALUES (true, pg_catalog.now(), as_of, h, names, mu, sd, fit.coefficients, lambda, n, pos, fit.iterations, fit.converged, fit.log_likelihood)
	ON CONFLICT (id) DO UPDATE SET fitted_at = EXCLUDED.fitted_at, as_of = EXCLUDED.as_of, horizon = EXCLUDED.horizon,
	       features = EXCLUDED.features, means = EXCLUDED.means, scales = EXCLUDED.scales, coefficients = EXCLUDED.coefficients,
	       lambda = EXCLUDED.lambda, samples = EXCLUDED.samples, churned = EXCLUDED.churned, iterations = EXCLUDED.iterations,
	       converged = EXCLUDED.converged, log_likelihood = EXCLUDED.log_likelihood
	RETURNING * INTO result;
	RETURN result;
END
$$;
COMMENT ON FUNCTION repairsys.refit_churn_model(timestamptz, interval) IS 'Fits the churn model on the customers'' own history and stores it in churn_model: features as of as_of - horizon (default setting churn_horizon) of every customer with a ticket by then, labelled churned when they opened no ticket in the horizon after; standardized, L2 penalty churn_l2 (admin only; 22023 with fewer than 10 such customers or only one label)';

-- (the triggers on repairsys.ticket that run it, with their order:
-- 80_ticket_triggers.sql)

-- customer_profile with churn_risk at its end (src/sql/70_reports.sql)
CREATE OR REPLACE VIEW repairsys.customer_profile WITH (security_invoker = true) AS
SELECT c.id AS customer_id,
       c.name,
       c.phone,
       c.service_center_id,
       coalesce(a.assets, 0)::integer AS assets,
       coalesce(a.purchase_total, 0)::numeric(14,2) AS purchase_total,
       coalesce(k.tickets, 0)::integer AS tickets,
       coalesce(k.repairs, 0)::integer AS repairs,
       coalesce(p.total_spent, 0)::numeric(14,2) AS total_spent,
       round(k.avg_rating, 2) AS avg_rating,
       coalesce(k.complaints, 0)::integer AS complaints,
       k.last_ticket_at,
       CASE WHEN k.recent_complaints > 0
                 OR k.avg_rating < repairsys.setting_value('segment_at_risk_rating')::numeric THEN 'at_risk'
            WHEN coalesce(a.purchase_total, 0) + coalesce(p.total_spent, 0)
                 >= repairsys.setting_value('segment_high_value_total')::numeric THEN 'high_value'
            WHEN coalesce(k.recent_tickets, 0) >= repairsys.setting_value('segment_frequent_repairs')::integer THEN 'frequent_repair'
            ELSE 'regular' END AS segment,
       round(repairsys.churn_risk(c.id, now())::numeric, 4) AS churn_risk
  FROM repairsys.customer c
  LEFT JOIN LATERAL (
	SELECT count(*) AS assets, sum(x.purchase_price) AS purchase_total
	  FROM repairsys.asset x WHERE x.customer_id = c.id
  ) a ON true
  LEFT JOIN LATERAL (
	SELECT count(*) AS tickets,
	       count(*) FILTER (WHERE t.resolved_at IS NOT NULL) AS repairs,
	       avg(fb.rating) AS avg_rating,
	       count(*) FILTER (WHERE fb.complaint) AS complaints,
	       count(*) FILTER (WHERE fb.complaint AND fb.at >= now() - repairsys.setting_value('segment_at_risk_window')::interval) AS recent_complaints,
	       count(*) FILTER (WHERE t.opened_at >= now() - repairsys.setting_value('segment_frequent_window')::interval) AS recent_tickets,
	       max(t.opened_at) AS last_ticket_at
	  FROM repairsys.ticket t
	  LEFT JOIN repairsys.feedback fb ON fb.ticket_id = t.id
	 WHERE t.customer_id = c.id AND t.status_role <> 'cancelled'
  ) k ON true
  LEFT JOIN LATERAL (
	SELECT sum(pm.amount) AS total_spent
	  FROM repairsys.ticket t
	  JOIN repairsys.invoice i ON i.ticket_id = t.id
	  JOIN repairsys.payment pm ON pm.invoice_id = i.id
	 WHERE t.customer_id = c.id
  ) p ON true;
COMMENT ON COLUMN repairsys.customer_profile.churn_risk IS 'Probability (0..1, 4 places) that the customer opens no ticket within the churn model''s horizon, from the logistic regression refit_churn_model() fitted on the customers'' history (NULL: no model yet, or no ticket)';


-- the triggers on repairsys.ticket of the diagnosis model (src/sql/80_ticket_triggers.sql)
CREATE TRIGGER ticket_75_diagnosis AFTER UPDATE ON repairsys.ticket
	FOR EACH ROW WHEN ((NEW.fault_code IS NOT NULL OR OLD.fault_code IS NOT NULL)
	                   AND (NEW.status_role IS DISTINCT FROM OLD.status_role OR NEW.fault_code IS DISTINCT FROM OLD.fault_code
	                        OR NEW.description IS DISTINCT FROM OLD.description OR NEW.labor_minutes IS DISTINCT FROM OLD.labor_minutes))
	EXECUTE FUNCTION repairsys.ticket_diagnosis_trg();
CREATE TRIGGER ticket_75_diagnosis_delete BEFORE DELETE ON repairsys.ticket
	FOR EACH ROW EXECUTE FUNCTION repairsys.ticket_diagnosis_trg();

------------------------------------------------------------------------------
-- 3g. Languages: the language setting, customer.language, bills in the customer's language (issue 17 item 5)
------------------------------------------------------------------------------
-- 20_tables.sql: the language a customer reads (NULL: the setting)
ALTER TABLE repairsys.customer ADD COLUMN language text CHECK (language IN ('en', 'zh-CN'));
COMMENT ON COLUMN repairsys.customer.language IS 'Language of what this customer reads (bill_detail, bill_html, notifications unless customer_preference.language says otherwise): en or zh-CN; NULL: the setting language';

-- (src/sql/39_language.sql)
-- Languages of what a customer reads (docs/billing.md, "Languages"): the
-- setting language (en, zh-CN) and customer.language, which overrides it.
-- The bill's lines are computed and frozen in one canonical wording
-- (English: invoice_line, the text a sign-off hashes), so that a customer
-- changing language never changes a signed or issued bill; bill_detail and
-- bill_html word each line in the reader's language when they show it.  The
-- amounts are the same numbers in every language: only words change.

INSERT INTO repairsys.setting (name, value, description, dump, type, min_value, choices) VALUES
	('language', 'en', 'Language of what customers read (bills) and of the centers'' reports, unless customer.language or service_center.language says otherwise: en or zh-CN', false, 'choice', NULL,
	 ARRAY['en', 'zh-CN']);

-- The language a customer reads: customer.language, else the setting.
CREATE FUNCTION repairsys.customer_language(customer_id bigint)
RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = repairsys, pg_catalog, pg_temp
BEGIN ATOMIC
	SELECT coalesce((SELECT c.language FROM repairsys.customer c WHERE c.id = customer_language.customer_id),
	                (SELECT s.value FROM repairsys.setting s WHERE s.name = 'language'), 'en');
END;
COMMENT ON FUNCTION repairsys.customer_language(bigint) IS 'The language a customer reads: customer.language, else the setting language, else en';

-- A bill line's description (the canonical English wording of compute_bill
-- and schedule_lines) in a language.  Each wording compute_bill produces has
-- its pattern here, tried in order; a text no pattern knows (a line of an
-- older invoice) is shown as it is.  Numbers, names and SKUs are kept.
CREATE FUNCTION repairsys.bill_line_text(language text, description text)
RETURNS text
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
DECLARE
	r record;
BEGIN
	IF language IS DISTINCT FROM 'zh-CN' OR description IS NULL THEN
		RETURN description;
	END IF;
	FOR r IN SELECT v.p, v.s FROM (VALUES
			(1, '^Call-out fee$', '上门费'),
			(2, '^Labor: base fee$', '人工费：基本费'),
			(3, '^Travel: base fee$', '路程费：基本费'),
			(4, '^Labor: ([^ ]+) ([^ ]+) in the tier ([^ ]+) [^ ]+, at ([^ ]+) per [^ ]+$', '人工费：\3 \2 档 \1 \2，单价 \4/\2'),
			(5, '^Travel: ([^ ]+) ([^ ]+) in the tier ([^ ]+) [^ ]+, at ([^ ]+) per [^ ]+$', '路程费：\3 \2 档 \1 \2，单价 \4/\2'),
			(6, '^Labor: raised to the minimum charge of the schedule$', '人工费：按最低收费补足'),
			(7, '^Travel: raised to the minimum charge of the schedule$', '路程费：按最低收费补足'),
			(8, '^Labor: lowered to the maximum charge of the schedule$', '人工费：按最高收费封顶'),
			(9, '^Travel: lowered to the maximum charge of the schedule$', '路程费：按最高收费封顶'),
			(10, '^Complexity level ([^ ]+): labor x ([^ ]+)$', '复杂度 \1 级：人工费 x \2'),
			(11, '^Urgency "(.*)": ([^ ]+)% of labor$', '加急费（\1）：人工费的 \2%'),
			(12, '^Product warranty covers part (.*) \(([^()]*)\)$', '保修减免：配件 \1（\2）'),
			(13, '^Product warranty \(until ([^)]*)\) covers labor, complexity and urgency surcharge$', '保修减免（保修至 \1）：人工费、复杂度费与加急费'),
			(14, '^Product warranty covers the call-out fee$', '保修减免：上门费'),
			(15, '^Product warranty covers travel$', '保修减免：路程费'),
			(16, '^Part (.*) \(([^()]*)\)$', '配件 \1（\2）'),
			(17, '^Repeat repair within (.*) of ticket ([0-9]+): labor is free$', '返修（工单 \2 后 \1 内）：免人工费'),
			(18, '^Discount: (.*) \(on parts\)$', '折扣：\1（配件部分）'),
			(19, '^Discount: (.*)$', '折扣：\1')) AS v(o, p, s)
	               ORDER BY v.o
	LOOP
		IF description ~ r.p THEN
			RETURN regexp_replace(description, r.p, r.s);
		END IF;
	END LOOP;
	RETURN description;
END
$$;
COMMENT ON FUNCTION repairsys.bill_line_text(text, text) IS 'A bill line''s description in a language (en: as computed; zh-CN: translated, numbers, names and SKUs kept; an unknown wording unchanged)';

-- The texts of bill_html in its two languages.
CREATE FUNCTION repairsys.bill_label(language text, key text)
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = repairsys, pg_catalog, pg_temp
BEGIN ATOMIC
	SELECT CASE WHEN language = 'zh-CN' THEN v.zh ELSE v.en END
	  FROM (VALUES
		('title', 'Bill for ticket %s', '工单 %s 的维修账单'),
		('customer', 'Customer', '客户'),
		('service', 'Service', '服务'),
		('status', 'Status', '状态'),
		('invoice', 'Invoice', '发票'),
		('not_invoiced', 'Not invoiced yet.', '尚未开票。'),
		('no_estimate', 'No estimate was approved (warranty work needs none).', '未审批预估费用（保修服务无需预估）。'),
		('revised', 'Revised estimate %s approved on %s (%s): between <b>%s</b> and <b>%s</b> %s, tax included.', '第 %s 版修订预估于 %s 审批（%s）：<b>%s</b> 至 <b>%s</b> %s，含税。'),
		('estimate', 'Estimate approved on %s: between <b>%s</b> and <b>%s</b> %s, tax included.', '预估费用于 %s 审批：<b>%s</b> 至 <b>%s</b> %s，含税。'),
		('lines', 'Lines', '费用明细'),
		('what', 'What', '项目'),
		('quantity', 'Quantity', '数量'),
		('unit', 'Unit', '单位'),
		('unit_price', 'Unit price', '单价'),
		('amount', 'Amount', '金额'),
		('tax_rate', 'Tax rate', '税率'),
		('tax', 'Tax', '税额'),
		('no_charge', 'No charge so far.', '暂无费用。'),
		('labor', 'Labor', '人工费'),
		('parts', 'Parts', '配件'),
		('travel', 'Travel', '路程费'),
		('surcharges', 'Call-out and surcharges', '上门费与加急费'),
		('coverage', 'Warranty and repeat-repair coverage', '保修减免与返修减免'),
		('discounts', 'Discounts', '折扣'),
		('subtotal', 'Subtotal', '小计'),
		('total', 'Total', '合计'),
		('payments', 'Payments', '付款记录'),
		('when', 'When', '时间'),
		('method', 'Method', '方式'),
		('none_yet', 'None yet.', '暂无。'),
		('balance', 'Balance due', '待付余额')
	  ) AS v(k, en, zh)
	 WHERE v.k = key;
END;
COMMENT ON FUNCTION repairsys.bill_label(text, text) IS 'A text of bill_html in the language (en, zh-CN)';

-- (the changed column, view and comments)
-- 40_billing.sql: bill_detail words each line in the customer's language
-- (bill_html, in the customer's language, is in section 3e above)
CREATE OR REPLACE VIEW repairsys.bill_detail AS
SELECT t.id AS ticket_id, b.line_no, b.kind,
       repairsys.bill_line_text(repairsys.customer_language(t.customer_id), b.description) AS description,
       b.quantity, b.unit, b.unit_price, b.amount, b.tax_rate, b.tax_amount
  FROM repairsys.ticket t
 CROSS JOIN LATERAL repairsys.bill_lines(t) b;
ALTER VIEW repairsys.bill_detail SET (security_invoker = true);
COMMENT ON COLUMN repairsys.bill_detail.description IS 'What the line charges for, in words a customer can check, in the customer''s language (customer_language)';

------------------------------------------------------------------------------
-- 3h. Events of estimate revisions, sign-off and visits; visit reminders and the churn refit (issue 20, round 2)
------------------------------------------------------------------------------
-- (src/sql/76_events_more.sql)
-- Events of the features merged after the event log (issue 20, DESIGN.md
-- section 16, docs/events.md): estimate revisions and their approval
-- (42_consent.sql), the customer's sign-off, and the visits
-- (52_dispatch.sql: booked, rescheduled, cancelled, checked in).  Each is
-- written in the changing transaction by an AFTER trigger of the table that
-- changes, exactly like the invoice and payment events of 75_events.sql, so
-- an application that writes the table directly gets its events too; rows
-- restored or migrated with a time of their own write none (is_import()).
-- None of these triggers is on repairsys.ticket: an ordinary status change
-- fires nothing of this piece.

------------------------------------------------------------------------------
-- Estimate revisions and sign-off
------------------------------------------------------------------------------
-- AFTER INSERT on estimate_revision: estimate_revised for a revision after
-- the first (revision 1 is the estimate approved before work, reported as
-- estimate_approved by the ticket); AFTER UPDATE of approved_at:
-- estimate_revision_approved.
CREATE FUNCTION repairsys.estimate_revision_event_trg()
RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
BEGIN
	IF TG_OP = 'INSERT' THEN
		IF NEW.revision = 1 OR repairsys.is_import(NEW.created_at, TG_RELID) THEN
			RETURN NULL;
		END IF;
		PERFORM repairsys.emit_event('estimate_revised', NEW.ticket_id,
			(SELECT t.service_center_id FROM repairsys.ticket t WHERE t.id = NEW.ticket_id),
			pg_catalog.jsonb_build_object('revision', NEW.revision, 'low', NEW.low, 'high', NEW.high,
			                              'reason', NEW.reason, 'created_by', NEW.created_by));
	ELSE
		PERFORM repairsys.emit_event('estimate_revision_approved', NEW.ticket_id,
			(SELECT t.service_center_id FROM repairsys.ticket t WHERE t.id = NEW.ticket_id),
			pg_catalog.jsonb_build_object('revision', NEW.revision, 'low', NEW.low, 'high', NEW.high,
			                              'approved_by', NEW.approved_by, 'tolerance_pct', NEW.tolerance_pct));
	END IF;
	RETURN NULL;
END
$$;
COMMENT ON FUNCTION repairsys.estimate_revision_event_trg() IS 'AFTER INSERT OR UPDATE trigger of estimate_revision: writes estimate_revised (a revision after the first; not for a restored or migrated row: is_import()) and estimate_revision_approved (approved_at set)';
CREATE TRIGGER estimate_revision_90_event AFTER INSERT ON repairsys.estimate_revision
	FOR EACH ROW EXECUTE FUNCTION repairsys.estimate_revision_event_trg();
CREATE TRIGGER estimate_revision_91_approved_event AFTER UPDATE OF approved_at ON repairsys.estimate_revision
	FOR EACH ROW WHEN (OLD.approved_at IS NULL AND NEW.approved_at IS NOT NULL)
	EXECUTE FUNCTION repairsys.estimate_revision_event_trg();

-- AFTER INSERT on ticket_sign_off: signed_off.
CREATE FUNCTION repairsys.ticket_sign_off_event_trg()
RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
BEGIN
	IF repairsys.is_import(NEW.signed_at, TG_RELID) THEN
		RETURN NULL;
	END IF;
	PERFORM repairsys.emit_event('signed_off', NEW.ticket_id,
		(SELECT t.service_center_id FROM repairsys.ticket t WHERE t.id = NEW.ticket_id),
		pg_catalog.jsonb_build_object('sign_off_id', NEW.id, 'signed_by', NEW.signed_by,
		                              'bill_total', NEW.bill_total, 'recorded_by', NEW.recorded_by));
	RETURN NULL;
END
$$;
COMMENT ON FUNCTION repairsys.ticket_sign_off_event_trg() IS 'AFTER INSERT trigger of ticket_sign_off: writes the signed_off event (not for a restored or migrated row: is_import())';
CREATE TRIGGER ticket_sign_off_90_event AFTER INSERT ON repairsys.ticket_sign_off
	FOR EACH ROW EXECUTE FUNCTION repairsys.ticket_sign_off_event_trg();

------------------------------------------------------------------------------
-- Visits
------------------------------------------------------------------------------
-- AFTER INSERT on appointment: appointment_booked, or appointment_rescheduled
-- for the visit that replaces another (reschedule_visit()); AFTER UPDATE of
-- state from booked: appointment_cancelled, or appointment_checked_in when
-- the arrival (check_in(), ticket.arrived_at) marks it done.  (A visit that
-- becomes "rescheduled" writes nothing itself: its successor's insert, in
-- the same transaction, reports both.)
CREATE FUNCTION repairsys.appointment_event_trg()
RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
DECLARE
	t    repairsys.ticket;
	kind text;
	info jsonb;
BEGIN
	SELECT * INTO t FROM repairsys.ticket x WHERE x.id = NEW.ticket_id;
	info := pg_catalog.jsonb_build_object('appointment_id', NEW.id, 'technician_id', NEW.technician_id,
	                                      'slot_start', NEW.slot_start, 'slot_end', NEW.slot_end);
	IF TG_OP = 'INSERT' THEN
		IF repairsys.is_import(NEW.booked_at, TG_RELID) THEN
			RETURN NULL;
		END IF;
		IF NEW.replaces IS NULL THEN
			kind := 'appointment_booked';
		ELSE
			kind := 'appointment_rescheduled';
			info := info || pg_catalog.jsonb_build_object('replaces', NEW.replaces, 'reason', NEW.reason,
				'previous_slot_start', (SELECT a.slot_start FROM repairsys.appointment a WHERE a.id = NEW.replaces));
		END IF;
	ELSIF NEW.state = 'cancelled' THEN
		kind := 'appointment_cancelled';
		info := info || pg_catalog.jsonb_build_object('reason', NEW.reason);
	ELSE
		kind := 'appointment_checked_in';
		info := info || pg_catalog.jsonb_build_object('arrived_at', t.arrived_at);
	END IF;
	PERFORM repairsys.emit_event(kind, NEW.ticket_id, t.service_center_id, info);
	RETURN NULL;
END
$$;
COMMENT ON FUNCTION repairsys.appointment_event_trg() IS 'AFTER INSERT OR UPDATE trigger of appointment: writes appointment_booked, appointment_rescheduled (a visit replacing another), appointment_cancelled and appointment_checked_in (the arrival marks the visit done); not for a restored or migrated row (is_import())';
CREATE TRIGGER appointment_90_event AFTER INSERT ON repairsys.appointment
	FOR EACH ROW EXECUTE FUNCTION repairsys.appointment_event_trg();
CREATE TRIGGER appointment_91_state_event AFTER UPDATE OF state ON repairsys.appointment
	FOR EACH ROW WHEN (OLD.state = 'booked' AND NEW.state IN ('cancelled', 'done'))
	EXECUTE FUNCTION repairsys.appointment_event_trg();

------------------------------------------------------------------------------
-- Jobs: visit reminders and the churn refit (run by run_jobs())
------------------------------------------------------------------------------
INSERT INTO repairsys.setting (name, value, description, dump, type, min_value) VALUES
	('appointment_reminder_lead', '2 hours', 'run_jobs(): a booked visit starting within this interval gets one appointment_reminder event (and its customer the visit_reminder notification)', false, 'interval', NULL),
	('churn_refit_every', '1 day', 'run_jobs(): refits the churn model (refit_churn_model()) at most once per this interval (days, hours or minutes; counted from 2000-01-01 UTC)', false, 'interval', NULL);

-- One appointment_reminder event per booked visit that starts within the
-- lead time after the instant (once per visit and start: a rescheduled
-- visit is a new row and is reminded again).  Returns how many.
CREATE FUNCTION repairsys.run_appointment_reminders(at timestamptz)
RETURNS integer
LANGUAGE plpgsql VOLATILE
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
DECLARE
	lead interval := repairsys.setting_value('appointment_reminder_lead')::interval;
	r    record;
	n    integer := 0;
BEGIN
	FOR r IN
		SELECT a.id, a.ticket_id, a.technician_id, a.slot_start, a.slot_end, t.service_center_id,
		       pg_catalog.to_char(a.slot_start AT TIME ZONE coalesce(c.time_zone, 'UTC'), 'YYYY-MM-DD HH24:MI') AS visit_time
		  FROM repairsys.appointment a
		  JOIN repairsys.ticket t ON t.id = a.ticket_id
		  LEFT JOIN repairsys.service_center c ON c.id = t.service_center_id
		 WHERE a.state = 'booked' AND a.slot_start > at AND a.slot_start <= at + lead
		 ORDER BY a.slot_start, a.id
	LOOP
		INSERT INTO repairsys.job_done (job, object_id, since, done_at) VALUES ('appointment_reminder', r.id, r.slot_start, at)
		ON CONFLICT DO NOTHING;
		IF FOUND THEN
			PERFORM repairsys.emit_event('appointment_reminder', r.ticket_id, r.service_center_id,
				pg_catalog.jsonb_build_object('appointment_id', r.id, 'technician_id', r.technician_id,
				                              'slot_start', r.slot_start, 'slot_end', r.slot_end, 'visit_time', r.visit_time));
			n := n + 1;
		END IF;
	END LOOP;
	RETURN n;
END
$$;
COMMENT ON FUNCTION repairsys.run_appointment_reminders(timestamptz) IS 'Writes one appointment_reminder event per booked visit starting within setting appointment_reminder_lead after the instant (once per visit); returns how many';

-- The churn model refitted as of the instant, at most once per interval of
-- setting churn_refit_every (the interval's bucket is the key in job_done).
-- Too little history to fit (22023 of refit_churn_model()) counts as the
-- bucket's try: 0 is returned and the next bucket tries again.
CREATE FUNCTION repairsys.run_churn_refit(at timestamptz)
RETURNS integer
LANGUAGE plpgsql VOLATILE
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
DECLARE
	every  interval := repairsys.setting_value('churn_refit_every')::interval;
	bucket timestamptz;
BEGIN
	IF NOT every > interval '0' OR pg_catalog.date_part('month', every) <> 0 OR pg_catalog.date_part('year', every) <> 0 THEN
		RAISE EXCEPTION 'invalid setting churn_refit_every "%"', every
			USING ERRCODE = '22023', HINT = 'A positive interval of days, hours or minutes.';
	END IF;
	bucket := pg_catalog.date_bin(every, at, timestamptz '2000-01-01 00:00+00');
	INSERT INTO repairsys.job_done (job, object_id, since, done_at) VALUES ('churn_refit', 0, bucket, at)
	ON CONFLICT DO NOTHING;
	IF NOT FOUND THEN
		RETURN 0;
	END IF;
	BEGIN
		PERFORM repairsys.refit_churn_model(at);
	EXCEPTION WHEN invalid_parameter_value THEN
		RETURN 0;
	END;
	RETURN 1;
END
$$;
COMMENT ON FUNCTION repairsys.run_churn_refit(timestamptz) IS 'Refits the churn model (refit_churn_model(at)) at most once per interval of setting churn_refit_every; returns 1 when it refitted, 0 otherwise (already done in this interval, or too little history)';

------------------------------------------------------------------------------
-- 3z. Functions that several parts of 1.2 changed, as the pieces have them
------------------------------------------------------------------------------

-- demo_load() as src/sql/70_reports.sql has it now (changed by the cost, events
-- and consent work of 1.2: one draw per ticket, revisions and sign-offs)
-- (demo_load(tickets, seed, months DEFAULT 1) replaces demo_load(tickets, seed): issue 22;
-- its set-based path, demo_load_bulk(), is in section 3i)
-- repairsys.demo_catalog(): the catalog rows every demo load shares (service
-- types demo_*, their SLA policies, parts DEMO-*), made when missing; returns
-- how many rows it wrote (0 when all were there).  demo_load() calls it
-- first.  Two loads that start side by side on a database without them
-- would both insert them, and the second would wait on the unique keys for
-- the first one's whole transaction: call it alone first, in a transaction
-- of its own (test/bench/scale.sh does, docs/reports.md "Demo data at
-- scale").
CREATE FUNCTION repairsys.demo_catalog()
RETURNS integer
LANGUAGE plpgsql VOLATILE
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
DECLARE
	n       integer;
	written integer := 0;
BEGIN
	INSERT INTO repairsys.service_type (code, name, required_skill, min_skill_level, labor_fee, travel_fee, callout_fee, est_minutes_low, est_minutes_high)
	VALUES ('demo_ac_repair', 'Air conditioner repair (demo)', 'hvac', 3, 'base=20, 0-60:2.00, 60-180:1.50, 180+:1.20, min=80', '0-10:0, 10+:2.50', 50.00, 45, 150),
	       ('demo_washer_repair', 'Washing machine repair (demo)', 'appliance', 2, '0-30:2.50, 30-90:2.00, 90+:1.60, min=60', '0-15:0, 15+:2.00', 30.00, 30, 90),
	       ('demo_tv_repair', 'Television repair (demo)', 'electronics', 3, '0-60:3.00, 60+:2.20', '0-15:0, 15+:2.00', 40.00, 40, 120),
	       ('demo_fridge_repair', 'Refrigerator repair (demo)', 'appliance', 3, 'base=30, 0-90:2.20, 90+:1.80', '0-10:0, 10+:2.20', 40.00, 60, 180),
	       ('demo_phone_screen', 'Phone screen replacement (demo)', 'electronics', 2, '0+:1.50, volume, min=30', NULL, 0.00, 20, 40)
	ON CONFLICT (code) DO NOTHING;
	GET DIAGNOSTICS n = ROW_COUNT;
	written := written + n;
	INSERT INTO repairsys.sla_policy (service_type, urgency, respond_within, resolve_within)
	SELECT s.code, u.urgency, u.respond::repairsys.sla_interval, u.resolve::repairsys.sla_interval
	  FROM pg_catalog.unnest(ARRAY['demo_ac_repair', 'demo_washer_repair', 'demo_tv_repair', 'demo_fridge_repair', 'demo_phone_screen']) AS s(code)
	 CROSS JOIN (VALUES ('normal', '4h in mon-sun 08:00-20:00 Asia/Shanghai', '36h in mon-sun 08:00-20:00 Asia/Shanghai'),
	                    ('urgent', '2h in mon-sun 08:00-20:00 Asia/Shanghai', '12h in mon-sun 08:00-20:00 Asia/Shanghai'),
	                    ('emergency', '1h', '8h')) AS u(urgency, respond, resolve)
	ON CONFLICT (service_type, urgency) DO NOTHING;
	GET DIAGNOSTICS n = ROW_COUNT;
	written := written + n;
	INSERT INTO repairsys.part (sku, name, unit_cost, unit_price, lead_time_days, min_stock)
	VALUES ('DEMO-CAP', 'Compressor capacitor (demo)', 12.00, 35.00, 5, 6),
	       ('DEMO-PUMP', 'Washer drain pump (demo)', 45.00, 120.00, 10, 3),
	       ('DEMO-BOARD', 'TV main board (demo)', 260.00, 680.00, 14, 2),
	       ('DEMO-SCREEN', 'Phone screen (demo)', 180.00, 420.00, 7, 4)
	ON CONFLICT (sku) DO NOTHING;
	GET DIAGNOSTICS n = ROW_COUNT;
	written := written + n;
	RETURN written;
END
$$;
COMMENT ON FUNCTION repairsys.demo_catalog() IS 'The catalog rows every demo load shares (service types demo_*, their SLA policies, parts DEMO-*), made when missing: returns the rows written; demo_load calls it first, loads run side by side call it alone before (docs/reports.md)';

DROP FUNCTION repairsys.demo_load(integer, integer);
CREATE FUNCTION repairsys.demo_load(tickets integer, seed integer, months integer DEFAULT 1)
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
	draw     float8;
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
	IF tickets > 100000000 THEN
		RAISE EXCEPTION 'cannot load more than 100000000 tickets at once' USING ERRCODE = '54000',
			DETAIL = pg_catalog.format('%s tickets were asked for.', tickets);
	END IF;
	IF months IS NULL OR months < 1 OR months > 600 THEN
		RAISE EXCEPTION 'number of months must be between 1 and 600' USING ERRCODE = '22023',
			DETAIL = pg_catalog.format('%s months were asked for.', coalesce(months::text, 'NULL'));
	END IF;
	IF seed IS NULL THEN
		RAISE EXCEPTION 'seed must not be null' USING ERRCODE = '22023';
	END IF;
	PERFORM pg_catalog.setseed(pg_catalog.sin(seed::float8));
	tag := 'D' || seed || '-' || (SELECT count(*) FROM repairsys.service_center);

	-- the catalog, shared by every load
	PERFORM repairsys.demo_catalog();
	IF tickets > 2000 OR months > 1 THEN
		RETURN repairsys.demo_load_bulk(tickets, seed, months, tag);
	END IF;

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
		-- a qualified technician with room (capacity), of the ticket's center when there is one;
		-- the draw is made once and the candidates are ordered by a hash of it and their
		-- place in techs, not by random() per row: that would hand the values out in the
		-- order the plan happens to read the rows in (it changes when autovacuum analyzes
		-- the tables), and the same seed would not always give the same data
		draw := pg_catalog.random();
		SELECT ts.technician_id INTO tech
		  FROM repairsys.technician_skill ts JOIN repairsys.technician te ON te.id = ts.technician_id
		 WHERE ts.technician_id = ANY (techs) AND ts.skill = st.required_skill AND ts.level >= st.min_skill_level
		   AND repairsys.open_ticket_count(ts.technician_id) < te.capacity
		 ORDER BY te.service_center_id IS DISTINCT FROM (SELECT x.service_center_id FROM repairsys.ticket x WHERE x.id = tid),
		          pg_catalog.md5(pg_catalog.array_position(techs, ts.technician_id) || '/' || draw), ts.technician_id
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
		IF (SELECT (SELECT b.total FROM repairsys.bill_total(x, x.labor_minutes, x.travel_km, true) b) > c.ceiling
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
COMMENT ON FUNCTION repairsys.demo_load(integer, integer, integer) IS 'Demo data generator: up to 2000 tickets over one month, 3 centers, 12 technicians, customers with assets, demo_* service types with SLA policies, stocked parts, and the given number of tickets moved through the life cycle with labor, estimate revisions, parts, sign-offs, feedback, invoices and payments; more tickets or months: a company sized for the volume with months months of history, written set-based (demo_load_bulk); reproducible for a seed (docs/reports.md)';

------------------------------------------------------------------------------
-- 3i. The scale generator: the set-based path of demo_load (issue 22)
------------------------------------------------------------------------------
-- (src/sql/70_reports.sql: demo_hash and demo_load_bulk)
-- A uniform number in [0, 1) from a seed, a number and a salt: the draws of
-- the set-based demo load, the same for the same arguments on every server
-- (no setseed() state, no order of rows).
CREATE FUNCTION repairsys.demo_hash(seed bigint, n bigint, salt integer)
RETURNS double precision
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN (pg_catalog.hashint8extended(n * 1024 + salt, seed) OPERATOR(pg_catalog.&) 2147483647)::double precision / 2147483648.0;
COMMENT ON FUNCTION repairsys.demo_hash(bigint, bigint, integer) IS 'Uniform draw in [0, 1) of the set-based demo load from (seed, n, salt): hashint8extended, reproducible';

-- The set-based path of demo_load (more than 2,000 tickets, or more than one
-- month of history): a company sized for the volume and its history written
-- as an import by the table owner (docs/reports.md, "Demo data at scale").
-- Every ticket is planned whole from hashes of (seed, ticket number): the
-- instants of its life (opened, assigned, estimate approved and work begun,
-- resolved, invoiced, paid and closed, or cancelled), cut at now() to give
-- its current state; then one statement per 50,000 tickets writes what the
-- rules would have written: the ticket in that state with its stamps, SLA
-- deadlines (sla_deadline in the center's calendar) and price snapshot, its
-- history (ticket_event), estimate revision 1, reserved or used part with its
-- issue in the stock ledger, the invoice and its lines (compute_bill's lines,
-- computed set-based from the same price schedules), the payment, the
-- feedback and the follow-up calls.  The rule triggers of these tables are
-- disabled for the transaction (ALTER TABLE ... DISABLE TRIGGER, which only
-- the owner may do and which locks the tables until commit): this function
-- writes what they would have written, and the derived rows they keep (stock,
-- technician_load) are written at the end from what was loaded.  Imports
-- write no event (is_import()): the event log starts after the history.
-- What the path does not make: repeat repairs (each asset's tickets are
-- further apart than rework_window), holds, reopenings, discounts, revised
-- estimates and sign-offs; the small path makes those.
-- (jit off: the planner's estimate of the large statement below makes it
-- compile and optimize it, which costs far more than it runs.)
CREATE FUNCTION repairsys.demo_load_bulk(tickets integer, seed integer, months integer, tag text)
RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = repairsys, pg_catalog, pg_temp
SET jit = off
SET work_mem = '256MB'
SET enable_nestloop = off
AS $$
DECLARE
	types    text[] := ARRAY['demo_ac_repair', 'demo_washer_repair', 'demo_tv_repair', 'demo_fridge_repair', 'demo_phone_screen'];
	models   text[] := ARRAY['Gree KFR-35', 'Haier XQG100', 'Hisense 65E7', 'Midea BCD-520', 'Huawei P60'];
	prices   numeric[] := ARRAY[3299.00, 2599.00, 4999.00, 5899.00, 4488.00];
	skus     text[] := ARRAY['DEMO-CAP', 'DEMO-PUMP', 'DEMO-BOARD', 'DEMO-SCREEN'];
	v_now    timestamptz := pg_catalog.now();
	v_start  timestamptz := pg_catalog.now() - pg_catalog.make_interval(months => months);
	v_end    timestamptz := pg_catalog.now() - interval '2 hours';
	v_tz     text := 'Asia/Shanghai';
	v_seed   bigint := seed;
	n_center integer;
	n_tech   integer;		-- per center
	n_cust   integer;
	n_asset  integer;
	v_centers bigint[];
	v_techs  bigint[];
	v_custs  bigint[];
	v_assets bigint[];
	v_days   date[];
	v_th     float8[];
	v_gap    float8;
	s_new    text;
	s_asg    text;
	s_act    text;
	s_res    text;
	s_clo    text;
	s_can    text;
	rate_l   numeric := pg_catalog.round(repairsys.setting_value('tax_rate_labor')::numeric, 4);
	rate_p   numeric := pg_catalog.round(repairsys.setting_value('tax_rate_parts')::numeric, 4);
	v_rework text := repairsys.setting_value('rework_window');
	v_rework_iv interval := repairsys.setting_value('rework_window')::interval;
	v_tol    numeric := repairsys.setting_value('estimate_tolerance_pct')::numeric;
	v_cur    text := repairsys.setting_value('currency');
	v_fu_days integer := repairsys.setting_value('follow_up_days')::integer;
	v_fu_cpl interval := repairsys.setting_value('complaint_follow_up_within')::interval;
	v_receipt_seq bigint[];
	v_replica boolean := false;
	trg      record;
	disabled text[] := '{}'::text[];
	lo       integer;
	batch    integer := 25000;
	hi       integer;
	j_lo     integer;
	j_hi     integer;
	k_lo     integer;
	k_hi     integer;
	v_a_lo   bigint;
	v_a_hi   bigint;
	v_c_lo   bigint;
	v_c_hi   bigint;
	v_t_lo   bigint;
	v_t_hi   bigint;
	v_rows   bigint;
	v_written bigint := 0;
BEGIN
	IF NOT repairsys.is_table_owner('repairsys.ticket'::regclass) THEN
		RAISE EXCEPTION 'only the owner of the repairsys tables may load more than 2000 tickets or more than one month'
			USING ERRCODE = '42501',
			      DETAIL = 'The set-based load writes as an import by the table owner (docs/reports.md).';
	END IF;
	s_new := (SELECT s.code FROM repairsys.ticket_status s WHERE s.role = 'initial');
	s_asg := repairsys.next_state(s_new, 'assigned');
	s_act := repairsys.next_state(s_asg, 'active');
	s_res := repairsys.next_state(s_act, 'resolved');
	s_clo := repairsys.next_state(s_res, 'closed');
	s_can := repairsys.next_state(s_new, 'cancelled');
	IF s_clo IS NULL OR s_can IS NULL THEN
		RAISE EXCEPTION 'the workflow has no path from the initial state through assigned, active and resolved to closed, and to cancelled'
			USING ERRCODE = '22023', DETAIL = 'The set-based demo load moves tickets along that path.';
	END IF;

	-- the size of the company: a center per 1,500 tickets a month, a
	-- technician per 150 tickets a month at each, a customer per 1.4 units;
	-- each unit's tickets are further apart than the rework window (with a
	-- margin for the seasons), so that none is a repeat repair
	n_center := greatest(3, ceil(tickets / (months * 1500.0)))::integer;
	n_tech := greatest(4, ceil(tickets / (months * 150.0 * n_center)))::integer;
	v_gap := 1.6 * (date_part('epoch', v_rework::interval) + 7 * 86400) / date_part('epoch', v_end - v_start);
	n_asset := greatest(14, ceil(tickets * greatest(0.47, least(1.0, v_gap))))::integer;
	n_cust := greatest(10, ceil(n_asset / 1.4))::integer;

	-- centers, technicians (every skill: any of them may take any demo type)
	-- and their stock rows, customers and their units
	v_centers := ARRAY(SELECT pg_catalog.nextval('repairsys.service_center_id_seq') FROM pg_catalog.generate_series(1, n_center) k ORDER BY k);
	INSERT INTO repairsys.service_center (id, name, lat, lon, time_zone) OVERRIDING SYSTEM VALUE
	SELECT v_centers[k], pg_catalog.format('%s center %s', tag, k),
	       pg_catalog.round((22 + 18 * repairsys.demo_hash(v_seed, k, 1))::numeric, 4),
	       pg_catalog.round((104 + 17 * repairsys.demo_hash(v_seed, k, 2))::numeric, 4), v_tz
	  FROM pg_catalog.generate_series(1, n_center) k;
	v_techs := ARRAY(SELECT pg_catalog.nextval('repairsys.technician_id_seq') FROM pg_catalog.generate_series(1, n_center * n_tech) k ORDER BY k);
	INSERT INTO repairsys.technician (id, name, service_center_id, lat, lon, capacity, hourly_cost) OVERRIDING SYSTEM VALUE
	SELECT v_techs[k], pg_catalog.format('%s tech %s', tag, k), c.id, c.lat, c.lon, 10,
	       60 + pg_catalog.floor(40 * repairsys.demo_hash(v_seed, k, 3))::integer
	  FROM pg_catalog.generate_series(1, n_center * n_tech) k
	  JOIN repairsys.service_center c ON c.id = v_centers[1 + (k - 1) / n_tech];
	INSERT INTO repairsys.technician_skill (technician_id, skill, level)
	SELECT v_techs[k], s.skill, 3 + pg_catalog.floor(3 * repairsys.demo_hash(v_seed, k, 3 + s.o::integer))::integer
	  FROM pg_catalog.generate_series(1, n_center * n_tech) k
	 CROSS JOIN pg_catalog.unnest(ARRAY['hvac', 'appliance', 'electronics']) WITH ORDINALITY AS s(skill, o);
	-- (as a superuser, from here on with session_replication_role = replica,
	-- see below: the customers' and units' roll-up rows too are written by
	-- the rebuild at the end, so that this transaction holds no lock on a
	-- roll-up that another load's rebuild would wait for while that load
	-- waits for this one)
	v_replica := (SELECT r.rolsuper FROM pg_catalog.pg_roles r WHERE r.rolname = CURRENT_USER)
	             AND pg_catalog.current_setting('session_replication_role') = 'origin';
	IF v_replica THEN
		PERFORM pg_catalog.set_config('session_replication_role', 'replica', true);
	END IF;
	v_custs := ARRAY(SELECT pg_catalog.nextval('repairsys.customer_id_seq') FROM pg_catalog.generate_series(1, n_cust) k ORDER BY k);
	INSERT INTO repairsys.customer (id, name, phone, service_center_id, lat, lon) OVERRIDING SYSTEM VALUE
	SELECT v_custs[k], pg_catalog.format('%s customer %s', tag, k), '139' || pg_catalog.lpad((k % 100000000)::text, 8, '0'),
	       c.id, c.lat + (repairsys.demo_hash(v_seed, k, 4) - 0.5) * 0.2, c.lon + (repairsys.demo_hash(v_seed, k, 5) - 0.5) * 0.2
	  FROM pg_catalog.generate_series(1, n_cust) k
	  JOIN repairsys.service_center c ON c.id = v_centers[1 + (k - 1) % n_center];
	v_assets := ARRAY(SELECT pg_catalog.nextval('repairsys.asset_id_seq') FROM pg_catalog.generate_series(1, n_asset) k ORDER BY k);
	INSERT INTO repairsys.asset (id, customer_id, model, serial_no, purchased_at, purchase_price, warranty_until) OVERRIDING SYSTEM VALUE
	SELECT v_assets[j], v_custs[1 + (j - 1) % n_cust], models[x.m], pg_catalog.format('%s-%s', tag, j), x.d,
	       CASE WHEN repairsys.demo_hash(v_seed, j, 7) < 0.08 THEN prices[x.m] * 4 ELSE prices[x.m] END, x.d + 365
	  FROM pg_catalog.generate_series(1, n_asset) j
	 CROSS JOIN LATERAL (SELECT 1 + pg_catalog.floor(5 * repairsys.demo_hash(v_seed, j, 6))::integer AS m,
	                            (v_start AT TIME ZONE v_tz)::date - pg_catalog.floor(700 * repairsys.demo_hash(v_seed, j, 8))::integer AS d) x;

	-- the calendar of the history: one weight per local day, a summer peak
	-- (air conditioners) and quieter weekends; ticket number i is opened at
	-- the quantile (i - 0.5) / tickets of these weights, 08:00-20:00 local
	SELECT pg_catalog.array_agg(w.day ORDER BY w.day),
	       pg_catalog.array_agg(coalesce(w.cum_before / nullif(w.total, 0), 0) ORDER BY w.day)
	  INTO v_days, v_th
	  FROM (SELECT d.day, sum(d.w) OVER (ORDER BY d.day) - d.w AS cum_before, sum(d.w) OVER () AS total
	          FROM (SELECT x::date AS day,
	                       (1 + 0.25 * pg_catalog.cos(2 * pi() * (date_part('doy', x) - 196) / 365.25))
	                       * CASE date_part('isodow', x) WHEN 6 THEN 0.7 WHEN 7 THEN 0.6 WHEN 1 THEN 1.15 ELSE 1 END AS w
	                  FROM pg_catalog.generate_series((v_start AT TIME ZONE v_tz)::date, (v_end AT TIME ZONE v_tz)::date, interval '1 day') x) d) w;

	-- stock movements are numbered (seq) in the order their checks would have
	-- run: the receipts, written last when the issues are known, take the
	-- first numbers
	v_receipt_seq := ARRAY(SELECT pg_catalog.nextval('repairsys.stock_movement_seq')
	                         FROM pg_catalog.generate_series(1, n_center * pg_catalog.array_length(skus, 1)) k ORDER BY k);

	-- the monthly partitions of the history, the ledger and the event log
	-- for the months written (57_partitions.sql; at most 121 months: older
	-- rows go to the DEFAULT partitions), made before the triggers go off so
	-- that the new months clone them enabled
	-- (only when one is missing: ensure_partitions() holds its lock to the
	-- end of the transaction, and loads that run side by side must not wait
	-- for each other)
	IF EXISTS (SELECT 1
	             FROM pg_catalog.generate_series(repairsys.partition_month(greatest(v_start - interval '1 day', pg_catalog.now() - interval '120 months')),
	                                             repairsys.partition_month(pg_catalog.now()), interval '1 month') AS x(m)
	            CROSS JOIN pg_catalog.unnest(ARRAY['ticket_event', 'stock_movement', 'event']) AS t(name)
	            WHERE pg_catalog.to_regclass(pg_catalog.format('repairsys.%I', t.name || '_' || pg_catalog.to_char(x.m AT TIME ZONE 'UTC', 'YYYY_MM'))) IS NULL) THEN
		PERFORM repairsys.ensure_partitions(greatest(v_start - interval '1 day', pg_catalog.now() - interval '120 months'), pg_catalog.now());
	END IF;

	-- the rule and roll-up triggers of the tables written below, off while
	-- the stories are written (the batches write the roll-up rows).  A superuser loads as pg_restore --disable-triggers does:
	-- session_replication_role = replica for this part of the transaction
	-- (set above, before the customers),
	-- which also skips the foreign-key checks (the rows are built from the
	-- rows they reference; test/pgtap/demo_scale.sql checks every key
	-- afterwards) and takes no table lock, so that loads of separate
	-- companies run side by side (test/bench/scale.sh).  The owner who is not
	-- a superuser disables the triggers by name (ALTER TABLE, which locks the
	-- tables until commit: such loads run one after the other).
	FOR trg IN
		SELECT g.tgrelid::regclass AS rel, g.tgname
		  FROM pg_catalog.pg_trigger g
		 WHERE g.tgrelid = ANY (ARRAY['repairsys.ticket', 'repairsys.ticket_part', 'repairsys.stock_movement', 'repairsys.invoice',
		                              'repairsys.invoice_line', 'repairsys.payment', 'repairsys.feedback',
		                              'repairsys.estimate_revision']::regclass[]::oid[])
		   AND NOT g.tgisinternal AND g.tgenabled = 'O' AND (g.tgtype & 4) <> 0 AND NOT v_replica
		 ORDER BY 1, 2
	LOOP
		EXECUTE pg_catalog.format('ALTER TABLE %s DISABLE TRIGGER %I', trg.rel, trg.tgname);
		disabled := disabled || pg_catalog.format('ALTER TABLE %s ENABLE TRIGGER %I', trg.rel, trg.tgname);
	END LOOP;

	lo := 1;
	WHILE lo <= tickets LOOP
		-- the units and customers this batch's tickets are of: ticket i is of
		-- unit (i - 1) % n_asset + 1, unit j of customer (j - 1) % n_cust + 1,
		-- so a batch reads one window of each (all of them when it wraps
		-- around); their ids ascend with their numbers, and the windows are
		-- read by key range, not by scanning every company's units
		hi := least(tickets, lo + batch - 1);
		IF hi - lo + 1 >= n_asset OR (lo - 1) % n_asset > (hi - 1) % n_asset THEN
			j_lo := 1;
			j_hi := n_asset;
		ELSE
			j_lo := (lo - 1) % n_asset + 1;
			j_hi := (hi - 1) % n_asset + 1;
		END IF;
		IF j_hi - j_lo + 1 >= n_cust OR (j_lo - 1) % n_cust > (j_hi - 1) % n_cust THEN
			k_lo := 1;
			k_hi := n_cust;
		ELSE
			k_lo := (j_lo - 1) % n_cust + 1;
			k_hi := (j_hi - 1) % n_cust + 1;
		END IF;
		v_a_lo := v_assets[j_lo];
		v_a_hi := v_assets[j_hi];
		v_c_lo := v_custs[k_lo];
		v_c_hi := v_custs[k_hi];
		WITH cd AS MATERIALIZED (
			-- each center's calendar, once (not once per ticket)
			SELECT c AS center_id, repairsys.closed_dates(c) AS closed, od.days AS open_days, od.works_as
			  FROM pg_catalog.unnest(v_centers) c CROSS JOIN LATERAL repairsys.open_dates(c) od
		), g AS MATERIALIZED (
			SELECT i, x.j, 1 + ((x.j - 1) % n_cust) % n_center AS ci,
			       repairsys.demo_hash(v_seed, i, 101) AS r_cancel, repairsys.demo_hash(v_seed, i, 102) AS r_assign,
			       repairsys.demo_hash(v_seed, i, 103) AS r_part, repairsys.demo_hash(v_seed, i, 104) AS r_approve,
			       repairsys.demo_hash(v_seed, i, 105) AS r_labor, repairsys.demo_hash(v_seed, i, 106) AS r_resolve,
			       repairsys.demo_hash(v_seed, i, 107) AS r_pay, repairsys.demo_hash(v_seed, i, 108) AS r_fb,
			       repairsys.demo_hash(v_seed, i, 109) AS r_fb_at, repairsys.demo_hash(v_seed, i, 110) AS r_stars,
			       repairsys.demo_hash(v_seed, i, 111) AS r_complaint, repairsys.demo_hash(v_seed, i, 112) AS r_method,
			       repairsys.demo_hash(v_seed, i, 113) AS r_tech, repairsys.demo_hash(v_seed, i, 114) AS r_cx,
			       repairsys.demo_hash(v_seed, i, 115) AS r_urg, repairsys.demo_hash(v_seed, i, 116) AS r_channel,
			       pg_catalog.width_bucket((i - 0.5) / tickets, v_th) AS k,
			       -- the ticket's id, taken in the order of i (a join's output
			       -- order depends on its plan, and so would the ids, and with
			       -- them the order of everything sorted by id: the same seed
			       -- would not give the same data on another plan)
			       pg_catalog.nextval('repairsys.ticket_id_seq') AS id
			  FROM pg_catalog.generate_series(lo, hi) i
			 CROSS JOIN LATERAL (SELECT (i - 1) % n_asset + 1 AS j) x
		), ac AS MATERIALIZED (
			SELECT a.id, a.customer_id, a.model, a.warranty_until, cu.lat, cu.lon, cu.service_center_id
			  FROM repairsys.asset a JOIN repairsys.customer cu ON cu.id = a.customer_id
			 WHERE a.id BETWEEN v_a_lo AND v_a_hi AND cu.id BETWEEN v_c_lo AND v_c_hi
		), p AS MATERIALIZED (
			SELECT g.*,
			       a.id AS asset_id, a.customer_id, a.warranty_until, a.lat, a.lon, c.id AS center_id, c.time_zone,
			       pg_catalog.round(repairsys.haversine_km(c.lat, c.lon, a.lat, a.lon)::numeric, 1) AS km,
			       st.code AS service_type, st.required_skill, st.labor_fee, st.travel_fee, coalesce(st.callout_fee, 0) AS callout,
			       coalesce(st.est_minutes_low, st.est_minutes_high, 0) AS est_low, coalesce(st.est_minutes_high, st.est_minutes_low, 0) AS est_high,
			       least(4, 1 + pg_catalog.floor(g.r_cx * 4))::integer AS complexity,
			       (ARRAY['normal', 'normal', 'normal', 'normal', 'urgent', 'urgent', 'emergency'])[1 + least(6, pg_catalog.floor(g.r_urg * 7))::integer] AS urgency,
			       (ARRAY['phone', 'web', 'app', 'mini_program', 'walk_in'])[1 + least(4, pg_catalog.floor(g.r_channel * 5))::integer] AS channel,
			       (g.ci - 1) * n_tech + 1 + least(n_tech - 1, pg_catalog.floor(g.r_tech * n_tech))::integer AS tech_no,
			       greatest(v_start, least(v_end,
			           ((v_days[g.k] + interval '8 hours'
			             + ((i - 0.5) / tickets - v_th[g.k]) / (coalesce(v_th[g.k + 1], 1.0) - v_th[g.k]) * interval '12 hours')
			            AT TIME ZONE c.time_zone))) AS opened_at
			  FROM g
			  JOIN ac a ON a.id = v_assets[g.j]
			  JOIN repairsys.service_center c ON c.id = a.service_center_id
			  JOIN repairsys.service_type st ON st.code = types[pg_catalog.array_position(models, a.model)]
		), q AS MATERIALIZED (
			-- the instants of the ticket's life and how far it got by now
			SELECT p.*, v_techs[p.tech_no] AS tech, cx.factor, u.surcharge_pct AS pct,
			       coalesce(p.warranty_until >= (p.opened_at AT TIME ZONE p.time_zone)::date, false) AS warranty,
			       CASE WHEN p.r_part < 0.35 THEN CASE p.required_skill WHEN 'hvac' THEN 'DEMO-CAP' WHEN 'appliance' THEN 'DEMO-PUMP'
			            ELSE CASE WHEN p.service_type = 'demo_phone_screen' THEN 'DEMO-SCREEN' ELSE 'DEMO-BOARD' END END END AS sku,
			       p.est_low + pg_catalog.round((p.r_labor * (p.est_high - p.est_low))::numeric) AS labor,
			       p.r_cancel < 0.04 AS cancels,
			       p.opened_at + pg_catalog.make_interval(mins => 5 + (p.r_assign * 120)::integer) AS t_cancel,
			       p.opened_at + pg_catalog.make_interval(mins => 10 + (p.r_assign * 110)::integer) AS t_assign,
			       p.opened_at + pg_catalog.make_interval(mins => 15 + (p.r_assign * 110)::integer) AS t_part,
			       p.opened_at + pg_catalog.make_interval(mins => 30 + (p.r_assign * 110)::integer + (p.r_approve * 200)::integer) AS t_approve,
			       pol.respond_within, pol.resolve_within
			  FROM p
			  JOIN repairsys.complexity_rule cx ON cx.level = p.complexity
			  JOIN repairsys.urgency_rule u ON u.urgency = p.urgency
			  LEFT JOIN repairsys.sla_policy pol ON pol.service_type = p.service_type AND pol.urgency = p.urgency
		), q2 AS MATERIALIZED (
			SELECT q.*,
			       q.t_approve + pg_catalog.make_interval(mins => q.labor::integer) + q.r_resolve * q.r_resolve * interval '30 hours' AS t_resolve
			  FROM q
		), q3 AS MATERIALIZED (
			SELECT q2.*,
			       q2.t_resolve + interval '5 minutes' AS t_invoice,
			       q2.t_resolve + interval '5 minutes' + q2.r_pay * q2.r_pay * interval '24 hours' AS t_pay,
			       q2.t_resolve + pg_catalog.make_interval(mins => 10 + (q2.r_fb_at * 600)::integer) AS t_fb,
			       NOT q2.cancels AND q2.t_assign <= v_now AS did_assign,
			       NOT q2.cancels AND q2.t_approve <= v_now AS did_approve,
			       NOT q2.cancels AND q2.t_resolve <= v_now AS did_resolve,
			       q2.cancels AND q2.t_cancel <= v_now AS did_cancel,
			       NOT q2.cancels AND q2.sku IS NOT NULL AND q2.t_part <= v_now AS has_part
			  FROM q2
		), ek AS MATERIALIZED (
			-- the estimates that occur: an approved ticket's estimate (its low and
			-- high scenarios) depends on its service type, distance, complexity,
			-- urgency, part and warranty only, so each is computed once (a batch
			-- of 25,000 tickets has about 9,700 different ones among 24,000
			-- approved) and numbered (est_no)
			SELECT e.*, pg_catalog.row_number() OVER () AS est_no
			  FROM (SELECT DISTINCT q3.service_type, q3.est_low, q3.est_high, q3.km, q3.labor_fee, q3.travel_fee, q3.callout,
			               q3.factor, q3.pct, q3.complexity, q3.urgency, q3.warranty,
			               CASE WHEN q3.warranty THEN q3.warranty_until END AS warranty_until, q3.sku
			          FROM q3 WHERE q3.did_approve) e
		), qk AS MATERIALIZED (
			-- each approved ticket's estimate
			SELECT q3.id, e.est_no
			  FROM q3 JOIN ek e ON e.service_type = q3.service_type AND e.km = q3.km AND e.complexity = q3.complexity
			   AND e.urgency = q3.urgency AND e.warranty = q3.warranty
			   AND coalesce(e.warranty_until, 'infinity') = coalesce(CASE WHEN q3.warranty THEN q3.warranty_until END, 'infinity')
			   AND coalesce(e.sku, '') = coalesce(q3.sku, '')
			 WHERE q3.did_approve
		), sc AS MATERIALIZED (
			-- the scenarios a bill is computed for: the bill of the work recorded
			-- (resolved tickets, by ticket id) and each estimate's low and high
			-- (the part reserved before the approval counts; by -est_no, apart from
			-- the tickets' ids)
			SELECT q3.id, 'bill' AS scen, 3 AS o, q3.labor AS minutes, q3.km, q3.service_type, q3.labor_fee, q3.travel_fee, q3.callout,
			       q3.factor, q3.pct, q3.complexity, q3.urgency, q3.warranty, q3.warranty_until, q3.sku
			  FROM q3 WHERE q3.did_resolve
			UNION ALL
			SELECT -e.est_no, s.scen, s.o, s.minutes, e.km, e.service_type, e.labor_fee, e.travel_fee, e.callout,
			       e.factor, e.pct, e.complexity, e.urgency, e.warranty, e.warranty_until, e.sku
			  FROM ek e
			 CROSS JOIN LATERAL (VALUES (1, 'low', e.est_low), (2, 'high', e.est_high)) AS s(o, scen, minutes)
		), lab_u AS MATERIALIZED (
			-- the labor lines of each service type and minutes that occur, once
			-- (schedule_lines() worded inline: the C charge_lines() per row, not
			-- an SQL function whose body is read again at every call)
			SELECT u.service_type, u.minutes, l.line_no AS n, CASE l.kind
			                   WHEN 'base' THEN 'Labor: base fee'
			                   WHEN 'tier' THEN pg_catalog.format('Labor: %s min in the tier %s min, at %s per min',
			                                      pg_catalog.trim_scale(l.quantity), pg_catalog.trim_scale(l.qty_from) || coalesce('-' || pg_catalog.trim_scale(l.qty_to), '+'),
			                                      CASE WHEN pg_catalog.scale(pg_catalog.trim_scale(l.rate)) <= 2 THEN pg_catalog.round(l.rate, 2)::text
			                                           ELSE pg_catalog.trim_scale(l.rate)::text END)
			                   WHEN 'minimum' THEN 'Labor: raised to the minimum charge of the schedule'
			                   WHEN 'maximum' THEN 'Labor: lowered to the maximum charge of the schedule' END AS description,
			       l.quantity, CASE WHEN l.kind = 'tier' THEN 'min' END AS line_unit, l.rate AS unit_price, l.amount,
			       pg_catalog.round(l.amount * rate_l, 2) AS tax
			  FROM (SELECT DISTINCT ON (x.service_type, x.minutes) x.service_type, x.minutes, x.labor_fee FROM sc x) u
			 CROSS JOIN LATERAL repairsys.charge_lines(u.labor_fee, u.minutes) l
		), lab AS MATERIALIZED (
			SELECT sc.id, sc.o, lu.n, lu.description, lu.quantity, lu.line_unit, lu.unit_price, lu.amount, lu.tax
			  FROM sc JOIN lab_u lu ON lu.service_type = sc.service_type AND lu.minutes = sc.minutes
		), trv_u AS MATERIALIZED (
			-- the travel lines of each service type and distance that occur, once
			SELECT u.service_type, u.km, l.line_no AS n, CASE l.kind
			                   WHEN 'base' THEN 'Travel: base fee'
			                   WHEN 'tier' THEN pg_catalog.format('Travel: %s km in the tier %s km, at %s per km',
			                                      pg_catalog.trim_scale(l.quantity), pg_catalog.trim_scale(l.qty_from) || coalesce('-' || pg_catalog.trim_scale(l.qty_to), '+'),
			                                      CASE WHEN pg_catalog.scale(pg_catalog.trim_scale(l.rate)) <= 2 THEN pg_catalog.round(l.rate, 2)::text
			                                           ELSE pg_catalog.trim_scale(l.rate)::text END)
			                   WHEN 'minimum' THEN 'Travel: raised to the minimum charge of the schedule'
			                   WHEN 'maximum' THEN 'Travel: lowered to the maximum charge of the schedule' END AS description,
			       l.quantity, CASE WHEN l.kind = 'tier' THEN 'km' END AS line_unit, l.rate AS unit_price, l.amount,
			       pg_catalog.round(l.amount * rate_l, 2) AS tax
			  FROM (SELECT DISTINCT ON (x.service_type, x.km) x.service_type, x.km, x.travel_fee FROM sc x WHERE x.travel_fee IS NOT NULL) u
			 CROSS JOIN LATERAL repairsys.charge_lines(u.travel_fee, u.km) l
		), trv AS MATERIALIZED (
			SELECT sc.id, sc.o, tu.n, tu.description, tu.quantity, tu.line_unit, tu.unit_price, tu.amount, tu.tax
			  FROM sc JOIN trv_u tu ON tu.service_type = sc.service_type AND tu.km = sc.km
			 WHERE sc.travel_fee IS NOT NULL
		), a1 AS MATERIALIZED (
			SELECT sc.*, coalesce(la.labor, 0) AS lab_amt, coalesce(la.tax, 0) AS lab_tax,
			       coalesce(tr.travel, 0) AS trv_amt, coalesce(tr.tax, 0) AS trv_tax,
			       CASE WHEN sc.callout > 0 THEN pg_catalog.round(sc.callout * rate_l, 2) ELSE 0 END AS call_tax,
			       CASE WHEN sc.factor <> 1 AND coalesce(la.labor, 0) > 0 THEN pg_catalog.round(la.labor * (sc.factor - 1), 2) ELSE 0 END AS cx_amt,
			       pt.name AS part_name, pt.unit_price AS part_price
			  FROM sc
			  LEFT JOIN (SELECT x.id, x.o, sum(x.amount) AS labor, sum(x.tax) AS tax FROM lab x GROUP BY 1, 2) la ON la.id = sc.id AND la.o = sc.o
			  LEFT JOIN (SELECT x.id, x.o, sum(x.amount) AS travel, sum(x.tax) AS tax FROM trv x GROUP BY 1, 2) tr ON tr.id = sc.id AND tr.o = sc.o
			  LEFT JOIN repairsys.part pt ON pt.sku = sc.sku
		), a2 AS MATERIALIZED (
			SELECT a1.*, CASE WHEN a1.pct > 0 AND a1.lab_amt + a1.cx_amt > 0 THEN pg_catalog.round((a1.lab_amt + a1.cx_amt) * a1.pct / 100, 2) ELSE 0 END AS sur_amt
			  FROM a1
		), lines AS MATERIALIZED (
			-- compute_bill's lines, in its order: call-out, labor slices,
			-- complexity, surcharge, travel slices, part (and its coverage), the
			-- product warranty's coverage of the service
			SELECT x.id, x.o, pg_catalog.row_number() OVER (PARTITION BY x.id, x.o ORDER BY x.ord, x.sub)::integer AS line_no,
			       x.kind, x.description, x.quantity, x.unit, x.unit_price, x.amount, x.tax_rate, x.tax_amount
			  FROM (SELECT a.id, a.o, 1 AS ord, 0::bigint AS sub, 'callout' AS kind, 'Call-out fee' AS description, 1::numeric AS quantity,
			               'visit' AS unit, a.callout AS unit_price, a.callout AS amount, rate_l AS tax_rate, a.call_tax AS tax_amount
			          FROM a2 a WHERE a.callout > 0
			        UNION ALL
			        SELECT l.id, l.o, 2, l.n, 'labor', l.description, l.quantity, l.line_unit, l.unit_price, l.amount, rate_l, l.tax FROM lab l
			        UNION ALL
			        SELECT a.id, a.o, 3, 0, 'complexity', pg_catalog.format('Complexity level %s: labor x %s', a.complexity, pg_catalog.trim_scale(a.factor)),
			               NULL, NULL, NULL, a.cx_amt, rate_l, pg_catalog.round(a.cx_amt * rate_l, 2)
			          FROM a2 a WHERE a.factor <> 1 AND a.lab_amt > 0
			        UNION ALL
			        SELECT a.id, a.o, 4, 0, 'surcharge', pg_catalog.format('Urgency "%s": %s%% of labor', a.urgency, pg_catalog.trim_scale(a.pct)),
			               NULL, NULL, NULL, a.sur_amt, rate_l, pg_catalog.round(a.sur_amt * rate_l, 2)
			          FROM a2 a WHERE a.pct > 0 AND a.lab_amt + a.cx_amt > 0
			        UNION ALL
			        SELECT l.id, l.o, 5, l.n, 'travel', l.description, l.quantity, l.line_unit, l.unit_price, l.amount, rate_l, l.tax FROM trv l
			        UNION ALL
			        SELECT a.id, a.o, 6, 0, 'part', pg_catalog.format('Part %s (%s)', a.part_name, a.sku), 1, 'pcs', a.part_price, a.part_price,
			               rate_p, pg_catalog.round(a.part_price * rate_p, 2)
			          FROM a2 a WHERE a.sku IS NOT NULL
			        UNION ALL
			        SELECT a.id, a.o, 7, 0, 'coverage', pg_catalog.format('Product warranty covers part %s (%s)', a.part_name, a.sku), NULL, NULL, NULL,
			               -a.part_price, rate_p, -pg_catalog.round(a.part_price * rate_p, 2)
			          FROM a2 a WHERE a.sku IS NOT NULL AND a.warranty
			        UNION ALL
			        SELECT a.id, a.o, 8, w.n, 'coverage', w.what, NULL, NULL, NULL, -w.amt, rate_l, -w.tx
			          FROM a2 a
			         CROSS JOIN LATERAL (VALUES
			               (1::bigint, 'Product warranty (until ' || pg_catalog.to_char(a.warranty_until, 'YYYY-MM-DD') || ') covers labor, complexity and urgency surcharge',
			                a.lab_amt + a.cx_amt + a.sur_amt,
			                a.lab_tax + pg_catalog.round(a.cx_amt * rate_l, 2) + pg_catalog.round(a.sur_amt * rate_l, 2)),
			               (2, 'Product warranty covers the call-out fee', a.callout, a.call_tax),
			               (3, 'Product warranty covers travel', a.trv_amt, a.trv_tax)) AS w(n, what, amt, tx)
			         WHERE a.warranty AND w.amt > 0) x
		), tot AS MATERIALIZED (
			SELECT l.id,
			       coalesce(sum(l.amount + l.tax_amount) FILTER (WHERE l.o = 1), 0) AS low,
			       coalesce(sum(l.amount + l.tax_amount) FILTER (WHERE l.o = 2), 0) AS high,
			       coalesce(sum(l.amount + l.tax_amount) FILTER (WHERE l.o = 3), 0) AS bill,
			       count(*) FILTER (WHERE l.o = 3) AS bill_lines, coalesce(sum(l.amount) FILTER (WHERE l.o = 3), 0) AS bill_amount
			  FROM lines l GROUP BY l.id
		), est AS MATERIALIZED (
			-- the estimate's lines (revision 1), apart: the documents are large
			-- and only the revision's insert reads them
			SELECT l.id,
			       pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
			           'scenario', CASE l.o WHEN 1 THEN 'low' ELSE 'high' END, 'line_no', l.line_no, 'kind', l.kind,
			           'description', l.description, 'quantity', l.quantity, 'unit', l.unit, 'unit_price', l.unit_price,
			           'amount', l.amount, 'tax_rate', l.tax_rate, 'tax_amount', l.tax_amount) ORDER BY l.o, l.line_no) AS est_lines
			  FROM lines l WHERE l.o < 3 GROUP BY l.id
		), f AS MATERIALIZED (
			-- the end of the story: invoiced once resolved (a bill to pay),
			-- closed once paid (or at once when free), rated by most
			SELECT q3.*, qk.est_no, coalesce(te.low, 0) AS low, coalesce(te.high, 0) AS high, coalesce(t.bill, 0) AS bill,
			       coalesce(t.bill_lines, 0) AS bill_lines, coalesce(t.bill_amount, 0) AS bill_amount,
			       q3.did_resolve AND coalesce(t.bill, 0) > 0 AND q3.t_invoice <= v_now AS did_invoice,
			       q3.did_resolve AND coalesce(t.bill, 0) > 0 AND q3.t_pay <= v_now AS did_pay,
			       q3.did_resolve AND CASE WHEN coalesce(t.bill, 0) > 0 THEN q3.t_pay <= v_now ELSE q3.t_invoice <= v_now END AS did_close,
			       CASE WHEN coalesce(t.bill, 0) > 0 THEN q3.t_pay ELSE q3.t_invoice END AS t_close,
			       q3.did_resolve AND q3.r_fb < 0.8 AND q3.t_fb <= v_now AS did_rate,
			       least(5, greatest(1, pg_catalog.round(2.5 + (q3.tech_no % 4) * 0.6
			                                             + (q3.r_stars - 0.5) * 3)::integer)) AS stars
			  FROM q3 LEFT JOIN qk ON qk.id = q3.id
			  LEFT JOIN (SELECT x.id, x.bill, x.bill_lines, x.bill_amount FROM tot x WHERE x.id > 0) t ON t.id = q3.id
			  LEFT JOIN (SELECT x.id, x.low, x.high FROM tot x WHERE x.id < 0) te ON te.id = -qk.est_no
		), s AS MATERIALIZED (
			SELECT f.*,
			       CASE WHEN f.did_cancel THEN s_can WHEN f.did_close THEN s_clo WHEN f.did_resolve THEN s_res
			            WHEN f.did_approve THEN s_act WHEN f.did_assign THEN s_asg ELSE s_new END AS status,
			       CASE WHEN f.did_cancel THEN f.t_cancel WHEN f.did_close THEN f.t_close WHEN f.did_resolve THEN f.t_resolve
			            WHEN f.did_approve THEN f.t_approve WHEN f.did_assign THEN f.t_assign ELSE f.opened_at END AS changed_at,
			       cd.closed, cd.open_days, cd.works_as,
			       repairsys.sla_deadline(f.respond_within, f.opened_at, cd.closed, f.time_zone, cd.open_days, cd.works_as) AS respond_by,
			       repairsys.sla_deadline(f.resolve_within, f.opened_at, cd.closed, f.time_zone, cd.open_days, cd.works_as) AS resolve_by
			  FROM f JOIN cd ON cd.center_id = f.center_id
		), ins_ticket AS (
			INSERT INTO repairsys.ticket (id, customer_id, asset_id, service_type, complexity, urgency, channel, description, lat, lon,
			                              service_center_id, status, technician_id, opened_at, first_response_at, respond_by, resolve_by,
			                              resolved_at, closed_at, status_changed_at, reopen_count, labor_minutes, travel_km,
			                              estimate_approved_at, warranty_void, price_labor_fee, price_travel_fee, price_callout_fee,
			                              price_complexity_factor, price_surcharge_pct, price_tax_rate_labor, price_tax_rate_parts,
			                              price_rework_window, approved_estimate_low, approved_estimate_high, sla_respond_within,
			                              sla_resolve_within, sla_time_zone, sla_paused, changed_by, status_role, estimate_approved_by)
			OVERRIDING SYSTEM VALUE
			SELECT s.id, s.customer_id, s.asset_id, s.service_type, s.complexity, s.urgency, s.channel,
			       pg_catalog.format('Demo request %s', s.i), s.lat, s.lon, s.center_id, s.status,
			       CASE WHEN s.did_assign THEN s.tech END, s.opened_at,
			       CASE WHEN s.did_cancel THEN s.t_cancel WHEN s.did_assign THEN s.t_assign END,
			       s.respond_by, s.resolve_by,
			       CASE WHEN s.did_resolve THEN s.t_resolve END,
			       CASE WHEN s.did_cancel THEN s.t_cancel WHEN s.did_close THEN s.t_close END,
			       s.changed_at, 0,
			       CASE WHEN s.did_resolve THEN s.labor END, CASE WHEN s.did_resolve THEN s.km END,
			       CASE WHEN s.did_approve THEN s.t_approve END, false,
			       CASE WHEN s.did_approve THEN s.labor_fee END, CASE WHEN s.did_approve THEN s.travel_fee END,
			       CASE WHEN s.did_approve THEN s.callout END, CASE WHEN s.did_approve THEN s.factor END,
			       CASE WHEN s.did_approve THEN s.pct END, CASE WHEN s.did_approve THEN rate_l END,
			       CASE WHEN s.did_approve THEN rate_p END, CASE WHEN s.did_approve THEN v_rework END,
			       CASE WHEN s.did_approve THEN s.low END, CASE WHEN s.did_approve THEN s.high END,
			       s.respond_within, s.resolve_within, CASE WHEN s.respond_within IS NOT NULL OR s.resolve_within IS NOT NULL THEN s.time_zone END,
			       interval '0', CURRENT_USER,
			       (SELECT x.role FROM repairsys.ticket_status x WHERE x.code = s.status),
			       CASE WHEN s.did_approve THEN CURRENT_USER END
			  FROM s
			RETURNING 1
		), ins_history AS (
			INSERT INTO repairsys.ticket_event (ticket_id, from_status, to_status, at, actor, technician_id)
			SELECT s.id, h.from_status, h.to_status, h.at, CURRENT_USER, h.tech
			  FROM s
			 CROSS JOIN LATERAL (VALUES (1, NULL, s_new, s.opened_at, NULL::bigint, true),
			                            (2, s_new, s_can, s.t_cancel, NULL, s.did_cancel),
			                            (2, s_new, s_asg, s.t_assign, s.tech, s.did_assign),
			                            (3, s_asg, s_act, s.t_approve, s.tech, s.did_approve),
			                            (4, s_act, s_res, s.t_resolve, s.tech, s.did_resolve),
			                            (5, s_res, s_clo, s.t_close, s.tech, s.did_close)) AS h(step, from_status, to_status, at, tech, wanted)
			 WHERE h.wanted
			 ORDER BY h.at, s.id, h.step
			RETURNING 1
		), ins_revision AS (
			INSERT INTO repairsys.estimate_revision (ticket_id, revision, low, high, lines, reason, created_at, created_by,
			                                         approved_at, approved_by, tolerance_pct)
			SELECT s.id, 1, s.low, greatest(s.high, s.low), coalesce(e.est_lines, '[]'::jsonb), 'Estimate before work', s.t_approve, CURRENT_USER,
			       s.t_approve, CURRENT_USER, v_tol
			  FROM s LEFT JOIN est e ON e.id = -s.est_no WHERE s.did_approve
			RETURNING 1
		), ins_part AS (
			INSERT INTO repairsys.ticket_part (ticket_id, sku, service_center_id, qty, state, unit_price, unit_cost, covered, reserved_at, used_at)
			SELECT s.id, s.sku, s.center_id, 1, CASE WHEN s.did_resolve THEN 'used' ELSE 'reserved' END, pt.unit_price, pt.unit_cost,
			       s.warranty, s.t_part, CASE WHEN s.did_resolve THEN s.t_resolve END
			  FROM s JOIN repairsys.part pt ON pt.sku = s.sku
			 WHERE s.has_part
			RETURNING 1
		), ins_issue AS (
			INSERT INTO repairsys.stock_movement (sku, service_center_id, kind, qty, ticket_id, unit_cost, at, actor, seq)
			SELECT x.sku, x.center_id, 'issue', -1, x.id, x.unit_cost, x.t_resolve, CURRENT_USER, pg_catalog.nextval('repairsys.stock_movement_seq')
			  FROM (SELECT s.sku, s.center_id, s.id, pt.unit_cost, s.t_resolve
			          FROM s JOIN repairsys.part pt ON pt.sku = s.sku
			         WHERE s.has_part AND s.did_resolve
			         ORDER BY s.t_resolve, s.id) x
			RETURNING 1
		), inv AS MATERIALIZED (
			-- (the invoices' ids in the order of their tickets', whatever the plan)
			SELECT s.id AS ticket_id, pg_catalog.nextval('repairsys.invoice_id_seq') AS invoice_id, s.center_id, s.bill, s.t_invoice,
			       s.did_pay, s.t_pay, s.r_method
			  FROM (SELECT * FROM s WHERE s.did_invoice ORDER BY s.id) s
		), ins_invoice AS (
			INSERT INTO repairsys.invoice (id, invoice_no, ticket_id, service_center_id, total, currency, issued_at) OVERRIDING SYSTEM VALUE
			SELECT v.invoice_id, 'INV-' || pg_catalog.lpad(v.invoice_id::text, 8, '0'), v.ticket_id, v.center_id, v.bill, v_cur, v.t_invoice
			  FROM inv v
			RETURNING 1
		), ins_lines AS (
			INSERT INTO repairsys.invoice_line (invoice_id, line_no, kind, description, quantity, unit, unit_price, amount, tax_rate, tax_amount)
			SELECT v.invoice_id, l.line_no, l.kind, l.description, l.quantity, l.unit, l.unit_price, l.amount, l.tax_rate, l.tax_amount
			  FROM inv v JOIN lines l ON l.id = v.ticket_id AND l.o = 3
			RETURNING 1
		), ins_payment AS (
			INSERT INTO repairsys.payment (invoice_id, method, amount, paid_at, idempotency_key)
			SELECT v.invoice_id, (ARRAY['wechat', 'alipay', 'card', 'cash'])[1 + least(3, pg_catalog.floor(v.r_method * 4))::integer],
			       v.bill, v.t_pay, pg_catalog.format('demo-%s-%s', tag, v.ticket_id)
			  FROM inv v WHERE v.did_pay
			RETURNING 1
		), ins_feedback AS (
			INSERT INTO repairsys.feedback (ticket_id, rating, comment, complaint, at)
			SELECT s.id, s.stars, CASE WHEN s.stars >= 4 THEN 'Quick and friendly' WHEN s.stars <= 2 THEN 'Not satisfied' END,
			       s.stars <= 2 AND s.r_complaint < 0.6, s.t_fb
			  FROM s WHERE s.did_rate
			RETURNING 1
		), ins_fact AS (
			-- the tickets' roll-up rows (repairsys.ticket_fact, whose triggers
			-- are off with the others), from the story as ticket_fact_recomputed()
			-- reads it back: the invoice's lines and their amounts, the part
			-- issued at its cost, the rating; a first-time fix unless a later
			-- ticket repaired the unit again (set after the batches, below).
			-- check_invariants() compares them with the recomputation
			-- (test/pgtap/demo_scale.sql)
			INSERT INTO repairsys.ticket_fact (ticket_id, service_center_id, month, service_type, counted, technician_id, labor_minutes,
			                                   travel_km, opened_at, resolved_at, resolve_by, invoice_lines, revenue, parts_cost, rating,
			                                   closed_month, closed, complaint, first_fix, resolution_hours)
			SELECT s.id, s.center_id, repairsys.ticket_month(s.opened_at, s.time_zone), s.service_type, x.role <> 'cancelled',
			       CASE WHEN s.did_assign THEN s.tech END, CASE WHEN s.did_resolve THEN s.labor END, CASE WHEN s.did_resolve THEN s.km END,
			       s.opened_at, CASE WHEN s.did_resolve THEN s.t_resolve END, s.resolve_by,
			       CASE WHEN s.did_invoice THEN s.bill_lines ELSE 0 END, CASE WHEN s.did_invoice THEN s.bill_amount ELSE 0.00 END,
			       CASE WHEN s.has_part AND s.did_resolve THEN pt.unit_cost ELSE 0.00 END,
			       CASE WHEN s.did_rate THEN s.stars END,
			       repairsys.ticket_month(CASE WHEN s.did_cancel THEN s.t_cancel WHEN s.did_close THEN s.t_close END, s.time_zone),
			       x.role = 'closed', s.did_rate AND s.stars <= 2 AND s.r_complaint < 0.6, s.did_resolve,
			       repairsys.resolution_hours(s.resolve_within, s.opened_at, CASE WHEN s.did_resolve THEN s.t_resolve END, s.closed,
			                                  CASE WHEN s.respond_within IS NOT NULL OR s.resolve_within IS NOT NULL THEN s.time_zone END,
			                                  s.open_days, s.works_as)
			  FROM s JOIN repairsys.ticket_status x ON x.code = s.status
			  LEFT JOIN repairsys.part pt ON pt.sku = s.sku
			RETURNING 1
		), ins_follow_up AS (
			-- the call after closure and the call on a complaint; those due a
			-- day before now were made
			INSERT INTO repairsys.follow_up (ticket_id, service_center_id, reason, due_at, done_at, outcome, created_at)
			SELECT x.id, x.center_id, x.reason, x.due_at,
			       CASE WHEN x.due_at < v_now - interval '1 day' THEN x.due_at END,
			       CASE WHEN x.due_at < v_now - interval '1 day' THEN 'Demo: the customer was called' END, x.created_at
			  FROM (SELECT s.id, s.center_id, 'after_closure' AS reason, s.t_close + pg_catalog.make_interval(days => v_fu_days) AS due_at,
			               s.t_close AS created_at
			          FROM s WHERE s.did_close
			        UNION ALL
			        SELECT s.id, s.center_id, 'complaint', s.t_fb + v_fu_cpl, s.t_fb
			          FROM s WHERE s.did_rate AND s.stars <= 2 AND s.r_complaint < 0.6) x
			RETURNING 1
		)
		SELECT (SELECT count(*) FROM ins_ticket) + (SELECT count(*) FROM ins_history) + (SELECT count(*) FROM ins_revision)
		       + (SELECT count(*) FROM ins_part) + (SELECT count(*) FROM ins_issue) + (SELECT count(*) FROM ins_invoice)
		       + (SELECT count(*) FROM ins_lines) + (SELECT count(*) FROM ins_payment) + (SELECT count(*) FROM ins_feedback)
		       + (SELECT count(*) FROM ins_follow_up) + (SELECT count(*) FROM ins_fact)
		  INTO STRICT v_rows;
		v_written := v_written + v_rows;
		lo := lo + batch;
	END LOOP;

	-- the derived rows the disabled triggers keep: the stock (receipts that
	-- cover every issue and reservation, numbered first), the technicians'
	-- load, and capacities that hold the open tickets the history left them
	INSERT INTO repairsys.stock_movement (sku, service_center_id, kind, qty, unit_cost, at, actor, note, seq)
	SELECT x.sku, x.center_id, 'receipt', x.need + 5 + (x.need / 10), pt.unit_cost, v_start - interval '1 day', CURRENT_USER,
	       'Demo: opening stock', v_receipt_seq[x.o]
	  FROM (SELECT c.center_id, k.sku, pg_catalog.row_number() OVER (ORDER BY c.o, k.o) AS o, coalesce(u.need, 0)::integer AS need
	          FROM pg_catalog.unnest(v_centers) WITH ORDINALITY AS c(center_id, o)
	         CROSS JOIN pg_catalog.unnest(skus) WITH ORDINALITY AS k(sku, o)
	          LEFT JOIN (SELECT tp.service_center_id, tp.sku, count(*) AS need
	                       FROM repairsys.ticket_part tp
	                      WHERE tp.service_center_id = ANY (v_centers) AND tp.state IN ('used', 'reserved')
	                      GROUP BY 1, 2) u ON u.service_center_id = c.center_id AND u.sku = k.sku) x
	  JOIN repairsys.part pt ON pt.sku = x.sku;
	INSERT INTO repairsys.stock (sku, service_center_id, on_hand, reserved)
	SELECT m.sku, m.service_center_id, m.on_hand, coalesce(r.reserved, 0)
	  FROM (SELECT x.sku, x.service_center_id, sum(x.qty) AS on_hand
	          FROM repairsys.stock_movement x
	         WHERE x.service_center_id = ANY (v_centers)
	         GROUP BY 1, 2) m
	  LEFT JOIN (SELECT tp.service_center_id, tp.sku, count(*) AS reserved
	               FROM repairsys.ticket_part tp
	              WHERE tp.service_center_id = ANY (v_centers) AND tp.state = 'reserved'
	              GROUP BY 1, 2) r ON r.service_center_id = m.service_center_id AND r.sku = m.sku;
	-- (the tickets of the new centers, and their feedback by its key's range:
	-- this call's ticket ids, not every company's)
	SELECT min(t.id), max(t.id) INTO v_t_lo, v_t_hi FROM repairsys.ticket t WHERE t.service_center_id = ANY (v_centers);
	INSERT INTO repairsys.technician_load AS l (technician_id, open_tickets, rating_count, rating_sum)
	SELECT te.id, coalesce(k.open_tickets, 0), coalesce(k.rating_count, 0), coalesce(k.rating_sum, 0)
	  FROM repairsys.technician te
	  LEFT JOIN (SELECT t.technician_id, count(*) FILTER (WHERE t.closed_at IS NULL) AS open_tickets,
	                    count(fb.ticket_id) AS rating_count, sum(fb.rating) AS rating_sum
	               FROM repairsys.ticket t
	               LEFT JOIN (SELECT * FROM repairsys.feedback x WHERE x.ticket_id BETWEEN v_t_lo AND v_t_hi) fb ON fb.ticket_id = t.id
	              WHERE t.service_center_id = ANY (v_centers) AND t.technician_id IS NOT NULL
	              GROUP BY t.technician_id) k ON k.technician_id = te.id
	 WHERE te.id = ANY (v_techs)
	ON CONFLICT (technician_id) DO UPDATE
	   SET open_tickets = l.open_tickets + excluded.open_tickets,
	       rating_count = l.rating_count + excluded.rating_count,
	       rating_sum = l.rating_sum + excluded.rating_sum;
	FOR i IN 1..coalesce(pg_catalog.array_length(disabled, 1), 0) LOOP
		EXECUTE disabled[i];
	END LOOP;
	IF v_replica THEN
		PERFORM pg_catalog.set_config('session_replication_role', 'origin', true);
	END IF;
	UPDATE repairsys.technician te SET capacity = greatest(te.capacity, l.open_tickets)
	  FROM repairsys.technician_load l
	 WHERE l.technician_id = te.id AND te.id = ANY (v_techs) AND l.open_tickets > te.capacity;
	RAISE DEBUG 'demo_load: % tickets and % rows of their stories written', tickets, v_written;
	-- the roll-ups of the report views (71_rollups.sql), whose row triggers
	-- were off with the others.  First the statistics of what was written
	-- (the new centers are unknown to the planner until then), and nested
	-- loops allowed again: what follows reads this call's rows through their
	-- keys, not by scanning every company's.  The tickets' rows were written
	-- with the batches; what they could not know is a later ticket that
	-- repaired a unit again within rework_window: such tickets are no
	-- first-time fix (a unit's tickets are spaced further apart than the
	-- window, so none is expected; the check makes the rows exact whatever
	-- the calendar's weights do to the spacing).  Then the customers' rows,
	-- recomputed for the centers written (a customer's tickets are in every
	-- batch).  The units, customers and tickets are this call's, seen by no
	-- other transaction until it commits, so no other writer can change these
	-- rows and nothing is locked beyond them: loads side by side do not wait
	-- for each other, as they would for rollup_rebuild's lock
	ANALYZE repairsys.ticket, repairsys.invoice, repairsys.invoice_line, repairsys.ticket_part, repairsys.feedback,
	        repairsys.payment, repairsys.customer, repairsys.asset;
	PERFORM pg_catalog.set_config('enable_nestloop', 'on', true);
	UPDATE repairsys.ticket_fact f SET first_fix = false
	  FROM (SELECT DISTINCT p.id
	          FROM repairsys.ticket p
	          JOIN repairsys.ticket r ON r.asset_id = p.asset_id AND r.service_type = p.service_type AND r.id <> p.id
	           AND r.status_role <> 'cancelled' AND r.opened_at > p.resolved_at
	           AND r.opened_at <= p.resolved_at + v_rework_iv
	         WHERE p.service_center_id = ANY (v_centers) AND r.service_center_id = ANY (v_centers)
	           AND p.resolved_at IS NOT NULL) rw
	 WHERE f.ticket_id = rw.id AND f.ticket_id BETWEEN v_t_lo AND v_t_hi AND f.first_fix;
	-- (the owner who is not a superuser wrote the customers and units with
	-- their triggers on, which made these customers' rows as they came)
	DELETE FROM repairsys.customer_rollup r
	 WHERE r.customer_id BETWEEN v_custs[1] AND v_custs[n_cust]
	   AND r.customer_id IN (SELECT c.id FROM repairsys.customer c WHERE c.service_center_id = ANY (v_centers));
	INSERT INTO repairsys.customer_rollup SELECT * FROM repairsys.customer_rollup_recomputed(v_centers);
	ANALYZE repairsys.ticket_fact, repairsys.customer_rollup;
	RETURN tickets;
END
$$;
COMMENT ON FUNCTION repairsys.demo_load_bulk(integer, integer, integer, text) IS 'The set-based path of demo_load (more than 2000 tickets or more than one month): a company sized for the volume and tickets over the last months months, written as an import by the table owner with their history, estimates, parts, invoices, payments, feedback and follow-ups (docs/reports.md)';

------------------------------------------------------------------------------
-- 3i. Booked visits survive calendar changes: holidays, a center's time zone, a technician's move or deactivation (issue 18)
------------------------------------------------------------------------------
-- (/tmp/recheck_upgrade.sql)
-- The booked visits of the technicians of some centers (of every center when
-- every_center) on the local dates d0 - 1 .. d1 + 1 (every date when d0 is
-- NULL) stay within the technicians' rostered hours: 23514 otherwise.  Every
-- technician of those centers is locked first, in id order: a booking takes
-- its technician's lock before it reads the calendar, so a booking and a
-- calendar change are serialized whichever comes first, and the second sees
-- what the first committed.  (A night window of the day before reaches into
-- a day: hence the day before.)
CREATE FUNCTION repairsys.recheck_visits(centers bigint[], every_center boolean, d0 date, d1 date)
RETURNS void
LANGUAGE plpgsql
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
DECLARE
	tech bigint;
	v    record;
BEGIN
	FOR tech IN SELECT te.id FROM repairsys.technician te
	             WHERE every_center OR te.service_center_id = ANY (centers)
	             ORDER BY te.id
	LOOP
		PERFORM repairsys.lock_technician(tech);
	END LOOP;
	SELECT a.id, a.ticket_id, a.slot_start, a.technician_id INTO v
	  FROM repairsys.appointment a
	  JOIN repairsys.technician te ON te.id = a.technician_id
	 WHERE a.state = 'booked'
	   AND (every_center OR te.service_center_id = ANY (centers))
	   AND (d0 IS NULL
	        OR (a.slot_start AT TIME ZONE repairsys.center_time_zone(te.service_center_id))::date BETWEEN d0 - 1 AND d1 + 1)
	   AND NOT (repairsys.roster_ranges(a.technician_id, a.slot_start, a.slot_end) @> pg_catalog.tstzrange(a.slot_start, a.slot_end))
	 ORDER BY a.slot_start, a.id LIMIT 1;
	IF FOUND THEN
		RAISE EXCEPTION 'technician % would have a booked visit outside his rostered hours', v.technician_id
			USING ERRCODE = '23514',
			      DETAIL = pg_catalog.format('Appointment %s of ticket %s at %s.', v.id, v.ticket_id, v.slot_start),
			      HINT = 'Reschedule or cancel the visits first (repairsys.reschedule_visit()).';
	END IF;
END
$$;
COMMENT ON FUNCTION repairsys.recheck_visits(bigint[], boolean, date, date) IS 'After a calendar change: the booked visits of the centers'' technicians (on the dates around d0..d1, all when d0 is NULL) are within their rostered hours (23514 otherwise), checked under the technicians'' row locks';

-- AFTER INSERT OR UPDATE OR DELETE on holiday: a closed date added, or a
-- make-up working day taken away, keeps the booked visits of the center (of
-- every center, for an all-center row) within the rostered hours.  Rows the
-- table owner inserts (a restore, a migration) are taken as they are: a
-- restore loads the holidays before the rosters that the check reads.
CREATE FUNCTION repairsys.holiday_visits_trg()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
BEGIN
	IF TG_OP = 'INSERT' AND repairsys.is_table_owner(TG_RELID) THEN
		RETURN NULL;
	END IF;
	IF TG_OP = 'INSERT' THEN
		PERFORM repairsys.recheck_visits(ARRAY[NEW.service_center_id], NEW.service_center_id IS NULL, NEW.day, NEW.day);
	ELSIF TG_OP = 'DELETE' THEN
		PERFORM repairsys.recheck_visits(ARRAY[OLD.service_center_id], OLD.service_center_id IS NULL, OLD.day, OLD.day);
	ELSE
		PERFORM repairsys.recheck_visits(ARRAY[NEW.service_center_id, OLD.service_center_id],
		                                 NEW.service_center_id IS NULL OR OLD.service_center_id IS NULL,
		                                 least(NEW.day, OLD.day), greatest(NEW.day, OLD.day));
	END IF;
	RETURN NULL;
END
$$;
COMMENT ON FUNCTION repairsys.holiday_visits_trg() IS 'AFTER trigger of holiday: a closed date added or a make-up working day removed keeps every booked visit of the center''s technicians within their rostered hours (recheck_visits, 23514); rows the table owner inserts (restore) are taken as they are';
CREATE TRIGGER holiday_10_visits AFTER INSERT OR UPDATE OR DELETE ON repairsys.holiday
	FOR EACH ROW EXECUTE FUNCTION repairsys.holiday_visits_trg();

-- AFTER UPDATE OF time_zone on service_center: the center's shifts move with
-- its time zone, and its booked visits must stay within them.
CREATE FUNCTION repairsys.center_visits_trg()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
BEGIN
	PERFORM repairsys.recheck_visits(ARRAY[NEW.id], false, NULL, NULL);
	RETURN NULL;
END
$$;
COMMENT ON FUNCTION repairsys.center_visits_trg() IS 'AFTER UPDATE trigger of service_center: a new time zone keeps every booked visit of the center''s technicians within their rostered hours (recheck_visits, 23514)';
CREATE TRIGGER service_center_10_visits AFTER UPDATE OF time_zone ON repairsys.service_center
	FOR EACH ROW WHEN (OLD.time_zone IS DISTINCT FROM NEW.time_zone)
	EXECUTE FUNCTION repairsys.center_visits_trg();

-- AFTER UPDATE OF active, service_center_id on technician: a technician with
-- booked visits is not deactivated (he could not make them), and moving him
-- to another center (its time zone, holidays and make-up days) leaves his
-- booked visits within his rostered hours (23514 otherwise).  The row being
-- updated is locked, like lock_technician() locks it for a booking.
CREATE FUNCTION repairsys.technician_visits_trg()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
DECLARE
	v record;
BEGIN
	IF NOT NEW.active AND OLD.active THEN
		SELECT a.id, a.ticket_id, a.slot_start INTO v
		  FROM repairsys.appointment a
		 WHERE a.technician_id = NEW.id AND a.state = 'booked'
		 ORDER BY a.slot_start, a.id LIMIT 1;
		IF FOUND THEN
			RAISE EXCEPTION 'technician % has booked visits and cannot be deactivated', NEW.id
				USING ERRCODE = '23514',
				      DETAIL = pg_catalog.format('Appointment %s of ticket %s at %s.', v.id, v.ticket_id, v.slot_start),
				      HINT = 'Reschedule or cancel the visits first (repairsys.reschedule_visit()).';
		END IF;
	END IF;
	IF NEW.service_center_id IS DISTINCT FROM OLD.service_center_id THEN
		SELECT a.id, a.ticket_id, a.slot_start INTO v
		  FROM repairsys.appointment a
		 WHERE a.technician_id = NEW.id AND a.state = 'booked'
		   AND NOT (repairsys.roster_ranges(a.technician_id, a.slot_start, a.slot_end) @> pg_catalog.tstzrange(a.slot_start, a.slot_end))
		 ORDER BY a.slot_start, a.id LIMIT 1;
		IF FOUND THEN
			RAISE EXCEPTION 'technician % would have a booked visit outside his rostered hours in center %', NEW.id, NEW.service_center_id
				USING ERRCODE = '23514',
				      DETAIL = pg_catalog.format('Appointment %s of ticket %s at %s.', v.id, v.ticket_id, v.slot_start),
				      HINT = 'Reschedule or cancel the visits first (repairsys.reschedule_visit()).';
		END IF;
	END IF;
	RETURN NULL;
END
$$;
COMMENT ON FUNCTION repairsys.technician_visits_trg() IS 'AFTER UPDATE trigger of technician: a technician with booked visits is not deactivated, and a move to another center keeps his booked visits within his rostered hours (23514)';
CREATE TRIGGER technician_10_visits AFTER UPDATE OF active, service_center_id ON repairsys.technician
	FOR EACH ROW WHEN (OLD.active IS DISTINCT FROM NEW.active OR OLD.service_center_id IS DISTINCT FROM NEW.service_center_id)
	EXECUTE FUNCTION repairsys.technician_visits_trg();

------------------------------------------------------------------------------
-- 3i. Published, versioned prices: service_price, price_at(), price_list (issue 17 item 4)
------------------------------------------------------------------------------
-- (src/sql/28_tables_prices.sql)
------------------------------------------------------------------------------
-- Published, versioned prices (收费标准公示; feature: prices, see
-- 43_prices.sql and docs/billing.md, "Published prices"): every version of
-- every service type's prices, past, in force and scheduled.
------------------------------------------------------------------------------
-- A version is in force from its effective_from until the next version of
-- the same service type takes effect; repairsys.price_at(service_type, at)
-- finds it.  A price change is a new row with a future effective_from, so it
-- takes effect at that instant with nobody acting.  Rows are written by the
-- admin (a plain INSERT, UPDATE or DELETE) under the rules of the table's
-- triggers (43_prices.sql): a version is never scheduled in the past, and
-- once it has taken effect it is never changed nor withdrawn (23514), so the
-- history answers "what did this cost on 1 March?" for audits.  A new service
-- type gets its first version from its own columns (first_version), and an
-- UPDATE of service_type's price columns is a new version in force now.
CREATE TABLE repairsys.service_price (
	service_type   text NOT NULL REFERENCES repairsys.service_type ON UPDATE CASCADE ON DELETE CASCADE,
	effective_from timestamptz NOT NULL,
	labor_fee      repairsys.fee_tier NOT NULL,
	travel_fee     repairsys.fee_tier,
	callout_fee    numeric(14,2) NOT NULL DEFAULT 0 CHECK (callout_fee >= 0),
	first_version  boolean NOT NULL DEFAULT false,
	created_at     timestamptz NOT NULL DEFAULT now(),
	created_by     name NOT NULL DEFAULT current_user,
	PRIMARY KEY (service_type, effective_from),
	CHECK (created_at <= effective_from)
);
-- a service type has one first version: the one made with it (a restore
-- brings it back in place of the one its restored type made)
CREATE UNIQUE INDEX service_price_first_idx ON repairsys.service_price (service_type) WHERE first_version;
COMMENT ON TABLE repairsys.service_price IS 'Every version of every service type''s prices (收费标准): each is in force from effective_from until the next one; scheduled ahead, never changed once in force (price_at() reads it)';
COMMENT ON COLUMN repairsys.service_price.service_type IS 'Service type';
COMMENT ON COLUMN repairsys.service_price.effective_from IS 'When the version takes effect (never in the past when it is written)';
COMMENT ON COLUMN repairsys.service_price.labor_fee IS 'Labor price schedule per minute of work';
COMMENT ON COLUMN repairsys.service_price.travel_fee IS 'Travel price schedule per km (NULL: travel is free)';
COMMENT ON COLUMN repairsys.service_price.callout_fee IS 'Fixed call-out fee per visit';
COMMENT ON COLUMN repairsys.service_price.first_version IS 'True for the version made from the service type''s columns when the type was created (set by repairsys); it also prices tickets opened before it (backdated or imported)';
COMMENT ON COLUMN repairsys.service_price.created_at IS 'When the version was written (set by repairsys)';
COMMENT ON COLUMN repairsys.service_price.created_by IS 'Role that wrote the version (set by repairsys)';
SELECT pg_catalog.pg_extension_config_dump('repairsys.service_price', '');

-- (src/sql/43_prices.sql)
-- Published, versioned prices (收费标准公示; docs/billing.md, "Published
-- prices"): the version of a service type's prices in force at an instant,
-- the rules of repairsys.service_price (28_tables_prices.sql), and the price
-- list a customer reads.
--
-- The rules read the version in force, never a column a job updates: an
-- estimate and the approval's snapshot take price_at(service_type, the
-- ticket's opened_at) (compute_bill, ticket_price_snapshot_trg in
-- 40_billing.sql), price_list takes price_at(service_type, now()).  So a
-- version scheduled for an instant is in force from that instant with nobody
-- acting.  service_type's own price columns mirror the version in force: they
-- are brought up to date by every write of a version and by run_jobs()
-- (job current_prices), and nothing that prices a ticket reads them.

------------------------------------------------------------------------------
-- The version in force
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
-- The rules of service_price
------------------------------------------------------------------------------
-- BEFORE INSERT OR UPDATE OR DELETE on service_price, for every role but the
-- table owner (restore, migration, a DBA who corrects history knowingly):
--   * a version is never written to take effect in the past (23514): the
--     prices in force until now are history;
--   * a version that has taken effect (effective_from before now()) is never
--     changed nor withdrawn (23514), so price_at() of a past instant always
--     answers what was in force then; a future one may be changed or
--     withdrawn until its instant.  (A version taking effect at the current
--     transaction's instant, i.e. written by it, may still be replaced by it:
--     two price changes in one transaction are one version.)  Renaming the
--     service type (ON UPDATE CASCADE) and deleting it (ON DELETE CASCADE: a
--     type no ticket uses) move or remove its versions with it;
--   * created_at, created_by and first_version are set by repairsys.
-- The decision, 23514 rather than 55000: as for an approval that is never
-- withdrawn, it is a rule of the domain that refuses the change.  The table
-- owner's rows are taken as they are; a restored first version replaces the
-- one its restored service type made (the history comes with the dump).
CREATE FUNCTION repairsys.service_price_rules_trg()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
BEGIN
	IF repairsys.is_table_owner(TG_RELID) THEN
		IF TG_OP = 'INSERT' AND NEW.first_version THEN
			DELETE FROM repairsys.service_price p
			 WHERE p.service_type = NEW.service_type AND p.first_version;
		END IF;
		IF TG_OP = 'DELETE' THEN
			RETURN OLD;
		END IF;
		RETURN NEW;
	END IF;
	IF TG_OP = 'DELETE' THEN
		IF OLD.effective_from < now()
		   AND EXISTS (SELECT 1 FROM repairsys.service_type s WHERE s.code = OLD.service_type) THEN
			RAISE EXCEPTION 'cannot withdraw prices of service type "%" that have taken effect', OLD.service_type
				USING ERRCODE = '23514',
				      DETAIL = pg_catalog.format('The version effective from %s is in force or past: it is kept for audits (price_at); only a scheduled one may be withdrawn.', OLD.effective_from),
				      HINT = 'Schedule a new version instead.';
		END IF;
		RETURN OLD;
	END IF;
	IF TG_OP = 'UPDATE' THEN
		NEW.first_version := OLD.first_version;
		NEW.created_at := OLD.created_at;
		NEW.created_by := OLD.created_by;
		IF (NEW.effective_from, NEW.labor_fee, NEW.travel_fee, NEW.callout_fee)
		   IS NOT DISTINCT FROM (OLD.effective_from, OLD.labor_fee, OLD.travel_fee, OLD.callout_fee) THEN
			RETURN NEW;		-- the service type renamed, or nothing changed
		END IF;
		IF OLD.effective_from < now() THEN
			RAISE EXCEPTION 'cannot change prices of service type "%" that have taken effect', OLD.service_type
				USING ERRCODE = '23514',
				      DETAIL = pg_catalog.format('The version effective from %s is in force or past: it is kept for audits (price_at); only a scheduled one may be changed.', OLD.effective_from),
				      HINT = 'Schedule a new version instead.';
		END IF;
	ELSE
		NEW.created_at := now();
		NEW.created_by := CURRENT_USER;
		NEW.first_version := NOT EXISTS (SELECT 1 FROM repairsys.service_price p WHERE p.service_type = NEW.service_type);
	END IF;
	IF NEW.effective_from < now() THEN
		RAISE EXCEPTION 'cannot schedule prices of service type "%" in the past', NEW.service_type
			USING ERRCODE = '23514',
			      DETAIL = pg_catalog.format('The version would take effect at %s, before now (%s): the prices in force until now are history.',
			                                 NEW.effective_from, now()),
			      HINT = 'Schedule it at now() or later.';
	END IF;
	RETURN NEW;
END
$$;
COMMENT ON FUNCTION repairsys.service_price_rules_trg() IS 'BEFORE INSERT OR UPDATE OR DELETE trigger of service_price: refuses (23514) a version in the past and any change or withdrawal of one that has taken effect; sets created_at, created_by, first_version; the table owner may (a restored first version replaces the one its type made)';
CREATE TRIGGER service_price_10_rules BEFORE INSERT OR UPDATE OR DELETE ON repairsys.service_price
	FOR EACH ROW EXECUTE FUNCTION repairsys.service_price_rules_trg();

-- Brings service_type's price columns to the version in force now (those of
-- one type, or of every type when code is NULL); returns how many rows it
-- changed.  The columns mirror the published prices for people and
-- applications that read them; no rule reads them.
CREATE FUNCTION repairsys.sync_current_prices(code text DEFAULT NULL)
RETURNS integer
LANGUAGE plpgsql VOLATILE
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
DECLARE
	n integer;
BEGIN
	UPDATE repairsys.service_type s
	   SET labor_fee = (v.p).labor_fee, travel_fee = (v.p).travel_fee, callout_fee = (v.p).callout_fee
	  FROM (SELECT x.code, repairsys.price_version_at(x.code, now()) AS p
	          FROM repairsys.service_type x
	         WHERE sync_current_prices.code IS NULL OR x.code = sync_current_prices.code) v
	 WHERE s.code = v.code AND (v.p).service_type IS NOT NULL
	   AND (s.labor_fee, s.travel_fee, s.callout_fee) IS DISTINCT FROM ((v.p).labor_fee, (v.p).travel_fee, (v.p).callout_fee);
	GET DIAGNOSTICS n = ROW_COUNT;
	RETURN n;
END
$$;
COMMENT ON FUNCTION repairsys.sync_current_prices(text) IS 'Sets service_type''s price columns to the version in force now (one type, or all when NULL); returns the number of types changed (run_jobs() calls it: job current_prices)';

-- AFTER INSERT OR UPDATE OR DELETE on service_price: the type's columns show
-- the version in force now.
CREATE FUNCTION repairsys.service_price_current_trg()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
BEGIN
	PERFORM repairsys.sync_current_prices(CASE WHEN TG_OP = 'DELETE' THEN OLD.service_type ELSE NEW.service_type END);
	RETURN NULL;
END
$$;
COMMENT ON FUNCTION repairsys.service_price_current_trg() IS 'AFTER INSERT OR UPDATE OR DELETE trigger of service_price: sets the service type''s price columns to the version in force now';
CREATE TRIGGER service_price_20_current AFTER INSERT OR UPDATE OR DELETE ON repairsys.service_price
	FOR EACH ROW EXECUTE FUNCTION repairsys.service_price_current_trg();

------------------------------------------------------------------------------
-- Writes of service_type's price columns are versions
------------------------------------------------------------------------------
-- AFTER INSERT on service_type: the new type's first version, in force from
-- now, from its columns.  AFTER UPDATE OF its price columns: the change is a
-- new version in force now (the columns the UPDATE did not change keep the
-- values of the version in force, which a scheduled version may have changed
-- since the columns were last brought up to date); two changes in one
-- transaction make one version.  So the writes that predate versions (an
-- admin's UPDATE, demo_load, imports) keep working and keep the history.
-- (Not SECURITY DEFINER: whoever may write service_type, the admin, may
-- write service_price.)
CREATE FUNCTION repairsys.service_type_prices_trg()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
DECLARE
	v repairsys.service_price;
BEGIN
	IF TG_OP = 'INSERT' THEN
		INSERT INTO repairsys.service_price (service_type, effective_from, labor_fee, travel_fee, callout_fee, first_version)
		VALUES (NEW.code, now(), NEW.labor_fee, NEW.travel_fee, NEW.callout_fee, true);
		RETURN NULL;
	END IF;
	IF (NEW.labor_fee, NEW.travel_fee, NEW.callout_fee) IS NOT DISTINCT FROM (OLD.labor_fee, OLD.travel_fee, OLD.callout_fee) THEN
		RETURN NULL;
	END IF;
	v := repairsys.price_version_at(NEW.code, now());
	IF v.service_type IS NOT NULL AND v.effective_from <= now()
	   AND (v.labor_fee, v.travel_fee, v.callout_fee) IS NOT DISTINCT FROM (NEW.labor_fee, NEW.travel_fee, NEW.callout_fee) THEN
		RETURN NULL;		-- the columns brought up to the version in force
	END IF;
	IF NEW.labor_fee IS DISTINCT FROM OLD.labor_fee THEN v.labor_fee := NEW.labor_fee; END IF;
	IF NEW.travel_fee IS DISTINCT FROM OLD.travel_fee THEN v.travel_fee := NEW.travel_fee; END IF;
	IF NEW.callout_fee IS DISTINCT FROM OLD.callout_fee THEN v.callout_fee := NEW.callout_fee; END IF;
	INSERT INTO repairsys.service_price AS p (service_type, effective_from, labor_fee, travel_fee, callout_fee)
	VALUES (NEW.code, now(), coalesce(v.labor_fee, NEW.labor_fee),
	        CASE WHEN v.service_type IS NULL THEN NEW.travel_fee ELSE v.travel_fee END,
	        coalesce(v.callout_fee, NEW.callout_fee))
	ON CONFLICT (service_type, effective_from) DO UPDATE
	   SET labor_fee = EXCLUDED.labor_fee, travel_fee = EXCLUDED.travel_fee, callout_fee = EXCLUDED.callout_fee;
	RETURN NULL;
END
$$;
COMMENT ON FUNCTION repairsys.service_type_prices_trg() IS 'AFTER INSERT OR UPDATE OF labor_fee, travel_fee, callout_fee trigger of service_type: a new type''s first version in force from now; a change of its price columns is a new version in force now (one per transaction)';
CREATE TRIGGER service_type_10_first_price AFTER INSERT ON repairsys.service_type
	FOR EACH ROW EXECUTE FUNCTION repairsys.service_type_prices_trg();
CREATE TRIGGER service_type_20_price_version AFTER UPDATE OF labor_fee, travel_fee, callout_fee ON repairsys.service_type
	FOR EACH ROW EXECUTE FUNCTION repairsys.service_type_prices_trg();

------------------------------------------------------------------------------
-- The price list a customer reads
------------------------------------------------------------------------------
-- The words of the price list in a language (en, zh-CN).
CREATE FUNCTION repairsys.price_label(language text, key text)
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = repairsys, pg_catalog, pg_temp
BEGIN ATOMIC
	SELECT CASE WHEN language = 'zh-CN' THEN v.zh ELSE v.en END
	  FROM (VALUES
		('callout', 'Call-out fee, per visit', '上门费（每次上门）'),
		('labor', 'Labor', '人工费'),
		('travel', 'Travel', '路程费'),
		('base', '%s: base fee', '%s：基本费'),
		('tier', '%s: %s %s, per %s', '%s：%s %s，每%s'),
		('volume', '%s: the whole quantity at the rate of the tier it falls in', '%s：全部数量按所在档的单价计'),
		('min', '%s: minimum charge', '%s：最低收费'),
		('max', '%s: maximum charge', '%s：最高收费'),
		('free', '%s: free', '%s：免费'),
		('min_unit', 'min', '分钟'),
		('km_unit', 'km', '公里'),
		('surcharge', 'Urgency "%s": surcharge on labor', '加急费（%s）：按人工费加收'),
		('complexity', 'Complexity level %s: labor x %s', '复杂度 %s 级：人工费 x %s')
	  ) AS v(k, en, zh)
	 WHERE v.k = key;
END;
COMMENT ON FUNCTION repairsys.price_label(text, text) IS 'A text of the price list in the language (en, zh-CN)';

-- The lines of one price schedule (labor or travel), worded: base fee, one
-- per tier with its rate, minimum, maximum, and how a volume schedule
-- charges.  Read from the schedule's canonical text (fee_tier_out).
CREATE FUNCTION repairsys.schedule_price_lines(fee repairsys.fee_tier, what text, unit text, language text,
	OUT n integer, OUT description text, OUT unit_name text, OUT price numeric)
RETURNS SETOF record
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = repairsys, pg_catalog, pg_temp
BEGIN ATOMIC
	SELECT e.n::integer,
	       CASE WHEN e.item ~ '^base=' THEN pg_catalog.format(repairsys.price_label(language, 'base'), repairsys.price_label(language, what))
	            WHEN e.item ~ '^min=' THEN pg_catalog.format(repairsys.price_label(language, 'min'), repairsys.price_label(language, what))
	            WHEN e.item ~ '^max=' THEN pg_catalog.format(repairsys.price_label(language, 'max'), repairsys.price_label(language, what))
	            WHEN e.item = 'volume' THEN pg_catalog.format(repairsys.price_label(language, 'volume'), repairsys.price_label(language, what))
	            ELSE pg_catalog.format(repairsys.price_label(language, 'tier'), repairsys.price_label(language, what),
	                                   pg_catalog.split_part(e.item, ':', 1), repairsys.price_label(language, unit),
	                                   repairsys.price_label(language, unit)) END,
	       CASE WHEN e.item ~ '^[0-9]' THEN repairsys.price_label(language, unit) END,
	       CASE WHEN e.item ~ '=' THEN pg_catalog.split_part(e.item, '=', 2)::numeric
	            WHEN e.item ~ ':' THEN pg_catalog.split_part(e.item, ':', 2)::numeric END
	  FROM pg_catalog.regexp_split_to_table(fee::text, ',\s*') WITH ORDINALITY AS e(item, n)
	 WHERE fee IS NOT NULL
	 ORDER BY e.n;
END;
COMMENT ON FUNCTION repairsys.schedule_price_lines(repairsys.fee_tier, text, text, text) IS 'The lines of a price schedule for the price list, worded in the language: base fee, one per tier (rate per unit), minimum, maximum, volume';

-- The lines of a service type's prices in force at an instant (default now),
-- in a language (default en): the call-out fee, each labor line, each travel
-- line (or "free").  "What did this cost on 1 March?" is
-- price_lines(type, '2026-03-01').
CREATE FUNCTION repairsys.price_lines(service_type text, at timestamptz DEFAULT now(), language text DEFAULT 'en',
	OUT line_no integer, OUT kind text, OUT description text, OUT unit text, OUT price numeric, OUT effective_from timestamptz)
RETURNS SETOF record
LANGUAGE plpgsql STABLE
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
DECLARE
	v repairsys.service_price;
	l record;
	k integer := 0;
BEGIN
	IF price_lines.language IS NULL OR price_lines.language NOT IN ('en', 'zh-CN') THEN
		RAISE EXCEPTION 'invalid language "%"', coalesce(price_lines.language, 'NULL')
			USING ERRCODE = '22023', HINT = 'The languages are en and zh-CN.';
	END IF;
	v := repairsys.price_at(price_lines.service_type, price_lines.at);
	effective_from := v.effective_from;
	k := k + 1; line_no := k; kind := 'callout';
	description := repairsys.price_label(price_lines.language, 'callout'); unit := NULL; price := v.callout_fee;
	RETURN NEXT;
	FOR l IN SELECT * FROM repairsys.schedule_price_lines(v.labor_fee, 'labor', 'min_unit', price_lines.language) LOOP
		k := k + 1; line_no := k; kind := 'labor'; description := l.description; unit := l.unit_name; price := l.price;
		RETURN NEXT;
	END LOOP;
	IF v.travel_fee IS NULL THEN
		k := k + 1; line_no := k; kind := 'travel';
		description := pg_catalog.format(repairsys.price_label(price_lines.language, 'free'), repairsys.price_label(price_lines.language, 'travel'));
		unit := NULL; price := 0.00;
		RETURN NEXT;
	END IF;
	FOR l IN SELECT * FROM repairsys.schedule_price_lines(v.travel_fee, 'travel', 'km_unit', price_lines.language) LOOP
		k := k + 1; line_no := k; kind := 'travel'; description := l.description; unit := l.unit_name; price := l.price;
		RETURN NEXT;
	END LOOP;
END
$$;
COMMENT ON FUNCTION repairsys.price_lines(text, timestamptz, text) IS 'The published price lines of a service type at an instant (default now) in a language (en, zh-CN): call-out, labor and travel lines, with the version''s effective_from; 22023 for an invalid language or instant, 23503 for an unknown type';

-- The language of the reader of the price list: a customer's own
-- (customer.language, else the setting), anybody else's the setting.
CREATE FUNCTION repairsys.reader_language()
RETURNS text
LANGUAGE sql STABLE
SET search_path = repairsys, pg_catalog, pg_temp
BEGIN ATOMIC
	SELECT repairsys.customer_language((SELECT c.id FROM repairsys.customer c WHERE c.db_role = CURRENT_USER LIMIT 1));
END;
COMMENT ON FUNCTION repairsys.reader_language() IS 'The language the current role reads: a customer''s own (customer.language, else the setting language), else the setting language';

CREATE VIEW repairsys.price_list WITH (security_invoker = true) AS
SELECT s.code AS service_type, s.name AS service_name, l.line_no, l.kind, l.description, l.unit, l.price,
       l.effective_from, r.lang AS language
  FROM (SELECT repairsys.reader_language() AS lang) r
 CROSS JOIN repairsys.service_type s
 CROSS JOIN LATERAL repairsys.price_lines(s.code, now(), r.lang) l
UNION ALL
SELECT NULL, NULL, 1000 + row_number() OVER (ORDER BY u.rank, u.urgency)::integer, 'surcharge',
       pg_catalog.format(repairsys.price_label(r.lang, 'surcharge'), u.urgency), '%', u.surcharge_pct, NULL, r.lang
  FROM (SELECT repairsys.reader_language() AS lang) r
 CROSS JOIN repairsys.urgency_rule u
 WHERE u.surcharge_pct > 0
UNION ALL
SELECT NULL, NULL, 2000 + c.level, 'complexity',
       pg_catalog.format(repairsys.price_label(r.lang, 'complexity'), c.level, repairsys.fmt_num(c.factor)), NULL, c.factor, NULL, r.lang
  FROM (SELECT repairsys.reader_language() AS lang) r
 CROSS JOIN repairsys.complexity_rule c
 WHERE c.factor <> 1;
COMMENT ON VIEW repairsys.price_list IS 'The published prices now (收费标准公示), one row per line a customer reads, in the reader''s language: each service type''s call-out, labor and travel lines (the version in force now), then the urgency surcharges and complexity factors that apply to every type';
COMMENT ON COLUMN repairsys.price_list.service_type IS 'Service type code (NULL: a surcharge or factor of every type)';
COMMENT ON COLUMN repairsys.price_list.service_name IS 'Service type name';
COMMENT ON COLUMN repairsys.price_list.line_no IS 'Order of the line within its service type (surcharges from 1001, complexity factors from 2001)';
COMMENT ON COLUMN repairsys.price_list.kind IS 'callout, labor, travel, surcharge or complexity';
COMMENT ON COLUMN repairsys.price_list.description IS 'The line in words, in the reader''s language';
COMMENT ON COLUMN repairsys.price_list.unit IS 'Unit the price is per (min, km, % of labor), NULL for a fixed amount or a factor';
COMMENT ON COLUMN repairsys.price_list.price IS 'The amount, rate, percentage or factor';
COMMENT ON COLUMN repairsys.price_list.effective_from IS 'When the version of the service type''s prices took effect (NULL for surcharges and factors)';
COMMENT ON COLUMN repairsys.price_list.language IS 'Language of the descriptions (en, zh-CN)';

-- (src/sql/40_billing.sql, changed)
-- 40_billing.sql: compute_bill prices an unapproved ticket at the version in force when it was opened
-- The bill lines of ticket t for the given labor minutes and travel km (NULL:
-- none recorded).  With for_estimate, reserved parts count as well as used
-- ones.  Prices come from the ticket's snapshot when the estimate was
-- approved, else from the published version in force when the ticket was
-- opened (price_at(service_type, opened_at), 43_prices.sql): a price change
-- scheduled later never changes the estimate of a ticket already open.
CREATE OR REPLACE FUNCTION repairsys.compute_bill(t repairsys.ticket, minutes numeric, km numeric, for_estimate boolean DEFAULT false,
	OUT line_no integer, OUT kind text, OUT description text, OUT quantity numeric, OUT unit text,
	OUT unit_price numeric, OUT amount numeric, OUT tax_rate numeric, OUT tax_amount numeric)
RETURNS SETOF record
LANGUAGE plpgsql STABLE
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
	rework    bigint := repairsys.rework_of(t);
	wdate     date;
	d         numeric;
	-- what is left to discount per tax rate: amounts and their taxes
	left_l    numeric := 0;
	left_tl   numeric := 0;
	left_p    numeric := 0;
	left_tp   numeric := 0;
	piece     numeric;
	share     record;
BEGIN
	IF t.price_labor_fee IS NULL THEN
		pv := repairsys.price_at(t.service_type, coalesce(t.opened_at, now()));
	END IF;
	labor_fee := coalesce(t.price_labor_fee, pv.labor_fee);
	travel_fee := CASE WHEN t.price_labor_fee IS NOT NULL THEN t.price_travel_fee ELSE pv.travel_fee END;
	callout := coalesce(t.price_callout_fee, pv.callout_fee, 0);
	factor := coalesce(t.price_complexity_factor, (SELECT c.factor FROM repairsys.complexity_rule c WHERE c.level = t.complexity), 1);
	pct := coalesce(t.price_surcharge_pct, (SELECT u.surcharge_pct FROM repairsys.urgency_rule u WHERE u.urgency = t.urgency), 0);
	rate_l := round(coalesce(t.price_tax_rate_labor, repairsys.setting_value('tax_rate_labor')::numeric), 4);
	rate_p := round(coalesce(t.price_tax_rate_parts, repairsys.setting_value('tax_rate_parts')::numeric), 4);
	SELECT a.warranty_until INTO wdate FROM repairsys.asset a WHERE a.id = t.asset_id;

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

	-- parts, at the price of when they were reserved
	FOR l IN SELECT tp.sku, p.name, sum(tp.qty) AS qty, tp.unit_price, tp.covered
	           FROM repairsys.ticket_part tp JOIN repairsys.part p ON p.sku = tp.sku
	          WHERE tp.ticket_id = t.id AND (tp.state = 'used' OR (for_estimate AND tp.state = 'reserved'))
	          GROUP BY tp.sku, p.name, tp.unit_price, tp.covered
	          ORDER BY tp.sku, tp.unit_price
	LOOP
		n := n + 1; line_no := n; kind := 'part';
		description := pg_catalog.format('Part %s (%s)', l.name, l.sku);
		quantity := l.qty; unit := 'pcs'; unit_price := l.unit_price; amount := l.qty * l.unit_price;
		tax_rate := rate_p; tax_amount := round(amount * rate_p, 2);
		subtotal := subtotal + amount;
		IF NOT l.covered THEN
			left_p := left_p + amount; left_tp := left_tp + tax_amount;
		END IF;
		RETURN NEXT;
		IF l.covered THEN
			n := n + 1; line_no := n; kind := 'coverage';
			description := pg_catalog.format('Product warranty covers part %s (%s)', l.name, l.sku);
			quantity := NULL; unit := NULL; unit_price := NULL; amount := -(l.qty * l.unit_price);
			tax_rate := rate_p; tax_amount := -tax_amount;	-- exactly the part line's tax
			subtotal := subtotal + amount;
			RETURN NEXT;
		END IF;
	END LOOP;

	-- coverage of the service: product warranty covers it all, a repeat repair its labor
	quantity := NULL; unit := NULL; unit_price := NULL;
	-- (a coverage line takes off exactly the amounts and taxes it covers, so
	-- covered work nets to zero to the cent)
	IF warranty THEN
		FOR l IN SELECT * FROM (VALUES
				(1, 'Product warranty (until ' || pg_catalog.to_char(wdate, 'YYYY-MM-DD') || ') covers labor, complexity and urgency surcharge', labor + cx + sur, tx_labor),
				(2, 'Product warranty covers the call-out fee', callout, tx_call),
				(3, 'Product warranty covers travel', travel, tx_travel)) AS x(o, what, amt, tx)
			WHERE amt > 0 ORDER BY o
		LOOP
			n := n + 1; line_no := n; kind := 'coverage'; description := l.what; amount := -l.amt;
			tax_rate := rate_l; tax_amount := -l.tx;
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
	FOR l IN SELECT x.description, x.amount FROM repairsys.ticket_discount x WHERE x.ticket_id = t.id ORDER BY x.id LOOP
		d := l.amount;
		FOR share IN SELECT * FROM (VALUES (1, rate_l), (2, rate_p)) AS v(o, rate) ORDER BY o LOOP
			piece := LEAST(d, CASE share.o WHEN 1 THEN left_l ELSE left_p END);
			CONTINUE WHEN piece <= 0;
			n := n + 1; line_no := n; kind := 'discount';
			description := 'Discount: ' || l.description || CASE WHEN share.o = 2 THEN ' (on parts)' ELSE '' END;
			quantity := NULL; unit := NULL; unit_price := NULL;
			amount := -piece; tax_rate := share.rate;
			IF share.o = 1 THEN
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
	END LOOP;
END
$$;
COMMENT ON FUNCTION repairsys.compute_bill(repairsys.ticket, numeric, numeric, boolean) IS 'Bill lines of a ticket for given labor minutes and travel km: call-out, labor tier slices, complexity, urgency surcharge, travel slices, parts, warranty and rework coverage, discounts; each with its tax';

-- (the first versions)
-- (20_tables.sql: service_type's price columns mirror the version in force)
COMMENT ON COLUMN repairsys.service_type.labor_fee IS 'Labor price schedule per minute of work: the published version in force (service_price; an UPDATE is a new version in force now; no rule reads this column, they read price_at())';
COMMENT ON COLUMN repairsys.service_type.travel_fee IS 'Travel price schedule per km (NULL: travel is free): the published version in force (service_price, as labor_fee)';
COMMENT ON COLUMN repairsys.service_type.callout_fee IS 'Fixed call-out fee per visit: the published version in force (service_price, as labor_fee)';
-- every service type's first version: its columns of today, in force from the
-- update (and, as the first version, for every ticket opened before it: their
-- bills stay what 1.1 computed from the same columns)
INSERT INTO repairsys.service_price (service_type, effective_from, labor_fee, travel_fee, callout_fee, first_version, created_at, created_by)
SELECT s.code, now(), s.labor_fee, s.travel_fee, s.callout_fee, true, now(), CURRENT_USER
  FROM repairsys.service_type s
 ORDER BY s.code;

------------------------------------------------------------------------------
-- 3i. Approval authority for fees (issue 17 item 6)
------------------------------------------------------------------------------
-- 20_tables.sql: ticket_discount gains its approval; the discounts given
-- before 1.2 were on the bill, so they become approved, by who gave them,
-- when they gave them, measured on the bill of now
ALTER TABLE repairsys.ticket_discount
	ADD COLUMN status text CHECK (status IN ('pending', 'approved', 'rejected')),
	ADD COLUMN requested_by name NOT NULL DEFAULT current_user,
	ADD COLUMN approved_by name,
	ADD COLUMN approved_at timestamptz,
	ADD COLUMN bill_basis numeric(14,2),
	ADD CONSTRAINT ticket_discount_decision_check CHECK ((approved_by IS NULL) = (approved_at IS NULL)),
	ADD CONSTRAINT ticket_discount_pending_check CHECK (status <> 'pending' OR approved_by IS NULL);
COMMENT ON TABLE repairsys.ticket_discount IS 'Discounts granted on a ticket''s bill (each a discount line, before tax); only approved ones are on the bill';
COMMENT ON COLUMN repairsys.ticket_discount.status IS 'pending (above the approval limit of who gave it: not on the bill), approved (on the bill) or rejected (never on the bill); set by repairsys';
COMMENT ON COLUMN repairsys.ticket_discount.requested_by IS 'Role that asked for it (set by repairsys)';
COMMENT ON COLUMN repairsys.ticket_discount.approved_by IS 'Role that approved or rejected it (the giver when within their limit; set by repairsys); NULL while pending';
COMMENT ON COLUMN repairsys.ticket_discount.approved_at IS 'When it was approved or rejected (set by repairsys); NULL while pending';
COMMENT ON COLUMN repairsys.ticket_discount.bill_basis IS 'The bill before discounts and tax that the last decision measured the percent limit against (set by repairsys)';

-- (src/sql/29_tables_approval.sql)
------------------------------------------------------------------------------
-- Approval authority for fees (费用审批, docs/billing.md "Approval authority";
-- functions and triggers in 44_approval.sql): how large a discount each role
-- may give or approve.  A discount above the limit of the role that gives it
-- waits (ticket_discount.status 'pending') for a role whose limit covers it.
------------------------------------------------------------------------------
-- A role's limit is both an amount and a percent of the bill: a discount is
-- within it when the ticket's approved discounts with it stay at most
-- max_amount and at most max_pct percent of the bill before discounts and
-- tax.  NULL is no limit on that measure (the admin's seeded row: NULL,
-- NULL).  A role may be a repairsys group role or any other role (a senior
-- dispatcher's own role, say); a person is covered when any row of a role
-- whose rights they use (pg_has_role(..., 'USAGE')) covers the discount.  A
-- person no row names may approve nothing.  Seeded rows are dumped once
-- changed (the dump flag), user rows always.
CREATE TABLE repairsys.approval_limit (
	role       name PRIMARY KEY,
	max_amount numeric(14,2) CHECK (max_amount >= 0),
	max_pct    numeric(6,2) CHECK (max_pct >= 0 AND max_pct <= 100),
	dump       boolean NOT NULL DEFAULT true
);
COMMENT ON TABLE repairsys.approval_limit IS 'Approval authority for discounts (费用审批): per role, the most the ticket''s discounts may take off, in money and in percent of the bill before discounts; above it a discount waits for a role whose limit covers it';
COMMENT ON COLUMN repairsys.approval_limit.role IS 'Database role (a repairsys group role or a person''s role); whoever has its rights (pg_has_role USAGE) has its limit';
COMMENT ON COLUMN repairsys.approval_limit.max_amount IS 'Most the ticket''s approved discounts may total, in the bill''s currency, before tax (NULL: no limit)';
COMMENT ON COLUMN repairsys.approval_limit.max_pct IS 'Most the ticket''s approved discounts may total, in percent of the bill before discounts and tax (NULL: no limit)';
COMMENT ON COLUMN repairsys.approval_limit.dump IS 'True for rows pg_dump must keep: user rows and seeded rows the user changed (kept by trigger)';
INSERT INTO repairsys.approval_limit (role, max_amount, max_pct, dump) VALUES
	('repairsys_admin', NULL, NULL, false),
	('repairsys_dispatcher', 100.00, 20.00, false),
	('repairsys_technician', 0.00, 0.00, false),
	('repairsys_customer', 0.00, 0.00, false),
	('repairsys_auditor', 0.00, 0.00, false);

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

-- 40_billing.sql: only approved discounts are on the bill; what a discount
-- is measured against and who may approve it; the rules of the table
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
CREATE OR REPLACE FUNCTION repairsys.compute_bill(t repairsys.ticket, minutes numeric, km numeric, for_estimate boolean DEFAULT false,
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
CREATE OR REPLACE FUNCTION repairsys.ticket_discount_trg()
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

UPDATE repairsys.ticket_discount x
   SET status = 'approved', requested_by = x.created_by, approved_by = x.created_by, approved_at = x.created_at,
       bill_basis = (SELECT repairsys.discount_basis(t) FROM repairsys.ticket t WHERE t.id = x.ticket_id);
ALTER TABLE repairsys.ticket_discount ALTER COLUMN status SET NOT NULL;

-- (src/sql/44_approval.sql)
-- Approval authority for fees (费用审批, DESIGN.md section 13, docs/billing.md
-- "Approval authority").  The limits are repairsys.approval_limit
-- (29_tables_approval.sql); the bill skips discounts that are not approved
-- (compute_bill, 40_billing.sql), billing_audit reports an approved discount
-- its approver's limit does not cover, and the check itself is
-- may_grant_discount() (40_billing.sql, before the view that uses it).
--
-- The one way a person lowers what a customer pays is a discount
-- (ticket_discount: a waiver is a discount of the whole bill, which the
-- table allows up to the bill).  There is no other: coverage lines are
-- computed from the warranty rules, part prices are the list price
-- (ticket_part_snapshot_trg refuses another, 428C9), the price inputs of an
-- approved ticket are its snapshot (ticket_price_snapshot_trg) and invoices
-- are written only by issue_invoice().
--
-- The rule holds at the table: a plain INSERT or UPDATE of ticket_discount
-- gets it from the trigger below, whoever writes it but the table owner's
-- import of rows with a status (restore).  The acting role is CURRENT_USER
-- (the person's role, SET ROLE of an application included).

------------------------------------------------------------------------------
-- The limits: admin only (90_security.sql), a role that exists, dumped once
-- changed
------------------------------------------------------------------------------
-- BEFORE INSERT OR UPDATE on approval_limit: the role must exist (22023),
-- for every writer but the table owner (a restore may come before the roles
-- of the people).
CREATE FUNCTION repairsys.approval_limit_trg()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
BEGIN
	IF NOT repairsys.is_table_owner(TG_RELID)
	   AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles r WHERE r.rolname = NEW.role) THEN
		RAISE EXCEPTION 'role "%" does not exist', NEW.role
			USING ERRCODE = '22023', DETAIL = 'An approval limit is given to an existing database role.';
	END IF;
	RETURN NEW;
END
$$;
COMMENT ON FUNCTION repairsys.approval_limit_trg() IS 'BEFORE INSERT OR UPDATE trigger of approval_limit: the role must exist (22023); the table owner may (restore)';
CREATE TRIGGER approval_limit_10_check BEFORE INSERT OR UPDATE ON repairsys.approval_limit
	FOR EACH ROW EXECUTE FUNCTION repairsys.approval_limit_trg();
CREATE TRIGGER approval_limit_seed BEFORE INSERT OR UPDATE ON repairsys.approval_limit
	FOR EACH ROW EXECUTE FUNCTION repairsys.seed_row_changed('role');
SELECT pg_catalog.pg_extension_config_dump('repairsys.approval_limit', 'WHERE dump');

------------------------------------------------------------------------------
-- The rule at the table
------------------------------------------------------------------------------
-- The sentence that says why a role's limit does not cover a discount.
CREATE FUNCTION repairsys.discount_limit_detail(who name, ticket_id bigint, total numeric, basis numeric)
RETURNS text
LANGUAGE sql STABLE
SET search_path = repairsys, pg_catalog, pg_temp
BEGIN ATOMIC
	SELECT pg_catalog.format('With it the approved discounts of ticket %s would total %s%s; the limits of role %s: %s.',
	           discount_limit_detail.ticket_id, total,
	           CASE WHEN basis > 0 THEN pg_catalog.format(', %s%% of its bill before discounts of %s',
	                                                      pg_catalog.round(total * 100 / basis, 2), basis) ELSE '' END,
	           who,
	           coalesce((SELECT pg_catalog.string_agg(pg_catalog.format('%s up to %s and %s', l.role,
	                                                 coalesce(l.max_amount::text, 'any amount'),
	                                                 coalesce(l.max_pct || '%', 'any percent')), ', ' ORDER BY l.role)
	                       FROM repairsys.approval_limit l
	                       JOIN pg_catalog.pg_roles r ON r.rolname = l.role
	                       JOIN pg_catalog.pg_roles w ON w.rolname = discount_limit_detail.who
	                      WHERE pg_catalog.pg_has_role(w.oid, r.oid, 'USAGE')), 'none'));
END;
COMMENT ON FUNCTION repairsys.discount_limit_detail(name, bigint, numeric, numeric) IS 'The DETAIL of a refused approval: what the ticket''s approved discounts would total, in percent of the bill, and the approval limits the role has';

-- BEFORE INSERT OR UPDATE on ticket_discount (after ticket_discount_10_rules,
-- which locks the ticket and keeps the discounts within the bill):
--   INSERT  the discount is approved at once (approved_by = the giver) when
--           the giver's limit covers the ticket's approved discounts with it
--           (may_grant_discount), else recorded pending; requested_by and
--           created_by are the giver; status, approved_by, approved_at and
--           bill_basis are repairsys's (428C9 when given).  The table owner's
--           rows with a status are taken as they are (restore, migration).
--   UPDATE  only a pending discount is decided (23514 for one already
--           approved or rejected): approving needs a limit that covers it,
--           rejecting too unless it is the requester's own (a withdrawal);
--           42501 otherwise.  Who decided and when are recorded.  Its amount
--           and ticket never change (23514), who asked and when never
--           (428C9).  The table owner decides without a limit.
CREATE FUNCTION repairsys.ticket_discount_approval_trg()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
DECLARE
	owner  boolean := repairsys.is_table_owner(TG_RELID);
	me     name := CURRENT_USER;
	t      repairsys.ticket;
	basis  numeric;
	others numeric;
BEGIN
	IF TG_OP = 'INSERT' THEN
		IF owner AND NEW.status IS NOT NULL THEN
			RETURN NEW;		-- restore or migration: the row as it was
		END IF;
		IF NOT owner AND (NEW.status IS NOT NULL OR NEW.approved_by IS NOT NULL OR NEW.approved_at IS NOT NULL OR NEW.bill_basis IS NOT NULL) THEN
			RAISE EXCEPTION 'columns status, approved_by, approved_at and bill_basis of ticket_discount are set by repairsys'
				USING ERRCODE = '428C9',
				      DETAIL = 'A discount is approved at once when it is within the approval limit of who gives it, else it waits for repairsys.approve_discount().';
		END IF;
		IF NOT owner THEN
			NEW.requested_by := me;
			NEW.created_by := me;
		END IF;
		NEW.status := 'pending';
		IF NEW.amount IS NULL OR NEW.amount = 'NaN' OR NEW.amount <= 0 THEN
			RETURN NEW;		-- the CHECK constraints name it
		END IF;
		SELECT * INTO t FROM repairsys.ticket x WHERE x.id = NEW.ticket_id;
		IF NOT FOUND THEN
			RETURN NEW;		-- the foreign key names it
		END IF;
		basis := repairsys.discount_basis(t);
		SELECT coalesce(sum(x.amount), 0) INTO others
		  FROM repairsys.ticket_discount x WHERE x.ticket_id = t.id AND x.status = 'approved';
		NEW.bill_basis := basis;
		IF repairsys.may_grant_discount(me, others + NEW.amount, basis) THEN
			NEW.status := 'approved';
			NEW.approved_by := me;
			NEW.approved_at := pg_catalog.clock_timestamp();
		END IF;
		RETURN NEW;
	END IF;

	-- UPDATE
	IF NOT owner THEN
		IF NEW.amount IS DISTINCT FROM OLD.amount OR NEW.ticket_id IS DISTINCT FROM OLD.ticket_id THEN
			RAISE EXCEPTION 'cannot change the amount or the ticket of discount %', OLD.id
				USING ERRCODE = '23514', DETAIL = 'A discount is approved for its amount on its ticket.',
				      HINT = 'Reject it, or delete it, and give a new one.';
		END IF;
		IF (NEW.requested_by, NEW.created_by, NEW.created_at, NEW.approved_by, NEW.approved_at, NEW.bill_basis)
		   IS DISTINCT FROM (OLD.requested_by, OLD.created_by, OLD.created_at, OLD.approved_by, OLD.approved_at, OLD.bill_basis) THEN
			RAISE EXCEPTION 'columns requested_by, created_by, created_at, approved_by, approved_at and bill_basis of ticket_discount are set by repairsys'
				USING ERRCODE = '428C9';
		END IF;
	END IF;
	IF NEW.status IS NOT DISTINCT FROM OLD.status OR NEW.status IS NULL THEN
		RETURN NEW;
	END IF;
	IF OLD.status <> 'pending' THEN
		RAISE EXCEPTION 'discount % was already %', OLD.id, OLD.status
			USING ERRCODE = '23514', DETAIL = 'A decision on a discount is never changed.';
	END IF;
	IF NEW.status = 'pending' THEN
		RETURN NEW;
	END IF;
	SELECT * INTO t FROM repairsys.ticket x WHERE x.id = NEW.ticket_id;
	basis := CASE WHEN FOUND THEN repairsys.discount_basis(t) END;
	SELECT coalesce(sum(x.amount), 0) INTO others
	  FROM repairsys.ticket_discount x WHERE x.ticket_id = NEW.ticket_id AND x.status = 'approved' AND x.id <> OLD.id;
	IF NOT owner AND NOT (NEW.status = 'rejected' AND OLD.requested_by = me)
	   AND NOT repairsys.may_grant_discount(me, others + NEW.amount, coalesce(basis, 0)) THEN
		RAISE EXCEPTION 'the approval limit of role "%" does not cover discount %', me, OLD.id
			USING ERRCODE = '42501',
			      DETAIL = repairsys.discount_limit_detail(me, NEW.ticket_id, others + NEW.amount, basis),
			      HINT = 'A role whose approval limit (repairsys.approval_limit) covers it approves or rejects it.';
	END IF;
	IF owner AND NEW.approved_by IS DISTINCT FROM OLD.approved_by THEN
		RETURN NEW;		-- the owner wrote the decision in full
	END IF;
	NEW.approved_by := me;
	NEW.approved_at := pg_catalog.clock_timestamp();
	NEW.bill_basis := basis;
	RETURN NEW;
END
$$;
COMMENT ON FUNCTION repairsys.ticket_discount_approval_trg() IS 'BEFORE INSERT OR UPDATE trigger of ticket_discount (approval authority): a new discount is approved at once within the giver''s approval limit, else pending; a pending one is approved, or rejected, by a role whose limit covers it (42501 otherwise; the requester may withdraw their own); decisions are final (23514); who asked and who decided are recorded (428C9 when given); the table owner''s rows with a status are taken as they are';
CREATE TRIGGER ticket_discount_20_approval
	BEFORE INSERT OR UPDATE ON repairsys.ticket_discount
	FOR EACH ROW EXECUTE FUNCTION repairsys.ticket_discount_approval_trg();

------------------------------------------------------------------------------
-- The functions: the same route as a plain UPDATE of status
------------------------------------------------------------------------------
-- Decides a pending discount (approved or rejected): unknown id 22023, a
-- discount already decided 23514, a limit that does not cover it 42501 (the
-- trigger).  With the caller's rights: a role without UPDATE on
-- ticket_discount gets 42501.
CREATE FUNCTION repairsys.decide_discount(discount_id bigint, decision text)
RETURNS repairsys.ticket_discount
LANGUAGE plpgsql VOLATILE
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
DECLARE
	d repairsys.ticket_discount;
BEGIN
	IF decision IS NULL OR decision NOT IN ('approved', 'rejected') THEN
		RAISE EXCEPTION 'invalid decision on a discount: "%"', coalesce(decision, 'NULL')
			USING ERRCODE = '22023', DETAIL = 'A discount is approved or rejected.';
	END IF;
	IF discount_id IS NULL THEN
		RAISE EXCEPTION 'invalid discount id: NULL' USING ERRCODE = '22023';
	END IF;
	UPDATE repairsys.ticket_discount x SET status = decide_discount.decision
	 WHERE x.id = decide_discount.discount_id AND x.status = 'pending'
	RETURNING x.* INTO d;
	IF NOT FOUND THEN
		SELECT x.* INTO d FROM repairsys.ticket_discount x WHERE x.id = decide_discount.discount_id;
		IF FOUND THEN
			RAISE EXCEPTION 'discount % was already %', d.id, d.status
				USING ERRCODE = '23514', DETAIL = 'A decision on a discount is never changed.';
		END IF;
		RAISE EXCEPTION 'discount % does not exist', discount_id USING ERRCODE = '22023';
	END IF;
	RETURN d;
END
$$;
COMMENT ON FUNCTION repairsys.decide_discount(bigint, text) IS 'Approves or rejects a pending discount (decision: approved or rejected) by the caller''s approval limit and returns its row; unknown id or decision 22023, already decided 23514, limit too small 42501';

CREATE FUNCTION repairsys.approve_discount(discount_id bigint)
RETURNS repairsys.ticket_discount
LANGUAGE sql VOLATILE
SET search_path = repairsys, pg_catalog, pg_temp
BEGIN ATOMIC
	SELECT * FROM repairsys.decide_discount(approve_discount.discount_id, 'approved');
END;
COMMENT ON FUNCTION repairsys.approve_discount(bigint) IS 'Approves a pending discount: the caller''s approval limit must cover the ticket''s approved discounts with it (42501 otherwise); then it is on the bill; unknown id 22023, already decided 23514; returns its row';

CREATE FUNCTION repairsys.reject_discount(discount_id bigint)
RETURNS repairsys.ticket_discount
LANGUAGE sql VOLATILE
SET search_path = repairsys, pg_catalog, pg_temp
BEGIN ATOMIC
	SELECT * FROM repairsys.decide_discount(reject_discount.discount_id, 'rejected');
END;
COMMENT ON FUNCTION repairsys.reject_discount(bigint) IS 'Rejects a pending discount (never on the bill): by a role whose approval limit covers it, or by the role that asked for it (a withdrawal); 42501 otherwise; unknown id 22023, already decided 23514; returns its row';

------------------------------------------------------------------------------
-- Events (docs/events.md), in the transaction of the change
------------------------------------------------------------------------------
-- AFTER INSERT OR UPDATE OF status on ticket_discount: discount_requested (a
-- pending discount), discount_approved (at once or later), discount_rejected.
CREATE FUNCTION repairsys.ticket_discount_event_trg()
RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
BEGIN
	IF TG_OP = 'INSERT' AND repairsys.is_import(NEW.created_at, TG_RELID)
	   OR TG_OP = 'UPDATE' AND NEW.status IS NOT DISTINCT FROM OLD.status THEN
		RETURN NULL;
	END IF;
	PERFORM repairsys.emit_event(CASE NEW.status WHEN 'pending' THEN 'discount_requested' ELSE 'discount_' || NEW.status END,
		NEW.ticket_id, (SELECT t.service_center_id FROM repairsys.ticket t WHERE t.id = NEW.ticket_id),
		pg_catalog.jsonb_build_object('discount_id', NEW.id, 'amount', NEW.amount, 'description', NEW.description,
		                              'requested_by', NEW.requested_by, 'approved_by', NEW.approved_by,
		                              'bill_basis', NEW.bill_basis));
	RETURN NULL;
END
$$;
COMMENT ON FUNCTION repairsys.ticket_discount_event_trg() IS 'AFTER INSERT OR UPDATE trigger of ticket_discount: writes discount_requested (pending), discount_approved or discount_rejected (not for a restored or migrated row: is_import())';
CREATE TRIGGER ticket_discount_90_event AFTER INSERT OR UPDATE OF status ON repairsys.ticket_discount
	FOR EACH ROW EXECUTE FUNCTION repairsys.ticket_discount_event_trg();

-- 40_billing.sql: billing_audit reports a discount without the required approval
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
 WHERE s.bill_sha256 <> pg_catalog.sha256(pg_catalog.convert_to(repairsys.bill_canonical_text(t), 'UTF8'))
UNION ALL
-- an approved discount nobody approved (written so by the table owner), or
-- one above the limit of whoever approved it: the ticket's approved
-- discounts up to it (in the order approved) against the bill it was
-- measured on (docs/billing.md "Approval authority")
SELECT x.ticket_id, 'discount without the required approval',
       CASE WHEN x.approved_by IS NULL
            THEN pg_catalog.format('Discount %s of %s is approved, but nobody approved it.', x.id, x.amount)
            ELSE pg_catalog.format('Discount %s of %s (discounts %s of a bill of %s) was approved by %s, whose approval limit does not cover it.',
                                   x.id, x.amount, x.upto, coalesce(x.bill_basis::text, 'unknown'), x.approved_by::text COLLATE pg_catalog."default") END
  FROM (SELECT d.*, sum(d.amount) OVER (PARTITION BY d.ticket_id ORDER BY d.approved_at, d.id) AS upto
          FROM repairsys.ticket_discount d
         WHERE d.status = 'approved') x
 WHERE x.approved_by IS NULL OR NOT repairsys.may_grant_discount(x.approved_by, x.upto, coalesce(x.bill_basis, 0));
COMMENT ON VIEW repairsys.billing_audit IS 'One row per billing problem found; empty on a healthy database';
COMMENT ON COLUMN repairsys.billing_audit.ticket_id IS 'Ticket concerned';
COMMENT ON COLUMN repairsys.billing_audit.problem IS 'invoice total differs from its lines, bill changed after approval, payments exceed the invoice total, closed with a balance, parts used but neither billed nor covered, labor billed without work recorded, bill exceeds the approved estimate, bill changed after sign-off, discount without the required approval';
COMMENT ON COLUMN repairsys.billing_audit.detail IS 'The figures behind the finding';
ALTER VIEW repairsys.billing_audit SET (security_invoker = true);

------------------------------------------------------------------------------
-- 3i. The history, the stock ledger and the event log partitioned by month (issue 22 item 3)
------------------------------------------------------------------------------
-- (src/sql/28_tables_partitions.sql)
------------------------------------------------------------------------------
-- Months detached from the partitioned history and event log (docs/scaling.md
-- "Partitions by month"; functions in 57_partitions.sql).
------------------------------------------------------------------------------

-- Where repairsys.detach_month() puts a detached month: out of schema
-- repairsys (whose tables the security loops of 90_security.sql and the
-- catalog tests cover), readable by nobody but the owner, to be dumped with
-- pg_dump -t and dropped.  DROP EXTENSION refuses while it holds a table.
CREATE SCHEMA repairsys_archive;
COMMENT ON SCHEMA repairsys_archive IS 'Months detached from repairsys.ticket_event and event by repairsys.detach_month(): plain tables, the owner''s only, to archive with pg_dump -t and drop';
REVOKE ALL ON SCHEMA repairsys_archive FROM PUBLIC;

CREATE TABLE repairsys.archived_month (
	table_name  text NOT NULL CHECK (table_name IN ('ticket_event', 'event')),
	month       date NOT NULL CHECK (pg_catalog.date_trunc('month', month) = month),
	lower_bound timestamptz NOT NULL,
	upper_bound timestamptz NOT NULL,
	archived_as text NOT NULL,
	row_count   bigint NOT NULL CHECK (row_count >= 0),
	detached_at timestamptz NOT NULL DEFAULT now(),
	detached_by name NOT NULL DEFAULT current_user,
	PRIMARY KEY (table_name, month),
	CHECK (lower_bound < upper_bound)
);
COMMENT ON TABLE repairsys.archived_month IS 'Months detached from a partitioned table by detach_month(): their rows are no longer in the table, and check_invariants() accounts for them (written by detach_month() only)';
COMMENT ON COLUMN repairsys.archived_month.table_name IS 'ticket_event or event';
COMMENT ON COLUMN repairsys.archived_month.month IS 'First day of the month (UTC months)';
COMMENT ON COLUMN repairsys.archived_month.lower_bound IS 'First instant of the month (UTC midnight), inclusive';
COMMENT ON COLUMN repairsys.archived_month.upper_bound IS 'First instant of the next month, exclusive';
COMMENT ON COLUMN repairsys.archived_month.archived_as IS 'The detached table (schema repairsys_archive) while it is kept';
COMMENT ON COLUMN repairsys.archived_month.row_count IS 'Rows the month held when it was detached';
COMMENT ON COLUMN repairsys.archived_month.detached_at IS 'When it was detached';
COMMENT ON COLUMN repairsys.archived_month.detached_by IS 'Role that detached it (session user of detach_month())';

SELECT pg_catalog.pg_extension_config_dump('repairsys.archived_month', '');

-- (the tables made partitioned: 20_tables.sql, 24_tables_events.sql)
-- The history, the stock ledger and the event log become partitioned by
-- month (20_tables.sql, 24_tables_events.sql, 57_partitions.sql).  A table
-- cannot be turned into a partitioned one: each is renamed <table>_1_1, the
-- partitioned table is made under its name, and once 57_partitions.sql is
-- there (below) the rows move month by month into their partitions, ids
-- and seq kept, the identity sequence goes on where the old one was, the
-- triggers are made again and the old table is dropped.  What refers to the
-- old tables by oid is made again on the new ones, from its own definition:
-- views (CREATE OR REPLACE VIEW), functions with an SQL body (CREATE OR
-- REPLACE FUNCTION) and functions of the tables' row types (dropped and
-- made again, with their comments), those of the extension; an object of
-- your own that reads them stops the update where the old table is dropped
-- (2BP01, naming it; docs/upgrading.md).  Grants, policies and the
-- append-only triggers are section 4's, as for every table.
DO $$
DECLARE
	t text;
	r record;
	tbls constant text[] := ARRAY['ticket_event', 'stock_movement', 'event'];
	rels oid[] := ARRAY(SELECT pg_catalog.format('repairsys.%I', x)::pg_catalog.regclass::oid FROM pg_catalog.unnest(tbls) AS x);
	types oid[] := ARRAY(SELECT c.reltype FROM pg_catalog.pg_class c WHERE c.oid OPERATOR(pg_catalog.=) ANY (rels));
BEGIN
	CREATE TEMPORARY TABLE repairsys_partition_redo (n integer GENERATED ALWAYS AS IDENTITY, sql text NOT NULL) ON COMMIT DROP;
	-- functions of the row types: dropped and made again
	FOR r IN
		SELECT DISTINCT p.oid::pg_catalog.regprocedure AS fn
		  FROM pg_catalog.pg_depend d JOIN pg_catalog.pg_proc p ON p.oid OPERATOR(pg_catalog.=) d.objid
		 WHERE d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_proc'::pg_catalog.regclass
		   AND d.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_type'::pg_catalog.regclass
		   AND d.refobjid OPERATOR(pg_catalog.=) ANY (types)
		   AND EXISTS (SELECT 1 FROM pg_catalog.pg_depend m
		                WHERE m.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_proc'::pg_catalog.regclass AND m.objid OPERATOR(pg_catalog.=) p.oid
		                  AND m.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_extension'::pg_catalog.regclass AND m.deptype OPERATOR(pg_catalog.=) 'e')
	LOOP
		INSERT INTO pg_temp.repairsys_partition_redo (sql) VALUES
			(pg_catalog.format('DROP FUNCTION %s', r.fn)),
			(pg_catalog.pg_get_functiondef(r.fn)),
			(pg_catalog.format('COMMENT ON FUNCTION %s IS %L', r.fn, pg_catalog.obj_description(r.fn, 'pg_proc')));
	END LOOP;
	-- functions with an SQL body that read the tables
	FOR r IN
		SELECT DISTINCT p.oid::pg_catalog.regprocedure AS fn
		  FROM pg_catalog.pg_depend d JOIN pg_catalog.pg_proc p ON p.oid OPERATOR(pg_catalog.=) d.objid
		 WHERE d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_proc'::pg_catalog.regclass
		   AND d.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass
		   AND d.refobjid OPERATOR(pg_catalog.=) ANY (rels)
		   AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend e
		                    WHERE e.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_proc'::pg_catalog.regclass AND e.objid OPERATOR(pg_catalog.=) p.oid
		                      AND e.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_type'::pg_catalog.regclass AND e.refobjid OPERATOR(pg_catalog.=) ANY (types))
		   AND EXISTS (SELECT 1 FROM pg_catalog.pg_depend m
		                WHERE m.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_proc'::pg_catalog.regclass AND m.objid OPERATOR(pg_catalog.=) p.oid
		                  AND m.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_extension'::pg_catalog.regclass AND m.deptype OPERATOR(pg_catalog.=) 'e')
	LOOP
		INSERT INTO pg_temp.repairsys_partition_redo (sql) VALUES (pg_catalog.pg_get_functiondef(r.fn));
	END LOOP;
	-- views that read them
	FOR r IN
		SELECT DISTINCT w.ev_class::pg_catalog.regclass AS v, c.reloptions
		  FROM pg_catalog.pg_depend d JOIN pg_catalog.pg_rewrite w ON w.oid OPERATOR(pg_catalog.=) d.objid
		  JOIN pg_catalog.pg_class c ON c.oid OPERATOR(pg_catalog.=) w.ev_class
		 WHERE d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_rewrite'::pg_catalog.regclass
		   AND d.refobjid OPERATOR(pg_catalog.=) ANY (rels)
		   AND w.ev_class OPERATOR(pg_catalog.<>) ALL (rels)
		   AND EXISTS (SELECT 1 FROM pg_catalog.pg_depend m
		                WHERE m.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass AND m.objid OPERATOR(pg_catalog.=) w.ev_class
		                  AND m.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_extension'::pg_catalog.regclass AND m.deptype OPERATOR(pg_catalog.=) 'e')
	LOOP
		INSERT INTO pg_temp.repairsys_partition_redo (sql) VALUES
			(pg_catalog.format('CREATE OR REPLACE VIEW %s AS %s', r.v, pg_catalog.pg_get_viewdef(r.v)));
		IF r.reloptions IS NOT NULL THEN
			INSERT INTO pg_temp.repairsys_partition_redo (sql) VALUES
				(pg_catalog.format('ALTER VIEW %s SET (%s)', r.v, pg_catalog.array_to_string(r.reloptions, ', ')));
		END IF;
	END LOOP;
	FOREACH t IN ARRAY tbls LOOP
		EXECUTE pg_catalog.format('ALTER TABLE repairsys.%I RENAME TO %I', t, t || '_1_1');
		-- (constraint names are chosen unique in the schema: the new tables'
		-- must be the ones a fresh install gives)
		FOR r IN
			SELECT k.conname FROM pg_catalog.pg_constraint k
			 WHERE k.conrelid OPERATOR(pg_catalog.=) pg_catalog.format('repairsys.%I', t || '_1_1')::pg_catalog.regclass
		LOOP
			EXECUTE pg_catalog.format('ALTER TABLE repairsys.%I RENAME CONSTRAINT %I TO %I', t || '_1_1', r.conname, r.conname || '_1_1');
		END LOOP;
	END LOOP;
	ALTER SEQUENCE repairsys.ticket_event_id_seq RENAME TO ticket_event_id_seq_1_1;
	ALTER SEQUENCE repairsys.stock_movement_id_seq RENAME TO stock_movement_id_seq_1_1;
	ALTER SEQUENCE repairsys.stock_movement_seq OWNED BY NONE;
END
$$;

CREATE TABLE repairsys.ticket_event (
	id          bigint GENERATED ALWAYS AS IDENTITY,
	ticket_id   bigint NOT NULL REFERENCES repairsys.ticket,
	from_status text,
	to_status   text NOT NULL,
	at          timestamptz NOT NULL DEFAULT now(),
	actor       name NOT NULL DEFAULT current_user,
	note        text,
	technician_id bigint
) PARTITION BY RANGE (at);
CREATE TABLE repairsys.ticket_event_default PARTITION OF repairsys.ticket_event DEFAULT;
COMMENT ON TABLE repairsys.ticket_event IS 'Append-only history of every status change of every ticket (partitioned by month of at)';
COMMENT ON TABLE repairsys.ticket_event_default IS 'Default partition of repairsys.ticket_event: rows of a month that has no partition yet (ensure_partitions() moves them into it)';
COMMENT ON COLUMN repairsys.ticket_event.id IS 'Event id (increases with time)';
COMMENT ON COLUMN repairsys.ticket_event.ticket_id IS 'Ticket';
COMMENT ON COLUMN repairsys.ticket_event.from_status IS 'State left (NULL when the ticket was opened)';
COMMENT ON COLUMN repairsys.ticket_event.to_status IS 'State entered';
COMMENT ON COLUMN repairsys.ticket_event.at IS 'When the change happened (transaction time)';
COMMENT ON COLUMN repairsys.ticket_event.actor IS 'Database role that made the change (current_user)';
COMMENT ON COLUMN repairsys.ticket_event.note IS 'Note given with the change (setting repairsys.note), if any';
COMMENT ON COLUMN repairsys.ticket_event.technician_id IS 'Technician of the ticket after the change';

CREATE TABLE repairsys.stock_movement (
	id                bigint GENERATED ALWAYS AS IDENTITY,
	sku               text NOT NULL REFERENCES repairsys.part ON UPDATE CASCADE,
	service_center_id bigint NOT NULL REFERENCES repairsys.service_center,
	kind              text NOT NULL CHECK (kind IN ('receipt', 'issue', 'return', 'transfer_out', 'transfer_in', 'adjust')),
	qty               integer NOT NULL CHECK (qty <> 0),
	ticket_id         bigint REFERENCES repairsys.ticket,
	unit_cost         numeric(14,2) CHECK (unit_cost >= 0),
	at                timestamptz NOT NULL DEFAULT now(),
	actor             name NOT NULL DEFAULT current_user,
	note              text,
	seq               bigint NOT NULL,
	CHECK (CASE kind WHEN 'receipt' THEN qty > 0 WHEN 'return' THEN qty > 0 WHEN 'transfer_in' THEN qty > 0
	                 WHEN 'issue' THEN qty < 0 WHEN 'transfer_out' THEN qty < 0 ELSE true END)
) PARTITION BY RANGE (at);
CREATE TABLE repairsys.stock_movement_default PARTITION OF repairsys.stock_movement DEFAULT;
COMMENT ON TABLE repairsys.stock_movement IS 'Append-only stock ledger: every receipt, issue, return, transfer and adjustment (partitioned by month of at)';
COMMENT ON TABLE repairsys.stock_movement_default IS 'Default partition of repairsys.stock_movement: rows of a month that has no partition yet (ensure_partitions() moves them into it)';
COMMENT ON COLUMN repairsys.stock_movement.id IS 'Movement id';
COMMENT ON COLUMN repairsys.stock_movement.sku IS 'Part';
COMMENT ON COLUMN repairsys.stock_movement.service_center_id IS 'Center whose stock moves';
COMMENT ON COLUMN repairsys.stock_movement.kind IS 'receipt, issue, return, transfer_out, transfer_in or adjust';
COMMENT ON COLUMN repairsys.stock_movement.qty IS 'Signed quantity: positive into stock, negative out of it';
COMMENT ON COLUMN repairsys.stock_movement.ticket_id IS 'Ticket the parts were issued to or returned from';
COMMENT ON COLUMN repairsys.stock_movement.unit_cost IS 'Cost of one unit in this movement';
COMMENT ON COLUMN repairsys.stock_movement.at IS 'When the movement happened';
COMMENT ON COLUMN repairsys.stock_movement.actor IS 'Database role that recorded it';
COMMENT ON COLUMN repairsys.stock_movement.note IS 'Free text';
COMMENT ON COLUMN repairsys.stock_movement.seq IS 'Order in which the movements of one stock row were checked: taken under that row''s lock (set by trigger; renumbered, in the same order, on restore)';
-- Indexes: each partition's own (see ticket_event above): PRIMARY KEY (id, at);
-- UNIQUE (seq, at) (seq comes from one sequence, unique on its own);
-- (sku, service_center_id, at); (ticket_id) WHERE ticket_id IS NOT NULL; (at)

CREATE TABLE repairsys.event (
	id                bigint NOT NULL,
	at                timestamptz NOT NULL DEFAULT now(),
	kind              text NOT NULL CHECK (kind ~ '^[a-z][a-z0-9_]*$'),
	ticket_id         bigint,
	service_center_id bigint,
	payload           jsonb NOT NULL DEFAULT '{}' CHECK (pg_catalog.jsonb_typeof(payload) = 'object')
) PARTITION BY RANGE (at);
-- (each partition's PRIMARY KEY (id, at): see ticket_event in 20_tables.sql)
CREATE TABLE repairsys.event_default PARTITION OF repairsys.event DEFAULT;
COMMENT ON TABLE repairsys.event IS 'Durable event log (outbox): every change applications hear about, written in the changing transaction; append-only; read with read_events() / ack_events() (partitioned by month of at)';
COMMENT ON TABLE repairsys.event_default IS 'Default partition of repairsys.event: rows of a month that has no partition yet (ensure_partitions() moves them into it)';
COMMENT ON COLUMN repairsys.event.id IS 'Event id: increases with the writing transaction''s id (the total order of read_events); not dense';
COMMENT ON COLUMN repairsys.event.at IS 'When the change happened (transaction time); the partition key of a monthly range partition';
COMMENT ON COLUMN repairsys.event.kind IS 'What happened: ticket_opened, status_changed, technician_changed, estimate_approved, invoice_issued, payment_recorded, part_reserved, sla_warning, sla_breached, follow_up_due, ticket_stuck, estimate_revised, estimate_revision_approved, signed_off, appointment_booked, appointment_rescheduled, appointment_cancelled, appointment_checked_in, appointment_reminder, discount_requested, discount_approved, discount_rejected';
COMMENT ON COLUMN repairsys.event.ticket_id IS 'Ticket the event is about (row-level security follows the ticket''s)';
COMMENT ON COLUMN repairsys.event.service_center_id IS 'Service center of the ticket';
COMMENT ON COLUMN repairsys.event.payload IS 'Details of the event, a JSON object (docs/events.md lists the keys of each kind)';

-- (src/sql/57_partitions.sql)
------------------------------------------------------------------------------
-- Monthly partitions of the history, the stock ledger and the event log
-- (DESIGN.md section 12, docs/scaling.md "Partitions by month").
------------------------------------------------------------------------------
-- repairsys.ticket_event, stock_movement and event are partitioned by range
-- of "at" (20_tables.sql, 24_tables_events.sql).  Months are UTC months
-- (the bounds do not depend on any session's TimeZone); a month's partition
-- is named <table>_YYYY_MM and lives in schema repairsys.  The DEFAULT
-- partition <table>_default takes a row whose month has no partition yet, so
-- no write fails for lack of one; ensure_partitions() moves such rows into
-- the month's partition when it makes it.
--
-- What every partition has (decided here, for every table the same):
--   owner        the extension's owner (the functions below are SECURITY
--                DEFINER), so only it and superusers may write a partition
--                directly
--   grants       none: every role reads and writes through the parent, whose
--                grants and policies (90_security.sql) decide
--   row-level    enabled with no policy: should the owner ever grant a
--   security     partition to a role, that role still reads no row of it
--   triggers     the parent's row triggers, cloned by PostgreSQL (append-only
--                forbid_change(), the stock triggers); the statement trigger
--                <partition>_no_truncate, which is not cloned
--   keys and     each partition's own primary key (id, at) and indexes
--   indexes      (partition_setup(); 20_tables.sql says why not partitioned
--                indexes of the parent)
--   membership   month partitions are not members of the extension: pg_dump
--                dumps them whole (table, ATTACH PARTITION, rows) and the
--                restore's CREATE EXTENSION makes only the parent and the
--                DEFAULT partition, which are members, registered with
--                pg_extension_config_dump so their rows are dumped too
------------------------------------------------------------------------------

INSERT INTO repairsys.setting (name, value, description, dump, type, min_value, choices) VALUES
	('partition_months_ahead', '3', 'run_jobs(): the monthly partitions of ticket_event, stock_movement and event are kept ready from the current month to this many months ahead (ensure_partitions())', false, 'integer', 0, NULL);

-- The rows of the DEFAULT partitions are dumped like the parents' ought to be
-- (pg_dump dumps no rows of a partitioned table itself, only of its
-- partitions); the ledger's in the order of its stock checks (60_parts.sql).
SELECT pg_catalog.pg_extension_config_dump('repairsys.ticket_event_default', '');
SELECT pg_catalog.pg_extension_config_dump('repairsys.stock_movement_default', 'ORDER BY seq');
SELECT pg_catalog.pg_extension_config_dump('repairsys.event_default', '');

-- The first instant of the UTC month that holds an instant.
CREATE FUNCTION repairsys.partition_month(at timestamptz)
RETURNS timestamptz
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
SET search_path = repairsys, pg_catalog, pg_temp
RETURN pg_catalog.timezone('UTC', pg_catalog.date_trunc('month', pg_catalog.timezone('UTC', at)));
COMMENT ON FUNCTION repairsys.partition_month(timestamptz) IS 'First instant of the UTC month holding the instant: the lower bound of its monthly partition';

-- Makes what every partition has and PostgreSQL does not clone (see above):
-- its keys and indexes (each partition's own: see ticket_event in
-- 20_tables.sql for why), row-level security on, no grants, the TRUNCATE
-- trigger.  Idempotent.
CREATE FUNCTION repairsys.partition_setup(tbl text, part regclass)
RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
DECLARE
	relname text := (SELECT c.relname FROM pg_catalog.pg_class c WHERE c.oid OPERATOR(pg_catalog.=) part);
	ix      record;
BEGIN
	IF tbl IS NULL OR tbl OPERATOR(pg_catalog.<>) ALL (ARRAY['ticket_event', 'stock_movement', 'event']) THEN
		RAISE EXCEPTION 'invalid partitioned table %', coalesce(tbl, 'NULL') USING ERRCODE = '22023';
	END IF;
	IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_constraint k
	                WHERE k.conrelid OPERATOR(pg_catalog.=) part AND k.contype OPERATOR(pg_catalog.=) 'p') THEN
		EXECUTE pg_catalog.format('ALTER TABLE %s ADD CONSTRAINT %I PRIMARY KEY (id, at)', part, relname || '_pkey');
	END IF;
	IF tbl OPERATOR(pg_catalog.=) 'ticket_event' THEN
		EXECUTE pg_catalog.format('CREATE INDEX IF NOT EXISTS %I ON %s (ticket_id, id)', relname || '_ticket_idx', part);
		EXECUTE pg_catalog.format('CREATE INDEX IF NOT EXISTS %I ON %s (at)', relname || '_at_idx', part);
	ELSIF tbl OPERATOR(pg_catalog.=) 'stock_movement' THEN
		EXECUTE pg_catalog.format('CREATE UNIQUE INDEX IF NOT EXISTS %I ON %s (seq, at)', relname || '_seq_idx', part);
		EXECUTE pg_catalog.format('CREATE INDEX IF NOT EXISTS %I ON %s (sku, service_center_id, at)', relname || '_sku_center_at_idx', part);
		EXECUTE pg_catalog.format('CREATE INDEX IF NOT EXISTS %I ON %s (ticket_id) WHERE ticket_id IS NOT NULL', relname || '_ticket_idx', part);
		EXECUTE pg_catalog.format('CREATE INDEX IF NOT EXISTS %I ON %s (at)', relname || '_at_idx', part);
	END IF;
	-- the parent's column comments (psql's \d+ of a partition shows them)
	FOR ix IN
		SELECT a.attname, pg_catalog.col_description(a.attrelid, a.attnum) AS comment
		  FROM pg_catalog.pg_attribute a
		 WHERE a.attrelid OPERATOR(pg_catalog.=) pg_catalog.format('repairsys.%I', tbl)::pg_catalog.regclass
		   AND a.attnum OPERATOR(pg_catalog.>) 0 AND NOT a.attisdropped
		   AND pg_catalog.col_description(a.attrelid, a.attnum) IS NOT NULL
	LOOP
		EXECUTE pg_catalog.format('COMMENT ON COLUMN %s.%I IS %L', part, ix.attname, ix.comment);
	END LOOP;
	EXECUTE pg_catalog.format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', part);
	EXECUTE pg_catalog.format('REVOKE ALL ON %s FROM PUBLIC', part);
	IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_trigger g
	                WHERE g.tgrelid OPERATOR(pg_catalog.=) part
	                  AND g.tgname OPERATOR(pg_catalog.=) (relname || '_no_truncate')) THEN
		EXECUTE pg_catalog.format('CREATE TRIGGER %I BEFORE TRUNCATE ON %s
			FOR EACH STATEMENT EXECUTE FUNCTION repairsys.forbid_change()', relname || '_no_truncate', part);
	END IF;
END
$$;
COMMENT ON FUNCTION repairsys.partition_setup(text, regclass) IS 'Gives a partition of ticket_event, stock_movement or event what PostgreSQL does not clone from the parent: its primary key (id, at) and indexes, the parent''s column comments, row-level security on, no grants, the append-only TRUNCATE trigger (used by ensure_partitions() and the install)';
REVOKE ALL ON FUNCTION repairsys.partition_setup(text, regclass) FROM PUBLIC;

SELECT repairsys.partition_setup('ticket_event', 'repairsys.ticket_event_default');
SELECT repairsys.partition_setup('stock_movement', 'repairsys.stock_movement_default');
SELECT repairsys.partition_setup('event', 'repairsys.event_default');

-- Creates the monthly partitions of the three tables for every UTC month
-- from the one holding from_at to the one holding to_at (inclusive), and for
-- every month the DEFAULT partitions hold rows of, that has none; idempotent; one call at a time (advisory lock "RSJB", 2).  Rows the
-- DEFAULT partition holds for such a month move into its new partition in
-- the same transaction: the month is made as a plain table, the rows are
-- copied into it and deleted from the DEFAULT partition (as the owner, whom
-- forbid_change() lets), and it is attached, so no trigger fires for a moved
-- row (ids, seq and the stock they made stay as they are).  ATTACH PARTITION
-- takes only a SHARE UPDATE EXCLUSIVE lock on the parent: reads and writes
-- of other months go on.  A month detached by detach_month() is not made
-- again (its rows, should any be written, stay in the DEFAULT partition).
-- Returns how many partitions it made.
CREATE FUNCTION repairsys.ensure_partitions(from_at timestamptz, to_at timestamptz)
RETURNS integer
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
DECLARE
	first_month timestamp;
	last_month  timestamp;
	m           timestamp;
	lo          timestamptz;
	hi          timestamptz;
	t           text;
	part        text;
	dflt        text;
	moved       boolean;
	made        integer := 0;
BEGIN
	IF from_at IS NULL OR to_at IS NULL OR NOT pg_catalog.isfinite(from_at) OR NOT pg_catalog.isfinite(to_at) THEN
		RAISE EXCEPTION 'invalid partition range from % to %', coalesce(from_at::text, 'NULL'), coalesce(to_at::text, 'NULL')
			USING ERRCODE = '22023',
			      HINT = 'ensure_partitions() takes two finite instants.';
	END IF;
	IF from_at > to_at THEN
		RAISE EXCEPTION 'invalid partition range from % to %', from_at, to_at
			USING ERRCODE = '22023',
			      DETAIL = 'The start of the range is after its end.';
	END IF;
	first_month := repairsys.partition_month(from_at) AT TIME ZONE 'UTC';
	last_month := repairsys.partition_month(to_at) AT TIME ZONE 'UTC';
	IF last_month > first_month + interval '120 months' THEN
		RAISE EXCEPTION 'invalid partition range from % to %', from_at, to_at
			USING ERRCODE = '22023',
			      DETAIL = 'At most 121 months are made in one call.';
	END IF;
	IF pg_catalog.date_part('year', first_month) < 1000 OR pg_catalog.date_part('year', last_month) > 9998 THEN
		RAISE EXCEPTION 'invalid partition range from % to %', from_at, to_at
			USING ERRCODE = '22023',
			      DETAIL = 'Months are made for the years 1000 to 9998.';
	END IF;
	-- (the key: "RSJB", and 2 for the partitions)
	PERFORM pg_catalog.pg_advisory_xact_lock(1381190210, 2);
	-- the months asked for, and every month the DEFAULT partitions hold rows
	-- of (so that they hold none for long, and a restore, which loads them
	-- after the months, replays the ledger in time order)
	FOR m IN
		SELECT x.m FROM pg_catalog.generate_series(first_month, last_month, interval '1 month') AS x(m)
		UNION
		SELECT pg_catalog.date_trunc('month', pg_catalog.timezone('UTC', d.at))
		  FROM (SELECT x.at FROM repairsys.ticket_event_default x
		        UNION ALL SELECT x.at FROM repairsys.stock_movement_default x
		        UNION ALL SELECT x.at FROM repairsys.event_default x) d
		 WHERE NOT EXISTS (SELECT 1 FROM repairsys.archived_month a
		                    WHERE a.month OPERATOR(pg_catalog.=) pg_catalog.date_trunc('month', pg_catalog.timezone('UTC', d.at))::date)
		ORDER BY 1
	LOOP
		lo := m AT TIME ZONE 'UTC';
		hi := (m + interval '1 month') AT TIME ZONE 'UTC';
		FOREACH t IN ARRAY ARRAY['ticket_event', 'stock_movement', 'event'] LOOP
			part := t || '_' || pg_catalog.to_char(m, 'YYYY_MM');
			dflt := t || '_default';
			CONTINUE WHEN EXISTS (SELECT 1 FROM pg_catalog.pg_inherits i
			                       JOIN pg_catalog.pg_class c ON c.oid OPERATOR(pg_catalog.=) i.inhrelid
			                      WHERE i.inhparent OPERATOR(pg_catalog.=) pg_catalog.format('repairsys.%I', t)::pg_catalog.regclass
			                        AND c.relname OPERATOR(pg_catalog.=) part);
			CONTINUE WHEN EXISTS (SELECT 1 FROM repairsys.archived_month a
			                       WHERE a.table_name OPERATOR(pg_catalog.=) t AND a.month OPERATOR(pg_catalog.=) m::date);
			IF pg_catalog.to_regclass(pg_catalog.format('repairsys.%I', part)) IS NOT NULL THEN
				RAISE EXCEPTION 'relation "repairsys.%" already exists and is not a partition of repairsys.%', part, t
					USING ERRCODE = '42P07',
					      HINT = 'Rename or drop it; ensure_partitions() makes the month''s partition under this name.';
			END IF;
			-- the parent first, as every writer locks it (no deadlock with
			-- them), then the DEFAULT partition, whose rows of the month
			-- must not change until the month is attached
			EXECUTE pg_catalog.format('LOCK TABLE repairsys.%I IN SHARE UPDATE EXCLUSIVE MODE', t);
			EXECUTE pg_catalog.format('LOCK TABLE repairsys.%I IN ACCESS EXCLUSIVE MODE', dflt);
			EXECUTE pg_catalog.format('CREATE TABLE repairsys.%I (LIKE repairsys.%I INCLUDING DEFAULTS INCLUDING CONSTRAINTS)', part, t);
			EXECUTE pg_catalog.format('SELECT EXISTS (SELECT 1 FROM repairsys.%I x WHERE x.at >= $1 AND x.at < $2)', dflt)
			   INTO moved USING lo, hi;
			IF moved THEN
				EXECUTE pg_catalog.format('INSERT INTO repairsys.%I SELECT x.* FROM repairsys.%I x WHERE x.at >= $1 AND x.at < $2', part, dflt)
				  USING lo, hi;
				EXECUTE pg_catalog.format('DELETE FROM repairsys.%I x WHERE x.at >= $1 AND x.at < $2', dflt)
				  USING lo, hi;
			END IF;
			-- (made by an extension script, ALTER EXTENSION UPDATE, the table
			-- is a member: month partitions never are, see above)
			IF EXISTS (SELECT 1 FROM pg_catalog.pg_depend d
			            WHERE d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass
			              AND d.objid OPERATOR(pg_catalog.=) pg_catalog.format('repairsys.%I', part)::pg_catalog.regclass
			              AND d.deptype OPERATOR(pg_catalog.=) 'e') THEN
				EXECUTE pg_catalog.format('ALTER EXTENSION repairsys DROP TABLE repairsys.%I', part);
			END IF;
			PERFORM repairsys.partition_setup(t, pg_catalog.format('repairsys.%I', part)::pg_catalog.regclass);
			EXECUTE pg_catalog.format('ALTER TABLE repairsys.%I ATTACH PARTITION repairsys.%I FOR VALUES FROM (%L) TO (%L)', t, part, lo, hi);
			EXECUTE pg_catalog.format('COMMENT ON TABLE repairsys.%I IS %L', part,
				pg_catalog.format('Partition of repairsys.%s: the month %s (UTC); read and written through repairsys.%s', t, pg_catalog.to_char(m, 'YYYY-MM'), t));
			made := made + 1;
		END LOOP;
	END LOOP;
	RETURN made;
END
$$;
COMMENT ON FUNCTION repairsys.ensure_partitions(timestamptz, timestamptz) IS 'Creates the monthly partitions (UTC months, named <table>_YYYY_MM) of ticket_event, stock_movement and event for every month from the one holding from_at to the one holding to_at, and every month the DEFAULT partitions hold rows of, that has none, moving the rows the DEFAULT partition holds for it in the same transaction; idempotent, one call at a time (advisory lock); returns how many it made; 22023 for a bad range (at most 121 months)';

-- Detaches one month of the history or the event log: its rows leave the
-- table (and every view), the table is moved to schema repairsys_archive
-- under the same name, to be dumped (pg_dump -t) and dropped; the month is
-- recorded in archived_month so that check_invariants() still holds and
-- ensure_partitions() does not make the month again.  Only a month that
-- ended before the current one may go.  The stock ledger's months stay:
-- stock.on_hand is the ledger's sum (a restore rebuilds it from the rows),
-- and a return is checked against the ticket's issues.
CREATE FUNCTION repairsys.detach_month(tbl regclass, month date)
RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
DECLARE
	t     text;
	m     timestamp;
	lo    timestamptz;
	hi    timestamptz;
	part  text;
	n     bigint;
BEGIN
	t := (SELECT c.relname FROM pg_catalog.pg_class c
	       WHERE c.oid OPERATOR(pg_catalog.=) tbl
	         AND c.relnamespace OPERATOR(pg_catalog.=) 'repairsys'::pg_catalog.regnamespace);
	IF t OPERATOR(pg_catalog.=) 'stock_movement' THEN
		RAISE EXCEPTION 'cannot detach months of repairsys.stock_movement'
			USING ERRCODE = '22023',
			      DETAIL = 'The ledger is the stock: stock.on_hand is its sum, rebuilt from it by a restore, and returns are checked against its issues.';
	END IF;
	IF t IS NULL OR t OPERATOR(pg_catalog.<>) ALL (ARRAY['ticket_event', 'event']) THEN
		RAISE EXCEPTION 'invalid table %', coalesce(tbl::text, 'NULL')
			USING ERRCODE = '22023',
			      HINT = 'detach_month() detaches months of repairsys.ticket_event and repairsys.event.';
	END IF;
	IF month IS NULL OR NOT pg_catalog.isfinite(month) THEN
		RAISE EXCEPTION 'invalid month %', coalesce(month::text, 'NULL')
			USING ERRCODE = '22023';
	END IF;
	m := pg_catalog.date_trunc('month', month::timestamp);
	lo := m AT TIME ZONE 'UTC';
	hi := (m + interval '1 month') AT TIME ZONE 'UTC';
	IF hi > repairsys.partition_month(pg_catalog.now()) THEN
		RAISE EXCEPTION 'cannot detach month % of repairsys.%', pg_catalog.to_char(m, 'YYYY-MM'), t
			USING ERRCODE = '22023',
			      DETAIL = 'Only months that ended before the current month (UTC) can be detached.';
	END IF;
	part := t || '_' || pg_catalog.to_char(m, 'YYYY_MM');
	IF EXISTS (SELECT 1 FROM repairsys.archived_month a
	            WHERE a.table_name OPERATOR(pg_catalog.=) t AND a.month OPERATOR(pg_catalog.=) m::date) THEN
		RAISE EXCEPTION 'month % of repairsys.% is detached already', pg_catalog.to_char(m, 'YYYY-MM'), t
			USING ERRCODE = '22023',
			      DETAIL = 'repairsys.archived_month records it.';
	END IF;
	IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_inherits i
	                JOIN pg_catalog.pg_class c ON c.oid OPERATOR(pg_catalog.=) i.inhrelid
	               WHERE i.inhparent OPERATOR(pg_catalog.=) tbl AND c.relname OPERATOR(pg_catalog.=) part) THEN
		RAISE EXCEPTION 'month % of repairsys.% has no partition', pg_catalog.to_char(m, 'YYYY-MM'), t
			USING ERRCODE = '22023',
			      HINT = 'ensure_partitions() makes the partitions of months; rows of a month without one are in the DEFAULT partition.';
	END IF;
	IF pg_catalog.to_regclass(pg_catalog.format('repairsys_archive.%I', part)) IS NOT NULL THEN
		RAISE EXCEPTION 'relation "repairsys_archive.%" already exists', part
			USING ERRCODE = '42P07';
	END IF;
	EXECUTE pg_catalog.format('ALTER TABLE repairsys.%I DETACH PARTITION repairsys.%I', t, part);
	EXECUTE pg_catalog.format('SELECT count(*) FROM repairsys.%I', part) INTO n;
	EXECUTE pg_catalog.format('ALTER TABLE repairsys.%I SET SCHEMA repairsys_archive', part);
	EXECUTE pg_catalog.format('COMMENT ON TABLE repairsys_archive.%I IS %L', part,
		pg_catalog.format('The month %s (UTC) of repairsys.%s, detached by detach_month(): archive it with pg_dump -t, then drop it', pg_catalog.to_char(m, 'YYYY-MM'), t));
	INSERT INTO repairsys.archived_month (table_name, month, lower_bound, upper_bound, archived_as, row_count, detached_by)
	VALUES (t, m::date, lo, hi, 'repairsys_archive.' || pg_catalog.quote_ident(part), n, SESSION_USER);
	RETURN n;
END
$$;
COMMENT ON FUNCTION repairsys.detach_month(regclass, date) IS 'Detaches the partition of one month (UTC) that ended before the current one from ticket_event or event, moves it to schema repairsys_archive (to dump with pg_dump -t and drop) and records it in archived_month so check_invariants() still holds; returns its rows; 22023 for another table (the stock ledger included), a current or future month, a month without partition or one detached already';

-- (the rows moved, the triggers, what read the old tables, check_invariants, security_audit)
-- The rows move into the partitioned tables (see the start of this
-- section), month by month, with their ids, seq and instants.  No trigger
-- is on the new tables yet, so none fires for a moved row.
DO $$
DECLARE
	t    text;
	old  text;
	cols text;
	lo   timestamptz;
	hi   timestamptz;
	m    timestamptz;
	r    record;
BEGIN
	FOREACH t IN ARRAY ARRAY['ticket_event', 'stock_movement', 'event'] LOOP
		old := t || '_1_1';
		EXECUTE pg_catalog.format('SELECT min(x.at), max(x.at) FROM repairsys.%I x', old) INTO lo, hi;
		m := repairsys.partition_month(lo);
		WHILE m <= hi LOOP
			PERFORM repairsys.ensure_partitions(m, LEAST(hi, pg_catalog.timezone('UTC', pg_catalog.timezone('UTC', m) + interval '120 months')));
			m := pg_catalog.timezone('UTC', pg_catalog.timezone('UTC', m) + interval '121 months');
		END LOOP;
		cols := (SELECT pg_catalog.string_agg(pg_catalog.quote_ident(a.attname), ', ' ORDER BY a.attnum)
		           FROM pg_catalog.pg_attribute a
		          WHERE a.attrelid OPERATOR(pg_catalog.=) pg_catalog.format('repairsys.%I', t)::pg_catalog.regclass
		            AND a.attnum OPERATOR(pg_catalog.>) 0 AND NOT a.attisdropped);
		FOR r IN EXECUTE pg_catalog.format('SELECT DISTINCT repairsys.partition_month(x.at) AS m FROM repairsys.%I x ORDER BY 1', old) LOOP
			EXECUTE pg_catalog.format('INSERT INTO repairsys.%I (%s) %s SELECT %s FROM repairsys.%I x WHERE x.at >= $1 AND x.at < $2 ORDER BY x.id',
			                          t, cols, CASE WHEN t OPERATOR(pg_catalog.=) 'event' THEN '' ELSE 'OVERRIDING SYSTEM VALUE' END, cols, old)
			  USING r.m, pg_catalog.timezone('UTC', pg_catalog.timezone('UTC', r.m) + interval '1 month');
		END LOOP;
	END LOOP;
	PERFORM pg_catalog.setval(pg_catalog.pg_get_serial_sequence('repairsys.ticket_event', 'id'), s.last_value, s.is_called)
	   FROM repairsys.ticket_event_id_seq_1_1 s;
	PERFORM pg_catalog.setval(pg_catalog.pg_get_serial_sequence('repairsys.stock_movement', 'id'), s.last_value, s.is_called)
	   FROM repairsys.stock_movement_id_seq_1_1 s;
END
$$;
ALTER SEQUENCE repairsys.stock_movement_seq OWNED BY repairsys.stock_movement.seq;

-- the ledger's triggers (60_parts.sql; the append-only ones are section 4's)
CREATE TRIGGER stock_movement_05_order BEFORE INSERT ON repairsys.stock_movement
	FOR EACH ROW EXECUTE FUNCTION repairsys.stock_movement_order_trg();
CREATE TRIGGER stock_movement_07_rules BEFORE INSERT ON repairsys.stock_movement
	FOR EACH ROW WHEN (NOT repairsys.is_table_owner('repairsys.stock_movement')
	                   AND (NEW.ticket_id IS NULL OR repairsys.ticket_visible(NEW.ticket_id)))
	EXECUTE FUNCTION repairsys.stock_movement_rules_trg();
CREATE TRIGGER stock_movement_10_stock AFTER INSERT ON repairsys.stock_movement
	FOR EACH ROW EXECUTE FUNCTION repairsys.stock_movement_trg();
CREATE CONSTRAINT TRIGGER stock_movement_20_units AFTER INSERT ON repairsys.stock_movement
	DEFERRABLE INITIALLY DEFERRED
	FOR EACH ROW WHEN (NOT repairsys.is_table_owner('repairsys.stock_movement'))
	EXECUTE FUNCTION repairsys.part_units_agree_trg();

-- what read the old tables, made again on the new ones; then they go
DO $$
DECLARE
	r record;
BEGIN
	FOR r IN SELECT x.sql FROM pg_temp.repairsys_partition_redo x ORDER BY x.n LOOP
		EXECUTE r.sql;
	END LOOP;
	DROP TABLE pg_temp.repairsys_partition_redo;
END
$$;
ALTER EXTENSION repairsys DROP SEQUENCE repairsys.ticket_event_id_seq_1_1;
ALTER EXTENSION repairsys DROP SEQUENCE repairsys.stock_movement_id_seq_1_1;
ALTER EXTENSION repairsys DROP TABLE repairsys.ticket_event_1_1;
ALTER EXTENSION repairsys DROP TABLE repairsys.stock_movement_1_1;
ALTER EXTENSION repairsys DROP TABLE repairsys.event_1_1;
DROP TABLE repairsys.ticket_event_1_1, repairsys.stock_movement_1_1, repairsys.event_1_1;
SELECT pg_catalog.pg_extension_config_dump('repairsys.ticket_event', '');
SELECT pg_catalog.pg_extension_config_dump('repairsys.stock_movement', 'ORDER BY seq');
SELECT pg_catalog.pg_extension_config_dump('repairsys.event', '');

-- 95_invariants.sql: check_invariants() leaves out tickets whose history was detached
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
	   AND NOT (repairsys.roster_ranges(a.technician_id, a.slot_start, a.slot_end) @> pg_catalog.tstzrange(a.slot_start, a.slot_end));
END;

-- 97_security_audit.sql: partitions granted to a role or without row-level security
CREATE OR REPLACE VIEW repairsys.security_audit AS
	-- tables without row-level security, or without the admin and auditor policies
	SELECT 'table'::text AS object_type, c.oid::pg_catalog.regclass::text AS object_name,
	       'row-level security disabled'::text AS problem,
	       'Without row-level security every role with a grant on the table sees and changes every row.'::text AS detail
	  FROM pg_catalog.pg_class c
	 WHERE c.relnamespace OPERATOR(pg_catalog.=) 'repairsys'::pg_catalog.regnamespace
	   AND c.relkind OPERATOR(pg_catalog.=) ANY (ARRAY['r', 'p']::"char"[]) AND NOT c.relispartition
	   AND NOT c.relrowsecurity
	UNION ALL
	SELECT 'table', c.oid::pg_catalog.regclass::text, r.problem, r.detail
	  FROM pg_catalog.pg_class c
	 CROSS JOIN (VALUES ('admin'::name, 'no admin policy'::text, 'The repairsys_admin role does not reach the rows of this table.'::text),
	                    ('auditor'::name, 'no auditor policy', 'The repairsys_auditor role does not reach the rows of this table.')) AS r(polname, problem, detail)
	 WHERE c.relnamespace OPERATOR(pg_catalog.=) 'repairsys'::pg_catalog.regnamespace
	   AND c.relkind OPERATOR(pg_catalog.=) ANY (ARRAY['r', 'p']::"char"[]) AND NOT c.relispartition
	   AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_policy p
	                    WHERE p.polrelid OPERATOR(pg_catalog.=) c.oid AND p.polname OPERATOR(pg_catalog.=) r.polname)
	UNION ALL
	-- partitions (57_partitions.sql): read and written through the parent
	-- only; none may be granted, each has row-level security on
	SELECT 'table', c.oid::pg_catalog.regclass::text, 'partition readable around its parent',
	       'Every role reads and writes a partition through its parent, whose policies apply; revoke the grants on the partition and enable its row-level security.'
	  FROM pg_catalog.pg_class c
	 WHERE c.relnamespace OPERATOR(pg_catalog.=) 'repairsys'::pg_catalog.regnamespace
	   AND c.relkind OPERATOR(pg_catalog.=) ANY (ARRAY['r', 'p']::"char"[]) AND c.relispartition
	   AND (NOT c.relrowsecurity
	        OR EXISTS (SELECT 1 FROM pg_catalog.aclexplode(c.relacl) a WHERE a.grantee OPERATOR(pg_catalog.<>) c.relowner))
	UNION ALL
	-- privileges granted to PUBLIC on tables and views
	SELECT CASE WHEN c.relkind OPERATOR(pg_catalog.=) ANY (ARRAY['v', 'm']::"char"[]) THEN 'view' ELSE 'table' END,
	       c.oid::pg_catalog.regclass::text, 'PUBLIC holds ' || a.privilege_type,
	       'Every role of the cluster may use this privilege; grant it to the repairsys roles instead.'
	  FROM pg_catalog.pg_class c
	 CROSS JOIN LATERAL pg_catalog.aclexplode(c.relacl) a
	 WHERE c.relnamespace OPERATOR(pg_catalog.=) 'repairsys'::pg_catalog.regnamespace
	   AND c.relkind OPERATOR(pg_catalog.=) ANY (ARRAY['r', 'p', 'v', 'm']::"char"[])
	   AND a.grantee OPERATOR(pg_catalog.=) 0::pg_catalog.oid
	UNION ALL
	-- views that run with their owner's rights (they bypass row-level security)
	SELECT 'view', c.oid::pg_catalog.regclass::text, 'view runs with its owner''s rights',
	       'Set security_invoker = true so that row-level security of the tables under it applies to the caller.'
	  FROM pg_catalog.pg_class c
	 WHERE c.relnamespace OPERATOR(pg_catalog.=) 'repairsys'::pg_catalog.regnamespace
	   AND c.relkind OPERATOR(pg_catalog.=) 'v'
	   AND pg_catalog.current_setting('server_version_num')::integer OPERATOR(pg_catalog.>=) 150000
	   AND NOT coalesce('security_invoker=true' OPERATOR(pg_catalog.=) ANY (c.reloptions), false)
	UNION ALL
	-- SECURITY DEFINER functions: fixed search_path, not callable by PUBLIC
	SELECT 'function', p.oid::pg_catalog.regprocedure::text, 'SECURITY DEFINER function without search_path',
	       'A caller could plant objects in a schema of its search_path that the function would run with its owner''s rights.'
	  FROM pg_catalog.pg_proc p
	 WHERE p.pronamespace OPERATOR(pg_catalog.=) 'repairsys'::pg_catalog.regnamespace AND p.prosecdef
	   AND NOT EXISTS (SELECT 1 FROM pg_catalog.unnest(p.proconfig) AS s(setting)
	                    WHERE s.setting OPERATOR(pg_catalog.~~) 'search_path=%')
	UNION ALL
	SELECT 'function', p.oid::pg_catalog.regprocedure::text, 'SECURITY DEFINER function executable by PUBLIC',
	       'Revoke EXECUTE from PUBLIC and grant it to the repairsys roles that need it.'
	  FROM pg_catalog.pg_proc p
	 WHERE p.pronamespace OPERATOR(pg_catalog.=) 'repairsys'::pg_catalog.regnamespace AND p.prosecdef
	   AND (p.proacl IS NULL
	        OR EXISTS (SELECT 1 FROM pg_catalog.aclexplode(p.proacl) a WHERE a.grantee OPERATOR(pg_catalog.=) 0::pg_catalog.oid))
	UNION ALL
	-- the append-only ledgers: their triggers, and nobody but the owner may rewrite them
	SELECT 'table', ('repairsys.' || t.name), 'append-only trigger for ' || e.event || ' missing',
	       'Add a BEFORE ' || pg_catalog.upper(e.event) || ' trigger executing repairsys.forbid_change().'
	  FROM (VALUES ('ticket_event'), ('stock_movement'), ('invoice'), ('invoice_line'), ('payment')) AS t(name)
	 CROSS JOIN (VALUES ('update', 19), ('delete', 11), ('truncate', 34)) AS e(event, bits)
	 WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_trigger g
	                    WHERE g.tgrelid OPERATOR(pg_catalog.=) pg_catalog.to_regclass('repairsys.' || t.name)
	                      AND g.tgfoid OPERATOR(pg_catalog.=) 'repairsys.forbid_change()'::pg_catalog.regprocedure
	                      AND g.tgenabled OPERATOR(pg_catalog.<>) 'D'
	                      AND (g.tgtype::integer OPERATOR(pg_catalog.&) e.bits) OPERATOR(pg_catalog.=) e.bits)
	UNION ALL
	SELECT 'table', c.oid::pg_catalog.regclass::text,
	       pg_catalog.format('%s holds %s on an append-only table', a.grantee::pg_catalog.regrole, a.privilege_type),
	       'Rows of the append-only tables are never changed or removed; revoke the privilege.'
	  FROM pg_catalog.pg_class c
	 CROSS JOIN LATERAL pg_catalog.aclexplode(c.relacl) a
	 WHERE c.relnamespace OPERATOR(pg_catalog.=) 'repairsys'::pg_catalog.regnamespace
	   AND c.relname OPERATOR(pg_catalog.=) ANY (ARRAY['ticket_event', 'stock_movement', 'invoice', 'invoice_line', 'payment']::name[])
	   AND a.privilege_type OPERATOR(pg_catalog.=) ANY (ARRAY['UPDATE', 'DELETE', 'TRUNCATE'])
	   AND a.grantee OPERATOR(pg_catalog.<>) c.relowner
	   AND a.grantee OPERATOR(pg_catalog.<>) 0::pg_catalog.oid;
COMMENT ON VIEW repairsys.security_audit IS 'One row per departure from the security model (docs/security.md) found in the catalog: tables without row-level security or without the admin/auditor policies, PUBLIC privileges, views with owner''s rights, SECURITY DEFINER functions without search_path or executable by PUBLIC, append-only tables that can be rewritten, partitions granted to a role or without row-level security; empty on a healthy database';

------------------------------------------------------------------------------
-- 3i. Roll-ups of the report views (issue 22 item 2)
------------------------------------------------------------------------------
-- (/tmp/rdev/sec3i.sql)
-- (src/sql/27b_tables_rollups.sql)
-- Roll-ups of the report views (DESIGN.md section 12, docs/performance.md
-- "Roll-ups"): what a report needs of each ticket, kept by triggers in the
-- writing transaction (74_rollups.sql), so that a report of one month and one
-- center reads the rows of that month and center through an index instead of
-- every ticket ever written and its invoices, parts and feedback.
--
-- One row per ticket, written only by the transactions that write that
-- ticket (or its invoice lines, stock movements and feedback): two
-- transactions on different tickets never touch the same row, so the
-- roll-up adds no lock conflict (test/isolation/specs/rollups-concurrent.spec).
-- Sums of the ticket's rows (revenue, parts cost) are kept by signed deltas
-- (revenue = revenue + x), which a concurrent writer of the same ticket
-- applies to the latest row version, never to a stale one.  Figures that
-- depend on a setting or on another table that changes (labor cost from the
-- technician's hourly_cost, travel cost from travel_cost_per_km, the
-- overheads' allocation) are computed by the views when read, from the
-- columns kept here.  Written only by the SECURITY DEFINER triggers and
-- repairsys.rollup_rebuild(); every role, the admin too, only reads it
-- (90_security.sql), with the row-level security of the ticket it belongs
-- to.  repairsys.check_invariants() compares it with a recomputation.
--
-- Derived data, as technician_load: not dumped.  A restore loads tickets
-- before their invoice lines, stock movements and feedback (foreign keys),
-- and the triggers rebuild every row as they come (test/t/dump-restore.sh);
-- after a load with triggers disabled, repairsys.rollup_rebuild().

CREATE TABLE repairsys.ticket_fact (
	ticket_id         bigint PRIMARY KEY REFERENCES repairsys.ticket ON DELETE CASCADE,
	service_center_id bigint,
	month             date NOT NULL,
	service_type      text NOT NULL,
	counted           boolean NOT NULL,
	technician_id     bigint,
	labor_minutes     numeric(10,2),
	travel_km         numeric(10,3),
	opened_at         timestamptz NOT NULL,
	resolved_at       timestamptz,
	resolve_by        timestamptz,
	invoice_lines     integer NOT NULL DEFAULT 0 CHECK (invoice_lines >= 0),
	revenue           numeric(16,2) NOT NULL DEFAULT 0.00,
	parts_cost        numeric(16,2) NOT NULL DEFAULT 0.00,
	rating            integer CHECK (rating BETWEEN 1 AND 5)
);
COMMENT ON TABLE repairsys.ticket_fact IS 'Roll-up: one row per ticket with what the report views (ticket_cost, service_benefit, overhead_allocation, budget_status) read of it, kept by triggers in the writing transaction; equal to a recomputation (check_invariants, rollup_rebuild)';
COMMENT ON COLUMN repairsys.ticket_fact.ticket_id IS 'Ticket';
COMMENT ON COLUMN repairsys.ticket_fact.service_center_id IS 'Service center of the ticket';
COMMENT ON COLUMN repairsys.ticket_fact.month IS 'First day of the month the ticket was opened in, in its center''s time zone (UTC without a center)';
COMMENT ON COLUMN repairsys.ticket_fact.service_type IS 'Service type of the ticket';
COMMENT ON COLUMN repairsys.ticket_fact.counted IS 'False while the ticket is in a cancelled-role state (the reports leave it out)';
COMMENT ON COLUMN repairsys.ticket_fact.technician_id IS 'Technician of the ticket (labor cost is his hourly_cost when read)';
COMMENT ON COLUMN repairsys.ticket_fact.labor_minutes IS 'Labor recorded on the ticket';
COMMENT ON COLUMN repairsys.ticket_fact.travel_km IS 'Travel recorded on the ticket (travel cost is km x travel_cost_per_km when read)';
COMMENT ON COLUMN repairsys.ticket_fact.opened_at IS 'When the ticket was opened';
COMMENT ON COLUMN repairsys.ticket_fact.resolved_at IS 'When the ticket was resolved';
COMMENT ON COLUMN repairsys.ticket_fact.resolve_by IS 'Resolution deadline of the ticket';
COMMENT ON COLUMN repairsys.ticket_fact.invoice_lines IS 'Invoice lines of the ticket';
COMMENT ON COLUMN repairsys.ticket_fact.revenue IS 'Sum of the amounts (before tax) of the ticket''s invoice lines';
COMMENT ON COLUMN repairsys.ticket_fact.parts_cost IS 'Units issued to the ticket less returns, at the unit cost of their ledger row (the part''s unit_cost where the row has none)';
COMMENT ON COLUMN repairsys.ticket_fact.rating IS 'The customer''s rating of the ticket (feedback)';
-- the month x center query of every report reads this index
CREATE INDEX ticket_fact_center_month_idx ON repairsys.ticket_fact (service_center_id, month);

-- (src/sql/71_rollups.sql)
-- Roll-ups of the report views (DESIGN.md section 12, docs/performance.md
-- "Roll-ups"): the triggers that keep repairsys.ticket_fact (27b_tables_rollups.sql)
-- in the writing transaction, its recomputation from the base tables, and
-- repairsys.rollup_rebuild().  The triggers on repairsys.ticket are in
-- 80_ticket_triggers.sql (ticket_50_rollup_*); the views that read the
-- roll-up are in 72_cost.sql.
--
-- Every trigger writes only the rows of the tickets its statement touched:
-- the ticket's own columns are copied from the row (the ticket's row lock
-- orders its writers), the sums of its invoice lines and stock movements are
-- moved by signed deltas, so no write path recomputes anything but its own
-- rows, and two transactions on different tickets share no row.  The
-- triggers on invoice lines and stock movements are per statement with
-- transition tables, so an invoice of eight lines or a set-based import
-- moves each ticket's row once per statement.

------------------------------------------------------------------------------
-- The recomputation (what the roll-up must equal)
------------------------------------------------------------------------------
-- The month a ticket belongs to: the month of its opening, in its center's
-- time zone (UTC without a center), as the reports have always counted it.
CREATE FUNCTION repairsys.ticket_month(opened_at timestamptz, time_zone text)
RETURNS date
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = repairsys, pg_catalog, pg_temp
BEGIN ATOMIC
	SELECT pg_catalog.date_trunc('month', opened_at AT TIME ZONE coalesce(time_zone, 'UTC'))::date;
END;
COMMENT ON FUNCTION repairsys.ticket_month(timestamptz, text) IS 'First day of the month an instant falls in, in the time zone (NULL: UTC): the month a ticket opened then belongs to in the reports';

-- Every ticket's roll-up row computed from the base tables, set-based.
CREATE FUNCTION repairsys.ticket_fact_recomputed(centers bigint[] DEFAULT NULL)
RETURNS SETOF repairsys.ticket_fact
LANGUAGE plpgsql STABLE
SET search_path = repairsys, pg_catalog, pg_temp
SET plan_cache_mode = force_custom_plan
AS $$
BEGIN
	RETURN QUERY
	SELECT t.id, t.service_center_id, repairsys.ticket_month(t.opened_at, sc.time_zone), t.service_type,
	       t.status_role <> 'cancelled', t.technician_id, t.labor_minutes, t.travel_km, t.opened_at, t.resolved_at, t.resolve_by,
	       coalesce(r.lines, 0)::integer, coalesce(r.revenue, 0.00)::numeric(16,2), coalesce(p.parts_cost, 0.00)::numeric(16,2), fb.rating
	  FROM repairsys.ticket t
	  LEFT JOIN repairsys.service_center sc ON sc.id = t.service_center_id
	  LEFT JOIN (SELECT i.ticket_id, count(*) AS lines, sum(l.amount) AS revenue
	               FROM repairsys.invoice i JOIN repairsys.invoice_line l ON l.invoice_id = i.id
	              WHERE centers IS NULL
	                 OR i.ticket_id IN (SELECT x.id FROM repairsys.ticket x WHERE x.service_center_id = ANY (centers))
	              GROUP BY i.ticket_id) r ON r.ticket_id = t.id
	  LEFT JOIN (SELECT m.ticket_id, sum(-m.qty * coalesce(m.unit_cost, pt.unit_cost)) AS parts_cost
	               FROM repairsys.stock_movement m JOIN repairsys.part pt ON pt.sku = m.sku
	              WHERE m.kind IN ('issue', 'return') AND m.ticket_id IS NOT NULL
	                AND (centers IS NULL
	                     OR m.ticket_id IN (SELECT x.id FROM repairsys.ticket x WHERE x.service_center_id = ANY (centers)))
	              GROUP BY m.ticket_id) p ON p.ticket_id = t.id
	  LEFT JOIN repairsys.feedback fb ON fb.ticket_id = t.id
	 WHERE centers IS NULL OR t.service_center_id = ANY (centers);
END
$$;
COMMENT ON FUNCTION repairsys.ticket_fact_recomputed(bigint[]) IS 'Every ticket''s roll-up row (repairsys.ticket_fact) recomputed from the tickets, invoice lines, stock movements and feedback, or only those of the tickets of the given service centers (check_invariants compares, rollup_rebuild writes)';

-- Recomputes every roll-up from the base tables, set-based: after a load
-- with triggers disabled, a data-only restore, or to repair what
-- check_invariants() reports.  Takes the roll-up's lock for the rebuild, so
-- writers of tickets wait for it rather than change what it is rebuilding.
CREATE FUNCTION repairsys.rollup_rebuild(centers bigint[] DEFAULT NULL)
RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
DECLARE
	n bigint;
BEGIN
	IF centers IS NOT NULL AND pg_catalog.array_position(centers, NULL) IS NOT NULL THEN
		RAISE EXCEPTION 'the service centers to rebuild must not contain NULL'
			USING ERRCODE = '22023', DETAIL = 'Pass NULL (the default) to rebuild every roll-up row.';
	END IF;
	LOCK TABLE repairsys.ticket_fact IN EXCLUSIVE MODE;
	IF centers IS NULL THEN
		DELETE FROM repairsys.ticket_fact;
	ELSE
		DELETE FROM repairsys.ticket_fact f
		 WHERE f.service_center_id = ANY (centers)
		    OR f.ticket_id IN (SELECT x.id FROM repairsys.ticket x WHERE x.service_center_id = ANY (centers));
	END IF;
	INSERT INTO repairsys.ticket_fact SELECT * FROM repairsys.ticket_fact_recomputed(centers);
	GET DIAGNOSTICS n = ROW_COUNT;
	ANALYZE repairsys.ticket_fact;
	RETURN n;
END
$$;
COMMENT ON FUNCTION repairsys.rollup_rebuild(bigint[]) IS 'Recomputes every roll-up of the report views (ticket_fact) from the base tables, set-based (after an import or restore with triggers disabled), or only the rows of the tickets of the given service centers; returns the rows written';

------------------------------------------------------------------------------
-- The triggers
------------------------------------------------------------------------------
-- AFTER INSERT on ticket: the new ticket's row (its invoice lines, stock
-- movements and feedback, which reference it, come later, also on restore).
CREATE FUNCTION repairsys.ticket_fact_insert_trg()
RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
BEGIN
	INSERT INTO repairsys.ticket_fact (ticket_id, service_center_id, month, service_type, counted, technician_id,
	                                   labor_minutes, travel_km, opened_at, resolved_at, resolve_by)
	VALUES (NEW.id, NEW.service_center_id,
	        repairsys.ticket_month(NEW.opened_at, (SELECT sc.time_zone FROM repairsys.service_center sc WHERE sc.id = NEW.service_center_id)),
	        NEW.service_type, NEW.status_role <> 'cancelled', NEW.technician_id, NEW.labor_minutes, NEW.travel_km,
	        NEW.opened_at, NEW.resolved_at, NEW.resolve_by);
	RETURN NULL;
END
$$;
COMMENT ON FUNCTION repairsys.ticket_fact_insert_trg() IS 'AFTER INSERT trigger of ticket: the new ticket''s roll-up row (ticket_fact)';

-- AFTER UPDATE on ticket, per row, only when a column the reports read
-- changed (WHEN clause in 80_ticket_triggers.sql): copies them.  The ticket's
-- row lock orders the writers of one ticket, so the last one wins with the
-- last values.
CREATE FUNCTION repairsys.ticket_fact_update_trg()
RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
BEGIN
	UPDATE repairsys.ticket_fact f
	   SET service_center_id = NEW.service_center_id,
	       month = CASE WHEN NEW.opened_at IS DISTINCT FROM OLD.opened_at OR NEW.service_center_id IS DISTINCT FROM OLD.service_center_id
	                    THEN repairsys.ticket_month(NEW.opened_at, (SELECT sc.time_zone FROM repairsys.service_center sc WHERE sc.id = NEW.service_center_id))
	                    ELSE f.month END,
	       service_type = NEW.service_type, counted = NEW.status_role <> 'cancelled', technician_id = NEW.technician_id,
	       labor_minutes = NEW.labor_minutes, travel_km = NEW.travel_km, opened_at = NEW.opened_at,
	       resolved_at = NEW.resolved_at, resolve_by = NEW.resolve_by
	 WHERE f.ticket_id = NEW.id;
	RETURN NULL;
END
$$;
COMMENT ON FUNCTION repairsys.ticket_fact_update_trg() IS 'AFTER UPDATE trigger of ticket (when a column the reports read changed): copies them to its roll-up row (ticket_fact)';

-- AFTER INSERT / UPDATE / DELETE on invoice_line, per statement: the
-- invoiced revenue and the line count of the tickets, by signed deltas.
-- (Lines are frozen: only the table owner may change or delete one.)
CREATE FUNCTION repairsys.invoice_line_fact_trg()
RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
BEGIN
	IF TG_OP IN ('UPDATE', 'DELETE') THEN
		UPDATE repairsys.ticket_fact f
		   SET invoice_lines = f.invoice_lines - d.n, revenue = f.revenue - d.amount
		  FROM (SELECT i.ticket_id, count(*) AS n, sum(o.amount) AS amount
		          FROM old_lines o JOIN repairsys.invoice i ON i.id = o.invoice_id GROUP BY i.ticket_id) d
		 WHERE f.ticket_id = d.ticket_id;
	END IF;
	IF TG_OP IN ('INSERT', 'UPDATE') THEN
		UPDATE repairsys.ticket_fact f
		   SET invoice_lines = f.invoice_lines + d.n, revenue = f.revenue + d.amount
		  FROM (SELECT i.ticket_id, count(*) AS n, sum(x.amount) AS amount
		          FROM new_lines x JOIN repairsys.invoice i ON i.id = x.invoice_id GROUP BY i.ticket_id) d
		 WHERE f.ticket_id = d.ticket_id;
	END IF;
	RETURN NULL;
END
$$;
COMMENT ON FUNCTION repairsys.invoice_line_fact_trg() IS 'AFTER statement trigger of invoice_line: moves the tickets'' invoiced revenue and line count in ticket_fact by signed deltas';

-- AFTER UPDATE OF ticket_id on invoice (the table owner only): the lines'
-- revenue moves to the other ticket.
CREATE FUNCTION repairsys.invoice_fact_trg()
RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
DECLARE
	n      bigint;
	amount numeric;
BEGIN
	SELECT count(*), coalesce(sum(l.amount), 0) INTO n, amount FROM repairsys.invoice_line l WHERE l.invoice_id = NEW.id;
	UPDATE repairsys.ticket_fact f SET invoice_lines = f.invoice_lines - n, revenue = f.revenue - amount WHERE f.ticket_id = OLD.ticket_id;
	UPDATE repairsys.ticket_fact f SET invoice_lines = f.invoice_lines + n, revenue = f.revenue + amount WHERE f.ticket_id = NEW.ticket_id;
	RETURN NULL;
END
$$;
COMMENT ON FUNCTION repairsys.invoice_fact_trg() IS 'AFTER UPDATE OF ticket_id trigger of invoice: moves the invoice''s revenue between the tickets'' ticket_fact rows';

-- AFTER INSERT / UPDATE on stock_movement, per row: the parts cost of the
-- ticket (issues less returns at the row's unit cost, the part's where it has
-- none), by signed deltas.  Per row, not per statement: the ledger is
-- partitioned by month, and a restore COPYs into the month partitions, where
-- only the parent's row triggers (cloned to every partition) fire.  Not on
-- DELETE: the ledger is append-only, and ensure_partitions() moving a month
-- out of the DEFAULT partition deletes its rows there (the table owner's
-- corrections of the ledger: repairsys.rollup_rebuild()).
CREATE FUNCTION repairsys.stock_movement_fact_trg()
RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
BEGIN
	IF TG_OP = 'UPDATE' AND OLD.kind IN ('issue', 'return') AND OLD.ticket_id IS NOT NULL THEN
		UPDATE repairsys.ticket_fact f
		   SET parts_cost = f.parts_cost - coalesce(-OLD.qty * coalesce(OLD.unit_cost, (SELECT pt.unit_cost FROM repairsys.part pt WHERE pt.sku = OLD.sku)), 0)
		 WHERE f.ticket_id = OLD.ticket_id;
	END IF;
	IF NEW.kind IN ('issue', 'return') AND NEW.ticket_id IS NOT NULL THEN
		UPDATE repairsys.ticket_fact f
		   SET parts_cost = f.parts_cost + coalesce(-NEW.qty * coalesce(NEW.unit_cost, (SELECT pt.unit_cost FROM repairsys.part pt WHERE pt.sku = NEW.sku)), 0)
		 WHERE f.ticket_id = NEW.ticket_id;
	END IF;
	RETURN NULL;
END
$$;
COMMENT ON FUNCTION repairsys.stock_movement_fact_trg() IS 'AFTER INSERT OR UPDATE row trigger of stock_movement: moves the ticket''s parts cost in ticket_fact by signed deltas';

-- AFTER UPDATE OF unit_cost on part: ledger rows without a unit cost of
-- their own are costed at the part's, so the tickets they were issued to
-- change by the difference.
CREATE FUNCTION repairsys.part_fact_trg()
RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
BEGIN
	UPDATE repairsys.ticket_fact f
	   SET parts_cost = f.parts_cost + d.qty * (NEW.unit_cost - OLD.unit_cost)
	  FROM (SELECT m.ticket_id, sum(-m.qty) AS qty FROM repairsys.stock_movement m
	         WHERE m.sku = NEW.sku AND m.unit_cost IS NULL AND m.kind IN ('issue', 'return') AND m.ticket_id IS NOT NULL
	         GROUP BY m.ticket_id) d
	 WHERE f.ticket_id = d.ticket_id;
	RETURN NULL;
END
$$;
COMMENT ON FUNCTION repairsys.part_fact_trg() IS 'AFTER UPDATE OF unit_cost trigger of part: the parts cost in ticket_fact of tickets issued units without a ledger unit cost follows the part''s';

-- AFTER INSERT / UPDATE / DELETE on feedback: the ticket's rating.
CREATE FUNCTION repairsys.feedback_fact_trg()
RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
BEGIN
	IF TG_OP = 'DELETE' OR (TG_OP = 'UPDATE' AND NEW.ticket_id IS DISTINCT FROM OLD.ticket_id) THEN
		UPDATE repairsys.ticket_fact f SET rating = NULL WHERE f.ticket_id = OLD.ticket_id;
	END IF;
	IF TG_OP IN ('INSERT', 'UPDATE') THEN
		UPDATE repairsys.ticket_fact f SET rating = NEW.rating WHERE f.ticket_id = NEW.ticket_id;
	END IF;
	RETURN NULL;
END
$$;
COMMENT ON FUNCTION repairsys.feedback_fact_trg() IS 'AFTER trigger of feedback: the ticket''s rating in ticket_fact';

-- AFTER UPDATE OF time_zone on service_center: its tickets' months are
-- counted in the new zone (one UPDATE of the center's rows, through the
-- index on center and month).
CREATE FUNCTION repairsys.service_center_fact_trg()
RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
BEGIN
	UPDATE repairsys.ticket_fact f SET month = repairsys.ticket_month(f.opened_at, NEW.time_zone)
	 WHERE f.service_center_id = NEW.id AND f.month IS DISTINCT FROM repairsys.ticket_month(f.opened_at, NEW.time_zone);
	RETURN NULL;
END
$$;
COMMENT ON FUNCTION repairsys.service_center_fact_trg() IS 'AFTER UPDATE OF time_zone trigger of service_center: its tickets'' months in ticket_fact follow the new zone';

CREATE TRIGGER invoice_line_50_fact_insert AFTER INSERT ON repairsys.invoice_line
	REFERENCING NEW TABLE AS new_lines FOR EACH STATEMENT EXECUTE FUNCTION repairsys.invoice_line_fact_trg();
CREATE TRIGGER invoice_line_50_fact_update AFTER UPDATE ON repairsys.invoice_line
	REFERENCING OLD TABLE AS old_lines NEW TABLE AS new_lines FOR EACH STATEMENT EXECUTE FUNCTION repairsys.invoice_line_fact_trg();
CREATE TRIGGER invoice_line_50_fact_delete AFTER DELETE ON repairsys.invoice_line
	REFERENCING OLD TABLE AS old_lines FOR EACH STATEMENT EXECUTE FUNCTION repairsys.invoice_line_fact_trg();
CREATE TRIGGER invoice_50_fact AFTER UPDATE OF ticket_id ON repairsys.invoice
	FOR EACH ROW WHEN (NEW.ticket_id IS DISTINCT FROM OLD.ticket_id) EXECUTE FUNCTION repairsys.invoice_fact_trg();
CREATE TRIGGER stock_movement_50_fact AFTER INSERT OR UPDATE ON repairsys.stock_movement
	FOR EACH ROW EXECUTE FUNCTION repairsys.stock_movement_fact_trg();
CREATE TRIGGER part_50_fact AFTER UPDATE OF unit_cost ON repairsys.part
	FOR EACH ROW WHEN (NEW.unit_cost IS DISTINCT FROM OLD.unit_cost) EXECUTE FUNCTION repairsys.part_fact_trg();
CREATE TRIGGER feedback_50_fact AFTER INSERT OR DELETE ON repairsys.feedback
	FOR EACH ROW EXECUTE FUNCTION repairsys.feedback_fact_trg();
CREATE TRIGGER feedback_50_fact_update AFTER UPDATE ON repairsys.feedback
	FOR EACH ROW WHEN (NEW.ticket_id IS DISTINCT FROM OLD.ticket_id OR NEW.rating IS DISTINCT FROM OLD.rating)
	EXECUTE FUNCTION repairsys.feedback_fact_trg();
CREATE TRIGGER service_center_50_fact AFTER UPDATE OF time_zone ON repairsys.service_center
	FOR EACH ROW WHEN (NEW.time_zone IS DISTINCT FROM OLD.time_zone) EXECUTE FUNCTION repairsys.service_center_fact_trg();

-- (src/sql/72_cost.sql: overhead_allocation reads the roll-up)
CREATE OR REPLACE VIEW repairsys.overhead_allocation AS
WITH drv AS (
	SELECT repairsys.setting_value('overhead_driver') AS driver
), w AS (
	SELECT o.id AS overhead_id, o.service_center_id, o.month, o.cost_class, o.amount, d.driver, f.ticket_id,
	       CASE d.driver WHEN 'tickets' THEN 1::numeric
	                     WHEN 'labor_minutes' THEN coalesce(f.labor_minutes, 0)
	                     ELSE greatest(coalesce(CASE WHEN f.invoice_lines > 0 THEN f.revenue END, 0), 0) END AS driver_value
	  FROM repairsys.overhead o
	 CROSS JOIN drv d
	  JOIN repairsys.ticket_fact f ON f.service_center_id = o.service_center_id AND f.month = o.month AND f.counted
), units AS (
	SELECT w.*, pg_catalog.round(w.amount * 100) AS cents,
	       CASE WHEN sum(w.driver_value) OVER (PARTITION BY w.service_center_id, w.month, w.overhead_id) > 0
	            THEN pg_catalog.round(w.driver_value * 100) ELSE 1 END AS weight
	  FROM w
), shares AS (
	SELECT u.*, pg_catalog.div(u.cents * u.weight, sum(u.weight) OVER (PARTITION BY u.service_center_id, u.month, u.overhead_id)) AS whole,
	       pg_catalog.mod(u.cents * u.weight, sum(u.weight) OVER (PARTITION BY u.service_center_id, u.month, u.overhead_id)) AS rest
	  FROM units u
), ranked AS (
	SELECT s.*, s.cents - sum(s.whole) OVER (PARTITION BY s.service_center_id, s.month, s.overhead_id) AS left_over,
	       row_number() OVER (PARTITION BY s.service_center_id, s.month, s.overhead_id ORDER BY s.rest DESC, s.ticket_id) AS place
	  FROM shares s
)
SELECT x.overhead_id, x.service_center_id, x.month, x.cost_class, x.ticket_id, x.driver, x.driver_value,
       ((x.whole + CASE WHEN x.place <= x.left_over THEN 1 ELSE 0 END) / 100.0)::numeric(14,2) AS amount
  FROM ranked x;
COMMENT ON VIEW repairsys.overhead_allocation IS 'Each overhead''s share of each ticket of its center and month, by the driver of setting overhead_driver; the shares of one overhead sum exactly to it (largest remainder, to the cent)';
COMMENT ON COLUMN repairsys.overhead_allocation.overhead_id IS 'Overhead allocated';
COMMENT ON COLUMN repairsys.overhead_allocation.service_center_id IS 'Service center of the overhead and the ticket';
COMMENT ON COLUMN repairsys.overhead_allocation.month IS 'Month of the overhead (the ticket was opened in it, in the center''s time zone)';
COMMENT ON COLUMN repairsys.overhead_allocation.cost_class IS 'Indirect cost class of the overhead';
COMMENT ON COLUMN repairsys.overhead_allocation.ticket_id IS 'Ticket that bears the share';
COMMENT ON COLUMN repairsys.overhead_allocation.driver IS 'Driver used: labor_minutes, tickets or revenue';
COMMENT ON COLUMN repairsys.overhead_allocation.driver_value IS 'The ticket''s quantity of the driver: labor minutes, 1, or revenue before tax (when it is 0 for every ticket of the month, the overhead is shared equally)';
COMMENT ON COLUMN repairsys.overhead_allocation.amount IS 'Share of the overhead borne by the ticket';
ALTER VIEW repairsys.overhead_allocation SET (security_invoker = true);

-- (src/sql/72_cost.sql: ticket_cost reads the roll-up)
CREATE OR REPLACE VIEW repairsys.ticket_cost AS
SELECT d.ticket_id, d.revenue, d.labor_cost, d.parts_cost, d.travel_cost, d.cost, d.revenue - d.cost AS margin,
       d.cost AS direct_cost,
       coalesce(a.indirect, 0.00) AS indirect_cost,
       d.cost + coalesce(a.indirect, 0.00) AS full_cost,
       d.revenue - d.cost - coalesce(a.indirect, 0.00) AS full_margin
  FROM (
	SELECT f.ticket_id, f.service_center_id, f.month, f.revenue, f.labor_cost, f.parts_cost, f.travel_cost,
	       f.labor_cost + f.parts_cost + f.travel_cost AS cost
	  FROM (
		SELECT x.ticket_id, x.service_center_id, x.month, x.revenue::numeric AS revenue,
		       round(coalesce(tech.hourly_cost, 0) * coalesce(x.labor_minutes, 0) / 60, 2) AS labor_cost,
		       x.parts_cost::numeric AS parts_cost,
		       round(coalesce(x.travel_km, 0) * repairsys.setting_value('travel_cost_per_km')::numeric, 2) AS travel_cost
		  FROM repairsys.ticket_fact x
		  LEFT JOIN repairsys.technician tech ON tech.id = x.technician_id
	  ) f
  ) d
  LEFT JOIN (SELECT oa.service_center_id, oa.month, oa.ticket_id, sum(oa.amount) AS indirect
               FROM repairsys.overhead_allocation oa GROUP BY oa.service_center_id, oa.month, oa.ticket_id) a
    ON a.ticket_id = d.ticket_id AND a.service_center_id = d.service_center_id AND a.month = d.month;
COMMENT ON VIEW repairsys.ticket_cost IS 'Revenue and cost of each ticket: direct cost (labor, parts, travel) and its share of the overheads (indirect cost)';
COMMENT ON COLUMN repairsys.ticket_cost.ticket_id IS 'Ticket';
COMMENT ON COLUMN repairsys.ticket_cost.revenue IS 'Invoiced amount before tax (0 until invoiced)';
COMMENT ON COLUMN repairsys.ticket_cost.labor_cost IS 'Technician hourly_cost x labor_minutes / 60';
COMMENT ON COLUMN repairsys.ticket_cost.parts_cost IS 'Units issued to the ticket (less returns) at their ledger unit cost';
COMMENT ON COLUMN repairsys.ticket_cost.travel_cost IS 'travel_km x setting travel_cost_per_km';
COMMENT ON COLUMN repairsys.ticket_cost.cost IS 'labor_cost + parts_cost + travel_cost (the direct cost)';
COMMENT ON COLUMN repairsys.ticket_cost.margin IS 'revenue - cost (before overheads)';
COMMENT ON COLUMN repairsys.ticket_cost.direct_cost IS 'labor_cost + parts_cost + travel_cost (the same as cost)';
COMMENT ON COLUMN repairsys.ticket_cost.indirect_cost IS 'The ticket''s share of its center''s overheads of its month (overhead_allocation)';
COMMENT ON COLUMN repairsys.ticket_cost.full_cost IS 'direct_cost + indirect_cost';
COMMENT ON COLUMN repairsys.ticket_cost.full_margin IS 'revenue - full_cost';
ALTER VIEW repairsys.ticket_cost SET (security_invoker = true);

-- (src/sql/72_cost.sql: service_benefit reads the roll-up)
CREATE OR REPLACE VIEW repairsys.service_benefit AS
SELECT c.month,
       c.service_center_id,
       c.service_type,
       count(*) AS tickets,
       sum(c.revenue) AS revenue,
       sum(c.labor_cost) AS labor_cost,
       sum(c.parts_cost) AS parts_cost,
       sum(c.travel_cost) AS travel_cost,
       sum(c.margin) AS margin,
       CASE WHEN sum(c.cost) > 0 THEN round(sum(c.margin) / sum(c.cost), 4) END AS roi,
       round(avg(c.rating), 2) AS avg_rating,
       round(100.0 * count(*) FILTER (WHERE c.resolved_at <= c.resolve_by)
             / nullif(count(*) FILTER (WHERE c.resolved_at IS NOT NULL AND c.resolve_by IS NOT NULL), 0), 1) AS sla_met_pct,
       round((avg(extract(epoch FROM c.resolved_at - c.opened_at)) / 3600)::numeric, 2) AS mean_resolution_hours,
       sum(c.cost) AS direct_cost,
       sum(c.indirect_cost) AS indirect_cost,
       sum(c.full_cost) AS full_cost,
       sum(c.full_margin) AS full_margin,
       CASE WHEN sum(c.full_cost) > 0 THEN round(sum(c.full_margin) / sum(c.full_cost), 4) END AS full_roi
  FROM (
	SELECT d.*, d.revenue - d.cost AS margin,
	       coalesce(a.indirect, 0.00) AS indirect_cost,
	       d.cost + coalesce(a.indirect, 0.00) AS full_cost,
	       d.revenue - d.cost - coalesce(a.indirect, 0.00) AS full_margin
	  FROM (
		SELECT f.*, f.labor_cost + f.parts_cost + f.travel_cost AS cost
		  FROM (
			SELECT x.ticket_id, x.month, x.service_center_id, x.service_type, x.revenue, x.parts_cost, x.rating,
			       x.opened_at, x.resolved_at, x.resolve_by,
			       round(coalesce(tech.hourly_cost, 0) * coalesce(x.labor_minutes, 0) / 60, 2) AS labor_cost,
			       round(coalesce(x.travel_km, 0) * repairsys.setting_value('travel_cost_per_km')::numeric, 2) AS travel_cost
			  FROM repairsys.ticket_fact x
			  LEFT JOIN repairsys.technician tech ON tech.id = x.technician_id
			 WHERE x.counted
		  ) f
	  ) d
	  LEFT JOIN (SELECT oa.service_center_id, oa.month, oa.ticket_id, sum(oa.amount) AS indirect
	               FROM repairsys.overhead_allocation oa GROUP BY oa.service_center_id, oa.month, oa.ticket_id) a
	    ON a.ticket_id = d.ticket_id AND a.service_center_id = d.service_center_id AND a.month = d.month
  ) c
 GROUP BY c.month, c.service_center_id, c.service_type;
COMMENT ON VIEW repairsys.service_benefit IS 'Cost and benefit of the service per month (of opening, in the center''s time zone), service center and service type';
COMMENT ON COLUMN repairsys.service_benefit.month IS 'First day of the month the tickets were opened';
COMMENT ON COLUMN repairsys.service_benefit.service_center_id IS 'Service center';
COMMENT ON COLUMN repairsys.service_benefit.service_type IS 'Service type';
COMMENT ON COLUMN repairsys.service_benefit.tickets IS 'Tickets opened (cancelled ones left out)';
COMMENT ON COLUMN repairsys.service_benefit.revenue IS 'Invoiced amounts before tax';
COMMENT ON COLUMN repairsys.service_benefit.labor_cost IS 'Labor cost';
COMMENT ON COLUMN repairsys.service_benefit.parts_cost IS 'Parts cost';
COMMENT ON COLUMN repairsys.service_benefit.travel_cost IS 'Travel cost';
COMMENT ON COLUMN repairsys.service_benefit.margin IS 'revenue - (labor + parts + travel cost)';
COMMENT ON COLUMN repairsys.service_benefit.roi IS '(revenue - cost) / cost on the direct cost (NULL when the cost is 0); full_roi counts the overheads';
COMMENT ON COLUMN repairsys.service_benefit.avg_rating IS 'Average customer rating (1..5)';
COMMENT ON COLUMN repairsys.service_benefit.sla_met_pct IS 'Percent of resolved tickets resolved by resolve_by';
COMMENT ON COLUMN repairsys.service_benefit.mean_resolution_hours IS 'Mean wall-clock hours from opening to resolution';
COMMENT ON COLUMN repairsys.service_benefit.direct_cost IS 'labor_cost + parts_cost + travel_cost';
COMMENT ON COLUMN repairsys.service_benefit.indirect_cost IS 'Overheads allocated to the tickets (overhead_allocation)';
COMMENT ON COLUMN repairsys.service_benefit.full_cost IS 'direct_cost + indirect_cost';
COMMENT ON COLUMN repairsys.service_benefit.full_margin IS 'revenue - full_cost';
COMMENT ON COLUMN repairsys.service_benefit.full_roi IS '(revenue - full_cost) / full_cost: the ROI on the full cost (NULL when it is 0)';
ALTER VIEW repairsys.service_benefit SET (security_invoker = true);

-- (src/sql/73_cost_reports.sql: budget_status reads the roll-up)
CREATE OR REPLACE VIEW repairsys.budget_status AS
SELECT x.service_center_id, x.month, x.cost_class, x.budget, x.actual, x.projected,
       x.actual - x.budget AS variance,
       CASE WHEN x.actual > x.budget THEN 'over_budget'
            WHEN x.projected > x.budget THEN 'projected_over'
            ELSE 'ok' END AS alert
  FROM (
	SELECT b.service_center_id, b.month, b.cost_class, b.amount AS budget, a.actual,
	       CASE WHEN b.cost_class NOT IN ('labor', 'parts', 'travel') OR e.share <= 0 OR e.share >= 1 THEN a.actual
	            ELSE round(a.actual / e.share, 2) END AS projected
	  FROM repairsys.budget b
	  JOIN repairsys.service_center sc ON sc.id = b.service_center_id
	 CROSS JOIN LATERAL (SELECT repairsys.month_elapsed(b.month, sc.time_zone, pg_catalog.now()) AS share) e
	 CROSS JOIN LATERAL (
		SELECT CASE b.cost_class WHEN 'labor' THEN d.labor WHEN 'parts' THEN d.parts WHEN 'travel' THEN d.travel
		         ELSE (SELECT coalesce(sum(o.amount), 0.00) FROM repairsys.overhead o
		                WHERE o.service_center_id = b.service_center_id AND o.month = b.month AND o.cost_class = b.cost_class)
		       END AS actual
		  FROM (SELECT coalesce(sum(s.labor_cost), 0.00) AS labor, coalesce(sum(s.parts_cost), 0.00) AS parts,
		               coalesce(sum(s.travel_cost), 0.00) AS travel
		          FROM repairsys.service_benefit s
		         WHERE s.service_center_id = b.service_center_id AND s.month = b.month) d
		-- (OFFSET 0: computed once per budget, not once for each use of actual)
		OFFSET 0
	 ) a
  ) x;
COMMENT ON VIEW repairsys.budget_status IS 'Budgets (预算控制) against the actual and projected cost of each center, month and cost class, with an alert';
COMMENT ON COLUMN repairsys.budget_status.service_center_id IS 'Service center';
COMMENT ON COLUMN repairsys.budget_status.month IS 'First day of the month';
COMMENT ON COLUMN repairsys.budget_status.cost_class IS 'labor, parts, travel (direct) or an indirect class of overhead';
COMMENT ON COLUMN repairsys.budget_status.budget IS 'Budgeted amount';
COMMENT ON COLUMN repairsys.budget_status.actual IS 'Cost so far: the class''s column of service_benefit for the center and month (direct), or the overhead of the class (indirect)';
COMMENT ON COLUMN repairsys.budget_status.projected IS 'Projected cost at the month''s end: actual / share of the month passed in the center''s time zone for a direct class of the current month, else actual';
COMMENT ON COLUMN repairsys.budget_status.variance IS 'actual - budget (positive: over budget so far)';
COMMENT ON COLUMN repairsys.budget_status.alert IS 'over_budget (actual > budget), projected_over (projected > budget) or ok';
ALTER VIEW repairsys.budget_status SET (security_invoker = true);

-- (src/sql/80_ticket_triggers.sql: the roll-up's triggers on ticket)
CREATE TRIGGER ticket_50_rollup_insert AFTER INSERT ON repairsys.ticket
	FOR EACH ROW EXECUTE FUNCTION repairsys.ticket_fact_insert_trg();
CREATE TRIGGER ticket_50_rollup_update AFTER UPDATE ON repairsys.ticket
	FOR EACH ROW
	WHEN ((NEW.service_center_id, NEW.opened_at, NEW.service_type, NEW.status_role = 'cancelled', NEW.technician_id,
	       NEW.labor_minutes, NEW.travel_km, NEW.resolved_at, NEW.resolve_by)
	      IS DISTINCT FROM (OLD.service_center_id, OLD.opened_at, OLD.service_type, OLD.status_role = 'cancelled', OLD.technician_id,
	       OLD.labor_minutes, OLD.travel_km, OLD.resolved_at, OLD.resolve_by))
	EXECUTE FUNCTION repairsys.ticket_fact_update_trg();

-- (src/sql/95_invariants.sql: the roll-up's invariant)
-- repairsys.check_invariants(): one row per violation of the invariants the
-- rest of the extension maintains (docs/performance.md).  Empty on a healthy
-- database; the load tests run it after concurrent work and after a crash.

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
	 WHERE k.ticket_id IS NULL OR r.ticket_id IS NULL OR k::text <> r::text;
END;
COMMENT ON FUNCTION repairsys.check_invariants() IS 'One row per violated invariant: ticket status = last event, status_role = the role of the status, stock = ledger and never negative, reserved = reservations and within on hand, serialized units = stock, returns within issues, reservations only on open tickets, no technician over capacity, closed_at set exactly in terminal states, each technician''s kept load = a recount, bill lines = bill total, invoice = its lines, payments within the invoice, no technician in two visits at once or booked inside an approved absence or outside his rostered hours, the roll-up of the report views (ticket_fact) = a recomputation; empty on a healthy database';

-- the roll-up of the tickets the database holds
INSERT INTO repairsys.ticket_fact SELECT * FROM repairsys.ticket_fact_recomputed();

------------------------------------------------------------------------------
-- 3j. Roll-ups behind reputation and technician_performance (issue 22 item 2, second part)
------------------------------------------------------------------------------
-- (src/sql/27b_tables_rollups.sql, 71_rollups.sql, 73_cost_reports.sql, 70_reports.sql, 80_ticket_triggers.sql)
-- ticket_fact gains what reputation reads (src/sql/27b_tables_rollups.sql)
ALTER TABLE repairsys.ticket_fact ADD COLUMN closed_month date,
	ADD COLUMN closed boolean NOT NULL DEFAULT false,
	ADD COLUMN complaint boolean NOT NULL DEFAULT false,
	ADD COLUMN first_fix boolean NOT NULL DEFAULT false,
	ADD COLUMN resolution_hours double precision;

COMMENT ON TABLE repairsys.ticket_fact IS 'Roll-up: one row per ticket with what the report views (ticket_cost, service_benefit, overhead_allocation, budget_status, reputation, technician_performance) read of it, kept by triggers in the writing transaction; equal to a recomputation (check_invariants, rollup_rebuild)';
COMMENT ON COLUMN repairsys.ticket_fact.closed_month IS 'First day of the month the ticket was closed (closed_at) in, in its center''s time zone (UTC without a center); NULL while closed_at is';
COMMENT ON COLUMN repairsys.ticket_fact.closed IS 'True while the ticket is in a closed-role state (reputation counts it in closed_month)';
COMMENT ON COLUMN repairsys.ticket_fact.complaint IS 'The customer filed a complaint with the ticket''s feedback';
COMMENT ON COLUMN repairsys.ticket_fact.first_fix IS 'Resolved, never reopened, and no later ticket (not cancelled) on the same asset and service type opened within rework_window after the resolution (ticket_first_fix)';
COMMENT ON COLUMN repairsys.ticket_fact.resolution_hours IS 'Hours from opening to resolution in the business hours of the ticket''s resolve calendar with its center''s holidays and make-up days, wall-clock without an SLA (resolution_hours); NULL while unresolved';
-- reputation's month x center query (and its previous month) reads this one:
-- the closed tickets of a center by month of closing
CREATE INDEX ticket_fact_center_closed_idx ON repairsys.ticket_fact (service_center_id, closed_month) WHERE closed;

-- technician_performance reads a technician's tickets through this one
CREATE INDEX ticket_fact_technician_idx ON repairsys.ticket_fact (technician_id) WHERE counted;


-- (src/sql/71_rollups.sql: the recomputation and the triggers that keep the new columns)
-- technician_performance's per-ticket figures.  The hours from opening to
-- resolution: in the business hours of the ticket's resolve calendar (its
-- SLA snapshot, with the center's closed and make-up working days) when it
-- has one, else wall-clock; NULL while unresolved.
CREATE OR REPLACE FUNCTION repairsys.resolution_hours(sla repairsys.sla_interval, opened_at timestamptz, resolved_at timestamptz,
                                           closed date[], time_zone text, open date[], open_as integer[])
RETURNS double precision
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = repairsys, pg_catalog, pg_temp
BEGIN ATOMIC
	SELECT CASE WHEN resolved_at IS NOT NULL
	            THEN pg_catalog.date_part('epoch', CASE WHEN sla IS NOT NULL
	                                                    THEN repairsys.sla_elapsed(sla, opened_at, resolved_at, closed, time_zone, open, open_as)
	                                                    ELSE resolved_at - opened_at END) / 3600 END;
END;
COMMENT ON FUNCTION repairsys.resolution_hours(repairsys.sla_interval, timestamptz, timestamptz, date[], text, date[], integer[]) IS 'Hours from opening to resolution: business hours of the SLA calendar with the closed and make-up dates, wall-clock without one; NULL while unresolved';

-- The same for one ticket, with its center's dates (read only when needed).
CREATE OR REPLACE FUNCTION repairsys.ticket_resolution_hours(t repairsys.ticket)
RETURNS double precision
LANGUAGE sql STABLE
SET search_path = repairsys, pg_catalog, pg_temp
BEGIN ATOMIC
	SELECT CASE WHEN t.resolved_at IS NULL THEN NULL
	            WHEN t.sla_resolve_within IS NULL THEN repairsys.resolution_hours(NULL, t.opened_at, t.resolved_at, NULL, NULL, NULL, NULL)
	            ELSE (SELECT repairsys.resolution_hours(t.sla_resolve_within, t.opened_at, t.resolved_at,
	                                                     repairsys.closed_dates(t.service_center_id), t.sla_time_zone, od.days, od.works_as)
	                    FROM repairsys.open_dates(t.service_center_id) od) END;
END;
COMMENT ON FUNCTION repairsys.ticket_resolution_hours(repairsys.ticket) IS 'resolution_hours of a ticket with its center''s holidays and make-up working days (technician_performance, ticket_fact.resolution_hours)';

-- A first-time fix: resolved, never reopened, and no later ticket (not
-- cancelled) on the same asset and service type opened within rework_window
-- after the resolution.
CREATE OR REPLACE FUNCTION repairsys.ticket_first_fix(t repairsys.ticket)
RETURNS boolean
LANGUAGE sql STABLE
SET search_path = repairsys, pg_catalog, pg_temp
BEGIN ATOMIC
	SELECT CASE WHEN t.resolved_at IS NULL OR t.reopen_count <> 0 THEN false
	            ELSE NOT EXISTS (SELECT 1 FROM repairsys.ticket r
	                              WHERE r.asset_id = t.asset_id AND r.service_type = t.service_type AND r.id <> t.id
	                                AND r.status_role <> 'cancelled'
	                                AND r.opened_at > t.resolved_at
	                                AND r.opened_at <= t.resolved_at + repairsys.setting_value('rework_window')::interval) END;
END;
COMMENT ON FUNCTION repairsys.ticket_first_fix(repairsys.ticket) IS 'True when the ticket is resolved, never reopened, and no later ticket (not cancelled) on the same asset and service type was opened within rework_window after its resolution';

-- Every ticket's roll-up row computed from the base tables, set-based.
CREATE OR REPLACE FUNCTION repairsys.ticket_fact_recomputed(centers bigint[] DEFAULT NULL)
RETURNS SETOF repairsys.ticket_fact
LANGUAGE plpgsql STABLE
SET search_path = repairsys, pg_catalog, pg_temp
SET plan_cache_mode = force_custom_plan
AS $$
BEGIN
	RETURN QUERY
	-- each center's closed and make-up dates once (n: without a center;
	-- materialized, or they would be computed again for every ticket)
	WITH cd AS MATERIALIZED (
		SELECT c.id, repairsys.closed_dates(c.id) AS closed, od.days, od.works_as
		  FROM repairsys.service_center c CROSS JOIN LATERAL repairsys.open_dates(c.id) od
		 WHERE centers IS NULL OR c.id = ANY (centers)
	), n AS MATERIALIZED (
		SELECT repairsys.closed_dates(NULL) AS closed, od.days, od.works_as FROM repairsys.open_dates(NULL) od
	)
	SELECT t.id, t.service_center_id, repairsys.ticket_month(t.opened_at, sc.time_zone), t.service_type,
	       t.status_role <> 'cancelled', t.technician_id, t.labor_minutes, t.travel_km, t.opened_at, t.resolved_at, t.resolve_by,
	       coalesce(r.lines, 0)::integer, coalesce(r.revenue, 0.00)::numeric(16,2), coalesce(p.parts_cost, 0.00)::numeric(16,2), fb.rating,
	       repairsys.ticket_month(t.closed_at, sc.time_zone), t.status_role = 'closed', coalesce(fb.complaint, false),
	       t.resolved_at IS NOT NULL AND t.reopen_count = 0 AND rw.id IS NULL,
	       repairsys.resolution_hours(t.sla_resolve_within, t.opened_at, t.resolved_at,
	                                  CASE WHEN t.service_center_id IS NULL THEN n.closed ELSE cd.closed END, t.sla_time_zone,
	                                  CASE WHEN t.service_center_id IS NULL THEN n.days ELSE cd.days END,
	                                  CASE WHEN t.service_center_id IS NULL THEN n.works_as ELSE cd.works_as END)
	  FROM repairsys.ticket t
	  LEFT JOIN repairsys.service_center sc ON sc.id = t.service_center_id
	  LEFT JOIN cd ON cd.id = t.service_center_id
	 CROSS JOIN n
	  -- the resolved tickets repaired again: a later ticket on the asset within the window
	  LEFT JOIN (SELECT DISTINCT p.id
	               FROM repairsys.ticket p
	               JOIN repairsys.ticket r ON r.asset_id = p.asset_id AND r.service_type = p.service_type AND r.id <> p.id
	                AND r.status_role <> 'cancelled' AND r.opened_at > p.resolved_at
	                AND r.opened_at <= p.resolved_at + repairsys.setting_value('rework_window')::interval
	              WHERE p.resolved_at IS NOT NULL AND (centers IS NULL OR p.service_center_id = ANY (centers))) rw ON rw.id = t.id
	  LEFT JOIN (SELECT i.ticket_id, count(*) AS lines, sum(l.amount) AS revenue
	               FROM repairsys.invoice i JOIN repairsys.invoice_line l ON l.invoice_id = i.id
	              WHERE centers IS NULL
	                 OR i.ticket_id IN (SELECT x.id FROM repairsys.ticket x WHERE x.service_center_id = ANY (centers))
	              GROUP BY i.ticket_id) r ON r.ticket_id = t.id
	  LEFT JOIN (SELECT m.ticket_id, sum(-m.qty * coalesce(m.unit_cost, pt.unit_cost)) AS parts_cost
	               FROM repairsys.stock_movement m JOIN repairsys.part pt ON pt.sku = m.sku
	              WHERE m.kind IN ('issue', 'return') AND m.ticket_id IS NOT NULL
	                AND (centers IS NULL
	                     OR m.ticket_id IN (SELECT x.id FROM repairsys.ticket x WHERE x.service_center_id = ANY (centers)))
	              GROUP BY m.ticket_id) p ON p.ticket_id = t.id
	  LEFT JOIN repairsys.feedback fb ON fb.ticket_id = t.id
	 WHERE centers IS NULL OR t.service_center_id = ANY (centers);
END
$$;
COMMENT ON FUNCTION repairsys.ticket_fact_recomputed(bigint[]) IS 'Every ticket''s roll-up row (repairsys.ticket_fact) recomputed from the tickets, invoice lines, stock movements and feedback, or only those of the tickets of the given service centers (check_invariants compares, rollup_rebuild writes)';

------------------------------------------------------------------------------
-- The triggers
------------------------------------------------------------------------------
-- The first-time fixes of the earlier tickets of an asset and service type
-- that a ticket opened then (inserted, moved, cancelled, deleted) can change:
-- those resolved within rework_window before it, through ticket_asset_type_idx.
-- Writes only the rows whose flag changes.
CREATE OR REPLACE FUNCTION repairsys.ticket_fact_rework(asset_id bigint, service_type text, opened_at timestamptz, ticket_id bigint)
RETURNS void
LANGUAGE sql VOLATILE
SET search_path = repairsys, pg_catalog, pg_temp
BEGIN ATOMIC
	UPDATE repairsys.ticket_fact f
	   SET first_fix = x.first_fix
	  FROM (SELECT p.id, repairsys.ticket_first_fix(p) AS first_fix
	          FROM repairsys.ticket p
	         WHERE p.asset_id = ticket_fact_rework.asset_id AND p.service_type = ticket_fact_rework.service_type
	           AND p.id <> ticket_fact_rework.ticket_id AND p.opened_at < ticket_fact_rework.opened_at
	           AND p.resolved_at < ticket_fact_rework.opened_at
	           AND p.resolved_at >= ticket_fact_rework.opened_at - repairsys.setting_value('rework_window')::interval) x
	 WHERE f.ticket_id = x.id AND f.first_fix IS DISTINCT FROM x.first_fix;
END;
COMMENT ON FUNCTION repairsys.ticket_fact_rework(bigint, text, timestamptz, bigint) IS 'Recomputes ticket_fact.first_fix of the earlier tickets of the asset and service type resolved within rework_window before the instant (a ticket opened then), but the given ticket';

-- AFTER INSERT on ticket: the new ticket's row (its invoice lines, stock
-- movements and feedback, which reference it, come later, also on restore).
CREATE OR REPLACE FUNCTION repairsys.ticket_fact_insert_trg()
RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
BEGIN
	INSERT INTO repairsys.ticket_fact (ticket_id, service_center_id, month, service_type, counted, technician_id,
	                                   labor_minutes, travel_km, opened_at, resolved_at, resolve_by, closed_month, closed,
	                                   first_fix, resolution_hours)
	SELECT NEW.id, NEW.service_center_id, repairsys.ticket_month(NEW.opened_at, z.time_zone),
	       NEW.service_type, NEW.status_role <> 'cancelled', NEW.technician_id, NEW.labor_minutes, NEW.travel_km,
	       NEW.opened_at, NEW.resolved_at, NEW.resolve_by, repairsys.ticket_month(NEW.closed_at, z.time_zone), NEW.status_role = 'closed',
	       repairsys.ticket_first_fix(NEW), repairsys.ticket_resolution_hours(NEW)
	  FROM (SELECT (SELECT sc.time_zone FROM repairsys.service_center sc WHERE sc.id = NEW.service_center_id) AS time_zone) z;
	-- a new ticket on an asset may be the repeat of an earlier one
	IF NEW.asset_id IS NOT NULL THEN
		PERFORM repairsys.ticket_fact_rework(NEW.asset_id, NEW.service_type, NEW.opened_at, NEW.id);
	END IF;
	RETURN NULL;
END
$$;
COMMENT ON FUNCTION repairsys.ticket_fact_insert_trg() IS 'AFTER INSERT trigger of ticket: the new ticket''s roll-up row (ticket_fact)';

-- AFTER UPDATE on ticket, per row, only when a column the reports read
-- changed (WHEN clause in 80_ticket_triggers.sql): copies them.  The ticket's
-- row lock orders the writers of one ticket, so the last one wins with the
-- last values.
CREATE OR REPLACE FUNCTION repairsys.ticket_fact_update_trg()
RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
BEGIN
	UPDATE repairsys.ticket_fact f
	   SET service_center_id = NEW.service_center_id,
	       month = CASE WHEN NEW.opened_at IS DISTINCT FROM OLD.opened_at OR NEW.service_center_id IS DISTINCT FROM OLD.service_center_id
	                    THEN repairsys.ticket_month(NEW.opened_at, (SELECT sc.time_zone FROM repairsys.service_center sc WHERE sc.id = NEW.service_center_id))
	                    ELSE f.month END,
	       service_type = NEW.service_type, counted = NEW.status_role <> 'cancelled', technician_id = NEW.technician_id,
	       labor_minutes = NEW.labor_minutes, travel_km = NEW.travel_km, opened_at = NEW.opened_at,
	       resolved_at = NEW.resolved_at, resolve_by = NEW.resolve_by,
	       closed_month = CASE WHEN NEW.closed_at IS NULL THEN NULL
	                           WHEN NEW.closed_at IS DISTINCT FROM OLD.closed_at OR NEW.service_center_id IS DISTINCT FROM OLD.service_center_id
	                           THEN repairsys.ticket_month(NEW.closed_at, (SELECT sc.time_zone FROM repairsys.service_center sc WHERE sc.id = NEW.service_center_id))
	                           ELSE f.closed_month END,
	       closed = NEW.status_role = 'closed',
	       first_fix = CASE WHEN (NEW.resolved_at, NEW.reopen_count, NEW.asset_id, NEW.service_type)
	                             IS NOT DISTINCT FROM (OLD.resolved_at, OLD.reopen_count, OLD.asset_id, OLD.service_type)
	                        THEN f.first_fix ELSE repairsys.ticket_first_fix(NEW) END,
	       resolution_hours = CASE WHEN (NEW.opened_at, NEW.resolved_at, NEW.sla_resolve_within::text, NEW.sla_time_zone, NEW.service_center_id)
	                                    IS NOT DISTINCT FROM (OLD.opened_at, OLD.resolved_at, OLD.sla_resolve_within::text, OLD.sla_time_zone, OLD.service_center_id)
	                               THEN f.resolution_hours ELSE repairsys.ticket_resolution_hours(NEW) END
	 WHERE f.ticket_id = NEW.id;
	-- a ticket that moved to another asset, service type or opening, or
	-- that was cancelled or revived, changes whether the earlier tickets
	-- of the asset were fixed the first time
	IF (NEW.asset_id, NEW.service_type, NEW.opened_at, NEW.status_role = 'cancelled')
	   IS DISTINCT FROM (OLD.asset_id, OLD.service_type, OLD.opened_at, OLD.status_role = 'cancelled') THEN
		IF OLD.asset_id IS NOT NULL THEN
			PERFORM repairsys.ticket_fact_rework(OLD.asset_id, OLD.service_type, OLD.opened_at, NEW.id);
		END IF;
		IF NEW.asset_id IS NOT NULL THEN
			PERFORM repairsys.ticket_fact_rework(NEW.asset_id, NEW.service_type, NEW.opened_at, NEW.id);
		END IF;
	END IF;
	RETURN NULL;
END
$$;
COMMENT ON FUNCTION repairsys.ticket_fact_update_trg() IS 'AFTER UPDATE trigger of ticket (when a column the reports read changed): copies them to its roll-up row (ticket_fact)';

-- AFTER INSERT / UPDATE / DELETE on feedback: the ticket's rating and
-- complaint flag.
CREATE OR REPLACE FUNCTION repairsys.feedback_fact_trg()
RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
BEGIN
	IF TG_OP = 'DELETE' OR (TG_OP = 'UPDATE' AND NEW.ticket_id IS DISTINCT FROM OLD.ticket_id) THEN
		UPDATE repairsys.ticket_fact f SET rating = NULL, complaint = false WHERE f.ticket_id = OLD.ticket_id;
	END IF;
	IF TG_OP IN ('INSERT', 'UPDATE') THEN
		UPDATE repairsys.ticket_fact f SET rating = NEW.rating, complaint = NEW.complaint WHERE f.ticket_id = NEW.ticket_id;
	END IF;
	RETURN NULL;
END
$$;
COMMENT ON FUNCTION repairsys.feedback_fact_trg() IS 'AFTER trigger of feedback: the ticket''s rating and complaint flag in ticket_fact';

-- AFTER UPDATE OF time_zone on service_center: its tickets' months (of
-- opening and of closing) are counted in the new zone (one UPDATE of the
-- center's rows, through the index on center and month).
CREATE OR REPLACE FUNCTION repairsys.service_center_fact_trg()
RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
BEGIN
	UPDATE repairsys.ticket_fact f
	   SET month = repairsys.ticket_month(f.opened_at, NEW.time_zone),
	       closed_month = repairsys.ticket_month(t.closed_at, NEW.time_zone)
	  FROM repairsys.ticket t
	 WHERE f.service_center_id = NEW.id AND t.id = f.ticket_id
	   AND (f.month IS DISTINCT FROM repairsys.ticket_month(f.opened_at, NEW.time_zone)
	        OR f.closed_month IS DISTINCT FROM repairsys.ticket_month(t.closed_at, NEW.time_zone));
	RETURN NULL;
END
$$;
COMMENT ON FUNCTION repairsys.service_center_fact_trg() IS 'AFTER UPDATE OF time_zone trigger of service_center: its tickets'' months (opening, closing) in ticket_fact follow the new zone';

-- AFTER DELETE on ticket (the table owner): its roll-up row goes with it
-- (ON DELETE CASCADE); the earlier tickets of its asset it was a repeat of
-- may be first-time fixes again.
CREATE OR REPLACE FUNCTION repairsys.ticket_fact_delete_trg()
RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
BEGIN
	PERFORM repairsys.ticket_fact_rework(OLD.asset_id, OLD.service_type, OLD.opened_at, OLD.id);
	RETURN NULL;
END
$$;
COMMENT ON FUNCTION repairsys.ticket_fact_delete_trg() IS 'AFTER DELETE trigger of ticket (with an asset): the first-time fixes in ticket_fact of the earlier tickets of its asset';

-- AFTER INSERT / UPDATE / DELETE on holiday: a closed or make-up working
-- date of a center (or of all centers) changes the business hours of the
-- tickets with an SLA calendar open across it (two days either side, for
-- the time zones); those of the other dates are unchanged.  Writes only the
-- rows whose hours change.
CREATE OR REPLACE FUNCTION repairsys.holiday_fact_trg()
RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
DECLARE
	h repairsys.holiday;
BEGIN
	FOREACH h IN ARRAY CASE TG_OP WHEN 'INSERT' THEN ARRAY[NEW] WHEN 'DELETE' THEN ARRAY[OLD] ELSE ARRAY[OLD, NEW] END LOOP
		UPDATE repairsys.ticket_fact f
		   SET resolution_hours = x.hours
		  FROM (SELECT t.id, repairsys.ticket_resolution_hours(t) AS hours
		          FROM repairsys.ticket t
		         WHERE t.resolved_at IS NOT NULL AND t.sla_resolve_within IS NOT NULL
		           AND (h.service_center_id IS NULL OR t.service_center_id = h.service_center_id)
		           AND t.opened_at < (h.day + 2)::timestamp AT TIME ZONE 'UTC'
		           AND t.resolved_at > (h.day - 2)::timestamp AT TIME ZONE 'UTC') x
		 WHERE f.ticket_id = x.id AND f.resolution_hours IS DISTINCT FROM x.hours;
	END LOOP;
	RETURN NULL;
END
$$;
COMMENT ON FUNCTION repairsys.holiday_fact_trg() IS 'AFTER trigger of holiday: the business hours of resolution in ticket_fact of the tickets open across the date';

-- AFTER UPDATE of the setting rework_window: every resolved ticket's
-- first-time fix is judged by the new window.
CREATE OR REPLACE FUNCTION repairsys.setting_fact_trg()
RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
BEGIN
	UPDATE repairsys.ticket_fact f
	   SET first_fix = x.first_fix
	  FROM (SELECT t.id, repairsys.ticket_first_fix(t) AS first_fix FROM repairsys.ticket t
	         WHERE t.resolved_at IS NOT NULL AND t.reopen_count = 0 AND t.asset_id IS NOT NULL) x
	 WHERE f.ticket_id = x.id AND f.first_fix IS DISTINCT FROM x.first_fix;
	RETURN NULL;
END
$$;
COMMENT ON FUNCTION repairsys.setting_fact_trg() IS 'AFTER UPDATE trigger of setting rework_window: the first-time fixes in ticket_fact follow the new window';

CREATE TRIGGER holiday_50_fact AFTER INSERT OR UPDATE OR DELETE ON repairsys.holiday
	FOR EACH ROW EXECUTE FUNCTION repairsys.holiday_fact_trg();

CREATE TRIGGER setting_50_fact AFTER UPDATE ON repairsys.setting
	FOR EACH ROW WHEN (NEW.name = 'rework_window' AND NEW.value IS DISTINCT FROM OLD.value)
	EXECUTE FUNCTION repairsys.setting_fact_trg();

DROP TRIGGER feedback_50_fact_update ON repairsys.feedback;
CREATE TRIGGER feedback_50_fact_update AFTER UPDATE ON repairsys.feedback
	FOR EACH ROW WHEN (NEW.ticket_id IS DISTINCT FROM OLD.ticket_id OR NEW.rating IS DISTINCT FROM OLD.rating
	                   OR NEW.complaint IS DISTINCT FROM OLD.complaint)
	EXECUTE FUNCTION repairsys.feedback_fact_trg();


-- (src/sql/80_ticket_triggers.sql: the roll-up follows closing too)
DROP TRIGGER ticket_50_rollup_update ON repairsys.ticket;
CREATE TRIGGER ticket_50_rollup_update AFTER UPDATE ON repairsys.ticket
	FOR EACH ROW
	WHEN ((NEW.service_center_id, NEW.opened_at, NEW.service_type, NEW.status_role = 'cancelled', NEW.technician_id,
	       NEW.labor_minutes, NEW.travel_km, NEW.resolved_at, NEW.resolve_by, NEW.status_role = 'closed', NEW.closed_at,
	       NEW.reopen_count, NEW.asset_id, NEW.sla_resolve_within::text, NEW.sla_time_zone)
	      IS DISTINCT FROM (OLD.service_center_id, OLD.opened_at, OLD.service_type, OLD.status_role = 'cancelled', OLD.technician_id,
	       OLD.labor_minutes, OLD.travel_km, OLD.resolved_at, OLD.resolve_by, OLD.status_role = 'closed', OLD.closed_at,
	       OLD.reopen_count, OLD.asset_id, OLD.sla_resolve_within::text, OLD.sla_time_zone))
	EXECUTE FUNCTION repairsys.ticket_fact_update_trg();

CREATE TRIGGER ticket_50_rollup_delete AFTER DELETE ON repairsys.ticket
	FOR EACH ROW WHEN (OLD.asset_id IS NOT NULL)
	EXECUTE FUNCTION repairsys.ticket_fact_delete_trg();


-- (src/sql/70_reports.sql: technician_performance reads the roll-up)
CREATE OR REPLACE VIEW repairsys.technician_performance AS
SELECT tech.id AS technician_id,
       tech.name,
       tech.service_center_id,
       coalesce(s.tickets, 0)::integer AS tickets,
       coalesce(s.resolved, 0)::integer AS resolved,
       round(s.first_fixes::numeric / nullif(s.resolved, 0), 4) AS first_time_fix_rate,
       round((s.resolved - s.first_fixes)::numeric / nullif(s.resolved, 0), 4) AS rework_rate,
       round(s.business_hours, 2) AS mean_resolution_business_hours,
       round(100.0 * s.sla_met / nullif(s.sla_measured, 0), 1) AS sla_met_pct,
       round(s.avg_rating, 2) AS avg_rating,
       coalesce(s.labor_minutes_30d, 0)::numeric(12,2) AS labor_minutes_30d,
       round(coalesce(s.labor_minutes_30d, 0)
             / nullif(repairsys.setting_value('technician_available_hours_30d')::numeric * 60, 0), 4) AS utilization
  FROM repairsys.technician tech
  LEFT JOIN LATERAL (
	SELECT count(*) AS tickets,
	       count(*) FILTER (WHERE f.resolved_at IS NOT NULL) AS resolved,
	       count(*) FILTER (WHERE f.first_fix) AS first_fixes,
	       avg(f.resolution_hours) FILTER (WHERE f.resolved_at IS NOT NULL)::numeric AS business_hours,
	       count(*) FILTER (WHERE f.resolved_at <= f.resolve_by) AS sla_met,
	       count(*) FILTER (WHERE f.resolved_at IS NOT NULL AND f.resolve_by IS NOT NULL) AS sla_measured,
	       avg(f.rating) AS avg_rating,
	       sum(f.labor_minutes) FILTER (WHERE f.resolved_at >= now() - interval '30 days') AS labor_minutes_30d
	  FROM repairsys.ticket_fact f
	 WHERE f.technician_id = tech.id AND f.counted
  ) s ON true;

ALTER VIEW repairsys.technician_performance SET (security_invoker = true);

-- (src/sql/95_invariants.sql: check_invariants compares the roll-up with its new columns)
-- repairsys.check_invariants(): one row per violation of the invariants the
-- rest of the extension maintains (docs/performance.md).  Empty on a healthy
-- database; the load tests run it after concurrent work and after a crash.
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
	 WHERE k.ticket_id IS NULL OR r.ticket_id IS NULL OR k::text <> r::text;
END;
COMMENT ON FUNCTION repairsys.check_invariants() IS 'One row per violated invariant: ticket status = last event, status_role = the role of the status, stock = ledger and never negative, reserved = reservations and within on hand, serialized units = stock, returns within issues, reservations only on open tickets, no technician over capacity, closed_at set exactly in terminal states, each technician''s kept load = a recount, bill lines = bill total, invoice = its lines, payments within the invoice, no technician in two visits at once or booked inside an approved absence or outside his rostered hours, the roll-up of the report views (ticket_fact) = a recomputation; empty on a healthy database';


-- (src/sql/73_cost_reports.sql: reputation reads the roll-up)
CREATE OR REPLACE VIEW repairsys.reputation AS
SELECT m.month, m.service_center_id, m.closed_tickets, m.ratings, m.csat_pct, m.detractor_pct, m.complaint_rate, m.repeat_rate,
       m.ratings - p.ratings AS ratings_change,
       m.csat_pct - p.csat_pct AS csat_change,
       m.detractor_pct - p.detractor_pct AS detractor_change,
       m.complaint_rate - p.complaint_rate AS complaint_change,
       m.repeat_rate - p.repeat_rate AS repeat_change
  FROM (
	SELECT f.closed_month AS month,
	       f.service_center_id,
	       count(*) AS closed_tickets,
	       count(f.rating) AS ratings,
	       round(100.0 * count(*) FILTER (WHERE f.rating >= 4) / nullif(count(f.rating), 0), 1) AS csat_pct,
	       round(100.0 * count(*) FILTER (WHERE f.rating <= 2) / nullif(count(f.rating), 0), 1) AS detractor_pct,
	       round(100.0 * count(*) FILTER (WHERE f.complaint) / count(*), 2) AS complaint_rate,
	       round(100.0 * count(*) FILTER (WHERE repairsys.rework_of(t) IS NOT NULL) / count(*), 1) AS repeat_rate
	  FROM repairsys.ticket_fact f
	  JOIN repairsys.ticket t ON t.id = f.ticket_id
	 WHERE f.closed AND f.closed_month IS NOT NULL AND f.service_center_id IS NOT NULL
	 GROUP BY 1, 2
  ) m
  -- (no row when the previous month closed no ticket: the changes are NULL)
  LEFT JOIN LATERAL (
	SELECT count(*) AS closed_tickets,
	       count(f.rating) AS ratings,
	       round(100.0 * count(*) FILTER (WHERE f.rating >= 4) / nullif(count(f.rating), 0), 1) AS csat_pct,
	       round(100.0 * count(*) FILTER (WHERE f.rating <= 2) / nullif(count(f.rating), 0), 1) AS detractor_pct,
	       round(100.0 * count(*) FILTER (WHERE f.complaint) / count(*), 2) AS complaint_rate,
	       round(100.0 * count(*) FILTER (WHERE repairsys.rework_of(t) IS NOT NULL) / count(*), 1) AS repeat_rate
	  FROM repairsys.ticket_fact f
	  JOIN repairsys.ticket t ON t.id = f.ticket_id
	 WHERE f.closed AND f.service_center_id = m.service_center_id AND f.closed_month = (m.month - interval '1 month')::date
	HAVING count(*) > 0
  ) p ON true;

ALTER VIEW repairsys.reputation SET (security_invoker = true);


-- the roll-up recomputed with its new columns
DELETE FROM repairsys.ticket_fact;
INSERT INTO repairsys.ticket_fact SELECT * FROM repairsys.ticket_fact_recomputed();

------------------------------------------------------------------------------
-- 3k. The roll-up of customer_profile: customer_rollup (issue 22 item 2, third part)
------------------------------------------------------------------------------
-- (src/sql/27c_tables_customer_rollup.sql, 69_customer_profile_reads.sql, 71b_customer_rollup.sql, then the changed pieces)
-- Roll-up of customer_profile (DESIGN.md section 12, docs/reports.md
-- "Customer profile", docs/performance.md "Roll-ups"): one row per customer
-- with the figures of its whole history that do not depend on the time of
-- the read, kept by triggers in the writing transaction (71b_customer_rollup.sql),
-- so that the profile of a center's customers reads one row per customer
-- instead of each customer's assets, tickets, feedback and payments.
--
-- One row per customer, written only by the transactions that write that
-- customer's assets, tickets, feedback or payments: two transactions on
-- different customers never touch the same row (no counter shared by a
-- center or a month; test/isolation/specs/rollups-customer.spec); two on the
-- same customer queue on its row, and each moves the figures by signed
-- deltas applied to the latest row version, so the totals are exact.  What
-- depends on now() (complaints and tickets within the segment windows, the
-- churn features' recency and frequency) is computed by customer_profile
-- when read, through the customer's index on its tickets' opening time.
-- Written only by the SECURITY DEFINER triggers and
-- repairsys.rollup_rebuild(); every role, the admin too, only reads it
-- (90_security.sql), the rows of the customers it may see.
-- repairsys.check_invariants() compares it with a recomputation.
--
-- Derived data, as ticket_fact: not dumped.  A restore loads customers
-- before their assets and tickets, tickets before their feedback and
-- invoices, invoices before their payments (foreign keys), and the triggers
-- rebuild every row as they come (test/t/dump-restore.sh); after a load with
-- triggers disabled, repairsys.rollup_rebuild().

CREATE TABLE repairsys.customer_rollup (
	customer_id    bigint PRIMARY KEY REFERENCES repairsys.customer ON DELETE CASCADE,
	assets         integer NOT NULL DEFAULT 0 CHECK (assets >= 0),
	purchase_total numeric(16,2) NOT NULL DEFAULT 0.00,
	tickets        integer NOT NULL DEFAULT 0 CHECK (tickets >= 0),
	repairs        integer NOT NULL DEFAULT 0 CHECK (repairs >= 0),
	rating_sum     bigint NOT NULL DEFAULT 0 CHECK (rating_sum >= 0),
	rating_count   integer NOT NULL DEFAULT 0 CHECK (rating_count >= 0),
	complaints     integer NOT NULL DEFAULT 0 CHECK (complaints >= 0),
	total_spent    numeric(16,2) NOT NULL DEFAULT 0.00,
	last_ticket_at timestamptz,
	history_until  timestamptz
);
COMMENT ON TABLE repairsys.customer_rollup IS 'Roll-up: one row per customer with what customer_profile reads of its assets, tickets, feedback and payments, kept by triggers in the writing transaction; equal to a recomputation (check_invariants, rollup_rebuild)';
COMMENT ON COLUMN repairsys.customer_rollup.customer_id IS 'Customer';
COMMENT ON COLUMN repairsys.customer_rollup.assets IS 'Asset rows of the customer';
COMMENT ON COLUMN repairsys.customer_rollup.purchase_total IS 'Sum of the assets'' purchase prices';
COMMENT ON COLUMN repairsys.customer_rollup.tickets IS 'Tickets of the customer not in a cancelled-role state';
COMMENT ON COLUMN repairsys.customer_rollup.repairs IS 'Of these, tickets resolved';
COMMENT ON COLUMN repairsys.customer_rollup.rating_sum IS 'Sum of the ratings of the feedback on these tickets';
COMMENT ON COLUMN repairsys.customer_rollup.rating_count IS 'Feedback rows on these tickets';
COMMENT ON COLUMN repairsys.customer_rollup.complaints IS 'Of these, complaints';
COMMENT ON COLUMN repairsys.customer_rollup.total_spent IS 'Payments received on the invoices of all the customer''s tickets';
COMMENT ON COLUMN repairsys.customer_rollup.last_ticket_at IS 'When the latest of these tickets was opened (NULL: none)';
COMMENT ON COLUMN repairsys.customer_rollup.history_until IS 'Latest opening, resolution or feedback time of these tickets (NULL: none): customer_profile reads the figures as of now() from this row only when it is not later than now()';

-- What customer_profile (70_reports.sql) computes when read, per customer,
-- beside its roll-up row (customer_rollup, 27c_tables_customer_rollup.sql;
-- docs/reports.md "Customer profile"): the figures that depend on now().
-- Each reads only the customer's own tickets, through ticket_customer_idx
-- (customer_id, opened_at), and the view calls them only for the customers
-- whose row says there may be something to find.  Functions, not subqueries
-- of the view: the planner then does not charge every row of a center's
-- profile with their cost (which made it compile the whole query with JIT)
-- and does not compute the churn features for a query that does not select
-- churn_risk.

-- The customer's tickets (not cancelled) opened since an instant (at it
-- too when inclusive).
CREATE FUNCTION repairsys.customer_recent_tickets(customer bigint, since timestamptz, inclusive boolean)
RETURNS bigint
LANGUAGE sql STABLE
BEGIN ATOMIC
	SELECT count(*) FROM repairsys.ticket t
	 WHERE t.customer_id = customer_recent_tickets.customer AND t.opened_at >= customer_recent_tickets.since
	   AND (customer_recent_tickets.inclusive OR t.opened_at > customer_recent_tickets.since) AND t.status_role <> 'cancelled';
END;
COMMENT ON FUNCTION repairsys.customer_recent_tickets(bigint, timestamptz, boolean) IS 'customer_profile: the customer''s tickets (not cancelled) opened after an instant (or at it, when inclusive), through ticket_customer_idx';

-- Whether the customer filed a complaint since an instant, on a ticket not
-- cancelled.
CREATE FUNCTION repairsys.customer_recent_complaint(customer bigint, since timestamptz)
RETURNS boolean
LANGUAGE sql STABLE
BEGIN ATOMIC
	SELECT EXISTS (SELECT 1 FROM repairsys.ticket t JOIN repairsys.feedback fb ON fb.ticket_id = t.id
	                WHERE t.customer_id = customer_recent_complaint.customer AND t.status_role <> 'cancelled' AND fb.complaint
	                  AND fb.at >= customer_recent_complaint.since);
END;
COMMENT ON FUNCTION repairsys.customer_recent_complaint(bigint, timestamptz) IS 'customer_profile: whether the customer filed a complaint at or after an instant (on a ticket not cancelled), through ticket_customer_idx';

-- repairsys.churn_risk(customer, as_of) for a customer whose history has
-- nothing later than as_of, from its roll-up figures: recency from the
-- latest opening, frequency and repeat repairs from its tickets, the average
-- rating, the complaints and the unresolved tickets (tickets - repairs) from
-- the row; standardized and scored as churn_risk() does (the model has the
-- six features of churn_features(), refit_churn_model() fits no other).
-- NULL without a model.
CREATE FUNCTION repairsys.customer_churn_risk(customer bigint, as_of timestamptz, last_ticket_at timestamptz, unresolved integer,
                                              avg_rating numeric, complaints integer, frequent_window interval,
                                              rework_window interval)
RETURNS float8
LANGUAGE sql STABLE
BEGIN ATOMIC
	SELECT repairsys.logistic_predict(m.coefficients, ARRAY[
	           (coalesce(f.x[1], m.means[1]) - m.means[1]) / m.scales[1],
	           (coalesce(f.x[2], m.means[2]) - m.means[2]) / m.scales[2],
	           (coalesce(f.x[3], m.means[3]) - m.means[3]) / m.scales[3],
	           (coalesce(f.x[4], m.means[4]) - m.means[4]) / m.scales[4],
	           (coalesce(f.x[5], m.means[5]) - m.means[5]) / m.scales[5],
	           (coalesce(f.x[6], m.means[6]) - m.means[6]) / m.scales[6]])
	  FROM repairsys.churn_model m,
	       -- (OFFSET 0: the features are computed once, not once per use)
	       (SELECT ARRAY[extract(epoch FROM customer_churn_risk.as_of - customer_churn_risk.last_ticket_at) / 86400,
	                     CASE WHEN customer_churn_risk.last_ticket_at > customer_churn_risk.as_of - customer_churn_risk.frequent_window
	                          THEN (SELECT count(*) FROM repairsys.ticket t
	                                 WHERE t.customer_id = customer_churn_risk.customer
	                                   AND t.opened_at > customer_churn_risk.as_of - customer_churn_risk.frequent_window
	                                   AND t.status_role <> 'cancelled') ELSE 0 END,
	                     customer_churn_risk.avg_rating,
	                     customer_churn_risk.complaints,
	                     (SELECT count(*) FROM repairsys.ticket t
	                       WHERE t.customer_id = customer_churn_risk.customer AND t.status_role <> 'cancelled' AND EXISTS (
	                             SELECT 1 FROM repairsys.ticket p
	                              WHERE p.asset_id = t.asset_id AND p.service_type = t.service_type AND p.id <> t.id
	                                AND p.resolved_at < t.opened_at AND t.opened_at <= p.resolved_at + customer_churn_risk.rework_window)),
	                     customer_churn_risk.unresolved]::float8[] AS x
	        OFFSET 0) f;
END;
COMMENT ON FUNCTION repairsys.customer_churn_risk(bigint, timestamptz, timestamptz, integer, numeric, integer, interval, interval) IS 'customer_profile: churn_risk(customer, as_of) from the customer''s roll-up figures (latest opening, unresolved tickets, average rating, complaints) and its tickets (frequency within frequent_window, repeat repairs within rework_window), for a history with nothing later than as_of; NULL without a model';

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
-- share no row.  The latest opening and history time are raised with
-- greatest(); when a write may lower them (a ticket cancelled, moved to
-- another customer, deleted, reopened or given an earlier time, a feedback
-- removed) they are recounted from that customer's tickets through
-- ticket_customer_idx, in a statement of its own after the row is locked, so
-- that it sees what the writers it waited for committed.  The triggers of
-- feedback and payments take a share lock on the ticket they count for, so
-- that a ticket's cancellation or move and a feedback or payment on it are
-- ordered and neither counts on a state the other is changing.

------------------------------------------------------------------------------
-- The recomputation (what the roll-up must equal)
------------------------------------------------------------------------------
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
	       k.last_ticket_at, k.history_until
	  FROM repairsys.customer c
	  LEFT JOIN (SELECT x.customer_id, count(*) AS assets, sum(x.purchase_price) AS purchase_total
	               FROM repairsys.asset x
	              WHERE centers IS NULL
	                 OR x.customer_id IN (SELECT y.id FROM repairsys.customer y WHERE y.service_center_id = ANY (centers))
	              GROUP BY x.customer_id) a ON a.customer_id = c.id
	  LEFT JOIN (SELECT t.customer_id, count(*) AS tickets, count(*) FILTER (WHERE t.resolved_at IS NOT NULL) AS repairs,
	                    sum(fb.rating) AS rating_sum, count(fb.rating) AS rating_count,
	                    count(*) FILTER (WHERE fb.complaint) AS complaints, max(t.opened_at) AS last_ticket_at,
	                    greatest(max(t.opened_at), max(t.resolved_at), max(fb.at)) AS history_until
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
-- latest times to last_at / until, and, when recount, recounts them from
-- the customer's tickets (leaving out except_ticket, a ticket being
-- deleted).  Called by the triggers below only (no grant).
CREATE FUNCTION repairsys.customer_rollup_move(customer bigint, d_assets integer, d_purchase numeric, d_tickets integer,
                                               d_repairs integer, d_rating_sum integer, d_rating_count integer,
                                               d_complaints integer, d_spent numeric, last_at timestamptz, until timestamptz,
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
		       last_ticket_at = greatest(r.last_ticket_at, last_at), history_until = greatest(r.history_until, until)
		 WHERE r.customer_id = customer;
		EXIT WHEN FOUND;
		-- (a customer written around the triggers: its row from scratch)
		INSERT INTO repairsys.customer_rollup (customer_id) VALUES (customer) ON CONFLICT DO NOTHING;
	END LOOP;
	IF recount THEN
		-- (a statement of its own: the row is locked now, and this one's
		-- snapshot sees what the writers it waited for committed)
		UPDATE repairsys.customer_rollup r
		   SET last_ticket_at = m.last_ticket_at, history_until = m.history_until
		  FROM (SELECT max(t.opened_at) AS last_ticket_at, greatest(max(t.opened_at), max(t.resolved_at), max(fb.at)) AS history_until
		          FROM repairsys.ticket t
		          LEFT JOIN repairsys.feedback fb ON fb.ticket_id = t.id
		         WHERE t.customer_id = customer AND t.status_role <> 'cancelled' AND t.id IS DISTINCT FROM except_ticket) m
		 WHERE r.customer_id = customer;
	END IF;
END
$$;
COMMENT ON FUNCTION repairsys.customer_rollup_move(bigint, integer, numeric, integer, integer, integer, integer, integer, numeric, timestamptz, timestamptz, boolean, bigint) IS 'Moves one customer''s roll-up row (customer_rollup) by signed deltas and raises or recounts its latest times (the roll-up triggers only)';

-- Moves the customer's row by what one ticket counts for (sign +1 or -1):
-- the ticket itself, its feedback when it is not cancelled, and with
-- payments the payments on its invoice.
CREATE FUNCTION repairsys.customer_rollup_ticket(t repairsys.ticket, sign integer, payments boolean, recount boolean, except_ticket bigint)
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
	                                       recount AND counted AND sign < 0, except_ticket);
END
$$;
COMMENT ON FUNCTION repairsys.customer_rollup_ticket(repairsys.ticket, integer, boolean, boolean, bigint) IS 'Adds (+1) or takes (-1) what one ticket counts for in its customer''s roll-up row (customer_rollup): the ticket, its feedback, optionally its payments (the roll-up triggers only)';

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
		PERFORM repairsys.customer_rollup_ticket(NEW, 1, false, false, NULL);
	ELSIF NEW.customer_id IS DISTINCT FROM OLD.customer_id THEN
		-- (the lower customer id first: two moves in opposite directions
		-- lock the two rows in the same order)
		IF OLD.customer_id < NEW.customer_id THEN
			PERFORM repairsys.customer_rollup_ticket(OLD, -1, true, true, NULL);
			PERFORM repairsys.customer_rollup_ticket(NEW, 1, true, false, NULL);
		ELSE
			PERFORM repairsys.customer_rollup_ticket(NEW, 1, true, false, NULL);
			PERFORM repairsys.customer_rollup_ticket(OLD, -1, true, true, NULL);
		END IF;
	ELSE
		-- the same customer: what the old row counted for goes, what the new
		-- one counts for comes; the latest times are recounted only when they
		-- may go down (the new row's are raised after the recount)
		PERFORM repairsys.customer_rollup_ticket(OLD, -1, false,
		            NEW.status_role = 'cancelled' OR NEW.opened_at < OLD.opened_at
		            OR (OLD.resolved_at IS NOT NULL AND (NEW.resolved_at IS NULL OR NEW.resolved_at < OLD.resolved_at)), NULL);
		PERFORM repairsys.customer_rollup_ticket(NEW, 1, false, false, NULL);
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
	PERFORM repairsys.customer_rollup_ticket(OLD, -1, true, true, OLD.id);
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
		                                       NULL, NULL, true, NULL);
	END IF;
	IF TG_OP IN ('INSERT', 'UPDATE') THEN
		customer := NULL;
		SELECT t.customer_id INTO customer FROM repairsys.ticket t
		 WHERE t.id = NEW.ticket_id AND t.status_role <> 'cancelled' FOR SHARE;
		PERFORM repairsys.customer_rollup_move(customer, 0, 0, 0, 0, NEW.rating, 1, NEW.complaint::integer, 0,
		                                       NULL, NEW.at, false, NULL);
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
		PERFORM repairsys.customer_rollup_move(customer, 0, 0, 0, 0, 0, 0, 0, -OLD.amount, NULL, NULL, false, NULL);
	END IF;
	IF TG_OP IN ('INSERT', 'UPDATE') THEN
		customer := NULL;
		SELECT t.customer_id INTO customer FROM repairsys.invoice i JOIN repairsys.ticket t ON t.id = i.ticket_id
		 WHERE i.id = NEW.invoice_id FOR SHARE OF t;
		PERFORM repairsys.customer_rollup_move(customer, 0, 0, 0, 0, 0, 0, 0, NEW.amount, NULL, NULL, false, NULL);
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
	                                       0, 0, 0, 0, 0, 0, 0, -spent, NULL, NULL, false, NULL);
	PERFORM repairsys.customer_rollup_move((SELECT t.customer_id FROM repairsys.ticket t WHERE t.id = NEW.ticket_id),
	                                       0, 0, 0, 0, 0, 0, 0, spent, NULL, NULL, false, NULL);
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

-- (src/sql/71_rollups.sql: rollup_rebuild() rebuilds customer_rollup too)
CREATE OR REPLACE FUNCTION repairsys.rollup_rebuild(centers bigint[] DEFAULT NULL)
RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
DECLARE
	n bigint;
	m bigint;  -- (customer_rollup)
BEGIN
	IF centers IS NOT NULL AND pg_catalog.array_position(centers, NULL) IS NOT NULL THEN
		RAISE EXCEPTION 'the service centers to rebuild must not contain NULL'
			USING ERRCODE = '22023', DETAIL = 'Pass NULL (the default) to rebuild every roll-up row.';
	END IF;
	LOCK TABLE repairsys.ticket_fact IN EXCLUSIVE MODE;
	IF centers IS NULL THEN
		DELETE FROM repairsys.ticket_fact;
	ELSE
		DELETE FROM repairsys.ticket_fact f
		 WHERE f.service_center_id = ANY (centers)
		    OR f.ticket_id IN (SELECT x.id FROM repairsys.ticket x WHERE x.service_center_id = ANY (centers));
	END IF;
	INSERT INTO repairsys.ticket_fact SELECT * FROM repairsys.ticket_fact_recomputed(centers);
	GET DIAGNOSTICS n = ROW_COUNT;
	ANALYZE repairsys.ticket_fact;
	-- customer_rollup (customer_profile's roll-up, 71b_customer_rollup.sql)
	LOCK TABLE repairsys.customer_rollup IN EXCLUSIVE MODE;
	IF centers IS NULL THEN
		DELETE FROM repairsys.customer_rollup;
	ELSE
		DELETE FROM repairsys.customer_rollup r
		 WHERE r.customer_id IN (SELECT c.id FROM repairsys.customer c WHERE c.service_center_id = ANY (centers));
	END IF;
	INSERT INTO repairsys.customer_rollup SELECT * FROM repairsys.customer_rollup_recomputed(centers);
	GET DIAGNOSTICS m = ROW_COUNT;
	n := n + m;
	ANALYZE repairsys.customer_rollup;
	-- (end of customer_rollup)
	RETURN n;
END
$$;
COMMENT ON FUNCTION repairsys.rollup_rebuild(bigint[]) IS 'Recomputes every roll-up of the report views (ticket_fact, customer_rollup) from the base tables, set-based (after an import or restore with triggers disabled), or only the rows of the tickets and customers of the given service centers; returns the rows written';

-- (src/sql/70_reports.sql: customer_profile reads the roll-up)
CREATE OR REPLACE VIEW repairsys.customer_profile AS
SELECT c.id AS customer_id,
       c.name,
       c.phone,
       c.service_center_id,
       coalesce(r.assets, 0)::integer AS assets,
       coalesce(r.purchase_total, 0)::numeric(14,2) AS purchase_total,
       coalesce(r.tickets, 0)::integer AS tickets,
       coalesce(r.repairs, 0)::integer AS repairs,
       coalesce(r.total_spent, 0)::numeric(14,2) AS total_spent,
       round(k.avg_rating, 2) AS avg_rating,
       coalesce(r.complaints, 0)::integer AS complaints,
       r.last_ticket_at,
       CASE WHEN (r.complaints > 0 AND r.history_until >= s.now - s.at_risk_window
                  AND repairsys.customer_recent_complaint(c.id, s.now - s.at_risk_window))
                 OR k.avg_rating < s.at_risk_rating THEN 'at_risk'
            WHEN coalesce(r.purchase_total, 0) + coalesce(r.total_spent, 0) >= s.high_value_total THEN 'high_value'
            WHEN s.frequent_repairs <= 0
                 OR (r.last_ticket_at >= s.now - s.frequent_window
                     AND repairsys.customer_recent_tickets(c.id, s.now - s.frequent_window, true) >= s.frequent_repairs) THEN 'frequent_repair'
            ELSE 'regular' END AS segment,
       round(CASE WHEN m.id IS NULL OR coalesce(r.tickets, 0) = 0 THEN NULL
                  WHEN r.history_until > s.now THEN repairsys.churn_risk(c.id, s.now)
                  ELSE repairsys.customer_churn_risk(c.id, s.now, r.last_ticket_at, r.tickets - r.repairs, k.avg_rating,
                                                     r.complaints, s.frequent_window, s.rework_window) END::numeric, 4) AS churn_risk
  FROM repairsys.customer c
  LEFT JOIN repairsys.customer_rollup r ON r.customer_id = c.id
 CROSS JOIN LATERAL (SELECT r.rating_sum::numeric / nullif(r.rating_count, 0) AS avg_rating) k
 CROSS JOIN (SELECT now() AS now,
                    repairsys.setting_value('segment_at_risk_window')::interval AS at_risk_window,
                    repairsys.setting_value('segment_at_risk_rating')::numeric AS at_risk_rating,
                    repairsys.setting_value('segment_high_value_total')::numeric AS high_value_total,
                    repairsys.setting_value('segment_frequent_window')::interval AS frequent_window,
                    repairsys.setting_value('segment_frequent_repairs')::integer AS frequent_repairs,
                    repairsys.setting_value('rework_window')::interval AS rework_window
             -- (OFFSET 0: the settings are read once, not once per customer)
             OFFSET 0) s
  LEFT JOIN repairsys.churn_model m ON m.id;
ALTER VIEW repairsys.customer_profile SET (security_invoker = true);

-- (src/sql/80_ticket_triggers.sql: the customer roll-up's triggers on ticket)
-- 78: the ticket, its feedback and payments leave its customer's roll-up
-- row (customer_rollup, 71b_customer_rollup.sql); the last BEFORE DELETE
-- trigger, so that no trigger after it keeps the row, and BEFORE, because the
-- delete cascades to the feedback, which the AFTER triggers could no longer
-- tie to the ticket's customer.
CREATE TRIGGER ticket_78_customer_rollup_delete BEFORE DELETE ON repairsys.ticket
	FOR EACH ROW EXECUTE FUNCTION repairsys.customer_rollup_ticket_delete_trg();
-- 51: the customer's roll-up row (customer_rollup, 71b_customer_rollup.sql)
-- counts the new ticket; it reads the row and writes only that row, so its
-- place does not matter (before 95, whose assignment changes nothing it
-- counts).
CREATE TRIGGER ticket_51_customer_rollup_insert AFTER INSERT ON repairsys.ticket
	FOR EACH ROW EXECUTE FUNCTION repairsys.customer_rollup_ticket_trg();
-- 51: the customers' roll-up rows (customer_rollup, 71b_customer_rollup.sql)
-- follow a change of customer, of the cancelled role, of the opening or of
-- the resolution; it reads the row, its feedback and payments and writes only
-- the customers' rows, so its place does not matter.  The WHEN clause keeps
-- it off every other status change (the life cycle's in_progress <->
-- waiting_parts does not pay for it).
CREATE TRIGGER ticket_51_customer_rollup_update AFTER UPDATE ON repairsys.ticket
	FOR EACH ROW
	WHEN ((NEW.customer_id, NEW.status_role = 'cancelled', NEW.opened_at, NEW.resolved_at)
	      IS DISTINCT FROM (OLD.customer_id, OLD.status_role = 'cancelled', OLD.opened_at, OLD.resolved_at))
	EXECUTE FUNCTION repairsys.customer_rollup_ticket_trg();

-- (src/sql/95_invariants.sql: the customer roll-up's invariant)
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

-- the existing customers' rows
INSERT INTO repairsys.customer_rollup SELECT * FROM repairsys.customer_rollup_recomputed();

------------------------------------------------------------------------------
-- 3l. The open tickets and follow-up calls of a center through an index (issue 22 item 2)
------------------------------------------------------------------------------
-- the open tickets of a center (sla_status, the dispatch board): read
-- without the center's history (src/sql/20_tables.sql)
CREATE INDEX ticket_open_center_idx ON repairsys.ticket (service_center_id) WHERE resolved_at IS NULL;
-- and a center's open follow-up calls (follow_up_due), src/sql/20_tables.sql
CREATE INDEX follow_up_open_center_idx ON repairsys.follow_up (service_center_id, due_at) WHERE done_at IS NULL;

------------------------------------------------------------------------------
-- 3m. reputation: each month's figures from reputation_month() (issue 22 item 2)
------------------------------------------------------------------------------
-- (src/sql/73_cost_reports.sql: the planner charged the previous month's
-- subquery once per (month, center) pair of the table and compiled the month
-- x center query with JIT; the repeat repairs are a join, not a call of
-- rework_of() per ticket)
CREATE FUNCTION repairsys.reputation_month(center bigint, month date,
	OUT closed_tickets bigint, OUT ratings bigint, OUT csat_pct numeric, OUT detractor_pct numeric,
	OUT complaint_rate numeric, OUT repeat_rate numeric)
RETURNS record
LANGUAGE sql STABLE
BEGIN ATOMIC
	SELECT count(*),
	       count(f.rating),
	       round(100.0 * count(*) FILTER (WHERE f.rating >= 4) / nullif(count(f.rating), 0), 1),
	       round(100.0 * count(*) FILTER (WHERE f.rating <= 2) / nullif(count(f.rating), 0), 1),
	       round(100.0 * count(*) FILTER (WHERE f.complaint) / nullif(count(*), 0), 2),
	       round(100.0 * count(*) FILTER (WHERE r.repeat) / nullif(count(*), 0), 1)
	  FROM repairsys.ticket_fact f
	  JOIN repairsys.ticket t ON t.id = f.ticket_id
	 CROSS JOIN (SELECT repairsys.setting_value('rework_window')::interval AS rework_window OFFSET 0) s
	 -- rework_of(t) IS NOT NULL, as a join (rework_of()'s conditions, the
	 -- setting read once): a call per ticket cost 20 us of executor set-up
	 -- and a read of the setting for each earlier ticket it looked at
	 CROSS JOIN LATERAL (SELECT EXISTS (
	             SELECT 1 FROM repairsys.ticket p
	              WHERE p.asset_id = t.asset_id AND p.service_type = t.service_type
	                AND p.id <> t.id AND p.status_role = 'closed' AND p.closed_at <= t.opened_at
	                AND p.closed_at >= t.opened_at - coalesce(t.price_rework_window::interval, s.rework_window)) AS repeat) r
	 WHERE f.closed AND f.service_center_id = reputation_month.center AND f.closed_month = reputation_month.month;
END;
COMMENT ON FUNCTION repairsys.reputation_month(bigint, date) IS 'reputation: the figures of one center and month of closing (closed_tickets 0 and the rest NULL when the month closed no ticket), from ticket_fact through ticket_fact_center_closed_idx';

CREATE OR REPLACE VIEW repairsys.reputation AS
SELECT k.month, k.service_center_id, m.closed_tickets, m.ratings, m.csat_pct, m.detractor_pct, m.complaint_rate, m.repeat_rate,
       m.ratings - p.ratings AS ratings_change,
       m.csat_pct - p.csat_pct AS csat_change,
       m.detractor_pct - p.detractor_pct AS detractor_change,
       m.complaint_rate - p.complaint_rate AS complaint_change,
       m.repeat_rate - p.repeat_rate AS repeat_change
  FROM (SELECT DISTINCT f.closed_month AS month, f.service_center_id
          FROM repairsys.ticket_fact f
         WHERE f.closed AND f.closed_month IS NOT NULL AND f.service_center_id IS NOT NULL) k
 CROSS JOIN LATERAL repairsys.reputation_month(k.service_center_id, k.month) m
  -- (no row when the previous month closed no ticket: the changes are NULL)
  LEFT JOIN LATERAL (SELECT q.* FROM repairsys.reputation_month(k.service_center_id, (k.month - interval '1 month')::date) q
                      WHERE q.closed_tickets > 0) p ON true;

ALTER VIEW repairsys.reputation SET (security_invoker = true);

------------------------------------------------------------------------------
-- 3n. customer_profile's segment from the roll-up row: the latest complaint
--     and the latest openings (issue 22 item 2)
------------------------------------------------------------------------------
-- (src/sql/27c_tables_customer_rollup.sql, 71b_customer_rollup.sql,
-- 70_reports.sql: a center's profile probed each customer's tickets for a
-- recent complaint and for the tickets within segment_frequent_window)
CREATE FUNCTION repairsys.customer_recent_depth()
RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN 10;
COMMENT ON FUNCTION repairsys.customer_recent_depth() IS 'How many of a customer''s latest ticket openings customer_rollup.recent_opened keeps (10): segment_frequent_repairs up to this is read from the roll-up row';

ALTER TABLE repairsys.customer_rollup
	ADD COLUMN last_complaint_at timestamptz,
	ADD COLUMN recent_opened timestamptz[] NOT NULL DEFAULT '{}' CHECK (cardinality(recent_opened) <= repairsys.customer_recent_depth());
COMMENT ON COLUMN repairsys.customer_rollup.last_complaint_at IS 'When the latest complaint on these tickets was filed (feedback.at; NULL: none): customer_profile''s at_risk segment compares it with segment_at_risk_window';
COMMENT ON COLUMN repairsys.customer_rollup.recent_opened IS 'When the latest of these tickets were opened, newest first, at most customer_recent_depth() of them: customer_profile''s frequent_repair segment compares the segment_frequent_repairs-th with segment_frequent_window';

-- (two functions gain arguments: the old ones go)
DROP FUNCTION repairsys.customer_rollup_move(bigint, integer, numeric, integer, integer, integer, integer, integer, numeric, timestamptz, timestamptz, boolean, bigint);
DROP FUNCTION repairsys.customer_rollup_ticket(repairsys.ticket, integer, boolean, boolean, bigint);
CREATE OR REPLACE FUNCTION repairsys.customer_rollup_recomputed(centers bigint[] DEFAULT NULL)
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

CREATE OR REPLACE FUNCTION repairsys.customer_rollup_ticket_trg()
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

CREATE OR REPLACE FUNCTION repairsys.customer_rollup_ticket_delete_trg()
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

CREATE OR REPLACE FUNCTION repairsys.customer_rollup_feedback_trg()
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

CREATE OR REPLACE FUNCTION repairsys.customer_rollup_payment_trg()
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

CREATE OR REPLACE FUNCTION repairsys.customer_rollup_invoice_trg()
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

CREATE OR REPLACE VIEW repairsys.customer_profile AS
SELECT c.id AS customer_id,
       c.name,
       c.phone,
       c.service_center_id,
       coalesce(r.assets, 0)::integer AS assets,
       coalesce(r.purchase_total, 0)::numeric(14,2) AS purchase_total,
       coalesce(r.tickets, 0)::integer AS tickets,
       coalesce(r.repairs, 0)::integer AS repairs,
       coalesce(r.total_spent, 0)::numeric(14,2) AS total_spent,
       round(k.avg_rating, 2) AS avg_rating,
       coalesce(r.complaints, 0)::integer AS complaints,
       r.last_ticket_at,
       CASE WHEN r.last_complaint_at >= s.now - s.at_risk_window
                 OR k.avg_rating < s.at_risk_rating THEN 'at_risk'
            WHEN coalesce(r.purchase_total, 0) + coalesce(r.total_spent, 0) >= s.high_value_total THEN 'high_value'
            WHEN s.frequent_repairs <= 0
                 OR (r.last_ticket_at >= s.now - s.frequent_window
                     AND CASE WHEN s.frequent_repairs <= repairsys.customer_recent_depth()
                              THEN r.recent_opened[s.frequent_repairs] >= s.now - s.frequent_window
                              ELSE repairsys.customer_recent_tickets(c.id, s.now - s.frequent_window, true) >= s.frequent_repairs END)
                 THEN 'frequent_repair'
            ELSE 'regular' END AS segment,
       round(CASE WHEN m.id IS NULL OR coalesce(r.tickets, 0) = 0 THEN NULL
                  WHEN r.history_until > s.now THEN repairsys.churn_risk(c.id, s.now)
                  ELSE repairsys.customer_churn_risk(c.id, s.now, r.last_ticket_at, r.tickets - r.repairs, k.avg_rating,
                                                     r.complaints, s.frequent_window, s.rework_window) END::numeric, 4) AS churn_risk
  FROM repairsys.customer c
  -- (one probe of the roll-up's key per customer, whatever the planner's
  -- estimate: a plain join let it hash the whole roll-up, every customer
  -- of the company, for one center's page; OFFSET 0 keeps the subquery
  -- apart, docs/performance.md "customer_profile")
  LEFT JOIN LATERAL (SELECT x.* FROM repairsys.customer_rollup x WHERE x.customer_id = c.id OFFSET 0) r ON true
 CROSS JOIN LATERAL (SELECT r.rating_sum::numeric / nullif(r.rating_count, 0) AS avg_rating) k
 CROSS JOIN (SELECT now() AS now,
                    repairsys.setting_value('segment_at_risk_window')::interval AS at_risk_window,
                    repairsys.setting_value('segment_at_risk_rating')::numeric AS at_risk_rating,
                    repairsys.setting_value('segment_high_value_total')::numeric AS high_value_total,
                    repairsys.setting_value('segment_frequent_window')::interval AS frequent_window,
                    repairsys.setting_value('segment_frequent_repairs')::integer AS frequent_repairs,
                    repairsys.setting_value('rework_window')::interval AS rework_window
             -- (OFFSET 0: the settings are read once, not once per customer)
             OFFSET 0) s
  LEFT JOIN repairsys.churn_model m ON m.id;

ALTER VIEW repairsys.customer_profile SET (security_invoker = true);

-- (check_invariants() reads the roll-up's recomputation, whose row has two
-- more columns: its stored body again, src/sql/95_invariants.sql)
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

DROP FUNCTION repairsys.customer_recent_complaint(bigint, timestamptz);

-- the rows with their new columns
DELETE FROM repairsys.customer_rollup;
INSERT INTO repairsys.customer_rollup SELECT * FROM repairsys.customer_rollup_recomputed();

------------------------------------------------------------------------------
-- 3o. billing_audit: the problems of each ticket it reads (issue 22 item 2)
------------------------------------------------------------------------------
-- (src/sql/40_billing.sql: as a UNION ALL of checks over whole tables, a
-- query of the tickets of one month and center recomputed every approved
-- ticket's bill)
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

CREATE OR REPLACE VIEW repairsys.billing_audit AS
SELECT t.id AS ticket_id, p.problem, p.detail
  FROM repairsys.ticket t
 CROSS JOIN LATERAL repairsys.billing_problems(t) p;

ALTER VIEW repairsys.billing_audit SET (security_invoker = true);

------------------------------------------------------------------------------
-- 3p. compute_bill without a call per line that reads and plans a body again
------------------------------------------------------------------------------
-- (src/sql/40_billing.sql, 31_guards.sql: schedule_lines() and fmt_price()
-- are no longer STRICT, so they are inlined into compute_bill;
-- bill_lines() carries its row estimate.  The other functions of that change
-- are copied above: under_warranty() (no longer setting search_path, its body
-- BEGIN ATOMIC), ticket_coverage() and rework_of() in section 2,
-- approved_ceiling() and compute_bill() (an SQL query, inlined into its
-- callers) where 40_billing.sql's are, billing_problems() in 3o.)
CREATE OR REPLACE FUNCTION repairsys.schedule_lines(fee repairsys.fee_tier, qty numeric, what text, unit_name text,
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


ALTER FUNCTION repairsys.fmt_price(numeric) CALLED ON NULL INPUT;
ALTER FUNCTION repairsys.bill_lines(repairsys.ticket) ROWS 8;


------------------------------------------------------------------------------
-- 4. Finite numbers (85_finite.sql) and the security decisions (90_security.sql)
------------------------------------------------------------------------------
-- The <table>_<column>_finite CHECK of every numeric, float, date, timestamp
-- and interval column that has none yet: the loop of 85_finite.sql, skipping
-- the constraints that exist.  A row of 1.1 holding NaN or an infinity makes
-- the update fail here (23514, naming the constraint): correct the row, then
-- update again.

DO $$
DECLARE
	c    record;
	expr text;
BEGIN
	FOR c IN
		SELECT a.attrelid::pg_catalog.regclass AS rel, r.relname, a.attname, t.typname
		  FROM pg_catalog.pg_attribute a
		  JOIN pg_catalog.pg_class r ON r.oid OPERATOR(pg_catalog.=) a.attrelid
		  JOIN pg_catalog.pg_type t ON t.oid OPERATOR(pg_catalog.=) a.atttypid
		 WHERE r.relnamespace OPERATOR(pg_catalog.=) 'repairsys'::pg_catalog.regnamespace
		   AND r.relkind OPERATOR(pg_catalog.=) ANY (ARRAY['r', 'p']::"char"[]) AND NOT r.relispartition
		   AND a.attnum OPERATOR(pg_catalog.>) 0 AND NOT a.attisdropped
		   AND t.typname OPERATOR(pg_catalog.=) ANY (ARRAY['numeric', 'float4', 'float8', 'date', 'timestamp', 'timestamptz', 'interval']::name[])
		   AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_constraint k
		                    WHERE k.conrelid OPERATOR(pg_catalog.=) r.oid
		                      AND k.conname OPERATOR(pg_catalog.=) (r.relname || '_' || a.attname || '_finite'))
		 ORDER BY r.relname, a.attnum
	LOOP
		expr := CASE WHEN c.typname OPERATOR(pg_catalog.=) ANY (ARRAY['numeric', 'float4', 'float8']::name[])
		             THEN pg_catalog.format('%1$I OPERATOR(pg_catalog.<>) ''NaN'' AND %1$I OPERATOR(pg_catalog.>) ''-Infinity'' AND %1$I OPERATOR(pg_catalog.<) ''Infinity''', c.attname)
		             ELSE pg_catalog.format('pg_catalog.isfinite(%I)', c.attname) END;
		EXECUTE pg_catalog.format('ALTER TABLE %s ADD CONSTRAINT %I CHECK (%s)', c.rel,
		                          c.relname || '_' || c.attname || '_finite', expr);
	END LOOP;
END
$$;

-- Grants and policies: what 90_security.sql decides, decided again by its
-- loops, so that an updated database ends exactly as a fresh one.  First
-- everything the five roles of the extension hold on the schema's tables,
-- views, sequences and functions, and their policies, is taken away (what a
-- DBA granted to roles of their own, and policies of their own names, stay).
DO $$
DECLARE
	roles constant text := 'repairsys_admin, repairsys_dispatcher, repairsys_technician, repairsys_customer, repairsys_auditor';
	r     record;
BEGIN
	FOR r IN
		SELECT c.oid::pg_catalog.regclass AS rel, c.relkind
		  FROM pg_catalog.pg_class c
		 WHERE c.relnamespace OPERATOR(pg_catalog.=) 'repairsys'::pg_catalog.regnamespace
		   AND c.relkind OPERATOR(pg_catalog.=) ANY (ARRAY['r', 'p', 'v', 'm', 'S']::"char"[])
		   AND c.relacl IS NOT NULL
	LOOP
		EXECUTE pg_catalog.format('REVOKE ALL ON %s %s FROM %s',
			CASE WHEN r.relkind OPERATOR(pg_catalog.=) 'S' THEN 'SEQUENCE' ELSE 'TABLE' END, r.rel, roles);
	END LOOP;
	FOR r IN
		SELECT p.polname, p.polrelid::pg_catalog.regclass AS rel
		  FROM pg_catalog.pg_policy p JOIN pg_catalog.pg_class c ON c.oid OPERATOR(pg_catalog.=) p.polrelid
		 WHERE c.relnamespace OPERATOR(pg_catalog.=) 'repairsys'::pg_catalog.regnamespace
		   AND p.polname OPERATOR(pg_catalog.=) ANY (ARRAY['admin', 'auditor', 'reader', 'dispatcher', 'technician', 'customer']::name[])
	LOOP
		EXECUTE pg_catalog.format('DROP POLICY %I ON %s', r.polname, r.rel);
	END LOOP;
	FOR r IN
		SELECT p.oid::pg_catalog.regprocedure AS fn
		  FROM pg_catalog.pg_proc p
		 WHERE p.pronamespace OPERATOR(pg_catalog.=) 'repairsys'::pg_catalog.regnamespace
		   AND EXISTS (SELECT 1 FROM pg_catalog.aclexplode(p.proacl) a
		                WHERE a.grantee::pg_catalog.regrole::text OPERATOR(pg_catalog.=) ANY (pg_catalog.string_to_array(roles, ', ')))
	LOOP
		EXECUTE pg_catalog.format('REVOKE ALL ON FUNCTION %s FROM %s', r.fn, roles);
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

-- The security audit view is the admin's and the auditor's only
-- (97_security_audit.sql), not every role's as the view loop above decided.
REVOKE ALL ON repairsys.security_audit FROM repairsys_dispatcher, repairsys_technician, repairsys_customer;

-- The security audit view (97_security_audit.sql) reads the list of
-- append-only tables that the loop above uses, which 1.2 added.
CREATE OR REPLACE VIEW repairsys.security_audit AS
	-- tables without row-level security, or without the admin and auditor policies
	SELECT 'table'::text AS object_type, c.oid::pg_catalog.regclass::text AS object_name,
	       'row-level security disabled'::text AS problem,
	       'Without row-level security every role with a grant on the table sees and changes every row.'::text AS detail
	  FROM pg_catalog.pg_class c
	 WHERE c.relnamespace OPERATOR(pg_catalog.=) 'repairsys'::pg_catalog.regnamespace
	   AND c.relkind OPERATOR(pg_catalog.=) ANY (ARRAY['r', 'p']::"char"[]) AND NOT c.relispartition
	   AND NOT c.relrowsecurity
	UNION ALL
	SELECT 'table', c.oid::pg_catalog.regclass::text, r.problem, r.detail
	  FROM pg_catalog.pg_class c
	 CROSS JOIN (VALUES ('admin'::name, 'no admin policy'::text, 'The repairsys_admin role does not reach the rows of this table.'::text),
	                    ('auditor'::name, 'no auditor policy', 'The repairsys_auditor role does not reach the rows of this table.')) AS r(polname, problem, detail)
	 WHERE c.relnamespace OPERATOR(pg_catalog.=) 'repairsys'::pg_catalog.regnamespace
	   AND c.relkind OPERATOR(pg_catalog.=) ANY (ARRAY['r', 'p']::"char"[]) AND NOT c.relispartition
	   AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_policy p
	                    WHERE p.polrelid OPERATOR(pg_catalog.=) c.oid AND p.polname OPERATOR(pg_catalog.=) r.polname)
	UNION ALL
	-- partitions (57_partitions.sql): read and written through the parent
	-- only; none may be granted, each has row-level security on
	SELECT 'table', c.oid::pg_catalog.regclass::text, 'partition readable around its parent',
	       'Every role reads and writes a partition through its parent, whose policies apply; revoke the grants on the partition and enable its row-level security.'
	  FROM pg_catalog.pg_class c
	 WHERE c.relnamespace OPERATOR(pg_catalog.=) 'repairsys'::pg_catalog.regnamespace
	   AND c.relkind OPERATOR(pg_catalog.=) ANY (ARRAY['r', 'p']::"char"[]) AND c.relispartition
	   AND (NOT c.relrowsecurity
	        OR EXISTS (SELECT 1 FROM pg_catalog.aclexplode(c.relacl) a WHERE a.grantee OPERATOR(pg_catalog.<>) c.relowner))
	UNION ALL
	-- privileges granted to PUBLIC on tables and views
	SELECT CASE WHEN c.relkind OPERATOR(pg_catalog.=) ANY (ARRAY['v', 'm']::"char"[]) THEN 'view' ELSE 'table' END,
	       c.oid::pg_catalog.regclass::text, 'PUBLIC holds ' || a.privilege_type,
	       'Every role of the cluster may use this privilege; grant it to the repairsys roles instead.'
	  FROM pg_catalog.pg_class c
	 CROSS JOIN LATERAL pg_catalog.aclexplode(c.relacl) a
	 WHERE c.relnamespace OPERATOR(pg_catalog.=) 'repairsys'::pg_catalog.regnamespace
	   AND c.relkind OPERATOR(pg_catalog.=) ANY (ARRAY['r', 'p', 'v', 'm']::"char"[])
	   AND a.grantee OPERATOR(pg_catalog.=) 0::pg_catalog.oid
	UNION ALL
	-- views that run with their owner's rights (they bypass row-level security)
	SELECT 'view', c.oid::pg_catalog.regclass::text, 'view runs with its owner''s rights',
	       'Set security_invoker = true so that row-level security of the tables under it applies to the caller.'
	  FROM pg_catalog.pg_class c
	 WHERE c.relnamespace OPERATOR(pg_catalog.=) 'repairsys'::pg_catalog.regnamespace
	   AND c.relkind OPERATOR(pg_catalog.=) 'v'
	   AND pg_catalog.current_setting('server_version_num')::integer OPERATOR(pg_catalog.>=) 150000
	   AND NOT coalesce('security_invoker=true' OPERATOR(pg_catalog.=) ANY (c.reloptions), false)
	UNION ALL
	-- SECURITY DEFINER functions: fixed search_path, not callable by PUBLIC
	SELECT 'function', p.oid::pg_catalog.regprocedure::text, 'SECURITY DEFINER function without search_path',
	       'A caller could plant objects in a schema of its search_path that the function would run with its owner''s rights.'
	  FROM pg_catalog.pg_proc p
	 WHERE p.pronamespace OPERATOR(pg_catalog.=) 'repairsys'::pg_catalog.regnamespace AND p.prosecdef
	   AND NOT EXISTS (SELECT 1 FROM pg_catalog.unnest(p.proconfig) AS s(setting)
	                    WHERE s.setting OPERATOR(pg_catalog.~~) 'search_path=%')
	UNION ALL
	SELECT 'function', p.oid::pg_catalog.regprocedure::text, 'SECURITY DEFINER function executable by PUBLIC',
	       'Revoke EXECUTE from PUBLIC and grant it to the repairsys roles that need it.'
	  FROM pg_catalog.pg_proc p
	 WHERE p.pronamespace OPERATOR(pg_catalog.=) 'repairsys'::pg_catalog.regnamespace AND p.prosecdef
	   AND (p.proacl IS NULL
	        OR EXISTS (SELECT 1 FROM pg_catalog.aclexplode(p.proacl) a WHERE a.grantee OPERATOR(pg_catalog.=) 0::pg_catalog.oid))
	UNION ALL
	-- the append-only ledgers: their triggers, and nobody but the owner may rewrite them
	SELECT 'table', ('repairsys.' || t.name), 'append-only trigger for ' || e.event || ' missing',
	       'Add a BEFORE ' || pg_catalog.upper(e.event) || ' trigger executing repairsys.forbid_change().'
	  FROM pg_catalog.unnest(repairsys.append_only_tables()) AS t(name)
	 CROSS JOIN (VALUES ('update', 19), ('delete', 11), ('truncate', 34)) AS e(event, bits)
	 WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_trigger g
	                    WHERE g.tgrelid OPERATOR(pg_catalog.=) pg_catalog.to_regclass('repairsys.' || t.name)
	                      AND g.tgfoid OPERATOR(pg_catalog.=) 'repairsys.forbid_change()'::pg_catalog.regprocedure
	                      AND g.tgenabled OPERATOR(pg_catalog.<>) 'D'
	                      AND (g.tgtype::integer OPERATOR(pg_catalog.&) e.bits) OPERATOR(pg_catalog.=) e.bits)
	UNION ALL
	SELECT 'table', c.oid::pg_catalog.regclass::text,
	       pg_catalog.format('%s holds %s on an append-only table', a.grantee::pg_catalog.regrole, a.privilege_type),
	       'Rows of the append-only tables are never changed or removed; revoke the privilege.'
	  FROM pg_catalog.pg_class c
	 CROSS JOIN LATERAL pg_catalog.aclexplode(c.relacl) a
	 WHERE c.relnamespace OPERATOR(pg_catalog.=) 'repairsys'::pg_catalog.regnamespace
	   AND c.relname OPERATOR(pg_catalog.=) ANY (repairsys.append_only_tables())
	   AND a.privilege_type OPERATOR(pg_catalog.=) ANY (ARRAY['UPDATE', 'DELETE', 'TRUNCATE'])
	   AND a.grantee OPERATOR(pg_catalog.<>) c.relowner
	   AND a.grantee OPERATOR(pg_catalog.<>) 0::pg_catalog.oid;
ALTER VIEW repairsys.security_audit SET (security_invoker = true);

------------------------------------------------------------------------------
-- 5. The end of the install script (99_finish.sql)
------------------------------------------------------------------------------
-- pg_dump keeps the state of a sequence of an extension only when it is
-- registered itself: register the identity sequence of every table that is
-- registered for dumping, so restored ids are not handed out again.
DO $$
DECLARE
	seq regclass;
BEGIN
	FOR seq IN
		SELECT pg_catalog.pg_get_serial_sequence(c.oid::regclass::text, a.attname)::regclass
		  FROM pg_catalog.pg_extension e
		  CROSS JOIN LATERAL pg_catalog.unnest(e.extconfig) AS cfg(reloid)
		  JOIN pg_catalog.pg_class c ON c.oid = cfg.reloid AND c.relkind IN ('r', 'p')
		  JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attidentity <> '' AND NOT a.attisdropped
		 WHERE e.extname = 'repairsys'
	LOOP
		PERFORM pg_catalog.pg_extension_config_dump(seq, '');
	END LOOP;
END
$$;

-- invoice_line.invoice_id: a handful of lines an invoice, said to the planner
-- (src/sql/20_tables.sql; docs/performance.md "At 10,000,000 tickets again")
ALTER TABLE repairsys.invoice_line ALTER COLUMN invoice_id SET (n_distinct = -0.2);
