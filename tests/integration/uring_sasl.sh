#!/bin/sh
# uring_sasl.sh - the io_uring Kafka client (dataplane/uring) logging in with SASL against
# ferry-brokersim on a SASL_PLAINTEXT listener: PLAIN (alice), SCRAM-SHA-256 (bob) and
# SCRAM-SHA-512 (carol). Until a connection has authenticated, the simulator answers only
# ApiVersions, SaslHandshake and SaslAuthenticate and closes it on anything else, as a
# broker does; a wrong password is answered SASL_AUTHENTICATION_FAILED and closed.
#
# Why kcat first: the simulator's SASL server is code written here too, so librdkafka
# (kcat), a client nobody here wrote, shows each mechanism works - Metadata, produce and
# fetch back after logging in, and a wrong password refused and counted by the simulator -
# before the uring client is tried. A failure after that is the uring client's, not the
# harness's.
#
# usage: uring_sasl.sh BUILD_DIR
# Runs "$BUILD_DIR/tests/integration/test_uring sasl" with FERRY_SASL_BOOTSTRAP and
# FERRY_SASL_TOPIC and exits with its status: 0 pass, 77 skip, anything else fail. Exits 77
# as well when kcat is missing or test_uring is not built. Logs live in a private temp dir,
# removed at exit with every process started here.
set -u
BUILD=${1:?usage: uring_sasl.sh BUILD_DIR}
BROKERSIM=$BUILD/benchmarks/brokersim/ferry-brokersim
TEST_URING=$BUILD/tests/integration/test_uring
TOPIC=sasl-sink   # test_uring's: left empty for it
KTOPIC=sasl-kcat  # kcat's own records
# MECHANISM:USER:PASSWORD, one per mechanism (the same users test_uring logs in as)
USERS="PLAIN:alice:alice-secret SCRAM-SHA-256:bob:bob-secret SCRAM-SHA-512:carol:carol-secret"

log() { printf 'uring_sasl: %s\n' "$*"; }
die() { printf 'uring_sasl: FAIL: %s\n' "$*"; exit 1; }

command -v kcat >/dev/null 2>&1 || { echo "SKIP: kcat not installed"; exit 77; }
[ -x "$BROKERSIM" ] || die "missing $BROKERSIM (build first)"

T=$(mktemp -d /tmp/ferry-sasl.XXXXXX) || die "mktemp"
SIM_PID=''
cleanup() {
	for p in $SIM_PID; do kill -TERM "$p" 2>/dev/null; done
	for p in $SIM_PID; do wait "$p" 2>/dev/null; done
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# tail_logs FILE...: the end of each log, for a failure message. With FROM=N set, only
# what came after line N (a step's own lines, not the earlier steps').
tail_logs() {
	for f in "$@"; do
		[ -s "$f" ] || continue
		lines=$(tail -n +$((${FROM:-0} + 1)) "$f" | tail -n 15)
		[ -n "$lines" ] && printf -- '--- %s\n%s\n' "${f#"$T"/}" "$lines"
	done
	return 0
}

# ---- 1. ferry-brokersim with three SASL users ------------------------------------------------
# --stats-interval: a "stats sasl_ok=N sasl_failed=N ..." line every 0.2 s, so each step
# can see the simulator count its login.
"$BROKERSIM" --listen 127.0.0.1:0 --store --topic $TOPIC:2 --topic $KTOPIC:1 \
	--sasl-plain alice:alice-secret --sasl-scram SCRAM-SHA-256:bob:bob-secret \
	--sasl-scram SCRAM-SHA-512:carol:carol-secret --stats-interval 0.2 \
	>"$T/brokersim.out" 2>"$T/brokersim.err" &
SIM_PID=$!
i=0
while [ ! -s "$T/brokersim.out" ] && kill -0 $SIM_PID 2>/dev/null && [ $i -lt 100 ]; do
	sleep 0.1; i=$((i + 1)); done
SIM_ADDR=$(head -n 1 "$T/brokersim.out")
case $SIM_ADDR in
*:[0-9]*) ;;
*) tail_logs "$T/brokersim.err"; die "ferry-brokersim did not start" ;;
esac
log "ferry-brokersim (pid $SIM_PID) on $SIM_ADDR, SASL_PLAINTEXT: PLAIN alice," \
	"SCRAM-SHA-256 bob, SCRAM-SHA-512 carol; sink topics $TOPIC (2 partitions), $KTOPIC"

# sasl_count ok|failed: the simulator's count in its latest stats line (empty if none yet)
sasl_count() {
	grep '^stats sasl_ok=' "$T/brokersim.out" | tail -n 1 |
		sed -n "s/.* sasl_$1=\([0-9]*\).*/\1/p"
}
# wait_count ok|failed N: until that count is above N (2 s at most); prints it
wait_count() {
	i=0
	while :; do
		n=$(sasl_count "$1")
		if [ -n "$n" ] && [ "$n" -gt "$2" ]; then echo "$n"; return 0; fi
		[ $i -ge 20 ] && { echo "${n:-none}"; return 1; }
		sleep 0.1; i=$((i + 1))
	done
}
i=0
until [ -n "$(sasl_count ok)" ] || [ $i -ge 20 ]; do sleep 0.1; i=$((i + 1)); done
[ -n "$(sasl_count ok)" ] || { tail_logs "$T/brokersim.out"; die "no SASL stats line"; }

# Not logged in: a plaintext client is closed at its first request after ApiVersions.
if timeout 30 kcat -L -b "$SIM_ADDR" -m 3 >"$T/kcat-nosasl.log" 2>&1; then
	tail_logs "$T/kcat-nosasl.log"
	die "kcat without SASL got metadata from a SASL_PLAINTEXT listener"
fi
grep -q 'Metadata before SASL authentication: closing' "$T/brokersim.err" ||
	{ tail_logs "$T/kcat-nosasl.log" "$T/brokersim.err";
	  die "ferry-brokersim did not close a connection that skipped SASL"; }
log "kcat -L without SASL refused, as expected (Metadata before authenticating: closed)"

# ---- 2. librdkafka (kcat) per mechanism: Metadata, produce, fetch back, a wrong password ---
: >"$T/records.all"
for u in $USERS; do
	MECH=${u%%:*} rest=${u#*:}
	SUSER=${rest%%:*} SPASS=${rest#*:}
	KCAT_SASL="-X security.protocol=SASL_PLAINTEXT -X sasl.mechanisms=$MECH"
	KCAT_SASL="$KCAT_SASL -X sasl.username=$SUSER"
	n_ok=$(sasl_count ok)

	# shellcheck disable=SC2086
	timeout 30 kcat -L -b "$SIM_ADDR" -t $KTOPIC -m 10 $KCAT_SASL -X sasl.password="$SPASS" \
		>"$T/kcat-metadata-$MECH.log" 2>&1 ||
		{ tail_logs "$T/kcat-metadata-$MECH.log" "$T/brokersim.err"; die "$MECH: kcat -L as $SUSER"; }
	if ! grep -q "broker 1 at $SIM_ADDR" "$T/kcat-metadata-$MECH.log" ||
		! grep -q 'topic "'$KTOPIC'" with 1 partitions' "$T/kcat-metadata-$MECH.log"; then
		tail_logs "$T/kcat-metadata-$MECH.log"
		die "$MECH: Metadata lacks broker 1 at $SIM_ADDR or $KTOPIC"
	fi
	got=$(wait_count ok "$n_ok") ||
		{ tail_logs "$T/brokersim.out"; die "$MECH: ferry-brokersim counted no login ($got)"; }
	log "$MECH as $SUSER: kcat -L lists broker 1 at $SIM_ADDR and $KTOPIC (sasl_ok $n_ok -> $got)"

	# A few records of this round; the partition then holds every round's, in order.
	printf '%s-k1\t%s-v1\n%s-k2\t%s-v2\n%s-k3\t%s-v3\n' "$SUSER" "$MECH" \
		"$SUSER" "$MECH" "$SUSER" "$MECH" \
		>"$T/records.in"
	cat "$T/records.in" >>"$T/records.all"
	# shellcheck disable=SC2086
	timeout 30 kcat -P -b "$SIM_ADDR" -t $KTOPIC -p 0 -K '\t' $KCAT_SASL \
		-X sasl.password="$SPASS" <"$T/records.in" >"$T/kcat-produce-$MECH.log" 2>&1 ||
		{ tail_logs "$T/kcat-produce-$MECH.log" "$T/brokersim.err";
		  die "$MECH: kcat could not produce to $KTOPIC as $SUSER"; }
	# shellcheck disable=SC2086
	timeout 30 kcat -C -b "$SIM_ADDR" -t $KTOPIC -p 0 -o beginning -e -f '%k\t%s\n' \
		$KCAT_SASL -X sasl.password="$SPASS" >"$T/records.out" 2>"$T/kcat-consume-$MECH.log" ||
		{ tail_logs "$T/kcat-consume-$MECH.log" "$T/brokersim.err";
		  die "$MECH: kcat could not fetch $KTOPIC as $SUSER"; }
	cmp -s "$T/records.all" "$T/records.out" ||
		{ echo "--- produced"; cat "$T/records.all"; echo "--- fetched"; cat "$T/records.out";
		  die "$MECH: kcat fetched other records than were produced"; }
	log "$MECH as $SUSER: kcat -P 3 records to $KTOPIC/0, kcat -C fetched all" \
		"$(wc -l <"$T/records.out") back in order"

	# Expected failure: the wrong password, refused by the simulator and counted.
	n_failed=$(sasl_count failed)
	# shellcheck disable=SC2086
	if timeout 30 kcat -L -b "$SIM_ADDR" -m 3 $KCAT_SASL -X sasl.password="$SPASS-wrong" \
		>"$T/kcat-wrong-$MECH.log" 2>&1; then
		tail_logs "$T/kcat-wrong-$MECH.log"
		die "$MECH: kcat got metadata as $SUSER with a wrong password"
	fi
	got=$(wait_count failed "$n_failed") ||
		{ tail_logs "$T/kcat-wrong-$MECH.log" "$T/brokersim.out";
		  die "$MECH: ferry-brokersim counted no failed login ($got)"; }
	why=$(grep -m1 -o 'SASL authentication error: [A-Za-z :]*[A-Za-z]' "$T/kcat-wrong-$MECH.log")
	log "$MECH as $SUSER with a wrong password: refused, as expected" \
		"(${why:-$(tail -n 1 "$T/kcat-wrong-$MECH.log")}; sasl_failed $n_failed -> $got)"
done

# ---- 3. the io_uring client's SASL scenario --------------------------------------------------
if [ ! -x "$TEST_URING" ]; then
	echo "SKIP: $TEST_URING not built (the kcat cross-check above passed)"
	exit 77
fi
log "running $TEST_URING sasl (FERRY_SASL_BOOTSTRAP=$SIM_ADDR FERRY_SASL_TOPIC=$TOPIC)"
n_sim=$(wc -l <"$T/brokersim.err")
FERRY_SASL_BOOTSTRAP=$SIM_ADDR FERRY_SASL_TOPIC=$TOPIC "$TEST_URING" sasl
rc=$?
case $rc in
0) log "ok: test_uring sasl passed" ;;
77) log "SKIP: test_uring sasl skipped" ;;
*)
	FROM=$n_sim tail_logs "$T/brokersim.err"
	log "FAIL: test_uring sasl exited $rc"
	;;
esac
exit $rc
