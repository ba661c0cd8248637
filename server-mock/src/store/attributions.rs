//! `attributions`: one row per (event, model, click) touch the engine wrote (API.md §3.4
//! step 4); `weight` is the 4-dp decimal string.

use rusqlite::{params, Connection};

use crate::db::ConnExt;

/// A new attribution row.
#[derive(Debug, Clone)]
pub struct NewAttribution<'a> {
    /// Attribution id.
    pub id: &'a str,
    /// Tenant.
    pub tenant_id: &'a str,
    /// Event attributed.
    pub event_id: &'a str,
    /// Partner credited.
    pub partner_id: &'a str,
    /// Program of the click.
    pub program_id: &'a str,
    /// The touch's click.
    pub click_id: &'a str,
    /// `last_click`, `first_click`, `linear`, `position`.
    pub model: &'a str,
    /// Stored 4-dp weight (`"0.3333"`).
    pub weight: &'a str,
    /// ISO processing time.
    pub created_at: &'a str,
}

/// Inserts one attribution.
pub fn insert(c: &Connection, a: &NewAttribution<'_>) -> rusqlite::Result<()> {
    c.exec(
        "INSERT INTO attributions (id, tenant_id, event_id, partner_id, program_id, click_id, model, weight, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        params![
            a.id,
            a.tenant_id,
            a.event_id,
            a.partner_id,
            a.program_id,
            a.click_id,
            a.model,
            a.weight,
            a.created_at
        ],
    )?;
    Ok(())
}

/// The `(model, click id)` pairs event `event_id` already has.
pub fn pairs_of_event(c: &Connection, event_id: &str) -> rusqlite::Result<Vec<(String, String)>> {
    let mut st =
        c.prepare_cached("SELECT model, click_id FROM attributions WHERE event_id = ?1")?;
    let rows = st.query_map([event_id], |r| Ok((r.get(0)?, r.get(1)?)))?;
    rows.collect()
}

/// Per partner, the earliest ISO `ts` of the user's other attributed events of type
/// `event_type` (all events of the user and type except `except_event_id`).
pub fn earliest_by_partner(
    c: &Connection,
    tenant_id: &str,
    user_id: &str,
    event_type: &str,
    except_event_id: &str,
) -> rusqlite::Result<Vec<(String, String)>> {
    let mut st = c.prepare_cached(
        "SELECT a.partner_id, MIN(e.ts) FROM attributions a JOIN events e ON e.id = a.event_id
         WHERE e.tenant_id = ?1 AND e.user_id = ?2 AND e.type = ?3 AND e.id <> ?4
         GROUP BY a.partner_id",
    )?;
    let rows = st.query_map(
        params![tenant_id, user_id, event_type, except_event_id],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    rows.collect()
}

/// Deletes the attributions of `event_id` and their commissions (unflag reset).
pub fn delete_for_event(c: &Connection, event_id: &str) -> rusqlite::Result<()> {
    c.exec(
        "DELETE FROM commissions WHERE attribution_id IN (SELECT id FROM attributions WHERE event_id = ?1)",
        [event_id],
    )?;
    c.exec("DELETE FROM attributions WHERE event_id = ?1", [event_id])?;
    Ok(())
}
