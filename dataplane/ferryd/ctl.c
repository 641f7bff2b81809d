/*
 * ctl.c - ferryd's control thread, Kafka side (see ctl.h).
 *
 * Control thread only. librdkafka (through the MM2 flow of control/mm2_kafka.c) for metadata,
 * topic creation, offset-syncs, heartbeats, checkpoints and progress commits: everything here
 * may block for a broker round trip, which is why none of it runs on the io lcore.
 *
 * Target progress, the heart of "no loss": a batch's offset-syncs are written only after the
 * batch itself was acknowledged by the target (acks=all), and a COMMIT goes back to the
 * source only after its offset-syncs were acknowledged. A restarted target rebuilds its map
 * from the offset-syncs topic and tells the source where to resume (RESUME), so the source
 * resumes exactly where the target ended.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <librdkafka/rdkafka.h>
#include <rte_ring.h>

#include "ctl.h"
#include "ferry/common.h"
#include "ferry/conf.h"
#include "ferry/mm2.h"
#include "ferry/wan_keychan.h"
#include "policy_compile.h"
#include "rules.h"

#define DRAIN_MAX   256
#define REPL_MAX    65536

int64_t
ferryd_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
ctl_warn(void *arg, const char *msg)
{
	struct ferryd_ctl *c = arg;

	ferryd_log(c->fd, "%s", msg);
}

/* ---- topic decisions ------------------------------------------------------------------- */

static bool
topic_allow(void *arg, const char *topic)
{
	struct ferryd_ctl *c = arg;
	struct ferry_policy_topic_rules tr;

	if (c->snap == NULL)
		return true;
	if (ferry_policy_topics_decide(&c->topics, topic, strlen(topic), &tr) != FERRY_POLICY_TOPIC_DENY)
		return true;
	for (unsigned i = 0; i < c->n_denied_logged; i++)
		if (strcmp(c->denied_logged[i], topic) == 0)
			return false;
	if (c->n_denied_logged < 64)
		snprintf(c->denied_logged[c->n_denied_logged++], FERRYD_TOPIC_MAX + 1, "%s", topic);
	ferryd_log(c->fd, "topic %s is denied by the rules: it does not leave %s", topic,
		   c->fd->source);
	return false;
}

int
ferryd_ctl_rules(struct ferryd_ctl *c, char *err, size_t errlen)
{
	struct ferry_rules rs;
	struct ferry_policy_snapshot *snap;
	struct ferry_policy_topics topics;
	int rc;

	if (c->rules_file == NULL)
		return 0;
	rc = ferry_rules_load_source(c->rules_file, &rs, err, errlen);
	if (rc != 0)
		return rc;
	snap = calloc(1, sizeof(*snap));
	if (snap == NULL) {
		ferry_rules_free(&rs);
		return -ENOMEM;
	}
	rc = ferry_policy_compile(&rs, snap, err, errlen);
	ferry_rules_free(&rs);
	if (rc != 0) {
		free(snap);
		return rc;
	}
	if ((rc = ferry_policy_topics_init(&topics, snap, err, errlen)) != 0) {
		ferry_policy_snapshot_free(snap);
		free(snap);
		return rc;
	}
	if (c->snap) {
		ferry_policy_topics_fini(&c->topics);
		ferry_policy_snapshot_free(c->snap);
		free(c->snap);
	}
	c->snap = snap;
	c->topics = topics;
	c->n_denied_logged = 0;
	return 0;
}

/* ---- init ------------------------------------------------------------------------------ */

int
ferryd_ctl_init(struct ferryd_ctl *c, struct ferryd *fd, char *err, size_t errlen)
{
	int rc;

	memset(c, 0, sizeof(*c));
	c->fd = fd;
	if ((rc = ferry_mm2_flow_init(&c->flow, fd->conf, fd->flow, err, errlen)) != 0)
		return rc;
	c->flow_ok = true;
	c->flow.warn = ctl_warn;
	/* this thread also reads the key channel: a heartbeat to a broker that is down must
	 * not hold it for the flow's timeout */
	c->flow.heartbeats_nowait = true;
	c->flow.warn_arg = c;
	c->flow.topic_allow = topic_allow;
	c->flow.topic_allow_arg = c;
	c->rules_file = ferry_conf_str(fd->conf, fd->flow, "ferry.rules.file");
	if ((rc = ferryd_ctl_rules(c, err, errlen)) != 0)
		return rc;
	c->commit_dirty = calloc(FERRYD_MAX_PARTS, sizeof(*c->commit_dirty));
	c->done = calloc(DRAIN_MAX, sizeof(*c->done));
	if (c->commit_dirty == NULL || c->done == NULL)
		return ferry_errf(-ENOMEM, err, errlen, "out of memory");
	if (fd->role == FERRYD_TARGET) {
		c->osync = ferry_osync_store_new(0);
		c->ckst = ferry_ckpt_state_new();
		c->cap_syncs = DRAIN_MAX * (2 * 64 + 1);
		c->syncs = calloc(c->cap_syncs, sizeof(*c->syncs));
		if (c->osync == NULL || c->ckst == NULL || c->syncs == NULL)
			return ferry_errf(-ENOMEM, err, errlen, "out of memory");
	}
	return 0;
}

void
ferryd_ctl_fini(struct ferryd_ctl *c)
{
	if (c->snap) {
		ferry_policy_topics_fini(&c->topics);
		ferry_policy_snapshot_free(c->snap);
		free(c->snap);
	}
	ferry_osync_store_free(c->osync);
	ferry_ckpt_state_free(c->ckst);
	free(c->syncs);
	free(c->txn_slots);
	free(c->done);
	free(c->commit_dirty);
	if (c->flow_ok)
		ferry_mm2_flow_fini(&c->flow);
	memset(c, 0, sizeof(*c));
}

/* ---- tables and leaders ------------------------------------------------------------------ */

static uint8_t
lane_of(const struct ferryd *fd, const char *topic, int32_t partition)
{
	uint32_t h = 2166136261u;

	for (const char *s = topic; *s; s++)
		h = (h ^ (uint8_t)*s) * 16777619u;
	h = (h ^ (uint32_t)partition) * 16777619u;
	return (uint8_t)(h % fd->nlanes);
}

static void
push_upd(struct ferryd *fd, int part, int32_t leader, const struct rd_kafka_metadata_broker *b)
{
	struct ferryd_leader_upd *u = calloc(1, sizeof(*u));

	if (u == NULL)
		return;
	u->part = part;
	u->leader = leader;
	if (b) {
		u->node_id = b->id;
		snprintf(u->host, sizeof(u->host), "%s", b->host);
		u->port = (uint16_t)b->port;
	}
	if (rte_ring_enqueue(fd->leader_upd, u) != 0)
		free(u);
}

/* Leaders of the table's partitions on the cluster the io lcore talks to. */
static int
leaders(struct ferryd_ctl *c, bool grow, const struct ferry_mm2_topic *t, size_t nt, char *err,
	size_t errlen)
{
	struct ferryd *fd = c->fd;
	const char *alias = fd->role == FERRYD_SOURCE ? fd->source : fd->target;
	rd_kafka_t *rk = ferry_mm2_client(&c->flow, alias, FERRY_MM2_READER, err, errlen);
	const struct rd_kafka_metadata *md;
	rd_kafka_resp_err_t e;

	if (rk == NULL)
		return -EIO;
	e = rd_kafka_metadata(rk, 1, NULL, &md, c->flow.timeout_ms);
	if (e)
		return ferry_errf(-EIO, err, errlen, "cluster %s: metadata: %s", alias,
				  rd_kafka_err2str(e));
	for (int i = 0; i < md->broker_cnt; i++)
		push_upd(fd, -1, -1, &md->brokers[i]);
	for (int i = 0; i < md->topic_cnt; i++) {
		const struct rd_kafka_metadata_topic *mt = &md->topics[i];
		const char *src = NULL;
		if (mt->err)
			continue;
		if (fd->role == FERRYD_TARGET && fd->exactly_once && mt->partition_cnt > 0 &&
		    strcmp(mt->topic, fd->syncs_topic) == 0) {
			for (int j = 0; j < mt->partition_cnt; j++)
				if (mt->partitions[j].id == 0 && mt->partitions[j].leader >= 0)
					push_upd(fd, FERRYD_PART_SYNCS, mt->partitions[j].leader,
						 NULL);
			continue;
		}
		if (grow) {
			for (size_t k = 0; k < nt && !src; k++)
				if (strcmp(fd->role == FERRYD_SOURCE ? t[k].name : t[k].remote,
					   mt->topic) == 0)
					src = t[k].name;
			if (src == NULL)
				continue;
		}
		for (int j = 0; j < mt->partition_cnt; j++) {
			const struct rd_kafka_metadata_partition *mp = &mt->partitions[j];
			int pi = -1;
			uint32_t n = atomic_load(&fd->n_parts);
			for (uint32_t k = 0; k < n && pi < 0; k++)
				if (fd->parts[k].partition == mp->id &&
				    strcmp(fd->role == FERRYD_SOURCE ? fd->parts[k].topic
								     : fd->parts[k].remote,
					   mt->topic) == 0)
					pi = (int)k;
			if (pi < 0 && grow) {
				if (n == FERRYD_MAX_PARTS) {
					ferryd_log(fd, "more than %d partitions: %s-%d not replicated",
						   FERRYD_MAX_PARTS, mt->topic, mp->id);
					continue;
				}
				struct ferryd_part *p = &fd->parts[n];
				memset(p, 0, sizeof(*p));
				snprintf(p->topic, sizeof(p->topic), "%s", src);
				p->topic_len = (uint16_t)strlen(p->topic);
				for (size_t k = 0; k < nt; k++)
					if (strcmp(t[k].name, src) == 0)
						snprintf(p->remote, sizeof(p->remote), "%s",
							 t[k].remote);
				p->partition = mp->id;
				p->uh = -1;
				p->lane = lane_of(fd, p->topic, p->partition);
				p->accepted_last = -1;
				p->resume = -1;
				atomic_store(&p->committed, -1);
				atomic_store(&p->synced_next, -1);
				p->leader = mp->leader;
				atomic_store_explicit(&fd->n_parts, n + 1, memory_order_release);
				pi = (int)n;
			}
			if (pi >= 0 && mp->leader >= 0)
				push_upd(fd, pi, mp->leader, NULL);
		}
	}
	rd_kafka_metadata_destroy(md);
	ferryd_count(fd, FERRYD_CTR_metadata_refreshes, 1);
	return 0;
}

int
ferryd_ctl_tables(struct ferryd_ctl *c, char *err, size_t errlen)
{
	struct ferry_mm2_topic *t = NULL;
	size_t nt = 0;
	int rc;

	if (c->fd->role == FERRYD_TARGET) {
		struct ferry_topics_round tr;
		if ((rc = ferry_mm2_topics_sync(&c->flow, NULL, &tr, err, errlen)) != 0)
			return rc;
		if (tr.created || tr.auto_created)
			ferryd_log(c->fd, "topics: %zu replicated, %zu created, %zu auto-created",
				   tr.topics, tr.created, tr.auto_created);
	}
	if ((rc = ferry_mm2_topics_list(&c->flow, NULL, &t, &nt, err, errlen)) != 0)
		return rc;
	rc = leaders(c, true, t, nt, err, errlen);
	ferry_mm2_topics_free(t, nt);
	return rc;
}

int
ferryd_ctl_leaders(struct ferryd_ctl *c, char *err, size_t errlen)
{
	return leaders(c, false, NULL, 0, err, errlen);
}

/* ---- target ------------------------------------------------------------------------------ */

static int
count_rec(void *arg, const struct ferry_mm2_rec *r)
{
	(void)r;
	++*(int64_t *)arg;
	return 0;
}

int
ferryd_ctl_target_load(struct ferryd_ctl *c, char *err, size_t errlen)
{
	struct ferryd *fd = c->fd;
	size_t bad = 0, np;
	int rc;

	ferry_osync_store_free(c->osync);
	c->osync = ferry_osync_store_new(0);
	if (c->osync == NULL)
		return -ENOMEM;
	if ((rc = ferry_mm2_syncs_load(&c->flow, c->osync, &bad, err, errlen)) != 0)
		return rc;
	np = ferry_osync_parts(c->osync, NULL, 0);
	struct ferry_osync_part_info *info = calloc(np ? np : 1, sizeof(*info));
	if (info == NULL)
		return -ENOMEM;
	ferry_osync_parts(c->osync, info, np);
	uint32_t n = atomic_load(&fd->n_parts);
	for (uint32_t i = 0; i < n; i++) {
		struct ferryd_part *p = &fd->parts[i];
		int64_t r = ferry_osync_resume(c->osync, p->topic, p->partition);
		int64_t lo = 0, hi = 0, next_tgt = -1;
		if (r > atomic_load(&p->synced_next))
			atomic_store(&p->synced_next, r);
		/* ferry is the only writer of the remote partition: records past the last synced
		 * one were written by a process that died before their offset-syncs */
		for (size_t k = 0; k < np; k++)
			if (info[k].partition == p->partition && strcmp(info[k].topic, p->topic) == 0)
				next_tgt = info[k].last_downstream + 1;
		if ((rc = ferry_mm2_watermarks(&c->flow, fd->target, p->remote, p->partition, &lo, &hi,
					       err, errlen)) != 0) {
			free(info);
			return rc;
		}
		if (next_tgt < 0)
			next_tgt = lo;
		p->tail_skip = hi > next_tgt ? hi - next_tgt : 0;
		if (fd->exactly_once && p->tail_skip > 0) {
			/* transactions: the log also holds commit/abort markers and aborted
			 * records, which take offsets; only what a read_committed reader sees
			 * was written (on Kafka that is nothing, as data and offset-syncs
			 * commit together; the mock cluster hides no aborted transaction) */
			int64_t seen = 0;
			rc = ferry_mm2_read(&c->flow, fd->target, p->remote, p->partition, next_tgt,
					    count_rec, &seen, NULL, err, errlen);
			if (rc != 0) {
				free(info);
				return rc;
			}
			p->tail_skip = seen;
		}
		p->tail_next_tgt = next_tgt;
		if (p->tail_skip)
			ferryd_log(fd, "%s-%d: %" PRId64 " record(s) on %s after the last offset-sync "
				   "(target offset %" PRId64 "): the resent batches carrying them will be "
				   "recognised, not written twice",
				   p->topic, p->partition, p->tail_skip, p->remote, next_tgt);
	}
	free(info);
	c->reload = false;
	ferryd_log(fd, "offset-syncs loaded: %zu partitions%s", np,
		   bad ? " (some records did not decode and were skipped)" : "");
	return 0;
}

bool
ferryd_ctl_target_quiet(struct ferryd_ctl *c)
{
	return atomic_load(&c->fd->slots_held) == 0 && rte_ring_count(c->fd->slot_done) == 0;
}

static int
send_positions(struct ferryd_ctl *c, struct ferry_wan_keychan *kc, uint8_t type, bool *sel,
	       bool last, char *err, size_t errlen)
{
	struct ferryd *fd = c->fd;
	struct ferryd_msg m = { .type = type };
	uint8_t buf[FERRY_WAN_KC_BODY_MAX];
	size_t used = FERRYD_MSG_HDR;
	uint32_t n = atomic_load(&fd->n_parts);
	int rc;

	for (uint32_t i = 0; i <= n; i++) {
		struct ferryd_part *p = i < n ? &fd->parts[i] : NULL;
		int64_t off = p ? atomic_load(&p->synced_next) : -1;
		bool want = p && (sel == NULL || sel[i]) && off >= 0;
		size_t sz = p ? ferryd_pos_size(p->topic_len) : 0;
		if (i == n || (want && (m.n == FERRYD_MSG_MAX_POS || used + sz > sizeof(buf)))) {
			if (i == n && last)
				m.flags = 1;
			if (m.n > 0 || m.flags) {
				int len = ferryd_msg_encode(&m, buf, sizeof(buf));
				if (len < 0)
					return ferry_errf(len, err, errlen, "encode control message");
				if ((rc = ferry_wan_keychan_send_app(kc, buf, (size_t)len, err,
								     errlen)) != 0)
					return rc;
				if (type == FERRYD_MSG_COMMIT)
					ferryd_count(fd, FERRYD_CTR_commits_out, m.n);
			}
			m.n = 0;
			used = FERRYD_MSG_HDR;
		}
		if (!want)
			continue;
		m.pos[m.n++] = (struct ferryd_pos){
			.topic = { (const uint8_t *)p->topic, p->topic_len },
			.partition = p->partition,
			.offset = off,
		};
		used += sz;
		if (sel)
			sel[i] = false;
	}
	return 0;
}

int
ferryd_ctl_target_resume(struct ferryd_ctl *c, struct ferry_wan_keychan *kc, char *err,
			 size_t errlen)
{
	return send_positions(c, kc, FERRYD_MSG_RESUME, NULL, true, err, errlen);
}

static int64_t repl_buf[REPL_MAX];

/* Append the offset-syncs of one written slot to c->syncs (c->ns of them so far). */
static int
slot_syncs(struct ferryd_ctl *c, const struct ferryd_slot *s, char *err, size_t errlen)
{
	struct ferryd *fd = c->fd;
	struct ferryd_part *p = &fd->parts[s->part];
	struct ferry_osync_batch ob = {
		.topic = p->topic,
		.partition = p->partition,
		.src_base = s->src_first,
		.src_last = s->src_last,
		.tgt_base = s->tgt_base,
	};
	int64_t span = s->src_last - s->src_first + 1;
	int rc;

	if (s->kind == FERRYD_DESC_SKIP || s->records == 0) {
		ob.n_repl = 0;
	} else if (s->n_drops == 0 && (int64_t)s->records == span) {
		ob.n_repl = s->records;
	} else if (s->drops_exact && span - s->n_drops == (int64_t)s->records && span <= REPL_MAX) {
		uint32_t d = 0, r = 0;
		const uint8_t *dp = s->buf + s->drops_off;
		for (int64_t o = 0; o < span; o++) {
			if (d < s->n_drops && ferry_be32(dp + 4 * d) == (uint32_t)o) {
				d++;
				continue;
			}
			repl_buf[r++] = s->src_first + o;
		}
		ob.repl = repl_buf;
		ob.n_repl = r;
	} else {
		/* which records were dropped is not known exactly: a conservative sync
		 * (translations in this batch fall back to its start, as MM2's do) */
		ob.n_repl = 0;
	}
	if (c->ns + ferry_osync_batch_max(&ob) > c->cap_syncs) {
		size_t cap = c->cap_syncs * 2 + ferry_osync_batch_max(&ob);
		struct ferry_mm2_offset_sync *ss = realloc(c->syncs, cap * sizeof(*ss));
		if (ss == NULL)
			return ferry_errf(-ENOMEM, err, errlen, "out of memory (offset-syncs)");
		c->syncs = ss;
		c->cap_syncs = cap;
	}
	rc = ferry_osync_from_batch(c->osync, &ob, c->syncs + c->ns, c->cap_syncs - c->ns);
	if (rc < 0) {
		ferryd_log(fd, "offset-syncs for %s-%d %" PRId64 "..%" PRId64 ": %s", p->topic,
			   p->partition, s->src_first, s->src_last, strerror(-rc));
		return 0;
	}
	c->ns += (size_t)rc;
	return 0;
}

/* The slot's offset-syncs are durable: the source may drop what it holds up to it. */
static void
slot_synced(struct ferryd_ctl *c, const struct ferryd_slot *s)
{
	struct ferryd_part *p = &c->fd->parts[s->part];

	if (!s->failed && s->n_drops != UINT32_MAX &&
	    s->src_last + 1 > atomic_load(&p->synced_next)) {
		atomic_store(&p->synced_next, s->src_last + 1);
		c->commit_dirty[s->part] = true;
	}
}

static int
send_commits(struct ferryd_ctl *c, struct ferry_wan_keychan *kc, char *err, size_t errlen)
{
	if (kc == NULL)
		return 0;
	for (uint32_t i = 0; i < atomic_load(&c->fd->n_parts); i++)
		if (c->commit_dirty[i])
			return send_positions(c, kc, FERRYD_MSG_COMMIT, c->commit_dirty, false, err,
					      errlen);
	return 0;
}

/*
 * Exactly-once: the io lcore writes the batches of a transaction; here their offset-syncs
 * are computed as they come, handed to the io lcore as one batch once it closed the
 * transaction, and the COMMITs go back only after EndTxn(commit) succeeded. An aborted
 * transaction frees its slots unsynced and ends the session: the source rewinds to its last
 * COMMIT and sends them again; the next session reloads the offset-syncs (read_committed).
 */
/* Aborts in a row, without a commit between them, that raise an ALARM. */
#define TXN_ABORT_ALARM 5

static int
target_drain_txn(struct ferryd_ctl *c, struct ferry_wan_keychan *kc, char *err, size_t errlen)
{
	struct ferryd *fd = c->fd;
	int ph = atomic_load_explicit(&fd->txn_phase, memory_order_acquire);
	unsigned n;
	int rc;

	if (c->txn_slots == NULL &&
	    (c->txn_slots = calloc(fd->n_slots, sizeof(*c->txn_slots))) == NULL)
		return ferry_errf(-ENOMEM, err, errlen, "out of memory (transaction slots)");
	while ((n = rte_ring_dequeue_burst_elem(fd->slot_done, c->done, sizeof(uint32_t),
						DRAIN_MAX, NULL)) > 0) {
		for (unsigned k = 0; k < n; k++) {
			struct ferryd_slot *s = &fd->slots[c->done[k]];
			c->txn_slots[c->n_txn_slots++] = c->done[k];
			if (s->failed || ph == FERRYD_TXN_ABORTED)
				continue;
			if (s->n_drops == UINT32_MAX) {
				c->commit_dirty[s->part] = true; /* a resend: answer where we are */
				continue;
			}
			if ((rc = slot_syncs(c, s, err, errlen)) != 0)
				return rc;
		}
	}
	switch (ph) {
	case FERRYD_TXN_CLOSED:
		/* every batch of the transaction is in: its offset-syncs join it */
		fd->txn_syncs_len = 0;
		if (c->ns > 0) {
			rc = ferry_mm2_offset_syncs_batch(c->syncs, c->ns, ferryd_now_ms(),
							  &fd->txn_syncs, &fd->txn_syncs_cap,
							  &fd->txn_syncs_len);
			if (rc != 0)
				return ferry_errf(rc < 0 && rc > -4096 ? rc : -EINVAL, err, errlen,
						  "encode %zu offset-syncs: %s", c->ns,
						  rc < 0 && rc > -4096 ? strerror(-rc)
								       : ferry_err_desc(rc));
		}
		atomic_store_explicit(&fd->txn_phase, FERRYD_TXN_SYNCS, memory_order_release);
		break;
	case FERRYD_TXN_COMMITTED:
		for (uint32_t k = 0; k < c->n_txn_slots; k++)
			slot_synced(c, &fd->slots[c->txn_slots[k]]);
		ferryd_count(fd, FERRYD_CTR_syncs_written, c->ns);
		ferryd_count(fd, FERRYD_CTR_txn_commits, 1);
		if (c->abort_streak >= TXN_ABORT_ALARM)
			ferryd_log(fd, "exactly-once: a transaction committed again after %u aborts",
				   c->abort_streak);
		c->abort_streak = 0;
		/* fallthrough */
	case FERRYD_TXN_ABORTED:
		rte_ring_enqueue_bulk_elem(fd->slot_free, c->txn_slots, sizeof(uint32_t),
					   c->n_txn_slots, NULL);
		atomic_fetch_sub(&fd->slots_held, c->n_txn_slots);
		c->n_txn_slots = 0;
		c->ns = 0;
		if (ph == FERRYD_TXN_ABORTED) {
			ferryd_count(fd, FERRYD_CTR_txn_aborts, 1);
			c->reload = true;
			/* A batch the target refuses every time (too large for it, say) aborts
			 * every transaction it is in: the sessions go on retrying (nothing is
			 * skipped), and the operator must hear of it, not just read one line
			 * per session among others. */
			if (++c->abort_streak >= TXN_ABORT_ALARM)
				ferryd_log(fd, "ALARM exactly-once: %u transactions aborted in a row "
					   "without a commit, last: %s; the same batches are refused "
					   "each time (see the producer's errors above)",
					   c->abort_streak,
					   fd->txn_err[0] ? fd->txn_err : "reason not known");
			rc = ferry_errf(-ECANCELED, err, errlen,
					"transaction aborted (%s): the source resends from its last "
					"commit", fd->txn_err[0] ? fd->txn_err : "reason not known");
			fd->txn_err[0] = '\0';
			atomic_store_explicit(&fd->txn_phase, FERRYD_TXN_OPEN, memory_order_release);
			return rc;
		}
		atomic_store_explicit(&fd->txn_phase, FERRYD_TXN_OPEN, memory_order_release);
		break;
	default:
		break;
	}
	return send_commits(c, kc, err, errlen);
}

bool
ferryd_ctl_target_stale(struct ferryd_ctl *c)
{
	return c->reload;
}

int
ferryd_ctl_target_drain(struct ferryd_ctl *c, struct ferry_wan_keychan *kc, char *err,
			size_t errlen)
{
	struct ferryd *fd = c->fd;
	unsigned n;
	int rc;

	if (fd->exactly_once)
		return target_drain_txn(c, kc, err, errlen);
	n = rte_ring_dequeue_burst_elem(fd->slot_done, c->done, sizeof(uint32_t), DRAIN_MAX, NULL);
	if (n == 0)
		return send_commits(c, kc, err, errlen);
	c->ns = 0;
	for (unsigned k = 0; k < n; k++) {
		struct ferryd_slot *s = &fd->slots[c->done[k]];
		if (s->failed)
			continue;
		if (s->n_drops == UINT32_MAX) {
			c->commit_dirty[s->part] = true; /* a resend: answer with where we are */
			continue;
		}
		if ((rc = slot_syncs(c, s, err, errlen)) != 0)
			return rc;
	}
	/* the syncs must be durable before anything is committed back: retry until written */
	while (c->ns > 0) {
		rc = ferry_mm2_syncs_write(&c->flow, c->syncs, c->ns, err, errlen);
		if (rc == 0)
			break;
		ferryd_log(fd, "writing %zu offset-syncs failed (%s): retrying", c->ns, err);
		if (atomic_load(&fd->stop))
			return rc;
		struct timespec ts = { 0, 200 * 1000000 };
		nanosleep(&ts, NULL);
	}
	ferryd_count(fd, FERRYD_CTR_syncs_written, c->ns);
	c->ns = 0;
	for (unsigned k = 0; k < n; k++)
		slot_synced(c, &fd->slots[c->done[k]]);
	rte_ring_enqueue_bulk_elem(fd->slot_free, c->done, sizeof(uint32_t), n, NULL);
	atomic_fetch_sub(&fd->slots_held, n);
	return send_commits(c, kc, err, errlen);
}

/* ---- source ------------------------------------------------------------------------------ */

int
ferryd_ctl_source_msg(struct ferryd_ctl *c, const uint8_t *buf, size_t len, char *err,
		      size_t errlen)
{
	struct ferryd *fd = c->fd;
	struct ferryd_msg m;
	int rc;

	if ((rc = ferryd_msg_decode(buf, len, &m, err, errlen)) != 0)
		return rc;
	for (unsigned i = 0; i < m.n; i++) {
		int pi = ferryd_part_find(fd, (const char *)m.pos[i].topic.p, m.pos[i].topic.len,
					  m.pos[i].partition);
		if (pi < 0 || !fd->parts[pi].owned)
			continue; /* a partition this session does not fetch (yet, or another
				   * gateway of the group does) */
		struct ferryd_part *p = &fd->parts[pi];
		if (m.type == FERRYD_MSG_RESUME) {
			p->resume = m.pos[i].offset;
			atomic_store(&p->committed, m.pos[i].offset);
		} else {
			if (m.pos[i].offset > atomic_load(&p->committed))
				atomic_store(&p->committed, m.pos[i].offset);
			ferryd_count(fd, FERRYD_CTR_commits_in, 1);
		}
	}
	if (m.type == FERRYD_MSG_RESUME && (m.flags & 1)) {
		/* partitions the target never wrote start at the source's log start */
		const char *alias = fd->source;
		rd_kafka_t *rk = ferry_mm2_client(&c->flow, alias, FERRY_MM2_READER, err, errlen);
		if (rk == NULL)
			return -EIO;
		for (uint32_t i = 0; i < atomic_load(&fd->n_parts); i++) {
			struct ferryd_part *p = &fd->parts[i];
			int64_t lo = 0, hi = 0;
			if (p->resume >= 0 || !p->owned)
				continue;
			rd_kafka_resp_err_t e = rd_kafka_query_watermark_offsets(
			    rk, p->topic, p->partition, &lo, &hi, c->flow.timeout_ms);
			if (e)
				return ferry_errf(-EIO, err, errlen, "%s-%d: watermarks: %s", p->topic,
						  p->partition, rd_kafka_err2str(e));
			p->resume = lo;
			atomic_store(&p->committed, lo);
		}
		c->resume_done = true;
	}
	return 0;
}

/* ---- periodic ---------------------------------------------------------------------------- */

static void
source_progress(struct ferryd_ctl *c)
{
	struct ferryd *fd = c->fd;
	uint32_t n = atomic_load(&fd->n_parts);
	struct ferry_group_offset *o = calloc(n ? n : 1, sizeof(*o));
	char group[300], err[512];
	size_t k = 0, done = 0;

	if (o == NULL)
		return;
	for (uint32_t i = 0; i < n; i++) {
		int64_t off = atomic_load(&fd->parts[i].committed);
		/* a partition another gateway of the group replicates is its to report */
		if (off >= 0 && fd->parts[i].owned)
			o[k++] = (struct ferry_group_offset){ .topic = fd->parts[i].topic,
							      .partition = fd->parts[i].partition,
							      .offset = off,
							      .metadata = "" };
	}
	snprintf(group, sizeof(group), "ferry-%s-%s", fd->source, fd->target);
	if (k && ferry_mm2_group_commit(&c->flow, fd->source, group, o, k, true, &done, err,
					sizeof(err)) != 0)
		ferryd_log(fd, "progress commit to %s (group %s): %s", fd->source, group, err);
	free(o);
}

/* Source: a partition of the flow the table does not hold (a new topic, or one that grew).
 * The table grows only while io is parked, so such partitions join at the next session; true
 * with its name in 'what'. */
static bool
source_new_partitions(struct ferryd_ctl *c, char *what, size_t len)
{
	struct ferryd *fd = c->fd;
	struct ferry_mm2_topic *t = NULL;
	size_t nt = 0;
	char err[512];
	bool found = false;

	if (ferry_mm2_topics_list(&c->flow, NULL, &t, &nt, err, sizeof(err)) != 0) {
		ferryd_log(fd, "topic refresh: %s", err);
		return false;
	}
	for (size_t i = 0; i < nt && !found; i++)
		for (int32_t p = 0; p < t[i].partitions && !found; p++)
			if (ferryd_part_find(fd, t[i].name, strlen(t[i].name), p) < 0) {
				snprintf(what, len, "%s-%d", t[i].name, p);
				found = true;
			}
	ferry_mm2_topics_free(t, nt);
	return found;
}

void
ferryd_ctl_periodic(struct ferryd_ctl *c, int64_t now)
{
	struct ferryd *fd = c->fd;
	char err[512];

	if (atomic_exchange(&fd->meta_req, false) || now >= c->next_meta) {
		if (ferryd_ctl_leaders(c, err, sizeof(err)) != 0)
			ferryd_log(fd, "metadata: %s", err);
		/* topic configs and ACLs, each only when its sync.topic.*.interval is due */
		if (fd->role == FERRYD_TARGET &&
		    ferry_mm2_topic_meta_sync(&c->flow, NULL, now, false, NULL, err, sizeof(err)) != 0)
			ferryd_log(fd, "topic config/ACL sync: %s", err);
		c->next_meta = now + 30000;
	}
	if (fd->role == FERRYD_SOURCE) {
		if (c->flow.emit_heartbeats && now >= c->next_hb) {
			if (ferry_hb_emit(&c->flow, fd->source, fd->source, fd->target, now, err,
					  sizeof(err)) == 0)
				ferryd_count(fd, FERRYD_CTR_heartbeats, 1);
			else
				ferryd_log(fd, "heartbeat: %s", err);
			c->next_hb = now + c->flow.heartbeats_interval_ms;
		}
		if (now >= c->next_progress) {
			source_progress(c);
			c->next_progress = now + 5000;
		}
		/* refresh.topics.interval.seconds, as MM2: new topics and partitions */
		if (now >= c->next_topics) {
			char what[FERRYD_TOPIC_MAX + 16];
			if (c->next_topics && !c->new_topics &&
			    source_new_partitions(c, what, sizeof(what))) {
				ferryd_log(fd, "new partition %s (and maybe more) on %s: the session "
					   "restarts to replicate it", what, fd->source);
				c->new_topics = true;
			}
			c->next_topics = now + c->flow.refresh_topics_interval_ms;
		}
	} else if (c->flow.emit_checkpoints && now >= c->next_ckpt) {
		struct ferry_ckpt_round r;
		struct ferry_osync_store *fresh = NULL;
		size_t bad = 0;
		/* With a gateway group the other pairs write offset-syncs of partitions this one
		 * does not carry; our map has them only as of the session start. Translating
		 * with it would checkpoint their groups behind what the other target already
		 * wrote (checkpoints are compacted: the last writer wins, and a consumer failing
		 * over would rewind). So each round reads every pair's syncs afresh, as MM2's
		 * checkpoint task keeps reading the offset-syncs topic. */
		if (c->shared_flow) {
			fresh = ferry_osync_store_new(0);
			if (fresh == NULL ||
			    ferry_mm2_syncs_load(&c->flow, fresh, &bad, err, sizeof(err)) != 0) {
				ferryd_log(fd, "checkpoints: offset-syncs: %s",
					   fresh ? err : "out of memory");
				ferry_osync_store_free(fresh);
				c->next_ckpt = now + c->flow.checkpoints_interval_ms;
				return;
			}
		}
		if (ferry_ckpt_round(&c->flow, fresh ? fresh : c->osync, c->ckst, NULL, 0, &r, err,
				     sizeof(err)) == 0)
			ferryd_count(fd, FERRYD_CTR_checkpoints, r.checkpoints);
		else
			ferryd_log(fd, "checkpoints: %s", err);
		ferry_osync_store_free(fresh);
		c->next_ckpt = now + c->flow.checkpoints_interval_ms;
	}
}
