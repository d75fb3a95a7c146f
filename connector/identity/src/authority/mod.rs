//! The data-space authority: onboards participants, issues their membership
//! credentials, revokes or suspends them, and publishes its status lists.
//!
//! Its state is a plain serializable value ([`AuthorityState`]): the member records.
//! The two bitstrings are derived from it (a member's `revoked`/`suspended` flags), so
//! nothing else needs storing. Every change is saved through an [`AuthorityStore`]
//! before it takes effect, and a failed save leaves the authority unchanged.

mod routes;

pub use routes::{admin_routes, public_routes};

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use futures::future::BoxFuture;
use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

use crate::clock::Clock;
use crate::dcp::Identity;
use crate::did::{DidResolver, split_did_url};
use crate::status::{StatusList, StatusListEntry, StatusPurpose};
use crate::trust::TrustList;
use crate::vc::gaiax::{GaiaxError, LegalPerson, RegistrationNumber};
use crate::vc::membership::{Membership, Role};
use crate::vc::{CredentialError, CredentialVerifier, PresentationError, VerifiedCredential, types};

/// How the authority is set up.
#[derive(Debug, Clone)]
pub struct AuthorityConfig {
    pub identity: Identity,
    /// Base URL where [`public_routes`] are mounted; status lists live at `<public_url>/status/<purpose>`.
    pub public_url: String,
    /// Whom to believe about registration numbers (and LegalPerson self-issuance).
    pub trust: TrustList,
    pub membership_validity: Duration,
    /// Lifetime of a signed status list credential; it is re-signed at half-life or on change.
    pub status_list_validity: Duration,
    pub leeway: Duration,
}

impl AuthorityConfig {
    /// One-year memberships, one-day status lists, 30 s leeway.
    pub fn new(identity: Identity, public_url: &str, trust: TrustList) -> AuthorityConfig {
        AuthorityConfig {
            identity,
            public_url: public_url.trim_end_matches('/').to_string(),
            trust,
            membership_validity: Duration::days(365),
            status_list_validity: Duration::days(1),
            leeway: Duration::seconds(30),
        }
    }
}

/// One issued membership.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MemberRecord {
    pub credential_id: String,
    pub did: String,
    pub role: Role,
    pub legal_name: String,
    pub country: String,
    /// The bit of this membership in both status lists.
    pub status_index: usize,
    pub issued_at: i64,
    pub valid_until: i64,
    pub revoked: bool,
    pub suspended: bool,
}

/// Everything the authority must persist.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthorityState {
    /// By credential id.
    pub members: BTreeMap<String, MemberRecord>,
}

/// Persists the authority state (the connector stores it in its database).
pub trait AuthorityStore: Send + Sync {
    fn save<'a>(&'a self, state: &'a AuthorityState) -> BoxFuture<'a, Result<(), String>>;
}

/// Keeps the last saved state in memory.
#[derive(Debug, Default)]
pub struct InMemoryAuthorityStore {
    saved: Mutex<Option<AuthorityState>>,
}

impl InMemoryAuthorityStore {
    pub fn new() -> InMemoryAuthorityStore {
        InMemoryAuthorityStore::default()
    }

    pub fn last(&self) -> Option<AuthorityState> {
        self.saved.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

impl AuthorityStore for InMemoryAuthorityStore {
    fn save<'a>(&'a self, state: &'a AuthorityState) -> BoxFuture<'a, Result<(), String>> {
        *self.saved.lock().unwrap_or_else(|e| e.into_inner()) = Some(state.clone());
        Box::pin(async { Ok(()) })
    }
}

/// A participant's request to join: its presentation (addressed to the authority) of its
/// self-issued LegalPerson and its registration-number credential, and the role it takes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OnboardingRequest {
    pub presentation: String,
    pub role: Role,
}

/// The outcome of a successful onboarding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Onboarded {
    pub credential_id: String,
    /// The membership credential (`vc+jwt`) to store in the member's credential service.
    pub credential: String,
    pub member: MemberRecord,
}

/// Why onboarding is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OnboardingError {
    #[error(transparent)]
    Presentation(#[from] PresentationError),
    #[error("credential {id}: {source}")]
    Credential { id: String, source: CredentialError },
    #[error("credential {id} is about {subject:?}, not about the applicant {holder}")]
    HolderMismatch { id: String, holder: String, subject: Option<String> },
    #[error("credential {id} ({types:?}) is issued by {issuer}, who is not trusted for it")]
    UntrustedIssuer { id: String, issuer: String, types: Vec<String> },
    #[error("no {0} credential in the presentation")]
    Missing(&'static str),
    #[error("the LegalPerson credential is invalid: {0}")]
    LegalPerson(GaiaxError),
    #[error("the LegalPerson must be self-issued by {holder}, it is issued by {issuer}")]
    LegalPersonNotSelfIssued { holder: String, issuer: String },
    #[error("the registration-number credential is invalid: {0}")]
    RegistrationNumber(GaiaxError),
    #[error("the LegalPerson's registration number differs from the one the registration-number credential attests")]
    RegistrationMismatch,
    #[error("{did} is already a member (credential {credential_id}); revoke it before onboarding again")]
    AlreadyMember { did: String, credential_id: String },
    #[error(transparent)]
    Authority(#[from] AuthorityError),
}

impl OnboardingError {
    /// HTTP status: 400 for unusable submissions, 403 for failed checks, 409 for duplicates.
    pub fn status(&self) -> axum::http::StatusCode {
        use axum::http::StatusCode;
        match self {
            OnboardingError::Presentation(PresentationError::Jws(_) | PresentationError::NotVpJwt { .. })
            | OnboardingError::Presentation(PresentationError::NotAPresentation(_))
            | OnboardingError::Missing(_)
            | OnboardingError::LegalPerson(_)
            | OnboardingError::RegistrationNumber(_) => StatusCode::BAD_REQUEST,
            OnboardingError::AlreadyMember { .. } => StatusCode::CONFLICT,
            OnboardingError::Authority(e) => e.status(),
            _ => StatusCode::FORBIDDEN,
        }
    }
}

/// Why an authority operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthorityError {
    #[error("no membership {0}")]
    UnknownMember(String),
    #[error("membership {0} is revoked; revocation is permanent")]
    Revoked(String),
    #[error("the status lists are full; start a new list")]
    ListFull,
    #[error("the stored authority state is inconsistent: {0}")]
    InconsistentState(String),
    #[error("saving the authority state failed: {0}")]
    Store(String),
    #[error("signing failed: {0}")]
    Sign(String),
}

impl AuthorityError {
    pub fn status(&self) -> axum::http::StatusCode {
        use axum::http::StatusCode;
        match self {
            AuthorityError::UnknownMember(_) => StatusCode::NOT_FOUND,
            AuthorityError::Revoked(_) => StatusCode::CONFLICT,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

struct Inner {
    state: AuthorityState,
    revocation: StatusList,
    suspension: StatusList,
    /// Signed status list credentials and when they were signed.
    published: HashMap<StatusPurpose, (String, OffsetDateTime)>,
}

/// The authority.
pub struct Authority {
    config: AuthorityConfig,
    verifier: CredentialVerifier,
    clock: Arc<dyn Clock>,
    store: Arc<dyn AuthorityStore>,
    inner: futures::lock::Mutex<Inner>,
}

impl Authority {
    /// Starts from a previously saved `state` (or `AuthorityState::default()`).
    pub fn new(
        config: AuthorityConfig,
        resolver: Arc<dyn DidResolver>,
        clock: Arc<dyn Clock>,
        state: AuthorityState,
        store: Arc<dyn AuthorityStore>,
    ) -> Result<Authority, AuthorityError> {
        let (revocation, suspension) = lists_of(&state)?;
        let verifier = CredentialVerifier::new(resolver, clock.clone(), config.leeway);
        let inner = Inner { state, revocation, suspension, published: HashMap::new() };
        Ok(Authority { config, verifier, clock, store, inner: futures::lock::Mutex::new(inner) })
    }

    pub fn identity(&self) -> &Identity {
        &self.config.identity
    }

    /// Where the status list for `purpose` is published.
    pub fn status_list_url(&self, purpose: StatusPurpose) -> String {
        format!("{}/status/{}", self.config.public_url, purpose.as_str())
    }

    /// Checks the applicant's presentation and, if it holds, issues its membership.
    pub async fn onboard(&self, request: &OnboardingRequest) -> Result<Onboarded, OnboardingError> {
        let authority = self.config.identity.did().as_str();
        let vp = self.verifier.verify_presentation(&request.presentation, authority).await?;
        let holder = vp.holder.clone();
        let mut verified = Vec::new();
        for jwt in &vp.credentials {
            let credential = self
                .verifier
                .verify_credential(jwt)
                .await
                .map_err(|source| OnboardingError::Credential { id: crate::vc::credential_label(jwt), source })?;
            let c = &credential.credential;
            let subject = c.subject_id();
            if subject.map(|s| split_did_url(s).0) != Some(holder.as_str()) {
                return Err(OnboardingError::HolderMismatch {
                    id: credential.label(),
                    holder: holder.to_string(),
                    subject: subject.map(String::from),
                });
            }
            if !self.config.trust.is_trusted(&c.types, &c.issuer, subject) {
                return Err(OnboardingError::UntrustedIssuer {
                    id: credential.label(),
                    issuer: c.issuer.clone(),
                    types: c.types.clone(),
                });
            }
            verified.push(credential);
        }
        let find = |kind: &'static str| -> Result<&VerifiedCredential, OnboardingError> {
            verified.iter().find(|c| c.credential.has_type(kind)).ok_or(OnboardingError::Missing(kind))
        };
        let legal = find(types::LEGAL_PERSON)?;
        if legal.credential.issuer != holder.as_str() {
            return Err(OnboardingError::LegalPersonNotSelfIssued {
                holder: holder.to_string(),
                issuer: legal.credential.issuer.clone(),
            });
        }
        let person =
            LegalPerson::from_subject(&legal.credential.credential_subject).map_err(OnboardingError::LegalPerson)?;
        let attested = RegistrationNumber::from_json(&find(types::REGISTRATION_NUMBER)?.credential.credential_subject)
            .map_err(OnboardingError::RegistrationNumber)?;
        if attested != person.registration_number {
            return Err(OnboardingError::RegistrationMismatch);
        }
        let membership = Membership {
            member: holder,
            role: request.role,
            legal_name: person.name.clone(),
            country: person.legal_address.country_code.clone(),
        };
        self.issue(&membership).await
    }

    /// Issues a membership without onboarding checks (the operator vouches for it).
    pub async fn issue(&self, membership: &Membership) -> Result<Onboarded, OnboardingError> {
        let now = self.clock.now();
        let mut inner = self.inner.lock().await;
        if let Some(active) = inner
            .state
            .members
            .values()
            .find(|m| m.did == membership.member.as_str() && !m.revoked && m.valid_until > now.unix_timestamp())
        {
            return Err(OnboardingError::AlreadyMember {
                did: active.did.clone(),
                credential_id: active.credential_id.clone(),
            });
        }
        let index = free_index(&inner.state, inner.revocation.len())?;
        let valid_until = now + self.config.membership_validity;
        let mut credential = membership.credential(self.config.identity.did(), now, valid_until);
        credential.credential_status = [StatusPurpose::Revocation, StatusPurpose::Suspension]
            .into_iter()
            .map(|purpose| StatusListEntry { purpose, index, list_url: self.status_list_url(purpose) }.to_json())
            .collect();
        let jwt = credential.sign(self.config.identity.key()).map_err(|e| AuthorityError::Sign(e.to_string()))?;
        let credential_id = credential.id.clone().unwrap_or_default();
        let record = MemberRecord {
            credential_id: credential_id.clone(),
            did: membership.member.to_string(),
            role: membership.role,
            legal_name: membership.legal_name.clone(),
            country: membership.country.as_str().to_string(),
            status_index: index,
            issued_at: now.unix_timestamp(),
            valid_until: valid_until.unix_timestamp(),
            revoked: false,
            suspended: false,
        };
        let mut next = inner.state.clone();
        next.members.insert(credential_id.clone(), record.clone());
        self.commit(&mut inner, next).await?;
        tracing::info!(member = %record.did, role = %record.role, credential = %credential_id, "membership issued");
        Ok(Onboarded { credential_id, credential: jwt, member: record })
    }

    /// Revokes a membership for good (sets its revocation bit).
    pub async fn revoke(&self, credential_id: &str) -> Result<MemberRecord, AuthorityError> {
        self.change(credential_id, |m| {
            m.revoked = true;
            Ok(())
        })
        .await
    }

    /// Suspends a membership (sets its suspension bit).
    pub async fn suspend(&self, credential_id: &str) -> Result<MemberRecord, AuthorityError> {
        self.change(credential_id, |m| {
            if m.revoked {
                return Err(AuthorityError::Revoked(m.credential_id.clone()));
            }
            m.suspended = true;
            Ok(())
        })
        .await
    }

    /// Lifts a suspension.
    pub async fn reinstate(&self, credential_id: &str) -> Result<MemberRecord, AuthorityError> {
        self.change(credential_id, |m| {
            if m.revoked {
                return Err(AuthorityError::Revoked(m.credential_id.clone()));
            }
            m.suspended = false;
            Ok(())
        })
        .await
    }

    pub async fn members(&self) -> Vec<MemberRecord> {
        self.inner.lock().await.state.members.values().cloned().collect()
    }

    /// The current state, for the caller to persist elsewhere or inspect.
    pub async fn state(&self) -> AuthorityState {
        self.inner.lock().await.state.clone()
    }

    /// The signed status list credential (`vc+jwt`) for `purpose`; re-signed when the
    /// list changed or half of its validity has passed.
    pub async fn status_list_credential(&self, purpose: StatusPurpose) -> Result<String, AuthorityError> {
        let now = self.clock.now();
        let mut inner = self.inner.lock().await;
        let half_life = self.config.status_list_validity / 2;
        if let Some((jwt, signed)) = inner.published.get(&purpose)
            && now - *signed < half_life
            && *signed <= now
        {
            return Ok(jwt.clone());
        }
        let list = match purpose {
            StatusPurpose::Revocation => &inner.revocation,
            StatusPurpose::Suspension => &inner.suspension,
        };
        let credential = list.credential(
            self.config.identity.did(),
            &self.status_list_url(purpose),
            now,
            now + self.config.status_list_validity,
        );
        let jwt = credential.sign(self.config.identity.key()).map_err(|e| AuthorityError::Sign(e.to_string()))?;
        inner.published.insert(purpose, (jwt.clone(), now));
        Ok(jwt)
    }

    async fn change(
        &self,
        credential_id: &str,
        apply: impl FnOnce(&mut MemberRecord) -> Result<(), AuthorityError>,
    ) -> Result<MemberRecord, AuthorityError> {
        let mut inner = self.inner.lock().await;
        let mut next = inner.state.clone();
        let record =
            next.members.get_mut(credential_id).ok_or_else(|| AuthorityError::UnknownMember(credential_id.into()))?;
        apply(record)?;
        let record = record.clone();
        self.commit(&mut inner, next).await?;
        tracing::info!(
            credential = %credential_id,
            revoked = record.revoked,
            suspended = record.suspended,
            "membership status changed"
        );
        Ok(record)
    }

    /// Saves `next`, then makes it current (lists rebuilt, published lists invalidated).
    async fn commit(&self, inner: &mut Inner, next: AuthorityState) -> Result<(), AuthorityError> {
        let (revocation, suspension) = lists_of(&next)?;
        self.store.save(&next).await.map_err(AuthorityError::Store)?;
        inner.state = next;
        inner.revocation = revocation;
        inner.suspension = suspension;
        inner.published.clear();
        Ok(())
    }
}

impl std::fmt::Debug for Authority {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authority").field("did", self.config.identity.did()).finish_non_exhaustive()
    }
}

/// Rebuilds both bitstrings from the member records, checking indexes are unique and in range.
fn lists_of(state: &AuthorityState) -> Result<(StatusList, StatusList), AuthorityError> {
    let mut revocation = StatusList::new(StatusPurpose::Revocation);
    let mut suspension = StatusList::new(StatusPurpose::Suspension);
    let mut used = std::collections::HashSet::new();
    for m in state.members.values() {
        if !used.insert(m.status_index) {
            return Err(AuthorityError::InconsistentState(format!("status index {} used twice", m.status_index)));
        }
        let bad = |e: crate::status::StatusListError| AuthorityError::InconsistentState(e.to_string());
        revocation.set(m.status_index, m.revoked).map_err(bad)?;
        suspension.set(m.status_index, m.suspended).map_err(bad)?;
    }
    Ok((revocation, suspension))
}

/// A random unused index: sequential indexes would let observers date memberships and
/// link bit flips to recently onboarded participants.
fn free_index(state: &AuthorityState, len: usize) -> Result<usize, AuthorityError> {
    let used: std::collections::HashSet<usize> = state.members.values().map(|m| m.status_index).collect();
    if used.len() >= len {
        return Err(AuthorityError::ListFull);
    }
    for _ in 0..64 {
        let candidate = (uuid::Uuid::new_v4().as_u128() % len as u128) as usize;
        if !used.contains(&candidate) {
            return Ok(candidate);
        }
    }
    (0..len).find(|i| !used.contains(i)).ok_or(AuthorityError::ListFull)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(id: &str, index: usize) -> MemberRecord {
        MemberRecord {
            credential_id: id.into(),
            did: format!("did:web:{id}.example"),
            role: Role::Lab,
            legal_name: "x".into(),
            country: "FR".into(),
            status_index: index,
            issued_at: 0,
            valid_until: 10,
            revoked: id.starts_with('r'),
            suspended: id.starts_with('s'),
        }
    }

    #[test]
    fn lists_are_derived_from_member_records() {
        let mut state = AuthorityState::default();
        for (id, index) in [("a", 3), ("r1", 5), ("s1", 9)] {
            state.members.insert(id.into(), record(id, index));
        }
        let (revocation, suspension) = lists_of(&state).unwrap();
        assert!(revocation.get(5).unwrap() && !revocation.get(3).unwrap() && !revocation.get(9).unwrap());
        assert!(suspension.get(9).unwrap() && !suspension.get(5).unwrap());
        state.members.insert("dup".into(), record("dup", 3));
        assert!(matches!(lists_of(&state), Err(AuthorityError::InconsistentState(_))));
    }

    #[test]
    fn free_indexes_are_unused_and_in_range() {
        let mut state = AuthorityState::default();
        for i in 0..7 {
            state.members.insert(i.to_string(), record(&i.to_string(), i));
        }
        for _ in 0..50 {
            let i = free_index(&state, 8).unwrap();
            assert_eq!(i, 7);
        }
        state.members.insert("7".into(), record("7", 7));
        assert_eq!(free_index(&state, 8), Err(AuthorityError::ListFull));
    }
}
