-- A text dump of everything the extension defines, one line per object (a
-- function or view with its definition on the lines after it, each line
-- prefixed with the object's name), without OIDs
-- and without column positions (a column added by an upgrade comes last, one
-- of a fresh install where the piece puts it): compared between databases
-- updated from 1.0 and 1.1 and a fresh install (test/t/upgrade.sh), and
-- between a database and its dump restored (test/t/security-dump.sh).
-- Covered: the extension's config-dump tables and filters and its members;
-- functions with their full definitions, ACLs and comments; relations with
-- kind, row-level security, options, ACLs, comments and view definitions;
-- columns by name with type, NOT NULL, identity, generated, default, ACL,
-- collation and comment; constraints, indexes, triggers (and whether enabled),
-- policies, types, operators, operator classes, each with its comment; the
-- schema; initial privileges; and the rows of the seeded tables (config-dump
-- filter WHERE dump), as JSON, so columns are matched by name.  The month
-- partitions of ticket_event, stock_movement and event (<table>_YYYY_MM,
-- and their indexes, constraints and triggers) are left out: which months
-- exist depends on the rows and the day (docs/scaling.md); the parents and
-- the DEFAULT partitions are compared.
WITH ext AS (SELECT oid, extconfig, extcondition, extversion FROM pg_extension WHERE extname = 'repairsys'),
ns AS (SELECT 'repairsys'::regnamespace AS oid),
months AS (SELECT c.oid FROM pg_class c, ns
            WHERE c.relnamespace = ns.oid AND c.relname ~ '^(ticket_event|stock_movement|event)_[0-9]{4}_[0-9]{2}(_|$)')
SELECT line FROM (
	SELECT 'extension ' || extversion || ' config ' ||
	       (SELECT string_agg(cfg::regclass::text || ' ' || coalesce(cond, ''), ', ' ORDER BY cfg::regclass::text)
	          FROM unnest(extconfig, extcondition) AS u(cfg, cond)) AS line FROM ext
	UNION ALL
	SELECT 'member ' || pg_describe_object(d.classid, d.objid, d.objsubid)
	  FROM pg_depend d, ext WHERE d.refclassid = 'pg_extension'::regclass AND d.refobjid = ext.oid AND d.deptype = 'e'
	UNION ALL
	SELECT 'function ' || p.oid::regprocedure::text || ' acl ' || coalesce(p.proacl::text, 'default') || ' comment ' ||
	       coalesce(obj_description(p.oid, 'pg_proc'), '-') || E'\n' ||
	       -- each line of the definition names its function, so that a
	       -- differing line says whose it is
	       regexp_replace(CASE WHEN p.prokind = 'a' THEN 'aggregate' ELSE rtrim(pg_get_functiondef(p.oid), E'\n') END,
	                      '^', 'function ' || p.oid::regprocedure::text || ' | ', 'gn')
	  FROM pg_proc p, ns WHERE p.pronamespace = ns.oid
	UNION ALL
	SELECT 'relation ' || c.relname || ' kind ' || c.relkind::text || ' rls ' || c.relrowsecurity || c.relforcerowsecurity ||
	       ' options ' || coalesce(c.reloptions::text, '-') || ' acl ' || coalesce(c.relacl::text, 'default') ||
	       ' comment ' || coalesce(obj_description(c.oid, 'pg_class'), '-') ||
	       CASE WHEN c.relkind IN ('v', 'm')
	            THEN E'\n' || regexp_replace(pg_get_viewdef(c.oid), '^', 'view ' || c.relname || ' | ', 'gn') ELSE '' END
	  FROM pg_class c, ns WHERE c.relnamespace = ns.oid AND c.oid NOT IN (SELECT oid FROM months)
	UNION ALL
	SELECT 'column ' || c.relname || '.' || a.attname || ' ' || format_type(a.atttypid, a.atttypmod) ||
	       CASE WHEN a.attnotnull THEN ' not null' ELSE '' END || ' identity ' || a.attidentity::text ||
	       ' generated ' || a.attgenerated::text ||
	       CASE WHEN a.attcollation <> 0 THEN ' collate ' || a.attcollation::regcollation::text ELSE '' END ||
	       ' default ' || coalesce(pg_get_expr(ad.adbin, ad.adrelid), '-') || ' acl ' || coalesce(a.attacl::text, '-') ||
	       ' comment ' || coalesce(col_description(c.oid, a.attnum), '-')
	  FROM pg_class c JOIN ns ON c.relnamespace = ns.oid
	  JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
	  LEFT JOIN pg_attrdef ad ON ad.adrelid = c.oid AND ad.adnum = a.attnum
	 WHERE c.oid NOT IN (SELECT oid FROM months)
	UNION ALL
	SELECT 'constraint ' || c.conrelid::regclass::text || ' ' || c.conname || ' ' ||
	       regexp_replace(pg_get_constraintdef(c.oid), '\s*\n\s*', ' ', 'g') ||
	       coalesce(' comment ' || obj_description(c.oid, 'pg_constraint'), '')
	  FROM pg_constraint c, ns WHERE c.connamespace = ns.oid AND c.conrelid NOT IN (SELECT oid FROM months)
	UNION ALL
	SELECT 'index ' || pg_get_indexdef(i.indexrelid) FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid, ns WHERE c.relnamespace = ns.oid
	   AND c.oid NOT IN (SELECT oid FROM months)
	UNION ALL
	SELECT 'trigger ' || pg_get_triggerdef(t.oid) || ' ' || t.tgenabled::text ||
	       coalesce(' comment ' || obj_description(t.oid, 'pg_trigger'), '')
	  FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid, ns WHERE c.relnamespace = ns.oid AND NOT t.tgisinternal
	   AND c.oid NOT IN (SELECT oid FROM months)
	UNION ALL
	SELECT 'policy ' || tablename || ' ' || policyname || ' ' || permissive || ' ' || roles::text || ' ' || cmd || ' using ' ||
	       regexp_replace(coalesce(qual, '-'), '\s*\n\s*', ' ', 'g') || ' check ' ||
	       regexp_replace(coalesce(with_check, '-'), '\s*\n\s*', ' ', 'g')
	  FROM pg_policies WHERE schemaname = 'repairsys' AND tablename !~ '^(ticket_event|stock_movement|event)_[0-9]{4}_[0-9]{2}$'
	UNION ALL
	SELECT 'type ' || t.oid::regtype::text || ' ' || t.typtype::text || ' acl ' || coalesce(t.typacl::text, 'default') ||
	       coalesce(' comment ' || obj_description(t.oid, 'pg_type'), '')
	  FROM pg_type t, ns WHERE t.typnamespace = ns.oid AND t.typname !~ '^_?(ticket_event|stock_movement|event)_[0-9]{4}_[0-9]{2}$'
	UNION ALL
	SELECT 'operator ' || o.oid::regoperator::text || ' ' || o.oprcode::text || ' ' || o.oprrest::text || ' ' || o.oprjoin::text ||
	       ' commutator ' || o.oprcom::regoperator::text || ' negator ' || o.oprnegate::regoperator::text ||
	       ' hashes ' || o.oprcanhash || ' merges ' || o.oprcanmerge || coalesce(' comment ' || obj_description(o.oid, 'pg_operator'), '')
	  FROM pg_operator o, ns WHERE o.oprnamespace = ns.oid
	UNION ALL
	SELECT 'opclass ' || am.amname || ' ' || oc.opcname || ' for ' || oc.opcintype::regtype::text || ' default ' || oc.opcdefault ||
	       ' family ' || of.opfname || ' members ' ||
	       (SELECT string_agg(x, ', ' ORDER BY x) FROM (
	            SELECT 'op ' || ao.amopstrategy || ' ' || ao.amopopr::regoperator::text AS x FROM pg_amop ao WHERE ao.amopfamily = of.oid
	            UNION ALL
	            SELECT 'fn ' || ap.amprocnum || ' ' || ap.amproc::regprocedure::text FROM pg_amproc ap WHERE ap.amprocfamily = of.oid) AS m)
	  FROM pg_opclass oc JOIN pg_am am ON am.oid = oc.opcmethod JOIN pg_opfamily of ON of.oid = oc.opcfamily, ns
	 WHERE oc.opcnamespace = ns.oid
	UNION ALL
	SELECT 'schema acl ' || coalesce(n.nspacl::text, 'default') || ' comment ' || coalesce(obj_description(n.oid, 'pg_namespace'), '-')
	  FROM pg_namespace n, ns WHERE n.oid = ns.oid
	UNION ALL
	SELECT 'init privs ' || pg_describe_object(i.classoid, i.objoid, i.objsubid) || ' ' || i.privtype::text || ' ' || i.initprivs::text
	  FROM pg_init_privs i, ext
	 WHERE EXISTS (SELECT 1 FROM pg_depend d WHERE d.refobjid = ext.oid AND d.deptype = 'e'
	                 AND d.classid = i.classoid AND d.objid = i.objoid)
	UNION ALL
	-- the rows of the seeded tables (setting, ticket_status, ...), as JSON
	SELECT 'seeded ' || cfg::regclass::text || ' ' || (xpath('/row/j/text()', x.r))[1]::text
	  FROM ext CROSS JOIN LATERAL unnest(ext.extconfig, ext.extcondition) AS u(cfg, cond)
	 CROSS JOIN LATERAL unnest(xpath('/table/row', query_to_xml(format('SELECT to_jsonb(t)::text AS j FROM %s t', cfg::regclass), false, false, ''))) AS x(r)
	 WHERE u.cond = 'WHERE dump'
) AS l
ORDER BY line;
