//! Wire models (serde, camelCase) for every JSON shape of API.md.
//!
//! Conventions:
//! - Ids are opaque `String`s (the aliases [`PartnerId`], [`ProgramId`]… document intent;
//!   plain aliases keep conversions free and the server/CLI can pass them around as text).
//! - `|null` fields and optional keys are `Option` (absent and `null` both give `None`).
//! - Timestamps are `chrono::DateTime<Utc>`; they serialise as ISO-8601 UTC with milliseconds
//!   and `Z` (`2026-11-20T10:30:00.000Z`), and parse any RFC 3339 form.
//! - Money is `rust_decimal::Decimal` via [`crate::money`]: decimal-string fields serialise as
//!   strings, JSON-number fields as numbers, both parse from either, never via `f64`.
//! - Enums keep unknown server values in an `Unknown(String)` arm; they compare equal to
//!   their wire string (`status == "accrued"`).

mod analytics;
mod auth;
mod commissions;
mod hooks;
mod partners;
mod programs;
mod tracking;

pub use analytics::*;
pub use auth::*;
pub use commissions::*;
pub use hooks::*;
pub use partners::*;
pub use programs::*;
pub use tracking::*;

/// A partner id (opaque).
pub type PartnerId = String;
/// A program (campaign) id (opaque).
pub type ProgramId = String;
/// A commission id (opaque).
pub type CommissionId = String;
/// An API key id (opaque).
pub type ApiKeyId = String;
/// An admin id (opaque).
pub type AdminId = String;

/// Defines a string enum with an `Unknown(String)` fallback, `as_str`, `Display`, `FromStr`,
/// serde and comparison with `&str`.
macro_rules! wire_enum {
    ($(#[$m:meta])* $name:ident { $($(#[$vm:meta])* $variant:ident = $wire:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $($(#[$vm])* $variant,)+
            /// A value this SDK version does not know (kept verbatim).
            Unknown(String),
        }

        impl $name {
            /// The wire string.
            pub fn as_str(&self) -> &str {
                match self {
                    $(Self::$variant => $wire,)+
                    Self::Unknown(s) => s.as_str(),
                }
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                match s {
                    $($wire => Self::$variant,)+
                    other => Self::Unknown(other.to_string()),
                }
            }
        }

        impl From<String> for $name {
            fn from(s: String) -> Self {
                Self::from(s.as_str())
            }
        }

        impl std::str::FromStr for $name {
            type Err = std::convert::Infallible;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Ok(Self::from(s))
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.as_str() == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.as_str() == *other
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                Ok(Self::from(s.as_str()))
            }
        }
    };
}
pub(crate) use wire_enum;

/// Timestamp serde helpers: serialise as `YYYY-MM-DDTHH:MM:SS.mmmZ`, parse RFC 3339.
pub mod ts {
    use chrono::{DateTime, SecondsFormat, Utc};
    use serde::{Deserialize, Deserializer, Serializer};

    /// Formats as ISO-8601 UTC with milliseconds and `Z`.
    pub fn format(t: &DateTime<Utc>) -> String {
        t.to_rfc3339_opts(SecondsFormat::Millis, true)
    }

    /// Serialises a timestamp with milliseconds.
    pub fn serialize<S: Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format(t))
    }

    /// Parses an RFC 3339 timestamp.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
        DateTime::<Utc>::deserialize(d)
    }

    /// Optional timestamps (`null`/absent → `None`; use with `#[serde(default)]`).
    pub mod option {
        use super::*;

        /// `None` → `null`.
        pub fn serialize<S: Serializer>(
            t: &Option<DateTime<Utc>>,
            s: S,
        ) -> Result<S::Ok, S::Error> {
            match t {
                Some(t) => s.serialize_str(&format(t)),
                None => s.serialize_none(),
            }
        }

        /// Parses `null` or an RFC 3339 timestamp.
        pub fn deserialize<'de, D: Deserializer<'de>>(
            d: D,
        ) -> Result<Option<DateTime<Utc>>, D::Error> {
            Option::<DateTime<Utc>>::deserialize(d)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enums_keep_unknown_values() {
        let s: CommissionStatus = serde_json::from_str("\"accrued\"").unwrap();
        assert_eq!(s, CommissionStatus::Accrued);
        assert!(s == "accrued");
        let u: CommissionStatus = serde_json::from_str("\"on_hold\"").unwrap();
        assert_eq!(u, CommissionStatus::Unknown("on_hold".into()));
        assert_eq!(serde_json::to_string(&u).unwrap(), "\"on_hold\"");
        assert_eq!(serde_json::to_string(&Role::Scoped).unwrap(), "\"scoped\"");
    }

    #[test]
    fn timestamps_use_millis() {
        let t: chrono::DateTime<chrono::Utc> = "2026-11-20T10:30:00Z".parse().unwrap();
        assert_eq!(ts::format(&t), "2026-11-20T10:30:00.000Z");
    }
}
