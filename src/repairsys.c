/*
 * repairsys.c
 *		Module entry point of the repairsys extension, and the helpers every
 *		C file shares (declared in repairsys.h): set-returning-function
 *		materialization, the per-backend cache of prepared SPI plans and the
 *		readers of array arguments.
 *
 * The types and kernels live in one file per concern: fee_tier.c,
 * sla_interval.c and sla_calendar.c, scoring.c and scoring_spi.c, assign.c,
 * route.c, forecast.c, lifecycle.c.
 */
#include "postgres.h"

#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/lsyscache.h"
#include "utils/tuplestore.h"

#include "repairsys.h"

PG_MODULE_MAGIC;

/*
 * Sets up materialize mode for a set-returning function: checks that the
 * caller accepts a materialized set (0A000 otherwise) and that the function
 * returns a row type, and returns an empty store for the rows, whose
 * descriptor is *tupdesc_out.  Both live in the per-query memory, so they
 * outlast the call.
 */
Tuplestorestate *
repairsys_materialize(FunctionCallInfo fcinfo, TupleDesc *tupdesc_out)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	MemoryContext oldcxt;
	TupleDesc	tupdesc;
	Tuplestorestate *store;

	if (rsinfo == NULL || !IsA(rsinfo, ReturnSetInfo) ||
		(rsinfo->allowedModes & SFRM_Materialize) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("set-valued function called in context that cannot accept a set")));
	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("function returning record called in context that cannot accept type record")));
	oldcxt = MemoryContextSwitchTo(rsinfo->econtext->ecxt_per_query_memory);
	tupdesc = CreateTupleDescCopy(tupdesc);
	store = tuplestore_begin_heap(true, false, work_mem);
	MemoryContextSwitchTo(oldcxt);
	rsinfo->returnMode = SFRM_Materialize;
	rsinfo->setResult = store;
	rsinfo->setDesc = tupdesc;
	*tupdesc_out = tupdesc;
	return store;
}

/*
 * The plan kept in *cache (a static of the caller, one per query), prepared
 * and kept for the backend's life on first use.  Must run inside an SPI
 * connection.  The queries are fixed texts: a failure to prepare one is a
 * bug, not a user's error (XX000).
 */
SPIPlanPtr
repairsys_plan(SPIPlanPtr *cache, const char *sql, int nargs, Oid *argtypes)
{
	SPIPlanPtr	plan;

	if (*cache != NULL)
		return *cache;
	plan = SPI_prepare(sql, nargs, argtypes);
	if (plan == NULL)
		elog(ERROR, "SPI_prepare failed for \"%s\": %s", sql,
			 SPI_result_code_string(SPI_result));
	if (SPI_keepplan(plan) != 0)
		elog(ERROR, "SPI_keepplan failed");
	*cache = plan;
	return plan;
}

/* Frees the plan kept in *cache, if any; the next repairsys_plan prepares it again. */
void
repairsys_forget_plan(SPIPlanPtr *cache)
{
	if (*cache != NULL)
		SPI_freeplan(*cache);
	*cache = NULL;
}

/*
 * Number of elements of a one-dimensional array argument (an empty array
 * counts 0); anything of more dimensions is refused (22023), an array of
 * another element type too (42804).
 */
int
repairsys_array_len(ArrayType *arr, Oid elemtype, const char *argname)
{
	if (ARR_ELEMTYPE(arr) != elemtype)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("argument \"%s\" has the wrong element type", argname)));
	if (ARR_NDIM(arr) == 0)
		return 0;
	if (ARR_NDIM(arr) != 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("argument \"%s\" must be a one-dimensional array", argname)));
	return ARR_DIMS(arr)[0];
}

/*
 * Deconstructs a one-dimensional array argument that must have exactly
 * "expected" elements (NULL elements allowed; the caller checks *nulls).
 * An empty array gives *values and *nulls NULL.
 */
void
repairsys_array_datums(ArrayType *arr, Oid elemtype, int expected, const char *argname,
					   Datum **values, bool **nulls)
{
	int16		typlen;
	bool		typbyval;
	char		typalign;
	int			n;

	n = repairsys_array_len(arr, elemtype, argname);
	if (n != expected)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("argument \"%s\" has %d elements, expected %d", argname, n, expected)));
	if (n == 0)
	{
		*values = NULL;
		*nulls = NULL;
		return;
	}
	get_typlenbyvalalign(elemtype, &typlen, &typbyval, &typalign);
	deconstruct_array(arr, elemtype, typlen, typbyval, typalign, values, nulls, &n);
}
