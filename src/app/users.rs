//! People who log in and the roles they hold, managed by administrators inside
//! their subtree; and each person's own view of themselves.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::App;
use super::answer::Answer;
use super::audit::{self, Change, snapshot};
use super::caller::{Caller, Grant};
use super::idempotency::{Claim, run_once};
use super::identity::grants_from_rows;
use super::names::valid_name;
use super::organisations::named;
use super::page::{Limit, Page};
use super::passwords;
use crate::domain::{
    GrantId, Line, OrganisationId, OrganisationKind, Password, Role, UserId, UserStatus, Username,
};
use crate::error::{AppError, ErrorCode};
use crate::store::users::{self, RoleGrantRow, UserChange, UserRow};
use crate::store::{DbConnection, sessions, write_transaction};

/// Who may read people: administrators and auditors of their subtree.
const PEOPLE_READERS: &[Role] = &[Role::Admin, Role::Auditor];

/// A role granted at an organisation (and its subtree).
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[schema(examples(json!({
    "role": "coordinator",
    "organisation_id": "0193a5b0-7e1a-7c3e-9a41-3f5e2b7c9d0b"
})))]
#[serde(deny_unknown_fields)]
pub struct RoleRequest {
    /// What the person may do there.
    pub role: Role,
    /// The subtree the role applies to; for `partner_staff`, the partner.
    pub organisation_id: OrganisationId,
}

/// A person who logs in: staff, coordinators, auditors, administrators.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[schema(examples(json!({
    "username": "zhang.min",
    "password": "another-long-password",
    "display_name": "Zhang Min",
    "roles": [
        {
            "role": "coordinator",
            "organisation_id": "0193a5b0-7e1a-7c3e-9a41-3f5e2b7c9d0b"
        }
    ]
})))]
#[serde(deny_unknown_fields)]
pub struct CreateUserRequest {
    /// Unique login name.
    #[schema(value_type = String)]
    pub username: Line,
    /// At least 12 characters. May be left out for someone who signs in only
    /// through the identity provider (`external_subject`).
    #[serde(default)]
    #[schema(value_type = Option<String>, min_length = super::passwords::MIN_PASSWORD_LEN, max_length = 1024)]
    pub password: Option<Password>,
    /// Name shown to others (default: the username).
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub display_name: Option<Line>,
    /// The identity provider's `sub` for this person.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub external_subject: Option<Line>,
    /// One or more roles (volunteers are registered with `/v1/volunteers`).
    pub roles: Vec<RoleRequest>,
}

/// Changes to a user; fields left out stay as they are.
#[derive(Clone, Debug, Default, Serialize, Deserialize, ToSchema)]
#[schema(examples(json!({
    "display_name": "Zhang Min (Drum Tower)"
})))]
#[serde(deny_unknown_fields)]
pub struct UpdateUserRequest {
    /// New name shown to others.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub display_name: Option<Line>,
    /// `disabled` ends every session of the user at once.
    #[serde(default)]
    pub status: Option<UserStatus>,
    /// Sets a new password and ends the user's sessions.
    #[serde(default)]
    #[schema(value_type = Option<String>, min_length = super::passwords::MIN_PASSWORD_LEN, max_length = 1024)]
    pub password: Option<Password>,
    /// The identity provider's `sub` for this person.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub external_subject: Option<Line>,
}

/// What a person may change about themselves. Roles, organisations and status
/// are not among them; sending them is refused.
#[derive(Clone, Debug, Default, Serialize, Deserialize, ToSchema)]
#[schema(examples(json!({
    "display_name": "Zhang Min"
})))]
#[serde(deny_unknown_fields)]
pub struct UpdateSelfRequest {
    /// New name shown to others.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub display_name: Option<Line>,
    /// Volunteers only: appear on public leaderboards.
    #[serde(default)]
    pub leaderboard_consent: Option<bool>,
}

/// Changes your own password; your other sessions end.
#[derive(Clone, Deserialize, ToSchema)]
#[schema(examples(json!({
    "current_password": "another-long-password",
    "new_password": "a-newer-long-password"
})))]
#[serde(deny_unknown_fields)]
pub struct ChangePasswordRequest {
    /// The password now.
    #[schema(value_type = String, max_length = 1024)]
    pub current_password: Password,
    /// The new password, at least 12 characters.
    #[schema(value_type = String, min_length = super::passwords::MIN_PASSWORD_LEN, max_length = 1024)]
    pub new_password: Password,
}

/// A role held at an organisation.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[schema(examples(json!({
    "id": "0193a5b0-7e1a-7c3e-9a41-3f5e2b7c9d09",
    "role": "coordinator",
    "organisation_id": "0193a5b0-7e1a-7c3e-9a41-3f5e2b7c9d0b"
})))]
pub struct GrantView {
    /// The grant's id (revoke it with `DELETE /v1/users/{id}/roles/{grant_id}`).
    pub id: GrantId,
    /// What the person may do.
    pub role: Role,
    /// Where (with its subtree).
    pub organisation_id: OrganisationId,
}

/// What granting a role answered: the person with the roles held now, and
/// the grant that was made.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RoleGranted {
    /// None in a record kept before grants were named in it.
    #[serde(default)]
    pub grant: Option<GrantId>,
    #[serde(flatten)]
    pub user: UserView,
}

/// A person who logs in, with the roles held now.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[schema(examples(json!({
    "id": "0193a5b0-7e1a-7c3e-9a41-3f5e2b7c9d07",
    "username": "zhang.min",
    "display_name": "Zhang Min",
    "status": "active",
    "external_subject": null,
    "roles": [
        {
            "id": "0193a5b0-7e1a-7c3e-9a41-3f5e2b7c9d09",
            "role": "coordinator",
            "organisation_id": "0193a5b0-7e1a-7c3e-9a41-3f5e2b7c9d0b"
        }
    ],
    "created_at": "2026-03-14T09:30:00Z",
    "updated_at": "2026-03-14T09:30:00Z"
})))]
pub struct UserView {
    /// The user's id.
    pub id: UserId,
    /// Login name.
    pub username: String,
    /// Name shown to others.
    pub display_name: String,
    /// `active` or `disabled`.
    pub status: UserStatus,
    /// The identity provider's `sub`, when linked.
    pub external_subject: Option<String>,
    /// The roles held now.
    pub roles: Vec<GrantView>,
    /// When the user was created.
    pub created_at: DateTime<Utc>,
    /// When the user last changed.
    pub updated_at: DateTime<Utc>,
}

#[derive(Clone, Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct UserQuery {
    pub limit: Option<u32>,
    pub cursor: Option<UserId>,
}

/// A stored user with their roles as held now.
pub struct Person {
    pub row: UserRow,
    pub grants: Vec<Grant>,
}

impl Person {
    pub fn load(conn: &mut DbConnection, id: &UserId) -> Result<Option<Person>, AppError> {
        let Some(row) = users::get(conn, id)? else {
            return Ok(None);
        };
        let grants = grants_from_rows(users::grants_of(conn, &row.id)?);
        Ok(Some(Person { row, grants }))
    }

    pub fn view(&self) -> UserView {
        UserView {
            id: self.row.id,
            username: self.row.username.clone(),
            display_name: self.row.display_name.clone(),
            status: self.row.status,
            external_subject: self.row.external_subject.clone(),
            roles: self
                .grants
                .iter()
                .map(|g| GrantView {
                    id: g.id,
                    role: g.role,
                    organisation_id: g.organisation_id,
                })
                .collect(),
            created_at: self.row.created_at.into(),
            updated_at: self.row.updated_at.into(),
        }
    }

    /// The person as `caller` may see them: only the roles inside the caller's
    /// reading scope, and the identity provider subject only for those who
    /// manage them.
    pub fn view_for(&self, caller: &Caller) -> UserView {
        let mut view = self.view();
        if self.row.id == caller.user_id || caller.everywhere(PEOPLE_READERS) {
            return view;
        }
        let shown: Vec<GrantId> = self
            .grants
            .iter()
            .filter(|g| caller.covers(PEOPLE_READERS, &g.path))
            .map(|g| g.id)
            .collect();
        view.roles.retain(|r| shown.contains(&r.id));
        if !self.managed_by(caller) {
            view.external_subject = None;
        }
        view
    }

    /// Where changes to this person are filed in the audit log.
    fn home(&self) -> Option<OrganisationId> {
        self.grants.first().map(|g| g.organisation_id)
    }

    /// Seen by the caller: themselves, or a role of theirs in the caller's
    /// reading scope.
    fn visible_to(&self, caller: &Caller) -> bool {
        self.row.id == caller.user_id
            || caller.everywhere(PEOPLE_READERS)
            || self
                .grants
                .iter()
                .any(|g| caller.covers(PEOPLE_READERS, &g.path))
    }

    /// Managed by the caller: every role of this person inside the caller's
    /// admin scope, so a district admin cannot touch a city admin.
    ///
    /// Below the root, another administrator is managed only from strictly
    /// above their node: two admins of one district cannot reset each other's
    /// password. The root's administrators manage everyone.
    fn managed_by(&self, caller: &Caller) -> bool {
        if caller.everywhere(&[Role::Admin]) {
            return true;
        }
        if self.row.id == caller.user_id {
            return self
                .grants
                .iter()
                .all(|g| caller.covers(&[Role::Admin], &g.path));
        }
        !self.grants.is_empty()
            && self.grants.iter().all(|g| {
                if g.role == Role::Admin {
                    caller.grants.iter().any(|c| {
                        c.role == Role::Admin && c.path != g.path && c.path.contains(&g.path)
                    })
                } else {
                    caller.covers(&[Role::Admin], &g.path)
                }
            })
    }
}

fn load_visible(conn: &mut DbConnection, caller: &Caller, id: &UserId) -> Result<Person, AppError> {
    Person::load(conn, id)?
        .filter(|p| p.visible_to(caller))
        .ok_or_else(|| AppError::not_found("user"))
}

fn load_managed(conn: &mut DbConnection, caller: &Caller, id: &UserId) -> Result<Person, AppError> {
    let person = load_visible(conn, caller, id)?;
    if !person.managed_by(caller) {
        return Err(AppError::forbidden(
            "this person holds roles outside your admin scope",
        ));
    }
    Ok(person)
}

/// The username in its comparable form, or `validation_failed` on `field`.
pub fn valid_username(field: &str, name: &str) -> Result<Username, AppError> {
    Username::parse(name).map_err(|e| AppError::invalid_field(field, e.to_string()))
}

fn valid_subject(subject: &str) -> Result<String, AppError> {
    if subject.is_empty() || subject.len() > 255 {
        return Err(AppError::invalid_field(
            "external_subject",
            "1 to 255 bytes",
        ));
    }
    Ok(subject.to_string())
}

/// Creates a login (for staff here, for volunteers from their registration).
pub fn insert_user(
    conn: &mut DbConnection,
    username: &Username,
    password_hash: String,
    display_name: &str,
    external_subject: Option<String>,
) -> Result<UserRow, AppError> {
    if users::find_by_username(conn, username.as_str())?.is_some() {
        return Err(AppError::new(ErrorCode::Conflict, "the username is taken"));
    }
    if let Some(subject) = &external_subject
        && users::find_by_external_subject(conn, subject)?.is_some()
    {
        return Err(AppError::new(
            ErrorCode::Conflict,
            "another user is linked to this external subject",
        ));
    }
    let now = Utc::now().into();
    let row = UserRow {
        id: UserId::generate(),
        username: username.as_str().to_string(),
        password_hash,
        display_name: display_name.to_string(),
        status: UserStatus::Active,
        external_subject,
        created_at: now,
        updated_at: now,
    };
    users::insert(conn, &row)?;
    Ok(row)
}

/// Grants one role; the organisation must suit the role.
pub fn insert_grant(
    conn: &mut DbConnection,
    user: &UserId,
    role: Role,
    organisation: &super::organisations::Node,
) -> Result<GrantId, AppError> {
    if role == Role::PartnerStaff && organisation.kind() != OrganisationKind::Partner {
        return Err(AppError::invalid_field(
            "organisation_id",
            "partner staff are bound to one partner organisation",
        ));
    }
    let already = users::grants_of(conn, user)?
        .iter()
        .any(|(g, _)| g.role == role && g.organisation_id == organisation.row.id);
    if already {
        return Err(AppError::new(
            ErrorCode::Conflict,
            "the user already holds this role there",
        ));
    }
    let id = GrantId::generate();
    users::grant(
        conn,
        &RoleGrantRow {
            id,
            user_id: *user,
            role,
            organisation_id: organisation.row.id,
            created_at: Utc::now().into(),
        },
    )?;
    Ok(id)
}

/// A password hash, or an unusable one for provider-only people.
fn password_hash_or_locked(password: Option<&str>) -> Result<String, AppError> {
    match password {
        Some(p) => passwords::hash(p),
        // Not a PHC string: no password ever verifies against it.
        None => Ok("!".to_string()),
    }
}

impl App {
    pub async fn create_user(
        &self,
        caller: &Caller,
        key: Option<&str>,
        request: CreateUserRequest,
    ) -> Result<Answer<UserView>, AppError> {
        caller.require_admin()?;
        let username = valid_username("username", &request.username)?;
        let display_name = valid_name(
            "display_name",
            request.display_name.as_deref().unwrap_or(&request.username),
        )?;
        let subject = request
            .external_subject
            .as_deref()
            .map(valid_subject)
            .transpose()?;
        if request.password.is_none() && subject.is_none() {
            return Err(AppError::invalid_field(
                "password",
                "give a password, or an external_subject for identity provider sign-in",
            ));
        }
        if request.roles.is_empty() {
            return Err(AppError::invalid_field("roles", "give at least one role"));
        }
        if request.roles.iter().any(|r| r.role == Role::Volunteer) {
            return Err(AppError::invalid_field(
                "roles",
                "volunteers are registered with POST /v1/volunteers",
            ));
        }
        // Hash before the transaction: it is slow on purpose.
        let hash = {
            let password = request.password.clone();
            tokio::task::spawn_blocking(move || password_hash_or_locked(password.as_deref()))
                .await
                .map_err(AppError::internal)??
        };
        let claim = key
            .map(|k| {
                Claim::new(
                    &self.record_keys,
                    caller.idempotency_scope(),
                    k,
                    "POST /v1/users",
                    &redacted(&request),
                )
            })
            .transpose()?;
        let caller = caller.clone();
        run_once(&self.store, &self.in_flight, claim, move |conn| {
            let row = insert_user(
                conn,
                &username,
                hash.clone(),
                &display_name,
                subject.clone(),
            )?;
            let id = row.id;
            for (i, role) in request.roles.iter().enumerate() {
                let field = format!("roles[{i}].organisation_id");
                let org = named(conn, &caller, &[Role::Admin], &field, &role.organisation_id)?;
                insert_grant(conn, &id, role.role, &org)?;
            }
            let person = Person::load(conn, &id)?.ok_or_else(|| AppError::not_found("user"))?;
            let view = person.view();
            audit::record(
                conn,
                Change {
                    actor: Some(caller.user_id),
                    action: "user.created",
                    entity_type: "user",
                    entity_id: id.to_string(),
                    organisation_id: person.home(),
                    before: None,
                    after: Some(snapshot(&view)?),
                },
            )?;
            Ok(view)
        })
        .await
    }

    pub async fn get_user(&self, caller: &Caller, id: UserId) -> Result<UserView, AppError> {
        let caller = caller.clone();
        self.store
            .run(move |conn| Ok(load_visible(conn, &caller, &id)?.view_for(&caller)))
            .await
    }

    pub async fn list_users(
        &self,
        caller: &Caller,
        query: UserQuery,
    ) -> Result<Page<UserView>, AppError> {
        caller.require_any(PEOPLE_READERS)?;
        let limit = Limit::parse(query.limit)?;
        let subtrees = caller.subtrees(PEOPLE_READERS);
        let caller = caller.clone();
        let views = self
            .store
            .run(move |conn| {
                let rows = users::page(conn, &subtrees, query.cursor, limit.probe())?;
                rows.into_iter()
                    .map(|row| {
                        let grants = grants_from_rows(users::grants_of(conn, &row.id)?);
                        Ok(Person { row, grants }.view_for(&caller))
                    })
                    .collect::<Result<Vec<_>, AppError>>()
            })
            .await?;
        Ok(limit.finish(views, |v| v.id.to_string()))
    }

    pub async fn update_user(
        &self,
        caller: &Caller,
        id: UserId,
        request: UpdateUserRequest,
    ) -> Result<UserView, AppError> {
        caller.require_admin()?;
        let display_name = request
            .display_name
            .as_deref()
            .map(|n| valid_name("display_name", n))
            .transpose()?;
        let subject = request
            .external_subject
            .as_deref()
            .map(valid_subject)
            .transpose()?;
        if id == caller.user_id && request.status == Some(UserStatus::Disabled) {
            return Err(AppError::invalid_field(
                "status",
                "you cannot disable yourself",
            ));
        }
        let hash = match request.password.clone() {
            Some(p) => Some(
                tokio::task::spawn_blocking(move || passwords::hash(&p))
                    .await
                    .map_err(AppError::internal)??,
            ),
            None => None,
        };
        let caller = caller.clone();
        self.store
            .run(move |conn| {
                write_transaction(conn, |conn| {
                    let person = load_managed(conn, &caller, &id)?;
                    let before = person.view();
                    if let Some(subject) = &subject
                        && users::find_by_external_subject(conn, subject)?
                            .is_some_and(|u| u.id != person.row.id)
                    {
                        return Err(AppError::new(
                            ErrorCode::Conflict,
                            "another user is linked to this external subject",
                        ));
                    }
                    let now = Utc::now();
                    users::update(
                        conn,
                        &person.row.id,
                        &UserChange {
                            display_name: display_name.as_deref(),
                            status: request.status,
                            password_hash: hash.as_deref(),
                            external_subject: subject.as_deref().map(Some),
                        },
                        now,
                    )?;
                    let ends_sessions =
                        request.status == Some(UserStatus::Disabled) || hash.is_some();
                    if ends_sessions {
                        let reason = if hash.is_some() {
                            "password reset"
                        } else {
                            "user disabled"
                        };
                        sessions::revoke_all_of(conn, &person.row.id, None, reason, now)?;
                    }
                    let action = match (before.status, request.status) {
                        (UserStatus::Active, Some(UserStatus::Disabled)) => "user.disabled",
                        (UserStatus::Disabled, Some(UserStatus::Active)) => "user.enabled",
                        _ if hash.is_some() => "user.password_reset",
                        _ => "user.updated",
                    };
                    audit_person(conn, &caller, action, &before, person.home())
                })
            })
            .await
    }

    pub async fn grant_role(
        &self,
        caller: &Caller,
        key: Option<&str>,
        id: UserId,
        request: RoleRequest,
    ) -> Result<Answer<RoleGranted>, AppError> {
        caller.require_admin()?;
        if request.role == Role::Volunteer {
            return Err(AppError::invalid_field(
                "role",
                "volunteers are registered with POST /v1/volunteers",
            ));
        }
        let operation = format!("POST /v1/users/{id}/roles");
        let claim = key
            .map(|k| {
                Claim::new(
                    &self.record_keys,
                    caller.idempotency_scope(),
                    k,
                    &operation,
                    &request,
                )
            })
            .transpose()?;
        let caller = caller.clone();
        run_once(&self.store, &self.in_flight, claim, move |conn| {
            let person = load_managed(conn, &caller, &id)?;
            let before = person.view();
            let org = named(
                conn,
                &caller,
                &[Role::Admin],
                "organisation_id",
                &request.organisation_id,
            )?;
            let grant = insert_grant(conn, &id, request.role, &org)?;
            let user = audit_person(conn, &caller, "role.granted", &before, Some(org.id()))?;
            Ok(RoleGranted {
                grant: Some(grant),
                user,
            })
        })
        .await
    }

    pub async fn revoke_role(
        &self,
        caller: &Caller,
        id: UserId,
        grant: GrantId,
    ) -> Result<UserView, AppError> {
        caller.require_admin()?;
        let caller = caller.clone();
        self.store
            .run(move |conn| {
                write_transaction(conn, |conn| {
                    let person = load_managed(conn, &caller, &id)?;
                    let held = person
                        .grants
                        .iter()
                        .find(|g| g.id == grant)
                        .ok_or_else(|| AppError::not_found("role"))?;
                    if !caller.covers(&[Role::Admin], &held.path) {
                        return Err(AppError::not_found("role"));
                    }
                    if id == caller.user_id && held.role == Role::Admin {
                        return Err(AppError::invalid_field(
                            "role",
                            "you cannot take away your own admin role",
                        ));
                    }
                    let before = person.view();
                    users::revoke(conn, &grant)?;
                    audit_person(
                        conn,
                        &caller,
                        "role.revoked",
                        &before,
                        Some(held.organisation_id),
                    )
                })
            })
            .await
    }

    /// What a person changes about themselves.
    pub async fn update_self(
        &self,
        caller: &Caller,
        request: &UpdateSelfRequest,
    ) -> Result<(), AppError> {
        if let Some(name) = &request.display_name {
            let name = valid_name("display_name", name)?;
            let caller = caller.clone();
            self.store
                .run(move |conn| {
                    write_transaction(conn, |conn| {
                        let id = caller.user_id;
                        let before = Person::load(conn, &id)?
                            .ok_or_else(|| AppError::not_found("user"))?
                            .view();
                        users::update(
                            conn,
                            &id,
                            &UserChange {
                                display_name: Some(&name),
                                ..UserChange::default()
                            },
                            Utc::now(),
                        )?;
                        audit_person(conn, &caller, "user.updated", &before, None).map(|_| ())
                    })
                })
                .await?;
        }
        if let Some(consent) = request.leaderboard_consent {
            self.set_own_leaderboard_consent(caller, consent).await?;
        }
        Ok(())
    }

    /// A person changes their own password; every other session ends.
    pub async fn change_own_password(
        &self,
        caller: &Caller,
        request: ChangePasswordRequest,
    ) -> Result<(), AppError> {
        let id = caller.user_id;
        let row = self
            .store
            .run(move |conn| users::get(conn, &id))
            .await?
            .ok_or_else(|| AppError::not_found("user"))?;
        let ChangePasswordRequest {
            current_password,
            new_password,
        } = request;
        let old_hash = row.password_hash.clone();
        let hash = tokio::task::spawn_blocking(move || {
            if !passwords::verify(&current_password, &row.password_hash) {
                return Err(AppError::forbidden("the current password is wrong"));
            }
            passwords::hash(&new_password).map_err(|e| AppError {
                errors: vec![crate::error::FieldError {
                    field: "new_password".into(),
                    message: e.detail.clone(),
                }],
                ..e
            })
        })
        .await
        .map_err(AppError::internal)??;
        let session = caller.session_id;
        let actor = caller.user_id;
        let home = caller.grants.first().map(|g| g.organisation_id);
        self.store
            .run(move |conn| {
                write_transaction(conn, |conn| {
                    let now = Utc::now();
                    if !users::replace_password(conn, &id, &old_hash, &hash, now)? {
                        return Err(AppError::new(
                            ErrorCode::Conflict,
                            "the password was changed meanwhile; log in again",
                        ));
                    }
                    // Keep the session this request came from; end the others.
                    sessions::revoke_all_of(conn, &id, session.as_ref(), "password changed", now)?;
                    audit::record(
                        conn,
                        Change {
                            actor: Some(actor),
                            action: "user.password_changed",
                            entity_type: "user",
                            entity_id: id.to_string(),
                            organisation_id: home,
                            before: None,
                            after: None,
                        },
                    )
                })
            })
            .await
    }
}

/// Files a change of a person in the audit log; returns them as they are now.
fn audit_person(
    conn: &mut DbConnection,
    caller: &Caller,
    action: &str,
    before: &UserView,
    organisation: Option<OrganisationId>,
) -> Result<UserView, AppError> {
    let after = Person::load(conn, &before.id)?
        .ok_or_else(|| AppError::not_found("user"))?
        .view();
    audit::record(
        conn,
        Change {
            actor: Some(caller.user_id),
            action,
            entity_type: "user",
            entity_id: before.id.to_string(),
            organisation_id: organisation
                .or_else(|| before.roles.first().map(|r| r.organisation_id)),
            before: Some(snapshot(before)?),
            after: Some(snapshot(&after)?),
        },
    )?;
    Ok(after)
}

/// The request as fingerprinted for idempotency: without the password.
fn redacted(request: &CreateUserRequest) -> CreateUserRequest {
    CreateUserRequest {
        password: request.password.as_ref().map(|_| Password::redacted()),
        ..request.clone()
    }
}
