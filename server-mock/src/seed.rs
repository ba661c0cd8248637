//! Sandbox data: `--seed demo` and `--seed commissions:N`.
//!
//! `demo` builds a realistic sandbox through the same code paths as the API: programs via
//! [`crate::domain::programs::create`] (so rules are validated), and every event through
//! [`attribution::insert_event`] + [`attribution::attribute_stored_event`] (the engine),
//! so every commission is one the server itself would have computed. Partners, links,
//! clicks and identities are plain rows ([`store::fixtures`], [`store::identities`]).
//! Events are attributed in time order with the accrual time set to the event time, so
//! commissions spread over the months like a live system's would. Then older commissions are approved or reversed, a payout run pays the
//! approved ones ([`payouts::run`]) and part of its payouts are confirmed;
//! newer commissions stay accrued / approved. No webhook events are emitted.
//!
//! Determinism: the content (counts, names, amounts, statuses, relative times) comes from
//! a fixed-seed RNG and is identical on every run; timestamps are anchored at the start of
//! the current UTC day (so the dashboards' "last 30 days" show data) and row ids are
//! fresh ULIDs.
//!
//! `commissions:N` bulk-inserts N commissions (one program, 100 partners, statuses mixed,
//! accrual times spread over a year) in one transaction, for pagination and streaming
//! benchmarks. Those rows reference synthetic attribution ids (`bench_<n>`): they are a
//! load-test fixture, not an attribution history.

use chrono::{DateTime, Duration, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rusqlite::Connection;
use serde_json::json;

use crate::attribution::{self, NewEvent};
use crate::domain::payouts::{self, RunScope};
use crate::store;
use crate::util::{fmt_ts, new_id};

/// What a seed run created.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SeedReport {
    /// Programs created.
    pub programs: usize,
    /// Partners created.
    pub partners: usize,
    /// Links created.
    pub links: usize,
    /// Clicks created.
    pub clicks: usize,
    /// Identities created.
    pub identities: usize,
    /// Events tracked.
    pub events: usize,
    /// Commissions in the database afterwards.
    pub commissions: usize,
    /// Payouts created.
    pub payouts: usize,
}

/// Runs the seed named by `spec` (`demo` or `commissions:N`) into `tenant`.
pub fn run(
    conn: &mut Connection,
    tenant: &str,
    spec: &str,
    now: DateTime<Utc>,
) -> anyhow::Result<SeedReport> {
    match spec.trim() {
        "demo" => demo(conn, tenant, now),
        s => match s.strip_prefix("commissions:").map(str::parse::<usize>) {
            Some(Ok(n)) if n <= 20_000_000 => bulk_commissions(conn, tenant, n, now),
            _ => anyhow::bail!("unknown seed '{spec}': use 'demo' or 'commissions:N'"),
        },
    }
}

const FIRST: &[&str] = &[
    "Ada", "Ben", "Chloe", "Diego", "Elena", "Farid", "Grace", "Hiro", "Ines", "Jonas", "Kira",
    "Liam", "Maya", "Nils", "Olga", "Priya", "Quinn", "Rosa", "Sami", "Tara", "Umar", "Vera",
    "Wen", "Yusuf", "Zoe",
];
const LAST: &[&str] = &[
    "Novak",
    "Okafor",
    "Silva",
    "Lindqvist",
    "Tanaka",
    "Moreau",
    "Kowalski",
    "Haddad",
    "Brennan",
    "Rossi",
    "Schmidt",
    "Nguyen",
    "Castillo",
    "Petrov",
    "Adeyemi",
];
const TIERS: [&str; 3] = ["bronze", "silver", "gold"];
const SITES: &[&str] = &[
    "techreviews",
    "dailydeals",
    "fitlife",
    "codecraft",
    "travelnotes",
    "homechef",
    "gamerhub",
    "budgetwise",
];

fn insert_partner(
    conn: &Connection,
    tenant: &str,
    i: usize,
    rng: &mut StdRng,
    created: DateTime<Utc>,
) -> rusqlite::Result<(String, bool)> {
    let first = FIRST[rng.random_range(0..FIRST.len())];
    let last = LAST[rng.random_range(0..LAST.len())];
    let site = SITES[rng.random_range(0..SITES.len())];
    let id = new_id();
    let created_s = fmt_ts(created);
    let activated = rng.random_bool(0.9).then(|| created_s.clone());
    let revoked = i % 53 == 7;
    store::fixtures::insert_partner(
        conn,
        &store::fixtures::FixturePartner {
            id: &id,
            tenant_id: tenant,
            email: &format!(
                "{}.{}{}@{}.example",
                first.to_lowercase(),
                last.to_lowercase(),
                i,
                site
            ),
            name: &format!("{first} {last}"),
            external_id: &format!("crm-{:05}", i + 1),
            metadata: &json!({"site": format!("https://{site}.example"), "tier": TIERS[i % 3]})
                .to_string(),
            created_at: &created_s,
            activated_at: activated.as_deref(),
            revoked: revoked.then_some((created_s.as_str(), "terms violation (demo)")),
        },
    )?;
    Ok((id, revoked))
}

fn demo(conn: &mut Connection, tenant: &str, now: DateTime<Utc>) -> anyhow::Result<SeedReport> {
    let mut rng = StdRng::seed_from_u64(0x5EED_0001);
    let anchor = now
        .date_naive()
        .and_hms_opt(0, 0, 0)
        .map(|d| d.and_utc())
        .unwrap_or(now);
    let start = anchor - Duration::days(150);
    let mut report = SeedReport::default();
    let api_err = |e: crate::error::ApiError| anyhow::anyhow!("seed: {e}");

    // Programs, through the API's validation.
    let program_bodies = [
        json!({"name": "Standard referral", "destinationUrl": "https://shop.example.com/",
               "commissionRule": {"type": "percent", "value": 20}, "attributionWindowDays": 30,
               "holdbackDays": 14, "deepLinkAllowedDomains": "example.com",
               "startsAt": fmt_ts(start - Duration::days(30))}),
        json!({"name": "SaaS subscriptions", "destinationUrl": "https://app.example.com/signup",
               "attributionModel": "linear", "attributionWindowDays": 60,
               "commissionRule": [
                   {"trigger": "first", "eventType": "signup", "type": "fixed", "value": 25},
                   {"trigger": "every", "eventType": "renewal", "type": "percent", "value": 15,
                    "recurring": true, "recurringMonths": 3}]}),
        json!({"name": "Creators", "destinationUrl": "https://creators.example.com/",
               "attributionModel": "position", "attributionWindowDays": 45,
               "commissionRule": [{"trigger": "every", "eventType": "sale", "type": "percent", "value": 12.5}]}),
        json!({"name": "Spring campaign", "destinationUrl": "https://shop.example.com/spring",
               "attributionModel": "first_click", "attributionWindowDays": 14,
               "commissionRule": {"type": "fixed", "value": 5},
               "startsAt": fmt_ts(start), "endsAt": fmt_ts(start + Duration::days(75))}),
    ];
    let mut program_ids = Vec::new();
    for b in &program_bodies {
        let program = create_program(conn, tenant, b, &fmt_ts(start - Duration::days(31)))
            .map_err(api_err)?;
        program_ids.push(program.id);
    }
    report.programs = program_ids.len();

    let tx = conn.savepoint()?;
    // Partners, grants, links.
    let mut links: Vec<(String, String, String)> = Vec::new(); // (link id, partner, program)
    for i in 0..300 {
        let created = start - Duration::days(30) + Duration::minutes(i as i64 * 97);
        let (pid, _) = insert_partner(&tx, tenant, i, &mut rng, created)?;
        report.partners += 1;
        let n_links = 1 + rng.random_range(0..3usize);
        for k in 0..n_links {
            let prog = &program_ids[(i + k) % program_ids.len()];
            store::grants::insert(&tx, tenant, &pid, prog, "manual", &fmt_ts(created))?;
            let link_id = new_id();
            let key = format!("p{i:03}-{k}");
            store::fixtures::insert_link(
                &tx,
                &link_id,
                tenant,
                &key,
                &pid,
                prog,
                (k == 1)
                    .then(|| format!("https://shop.example.com/deal/{i}"))
                    .as_deref(),
                &fmt_ts(created),
            )?;
            links.push((link_id, pid.clone(), prog.clone()));
            report.links += 1;
        }
    }
    // Clicks: popularity is skewed (a few partners bring most traffic).
    let total_ms = (anchor - start).num_milliseconds();
    let mut clicks: Vec<(String, i64)> = Vec::new();
    for _ in 0..30_000 {
        let r: f64 = rng.random();
        let li = ((r * r * r) * links.len() as f64) as usize % links.len();
        let (link_id, _, _) = &links[li];
        let ts = start + Duration::milliseconds(rng.random_range(0..total_ms));
        let id = new_id();
        let flag = match rng.random_range(0..1000) {
            0..=9 => Some("velocity"),
            10..=12 => Some("manual"),
            _ => None,
        };
        let ip_hash = crate::util::sha256_hex(format!(
            "10.{}.{}.{}",
            rng.random_range(0..255),
            rng.random_range(0..255),
            rng.random_range(1..255)
        ));
        let user_agent = [
            "Mozilla/5.0 (Macintosh)",
            "Mozilla/5.0 (iPhone)",
            "Mozilla/5.0 (Windows NT 10.0)",
        ][rng.random_range(0..3)];
        let referer = [
            "https://www.google.com/",
            "https://t.co/x",
            "https://news.example/",
            "",
        ][rng.random_range(0..4)];
        store::fixtures::insert_click(
            &tx,
            &store::fixtures::FixtureClick {
                id: &id,
                tenant_id: tenant,
                link_id,
                ip_hash: &ip_hash,
                user_agent,
                referer,
                fraud_flag: flag,
                ts: &fmt_ts(ts),
            },
        )?;
        clicks.push((id, ts.timestamp_millis()));
        report.clicks += 1;
    }
    // Identities: 12 000 users, each stitched to 1–2 clicks.
    let mut users: Vec<(String, i64)> = Vec::new(); // (user, earliest click ms)
    for u in 0..12_000 {
        let user = format!("user_{u:05}");
        let n = 1 + usize::from(rng.random_bool(0.25));
        let mut first = i64::MAX;
        for _ in 0..n {
            let (cid, cts) = &clicks[rng.random_range(0..clicks.len())];
            first = first.min(*cts);
            store::identities::insert_if_new(
                &tx,
                &new_id(),
                tenant,
                cid,
                &user,
                &attribution::ms_ts(*cts + 60_000),
            )?;
            report.identities += 1;
        }
        users.push((user, first));
    }
    // Events: signups, renewals and sales after the user's click, plus some anonymous ones.
    let mut evs: Vec<(i64, NewEvent)> = Vec::new();
    let anchor_ms = anchor.timestamp_millis();
    let mk = |rng: &mut StdRng, user: &str, ty: &str, ts_ms: i64| -> Option<(i64, NewEvent)> {
        if ts_ms >= anchor_ms {
            return None;
        }
        let value = match ty {
            "signup" => None,
            "renewal" => Some(rust_decimal::Decimal::new(
                [2900, 4900, 9900][rng.random_range(0..3)],
                2,
            )),
            _ => Some(rust_decimal::Decimal::new(rng.random_range(500..50_000), 2)),
        };
        let ts = DateTime::<Utc>::from_timestamp_millis(ts_ms)?;
        Some((
            ts_ms,
            NewEvent {
                id: new_id(),
                tenant_id: String::new(),
                user_id: user.to_owned(),
                event_type: ty.to_owned(),
                value,
                currency: if rng.random_bool(0.15) { "EUR" } else { "USD" }.to_owned(),
                metadata: (ty == "sale").then(
                    || json!({"orderId": format!("ord_{}", rng.random_range(10_000..99_999))}),
                ),
                ts,
            },
        ))
    };
    for (user, first_click) in &users {
        if !rng.random_bool(0.6) {
            continue;
        }
        let mut t = first_click + rng.random_range(60_000..(10 * 86_400_000));
        if let Some(e) = mk(&mut rng, user, "signup", t) {
            evs.push(e);
        }
        if rng.random_bool(0.5) {
            for _ in 0..rng.random_range(1..6) {
                t += 30 * 86_400_000;
                if let Some(e) = mk(&mut rng, user, "renewal", t) {
                    evs.push(e);
                }
            }
        }
        for _ in 0..rng.random_range(0..3) {
            let ts = first_click + rng.random_range(0..(50 * 86_400_000));
            if let Some(e) = mk(&mut rng, user, "sale", ts) {
                evs.push(e);
            }
        }
    }
    for a in 0..800 {
        let ts = start.timestamp_millis() + rng.random_range(0..total_ms);
        if let Some(e) = mk(&mut rng, &format!("anon_{a:04}"), "sale", ts) {
            evs.push(e);
        }
    }
    evs.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.user_id.cmp(&b.1.user_id)));
    for (_, mut ev) in evs {
        ev.tenant_id = tenant.to_owned();
        attribution::insert_event(&tx, &ev, ev.ts)?;
        attribution::attribute_stored_event(&tx, &ev.id, ev.ts)?;
        report.events += 1;
    }
    // Lifecycle: older commissions approved (some reversed), then paid by a payout run.
    let old = fmt_ts(anchor - Duration::days(45));
    let recent = fmt_ts(anchor - Duration::days(20));
    let ids = store::commissions::ids_by_accrual(&tx, tenant)?;
    for (id, accrued) in &ids {
        let roll = rng.random_range(0..100);
        let status = if accrued.as_str() < old.as_str() {
            if roll < 6 {
                "reversed"
            } else {
                "approved"
            }
        } else if accrued.as_str() < recent.as_str() {
            match roll {
                0..=3 => "reversed",
                4..=49 => "approved",
                _ => "accrued",
            }
        } else {
            "accrued"
        };
        if status != "accrued" {
            store::commissions::set_status(&tx, id, status)?;
        }
    }
    tx.commit()?;
    // Pay the old approved ones (accrued before `old`); the recent approved stay approved.
    let run_at = fmt_ts(anchor - Duration::days(30));
    let scope = RunScope {
        accrued_before: Some(&old),
        emit: false,
    };
    let run = payouts::run(conn, tenant, &run_at, scope).map_err(api_err)?;
    report.payouts = run.payouts.len();
    let confirmed_at = fmt_ts(anchor - Duration::days(28));
    for (i, p) in run.payouts.iter().enumerate() {
        if i % 3 != 0 {
            payouts::confirm(conn, tenant, &p.payout_id, &confirmed_at).map_err(api_err)?;
        }
    }
    report.commissions = store::commissions::count(conn, tenant)?;
    Ok(report)
}

fn bulk_commissions(
    conn: &mut Connection,
    tenant: &str,
    n: usize,
    now: DateTime<Utc>,
) -> anyhow::Result<SeedReport> {
    let mut rng = StdRng::seed_from_u64(0x5EED_0002);
    let body = json!({"name": "Bench program", "destinationUrl": "https://bench.example.com/",
                      "commissionRule": {"type": "percent", "value": 10}});
    let program = create_program(conn, tenant, &body, &fmt_ts(now))
        .map_err(|e| anyhow::anyhow!("seed: {e}"))?;
    let program_id = program.id;
    let tx = conn.savepoint()?;
    let mut partners = Vec::new();
    for i in 0..100 {
        let (id, _) = insert_partner(&tx, tenant, 10_000 + i, &mut rng, now - Duration::days(400))?;
        partners.push(id);
    }
    let year_ms = 365 * 86_400_000i64;
    for i in 0..n {
        let ts = now - Duration::milliseconds(rng.random_range(0..year_ms));
        let amount = rust_decimal::Decimal::new(rng.random_range(1..100_000), 2);
        store::commissions::insert_fixture(
            &tx,
            // time-ordered id; the random part is fresh (not from the seeded RNG) so that
            // several tenants can be seeded without id collisions
            &ulid::Ulid::from_parts(ts.timestamp_millis() as u64, rand::random::<u128>())
                .to_string(),
            tenant,
            &format!("bench_{i}"),
            &partners[rng.random_range(0..partners.len())],
            &program_id,
            &amount.to_string(),
            if rng.random_bool(0.1) { "EUR" } else { "USD" },
            ["accrued", "approved", "paid", "reversed"][rng.random_range(0..4)],
            &fmt_ts(ts),
        )?;
    }
    tx.commit()?;
    Ok(SeedReport {
        programs: 1,
        partners: 100,
        commissions: n,
        ..SeedReport::default()
    })
}

/// Creates a program from seed data written as a `POST /programs` body, through the same
/// validation and domain code as the route.
fn create_program(
    conn: &rusqlite::Connection,
    tenant: &str,
    body: &serde_json::Value,
    now: &str,
) -> crate::error::ApiResult<crate::wire::programs::Program> {
    let body: crate::wire::programs::ProgramBody = serde_json::from_value(body.clone())
        .map_err(|e| crate::error::ApiError::body_field("body", &e.to_string()))?;
    let input = crate::domain::programs::validate(body, true)?;
    crate::domain::programs::create(conn, tenant, input, now)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::ConnExt;

    fn db() -> Connection {
        let mut c = Connection::open_in_memory().unwrap();
        crate::db::migrate(&mut c).unwrap();
        c.exec(
            "INSERT INTO tenants (id, slug, display_name, created_at) VALUES ('T1', 'default', 'D', '2026-01-01T00:00:00.000Z')",
            [],
        )
        .unwrap();
        c
    }

    #[test]
    fn demo_seed_is_realistic_and_consistent() {
        let mut c = db();
        let now = Utc::now();
        let t0 = std::time::Instant::now();
        let r = run(&mut c, "T1", "demo", now).unwrap();
        eprintln!("demo seed: {r:?} in {:?}", t0.elapsed());
        assert_eq!(r.programs, 4);
        assert_eq!(r.partners, 300);
        assert_eq!(r.clicks, 30_000);
        assert!(r.events > 5_000, "{r:?}");
        assert!(r.commissions > 1_000, "{r:?}");
        assert!(r.payouts > 10, "{r:?}");
        for status in ["accrued", "approved", "paid", "reversed"] {
            let n: i64 = c
                .query_row(
                    "SELECT COUNT(*) FROM commissions WHERE status = ?1",
                    [status],
                    |r| r.get(0),
                )
                .unwrap();
            assert!(n > 0, "no {status} commissions");
        }
        let hold: i64 = c
            .query_row("SELECT COUNT(*) FROM commissions WHERE status NOT IN ('accrued','approved','paid','reversed')", [], |r| r.get(0))
            .unwrap();
        assert_eq!(hold, 0);
        // Paid commissions sum to their payouts, exactly.
        let payouts: Vec<(String, String)> = {
            let mut st = c.prepare("SELECT id, amount FROM payouts").unwrap();
            let rows = st
                .query_map([], |r| Ok((r.get(0).unwrap(), r.get(1).unwrap())))
                .unwrap();
            rows.map(Result::unwrap).collect()
        };
        for (id, amount) in payouts {
            let mut st = c
                .prepare("SELECT amount FROM commissions WHERE payout_id = ?1")
                .unwrap();
            let sum: rust_decimal::Decimal = st
                .query_map([&id], |r| r.get::<_, String>(0))
                .unwrap()
                .map(|a| a.unwrap().parse::<rust_decimal::Decimal>().unwrap())
                .sum();
            assert_eq!(sum, amount.parse::<rust_decimal::Decimal>().unwrap());
        }
        // Deterministic content.
        let mut c2 = db();
        let r2 = run(&mut c2, "T1", "demo", now).unwrap();
        assert_eq!(r, r2);
    }

    #[test]
    fn bulk_commissions_seed() {
        let mut c = db();
        let r = run(&mut c, "T1", "commissions:5000", Utc::now()).unwrap();
        assert_eq!(r.commissions, 5000);
        let n: i64 = c
            .query_row("SELECT COUNT(*) FROM commissions", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 5000);
        assert!(run(&mut c, "T1", "bogus", Utc::now()).is_err());
    }
}
