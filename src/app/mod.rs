//! Use cases: what a coordinator, a partner shop, an auditor or an administrator
//! can do, each checked against the caller and carried out through the ledger
//! engine and the store. Knows nothing of HTTP.

pub mod access;
pub mod accounts;
pub mod act;
pub mod activities;
pub mod answer;
pub mod audit;
pub mod bootstrap;
pub mod caller;
pub mod check_in_act;
pub mod check_ins;
pub mod earning_rules;
pub mod idempotency;
pub mod identity;
pub mod leaderboards;
pub mod ledgers;
pub mod login;
pub mod login_throttle;
pub mod maintenance;
pub mod names;
pub mod organisations;
pub mod page;
pub mod passwords;
pub mod record_keys;
pub mod service_act;
pub mod service_approval;
pub mod service_records;
pub mod service_reversal;
pub mod service_tallies;
pub mod standing_reads;
pub mod tokens;
pub mod transfer_act;
pub mod transfer_view;
pub mod transfers;
pub mod users;
pub mod verification;
pub mod volunteer_summary;
pub mod volunteers;
pub mod writer;
pub mod writer_state;

use std::sync::Arc;

use base64::Engine as _;

use crate::config::{Config, LoginLimits, MIN_SECRET_BYTES, Secret};
use crate::error::AppError;
use crate::store::{Store, migrations, settings, write_transaction};
use idempotency::InFlight;
use tokens::TokenService;
use writer::{Writer, WriterThread};

/// Everything a request needs, shared by every worker.
#[derive(Clone)]
pub struct App {
    pub store: Store,
    pub writer: Writer,
    pub tokens: Arc<TokenService>,
    pub in_flight: Arc<InFlight>,
    /// Key of the keyed hashes of phone numbers.
    pub pepper: Arc<Vec<u8>>,
    /// Keys of the idempotency records' fingerprints and sealed answers.
    pub record_keys: Arc<record_keys::RecordKeys>,
    pub password_login: bool,
    pub login_limits: LoginLimits,
    pub refresh_token_ttl: std::time::Duration,
    pub standing_reads: standing_reads::StandingReads,
    /// The scheme's time zone, for "a day" of service.
    pub service_zone: chrono::FixedOffset,
    /// Hours of service for each star level.
    pub star_hours: Arc<Vec<u32>>,
    /// Which service records wait for a second person.
    pub approval: crate::domain::ApprovalPolicy,
}

const GENERATED_SECRET_KEY: &str = "jwt_hs256_secret";
const GENERATED_PEPPER_KEY: &str = "phone_pepper";

impl App {
    /// Opens the database, migrates it, settles the signing secret and starts the
    /// transfer writer. The returned thread handle is joined at shutdown.
    pub fn start(config: &Config) -> Result<(Self, WriterThread), AppError> {
        let store = Store::open(&config.database_url, config.pool_size)?;
        let applied = store.run_blocking(migrations::run_pending)?;
        if !applied.is_empty() {
            tracing::info!(migrations = ?applied, "database migrated");
        }
        let secret = settled_secret(
            &store,
            config.jwt_secret.as_ref(),
            GENERATED_SECRET_KEY,
            "TIMEBANK_JWT_SECRET",
            "signing secret",
        )?;
        let pepper = settled_secret(
            &store,
            config.pepper.as_ref(),
            GENERATED_PEPPER_KEY,
            "TIMEBANK_PEPPER",
            "phone-number hashing key (a database dump then holds the key beside the hashes)",
        )?;
        let mut tokens = TokenService::new(
            &secret,
            &config.jwt_issuer,
            &config.jwt_audience,
            config.access_token_ttl,
        );
        if let Some(idp) = &config.identity_provider {
            let jwks = std::fs::read_to_string(&idp.jwks_file).map_err(|e| {
                AppError::internal(format!("cannot read {}: {e}", idp.jwks_file.display()))
            })?;
            tokens = tokens
                .with_identity_provider(idp, &jwks)
                .map_err(AppError::internal)?;
            tracing::info!(issuer = %idp.issuer, "accepting identity provider tokens");
        }
        if !config.password_login {
            tokens = tokens.without_local_tokens();
        }
        let zone = config.service_zone;
        let rebuilt = store.run_blocking(move |conn| {
            write_transaction(conn, |conn| service_tallies::rebuild_if_stale(conn, zone))
        })?;
        if rebuilt {
            tracing::info!(%zone, "leaderboard tallies summed from the service records");
        }
        let (writer, thread) = Writer::start(store.clone(), config.max_batch, config.commit_delay)?;
        Ok((
            Self {
                store,
                writer,
                tokens: Arc::new(tokens),
                in_flight: Arc::new(InFlight::default()),
                record_keys: Arc::new(record_keys::RecordKeys::derive(&pepper)?),
                pepper: Arc::new(pepper),
                password_login: config.password_login,
                login_limits: config.login_limits,
                refresh_token_ttl: config.refresh_token_ttl,
                standing_reads: Default::default(),
                service_zone: config.service_zone,
                star_hours: Arc::new(config.star_hours.clone()),
                approval: config.approval,
            },
            thread,
        ))
    }

    /// Database reachable and schema current.
    pub async fn ready(&self) -> Result<(), AppError> {
        let current = self.store.run(migrations::is_current).await?;
        if current {
            Ok(())
        } else {
            Err(AppError::new(
                crate::error::ErrorCode::ServiceUnavailable,
                "migrations pending",
            ))
        }
    }
}

/// The configured secret, or one generated on first start and kept in the
/// database so every instance and every restart shares it.
fn settled_secret(
    store: &Store,
    configured: Option<&Secret>,
    setting: &'static str,
    variable: &str,
    what: &str,
) -> Result<Vec<u8>, AppError> {
    if let Some(secret) = configured {
        return Ok(secret.expose().as_bytes().to_vec());
    }
    let mut fresh = [0u8; 48];
    rand::fill(&mut fresh);
    let candidate = base64::engine::general_purpose::STANDARD.encode(fresh);
    let stored = store.run_blocking(move |conn| {
        write_transaction(conn, |conn| {
            let stored = settings::get_or_insert(conn, setting, &candidate)?;
            if stored == candidate {
                audit::record(
                    conn,
                    audit::Change {
                        actor: None,
                        action: "configuration.generated",
                        entity_type: "setting",
                        entity_id: setting.to_string(),
                        organisation_id: None,
                        before: None,
                        after: Some(serde_json::json!({ "setting": setting })),
                    },
                )?;
            }
            Ok(stored)
        })
    })?;
    tracing::warn!("{variable} is not set: using a generated {what}, stored in the database");
    if stored.len() < MIN_SECRET_BYTES {
        return Err(AppError::internal(format!(
            "the stored {setting} is too short"
        )));
    }
    Ok(stored.into_bytes())
}
