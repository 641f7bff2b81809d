/*
 * metrics_http.c - the Prometheus endpoint (DESIGN §8): GET /metrics served by libmicrohttpd.
 *
 * Threads: ferry_metrics_http_start/_stop run on the control thread; requests are handled on
 * one internal thread of libmicrohttpd, which renders the registry (ferry_metrics_render_*
 * takes the registry's lock, so a concurrent telemetry render is safe).
 *
 * The listening socket is made here rather than by libmicrohttpd: bind() fails with an errno
 * we can report with the address and port, and port 0 is resolved with getsockname().
 * libmicrohttpd closes it in MHD_stop_daemon.
 *
 * Limits: 32 connections at once and a 10 s idle timeout, so a slow or stuck client cannot
 * pin the server; a scrape is one short request.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <microhttpd.h>

#include "metrics_int.h"

#define HTTP_MAX_CONNECTIONS 32u
#define HTTP_TIMEOUT_S       10u
#define HTTP_BACKLOG         64

struct ferry_metrics_http {
	struct MHD_Daemon *daemon;
	/* Last message of libmicrohttpd's logger: read only when MHD_start_daemon failed. */
	char mhd_err[256];
};

static void
http_log(void *cls, const char *fmt, va_list ap)
{
	struct ferry_metrics_http *h = cls;

	/* The format comes from libmicrohttpd itself. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
	vsnprintf(h->mhd_err, sizeof(h->mhd_err), fmt, ap);
#pragma GCC diagnostic pop
	h->mhd_err[strcspn(h->mhd_err, "\n")] = '\0';
}

static enum MHD_Result
reply_text(struct MHD_Connection *conn, unsigned status, const char *body, const char *allow)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;

	resp = MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_PERSISTENT);
	if (resp == NULL)
		return MHD_NO;
	if (MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
				    "text/plain; charset=utf-8") != MHD_YES ||
	    (allow != NULL &&
	     MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, allow) != MHD_YES)) {
		MHD_destroy_response(resp);
		return MHD_NO;
	}
	ret = MHD_queue_response(conn, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

/*
 * One request; libmicrohttpd calls this at least twice. Other methods are refused on the
 * first call: that early 405 makes libmicrohttpd close the connection instead of reading an
 * upload nobody wants. GET and HEAD are answered on the second call, once the request is
 * complete, so the connection stays open for the next scrape (an answer queued on the first
 * call is sent with "Connection: close").
 */
static enum MHD_Result
http_handler(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
	     const char *version, const char *upload_data, size_t *upload_data_size, void **req_cls)
{
	static int seen; /* address used as "first call done" mark */
	struct ferry_metrics *m = cls;
	struct MHD_Response *resp;
	enum MHD_Result ret;
	char *out;
	size_t len;

	(void)version;
	(void)upload_data;
	/* RFC 9110 §9.1: a general-purpose server supports HEAD wherever it supports GET. */
	if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
		return reply_text(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed\n",
				  "GET, HEAD");
	if (*req_cls == NULL) {
		*req_cls = &seen;
		return MHD_YES;
	}
	if (*upload_data_size != 0) { /* a GET with a body: ignore it */
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (strcmp(url, "/metrics") != 0)
		return reply_text(conn, MHD_HTTP_NOT_FOUND, "not found: try /metrics\n", NULL);
	if (ferry_metrics_render_prometheus(m, &out, &len) != 0)
		return reply_text(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n", NULL);
	resp = MHD_create_response_from_buffer(len, out, MHD_RESPMEM_MUST_FREE);
	if (resp == NULL) {
		free(out);
		return MHD_NO;
	}
	if (MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
				    FERRY_METRICS_CONTENT_TYPE) != MHD_YES) {
		MHD_destroy_response(resp);
		return MHD_NO;
	}
	ret = MHD_queue_response(conn, MHD_HTTP_OK, resp);
	MHD_destroy_response(resp);
	return ret;
}

/* "127.0.0.1 port 9464" / "[::1] port 9464", for messages. */
static void
addr_str(const char *host, uint16_t port, char *buf, size_t n)
{
	snprintf(buf, n, strchr(host, ':') != NULL ? "[%s] port %u" : "%s port %u", host,
		 (unsigned)port);
}

/* A listening TCP socket on host:port; the fd, or -errno with a message in err. */
static int
http_listen(const char *host, uint16_t port, uint16_t *bound, char *err, size_t errlen)
{
	struct addrinfo hints = {
		.ai_family = AF_UNSPEC,
		.ai_socktype = SOCK_STREAM,
		.ai_flags = AI_PASSIVE | AI_NUMERICSERV,
	};
	struct addrinfo *res;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char where[300], serv[8];
	int fd, rc, one = 1;

	addr_str(host, port, where, sizeof(where));
	snprintf(serv, sizeof(serv), "%u", (unsigned)port);
	rc = getaddrinfo(host, serv, &hints, &res);
	if (rc != 0) {
		snprintf(err, errlen, "metrics http: cannot resolve %s: %s", where,
			 gai_strerror(rc));
		return rc == EAI_MEMORY ? -ENOMEM : -EINVAL;
	}
	fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		rc = -errno;
		snprintf(err, errlen, "metrics http: socket for %s: %s", where, strerror(-rc));
		goto out_free_res;
	}
	/* A restart may bind while old connections sit in TIME_WAIT. */
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
	    bind(fd, res->ai_addr, res->ai_addrlen) != 0 || listen(fd, HTTP_BACKLOG) != 0 ||
	    getsockname(fd, (struct sockaddr *)&ss, &sl) != 0) {
		rc = -errno;
		snprintf(err, errlen, "metrics http: cannot listen on %s: %s", where,
			 strerror(-rc));
		goto out_close;
	}
	*bound = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
						: ((struct sockaddr_in *)&ss)->sin_port);
	freeaddrinfo(res);
	return fd;

out_close:
	close(fd);
out_free_res:
	freeaddrinfo(res);
	return rc;
}

int
ferry_metrics_http_start(struct ferry_metrics *m, const char *bind_addr, uint16_t port, char *err,
			 size_t errlen)
{
	struct ferry_metrics_http *h;
	const char *host = bind_addr != NULL && bind_addr[0] != '\0' ? bind_addr : "0.0.0.0";
	uint16_t bound = 0;
	char where[300];
	int fd;

	if (m == NULL) {
		snprintf(err, errlen, "metrics http: no registry");
		return -EINVAL;
	}
	if (m->http != NULL) {
		snprintf(err, errlen, "metrics http: already serving on port %u",
			 (unsigned)m->http_port);
		return -EALREADY;
	}
	h = calloc(1, sizeof(*h));
	if (h == NULL) {
		snprintf(err, errlen, "metrics http: out of memory");
		return -ENOMEM;
	}
	fd = http_listen(host, port, &bound, err, errlen);
	if (fd < 0) {
		free(h);
		return fd;
	}
	h->daemon = MHD_start_daemon(MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ERROR_LOG, 0, NULL,
				     NULL, http_handler, m, MHD_OPTION_EXTERNAL_LOGGER, http_log, h,
				     MHD_OPTION_LISTEN_SOCKET, (MHD_socket)fd,
				     MHD_OPTION_CONNECTION_LIMIT, HTTP_MAX_CONNECTIONS,
				     MHD_OPTION_CONNECTION_TIMEOUT, HTTP_TIMEOUT_S, MHD_OPTION_END);
	if (h->daemon == NULL) {
		addr_str(host, bound, where, sizeof(where));
		snprintf(err, errlen, "metrics http: libmicrohttpd could not serve %s: %s", where,
			 h->mhd_err[0] ? h->mhd_err : "MHD_start_daemon failed");
		close(fd);
		free(h);
		return -EIO;
	}
	m->http = h;
	m->http_port = bound;
	return 0;
}

void
ferry_metrics_http_stop(struct ferry_metrics *m)
{
	if (m == NULL || m->http == NULL)
		return;
	MHD_stop_daemon(m->http->daemon); /* joins its thread, closes the listening socket */
	free(m->http);
	m->http = NULL;
	m->http_port = 0;
}
