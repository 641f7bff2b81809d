#!/usr/bin/env python3
"""metrics_http integration test: ferry's Prometheus endpoint against independent peers.

Runs test_metrics_http (argv[1]), fetches GET /metrics with urllib (a real HTTP client) and
parses the body with the official Prometheus client library's parser
(prometheus_client.parser.text_string_to_metric_families, Debian python3-prometheus-client),
which proves the text format; checks grouping (one HELP/TYPE per family), escaping, the
Content-Type, 404, 405, HEAD, concurrent scrapes, counters moving forward, and that the JSON
render names the same series. Exit 0 pass, 1 fail, 77 skip.
"""
import json
import os
import re
import subprocess
import sys
import threading
import urllib.error
import urllib.request

try:
    from prometheus_client.parser import text_string_to_metric_families
except ImportError:
    # Debian's package installs for the system interpreter; python3 on PATH may be another
    # (pyenv, a venv). Try the system one before giving up.
    SYS_PY = "/usr/bin/python3"
    if os.path.exists(SYS_PY) and os.path.realpath(sys.executable) != os.path.realpath(SYS_PY):
        os.execv(SYS_PY, [SYS_PY] + sys.argv)
    print("SKIP: python3-prometheus-client is not installed (scripts/install-deps.sh)")
    sys.exit(77)

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
WEIRD_VALUE = 'a\\b"c\nd \u00fc'
WEIRD_HELP = "help with \\ backslash\nand a newline"
EADDRINUSE = 98

passed = failed = 0


def check(cond, what):
    global passed, failed
    if cond:
        passed += 1
    else:
        failed += 1
        print("FAIL:", what)


def fetch(url, method="GET", data=None):
    req = urllib.request.Request(url, method=method, data=data)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def parse(body):
    """Families by name, failing on a family that appears twice (ungrouped output)."""
    fams = {}
    for f in text_string_to_metric_families(body.decode("utf-8")):
        check(f.name not in fams, "family %s appears once" % f.name)
        fams[f.name] = f
    return fams


def series_key(name, labels):
    """The JSON render's key: the series as Prometheus text spells it, labels sorted."""
    if not labels:
        return name
    esc = lambda v: v.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return name + "{" + ",".join('%s="%s"' % (k, esc(labels[k])) for k in sorted(labels)) + "}"


def main():
    proc = subprocess.Popen([sys.argv[1]], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            text=True)
    port = None
    jsonline = None
    try:
        for line in proc.stdout:
            line = line.rstrip("\n")
            print("server:", line[:200])
            if line.startswith("SKIP"):
                proc.wait()
                sys.exit(77)
            if line.startswith("BINDERR "):
                rc, msg = line.split(" ", 2)[1:]
                check(int(rc) == -EADDRINUSE, "bind conflict gives -EADDRINUSE")
                check("Address already in use" in msg, "bind conflict message says why")
            elif line.startswith("PORT "):
                port = int(line.split()[1])
            elif line.startswith("JSON "):
                jsonline = line[5:]
            elif line == "READY":
                break
        if port is None or jsonline is None:
            print("FAIL: server did not start")
            sys.exit(1)
        base = "http://127.0.0.1:%d" % port

        # GET /metrics: status, Content-Type, grouping, values, escaping.
        status, headers, body = fetch(base + "/metrics")
        check(status == 200, "GET /metrics is 200 (got %d)" % status)
        check(headers.get("Content-Type") == CONTENT_TYPE,
              "Content-Type is %r (got %r)" % (CONTENT_TYPE, headers.get("Content-Type")))
        text = body.decode("utf-8")
        fams = parse(body)
        for name in set(re.findall(r"^# TYPE (\S+) ", text, re.M)):
            check(len(re.findall(r"^# TYPE %s " % re.escape(name), text, re.M)) == 1,
                  "one TYPE line for %s" % name)
            check(len(re.findall(r"^# HELP %s " % re.escape(name), text, re.M)) <= 1,
                  "at most one HELP line for %s" % name)
        # The parser strips _total from counter family names.
        rin = fams.get("ferry_demo_records_in")
        check(rin is not None and rin.type == "counter", "records_in is a counter family")
        if rin is not None:
            topics = {s.labels["topic"]: s.value for s in rin.samples}
            check(set(topics) == {"orders", "payments", "audit"},
                  "records_in has the samples of both sources: %s" % sorted(topics))
            check(topics.get("audit") == 7, "audit value from the static source")
            check(rin.documentation == "records read from the source cluster", "HELP text")
            check(all(s.name == "ferry_demo_records_in_total" for s in rin.samples),
                  "sample names keep _total")
        lag = fams.get("ferry_demo_lag_records")
        check(lag is not None and lag.type == "gauge", "lag is a gauge family")
        if lag is not None:
            vals = {(s.labels["topic"], s.labels["partition"]): s.value for s in lag.samples}
            check(vals == {("orders", "0"): 12, ("orders", "1"): 0.5, ("payments", "2"): 3},
                  "lag values %s" % vals)
        esc = fams.get("ferry_demo_escape")
        check(esc is not None and len(esc.samples) == 1, "escape family present")
        if esc is not None:
            check(esc.samples[0].labels.get("v") == WEIRD_VALUE,
                  "label value round-trips through escaping: %r" % esc.samples[0].labels)
            check(esc.documentation == WEIRD_HELP, "help round-trips: %r" % esc.documentation)
            check(esc.samples[0].value == -2, "negative gauge")
        check(fams.get("ferry_demo_lcores") is not None
              and fams["ferry_demo_lcores"].samples[0].value == 4, "lcores gauge")
        drop = fams.get("ferry_metrics_dropped")
        check(drop is not None and drop.type == "counter", "dropped counter family")
        if drop is not None:
            by = {s.labels["reason"]: s.value for s in drop.samples}
            check(by.get("name", 0) >= 1, "invalid name counted: %s" % by)
            check(by.get("duplicate") == 0 and by.get("type") == 0, "no other drops: %s" % by)
        check("ferry-demo-invalid" not in text, "invalid name not rendered")

        # The JSON render names exactly the same series.
        keys = set(json.loads(jsonline))
        series = {series_key(s.name, s.labels) for f in fams.values() for s in f.samples}
        check(keys == series, "JSON keys == parsed series (diff %s)" % (keys ^ series))

        # Counters move forward while the writer runs.
        def orders(fs):
            return [s.value for s in fs["ferry_demo_records_in"].samples
                    if s.labels["topic"] == "orders"][0]
        first = orders(fams)
        later = orders(parse(fetch(base + "/metrics")[2]))
        check(later >= first, "counter did not go back (%s -> %s)" % (first, later))

        # Four clients at once, with the server's own JSON reader thread rendering too.
        errors = []

        def scraper():
            for _ in range(20):
                st, hd, bd = fetch(base + "/metrics")
                if st != 200:
                    errors.append("status %d" % st)
                    continue
                try:
                    list(text_string_to_metric_families(bd.decode("utf-8")))
                except Exception as e:  # noqa: BLE001 - any parse error fails
                    errors.append(repr(e))
        threads = [threading.Thread(target=scraper) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        check(not errors, "80 concurrent scrapes parse: %s" % errors[:3])

        # Other paths and methods.
        st, hd, bd = fetch(base + "/")
        check(st == 404, "GET / is 404 (got %d)" % st)
        st, hd, bd = fetch(base + "/metricsx")
        check(st == 404, "GET /metricsx is 404 (got %d)" % st)
        st, hd, bd = fetch(base + "/metrics?name=x")
        check(st == 200, "a query string is ignored (got %d)" % st)
        st, hd, bd = fetch(base + "/metrics", method="POST", data=b"x=1")
        check(st == 405, "POST is 405 (got %d)" % st)
        check(hd.get("Allow") == "GET, HEAD", "405 carries Allow: GET, HEAD (%r)" % hd.get("Allow"))
        st, hd, bd = fetch(base + "/metrics", method="DELETE")
        check(st == 405, "DELETE is 405 (got %d)" % st)
        st, hd, bd = fetch(base + "/metrics", method="HEAD")
        check(st == 200 and bd == b"" and hd.get("Content-Type") == CONTENT_TYPE,
              "HEAD is 200 without a body")
    finally:
        proc.stdin.close()
        rc = proc.wait(timeout=60)
    check(rc == 0, "server exited cleanly (rc %d)" % rc)
    print("%d passed, %d failed" % (passed, failed))
    sys.exit(1 if failed else 0)


main()
