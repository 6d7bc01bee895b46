/*
 * scoring.c
 *		The technician scoring kernel of automatic assignment: great-circle
 *		distance, the hard rules, the grades of the soft objectives and their
 *		weighted sum, the candidates order and the reasons in words; the
 *		SQL-callable repairsys.haversine_km() and score_candidates(), which
 *		take the technicians as parallel arrays.
 *
 * Nothing here runs a query: repairsys.candidates() reads the tables through
 * SPI in scoring_spi.c and scores with this kernel, and the batch solver
 * (assign.c) scores whole arrays of technicians with repairsys_score().
 * docs/assignment.md has the formulas.
 */
#include "postgres.h"

#include <math.h>

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "executor/executor.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/tuplestore.h"

#include "repairsys.h"
#include "scoring.h"

PG_FUNCTION_INFO_V1(rs_haversine_km_sql);
PG_FUNCTION_INFO_V1(rs_score_candidates);

/*
 * Refuses coordinates outside [-90, 90] x [-180, 180] (and NaN) with 22023.
 */
void
repairsys_check_coordinates(double lat, double lon)
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
repairsys_haversine_km(double lat1, double lon1, double lat2, double lon2)
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

	repairsys_check_coordinates(lat1, lon1);
	repairsys_check_coordinates(lat2, lon2);
	PG_RETURN_FLOAT8(repairsys_haversine_km(lat1, lon1, lat2, lon2));
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
repairsys_policy_from_datum(Datum composite, RsPolicy *policy)
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
repairsys_score(const RsPolicy *policy, const RsTicket *ticket, const RsTech *tech,
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
		out->distance_km = repairsys_haversine_km(tech->lat, tech->lon, ticket->lat, ticket->lon);
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
void
repairsys_score_and_emit(Tuplestorestate *store, TupleDesc tupdesc, const RsPolicy *policy,
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
		repairsys_score(policy, ticket, &techs[i], &scored[i].s);
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

/*
 * Reads the technician arrays shared by the candidates kernel and the batch
 * solver into RsTech structs (level left 0).  Arguments from argno on:
 * id bigint[], active bool[], center bigint[], lat float8[], lon float8[],
 * capacity int[], open int[], rating float8[].
 */
int
repairsys_read_techs(FunctionCallInfo fcinfo, int argno, RsTech **techs_out)
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
	n = repairsys_array_len(arrs[0], INT8OID, names[0]);
	for (k = 0; k < 8; k++)
		repairsys_array_datums(arrs[k], types[k], n, names[k], &v[k], &nl[k]);

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
			repairsys_check_coordinates(t->lat, t->lon);
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
 * The same scoring as repairsys.candidates() (which reads the tables itself,
 * scoring_spi.c), on technicians given as parallel arrays; not STRICT (a
 * ticket may lack a location, center or required skill).
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
	repairsys_policy_from_datum(PG_GETARG_DATUM(0), &policy);

	memset(&ticket, 0, sizeof(ticket));
	ticket.has_location = !PG_ARGISNULL(1) && !PG_ARGISNULL(2);
	if (ticket.has_location)
	{
		ticket.lat = PG_GETARG_FLOAT8(1);
		ticket.lon = PG_GETARG_FLOAT8(2);
		repairsys_check_coordinates(ticket.lat, ticket.lon);
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
		int			nc = repairsys_array_len(cont, INT8OID, "continuity");
		Datum	   *cv;
		bool	   *cn;

		repairsys_array_datums(cont, INT8OID, nc, "continuity", &cv, &cn);
		for (i = 0; i < nc && i < 2; i++)
			ticket.continuity[i] = cn[i] ? 0 : DatumGetInt64(cv[i]);
		if (nc > 2)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("argument \"continuity\" has more than 2 elements")));
	}

	n = repairsys_read_techs(fcinfo, 7, &techs);
	if (PG_ARGISNULL(15))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("argument \"tech_level\" must not be null")));
	{
		Datum	   *lv;
		bool	   *ln;

		repairsys_array_datums(PG_GETARG_ARRAYTYPE_P(15), INT4OID, n, "tech_level", &lv, &ln);
		for (i = 0; i < n; i++)
			techs[i].level = ln[i] ? 0 : DatumGetInt32(lv[i]);
	}

	store = repairsys_materialize(fcinfo, &tupdesc);
	repairsys_score_and_emit(store, tupdesc, &policy, &ticket, skill, techs, n);
	return (Datum) 0;
}
