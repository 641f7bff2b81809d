/*
 * test_conf.c - ferry's configuration (control/conf.c, include/ferry/conf.h):
 *   - java.util.Properties syntax: separators, comments, every escape, continuations, line
 *     endings, empty values, duplicates, and the errors Java itself raises;
 *   - every diagnostic kind, with its line, key and hint;
 *   - MM2 precedence (SRC->DST.KEY over KEY over the default) and the table defaults;
 *   - librdkafka property lists: Java names translated, JAAS parsed, levels overriding.
 * Everything runs on in-memory buffers; no files, no network.
 */
#include <errno.h>

#include "testutil.h"

#include "ferry/conf.h"

static char errbuf[1024];

static struct ferry_conf *
load_flags(const char *text, unsigned flags, int *rc)
{
	struct ferry_conf *c = NULL;
	*rc = ferry_conf_load_buf("t.properties", text, strlen(text), flags, &c, errbuf,
				  sizeof(errbuf));
	assert_non_null(c);
	return c;
}

/* Load with the two clusters most tests need already declared (lines 1-3). */
#define BASE                                                                                       \
	"clusters = a, b\n"                                                                        \
	"a.bootstrap.servers = a1:9092\n"                                                          \
	"b.bootstrap.servers = b1:9092\n"

static struct ferry_conf *
load(const char *text)
{
	int rc;
	return load_flags(text, 0, &rc);
}

/* Is there a diagnostic of this severity on 'line' for 'key' whose message contains 'msg'
 * (and whose hint contains 'hint', when given)? */
static bool
has_diag(const struct ferry_conf *c, enum ferry_conf_sev sev, unsigned line, const char *key,
	 const char *msg, const char *hint)
{
	size_t n;
	const struct ferry_conf_diag *d = ferry_conf_diags(c, &n);
	for (size_t i = 0; i < n; i++)
		if (d[i].sev == sev && d[i].line == line && strcmp(d[i].key, key) == 0 &&
		    strstr(d[i].msg, msg) != NULL &&
		    (hint == NULL || (d[i].hint && strstr(d[i].hint, hint) != NULL)))
			return true;
	for (size_t i = 0; i < n; i++)
		print_message("  have: %u %s %s: %s (%s)\n", d[i].line,
			      d[i].sev == FERRY_CONF_ERROR ? "error" : "warning", d[i].key,
			      d[i].msg, d[i].hint ? d[i].hint : "");
	return false;
}

static const char *
prop(const struct ferry_conf *c, const char *key)
{
	return ferry_conf_prop_get(c, key, NULL);
}

static unsigned
prop_line(const struct ferry_conf *c, const char *key)
{
	unsigned line = 0;
	assert_non_null(ferry_conf_prop_get(c, key, &line));
	return line;
}

/* ---- properties syntax ----------------------------------------------------------------- */

static void
test_separators(void **state)
{
	(void)state;
	struct ferry_conf *c =
	    load("k1=v1\n"
		 "k2:v2\n"
		 "k3 v3\n"
		 "k4\tv4\n"
		 "k5 = v5\n"
		 "k6 : = v6\n"    /* whitespace, one ':' , whitespace: "= v6" is left */
		 "k7 = = v7\n"    /* one '=' is the separator; the second is value */
		 "   k8=  v8  \n" /* leading whitespace dropped, trailing kept */
		 "k9\n"           /* no value */
		 "k10 =\n"        /* empty value */
		 "k11=a=b:c\n"
		 "\f k12 v12\n");
	assert_string_equal(prop(c, "k1"), "v1");
	assert_string_equal(prop(c, "k2"), "v2");
	assert_string_equal(prop(c, "k3"), "v3");
	assert_string_equal(prop(c, "k4"), "v4");
	assert_string_equal(prop(c, "k5"), "v5");
	assert_string_equal(prop(c, "k6"), "= v6");
	assert_string_equal(prop(c, "k7"), "= v7");
	assert_string_equal(prop(c, "k8"), "v8  ");
	assert_string_equal(prop(c, "k9"), "");
	assert_string_equal(prop(c, "k10"), "");
	assert_string_equal(prop(c, "k11"), "a=b:c");
	assert_string_equal(prop(c, "k12"), "v12");
	size_t n;
	ferry_conf_props(c, &n);
	assert_int_equal(n, 12);
	ferry_conf_free(c);
}

static void
test_escapes(void **state)
{
	(void)state;
	struct ferry_conf *c = load("tab=a\\tb\n"
				    "nl=a\\nb\n"
				    "cr=a\\rb\n"
				    "ff=a\\fb\n"
				    "u=\\u0041\\u00e9\\u20AC\n"
				    "pair=\\uD83D\\uDE00\n"
				    "other=\\q\\#\\!\\=\\:\\ x\n"
				    "bs=a\\\\b\n"
				    "key\\ with\\ spaces = v1\n"
				    "a\\=b = v2\n"
				    "a\\:b:v3\n"
				    "\\#notcomment = v4\n"
				    "k\\u0041 = v5\n");
	assert_string_equal(prop(c, "tab"), "a\tb");
	assert_string_equal(prop(c, "nl"), "a\nb");
	assert_string_equal(prop(c, "cr"), "a\rb");
	assert_string_equal(prop(c, "ff"), "a\fb");
	assert_string_equal(prop(c, "u"), "A\xc3\xa9\xe2\x82\xac");
	assert_string_equal(prop(c, "pair"), "\xf0\x9f\x98\x80");
	assert_string_equal(prop(c, "other"), "q#!=: x");
	assert_string_equal(prop(c, "bs"), "a\\b");
	assert_string_equal(prop(c, "key with spaces"), "v1");
	assert_string_equal(prop(c, "a=b"), "v2");
	assert_string_equal(prop(c, "a:b"), "v3");
	assert_string_equal(prop(c, "#notcomment"), "v4");
	assert_string_equal(prop(c, "kA"), "v5");
	ferry_conf_free(c);
}

static void
test_continuation(void **state)
{
	(void)state;
	struct ferry_conf *c = load("list = a, \\\n"    /* 1 */
				    "       b, \\\n"    /* 2: leading whitespace dropped */
				    "\t\tc\n"           /* 3 */
				    "after = 1\n"       /* 4 */
				    "hash = x\\\n"      /* 5 */
				    "# not a comment\n" /* 6: continued, so literal */
				    "# comment \\\n"    /* 7: comments do not continue */
				    "next = 2\n"        /* 8 */
				    "even = a\\\\\n"    /* 9: even backslashes: no continuation */
				    "stop = x\\\n"      /* 10 */
				    "\n"                /* 11: an empty line ends it */
				    "last = 3\n"        /* 12 */
				    "key\\\n"           /* 13: continuation inside the key */
				    "  part = 4\n"      /* 14 */
				    "eof = tail\\");    /* 15: dangling backslash at end of input */
	assert_string_equal(prop(c, "list"), "a, b, c");
	assert_int_equal(prop_line(c, "list"), 1);
	assert_int_equal(prop_line(c, "after"), 4);
	assert_string_equal(prop(c, "hash"), "x# not a comment");
	assert_int_equal(prop_line(c, "next"), 8);
	assert_string_equal(prop(c, "even"), "a\\");
	assert_string_equal(prop(c, "stop"), "x");
	assert_int_equal(prop_line(c, "last"), 12);
	assert_string_equal(prop(c, "keypart"), "4");
	assert_int_equal(prop_line(c, "keypart"), 13);
	assert_string_equal(prop(c, "eof"), "tail");
	assert_null(prop(c, "#"));
	ferry_conf_free(c);
}

static void
test_comments_and_line_endings(void **state)
{
	(void)state;
	struct ferry_conf *c = load("# hash comment\r\n"        /* 1 */
				    "! bang comment\r\n"        /* 2 */
				    "   # indented\r"           /* 3 (CR only) */
				    "a = 1\r\n"                 /* 4 */
				    "\r\n"                      /* 5 */
				    "   \t \n"                  /* 6 */
				    "b = 2\\\r\n"               /* 7: CRLF continuation */
				    "  3\r"                     /* 8 */
				    "c = x # not a comment\n"); /* 9 */
	assert_string_equal(prop(c, "a"), "1");
	assert_int_equal(prop_line(c, "a"), 4);
	assert_string_equal(prop(c, "b"), "23");
	assert_int_equal(prop_line(c, "b"), 7);
	assert_string_equal(prop(c, "c"), "x # not a comment");
	assert_int_equal(prop_line(c, "c"), 9);
	size_t n;
	ferry_conf_props(c, &n);
	assert_int_equal(n, 3);
	ferry_conf_free(c);
}

static void
test_duplicates(void **state)
{
	(void)state;
	struct ferry_conf *c = load(BASE "topics = first\n"    /* 4 */
					 "x.y = 1\n"           /* 5 */
					 "topics = second\n"); /* 6 */
	assert_string_equal(prop(c, "topics"), "second");
	assert_int_equal(prop_line(c, "topics"), 6);
	assert_true(has_diag(c, FERRY_CONF_WARNING, 6, "topics",
			     "set twice, line 4 and line 6; the last one wins", NULL));
	const char *const *items;
	assert_int_equal(ferry_conf_list(c, -1, "topics", &items), 1);
	assert_string_equal(items[0], "second");
	ferry_conf_free(c);
}

static void
test_syntax_errors(void **state)
{
	(void)state;
	int rc;
	static const char text[] = BASE "u1 = \\u12\n"           /* 4 */
					"u2 = \\uZZZZ\n"         /* 5 */
					"u3 = \\uD800x\n"        /* 6 */
					"u4 = \\uDC00\n"         /* 7 */
					"u5 = \\u0000\n"         /* 8 */
					"= value\n"              /* 9 */
					"topics = caf\xc3\xa9\n" /* 10 */
					"nul = a\0b\n";          /* 11 */
	struct ferry_conf *c = NULL;
	rc = ferry_conf_load_buf("t.properties", text, sizeof(text) - 1, 0, &c, errbuf,
				 sizeof(errbuf));
	assert_int_equal(rc, -EINVAL);
	assert_non_null(c);
	assert_true(has_diag(c, FERRY_CONF_ERROR, 4, "u1", "malformed \\uXXXX", NULL));
	assert_true(has_diag(c, FERRY_CONF_ERROR, 5, "u2", "malformed \\uXXXX", NULL));
	assert_true(has_diag(c, FERRY_CONF_ERROR, 6, "u3", "high surrogate", NULL));
	assert_true(has_diag(c, FERRY_CONF_ERROR, 7, "u4", "low surrogate", NULL));
	assert_true(has_diag(c, FERRY_CONF_ERROR, 8, "u5", "NUL", NULL));
	assert_true(has_diag(c, FERRY_CONF_ERROR, 9, "", "empty key", NULL));
	assert_true(has_diag(c, FERRY_CONF_WARNING, 10, "", "ISO-8859-1", "\\uXXXX"));
	assert_true(has_diag(c, FERRY_CONF_ERROR, 11, "", "NUL byte", NULL));
	assert_null(prop(c, "u1"));
	assert_string_equal(prop(c, "topics"), "caf\xc3\xa9");
	ferry_conf_free(c);
}

/* ---- diagnostics ------------------------------------------------------------------------ */

static void
test_unknown_keys(void **state)
{
	(void)state;
	struct ferry_conf *c = load(BASE "a->b.enabled = true\n"           /* 4 */
					 "topics.exlude = x\n"             /* 5 */
					 "a->b.topic = x\n"                /* 6 */
					 "a.bootstrap.server = h:1\n"      /* 7 */
					 "a.consumr.fetch.min.bytes = 1\n" /* 8 */
					 "zzzz.qqqq = 1\n"                 /* 9 */
					 "ferry.wan.mut = 1500\n");        /* 10 */
	assert_true(has_diag(c, FERRY_CONF_ERROR, 5, "topics.exlude", "unknown key",
			     "did you mean topics.exclude?"));
	assert_true(has_diag(c, FERRY_CONF_ERROR, 6, "a->b.topic", "unknown key",
			     "did you mean a->b.topics?"));
	assert_true(has_diag(c, FERRY_CONF_ERROR, 7, "a.bootstrap.server", "unknown key",
			     "did you mean a.bootstrap.servers?"));
	assert_true(has_diag(c, FERRY_CONF_ERROR, 8, "a.consumr.fetch.min.bytes", "unknown key",
			     "did you mean a.consumer.*?"));
	size_t n;
	const struct ferry_conf_diag *d = ferry_conf_diags(c, &n);
	bool found = false;
	for (size_t i = 0; i < n; i++)
		if (d[i].line == 9) {
			found = true;
			assert_string_equal(d[i].msg, "unknown key");
			assert_null(d[i].hint); /* nothing close: no suggestion */
		}
	assert_true(found);
	assert_true(has_diag(c, FERRY_CONF_ERROR, 10, "ferry.wan.mut", "unknown key",
			     "did you mean ferry.wan.mtu?"));
	assert_int_equal(ferry_conf_n_errors(c), 6);
	ferry_conf_free(c);
}

static void
test_bad_values(void **state)
{
	(void)state;
	struct ferry_conf *c =
	    load(BASE "a->b.enabled = yes\n"                                   /* 4 */
		      "replication.factor = 0\n"                               /* 5 */
		      "emit.checkpoints.interval.seconds = soon\n"             /* 6 */
		      "offset-syncs.topic.location = middle\n"                 /* 7 */
		      "replication.policy.class = IdentityReplicationPolicy\n" /* 8 */
		      "groups = ok, bad(\n"                                    /* 9 */
		      "ferry.wan.local.ip = 10.0.0.256\n"                      /* 10 */
		      "ferry.wan.peer.ip = ::1\n"                              /* 11 */
		      "ferry.lcores.worker = 5-3\n"                            /* 12 */
		      "ferry.wan.ports = eth0\n"                               /* 13 */
		      "ferry.wan.queue.map = 0:0-1\n"                          /* 14 */
		      "ferry.wan.fec = 1+1\n"                                  /* 15 */
		      "ferry.fetch.max.bytes = 2q\n"                           /* 16 */
		      "b.bootstrap.servers = nohost\n"                         /* 17 */
		      "ferry.queue.depth = 1000\n"                             /* 18 */
		      "replication.policy.class = com.example.MyPolicy\n"      /* 19: dup */
		      "ferry.wan.mtu = 1499\n"                                 /* 20 */
		      "a.security.protocol = TLS\n"                            /* 21 */
		      "ferry.exactly.once = maybe\n"                           /* 22 */
		      "replication.policy.separator = \n");                    /* 23 */
	assert_true(
	    has_diag(c, FERRY_CONF_ERROR, 4, "a->b.enabled", "expected true or false", NULL));
	assert_true(has_diag(c, FERRY_CONF_ERROR, 5, "replication.factor",
			     "0 is out of range [1, 32767] (or -1)", NULL));
	assert_true(has_diag(c, FERRY_CONF_ERROR, 6, "emit.checkpoints.interval.seconds",
			     "expected an integer, got 'soon'", NULL));
	assert_true(has_diag(c, FERRY_CONF_ERROR, 7, "offset-syncs.topic.location",
			     "'middle' is not one of", "one of: source, target"));
	assert_true(has_diag(c, FERRY_CONF_ERROR, 9, "groups",
			     "regex 'bad(' (item 2) does not "
			     "compile",
			     NULL));
	assert_true(
	    has_diag(c, FERRY_CONF_ERROR, 10, "ferry.wan.local.ip", "not an IPv4 address", NULL));
	assert_true(has_diag(c, FERRY_CONF_ERROR, 11, "ferry.wan.peer.ip", "IPv4 only", NULL));
	assert_true(
	    has_diag(c, FERRY_CONF_ERROR, 12, "ferry.lcores.worker", "runs backwards", NULL));
	assert_true(has_diag(c, FERRY_CONF_ERROR, 13, "ferry.wan.ports",
			     "neither a PCI address nor a net_ vdev", "0000:3b:00.0"));
	assert_true(
	    has_diag(c, FERRY_CONF_ERROR, 14, "ferry.wan.queue.map", "port:queue@lcore", NULL));
	assert_true(has_diag(c, FERRY_CONF_ERROR, 15, "ferry.wan.fec", "DATA must be 2..64", NULL));
	assert_true(
	    has_diag(c, FERRY_CONF_ERROR, 16, "ferry.fetch.max.bytes", "expected a size", NULL));
	assert_true(
	    has_diag(c, FERRY_CONF_ERROR, 17, "b.bootstrap.servers", "not host:port", NULL));
	assert_true(
	    has_diag(c, FERRY_CONF_ERROR, 18, "ferry.queue.depth", "not a power of two", NULL));
	/* line 8 was overridden by 19 (warned), so the class error is on 19 */
	assert_true(has_diag(c, FERRY_CONF_ERROR, 19, "replication.policy.class",
			     "class 'com.example.MyPolicy' is not supported",
			     "org.apache.kafka.connect.mirror.DefaultReplicationPolicy, "
			     "org.apache.kafka.connect.mirror.IdentityReplicationPolicy"));
	assert_true(
	    has_diag(c, FERRY_CONF_ERROR, 20, "ferry.wan.mtu", "out of range [1500, 9000]", NULL));
	assert_true(has_diag(c, FERRY_CONF_ERROR, 21, "a.security.protocol", "'TLS' is not one of",
			     "PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL"));
	assert_true(has_diag(c, FERRY_CONF_ERROR, 22, "ferry.exactly.once",
			     "expected true or false", NULL));
	assert_true(has_diag(c, FERRY_CONF_ERROR, 23, "replication.policy.separator",
			     "1 to 64 bytes", NULL));
	/* a bad value leaves the default in force */
	assert_int_equal(ferry_conf_int(c, -1, "replication.factor"), 2);
	assert_int_equal(ferry_conf_int(c, -1, "ferry.wan.mtu"), 1500);
	ferry_conf_free(c);

	/* the short class name gets the full one as a hint */
	c = load(BASE "a->b.enabled = true\n"
		      "replication.policy.class = IdentityReplicationPolicy\n");
	assert_true(
	    has_diag(c, FERRY_CONF_ERROR, 5, "replication.policy.class", "not supported",
		     "did you mean org.apache.kafka.connect.mirror.IdentityReplicationPolicy?"));
	ferry_conf_free(c);
}

static void
test_scope_errors(void **state)
{
	(void)state;
	struct ferry_conf *c = load(BASE "a->b.enabled = true\n"                  /* 4 */
					 "enabled = true\n"                       /* 5 */
					 "bootstrap.servers = h:1\n"              /* 6 */
					 "a->b.ferry.wan.mtu = 9000\n"            /* 7 */
					 "a.topics = x\n"                         /* 8 */
					 "a->c.topics = x\n"                      /* 9 */
					 "a->a.topics = x\n"                      /* 10 */
					 "topics.blacklist = x\n"                 /* 11 */
					 "tasks.max = 4\n"                        /* 12 */
					 "key.converter = Foo\n"                  /* 13 */
					 "key.converter.schemas.enable = false\n" /* 14 */
					 "c.bootstrap.servers = h:1\n"            /* 15 */
					 "consumer.max.poll.records = 5\n"        /* 16 */
					 "tasks.max = many\n");                   /* 17 */
	assert_true(has_diag(c, FERRY_CONF_ERROR, 5, "enabled", "set per flow",
			     "<source>-><target>.enabled"));
	assert_true(has_diag(c, FERRY_CONF_ERROR, 6, "bootstrap.servers", "set per cluster",
			     "<alias>.bootstrap.servers"));
	assert_true(
	    has_diag(c, FERRY_CONF_ERROR, 7, "a->b.ferry.wan.mtu", "cannot be set per flow", NULL));
	assert_true(
	    has_diag(c, FERRY_CONF_ERROR, 8, "a.topics", "cannot be set per cluster", NULL));
	assert_true(has_diag(c, FERRY_CONF_ERROR, 9, "a->c.topics", "unknown cluster 'c'",
			     "clusters = a, b"));
	assert_true(
	    has_diag(c, FERRY_CONF_ERROR, 10, "a->a.topics", "two different clusters", NULL));
	assert_true(has_diag(c, FERRY_CONF_ERROR, 11, "topics.blacklist", "old MM2 name",
			     "rename it to topics.exclude"));
	assert_true(has_diag(c, FERRY_CONF_WARNING, 13, "key.converter", "ferry ignores", NULL));
	assert_true(has_diag(c, FERRY_CONF_WARNING, 14, "key.converter.schemas.enable",
			     "ferry ignores", NULL));
	assert_true(has_diag(c, FERRY_CONF_WARNING, 15, "c.bootstrap.servers",
			     "cluster 'c' is not in clusters; ignored", "clusters = a, b"));
	assert_true(has_diag(c, FERRY_CONF_WARNING, 16, "consumer.max.poll.records",
			     "apply per cluster", "<alias>.consumer.max.poll.records"));
	/* an ignored key is still type-checked */
	assert_true(has_diag(c, FERRY_CONF_WARNING, 17, "tasks.max", "set twice", NULL));
	assert_true(
	    has_diag(c, FERRY_CONF_ERROR, 17, "tasks.max", "expected a 32-bit integer", NULL));
	ferry_conf_free(c);
}

static void
test_whole_file_checks(void **state)
{
	(void)state;
	int rc;
	/* no clusters key */
	struct ferry_conf *c = load_flags("topics = x\n", 0, &rc);
	assert_int_equal(rc, -EINVAL);
	assert_true(has_diag(c, FERRY_CONF_ERROR, 0, "clusters", "not set",
			     "clusters = london, singapore"));
	ferry_conf_free(c);
	/* the same as a fragment: fine */
	c = load_flags("ferry.wan.mtu = 9000\n", FERRY_CONF_LOAD_FRAGMENT, &rc);
	assert_int_equal(rc, 0);
	assert_int_equal(ferry_conf_n_errors(c) + ferry_conf_n_warnings(c), 0);
	ferry_conf_free(c);
	/* no enabled flow: a warning only */
	c = load_flags(BASE "a->b.enabled = false\n", 0, &rc);
	assert_int_equal(rc, 0);
	assert_true(has_diag(c, FERRY_CONF_WARNING, 1, "clusters", "no flow is enabled", NULL));
	ferry_conf_free(c);
	/* an enabled flow using a cluster without bootstrap.servers, reported once */
	c = load_flags("clusters = a, b, c\n"
		       "a.bootstrap.servers = h:1\n"
		       "a->c.enabled = true\n"
		       "b->c.enabled = true\n"
		       "c->a.enabled = true\n",
		       0, &rc);
	assert_int_equal(rc, -EINVAL);
	assert_true(has_diag(c, FERRY_CONF_ERROR, 3, "c.bootstrap.servers",
			     "used by enabled flow a->c but has no bootstrap.servers",
			     "add c.bootstrap.servers = host:port"));
	assert_true(has_diag(c, FERRY_CONF_ERROR, 4, "b.bootstrap.servers", "flow b->c", NULL));
	assert_int_equal(ferry_conf_n_errors(c), 2);
	ferry_conf_free(c);
	/* bad aliases */
	c = load_flags("clusters = a, x->y, a\n", 0, &rc);
	assert_true(has_diag(c, FERRY_CONF_ERROR, 1, "clusters", "'x->y' is not a usable", NULL));
	assert_true(has_diag(c, FERRY_CONF_WARNING, 1, "clusters", "listed twice", NULL));
	ferry_conf_free(c);
}

static void
test_gateway_checks(void **state)
{
	(void)state;
	struct ferry_conf *c =
	    load(BASE "a->b.enabled = true\n"                                /* 4 */
		      "ferry.lcores.io = 1-3\n"                              /* 5 */
		      "ferry.lcores.worker = 3-4\n"                          /* 6 */
		      "ferry.lcore.control = 4\n"                            /* 7 */
		      "ferry.wan.local.ip = 10.0.0.1\n"                      /* 8 */
		      "ferry.wan.peer.ip = 10.0.0.1\n"                       /* 9 */
		      "ferry.wan.tls.cert = /c.pem\n"                        /* 10 */
		      "ferry.metrics.port = 9441\n"                          /* 11 */
		      "ferry.exactly.once = true\n"                          /* 12 */
		      "ferry.fetch.isolation.level = read_uncommitted\n"     /* 13 */
		      "ferry.wan.ports = 0000:3b:00.0;net_tap0,iface=f0\n"   /* 14 */
		      "ferry.wan.queues = 2\n"                               /* 15 */
		      "ferry.wan.queue.map = 0:0@3, 0:0@4, 1:1@9, 2:0@3\n"); /* 16 */
	assert_true(has_diag(c, FERRY_CONF_ERROR, 6, "ferry.lcores.worker",
			     "lcore 3 is in both ferry.lcores.io (line 5) and ferry.lcores.worker",
			     NULL));
	assert_true(has_diag(c, FERRY_CONF_ERROR, 6, "ferry.lcores.worker",
			     "lcore 4 is in both ferry.lcore.control (line 7)", NULL));
	assert_true(has_diag(c, FERRY_CONF_ERROR, 9, "ferry.wan.peer.ip", "own address", NULL));
	assert_true(has_diag(c, FERRY_CONF_ERROR, 10, "ferry.wan.tls.key", "missing", NULL));
	assert_true(has_diag(c, FERRY_CONF_ERROR, 10, "ferry.wan.tls.ca", "missing", NULL));
	assert_true(has_diag(c, FERRY_CONF_ERROR, 11, "ferry.metrics.port",
			     "same TCP port as ferry.wan.control.port", NULL));
	assert_true(has_diag(c, FERRY_CONF_ERROR, 13, "ferry.fetch.isolation.level",
			     "needs read_committed", NULL));
	assert_true(has_diag(c, FERRY_CONF_ERROR, 16, "ferry.wan.queue.map", "mapped twice", NULL));
	assert_true(
	    has_diag(c, FERRY_CONF_ERROR, 16, "ferry.wan.queue.map", "lcore 9", "ferry.lcores.worker"));
	assert_true(has_diag(c, FERRY_CONF_ERROR, 16, "ferry.wan.queue.map",
			     "port 2 does not exist", NULL));
	assert_true(has_diag(c, FERRY_CONF_ERROR, 16, "ferry.wan.queue.map",
			     "queue 0:1 is not mapped", NULL));
	ferry_conf_free(c);

	/* per flow: exactly-once on one flow with uncommitted reads set globally */
	c = load(BASE "a->b.enabled = true\n"
		      "ferry.fetch.isolation.level = read_uncommitted\n"
		      "a->b.ferry.exactly.once = true\n");
	assert_true(has_diag(c, FERRY_CONF_ERROR, 5, "ferry.fetch.isolation.level",
			     "flow a->b: ferry.exactly.once needs read_committed", NULL));
	/* ... and its offset-syncs on the source, where the target's transaction cannot
	 * write them (the default location) */
	assert_true(has_diag(c, FERRY_CONF_ERROR, 6, "offset-syncs.topic.location",
			     "same transaction", "offset-syncs.topic.location = target"));
	assert_int_equal(ferry_conf_n_errors(c), 2);
	ferry_conf_free(c);

	c = load(BASE "a->b.enabled = true\n"
		      "a->b.ferry.exactly.once = true\n"
		      "a->b.offset-syncs.topic.location = target\n");
	assert_int_equal(ferry_conf_n_errors(c), 0);
	ferry_conf_free(c);
}

/* ---- precedence and defaults --------------------------------------------------------- */

static void
test_precedence(void **state)
{
	(void)state;
	struct ferry_conf *c = load(BASE "a->b.enabled = true\n"    /* 4 */
					 "b->a.enabled = true\n"    /* 5 */
					 "topics = global\\\\..*\n" /* 6: global\\..* in the file */
					 "a->b.topics = ab1, ab2\n" /* 7 */
					 "emit.heartbeats.interval.seconds = 5\n"      /* 8 */
					 "b->a.emit.heartbeats.interval.seconds = 9\n" /* 9 */
					 "a->b.sync.group.offsets.enabled = TRUE\n"    /* 10 */
					 "a->b.ferry.rules.file = /r-ab.yaml\n");      /* 11 */
	assert_int_equal(ferry_conf_n_errors(c), 0);
	int ab = ferry_conf_flow_find(c, "a", "b"), ba = ferry_conf_flow_find(c, "b", "a");
	assert_true(ab >= 0 && ba >= 0 && ab != ba);
	size_t nf;
	const struct ferry_conf_flow *f = ferry_conf_flows(c, &nf);
	assert_int_equal(nf, 2);
	assert_true(f[ab].enabled && f[ba].enabled);
	assert_int_equal(f[ab].line, 4);

	const char *const *items;
	assert_int_equal(ferry_conf_list(c, ab, "topics", &items), 2);
	assert_string_equal(items[0], "ab1");
	assert_string_equal(items[1], "ab2");
	assert_int_equal(ferry_conf_line(c, ab, "topics"), 7);
	assert_int_equal(ferry_conf_list(c, ba, "topics", &items), 1);
	assert_string_equal(items[0], "global\\..*");
	assert_int_equal(ferry_conf_line(c, ba, "topics"), 6);
	assert_int_equal(ferry_conf_list(c, -1, "topics", &items), 1);

	assert_int_equal(ferry_conf_int(c, ab, "emit.heartbeats.interval.seconds"), 5);
	assert_int_equal(ferry_conf_int(c, ba, "emit.heartbeats.interval.seconds"), 9);
	assert_true(ferry_conf_bool(c, ab, "sync.group.offsets.enabled"));
	assert_false(ferry_conf_bool(c, ba, "sync.group.offsets.enabled"));
	assert_string_equal(ferry_conf_str(c, ab, "ferry.rules.file"), "/r-ab.yaml");
	assert_null(ferry_conf_str(c, ba, "ferry.rules.file"));
	/* wrong type or unknown key: zero values, never a crash */
	assert_int_equal(ferry_conf_int(c, ab, "topics"), 0);
	assert_false(ferry_conf_bool(c, ab, "no.such.key"));
	assert_int_equal(ferry_conf_list(c, ab, "replication.factor", &items), 0);
	assert_int_equal(ferry_conf_flow_find(c, "a", "zz"), -1);
	ferry_conf_free(c);
}

static void
test_defaults(void **state)
{
	(void)state;
	size_t n;
	const struct ferry_conf_def *d = ferry_conf_defs(&n);
	assert_true(n > 80);
	/* every default in the table is valid for its own type and range */
	for (size_t i = 0; i < n; i++) {
		char err[512];
		if (d[i].def == NULL || d[i].type == FERRY_CONF_T_PASSTHRU)
			continue;
		if (ferry_conf_value_check(&d[i], d[i].def, err, sizeof(err)) != 0)
			fail_msg("default of %s: %s", d[i].name, err);
		assert_true(d[i].desc && d[i].desc[0]);
	}

	struct ferry_conf *c = load(BASE "a->b.enabled = true\n");
	int ab = ferry_conf_flow_find(c, "a", "b");
	const char *const *items;
	/* MM2's defaults (Kafka 3.x MirrorSourceConfig / MirrorCheckpointConfig / ...) */
	assert_int_equal(ferry_conf_int(c, ab, "replication.factor"), 2);
	assert_int_equal(ferry_conf_int(c, ab, "checkpoints.topic.replication.factor"), 3);
	assert_int_equal(ferry_conf_int(c, ab, "refresh.topics.interval.seconds"), 600);
	assert_int_equal(ferry_conf_int(c, ab, "refresh.groups.interval.seconds"), 600);
	assert_int_equal(ferry_conf_int(c, ab, "emit.checkpoints.interval.seconds"), 60);
	assert_int_equal(ferry_conf_int(c, ab, "emit.heartbeats.interval.seconds"), 1);
	assert_int_equal(ferry_conf_int(c, ab, "sync.group.offsets.interval.seconds"), 60);
	assert_string_equal(ferry_conf_str(c, ab, "replication.policy.separator"), ".");
	assert_string_equal(ferry_conf_str(c, ab, "replication.policy.class"),
			    "org.apache.kafka.connect.mirror.DefaultReplicationPolicy");
	assert_string_equal(ferry_conf_str(c, ab, "offset-syncs.topic.location"), "source");
	assert_true(ferry_conf_bool(c, ab, "sync.topic.configs.enabled"));
	assert_true(ferry_conf_bool(c, ab, "sync.topic.acls.enabled"));
	assert_false(ferry_conf_bool(c, ab, "sync.group.offsets.enabled"));
	assert_true(ferry_conf_bool(c, ab, "emit.heartbeats.enabled"));
	assert_true(ferry_conf_bool(c, ab, "emit.checkpoints.enabled"));
	assert_int_equal(ferry_conf_list(c, ab, "topics", &items), 1);
	assert_string_equal(items[0], ".*");
	assert_int_equal(ferry_conf_list(c, ab, "topics.exclude", &items), 3);
	assert_string_equal(items[0], ".*[\\-\\.]internal");
	assert_string_equal(items[1], ".*\\.replica");
	assert_string_equal(items[2], "__.*");
	assert_int_equal(ferry_conf_list(c, ab, "groups.exclude", &items), 3);
	assert_string_equal(items[0], "console-consumer-.*");
	assert_int_equal(ferry_conf_line(c, ab, "topics"), 0);
	/* ferry's own */
	const uint16_t *ids;
	assert_int_equal(ferry_conf_lcores(c, "ferry.lcores.worker", &ids), 1);
	assert_int_equal(ids[0], 2);
	assert_int_equal(ferry_conf_int(c, -1, "ferry.wan.mtu"), 1500);
	assert_string_equal(ferry_conf_str(c, -1, "ferry.fetch.isolation.level"), "read_committed");
	assert_null(ferry_conf_str(c, -1, "ferry.role"));
	assert_string_equal(ferry_conf_cluster_str(c, "a", "security.protocol"), "PLAINTEXT");
	assert_string_equal(ferry_conf_cluster_str(c, "b", "bootstrap.servers"), "b1:9092");
	ferry_conf_free(c);

	/* typed values: canonical enum spelling, sizes, lcores, case-insensitive bools */
	c = load(BASE "a->b.enabled = True\n"
		      "ferry.poll.mode = IDLE\n"
		      "ferry.fetch.max.bytes = 64m\n"
		      "ferry.fetch.partition.max.bytes = 512k\n"
		      "ferry.lcores.io = 8, 1-3\n"
		      "ferry.lcores.worker = 4-6\n"
		      "replication.factor = -1\n"
		      "offset-syncs.topic.location = TARGET\n"
		      "a.security.protocol = sasl_ssl\n"
		      "a.sasl.jaas.config = x.PlainLoginModule required username=u password=p;\n");
	assert_int_equal(ferry_conf_n_errors(c), 0);
	assert_string_equal(ferry_conf_str(c, -1, "ferry.poll.mode"), "idle");
	assert_int_equal(ferry_conf_int(c, -1, "ferry.fetch.max.bytes"), 64 << 20);
	assert_int_equal(ferry_conf_int(c, -1, "ferry.fetch.partition.max.bytes"), 512 << 10);
	assert_int_equal(ferry_conf_lcores(c, "ferry.lcores.io", &ids), 4);
	assert_int_equal(ids[0], 1);
	assert_int_equal(ids[3], 8);
	assert_int_equal(ferry_conf_int(c, -1, "replication.factor"), -1);
	assert_string_equal(ferry_conf_str(c, -1, "offset-syncs.topic.location"), "target");
	assert_string_equal(ferry_conf_cluster_str(c, "a", "security.protocol"), "SASL_SSL");
	assert_true(ferry_conf_flows(c, &n)[ferry_conf_flow_find(c, "a", "b")].enabled);
	ferry_conf_free(c);
}

/* ---- librdkafka properties ----------------------------------------------------------- */

static const char *
kv(const struct ferry_conf *c, const char *alias, enum ferry_conf_role role, const char *name,
   unsigned *line)
{
	size_t n;
	const struct ferry_conf_kv *p = ferry_conf_client_props(c, alias, role, &n);
	for (size_t i = 0; i < n; i++)
		if (strcmp(p[i].name, name) == 0) {
			if (line)
				*line = p[i].line;
			return p[i].value;
		}
	return NULL;
}

static void
test_client_props(void **state)
{
	(void)state;
	unsigned line;
	struct ferry_conf *c = load(
	    BASE "a->b.enabled = true\n"              /* 4 */
		 "ssl.ca.location = /global-ca.pem\n" /* 5 */
		 "a.security.protocol = SASL_SSL\n"   /* 6 */
		 "a.sasl.mechanism = SCRAM-SHA-512\n" /* 7 */
		 "a.sasl.jaas.config = org.apache.kafka.common.security.scram.ScramLoginModule "
		 "required username=\"alice\" password=\"p\\\\\"w;d\";\n" /* 8 */
		 "a.ssl.ca.location = /a-ca.pem\n"                        /* 9 */
		 "a.ssl.truststore.location = /a.jks\n"                   /* 10 */
		 "a.ssl.endpoint.identification.algorithm =\n"            /* 11 */
		 "a.client.id = ferry-a\n"                                /* 12 */
		 "a.consumer.client.id = ferry-a-consumer\n"              /* 13 */
		 "a.consumer.fetch.max.wait.ms = 250\n"                   /* 14 */
		 "a.consumer.partition.assignment.strategy = "
		 "org.apache.kafka.clients.consumer.RangeAssignor,"
		 "org.apache.kafka.clients.consumer.CooperativeStickyAssignor\n"         /* 15 */
		 "a.producer.buffer.memory = 33554432\n"                                 /* 16 */
		 "a.producer.key.serializer = org.apache.kafka.common.serialization.X\n" /* 17 */
		 "a.producer.acks = all\n"                                               /* 18 */
		 "a.ssl.keystore.type = JKS\n"                                           /* 19 */
		 "b.sasl.jaas.config = org.apache.kafka.common.security.plain.PlainLoginModule "
		 "required username=bob;\n"                 /* 20 */
		 "b.security.protocol = SASL_PLAINTEXT\n"); /* 21 */
	/* bootstrap and protocol */
	assert_string_equal(kv(c, "a", FERRY_CONF_ROLE_CONSUMER, "bootstrap.servers", NULL),
			    "a1:9092");
	assert_string_equal(kv(c, "a", FERRY_CONF_ROLE_ADMIN, "security.protocol", &line),
			    "sasl_ssl");
	assert_int_equal(line, 6);
	/* renamed and JAAS-derived */
	assert_string_equal(kv(c, "a", FERRY_CONF_ROLE_PRODUCER, "sasl.mechanisms", NULL),
			    "SCRAM-SHA-512");
	assert_null(kv(c, "a", FERRY_CONF_ROLE_PRODUCER, "sasl.mechanism", NULL));
	assert_null(kv(c, "a", FERRY_CONF_ROLE_PRODUCER, "sasl.jaas.config", NULL));
	assert_string_equal(kv(c, "a", FERRY_CONF_ROLE_PRODUCER, "sasl.username", &line), "alice");
	assert_int_equal(line, 8);
	assert_string_equal(kv(c, "a", FERRY_CONF_ROLE_CONSUMER, "sasl.password", NULL), "p\"w;d");
	/* cluster level overrides the unprefixed one; the truststore is dropped with a warning */
	assert_string_equal(kv(c, "a", FERRY_CONF_ROLE_CONSUMER, "ssl.ca.location", NULL),
			    "/a-ca.pem");
	assert_string_equal(kv(c, "b", FERRY_CONF_ROLE_CONSUMER, "ssl.ca.location", NULL),
			    "/global-ca.pem");
	assert_null(kv(c, "a", FERRY_CONF_ROLE_CONSUMER, "ssl.truststore.location", NULL));
	assert_true(has_diag(c, FERRY_CONF_WARNING, 10, "a.ssl.truststore.location",
			     "no librdkafka equivalent", "ssl.ca.location"));
	assert_string_equal(
	    kv(c, "a", FERRY_CONF_ROLE_CONSUMER, "ssl.endpoint.identification.algorithm", NULL),
	    "none");
	/* role level overrides the cluster level, and only for that role */
	assert_string_equal(kv(c, "a", FERRY_CONF_ROLE_CONSUMER, "client.id", &line),
			    "ferry-a-consumer");
	assert_int_equal(line, 13);
	assert_string_equal(kv(c, "a", FERRY_CONF_ROLE_PRODUCER, "client.id", NULL), "ferry-a");
	assert_string_equal(kv(c, "a", FERRY_CONF_ROLE_CONSUMER, "fetch.wait.max.ms", NULL), "250");
	assert_null(kv(c, "a", FERRY_CONF_ROLE_PRODUCER, "fetch.wait.max.ms", NULL));
	assert_string_equal(
	    kv(c, "a", FERRY_CONF_ROLE_CONSUMER, "partition.assignment.strategy", NULL),
	    "range,cooperative-sticky");
	assert_string_equal(
	    kv(c, "a", FERRY_CONF_ROLE_PRODUCER, "queue.buffering.max.kbytes", NULL), "32768");
	assert_string_equal(kv(c, "a", FERRY_CONF_ROLE_PRODUCER, "acks", NULL), "all");
	assert_null(kv(c, "a", FERRY_CONF_ROLE_ADMIN, "acks", NULL));
	assert_null(kv(c, "a", FERRY_CONF_ROLE_PRODUCER, "key.serializer", NULL));
	assert_true(has_diag(c, FERRY_CONF_WARNING, 17, "a.producer.key.serializer",
			     "no librdkafka equivalent", NULL));
	assert_true(has_diag(c, FERRY_CONF_WARNING, 19, "a.ssl.keystore.type", "PKCS#12", NULL));
	/* JAAS without a password: an error that never quotes the value */
	assert_true(has_diag(c, FERRY_CONF_ERROR, 20, "b.sasl.jaas.config",
			     "PlainLoginModule without a username and password", NULL));
	assert_true(has_diag(c, FERRY_CONF_WARNING, 21, "b.sasl.jaas.config",
			     "uses SASL_PLAINTEXT but its consumer has no SASL credentials", NULL));
	size_t n;
	const struct ferry_conf_diag *d = ferry_conf_diags(c, &n);
	for (size_t i = 0; i < n; i++) {
		assert_null(strstr(d[i].msg, "alice"));
		assert_null(strstr(d[i].msg, "bob"));
	}
	/* each translation diagnostic once, though the property reaches three roles */
	size_t ts = 0;
	for (size_t i = 0; i < n; i++)
		ts += strcmp(d[i].key, "a.ssl.truststore.location") == 0;
	assert_int_equal(ts, 1);
	assert_null(ferry_conf_client_props(c, "zz", FERRY_CONF_ROLE_ADMIN, &n));
	assert_int_equal(n, 0);
	ferry_conf_free(c);

	/* a malformed JAAS string */
	c = load(BASE
		 "a->b.enabled = true\n"
		 "a.sasl.jaas.config = PlainLoginModule sometimes username=\"x\" password=\"y\";\n"
		 "b.sasl.jaas.config = org.Foo required a=b;\n");
	assert_true(has_diag(c, FERRY_CONF_ERROR, 5, "a.sasl.jaas.config",
			     "cannot read this JAAS configuration", "LoginModule"));
	assert_true(has_diag(c, FERRY_CONF_ERROR, 6, "b.sasl.jaas.config",
			     "unsupported login module 'org.Foo'", NULL));
	ferry_conf_free(c);
}

static void
test_docs_helpers(void **state)
{
	(void)state;
	char buf[256];
	const struct ferry_conf_def *d = ferry_conf_def_find("topics");
	assert_non_null(d);
	ferry_conf_def_display(d, buf, sizeof(buf));
	assert_string_equal(buf, "[<source>-><target>.]topics");
	ferry_conf_def_display(ferry_conf_def_find("bootstrap.servers"), buf, sizeof(buf));
	assert_string_equal(buf, "<alias>.bootstrap.servers");
	ferry_conf_def_display(ferry_conf_def_find("enabled"), buf, sizeof(buf));
	assert_string_equal(buf, "<source>-><target>.enabled");
	ferry_conf_def_display(ferry_conf_def_find("ssl.keystore.location"), buf, sizeof(buf));
	assert_string_equal(buf, "[<alias>.]ssl.*");
	assert_null(ferry_conf_def_find("no.such"));
	assert_string_equal(ferry_conf_type_name(FERRY_CONF_T_SECONDS), "seconds");
}

static void
test_file_errors(void **state)
{
	(void)state;
	struct ferry_conf *c = (struct ferry_conf *)1;
	int rc =
	    ferry_conf_load_file("/nonexistent/ferry.properties", 0, &c, errbuf, sizeof(errbuf));
	assert_int_equal(rc, -ENOENT);
	assert_null(c);
	assert_non_null(strstr(errbuf, "/nonexistent/ferry.properties"));
	rc = ferry_conf_load_file("/", 0, &c, errbuf, sizeof(errbuf));
	assert_int_equal(rc, -EISDIR);
	assert_null(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_separators),
		cmocka_unit_test(test_escapes),
		cmocka_unit_test(test_continuation),
		cmocka_unit_test(test_comments_and_line_endings),
		cmocka_unit_test(test_duplicates),
		cmocka_unit_test(test_syntax_errors),
		cmocka_unit_test(test_unknown_keys),
		cmocka_unit_test(test_bad_values),
		cmocka_unit_test(test_scope_errors),
		cmocka_unit_test(test_whole_file_checks),
		cmocka_unit_test(test_gateway_checks),
		cmocka_unit_test(test_precedence),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_client_props),
		cmocka_unit_test(test_docs_helpers),
		cmocka_unit_test(test_file_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
