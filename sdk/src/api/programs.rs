//! `client.programs()` (API.md §3.2) and the per-partner program grants and commission
//! snapshots of §3.1.

use chrono::{DateTime, Utc};
use serde_json::{json, Map, Value};

use crate::client::{seg, Client, Req};
use crate::error::{Error, Result};
use crate::types::{
    ts, AddedBody, AttributionModel, CampaignsBody, CommissionRule, CommissionSnapshot, Program,
    ProgramGrant, ProgramSummary, ProgramsBody, SnapshotBody, SnapshotInput,
};

use super::partners::Partners;

/// Programs handler; obtain with [`Client::programs`].
#[derive(Debug, Clone)]
pub struct Programs {
    pub(crate) client: Client,
}

fn to_value<T: serde::Serialize>(v: &T) -> Result<Value> {
    serde_json::to_value(v)
        .map_err(|e| Error::Config(format!("cannot serialise request body: {e}")))
}

impl Programs {
    /// `GET /programs` (admin) → every program.
    ///
    /// Errors: 401/403.
    pub async fn list(&self) -> Result<Vec<Program>> {
        let body: ProgramsBody<Program> = self.client.send_json(Req::get("/programs")).await?;
        Ok(body.programs)
    }

    /// `GET /me/programs`: a partner's granted, currently active programs (all for admins).
    ///
    /// Errors: 401/403.
    pub async fn me_programs(&self) -> Result<Vec<ProgramSummary>> {
        let body: ProgramsBody<ProgramSummary> =
            self.client.send_json(Req::get("/me/programs")).await?;
        Ok(body.programs)
    }

    /// Describes `POST /programs`; finish with [`ProgramWrite::send`].
    pub fn create(
        &self,
        name: impl Into<String>,
        commission_rule: impl Into<CommissionRule>,
        destination_url: impl Into<String>,
    ) -> ProgramWrite {
        let mut w = ProgramWrite {
            client: self.client.clone(),
            id: None,
            fields: Map::new(),
            rule: None,
            idempotency_key: None,
        };
        w.fields.insert("name".into(), json!(name.into()));
        w.fields
            .insert("destinationUrl".into(), json!(destination_url.into()));
        w.rule = Some(commission_rule.into());
        w
    }

    /// Describes `PATCH /programs/:id` (only the fields you set are sent); finish with
    /// [`ProgramWrite::send`].
    pub fn update(&self, id: impl Into<String>) -> ProgramWrite {
        ProgramWrite {
            client: self.client.clone(),
            id: Some(id.into()),
            fields: Map::new(),
            rule: None,
            idempotency_key: None,
        }
    }
}

/// Builder for `POST /programs` and `PATCH /programs/:id`.
#[derive(Debug, Clone)]
#[must_use = "call .send()"]
pub struct ProgramWrite {
    client: Client,
    id: Option<String>,
    fields: Map<String, Value>,
    rule: Option<CommissionRule>,
    idempotency_key: Option<String>,
}

impl ProgramWrite {
    retry_setter!();
    /// Name.
    pub fn name(mut self, n: impl Into<String>) -> Self {
        self.fields.insert("name".into(), json!(n.into()));
        self
    }
    /// Commission rule: sub-rules or the legacy object.
    pub fn commission_rule(mut self, r: impl Into<CommissionRule>) -> Self {
        self.rule = Some(r.into());
        self
    }
    /// Default landing URL.
    pub fn destination_url(mut self, u: impl Into<String>) -> Self {
        self.fields.insert("destinationUrl".into(), json!(u.into()));
        self
    }
    /// Attribution window, 1–365 days (default 60).
    pub fn attribution_window_days(mut self, d: u32) -> Self {
        self.fields.insert("attributionWindowDays".into(), json!(d));
        self
    }
    /// Attribution model (default `last_click`).
    pub fn attribution_model(mut self, m: AttributionModel) -> Self {
        self.fields
            .insert("attributionModel".into(), json!(m.as_str()));
        self
    }
    /// Comma-separated hosts allowed for deep links (`None` sends `null`: no override).
    pub fn deep_link_allowed_domains(mut self, d: Option<String>) -> Self {
        self.fields
            .insert("deepLinkAllowedDomains".into(), json!(d));
        self
    }
    /// Holdback days 0–365 (`None` sends `null`).
    pub fn holdback_days(mut self, d: Option<u32>) -> Self {
        self.fields.insert("holdbackDays".into(), json!(d));
        self
    }
    /// Start of the active period (`None` sends `null`).
    pub fn starts_at(mut self, t: Option<DateTime<Utc>>) -> Self {
        self.fields
            .insert("startsAt".into(), json!(t.as_ref().map(ts::format)));
        self
    }
    /// End of the active period (`None` sends `null`).
    pub fn ends_at(mut self, t: Option<DateTime<Utc>>) -> Self {
        self.fields
            .insert("endsAt".into(), json!(t.as_ref().map(ts::format)));
        self
    }
    /// Grant the new program to every existing partner (create only).
    pub fn grant_to_all_partners(mut self, b: bool) -> Self {
        self.fields.insert("grantToAllPartners".into(), json!(b));
        self
    }
    /// `Idempotency-Key` for the create POST.
    pub fn idempotency_key(mut self, k: impl Into<String>) -> Self {
        self.idempotency_key = Some(k.into());
        self
    }

    /// Sends the create (201 row) or update (200 row).
    ///
    /// Errors: 400 `invalid_body`; 404 `not_found` (update); 401/403.
    pub async fn send(self) -> Result<Program> {
        let mut body = self.fields;
        if let Some(r) = &self.rule {
            body.insert("commissionRule".into(), to_value(r)?);
        }
        let req = match &self.id {
            None => Req::post("/programs").idempotency_key(self.idempotency_key),
            Some(id) => Req::new(http::Method::PATCH, format!("/programs/{}", seg(id))),
        };
        self.client.send_json(req.json(Value::Object(body))).await
    }
}

impl Partners {
    /// `GET /partners/:id/campaigns` (admin): every program with this partner's grant state.
    ///
    /// Errors: 404; 401/403.
    pub async fn campaigns(&self, partner_id: impl AsRef<str>) -> Result<Vec<ProgramGrant>> {
        let body: CampaignsBody = self
            .client
            .send_json(Req::get(format!(
                "/partners/{}/campaigns",
                seg(partner_id.as_ref())
            )))
            .await?;
        Ok(body.campaigns)
    }

    /// `POST /partners/:id/campaigns {programIds}` (admin) → the `added` grants as sent by the
    /// server (kept as raw JSON: the contract does not fix their shape).
    ///
    /// Errors: 404 `no_valid_campaigns`; 401/403.
    pub async fn grant_programs(
        &self,
        partner_id: impl AsRef<str>,
        program_ids: Vec<String>,
    ) -> Result<Vec<Value>> {
        let body: AddedBody = self
            .client
            .send_json(
                Req::post(format!("/partners/{}/campaigns", seg(partner_id.as_ref())))
                    .json(json!({ "programIds": program_ids })),
            )
            .await?;
        Ok(body.added)
    }

    /// `DELETE /partners/:id/programs/:programId` (admin): removes a grant.
    ///
    /// Errors: 404 `grant_not_found`.
    pub async fn revoke_program(
        &self,
        partner_id: impl AsRef<str>,
        program_id: impl AsRef<str>,
    ) -> Result<()> {
        self.client
            .send_unit(Req::delete(format!(
                "/partners/{}/programs/{}",
                seg(partner_id.as_ref()),
                seg(program_id.as_ref())
            )))
            .await
    }

    /// `GET /partners/:id/commission-snapshot` → the override, or `None`.
    ///
    /// Errors: 404; 401/403.
    pub async fn commission_snapshot(
        &self,
        partner_id: impl AsRef<str>,
    ) -> Result<Option<CommissionSnapshot>> {
        let body: SnapshotBody = self
            .client
            .send_json(Req::get(format!(
                "/partners/{}/commission-snapshot",
                seg(partner_id.as_ref())
            )))
            .await?;
        Ok(body.snapshot)
    }

    /// `PUT /partners/:id/commission-snapshot` (admin) → the stored override
    /// (`commissionValue` comes back as a decimal string).
    ///
    /// Errors: 400 `invalid_body`; 404 `partner_not_found`.
    pub async fn set_commission_snapshot(
        &self,
        partner_id: impl AsRef<str>,
        input: impl std::borrow::Borrow<SnapshotInput>,
    ) -> Result<CommissionSnapshot> {
        let body: SnapshotBody = self
            .client
            .send_json(
                Req::new(
                    http::Method::PUT,
                    format!("/partners/{}/commission-snapshot", seg(partner_id.as_ref())),
                )
                .json(to_value(input.borrow())?),
            )
            .await?;
        body.snapshot.ok_or_else(|| Error::Decode {
            path: "snapshot".into(),
            body_snippet: String::new(),
            message: "server returned a null snapshot after PUT".into(),
            request_id: None,
        })
    }

    /// `DELETE /partners/:id/commission-snapshot` (admin): back to the programs' rules.
    pub async fn delete_commission_snapshot(&self, partner_id: impl AsRef<str>) -> Result<()> {
        self.client
            .send_unit(Req::delete(format!(
                "/partners/{}/commission-snapshot",
                seg(partner_id.as_ref())
            )))
            .await
    }
}
