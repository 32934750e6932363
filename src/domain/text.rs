//! Free text from clients, checked once when it is parsed. PostgreSQL refuses
//! NUL in text while SQLite stores it, and other control characters break
//! logs, CSV exports and pages; refusing them here makes both backends see
//! the same. `Line` is one line (names, references, filters); `Note` may span
//! lines (tab and line breaks allowed). Lengths stay with each field's rules.

use std::fmt;
use std::ops::Deref;

use serde::{Deserialize, Deserializer, Serialize};

/// Why a text was refused; the caller names the field.
pub const LINE_RULE: &str = "must not contain control characters (such as NUL, tab or line breaks)";
pub const NOTE_RULE: &str = "must not contain control characters other than tab and line breaks";

/// Checks `text` against the rule for one line or for several.
pub fn check(text: &str, multiline: bool) -> Result<(), &'static str> {
    let allowed = |c: char| multiline && matches!(c, '\t' | '\n' | '\r');
    if text.chars().any(|c| c.is_control() && !allowed(c)) {
        return Err(if multiline { NOTE_RULE } else { LINE_RULE });
    }
    Ok(())
}

macro_rules! text_type {
    ($(#[$doc:meta])* $name:ident, multiline = $multiline:literal) => {
        $(#[$doc])*
        #[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// Checks `text` (for values that do not come through serde).
            pub fn parse(text: impl Into<String>) -> Result<Self, &'static str> {
                let text = text.into();
                check(&text, $multiline)?;
                Ok(Self(text))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }

            pub fn into_string(self) -> String {
                self.0
            }
        }

        impl Deref for $name {
            type Target = str;

            fn deref(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl From<$name> for String {
            fn from(text: $name) -> String {
                text.0
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let text = String::deserialize(d)?;
                Self::parse(text).map_err(serde::de::Error::custom)
            }
        }
    };
}

text_type!(
    /// One line of text: no control characters at all.
    Line,
    multiline = false
);
text_type!(
    /// Text that may span lines: tab, LF and CR allowed, no other control
    /// characters.
    Note,
    multiline = true
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_refused() {
        for bad in [
            "a\u{0}b",
            "\u{0}",
            "tab\there",
            "line\nbreak",
            "bell\u{7}",
            "c1\u{85}",
        ] {
            assert!(Line::parse(bad).is_err(), "{bad:?}");
        }
        for bad in ["a\u{0}b", "bell\u{7}", "esc\u{1b}[31m", "del\u{7f}"] {
            assert!(Note::parse(bad).is_err(), "{bad:?}");
        }
        assert!(Note::parse("two\nlines\twith a tab\r\n").is_ok());
        assert!(Line::parse("李伟 Zoë O'Brien-Smith #12").is_ok());
        let parsed: Result<Line, _> = serde_json::from_str("\"a\\u0000b\"");
        assert!(parsed.is_err());
    }
}
