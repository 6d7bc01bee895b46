-- Last piece of the install script: work that must see every object the
-- pieces before created.

-- pg_dump keeps the state of a sequence of an extension only when it is
-- registered itself: register the identity sequence of every table that is
-- registered for dumping, so restored ids are not handed out again.
DO $$
DECLARE
	seq regclass;
BEGIN
	FOR seq IN
		SELECT pg_catalog.pg_get_serial_sequence(c.oid::regclass::text, a.attname)::regclass
		  FROM pg_catalog.pg_extension e
		  CROSS JOIN LATERAL pg_catalog.unnest(e.extconfig) AS cfg(reloid)
		  JOIN pg_catalog.pg_class c ON c.oid = cfg.reloid AND c.relkind IN ('r', 'p')
		  JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attidentity <> '' AND NOT a.attisdropped
		 WHERE e.extname = 'repairsys'
	LOOP
		PERFORM pg_catalog.pg_extension_config_dump(seq, '');
	END LOOP;
END
$$;
