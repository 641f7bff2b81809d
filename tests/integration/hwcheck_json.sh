#!/bin/sh
# hwcheck_json.sh - `ferry-hwcheck` end to end (issue 9):
#  - on this host (a CI VM without NICs or hugepages): runs, exits 0 or 1 as its JSON's
#    "ready" says, every finding has the required fields, and what it cannot see is marked;
#  - on two fake hosts built under --sysroot: a ready one (exit 0, no error) and a broken one
#    (exit 1 with the expected findings: no hugepages, lcores not isolated, port on a kernel
#    driver, port on a remote NUMA node);
#  - --memory --json matches the worked example of hw/README.md;
#  - usage errors exit 2.
# Needs python3 (json). Usage: hwcheck_json.sh FERRY_HWCHECK SOURCE_ROOT
set -eu
hw=$1
src=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
command -v python3 >/dev/null || { echo "SKIP: python3 not found"; exit 77; }

# validate FILE RC [EXPECT...]: JSON shape, rc agrees with "ready", then expectations
# written as check=severity (that finding exists with that severity) or !check (absent).
validate() {
	python3 - "$@" <<'EOF'
import json, sys
path, rc = sys.argv[1], int(sys.argv[2])
doc = json.load(open(path))
for k in ("tool", "version", "ready", "host", "config", "summary", "findings", "memory"):
    assert k in doc, "missing top-level field %s" % k
assert doc["tool"] == "ferry-hwcheck"
for k in ("cpu_model", "cpus", "numa_nodes"):
    assert k in doc["host"], "host lacks " + k
sev = {"ok", "info", "warning", "error"}
count = {s: 0 for s in sev}
unseen = 0
for f in doc["findings"]:
    for k in ("check", "severity", "seen", "message", "fix"):
        assert k in f, "finding lacks %s: %r" % (k, f)
    assert f["severity"] in sev, f
    assert isinstance(f["seen"], bool) and f["message"], f
    assert f["fix"] is None or isinstance(f["fix"], str)
    if f["severity"] in ("error", "warning"):
        assert f["fix"] or f["check"].startswith("memory"), "no fix for %r" % f
    count[f["severity"]] += 1
    unseen += not f["seen"]
for s in sev:
    assert doc["summary"][s] == count[s], "summary %s" % s
assert doc["summary"]["unseen"] == unseen
assert doc["ready"] == (count["error"] == 0), "ready vs errors"
assert rc == (0 if doc["ready"] else 1), "exit %d but ready=%s" % (rc, doc["ready"])
checks = [("cpu.flags",), ("hugepages.configured",), ("hugepages.mounted",), ("cores.online",),
          ("iommu.enabled",), ("iommu.vfio",), ("memlock",)]
names = {f["check"] for f in doc["findings"]}
for c in checks:
    assert c[0] in names, "no %s finding" % c[0]
by = {}
for f in doc["findings"]:
    by.setdefault(f["check"], []).append(f["severity"])
for e in sys.argv[3:]:
    if e.startswith("!"):
        assert e[1:] not in by, "unexpected %s: %r" % (e[1:], by.get(e[1:]))
    elif e.startswith("unseen>"):
        assert unseen > int(e[7:]), "expected findings marked unseen"
    else:
        c, s = e.split("=")
        assert s in by.get(c, []), "%s: want %s, got %r" % (c, s, by.get(c))
print("ok: %d findings, ready=%s, %d unseen" % (len(doc["findings"]), doc["ready"], unseen))
EOF
}

# ---- this host ------------------------------------------------------------------------------
rc=0
"$hw" --json >"$tmp/host.json" || rc=$?
[ "$rc" -le 1 ] || fail "ferry-hwcheck on this host exited $rc"
validate "$tmp/host.json" "$rc" || fail "host report"
# The text report runs too and ends with the verdict.
rc=0
"$hw" >"$tmp/host.txt" || rc=$?
tail -n 1 "$tmp/host.txt" | grep -Eq '^(READY|NOT READY): ' || fail "text report has no verdict"

# ---- fake hosts --------------------------------------------------------------------------------
# mkhost DIR good|bad
mkhost() {
	r=$1
	mkdir -p "$r/proc" "$r/sys/devices/system/cpu/smt" "$r/sys/devices/system/node/node0" \
		"$r/sys/bus/pci/devices/0000:3b:00.0" "$r/sys/bus/pci/drivers/vfio-pci" \
		"$r/sys/bus/pci/drivers/ixgbe" "$r/sys/kernel/iommu_groups/12" \
		"$r/sys/module/vfio_pci" "$r/dev/vfio"
	printf 'processor\t: 0\nmodel name\t: Fake Xeon 8-core\nflags\t\t: fpu sse4_2 aes pclmulqdq avx2 x2apic\n' \
		>"$r/proc/cpuinfo"
	printf 'Hugepagesize:    1048576 kB\n' >"$r/proc/meminfo"
	echo 0-7 >"$r/sys/devices/system/cpu/online"
	echo 0 >"$r/sys/devices/system/cpu/smt/active"
	echo 0-7 >"$r/sys/devices/system/node/node0/cpulist"
	for c in 0 1 2 3 4 5 6 7; do
		mkdir -p "$r/sys/devices/system/cpu/cpu$c/topology" "$r/sys/devices/system/cpu/cpu$c/cpufreq"
		echo "$c" >"$r/sys/devices/system/cpu/cpu$c/topology/thread_siblings_list"
		echo performance >"$r/sys/devices/system/cpu/cpu$c/cpufreq/scaling_governor"
	done
	d="$r/sys/bus/pci/devices/0000:3b:00.0"
	echo 0x020000 >"$d/class"
	echo 0x8086 >"$d/vendor"
	echo 0x10fb >"$d/device"
	: >"$r/dev/vfio/vfio"
	for s in 2048 1048576; do
		mkdir -p "$r/sys/devices/system/node/node0/hugepages/hugepages-${s}kB"
	done
	hp="$r/sys/devices/system/node/node0/hugepages"
	if [ "$2" = good ]; then
		echo 'BOOT_IMAGE=/vmlinuz root=/dev/sda1 isolcpus=managed_irq,domain,2-7 nohz_full=2-7 rcu_nocbs=2-7 irqaffinity=0-1 intel_iommu=on iommu=pt' \
			>"$r/proc/cmdline"
		echo 2-7 >"$r/sys/devices/system/cpu/isolated"
		echo 2-7 >"$r/sys/devices/system/cpu/nohz_full"
		echo 'hugetlbfs /dev/hugepages1G hugetlbfs rw,relatime,pagesize=1024M 0 0' >"$r/proc/mounts"
		echo 2 >"$hp/hugepages-1048576kB/nr_hugepages"
		echo 2 >"$hp/hugepages-1048576kB/free_hugepages"
		echo 0 >"$d/numa_node"
		ln -s ../../../bus/pci/drivers/vfio-pci "$d/driver"
	else
		echo 'BOOT_IMAGE=/vmlinuz root=/dev/sda1 quiet' >"$r/proc/cmdline"
		: >"$r/sys/devices/system/cpu/isolated"
		echo 'proc /proc proc rw 0 0' >"$r/proc/mounts"
		echo 0 >"$hp/hugepages-1048576kB/nr_hugepages"
		echo 0 >"$hp/hugepages-1048576kB/free_hugepages"
		# on node 1 (whose CPUs 8-15 are offline here), still on the kernel's ixgbe
		mkdir -p "$r/sys/devices/system/node/node1" "$d/net/eth1"
		echo 8-15 >"$r/sys/devices/system/node/node1/cpulist"
		echo 1 >"$d/numa_node"
		ln -s ../../../bus/pci/drivers/ixgbe "$d/driver"
	fi
	for s in 2048 1048576; do
		[ -e "$hp/hugepages-${s}kB/nr_hugepages" ] || echo 0 >"$hp/hugepages-${s}kB/nr_hugepages"
		[ -e "$hp/hugepages-${s}kB/free_hugepages" ] || echo 0 >"$hp/hugepages-${s}kB/free_hugepages"
	done
}

cat "$src/hw/profiles/c8-n1.properties" "$src/hw/nics/ixgbe.properties" >"$tmp/gw.properties"
mkhost "$tmp/good" good
mkhost "$tmp/bad" bad

rc=0
"$hw" --sysroot "$tmp/good" --config "$tmp/gw.properties" --rate 10gbit --rtt 200ms --json \
	>"$tmp/good.json" || rc=$?
# A non-root CI without CAP_IPC_LOCK and a finite memlock limit fails the memlock check only.
if python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if any(f["check"]=="memlock" and f["severity"]=="error" for f in d["findings"]) else 1)' "$tmp/good.json"; then
	echo "note: memlock limited for this user; the good host is judged without it"
	validate "$tmp/good.json" "$rc" cpu.flags=ok hugepages.configured=ok hugepages.mounted=ok \
		cores.isolated=ok nics.port0=ok numa.port0=ok iommu.enabled=ok iommu.vfio=ok \
		!memory.mbufs || fail "good host"
else
	[ "$rc" = 0 ] || { cat "$tmp/good.json"; fail "good host: exit $rc, want 0 (ready)"; }
	validate "$tmp/good.json" "$rc" cpu.flags=ok hugepages.configured=ok hugepages.mounted=ok \
		cores.lcores=ok cores.isolated=ok nics.port0=ok numa.port0=ok iommu.enabled=ok \
		iommu.vfio=ok memory.need=info !memory.mbufs !cores.nohz !cores.control \
		|| fail "good host"
fi

rc=0
"$hw" --sysroot "$tmp/bad" --config "$tmp/gw.properties" --rate 10gbit --rtt 200ms --json \
	>"$tmp/bad.json" || rc=$?
[ "$rc" = 1 ] || fail "bad host: exit $rc, want 1 (not ready)"
validate "$tmp/bad.json" "$rc" hugepages.configured=error hugepages.mounted=error \
	cores.isolated=error nics.port0=error numa.port0=warning cores.irqaffinity=warning \
	cpu.governor=ok || fail "bad host"

# Too few mbufs in the config is an error (the formula says 8191 for c8-n1).
sed 's/^ferry.mempool.mbufs = .*/ferry.mempool.mbufs = 1023/' "$tmp/gw.properties" >"$tmp/few.properties"
rc=0
"$hw" --sysroot "$tmp/good" --config "$tmp/few.properties" --rate 10gbit --rtt 200ms --json \
	>"$tmp/few.json" || rc=$?
validate "$tmp/few.json" "$rc" memory.mbufs=error || fail "mbufs check"

# ---- --memory: the worked example of hw/README.md ----------------------------------------------
"$hw" --memory --json --rate 10gbit --rtt 200ms --queues 4 --io-lcores 4 --workers 10 \
	--partitions 64 --policy-db 32m >"$tmp/mem.json" || fail "--memory exited $?"
python3 - "$tmp/mem.json" <<'EOF' || fail "--memory values"
import json, sys
m = json.load(open(sys.argv[1]))
want = {"bdp_bytes": 250000000, "tx_retx_bytes": 500000000, "rx_window_bytes": 500000000,
        "mbufs": 16383, "mbuf_bytes": 38794944, "total_bytes": 1663529200, "pages_2m": 794,
        "pages_1g": 2}
for k, v in want.items():
    assert m[k] == v, "%s = %r, want %r" % (k, m[k], v)
assert m["input"]["role"] == "both"
print("ok: --memory worked example")
EOF
"$hw" --memory --rate 10gbit --rtt 200ms >"$tmp/mem.txt" || fail "--memory text"
grep -q '^set:   ferry.mempool.mbufs = ' "$tmp/mem.txt" || fail "--memory text lacks set: line"

# ---- usage -------------------------------------------------------------------------------------
for args in "--bogus" "--memory --rate 10gbit" "--memory --rate fast --rtt 1ms" \
	"--config $tmp/does-not-exist" "extra-arg"; do
	rc=0
	# shellcheck disable=SC2086
	"$hw" $args >/dev/null 2>&1 || rc=$?
	[ "$rc" = 2 ] || fail "'$args' exited $rc, want 2"
done
echo "hwcheck_json: all passed"
