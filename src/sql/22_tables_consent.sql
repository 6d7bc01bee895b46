------------------------------------------------------------------------------
-- Consent over every price (feature: consent, see 42_consent.sql and
-- docs/billing.md, "Consent over every price"): every estimate a customer was
-- shown, and which of them the customer approved.
------------------------------------------------------------------------------
-- A row is written by repairsys.approve_estimate() (revision 1, approved) and
-- repairsys.revise_estimate() (revision 2, 3, ...), or by a plain INSERT that
-- the table's triggers give the same rules (the figures are always computed
-- by repairsys, never taken from the caller); a revision is approved by
-- approve_estimate() or a plain UPDATE of approved_at, only while it is the
-- latest.  Revisions are never changed otherwise nor deleted (but by the
-- table owner: restore).
CREATE TABLE repairsys.estimate_revision (
	ticket_id        bigint NOT NULL REFERENCES repairsys.ticket ON DELETE CASCADE,
	revision         integer NOT NULL CHECK (revision >= 1),
	low              numeric(14,2) NOT NULL CHECK (low >= 0),
	high             numeric(14,2) NOT NULL,
	lines            jsonb NOT NULL CHECK (pg_catalog.jsonb_typeof(lines) = 'array'),
	reason           text NOT NULL CHECK (pg_catalog.btrim(reason) <> ''),
	expected_minutes numeric(10,2) CHECK (expected_minutes >= 0),
	created_at       timestamptz NOT NULL DEFAULT now(),
	created_by       name NOT NULL DEFAULT current_user,
	approved_at      timestamptz,
	approved_by      name,
	tolerance_pct    numeric(6,2) CHECK (tolerance_pct >= 0),
	PRIMARY KEY (ticket_id, revision),
	CHECK (high >= low),
	CHECK ((approved_at IS NULL) = (approved_by IS NULL) AND (approved_at IS NULL) = (tolerance_pct IS NULL)),
	CHECK (approved_at IS NULL OR approved_at >= created_at)
);
COMMENT ON TABLE repairsys.estimate_revision IS 'Every estimate a customer was shown (增项: revised when more work is found), with who made it and why, and who approved it; the latest approved revision''s high total is the ticket''s approved ceiling';
COMMENT ON COLUMN repairsys.estimate_revision.ticket_id IS 'Ticket';
COMMENT ON COLUMN repairsys.estimate_revision.revision IS 'Revision number, 1, 2, ... per ticket (set by repairsys)';
COMMENT ON COLUMN repairsys.estimate_revision.low IS 'Low total with tax (set by repairsys: revision 1 from estimate(), later ones from the work recorded)';
COMMENT ON COLUMN repairsys.estimate_revision.high IS 'High total with tax (set by repairsys): what the customer agrees to pay at most, with the tolerance';
COMMENT ON COLUMN repairsys.estimate_revision.lines IS 'The lines of the low and the high scenario as the customer was shown them: a JSON array of {scenario, line_no, kind, description, quantity, unit, unit_price, amount, tax_rate, tax_amount}';
COMMENT ON COLUMN repairsys.estimate_revision.reason IS 'Why the estimate was made or revised, for the customer';
COMMENT ON COLUMN repairsys.estimate_revision.expected_minutes IS 'Labor minutes the revision expects in all (NULL: revision 1, from the service type)';
COMMENT ON COLUMN repairsys.estimate_revision.created_at IS 'When the revision was made (shown to the customer)';
COMMENT ON COLUMN repairsys.estimate_revision.created_by IS 'Role that made the revision';
COMMENT ON COLUMN repairsys.estimate_revision.approved_at IS 'When the customer approved it (NULL: not approved)';
COMMENT ON COLUMN repairsys.estimate_revision.approved_by IS 'Role that recorded the approval';
COMMENT ON COLUMN repairsys.estimate_revision.tolerance_pct IS 'The estimate_tolerance_pct setting when it was approved: the bill may exceed high by this percent';
SELECT pg_catalog.pg_extension_config_dump('repairsys.estimate_revision', '');

-- Sign-off (签字确认): who accepted the work and the bill of a ticket, when,
-- the optional signature image, and the SHA-256 of the bill's canonical text
-- at that moment (repairsys.bill_canonical_text).  Written by
-- repairsys.sign_off() or a plain INSERT that the table's triggers give the
-- same rules (the hash and the total are always computed by repairsys);
-- append-only: a later sign-off (after a reopened ticket's bill changed) is a
-- new row, the latest one counts.
CREATE TABLE repairsys.ticket_sign_off (
	id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	ticket_id   bigint NOT NULL REFERENCES repairsys.ticket ON DELETE CASCADE,
	signed_by   text NOT NULL CHECK (pg_catalog.btrim(signed_by) <> '' AND pg_catalog.length(signed_by) <= 200),
	signature   bytea CHECK (pg_catalog.octet_length(signature) BETWEEN 1 AND 2097152),
	bill_sha256 bytea NOT NULL CHECK (pg_catalog.octet_length(bill_sha256) = 32),
	bill_total  numeric(14,2) NOT NULL,
	signed_at   timestamptz NOT NULL DEFAULT now(),
	recorded_by name NOT NULL DEFAULT current_user
);
COMMENT ON TABLE repairsys.ticket_sign_off IS 'Sign-offs (签字确认): who accepted the work and the bill of a ticket, with the SHA-256 of the bill''s canonical text at that moment; append-only, the latest per ticket counts';
COMMENT ON COLUMN repairsys.ticket_sign_off.id IS 'Sign-off id';
COMMENT ON COLUMN repairsys.ticket_sign_off.ticket_id IS 'Ticket';
COMMENT ON COLUMN repairsys.ticket_sign_off.signed_by IS 'Name of the person who signed, as written (1 to 200 characters)';
COMMENT ON COLUMN repairsys.ticket_sign_off.signature IS 'The signature image (e.g. PNG bytes from the technician''s tablet), at most 2 MiB; NULL: none';
COMMENT ON COLUMN repairsys.ticket_sign_off.bill_sha256 IS 'SHA-256 of repairsys.bill_canonical_text(ticket) when signed (set by repairsys)';
COMMENT ON COLUMN repairsys.ticket_sign_off.bill_total IS 'The bill total when signed (set by repairsys)';
COMMENT ON COLUMN repairsys.ticket_sign_off.signed_at IS 'When it was signed (set by repairsys: now)';
COMMENT ON COLUMN repairsys.ticket_sign_off.recorded_by IS 'Role that recorded it (set by repairsys: current_user)';
CREATE INDEX ticket_sign_off_ticket_idx ON repairsys.ticket_sign_off (ticket_id, id);
SELECT pg_catalog.pg_extension_config_dump('repairsys.ticket_sign_off', '');
