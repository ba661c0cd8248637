//! The dev mailbox: the reference server has no SMTP, it stores every message in the
//! `mail` table, readable through `GET /dev/mailbox` (admin).

use rusqlite::Connection;

use crate::error::ApiError;
use crate::tenancy::Tenant;

/// Mail purposes (`metadata.purpose`).
pub mod purpose {
    /// Invite for a new partner.
    pub const PARTNER_INVITE: &str = "partner_invite";
    /// Partner sign-in link (also login links).
    pub const PARTNER_SIGNIN: &str = "partner_signin";
    /// Invite for a new admin.
    pub const ADMIN_INVITE: &str = "admin_invite";
    /// Admin sign-in link.
    pub const ADMIN_SIGNIN: &str = "admin_signin";
}

/// Builds magic-link URLs and stores mail.
#[derive(Clone, Debug)]
pub struct Mailer {
    /// Portal origin without trailing `/` (`--portal-url`, else the server's origin).
    portal: String,
    /// Multi mode adds `/t/<slug>`.
    multi: bool,
}

/// One outgoing message.
#[derive(Debug)]
pub struct Mail<'a> {
    /// Recipient.
    pub to: &'a str,
    /// Subject line.
    pub subject: String,
    /// Plain-text body.
    pub body: String,
    /// One of [`purpose`].
    pub purpose: &'a str,
    /// The magic token, if the mail carries one.
    pub token: Option<&'a str>,
    /// The magic URL, if any.
    pub url: Option<&'a str>,
}

impl Mailer {
    /// A mailer for the given portal origin.
    pub fn new(portal: &str, multi: bool) -> Self {
        Mailer {
            portal: portal.trim_end_matches('/').to_owned(),
            multi,
        }
    }

    /// `<portal>[/t/<slug>]/auth/magic?token=<token>`.
    pub fn magic_url(&self, tenant: &Tenant, token: &str) -> String {
        if self.multi {
            format!("{}/t/{}/auth/magic?token={token}", self.portal, tenant.slug)
        } else {
            format!("{}/auth/magic?token={token}", self.portal)
        }
    }

    /// Stores `mail` in `tenant`'s mailbox. Errors: database errors.
    pub fn send(
        &self,
        conn: &Connection,
        tenant: &Tenant,
        mail: Mail<'_>,
        now_iso: &str,
    ) -> Result<(), ApiError> {
        crate::store::mailbox::insert(
            conn,
            &tenant.id,
            &crate::store::mailbox::NewMail {
                id: &crate::util::new_id(),
                to: mail.to,
                subject: &mail.subject,
                body: &mail.body,
                purpose: mail.purpose,
                token: mail.token,
                url: mail.url,
                created_at: now_iso,
            },
        )?;
        Ok(())
    }
}
