/*
 * paths.h - where an installed Tandem keeps its files, as compiled into the
 * daemons: the data-plane objects (lbd, nasd's flow drop), the web console
 * (webd) and the keepalived hook that genconf writes into keepalived.conf.
 *
 * The Makefile passes these from its install directories (PREFIX, SBINDIR,
 * TANDEM_LIBDIR, WWWDIR) to the objects that use them (PATHS_OBJ there), so
 * that `make install PREFIX=...` and the binaries agree; the defaults below
 * are the Debian packages' layout (PREFIX=/usr), for any other compile
 * (fuzz targets).  A config key or option still overrides each one.
 */
#ifndef TANDEM_PATHS_H
#define TANDEM_PATHS_H

#ifndef TANDEM_SBINDIR
#define TANDEM_SBINDIR "/usr/sbin"
#endif
#ifndef TANDEM_LIBDIR
#define TANDEM_LIBDIR "/usr/lib/tandem"		/* lb.bpf.o, flowdrop.bpf.o */
#endif
#ifndef TANDEM_WWWDIR
#define TANDEM_WWWDIR "/usr/share/tandem/www"	/* the web console */
#endif

#endif
