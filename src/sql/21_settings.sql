-- Typed settings (docs/security.md, "Settings"): every row of
-- repairsys.setting has a type and a validity rule, and a value that breaks
-- them is refused when it is written (22023, naming the setting and what is
-- valid), by INSERT or UPDATE, whoever writes it: never discovered later by
-- an unrelated rule that reads it (a bill, a closing, a forecast).  The type
-- and rule of a row are the extension's: only the table owner changes them
-- (428C9).  The seeded rows (25_seed.sql and later pieces) give their type.
--
-- Triggers on repairsys.setting (BEFORE triggers fire in name order):
--   setting_10_valid   BEFORE INSERT OR UPDATE  type and value checks (here)
--   setting_seed       BEFORE INSERT OR UPDATE  dump flag of seeded rows (30_lifecycle.sql)

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
CREATE TRIGGER setting_10_valid BEFORE INSERT OR UPDATE ON repairsys.setting
	FOR EACH ROW EXECUTE FUNCTION repairsys.setting_valid_trg();

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
CREATE TRIGGER service_center_10_check BEFORE INSERT OR UPDATE OF time_zone ON repairsys.service_center
	FOR EACH ROW EXECUTE FUNCTION repairsys.service_center_check_trg();
