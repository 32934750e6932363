//! Configuration: defaults, then an optional TOML file, then `TIMEBANK_*`
//! variables, which win. Secrets are wrapped so they never reach a log.

use std::fmt;
use std::ops::RangeInclusive;
use std::path::Path;
use std::time::Duration;

use serde::Deserialize;

use crate::store::DatabaseUrl;

/// A value that must not be printed.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: String) -> Self {
        Self(value)
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Pretty,
    Json,
}

#[derive(Clone, Debug)]
pub struct Config {
    pub database_url: DatabaseUrl,
    pub bind: String,
    /// HS256 signing secret; generated and kept in the database when absent.
    pub jwt_secret: Option<Secret>,
    pub jwt_issuer: String,
    pub jwt_audience: String,
    pub access_token_ttl: Duration,
    pub pool_size: u32,
    /// Most transfers committed together by the writer.
    pub max_batch: usize,
    /// How long the writer waits for more requests to join a batch.
    pub commit_delay: Duration,
    pub log_format: LogFormat,
    pub log_filter: String,
    /// HTTP worker threads (0: one per core).
    pub workers: usize,
    /// Lifetime of a refresh token (each use rotates it).
    pub refresh_token_ttl: Duration,
    /// Whether `POST /v1/auth/token` accepts username and password (off when an
    /// external identity provider does all logins).
    pub password_login: bool,
    /// Key for the keyed hashes of phone numbers; generated and kept in the
    /// database when absent.
    pub pepper: Option<Secret>,
    pub login_limits: LoginLimits,
    /// Accept access tokens of an external identity provider as well.
    pub identity_provider: Option<IdentityProviderConfig>,
    /// The scheme's time zone, for "a day" of service (daily caps, this month).
    pub service_zone: chrono::FixedOffset,
    /// Hours of service for each star level, ascending (one to five stars).
    pub star_hours: Vec<u32>,
    /// Which service records wait for a second person's approval.
    pub approval: crate::domain::ApprovalPolicy,
}

/// Failed-login throttling. Per username from one address and per address,
/// in `window`; per username from every address together, a higher ceiling
/// in the longer `user_window`, so that one address guessing a name never
/// locks its owner out elsewhere, while guessing stays bounded.
#[derive(Clone, Copy, Debug)]
pub struct LoginLimits {
    pub per_user_address: u32,
    pub per_address: u32,
    pub window: Duration,
    pub per_user: u32,
    pub user_window: Duration,
}

impl LoginLimits {
    /// The longest window: counters older than this count for nothing.
    pub fn longest_window(&self) -> Duration {
        self.window.max(self.user_window)
    }
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdentityProviderConfig {
    pub issuer: String,
    pub audience: String,
    /// Asymmetric algorithms only, e.g. `["RS256", "EdDSA"]`.
    #[serde(default = "default_idp_algorithms")]
    pub algorithms: Vec<String>,
    /// A JWKS document (`{"keys": [...]}`, each key with its `kid`).
    pub jwks_file: std::path::PathBuf,
}

fn default_idp_algorithms() -> Vec<String> {
    vec!["RS256".into(), "EdDSA".into()]
}

/// The file's shape: every key optional, unknown keys refused.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    database_url: Option<String>,
    bind: Option<String>,
    jwt_secret: Option<String>,
    jwt_issuer: Option<String>,
    jwt_audience: Option<String>,
    access_token_ttl_seconds: Option<u64>,
    pool_size: Option<u32>,
    max_batch: Option<usize>,
    commit_delay_ms: Option<u64>,
    log_format: Option<LogFormat>,
    log: Option<String>,
    workers: Option<usize>,
    refresh_token_ttl_seconds: Option<u64>,
    password_login: Option<bool>,
    pepper: Option<String>,
    login_max_failures_per_user_and_address: Option<u32>,
    login_max_failures_per_user: Option<u32>,
    login_max_failures_per_address: Option<u32>,
    login_window_seconds: Option<u64>,
    login_user_window_seconds: Option<u64>,
    identity_provider: Option<IdentityProviderConfig>,
    service_utc_offset: Option<String>,
    star_hours: Option<Vec<u32>>,
    approval_over_minutes: Option<u64>,
    approval_night_over_minutes: Option<u64>,
    night_hours: Option<String>,
}

pub const MIN_SECRET_BYTES: usize = 32;

impl Config {
    /// Reads the optional file and the process environment.
    pub fn load(file: Option<&Path>) -> Result<Self, String> {
        let from_file = match file {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
                toml::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?
            }
            None => FileConfig::default(),
        };
        Self::build(from_file, |name| std::env::var(name).ok())
    }

    fn build(file: FileConfig, env: impl Fn(&str) -> Option<String>) -> Result<Self, String> {
        let var = |name: &str| env(&format!("TIMEBANK_{name}")).filter(|v| !v.is_empty());
        // A secret given as `TIMEBANK_{name}` or read from the file named by
        // `TIMEBANK_{name}_FILE` (Docker and Kubernetes secrets), never both.
        let secret_var = |name: &str| -> Result<Option<String>, String> {
            match (var(name), var(&format!("{name}_FILE"))) {
                (Some(_), Some(_)) => Err(format!(
                    "set TIMEBANK_{name} or TIMEBANK_{name}_FILE, not both"
                )),
                (value, None) => Ok(value),
                (None, Some(path)) => {
                    let text = std::fs::read_to_string(&path)
                        .map_err(|e| format!("TIMEBANK_{name}_FILE: cannot read {path}: {e}"))?;
                    // Files written by `echo` or an editor end in a newline.
                    let value = text.trim_end_matches(['\n', '\r']);
                    if value.is_empty() {
                        return Err(format!("TIMEBANK_{name}_FILE: {path} is empty"));
                    }
                    Ok(Some(value.to_string()))
                }
            }
        };
        // A number from the environment, else the file, else the default; out of
        // its range it is refused, never bent into it.
        let number = |name: &str,
                      from_file: Option<u64>,
                      default: u64,
                      range: RangeInclusive<u64>|
         -> Result<u64, String> {
            let (value, source) = match var(name) {
                Some(v) => (
                    v.parse::<u64>().map_err(|_| {
                        format!("TIMEBANK_{name} must be a whole number, got {v:?}")
                    })?,
                    format!("TIMEBANK_{name}"),
                ),
                None => (
                    from_file.unwrap_or(default),
                    format!("{} in the configuration file", name.to_lowercase()),
                ),
            };
            if !range.contains(&value) {
                return Err(format!(
                    "{source} must be from {} to {}, got {value}",
                    range.start(),
                    range.end()
                ));
            }
            Ok(value)
        };
        let widen = |v: Option<u32>| v.map(u64::from);
        let widen_usize = |v: Option<usize>| v.map(|v| v as u64);

        let database_url = secret_var("DATABASE_URL")?
            .or(file.database_url)
            .unwrap_or_else(|| "timebank.db".to_string());
        let mut database_url = DatabaseUrl::parse(&database_url)?;
        if let Some(password) = secret_var("DATABASE_PASSWORD")? {
            database_url = database_url.with_password(&password)?;
        }
        let jwt_secret = secret_var("JWT_SECRET")?
            .or(file.jwt_secret)
            .map(Secret::new);
        if let Some(secret) = &jwt_secret
            && secret.expose().len() < MIN_SECRET_BYTES
        {
            return Err(format!(
                "TIMEBANK_JWT_SECRET must be at least {MIN_SECRET_BYTES} bytes"
            ));
        }
        let ttl = number(
            "ACCESS_TOKEN_TTL_SECONDS",
            file.access_token_ttl_seconds,
            900,
            60..=86_400,
        )?;
        let pool_size = number("POOL_SIZE", widen(file.pool_size), 16, 2..=256)?;
        let max_batch = number("MAX_BATCH", widen_usize(file.max_batch), 512, 1..=4096)?;
        let commit_delay_ms = number("COMMIT_DELAY_MS", file.commit_delay_ms, 0, 0..=1_000)?;
        let workers = number("WORKERS", widen_usize(file.workers), 0, 0..=1_024)?;
        let log_format = match var("LOG_FORMAT").as_deref() {
            Some("json") => LogFormat::Json,
            Some("pretty") => LogFormat::Pretty,
            Some(other) => {
                return Err(format!(
                    "TIMEBANK_LOG_FORMAT must be json or pretty, got {other:?}"
                ));
            }
            None => file.log_format.unwrap_or(LogFormat::Pretty),
        };
        let log_filter = var("LOG").or(file.log).unwrap_or_else(|| "info".into());
        if let Err(e) = tracing_subscriber::EnvFilter::try_new(&log_filter) {
            return Err(format!(
                "TIMEBANK_LOG is not a log filter (e.g. info or timebank=debug,warn): {log_filter:?}: {e}"
            ));
        }
        let pepper = secret_var("PEPPER")?.or(file.pepper).map(Secret::new);
        if let Some(pepper) = &pepper
            && pepper.expose().len() < MIN_SECRET_BYTES
        {
            return Err(format!(
                "TIMEBANK_PEPPER must be at least {MIN_SECRET_BYTES} bytes"
            ));
        }
        let refresh_ttl = number(
            "REFRESH_TOKEN_TTL_SECONDS",
            file.refresh_token_ttl_seconds,
            30 * 86_400,
            300..=365 * 86_400,
        )?;
        let password_login = match var("PASSWORD_LOGIN").as_deref() {
            Some("true" | "1" | "yes") => true,
            Some("false" | "0" | "no") => false,
            Some(other) => {
                return Err(format!(
                    "TIMEBANK_PASSWORD_LOGIN must be true or false, got {other:?}"
                ));
            }
            None => file.password_login.unwrap_or(true),
        };
        let per_user_address = number(
            "LOGIN_MAX_FAILURES_PER_USER_AND_ADDRESS",
            widen(file.login_max_failures_per_user_and_address),
            5,
            1..=10_000,
        )?;
        let per_user = number(
            "LOGIN_MAX_FAILURES_PER_USER",
            widen(file.login_max_failures_per_user),
            100,
            1..=10_000,
        )?;
        let user_window = number(
            "LOGIN_USER_WINDOW_SECONDS",
            file.login_user_window_seconds,
            3600,
            1..=86_400,
        )?;
        let per_address = number(
            "LOGIN_MAX_FAILURES_PER_ADDRESS",
            widen(file.login_max_failures_per_address),
            20,
            1..=10_000,
        )?;
        let window = number(
            "LOGIN_WINDOW_SECONDS",
            file.login_window_seconds,
            900,
            1..=86_400,
        )?;
        let identity_provider = match (
            var("IDP_ISSUER"),
            var("IDP_AUDIENCE"),
            var("IDP_JWKS_FILE"),
            file.identity_provider,
        ) {
            (Some(issuer), Some(audience), Some(jwks), _) => Some(IdentityProviderConfig {
                issuer,
                audience,
                algorithms: var("IDP_ALGORITHMS")
                    .map(|v| v.split(',').map(|a| a.trim().to_string()).collect())
                    .unwrap_or_else(default_idp_algorithms),
                jwks_file: jwks.into(),
            }),
            (None, None, None, from_file) => from_file,
            _ => {
                return Err(
                    "set all of TIMEBANK_IDP_ISSUER, TIMEBANK_IDP_AUDIENCE and TIMEBANK_IDP_JWKS_FILE, or none"
                        .into(),
                );
            }
        };
        if !password_login && identity_provider.is_none() {
            return Err(
                "TIMEBANK_PASSWORD_LOGIN=false needs an identity provider (TIMEBANK_IDP_*)".into(),
            );
        }
        let offset = var("SERVICE_UTC_OFFSET")
            .or(file.service_utc_offset)
            .unwrap_or_else(|| "+08:00".into());
        let service_zone = offset.parse::<chrono::FixedOffset>().map_err(|_| {
            format!("TIMEBANK_SERVICE_UTC_OFFSET must be an offset such as +08:00, got {offset:?}")
        })?;
        let star_hours = match var("STAR_HOURS") {
            Some(list) => list
                .split(',')
                .map(|h| h.trim().parse::<u32>())
                .collect::<Result<Vec<_>, _>>()
                .map_err(|_| format!("TIMEBANK_STAR_HOURS must be hours such as 100,300,600,1000,1500, got {list:?}"))?,
            None => file.star_hours.unwrap_or_else(|| vec![100, 300, 600, 1000, 1500]),
        };
        if star_hours.is_empty()
            || star_hours.windows(2).any(|w| w[0] >= w[1])
            || star_hours[0] == 0
        {
            return Err("TIMEBANK_STAR_HOURS must be rising hours above zero, such as 100,300,600,1000,1500".into());
        }
        let defaults = crate::domain::ApprovalPolicy::default();
        let night_text = var("NIGHT_HOURS").or(file.night_hours);
        let night = match night_text {
            Some(text) => crate::domain::NightHours::parse(&text)
                .map_err(|why| format!("TIMEBANK_NIGHT_HOURS: {why}, got {text:?}"))?,
            None => defaults.night,
        };
        let approval = crate::domain::ApprovalPolicy {
            max_minutes: number(
                "APPROVAL_OVER_MINUTES",
                file.approval_over_minutes,
                u64::from(defaults.max_minutes),
                1..=1440,
            )? as u32,
            night_max_minutes: number(
                "APPROVAL_NIGHT_OVER_MINUTES",
                file.approval_night_over_minutes,
                u64::from(defaults.night_max_minutes),
                1..=1440,
            )? as u32,
            night,
        };
        // The ranges above bound every value, so these conversions are exact.
        Ok(Self {
            service_zone,
            star_hours,
            approval,
            database_url,
            bind: var("BIND")
                .or(file.bind)
                .unwrap_or_else(|| "127.0.0.1:8080".into()),
            jwt_secret,
            jwt_issuer: var("JWT_ISSUER")
                .or(file.jwt_issuer)
                .unwrap_or_else(|| "timebank".into()),
            jwt_audience: var("JWT_AUDIENCE")
                .or(file.jwt_audience)
                .unwrap_or_else(|| "timebank-api".into()),
            access_token_ttl: Duration::from_secs(ttl),
            pool_size: pool_size as u32,
            max_batch: max_batch as usize,
            commit_delay: Duration::from_millis(commit_delay_ms),
            log_format,
            log_filter,
            workers: workers as usize,
            refresh_token_ttl: Duration::from_secs(refresh_ttl),
            password_login,
            pepper,
            login_limits: LoginLimits {
                per_user_address: per_user_address as u32,
                per_address: per_address as u32,
                window: Duration::from_secs(window),
                per_user: per_user as u32,
                user_window: Duration::from_secs(user_window),
            },
            identity_provider,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn with(vars: &[(&str, &str)]) -> Result<Config, String> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::build(FileConfig::default(), |k| map.get(k).cloned())
    }

    #[test]
    fn defaults_are_the_embedded_database_on_loopback() {
        let c = with(&[]).unwrap();
        assert_eq!(c.bind, "127.0.0.1:8080");
        assert_eq!(c.database_url.target(), "timebank.db");
        assert!(c.jwt_secret.is_none());
        assert_eq!(c.access_token_ttl, Duration::from_secs(900));
    }

    #[test]
    fn short_secrets_are_refused() {
        assert!(with(&[("TIMEBANK_JWT_SECRET", "short")]).is_err());
        assert!(with(&[("TIMEBANK_JWT_SECRET", &"x".repeat(32))]).is_ok());
    }

    #[test]
    fn environment_wins_over_the_file() {
        let file: FileConfig = toml::from_str("bind = \"0.0.0.0:1\"\npool_size = 4").unwrap();
        let c = Config::build(file, |k| {
            (k == "TIMEBANK_BIND").then(|| "127.0.0.1:2".into())
        })
        .unwrap();
        assert_eq!((c.bind.as_str(), c.pool_size), ("127.0.0.1:2", 4));
        assert!(toml::from_str::<FileConfig>("nonsense = 1").is_err());
    }

    #[test]
    fn the_file_names_an_identity_provider_in_a_table_of_its_own() {
        let file: FileConfig = toml::from_str(
            "[identity_provider]\nissuer = \"https://id.example.org\"\naudience = \"timebank\"\njwks_file = \"/etc/timebank/jwks.json\"\n",
        )
        .unwrap();
        let c = Config::build(file, |_| None).unwrap();
        let idp = c.identity_provider.expect("identity provider");
        assert_eq!(idp.issuer, "https://id.example.org");
        assert_eq!(idp.algorithms, vec!["RS256", "EdDSA"]);
        assert!(toml::from_str::<FileConfig>("idp_issuer = \"x\"").is_err());
    }

    #[test]
    fn settings_out_of_range_are_refused_not_bent() {
        let refused = with(&[("TIMEBANK_ACCESS_TOKEN_TTL_SECONDS", "10")]).unwrap_err();
        assert_eq!(
            refused,
            "TIMEBANK_ACCESS_TOKEN_TTL_SECONDS must be from 60 to 86400, got 10"
        );
        for (name, bad) in [
            ("POOL_SIZE", "1"),
            ("POOL_SIZE", "257"),
            ("MAX_BATCH", "0"),
            ("MAX_BATCH", "4097"),
            ("COMMIT_DELAY_MS", "1001"),
            ("WORKERS", "1025"),
            ("REFRESH_TOKEN_TTL_SECONDS", "299"),
            ("LOGIN_MAX_FAILURES_PER_USER", "0"),
            ("LOGIN_MAX_FAILURES_PER_ADDRESS", "4294967297"),
            ("LOGIN_WINDOW_SECONDS", "86401"),
            ("LOGIN_MAX_FAILURES_PER_USER_AND_ADDRESS", "0"),
            ("LOGIN_USER_WINDOW_SECONDS", "0"),
        ] {
            let err = with(&[(&format!("TIMEBANK_{name}"), bad)]).unwrap_err();
            assert!(
                err.starts_with(&format!("TIMEBANK_{name} must be from")),
                "{err}"
            );
        }
        let c = with(&[("TIMEBANK_ACCESS_TOKEN_TTL_SECONDS", "60")]).unwrap();
        assert_eq!(c.access_token_ttl, Duration::from_secs(60));
        let file: FileConfig = toml::from_str("pool_size = 1000").unwrap();
        let err = Config::build(file, |_| None).unwrap_err();
        assert_eq!(
            err,
            "pool_size in the configuration file must be from 2 to 256, got 1000"
        );
    }

    #[test]
    fn an_invalid_log_filter_is_refused() {
        let err = with(&[("TIMEBANK_LOG", "timebank=loud")]).unwrap_err();
        assert!(err.starts_with("TIMEBANK_LOG is not a log filter"), "{err}");
        assert!(with(&[("TIMEBANK_LOG", "timebank=debug,warn")]).is_ok());
    }

    #[test]
    fn secrets_can_come_from_files() {
        let dir = tempfile::tempdir().unwrap();
        let write = |name: &str, text: &str| {
            let path = dir.path().join(name);
            std::fs::write(&path, text).unwrap();
            path.display().to_string()
        };
        let secret = write("jwt", &format!("{}\n", "j".repeat(40)));
        let pepper = write("pepper", &"p".repeat(32));
        let url = write("url", "postgres://tb@db/tb\n");
        let password = write("password", "s3cret/with@\n");
        let c = with(&[
            ("TIMEBANK_JWT_SECRET_FILE", &secret),
            ("TIMEBANK_PEPPER_FILE", &pepper),
            ("TIMEBANK_DATABASE_URL_FILE", &url),
            ("TIMEBANK_DATABASE_PASSWORD_FILE", &password),
        ])
        .unwrap();
        assert_eq!(c.jwt_secret.unwrap().expose(), "j".repeat(40));
        assert_eq!(c.pepper.unwrap().expose(), "p".repeat(32));
        assert_eq!(
            c.database_url.target(),
            "postgres://tb:s3cret%2Fwith%40@db/tb"
        );

        let both = with(&[
            ("TIMEBANK_PEPPER_FILE", &pepper),
            ("TIMEBANK_PEPPER", &"q".repeat(32)),
        ]);
        assert_eq!(
            both.unwrap_err(),
            "set TIMEBANK_PEPPER or TIMEBANK_PEPPER_FILE, not both"
        );
        let missing = with(&[("TIMEBANK_JWT_SECRET_FILE", "/nonexistent/jwt")]).unwrap_err();
        assert!(missing.starts_with("TIMEBANK_JWT_SECRET_FILE: cannot read /nonexistent/jwt"));
        let short = write("short", "tiny\n");
        assert!(with(&[("TIMEBANK_JWT_SECRET_FILE", &short)]).is_err());
        let empty = write("empty", "\n");
        assert!(with(&[("TIMEBANK_PEPPER_FILE", &empty)]).is_err());
        let sqlite = with(&[("TIMEBANK_DATABASE_PASSWORD", "plain")]).unwrap_err();
        assert_eq!(sqlite, "TIMEBANK_DATABASE_PASSWORD is for PostgreSQL only");
    }

    #[test]
    fn secrets_do_not_print() {
        let c = with(&[("TIMEBANK_JWT_SECRET", &"s".repeat(40))]).unwrap();
        assert!(!format!("{c:?}").contains("ssss"));
    }
}
