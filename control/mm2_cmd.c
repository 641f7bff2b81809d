/*
 * mm2_cmd.c - ferryctl's replication commands over an MM2 properties file:
 *   status     per flow and partition: source end, replicated up to (the last offset-sync),
 *              lag in records and ms, heartbeat age; --json for scripts
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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ferryctl.h"
#include "mm2.h"

struct cmd_opts {
	const char *config, *from, *to, *group;
	const char *via; /* translate/failover: syncs | checkpoints | auto */
	bool json;
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
		{ NULL, 0, NULL, 0 },
	};
	memset(o, 0, sizeof(*o));
	o->via = "auto";
	o->timeout_ms = 10000;
	optind = 1;
	int c;
	while ((c = getopt_long(argc, argv, "c:f:t:g:v:jT:", opts, NULL)) != -1) {
		switch (c) {
		case 'c': o->config = optarg; break;
		case 'f': o->from = optarg; break;
		case 't': o->to = optarg; break;
		case 'g': o->group = optarg; break;
		case 'v': o->via = optarg; break;
		case 'j': o->json = true; break;
		case 'T': o->timeout_ms = atoi(optarg); break;
		default: return 2;
		}
	}
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

static int
first_ts_cb(void *arg, const struct ferry_mm2_rec *r)
{
	*(int64_t *)arg = r->timestamp;
	return 1;
}

static int
status_flow(const char *cmd, struct ferry_mm2_flow *f, bool json, bool *first_flow)
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
	if (json)
		printf("%s{\"flow\":\"%s->%s\",\"heartbeat_age_ms\":%lld,\"healthy\":%s,"
		       "\"partitions\":[",
		       *first_flow ? "" : ",", f->source, f->target,
		       hb.seen ? (long long)hb.age_ms : -1LL, hb.healthy ? "true" : "false");
	else {
		printf("flow %s->%s  heartbeat age: ", f->source, f->target);
		if (hb.seen)
			printf("%lld ms (%s)\n", (long long)hb.age_ms, hb.healthy ? "ok" : "STALE");
		else
			printf("none seen\n");
		printf("  %-32s %5s %12s %14s %10s %10s\n", "topic", "part", "source end",
		       "replicated to", "lag recs", "lag ms");
	}
	*first_flow = false;
	bool first = true;
	for (size_t i = 0; i < nt; i++) {
		for (int32_t p = 0; p < t[i].partitions; p++) {
			int64_t lo = -1, hi = -1, lag_ms = 0;
			if (ferry_mm2_watermarks(f, f->source, t[i].name, p, &lo, &hi, err,
						 sizeof(err)) < 0)
				fprintf(stderr, "%s: %s\n", cmd, err);
			int64_t done = ferry_osync_resume(s, t[i].name, p);
			int64_t pos = done < 0 ? lo : done;
			int64_t lag = hi >= 0 && pos >= 0 && hi > pos ? hi - pos : 0;
			if (lag > 0) {
				/* Age of the oldest record not yet replicated: the RPO. */
				int64_t ts = -1;
				if (ferry_mm2_read(f, f->source, t[i].name, p, pos, first_ts_cb,
						   &ts, NULL, err, sizeof(err)) == 0 &&
				    ts > 0)
					lag_ms = now - ts;
			}
			if (json)
				printf("%s{\"topic\":\"%s\",\"remote\":\"%s\",\"partition\":%d,"
				       "\"source_end\":%lld,\"replicated_to\":%lld,\"lag_records\":"
				       "%lld,"
				       "\"lag_ms\":%lld}",
				       first ? "" : ",", t[i].name, t[i].remote, p, (long long)hi,
				       (long long)done, (long long)lag, (long long)lag_ms);
			else
				printf("  %-32s %5d %12lld %14lld %10lld %10lld\n", t[i].name, p,
				       (long long)hi, (long long)done, (long long)lag,
				       (long long)lag_ms);
			first = false;
		}
	}
	if (json)
		printf("]}");
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
	int rc = parse_opts(cmd, argc, argv, &o);
	if (rc)
		return rc;
	struct ferry_conf *c = load_conf(cmd, o.config);
	if (c == NULL)
		return 1;
	size_t nf;
	const struct ferry_conf_flow *flows = ferry_conf_flows(c, &nf);
	int status = 0;
	bool first = true;
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
		if (status_flow(cmd, &f, o.json, &first) < 0)
			status = 1;
		ferry_mm2_flow_fini(&f);
	}
	if (o.json)
		printf("]}\n");
	ferry_conf_free(c);
	return status;
}
