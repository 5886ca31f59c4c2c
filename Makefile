# The agent toolchain: agentd, agent-bundle, agent-install.
#
#   make            build the three static (musl) programs into build/bin/
#   make check      every test: unit (cmocka), integration (sh), short fuzz runs
#   make sanitize   the unit tests again, built with glibc + ASan/UBSan
#   make lint       banned functions, shellcheck, clang-format
#   make demo       the newcomer's tour (see README.md)
#   make install    DESTDIR=... PREFIX=...
#   make clean      remove build/ (keeps the fetched source packages: make distclean)
#
# Sources are discovered, not listed: a module is a .c/.h pair in lib/, agent/,
# bundle/ or installer/; each program's main.c is its entry point; unit tests
# are tests/unit/test_*.c; fuzz targets are tests/fuzz/fuzz_*.c.

.DELETE_ON_ERROR:
.SECONDARY:
.SUFFIXES:
SHELL := /bin/sh

include deps/versions.mk

BUILD    := build
PREFIX   ?= /usr/local
DESTDIR  ?=
VERSION  ?= $(shell cat VERSION 2>/dev/null || git describe --tags --always 2>/dev/null || echo 0.0.0)
JOBS     := $(shell nproc 2>/dev/null || echo 2)
# V=1 shows full compiler command lines
V ?= 0
ifeq ($(V),1)
Q :=
say = @:
else
Q := @
say = @printf '  %-6s %s\n' '$(1)' '$(2)'
endif

# ---------------------------------------------------------------- toolchains
MUSL_CC  := musl-gcc
GLIBC_CC := gcc
FUZZ_CC  := clang

WARN := -Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
        -Wformat=2 -Wvla -Wwrite-strings -Wundef -Wimplicit-fallthrough
ifeq ($(CI),true)
WERROR ?= -Werror
endif
WERROR ?=

BASE_CFLAGS := -std=c11 -D_GNU_SOURCE $(WARN) $(WERROR) -Ilib -Iagent -Ibundle -Iinstaller \
               -MMD -MP -ffile-prefix-map=$(CURDIR)=.

SYSROOT_MUSL  := $(BUILD)/sysroot
SYSROOT_GLIBC := $(BUILD)/sysroot-glibc

# variant: musl (shipped programs and `make check`), asan (make sanitize), fuzz
CFLAGS_musl := $(BASE_CFLAGS) -O2 -g -ffunction-sections -fdata-sections -isystem $(SYSROOT_MUSL)/include
CFLAGS_asan := $(BASE_CFLAGS) -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined \
               -fno-sanitize-recover=undefined -isystem $(SYSROOT_GLIBC)/include
CFLAGS_fuzz := $(filter-out -Wimplicit-fallthrough -MMD -MP,$(BASE_CFLAGS)) -MMD -MP -O1 -g \
               -fsanitize=fuzzer-no-link,address,undefined -isystem $(SYSROOT_GLIBC)/include
LDFLAGS_musl := -static -Wl,--gc-sections -L$(SYSROOT_MUSL)/lib
LDFLAGS_asan := -fsanitize=address,undefined -L$(SYSROOT_GLIBC)/lib
LDFLAGS_fuzz := -fsanitize=fuzzer,address,undefined -L$(SYSROOT_GLIBC)/lib
CC_musl := $(MUSL_CC)
CC_asan := $(GLIBC_CC)
CC_fuzz := $(FUZZ_CC)

DEP_LIBS := -lmbedtls -lmbedx509 -lmbedcrypto -larchive -lz

# ---------------------------------------------------------------- sources
LIB_SRC       := $(sort $(wildcard lib/*.c))
AGENT_SRC     := $(sort $(filter-out agent/main.c,$(wildcard agent/*.c)))
BUNDLE_SRC    := $(sort $(filter-out bundle/main.c,$(wildcard bundle/*.c)))
INSTALLER_SRC := $(sort $(filter-out installer/main.c,$(wildcard installer/*.c)))
UNIT_SRC      := $(sort $(wildcard tests/unit/test_*.c))
UNIT_HELPERS  := $(sort $(filter-out $(UNIT_SRC),$(wildcard tests/unit/*.c)))
FUZZ_SRC      := $(sort $(wildcard tests/fuzz/fuzz_*.c))
TOOL_SRC      := $(sort $(wildcard tests/tools/*.c))

PROGRAMS := $(BUILD)/bin/agentd $(BUILD)/bin/agent-bundle $(BUILD)/bin/agent-install

obj = $(patsubst %.c,$(BUILD)/$(1)/obj/%.o,$(2))
# libraries of a variant, in link order
libs = $(BUILD)/$(1)/libagent.a $(BUILD)/$(1)/libbundle.a $(BUILD)/$(1)/libinstaller.a \
       $(BUILD)/$(1)/libcommon.a

.PHONY: all check unit integration fuzz sanitize lint demo install clean distclean deps \
        packages release bench format tools check-reproducible print-bundle-stage versioned
all: $(PROGRAMS)

# ---------------------------------------------------------------- apt packages
# Every package the build, tests and demo need is listed in deps/packages.txt;
# deps/packages.sh installs what is missing (as root) or says what to install.
$(BUILD)/.packages: deps/packages.txt deps/packages.sh
	@mkdir -p $(BUILD)
	sh deps/packages.sh deps/packages.txt
	@touch $@
packages: $(BUILD)/.packages

# ---------------------------------------------------------------- dependencies
DEPS_SPEC := zlib=$(ZLIB_DEB) mbedtls=$(MBEDTLS_DEB) libarchive=$(LIBARCHIVE_DEB) cmocka=$(CMOCKA_DEB)

$(BUILD)/deps/fetched.stamp: deps/versions.mk deps/apt-source.sh
	@mkdir -p $(@D)
	DEPS_EXTRA_SUITES="$(filter-out trixie trixie-updates trixie-security,$(DEPS_SUITES))" \
	  sh deps/apt-source.sh $(BUILD)/deps/apt $(BUILD)/deps/src $(DEPS_SPEC)
	@touch $@

# $(1) sysroot, $(2) compiler, $(3) work dir
define dep_rules
$(1)/.zlib: $(BUILD)/deps/fetched.stamp deps/build-dep.sh
	sh deps/build-dep.sh zlib '$(ZLIB_DEB)' $(BUILD)/deps/src $(3) $(abspath $(1)) $(2)
	@touch $$@
$(1)/.mbedtls: $(BUILD)/deps/fetched.stamp deps/build-dep.sh deps/mbedtls_config.h deps/mbedtls-gcm-aesni-bulk.patch
	sh deps/build-dep.sh mbedtls '$(MBEDTLS_DEB)' $(BUILD)/deps/src $(3) $(abspath $(1)) $(2)
	@touch $$@
$(1)/.libarchive: $(1)/.zlib deps/build-dep.sh
	sh deps/build-dep.sh libarchive '$(LIBARCHIVE_DEB)' $(BUILD)/deps/src $(3) $(abspath $(1)) $(2)
	@touch $$@
$(1)/.cmocka: $(BUILD)/deps/fetched.stamp deps/build-dep.sh
	sh deps/build-dep.sh cmocka '$(CMOCKA_DEB)' $(BUILD)/deps/src $(3) $(abspath $(1)) $(2)
	@touch $$@
$(1)/.all: $(1)/.zlib $(1)/.mbedtls $(1)/.libarchive $(1)/.cmocka
	@touch $$@
endef
$(eval $(call dep_rules,$(SYSROOT_MUSL),$(MUSL_CC),$(BUILD)/deps/work-musl))
$(eval $(call dep_rules,$(SYSROOT_GLIBC),$(GLIBC_CC),$(BUILD)/deps/work-glibc))

DEPS_musl := $(SYSROOT_MUSL)/.all
DEPS_asan := $(SYSROOT_GLIBC)/.all
DEPS_fuzz := $(SYSROOT_GLIBC)/.all
deps: $(DEPS_musl)

# ---------------------------------------------------------------- compile rules
$(BUILD)/.version: FORCE
	@mkdir -p $(@D)
	@echo '$(VERSION)' | cmp -s - $@ || echo '$(VERSION)' > $@
FORCE:

define variant_rules
# every object depends on the dependency stamp: the sysroot headers are
# -isystem, which -MMD does not record, and a rebuilt dependency library then
# relinks everything through the rebuilt objects
$(BUILD)/$(1)/obj/%.o: %.c $(DEPS_$(1)) | $(BUILD)/.packages
	@mkdir -p $$(@D)
	$$(call say,CC,$$@)
	$(Q)$$(CC_$(1)) $$(CFLAGS_$(1)) -c $$< -o $$@
# the version is compiled into lib/version.c alone
$(BUILD)/$(1)/obj/lib/version.o: $(BUILD)/.version
$(BUILD)/$(1)/obj/lib/version.o: CFLAGS_$(1) += -DAGENT_VERSION='"$(VERSION)"'
$(BUILD)/$(1)/libcommon.a: $(call obj,$(1),$(LIB_SRC))
$(BUILD)/$(1)/libagent.a: $(call obj,$(1),$(AGENT_SRC))
$(BUILD)/$(1)/libbundle.a: $(call obj,$(1),$(BUNDLE_SRC))
$(BUILD)/$(1)/libinstaller.a: $(call obj,$(1),$(INSTALLER_SRC))
$(BUILD)/$(1)/tests/%: $(BUILD)/$(1)/obj/tests/unit/%.o $(call obj,$(1),$(UNIT_HELPERS)) $(call libs,$(1))
	@mkdir -p $$(@D)
	$$(call say,LD,$$@)
	$(Q)$$(CC_$(1)) $$(filter %.o,$$^) $$(LDFLAGS_$(1)) $$(call libs,$(1)) $(DEP_LIBS) -lcmocka -o $$@
$(BUILD)/$(1)/tools/%: $(BUILD)/$(1)/obj/tests/tools/%.o $(call libs,$(1))
	@mkdir -p $$(@D)
	$$(call say,LD,$$@)
	$(Q)$$(CC_$(1)) $$< $$(LDFLAGS_$(1)) $$(call libs,$(1)) $(DEP_LIBS) -o $$@
endef
$(eval $(call variant_rules,musl))
$(eval $(call variant_rules,asan))
$(eval $(call variant_rules,fuzz))

%.a:
	@mkdir -p $(@D)
	$(call say,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $(filter %.o,$^)

$(BUILD)/bin/agentd: $(BUILD)/musl/obj/agent/main.o $(call libs,musl)
$(BUILD)/bin/agent-bundle: $(BUILD)/musl/obj/bundle/main.o $(call libs,musl)
$(BUILD)/bin/agent-install: $(BUILD)/musl/obj/installer/main.o $(call libs,musl)
$(PROGRAMS):
	@mkdir -p $(@D)
	$(call say,LD,$@)
	$(Q)$(MUSL_CC) $< $(LDFLAGS_musl) $(call libs,musl) $(DEP_LIBS) -o $@

# The three programs with another version string, from the same libraries
# (tests and the demo publish successive releases without touching build/bin):
#   make versioned PV=1.2.0  ->  $(BUILD)/versions/1.2.0/{agentd,agent-bundle,agent-install}
versioned: $(call libs,musl) $(BUILD)/musl/obj/agent/main.o $(BUILD)/musl/obj/bundle/main.o \
           $(BUILD)/musl/obj/installer/main.o
	@test -n "$(PV)" || { echo "make versioned: PV=x.y.z is required" >&2; exit 2; }
	@mkdir -p $(BUILD)/versions/$(PV)
	$(Q)$(MUSL_CC) $(filter-out -MMD -MP,$(CFLAGS_musl)) -DAGENT_VERSION='"$(PV)"' -c lib/version.c \
	  -o $(BUILD)/versions/$(PV)/version.o
	$(Q)for p in agent:agentd bundle:agent-bundle installer:agent-install; do \
	  $(MUSL_CC) $(BUILD)/musl/obj/$${p%%:*}/main.o $(BUILD)/versions/$(PV)/version.o $(LDFLAGS_musl) \
	    $(call libs,musl) $(DEP_LIBS) -o $(BUILD)/versions/$(PV)/$${p#*:} || exit 1; done

# ---------------------------------------------------------------- tests
UNIT_musl := $(patsubst tests/unit/%.c,$(BUILD)/musl/tests/%,$(UNIT_SRC))
UNIT_asan := $(patsubst tests/unit/%.c,$(BUILD)/asan/tests/%,$(UNIT_SRC))
TOOLS     := $(patsubst tests/tools/%.c,$(BUILD)/musl/tools/%,$(TOOL_SRC))
FUZZERS   := $(patsubst tests/fuzz/%.c,$(BUILD)/fuzz/bin/%,$(FUZZ_SRC))
FUZZ_RUNS ?= 20000

$(BUILD)/fuzz/bin/%: $(BUILD)/fuzz/obj/tests/fuzz/%.o $(call libs,fuzz)
	@mkdir -p $(@D)
	$(call say,LD,$@)
	$(Q)$(FUZZ_CC) $< $(LDFLAGS_fuzz) $(call libs,fuzz) $(DEP_LIBS) -o $@

tools: $(TOOLS)

# One run, one summary line: unit tests (musl, then glibc + ASan/UBSan),
# integration tests (lint among them), short fuzz runs.
check: $(BUILD)/.packages $(PROGRAMS) $(UNIT_musl) $(UNIT_asan) $(TOOLS) $(FUZZERS)
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  sh tests/run.sh --build $(BUILD) --fuzz-runs $(FUZZ_RUNS) \
	  --unit "$(UNIT_musl) $(UNIT_asan)" --fuzz "$(FUZZERS)"

unit: $(UNIT_musl)
	sh tests/run.sh --build $(BUILD) --unit "$(UNIT_musl)" --no-integration

integration: $(PROGRAMS) $(TOOLS)
	sh tests/run.sh --build $(BUILD) $(if $(T),--only "$(T)")

fuzz: $(FUZZERS)
	sh tests/run.sh --build $(BUILD) --fuzz "$(FUZZERS)" --fuzz-runs $(FUZZ_RUNS) --no-integration

sanitize: $(UNIT_asan)
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  sh tests/run.sh --build $(BUILD) --unit "$(UNIT_asan)" --no-integration

# ---------------------------------------------------------------- release
# make release VERSION=x.y.z [RELEASE_KEY=key.pem] [SOURCE_DATE_EPOCH=N] [PLATFORMS=...]
#   [BASE_URL=https://...] [CHANNEL=stable] [ROLLOUT_PERCENT=100] [CHANNEL_EXPIRES_DAYS=90]
#   [SITE_ENV=file] [SCANNER_BIN=file]  ->  dist/  (spec §19; sh release/release.sh --help)
# Variables given on the command line reach release.sh through the environment.
BUNDLE_STAGE := $(shell sed -n 's/^\([a-z][^ ]*\) .*/\1/p' release/stage.txt 2>/dev/null)
release: $(BUILD)/.packages $(PROGRAMS)
	sh release/release.sh BUILD='$(BUILD)' BINDIR='$(BUILD)/bin'
check-reproducible: $(PROGRAMS)
	sh release/check-reproducible.sh BUILD='$(BUILD)'
print-bundle-stage:
	@printf '%s\n' $(BUNDLE_STAGE)

bench: $(BUILD)/.packages $(PROGRAMS) $(TOOLS)
	sh bench/run.sh $(BUILD)

# ---------------------------------------------------------------- lint
C_FILES  = $(sort $(wildcard lib/*.[ch] agent/*.[ch] bundle/*.[ch] installer/*.[ch] tests/unit/*.[ch] tests/fuzz/*.[ch] tests/tools/*.[ch] bench/lib/*.[ch]))
SH_FILES = $(sort $(wildcard deps/*.sh tests/*.sh tests/integration/*.sh tests/integration/lib/*.sh tests/integration/models/*.sh tests/demo.d/*.sh \
             templates/*.sh templates/*.in templates/runit/*/run host-tuning/*.sh release/*.sh bench/*.sh bench/lib/*.sh .ci/run))
lint: $(BUILD)/.packages
	sh tests/lint.sh "$(C_FILES)" "$(SH_FILES)"

format:
	clang-format -i $(C_FILES)

# ---------------------------------------------------------------- demo, install
demo: $(BUILD)/.packages $(PROGRAMS)
	sh tests/demo.sh --build $(BUILD)

MANPAGES := $(sort $(wildcard man/*.[1-8]))
install: $(PROGRAMS)
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 0755 $(PROGRAMS) $(DESTDIR)$(PREFIX)/bin/
	for m in $(MANPAGES); do s=$${m##*.}; install -d $(DESTDIR)$(PREFIX)/share/man/man$$s; \
	  install -m 0644 $$m $(DESTDIR)$(PREFIX)/share/man/man$$s/; done

clean:
	rm -rf $(BUILD)/bin $(BUILD)/musl $(BUILD)/asan $(BUILD)/fuzz $(BUILD)/.version

distclean:
	rm -rf $(BUILD) dist

-include $(shell find $(BUILD)/musl $(BUILD)/asan $(BUILD)/fuzz -name '*.d' 2>/dev/null)
