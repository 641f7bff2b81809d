/*
 * bench_ceilings.c - the physical ceilings of issue 8, measured in the same run as the figures
 * they bound: what one core of this machine can do at best to the bytes a gateway moves.
 *
 *   memcpy          copy of an out-of-cache buffer (the floor of anything that reads and
 *                   writes every byte);
 *   crc32c          ISA-L crc32_iscsi over it (every Kafka batch is checksummed);
 *   lz4_decompress  LZ4_decompress_safe of 64 KiB blocks compressed from the same bytes
 *                   (figure: decompressed bytes per second);
 *   zstd_decompress ZSTD_decompressDCtx of the same blocks compressed at level 3;
 *   aes256gcm       AES-256-GCM seal of 1500-byte packets (fresh IV, 16-byte tag each): what
 *                   encrypting the WAN costs at best. Through intel-ipsec-mb's direct API when
 *                   built with it (the fastest engine here, which the WAN layer uses too:
 *                   bench_aead), else OpenSSL EVP; the JSON names which.
 * The bytes are ferry-loadgen trading records (JSON values back to back), so the codecs see
 * the compressibility they will see in production. DPDK packet forwarding is bench_nullfwd's.
 *
 * Each round runs every kernel once over the working set, in an order rotated between rounds;
 * medians of the per-round GB/s are reported. Output: a table, or one JSON object (--json).
 * Single-threaded. Exit: 0; 2 on a usage or set-up error.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <isa-l/crc.h>
#include <lz4.h>
#include <openssl/evp.h>
#include <zstd.h>
#ifdef FERRY_CEIL_IPSEC_MB
#include <intel-ipsec-mb.h>
#define AES_ENGINE "intel-ipsec-mb"
#else
#define AES_ENGINE "openssl-evp"
#endif

#include "bench_clock.h"
#include "gen.h"

#define MIB         ((size_t)1 << 20)
#define BLOCK_BYTES (64 * 1024) /* codec block: a typical producer batch */
#define PKT_BYTES   1500
#define MAX_ROUNDS  101

enum { K_MEMCPY, K_CRC, K_LZ4, K_ZSTD, K_AES, K__N };

static const char *const kernel_names[K__N] = { "memcpy", "crc32c", "lz4_decompress",
						"zstd_decompress", "aes256gcm" };

struct ceil_ws {
	uint8_t *src, *dst;
	size_t len;
	size_t n_blocks;
	uint8_t *lz4, *zst;     /* compressed blocks, BLOCK_BYTES apart in capacity */
	size_t *lz4_len, *zst_len;
	size_t lz4_cap, zst_cap;
	ZSTD_DCtx *dctx;
	EVP_CIPHER_CTX *ectx;
#ifdef FERRY_CEIL_IPSEC_MB
	IMB_MGR *imb;
	struct gcm_key_data *gkey;     /* 64-byte aligned: the library's AVX512 code needs it */
	struct gcm_context_data *gctx; /* likewise */
#endif
	uint8_t key[32];
	uint64_t sink;
	double ratio_lz4, ratio_zstd;
};

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * UINT64_C(1000000000) + (uint64_t)ts.tv_nsec;
}

/* Fill ws->src with generated record values; 0 or -1 with a message in err. */
static int
fill_records(struct ceil_ws *ws, char *err, size_t errlen)
{
	struct ferry_gen g;
	struct ferry_gen_conf gc;
	size_t pos = 0;

	ferry_gen_conf_default(&gc);
	gc.seed = 8;
	gc.min_size = 100;
	gc.max_size = 2048;
	if (ferry_gen_init(&g, &gc, err, errlen) != 0)
		return -1;
	size_t cap = ferry_gen_buf_size(&g);
	uint8_t *buf = malloc(cap);
	if (buf == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	while (pos < ws->len) {
		struct ferry_gen_rec r;
		size_t n;

		if (ferry_gen_next(&g, buf, cap, &r) != 0) {
			snprintf(err, errlen, "loadgen generator failed");
			free(buf);
			return -1;
		}
		n = r.value.len < ws->len - pos ? r.value.len : ws->len - pos;
		memcpy(ws->src + pos, r.value.p, n);
		pos += n;
	}
	free(buf);
	return 0;
}

static int
ws_build(struct ceil_ws *ws, size_t mib, char *err, size_t errlen)
{
	size_t comp_lz4, comp_zst = 0;

	ws->len = mib * MIB;
	ws->n_blocks = ws->len / BLOCK_BYTES;
	ws->lz4_cap = (size_t)LZ4_compressBound(BLOCK_BYTES);
	ws->zst_cap = ZSTD_compressBound(BLOCK_BYTES);
	ws->src = malloc(ws->len);
	ws->dst = malloc(ws->len);
	ws->lz4 = malloc(ws->n_blocks * ws->lz4_cap);
	ws->zst = malloc(ws->n_blocks * ws->zst_cap);
	ws->lz4_len = calloc(ws->n_blocks, sizeof(size_t));
	ws->zst_len = calloc(ws->n_blocks, sizeof(size_t));
	ws->dctx = ZSTD_createDCtx();
	ws->ectx = EVP_CIPHER_CTX_new();
	if (!ws->src || !ws->dst || !ws->lz4 || !ws->zst || !ws->lz4_len || !ws->zst_len ||
	    !ws->dctx || !ws->ectx) {
		snprintf(err, errlen, "out of memory for a %zu MiB working set", mib);
		return -1;
	}
	if (fill_records(ws, err, errlen) != 0)
		return -1;
	memset(ws->dst, 0, ws->len); /* fault every page in before timing */
	comp_lz4 = 0;
	for (size_t i = 0; i < ws->n_blocks; i++) {
		const char *in = (const char *)ws->src + i * BLOCK_BYTES;
		int n = LZ4_compress_default(in, (char *)ws->lz4 + i * ws->lz4_cap, BLOCK_BYTES,
					     (int)ws->lz4_cap);
		size_t z = ZSTD_compress(ws->zst + i * ws->zst_cap, ws->zst_cap, in, BLOCK_BYTES, 3);

		if (n <= 0 || ZSTD_isError(z)) {
			snprintf(err, errlen, "block %zu: compression failed", i);
			return -1;
		}
		ws->lz4_len[i] = (size_t)n;
		ws->zst_len[i] = z;
		comp_lz4 += (size_t)n;
		comp_zst += z;
	}
	ws->ratio_lz4 = (double)(ws->n_blocks * BLOCK_BYTES) / (double)comp_lz4;
	ws->ratio_zstd = (double)(ws->n_blocks * BLOCK_BYTES) / (double)comp_zst;
	for (size_t i = 0; i < sizeof(ws->key); i++)
		ws->key[i] = (uint8_t)(i * 37 + 11);
	if (EVP_EncryptInit_ex(ws->ectx, EVP_aes_256_gcm(), NULL, ws->key, NULL) != 1) {
		snprintf(err, errlen, "EVP AES-256-GCM init failed");
		return -1;
	}
#ifdef FERRY_CEIL_IPSEC_MB
	ws->imb = alloc_mb_mgr(0);
	ws->gkey = aligned_alloc(64, (sizeof(*ws->gkey) + 63) & ~(size_t)63);
	ws->gctx = aligned_alloc(64, (sizeof(*ws->gctx) + 63) & ~(size_t)63);
	if (ws->imb == NULL || ws->gkey == NULL || ws->gctx == NULL) {
		snprintf(err, errlen, "intel-ipsec-mb: out of memory");
		return -1;
	}
	init_mb_mgr_auto(ws->imb, NULL);
	IMB_AES256_GCM_PRE(ws->imb, ws->key, ws->gkey);
#endif
	return 0;
}

static void
ws_free(struct ceil_ws *ws)
{
	free(ws->src);
	free(ws->dst);
	free(ws->lz4);
	free(ws->zst);
	free(ws->lz4_len);
	free(ws->zst_len);
	ZSTD_freeDCtx(ws->dctx);
	EVP_CIPHER_CTX_free(ws->ectx);
#ifdef FERRY_CEIL_IPSEC_MB
	free_mb_mgr(ws->imb);
	free(ws->gkey);
	free(ws->gctx);
#endif
}

/* ---- kernels: each returns the bytes it produced (or consumed), -1 on failure ---------------- */

static int64_t
k_memcpy(struct ceil_ws *ws)
{
	memcpy(ws->dst, ws->src, ws->len);
	ws->sink += ws->dst[ws->len / 3];
	return (int64_t)ws->len;
}

static int64_t
k_crc(struct ceil_ws *ws)
{
	/* 1 MiB calls: the size of a Fetch response, and well inside crc32_iscsi's int length. */
	uint32_t crc = 0;

	for (size_t off = 0; off < ws->len; off += MIB) {
		size_t n = ws->len - off < MIB ? ws->len - off : MIB;
		crc ^= crc32_iscsi(ws->src + off, (int)n, 0xffffffffu);
	}
	ws->sink += crc;
	return (int64_t)ws->len;
}

static int64_t
k_lz4(struct ceil_ws *ws)
{
	for (size_t i = 0; i < ws->n_blocks; i++) {
		int n = LZ4_decompress_safe((const char *)ws->lz4 + i * ws->lz4_cap,
					    (char *)ws->dst + i * BLOCK_BYTES, (int)ws->lz4_len[i],
					    BLOCK_BYTES);
		if (n != BLOCK_BYTES)
			return -1;
	}
	return (int64_t)(ws->n_blocks * BLOCK_BYTES);
}

static int64_t
k_zstd(struct ceil_ws *ws)
{
	for (size_t i = 0; i < ws->n_blocks; i++) {
		size_t n = ZSTD_decompressDCtx(ws->dctx, ws->dst + i * BLOCK_BYTES, BLOCK_BYTES,
					       ws->zst + i * ws->zst_cap, ws->zst_len[i]);
		if (ZSTD_isError(n) || n != BLOCK_BYTES)
			return -1;
	}
	return (int64_t)(ws->n_blocks * BLOCK_BYTES);
}

static int64_t
k_aes(struct ceil_ws *ws)
{
	/* One seal per packet as a WAN sender does it: new IV (a counter), AAD-free, 16-byte tag
	 * written after the ciphertext. */
	uint8_t iv[12] = { 0 }, tag[16];
	size_t n_pkts = ws->len / PKT_BYTES;
	int len;

	for (size_t i = 0; i < n_pkts; i++) {
		uint8_t *out = ws->dst + i * PKT_BYTES;

		memcpy(iv + 4, &i, sizeof(i));
#ifdef FERRY_CEIL_IPSEC_MB
		IMB_AES256_GCM_ENC(ws->imb, ws->gkey, ws->gctx, out, ws->src + i * PKT_BYTES,
				   PKT_BYTES, iv, NULL, 0, tag, sizeof(tag));
		(void)len;
#else
		if (EVP_EncryptInit_ex(ws->ectx, NULL, NULL, NULL, iv) != 1 ||
		    EVP_EncryptUpdate(ws->ectx, out, &len, ws->src + i * PKT_BYTES, PKT_BYTES) != 1 ||
		    EVP_EncryptFinal_ex(ws->ectx, out + len, &len) != 1 ||
		    EVP_CIPHER_CTX_ctrl(ws->ectx, EVP_CTRL_GCM_GET_TAG, sizeof(tag), tag) != 1)
			return -1;
#endif
		ws->sink += tag[0];
	}
	return (int64_t)(n_pkts * PKT_BYTES);
}

static void
usage(FILE *f)
{
	fprintf(f, "usage: bench_ceilings [--mib N] [--rounds N] [--json]\n"
		   "  --mib N     working set in MiB (default 64: out of cache)\n"
		   "  --rounds N  rounds, medians reported (default 7)\n"
		   "  --json      one JSON object: GB/s per kernel\n");
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "mib", required_argument, NULL, 'm' },
		{ "rounds", required_argument, NULL, 'r' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int64_t (*const kern[K__N])(struct ceil_ws *) = { k_memcpy, k_crc, k_lz4, k_zstd, k_aes };
	static double gbps[K__N][MAX_ROUNDS];
	struct ceil_ws ws = { 0 };
	size_t mib = 64, rounds = 7;
	bool json = false;
	char err[256];
	int o, status = 2;

	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		char *end = NULL;
		unsigned long v = 0;

		switch (o) {
		case 'j': json = true; continue;
		case 'h': usage(stdout); return 0;
		case 'm':
		case 'r':
			errno = 0;
			v = strtoul(optarg, &end, 10);
			if (errno || end == optarg || *end != '\0' || v < 1 ||
			    v > (o == 'm' ? 4096 : MAX_ROUNDS)) {
				fprintf(stderr, "bench_ceilings: bad value '%s'\n", optarg);
				return 2;
			}
			*(o == 'm' ? &mib : &rounds) = v;
			continue;
		default: usage(stderr); return 2;
		}
	}
	if (ws_build(&ws, mib, err, sizeof(err)) != 0)
		goto out;

	for (int k = 0; k < K__N; k++)
		if (kern[k](&ws) < 0) { /* warm-up, and a check that every kernel works */
			snprintf(err, sizeof(err), "%s failed", kernel_names[k]);
			goto out;
		}
	for (size_t r = 0; r < rounds; r++)
		for (int kk = 0; kk < K__N; kk++) {
			int k = (kk + (int)r) % K__N;
			uint64_t t0 = now_ns();
			int64_t bytes = kern[k](&ws);
			uint64_t dt = now_ns() - t0;

			if (bytes < 0) {
				snprintf(err, sizeof(err), "%s failed", kernel_names[k]);
				goto out;
			}
			gbps[k][r] = (double)bytes / (double)(dt ? dt : 1);
		}
	double med[K__N];
	for (int k = 0; k < K__N; k++) {
		med[k] = bench_median(gbps[k], (unsigned)rounds);
	}
	if (json) {
		printf("{\"tool\":\"bench_ceilings\",\"mib\":%zu,\"rounds\":%zu,\"unit\":\"GB/s\"", mib,
		       rounds);
		for (int k = 0; k < K__N; k++)
			printf(",\"%s\":%.4f", kernel_names[k], med[k]);
		printf(",\"lz4_ratio\":%.3f,\"zstd_ratio\":%.3f,\"block_bytes\":%d,"
		       "\"packet_bytes\":%d,\"aes_engine\":\"%s\",\"sink\":%" PRIu64 "}\n",
		       ws.ratio_lz4, ws.ratio_zstd, BLOCK_BYTES, PKT_BYTES, AES_ENGINE, ws.sink % 10);
	} else {
		printf("bench_ceilings: %zu MiB of loadgen record values, %zu rounds, medians "
		       "(lz4 ratio %.2f, zstd-3 ratio %.2f on %d KiB blocks)\n",
		       mib, rounds, ws.ratio_lz4, ws.ratio_zstd, BLOCK_BYTES / 1024);
		for (int k = 0; k < K__N; k++)
			printf("  %-16s %8.2f GB/s%s\n", kernel_names[k], med[k],
			       k == K_AES ? " (" AES_ENGINE ")" : "");
	}
	status = 0;
out:
	if (status != 0)
		fprintf(stderr, "bench_ceilings: %s\n", err);
	ws_free(&ws);
	return status;
}
