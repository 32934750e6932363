//! Who is calling, as proven by their token, and what they may do.

use crate::domain::{OrganisationId, Role, UserId};
use crate::error::AppError;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RoleGrant {
    pub role: Role,
    pub organisation_id: OrganisationId,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Caller {
    pub user_id: UserId,
    pub grants: Vec<RoleGrant>,
}

impl Caller {
    pub fn has_role(&self, role: Role) -> bool {
        self.grants.iter().any(|g| g.role == role)
    }

    /// Passes when the caller holds one of `roles`.
    pub fn require_any(&self, roles: &[Role]) -> Result<(), AppError> {
        if roles.iter().any(|r| self.has_role(*r)) {
            return Ok(());
        }
        let names: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
        Err(AppError::forbidden(format!(
            "this needs one of the roles: {}",
            names.join(", ")
        )))
    }

    /// Changes to the books and to the scheme's set-up.
    pub fn require_admin(&self) -> Result<(), AppError> {
        self.require_any(&[Role::Admin])
    }

    /// Reading the books: administrators and auditors.
    pub fn require_reader(&self) -> Result<(), AppError> {
        self.require_any(&[Role::Admin, Role::Auditor])
    }

    /// The scope idempotency keys live in: one caller's keys never collide with
    /// another's.
    pub fn idempotency_scope(&self) -> String {
        self.user_id.to_string()
    }
}
