//! [`Lenient`]: a body field that never fails deserialization, so a handler can check
//! every field of a body and report all bad ones in one 400 `invalid_body` (with the
//! field's own message) instead of serde stopping at the first wrong type.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};

/// A present, non-null body field: `Valid` when it has type `T`, `Invalid` otherwise. Use
/// as `Option<Lenient<T>>` (absent and `null` → `None`, the one rule for `null`) with
/// `#[schema(value_type = T)]`.
#[derive(Debug, Clone, PartialEq)]
pub enum Lenient<T> {
    /// The value, of type `T`.
    Valid(T),
    /// A value of another type.
    Invalid,
}

impl<'de, T: DeserializeOwned> Deserialize<'de> for Lenient<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = serde_json::Value::deserialize(d)?;
        Ok(serde_json::from_value(v).map_or(Lenient::Invalid, Lenient::Valid))
    }
}

impl<T> Lenient<T> {
    /// The value when it is `Valid` and `ok` accepts it.
    pub fn valid_if(self, ok: impl FnOnce(&T) -> bool) -> Option<T> {
        match self {
            Lenient::Valid(v) if ok(&v) => Some(v),
            _ => None,
        }
    }
}
