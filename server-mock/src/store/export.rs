//! The export's reads (API.md §3.8): one page of an exportable table after a rowid, as
//! the API's camelCase rows with every column present (absent values are `null`), money
//! and weights as decimal strings, JSON columns (metadata, commission rules) as
//! objects/arrays. Used by `routes/export.rs`, which streams pages.

use rusqlite::{params, Connection};
use serde::Serialize;
use serde_json::{Map, Value};

/// An exportable table (API.md §3.8, a deliberate subset).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Table {
    /// `partners`.
    Partner,
    /// `programs`.
    Program,
    /// `partner_programs` (grants).
    PartnerProgram,
    /// `links`.
    Link,
    /// `clicks`.
    Click,
    /// `identities`.
    Identity,
    /// `events` (conversion events).
    Event,
    /// `attributions`.
    Attribution,
    /// `commissions`.
    Commission,
    /// `payouts`.
    Payout,
}

impl Table {
    /// Every exportable table, in `export.json` order.
    pub const ALL: [Table; 10] = [
        Table::Partner,
        Table::Program,
        Table::PartnerProgram,
        Table::Link,
        Table::Click,
        Table::Identity,
        Table::Event,
        Table::Attribution,
        Table::Commission,
        Table::Payout,
    ];

    /// The API name (`Partner`, `PartnerProgram`, …): the export file stem and the key in
    /// `export.json`'s `tables`.
    pub fn name(self) -> &'static str {
        match self {
            Table::Partner => "Partner",
            Table::Program => "Program",
            Table::PartnerProgram => "PartnerProgram",
            Table::Link => "Link",
            Table::Click => "Click",
            Table::Identity => "Identity",
            Table::Event => "Event",
            Table::Attribution => "Attribution",
            Table::Commission => "Commission",
            Table::Payout => "Payout",
        }
    }

    /// The table named `name` (exact, case-sensitive), if exportable.
    pub fn from_name(name: &str) -> Option<Table> {
        Table::ALL.into_iter().find(|t| t.name() == name)
    }
}

/// A payout as exported (the API's payout shape): the stored run id and commission count
/// are nested under `metadata`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PayoutRow {
    /// Payout id.
    pub id: String,
    /// Tenant id.
    pub tenant_id: String,
    /// The paid partner.
    pub partner_id: String,
    /// Decimal string.
    pub amount: String,
    /// ISO 4217 code.
    pub currency: String,
    /// Payout method.
    pub method: String,
    /// `pending` / `completed` / ….
    pub status: String,
    /// The run that created it.
    pub metadata: PayoutMetadata,
    /// Creation time (ISO 8601).
    pub created_at: String,
    /// Completion time, `null` while pending.
    pub completed_at: Option<String>,
}

/// `metadata` of an exported payout.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PayoutMetadata {
    /// The payout run.
    pub run_id: String,
    /// Commissions paid by this payout.
    pub commission_count: i64,
}

impl PayoutRow {
    /// Reads the payout select list of [`table_sql`] (columns 0–10).
    fn from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Self> {
        Ok(PayoutRow {
            id: r.get(0)?,
            tenant_id: r.get(1)?,
            partner_id: r.get(2)?,
            amount: r.get(3)?,
            currency: r.get(4)?,
            method: r.get(5)?,
            status: r.get(6)?,
            metadata: PayoutMetadata {
                run_id: r.get(7)?,
                commission_count: r.get(8)?,
            },
            created_at: r.get(9)?,
            completed_at: r.get(10)?,
        })
    }
}

fn json_col(s: Option<String>) -> Value {
    s.and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or(Value::Null)
}

fn obj(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

/// How a selected column becomes a JSON value.
#[derive(Clone, Copy)]
enum Col {
    /// `TEXT NOT NULL` → string.
    Str,
    /// Nullable `TEXT` → string or `null`.
    OptStr,
    /// `INTEGER NOT NULL` → number.
    Int,
    /// Nullable `INTEGER` → number or `null`.
    OptInt,
    /// JSON stored as text → object/array (`null` when absent or unparsable).
    Json,
}

/// How the rows of a table become JSON objects.
enum Shape {
    /// Column `i` of the select list becomes key `cols[i].0`, in order.
    Cols(&'static [(&'static str, Col)]),
    /// Payouts: the run id and commission count nested under `metadata` ([`PayoutRow`]).
    Payout,
}

/// Maps a row column by column, keys in `cols` order.
fn map_cols(r: &rusqlite::Row<'_>, cols: &[(&str, Col)]) -> rusqlite::Result<Value> {
    let mut m = Map::with_capacity(cols.len());
    for (i, (key, kind)) in cols.iter().enumerate() {
        let v = match kind {
            Col::Str => Value::from(r.get::<_, String>(i)?),
            Col::OptStr => r
                .get::<_, Option<String>>(i)?
                .map_or(Value::Null, Value::from),
            Col::Int => Value::from(r.get::<_, i64>(i)?),
            Col::OptInt => r.get::<_, Option<i64>>(i)?.map_or(Value::Null, Value::from),
            Col::Json => json_col(r.get(i)?),
        };
        m.insert((*key).to_owned(), v);
    }
    Ok(Value::Object(m))
}

/// `(select list + from, shape)` of a table; the query gets `WHERE tenant_id = ?1 AND
/// rowid > ?2 ORDER BY rowid LIMIT ?3` appended and must select `rowid` last.
fn table_sql(table: Table) -> (&'static str, Shape) {
    use Col::{Int, Json, OptInt, OptStr, Str};
    match table {
        Table::Partner => (
            "SELECT id, tenant_id, email, name, external_id, stripe_connect_account_id, metadata, created_at,
                    updated_at, activated_at, revoked_at, revoke_reason, rowid FROM partners",
            Shape::Cols(&[
                ("id", Str),
                ("tenantId", Str),
                ("email", Str),
                ("name", Str),
                ("externalId", OptStr),
                ("stripeConnectAccountId", OptStr),
                ("metadata", Json),
                ("createdAt", Str),
                ("updatedAt", Str),
                ("activatedAt", OptStr),
                ("revokedAt", OptStr),
                ("revokeReason", OptStr),
            ]),
        ),
        Table::Program => (
            "SELECT id, tenant_id, name, commission_rule, attribution_window_days, attribution_model,
                    destination_url, deep_link_allowed_domains, holdback_days, starts_at, ends_at, created_at,
                    rowid FROM programs",
            Shape::Cols(&[
                ("id", Str),
                ("tenantId", Str),
                ("name", Str),
                ("commissionRule", Json),
                ("attributionWindowDays", Int),
                ("attributionModel", Str),
                ("destinationUrl", Str),
                ("deepLinkAllowedDomains", OptStr),
                ("holdbackDays", OptInt),
                ("startsAt", OptStr),
                ("endsAt", OptStr),
                ("createdAt", Str),
            ]),
        ),
        Table::PartnerProgram => (
            "SELECT id, tenant_id, partner_id, program_id, grant_source, granted_at, rowid FROM partner_programs",
            Shape::Cols(&[
                ("id", Str),
                ("tenantId", Str),
                ("partnerId", Str),
                ("programId", Str),
                ("grantSource", Str),
                ("grantedAt", Str),
            ]),
        ),
        Table::Link => (
            "SELECT id, tenant_id, link_key, partner_id, program_id, destination_url, created_at, rowid FROM links",
            Shape::Cols(&[
                ("id", Str),
                ("tenantId", Str),
                ("linkKey", Str),
                ("partnerId", Str),
                ("programId", Str),
                ("destinationUrl", OptStr),
                ("createdAt", Str),
            ]),
        ),
        Table::Click => (
            "SELECT id, tenant_id, link_id, link_key, partner_id, program_id, landing_url, ip_hash, user_agent,
                    referer, fraud_flag, ts, created_at, rowid FROM clicks",
            Shape::Cols(&[
                ("id", Str),
                ("tenantId", Str),
                ("linkId", Str),
                ("linkKey", Str),
                ("partnerId", Str),
                ("programId", Str),
                ("landingUrl", OptStr),
                ("ipHash", OptStr),
                ("userAgent", OptStr),
                ("referer", OptStr),
                ("fraudFlag", OptStr),
                ("ts", Str),
                ("createdAt", Str),
            ]),
        ),
        Table::Identity => (
            "SELECT id, tenant_id, click_id, user_id, created_at, rowid FROM identities",
            Shape::Cols(&[
                ("id", Str),
                ("tenantId", Str),
                ("clickId", Str),
                ("userId", Str),
                ("createdAt", Str),
            ]),
        ),
        Table::Event => (
            "SELECT id, tenant_id, user_id, type, value, currency, metadata, ts, created_at, rowid FROM events",
            Shape::Cols(&[
                ("id", Str),
                ("tenantId", Str),
                ("userId", Str),
                ("type", Str),
                ("value", Str),
                ("currency", Str),
                ("metadata", Json),
                ("ts", Str),
                ("createdAt", Str),
            ]),
        ),
        Table::Attribution => (
            "SELECT id, tenant_id, event_id, partner_id, program_id, click_id, model, weight, created_at, rowid
             FROM attributions",
            Shape::Cols(&[
                ("id", Str),
                ("tenantId", Str),
                ("eventId", Str),
                ("partnerId", Str),
                ("programId", Str),
                ("clickId", Str),
                ("model", Str),
                ("weight", Str),
                ("createdAt", Str),
            ]),
        ),
        Table::Commission => (
            "SELECT id, tenant_id, attribution_id, partner_id, program_id, amount, currency, status, holdback_days,
                    accrued_at, mature_at, paid_at, payout_id, rowid FROM commissions",
            Shape::Cols(&[
                ("id", Str),
                ("tenantId", Str),
                ("attributionId", Str),
                ("partnerId", Str),
                ("programId", OptStr),
                ("amount", Str),
                ("currency", Str),
                ("status", Str),
                ("holdbackDays", OptInt),
                ("accruedAt", Str),
                ("matureAt", OptStr),
                ("paidAt", OptStr),
                ("payoutId", OptStr),
            ]),
        ),
        Table::Payout => (
            "SELECT id, tenant_id, partner_id, amount, currency, method, status, run_id, commission_count,
                    created_at, completed_at, rowid FROM payouts",
            Shape::Payout,
        ),
    }
}

/// One page of `table` for `tenant`: the rows after `after_rowid` in insertion order,
/// at most `limit`, with the rowid of the last one (`after_rowid` when there is none).
pub fn page(
    conn: &Connection,
    tenant: &str,
    table: Table,
    after_rowid: i64,
    limit: i64,
) -> rusqlite::Result<(Vec<Map<String, Value>>, i64)> {
    let (sql, shape) = table_sql(table);
    // `+tenant_id` keeps SQLite off the tenant indexes: the rowid range scan is what makes
    // every page cost the same (with an index on tenant_id it would re-sort the whole table).
    let full = format!("{sql} WHERE +tenant_id = ?1 AND rowid > ?2 ORDER BY rowid LIMIT ?3");
    let mut st = conn.prepare_cached(&full)?;
    let mut rows = st.query(params![tenant, after_rowid, limit])?;
    let mut out = Vec::new();
    let mut last = after_rowid;
    while let Some(r) = rows.next()? {
        let n = r.as_ref().column_count();
        last = r.get(n - 1)?;
        let v = match &shape {
            Shape::Cols(cols) => map_cols(r, cols)?,
            Shape::Payout => serde_json::to_value(PayoutRow::from_row(r)?)
                .map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))?,
        };
        out.push(obj(v));
    }
    Ok((out, last))
}
