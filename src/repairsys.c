/*
 * repairsys.c
 *		Module entry point of the repairsys extension.
 *
 * The types and kernels live in one file per concern (fee_tier.c,
 * sla_interval.c, scoring.c, assign.c, forecast.c, ...); this file only
 * carries the module magic block.
 */
#include "postgres.h"
#include "fmgr.h"

PG_MODULE_MAGIC;
