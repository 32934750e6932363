//! Registered volunteers. Registering one opens their wallet (no overdraft) in
//! the scheme's ledger. Phone numbers are kept only as a keyed hash (for
//! search) and their last four digits; PINs only as argon2 hashes.

use chrono::{DateTime, Utc};
use hmac::{KeyInit, Mac};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::App;
use super::accounts::{OpenAccountRequest, open_account};
use super::answer::Answer;
use super::audit::{self, Change, snapshot};
use super::caller::Caller;
use super::idempotency::{Claim, run_once};
use super::names::valid_name;
use super::organisations::{Node, find, named};
use super::page::{Limit, Page};
use super::passwords;
use super::users::insert_user;
use crate::domain::{
    AccountId, AccountKind, LedgerId, Line, NameSearch, OrganisationId, OrganisationKind, Password,
    Phone, Role, UserId, VolunteerId, VolunteerStatus,
};
use crate::error::{AppError, ErrorCode};
use crate::store::volunteers::{self, VolunteerFilter, VolunteerRow};
use crate::store::{DbConnection, ledgers, users, write_transaction};

/// Who registers and manages volunteers of their subtree.
const MANAGERS: &[Role] = &[Role::Admin, Role::Coordinator];
/// Who reads them.
pub(super) const READERS: &[Role] = &[Role::Admin, Role::Coordinator, Role::Auditor];

/// A login made with the volunteer, to see their own wallet.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[schema(examples(json!({
    "username": "li.wei",
    "password": "li-wei-long-password"
})))]
#[serde(deny_unknown_fields)]
pub struct VolunteerLogin {
    /// Unique login name.
    #[schema(value_type = String)]
    pub username: Line,
    /// At least 12 characters.
    #[schema(value_type = String, min_length = super::passwords::MIN_PASSWORD_LEN, max_length = 1024)]
    pub password: Password,
}

/// A volunteer to register; their wallet is opened with them.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[schema(examples(json!({
    "name": "Li Wei",
    "phone": "+86 138 0013 8000",
    "organisation_id": "0193a5b0-7e1a-7c3e-9a41-3f5e2b7c9d0b",
    "card_number": "GL0001",
    "pin": "2468",
    "leaderboard_consent": true,
    "login": {
        "username": "li.wei",
        "password": "li-wei-long-password"
    }
})))]
#[serde(deny_unknown_fields)]
pub struct CreateVolunteerRequest {
    /// Full name, 1 to 200 characters.
    #[schema(value_type = String, min_length = 1, max_length = 200)]
    pub name: Line,
    /// Mobile number in any common spelling; kept only as a keyed hash and its last four digits.
    pub phone: String,
    /// Home organisation (a community or grid, usually).
    pub organisation_id: OrganisationId,
    /// 4 to 32 letters or digits, printed on the volunteer's card.
    #[serde(default)]
    #[schema(pattern = "^[A-Za-z0-9]{4,32}$")]
    pub card_number: Option<String>,
    /// 4 to 8 digits, for counter use by people without a phone.
    #[serde(default)]
    #[schema(pattern = "^[0-9]{4,8}$")]
    pub pin: Option<String>,
    /// Appear on public leaderboards.
    #[serde(default)]
    pub leaderboard_consent: bool,
    /// The scheme's ledger for the wallet (default: the nearest ledger above
    /// the home organisation).
    #[serde(default)]
    pub ledger_id: Option<LedgerId>,
    /// Lets the volunteer log in to see their own wallet.
    #[serde(default)]
    pub login: Option<VolunteerLogin>,
}

/// Changes to a volunteer; fields left out stay as they are.
#[derive(Clone, Debug, Default, Serialize, Deserialize, ToSchema)]
#[schema(examples(json!({
    "phone": "+86 139 0013 9000",
    "leaderboard_consent": false
})))]
#[serde(deny_unknown_fields)]
pub struct UpdateVolunteerRequest {
    /// New full name.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub name: Option<Line>,
    /// New mobile number.
    #[serde(default)]
    pub phone: Option<String>,
    /// Move the volunteer (and their wallet) to another home organisation.
    #[serde(default)]
    pub organisation_id: Option<OrganisationId>,
    /// New card number: 4 to 32 letters or digits.
    #[serde(default)]
    #[schema(pattern = "^[A-Za-z0-9]{4,32}$")]
    pub card_number: Option<String>,
    /// New PIN: 4 to 8 digits.
    #[serde(default)]
    #[schema(pattern = "^[0-9]{4,8}$")]
    pub pin: Option<String>,
    /// Appear on public leaderboards.
    #[serde(default)]
    pub leaderboard_consent: Option<bool>,
    /// `active`, `suspended` or `left`.
    #[serde(default)]
    pub status: Option<VolunteerStatus>,
}

/// A registered volunteer and their wallet.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[schema(examples(json!({
    "id": "0193a5b0-7e1a-7c3e-9a41-3f5e2b7c9d08",
    "name": "Li Wei",
    "phone_last4": "8000",
    "organisation_id": "0193a5b0-7e1a-7c3e-9a41-3f5e2b7c9d0b",
    "card_number": "GL0001",
    "has_pin": true,
    "leaderboard_consent": true,
    "status": "active",
    "account_id": "0193a5b0-7e1a-7c3e-9a41-3f5e2b7c9d04",
    "user_id": null,
    "created_at": "2026-03-14T09:30:00Z",
    "updated_at": "2026-03-14T09:30:00Z"
})))]
pub struct VolunteerView {
    /// The volunteer's id.
    pub id: VolunteerId,
    /// Full name.
    pub name: String,
    /// The last four digits only; the number itself is not kept in clear.
    pub phone_last4: String,
    /// Home organisation.
    pub organisation_id: OrganisationId,
    /// Card number, when given.
    pub card_number: Option<String>,
    /// A PIN is set (the PIN itself is never shown).
    pub has_pin: bool,
    /// Appears on public leaderboards.
    pub leaderboard_consent: bool,
    /// `active`, `suspended` or `left`.
    pub status: VolunteerStatus,
    /// The volunteer's wallet.
    pub account_id: AccountId,
    /// The volunteer's login, when they have one.
    pub user_id: Option<UserId>,
    /// When they were registered.
    pub created_at: DateTime<Utc>,
    /// When they last changed.
    pub updated_at: DateTime<Utc>,
}

#[derive(Clone, Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct VolunteerQuery {
    /// Exact phone number, in any common spelling.
    #[param(value_type = Option<String>)]
    pub phone: Option<Line>,
    /// Exact card number.
    #[param(value_type = Option<String>)]
    pub card_number: Option<Line>,
    /// Part of the name, 1 to 100 characters: names containing it, ignoring
    /// the case of A to Z (`%`, `_` and `\` match only themselves).
    #[param(value_type = Option<String>, min_length = 1, max_length = 100)]
    pub name: Option<NameSearch>,
    pub organisation_id: Option<OrganisationId>,
    pub status: Option<VolunteerStatus>,
    pub limit: Option<u32>,
    pub cursor: Option<VolunteerId>,
}

impl VolunteerView {
    pub fn new(row: &VolunteerRow) -> Self {
        Self {
            id: row.id,
            name: row.name.clone(),
            phone_last4: row.phone_last4.clone(),
            organisation_id: row.organisation_id,
            card_number: row.card_number.clone(),
            has_pin: row.pin_hash.is_some(),
            leaderboard_consent: row.leaderboard_consent,
            status: row.status,
            account_id: row.account_id,
            user_id: row.user_id,
            created_at: row.created_at.into(),
            updated_at: row.updated_at.into(),
        }
    }
}

/// The keyed hash a phone number is stored and searched by.
pub fn phone_digest(pepper: &[u8], phone: &Phone) -> Result<String, AppError> {
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(pepper).map_err(AppError::internal)?;
    mac.update(phone.as_str().as_bytes());
    Ok(hex::encode(mac.finalize().into_bytes()))
}

fn parse_phone(field: &str, raw: &str) -> Result<Phone, AppError> {
    raw.parse()
        .map_err(|e: &str| AppError::invalid_field(field, e))
}

fn valid_card(card: &str) -> Result<String, AppError> {
    let card = card.trim();
    if !(4..=32).contains(&card.len()) || !card.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err(AppError::invalid_field(
            "card_number",
            "4 to 32 letters or digits",
        ));
    }
    Ok(card.to_string())
}

fn pin_hash(pin: &str) -> Result<String, AppError> {
    if !(4..=8).contains(&pin.len()) || !pin.chars().all(|c| c.is_ascii_digit()) {
        return Err(AppError::invalid_field("pin", "4 to 8 digits"));
    }
    passwords::hash_secret(pin)
}

/// The volunteer if the caller's `roles` reach their home (or, when `allow_own` is
/// allowed, it is the caller's own registration); 404 otherwise.
pub(super) fn visible(
    conn: &mut DbConnection,
    caller: &Caller,
    roles: &[Role],
    id: &VolunteerId,
    allow_own: bool,
) -> Result<VolunteerRow, AppError> {
    let hidden = || AppError::not_found("volunteer");
    let row = volunteers::get(conn, id)?.ok_or_else(hidden)?;
    let node = find(conn, &row.organisation_id)?.ok_or_else(hidden)?;
    let own = allow_own && row.user_id == Some(caller.user_id);
    if !own && !caller.covers(roles, node.path()) {
        return Err(hidden());
    }
    Ok(row)
}

/// A home for volunteers: any node but a partner.
fn home(conn: &mut DbConnection, caller: &Caller, id: &OrganisationId) -> Result<Node, AppError> {
    let node = named(conn, caller, MANAGERS, "organisation_id", id)?;
    if node.kind() == OrganisationKind::Partner {
        return Err(AppError::invalid_field(
            "organisation_id",
            "a volunteer's home is a community, not a partner",
        ));
    }
    Ok(node)
}

/// The ledger the wallet opens in: the one named, or the nearest above home.
fn scheme_ledger(
    conn: &mut DbConnection,
    home: &Node,
    named_ledger: Option<LedgerId>,
) -> Result<LedgerId, AppError> {
    let ancestors: Vec<OrganisationId> = home.path().ids().collect();
    if let Some(id) = named_ledger {
        let row = ledgers::get(conn, &id)?
            .ok_or_else(|| AppError::invalid_field("ledger_id", "no such ledger"))?;
        if !ancestors.contains(&row.organisation_id) {
            return Err(AppError::invalid_field(
                "ledger_id",
                "the ledger does not cover the volunteer's home",
            ));
        }
        return Ok(id);
    }
    for org in ancestors.iter().rev() {
        let found = ledgers::of_organisation(conn, org)?;
        match found.as_slice() {
            [] => continue,
            [only] => return Ok(only.id),
            _ => {
                return Err(AppError::invalid_field(
                    "ledger_id",
                    "several ledgers cover this home; name one",
                ));
            }
        }
    }
    Err(AppError::invalid_field(
        "ledger_id",
        "no ledger covers this home",
    ))
}

fn audit_change(
    conn: &mut DbConnection,
    caller: &Caller,
    action: &str,
    before: Option<&VolunteerView>,
    after: &VolunteerView,
) -> Result<(), AppError> {
    audit::record(
        conn,
        Change {
            actor: Some(caller.user_id),
            action,
            entity_type: "volunteer",
            entity_id: after.id.to_string(),
            organisation_id: Some(after.organisation_id),
            before: before.map(snapshot).transpose()?,
            after: Some(snapshot(after)?),
        },
    )
}

impl App {
    pub async fn create_volunteer(
        &self,
        caller: &Caller,
        key: Option<&str>,
        request: CreateVolunteerRequest,
    ) -> Result<Answer<VolunteerView>, AppError> {
        caller.require_any(MANAGERS)?;
        let name = valid_name("name", &request.name)?;
        let phone = parse_phone("phone", &request.phone)?;
        let phone_hash = phone_digest(&self.pepper, &phone)?;
        let card = request.card_number.as_deref().map(valid_card).transpose()?;
        let username = request
            .login
            .as_ref()
            .map(|l| super::users::valid_username("login.username", &l.username))
            .transpose()?;
        let (pin, password) = {
            let pin = request.pin.clone();
            let password = request.login.as_ref().map(|l| l.password.clone());
            tokio::task::spawn_blocking(move || {
                Ok::<_, AppError>((
                    pin.as_deref().map(pin_hash).transpose()?,
                    password.as_deref().map(passwords::hash).transpose()?,
                ))
            })
            .await
            .map_err(AppError::internal)??
        };
        let claim = key
            .map(|k| {
                let mut fingerprinted = request.clone();
                fingerprinted.pin = fingerprinted.pin.map(|_| "***".into());
                if let Some(login) = &mut fingerprinted.login {
                    login.password = Password::redacted();
                }
                Claim::new(
                    &self.record_keys,
                    caller.idempotency_scope(),
                    k,
                    "POST /v1/volunteers",
                    &fingerprinted,
                )
            })
            .transpose()?;
        let caller = caller.clone();
        run_once(&self.store, &self.in_flight, claim, move |conn| {
            let home = home(conn, &caller, &request.organisation_id)?;
            if let Some(card) = &card
                && volunteers::card_taken(conn, card, None)?
            {
                return Err(AppError::new(
                    ErrorCode::Conflict,
                    "the card number is taken",
                ));
            }
            let ledger_id = scheme_ledger(conn, &home, request.ledger_id)?;
            let wallet = open_account(
                conn,
                &OpenAccountRequest {
                    ledger_id,
                    organisation_id: Some(home.id()),
                    kind: AccountKind::Volunteer,
                    name: super::names::line("name", name.clone())?,
                    no_overdraft: Some(true),
                    external_ref: None,
                },
            )?;
            let user_id = match (&username, &password) {
                (Some(username), Some(hash)) => {
                    let row = insert_user(conn, username, hash.clone(), &name, None)?;
                    super::users::insert_grant(conn, &row.id, Role::Volunteer, &home)?;
                    Some(row.id)
                }
                _ => None,
            };
            let now = Utc::now().into();
            let row = VolunteerRow {
                id: VolunteerId::generate(),
                name: name.clone(),
                phone_hash: phone_hash.clone(),
                phone_last4: phone.last4().to_string(),
                organisation_id: home.id(),
                card_number: card.clone(),
                pin_hash: pin.clone(),
                leaderboard_consent: request.leaderboard_consent,
                status: VolunteerStatus::Active,
                account_id: wallet.id,
                user_id,
                created_at: now,
                updated_at: now,
            };
            volunteers::insert(conn, &row)?;
            let view = VolunteerView::new(&row);
            audit_change(conn, &caller, "volunteer.created", None, &view)?;
            Ok(view)
        })
        .await
    }

    pub async fn get_volunteer(
        &self,
        caller: &Caller,
        id: VolunteerId,
    ) -> Result<VolunteerView, AppError> {
        let caller = caller.clone();
        self.store
            .run(move |conn| {
                Ok(VolunteerView::new(&visible(
                    conn, &caller, READERS, &id, true,
                )?))
            })
            .await
    }

    pub async fn list_volunteers(
        &self,
        caller: &Caller,
        query: VolunteerQuery,
    ) -> Result<Page<VolunteerView>, AppError> {
        caller.require_any(READERS)?;
        let limit = Limit::parse(query.limit)?;
        let phone_hash = query
            .phone
            .as_deref()
            .map(|p| phone_digest(&self.pepper, &parse_phone("phone", p)?))
            .transpose()?;
        let filter = VolunteerFilter {
            organisation_id: query.organisation_id,
            phone_hash,
            card_number: query.card_number.map(String::from),
            name: query.name,
            status: query.status,
        };
        let subtrees = caller.subtrees(READERS);
        let rows = self
            .store
            .run(move |conn| {
                volunteers::page(conn, &subtrees, &filter, query.cursor, limit.probe())
            })
            .await?;
        let views = rows.iter().map(VolunteerView::new).collect();
        Ok(limit.finish(views, |v| v.id.to_string()))
    }

    pub async fn update_volunteer(
        &self,
        caller: &Caller,
        id: VolunteerId,
        request: UpdateVolunteerRequest,
    ) -> Result<VolunteerView, AppError> {
        caller.require_any(MANAGERS)?;
        let name = request
            .name
            .as_deref()
            .map(|n| valid_name("name", n))
            .transpose()?;
        let phone = request
            .phone
            .as_deref()
            .map(|p| parse_phone("phone", p))
            .transpose()?;
        let phone_hash = phone
            .as_ref()
            .map(|p| phone_digest(&self.pepper, p))
            .transpose()?;
        let card = request.card_number.as_deref().map(valid_card).transpose()?;
        let pin = match request.pin.clone() {
            Some(p) => Some(
                tokio::task::spawn_blocking(move || pin_hash(&p))
                    .await
                    .map_err(AppError::internal)??,
            ),
            None => None,
        };
        let caller = caller.clone();
        self.store
            .run(move |conn| {
                write_transaction(conn, |conn| {
                    // Not even an administrator edits their own registration
                    // from outside its scope (undoing a suspension, say).
                    let mut row = visible(conn, &caller, MANAGERS, &id, false)?;
                    let before = VolunteerView::new(&row);
                    if let Some(name) = &name {
                        row.name = name.clone();
                    }
                    if let (Some(phone), Some(hash)) = (&phone, &phone_hash) {
                        row.phone_hash = hash.clone();
                        row.phone_last4 = phone.last4().to_string();
                    }
                    if let Some(card) = &card {
                        if volunteers::card_taken(conn, card, Some(&row.id))? {
                            return Err(AppError::new(
                                ErrorCode::Conflict,
                                "the card number is taken",
                            ));
                        }
                        row.card_number = Some(card.clone());
                    }
                    if let Some(pin) = &pin {
                        row.pin_hash = Some(pin.clone());
                    }
                    if let Some(consent) = request.leaderboard_consent {
                        row.leaderboard_consent = consent;
                    }
                    if let Some(status) = request.status {
                        row.status = status;
                    }
                    if let Some(org) = request.organisation_id {
                        let node = home(conn, &caller, &org)?;
                        row.organisation_id = node.id();
                        crate::store::accounts::set_organisation(
                            conn,
                            &row.account_id,
                            &row.organisation_id,
                        )?;
                        if let Some(user) = &row.user_id {
                            users::move_grants(conn, user, Role::Volunteer, &row.organisation_id)?;
                        }
                    }
                    row.updated_at = Utc::now().into();
                    volunteers::save(conn, &row)?;
                    let after = VolunteerView::new(&row);
                    audit_change(conn, &caller, "volunteer.updated", Some(&before), &after)?;
                    Ok(after)
                })
            })
            .await
    }

    /// A volunteer's own choice: whether to appear on public leaderboards.
    pub async fn set_own_leaderboard_consent(
        &self,
        caller: &Caller,
        consent: bool,
    ) -> Result<(), AppError> {
        let caller = caller.clone();
        self.store
            .run(move |conn| {
                write_transaction(conn, |conn| {
                    let mut row = volunteers::of_user(conn, &caller.user_id)?.ok_or_else(|| {
                        AppError::invalid_field(
                            "leaderboard_consent",
                            "only registered volunteers have this setting",
                        )
                    })?;
                    let before = VolunteerView::new(&row);
                    row.leaderboard_consent = consent;
                    row.updated_at = Utc::now().into();
                    volunteers::save(conn, &row)?;
                    let after = VolunteerView::new(&row);
                    audit_change(
                        conn,
                        &caller,
                        "volunteer.consent_changed",
                        Some(&before),
                        &after,
                    )
                })
            })
            .await
    }

    pub async fn own_volunteer(&self, caller: &Caller) -> Result<Option<VolunteerView>, AppError> {
        let user = caller.user_id;
        self.store
            .run(move |conn| {
                Ok(volunteers::of_user(conn, &user)?
                    .as_ref()
                    .map(VolunteerView::new))
            })
            .await
    }
}
