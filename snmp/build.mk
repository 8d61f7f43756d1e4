# snmp/build.mk - tandem-agentx, the AgentX subagent (included by the top
# Makefile right after BINS).  net-snmp's flags stay local to these objects.
#
# Compile flags: only the -D/-U of net-snmp-config (the rest is Debian's
# build flags and include paths of perl, which we do not want).  Libraries:
# `--agent-libs` minus the MIB-module library and its sensor/PCI deps: a
# subagent needs only libnetsnmpagent + libnetsnmp.

AGX_SRC    := $(wildcard snmp/*.c)
AGX_OBJ    := $(AGX_SRC:%.c=$(B)/%.o)
AGX_CFLAGS := $(filter-out -D_FORTIFY_SOURCE% -D_GNU_SOURCE,$(filter -D% -U%,$(shell net-snmp-config --base-cflags 2>/dev/null)))
AGX_LIBS   := $(filter-out -lnetsnmpmibs -lsensors -lpci -lwrap,$(shell net-snmp-config --agent-libs 2>/dev/null))

BINS += $(B)/tandem-agentx

$(B)/snmp/%.o: snmp/%.c
	@mkdir -p $(dir $@)
	$(call msg,CC,$<)
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) $(AGX_CFLAGS) -c $< -o $@

$(B)/tandem-agentx: $(AGX_OBJ) $(B)/libtandem.a
	$(call msg,LD,$@)
	$(Q)$(CC) $(LDFLAGS) $^ $(LDLIBS) $(AGX_LIBS) -o $@
