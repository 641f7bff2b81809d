#!/usr/bin/env python3
# test_ferry_bench.py - smoke test of ferry-bench (suite integration): runs `ferry-bench
# --smoke` and checks the JSON it wrote, never a figure in it (no timing asserts): every
# scenario family present; each ferry, baseline and ceiling entry is a number or an explicit
# "missing" with a reason; every ratio is ferry / baseline and every share ferry / ceiling.
# usage: test_ferry_bench.py FERRY_BENCH BUILD_DIR OUT_DIR
import json
import math
import subprocess
import sys


def fail(msg):
    print("test_ferry_bench: FAIL: " + msg)
    sys.exit(1)


def is_num(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def check_entry(where, e, need_name):
    if not isinstance(e, dict):
        fail("%s: not an object" % where)
    if need_name and not e.get("name"):
        fail("%s: no name" % where)
    if "missing" in e:
        if not isinstance(e["missing"], str) or not e["missing"]:
            fail("%s: missing without a reason" % where)
        if "value" in e:
            fail("%s: both a value and missing" % where)
        return None
    if not is_num(e.get("value")) or e["value"] <= 0:
        fail("%s: value %r is not a positive number" % (where, e.get("value")))
    return e["value"]


def close(a, b):
    return abs(a - b) <= 1e-9 * max(abs(a), abs(b), 1e-12)


def check_wan_latency(by_id):
    """The WAN and latency rows' own shape (issue 8 scenarios 5 and 6), figure or missing."""
    enc = by_id.get("wan.encrypt")
    if enc is None or enc["unit"] != "MB/s/core" or enc["ceiling"].get("name") != "aes256gcm":
        fail("wan.encrypt: absent, or not MB/s/core against the aes256gcm ceiling")
    if "value" in enc["ferry"] and not is_num(enc["ferry"].get("worker_cpu_s")):
        fail("wan.encrypt: a figure without the worker CPU-seconds it is divided by")
    goodput = [r for i, r in by_id.items() if i.startswith("wan.") and i != "wan.encrypt"]
    if not goodput:
        fail("no WAN goodput row")
    for r in goodput:
        rid = r["id"]
        if r["unit"] != "Mbit/s" or r["ceiling"].get("name") != "emulated link rate" \
                or not is_num(r["ceiling"].get("value")):
            fail("%s: not Mbit/s against the emulated link rate" % rid)
        if [b["name"] for b in r["baselines"]] != ["iperf3 CUBIC", "iperf3 BBR"]:
            fail("%s: baselines are not iperf3 CUBIC and BBR" % rid)
        if "value" in r["ferry"]:
            rs = r["ferry"].get("retx_share")
            if not is_num(rs) or not 0 <= rs <= 10:
                fail("%s: ferry's retransmission share %r" % (rid, rs))
    for q in ("p50", "p99", "p999"):
        r = by_id.get("latency." + q)
        if r is None or r["unit"] != "ms" or not is_num(r["ceiling"].get("value")):
            fail("latency.%s: absent, not ms, or without its target" % q)
        f = r["ferry"]
        if "value" in f:
            p = f.get("percentiles_ms") or {}
            if not all(is_num(p.get(k)) for k in ("p50", "p99", "p999")) or \
                    not p["p50"] <= p["p99"] <= p["p999"] or not close(p[q], f["value"]):
                fail("latency.%s: percentiles %r" % (q, p))
            if not isinstance(f.get("met"), bool) or not close(f.get("target_ms", 0),
                                                               r["ceiling"]["value"]):
                fail("latency.%s: no met/target" % q)
            if not isinstance(f.get("samples"), int) or f["samples"] <= 0:
                fail("latency.%s: no sample count" % q)
            if not is_num(f.get("rate_rps")) or not is_num(f.get("capacity_rps")) or \
                    not close(f["rate_rps"], round(0.7 * f["capacity_rps"], 1)):
                fail("latency.%s: load %r is not 70 %% of capacity %r" % (
                    q, f.get("rate_rps"), f.get("capacity_rps")))
    if by_id.get("latency.capacity", {}).get("unit") != "records/s":
        fail("latency.capacity: absent or not records/s")


def main():
    exe, build, out = sys.argv[1:4]
    p = subprocess.run([exe, "--smoke", "--build-dir", build, "--out", out])
    if p.returncode not in (0, 1):
        fail("ferry-bench exited %d" % p.returncode)
    with open(out + "/results.json") as f:
        doc = json.load(f)
    with open(out + "/results.md") as f:
        md = f.read()
    rows = doc.get("rows")
    if not rows:
        fail("no rows")
    ids = [r["id"] for r in rows]
    for fam in ("codec.", "policy.", "uring.", "repl.passthrough.", "repl.pii-default.", "wan.",
                "latency."):
        if not any(i.startswith(fam) for i in ids):
            fail("no %s row" % fam)
    for r in rows:
        rid = r["id"]
        if not r.get("scenario") or not r.get("unit"):
            fail("%s: no scenario or unit" % rid)
        if r["scenario"] not in md:
            fail("%s: not in the Markdown table" % rid)
        fv = check_entry(rid + " ferry", r["ferry"], False)
        if fv is not None and not r["ferry"].get("component"):
            fail("%s: a ferry figure must say which component produced it" % rid)
        for b in r["baselines"]:
            bv = check_entry(rid + " baseline", b, True)
            if fv is not None and bv is not None:
                if not is_num(b.get("ratio")) or not close(b["ratio"], fv / bv):
                    fail("%s: ratio %r != %r / %r" % (rid, b.get("ratio"), fv, bv))
            elif b.get("ratio") is not None:
                fail("%s: a ratio without both figures" % rid)
        c = r["ceiling"]
        cv = check_entry(rid + " ceiling", c, False)
        if fv is not None and cv is not None:
            if not is_num(c.get("share")) or not close(c["share"], fv / cv):
                fail("%s: share %r != %r / %r" % (rid, c.get("share"), fv, cv))
        elif c.get("share") is not None:
            fail("%s: a share without both figures" % rid)
    check_wan_latency({r["id"]: r for r in rows})
    for k, c in doc.get("ceilings", {}).items():
        check_entry("ceiling " + k, c, False)
    for k in ("memcpy", "crc32c", "lz4_decompress", "zstd_decompress", "aes256gcm",
              "dpdk_null_fwd"):
        if k not in doc.get("ceilings", {}):
            fail("ceiling %s absent (neither a figure nor missing)" % k)
    if p.returncode != 0 or doc.get("failures"):
        fail("contenders failed: %s" % doc.get("failures"))
    print("test_ferry_bench: %d rows, %d with a ferry figure, %d ceilings measured" % (
        len(rows), sum(1 for r in rows if "value" in r["ferry"]),
        sum(1 for c in doc["ceilings"].values() if "value" in c)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
