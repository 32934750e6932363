//! Identifiers: UUIDs (v7, time-ordered), one type per kind of object so that an
//! account id can never be passed where a transfer id is expected.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

macro_rules! id_type {
    ($(#[doc = $doc:literal])* $name:ident) => {
        $(#[doc = $doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(Uuid);

        impl $name {
            /// Below and above every id: open ends of an id range.
            pub const LOWEST: Self = Self(Uuid::nil());
            pub const HIGHEST: Self = Self(Uuid::max());

            /// A fresh, time-ordered id.
            pub fn generate() -> Self {
                Self(Uuid::now_v7())
            }

            pub fn as_uuid(&self) -> Uuid {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.hyphenated().fmt(f)
            }
        }

        impl FromStr for $name {
            type Err = uuid::Error;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s).map(Self)
            }
        }

        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                use utoipa::openapi::schema::{KnownFormat, SchemaFormat, Type};
                utoipa::openapi::ObjectBuilder::new()
                    .schema_type(Type::String)
                    .format(Some(SchemaFormat::KnownFormat(KnownFormat::Uuid)))
                    .description(Some(concat!($($doc),*).trim()))
                    .into()
            }
        }

        impl utoipa::ToSchema for $name {}
    };
}

id_type!(
    /// A ledger (one points scheme).
    LedgerId
);
id_type!(
    /// An account in one ledger.
    AccountId
);
id_type!(
    /// A journal entry.
    TransferId
);
id_type!(
    /// A person who can log in.
    UserId
);
id_type!(
    /// A node of the organisation tree.
    OrganisationId
);
id_type!(
    /// One login: the family of refresh tokens rotated from it.
    SessionId
);
id_type!(
    /// A registered volunteer.
    VolunteerId
);
id_type!(
    /// One role held by one person in one organisation subtree.
    GrantId
);
id_type!(
    /// One entry of the audit log.
    AuditEntryId
);
id_type!(
    /// A kind of volunteer service an organisation offers.
    ActivityId
);
id_type!(
    /// One version of an earning rule.
    EarningRuleId
);
id_type!(
    /// Service a volunteer did, as recorded by a coordinator.
    ServiceRecordId
);

id_type!(
    /// A check-in opened for attendance at an event.
    CheckInId
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_through_text() {
        let id = AccountId::generate();
        let parsed: AccountId = id.to_string().parse().unwrap();
        assert_eq!(id, parsed);
        assert!("not-a-uuid".parse::<AccountId>().is_err());
    }

    #[test]
    fn generated_ids_are_time_ordered() {
        let a = TransferId::generate();
        let b = TransferId::generate();
        assert!(a.to_string() < b.to_string());
    }
}
