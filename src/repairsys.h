/*
 * repairsys.h
 *		What every C file of the module may need and none should write again
 *		(implemented in repairsys.c): the soft-error shim of input functions
 *		across PostgreSQL 15 to 18, the set-returning-function
 *		materialization, the per-backend cache of prepared SPI plans, one
 *		argument-array reader, and the macro that generates the comparison
 *		functions of a type.
 *
 * Every extern symbol of the module that is not bound to an SQL function is
 * named repairsys_* (`nm -D --defined-only repairsys.so` shows them); the
 * SQL-callable ones keep the names the install scripts bind.
 */
#ifndef REPAIRSYS_H
#define REPAIRSYS_H

#include "postgres.h"

#include "access/tupdesc.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "utils/array.h"
#include "utils/tuplestore.h"

/*
 * Soft input errors.  On PostgreSQL 16 and later an input function reports
 * a bad value with ereturn(fcinfo->context, dummy, ...): into the caller's
 * ErrorSaveContext when there is one (pg_input_is_valid(), COPY ... ON_ERROR),
 * else as an ERROR.  Before 16 there is no such context and every input
 * error throws; the shim below keeps one spelling for all servers.
 */
#if PG_VERSION_NUM >= 160000
#include "nodes/miscnodes.h"
#else
#define ereturn(context, dummy_value, ...) \
	do { \
		(void) (context); \
		ereport(ERROR, __VA_ARGS__); \
		return dummy_value; \
	} while (0)
#endif

/*
 * The seven comparison functions of a varlena type, declared and defined
 * from its three-way comparison compare(a, b) (-1, 0, 1): PREFIX_cmp (btree
 * support, that result) and PREFIX_eq, _ne, _lt, _le, _gt, _ge.  GETARG
 * detoasts an argument; the detoasted copies are freed before returning
 * (PG_FREE_IF_COPY), so a sort or a hash join over millions of toasted
 * values does not keep one copy per comparison.
 */
#define REPAIRSYS_COMPARISON_FUNC(name, type, getarg, compare, ret) \
PG_FUNCTION_INFO_V1(name); \
Datum \
name(PG_FUNCTION_ARGS) \
{ \
	type	   *a = getarg(0); \
	type	   *b = getarg(1); \
	int			c = compare(a, b); \
	PG_FREE_IF_COPY(a, 0); \
	PG_FREE_IF_COPY(b, 1); \
	ret; \
}

#define REPAIRSYS_COMPARISON_FUNCS(prefix, type, getarg, compare) \
REPAIRSYS_COMPARISON_FUNC(prefix##_cmp, type, getarg, compare, PG_RETURN_INT32(c)) \
REPAIRSYS_COMPARISON_FUNC(prefix##_eq, type, getarg, compare, PG_RETURN_BOOL(c == 0)) \
REPAIRSYS_COMPARISON_FUNC(prefix##_ne, type, getarg, compare, PG_RETURN_BOOL(c != 0)) \
REPAIRSYS_COMPARISON_FUNC(prefix##_lt, type, getarg, compare, PG_RETURN_BOOL(c < 0)) \
REPAIRSYS_COMPARISON_FUNC(prefix##_le, type, getarg, compare, PG_RETURN_BOOL(c <= 0)) \
REPAIRSYS_COMPARISON_FUNC(prefix##_gt, type, getarg, compare, PG_RETURN_BOOL(c > 0)) \
REPAIRSYS_COMPARISON_FUNC(prefix##_ge, type, getarg, compare, PG_RETURN_BOOL(c >= 0))

/* Set-returning functions: sets up materialize mode, returns the store. */
extern Tuplestorestate *repairsys_materialize(FunctionCallInfo fcinfo, TupleDesc *tupdesc_out);

/*
 * The plan in *cache, prepared and kept (SPI_keepplan) on the first call of
 * the backend; must run inside an SPI connection.  repairsys_forget_plan
 * frees a cached plan so the next repairsys_plan prepares it again.
 */
extern SPIPlanPtr repairsys_plan(SPIPlanPtr *cache, const char *sql, int nargs, Oid *argtypes);
extern void repairsys_forget_plan(SPIPlanPtr *cache);

/* One-dimensional array arguments of the SQL-callable functions. */
extern int	repairsys_array_len(ArrayType *arr, Oid elemtype, const char *argname);
extern void repairsys_array_datums(ArrayType *arr, Oid elemtype, int expected,
								   const char *argname, Datum **values, bool **nulls);

#endif							/* REPAIRSYS_H */
