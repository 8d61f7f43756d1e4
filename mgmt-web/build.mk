# tandem-webd (mgmt-web/): REST API, web console, LDAP logins.
# Included by the top Makefile after BINS is defined; uses its $(B), $(CC),
# CFLAGS, LDFLAGS, LDLIBS, msg and Q.  Extra libraries: libmicrohttpd
# (pkg-config), GnuTLS (metrics.c verifies scrapers' client certificates on
# libmicrohttpd's TLS session), OpenLDAP's libldap/liblber, pthreads (the
# worker pool).
WEBD_SRC := $(wildcard mgmt-web/*.c)
WEBD_OBJ := $(WEBD_SRC:%.c=$(B)/%.o)
WEBD_CFLAGS := $(shell pkg-config --cflags libmicrohttpd gnutls 2>/dev/null)
WEBD_LIBS := $(shell pkg-config --libs libmicrohttpd gnutls 2>/dev/null) -lldap -llber -lpthread

BINS += $(B)/tandem-webd
TEST_LIBS += $(B)/libwebd.a
$(B)/libwebd.a: $(filter-out $(B)/mgmt-web/main.o,$(WEBD_OBJ))

$(WEBD_OBJ): $(B)/mgmt-web/%.o: mgmt-web/%.c
	@mkdir -p $(dir $@)
	$(call msg,CC,$<)
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) $(WEBD_CFLAGS) -pthread -c $< -o $@

$(B)/tandem-webd: $(WEBD_OBJ) $(B)/libtandem.a
	$(call msg,LD,$@)
	$(Q)$(CC) $(LDFLAGS) -pthread $^ $(WEBD_LIBS) $(LDLIBS) -o $@
