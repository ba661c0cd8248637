#!/usr/bin/env python3
"""Generates examples/data/{clicks,identifies,events}.ndjson and expected.json once (fixed
seed; the files are committed). expected.json holds the commission totals that the main job
must produce, computed here independently of the server from API.md §3.4 (last-click,
window, percent rounded half-up to cents, fixed amounts), so the end-to-end test checks the
server and the CLI against an independent calculation.

The main job creates (see scripts/main-job.sh):
  program "Spring referral": 20 % of every event, last_click, 60-day window, holdback 0;
    links spring-<external_id> for partners crm-10001..crm-10040;
  program "Annual plans": fixed 3.00 per `purchase` (rules file), last_click, 60-day window,
    holdback 30 days; links annual-<external_id> for partners crm-10041..crm-10060.
Then approves every matured commission (Spring only: Annual is still in holdback) and runs
payouts, so Spring commissions end `paid` and Annual ones stay `accrued`.
"""
import json, random, os
from datetime import datetime, timedelta, timezone
from decimal import Decimal, ROUND_HALF_UP

random.seed(20261122)
out = os.path.join(os.path.dirname(__file__), "..", "examples", "data")
os.makedirs(out, exist_ok=True)

def iso(t):
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"

import csv, re
# The first 60 partners of examples/partners.csv with a usable external id (valid email, a
# name, first occurrence of the id): 40 get a Spring link, 20 an Annual link.
seen, exts = set(), []
with open(os.path.join(os.path.dirname(__file__), "..", "examples", "partners.csv")) as f:
    for row in csv.DictReader(f):
        e = (row.get("external_id") or "").strip()
        if not e or e in seen or not row.get("name", "").strip():
            continue
        seen.add(e)
        if re.fullmatch(r"[^@\s,]+@[^@\s,]+\.[A-Za-z]{2,}", row["email"].strip()):
            exts.append(e)
exts = exts[:60]
assert len(exts) == 60
spring = [f"spring-{e}" for e in exts[:40]]
annual = [f"annual-{e}" for e in exts[40:]]
links = [(k, "spring") for k in spring] + [(k, "annual") for k in annual]
with open(os.path.join(out, "links.csv"), "w") as f:
    f.write("external_id,link_key,program\n")
    for e, (k, p) in zip(exts, links):
        f.write(f"{e},{k},{p}\n")
start = datetime(2026, 8, 1, tzinfo=timezone.utc)

clicks = []
for i in range(1500):
    key, prog = random.choice(links)
    ts = start + timedelta(milliseconds=random.randrange(0, 61 * 86400 * 1000))
    cid = "clk_" + "".join(random.choice("0123456789abcdef") for _ in range(24))
    clicks.append({"id": cid, "linkKey": key, "landingUrl": f"https://shop.example.com/?ref={key}",
                   "ts": iso(ts), "userAgent": random.choice(["Mozilla/5.0 (X11; Linux x86_64)", "Mozilla/5.0 (iPhone)", "Mozilla/5.0 (Macintosh)"]),
                   "referer": random.choice(["https://blog.example.org/post", "https://news.example.net/", None]),
                   "_prog": prog, "_t": ts})
clicks.sort(key=lambda c: c["_t"])

# 90 identified users: 70 with one click, 20 (Spring only) with two clicks; 30 never identified.
users = [f"user-{i:04d}" for i in range(1, 121)]
identified = users[:90]
ident = {}  # user -> list of clicks
pool = clicks[:]
random.shuffle(pool)
spring_pool = [c for c in pool if c["_prog"] == "spring"]
used = set()
def take(pred_pool):
    for c in pred_pool:
        if c["id"] not in used:
            used.add(c["id"]); return c
    raise SystemExit("pool exhausted")
for n, u in enumerate(identified):
    if n < 20:
        ident[u] = [take(spring_pool), take(spring_pool)]
    else:
        ident[u] = [take(pool)]
identifies = [{"cref": c["id"], "userId": u} for u, cs in ident.items() for c in cs]
random.shuffle(identifies)

events = []
n = 0
for u in users:
    cs = ident.get(u)
    base = min(c["_t"] for c in cs) if cs else start + timedelta(days=random.randrange(0, 60))
    for _ in range(random.randrange(8, 15)):
        n += 1
        r = random.random()
        if r < 0.06:
            ts = base - timedelta(hours=random.randrange(1, 72))  # before the click
        else:
            ts = base + timedelta(milliseconds=random.randrange(0, 45 * 86400 * 1000))
        kind = "signup" if random.random() < 0.15 else "purchase"
        ev = {"id": f"evt-{n:06d}", "userId": u, "type": kind, "ts": iso(ts)}
        if kind == "purchase":
            ev["value"] = float(Decimal(random.randrange(500, 30000)) / 100) if False else None
            cents = random.randrange(500, 30000)
            ev["value"] = f"{cents // 100}.{cents % 100:02d}"
            ev["currency"] = "EUR" if random.random() < 0.2 else "USD"
        ev["_t"] = ts
        events.append(ev)
events.sort(key=lambda e: e["_t"])

# Independent expectation (API.md §3.4, last_click, window 60 days, -5 min tolerance).
def expected():
    totals = {}
    count = {"attributed": 0}
    for ev in events:
        cs = ident.get(ev["userId"])
        if not cs:
            continue
        elig = [c for c in cs if timedelta(minutes=-5) <= ev["_t"] - c["_t"] <= timedelta(days=60)]
        if not elig:
            continue
        last = max(elig, key=lambda c: (c["_t"], c["id"]))
        count["attributed"] += 1
        value = Decimal(ev.get("value", "0"))
        cur = ev.get("currency", "USD")
        if last["_prog"] == "spring":
            amt = (value * 20 / 100).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
            status = "paid"
        else:
            amt = Decimal("3.00") if ev["type"] == "purchase" else Decimal(0)
            status = "accrued"
        if amt == 0:
            continue
        s = totals.setdefault(status, {}).setdefault(cur, [0, Decimal(0)])
        s[0] += 1; s[1] += amt
    return {
        "clicks": len(clicks), "identifies": len(identifies), "events": len(events),
        "attributedEvents": count["attributed"],
        "commissions": {st: {cur: {"count": v[0], "sum": f"{v[1]:.2f}"} for cur, v in sorted(d.items())}
                        for st, d in sorted(totals.items())},
    }

def dump(name, rows):
    with open(os.path.join(out, name), "w") as f:
        for r in rows:
            f.write(json.dumps({k: v for k, v in r.items() if not k.startswith("_") and v is not None}) + "\n")
dump("clicks.ndjson", clicks)
dump("identifies.ndjson", identifies)
# values as JSON numbers with cents (the wire type of `value`)
with open(os.path.join(out, "events.ndjson"), "w") as f:
    for e in events:
        row = {k: v for k, v in e.items() if not k.startswith("_")}
        line = json.dumps(row)
        if "value" in row:
            line = line.replace(json.dumps(row["value"]), row["value"], 1) if False else line
        f.write(line.replace(f'"value": "{row.get("value")}"', f'"value": {row.get("value")}') + "\n")
with open(os.path.join(out, "expected.json"), "w") as f:
    json.dump(expected(), f, indent=2); f.write("\n")
with open(os.path.join(out, "rules-annual.json"), "w") as f:
    json.dump([{"trigger": "every", "eventType": "purchase", "type": "fixed", "value": 3}], f, indent=2); f.write("\n")
print(json.dumps(expected(), indent=2))
