# Tandem - plain GNU Makefile.  `make V=1` shows commands.
# Targets: all check unit man demo demo-down bench fuzz fuzz-build fuzz-long deps install deb
# image image-check clean
# Layout: lib/ -> libtandem.a; one daemon per directory; tests/unit/test_*.c
# each become a test binary; tests/fuzz/fuzz_*.c each become a libFuzzer target.
# Packaging: `make install` holds the list of installed files; `make deb`
# builds the Debian packages tandem-switch and tandem-node from it
# (debian/, scripts/deb.sh; `make deb TANDEM_VERSION=x.y.z` for another
# version) into build/deb/.

B        ?= build
CC       ?= gcc
CLANG    ?= clang
ARCH_INC := /usr/include/$(shell uname -m)-linux-gnu
PKGS     := libnl-route-3.0 libnl-3.0 jansson libbpf libcrypto libsystemd
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
# One missing package empties both (pkg-config answers all or nothing):
# name it, rather than leave the compiler to fail on a header.
PKG_MISSING := $(shell for p in $(PKGS); do pkg-config --exists $$p || echo $$p; done)
ifneq ($(PKG_MISSING),)
$(warning pkg-config does not find $(PKG_MISSING): make deps (scripts/deps.sh) installs them)
endif

# Headers are included by their path from the top ("lib/log.h",
# "storage/tch/tch.h") or, inside one directory, by their name: -I. only.
CFLAGS   ?= -O2 -g
WARN     := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wno-unused-parameter
override CFLAGS += -std=gnu11 $(WARN) -D_GNU_SOURCE -I. $(PKG_CFLAGS) -MMD -MP $(SAN)
override LDFLAGS += $(SAN)
LDLIBS   := $(PKG_LIBS) -lelf -lz -lm
BPF_CFLAGS := -O2 -g -Wall -Werror -target bpf -I$(ARCH_INC) -I. -MMD -MP

# Install directories (make install, the Debian packages).  The daemons
# compile in where they look for their files (lib/paths.h): the objects in
# PATHS_OBJ get them from here, and rebuild when they change.
PREFIX  ?= /usr
SBINDIR ?= $(PREFIX)/sbin
BINDIR  ?= $(PREFIX)/bin
TANDEM_LIBDIR ?= $(PREFIX)/lib/tandem
DATADIR ?= $(PREFIX)/share
WWWDIR  ?= $(DATADIR)/tandem/www
MIBDIR  ?= $(DATADIR)/snmp/mibs
DOCDIR  ?= $(DATADIR)/doc
MANDIR  ?= $(DATADIR)/man
# systemd's unit directory: Debian 12's /lib/systemd/system for PREFIX=/usr,
# else PREFIX's own (systemd also reads /usr/local/lib/systemd/system).
UNITDIR ?= $(if $(filter /usr,$(PREFIX)),/lib/systemd/system,$(PREFIX)/lib/systemd/system)
PATH_DEFS := -DTANDEM_SBINDIR=\"$(SBINDIR)\" -DTANDEM_LIBDIR=\"$(TANDEM_LIBDIR)\" -DTANDEM_WWWDIR=\"$(WWWDIR)\"
PATHS_OBJ := $(B)/lb/main.o $(B)/storage/tch/flowdrop.o $(B)/mgmt-web/config.o $(B)/lib/config.o $(B)/lib/config_pair.o

ifeq ($(V),1)
Q :=
msg = @true
else
Q := @
msg = @printf '  %-6s %s\n' $(1) $(2)
endif

# Sources by part (doc/architecture.md).  Each daemon is main.c plus its
# modules; the modules also go into an archive that unit tests and tools
# link, so a test pulls only the objects it uses.
srcs = $(filter-out %.bpf.c,$(foreach d,$(1),$(wildcard $(d)/*.c)))
objs = $(patsubst %.c,$(B)/%.o,$(1))
LIB_SRC   := $(call srcs,lib)
LBD_SRC   := $(call srcs,lb)
SYNCD_SRC := $(call srcs,sessionsync)
FO_SRC    := $(call srcs,failover)
CTL_SRC   := $(call srcs,appliance/tandemctl)
TCH_SRC   := $(call srcs,storage/tch)
NASD_SRC  := $(call srcs,storage storage/http storage/nfs storage/handoff)
LIB_OBJ   := $(call objs,$(LIB_SRC))
LBD_OBJ   := $(call objs,$(LBD_SRC))
SYNCD_OBJ := $(call objs,$(SYNCD_SRC))
FO_OBJ    := $(call objs,$(FO_SRC))
CTL_OBJ   := $(call objs,$(CTL_SRC))
TCH_OBJ   := $(call objs,$(TCH_SRC))
NASD_OBJ  := $(call objs,$(NASD_SRC))
UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(B)/tests/%)
TOOL_SRC := $(wildcard tests/tools/*.c)
TOOL_BIN := $(TOOL_SRC:tests/tools/%.c=$(B)/tools/%)
FUZZ_SRC := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BIN := $(FUZZ_SRC:tests/fuzz/%.c=$(B)/fuzz/%)

BINS := $(B)/tandem-lbd $(B)/tandem-syncd $(B)/tandem-failover $(B)/tandemctl $(B)/lb.bpf.o \
	$(B)/tandem-nasd $(B)/flowdrop.bpf.o

# Daemons with their own libraries (snmp/, mgmt-web/) bring their rules in a
# build.mk fragment beside their sources; each appends its binaries to BINS
# (and mgmt-web its module archive to TEST_LIBS).
TEST_LIBS := $(B)/liblbd.a $(B)/libnasd.a $(B)/libsyncd.a $(B)/libtch.a
include $(wildcard */build.mk)
TEST_LIBS += $(B)/libtandem.a

.PHONY: image image-check all bins check unit demo demo-down bench fuzz fuzz-build fuzz-long deps clean install deb man FORCE
all: $(BINS) $(UNIT_BIN) $(TOOL_BIN) man

# bins: the programs, BPF objects and man pages (what make install and the
# packages need), not the tests and tools
bins: $(BINS) man

# Man pages: one source format, scdoc (doc/man/NAME.SECTION.scd ->
# $(B)/man/NAME.SECTION, roff).  The date in each page: SOURCE_DATE_EPOCH
# (dpkg-buildpackage sets it from debian/changelog), else the last commit's.
MAN_SRC := $(wildcard doc/man/*.scd)
MAN     := $(MAN_SRC:doc/man/%.scd=$(B)/man/%)
MAN_EPOCH := $(or $(SOURCE_DATE_EPOCH),$(shell git log -1 --format=%ct 2>/dev/null))
man: $(MAN)
$(B)/man/%: doc/man/%.scd
	@mkdir -p $(dir $@)
	$(call msg,SCDOC,$@)
	$(Q)command -v scdoc >/dev/null || { echo "scdoc not found: make deps (Debian package scdoc)" >&2; exit 1; }
	$(Q)$(if $(MAN_EPOCH),SOURCE_DATE_EPOCH=$(MAN_EPOCH)) scdoc <$< >$@.tmp && mv $@.tmp $@

deps:
	$(Q)scripts/deps.sh

$(B)/libtandem.a: $(LIB_OBJ)
$(B)/liblbd.a: $(filter-out $(B)/lb/main.o,$(LBD_OBJ))
$(B)/libsyncd.a: $(filter-out $(B)/sessionsync/main.o,$(SYNCD_OBJ))
$(B)/libnasd.a: $(filter-out $(B)/storage/main.o,$(NASD_OBJ))
$(B)/libtch.a: $(TCH_OBJ)
$(B)/%.a:
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(PATHS_OBJ): override CFLAGS += $(PATH_DEFS)
$(PATHS_OBJ): $(B)/paths.flags
# Rewritten only when the install paths change (then PATHS_OBJ rebuild).
$(B)/paths.flags: FORCE
	@mkdir -p $(dir $@)
	@echo '$(PATH_DEFS)' | cmp -s - $@ || echo '$(PATH_DEFS)' >$@
FORCE:

$(B)/%.o: %.c
	@mkdir -p $(dir $@)
	$(call msg,CC,$<)
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) -c $< -o $@

$(B)/tandem-lbd: $(LBD_OBJ) $(B)/libtandem.a
$(B)/tandem-syncd: $(SYNCD_OBJ) $(B)/libtandem.a
$(B)/tandem-failover: $(FO_OBJ) $(B)/libtandem.a
$(B)/tandemctl: $(CTL_OBJ) $(B)/libtandem.a
$(B)/tandem-nasd: $(NASD_OBJ) $(B)/libtch.a $(B)/libtandem.a
$(B)/tandem-lbd $(B)/tandem-syncd $(B)/tandem-failover $(B)/tandemctl $(B)/tandem-nasd:
	$(call msg,LD,$@)
	$(Q)$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

# BPF objects: clang, BTF for map definitions, -O2 (the verifier needs it);
# the data plane (lb/) and the storage node's per-flow drop (libtch).
$(B)/lb.bpf.o: lb/lb.bpf.c
$(B)/flowdrop.bpf.o: storage/tch/flowdrop.bpf.c
$(B)/lb.bpf.o $(B)/flowdrop.bpf.o:
	@mkdir -p $(dir $@)
	$(call msg,BPF,$<)
	$(Q)$(CLANG) $(BPF_CFLAGS) -MF $(@:.o=.d) -MT $@ -c $< -o $@

$(B)/tests/%: $(B)/tests/unit/%.o $(TEST_LIBS)
	@mkdir -p $(dir $@)
	$(call msg,LD,$@)
	$(Q)$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

$(B)/tests/test_tandemctl_fmt: $(B)/appliance/tandemctl/format.o
$(B)/tests/test_slapdconf: $(B)/failover/slapdconf.o
$(B)/tests/test_birdconf: $(B)/failover/birdconf.o

$(B)/tools/%: $(B)/tests/tools/%.o $(B)/libnasd.a $(B)/libtch.a $(B)/libtandem.a
	@mkdir -p $(dir $@)
	$(call msg,LD,$@)
	$(Q)$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

# tandemctl upgrade decompresses the root file system with libzstd
$(B)/tandemctl: LDLIBS += -lzstd

# nfs_walk is an NFS client session on libnfs (Debian's libnfs-dev)
$(B)/tools/nfs_walk: LDLIBS += -lnfs
# nfs_pipeline too (its raw RPC layer: many calls in flight on one connection)
$(B)/tools/nfs_pipeline: LDLIBS += -lnfs
# nlm_client: NLM lock calls through libnfs's raw NLM v4 layer
$(B)/tools/nlm_client: LDLIBS += -lnfs
# the libnfs tools' one-call-at-a-time wait (tests/tools/lib/rpc_step.c)
$(B)/tools/nfs_pipeline $(B)/tools/nlm_client: $(B)/tests/tools/lib/rpc_step.o

# Fuzz targets: clang + libFuzzer + ASan/UBSan, against the sources (not the
# .a of the gcc build).  Each target names its own sources in
# tests/fuzz/fuzz.mk (FUZZ_SRC_<target>).
FUZZ_FLAGS := -DTANDEM_BPF_OBJ_DEFAULT=\"$(abspath $(B))/lb.bpf.o\" -g -O1 -fsanitize=fuzzer,address,undefined -std=gnu11 -D_GNU_SOURCE -I. $(PKG_CFLAGS)
include tests/fuzz/fuzz.mk
.SECONDEXPANSION:
$(B)/fuzz/%: tests/fuzz/%.c $$(FUZZ_SRC_$$*) tests/fuzz/fuzz.mk
	@mkdir -p $(dir $@)
	$(call msg,FUZZ,$@)
	$(Q)$(CLANG) $(FUZZ_FLAGS) $< $(FUZZ_SRC_$*) $(PKG_LIBS) -lelf -lz -lm -o $@

fuzz-build: $(FUZZ_BIN) $(B)/lb.bpf.o

# make fuzz: run every target for FUZZ_SECONDS each (default 60) from its seed corpus.
FUZZ_SECONDS ?= 60
fuzz: deps fuzz-build
	$(Q)tests/fuzz/run.sh $(B)/fuzz $(FUZZ_SECONDS)

# make fuzz-long [FUZZ_TARGETS="fuzz_x ..."]: every target (or those) until
# FUZZ_RUNS executions (default 10^7) or
# FUZZ_MAX_SECONDS (3600) each, FUZZ_JOBS (2) at a time; results in
# bench/fuzz.md and $(B)/fuzz/fuzz-long.json (tests/fuzz/long.sh).
FUZZ_RUNS ?= 10000000
FUZZ_MAX_SECONDS ?= 3600
FUZZ_JOBS ?= 2
fuzz-long: deps fuzz-build $(B)/cpuref
	$(Q)FUZZ_RUNS=$(FUZZ_RUNS) FUZZ_MAX_SECONDS=$(FUZZ_MAX_SECONDS) FUZZ_JOBS=$(FUZZ_JOBS) FUZZ_TARGETS="$(FUZZ_TARGETS)" \
		CPUREF=$(B)/cpuref CLANG=$(CLANG) tests/fuzz/long.sh $(B)/fuzz bench/fuzz.md $(B)/fuzz/fuzz-long.json

# The machine-speed reference of results files (tests/bench/cpuref.c).
$(B)/cpuref: tests/bench/cpuref.c
	@mkdir -p $(dir $@)
	$(call msg,CC,$@)
	$(Q)$(CC) -O2 -std=gnu11 $(WARN) $< -o $@

unit: $(UNIT_BIN)

# make check: deps, normal build, sanitizer build of the unit tests, fuzz
# targets on their seed corpus (regression), BPF fixtures, integration in netns.
check: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)$(MAKE) --no-print-directory B=build-san SAN="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all" unit
	$(Q)$(MAKE) --no-print-directory fuzz-build
	$(Q)tests/run.sh

demo: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)appliance/lab/demo.sh

# make demo-down: the three demo labs and the console's forward on the host
# (DEMO_PREFIX=x: the labs of a demo run with that prefix; demo-lib.sh).
demo-down:
	$(Q)appliance/lab/demo-down.sh

bench: deps
	$(Q)$(MAKE) --no-print-directory all $(B)/cpuref
	$(Q)tests/bench/run.sh

clean:
	rm -rf build build-san

# (build/deb/ holds make deb's source copies: not ours to include)
-include $(shell find $(B) -path $(B)/deb -prune -o -name '*.d' -type f -print 2>/dev/null)
.SECONDARY:

# make install [DESTDIR=...] [PREFIX=/usr]: what the two Debian packages hold,
# one list (debian/tandem-*.install split it by path).  tandem-switch: lbd,
# syncd, the keepalived hook and drop-in, BIRD's drop-in, tandemctl, webd and its console,
# agentx and the MIB; tandem-node: nasd and its flow-drop object.  Each
# package's docs and example configs go to DOCDIR/<package>, man pages
# (built from doc/man/*.scd) to MANDIR/manN by their section; nothing goes
# to /etc/tandem (the operator's).
# Units are rewritten for SBINDIR and DOCDIR.
SWITCH_BIN  := tandem-lbd tandem-syncd tandem-failover tandem-webd tandem-agentx
SWITCH_UNIT := tandem-lbd tandem-syncd tandem-webd tandem-agentx tandem-slapd tandem-slapd-replica
SWITCH_DOC  := README.md doc/architecture.md doc/config.md doc/failover.md doc/control.md \
	doc/tandemctl.md doc/api.md doc/console.md doc/snmp.md doc/metrics.md doc/logs.md \
	doc/directory.md
SWITCH_EX   := appliance/examples/tandem.json appliance/examples/webd.json
NODE_DOC    := README.md doc/architecture.md doc/nasd.md doc/tch.md doc/metrics.md doc/logs.md doc/directory.md
NODE_EX     := appliance/examples/nasd.json
UNIT_SED    := s|/usr/sbin/|$(SBINDIR)/|g; s|file:/usr/share/doc/|file:$(DOCDIR)/|g
install: $(BINS) $(MAN)
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(BINDIR) $(DESTDIR)$(TANDEM_LIBDIR) \
		$(DESTDIR)$(MIBDIR) $(DESTDIR)$(UNITDIR)/keepalived.service.d $(DESTDIR)$(UNITDIR)/bird.service.d \
		$(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man8 \
		$(DESTDIR)$(DOCDIR)/tandem-switch/examples $(DESTDIR)$(DOCDIR)/tandem-node/examples
	install -m 0755 $(addprefix $(B)/,$(SWITCH_BIN) tandem-nasd) $(DESTDIR)$(SBINDIR)/
	install -m 0755 $(B)/tandemctl $(DESTDIR)$(BINDIR)/
	install -m 0644 $(B)/lb.bpf.o $(B)/flowdrop.bpf.o $(DESTDIR)$(TANDEM_LIBDIR)/
	install -m 0644 snmp/TANDEM-MIB.txt $(DESTDIR)$(MIBDIR)/
	for m in $(MAN); do s=$${m##*.}; \
		install -m 0644 $$m $(DESTDIR)$(MANDIR)/man$$s/ || exit 1; done
	for u in $(SWITCH_UNIT) tandem-nasd; do \
		sed '$(UNIT_SED)' appliance/systemd/$$u.service >$(DESTDIR)$(UNITDIR)/$$u.service && \
		chmod 0644 $(DESTDIR)$(UNITDIR)/$$u.service || exit 1; done
	sed '$(UNIT_SED)' appliance/systemd/keepalived.service.d/tandem.conf \
		>$(DESTDIR)$(UNITDIR)/keepalived.service.d/tandem.conf
	chmod 0644 $(DESTDIR)$(UNITDIR)/keepalived.service.d/tandem.conf
	sed '$(UNIT_SED)' appliance/systemd/bird.service.d/tandem.conf \
		>$(DESTDIR)$(UNITDIR)/bird.service.d/tandem.conf
	chmod 0644 $(DESTDIR)$(UNITDIR)/bird.service.d/tandem.conf
	install -m 0644 $(SWITCH_DOC) $(DESTDIR)$(DOCDIR)/tandem-switch/
	install -D -m 0644 appliance/grafana/tandem.json $(DESTDIR)$(DOCDIR)/tandem-switch/grafana/tandem.json
	install -m 0644 $(SWITCH_EX) $(DESTDIR)$(DOCDIR)/tandem-switch/examples/
	install -m 0644 $(NODE_DOC) $(DESTDIR)$(DOCDIR)/tandem-node/
	install -m 0644 $(NODE_EX) $(DESTDIR)$(DOCDIR)/tandem-node/examples/
	cd mgmt-web/www && find . -type f | while read -r f; do \
		install -D -m 0644 "$$f" "$(DESTDIR)$(WWWDIR)/$$f" || exit 1; done

# make image: the appliance disk image build/tandem.img and its upgrade
# bundle build/tandem-VERSION.tup (image/build.sh; doc/appliance.md).
# make image-check: boot it under qemu as a pair, a node, upgrades and a
# rollback (image/check.sh); part of make check.
image: deps deb
	$(Q)image/build.sh $(if $(TANDEM_VERSION),-V $(TANDEM_VERSION)) $(B)

image-check: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)image/check.sh

# make deb [TANDEM_VERSION=x.y.z]: tandem-switch and tandem-node .debs in
# build/deb/, built from a copy of the tree (scripts/deb.sh says how).
deb:
	$(Q)scripts/deb.sh $(TANDEM_VERSION)
