/*
 * lifecycle.c
 *		The two triggers every ticket change goes through, in C:
 *
 *		ticket_transition_trg	BEFORE UPDATE: the columns the life cycle owns
 *								are kept (428C9), a status change is checked
 *								against repairsys.ticket_transition and its
 *								guard (23514), and the stamps are set;
 *		ticket_log_trg			AFTER INSERT OR UPDATE: one repairsys.ticket_event
 *								row per status change (and per change of
 *								technician), its repairsys.event row (the
 *								durable log, src/events.c), and NOTIFY
 *								repairsys_events with the id of the history
 *								row.
 *
 * They were PL/pgSQL (docs/lifecycle.md keeps the rules); they run on every
 * ticket UPDATE, so their cost is the life cycle's overhead over an
 * application writing the same UPDATE and history row itself (issue 10,
 * test/bench/lifecycle.sh).  The rules are unchanged: the same checks in the
 * same order, the same SQLSTATEs, messages and details.
 *
 * The tables are read through SPI with plans prepared once per backend and
 * kept; every query is schema-qualified and uses OPERATOR(pg_catalog.=), so
 * the caller's search_path cannot redirect it.  The history row is written
 * with the rights of the ticket table's owner (as the SECURITY DEFINER
 * PL/pgSQL function did), switching the user id only around that INSERT; the
 * guards of a transition are evaluated the same way, as the owner, around
 * their one query.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/xact.h"
#include "catalog/pg_type.h"
#include "commands/async.h"
#include "commands/trigger.h"
#include "common/int.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/guc.h"
#include "utils/rel.h"
#include "utils/timestamp.h"

#include "repairsys.h"

PG_FUNCTION_INFO_V1(ticket_transition_trg);
PG_FUNCTION_INFO_V1(ticket_log_trg);

/* The columns of repairsys.ticket the triggers read or write. */
enum
{
	C_ID,
	C_STATUS,
	C_TECHNICIAN,
	C_FIRST_RESPONSE,
	C_RESOLVED,
	C_CLOSED,
	C_STATUS_CHANGED,
	C_REOPEN,
	C_OPENED,
	C_CHANGED_BY,
	C_STATUS_ROLE,
	C_CENTER,
	N_COLS
};

static const char *const col_name[N_COLS] = {
	"id", "status", "technician_id", "first_response_at", "resolved_at",
	"closed_at", "status_changed_at", "reopen_count", "opened_at", "changed_by",
	"status_role", "service_center_id"
};

static const Oid col_type[N_COLS] = {
	INT8OID, TEXTOID, INT8OID, TIMESTAMPTZOID, TIMESTAMPTZOID,
	TIMESTAMPTZOID, TIMESTAMPTZOID, INT4OID, TIMESTAMPTZOID, NAMEOID,
	TEXTOID, INT8OID
};

/*
 * Attribute numbers of those columns, found once per backend and checked on
 * every call (name, type, not dropped), so a changed table is looked up again
 * instead of being misread.
 */
static Oid	cols_relid = InvalidOid;
static int	cols_attnum[N_COLS];

/*
 * Plans kept for the backend's life.  They are tied to one ticket relation
 * (the guard plan takes its row type): when the extension is dropped and
 * created again in the same session, the relation id changes and they are
 * prepared again.
 */
static Oid	plans_relid = InvalidOid;
static SPIPlanPtr plan_transition = NULL;
static SPIPlanPtr plan_guard = NULL;
static SPIPlanPtr plan_initial = NULL;
static SPIPlanPtr plan_log = NULL;

/*
 * Resolves (or re-checks) the attribute numbers of the ticket columns.
 */
static void
ticket_columns(Relation rel)
{
	TupleDesc	desc = RelationGetDescr(rel);
	bool		ok = (cols_relid == RelationGetRelid(rel));
	int			i;

	for (i = 0; ok && i < N_COLS; i++)
	{
		Form_pg_attribute att;

		if (cols_attnum[i] < 1 || cols_attnum[i] > desc->natts)
		{
			ok = false;
			break;
		}
		att = TupleDescAttr(desc, cols_attnum[i] - 1);
		if (att->attisdropped || att->atttypid != col_type[i] ||
			strcmp(NameStr(att->attname), col_name[i]) != 0)
			ok = false;
	}
	if (ok)
		return;

	cols_relid = InvalidOid;
	for (i = 0; i < N_COLS; i++)
	{
		int			attnum = SPI_fnumber(desc, col_name[i]);

		if (attnum < 1)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_COLUMN),
					 errmsg("table \"%s\" has no column \"%s\"",
							RelationGetRelationName(rel), col_name[i]),
					 errdetail("The ticket life-cycle triggers need it.")));
		if (TupleDescAttr(desc, attnum - 1)->atttypid != col_type[i])
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("column \"%s\" of table \"%s\" has type %s, expected %s",
							col_name[i], RelationGetRelationName(rel),
							format_type_be(TupleDescAttr(desc, attnum - 1)->atttypid),
							format_type_be(col_type[i]))));
		cols_attnum[i] = attnum;
	}
	cols_relid = RelationGetRelid(rel);
}

/*
 * Forgets the kept plans when the ticket relation is not the one they were
 * made for.  Must run inside an SPI connection.
 */
static void
check_plans(Relation rel)
{
	if (plans_relid == RelationGetRelid(rel))
		return;
	repairsys_forget_plan(&plan_transition);
	repairsys_forget_plan(&plan_guard);
	repairsys_forget_plan(&plan_initial);
	repairsys_forget_plan(&plan_log);
	plans_relid = RelationGetRelid(rel);
}

/* A column of a row. */
static inline Datum
col(HeapTuple tup, TupleDesc desc, int c, bool *isnull)
{
	return heap_getattr(tup, cols_attnum[c], desc, isnull);
}

/*
 * IS NOT DISTINCT FROM of one column in two rows (binary image: right for
 * the integer, timestamp, name and deterministic text columns compared).
 */
static bool
same_col(HeapTuple a, HeapTuple b, TupleDesc desc, int c)
{
	bool		na,
				nb;
	Datum		da = col(a, desc, c, &na);
	Datum		db = col(b, desc, c, &nb);
	Form_pg_attribute att = TupleDescAttr(desc, cols_attnum[c] - 1);

	if (na || nb)
		return na && nb;
	return datum_image_eq(da, db, att->attbyval, att->attlen);
}

/* Text of a column as a C string, or NULL. */
static char *
col_text(HeapTuple tup, TupleDesc desc, int c)
{
	bool		isnull;
	Datum		d = col(tup, desc, c, &isnull);

	return isnull ? NULL : TextDatumGetCString(d);
}

/*
 * Whether a change of a ticket's status is the cascade of a rename of its
 * state: the workflow's trigger on ticket_status says a rename is under way
 * (setting repairsys.renaming_status, local to the transaction) and the old
 * code no longer exists.  A user who sets the setting by hand changes
 * nothing: the old code of a real status change still exists.  Must run
 * inside an SPI connection.
 */
static bool
status_renamed(const char *old_status)
{
	const char *renaming = GetConfigOption("repairsys.renaming_status", true, false);
	Oid			types[1] = {TEXTOID};
	Datum		args[1];
	int			ret;

	if (renaming == NULL || strcmp(renaming, "on") != 0 || old_status == NULL)
		return false;
	args[0] = CStringGetTextDatum(old_status);
	/* (not read-only: a fresh snapshot, which sees the rename itself) */
	ret = SPI_execute_with_args("SELECT 1 FROM repairsys.ticket_status s"
								" WHERE s.code OPERATOR(pg_catalog.=) $1",
								1, types, args, NULL, false, 1);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "SPI_execute_with_args failed: %s", SPI_result_code_string(ret));
	return SPI_processed == 0;
}

/*
 * BEFORE UPDATE FOR EACH ROW trigger of repairsys.ticket.
 */
Datum
ticket_transition_trg(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	Relation	rel;
	TupleDesc	desc;
	HeapTuple	oldtup,
				newtup;
	int			repl_cols[N_COLS];
	Datum		repl_vals[N_COLS];
	bool		repl_nulls[N_COLS];
	int			nrepl = 0;
	Datum		user_name;
	bool		isnull;
	Datum		args[2];
	char		nulls[2];
	char	   *old_status,
			   *new_status;
	char	   *guard = NULL;
	bool		from_initial,
				to_initial,
				to_terminal,
				from_terminal;
	int			ret;
	int64		ticket_id;
	TimestampTz now = GetCurrentTransactionStartTimestamp();
	char		to_role[NAMEDATALEN] = "",
				from_role[NAMEDATALEN] = "";
	uint64		found;
	static const int protected_cols[] = {
		C_FIRST_RESPONSE, C_RESOLVED, C_CLOSED, C_STATUS_CHANGED, C_REOPEN,
		C_OPENED, C_CHANGED_BY, C_STATUS_ROLE
	};

	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("function \"%s\" was not called by trigger manager",
						"ticket_transition_trg")));
	if (!TRIGGER_FIRED_BEFORE(trigdata->tg_event) ||
		!TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event) ||
		!TRIGGER_FIRED_FOR_ROW(trigdata->tg_event))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("function \"%s\" must be fired BEFORE UPDATE FOR EACH ROW",
						"ticket_transition_trg")));

	rel = trigdata->tg_relation;
	desc = RelationGetDescr(rel);
	oldtup = trigdata->tg_trigtuple;
	newtup = trigdata->tg_newtuple;
	ticket_columns(rel);
	ticket_id = DatumGetInt64(col(oldtup, desc, C_ID, &isnull));

	/* the columns the life cycle owns are never set by hand */
	for (int i = 0; i < lengthof(protected_cols); i++)
		if (!same_col(oldtup, newtup, desc, protected_cols[i]))
			ereport(ERROR,
					(errcode(ERRCODE_GENERATED_ALWAYS),
					 errmsg("columns opened_at, first_response_at, resolved_at, closed_at, status_changed_at, reopen_count, changed_by and status_role of a ticket are set by repairsys"),
					 errdetail("Ticket " INT64_FORMAT " was not changed.", ticket_id)));

	/* changed_by := current_user (no new tuple when it already is) */
	user_name = DirectFunctionCall1(namein,
									CStringGetDatum(GetUserNameFromId(GetUserId(), false)));
	{
		Datum		cur = col(oldtup, desc, C_CHANGED_BY, &isnull);

		if (isnull || !datum_image_eq(cur, user_name, false, NAMEDATALEN))
		{
			repl_cols[nrepl] = cols_attnum[C_CHANGED_BY];
			repl_vals[nrepl] = user_name;
			repl_nulls[nrepl++] = false;
		}
	}

	if (same_col(oldtup, newtup, desc, C_STATUS))
	{
		if (nrepl == 0)
			return PointerGetDatum(newtup);
		return PointerGetDatum(heap_modify_tuple_by_cols(newtup, desc, nrepl,
														 repl_cols, repl_vals, repl_nulls));
	}

	old_status = col_text(oldtup, desc, C_STATUS);
	new_status = col_text(newtup, desc, C_STATUS);

	if ((ret = SPI_connect()) != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed: %s", SPI_result_code_string(ret));
	check_plans(rel);

	/* one look-up: the transition, and what its states are */
	if (plan_transition == NULL)
	{
		Oid			types[2] = {TEXTOID, TEXTOID};

		repairsys_plan(&plan_transition,
					   "SELECT x.guard, f.is_initial, t.is_initial, t.is_terminal, f.is_terminal,"
					   "       t.role, f.role"
					   "  FROM repairsys.ticket_transition x"
					   "  JOIN repairsys.ticket_status f ON f.code OPERATOR(pg_catalog.=) x.from_status"
					   "  JOIN repairsys.ticket_status t ON t.code OPERATOR(pg_catalog.=) x.to_status"
					   " WHERE x.from_status OPERATOR(pg_catalog.=) $1"
					   "   AND x.to_status OPERATOR(pg_catalog.=) $2 AND x.enabled",
					   2, types);
	}
	args[0] = old_status ? CStringGetTextDatum(old_status) : (Datum) 0;
	args[1] = new_status ? CStringGetTextDatum(new_status) : (Datum) 0;
	nulls[0] = old_status ? ' ' : 'n';
	nulls[1] = new_status ? ' ' : 'n';
	ret = SPI_execute_plan(plan_transition, args, nulls, true, 1);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "SPI_execute_plan failed: %s", SPI_result_code_string(ret));

	found = SPI_processed;
	if (found == 0 && status_renamed(old_status))
	{
		/*
		 * The state was renamed (ticket_status.code updated): the foreign
		 * key carries the new code to the ticket; nothing else changes.
		 */
		SPI_finish();
		if (nrepl == 0)
			return PointerGetDatum(newtup);
		return PointerGetDatum(heap_modify_tuple_by_cols(newtup, desc, nrepl,
														 repl_cols, repl_vals, repl_nulls));
	}

	if (found == 0)
	{
		/* refused: name the states that are allowed next */
		Oid			types[1] = {TEXTOID};
		Datum		nexts;

		ret = SPI_execute_with_args(
									"SELECT pg_catalog.string_agg(pg_catalog.format('\"%s\"', x.to_status), ', '"
									"                             ORDER BY s.sort_order, x.to_status)"
									"  FROM repairsys.ticket_transition x"
									"  JOIN repairsys.ticket_status s ON s.code OPERATOR(pg_catalog.=) x.to_status"
									" WHERE x.from_status OPERATOR(pg_catalog.=) $1 AND x.enabled",
									1, types, args, nulls, true, 1);
		if (ret != SPI_OK_SELECT || SPI_processed != 1)
			elog(ERROR, "SPI_execute_with_args failed: %s", SPI_result_code_string(ret));
		nexts = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
		ereport(ERROR,
				(errcode(ERRCODE_CHECK_VIOLATION),
				 errmsg("invalid ticket status transition from \"%s\" to \"%s\"",
						old_status ? old_status : "<NULL>",
						new_status ? new_status : "<NULL>"),
				 isnull ?
				 errdetail("No transition leaves status \"%s\".",
						   old_status ? old_status : "<NULL>") :
				 errdetail("Allowed next states from \"%s\": %s.",
						   old_status ? old_status : "<NULL>", TextDatumGetCString(nexts)),
				 errtablecol(rel, cols_attnum[C_STATUS])));
	}

	{
		HeapTuple	tr = SPI_tuptable->vals[0];
		TupleDesc	trdesc = SPI_tuptable->tupdesc;
		Datum		g = SPI_getbinval(tr, trdesc, 1, &isnull);
		Datum		r;

		if (!isnull)
			guard = TextDatumGetCString(g);
		from_initial = DatumGetBool(SPI_getbinval(tr, trdesc, 2, &isnull)) && !isnull;
		to_initial = DatumGetBool(SPI_getbinval(tr, trdesc, 3, &isnull)) && !isnull;
		to_terminal = DatumGetBool(SPI_getbinval(tr, trdesc, 4, &isnull)) && !isnull;
		from_terminal = DatumGetBool(SPI_getbinval(tr, trdesc, 5, &isnull)) && !isnull;

		/* (copied: SPI's memory goes at SPI_finish) */
		r = SPI_getbinval(tr, trdesc, 6, &isnull);
		if (!isnull)
			text_to_cstring_buffer(DatumGetTextPP(r), to_role, sizeof(to_role));
		r = SPI_getbinval(tr, trdesc, 7, &isnull);
		if (!isnull)
			text_to_cstring_buffer(DatumGetTextPP(r), from_role, sizeof(from_role));
	}

	if (to_initial)
	{
		/* back to the queue: unassigned */
		repl_cols[nrepl] = cols_attnum[C_TECHNICIAN];
		repl_vals[nrepl] = (Datum) 0;
		repl_nulls[nrepl++] = true;
	}

	if (guard != NULL)
	{
		/* the guard sees the row as it will be written so far */
		HeapTuple	candidate = nrepl == 0 ? newtup :
			heap_modify_tuple_by_cols(newtup, desc, nrepl, repl_cols, repl_vals, repl_nulls);
		Datum		gargs[2];
		Oid			save_userid;
		int			save_sec_context;

		if (plan_guard == NULL)
		{
			Oid			types[2] = {TEXTOID, rel->rd_rel->reltype};

			repairsys_plan(&plan_guard, "SELECT repairsys.check_guard($1, $2)", 2, types);
		}
		gargs[0] = CStringGetTextDatum(guard);
		gargs[1] = heap_copy_tuple_as_datum(candidate, desc);

		/*
		 * Guards read bills, invoices and payments the caller may not see:
		 * they run with the rights of the ticket table's owner, as the history
		 * INSERT below does, and only here (repairsys.check_guard is not
		 * SECURITY DEFINER and nobody else may execute it, so no role can hand
		 * it a row of its own making).  Restricted: the guards only read.  On
		 * an error the transaction's abort puts the user id back.
		 */
		GetUserIdAndSecContext(&save_userid, &save_sec_context);
		SetUserIdAndSecContext(rel->rd_rel->relowner,
							   save_sec_context | SECURITY_LOCAL_USERID_CHANGE |
							   SECURITY_RESTRICTED_OPERATION);
		ret = SPI_execute_plan(plan_guard, gargs, NULL, false, 1);
		SetUserIdAndSecContext(save_userid, save_sec_context);
		if (ret != SPI_OK_SELECT || SPI_processed != 1)
			elog(ERROR, "SPI_execute_plan failed: %s", SPI_result_code_string(ret));
		{
			Datum		reason = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);

			if (!isnull)
				ereport(ERROR,
						(errcode(ERRCODE_CHECK_VIOLATION),
						 errmsg("guard \"%s\" failed for ticket " INT64_FORMAT ": %s",
								guard, ticket_id, TextDatumGetCString(reason)),
						 errdetail("The transition from \"%s\" to \"%s\" requires it.",
								   old_status, new_status),
						 errtablecol(rel, cols_attnum[C_STATUS])));
		}
	}

	SPI_finish();

	/* the role of the new state, for the rules and reports that read it */
	repl_cols[nrepl] = cols_attnum[C_STATUS_ROLE];
	repl_vals[nrepl] = CStringGetTextDatum(to_role);
	repl_nulls[nrepl++] = false;

	/* the stamps */
	repl_cols[nrepl] = cols_attnum[C_STATUS_CHANGED];
	repl_vals[nrepl] = TimestampTzGetDatum(now);
	repl_nulls[nrepl++] = false;
	if (from_initial)
	{
		col(oldtup, desc, C_FIRST_RESPONSE, &isnull);
		if (isnull)
		{
			repl_cols[nrepl] = cols_attnum[C_FIRST_RESPONSE];
			repl_vals[nrepl] = TimestampTzGetDatum(now);
			repl_nulls[nrepl++] = false;
		}
	}
	if (strcmp(to_role, "resolved") == 0)
	{
		repl_cols[nrepl] = cols_attnum[C_RESOLVED];
		repl_vals[nrepl] = TimestampTzGetDatum(now);
		repl_nulls[nrepl++] = false;
	}
	else if (strcmp(from_role, "resolved") == 0 && !to_terminal)
	{
		/* reopened */
		int32		reopen = DatumGetInt32(col(oldtup, desc, C_REOPEN, &isnull));

		repl_cols[nrepl] = cols_attnum[C_RESOLVED];
		repl_vals[nrepl] = (Datum) 0;
		repl_nulls[nrepl++] = true;
		repl_cols[nrepl] = cols_attnum[C_REOPEN];
		if (isnull)
		{
			repl_vals[nrepl] = (Datum) 0;
			repl_nulls[nrepl++] = true;
		}
		else
		{
			if (pg_add_s32_overflow(reopen, 1, &reopen))
				ereport(ERROR,
						(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
						 errmsg("integer out of range")));
			repl_vals[nrepl] = Int32GetDatum(reopen);
			repl_nulls[nrepl++] = false;
		}
	}
	if (to_terminal)
	{
		/* closing keeps when it was resolved */
		repl_cols[nrepl] = cols_attnum[C_CLOSED];
		repl_vals[nrepl] = TimestampTzGetDatum(now);
		repl_nulls[nrepl++] = false;
	}
	else if (from_terminal)
	{
		/*
		 * reopened from a finished state (a transition an administrator
		 * added): open again, so closed_at is NULL exactly while the status
		 * is not terminal
		 */
		repl_cols[nrepl] = cols_attnum[C_CLOSED];
		repl_vals[nrepl] = (Datum) 0;
		repl_nulls[nrepl++] = true;
	}

	return PointerGetDatum(heap_modify_tuple_by_cols(newtup, desc, nrepl,
													 repl_cols, repl_vals, repl_nulls));
}

/*
 * AFTER INSERT OR UPDATE FOR EACH ROW trigger of repairsys.ticket.
 */
Datum
ticket_log_trg(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	Relation	rel;
	TupleDesc	desc;
	HeapTuple	newtup;
	char	   *from_status = NULL;
	char	   *to_status;
	const char *note;
	bool		isnull;
	int			ret;
	Datum		args[8];
	char		nulls[8];
	Oid			save_userid;
	int			save_sec_context;
	int64		event_id;
	char		payload[32];

	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("function \"%s\" was not called by trigger manager",
						"ticket_log_trg")));
	if (!TRIGGER_FIRED_AFTER(trigdata->tg_event) ||
		!TRIGGER_FIRED_FOR_ROW(trigdata->tg_event) ||
		!(TRIGGER_FIRED_BY_INSERT(trigdata->tg_event) ||
		  TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event)))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("function \"%s\" must be fired AFTER INSERT OR UPDATE FOR EACH ROW",
						"ticket_log_trg")));

	rel = trigdata->tg_relation;
	desc = RelationGetDescr(rel);
	ticket_columns(rel);

	if (TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event))
	{
		HeapTuple	oldtup = trigdata->tg_trigtuple;

		newtup = trigdata->tg_newtuple;
		if (same_col(oldtup, newtup, desc, C_STATUS) &&
			same_col(oldtup, newtup, desc, C_TECHNICIAN))
			return PointerGetDatum(NULL);
		from_status = col_text(oldtup, desc, C_STATUS);
		if (!same_col(oldtup, newtup, desc, C_STATUS) &&
			same_col(oldtup, newtup, desc, C_STATUS_CHANGED) &&
			same_col(oldtup, newtup, desc, C_TECHNICIAN))
		{
			/*
			 * A status change that did not move status_changed_at: only a
			 * rename of the state does that (the history follows the rename
			 * by itself); a second real change within one transaction moves
			 * nothing either, so ask.
			 */
			bool		renamed;

			if ((ret = SPI_connect()) != SPI_OK_CONNECT)
				elog(ERROR, "SPI_connect failed: %s", SPI_result_code_string(ret));
			renamed = status_renamed(from_status);
			SPI_finish();
			if (renamed)
				return PointerGetDatum(NULL);
		}
	}
	else
	{
		Datum		changed;

		/*
		 * A ticket restored or migrated by the owner brings its history with
		 * it: only a ticket opened now, in the initial state, gets its
		 * opening event here.
		 */
		newtup = trigdata->tg_trigtuple;
		changed = col(newtup, desc, C_STATUS_CHANGED, &isnull);
		if (isnull || DatumGetTimestampTz(changed) != GetCurrentTransactionStartTimestamp())
			return PointerGetDatum(NULL);
	}
	to_status = col_text(newtup, desc, C_STATUS);

	if ((ret = SPI_connect()) != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed: %s", SPI_result_code_string(ret));
	check_plans(rel);

	if (TRIGGER_FIRED_BY_INSERT(trigdata->tg_event))
	{
		bool		initial = false;

		if (plan_initial == NULL)
		{
			Oid			types[1] = {TEXTOID};

			repairsys_plan(&plan_initial, "SELECT s.is_initial FROM repairsys.ticket_status s"
						   " WHERE s.code OPERATOR(pg_catalog.=) $1", 1, types);
		}
		args[0] = to_status ? CStringGetTextDatum(to_status) : (Datum) 0;
		nulls[0] = to_status ? ' ' : 'n';
		ret = SPI_execute_plan(plan_initial, args, nulls, true, 1);
		if (ret != SPI_OK_SELECT)
			elog(ERROR, "SPI_execute_plan failed: %s", SPI_result_code_string(ret));
		if (SPI_processed == 1)
			initial = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull)) && !isnull;
		if (!initial)
		{
			SPI_finish();
			return PointerGetDatum(NULL);
		}
	}

	note = GetConfigOption("repairsys.note", true, false);
	if (note != NULL && note[0] == '\0')
		note = NULL;

	if (plan_log == NULL)
	{
		Oid			types[8] = {INT8OID, TEXTOID, TEXTOID, NAMEOID, TEXTOID, INT8OID, TEXTOID, INT8OID};

		/*
		 * The history row and, in the same statement, its event in the
		 * durable log (repairsys.event, docs/events.md): one statement, so
		 * the log costs one more row, not one more query.
		 */
		repairsys_plan(&plan_log, "WITH h AS (INSERT INTO repairsys.ticket_event"
							 " (ticket_id, from_status, to_status, at, actor, note, technician_id)"
							 " VALUES ($1, $2, $3, pg_catalog.now(), $4, $5, $6)"
							 " RETURNING id, at)"
							 " INSERT INTO repairsys.event (id, at, kind, ticket_id, service_center_id, payload)"
							 " SELECT repairsys.next_event_id(), h.at,"
							 " CASE WHEN $2 IS NULL THEN 'ticket_opened'"
							 " WHEN $2 OPERATOR(pg_catalog.=) $3 THEN 'technician_changed'"
							 " ELSE 'status_changed' END, $1, $8,"
							 " pg_catalog.jsonb_build_object('history_id', h.id, 'from', $2, 'to', $3,"
							 " 'role', $7, 'technician_id', $6, 'actor', $4, 'note', $5)"
							 " FROM h"
							 " RETURNING (payload OPERATOR(pg_catalog.->>) 'history_id')::pg_catalog.int8", 8, types);
	}
	args[0] = col(newtup, desc, C_ID, &isnull);
	nulls[0] = isnull ? 'n' : ' ';
	args[1] = from_status ? CStringGetTextDatum(from_status) : (Datum) 0;
	nulls[1] = from_status ? ' ' : 'n';
	args[2] = to_status ? CStringGetTextDatum(to_status) : (Datum) 0;
	nulls[2] = to_status ? ' ' : 'n';
	args[3] = col(newtup, desc, C_CHANGED_BY, &isnull);
	nulls[3] = isnull ? 'n' : ' ';
	args[4] = note ? CStringGetTextDatum(note) : (Datum) 0;
	nulls[4] = note ? ' ' : 'n';
	args[5] = col(newtup, desc, C_TECHNICIAN, &isnull);
	nulls[5] = isnull ? 'n' : ' ';
	args[6] = col(newtup, desc, C_STATUS_ROLE, &isnull);
	nulls[6] = isnull ? 'n' : ' ';
	args[7] = col(newtup, desc, C_CENTER, &isnull);
	nulls[7] = isnull ? 'n' : ' ';

	/* the history is written with the rights of the tables' owner */
	GetUserIdAndSecContext(&save_userid, &save_sec_context);
	SetUserIdAndSecContext(rel->rd_rel->relowner,
						   save_sec_context | SECURITY_LOCAL_USERID_CHANGE);
	ret = SPI_execute_plan(plan_log, args, nulls, false, 0);
	SetUserIdAndSecContext(save_userid, save_sec_context);
	if (ret != SPI_OK_INSERT_RETURNING || SPI_processed != 1)
		elog(ERROR, "SPI_execute_plan failed: %s", SPI_result_code_string(ret));
	event_id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	if (isnull)
		elog(ERROR, "repairsys.ticket_event row without an id");
	SPI_finish();

	/*
	 * The payload is the id of the new history row, nothing else: every role
	 * that can connect hears every notification on the channel, and any role
	 * can send one (docs/security.md).  Listeners read the row, under their
	 * own role, from repairsys.ticket_event.
	 */
	snprintf(payload, sizeof(payload), INT64_FORMAT, event_id);
	PreventCommandDuringRecovery("NOTIFY");
	Async_Notify("repairsys_events", payload);

	return PointerGetDatum(NULL);
}
