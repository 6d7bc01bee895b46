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
-- The version in force: price_version_at() and price_at() are in
-- 40_billing.sql, before compute_bill(), whose body reads them
------------------------------------------------------------------------------

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
