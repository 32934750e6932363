//! Usernames, compared as RFC 8265 says (PRECIS UsernameCaseMapped: width
//! mapping, case mapping, NFC), so `admin`, `ADMIN` and fullwidth `ａｄｍｉｎ`
//! are one name. Names mixing scripts (a Cyrillic `а` among Latin letters)
//! are refused outright, as UTS 39's "highly restrictive" level does: they
//! exist to look like someone else.

use std::fmt;

use precis_core::profile::Profile;
use precis_profiles::UsernameCaseMapped;
use unicode_script::{Script, UnicodeScript};

pub const MIN_CHARS: usize = 3;
pub const MAX_CHARS: usize = 64;

/// A username in its one comparable form: store it, look it up and count
/// login attempts against it in this form only.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Username(String);

#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum UsernameError {
    #[error("3 to 64 letters, digits, '.', '_', '-' or '@'")]
    Shape,
    #[error(
        "letters from one script only (a name may mix Latin with Han, kana, Bopomofo or Hangul)"
    )]
    MixedScripts,
}

impl Username {
    pub fn parse(raw: &str) -> Result<Self, UsernameError> {
        let enforced = UsernameCaseMapped::new()
            .enforce(raw.trim())
            .map_err(|_| UsernameError::Shape)?;
        let name = enforced.into_owned();
        let ok = (MIN_CHARS..=MAX_CHARS).contains(&name.chars().count())
            && name
                .chars()
                .all(|c| c.is_alphanumeric() || matches!(c, '.' | '_' | '-' | '@'));
        if !ok {
            return Err(UsernameError::Shape);
        }
        if !one_script(&name) {
            return Err(UsernameError::MixedScripts);
        }
        Ok(Self(name))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Username {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// UTS 39 "highly restrictive": one script, or Latin with the scripts East
/// Asian names are written in together.
fn one_script(name: &str) -> bool {
    let mut scripts: Vec<Script> = name
        .chars()
        .map(|c| c.script())
        .filter(|s| !matches!(s, Script::Common | Script::Inherited))
        .collect();
    scripts.dedup();
    const ALLOWED_MIXES: &[&[Script]] = &[
        &[
            Script::Latin,
            Script::Han,
            Script::Hiragana,
            Script::Katakana,
        ],
        &[Script::Latin, Script::Han, Script::Bopomofo],
        &[Script::Latin, Script::Han, Script::Hangul],
    ];
    scripts.iter().all(|s| *s == scripts[0])
        || ALLOWED_MIXES
            .iter()
            .any(|mix| scripts.iter().all(|s| mix.contains(s)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn look_alikes_are_one_name_or_refused() {
        let admin = Username::parse("admin").unwrap();
        assert_eq!(Username::parse("ADMIN").unwrap(), admin);
        assert_eq!(Username::parse("ＡＤＭＩＮ").unwrap(), admin);
        assert_eq!(Username::parse("ａｄmin").unwrap(), admin);
        assert_eq!(Username::parse(" Admin ").unwrap(), admin);
        // Cyrillic а (U+0430) among Latin letters.
        assert_eq!(
            Username::parse("\u{430}dmin"),
            Err(UsernameError::MixedScripts)
        );
        // One script, or Latin with Han, is a name like any other.
        assert!(Username::parse("иван").is_ok());
        assert!(Username::parse("李小伟").is_ok());
        assert!(Username::parse("li.李伟").is_ok());
        // NFC: a precomposed é and e + combining acute are one name.
        assert_eq!(
            Username::parse("jos\u{e9}").unwrap(),
            Username::parse("jose\u{301}").unwrap()
        );
        for bad in [
            "ab",
            "a b",
            "tab\tname",
            "nul\u{0}name",
            "x/y",
            &"a".repeat(65),
        ] {
            assert!(Username::parse(bad).is_err(), "{bad:?}");
        }
    }
}
