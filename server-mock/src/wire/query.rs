//! Query-string values shared by several route modules. Query structs keep their fields
//! as `Option<String>` (every query value is text) and convert them with these helpers,
//! so each bad value is a 400 `invalid_query` naming its field; an empty value counts as
//! absent.

use chrono::{DateTime, NaiveDate, Utc};

use crate::error::{ApiError, ApiResult};
use crate::util::parse_ts;

/// `raw` unless it is absent or empty.
pub fn nonempty(raw: Option<String>) -> Option<String> {
    raw.filter(|s| !s.is_empty())
}

/// An integer in `[min, max]`, `default` when absent or empty. Errors: 400
/// `invalid_query` on `name` ("must be between …" / "must be an integer"; never clamped).
pub fn int_in(name: &str, raw: Option<&str>, min: i64, max: i64, default: i64) -> ApiResult<i64> {
    match raw {
        None | Some("") => Ok(default),
        Some(raw) => match raw.trim().parse::<i64>() {
            Ok(n) if (min..=max).contains(&n) => Ok(n),
            Ok(_) => Err(ApiError::query_field(
                name,
                &format!("must be between {min} and {max}"),
            )),
            Err(_) => Err(ApiError::query_field(name, "must be an integer")),
        },
    }
}

/// A timestamp: ISO-8601 with offset, or a bare `YYYY-MM-DD` (UTC midnight); `None` when
/// absent or empty. Errors: 400 `invalid_query` on `name` ("Invalid datetime").
pub fn timestamp(name: &str, raw: Option<&str>) -> ApiResult<Option<DateTime<Utc>>> {
    match raw {
        None | Some("") => Ok(None),
        Some(s) => parse_ts(s)
            .or_else(|| {
                NaiveDate::parse_from_str(s, "%Y-%m-%d")
                    .ok()
                    .and_then(|d| d.and_hms_opt(0, 0, 0))
                    .map(|d| d.and_utc())
            })
            .map(Some)
            .ok_or_else(|| ApiError::query_field(name, "Invalid datetime")),
    }
}
