//! Roles a person can hold, each scoped to an organisation subtree.

use super::text_enum::text_enum;

text_enum!(
    /// What a person may do inside their organisation subtree.
    Role {
        Admin => "admin",
        Coordinator => "coordinator",
        PartnerStaff => "partner_staff",
        Auditor => "auditor",
        Volunteer => "volunteer",
    }
);
