#!/bin/sh
# `ferryctl rules test` end to end, on tests/data/rules-test.yaml (every action, a header rule,
# a topic selector, a denied topic, a tokenise key file) and the built-in pii-default pack:
#  - records file: a masked card shows only its last 4 digits, a tokenised e-mail keeps its
#    length and character classes and is the same token in two records and across two runs,
#    a dropped record is missing from the forwarded batch (--out, read back with
#    `ferryctl decode`), a tagged record passes, a header rule acts only on its header, a
#    Luhn-invalid number passes, a quarantine rule holds the batch only on its topics, a
#    denied topic says denied;
#  - loadgen batch files in gzip, lz4, zstd and snappy: every batch keeps its codec, every
#    ground-truth card/IBAN/e-mail/SSN/NINO/NRIC/My Number record comes out masked, the
#    forwarded batches decode;
#  - errors: bad record line, truncated and corrupted batch files, missing file, bad rules,
#    usage (exit 1 or 2 with a message naming what is wrong).
# usage: rules_test.sh FERRYCTL SRCDIR FERRY-LOADGEN
set -eu
ctl=$1 src=$2 lg=$3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
rules=$src/tests/data/rules-test.yaml
recs=$src/tests/data/rules-test-records.txt

fail() {
	echo "FAIL: $*" >&2
	exit 1
}
# has FILE TEXT: FILE contains the fixed string TEXT
has() {
	grep -qF -- "$2" "$1" || fail "$1 lacks: $2"
}
hasnt() {
	if grep -qF -- "$2" "$1"; then fail "$1 has: $2"; fi
}

# ---- the custom rules on the records file, topic "trades" -----------------------------------
"$ctl" rules test "$rules" --records "$recs" --topic trades --out "$tmp/fwd.bin" >"$tmp/trades"
has "$tmp/trades" 'topic "trades" partition 0: inspect'
has "$tmp/trades" '  offset 0: pass'
has "$tmp/trades" '  offset 1: masked'
has "$tmp/trades" 'test.card mask value [10,29) "4111 1111 1111 1111" -> "**** **** **** 1111"'
has "$tmp/trades" 'value: "paid with 4111 1111 1111 1111 today" -> "paid with **** **** **** 1111 today"'
has "$tmp/trades" '  offset 2: tokenised'
has "$tmp/trades" '  offset 3: dropped'
has "$tmp/trades" 'test.drop drop value [0,10) "DROP-ME-42"'
has "$tmp/trades" '  offset 4: tagged'
has "$tmp/trades" 'test.vip tag value [9,14) "VIP-7"'
has "$tmp/trades" '  offset 5: masked'
has "$tmp/trades" 'test.memo mask header:x-memo [0,13) "SECRET-abc123" -> "######-######"'
hasnt "$tmp/trades" 'header:trace'
has "$tmp/trades" '  offset 6: tokenised'
has "$tmp/trades" '  offset 7: pass' # test.hold applies to orders topics only
has "$tmp/trades" '  offset 8: pass' # Luhn-invalid
has "$tmp/trades" '  offset 9: pass' # null key, null value
has "$tmp/trades" 'result: rewritten: 10 in, 9 out, 1 dropped, 2 spans masked, 2 tokenised'

# What a gateway would forward: the dropped record is missing, the card masked.
"$ctl" decode "$tmp/fwd.bin" >"$tmp/fwd" 2>"$tmp/fwd.err"
has "$tmp/fwd.err" 'decode: 9 record(s)'
hasnt "$tmp/fwd" 'DROP-ME-42'
hasnt "$tmp/fwd" '4111 1111 1111 1111'
hasnt "$tmp/fwd" 'Alice.Smith'
has "$tmp/fwd" 'paid with **** **** **** 1111 today'
has "$tmp/fwd" 'customer VIP-7 called'

# Tokens: same length and class as the e-mail, identical in two records, in two runs and
# whatever the codec.
for run in 1 2; do
	"$ctl" rules test "$rules" --records "$recs" --topic trades --json \
		--codec "$([ $run = 1 ] && echo none || echo zstd)" >"$tmp/trades$run.json"
done
python3 - "$tmp/trades1.json" "$tmp/trades2.json" <<'PY'
import json, sys

def tokens(path):
    out = {}
    for line in open(path):
        o = json.loads(line)
        if o["type"] != "record":
            continue
        for r in o["rules"]:
            if r["rule"] == "test.email":
                assert r["action"] == "tokenise", r
                for s in r["spans"]:
                    out[o["offset"]] = (s["match"], s["after"])
    return out

def cls(s):
    return "".join("9" if c.isdigit() and c.isascii() else
                   "A" if "A" <= c <= "Z" else "a" if "a" <= c <= "z" else c for c in s)

t1, t2 = tokens(sys.argv[1]), tokens(sys.argv[2])
assert sorted(t1) == [2, 6], t1
email = "Alice.Smith-99@Example-Bank.co.uk"
for off, (before, after) in t1.items():
    assert before == email, before
    assert len(after) == len(email) and cls(after) == cls(email), (email, after)
    assert after != email
assert t1[2][1] == t1[6][1], "same e-mail, different tokens in one run"
assert t1 == t2, "tokens differ between runs/codecs"
print("tokens ok:", t1[2][1])
PY

# ---- quarantine on its own topic, denied topic ----------------------------------------------
"$ctl" rules test "$rules" --records "$recs" --topic orders >"$tmp/orders"
has "$tmp/orders" '  offset 7: quarantined'
has "$tmp/orders" 'test.hold quarantine value [0,9) "HOLD-1234"'
has "$tmp/orders" 'result: quarantined by rule test.hold at offset 7'
"$ctl" rules test "$rules" --records "$recs" --topic secret.payments --out "$tmp/denied.bin" \
	>"$tmp/secret"
has "$tmp/secret" 'topic "secret.payments" partition 0: deny (matched the deny list)'
has "$tmp/secret" '  offset 1: denied'
has "$tmp/secret" 'result: denied: topic "secret.payments" is denied'
[ ! -s "$tmp/denied.bin" ] || fail "a denied batch was forwarded"

# ---- pii-default on the same records ----------------------------------------------------------
"$ctl" rules test --pack pii-default --records "$recs" >"$tmp/pack"
has "$tmp/pack" 'pii.card-number mask value [10,29) "4111 1111 1111 1111" -> "**** **** **** 1111"'
has "$tmp/pack" 'pii.email mask value [8,41) "Alice.Smith-99@Example-Bank.co.uk" -> "*****.*****-**@*******-****.**.**"'
has "$tmp/pack" '  offset 3: pass'

# ---- loadgen batch files, every codec ---------------------------------------------------------
for codec in gzip lz4 zstd snappy; do
	"$lg" --seed 11 --count 600 --pii-share 0.2 --batch-records 200 --codec "$codec" \
		--out-file "$tmp/lg-$codec.bin" --truth "$tmp/lg-$codec.truth" >/dev/null 2>&1 ||
		fail "ferry-loadgen --codec $codec"
	"$ctl" rules test --pack pii-default --batch "$tmp/lg-$codec.bin" --topic trades --json \
		--out "$tmp/lg-$codec.out" >"$tmp/lg-$codec.json"
	python3 - "$codec" "$tmp/lg-$codec.json" "$tmp/lg-$codec.truth" <<'PY'
import json, sys
codec, report, truth = sys.argv[1:]
must = {"card", "iban", "email", "ssn", "nino", "nric", "mynumber"}
recs, batches = {}, []
for line in open(report):
    o = json.loads(line)
    if o["type"] == "record":
        recs[o["offset"]] = o
    elif o["type"] == "batch":
        batches.append(o)
assert len(batches) == 3 and len(recs) == 600, (len(batches), len(recs))
for b in batches:
    assert b["codec"] == codec and b["error"] is None, b
    assert b["result"] in ("rewritten", "unchanged"), b
    assert b["records_in"] == 200 and b["records_dropped"] == 0, b
checked = 0
pii = set()
for line in open(truth):
    t = json.loads(line)
    pii.add(t["seq"])
    r = recs[t["seq"]]
    for item in t["pii"]:
        if item["type"] not in must or (item["type"] == "ssn" and item["style"] == "plain"):
            continue
        assert r["outcome"] == "masked", (t, r["outcome"])
        ch = [c for c in r["changes"] if c["field"] == "value"]
        assert ch, (t, r)
        before, after = ch[0]["before"], ch[0]["after"]
        o, n = item["off"], item["len"]
        visible = sum(c.isalnum() for c in after[o:o + n])
        assert visible <= 4 and after[o:o + n] != before[o:o + n], (item, after[o:o + n])
        checked += 1
for off, r in recs.items():
    if off not in pii:  # clean values and keys never change (headers may: traceparent ids)
        assert not [c for c in r["changes"] if c["field"] in ("key", "value")], r
assert checked > 20, checked
print(codec, "ok:", checked, "items masked")
PY
	"$ctl" decode "$tmp/lg-$codec.out" >/dev/null 2>"$tmp/lg-$codec.dec"
	has "$tmp/lg-$codec.dec" 'decode: 600 record(s)'
done

# ---- errors -----------------------------------------------------------------------------------
expect() { # expect STATUS FILE-WITH-STDERR TEXT -- command...
	want=$1 errf=$2 text=$3
	shift 4
	set +e
	"$@" >/dev/null 2>"$errf"
	got=$?
	set -e
	[ "$got" -eq "$want" ] || fail "exit $got, want $want: $*"
	[ -z "$text" ] || has "$errf" "$text"
}
printf 'k\tv\tbogus\n' >"$tmp/badline.txt"
expect 1 "$tmp/e" "$tmp/badline.txt:1: header 1: column 5: expected h:NAME=VALUE after the value" -- \
	"$ctl" rules test "$rules" --records "$tmp/badline.txt"
printf 'ok\nk\tbad \\q escape\n' >"$tmp/badesc.txt"
expect 1 "$tmp/e" "$tmp/badesc.txt:2: value: column 7: unknown escape '\\q'" -- \
	"$ctl" rules test "$rules" --records "$tmp/badesc.txt"
size=$(wc -c <"$tmp/lg-zstd.bin")
head -c $((size - 7)) "$tmp/lg-zstd.bin" >"$tmp/cut.bin"
expect 1 "$tmp/e" "$tmp/cut.bin: offset " -- "$ctl" rules test "$rules" --batch "$tmp/cut.bin"
has "$tmp/e" 'truncated batch'
# flip a byte inside the first batch's records: the CRC no longer matches
python3 -c 'import sys; b = bytearray(open(sys.argv[1], "rb").read()); b[100] ^= 0xff; open(sys.argv[2], "wb").write(b)' \
	"$tmp/lg-gzip.bin" "$tmp/crc.bin"
expect 1 "$tmp/e" "$tmp/crc.bin: offset 0: bad batch: " -- \
	"$ctl" rules test "$rules" --batch "$tmp/crc.bin"
grep -qi 'crc' "$tmp/e" || fail "CRC error not named: $(cat "$tmp/e")"
expect 1 "$tmp/e" "$tmp/missing.bin: No such file or directory" -- \
	"$ctl" rules test "$rules" --batch "$tmp/missing.bin"
cat >"$tmp/bad.yaml" <<'YAML'
version: 1
rules:
  - name: other
    patterns: ['x']
    action: explode
YAML
expect 1 "$tmp/e" "$tmp/bad.yaml:5: rule 'other': unknown action 'explode'" -- \
	"$ctl" rules test "$tmp/bad.yaml" --records "$recs"
expect 2 "$tmp/e" "give --records FILE or --batch FILE" -- "$ctl" rules test "$rules"
expect 2 "$tmp/e" "give a rules FILE or --pack NAME" -- \
	"$ctl" rules test "$rules" --pack pii-default --records "$recs"
expect 2 "$tmp/e" "--codec: unknown codec 'brotli'" -- \
	"$ctl" rules test "$rules" --records "$recs" --codec brotli
expect 2 "$tmp/e" "--partition: '-1' is not a partition number" -- \
	"$ctl" rules test "$rules" --records "$recs" --partition -1
echo ok
