-- One line per table of schema repairsys: name, row count and an md5 of its
-- rows in text form (sorted); compared before and after an upgrade or a
-- dump and restore (test/t/security-dump.sh; test/t/upgrade.sh uses
-- test/t/upgrade-rows.sql, which matches columns by name).
SELECT c.relname || ' ' || x.n || ' ' || x.h
  FROM pg_class c
 CROSS JOIN LATERAL (
	SELECT (xpath('/row/n/text()', r))[1]::text AS n, coalesce((xpath('/row/h/text()', r))[1]::text, '-') AS h
	  FROM query_to_xml(format('SELECT count(*) AS n, md5(string_agg(t::text, %L ORDER BY t::text)) AS h FROM repairsys.%I t',
	                           E'\n', c.relname), false, true, '') AS r) AS x
 WHERE c.relnamespace = 'repairsys'::regnamespace AND c.relkind IN ('r', 'p')
 ORDER BY c.relname;
