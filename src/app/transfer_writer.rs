//! Group commit. Every command that writes the journal goes through one writer
//! thread per process, which gathers whatever requests are waiting into one
//! transaction: lock the ledgers touched (sorted), load their heads and accounts,
//! let the engine validate and apply each command on its own, then insert the
//! journal rows, save the totals and the idempotency records, and commit once.
//! A hot account is read and written once per batch, not once per transfer.

use std::collections::{BTreeSet, HashMap};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use chrono::Utc;
use tokio::sync::oneshot;

use super::idempotency::{self, Claim, StoredResponse};
use super::transfer_view::TransferView;
use super::writer_state::{Carried, WriterState};
use crate::domain::{AccountId, LedgerId, TransferId};
use crate::error::{AppError, ErrorCode};
use crate::ledger::{Command, Engine, JournalEntry, LedgerError};
use crate::store::journal::Aftermath;
use crate::store::{DbConnection, Store, accounts, journal, ledgers, write_transaction};

struct Job {
    command: Command,
    claim: Option<Claim>,
    reply: oneshot::Sender<Result<Answer, AppError>>,
}

/// What the writer hands back. A created transfer travels as the journal entry
/// and is rendered on the request's own thread, off the one serial writer.
#[derive(Clone)]
enum Answer {
    Stored(StoredResponse),
    Created(Box<JournalEntry>, u32),
}

impl Answer {
    fn into_response(self) -> Result<StoredResponse, AppError> {
        match self {
            Answer::Stored(response) => Ok(response),
            Answer::Created(entry, scale) => {
                let view = TransferView::new(&entry, scale, &Aftermath::default());
                StoredResponse::created(view.location(), &view)
            }
        }
    }
}

/// The sending side; cheap to clone into every request handler.
#[derive(Clone)]
pub struct TransferWriter {
    jobs: mpsc::Sender<Job>,
}

/// Owned by whoever started the writer; joining it waits for the last batch.
pub struct WriterThread(JoinHandle<()>);

impl WriterThread {
    /// Waits until every sender is gone and the last batch has committed.
    pub fn join(self) {
        if self.0.join().is_err() {
            tracing::error!("transfer writer panicked");
        }
    }
}

impl TransferWriter {
    /// `commit_delay` is how long the writer may wait after the first request
    /// of a batch for others to join it (like PostgreSQL's `commit_delay`); zero
    /// takes only what is already queued.
    pub fn start(
        store: Store,
        max_batch: usize,
        commit_delay: Duration,
    ) -> Result<(Self, WriterThread), AppError> {
        let conn = store.writer_connection()?;
        let (jobs, queue) = mpsc::channel::<Job>();
        let handle = std::thread::Builder::new()
            .name("transfer-writer".into())
            .spawn(move || {
                let mut worker = Worker {
                    store,
                    conn: Some(conn),
                    account_ledgers: HashMap::new(),
                    state: WriterState::default(),
                };
                while let Ok(first) = queue.recv() {
                    let mut batch = vec![first];
                    let deadline = Instant::now() + commit_delay;
                    while batch.len() < max_batch {
                        let next = match deadline.checked_duration_since(Instant::now()) {
                            Some(left) if !left.is_zero() => queue.recv_timeout(left).ok(),
                            _ => queue.try_recv().ok(),
                        };
                        match next {
                            Some(job) => batch.push(job),
                            None => break,
                        }
                    }
                    worker.process(batch);
                }
                tracing::info!("transfer writer stopped");
            })
            .map_err(AppError::internal)?;
        Ok((Self { jobs }, WriterThread(handle)))
    }

    /// Queues a command and waits for its answer (its own, or the stored one).
    pub async fn submit(
        &self,
        command: Command,
        claim: Option<Claim>,
    ) -> Result<StoredResponse, AppError> {
        let (reply, answer) = oneshot::channel();
        self.jobs
            .send(Job {
                command,
                claim,
                reply,
            })
            .map_err(|_| AppError::new(ErrorCode::ServiceUnavailable, "shutting down"))?;
        answer
            .await
            .map_err(|_| AppError::internal("transfer writer dropped a request"))??
            .into_response()
    }
}

struct Worker {
    store: Store,
    conn: Option<DbConnection>,
    /// Accounts never change ledger, so this map never goes stale.
    account_ledgers: HashMap<AccountId, LedgerId>,
    state: WriterState,
}

const ACCOUNT_CACHE_LIMIT: usize = 1_000_000;

impl Worker {
    fn process(&mut self, batch: Vec<Job>) {
        let started = Instant::now();
        let mut result = self.attempt(&batch);
        // A unique violation means another process committed a key or settled a
        // hold that this batch also names; the second attempt sees it and answers
        // from it.
        if matches!(&result, Err(e) if e.code == ErrorCode::Conflict) {
            result = self.attempt(&batch);
        }
        tracing::debug!(
            size = batch.len(),
            micros = started.elapsed().as_micros() as u64,
            ok = result.is_ok(),
            "batch committed"
        );
        match result {
            Ok(answers) => {
                for (job, answer) in batch.into_iter().zip(answers) {
                    let _ = job.reply.send(answer);
                }
            }
            Err(e) => {
                if e.code != ErrorCode::Conflict {
                    // The connection may be broken; make a new one for the next batch.
                    self.conn = None;
                }
                for job in batch {
                    let _ = job.reply.send(Err(e.clone()));
                }
            }
        }
    }

    fn attempt(&mut self, batch: &[Job]) -> Result<Vec<Result<Answer, AppError>>, AppError> {
        if self.conn.is_none() {
            self.conn = Some(self.store.writer_connection()?);
        }
        let Some(conn) = self.conn.as_mut() else {
            return Err(AppError::internal("no writer connection"));
        };
        let cache = &mut self.account_ledgers;
        let state = &mut self.state;
        match write_transaction(conn, |conn| commit_batch(conn, cache, state, batch)) {
            Ok((answers, carried)) => {
                self.state.keep(carried);
                Ok(answers)
            }
            Err(e) => {
                self.state.forget();
                Err(e)
            }
        }
    }
}

type Answers = Vec<Result<Answer, AppError>>;

fn commit_batch(
    conn: &mut DbConnection,
    account_ledgers: &mut HashMap<AccountId, LedgerId>,
    state: &mut WriterState,
    batch: &[Job],
) -> Result<(Answers, Carried), AppError> {
    let now = Utc::now();
    let mut answers: Vec<Option<Result<Answer, AppError>>> = vec![None; batch.len()];

    // Keys already answered: replay or refuse without running anything.
    let pairs: Vec<(String, String)> = batch
        .iter()
        .filter_map(|j| j.claim.as_ref().map(|c| (c.scope.clone(), c.key.clone())))
        .collect();
    let known = crate::store::idempotency::find_many(conn, &pairs)?;
    for (answer, job) in answers.iter_mut().zip(batch) {
        if let Some(claim) = &job.claim
            && let Some(row) = known.get(&(claim.scope.clone(), claim.key.clone()))
        {
            let replayed = idempotency::replay(row, claim).and_then(|mut r| {
                if let Some(id) = idempotency::created_transfer(row)? {
                    r.body = TransferView::first_answer(conn, id)?;
                }
                Ok(r)
            });
            *answer = Some(replayed.map(Answer::Stored));
        }
    }
    let to_run: Vec<usize> = (0..batch.len()).filter(|&i| answers[i].is_none()).collect();

    // Which ledgers the batch touches.
    let mut account_ids: Vec<AccountId> = to_run
        .iter()
        .flat_map(|&i| batch[i].command.account_ids())
        .collect();
    account_ids.sort_unstable();
    account_ids.dedup();
    let unknown: Vec<AccountId> = account_ids
        .iter()
        .filter(|a| !account_ledgers.contains_key(a))
        .copied()
        .collect();
    if !unknown.is_empty() {
        if account_ledgers.len() > ACCOUNT_CACHE_LIMIT {
            account_ledgers.clear();
        }
        account_ledgers.extend(accounts::ledgers_of(conn, &unknown)?);
    }
    let referenced: Vec<TransferId> = to_run
        .iter()
        .filter_map(|&i| batch[i].command.referenced_transfer())
        .collect();
    let mut ledger_ids: BTreeSet<LedgerId> = account_ids
        .iter()
        .filter_map(|a| account_ledgers.get(a).copied())
        .collect();
    ledger_ids.extend(journal::ledgers_of_transfers(conn, &referenced)?);
    for i in &to_run {
        if let Command::Create(t) = &batch[*i].command {
            ledger_ids.extend(t.ledger_id);
        }
    }

    // Lock, then read the state the engine works on: only what the writer's
    // copy from earlier batches lacks (on PostgreSQL, everything).
    let Carried {
        data_version,
        mut heads,
        accounts: mut states,
    } = state.take(crate::store::data_version(conn)?);
    let mut locked = Vec::new();
    for ledger in ledger_ids.iter().filter(|l| !heads.contains_key(l)) {
        if ledgers::lock(conn, ledger)? {
            locked.push(*ledger);
        }
    }
    heads.extend(ledgers::heads(conn, &locked)?);
    let existing = journal::existing(conn, &referenced)?;
    account_ids.extend(existing.values().flat_map(|t| t.legs.iter().map(|l| l.0)));
    account_ids.retain(|a| !states.contains_key(a));
    account_ids.sort_unstable();
    account_ids.dedup();
    states.extend(accounts::states(conn, &account_ids)?);
    let mut engine = Engine::new(heads, states, existing, now);

    let mut entries = Vec::new();
    let mut records = Vec::new();
    for i in to_run {
        let job = &batch[i];
        // Ids are made here, in commit order, rather than when the request
        // arrived: listings page through transfers by id, and a page must not
        // be followed by a transfer with a smaller id.
        let answer = match engine.apply(TransferId::generate(), &job.command) {
            Ok(entry) => {
                let scale = engine
                    .ledger(&entry.transfer.ledger_id)
                    .map_or(0, |h| h.asset_scale);
                if let Some(claim) = &job.claim {
                    records.push(idempotency::record_created(claim, &entry.transfer, now));
                }
                entries.push(entry.clone());
                Answer::Created(Box::new(entry), scale)
            }
            Err(e) => {
                let error = match e {
                    LedgerError::TransferNotFound(id) => {
                        AppError::not_found(&format!("transfer {id}"))
                    }
                    other => AppError::from(other),
                };
                let response = StoredResponse::refusal(&error);
                if let Some(claim) = &job.claim {
                    records.push(idempotency::record(claim, &response, now));
                }
                Answer::Stored(response)
            }
        };
        answers[i] = Some(Ok(answer));
    }

    journal::insert_entries(conn, &entries)?;
    accounts::save_totals(conn, engine.touched_accounts())?;
    if !entries.is_empty() {
        for head in ledger_ids.iter().filter_map(|l| engine.ledger(l)) {
            ledgers::save_head(conn, head)?;
        }
    }
    crate::store::idempotency::insert_many(conn, &records)?;
    let answers = answers
        .into_iter()
        .map(|a| a.unwrap_or_else(|| Err(AppError::internal("unanswered job"))))
        .collect();
    let (heads, accounts) = engine.into_parts();
    Ok((
        answers,
        Carried {
            data_version,
            heads,
            accounts,
        },
    ))
}
