/*
 * gen.h - ferry-loadgen's record generator: synthetic trading data (trades, orders,
 * positions/risk rows, client records) as JSON or as compact binary (protobuf in the
 * Confluent wire format), with a configurable share of records carrying PII that is
 * valid by its own rules (Luhn card numbers, mod-97 IBANs, NRIC/My Number check
 * characters, ...), and the ground truth of where each PII item sits in the value.
 *
 * Threads: a struct ferry_gen is owned by one thread. Records are a pure function of
 * (conf, seq): the same configuration gives the same bytes on any machine, and
 * ferry_gen_record() can produce record N without producing 0..N-1 (several threads
 * can each generate a share of one stream).
 *
 * Memory: nothing is allocated. ferry_gen_init() fills the caller's struct;
 * ferry_gen_next() writes key, value and header values into a caller buffer of
 * ferry_gen_buf_size() bytes and returns spans into it. No librdkafka here: the
 * library only needs libc and the public ferry headers.
 */
#ifndef FERRY_LOADGEN_GEN_H
#define FERRY_LOADGEN_GEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ferry/kafka-t.h"

/* Record kinds; the CLI and --kinds use the names in ferry_gen_kind_name(). */
enum ferry_gen_kind {
	FERRY_GEN_TRADE,
	FERRY_GEN_ORDER,
	FERRY_GEN_RISK,
	FERRY_GEN_CLIENT,
	FERRY_GEN_KIND_COUNT,
};

enum ferry_gen_format {
	FERRY_GEN_FMT_JSON,   /* one JSON object, ASCII except a few UTF-8 names */
	FERRY_GEN_FMT_BINARY, /* 0x00, schema id (BE32), message index 0, protobuf fields */
};

enum ferry_gen_keymode {
	FERRY_GEN_KEY_INSTRUMENT, /* ISIN; client records (no instrument) use the account */
	FERRY_GEN_KEY_ACCOUNT,    /* "AC-0012345" */
	FERRY_GEN_KEY_NONE,       /* null key */
};

/* PII kinds: name, short label used in summaries and ground-truth files. */
#define FERRY_GEN_FOREACH_PII(_)                                                                   \
	_(CARD, "card") /* Visa/Mastercard/Amex, valid Luhn */                                     \
	_(IBAN, "iban") /* 10 countries, per-country length, mod-97 check digits */                \
	_(EMAIL, "email")                                                                          \
	_(PHONE, "phone")       /* UK/US/SG/JP, E.164 or national format */                        \
	_(SSN, "ssn")           /* US, valid area/group/serial */                                  \
	_(NINO, "nino")         /* UK National Insurance number, valid prefix letters */           \
	_(NRIC, "nric")         /* Singapore NRIC/FIN (S/T/F/G/M), valid check letter */           \
	_(MYNUMBER, "mynumber") /* Japan, 12 digits, valid check digit */                          \
	_(BIC, "bic")           /* SWIFT/BIC, 8 or 11 characters */                                \
	_(NAME, "name")         /* a person's name (client records, free text) */

enum ferry_gen_pii_kind {
#define FERRY_GEN_PII_ENUM(n, s) FERRY_GEN_PII_##n,
	FERRY_GEN_FOREACH_PII(FERRY_GEN_PII_ENUM)
#undef FERRY_GEN_PII_ENUM
	    FERRY_GEN_PII_COUNT,
};

/* How a PII item is written (ground truth, so detectors can be scored per format). */
enum ferry_gen_pii_style {
	FERRY_GEN_STYLE_PLAIN,    /* compact: 4111111111111111, GB82WEST..., +447911123456 */
	FERRY_GEN_STYLE_SPACED,   /* groups separated by spaces: 4111 1111 ..., +44 7911 123456 */
	FERRY_GEN_STYLE_DASHED,   /* groups separated by dashes: 4111-1111-..., 123-45-6789 */
	FERRY_GEN_STYLE_NATIONAL, /* phone in national format: 07911 123456, (212) 555-0147 */
};

/* Smallest and largest value size a configuration may ask for (bytes). */
#define FERRY_GEN_MIN_SIZE 100
#define FERRY_GEN_MAX_SIZE (512u * 1024u)

/* Event time advances 1 ms per record; this keeps 10^12 records inside year 9999. */
#define FERRY_GEN_MAX_START_MS INT64_C(252402300799000)

#define FERRY_GEN_MAX_PII     12
#define FERRY_GEN_MAX_HEADERS 3

/* One PII item inserted into a record value: value[off .. off + len) is its text. */
struct ferry_gen_pii {
	uint8_t kind;  /* enum ferry_gen_pii_kind */
	uint8_t style; /* enum ferry_gen_pii_style */
	bool in_text;  /* inside the free-text "notes" field, not a field of its own */
	char
	    country[3]; /* ISO 3166 alpha-2 where it has one (IBAN, phone, national ids), else "" */
	uint32_t off;
	uint32_t len;
};

/*
 * One generated record. Key, value and header values point into the buffer given to
 * ferry_gen_next() (value first, then key, then header values: 'used' bytes in all);
 * header names are static strings.
 */
struct ferry_gen_rec {
	uint64_t seq;
	int kind;              /* enum ferry_gen_kind */
	int64_t timestamp;     /* event time, ms since the epoch (deterministic, not wall clock) */
	struct ferry_span key; /* p == NULL: null key */
	struct ferry_span value;
	uint32_t n_headers;
	struct ferry_kafka_header headers[FERRY_GEN_MAX_HEADERS];
	size_t used; /* bytes of the caller's buffer this record occupies */
	/* Ground truth: every PII item in the value, sorted by offset. Keys and headers
	 * never carry PII. */
	uint32_t n_pii;
	uint32_t pii_mask; /* bit (1u << kind) for each kind present */
	struct ferry_gen_pii pii[FERRY_GEN_MAX_PII];
};

struct ferry_gen_conf {
	uint64_t seed;
	unsigned kind_weight[FERRY_GEN_KIND_COUNT]; /* relative weights; 0 = kind not generated */
	int format;                                 /* enum ferry_gen_format */
	uint32_t min_size, max_size; /* value size, inclusive; log-uniform between them */
	double pii_share;            /* probability that a record carries PII, 0..1 */
	int key_mode;                /* enum ferry_gen_keymode */
	bool headers;                /* traceparent, source, content-type */
	int64_t start_ms;            /* event time of record 0 (ms since the epoch) */
	uint32_t n_instruments;      /* instrument universe (keys by instrument) */
	uint32_t n_accounts;         /* account universe (keys by account) */
};

struct ferry_gen_stats {
	uint64_t records;
	uint64_t by_kind[FERRY_GEN_KIND_COUNT];
	uint64_t key_bytes, value_bytes, header_bytes;
	uint32_t value_min, value_max;
	uint64_t pii_records;
	uint64_t pii_items[FERRY_GEN_PII_COUNT];
};

/* Generator state: the validated configuration, the next sequence number and counters. */
struct ferry_gen {
	struct ferry_gen_conf conf;
	uint64_t seq;
	unsigned weight_total;
	uint64_t pii_threshold; /* a record carries PII when its draw is below this */
	struct ferry_gen_stats st;
};

/*
 * Defaults: seed 1, trade/order/risk/client weighted 40/35/15/10, JSON, values
 * 100..4096 bytes, 1 % PII, keys by instrument, headers on, event time from
 * 2024-03-14T08:00:00Z, 500 instruments, 100000 accounts.
 */
void ferry_gen_conf_default(struct ferry_gen_conf *conf);

/*
 * Check conf and set up g. Rejects sizes outside FERRY_GEN_MIN_SIZE..FERRY_GEN_MAX_SIZE
 * or min > max, a PII share outside 0..1 (or NaN), all kind weights 0, unknown
 * format or key mode, a start time outside 0..FERRY_GEN_MAX_START_MS, and empty
 * or oversized universes (instruments 1..10^6, accounts 1..9999999).
 * @return 0, or -EINVAL with a message naming the bad field in err.
 */
int ferry_gen_init(struct ferry_gen *g, const struct ferry_gen_conf *conf, char *err,
		   size_t errlen);

/* Bytes a buffer given to ferry_gen_next() / ferry_gen_record() must have. */
size_t ferry_gen_buf_size(const struct ferry_gen *g);

/*
 * Generate record g->seq into buf[0 .. cap) and advance. The value comes first in
 * buf, then the key and the header values; r's spans point there. Updates g->st.
 * @locality the thread that owns g.
 * @return 0, or FERRY_ERR__NOSPACE if cap < ferry_gen_buf_size(g) (nothing written).
 */
int ferry_gen_next(struct ferry_gen *g, uint8_t *buf, size_t cap, struct ferry_gen_rec *r);

/* Record number seq, as ferry_gen_next() would produce it; g is not changed. */
int ferry_gen_record(const struct ferry_gen *g, uint64_t seq, uint8_t *buf, size_t cap,
		     struct ferry_gen_rec *r);

/* Names: "trade", "order", "risk", "client"; "card", "iban", ...; "plain", "spaced", ... */
const char *ferry_gen_kind_name(int kind);
int ferry_gen_kind_from_name(const char *name, size_t len);
const char *ferry_gen_pii_name(int kind);
const char *ferry_gen_style_name(int style);

/*
 * Parse a kind list, "trade,order" (equal weights) or "trade:5,order:3,client:1",
 * into weights[FERRY_GEN_KIND_COUNT] (unlisted kinds get 0).
 * @return 0, or -EINVAL with a message in err (unknown kind, bad weight, repeats).
 */
int ferry_gen_parse_kinds(const char *spec, unsigned weights[FERRY_GEN_KIND_COUNT], char *err,
			  size_t errlen);

#endif /* FERRY_LOADGEN_GEN_H */
