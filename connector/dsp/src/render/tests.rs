use passerelle_media::{
    AltId, Eidr, Isan, LanguageTag, LocalizedTitle, RightsWindow, SubtitleKind, SubtitleTrack, Territory, Version,
    VersionKind, Work, WorkKind,
};
use serde_json::{Value, json};
use time::macros::datetime;

use super::*;
use crate::catalog::{DatasetEntry, DatasetKind, ProviderInfo};
use crate::message::media::{PriceTerms, ServiceTerms};
use crate::schema::{MessageKind, validate};
use crate::test_support::{UNMAPPED, to_rdf};

const BASE: &str = "https://distributor.example/protocol";

fn lang(tag: &str) -> LanguageTag {
    LanguageTag::parse(tag).unwrap()
}

fn territory(code: &str) -> Territory {
    Territory::parse(code).unwrap()
}

fn renderer() -> Renderer {
    Renderer::new(ProviderInfo {
        participant_id: "did:web:distributor.example".into(),
        protocol_base_url: format!("{BASE}/"),
        catalog_id: "urn:uuid:0c6f7a52-4b1e-4f2e-9a77-1d2c3b4a5f60".into(),
    })
}

fn episode() -> Work {
    Work {
        id: "md:cid:org:distributor:ep-104".into(),
        kind: WorkKind::Episode,
        title: "Le Passage".into(),
        titles: vec![
            LocalizedTitle { language: lang("fr"), title: "Le Passage".into(), summary: None },
            LocalizedTitle { language: lang("de"), title: "Die Passage".into(), summary: None },
            LocalizedTitle { language: lang("fr"), title: "Passage (titre court)".into(), summary: None },
        ],
        summary: Some("A ferry, a storm, a secret.".into()),
        original_language: Some(lang("fr")),
        release_year: Some(2004),
        runtime_seconds: Some(3125),
        genres: vec!["Drama".into(), "Thriller".into()],
        countries_of_origin: vec![territory("FR"), territory("BE")],
        eidr: Some(Eidr::parse("10.5240/7EC7-228A-510A-053E-CBB8-J").unwrap()),
        isan: Some(Isan::parse("0000-0000-D07A-0090-Q").unwrap()),
        alt_ids: vec![AltId { namespace: "IMDB".into(), value: "tt0000001".into() }],
        credits: vec![],
        parent: Some("md:cid:org:distributor:season-1".into()),
        sequence: Some(4),
    }
}

fn versions() -> Vec<Version> {
    vec![
        Version {
            id: "md:vid:org:distributor:ep-104-theatrical".into(),
            work_id: "md:cid:org:distributor:ep-104".into(),
            kind: VersionKind::Edit,
            label: Some("Broadcast".into()),
            eidr: Some(Eidr::parse("10.5240/1F2A-E1C5-680A-14C6-E76B-I").unwrap()),
            isan: Some(Isan::parse("0000-0000-D07A-0090-Q-0000-0000-X").unwrap()),
            runtime_seconds: Some(3120),
            frame_rate: Some("25".into()),
            audio_languages: vec![lang("fr"), lang("de")],
            subtitles: vec![
                SubtitleTrack {
                    id: "sub-fr-sdh".into(),
                    language: lang("fr"),
                    kind: SubtitleKind::Sdh,
                    format: Some("IMSC1.1".into()),
                    file: None,
                },
                SubtitleTrack {
                    id: "sub-en-forced".into(),
                    language: lang("en"),
                    kind: SubtitleKind::ForcedNarrative,
                    format: None,
                    file: None,
                },
            ],
            files: vec![],
        },
        Version {
            id: "md:vid:org:distributor:ep-104-uhd".into(),
            work_id: "md:cid:org:distributor:ep-104".into(),
            kind: VersionKind::Manifestation,
            label: None,
            eidr: None,
            isan: None,
            runtime_seconds: None,
            frame_rate: None,
            audio_languages: vec![],
            subtitles: vec![],
            files: vec![],
        },
    ]
}

fn windows() -> Vec<RightsWindow> {
    vec![
        RightsWindow {
            id: "avail-1".into(),
            work_id: "md:cid:org:distributor:ep-104".into(),
            licensor: Some("Distributor SA".into()),
            license_type: "SVOD".into(),
            territories: vec![territory("FR"), territory("BE")],
            excluded_territories: vec![],
            start: Some(datetime!(2026-01-01 00:00 UTC)),
            end: Some(datetime!(2027-01-01 00:00 UTC)),
            languages: vec![lang("fr")],
            holdback_languages: vec![],
            format_profile: Some("HD".into()),
        },
        RightsWindow {
            id: "avail-2".into(),
            work_id: "md:cid:org:distributor:ep-104".into(),
            licensor: None,
            license_type: "FreeTV".into(),
            territories: vec![territory("CH")],
            excluded_territories: vec![territory("LI")],
            start: None,
            end: None,
            languages: vec![],
            holdback_languages: vec![],
            format_profile: None,
        },
    ]
}

fn offer(id: &str) -> Value {
    json!({"@id": id, "@type": "Offer", "permission": [{"action": "use",
        "constraint": [{"leftOperand": "spatial", "operator": "isAnyOf", "rightOperand": ["FR", "BE"]}]}]})
}

fn work_entry() -> DatasetEntry {
    let mut with_target = offer("urn:passerelle:offer:svod");
    with_target["target"] = json!("urn:passerelle:dataset:work:ep-104");
    DatasetEntry {
        id: "urn:passerelle:dataset:work:ep-104".into(),
        kind: DatasetKind::Work,
        title: "Le Passage — versions and rights".into(),
        description: Some("Versions, subtitles and rights windows of episode 104".into()),
        work: Some(episode()),
        versions: versions(),
        rights: windows(),
        keywords: vec!["drama".into(), "ferry".into(), " ".into()],
        languages: vec![lang("fr"), lang("de"), lang("fr")],
        offers: vec![
            with_target,
            json!({"@id": "urn:passerelle:offer:no-ai", "@type": "Offer", "prohibition": [{"action": "use"}]}),
        ],
        modified: Some(datetime!(2026-03-01 12:30 UTC)),
        service_terms: None,
    }
}

fn service_entry() -> DatasetEntry {
    DatasetEntry {
        id: "urn:passerelle:dataset:service:subtitling".into(),
        kind: DatasetKind::Service,
        title: "Subtitling: fr, de, en; IMSC 1.1, SRT; 5 days".into(),
        description: None,
        work: None,
        versions: vec![],
        rights: vec![],
        keywords: vec!["subtitling".into()],
        languages: vec![lang("fr"), lang("de"), lang("en")],
        offers: vec![offer("urn:passerelle:offer:lab")],
        modified: None,
        service_terms: Some(ServiceTerms {
            node_type: "SubtitlingService".into(),
            target_language: vec!["fr".into(), "de".into(), "en".into()],
            subtitle_kind: vec!["subtitles".into(), "sdh".into()],
            delivery_format: vec!["ttml-imsc1.1".into(), "srt".into()],
            turnaround: "P5D".into(),
            rush_turnaround: Some("P2D".into()),
            price: PriceTerms {
                node_type: "UnitPriceSpecification".into(),
                currency: "EUR".into(),
                per_minute: "4.50".into(),
                minimum_charge: Some("150.00".into()),
                rush_surcharge_percent: Some(50),
            },
        }),
    }
}

fn assert_valid(kind: MessageKind, value: &Value) {
    if let Err(errors) = validate(kind, value) {
        panic!("{kind:?} invalid:\n{}\n{value:#}", errors.join("\n"));
    }
}

#[test]
fn a_work_dataset_maps_every_media_field() {
    let dataset = renderer().dataset(&work_entry(), Placement::Root).unwrap();
    let v = serde_json::to_value(&dataset).unwrap();
    assert_valid(MessageKind::Dataset, &v);

    assert_eq!(v["@context"], json!([crate::message::DSPACE_CONTEXT, format!("{BASE}/context/media.jsonld")]));
    assert_eq!(v["@type"], "Dataset");
    assert_eq!(v["title"], "Le Passage — versions and rights");
    assert_eq!(v["datasetKind"], "WorkDataset");
    assert_eq!(
        v["keyword"],
        json!(["drama", "ferry", "Thriller"]),
        "genres join keywords, case-insensitively deduplicated"
    );
    assert_eq!(v["language"], json!(["fr", "de"]));
    assert_eq!(v["modified"], "2026-03-01T12:30:00Z");

    let work = &v["work"];
    assert_eq!(work["@id"], "https://doi.org/10.5240/7EC7-228A-510A-053E-CBB8-J");
    assert_eq!(work["@type"], "TVEpisode");
    assert_eq!(work["workType"], "Episode");
    assert_eq!(work["localizedTitle"], json!({"de": "Die Passage", "fr": "Le Passage"}));
    assert_eq!(work["identifier"], json!(["md:cid:org:distributor:ep-104", "IMDB:tt0000001"]));
    assert_eq!(work["eidr"], "10.5240/7EC7-228A-510A-053E-CBB8-J");
    assert_eq!(work["isan"], "0000-0000-D07A-0090-Q");
    assert_eq!(work["releaseYear"], 2004);
    assert_eq!(work["originalLanguage"], "fr");
    assert_eq!(work["countryOfOrigin"], json!(["FR", "BE"]));
    assert_eq!(work["duration"], "PT52M5S");
    assert_eq!(work["partOf"], "md:cid:org:distributor:season-1");
    assert_eq!(work["position"], 4);

    let edit = &v["version"][0];
    assert_eq!(edit["@id"], "https://doi.org/10.5240/1F2A-E1C5-680A-14C6-E76B-I");
    assert_eq!(edit["versionKind"], "edit");
    assert_eq!(edit["versionLabel"], "Broadcast");
    assert_eq!(edit["frameRate"], "25");
    assert_eq!(edit["audioLanguage"], json!(["fr", "de"]));
    assert_eq!(
        edit["subtitle"],
        json!([
            {"@type": "Subtitling", "language": "fr", "subtitleKind": "sdh", "subtitleFormat": "IMSC1.1"},
            {"@type": "Subtitling", "language": "en", "subtitleKind": "forced-narrative"}
        ])
    );
    assert_eq!(
        v["version"][1],
        json!({"identifier": ["md:vid:org:distributor:ep-104-uhd"], "versionKind": "manifestation"})
    );

    assert_eq!(
        v["rightsWindow"],
        json!([
            {"@type": "RightsWindow", "licenseType": "SVOD", "territory": ["FR", "BE"],
             "start": "2026-01-01T00:00:00Z", "end": "2027-01-01T00:00:00Z",
             "language": ["fr"], "formatProfile": "HD"},
            {"@type": "RightsWindow", "licenseType": "FreeTV", "territory": ["CH"], "excludedTerritory": ["LI"]}
        ])
    );
}

#[test]
fn offers_go_into_has_policy_without_target() {
    let dataset = renderer().dataset(&work_entry(), Placement::InCatalog).unwrap();
    assert_eq!(dataset.has_policy.len(), 2);
    assert!(dataset.has_policy.iter().all(|o| o.get("target").is_none()));
    assert_eq!(dataset.has_policy[0]["permission"][0]["constraint"][0]["rightOperand"], json!(["FR", "BE"]));
}

#[test]
fn distributions_reference_or_embed_the_data_service() {
    let r = renderer();
    assert_eq!(r.data_service().endpoint_url, BASE);
    assert_eq!(r.data_service().id, format!("{BASE}/.well-known/dspace-version"));
    let nested = r.dataset(&service_entry(), Placement::InCatalog).unwrap();
    assert!(nested.context.is_none());
    let formats: Vec<&str> = nested.distribution.iter().map(|d| d.format.as_str()).collect();
    assert_eq!(formats, DISTRIBUTION_FORMATS);
    assert!(
        nested.distribution.iter().all(|d| d.access_service == AccessService::Reference(r.data_service().id.clone()))
    );
    let root = r.dataset(&service_entry(), Placement::Root).unwrap();
    assert!(root.distribution.iter().all(|d| d.access_service == AccessService::Service(r.data_service().clone())));
    let v = serde_json::to_value(&root).unwrap();
    assert_valid(MessageKind::Dataset, &v);
    assert_eq!(v["datasetKind"], "ServiceDataset");
    assert!(v.get("work").is_none() && v.get("version").is_none() && v.get("rightsWindow").is_none());
    // The terms a distributor's connector acts on, in our media context's words.
    let terms = &v["serviceTerms"];
    assert_eq!(terms["@type"], "SubtitlingService");
    assert_eq!(terms["targetLanguage"], json!(["fr", "de", "en"]));
    assert_eq!(terms["subtitleKind"], json!(["subtitles", "sdh"]));
    assert_eq!(terms["deliveryFormat"], json!(["ttml-imsc1.1", "srt"]));
    assert_eq!((terms["turnaround"].as_str(), terms["rushTurnaround"].as_str()), (Some("P5D"), Some("P2D")));
    assert_eq!(terms["priceSpecification"]["pricePerMinute"], "4.50");
    assert_eq!(terms["priceSpecification"]["priceCurrency"], "EUR");
    let context: Value = serde_json::from_str(crate::media_context::MEDIA_CONTEXT).unwrap();
    for term in [
        "serviceTerms",
        "SubtitlingService",
        "targetLanguage",
        "subtitleKind",
        "deliveryFormat",
        "turnaround",
        "rushTurnaround",
        "priceSpecification",
        "UnitPriceSpecification",
        "priceCurrency",
        "pricePerMinute",
        "minimumCharge",
        "rushSurchargePercent",
    ] {
        assert!(context["@context"].get(term).is_some(), "`{term}` is not a term of the media context");
    }
}

#[test]
fn a_catalog_of_every_kind_is_schema_valid_and_skips_unpublishable_entries() {
    let mut no_offer = service_entry();
    no_offer.id = "urn:passerelle:dataset:hidden".into();
    no_offer.offers.clear();
    let mut collection = service_entry();
    collection.id = "urn:passerelle:dataset:collection:fr".into();
    collection.kind = DatasetKind::Collection;
    let catalog = renderer().catalog(&[work_entry(), no_offer, collection, service_entry()]);
    let v = serde_json::to_value(&catalog).unwrap();
    assert_valid(MessageKind::Catalog, &v);
    let ids: Vec<&str> = v["dataset"].as_array().unwrap().iter().map(|d| d["@id"].as_str().unwrap()).collect();
    assert_eq!(
        ids,
        [
            "urn:passerelle:dataset:work:ep-104",
            "urn:passerelle:dataset:collection:fr",
            "urn:passerelle:dataset:service:subtitling"
        ]
    );
    assert_eq!(v["participantId"], "did:web:distributor.example");
    assert_eq!(v["service"][0]["endpointURL"], BASE);
}

#[test]
fn unpublishable_entries_say_why() {
    let mut entry = service_entry();
    entry.offers.clear();
    assert_eq!(
        offers(&entry),
        Err(RenderError::NoOffer { dataset: "urn:passerelle:dataset:service:subtitling".into() })
    );
    let cases = [
        (json!("urn:offer"), "JSON object"),
        (json!({"@type": "Offer", "permission": [{"action": "use"}]}), "`@id`"),
        (json!({"@id": "o", "@type": "Agreement", "permission": [{"action": "use"}]}), "`@type`"),
        (json!({"@id": "o", "@type": "Offer", "permission": []}), "`permission` or `prohibition`"),
    ];
    for (offer, hint) in cases {
        entry.offers = vec![json!({"@id": "ok", "@type": "Offer", "permission": [{"action": "use"}]}), offer];
        let err = offers(&entry).unwrap_err();
        assert!(matches!(err, RenderError::InvalidOffer { index: 1, .. }), "{err}");
        assert!(err.to_string().contains(hint), "{err}");
        assert!(renderer().dataset(&entry, Placement::Root).is_err());
    }
}

#[test]
fn durations_are_iso_8601() {
    assert_eq!(iso_duration(0), "PT0S");
    assert_eq!(iso_duration(59), "PT59S");
    assert_eq!(iso_duration(3600), "PT1H");
    assert_eq!(iso_duration(5520), "PT1H32M");
    assert_eq!(iso_duration(3125), "PT52M5S");
    assert_eq!(iso_duration(u32::MAX), "PT1193046H28M15S");
}

#[test]
fn work_kinds_map_to_schema_org_classes() {
    let mut work = episode();
    for (kind, schema_type, mddf) in [
        (WorkKind::Movie, "Movie", "Movie"),
        (WorkKind::Series, "TVSeries", "Series"),
        (WorkKind::Season, "TVSeason", "Season"),
        (WorkKind::Short, "CreativeWork", "Short"),
        (WorkKind::Other, "CreativeWork", "Other"),
    ] {
        work.kind = kind;
        let d = work_description(&work);
        assert_eq!((d.schema_type.as_str(), d.work_type.as_str()), (schema_type, mddf));
    }
    work.eidr = None;
    assert_eq!(work_description(&work).id, None, "no EIDR, no IRI: the work stays a blank node");
}

/// Every member we emit must mean something in JSON-LD: a real processor with
/// the DSP and media contexts turns the dataset into RDF, and no member falls
/// through to the catch-all vocabulary.
#[test]
fn rendered_documents_are_json_ld_with_every_member_mapped() {
    let r = renderer();
    let media_url = format!("{BASE}/context/media.jsonld");
    let dataset = serde_json::to_value(r.dataset(&work_entry(), Placement::Root).unwrap()).unwrap();
    let triples = to_rdf(&dataset, &media_url).unwrap();
    let unmapped: Vec<&(String, String)> = triples.iter().filter(|(p, _)| p.starts_with(UNMAPPED)).collect();
    assert!(unmapped.is_empty(), "members without a term: {unmapped:?}");
    let predicates: std::collections::BTreeSet<&str> = triples.iter().map(|(p, _)| p.as_str()).collect();
    for expected in [
        "http://purl.org/dc/terms/title",
        "http://purl.org/dc/terms/type",
        "http://purl.org/dc/terms/language",
        "http://purl.org/dc/terms/modified",
        "http://www.w3.org/ns/dcat#keyword",
        "http://www.w3.org/ns/dcat#distribution",
        "http://www.w3.org/ns/dcat#accessService",
        "http://www.w3.org/ns/dcat#endpointURL",
        "http://www.w3.org/ns/odrl/2/hasPolicy",
        "http://www.w3.org/ns/odrl/2/permission",
        "http://www.w3.org/ns/odrl/2/prohibition",
        "https://schema.org/about",
        "https://schema.org/workExample",
        "https://schema.org/duration",
        "http://www.ebu.ch/metadata/ontologies/ebucore/ebucore#hasEidrIdentifier",
        "http://www.ebu.ch/metadata/ontologies/ebucore/ebucore#hasSubtitling",
        "http://www.ebu.ch/metadata/ontologies/ebucore/ebucore#hasSubtitlingFormat",
        "http://www.movielabs.com/schema/md/v2.12/md#ReleaseYear",
        "http://www.movielabs.com/schema/avails/v2.4/avails#LicenseType",
        "http://www.movielabs.com/schema/avails/v2.4/avails#TerritoryExcluded",
        "urn:passerelle:media:rightsWindow",
    ] {
        assert!(predicates.contains(expected), "no {expected} in {predicates:#?}");
    }
    let objects: Vec<&str> = triples.iter().map(|(_, o)| o.as_str()).collect();
    assert!(objects.contains(&"<https://schema.org/TVEpisode>"), "{objects:?}");

    // A service dataset's terms are RDF too, so the catalogue can index what a lab offers.
    let service = serde_json::to_value(r.dataset(&service_entry(), Placement::Root).unwrap()).unwrap();
    let service_triples = to_rdf(&service, &media_url).unwrap();
    let unmapped: Vec<&(String, String)> = service_triples.iter().filter(|(p, _)| p.starts_with(UNMAPPED)).collect();
    assert!(unmapped.is_empty(), "service members without a term: {unmapped:?}");
    for expected in [
        ("urn:passerelle:media:targetLanguage", "\"de\""),
        ("urn:passerelle:media:subtitleKind", "\"sdh\""),
        ("urn:passerelle:media:turnaround", "\"P5D\"^^<http://www.w3.org/2001/XMLSchema#duration>"),
        ("urn:passerelle:media:pricePerMinute", "\"4.50\"^^<http://www.w3.org/2001/XMLSchema#decimal>"),
        ("https://schema.org/priceCurrency", "\"EUR\""),
    ] {
        let found = service_triples.iter().any(|(p, o)| p == expected.0 && o == expected.1);
        assert!(found, "no {expected:?} in {service_triples:#?}");
    }
    assert!(objects.contains(&"<urn:passerelle:media:WorkDataset>"), "{objects:?}");
    assert!(objects.contains(&"\"2004\"^^<http://www.w3.org/2001/XMLSchema#gYear>"), "{objects:?}");
    assert!(objects.contains(&"\"Die Passage\"@de"), "{objects:?}");

    let catalog = serde_json::to_value(r.catalog(&[work_entry(), service_entry()])).unwrap();
    let triples = to_rdf(&catalog, &media_url).unwrap();
    assert!(triples.iter().all(|(p, _)| !p.starts_with(UNMAPPED)), "{triples:?}");
    assert!(triples.iter().any(|(p, _)| p == "http://www.w3.org/ns/dcat#dataset"));
    assert!(triples.iter().any(|(p, _)| p == "https://w3id.org/dspace/2025/1/participantId"));
}

#[test]
fn the_json_ld_check_catches_unmapped_members() {
    let mut dataset = serde_json::to_value(renderer().dataset(&service_entry(), Placement::Root).unwrap()).unwrap();
    dataset["subtitleLanguage"] = json!("fr");
    let triples = to_rdf(&dataset, &format!("{BASE}/context/media.jsonld")).unwrap();
    assert!(triples.iter().any(|(p, _)| p == &format!("{UNMAPPED}subtitleLanguage")), "{triples:?}");
}
