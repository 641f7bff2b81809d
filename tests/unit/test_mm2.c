/*
 * test_mm2.c - MM2 compatibility without a network: the heartbeat / checkpoint / offset-sync
 * encodings against the checked vectors of kafka-wire-facts §7 byte for byte, their decoders
 * on good and broken input, both replication policies (names, topicSource, cycles, internal
 * topics), MM2's filters, and the offset-sync map's exact translation with dropped records.
 */
#include <errno.h>

#include "testutil.h"

#include "ferry/common.h"
#include "ferry/kafka.h"
#include "ferry/mm2.h"
#include "offsets.h"

#define TS 1700000000000LL

static void
assert_hex(const uint8_t *p, size_t len, const char *hex)
{
	uint8_t want[256];
	size_t n = hex2bin(hex, want, sizeof(want));
	assert_int_equal(len, n);
	assert_memory_equal(p, want, n);
}

static struct ferry_span
hexspan(const char *hex, uint8_t *buf, size_t cap)
{
	return (struct ferry_span){ buf, hex2bin(hex, buf, cap) };
}

/* ---- §7 vectors ------------------------------------------------------------------------ */

static const char HB_KEY[] = "00 07 70 72 69 6d 61 72 79 00 06 62 61 63 6b 75 70";
static const char HB_VAL[] = "00 00 | 00 00 01 8b cf e5 68 00";
static const char CP_KEY[] = "00 09 61 70 70 2d 67 72 6f 75 70 | 00 0e 70 72 69 6d 61 72 79 2e "
			     "6f 72 64 65 72 73 | 00 00 00 03";
static const char CP_VAL[] = "00 00 | 00 00 00 00 00 00 05 dc | 00 00 00 00 00 00 05 c8 | 00 00";
static const char OS_KEY[] = "00 06 6f 72 64 65 72 73 00 00 00 03";
static const char OS_VAL[] = "00 00 00 00 00 00 05 db 00 00 00 00 00 00 05 c7";

static void
test_heartbeat_vector(void **state)
{
	(void)state;
	uint8_t kb[64], vb[64];
	struct ferry_wr k, v;
	ferry_wr_init(&k, kb, sizeof(kb));
	ferry_wr_init(&v, vb, sizeof(vb));
	struct ferry_mm2_heartbeat hb = { ferry_mm2_str("primary"), ferry_mm2_str("backup"), TS };
	assert_int_equal(ferry_mm2_heartbeat_encode(&hb, &k, &v), 0);
	assert_hex(kb, k.len, HB_KEY);
	assert_hex(vb, v.len, HB_VAL);
	assert_int_equal(k.len, ferry_mm2_heartbeat_key_size(&hb));
	assert_int_equal(v.len, FERRY_MM2_HEARTBEAT_VALUE_SIZE);

	struct ferry_mm2_heartbeat d;
	assert_int_equal(ferry_mm2_heartbeat_decode((struct ferry_span){ kb, k.len },
						    (struct ferry_span){ vb, v.len }, &d),
			 0);
	assert_int_equal(d.sourceClusterAlias.len, 7);
	assert_memory_equal(d.sourceClusterAlias.p, "primary", 7);
	assert_memory_equal(d.targetClusterAlias.p, "backup", 6);
	assert_int_equal(d.timestamp, TS);
}

static void
test_checkpoint_vector(void **state)
{
	(void)state;
	uint8_t kb[64], vb[64];
	struct ferry_wr k, v;
	ferry_wr_init(&k, kb, sizeof(kb));
	ferry_wr_init(&v, vb, sizeof(vb));
	struct ferry_mm2_checkpoint cp = {
		ferry_mm2_str("app-group"), ferry_mm2_str("primary.orders"), 3, 1500, 1480,
		ferry_mm2_str("")
	};
	assert_int_equal(ferry_mm2_checkpoint_encode(&cp, &k, &v), 0);
	assert_hex(kb, k.len, CP_KEY);
	assert_hex(vb, v.len, CP_VAL);
	assert_int_equal(k.len, ferry_mm2_checkpoint_key_size(&cp));
	assert_int_equal(v.len, ferry_mm2_checkpoint_value_size(&cp));
	/* A null metadata is written as "" (MM2 never writes null). */
	cp.metadata = (struct ferry_span){ NULL, 0 };
	ferry_wr_init(&k, kb, sizeof(kb));
	ferry_wr_init(&v, vb, sizeof(vb));
	assert_int_equal(ferry_mm2_checkpoint_encode(&cp, &k, &v), 0);
	assert_hex(vb, v.len, CP_VAL);

	struct ferry_mm2_checkpoint d;
	assert_int_equal(ferry_mm2_checkpoint_decode((struct ferry_span){ kb, k.len },
						     (struct ferry_span){ vb, v.len }, &d),
			 0);
	assert_memory_equal(d.consumerGroupId.p, "app-group", 9);
	assert_int_equal(d.topic.len, 14);
	assert_int_equal(d.partition, 3);
	assert_int_equal(d.upstreamOffset, 1500);
	assert_int_equal(d.offset, 1480);
	assert_non_null(d.metadata.p);
	assert_int_equal(d.metadata.len, 0);
}

static void
test_offset_sync_vector(void **state)
{
	(void)state;
	uint8_t kb[64], vb[64];
	struct ferry_wr k, v;
	ferry_wr_init(&k, kb, sizeof(kb));
	ferry_wr_init(&v, vb, sizeof(vb));
	struct ferry_mm2_offset_sync os = { ferry_mm2_str("orders"), 3, 1499, 1479 };
	assert_int_equal(ferry_mm2_offset_sync_encode(&os, &k, &v), 0);
	assert_hex(kb, k.len, OS_KEY);
	assert_hex(vb, v.len, OS_VAL);
	struct ferry_mm2_offset_sync d;
	assert_int_equal(ferry_mm2_offset_sync_decode((struct ferry_span){ kb, k.len },
						      (struct ferry_span){ vb, v.len }, &d),
			 0);
	assert_int_equal(d.partition, 3);
	assert_int_equal(d.upstreamOffset, 1499);
	assert_int_equal(d.offset, 1479);
}

static void
test_encode_errors(void **state)
{
	(void)state;
	uint8_t kb[8], vb[64];
	struct ferry_wr k, v;
	ferry_wr_init(&k, kb, sizeof(kb));
	ferry_wr_init(&v, vb, sizeof(vb));
	struct ferry_mm2_heartbeat hb = { ferry_mm2_str("primary"), ferry_mm2_str("backup"), TS };
	assert_int_equal(ferry_mm2_heartbeat_encode(&hb, &k, &v), FERRY_ERR__NOSPACE);
	hb.sourceClusterAlias = (struct ferry_span){ NULL, 0 };
	ferry_wr_init(&k, kb, sizeof(kb));
	assert_int_equal(ferry_mm2_heartbeat_encode(&hb, &k, &v), FERRY_ERR__BAD_LENGTH);
	static uint8_t big[40000];
	struct ferry_mm2_offset_sync os = { { big, sizeof(big) }, 0, 1, 1 };
	assert_int_equal(ferry_mm2_offset_sync_encode(&os, &k, &v), FERRY_ERR__BAD_LENGTH);
}

/* Every truncation of every vector fails cleanly; a wrong version and trailing bytes too. */
static void
test_decode_errors(void **state)
{
	(void)state;
	uint8_t kb[64], vb[64], xb[80];
	struct ferry_span k = hexspan(CP_KEY, kb, sizeof(kb)), v = hexspan(CP_VAL, vb, sizeof(vb));
	struct ferry_mm2_checkpoint cp;
	for (size_t cut = 0; cut < k.len; cut++)
		assert_int_equal(
		    ferry_mm2_checkpoint_decode((struct ferry_span){ kb, cut }, v, &cp),
		    FERRY_ERR__TRUNCATED);
	for (size_t cut = 0; cut < v.len; cut++)
		assert_int_equal(
		    ferry_mm2_checkpoint_decode(k, (struct ferry_span){ vb, cut }, &cp),
		    FERRY_ERR__TRUNCATED);
	/* version 1 */
	vb[1] = 1;
	assert_int_equal(ferry_mm2_checkpoint_decode(k, v, &cp), FERRY_ERR__UNSUPPORTED_VERSION);
	vb[1] = 0;
	/* trailing byte */
	memcpy(xb, vb, v.len);
	xb[v.len] = 0;
	assert_int_equal(ferry_mm2_checkpoint_decode(k, (struct ferry_span){ xb, v.len + 1 }, &cp),
			 FERRY_ERR__TRAILING);
	/* null group (-1) and negative length */
	kb[0] = kb[1] = 0xff;
	assert_int_equal(ferry_mm2_checkpoint_decode(k, v, &cp), FERRY_ERR__NULL_FIELD);
	kb[1] = 0xfe;
	assert_int_equal(ferry_mm2_checkpoint_decode(k, v, &cp), FERRY_ERR__BAD_LENGTH);
	/* a length running past the end */
	kb[0] = 0x00;
	kb[1] = 0x7f;
	assert_int_equal(ferry_mm2_checkpoint_decode(k, v, &cp), FERRY_ERR__TRUNCATED);

	struct ferry_mm2_heartbeat hb;
	k = hexspan(HB_KEY, kb, sizeof(kb));
	v = hexspan(HB_VAL, vb, sizeof(vb));
	for (size_t cut = 0; cut < v.len; cut++)
		assert_int_equal(ferry_mm2_heartbeat_decode(k, (struct ferry_span){ vb, cut }, &hb),
				 FERRY_ERR__TRUNCATED);
	vb[0] = 0x80;
	assert_int_equal(ferry_mm2_heartbeat_decode(k, v, &hb), FERRY_ERR__UNSUPPORTED_VERSION);
	/* tombstone value (null) */
	assert_int_equal(ferry_mm2_heartbeat_decode(k, (struct ferry_span){ NULL, 0 }, &hb),
			 FERRY_ERR__TRUNCATED);

	struct ferry_mm2_offset_sync os;
	k = hexspan(OS_KEY, kb, sizeof(kb));
	v = hexspan(OS_VAL, vb, sizeof(vb));
	for (size_t cut = 0; cut < k.len; cut++)
		assert_int_equal(
		    ferry_mm2_offset_sync_decode((struct ferry_span){ kb, cut }, v, &os),
		    FERRY_ERR__TRUNCATED);
	/* an OffsetSync has no version: a checkpoint value is not a sync value */
	assert_int_equal(ferry_mm2_offset_sync_decode(k, hexspan(CP_VAL, xb, sizeof(xb)), &os),
			 FERRY_ERR__TRAILING);
}

/* ---- policies -------------------------------------------------------------------------- */

static void
test_default_policy(void **state)
{
	(void)state;
	struct ferry_mm2_policy p;
	char out[256];
	assert_int_equal(ferry_mm2_policy_init(&p, FERRY_MM2_POLICY_DEFAULT, NULL, true, NULL), 0);
	assert_int_equal(ferry_mm2_remote_topic(&p, "london", "trades", out, sizeof(out)), 0);
	assert_string_equal(out, "london.trades");
	assert_int_equal(ferry_mm2_topic_source(&p, "london.trades", out, sizeof(out)), 1);
	assert_string_equal(out, "london");
	assert_int_equal(ferry_mm2_topic_source(&p, "trades", out, sizeof(out)), 0);
	/* Java split semantics: trailing empties dropped, a leading separator gives "" */
	assert_int_equal(ferry_mm2_topic_source(&p, "trades.", out, sizeof(out)), 0);
	assert_int_equal(ferry_mm2_topic_source(&p, "...", out, sizeof(out)), 0);
	assert_int_equal(ferry_mm2_topic_source(&p, ".trades", out, sizeof(out)), 1);
	assert_string_equal(out, "");
	assert_int_equal(ferry_mm2_topic_source(&p, "a..b", out, sizeof(out)), 1);
	assert_string_equal(out, "a");
	assert_int_equal(ferry_mm2_upstream_topic(&p, "singapore.london.trades", out, sizeof(out)),
			 1);
	assert_string_equal(out, "london.trades");
	assert_int_equal(ferry_mm2_original_topic(&p, "singapore.london.trades", out, sizeof(out)),
			 0);
	assert_string_equal(out, "trades");
	assert_true(ferry_mm2_is_heartbeats_topic(&p, "heartbeats"));
	assert_true(ferry_mm2_is_heartbeats_topic(&p, "london.heartbeats"));
	assert_true(ferry_mm2_is_heartbeats_topic(&p, "a.b.heartbeats"));
	assert_false(ferry_mm2_is_heartbeats_topic(&p, "myheartbeats"));

	assert_int_equal(ferry_mm2_offset_syncs_topic(&p, "singapore", out, sizeof(out)), 0);
	assert_string_equal(out, "mm2-offset-syncs.singapore.internal");
	assert_int_equal(ferry_mm2_checkpoints_topic(&p, "london", out, sizeof(out)), 0);
	assert_string_equal(out, "london.checkpoints.internal");
	assert_true(ferry_mm2_is_internal_topic(&p, "london.checkpoints.internal"));
	assert_true(ferry_mm2_is_checkpoints_topic(&p, "london.checkpoints.internal"));
	assert_true(ferry_mm2_is_internal_topic(&p, "__consumer_offsets"));
	assert_true(ferry_mm2_is_internal_topic(&p, ".hidden"));
	assert_true(ferry_mm2_is_internal_topic(&p, "connect-configs-internal"));
	assert_false(ferry_mm2_is_internal_topic(&p, "trades"));

	/* loop prevention: never back to the cluster a topic came from, even multi-hop */
	assert_true(ferry_mm2_is_cycle(&p, "singapore.trades", "singapore", NULL));
	assert_true(ferry_mm2_is_cycle(&p, "london.singapore.trades", "singapore", NULL));
	assert_false(ferry_mm2_is_cycle(&p, "tokyo.trades", "singapore", NULL));
	assert_false(ferry_mm2_is_cycle(&p, "trades", "singapore", NULL));

	/* custom separator; internal names follow it (KIP-949) unless switched off */
	assert_int_equal(ferry_mm2_policy_init(&p, FERRY_MM2_POLICY_DEFAULT, "__", true, NULL), 0);
	assert_int_equal(ferry_mm2_remote_topic(&p, "london", "a.b", out, sizeof(out)), 0);
	assert_string_equal(out, "london__a.b");
	assert_int_equal(ferry_mm2_topic_source(&p, "london__a.b", out, sizeof(out)), 1);
	assert_string_equal(out, "london");
	ferry_mm2_checkpoints_topic(&p, "london", out, sizeof(out));
	assert_string_equal(out, "london__checkpoints__internal");
	assert_int_equal(ferry_mm2_policy_init(&p, FERRY_MM2_POLICY_DEFAULT, "-", false, NULL), 0);
	ferry_mm2_offset_syncs_topic(&p, "x", out, sizeof(out));
	assert_string_equal(out, "mm2-offset-syncs.x.internal");
	assert_int_equal(ferry_mm2_policy_init(&p, FERRY_MM2_POLICY_DEFAULT, "", true, NULL),
			 -EINVAL);
	/* too long for the output */
	assert_int_equal(ferry_mm2_remote_topic(&p, "london", "trades", out, 8), -ENAMETOOLONG);

	enum ferry_mm2_policy_kind kind;
	assert_int_equal(ferry_mm2_policy_kind_parse(
			     "org.apache.kafka.connect.mirror.IdentityReplicationPolicy", &kind),
			 0);
	assert_int_equal(kind, FERRY_MM2_POLICY_IDENTITY);
	assert_int_equal(ferry_mm2_policy_kind_parse("com.acme.MyPolicy", &kind), -EINVAL);
}

static void
test_identity_policy(void **state)
{
	(void)state;
	struct ferry_mm2_policy p;
	char out[256];
	assert_int_equal(ferry_mm2_policy_init(&p, FERRY_MM2_POLICY_IDENTITY, NULL, true, "london"),
			 0);
	assert_int_equal(ferry_mm2_remote_topic(&p, "london", "trades", out, sizeof(out)), 0);
	assert_string_equal(out, "trades");
	/* heartbeats are still prefixed, so cycles stay visible for them */
	assert_int_equal(ferry_mm2_remote_topic(&p, "london", "heartbeats", out, sizeof(out)), 0);
	assert_string_equal(out, "london.heartbeats");
	assert_int_equal(ferry_mm2_topic_source(&p, "trades", out, sizeof(out)), 1);
	assert_string_equal(out, "london");
	assert_int_equal(ferry_mm2_upstream_topic(&p, "trades", out, sizeof(out)), 1);
	assert_string_equal(out, "trades");
	assert_true(ferry_mm2_is_cycle(&p, "singapore.heartbeats", "singapore", NULL));

	/* names alone cannot see a loop; provenance can */
	assert_false(ferry_mm2_is_cycle(&p, "apac.orders", "singapore", NULL));
	struct ferry_mm2_provenance *pv = ferry_mm2_provenance_new();
	assert_non_null(pv);
	assert_int_equal(ferry_mm2_provenance_add(pv, "apac.orders", "singapore"), 0);
	assert_int_equal(ferry_mm2_provenance_add(pv, "apac.orders", "singapore"), 0);
	assert_int_equal(ferry_mm2_provenance_add(pv, "apac.orders", "tokyo"), -EEXIST);
	assert_true(ferry_mm2_is_cycle(&p, "apac.orders", "singapore", pv));
	assert_false(ferry_mm2_is_cycle(&p, "apac.orders", "tokyo", pv));
	assert_false(ferry_mm2_is_cycle(&p, "trades", "singapore", pv));

	const char *inc[] = { ".*" };
	char err[256];
	struct ferry_mm2_filter *f = ferry_mm2_filter_new(inc, 1, NULL, 0, err, sizeof(err));
	assert_non_null(f);
	assert_true(ferry_mm2_should_replicate(&p, f, true, "trades", "singapore", pv));
	assert_false(ferry_mm2_should_replicate(&p, f, true, "apac.orders", "singapore", pv));
	ferry_mm2_filter_free(f);
	ferry_mm2_provenance_free(pv);
}

static void
test_filters(void **state)
{
	(void)state;
	char err[256];
	/* mm2.properties: london->singapore.topics and the global exclude */
	const char *inc[] = { "trades\\..*", "orders", "risk\\..*" };
	const char *exc[] = { ".*[\\-\\.]internal", ".*\\.replica", "__.*", "client-trades" };
	struct ferry_mm2_filter *f = ferry_mm2_filter_new(inc, 3, exc, 4, err, sizeof(err));
	assert_non_null(f);
	assert_true(ferry_mm2_filter_match(f, "trades.eq"));
	assert_true(ferry_mm2_filter_match(f, "orders"));
	assert_false(ferry_mm2_filter_match(f, "orders2")); /* whole-name match */
	assert_false(ferry_mm2_filter_match(f, "xorders"));
	assert_false(ferry_mm2_filter_match(f, "trades"));
	assert_false(ferry_mm2_filter_match(f, "trades.x.replica"));
	assert_false(ferry_mm2_filter_match(f, "risk.a-internal"));
	const char *const *lit;
	assert_int_equal(ferry_mm2_filter_literals(f, &lit), 1);
	assert_string_equal(lit[0], "orders");
	ferry_mm2_filter_free(f);

	/* an empty include list matches nothing; an empty exclude excludes nothing */
	f = ferry_mm2_filter_new(NULL, 0, NULL, 0, err, sizeof(err));
	assert_non_null(f);
	assert_false(ferry_mm2_filter_match(f, "orders"));
	ferry_mm2_filter_free(f);

	/* groups defaults */
	const char *ginc[] = { ".*" };
	const char *gexc[] = { "console-consumer-.*", "connect-.*", "__.*" };
	f = ferry_mm2_filter_new(ginc, 1, gexc, 3, err, sizeof(err));
	assert_true(ferry_mm2_filter_match(f, "risk-engine"));
	assert_false(ferry_mm2_filter_match(f, "console-consumer-123"));
	assert_false(ferry_mm2_filter_match(f, "__ferry-reader"));
	ferry_mm2_filter_free(f);

	const char *bad[] = { "trades(" };
	assert_null(ferry_mm2_filter_new(bad, 1, NULL, 0, err, sizeof(err)));
	assert_non_null(strstr(err, "trades("));
}

/* ---- offset-sync map ------------------------------------------------------------------- */

static int64_t
xl(struct ferry_osync_store *s, int64_t g, enum ferry_xlate *how)
{
	int64_t d = -1;
	enum ferry_xlate h;
	assert_int_equal(ferry_osync_translate(s, "trades", 0, g, &d, how ? how : &h), 0);
	return d;
}

/*
 * The reference: simulate the target partition record by record and answer "target offset of
 * the first replicated record at or after g" directly; the map must agree for every g.
 */
struct sim {
	int64_t tgt_of[4096]; /* target offset of source offset i, -1 if dropped */
	int64_t next_tgt;
	int64_t done; /* source offsets below this are processed */
};

static int64_t
sim_answer(const struct sim *sm, int64_t g)
{
	for (int64_t u = g; u < sm->done; u++)
		if (sm->tgt_of[u] >= 0)
			return sm->tgt_of[u];
	return sm->next_tgt;
}

static void
test_translate_exact(void **state)
{
	(void)state;
	struct ferry_osync_store *s = ferry_osync_store_new(0);
	struct ferry_mm2_offset_sync out[64];
	struct sim sm;
	memset(&sm, 0, sizeof(sm));

	/* Batches over source offsets 0..199 with a deterministic drop pattern; every 7th
	 * target batch is followed by a transaction marker (target offset skipped). */
	uint32_t seed = 12345;
	int64_t u = 0;
	int batch_no = 0;
	while (u < 200) {
		seed = seed * 1103515245 + 12345;
		int64_t len = 1 + (seed >> 16) % 9;
		if (u + len > 200)
			len = 200 - u;
		int64_t repl[16];
		uint32_t n = 0;
		for (int64_t i = 0; i < len; i++) {
			seed = seed * 1103515245 + 12345;
			bool drop = batch_no % 5 == 3 || ((seed >> 16) % 4) == 0;
			sm.tgt_of[u + i] = -1;
			if (!drop)
				repl[n++] = u + i;
		}
		struct ferry_osync_batch b = { "trades", 0, u, u + len - 1, sm.next_tgt, repl, n };
		int k = ferry_osync_from_batch(s, &b, out, 64);
		assert_true(k >= 0);
		assert_true((size_t)k <= ferry_osync_batch_max(&b));
		for (uint32_t i = 0; i < n; i++)
			sm.tgt_of[repl[i]] = sm.next_tgt + i;
		sm.next_tgt += n;
		if (n && batch_no % 7 == 6)
			sm.next_tgt++; /* commit marker */
		sm.done = u + len;
		u += len;
		batch_no++;
	}
	assert_int_equal(ferry_osync_resume(s, "trades", 0), 200);
	/* first record replicated: source offsets before it are older than the oldest sync */
	int64_t first = 0;
	while (sm.tgt_of[first] < 0)
		first++;
	for (int64_t g = first; g <= 200; g++) {
		enum ferry_xlate how;
		int64_t d = xl(s, g, &how);
		int64_t want = sim_answer(&sm, g);
		/* Equivalent positions: any offset in (previous record, want] that holds no
		 * record. With markers the answer may sit on the marker before 'want'. */
		int64_t prev = -1;
		for (int64_t x = g - 1; x >= 0; x--)
			if (sm.tgt_of[x] >= 0) {
				prev = sm.tgt_of[x];
				break;
			}
		if (d != want) {
			assert_true(d > prev && d < want);
			for (int64_t x = 0; x < 200; x++)
				assert_true(sm.tgt_of[x] < d || sm.tgt_of[x] >= want);
		}
		assert_int_equal(how, FERRY_XLATE_EXACT);
		/* failback: from the target position back to the source */
		if (sm.tgt_of[g < 200 ? g : 199] >= 0 && g < 200) {
			int64_t back = -1;
			assert_int_equal(ferry_osync_reverse(s, "trades", 0, sm.tgt_of[g], &back),
					 0);
			assert_int_equal(back, g);
		}
	}
	int64_t back;
	assert_int_equal(ferry_osync_reverse(s, "trades", 0, sm.next_tgt + 5, &back), 0);
	assert_int_equal(back, 200);
	/* ahead of replication */
	enum ferry_xlate how;
	int64_t last_written = -1;
	for (int64_t x = 0; x < 200; x++)
		if (sm.tgt_of[x] > last_written)
			last_written = sm.tgt_of[x];
	assert_int_equal(xl(s, 250, &how), last_written + 1);
	assert_int_equal(how, FERRY_XLATE_AHEAD);

	int64_t d;
	assert_int_equal(ferry_osync_translate(s, "trades", 1, 5, &d, &how), -ENOENT);
	if (first > 0)
		assert_int_equal(ferry_osync_translate(s, "trades", 0, first - 1, &d, &how),
				 -ERANGE);
	ferry_osync_store_free(s);
}

static void
test_translate_cases(void **state)
{
	(void)state;
	struct ferry_osync_store *s = ferry_osync_store_new(0);
	struct ferry_mm2_offset_sync out[16];
	/* batch 1: source 100..109 all written at 0..9 */
	struct ferry_osync_batch b1 = { "trades", 0, 100, 109, 0, NULL, 0 };
	assert_int_equal(ferry_osync_from_batch(s, &b1, out, 16), 2);
	assert_int_equal(out[0].upstreamOffset, 100);
	assert_int_equal(out[0].offset, 0);
	assert_int_equal(out[1].upstreamOffset, 109);
	assert_int_equal(out[1].offset, 9);
	/* batch 2: 110..119, 113-115 and 118-119 denied, written at 10.. */
	int64_t r2[] = { 110, 111, 112, 116, 117 };
	struct ferry_osync_batch b2 = { "trades", 0, 110, 119, 10, r2, 5 };
	assert_int_equal(ferry_osync_from_batch(s, &b2, out, 16), 5);
	assert_int_equal(out[4].upstreamOffset, 119); /* DROP sync repeats downstream 14 */
	assert_int_equal(out[4].offset, 14);
	/* batch 3: fully denied */
	struct ferry_osync_batch b3 = { "trades", 0, 120, 129, -1, NULL, 0 };
	b3.repl = r2; /* non-NULL with n_repl 0: nothing written */
	assert_int_equal(ferry_osync_from_batch(s, &b3, out, 16), 1);
	assert_int_equal(out[0].offset, 14);
	/* batch 4: 130..131 written at 15..16 */
	struct ferry_osync_batch b4 = { "trades", 0, 130, 131, 15, NULL, 0 };
	assert_int_equal(ferry_osync_from_batch(s, &b4, out, 16), 2);

	assert_int_equal(xl(s, 100, NULL), 0);
	assert_int_equal(xl(s, 105, NULL), 5);
	assert_int_equal(xl(s, 110, NULL), 10);
	assert_int_equal(xl(s, 113, NULL), 13); /* denied: next written is 116 at 13 */
	assert_int_equal(xl(s, 115, NULL), 13);
	assert_int_equal(xl(s, 116, NULL), 13);
	assert_int_equal(xl(s, 117, NULL), 14);
	assert_int_equal(xl(s, 118, NULL), 15);
	assert_int_equal(xl(s, 125, NULL), 15);
	assert_int_equal(xl(s, 130, NULL), 15);
	assert_int_equal(xl(s, 131, NULL), 16);
	assert_int_equal(xl(s, 132, NULL), 17);
	assert_int_equal(ferry_osync_resume(s, "trades", 0), 132);

	/* bad input */
	int64_t bad[] = { 5, 4 };
	struct ferry_osync_batch bb = { "trades", 0, 1, 9, 0, bad, 2 };
	assert_int_equal(ferry_osync_from_batch(s, &bb, out, 16), -EINVAL);
	struct ferry_osync_batch bc = { "trades", 0, 200, 299, 20, NULL, 0 };
	assert_int_equal(ferry_osync_from_batch(s, &bc, out, 1), -ENOSPC);

	/* replaying the syncs as read back from the topic rebuilds the same answers */
	struct ferry_osync_store *r = ferry_osync_store_new(0);
	struct ferry_osync_batch *bs[] = { &b1, &b2, &b3, &b4 };
	struct ferry_osync_store *w = ferry_osync_store_new(0);
	for (int i = 0; i < 4; i++) {
		int k = ferry_osync_from_batch(w, bs[i], out, 16);
		for (int j = 0; j < k; j++)
			assert_int_equal(ferry_osync_store_add(
					     r, "trades", 0, out[j].upstreamOffset, out[j].offset),
					 0);
	}
	for (int64_t g = 100; g < 140; g++) {
		int64_t d1, d2;
		enum ferry_xlate h1, h2;
		assert_int_equal(ferry_osync_translate(s, "trades", 0, g, &d1, &h1), 0);
		assert_int_equal(ferry_osync_translate(r, "trades", 0, g, &d2, &h2), 0);
		assert_int_equal(d1, d2);
		assert_int_equal(h1, h2);
	}
	struct ferry_osync_part_info pi[2];
	assert_int_equal(ferry_osync_parts(r, pi, 2), 1);
	assert_int_equal(pi[0].resume, 132);
	assert_int_equal(pi[0].oldest_upstream, 100);
	ferry_osync_store_free(w);
	ferry_osync_store_free(r);

	/* source rewound: later history forgotten; target truncated: history reset */
	assert_int_equal(ferry_osync_store_add(s, "trades", 0, 105, 30), 0);
	assert_int_equal(ferry_osync_resume(s, "trades", 0), 106);
	assert_int_equal(ferry_osync_store_add(s, "trades", 0, 110, 2), 0);
	int64_t d;
	enum ferry_xlate how;
	assert_int_equal(ferry_osync_translate(s, "trades", 0, 105, &d, &how), -ERANGE);
	ferry_osync_store_free(s);
}

static void
test_store_bounded(void **state)
{
	(void)state;
	struct ferry_osync_store *s = ferry_osync_store_new(64);
	for (int64_t i = 0; i < 1000; i++)
		assert_int_equal(ferry_osync_store_add(s, "t", 0, 2 * i, i), 0);
	struct ferry_osync_part_info pi;
	assert_int_equal(ferry_osync_parts(s, &pi, 1), 1);
	assert_true(pi.n_syncs <= 64);
	assert_int_equal(pi.resume, 1999);
	int64_t d;
	enum ferry_xlate how;
	assert_int_equal(ferry_osync_translate(s, "t", 0, 0, &d, &how), -ERANGE);
	assert_int_equal(ferry_osync_translate(s, "t", 0, 1998, &d, &how), 0);
	assert_int_equal(d, 999);
	ferry_osync_store_free(s);
}

/* Offset-syncs as one record batch (ferryd's transactional path): a valid v2 batch that
 * Produce accepts, whose records decode back to the syncs, the first one the §7 vector. */
static void
test_offset_syncs_batch(void **state)
{
	(void)state;
	struct ferry_mm2_offset_sync os[3] = {
		{ ferry_span_str("orders"), 3, 1499, 1479 },
		{ ferry_span_str("london.trades-with-a-longer-name"), 0, 7, 5 },
		{ ferry_span_str("t"), 11, 0, 0 },
	};
	uint8_t *buf = NULL;
	size_t cap = 0, len = 0, used = 0;
	struct ferry_kafka_batch b;
	struct ferry_kafka_rec_iter it;
	struct ferry_kafka_record r;

	assert_int_equal(ferry_mm2_offset_syncs_batch(os, 3, TS, &buf, &cap, &len), 0);
	assert_int_equal(ferry_kafka_batch_parse(ferry_span_make(buf, len), &b, &used), 0);
	assert_int_equal(used, len);
	assert_int_equal(ferry_kafka_batch_validate(&b), 0); /* CRC, counts, offsets */
	assert_int_equal(ferry_kafka_batch_check_produce(&b), 0);
	assert_int_equal(b.hdr.RecordsCount, 3);
	assert_int_equal(b.hdr.ProducerId, -1);
	assert_int_equal(b.hdr.BaseTimestamp, TS);
	ferry_kafka_rec_iter_init(&it, b.records, b.hdr.RecordsCount);
	for (int i = 0; i < 3; i++) {
		struct ferry_mm2_offset_sync d;
		assert_int_equal(ferry_kafka_rec_next(&it, &r), 1);
		if (i == 0) {
			assert_hex(r.Key.p, r.Key.len, OS_KEY);
			assert_hex(r.Value.p, r.Value.len, OS_VAL);
		}
		assert_int_equal(ferry_mm2_offset_sync_decode(r.Key, r.Value, &d), 0);
		assert_int_equal(d.topic.len, os[i].topic.len);
		assert_memory_equal(d.topic.p, os[i].topic.p, d.topic.len);
		assert_int_equal(d.partition, os[i].partition);
		assert_int_equal(d.upstreamOffset, os[i].upstreamOffset);
		assert_int_equal(d.offset, os[i].offset);
	}
	assert_int_equal(ferry_kafka_rec_next(&it, &r), 0);
	/* the buffer is reused and grows */
	size_t cap1 = cap;
	assert_int_equal(ferry_mm2_offset_syncs_batch(os, 1, TS, &buf, &cap, &len), 0);
	assert_int_equal(cap, cap1);
	assert_int_equal(ferry_mm2_offset_syncs_batch(os, 0, TS, &buf, &cap, &len), -EINVAL);
	free(buf);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_heartbeat_vector),   cmocka_unit_test(test_checkpoint_vector),
		cmocka_unit_test(test_offset_sync_vector), cmocka_unit_test(test_encode_errors),
		cmocka_unit_test(test_decode_errors),      cmocka_unit_test(test_default_policy),
		cmocka_unit_test(test_identity_policy),    cmocka_unit_test(test_filters),
		cmocka_unit_test(test_translate_exact),    cmocka_unit_test(test_translate_cases),
		cmocka_unit_test(test_store_bounded),     cmocka_unit_test(test_offset_syncs_batch),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
