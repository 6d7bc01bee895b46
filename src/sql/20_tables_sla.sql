------------------------------------------------------------------------------
-- SLA columns of repairsys.ticket (feature: sla, see 35_sla.sql and docs/sla.md).
-- Added here, right after the tables, because later pieces create SQL
-- functions whose BEGIN ATOMIC bodies depend on the ticket row type.
------------------------------------------------------------------------------
-- A ticket keeps the targets it was opened with (a later policy change does
-- not move its deadlines), the zone its calendar is read in and the business
-- time its holds consumed.
ALTER TABLE repairsys.ticket
	ADD COLUMN sla_respond_within repairsys.sla_interval,
	ADD COLUMN sla_resolve_within repairsys.sla_interval,
	ADD COLUMN sla_time_zone text,
	ADD COLUMN sla_paused interval NOT NULL DEFAULT interval '0';
COMMENT ON COLUMN repairsys.ticket.sla_respond_within IS 'Response target taken from sla_policy when the ticket was opened (NULL: no policy)';
COMMENT ON COLUMN repairsys.ticket.sla_resolve_within IS 'Resolution target taken from sla_policy when the ticket was opened (NULL: no policy)';
COMMENT ON COLUMN repairsys.ticket.sla_time_zone IS 'Time zone of the SLA calendar: the target''s own zone, else the service center''s time_zone';
COMMENT ON COLUMN repairsys.ticket.sla_paused IS 'Business time spent in states that pause the SLA (every hold so far); resolve_by has moved by this much';

