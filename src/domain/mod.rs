//! Typed domain values: each validates when it is parsed, so the layers above and
//! below never pass raw strings or integers around.

pub mod account_kind;
pub mod amount;
pub mod approval;
pub mod check_in;
pub mod ids;
pub mod leaderboard;
pub mod name_search;
pub mod organisation;
pub mod password;
pub mod phone;
pub mod role;
pub mod service;
pub mod text;
mod text_enum;
pub mod transfer_kind;
pub mod username;
pub mod volunteer_status;

pub use account_kind::{AccountKind, AccountStatus};
pub use amount::{Amount, AmountError, Points};
pub use approval::{ApprovalPolicy, NightHours};
pub use check_in::{CheckInCode, CheckInStatus};
pub use ids::{
    AccountId, ActivityId, AuditEntryId, CheckInId, EarningRuleId, GrantId, LedgerId,
    OrganisationId, ServiceRecordId, SessionId, TransferId, UserId, VolunteerId,
};
pub use leaderboard::{LeaderboardPeriod, RankBy};
pub use name_search::NameSearch;
pub use organisation::{OrgPath, OrganisationKind, UserStatus};
pub use password::Password;
pub use phone::Phone;
pub use role::Role;
pub use service::{
    Campaign, Category, EarningTerms, Priced, PricingError, RuleCategory, ServiceSpan,
    ServiceStatus,
};
pub use text::{Line, Note};
pub use transfer_kind::{Direction, Phase, TransferKind};
pub use username::Username;
pub use volunteer_status::VolunteerStatus;
