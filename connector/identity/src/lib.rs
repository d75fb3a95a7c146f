//! Identity and trust for Passerelle participants.
//!
//! Who a connector is and how it proves it: its keys ([`keys`]), its `did:web` DID and
//! DID document ([`did`]), W3C Verifiable Credentials 2.0 secured with JOSE ([`vc`]:
//! the Gaia-X LegalPerson, registration number and issuer credentials, the membership
//! credential carrying the participant's role), Bitstring Status Lists ([`status`]),
//! the per-type trust list ([`trust`]), the Decentralized Claims Protocol 1.0 ([`dcp`]:
//! self-issued ID tokens, the credential service, the verifier that turns a DSP
//! request's `Authorization` header into a [`dcp::VerifiedParticipant`]), and the
//! data-space authority that onboards participants ([`authority`]).
//!
//! Everything here is a library: time comes from an injected [`clock::Clock`], DID
//! resolution, replay memory, credential storage, status list fetching and authority
//! state persistence sit behind small traits, and HTTP endpoints are axum `Router`s
//! the connector mounts where it wants. Failures are typed errors that the HTTP layer
//! maps to 401/403 with a logged reason; nothing panics on hostile input.

pub mod authority;
pub mod clock;
pub mod dcp;
pub mod did;
mod es256;
pub mod jose;
pub mod keys;
pub mod status;
pub mod trust;
pub mod vc;
