//! `passerelle identity onboard`: present our LegalPerson and registration-number
//! credentials to the data-space authority and keep the membership credential it issues.
//!
//! The authority checks the presentation against our DID document, so the connector must
//! be running (reachable at its public URL) while onboarding.

use std::time::Duration as StdDuration;

use passerelle_identity::authority::{Onboarded, OnboardingRequest};
use passerelle_identity::did::Did;
use passerelle_identity::vc::{sign_presentation, types};
use time::{Duration, OffsetDateTime};

use super::credentials::{LEGAL_PERSON_FILE, MEMBERSHIP_FILE, REGISTRATION_NUMBER_FILE};
use super::{IdentityError, ParticipantIdentity};
use crate::config::Config;

/// Largest onboarding answer read (a membership credential is ~1.5 KiB).
const MAX_ANSWER: usize = 256 * 1024;

/// What the authority answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Membership {
    pub credential_id: String,
    pub authority: String,
    pub role: String,
    pub file: String,
}

/// Sends our presentation to `<authority_url>/onboarding` and stores the membership credential.
pub async fn onboard(config: &Config, authority_url: &str) -> Result<Membership, IdentityError> {
    let fail = |reason: String| IdentityError::Onboarding(reason);
    let identity = ParticipantIdentity::load(config)?;
    let authority_url = authority_url.trim_end_matches('/');
    let authority = Did::from_base_url(authority_url).map_err(|e| fail(e.to_string()))?;
    let held = identity.credentials().read_all()?;
    // The authority asks for exactly these two: who we are, and the number that proves it.
    let wanted: Vec<String> = held
        .iter()
        .filter(|(file, _)| [LEGAL_PERSON_FILE, REGISTRATION_NUMBER_FILE].contains(&file.as_str()))
        .map(|(_, jwt)| jwt.clone())
        .collect();
    if wanted.len() < 2 {
        return Err(fail(format!(
            "the {} and {} credentials are missing from {}; create them with `passerelle init --legal-name … \
             --registration-number KIND:VALUE --country CC`",
            types::LEGAL_PERSON,
            types::REGISTRATION_NUMBER,
            identity.credentials().dir().display()
        )));
    }
    let role = config.participant.role;
    let presentation = sign_presentation(
        identity.signing_key(),
        identity.did(),
        authority.as_str(),
        &wanted,
        OffsetDateTime::now_utc(),
        Duration::minutes(5),
    )
    .map_err(|e| IdentityError::Key(e.to_string()))?;
    let request = OnboardingRequest { presentation, role };

    let http = identity.http_client(StdDuration::from_secs(30))?;
    let url = format!("{authority_url}/onboarding");
    let response = http.post(&url).json(&request).send().await.map_err(|e| fail(format!("{url}: {e}")))?;
    let status = response.status();
    let body = response.bytes().await.map_err(|e| fail(format!("{url}: {e}")))?;
    if body.len() > MAX_ANSWER {
        return Err(fail(format!("{url} answered more than {MAX_ANSWER} bytes")));
    }
    if !status.is_success() {
        let text: String = String::from_utf8_lossy(&body).chars().take(500).collect();
        return Err(fail(format!("{url} answered HTTP {}: {text}", status.as_u16())));
    }
    let onboarded: Onboarded = serde_json::from_slice(&body)
        .map_err(|e| fail(format!("{url} answered something else than a membership: {e}")))?;
    identity.credentials().put(MEMBERSHIP_FILE, &onboarded.credential)?;
    Ok(Membership {
        credential_id: onboarded.credential_id,
        authority: authority.to_string(),
        role: onboarded.member.role.to_string(),
        file: identity.credentials().dir().join(MEMBERSHIP_FILE).display().to_string(),
    })
}
