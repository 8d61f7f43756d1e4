/*
 * pool.c - worker threads for everything that blocks.
 *
 * Why threads: libldap's calls (connect, bind, search) block, and so does
 * ctl_request() (lbd answers a `handoff` only after the nodes finished, up to
 * 15 s; a `flows` walk over a big table takes a while).  The event loop must
 * keep serving other browsers, the 1 s history sampler and libmicrohttpd's
 * timeouts meanwhile.  So a request that needs LDAP or a daemon is
 * suspended (MHD_suspend_connection), its job runs here, and the completion
 * comes back to the main thread through an eventfd in the loop, where the
 * request is answered and resumed.  The workers touch nothing but the job
 * and the read-only configuration, so no other locking is needed.
 */
#include "webd.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "lib/ctl.h"
#include "lib/log.h"

struct job *job_new(void (*run)(const struct webd_config *, struct job *),
		    void (*done)(struct webd *, struct job *))
{
	struct job *j = calloc(1, sizeof(*j));

	if (!j)
		return NULL;
	j->run = run;
	j->done = done;
	j->timeout_ms = 5000;
	return j;
}

void job_free(struct job *j)
{
	if (!j)
		return;
	explicit_bzero(&j->login, sizeof(j->login));
	json_decref(j->lbd_req);
	json_decref(j->lbd);
	json_decref(j->sync);
	json_decref(j->nodes);
	json_decref(j->stats);
	free(j->body);
	free(j);
}

json_t *job_ctl(const char *sock, const json_t *req, int timeout_ms, char *err, size_t errlen)
{
	return ctl_request(sock, req, timeout_ms, err, errlen);
}

static void *worker(void *arg)
{
	struct pool *p = arg;
	uint64_t one = 1;

	pthread_mutex_lock(&p->mu);
	for (;;) {
		while (!p->todo && !p->stop)
			pthread_cond_wait(&p->cv, &p->mu);
		if (p->stop)
			break;
		struct job *j = p->todo;
		p->todo = j->next;
		if (!p->todo)
			p->todo_tail = &p->todo;
		p->queued--;
		pthread_mutex_unlock(&p->mu);

		j->next = NULL;
		j->run(p->cfg, j);

		pthread_mutex_lock(&p->mu);
		*p->done_tail = j;
		p->done_tail = &j->next;
		if (write(p->efd.fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
			log_warn("eventfd write");
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

/* Main thread: run the done() of every finished job. */
static void on_done(struct loop *l, struct loop_io *io, uint32_t events)
{
	struct webd *w = io->arg;
	struct pool *p = &w->pool;
	uint64_t n;
	struct job *list;

	if (read(io->fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		log_warn("eventfd read");
	pthread_mutex_lock(&p->mu);
	list = p->done;
	p->done = NULL;
	p->done_tail = &p->done;
	pthread_mutex_unlock(&p->mu);
	while (list) {
		struct job *j = list;
		list = j->next;
		p->busy--;
		j->done(w, j);	/* frees j */
	}
	http_run(w);
}

int pool_start(struct webd *w)
{
	struct pool *p = &w->pool;

	memset(p, 0, sizeof(*p));
	p->cfg = &w->cfg;
	p->todo_tail = &p->todo;
	p->done_tail = &p->done;
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv, NULL);
	p->efd.fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (p->efd.fd < 0)
		return -1;
	p->efd.cb = on_done;
	p->efd.arg = w;
	if (loop_add(&w->loop, &p->efd, EPOLLIN) < 0)
		return -1;
	for (int i = 0; i < WEBD_WORKERS; i++) {
		int e = pthread_create(&p->th[i], NULL, worker, p);
		if (e) {
			errno = e;
			return -1;
		}
		p->nthreads++;
	}
	return 0;
}

int pool_submit(struct pool *p, struct job *j)
{
	pthread_mutex_lock(&p->mu);
	if (p->stop || p->queued >= WEBD_MAX_QUEUED) {
		pthread_mutex_unlock(&p->mu);
		return -1;
	}
	j->next = NULL;
	*p->todo_tail = j;
	p->todo_tail = &j->next;
	p->queued++;
	p->busy++;
	pthread_cond_signal(&p->cv);
	pthread_mutex_unlock(&p->mu);
	return 0;
}

void pool_stop(struct pool *p)
{
	pthread_mutex_lock(&p->mu);
	p->stop = 1;
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
	/* A running job may be a 15 s handoff: at exit, do not wait for it (the
	 * process ends anyway); join only idle workers. */
	if (p->busy)
		return;
	for (int i = 0; i < p->nthreads; i++)
		pthread_join(p->th[i], NULL);
	p->nthreads = 0;
}
