-- pgTAP: DROP EXTENSION repairsys CASCADE leaves nothing behind (tried inside
-- a transaction that is rolled back).
BEGIN;
SELECT plan(5);
INSERT INTO repairsys.service_center (name) VALUES ('drop test center');
DROP EXTENSION repairsys CASCADE;
SELECT hasnt_schema('repairsys', 'schema repairsys is gone');
SELECT is((SELECT count(*)::int FROM pg_type WHERE typname IN ('fee_tier', 'sla_interval')), 0, 'no type left');
SELECT is((SELECT count(*)::int FROM pg_proc WHERE proname IN ('open_ticket', 'forbid_change', 'ticket_open_trg', 'setting_value')), 0, 'no function left');
SELECT is((SELECT count(*)::int FROM pg_class WHERE relname IN ('ticket', 'ticket_event', 'stock')
            AND relnamespace <> 'pg_catalog'::regnamespace), 0, 'no table left');
SELECT is((SELECT count(*)::int FROM pg_extension WHERE extname = 'repairsys'), 0, 'extension row gone');
SELECT * FROM finish();
ROLLBACK;
