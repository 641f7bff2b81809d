#!/bin/sh
# Installs ferry's build, test and demo dependencies from Debian 12's archive.
# Idempotent and non-interactive: does nothing when every package is present.
# Called by the README's two quick-start commands (scripts/demo.sh, scripts/test.sh) and,
# through scripts/test.sh, by .ci/run.
set -eu

# python3-prometheus-client (its text parser) and dpdk-dev (dpdk-telemetry.py) are the
# independent clients of the metrics integration tests; stunnel4 is the TLS terminator in
# front of ferry-brokersim in tests/integration/uring_tls.sh; libipsec-mb-dev is the
# intel-ipsec-mb AES-GCM that benchmarks/bench_aead measures against OpenSSL.
PKGS="build-essential pkg-config meson ninja-build clang libclang-rt-14-dev
 libdpdk-dev librdkafka-dev liburing-dev libhyperscan-dev libcmocka-dev
 libisal-dev libipsec-mb-dev libsnappy-dev liblz4-dev libzstd-dev libdeflate-dev
 libssl-dev openssl libyaml-dev libpcre2-dev libmicrohttpd-dev kcat tshark python3
 python3-prometheus-client dpdk-dev curl procps stunnel4
 gnuplot-nox iperf3 iproute2 systemd"

missing=""
for p in $PKGS; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing="$missing $p"
	fi
done

if [ -z "$missing" ]; then
	exit 0
fi

echo "install-deps: installing:$missing" >&2
SUDO=""
if [ "$(id -u)" != 0 ]; then
	SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
# tshark asks whether non-root users may capture, iperf3 whether to run a daemon; answer both.
echo "wireshark-common wireshark-common/install-setuid boolean false" | $SUDO debconf-set-selections
echo "iperf3 iperf3/start_daemon boolean false" | $SUDO debconf-set-selections
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing
