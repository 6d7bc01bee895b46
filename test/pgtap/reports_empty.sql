-- pgTAP: on an empty database every report view returns nothing, not an error.
BEGIN;
SELECT plan(10);
SELECT is_empty('SELECT * FROM repairsys.' || v, v || ' is empty on an empty database')
  FROM unnest(ARRAY['service_benefit', 'ticket_cost', 'technician_performance', 'customer_profile', 'follow_up_due', 'sla_status', 'stuck_tickets',
                    'bill_summary', 'stock_forecast', 'billing_audit']) v;
SELECT * FROM finish();
ROLLBACK;
