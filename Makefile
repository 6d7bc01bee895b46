# repairsys: PGXS build.
#
# Every C file in src/ is part of the module, every piece in src/sql/ is part of
# the install script (concatenated in file-name order), every file in sql/ is a
# pg_regress test, every spec in test/isolation/specs/ an isolation test.  A new
# feature adds files; it does not have to edit this Makefile.

EXTENSION  = repairsys
# The extension version (SQL script name) is the major.minor of META.json's version.
EXTVERSION = $(shell sed -n 's/^ *"version": *"\([0-9]*\.[0-9]*\)\.[0-9]*".*/\1/p' META.json | head -1)

MODULE_big = repairsys
OBJS       = $(patsubst %.c,%.o,$(sort $(wildcard src/*.c)))

SQL_PIECES = $(sort $(wildcard src/sql/*.sql))
DATA_built = repairsys--$(EXTVERSION).sql
DATA       = $(filter-out $(DATA_built),$(wildcard repairsys--*.sql))

REGRESS      = $(sort $(basename $(notdir $(wildcard sql/*.sql))))
REGRESS_OPTS = --load-extension=repairsys

ISOLATION      = $(sort $(basename $(notdir $(wildcard test/isolation/specs/*.spec))))
ISOLATION_OPTS = --inputdir=test/isolation --load-extension=repairsys

PG_CFLAGS = -Wall -Wextra -Wno-unused-parameter -Wno-sign-compare -Wno-missing-field-initializers

EXTRA_CLEAN = repairsys--$(EXTVERSION).sql results/ regression.* output_iso/

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

repairsys--$(EXTVERSION).sql: $(SQL_PIECES)
	cat $(SQL_PIECES) > $@

.PHONY: test demo bench
test:
	bash test/run.sh
demo:
	bash test/demo.sh
