-- The security audit view (docs/security.md "Checking a database"), added in
-- 1.1.  It comes after 90_security.sql on purpose: it is for the admin and the
-- auditor only, not the five roles the view loop of 90_security.sql grants
-- every view to.
--
-- One row per departure from the security model of docs/security.md, found
-- in the catalog: a DBA who adds a table, view or function to the schema sees
-- here what is missing.  Empty on a healthy database.
CREATE VIEW repairsys.security_audit AS
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
COMMENT ON VIEW repairsys.security_audit IS 'One row per departure from the security model (docs/security.md) found in the catalog: tables without row-level security or without the admin/auditor policies, PUBLIC privileges, views with owner''s rights, SECURITY DEFINER functions without search_path or executable by PUBLIC, append-only tables that can be rewritten, partitions granted to a role or without row-level security; empty on a healthy database';
COMMENT ON COLUMN repairsys.security_audit.object_type IS 'table, view or function';
COMMENT ON COLUMN repairsys.security_audit.object_name IS 'Qualified name of the object (functions with their argument types)';
COMMENT ON COLUMN repairsys.security_audit.problem IS 'What is wrong, in a few words';
COMMENT ON COLUMN repairsys.security_audit.detail IS 'Why it matters and what to do, as a sentence';

DO $$
BEGIN
	IF pg_catalog.current_setting('server_version_num')::integer OPERATOR(pg_catalog.>=) 150000 THEN
		ALTER VIEW repairsys.security_audit SET (security_invoker = true);
	END IF;
END
$$;
REVOKE ALL ON repairsys.security_audit FROM PUBLIC;
GRANT SELECT ON repairsys.security_audit TO repairsys_admin, repairsys_auditor;
