-- One line per table of schema repairsys: name, row count and an md5 of its
-- rows as JSON (so columns are matched by name, not position), sorted, with
-- only the columns named for the table in the JSON object :'cols'
-- ({"ticket": ["id", "status", ...], ...}; a table it does not name: every
-- column).  test/t/upgrade.sh compares a database before and after an update
-- on the columns it had before, and an updated database with a fresh one.
SELECT c.relname || ' ' || x.n || ' ' || x.h
  FROM pg_class c
 CROSS JOIN LATERAL (
	SELECT (xpath('/row/n/text()', r))[1]::text AS n, coalesce((xpath('/row/h/text()', r))[1]::text, '-') AS h
	  FROM query_to_xml(format(
	         'SELECT count(*) AS n, md5(string_agg(j::text, %L ORDER BY j::text)) AS h
	            FROM (SELECT CASE WHEN %L::jsonb ? %L
	                              THEN (SELECT jsonb_object_agg(e.key, e.value) FROM jsonb_each(to_jsonb(t)) e
	                                     WHERE %L::jsonb -> %L ? e.key)
	                              ELSE to_jsonb(t) END AS j
	                    FROM repairsys.%I t) s',
	         E'\n', :'cols', c.relname, :'cols', c.relname, c.relname), false, true, '') AS r) AS x
 WHERE c.relnamespace = 'repairsys'::regnamespace AND c.relkind IN ('r', 'p')
 ORDER BY c.relname;
