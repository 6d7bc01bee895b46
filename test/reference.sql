-- test/reference.sql: docs/reference.md from the catalog of a database with
-- repairsys freshly installed.  Run by test/reference.sh, which feeds the
-- server's error codes and a scan of the C sources on standard input (see
-- there); psql -At prints the Markdown.
--
-- The output depends on the catalog only: every list has an ORDER BY (in the
-- "C" collation, so the server's locale does not matter), no OID, date or
-- server version is printed, the settings that change how values are printed
-- are pinned below, and function bodies are not printed (pg_get_functiondef's
-- layout differs between server versions).

SET search_path = pg_catalog, repairsys;
SET datestyle = 'ISO, YMD';
SET intervalstyle = postgres;
SET timezone = 'UTC';
SET extra_float_digits = 1;
SET bytea_output = hex;

-- The input of test/reference.sh.
CREATE TEMP TABLE input (kind text, a text, b text, c text);
\copy input FROM pstdin

-- Objects that belong to the extension.
CREATE TEMP VIEW member AS
SELECT d.classid, d.objid
  FROM pg_depend d JOIN pg_extension e ON d.refclassid = 'pg_extension'::regclass AND d.refobjid = e.oid
 WHERE e.extname = 'repairsys' AND d.deptype = 'e';

-- Text for a cell of a Markdown table: one line, | escaped, empty for NULL.
CREATE FUNCTION pg_temp.md(t text) RETURNS text LANGUAGE sql IMMUTABLE AS
$$ SELECT coalesce(replace(regexp_replace(btrim(t), '\s*\n\s*', ' ', 'g'), '|', '\|'), '') $$;
-- The same as code (a code span; an empty value stays empty).
CREATE FUNCTION pg_temp.code(t text) RETURNS text LANGUAGE sql IMMUTABLE AS
$$ SELECT CASE WHEN t IS NULL OR t = '' THEN '' ELSE '`' || pg_temp.md(t) || '`' END $$;

SELECT format(E'# repairsys reference\n\n'
	'Generated from the catalog of a fresh `CREATE EXTENSION repairsys` (version %s) by `make reference`\n'
	'(test/reference.sh, test/reference.sql); do not edit it by hand. test/t/reference.sh fails when this file\n'
	'differs from what the catalog says. Every object is in schema `repairsys`; names below are written as\n'
	'with `search_path = pg_catalog, repairsys`. The guides (docs/overview.md) say how the pieces fit together.\n\n'
	'[Types](#types) · [Tables](#tables) · [Views](#views) · [Functions](#functions) · [Operators](#operators) ·\n'
	'[Triggers](#triggers) · [Roles](#roles) · [Settings](#settings) · [SQLSTATEs](#sqlstates)',
	extversion)
  FROM pg_extension WHERE extname = 'repairsys';

------------------------------------------------------------------------------
-- Types
------------------------------------------------------------------------------
\echo
\echo '## Types'
\echo
\echo '| Type | Kind | Definition | Description |'
\echo '| --- | --- | --- | --- |'
SELECT string_agg(format('| %s | %s | %s | %s |',
		pg_temp.code(format_type(t.oid, NULL)),
		CASE t.typtype WHEN 'b' THEN 'base' WHEN 'c' THEN 'composite' WHEN 'd' THEN 'domain'
		               WHEN 'e' THEN 'enum' WHEN 'r' THEN 'range' WHEN 'm' THEN 'multirange' ELSE t.typtype::text END,
		pg_temp.md(CASE t.typtype
			WHEN 'b' THEN format('input %s, output %s%s, length %s',
				t.typinput::regproc, t.typoutput::regproc,
				CASE WHEN t.typreceive <> 0 THEN format(', binary %s / %s', t.typreceive::regproc, t.typsend::regproc) END,
				CASE WHEN t.typlen < 0 THEN 'variable' ELSE t.typlen::text END)
			WHEN 'e' THEN (SELECT string_agg(quote_literal(e.enumlabel), ', ' ORDER BY e.enumsortorder)
			                 FROM pg_enum e WHERE e.enumtypid = t.oid)
			WHEN 'd' THEN format_type(t.typbasetype, t.typtypmod)
				|| CASE WHEN t.typnotnull THEN ' NOT NULL' ELSE '' END
				|| coalesce(' ' || (SELECT string_agg(pg_get_constraintdef(c.oid), ' ' ORDER BY c.conname COLLATE "C")
				                      FROM pg_constraint c WHERE c.contypid = t.oid AND c.contype = 'c'), '')
			WHEN 'c' THEN (SELECT string_agg(quote_ident(a.attname) || ' ' || format_type(a.atttypid, a.atttypmod), ', ' ORDER BY a.attnum)
			                 FROM pg_attribute a WHERE a.attrelid = t.typrelid AND a.attnum > 0 AND NOT a.attisdropped)
			WHEN 'r' THEN (SELECT 'range of ' || format_type(r.rngsubtype, NULL) FROM pg_range r WHERE r.rngtypid = t.oid)
		END),
		pg_temp.md(obj_description(t.oid, 'pg_type'))),
	E'\n' ORDER BY format_type(t.oid, NULL) COLLATE "C")
  FROM pg_type t JOIN member m ON m.classid = 'pg_type'::regclass AND m.objid = t.oid;

------------------------------------------------------------------------------
-- Tables and views: one heading each, its comment, its columns
------------------------------------------------------------------------------
CREATE TEMP VIEW rel AS
SELECT c.oid, c.relkind, c.relname, format('%s', c.oid::regclass) AS label
  FROM pg_class c JOIN member m ON m.classid = 'pg_class'::regclass AND m.objid = c.oid
 WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f');

\echo
\echo '## Tables'
SELECT string_agg(format(E'\n### %s\n\n%s%s| Column | Type | Null | Default | Description |\n| --- | --- | --- | --- | --- |\n%s%s',
		r.label,
		coalesce(pg_temp.md(obj_description(r.oid, 'pg_class')) || E'\n\n', ''),
		CASE WHEN r.relkind = 'p' THEN E'Partitioned.\n\n' ELSE '' END,
		(SELECT string_agg(format('| %s | %s | %s | %s | %s |',
				pg_temp.code(a.attname), pg_temp.code(format_type(a.atttypid, a.atttypmod)),
				CASE WHEN a.attnotnull THEN 'not null' ELSE '' END,
				pg_temp.code(CASE
					WHEN a.attidentity = 'a' THEN 'generated always as identity'
					WHEN a.attidentity = 'd' THEN 'generated by default as identity'
					WHEN a.attgenerated = 's' THEN 'generated always as (' || pg_get_expr(ad.adbin, ad.adrelid) || ') stored'
					ELSE pg_get_expr(ad.adbin, ad.adrelid) END),
				pg_temp.md(col_description(r.oid, a.attnum))),
			E'\n' ORDER BY a.attnum)
		   FROM pg_attribute a LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
		  WHERE a.attrelid = r.oid AND a.attnum > 0 AND NOT a.attisdropped),
		coalesce(E'\n\nConstraints:\n\n' || (
			SELECT string_agg(format('- %s: %s', pg_temp.code(k.conname), pg_temp.code(pg_get_constraintdef(k.oid))),
				E'\n' ORDER BY k.conname COLLATE "C")
			  FROM pg_constraint k WHERE k.conrelid = r.oid AND k.contype IN ('c', 'f', 'p', 'u', 'x')), '')),
	E'\n' ORDER BY r.label COLLATE "C")
  FROM rel r WHERE r.relkind IN ('r', 'p', 'f');

\echo
\echo '## Views'
SELECT string_agg(format(E'\n### %s\n\n%s%s| Column | Type | Description |\n| --- | --- | --- |\n%s',
		r.label,
		coalesce(pg_temp.md(obj_description(r.oid, 'pg_class')) || E'\n\n', ''),
		CASE WHEN r.relkind = 'm' THEN E'Materialized.\n\n' ELSE '' END,
		(SELECT string_agg(format('| %s | %s | %s |',
				pg_temp.code(a.attname), pg_temp.code(format_type(a.atttypid, a.atttypmod)),
				pg_temp.md(col_description(r.oid, a.attnum))),
			E'\n' ORDER BY a.attnum)
		   FROM pg_attribute a WHERE a.attrelid = r.oid AND a.attnum > 0 AND NOT a.attisdropped)),
	E'\n' ORDER BY r.label COLLATE "C")
  FROM rel r WHERE r.relkind IN ('v', 'm');

------------------------------------------------------------------------------
-- Functions
------------------------------------------------------------------------------
CREATE TEMP VIEW fn AS
SELECT p.oid, p.proname, l.lanname, p.prosrc, p.prokind,
       format('%s(%s)', quote_ident(p.proname), pg_get_function_identity_arguments(p.oid)) AS signature
  FROM pg_proc p JOIN member m ON m.classid = 'pg_proc'::regclass AND m.objid = p.oid
  JOIN pg_language l ON l.oid = p.prolang;

\echo
\echo '## Functions'
\echo
\echo 'The signature is the identity of the function (psql''s `\\df+` shows argument defaults too); volatility, `STRICT`,'
\echo '`SECURITY DEFINER`, `PARALLEL` and `SET` are as declared.'
\echo
\echo '| Function | Returns | Language | Volatility | Attributes | Description |'
\echo '| --- | --- | --- | --- | --- | --- |'
SELECT string_agg(format('| %s | %s | %s | %s | %s | %s |',
		pg_temp.code(f.signature),
		pg_temp.code(CASE f.prokind WHEN 'p' THEN '(procedure)' ELSE pg_get_function_result(f.oid) END),
		f.lanname,
		CASE p.provolatile WHEN 'i' THEN 'IMMUTABLE' WHEN 's' THEN 'STABLE' ELSE 'VOLATILE' END,
		concat_ws(', ',
			CASE f.prokind WHEN 'a' THEN 'aggregate' WHEN 'w' THEN 'window' WHEN 'p' THEN 'procedure' END,
			CASE WHEN p.proisstrict THEN 'STRICT' END,
			CASE WHEN p.prosecdef THEN 'SECURITY DEFINER' END,
			CASE p.proparallel WHEN 's' THEN 'PARALLEL SAFE' WHEN 'r' THEN 'PARALLEL RESTRICTED' ELSE 'PARALLEL UNSAFE' END,
			CASE WHEN p.proleakproof THEN 'LEAKPROOF' END,
			(SELECT string_agg('SET ' || s, ', ' ORDER BY s COLLATE "C") FROM unnest(p.proconfig) s)),
		pg_temp.md(obj_description(f.oid, 'pg_proc'))),
	E'\n' ORDER BY f.proname COLLATE "C", f.signature COLLATE "C")
  FROM fn f JOIN pg_proc p ON p.oid = f.oid;

------------------------------------------------------------------------------
-- Operators
------------------------------------------------------------------------------
\echo
\echo '## Operators'
\echo
\echo '| Operator | Left | Right | Result | Function | Commutator | Negator | Description |'
\echo '| --- | --- | --- | --- | --- | --- | --- | --- |'
SELECT string_agg(format('| %s | %s | %s | %s | %s | %s | %s | %s |',
		pg_temp.code(o.oprname),
		pg_temp.code(CASE WHEN o.oprleft <> 0 THEN format_type(o.oprleft, NULL) END),
		pg_temp.code(format_type(o.oprright, NULL)),
		pg_temp.code(format_type(o.oprresult, NULL)),
		pg_temp.code(o.oprcode::regproc::text),
		pg_temp.code(CASE WHEN o.oprcom <> 0 THEN (SELECT x.oprname FROM pg_operator x WHERE x.oid = o.oprcom) END),
		pg_temp.code(CASE WHEN o.oprnegate <> 0 THEN (SELECT x.oprname FROM pg_operator x WHERE x.oid = o.oprnegate) END),
		pg_temp.md(obj_description(o.oid, 'pg_operator'))),
	E'\n' ORDER BY o.oprname COLLATE "C", format_type(o.oprleft, NULL) COLLATE "C", format_type(o.oprright, NULL) COLLATE "C")
  FROM pg_operator o JOIN member m ON m.classid = 'pg_operator'::regclass AND m.objid = o.oid;

------------------------------------------------------------------------------
-- Triggers, in firing order
------------------------------------------------------------------------------
-- tgtype bits (catalog/pg_trigger.h): 1 row, 2 before, 4 insert, 8 delete,
-- 16 update, 32 truncate, 64 instead.
CREATE TEMP VIEW trg AS
SELECT r.label, t.tgname, t.tgenabled, t.tgconstraint <> 0 AS is_constraint, t.tgdeferrable, t.tginitdeferred,
       CASE WHEN t.tgtype & 2 <> 0 THEN 'BEFORE' WHEN t.tgtype & 64 <> 0 THEN 'INSTEAD OF' ELSE 'AFTER' END AS timing,
       CASE WHEN t.tgtype & 1 <> 0 THEN 'ROW' ELSE 'STATEMENT' END AS level,
       -- the order of the phases of one event; in one phase, name order ("C")
       CASE WHEN t.tgtype & 2 <> 0 THEN CASE WHEN t.tgtype & 1 <> 0 THEN 2 ELSE 1 END
            WHEN t.tgtype & 64 <> 0 THEN 3
            ELSE CASE WHEN t.tgtype & 1 <> 0 THEN 4 ELSE 5 END END AS phase,
       concat_ws(' OR ',
           CASE WHEN t.tgtype & 4 <> 0 THEN 'INSERT' END,
           CASE WHEN t.tgtype & 16 <> 0 THEN 'UPDATE' || coalesce(' OF ' || (
               SELECT string_agg(quote_ident(a.attname), ', ' ORDER BY k.i)
                 FROM unnest(t.tgattr::int2[]) WITH ORDINALITY k(attnum, i)
                 JOIN pg_attribute a ON a.attrelid = t.tgrelid AND a.attnum = k.attnum), '') END,
           CASE WHEN t.tgtype & 8 <> 0 THEN 'DELETE' END,
           CASE WHEN t.tgtype & 32 <> 0 THEN 'TRUNCATE' END) AS events,
       substring(pg_get_triggerdef(t.oid) FROM ' WHEN \((.*)\) EXECUTE (?:FUNCTION|PROCEDURE) ') AS when_clause,
       substring(pg_get_triggerdef(t.oid) FROM ' EXECUTE (?:FUNCTION|PROCEDURE) (.*)$') AS call,
       concat_ws(', ', 'OLD TABLE AS ' || quote_ident(t.tgoldtable), 'NEW TABLE AS ' || quote_ident(t.tgnewtable)) AS referencing
  FROM pg_trigger t JOIN rel r ON r.oid = t.tgrelid
 WHERE NOT t.tgisinternal;

\echo
\echo '## Triggers'
\echo
\echo 'Per table, in the order they fire for one statement: BEFORE STATEMENT, then for each row BEFORE ROW'
\echo '(INSTEAD OF on a view), then AFTER ROW, then AFTER STATEMENT; within one of these, PostgreSQL fires'
\echo 'the triggers whose events include the statement''s in the order of their names. A WHEN clause can skip'
\echo 'a trigger; a BEFORE ROW trigger sees the row as the triggers before it left it.'
SELECT string_agg(x.section, E'\n' ORDER BY x.label COLLATE "C")
  FROM (SELECT t.label,
               format(E'\n### %s triggers\n\n| # | Trigger | Timing | Events | Level | When | Function |\n| --- | --- | --- | --- | --- | --- | --- |\n%s',
                   t.label,
                   string_agg(format('| %s | %s | %s | %s | %s | %s | %s |',
                       t.n, pg_temp.code(t.tgname)
                           || CASE t.tgenabled WHEN 'D' THEN ' (disabled)' WHEN 'R' THEN ' (replica only)' WHEN 'A' THEN ' (always)' ELSE '' END,
                       CASE WHEN t.is_constraint THEN 'constraint trigger, ' || CASE WHEN NOT t.tgdeferrable THEN 'not deferrable, '
                            WHEN t.tginitdeferred THEN 'deferred, ' ELSE 'deferrable, ' END ELSE '' END || t.timing,
                       t.events,
                       t.level || CASE WHEN t.referencing <> '' THEN ', REFERENCING ' || t.referencing ELSE '' END,
                       pg_temp.code(t.when_clause), pg_temp.code(t.call)),
                       E'\n' ORDER BY t.n)) AS section
          FROM (SELECT trg.*, row_number() OVER (PARTITION BY label ORDER BY phase, tgname COLLATE "C") AS n FROM trg) t
         GROUP BY t.label) x;

------------------------------------------------------------------------------
-- Roles: the roles that may use schema repairsys (the install script makes them)
------------------------------------------------------------------------------
\echo
\echo '## Roles'
\echo
\echo 'The roles the install script creates (cluster-wide, kept by `DROP EXTENSION`); each has `USAGE` on schema'
\echo '`repairsys`. docs/security.md says what each may do.'
\echo
\echo '| Role | Login | Member of | Description |'
\echo '| --- | --- | --- | --- |'
SELECT string_agg(format('| %s | %s | %s | %s |',
		pg_temp.code(r.rolname),
		CASE WHEN r.rolcanlogin THEN 'yes' ELSE 'no' END,
		-- distinct: from PostgreSQL 16 on, one membership may be granted by several grantors
		(SELECT string_agg(pg_temp.code(g.rolname), ', ' ORDER BY g.rolname COLLATE "C")
		   FROM pg_roles g WHERE g.oid IN (SELECT am.roleid FROM pg_auth_members am WHERE am.member = r.oid)),
		pg_temp.md(shobj_description(r.oid, 'pg_authid'))),
	E'\n' ORDER BY r.rolname COLLATE "C")
  FROM pg_roles r
 WHERE r.oid IN (SELECT a.grantee FROM pg_namespace n, aclexplode(n.nspacl) a
                  WHERE n.nspname = 'repairsys' AND a.grantee NOT IN (0, n.nspowner) AND a.privilege_type = 'USAGE');

------------------------------------------------------------------------------
-- Settings: every column of repairsys.setting, whatever columns it has
------------------------------------------------------------------------------
\echo
\echo '## Settings'
\echo
\echo 'The rows of `repairsys.setting` as the install script seeds them: `value` is the default. Read them with'
\echo '`SELECT * FROM repairsys.setting`; change one with `UPDATE repairsys.setting SET value = ... WHERE name = ...`'
\echo '(`repairsys_admin`).'
\echo
CREATE TEMP VIEW setting_col AS
SELECT a.attnum, a.attname, col_description(a.attrelid, a.attnum) AS comment
  FROM pg_attribute a
 WHERE a.attrelid = 'repairsys.setting'::regclass AND a.attnum > 0 AND NOT a.attisdropped;
SELECT concat_ws(E'\n',
	'| ' || string_agg(CASE attname WHEN 'value' THEN 'value (default)' ELSE attname END, ' | ' ORDER BY attnum) || ' |',
	'|' || repeat(' --- |', count(*)::int))
  FROM setting_col;
SELECT string_agg(x.line, E'\n' ORDER BY x.name COLLATE "C")
  FROM (SELECT s.name,
               '| ' || (SELECT string_agg(CASE WHEN c.attname = 'description' THEN pg_temp.md(j ->> c.attname)
                                               ELSE pg_temp.code(j ->> c.attname) END, ' | ' ORDER BY c.attnum)
                          FROM setting_col c) || ' |' AS line
          FROM repairsys.setting s, to_jsonb(s) j) x;
SELECT E'\nThe columns:\n\n' || string_agg(format('- %s: %s', pg_temp.code(attname), pg_temp.md(comment)), E'\n' ORDER BY attnum)
  FROM setting_col WHERE comment IS NOT NULL;

------------------------------------------------------------------------------
-- SQLSTATEs
------------------------------------------------------------------------------
-- One row per ERRCODE_ macro; a macro that is another name of a code (as
-- ERRCODE_DATETIME_VALUE_OUT_OF_RANGE is of 22008) has that code's condition.
CREATE TEMP VIEW errcode AS
SELECT i.a AS code, i.b AS macro,
       (SELECT min(j.c) FROM input j WHERE j.kind = 'errcode' AND j.a = i.a AND j.c <> '') AS condition
  FROM input i WHERE i.kind = 'errcode';

-- PL/pgSQL: each RAISE statement (its text up to the ";" that is not in a
-- string literal) of each function, without comments.  The SQLSTATE is the
-- one of SQLSTATE '...', of a condition name, or of USING ERRCODE = '...'
-- (a code or a condition name); without any, raise_exception (P0001).
-- RAISE below EXCEPTION level and a bare RAISE (re-raise) raise nothing new.
CREATE TEMP VIEW plpgsql_raise AS
WITH stmt AS (
	SELECT f.proname, btrim(m[1]) AS s
	  FROM fn f, regexp_matches(regexp_replace(regexp_replace(f.prosrc, '/\*.*?\*/', '', 'g'), '--[^\n]*', '', 'g'),
	                            $re$\mraise\M((?:'(?:[^']|'')*'|[^';])*);$re$, 'gi') m
	 WHERE f.lanname = 'plpgsql'
), lvl AS (
	SELECT proname, regexp_replace(s, '^exception\M\s*', '', 'i') AS s
	  FROM stmt WHERE s !~* '^(debug|log|info|notice|warning)\M'
), named AS (
	SELECT proname,
	       coalesce(substring(s FROM '(?i)^sqlstate\s+''([0-9A-Z]{5})'''),
	                substring(s FROM '(?i)\musing\M.*\merrcode\s*=\s*''([^'']*)'''),
	                CASE WHEN s ~* '\musing\M.*\merrcode\s*=' THEN '(computed)' END,
	                nullif(lower(substring(s FROM '^([A-Za-z_][A-Za-z0-9_]*)(?:\s|$)')), 'using'),
	                'P0001') AS what
	  FROM lvl WHERE s <> ''
)
SELECT proname, CASE WHEN what ~ '^[0-9A-Z]{5}$' THEN what ELSE coalesce((SELECT min(e.code) FROM errcode e WHERE e.condition = lower(what)), what) END AS code
  FROM named
UNION ALL
SELECT f.proname, 'P0004' FROM fn f WHERE f.lanname = 'plpgsql' AND f.prosrc ~* '(^|;)\s*assert\M';

-- C: the C functions reached from the C symbol of each SQL function.  A call
-- goes to the function of that name in the caller's file, else to the one of
-- another file (scoring.h).  A C function that raises an error but that no
-- SQL function reaches (a callback) is listed under its own name.
CREATE TEMP VIEW c_defined AS
SELECT DISTINCT a AS file, b AS cfn FROM input WHERE kind IN ('raise', 'call');
CREATE TEMP VIEW c_edge AS
SELECT DISTINCT i.a AS file, i.b AS caller, d.file AS callee_file, d.cfn AS callee
  FROM input i JOIN c_defined d ON d.cfn = i.c
 WHERE i.kind = 'call'
   AND (d.file = i.a OR NOT EXISTS (SELECT 1 FROM c_defined o WHERE o.cfn = i.c AND o.file = i.a));
CREATE TEMP VIEW c_reach AS
WITH RECURSIVE reach(proname, file, cfn) AS (
	SELECT f.proname, d.file, d.cfn FROM fn f JOIN c_defined d ON d.cfn = f.prosrc WHERE f.lanname = 'c'
	UNION
	SELECT r.proname, e.callee_file, e.callee FROM reach r JOIN c_edge e ON e.file = r.file AND e.caller = r.cfn
)
SELECT * FROM reach;
CREATE TEMP VIEW c_raise AS
SELECT DISTINCT r.proname, e.code
  FROM c_reach r JOIN input i ON i.kind = 'raise' AND i.a = r.file AND i.b = r.cfn JOIN errcode e ON e.macro = i.c
UNION
SELECT format('%s() (C, %s)', i.b, i.a), e.code
  FROM input i JOIN errcode e ON e.macro = i.c
 WHERE i.kind = 'raise' AND NOT EXISTS (SELECT 1 FROM c_reach r WHERE r.file = i.a AND r.cfn = i.b);

-- Constraints of the tables.
CREATE TEMP VIEW constraint_raise AS
SELECT DISTINCT r.relname, CASE k.contype WHEN 'c' THEN '23514' WHEN 'f' THEN '23503' WHEN 'x' THEN '23P01' ELSE '23505' END AS code
  FROM rel r JOIN pg_constraint k ON k.conrelid = r.oid WHERE k.contype IN ('c', 'f', 'p', 'u', 'x')
UNION
SELECT r.relname, '23502' FROM rel r JOIN pg_attribute a ON a.attrelid = r.oid
 WHERE r.relkind IN ('r', 'p') AND a.attnum > 0 AND a.attnotnull AND NOT a.attisdropped;

\echo
\echo '## SQLSTATEs'
\echo
\echo 'Every SQLSTATE the extension raises itself: in PL/pgSQL (`RAISE`, `ASSERT`), in C (`ereport`, reached from'
\echo 'the C function of an SQL function; `elog(ERROR)`, a "cannot happen", is `XX000`), and through the constraints'
\echo 'of its tables. A function also passes on the errors of the functions it calls; those are listed under their'
\echo 'own names. Codes of class `RS` are repairsys'' own.'
\echo
\echo '| SQLSTATE | Condition | Raised by |'
\echo '| --- | --- | --- |'
SELECT string_agg(format('| %s | %s | %s |', pg_temp.code(x.code), pg_temp.code(e.condition),
		concat_ws('; ',
			'functions ' || (SELECT string_agg(pg_temp.code(f.proname), ', ' ORDER BY f.proname COLLATE "C")
			                   FROM (SELECT proname, code FROM plpgsql_raise UNION SELECT proname, code FROM c_raise) f WHERE f.code = x.code),
			'constraints of ' || (SELECT string_agg(pg_temp.code(c.relname), ', ' ORDER BY c.relname COLLATE "C")
			                        FROM constraint_raise c WHERE c.code = x.code))),
	E'\n' ORDER BY x.code COLLATE "C")
  FROM (SELECT code FROM plpgsql_raise UNION SELECT code FROM c_raise UNION SELECT code FROM constraint_raise) x
  LEFT JOIN (SELECT DISTINCT code, condition FROM errcode) e ON e.code = x.code;
