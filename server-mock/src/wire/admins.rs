//! Admin shapes (API.md §3.8), shared by the admin routes and the auth routes.

use serde::Serialize;
use utoipa::ToSchema;

use crate::store::admins::Admin;

/// An admin row.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AdminRow {
    /// Admin id.
    pub id: String,
    /// Tenant id.
    pub tenant_id: String,
    /// Email (lower-cased).
    pub email: String,
    /// Display name.
    pub name: String,
    /// Creation time (ISO 8601).
    pub created_at: String,
    /// Last change (ISO 8601).
    pub updated_at: String,
    /// First sign-in through a magic link; `null` while pending.
    pub activated_at: Option<String>,
    /// Revocation time; `null` while active.
    pub revoked_at: Option<String>,
}

impl From<Admin> for AdminRow {
    fn from(a: Admin) -> AdminRow {
        AdminRow {
            id: a.id,
            tenant_id: a.tenant_id,
            email: a.email,
            name: a.name,
            created_at: a.created_at,
            updated_at: a.updated_at,
            activated_at: a.activated_at,
            revoked_at: a.revoked_at,
        }
    }
}

/// `{id, email, name}` of an admin (sign-in answers, whoami).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AdminSummary {
    /// Admin id.
    pub id: String,
    /// Email (lower-cased).
    pub email: String,
    /// Display name.
    pub name: String,
}

impl From<&Admin> for AdminSummary {
    fn from(a: &Admin) -> AdminSummary {
        AdminSummary {
            id: a.id.clone(),
            email: a.email.clone(),
            name: a.name.clone(),
        }
    }
}

impl From<crate::auth::AdminInfo> for AdminSummary {
    fn from(a: crate::auth::AdminInfo) -> AdminSummary {
        AdminSummary {
            id: a.id,
            email: a.email,
            name: a.name,
        }
    }
}
