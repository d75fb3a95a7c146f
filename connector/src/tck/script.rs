//! What the connector under test does in each TCK scenario, keyed by the seeded id.
//!
//! The official TCK drives a real connector with datasets, offers and agreements named in
//! `config/tck/sample.tck.properties` and expects the connector to play its part of each
//! sequence diagram (e.g. ACN0102: answer the first request with an offer, the second
//! with a termination). These tables are that part, derived from the TCK's test classes,
//! so that a reader can check a scenario against its diagram line by line. Pure data.

/// What happened to a negotiation that may call for a scripted answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NegotiationEvent {
    /// Provider: the n-th ContractRequestMessage (1 = the initial one) was received.
    Requested(u8),
    /// Provider: the consumer accepted our offer.
    Accepted,
    /// Provider: the consumer verified our agreement.
    Verified,
    /// Consumer: our initial request was acknowledged.
    Initiated,
    /// Consumer: the provider sent an offer.
    Offered,
    /// Consumer: the provider sent an agreement.
    Agreed,
}

/// A negotiation message the connector under test sends on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NegotiationStep {
    /// Provider: ContractOfferMessage (a counter-offer).
    Offer,
    /// Provider: ContractAgreementMessage.
    Agree,
    /// Provider: ContractNegotiationEventMessage FINALIZED.
    Finalize,
    /// Consumer: ContractNegotiationEventMessage ACCEPTED.
    Accept,
    /// Consumer: ContractRequestMessage (a counter-request).
    Request,
    /// Consumer: ContractAgreementVerificationMessage.
    Verify,
    /// Either side: ContractNegotiationTerminationMessage.
    Terminate,
}

/// What happened to a transfer process that may call for a scripted answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransferEvent {
    /// Provider: a TransferRequestMessage was received.
    Requested,
    /// Consumer: our request was acknowledged.
    Initiated,
    /// Consumer: the provider started the transfer.
    Started,
}

/// A transfer message the connector under test sends on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransferStep {
    Start,
    Suspend,
    Complete,
    Terminate,
}

use NegotiationEvent as NE;
use NegotiationStep as NS;
use TransferEvent as TE;
use TransferStep as TS;

type NegotiationScript = &'static [(NegotiationEvent, &'static [NegotiationStep])];
type TransferScript = &'static [(TransferEvent, &'static [TransferStep])];
/// Scripts by seeded id.
type Table<E, S> = [(&'static str, &'static [(E, &'static [S])])];

/// Provider-side negotiations (the TCK is the consumer), by dataset id.
const PROVIDER_NEGOTIATIONS: &[(&str, NegotiationScript)] = &[
    ("ACN0101", &[(NE::Requested(1), &[NS::Offer])]),
    ("ACN0102", &[(NE::Requested(1), &[NS::Offer]), (NE::Requested(2), &[NS::Terminate])]),
    ("ACN0103", &[(NE::Requested(1), &[NS::Offer]), (NE::Accepted, &[NS::Agree]), (NE::Verified, &[NS::Finalize])]),
    ("ACN0104", &[(NE::Requested(1), &[NS::Agree]), (NE::Verified, &[NS::Finalize])]),
    ("ACN0201", &[(NE::Requested(1), &[NS::Terminate])]),
    ("ACN0202", &[]),
    ("ACN0203", &[(NE::Requested(1), &[NS::Agree])]),
    ("ACN0204", &[(NE::Requested(1), &[NS::Offer])]),
    ("ACN0205", &[(NE::Requested(1), &[NS::Offer, NS::Terminate])]),
    ("ACN0206", &[(NE::Requested(1), &[NS::Offer]), (NE::Accepted, &[NS::Terminate])]),
    ("ACN0207", &[(NE::Requested(1), &[NS::Agree]), (NE::Verified, &[NS::Terminate])]),
    ("ACN0301", &[(NE::Requested(1), &[NS::Agree]), (NE::Verified, &[NS::Finalize])]),
    ("ACN0302", &[(NE::Requested(1), &[NS::Offer])]),
    ("ACN0303", &[(NE::Requested(1), &[NS::Offer])]),
    ("ACN0304", &[(NE::Requested(1), &[NS::Offer])]),
];

/// Consumer-side negotiations (the TCK is the provider), by dataset id.
const CONSUMER_NEGOTIATIONS: &[(&str, NegotiationScript)] = &[
    ("ACNC0101", &[(NE::Offered, &[NS::Accept]), (NE::Agreed, &[NS::Verify])]),
    ("ACNC0102", &[(NE::Offered, &[NS::Request])]),
    ("ACNC0103", &[(NE::Offered, &[NS::Terminate])]),
    ("ACNC0104", &[(NE::Agreed, &[NS::Verify])]),
    ("ACNC0201", &[]),
    ("ACNC0202", &[(NE::Initiated, &[NS::Terminate])]),
    ("ACNC0203", &[(NE::Agreed, &[NS::Terminate])]),
    ("ACNC0204", &[]),
    ("ACNC0205", &[(NE::Offered, &[NS::Accept])]),
    ("ACNC0206", &[(NE::Agreed, &[NS::Verify])]),
    ("ACNC0301", &[]),
    ("ACNC0302", &[]),
    ("ACNC0303", &[]),
    ("ACNC0304", &[(NE::Offered, &[NS::Accept])]),
    ("ACNC0305", &[(NE::Offered, &[NS::Accept])]),
    // CN_C:03-06 expects the consumer to stay AGREED: it must not verify.
    ("ACNC0306", &[(NE::Offered, &[NS::Accept])]),
];

/// Provider-side transfers (the TCK is the consumer), by agreement id.
const PROVIDER_TRANSFERS: &[(&str, TransferScript)] = &[
    ("ATP0101", &[(TE::Requested, &[TS::Start, TS::Terminate])]),
    ("ATP0102", &[(TE::Requested, &[TS::Start, TS::Complete])]),
    ("ATP0103", &[(TE::Requested, &[TS::Start, TS::Suspend, TS::Terminate])]),
    ("ATP0104", &[(TE::Requested, &[TS::Start, TS::Suspend, TS::Start, TS::Complete])]),
    ("ATP0105", &[(TE::Requested, &[TS::Terminate])]),
    ("ATP0201", &[(TE::Requested, &[TS::Start])]),
    ("ATP0202", &[(TE::Requested, &[TS::Start])]),
    ("ATP0203", &[(TE::Requested, &[TS::Start])]),
    ("ATP0204", &[(TE::Requested, &[TS::Start])]),
    ("ATP0205", &[]),
    ("ATP0301", &[]),
    ("ATP0302", &[]),
    ("ATP0303", &[(TE::Requested, &[TS::Start])]),
    ("ATP0304", &[(TE::Requested, &[TS::Start])]),
    ("ATP0305", &[(TE::Requested, &[TS::Start])]),
    ("ATP0306", &[(TE::Requested, &[TS::Start])]),
];

/// Consumer-side transfers (the TCK is the provider), by agreement id.
const CONSUMER_TRANSFERS: &[(&str, TransferScript)] = &[
    ("ATPC0101", &[]),
    ("ATPC0102", &[]),
    ("ATPC0103", &[]),
    ("ATPC0104", &[]),
    ("ATPC0201", &[(TE::Started, &[TS::Terminate])]),
    ("ATPC0202", &[(TE::Started, &[TS::Complete])]),
    ("ATPC0203", &[(TE::Started, &[TS::Suspend, TS::Terminate])]),
    ("ATPC0204", &[(TE::Started, &[TS::Suspend, TS::Start, TS::Complete])]),
    ("ATPC0205", &[(TE::Initiated, &[TS::Terminate])]),
    ("ATPC0301", &[]),
    ("ATPC0302", &[]),
    ("ATPC0303", &[]),
    ("ATPC0304", &[]),
    ("ATPC0305", &[]),
    ("ATPC0306", &[]),
];

fn lookup<E: PartialEq + Copy, S: 'static>(table: &Table<E, S>, id: &str, event: E) -> &'static [S] {
    table
        .iter()
        .find(|(seeded, _)| *seeded == id)
        .and_then(|(_, script)| script.iter().find(|(e, _)| *e == event))
        .map_or(&[], |(_, steps)| *steps)
}

/// What the provider sends when `event` happens in a negotiation on `dataset`.
pub fn provider_negotiation(dataset: &str, event: NegotiationEvent) -> &'static [NegotiationStep] {
    lookup(PROVIDER_NEGOTIATIONS, dataset, event)
}

/// What the consumer sends when `event` happens in a negotiation on `dataset`.
pub fn consumer_negotiation(dataset: &str, event: NegotiationEvent) -> &'static [NegotiationStep] {
    lookup(CONSUMER_NEGOTIATIONS, dataset, event)
}

/// What the provider sends when `event` happens in a transfer under `agreement`.
pub fn provider_transfer(agreement: &str, event: TransferEvent) -> &'static [TransferStep] {
    lookup(PROVIDER_TRANSFERS, agreement, event)
}

/// What the consumer sends when `event` happens in a transfer under `agreement`.
pub fn consumer_transfer(agreement: &str, event: TransferEvent) -> &'static [TransferStep] {
    lookup(CONSUMER_TRANSFERS, agreement, event)
}

/// Dataset ids the provider negotiates on (each with one offer, `CD123:<id>:456`).
pub fn provider_datasets() -> impl Iterator<Item = &'static str> {
    PROVIDER_NEGOTIATIONS.iter().map(|(id, _)| *id)
}

/// Agreement ids the provider serves transfers under.
pub fn provider_agreements() -> impl Iterator<Item = &'static str> {
    PROVIDER_TRANSFERS.iter().map(|(id, _)| *id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn provider_scripts_follow_the_sequence_diagrams() {
        assert_eq!(provider_negotiation("ACN0102", NE::Requested(1)), &[NS::Offer]);
        assert_eq!(provider_negotiation("ACN0102", NE::Requested(2)), &[NS::Terminate]);
        assert_eq!(provider_negotiation("ACN0304", NE::Requested(2)), &[] as &[NegotiationStep]);
        assert_eq!(provider_negotiation("ACN0103", NE::Verified), &[NS::Finalize]);
        assert_eq!(provider_negotiation("ACN0207", NE::Verified), &[NS::Terminate]);
        assert!(provider_negotiation("ACN0202", NE::Requested(1)).is_empty());
        assert_eq!(provider_transfer("ATP0104", TE::Requested), &[TS::Start, TS::Suspend, TS::Start, TS::Complete]);
        assert!(provider_transfer("ATP0301", TE::Requested).is_empty());
    }

    #[test]
    fn consumer_scripts_follow_the_sequence_diagrams() {
        assert_eq!(consumer_negotiation("ACNC0101", NE::Agreed), &[NS::Verify]);
        assert!(consumer_negotiation("ACNC0306", NE::Agreed).is_empty(), "CN_C:03-06 stays AGREED");
        assert_eq!(consumer_negotiation("ACNC0202", NE::Initiated), &[NS::Terminate]);
        assert_eq!(consumer_transfer("ATPC0203", TE::Started), &[TS::Suspend, TS::Terminate]);
        assert_eq!(consumer_transfer("ATPC0205", TE::Initiated), &[TS::Terminate]);
    }

    #[test]
    fn unknown_ids_have_no_script() {
        assert!(provider_negotiation("urn:other", NE::Requested(1)).is_empty());
        assert!(consumer_transfer("ATP0101", TE::Started).is_empty(), "provider ids are not consumer ids");
    }

    #[test]
    fn every_seeded_id_of_the_sample_properties_is_scripted() {
        assert_eq!(provider_datasets().count(), 15);
        assert_eq!(CONSUMER_NEGOTIATIONS.len(), 16);
        assert_eq!(provider_agreements().count(), 16);
        assert_eq!(CONSUMER_TRANSFERS.len(), 15, "TP_C:01-05 reuses ATPC0104");
    }
}
