//! Kinds of journal entry, posting directions and two-phase states.

use super::text_enum::text_enum;

text_enum!(
    /// The business act a transfer records.
    TransferKind {
        HoursCredit => "hours_credit",
        Redemption => "redemption",
        Refund => "refund",
        Donation => "donation",
        Settlement => "settlement",
        Expiry => "expiry",
        Adjustment => "adjustment",
        Reversal => "reversal",
    }
);

text_enum!(
    /// Which side of an account a posting lands on. Balance = credits - debits.
    Direction {
        Debit => "debit",
        Credit => "credit",
    }
);

text_enum!(
    /// How a transfer moves balances: at once, as a hold, or by settling a hold.
    Phase {
        Posted => "posted",
        Pending => "pending",
        PostPending => "post_pending",
        VoidPending => "void_pending",
    }
);
