#!/usr/bin/env python3
"""Import data of the reliability proofs (scripts/crash-import.sh, scripts/fault-import.sh):
generates the files and checks what the server stored, in exact decimal arithmetic.

  import_data.py generate WORK N_EVENTS N_PARTNERS PREFIX [USERS]
      WORK/events.ndjson   N_EVENTS distinct conversion events, each with its own `id`
                           (so `openpartner events import` sends each with its own
                           Idempotency-Key) and that id in `metadata.line`; values drawn
                           from a fixed seed, their sum in WORK/events.cents (integer cents)
      WORK/partners.csv    N_PARTNERS rows `email,name,external_id`, distinct emails
      With USERS = 0 (default) every event has its own anonymous user: stored, not
      attributed. With USERS > 0 the events are spread over USERS users, and
      WORK/links.csv (`external_id,link_key`: partner i gets the link of user i),
      WORK/clicks.ndjson and WORK/identifies.ndjson (one click per link and user, one
      identify per click) make every event attributable: clicks a day before the first
      event, events within the next hours, so a 60-day window attributes them all.
  import_data.py check-events WORK EXPORT.json KILLS RUNS
      exactly one stored event per line of events.ndjson, Σ value equal to the file's.
  import_data.py check-partners WORK EXPORT.json KILLS RUNS
      exactly one stored partner per row of partners.csv, no duplicate email.
  import_data.py normalize-csv IN.csv PARTNERS.csv OUT.csv
      IN.csv (a CLI CSV listing or report) with what differs between two servers given
      the same input taken out: the columns `id`, `tenantId` and `…At` (ids and times the
      server picks) dropped, every partner id (`partnerId`, a partner report's `group`)
      replaced by the partner's email (looked up in PARTNERS.csv, a `partners list -o csv`
      of the same server), the rows sorted.
The checks print one line and exit 1 on any mismatch.
"""
import csv
import datetime
import json
import random
import sys
from collections import Counter
from decimal import Decimal


def generate(work, n_events, n_partners, prefix, users):
    rng = random.Random(20000)
    if users > n_partners:
        sys.exit(f"import_data: {users} users need at least as many partners, got {n_partners}")
    # Clicks a day before the events; fixed relative to now so both runs of a proof
    # (generated once) see the same times, and the window (60 days) covers them all.
    start = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0) - datetime.timedelta(days=2)
    click_ts = start.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    total = 0
    with open(f"{work}/events.ndjson", "w") as f:
        for i in range(1, n_events + 1):
            cents = rng.randrange(1, 100_000)
            total += cents
            line_id = f"{prefix}-ev-{i:06d}"
            if users:
                user = f"{prefix}-user-{(i - 1) % users + 1:05d}"
                ts = (start + datetime.timedelta(days=1, milliseconds=i)).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
                extra = ',"ts":"%s"' % ts
            else:
                # Distinct anonymous users: the events are stored (`no_identity`).
                user = f"{prefix}-user-{i:06d}"
                extra = ""
            f.write(
                '{"id":"%s","userId":"%s","type":"sale","value":%d.%02d,'
                '"currency":"EUR","metadata":{"line":"%s"}%s}\n'
                % (line_id, user, cents // 100, cents % 100, line_id, extra)
            )
    with open(f"{work}/events.cents", "w") as f:
        f.write(f"{total}\n")
    with open(f"{work}/partners.csv", "w") as f:
        f.write("email,name,external_id\n")
        for i in range(1, n_partners + 1):
            f.write(f"{prefix}-partner-{i:05d}@example.com,{prefix.capitalize()} Partner {i},{prefix}-p-{i:05d}\n")
    if not users:
        return
    with open(f"{work}/links.csv", "w") as links, open(f"{work}/clicks.ndjson", "w") as clicks, open(
        f"{work}/identifies.ndjson", "w"
    ) as idents:
        links.write("external_id,link_key\n")
        for u in range(1, users + 1):
            key = f"{prefix}-link-{u:05d}"
            click = f"clk_{prefix}_{u:020d}"
            links.write(f"{prefix}-p-{u:05d},{key}\n")
            clicks.write(
                '{"id":"%s","linkKey":"%s","landingUrl":"https://shop.example.com/?ref=%s","ts":"%s"}\n'
                % (click, key, key, click_ts)
            )
            idents.write('{"cref":"%s","userId":"%s-user-%05d"}\n' % (click, prefix, u))


def check_events(work, export, kills, runs):
    expected_cents = int(open(f"{work}/events.cents").read())
    lines = [json.loads(l)["id"] for l in open(f"{work}/events.ndjson")]
    line_set = set(lines)
    rows = json.load(open(export), parse_float=Decimal)
    per_line = Counter((r.get("metadata") or {}).get("line") for r in rows)
    stored_sum = sum((Decimal(str(r["value"])) for r in rows if r.get("value") is not None), Decimal(0))
    expected_sum = Decimal(expected_cents) / 100
    duplicates = sum(c - 1 for c in per_line.values() if c > 1)
    missing = sum(1 for l in lines if per_line.get(l, 0) == 0)
    foreign = sum(c for l, c in per_line.items() if l not in line_set)
    ok = len(rows) == len(lines) and duplicates == 0 and missing == 0 and foreign == 0 and stored_sum == expected_sum
    print(
        f"events:   file {len(lines)}, stored {len(rows)}, duplicates {duplicates}, missing {missing}, "
        f"Σ value file {expected_sum} stored {stored_sum} (diff {stored_sum - expected_sum}), "
        f"kills {kills}, runs {runs}: {'OK' if ok else 'MISMATCH'}"
    )
    return ok


def check_partners(work, export, kills, runs):
    emails = [r["email"].lower() for r in csv.DictReader(open(f"{work}/partners.csv"))]
    rows = json.load(open(export))
    per_email = Counter(r["email"].lower() for r in rows)
    duplicates = sum(c - 1 for c in per_email.values() if c > 1)
    missing = sum(1 for e in emails if per_email.get(e, 0) == 0)
    ok = len(rows) == len(emails) and duplicates == 0 and missing == 0
    print(
        f"partners: file {len(emails)}, stored {len(rows)}, duplicate emails {duplicates}, missing {missing}, "
        f"kills {kills}, runs {runs}: {'OK' if ok else 'MISMATCH'}"
    )
    return ok


def normalize_csv(src, partners_csv, out):
    email_of = {r["id"]: r["email"].lower() for r in csv.DictReader(open(partners_csv))}
    reader = csv.DictReader(open(src))
    keep = [c for c in reader.fieldnames if c not in ("id", "tenantId") and not c.endswith("At")]
    rows = []
    for r in reader:
        # A partner id in any column (`partnerId`, a report's `group`) → the email.
        rows.append([email_of.get(r[c], r[c]) for c in keep])
    rows.sort()
    with open(out, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(keep)
        w.writerows(rows)


def main(argv):
    if len(argv) < 2:
        sys.exit(__doc__)
    cmd, args = argv[1], argv[2:]
    if cmd == "generate":
        users = int(args[4]) if len(args) > 4 else 0
        generate(args[0], int(args[1]), int(args[2]), args[3], users)
        return 0
    if cmd == "check-events":
        return 0 if check_events(*args[:4]) else 1
    if cmd == "check-partners":
        return 0 if check_partners(*args[:4]) else 1
    if cmd == "normalize-csv":
        normalize_csv(*args[:3])
        return 0
    sys.exit(f"import_data: unknown command {cmd}\n{__doc__}")


if __name__ == "__main__":
    sys.exit(main(sys.argv))
