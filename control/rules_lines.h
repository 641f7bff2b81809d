/*
 * rules_lines.h - the record line format of `ferryctl rules test --records`: one Kafka record
 * per text line, parsed in place into spans over the line's own bytes.
 *
 * Format (TAB-separated fields, documented in `ferryctl rules --help`):
 *   VALUE                                   a line without TAB: the value, null key
 *   KEY<TAB>VALUE[<TAB>h:NAME=VALUE]...     key, value, then headers in order
 * An empty KEY is a null key (what `ferry-loadgen --stdout --key none` writes). A field that
 * is exactly \N is null (key, value or header value). Escapes inside fields: \t \n \r \\ and
 * \xHH; any other backslash sequence is an error. A trailing CR (CRLF files) is ignored.
 *
 * Pure and allocation-free: any thread, on its own line buffer.
 */
#ifndef FERRY_RULES_LINES_H
#define FERRY_RULES_LINES_H

#include <stddef.h>
#include <stdint.h>

#include "ferry/kafka-t.h"

#define FERRY_RULES_LINE_HEADERS_MAX 64 /* headers on one line */

/* One parsed line; every span points into the line buffer given to the parser. */
struct ferry_rules_line {
	struct ferry_span key;   /* p == NULL: null key */
	struct ferry_span value; /* p == NULL: null value (tombstone) */
	uint32_t n_headers;
	struct ferry_kafka_header headers[FERRY_RULES_LINE_HEADERS_MAX];
};

/*
 * Parse line[0 .. len) (without its '\n'), unescaping each field in place, so the buffer is
 * modified and must outlive out. Returns 0, or -EINVAL with a message naming the field and
 * the column (1-based) of what is wrong in err.
 */
int ferry_rules_line_parse(char *line, size_t len, struct ferry_rules_line *out, char *err,
			   size_t errlen);

#endif
