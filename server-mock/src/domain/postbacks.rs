//! Partner postbacks (API.md §3.6): the event types, the URL-template rules and the macro
//! expansion, on plain values. The routes ([`crate::routes::postbacks`]) validate with
//! these; the fan-out ([`crate::postbacks::fan_out`]) expands with them.
//!
//! **Macros.** A template may use `{click_id} {partner_id} {commission_id}
//! {commission_amount} {currency} {event_id} {transaction_id} {event_type} {program_id}
//! {payout_id}`; each is replaced by its value percent-encoded (every byte but the RFC 3986
//! unreserved `A–Z a–z 0–9 - . _ ~`, so a value can never add a `&`, `=`, `/` or `#` of its
//! own), or by the empty string when the event has no such value. Any other `{name}` of
//! lower-case letters and `_` is refused at creation (a typo would otherwise be sent
//! literally); other braces are left as they are.

use std::collections::HashSet;

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

use crate::domain::programs::is_http_url;
use crate::error::Validation;

/// The event types a postback may subscribe to, in the order `supportedEvents` lists them.
pub const SUPPORTED_EVENTS: [&str; 4] = [
    "commission.accrued",
    "commission.approved",
    "commission.reversed",
    "commission.paid",
];

/// Most characters of a URL template.
pub const MAX_URL: usize = 2048;

/// Fewest and most entries of `events`.
pub const EVENTS_RANGE: std::ops::RangeInclusive<usize> = 1..=10;

/// The macros a template may use (without braces).
pub const MACROS: [&str; 10] = [
    "click_id",
    "partner_id",
    "commission_id",
    "commission_amount",
    "currency",
    "event_id",
    "transaction_id",
    "event_type",
    "program_id",
    "payout_id",
];

/// What is percent-encoded in a macro value: everything but the RFC 3986 unreserved
/// characters.
const VALUE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// True when `event_type` is one a postback can subscribe to.
pub fn is_supported(event_type: &str) -> bool {
    SUPPORTED_EVENTS.contains(&event_type)
}

/// The values of one event's macros (`None` expands to the empty string).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MacroValues {
    /// `{click_id}`.
    pub click_id: Option<String>,
    /// `{partner_id}`.
    pub partner_id: Option<String>,
    /// `{commission_id}`.
    pub commission_id: Option<String>,
    /// `{commission_amount}` (the exact decimal string).
    pub commission_amount: Option<String>,
    /// `{currency}`.
    pub currency: Option<String>,
    /// `{event_id}` (the conversion event).
    pub event_id: Option<String>,
    /// `{transaction_id}`.
    pub transaction_id: Option<String>,
    /// `{event_type}` (the `commission.*` type that fired).
    pub event_type: Option<String>,
    /// `{program_id}`.
    pub program_id: Option<String>,
    /// `{payout_id}`.
    pub payout_id: Option<String>,
}

impl MacroValues {
    /// The value of macro `name` (one of [`MACROS`]); `None` for an unknown name or a
    /// missing value.
    fn get(&self, name: &str) -> Option<&str> {
        let v = match name {
            "click_id" => &self.click_id,
            "partner_id" => &self.partner_id,
            "commission_id" => &self.commission_id,
            "commission_amount" => &self.commission_amount,
            "currency" => &self.currency,
            "event_id" => &self.event_id,
            "transaction_id" => &self.transaction_id,
            "event_type" => &self.event_type,
            "program_id" => &self.program_id,
            "payout_id" => &self.payout_id,
            _ => return None,
        };
        v.as_deref()
    }
}

/// The `{name}` spans of `template` whose name is lower-case letters and `_`: (start byte,
/// end byte after `}`, name).
fn macro_spans(template: &str) -> Vec<(usize, usize, &str)> {
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(open) = template[from..].find('{').map(|i| i + from) {
        let rest = &template[open + 1..];
        let name_len = rest
            .bytes()
            .take_while(|b| b.is_ascii_lowercase() || *b == b'_')
            .count();
        if name_len > 0 && rest.as_bytes().get(name_len) == Some(&b'}') {
            let end = open + 1 + name_len + 1;
            out.push((open, end, &rest[..name_len]));
            from = end;
        } else {
            from = open + 1;
        }
    }
    out
}

/// `template` with every known macro replaced by its percent-encoded value (the empty
/// string when missing); unknown `{names}` and other text stay as they are.
pub fn expand(template: &str, values: &MacroValues) -> String {
    let mut out = String::with_capacity(template.len() + 64);
    let mut last = 0;
    for (start, end, name) in macro_spans(template) {
        if !MACROS.contains(&name) {
            continue;
        }
        out.push_str(&template[last..start]);
        if let Some(v) = values.get(name) {
            out.extend(utf8_percent_encode(v, VALUE));
        }
        last = end;
    }
    out.push_str(&template[last..]);
    out
}

/// Checks a URL template: absolute http(s) with a host once its macros are expanded (to a
/// placeholder), at most [`MAX_URL`] characters, no unknown `{macro}`. Records the
/// problems under `url` in `v`.
pub fn validate_url(url: &str, v: &mut Validation) {
    if url.chars().count() > MAX_URL {
        v.push("url", "must be at most 2048 characters");
        return;
    }
    let unknown: Vec<&str> = macro_spans(url)
        .into_iter()
        .map(|(_, _, name)| name)
        .filter(|n| !MACROS.contains(n))
        .collect();
    if !unknown.is_empty() {
        let supported: Vec<String> = MACROS.iter().map(|m| format!("{{{m}}}")).collect();
        v.push(
            "url",
            &format!(
                "Unknown macro {{{}}}; supported: {}",
                unknown[0],
                supported.join(" ")
            ),
        );
        return;
    }
    let placeholder = MacroValues {
        click_id: Some("x".into()),
        partner_id: Some("x".into()),
        commission_id: Some("x".into()),
        commission_amount: Some("x".into()),
        currency: Some("x".into()),
        event_id: Some("x".into()),
        transaction_id: Some("x".into()),
        event_type: Some("x".into()),
        program_id: Some("x".into()),
        payout_id: Some("x".into()),
    };
    if !is_http_url(&expand(url, &placeholder)) {
        v.push("url", "Expected an absolute http(s) URL");
    }
}

/// Checks `events`: 1–10 entries, each one of [`SUPPORTED_EVENTS`]; records problems under
/// `events` / `events.<i>` in `v` and returns the list without duplicates (first
/// occurrence kept).
pub fn validate_events(events: &[String], v: &mut Validation) -> Vec<String> {
    if !EVENTS_RANGE.contains(&events.len()) {
        v.push("events", "must contain 1-10 event types");
    }
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for (i, e) in events.iter().enumerate() {
        if !is_supported(e) {
            v.push(
                &format!("events.{i}"),
                "Expected one of commission.accrued, commission.approved, commission.reversed, commission.paid",
            );
        } else if seen.insert(e.as_str()) {
            out.push(e.clone());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values() -> MacroValues {
        MacroValues {
            click_id: Some("clk 1&x=2".into()),
            partner_id: Some("p1".into()),
            commission_amount: Some("12.50".into()),
            event_type: Some("commission.approved".into()),
            ..MacroValues::default()
        }
    }

    #[test]
    fn expands_known_macros_percent_encoded_and_missing_ones_empty() {
        let got = expand(
            "https://cb.example/p?c={click_id}&p={partner_id}&a={commission_amount}&t={event_type}&x={payout_id}&k={other}&{",
            &values(),
        );
        assert_eq!(
            got,
            "https://cb.example/p?c=clk%201%26x%3D2&p=p1&a=12.50&t=commission.approved&x=&k={other}&{"
        );
    }

    #[test]
    fn encodes_non_ascii_and_reserved_characters() {
        let v = MacroValues {
            transaction_id: Some("ü/#?+".into()),
            ..MacroValues::default()
        };
        assert_eq!(expand("{transaction_id}", &v), "%C3%BC%2F%23%3F%2B");
    }

    #[test]
    fn a_value_never_expands_again() {
        let v = MacroValues {
            click_id: Some("{partner_id}".into()),
            partner_id: Some("p".into()),
            ..MacroValues::default()
        };
        assert_eq!(expand("{click_id}", &v), "%7Bpartner_id%7D");
    }

    #[test]
    fn url_rules() {
        let check = |u: &str| {
            let mut v = Validation::new();
            validate_url(u, &mut v);
            v.is_empty()
        };
        assert!(check("https://cb.example/p?c={click_id}"));
        assert!(check("http://{partner_id}.cb.example/{event_type}"));
        assert!(!check("ftp://cb.example/"));
        assert!(!check("/relative?c={click_id}"));
        assert!(!check("https://cb.example/?c={clickid}"));
        assert!(!check(&format!("https://cb.example/{}", "a".repeat(2030))));
        assert!(check(&format!("https://cb.example/{}", "a".repeat(2000))));
    }

    #[test]
    fn event_rules() {
        let mut v = Validation::new();
        let got = validate_events(
            &[
                "commission.paid".into(),
                "commission.accrued".into(),
                "commission.paid".into(),
            ],
            &mut v,
        );
        assert!(v.is_empty());
        assert_eq!(got, vec!["commission.paid", "commission.accrued"]);
        let mut v = Validation::new();
        validate_events(&[], &mut v);
        assert!(!v.is_empty());
        let mut v = Validation::new();
        validate_events(&["partner.created".into()], &mut v);
        assert!(!v.is_empty());
        let mut v = Validation::new();
        validate_events(&vec!["commission.paid".to_string(); 11], &mut v);
        assert!(!v.is_empty());
    }
}
