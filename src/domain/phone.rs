//! Phone numbers: normalised once, so the same number typed two ways is one
//! number.

use std::fmt;
use std::str::FromStr;

/// Digits only, with a leading `+` when an international prefix was given.
#[derive(Clone, PartialEq, Eq)]
pub struct Phone(String);

impl Phone {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The last four digits, enough to tell people apart on a screen.
    pub fn last4(&self) -> &str {
        let digits = self.0.trim_start_matches('+');
        &digits[digits.len().saturating_sub(4)..]
    }
}

impl FromStr for Phone {
    type Err = &'static str;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        let (plus, rest) = match s.strip_prefix('+') {
            Some(rest) => ("+", rest),
            None => ("", s),
        };
        let mut digits = String::with_capacity(rest.len());
        for c in rest.chars() {
            match c {
                '0'..='9' => digits.push(c),
                ' ' | '-' | '(' | ')' | '.' => {}
                _ => return Err("a phone number holds digits, spaces, dashes and a leading +"),
            }
        }
        if !(6..=15).contains(&digits.len()) {
            return Err("a phone number has 6 to 15 digits");
        }
        Ok(Self(format!("{plus}{digits}")))
    }
}

// Never print the number itself in logs or debug output.
impl fmt::Debug for Phone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Phone(…{})", self.last4())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spellings_of_one_number_are_equal() {
        let a: Phone = "+86 138-0013-8000".parse().unwrap();
        let b: Phone = "+8613800138000".parse().unwrap();
        assert_eq!(a, b);
        assert_eq!(a.last4(), "8000");
        assert!(!format!("{a:?}").contains("13800"));
    }

    #[test]
    fn junk_is_refused() {
        for bad in [
            "",
            "12345",
            "call me",
            "+86 138 0013 8000 1234 5",
            "1380013800a",
        ] {
            assert!(bad.parse::<Phone>().is_err(), "{bad}");
        }
    }
}
