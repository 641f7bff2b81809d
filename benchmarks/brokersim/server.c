/*
 * server.c - ferry-brokersim's network side: one epoll loop (level-triggered)
 * over non-blocking TCP sockets, per-connection input and output buffers,
 * Kafka framing with ferry_kafka_frame_split() (partial frames stay buffered),
 * strict request order per connection - a Fetch waiting for data holds the
 * requests behind it, as a broker mutes the channel - and signalfd/timerfd
 * for SIGINT/SIGTERM and periodic stats. A connection told to close after its
 * answer (a refused SASL login) reads nothing more and closes once it is sent.
 *
 * Main thread only. Owns the listening socket, the epoll, signal and timer
 * descriptors and every connection with its buffers. A bad frame closes its
 * connection and is counted; nothing a peer sends can stop the loop.
 */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "brokersim.h"

/* Stop reading a connection's requests while this much output is unsent. */
#define WBUF_HIGH ((size_t)32 << 20)
/* Give buffers above this back once they drain. */
#define BUF_SHRINK ((size_t)8 << 20)
#define RBUF_MIN   ((size_t)64 << 10)
/* recv() calls per readiness event, for fairness between connections. */
#define READS_PER_EVENT 8
#define WARN_BUDGET     50

/* epoll tags for the non-connection descriptors */
static int tag_listen, tag_signal, tag_timer;

int64_t
ferry_sim_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void
ferry_sim_warn(struct ferry_sim *sim, const char *fmt, ...)
{
	va_list ap;

	if (sim->log_budget == 0)
		return;
	va_start(ap, fmt);
	fputs("ferry-brokersim: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	if (--sim->log_budget == 0)
		fputs("ferry-brokersim: further warnings suppressed (see the counters)\n", stderr);
}

int
ferry_sim_listen(struct ferry_sim *sim, char *err, size_t errlen)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC,
				  .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_PASSIVE };
	struct addrinfo *res = NULL, *ai;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	const char *host = sim->conf.listen_host[0] ? sim->conf.listen_host : NULL;
	int fd = -1, one = 1, rc, last = 0;

	rc = getaddrinfo(host, sim->conf.listen_port, &hints, &res);
	if (rc != 0) {
		snprintf(err, errlen, "listen %s:%s: %s", host ? host : "*", sim->conf.listen_port,
			 gai_strerror(rc));
		return -EINVAL;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
			    ai->ai_protocol);
		if (fd < 0) {
			last = errno;
			continue;
		}
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, 1024) == 0)
			break;
		last = errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0) {
		snprintf(err, errlen, "listen %s:%s: %s", host ? host : "*", sim->conf.listen_port,
			 strerror(last));
		return -last;
	}
	if (getsockname(fd, (struct sockaddr *)&ss, &sl) < 0) {
		rc = -errno;
		snprintf(err, errlen, "getsockname: %s", strerror(errno));
		close(fd);
		return rc;
	}
	sim->port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
						   : ((struct sockaddr_in *)&ss)->sin_port);
	sim->lfd = fd;
	if (host == NULL || strcmp(host, "0.0.0.0") == 0 || strcmp(host, "::") == 0)
		snprintf(sim->bind_host, sizeof(sim->bind_host), "127.0.0.1");
	else
		snprintf(sim->bind_host, sizeof(sim->bind_host), "%s", host);
	/* What clients are told to connect to (Metadata, FindCoordinator). A port of its
	 * own means a proxy sits in front (a TLS terminator): clients must come back
	 * through it, never straight here. */
	snprintf(sim->adv_host, sizeof(sim->adv_host), "%s",
		 sim->conf.advertise[0] ? sim->conf.advertise : sim->bind_host);
	sim->adv_port = sim->conf.advertise_port ? sim->conf.advertise_port : sim->port;
	return 0;
}

/* ---- connections ---------------------------------------------------------------------------- */

/* Make room for 'need' bytes from the start of the live data at *pos. */
static int
buf_room(uint8_t **buf, size_t *cap, size_t *len, size_t *pos, size_t need)
{
	size_t live = *len - *pos;

	if (*pos > 0 && *cap - *len < need) {
		memmove(*buf, *buf + *pos, live);
		*len = live;
		*pos = 0;
	}
	if (*cap - *len < need) {
		size_t ncap = *cap ? *cap : RBUF_MIN;
		uint8_t *n;

		while (ncap - *len < need) {
			if (ncap > SIZE_MAX / 2)
				return -ENOMEM;
			ncap *= 2;
		}
		n = realloc(*buf, ncap);
		if (n == NULL)
			return -ENOMEM;
		*buf = n;
		*cap = ncap;
	}
	return 0;
}

static void
conn_close(struct ferry_sim *sim, struct ferry_sim_conn *c)
{
	if (c->dead)
		return;
	c->dead = true;
	epoll_ctl(sim->epfd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	if (c->parked) {
		c->parked = false;
		sim->n_parked--;
	}
	if (c->prev)
		c->prev->next = c->next;
	else
		sim->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	sim->n_conns--;
	/* freed after this loop iteration: later events may still point here */
	c->dead_next = sim->dead;
	sim->dead = c;
	sim->st[FERRY_SIM_ST_CONN_CLOSED]++;
}

static void
reap_dead(struct ferry_sim *sim)
{
	struct ferry_sim_conn *c, *next;

	for (c = sim->dead; c != NULL; c = next) {
		next = c->dead_next;
		ferry_sim_sasl_sess_free(c);
		free(c->rbuf);
		free(c->wbuf);
		free(c);
	}
	sim->dead = NULL;
}

static void
conn_update_events(struct ferry_sim *sim, struct ferry_sim_conn *c)
{
	uint32_t want = EPOLLRDHUP;
	struct epoll_event ev;

	if (c->dead)
		return;
	if (!c->parked && !c->closing && c->wlen - c->wpos < WBUF_HIGH)
		want |= EPOLLIN;
	if (c->wpos < c->wlen)
		want |= EPOLLOUT;
	if (want == c->events)
		return;
	ev.events = want;
	ev.data.ptr = c;
	if (epoll_ctl(sim->epfd, EPOLL_CTL_MOD, c->fd, &ev) == 0)
		c->events = want;
}

/* Send what is buffered; -1 if the connection had to be closed. */
static int
conn_flush(struct ferry_sim *sim, struct ferry_sim_conn *c)
{
	while (c->wpos < c->wlen) {
		ssize_t w = send(c->fd, c->wbuf + c->wpos, c->wlen - c->wpos, MSG_NOSIGNAL);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			conn_close(sim, c);
			return -1;
		}
		c->wpos += (size_t)w;
		sim->st[FERRY_SIM_ST_BYTES_OUT] += (uint64_t)w;
	}
	if (c->wpos == c->wlen) {
		c->wpos = c->wlen = 0;
		if (c->wcap > BUF_SHRINK) {
			free(c->wbuf);
			c->wbuf = NULL;
			c->wcap = 0;
		}
	}
	return 0;
}

int
ferry_sim_respond(struct ferry_sim *sim, struct ferry_sim_conn *c, int16_t api, int16_t ver,
		  int32_t corr, const void *msg, size_t hint)
{
	size_t need = hint + 64;

	(void)sim;
	for (;;) {
		struct ferry_wr w;
		int rc;

		if (buf_room(&c->wbuf, &c->wcap, &c->wlen, &c->wpos, need) < 0)
			return -ENOMEM;
		ferry_wr_init(&w, c->wbuf + c->wlen, c->wcap - c->wlen);
		rc = ferry_kafka_response_encode(&w, api, ver, corr, msg);
		if (rc == 0) {
			c->wlen += w.len;
			return 0;
		}
		/* The hint was short: retry with twice the room (encoding is a copy). */
		if (rc != FERRY_ERR__NOSPACE || need > (size_t)INT32_MAX)
			return rc;
		need = (c->wcap - c->wlen) * 2;
	}
}

/*
 * Answer the complete frames buffered, in order, until one parks or output piles up,
 * or one was the last (FERRY_SIM_CLOSE_AFTER: close once the answers are sent).
 */
static void
conn_process(struct ferry_sim *sim, struct ferry_sim_conn *c)
{
	while (!c->dead && !c->parked && !c->closing && c->wlen - c->wpos < WBUF_HIGH) {
		struct ferry_span in = ferry_span_make(c->rbuf + c->rpos, c->rlen - c->rpos), body;
		enum ferry_sim_act act;
		size_t used;
		int rc;

		rc = ferry_kafka_frame_split(in, sim->conf.max_frame, &body, &used);
		if (rc == FERRY_ERR__PARTIAL)
			break;
		if (rc < 0) {
			sim->st[FERRY_SIM_ST_CONN_BAD_FRAME]++;
			ferry_sim_warn(sim, "conn %llu (%s): frame size %d outside 0..%zu: closing",
				       (unsigned long long)c->id, c->peer,
				       (int32_t)ferry_be32(in.p), sim->conf.max_frame);
			conn_close(sim, c);
			return;
		}
		act = ferry_sim_handle(sim, c, body, false, false);
		if (act == FERRY_SIM_CLOSE) {
			conn_close(sim, c);
			return;
		}
		if (act == FERRY_SIM_PARK) {
			c->parked = true;
			c->park_gen = sim->append_gen;
			sim->n_parked++;
			break;
		}
		c->rpos += used;
		if (act == FERRY_SIM_CLOSE_AFTER)
			c->closing = true;
	}
	if (c->rpos == c->rlen) {
		c->rpos = c->rlen = 0;
		if (c->rcap > BUF_SHRINK) {
			free(c->rbuf);
			c->rbuf = NULL;
			c->rcap = 0;
		}
	}
	if (conn_flush(sim, c) < 0)
		return;
	if (c->closing && c->wpos == c->wlen) {
		conn_close(sim, c);
		return;
	}
	conn_update_events(sim, c);
}

static void
conn_on_readable(struct ferry_sim *sim, struct ferry_sim_conn *c)
{
	for (int k = 0; k < READS_PER_EVENT && !c->dead && !c->parked && !c->closing; k++) {
		size_t need = RBUF_MIN, space;
		ssize_t r;

		/* A frame whose size we know gets room for all of it (bounded by
		 * --max-frame, which frame_split checked before saying PARTIAL). */
		if (c->rlen - c->rpos >= 4) {
			int32_t size = (int32_t)ferry_be32(c->rbuf + c->rpos);
			if (size >= 0 && (size_t)size + 4 > c->rlen - c->rpos)
				need = (size_t)size + 4 - (c->rlen - c->rpos);
		}
		if (need < RBUF_MIN)
			need = RBUF_MIN;
		if (buf_room(&c->rbuf, &c->rcap, &c->rlen, &c->rpos, need) < 0) {
			ferry_sim_warn(sim, "conn %llu (%s): out of memory: closing",
				       (unsigned long long)c->id, c->peer);
			conn_close(sim, c);
			return;
		}
		space = c->rcap - c->rlen;
		r = recv(c->fd, c->rbuf + c->rlen, space, 0);
		if (r == 0) {
			conn_close(sim, c);
			return;
		}
		if (r < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				conn_close(sim, c);
			return;
		}
		c->rlen += (size_t)r;
		sim->st[FERRY_SIM_ST_BYTES_IN] += (uint64_t)r;
		conn_process(sim, c);
		if ((size_t)r < space)
			return;
	}
}

static void
accept_all(struct ferry_sim *sim)
{
	for (;;) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		struct ferry_sim_conn *c;
		struct epoll_event ev;
		char host[48], port[8];
		int fd, one = 1;

		fd = accept4(sim->lfd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				ferry_sim_warn(sim, "accept: %s", strerror(errno));
			return;
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		c = calloc(1, sizeof(*c));
		if (c == NULL) {
			close(fd);
			continue;
		}
		c->fd = fd;
		c->id = ++sim->next_conn_id;
		if (getnameinfo((struct sockaddr *)&ss, sl, host, sizeof(host), port, sizeof(port),
				NI_NUMERICHOST | NI_NUMERICSERV) == 0)
			snprintf(c->peer, sizeof(c->peer), "%s:%s", host, port);
		else
			snprintf(c->peer, sizeof(c->peer), "?");
		c->events = EPOLLIN | EPOLLRDHUP;
		ev.events = c->events;
		ev.data.ptr = c;
		if (epoll_ctl(sim->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
			close(fd);
			free(c);
			continue;
		}
		c->next = sim->conns;
		if (sim->conns)
			sim->conns->prev = c;
		sim->conns = c;
		sim->n_conns++;
		sim->st[FERRY_SIM_ST_CONN_ACCEPTED]++;
	}
}

static void
conn_on_event(struct ferry_sim *sim, struct ferry_sim_conn *c, uint32_t events)
{
	if (c->dead)
		return;
	if (events & (EPOLLERR | EPOLLHUP)) {
		conn_close(sim, c);
		return;
	}
	if (events & EPOLLOUT) {
		if (conn_flush(sim, c) < 0)
			return;
		/* output drained below the mark: answer what was held back */
		conn_process(sim, c);
	}
	if ((events & EPOLLIN) && !c->dead)
		conn_on_readable(sim, c);
	else if ((events & EPOLLRDHUP) && !c->dead && (c->parked || c->closing))
		conn_close(sim, c); /* gone while its Fetch waited, or while its refusal was sent */
}

/* Parked Fetches: answer those whose wait ended or whose partitions may have grown. */
static void
service_parked(struct ferry_sim *sim, int64_t now)
{
	struct ferry_sim_conn *c, *next;

	for (c = sim->conns; c != NULL && sim->n_parked > 0; c = next) {
		struct ferry_span in, body;
		enum ferry_sim_act act;
		size_t used;
		bool expired;

		next = c->next;
		if (!c->parked)
			continue;
		expired = now >= c->park_deadline;
		if (!expired && c->park_gen == sim->append_gen)
			continue;
		c->park_gen = sim->append_gen;
		in = ferry_span_make(c->rbuf + c->rpos, c->rlen - c->rpos);
		if (ferry_kafka_frame_split(in, sim->conf.max_frame, &body, &used) != 0) {
			conn_close(sim, c); /* cannot happen: this frame parsed before */
			continue;
		}
		act = ferry_sim_handle(sim, c, body, true, expired);
		if (act == FERRY_SIM_PARK)
			continue;
		c->parked = false;
		sim->n_parked--;
		if (act == FERRY_SIM_CLOSE) {
			conn_close(sim, c);
			continue;
		}
		c->rpos += used;
		if (act == FERRY_SIM_CLOSE_AFTER)
			c->closing = true;
		conn_process(sim, c);
	}
}

/* Milliseconds until the first parked Fetch times out, or -1. */
static int
next_timeout_ms(struct ferry_sim *sim, int64_t now)
{
	int64_t first = INT64_MAX;

	if (sim->n_parked == 0)
		return -1;
	for (struct ferry_sim_conn *c = sim->conns; c != NULL; c = c->next)
		if (c->parked && c->park_deadline < first)
			first = c->park_deadline;
	if (first <= now)
		return 0;
	first = (first - now + 999999) / 1000000;
	return first > 60000 ? 60000 : (int)first;
}

static int
epoll_add(int epfd, int fd, void *tag)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = tag };

	return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev);
}

int
ferry_sim_run(struct ferry_sim *sim, void (*on_tick)(struct ferry_sim *sim))
{
	struct epoll_event evs[128];
	sigset_t ss;
	int rc = 0;

	/* SIGINT/SIGTERM were blocked in main() before the address was printed;
	 * they arrive here as readable events, never interrupting a handler. */
	sigemptyset(&ss);
	sigaddset(&ss, SIGINT);
	sigaddset(&ss, SIGTERM);
	sim->sigfd = signalfd(-1, &ss, SFD_NONBLOCK | SFD_CLOEXEC);
	sim->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (sim->sigfd < 0 || sim->epfd < 0)
		return -errno;
	if (epoll_add(sim->epfd, sim->lfd, &tag_listen) < 0 ||
	    epoll_add(sim->epfd, sim->sigfd, &tag_signal) < 0)
		return -errno;
	if (sim->conf.stats_interval > 0) {
		struct itimerspec its;
		int64_t ns = (int64_t)(sim->conf.stats_interval * 1e9);

		sim->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
		if (sim->tfd < 0)
			return -errno;
		its.it_interval.tv_sec = ns / 1000000000;
		its.it_interval.tv_nsec = ns % 1000000000;
		its.it_value = its.it_interval;
		if (timerfd_settime(sim->tfd, 0, &its, NULL) < 0 ||
		    epoll_add(sim->epfd, sim->tfd, &tag_timer) < 0)
			return -errno;
	}

	while (!sim->stop) {
		int n = epoll_wait(sim->epfd, evs, (int)(sizeof(evs) / sizeof(evs[0])),
				   next_timeout_ms(sim, ferry_sim_now_ns()));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			rc = -errno;
			break;
		}
		for (int i = 0; i < n; i++) {
			void *tag = evs[i].data.ptr;

			if (tag == &tag_listen) {
				accept_all(sim);
			} else if (tag == &tag_signal) {
				struct signalfd_siginfo si;
				while (read(sim->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si))
					sim->stop = true;
			} else if (tag == &tag_timer) {
				uint64_t ticks;
				if (read(sim->tfd, &ticks, sizeof(ticks)) ==
					(ssize_t)sizeof(ticks) &&
				    on_tick != NULL)
					on_tick(sim);
			} else {
				conn_on_event(sim, tag, evs[i].events);
			}
		}
		if (sim->n_parked > 0)
			service_parked(sim, ferry_sim_now_ns());
		reap_dead(sim);
	}
	return rc;
}

void
ferry_sim_server_close(struct ferry_sim *sim)
{
	while (sim->conns != NULL)
		conn_close(sim, sim->conns);
	reap_dead(sim);
	if (sim->tfd >= 0)
		close(sim->tfd);
	if (sim->sigfd >= 0)
		close(sim->sigfd);
	if (sim->epfd >= 0)
		close(sim->epfd);
	if (sim->lfd >= 0)
		close(sim->lfd);
	sim->tfd = sim->sigfd = sim->epfd = sim->lfd = -1;
}
