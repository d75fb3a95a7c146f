//! The signed receipt of an intact delivery: a compact JWS by the distributor's DID key that the lab keeps as
//! proof the files arrived exactly as announced.
//!
//! Claims: `iss` (the distributor's DID), `orderId`, `delivery` (its number in the order), `manifestDigest` (the
//! `manifestRef` of the Delivered event, `sha256:<hex>` of the canonical manifest), `files` (`[{path, sha256}]`
//! as measured on the copy received) and `verified_at` (RFC 3339). The header's `kid` is the DID URL of the
//! signing key, so the lab finds it in the distributor's DID document (`assertionMethod`).

use passerelle_delivery::{DeliveryManifest, VerificationReport};
use passerelle_identity::did::{Did, DidResolver, Relationship, verification_key};
use passerelle_identity::jose::{DecodedJws, sign_compact};
use passerelle_identity::keys::KeyPair;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// The JWS `typ` of a delivery receipt.
pub(crate) const RECEIPT_TYPE: &str = "passerelle-delivery-receipt+jwt";

/// The manifest's canonical JSON (struct field order, no whitespace: the same bytes on both sides for the same
/// manifest) hashed: what `manifestRef` and the receipt's `manifestDigest` name.
pub(crate) fn manifest_digest(manifest: &DeliveryManifest) -> String {
    let canonical = serde_json::to_string(manifest).unwrap_or_default();
    format!("sha256:{}", hex::encode(Sha256::digest(canonical.as_bytes())))
}

/// Who signs receipts: the participant's DID and key.
#[derive(Clone)]
pub(crate) struct Signer {
    pub did: String,
    pub kid: String,
    pub key: KeyPair,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signer").field("did", &self.did).field("kid", &self.kid).finish_non_exhaustive()
    }
}

/// The receipt's claims for an intact `report` of delivery `delivery` of order `order_id`.
pub(crate) fn claims(
    issuer: &str,
    order_id: &str,
    delivery: u64,
    manifest_ref: &str,
    report: &VerificationReport,
) -> Value {
    let files: Vec<Value> = report
        .files
        .iter()
        .filter_map(|f| {
            let (_, digests) = f.measured()?;
            let sha256 = digests.get(passerelle_delivery::HashAlgorithm::Sha256)?;
            Some(json!({"path": f.path.as_str(), "sha256": sha256}))
        })
        .collect();
    let verified_at = report
        .checked_at
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| report.checked_at.unix_timestamp().to_string());
    json!({
        "iss": issuer,
        "orderId": order_id,
        "delivery": delivery,
        "manifestDigest": manifest_ref,
        "files": files,
        "verified_at": verified_at,
    })
}

pub(crate) fn sign(signer: &Signer, claims: &Value) -> Result<String, String> {
    sign_compact(&signer.key, &signer.kid, RECEIPT_TYPE, None, claims).map_err(|e| format!("cannot sign: {e}"))
}

/// What the lab expects a receipt to say.
pub(crate) struct Expected<'a> {
    /// The distributor's DID: the agreement's assignee.
    pub issuer: &'a str,
    pub order_id: &'a str,
    pub delivery: u64,
    pub manifest_ref: &'a str,
}

/// The claims a receipt must carry, checked before any network call; the issuer's DID.
pub(crate) fn check_claims<'a>(token: &str, expected: &Expected<'a>) -> Result<(DecodedJws, Did), String> {
    let decoded = DecodedJws::decode(token).map_err(|e| format!("the receipt is unreadable: {e}"))?;
    if decoded.typ.as_deref() != Some(RECEIPT_TYPE) {
        return Err(format!("the receipt's typ is {:?}, not {RECEIPT_TYPE}", decoded.typ));
    }
    let claim = |name: &str| decoded.payload.get(name).cloned().unwrap_or(Value::Null);
    let mismatch = |name: &str, want: Value| {
        let got = claim(name);
        (got != want).then(|| format!("the receipt's `{name}` is {got}, expected {want}"))
    };
    let first_mismatch = [
        mismatch("iss", json!(expected.issuer)),
        mismatch("orderId", json!(expected.order_id)),
        mismatch("delivery", json!(expected.delivery)),
        mismatch("manifestDigest", json!(expected.manifest_ref)),
    ]
    .into_iter()
    .flatten()
    .next();
    if let Some(problem) = first_mismatch {
        return Err(problem);
    }
    let did = Did::parse(expected.issuer)
        .map_err(|e| format!("the agreement's assignee `{}` is not a DID: {e}", expected.issuer))?;
    Ok((decoded, did))
}

/// Verifies `token` against the issuer's DID document (fetched through `resolver`).
pub(crate) async fn verify(resolver: &dyn DidResolver, token: &str, expected: &Expected<'_>) -> Result<(), String> {
    let (decoded, did) = check_claims(token, expected)?;
    let (_, key) = verification_key(resolver, &did, decoded.kid.as_deref(), Relationship::AssertionMethod)
        .await
        .map_err(|e| format!("the distributor's key cannot be found: {e}"))?;
    decoded.verify(&key).map_err(|e| format!("the receipt's signature: {e}"))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use passerelle_delivery::{ManifestOptions, VerifyOptions, manifest_for_dir, verify_dir_against_manifest};
    use passerelle_identity::did::InMemoryResolver;
    use passerelle_identity::keys::Algorithm;

    use super::*;

    fn intact() -> (DeliveryManifest, VerificationReport, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("fr.srt"), b"1\n00:00:01,000 --> 00:00:03,000\nBonjour\n").unwrap();
        let manifest = manifest_for_dir(dir.path(), &ManifestOptions::default()).unwrap();
        let report = verify_dir_against_manifest(dir.path(), &manifest, &VerifyOptions::default()).unwrap();
        (manifest, report, dir)
    }

    #[tokio::test]
    async fn a_receipt_verifies_against_the_issuers_document_and_names_what_differs() {
        let (manifest, report, _dir) = intact();
        let did = Did::parse("did:web:distributor.example").unwrap();
        let key = KeyPair::generate(Algorithm::Es256).unwrap();
        let identity = passerelle_identity::dcp::Identity::new(did.clone(), key.clone());
        let signer = Signer { did: did.to_string(), kid: identity.key_url(), key };
        let digest = manifest_digest(&manifest);
        let token = sign(&signer, &claims(&signer.did, "PO-1", 2, &digest, &report)).unwrap();
        let resolver = Arc::new(InMemoryResolver::new());
        resolver.publish(identity.did_document(None));
        let expected = Expected { issuer: &signer.did, order_id: "PO-1", delivery: 2, manifest_ref: &digest };
        verify(resolver.as_ref(), &token, &expected).await.unwrap();
        let (decoded, _) = check_claims(&token, &expected).unwrap();
        assert_eq!(decoded.payload["files"][0]["path"], "fr.srt");

        let other = Expected { delivery: 1, ..expected };
        assert!(verify(resolver.as_ref(), &token, &other).await.unwrap_err().contains("`delivery`"));
        let forged = Expected { issuer: "did:web:lab.example", ..other };
        assert!(check_claims(&token, &forged).unwrap_err().contains("`iss`"));
        let mut tampered = token.clone();
        tampered.pop();
        tampered.push(if token.ends_with('A') { 'B' } else { 'A' });
        let expected = Expected { issuer: &signer.did, order_id: "PO-1", delivery: 2, manifest_ref: &digest };
        assert!(verify(resolver.as_ref(), &tampered, &expected).await.is_err());
    }

    #[test]
    fn the_manifest_digest_is_stable_across_a_round_trip() {
        let (manifest, _, _dir) = intact();
        let back = DeliveryManifest::from_json(&serde_json::to_string(&manifest).unwrap()).unwrap();
        assert_eq!(manifest_digest(&back), manifest_digest(&manifest));
        assert!(manifest_digest(&manifest).starts_with("sha256:"));
    }
}
