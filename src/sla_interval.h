/*
 * sla_interval.h
 *		The on-disk form of the sla_interval type, shared by the type itself
 *		(sla_interval.c: text and binary I/O, comparison, hashing) and the
 *		calendar walk (sla_calendar.c: deadline, elapsed, advance).
 *
 * docs/sla.md describes the text form and the rules.
 */
#ifndef REPAIRSYS_SLA_INTERVAL_H
#define REPAIRSYS_SLA_INTERVAL_H

#include "postgres.h"
#include "fmgr.h"
#include "pgtime.h"

#define SLA_VERSION			1
#define SLA_FLAG_BUSINESS	0x01
#define SLA_MAX_WINDOWS		112		/* 16 per weekday */
#define SLA_MAX_MINUTES		(100000 * 60)	/* 100000 hours */
#define SLA_MAX_ZONE		TZ_STRLEN_MAX
#define MIN_PER_DAY			1440

/*
 * One window: opens on weekday dow (0 = Monday) at minute open of that local
 * day and closes at minute close counted from the same midnight, so
 * open < close <= open + 1440 (close > 1440: overnight).
 */
typedef struct SlaWindow
{
	int16		dow;
	int16		open;
	int16		close;
} SlaWindow;

/*
 * On-disk form.  Windows are sorted by (dow, open) and never overlap on the
 * weekly cycle; the zone name (canonical spelling, "" for the session's
 * TimeZone) follows the windows, NUL-terminated.  Built with palloc0 so equal
 * values are equal bytes (the hash relies on it).
 */
typedef struct SlaInterval
{
	int32		vl_len_;
	uint8		version;
	uint8		flags;
	int16		nwindows;
	int32		target;			/* minutes */
	SlaWindow	windows[FLEXIBLE_ARRAY_MEMBER];
} SlaInterval;

#define SLA_ZONE(s)	((const char *) ((s)->windows + (s)->nwindows))
#define SLA_IS_BUSINESS(s)	(((s)->flags & SLA_FLAG_BUSINESS) != 0)
#define DatumGetSlaInterval(x)	((SlaInterval *) PG_DETOAST_DATUM(x))
#define PG_GETARG_SLA(n)	DatumGetSlaInterval(PG_GETARG_DATUM(n))

#endif							/* REPAIRSYS_SLA_INTERVAL_H */
