/*
 * test_mm2_sync.c - the pure decisions of MM2's topic config sync and topic ACL sync
 * (control/mm2_sync.c) checked against MM2's own rules (Kafka 3.x MirrorSourceConnector:
 * targetConfig, shouldReplicateAcl, targetAclBinding, syncTopicAcls; DefaultConfigPropertyFilter
 * with the default config.properties.exclude), and the denied-record count that ferryctl status
 * derives from offset-syncs (offsets.c), on the same 300-record run the mm2_clusters
 * integration test replicates. No network.
 */
#include <errno.h>

#include "testutil.h"

#include "ferry/mm2.h"
#include "mm2_sync.h"
#include "offsets.h"

/* MM2's default config.properties.exclude, as conf_table.h spells it. */
static const char *const MM2_EXCLUDE[] = {
	"follower\\.replication\\.throttled\\.replicas",
	"leader\\.replication\\.throttled\\.replicas",
	"message\\.timestamp\\.difference\\.max\\.ms",
	"message\\.timestamp\\.type",
	"unclean\\.leader\\.election\\.enable",
	"min\\.insync\\.replicas",
};

static struct ferry_mm2_config_entry
topic_cfg(const char *name, const char *value)
{
	return (struct ferry_mm2_config_entry){ name, value,
						FERRY_CONFIG_SOURCE_DYNAMIC_TOPIC_CONFIG, false,
						false };
}

static void
test_config_keep(void **state)
{
	(void)state;
	char err[256];
	struct ferry_mm2_filter *copy =
	    ferry_mm2_config_filter_new(MM2_EXCLUDE, 6, err, sizeof(err));
	assert_non_null(copy);

	/* set on the topic, not excluded: copied */
	struct ferry_mm2_config_entry e = topic_cfg("retention.ms", "604800000");
	assert_true(ferry_mm2_config_keep(copy, &e));
	e = topic_cfg("cleanup.policy", "compact");
	assert_true(ferry_mm2_config_keep(copy, &e));
	e = topic_cfg("max.message.bytes", "2097152");
	assert_true(ferry_mm2_config_keep(copy, &e));

	/* every name of MM2's default exclude list is dropped even when set on the topic */
	const char *excluded[] = {
		"follower.replication.throttled.replicas", "leader.replication.throttled.replicas",
		"message.timestamp.difference.max.ms",     "message.timestamp.type",
		"unclean.leader.election.enable",          "min.insync.replicas"
	};
	for (size_t i = 0; i < 6; i++) {
		e = topic_cfg(excluded[i], "1");
		assert_false(ferry_mm2_config_keep(copy, &e));
	}
	/* whole-name match (Java Matcher.matches()): a longer name is not excluded */
	e = topic_cfg("min.insync.replicas.extra", "1");
	assert_true(ferry_mm2_config_keep(copy, &e));
	/* an escaped '.' is a dot, not any character */
	e = topic_cfg("minXinsync.replicas", "1");
	assert_true(ferry_mm2_config_keep(copy, &e));

	/* not set on the topic: defaults and broker-wide settings stay behind */
	e = topic_cfg("retention.ms", "604800000");
	e.ConfigSource = FERRY_CONFIG_SOURCE_DEFAULT_CONFIG;
	assert_false(ferry_mm2_config_keep(copy, &e));
	e.ConfigSource = FERRY_CONFIG_SOURCE_STATIC_BROKER_CONFIG;
	assert_false(ferry_mm2_config_keep(copy, &e));
	e.ConfigSource = FERRY_CONFIG_SOURCE_DYNAMIC_BROKER_CONFIG;
	assert_false(ferry_mm2_config_keep(copy, &e));
	e.ConfigSource = FERRY_CONFIG_SOURCE_DYNAMIC_DEFAULT_BROKER_CONFIG;
	assert_false(ferry_mm2_config_keep(copy, &e));
	e.ConfigSource = FERRY_CONFIG_SOURCE_UNKNOWN;
	assert_false(ferry_mm2_config_keep(copy, &e));

	/* read-only and sensitive entries are never altered */
	e = topic_cfg("segment.bytes", "1024");
	e.ReadOnly = true;
	assert_false(ferry_mm2_config_keep(copy, &e));
	e = topic_cfg("some.password", NULL);
	e.IsSensitive = true;
	assert_false(ferry_mm2_config_keep(copy, &e));
	e = topic_cfg("", "x");
	assert_false(ferry_mm2_config_keep(copy, &e));
	ferry_mm2_filter_free(copy);

	/* an operator's own exclude list replaces MM2's (config.properties.exclude) */
	const char *mine[] = { "retention\\..*" };
	copy = ferry_mm2_config_filter_new(mine, 1, err, sizeof(err));
	assert_non_null(copy);
	e = topic_cfg("retention.bytes", "1");
	assert_false(ferry_mm2_config_keep(copy, &e));
	e = topic_cfg("min.insync.replicas", "2");
	assert_true(ferry_mm2_config_keep(copy, &e));
	ferry_mm2_filter_free(copy);
	/* an empty list excludes nothing */
	copy = ferry_mm2_config_filter_new(NULL, 0, err, sizeof(err));
	assert_non_null(copy);
	e = topic_cfg("min.insync.replicas", "2");
	assert_true(ferry_mm2_config_keep(copy, &e));
	ferry_mm2_filter_free(copy);
	/* a bad regex is refused with a message */
	const char *bad[] = { "retention(" };
	err[0] = '\0';
	assert_null(ferry_mm2_config_filter_new(bad, 1, err, sizeof(err)));
	assert_true(err[0] != '\0');
}

static struct ferry_mm2_acl
acl(const char *topic, int8_t pattern, int8_t op, int8_t perm)
{
	return (struct ferry_mm2_acl){
		FERRY_ACL_RESOURCE_TOPIC, topic, pattern, "User:alice", "10.0.0.7", op, perm
	};
}

static void
test_acl_translate(void **state)
{
	(void)state;
	struct ferry_mm2_policy def, id;
	struct ferry_mm2_acl in, out;
	char remote[FERRY_MM2_TOPIC_MAX + 1];
	assert_int_equal(ferry_mm2_policy_init(&def, FERRY_MM2_POLICY_DEFAULT, NULL, true, NULL),
			 0);
	assert_int_equal(
	    ferry_mm2_policy_init(&id, FERRY_MM2_POLICY_IDENTITY, NULL, true, "london"), 0);

	/* ALLOW READ on a literal topic: copied to the remote name, entry unchanged */
	in = acl("orders", FERRY_ACL_PATTERN_LITERAL, FERRY_ACL_OP_READ, FERRY_ACL_PERM_ALLOW);
	assert_int_equal(ferry_mm2_acl_translate(&def, "london", &in, &out, remote, sizeof(remote)),
			 1);
	assert_string_equal(out.ResourceName, "london.orders");
	assert_int_equal(out.ResourceType, FERRY_ACL_RESOURCE_TOPIC);
	assert_int_equal(out.PatternType, FERRY_ACL_PATTERN_LITERAL);
	assert_string_equal(out.Principal, "User:alice");
	assert_string_equal(out.Host, "10.0.0.7");
	assert_int_equal(out.Operation, FERRY_ACL_OP_READ);
	assert_int_equal(out.PermissionType, FERRY_ACL_PERM_ALLOW);

	/* shouldReplicateAcl: ALLOW WRITE never crosses */
	in = acl("orders", FERRY_ACL_PATTERN_LITERAL, FERRY_ACL_OP_WRITE, FERRY_ACL_PERM_ALLOW);
	assert_int_equal(ferry_mm2_acl_translate(&def, "london", &in, &out, remote, sizeof(remote)),
			 0);
	/* targetAclBinding: ALLOW ALL becomes ALLOW READ */
	in = acl("orders", FERRY_ACL_PATTERN_LITERAL, FERRY_ACL_OP_ALL, FERRY_ACL_PERM_ALLOW);
	assert_int_equal(ferry_mm2_acl_translate(&def, "london", &in, &out, remote, sizeof(remote)),
			 1);
	assert_int_equal(out.Operation, FERRY_ACL_OP_READ);
	assert_int_equal(out.PermissionType, FERRY_ACL_PERM_ALLOW);
	/* DENY entries are copied as they are (MM2 only filters ALLOW WRITE), DENY WRITE and
	 * DENY ALL included */
	in = acl("orders", FERRY_ACL_PATTERN_LITERAL, FERRY_ACL_OP_WRITE, FERRY_ACL_PERM_DENY);
	assert_int_equal(ferry_mm2_acl_translate(&def, "london", &in, &out, remote, sizeof(remote)),
			 1);
	assert_int_equal(out.Operation, FERRY_ACL_OP_WRITE);
	assert_int_equal(out.PermissionType, FERRY_ACL_PERM_DENY);
	in = acl("orders", FERRY_ACL_PATTERN_LITERAL, FERRY_ACL_OP_ALL, FERRY_ACL_PERM_DENY);
	assert_int_equal(ferry_mm2_acl_translate(&def, "london", &in, &out, remote, sizeof(remote)),
			 1);
	assert_int_equal(out.Operation, FERRY_ACL_OP_ALL);
	/* other ALLOW operations pass unchanged */
	in = acl("orders", FERRY_ACL_PATTERN_LITERAL, 8 /* DESCRIBE */, FERRY_ACL_PERM_ALLOW);
	assert_int_equal(ferry_mm2_acl_translate(&def, "london", &in, &out, remote, sizeof(remote)),
			 1);
	assert_int_equal(out.Operation, 8);

	/* syncTopicAcls keeps LITERAL patterns only: PREFIXED (and MATCH/ANY) are dropped */
	in = acl("ord", FERRY_ACL_PATTERN_PREFIXED, FERRY_ACL_OP_READ, FERRY_ACL_PERM_ALLOW);
	assert_int_equal(ferry_mm2_acl_translate(&def, "london", &in, &out, remote, sizeof(remote)),
			 0);
	in = acl("orders", FERRY_ACL_PATTERN_MATCH, FERRY_ACL_OP_READ, FERRY_ACL_PERM_ALLOW);
	assert_int_equal(ferry_mm2_acl_translate(&def, "london", &in, &out, remote, sizeof(remote)),
			 0);
	/* ... and TOPIC resources only */
	in = acl("orders", FERRY_ACL_PATTERN_LITERAL, FERRY_ACL_OP_READ, FERRY_ACL_PERM_ALLOW);
	in.ResourceType = FERRY_ACL_RESOURCE_GROUP;
	assert_int_equal(ferry_mm2_acl_translate(&def, "london", &in, &out, remote, sizeof(remote)),
			 0);

	/* the wildcard topic "*" is a LITERAL name too: MM2 copies it as "london.*" */
	in = acl("*", FERRY_ACL_PATTERN_LITERAL, FERRY_ACL_OP_READ, FERRY_ACL_PERM_ALLOW);
	assert_int_equal(ferry_mm2_acl_translate(&def, "london", &in, &out, remote, sizeof(remote)),
			 1);
	assert_string_equal(out.ResourceName, "london.*");

	/* Identity policy: same name; heartbeats still prefixed */
	in = acl("orders", FERRY_ACL_PATTERN_LITERAL, FERRY_ACL_OP_READ, FERRY_ACL_PERM_ALLOW);
	assert_int_equal(ferry_mm2_acl_translate(&id, "london", &in, &out, remote, sizeof(remote)),
			 1);
	assert_string_equal(out.ResourceName, "orders");
	in = acl("heartbeats", FERRY_ACL_PATTERN_LITERAL, FERRY_ACL_OP_READ, FERRY_ACL_PERM_ALLOW);
	assert_int_equal(ferry_mm2_acl_translate(&id, "london", &in, &out, remote, sizeof(remote)),
			 1);
	assert_string_equal(out.ResourceName, "london.heartbeats");

	/* bounds: a remote name that does not fit; missing strings */
	char small[8];
	in = acl("orders", FERRY_ACL_PATTERN_LITERAL, FERRY_ACL_OP_READ, FERRY_ACL_PERM_ALLOW);
	assert_int_equal(ferry_mm2_acl_translate(&def, "london", &in, &out, small, sizeof(small)),
			 -ENAMETOOLONG);
	in.Principal = NULL;
	assert_int_equal(ferry_mm2_acl_translate(&def, "london", &in, &out, remote, sizeof(remote)),
			 -EINVAL);
}

/* ---- denied counts from offset-syncs ------------------------------------------------------ */

/* The mm2_clusters run: 300 records in batches of 20; every 7th (i % 7 == 3: 43 of them)
 * and all of 80..99 denied. 80, 87 and 94 are in both, so 43 - 3 + 20 = 60 are denied. */
static bool
denied(int64_t i)
{
	return i % 7 == 3 || (i >= 80 && i < 100);
}

static void
test_dropped_counts(void **state)
{
	(void)state;
	struct ferry_osync_store *s = ferry_osync_store_new(0);
	struct ferry_osync_store *back = ferry_osync_store_new(0);
	struct ferry_mm2_offset_sync os[64];
	int64_t tgt = 0, want = 0, first = -1, n;
	for (int64_t base = 0; base < 300; base += 20) {
		int64_t repl[20];
		uint32_t k = 0;
		for (int64_t u = base; u < base + 20; u++) {
			if (denied(u))
				want++;
			else
				repl[k++] = u;
		}
		struct ferry_osync_batch b = {
			"trades", 0, base, base + 19, k ? tgt : -1, repl, k
		};
		int ns = ferry_osync_from_batch(s, &b, os, 64);
		assert_true(ns >= 0);
		/* as the status command sees them: read back one by one */
		for (int i = 0; i < ns; i++)
			assert_int_equal(ferry_osync_store_add(back, "trades", 0,
							       os[i].upstreamOffset, os[i].offset),
					 0);
		tgt += k;
	}
	assert_int_equal(want, 60);
	assert_int_equal(ferry_osync_dropped(back, "trades", 0, &n, &first), 0);
	assert_int_equal(first, 0);
	assert_int_equal(n, 60);
	assert_int_equal(ferry_osync_dropped(s, "trades", 0, &n, NULL), 0);
	assert_int_equal(n, 60);
	assert_int_equal(ferry_osync_dropped(s, "trades", 1, &n, NULL), -ENOENT);
	ferry_osync_store_free(s);
	ferry_osync_store_free(back);

	/* Denied records before the first written one leave no sync: the count starts at the
	 * first sync and says where, for the caller to add [log start, first). */
	s = ferry_osync_store_new(0);
	int64_t r1[] = { 5, 6, 9 }; /* 0..4, 7, 8 denied */
	struct ferry_osync_batch b1 = { "t", 0, 0, 9, 100, r1, 3 };
	assert_true(ferry_osync_from_batch(s, &b1, os, 64) > 0);
	assert_int_equal(ferry_osync_dropped(s, "t", 0, &n, &first), 0);
	assert_int_equal(first, 5);
	assert_int_equal(n, 2);
	/* a fully denied batch, then a whole one, then one whose tail is denied */
	struct ferry_osync_batch b2 = { "t", 0, 10, 19, -1, r1, 0 };
	assert_int_equal(ferry_osync_from_batch(s, &b2, os, 64), 1);
	struct ferry_osync_batch b3 = { "t", 0, 20, 29, 103, NULL, 0 };
	assert_int_equal(ferry_osync_from_batch(s, &b3, os, 64), 2);
	int64_t r4[] = { 30, 31 };
	struct ferry_osync_batch b4 = { "t", 0, 30, 39, 113, r4, 2 };
	assert_int_equal(ferry_osync_from_batch(s, &b4, os, 64), 3);
	assert_int_equal(ferry_osync_dropped(s, "t", 0, &n, NULL), 0);
	assert_int_equal(n, 2 + 10 + 8);

	/* An exactly-once target: each transaction's commit marker takes a target offset.
	 * Markers are not records of the source: nothing more is counted. */
	struct ferry_osync_store *e = ferry_osync_store_new(0);
	struct ferry_osync_batch t1 = { "t", 0, 0, 9, 0, NULL, 0 }; /* target 0..9, marker 10 */
	struct ferry_osync_batch t2 = {
		"t", 0, 10, 19, 11, NULL, 0
	};                             /* target 11..20, marker 21 */
	int64_t r3[] = { 20, 21, 25 }; /* 22..24, 26..29 denied */
	struct ferry_osync_batch t3 = { "t", 0, 20, 29, 22, r3, 3 };
	assert_true(ferry_osync_from_batch(e, &t1, os, 64) > 0);
	assert_true(ferry_osync_from_batch(e, &t2, os, 64) > 0);
	assert_true(ferry_osync_from_batch(e, &t3, os, 64) > 0);
	assert_int_equal(ferry_osync_dropped(e, "t", 0, &n, NULL), 0);
	assert_int_equal(n, 3 + 4);
	ferry_osync_store_free(e);
	ferry_osync_store_free(s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_config_keep),
		cmocka_unit_test(test_acl_translate),
		cmocka_unit_test(test_dropped_counts),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
