/*
 * nfs_walk - one NFS client session (libnfs, Debian's NFS client library)
 * that works through a list of files: for the tests where nfs-cp, nfs-cat
 * and nfs-ls cannot say "the same session, first here, then there".
 *
 *   nfs_walk [-p PACE_MS] [-c CHUNK_KIB] SERVER EXPORT OP...
 *     r:PATH:OUT     read PATH (below EXPORT) into the local file OUT
 *     w:PATH:IN      write the local file IN to PATH (created or truncated),
 *                    then fsync (COMMIT)
 *     s:MS           sleep MS milliseconds (the session stays open)
 *   -p PACE_MS       sleep this long after every chunk (default 0)
 *   -c CHUNK_KIB     bytes per nfs_pread/nfs_pwrite call (default 256 KiB)
 *
 * One nfs_context, so one NFS TCP connection for the whole walk, and
 * libnfs's automatic reconnect is switched off: a session that the server
 * side lost shows as an error here, not as a silent new connection.  The
 * connection's local port is printed at the start and checked at the end.
 * Output: one JSON line per operation, then {"ok":..,"port":..}.  Exit 0
 * only if every operation succeeded on the one connection.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <nfsc/libnfs.h>

struct walk {
	struct nfs_context *nfs;
	unsigned pace_ms;
	size_t chunk;
	uint8_t *buf;
};

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* The local port of the context's NFS connection (0 if none). */
static unsigned local_port(struct nfs_context *nfs)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	int fd = nfs_get_fd(nfs);

	if (fd < 0 || getsockname(fd, (struct sockaddr *)&ss, &sl) < 0)
		return 0;
	if (ss.ss_family == AF_INET)
		return ntohs(((struct sockaddr_in *)&ss)->sin_port);
	if (ss.ss_family == AF_INET6)
		return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	return 0;
}

static int fail(struct walk *w, const char *op, const char *path, const char *what, int rc)
{
	printf("{\"op\":\"%s\",\"path\":\"%s\",\"error\":\"%s: %s (%s)\"}\n", op, path, what,
	       strerror(rc < 0 ? -rc : rc), nfs_get_error(w->nfs) ? nfs_get_error(w->nfs) : "");
	return -1;
}

/* A local file (OUT or IN) failed us: why is strerror(errno) or a text. */
static int local_fail(const char *op, const char *path, const char *file, const char *why)
{
	printf("{\"op\":\"%s\",\"path\":\"%s\",\"error\":\"%s: %s\"}\n", op, path, file, why);
	return -1;
}

static int do_read(struct walk *w, const char *path, const char *out)
{
	struct nfsfh *fh;
	uint64_t off = 0, t0 = now_ms();
	int rc, fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	if (fd < 0)
		return local_fail("r", path, out, strerror(errno));
	rc = nfs_open(w->nfs, path, O_RDONLY, &fh);
	if (rc < 0) {
		close(fd);
		return fail(w, "r", path, "open", rc);
	}
	for (;;) {
		rc = nfs_pread(w->nfs, fh, off, w->chunk, w->buf);
		if (rc < 0) {
			nfs_close(w->nfs, fh);
			close(fd);
			return fail(w, "r", path, "read", rc);
		}
		if (rc == 0)
			break;
		if (write(fd, w->buf, (size_t)rc) != rc) {
			nfs_close(w->nfs, fh);
			close(fd);
			return local_fail("r", path, out, "short write");
		}
		off += (uint64_t)rc;
		if (w->pace_ms)
			sleep_ms(w->pace_ms);
	}
	nfs_close(w->nfs, fh);
	close(fd);
	printf("{\"op\":\"r\",\"path\":\"%s\",\"bytes\":%" PRIu64 ",\"ms\":%" PRIu64 ",\"port\":%u}\n", path,
	       off, now_ms() - t0, local_port(w->nfs));
	return 0;
}

static int do_write(struct walk *w, const char *path, const char *in)
{
	struct nfsfh *fh;
	uint64_t off = 0, t0 = now_ms();
	ssize_t n;
	int rc, fd = open(in, O_RDONLY);

	if (fd < 0)
		return local_fail("w", path, in, strerror(errno));
	rc = nfs_open(w->nfs, path, O_WRONLY | O_CREAT | O_TRUNC, &fh);
	if (rc < 0) {
		close(fd);
		return fail(w, "w", path, "open", rc);
	}
	while ((n = read(fd, w->buf, w->chunk)) > 0) {
		for (ssize_t done = 0; done < n;) {
			rc = nfs_pwrite(w->nfs, fh, off, (uint64_t)(n - done), w->buf + done);
			if (rc <= 0) {
				nfs_close(w->nfs, fh);
				close(fd);
				return fail(w, "w", path, "write", rc < 0 ? rc : -EIO);
			}
			done += rc;
			off += (uint64_t)rc;
		}
		if (w->pace_ms)
			sleep_ms(w->pace_ms);
	}
	int rerr = n < 0 ? errno : 0;	/* before close() may change it */
	close(fd);
	if (n < 0) {
		nfs_close(w->nfs, fh);
		return local_fail("w", path, in, strerror(rerr));
	}
	rc = nfs_fsync(w->nfs, fh);
	if (rc < 0) {
		nfs_close(w->nfs, fh);
		return fail(w, "w", path, "commit", rc);
	}
	rc = nfs_close(w->nfs, fh);
	if (rc < 0)
		return fail(w, "w", path, "close", rc);
	printf("{\"op\":\"w\",\"path\":\"%s\",\"bytes\":%" PRIu64 ",\"ms\":%" PRIu64 ",\"port\":%u}\n", path,
	       off, now_ms() - t0, local_port(w->nfs));
	return 0;
}

static int usage(void)
{
	fprintf(stderr, "usage: nfs_walk [-p PACE_MS] [-c CHUNK_KIB] SERVER EXPORT "
			"r:PATH:OUT | w:PATH:IN | s:MS ...\n");
	return 2;
}

int main(int argc, char **argv)
{
	struct walk w = { .chunk = 256 << 10 };
	int opt, bad = 0;

	while ((opt = getopt(argc, argv, "p:c:")) != -1) {
		if (opt == 'p')
			w.pace_ms = (unsigned)atoi(optarg);
		else if (opt == 'c' && atoi(optarg) > 0 && atoi(optarg) <= 4096)
			w.chunk = (size_t)atoi(optarg) << 10;
		else
			return usage();
	}
	if (argc - optind < 3)
		return usage();
	const char *server = argv[optind], *export = argv[optind + 1];
	w.buf = malloc(w.chunk);
	w.nfs = nfs_init_context();
	if (!w.buf || !w.nfs) {
		fprintf(stderr, "nfs_walk: out of memory\n");
		return 1;
	}
	nfs_set_autoreconnect(w.nfs, 0);
	nfs_set_timeout(w.nfs, 30000);
	if (nfs_mount(w.nfs, server, export) < 0) {
		printf("{\"ok\":false,\"error\":\"mount %s:%s: %s\"}\n", server, export, nfs_get_error(w.nfs));
		return 1;
	}
	unsigned port = local_port(w.nfs);
	printf("{\"mounted\":\"%s:%s\",\"port\":%u}\n", server, export, port);
	fflush(stdout);
	for (int i = optind + 2; i < argc && !bad; i++) {
		char *a = strdup(argv[i]), *path = a + 2, *loc = strchr(path, ':');

		if (!strncmp(a, "s:", 2))
			sleep_ms((unsigned)atoi(a + 2));
		else if (loc && !strncmp(a, "r:", 2)) {
			*loc = 0;
			bad = do_read(&w, path, loc + 1) < 0;
		} else if (loc && !strncmp(a, "w:", 2)) {
			*loc = 0;
			bad = do_write(&w, path, loc + 1) < 0;
		} else {
			free(a);
			return usage();
		}
		free(a);
		fflush(stdout);
	}
	unsigned port_end = local_port(w.nfs);
	int ok = !bad && port && port_end == port;
	printf("{\"ok\":%s,\"port\":%u,\"port_end\":%u}\n", ok ? "true" : "false", port, port_end);
	nfs_umount(w.nfs);
	nfs_destroy_context(w.nfs);
	free(w.buf);
	return ok ? 0 : 1;
}
