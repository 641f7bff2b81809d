/*
 * mm2_cmd.c - ferryctl's replication commands over an MM2 properties file:
 *   status     per flow and partition: source end, replicated up to (the last offset-sync),
 *              lag in records and ms, heartbeat age, records denied (from the offset-syncs,
 *              and whole topics the flow's rules deny); masked/tokenised spans per topic
 *              from the gateway's stats JSON (--stats); --json for scripts
 *   translate  a group's committed source offsets -> exact target offsets
 *   failover   commit the translated offsets on the target for an inactive group
 *   failback   the reverse: the group's target offsets -> source offsets, committed on the
 *              source (after a failover, to return)
 *
 * Main thread of ferryctl; blocking librdkafka calls with the flow's timeout. Errors name
 * cluster, topic, partition and group. Exit status: 0 ok, 1 failure, 2 usage.
 */
#include <errno.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ferry/common.h"
#include "ferryctl.h"
#include "mm2.h"

struct cmd_opts {
	const char *config, *from, *to, *group;
	const char *via;   /* translate/failover: syncs | checkpoints | auto */
	const char *stats; /* status: the JSON `ferryd --stats FILE` writes */
	bool json, help;
	int timeout_ms;
};

static int64_t
wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int
parse_opts(const char *cmd, int argc, char **argv, struct cmd_opts *o)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "from", required_argument, NULL, 'f' },
		{ "to", required_argument, NULL, 't' },
		{ "group", required_argument, NULL, 'g' },
		{ "via", required_argument, NULL, 'v' },
		{ "json", no_argument, NULL, 'j' },
		{ "timeout", required_argument, NULL, 'T' },
		{ "stats", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	memset(o, 0, sizeof(*o));
	o->via = "auto";
	o->timeout_ms = 10000;
	optind = 1;
	int c;
	while ((c = getopt_long(argc, argv, "c:f:t:g:v:jT:s:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c': o->config = optarg; break;
		case 'f': o->from = optarg; break;
		case 't': o->to = optarg; break;
		case 'g': o->group = optarg; break;
		case 'v': o->via = optarg; break;
		case 'j': o->json = true; break;
		case 'T': o->timeout_ms = atoi(optarg); break;
		case 's': o->stats = optarg; break;
		case 'h': o->help = true; break;
		default: return 2;
		}
	}
	if (o->help)
		return 0;
	if (o->config == NULL) {
		fprintf(stderr, "%s: --config FILE is required (the MM2 properties file)\n", cmd);
		return 2;
	}
	if (strcmp(o->via, "auto") && strcmp(o->via, "syncs") && strcmp(o->via, "checkpoints")) {
		fprintf(stderr, "%s: --via is auto, syncs or checkpoints\n", cmd);
		return 2;
	}
	return 0;
}

static struct ferry_conf *
load_conf(const char *cmd, const char *path)
{
	char err[512];
	struct ferry_conf *c = NULL;
	int rc = ferry_conf_load_file(path, 0, &c, err, sizeof(err));
	if (rc == -EINVAL) {
		size_t n;
		const struct ferry_conf_diag *d = ferry_conf_diags(c, &n);
		for (size_t i = 0; i < n; i++)
			if (d[i].sev == FERRY_CONF_ERROR)
				fprintf(stderr, "%s:%u: error: %s: %s\n", d[i].file, d[i].line,
					d[i].key, d[i].msg);
		fprintf(stderr, "%s: %s has errors (see `ferryctl config check`)\n", cmd, path);
		ferry_conf_free(c);
		return NULL;
	}
	if (rc < 0) {
		fprintf(stderr, "%s: %s\n", cmd, err);
		return NULL;
	}
	return c;
}

static int
open_flow(const char *cmd, struct ferry_conf *c, const char *from, const char *to,
	  struct ferry_mm2_flow *f, int timeout_ms)
{
	char err[512];
	int fi = ferry_conf_flow_find(c, from, to);
	if (fi < 0) {
		fprintf(stderr, "%s: no flow %s->%s: both must be in `clusters`\n", cmd, from, to);
		return -1;
	}
	if (ferry_mm2_flow_init(f, c, fi, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s: %s\n", cmd, err);
		return -1;
	}
	f->timeout_ms = timeout_ms;
	return 0;
}

/* ---- translate ------------------------------------------------------------------------- */

/* The group's target offsets: exact through the offset-syncs when the source answers, else
 * the newest checkpoints on the target (what RemoteClusterUtils does; the source may be the
 * cluster that is down). */
static int
translate_group(const char *cmd, struct ferry_mm2_flow *f, const char *group, const char *via,
		struct ferry_ckpt_list *out, const char **used)
{
	char err[512];
	int rc = -1;
	memset(out, 0, sizeof(*out));
	if (strcmp(via, "checkpoints") != 0) {
		struct ferry_osync_store *s = ferry_osync_store_new(0);
		struct ferry_mm2_topic *t = NULL;
		size_t nt = 0, bad = 0;
		struct ferry_group_offsets go = { 0 };
		if (s == NULL)
			return -ENOMEM;
		rc = ferry_mm2_syncs_load(f, s, &bad, err, sizeof(err));
		if (rc == 0)
			rc = ferry_mm2_topics_list(f, NULL, &t, &nt, err, sizeof(err));
		if (rc == 0)
			rc = ferry_mm2_group_offsets_fetch(f, f->source, group, t, nt, false, &go,
							   err, sizeof(err));
		if (rc == 0) {
			size_t skipped = 0;
			rc = ferry_ckpt_translate(f, s, NULL, group, go.o, go.n, out, &skipped, err,
						  sizeof(err));
			if (rc == 0 && skipped)
				fprintf(stderr,
					"%s: group %s: %zu partition(s) on %s have no usable "
					"offset-sync (older than the oldest, or not replicated)\n",
					cmd, group, skipped, f->source);
		}
		if (bad)
			fprintf(stderr, "%s: %zu record(s) in %s on %s are not offset-syncs\n", cmd,
				bad, f->syncs_topic, f->syncs_cluster);
		ferry_group_offsets_free(&go);
		ferry_mm2_topics_free(t, nt);
		ferry_osync_store_free(s);
		*used = "offset-syncs";
		if (rc == 0 || strcmp(via, "syncs") == 0) {
			if (rc < 0)
				fprintf(stderr, "%s: %s\n", cmd, err);
			return rc;
		}
		fprintf(stderr, "%s: %s; using the checkpoints on %s instead\n", cmd, err,
			f->target);
		ferry_ckpt_list_free(out);
	}
	*used = "checkpoints";
	size_t bad = 0;
	rc = ferry_ckpt_load(f, group, out, &bad, err, sizeof(err));
	if (rc < 0)
		fprintf(stderr, "%s: %s\n", cmd, err);
	return rc;
}

static void
print_ckpts(const struct cmd_opts *o, const struct ferry_mm2_flow *f,
	    const struct ferry_ckpt_list *l, const char *used)
{
	if (o->json) {
		printf("{\"group\":\"%s\",\"from\":\"%s\",\"to\":\"%s\",\"via\":\"%s\","
		       "\"partitions\":[",
		       o->group, f->source, f->target, used);
		for (size_t i = 0; i < l->n; i++)
			printf("%s{\"topic\":\"%s\",\"partition\":%d,\"source_offset\":%lld,"
			       "\"target_offset\":%lld,\"exact\":%s}",
			       i ? "," : "", l->c[i].topic, l->c[i].partition,
			       (long long)l->c[i].upstream, (long long)l->c[i].downstream,
			       l->c[i].how == FERRY_XLATE_EXACT ? "true" : "false");
		printf("]}\n");
		return;
	}
	printf("group %s: %s -> %s (via %s)\n", o->group, f->source, f->target, used);
	printf("%-40s %9s %14s %14s\n", "target topic", "partition", "source offset",
	       "target offset");
	for (size_t i = 0; i < l->n; i++)
		printf("%-40s %9d %14lld %14lld%s\n", l->c[i].topic, l->c[i].partition,
		       (long long)l->c[i].upstream, (long long)l->c[i].downstream,
		       l->c[i].how == FERRY_XLATE_AHEAD
			   ? "  (ahead of replication: later records may be re-read)"
			   : "");
}

static int
cmd_translate(const char *cmd, int argc, char **argv, bool commit)
{
	struct cmd_opts o;
	int rc = parse_opts(cmd, argc, argv, &o);
	if (rc)
		return rc;
	if (o.help) {
		printf("usage: ferryctl %s --config FILE --group G --from A --to B [--json]\n"
		       "       [--via auto|syncs|checkpoints] [--timeout MS]\n",
		       cmd);
		return 0;
	}
	if (!o.group || !o.from || !o.to) {
		fprintf(stderr, "%s: --group, --from and --to are required\n", cmd);
		return 2;
	}
	struct ferry_conf *c = load_conf(cmd, o.config);
	if (c == NULL)
		return 1;
	struct ferry_mm2_flow f;
	int status = 1;
	if (open_flow(cmd, c, o.from, o.to, &f, o.timeout_ms) < 0)
		goto out_free_conf;
	struct ferry_ckpt_list l;
	const char *used = "";
	if (translate_group(cmd, &f, o.group, o.via, &l, &used) < 0)
		goto out_fini;
	if (l.n == 0) {
		fprintf(stderr, "%s: group %s has no translatable offsets from %s to %s\n", cmd,
			o.group, o.from, o.to);
		goto out_free_list;
	}
	print_ckpts(&o, &f, &l, used);
	status = 0;
	if (commit) {
		struct ferry_group_offset *go = calloc(l.n, sizeof(*go));
		char err[512];
		size_t done = 0;
		if (go == NULL)
			goto out_free_list;
		for (size_t i = 0; i < l.n; i++)
			go[i] = (struct ferry_group_offset){ l.c[i].topic, l.c[i].partition,
							     l.c[i].downstream, l.c[i].metadata };
		rc = ferry_mm2_group_commit(&f, f.target, o.group, go, l.n, false, &done, err,
					    sizeof(err));
		free(go);
		if (rc < 0) {
			fprintf(stderr, "%s: %s\n", cmd, err);
			status = 1;
		} else if (!o.json) {
			printf("committed %zu partition(s) for group %s on %s\n", done, o.group,
			       f.target);
		}
	}
out_free_list:
	ferry_ckpt_list_free(&l);
out_fini:
	ferry_mm2_flow_fini(&f);
out_free_conf:
	ferry_conf_free(c);
	return status;
}

int
ferryctl_translate(int argc, char **argv)
{
	return cmd_translate("translate", argc, argv, false);
}

int
ferryctl_failover(int argc, char **argv)
{
	return cmd_translate("failover", argc, argv, true);
}

/* ---- failback -------------------------------------------------------------------------- */

int
ferryctl_failback(int argc, char **argv)
{
	const char *cmd = "failback";
	struct cmd_opts o;
	char err[512];
	int rc = parse_opts(cmd, argc, argv, &o);
	if (rc)
		return rc;
	if (o.help) {
		printf(
		    "usage: ferryctl failback --config FILE --group G --from A --to B [--json]\n");
		return 0;
	}
	if (!o.group || !o.from || !o.to) {
		fprintf(stderr,
			"%s: --group, --from and --to are required (the flow the group "
			"failed over along)\n",
			cmd);
		return 2;
	}
	struct ferry_conf *c = load_conf(cmd, o.config);
	if (c == NULL)
		return 1;
	struct ferry_mm2_flow f;
	int status = 1;
	struct ferry_osync_store *s = NULL;
	struct ferry_mm2_topic *t = NULL;
	size_t nt = 0;
	struct ferry_group_offsets go = { 0 };
	struct ferry_group_offset *back = NULL;
	if (open_flow(cmd, c, o.from, o.to, &f, o.timeout_ms) < 0)
		goto out_free_conf;
	if ((s = ferry_osync_store_new(0)) == NULL)
		goto out_fini;
	if (ferry_mm2_syncs_load(&f, s, NULL, err, sizeof(err)) < 0 ||
	    ferry_mm2_topics_list(&f, NULL, &t, &nt, err, sizeof(err)) < 0 ||
	    ferry_mm2_group_offsets_fetch(&f, f.target, o.group, t, nt, true, &go, err,
					  sizeof(err)) < 0) {
		fprintf(stderr, "%s: %s\n", cmd, err);
		goto out_free;
	}
	if ((back = calloc(go.n + 1, sizeof(*back))) == NULL)
		goto out_free;
	size_t nb = 0;
	if (!o.json)
		printf("group %s: back from %s to %s (via offset-syncs)\n", o.group, f.target,
		       f.source);
	for (size_t i = 0; i < go.n; i++) {
		/* The remote topic's source name comes from the topic list, not from parsing
		 * the name: under Identity the two are equal anyway. */
		const char *src = NULL;
		for (size_t k = 0; k < nt; k++)
			if (strcmp(t[k].remote, go.o[i].topic) == 0)
				src = t[k].name;
		int64_t up;
		if (src == NULL ||
		    ferry_osync_reverse(s, src, go.o[i].partition, go.o[i].offset, &up) < 0) {
			fprintf(stderr,
				"%s: group %s: %s/%d on %s (offset %lld) has no offset-sync to map "
				"it back\n",
				cmd, o.group, go.o[i].topic, go.o[i].partition, f.target,
				(long long)go.o[i].offset);
			continue;
		}
		back[nb++] =
		    (struct ferry_group_offset){ src, go.o[i].partition, up, go.o[i].metadata };
		if (!o.json)
			printf("  %s/%d %lld -> %s/%d %lld\n", go.o[i].topic, go.o[i].partition,
			       (long long)go.o[i].offset, src, go.o[i].partition, (long long)up);
	}
	if (nb == 0) {
		fprintf(stderr, "%s: group %s has nothing to move back to %s\n", cmd, o.group,
			f.source);
		goto out_free;
	}
	size_t done = 0;
	if (ferry_mm2_group_commit(&f, f.source, o.group, back, nb, false, &done, err,
				   sizeof(err)) < 0) {
		fprintf(stderr, "%s: %s\n", cmd, err);
		goto out_free;
	}
	if (o.json)
		printf("{\"group\":\"%s\",\"cluster\":\"%s\",\"committed\":%zu}\n", o.group,
		       f.source, done);
	else
		printf("committed %zu partition(s) for group %s on %s\n", done, o.group, f.source);
	status = 0;
out_free:
	free(back);
	ferry_group_offsets_free(&go);
	ferry_mm2_topics_free(t, nt);
	ferry_osync_store_free(s);
out_fini:
	ferry_mm2_flow_fini(&f);
out_free_conf:
	ferry_conf_free(c);
	return status;
}

/* ---- status ---------------------------------------------------------------------------- */

static const char STATUS_HELP[] =
    "usage: ferryctl status --config FILE [--from A --to B] [--json] [--stats FILE]\n"
    "                       [--timeout MS]\n"
    "Per enabled flow and source partition: source end, replicated up to (the last\n"
    "offset-sync), lag in records and ms (the age of the oldest record not yet replicated:\n"
    "the RPO), heartbeat age, and:\n"
    "  denied     records the policy kept from the target. Exact, from the offset-syncs\n"
    "             (ferry writes them per batch and marks what it did not write); records\n"
    "             before the first offset-sync are counted from the source's log start.\n"
    "             Offsets holding no record on the source (transaction markers, compaction\n"
    "             gaps) count as denied too. '-': nothing replicated yet.\n"
    "             A topic the flow's rules (ferry.rules.file) deny as a whole shows\n"
    "             '(topic denied)' with all its source records as denied.\n"
    "  masked / tokenised\n"
    "             spans the record rules rewrote. Only the source gateway counts them:\n"
    "             pass --stats FILE, the JSON `ferryd --stats FILE` writes, to show them per\n"
    "             topic; without it they show as '-'.\n";

/* ---- ferryd's stats JSON (dataplane/ferryd/stats.c): only what status shows ------------- */

/* One topic's counters in the gateway's "topics" array. */
struct gw_topic {
	char topic[FERRY_MM2_TOPIC_MAX + 1];
	uint64_t scanned, dropped, masked, tokenised;
};

struct gw_stats {
	char source[128], target[128]; /* the flow the gateway runs */
	struct gw_topic *t;
	size_t n;
};

/* A bounds-checked cursor over the JSON text: every read checks p < end. */
struct jcur {
	const char *p, *end;
};

static void
j_ws(struct jcur *c)
{
	while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r'))
		c->p++;
}

static bool
j_ch(struct jcur *c, char ch)
{
	j_ws(c);
	if (c->p < c->end && *c->p == ch) {
		c->p++;
		return true;
	}
	return false;
}

/* A string into out (NULL: skip it). False when malformed or longer than cap - 1. */
static bool
j_str(struct jcur *c, char *out, size_t cap)
{
	size_t n = 0;
	if (!j_ch(c, '"'))
		return false;
	while (c->p < c->end && *c->p != '"') {
		char ch = *c->p++;
		if ((unsigned char)ch < 0x20)
			return false;
		if (ch == '\\') {
			if (c->p >= c->end)
				return false;
			ch = *c->p++;
			if (ch == 'u') {
				/* \uXXXX: kept as '?' (Kafka topic names are ASCII) */
				if (c->end - c->p < 4)
					return false;
				c->p += 4;
				ch = '?';
			} else if (ch == 'n' || ch == 't' || ch == 'r' || ch == 'b' || ch == 'f') {
				ch = ' ';
			} else if (ch != '"' && ch != '\\' && ch != '/') {
				return false;
			}
		}
		if (out) {
			if (n + 1 >= cap)
				return false;
			out[n++] = ch;
		}
	}
	if (c->p >= c->end)
		return false;
	c->p++;
	if (out)
		out[n] = '\0';
	return true;
}

/* A non-negative integer (ferryd's counters are uint64). */
static bool
j_u64(struct jcur *c, uint64_t *v)
{
	j_ws(c);
	if (c->p >= c->end || *c->p < '0' || *c->p > '9')
		return false;
	uint64_t x = 0;
	while (c->p < c->end && *c->p >= '0' && *c->p <= '9') {
		unsigned d = (unsigned)(*c->p++ - '0');
		if (x > (UINT64_MAX - d) / 10)
			return false;
		x = x * 10 + d;
	}
	*v = x;
	return true;
}

/* Skip any value; nesting is bounded so that a hostile file cannot exhaust the stack. */
static bool
j_skip(struct jcur *c, int depth)
{
	j_ws(c);
	if (c->p >= c->end || depth > 32)
		return false;
	char ch = *c->p;
	if (ch == '"')
		return j_str(c, NULL, 0);
	if (ch == '{' || ch == '[') {
		char close = ch == '{' ? '}' : ']';
		c->p++;
		if (j_ch(c, close))
			return true;
		do {
			if (ch == '{' && (!j_str(c, NULL, 0) || !j_ch(c, ':')))
				return false;
			if (!j_skip(c, depth + 1))
				return false;
		} while (j_ch(c, ','));
		return j_ch(c, close);
	}
	/* number, true, false, null */
	const char *start = c->p;
	while (c->p < c->end &&
	       (strchr("+-.0123456789eE", *c->p) != NULL || (*c->p >= 'a' && *c->p <= 'z')))
		c->p++;
	return c->p > start;
}

static bool
gw_topic_parse(struct jcur *c, struct gw_topic *t)
{
	char key[64];
	memset(t, 0, sizeof(*t));
	if (!j_ch(c, '{'))
		return false;
	if (j_ch(c, '}'))
		return true;
	do {
		bool ok;
		if (!j_str(c, key, sizeof(key)) || !j_ch(c, ':'))
			return false;
		if (strcmp(key, "topic") == 0)
			ok = j_str(c, t->topic, sizeof(t->topic));
		else if (strcmp(key, "records_scanned") == 0)
			ok = j_u64(c, &t->scanned);
		else if (strcmp(key, "records_dropped") == 0)
			ok = j_u64(c, &t->dropped);
		else if (strcmp(key, "spans_masked") == 0)
			ok = j_u64(c, &t->masked);
		else if (strcmp(key, "spans_tokenised") == 0)
			ok = j_u64(c, &t->tokenised);
		else
			ok = j_skip(c, 1);
		if (!ok)
			return false;
	} while (j_ch(c, ','));
	return j_ch(c, '}');
}

static void
gw_stats_free(struct gw_stats *g)
{
	free(g->t);
	memset(g, 0, sizeof(*g));
}

/* Parse the text of ferryd's stats JSON. 0, or -EINVAL / -ENOMEM with a message. */
static int
gw_stats_parse(const char *text, size_t len, struct gw_stats *g, char *err, size_t errlen)
{
	struct jcur c = { text, text + len };
	char key[64];
	memset(g, 0, sizeof(*g));
	if (!j_ch(&c, '{'))
		goto err_parse;
	if (j_ch(&c, '}'))
		return 0;
	do {
		bool ok = true;
		if (!j_str(&c, key, sizeof(key)) || !j_ch(&c, ':'))
			goto err_parse;
		if (strcmp(key, "source") == 0) {
			ok = j_str(&c, g->source, sizeof(g->source));
		} else if (strcmp(key, "target") == 0) {
			ok = j_str(&c, g->target, sizeof(g->target));
		} else if (strcmp(key, "topics") == 0) {
			size_t cap = 0;
			if (!j_ch(&c, '['))
				goto err_parse;
			if (j_ch(&c, ']'))
				continue;
			do {
				if (g->n == cap) {
					struct gw_topic *nt = NULL;
					cap = cap ? cap * 2 : 16;
					if (cap <= 1000000)
						nt = realloc(g->t, cap * sizeof(*nt));
					if (nt == NULL) {
						gw_stats_free(g);
						return ferry_errf(-ENOMEM, err, errlen,
								  "out of memory");
					}
					g->t = nt;
				}
				if (!gw_topic_parse(&c, &g->t[g->n]))
					goto err_parse;
				g->n++;
			} while (j_ch(&c, ','));
			ok = j_ch(&c, ']');
		} else {
			ok = j_skip(&c, 1);
		}
		if (!ok)
			goto err_parse;
	} while (j_ch(&c, ','));
	if (!j_ch(&c, '}'))
		goto err_parse;
	return 0;

err_parse:
	snprintf(err, errlen, "not ferryd's stats JSON (near byte %zu)", (size_t)(c.p - text));
	gw_stats_free(g);
	return -EINVAL;
}

static int
gw_stats_load(const char *path, struct gw_stats *g, char *err, size_t errlen)
{
	enum { GW_STATS_MAX = 64 << 20 };
	FILE *fp = fopen(path, "rb");
	char *buf = NULL, perr[256];
	size_t len = 0, cap = 0;
	int rc;

	if (fp == NULL) {
		rc = -errno;
		return ferry_errf(rc, err, errlen, "--stats %s: %s", path, strerror(-rc));
	}
	for (;;) {
		if (len == cap) {
			char *nb = NULL;
			cap = cap ? cap * 2 : 65536;
			if (cap <= GW_STATS_MAX)
				nb = realloc(buf, cap);
			if (nb == NULL) {
				fclose(fp);
				free(buf);
				return ferry_errf(-EFBIG, err, errlen, "--stats %s: too large",
						  path);
			}
			buf = nb;
		}
		size_t k = fread(buf + len, 1, cap - len, fp);
		len += k;
		if (k == 0)
			break;
	}
	fclose(fp);
	rc = gw_stats_parse(buf, len, g, perr, sizeof(perr));
	free(buf);
	if (rc < 0)
		return ferry_errf(rc, err, errlen, "--stats %s: %s", path, perr);
	return 0;
}

static const struct gw_topic *
gw_find(const struct gw_stats *g, const char *topic)
{
	for (size_t i = 0; g && i < g->n; i++)
		if (strcmp(g->t[i].topic, topic) == 0)
			return &g->t[i];
	return NULL;
}

static void
json_str(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

/* ---- per flow --------------------------------------------------------------------------- */

static int
first_ts_cb(void *arg, const struct ferry_mm2_rec *r)
{
	*(int64_t *)arg = r->timestamp;
	return 1;
}

/* What status says about a flow beyond what the clusters hold. */
struct status_extra {
	const char *rules_src;            /* ferry.rules.file, NULL: none */
	struct ferry_status_rules *rules; /* NULL: no decisions (none, or failed to load) */
	const char *stats_path;           /* --stats, NULL: none */
	const struct gw_stats *gw;        /* the stats, when they are this flow's gateway's */
};

static void
print_count(int width, int64_t v)
{
	if (v < 0)
		printf(" %*s", width, "-");
	else
		printf(" %*lld", width, (long long)v);
}

static int
status_flow(const char *cmd, struct ferry_mm2_flow *f, bool json, bool *first_flow,
	    const struct status_extra *x)
{
	char err[512];
	struct ferry_osync_store *s = ferry_osync_store_new(0);
	struct ferry_mm2_topic *t = NULL;
	size_t nt = 0;
	struct ferry_hb_health hb;
	int rc = -ENOMEM;
	int64_t now = wall_ms();
	if (s == NULL)
		return rc;
	if ((rc = ferry_mm2_syncs_load(f, s, NULL, err, sizeof(err))) < 0 ||
	    (rc = ferry_mm2_topics_list(f, NULL, &t, &nt, err, sizeof(err))) < 0) {
		fprintf(stderr, "%s: %s\n", cmd, err);
		goto out_free;
	}
	if (ferry_hb_health(f, now, &hb, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s: %s\n", cmd, err);
		memset(&hb, 0, sizeof(hb));
	}
	if (json) {
		printf("%s{\"flow\":\"%s->%s\",\"heartbeat_age_ms\":%lld,\"healthy\":%s,\"rules\":",
		       *first_flow ? "" : ",", f->source, f->target,
		       hb.seen ? (long long)hb.age_ms : -1LL, hb.healthy ? "true" : "false");
		if (x->rules)
			json_str(x->rules_src);
		else
			printf("null");
		printf(",\"partitions\":[");
	} else {
		printf("flow %s->%s  heartbeat age: ", f->source, f->target);
		if (hb.seen)
			printf("%lld ms (%s)\n", (long long)hb.age_ms, hb.healthy ? "ok" : "STALE");
		else
			printf("none seen\n");
		if (x->rules)
			printf("  rules: %s\n", x->rules_src);
		printf("  %-32s %5s %12s %14s %10s %10s %10s\n", "topic", "part", "source end",
		       "replicated to", "lag recs", "lag ms", "denied");
	}
	*first_flow = false;
	bool first = true;
	for (size_t i = 0; i < nt; i++) {
		const char *decision =
		    x->rules ? ferry_status_rules_decide(x->rules, t[i].name) : NULL;
		bool topic_denied = decision && strcmp(decision, "deny") == 0;
		for (int32_t p = 0; p < t[i].partitions; p++) {
			int64_t lo = -1, hi = -1, lag_ms = 0, denied = -1, first_u = -1, dropped;
			if (ferry_mm2_watermarks(f, f->source, t[i].name, p, &lo, &hi, err,
						 sizeof(err)) < 0)
				fprintf(stderr, "%s: %s\n", cmd, err);
			int64_t done = ferry_osync_resume(s, t[i].name, p);
			int64_t pos = done < 0 ? lo : done;
			int64_t lag = hi >= 0 && pos >= 0 && hi > pos ? hi - pos : 0;
			if (topic_denied) {
				/* never leaves: every record on the source is denied; no lag */
				denied = hi >= 0 && lo >= 0 ? hi - lo : -1;
				lag = 0;
			} else if (ferry_osync_dropped(s, t[i].name, p, &dropped, &first_u) == 0) {
				/* Records fetched from the log start and denied before anything
				 * was written leave no sync of their own. */
				denied = dropped + (lo >= 0 && first_u > lo ? first_u - lo : 0);
			}
			if (lag > 0) {
				/* Age of the oldest record not yet replicated: the RPO. */
				int64_t ts = -1;
				if (ferry_mm2_read(f, f->source, t[i].name, p, pos, first_ts_cb,
						   &ts, NULL, err, sizeof(err)) == 0 &&
				    ts > 0)
					lag_ms = now - ts;
			}
			if (json) {
				printf("%s{\"topic\":\"%s\",\"remote\":\"%s\",\"partition\":%d,"
				       "\"source_end\":%lld,\"replicated_to\":%lld,\"lag_records\":"
				       "%lld,"
				       "\"lag_ms\":%lld,\"decision\":",
				       first ? "" : ",", t[i].name, t[i].remote, p, (long long)hi,
				       (long long)done, (long long)lag, (long long)lag_ms);
				if (decision)
					printf("\"%s\"", decision);
				else
					printf("null");
				if (denied >= 0)
					printf(",\"denied\":%lld}", (long long)denied);
				else
					printf(",\"denied\":null}");
			} else {
				printf("  %-32s %5d %12lld", t[i].name, p, (long long)hi);
				if (topic_denied)
					printf(" %14s %10s %10s", "(topic denied)", "-", "-");
				else
					printf(" %14lld %10lld %10lld", (long long)done,
					       (long long)lag, (long long)lag_ms);
				print_count(10, denied);
				printf("\n");
			}
			first = false;
		}
		if (!json && x->gw) {
			const struct gw_topic *g = gw_find(x->gw, t[i].name);
			if (g)
				printf(
				    "    %s at the gateway: masked %llu, tokenised %llu span(s); "
				    "dropped %llu of %llu record(s) scanned\n",
				    t[i].name, (unsigned long long)g->masked,
				    (unsigned long long)g->tokenised,
				    (unsigned long long)g->dropped, (unsigned long long)g->scanned);
		}
	}
	if (json) {
		printf("],\"gateway\":");
		if (x->gw) {
			printf("{\"stats\":");
			json_str(x->stats_path);
			printf(",\"topics\":[");
			for (size_t i = 0; i < x->gw->n; i++) {
				const struct gw_topic *g = &x->gw->t[i];
				printf("%s{\"topic\":", i ? "," : "");
				json_str(g->topic);
				printf(
				    ",\"masked\":%llu,\"tokenised\":%llu,\"records_dropped\":%llu,"
				    "\"records_scanned\":%llu}",
				    (unsigned long long)g->masked, (unsigned long long)g->tokenised,
				    (unsigned long long)g->dropped, (unsigned long long)g->scanned);
			}
			printf("]}");
		} else {
			printf("null");
		}
		printf("}");
	} else if (x->gw == NULL) {
		printf(
		    "  masked/tokenised: - (counted only by the source gateway: pass --stats FILE,"
		    " the JSON of `ferryd --stats FILE`)\n");
	} else {
		printf(
		    "  masked/tokenised: from %s (a topic without a gateway line has no counters "
		    "there: '-')\n",
		    x->stats_path);
	}
	rc = 0;
out_free:
	ferry_mm2_topics_free(t, nt);
	ferry_osync_store_free(s);
	return rc;
}

int
ferryctl_status(int argc, char **argv)
{
	const char *cmd = "status";
	struct cmd_opts o;
	struct gw_stats gw = { 0 };
	bool have_gw = false;
	char err[512];
	int rc = parse_opts(cmd, argc, argv, &o);
	if (rc)
		return rc;
	if (o.help) {
		fputs(STATUS_HELP, stdout);
		return 0;
	}
	if (o.stats) {
		if (gw_stats_load(o.stats, &gw, err, sizeof(err)) < 0) {
			fprintf(stderr, "%s: %s\n", cmd, err);
			return 1;
		}
		have_gw = true;
	}
	struct ferry_conf *c = load_conf(cmd, o.config);
	if (c == NULL) {
		gw_stats_free(&gw);
		return 1;
	}
	size_t nf;
	const struct ferry_conf_flow *flows = ferry_conf_flows(c, &nf);
	int status = 0;
	bool first = true, gw_used = false;
	if (o.json)
		printf("{\"flows\":[");
	for (size_t i = 0; i < nf; i++) {
		if (o.from && strcmp(o.from, flows[i].source))
			continue;
		if (o.to && strcmp(o.to, flows[i].target))
			continue;
		if (!flows[i].enabled && !(o.from && o.to))
			continue;
		struct ferry_mm2_flow f;
		if (open_flow(cmd, c, flows[i].source, flows[i].target, &f, o.timeout_ms) < 0) {
			status = 1;
			continue;
		}
		struct status_extra x = { .stats_path = o.stats };
		x.rules_src = ferry_conf_str(c, f.flow, "ferry.rules.file");
		if (x.rules_src &&
		    ferry_status_rules_open(x.rules_src, &x.rules, err, sizeof(err)) < 0)
			fprintf(stderr,
				"%s: flow %s->%s: %s; topics denied by the rules are not shown\n",
				cmd, f.source, f.target, err);
		/* A gateway runs one flow: its counters belong to that flow only. */
		if (have_gw && strcmp(gw.source, f.source) == 0 &&
		    strcmp(gw.target, f.target) == 0) {
			x.gw = &gw;
			gw_used = true;
		}
		if (status_flow(cmd, &f, o.json, &first, &x) < 0)
			status = 1;
		ferry_status_rules_close(x.rules);
		ferry_mm2_flow_fini(&f);
	}
	if (o.json)
		printf("]}\n");
	if (have_gw && !gw_used)
		fprintf(stderr, "%s: %s is the gateway of flow %s->%s, which is not shown\n", cmd,
			o.stats, gw.source[0] ? gw.source : "?", gw.target[0] ? gw.target : "?");
	gw_stats_free(&gw);
	ferry_conf_free(c);
	return status;
}
