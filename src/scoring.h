/*
 * scoring.h
 *		The technician scoring kernel (scoring.c), used by the candidates
 *		reader (scoring_spi.c) and the batch assignment (assign.c).
 *
 * A policy (repairsys.assign_policy), a ticket and a technician go in; the
 * hard rules that exclude the technician and the grades of the soft
 * objectives come out.  Everything here is plain C over plain structs, so
 * the kernel can score a whole array of technicians without touching the
 * executor.  docs/assignment.md describes the rules and formulas.
 */
#ifndef REPAIRSYS_SCORING_H
#define REPAIRSYS_SCORING_H

#include "postgres.h"
#include "fmgr.h"
#include "access/tupdesc.h"
#include "utils/array.h"
#include "utils/tuplestore.h"

/* Mean earth radius (IUGG) in km, used by every distance in repairsys. */
#define RS_EARTH_RADIUS_KM 6371.0088

/* Grade of the rating objective for a technician without any feedback. */
#define RS_NEUTRAL_RATING 0.5

/* The hard rules, as bits of ScoreResult.fails (in the order reasons are listed). */
#define RS_FAIL_INACTIVE		0x01
#define RS_FAIL_NO_SKILL		0x02
#define RS_FAIL_LOW_SKILL		0x04
#define RS_FAIL_CAPACITY		0x08
#define RS_FAIL_DISTANCE		0x10
#define RS_FAIL_CENTER			0x20

typedef struct RsPolicy
{
	bool		require_skill;
	bool		respect_capacity;
	bool		only_active;
	bool		same_center;
	bool		has_max_distance;
	double		max_distance_km;
	double		w_skill;
	double		w_distance;
	double		w_load;
	double		w_rating;
	double		w_continuity;
	double		distance_worst_km;
} RsPolicy;

typedef struct RsTicket
{
	bool		has_location;
	double		lat;
	double		lon;
	bool		has_center;
	int64		center;
	bool		needs_skill;	/* the service type names a required skill */
	int32		min_level;		/* its minimum level, 1..5 */
	int64		continuity[2];	/* technicians who last served the customer
								 * and the asset (0: none) */
} RsTicket;

typedef struct RsTech
{
	int64		id;
	bool		active;
	bool		has_center;
	int64		center;
	bool		has_location;
	double		lat;
	double		lon;
	int32		capacity;
	int32		open;			/* open tickets now (ticket being scored
								 * excluded) */
	int32		level;			/* level of the required skill, 0: lacks it */
	bool		has_rating;
	double		rating;			/* mean feedback rating 1..5 */
} RsTech;

typedef struct RsScore
{
	int			fails;			/* RS_FAIL_* bits; 0: eligible */
	double		score;
	double		skill_score;
	bool		has_distance;
	double		distance_km;
	double		distance_score;
	double		load;
	double		load_score;
	double		rating_score;
	double		continuity_score;
} RsScore;

extern double repairsys_haversine_km(double lat1, double lon1, double lat2, double lon2);
extern void repairsys_check_coordinates(double lat, double lon);
extern void repairsys_policy_from_datum(Datum composite, RsPolicy *policy);
extern void repairsys_score(const RsPolicy *policy, const RsTicket *ticket,
					 const RsTech *tech, RsScore *out);

extern void repairsys_score_and_emit(Tuplestorestate *store, TupleDesc tupdesc,
							  const RsPolicy *policy, const RsTicket *ticket,
							  const char *skill, RsTech *techs, int n);

extern int	repairsys_read_techs(FunctionCallInfo fcinfo, int argno, RsTech **techs_out);

#endif							/* REPAIRSYS_SCORING_H */
