-- Spare parts (docs/parts.md): the stock ledger and the
-- stock it keeps, reservations that never oversell, transfers between
-- centers, serialized units, demand forecasts and reorder alerts.
--
-- repairsys.stock is derived data: on_hand is the sum of the ledger
-- (stock_movement), reserved the sum of the reserved ticket_part rows, both
-- kept by triggers.  It is not dumped: a restore rebuilds it as the ledger and
-- the reservations are restored.
--
-- Locking: every change of a (sku, center)'s stock locks its stock row; a
-- function touching several locks them in (sku, center) order, so concurrent
-- reservations, issues and transfers serialize per stock row and never
-- deadlock among themselves.

------------------------------------------------------------------------------
-- Forecasting kernels (src/forecast.c)
------------------------------------------------------------------------------
CREATE FUNCTION repairsys.forecast_demand(demand double precision[], method text DEFAULT 'sba',
                                          alpha double precision DEFAULT 0.1, beta double precision DEFAULT 0.1)
RETURNS double precision
AS 'MODULE_PATHNAME', 'forecast_demand' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION repairsys.forecast_demand(double precision[], text, double precision, double precision) IS 'Expected demand per period after a demand series: ses, croston, sba (default) or tsb';

CREATE FUNCTION repairsys.normal_quantile(p double precision)
RETURNS double precision
AS 'MODULE_PATHNAME', 'normal_quantile' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION repairsys.normal_quantile(double precision) IS 'Inverse of the standard normal distribution function (relative error below 1e-9); p in (0, 1)';

------------------------------------------------------------------------------
-- Stock kept from the ledger and the reservations
------------------------------------------------------------------------------
-- Locks and returns the stock row of (sku, center), creating an empty one.
CREATE FUNCTION repairsys.lock_stock(sku text, center bigint)
RETURNS repairsys.stock
LANGUAGE plpgsql VOLATILE
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
DECLARE
	s repairsys.stock;
BEGIN
	SELECT * INTO s FROM repairsys.stock x
	 WHERE x.sku = lock_stock.sku AND x.service_center_id = lock_stock.center FOR UPDATE;
	IF NOT FOUND THEN
		INSERT INTO repairsys.stock (sku, service_center_id) VALUES (lock_stock.sku, lock_stock.center)
		ON CONFLICT DO NOTHING;
		SELECT * INTO s FROM repairsys.stock x
		 WHERE x.sku = lock_stock.sku AND x.service_center_id = lock_stock.center FOR UPDATE;
	END IF;
	RETURN s;
END
$$;
COMMENT ON FUNCTION repairsys.lock_stock(text, bigint) IS 'Locks (FOR UPDATE) and returns the stock row of a part at a center, creating it empty when missing';

-- (repairsys.is_table_owner(), in 21_settings.sql, tells the import path
-- that the rule triggers below let pass.)

-- True when a ticket in this status can still use parts: its state's role is
-- not resolved, closed or cancelled (resolving issues the reservations, cancelling
-- releases them; see ticket_parts_on_status_trg).
CREATE FUNCTION repairsys.status_takes_parts(status text)
RETURNS boolean
LANGUAGE sql STABLE
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
	SELECT coalesce((SELECT s.role NOT IN ('resolved', 'closed', 'cancelled')
	                   FROM repairsys.ticket_status s WHERE s.code = status_takes_parts.status), false)
$$;
COMMENT ON FUNCTION repairsys.status_takes_parts(text) IS 'True when a ticket in this status can still reserve and be issued parts: a known status that is neither terminal nor resolved';

-- True when the current role sees the ticket (row-level security applies:
-- a technician sees his own tickets).  The ledger's rule trigger, which reads
-- with the owner's rights, runs only for tickets the writer sees, so that its
-- messages never tell a technician about another technician's ticket: a row
-- naming a ticket the writer may not see is refused by row-level security.
CREATE FUNCTION repairsys.ticket_visible(ticket_id bigint)
RETURNS boolean
LANGUAGE sql STABLE
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
	SELECT EXISTS (SELECT 1 FROM repairsys.ticket t WHERE t.id = ticket_visible.ticket_id)
$$;
COMMENT ON FUNCTION repairsys.ticket_visible(bigint) IS 'True when the ticket exists and the current role may see it (row-level security of repairsys.ticket applies)';

-- BEFORE INSERT on stock_movement, after stock_movement_05_order has locked
-- the stock row (so two returns of one ticket's parts are checked one after
-- the other), for every role but the table owner: a return brings back only
-- what was issued to that ticket at that center and not yet returned; an
-- issue goes to a ticket that can still use parts.  (That an issue takes
-- only available stock, never another ticket's reservation, is checked for
-- every row by stock_movement_trg; which roles may write which kinds, by the
-- row-level security policies of 90_security.sql.)
CREATE FUNCTION repairsys.stock_movement_rules_trg()
RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
DECLARE
	status      text;
	outstanding integer;
BEGIN
	IF NEW.kind NOT IN ('issue', 'return') THEN
		RETURN NEW;
	END IF;
	IF NEW.ticket_id IS NULL THEN
		RAISE EXCEPTION 'a stock movement of kind "%" needs a ticket', NEW.kind
			USING ERRCODE = '23514',
			      DETAIL = 'Parts are issued to a ticket and returned from the ticket they were issued to.',
			      HINT = 'Use repairsys.consume_part() and repairsys.return_part(); corrections after a count are adjustments.';
	END IF;
	SELECT t.status INTO status FROM repairsys.ticket t WHERE t.id = NEW.ticket_id;
	IF NOT FOUND THEN
		RETURN NEW;		-- the foreign key names the unknown ticket
	END IF;
	IF NEW.kind = 'issue' THEN
		IF NOT repairsys.status_takes_parts(status) THEN
			RAISE EXCEPTION 'cannot issue parts to ticket % in status "%"', NEW.ticket_id, status
				USING ERRCODE = '23514',
				      DETAIL = 'Parts are issued only to tickets that are neither resolved nor finished.';
		END IF;
		RETURN NEW;
	END IF;
	SELECT coalesce(sum(-m.qty) FILTER (WHERE m.kind = 'issue'), 0) - coalesce(sum(m.qty) FILTER (WHERE m.kind = 'return'), 0)
	  INTO outstanding
	  FROM repairsys.stock_movement m
	 WHERE m.ticket_id = NEW.ticket_id AND m.sku = NEW.sku AND m.service_center_id = NEW.service_center_id
	   AND m.kind IN ('issue', 'return');
	IF outstanding < NEW.qty THEN
		RAISE EXCEPTION 'ticket % has only % units of part "%" issued at service center % that could be returned',
			NEW.ticket_id, outstanding, NEW.sku, NEW.service_center_id
			USING ERRCODE = '23514',
			      DETAIL = pg_catalog.format('A return of %s units was asked; returns never exceed what was issued to the ticket.', NEW.qty);
	END IF;
	RETURN NEW;
END
$$;
COMMENT ON FUNCTION repairsys.stock_movement_rules_trg() IS 'BEFORE INSERT trigger of stock_movement (every role but the owner): issues and returns name a ticket; returns never exceed what was issued to that ticket at that center; issues only to tickets that can still use parts (23514)';

-- Deferred constraint trigger of stock_movement and part_unit (every role
-- but the table owner): for a serialized part, the units in stock (or
-- reserved) at a center are exactly stock.on_hand there.  Checked at commit,
-- so a transaction may move the units and write the ledger in either order.
CREATE FUNCTION repairsys.part_units_agree_trg()
RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
DECLARE
	k       record;
	units   integer;
	on_hand integer;
BEGIN
	FOR k IN
		SELECT DISTINCT x.sku, x.center
		  FROM (SELECT NEW.sku AS sku, NEW.service_center_id AS center WHERE TG_OP <> 'DELETE'
		        UNION ALL
		        SELECT OLD.sku, OLD.service_center_id WHERE TG_OP <> 'INSERT') x
		 WHERE x.center IS NOT NULL
		   AND EXISTS (SELECT 1 FROM repairsys.part p WHERE p.sku = x.sku AND p.serialized)
	LOOP
		SELECT count(*) INTO units FROM repairsys.part_unit u
		 WHERE u.sku = k.sku AND u.service_center_id = k.center AND u.state IN ('in_stock', 'reserved');
		on_hand := coalesce((SELECT s.on_hand FROM repairsys.stock s WHERE s.sku = k.sku AND s.service_center_id = k.center), 0);
		IF units <> on_hand THEN
			RAISE EXCEPTION 'serialized units of part "%" at service center % do not agree with its stock', k.sku, k.center
				USING ERRCODE = '23514',
				      DETAIL = pg_catalog.format('%s units in stock in part_unit, stock.on_hand %s.', units, on_hand),
				      HINT = 'Serialized parts move with their serial numbers: receive_part, consume_part, return_part, transfer_part and adjust_stock take them.';
		END IF;
	END LOOP;
	RETURN NULL;
END
$$;
COMMENT ON FUNCTION repairsys.part_units_agree_trg() IS 'Deferred constraint trigger of stock_movement and part_unit (every role but the owner): the serialized units in stock at a center equal stock.on_hand (23514 at commit)';

-- AFTER INSERT on stock_movement: on_hand follows the ledger.
CREATE FUNCTION repairsys.stock_movement_trg()
RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
DECLARE
	s repairsys.stock;
BEGIN
	s := repairsys.lock_stock(NEW.sku, NEW.service_center_id);
	IF s.on_hand + NEW.qty < s.reserved THEN
		RAISE EXCEPTION 'not enough stock of part "%" at service center %', NEW.sku, NEW.service_center_id
			USING ERRCODE = '23514',
			      DETAIL = pg_catalog.format('%s on hand, %s reserved; the %s of %s would leave %s.',
			                                 s.on_hand, s.reserved, NEW.kind, pg_catalog.abs(NEW.qty), s.on_hand + NEW.qty);
	END IF;
	UPDATE repairsys.stock x SET on_hand = x.on_hand + NEW.qty
	 WHERE x.sku = NEW.sku AND x.service_center_id = NEW.service_center_id;
	RETURN NULL;
END
$$;
COMMENT ON FUNCTION repairsys.stock_movement_trg() IS 'AFTER INSERT trigger of stock_movement: keeps stock.on_hand equal to the ledger sum; refuses a movement that would take stock below 0 or below what is reserved (23514)';
-- BEFORE INSERT on stock_movement: takes the stock row's lock before the
-- movement is numbered, so seq orders the movements of a stock row exactly as
-- their checks ran.  (The id is drawn earlier, when the row is formed: an
-- issue can get its id, then wait for the lock while a transfer or a receipt
-- holding it writes rows with higher ids that the issue then draws on.)
-- For an unknown part or center nothing is locked and the foreign key names
-- the fault.
CREATE FUNCTION repairsys.stock_movement_order_trg()
RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
BEGIN
	IF EXISTS (SELECT 1 FROM repairsys.part p WHERE p.sku = NEW.sku)
	   AND EXISTS (SELECT 1 FROM repairsys.service_center c WHERE c.id = NEW.service_center_id) THEN
		PERFORM repairsys.lock_stock(NEW.sku, NEW.service_center_id);
	END IF;
	NEW.seq := pg_catalog.nextval('repairsys.stock_movement_seq');
	RETURN NEW;
END
$$;
COMMENT ON FUNCTION repairsys.stock_movement_order_trg() IS 'BEFORE INSERT trigger of stock_movement: locks the stock row, then numbers the movement (seq), so seq is the order of the stock checks';
CREATE TRIGGER stock_movement_05_order BEFORE INSERT ON repairsys.stock_movement
	FOR EACH ROW EXECUTE FUNCTION repairsys.stock_movement_order_trg();
CREATE TRIGGER stock_movement_07_rules BEFORE INSERT ON repairsys.stock_movement
	FOR EACH ROW WHEN (NOT repairsys.is_table_owner('repairsys.stock_movement')
	                   AND (NEW.ticket_id IS NULL OR repairsys.ticket_visible(NEW.ticket_id)))
	EXECUTE FUNCTION repairsys.stock_movement_rules_trg();
CREATE TRIGGER stock_movement_10_stock AFTER INSERT ON repairsys.stock_movement
	FOR EACH ROW EXECUTE FUNCTION repairsys.stock_movement_trg();
CREATE CONSTRAINT TRIGGER stock_movement_20_units AFTER INSERT ON repairsys.stock_movement
	DEFERRABLE INITIALLY DEFERRED
	FOR EACH ROW WHEN (NOT repairsys.is_table_owner('repairsys.stock_movement'))
	EXECUTE FUNCTION repairsys.part_units_agree_trg();
CREATE CONSTRAINT TRIGGER part_unit_20_units AFTER INSERT OR UPDATE OR DELETE ON repairsys.part_unit
	DEFERRABLE INITIALLY DEFERRED
	FOR EACH ROW WHEN (NOT repairsys.is_table_owner('repairsys.part_unit'))
	EXECUTE FUNCTION repairsys.part_units_agree_trg();
CREATE TRIGGER stock_movement_append_only BEFORE UPDATE OR DELETE ON repairsys.stock_movement
	FOR EACH ROW EXECUTE FUNCTION repairsys.forbid_change();
CREATE TRIGGER stock_movement_no_truncate BEFORE TRUNCATE ON repairsys.stock_movement
	FOR EACH STATEMENT EXECUTE FUNCTION repairsys.forbid_change();

-- A restore replays the ledger through the triggers above, which refuse a
-- movement that would take stock below zero; so the dump must hold the rows
-- in the order their checks ran: not the table's physical order (an issue can
-- sit on a page before its receipt once VACUUM has freed the space of aborted
-- inserts), and not id order either (see stock_movement_order_trg), but seq.
-- pg_dump appends this condition to its COPY (SELECT ... FROM stock_movement
-- <condition>).  The restore numbers the rows again, in the same order.
SELECT pg_catalog.pg_extension_config_dump('repairsys.stock_movement', 'ORDER BY seq');

-- AFTER INSERT/UPDATE/DELETE on ticket_part: reserved follows the reservations.
CREATE FUNCTION repairsys.ticket_part_trg()
RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
DECLARE
	s     repairsys.stock;
	delta integer;
BEGIN
	IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.state = 'reserved' THEN
		-- the old reservation goes away first (same row when sku and center are unchanged)
		IF TG_OP = 'UPDATE' AND NEW.state = 'reserved' AND NEW.sku = OLD.sku
		   AND NEW.service_center_id = OLD.service_center_id THEN
			delta := NEW.qty - OLD.qty;
		ELSE
			PERFORM repairsys.lock_stock(OLD.sku, OLD.service_center_id);
			UPDATE repairsys.stock x SET reserved = x.reserved - OLD.qty
			 WHERE x.sku = OLD.sku AND x.service_center_id = OLD.service_center_id;
			delta := CASE WHEN TG_OP = 'UPDATE' AND NEW.state = 'reserved' THEN NEW.qty END;
		END IF;
	ELSIF TG_OP IN ('INSERT', 'UPDATE') AND NEW.state = 'reserved' THEN
		delta := NEW.qty;
	END IF;
	IF delta IS NOT NULL AND delta <> 0 THEN
		s := repairsys.lock_stock(NEW.sku, NEW.service_center_id);
		IF s.on_hand - s.reserved < delta THEN
			RAISE EXCEPTION 'not enough stock of part "%" at service center % to reserve %', NEW.sku, NEW.service_center_id, delta
				USING ERRCODE = '23514',
				      DETAIL = pg_catalog.format('%s available (%s on hand, %s reserved), %s asked.',
				                                 s.on_hand - s.reserved, s.on_hand, s.reserved, delta);
		END IF;
		UPDATE repairsys.stock x SET reserved = x.reserved + delta
		 WHERE x.sku = NEW.sku AND x.service_center_id = NEW.service_center_id;
	END IF;
	RETURN NULL;
END
$$;
COMMENT ON FUNCTION repairsys.ticket_part_trg() IS 'AFTER trigger of ticket_part: keeps stock.reserved equal to the reserved quantities; refuses a reservation that does not fit what is available (23514)';
CREATE TRIGGER ticket_part_10_reserved AFTER INSERT OR UPDATE OR DELETE ON repairsys.ticket_part
	FOR EACH ROW EXECUTE FUNCTION repairsys.ticket_part_trg();

-- BEFORE INSERT OR UPDATE on ticket_part (rows that are or become
-- reservations): units are reserved only for tickets that can still use them.
-- A reservation that only shrinks (release_part) always passes.  Runs with the
-- caller's rights: a ticket the caller may not see is left to row-level
-- security, which refuses the row.
CREATE FUNCTION repairsys.ticket_part_open_trg()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
DECLARE
	status text;
BEGIN
	IF TG_OP = 'UPDATE' AND OLD.state = 'reserved' AND NEW.ticket_id = OLD.ticket_id AND NEW.qty <= OLD.qty THEN
		RETURN NEW;
	END IF;
	-- FOR SHARE: a concurrent status change of the ticket waits for this
	-- reservation (and resolving then issues it), or this reservation waits
	-- for the change and sees the new status; never a reservation left
	-- behind on a ticket that was resolved or cancelled meanwhile.
	SELECT t.status INTO status FROM repairsys.ticket t WHERE t.id = NEW.ticket_id FOR SHARE;
	IF FOUND AND NOT repairsys.status_takes_parts(status) THEN
		RAISE EXCEPTION 'cannot reserve parts for ticket % in status "%"', NEW.ticket_id, status
			USING ERRCODE = '23514',
			      DETAIL = 'Parts are reserved only for tickets that are neither resolved nor finished.';
	END IF;
	RETURN NEW;
END
$$;
COMMENT ON FUNCTION repairsys.ticket_part_open_trg() IS 'BEFORE INSERT OR UPDATE trigger of ticket_part: a reservation (new, grown or moved) only for a ticket that can still use parts (23514)';
CREATE TRIGGER ticket_part_05_open BEFORE INSERT OR UPDATE ON repairsys.ticket_part
	FOR EACH ROW WHEN (NEW.state = 'reserved')
	EXECUTE FUNCTION repairsys.ticket_part_open_trg();

-- BEFORE INSERT of used lines (every role but the table owner) and BEFORE
-- UPDATE of lines that are no longer reserved, on ticket_part: a line
-- leaves "reserved" once, to "used" (issued) or "released", and a used line
-- keeps its center, ticket and quantity: they are what the ledger issued.
-- (Turning a used line back into a reservation would issue its units a
-- second time.  The sku may change: a rename of the part cascades here.)
CREATE FUNCTION repairsys.ticket_part_state_trg()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
BEGIN
	IF TG_OP = 'INSERT' THEN
		-- (a line born used would bill parts the ledger never issued; the
		-- owner's import path restores used lines as they are)
		IF NOT repairsys.is_table_owner(TG_RELID) THEN
			RAISE EXCEPTION 'a ticket part line cannot be inserted in state "used"'
				USING ERRCODE = '23514',
				      DETAIL = 'Parts are reserved first and used when the stock ledger issues them.',
				      HINT = 'Use repairsys.reserve_part() and repairsys.consume_part().';
		END IF;
		RETURN NEW;
	END IF;
	IF NEW.state IS DISTINCT FROM OLD.state THEN
		RAISE EXCEPTION 'a ticket part line in state "%" cannot become "%"', OLD.state, NEW.state
			USING ERRCODE = '23514',
			      DETAIL = 'A line leaves "reserved" once: to "used" when issued, to "released" when given back.',
			      HINT = 'Reserve again with repairsys.reserve_part(); return issued parts with repairsys.return_part().';
	END IF;
	IF OLD.state = 'used' AND (NEW.qty, NEW.service_center_id, NEW.ticket_id)
	                          IS DISTINCT FROM (OLD.qty, OLD.service_center_id, OLD.ticket_id) THEN
		RAISE EXCEPTION 'the center, ticket and quantity of a used ticket part line cannot change'
			USING ERRCODE = '23514',
			      DETAIL = 'They are what the stock ledger issued.',
			      HINT = 'Return issued parts with repairsys.return_part().';
	END IF;
	RETURN NEW;
END
$$;
COMMENT ON FUNCTION repairsys.ticket_part_state_trg() IS 'BEFORE INSERT OR UPDATE trigger of ticket_part: no line is inserted used but by the table owner; used and released lines never change state again, and a used line keeps its center, ticket and quantity (23514)';
CREATE TRIGGER ticket_part_06_state BEFORE UPDATE ON repairsys.ticket_part
	FOR EACH ROW WHEN (OLD.state <> 'reserved')
	EXECUTE FUNCTION repairsys.ticket_part_state_trg();
CREATE TRIGGER ticket_part_06_state_insert BEFORE INSERT ON repairsys.ticket_part
	FOR EACH ROW WHEN (NEW.state = 'used')
	EXECUTE FUNCTION repairsys.ticket_part_state_trg();

------------------------------------------------------------------------------
-- Functions for applications
------------------------------------------------------------------------------
CREATE FUNCTION repairsys.check_qty(qty integer)
RETURNS void
LANGUAGE plpgsql IMMUTABLE
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
BEGIN
	IF qty IS NULL OR qty <= 0 THEN
		RAISE EXCEPTION 'quantity must be a positive number of units' USING ERRCODE = '22023',
			-- (concatenation, not format(): format() is only STABLE)
			DETAIL = 'The quantity is ' || coalesce(qty::text, 'NULL') || '.';
	END IF;
END
$$;
COMMENT ON FUNCTION repairsys.check_qty(integer) IS 'Raises 22023 unless the quantity is a positive number of units';

CREATE FUNCTION repairsys.part_row(sku text)
RETURNS repairsys.part
LANGUAGE plpgsql STABLE
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
DECLARE
	p repairsys.part;
BEGIN
	SELECT * INTO p FROM repairsys.part x WHERE x.sku = part_row.sku;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'part "%" does not exist', sku USING ERRCODE = '22023';
	END IF;
	RETURN p;
END
$$;
COMMENT ON FUNCTION repairsys.part_row(text) IS 'The catalog row of a part; unknown sku: 22023';

CREATE FUNCTION repairsys.receive_part(sku text, center bigint, qty integer, unit_cost numeric DEFAULT NULL,
                                       serials text[] DEFAULT NULL, note text DEFAULT NULL)
RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
DECLARE
	p  repairsys.part := repairsys.part_row(sku);
	id bigint;
BEGIN
	PERFORM repairsys.check_qty(qty);
	IF NOT EXISTS (SELECT 1 FROM repairsys.service_center c WHERE c.id = center) THEN
		RAISE EXCEPTION 'service center % does not exist', center USING ERRCODE = '22023';
	END IF;
	IF unit_cost = 'NaN' OR unit_cost IN ('Infinity', '-Infinity') THEN
		RAISE EXCEPTION 'unit cost must be a finite number' USING ERRCODE = '22023';
	END IF;
	IF unit_cost < 0 THEN
		RAISE EXCEPTION 'unit cost must not be negative' USING ERRCODE = '22023';
	END IF;
	IF p.serialized THEN
		IF serials IS NULL OR pg_catalog.cardinality(serials) <> qty
		   OR EXISTS (SELECT 1 FROM pg_catalog.unnest(serials) s WHERE s IS NULL OR s = '') THEN
			RAISE EXCEPTION 'part "%" is serialized: give one serial number per unit received', p.sku
				USING ERRCODE = '22023',
				      DETAIL = pg_catalog.format('%s units, %s serial numbers.', qty, coalesce(pg_catalog.cardinality(serials), 0));
		END IF;
		INSERT INTO repairsys.part_unit (serial, sku, service_center_id, state)
		SELECT s, p.sku, center, 'in_stock' FROM pg_catalog.unnest(serials) s;
	ELSIF serials IS NOT NULL THEN
		RAISE EXCEPTION 'part "%" is not serialized', p.sku USING ERRCODE = '22023';
	END IF;
	INSERT INTO repairsys.stock_movement (sku, service_center_id, kind, qty, unit_cost, note)
	VALUES (p.sku, center, 'receipt', qty, coalesce(unit_cost, p.unit_cost), note)
	RETURNING stock_movement.id INTO id;
	RETURN id;
END
$$;
COMMENT ON FUNCTION repairsys.receive_part(text, bigint, integer, numeric, text[], text) IS 'Records a receipt of parts at a center (serialized parts: one serial per unit); returns the ledger row id';

CREATE FUNCTION repairsys.reserve_part(ticket_id bigint, sku text, qty integer)
RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
DECLARE
	t  repairsys.ticket;
	p  repairsys.part := repairsys.part_row(sku);
	id bigint;
BEGIN
	PERFORM repairsys.check_qty(qty);
	SELECT * INTO t FROM repairsys.ticket x WHERE x.id = reserve_part.ticket_id;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'ticket % does not exist', reserve_part.ticket_id USING ERRCODE = '22023';
	END IF;
	IF NOT repairsys.status_takes_parts(t.status) THEN
		RAISE EXCEPTION 'cannot reserve parts for ticket % in status "%"', t.id, t.status
			USING ERRCODE = '23514',
			      DETAIL = 'Parts are reserved only for tickets that are neither resolved nor finished.';
	END IF;
	IF t.service_center_id IS NULL THEN
		RAISE EXCEPTION 'ticket % has no service center to reserve parts at', t.id USING ERRCODE = '23514';
	END IF;
	-- the trigger on ticket_part locks the stock row, checks what is available and reserves
	INSERT INTO repairsys.ticket_part (ticket_id, sku, service_center_id, qty, state, unit_price, unit_cost, covered)
	VALUES (t.id, p.sku, t.service_center_id, qty, 'reserved', p.unit_price, p.unit_cost, repairsys.under_warranty(t))
	RETURNING ticket_part.id INTO id;
	RETURN id;
END
$$;
COMMENT ON FUNCTION repairsys.reserve_part(bigint, text, integer) IS 'Reserves parts for a ticket at its service center with the price of now; fails with 23514 and changes nothing when not enough is available; returns the ticket_part id';

CREATE FUNCTION repairsys.release_part(ticket_id bigint, sku text, qty integer DEFAULT NULL)
RETURNS integer
LANGUAGE plpgsql VOLATILE
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
DECLARE
	l         repairsys.ticket_part;
	remaining integer := qty;
	released  integer := 0;
BEGIN
	IF qty IS NOT NULL THEN
		PERFORM repairsys.check_qty(qty);
	END IF;
	FOR l IN SELECT * FROM repairsys.ticket_part x
	          WHERE x.ticket_id = release_part.ticket_id AND x.sku = release_part.sku AND x.state = 'reserved'
	          ORDER BY x.id FOR UPDATE
	LOOP
		EXIT WHEN remaining = 0;
		IF remaining IS NULL OR l.qty <= remaining THEN
			UPDATE repairsys.ticket_part x SET state = 'released' WHERE x.id = l.id;
			released := released + l.qty;
			remaining := remaining - l.qty;
		ELSE
			UPDATE repairsys.ticket_part x SET qty = l.qty - remaining WHERE x.id = l.id;
			INSERT INTO repairsys.ticket_part (ticket_id, sku, service_center_id, qty, state, unit_price, unit_cost, covered, reserved_at)
			VALUES (l.ticket_id, l.sku, l.service_center_id, remaining, 'released', l.unit_price, l.unit_cost, l.covered, l.reserved_at);
			released := released + remaining;
			remaining := 0;
		END IF;
	END LOOP;
	IF remaining > 0 THEN
		RAISE EXCEPTION 'ticket % has only % units of part "%" reserved', ticket_id, released, sku
			USING ERRCODE = '23514', DETAIL = pg_catalog.format('%s units were asked to be released.', qty);
	END IF;
	RETURN released;
END
$$;
COMMENT ON FUNCTION repairsys.release_part(bigint, text, integer) IS 'Releases reserved parts of a ticket (all of that part when qty is NULL); returns the units released';

CREATE FUNCTION repairsys.consume_part(ticket_id bigint, sku text DEFAULT NULL, serials text[] DEFAULT NULL)
RETURNS integer
LANGUAGE plpgsql VOLATILE
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
DECLARE
	t      repairsys.ticket;
	l      repairsys.ticket_part;
	p      repairsys.part;
	issued integer := 0;
	picked text[];
BEGIN
	SELECT * INTO t FROM repairsys.ticket x WHERE x.id = consume_part.ticket_id;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'ticket % does not exist', consume_part.ticket_id USING ERRCODE = '22023';
	END IF;
	FOR l IN SELECT * FROM repairsys.ticket_part x
	          WHERE x.ticket_id = t.id AND x.state = 'reserved' AND (consume_part.sku IS NULL OR x.sku = consume_part.sku)
	          ORDER BY x.sku, x.service_center_id, x.id FOR UPDATE
	LOOP
		p := repairsys.part_row(l.sku);
		IF p.serialized THEN
			-- the units installed: the ones named, else the oldest in stock at the center
			SELECT pg_catalog.array_agg(u.serial ORDER BY u.received_at, u.serial) INTO picked
			  FROM (SELECT u.serial, u.received_at FROM repairsys.part_unit u
			         WHERE u.sku = l.sku AND u.service_center_id = l.service_center_id AND u.state = 'in_stock'
			           AND (serials IS NULL OR u.serial = ANY (serials))
			         ORDER BY u.received_at, u.serial LIMIT l.qty FOR UPDATE) u;
			IF coalesce(pg_catalog.cardinality(picked), 0) < l.qty THEN
				RAISE EXCEPTION 'not enough serialized units of part "%" in stock at service center %', l.sku, l.service_center_id
					USING ERRCODE = '23514',
					      DETAIL = pg_catalog.format('%s units needed, %s found.', l.qty, coalesce(pg_catalog.cardinality(picked), 0));
			END IF;
			UPDATE repairsys.part_unit u
			   SET state = 'installed', ticket_id = t.id, asset_id = t.asset_id, service_center_id = NULL, installed_at = pg_catalog.now()
			 WHERE u.sku = l.sku AND u.serial = ANY (picked);
		END IF;
		-- the reservation ends first, then the issue takes the units out
		UPDATE repairsys.ticket_part x SET state = 'used', used_at = pg_catalog.now(), unit_cost = coalesce(x.unit_cost, p.unit_cost)
		 WHERE x.id = l.id;
		INSERT INTO repairsys.stock_movement (sku, service_center_id, kind, qty, ticket_id, unit_cost, note)
		VALUES (l.sku, l.service_center_id, 'issue', -l.qty, t.id, coalesce(l.unit_cost, p.unit_cost),
		        CASE WHEN picked IS NOT NULL THEN 'serials ' || pg_catalog.array_to_string(picked, ', ') END);
		issued := issued + l.qty;
		picked := NULL;
	END LOOP;
	RETURN issued;
END
$$;
COMMENT ON FUNCTION repairsys.consume_part(bigint, text, text[]) IS 'Issues a ticket''s reserved parts (all, or those of one sku) from stock; serialized units are recorded as installed on the ticket''s asset; returns the units issued';

CREATE FUNCTION repairsys.return_part(ticket_id bigint, sku text, qty integer, note text DEFAULT NULL, serials text[] DEFAULT NULL)
RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
DECLARE
	p      repairsys.part := repairsys.part_row(sku);
	center bigint;
	used   integer;
	here   integer;
	n      integer;
	id     bigint;
BEGIN
	PERFORM repairsys.check_qty(qty);
	SELECT sum(-m.qty) FILTER (WHERE m.kind = 'issue') - coalesce(sum(m.qty) FILTER (WHERE m.kind = 'return'), 0)
	  INTO used
	  FROM repairsys.stock_movement m
	 WHERE m.ticket_id = return_part.ticket_id AND m.sku = p.sku AND m.kind IN ('issue', 'return');
	IF coalesce(used, 0) < qty THEN
		RAISE EXCEPTION 'ticket % has only % units of part "%" issued that could be returned', ticket_id, coalesce(used, 0), sku
			USING ERRCODE = '23514';
	END IF;
	-- the units go back to the center they were issued from (the one issued
	-- from last, of those with units still out)
	SELECT x.center, x.outstanding INTO center, here
	  FROM (SELECT m.service_center_id AS center, max(m.seq) AS last,
	               sum(-m.qty) FILTER (WHERE m.kind = 'issue') - coalesce(sum(m.qty) FILTER (WHERE m.kind = 'return'), 0) AS outstanding
	          FROM repairsys.stock_movement m
	         WHERE m.ticket_id = return_part.ticket_id AND m.sku = p.sku AND m.kind IN ('issue', 'return')
	         GROUP BY m.service_center_id) x
	 WHERE x.outstanding > 0
	 ORDER BY x.last DESC LIMIT 1;
	IF here < qty THEN
		RAISE EXCEPTION 'ticket % has only % units of part "%" issued at service center % that could be returned', ticket_id, here, sku, center
			USING ERRCODE = '23514', DETAIL = 'Return the units of each center separately.';
	END IF;
	IF p.serialized THEN
		IF serials IS NULL OR pg_catalog.cardinality(serials) <> qty
		   OR EXISTS (SELECT 1 FROM pg_catalog.unnest(serials) s WHERE s IS NULL OR s = '')
		   OR (SELECT count(DISTINCT s) FROM pg_catalog.unnest(serials) s) <> qty THEN
			RAISE EXCEPTION 'part "%" is serialized: give one serial number per unit returned', p.sku
				USING ERRCODE = '22023',
				      DETAIL = pg_catalog.format('%s units, %s serial numbers.', qty, coalesce(pg_catalog.cardinality(serials), 0));
		END IF;
		UPDATE repairsys.part_unit u
		   SET state = 'in_stock', service_center_id = center, ticket_id = NULL, asset_id = NULL, installed_at = NULL
		 WHERE u.sku = p.sku AND u.serial = ANY (serials) AND u.state = 'installed' AND u.ticket_id = return_part.ticket_id;
		GET DIAGNOSTICS n = ROW_COUNT;
		IF n <> qty THEN
			RAISE EXCEPTION 'not every unit named was installed on ticket %', ticket_id
				USING ERRCODE = '23514',
				      DETAIL = pg_catalog.format('Not installed on it: %s.',
				                                 (SELECT pg_catalog.string_agg(pg_catalog.format('"%s"', s), ', ' ORDER BY s)
				                                    FROM pg_catalog.unnest(serials) s
				                                   WHERE NOT EXISTS (SELECT 1 FROM repairsys.part_unit u
				                                                      WHERE u.sku = p.sku AND u.serial = s AND u.service_center_id = center
				                                                        AND u.state = 'in_stock' AND u.ticket_id IS NULL)));
		END IF;
		note := pg_catalog.concat_ws('; ', note, 'serials ' || pg_catalog.array_to_string(serials, ', '));
	ELSIF serials IS NOT NULL THEN
		RAISE EXCEPTION 'part "%" is not serialized', p.sku USING ERRCODE = '22023';
	END IF;
	INSERT INTO repairsys.stock_movement (sku, service_center_id, kind, qty, ticket_id, unit_cost, note)
	VALUES (p.sku, center, 'return', qty, ticket_id, p.unit_cost, note)
	RETURNING stock_movement.id INTO id;
	RETURN id;
END
$$;
COMMENT ON FUNCTION repairsys.return_part(bigint, text, integer, text, text[]) IS 'Returns issued parts of a ticket to the stock of the center they came from (at most what was issued and not yet returned; serialized parts: the serial of each unit, which must be installed on the ticket); returns the ledger row id';

CREATE FUNCTION repairsys.transfer_part(sku text, from_center bigint, to_center bigint, qty integer, note text DEFAULT NULL)
RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
DECLARE
	p  repairsys.part := repairsys.part_row(sku);
	s  repairsys.stock;
	id bigint;
BEGIN
	PERFORM repairsys.check_qty(qty);
	IF from_center IS NULL OR to_center IS NULL OR from_center = to_center THEN
		RAISE EXCEPTION 'a transfer needs two different service centers' USING ERRCODE = '22023';
	END IF;
	IF (SELECT count(*) FROM repairsys.service_center c WHERE c.id IN (from_center, to_center)) <> 2 THEN
		RAISE EXCEPTION 'service center % or % does not exist', from_center, to_center USING ERRCODE = '22023';
	END IF;
	-- both stock rows, in center order
	PERFORM repairsys.lock_stock(p.sku, LEAST(from_center, to_center));
	PERFORM repairsys.lock_stock(p.sku, GREATEST(from_center, to_center));
	s := repairsys.lock_stock(p.sku, from_center);
	IF s.on_hand - s.reserved < qty THEN
		RAISE EXCEPTION 'not enough stock of part "%" at service center % to transfer %', p.sku, from_center, qty
			USING ERRCODE = '23514',
			      DETAIL = pg_catalog.format('%s available (%s on hand, %s reserved).', s.on_hand - s.reserved, s.on_hand, s.reserved);
	END IF;
	IF p.serialized THEN
		UPDATE repairsys.part_unit u SET service_center_id = to_center
		 WHERE (u.sku, u.serial) IN (SELECT x.sku, x.serial FROM repairsys.part_unit x
		                              WHERE x.sku = p.sku AND x.service_center_id = from_center AND x.state = 'in_stock'
		                              ORDER BY x.received_at, x.serial LIMIT qty FOR UPDATE);
	END IF;
	INSERT INTO repairsys.stock_movement (sku, service_center_id, kind, qty, unit_cost, note)
	VALUES (p.sku, from_center, 'transfer_out', -qty, p.unit_cost, coalesce(note, 'to center ' || to_center));
	INSERT INTO repairsys.stock_movement (sku, service_center_id, kind, qty, unit_cost, note)
	VALUES (p.sku, to_center, 'transfer_in', qty, p.unit_cost, coalesce(note, 'from center ' || from_center))
	RETURNING stock_movement.id INTO id;
	RETURN id;
END
$$;
COMMENT ON FUNCTION repairsys.transfer_part(text, bigint, bigint, integer, text) IS 'Transfers parts between service centers (调配): a transfer_out and a transfer_in in one transaction; fails with 23514 when not enough is available; returns the transfer_in ledger row id';

CREATE FUNCTION repairsys.adjust_stock(sku text, center bigint, qty integer, note text, serials text[] DEFAULT NULL)
RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
DECLARE
	p  repairsys.part := repairsys.part_row(sku);
	n  integer;
	id bigint;
BEGIN
	IF qty IS NULL OR qty = 0 THEN
		RAISE EXCEPTION 'an adjustment needs a quantity other than 0' USING ERRCODE = '22023';
	END IF;
	IF note IS NULL OR note = '' THEN
		RAISE EXCEPTION 'an adjustment needs a note saying why' USING ERRCODE = '22023';
	END IF;
	IF p.serialized THEN
		IF serials IS NULL OR pg_catalog.cardinality(serials) <> pg_catalog.abs(qty)
		   OR EXISTS (SELECT 1 FROM pg_catalog.unnest(serials) s WHERE s IS NULL OR s = '')
		   OR (SELECT count(DISTINCT s) FROM pg_catalog.unnest(serials) s) <> pg_catalog.abs(qty) THEN
			RAISE EXCEPTION 'part "%" is serialized: give one serial number per unit adjusted', p.sku
				USING ERRCODE = '22023',
				      DETAIL = pg_catalog.format('%s units, %s serial numbers.', pg_catalog.abs(qty), coalesce(pg_catalog.cardinality(serials), 0));
		END IF;
		IF NOT EXISTS (SELECT 1 FROM repairsys.service_center c WHERE c.id = center) THEN
			RAISE EXCEPTION 'service center % does not exist', center USING ERRCODE = '22023';
		END IF;
		IF qty > 0 THEN
			-- units found in the count: new serials, or known units that are
			-- neither in stock nor installed (scrapped or returned earlier)
			IF EXISTS (SELECT 1 FROM repairsys.part_unit u
			            WHERE u.sku = p.sku AND u.serial = ANY (serials) AND u.state IN ('in_stock', 'reserved', 'installed')) THEN
				RAISE EXCEPTION 'a unit named is already in stock or installed' USING ERRCODE = '23514',
					DETAIL = pg_catalog.format('Units: %s.',
						(SELECT pg_catalog.string_agg(pg_catalog.format('"%s" (%s)', u.serial, u.state), ', ' ORDER BY u.serial)
						   FROM repairsys.part_unit u
						  WHERE u.sku = p.sku AND u.serial = ANY (serials) AND u.state IN ('in_stock', 'reserved', 'installed')));
			END IF;
			INSERT INTO repairsys.part_unit AS u (serial, sku, service_center_id, state)
			SELECT s, p.sku, center, 'in_stock' FROM pg_catalog.unnest(serials) s
			ON CONFLICT ON CONSTRAINT part_unit_pkey DO UPDATE
			   SET state = 'in_stock', service_center_id = excluded.service_center_id, ticket_id = NULL, asset_id = NULL, installed_at = NULL;
		ELSE
			-- units missing in the count leave the stock as scrapped
			UPDATE repairsys.part_unit u SET state = 'scrapped'
			 WHERE u.sku = p.sku AND u.serial = ANY (serials) AND u.service_center_id = center AND u.state = 'in_stock';
			GET DIAGNOSTICS n = ROW_COUNT;
			IF n <> -qty THEN
				RAISE EXCEPTION 'not every unit named is in stock at service center %', center USING ERRCODE = '23514',
					DETAIL = pg_catalog.format('%s of %s units are.', n, -qty);
			END IF;
		END IF;
		note := note || '; serials ' || pg_catalog.array_to_string(serials, ', ');
	ELSIF serials IS NOT NULL THEN
		RAISE EXCEPTION 'part "%" is not serialized', p.sku USING ERRCODE = '22023';
	END IF;
	INSERT INTO repairsys.stock_movement (sku, service_center_id, kind, qty, note)
	VALUES (p.sku, center, 'adjust', qty, note)
	RETURNING stock_movement.id INTO id;
	RETURN id;
END
$$;
COMMENT ON FUNCTION repairsys.adjust_stock(text, bigint, integer, text, text[]) IS 'Corrects stock after a count (signed quantity, with a note; serialized parts: the serial of each unit found or missing); returns the ledger row id';

-- AFTER UPDATE OF status on ticket: on resolution the ticket's remaining
-- reservations become issues; on cancellation they are released.
CREATE FUNCTION repairsys.ticket_parts_on_status_trg()
RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
BEGIN
	IF NEW.status_role = 'resolved' THEN
		PERFORM repairsys.consume_part(NEW.id);
	ELSIF NEW.status_role = 'cancelled' THEN
		UPDATE repairsys.ticket_part x SET state = 'released' WHERE x.ticket_id = NEW.id AND x.state = 'reserved';
	END IF;
	RETURN NULL;
END
$$;
COMMENT ON FUNCTION repairsys.ticket_parts_on_status_trg() IS 'AFTER UPDATE trigger of ticket: issues the remaining reserved parts when a ticket is resolved, releases them when it is cancelled';

------------------------------------------------------------------------------
-- Forecasts and alerts
------------------------------------------------------------------------------
INSERT INTO repairsys.setting (name, value, description, dump, type, min_value, choices) VALUES
	('forecast_method', 'sba', 'Method of the stock forecast: ses, croston, sba or tsb', false, 'choice', NULL, ARRAY['ses', 'croston', 'sba', 'tsb']),
	('forecast_alpha', '0.1', 'Smoothing constant alpha of the stock forecast', false, 'fraction', NULL, NULL),
	('forecast_beta', '0.1', 'Smoothing constant beta of the stock forecast (tsb)', false, 'fraction', NULL, NULL),
	('forecast_days', '365', 'Days of issue history the stock forecast reads', false, 'integer', 1, NULL);

-- Daily issue quantities of a part at a center over the last days (zeros
-- filled), oldest first.
CREATE FUNCTION repairsys.daily_issues(sku text, center bigint, days integer DEFAULT 365)
RETURNS double precision[]
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = repairsys, pg_catalog, pg_temp
BEGIN ATOMIC
	SELECT pg_catalog.array_agg(coalesce(d.qty, 0)::double precision ORDER BY g.day)
	  FROM pg_catalog.generate_series(CURRENT_DATE - days, CURRENT_DATE - 1, interval '1 day') AS g(day)
	  LEFT JOIN (SELECT (m.at AT TIME ZONE pg_catalog.current_setting('TimeZone'))::date AS day, sum(-m.qty) AS qty
	               FROM repairsys.stock_movement m
	              WHERE m.sku = daily_issues.sku AND m.service_center_id = daily_issues.center AND m.kind = 'issue'
	                AND m.at >= CURRENT_DATE - days AND m.at < CURRENT_DATE
	              GROUP BY 1) d ON d.day = g.day::date;
END;
COMMENT ON FUNCTION repairsys.daily_issues(text, bigint, integer) IS 'Units issued per day of a part at a center over the last days (today excluded, zeros filled), oldest first';

CREATE VIEW repairsys.stock_forecast AS
SELECT s.sku,
       s.service_center_id,
       s.on_hand,
       s.reserved,
       s.on_hand - s.reserved AS available,
       p.min_stock,
       f.daily_rate,
       p.lead_time_days,
       f.daily_rate * p.lead_time_days AS lead_time_demand,
       f.sigma * repairsys.normal_quantile(p.service_level::double precision) * pg_catalog.sqrt(p.lead_time_days::double precision) AS safety_stock,
       f.daily_rate * p.lead_time_days
         + f.sigma * repairsys.normal_quantile(p.service_level::double precision) * pg_catalog.sqrt(p.lead_time_days::double precision) AS reorder_point,
       CASE WHEN f.daily_rate > 0 THEN (s.on_hand - s.reserved) / f.daily_rate END AS days_of_cover,
       CASE WHEN f.daily_rate > 0 THEN CURRENT_DATE + pg_catalog.floor(greatest(s.on_hand - s.reserved, 0) / f.daily_rate)::integer END AS projected_stockout,
       CASE WHEN s.on_hand - s.reserved <= f.daily_rate * p.lead_time_days
                 + f.sigma * repairsys.normal_quantile(p.service_level::double precision) * pg_catalog.sqrt(p.lead_time_days::double precision)
                 OR s.on_hand - s.reserved < p.min_stock
            THEN greatest(pg_catalog.ceil(greatest(2 * f.daily_rate * p.lead_time_days
                     + f.sigma * repairsys.normal_quantile(p.service_level::double precision) * pg_catalog.sqrt(p.lead_time_days::double precision),
                     p.min_stock::double precision) - (s.on_hand - s.reserved)), 0)::integer
            ELSE 0 END AS suggested_order_qty,
       CASE WHEN s.on_hand - s.reserved <= 0 THEN 'stockout'
            WHEN s.on_hand - s.reserved < p.min_stock THEN 'below_min'
            WHEN f.daily_rate > 0 AND s.on_hand - s.reserved <= f.daily_rate * p.lead_time_days
                 + f.sigma * repairsys.normal_quantile(p.service_level::double precision) * pg_catalog.sqrt(p.lead_time_days::double precision)
            THEN 'below_reorder_point'
            ELSE 'ok' END AS alert
  FROM repairsys.stock s
  JOIN repairsys.part p ON p.sku = s.sku
  CROSS JOIN LATERAL (
	SELECT repairsys.forecast_demand(x.series, repairsys.setting_value('forecast_method'),
	                                 repairsys.setting_value('forecast_alpha')::double precision,
	                                 repairsys.setting_value('forecast_beta')::double precision) AS daily_rate,
	       (SELECT coalesce(stddev_pop(v), 0) FROM pg_catalog.unnest(x.series) v) AS sigma
	  FROM (SELECT repairsys.daily_issues(s.sku, s.service_center_id,
	                                      repairsys.setting_value('forecast_days')::integer) AS series) x
	OFFSET 0	-- computed once per row, not once per column that uses it
  ) f;
COMMENT ON VIEW repairsys.stock_forecast IS 'Per part and center: stock, forecast daily demand, safety stock, reorder point, cover, suggested order and alert (docs/parts.md)';
COMMENT ON COLUMN repairsys.stock_forecast.sku IS 'Part';
COMMENT ON COLUMN repairsys.stock_forecast.service_center_id IS 'Service center';
COMMENT ON COLUMN repairsys.stock_forecast.on_hand IS 'Units in stock';
COMMENT ON COLUMN repairsys.stock_forecast.reserved IS 'Units reserved for tickets';
COMMENT ON COLUMN repairsys.stock_forecast.available IS 'on_hand - reserved';
COMMENT ON COLUMN repairsys.stock_forecast.min_stock IS 'Minimum stock of the part (part.min_stock)';
COMMENT ON COLUMN repairsys.stock_forecast.daily_rate IS 'Forecast units issued per day (forecast_demand over the daily issues of the last forecast_days days, method forecast_method)';
COMMENT ON COLUMN repairsys.stock_forecast.lead_time_days IS 'Days from order to receipt';
COMMENT ON COLUMN repairsys.stock_forecast.lead_time_demand IS 'daily_rate * lead_time_days';
COMMENT ON COLUMN repairsys.stock_forecast.safety_stock IS 'normal_quantile(service_level) * sigma of daily issues * sqrt(lead_time_days)';
COMMENT ON COLUMN repairsys.stock_forecast.reorder_point IS 'lead_time_demand + safety_stock: order when available falls to it';
COMMENT ON COLUMN repairsys.stock_forecast.days_of_cover IS 'available / daily_rate (NULL without demand)';
COMMENT ON COLUMN repairsys.stock_forecast.projected_stockout IS 'Date the available units run out at the forecast rate (NULL without demand)';
COMMENT ON COLUMN repairsys.stock_forecast.suggested_order_qty IS 'Units to order now: up to max(reorder_point + lead_time_demand, min_stock) when at or below the reorder point or the minimum, else 0';
COMMENT ON COLUMN repairsys.stock_forecast.alert IS 'stockout (nothing available), below_min (under part.min_stock), below_reorder_point, or ok';

CREATE VIEW repairsys.low_stock AS
SELECT s.sku, p.name, s.service_center_id, s.on_hand - s.reserved AS available, p.min_stock,
       p.min_stock - (s.on_hand - s.reserved) AS missing
  FROM repairsys.stock s JOIN repairsys.part p ON p.sku = s.sku
 WHERE s.on_hand - s.reserved < p.min_stock;
COMMENT ON VIEW repairsys.low_stock IS 'Low-stock alert: parts whose available units at a center are below part.min_stock';
COMMENT ON COLUMN repairsys.low_stock.sku IS 'Part';
COMMENT ON COLUMN repairsys.low_stock.name IS 'Part name';
COMMENT ON COLUMN repairsys.low_stock.service_center_id IS 'Service center';
COMMENT ON COLUMN repairsys.low_stock.available IS 'on_hand - reserved';
COMMENT ON COLUMN repairsys.low_stock.min_stock IS 'Minimum stock of the part';
COMMENT ON COLUMN repairsys.low_stock.missing IS 'Units missing to reach the minimum';

-- Allocates each shortage once: every (shortage, surplus) pair of a part,
-- nearest first (then by center ids), gets what is still missing at the one
-- and still spare at the other, so the quantities suggested into a center
-- never exceed its shortage and out of a center never exceed its surplus.
CREATE FUNCTION repairsys.stock_transfer_allocation()
RETURNS TABLE (sku text, from_center_id bigint, to_center_id bigint, qty integer, from_available integer,
               to_available integer, to_shortage integer, distance_km double precision)
LANGUAGE plpgsql STABLE
SET search_path = repairsys, pg_catalog, pg_temp
AS $$
DECLARE
	r         record;
	cur_sku   text;
	short_left jsonb;
	spare_left jsonb;
	q         integer;
BEGIN
	FOR r IN
		WITH need AS (
			SELECT f.sku, f.service_center_id, f.available,
			       greatest(pg_catalog.ceil(greatest(f.reorder_point, f.min_stock::double precision)), 0)::integer AS target
			  FROM repairsys.stock_forecast f
		), shortage AS (
			SELECT n.sku, n.service_center_id, n.available, n.target - n.available AS short FROM need n WHERE n.available < n.target
		), surplus AS (
			SELECT n.sku, n.service_center_id, n.available, n.available - n.target AS spare FROM need n WHERE n.available > n.target
		)
		SELECT sh.sku, su.service_center_id AS from_id, sh.service_center_id AS to_id, su.spare, sh.short,
		       su.available AS from_available, sh.available AS to_available,
		       repairsys.haversine_km(a.lat, a.lon, b.lat, b.lon) AS km
		  FROM shortage sh
		  JOIN surplus su ON su.sku = sh.sku
		  JOIN repairsys.service_center a ON a.id = su.service_center_id
		  JOIN repairsys.service_center b ON b.id = sh.service_center_id
		 ORDER BY sh.sku, 8 NULLS LAST, sh.service_center_id, su.service_center_id
	LOOP
		IF cur_sku IS DISTINCT FROM r.sku THEN
			cur_sku := r.sku;
			short_left := '{}';
			spare_left := '{}';
		END IF;
		q := LEAST(coalesce((short_left ->> r.to_id::text)::integer, r.short),
		           coalesce((spare_left ->> r.from_id::text)::integer, r.spare));
		CONTINUE WHEN q <= 0;
		short_left := short_left || pg_catalog.jsonb_build_object(r.to_id::text,
			coalesce((short_left ->> r.to_id::text)::integer, r.short) - q);
		spare_left := spare_left || pg_catalog.jsonb_build_object(r.from_id::text,
			coalesce((spare_left ->> r.from_id::text)::integer, r.spare) - q);
		sku := r.sku;
		from_center_id := r.from_id;
		to_center_id := r.to_id;
		qty := q;
		from_available := r.from_available;
		to_available := r.to_available;
		to_shortage := r.short;
		distance_km := r.km;
		RETURN NEXT;
	END LOOP;
END
$$;
COMMENT ON FUNCTION repairsys.stock_transfer_allocation() IS 'Transfers that cover shortages from surpluses of the same part, each shortage and each surplus allocated once, nearest pair first (the rows of view stock_transfer_suggestion)';

CREATE VIEW repairsys.stock_transfer_suggestion AS
SELECT a.sku, a.from_center_id, a.to_center_id, a.qty, a.from_available, a.to_available, a.to_shortage, a.distance_km
  FROM repairsys.stock_transfer_allocation() a;
COMMENT ON VIEW repairsys.stock_transfer_suggestion IS 'Transfers (调配) that cover a center''s shortage from other centers'' surplus of the same part, nearest surplus first; each shortage and each surplus is allocated once';
COMMENT ON COLUMN repairsys.stock_transfer_suggestion.sku IS 'Part';
COMMENT ON COLUMN repairsys.stock_transfer_suggestion.from_center_id IS 'Center with units above its own need (max of reorder point and minimum stock)';
COMMENT ON COLUMN repairsys.stock_transfer_suggestion.to_center_id IS 'Center short of its need';
COMMENT ON COLUMN repairsys.stock_transfer_suggestion.qty IS 'Units to move: what is still missing at the receiving center and still spare at the giving one after the nearer pairs (the suggestions into a center sum to at most its shortage, out of a center to at most its surplus)';
COMMENT ON COLUMN repairsys.stock_transfer_suggestion.from_available IS 'Available units at the giving center';
COMMENT ON COLUMN repairsys.stock_transfer_suggestion.to_available IS 'Available units at the receiving center';
COMMENT ON COLUMN repairsys.stock_transfer_suggestion.to_shortage IS 'Units the receiving center is short of its need';
COMMENT ON COLUMN repairsys.stock_transfer_suggestion.distance_km IS 'Great-circle distance between the centers (NULL without coordinates)';
