//! Configuration: defaults, then an optional TOML file, then `TIMEBANK_*`
//! variables, which win. Secrets are wrapped so they never reach a log.

use std::fmt;
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
        let parse_num = |name: &str, v: String| {
            v.parse::<u64>()
                .map_err(|_| format!("TIMEBANK_{name} must be a whole number, got {v:?}"))
        };

        let database_url = var("DATABASE_URL")
            .or(file.database_url)
            .unwrap_or_else(|| "timebank.db".to_string());
        let jwt_secret = var("JWT_SECRET").or(file.jwt_secret).map(Secret::new);
        if let Some(secret) = &jwt_secret
            && secret.expose().len() < MIN_SECRET_BYTES
        {
            return Err(format!(
                "TIMEBANK_JWT_SECRET must be at least {MIN_SECRET_BYTES} bytes"
            ));
        }
        let ttl = match var("ACCESS_TOKEN_TTL_SECONDS") {
            Some(v) => parse_num("ACCESS_TOKEN_TTL_SECONDS", v)?,
            None => file.access_token_ttl_seconds.unwrap_or(900),
        };
        let pool_size = match var("POOL_SIZE") {
            Some(v) => parse_num("POOL_SIZE", v)? as u32,
            None => file.pool_size.unwrap_or(16),
        };
        let max_batch = match var("MAX_BATCH") {
            Some(v) => parse_num("MAX_BATCH", v)? as usize,
            None => file.max_batch.unwrap_or(512),
        };
        let commit_delay_ms = match var("COMMIT_DELAY_MS") {
            Some(v) => parse_num("COMMIT_DELAY_MS", v)?,
            None => file.commit_delay_ms.unwrap_or(0),
        };
        let workers = match var("WORKERS") {
            Some(v) => parse_num("WORKERS", v)? as usize,
            None => file.workers.unwrap_or(0),
        };
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
        let pepper = var("PEPPER").or(file.pepper).map(Secret::new);
        if let Some(pepper) = &pepper
            && pepper.expose().len() < MIN_SECRET_BYTES
        {
            return Err(format!(
                "TIMEBANK_PEPPER must be at least {MIN_SECRET_BYTES} bytes"
            ));
        }
        let refresh_ttl = match var("REFRESH_TOKEN_TTL_SECONDS") {
            Some(v) => parse_num("REFRESH_TOKEN_TTL_SECONDS", v)?,
            None => file.refresh_token_ttl_seconds.unwrap_or(30 * 86_400),
        };
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
        let per_user_address = match var("LOGIN_MAX_FAILURES_PER_USER_AND_ADDRESS") {
            Some(v) => parse_num("LOGIN_MAX_FAILURES_PER_USER_AND_ADDRESS", v)? as u32,
            None => file.login_max_failures_per_user_and_address.unwrap_or(5),
        };
        let per_user = match var("LOGIN_MAX_FAILURES_PER_USER") {
            Some(v) => parse_num("LOGIN_MAX_FAILURES_PER_USER", v)? as u32,
            None => file.login_max_failures_per_user.unwrap_or(100),
        };
        let user_window = match var("LOGIN_USER_WINDOW_SECONDS") {
            Some(v) => parse_num("LOGIN_USER_WINDOW_SECONDS", v)?,
            None => file.login_user_window_seconds.unwrap_or(3600),
        };
        let per_address = match var("LOGIN_MAX_FAILURES_PER_ADDRESS") {
            Some(v) => parse_num("LOGIN_MAX_FAILURES_PER_ADDRESS", v)? as u32,
            None => file.login_max_failures_per_address.unwrap_or(20),
        };
        let window = match var("LOGIN_WINDOW_SECONDS") {
            Some(v) => parse_num("LOGIN_WINDOW_SECONDS", v)?,
            None => file.login_window_seconds.unwrap_or(900),
        };
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
        Ok(Self {
            database_url: DatabaseUrl::parse(&database_url)?,
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
            access_token_ttl: Duration::from_secs(ttl.clamp(60, 86_400)),
            pool_size: pool_size.clamp(2, 256),
            max_batch: max_batch.clamp(1, 4096),
            commit_delay: Duration::from_millis(commit_delay_ms.min(1_000)),
            log_format,
            log_filter: var("LOG").or(file.log).unwrap_or_else(|| "info".into()),
            workers,
            refresh_token_ttl: Duration::from_secs(refresh_ttl.clamp(300, 365 * 86_400)),
            password_login,
            pepper,
            login_limits: LoginLimits {
                per_user_address: per_user_address.max(1),
                per_address: per_address.max(1),
                window: Duration::from_secs(window.clamp(1, 86_400)),
                per_user: per_user.max(1),
                user_window: Duration::from_secs(user_window.clamp(1, 86_400)),
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
    fn secrets_do_not_print() {
        let c = with(&[("TIMEBANK_JWT_SECRET", &"s".repeat(40))]).unwrap();
        assert!(!format!("{c:?}").contains("ssss"));
    }
}
