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
