//! Cursor pagination shared by every list.

use serde::Serialize;
use utoipa::ToSchema;

use crate::error::AppError;

pub const DEFAULT_LIMIT: u32 = 50;
pub const MAX_LIMIT: u32 = 200;

/// One page of a list; pass `next_cursor` back as `?cursor=` for the next one.
#[derive(Debug, Serialize, ToSchema)]
pub struct Page<T> {
    /// This page's items.
    pub items: Vec<T>,
    /// Pass as `?cursor=` for the next page; null on the last page.
    pub next_cursor: Option<String>,
}

/// A validated `?limit=`.
#[derive(Clone, Copy, Debug)]
pub struct Limit(u32);

impl Limit {
    pub fn parse(raw: Option<u32>) -> Result<Self, AppError> {
        match raw {
            None => Ok(Self(DEFAULT_LIMIT)),
            Some(0) => Err(AppError::invalid_field("limit", "must be at least 1")),
            Some(n) if n > MAX_LIMIT => Err(AppError::invalid_field(
                "limit",
                format!("must be at most {MAX_LIMIT}"),
            )),
            Some(n) => Ok(Self(n)),
        }
    }

    /// One more than the page, to learn whether another page follows.
    pub fn probe(self) -> i64 {
        i64::from(self.0) + 1
    }

    /// Cuts the probe row off and derives the cursor from the last item kept.
    pub fn finish<T>(self, mut items: Vec<T>, cursor_of: impl Fn(&T) -> String) -> Page<T> {
        let more = items.len() > self.0 as usize;
        items.truncate(self.0 as usize);
        let next_cursor = if more {
            items.last().map(cursor_of)
        } else {
            None
        };
        Page { items, next_cursor }
    }
}
