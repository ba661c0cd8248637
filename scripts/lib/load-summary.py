#!/usr/bin/env python3
"""The summary of scripts/load.sh: one table from the wrk processes' result lines.

    load-summary.py RESULTS.jsonl RSS.tsv [SUMMARY.json [HELLO.jsonl]]

RESULTS.jsonl has one JSON line per wrk process (written by scripts/lib/load.lua's done()):
kind, connections, durationUs, requests, errors{connect,read,write,status,timeout},
non2xx, firstNon2xx and the latency histogram as [microseconds, count] pairs. RSS.tsv has
`<phase>\t<seconds since start>\t<VmRSS KiB>\t<VmHWM KiB>` lines from /proc/<pid>/status.

Prints, per request kind and overall: requests, errors (socket errors + non-2xx answers),
req/s, p50, p99 and max latency; the overall percentiles come from the merged histograms
(exact, not an average of percentiles). Then the server's RSS before, during and after.
Writes the same figures as JSON to SUMMARY.json when given. HELLO.jsonl, when given, is
the result line of the same 64-connection load of `GET /` against the hello-world server
of tests/benches/server_bench.rs, run right after: its req/s and the ratio of the overall
req/s to it are printed (the machine's limit for an HTTP server that does nothing). Exits 1 when any request
failed or a wrk process is missing a result line.
"""

import json
import sys


def percentile(hist, p):
    """Smallest latency (µs) with at least p % of the requests at or below it."""
    total = sum(c for _, c in hist)
    if total == 0:
        return 0
    need = total * p / 100.0
    cum = 0
    for value, count in sorted(hist):
        cum += count
        if cum >= need:
            return value
    return sorted(hist)[-1][0]


def ms(us):
    return f"{us / 1000:.2f} ms"


def kind_figures(r):
    """(errors, req/s, histogram) of one wrk result line."""
    e = r["errors"]
    errors = e["connect"] + e["read"] + e["write"] + e["timeout"] + r["non2xx"]
    secs = r["durationUs"] / 1e6
    return errors, (r["requests"] / secs if secs else 0.0), [tuple(x) for x in r["histogram"]]


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    rows = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
    rss = []
    for line in open(sys.argv[2]):
        phase, t, kib, hwm = line.split("\t")
        rss.append((phase, float(t), int(kib), int(hwm)))
    if not rows:
        sys.exit("load-summary: no wrk results")

    table = []
    merged = []
    total_req = total_err = total_conns = 0
    total_rate = 0.0
    for r in rows:
        e = r["errors"]
        socket = e["connect"] + e["read"] + e["write"] + e["timeout"]
        errors, rate, hist = kind_figures(r)
        secs = r["durationUs"] / 1e6
        merged.extend(hist)
        table.append({
            "kind": r["kind"],
            "connections": r["connections"],
            "requests": r["requests"],
            "errors": errors,
            "socketErrors": socket,
            "non2xx": r["non2xx"],
            "firstNon2xx": r["firstNon2xx"],
            "reqPerSec": round(rate, 1),
            "p50Ms": percentile(hist, 50) / 1000,
            "p99Ms": percentile(hist, 99) / 1000,
            "maxMs": percentile(hist, 100) / 1000,
            "seconds": round(secs, 2),
        })
        total_req += r["requests"]
        total_err += errors
        total_conns += r["connections"]
        total_rate += rate
    overall = {
        "kind": "overall",
        "connections": total_conns,
        "requests": total_req,
        "errors": total_err,
        "reqPerSec": round(total_rate, 1),
        "p50Ms": percentile(merged, 50) / 1000,
        "p99Ms": percentile(merged, 99) / 1000,
        "maxMs": percentile(merged, 100) / 1000,
    }

    head = f"{'kind':<18}{'conns':>6}{'requests':>10}{'errors':>8}{'req/s':>10}{'p50':>11}{'p99':>11}{'max':>11}"
    print(head)
    print("-" * len(head))
    for t in table + [overall]:
        print(f"{t['kind']:<18}{t['connections']:>6}{t['requests']:>10}{t['errors']:>8}"
              f"{t['reqPerSec']:>10.1f}{ms(t['p50Ms'] * 1000):>11}{ms(t['p99Ms'] * 1000):>11}"
              f"{ms(t['maxMs'] * 1000):>11}")
    for t in table:
        if t["errors"]:
            print(f"  {t['kind']}: {t['socketErrors']} socket error(s), {t['non2xx']} non-2xx "
                  f"(first: {t['firstNon2xx']})")

    by_phase = {}
    for phase, t, kib, hwm in rss:
        by_phase.setdefault(phase, []).append((t, kib, hwm))
    print()
    print("server RSS (VmRSS, KiB; VmHWM = peak so far):")
    for phase in ("before", "during", "after"):
        samples = by_phase.get(phase, [])
        if samples:
            vals = " ".join(f"{kib}@{t:.0f}s" for t, kib, _ in samples)
            print(f"  {phase:<7} {vals}  (VmHWM {samples[-1][2]})")
    memory = {p: [{"t": t, "rssKib": k, "hwmKib": h} for t, k, h in s] for p, s in by_phase.items()}

    hello = None
    if len(sys.argv) > 4:
        (h,) = [json.loads(line) for line in open(sys.argv[4]) if line.strip()]
        h_err, h_rate, h_hist = kind_figures(h)
        hello = {"connections": h["connections"], "requests": h["requests"], "errors": h_err,
                 "reqPerSec": round(h_rate, 1), "p50Ms": percentile(h_hist, 50) / 1000,
                 "p99Ms": percentile(h_hist, 99) / 1000,
                 "ratio": round(total_rate / h_rate, 4) if h_rate else None}
        print()
        print(f"hello-world GET / ({hello['connections']} conns, right after): "
              f"{hello['reqPerSec']:.1f} req/s, p50 {ms(hello['p50Ms'] * 1000)}, "
              f"p99 {ms(hello['p99Ms'] * 1000)}, {h_err} errors; "
              f"overall / hello-world = {hello['ratio']}")

    if len(sys.argv) > 3:
        with open(sys.argv[3], "w") as f:
            json.dump({"kinds": table, "overall": overall, "rss": memory, "hello": hello}, f,
                      indent=2)
    if total_err:
        print(f"\nload: {total_err} request(s) failed", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
