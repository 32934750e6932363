//! Whether a registered volunteer takes part.

use super::text_enum::text_enum;

text_enum!(
    /// `suspended` and `left` keep the volunteer's history and wallet.
    VolunteerStatus {
        Active => "active",
        Suspended => "suspended",
        Left => "left",
    }
);
