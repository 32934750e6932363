//! What a state-changing request answered, as app hands it to http: a typed
//! outcome or a refusal, and whether it came back from the key's record. http
//! alone decides status, headers and body; a replay carries the same values as
//! the first answer, so it renders the same bytes.

use crate::error::AppError;

#[derive(Clone, Debug)]
pub struct Answer<O> {
    /// `Err` is a refusal kept under the request's key (a retry gets it again).
    pub outcome: Result<O, AppError>,
    /// Read back from the key's record rather than done now.
    pub replayed: bool,
}

impl<O> Answer<O> {
    pub fn fresh(outcome: Result<O, AppError>) -> Self {
        Self {
            outcome,
            replayed: false,
        }
    }

    pub fn map<P>(self, f: impl FnOnce(O) -> P) -> Answer<P> {
        Answer {
            outcome: self.outcome.map(f),
            replayed: self.replayed,
        }
    }

    /// The outcome of an act done now, if it was not refused.
    pub fn done_now(&self) -> Option<&O> {
        match (&self.outcome, self.replayed) {
            (Ok(outcome), false) => Some(outcome),
            _ => None,
        }
    }
}
