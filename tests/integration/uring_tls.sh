#!/bin/sh
# uring_tls.sh - the io_uring Kafka client (dataplane/uring) over TLS against a real TLS
# terminator: stunnel in front of ferry-brokersim, which advertises stunnel's port in its
# Metadata and FindCoordinator answers (--advertise localhost:PORT), so every connection a
# client opens after bootstrap goes through TLS too.
#
# Why stunnel and kcat: the TLS side is then code nobody here wrote (stunnel's OpenSSL
# server), and librdkafka (kcat) first shows the setup works - produce to the sink topic
# and fetch the records back over TLS, and a wrong CA refused - so a failure of the
# uring client afterwards is the uring client's, not the harness's. A second simulator with a
# SCRAM-SHA-512 user behind its own stunnel service covers SASL_SSL (SASL inside TLS).
#
# usage: uring_tls.sh BUILD_DIR
#   TLS_MUTUAL=1  stunnel requires a client certificate signed by the CA (default: none
#                 asked for)
# Runs "$BUILD_DIR/tests/integration/test_uring tls" with FERRY_TLS_BOOTSTRAP, FERRY_TLS_CA,
# FERRY_TLS_WRONG_CA, FERRY_TLS_CERT, FERRY_TLS_KEY (and FERRY_TLS_TOPIC, FERRY_TLS_MUTUAL)
# and exits with its status: 0 pass, 77 skip, anything else fail. Exit 77 as well when
# stunnel, openssl or kcat is missing, or test_uring is not built. Certificates, configs and
# logs live in a private temp dir, removed at exit with every process started here.
set -u
BUILD=${1:?usage: uring_tls.sh BUILD_DIR}
MUTUAL=${TLS_MUTUAL:-0}
BROKERSIM=$BUILD/benchmarks/brokersim/ferry-brokersim
TEST_URING=$BUILD/tests/integration/test_uring
TOPIC=tls-sink   # test_uring's: left empty for it
KTOPIC=tls-kcat  # kcat's own records

log() { printf 'uring_tls: %s\n' "$*"; }
die() { printf 'uring_tls: FAIL: %s\n' "$*"; exit 1; }

for c in stunnel openssl kcat; do
	command -v $c >/dev/null 2>&1 || { echo "SKIP: $c not installed (stunnel4, openssl, kcat)"; exit 77; }
done
[ -x "$BROKERSIM" ] || die "missing $BROKERSIM (build first)"

T=$(mktemp -d /tmp/ferry-tls.XXXXXX) || die "mktemp"
SIM_PID='' SIM2_PID='' TUN_PID=''
cleanup() {
	for p in $TUN_PID $SIM_PID $SIM2_PID; do kill -TERM "$p" 2>/dev/null; done
	for p in $TUN_PID $SIM_PID $SIM2_PID; do wait "$p" 2>/dev/null; done
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

# ---- 1. certificates: CA, server (localhost, 127.0.0.1), client, an unrelated CA ----------
(
	cd "$T" || exit 1
	for ca in ca wrong-ca; do
		openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
			-keyout $ca.key -out $ca.crt -days 1 -subj "/CN=ferry tls test $ca" || exit 1
	done
	printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' >server.ext
	printf 'extendedKeyUsage=clientAuth\n' >client.ext
	for n in server:localhost client:ferry-client; do
		f=${n%%:*}
		openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$f.key" \
			-out "$f.csr" -subj "/CN=${n#*:}" || exit 1
		openssl x509 -req -in "$f.csr" -CA ca.crt -CAkey ca.key -CAcreateserial \
			-out "$f.crt" -days 1 -extfile "$f.ext" || exit 1
	done
	openssl verify -CAfile ca.crt server.crt client.crt || exit 1
) >"$T/openssl.log" 2>&1 || { cat "$T/openssl.log"; die "certificate generation"; }
log "certificates: CA, server (DNS:localhost, IP:127.0.0.1), client (CN=ferry-client), wrong CA (EC P-256, 1 day)"

# ---- 2. the TLS port: below the kernel's ephemeral range, skipping ports in use -----------
PORT=$((20000 + $$ % 5000))
in_use() { command -v ss >/dev/null 2>&1 && ss -Htan 2>/dev/null | awk '{print $4}' | grep -q ":$1\$"; }
while in_use $PORT; do PORT=$((PORT + 1)); done
BOOTSTRAP=localhost:$PORT

# ---- 3. ferry-brokersim, advertising the TLS port -----------------------------------------
# a source topic too: 20,000 loadgen records (~1 KiB) in ~200-record batches, read in bulk
LOADGEN=$BUILD/benchmarks/loadgen/ferry-loadgen
SRC_TOPIC=tls-src SRC_RECORDS=20000
"$LOADGEN" --seed 3 --count $SRC_RECORDS --out-file "$T/src.batches" --batch-records 200 \
	>"$T/loadgen.log" 2>&1 || { tail_logs "$T/loadgen.log"; die "ferry-loadgen failed"; }
"$BROKERSIM" --listen 127.0.0.1:0 --advertise "$BOOTSTRAP" --store --topic $TOPIC:2 --topic $KTOPIC:1 \
	--topic "$SRC_TOPIC:1:source=$T/src.batches" --source-records $SRC_RECORDS \
	>"$T/brokersim.out" 2>"$T/brokersim.err" &
SIM_PID=$!
i=0
while [ ! -s "$T/brokersim.out" ] && kill -0 $SIM_PID 2>/dev/null && [ $i -lt 100 ]; do
	sleep 0.1; i=$((i + 1)); done
SIM_ADDR=$(head -n 1 "$T/brokersim.out")
[ -n "$SIM_ADDR" ] || { tail_logs "$T/brokersim.err"; die "ferry-brokersim did not start"; }
log "ferry-brokersim (pid $SIM_PID) on $SIM_ADDR, advertising $BOOTSTRAP, sink topic $TOPIC (2 partitions, --store)"

# a second simulator for SASL_SSL: SCRAM-SHA-512 inside the TLS of its own stunnel service
PORT2=$((PORT + 1))
while in_use $PORT2; do PORT2=$((PORT2 + 1)); done
SASL_BOOTSTRAP=localhost:$PORT2
"$BROKERSIM" --listen 127.0.0.1:0 --advertise "$SASL_BOOTSTRAP" --store --topic tls-sasl:1 \
	--sasl-scram SCRAM-SHA-512:carol:carol-secret >"$T/brokersim2.out" 2>"$T/brokersim2.err" &
SIM2_PID=$!
i=0
while [ ! -s "$T/brokersim2.out" ] && kill -0 $SIM2_PID 2>/dev/null && [ $i -lt 100 ]; do
	sleep 0.1; i=$((i + 1)); done
SIM2_ADDR=$(head -n 1 "$T/brokersim2.out")
[ -n "$SIM2_ADDR" ] || { tail_logs "$T/brokersim2.err"; die "the SASL ferry-brokersim did not start"; }

# ---- 4. stunnel: TLS on 127.0.0.1:PORT, plaintext to the simulator ------------------------
if [ "$MUTUAL" = 1 ]; then verify=yes; else verify=no; fi
cat >"$T/stunnel.conf" <<CONF
foreground = yes
pid = $T/stunnel.pid
output = $T/stunnel.log
syslog = no
debug = info

[kafka-tls]
accept = 127.0.0.1:$PORT
connect = $SIM_ADDR
cert = $T/server.crt
key = $T/server.key
CAfile = $T/ca.crt
verifyChain = $verify
requireCert = $verify

[kafka-sasl-ssl]
accept = 127.0.0.1:$PORT2
connect = $SIM2_ADDR
cert = $T/server.crt
key = $T/server.key
CAfile = $T/ca.crt
verifyChain = $verify
requireCert = $verify
CONF
stunnel "$T/stunnel.conf" >"$T/stunnel.stderr" 2>&1 &
TUN_PID=$!
i=0
until ss -Htln 2>/dev/null | awk '{print $4}' | grep -q "^127\.0\.0\.1:$PORT\$"; do
	if ! kill -0 $TUN_PID 2>/dev/null || [ $i -ge 100 ]; then
		tail_logs "$T/stunnel.stderr"
		die "stunnel did not listen on 127.0.0.1:$PORT"
	fi
	sleep 0.1; i=$((i + 1))
done
log "stunnel (pid $TUN_PID) on 127.0.0.1:$PORT -> $SIM_ADDR, client certificate required: $verify"

# A handshake on its own first: the certificate chain and the name clients will check.
openssl s_client -connect 127.0.0.1:$PORT -servername localhost -verify_hostname localhost \
	-CAfile "$T/ca.crt" -cert "$T/client.crt" -key "$T/client.key" -verify_return_error \
	</dev/null >"$T/s_client.log" 2>&1 ||
	{ tail_logs "$T/s_client.log" "$T/stunnel.log"; die "openssl s_client handshake with stunnel"; }
grep -q 'Verify return code: 0 (ok)' "$T/s_client.log" ||
	{ tail_logs "$T/s_client.log"; die "openssl s_client: server certificate not verified"; }
log "openssl s_client: handshake ok ($(grep -m1 -o 'TLSv[0-9.]*, Cipher is [A-Z0-9_-]*' \
	"$T/s_client.log")), server certificate verified for localhost"

# ---- 5. librdkafka (kcat) over TLS: produce, fetch back, a wrong CA refused ---------------
# v4 only: stunnel accepts on 127.0.0.1, and "localhost" may also resolve to ::1.
KCAT_TLS="-X broker.address.family=v4 -X security.protocol=SSL"
KCAT_ID=""
[ "$MUTUAL" = 1 ] && KCAT_ID="-X ssl.certificate.location=$T/client.crt -X ssl.key.location=$T/client.key"

# Metadata through the terminator must name the terminator, not the simulator's own port.
# shellcheck disable=SC2086
timeout 30 kcat -L -b "$BOOTSTRAP" -t $TOPIC -m 10 $KCAT_TLS -X ssl.ca.location="$T/ca.crt" \
	$KCAT_ID >"$T/kcat-metadata.log" 2>&1 ||
	{ tail_logs "$T/kcat-metadata.log" "$T/stunnel.log"; die "kcat -L over TLS"; }
grep -q "broker 1 at $BOOTSTRAP" "$T/kcat-metadata.log" ||
	{ tail_logs "$T/kcat-metadata.log"; die "Metadata does not advertise $BOOTSTRAP"; }
grep -q 'topic "'$TOPIC'" with 2 partitions' "$T/kcat-metadata.log" ||
	{ tail_logs "$T/kcat-metadata.log"; die "Metadata lacks $TOPIC with 2 partitions"; }
log "kcat -L: Metadata over TLS lists broker 1 at $BOOTSTRAP and $TOPIC with 2 partitions"

printf 'k1\tv1\nk2\tv2\nk3\tv3\n' >"$T/records.in"
# shellcheck disable=SC2086
timeout 30 kcat -P -b "$BOOTSTRAP" -t $KTOPIC -p 0 -K '\t' $KCAT_TLS \
	-X ssl.ca.location="$T/ca.crt" $KCAT_ID <"$T/records.in" >"$T/kcat-produce.log" 2>&1 ||
	{ tail_logs "$T/kcat-produce.log" "$T/stunnel.log" "$T/brokersim.err";
	  die "kcat could not produce to $KTOPIC over TLS"; }
log "kcat -P: 3 records produced to $KTOPIC/0 over TLS via $BOOTSTRAP"

# shellcheck disable=SC2086
timeout 30 kcat -C -b "$BOOTSTRAP" -t $KTOPIC -p 0 -o beginning -e -f '%k\t%s\n' $KCAT_TLS \
	-X ssl.ca.location="$T/ca.crt" $KCAT_ID >"$T/records.out" 2>"$T/kcat-consume.log" ||
	{ tail_logs "$T/kcat-consume.log" "$T/stunnel.log" "$T/brokersim.err";
	  die "kcat could not fetch $KTOPIC over TLS"; }
cmp -s "$T/records.in" "$T/records.out" ||
	{ echo "--- produced"; cat "$T/records.in"; echo "--- fetched"; cat "$T/records.out";
	  die "kcat fetched other records than it produced"; }
log "kcat -C: the same 3 records fetched back from $KTOPIC/0 over TLS"

# Expected failure: a CA that did not sign the server certificate.
# shellcheck disable=SC2086
if timeout 30 kcat -L -b "$BOOTSTRAP" -m 5 $KCAT_TLS -X ssl.ca.location="$T/wrong-ca.crt" \
	$KCAT_ID >"$T/kcat-wrongca.log" 2>&1; then
	tail_logs "$T/kcat-wrongca.log"
	die "kcat with the wrong CA got metadata: the server certificate was not checked"
fi
why=$(grep -m1 -o 'certificate verify failed: [a-z ]*' "$T/kcat-wrongca.log")
log "kcat -L with the wrong CA refused, as expected (${why:-$(tail -n 1 "$T/kcat-wrongca.log")})"

# Expected failure with TLS_MUTUAL=1: no client certificate.
if [ "$MUTUAL" = 1 ]; then
	# shellcheck disable=SC2086
	if timeout 30 kcat -L -b "$BOOTSTRAP" -m 5 $KCAT_TLS -X ssl.ca.location="$T/ca.crt" \
		>"$T/kcat-nocert.log" 2>&1; then
		tail_logs "$T/kcat-nocert.log"
		die "kcat without a client certificate got metadata although stunnel requires one"
	fi
	log "kcat -L without a client certificate refused, as expected"
fi

# ---- 6. the io_uring client's TLS scenario -------------------------------------------------
if [ ! -x "$TEST_URING" ]; then
	echo "SKIP: $TEST_URING not built (the kcat cross-check above passed)"
	exit 77
fi
log "running $TEST_URING tls (FERRY_TLS_BOOTSTRAP=$BOOTSTRAP)"
n_tun=$(wc -l <"$T/stunnel.log")
n_sim=$(wc -l <"$T/brokersim.err")
FERRY_TLS_BOOTSTRAP=$BOOTSTRAP FERRY_TLS_CA=$T/ca.crt FERRY_TLS_WRONG_CA=$T/wrong-ca.crt \
	FERRY_TLS_CERT=$T/client.crt FERRY_TLS_KEY=$T/client.key \
	FERRY_TLS_TOPIC=$TOPIC FERRY_TLS_MUTUAL=$MUTUAL \
	FERRY_TLS_SRC_TOPIC=$SRC_TOPIC FERRY_TLS_SRC_RECORDS=$SRC_RECORDS \
	FERRY_SASL_SSL_BOOTSTRAP=$SASL_BOOTSTRAP \
	"$TEST_URING" tls
rc=$?
case $rc in
0) log "ok: test_uring tls passed" ;;
77) log "SKIP: test_uring tls skipped" ;;
*)
	FROM=$n_tun tail_logs "$T/stunnel.log"
	FROM=$n_sim tail_logs "$T/brokersim.err"
	log "FAIL: test_uring tls exited $rc"
	;;
esac
exit $rc
