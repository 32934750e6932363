//! Access tokens: HS256 JWTs with the algorithm pinned and `exp`, `nbf`, `iss`
//! and `aud` checked.

use std::time::Duration;

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use super::caller::{Caller, RoleGrant};
use crate::domain::UserId;
use crate::error::AppError;

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct GrantClaim {
    pub role: String,
    pub org: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub iss: String,
    pub aud: String,
    pub exp: i64,
    pub nbf: i64,
    pub iat: i64,
    pub jti: String,
    pub roles: Vec<GrantClaim>,
}

#[derive(Clone)]
pub struct TokenService {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    issuer: String,
    audience: String,
    ttl: Duration,
}

pub struct IssuedToken {
    pub token: String,
    pub expires_in: u64,
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
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
            issuer: issuer.to_string(),
            audience: audience.to_string(),
            ttl,
        }
    }

    pub fn issue(&self, user: UserId, grants: &[RoleGrant]) -> Result<IssuedToken, AppError> {
        let now = chrono::Utc::now().timestamp();
        let claims = Claims {
            sub: user.to_string(),
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            exp: now + self.ttl.as_secs() as i64,
            nbf: now,
            iat: now,
            jti: uuid::Uuid::now_v7().to_string(),
            roles: grants
                .iter()
                .map(|g| GrantClaim {
                    role: g.role.as_str().to_string(),
                    org: g.organisation_id.to_string(),
                })
                .collect(),
        };
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(AppError::internal)?;
        Ok(IssuedToken {
            token,
            expires_in: self.ttl.as_secs(),
        })
    }

    /// Checks the signature and claims and returns the caller they prove.
    pub fn verify(&self, token: &str) -> Result<Caller, AppError> {
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map_err(|e| AppError::unauthorized(format!("invalid access token: {e}")))?;
        let claims = data.claims;
        let bad = |what: &str| AppError::unauthorized(format!("invalid access token: bad {what}"));
        let user_id = claims.sub.parse().map_err(|_| bad("subject"))?;
        let grants = claims
            .roles
            .iter()
            .map(|g| {
                Ok(RoleGrant {
                    role: g.role.parse().map_err(|_| bad("role"))?,
                    organisation_id: g.org.parse().map_err(|_| bad("organisation"))?,
                })
            })
            .collect::<Result<_, AppError>>()?;
        Ok(Caller { user_id, grants })
    }
}
