//! Migrations for each backend, embedded in the binary.

use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

use super::DbConnection;
use crate::error::AppError;

const POSTGRES: EmbeddedMigrations = embed_migrations!("migrations/postgres");
const SQLITE: EmbeddedMigrations = embed_migrations!("migrations/sqlite");

/// Applies what is pending; returns the versions applied.
pub fn run_pending(conn: &mut DbConnection) -> Result<Vec<String>, AppError> {
    let applied = match conn {
        DbConnection::Postgresql(c) => c.run_pending_migrations(POSTGRES),
        DbConnection::Sqlite(c) => c.run_pending_migrations(SQLITE),
    }
    .map_err(|e| AppError::internal(format!("migration failed: {e}")))?;
    Ok(applied.iter().map(ToString::to_string).collect())
}

/// True when the schema is up to date (readiness).
pub fn is_current(conn: &mut DbConnection) -> Result<bool, AppError> {
    let pending = match conn {
        DbConnection::Postgresql(c) => c.has_pending_migration(POSTGRES),
        DbConnection::Sqlite(c) => c.has_pending_migration(SQLITE),
    }
    .map_err(|e| AppError::internal(format!("cannot read migrations: {e}")))?;
    Ok(!pending)
}
