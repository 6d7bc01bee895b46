-- pgTAP: the lists of the extension's functions and triggers.  The docs
-- (docs/reference.md, generated from the catalog and checked by
-- test/t/reference.sh; the ticket's triggers in docs/lifecycle.md, checked by
-- test/t/lifecycle-doc.sh) say what exists; this file fails when a function
-- or a trigger is added, renamed or removed without it being said here, and
-- when the triggers of a ticket change their order, timing or events (they
-- are all created in src/sql/80_ticket_triggers.sql, which says why each is
-- where it is).
BEGIN;
SELECT plan(40);

SELECT functions_are('repairsys', ARRAY[
	'absence_check_trg', 'absence_ranges', 'ack_events', 'adjust_stock', 'append_only_tables',
	'appointment_assign_trg', 'appointment_check_trg', 'appointment_event_trg',
	'appointment_visible_trg', 'approval_limit_trg', 'approve_discount', 'approve_estimate',
	'approve_estimate', 'approved_ceiling', 'asset_bill_facts_trg', 'assign_policy_row',
	'assigned_state', 'assignment_solve', 'auto_assign', 'auto_assign_pending', 'available_slots',
	'bill_canonical_text', 'bill_html', 'bill_is_agreed', 'bill_label', 'bill_line_text', 'bill_lines', 'bill_prices', 'bill_total', 'billing_problems',
	'book_visit', 'cancel_visit', 'candidates', 'candidates_base', 'center_dates', 'center_time_zone',
	'center_visits_trg', 'charge', 'charge_lines', 'check_guard', 'check_in', 'check_invariants',
	'check_qty', 'check_time_zone', 'churn_features', 'churn_risk', 'closed_dates', 'commit_plan',
	'complete_follow_up', 'compute_bill', 'consume_part', 'continuity_technicians',
	'customer_churn_risk', 'customer_language', 'customer_recent_depth', 'customer_recent_tickets',
	'customer_rollup_asset_trg', 'customer_rollup_customer_trg', 'customer_rollup_feedback_trg',
	'customer_rollup_invoice_trg', 'customer_rollup_move', 'customer_rollup_payment_trg',
	'customer_rollup_recomputed', 'customer_rollup_ticket', 'customer_rollup_ticket_delete_trg',
	'customer_rollup_ticket_trg', 'daily_issues', 'decide_discount', 'demo_catalog', 'demo_hash', 'demo_load',
	'demo_load_bulk', 'detach_month', 'diagnosis_forget', 'diagnosis_grams', 'diagnosis_learn',
	'diagnosis_scores', 'discount_basis', 'discount_limit_detail', 'emit_event', 'ensure_partitions',
	'estimate', 'estimate_figures', 'estimate_km', 'estimate_revision_approve_trg',
	'estimate_revision_event_trg', 'estimate_revision_figures_trg', 'estimate_revision_rules_trg',
	'event_consumer_row', 'event_consumer_trg', 'event_horizon', 'event_id_offset', 'fee_tier_cmp',
	'fee_tier_eq', 'fee_tier_ge', 'fee_tier_gt', 'fee_tier_hash', 'fee_tier_hash_extended',
	'fee_tier_in', 'fee_tier_le', 'fee_tier_lt', 'fee_tier_ne', 'fee_tier_out', 'fee_tier_recv',
	'fee_tier_send', 'feedback_check_trg', 'feedback_complaint_trg', 'feedback_fact_trg',
	'feedback_load_trg', 'fmt_num', 'fmt_price', 'forbid_change', 'forecast_demand',
	'guard_estimate_approved', 'guard_has_technician', 'guard_labor_recorded', 'guard_reopen_window',
	'guard_settled', 'haversine_km', 'holiday_fact_trg', 'holiday_visits_trg', 'html_escape',
	'invoice_center_trg', 'invoice_event_trg', 'invoice_fact_trg', 'invoice_line_fact_trg',
	'is_import', 'is_table_owner', 'is_valid_time_zone', 'issue_invoice', 'local_midnight',
	'lock_invoice', 'lock_stock', 'lock_technician', 'logistic_fit', 'logistic_predict',
	'may_grant_discount', 'month_elapsed', 'month_start', 'nearest_service_center', 'next_event_id',
	'next_state', 'normal_quantile', 'notification_placeholders', 'notification_template_trg',
	'open_dates', 'open_recall', 'open_ticket', 'open_ticket_count', 'part_fact_trg', 'part_row',
	'part_units_agree_trg', 'partition_month', 'partition_setup', 'payment_admit', 'payment_event_trg',
	'payment_rules_trg', 'plan_day', 'plan_installments', 'plan_technician', 'price_at', 'price_label',
	'price_lines', 'price_version_at', 'read_events', 'reader_language', 'rebuild_diagnosis_model',
	'receive_part', 'recheck_visits', 'record_payment', 'refit_churn_model', 'reject_discount',
	'release_part', 'render_template', 'report_html', 'report_label', 'reputation_month', 'required_state_roles',
	'reschedule_visit', 'reserve_part', 'resolution_hours', 'return_part', 'revise_estimate',
	'rework_of', 'rollup_rebuild', 'roster_check_trg', 'roster_ranges', 'route_solve',
	'run_appointment_reminders', 'run_churn_refit', 'run_escalations', 'run_follow_ups_due',
	'run_jobs', 'run_notifications', 'run_stuck_tickets', 'schedule_jobs', 'schedule_lines',
	'schedule_price_lines', 'score_candidates', 'seed_row_changed', 'service_center_check_trg',
	'service_center_fact_trg', 'service_price_current_trg', 'service_price_rules_trg',
	'service_type_prices_trg', 'set_status', 'setting_check', 'setting_fact_trg', 'setting_valid_trg',
	'setting_value', 'sign_off', 'signed_off', 'sla_add', 'sla_advance', 'sla_calendar',
	'sla_deadline', 'sla_elapsed', 'sla_interval_cmp', 'sla_interval_eq', 'sla_interval_ge',
	'sla_interval_gt', 'sla_interval_hash', 'sla_interval_hash_extended', 'sla_interval_in',
	'sla_interval_le', 'sla_interval_lt', 'sla_interval_ne', 'sla_interval_out', 'sla_interval_recv',
	'sla_interval_send', 'sla_reached_at', 'sla_target', 'sla_windows', 'slots_for', 'solve_pending',
	'status_takes_parts', 'stock_movement_fact_trg', 'stock_movement_order_trg',
	'stock_movement_rules_trg', 'stock_movement_trg', 'stock_transfer_allocation', 'suggest_diagnosis',
	'svg_bar_chart', 'sync_current_prices', 'technician_fits', 'technician_load_add',
	'technician_shifts', 'technician_visits_trg', 'ticket_approved_ceiling_trg', 'ticket_arrival_trg',
	'ticket_assign_check_trg', 'ticket_auto_assign_trg', 'ticket_bill_facts_trg', 'ticket_coverage',
	'ticket_diagnosis_trg', 'ticket_discount_approval_trg', 'ticket_discount_event_trg',
	'ticket_discount_trg', 'ticket_estimate_event_trg', 'ticket_fact_delete_trg',
	'ticket_fact_insert_trg', 'ticket_fact_recomputed', 'ticket_fact_rework', 'ticket_fact_update_trg',
	'ticket_first_fix', 'ticket_first_revision_trg', 'ticket_follow_up_trg', 'ticket_is_billable',
	'ticket_load_trg', 'ticket_log_trg', 'ticket_month', 'ticket_open_trg',
	'ticket_part_coverage_sync_trg', 'ticket_part_event_trg', 'ticket_part_open_trg',
	'ticket_part_snapshot_trg', 'ticket_part_state_trg', 'ticket_part_trg',
	'ticket_parts_on_status_trg', 'ticket_price_snapshot_trg', 'ticket_resolution_hours', 'ticket_row',
	'ticket_sign_off_event_trg', 'ticket_sign_off_hash_trg', 'ticket_sign_off_required_trg',
	'ticket_sign_off_rules_trg', 'ticket_sla_guard_trg', 'ticket_sla_open_trg', 'ticket_sla_pause_trg',
	'ticket_status_check_trg', 'ticket_status_trg', 'ticket_times_trg', 'ticket_transition_trg',
	'ticket_visible', 'ticket_visit_trg', 'transfer_part', 'travel_time', 'under_warranty',
	'urgency_rank', 'visit_conflict'
], 'the functions of schema repairsys');

SELECT triggers_are('repairsys', 'ticket', ARRAY[
	'ticket_05_assign_check', 'ticket_10_open', 'ticket_12_times', 'ticket_15_price_snapshot',
	'ticket_15_price_snapshot_insert', 'ticket_16_bill_facts', 'ticket_20_transition',
	'ticket_22_approved_ceiling', 'ticket_23_sign_off_required', 'ticket_25_assign_check',
	'ticket_25_sla_guard', 'ticket_30_sla_open', 'ticket_30_sla_pause', 'ticket_35_times',
	'ticket_36_arrival', 'ticket_36_arrival_update', 'ticket_50_rollup_delete',
	'ticket_50_rollup_insert', 'ticket_50_rollup_update', 'ticket_51_customer_rollup_insert',
	'ticket_51_customer_rollup_update', 'ticket_52_first_revision', 'ticket_55_load_delete',
	'ticket_55_load_insert', 'ticket_55_load_update', 'ticket_57_visit_follow', 'ticket_58_visit_done',
	'ticket_60_parts', 'ticket_65_part_coverage', 'ticket_70_follow_up', 'ticket_75_diagnosis',
	'ticket_75_diagnosis_delete', 'ticket_78_customer_rollup_delete', 'ticket_90_log',
	'ticket_91_event_estimate', 'ticket_95_auto_assign'
], 'the triggers of ticket');

-- The triggers of a ticket in firing order (name order within a timing and
-- event), with their timing, events and function.
SELECT results_eq(
	$$SELECT t.tgname::text COLLATE "default", CASE WHEN t.tgtype & 2 = 2 THEN 'BEFORE' ELSE 'AFTER' END,
	          concat_ws(' OR ', CASE WHEN t.tgtype & 4 = 4 THEN 'INSERT' END, CASE WHEN t.tgtype & 16 = 16 THEN 'UPDATE' END,
	                    CASE WHEN t.tgtype & 8 = 8 THEN 'DELETE' END),
	          p.proname::text COLLATE "default"
	     FROM pg_catalog.pg_trigger t JOIN pg_catalog.pg_proc p ON p.oid = t.tgfoid
	    WHERE t.tgrelid = 'repairsys.ticket'::regclass AND NOT t.tgisinternal
	    ORDER BY t.tgname$$,
	$$VALUES
	('ticket_05_assign_check'::text, 'BEFORE'::text, 'INSERT'::text, 'ticket_assign_check_trg'::text),
	('ticket_10_open', 'BEFORE', 'INSERT', 'ticket_open_trg'),
	('ticket_12_times', 'BEFORE', 'INSERT', 'ticket_times_trg'),
	('ticket_15_price_snapshot', 'BEFORE', 'UPDATE', 'ticket_price_snapshot_trg'),
	('ticket_15_price_snapshot_insert', 'BEFORE', 'INSERT', 'ticket_price_snapshot_trg'),
	('ticket_16_bill_facts', 'BEFORE', 'UPDATE', 'ticket_bill_facts_trg'),
	('ticket_20_transition', 'BEFORE', 'UPDATE', 'ticket_transition_trg'),
	('ticket_22_approved_ceiling', 'BEFORE', 'UPDATE', 'ticket_approved_ceiling_trg'),
	('ticket_23_sign_off_required', 'BEFORE', 'UPDATE', 'ticket_sign_off_required_trg'),
	('ticket_25_assign_check', 'BEFORE', 'UPDATE', 'ticket_assign_check_trg'),
	('ticket_25_sla_guard', 'BEFORE', 'UPDATE', 'ticket_sla_guard_trg'),
	('ticket_30_sla_open', 'BEFORE', 'INSERT', 'ticket_sla_open_trg'),
	('ticket_30_sla_pause', 'BEFORE', 'UPDATE', 'ticket_sla_pause_trg'),
	('ticket_35_times', 'BEFORE', 'UPDATE', 'ticket_times_trg'),
	('ticket_36_arrival', 'BEFORE', 'INSERT', 'ticket_arrival_trg'),
	('ticket_36_arrival_update', 'BEFORE', 'UPDATE', 'ticket_arrival_trg'),
	('ticket_50_rollup_delete', 'AFTER', 'DELETE', 'ticket_fact_delete_trg'),
	('ticket_50_rollup_insert', 'AFTER', 'INSERT', 'ticket_fact_insert_trg'),
	('ticket_50_rollup_update', 'AFTER', 'UPDATE', 'ticket_fact_update_trg'),
	('ticket_51_customer_rollup_insert', 'AFTER', 'INSERT', 'customer_rollup_ticket_trg'),
	('ticket_51_customer_rollup_update', 'AFTER', 'UPDATE', 'customer_rollup_ticket_trg'),
	('ticket_52_first_revision', 'AFTER', 'UPDATE', 'ticket_first_revision_trg'),
	('ticket_55_load_delete', 'BEFORE', 'DELETE', 'ticket_load_trg'),
	('ticket_55_load_insert', 'AFTER', 'INSERT', 'ticket_load_trg'),
	('ticket_55_load_update', 'AFTER', 'UPDATE', 'ticket_load_trg'),
	('ticket_57_visit_follow', 'AFTER', 'UPDATE', 'ticket_visit_trg'),
	('ticket_58_visit_done', 'AFTER', 'UPDATE', 'ticket_visit_trg'),
	('ticket_60_parts', 'AFTER', 'UPDATE', 'ticket_parts_on_status_trg'),
	('ticket_65_part_coverage', 'AFTER', 'UPDATE', 'ticket_part_coverage_sync_trg'),
	('ticket_70_follow_up', 'AFTER', 'UPDATE', 'ticket_follow_up_trg'),
	('ticket_75_diagnosis', 'AFTER', 'UPDATE', 'ticket_diagnosis_trg'),
	('ticket_75_diagnosis_delete', 'BEFORE', 'DELETE', 'ticket_diagnosis_trg'),
	('ticket_78_customer_rollup_delete', 'BEFORE', 'DELETE', 'customer_rollup_ticket_delete_trg'),
	('ticket_90_log', 'AFTER', 'INSERT OR UPDATE', 'ticket_log_trg'),
	('ticket_91_event_estimate', 'AFTER', 'UPDATE', 'ticket_estimate_event_trg'),
	('ticket_95_auto_assign', 'AFTER', 'INSERT', 'ticket_auto_assign_trg')$$,
	'each trigger of ticket has its place, timing, events and function');

SELECT is((SELECT count(*)::int FROM pg_catalog.pg_trigger t JOIN pg_catalog.pg_proc p ON p.oid = t.tgfoid
            WHERE t.tgrelid = 'repairsys.ticket'::regclass AND NOT t.tgisinternal AND t.tgtype & 1 = 0),
          0, 'every trigger of ticket is a row trigger');

SELECT triggers_are('repairsys', 'appointment', ARRAY['appointment_05_visible', 'appointment_10_check', 'appointment_20_assign', 'appointment_90_event', 'appointment_91_state_event'], 'the triggers of appointment');
SELECT triggers_are('repairsys', 'approval_limit', ARRAY['approval_limit_10_check', 'approval_limit_seed'], 'the triggers of approval_limit');
SELECT triggers_are('repairsys', 'asset', ARRAY['asset_10_bill_facts', 'asset_50_rollup_delete', 'asset_50_rollup_insert', 'asset_50_rollup_update'], 'the triggers of asset');
SELECT triggers_are('repairsys', 'assign_policy', ARRAY['assign_policy_seed'], 'the triggers of assign_policy');
SELECT triggers_are('repairsys', 'complexity_rule', ARRAY['complexity_rule_seed'], 'the triggers of complexity_rule');
SELECT triggers_are('repairsys', 'customer', ARRAY['customer_50_rollup'], 'the triggers of customer');
SELECT triggers_are('repairsys', 'estimate_revision', ARRAY['estimate_revision_10_rules', 'estimate_revision_20_figures', 'estimate_revision_30_approve', 'estimate_revision_90_event', 'estimate_revision_91_approved_event'], 'the triggers of estimate_revision');
SELECT triggers_are('repairsys', 'event', ARRAY['event_append_only', 'event_no_truncate'], 'the triggers of event');
SELECT triggers_are('repairsys', 'event_consumer', ARRAY['event_consumer_10_check'], 'the triggers of event_consumer');
SELECT triggers_are('repairsys', 'event_default', ARRAY['event_append_only', 'event_default_no_truncate'], 'the triggers of event_default');
SELECT triggers_are('repairsys', 'feedback', ARRAY['feedback_10_check', 'feedback_20_complaint', 'feedback_30_load', 'feedback_30_load_update', 'feedback_50_fact', 'feedback_50_fact_update', 'feedback_51_rollup', 'feedback_51_rollup_update'], 'the triggers of feedback');
SELECT triggers_are('repairsys', 'holiday', ARRAY['holiday_10_visits', 'holiday_50_fact'], 'the triggers of holiday');
SELECT triggers_are('repairsys', 'invoice', ARRAY['invoice_10_center', 'invoice_50_fact', 'invoice_51_rollup', 'invoice_90_event', 'invoice_append_only', 'invoice_no_truncate'], 'the triggers of invoice');
SELECT triggers_are('repairsys', 'invoice_line', ARRAY['invoice_line_50_fact_delete', 'invoice_line_50_fact_insert', 'invoice_line_50_fact_update', 'invoice_line_append_only', 'invoice_line_no_truncate'], 'the triggers of invoice_line');
SELECT triggers_are('repairsys', 'notification_template', ARRAY['notification_template_10_check', 'notification_template_seed'], 'the triggers of notification_template');
SELECT triggers_are('repairsys', 'part', ARRAY['part_50_fact'], 'the triggers of part');
SELECT triggers_are('repairsys', 'part_unit', ARRAY['part_unit_20_units'], 'the triggers of part_unit');
SELECT triggers_are('repairsys', 'payment', ARRAY['payment_10_rules', 'payment_50_rollup', 'payment_50_rollup_update', 'payment_90_event', 'payment_append_only', 'payment_no_truncate'], 'the triggers of payment');
SELECT triggers_are('repairsys', 'service_center', ARRAY['service_center_10_check', 'service_center_10_visits', 'service_center_50_fact'], 'the triggers of service_center');
SELECT triggers_are('repairsys', 'service_price', ARRAY['service_price_10_rules', 'service_price_20_current'], 'the triggers of service_price');
SELECT triggers_are('repairsys', 'service_type', ARRAY['service_type_10_first_price', 'service_type_20_price_version'], 'the triggers of service_type');
SELECT triggers_are('repairsys', 'setting', ARRAY['setting_10_valid', 'setting_50_fact', 'setting_seed'], 'the triggers of setting');
SELECT triggers_are('repairsys', 'sla_escalation', ARRAY['sla_escalation_seed'], 'the triggers of sla_escalation');
SELECT triggers_are('repairsys', 'stock_movement', ARRAY['stock_movement_05_order', 'stock_movement_07_rules', 'stock_movement_10_stock', 'stock_movement_20_units', 'stock_movement_50_fact', 'stock_movement_append_only', 'stock_movement_no_truncate'], 'the triggers of stock_movement');
SELECT triggers_are('repairsys', 'stock_movement_default', ARRAY['stock_movement_05_order', 'stock_movement_07_rules', 'stock_movement_10_stock', 'stock_movement_20_units', 'stock_movement_50_fact', 'stock_movement_append_only', 'stock_movement_default_no_truncate'], 'the triggers of stock_movement_default');
SELECT triggers_are('repairsys', 'technician', ARRAY['technician_10_visits'], 'the triggers of technician');
SELECT triggers_are('repairsys', 'technician_absence', ARRAY['technician_absence_10_check'], 'the triggers of technician_absence');
SELECT triggers_are('repairsys', 'technician_roster', ARRAY['technician_roster_10_check'], 'the triggers of technician_roster');
SELECT triggers_are('repairsys', 'ticket_discount', ARRAY['ticket_discount_10_rules', 'ticket_discount_20_approval', 'ticket_discount_90_event'], 'the triggers of ticket_discount');
SELECT triggers_are('repairsys', 'ticket_event', ARRAY['ticket_event_append_only', 'ticket_event_no_truncate'], 'the triggers of ticket_event');
SELECT triggers_are('repairsys', 'ticket_event_default', ARRAY['ticket_event_append_only', 'ticket_event_default_no_truncate'], 'the triggers of ticket_event_default');
SELECT triggers_are('repairsys', 'ticket_part', ARRAY['ticket_part_05_open', 'ticket_part_05_snapshot', 'ticket_part_06_state', 'ticket_part_06_state_insert', 'ticket_part_10_reserved', 'ticket_part_90_event'], 'the triggers of ticket_part');
SELECT triggers_are('repairsys', 'ticket_sign_off', ARRAY['ticket_sign_off_10_rules', 'ticket_sign_off_20_hash', 'ticket_sign_off_90_event', 'ticket_sign_off_append_only', 'ticket_sign_off_no_truncate'], 'the triggers of ticket_sign_off');
SELECT triggers_are('repairsys', 'ticket_status', ARRAY['ticket_status_10_check', 'ticket_status_90_roles', 'ticket_status_seed'], 'the triggers of ticket_status');
SELECT triggers_are('repairsys', 'ticket_transition', ARRAY['ticket_transition_seed'], 'the triggers of ticket_transition');
SELECT triggers_are('repairsys', 'urgency_rule', ARRAY['urgency_rule_seed'], 'the triggers of urgency_rule');

SELECT * FROM finish();
ROLLBACK;
