//! What an account is for, and whether it may move.

use super::text_enum::text_enum;

text_enum!(
    /// The role an account plays in the scheme.
    AccountKind {
        Volunteer => "volunteer",
        Partner => "partner",
        Issuance => "issuance",
        CommunityFund => "community_fund",
        Expiry => "expiry",
        Settlement => "settlement",
    }
);

impl AccountKind {
    /// Volunteer wallets and partner accounts hold real points and may never go
    /// below zero; the issuance account goes negative by what is in circulation.
    pub fn default_no_overdraft(self) -> bool {
        !matches!(self, AccountKind::Issuance | AccountKind::Settlement)
    }
}

text_enum!(
    /// Open accounts move; frozen ones are held still; closed ones are finished.
    AccountStatus {
        Open => "open",
        Frozen => "frozen",
        Closed => "closed",
    }
);
