//! Access tokens. The service issues HS256 JWTs of its own (algorithm pinned;
//! `exp`, `nbf`, `iss`, `aud` checked; bound to a login session) and can also
//! accept an external identity provider's tokens, signed with asymmetric keys
//! chosen by `kid`. Which key checks a token is decided by our configuration,
//! never by the token: a token naming an algorithm we did not configure for
//! that key is refused.

use std::collections::HashMap;
use std::time::Duration;

use jsonwebtoken::jwk::{AlgorithmParameters, JwkSet};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use super::caller::RoleGrant;
use crate::config::IdentityProviderConfig;
use crate::domain::{SessionId, UserId};
use crate::error::{AppError, ErrorCode};

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct GrantClaim {
    pub role: String,
    pub org: String,
}

/// Claims of the service's own access tokens.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub iss: String,
    pub aud: String,
    pub exp: i64,
    pub nbf: i64,
    pub iat: i64,
    pub jti: String,
    /// The login session; revoking it ends the token at once.
    pub sid: String,
    /// The roles held when the token was issued, for clients to show. Access is
    /// decided on the roles held now, read from the database.
    pub roles: Vec<GrantClaim>,
}

/// Claims read from an identity provider's token: only who it is.
#[derive(Clone, Debug, Deserialize)]
struct ExternalClaims {
    sub: String,
}

/// Who a valid token says the caller is.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Subject {
    Local {
        user: UserId,
        session: SessionId,
    },
    /// The identity provider's `sub`, linked to a user by `external_subject`.
    External {
        subject: String,
    },
}

struct LocalKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    issuer: String,
    audience: String,
    ttl: Duration,
}

struct ExternalKeys {
    /// Per `kid`: the key and the one algorithm it is used with.
    keys: HashMap<String, (DecodingKey, Algorithm)>,
    issuer: String,
    audience: String,
}

pub struct TokenService {
    local: LocalKeys,
    /// False when logins go through the identity provider only.
    local_accepted: bool,
    external: Option<ExternalKeys>,
}

pub struct IssuedToken {
    pub token: String,
    pub expires_in: u64,
}

fn refused(why: impl std::fmt::Display) -> AppError {
    AppError::new(
        ErrorCode::InvalidToken,
        format!("invalid access token: {why}"),
    )
}

/// A library refusal in words a client can act on: an expired token is
/// `token_expired` (refresh it); anything else is `invalid_token` (log in
/// again). The library's own text goes to the log only.
fn undecodable(err: jsonwebtoken::errors::Error) -> AppError {
    use jsonwebtoken::errors::ErrorKind as K;
    tracing::debug!(error = %err, "access token refused");
    let why = match err.kind() {
        K::ExpiredSignature => {
            return AppError::new(
                ErrorCode::TokenExpired,
                "the access token has expired; get a new one with POST /v1/auth/refresh",
            );
        }
        K::ImmatureSignature => "it is not valid yet".to_string(),
        K::InvalidSignature => "its signature does not verify".to_string(),
        K::InvalidIssuer => "it was issued by someone else".to_string(),
        K::InvalidAudience => "it is meant for another service".to_string(),
        K::InvalidSubject => "its subject is not accepted".to_string(),
        K::MissingRequiredClaim(claim) => format!("it has no {claim:?} claim"),
        K::InvalidAlgorithm | K::InvalidAlgorithmName | K::MissingAlgorithm => {
            "it is signed with an algorithm this service does not accept".to_string()
        }
        _ => "it is not a well-formed JWT".to_string(),
    };
    refused(why)
}

impl TokenService {
    pub fn new(secret: &[u8], issuer: &str, audience: &str, ttl: Duration) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[issuer]);
        validation.set_audience(&[audience]);
        validation.set_required_spec_claims(&["exp", "nbf", "iss", "aud", "sub"]);
        validation.validate_nbf = true;
        validation.leeway = 5;
        Self {
            local: LocalKeys {
                encoding: EncodingKey::from_secret(secret),
                decoding: DecodingKey::from_secret(secret),
                validation,
                issuer: issuer.to_string(),
                audience: audience.to_string(),
                ttl,
            },
            local_accepted: true,
            external: None,
        }
    }

    /// Refuse the service's own tokens (every login goes through the provider).
    pub fn without_local_tokens(mut self) -> Self {
        self.local_accepted = false;
        self
    }

    /// Also accept tokens of an external identity provider. Every key of the
    /// JWKS must carry a `kid` and be asymmetric, and each is bound to the one
    /// configured algorithm of its family.
    pub fn with_identity_provider(
        mut self,
        config: &IdentityProviderConfig,
        jwks: &str,
    ) -> Result<Self, String> {
        let mut algorithms = Vec::new();
        for name in &config.algorithms {
            let alg: Algorithm = name
                .parse()
                .map_err(|_| format!("unknown identity provider algorithm {name:?}"))?;
            if matches!(alg, Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512) {
                return Err(format!(
                    "identity provider algorithm {name} is symmetric; use RS256, ES256 or EdDSA"
                ));
            }
            algorithms.push(alg);
        }
        let set: JwkSet =
            serde_json::from_str(jwks).map_err(|e| format!("identity provider JWKS: {e}"))?;
        let mut keys = HashMap::new();
        for jwk in &set.keys {
            let kid = jwk
                .common
                .key_id
                .clone()
                .ok_or("every identity provider key needs a kid")?;
            if matches!(jwk.algorithm, AlgorithmParameters::OctetKey(_)) {
                return Err(format!("identity provider key {kid} is symmetric"));
            }
            let key = DecodingKey::from_jwk(jwk)
                .map_err(|e| format!("identity provider key {kid}: {e}"))?;
            // The key's own `alg` when it names one, else the configured
            // algorithm of the key's family.
            let declared = jwk
                .common
                .key_algorithm
                .and_then(|a| a.to_string().parse::<Algorithm>().ok());
            let alg = algorithms
                .iter()
                .copied()
                .filter(|a| a.family() == key.family())
                .find(|a| declared.is_none_or(|d| d == *a))
                .ok_or_else(|| {
                    format!("identity provider key {kid} matches none of the configured algorithms")
                })?;
            if keys.insert(kid.clone(), (key, alg)).is_some() {
                return Err(format!("identity provider kid {kid} appears twice"));
            }
        }
        if keys.is_empty() {
            return Err("the identity provider JWKS holds no keys".into());
        }
        self.external = Some(ExternalKeys {
            keys,
            issuer: config.issuer.clone(),
            audience: config.audience.clone(),
        });
        Ok(self)
    }

    pub fn issue(
        &self,
        user: UserId,
        session: SessionId,
        grants: &[RoleGrant],
    ) -> Result<IssuedToken, AppError> {
        let now = chrono::Utc::now().timestamp();
        let local = &self.local;
        let claims = Claims {
            sub: user.to_string(),
            iss: local.issuer.clone(),
            aud: local.audience.clone(),
            exp: now + local.ttl.as_secs() as i64,
            nbf: now,
            iat: now,
            jti: uuid::Uuid::now_v7().to_string(),
            sid: session.to_string(),
            roles: grants
                .iter()
                .map(|g| GrantClaim {
                    role: g.role.as_str().to_string(),
                    org: g.organisation_id.to_string(),
                })
                .collect(),
        };
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &local.encoding)
            .map_err(AppError::internal)?;
        Ok(IssuedToken {
            token,
            expires_in: local.ttl.as_secs(),
        })
    }

    /// Checks the signature and claims and returns who the token speaks for.
    pub fn verify(&self, token: &str) -> Result<Subject, AppError> {
        // `alg: none` and unknown algorithms fail here: the header does not parse.
        let header = jsonwebtoken::decode_header(token).map_err(undecodable)?;
        if header.alg == Algorithm::HS256 {
            if !self.local_accepted {
                return Err(refused(
                    "this service accepts identity provider tokens only",
                ));
            }
            return self.verify_local(token);
        }
        let Some(external) = &self.external else {
            return Err(refused(format!(
                "algorithm {:?} is not accepted",
                header.alg
            )));
        };
        let kid = header
            .kid
            .ok_or_else(|| refused("the token names no key (kid)"))?;
        let (key, alg) = external
            .keys
            .get(&kid)
            .ok_or_else(|| refused(format!("unknown key id {kid:?}")))?;
        if header.alg != *alg {
            return Err(refused(format!(
                "key {kid:?} is used with {alg:?}, not {:?}",
                header.alg
            )));
        }
        let mut validation = Validation::new(*alg);
        validation.set_issuer(&[&external.issuer]);
        validation.set_audience(&[&external.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.validate_nbf = true;
        validation.leeway = 5;
        let data =
            jsonwebtoken::decode::<ExternalClaims>(token, key, &validation).map_err(undecodable)?;
        let sub = &data.claims.sub;
        if sub.is_empty() || sub.len() > 255 || crate::domain::text::check(sub, false).is_err() {
            return Err(refused("bad subject"));
        }
        Ok(Subject::External {
            subject: data.claims.sub,
        })
    }

    fn verify_local(&self, token: &str) -> Result<Subject, AppError> {
        let data =
            jsonwebtoken::decode::<Claims>(token, &self.local.decoding, &self.local.validation)
                .map_err(undecodable)?;
        let claims = data.claims;
        Ok(Subject::Local {
            user: claims.sub.parse().map_err(|_| refused("bad subject"))?,
            session: claims.sid.parse().map_err(|_| refused("bad session"))?,
        })
    }
}
