#!/bin/sh
# `ferryctl rules check` end to end: a good file (the sample, with the built-in pack) exits 0
# and prints the database sizes; the built-in pack checks on its own; a bad file exits 1 and
# reports FILE:LINE with the rule name.
# usage: rules_check.sh FERRYCTL SRCDIR
set -eu
ctl=$1 src=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

"$ctl" rules check "$src/control/rules/example.yaml" >"$tmp/out"
grep -q 'ok: 11 rules' "$tmp/out"
grep -Eq '^record db: [1-9][0-9]* bytes' "$tmp/out"
grep -Eq '^topic db: [1-9][0-9]* bytes' "$tmp/out"

"$ctl" rules check --pack pii-default >"$tmp/out"
grep -q 'pii.card-number' "$tmp/out"

cat >"$tmp/bad.yaml" <<'YAML'
version: 1
rules:
  - name: broken
    patterns: ['a(b']
    action: mask
  - name: other
    patterns: ['x']
    action: explode
YAML
if "$ctl" rules check "$tmp/bad.yaml" >"$tmp/out" 2>"$tmp/err"; then
	echo "bad file accepted" >&2
	exit 1
fi
grep -q "$tmp/bad.yaml:8: rule 'other': unknown action 'explode'" "$tmp/err"

sed -i 's/explode/drop/' "$tmp/bad.yaml"
if "$ctl" rules check "$tmp/bad.yaml" >"$tmp/out" 2>"$tmp/err"; then
	echo "bad regex accepted" >&2
	exit 1
fi
grep -q "$tmp/bad.yaml:4: rule 'broken': patterns\[0\] \"a(b\": bad regex" "$tmp/err"

set +e
"$ctl" rules check "$tmp/missing.yaml" 2>/dev/null
[ $? -eq 1 ] || exit 1
"$ctl" rules bogus 2>/dev/null
[ $? -eq 2 ] || exit 1
echo ok
