//! Attendance at an event: a check-in a coordinator opens, the short code
//! volunteers check in and out with, and what becomes of it.

use std::fmt;
use std::str::FromStr;

use super::text_enum::text_enum;

text_enum!(
    /// A check-in is `open` while volunteers check in and out with its code,
    /// and `confirmed` once a coordinator has turned its attendance list into
    /// service records; nobody checks in or out of it any more.
    CheckInStatus {
        Open => "open",
        Confirmed => "confirmed",
    }
);

/// Crockford's base-32 digits: no I, L, O or U, so a code read aloud or
/// typed from a screen is not mistaken.
const DIGITS: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
const LENGTH: usize = 8;
/// Longer input is not a code, however it is spaced.
const MAX_INPUT_BYTES: usize = 32;

/// The code of an open check-in: eight base-32 digits (40 bits), shown as
/// `ABCD-EFGH`. Parsing forgives case, spaces, hyphens and the letters
/// Crockford maps to digits (O to 0, I and L to 1).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct CheckInCode(String);

impl CheckInCode {
    /// A fresh random code.
    pub fn generate() -> Self {
        let mut bytes = [0u8; LENGTH];
        rand::fill(&mut bytes);
        Self(
            bytes
                .iter()
                .map(|b| char::from(DIGITS[usize::from(b & 31)]))
                .collect(),
        )
    }

    /// The stored form: eight digits, no hyphen.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// What a QR code at the event carries: the volunteer's app reads the
    /// code from it.
    pub fn qr_payload(&self) -> String {
        format!("timebank:check-in:{}", self.0)
    }
}

impl fmt::Display for CheckInCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (head, tail) = self.0.split_at(LENGTH / 2);
        write!(f, "{head}-{tail}")
    }
}

impl FromStr for CheckInCode {
    type Err = &'static str;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        const RULE: &str = "eight letters and digits, such as ABCD-2345";
        if s.len() > MAX_INPUT_BYTES {
            return Err(RULE);
        }
        let mut code = String::with_capacity(LENGTH);
        for c in s.chars().filter(|c| !matches!(c, ' ' | '-')) {
            let digit = match c.to_ascii_uppercase() {
                'O' => '0',
                'I' | 'L' => '1',
                other => other,
            };
            if !digit.is_ascii() || !DIGITS.contains(&(digit as u8)) {
                return Err(RULE);
            }
            code.push(digit);
        }
        if code.len() != LENGTH {
            return Err(RULE);
        }
        Ok(Self(code))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_codes_parse_back_in_every_spelling() {
        for _ in 0..200 {
            let code = CheckInCode::generate();
            assert_eq!(code.as_str().len(), 8);
            assert_eq!(code.to_string().parse::<CheckInCode>(), Ok(code.clone()));
            let lower = code.as_str().to_ascii_lowercase();
            assert_eq!(lower.parse::<CheckInCode>(), Ok(code.clone()));
        }
    }

    #[test]
    fn look_alike_letters_read_as_digits() {
        let code: CheckInCode = "oil0-abcd".parse().unwrap();
        assert_eq!(code.as_str(), "0110ABCD");
        assert_eq!(code.to_string(), "0110-ABCD");
        assert_eq!(code.qr_payload(), "timebank:check-in:0110ABCD");
    }

    #[test]
    fn hostile_input_is_refused() {
        for bad in [
            "",
            "ABC",
            "ABCDEFGHJ",
            "ABCD\u{0}EFG",
            "ABCDEFGU",
            "ＡＢＣＤＥＦＧＨ",
            "АВСDEFGH", // Cyrillic look-alikes
            &"A".repeat(10_000),
        ] {
            assert!(bad.parse::<CheckInCode>().is_err(), "{bad:?}");
        }
    }
}
