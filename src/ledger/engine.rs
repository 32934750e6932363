//! Applies commands to in-memory account state, one at a time, in order. A refused
//! command leaves no trace in the state, so one refusal never spoils the others of
//! the same batch. The caller writes what the engine produced in one transaction.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, SubsecRound, Utc};

use super::command::{Command, NewTransfer, Provenance, Resolution};
use super::error::LedgerError;
use super::hash::transfer_hash;
use super::records::{JournalEntry, PostingRecord, TransferRecord};
use super::state::{AccountState, ExistingTransfer, LedgerHead};
use crate::domain::{
    AccountId, AccountStatus, Direction, LedgerId, Phase, Points, TransferId, TransferKind,
};

/// How a set of legs moves balances.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Movement {
    /// New postings straight to the posted totals.
    Post,
    /// New postings to the pending totals (a hold).
    Hold,
    /// A hold's amounts move from pending to posted.
    Capture,
    /// A hold's amounts leave the pending totals; no postings.
    Release,
}

pub struct Engine {
    ledgers: HashMap<LedgerId, LedgerHead>,
    accounts: HashMap<AccountId, AccountState>,
    existing: HashMap<TransferId, ExistingTransfer>,
    touched: HashSet<AccountId>,
    now: DateTime<Utc>,
    /// What the current act changed, newest last, so that an act refused after
    /// some of its commands were applied can be undone whole.
    undo: Vec<Undo>,
}

enum Undo {
    Account {
        id: AccountId,
        before: Option<AccountState>,
        was_touched: bool,
    },
    Ledger(LedgerHead),
    Existing {
        id: TransferId,
        before: Option<ExistingTransfer>,
    },
}

/// Journal times are kept to the microsecond, the precision both databases store.
pub fn journal_time(t: DateTime<Utc>) -> DateTime<Utc> {
    t.trunc_subsecs(6)
}

impl Engine {
    pub fn new(
        ledgers: HashMap<LedgerId, LedgerHead>,
        accounts: HashMap<AccountId, AccountState>,
        existing: HashMap<TransferId, ExistingTransfer>,
        now: DateTime<Utc>,
    ) -> Self {
        Self {
            ledgers,
            accounts,
            existing,
            touched: HashSet::new(),
            now: journal_time(now),
            undo: Vec::new(),
        }
    }

    /// Starts an act: what follows can be undone with `undo_act` until the
    /// next `begin_act`.
    pub fn begin_act(&mut self) {
        self.undo.clear();
    }

    /// Puts back every state the current act changed, as if it never ran.
    pub fn undo_act(&mut self) {
        while let Some(step) = self.undo.pop() {
            match step {
                Undo::Account {
                    id,
                    before,
                    was_touched,
                } => {
                    match before {
                        Some(state) => self.accounts.insert(id, state),
                        None => self.accounts.remove(&id),
                    };
                    if !was_touched {
                        self.touched.remove(&id);
                    }
                }
                Undo::Ledger(head) => {
                    self.ledgers.insert(head.id, head);
                }
                Undo::Existing { id, before } => {
                    match before {
                        Some(t) => self.existing.insert(id, t),
                        None => self.existing.remove(&id),
                    };
                }
            }
        }
    }

    /// Remembers a transfer's state before the current act changes it.
    fn save_existing(&mut self, id: TransferId) {
        let before = self.existing.get(&id).cloned();
        self.undo.push(Undo::Existing { id, before });
    }

    /// Records `command` as the transfer `id`.
    pub fn apply(
        &mut self,
        id: TransferId,
        command: &Command,
    ) -> Result<JournalEntry, LedgerError> {
        match command {
            Command::Create(t) => self.create(id, t),
            Command::Resolve {
                pending_id,
                resolution,
                provenance,
            } => self.resolve(id, *pending_id, *resolution, provenance),
            Command::Reverse {
                original_id,
                provenance,
            } => self.reverse(id, *original_id, provenance),
        }
    }

    /// Accounts whose totals changed, in their final state.
    pub fn touched_accounts(&self) -> impl Iterator<Item = &AccountState> {
        self.touched.iter().filter_map(|id| self.accounts.get(id))
    }

    /// Every ledger head and account state the engine holds, as the batch left them.
    pub fn into_parts(
        self,
    ) -> (
        HashMap<LedgerId, LedgerHead>,
        HashMap<AccountId, AccountState>,
    ) {
        (self.ledgers, self.accounts)
    }

    pub fn account(&self, id: &AccountId) -> Option<&AccountState> {
        self.accounts.get(id)
    }

    pub fn ledger(&self, id: &LedgerId) -> Option<&LedgerHead> {
        self.ledgers.get(id)
    }

    fn create(&mut self, id: TransferId, t: &NewTransfer) -> Result<JournalEntry, LedgerError> {
        let has = |d| t.legs.iter().any(|l| l.direction == d);
        if t.legs.len() < 2 || !has(Direction::Debit) || !has(Direction::Credit) {
            return Err(LedgerError::TooFewPostings);
        }
        if let Some(named) = t.ledger_id
            && !self.ledgers.contains_key(&named)
        {
            return Err(LedgerError::LedgerNotFound(named));
        }
        let mut ledger_id = t.ledger_id;
        for leg in &t.legs {
            let account = self
                .accounts
                .get(&leg.account_id)
                .ok_or(LedgerError::AccountNotFound(leg.account_id))?;
            match ledger_id {
                Some(l) if l != account.ledger_id => return Err(LedgerError::LedgerMismatch),
                _ => ledger_id = Some(account.ledger_id),
            }
        }
        let ledger_id = ledger_id.ok_or(LedgerError::TooFewPostings)?;
        // Debiting and crediting one account moves nothing but still looks like
        // activity (and would let a no-overdraft check pass on its own credit).
        if let Some(leg) = t.legs.iter().find(|d| {
            d.direction == Direction::Debit
                && t.legs
                    .iter()
                    .any(|c| c.direction == Direction::Credit && c.account_id == d.account_id)
        }) {
            return Err(LedgerError::SameAccount(leg.account_id));
        }
        let scale = self
            .ledgers
            .get(&ledger_id)
            .ok_or(LedgerError::LedgerNotFound(ledger_id))?
            .asset_scale;

        let mut legs = Vec::with_capacity(t.legs.len());
        let (mut debits, mut credits) = (0i128, 0i128);
        for (i, leg) in t.legs.iter().enumerate() {
            let amount = Points::from_amount(leg.amount, scale)
                .map_err(|source| LedgerError::InvalidAmount { leg: i, source })?;
            match leg.direction {
                // i128 sums of i64 legs cannot saturate; the bound stands in for
                // a wrap that would let an unbalanced transfer through.
                Direction::Debit => debits = debits.saturating_add(amount.minor().into()),
                Direction::Credit => credits = credits.saturating_add(amount.minor().into()),
            }
            legs.push((leg.account_id, leg.direction, amount));
        }
        if debits != credits {
            let show = |v: i128| {
                i64::try_from(v)
                    .map(|m| Points::from_minor(m).to_decimal_string(scale))
                    .unwrap_or_else(|_| v.to_string())
            };
            return Err(LedgerError::Unbalanced {
                debits: show(debits),
                credits: show(credits),
            });
        }

        let (movement, phase) = if t.pending {
            (Movement::Hold, Phase::Pending)
        } else {
            (Movement::Post, Phase::Posted)
        };
        let draft = Draft {
            id,
            ledger_id,
            kind: t.kind,
            phase,
            pending_id: None,
            reverses_id: None,
            timeout_at: if t.pending { t.timeout_at } else { None },
        };
        let entry = self.record(draft, &legs, movement, &t.provenance)?;
        if t.pending {
            self.save_existing(id);
            self.existing.insert(
                id,
                ExistingTransfer {
                    id,
                    ledger_id,
                    kind: t.kind,
                    phase: Phase::Pending,
                    timeout_at: entry.transfer.timeout_at,
                    legs,
                    resolved: false,
                    reversed: false,
                },
            );
        }
        Ok(entry)
    }

    fn resolve(
        &mut self,
        id: TransferId,
        pending_id: TransferId,
        resolution: Resolution,
        provenance: &Provenance,
    ) -> Result<JournalEntry, LedgerError> {
        let hold = self
            .existing
            .get(&pending_id)
            .ok_or(LedgerError::TransferNotFound(pending_id))?;
        if hold.phase != Phase::Pending || hold.resolved {
            return Err(LedgerError::NotPending(pending_id));
        }
        if resolution == Resolution::Post && hold.timeout_at.is_some_and(|t| t <= self.now) {
            return Err(LedgerError::PendingExpired(pending_id));
        }
        let (movement, phase) = match resolution {
            Resolution::Post => (Movement::Capture, Phase::PostPending),
            Resolution::Void => (Movement::Release, Phase::VoidPending),
        };
        let draft = Draft {
            id,
            ledger_id: hold.ledger_id,
            kind: hold.kind,
            phase,
            pending_id: Some(pending_id),
            reverses_id: None,
            timeout_at: None,
        };
        let legs = hold.legs.clone();
        let entry = self.record(draft, &legs, movement, provenance)?;
        self.save_existing(pending_id);
        if let Some(hold) = self.existing.get_mut(&pending_id) {
            hold.resolved = true;
        }
        Ok(entry)
    }

    fn reverse(
        &mut self,
        id: TransferId,
        original_id: TransferId,
        provenance: &Provenance,
    ) -> Result<JournalEntry, LedgerError> {
        let original = self
            .existing
            .get(&original_id)
            .ok_or(LedgerError::TransferNotFound(original_id))?;
        let reversible = matches!(original.phase, Phase::Posted | Phase::PostPending)
            && original.kind != TransferKind::Reversal;
        if !reversible {
            return Err(LedgerError::NotReversible(original_id));
        }
        if original.reversed {
            return Err(LedgerError::AlreadyReversed(original_id));
        }
        let legs: Vec<_> = original
            .legs
            .iter()
            .map(|&(account, direction, amount)| {
                let opposite = match direction {
                    Direction::Debit => Direction::Credit,
                    Direction::Credit => Direction::Debit,
                };
                (account, opposite, amount)
            })
            .collect();
        let draft = Draft {
            id,
            ledger_id: original.ledger_id,
            kind: TransferKind::Reversal,
            phase: Phase::Posted,
            pending_id: None,
            reverses_id: Some(original_id),
            timeout_at: None,
        };
        let entry = self.record(draft, &legs, Movement::Post, provenance)?;
        self.save_existing(original_id);
        if let Some(original) = self.existing.get_mut(&original_id) {
            original.reversed = true;
        }
        Ok(entry)
    }

    /// Moves balances for `legs` on copies of the accounts, checks every rule, and
    /// only then commits the copies, numbers the transfer and chains its hash.
    fn record(
        &mut self,
        draft: Draft,
        legs: &[(AccountId, Direction, Points)],
        movement: Movement,
        provenance: &Provenance,
    ) -> Result<JournalEntry, LedgerError> {
        let head = self
            .ledgers
            .get(&draft.ledger_id)
            .ok_or(LedgerError::LedgerMismatch)?;
        let recorded_at = head.last_recorded_at.map_or(self.now, |t| t.max(self.now));
        let sequence = head
            .last_sequence
            .checked_add(1)
            .ok_or(LedgerError::SequenceExhausted(draft.ledger_id))?;

        let mut working: HashMap<AccountId, AccountState> = HashMap::new();
        let mut postings = Vec::with_capacity(legs.len());
        for (leg, &(account_id, direction, amount)) in legs.iter().enumerate() {
            let account = match working.get_mut(&account_id) {
                Some(a) => a,
                None => {
                    let a = self
                        .accounts
                        .get(&account_id)
                        .ok_or(LedgerError::AccountNotFound(account_id))?;
                    if a.ledger_id != draft.ledger_id {
                        return Err(LedgerError::LedgerMismatch);
                    }
                    if movement != Movement::Release {
                        match a.status {
                            AccountStatus::Open => {}
                            AccountStatus::Frozen => {
                                return Err(LedgerError::AccountFrozen(account_id));
                            }
                            AccountStatus::Closed => {
                                return Err(LedgerError::AccountClosed(account_id));
                            }
                        }
                    }
                    working.entry(account_id).or_insert_with(|| a.clone())
                }
            };
            // Every total and the derived balances must stay inside i64: a hold
            // on a nearly full issuance account would otherwise wrap `available`.
            move_leg(account, direction, amount, movement)
                .filter(|()| account.available().is_some())
                .ok_or(LedgerError::Overflow(account_id))?;
            if movement == Movement::Release {
                continue;
            }
            account.version = account
                .version
                .checked_add(1)
                .ok_or(LedgerError::Overflow(account_id))?;
            postings.push(PostingRecord {
                transfer_id: draft.id,
                leg: leg as i32,
                ledger_id: draft.ledger_id,
                account_id,
                direction,
                amount,
                pending: movement == Movement::Hold,
                balance_after: account
                    .posted_balance()
                    .ok_or(LedgerError::Overflow(account_id))?,
                account_version: account.version,
                recorded_at,
            });
        }

        let adds_debits = matches!(movement, Movement::Post | Movement::Hold);
        if adds_debits {
            for &(account_id, direction, _) in legs {
                let Some(account) = working.get(&account_id) else {
                    continue;
                };
                if direction == Direction::Debit && account.is_overdrawn() {
                    let before = &self.accounts[&account_id];
                    let needed = legs
                        .iter()
                        .filter(|l| l.0 == account_id && l.1 == Direction::Debit)
                        .try_fold(Points::ZERO, |sum, l| sum.checked_add(l.2))
                        .ok_or(LedgerError::Overflow(account_id))?;
                    let show = |p: Option<Points>| {
                        p.map_or_else(
                            || "out of range".to_string(),
                            |p| p.to_decimal_string(head.asset_scale),
                        )
                    };
                    return Err(LedgerError::InsufficientFunds {
                        account: account_id,
                        needed: show(Some(needed)),
                        available: show(before.available()),
                    });
                }
            }
        }

        let mut transfer = TransferRecord {
            id: draft.id,
            ledger_id: draft.ledger_id,
            sequence,
            kind: draft.kind,
            phase: draft.phase,
            pending_id: draft.pending_id,
            reverses_id: draft.reverses_id,
            timeout_at: draft.timeout_at.map(journal_time),
            external_ref: provenance.external_ref.clone(),
            description: provenance.description.clone(),
            metadata: provenance.metadata.clone(),
            actor_id: provenance.actor_id.clone(),
            on_behalf_of: provenance.on_behalf_of.clone(),
            event_time: journal_time(provenance.event_time.unwrap_or(recorded_at)),
            recorded_at,
            prev_hash: head.last_hash.clone(),
            hash: String::new(),
        };
        transfer.hash = transfer_hash(&transfer, &postings);

        for (id, state) in working {
            let was_touched = !self.touched.insert(id);
            let before = self.accounts.insert(id, state);
            self.undo.push(Undo::Account {
                id,
                before,
                was_touched,
            });
        }
        if let Some(head) = self.ledgers.get_mut(&draft.ledger_id) {
            self.undo.push(Undo::Ledger(head.clone()));
            head.last_sequence = sequence;
            head.last_hash = transfer.hash.clone();
            head.last_recorded_at = Some(recorded_at);
        }
        Ok(JournalEntry { transfer, postings })
    }
}

struct Draft {
    id: TransferId,
    ledger_id: LedgerId,
    kind: TransferKind,
    phase: Phase,
    pending_id: Option<TransferId>,
    reverses_id: Option<TransferId>,
    timeout_at: Option<DateTime<Utc>>,
}

fn move_leg(
    account: &mut AccountState,
    direction: Direction,
    amount: Points,
    movement: Movement,
) -> Option<()> {
    let (posted, pending) = match direction {
        Direction::Debit => (&mut account.debits_posted, &mut account.debits_pending),
        Direction::Credit => (&mut account.credits_posted, &mut account.credits_pending),
    };
    match movement {
        Movement::Post => *posted = posted.checked_add(amount)?,
        Movement::Hold => *pending = pending.checked_add(amount)?,
        Movement::Capture => {
            *pending = pending.checked_sub(amount)?;
            *posted = posted.checked_add(amount)?;
        }
        Movement::Release => *pending = pending.checked_sub(amount)?,
    }
    Some(())
}

#[cfg(test)]
#[allow(clippy::arithmetic_side_effects)]
mod tests {
    use super::*;
    use crate::domain::{AccountKind, Amount};
    use crate::ledger::LegRequest;
    use proptest::prelude::*;

    struct Fixture {
        ledger: LedgerId,
        issuance: AccountId,
        wallets: Vec<AccountId>,
        engine: Engine,
    }

    fn account(ledger: LedgerId, kind: AccountKind) -> AccountState {
        AccountState::opened(ledger, kind)
    }

    fn fixture(wallets: usize) -> Fixture {
        let ledger = LedgerId::generate();
        let head = LedgerHead {
            id: ledger,
            asset_scale: 2,
            last_sequence: 0,
            last_hash: LedgerHead::GENESIS_HASH.into(),
            last_recorded_at: None,
        };
        let issuance = account(ledger, AccountKind::Issuance);
        let ws: Vec<_> = (0..wallets)
            .map(|_| account(ledger, AccountKind::Volunteer))
            .collect();
        let ids = ws.iter().map(|a| a.id).collect();
        let mut accounts: HashMap<_, _> = ws.into_iter().map(|a| (a.id, a)).collect();
        let issuance_id = issuance.id;
        accounts.insert(issuance.id, issuance);
        Fixture {
            ledger,
            issuance: issuance_id,
            wallets: ids,
            engine: Engine::new(
                HashMap::from([(ledger, head)]),
                accounts,
                HashMap::new(),
                Utc::now(),
            ),
        }
    }

    /// Applies a command as a fresh transfer, the way the writer does.
    fn apply(engine: &mut Engine, command: &Command) -> Result<JournalEntry, LedgerError> {
        engine.apply(TransferId::generate(), command)
    }

    fn transfer(from: AccountId, to: AccountId, amount: &str, pending: bool) -> Command {
        let amount: Amount = amount.parse().unwrap();
        Command::Create(NewTransfer {
            ledger_id: None,
            kind: TransferKind::Adjustment,
            legs: vec![
                LegRequest {
                    account_id: from,
                    direction: Direction::Debit,
                    amount,
                },
                LegRequest {
                    account_id: to,
                    direction: Direction::Credit,
                    amount,
                },
            ],
            pending,
            timeout_at: None,
            provenance: Provenance {
                actor_id: "tester".into(),
                ..Provenance::default()
            },
        })
    }

    #[test]
    fn a_refusal_leaves_no_trace() {
        let mut f = fixture(2);
        let (a, b) = (f.wallets[0], f.wallets[1]);
        apply(&mut f.engine, &transfer(f.issuance, a, "5.00", false)).unwrap();
        let before = f.engine.account(&a).cloned();
        let err = apply(&mut f.engine, &transfer(a, b, "5.01", false)).unwrap_err();
        assert!(matches!(err, LedgerError::InsufficientFunds { .. }));
        assert_eq!(f.engine.account(&a).cloned(), before);
        assert_eq!(f.engine.ledger(&f.ledger).unwrap().last_sequence, 1);
    }

    #[test]
    fn an_account_cannot_pay_itself() {
        let mut f = fixture(1);
        let a = f.wallets[0];
        apply(&mut f.engine, &transfer(f.issuance, a, "5.00", false)).unwrap();
        let err = apply(&mut f.engine, &transfer(a, a, "1.00", false)).unwrap_err();
        assert_eq!(err, LedgerError::SameAccount(a));
        assert_eq!(f.engine.ledger(&f.ledger).unwrap().last_sequence, 1);
    }

    #[test]
    fn a_hold_that_would_wrap_available_is_refused() {
        let mut f = fixture(1);
        let a = f.wallets[0];
        f.engine.ledgers.get_mut(&f.ledger).unwrap().asset_scale = 8;
        let largest = "9999999999.99999999";
        for _ in 0..9 {
            apply(&mut f.engine, &transfer(f.issuance, a, largest, false)).unwrap();
        }
        let before = f.engine.account(&f.issuance).cloned();
        for pending in [true, false] {
            let err = apply(&mut f.engine, &transfer(f.issuance, a, largest, pending)).unwrap_err();
            assert_eq!(err, LedgerError::Overflow(f.issuance), "pending {pending}");
        }
        assert_eq!(f.engine.account(&f.issuance).cloned(), before);
        assert!(before.unwrap().available().unwrap() < Points::ZERO);
    }

    #[test]
    fn holds_reduce_available_and_settle_once() {
        let mut f = fixture(2);
        let (a, b) = (f.wallets[0], f.wallets[1]);
        apply(&mut f.engine, &transfer(f.issuance, a, "10.00", false)).unwrap();
        let hold = apply(&mut f.engine, &transfer(a, b, "8.00", true)).unwrap();
        assert_eq!(
            f.engine.account(&a).unwrap().available().unwrap().minor(),
            200
        );
        assert!(matches!(
            apply(&mut f.engine, &transfer(a, b, "3.00", false)),
            Err(LedgerError::InsufficientFunds { .. })
        ));
        let post = Command::Resolve {
            pending_id: hold.transfer.id,
            resolution: Resolution::Post,
            provenance: Provenance::default(),
        };
        apply(&mut f.engine, &post).unwrap();
        assert_eq!(
            f.engine
                .account(&a)
                .unwrap()
                .posted_balance()
                .unwrap()
                .minor(),
            200
        );
        assert_eq!(
            f.engine
                .account(&b)
                .unwrap()
                .posted_balance()
                .unwrap()
                .minor(),
            800
        );
        let again = Command::Resolve {
            pending_id: hold.transfer.id,
            resolution: Resolution::Void,
            provenance: Provenance::default(),
        };
        assert_eq!(
            apply(&mut f.engine, &again),
            Err(LedgerError::NotPending(hold.transfer.id))
        );
    }

    #[test]
    fn each_transfer_chains_to_the_previous_hash() {
        let mut f = fixture(1);
        let first = apply(
            &mut f.engine,
            &transfer(f.issuance, f.wallets[0], "1.00", false),
        )
        .unwrap();
        let second = apply(
            &mut f.engine,
            &transfer(f.issuance, f.wallets[0], "1.00", false),
        )
        .unwrap();
        assert_eq!(first.transfer.prev_hash, LedgerHead::GENESIS_HASH);
        assert_eq!(second.transfer.prev_hash, first.transfer.hash);
        assert_eq!(second.transfer.sequence, 2);
        assert_eq!(
            transfer_hash(&second.transfer, &second.postings),
            second.transfer.hash
        );
    }

    proptest! {
        /// Whatever mix of transfers is tried, accepted or refused: no wallet is
        /// overdrawn, each account's totals equal the sum of its postings, and the
        /// ledger's balances sum to zero.
        #[test]
        fn balances_stay_consistent(ops in prop::collection::vec((0usize..5, 0usize..5, 1i64..5_000, any::<bool>()), 1..80)) {
            let mut f = fixture(4);
            let mut all = f.wallets.clone();
            all.push(f.issuance);
            let mut sums: HashMap<AccountId, (i64, i64)> = HashMap::new();
            for (from, to, minor, pending) in ops {
                let amount = Points::from_minor(minor).to_decimal_string(2);
                let cmd = transfer(all[from], all[to], &amount, pending);
                if let Ok(entry) = apply(&mut f.engine, &cmd) {
                    for p in entry.postings.iter().filter(|p| !p.pending) {
                        let s = sums.entry(p.account_id).or_default();
                        match p.direction {
                            Direction::Debit => s.0 += p.amount.minor(),
                            Direction::Credit => s.1 += p.amount.minor(),
                        }
                    }
                }
            }
            let mut total = 0i64;
            for id in &all {
                let a = f.engine.account(id).unwrap();
                prop_assert!(!a.is_overdrawn());
                let (d, c) = sums.get(id).copied().unwrap_or_default();
                prop_assert_eq!((a.debits_posted.minor(), a.credits_posted.minor()), (d, c));
                total += a.posted_balance().unwrap().minor();
            }
            prop_assert_eq!(total, 0);
        }
    }

    #[test]
    fn an_undone_act_leaves_no_trace() {
        let mut f = fixture(2);
        let (a, b) = (f.wallets[0], f.wallets[1]);
        apply(&mut f.engine, &transfer(f.issuance, a, "5.00", false)).unwrap();
        let hold = apply(&mut f.engine, &transfer(a, b, "1.00", true)).unwrap();
        let before = (
            f.engine.account(&a).cloned(),
            f.engine.account(&b).cloned(),
            f.engine.account(&f.issuance).cloned(),
            f.engine.ledger(&f.ledger).cloned(),
            f.engine.touched_accounts().count(),
        );

        // An act of three commands: posts the hold, moves more, makes a hold.
        f.engine.begin_act();
        let post = Command::Resolve {
            pending_id: hold.transfer.id,
            resolution: Resolution::Post,
            provenance: Provenance::default(),
        };
        apply(&mut f.engine, &post).unwrap();
        apply(&mut f.engine, &transfer(f.issuance, b, "2.00", false)).unwrap();
        let second_hold = apply(&mut f.engine, &transfer(b, a, "1.00", true)).unwrap();
        f.engine.undo_act();

        let after = (
            f.engine.account(&a).cloned(),
            f.engine.account(&b).cloned(),
            f.engine.account(&f.issuance).cloned(),
            f.engine.ledger(&f.ledger).cloned(),
            f.engine.touched_accounts().count(),
        );
        assert_eq!(before, after);
        // The hold is still pending, and the undone one never existed.
        f.engine.begin_act();
        apply(&mut f.engine, &post).unwrap();
        let void = Command::Resolve {
            pending_id: second_hold.transfer.id,
            resolution: Resolution::Void,
            provenance: Provenance::default(),
        };
        assert!(matches!(
            apply(&mut f.engine, &void),
            Err(LedgerError::TransferNotFound(_))
        ));
    }
}
