/*
 * scoring.c
 *		Technician scoring for automatic assignment: great-circle distance,
 *		the hard rules, the grades of the soft objectives and their weighted
 *		sum; the SQL-callable repairsys.haversine_km() and the set-returning
 *		kernel behind repairsys.candidates().
 *
 * The SQL side (src/sql/50_assign.sql) reads the tables once and hands the
 * technicians over as parallel arrays; this file scores each of them in C
 * and returns the rows best first.  docs/assignment.md has the formulas.
 */
#include "postgres.h"

#include <math.h>

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "executor/executor.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "nodes/params.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/tuplestore.h"

#include "scoring.h"

PG_FUNCTION_INFO_V1(rs_haversine_km_sql);
PG_FUNCTION_INFO_V1(rs_score_candidates);
PG_FUNCTION_INFO_V1(rs_candidates);

/*
 * Refuses coordinates outside [-90, 90] x [-180, 180] (and NaN) with 22023.
 */
void
rs_check_coordinates(double lat, double lon)
{
	if (isnan(lat) || lat < -90.0 || lat > 90.0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("latitude \"%g\" is out of range", lat),
				 errdetail("A latitude is a number of degrees from -90 to 90.")));
	if (isnan(lon) || lon < -180.0 || lon > 180.0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("longitude \"%g\" is out of range", lon),
				 errdetail("A longitude is a number of degrees from -180 to 180.")));
}

/*
 * Great-circle distance in km between two points given in degrees
 * (haversine formula, mean earth radius).  The caller checked the ranges.
 */
double
rs_haversine_km(double lat1, double lon1, double lat2, double lon2)
{
	const double rad = M_PI / 180.0;
	double		dlat = (lat2 - lat1) * rad;
	double		dlon = (lon2 - lon1) * rad;
	double		s1 = sin(dlat / 2.0);
	double		s2 = sin(dlon / 2.0);
	double		a = s1 * s1 + cos(lat1 * rad) * cos(lat2 * rad) * s2 * s2;

	if (a > 1.0)
		a = 1.0;				/* rounding near antipodes */
	return 2.0 * RS_EARTH_RADIUS_KM * asin(sqrt(a));
}

/*
 * repairsys.haversine_km(lat1, lon1, lat2, lon2) float8
 */
Datum
rs_haversine_km_sql(PG_FUNCTION_ARGS)
{
	double		lat1 = PG_GETARG_FLOAT8(0);
	double		lon1 = PG_GETARG_FLOAT8(1);
	double		lat2 = PG_GETARG_FLOAT8(2);
	double		lon2 = PG_GETARG_FLOAT8(3);

	rs_check_coordinates(lat1, lon1);
	rs_check_coordinates(lat2, lon2);
	PG_RETURN_FLOAT8(rs_haversine_km(lat1, lon1, lat2, lon2));
}

/* Reads one attribute of a composite; a NULL one yields *isnull. */
static Datum
policy_attr(HeapTupleHeader tup, const char *name, bool *isnull)
{
	return GetAttributeByName(tup, name, isnull);
}

/* A non-null boolean attribute of the policy. */
static bool
policy_bool(HeapTupleHeader tup, const char *name)
{
	bool		isnull;
	Datum		d = policy_attr(tup, name, &isnull);

	if (isnull)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("assignment policy column \"%s\" is null", name)));
	return DatumGetBool(d);
}

/* A non-null, finite, non-negative float8 attribute of the policy. */
static double
policy_float(HeapTupleHeader tup, const char *name)
{
	bool		isnull;
	Datum		d = policy_attr(tup, name, &isnull);
	double		v;

	if (isnull)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("assignment policy column \"%s\" is null", name)));
	v = DatumGetFloat8(d);
	if (isnan(v) || isinf(v) || v < 0.0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("assignment policy column \"%s\" has invalid value \"%g\"", name, v),
				 errdetail("Weights and distances of a policy are finite and not negative.")));
	return v;
}

/*
 * Fills *policy from a repairsys.assign_policy row (looked up by column
 * name, so columns added later do not disturb it).
 */
void
rs_policy_from_datum(Datum composite, RsPolicy *policy)
{
	HeapTupleHeader tup = DatumGetHeapTupleHeader(composite);
	bool		isnull;
	Datum		d;
	double		wsum;

	policy->require_skill = policy_bool(tup, "require_skill");
	policy->respect_capacity = policy_bool(tup, "respect_capacity");
	policy->only_active = policy_bool(tup, "only_active");
	policy->same_center = policy_bool(tup, "same_center");
	d = policy_attr(tup, "max_distance_km", &isnull);
	policy->has_max_distance = !isnull;
	policy->max_distance_km = isnull ? 0.0 : DatumGetFloat8(d);
	if (!isnull && (isnan(policy->max_distance_km) || policy->max_distance_km <= 0.0))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("assignment policy column \"max_distance_km\" has invalid value \"%g\"",
						policy->max_distance_km)));
	policy->w_skill = policy_float(tup, "w_skill");
	policy->w_distance = policy_float(tup, "w_distance");
	policy->w_load = policy_float(tup, "w_load");
	policy->w_rating = policy_float(tup, "w_rating");
	policy->w_continuity = policy_float(tup, "w_continuity");
	policy->distance_worst_km = policy_float(tup, "distance_worst_km");
	if (policy->distance_worst_km <= 0.0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("assignment policy column \"distance_worst_km\" must be positive")));
	wsum = policy->w_skill + policy->w_distance + policy->w_load +
		policy->w_rating + policy->w_continuity;
	if (!(wsum > 0.0) || isinf(wsum))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the weights of an assignment policy must have a positive finite sum")));
}

/* x limited to [0, 1]. */
static inline double
clamp01(double x)
{
	if (x < 0.0)
		return 0.0;
	if (x > 1.0)
		return 1.0;
	return x;
}

/*
 * Scores one technician for one ticket under a policy: the hard rules that
 * fail (out->fails) and the grades, each in [0, 1], with their weighted sum
 * normalized by the sum of the weights.  Coordinates were checked by the
 * caller (the tables' CHECK constraints keep them in range).
 */
void
rs_score(const RsPolicy *policy, const RsTicket *ticket, const RsTech *tech,
		 RsScore *out)
{
	int			fails = 0;
	double		wsum;

	/* active */
	if (policy->only_active && !tech->active)
		fails |= RS_FAIL_INACTIVE;

	/* skill: graded linearly from the minimum level (0) to level 5 (1) */
	if (!ticket->needs_skill)
		out->skill_score = 1.0;
	else if (tech->level <= 0)
	{
		out->skill_score = 0.0;
		if (policy->require_skill)
			fails |= RS_FAIL_NO_SKILL;
	}
	else if (tech->level < ticket->min_level)
	{
		out->skill_score = 0.0;
		if (policy->require_skill)
			fails |= RS_FAIL_LOW_SKILL;
	}
	else if (ticket->min_level >= 5)
		out->skill_score = 1.0;
	else
		out->skill_score = clamp01((double) (tech->level - ticket->min_level) /
								   (double) (5 - ticket->min_level));

	/* load: share of the capacity in use */
	if (tech->capacity > 0)
		out->load = (double) tech->open / (double) tech->capacity;
	else
		out->load = 1.0;
	out->load_score = clamp01(1.0 - out->load);
	if (policy->respect_capacity && tech->open >= tech->capacity)
		fails |= RS_FAIL_CAPACITY;

	/* distance: 1 at 0 km, falling linearly to 0 at distance_worst_km */
	out->has_distance = ticket->has_location && tech->has_location;
	if (out->has_distance)
	{
		out->distance_km = rs_haversine_km(tech->lat, tech->lon, ticket->lat, ticket->lon);
		out->distance_score = clamp01(1.0 - out->distance_km / policy->distance_worst_km);
		if (policy->has_max_distance && out->distance_km > policy->max_distance_km)
			fails |= RS_FAIL_DISTANCE;
	}
	else
	{
		out->distance_km = 0.0;
		out->distance_score = 0.0;
		if (policy->has_max_distance)
			fails |= RS_FAIL_DISTANCE;
	}

	/* service center */
	if (policy->same_center &&
		(!tech->has_center || !ticket->has_center || tech->center != ticket->center))
		fails |= RS_FAIL_CENTER;

	/* rating: mean feedback 1..5 graded (mean - 1) / 4; neutral without any */
	out->rating_score = tech->has_rating ? clamp01((tech->rating - 1.0) / 4.0) : RS_NEUTRAL_RATING;

	/* continuity: the technician last served this customer or this asset */
	out->continuity_score =
		(tech->id != 0 && (tech->id == ticket->continuity[0] || tech->id == ticket->continuity[1]))
		? 1.0 : 0.0;

	wsum = policy->w_skill + policy->w_distance + policy->w_load +
		policy->w_rating + policy->w_continuity;
	out->score = clamp01((policy->w_skill * out->skill_score +
						  policy->w_distance * out->distance_score +
						  policy->w_load * out->load_score +
						  policy->w_rating * out->rating_score +
						  policy->w_continuity * out->continuity_score) / wsum);
	out->fails = fails;
}

/*
 * Number of elements of a one-dimensional array argument (an empty array
 * counts 0); anything of more dimensions is refused.
 */
int
rs_array_len(ArrayType *arr, Oid elemtype, const char *argname)
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
 */
void
rs_array_datums(ArrayType *arr, Oid elemtype, int expected, const char *argname,
				Datum **values, bool **nulls)
{
	int16		typlen;
	bool		typbyval;
	char		typalign;
	int			n;

	n = rs_array_len(arr, elemtype, argname);
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

/* One scored technician of the candidates list. */
typedef struct ScoredTech
{
	RsTech		tech;
	RsScore		s;
} ScoredTech;

/*
 * Candidates order: eligible first, then higher score, then lower id; a
 * comparison inlined into a sort of its own (lib/sort_template.h).
 */
static inline int
scored_cmp_ptr(ScoredTech *const *a, ScoredTech *const *b)
{
	const ScoredTech *x = *a;
	const ScoredTech *y = *b;

	if ((x->s.fails == 0) != (y->s.fails == 0))
		return (x->s.fails == 0) ? -1 : 1;
	if (x->s.score != y->s.score)
		return (x->s.score > y->s.score) ? -1 : 1;
	if (x->tech.id != y->tech.id)
		return (x->tech.id < y->tech.id) ? -1 : 1;
	return 0;
}

typedef ScoredTech *ScoredTechPtr;

#define ST_SORT sort_scored
#define ST_ELEMENT_TYPE ScoredTechPtr
#define ST_COMPARE(a, b) scored_cmp_ptr(a, b)
#define ST_SCOPE static
#define ST_DECLARE
#define ST_DEFINE
#include "lib/sort_template.h"

/* Formats a distance limit without trailing zeros ("10", "12.5"). */
static void
append_km(StringInfo buf, double km)
{
	char		tmp[64];

	snprintf(tmp, sizeof(tmp), "%.3f", km);
	/* strip trailing zeros and a trailing point */
	{
		int			len = strlen(tmp);

		while (len > 0 && tmp[len - 1] == '0')
			tmp[--len] = '\0';
		if (len > 0 && tmp[len - 1] == '.')
			tmp[--len] = '\0';
	}
	appendStringInfoString(buf, tmp);
}

/* Adds "; " between reasons. */
static void
reason_sep(StringInfo buf)
{
	if (buf->len > 0)
		appendStringInfoString(buf, "; ");
}

/*
 * The reasons why a technician is not eligible, in words, in the fixed
 * order of the RS_FAIL_* bits, written into buf (reset first).
 */
static void
reason_text(StringInfo buf, const RsPolicy *policy, const RsTicket *ticket,
			const char *skill, const ScoredTech *st)
{
	int			fails = st->s.fails;

	resetStringInfo(buf);
	if (fails & RS_FAIL_INACTIVE)
	{
		reason_sep(buf);
		appendStringInfoString(buf, "inactive");
	}
	if (fails & RS_FAIL_NO_SKILL)
	{
		reason_sep(buf);
		appendStringInfo(buf, "missing skill \"%s\"", skill);
	}
	if (fails & RS_FAIL_LOW_SKILL)
	{
		reason_sep(buf);
		appendStringInfo(buf, "skill \"%s\" level %d below %d", skill,
						 st->tech.level, ticket->min_level);
	}
	if (fails & RS_FAIL_CAPACITY)
	{
		reason_sep(buf);
		appendStringInfo(buf, "at capacity (%d of %d open tickets)",
						 st->tech.open, st->tech.capacity);
	}
	if (fails & RS_FAIL_DISTANCE)
	{
		reason_sep(buf);
		if (!ticket->has_location)
			appendStringInfoString(buf, "ticket location unknown, the limit is ");
		else if (!st->tech.has_location)
			appendStringInfoString(buf, "technician location unknown, the limit is ");
		else
			appendStringInfo(buf, "%.1f km away, above the limit of ", st->s.distance_km);
		append_km(buf, policy->max_distance_km);
		appendStringInfoString(buf, " km");
	}
	if (fails & RS_FAIL_CENTER)
	{
		reason_sep(buf);
		if (!st->tech.has_center)
			appendStringInfoString(buf, "belongs to no service center");
		else if (!ticket->has_center)
			appendStringInfoString(buf, "ticket has no service center");
		else
			appendStringInfoString(buf, "belongs to another service center");
	}
}

/*
 * Scores n technicians for a ticket, sorts them best first and writes the
 * candidates rows into store.
 */
static void
score_and_emit(Tuplestorestate *store, TupleDesc tupdesc, const RsPolicy *policy,
			   const RsTicket *ticket, const char *skill, RsTech *techs, int n)
{
	ScoredTech *scored;
	ScoredTech **order;
	int			i;
	StringInfoData reason;

	scored = (ScoredTech *) palloc(sizeof(ScoredTech) * Max(n, 1));
	order = (ScoredTech **) palloc(sizeof(ScoredTech *) * Max(n, 1));
	for (i = 0; i < n; i++)
	{
		scored[i].tech = techs[i];
		rs_score(policy, ticket, &techs[i], &scored[i].s);
		order[i] = &scored[i];
	}
	sort_scored(order, n);

	initStringInfo(&reason);
	for (i = 0; i < n; i++)
	{
		ScoredTech *st = order[i];
		Datum		values[13];
		bool		nulls[13];

		memset(nulls, 0, sizeof(nulls));
		values[0] = Int64GetDatum(st->tech.id);
		values[1] = BoolGetDatum(st->s.fails == 0);
		values[2] = (Datum) 0;
		if (st->s.fails != 0)
		{
			reason_text(&reason, policy, ticket, skill, st);
			values[2] = PointerGetDatum(cstring_to_text_with_len(reason.data, reason.len));
		}
		else
			nulls[2] = true;
		values[3] = Float8GetDatum(st->s.score);
		values[4] = Float8GetDatum(st->s.skill_score);
		if (st->s.has_distance)
			values[5] = Float8GetDatum(st->s.distance_km);
		else
			nulls[5] = true;
		values[6] = Float8GetDatum(st->s.distance_score);
		values[7] = Float8GetDatum(st->s.load);
		values[8] = Float8GetDatum(st->s.load_score);
		values[9] = Float8GetDatum(st->s.rating_score);
		values[10] = Float8GetDatum(st->s.continuity_score);
		values[11] = Int32GetDatum(st->tech.open);
		values[12] = Int32GetDatum(st->tech.capacity);
		tuplestore_putvalues(store, tupdesc, values, nulls);
		if (!nulls[2])
			pfree(DatumGetPointer(values[2]));
	}
	pfree(reason.data);
	pfree(order);
	pfree(scored);
}

/* The float8 at i of a deconstructed array (NULL: *isnull). */
static inline double
arr_f8(Datum *v, bool *n, int i, bool *isnull)
{
	*isnull = n[i];
	return n[i] ? 0.0 : DatumGetFloat8(v[i]);
}

/* Sets up materialize mode for a set-returning function (PG 14..17). */
Tuplestorestate *
rs_materialize(FunctionCallInfo fcinfo, TupleDesc *tupdesc_out)
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
 * Reads the technician arrays shared by the candidates kernel and the batch
 * solver into RsTech structs (level left 0).  Arguments from argno on:
 * id bigint[], active bool[], center bigint[], lat float8[], lon float8[],
 * capacity int[], open int[], rating float8[].
 */
int
rs_read_techs(FunctionCallInfo fcinfo, int argno, RsTech **techs_out)
{
	static const char *const names[] = {"tech_id", "tech_active", "tech_center", "tech_lat",
	"tech_lon", "tech_capacity", "tech_open", "tech_rating"};
	static const Oid types[] = {INT8OID, BOOLOID, INT8OID, FLOAT8OID,
	FLOAT8OID, INT4OID, INT4OID, FLOAT8OID};
	ArrayType  *arrs[8];
	Datum	   *v[8];
	bool	   *nl[8];
	int			n;
	int			k;
	int			i;
	RsTech	   *techs;

	for (k = 0; k < 8; k++)
		if (PG_ARGISNULL(argno + k))
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("argument \"%s\" must not be null", names[k])));
	for (k = 0; k < 8; k++)
		arrs[k] = PG_GETARG_ARRAYTYPE_P(argno + k);
	n = rs_array_len(arrs[0], INT8OID, names[0]);
	for (k = 0; k < 8; k++)
		rs_array_datums(arrs[k], types[k], n, names[k], &v[k], &nl[k]);

	techs = (RsTech *) palloc0(sizeof(RsTech) * Max(n, 1));
	for (i = 0; i < n; i++)
	{
		RsTech	   *t = &techs[i];
		bool		n1,
					n2;

		if (nl[0][i] || nl[1][i] || nl[5][i])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("technician id, active flag and capacity must not be null")));
		t->id = DatumGetInt64(v[0][i]);
		t->active = DatumGetBool(v[1][i]);
		t->has_center = !nl[2][i];
		t->center = nl[2][i] ? 0 : DatumGetInt64(v[2][i]);
		t->lat = arr_f8(v[3], nl[3], i, &n1);
		t->lon = arr_f8(v[4], nl[4], i, &n2);
		t->has_location = !n1 && !n2;
		if (t->has_location)
			rs_check_coordinates(t->lat, t->lon);
		t->capacity = DatumGetInt32(v[5][i]);
		t->open = nl[6][i] ? 0 : DatumGetInt32(v[6][i]);
		if (t->capacity < 0 || t->open < 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("technician %lld has a negative capacity or open ticket count",
							(long long) t->id)));
		t->rating = arr_f8(v[7], nl[7], i, &n1);
		t->has_rating = !n1 && !isnan(t->rating);
		t->level = 0;
	}
	*techs_out = techs;
	return n;
}

/*
 * repairsys.score_candidates(policy, ticket_lat, ticket_lon, ticket_center,
 *     required_skill, min_level, continuity bigint[],
 *     tech_id, tech_active, tech_center, tech_lat, tech_lon, tech_capacity,
 *     tech_open, tech_rating, tech_level int[])
 * returns setof (technician_id, eligible, reason, score, skill_score,
 *     distance_km, distance_score, load, load_score, rating_score,
 *     continuity_score, open_tickets, capacity), best first.
 *
 * The kernel of repairsys.candidates(); not STRICT (a ticket may lack a
 * location, center or required skill).
 */
Datum
rs_score_candidates(PG_FUNCTION_ARGS)
{
	RsPolicy	policy;
	RsTicket	ticket;
	char	   *skill = NULL;
	RsTech	   *techs;
	int			n;
	int			i;
	Tuplestorestate *store;
	TupleDesc	tupdesc;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("argument \"policy\" must not be null")));
	rs_policy_from_datum(PG_GETARG_DATUM(0), &policy);

	memset(&ticket, 0, sizeof(ticket));
	ticket.has_location = !PG_ARGISNULL(1) && !PG_ARGISNULL(2);
	if (ticket.has_location)
	{
		ticket.lat = PG_GETARG_FLOAT8(1);
		ticket.lon = PG_GETARG_FLOAT8(2);
		rs_check_coordinates(ticket.lat, ticket.lon);
	}
	ticket.has_center = !PG_ARGISNULL(3);
	ticket.center = ticket.has_center ? PG_GETARG_INT64(3) : 0;
	ticket.needs_skill = !PG_ARGISNULL(4);
	if (ticket.needs_skill)
		skill = text_to_cstring(PG_GETARG_TEXT_PP(4));
	ticket.min_level = PG_ARGISNULL(5) ? 1 : PG_GETARG_INT32(5);
	if (ticket.min_level < 1 || ticket.min_level > 5)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("minimum skill level %d is out of range", ticket.min_level),
				 errdetail("Skill levels run from 1 to 5.")));
	if (!PG_ARGISNULL(6))
	{
		ArrayType  *cont = PG_GETARG_ARRAYTYPE_P(6);
		int			nc = rs_array_len(cont, INT8OID, "continuity");
		Datum	   *cv;
		bool	   *cn;

		rs_array_datums(cont, INT8OID, nc, "continuity", &cv, &cn);
		for (i = 0; i < nc && i < 2; i++)
			ticket.continuity[i] = cn[i] ? 0 : DatumGetInt64(cv[i]);
		if (nc > 2)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("argument \"continuity\" has more than 2 elements")));
	}

	n = rs_read_techs(fcinfo, 7, &techs);
	if (PG_ARGISNULL(15))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("argument \"tech_level\" must not be null")));
	{
		Datum	   *lv;
		bool	   *ln;

		rs_array_datums(PG_GETARG_ARRAYTYPE_P(15), INT4OID, n, "tech_level", &lv, &ln);
		for (i = 0; i < n; i++)
			techs[i].level = ln[i] ? 0 : DatumGetInt32(lv[i]);
	}

	store = rs_materialize(fcinfo, &tupdesc);
	score_and_emit(store, tupdesc, &policy, &ticket, skill, techs, n);
	return (Datum) 0;
}

/* Plans of rs_candidates, prepared once per backend and kept. */
static SPIPlanPtr cand_plan_ticket = NULL;
static SPIPlanPtr cand_plan_policy = NULL;
static SPIPlanPtr cand_plan_techs = NULL;

/* Prepares and keeps one plan. */
static SPIPlanPtr
cand_plan(const char *sql, int nargs, Oid *argtypes)
{
	SPIPlanPtr	plan = SPI_prepare(sql, nargs, argtypes);

	if (plan == NULL)
		elog(ERROR, "SPI_prepare failed for \"%s\": %s", sql,
			 SPI_result_code_string(SPI_result));
	if (SPI_keepplan(plan) != 0)
		elog(ERROR, "SPI_keepplan failed");
	return plan;
}

/* A column of an SPI result row, NULL as *isnull. */
static inline Datum
spi_col(HeapTuple tup, TupleDesc desc, int col, bool *isnull)
{
	return SPI_getbinval(tup, desc, col, isnull);
}

/* Plans of rs_candidates' technician reading. */
static SPIPlanPtr cand_plan_load = NULL;
static SPIPlanPtr cand_plan_skill = NULL;

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

/* One row of one of the three queries, read straight from the slot. */
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
			rs_check_coordinates(t->lat, t->lon);
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
 * Reads the ticket (with its status, service type and continuity), the
 * policy and every technician with his level in the required skill and his
 * load (repairsys.technician_load) in three queries through SPI, with plans
 * kept per backend; scores in C; writes the rows.  Errors: unknown ticket or
 * policy 22023, a ticket in a terminal status 23514, a NULL argument 22004.
 * Every query is
 * schema-qualified, with OPERATOR(pg_catalog....): no search_path involved.
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
	store = rs_materialize(fcinfo, &tupdesc);

	if ((ret = SPI_connect()) != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed: %s", SPI_result_code_string(ret));

	/* the ticket, its status, service type and continuity */
	if (cand_plan_ticket == NULL)
	{
		Oid			types[1] = {INT8OID};

		cand_plan_ticket = cand_plan(
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
			rs_check_coordinates(ticket.lat, ticket.lon);
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
			int			nc = rs_array_len(cont, INT8OID, "continuity");

			rs_array_datums(cont, INT8OID, nc, "continuity", &cv, &cn);
			for (i = 0; i < nc && i < 2; i++)
				ticket.continuity[i] = cn[i] ? 0 : DatumGetInt64(cv[i]);
		}
	}

	/* the policy (unknown: 22023 from assign_policy_row) */
	if (cand_plan_policy == NULL)
	{
		Oid			types[1] = {TEXTOID};

		cand_plan_policy = cand_plan("SELECT repairsys.assign_policy_row($1)", 1, types);
	}
	args[0] = PointerGetDatum(policy_name);
	ret = SPI_execute_plan(cand_plan_policy, args, NULL, true, 1);
	if (ret != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "SPI_execute_plan failed: %s", SPI_result_code_string(ret));
	{
		Datum		p = spi_col(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);

		if (isnull)
			elog(ERROR, "assign_policy_row returned NULL");
		rs_policy_from_datum(p, &policy);
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
		cand_plan_techs = cand_plan("SELECT te.id, te.active, te.service_center_id, te.lat, te.lon, te.capacity"
									"  FROM repairsys.technician te", 0, NULL);
	if (cand_plan_load == NULL)
		cand_plan_load = cand_plan("SELECT l.technician_id, l.open_tickets, l.rating_count, l.rating_sum"
								   "  FROM repairsys.technician_load l", 0, NULL);
	if (cand_plan_skill == NULL)
	{
		Oid			types[1] = {TEXTOID};

		cand_plan_skill = cand_plan("SELECT sk.technician_id, sk.level FROM repairsys.technician_skill sk"
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

	score_and_emit(store, tupdesc, &policy, &ticket, skill, techs, n);
	SPI_finish();
	return (Datum) 0;
}
