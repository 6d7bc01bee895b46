-- A hostile schema (as contrib/seg's security test): a low-privilege role
-- that may create objects in schema public plants functions, operators and
-- tables that shadow what the install script, the triggers and the SECURITY
-- DEFINER functions use, each of which records in public.pwned that it ran.
-- Then a superuser, with public first in search_path, creates the extension
-- and works with it, a technician works with it, and 1.0 is created and
-- updated to the current version: nothing planted runs.
-- Runs in a database of its own (the extension is created and dropped).
-- (pinned, so that no output depends on the server's or the client's defaults)
SET TimeZone = 'America/Los_Angeles';
SET DateStyle = 'Postgres, MDY';
SET IntervalStyle = 'postgres';
\set regdb :DBNAME
SET client_min_messages = warning;
CREATE ROLE repairsys_sec_evil NOLOGIN;
CREATE ROLE repairsys_sec_tech NOLOGIN IN ROLE repairsys_technician;
CREATE DATABASE repairsys_sec_hostile;
\connect repairsys_sec_hostile
\set VERBOSITY terse
SET client_min_messages = warning;
-- an over-permissive database: anybody may create in public and create schemas
GRANT CREATE ON SCHEMA public TO PUBLIC;
GRANT CREATE ON DATABASE repairsys_sec_hostile TO repairsys_sec_evil;

SET ROLE repairsys_sec_evil;
CREATE TABLE public.pwned (what text);
GRANT INSERT ON public.pwned TO PUBLIC;
CREATE FUNCTION public.now() RETURNS timestamptz LANGUAGE sql
	AS $$ INSERT INTO public.pwned VALUES ('now()'); SELECT pg_catalog.now() $$;
CREATE FUNCTION public.lower(text) RETURNS text LANGUAGE sql
	AS $$ INSERT INTO public.pwned VALUES ('lower()'); SELECT pg_catalog.lower($1) $$;
CREATE FUNCTION public.format(text, text) RETURNS text LANGUAGE sql
	AS $$ INSERT INTO public.pwned VALUES ('format()'); SELECT pg_catalog.format($1, $2) $$;
CREATE FUNCTION public.pg_has_role(name, oid, text) RETURNS boolean LANGUAGE sql
	AS $$ INSERT INTO public.pwned VALUES ('pg_has_role()'); SELECT true $$;
CREATE FUNCTION public.pg_notify(text, text) RETURNS void LANGUAGE sql
	AS $$ INSERT INTO public.pwned VALUES ('pg_notify()') $$;
CREATE FUNCTION public.current_setting(text, boolean) RETURNS text LANGUAGE sql
	AS $$ INSERT INTO public.pwned VALUES ('current_setting()'); SELECT pg_catalog.current_setting($1, $2) $$;
CREATE FUNCTION public.setting_value(text) RETURNS text LANGUAGE sql
	AS $$ INSERT INTO public.pwned VALUES ('setting_value()'); SELECT '1 year' $$;
CREATE FUNCTION public.forbid_change() RETURNS trigger LANGUAGE plpgsql
	AS $$ BEGIN INSERT INTO public.pwned VALUES ('forbid_change()'); RETURN NEW; END $$;
CREATE FUNCTION public.evil_texteq(text, text) RETURNS boolean LANGUAGE sql
	AS $$ INSERT INTO public.pwned VALUES ('= text'); SELECT pg_catalog.texteq($1, $2) $$;
CREATE OPERATOR public.= (LEFTARG = text, RIGHTARG = text, FUNCTION = public.evil_texteq);
CREATE FUNCTION public.evil_int8eq(bigint, bigint) RETURNS boolean LANGUAGE sql
	AS $$ INSERT INTO public.pwned VALUES ('= bigint'); SELECT pg_catalog.int8eq($1, $2) $$;
CREATE OPERATOR public.= (LEFTARG = bigint, RIGHTARG = bigint, FUNCTION = public.evil_int8eq);
CREATE FUNCTION public.evil_nameeq(name, name) RETURNS boolean LANGUAGE sql
	AS $$ INSERT INTO public.pwned VALUES ('= name'); SELECT pg_catalog.nameeq($1, $2) $$;
CREATE OPERATOR public.= (LEFTARG = name, RIGHTARG = name, FUNCTION = public.evil_nameeq);
-- tables with the names of the extension's tables
CREATE TABLE public.ticket_status (code text, is_initial boolean, is_terminal boolean, sort_order int);
INSERT INTO public.ticket_status VALUES ('pwned', true, false, 0);
CREATE TABLE public.ticket_transition (from_status text, to_status text, guard text, enabled boolean);
INSERT INTO public.ticket_transition VALUES ('new', 'closed', NULL, true);
RESET ROLE;

-- The planted objects work when a session resolves names through public:
-- this is what the extension must never do.
SET search_path = public, pg_catalog;
SELECT now() IS NOT NULL AS planted_now_runs, 'a' = 'a'::text AS planted_eq_runs;
SELECT what FROM public.pwned ORDER BY what;
TRUNCATE public.pwned;

-- A superuser creates the extension and works with it, public first.
CREATE EXTENSION repairsys;
INSERT INTO repairsys.customer (name) VALUES ('hostile customer');
INSERT INTO repairsys.technician (name, db_role) VALUES ('hostile tech', 'repairsys_sec_tech');
INSERT INTO repairsys.service_type (code, name, labor_fee) VALUES ('hs', 'hostile', '0+:1.00');
SELECT repairsys.open_ticket(c.id, 'hs', 'x') > 0 AS opened FROM repairsys.customer c;
UPDATE repairsys.ticket SET technician_id = (SELECT id FROM repairsys.technician), status = 'assigned';
-- (this file's own comparisons name pg_catalog's operator: the session resolves them through public)
UPDATE repairsys.setting SET value = '14 days' WHERE name OPERATOR(pg_catalog.=) 'reopen_window';
SELECT dump FROM repairsys.setting WHERE name OPERATOR(pg_catalog.=) 'reopen_window';
UPDATE repairsys.ticket SET status = 'closed';	-- not a transition, whatever public.ticket_transition says
-- a technician, public first, goes through the triggers and the guards (run
-- by the C trigger as the table owner)
SET ROLE repairsys_sec_tech;
SET search_path = public, pg_catalog;
UPDATE repairsys.ticket SET warranty_void = true;
UPDATE repairsys.ticket SET status = 'in_progress';	-- the guard refuses: estimate not approved
UPDATE repairsys.ticket_event SET note = 'x';	-- append-only, and not even granted
RESET ROLE;
SELECT repairsys.set_status(t.id, 'cancelled', 'hostile test') FROM repairsys.ticket t;
UPDATE repairsys.ticket_event SET note = note;	-- the owner may: the real forbid_change() runs
SELECT from_status, to_status, actor FROM repairsys.ticket_event ORDER BY id;
-- nothing planted ran
RESET search_path;
SELECT count(*) AS planted_objects_run FROM public.pwned;

-- The same for an update: 1.0 created and updated (1.0 -> 1.1 -> 1.2) with public first.
DROP EXTENSION repairsys;
SET search_path = public, pg_catalog;
CREATE EXTENSION repairsys VERSION '1.0';
ALTER EXTENSION repairsys UPDATE;
SELECT count(*) AS audit_problems FROM repairsys.security_audit;
RESET search_path;
SELECT extversion FROM pg_extension WHERE extname OPERATOR(pg_catalog.=) 'repairsys';
SELECT count(*) AS planted_objects_run FROM public.pwned;

-- A schema named repairsys planted beforehand is not adopted: CREATE
-- EXTENSION fails and the planted schema keeps its owner.
DROP EXTENSION repairsys;
SET ROLE repairsys_sec_evil;
CREATE SCHEMA repairsys;
CREATE FUNCTION repairsys.forbid_change() RETURNS trigger LANGUAGE plpgsql
	AS $$ BEGIN INSERT INTO public.pwned VALUES ('planted schema'); RETURN NEW; END $$;
RESET ROLE;
SET search_path = public, pg_catalog;
CREATE EXTENSION repairsys;
RESET search_path;
SELECT nspowner::regrole FROM pg_namespace WHERE nspname = 'repairsys';
SELECT count(*) AS extensions FROM pg_extension WHERE extname = 'repairsys';
SELECT count(*) AS planted_objects_run FROM public.pwned;

\connect :regdb
SET client_min_messages = warning;
DROP DATABASE repairsys_sec_hostile;
DROP ROLE repairsys_sec_evil;
DROP ROLE repairsys_sec_tech;
