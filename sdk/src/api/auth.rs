//! `client.auth()` (API.md §2.1) and `client.dev()`.

use serde_json::json;

use crate::client::{api_error, decode, Client, Req};
use crate::credentials::Credentials;
use crate::error::{Error, Result};
use crate::types::{
    Introspection, MagicLinkLogin, MagicVerifyBody, MailMessage, MailboxBody, WhoAmI,
};

/// Authentication handler; obtain with [`Client::auth`].
#[derive(Debug, Clone)]
pub struct Auth {
    pub(crate) client: Client,
}

impl Auth {
    /// `POST /auth/signin {email}`: asks the server to mail a magic link. Always `Ok` for a
    /// well-formed email (no account enumeration). Sent without credentials.
    ///
    /// Errors: 400 `invalid_body`; 429 `rate_limited` (10/min per IP).
    pub async fn signin(&self, email: impl AsRef<str>) -> Result<()> {
        self.client
            .send_unit(
                Req::post("/auth/signin")
                    .json(json!({ "email": email.as_ref() }))
                    .no_auth(),
            )
            .await
    }

    /// `POST /auth/magic/verify {token}`: redeems a magic-link token (`opml_…`) and returns
    /// who signed in plus the session parsed from `Set-Cookie: op_session=…` (no cookie jar).
    /// Sent without credentials.
    ///
    /// Errors: 400 `invalid_or_expired_token`; 404 `admin_not_found`/`partner_not_found`;
    /// 403 `admin_revoked`/`partner_revoked`; [`Error::Decode`] with path `set-cookie` when the
    /// response carries no session cookie.
    pub async fn verify_magic_link(&self, token: &str) -> Result<MagicLinkLogin> {
        let resp = self
            .client
            .execute(
                Req::post("/auth/magic/verify")
                    .json(json!({ "token": token }))
                    .no_auth(),
            )
            .await?;
        if !resp.status.is_success() {
            return Err(api_error(&resp));
        }
        let body: MagicVerifyBody = decode(&resp)?;
        let session = session_from_set_cookie(&resp.headers).ok_or_else(|| Error::Decode {
            path: "set-cookie".into(),
            body_snippet: String::new(),
            message: "response has no op_session cookie".into(),
            request_id: resp.request_id.clone(),
        })?;
        Ok(MagicLinkLogin {
            role: body.role,
            admin: body.admin,
            partner: body.partner,
            session: Credentials::session(session),
        })
    }

    /// `POST /auth/signout`: revokes the current session (sent with the client's cookie) and
    /// always succeeds on the server side. Errors: transport errors.
    pub async fn signout(&self) -> Result<()> {
        self.client.send_unit(Req::post("/auth/signout")).await
    }

    /// `GET /auth/whoami`: the signed-in admin or partner.
    ///
    /// Errors: 401 without credentials; 403 `scoped_key_not_for_portal` for scoped keys.
    pub async fn whoami(&self) -> Result<WhoAmI> {
        self.client.send_json(Req::get("/auth/whoami")).await
    }

    /// `GET /auth/introspect`: role, scopes and restrictions of the current credential.
    ///
    /// Errors: 401 without a valid credential.
    pub async fn introspect(&self) -> Result<Introspection> {
        self.client.send_json(Req::get("/auth/introspect")).await
    }
}

/// Extracts the `op_session` token from `Set-Cookie` headers (ignores clearing cookies).
pub(crate) fn session_from_set_cookie(h: &http::HeaderMap) -> Option<String> {
    h.get_all(http::header::SET_COOKIE).iter().find_map(|v| {
        let s = v.to_str().ok()?;
        let first = s.split(';').next()?.trim();
        let value = first.strip_prefix("op_session=")?.trim().trim_matches('"');
        if value.is_empty() {
            None
        } else {
            Some(value.to_string())
        }
    })
}

/// Development helpers of the reference server; obtain with [`Client::dev`].
#[derive(Debug, Clone)]
pub struct Dev {
    pub(crate) client: Client,
}

impl Dev {
    /// `GET /dev/mailbox` (admin): mails the server would have sent, oldest first.
    ///
    /// Errors: 401/403; 404 `route_not_found` on servers without a dev mailbox.
    pub async fn mailbox(&self) -> Result<Vec<MailMessage>> {
        let body: MailboxBody = self.client.send_json(Req::get("/dev/mailbox")).await?;
        Ok(body.messages)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_session_cookie() {
        let mut h = http::HeaderMap::new();
        h.append(http::header::SET_COOKIE, "other=1; Path=/".parse().unwrap());
        h.append(
            http::header::SET_COOKIE,
            "op_session=ops_abc123; HttpOnly; SameSite=Lax; Path=/; Max-Age=2592000"
                .parse()
                .unwrap(),
        );
        assert_eq!(session_from_set_cookie(&h).as_deref(), Some("ops_abc123"));
        let mut h = http::HeaderMap::new();
        h.append(
            http::header::SET_COOKIE,
            "op_session=; Path=/; Max-Age=0".parse().unwrap(),
        );
        assert_eq!(session_from_set_cookie(&h), None);
    }
}
