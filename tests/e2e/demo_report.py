#!/usr/bin/env python3
"""demo_report.py - the numbers and the report of the embedded demo (tests/e2e/demo.sh).

  demo_report.py sample DIR          every second, append the gateways' stats (DIR/source.json,
                                     DIR/target.json, ferryd --stats) to DIR/samples.jsonl
  demo_report.py progress DIR        one line for the progress display
  demo_report.py report DIR GROUP    print the report; exit 0 when every check passed, 1 when
                                     one failed (the failures also go to DIR/report.failures)

Inputs the demo leaves in DIR: the final stats (source-final.json, target-final.json),
samples.jsonl, status-N.json (`ferryctl status --json` during the load), status-final.txt,
translate.json, group-consumed.txt, wanem.json (ferry-wanem --json), verify.txt / verify.rc
(`ferryctl verify`), dump/*.tsv (kcat: partition, offset, timestamp, key length, value
length, key, value), load.start / load.end / caught.up (epoch seconds).
"""
import glob
import json
import os
import re
import statistics
import subprocess
import sys
import textwrap
import time

TOPICS = ["trades", "orders", "risk", "client-trades"]
DENIED = "client-trades"
TOKENISED_TOPICS = ("risk",)  # rules: risk-email tokenises e-mails on risk topics
ALIAS = "london"

CARD_RE = re.compile(r"\b\d(?:[ -]?\d){12,18}\b")
IBAN_RE = re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}\b")
EMAIL_RE = re.compile(r"\b[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,24}\b")


# ---- PII detection (the rules' patterns, with their validators) ---------------------------

def luhn_ok(digits):
    if not 13 <= len(digits) <= 19:
        return False
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def iban_ok(s):
    s = s.replace(" ", "")
    if not 15 <= len(s) <= 34 or not s[:2].isalpha() or not s[2:4].isdigit():
        return False
    r = s[4:] + s[:4]
    num = "".join(str(int(c, 36)) for c in r)
    return int(num) % 97 == 1


def word_end(text, i):
    """True when position i (just after a match) is a \\b boundary after a word byte."""
    return i >= len(text) or not (text[i].isalnum() or text[i] == "_")


def find_valid(regex, text, ok, shortest):
    """Matches of regex that the validator accepts, as (start, end): the longest valid one of
    each match (the pattern is greedy; the gateway looks at every end at a word boundary)."""
    out = []
    for m in regex.finditer(text):
        for end in range(m.end(), m.start() + shortest - 1, -1):
            c = text[m.start():end]
            if c[-1].isalnum() and word_end(text, end) and ok(c):
                out.append((m.start(), end))
                break
    return out


def card_spans(text):
    return find_valid(CARD_RE, text, lambda c: luhn_ok(re.sub(r"[ -]", "", c)), 13)


def iban_spans(text):
    return find_valid(IBAN_RE, text, iban_ok, 15)


def find_cards(text):
    return [text[a:b] for a, b in card_spans(text)]


def find_ibans(text):
    return [text[a:b] for a, b in iban_spans(text)]


def find_emails(text):
    return [m.group() for m in EMAIL_RE.finditer(text)]


def pii_items(text, emails_too):
    """[(kind, start, end)] of the PII the demo rules act on, by position; a digit run inside
    an IBAN is part of the IBAN, not a card."""
    ibans = iban_spans(text)
    items = [("IBAN", a, b) for a, b in ibans]
    items += [("card", a, b) for a, b in card_spans(text)
              if not any(x <= a and b <= y for x, y in ibans)]
    if emails_too:
        items += [("e-mail", m.start(), m.end()) for m in EMAIL_RE.finditer(text)]
    return sorted(items, key=lambda i: i[1])


# ---- inputs ------------------------------------------------------------------------------

def load_json(path, default=None):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return default


def read_float(path):
    try:
        with open(path) as f:
            return float(f.read().strip())
    except (OSError, ValueError):
        return None


class Rec:
    __slots__ = ("p", "o", "ts", "klen", "vlen", "key", "value")

    def __init__(self, p, o, ts, klen, vlen, key, value):
        self.p, self.o, self.ts, self.klen, self.vlen = p, o, ts, klen, vlen
        self.key, self.value = key, value

    def ident(self):
        return (self.p, self.ts, self.key, self.vlen)


def read_dump(path):
    recs = []
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            for line in f:
                parts = line.rstrip("\n").split("\t", 6)
                if len(parts) < 7:
                    continue
                try:
                    recs.append(Rec(int(parts[0]), int(parts[1]), int(parts[2]),
                                    int(parts[3]), int(parts[4]), parts[5], parts[6]))
                except ValueError:
                    continue
    except OSError:
        pass
    recs.sort(key=lambda r: (r.p, r.o))  # kcat interleaves partitions as they arrive
    return recs


def src_stats_totals(s):
    parts = s.get("partitions", [])
    return (sum(max(p["high_watermark"], 0) for p in parts),
            sum(max(p["committed"], 0) for p in parts),
            sum(p["lag"] for p in parts))


# ---- sample / progress -------------------------------------------------------------------

def newest_heartbeat_ms(bootstrap):
    """Timestamp of the newest MM2 heartbeat on the target (london.heartbeats), or None."""
    try:
        r = subprocess.run(["kcat", "-C", "-b", bootstrap, "-t", f"{ALIAS}.heartbeats", "-p", "0",
                            "-o", "-1", "-e", "-q", "-f", "%T\n"],
                           capture_output=True, text=True, timeout=3)
        ts = [int(x) for x in r.stdout.split()]
        return max(ts) if ts else None
    except (OSError, ValueError, subprocess.TimeoutExpired):
        return None


def cmd_sample(d):
    out = open(os.path.join(d, "samples.jsonl"), "a")
    try:
        with open(os.path.join(d, "singapore.bs")) as f:
            sg = f.readline().strip()
    except OSError:
        sg = ""
    while True:
        t = time.time()
        hb = newest_heartbeat_ms(sg) if sg else None
        src = load_json(os.path.join(d, "source.json"))
        dst = load_json(os.path.join(d, "target.json"))
        if src and dst:
            hw, committed, lag = src_stats_totals(src)
            row = {
                "t": t, "hw": hw, "committed": committed, "lag": lag,
                "hb_age_ms": None if hb is None else max(t * 1000 - hb, 0),
                "up": src["session"]["up"],
                "goodput_bytes": dst["wan"]["goodput_bytes"],
                "srtt_ns": src["wan"]["srtt_ns"], "rtt_min_ns": src["wan"]["rtt_min_ns"],
                "tx_retx": src["wan"]["tx_retx"], "tx_data": src["wan"]["tx_data"],
                "bytes_out": src["counters"]["bytes_out"],
                "parts": {f"{p['topic']}/{p['partition']}": [p["lane"], p["lag"]]
                          for p in src.get("partitions", [])},
            }
            out.write(json.dumps(row) + "\n")
            out.flush()
        time.sleep(max(1 - (time.time() - t), 0.1))


def cmd_progress(d):
    src = load_json(os.path.join(d, "source.json"))
    if not src:
        print("(no stats yet)")
        return
    hw, committed, lag = src_stats_totals(src)
    hb = ""
    try:
        with open(os.path.join(d, "samples.jsonl")) as f:
            last = json.loads(f.readlines()[-1])
        if last.get("hb_age_ms") is not None:
            hb = f", newest heartbeat on singapore {last['hb_age_ms'] / 1000:.1f} s old"
    except (OSError, ValueError, IndexError):
        pass
    print(f"london {hw:,} records, replicated {committed:,}, lag {lag:,} records{hb}")


# ---- report ------------------------------------------------------------------------------

def human_bytes(n):
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000.0
    return f"{n:.1f} GB"


def mbit(bps):
    return f"{bps * 8 / 1e6:.2f} Mbit/s"


def windows(spans, n, pad=26):
    """[a, b) windows of a text of length n around the spans (start, end), merged."""
    wins = []
    for a, b in sorted(spans):
        a, b = max(a - pad, 0), min(b + pad, n)
        if wins and a <= wins[-1][1]:
            wins[-1][1] = max(wins[-1][1], b)
        else:
            wins.append([a, b])
    return wins or [[0, min(n, 100)]]


def show(prefix, text, wins):
    lines = []
    for i, (a, b) in enumerate(wins):
        part = ("..." if a > 0 else "") + text[a:b] + ("..." if b < len(text) else "")
        for j, chunk in enumerate(textwrap.wrap(part, 96, drop_whitespace=False) or [""]):
            lines.append((prefix if i == 0 and j == 0 else " " * len(prefix)) + chunk)
    return "\n".join(lines)


class Report:
    def __init__(self, d, group):
        self.d = d
        self.group = group
        self.checks = []  # (ok, text)

    def check(self, ok, text):
        self.checks.append((bool(ok), text))

    def run(self):
        d = self.d
        src = load_json(os.path.join(d, "source-final.json"), {})
        dst = load_json(os.path.join(d, "target-final.json"), {})
        samples = []
        try:
            with open(os.path.join(d, "samples.jsonl")) as f:
                samples = [json.loads(x) for x in f if x.strip()]
        except (OSError, ValueError):
            pass
        t_start = read_float(os.path.join(d, "load.start"))
        t_end = read_float(os.path.join(d, "load.end"))
        t_up = read_float(os.path.join(d, "caught.up"))

        london = {t: read_dump(os.path.join(d, "dump", f"london.{t}.tsv")) for t in TOPICS}
        sing = {t: read_dump(os.path.join(d, "dump", f"singapore.{ALIAS}.{t}.tsv"))
                for t in TOPICS}

        W = 96
        print("=" * W)
        print(" ferry demo report: london (source) -> singapore (target)")
        print("=" * W)
        if t_start and t_end:
            line = f"load {t_end - t_start:.0f} s (ferry-loadgen, 4 topics)"
            if t_up:
                line += f"; replication caught up {max(t_up - t_end, 0):.1f} s after the load ended"
            print(line)

        self.sing = sing
        self.section_topics(london, sing, src)
        self.section_policy(src, london)
        self.section_samples(london, sing)
        self.section_lag(samples, t_start, t_end, t_up, src)
        self.section_wan(samples, src, dst, t_start, t_up or t_end)
        self.section_group(london, sing)
        self.section_status()
        self.section_verify()

        print()
        print("Checks")
        for ok, text in self.checks:
            print(f"  [{'ok' if ok else 'FAIL'}]{' ' if ok else ''} {text}")
        failures = [t for ok, t in self.checks if not ok]
        with open(os.path.join(d, "report.failures"), "w") as f:
            for t in failures:
                f.write(t + "\n")
            if failures:
                f.write(f"{len(failures)} check(s) failed: {failures[0]}\n")
        return 0 if not failures else 1

    # -- sections --

    def section_topics(self, london, sing, src):
        print()
        print("Records and bytes per topic (read back from both clusters with kcat)")
        print(f"  {'source topic':<15} {'-> target topic':<22} {'policy':<7} {'london':>9} "
              f"{'singapore':>10} {'bytes london':>13} {'bytes singapore':>16}")
        tot = [0, 0, 0, 0]
        for t in TOPICS:
            lr = london[t]
            sr = sing.get(t, [])
            lb = sum(max(r.klen, 0) + max(r.vlen, 0) for r in lr)
            sb = sum(max(r.klen, 0) + max(r.vlen, 0) for r in sr)
            policy = "deny" if t == DENIED else "permit"
            target = f"{ALIAS}.{t}"
            print(f"  {t:<15} {target:<22} {policy:<7} {len(lr):>9,} {len(sr):>10,} "
                  f"{human_bytes(lb):>13} {human_bytes(sb):>16}")
            tot[0] += len(lr)
            tot[1] += len(sr)
            tot[2] += lb
            tot[3] += sb
        print(f"  {'total':<15} {'':<22} {'':<7} {tot[0]:>9,} {tot[1]:>10,} "
              f"{human_bytes(tot[2]):>13} {human_bytes(tot[3]):>16}")
        hb = [p for p in src.get("partitions", []) if p["topic"] == "heartbeats"]
        if hb:
            print(f"  heartbeats -> {ALIAS}.heartbeats: {sum(p['committed'] for p in hb):,} MM2 "
                  f"heartbeats replicated (1 s interval)")
        print("  bytes: keys + values (headers not counted)")
        for t in TOPICS:
            if t == DENIED:
                continue
            self.check(len(sing[t]) >= len(london[t]) > 0,
                       f"{t}: all {len(london[t]):,} records on singapore as {ALIAS}.{t} "
                       f"({len(sing[t]):,} there)")

    def section_policy(self, src, london):
        print()
        print("Policy at the border (source gateway counters, rules: control/rules/demo.yaml)")
        print(f"  {'rule / topic':<24} {'action':<9} {'records':>8} {'masked':>8} "
              f"{'tokenised':>10} {'dropped':>8}")
        for r in src.get("rules", []):
            print(f"  {r['name']:<24} {r['action']:<9} {r['matched']:>8,} {r['masked']:>8,} "
                  f"{r['tokenised']:>10,} {r['dropped']:>8,}")
        n = len(london[DENIED])
        print(f"  {'topic ' + DENIED:<24} {'deny':<9} {n:>8,} {'':>8} {'':>10} {n:>8,}"
              f"   (never left London)")
        print("  records: records a rule matched (a topic's records for deny); masked, tokenised: "
              "PII spans")
        c = src.get("counters", {})
        print(f"  spans masked {c.get('spans_masked', 0):,}, tokenised "
              f"{c.get('spans_tokenised', 0):,}, records dropped {c.get('records_dropped', 0):,}; "
              f"records scanned per topic: " +
              ", ".join(f"{t['topic']} {t['records_scanned']:,}" for t in src.get("topics", [])))
        self.check(n > 0 and not self.sing[DENIED],
                   f"{DENIED}: {n:,} records in london, {len(self.sing[DENIED])} on singapore "
                   f"({ALIAS}.{DENIED} is empty)")

    def pick_samples(self, london, sing):
        """Two records with PII: a risk row with an e-mail (tokenised), and a trade/order/risk
        with a card or IBAN (masked). Returns [(topic, before, after)]."""
        index = {}
        for t, recs in sing.items():
            if t == DENIED:
                continue
            m = {}
            for r in recs:
                m.setdefault(r.ident(), r)
            index[t] = m
        picks = []

        def first(topics, want):
            best = None
            for t in topics:
                for r in london[t]:
                    if not want(r.value):
                        continue
                    after = index[t].get(r.ident())
                    if after is None:
                        continue
                    score = len({k for k, _, _ in pii_items(r.value, t in TOKENISED_TOPICS)})
                    if best is None or score > best[0]:
                        best = (score, t, r, after)
                    if score >= 2:
                        return best
            return best

        a = first(["risk"], lambda v: find_emails(v))
        if a:
            picks.append(a[1:])
        b = first(["trades", "orders", "risk"],
                  lambda v: (find_cards(v) or find_ibans(v)) and
                  (not a or v != a[2].value))
        if b:
            picks.append(b[1:])
        return picks

    def section_samples(self, london, sing):
        print()
        print("Samples: the same record before (london) and after (singapore) the border")
        picks = self.pick_samples(london, sing)
        self.check(len(picks) == 2, f"two sample records with PII found ({len(picks)})")
        for i, (t, before, after) in enumerate(picks, 1):
            items = pii_items(before.value, t in TOKENISED_TOPICS)
            kinds = [k for k, _, _ in items]
            what = ", ".join(f"{kinds.count(k)} {k}{'s' if kinds.count(k) > 1 else ''}"
                             for k in ("card", "IBAN", "e-mail") if k in kinds)
            print(f"  {i}. {t}[{before.p}] offset {before.o} -> {ALIAS}.{t}[{after.p}] offset "
                  f"{after.o}, key {before.key}: {what}")
            spans = [(a, b) for _, a, b in items]
            wins = windows(spans, len(before.value))
            print(show("     before: ", before.value, wins))
            print(show("     after:  ", after.value, wins))
            problems = []
            if find_cards(after.value):
                problems.append("a valid card number in the clear")
            if find_ibans(after.value):
                problems.append("a valid IBAN in the clear")
            shown = set()
            for kind, a, b in items:
                clear = before.value[a:b]
                if clear in after.value:
                    problems.append(f"'{clear}' in the clear")
                if clear in shown:
                    continue
                shown.add(clear)
                note = " (tokenised: keyed, same length and shape)" if kind == "e-mail" else ""
                print(f"     {kind:<7} {clear} -> {after.value[a:b]}{note}")
            if len(after.value) != len(before.value):
                problems.append("length changed")
            self.check(not problems,
                       f"sample {i} ({t}) after the border: no clear card, IBAN or e-mail"
                       + (": " + "; ".join(problems) if problems else ""))
        # every record on singapore: no valid card or IBAN in the clear; no risk e-mail in clear
        bad = []
        n = 0
        for t, recs in sing.items():
            for r in recs:
                n += 1
                if find_cards(r.value) or find_ibans(r.value):
                    bad.append(f"{ALIAS}.{t}[{r.p}]@{r.o}")
        self.check(not bad, f"all {n:,} records on singapore: no Luhn-valid card number and no "
                   f"valid IBAN in the clear" + (f" (found in {', '.join(bad[:5])})" if bad else ""))
        src_emails = set()
        for r in london["risk"]:
            src_emails.update(find_emails(r.value))
        clear = [e for e in src_emails if any(e in r.value for r in sing["risk"])]
        self.check(src_emails and not clear,
                   f"risk: none of the {len(src_emails):,} client e-mails in london.risk is in the "
                   f"clear on singapore" + (f" (e.g. {clear[0]})" if clear else ""))

    def section_lag(self, samples, t_start, t_end, t_up, src):
        print()
        print("Lag and RPO")
        during = [s for s in samples if t_start and t_end and t_start <= s["t"] <= t_end]
        if during:
            lags = [s["lag"] for s in during]
            worst = {}
            for s in during:
                for k, (_, lag) in s.get("parts", {}).items():
                    worst[k] = max(worst.get(k, 0), lag)
            wk = max(worst, key=worst.get) if worst else "-"
            print(f"  replication lag  (source gateway, records not yet committed by the target, "
                  f"{len(during)} samples during the load)")
            print(f"                   median {statistics.median(lags):,.0f}, max {max(lags):,} "
                  f"records; worst partition {wk}: {worst.get(wk, 0):,}")
        ages = [s["hb_age_ms"] for s in during if s.get("hb_age_ms") is not None]
        if ages:
            print(f"  heartbeat age    (newest london.heartbeats record on singapore, each second; "
                  f"heartbeats every 1 s)")
            print(f"                   median {statistics.median(ages) / 1000:.2f} s, max "
                  f"{max(ages) / 1000:.2f} s during the load: the RPO was at most "
                  f"{max(ages) / 1000:.1f} s")
        final = ""
        try:
            with open(os.path.join(self.d, "status-final.txt")) as f:
                m = re.search(r"heartbeat age: (.*)", f.read())
                final = m.group(1) if m else ""
        except OSError:
            pass
        print(f"  ferryctl status  heartbeat age after the load: {final or '?'} (it reads the "
              f"clock before the topics: a fresh one can show < 0)")
        # the heartbeats partition is never still (a heartbeat a second): data partitions only
        parts = [p for p in src.get("partitions", []) if p["topic"] != "heartbeats"]
        final_lag = sum(p["lag"] for p in parts) if parts else -1
        catch = (t_up - t_end) if t_up and t_end else None
        print(f"  at the end       lag {final_lag} records on the {len(parts)} data partitions"
              + (f", {max(catch, 0):.1f} s after the load ended" if catch is not None else ""))
        self.check(final_lag == 0 and parts and catch is not None and catch <= 30,
                   f"replication caught up: lag 0 on all {len(parts)} data partitions within "
                   f"30 s of the end of the load"
                   + (f" ({max(catch, 0):.1f} s)" if catch is not None else ""))
        self.check(ages and max(ages) < 10000,
                   f"heartbeats crossed all along (newest on singapore never older than "
                   f"{(max(ages) / 1000 if ages else -1):.1f} s; limit 10 s)")

    def section_wan(self, samples, src, dst, t_start, t_stop):
        print()
        print("WAN (ferry's transport through ferry-wanem: 85 ms each way, 0.1 % loss)")
        w = src.get("wan", {})
        wt = dst.get("wan", {})
        gp = wt.get("goodput_bytes", 0)
        win = [s for s in samples if t_start and t_stop and t_start <= s["t"] <= t_stop + 1]
        line = f"  goodput       {human_bytes(gp)} delivered to the target gateway"
        if len(win) >= 2 and win[-1]["t"] > win[0]["t"]:
            avg = (win[-1]["goodput_bytes"] - win[0]["goodput_bytes"]) / (win[-1]["t"] - win[0]["t"])
            peak = max(((b["goodput_bytes"] - a["goodput_bytes"]) / (b["t"] - a["t"])
                        for a, b in zip(win, win[1:]) if b["t"] > a["t"]), default=0)
            line += f"; {mbit(avg)} average during the load, {mbit(peak)} peak (1 s)"
        print(line)
        srtts = [s["srtt_ns"] for s in win if s.get("srtt_ns")]
        srtt = statistics.median(srtts) if srtts else w.get("srtt_ns", 0)
        print(f"  RTT           smoothed {srtt / 1e6:.1f} ms (median during the load), min "
              f"{w.get('rtt_min_ns', 0) / 1e6:.1f} ms; emulated 170 ms")
        retx, data = w.get("tx_retx", 0), w.get("tx_data", 0)
        print(f"  retransmits   {retx:,} of {data:,} DATA packets "
              f"({100.0 * retx / data if data else 0:.2f} %)")
        wj = load_json(os.path.join(self.d, "wanem.json"), {})
        loss_line = "  loss applied  (ferry-wanem stats missing)"
        if wj:
            parts = []
            for k, name in (("a2b", "london->singapore"), ("b2a", "singapore->london")):
                x = wj.get(k, {})
                rx, lost = x.get("rx_pkts", 0), x.get("drop", {}).get("loss", 0)
                parts.append(f"{name} {lost:,} of {rx:,} packets "
                             f"({100.0 * lost / rx if rx else 0:.2f} %)")
            loss_line = "  loss applied  " + ", ".join(parts) + " (ferry-wanem)"
        print(loss_line)
        print(f"  source gateway: {src.get('counters', {}).get('batches_out', 0):,} batches, "
              f"{human_bytes(src.get('counters', {}).get('bytes_out', 0))} sent; target gateway: "
              f"{dst.get('counters', {}).get('batches_out', 0):,} batches written, "
              f"{dst.get('counters', {}).get('syncs_written', 0):,} offset-syncs")
        self.check(srtt >= 160e6, f"WAN RTT as emulated (smoothed {srtt / 1e6:.0f} ms >= 160 ms)")

    def section_group(self, london, sing):
        print()
        consumed = 0
        try:
            with open(os.path.join(self.d, "group-consumed.txt")) as f:
                consumed = sum(1 for x in f if x.strip())
        except OSError:
            pass
        tr = load_json(os.path.join(self.d, "translate.json"), {})
        print(f"Offset translation: consumer group {self.group} read {consumed:,} of london's "
              f"trades and committed; ferryctl translate (via {tr.get('via', '?')}):")
        print(f"  {'london topic':<14} {'part':>4} {'committed':>10}   {'singapore topic':<16} "
              f"{'offset':>10}   next record on both sides")
        src_by = {}
        for r in london["trades"]:
            src_by[(r.p, r.o)] = r
        dst_by = {}
        for r in sing["trades"]:
            dst_by[(r.p, r.o)] = r
        bad = []
        n = 0
        for p in tr.get("partitions", []):
            n += 1
            so, do = p["source_offset"], p["target_offset"]
            part = p["partition"]
            a = src_by.get((part, so))
            b = dst_by.get((part, do))
            if a is None and b is None:
                same = "end of log on both (all consumed)"
            elif a is not None and b is not None and a.ident() == b.ident():
                same = f"same record (key {a.key})"
            else:
                same = "DIFFERENT"
                bad.append(f"trades/{part}")
            # the last consumed record must be the record before the translated offset
            if so > 0:
                a1, b1 = src_by.get((part, so - 1)), dst_by.get((part, do - 1))
                if a1 is None or b1 is None or a1.ident() != b1.ident():
                    same += "; previous record DIFFERENT"
                    bad.append(f"trades/{part} (previous)")
            print(f"  {'trades':<14} {part:>4} {so:>10}   {p['topic']:<16} {do:>10}   {same}")
        self.check(n > 0 and consumed > 0 and not bad,
                   f"group {self.group}: {n} partition(s) translated, each resumes at the same "
                   f"record on singapore" + (f" (wrong: {', '.join(bad)})" if bad else ""))

    def section_status(self):
        print()
        print("ferryctl status (singapore view, after the load)")
        try:
            with open(os.path.join(self.d, "status-final.txt")) as f:
                for line in f:
                    print("  " + line.rstrip("\n"))
        except OSError:
            print("  (missing)")

    def section_verify(self):
        print()
        print("ferryctl verify --at-least-once (every permitted record once or more, in order, "
              "policy applied; nothing denied)")
        rc = read_float(os.path.join(self.d, "verify.rc"))
        lines = []
        try:
            with open(os.path.join(self.d, "verify.txt")) as f:
                lines = [x.rstrip("\n") for x in f]
        except OSError:
            pass
        total = [x for x in lines if x.startswith("total")]
        for x in lines:
            if not x.startswith("total") and (rc != 0 or " FAIL" in x):
                print("  " + x)
        for x in total:
            print("  " + x)
        if not total:
            for x in lines[-10:]:
                print("  " + x)
        self.check(rc == 0 and total and total[-1].endswith("PASS"),
                   "ferryctl verify: all permitted records arrived, none denied did, PII "
                   "masked/tokenised as the rules say" + ("" if rc == 0 else f" (exit {rc:.0f})"))


def main():
    if len(sys.argv) >= 3 and sys.argv[1] == "sample":
        cmd_sample(sys.argv[2])
    elif len(sys.argv) >= 3 and sys.argv[1] == "progress":
        cmd_progress(sys.argv[2])
    elif len(sys.argv) >= 4 and sys.argv[1] == "report":
        sys.exit(Report(sys.argv[2], sys.argv[3]).run())
    else:
        print(__doc__, file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
