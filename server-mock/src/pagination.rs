//! Keyset cursors (API.md §4): `cursor` = unpadded base64url of `"<ts ISO ms>|<id>"`
//! (padded input accepted). Lists order by (ts DESC, id DESC), fetch `limit + 1` rows and
//! continue with `WHERE (ts < ?c_ts OR (ts = ?c_ts AND id < ?c_id))`.

use base64::engine::general_purpose::{URL_SAFE, URL_SAFE_NO_PAD};
use base64::Engine;

use crate::error::ApiError;

/// A decoded cursor: the last row's sort timestamp and id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    /// The sort timestamp (stored ISO string).
    pub ts: String,
    /// The row id.
    pub id: String,
}

/// Encodes `ts|id`.
pub fn encode(ts: &str, id: &str) -> String {
    URL_SAFE_NO_PAD.encode(format!("{ts}|{id}"))
}

/// Decodes a cursor; anything malformed → 400 `invalid_cursor`.
pub fn decode(raw: &str) -> Result<Cursor, ApiError> {
    let bad = || ApiError::bad_request("invalid_cursor").detail("cursor is malformed");
    let bytes = if raw.ends_with('=') {
        URL_SAFE.decode(raw)
    } else {
        URL_SAFE_NO_PAD.decode(raw)
    }
    .map_err(|_| bad())?;
    let s = String::from_utf8(bytes).map_err(|_| bad())?;
    let (ts, id) = s.split_once('|').ok_or_else(bad)?;
    if id.is_empty() || crate::util::parse_ts(ts).is_none() {
        return Err(bad());
    }
    Ok(Cursor {
        ts: ts.to_owned(),
        id: id.to_owned(),
    })
}

/// Splits a `limit + 1` fetch into the page and its `nextCursor`.
pub fn page<T>(
    mut rows: Vec<T>,
    limit: usize,
    key: impl Fn(&T) -> (String, String),
) -> (Vec<T>, Option<String>) {
    if rows.len() > limit {
        rows.truncate(limit);
        let next = rows.last().map(|r| {
            let (ts, id) = key(r);
            encode(&ts, &id)
        });
        (rows, next)
    } else {
        (rows, None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn any_cursor_roundtrips(ms in 0i64..4_000_000_000_000i64, id in "[0-9A-Za-z_|-]{1,40}") {
            let ts = crate::util::fmt_ts(chrono::DateTime::from_timestamp_millis(ms).unwrap_or_default());
            let c = decode(&encode(&ts, &id)).expect("decodes");
            prop_assert_eq!(c.ts, ts);
            prop_assert_eq!(c.id, id);
        }

        #[test]
        fn garbage_never_panics(s in ".{0,64}") {
            let _ = decode(&s);
        }
    }

    #[test]
    fn page_splits_at_limit() {
        let rows: Vec<(String, String)> = (0..5)
            .map(|i| ("2026-01-01T00:00:00.000Z".to_owned(), format!("id{i}")))
            .collect();
        let (p, next) = page(rows.clone(), 4, |r| r.clone());
        assert_eq!(p.len(), 4);
        assert_eq!(decode(&next.expect("next")).expect("cursor").id, "id3");
        let (p, next) = page(rows, 5, |r| r.clone());
        assert_eq!(p.len(), 5);
        assert!(next.is_none());
    }

    #[test]
    fn roundtrip_and_padding() {
        let c = encode("2026-11-20T10:30:00.000Z", "01ABC");
        assert!(!c.contains('='));
        let d = decode(&c).unwrap();
        assert_eq!(d.ts, "2026-11-20T10:30:00.000Z");
        assert_eq!(d.id, "01ABC");
        let padded = URL_SAFE.encode("2026-11-20T10:30:00.000Z|X");
        assert_eq!(decode(&padded).unwrap().id, "X");
        assert_eq!(decode("!!!").unwrap_err().code, "invalid_cursor");
        assert_eq!(
            decode(&URL_SAFE_NO_PAD.encode("nope|x")).unwrap_err().code,
            "invalid_cursor"
        );
    }
}
