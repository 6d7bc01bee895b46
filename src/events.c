/*
 * events.c
 *		Ids of the durable event log repairsys.event (DESIGN.md section 16,
 *		docs/events.md).
 *
 * An event id is ((top transaction's xid8 + offset) << 24) | n, n counting
 * the events of that transaction from 0.  Ids therefore follow the order in
 * which the writing transactions took their transaction ids, and a
 * transaction that is still running can only ever add ids at or above
 * (its xid8 + offset) << 24.  A reader that stays below
 * (pg_snapshot_xmin(pg_current_snapshot()) + offset) << 24 (the horizon,
 * repairsys.event_horizon()) reads only ids that no running transaction can
 * still add below: all writers under the horizon have ended, so every event
 * it returns is final and none can appear later between two it has seen.
 *
 * The offset keeps ids increasing when the events are restored into another
 * cluster (pg_dump; the new cluster's transaction ids start again near 0):
 * repairsys.event_clock holds the offset with the system identifier of the
 * cluster it was computed for.  The first event written in a cluster that has
 * no row of its own computes it, under a table lock, from the highest id
 * present: after it every new id is above every restored one.  The offset is
 * read once per backend (it never changes within a cluster).
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/transam.h"
#include "access/xact.h"
#include "access/xlog.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"

PG_FUNCTION_INFO_V1(next_event_id);
PG_FUNCTION_INFO_V1(event_id_offset);

/* Bits of an id that number the events of one transaction. */
#define EVENT_SEQ_BITS	24
#define EVENT_SEQ_MAX	(UINT64CONST(1) << EVENT_SEQ_BITS)
/* Largest xid8 + offset that still fits an int8 id once shifted. */
#define EVENT_XID_MAX	((UINT64CONST(1) << (63 - EVENT_SEQ_BITS)) - 1)

/* The offset, cached for the repairsys.event relation it was read for. */
static Oid	offset_relid = InvalidOid;
static int64 offset_value = 0;

/* The transaction that took the last id, and how many it took. */
static FullTransactionId last_fxid = {0};
static uint64 last_count = 0;
static int64 last_offset = 0;

/*
 * Runs one query of the clock, with the arguments given; returns the number
 * of rows.  Must run inside an SPI connection.
 */
static uint64
clock_query(const char *sql, int nargs, Oid *types, Datum *args, bool read_only, int expect)
{
	int			ret = SPI_execute_with_args(sql, nargs, types, args, NULL, read_only, 0);

	if (ret != expect)
		elog(ERROR, "SPI_execute_with_args failed for \"%s\": %s", sql, SPI_result_code_string(ret));
	return SPI_processed;
}

/*
 * The offset of this cluster's event ids, in *off.  Returns false when the
 * cluster has none yet (no event written here since install or restore) and
 * rebase is false; with rebase true, computes and stores it (the caller is
 * about to write an event).  The clock is read and written with the rights of
 * the owner of repairsys.event.
 */
static bool
event_offset(bool rebase, int64 *off)
{
	Oid			nsp = get_namespace_oid("repairsys", false);
	Oid			relid = get_relname_relid("event", nsp);
	Oid			owner;
	Oid			save_userid;
	int			save_sec_context;
	char		sysid[32];
	Oid			types[2] = {TEXTOID, INT8OID};
	Datum		args[2];
	bool		isnull;
	bool		found = false;
	int			ret;
	const char *select_sql = "SELECT c.xid_offset FROM repairsys.event_clock c"
		" WHERE c.system_identifier OPERATOR(pg_catalog.=) $1";

	if (!OidIsValid(relid))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation \"repairsys.event\" does not exist")));
	if (relid == offset_relid)
	{
		*off = offset_value;
		return true;
	}

	{
		HeapTuple	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));

		if (!HeapTupleIsValid(tup))
			elog(ERROR, "cache lookup failed for relation %u", relid);
		owner = ((Form_pg_class) GETSTRUCT(tup))->relowner;
		ReleaseSysCache(tup);
	}

	snprintf(sysid, sizeof(sysid), UINT64_FORMAT, GetSystemIdentifier());
	args[0] = CStringGetTextDatum(sysid);

	if ((ret = SPI_connect()) != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed: %s", SPI_result_code_string(ret));
	GetUserIdAndSecContext(&save_userid, &save_sec_context);
	SetUserIdAndSecContext(owner, save_sec_context | SECURITY_LOCAL_USERID_CHANGE);

	if (clock_query(select_sql, 1, types, args, !rebase, SPI_OK_SELECT) == 1)
	{
		*off = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
		found = !isnull;
	}
	if (!found && rebase)
	{
		uint64		cur = U64FromFullTransactionId(GetTopFullTransactionId());
		int64		max_id = -1;
		int64		newoff;

		/* one writer computes it; the others wait and read its row */
		if ((ret = SPI_execute("LOCK TABLE repairsys.event_clock IN SHARE ROW EXCLUSIVE MODE", false, 0)) != SPI_OK_UTILITY)
			elog(ERROR, "SPI_execute failed: %s", SPI_result_code_string(ret));
		if (clock_query(select_sql, 1, types, args, false, SPI_OK_SELECT) == 1)
		{
			*off = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
			found = !isnull;
		}
		if (!found)
		{
			Datum		m;

			clock_query("SELECT pg_catalog.max(e.id) FROM repairsys.event e", 0, NULL, NULL, false, SPI_OK_SELECT);
			m = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
			if (!isnull)
				max_id = DatumGetInt64(m);
			newoff = (max_id < 0) ? 0 : (max_id >> EVENT_SEQ_BITS) + 1 - (int64) cur;
			if (newoff < 0)
				newoff = 0;
			clock_query("DELETE FROM repairsys.event_clock", 0, NULL, NULL, false, SPI_OK_DELETE);
			args[1] = Int64GetDatum(newoff);
			clock_query("INSERT INTO repairsys.event_clock (system_identifier, xid_offset, computed_at)"
						" VALUES ($1, $2, pg_catalog.now())", 2, types, args, false, SPI_OK_INSERT);
			*off = newoff;
			found = true;
		}
	}

	SetUserIdAndSecContext(save_userid, save_sec_context);
	SPI_finish();

	if (found)
	{
		offset_relid = relid;
		offset_value = *off;
	}
	return found;
}

/*
 * repairsys.next_event_id(): the id of the next event of the current
 * transaction (assigns the transaction its xid first, so that the id is
 * never below the horizon of a reader that cannot see the transaction yet).
 */
Datum
next_event_id(PG_FUNCTION_ARGS)
{
	FullTransactionId fxid = GetTopFullTransactionId();
	uint64		x = U64FromFullTransactionId(fxid);
	uint64		base;

	if (!FullTransactionIdEquals(fxid, last_fxid))
	{
		int64		off = 0;

		(void) event_offset(true, &off);
		last_offset = off;
		last_count = 0;
		last_fxid = fxid;
	}
	if (last_count >= EVENT_SEQ_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("too many events in one transaction"),
				 errdetail("A transaction writes at most " UINT64_FORMAT " events.", EVENT_SEQ_MAX)));
	base = x + (uint64) last_offset;
	if (base > EVENT_XID_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("event id out of range"),
				 errdetail("Transaction id " UINT64_FORMAT " with offset " INT64_FORMAT " exceeds the id space of repairsys.event.",
						   x, last_offset)));
	PG_RETURN_INT64((int64) ((base << EVENT_SEQ_BITS) | last_count++));
}

/*
 * repairsys.event_id_offset(): the offset of this cluster's event ids, NULL
 * when none has been computed here yet (then every event present was written
 * elsewhere, and is final).
 */
Datum
event_id_offset(PG_FUNCTION_ARGS)
{
	int64		off = 0;

	if (!event_offset(false, &off))
		PG_RETURN_NULL();
	PG_RETURN_INT64(off);
}
