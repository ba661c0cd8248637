//! Data export (API.md §3.8): `GET /export/<Table>.<json|csv>` and `GET /export.json`.

use bytes::Bytes;
use futures::stream::{BoxStream, StreamExt, TryStreamExt};
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::client::{api_error, decode_bytes, Answer, Body, Client, Req, Resp};
use crate::error::{Error, Result};
use crate::types::wire_enum;

wire_enum! {
    /// Exportable tables (a deliberate subset of the data model).
    ExportTable {
        /// Partners.
        Partner = "Partner",
        /// Programs.
        Program = "Program",
        /// Program grants.
        PartnerProgram = "PartnerProgram",
        /// Links.
        Link = "Link",
        /// Clicks.
        Click = "Click",
        /// Identities.
        Identity = "Identity",
        /// Events.
        Event = "Event",
        /// Attributions.
        Attribution = "Attribution",
        /// Commissions.
        Commission = "Commission",
        /// Payouts.
        Payout = "Payout",
    }
}

wire_enum! {
    /// Export format.
    ExportFormat {
        /// A JSON array of rows.
        Json = "json",
        /// CSV (header = keys in first-seen order; formula-guarded).
        Csv = "csv",
    }
}

/// `GET /export.json`: every exportable table. Rows are raw JSON (amounts stay decimal
/// strings as sent).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExportAll {
    /// When the export was taken.
    #[serde(with = "crate::types::ts")]
    pub exported_at: chrono::DateTime<chrono::Utc>,
    /// Schema version (2).
    pub schema_version: u32,
    /// Table name → rows.
    pub tables: Map<String, Value>,
}

impl ExportTable {
    /// All tables, in the contract's order.
    pub const ALL: [ExportTable; 10] = [
        ExportTable::Partner,
        ExportTable::Program,
        ExportTable::PartnerProgram,
        ExportTable::Link,
        ExportTable::Click,
        ExportTable::Identity,
        ExportTable::Event,
        ExportTable::Attribution,
        ExportTable::Commission,
        ExportTable::Payout,
    ];
}

fn export_path(table: &ExportTable, format: &ExportFormat) -> String {
    format!(
        "/export/{}.{}",
        crate::client::seg(table.as_str()),
        crate::client::seg(format.as_str())
    )
}

impl Client {
    /// `GET /export/<Table>.<fmt>` (admin) → the raw body (a JSON array, or CSV text; empty
    /// when there are no rows), read in full. For large CSV exports prefer
    /// [`Client::export_stream`].
    ///
    /// Errors: 404 `table_not_exportable`; 400 `unsupported_format`; 401/403.
    pub async fn export(
        &self,
        table: impl Into<ExportTable>,
        format: impl Into<ExportFormat>,
    ) -> Result<Bytes> {
        let resp = self
            .execute(Req::get(export_path(&table.into(), &format.into())))
            .await?;
        if !resp.status.is_success() {
            return Err(api_error(&resp));
        }
        Ok(resp.body)
    }

    /// Like [`Client::export`] but streams the body chunk by chunk in constant memory.
    /// The status is checked before the stream is returned.
    ///
    /// Errors: as [`Client::export`]; stream items fail with [`Error::Transport`] when the
    /// connection breaks mid-body.
    pub async fn export_stream(
        &self,
        table: impl Into<ExportTable>,
        format: impl Into<ExportFormat>,
    ) -> Result<BoxStream<'static, Result<Bytes>>> {
        let req = Req::get(export_path(&table.into(), &format.into()));
        let attempted = self.execute_streaming(&req, Body::Streamed).await?;
        let request_id = attempted.request_id;
        let resp = match attempted.answer {
            Answer::Unread(resp) => resp,
            Answer::Read(read) => return Err(api_error(&read)),
        };
        let status = resp.status();
        if !status.is_success() {
            let headers = resp.headers().clone();
            let body = resp.bytes().await.unwrap_or_default();
            return Err(api_error(&Resp {
                status,
                headers,
                body,
                request_id: Some(request_id),
            }));
        }
        let rid = request_id.clone();
        Ok(resp
            .bytes_stream()
            .map_err(move |e| Error::Transport {
                message: e.to_string(),
                may_have_been_sent: true,
                request_id: Some(rid.clone()),
            })
            .boxed())
    }

    /// `GET /export/<Table>.json` decoded as raw JSON rows.
    ///
    /// Errors: as [`Client::export`]; [`Error::Decode`] if the body is not a JSON array.
    pub async fn export_json(&self, table: impl Into<ExportTable>) -> Result<Vec<Value>> {
        let body = self.export(table, ExportFormat::Json).await?;
        decode_bytes(&body, None)
    }

    /// `GET /export.json` (admin): every table at once.
    ///
    /// Errors: 401/403; [`Error::Decode`].
    pub async fn export_all(&self) -> Result<ExportAll> {
        self.send_json(Req::get("/export.json")).await
    }
}
