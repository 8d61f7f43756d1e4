# Tandem - plain GNU Makefile.  `make V=1` shows commands.
# Targets: all check demo demo-down bench fuzz deps clean
# Layout: lib/ -> libtandem.a; one daemon per directory; tests/unit/test_*.c
# each become a test binary; tests/fuzz/fuzz_*.c each become a libFuzzer target.

B        ?= build
CC       ?= gcc
CLANG    ?= clang
ARCH_INC := /usr/include/$(shell uname -m)-linux-gnu
PKGS     := libnl-route-3.0 libnl-3.0 jansson libbpf libcrypto
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

# Headers are included by their path from the top ("lib/log.h",
# "storage/tch/tch.h") or, inside one directory, by their name: -I. only.
CFLAGS   ?= -O2 -g
WARN     := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wno-unused-parameter
override CFLAGS += -std=gnu11 $(WARN) -D_GNU_SOURCE -I. $(PKG_CFLAGS) -MMD -MP $(SAN)
override LDFLAGS += $(SAN)
LDLIBS   := $(PKG_LIBS) -lelf -lz -lm
BPF_CFLAGS := -O2 -g -Wall -Werror -target bpf -I$(ARCH_INC) -I. -MMD -MP

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

.PHONY: all check unit demo demo-down bench fuzz fuzz-build deps clean install
all: $(BINS) $(UNIT_BIN) $(TOOL_BIN)

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

$(B)/%.o: %.c
	@mkdir -p $(dir $@)
	$(call msg,CC,$<)
	$(Q)$(CC) $(CFLAGS) -c $< -o $@

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

$(B)/tools/%: $(B)/tests/tools/%.o $(B)/libnasd.a $(B)/libtch.a $(B)/libtandem.a
	@mkdir -p $(dir $@)
	$(call msg,LD,$@)
	$(Q)$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

# tandemctl upgrade decompresses the root file system with libzstd
$(B)/tandemctl: LDLIBS += -lzstd

# nfs_walk is an NFS client session on libnfs (Debian's libnfs-dev)
$(B)/tools/nfs_walk: LDLIBS += -lnfs

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

demo-down:
	$(Q)appliance/lab/lab.sh down demo
	$(Q)appliance/lab/lab.sh down demop
	$(Q)appliance/lab/lab.sh down demoh

bench: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)tests/bench/run.sh

clean:
	rm -rf build build-san

-include $(shell find $(B) -name '*.d' 2>/dev/null)
.SECONDARY:

# make install [DESTDIR=...]: daemons, data-plane object, unit, example config.
PREFIX ?= /usr
install: all
	install -D -m 0755 $(B)/tandem-lbd $(DESTDIR)$(PREFIX)/sbin/tandem-lbd
	install -D -m 0755 $(B)/tandem-syncd $(DESTDIR)$(PREFIX)/sbin/tandem-syncd
	install -D -m 0755 $(B)/tandem-failover $(DESTDIR)$(PREFIX)/sbin/tandem-failover
	install -D -m 0755 $(B)/tandemctl $(DESTDIR)$(PREFIX)/bin/tandemctl
	install -D -m 0644 $(B)/lb.bpf.o $(DESTDIR)$(PREFIX)/lib/tandem/lb.bpf.o
	install -D -m 0644 appliance/systemd/tandem-lbd.service $(DESTDIR)/lib/systemd/system/tandem-lbd.service
	install -D -m 0644 appliance/systemd/tandem-syncd.service $(DESTDIR)/lib/systemd/system/tandem-syncd.service
	install -D -m 0644 appliance/systemd/keepalived.service.d/tandem.conf $(DESTDIR)/lib/systemd/system/keepalived.service.d/tandem.conf
	install -D -m 0644 doc/failover.md $(DESTDIR)/usr/share/doc/tandem/failover.md
	install -D -m 0644 appliance/examples/tandem.json $(DESTDIR)/usr/share/doc/tandem/examples/tandem.json
	install -D -m 0644 README.md $(DESTDIR)/usr/share/doc/tandem/README.md
	install -D -m 0755 $(B)/tandem-nasd $(DESTDIR)$(PREFIX)/sbin/tandem-nasd
	install -D -m 0644 $(B)/flowdrop.bpf.o $(DESTDIR)$(PREFIX)/lib/tandem/flowdrop.bpf.o
	install -D -m 0755 $(B)/tandem-webd $(DESTDIR)$(PREFIX)/sbin/tandem-webd
	install -D -m 0755 $(B)/tandem-agentx $(DESTDIR)$(PREFIX)/sbin/tandem-agentx
	install -D -m 0644 appliance/systemd/tandem-nasd.service $(DESTDIR)/lib/systemd/system/tandem-nasd.service
	install -D -m 0644 appliance/systemd/tandem-webd.service $(DESTDIR)/lib/systemd/system/tandem-webd.service
	install -D -m 0644 appliance/systemd/tandem-agentx.service $(DESTDIR)/lib/systemd/system/tandem-agentx.service
	install -D -m 0644 snmp/TANDEM-MIB.txt $(DESTDIR)/usr/share/snmp/mibs/TANDEM-MIB.txt
	install -D -m 0644 appliance/examples/webd.json $(DESTDIR)/usr/share/doc/tandem/examples/webd.json
	for f in doc/*.md; do install -D -m 0644 $$f $(DESTDIR)/usr/share/doc/tandem/$$f; done
	cd mgmt-web/www && find . -type f | while read -r f; do \
		install -D -m 0644 "$$f" "$(DESTDIR)/usr/share/tandem/www/$$f"; done
