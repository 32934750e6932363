//! Who may move which points. A transfer is allowed when an administrator's
//! scope covers every account it touches, or when its kind and accounts fit
//! one of the caller's roles: a coordinator credits hours to volunteers of
//! their subtree, a volunteer donates from their own wallet to a community
//! fund.

use std::collections::HashMap;

use super::caller::{Caller, READERS};
use crate::domain::{AccountId, AccountKind, Direction, OrgPath, Role, TransferKind};
use crate::error::AppError;
use crate::ledger::LedgerError;
use crate::store::{DbConnection, accounts};

/// What access decisions need to know about an account.
#[derive(Clone, Debug)]
pub struct AccountFacts {
    pub id: AccountId,
    pub kind: AccountKind,
    pub path: OrgPath,
}

pub fn facts(
    conn: &mut DbConnection,
    ids: &[AccountId],
) -> Result<HashMap<AccountId, AccountFacts>, AppError> {
    Ok(accounts::facts(conn, ids)?
        .into_iter()
        .map(|(id, kind, path)| (id, AccountFacts { id, kind, path }))
        .collect())
}

/// Reads an account: staff whose subtree holds it, or the volunteer it belongs to.
pub fn can_read_account(caller: &Caller, account: &AccountFacts) -> bool {
    caller.wallet == Some(account.id) || caller.covers(READERS, &account.path)
}

/// One leg as access decisions see it.
pub struct Leg<'a> {
    pub direction: Direction,
    pub account: &'a AccountFacts,
}

/// Accounts a role may touch without reading them: the issuance account and
/// community funds, and for partner staff, the wallets of shoppers.
fn may_name(caller: &Caller, account: &AccountFacts) -> bool {
    can_read_account(caller, account)
        || matches!(
            account.kind,
            AccountKind::Issuance | AccountKind::CommunityFund
        )
        || (account.kind == AccountKind::Volunteer && caller.has_role(Role::PartnerStaff))
}

fn role_allows(caller: &Caller, role: Role, kind: TransferKind, legs: &[Leg<'_>]) -> bool {
    let covered = |a: &AccountFacts| caller.covers(&[role], &a.path);
    let all = |direction: Direction, ok: &dyn Fn(&AccountFacts) -> bool| {
        legs.iter()
            .filter(|l| l.direction == direction)
            .all(|l| ok(l.account))
    };
    match (role, kind) {
        (Role::Coordinator, TransferKind::HoursCredit) => {
            all(Direction::Debit, &|a| {
                a.kind == AccountKind::Issuance
                    || (a.kind == AccountKind::CommunityFund && covered(a))
            }) && all(Direction::Credit, &|a| {
                a.kind == AccountKind::Volunteer && covered(a)
            })
        }
        (Role::PartnerStaff, TransferKind::Redemption) => {
            all(Direction::Debit, &|a| a.kind == AccountKind::Volunteer)
                && all(Direction::Credit, &|a| {
                    a.kind == AccountKind::Partner && covered(a)
                })
        }
        (Role::PartnerStaff, TransferKind::Refund) => {
            all(Direction::Debit, &|a| {
                a.kind == AccountKind::Partner && covered(a)
            }) && all(Direction::Credit, &|a| a.kind == AccountKind::Volunteer)
        }
        (Role::Volunteer, TransferKind::Donation) => {
            all(Direction::Debit, &|a| caller.wallet == Some(a.id))
                && all(Direction::Credit, &|a| a.kind == AccountKind::CommunityFund)
        }
        _ => false,
    }
}

/// Roles that may create some transfer.
pub const TRANSFER_MAKERS: &[Role] = &[Role::Admin, Role::Coordinator, Role::Volunteer];

/// Decides whether the caller may post a transfer of `kind` on these legs. An
/// account the caller may not even name is reported as not found, exactly as
/// an account that does not exist.
pub fn authorise_transfer(
    caller: &Caller,
    kind: TransferKind,
    legs: &[Leg<'_>],
) -> Result<(), AppError> {
    if legs
        .iter()
        .all(|l| caller.covers(&[Role::Admin], &l.account.path))
    {
        return Ok(());
    }
    if let Some(hidden) = legs.iter().find(|l| !may_name(caller, l.account)) {
        return Err(LedgerError::AccountNotFound(hidden.account.id).into());
    }
    let allowed = caller
        .grants
        .iter()
        .map(|g| g.role)
        .any(|role| role_allows(caller, role, kind, legs));
    if allowed {
        Ok(())
    } else {
        Err(AppError::forbidden(format!(
            "your roles do not allow a {kind} transfer on these accounts"
        )))
    }
}
