/*
 * bench_aead.c - issue 5: AES-256-GCM per WAN packet, bytes sealed and opened per CPU-second on
 * one core, for every engine we could use, side by side in one run:
 *
 *   openssl-evp      OpenSSL 3 EVP, keyed once, nonce per packet: how crypto.c did it before
 *                    this benchmark moved it to ipsec-mb (the ratios' denominator)
 *   ferry-wan        the dataplane's own ferry_wan_aead_seal/_open (dataplane/wan/crypto.c,
 *                    linked from the wan library: intel-ipsec-mb direct API when built with it)
 *   ipsec-mb         intel-ipsec-mb's direct GCM API (IMB_AES256_GCM_ENC/_DEC), one call a packet
 *   ipsec-mb-job     intel-ipsec-mb's job API (IMB_CIPHER_GCM + IMB_AUTH_AES_GMAC), 32 a burst
 *   cdev-aesni_gcm   DPDK cryptodev, crypto_aesni_gcm vdev (ipsec-mb underneath)
 *   cdev-aesni_mb    DPDK cryptodev, crypto_aesni_mb vdev (ipsec-mb job API underneath)
 *   cdev-openssl     DPDK cryptodev, crypto_openssl vdev (OpenSSL EVP underneath)
 *
 * Every engine sees the packet shape of the WAN transport: a 30-byte ferry header as the AAD
 * (FERRY_WAN_HDR_LEN), 96-bit nonce = iv XOR pn, payload, 16-byte tag right after it. Seal
 * reads plaintext from one buffer and writes ciphertext || tag into the packet buffer (the
 * batcher's copy-free path); open works in place on the packet buffer and checks the tag.
 * Bursts are 32 packets (one buffer each, so the working set is that of a real burst).
 * Cryptodev engines pay for what a dataplane would: bulk-allocating and freeing the 32 ops,
 * filling them, enqueue and dequeue; the mbufs themselves are preallocated (they are the
 * packets).
 *
 * Open is timed without a copy to restore the ciphertext: in GCM, decrypting P = C ^ KS again
 * under the same nonce gives C back, and the tag of P "as ciphertext" is the tag of sealing C.
 * So with both tags precomputed each open verifies and flips the buffer between C and P.
 *
 * Before timing each size the ciphertext and tag of every engine are compared byte for byte
 * with openssl-evp's, open must give the plaintext back, and open of a corrupted tag must
 * fail; any difference exits 1. Each (size, engine, op) is timed in short slices interleaved
 * across engines over several rounds (so a noisy neighbour hits all engines alike); the
 * figure is the median slice. Clock: CLOCK_PROCESS_CPUTIME_ID (all threads; the EAL's own
 * threads are idle). MB = 10^6 bytes of payload (AAD and tag not counted).
 *
 * usage: bench_aead [--rounds N] [--slice-ms MS] [--json FILE] [--no-cryptodev]
 * EAL arguments are built here (--no-huge -m 512 --no-pci, a per-process --file-prefix, the
 * three crypto vdevs, the current CPU as the only lcore). Without the EAL the other engines
 * still run.
 * Exit: 0; 1 on a cross-check or crypto failure; 2 on a usage or set-up error.
 * Single-threaded: everything runs on the main thread, pinned to one CPU.
 */
#include <errno.h>
#include <getopt.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <intel-ipsec-mb.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <rte_crypto.h>
#include <rte_cryptodev.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_version.h>

#include "bench_clock.h"
#include "ferry/wan.h"

#define AEAD_BURST    32
#define AEAD_AAD_LEN  FERRY_WAN_HDR_LEN /* 30: the ferry header */
#define AEAD_ROOM     32                /* AAD slot in front of the payload, 16-byte padded */
#define AEAD_TAG      FERRY_WAN_TAG_LEN
#define AEAD_IV       FERRY_WAN_IV_LEN
#define AEAD_MAX_LEN  8900
#define AEAD_BUF_LEN  9024 /* AEAD_ROOM + AEAD_MAX_LEN + AEAD_TAG, rounded up to 64 */
#define AEAD_MAX_ENG  7
#define AEAD_MAX_ROUNDS 50
/* Bursts between two reads of the CPU clock (a system call): even, so that an open slice
 * leaves each buffer holding the ciphertext it started with. */
#define AEAD_BURSTS_PER_CHECK 8

/* Cryptodev: the nonce lives in the op's private area, right after the symmetric op. */
#define CDEV_IV_OFFSET (sizeof(struct rte_crypto_op) + sizeof(struct rte_crypto_sym_op))
#define CDEV_NB_OPS    511  /* 2^n - 1: the mempool's best size */
#define CDEV_NB_MBUFS  255  /* 2 per packet slot per device, 3 devices: 192 */
#define CDEV_NB_DESC   256
#define CDEV_SPIN_MAX  100000000u /* dequeue polls before giving up on a lost op */

static const size_t aead_sizes[] = { 64, 512, 1400, 8900 };
#define AEAD_NSIZES (sizeof(aead_sizes) / sizeof(aead_sizes[0]))

enum aead_op { AEAD_SEAL, AEAD_OPEN, AEAD_NOPS };
static const char *const aead_op_names[AEAD_NOPS] = { "seal", "open" };

/* Key, nonces and the reference packets of the size under test, shared by all engines. */
struct aead_ref {
	struct ferry_wan_key_material km;
	uint8_t nonce[AEAD_BURST][AEAD_IV]; /* iv XOR pn, pn = slot index */
	uint8_t aad[AEAD_BURST][AEAD_AAD_LEN];
	uint8_t *pt[AEAD_BURST];
	uint8_t *ct[AEAD_BURST];                  /* openssl-evp's ciphertext */
	uint8_t tag_c[AEAD_BURST][AEAD_TAG];      /* its tag: open C with this */
	uint8_t tag_p[AEAD_BURST][AEAD_TAG];      /* tag of P taken as ciphertext (see top) */
};

struct aead_engine;

struct aead_engine_ops {
	/* Set buffer lengths for a new payload size (cryptodev mbufs); may be NULL. */
	int (*resize)(struct aead_engine *e, size_t len);
	/* Seal src[i] (AAD at 0, plaintext at AEAD_ROOM) into pkt[i] (ciphertext at AEAD_ROOM,
	 * tag after it), for every slot. 0 or -errno. */
	int (*seal)(struct aead_engine *e, size_t len);
	/* Open pkt[i] in place against tags[i] (AAD at 0 of pkt[i]). 0, -EBADMSG or -errno. */
	int (*open)(struct aead_engine *e, size_t len, const uint8_t (*tags)[AEAD_TAG]);
	void (*fini)(struct aead_engine *e);
};

struct aead_engine {
	char name[32];
	const struct aead_engine_ops *ops;
	const struct aead_ref *ref;
	uint8_t *src[AEAD_BURST];
	uint8_t *pkt[AEAD_BURST];
	void *priv;
	/* median MB per CPU-second and CPU ns per packet, per size and op */
	double mbps[AEAD_NSIZES][AEAD_NOPS];
	double ns_pkt[AEAD_NSIZES][AEAD_NOPS];
	double samples[AEAD_MAX_ROUNDS][AEAD_NOPS]; /* of the size being timed */
};

static double
cpu_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* xorshift64*: deterministic filler for keys and payloads. */
static uint64_t
rng_next(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * UINT64_C(2685821657736338717);
}

static void
rng_fill(uint64_t *s, uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(rng_next(s) >> 56);
}

static int
bufs_alloc(uint8_t **bufs, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		bufs[i] = aligned_alloc(64, AEAD_BUF_LEN);
		if (bufs[i] == NULL)
			return -ENOMEM;
		memset(bufs[i], 0, AEAD_BUF_LEN);
	}
	return 0;
}

static void
bufs_free(uint8_t **bufs, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		free(bufs[i]);
		bufs[i] = NULL;
	}
}

/* ---- openssl-evp: OpenSSL 3's EVP, called as crypto.c did before it moved to ipsec-mb ------ */

struct evp_priv {
	EVP_CIPHER_CTX *seal, *open;
	uint8_t iv[AEAD_IV];
};

static void
evp_nonce(const struct evp_priv *p, uint64_t pn, uint8_t nonce[AEAD_IV])
{
	memcpy(nonce, p->iv, AEAD_IV);
	for (int b = 0; b < 8; b++)
		nonce[AEAD_IV - 1 - b] ^= (uint8_t)(pn >> (8 * b));
}

static int
evp_seal(struct aead_engine *e, size_t len)
{
	struct evp_priv *p = e->priv;
	uint8_t nonce[AEAD_IV];
	int outl, finl;

	for (unsigned i = 0; i < AEAD_BURST; i++) {
		uint8_t *dst = e->pkt[i] + AEAD_ROOM;
		evp_nonce(p, i, nonce);
		if (EVP_EncryptInit_ex(p->seal, NULL, NULL, NULL, nonce) != 1 ||
		    EVP_EncryptUpdate(p->seal, NULL, &outl, e->src[i], AEAD_AAD_LEN) != 1 ||
		    EVP_EncryptUpdate(p->seal, dst, &outl, e->src[i] + AEAD_ROOM, (int)len) != 1 ||
		    EVP_EncryptFinal_ex(p->seal, dst + outl, &finl) != 1 ||
		    EVP_CIPHER_CTX_ctrl(p->seal, EVP_CTRL_AEAD_GET_TAG, AEAD_TAG, dst + len) != 1)
			return -EIO;
	}
	return 0;
}

static int
evp_open(struct aead_engine *e, size_t len, const uint8_t (*tags)[AEAD_TAG])
{
	struct evp_priv *p = e->priv;
	uint8_t nonce[AEAD_IV];
	int outl, finl;

	for (unsigned i = 0; i < AEAD_BURST; i++) {
		uint8_t *buf = e->pkt[i] + AEAD_ROOM;
		evp_nonce(p, i, nonce);
		if (EVP_DecryptInit_ex(p->open, NULL, NULL, NULL, nonce) != 1 ||
		    EVP_DecryptUpdate(p->open, NULL, &outl, e->pkt[i], AEAD_AAD_LEN) != 1 ||
		    EVP_DecryptUpdate(p->open, buf, &outl, buf, (int)len) != 1 ||
		    EVP_CIPHER_CTX_ctrl(p->open, EVP_CTRL_AEAD_SET_TAG, AEAD_TAG, (void *)tags[i]) != 1)
			return -EIO;
		if (EVP_DecryptFinal_ex(p->open, buf + outl, &finl) != 1)
			return -EBADMSG;
	}
	return 0;
}

static void
evp_fini(struct aead_engine *e)
{
	struct evp_priv *p = e->priv;

	if (p != NULL) {
		EVP_CIPHER_CTX_free(p->seal);
		EVP_CIPHER_CTX_free(p->open);
		free(p);
	}
	bufs_free(e->src, AEAD_BURST);
	bufs_free(e->pkt, AEAD_BURST);
}

static const struct aead_engine_ops evp_ops = {
	.seal = evp_seal, .open = evp_open, .fini = evp_fini,
};

static int
evp_init(struct aead_engine *e, const struct aead_ref *ref, char *err, size_t errlen)
{
	struct evp_priv *p = calloc(1, sizeof(*p));

	snprintf(e->name, sizeof(e->name), "openssl-evp");
	e->ops = &evp_ops;
	e->priv = p;
	if (p == NULL || bufs_alloc(e->src, AEAD_BURST) != 0 ||
	    bufs_alloc(e->pkt, AEAD_BURST) != 0 || (p->seal = EVP_CIPHER_CTX_new()) == NULL ||
	    (p->open = EVP_CIPHER_CTX_new()) == NULL) {
		snprintf(err, errlen, "openssl-evp: out of memory");
		return -ENOMEM;
	}
	memcpy(p->iv, ref->km.iv, AEAD_IV);
	if (EVP_CipherInit_ex(p->seal, EVP_aes_256_gcm(), NULL, ref->km.key, NULL, 1) != 1 ||
	    EVP_CipherInit_ex(p->open, EVP_aes_256_gcm(), NULL, ref->km.key, NULL, 0) != 1) {
		snprintf(err, errlen, "openssl-evp: key setup failed");
		return -EIO;
	}
	return 0;
}

/* ---- ferry-wan: the dataplane's own functions (dataplane/wan/crypto.c) --------------------- */

struct fw_priv {
	struct ferry_wan_aead seal;
	struct ferry_wan_aead open;
};

static int
fw_seal(struct aead_engine *e, size_t len)
{
	struct fw_priv *p = e->priv;

	for (unsigned i = 0; i < AEAD_BURST; i++) {
		int rc = ferry_wan_aead_seal(&p->seal, i, e->src[i], AEAD_AAD_LEN,
					     e->src[i] + AEAD_ROOM, e->pkt[i] + AEAD_ROOM, len,
					     e->pkt[i] + AEAD_ROOM + len);
		if (rc != 0)
			return rc;
	}
	return 0;
}

static int
fw_open(struct aead_engine *e, size_t len, const uint8_t (*tags)[AEAD_TAG])
{
	struct fw_priv *p = e->priv;

	for (unsigned i = 0; i < AEAD_BURST; i++) {
		int rc = ferry_wan_aead_open(&p->open, i, e->pkt[i], AEAD_AAD_LEN,
					     e->pkt[i] + AEAD_ROOM, len, tags[i]);
		if (rc != 0)
			return rc;
	}
	return 0;
}

static void
fw_fini(struct aead_engine *e)
{
	struct fw_priv *p = e->priv;

	if (p != NULL) {
		ferry_wan_aead_fini(&p->seal);
		ferry_wan_aead_fini(&p->open);
		free(p);
	}
	bufs_free(e->src, AEAD_BURST);
	bufs_free(e->pkt, AEAD_BURST);
}

static const struct aead_engine_ops fw_ops = {
	.seal = fw_seal, .open = fw_open, .fini = fw_fini,
};

static int
fw_init(struct aead_engine *e, const struct aead_ref *ref, char *err, size_t errlen)
{
	struct fw_priv *p = calloc(1, sizeof(*p));

	snprintf(e->name, sizeof(e->name), "ferry-wan");
	e->ops = &fw_ops;
	e->priv = p;
	if (p == NULL || bufs_alloc(e->src, AEAD_BURST) != 0 ||
	    bufs_alloc(e->pkt, AEAD_BURST) != 0) {
		snprintf(err, errlen, "ferry-wan: out of memory");
		return -ENOMEM;
	}
	if (ferry_wan_aead_init(&p->seal) != 0 || ferry_wan_aead_init(&p->open) != 0 ||
	    ferry_wan_aead_setkey(&p->seal, &ref->km, true) != 0 ||
	    ferry_wan_aead_setkey(&p->open, &ref->km, false) != 0) {
		snprintf(err, errlen, "ferry-wan: ferry_wan_aead init/setkey failed");
		return -EIO;
	}
	return 0;
}

/* ---- intel-ipsec-mb, direct and job API -------------------------------------------------- */

struct imb_priv {
	IMB_MGR *mgr;
	/* The library's AVX512 code stores to these with aligned moves; the header declares no
	 * alignment for the types, so ask for it here (and allocate the struct aligned). */
	_Alignas(64) struct gcm_key_data key;     /* expanded key and GHASH powers */
	_Alignas(64) struct gcm_context_data ctx; /* per-call scratch of the direct API */
	uint8_t tag[AEAD_BURST][AEAD_TAG];
};

static const char *
imb_arch_name(IMB_ARCH arch)
{
	switch (arch) {
	case IMB_ARCH_NOAESNI: return "no-aesni";
	case IMB_ARCH_SSE: return "sse";
	case IMB_ARCH_AVX: return "avx";
	case IMB_ARCH_AVX2: return "avx2";
	case IMB_ARCH_AVX512: return "avx512";
	default: return "?";
	}
}

static int
imb_direct_seal(struct aead_engine *e, size_t len)
{
	struct imb_priv *p = e->priv;

	for (unsigned i = 0; i < AEAD_BURST; i++)
		IMB_AES256_GCM_ENC(p->mgr, &p->key, &p->ctx, e->pkt[i] + AEAD_ROOM,
				   e->src[i] + AEAD_ROOM, len, e->ref->nonce[i], e->src[i],
				   AEAD_AAD_LEN, e->pkt[i] + AEAD_ROOM + len, AEAD_TAG);
	/* The direct API reports bad arguments through the manager, not a return value. */
	return imb_get_errno(p->mgr) == 0 ? 0 : -EIO;
}

static int
imb_direct_open(struct aead_engine *e, size_t len, const uint8_t (*tags)[AEAD_TAG])
{
	struct imb_priv *p = e->priv;
	int rc = 0;

	for (unsigned i = 0; i < AEAD_BURST; i++) {
		uint8_t *payload = e->pkt[i] + AEAD_ROOM;

		IMB_AES256_GCM_DEC(p->mgr, &p->key, &p->ctx, payload, payload, len,
				   e->ref->nonce[i], e->pkt[i], AEAD_AAD_LEN, p->tag[i], AEAD_TAG);
		/* The library computes the tag, the caller compares: in constant time, and like
		 * ferry_wan_aead_open() leave no unauthenticated plaintext behind. */
		if (CRYPTO_memcmp(p->tag[i], tags[i], AEAD_TAG) != 0) {
			memset(payload, 0, len);
			rc = -EBADMSG;
		}
	}
	if (imb_get_errno(p->mgr) != 0)
		return -EIO;
	return rc;
}

static void
imb_job_fill(struct imb_priv *p, IMB_JOB *job, const uint8_t *nonce, const uint8_t *aad,
	     const uint8_t *in, uint8_t *out, size_t len, uint8_t *tag, bool seal)
{
	job->cipher_direction = seal ? IMB_DIR_ENCRYPT : IMB_DIR_DECRYPT;
	/* GCM in the job API: encrypt then GHASH, or GHASH (of the ciphertext) then decrypt. */
	job->chain_order = seal ? IMB_ORDER_CIPHER_HASH : IMB_ORDER_HASH_CIPHER;
	job->cipher_mode = IMB_CIPHER_GCM;
	job->hash_alg = IMB_AUTH_AES_GMAC;
	job->enc_keys = &p->key;
	job->dec_keys = &p->key;
	job->key_len_in_bytes = IMB_KEY_256_BYTES;
	job->src = in;
	job->dst = out;
	job->cipher_start_src_offset_in_bytes = 0;
	job->msg_len_to_cipher_in_bytes = len;
	job->hash_start_src_offset_in_bytes = 0;
	job->msg_len_to_hash_in_bytes = len;
	job->iv = nonce;
	job->iv_len_in_bytes = AEAD_IV;
	job->u.GCM.aad = aad;
	job->u.GCM.aad_len_in_bytes = AEAD_AAD_LEN;
	job->auth_tag_output = tag;
	job->auth_tag_output_len_in_bytes = AEAD_TAG;
}

/* Submit one burst through the job API and wait for all of it; returns completed jobs or -EIO.
 * For open, each completed job's computed tag is checked against tags[slot]. */
static int
imb_job_burst(struct aead_engine *e, size_t len, const uint8_t (*tags)[AEAD_TAG], bool seal)
{
	struct imb_priv *p = e->priv;
	unsigned done = 0;
	int rc = 0;
	IMB_JOB *job;

	for (unsigned i = 0; i < AEAD_BURST; i++) {
		job = IMB_GET_NEXT_JOB(p->mgr);
		if (seal)
			imb_job_fill(p, job, e->ref->nonce[i], e->src[i], e->src[i] + AEAD_ROOM,
				     e->pkt[i] + AEAD_ROOM, len, e->pkt[i] + AEAD_ROOM + len, true);
		else
			imb_job_fill(p, job, e->ref->nonce[i], e->pkt[i], e->pkt[i] + AEAD_ROOM,
				     e->pkt[i] + AEAD_ROOM, len, p->tag[i], false);
		job->user_data = (void *)(uintptr_t)i;
		/* Submit may hand back an older job that completed; collect them all. */
		for (job = IMB_SUBMIT_JOB(p->mgr); job != NULL; job = IMB_GET_COMPLETED_JOB(p->mgr)) {
			unsigned slot = (unsigned)(uintptr_t)job->user_data;

			if (job->status != IMB_STATUS_COMPLETED)
				return -EIO;
			if (!seal && CRYPTO_memcmp(p->tag[slot], tags[slot], AEAD_TAG) != 0) {
				memset(e->pkt[slot] + AEAD_ROOM, 0, len);
				rc = -EBADMSG;
			}
			done++;
		}
	}
	while ((job = IMB_FLUSH_JOB(p->mgr)) != NULL) {
		unsigned slot = (unsigned)(uintptr_t)job->user_data;

		if (job->status != IMB_STATUS_COMPLETED)
			return -EIO;
		if (!seal && CRYPTO_memcmp(p->tag[slot], tags[slot], AEAD_TAG) != 0) {
			memset(e->pkt[slot] + AEAD_ROOM, 0, len);
			rc = -EBADMSG;
		}
		done++;
	}
	if (done != AEAD_BURST)
		return -EIO;
	return rc;
}

static int
imb_job_seal(struct aead_engine *e, size_t len)
{
	return imb_job_burst(e, len, NULL, true);
}

static int
imb_job_open(struct aead_engine *e, size_t len, const uint8_t (*tags)[AEAD_TAG])
{
	return imb_job_burst(e, len, tags, false);
}

static void
imb_fini(struct aead_engine *e)
{
	struct imb_priv *p = e->priv;

	if (p != NULL) {
		if (p->mgr != NULL)
			free_mb_mgr(p->mgr);
		OPENSSL_cleanse(&p->key, sizeof(p->key));
		free(p);
	}
	bufs_free(e->src, AEAD_BURST);
	bufs_free(e->pkt, AEAD_BURST);
}

static const struct aead_engine_ops imb_direct_ops = {
	.seal = imb_direct_seal, .open = imb_direct_open, .fini = imb_fini,
};
static const struct aead_engine_ops imb_job_ops = {
	.seal = imb_job_seal, .open = imb_job_open, .fini = imb_fini,
};

static int
imb_init(struct aead_engine *e, const struct aead_ref *ref, bool job_api, IMB_ARCH *arch,
	 char *err, size_t errlen)
{
	struct imb_priv *p = aligned_alloc(64, (sizeof(*p) + 63) & ~(size_t)63);

	snprintf(e->name, sizeof(e->name), job_api ? "ipsec-mb-job" : "ipsec-mb");
	e->ops = job_api ? &imb_job_ops : &imb_direct_ops;
	e->priv = p;
	if (p != NULL)
		memset(p, 0, sizeof(*p));
	if (p == NULL || bufs_alloc(e->src, AEAD_BURST) != 0 ||
	    bufs_alloc(e->pkt, AEAD_BURST) != 0) {
		snprintf(err, errlen, "%.31s: out of memory", e->name);
		return -ENOMEM;
	}
	p->mgr = alloc_mb_mgr(0);
	if (p->mgr == NULL) {
		snprintf(err, errlen, "%.31s: alloc_mb_mgr failed", e->name);
		return -ENOMEM;
	}
	/* The best code path this CPU has (AVX512 + VAES/VPCLMULQDQ where present). */
	init_mb_mgr_auto(p->mgr, arch);
	if (imb_get_errno(p->mgr) != 0) {
		snprintf(err, errlen, "%.31s: init_mb_mgr_auto: %s", e->name,
			 imb_get_strerror(imb_get_errno(p->mgr)));
		return -EIO;
	}
	IMB_AES256_GCM_PRE(p->mgr, ref->km.key, &p->key);
	return 0;
}

/* ---- DPDK cryptodev ---------------------------------------------------------------------- */

struct cdev_env {
	bool up;
	struct rte_mempool *sess_pool;
	struct rte_mempool *op_pool;
	struct rte_mempool *mbuf_pool;
};

struct cdev_priv {
	struct cdev_env *env;
	uint8_t dev_id;
	bool started;
	void *sess_seal;
	void *sess_open;
	struct rte_mbuf *m_src[AEAD_BURST];
	struct rte_mbuf *m_pkt[AEAD_BURST];
};

static int
cdev_resize(struct aead_engine *e, size_t len)
{
	struct cdev_priv *p = e->priv;

	/* Lengths the PMDs may check against the op's offsets; reset keeps data_off, so the
	 * src/pkt pointers taken at init stay valid. */
	for (unsigned i = 0; i < AEAD_BURST; i++) {
		rte_pktmbuf_reset(p->m_src[i]);
		rte_pktmbuf_reset(p->m_pkt[i]);
		if (rte_pktmbuf_append(p->m_src[i], (uint16_t)(AEAD_ROOM + len)) == NULL ||
		    rte_pktmbuf_append(p->m_pkt[i], (uint16_t)(AEAD_ROOM + len + AEAD_TAG)) == NULL)
			return -ENOSPC;
	}
	return 0;
}

static int
cdev_burst(struct aead_engine *e, size_t len, const uint8_t (*tags)[AEAD_TAG], bool seal)
{
	struct cdev_priv *p = e->priv;
	struct rte_crypto_op *ops[AEAD_BURST], *done[AEAD_BURST];
	uint16_t enq = 0, deq = 0;
	unsigned spins = 0;
	int rc = 0;

	if (rte_crypto_op_bulk_alloc(p->env->op_pool, RTE_CRYPTO_OP_TYPE_SYMMETRIC, ops,
				     AEAD_BURST) != AEAD_BURST)
		return -ENOMEM;
	for (unsigned i = 0; i < AEAD_BURST; i++) {
		struct rte_crypto_op *op = ops[i];
		struct rte_crypto_sym_op *sym = op->sym;
		struct rte_mbuf *in = seal ? p->m_src[i] : p->m_pkt[i];

		rte_crypto_op_attach_sym_session(op, seal ? p->sess_seal : p->sess_open);
		sym->m_src = in;
		sym->m_dst = seal ? p->m_pkt[i] : NULL; /* seal out of place, open in place */
		sym->aead.data.offset = AEAD_ROOM;
		sym->aead.data.length = (uint32_t)len;
		sym->aead.aad.data = rte_pktmbuf_mtod(in, uint8_t *);
		sym->aead.aad.phys_addr = rte_pktmbuf_iova(in);
		if (seal) {
			sym->aead.digest.data = rte_pktmbuf_mtod_offset(p->m_pkt[i], uint8_t *,
									AEAD_ROOM + len);
			sym->aead.digest.phys_addr =
			    rte_pktmbuf_iova_offset(p->m_pkt[i], AEAD_ROOM + len);
		} else {
			/* Software PMDs read the expected tag through the virtual address. */
			sym->aead.digest.data = (uint8_t *)(uintptr_t)tags[i];
			sym->aead.digest.phys_addr = 0;
		}
		memcpy(rte_crypto_op_ctod_offset(op, uint8_t *, CDEV_IV_OFFSET), e->ref->nonce[i],
		       AEAD_IV);
	}
	while (deq < AEAD_BURST) {
		if (enq < AEAD_BURST)
			enq += rte_cryptodev_enqueue_burst(p->dev_id, 0, ops + enq,
							   AEAD_BURST - enq);
		uint16_t n = rte_cryptodev_dequeue_burst(p->dev_id, 0, done + deq, enq - deq);
		deq += n;
		if (n == 0 && ++spins > CDEV_SPIN_MAX)
			return -ETIMEDOUT; /* ops are lost with the device; the run is over anyway */
	}
	for (unsigned i = 0; i < AEAD_BURST; i++) {
		if (done[i]->status == RTE_CRYPTO_OP_STATUS_AUTH_FAILED && rc == 0)
			rc = -EBADMSG;
		else if (done[i]->status != RTE_CRYPTO_OP_STATUS_SUCCESS &&
			 done[i]->status != RTE_CRYPTO_OP_STATUS_AUTH_FAILED)
			rc = -EIO;
	}
	rte_mempool_put_bulk(p->env->op_pool, (void **)done, AEAD_BURST);
	return rc;
}

static int
cdev_seal(struct aead_engine *e, size_t len)
{
	return cdev_burst(e, len, NULL, true);
}

static int
cdev_open(struct aead_engine *e, size_t len, const uint8_t (*tags)[AEAD_TAG])
{
	return cdev_burst(e, len, tags, false);
}

static void
cdev_fini(struct aead_engine *e)
{
	struct cdev_priv *p = e->priv;

	if (p == NULL)
		return;
	if (p->started)
		rte_cryptodev_stop(p->dev_id);
	if (p->sess_seal != NULL)
		rte_cryptodev_sym_session_free(p->dev_id, p->sess_seal);
	if (p->sess_open != NULL)
		rte_cryptodev_sym_session_free(p->dev_id, p->sess_open);
	for (unsigned i = 0; i < AEAD_BURST; i++) {
		rte_pktmbuf_free(p->m_src[i]);
		rte_pktmbuf_free(p->m_pkt[i]);
	}
	free(p);
	e->priv = NULL;
}

static const struct aead_engine_ops cdev_ops = {
	.resize = cdev_resize, .seal = cdev_seal, .open = cdev_open, .fini = cdev_fini,
};

static void *
cdev_session(struct cdev_priv *p, const struct aead_ref *ref, bool seal)
{
	struct rte_crypto_sym_xform xf;

	memset(&xf, 0, sizeof(xf));
	xf.type = RTE_CRYPTO_SYM_XFORM_AEAD;
	xf.aead.op = seal ? RTE_CRYPTO_AEAD_OP_ENCRYPT : RTE_CRYPTO_AEAD_OP_DECRYPT;
	xf.aead.algo = RTE_CRYPTO_AEAD_AES_GCM;
	xf.aead.key.data = ref->km.key;
	xf.aead.key.length = FERRY_WAN_KEY_LEN;
	xf.aead.iv.offset = CDEV_IV_OFFSET;
	xf.aead.iv.length = AEAD_IV;
	xf.aead.digest_length = AEAD_TAG;
	xf.aead.aad_length = AEAD_AAD_LEN;
	return rte_cryptodev_sym_session_create(p->dev_id, &xf, p->env->sess_pool);
}

/* The device must already exist (--vdev) and the env's pools be created. */
static int
cdev_init(struct aead_engine *e, struct cdev_env *env, const char *vdev, const char *label,
	  const struct aead_ref *ref, char *err, size_t errlen)
{
	struct cdev_priv *p = calloc(1, sizeof(*p));
	int socket = (int)rte_socket_id();
	int rc;

	snprintf(e->name, sizeof(e->name), "cdev-%s", label);
	e->ops = &cdev_ops;
	e->priv = p;
	if (p == NULL) {
		snprintf(err, errlen, "%.31s: out of memory", e->name);
		return -ENOMEM;
	}
	p->env = env;
	rc = rte_cryptodev_get_dev_id(vdev);
	if (rc < 0) {
		snprintf(err, errlen, "%.31s: no cryptodev %s (PMD not loaded?)", e->name, vdev);
		return -ENODEV;
	}
	p->dev_id = (uint8_t)rc;

	struct rte_cryptodev_sym_capability_idx idx = {
		.type = RTE_CRYPTO_SYM_XFORM_AEAD,
		.algo.aead = RTE_CRYPTO_AEAD_AES_GCM,
	};
	const struct rte_cryptodev_symmetric_capability *cap =
	    rte_cryptodev_sym_capability_get(p->dev_id, &idx);
	if (cap == NULL || rte_cryptodev_sym_capability_check_aead(cap, FERRY_WAN_KEY_LEN,
								   AEAD_TAG, AEAD_AAD_LEN,
								   AEAD_IV) != 0) {
		snprintf(err, errlen, "%.31s: no AES-256-GCM with a %d-byte AAD", e->name,
			 AEAD_AAD_LEN);
		return -ENOTSUP;
	}
	struct rte_cryptodev_config conf = { .socket_id = socket, .nb_queue_pairs = 1 };
	struct rte_cryptodev_qp_conf qp = { .nb_descriptors = CDEV_NB_DESC,
					    .mp_session = env->sess_pool };
	if ((rc = rte_cryptodev_configure(p->dev_id, &conf)) < 0 ||
	    (rc = rte_cryptodev_queue_pair_setup(p->dev_id, 0, &qp, socket)) < 0 ||
	    (rc = rte_cryptodev_start(p->dev_id)) < 0) {
		snprintf(err, errlen, "%.31s: configure/queue pair/start: %s", e->name,
			 rte_strerror(-rc));
		return rc;
	}
	p->started = true;
	p->sess_seal = cdev_session(p, ref, true);
	p->sess_open = cdev_session(p, ref, false);
	if (p->sess_seal == NULL || p->sess_open == NULL) {
		snprintf(err, errlen, "%.31s: session create: %s", e->name, rte_strerror(rte_errno));
		return -EIO;
	}
	if (rte_pktmbuf_alloc_bulk(env->mbuf_pool, p->m_src, AEAD_BURST) != 0)
		goto err_mbufs;
	if (rte_pktmbuf_alloc_bulk(env->mbuf_pool, p->m_pkt, AEAD_BURST) != 0) {
		memset(p->m_pkt, 0, sizeof(p->m_pkt));
		goto err_mbufs;
	}
	for (unsigned i = 0; i < AEAD_BURST; i++) {
		e->src[i] = rte_pktmbuf_mtod(p->m_src[i], uint8_t *);
		e->pkt[i] = rte_pktmbuf_mtod(p->m_pkt[i], uint8_t *);
	}
	return 0;

err_mbufs:
	snprintf(err, errlen, "%.31s: mbuf pool empty", e->name);
	return -ENOMEM;
}

/* EAL and the pools every cryptodev engine shares. -errno with a message when unusable. */
static int
cdev_env_init(struct cdev_env *env, const char *argv0, int cpu, char *err, size_t errlen)
{
	char lcores[16], prefix[64];
	static const char *const vdevs[] = { "crypto_aesni_gcm0", "crypto_aesni_mb0",
					     "crypto_openssl0" };
	uint32_t sess_size = 0;

	snprintf(lcores, sizeof(lcores), "%d", cpu);
	/* Not --in-memory: with --no-huge 22.11's EAL turns on legacy memory, which refuses
	 * it. A file prefix of our own keeps us apart from any other DPDK process instead. */
	snprintf(prefix, sizeof(prefix), "--file-prefix=ferry-aead-%ld", (long)getpid());
	char *eal[] = { (char *)argv0, "--no-huge", "-m", "512", prefix, "--no-pci",
			"--no-telemetry", "-l", lcores, "--log-level=lib.*:error",
			"--vdev=crypto_aesni_gcm0", "--vdev=crypto_aesni_mb0",
			"--vdev=crypto_openssl0", NULL };
	if (rte_eal_init((int)(sizeof(eal) / sizeof(eal[0])) - 1, eal) < 0) {
		snprintf(err, errlen, "EAL init: %s", rte_strerror(rte_errno));
		return -ENODEV;
	}
	env->up = true;
	for (unsigned i = 0; i < sizeof(vdevs) / sizeof(vdevs[0]); i++) {
		int id = rte_cryptodev_get_dev_id(vdevs[i]);
		if (id < 0)
			continue;
		unsigned s = rte_cryptodev_sym_get_private_session_size((uint8_t)id);
		sess_size = s > sess_size ? s : sess_size;
	}
	if (sess_size == 0) {
		snprintf(err, errlen, "no crypto vdev was created");
		return -ENODEV;
	}
	/* Two sessions per device; the one 22.11 API that makes a session pool is still
	 * experimental (see meson.build). */
	env->sess_pool = rte_cryptodev_sym_session_pool_create("aead_sess", 16, sess_size, 0, 0,
							       (int)rte_socket_id());
	env->op_pool = rte_crypto_op_pool_create("aead_ops", RTE_CRYPTO_OP_TYPE_SYMMETRIC,
						 CDEV_NB_OPS, 2 * AEAD_BURST, AEAD_IV,
						 (int)rte_socket_id());
	env->mbuf_pool = rte_pktmbuf_pool_create("aead_mbufs", CDEV_NB_MBUFS, 0, 0,
						 RTE_PKTMBUF_HEADROOM + AEAD_BUF_LEN,
						 (int)rte_socket_id());
	if (env->sess_pool == NULL || env->op_pool == NULL || env->mbuf_pool == NULL) {
		snprintf(err, errlen, "cryptodev pools: %s", rte_strerror(rte_errno));
		return -ENOMEM;
	}
	return 0;
}

/* ---- the driver -------------------------------------------------------------------------- */

/* Reference packets for 'len' from the openssl-evp engine 'evp'. */
static int
ref_build(struct aead_ref *ref, struct aead_engine *evp, size_t len, uint64_t *rng)
{
	int rc;

	for (unsigned i = 0; i < AEAD_BURST; i++) {
		rng_fill(rng, ref->aad[i], AEAD_AAD_LEN);
		rng_fill(rng, ref->pt[i], len);
		memcpy(evp->src[i], ref->aad[i], AEAD_AAD_LEN);
		memcpy(evp->src[i] + AEAD_ROOM, ref->pt[i], len);
		memcpy(evp->pkt[i], ref->aad[i], AEAD_AAD_LEN);
	}
	if ((rc = evp->ops->seal(evp, len)) != 0)
		return rc;
	for (unsigned i = 0; i < AEAD_BURST; i++) {
		memcpy(ref->ct[i], evp->pkt[i] + AEAD_ROOM, len);
		memcpy(ref->tag_c[i], evp->pkt[i] + AEAD_ROOM + len, AEAD_TAG);
		/* Seal C as plaintext: the output must be P, its tag is tag_p. */
		memcpy(evp->src[i] + AEAD_ROOM, ref->ct[i], len);
	}
	if ((rc = evp->ops->seal(evp, len)) != 0)
		return rc;
	for (unsigned i = 0; i < AEAD_BURST; i++) {
		if (memcmp(evp->pkt[i] + AEAD_ROOM, ref->pt[i], len) != 0)
			return -EPROTO;
		memcpy(ref->tag_p[i], evp->pkt[i] + AEAD_ROOM + len, AEAD_TAG);
	}
	return 0;
}

/* Load the reference plaintext and AADs into an engine's buffers and check it against the
 * reference: same ciphertext and tag, open gives the plaintext back (and, opened again with
 * tag_p, the ciphertext), a corrupted tag is refused. Leaves pkt[] holding the ciphertext.
 * 0, or -EPROTO with what differed in err. */
static int
engine_check(struct aead_engine *e, const struct aead_ref *ref, size_t len, char *err,
	     size_t errlen)
{
	static uint8_t bad[AEAD_BURST][AEAD_TAG];
	int rc;

	if (e->ops->resize != NULL && (rc = e->ops->resize(e, len)) != 0) {
		snprintf(err, errlen, "%.31s: resize to %zu: %s", e->name, len, strerror(-rc));
		return rc;
	}
	for (unsigned i = 0; i < AEAD_BURST; i++) {
		memcpy(e->src[i], ref->aad[i], AEAD_AAD_LEN);
		memcpy(e->src[i] + AEAD_ROOM, ref->pt[i], len);
		memcpy(e->pkt[i], ref->aad[i], AEAD_AAD_LEN);
		memset(e->pkt[i] + AEAD_ROOM, 0, len + AEAD_TAG);
	}
	if ((rc = e->ops->seal(e, len)) != 0) {
		snprintf(err, errlen, "%.31s: seal %zu B: %s", e->name, len, strerror(-rc));
		return -EPROTO;
	}
	for (unsigned i = 0; i < AEAD_BURST; i++) {
		if (memcmp(e->pkt[i] + AEAD_ROOM, ref->ct[i], len) != 0 ||
		    memcmp(e->pkt[i] + AEAD_ROOM + len, ref->tag_c[i], AEAD_TAG) != 0) {
			snprintf(err, errlen, "%.31s: %zu B packet %u: ciphertext/tag differ from "
				 "openssl-evp", e->name, len, i);
			return -EPROTO;
		}
	}
	if ((rc = e->ops->open(e, len, ref->tag_c)) != 0) {
		snprintf(err, errlen, "%.31s: open %zu B: %s", e->name, len, strerror(-rc));
		return -EPROTO;
	}
	for (unsigned i = 0; i < AEAD_BURST; i++) {
		if (memcmp(e->pkt[i] + AEAD_ROOM, ref->pt[i], len) != 0) {
			snprintf(err, errlen, "%.31s: %zu B packet %u: open gave wrong plaintext",
				 e->name, len, i);
			return -EPROTO;
		}
	}
	if ((rc = e->ops->open(e, len, ref->tag_p)) != 0) {
		snprintf(err, errlen, "%.31s: open (flip back) %zu B: %s", e->name, len,
			 strerror(-rc));
		return -EPROTO;
	}
	for (unsigned i = 0; i < AEAD_BURST; i++) {
		memcpy(bad[i], ref->tag_c[i], AEAD_TAG);
		bad[i][i % AEAD_TAG] ^= 0x01;
	}
	if ((rc = e->ops->open(e, len, (const uint8_t (*)[AEAD_TAG])bad)) != -EBADMSG) {
		snprintf(err, errlen, "%.31s: open with a corrupted tag returned %d, want -EBADMSG",
			 e->name, rc);
		return -EPROTO;
	}
	/* The failed open wiped or garbled the payloads: seal again for the timed runs. */
	if ((rc = e->ops->seal(e, len)) != 0) {
		snprintf(err, errlen, "%.31s: seal %zu B: %s", e->name, len, strerror(-rc));
		return -EPROTO;
	}
	return 0;
}

/* One timed slice: bursts until slice_s of CPU time. pkt[] holds the ciphertext on entry
 * and on return (an even number of opens). MB per CPU-second in *mbps. */
static int
engine_slice(struct aead_engine *e, const struct aead_ref *ref, size_t len, enum aead_op op,
	     double slice_s, double *mbps)
{
	uint64_t pkts = 0;
	double t0 = cpu_now(), t;

	do {
		for (unsigned k = 0; k < AEAD_BURSTS_PER_CHECK; k++) {
			int rc = op == AEAD_SEAL ? e->ops->seal(e, len)
						 : e->ops->open(e, len,
								k & 1 ? ref->tag_p : ref->tag_c);
			if (rc != 0)
				return rc;
		}
		pkts += AEAD_BURSTS_PER_CHECK * AEAD_BURST;
		t = cpu_now();
	} while (t - t0 < slice_s);
	*mbps = (double)pkts * (double)len / (t - t0) / 1e6;
	return 0;
}

static void
cpu_model(char *out, size_t outlen)
{
	FILE *f = fopen("/proc/cpuinfo", "r");
	char line[256];

	snprintf(out, outlen, "?");
	if (f == NULL)
		return;
	while (fgets(line, sizeof(line), f) != NULL) {
		char *colon = strchr(line, ':');
		if (strncmp(line, "model name", 10) == 0 && colon != NULL) {
			snprintf(out, outlen, "%s", colon + 2);
			out[strcspn(out, "\n")] = '\0';
			break;
		}
	}
	fclose(f);
}

/* The engine with the highest figure for (size index, op); the EVP ratio in *ratio. */
static const struct aead_engine *
fastest(const struct aead_engine *eng, unsigned neng, unsigned si, enum aead_op op,
	double *ratio)
{
	const struct aead_engine *best = &eng[0];

	for (unsigned k = 1; k < neng; k++)
		if (eng[k].mbps[si][op] > best->mbps[si][op])
			best = &eng[k];
	*ratio = best->mbps[si][op] / eng[0].mbps[si][op];
	return best;
}

static int
json_write(const char *path, const struct aead_engine *eng, unsigned neng, const char *cpu,
	   int cpu_id, const char *imb_arch, unsigned rounds, double slice_ms,
	   const char *cdev_note)
{
	FILE *f = fopen(path, "w");

	if (f == NULL)
		return -errno;
	fprintf(f, "{\n  \"benchmark\": \"aead\",\n  \"cipher\": \"AES-256-GCM\",\n");
	fprintf(f, "  \"aad_bytes\": %d,\n  \"tag_bytes\": %d,\n  \"burst\": %d,\n",
		AEAD_AAD_LEN, AEAD_TAG, AEAD_BURST);
	fprintf(f, "  \"cpu\": \"%s\",\n  \"cpu_id\": %d,\n", cpu, cpu_id);
	fprintf(f, "  \"openssl\": \"%s\",\n", OpenSSL_version(OPENSSL_VERSION));
	fprintf(f, "  \"ipsec_mb\": \"%s\",\n  \"ipsec_mb_arch\": \"%s\",\n",
		imb_get_version_str(), imb_arch);
	fprintf(f, "  \"dpdk\": \"%s\",\n  \"cryptodev\": \"%s\",\n", rte_version(), cdev_note);
	fprintf(f, "  \"rounds\": %u,\n  \"slice_ms\": %.0f,\n", rounds, slice_ms);
	fprintf(f, "  \"unit\": \"MB (1e6 bytes of payload) per CPU-second, median of rounds\",\n");
	fprintf(f, "  \"results\": [\n");
	bool first = true;
	for (unsigned si = 0; si < AEAD_NSIZES; si++)
		for (unsigned k = 0; k < neng; k++)
			for (unsigned op = 0; op < AEAD_NOPS; op++) {
				fprintf(f,
					"%s    {\"size\": %zu, \"engine\": \"%s\", \"op\": \"%s\", "
					"\"mb_per_cpu_s\": %.1f, \"cpu_ns_per_pkt\": %.1f, "
					"\"ratio_vs_evp\": %.3f}",
					first ? "" : ",\n", aead_sizes[si], eng[k].name,
					aead_op_names[op], eng[k].mbps[si][op],
					eng[k].ns_pkt[si][op],
					eng[k].mbps[si][op] / eng[0].mbps[si][op]);
				first = false;
			}
	fprintf(f, "\n  ],\n  \"fastest\": {");
	first = true;
	for (unsigned si = 0; si < AEAD_NSIZES; si++) {
		fprintf(f, "%s\n    \"%zu\": {", first ? "" : ",", aead_sizes[si]);
		for (unsigned op = 0; op < AEAD_NOPS; op++) {
			double r;
			const struct aead_engine *b = fastest(eng, neng, si, op, &r);
			fprintf(f, "%s\"%s\": {\"engine\": \"%s\", \"ratio_vs_evp\": %.3f}",
				op ? ", " : "", aead_op_names[op], b->name, r);
		}
		fprintf(f, "}");
		first = false;
	}
	fprintf(f, "\n  }\n}\n");
	if (fclose(f) != 0)
		return -errno;
	return 0;
}

static void
usage(FILE *f)
{
	fprintf(f, "usage: bench_aead [--rounds N] [--slice-ms MS] [--json FILE] [--no-cryptodev]\n"
		   "  --rounds N      timed slices per (size, engine, op), median reported (5)\n"
		   "  --slice-ms MS   CPU milliseconds per slice (100)\n"
		   "  --json FILE     also write the figures as one JSON object\n"
		   "  --no-cryptodev  skip the EAL and the DPDK cryptodev engines\n");
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "rounds", required_argument, NULL, 'r' },
		{ "slice-ms", required_argument, NULL, 's' },
		{ "json", required_argument, NULL, 'j' },
		{ "no-cryptodev", no_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static struct aead_engine eng[AEAD_MAX_ENG];
	static struct aead_ref ref;
	struct cdev_env env = { 0 };
	unsigned rounds = 5, neng = 0;
	double slice_ms = 100;
	const char *json = NULL;
	bool use_cdev = true;
	char err[256], cpu[128], cdev_note[1024] = "ok";
	IMB_ARCH arch = IMB_ARCH_NONE;
	uint64_t rng = UINT64_C(0x9e3779b97f4a7c15); /* fixed seed: same data every run */
	int o, rc, ret = 2;

	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 'r': rounds = (unsigned)atoi(optarg); break;
		case 's': slice_ms = atof(optarg); break;
		case 'j': json = optarg; break;
		case 'n': use_cdev = false; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (rounds < 1 || rounds > AEAD_MAX_ROUNDS || slice_ms < 1 || slice_ms > 10000) {
		fprintf(stderr, "bench_aead: --rounds 1..%d, --slice-ms 1..10000\n",
			AEAD_MAX_ROUNDS);
		return 2;
	}

	/* One CPU for every engine: pin now (the EAL pins to the same one with -l). */
	int cpu_id = sched_getcpu();
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(cpu_id, &set);
	if (cpu_id < 0 || sched_setaffinity(0, sizeof(set), &set) != 0) {
		perror("bench_aead: pin to one CPU");
		return 2;
	}
	cpu_model(cpu, sizeof(cpu));

	rng_fill(&rng, ref.km.key, sizeof(ref.km.key));
	rng_fill(&rng, ref.km.iv, sizeof(ref.km.iv));
	/* Nonces exactly as crypto.c's make_nonce(): iv XOR big-endian pn in the low 8 bytes;
	 * the cross-check against ferry_wan_aead_seal() proves they agree. */
	for (unsigned i = 0; i < AEAD_BURST; i++) {
		memcpy(ref.nonce[i], ref.km.iv, AEAD_IV);
		for (int b = 0; b < 8; b++)
			ref.nonce[i][AEAD_IV - 1 - b] ^= (uint8_t)((uint64_t)i >> (8 * b));
	}
	if (bufs_alloc(ref.pt, AEAD_BURST) != 0 || bufs_alloc(ref.ct, AEAD_BURST) != 0) {
		fprintf(stderr, "bench_aead: out of memory\n");
		goto out_free;
	}

	/* openssl-evp first: it makes the reference and is the ratio's denominator. */
	if (evp_init(&eng[neng++], &ref, err, sizeof(err)) != 0 ||
	    fw_init(&eng[neng++], &ref, err, sizeof(err)) != 0 ||
	    imb_init(&eng[neng++], &ref, false, &arch, err, sizeof(err)) != 0 ||
	    imb_init(&eng[neng++], &ref, true, &arch, err, sizeof(err)) != 0) {
		fprintf(stderr, "bench_aead: %s\n", err);
		goto out_free;
	}
	if (!use_cdev) {
		snprintf(cdev_note, sizeof(cdev_note), "skipped (--no-cryptodev)");
	} else if (cdev_env_init(&env, argv[0], cpu_id, err, sizeof(err)) != 0) {
		snprintf(cdev_note, sizeof(cdev_note), "skipped: %s", err);
	} else {
		static const char *const vdev[][2] = { { "crypto_aesni_gcm0", "aesni_gcm" },
						       { "crypto_aesni_mb0", "aesni_mb" },
						       { "crypto_openssl0", "openssl" } };
		cdev_note[0] = '\0';
		for (unsigned v = 0; v < 3; v++) {
			struct aead_engine *e = &eng[neng];
			e->ref = &ref;
			if (cdev_init(e, &env, vdev[v][0], vdev[v][1], &ref, err, sizeof(err)) !=
			    0) {
				/* A missing PMD costs its column, not the run. */
				fprintf(stderr, "bench_aead: %s: skipped\n", err);
				size_t n = strlen(cdev_note);
				snprintf(cdev_note + n, sizeof(cdev_note) - n, "%s%s", n ? "; " : "",
					 err);
				cdev_fini(e);
				memset(e, 0, sizeof(*e));
				continue;
			}
			neng++;
		}
		if (cdev_note[0] == '\0')
			snprintf(cdev_note, sizeof(cdev_note), "ok");
	}
	for (unsigned k = 0; k < neng; k++)
		eng[k].ref = &ref;

	printf("bench_aead: AES-256-GCM, %d-byte AAD, %d-byte tag, bursts of %d, one core\n",
	       AEAD_AAD_LEN, AEAD_TAG, AEAD_BURST);
	printf("cpu: %s (cpu %d, pinned)\n", cpu, cpu_id);
	printf("openssl: %s; ipsec-mb: %s (%s); dpdk: %s; cryptodev: %s\n",
	       OpenSSL_version(OPENSSL_VERSION), imb_get_version_str(), imb_arch_name(arch),
	       rte_version(), cdev_note);
	printf("clock: CLOCK_PROCESS_CPUTIME_ID; median of %u slices of %.0f ms per cell; "
	       "MB = 1e6 payload bytes\n\n", rounds, slice_ms);

	ret = 1;
	for (unsigned si = 0; si < AEAD_NSIZES; si++) {
		size_t len = aead_sizes[si];

		if ((rc = ref_build(&ref, &eng[0], len, &rng)) != 0) {
			fprintf(stderr, "bench_aead: openssl-evp reference %zu B: %s\n", len,
				strerror(-rc));
			goto out_free;
		}
		for (unsigned k = 0; k < neng; k++) {
			if (engine_check(&eng[k], &ref, len, err, sizeof(err)) != 0) {
				fprintf(stderr, "bench_aead: MISMATCH: %s\n", err);
				goto out_free;
			}
		}
		/* Round 0 warms caches and branch predictors and is thrown away. */
		for (unsigned r = 0; r <= rounds; r++) {
			for (unsigned k = 0; k < neng; k++) {
				for (unsigned op = 0; op < AEAD_NOPS; op++) {
					double v;
					rc = engine_slice(&eng[k], &ref, len, op, slice_ms / 1e3,
							  &v);
					if (rc != 0) {
						fprintf(stderr, "bench_aead: %s %s %zu B: %s\n",
							eng[k].name, aead_op_names[op], len,
							strerror(-rc));
						goto out_free;
					}
					if (r > 0)
						eng[k].samples[r - 1][op] = v;
				}
			}
		}
		for (unsigned k = 0; k < neng; k++) {
			for (unsigned op = 0; op < AEAD_NOPS; op++) {
				double v[AEAD_MAX_ROUNDS];
				for (unsigned r = 0; r < rounds; r++)
					v[r] = eng[k].samples[r][op];
				eng[k].mbps[si][op] = bench_median(v, rounds);
				eng[k].ns_pkt[si][op] = (double)len * 1e3 / eng[k].mbps[si][op];
			}
		}
	}

	printf("%6s  %-15s %-5s %12s %12s %8s\n", "size", "engine", "op", "MB/CPU-s", "CPU ns/pkt",
	       "vs EVP");
	for (unsigned si = 0; si < AEAD_NSIZES; si++) {
		for (unsigned op = 0; op < AEAD_NOPS; op++)
			for (unsigned k = 0; k < neng; k++)
				printf("%6zu  %-15s %-5s %12.1f %12.1f %7.2fx\n", aead_sizes[si],
				       eng[k].name, aead_op_names[op], eng[k].mbps[si][op],
				       eng[k].ns_pkt[si][op],
				       eng[k].mbps[si][op] / eng[0].mbps[si][op]);
		printf("\n");
	}
	printf("fastest:");
	for (unsigned si = 0; si < AEAD_NSIZES; si++) {
		if (aead_sizes[si] != 1400 && aead_sizes[si] != 8900)
			continue;
		printf("%s %zu B:", aead_sizes[si] == 8900 ? ";" : "", aead_sizes[si]);
		for (unsigned op = 0; op < AEAD_NOPS; op++) {
			double r;
			const struct aead_engine *b = fastest(eng, neng, si, op, &r);
			printf("%s %s %s (%.2fx EVP)", op ? "," : "", aead_op_names[op], b->name, r);
		}
	}
	printf("\n");

	if (json != NULL &&
	    (rc = json_write(json, eng, neng, cpu, cpu_id, imb_arch_name(arch), rounds, slice_ms,
			     cdev_note)) != 0) {
		fprintf(stderr, "bench_aead: %s: %s\n", json, strerror(-rc));
		ret = 2;
		goto out_free;
	}
	ret = 0;

out_free:
	for (unsigned k = 0; k < neng; k++)
		if (eng[k].ops != NULL && eng[k].ops->fini != NULL)
			eng[k].ops->fini(&eng[k]);
	bufs_free(ref.pt, AEAD_BURST);
	bufs_free(ref.ct, AEAD_BURST);
	OPENSSL_cleanse(&ref.km, sizeof(ref.km));
	if (env.up)
		rte_eal_cleanup();
	return ret;
}
