/*
 * test_wan_keychan.c - the WAN key channel over localhost TCP: message codec, handshake with
 * mutual certificate authentication, identical epoch keys on both sides (packets sealed by one
 * keyset open on the other, per queue), rekeys asked by the API and by the keyset's packet
 * limit without losing packets of the old epoch, APP and CLOSE messages, and refusals
 * (untrusted CA, wrong peer name, client without a certificate, TLS 1.2-only client,
 * configuration mismatch).
 *
 * Certificates are generated at start-up with the OpenSSL API (EC P-256) into a temporary
 * directory: a CA, a second unrelated CA, and leaf certificates signed by each. The server side
 * of each case runs in a thread (connect/accept/handshake block); after the handshake the main
 * thread polls both channels and plays both workers (ferry_wan_keybox_apply) itself.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "testutil.h"

#include "ferry/common.h"
#include "ferry/wan.h"
#include "ferry/wan_keychan.h"

#define NQ 2

static char dir[256];

/* ---- certificates ----------------------------------------------------------------------- */

static void
add_ext(X509 *cert, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509V3_set_ctx_nodb(&ctx);
	X509V3_set_ctx(&ctx, issuer, cert, NULL, NULL, 0);
	X509_EXTENSION *ex = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	assert_non_null(ex);
	assert_int_equal(X509_add_ext(cert, ex, -1), 1);
	X509_EXTENSION_free(ex);
}

/* Make a certificate for 'cn' (SAN DNS:san unless NULL), signed by issuer (self if NULL). */
static X509 *
mkcert(EVP_PKEY *key, const char *cn, const char *san, X509 *issuer, EVP_PKEY *issuer_key,
       bool ca, long serial)
{
	X509 *x = X509_new();
	assert_non_null(x);
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), serial);
	X509_gmtime_adj(X509_getm_notBefore(x), -3600);
	X509_gmtime_adj(X509_getm_notAfter(x), 86400);
	X509_set_pubkey(x, key);
	X509_NAME *name = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
	X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : name);
	X509 *iss = issuer ? issuer : x;
	add_ext(x, iss, NID_basic_constraints, ca ? "critical,CA:TRUE" : "critical,CA:FALSE");
	add_ext(x, iss, NID_key_usage,
		ca ? "critical,keyCertSign,cRLSign" : "critical,digitalSignature");
	add_ext(x, iss, NID_subject_key_identifier, "hash");
	if (!ca)
		add_ext(x, iss, NID_ext_key_usage, "serverAuth,clientAuth");
	if (san) {
		char v[128];
		snprintf(v, sizeof(v), "DNS:%s", san);
		add_ext(x, iss, NID_subject_alt_name, v);
	}
	assert_true(X509_sign(x, issuer_key ? issuer_key : key, EVP_sha256()) > 0);
	return x;
}

static void
write_pem(const char *name, X509 *x, EVP_PKEY *key)
{
	char path[400];
	snprintf(path, sizeof(path), "%s/%s.crt", dir, name);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(PEM_write_X509(f, x), 1);
	fclose(f);
	if (key) {
		snprintf(path, sizeof(path), "%s/%s.key", dir, name);
		f = fopen(path, "w");
		assert_non_null(f);
		assert_int_equal(PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL), 1);
		fclose(f);
	}
}

static const char *
path_of(const char *name, const char *ext)
{
	static char buf[8][400];
	static int i;
	char *p = buf[i++ % 8];
	snprintf(p, 400, "%s/%s.%s", dir, name, ext);
	return p;
}

static int
setup_certs(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/ferry-keychan-XXXXXX");
	if (mkdtemp(dir) == NULL)
		return -1;
	EVP_PKEY *cak = EVP_EC_gen("P-256"), *ca2k = EVP_EC_gen("P-256");
	EVP_PKEY *ak = EVP_EC_gen("P-256"), *bk = EVP_EC_gen("P-256"), *rk = EVP_EC_gen("P-256");
	X509 *ca = mkcert(cak, "ferry test CA", NULL, NULL, NULL, true, 1);
	X509 *ca2 = mkcert(ca2k, "rogue CA", NULL, NULL, NULL, true, 2);
	/* gw-a: SAN; gw-b: SAN; cn-only: no SAN, name in the CN; rogue: same name as gw-a but
	 * under the rogue CA. */
	X509 *a = mkcert(ak, "gw-a", "gw-a.ferry.test", ca, cak, false, 10);
	X509 *b = mkcert(bk, "gw-b", "gw-b.ferry.test", ca, cak, false, 11);
	X509 *cn = mkcert(rk, "cn-only.ferry.test", NULL, ca, cak, false, 12);
	X509 *rogue = mkcert(rk, "gw-a", "gw-a.ferry.test", ca2, ca2k, false, 13);
	write_pem("ca", ca, NULL);
	write_pem("ca2", ca2, NULL);
	write_pem("a", a, ak);
	write_pem("b", b, bk);
	write_pem("cn", cn, rk);
	write_pem("rogue", rogue, rk);
	X509 *xs[] = { ca, ca2, a, b, cn, rogue };
	for (size_t i = 0; i < sizeof(xs) / sizeof(xs[0]); i++)
		X509_free(xs[i]);
	EVP_PKEY *ks[] = { cak, ca2k, ak, bk, rk };
	for (size_t i = 0; i < sizeof(ks) / sizeof(ks[0]); i++)
		EVP_PKEY_free(ks[i]);
	return 0;
}

static int
teardown_certs(void **state)
{
	(void)state;
	const char *names[] = { "ca", "ca2", "a", "b", "cn", "rogue" };
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		unlink(path_of(names[i], "crt"));
		unlink(path_of(names[i], "key"));
	}
	rmdir(dir);
	return 0;
}

/* ---- one gateway's side: channel, mailboxes, and the keysets its workers would own ------ */

struct side {
	struct ferry_wan_keychan_conf conf;
	struct ferry_wan_keybox box[NQ];
	struct ferry_wan_keybox *boxes[NQ];
	struct ferry_wan_ep ep[NQ];
	struct ferry_wan_keychan *kc;
	int rc;
	char err[512];
};

static void
side_init(struct side *s, enum ferry_wan_role role, const char *cert, const char *peer,
	  const char *ca)
{
	char err[256];
	memset(s, 0, sizeof(*s));
	ferry_wan_keychan_conf_default(&s->conf);
	s->conf.role = role;
	s->conf.ca_file = path_of(ca, "crt");
	s->conf.cert_file = path_of(cert, "crt");
	s->conf.key_file = path_of(cert, "key");
	s->conf.peer_name = peer;
	s->conf.timeout_ms = 5000;
	s->conf.nqueues = NQ;
	s->conf.nlanes = 4;
	s->conf.rekey_gap_ns = 0;
	for (int i = 0; i < NQ; i++) {
		ferry_wan_keybox_init(&s->box[i]);
		s->boxes[i] = &s->box[i];
		struct ferry_wan_link_conf lc;
		struct ferry_wan_key_conf kc;
		ferry_wan_link_conf_default(&lc);
		lc.local.ip = role == FERRY_WAN_ROLE_CLIENT ? 0x0a000001 : 0x0a000002;
		lc.peer.ip = role == FERRY_WAN_ROLE_CLIENT ? 0x0a000002 : 0x0a000001;
		lc.local.port = lc.peer.port = 4789;
		ferry_wan_key_conf_default(&kc);
		kc.replay_window = 1024;
		assert_int_equal(ferry_wan_ep_init(&s->ep[i], &lc, &kc, err, sizeof(err)), 0);
	}
	s->conf.boxes = s->boxes;
}

static void
side_fini(struct side *s)
{
	ferry_wan_keychan_free(s->kc);
	for (int i = 0; i < NQ; i++)
		ferry_wan_ep_fini(&s->ep[i]);
}

static void *
establish_thread(void *arg)
{
	struct side *s = arg;
	s->rc = ferry_wan_keychan_establish(s->kc, s->err, sizeof(s->err));
	return NULL;
}

/* Server listens on a free port; both establish at once. Returns 0 when both succeeded. */
static void
connect_pair(struct side *srv, struct side *cli)
{
	srv->kc = ferry_wan_keychan_create(&srv->conf, srv->err, sizeof(srv->err));
	if (srv->kc == NULL)
		fail_msg("server create: %s", srv->err);
	cli->conf.port = ferry_wan_keychan_port(srv->kc);
	cli->kc = ferry_wan_keychan_create(&cli->conf, cli->err, sizeof(cli->err));
	if (cli->kc == NULL)
		fail_msg("client create: %s", cli->err);
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, establish_thread, srv), 0);
	cli->rc = ferry_wan_keychan_establish(cli->kc, cli->err, sizeof(cli->err));
	pthread_join(t, NULL);
}

/* Poll both channels and play their workers until both reach 'epoch' (or fail). */
static void
run_until(struct side *a, struct side *b, uint32_t epoch)
{
	for (int it = 0; it < 5000; it++) {
		struct side *ss[2] = { a, b };
		for (int k = 0; k < 2; k++) {
			struct side *s = ss[k];
			for (int i = 0; i < NQ; i++)
				ferry_wan_keybox_apply(&s->box[i], &s->ep[i].ks, 1000 + (uint64_t)it);
			int rc = ferry_wan_keychan_poll(s->kc, 1, s->err, sizeof(s->err));
			if (rc != 0)
				fail_msg("poll: %s", s->err);
		}
		if (ferry_wan_keychan_epoch(a->kc) >= epoch && ferry_wan_keychan_epoch(b->kc) >= epoch &&
		    ferry_wan_keychan_idle(a->kc) && ferry_wan_keychan_idle(b->kc))
			return;
	}
	fail_msg("epoch %u not reached: %u / %u", epoch, ferry_wan_keychan_epoch(a->kc),
		 ferry_wan_keychan_epoch(b->kc));
}

/* Seal a DATA packet on 'from' queue q; return its frame length in buf. */
static size_t
seal(struct side *from, int q, uint8_t *buf, const char *text)
{
	struct ferry_wan_hdr h = { .type = FERRY_WAN_T_DATA, .lane = (uint8_t)q, .seq = 1,
				   .frag_cnt = 1, .flags = FERRY_WAN_F_LAST };
	size_t len = strlen(text);
	int rc = ferry_wan_pkt_build(&from->ep[q], &h, buf, (const uint8_t *)text,
				     buf + FERRY_WAN_HDRS_LEN, len);
	assert_int_equal(rc, 0);
	return FERRY_WAN_HDRS_LEN + len + FERRY_WAN_TAG_LEN;
}

static enum ferry_wan_drop
open_on(struct side *to, int q, uint8_t *buf, size_t len, uint32_t *epoch)
{
	struct ferry_wan_hdr h;
	struct ferry_span p;
	enum ferry_wan_drop d = ferry_wan_pkt_open(&to->ep[q], buf, len, &h, &p);
	if (d == FERRY_WAN_DROP_NONE && epoch)
		*epoch = h.epoch;
	return d;
}

/* Every queue's keys work both ways under 'epoch'. */
static void
check_keys(struct side *cli, struct side *srv, uint32_t epoch)
{
	uint8_t sa[FERRY_WAN_KC_SECRET_LEN], sb[FERRY_WAN_KC_SECRET_LEN];
	assert_int_equal(ferry_wan_keychan_secret(cli->kc, epoch, sa), 0);
	assert_int_equal(ferry_wan_keychan_secret(srv->kc, epoch, sb), 0);
	assert_memory_equal(sa, sb, sizeof(sa));
	for (int q = 0; q < NQ; q++) {
		uint8_t buf[256];
		uint32_t e = 0;
		assert_int_equal(cli->ep[q].ks.tx_epoch, epoch);
		assert_int_equal(srv->ep[q].ks.tx_epoch, epoch);
		size_t n = seal(cli, q, buf, "client to server");
		assert_int_equal(open_on(srv, q, buf, n, &e), FERRY_WAN_DROP_NONE);
		assert_int_equal(e, epoch);
		n = seal(srv, q, buf, "server to client");
		assert_int_equal(open_on(cli, q, buf, n, &e), FERRY_WAN_DROP_NONE);
		assert_int_equal(e, epoch);
		/* Streams differ: queue q's packet does not open on the other queue. */
		n = seal(cli, q, buf, "wrong stream");
		assert_int_equal(open_on(srv, (q + 1) % NQ, buf, n, NULL), FERRY_WAN_DROP_AUTH_FAILED);
	}
}

/* ---- tests ---------------------------------------------------------------------------------- */

static void
test_msg_codec(void **state)
{
	(void)state;
	uint8_t buf[FERRY_WAN_KC_MSG_MAX + 8];
	struct ferry_wr w;
	struct ferry_wan_kc_msg m, out;
	size_t used;
	char err[160];

	struct ferry_wan_kc_msg msgs[] = {
		{ .type = FERRY_WAN_KC_HELLO, .epoch = 1, .nqueues = 2, .nlanes = 8, .mtu = 1500 },
		{ .type = FERRY_WAN_KC_REKEY, .epoch = 7 },
		{ .type = FERRY_WAN_KC_REKEY_ACK, .epoch = 0xffffffff },
		{ .type = FERRY_WAN_KC_APP, .body = ferry_span_str("hello app") },
		{ .type = FERRY_WAN_KC_APP },
		{ .type = FERRY_WAN_KC_CLOSE, .code = 3, .body = ferry_span_str("bye now") },
	};
	for (size_t i = 0; i < sizeof(msgs) / sizeof(msgs[0]); i++) {
		ferry_wr_init(&w, buf, sizeof(buf));
		assert_int_equal(ferry_wan_kc_msg_encode(&w, &msgs[i]), 0);
		/* Every proper prefix is PARTIAL, never an error or a message. */
		for (size_t k = 0; k < w.len; k++)
			assert_int_equal(ferry_wan_kc_msg_parse(ferry_span_make(buf, k), &out, &used,
								err, sizeof(err)),
					 FERRY_ERR__PARTIAL);
		assert_int_equal(ferry_wan_kc_msg_parse(ferry_span_make(buf, w.len), &out, &used, err,
							sizeof(err)),
				 0);
		assert_int_equal(used, w.len);
		assert_int_equal(out.type, msgs[i].type);
		assert_int_equal(out.epoch, msgs[i].epoch);
		assert_int_equal(out.nqueues, msgs[i].nqueues);
		assert_int_equal(out.mtu, msgs[i].mtu);
		assert_int_equal(out.code, msgs[i].code);
		assert_int_equal(out.body.len, msgs[i].body.len);
		if (out.body.len)
			assert_memory_equal(out.body.p, msgs[i].body.p, out.body.len);
	}
	/* Refusals: epoch 0, bad counts, unknown type/version, wrong lengths, control chars. */
	m = (struct ferry_wan_kc_msg){ .type = FERRY_WAN_KC_REKEY, .epoch = 0 };
	ferry_wr_init(&w, buf, sizeof(buf));
	assert_int_equal(ferry_wan_kc_msg_encode(&w, &m), FERRY_ERR__INVALID_ARG);
	m = (struct ferry_wan_kc_msg){ .type = FERRY_WAN_KC_HELLO, .epoch = 1, .nqueues = 0,
				       .nlanes = 1, .mtu = 1500 };
	assert_int_equal(ferry_wan_kc_msg_encode(&w, &m), FERRY_ERR__INVALID_ARG);
	m = (struct ferry_wan_kc_msg){ .type = FERRY_WAN_KC_CLOSE, .body = ferry_span_str("a\nb") };
	assert_int_equal(ferry_wan_kc_msg_encode(&w, &m), FERRY_ERR__INVALID_ARG);
	static const struct {
		const char *hex;
		int rc;
	} bad[] = {
		{ "02 02 0004 00000001", FERRY_ERR__UNSUPPORTED_VERSION },
		{ "01 09 0000", FERRY_ERR__BAD_API },
		{ "01 00 0000", FERRY_ERR__BAD_API },
		{ "01 02 0005 0000000100", FERRY_ERR__BAD_LENGTH },
		{ "01 02 0004 00000000", FERRY_ERR__INVALID_ARG },
		{ "01 01 000a 00000001 0011 0001 05dc", FERRY_ERR__INVALID_ARG },
		{ "01 04 0401", FERRY_ERR__BAD_LENGTH },
		{ "01 05 0001 00", FERRY_ERR__BAD_LENGTH },
		{ "01 05 0003 0001 07", FERRY_ERR__INVALID_ARG },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		size_t n = hex2bin(bad[i].hex, buf, sizeof(buf));
		err[0] = 0;
		assert_int_equal(ferry_wan_kc_msg_parse(ferry_span_make(buf, n), &out, &used, err,
							sizeof(err)),
				 bad[i].rc);
		assert_true(err[0] != 0);
	}
}

static void
test_keybox(void **state)
{
	(void)state;
	struct ferry_wan_keybox box;
	struct ferry_wan_key_material km = { { 1 }, { 2 } };
	ferry_wan_keybox_init(&box);
	for (int i = 0; i < FERRY_WAN_KEYBOX_SLOTS; i++)
		assert_int_equal(ferry_wan_keybox_push(&box, FERRY_WAN_KEYMSG_RX, 1, &km), 0);
	assert_int_equal(ferry_wan_keybox_push(&box, FERRY_WAN_KEYMSG_RX, 1, &km), -ENOBUFS);
}

static void
test_handshake_rekey(void **state)
{
	(void)state;
	struct side srv, cli;
	side_init(&srv, FERRY_WAN_ROLE_SERVER, "b", "gw-a.ferry.test", "ca");
	side_init(&cli, FERRY_WAN_ROLE_CLIENT, "a", "gw-b.ferry.test", "ca");
	connect_pair(&srv, &cli);
	if (srv.rc != 0 || cli.rc != 0)
		fail_msg("establish: server %d %s / client %d %s", srv.rc, srv.err, cli.rc, cli.err);
	run_until(&cli, &srv, 1);
	check_keys(&cli, &srv, 1);
	/* Different epochs give different secrets. */
	uint8_t s1[FERRY_WAN_KC_SECRET_LEN], s2[FERRY_WAN_KC_SECRET_LEN];
	assert_int_equal(ferry_wan_keychan_secret(cli.kc, 1, s1), 0);
	assert_int_equal(ferry_wan_keychan_secret(cli.kc, 2, s2), 0);
	assert_memory_not_equal(s1, s2, sizeof(s1));

	/* A packet sealed under epoch 1 before the rekey still opens after it (no traffic
	 * stops): the old receive key stays for the grace time. */
	uint8_t old[256];
	size_t oldn = seal(&cli, 0, old, "in flight across the rekey");
	assert_int_equal(ferry_wan_keychan_rekey(cli.kc), 0);
	assert_int_equal(ferry_wan_keychan_rekey(cli.kc), 0);
	run_until(&cli, &srv, 2);
	assert_int_equal(ferry_wan_keychan_rekey(srv.kc), 0);
	assert_int_equal(ferry_wan_keychan_idle(srv.kc), false);
	run_until(&cli, &srv, 3);
	check_keys(&cli, &srv, 3);
	uint32_t e = 0;
	/* Epoch 1's receive key was replaced when epoch 3 came in; show the one-epoch grace
	 * with a fresh rekey pair instead: seal under 3, rekey to 4, open. */
	assert_int_equal(open_on(&srv, 0, old, oldn, NULL), FERRY_WAN_DROP_UNKNOWN_EPOCH);
	oldn = seal(&cli, 1, old, "in flight across the rekey");
	assert_int_equal(ferry_wan_keychan_rekey(srv.kc), 0);
	run_until(&cli, &srv, 4);
	assert_int_equal(open_on(&srv, 1, old, oldn, &e), FERRY_WAN_DROP_NONE);
	assert_int_equal(e, 3);

	/* Rekey by packet count: the client's queue-1 keyset reaches its soft limit, its worker
	 * publishes rekey_wanted, the channel starts epoch 5 by itself. */
	cli.ep[1].ks.conf.rekey_packets = cli.ep[1].ks.tx_pn + 3;
	for (int i = 0; i < 3; i++)
		seal(&cli, 1, old, "count");
	run_until(&cli, &srv, 5);
	check_keys(&cli, &srv, 5);
	const struct ferry_wan_keychan_stats *cs = ferry_wan_keychan_stats(cli.kc);
	const struct ferry_wan_keychan_stats *ss = ferry_wan_keychan_stats(srv.kc);
	assert_int_equal(cs->rekeys_done, 5);
	assert_int_equal(ss->rekeys_done, 5);
	/* client: epoch 2 (API) and 5 (packet count); server: 3 and 4 (API). */
	assert_int_equal(cs->rekeys_started, 2);
	assert_int_equal(ss->rekeys_started, 2);
	for (int q = 0; q < NQ; q++) {
		assert_int_equal(atomic_load(&cli.box[q].install_errors), 0);
		assert_int_equal(atomic_load(&srv.box[q].install_errors), 0);
	}
	printf("# rekeys: client started %" PRIu64 ", server started %" PRIu64 ", done %" PRIu64
	       "\n",
	       cs->rekeys_started, ss->rekeys_started, cs->rekeys_done);

	/* APP both ways, then CLOSE with a reason the other side reports. */
	char err[256], buf[64];
	assert_int_equal(ferry_wan_keychan_send_app(cli.kc, "stats:42", 8, err, sizeof(err)), 0);
	int n = -EAGAIN;
	for (int it = 0; it < 1000 && n == -EAGAIN; it++) {
		assert_int_equal(ferry_wan_keychan_poll(srv.kc, 1, err, sizeof(err)), 0);
		n = ferry_wan_keychan_recv_app(srv.kc, buf, sizeof(buf));
	}
	assert_int_equal(n, 8);
	assert_memory_equal(buf, "stats:42", 8);
	/* A burst while the receiver does not read (ferryd's control thread busy elsewhere):
	 * far more than the inbox holds, every one arrives, in order (a CI run lost COMMITs
	 * this way: the inbox dropped what did not fit) */
	for (int i = 0; i < 200; i++) {
		char m[16];
		int l = snprintf(m, sizeof(m), "commit:%03d", i);
		assert_int_equal(ferry_wan_keychan_send_app(cli.kc, m, (size_t)l, err, sizeof(err)),
				 0);
	}
	for (int i = 0, it = 0; i < 200; it++) {
		char want[16];
		assert_true(it < 5000);
		assert_int_equal(ferry_wan_keychan_poll(srv.kc, 1, err, sizeof(err)), 0);
		while ((n = ferry_wan_keychan_recv_app(srv.kc, buf, sizeof(buf))) > 0) {
			int l = snprintf(want, sizeof(want), "commit:%03d", i);
			assert_int_equal(n, l);
			assert_memory_equal(buf, want, (size_t)l);
			i++;
		}
	}
	assert_int_equal(ferry_wan_keychan_stats(srv.kc)->app_dropped, 0);
	ferry_wan_keychan_close(cli.kc, 7, "test over");
	int rc = 0;
	for (int it = 0; it < 1000 && rc == 0; it++)
		rc = ferry_wan_keychan_poll(srv.kc, 1, err, sizeof(err));
	assert_int_equal(rc, -ECONNRESET);
	assert_non_null(strstr(err, "test over"));
	side_fini(&srv);
	side_fini(&cli);
}

/* Expect establish to fail on 'who' with rc and a message containing 'text'. */
static void
expect_refused(struct side *srv, struct side *cli, const char *what, int srv_rc,
	       const char *srv_text, int cli_rc)
{
	connect_pair(srv, cli);
	printf("# %s: server: %s\n#   client: %s\n", what, srv->rc ? srv->err : "ok",
	       cli->rc ? cli->err : "ok");
	if (srv->rc != srv_rc)
		fail_msg("%s: server rc %d (%s), want %d", what, srv->rc, srv->err, srv_rc);
	if (srv_text && !strstr(srv->err, srv_text))
		fail_msg("%s: server message '%s' lacks '%s'", what, srv->err, srv_text);
	if (cli_rc && cli->rc != cli_rc)
		fail_msg("%s: client rc %d (%s), want %d", what, cli->rc, cli->err, cli_rc);
	assert_true(cli->rc != 0);
	side_fini(srv);
	side_fini(cli);
}

static void
test_refuse_untrusted_ca(void **state)
{
	(void)state;
	struct side srv, cli;
	/* The client holds a certificate with the right name under a CA the server does not
	 * trust. */
	side_init(&srv, FERRY_WAN_ROLE_SERVER, "b", "gw-a.ferry.test", "ca");
	side_init(&cli, FERRY_WAN_ROLE_CLIENT, "rogue", "gw-b.ferry.test", "ca");
	expect_refused(&srv, &cli, "untrusted CA", -EACCES, "certificate verification failed",
		       -EACCES);
}

static void
test_refuse_wrong_name(void **state)
{
	(void)state;
	struct side srv, cli;
	/* The server's certificate is valid but names gw-b; the client expects gw-c. */
	side_init(&srv, FERRY_WAN_ROLE_SERVER, "b", "gw-a.ferry.test", "ca");
	side_init(&cli, FERRY_WAN_ROLE_CLIENT, "a", "gw-c.ferry.test", "ca");
	connect_pair(&srv, &cli);
	printf("# wrong name: client: %s\n#   server: %s\n", cli.err, srv.err);
	assert_int_equal(cli.rc, -EACCES);
	assert_non_null(strstr(cli.err, "hostname mismatch"));
	assert_true(srv.rc != 0);
	side_fini(&srv);
	side_fini(&cli);

	/* The same the other way round: the server expects a client name it does not get. */
	side_init(&srv, FERRY_WAN_ROLE_SERVER, "b", "gw-x.ferry.test", "ca");
	side_init(&cli, FERRY_WAN_ROLE_CLIENT, "a", "gw-b.ferry.test", "ca");
	expect_refused(&srv, &cli, "wrong client name", -EACCES, "hostname mismatch", -EACCES);

	/* A certificate without SAN is checked by its CN. */
	side_init(&srv, FERRY_WAN_ROLE_SERVER, "b", "cn-only.ferry.test", "ca");
	side_init(&cli, FERRY_WAN_ROLE_CLIENT, "cn", "gw-b.ferry.test", "ca");
	connect_pair(&srv, &cli);
	if (srv.rc != 0 || cli.rc != 0)
		fail_msg("CN-only: server %s / client %s", srv.err, cli.err);
	side_fini(&srv);
	side_fini(&cli);
}

static void
test_refuse_config_mismatch(void **state)
{
	(void)state;
	struct side srv, cli;
	side_init(&srv, FERRY_WAN_ROLE_SERVER, "b", "gw-a.ferry.test", "ca");
	side_init(&cli, FERRY_WAN_ROLE_CLIENT, "a", "gw-b.ferry.test", "ca");
	cli.conf.nlanes = 5;
	expect_refused(&srv, &cli, "lanes mismatch", -EPROTO, "configuration mismatch", -EPROTO);
}

/* A bare OpenSSL client: optional certificate, optional TLS 1.2 ceiling. */
struct raw_client {
	uint16_t port;
	const char *cert;
	int max_version;
	int hs; /* SSL_connect result */
};

static void *
raw_client_thread(void *arg)
{
	struct raw_client *rcl = arg;
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	SSL_CTX_load_verify_locations(ctx, path_of("ca", "crt"), NULL);
	if (rcl->cert) {
		SSL_CTX_use_certificate_chain_file(ctx, path_of(rcl->cert, "crt"));
		SSL_CTX_use_PrivateKey_file(ctx, path_of(rcl->cert, "key"), SSL_FILETYPE_PEM);
	}
	if (rcl->max_version)
		SSL_CTX_set_max_proto_version(ctx, rcl->max_version);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(rcl->port),
				  .sin_addr.s_addr = htonl(0x7f000001) };
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
		SSL *ssl = SSL_new(ctx);
		SSL_set_fd(ssl, fd);
		rcl->hs = SSL_connect(ssl);
		if (rcl->hs == 1) {
			char b[16];
			SSL_read(ssl, b, sizeof(b)); /* the server's verdict (an alert) */
		}
		SSL_free(ssl);
	}
	ERR_clear_error();
	close(fd);
	SSL_CTX_free(ctx);
	return NULL;
}

static void
raw_case(const char *what, const char *cert, int max_version, int want_rc, const char *want_text)
{
	struct side srv;
	side_init(&srv, FERRY_WAN_ROLE_SERVER, "b", "gw-a.ferry.test", "ca");
	srv.kc = ferry_wan_keychan_create(&srv.conf, srv.err, sizeof(srv.err));
	assert_non_null(srv.kc);
	struct raw_client rcl = { .port = ferry_wan_keychan_port(srv.kc), .cert = cert,
				  .max_version = max_version };
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, raw_client_thread, &rcl), 0);
	srv.rc = ferry_wan_keychan_establish(srv.kc, srv.err, sizeof(srv.err));
	pthread_join(t, NULL);
	printf("# %s: server: %s\n", what, srv.err);
	assert_int_equal(srv.rc, want_rc);
	assert_non_null(strstr(srv.err, want_text));
	side_fini(&srv);
}

static void
test_refuse_no_client_cert(void **state)
{
	(void)state;
	raw_case("no client certificate", NULL, 0, -EACCES, "sent no certificate");
}

static void
test_refuse_tls12(void **state)
{
	(void)state;
	raw_case("TLS 1.2 client", "a", TLS1_2_VERSION, -EPROTO, "does not speak TLS 1.3");
}

static void
test_bad_files(void **state)
{
	(void)state;
	struct side s;
	side_init(&s, FERRY_WAN_ROLE_CLIENT, "a", "gw-b.ferry.test", "ca");
	s.conf.key_file = path_of("b", "key"); /* not a's key */
	assert_null(ferry_wan_keychan_create(&s.conf, s.err, sizeof(s.err)));
	printf("# wrong key: %s\n", s.err);
	assert_non_null(strstr(s.err, "b.key"));
	s.conf.ca_file = "/nonexistent/ca.crt";
	assert_null(ferry_wan_keychan_create(&s.conf, s.err, sizeof(s.err)));
	printf("# missing CA: %s\n", s.err);
	assert_non_null(strstr(s.err, "CA file"));
	side_fini(&s);
}

int
main(void)
{
	signal(SIGPIPE, SIG_IGN);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_msg_codec),
		cmocka_unit_test(test_keybox),
		cmocka_unit_test(test_handshake_rekey),
		cmocka_unit_test(test_refuse_untrusted_ca),
		cmocka_unit_test(test_refuse_wrong_name),
		cmocka_unit_test(test_refuse_config_mismatch),
		cmocka_unit_test(test_refuse_no_client_cert),
		cmocka_unit_test(test_refuse_tls12),
		cmocka_unit_test(test_bad_files),
	};
	return cmocka_run_group_tests(tests, setup_certs, teardown_certs);
}
