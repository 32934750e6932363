//! Which database a `TIMEBANK_DATABASE_URL` names.

use std::fmt;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

#[derive(Clone, PartialEq, Eq)]
pub struct DatabaseUrl {
    backend: Backend,
    /// What the driver is given: a PostgreSQL URL or an SQLite file path.
    target: String,
}

impl DatabaseUrl {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let raw = raw.trim();
        if raw.is_empty() {
            return Err("the database URL is empty".into());
        }
        if raw.starts_with("postgres://") || raw.starts_with("postgresql://") {
            return Ok(Self {
                backend: Backend::Postgres,
                target: raw.to_string(),
            });
        }
        if let Some((scheme, _)) = raw.split_once("://")
            && scheme != "sqlite"
        {
            return Err(format!(
                "unknown database scheme {scheme:?}: use postgres://user@host/db, sqlite://path or a file path"
            ));
        }
        let path = raw
            .strip_prefix("sqlite://")
            .or_else(|| raw.strip_prefix("sqlite:"))
            .unwrap_or(raw);
        if path.is_empty() || path == ":memory:" {
            return Err(
                "SQLite needs a file path (an in-memory database is not shared by the pool)".into(),
            );
        }
        Ok(Self {
            backend: Backend::Sqlite,
            target: path.to_string(),
        })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Adds a password (`TIMEBANK_DATABASE_PASSWORD`, usually from a secret
    /// file) to a PostgreSQL URL that names its user but no password.
    pub fn with_password(self, password: &str) -> Result<Self, String> {
        let refuse = |why: &str| Err(format!("TIMEBANK_DATABASE_PASSWORD {why}"));
        if self.backend != Backend::Postgres {
            return refuse("is for PostgreSQL only");
        }
        let start = self.target.find("://").map_or(0, |i| i + 3);
        let authority_end = self.target[start..]
            .find(['/', '?'])
            .map_or(self.target.len(), |i| start + i);
        let Some(at) = self.target[start..authority_end].rfind('@') else {
            return refuse("needs a user in the URL (postgres://user@host/db)");
        };
        let user = &self.target[start..start + at];
        if user.contains(':') {
            return refuse("cannot be used with a URL that holds a password");
        }
        let target = format!(
            "{}:{}{}",
            &self.target[..start + at],
            percent_encode(password),
            &self.target[start + at..]
        );
        Ok(Self { target, ..self })
    }

    pub fn target(&self) -> &str {
        &self.target
    }
}

/// Everything but RFC 3986's unreserved characters, escaped.
fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Never prints a password.
impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.backend {
            Backend::Sqlite => write!(f, "sqlite:{}", self.target),
            Backend::Postgres => match (self.target.find("://"), self.target.rfind('@')) {
                (Some(s), Some(at)) if at > s => {
                    write!(f, "{}://***{}", &self.target[..s], &self.target[at..])
                }
                _ => f.write_str(&self.target),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chooses_the_backend_from_the_url() {
        let pg = DatabaseUrl::parse("postgres://u:secret@db/x").unwrap();
        assert_eq!(pg.backend(), Backend::Postgres);
        assert_eq!(pg.to_string(), "postgres://***@db/x");
        let lite = DatabaseUrl::parse("sqlite://data/tb.db").unwrap();
        assert_eq!(
            (lite.backend(), lite.target()),
            (Backend::Sqlite, "data/tb.db")
        );
        assert_eq!(
            DatabaseUrl::parse("timebank.db").unwrap().target(),
            "timebank.db"
        );
        assert!(DatabaseUrl::parse(":memory:").is_err());
        let unknown = DatabaseUrl::parse("mysql://u@db/x").unwrap_err();
        assert!(
            unknown.contains("unknown database scheme \"mysql\""),
            "{unknown}"
        );
    }

    #[test]
    fn a_password_from_a_file_joins_the_user_escaped() {
        let url = DatabaseUrl::parse("postgres://tb@db:5432/tb?sslmode=disable").unwrap();
        let url = url.with_password("p@ss:w/rd").unwrap();
        assert_eq!(
            url.target(),
            "postgres://tb:p%40ss%3Aw%2Frd@db:5432/tb?sslmode=disable"
        );
        assert_eq!(url.to_string(), "postgres://***@db:5432/tb?sslmode=disable");
        let with = DatabaseUrl::parse("postgres://tb:x@db/tb").unwrap();
        assert!(with.with_password("y").is_err());
        let userless = DatabaseUrl::parse("postgres://db/tb").unwrap();
        assert!(userless.with_password("y").is_err());
        let lite = DatabaseUrl::parse("tb.db").unwrap();
        assert!(lite.with_password("y").is_err());
    }
}
