/*
 * rules_lines.c - parse one record line of `ferryctl rules test --records` (format in
 * rules_lines.h). Fields are split on raw TABs first, then each is unescaped in place: an
 * unescaped field is never longer than its source, so the write position never passes the
 * read position and no copy is needed.
 *
 * Pure, allocation-free, any thread. Fuzzed by tests/fuzz/fuzz_policy_apply.c (text mode).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "ferry/common.h"
#include "rules_lines.h"

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * Unescape line[from .. to) into line[from ..), setting *out. "\N" alone is the null span.
 * 0 or -EINVAL with "WHAT: column C: ..." in err.
 */
static int
field_unescape(char *line, size_t from, size_t to, const char *what, struct ferry_span *out,
	       char *err, size_t errlen)
{
	if (to - from == 2 && line[from] == '\\' && line[from + 1] == 'N') {
		*out = ferry_span_make(NULL, 0);
		return 0;
	}
	size_t w = from;
	for (size_t r = from; r < to; r++) {
		char c = line[r];
		if (c != '\\') {
			line[w++] = c;
			continue;
		}
		if (r + 1 == to) {
			snprintf(err, errlen, "%s: column %zu: backslash at the end of the field",
				 what, r + 1);
			return -EINVAL;
		}
		char e = line[r + 1];
		switch (e) {
		case 't':
			line[w++] = '\t';
			r++;
			break;
		case 'n':
			line[w++] = '\n';
			r++;
			break;
		case 'r':
			line[w++] = '\r';
			r++;
			break;
		case '\\':
			line[w++] = '\\';
			r++;
			break;
		case 'x': {
			int hi = r + 2 < to ? hexval(line[r + 2]) : -1;
			int lo = r + 3 < to ? hexval(line[r + 3]) : -1;
			if (hi < 0 || lo < 0) {
				snprintf(err, errlen, "%s: column %zu: \\x needs two hex digits",
					 what, r + 1);
				return -EINVAL;
			}
			line[w++] = (char)(hi << 4 | lo);
			r += 3;
			break;
		}
		case 'N':
			snprintf(err, errlen, "%s: column %zu: \\N (null) must be the whole field",
				 what, r + 1);
			return -EINVAL;
		default:
			if ((unsigned char)e >= 0x20 && (unsigned char)e < 0x7f)
				snprintf(err, errlen,
					 "%s: column %zu: unknown escape '\\%c' (use \\t \\n \\r "
					 "\\\\ \\xHH or a whole-field \\N)",
					 what, r + 1, e);
			else
				snprintf(err, errlen,
					 "%s: column %zu: unknown escape '\\' + byte 0x%02x", what,
					 r + 1, (unsigned char)e);
			return -EINVAL;
		}
	}
	*out = ferry_span_make(line + from, w - from);
	return 0;
}

int
ferry_rules_line_parse(char *line, size_t len, struct ferry_rules_line *out, char *err,
		       size_t errlen)
{
	memset(out, 0, offsetof(struct ferry_rules_line, headers));
	if (len > 0 && line[len - 1] == '\r')
		len--;

	const char *tab = memchr(line, '\t', len);
	if (tab == NULL) {
		out->key = ferry_span_make(NULL, 0);
		return field_unescape(line, 0, len, "value", &out->value, err, errlen);
	}

	/* KEY, VALUE, headers: find every field's bounds before unescaping any of them (the
	 * unescaped bytes may include TABs). */
	size_t key_end = (size_t)(tab - line);
	size_t val_from = key_end + 1;
	const char *t2 = memchr(line + val_from, '\t', len - val_from);
	size_t val_end = t2 ? (size_t)(t2 - line) : len;
	int rc;
	if (key_end == 0)
		out->key = ferry_span_make(NULL, 0);
	else if ((rc = field_unescape(line, 0, key_end, "key", &out->key, err, errlen)) != 0)
		return rc;
	if ((rc = field_unescape(line, val_from, val_end, "value", &out->value, err, errlen)) != 0)
		return rc;

	size_t pos = val_end;
	while (pos < len) {
		size_t from = pos + 1;
		const char *t = memchr(line + from, '\t', len - from);
		size_t to = t ? (size_t)(t - line) : len;
		pos = to;
		uint32_t n = out->n_headers;
		char what[48];
		snprintf(what, sizeof(what), "header %u", n + 1);
		if (n == FERRY_RULES_LINE_HEADERS_MAX) {
			snprintf(err, errlen, "%s: column %zu: more than %u headers", what,
				 from + 1, FERRY_RULES_LINE_HEADERS_MAX);
			return -EINVAL;
		}
		if (to - from < 2 || line[from] != 'h' || line[from + 1] != ':') {
			snprintf(err, errlen,
				 "%s: column %zu: expected h:NAME=VALUE after the value", what,
				 from + 1);
			return -EINVAL;
		}
		const char *eq = memchr(line + from + 2, '=', to - from - 2);
		if (eq == NULL) {
			snprintf(err, errlen, "%s: column %zu: no '=' in h:NAME=VALUE", what,
				 from + 1);
			return -EINVAL;
		}
		size_t name_end = (size_t)(eq - line);
		struct ferry_kafka_header *h = &out->headers[n];
		if ((rc = field_unescape(line, from + 2, name_end, what, &h->Key, err, errlen)) !=
		    0)
			return rc;
		if (h->Key.p == NULL) {
			snprintf(err, errlen, "%s: column %zu: a header name cannot be null", what,
				 from + 3);
			return -EINVAL;
		}
		if ((rc = field_unescape(line, name_end + 1, to, what, &h->Value, err, errlen)) !=
		    0)
			return rc;
		out->n_headers = n + 1;
	}
	return 0;
}
