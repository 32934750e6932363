//! Housekeeping that runs beside the service: releasing holds whose time ran
//! out, and forgetting idempotency keys past their retention.

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::App;
use super::transfer_act::TransferAct;
use crate::error::AppError;
use crate::ledger::command::Provenance;
use crate::ledger::{Command, Resolution};
use crate::store::{idempotency, journal};

/// The actor recorded on transfers the service makes by itself.
pub const SYSTEM_ACTOR: &str = "system";
const SWEEP_EVERY: Duration = Duration::from_secs(1);
const PURGE_EVERY_SWEEPS: u64 = 600;
const CHECKPOINT_EVERY: Duration = Duration::from_millis(100);
/// How often a checkpoint also catches up with the writer paused, so the WAL
/// can start over. Each such pass stalls transfers for one fsync, so it runs
/// once a second, not on every tick.
const CATCH_UP_EVERY_TICKS: u32 = 10;

/// How far back every sweep looks again, past holds it already released: a
/// hold is committed a little after its request set its timeout, so one that
/// expired just before a sweep may only become visible after it.
const SWEEP_OVERLAP: chrono::Duration = chrono::Duration::minutes(10);
const HOLDS_PER_SWEEP: usize = 500;

/// What the hold sweeper has finished with: every hold that expired at or
/// before `released_through` was released (or settled by someone else).
#[derive(Debug, Default)]
pub struct HoldSweep {
    released_through: Option<DateTime<Utc>>,
}

impl App {
    /// Voids expired holds; returns how many were released. The first sweep of
    /// a process reads every expired hold; later ones only the recent ones.
    pub async fn release_expired_holds(&self, sweep: &mut HoldSweep) -> Result<usize, AppError> {
        let now = Utc::now();
        let after = sweep.released_through.map(|t| t - SWEEP_OVERLAP);
        let expired = self
            .store
            .run(move |conn| journal::expired_holds(conn, after, now, HOLDS_PER_SWEEP))
            .await?;
        let complete = expired.len() < HOLDS_PER_SWEEP;
        let mut released = 0;
        for pending_id in expired {
            let command = Command::Resolve {
                pending_id,
                resolution: Resolution::Void,
                provenance: Provenance {
                    actor_id: SYSTEM_ACTOR.into(),
                    description: Some("hold expired".into()),
                    ..Provenance::default()
                },
            };
            // Another instance may have released it first; that refusal is fine.
            let answer = self.writer.submit(TransferAct(command), None).await?;
            if answer.done_now().is_some() {
                released += 1;
            }
        }
        if complete {
            sweep.released_through = Some(now);
        }
        Ok(released)
    }

    /// Keeps the SQLite WAL short, since the writer leaves checkpoints to this
    /// task. Runs until the process stops.
    pub async fn run_checkpoints(self) {
        if self.store.backend() != crate::store::Backend::Sqlite {
            return;
        }
        let mut ticks = 0u32;
        let db_file = self.store.url().target().to_string();
        loop {
            tokio::time::sleep(CHECKPOINT_EVERY).await;
            ticks = ticks.wrapping_add(1);
            let catch_up = ticks.is_multiple_of(CATCH_UP_EVERY_TICKS);
            let db_file = db_file.clone();
            let checkpoint = move |conn: &mut crate::store::DbConnection| {
                crate::store::Store::checkpoint(conn, catch_up, &db_file)
            };
            if let Err(e) = self.store.run(checkpoint).await {
                tracing::warn!(error = %e, "WAL checkpoint failed");
            }
        }
    }

    /// Runs until the process stops.
    pub async fn run_maintenance(self) {
        let mut sweeps = 0u64;
        let mut holds = HoldSweep::default();
        loop {
            tokio::time::sleep(SWEEP_EVERY).await;
            sweeps += 1;
            if let Err(e) = self.release_expired_holds(&mut holds).await {
                tracing::warn!(error = %e, "releasing expired holds failed");
            }
            if sweeps.is_multiple_of(PURGE_EVERY_SWEEPS) {
                match self
                    .store
                    .run(|conn| idempotency::purge_expired(conn, Utc::now()))
                    .await
                {
                    Ok(n) if n > 0 => tracing::info!(purged = n, "idempotency keys expired"),
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "purging idempotency keys failed"),
                }
                let window =
                    chrono::Duration::seconds(self.login_limits.longest_window().as_secs() as i64);
                let purged = self
                    .store
                    .run(move |conn| {
                        let now = Utc::now();
                        crate::store::write_transaction(conn, |conn| {
                            let tokens = crate::store::sessions::purge_expired(conn, now)?;
                            let windows =
                                crate::store::login_throttle::purge_before(conn, now - window)?;
                            Ok(tokens + windows)
                        })
                    })
                    .await;
                if let Err(e) = purged {
                    tracing::warn!(error = %e, "purging expired refresh tokens failed");
                }
            }
        }
    }
}
