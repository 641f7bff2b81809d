/*
 * metrics_http_none.c - the Prometheus endpoint when ferry is built without libmicrohttpd
 * (meson picks this file instead of metrics_http.c): starting says why it cannot serve, and
 * the rest of the registry (renders, telemetry) works as usual.
 */
#include <errno.h>
#include <stdio.h>

#include "metrics_int.h"

int
ferry_metrics_http_start(struct ferry_metrics *m, const char *bind_addr, uint16_t port, char *err,
			 size_t errlen)
{
	(void)m;
	snprintf(
	    err, errlen,
	    "metrics http: cannot serve %s port %u: ferry was built without libmicrohttpd "
	    "(install libmicrohttpd-dev and reconfigure); DPDK telemetry still has /ferry/metrics",
	    bind_addr != NULL && bind_addr[0] != '\0' ? bind_addr : "0.0.0.0", (unsigned)port);
	return -ENOTSUP;
}

void
ferry_metrics_http_stop(struct ferry_metrics *m)
{
	(void)m;
}
