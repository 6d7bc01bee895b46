/*
 * sla_calendar.c
 *		The calendar walk of the sla_interval type: the deadline of a target
 *		(timestamptz + sla_interval, sla_deadline), the business time elapsed
 *		between two instants (sla_elapsed) and an instant plus an amount of
 *		business time (sla_advance), with closed dates (holidays) and open
 *		(make-up) dates.  The type itself is in sla_interval.c.
 *
 * Local times are converted to instants with PostgreSQL's own time-zone code
 * (DetermineTimeZoneOffset), so DST gaps and overlaps resolve exactly as
 * "timestamp AT TIME ZONE" does.  The walk goes day by day, but skips whole
 * local weeks, then whole days, arithmetically while the zone's UTC offset
 * stays constant (checked with pg_next_dst_boundary), so the cost does not
 * grow with the target.  See docs/sla.md.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "common/int.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "pgtime.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/datetime.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"

#include "repairsys.h"
#include "sla_interval.h"

#define MAX_WALK_JD			(TIMESTAMP_END_JULIAN + 7)

PG_FUNCTION_INFO_V1(sla_interval_add);
PG_FUNCTION_INFO_V1(sla_interval_deadline);
PG_FUNCTION_INFO_V1(sla_interval_advance);
PG_FUNCTION_INFO_V1(sla_interval_elapsed);
PG_FUNCTION_INFO_V1(sla_interval_windows);

/*
 * Walk state: the zone, a cache of a span of instants with one UTC offset,
 * the special dates (closed and open days, sorted julian days) and the
 * per-weekday nominal business minutes.
 */
typedef struct SlaWalk
{
	const SlaInterval *s;
	pg_tz	   *tz;
	bool		cache_valid;
	TimestampTz cache_from;		/* offset is cache_gmtoff on [from, until) */
	TimestampTz cache_until;	/* the next offset change, or DT_NOEND */
	int64		cache_gmtoff;	/* seconds east of UTC */
	int64		cache_guard;	/* a guess must be this far after from */
	TimestampTz cache_regular;	/* local times mapping at or after this are
								 * neither in a gap nor before the span */
	bool		cache_hi_known; /* cache_hi_guard and the next span known */
	int64		cache_hi_guard; /* a guess must be this far before until */
	int			next_r;			/* pg_next_dst_boundary at until: -1, 0, 1 */
	int64		next_gmtoff;	/* offset of the span starting at until */
	TimestampTz next_until;		/* its end (when next_r = 1) */
	int		   *spec;			/* special local dates, sorted, distinct */
	int8	   *spec_dow;		/* their windows: -1 closed, else a weekday */
	int			nspec;
	int64		day_minutes[7];
	int64		spill_end[7];	/* minute after midnight at which weekday d's
								 * overnight window closes on the next day
								 * (0: none) */
	int64		week_usecs;
	int			first[8];		/* windows of weekday d: first[d] .. first[d+1]-1 */
} SlaWalk;

/* more than any UTC offset change: an instant this far inside a span of one
 * offset has a local time that no other instant has */
#define CACHE_MARGIN	(26 * USECS_PER_HOUR)

/*
 * Refreshes the offset cache so that it covers instant t.  When t lies in the
 * span that follows the cached one, the new span starts exactly at the
 * boundary and the offset before it is known, so a guess needs no margin
 * after the boundary but the overlap of a backward jump; otherwise the span
 * starts at t and guesses keep CACHE_MARGIN away from its start.
 */
static void
cache_refresh(SlaWalk *w, TimestampTz t)
{
	pg_time_t	pt,
				boundary;
	long		before_gmtoff,
				after_gmtoff;
	int			before_isdst,
				after_isdst,
				r;
	bool		next_span;
	bool		hi_known = w->cache_hi_known;
	int64		prev_gmtoff = w->cache_gmtoff;

	next_span = w->cache_valid && w->cache_until != DT_NOEND && t >= w->cache_until;
	w->cache_valid = false;
	w->cache_hi_known = false;
	if (t < MIN_TIMESTAMP || t >= END_TIMESTAMP)
		return;
	if (next_span)
	{
		TimestampTz b = w->cache_until;
		TimestampTz b2;

		if (hi_known)
		{
			r = w->next_r;
			before_gmtoff = w->next_gmtoff;
			b2 = w->next_until;
		}
		else
		{
			pt = timestamptz_to_time_t(b);
			r = pg_next_dst_boundary(&pt, &before_gmtoff, &before_isdst, &boundary,
									 &after_gmtoff, &after_isdst, w->tz);
			b2 = r == 1 ? time_t_to_timestamptz(boundary) : DT_NOEND;
		}
		if (r >= 0 && t < b2)
		{
			w->cache_from = b;
			w->cache_gmtoff = before_gmtoff;
			w->cache_until = b2;
			w->cache_guard = Max(prev_gmtoff - (int64) before_gmtoff, 0) * USECS_PER_SEC;
			w->cache_regular = b + w->cache_guard;
			w->cache_valid = true;
			return;
		}
	}
	pt = timestamptz_to_time_t(t);
	r = pg_next_dst_boundary(&pt, &before_gmtoff, &before_isdst, &boundary,
							 &after_gmtoff, &after_isdst, w->tz);
	if (r < 0)
		return;
	w->cache_from = t;
	w->cache_gmtoff = before_gmtoff;
	w->cache_guard = CACHE_MARGIN;
	w->cache_regular = t;
	if (r == 0)
		w->cache_until = DT_NOEND;
	else
		w->cache_until = time_t_to_timestamptz(boundary);
	w->cache_valid = true;
}

/*
 * How close to the end of the cached span a guess may be: the overlap of a
 * backward jump there (a local time in it exists twice), or CACHE_MARGIN when
 * the next span is too short to tell.  Computed once per span, when a guess
 * first comes near its end.
 */
static void
cache_hi_compute(SlaWalk *w)
{
	pg_time_t	pt,
				boundary;
	long		before_gmtoff,
				after_gmtoff;
	int			before_isdst,
				after_isdst,
				r;

	w->cache_hi_known = true;
	w->cache_hi_guard = CACHE_MARGIN;
	pt = timestamptz_to_time_t(w->cache_until);
	r = pg_next_dst_boundary(&pt, &before_gmtoff, &before_isdst, &boundary,
							 &after_gmtoff, &after_isdst, w->tz);
	w->next_r = r;
	w->next_gmtoff = before_gmtoff;
	w->next_until = r == 1 ? time_t_to_timestamptz(boundary) : DT_NOEND;
	if (r < 0)
		return;
	if (r == 1 && w->next_until - w->cache_until < CACHE_MARGIN)
		return;
	w->cache_hi_guard = Max(w->cache_gmtoff - (int64) before_gmtoff, 0) * USECS_PER_SEC;
}

/*
 * The instant of local day jd (julian), minute m (may exceed 1440), resolved
 * as PostgreSQL resolves a timestamp without time zone in the walk's zone.
 */
static TimestampTz
local_to_utc(SlaWalk *w, int jd, int m)
{
	Timestamp	local;
	TimestampTz guess;
	struct pg_tm tm;
	int			tzoff;

	jd += m / MIN_PER_DAY;
	m %= MIN_PER_DAY;
	local = (int64) (jd - POSTGRES_EPOCH_JDATE) * USECS_PER_DAY + (int64) m * USECS_PER_MINUTE;
	for (int attempt = 0; attempt < 2 && w->cache_valid; attempt++)
	{
		guess = local - w->cache_gmtoff * USECS_PER_SEC;
		if (guess < w->cache_from + w->cache_guard)
			break;
		if (w->cache_until == DT_NOEND || guess < w->cache_until - CACHE_MARGIN)
			return guess;
		if (guess < w->cache_until)
		{
			if (!w->cache_hi_known)
				cache_hi_compute(w);
			if (guess < w->cache_until - w->cache_hi_guard)
				return guess;
			break;
		}
		/* past the span's end: move to the next span and try once more */
		cache_refresh(w, guess);
	}
	if (jd < 0 || jd > MAX_WALK_JD)
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("timestamp out of range")));
	j2date(jd, &tm.tm_year, &tm.tm_mon, &tm.tm_mday);
	tm.tm_hour = m / 60;
	tm.tm_min = m % 60;
	tm.tm_sec = 0;
	tm.tm_isdst = -1;
	tzoff = DetermineTimeZoneOffset(&tm, w->tz);
	guess = local + (int64) tzoff * USECS_PER_SEC;
	if (!IS_VALID_TIMESTAMP(guess))
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("timestamp out of range")));
	/* keep a cache that still covers the guess (the guess was only near an edge) */
	if (!w->cache_valid || guess < w->cache_from)
		cache_refresh(w, guess - CACHE_MARGIN);
	else if (w->cache_until != DT_NOEND && guess >= w->cache_until)
		cache_refresh(w, guess);
	return guess;
}

/* Julian day of the local date of instant t. */
static int
utc_to_local_jd(SlaWalk *w, TimestampTz t)
{
	struct pg_tm tm;
	fsec_t		fsec;
	int			tzoff;

	if (timestamp2tm(t, &tzoff, &tm, &fsec, NULL, w->tz) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("timestamp out of range")));
	return date2j(tm.tm_year, tm.tm_mon, tm.tm_mday);
}

/* Weekday 0 = Monday of julian day jd. */
static inline int
jd_dow(int jd)
{
	return jd % 7;				/* julian day 0 was a Monday */
}

/* First index in spec[] with value >= jd. */
static int
spec_lower(const SlaWalk *w, int jd)
{
	int			lo = 0,
				hi = w->nspec;

	while (lo < hi)
	{
		int			mid = lo + (hi - lo) / 2;

		if (w->spec[mid] < jd)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/*
 * Whose windows local date jd has: -1 when it is closed, the weekday of its
 * works_as when it is an open (make-up) day, else its own weekday.
 */
static int
day_dow(const SlaWalk *w, int jd)
{
	if (w->nspec > 0)
	{
		int			i = spec_lower(w, jd);

		if (i < w->nspec && w->spec[i] == jd)
			return w->spec_dow[i];
	}
	return jd_dow(jd);
}

/*
 * Business minutes of a day with the windows of weekday b after a day with the
 * windows of weekday a (-1: none), nominally (constant UTC offset): b's own
 * minutes less what a's overnight window already covers after midnight.  On
 * the weekly calendar consecutive weekdays never overlap (the input refuses
 * it); a make-up day can bring windows next to a day they never follow.
 */
static int64
pair_minutes(const SlaWalk *w, int a, int b)
{
	int64		m;
	int64		spill;

	if (b < 0)
		return 0;
	m = w->day_minutes[b];
	spill = a < 0 ? 0 : w->spill_end[a];
	if (spill > 0)
	{
		const SlaInterval *s = w->s;

		for (int i = w->first[b]; i < w->first[b + 1] && s->windows[i].open < spill; i++)
			m -= Min((int64) s->windows[i].close, spill) - s->windows[i].open;
	}
	return m;
}

/* Nominal business microseconds of local day jd (0 when closed). */
static int64
day_usecs(const SlaWalk *w, int jd)
{
	int			i,
				a,
				b;
	bool		special = false;

	if (w->nspec == 0)
		return w->day_minutes[jd_dow(jd)] * USECS_PER_MINUTE;
	/* one search finds both jd - 1 and jd */
	a = jd_dow(jd - 1);
	b = jd_dow(jd);
	i = spec_lower(w, jd - 1);
	if (i < w->nspec && w->spec[i] == jd - 1)
	{
		a = w->spec_dow[i++];
		special = true;
	}
	if (i < w->nspec && w->spec[i] == jd)
	{
		b = w->spec_dow[i];
		special = true;
	}
	if (!special)
		return w->day_minutes[b] * USECS_PER_MINUTE;
	return pair_minutes(w, a, b) * USECS_PER_MINUTE;
}

/*
 * Nominal business microseconds of the local days [jd1, jd2) less those of the
 * same days on the plain weekly calendar (negative when closed days outweigh
 * open ones).  Only a special date and the day after it can differ, so the cost
 * is in the number of special dates in the stretch, not in its length.
 */
static int64
special_usecs(const SlaWalk *w, int jd1, int jd2)
{
	int64		sum = 0;
	int			last = jd1 - 1;	/* days up to here are done */

	/*
	 * The special dates are sorted and distinct, so the windows of the days
	 * next to spec[i] come from its neighbours in the list (or the weekday).
	 */
	for (int i = spec_lower(w, jd1 - 1); i < w->nspec && w->spec[i] < jd2; i++)
	{
		int			d = w->spec[i];
		int			before = i > 0 && w->spec[i - 1] == d - 1 ? w->spec_dow[i - 1] : jd_dow(d - 1);
		int			self = w->spec_dow[i];
		int			after = i + 1 < w->nspec && w->spec[i + 1] == d + 1 ? w->spec_dow[i + 1] : jd_dow(d + 1);

		if (d > last && d >= jd1)
		{
			sum += (pair_minutes(w, before, self) - w->day_minutes[jd_dow(d)]) * USECS_PER_MINUTE;
			last = d;
		}
		if (d + 1 > last && d + 1 >= jd1 && d + 1 < jd2)
		{
			sum += (pair_minutes(w, self, after) - w->day_minutes[jd_dow(d + 1)]) * USECS_PER_MINUTE;
			last = d + 1;
		}
	}
	return sum;
}

/*
 * The instant up to which the windows of local day jd - 1 run into day jd
 * (their overnight part), or jd's midnight when they do not: the clock of
 * day jd starts there after whole days were skipped.
 */
static TimestampTz
day_start(SlaWalk *w, int jd)
{
	TimestampTz mid = local_to_utc(w, jd, 0);
	int			a = w->nspec == 0 ? jd_dow(jd - 1) : day_dow(w, jd - 1);

	if (a >= 0 && w->spill_end[a] > 0)
	{
		TimestampTz e = local_to_utc(w, jd, (int) w->spill_end[a]);

		return Max(mid, e);
	}
	return mid;
}

/* The last zone a function call looked up, kept in fn_extra. */
typedef struct SlaZoneCache
{
	char		name[SLA_MAX_ZONE + 1];
	pg_tz	   *tz;
} SlaZoneCache;

/*
 * pg_tzset(name), remembering the answer for the next call of the same SQL
 * function (zones are loaded once per backend and never freed).
 */
static pg_tz *
lookup_zone(FmgrInfo *flinfo, const char *name)
{
	SlaZoneCache *zc = flinfo ? (SlaZoneCache *) flinfo->fn_extra : NULL;
	pg_tz	   *tz;

	if (zc != NULL && zc->tz != NULL && strcmp(zc->name, name) == 0)
		return zc->tz;
	if (strlen(name) > SLA_MAX_ZONE)
		return NULL;
	tz = pg_tzset(name);
	if (tz != NULL && flinfo != NULL)
	{
		if (zc == NULL)
		{
			zc = MemoryContextAllocZero(flinfo->fn_mcxt, sizeof(SlaZoneCache));
			flinfo->fn_extra = zc;
		}
		strlcpy(zc->name, name, sizeof(zc->name));
		zc->tz = tz;
	}
	return tz;
}

/* A special date while the list is built: julian day and its windows. */
typedef struct SlaSpecial
{
	int			jd;
	int			dow;			/* -1 closed, else a weekday 0..6 */
} SlaSpecial;

/* qsort order of special dates: by day, a closed day first. */
static int
special_order(const void *a, const void *b)
{
	const SlaSpecial *x = (const SlaSpecial *) a;
	const SlaSpecial *y = (const SlaSpecial *) b;

	if (x->jd != y->jd)
		return x->jd < y->jd ? -1 : 1;
	return x->dow < y->dow ? -1 : x->dow > y->dow ? 1 : 0;
}

/*
 * The elements of a one-dimensional date[] or integer[] (both 4-byte values;
 * "what" names the argument in the message).  Without NULLs the values are
 * read in place; *nulls is then NULL.
 */
static void
int4_elems(ArrayType *a, Oid elemtype, const char *what, const int32 **vals, bool **nulls, int *n)
{
	if (ARR_NDIM(a) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must be a one-dimensional array", what)));
	if (!ARR_HASNULL(a))
	{
		*n = ArrayGetNItems(ARR_NDIM(a), ARR_DIMS(a));
		*vals = (const int32 *) ARR_DATA_PTR(a);
		*nulls = NULL;
	}
	else
	{
		Datum	   *elems;
		int32	   *v;

		deconstruct_array(a, elemtype, sizeof(int32), true, TYPALIGN_INT, &elems, nulls, n);
		v = palloc(Max(*n, 1) * sizeof(int32));
		for (int i = 0; i < *n; i++)
			v[i] = (*nulls)[i] ? 0 : DatumGetInt32(elems[i]);
		*vals = v;
	}
}

/* True when the n special dates are in special_order. */
static bool
specials_sorted(const SlaSpecial *sp, int n)
{
	for (int i = 1; i < n; i++)
		if (special_order(&sp[i - 1], &sp[i]) > 0)
			return false;
	return true;
}

/*
 * Sorts n special dates of which the first nc (the closed ones) and the rest
 * (the open ones) came from two lists: the lists a ticket passes
 * (closed_dates, open_dates) are sorted already, and two sorted runs are
 * merged in one pass; anything else is sorted.  Returns the sorted array
 * (sp itself, or a new one when sp was freed).
 */
static SlaSpecial *
specials_sort(SlaSpecial *sp, int nc, int n)
{
	SlaSpecial *out;
	int			a = 0,
				b = nc,
				k = 0;

	if (!specials_sorted(sp, nc) || !specials_sorted(sp + nc, n - nc))
	{
		qsort(sp, n, sizeof(SlaSpecial), special_order);
		return sp;
	}
	if (nc == 0 || nc == n || special_order(&sp[nc - 1], &sp[nc]) <= 0)
		return sp;
	out = palloc(n * sizeof(SlaSpecial));
	while (a < nc && b < n)
		out[k++] = special_order(&sp[a], &sp[b]) <= 0 ? sp[a++] : sp[b++];
	while (a < nc)
		out[k++] = sp[a++];
	while (b < n)
		out[k++] = sp[b++];
	pfree(sp);
	return out;
}

/*
 * Sets up a walk: the zone (value's, else default_zone, else the session's),
 * closed dates from a date[] (NULLs and infinities ignored, duplicates
 * removed; may be NULL), open (make-up) dates from a date[] with the
 * weekdays whose windows they use from an integer[] of ISO weekdays 1..7
 * (open_as NULL: Monday for every date).  open has no NULL or infinite
 * element and open_as, when given, is as long as open and has no NULL and no
 * value outside 1..7 (22023 otherwise).  A date both closed and open is
 * closed; a date given open twice with two different weekdays is refused.
 */
static void
walk_init(SlaWalk *w, const SlaInterval *s, ArrayType *closed, text *default_zone,
		  ArrayType *open, ArrayType *open_as, FmgrInfo *flinfo)
{
	int			i;
	SlaSpecial *sp = NULL;
	int			nsp = 0;

	memset(w, 0, sizeof(SlaWalk));
	w->s = s;
	if (SLA_ZONE(s)[0] != '\0')
		w->tz = lookup_zone(flinfo, SLA_ZONE(s));
	else if (default_zone != NULL)
	{
		char	   *name = text_to_cstring(default_zone);

		w->tz = lookup_zone(flinfo, name);
		if (w->tz == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("time zone \"%s\" not recognized", name)));
	}
	else
		w->tz = session_timezone;
	if (w->tz == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("time zone \"%s\" not recognized", SLA_ZONE(s))));

	for (i = 0; i < s->nwindows; i++)
	{
		const SlaWindow *win = &s->windows[i];

		w->day_minutes[win->dow] += win->close - win->open;
		if (win->close > MIN_PER_DAY)
			w->spill_end[win->dow] = win->close - MIN_PER_DAY;
	}
	for (i = 0; i < 7; i++)
		w->week_usecs += w->day_minutes[i] * USECS_PER_MINUTE;
	{
		int			d = 0;

		for (i = 0; i < s->nwindows; i++)
			while (d <= s->windows[i].dow)
				w->first[d++] = i;
		while (d <= 7)
			w->first[d++] = s->nwindows;
	}

	if (closed != NULL || open != NULL || open_as != NULL)
	{
		const int32 *celems = NULL,
				   *oelems = NULL,
				   *aelems = NULL;
		bool	   *cnulls = NULL,
				   *onulls = NULL,
				   *anulls = NULL;
		int			nc = 0,
					no = 0,
					na = 0,
					nclosed,
					k;

		if (closed != NULL)
			int4_elems(closed, DATEOID, "closed dates", &celems, &cnulls, &nc);
		if (open != NULL)
			int4_elems(open, DATEOID, "open dates", &oelems, &onulls, &no);
		if (open_as != NULL)
		{
			int4_elems(open_as, INT4OID, "open_as", &aelems, &anulls, &na);
			if (na != no)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("open_as must have one weekday per open date"),
						 errdetail("Open dates: %d; weekdays: %d.", no, na)));
		}
		sp = palloc(Max(nc + no, 1) * sizeof(SlaSpecial));
		for (i = 0; i < nc; i++)
		{
			DateADT		d;

			if (cnulls != NULL && cnulls[i])
				continue;
			d = celems[i];
			if (DATE_NOT_FINITE(d))
				continue;
			sp[nsp].jd = d + POSTGRES_EPOCH_JDATE;
			sp[nsp++].dow = -1;
		}
		nclosed = nsp;
		for (i = 0; i < no; i++)
		{
			DateADT		d;
			int32		as = 1;

			if (onulls != NULL && onulls[i])
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("open dates must not contain NULL")));
			d = oelems[i];
			if (DATE_NOT_FINITE(d))
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("open dates must be finite")));
			if (aelems != NULL)
			{
				if (anulls != NULL && anulls[i])
					ereport(ERROR,
							(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
							 errmsg("open_as must not contain NULL")));
				as = aelems[i];
				if (as < 1 || as > 7)
					ereport(ERROR,
							(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
							 errmsg("open_as weekday %d is out of range", as),
							 errdetail("Weekdays are 1 (Monday) to 7 (Sunday).")));
			}
			sp[nsp].jd = d + POSTGRES_EPOCH_JDATE;
			sp[nsp++].dow = as - 1;
		}
		/* sorted by day, closed (-1) first: the first entry of a day wins */
		sp = specials_sort(sp, nclosed, nsp);
		w->spec = palloc(Max(nsp, 1) * sizeof(int));
		w->spec_dow = palloc(Max(nsp, 1) * sizeof(int8));
		k = 0;
		for (i = 0; i < nsp; i++)
		{
			if (k > 0 && w->spec[k - 1] == sp[i].jd)
			{
				if (w->spec_dow[k - 1] >= 0 && w->spec_dow[k - 1] != sp[i].dow)
					ereport(ERROR,
							(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
							 errmsg("open date \"%s\" is given with two weekdays",
									DatumGetCString(DirectFunctionCall1(date_out,
																		DateADTGetDatum(sp[i].jd - POSTGRES_EPOCH_JDATE)))),
							 errdetail("Weekdays %d and %d.", w->spec_dow[k - 1] + 1, sp[i].dow + 1)));
				continue;
			}
			w->spec[k] = sp[i].jd;
			w->spec_dow[k++] = (int8) sp[i].dow;
		}
		w->nspec = k;
		pfree(sp);
	}
}

/*
 * How many whole local days starting at local midnight jd (instant mid) have
 * all their windows, overnight parts included, in one span of constant UTC
 * offset: their business time is then the nominal one.
 */
static int64
days_constant(SlaWalk *w, int jd, TimestampTz mid)
{
	int64		days;
	TimestampTz u;

	if (!w->cache_valid || mid < w->cache_from || (w->cache_until != DT_NOEND && mid >= w->cache_until))
		cache_refresh(w, mid);
	if (!w->cache_valid)
		return 0;

	/*
	 * The day's local midnight must map regularly into the span: a midnight
	 * in the gap of a forward jump at the span's start resolves before it.
	 */
	u = (int64) (jd - POSTGRES_EPOCH_JDATE) * USECS_PER_DAY - w->cache_gmtoff * USECS_PER_SEC;
	if (u < w->cache_regular)
		return 0;
	if (w->cache_until == DT_NOEND)
		return Max(MAX_WALK_JD + 8 - jd, 0);	/* the walk ends there anyway */
	/* near the span's end, learn how close to it local times stay regular */
	if (!w->cache_hi_known && w->cache_until - u < 10 * USECS_PER_DAY)
		cache_hi_compute(w);
	days = (w->cache_until - u - (w->cache_hi_known ? w->cache_hi_guard : CACHE_MARGIN)) / USECS_PER_DAY - 2;
	return days < 0 ? 0 : days;
}


/*
 * The earliest instant at which `amount` microseconds of business time have
 * elapsed since start (amount >= 0).
 */
static TimestampTz
walk_advance(SlaWalk *w, TimestampTz start, int64 amount)
{
	const SlaInterval *s = w->s;
	TimestampTz lo = start;
	int64		remaining = amount;
	int			jd;

	if (remaining == 0)
		return start;
	jd = utc_to_local_jd(w, start) - 1;
	cache_refresh(w, start - 4 * USECS_PER_DAY);	/* covers jd's midnight on */
	for (;;)
	{
		int			dow,
					i;

		CHECK_FOR_INTERRUPTS();
		if (jd > MAX_WALK_JD)
			ereport(ERROR,
					(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
					 errmsg("timestamp out of range")));
		/*
		 * Skip whole weeks, then whole days, arithmetically while nothing of
		 * them is before start, their UTC offset is constant and the target is
		 * not reached in them.
		 */
		{
			TimestampTz mid = local_to_utc(w, jd, 0);

			if (mid >= start)
			{
				int64		avail = days_constant(w, jd, mid);
				int64		k = Min(avail / 7, (remaining - 1) / w->week_usecs);
				bool		skipped = false;

				if (k > 0)
				{
					int64		got = k * w->week_usecs + special_usecs(w, jd, jd + 7 * (int) k);

					/*
					 * Open days can make the weeks hold more than remains:
					 * then take fewer (the largest number that holds less).
					 */
					if (got >= remaining)
					{
						/* first one step back by the excess, then halve */
						int64		back = (got - remaining) / w->week_usecs + 1;
						int64		lo_k = 0,
									hi_k = k;

						if (back < k)
						{
							int64		g2 = (k - back) * w->week_usecs +
								special_usecs(w, jd, jd + 7 * (int) (k - back));

							if (g2 < remaining)
								lo_k = k - back;
							else
								hi_k = k - back;
						}

						while (hi_k - lo_k > 1)
						{
							int64		m = lo_k + (hi_k - lo_k) / 2;

							if (m * w->week_usecs + special_usecs(w, jd, jd + 7 * (int) m) < remaining)
								lo_k = m;
							else
								hi_k = m;
						}
						k = lo_k;
						got = k * w->week_usecs + special_usecs(w, jd, jd + 7 * (int) k);
					}
					if (k > 0)
					{
						remaining -= got;
						jd += 7 * (int) k;
						avail -= 7 * k;
						skipped = true;
					}
				}
				while (avail > 0)
				{
					int64		b = day_usecs(w, jd);

					if (b >= remaining)
						break;
					remaining -= b;
					jd++;
					avail--;
					skipped = true;
				}
				if (skipped)
					lo = Max(lo, day_start(w, jd));
			}
		}
		dow = day_dow(w, jd);
		if (dow >= 0)
		{
			for (i = w->first[dow]; i < w->first[dow + 1]; i++)
			{
				TimestampTz o = local_to_utc(w, jd, s->windows[i].open);
				TimestampTz c = local_to_utc(w, jd, s->windows[i].close);

				if (o < lo)
					o = lo;
				if (c <= o)
					continue;
				if (remaining <= c - o)
					return o + remaining;
				remaining -= c - o;
				lo = c;
			}
		}
		jd++;
	}
}

/* Business microseconds in [from, to] (from <= to). */
static int64
walk_elapsed(SlaWalk *w, TimestampTz from, TimestampTz to)
{
	const SlaInterval *s = w->s;
	TimestampTz lo = from;
	int64		total = 0;
	int			jd;

	jd = utc_to_local_jd(w, from) - 1;
	cache_refresh(w, from - 4 * USECS_PER_DAY);	/* covers jd's midnight on */
	for (;;)
	{
		TimestampTz mid = local_to_utc(w, jd, 0);
		int			dow,
					i;

		CHECK_FOR_INTERRUPTS();
		if (jd > MAX_WALK_JD)
			ereport(ERROR,
					(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
					 errmsg("timestamp out of range")));
		if (mid >= to)
			break;
		/* whole weeks, then whole days, that end before `to` */
		if (mid >= from && to - mid > 3 * USECS_PER_DAY)
		{
			int64		avail = Min(days_constant(w, jd, mid), (to - mid) / USECS_PER_DAY - 2);
			int64		k = avail / 7;

			if (avail > 0)
			{
				if (k > 0)
				{
					total += k * w->week_usecs + special_usecs(w, jd, jd + 7 * (int) k);
					jd += 7 * (int) k;
					avail -= 7 * k;
				}
				while (avail > 0)
				{
					total += day_usecs(w, jd);
					jd++;
					avail--;
				}
				lo = Max(lo, day_start(w, jd));
				continue;
			}
		}
		dow = day_dow(w, jd);
		if (dow >= 0)
		{
			for (i = w->first[dow]; i < w->first[dow + 1]; i++)
			{
				TimestampTz o = local_to_utc(w, jd, s->windows[i].open);
				TimestampTz c = local_to_utc(w, jd, s->windows[i].close);

				if (o < lo)
					o = lo;
				if (c > to)
					c = to;
				if (c <= o)
					continue;
				total += c - o;
				lo = c;
			}
		}
		jd++;
	}
	return total;
}

/* Refuses an infinite instant where a finite one is needed. */
static void
check_finite(TimestampTz t)
{
	if (TIMESTAMP_NOT_FINITE(t))
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("timestamp out of range"),
				 errdetail("SLA computations need finite instants.")));
}

/* start plus amount microseconds of the value's clock (wall or business). */
static TimestampTz
sla_advance_internal(const SlaInterval *s, TimestampTz start, int64 amount,
					 ArrayType *closed, text *default_zone, ArrayType *open,
					 ArrayType *open_as, FmgrInfo *flinfo)
{
	TimestampTz result;

	check_finite(start);
	if (!SLA_IS_BUSINESS(s))
	{
		if (pg_add_s64_overflow(start, amount, &result) || !IS_VALID_TIMESTAMP(result))
			ereport(ERROR,
					(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
					 errmsg("timestamp out of range")));
		return result;
	}
	else
	{
		SlaWalk		w;

		walk_init(&w, s, closed, default_zone, open, open_as, flinfo);
		result = walk_advance(&w, start, amount);
		if (!IS_VALID_TIMESTAMP(result))
			ereport(ERROR,
					(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
					 errmsg("timestamp out of range")));
		return result;
	}
}

/* timestamptz + sla_interval: the deadline, no closed dates. */
Datum
sla_interval_add(PG_FUNCTION_ARGS)
{
	TimestampTz start = PG_GETARG_TIMESTAMPTZ(0);
	SlaInterval *s = PG_GETARG_SLA(1);

	PG_RETURN_TIMESTAMPTZ(sla_advance_internal(s, start, (int64) s->target * USECS_PER_MINUTE, NULL, NULL,
												NULL, NULL, fcinfo->flinfo));
}

/*
 * Argument n of the call as an array, NULL when it is SQL NULL or absent (a
 * declaration from before the argument existed calls with fewer).
 */
#define OPT_ARRAY(n) \
	(PG_NARGS() > (n) && !PG_ARGISNULL(n) ? PG_GETARG_ARRAYTYPE_P(n) : NULL)

/*
 * sla_deadline(sla_interval, start, closed date[], default_zone text,
 * open date[], open_as integer[]).
 */
Datum
sla_interval_deadline(PG_FUNCTION_ARGS)
{
	SlaInterval *s;
	ArrayType  *closed = PG_ARGISNULL(2) ? NULL : PG_GETARG_ARRAYTYPE_P(2);
	text	   *zone = PG_ARGISNULL(3) ? NULL : PG_GETARG_TEXT_PP(3);
	ArrayType  *open = OPT_ARRAY(4);
	ArrayType  *open_as = OPT_ARRAY(5);

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		PG_RETURN_NULL();
	s = PG_GETARG_SLA(0);
	PG_RETURN_TIMESTAMPTZ(sla_advance_internal(s, PG_GETARG_TIMESTAMPTZ(1),
											   (int64) s->target * USECS_PER_MINUTE, closed, zone,
											   open, open_as, fcinfo->flinfo));
}

/*
 * sla_advance(sla_interval, start, amount interval, closed date[],
 * default_zone text, open date[], open_as integer[]).
 */
Datum
sla_interval_advance(PG_FUNCTION_ARGS)
{
	SlaInterval *s;
	Interval   *amount;
	ArrayType  *closed = PG_ARGISNULL(3) ? NULL : PG_GETARG_ARRAYTYPE_P(3);
	text	   *zone = PG_ARGISNULL(4) ? NULL : PG_GETARG_TEXT_PP(4);
	ArrayType  *open = OPT_ARRAY(5);
	ArrayType  *open_as = OPT_ARRAY(6);

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2))
		PG_RETURN_NULL();
	s = PG_GETARG_SLA(0);
	amount = PG_GETARG_INTERVAL_P(2);
	if (amount->month != 0 || amount->day != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("business time must be given in hours, minutes and seconds"),
				 errhint("Use justify_hours() in reverse, e.g. interval '48 hours' rather than '2 days'.")));
	if (amount->time < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("business time to add must not be negative")));
	if (amount->time > (int64) SLA_MAX_MINUTES * 10 * USECS_PER_MINUTE)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("business time to add must be at most 1000000 hours")));
	PG_RETURN_TIMESTAMPTZ(sla_advance_internal(s, PG_GETARG_TIMESTAMPTZ(1), amount->time, closed, zone,
											   open, open_as, fcinfo->flinfo));
}

/*
 * sla_elapsed(sla_interval, from, to, closed date[], default_zone text,
 * open date[], open_as integer[]): negative when to < from.
 */
Datum
sla_interval_elapsed(PG_FUNCTION_ARGS)
{
	SlaInterval *s;
	TimestampTz from,
				to;
	ArrayType  *closed = PG_ARGISNULL(3) ? NULL : PG_GETARG_ARRAYTYPE_P(3);
	text	   *zone = PG_ARGISNULL(4) ? NULL : PG_GETARG_TEXT_PP(4);
	ArrayType  *open = OPT_ARRAY(5);
	ArrayType  *open_as = OPT_ARRAY(6);
	Interval   *r;
	bool		negate = false;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2))
		PG_RETURN_NULL();
	s = PG_GETARG_SLA(0);
	from = PG_GETARG_TIMESTAMPTZ(1);
	to = PG_GETARG_TIMESTAMPTZ(2);
	check_finite(from);
	check_finite(to);
	if (to < from)
	{
		TimestampTz t = from;

		from = to;
		to = t;
		negate = true;
	}
	r = palloc0(sizeof(Interval));
	if (!SLA_IS_BUSINESS(s))
		r->time = to - from;
	else
	{
		SlaWalk		w;

		walk_init(&w, s, closed, zone, open, open_as, fcinfo->flinfo);
		r->time = walk_elapsed(&w, from, to);
	}
	if (negate)
		r->time = -r->time;
	PG_RETURN_INTERVAL_P(r);
}

/* Longest stretch sla_windows() walks: ten years of local days. */
#define SLA_MAX_WINDOW_DAYS	3660

/* Puts the business window [s, e) clipped to [from, to) into the result,
 * merged with the window before it when they meet or overlap (*have: a window
 * is pending in *cur_s, *cur_e). */
static void
windows_add(Tuplestorestate *store, TupleDesc tupdesc, TimestampTz from, TimestampTz to,
			TimestampTz s, TimestampTz e, bool *have, TimestampTz *cur_s, TimestampTz *cur_e)
{
	Datum		values[2];
	bool		nulls[2] = {false, false};

	s = Max(s, from);
	e = Min(e, to);
	if (s >= e)
		return;
	if (*have && s <= *cur_e)
	{
		*cur_e = Max(*cur_e, e);
		return;
	}
	if (*have)
	{
		values[0] = TimestampTzGetDatum(*cur_s);
		values[1] = TimestampTzGetDatum(*cur_e);
		tuplestore_putvalues(store, tupdesc, values, nulls);
	}
	*have = true;
	*cur_s = s;
	*cur_e = e;
}

/*
 * sla_windows(sla_interval, from_ts, to_ts, closed date[], default_zone text,
 * open date[], open_as integer[]) RETURNS TABLE (starts, ends): the business
 * windows of the value's calendar (with the closed and open dates) that meet
 * [from_ts, to_ts), clipped to it, in time order, windows that touch merged.
 * A wall-clock value gives the whole stretch.  Their lengths add up to
 * sla_elapsed over the same stretch.  The stretch is at most 3660 days
 * (54000).
 */
Datum
sla_interval_windows(PG_FUNCTION_ARGS)
{
	TupleDesc	tupdesc;
	Tuplestorestate *store;
	SlaInterval *s;
	TimestampTz from,
				to;
	ArrayType  *closed;
	text	   *zone;
	ArrayType  *open;
	ArrayType  *open_as;
	bool		have = false;
	TimestampTz cur_s = 0,
				cur_e = 0;

	store = repairsys_materialize(fcinfo, &tupdesc);

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2))
		return (Datum) 0;
	s = PG_GETARG_SLA(0);
	from = PG_GETARG_TIMESTAMPTZ(1);
	to = PG_GETARG_TIMESTAMPTZ(2);
	check_finite(from);
	check_finite(to);
	closed = PG_ARGISNULL(3) ? NULL : PG_GETARG_ARRAYTYPE_P(3);
	zone = PG_ARGISNULL(4) ? NULL : PG_GETARG_TEXT_PP(4);
	open = OPT_ARRAY(5);
	open_as = OPT_ARRAY(6);
	if (to <= from)
		return (Datum) 0;
	if (to - from > (int64) SLA_MAX_WINDOW_DAYS * USECS_PER_DAY)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("a stretch of windows must be at most %d days", SLA_MAX_WINDOW_DAYS)));
	if (!SLA_IS_BUSINESS(s))
		windows_add(store, tupdesc, from, to, from, to, &have, &cur_s, &cur_e);
	else
	{
		SlaWalk		w;
		int			jd1,
					jd2;

		walk_init(&w, s, closed, zone, open, open_as, fcinfo->flinfo);
		/* the day before: its overnight windows may run into the stretch */
		jd1 = utc_to_local_jd(&w, from) - 1;
		jd2 = utc_to_local_jd(&w, to);
		for (int jd = jd1; jd <= jd2; jd++)
		{
			int			d = day_dow(&w, jd);

			CHECK_FOR_INTERRUPTS();
			if (d < 0)
				continue;
			for (int i = w.first[d]; i < w.first[d + 1]; i++)
			{
				TimestampTz ws = local_to_utc(&w, jd, s->windows[i].open);
				TimestampTz we = local_to_utc(&w, jd, s->windows[i].close);

				windows_add(store, tupdesc, from, to, ws, we, &have, &cur_s, &cur_e);
			}
		}
	}
	if (have)
	{
		Datum		values[2];
		bool		nulls[2] = {false, false};

		values[0] = TimestampTzGetDatum(cur_s);
		values[1] = TimestampTzGetDatum(cur_e);
		tuplestore_putvalues(store, tupdesc, values, nulls);
	}
	return (Datum) 0;
}
