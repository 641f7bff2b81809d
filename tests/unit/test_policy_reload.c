/*
 * test_policy_reload.c - rules reload under traffic (issue 3): two worker threads apply
 * batches without pause, taking the policy from the publication point once per batch and
 * holding no lock, while the control thread reloads two good rules files in turn and now and
 * then a bad one. Checks: every batch is decided by exactly one complete policy (the output
 * matches the generation that decided it), a bad file is reported with file:line and leaves
 * the policy in force, and each replaced policy is freed only after both workers passed a
 * quiescent point (a minimal QSBR, as rte_rcu_qsbr does in the dataplane): under ASan a
 * worker still reading a freed policy would fail the test.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>

#include "testutil.h"

#include "ferry/kafka.h"
#include "ferry/policy.h"
#include "policy_reload.h"

#define WORKERS 2
#define RELOADS 24

static char tmpdir[256];
static char path_a[300], path_b[300], path_bad[300];

struct shared {
	struct ferry_policy_pub *pub;
	const uint8_t *batch;
	size_t batch_len;
	atomic_bool stop;
	atomic_uint_fast64_t quiescent[WORKERS]; /* batches finished by each worker */
	atomic_uint_fast64_t wrong;              /* outputs that match no single policy */
	atomic_uint_fast64_t errors;
};

struct worker_arg {
	struct shared *sh;
	int id;
};

static void *
worker_main(void *p)
{
	struct worker_arg *a = p;
	struct shared *sh = a->sh;
	struct ferry_policy_worker *w = ferry_policy_worker_new(NULL, NULL);
	struct ferry_codec_ctx *cc = ferry_codec_ctx_new();
	static _Thread_local uint8_t dec[1 << 16];
	if (w == NULL || cc == NULL) {
		atomic_fetch_add(&sh->errors, 1);
		return NULL;
	}
	while (!atomic_load(&sh->stop)) {
		const struct ferry_policy_rt *rt = ferry_policy_current(sh->pub);
		struct ferry_kafka_batch b;
		size_t used;
		struct ferry_policy_result res;
		if (ferry_kafka_batch_parse(ferry_span_make(sh->batch, sh->batch_len), &b, &used) ||
		    ferry_policy_apply(w, rt, "t", 1, 0, &b, &res) != 0 ||
		    res.kind != FERRY_POLICY_RES_REWRITTEN) {
			atomic_fetch_add(&sh->errors, 1);
		} else {
			/* odd generations are file A (masks AAA), even ones file B (masks BBB) */
			const char *want = res.generation % 2 ? "*** BBB" : "AAA ***";
			struct ferry_kafka_batch ob;
			struct ferry_span recs;
			struct ferry_kafka_rec_iter it;
			struct ferry_kafka_record r;
			if (ferry_kafka_batch_parse(ferry_span_make(res.out, res.out_len), &ob, &used) ||
			    ferry_kafka_batch_records(cc, &ob, dec, sizeof(dec), &recs) < 0) {
				atomic_fetch_add(&sh->errors, 1);
			} else {
				ferry_kafka_rec_iter_init(&it, recs, ob.hdr.RecordsCount);
				if (ferry_kafka_rec_next(&it, &r) != 1 || r.Value.len != 7 ||
				    memcmp(r.Value.p, want, 7) != 0)
					atomic_fetch_add(&sh->wrong, 1);
			}
		}
		/* quiescent: nothing of rt is used past this point */
		atomic_fetch_add(&sh->quiescent[a->id], 1);
	}
	ferry_codec_ctx_free(cc);
	ferry_policy_worker_free(w);
	return NULL;
}

/* Wait until every worker has finished the batch it was in when this was called. */
static void
synchronize(struct shared *sh)
{
	uint_fast64_t seen[WORKERS];
	for (int i = 0; i < WORKERS; i++)
		seen[i] = atomic_load(&sh->quiescent[i]);
	for (int i = 0; i < WORKERS; i++)
		while (atomic_load(&sh->quiescent[i]) <= seen[i])
			usleep(100);
}

static void
write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void
test_reload_under_traffic(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/ferry-reload-XXXXXX");
	assert_non_null(mkdtemp(tmpdir));
	snprintf(path_a, sizeof(path_a), "%s/a.yaml", tmpdir);
	snprintf(path_b, sizeof(path_b), "%s/b.yaml", tmpdir);
	snprintf(path_bad, sizeof(path_bad), "%s/bad.yaml", tmpdir);
#define RULES(pat)                                                                                 \
	"version: 1\ndefault: permit\nrules:\n  - name: r\n    patterns: ['" pat                     \
	"']\n    action: mask\n"
	write_text(path_a, RULES("AAA"));
	write_text(path_b, RULES("BBB"));
	write_text(path_bad, RULES("B(BB"));
#undef RULES

	/* one batch, one record "AAA BBB" */
	static uint8_t buf[4096], scratch[4096];
	struct ferry_kafka_record_in in = { .Timestamp = 1,
					    .Key = ferry_span_make("k", 1),
					    .Value = ferry_span_make("AAA BBB", 7) };
	struct ferry_kafka_batch_args args = { .ProducerId = -1, .ProducerEpoch = -1,
					       .BaseSequence = -1 };
	struct ferry_wr wr;
	ferry_wr_init(&wr, buf, sizeof(buf));
	assert_int_equal(ferry_kafka_batch_build(&wr, &args, &in, 1, NULL, scratch,
						 sizeof(scratch)),
			 0);

	char err[4096];
	struct shared sh = { .batch = buf, .batch_len = wr.len };
	sh.pub = ferry_policy_pub_new();
	assert_non_null(sh.pub);
	struct ferry_policy_rt *old;
	assert_int_equal(ferry_policy_reload(sh.pub, path_a, &old, err, sizeof(err)), 0);
	assert_null(old);

	pthread_t th[WORKERS];
	struct worker_arg wa[WORKERS];
	for (int i = 0; i < WORKERS; i++) {
		wa[i] = (struct worker_arg){ &sh, i };
		assert_int_equal(pthread_create(&th[i], NULL, worker_main, &wa[i]), 0);
	}
	int bad_reported = 0;
	for (int k = 0; k < RELOADS; k++) {
		usleep(2000);
		if (k % 3 == 2) {
			const struct ferry_policy_rt *before = ferry_policy_current(sh.pub);
			int rc = ferry_policy_reload(sh.pub, path_bad, &old, err, sizeof(err));
			assert_true(rc < 0);
			assert_null(old);
			assert_ptr_equal(ferry_policy_current(sh.pub), before);
			assert_non_null(strstr(err, "bad.yaml:5: rule 'r': patterns[0]"));
			bad_reported++;
			continue;
		}
		/* generations alternate A, B, A, ... from 1 */
		const char *next = ferry_policy_rt_generation(ferry_policy_current(sh.pub)) % 2
				       ? path_b
				       : path_a;
		assert_int_equal(ferry_policy_reload(sh.pub, next, &old, err, sizeof(err)), 0);
		assert_non_null(old);
		synchronize(&sh);
		ferry_policy_rt_free(old);
	}
	usleep(2000);
	atomic_store(&sh.stop, true);
	for (int i = 0; i < WORKERS; i++)
		pthread_join(th[i], NULL);
	print_message("reload: %d reloads (%d bad, refused), workers applied %llu + %llu batches, "
		      "%llu wrong, %llu errors\n",
		      RELOADS, bad_reported, (unsigned long long)atomic_load(&sh.quiescent[0]),
		      (unsigned long long)atomic_load(&sh.quiescent[1]),
		      (unsigned long long)atomic_load(&sh.wrong),
		      (unsigned long long)atomic_load(&sh.errors));
	assert_int_equal(atomic_load(&sh.wrong), 0);
	assert_int_equal(atomic_load(&sh.errors), 0);
	assert_int_equal(bad_reported, RELOADS / 3);
	for (int i = 0; i < WORKERS; i++)
		assert_true(atomic_load(&sh.quiescent[i]) > RELOADS);
	ferry_policy_rt_free(ferry_policy_publish(sh.pub, NULL));
	ferry_policy_pub_free(sh.pub);
	unlink(path_a);
	unlink(path_b);
	unlink(path_bad);
	rmdir(tmpdir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = { cmocka_unit_test(test_reload_under_traffic) };
	return cmocka_run_group_tests(tests, NULL, NULL);
}
