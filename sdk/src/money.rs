//! Serde helpers for money (`rust_decimal::Decimal`), never through `f64`.
//!
//! API.md §1 stores amounts as **decimal strings** (`"12.00"`) but reports aggregates and
//! weights as **JSON numbers** (`299.97`, `0.3333`). Each field picks the helper matching its
//! wire form for *serialisation*; *deserialisation* accepts both forms everywhere, so a server
//! that sends the other form still decodes. Numbers are read through serde_json's
//! `arbitrary_precision` text, so `0.1` is exactly `0.1` and `12.345678901234567890` keeps all
//! its digits.
//!
//! ```
//! use rust_decimal::Decimal;
//! #[derive(serde::Serialize, serde::Deserialize)]
//! struct Row {
//!     #[serde(with = "openpartner::money::string")]
//!     amount: Decimal,
//!     #[serde(with = "openpartner::money::number")]
//!     weight: Decimal,
//! }
//! let r: Row = serde_json::from_str(r#"{"amount":12.5,"weight":"0.3333"}"#).unwrap();
//! assert_eq!(serde_json::to_string(&r).unwrap(), r#"{"amount":"12.5","weight":0.3333}"#);
//! ```

use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer, Serializer};

fn de_any<'de, D: Deserializer<'de>>(d: D) -> Result<Decimal, D::Error> {
    // rust_decimal's visitor takes strings, integers and arbitrary-precision number text.
    <Decimal as Deserialize>::deserialize(d)
}

/// A decimal-string field (`"12.00"`): serialises as a JSON string; deserialises from a
/// string or a number.
pub mod string {
    use super::*;

    /// Serialises as a JSON string keeping the scale (`12.00` → `"12.00"`).
    pub fn serialize<S: Serializer>(v: &Decimal, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&v.to_string())
    }

    /// Accepts `"12.00"` or `12.00`.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Decimal, D::Error> {
        de_any(d)
    }
}

/// An optional decimal-string field (`null`/absent → `None`; use with `#[serde(default)]`).
pub mod string_opt {
    use super::*;

    /// `None` → `null`; `Some` → JSON string.
    pub fn serialize<S: Serializer>(v: &Option<Decimal>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(v) => s.serialize_str(&v.to_string()),
            None => s.serialize_none(),
        }
    }

    /// Accepts `null`, a string or a number.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Decimal>, D::Error> {
        Option::<Wrapped>::deserialize(d).map(|o| o.map(|w| w.0))
    }
}

/// A JSON-number field (`299.97`): serialises as a JSON number (exact digits via
/// `arbitrary_precision`); deserialises from a number or a string.
pub mod number {
    use super::*;

    /// Serialises as a JSON number with the decimal's exact digits.
    pub fn serialize<S: Serializer>(v: &Decimal, s: S) -> Result<S::Ok, S::Error> {
        rust_decimal::serde::arbitrary_precision::serialize(v, s)
    }

    /// Accepts `12.5` or `"12.5"`.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Decimal, D::Error> {
        de_any(d)
    }
}

/// An optional JSON-number field (`null`/absent → `None`; use with `#[serde(default)]`).
pub mod number_opt {
    use super::*;

    /// `None` → `null`; `Some` → JSON number.
    pub fn serialize<S: Serializer>(v: &Option<Decimal>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(v) => rust_decimal::serde::arbitrary_precision::serialize(v, s),
            None => s.serialize_none(),
        }
    }

    /// Accepts `null`, a number or a string.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Decimal>, D::Error> {
        Option::<Wrapped>::deserialize(d).map(|o| o.map(|w| w.0))
    }
}

struct Wrapped(Decimal);

impl<'de> Deserialize<'de> for Wrapped {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        de_any(d).map(Wrapped)
    }
}

/// Rounds half-up (away from zero) to 2 decimal places, the API's only rounding (never
/// banker's rounding).
pub fn round_cents(v: Decimal) -> Decimal {
    v.round_dp_with_strategy(2, rust_decimal::RoundingStrategy::MidpointAwayFromZero)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Serialize;
    use std::str::FromStr;

    #[derive(Debug, Serialize, Deserialize, PartialEq)]
    struct S {
        #[serde(with = "string")]
        a: Decimal,
        #[serde(with = "number")]
        b: Decimal,
        #[serde(default, with = "string_opt")]
        c: Option<Decimal>,
        #[serde(default, with = "number_opt")]
        d: Option<Decimal>,
    }

    fn dec(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    #[test]
    fn accepts_string_or_number_without_f64() {
        for (json, a, b) in [
            (r#"{"a":"0.1","b":0.1}"#, "0.1", "0.1"),
            (r#"{"a":0.1,"b":"0.1"}"#, "0.1", "0.1"),
            (
                r#"{"a":"12.345678901234567890","b":12.345678901234567890}"#,
                "12.345678901234567890",
                "12.345678901234567890",
            ),
            (r#"{"a":"12.00","b":299.97}"#, "12.00", "299.97"),
            (r#"{"a":40,"b":0}"#, "40", "0"),
            (r#"{"a":"-3.5","b":-0.3333}"#, "-3.5", "-0.3333"),
        ] {
            let s: S = serde_json::from_str(json).unwrap();
            assert_eq!(s.a, dec(a), "{json}");
            assert_eq!(s.b, dec(b), "{json}");
            assert_eq!(s.a.to_string(), a, "scale kept: {json}");
            assert_eq!(s.c, None);
            assert_eq!(s.d, None);
        }
        // 0.1 + 0.2 is exactly 0.3: no binary floating point on the way.
        let s: S = serde_json::from_str(r#"{"a":0.1,"b":0.2}"#).unwrap();
        assert_eq!(s.a + s.b, dec("0.3"));
    }

    #[test]
    fn serialises_in_wire_form() {
        let s = S {
            a: dec("12.00"),
            b: dec("0.3333"),
            c: Some(dec("1.50")),
            d: Some(dec("299.97")),
        };
        let out = serde_json::to_string(&s).unwrap();
        assert_eq!(out, r#"{"a":"12.00","b":0.3333,"c":"1.50","d":299.97}"#);
        let back: S = serde_json::from_str(&out).unwrap();
        assert_eq!(back, s);
        let v = serde_json::to_value(&s).unwrap();
        let back2: S = serde_json::from_value(v).unwrap();
        assert_eq!(back2, s);
        let big = S {
            a: dec("12.345678901234567890"),
            b: dec("12.345678901234567890"),
            c: None,
            d: None,
        };
        let out = serde_json::to_string(&big).unwrap();
        assert_eq!(
            out,
            r#"{"a":"12.345678901234567890","b":12.345678901234567890,"c":null,"d":null}"#
        );
    }

    #[test]
    fn options_accept_null_and_both_forms() {
        let s: S = serde_json::from_str(r#"{"a":"1","b":1,"c":null,"d":"2.5"}"#).unwrap();
        assert_eq!(s.c, None);
        assert_eq!(s.d, Some(dec("2.5")));
        let s: S = serde_json::from_str(r#"{"a":"1","b":1,"c":7.25,"d":null}"#).unwrap();
        assert_eq!(s.c, Some(dec("7.25")));
    }

    #[test]
    fn rejects_garbage() {
        assert!(serde_json::from_str::<S>(r#"{"a":"abc","b":1}"#).is_err());
        assert!(serde_json::from_str::<S>(r#"{"a":true,"b":1}"#).is_err());
    }

    #[test]
    fn rounding_is_half_up() {
        assert_eq!(round_cents(dec("0.025")), dec("0.03"));
        assert_eq!(round_cents(dec("0.145")), dec("0.15"));
        assert_eq!(round_cents(dec("-0.125")), dec("-0.13"));
        assert_eq!(round_cents(dec("0.05") * dec("0.5")), dec("0.03"));
    }
}
