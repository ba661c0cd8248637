//! Program, sub-rule and commission-snapshot shapes (API.md §3.1, §3.2), shared by the
//! program, grant and snapshot routes, `POST /partners` (`commissionSnapshot`) and the
//! store that reads them back.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, OneOfBuilder, Schema, Type};
use utoipa::openapi::RefOr;
use utoipa::ToSchema;

/// When a sub-rule applies: to every matching event, only the user's first, or every
/// later one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RuleTrigger {
    /// Every matching event.
    Every,
    /// The user's first matching event.
    First,
    /// Every matching event after the first.
    Subsequent,
}

/// `percent` of the event value, or a `fixed` amount per event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CommissionType {
    /// A percentage of the event value.
    Percent,
    /// A fixed amount in the event currency.
    Fixed,
}

/// One commission sub-rule as the server answers it (normalised: `trigger` always
/// present, `value` an exact JSON number with trailing zeros removed, `currency`
/// upper-cased). As a request the same object is accepted with `trigger` optional
/// (→ `every`) and `value` also as a numeric string.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SubRule {
    /// When the rule applies (`first`/`subsequent` need `eventType`).
    pub trigger: RuleTrigger,
    /// Event type the rule is limited to (1–80 characters); absent = any type.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(min_length = 1, max_length = 80)]
    pub event_type: Option<String>,
    /// `percent` or `fixed`.
    #[serde(rename = "type")]
    pub kind: CommissionType,
    /// Percentage or fixed amount, greater than 0 (an exact decimal, never a float).
    #[serde(with = "rust_decimal::serde::arbitrary_precision")]
    #[schema(value_type = f64, exclusive_minimum = 0, example = 20)]
    pub value: Decimal,
    /// Fixed rules only: 3-letter currency (upper-cased; echoed, never used for payment).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(pattern = "^[A-Za-z]{3}$")]
    pub currency: Option<String>,
    /// Whether later events of the same user earn again.
    pub recurring: bool,
    /// With `recurring: true`: months (1–600) the recurrence lasts; absent = forever.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 1, maximum = 600)]
    pub recurring_months: Option<u32>,
}

/// Schema of a decimal given as a JSON number or a numeric string (exact; never a float),
/// with `minimum` when given.
fn decimal_input(minimum: Option<f64>) -> OneOfBuilder {
    let mut number = ObjectBuilder::new().schema_type(Type::Number);
    if let Some(m) = minimum {
        number = number.minimum(Some(m));
    }
    OneOfBuilder::new().item(number).item(
        ObjectBuilder::new()
            .schema_type(Type::String)
            .description(Some("A numeric string, e.g. \"12.50\"")),
    )
}

/// Schema of a non-negative decimal request value (`commissionValue`).
pub fn non_negative_decimal_schema() -> impl Into<RefOr<Schema>> {
    decimal_input(Some(0.0)).description(Some("≥ 0, a JSON number or a numeric string"))
}

/// Schema of one sub-rule as a request accepts it: `trigger` optional (→ `every`),
/// `value` a number or numeric string (> 0), `recurring` optional (→ false). The request
/// is read by [`crate::rules::parse_rules`], whose messages name the rule's position.
fn sub_rule_input() -> ObjectBuilder {
    let string = || ObjectBuilder::new().schema_type(Type::String);
    ObjectBuilder::new()
        .schema_type(Type::Object)
        .property(
            "trigger",
            string()
                .enum_values(Some(["every", "first", "subsequent"]))
                .description(Some(
                    "Default `every`; `first`/`subsequent` need `eventType`",
                )),
        )
        .property(
            "eventType",
            string().min_length(Some(1)).max_length(Some(80)),
        )
        .property("type", string().enum_values(Some(["percent", "fixed"])))
        .required("type")
        .property(
            "value",
            decimal_input(None).description(Some("Greater than 0")),
        )
        .required("value")
        .property(
            "currency",
            string()
                .pattern(Some("^[A-Za-z]{3}$"))
                .description(Some("Fixed rules only")),
        )
        .property("recurring", ObjectBuilder::new().schema_type(Type::Boolean))
        .property(
            "recurringMonths",
            ObjectBuilder::new()
                .schema_type(Type::Integer)
                .minimum(Some(1.0))
                .maximum(Some(600.0))
                .description(Some("Needs `recurring: true`")),
        )
}

/// Schema of a `commissionRule` / `commissionRules` request value: an array of 1–10
/// sub-rules, or the legacy single object (normalised to one `every` rule).
pub fn sub_rules_input_schema() -> impl Into<RefOr<Schema>> {
    OneOfBuilder::new()
        .item(
            ArrayBuilder::new()
                .items(sub_rule_input())
                .min_items(Some(1))
                .max_items(Some(10))
                .description(Some("1–10 sub-rules")),
        )
        .item(sub_rule_input())
        .description(Some(
            "An array of 1–10 sub-rules, or (legacy form) one rule object, read as a single \
             `every` rule",
        ))
}

/// Schema of `commissionRules` in a snapshot body: an array of 1–10 sub-rules, or null.
pub fn sub_rules_array_schema() -> impl Into<RefOr<Schema>> {
    ArrayBuilder::new()
        .items(sub_rule_input())
        .min_items(Some(1))
        .max_items(Some(10))
        .description(Some("1–10 sub-rules"))
}

/// A program row (`GET /programs`, `POST /programs`, `PATCH /programs/{id}`).
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Program {
    /// Program id.
    pub id: String,
    /// Owning tenant.
    pub tenant_id: String,
    /// Name, 1–200 characters (trimmed).
    #[schema(min_length = 1, max_length = 200)]
    pub name: String,
    /// The normalised sub-rules (always an array, also when given in the legacy form).
    pub commission_rule: Vec<SubRule>,
    /// Days (1–365) a click stays eligible for attribution.
    #[schema(minimum = 1, maximum = 365)]
    pub attribution_window_days: i64,
    /// `last_click` | `first_click` | `linear` | `position`.
    #[schema(pattern = "^(last_click|first_click|linear|position)$")]
    pub attribution_model: String,
    /// Absolute http(s) URL the click router sends visitors to (as given).
    pub destination_url: String,
    /// Comma-separated hosts a link may deep-link to (subdomains included), or null.
    #[schema(required = true)]
    pub deep_link_allowed_domains: Option<String>,
    /// Days (0–365) commissions are held before they can be approved, or null.
    #[schema(minimum = 0, maximum = 365)]
    #[schema(required = true)]
    pub holdback_days: Option<i64>,
    /// Start of the active period (ISO-8601), or null.
    #[schema(required = true)]
    pub starts_at: Option<String>,
    /// End of the active period (ISO-8601, after `startsAt`), or null.
    #[schema(required = true)]
    pub ends_at: Option<String>,
    /// Creation time (ISO-8601).
    pub created_at: String,
}

/// A partner's commission snapshot (API.md §3.1): the terms frozen for that partner.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Snapshot {
    /// The partner.
    pub partner_id: String,
    /// `percent` or `fixed`.
    pub commission_type: CommissionType,
    /// Rate or amount, ≥ 0, as the decimal string given (`15` → `"15"`).
    #[serde(with = "rust_decimal::serde::str")]
    #[schema(value_type = String, example = "15")]
    pub commission_value: Decimal,
    /// Whether later events of a user earn again.
    pub recurring: bool,
    /// Normalised sub-rules replacing the flat terms, or null.
    #[schema(required = true)]
    pub commission_rules: Option<Vec<SubRule>>,
    /// Holdback days (0–365), or null.
    #[schema(required = true)]
    pub holdback_days: Option<i64>,
    /// Where the snapshot came from (`amendment` for every write through the API).
    pub source: String,
    /// When it was written (ISO-8601).
    pub snapshotted_at: String,
}

/// `{"snapshot": …}`: a partner's snapshot, null when it has none.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SnapshotEnvelope {
    /// The snapshot, or null.
    #[schema(required = true)]
    pub snapshot: Option<Snapshot>,
}

/// A commission-snapshot body (`PUT /partners/{id}/commission-snapshot`, and
/// `commissionSnapshot` of `POST /partners`). `null` on an optional field = absent.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", expecting = "a JSON object")]
pub struct SnapshotBody {
    /// `percent` | `fixed` (required).
    #[schema(value_type = CommissionType)]
    pub commission_type: Option<String>,
    /// Rate or amount ≥ 0, a JSON number or numeric string (required).
    #[schema(schema_with = non_negative_decimal_schema, required = true)]
    pub commission_value: Option<serde_json::Value>,
    /// Default false.
    pub recurring: Option<bool>,
    /// Sub-rules (an array of 1–10), or null.
    #[schema(schema_with = sub_rules_array_schema)]
    pub commission_rules: Option<serde_json::Value>,
    /// Holdback days, 0–365, or null.
    #[schema(minimum = 0, maximum = 365)]
    pub holdback_days: Option<i64>,
}

/// `POST /programs` and `PATCH /programs/{id}` body. On `POST`, `name`, `commissionRule`
/// and `destinationUrl` are required; on `PATCH` every field is optional and only the
/// given ones change. `null` on an optional field = absent, except the four nullable
/// ones (`deepLinkAllowedDomains`, `holdbackDays`, `startsAt`, `endsAt`) where `null`
/// clears the value.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", expecting = "a JSON object")]
pub struct ProgramBody {
    /// At most 200 characters, not blank (stored trimmed).
    #[schema(min_length = 1, max_length = 200)]
    pub name: Option<String>,
    /// Sub-rules: an array of 1–10, or the legacy single object.
    #[schema(schema_with = sub_rules_input_schema)]
    pub commission_rule: Option<serde_json::Value>,
    /// Absolute http(s) URL with a host (scheme case-insensitive; leading spaces are
    /// ignored, as URL parsing does).
    #[schema(pattern = "^[\\x00-\\x20]*[Hh][Tt][Tt][Pp][Ss]?://")]
    pub destination_url: Option<String>,
    /// 1–365, default 60.
    #[schema(minimum = 1, maximum = 365)]
    pub attribution_window_days: Option<i64>,
    /// `last_click` (default) | `first_click` | `linear` | `position`.
    #[schema(pattern = "^(last_click|first_click|linear|position)$")]
    pub attribution_model: Option<String>,
    /// Comma-separated hosts (at most 2000 characters; blank = none), or null to clear.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(max_length = 2000)]
    pub deep_link_allowed_domains: Option<Option<String>>,
    /// 0–365, or null to clear.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(minimum = 0, maximum = 365)]
    pub holdback_days: Option<Option<i64>>,
    /// ISO-8601 start of the active period, or null to clear.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(format = DateTime)]
    pub starts_at: Option<Option<String>>,
    /// ISO-8601 end of the active period (after `startsAt`), or null to clear.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(format = DateTime)]
    pub ends_at: Option<Option<String>>,
    /// `true` also grants the program to every existing partner (grant source `all`).
    pub grant_to_all_partners: Option<bool>,
}

/// Deserializes a field where `null` is meaningful: absent → `None` (via
/// `#[serde(default)]`), `null` → `Some(None)`, a value → `Some(Some(v))`.
pub fn nullable<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}
