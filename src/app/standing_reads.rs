//! Coalesced reads of a caller's standing. Every request must see the user's
//! status, session and roles as they are after it arrived; when many requests
//! of one session arrive together (a counter tablet, a coordinator's batch
//! sync), they share one read. A read serves only the requests that arrived
//! before it started, so no request is answered from older state: a user
//! disabled before a request arrives is refused, as with a read of its own.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::oneshot;

use super::caller::Caller;
use super::tokens::Subject;
use crate::error::AppError;
use crate::store::Store;

type Answer = Result<Caller, AppError>;

#[derive(Default)]
struct Key {
    /// A read is under way (its driver will pick up `waiting` next).
    reading: bool,
    waiting: Vec<oneshot::Sender<Answer>>,
}

#[derive(Clone, Default)]
pub struct StandingReads {
    keys: Arc<Mutex<HashMap<Subject, Key>>>,
}

impl StandingReads {
    /// The caller `subject` names, read after this call began.
    pub async fn read(
        &self,
        store: &Store,
        subject: Subject,
        load: fn(&mut crate::store::DbConnection, &Subject) -> Answer,
    ) -> Answer {
        let (tx, rx) = oneshot::channel();
        let drive = {
            let mut keys = self.keys.lock().unwrap_or_else(|e| e.into_inner());
            let key = keys.entry(subject.clone()).or_default();
            key.waiting.push(tx);
            !std::mem::replace(&mut key.reading, true)
        };
        if drive {
            actix_web::rt::spawn(self.clone().drive(store.clone(), subject, load));
        }
        rx.await
            .map_err(|_| AppError::internal("the standing read was dropped"))?
    }

    /// Reads for whoever is waiting, again and again, until no one is.
    async fn drive(
        self,
        store: Store,
        subject: Subject,
        load: fn(&mut crate::store::DbConnection, &Subject) -> Answer,
    ) {
        loop {
            let waiting = {
                let mut keys = self.keys.lock().unwrap_or_else(|e| e.into_inner());
                let Some(key) = keys.get_mut(&subject) else {
                    return;
                };
                if key.waiting.is_empty() {
                    keys.remove(&subject);
                    return;
                }
                std::mem::take(&mut key.waiting)
            };
            let asked = subject.clone();
            let answer = store.run(move |conn| Ok(load(conn, &asked))).await;
            let answer = answer.and_then(|a| a);
            for waiter in waiting {
                // A waiter that went away (client hung up) needs no answer.
                let _ = waiter.send(answer.clone());
            }
        }
    }
}
