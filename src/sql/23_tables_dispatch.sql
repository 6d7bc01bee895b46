------------------------------------------------------------------------------
-- Time-aware dispatch: rosters, absences, appointments (DESIGN.md section 14,
-- docs/dispatch.md).  The rules every row must keep, whoever writes it, are
-- the triggers of 52_dispatch.sql.
------------------------------------------------------------------------------

-- A technician's regular working hours: a calendar in the syntax of
-- sla_interval (what follows "in": "mon-fri 09:00-18:00 Asia/Shanghai"),
-- valid over local dates [valid_from, valid_to] of his center.  Without a zone
-- of its own the calendar is read in the center's time zone; the center's
-- holidays and make-up working days apply.  Several rows may overlap: the
-- shifts are their union.
CREATE TABLE repairsys.technician_roster (
	id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	technician_id bigint NOT NULL REFERENCES repairsys.technician ON DELETE CASCADE,
	calendar      text NOT NULL
	              -- (the cast fails with 22P02 / 22023 on a calendar sla_interval refuses)
	              CONSTRAINT technician_roster_calendar_check
	              CHECK (repairsys.sla_calendar(('1min in ' || calendar)::repairsys.sla_interval) IS NOT NULL),
	valid_from    date NOT NULL,
	valid_to      date,
	CONSTRAINT technician_roster_valid_check CHECK (valid_to IS NULL OR valid_to >= valid_from)
);
COMMENT ON TABLE repairsys.technician_roster IS 'Regular working hours of technicians (排班) in the calendar syntax of sla_interval; the concrete shifts are repairsys.technician_shifts()';
COMMENT ON COLUMN repairsys.technician_roster.id IS 'Roster id';
COMMENT ON COLUMN repairsys.technician_roster.technician_id IS 'Technician';
COMMENT ON COLUMN repairsys.technician_roster.calendar IS 'Weekly windows as after "in" of an sla_interval, e.g. mon-fri 09:00-18:00 Asia/Shanghai (no zone: the center''s); the center''s holidays close and its make-up days open them';
COMMENT ON COLUMN repairsys.technician_roster.valid_from IS 'First local date the roster applies';
COMMENT ON COLUMN repairsys.technician_roster.valid_to IS 'Last local date the roster applies (NULL: open-ended)';
CREATE INDEX technician_roster_technician_idx ON repairsys.technician_roster (technician_id, valid_from);
SELECT pg_catalog.pg_extension_config_dump('repairsys.technician_roster', '');

-- Leave, training, sickness: a technician asks (requested), a dispatcher
-- decides (approved, rejected).  Only approved absences block work.
CREATE TABLE repairsys.technician_absence (
	id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	technician_id bigint NOT NULL REFERENCES repairsys.technician ON DELETE CASCADE,
	during        tstzrange NOT NULL
	              CONSTRAINT technician_absence_during_check
	              CHECK (coalesce(pg_catalog.isfinite(pg_catalog.lower(during)) AND pg_catalog.isfinite(pg_catalog.upper(during)), false)),
	reason        text NOT NULL DEFAULT '',
	status        text NOT NULL DEFAULT 'requested'
	              CONSTRAINT technician_absence_status_check CHECK (status IN ('requested', 'approved', 'rejected')),
	requested_at  timestamptz NOT NULL DEFAULT now(),
	decided_at    timestamptz,
	decided_by    name
);
COMMENT ON TABLE repairsys.technician_absence IS 'Absences of technicians (请假) with their approval state; only approved ones block shifts and bookings';
COMMENT ON COLUMN repairsys.technician_absence.id IS 'Absence id';
COMMENT ON COLUMN repairsys.technician_absence.technician_id IS 'Technician';
COMMENT ON COLUMN repairsys.technician_absence.during IS 'When the technician is away (finite, not empty)';
COMMENT ON COLUMN repairsys.technician_absence.reason IS 'Why (leave, training, ...)';
COMMENT ON COLUMN repairsys.technician_absence.status IS 'requested, approved or rejected; approving one that overlaps a booked visit fails (23514)';
COMMENT ON COLUMN repairsys.technician_absence.requested_at IS 'When it was asked for';
COMMENT ON COLUMN repairsys.technician_absence.decided_at IS 'When it was approved or rejected (set by trigger)';
COMMENT ON COLUMN repairsys.technician_absence.decided_by IS 'Database role that approved or rejected it (set by trigger)';
CREATE INDEX technician_absence_technician_idx ON repairsys.technician_absence (technician_id) WHERE status = 'approved';
SELECT pg_catalog.pg_extension_config_dump('repairsys.technician_absence', '');

-- Booked visits (预约上门).  A reschedule (改约) keeps the old row, state
-- rescheduled, and books a new one that replaces it: the rows of a ticket are
-- the history of every change.
CREATE TABLE repairsys.appointment (
	id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	ticket_id     bigint NOT NULL REFERENCES repairsys.ticket ON DELETE CASCADE,
	technician_id bigint NOT NULL REFERENCES repairsys.technician,
	slot_start    timestamptz NOT NULL,
	slot_end      timestamptz NOT NULL,
	state         text NOT NULL DEFAULT 'booked'
	              CONSTRAINT appointment_state_check CHECK (state IN ('booked', 'rescheduled', 'cancelled', 'done')),
	reason        text,
	-- (no foreign key: a table referring to itself makes pg_dump warn of a
	-- circular reference; appointment_10_check checks the row exists)
	replaces      bigint,
	booked_at     timestamptz NOT NULL DEFAULT now(),
	booked_by     name NOT NULL DEFAULT current_user,
	changed_at    timestamptz,
	CONSTRAINT appointment_slot_check CHECK (slot_end > slot_start AND slot_end <= slot_start + interval '24 hours')
);
COMMENT ON TABLE repairsys.appointment IS 'Visits booked for tickets (预约上门) and their history: a reschedule (改约) keeps the old row as rescheduled and books a new one';
COMMENT ON COLUMN repairsys.appointment.id IS 'Appointment id';
COMMENT ON COLUMN repairsys.appointment.ticket_id IS 'Ticket visited';
COMMENT ON COLUMN repairsys.appointment.technician_id IS 'Technician who comes (chosen by trigger when not given: the best scored free one); the ticket is assigned to him';
COMMENT ON COLUMN repairsys.appointment.slot_start IS 'Start of the visit (the technician is due then)';
COMMENT ON COLUMN repairsys.appointment.slot_end IS 'End of the visit (default: slot_start + setting slot_length)';
COMMENT ON COLUMN repairsys.appointment.state IS 'booked, rescheduled (replaced by a later row), cancelled or done (the technician checked in)';
COMMENT ON COLUMN repairsys.appointment.reason IS 'Why it was rescheduled or cancelled';
COMMENT ON COLUMN repairsys.appointment.replaces IS 'The booking this one moved (改约; NULL: a first booking)';
COMMENT ON COLUMN repairsys.appointment.booked_at IS 'When it was booked';
COMMENT ON COLUMN repairsys.appointment.booked_by IS 'Database role that booked it';
COMMENT ON COLUMN repairsys.appointment.changed_at IS 'When its state last changed (set by trigger)';
CREATE UNIQUE INDEX appointment_one_booked ON repairsys.appointment (ticket_id) WHERE state = 'booked';
CREATE INDEX appointment_ticket_idx ON repairsys.appointment (ticket_id, id);
CREATE INDEX appointment_technician_idx ON repairsys.appointment (technician_id, slot_start) WHERE state IN ('booked', 'done');
CREATE INDEX appointment_replaces_idx ON repairsys.appointment (replaces) WHERE replaces IS NOT NULL;
SELECT pg_catalog.pg_extension_config_dump('repairsys.appointment', '');
