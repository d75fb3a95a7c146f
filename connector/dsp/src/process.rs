//! What contract negotiations and transfer processes have in common: the two
//! roles, who is calling, and the typed failures a host reports.
//!
//! The connector implements the host traits ([`crate::negotiation::NegotiationHost`],
//! [`crate::transfer::TransferHost`]); the HTTP layer turns a [`ProtocolError`]
//! into the status and error body the DSP HTTPS bindings prescribe.

use std::convert::Infallible;
use std::fmt;

use axum::extract::FromRequestParts;
use axum::http::StatusCode;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;

/// The two parties of a process. As a message's sender it says who sent it;
/// as a host's `side` it says which role this connector plays in the process.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    Provider,
    Consumer,
}

impl Role {
    pub const ALL: [Role; 2] = [Role::Provider, Role::Consumer];

    /// The other party.
    pub fn counterpart(self) -> Role {
        match self {
            Role::Provider => Role::Consumer,
            Role::Consumer => Role::Provider,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Provider => "provider",
            Role::Consumer => "consumer",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Request extension an authentication layer inserts once it has verified who
/// the caller is (today: nothing does; DCP token verification will).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedParticipant(pub String);

/// Who sent a protocol request, as far as the authentication layer knows.
///
/// A struct, not a bare token, so that DCP can add what it verifies (claims,
/// credentials) without changing the host traits.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct CallerIdentity {
    /// The raw `Authorization` header value, if any. Never logged.
    pub authorization: Option<String>,
    /// The participant id an authentication layer verified (see [`VerifiedParticipant`]).
    pub participant_id: Option<String>,
}

impl CallerIdentity {
    /// An anonymous caller (no header, nothing verified).
    pub fn anonymous() -> Self {
        CallerIdentity::default()
    }

    /// A caller whose participant id was verified.
    pub fn participant(id: impl Into<String>) -> Self {
        CallerIdentity { authorization: None, participant_id: Some(id.into()) }
    }
}

impl fmt::Debug for CallerIdentity {
    // The token is a credential: show only whether there is one.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CallerIdentity")
            .field("authorization", &self.authorization.as_ref().map(|_| "<redacted>"))
            .field("participant_id", &self.participant_id)
            .finish()
    }
}

impl<S: Send + Sync> FromRequestParts<S> for CallerIdentity {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        // A header that is not visible ASCII cannot be a token any verifier accepts:
        // it is treated as absent rather than refused here, the host decides.
        let authorization = parts.headers.get(AUTHORIZATION).and_then(|v| v.to_str().ok()).map(str::to_string);
        let participant_id = parts.extensions.get::<VerifiedParticipant>().map(|p| p.0.clone());
        Ok(CallerIdentity { authorization, participant_id })
    }
}

/// Why a host refused a protocol message or a process lookup.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProtocolError {
    /// No such process, or the caller is not a party to it (the bindings
    /// require 404 in both cases, so that ids cannot be probed).
    #[error(
        "no process `{pid}` is known here for this caller: use the pid from the acknowledgement this connector returned"
    )]
    NotFound { pid: String },
    /// The message is not allowed in the process's current state.
    #[error("{0}")]
    IllegalTransition(String),
    /// The message is well-formed JSON-LD but cannot be accepted (unknown offer, agreement or pid mismatch).
    #[error("{0}")]
    BadRequest(String),
    /// No or invalid credentials.
    #[error("{0}")]
    Unauthorized(String),
    /// Authenticated but not allowed (e.g. the policy refuses this participant).
    #[error("{0}")]
    Forbidden(String),
    /// The host cannot answer now (store busy); the sender may retry.
    #[error("temporarily unavailable: {0}")]
    Unavailable(String),
    /// Anything else; the detail is logged, never sent.
    #[error("internal error: {0}")]
    Internal(String),
}

impl ProtocolError {
    pub fn status(&self) -> StatusCode {
        match self {
            ProtocolError::NotFound { .. } => StatusCode::NOT_FOUND,
            ProtocolError::IllegalTransition(_) | ProtocolError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ProtocolError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ProtocolError::Forbidden(_) => StatusCode::FORBIDDEN,
            ProtocolError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ProtocolError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// Machine-readable `code` of the error body.
    pub fn code(&self) -> &'static str {
        match self {
            ProtocolError::NotFound { .. } => "NOT_FOUND",
            ProtocolError::IllegalTransition(_) => "ILLEGAL_TRANSITION",
            ProtocolError::BadRequest(_) => "BAD_REQUEST",
            ProtocolError::Unauthorized(_) => "UNAUTHORIZED",
            ProtocolError::Forbidden(_) => "FORBIDDEN",
            ProtocolError::Unavailable(_) => "UNAVAILABLE",
            ProtocolError::Internal(_) => "INTERNAL_ERROR",
        }
    }

    /// The reason sent to the caller: internal details stay in the log.
    pub fn public_reason(&self) -> String {
        match self {
            ProtocolError::Internal(_) => {
                "the connector could not process this message because of an internal error; it has been logged"
                    .to_string()
            }
            other => other.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::Request;

    #[test]
    fn roles_are_each_others_counterpart() {
        for role in Role::ALL {
            assert_ne!(role.counterpart(), role);
            assert_eq!(role.counterpart().counterpart(), role);
        }
        assert_eq!(Role::Consumer.to_string(), "consumer");
    }

    #[test]
    fn caller_debug_never_shows_the_token() {
        let caller =
            CallerIdentity { authorization: Some("Bearer s3cret".into()), participant_id: Some("did:web:x".into()) };
        let shown = format!("{caller:?}");
        assert!(!shown.contains("s3cret") && shown.contains("redacted") && shown.contains("did:web:x"), "{shown}");
    }

    #[tokio::test]
    async fn caller_is_read_from_header_and_verified_extension() {
        let mut request = Request::builder().header(AUTHORIZATION, "Bearer abc").body(()).unwrap();
        request.extensions_mut().insert(VerifiedParticipant("did:web:lab.example".into()));
        let (mut parts, ()) = request.into_parts();
        let caller = CallerIdentity::from_request_parts(&mut parts, &()).await.unwrap();
        assert_eq!(caller.authorization.as_deref(), Some("Bearer abc"));
        assert_eq!(caller.participant_id.as_deref(), Some("did:web:lab.example"));

        let (mut parts, ()) = Request::builder().body(()).unwrap().into_parts();
        assert_eq!(CallerIdentity::from_request_parts(&mut parts, &()).await.unwrap(), CallerIdentity::anonymous());
    }

    #[test]
    fn statuses_follow_the_bindings_and_internal_details_stay_private() {
        assert_eq!(ProtocolError::NotFound { pid: "p".into() }.status(), StatusCode::NOT_FOUND);
        assert_eq!(ProtocolError::IllegalTransition("x".into()).status(), StatusCode::BAD_REQUEST);
        assert_eq!(ProtocolError::BadRequest("x".into()).status(), StatusCode::BAD_REQUEST);
        assert_eq!(ProtocolError::Unauthorized("x".into()).status(), StatusCode::UNAUTHORIZED);
        assert_eq!(ProtocolError::Forbidden("x".into()).status(), StatusCode::FORBIDDEN);
        assert_eq!(ProtocolError::Unavailable("x".into()).status(), StatusCode::SERVICE_UNAVAILABLE);
        let internal = ProtocolError::Internal("sqlite: disk I/O error at /var/lib/x".into());
        assert_eq!(internal.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert!(!internal.public_reason().contains("sqlite"));
        assert!(ProtocolError::NotFound { pid: "urn:uuid:1".into() }.public_reason().contains("urn:uuid:1"));
    }
}
