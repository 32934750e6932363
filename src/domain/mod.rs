//! Typed domain values: each validates when it is parsed, so the layers above and
//! below never pass raw strings or integers around.

pub mod account_kind;
pub mod amount;
pub mod ids;
pub mod role;
mod text_enum;
pub mod transfer_kind;

pub use account_kind::{AccountKind, AccountStatus};
pub use amount::{Amount, AmountError, Points};
pub use ids::{AccountId, LedgerId, OrganisationId, TransferId, UserId};
pub use role::Role;
pub use transfer_kind::{Direction, Phase, TransferKind};
