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

# Versions (docs/upgrading.md): the pieces in src/sql/ hold the current
# definition of every object and build the full script of the current version,
# repairsys--$(EXTVERSION).sql.  Released full scripts (repairsys--1.0.sql,
# repairsys--1.1.sql) and every upgrade script repairsys--A--B.sql are
# committed at the top and never edited once released.
SQL_PIECES = $(sort $(wildcard src/sql/*.sql))
DATA_built = repairsys--$(EXTVERSION).sql
DATA       = $(filter-out $(DATA_built),$(wildcard repairsys--*.sql))

REGRESS      = $(sort $(basename $(notdir $(wildcard sql/*.sql))))
REGRESS_OPTS = --load-extension=repairsys
# A test that needs a newer server says so in a line "-- needs PostgreSQL NN"
# (sql/soft_errors.sql: 16, sql/soft_errors_copy.sql: 17); on an older server
# it is left out of REGRESS, also when REGRESS is given on the command line,
# and named in REGRESS_SKIPPED (`make print-skipped`) so the test command can
# report it as skipped.
REGRESS_NEEDS = $(shell sed -n 's/^-- needs PostgreSQL \([0-9][0-9]*\).*/\1/p' $(1) | head -1)

ISOLATION      = $(sort $(basename $(notdir $(wildcard test/isolation/specs/*.spec))))
ISOLATION_OPTS = --inputdir=test/isolation --load-extension=repairsys

PG_CFLAGS = -Wall -Wextra -Wno-unused-parameter -Wno-sign-compare -Wno-missing-field-initializers

EXTRA_CLEAN = $(DATA_built) results/ regression.* output_iso/

PG_CONFIG ?= pg_config
# The server's major version, from "PostgreSQL 17.12 (Debian ...)".
PG_MAJOR := $(shell $(PG_CONFIG) --version | sed -n 's/^PostgreSQL \([0-9][0-9]*\).*/\1/p')
REGRESS_SKIPPED := $(sort $(foreach f,$(wildcard sql/*.sql),$(if $(shell [ "$(call REGRESS_NEEDS,$(f))" -gt "$(PG_MAJOR)" ] 2>/dev/null && echo y),$(basename $(notdir $(f))))))
override REGRESS := $(filter-out $(REGRESS_SKIPPED),$(REGRESS))
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

repairsys--$(EXTVERSION).sql: $(SQL_PIECES)
	cat $(SQL_PIECES) > $@

.PHONY: test demo bench print-skipped
# The regression tests this server is too old for, one line, space-separated.
print-skipped:
	@echo $(REGRESS_SKIPPED)
test:
	bash test/run.sh
demo:
	bash test/demo.sh

# docs/reference.md, generated from the catalog (test/reference.sh).  Needs the
# build installed (make install) and a running server that psql reaches through
# PGHOST/PGPORT/PGUSER, on which this role may create and drop the scratch
# database $(REFERENCE_DB): it is created, gets CREATE EXTENSION repairsys, is
# read, and is dropped.  Without a server: bash test/run.sh --reference (builds,
# installs, and runs this on a throwaway cluster).  test/t/reference.sh fails
# when the committed file differs from what the catalog says.
REFERENCE_DB   ?= repairsys_reference
REFERENCE_PSQL  = $(shell $(PG_CONFIG) --bindir)/psql -X -q -v ON_ERROR_STOP=1
.PHONY: reference
reference:
	@$(REFERENCE_PSQL) -d postgres -c "SET client_min_messages = warning" -c "DROP DATABASE IF EXISTS $(REFERENCE_DB)" -c 'CREATE DATABASE $(REFERENCE_DB)'
	@rc=0; \
	$(REFERENCE_PSQL) -d $(REFERENCE_DB) -c 'CREATE EXTENSION repairsys' \
	  && PG_CONFIG='$(PG_CONFIG)' bash test/reference.sh -d $(REFERENCE_DB) >docs/reference.md.new \
	  && mv docs/reference.md.new docs/reference.md || rc=$$?; \
	rm -f docs/reference.md.new; \
	$(REFERENCE_PSQL) -d postgres -c "SET client_min_messages = warning" -c "DROP DATABASE IF EXISTS $(REFERENCE_DB)"; \
	[ $$rc -eq 0 ] && echo "docs/reference.md regenerated from the catalog"; exit $$rc
