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

CFLAGS   ?= -O2 -g
WARN     := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wno-unused-parameter
override CFLAGS += -std=gnu11 $(WARN) -D_GNU_SOURCE -I. -Ilib -Ilb $(PKG_CFLAGS) -MMD -MP $(SAN)
override LDFLAGS += $(SAN)
LDLIBS   := $(PKG_LIBS) -lelf -lz -lm

ifeq ($(V),1)
Q :=
msg = @true
else
Q := @
msg = @printf '  %-6s %s\n' $(1) $(2)
endif

LIB_SRC  := $(wildcard lib/*.c)
LIB_OBJ  := $(LIB_SRC:%.c=$(B)/%.o)
LBD_SRC  := $(filter-out %.bpf.c,$(wildcard lb/*.c))
LBD_OBJ  := $(LBD_SRC:%.c=$(B)/%.o)
SYNCD_SRC := $(wildcard sessionsync/*.c)
SYNCD_OBJ := $(SYNCD_SRC:%.c=$(B)/%.o)
FO_SRC   := $(wildcard failover/*.c)
FO_OBJ   := $(FO_SRC:%.c=$(B)/%.o)
CTL_SRC  := $(wildcard appliance/tandemctl/*.c)
CTL_OBJ  := $(CTL_SRC:%.c=$(B)/%.o)
UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(B)/tests/%)
TOOL_SRC := $(wildcard tests/tools/*.c)
TOOL_BIN := $(TOOL_SRC:tests/tools/%.c=$(B)/tools/%)
FUZZ_SRC := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BIN := $(FUZZ_SRC:tests/fuzz/%.c=$(B)/fuzz/%)
NASD_SRC := $(filter-out %.bpf.c,$(wildcard storage/*.c))
NASD_OBJ := $(NASD_SRC:%.c=$(B)/%.o)
NASD_BPF := $(patsubst storage/%.bpf.c,$(B)/%.bpf.o,$(wildcard storage/*.bpf.c))
# Each daemon's modules (all but main.c) go into an archive that unit tests
# link: a test pulls only the objects it uses, so daemons may reuse names.
LBD_MOD_OBJ := $(filter-out $(B)/lb/main.o,$(LBD_OBJ))
NASD_MOD_OBJ := $(filter-out $(B)/storage/main.o,$(NASD_OBJ))

BINS := $(B)/tandem-lbd $(B)/tandem-syncd $(B)/tandem-failover $(B)/tandemctl $(B)/lb.bpf.o \
	$(if $(wildcard storage/main.c),$(B)/tandem-nasd) $(NASD_BPF)

# Daemons with their own libraries (snmp/, mgmt-web/) bring their rules in a
# build.mk fragment beside their sources; each appends its binaries to BINS.
include $(wildcard */build.mk)

.PHONY: all check unit demo demo-down bench fuzz fuzz-build deps clean install
all: $(BINS) $(UNIT_BIN) $(TOOL_BIN)

deps:
	$(Q)scripts/deps.sh

$(B)/libtandem.a: $(LIB_OBJ)
	$(call msg,AR,$@)
	$(Q)ar rcs $@ $^

$(B)/%.o: %.c
	@mkdir -p $(dir $@)
	$(call msg,CC,$<)
	$(Q)$(CC) $(CFLAGS) -c $< -o $@

$(B)/tandem-lbd: $(LBD_OBJ) $(B)/libtandem.a
	$(call msg,LD,$@)
	$(Q)$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

$(B)/tandem-syncd: $(SYNCD_OBJ) $(B)/libtandem.a
	$(call msg,LD,$@)
	$(Q)$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

$(B)/tandem-failover: $(FO_OBJ) $(B)/libtandem.a
	$(call msg,LD,$@)
	$(Q)$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

$(B)/tandemctl: $(CTL_OBJ) $(B)/libtandem.a
	$(call msg,LD,$@)
	$(Q)$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

# The BPF object: clang, BTF for map definitions, -O2 (the verifier needs it).
$(B)/lb.bpf.o: lb/lb.bpf.c lb/lb_maps.h lb/lb_hash.h
	@mkdir -p $(dir $@)
	$(call msg,BPF,$<)
	$(Q)$(CLANG) -O2 -g -Wall -Werror -target bpf -I$(ARCH_INC) -Ilb -c $< -o $@

$(B)/liblbd.a: $(LBD_MOD_OBJ)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(B)/libnasd.a: $(NASD_MOD_OBJ)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(B)/tandem-nasd: $(NASD_OBJ) $(B)/libtandem.a
	$(call msg,LD,$@)
	$(Q)$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

# storage-node BPF objects (e.g. the per-flow drop used during a handoff)
$(B)/%.bpf.o: storage/%.bpf.c
	@mkdir -p $(dir $@)
	$(call msg,BPF,$<)
	$(Q)$(CLANG) -O2 -g -Wall -Werror -target bpf -I$(ARCH_INC) -Ilb -Istorage -Ilib -c $< -o $@

$(B)/tests/%: $(B)/tests/unit/%.o $(B)/liblbd.a $(if $(NASD_MOD_OBJ),$(B)/libnasd.a) $(B)/libtandem.a
	@mkdir -p $(dir $@)
	$(call msg,LD,$@)
	$(Q)$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

$(B)/tests/test_tandemctl_fmt: $(B)/appliance/tandemctl/format.o

$(B)/tools/%: $(B)/tests/tools/%.o $(if $(NASD_MOD_OBJ),$(B)/libnasd.a) $(B)/libtandem.a
	@mkdir -p $(dir $@)
	$(call msg,LD,$@)
	$(Q)$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

# nfs_walk is an NFS client session on libnfs (Debian's libnfs-dev)
$(B)/tools/nfs_walk: LDLIBS += -lnfs

# Fuzz targets: clang + libFuzzer + ASan/UBSan, against the sources (not the .a of the gcc build).
FUZZ_FLAGS := -DTANDEM_BPF_OBJ_DEFAULT=\"$(abspath $(B))/lb.bpf.o\" -g -O1 -fsanitize=fuzzer,address,undefined -std=gnu11 -D_GNU_SOURCE -I. -Ilib -Ilb $(PKG_CFLAGS)
$(B)/fuzz/%: tests/fuzz/%.c $(LIB_SRC) $(LBD_SRC)
	@mkdir -p $(dir $@)
	$(call msg,FUZZ,$@)
	$(Q)$(CLANG) $(FUZZ_FLAGS) $< $(LIB_SRC) $(filter-out lb/main.c,$(LBD_SRC)) $(PKG_LIBS) -lelf -lz -lm -o $@

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
