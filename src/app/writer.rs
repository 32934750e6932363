//! Group commit of acts. Every act that writes the journal (and the business
//! rows that go with it) goes through one writer thread per process, which
//! gathers whatever acts are waiting into one transaction: lock the ledgers
//! touched (sorted), load their heads and accounts, run each act on its own
//! against the batch's state, then insert the journal rows, save the totals, the
//! acts' own rows and the idempotency records, and commit once. A hot account is
//! read and written once per batch, not once per act.
//!
//! Fault isolation: when the database refuses a batch (a constraint, an encoding
//! error, a trigger), nothing of it was committed; the writer then commits each
//! half on its own, down to the act that fails alone, which alone gets a refusal.
//! A batch that commits costs nothing extra.

use std::collections::{BTreeSet, HashMap};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use chrono::Utc;
use tokio::sync::oneshot;

use super::act::{Act, ActContext, DeferredWrite, Memo, Needs};
use super::answer::Answer;
use super::idempotency::{self, Claim};
use super::writer_state::{Carried, WriterState};
use crate::domain::{AccountId, LedgerId, TransferId};
use crate::error::{AppError, ErrorCode};
use crate::ledger::{Engine, JournalEntry};
use crate::store::rows::IdempotencyRow;
use crate::store::{DbConnection, Store, accounts, journal, ledgers, write_transaction};

/// One act waiting in the queue, with its key and where its answer goes; the
/// writer sees every kind of act through this.
trait Job: Send {
    fn claim(&self) -> Option<&Claim>;
    fn needs(&self) -> Needs;
    fn announce(&self, memo: &mut Memo);
    /// Answers from the record kept under the job's key.
    fn replay(&mut self, conn: &mut DbConnection, row: &IdempotencyRow);
    /// Runs the act: `Ok(true)` if accepted, `Ok(false)` if refused (its
    /// refusal is its answer), `Err` if the batch cannot go on. Any record to
    /// keep under the key is pushed to `records`.
    fn run(
        &mut self,
        cx: &mut ActContext<'_>,
        records: &mut Vec<IdempotencyRow>,
    ) -> Result<bool, AppError>;
    fn fail(&mut self, error: AppError);
    /// Forgets the answer of an attempt that did not commit.
    fn reset(&mut self);
    fn send(self: Box<Self>);
}

type Reply<O> = Result<Answer<O>, AppError>;

struct Queued<A: Act> {
    act: A,
    claim: Option<Claim>,
    answer: Option<Reply<A::Outcome>>,
    reply: oneshot::Sender<Reply<A::Outcome>>,
}

impl<A: Act> Job for Queued<A> {
    fn claim(&self) -> Option<&Claim> {
        self.claim.as_ref()
    }

    fn needs(&self) -> Needs {
        self.act.needs()
    }

    fn announce(&self, memo: &mut Memo) {
        self.act.announce(memo);
    }

    fn replay(&mut self, conn: &mut DbConnection, row: &IdempotencyRow) {
        let replayed = match &self.claim {
            Some(claim) => A::replay(conn, row, claim),
            None => Err(AppError::internal("replay without a key")),
        };
        self.answer = Some(replayed);
    }

    fn run(
        &mut self,
        cx: &mut ActContext<'_>,
        records: &mut Vec<IdempotencyRow>,
    ) -> Result<bool, AppError> {
        let now = cx.now();
        match self.act.run(cx) {
            Ok(outcome) => {
                if let Some(claim) = &self.claim {
                    records.push(A::record(claim, &outcome, now)?);
                }
                self.answer = Some(Ok(Answer::fresh(Ok(outcome))));
                Ok(true)
            }
            Err(refusal) if refusal.code.status() < 500 => {
                if let Some(claim) = &self.claim {
                    records.push(idempotency::record_refusal(claim, &refusal, now)?);
                }
                self.answer = Some(Ok(Answer::fresh(Err(refusal))));
                Ok(false)
            }
            Err(failure) => Err(failure),
        }
    }

    fn fail(&mut self, error: AppError) {
        self.answer = Some(Err(error));
    }

    fn reset(&mut self) {
        self.answer = None;
    }

    fn send(self: Box<Self>) {
        let answer = self
            .answer
            .unwrap_or_else(|| Err(AppError::internal("unanswered act")));
        let _ = self.reply.send(answer);
    }
}

/// The sending side; cheap to clone into every request handler.
#[derive(Clone)]
pub struct Writer {
    jobs: mpsc::Sender<Box<dyn Job>>,
}

/// Owned by whoever started the writer; joining it waits for the last batch.
pub struct WriterThread(JoinHandle<()>);

impl WriterThread {
    /// Waits until every sender is gone and the last batch has committed.
    pub fn join(self) {
        if self.0.join().is_err() {
            tracing::error!("writer panicked");
        }
    }
}

impl Writer {
    /// `commit_delay` is how long the writer may wait after the first request
    /// of a batch for others to join it (like PostgreSQL's `commit_delay`); zero
    /// takes only what is already queued.
    pub fn start(
        store: Store,
        max_batch: usize,
        commit_delay: Duration,
    ) -> Result<(Self, WriterThread), AppError> {
        let conn = store.writer_connection()?;
        let (jobs, queue) = mpsc::channel::<Box<dyn Job>>();
        let handle = std::thread::Builder::new()
            .name("writer".into())
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
                tracing::info!("writer stopped");
            })
            .map_err(AppError::internal)?;
        Ok((Self { jobs }, WriterThread(handle)))
    }

    /// Queues an act and waits for its answer (its own, or the stored one).
    pub async fn submit<A: Act>(
        &self,
        act: A,
        claim: Option<Claim>,
    ) -> Result<Answer<A::Outcome>, AppError> {
        self.enqueue(act, claim)?.answer().await
    }

    /// Queues an act now; its answer is awaited later (many acts queued at
    /// once are committed together).
    pub fn enqueue<A: Act>(
        &self,
        act: A,
        claim: Option<Claim>,
    ) -> Result<Pending<A::Outcome>, AppError> {
        let (reply, answer) = oneshot::channel();
        self.jobs
            .send(Box::new(Queued {
                act,
                claim,
                answer: None,
                reply,
            }))
            .map_err(|_| AppError::new(ErrorCode::ServiceUnavailable, "shutting down"))?;
        Ok(Pending(answer))
    }
}

/// The answer to a queued act, still to come.
pub struct Pending<O>(oneshot::Receiver<Reply<O>>);

impl<O> Pending<O> {
    pub async fn answer(self) -> Result<Answer<O>, AppError> {
        self.0
            .await
            .map_err(|_| AppError::internal("the writer dropped a request"))?
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
    fn process(&mut self, mut batch: Vec<Box<dyn Job>>) {
        let started = Instant::now();
        let mut result = self.attempt(&mut batch);
        // A unique violation means another process committed a key or settled a
        // hold that this batch also names; the second attempt sees it and answers
        // from it.
        if matches!(&result, Err(e) if e.code == ErrorCode::Conflict) {
            result = self.attempt(&mut batch);
        }
        tracing::debug!(
            size = batch.len(),
            micros = started.elapsed().as_micros() as u64,
            ok = result.is_ok(),
            "batch committed"
        );
        crate::metrics::observe_batch(batch.len(), started.elapsed(), result.is_ok());
        let error = match result {
            Ok(()) => {
                batch.into_iter().for_each(|job| job.send());
                return;
            }
            Err(e) => e,
        };
        if error.code != ErrorCode::Conflict {
            // The connection may be broken; make a new one for the next batch.
            self.conn = None;
        }
        if batch.len() > 1 && error.code != ErrorCode::ServiceUnavailable {
            // Nothing was committed: commit each half on its own, so that the
            // acts the database refuses are found and fail alone.
            let right = batch.split_off(batch.len() / 2);
            self.process(batch);
            self.process(right);
            return;
        }
        let error = match batch.len() {
            1 => failed_alone(error),
            _ => error,
        };
        for mut job in batch {
            job.fail(error.clone());
            job.send();
        }
    }

    fn attempt(&mut self, batch: &mut [Box<dyn Job>]) -> Result<(), AppError> {
        batch.iter_mut().for_each(|job| job.reset());
        if self.conn.is_none() {
            self.conn = Some(self.store.writer_connection()?);
        }
        let Some(conn) = self.conn.as_mut() else {
            return Err(AppError::internal("no writer connection"));
        };
        let cache = &mut self.account_ledgers;
        let state = &mut self.state;
        match write_transaction(conn, |conn| commit_batch(conn, cache, state, batch)) {
            Ok(carried) => {
                self.state.keep(carried);
                Ok(())
            }
            Err(e) => {
                self.state.forget();
                Err(e)
            }
        }
    }
}

/// The answer for an act whose own writes the database refused while the rest
/// of its batch committed: the cause was logged; the client learns that nothing
/// was recorded. A lost connection stays what it is.
fn failed_alone(error: AppError) -> AppError {
    match error.code {
        ErrorCode::Internal => AppError::new(
            ErrorCode::NotRecordable,
            "the database refused to record this request, and nothing of it was recorded; \
             correct the request's text or values before sending it again",
        ),
        _ => error,
    }
}

fn commit_batch(
    conn: &mut DbConnection,
    account_ledgers: &mut HashMap<AccountId, LedgerId>,
    state: &mut WriterState,
    batch: &mut [Box<dyn Job>],
) -> Result<Carried, AppError> {
    let now = Utc::now();

    // Keys already answered: replay or refuse without running anything.
    let pairs: Vec<(String, String)> = batch
        .iter()
        .filter_map(|j| j.claim().map(|c| (c.scope.clone(), c.key.clone())))
        .collect();
    let known = crate::store::idempotency::find_many(conn, &pairs)?;
    let mut to_run = Vec::with_capacity(batch.len());
    for (i, job) in batch.iter_mut().enumerate() {
        let row = job
            .claim()
            .and_then(|c| known.get(&(c.scope.clone(), c.key.clone())));
        match row {
            Some(row) => job.replay(conn, row),
            None => to_run.push(i),
        }
    }
    let needs: Vec<Needs> = to_run.iter().map(|&i| batch[i].needs()).collect();

    // Which ledgers the batch touches.
    let mut account_ids: Vec<AccountId> = needs
        .iter()
        .flat_map(|n| n.accounts.iter().copied())
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
    let referenced: Vec<TransferId> = needs
        .iter()
        .flat_map(|n| n.transfers.iter().copied())
        .collect();
    let mut ledger_ids: BTreeSet<LedgerId> = account_ids
        .iter()
        .filter_map(|a| account_ledgers.get(a).copied())
        .collect();
    ledger_ids.extend(journal::ledgers_of_transfers(conn, &referenced)?);
    ledger_ids.extend(needs.iter().flat_map(|n| n.ledgers.iter().copied()));

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
    let mut writes: Vec<DeferredWrite> = Vec::new();
    let mut records = Vec::new();
    let mut memo = Memo::default();
    for &i in &to_run {
        batch[i].announce(&mut memo);
    }
    for i in to_run {
        let mut cx = ActContext::new(conn, &mut engine, &mut memo, now);
        let accepted = batch[i].run(&mut cx, &mut records)?;
        let (made, queued) = cx.finish(accepted);
        entries.extend(made);
        writes.extend(queued);
    }

    write_outcome(conn, &engine, &ledger_ids, &entries, writes, &records)?;
    let (heads, accounts) = engine.into_parts();
    Ok(Carried {
        data_version,
        heads,
        accounts,
    })
}

/// Writes what the batch's acts produced: journal rows first, so that the acts'
/// own rows may refer to them.
fn write_outcome(
    conn: &mut DbConnection,
    engine: &Engine,
    ledger_ids: &BTreeSet<LedgerId>,
    entries: &[JournalEntry],
    writes: Vec<DeferredWrite>,
    records: &[IdempotencyRow],
) -> Result<(), AppError> {
    journal::insert_entries(conn, entries)?;
    accounts::save_totals(conn, engine.touched_accounts())?;
    if !entries.is_empty() {
        for head in ledger_ids.iter().filter_map(|l| engine.ledger(l)) {
            ledgers::save_head(conn, head)?;
        }
    }
    for write in writes {
        write(conn)?;
    }
    crate::store::idempotency::insert_many(conn, records)
}
