//! Who is calling, as proven by their token and read from the database on
//! every request, and the organisation subtrees their roles reach.

use crate::domain::{AccountId, GrantId, OrgPath, OrganisationId, Role, SessionId, UserId};
use crate::error::AppError;

/// One role in one organisation subtree.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RoleGrant {
    pub role: Role,
    pub organisation_id: OrganisationId,
}

/// A role as held now, with where its subtree is in the tree.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Grant {
    pub id: GrantId,
    pub role: Role,
    pub organisation_id: OrganisationId,
    pub path: OrgPath,
}

/// Roles that read the books of their subtree.
pub const READERS: &[Role] = &[
    Role::Admin,
    Role::Auditor,
    Role::Coordinator,
    Role::PartnerStaff,
];

#[derive(Clone, Debug)]
pub struct Caller {
    pub user_id: UserId,
    /// The login session of a service-issued token (none for provider tokens).
    pub session_id: Option<SessionId>,
    pub grants: Vec<Grant>,
    /// The caller's own wallet when they are a registered volunteer.
    pub wallet: Option<AccountId>,
}

impl Caller {
    pub fn has_role(&self, role: Role) -> bool {
        self.grants.iter().any(|g| g.role == role)
    }

    /// Passes when the caller holds one of `roles` somewhere.
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

    pub fn require_admin(&self) -> Result<(), AppError> {
        self.require_any(&[Role::Admin])
    }

    /// The subtrees where the caller holds one of `roles`, without any that
    /// lies inside another.
    pub fn subtrees(&self, roles: &[Role]) -> Vec<OrgPath> {
        let mut paths: Vec<OrgPath> = self
            .grants
            .iter()
            .filter(|g| roles.contains(&g.role))
            .map(|g| g.path.clone())
            .collect();
        paths.sort_by_key(|p| p.depth());
        let mut kept: Vec<OrgPath> = Vec::new();
        for path in paths {
            if !kept.iter().any(|k| k.contains(&path)) {
                kept.push(path);
            }
        }
        kept
    }

    /// True when one of `roles` is held at `path` or above it.
    pub fn covers(&self, roles: &[Role], path: &OrgPath) -> bool {
        self.grants
            .iter()
            .any(|g| roles.contains(&g.role) && g.path.contains(path))
    }

    /// True when one of `roles` is held at `path`, above it or below it: the
    /// caller works inside what `path` offers (its activities, its ledger's
    /// rules) or over it.
    pub fn reaches(&self, roles: &[Role], path: &OrgPath) -> bool {
        self.grants
            .iter()
            .any(|g| roles.contains(&g.role) && (g.path.contains(path) || path.contains(&g.path)))
    }

    /// True when one of `roles` is held at a root of the tree. The tree has
    /// one root (made by bootstrap), so that role reaches everything.
    pub fn everywhere(&self, roles: &[Role]) -> bool {
        self.grants
            .iter()
            .any(|g| roles.contains(&g.role) && g.path.depth() == 1)
    }

    /// The scope idempotency keys live in: one caller's keys never collide with
    /// another's.
    pub fn idempotency_scope(&self) -> String {
        self.user_id.to_string()
    }
}
