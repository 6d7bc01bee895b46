#!/usr/bin/env python3
"""Example consumer of the repairsys event log (docs/events.md).

Drains the events of one named consumer with repairsys.read_events(),
prints what an application would send for each, and acknowledges them with
repairsys.ack_events() in the same transaction; then waits for the wake-up
call NOTIFY repairsys_events and drains again.  A crash between reading and
acknowledging delivers the same events again on restart (at least once);
once acknowledged, an event never comes back.

    python3 docs/examples/consumer.py [--consumer NAME] [--once] [DSN]

DSN is a libpq connection string (default: the PG* environment variables).
--once drains what is there and exits (what the test command runs).
Needs Debian's python3-psycopg2.
"""
import argparse
import select
import sys

import psycopg2


def describe(kind, ticket_id, payload):
    """The message an application would send for an event (or None)."""
    if kind == "ticket_opened":
        return "ticket %s opened" % ticket_id
    if kind == "status_changed":
        return "ticket %s is now %s" % (ticket_id, payload.get("to"))
    if kind == "technician_changed":
        return "ticket %s: technician %s takes it over" % (ticket_id, payload.get("technician_id"))
    if kind == "estimate_approved":
        return "ticket %s: the customer approved the estimate" % ticket_id
    if kind == "invoice_issued":
        return "ticket %s: bill %s of %s %s is ready" % (
            ticket_id, payload.get("invoice_no"), payload.get("total"), payload.get("currency"))
    if kind == "payment_recorded":
        return "ticket %s: payment of %s %s received" % (ticket_id, payload.get("amount"), payload.get("currency"))
    if kind == "part_reserved":
        return "ticket %s: %s x %s reserved" % (ticket_id, payload.get("qty"), payload.get("sku"))
    if kind in ("sla_warning", "sla_breached"):
        return "ticket %s: %s target %s%% used (%s), tell the %s" % (
            ticket_id, payload.get("target"), payload.get("at_pct"),
            "breached" if kind == "sla_breached" else "warning", payload.get("audience"))
    if kind == "follow_up_due":
        return "ticket %s: follow-up call due (%s)" % (ticket_id, payload.get("reason"))
    if kind == "ticket_stuck":
        return "ticket %s: stuck in %s since %s" % (ticket_id, payload.get("status"), payload.get("since"))
    return None


def drain(conn, consumer, batch=100):
    """Reads, prints and acknowledges until nothing is left; returns how many."""
    total = 0
    while True:
        with conn.cursor() as cur:
            cur.execute("SELECT id, kind, ticket_id, payload FROM repairsys.read_events(%s, %s)",
                        (consumer, batch))
            rows = cur.fetchall()
            if not rows:
                conn.commit()
                return total
            for event_id, kind, ticket_id, payload in rows:
                text = describe(kind, ticket_id, payload or {})
                if text is not None:
                    print("would send: %s" % text)
            cur.execute("SELECT repairsys.ack_events(%s, %s)", (consumer, rows[-1][0]))
        conn.commit()	# the acknowledgement: these events never come back
        total += len(rows)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("dsn", nargs="?", default="")
    ap.add_argument("--consumer", default="example_consumer")
    ap.add_argument("--once", action="store_true", help="drain once and exit")
    args = ap.parse_args()

    conn = psycopg2.connect(args.dsn)
    listen = psycopg2.connect(args.dsn)
    listen.set_session(autocommit=True)
    with listen.cursor() as cur:
        cur.execute("LISTEN repairsys_events")
    n = drain(conn, args.consumer)
    print("drained %d events" % n)
    if args.once:
        return 0
    while True:
        # the notification is only a wake-up call: what happened is read
        # from the log (the timeout also covers a missed notification)
        if select.select([listen], [], [], 60) != ([], [], []):
            listen.poll()
            del listen.notifies[:]
        n = drain(conn, args.consumer)
        if n:
            print("drained %d events" % n)
            sys.stdout.flush()


if __name__ == "__main__":
    sys.exit(main())
