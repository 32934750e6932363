//! A piece of a name to search for, checked once when it is parsed: one line
//! (no control characters, so no NUL for PostgreSQL to refuse), 1 to 100
//! characters once trimmed. It matches names that contain it, ignoring the
//! case of the Latin letters A to Z; both backends fold only those, so both
//! find the same volunteers.

use std::fmt;

use serde::{Deserialize, Deserializer};

use super::text::check;

/// The most characters a search may hold.
pub const MAX_NAME_SEARCH_CHARS: usize = 100;
pub const NAME_SEARCH_RULE: &str =
    "1 to 100 characters of one line (no control characters such as NUL)";

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NameSearch(String);

impl NameSearch {
    pub fn parse(text: &str) -> Result<Self, &'static str> {
        let text = text.trim();
        let chars = text.chars().count();
        if chars == 0 || chars > MAX_NAME_SEARCH_CHARS || check(text, false).is_err() {
            return Err(NAME_SEARCH_RULE);
        }
        Ok(Self(text.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// A `LIKE` pattern (escape character `\`) for names containing the
    /// search, for a column whose A to Z are folded to lower case: the
    /// search's own `%`, `_` and `\` match only themselves.
    pub fn like_pattern(&self) -> String {
        let mut pattern = String::with_capacity(self.0.len() + 2);
        pattern.push('%');
        for c in self.0.chars() {
            if matches!(c, '%' | '_' | '\\') {
                pattern.push('\\');
            }
            pattern.push(c.to_ascii_lowercase());
        }
        pattern.push('%');
        pattern
    }
}

impl fmt::Display for NameSearch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl<'de> Deserialize<'de> for NameSearch {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_are_escaped_and_latin_letters_folded() {
        let search = NameSearch::parse(" 50%_Off\\Zoë ").map_err(|e| e.to_string());
        assert_eq!(
            search.map(|s| s.like_pattern()),
            Ok("%50\\%\\_off\\\\zoë%".to_string())
        );
    }

    #[test]
    fn empty_long_and_control_characters_are_refused() {
        for bad in ["", "   ", "a\u{0}b", "tab\there", &"x".repeat(101)] {
            assert!(NameSearch::parse(bad).is_err(), "{bad:?}");
        }
        assert!(NameSearch::parse(&"李".repeat(100)).is_ok());
    }
}
