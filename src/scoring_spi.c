/*
 * scoring_spi.c
 *		The SPI reader behind repairsys.candidates(ticket_id, policy): reads
 *		the ticket, the policy and every technician with his load and skill
 *		level through plans prepared once per backend, and scores them with
 *		the kernel of scoring.c.
 *
 * The technician rows go straight from the executor's slots into a C array
 * (a DestReceiver, no tuple copies) and are joined on the technician id in
 * a small hash index.  Every query is schema-qualified, with
 * OPERATOR(pg_catalog....): no search_path involved.  docs/assignment.md
 * describes the function.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "executor/tuptable.h"
#include "fmgr.h"
#include "nodes/params.h"
#include "tcop/dest.h"
#include "utils/array.h"
#include "utils/builtins.h"

#include "repairsys.h"
#include "scoring.h"

PG_FUNCTION_INFO_V1(rs_candidates);

/*
 * The plans of rs_candidates (repairsys_plan: prepared on the backend's first
 * call and kept): the ticket, the policy, and the three scans of the
 * technicians, their load and their skill levels.
 */
static SPIPlanPtr cand_plan_ticket = NULL;
static SPIPlanPtr cand_plan_policy = NULL;
static SPIPlanPtr cand_plan_techs = NULL;
static SPIPlanPtr cand_plan_load = NULL;
static SPIPlanPtr cand_plan_skill = NULL;

/* A column of an SPI result row, NULL as *isnull. */
static inline Datum
spi_col(HeapTuple tup, TupleDesc desc, int col, bool *isnull)
{
	return SPI_getbinval(tup, desc, col, isnull);
}

/*
 * Technician id -> position in the technicians array: open addressing with
 * linear probing (a slot holds position + 1; 0 is empty).
 */
typedef struct TechIndex
{
	int32	   *slot;
	uint64		mask;
	const RsTech *techs;
} TechIndex;

/* Fibonacci hashing of a technician id, high bits folded into the low ones. */
static inline uint64
tech_hash(int64 id)
{
	uint64		h = ((uint64) id) * UINT64CONST(0x9E3779B97F4A7C15);

	return h ^ (h >> 29);
}

/* Indexes n technicians by id. */
static void
tech_index_build(TechIndex *ix, const RsTech *techs, int n)
{
	uint64		size = 16;
	int			i;

	while (size < (uint64) n * 2)
		size <<= 1;
	ix->slot = (int32 *) palloc0(sizeof(int32) * size);
	ix->mask = size - 1;
	ix->techs = techs;
	for (i = 0; i < n; i++)
	{
		uint64		h = tech_hash(techs[i].id) & ix->mask;

		while (ix->slot[h] != 0)
			h = (h + 1) & ix->mask;
		ix->slot[h] = i + 1;
	}
}

/* Position of a technician, or -1. */
static inline int
tech_index_find(const TechIndex *ix, int64 id)
{
	uint64		h = tech_hash(id) & ix->mask;

	while (ix->slot[h] != 0)
	{
		int			k = ix->slot[h] - 1;

		if (ix->techs[k].id == id)
			return k;
		h = (h + 1) & ix->mask;
	}
	return -1;
}

/* What a TechDest receives: technicians, their load, or their skill level. */
typedef enum
{
	TD_TECHS,
	TD_LOAD,
	TD_SKILL
} TechDestKind;

typedef struct TechDest
{
	DestReceiver pub;
	TechDestKind kind;
	RsTech	   *techs;			/* TD_TECHS fills, the others update */
	int			n;
	int			cap;
	TechIndex  *index;
	MemoryContext cxt;			/* where techs lives: not the executor's
								 * per-query memory, freed when each query
								 * ends */
} TechDest;

static void
tech_startup(DestReceiver *self, int operation, TupleDesc typeinfo)
{
}

static void
tech_shutdown(DestReceiver *self)
{
}

/* One row of one of the three scans, read straight from the slot. */
static bool
tech_receive(TupleTableSlot *slot, DestReceiver *self)
{
	TechDest   *d = (TechDest *) self;
	Datum	   *v;
	bool	   *nl;

	slot_getallattrs(slot);
	v = slot->tts_values;
	nl = slot->tts_isnull;
	if (d->kind == TD_TECHS)
	{
		RsTech	   *t;

		if (d->n == d->cap)
		{
			d->cap = d->cap == 0 ? 1024 : d->cap * 2;
			d->techs = d->techs == NULL ? (RsTech *) MemoryContextAlloc(d->cxt, sizeof(RsTech) * d->cap)
				: (RsTech *) repalloc(d->techs, sizeof(RsTech) * d->cap);
		}
		t = &d->techs[d->n++];
		memset(t, 0, sizeof(RsTech));
		t->id = DatumGetInt64(v[0]);
		t->active = !nl[1] && DatumGetBool(v[1]);
		t->has_center = !nl[2];
		t->center = nl[2] ? 0 : DatumGetInt64(v[2]);
		t->has_location = !nl[3] && !nl[4];
		if (t->has_location)
		{
			t->lat = DatumGetFloat8(v[3]);
			t->lon = DatumGetFloat8(v[4]);
			repairsys_check_coordinates(t->lat, t->lon);
		}
		t->capacity = nl[5] ? 0 : DatumGetInt32(v[5]);
	}
	else
	{
		int			k = tech_index_find(d->index, DatumGetInt64(v[0]));

		if (k < 0)
			return true;		/* not among the technicians read */
		if (d->kind == TD_LOAD)
		{
			RsTech	   *t = &d->techs[k];
			int32		count = nl[2] ? 0 : DatumGetInt32(v[2]);

			t->open = nl[1] ? 0 : DatumGetInt32(v[1]);
			t->has_rating = count > 0 && !nl[3];
			t->rating = t->has_rating ? (double) DatumGetInt64(v[3]) / (double) count : 0.0;
		}
		else
			d->techs[k].level = nl[1] ? 0 : DatumGetInt32(v[1]);
	}
	return true;
}

/* Runs a kept plan (at most one text parameter) into a TechDest. */
static void
run_into(SPIPlanPtr plan, const char *textarg, TechDest *dest)
{
	SPIExecuteOptions options;
	ParamListInfo params = NULL;
	int			ret;

	if (textarg != NULL)
	{
		params = makeParamList(1);
		params->params[0].value = CStringGetTextDatum(textarg);
		params->params[0].isnull = false;
		params->params[0].pflags = PARAM_FLAG_CONST;
		params->params[0].ptype = TEXTOID;
	}
	memset(&options, 0, sizeof(options));
	options.params = params;
	options.read_only = true;
	options.dest = (DestReceiver *) dest;
	ret = SPI_execute_plan_extended(plan, &options);
	/* (SPI says SPI_OK_UTILITY for a SELECT whose receiver is not its own) */
	if (ret != SPI_OK_SELECT && ret != SPI_OK_UTILITY)
		elog(ERROR, "SPI_execute_plan_extended failed: %s", SPI_result_code_string(ret));
}

/*
 * repairsys.candidates(ticket_id bigint, policy text) returns setof
 * (technician_id, eligible, reason, score, skill_score, distance_km,
 * distance_score, load, load_score, rating_score, continuity_score,
 * open_tickets, capacity), best first.
 *
 * Reads through SPI, with plans kept per backend, the ticket (with its
 * status, service type and continuity), the policy, and then in three scans
 * every technician, his load (repairsys.technician_load) and his level in the
 * required skill, joined here on the technician id; scores with the kernel
 * (scoring.c) and writes the rows.  Errors: unknown ticket or policy 22023,
 * a ticket in a terminal status 23514, a NULL argument 22004.  Every query
 * is schema-qualified, with OPERATOR(pg_catalog....): no search_path
 * involved.
 */
Datum
rs_candidates(PG_FUNCTION_ARGS)
{
	int64		ticket_id;
	text	   *policy_name;
	Tuplestorestate *store;
	TupleDesc	tupdesc;
	RsPolicy	policy;
	RsTicket	ticket;
	char	   *skill = NULL;
	char	   *status;
	int64		own_tech = 0;
	bool		own_open;
	bool		isnull;
	RsTech	   *techs;
	Datum		args[2];
	int			ret;
	int			n;
	int			i;
	HeapTuple	tup;
	TupleDesc	desc;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("the ticket and the policy of candidates() must not be null")));
	ticket_id = PG_GETARG_INT64(0);
	policy_name = PG_GETARG_TEXT_PP(1);
	store = repairsys_materialize(fcinfo, &tupdesc);

	if ((ret = SPI_connect()) != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed: %s", SPI_result_code_string(ret));

	/* the ticket, its status, service type and continuity */
	if (cand_plan_ticket == NULL)
	{
		Oid			types[1] = {INT8OID};

		repairsys_plan(&cand_plan_ticket,
					   "SELECT x.status, x.lat, x.lon, x.service_center_id, x.technician_id,"
					   "       x.closed_at IS NULL, s.is_terminal, st.required_skill, st.min_skill_level,"
					   "       repairsys.continuity_technicians(x)"
					   "  FROM repairsys.ticket x"
					   "  LEFT JOIN repairsys.ticket_status s ON s.code OPERATOR(pg_catalog.=) x.status"
					   "  LEFT JOIN repairsys.service_type st ON st.code OPERATOR(pg_catalog.=) x.service_type"
					   " WHERE x.id OPERATOR(pg_catalog.=) $1", 1, types);
	}
	args[0] = Int64GetDatum(ticket_id);
	ret = SPI_execute_plan(cand_plan_ticket, args, NULL, true, 1);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "SPI_execute_plan failed: %s", SPI_result_code_string(ret));
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("ticket " INT64_FORMAT " does not exist", ticket_id)));
	tup = SPI_tuptable->vals[0];
	desc = SPI_tuptable->tupdesc;
	memset(&ticket, 0, sizeof(ticket));
	status = TextDatumGetCString(spi_col(tup, desc, 1, &isnull));
	{
		bool		n1,
					n2;
		Datum		lat = spi_col(tup, desc, 2, &n1);
		Datum		lon = spi_col(tup, desc, 3, &n2);

		ticket.has_location = !n1 && !n2;
		if (ticket.has_location)
		{
			ticket.lat = DatumGetFloat8(lat);
			ticket.lon = DatumGetFloat8(lon);
			repairsys_check_coordinates(ticket.lat, ticket.lon);
		}
	}
	{
		Datum		c = spi_col(tup, desc, 4, &isnull);

		ticket.has_center = !isnull;
		ticket.center = isnull ? 0 : DatumGetInt64(c);
	}
	{
		Datum		t = spi_col(tup, desc, 5, &isnull);

		own_tech = isnull ? 0 : DatumGetInt64(t);
	}
	own_open = DatumGetBool(spi_col(tup, desc, 6, &isnull)) && !isnull;
	{
		Datum		sk = spi_col(tup, desc, 8, &isnull);

		ticket.needs_skill = !isnull;
		if (!isnull)
			skill = TextDatumGetCString(sk);
	}
	{
		Datum		ml = spi_col(tup, desc, 9, &isnull);

		ticket.min_level = isnull ? 1 : DatumGetInt32(ml);
	}
	{
		Datum		ct = spi_col(tup, desc, 10, &isnull);

		if (!isnull)
		{
			ArrayType  *cont = DatumGetArrayTypeP(ct);
			Datum	   *cv;
			bool	   *cn;
			int			nc = repairsys_array_len(cont, INT8OID, "continuity");

			repairsys_array_datums(cont, INT8OID, nc, "continuity", &cv, &cn);
			for (i = 0; i < nc && i < 2; i++)
				ticket.continuity[i] = cn[i] ? 0 : DatumGetInt64(cv[i]);
		}
	}

	/* the policy (unknown: 22023 from assign_policy_row) */
	if (cand_plan_policy == NULL)
	{
		Oid			types[1] = {TEXTOID};

		repairsys_plan(&cand_plan_policy, "SELECT repairsys.assign_policy_row($1)", 1, types);
	}
	args[0] = PointerGetDatum(policy_name);
	ret = SPI_execute_plan(cand_plan_policy, args, NULL, true, 1);
	if (ret != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "SPI_execute_plan failed: %s", SPI_result_code_string(ret));
	{
		Datum		p = spi_col(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);

		if (isnull)
			elog(ERROR, "assign_policy_row returned NULL");
		repairsys_policy_from_datum(p, &policy);
	}

	/* a finished ticket takes no technician */
	if (DatumGetBool(spi_col(tup, desc, 7, &isnull)) && !isnull)
		ereport(ERROR,
				(errcode(ERRCODE_CHECK_VIOLATION),
				 errmsg("ticket " INT64_FORMAT " is in terminal status \"%s\"", ticket_id, status),
				 errdetail("A finished ticket takes no technician.")));

	/*
	 * Every technician, his load and his level in the required skill: three
	 * sequential scans whose rows go straight into C arrays (a DestReceiver,
	 * no tuple copies), joined here on the technician id.
	 */
	if (cand_plan_techs == NULL)
		repairsys_plan(&cand_plan_techs, "SELECT te.id, te.active, te.service_center_id, te.lat, te.lon, te.capacity"
					   "  FROM repairsys.technician te", 0, NULL);
	if (cand_plan_load == NULL)
		repairsys_plan(&cand_plan_load, "SELECT l.technician_id, l.open_tickets, l.rating_count, l.rating_sum"
					   "  FROM repairsys.technician_load l", 0, NULL);
	if (cand_plan_skill == NULL)
	{
		Oid			types[1] = {TEXTOID};

		repairsys_plan(&cand_plan_skill, "SELECT sk.technician_id, sk.level FROM repairsys.technician_skill sk"
					   " WHERE sk.skill OPERATOR(pg_catalog.=) $1", 1, types);
	}
	{
		TechDest	dest;
		TechIndex	index;

		memset(&dest, 0, sizeof(dest));
		dest.pub.receiveSlot = tech_receive;
		dest.pub.rStartup = tech_startup;
		dest.pub.rShutdown = tech_shutdown;
		dest.pub.rDestroy = tech_shutdown;
		dest.pub.mydest = DestNone;
		dest.cxt = CurrentMemoryContext;

		dest.kind = TD_TECHS;
		run_into(cand_plan_techs, NULL, &dest);
		n = dest.n;
		techs = dest.techs;
		tech_index_build(&index, techs, n);

		dest.kind = TD_LOAD;
		dest.index = &index;
		run_into(cand_plan_load, NULL, &dest);
		if (skill != NULL)
		{
			dest.kind = TD_SKILL;
			run_into(cand_plan_skill, skill, &dest);
		}
		/* the ticket being scored is not part of its technician's load */
		if (own_open && own_tech != 0)
		{
			int			k = tech_index_find(&index, own_tech);

			if (k >= 0 && techs[k].open > 0)
				techs[k].open--;
		}
	}

	repairsys_score_and_emit(store, tupdesc, &policy, &ticket, skill, techs, n);
	SPI_finish();
	return (Datum) 0;
}
