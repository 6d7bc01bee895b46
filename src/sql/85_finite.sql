-- Finite numbers everywhere (docs/billing.md "Rules at
-- the table"): NaN and the infinities are refused on every column that holds a
-- number or a time.
--
-- PostgreSQL sorts NaN above every number, so NaN passes CHECK (x >= 0) and
-- CHECK (x > 0); 'Infinity' passes them too (numeric columns with a precision
-- refuse it already, 22003, but float columns and numeric without one do not);
-- and a date or timestamp 'infinity' passes every range check and breaks the
-- arithmetic of the SLA and billing rules later.  So every column of a
-- numeric, float, date, timestamp or interval type of every table of the
-- schema gets one more CHECK constraint, named <table>_<column>_finite
-- (SQLSTATE 23514 when it refuses):
--   numeric, real, double precision:  x <> 'NaN' AND x > '-Infinity' AND x < 'Infinity'
--   date, timestamp(tz), interval:    isfinite(x)
-- NULL passes (whether a value is needed is each column's NOT NULL).
--
-- The constraints are made by a loop over the catalog, after every piece that
-- creates tables, so a column of any table is covered without a list to keep;
-- test/pgtap/tables.sql checks that every such column has its constraint.  (Interval infinities exist from
-- PostgreSQL 17; before, isfinite(interval) is always true.)
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
