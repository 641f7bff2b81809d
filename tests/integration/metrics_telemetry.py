#!/usr/bin/env python3
"""metrics_telemetry integration test: ferry's DPDK telemetry commands queried by DPDK's client.

Runs test_metrics_telemetry (argv[1]) with --no-huge EAL arguments and its own file prefix,
then sends /ferry/metrics, /ferry/metric,<name> and /help through /usr/bin/dpdk-telemetry.py
(Debian package dpdk-dev), or, when that tool is missing or looks elsewhere, through a small
client speaking the same v2 socket protocol (SOCK_SEQPACKET <runtime dir>/dpdk_telemetry.v2).
Checks key folding, value types, the 256-entry and 16 KiB limits and the truncation count.
Exit 0 pass, 1 fail, 77 skip (EAL could not start).
"""
import json
import os
import shutil
import socket
import subprocess
import sys

TOOL = "/usr/bin/dpdk-telemetry.py"
SOCK = "dpdk_telemetry.v2"
passed = failed = 0


def check(cond, what):
    global passed, failed
    if cond:
        passed += 1
    else:
        failed += 1
        print("FAIL:", what)


def fnv1a32(data, h=2166136261):
    for b in data:
        h = ((h ^ b) * 16777619) & 0xFFFFFFFF
    return h


def fold(name, labels):
    """The key folding of ferry/metrics_dpdk.h, written again from its description."""
    def clean(s):
        return "".join(chr(b) if chr(b).isascii() and (chr(b).isalnum() or chr(b) == "_")
                       else "_" for b in s.encode())
    key = clean(name)
    for k in sorted(labels):
        key += "/" + clean(k) + "/" + clean(labels[k])
    return key


def hashed(name, labels, key):
    data = name.encode()
    for k in sorted(labels):
        data += b"\0" + k.encode() + b"\0" + labels[k].encode()
    return key[:117] + "__%08x" % fnv1a32(data)


def tool_runtime_dir(prefix):
    # dpdk-telemetry.py's get_dpdk_runtime_dir()
    run = os.environ.get("RUNTIME_DIRECTORY")
    if not run:
        run = "/var/run" if os.getuid() == 0 else os.environ.get("XDG_RUNTIME_DIR", "/tmp")
    return os.path.join(run, "dpdk", prefix)


def query_tool(prefix, cmds):
    out = subprocess.run([sys.executable, TOOL, "-f", prefix], input="\n".join(cmds) + "\n",
                         capture_output=True, text=True, timeout=60)
    lines = [l for l in out.stdout.splitlines() if l.strip()]
    if out.returncode != 0 or len(lines) != len(cmds):
        print("dpdk-telemetry.py rc %d, stdout %r, stderr %r" %
              (out.returncode, out.stdout[:500], out.stderr[:500]))
    res = [json.loads(l) for l in lines]
    # The tool prints json.dumps() of the reply: measure the compact form DPDK sends.
    return res, [len(json.dumps(r, separators=(",", ":"), ensure_ascii=False)) for r in res]


def query_socket(path, cmds):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    s.connect(path)
    info = json.loads(s.recv(1024).decode())
    res, sizes = [], []
    for c in cmds:
        s.send(c.encode())
        raw = s.recv(info["max_output_len"])
        sizes.append(len(raw))
        res.append(json.loads(raw.decode()))
    s.close()
    return res, sizes


def main():
    prefix = "ferry_mtel_%d" % os.getpid()
    eal = ["--no-huge", "-m", "128", "--no-pci", "-l", "0", "--file-prefix", prefix]
    proc = subprocess.Popen([sys.argv[1]] + eal, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            text=True)
    rundir = None
    try:
        for line in proc.stdout:
            line = line.rstrip("\n")
            print("app:", line)
            if line.startswith("SKIP"):
                proc.stdin.close()
                proc.wait()
                print("SKIP: EAL could not start")
                sys.exit(77)
            if line.startswith("READY "):
                rundir = line.split(" ", 1)[1]
                break
        if rundir is None:
            print("FAIL: the application did not start")
            sys.exit(1)
        cmds = ["/ferry/metrics", "/ferry/metric,ferry_demo_lag_records",
                "/ferry/metric,ferry_fold", "/ferry/metric,ferry_fold_ns:rate",
                "/ferry/metric,ferry_wide_total", "/ferry/metric,ferry_long",
                "/ferry/metric", "/ferry/metric,ferry_nothing", "/help,/ferry/metric",
                "/ferry/metric,ferry_demo_escape"]
        if os.path.exists(TOOL) and os.path.realpath(tool_runtime_dir(prefix)) == \
                os.path.realpath(rundir):
            print("client: DPDK's", TOOL)
            res, sizes = query_tool(prefix, cmds)
        else:
            print("client: built-in v2 socket client (%s missing or elsewhere)" % TOOL)
            res, sizes = query_socket(os.path.join(rundir, SOCK), cmds)
        check(len(res) == len(cmds), "one reply per command (%d/%d)" % (len(res), len(cmds)))
        res += [None] * (len(cmds) - len(res))
        r = dict(zip(cmds, res))

        # /ferry/metrics: every family, in emission order, 255 series + the truncation count.
        all_ = (r["/ferry/metrics"] or {}).get("/ferry/metrics") or {}
        expect_start = {
            "ferry_demo_records_in_total/topic/orders": 46,
            "ferry_demo_records_in_total/topic/payments": 400,
            "ferry_demo_records_in_total/topic/audit": 7,
            "ferry_demo_records_out_total/topic/orders": 0,
            "ferry_demo_bytes_in_total/topic/orders": 4000,
            "ferry_demo_bytes_in_total/topic/payments": 0,
            "ferry_demo_lcores": 4,
            "ferry_demo_lag_records/partition/0/topic/orders": 12,
        }
        for k, v in expect_start.items():
            check(all_.get(k) == v, "%s = %r (got %r)" % (k, v, all_.get(k)))
        check(len(all_) == 256, "a full dict: 255 series + truncation (got %d)" % len(all_))
        # 7 demo + 5 static + 4 fold + 300 wide + 200 long + 7 dropped = 523 series.
        check(all_.get("ferry_metrics_truncated") == 523 - 255,
              "truncated = %r" % all_.get("ferry_metrics_truncated"))
        check("ferry_wide_total/partition/238" in all_ and
              "ferry_wide_total/partition/239" not in all_, "series kept in order")

        lag = (r["/ferry/metric,ferry_demo_lag_records"] or {}).get("/ferry/metric")
        check(lag == {"ferry_demo_lag_records/partition/0/topic/orders": 12,
                      "ferry_demo_lag_records/partition/1/topic/orders": "0.5",
                      "ferry_demo_lag_records/partition/2/topic/payments": 3},
              "one family, labels sorted and folded, 0.5 as a string: %r" % lag)

        weird = 'a\\b"c\nd \u00fc'
        esc = (r["/ferry/metric,ferry_demo_escape"] or {}).get("/ferry/metric")
        check(esc == {fold("ferry_demo_escape", {"v": weird}): -2},
              "escape-worthy value folded, negative int: %r" % esc)

        f = (r["/ferry/metric,ferry_fold"] or {}).get("/ferry/metric") or {}
        k1 = fold("ferry_fold", {"topic": "orders.eu-west"})
        k2 = hashed("ferry_fold", {"topic": "orders-eu.west"}, k1)
        long_labels = {"topic": "x" * 199}
        k3 = hashed("ferry_fold", long_labels, fold("ferry_fold", long_labels))
        check(f == {k1: 1, k2: 2, k3: 3}, "collision and long key get hashes: %r vs %r" %
              (f, {k1: 1, k2: 2, k3: 3}))
        check(all(len(k) <= 127 for k in f), "keys within RTE_TEL_MAX_STRING_LEN")

        ns = (r["/ferry/metric,ferry_fold_ns:rate"] or {}).get("/ferry/metric")
        check(ns == {"ferry_fold_ns_rate": 10000000000000000000}, "colon folded, u64: %r" % ns)

        wide = (r["/ferry/metric,ferry_wide_total"] or {}).get("/ferry/metric") or {}
        check(len(wide) == 256 and wide.get("ferry_metrics_truncated") == 45 and
              wide.get("ferry_wide_total/partition/254") == 254,
              "300 series: 255 + truncated 45 (got %d, %r)" %
              (len(wide), wide.get("ferry_metrics_truncated")))

        i = cmds.index("/ferry/metric,ferry_long")
        lng = (r["/ferry/metric,ferry_long"] or {}).get("/ferry/metric") or {}
        check(sizes[i] <= 16384 and 0 < lng.get("ferry_metrics_truncated", 0) < 200 and
              len(lng) - 1 + lng.get("ferry_metrics_truncated", 0) == 200,
              "16 KiB reply limit: %d bytes, %d series, truncated %r" %
              (sizes[i], len(lng) - 1, lng.get("ferry_metrics_truncated")))

        check(r["/ferry/metric"] == {"/ferry/metric": None}, "no name: null (%r)" %
              r["/ferry/metric"])
        check(r["/ferry/metric,ferry_nothing"] == {"/ferry/metric": {}},
              "unknown family: empty dict (%r)" % r["/ferry/metric,ferry_nothing"])
        hlp = (r["/help,/ferry/metric"] or {}).get("/help") or {}
        check("metric name" in hlp.get("/ferry/metric", ""), "help text: %r" % hlp)
    finally:
        if proc.stdin and not proc.stdin.closed:
            proc.stdin.close()
        rc = proc.wait(timeout=60)
        if rundir and os.path.basename(rundir.rstrip("/")) == prefix:
            shutil.rmtree(rundir, ignore_errors=True)
    check(rc == 0, "application exited cleanly (rc %d)" % rc)
    print("%d passed, %d failed" % (passed, failed))
    sys.exit(1 if failed else 0)


main()
