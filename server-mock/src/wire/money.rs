//! Serde helpers for money and weights sent as exact JSON **numbers** (API.md §1: e.g.
//! touch `weight`, payout-run `amount`, analytics sums). The decimal is written through
//! serde_json's `arbitrary_precision` (never through `f64`), trailing zeros removed
//! (`40.00` → `40`, `0.5000` → `0.5`) — the same text as [`crate::rules::dec_number`].
//! Use with `#[serde(serialize_with = "crate::wire::money::number")]` and
//! `#[schema(value_type = f64)]` (schema only).

use rust_decimal::Decimal;
use serde::Serializer;

/// Serializes `d` as an exact, normalized JSON number.
pub fn number<S: Serializer>(d: &Decimal, s: S) -> Result<S::Ok, S::Error> {
    rust_decimal::serde::arbitrary_precision::serialize(&d.normalize(), s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[derive(serde::Serialize)]
    struct W(#[serde(serialize_with = "number")] Decimal);

    #[test]
    fn exact_normalized_numbers() {
        assert_eq!(serde_json::to_string(&W(dec!(40.00))).unwrap(), "40");
        assert_eq!(serde_json::to_string(&W(dec!(0.3333))).unwrap(), "0.3333");
        assert_eq!(
            serde_json::to_string(&W(dec!(12345678901.23))).unwrap(),
            "12345678901.23"
        );
        assert_eq!(
            serde_json::to_value(W(dec!(20.10))).unwrap(),
            crate::rules::dec_number(dec!(20.10))
        );
    }
}
