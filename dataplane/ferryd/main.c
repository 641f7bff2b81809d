/*
 * main.c - ferryd, one gateway of a ferry pair (DESIGN §1, §5).
 *
 *   ferryd [EAL options] -- --config FILE --role source|target [--flow SRC->DST]
 *          [--stats FILE] [--pidfile FILE]
 *
 * The main lcore is the control thread: configuration, EAL and port set-up, the WAN session
 * (TLS key channel + WAN workers), the Kafka control plane (ctl.c), signals, stats. One io
 * lcore runs io.c; one worker lcore per WAN queue runs ferry_wan_dp_run.
 *
 * EAL options the operator leaves out come from the configuration: --lcores from
 * ferry.lcore.control / ferry.lcores.io / ferry.lcores.worker (mapped onto the CPUs there
 * are), the WAN ports from ferry.wan.ports (--vdev for virtual devices, -a for PCI), hugepage
 * use from ferry.hugepages (auto: hugepages when the kernel has free ones, else --no-huge,
 * and the log says which), --file-prefix ferryd-<role>.
 *
 * Sessions: a session is one TLS key channel with the peer plus one set of WAN workers.
 * When it breaks (peer killed, restarted, unreachable), the workers are stopped and freed,
 * the io lcore parks, and the gateway waits for the peer again ("waiting for ..." in the log
 * every 5 s). The target tells the source where to resume (RESUME) before data moves.
 *
 * Signals: SIGTERM / SIGINT drain and stop (source: no new fetches, wait until what is on the
 * WAN is acknowledged and committed; target: wait until what was received is written and
 * synced, commit, close); SIGHUP reloads the rules (a bad file is refused, the old rules
 * stay). Exit: 0 after a clean stop, 1 on a runtime failure, 2 on bad arguments or config.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_rcu_qsbr.h>
#include <rte_version.h>
#include <rte_ring.h>

#include "ctl.h"
#include "ferry/common.h"
#include "ferry/conf.h"
#include "ferry/metrics.h"
#include "ferry/metrics_dpdk.h"
#include "ferry/wan.h"
#include "ferry/wan_keychan.h"
#include "ferryd.h"
#include "group.h"
#include "policy_reload.h"
#include "stats.h"

#define PROG "ferryd"

extern struct rte_rcu_qsbr *ferryd_qsbr;

static volatile sig_atomic_t sig_stop, sig_hup;

static void
on_signal(int sig)
{
	if (sig == SIGHUP)
		sig_hup = 1;
	else
		sig_stop = 1;
}

struct opts {
	const char *config, *role, *flow, *stats, *pidfile;
};

static void
usage(FILE *f)
{
	fprintf(f, "usage: %s [EAL options] -- --config FILE --role source|target "
		   "[--flow SRC->DST] [--stats FILE] [--pidfile FILE]\n",
		PROG);
}

static int
parse_app(int argc, char **argv, struct opts *o)
{
	static const struct option lo[] = {
		{ "config", required_argument, NULL, 'c' }, { "role", required_argument, NULL, 'r' },
		{ "flow", required_argument, NULL, 'f' },   { "stats", required_argument, NULL, 's' },
		{ "pidfile", required_argument, NULL, 'p' }, { "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 'c': o->config = optarg; break;
		case 'r': o->role = optarg; break;
		case 'f': o->flow = optarg; break;
		case 's': o->stats = optarg; break;
		case 'p': o->pidfile = optarg; break;
		case 'h': usage(stdout); exit(0);
		default: usage(stderr); return -1;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "%s: unexpected argument '%s'\n", PROG, argv[optind]);
		return -1;
	}
	if (o->config == NULL) {
		fprintf(stderr, "%s: --config FILE is required\n", PROG);
		return -1;
	}
	return 0;
}

/* A librdkafka client property of cluster 'alias' for 'role' as the configuration gives it
 * (ALIAS.NAME, ALIAS.consumer.NAME, the file's NAME; Java names translated, sasl.jaas.config
 * into sasl.username/password): the value, or NULL; *line where it was set. */
static const char *
cluster_prop(const struct ferry_conf *conf, const char *alias, enum ferry_conf_role role,
	     const char *name, unsigned *line)
{
	size_t n;
	const struct ferry_conf_kv *kv = ferry_conf_client_props(conf, alias, role, &n);
	const char *v = NULL;

	/* the last one wins, as when librdkafka is given the list */
	for (size_t i = 0; kv && i < n; i++)
		if (strcmp(kv[i].name, name) == 0) {
			v = kv[i].value;
			if (line)
				*line = kv[i].line;
		}
	return v;
}

/* ---- EAL arguments from the configuration --------------------------------------------------- */

static bool
has_arg(int argc, char **argv, const char *const *names)
{
	for (int i = 0; i < argc; i++)
		for (const char *const *n = names; *n; n++)
			if (strncmp(argv[i], *n, strlen(*n)) == 0)
				return true;
	return false;
}

static long
free_hugepages(void)
{
	FILE *f = fopen("/proc/meminfo", "r");
	char line[256];
	long n = 0;

	if (f == NULL)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "HugePages_Free: %ld", &n) == 1)
			break;
	fclose(f);
	return n;
}

static int
eal_args(const struct ferry_conf *conf, const char *role, int argc, char **argv, char ***out,
	 int *outc, char *note, size_t notelen)
{
	static char lcores[512], prefix[64];
	char **v = calloc((size_t)argc + 64, sizeof(*v));
	int n = 0;

	if (v == NULL)
		return -ENOMEM;
	for (int i = 0; i < argc; i++)
		v[n++] = argv[i];
	if (!has_arg(argc, argv, (const char *const[]){ "-l", "--lcores", "-c", NULL })) {
		const uint16_t *io, *wk;
		size_t nio = ferry_conf_lcores(conf, "ferry.lcores.io", &io);
		size_t nwk = ferry_conf_lcores(conf, "ferry.lcores.worker", &wk);
		long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
		int ctl = (int)ferry_conf_int(conf, -1, "ferry.lcore.control");
		size_t len = 0;
		if (ncpu < 1)
			ncpu = 1;
		/* lcore ids keep their configured numbers; ids beyond the CPUs present share
		 * CPUs (a development host) and the note says so */
#define ADD_LCORE(id)                                                                              \
	len += (size_t)snprintf(lcores + len, sizeof(lcores) - len, "%s%d@%ld", len ? "," : "",   \
				(int)(id), (long)(id) % ncpu)
		ADD_LCORE(ctl);
		/* one io lcore per gateway so far: the partitions are not split over several
		 * (several gateway pairs per flow scale out instead: ferry.group.id) */
		for (size_t i = 0; i < nio && i < 1; i++)
			ADD_LCORE(io[i]);
		if (nio > 1)
			fprintf(stderr, "%s: ferry.lcores.io lists %zu lcores: ferryd uses one io "
					"lcore (%u), the others stay unused\n",
				PROG, nio, (unsigned)io[0]);
		for (size_t i = 0; i < nwk; i++)
			ADD_LCORE(wk[i]);
#undef ADD_LCORE
		v[n++] = "--lcores";
		v[n++] = lcores;
		v[n++] = "--main-lcore";
		static char mainl[16];
		snprintf(mainl, sizeof(mainl), "%d", ctl);
		v[n++] = mainl;
	}
	if (!has_arg(argc, argv, (const char *const[]){ "--file-prefix", "--in-memory", NULL })) {
		snprintf(prefix, sizeof(prefix), "ferryd-%s", role);
		v[n++] = "--file-prefix";
		v[n++] = prefix;
	}
	if (!has_arg(argc, argv, (const char *const[]){ "--no-huge", "--in-memory", "-m",
						       "--socket-mem", NULL })) {
		const char *hp = ferry_conf_str(conf, -1, "ferry.hugepages");
		long freehp = free_hugepages();
		if (hp && strcmp(hp, "off") == 0) {
			v[n++] = "--no-huge";
			v[n++] = "-m";
			v[n++] = "1024";
			snprintf(note, notelen, "without hugepages (ferry.hugepages=off)");
		} else if (freehp > 0 || (hp && strcmp(hp, "on") == 0)) {
			snprintf(note, notelen, "with hugepages (%ld free)", freehp);
		} else {
			v[n++] = "--no-huge";
			v[n++] = "-m";
			v[n++] = "1024";
			snprintf(note, notelen,
				 "WITHOUT hugepages (--no-huge: none free; see hw/hugepages)");
		}
	} else {
		snprintf(note, notelen, "%s",
			 has_arg(argc, argv, (const char *const[]){ "--no-huge", NULL })
			     ? "without hugepages (--no-huge given)"
			     : "with the memory options given");
	}
	if (!has_arg(argc, argv, (const char *const[]){ "--vdev", "-a", "--allow", "-b", NULL })) {
		const char *const *ports;
		size_t np = ferry_conf_list(conf, -1, "ferry.wan.ports", &ports);
		for (size_t i = 0; i < np && n < argc + 60; i++) {
			v[n++] = strncmp(ports[i], "net_", 4) == 0 ? "--vdev" : "-a";
			v[n++] = (char *)ports[i];
		}
		if (np > 0 && strncmp(ports[0], "net_", 4) == 0)
			v[n++] = "--no-pci";
	}
	*out = v;
	*outc = n;
	return 0;
}

/* ---- the gateway ---------------------------------------------------------------------------- */

static struct ferryd G;
static struct ferryd_ctl C;
/* ferry.group.id (source): the consumer group sharing the flow's partitions among gateway
 * pairs, and the session its revoke callback drains (NULL between sessions) */
static struct ferryd_group GRP;
static bool grouped;
static struct ferry_wan_keychan *sess_kc;
static atomic_bool workers_stop;
static unsigned worker_lcores[FERRYD_MAX_QUEUES];
static struct rte_mempool *mp;
static uint16_t port_id;
static struct ferry_wan_dp_conf dpc;

static int
worker_main(void *arg)
{
	ferry_wan_dp_run(arg, &workers_stop);
	return 0;
}

/* Configure and start the WAN port for nq queues and the link's IP MTU (ferry.wan.mtu):
 * a port that cannot carry 14 + mtu-byte frames is refused here rather than found out as
 * silent loss of every full-size packet. */
static int
port_setup(const struct ferryd *fd, uint16_t port, uint16_t nq, uint16_t mtu, char *err,
	   size_t errlen)
{
	struct rte_eth_conf pc;
	int rc;

	memset(&pc, 0, sizeof(pc));
	if ((rc = ferry_wan_dp_port_mtu(port, mtu, &pc.rxmode.mtu, err, errlen)) != 0)
		return rc;
	if (err[0])
		ferryd_log(fd, "%s", err);
	if ((rc = rte_eth_dev_configure(port, nq, nq, &pc)) != 0)
		return ferry_errf(rc, err, errlen, "port %u: configure %u queues: %s", port, nq,
				  rte_strerror(-rc));
	for (uint16_t q = 0; q < nq; q++) {
		rc = rte_eth_rx_queue_setup(port, q, 1024, rte_eth_dev_socket_id(port), NULL, mp);
		if (rc == 0)
			rc = rte_eth_tx_queue_setup(port, q, 1024, rte_eth_dev_socket_id(port), NULL);
		if (rc != 0)
			return ferry_errf(rc, err, errlen, "port %u queue %u: %s", port, q,
					  rte_strerror(-rc));
	}
	if ((rc = rte_eth_dev_start(port)) != 0)
		return ferry_errf(rc, err, errlen, "port %u: start: %s", port, rte_strerror(-rc));
	return 0;
}

static int
parse_ip(const char *s, uint32_t *ip)
{
	struct in_addr a;

	if (s == NULL || inet_pton(AF_INET, s, &a) != 1)
		return -EINVAL;
	*ip = ntohl(a.s_addr);
	return 0;
}

/* Wait (up to 2 s) for the WAN port's link. A virtual device whose peer was not ready when
 * it connected (memif: the server still held the previous client of a restarted gateway)
 * does not retry by itself: restart the port, which makes it connect again. Called between
 * sessions only (no worker polls the port then). */
static bool
port_link_up(struct ferryd *fd)
{
	for (int i = 0; i < 20; i++) {
		struct rte_eth_link link;
		if (rte_eth_link_get_nowait(port_id, &link) == 0 && link.link_status)
			return true;
		usleep(100000);
	}
	rte_eth_dev_stop(port_id);
	if (rte_eth_dev_start(port_id) != 0)
		ferryd_log(fd, "WAN port %u: restart failed", port_id);
	return false;
}

static void
session_stop(struct ferryd *fd)
{
	atomic_store(&fd->sess_state, FERRYD_SESS_STOPPING);
	while (!atomic_load(&fd->io_parked) && atomic_load(&fd->io_running))
		usleep(100);
	atomic_store(&workers_stop, true);
	for (uint16_t q = 0; q < fd->nqueues; q++)
		rte_eal_wait_lcore(worker_lcores[q]);
	pthread_mutex_lock(&fd->sess_lock);
	for (uint16_t q = 0; q < fd->nqueues; q++) {
		struct ferry_wan_dp_stats st;
		ferry_wan_dp_stats_read(fd->dps[q], &st);
		ferry_wan_dp_stats_add(&fd->wan_prev, &st);
		ferry_wan_dp_free(fd->dps[q]);
		fd->dps[q] = NULL;
	}
	pthread_mutex_unlock(&fd->sess_lock);
	atomic_store(&fd->sess_state, FERRYD_SESS_DOWN);
}

static int
session_workers(struct ferryd *fd, char *err, size_t errlen)
{
	int rc = 0;

	atomic_store(&workers_stop, false);
	pthread_mutex_lock(&fd->sess_lock);
	for (uint16_t q = 0; q < fd->nqueues && rc == 0; q++) {
		dpc.queue_id = q;
		fd->dps[q] = ferry_wan_dp_create(&dpc, err, errlen);
		if (fd->dps[q] == NULL) {
			while (q-- > 0) {
				ferry_wan_dp_free(fd->dps[q]);
				fd->dps[q] = NULL;
			}
			rc = -ENOMEM;
		}
	}
	pthread_mutex_unlock(&fd->sess_lock);
	if (rc != 0)
		return rc;
	for (uint16_t q = 0; q < fd->nqueues; q++)
		rte_eal_remote_launch(worker_main, fd->dps[q], worker_lcores[q]);
	return 0;
}

static void
reload_rules(struct ferryd *fd)
{
	char err[512];
	struct ferry_policy_rt *old = NULL;

	if (C.rules_file == NULL) {
		ferryd_log(fd, "SIGHUP: no rules file configured (ferry.rules.file): nothing to reload");
		return;
	}
	if (fd->policy && ferry_policy_reload(fd->policy, C.rules_file, &old, err, sizeof(err)) != 0) {
		ferryd_log(fd, "rules reload refused, the old rules stay in force: %s", err);
		return;
	}
	if (old) {
		rte_rcu_qsbr_synchronize(ferryd_qsbr, RTE_QSBR_THRID_INVALID);
		ferry_policy_rt_free(old);
	}
	if (ferryd_ctl_rules(&C, err, sizeof(err)) != 0)
		ferryd_log(fd, "rules reload: topic decisions: %s", err);
	ferryd_log(fd, "rules reloaded from %s (generation %" PRIu64 ")", C.rules_file,
		   ferry_policy_rt_generation(ferry_policy_current(fd->policy)));
}

/* Poll the key channel and handle what the peer says. <0 when the session broke. */
static int
session_poll(struct ferryd *fd, struct ferry_wan_keychan *kc, int timeout_ms, char *err,
	     size_t errlen)
{
	uint8_t buf[FERRY_WAN_KC_BODY_MAX];
	int rc = ferry_wan_keychan_poll(kc, timeout_ms, err, errlen);
	int n;

	if (rc != 0)
		return rc;
	while ((n = ferry_wan_keychan_recv_app(kc, buf, sizeof(buf))) > 0) {
		if (fd->role == FERRYD_SOURCE) {
			char merr[256];
			if (ferryd_ctl_source_msg(&C, buf, (size_t)n, merr, sizeof(merr)) != 0)
				ferryd_log(fd, "control message from the target refused: %s", merr);
		}
	}
	return 0;
}

static void
stats_tick(struct ferryd *fd, const char *path, int64_t *next)
{
	int64_t t = ferryd_now_ms();

	if (t < *next)
		return;
	*next = t + 1000;
	if (path)
		ferryd_stats_write(fd, path);
}

/* Source drain on SIGTERM: everything on the WAN acknowledged and committed, or 10 s. */
static void
drain_source(struct ferryd *fd, struct ferry_wan_keychan *kc)
{
	char err[256];
	int64_t deadline = ferryd_now_ms() + 10000;

	atomic_store(&fd->draining, true);
	while (ferryd_now_ms() < deadline) {
		bool idle = rte_ring_count(fd->slot_free) == fd->n_slots;
		uint32_t n = atomic_load(&fd->n_parts);
		for (uint32_t i = 0; i < n && idle; i++) {
			struct ferryd_part *p = &fd->parts[i];
			idle = p->stopped || p->uh < 0 || atomic_load(&p->committed) >= p->sent_next;
		}
		if (idle)
			break;
		if (session_poll(fd, kc, 5, err, sizeof(err)) != 0)
			break;
	}
}

/* Group revoke: the running session drains before the group hands its partitions on. */
static void
group_drain(void *arg)
{
	struct ferryd *fd = arg;

	if (sess_kc && atomic_load(&fd->sess_state) == FERRYD_SESS_UP)
		drain_source(fd, sess_kc);
}

/* Source with ferry.group.id, between sessions: subscribed, and an assignment in force?
 * false: not yet (the caller loops; the group is served here). */
static bool
group_ready(struct ferryd *fd, int64_t *next_log)
{
	char err[512];

	if (GRP.subscribed == NULL) {
		/* the topics to subscribe to come from the partition table (io is parked) */
		if (ferryd_ctl_tables(&C, err, sizeof(err)) != 0 ||
		    ferryd_group_subscribe(&GRP, err, sizeof(err)) != 0) {
			ferryd_log(fd, "group %s: %s: retrying", GRP.id, err);
			sleep(1);
			return false;
		}
		if (GRP.subscribed == NULL) {
			if (ferryd_now_ms() >= *next_log) {
				ferryd_log(fd, "group %s: no topic of %s to replicate yet", GRP.id,
					   fd->source);
				*next_log = ferryd_now_ms() + 5000;
			}
			sleep(1);
			return false;
		}
	}
	ferryd_group_poll(&GRP, 100);
	(void)ferryd_group_take_revoked(&GRP); /* no session to end */
	if (ferryd_group_assigned(&GRP))
		return true;
	if (ferryd_now_ms() >= *next_log) {
		ferryd_log(fd, "waiting for group %s on %s to assign partitions to this gateway",
			   GRP.id, fd->source);
		*next_log = ferryd_now_ms() + 5000;
	}
	return false;
}

static void
drain_target(struct ferry_wan_keychan *kc)
{
	char err[256];
	int64_t deadline = ferryd_now_ms() + 10000;

	while (ferryd_now_ms() < deadline) {
		ferryd_ctl_target_drain(&C, kc, err, sizeof(err));
		if (ferryd_ctl_target_quiet(&C))
			break;
		if (kc)
			ferry_wan_keychan_poll(kc, 5, err, sizeof(err));
		else
			usleep(5000);
	}
	ferryd_ctl_target_drain(&C, kc, err, sizeof(err));
}

static int
run(struct ferryd *fd, const struct opts *o, uint32_t local_ip, uint32_t peer_ip)
{
	struct ferry_wan_keychan_conf kcc;
	struct ferry_wan_keybox *boxes[FERRYD_MAX_QUEUES];
	char err[512], peer_ip_s[INET_ADDRSTRLEN], local_ip_s[INET_ADDRSTRLEN];
	int64_t next_stats = 0, next_wait_log = 0;
	bool first = true;
	struct in_addr a;

	a.s_addr = htonl(peer_ip);
	inet_ntop(AF_INET, &a, peer_ip_s, sizeof(peer_ip_s));
	a.s_addr = htonl(local_ip);
	inet_ntop(AF_INET, &a, local_ip_s, sizeof(local_ip_s));
	ferry_wan_keychan_conf_default(&kcc);
	kcc.role = fd->role == FERRYD_SOURCE ? FERRY_WAN_ROLE_CLIENT : FERRY_WAN_ROLE_SERVER;
	kcc.ca_file = ferry_conf_str(fd->conf, -1, "ferry.wan.tls.ca");
	kcc.cert_file = ferry_conf_str(fd->conf, -1, "ferry.wan.tls.cert");
	kcc.key_file = ferry_conf_str(fd->conf, -1, "ferry.wan.tls.key");
	kcc.peer_name = fd->role == FERRYD_SOURCE ? fd->target : fd->source;
	kcc.host = fd->role == FERRYD_SOURCE ? ferry_conf_str(fd->conf, -1, "ferry.wan.control.peer")
					     : ferry_conf_str(fd->conf, -1, "ferry.wan.control.bind");
	if (kcc.host == NULL)
		kcc.host = fd->role == FERRYD_SOURCE ? peer_ip_s : local_ip_s;
	kcc.port = (uint16_t)ferry_conf_int(fd->conf, -1, "ferry.wan.control.port");
	kcc.timeout_ms = 2000;
	kcc.nqueues = fd->nqueues;
	kcc.nlanes = fd->nlanes;
	kcc.mtu = dpc.link.mtu;

	const char *gid = ferry_conf_str(fd->conf, fd->flow, "ferry.group.id");
	grouped = gid != NULL;
	C.shared_flow = grouped;
	if (grouped && fd->role == FERRYD_SOURCE) {
		int st = (int)ferry_conf_int(fd->conf, fd->flow, "ferry.group.session.timeout.ms");
		if (ferryd_group_init(&GRP, &C, gid, st, err, sizeof(err)) != 0) {
			ferryd_log(fd, "group %s: %s", gid, err);
			return 2;
		}
		GRP.drain = group_drain;
		GRP.drain_arg = fd;
		ferryd_log(fd, "group %s: this gateway shares %s's partitions with the other "
			   "gateways of the group", gid, fd->source);
	}

	while (!sig_stop) {
		struct ferry_wan_keychan *kc;
		int rc;

		/* target: keep writing what was accepted while no source is connected */
		if (fd->role == FERRYD_TARGET)
			ferryd_ctl_target_drain(&C, NULL, err, sizeof(err));
		if (atomic_load(&fd->txn_fatal)) {
			ferryd_log(fd, "stopping: the exactly-once producer cannot write any more (%s)",
				   fd->txn_err);
			return 3;
		}
		stats_tick(fd, o->stats, &next_stats);
		if (grouped && fd->role == FERRYD_SOURCE && !group_ready(fd, &next_wait_log))
			continue;
		if (!port_link_up(fd)) {
			if (ferryd_now_ms() >= next_wait_log) {
				ferryd_log(fd, "WAN port %u: link down (cable, NIC, or the peer of a "
					   "virtual device not up yet): retrying", port_id);
				next_wait_log = ferryd_now_ms() + 5000;
			}
			continue;
		}
		if (session_workers(fd, err, sizeof(err)) != 0) {
			ferryd_log(fd, "WAN workers: %s", err);
			return 1;
		}
		for (uint16_t q = 0; q < fd->nqueues; q++)
			boxes[q] = ferry_wan_dp_keybox(fd->dps[q]);
		kcc.boxes = boxes;
		kc = ferry_wan_keychan_create(&kcc, err, sizeof(err));
		if (kc == NULL) {
			ferryd_log(fd, "key channel: %s", err);
			session_stop(fd);
			return 2;
		}
		rc = ferry_wan_keychan_establish(kc, err, sizeof(err));
		if (rc != 0) {
			ferry_wan_keychan_free(kc);
			session_stop(fd);
			if (rc == -EACCES || rc == -EPROTO) {
				ferryd_log(fd, "peer refused or misconfigured: %s", err);
				sleep(1);
			} else if (ferryd_now_ms() >= next_wait_log) {
				ferryd_log(fd, "waiting for the %s gateway at %s:%u: %s",
					   fd->role == FERRYD_SOURCE ? "target" : "source", kcc.host,
					   kcc.port, err);
				next_wait_log = ferryd_now_ms() + 5000;
			}
			continue;
		}
		ferryd_log(fd, "key channel up with %s (%s:%u), %u lanes on %u queues",
			   kcc.peer_name, kcc.host, kcc.port, fd->nlanes, fd->nqueues);
		/* tables (io parked), then where to resume */
		rc = ferryd_ctl_tables(&C, err, sizeof(err));
		if (rc == 0 && fd->role == FERRYD_TARGET) {
			/* everything accepted written and synced first: the reload and its tail
			 * count then see all of it */
			while (rc == 0 && !ferryd_ctl_target_quiet(&C) && !sig_stop) {
				ferryd_ctl_target_drain(&C, NULL, err, sizeof(err));
				rc = ferry_wan_keychan_poll(kc, 5, err, sizeof(err));
			}
			/* with a gateway group, the other pairs wrote partitions of this flow
			 * since: their progress is in the offset-syncs, not in this process */
			if (rc == 0 && (first || grouped || ferryd_ctl_target_stale(&C)))
				rc = ferryd_ctl_target_load(&C, err, sizeof(err));
			for (uint32_t i = 0; i < atomic_load(&fd->n_parts); i++)
				fd->parts[i].owned = true; /* whatever its source sends */
			if (rc == 0)
				rc = ferryd_ctl_target_resume(&C, kc, err, sizeof(err));
		} else if (rc == 0) {
			uint32_t n = atomic_load(&fd->n_parts);
			if (grouped) /* topics found since: the group rebalances, we restart */
				rc = ferryd_group_subscribe(&GRP, err, sizeof(err));
			for (uint32_t i = 0; i < n; i++) {
				struct ferryd_part *p = &fd->parts[i];
				p->resume = -1;
				p->owned = !grouped ||
					   ferryd_group_owns(&GRP, p->topic, p->partition);
			}
			C.resume_done = false;
			while (rc == 0 && !C.resume_done && !sig_stop)
				rc = session_poll(fd, kc, 10, err, sizeof(err));
		}
		if (rc != 0 || sig_stop) {
			if (rc != 0)
				ferryd_log(fd, "session start failed: %s", err);
			ferry_wan_keychan_close(kc, 0, "session start failed");
			ferry_wan_keychan_free(kc);
			session_stop(fd);
			ferryd_count(fd, FERRYD_CTR_session_resets, 1);
			sleep(1);
			continue;
		}
		first = false;
		ferryd_count(fd, FERRYD_CTR_sessions, 1);
		atomic_fetch_add(&fd->sess_gen, 1);
		atomic_store(&fd->draining, false); /* a group revoke drained the last one */
		sess_kc = kc;
		atomic_store(&fd->sess_state, FERRYD_SESS_UP);
		if (grouped && fd->role == FERRYD_SOURCE) {
			uint32_t n = atomic_load(&fd->n_parts), own = 0;
			for (uint32_t i = 0; i < n; i++)
				own += fd->parts[i].owned;
			ferryd_log(fd, "session %u up: %u of %u partitions (group %s)",
				   atomic_load(&fd->sess_gen), own, n, GRP.id);
		} else {
			ferryd_log(fd, "session %u up: %u partitions", atomic_load(&fd->sess_gen),
				   atomic_load(&fd->n_parts));
		}
		while (!sig_stop) {
			rc = session_poll(fd, kc, fd->busy_poll ? 0 : 1, err, sizeof(err));
			if (rc == 0 && fd->role == FERRYD_TARGET)
				rc = ferryd_ctl_target_drain(&C, kc, err, sizeof(err));
			if (rc != 0)
				break;
			if (sig_hup) {
				sig_hup = 0;
				reload_rules(fd);
			}
			ferryd_ctl_periodic(&C, ferryd_now_ms());
			stats_tick(fd, o->stats, &next_stats);
			if (grouped && fd->role == FERRYD_SOURCE) {
				ferryd_group_poll(&GRP, 0);
				if (ferryd_group_take_revoked(&GRP))
					break; /* drained in the callback */
			}
			if (C.new_topics) {
				/* the table grows while io is parked: drain, then a new session */
				C.new_topics = false;
				drain_source(fd, kc);
				break;
			}
		}
		sess_kc = NULL;
		if (rc == 0 && !sig_stop) {
			/* the group moved partitions, or new ones appeared: the next session
			 * replicates the new set */
			ferry_wan_keychan_close(kc, 0, "new partitions or a new group assignment");
			ferry_wan_keychan_free(kc);
			session_stop(fd);
			continue;
		}
		if (sig_stop) {
			ferryd_log(fd, "stopping: draining in-flight batches");
			if (fd->role == FERRYD_SOURCE)
				drain_source(fd, kc);
			else
				drain_target(kc);
			ferry_wan_keychan_close(kc, 0, "gateway stopping");
			ferry_wan_keychan_free(kc);
			session_stop(fd);
			break;
		}
		ferryd_log(fd, "session lost: %s", err);
		ferry_wan_keychan_free(kc);
		session_stop(fd);
		ferryd_count(fd, FERRYD_CTR_session_resets, 1);
	}
	if (fd->role == FERRYD_TARGET)
		drain_target(NULL);
	/* drained above: leaving hands this gateway's partitions to the others at once */
	ferryd_group_fini(&GRP);
	if (o->stats)
		ferryd_stats_write(fd, o->stats);
	return 0;
}

int
main(int argc, char **argv)
{
	struct opts o = { 0 };
	struct ferry_conf *conf = NULL;
	struct ferryd *fd = &G;
	char err[1024], note[160], txn_id[300] = "";
	char **eargv = NULL;
	int eargc, sep, rc, ret = 1;
	const struct ferry_conf_flow *flows;
	size_t nflows;

	/* application arguments come after "--"; read them (and the config) before the EAL */
	for (sep = 1; sep < argc && strcmp(argv[sep], "--") != 0; sep++)
		;
	if (sep >= argc) {
		usage(stderr);
		return 2;
	}
	{
		int ac = argc - sep;
		char **av = argv + sep;
		av[0] = argv[0];
		if (parse_app(ac, av, &o) != 0)
			return 2;
		av[0] = (char *)"--";
	}
	/* The stats file describes a running gateway: one left by an earlier instance (a crash,
	 * kill -9) would read as this one's state until its first write, a session "up" and
	 * partitions "caught up" that are not (an e2e run verified too early because of it). */
	if (o.stats && unlink(o.stats) != 0 && errno != ENOENT)
		fprintf(stderr, "%s: --stats %s: %s\n", PROG, o.stats, strerror(errno));
	rc = ferry_conf_load_file(o.config, 0, &conf, err, sizeof(err));
	if (conf) {
		size_t nd;
		const struct ferry_conf_diag *d = ferry_conf_diags(conf, &nd);
		for (size_t i = 0; i < nd; i++)
			fprintf(stderr, "%s:%u: %s: %s%s%s\n", o.config, d[i].line,
				d[i].sev == FERRY_CONF_ERROR ? "error" : "warning",
				d[i].key ? d[i].key : "", d[i].key ? ": " : "", d[i].msg);
	}
	if (rc != 0 || conf == NULL || ferry_conf_n_errors(conf) > 0) {
		fprintf(stderr, "%s: %s: %s\n", PROG, o.config, rc ? err : "configuration errors above");
		ferry_conf_free(conf);
		return 2;
	}
	memset(fd, 0, sizeof(*fd));
	pthread_mutex_init(&fd->sess_lock, NULL);
	fd->conf = conf;
	if (o.role == NULL)
		o.role = ferry_conf_str(conf, -1, "ferry.role");
	if (o.role == NULL || (strcmp(o.role, "source") != 0 && strcmp(o.role, "target") != 0)) {
		fprintf(stderr, "%s: --role source|target (or ferry.role) is required\n", PROG);
		goto out_conf;
	}
	fd->role = strcmp(o.role, "source") == 0 ? FERRYD_SOURCE : FERRYD_TARGET;
	flows = ferry_conf_flows(conf, &nflows);
	fd->flow = -1;
	for (size_t i = 0; i < nflows; i++) {
		char name[512];
		snprintf(name, sizeof(name), "%s->%s", flows[i].source, flows[i].target);
		if (o.flow ? strcmp(o.flow, name) == 0 : flows[i].enabled) {
			fd->flow = (int)i;
			break;
		}
	}
	if (fd->flow < 0) {
		fprintf(stderr, "%s: %s: %s\n", PROG, o.config,
			o.flow ? "--flow names no pair of the configured clusters"
			       : "no enabled flow (set SRC->DST.enabled = true)");
		ret = 2;
		goto out_conf;
	}
	fd->source = flows[fd->flow].source;
	fd->target = flows[fd->flow].target;
	fd->exactly_once = ferry_conf_bool(conf, fd->flow, "ferry.exactly.once");
	/* the io_uring data path speaks what librdkafka calls PLAINTEXT, SSL, SASL_PLAINTEXT and
	 * SASL_SSL with PLAIN or SCRAM; anything else is refused here, naming the key and line */
	for (int e = 0; e < 2; e++) {
		const char *alias = e ? fd->target : fd->source;
		enum ferry_conf_role role = e ? FERRY_CONF_ROLE_PRODUCER : FERRY_CONF_ROLE_CONSUMER;
		unsigned line = 0;
		const char *sp = cluster_prop(conf, alias, role, "security.protocol", &line);
		bool tls = sp && (strcasecmp(sp, "SSL") == 0 || strcasecmp(sp, "SASL_SSL") == 0);
		bool sasl = sp && strncasecmp(sp, "SASL_", 5) == 0;
		if (sp && strcasecmp(sp, "PLAINTEXT") != 0 && !tls && !sasl) {
			fprintf(stderr, "%s: %s:%u: %s.security.protocol = %s: not a protocol "
					"ferryd's broker data path speaks (PLAINTEXT, SSL, "
					"SASL_PLAINTEXT, SASL_SSL)\n",
				PROG, o.config, line, alias, sp);
			ret = 2;
			goto out_conf;
		}
		if (sasl) {
			const char *m = cluster_prop(conf, alias, role, "sasl.mechanisms", &line);
			if (m == NULL || !ferry_uring_sasl_supported(m) ||
			    !cluster_prop(conf, alias, role, "sasl.username", NULL) ||
			    !cluster_prop(conf, alias, role, "sasl.password", NULL)) {
				fprintf(stderr, "%s: %s:%u: %s: sasl.mechanism %s: ferryd's broker "
						"data path speaks PLAIN, SCRAM-SHA-256 and "
						"SCRAM-SHA-512, with sasl.username and sasl.password "
						"(or sasl.jaas.config)\n",
					PROG, o.config, line, alias, m ? m : "(not set: GSSAPI)");
				ret = 2;
				goto out_conf;
			}
		}
		/* TLS files are read when the io lcore starts, after the EAL and the ports:
		 * a missing one is named now */
		static const char *const files[] = { "ssl.ca.location", "ssl.certificate.location",
						     "ssl.key.location" };
		for (size_t k = 0; tls && k < 3; k++) {
			const char *path = cluster_prop(conf, alias, role, files[k], &line);
			if (path && access(path, R_OK) != 0) {
				fprintf(stderr, "%s: %s:%u: %s.%s %s: %s\n", PROG, o.config, line,
					alias, files[k], path, strerror(errno));
				ret = 2;
				goto out_conf;
			}
		}
	}
	fd->busy_poll = strcmp(ferry_conf_str(conf, -1, "ferry.poll.mode"), "busy") == 0;
	uint32_t local_ip = 0, peer_ip = 0;
	if (parse_ip(ferry_conf_str(conf, -1, "ferry.wan.local.ip"), &local_ip) != 0 ||
	    parse_ip(ferry_conf_str(conf, -1, "ferry.wan.peer.ip"), &peer_ip) != 0) {
		fprintf(stderr, "%s: %s: ferry.wan.local.ip and ferry.wan.peer.ip are required\n",
			PROG, o.config);
		ret = 2;
		goto out_conf;
	}
	if (ferry_conf_str(conf, -1, "ferry.wan.tls.ca") == NULL ||
	    ferry_conf_str(conf, -1, "ferry.wan.tls.cert") == NULL ||
	    ferry_conf_str(conf, -1, "ferry.wan.tls.key") == NULL) {
		fprintf(stderr, "%s: %s: ferry.wan.tls.ca, ferry.wan.tls.cert and ferry.wan.tls.key "
				"are required (the WAN key channel is TLS 1.3 with certificates)\n",
			PROG, o.config);
		ret = 2;
		goto out_conf;
	}

	/* control plane, policy */
	if (ferryd_ctl_init(&C, fd, err, sizeof(err)) != 0) {
		ferryd_log(fd, "%s", err);
		ret = 2;
		goto out_early;
	}
	if (fd->exactly_once && fd->role == FERRYD_TARGET) {
		/* the offset-syncs are written in the target's transaction with their batches */
		if (strcmp(C.flow.syncs_cluster, fd->target) != 0) {
			ferryd_log(fd, "%s: ferry.exactly.once = true needs offset-syncs.topic.location "
				   "= target (the offset-syncs are written in the same transaction as "
				   "the batches they describe)", o.config);
			ret = 2;
			goto out_early;
		}
		snprintf(fd->syncs_topic, sizeof(fd->syncs_topic), "%s", C.flow.syncs_topic);
		snprintf(txn_id, sizeof(txn_id), "ferry-%s-%s", fd->source, fd->target);
		if (ferry_conf_str(conf, fd->flow, "ferry.group.id")) {
			/* several target gateways write this flow: one transactional id each (a
			 * shared one would fence the others), stable across restarts so a restart
			 * fences its own predecessor: the key channel's bind address names the
			 * gateway (two cannot listen on the same one) */
			const char *b = ferry_conf_str(conf, -1, "ferry.wan.control.bind");
			if (b == NULL)
				b = ferry_conf_str(conf, -1, "ferry.wan.local.ip");
			snprintf(txn_id, sizeof(txn_id), "ferry-%s-%s-%s:%" PRId64, fd->source,
				 fd->target, b ? b : "", ferry_conf_int(conf, -1, "ferry.wan.control.port"));
		}
		ferryd_log(fd, "exactly-once: transactional id %s, offset-syncs in %s", txn_id,
			   fd->syncs_topic);
	}
	if (fd->role == FERRYD_SOURCE && C.rules_file) {
		struct ferry_policy_rt *old = NULL;
		fd->policy = ferry_policy_pub_new();
		if (fd->policy == NULL ||
		    ferry_policy_reload(fd->policy, C.rules_file, &old, err, sizeof(err)) != 0) {
			ferryd_log(fd, "rules %s: %s", C.rules_file, err);
			ret = 2;
			goto out_early;
		}
		ferryd_log(fd, "rules loaded from %s", C.rules_file);
	}

	if (eal_args(conf, o.role, sep, argv, &eargv, &eargc, note, sizeof(note)) != 0)
		goto out_early;
	rc = rte_eal_init(eargc, eargv);
	if (rc < 0) {
		fprintf(stderr, "%s: EAL initialisation failed: %s\n", PROG, rte_strerror(rte_errno));
		ret = 2;
		goto out_early;
	}
	ferryd_log(fd, "%s->%s, DPDK %s, %s", fd->source, fd->target, rte_version(), note);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGHUP, on_signal);
	signal(SIGPIPE, SIG_IGN);
	if (o.pidfile) {
		FILE *pf = fopen(o.pidfile, "w");
		if (pf) {
			fprintf(pf, "%d\n", (int)getpid());
			fclose(pf);
		}
	}

	/* lcores: main = control, next = io, then one worker per queue */
	fd->nqueues = (uint16_t)ferry_conf_int(conf, -1, "ferry.wan.queues");
	fd->nlanes = FERRYD_LANES;
	if (rte_lcore_count() < 2u + fd->nqueues) {
		ferryd_log(fd, "%u lcores: ferryd needs a control, an io and %u worker lcore(s)",
			   rte_lcore_count(), fd->nqueues);
		ret = 2;
		goto out_eal;
	}
	unsigned io_lcore = rte_get_next_lcore(-1, 1, 0);
	unsigned lc = io_lcore;
	for (uint16_t q = 0; q < fd->nqueues; q++)
		worker_lcores[q] = lc = rte_get_next_lcore(lc, 1, 0);
	if (rte_eth_dev_count_avail() < 1) {
		ferryd_log(fd, "no WAN port: ferry.wan.ports names no device DPDK could probe");
		ret = 2;
		goto out_eal;
	}
	port_id = 0;
	/* The transport builds every frame in one mbuf: the data room follows ferry.wan.mtu
	 * (9 KB buffers at MTU 9000); how many comes from ferry.mempool.mbufs, which the hw/
	 * profiles size with the memory formula (ferry-hwcheck --memory). */
	uint16_t wan_mtu = (uint16_t)ferry_conf_int(conf, -1, "ferry.wan.mtu");
	unsigned nmbufs = (unsigned)ferry_conf_int(conf, -1, "ferry.mempool.mbufs");
	uint16_t room = ferry_wan_dp_data_room(wan_mtu);
	mp = rte_pktmbuf_pool_create("ferryd", nmbufs, 256, 0, room, rte_socket_id());
	if (mp == NULL) {
		ferryd_log(fd, "packet pool of ferry.mempool.mbufs = %u mbufs of %u bytes (%.0f MB): "
			   "%s (lower it, raise -m or configure hugepages)",
			   nmbufs, (unsigned)room, (double)nmbufs * room / 1e6,
			   rte_strerror(rte_errno));
		ret = 2;
		goto out_eal;
	}
	if (port_setup(fd, port_id, fd->nqueues, wan_mtu, err, sizeof(err)) != 0) {
		ferryd_log(fd, "%s", err);
		goto out_pool;
	}

	/* WAN worker template */
	ferry_wan_dp_conf_default(&dpc);
	dpc.port_id = port_id;
	dpc.nqueues = fd->nqueues;
	dpc.nlanes = fd->nlanes;
	dpc.mp = mp;
	dpc.socket_id = (int)rte_socket_id();
	{
		struct rte_ether_addr mac;
		rte_eth_macaddr_get(port_id, &mac);
		memcpy(dpc.link.local.mac, mac.addr_bytes, 6);
		memset(dpc.link.peer.mac, 0xff, 6); /* no ARP on the WAN port: broadcast next hop */
	}
	dpc.link.local.ip = local_ip;
	dpc.link.peer.ip = peer_ip;
	dpc.link.local.port = dpc.link.peer.port =
	    (uint16_t)ferry_conf_int(conf, -1, "ferry.wan.udp.port");
	dpc.link.mtu = wan_mtu;
	dpc.key.replay_window = 1u << 16;
	if (ferry_conf_int(conf, -1, "ferry.wan.rate.mbps") > 0)
		dpc.lane_tx.rate.ceiling_bps =
		    (uint64_t)ferry_conf_int(conf, -1, "ferry.wan.rate.mbps") * 1000000;
	/* else the lane default (1 Gbit/s): the rate model finds the bottleneck below it */
	dpc.lane_tx.peer_buf = 16u << 20;
	dpc.lane_tx.max_batches = 64;
	dpc.lane_rx.buf_bytes = 16u << 20;
	dpc.ring_size = 1024;
	dpc.busy_poll = fd->busy_poll;

	/* slots, rings */
	fd->slot_cap = (uint32_t)ferry_conf_int(conf, fd->flow, "ferry.fetch.partition.max.bytes") +
		       (1u << 16) + (uint32_t)ferryd_desc_size(FERRYD_TOPIC_MAX, FERRYD_DESC_DROPS_MAX);
	fd->n_slots = 128;
	fd->slots = calloc(fd->n_slots, sizeof(*fd->slots));
	fd->parts = calloc(FERRYD_MAX_PARTS, sizeof(*fd->parts));
	fd->slot_free = rte_ring_create_elem("ferryd_free", sizeof(uint32_t), 256, rte_socket_id(), 0);
	fd->slot_done = rte_ring_create_elem("ferryd_done", sizeof(uint32_t), 256, rte_socket_id(), 0);
	fd->leader_upd = rte_ring_create("ferryd_leaders", 4096, rte_socket_id(), 0);
	if (fd->slots == NULL || fd->parts == NULL || fd->slot_free == NULL ||
	    fd->slot_done == NULL || fd->leader_upd == NULL) {
		ferryd_log(fd, "out of memory (slots, rings)");
		goto out_port;
	}
	for (uint32_t i = 0; i < fd->n_slots; i++) {
		fd->slots[i].cap = fd->slot_cap;
		fd->slots[i].buf = malloc(fd->slot_cap);
		if (fd->slots[i].buf == NULL) {
			ferryd_log(fd, "out of memory (%u slots of %u bytes)", fd->n_slots,
				   fd->slot_cap);
			goto out_slots;
		}
		rte_ring_enqueue_elem(fd->slot_free, &i, sizeof(i));
	}
	size_t qsz = rte_rcu_qsbr_get_memsize(1);
	ferryd_qsbr = rte_zmalloc("ferryd_qsbr", qsz, RTE_CACHE_LINE_SIZE);
	if (ferryd_qsbr == NULL || rte_rcu_qsbr_init(ferryd_qsbr, 1) != 0) {
		ferryd_log(fd, "RCU: out of memory");
		goto out_slots;
	}

	/* metrics: Prometheus /metrics and DPDK telemetry /ferry/metrics, one registry */
	struct ferry_metrics *metrics = ferry_metrics_new();
	if (metrics == NULL || ferry_metrics_add_source(metrics, ferryd_metrics_source, fd) != 0) {
		ferryd_log(fd, "metrics: out of memory");
		goto out_metrics;
	}
	int mport = (int)ferry_conf_int(conf, -1, "ferry.metrics.port");
	if (mport > 0) {
		if (ferry_metrics_http_start(metrics, NULL, (uint16_t)mport, err, sizeof(err)) != 0) {
			ferryd_log(fd, "%s (ferry.metrics.port; 0 turns the endpoint off)", err);
			ret = 2;
			goto out_metrics;
		}
		ferryd_log(fd, "metrics on http://0.0.0.0:%d/metrics", mport);
	}
	if (ferry_metrics_telemetry_register(metrics) != 0)
		ferryd_log(fd, "DPDK telemetry: /ferry/metrics not registered");

	/* io lcore */
	ferry_uring_conf_defaults(&fd->urc);
	fd->urc.client_id = "ferryd";
	{
		/* TLS and SASL to the cluster the io lcore talks to, with librdkafka's property
		 * names (the control plane's librdkafka clients read the same ones) */
		const char *alias = fd->role == FERRYD_SOURCE ? fd->source : fd->target;
		enum ferry_conf_role role = fd->role == FERRYD_SOURCE ? FERRY_CONF_ROLE_CONSUMER
								     : FERRY_CONF_ROLE_PRODUCER;
		const char *sp = cluster_prop(conf, alias, role, "security.protocol", NULL);
		const char *ei = cluster_prop(conf, alias, role,
					      "ssl.endpoint.identification.algorithm", NULL);
		fd->urc.tls = sp && (strcasecmp(sp, "SSL") == 0 || strcasecmp(sp, "SASL_SSL") == 0);
		fd->urc.tls_ca_file = cluster_prop(conf, alias, role, "ssl.ca.location", NULL);
		fd->urc.tls_cert_file = cluster_prop(conf, alias, role, "ssl.certificate.location",
						     NULL);
		fd->urc.tls_key_file = cluster_prop(conf, alias, role, "ssl.key.location", NULL);
		fd->urc.tls_key_password = cluster_prop(conf, alias, role, "ssl.key.password", NULL);
		fd->urc.tls_verify_host = ei == NULL || strcasecmp(ei, "none") != 0;
		if (sp && strncasecmp(sp, "SASL_", 5) == 0) {
			fd->urc.sasl_mechanism = cluster_prop(conf, alias, role, "sasl.mechanisms",
							      NULL);
			fd->urc.sasl_username = cluster_prop(conf, alias, role, "sasl.username", NULL);
			fd->urc.sasl_password = cluster_prop(conf, alias, role, "sasl.password", NULL);
		}
		if (fd->urc.tls || fd->urc.sasl_mechanism)
			ferryd_log(fd, "brokers of %s: %s%s%s%s%s", alias, sp,
				   fd->urc.tls ? ", CA " : "",
				   fd->urc.tls ? (fd->urc.tls_ca_file ? fd->urc.tls_ca_file
								      : "system store")
					       : "",
				   fd->urc.sasl_mechanism ? ", SASL " : "",
				   fd->urc.sasl_mechanism ? fd->urc.sasl_mechanism : "");
	}
	fd->urc.isolation_level =
	    strcmp(ferry_conf_str(conf, fd->flow, "ferry.fetch.isolation.level"), "read_committed") == 0;
	fd->urc.fetch_max_wait_ms = (int32_t)ferry_conf_int(conf, fd->flow, "ferry.fetch.wait.max.ms");
	fd->urc.partition_max_bytes =
	    (int32_t)ferry_conf_int(conf, fd->flow, "ferry.fetch.partition.max.bytes");
	fd->urc.produce_max_inflight =
	    (unsigned)ferry_conf_int(conf, fd->flow, "ferry.producer.max.in.flight");
	fd->urc.max_parts = FERRYD_MAX_PARTS;
	if (txn_id[0])
		fd->urc.transactional_id = txn_id;
	rte_eal_remote_launch(ferryd_io_main, fd, io_lcore);
	while (!atomic_load(&fd->io_running) && !atomic_load(&fd->io_failed))
		usleep(1000);
	if (atomic_load(&fd->io_failed)) {
		ferryd_log(fd, "io lcore: %s", fd->io_err);
		rte_eal_wait_lcore(io_lcore);
		goto out_metrics;
	}

	ret = run(fd, &o, local_ip, peer_ip);

	atomic_store(&fd->io_stop, true);
	rte_eal_wait_lcore(io_lcore);
	ferryd_log(fd, "stopped");
out_metrics:
	ferry_metrics_http_stop(metrics);
	ferry_metrics_telemetry_unregister(metrics);
	ferry_metrics_free(metrics);
	rte_free(ferryd_qsbr);
out_slots:
	for (uint32_t i = 0; fd->slots && i < fd->n_slots; i++)
		free(fd->slots[i].buf);
	free(fd->slots);
	for (uint32_t i = 0; fd->parts && i < atomic_load(&fd->n_parts); i++) {
		free(fd->parts[i].pend);
		free(fd->parts[i].order);
	}
	free(fd->parts);
	rte_ring_free(fd->slot_free);
	rte_ring_free(fd->slot_done);
	if (fd->leader_upd) {
		void *u = NULL;
		while (rte_ring_dequeue(fd->leader_upd, &u) == 0)
			free(u);
	}
	rte_ring_free(fd->leader_upd);
out_port:
	rte_eth_dev_stop(port_id);
	rte_eth_dev_close(port_id);
out_pool:
	rte_mempool_free(mp);
out_eal:
	rte_eal_cleanup();
out_early:
	if (fd->policy) {
		struct ferry_policy_rt *rt = (struct ferry_policy_rt *)ferry_policy_current(fd->policy);
		ferry_policy_rt_free(rt);
		ferry_policy_pub_free(fd->policy);
	}
	ferryd_ctl_fini(&C);
out_conf:
	free(eargv); /* EAL may keep pointers into it until rte_eal_cleanup */
	ferry_conf_free(conf);
	return ret;
}
