-- upgrade-fragment-events.sql: what brings a database with repairsys as main
-- has it (1.1) to the state of branch "events" (issue 20), for the objects
-- that existed before and changed, and for what the install script's
-- catalog loops over existing pieces (85_finite.sql, 90_security.sql) do for
-- the new tables.  Not an upgrade script: the lead merges it into
-- repairsys--1.1--1.2.sql.
--
-- Order in the upgrade script: first the new pieces, whole:
--   src/sql/24_tables_events.sql  (tables event, event_clock, event_consumer,
--                                  sla_escalation (seeded), sla_escalation_fired, job_done,
--                                  customer_preference, notification_template (seeded),
--                                  notification)
--   src/sql/75_events.sql         (functions, triggers -- including the new
--                                  triggers on the old tables invoice, payment,
--                                  ticket_part and ticket -- and pg_dump registration)
-- then this fragment.
--
-- Changed existing code without an SQL statement here: src/lifecycle.c's
-- ticket_log_trg (the C function of trigger ticket_90_log, same SQL
-- declaration) now writes the repairsys.event row of every history row in
-- the same statement; it needs repairsys.event and repairsys.next_event_id()
-- from the new pieces, so the new module must not run against a 1.1 schema
-- before the upgrade (ALTER EXTENSION repairsys UPDATE right after installing
-- the new module).

-- 85_finite.sql: NaN and infinities refused on the new tables' columns
ALTER TABLE repairsys.event ADD CONSTRAINT event_at_finite CHECK (isfinite(at));
ALTER TABLE repairsys.event_clock ADD CONSTRAINT event_clock_computed_at_finite CHECK (isfinite(computed_at));
ALTER TABLE repairsys.event_consumer ADD CONSTRAINT event_consumer_acked_at_finite CHECK (isfinite(acked_at));
ALTER TABLE repairsys.event_consumer ADD CONSTRAINT event_consumer_created_at_finite CHECK (isfinite(created_at));
ALTER TABLE repairsys.job_done ADD CONSTRAINT job_done_done_at_finite CHECK (isfinite(done_at));
ALTER TABLE repairsys.job_done ADD CONSTRAINT job_done_since_finite CHECK (isfinite(since));
ALTER TABLE repairsys.notification ADD CONSTRAINT notification_at_finite CHECK (isfinite(at));
ALTER TABLE repairsys.notification ADD CONSTRAINT notification_created_at_finite CHECK (isfinite(created_at));
ALTER TABLE repairsys.sla_escalation ADD CONSTRAINT sla_escalation_at_pct_finite CHECK (((at_pct <> 'NaN'::numeric) AND (at_pct > '-Infinity'::numeric) AND (at_pct < 'Infinity'::numeric)));
ALTER TABLE repairsys.sla_escalation_fired ADD CONSTRAINT sla_escalation_fired_at_pct_finite CHECK (((at_pct <> 'NaN'::numeric) AND (at_pct > '-Infinity'::numeric) AND (at_pct < 'Infinity'::numeric)));
ALTER TABLE repairsys.sla_escalation_fired ADD CONSTRAINT sla_escalation_fired_fired_at_finite CHECK (isfinite(fired_at));
ALTER TABLE repairsys.sla_escalation_fired ADD CONSTRAINT sla_escalation_fired_reached_at_finite CHECK (isfinite(reached_at));

-- 90_security.sql: row-level security, grants and policies of the new tables
-- (the event log, event_clock, sla_escalation_fired, job_done and notification
-- are written only by the extension: no INSERT for anyone)
ALTER TABLE repairsys.customer_preference ENABLE ROW LEVEL SECURITY;
REVOKE ALL ON repairsys.customer_preference FROM PUBLIC;
GRANT DELETE, INSERT, SELECT, UPDATE ON repairsys.customer_preference TO repairsys_admin;
GRANT INSERT, SELECT ON repairsys.customer_preference TO repairsys_customer;
GRANT INSERT, SELECT, UPDATE ON repairsys.customer_preference TO repairsys_dispatcher;
GRANT SELECT ON repairsys.customer_preference TO repairsys_auditor;
GRANT UPDATE (language, channel, wechat_id) ON repairsys.customer_preference TO repairsys_customer;
CREATE POLICY admin ON repairsys.customer_preference FOR ALL TO repairsys_admin USING (true) WITH CHECK (true);
CREATE POLICY auditor ON repairsys.customer_preference FOR SELECT TO repairsys_auditor USING (true);
CREATE POLICY customer ON repairsys.customer_preference FOR ALL TO repairsys_customer USING ((customer_id = ( SELECT c.id
   FROM repairsys.customer c
  WHERE (c.db_role = CURRENT_USER)))) WITH CHECK ((customer_id = ( SELECT c.id
   FROM repairsys.customer c
  WHERE (c.db_role = CURRENT_USER))));
CREATE POLICY dispatcher ON repairsys.customer_preference FOR ALL TO repairsys_dispatcher USING (true) WITH CHECK (true);
ALTER TABLE repairsys.event ENABLE ROW LEVEL SECURITY;
REVOKE ALL ON repairsys.event FROM PUBLIC;
GRANT SELECT ON repairsys.event TO repairsys_admin;
GRANT SELECT ON repairsys.event TO repairsys_auditor;
GRANT SELECT ON repairsys.event TO repairsys_customer;
GRANT SELECT ON repairsys.event TO repairsys_dispatcher;
GRANT SELECT ON repairsys.event TO repairsys_technician;
CREATE POLICY admin ON repairsys.event FOR ALL TO repairsys_admin USING (true) WITH CHECK (true);
CREATE POLICY auditor ON repairsys.event FOR SELECT TO repairsys_auditor USING (true);
CREATE POLICY customer ON repairsys.event FOR SELECT TO repairsys_customer USING ((ticket_id = ANY (ARRAY( SELECT t.id
   FROM repairsys.ticket t))));
CREATE POLICY dispatcher ON repairsys.event FOR SELECT TO repairsys_dispatcher USING (true);
CREATE POLICY technician ON repairsys.event FOR SELECT TO repairsys_technician USING ((ticket_id = ANY (ARRAY( SELECT t.id
   FROM repairsys.ticket t))));
ALTER TABLE repairsys.event_clock ENABLE ROW LEVEL SECURITY;
REVOKE ALL ON repairsys.event_clock FROM PUBLIC;
GRANT DELETE, SELECT ON repairsys.event_clock TO repairsys_admin;
GRANT SELECT ON repairsys.event_clock TO repairsys_auditor;
CREATE POLICY admin ON repairsys.event_clock FOR ALL TO repairsys_admin USING (true) WITH CHECK (true);
CREATE POLICY auditor ON repairsys.event_clock FOR SELECT TO repairsys_auditor USING (true);
ALTER TABLE repairsys.event_consumer ENABLE ROW LEVEL SECURITY;
REVOKE ALL ON repairsys.event_consumer FROM PUBLIC;
GRANT DELETE, INSERT, SELECT, UPDATE ON repairsys.event_consumer TO repairsys_admin;
GRANT SELECT ON repairsys.event_consumer TO repairsys_auditor;
GRANT SELECT ON repairsys.event_consumer TO repairsys_customer;
GRANT SELECT ON repairsys.event_consumer TO repairsys_dispatcher;
GRANT SELECT ON repairsys.event_consumer TO repairsys_technician;
GRANT INSERT (name, acked_up_to) ON repairsys.event_consumer TO repairsys_customer;
GRANT INSERT (name, acked_up_to) ON repairsys.event_consumer TO repairsys_dispatcher;
GRANT INSERT (name, acked_up_to) ON repairsys.event_consumer TO repairsys_technician;
GRANT UPDATE (acked_up_to) ON repairsys.event_consumer TO repairsys_customer;
GRANT UPDATE (acked_up_to) ON repairsys.event_consumer TO repairsys_dispatcher;
GRANT UPDATE (acked_up_to) ON repairsys.event_consumer TO repairsys_technician;
CREATE POLICY admin ON repairsys.event_consumer FOR ALL TO repairsys_admin USING (true) WITH CHECK (true);
CREATE POLICY auditor ON repairsys.event_consumer FOR SELECT TO repairsys_auditor USING (true);
CREATE POLICY customer ON repairsys.event_consumer FOR ALL TO repairsys_customer USING ((role = CURRENT_USER)) WITH CHECK ((role = CURRENT_USER));
CREATE POLICY dispatcher ON repairsys.event_consumer FOR ALL TO repairsys_dispatcher USING ((role = CURRENT_USER)) WITH CHECK ((role = CURRENT_USER));
CREATE POLICY technician ON repairsys.event_consumer FOR ALL TO repairsys_technician USING ((role = CURRENT_USER)) WITH CHECK ((role = CURRENT_USER));
ALTER TABLE repairsys.job_done ENABLE ROW LEVEL SECURITY;
REVOKE ALL ON repairsys.job_done FROM PUBLIC;
GRANT DELETE, SELECT ON repairsys.job_done TO repairsys_admin;
GRANT SELECT ON repairsys.job_done TO repairsys_auditor;
CREATE POLICY admin ON repairsys.job_done FOR ALL TO repairsys_admin USING (true) WITH CHECK (true);
CREATE POLICY auditor ON repairsys.job_done FOR SELECT TO repairsys_auditor USING (true);
ALTER TABLE repairsys.notification ENABLE ROW LEVEL SECURITY;
REVOKE ALL ON repairsys.notification FROM PUBLIC;
GRANT DELETE, SELECT ON repairsys.notification TO repairsys_admin;
GRANT SELECT ON repairsys.notification TO repairsys_auditor;
GRANT SELECT ON repairsys.notification TO repairsys_customer;
GRANT SELECT ON repairsys.notification TO repairsys_dispatcher;
CREATE POLICY admin ON repairsys.notification FOR ALL TO repairsys_admin USING (true) WITH CHECK (true);
CREATE POLICY auditor ON repairsys.notification FOR SELECT TO repairsys_auditor USING (true);
CREATE POLICY customer ON repairsys.notification FOR SELECT TO repairsys_customer USING ((customer_id = ( SELECT c.id
   FROM repairsys.customer c
  WHERE (c.db_role = CURRENT_USER))));
CREATE POLICY dispatcher ON repairsys.notification FOR SELECT TO repairsys_dispatcher USING (true);
ALTER TABLE repairsys.notification_template ENABLE ROW LEVEL SECURITY;
REVOKE ALL ON repairsys.notification_template FROM PUBLIC;
GRANT DELETE, INSERT, SELECT, UPDATE ON repairsys.notification_template TO repairsys_admin;
GRANT SELECT ON repairsys.notification_template TO repairsys_auditor;
GRANT SELECT ON repairsys.notification_template TO repairsys_dispatcher;
CREATE POLICY admin ON repairsys.notification_template FOR ALL TO repairsys_admin USING (true) WITH CHECK (true);
CREATE POLICY auditor ON repairsys.notification_template FOR SELECT TO repairsys_auditor USING (true);
CREATE POLICY dispatcher ON repairsys.notification_template FOR SELECT TO repairsys_dispatcher USING (true);
ALTER TABLE repairsys.sla_escalation ENABLE ROW LEVEL SECURITY;
REVOKE ALL ON repairsys.sla_escalation FROM PUBLIC;
GRANT DELETE, INSERT, SELECT, UPDATE ON repairsys.sla_escalation TO repairsys_admin;
GRANT SELECT ON repairsys.sla_escalation TO repairsys_auditor;
GRANT SELECT ON repairsys.sla_escalation TO repairsys_dispatcher;
GRANT SELECT ON repairsys.sla_escalation TO repairsys_technician;
CREATE POLICY admin ON repairsys.sla_escalation FOR ALL TO repairsys_admin USING (true) WITH CHECK (true);
CREATE POLICY auditor ON repairsys.sla_escalation FOR SELECT TO repairsys_auditor USING (true);
CREATE POLICY dispatcher ON repairsys.sla_escalation FOR SELECT TO repairsys_dispatcher USING (true);
CREATE POLICY technician ON repairsys.sla_escalation FOR SELECT TO repairsys_technician USING (true);
ALTER TABLE repairsys.sla_escalation_fired ENABLE ROW LEVEL SECURITY;
REVOKE ALL ON repairsys.sla_escalation_fired FROM PUBLIC;
GRANT DELETE, SELECT ON repairsys.sla_escalation_fired TO repairsys_admin;
GRANT SELECT ON repairsys.sla_escalation_fired TO repairsys_auditor;
GRANT SELECT ON repairsys.sla_escalation_fired TO repairsys_dispatcher;
CREATE POLICY admin ON repairsys.sla_escalation_fired FOR ALL TO repairsys_admin USING (true) WITH CHECK (true);
CREATE POLICY auditor ON repairsys.sla_escalation_fired FOR SELECT TO repairsys_auditor USING (true);
CREATE POLICY dispatcher ON repairsys.sla_escalation_fired FOR SELECT TO repairsys_dispatcher USING (true);

-- 90_security.sql: SECURITY DEFINER functions of the new piece: nobody but
-- the roles that need one
REVOKE ALL ON FUNCTION repairsys.run_jobs(timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION repairsys.run_jobs(timestamptz) TO repairsys_admin, repairsys_dispatcher;
REVOKE ALL ON FUNCTION repairsys.invoice_event_trg() FROM PUBLIC;
REVOKE ALL ON FUNCTION repairsys.payment_event_trg() FROM PUBLIC;
REVOKE ALL ON FUNCTION repairsys.ticket_part_event_trg() FROM PUBLIC;
REVOKE ALL ON FUNCTION repairsys.ticket_estimate_event_trg() FROM PUBLIC;
-- the event writer: executable by nobody (the triggers and run_jobs() call it as the owner)
REVOKE ALL ON FUNCTION repairsys.emit_event(text, bigint, bigint, jsonb) FROM PUBLIC;
