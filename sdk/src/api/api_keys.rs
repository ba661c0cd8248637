//! `client.api_keys()` (API.md §3.7).

use serde_json::{json, Map, Value};

use crate::capabilities::Extension;
use crate::client::{seg, Client, Req};
use crate::error::Result;
use crate::types::{ApiKeyInfo, ApiKeysBody, CreatedApiKey};

/// API keys handler; obtain with [`Client::api_keys`].
#[derive(Debug, Clone)]
pub struct ApiKeys {
    pub(crate) client: Client,
}

#[derive(Debug, Clone)]
enum KeyKind {
    Admin,
    Scoped(Vec<String>),
    Partner(String),
}

impl ApiKeys {
    /// Describes `POST /api-keys` (an admin key).
    pub fn create(&self) -> CreateApiKey {
        self.builder(KeyKind::Admin)
    }
    /// Describes `POST /api-keys/scoped` with `scopes` (≥ 1, e.g. `events:write`).
    pub fn create_scoped(&self, scopes: Vec<String>) -> CreateApiKey {
        self.builder(KeyKind::Scoped(scopes))
    }
    /// Describes `POST /partners/:id/api-keys` (a partner key).
    pub fn create_for_partner(&self, partner_id: impl Into<String>) -> CreateApiKey {
        self.builder(KeyKind::Partner(partner_id.into()))
    }

    fn builder(&self, kind: KeyKind) -> CreateApiKey {
        CreateApiKey {
            client: self.client.clone(),
            kind,
            label: None,
            allowed_ips: None,
            idempotency_key: None,
        }
    }

    /// Describes `GET /api-keys` (scoped keys); finish with [`ListApiKeys::send`].
    pub fn list(&self) -> ListApiKeys {
        ListApiKeys {
            client: self.client.clone(),
            scope: None,
        }
    }

    /// `GET /partners/:id/api-keys`.
    ///
    /// Errors: 404 `partner_not_found`; 401/403.
    pub async fn list_for_partner(&self, partner_id: impl AsRef<str>) -> Result<Vec<ApiKeyInfo>> {
        let body: ApiKeysBody = self
            .client
            .send_json(Req::get(format!(
                "/partners/{}/api-keys",
                seg(partner_id.as_ref())
            )))
            .await?;
        Ok(body.api_keys)
    }

    /// `DELETE /api-keys/:keyId`.
    ///
    /// Errors: 404 `not_found`; 403 `forbidden` (a partner deleting another's key).
    pub async fn revoke(&self, key_id: impl AsRef<str>) -> Result<()> {
        self.client
            .send_unit(Req::delete(format!("/api-keys/{}", seg(key_id.as_ref()))))
            .await
    }
}

/// Builder for the three key-creation routes.
#[derive(Debug, Clone)]
#[must_use = "call .send()"]
pub struct CreateApiKey {
    client: Client,
    kind: KeyKind,
    label: Option<String>,
    allowed_ips: Option<Vec<String>>,
    idempotency_key: Option<String>,
}

impl CreateApiKey {
    retry_setter!();
    /// A label for the key.
    pub fn label(mut self, l: impl Into<String>) -> Self {
        self.label = Some(l.into());
        self
    }
    /// \[EXT\] IPs/CIDRs allowed to use the key (requires `ip-allowlist` when non-empty).
    pub fn allowed_ips(mut self, ips: Vec<String>) -> Self {
        self.allowed_ips = Some(ips);
        self
    }
    /// The `Idempotency-Key` to send. Note that key-creation responses carry a secret, so a
    /// replay answers 409 `idempotency_replay_unavailable` instead of the key.
    pub fn idempotency_key(mut self, k: impl Into<String>) -> Self {
        self.idempotency_key = Some(k.into());
        self
    }

    /// Sends the creation request → `{id, plaintext, scopes?, allowedIps?}` (the plaintext is
    /// returned only once).
    ///
    /// Errors: [`crate::Error::Unsupported`] (`ip-allowlist`) before sending when a non-empty
    /// allowlist is set and the server lacks the extension; 400 `invalid_body`; 404
    /// `partner_not_found`; 401/403.
    pub async fn send(self) -> Result<CreatedApiKey> {
        let mut body = Map::new();
        if let Some(l) = self.label {
            body.insert("label".into(), json!(l));
        }
        if let Some(ips) = self.allowed_ips {
            if !ips.is_empty() {
                self.client
                    .require_extension(Extension::IpAllowlist)
                    .await?;
                body.insert("allowedIps".into(), json!(ips));
            }
        }
        let path = match &self.kind {
            KeyKind::Admin => "/api-keys".to_string(),
            KeyKind::Scoped(scopes) => {
                body.insert("scopes".into(), json!(scopes));
                "/api-keys/scoped".to_string()
            }
            KeyKind::Partner(id) => format!("/partners/{}/api-keys", seg(id)),
        };
        self.client
            .send_json(
                Req::post(path)
                    .json(Value::Object(body))
                    .idempotency_key(self.idempotency_key),
            )
            .await
    }
}

/// Builder for `GET /api-keys`.
#[derive(Debug, Clone)]
#[must_use = "call .send()"]
pub struct ListApiKeys {
    client: Client,
    scope: Option<String>,
}

impl ListApiKeys {
    retry_setter!();
    /// Only keys holding this scope.
    pub fn scope(mut self, s: impl Into<String>) -> Self {
        self.scope = Some(s.into());
        self
    }
    /// Sends `GET /api-keys[?scope=]` → the scoped keys (never their secrets).
    ///
    /// Errors: 401/403.
    pub async fn send(self) -> Result<Vec<ApiKeyInfo>> {
        let body: ApiKeysBody = self
            .client
            .send_json(Req::get("/api-keys").query_opt("scope", self.scope))
            .await?;
        Ok(body.api_keys)
    }
}
