/*
 * main.c - ferry-brokersim: command line (getopt_long, long-only options),
 * start-up (topics, source files), stats output and clean shutdown. The only
 * file that exits.
 *
 * Output contract (tests and scripts read it): the first line on stdout is
 * the bootstrap address "HOST:PORT" (with --advertise HOST:PORT, the address
 * the simulator itself listens on, for the proxy in front to connect to);
 * --stats-interval lines start "stats " (with --sasl-*, a second one
 * "stats sasl_ok=N sasl_failed=N unauthenticated=N" follows each);
 * at exit, after SIGINT/SIGTERM, come "stat NAME VALUE", "api NAME COUNT"
 * and one "topic NAME partition N ..." line per partition. Warnings go to
 * stderr.
 *
 * Main thread only.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "brokersim.h"

static const char *const stat_names[] = {
#define FERRY_SIM_STAT_NAME(e, name, help) name,
	FERRY_SIM_FOREACH_STAT(FERRY_SIM_STAT_NAME)
#undef FERRY_SIM_STAT_NAME
};

static const char *const stat_help[] = {
#define FERRY_SIM_STAT_HELP(e, name, help) help,
	FERRY_SIM_FOREACH_STAT(FERRY_SIM_STAT_HELP)
#undef FERRY_SIM_STAT_HELP
};

const char *
ferry_sim_stat_name(enum ferry_sim_stat s)
{
	return s < FERRY_SIM_ST__COUNT ? stat_names[s] : "?";
}

const char *
ferry_sim_stat_help(enum ferry_sim_stat s)
{
	return s < FERRY_SIM_ST__COUNT ? stat_help[s] : "?";
}

/* ---- command line --------------------------------------------------------------------------- */

enum {
	OPT_LISTEN = 256,
	OPT_ADVERTISE,
	OPT_TOPIC,
	OPT_SOURCE_RECORDS,
	OPT_DEFAULT_PARTITIONS,
	OPT_NO_AUTO_CREATE,
	OPT_STORE,
	OPT_STORE_MAX_BYTES,
	OPT_MAX_FRAME,
	OPT_MAX_MESSAGE_BYTES,
	OPT_VERIFY_RECORDS,
	OPT_STATS_INTERVAL,
	OPT_NODE_ID,
	OPT_SASL_PLAIN,
	OPT_SASL_SCRAM,
	OPT_LIST_STATS,
	OPT_HELP,
};

static const struct option long_opts[] = {
	{ "listen", required_argument, NULL, OPT_LISTEN },
	{ "advertise", required_argument, NULL, OPT_ADVERTISE },
	{ "topic", required_argument, NULL, OPT_TOPIC },
	{ "source-records", required_argument, NULL, OPT_SOURCE_RECORDS },
	{ "default-partitions", required_argument, NULL, OPT_DEFAULT_PARTITIONS },
	{ "no-auto-create", no_argument, NULL, OPT_NO_AUTO_CREATE },
	{ "store", no_argument, NULL, OPT_STORE },
	{ "store-max-bytes", required_argument, NULL, OPT_STORE_MAX_BYTES },
	{ "max-frame", required_argument, NULL, OPT_MAX_FRAME },
	{ "max-message-bytes", required_argument, NULL, OPT_MAX_MESSAGE_BYTES },
	{ "verify-records", no_argument, NULL, OPT_VERIFY_RECORDS },
	{ "stats-interval", required_argument, NULL, OPT_STATS_INTERVAL },
	{ "node-id", required_argument, NULL, OPT_NODE_ID },
	{ "sasl-plain", required_argument, NULL, OPT_SASL_PLAIN },
	{ "sasl-scram", required_argument, NULL, OPT_SASL_SCRAM },
	{ "list-stats", no_argument, NULL, OPT_LIST_STATS },
	{ "help", no_argument, NULL, OPT_HELP },
	{ NULL, 0, NULL, 0 },
};

static void
usage(FILE *f)
{
	fprintf(
	    f,
	    "usage: ferry-brokersim [options]\n"
	    "A Kafka broker simulator on ferry's codec: Fetch from pre-built batches at memory\n"
	    "speed (source topics), Produce validated and counted (sink topics).\n"
	    "\n"
	    "  --listen HOST:PORT          where to listen (default 127.0.0.1:0; port 0 =\n"
	    "                              ephemeral). The bootstrap address is the first line\n"
	    "                              on stdout.\n"
	    "  --advertise HOST[:PORT]     host (and port) given to clients in Metadata and\n"
	    "                              FindCoordinator answers (default: the listen host and\n"
	    "                              port). A PORT puts a proxy in front, e.g. a TLS\n"
	    "                              terminator listening there: the first line on stdout\n"
	    "                              is then the listen address, for the proxy to connect\n"
	    "                              to. An IPv6 address with a port: [ADDR]:PORT.\n"
	    "  --topic NAME:PARTITIONS[:source=FILE]\n"
	    "                              declare a topic (repeatable). With source=FILE it\n"
	    "                              serves the v2 record batches in FILE (concatenated),\n"
	    "                              replayed with rewritten BaseOffsets; without, it is a\n"
	    "                              sink that accepts Produce.\n"
	    "  --source-records N|inf      log length of each source partition, in records\n"
	    "                              (rounded up to a batch; default: one pass of the file)\n"
	    "  --default-partitions N      partitions of auto-created sink topics (default 1)\n"
	    "  --no-auto-create            unknown topics stay unknown\n"
	    "  --store                     keep produced batches so they can be fetched back\n"
	    "  --store-max-bytes N         memory cap of --store, oldest dropped (default 1G)\n"
	    "  --max-frame N               largest request frame (default 100M)\n"
	    "  --max-message-bytes N       largest produced batch (default 1048588)\n"
	    "  --verify-records            decompress and walk every produced record\n"
	    "  --stats-interval S          print a stats line every S seconds\n"
	    "  --node-id N                 broker id (default 1)\n"
	    "  --sasl-plain USER:PASSWORD  a SASL/PLAIN user (repeatable)\n"
	    "  --sasl-scram MECH:USER:PASSWORD\n"
	    "                              a SCRAM user, MECH SCRAM-SHA-256 or SCRAM-SHA-512\n"
	    "                              (repeatable). With any --sasl-* option the listener\n"
	    "                              is SASL_PLAINTEXT: a connection may send only\n"
	    "                              ApiVersions, SaslHandshake (v1) and SaslAuthenticate\n"
	    "                              until it authenticated, anything else closes it; a\n"
	    "                              refused login is answered SASL_AUTHENTICATION_FAILED\n"
	    "                              and closed. The password takes the rest of the\n"
	    "                              argument (it may hold ':'); ASCII (no SASLprep).\n"
	    "  --list-stats                describe the counters and exit\n"
	    "Sizes take k, M, G suffixes (powers of 1024). Stats are printed on SIGINT/SIGTERM.\n");
}

/* Unsigned size with an optional k/M/G suffix; -1 on error. */
static int
parse_size(const char *s, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;
	uint64_t mul = 1;

	if (s[0] < '0' || s[0] > '9')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0)
		return -1;
	if (*end == 'k' || *end == 'K')
		mul = UINT64_C(1) << 10;
	else if (*end == 'm' || *end == 'M')
		mul = UINT64_C(1) << 20;
	else if (*end == 'g' || *end == 'G')
		mul = UINT64_C(1) << 30;
	if (mul != 1)
		end++;
	if (*end != '\0' || v > max / mul)
		return -1;
	*out = v * mul;
	return 0;
}

static int
parse_listen(const char *s, struct ferry_sim_conf *conf)
{
	const char *colon = strrchr(s, ':');
	size_t hlen;

	if (colon == NULL || colon[1] == '\0' || strlen(colon + 1) >= sizeof(conf->listen_port))
		return -1;
	hlen = (size_t)(colon - s);
	/* [v6addr]:port */
	if (hlen >= 2 && s[0] == '[' && s[hlen - 1] == ']') {
		s++;
		hlen -= 2;
	}
	if (hlen >= sizeof(conf->listen_host))
		return -1;
	memcpy(conf->listen_host, s, hlen);
	conf->listen_host[hlen] = '\0';
	snprintf(conf->listen_port, sizeof(conf->listen_port), "%s", colon + 1);
	return 0;
}

/*
 * HOST, HOST:PORT or [V6ADDR]:PORT (also [V6ADDR]). A bare IPv6 address (two or more
 * colons, no brackets) is all host, as before ports could be given. PORT is 1..65535.
 */
static int
parse_advertise(const char *s, struct ferry_sim_conf *conf)
{
	const char *host = s, *port = NULL, *colon = strchr(s, ':');
	size_t hlen = strlen(s);
	unsigned long v;

	if (s[0] == '[') {
		const char *rb = strchr(s, ']');

		if (rb == NULL || (rb[1] != '\0' && rb[1] != ':'))
			return -1;
		host = s + 1;
		hlen = (size_t)(rb - host);
		port = rb[1] == ':' ? rb + 2 : NULL;
	} else if (colon != NULL && strchr(colon + 1, ':') == NULL) {
		hlen = (size_t)(colon - s);
		port = colon + 1;
	}
	if (hlen == 0 || hlen >= sizeof(conf->advertise))
		return -1;
	if (port != NULL) {
		/* digits only: strtoul alone would take signs, spaces and "0x" */
		if (port[0] == '\0' || strspn(port, "0123456789") != strlen(port) ||
		    strlen(port) > 5)
			return -1;
		v = strtoul(port, NULL, 10);
		if (v < 1 || v > 65535)
			return -1;
		conf->advertise_port = (uint16_t)v;
	} else {
		conf->advertise_port = 0;
	}
	memcpy(conf->advertise, host, hlen);
	conf->advertise[hlen] = '\0';
	return 0;
}

/* NAME:PARTITIONS[:source=FILE] - FILE takes the rest of the string. */
static int
parse_topic(const char *s, struct ferry_sim_conf *conf, char *err, size_t errlen)
{
	const char *c1 = strchr(s, ':'), *rest;
	struct ferry_sim_topic_spec *spec, *n;
	uint64_t parts;
	char num[16];
	size_t nlen;

	if (c1 == NULL) {
		snprintf(err, errlen, "--topic %s: want NAME:PARTITIONS[:source=FILE]", s);
		return -1;
	}
	rest = strchr(c1 + 1, ':');
	nlen = rest ? (size_t)(rest - c1 - 1) : strlen(c1 + 1);
	if (nlen == 0 || nlen >= sizeof(num)) {
		snprintf(err, errlen, "--topic %s: bad partition count", s);
		return -1;
	}
	memcpy(num, c1 + 1, nlen);
	num[nlen] = '\0';
	if (parse_size(num, 100000, &parts) < 0 || parts < 1) {
		snprintf(err, errlen, "--topic %s: partitions must be 1..100000", s);
		return -1;
	}
	if (!ferry_sim_topic_name_ok(ferry_span_make(s, (size_t)(c1 - s)))) {
		snprintf(err, errlen, "--topic %s: topic names are 1-249 of [a-zA-Z0-9._-]", s);
		return -1;
	}
	if (rest != NULL && (strncmp(rest + 1, "source=", 7) != 0 || rest[8] == '\0')) {
		snprintf(err, errlen, "--topic %s: after PARTITIONS only source=FILE", s);
		return -1;
	}
	for (size_t i = 0; i < conf->n_topics; i++) {
		if (strlen(conf->topics[i].name) == (size_t)(c1 - s) &&
		    strncmp(conf->topics[i].name, s, (size_t)(c1 - s)) == 0) {
			snprintf(err, errlen, "--topic %.*s given twice", (int)(c1 - s), s);
			return -1;
		}
	}
	n = realloc(conf->topics, (conf->n_topics + 1) * sizeof(*n));
	if (n == NULL)
		goto out_nomem;
	conf->topics = n;
	spec = &conf->topics[conf->n_topics];
	memset(spec, 0, sizeof(*spec));
	spec->name = strndup(s, (size_t)(c1 - s));
	spec->partitions = (int32_t)parts;
	spec->source = rest ? strdup(rest + 8) : NULL;
	if (spec->name == NULL || (rest && spec->source == NULL)) {
		free(spec->name);
		free(spec->source);
		goto out_nomem;
	}
	conf->n_topics++;
	return 0;

out_nomem:
	snprintf(err, errlen, "out of memory");
	return -1;
}

/*
 * --sasl-plain USER:PASSWORD (mech FERRY_SIM_SASL_PLAIN, spec = the argument) or
 * --sasl-scram MECH:USER:PASSWORD (mech -1: read from spec). The user name ends at the
 * first ':' after it, the password is the rest. One entry per user and mechanism.
 */
static int
parse_sasl_user(const char *opt, const char *spec, int mech, struct ferry_sim_conf *conf, char *err,
		size_t errlen)
{
	const char *user = spec, *colon;
	struct ferry_sim_sasl_user *u, *n;
	size_t ulen;

	if (mech < 0) {
		colon = strchr(spec, ':');
		mech =
		    colon ? ferry_sim_sasl_mech_parse(ferry_span_make(spec, (size_t)(colon - spec)))
			  : -1;
		if (mech != FERRY_SIM_SASL_SCRAM_SHA_256 && mech != FERRY_SIM_SASL_SCRAM_SHA_512) {
			snprintf(err, errlen,
				 "--%s %s: want MECH:USER:PASSWORD, MECH SCRAM-SHA-256 or "
				 "SCRAM-SHA-512",
				 opt, spec);
			return -1;
		}
		user = colon + 1;
	}
	colon = strchr(user, ':');
	if (colon == NULL || colon == user || colon[1] == '\0') {
		snprintf(err, errlen, "--%s: want %sUSER:PASSWORD, both non-empty", opt,
			 mech == FERRY_SIM_SASL_PLAIN ? "" : "MECH:");
		return -1;
	}
	ulen = (size_t)(colon - user);
	if (ulen > 255) {
		snprintf(err, errlen, "--%s: user names are at most 255 bytes", opt);
		return -1;
	}
	for (size_t i = 0; i < conf->n_sasl_users; i++) {
		if (conf->sasl_users[i].mech == (enum ferry_sim_sasl_mech)mech &&
		    strlen(conf->sasl_users[i].name) == ulen &&
		    strncmp(conf->sasl_users[i].name, user, ulen) == 0) {
			snprintf(err, errlen, "%s user %.*s given twice",
				 ferry_sim_sasl_mech_name((enum ferry_sim_sasl_mech)mech),
				 (int)ulen, user);
			return -1;
		}
	}
	n = realloc(conf->sasl_users, (conf->n_sasl_users + 1) * sizeof(*n));
	if (n == NULL)
		goto out_nomem;
	conf->sasl_users = n;
	u = &conf->sasl_users[conf->n_sasl_users];
	memset(u, 0, sizeof(*u));
	u->mech = (enum ferry_sim_sasl_mech)mech;
	u->name = strndup(user, ulen);
	u->password = strdup(colon + 1);
	if (u->name == NULL || u->password == NULL) {
		free(u->name);
		free(u->password);
		goto out_nomem;
	}
	conf->n_sasl_users++;
	return 0;

out_nomem:
	snprintf(err, errlen, "out of memory");
	return -1;
}

static void
conf_free(struct ferry_sim_conf *conf)
{
	for (size_t i = 0; i < conf->n_topics; i++) {
		free(conf->topics[i].name);
		free(conf->topics[i].source);
	}
	free(conf->topics);
	for (size_t i = 0; i < conf->n_sasl_users; i++) {
		struct ferry_sim_sasl_user *u = &conf->sasl_users[i];

		explicit_bzero(u->password, strlen(u->password));
		explicit_bzero(u->stored_key, sizeof(u->stored_key));
		explicit_bzero(u->server_key, sizeof(u->server_key));
		free(u->name);
		free(u->password);
	}
	free(conf->sasl_users);
}

static int
parse_args(int argc, char **argv, struct ferry_sim_conf *conf)
{
	char err[512];
	uint64_t v;
	int opt;

	snprintf(conf->listen_host, sizeof(conf->listen_host), "127.0.0.1");
	snprintf(conf->listen_port, sizeof(conf->listen_port), "0");
	conf->default_partitions = 1;
	conf->auto_create = true;
	conf->store_max = (size_t)1 << 30;
	conf->chunk_size = (size_t)4 << 20;
	conf->max_frame = FERRY_KAFKA_FRAME_MAX_DEFAULT;
	conf->max_message_bytes = 1048588; /* broker max.message.bytes default */
	conf->max_topics = 10000;
	conf->node_id = 1;

	while ((opt = getopt_long(argc, argv, "h", long_opts, NULL)) != -1) {
		switch (opt) {
		case OPT_LISTEN:
			if (parse_listen(optarg, conf) < 0)
				goto err_arg;
			break;
		case OPT_ADVERTISE:
			if (parse_advertise(optarg, conf) < 0)
				goto err_arg;
			break;
		case OPT_TOPIC:
			if (parse_topic(optarg, conf, err, sizeof(err)) < 0) {
				fprintf(stderr, "ferry-brokersim: %s\n", err);
				return -1;
			}
			break;
		case OPT_SOURCE_RECORDS:
			if (strcmp(optarg, "inf") == 0)
				conf->source_records = FERRY_SIM_UNBOUNDED;
			else if (parse_size(optarg, (uint64_t)FERRY_SIM_UNBOUNDED, &v) == 0)
				conf->source_records = (int64_t)v;
			else
				goto err_arg;
			break;
		case OPT_DEFAULT_PARTITIONS:
			if (parse_size(optarg, 100000, &v) < 0 || v < 1)
				goto err_arg;
			conf->default_partitions = (int32_t)v;
			break;
		case OPT_NO_AUTO_CREATE: conf->auto_create = false; break;
		case OPT_STORE: conf->store = true; break;
		case OPT_STORE_MAX_BYTES:
			if (parse_size(optarg, SIZE_MAX / 2, &v) < 0)
				goto err_arg;
			conf->store_max = (size_t)v;
			break;
		case OPT_MAX_FRAME:
			if (parse_size(optarg, INT32_MAX, &v) < 0 || v < 64)
				goto err_arg;
			conf->max_frame = (size_t)v;
			break;
		case OPT_MAX_MESSAGE_BYTES:
			if (parse_size(optarg, INT32_MAX, &v) < 0 || v < FERRY_KAFKA_BATCH_HDR_SIZE)
				goto err_arg;
			conf->max_message_bytes = (int32_t)v;
			break;
		case OPT_VERIFY_RECORDS: conf->verify_records = true; break;
		case OPT_STATS_INTERVAL: {
			char *end;
			conf->stats_interval = strtod(optarg, &end);
			if (*end != '\0' || !(conf->stats_interval >= 0.01) ||
			    conf->stats_interval > 86400)
				goto err_arg;
			break;
		}
		case OPT_NODE_ID:
			if (parse_size(optarg, INT32_MAX, &v) < 0)
				goto err_arg;
			conf->node_id = (int32_t)v;
			break;
		case OPT_SASL_PLAIN:
		case OPT_SASL_SCRAM:
			if (parse_sasl_user(long_opts[opt - OPT_LISTEN].name, optarg,
					    opt == OPT_SASL_PLAIN ? FERRY_SIM_SASL_PLAIN : -1, conf,
					    err, sizeof(err)) < 0) {
				fprintf(stderr, "ferry-brokersim: %s\n", err);
				return -1;
			}
			break;
		case OPT_LIST_STATS:
			for (int s = 0; s < FERRY_SIM_ST__COUNT; s++)
				printf("%-26s %s\n", stat_names[s], stat_help[s]);
			return 1;
		case 'h':
		case OPT_HELP: usage(stdout); return 1;
		default: usage(stderr); return -1;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "ferry-brokersim: unexpected argument '%s'\n", argv[optind]);
		return -1;
	}
	/* The store must hold any one batch, or eviction could not make room. */
	if (conf->store && conf->store_max < conf->chunk_size)
		conf->chunk_size = conf->store_max;
	if (conf->store && conf->store_max < (size_t)conf->max_message_bytes) {
		fprintf(stderr,
			"ferry-brokersim: --store-max-bytes must be at least "
			"--max-message-bytes (%d)\n",
			conf->max_message_bytes);
		return -1;
	}
	return 0;

err_arg:
	fprintf(stderr, "ferry-brokersim: bad value for --%s: '%s'\n",
		long_opts[opt - OPT_LISTEN].name, optarg);
	return -1;
}

/* ---- stats ----------------------------------------------------------------------------------- */

static void
print_tick(struct ferry_sim *sim)
{
	int64_t now = ferry_sim_now_ns();
	double dt = (double)(now - sim->t_prev) / 1e9;
	const uint64_t *st = sim->st, *pv = sim->st_prev;

	if (dt <= 0)
		return;
#define D(x) ((double)(st[FERRY_SIM_ST_##x] - pv[FERRY_SIM_ST_##x]) / dt)
	printf("stats t=%.1fs conns=%zu fetch=%.1fMB/s,%.0frec/s produce=%.1fMB/s,%.0frec/s "
	       "req/s=%.0f dup=%" PRIu64 " produce_err=%" PRIu64 " bad_frames=%" PRIu64 "\n",
	       (double)(now - sim->t_start) / 1e9, sim->n_conns, D(FETCH_BYTES) / 1e6,
	       D(FETCH_RECORDS), D(PRODUCE_BYTES) / 1e6, D(PRODUCE_RECORDS), D(REQUESTS),
	       st[FERRY_SIM_ST_PRODUCE_DUPLICATES],
	       st[FERRY_SIM_ST_PRODUCE_ERR_CORRUPT] + st[FERRY_SIM_ST_PRODUCE_ERR_INVALID] +
		   st[FERRY_SIM_ST_PRODUCE_ERR_SEQUENCE] + st[FERRY_SIM_ST_PRODUCE_ERR_EPOCH] +
		   st[FERRY_SIM_ST_PRODUCE_ERR_TOO_LARGE] + st[FERRY_SIM_ST_PRODUCE_ERR_OTHER],
	       st[FERRY_SIM_ST_CONN_BAD_FRAME]);
#undef D
	/* SASL_PLAINTEXT listener: logins so far (scripts watch these between steps) */
	if (sim->sasl)
		printf("stats sasl_ok=%" PRIu64 " sasl_failed=%" PRIu64 " unauthenticated=%" PRIu64
		       "\n",
		       st[FERRY_SIM_ST_SASL_AUTH_OK], st[FERRY_SIM_ST_SASL_AUTH_FAILED],
		       st[FERRY_SIM_ST_CONN_UNAUTHENTICATED]);
	fflush(stdout);
	memcpy(sim->st_prev, sim->st, sizeof(sim->st));
	sim->t_prev = now;
}

static void
print_final(struct ferry_sim *sim)
{
	double secs = (double)(ferry_sim_now_ns() - sim->t_start) / 1e9;

	printf("ferry-brokersim: stopped after %.1f s\n", secs);
	for (int s = 0; s < FERRY_SIM_ST__COUNT; s++)
		printf("stat %s %" PRIu64 "\n", stat_names[s], sim->st[s]);
	for (int a = 0; a <= FERRY_KAFKA_API_MAX; a++)
		if (sim->req_by_api[a])
			printf("api %s %" PRIu64 "\n", ferry_kafka_api_name((int16_t)a),
			       sim->req_by_api[a]);
	for (size_t i = 0; i < sim->n_topics; i++) {
		const struct ferry_sim_topic *t = sim->topics[i];
		for (int32_t j = 0; j < t->n_parts; j++) {
			const struct ferry_sim_part *p = &t->parts[j];
			if (t->src != NULL)
				printf("topic %s partition %d source log_start %" PRId64
				       " end %" PRId64 " served_batches %" PRIu64
				       " served_bytes %" PRIu64 "\n",
				       t->name, j, p->log_start, p->end, p->served_batches,
				       p->served_bytes);
			else
				printf("topic %s partition %d sink log_start %" PRId64
				       " end %" PRId64 " records %" PRIu64 " batches %" PRIu64
				       " bytes %" PRIu64 " duplicates %" PRIu64 "\n",
				       t->name, j, p->log_start, p->end, p->records, p->batches,
				       p->bytes, p->duplicates);
		}
	}
	fflush(stdout);
}

/* ---- main ------------------------------------------------------------------------------------ */

static int
load_topics(struct ferry_sim *sim)
{
	char err[512];

	for (size_t i = 0; i < sim->conf.n_topics; i++) {
		const struct ferry_sim_topic_spec *spec = &sim->conf.topics[i];
		struct ferry_sim_source *src = NULL;
		struct ferry_sim_topic *t;

		if (spec->source != NULL) {
			src = ferry_sim_source_load(spec->source, err, sizeof(err));
			if (src == NULL) {
				fprintf(stderr, "ferry-brokersim: %s\n", err);
				return -1;
			}
		}
		t = ferry_sim_topic_create(sim, ferry_span_str(spec->name), spec->partitions, src);
		if (t == NULL) {
			ferry_sim_source_free(src);
			fprintf(stderr, "ferry-brokersim: topic %s: out of memory\n", spec->name);
			return -1;
		}
		if (src != NULL)
			fprintf(
			    stderr,
			    "ferry-brokersim: topic %s: %d partition(s), source %s: %u batches, "
			    "%" PRId64 " records, %zu bytes per pass; end offset %" PRId64 "\n",
			    t->name, t->n_parts, src->path, src->n_batches, src->records, src->len,
			    t->parts[0].end);
	}
	return 0;
}

int
main(int argc, char **argv)
{
	static struct ferry_sim sim;
	char err[512];
	sigset_t ss;
	int rc;

	sim.lfd = sim.epfd = sim.sigfd = sim.tfd = -1;
	sim.log_budget = 50;
	sim.next_pid = 1000;
	rc = parse_args(argc, argv, &sim.conf);
	if (rc != 0) {
		conf_free(&sim.conf);
		return rc > 0 ? 0 : 2;
	}

	/* Block the stop signals before anyone can learn our address: a SIGTERM sent
	 * right after the first line waits in the signalfd instead of killing us. */
	sigemptyset(&ss);
	sigaddset(&ss, SIGINT);
	sigaddset(&ss, SIGTERM);
	sigprocmask(SIG_BLOCK, &ss, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (ferry_sim_sasl_init(&sim, err, sizeof(err)) < 0) {
		fprintf(stderr, "ferry-brokersim: %s\n", err);
		rc = 1;
		goto out_free_conf;
	}
	if (ferry_sim_handlers_init(&sim) < 0) {
		fprintf(stderr, "ferry-brokersim: out of memory\n");
		rc = 1;
		goto out_free_conf;
	}
	if (load_topics(&sim) < 0) {
		rc = 1;
		goto out_free_topics;
	}
	if (ferry_sim_listen(&sim, err, sizeof(err)) < 0) {
		fprintf(stderr, "ferry-brokersim: %s\n", err);
		rc = 1;
		goto out_free_topics;
	}
	if (sim.conf.advertise_port != 0) {
		/* The advertised address is the proxy's; the first line says where the
		 * proxy must connect (the output contract above). */
		printf("%s:%u\n", sim.bind_host, sim.port);
		fprintf(stderr, "ferry-brokersim: listening on %s:%u, advertising %s:%u\n",
			sim.bind_host, sim.port, sim.adv_host, sim.adv_port);
	} else {
		printf("%s:%u\n", sim.adv_host, sim.port);
	}
	fflush(stdout);
	if (sim.sasl) {
		char mechs[64] = "";

		for (int m = 0; m < FERRY_SIM_SASL__COUNT; m++)
			if (ferry_sim_sasl_mech_enabled(&sim, (enum ferry_sim_sasl_mech)m))
				snprintf(mechs + strlen(mechs), sizeof(mechs) - strlen(mechs),
					 "%s%s", mechs[0] ? " " : "",
					 ferry_sim_sasl_mech_name((enum ferry_sim_sasl_mech)m));
		fprintf(stderr, "ferry-brokersim: SASL_PLAINTEXT, mechanisms %s, %zu user(s)\n",
			mechs, sim.conf.n_sasl_users);
	}

	sim.t_start = sim.t_prev = ferry_sim_now_ns();
	rc = ferry_sim_run(&sim, print_tick);
	if (rc < 0)
		fprintf(stderr, "ferry-brokersim: event loop: %s\n", strerror(-rc));
	print_final(&sim);
	rc = rc < 0 ? 1 : 0;

	ferry_sim_server_close(&sim);
out_free_topics:
	ferry_sim_store_free(&sim);
	ferry_sim_groups_free(&sim);
	ferry_sim_topics_free(&sim);
	ferry_sim_handlers_fini(&sim);
out_free_conf:
	conf_free(&sim.conf);
	return rc;
}
