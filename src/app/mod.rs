//! Use cases: what a coordinator, a partner shop, an auditor or an administrator
//! can do, each checked against the caller and carried out through the ledger
//! engine and the store. Knows nothing of HTTP.

pub mod accounts;
pub mod bootstrap;
pub mod caller;
pub mod idempotency;
pub mod ledgers;
pub mod login;
pub mod maintenance;
pub mod page;
pub mod passwords;
pub mod tokens;
pub mod transfer_view;
pub mod transfer_writer;
pub mod transfers;
pub mod verification;

use std::sync::Arc;

use base64::Engine as _;

use crate::config::{Config, MIN_SECRET_BYTES};
use crate::error::AppError;
use crate::store::{Store, migrations, settings};
use idempotency::InFlight;
use tokens::TokenService;
use transfer_writer::{TransferWriter, WriterThread};

/// Everything a request needs, shared by every worker.
#[derive(Clone)]
pub struct App {
    pub store: Store,
    pub writer: TransferWriter,
    pub tokens: Arc<TokenService>,
    pub in_flight: Arc<InFlight>,
}

const GENERATED_SECRET_KEY: &str = "jwt_hs256_secret";

impl App {
    /// Opens the database, migrates it, settles the signing secret and starts the
    /// transfer writer. The returned thread handle is joined at shutdown.
    pub fn start(config: &Config) -> Result<(Self, WriterThread), AppError> {
        let store = Store::open(&config.database_url, config.pool_size)?;
        let applied = store.run_blocking(migrations::run_pending)?;
        if !applied.is_empty() {
            tracing::info!(migrations = ?applied, "database migrated");
        }
        let secret = signing_secret(&store, config)?;
        let tokens = TokenService::new(
            &secret,
            &config.jwt_issuer,
            &config.jwt_audience,
            config.access_token_ttl,
        );
        let (writer, thread) =
            TransferWriter::start(store.clone(), config.max_batch, config.commit_delay)?;
        Ok((
            Self {
                store,
                writer,
                tokens: Arc::new(tokens),
                in_flight: Arc::new(InFlight::default()),
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
/// database so tokens survive restarts and every instance shares it.
fn signing_secret(store: &Store, config: &Config) -> Result<Vec<u8>, AppError> {
    if let Some(secret) = &config.jwt_secret {
        return Ok(secret.expose().as_bytes().to_vec());
    }
    let mut fresh = [0u8; 48];
    rand::fill(&mut fresh);
    let candidate = base64::engine::general_purpose::STANDARD.encode(fresh);
    let stored = store
        .run_blocking(|conn| settings::get_or_insert(conn, GENERATED_SECRET_KEY, &candidate))?;
    if stored == candidate {
        tracing::warn!(
            "TIMEBANK_JWT_SECRET is not set: generated a signing secret and stored it in the database"
        );
    } else {
        tracing::info!(
            "TIMEBANK_JWT_SECRET is not set: using the signing secret stored in the database"
        );
    }
    if stored.len() < MIN_SECRET_BYTES {
        return Err(AppError::internal("the stored signing secret is too short"));
    }
    Ok(stored.into_bytes())
}
