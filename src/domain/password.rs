//! A password as a client sends it. Capped when parsed, before anything hashes
//! it: argon2 takes any length, and a megabyte password per login attempt is
//! free work for an attacker.

use std::fmt;
use std::ops::Deref;

use serde::{Deserialize, Deserializer, Serialize};

pub const MAX_PASSWORD_BYTES: usize = 1024;

#[derive(Clone, Default, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Password(String);

impl Password {
    pub fn parse(text: impl Into<String>) -> Result<Self, String> {
        let text = text.into();
        if text.len() > MAX_PASSWORD_BYTES {
            return Err(format!("at most {MAX_PASSWORD_BYTES} bytes"));
        }
        Ok(Self(text))
    }

    /// Stands in for a password in what is kept of a request.
    pub fn redacted() -> Self {
        Self("***".into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Deref for Password {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

/// Never printed, not even in a debug log.
impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(***)")
    }
}

impl<'de> Deserialize<'de> for Password {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Self::parse(String::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_passwords_are_refused() {
        assert!(Password::parse("x".repeat(MAX_PASSWORD_BYTES)).is_ok());
        assert!(Password::parse("x".repeat(MAX_PASSWORD_BYTES + 1)).is_err());
        // Bytes, not characters: 342 three-byte characters are 1,026 bytes.
        assert!(Password::parse("密".repeat(342)).is_err());
        assert_eq!(
            format!("{:?}", Password::parse("secret").unwrap()),
            "Password(***)"
        );
    }
}
