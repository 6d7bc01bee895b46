-- pgTAP: the life cycle's schema objects and rules that pg_regress does not show.
BEGIN;
SELECT plan(21);

SELECT has_schema('repairsys');
SELECT has_table('repairsys', t, 'table repairsys.' || t || ' exists')
  FROM unnest(ARRAY['service_center', 'customer', 'asset', 'technician', 'technician_skill', 'service_type',
                    'complexity_rule', 'urgency_rule', 'sla_policy', 'holiday', 'ticket', 'ticket_status',
                    'ticket_transition', 'ticket_event', 'part', 'stock', 'stock_movement', 'part_unit']) AS t;
SELECT has_function('repairsys', 'open_ticket', ARRAY['bigint', 'text', 'text', 'text', 'integer', 'bigint', 'text']);
SELECT results_eq(
	$$SELECT from_status || '->' || to_status || coalesce(':' || guard, '') FROM repairsys.ticket_transition ORDER BY 1$$,
	$$VALUES ('assigned->cancelled'), ('assigned->in_progress:estimate_approved'), ('assigned->new'),
	         ('in_progress->resolved:labor_recorded'), ('in_progress->waiting_customer'), ('in_progress->waiting_parts'),
	         ('new->assigned:has_technician'), ('new->cancelled'), ('resolved->closed:settled'),
	         ('resolved->in_progress:reopen_window'), ('waiting_customer->in_progress'), ('waiting_parts->in_progress')$$,
	'the default workflow is the one of DESIGN.md');
SELECT * FROM finish();
ROLLBACK;
