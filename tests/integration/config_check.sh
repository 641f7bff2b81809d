#!/bin/sh
# `ferryctl config check` and `ferryctl config docs` end to end:
#  - the realistic mm2.properties (london <-> singapore) passes with warnings only, each
#    ignored MM2 key and Java-only client setting named at its line;
#  - every diagnostic kind in bad-values.properties appears as FILE:LINE: SEV: KEY: message,
#    the line found from the file itself, and the exit status is 1; librdkafka itself judges
#    the client properties (a bad value is an error, an unknown name a warning);
#  - syntax errors, a file without flows (exit 0), a hw/-style fragment (--fragment), --json;
#  - `config docs` (both formats) lists every key of control/conf_table.h;
#  - usage errors exit 2, an unreadable file 1.
# usage: config_check.sh FERRYCTL SRCDIR
set -eu
ctl=$1 src=$2
data=$src/tests/data/mm2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() {
	echo "config_check: $*" >&2
	exit 1
}

# expect OUT FILE KEY SEVERITY MESSAGE [first|last]: the diagnostic for the line where KEY is set
expect() {
	out=$1 f=$2 key=$3 sev=$4 msg=$5 which=${6:-first}
	# the line that starts with "KEY = " (literally: keys hold '.', '-' and '>')
	lines=$(awk -v k="$key = " 'index($0, k) == 1 { print NR }' "$f")
	if [ "$which" = last ]; then
		line=$(echo "$lines" | tail -n 1)
	else
		line=$(echo "$lines" | head -n 1)
	fi
	[ -n "$line" ] || fail "$key is not in $f"
	grep -qF "$f:$line: $sev: $key: $msg" "$out" || {
		cat "$out" >&2
		fail "missing: $f:$line: $sev: $key: $msg"
	}
}

# ---- the realistic file: exit 0, warnings only --------------------------------------------
f=$data/mm2.properties
"$ctl" config check "$f" >"$tmp/out" || { cat "$tmp/out" >&2; fail "mm2.properties rejected"; }
grep -qF "$f: 0 error(s), 9 warning(s); 2 cluster(s), 2 of 2 flow(s) enabled" "$tmp/out" ||
	{ cat "$tmp/out" >&2; fail "mm2.properties summary"; }
expect "$tmp/out" "$f" tasks.max warning "MM2 setting that ferry ignores"
expect "$tmp/out" "$f" key.converter warning "MM2 setting that ferry ignores"
expect "$tmp/out" "$f" status.storage.replication.factor warning "MM2 setting that ferry ignores"
expect "$tmp/out" "$f" singapore.ssl.truststore.location warning \
	"Java client setting with no librdkafka equivalent"
grep -q "ssl.ca.location" "$tmp/out" || fail "truststore warning does not point to ssl.ca.location"
! grep -q "s3cret" "$tmp/out" || fail "a password was printed"

# ---- every diagnostic kind ---------------------------------------------------------------
f=$data/bad-values.properties
set +e
"$ctl" config check "$f" >"$tmp/out"
rc=$?
set -e
[ $rc -eq 1 ] || { cat "$tmp/out" >&2; fail "bad-values.properties: exit $rc, want 1"; }
expect "$tmp/out" "$f" london-\>singapore.enabled error "expected true or false, got 'yes'"
expect "$tmp/out" "$f" london-\>tokyo.enabled error "flow names unknown cluster 'tokyo'"
expect "$tmp/out" "$f" london-\>singapore.topic error \
	"unknown key (did you mean london->singapore.topics?)"
expect "$tmp/out" "$f" topics.exlude error "unknown key (did you mean topics.exclude?)"
expect "$tmp/out" "$f" replication.factor error "0 is out of range [1, 32767] (or -1)"
msg="class 'IdentityReplicationPolicy' is not supported by ferry"
msg="$msg (did you mean org.apache.kafka.connect.mirror.IdentityReplicationPolicy?)"
expect "$tmp/out" "$f" replication.policy.class error "$msg"
expect "$tmp/out" "$f" offset-syncs.topic.location error \
	"'middle' is not one of the allowed values (one of: source, target)"
expect "$tmp/out" "$f" groups error "regex 'bad(' (item 2) does not compile"
expect "$tmp/out" "$f" emit.checkpoints.interval.seconds error "expected an integer, got 'soon'"
expect "$tmp/out" "$f" london.security.protocol error "'TLS' is not one of the allowed values"
expect "$tmp/out" "$f" topics.blacklist error \
	"old MM2 name that ferry does not read (rename it to topics.exclude)"
expect "$tmp/out" "$f" bootstrap.servers error "bootstrap.servers is set per cluster"
expect "$tmp/out" "$f" ferry.lcores.worker error "lcore 3 is in both ferry.lcores.io"
expect "$tmp/out" "$f" ferry.wan.mtu error "12000 is out of range [1500, 9000]"
expect "$tmp/out" "$f" ferry.wan.local.ip error "'10.0.0.256' is not an IPv4 address"
expect "$tmp/out" "$f" ferry.wan.peer.ip error "'::1' is IPv6; the WAN transport is IPv4 only"
expect "$tmp/out" "$f" ferry.producer.max.in.flight error "6 is out of range [1, 5]"
expect "$tmp/out" "$f" ferry.queue.depth error "1000 is not a power of two"
expect "$tmp/out" "$f" ferry.wan.fec error "'1+1': DATA must be 2..64 and PARITY 1..8"
expect "$tmp/out" "$f" london.sasl.jaas.config error \
	"PlainLoginModule without a username and password"
expect "$tmp/out" "$f" london.consumer.fetch.wait.max.ms error "librdkafka rejects it"
expect "$tmp/out" "$f" london.producer.no.such.property warning \
	"librdkafka has no property 'no.such.property'"
expect "$tmp/out" "$f" tasks.max warning "set twice, line 30 and line 31; the last one wins" last
expect "$tmp/out" "$f" sgp.bootstrap.servers warning "cluster 'sgp' is not in clusters; ignored"
# the flow to paris is enabled, but paris has no brokers: reported at the flow's line
line=$(grep -nF "london->paris.enabled" "$f" | cut -d: -f1)
msg="error: paris.bootstrap.servers: cluster 'paris' is used by enabled flow london->paris"
grep -qF "$f:$line: $msg" "$tmp/out" ||
	fail "missing bootstrap.servers error for paris"
grep -qF "$f: 22 error(s), 4 warning(s)" "$tmp/out" ||
	{ cat "$tmp/out" >&2; fail "bad-values summary"; }

# ---- syntax errors -------------------------------------------------------------------------
f=$data/bad-syntax.properties
set +e
"$ctl" config check "$f" >"$tmp/out"
rc=$?
set -e
[ $rc -eq 1 ] || fail "bad-syntax.properties: exit $rc, want 1"
grep -qF "$f: error: clusters: not set" "$tmp/out" || fail "missing clusters error"
grep -qF "$f:2: error: topics: value: malformed \\uXXXX escape" "$tmp/out" ||
	fail "missing \\u error"
grep -qF "$f:3: error: empty key" "$tmp/out" || fail "missing empty key error"

# ---- no flow: a warning, exit 0; a fragment --------------------------------------------------
f=$data/no-flow.properties
"$ctl" config check "$f" >"$tmp/out" || fail "no-flow.properties rejected"
grep -qF "$f:2: warning: clusters: no flow is enabled" "$tmp/out" || fail "missing no-flow warning"
f=$data/fragment.properties
"$ctl" config check --fragment "$f" >"$tmp/out" || fail "fragment rejected with --fragment"
grep -qF "$f: 0 error(s), 0 warning(s)" "$tmp/out" || fail "fragment not clean"
if "$ctl" config check "$f" >/dev/null; then fail "fragment accepted as a whole file"; fi

# ---- --json ----------------------------------------------------------------------------------
set +e
"$ctl" config check --json "$data/bad-values.properties" >"$tmp/json"
rc=$?
set -e
[ $rc -eq 1 ] || fail "--json: exit $rc, want 1"
python3 - "$tmp/json" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
assert j["errors"] == 22 and j["warnings"] == 4, (j["errors"], j["warnings"])
assert j["clusters"] == ["london", "singapore", "paris"], j["clusters"]
assert j["flows"] == [{"source": "london", "target": "paris"}], j["flows"]
d = [x for x in j["diagnostics"] if x["key"] == "topics.exlude"]
assert d and d[0]["severity"] == "error" and d[0]["hint"] == "did you mean topics.exclude?", d
assert len(j["diagnostics"]) == 26
PY

# ---- docs: every key of the table ------------------------------------------------------------
"$ctl" config docs >"$tmp/docs"
"$ctl" config docs --markdown >"$tmp/docs.md"
n=0
for key in $(sed -n 's/^_("\([^"]*\)".*/\1/p' "$src/control/conf_table.h"); do
	n=$((n + 1))
	grep -qF -- "$key" "$tmp/docs" || fail "config docs does not list $key"
	grep -qF -- "$key" "$tmp/docs.md" || fail "config docs --markdown does not list $key"
done
[ $n -gt 80 ] || fail "only $n keys found in conf_table.h"
grep -qF "[<source>-><target>.]topics.exclude" "$tmp/docs" || fail "docs lack placeholders"
grep -qF '| `<alias>.bootstrap.servers` | host:port list |' "$tmp/docs.md" || fail "markdown table"

# ---- usage and unreadable files --------------------------------------------------------------
set +e
"$ctl" config 2>/dev/null
[ $? -eq 2 ] || fail "config without arguments: want exit 2"
"$ctl" config check 2>/dev/null
[ $? -eq 2 ] || fail "check without a file: want exit 2"
"$ctl" config check a b 2>/dev/null
[ $? -eq 2 ] || fail "check with two files: want exit 2"
"$ctl" config docs --html 2>/dev/null
[ $? -eq 2 ] || fail "docs --html: want exit 2"
"$ctl" config check "$tmp/missing.properties" 2>"$tmp/err"
[ $? -eq 1 ] || fail "missing file: want exit 1"
set -e
grep -qF "missing.properties: No such file or directory" "$tmp/err" || fail "missing-file message"
echo "ok: $n keys documented"
