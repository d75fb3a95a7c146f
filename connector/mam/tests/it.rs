//! Integration tests of the importers against the real MDDF samples in `../shared/samples`
//! and the fixtures beside this file.

use std::collections::HashSet;
use std::path::PathBuf;

use passerelle_mam::{Format, ImportBatch, ImportError, detect, parse, parse_as};
use passerelle_media::{SubtitleKind, VersionKind, WorkKind};
use proptest::prelude::*;

/// `shared/samples/mddf` beside the repository root, found by walking up from this crate.
fn samples_dir() -> PathBuf {
    let here = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    here.ancestors()
        .map(|a| a.join("shared").join("samples").join("mddf"))
        .find(|p| p.is_dir())
        .expect("the shared/samples/mddf folder beside the repository root")
}

fn sample(name: &str) -> Vec<u8> {
    std::fs::read(samples_dir().join(name)).unwrap_or_else(|e| panic!("read sample {name}: {e}"))
}

fn fixture(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests").join("fixtures").join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("read fixture {name}: {e}"))
}

fn import_sample(name: &str) -> ImportBatch {
    parse(name, &sample(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn import_fixture(name: &str) -> ImportBatch {
    parse(name, &fixture(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

const COUNSELOR_EIDR: &str = "10.5240/AD07-310C-C59D-6785-C63A-G";
const COUNSELOR_CID: &str = "md:cid:eidr-s:AD07-310C-C59D-6785-C63A-G";

const SAMPLES: [(&str, Format); 8] = [
    ("movielabs-mddf_AOD_AssetAvailability_v1.2.xml", Format::AodAvailabilityXml),
    ("movielabs-mddf_Avails_Movies_v1.9.xlsx", Format::AvailsXlsx),
    ("movielabs-mddf_Avails_noErrors_v2.4.xml", Format::AvailsXml),
    ("movielabs-mddf_MEC_movie_Counselor.xml", Format::MecXml),
    ("movielabs-mddf_MEC_v2.12_base.xml", Format::MecXml),
    ("movielabs-mddf_MMCore_with_MD5_hashes.xml", Format::ManifestXml),
    ("movielabs-mddf_ManifestCore_forcedsub.xml", Format::ManifestXml),
    ("movielabs-mddf_vocab_aod_v1.4.json", Format::AodVocabulary),
];

const FIXTURES: [(&str, Format); 6] = [
    ("mediainfo_ebucore.xml", Format::EbuCoreXml),
    ("ebucore_handwritten.xml", Format::EbuCoreXml),
    ("catalogue.csv", Format::Csv),
    ("catalogue.json", Format::Json),
    ("avails_bad_territory_row5.xlsx", Format::AvailsXlsx),
    ("avails_missing_territory_column.xlsx", Format::AvailsXlsx),
];

// ---------------------------------------------------------------- detection

#[test]
fn every_sample_folder_file_is_covered() {
    let mut on_disk: Vec<String> = std::fs::read_dir(samples_dir())
        .expect("list samples")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    on_disk.sort();
    let mut covered: Vec<String> = SAMPLES.iter().map(|(n, _)| (*n).to_string()).collect();
    covered.sort();
    assert_eq!(on_disk, covered, "a sample was added or removed: give it expectations here");
}

#[test]
fn detection_from_content_for_every_format() {
    for (name, want) in SAMPLES {
        assert_eq!(detect(name, &sample(name)), Ok(want), "{name}");
        // The name is only a hint: a meaningless name changes nothing.
        assert_eq!(detect("export.bin", &sample(name)), Ok(want), "{name} renamed");
    }
    for (name, want) in FIXTURES {
        assert_eq!(detect(name, &fixture(name)), Ok(want), "{name}");
    }
    let mut seen: HashSet<Format> = SAMPLES.iter().chain(FIXTURES.iter()).map(|(_, f)| *f).collect();
    seen.insert(detect("feed.xml", passerelle_mam::testdata::generate_mec_feed(2).as_bytes()).expect("feed"));
    assert_eq!(seen.len(), Format::ALL.len(), "every Format has a detection test");
}

// ---------------------------------------------------------------- MEC

#[test]
fn mec_counselor() {
    let b = import_sample("movielabs-mddf_MEC_movie_Counselor.xml");
    assert_eq!(
        (b.format, b.records_seen, b.works.len(), b.versions.len(), b.rights.len()),
        (Format::MecXml, 1, 1, 0, 0)
    );
    assert!(b.rejected.is_empty(), "{:?}", b.rejected);
    let w = &b.works[0];
    assert_eq!(w.id, COUNSELOR_CID);
    assert_eq!(w.title, "The Counselor");
    assert_eq!(w.kind, WorkKind::Movie);
    assert_eq!(w.eidr.as_ref().map(|e| e.as_str()), Some(COUNSELOR_EIDR));
    assert_eq!(w.runtime_seconds, Some(117 * 60));
    assert_eq!(w.release_year, Some(2013));
    assert_eq!(w.genres, ["Drama", "Crime"]);
    let languages: Vec<&str> = w.titles.iter().map(|t| t.language.as_str()).collect();
    assert_eq!(languages, ["en", "fr", "ru", "it", "de", "es", "es-419", "pt-BR", "nl-NL", "ko"]);
    let fr = w.titles.iter().find(|t| t.language.as_str() == "fr").expect("fr title");
    assert_eq!(fr.title, "Cartel");
    assert!(w.summary.as_deref().is_some_and(|s| s.starts_with("Michael Fassbender")));
    assert_eq!(w.credits.len(), 6);
    assert!(w.credits.iter().any(|c| c.role == "Director" && c.name == "Ridley Scott"));
}

#[test]
fn mec_base_without_title_is_kept_and_reported() {
    let b = import_sample("movielabs-mddf_MEC_v2.12_base.xml");
    assert_eq!((b.records_seen, b.works.len()), (1, 1));
    let w = &b.works[0];
    assert_eq!(w.id, "md:cid:org:TEST:TEST");
    assert_eq!(w.original_language.as_ref().map(|l| l.as_str()), Some("en"));
    assert_eq!(w.release_year, Some(2016));
    assert_eq!(w.countries_of_origin.iter().map(|c| c.as_str()).collect::<Vec<_>>(), ["US"]);
    assert_eq!(w.alt_ids.len(), 1);
    assert_eq!(b.rejected.len(), 1);
    assert_eq!(b.rejected[0].location, "/CoreMetadata/Basic (line 6)");
    assert!(b.rejected[0].reason.contains("no title"));
}

// ---------------------------------------------------------------- Avails XML

#[test]
fn avails_xml_v2_4() {
    let b = import_sample("movielabs-mddf_Avails_noErrors_v2.4.xml");
    assert_eq!((b.records_seen, b.works.len(), b.versions.len(), b.rights.len()), (12, 13, 10, 24));
    assert!(b.rejected.is_empty(), "{:?}", b.rejected);

    let bravados = b.works.iter().find(|w| w.title == "THE BRAVADOS").expect("Bravados");
    assert_eq!(bravados.eidr.as_ref().map(|e| e.as_str()), Some("10.5240/8FF3-1C20-84F5-F247-8BCD-E"));
    assert_eq!(bravados.runtime_seconds, Some(3600 + 37 * 60 + 49));
    let edit = b.versions.iter().find(|v| v.work_id == bravados.id).expect("edit");
    assert_eq!(edit.kind, VersionKind::Edit);
    assert_eq!(edit.eidr.as_ref().map(|e| e.as_str()), Some("10.5240/77C5-ED35-8FC2-7D9D-9531-1"));

    let w = b.rights.iter().find(|r| r.id == "md:pseudoalid:wprid.fox.com:001143#1431081").expect("window");
    assert_eq!(w.license_type, "EST");
    assert_eq!(w.territories.iter().map(|t| t.as_str()).collect::<Vec<_>>(), ["US"]);
    assert_eq!(w.start.map(|s| s.to_string()).as_deref(), Some("1917-09-24 23:59:59.0 +00:00:00"));
    assert_eq!(w.end, None, "EndCondition Open");
    assert_eq!(w.licensor.as_deref(), Some("20th Century Fox"));
    assert_eq!(w.format_profile.as_deref(), Some("HD"));
    assert_eq!(w.languages.len(), 6);

    let sith = b
        .rights
        .iter()
        .find(|r| r.work_id == "33603_OV" && r.format_profile.as_deref() == Some("HD"))
        .expect("Sith HD");
    assert_eq!(sith.end.map(|e| e.to_string()).as_deref(), Some("2017-12-11 23:59:59.0 +00:00:00"));
    assert_eq!(sith.languages.iter().map(|l| l.as_str()).collect::<Vec<_>>(), ["en", "es-419"]);

    let collection = b.works.iter().find(|w| w.id == "596509").expect("collection");
    assert_eq!(collection.title, "Star Wars: The Digital Movie Collection (5)");

    let episode = b.works.iter().find(|w| w.id == "md:cid:disney.com:jake-s01e02").expect("episode");
    assert_eq!((episode.kind, episode.sequence), (WorkKind::Episode, Some(2)));
    assert_eq!(episode.parent.as_deref(), Some("md:cid:disney.com:jake-s01"));
    let season = b.works.iter().find(|w| w.id == "md:cid:disney.com:jake-s01").expect("season");
    assert_eq!((season.kind, season.parent.as_deref()), (WorkKind::Season, Some("md:cid:disney.com:jake")));
    let series = b.works.iter().find(|w| w.id == "md:cid:disney.com:jake").expect("series");
    assert_eq!(series.title, "Jake and the Neverland Pirates");
}

#[test]
fn truncated_avails_keeps_complete_avails_and_reports_where_it_broke() {
    let bytes = sample("movielabs-mddf_Avails_noErrors_v2.4.xml");
    let cut = bytes.len() / 2;
    let b = parse("cut.xml", &bytes[..cut]).expect("partial import");
    assert!(b.records_seen > 0 && b.records_seen < 12, "{}", b.records_seen);
    assert!(b.rights.len() < 24);
    let last = b.rejected.last().expect("break reported");
    assert!(last.location.starts_with("line "), "{}", last.location);
    assert!(last.reason.contains("breaks off"), "{}", last.reason);
}

// ---------------------------------------------------------------- Avails xlsx

#[test]
fn avails_xlsx_v1_9_flags_the_fake_eidrs_by_row() {
    let b = import_sample("movielabs-mddf_Avails_Movies_v1.9.xlsx");
    assert_eq!(
        (b.format, b.records_seen, b.works.len(), b.versions.len(), b.rights.len()),
        (Format::AvailsXlsx, 26, 2, 0, 26)
    );
    // Every data row (spreadsheet rows 4..=29) carries a fake title EIDR and a fake edit EIDR.
    assert_eq!(b.rejected.len(), 52);
    for row in 4..=29 {
        for column in ["TitleID", "EditID"] {
            let location = format!("row {row}, column {column}");
            assert!(b.rejected.iter().any(|r| r.location == location), "{location} not flagged");
        }
    }
    let first = &b.rejected[0];
    assert_eq!(first.location, "row 4, column TitleID");
    assert_eq!(first.record.as_deref(), Some("md:cid:eidr-s:1489-49A2-3956-4B2D-ZZ45-6"));
    assert!(first.reason.contains("10.5240/1489-49A2-3956-4B2D-BEFK-6"), "{}", first.reason);
    assert!(b.works.iter().all(|w| w.eidr.is_none()));

    let view = &b.works[0];
    assert_eq!(view.title, "The View from a Mountain");
    assert_eq!(view.release_year, Some(2006));
    assert_eq!(view.runtime_seconds, Some(6980));
    let dance = &b.works[1];
    assert_eq!(dance.titles.iter().map(|t| t.language.as_str()).collect::<Vec<_>>(), ["en", "fr", "es"]);

    let w = &b.rights[0];
    assert_eq!(w.id, "md:alid:eidr-s:1489-49A2-3956-4B2D-ZZ45-6#34530345-ABD-AA-1");
    assert_eq!(w.start.map(|s| s.date().to_string()).as_deref(), Some("2013-06-14"));
    assert_eq!(w.end, None);
    assert_eq!(w.licensor.as_deref(), Some("Rockstar Films"));
    // Row 8: Early EST through 2013-05-28 (inclusive) → half-open bound at the next midnight.
    let row8 = b.rights.iter().find(|r| r.id.ends_with("#543543-XYZ-WE-3")).expect("row 8");
    assert_eq!(row8.end.map(|e| e.date().to_string()).as_deref(), Some("2013-05-29"));
    let row16 = b.rights.iter().find(|r| r.id.ends_with("#543543-XYZ-WE-11")).expect("row 16");
    assert_eq!(row16.languages.iter().map(|l| l.as_str()).collect::<Vec<_>>(), ["fr"]);
}

#[test]
fn xlsx_bad_territory_rejects_only_that_row() {
    let b = import_fixture("avails_bad_territory_row5.xlsx");
    assert_eq!(b.rights.len(), 25);
    let r = b.rejected.iter().find(|r| r.location == "row 5, column Territory").expect("row 5 rejected");
    assert!(r.reason.contains("U5") && r.reason.contains("window rejected"), "{}", r.reason);
}

#[test]
fn xlsx_missing_column_is_an_error_naming_it() {
    let err =
        parse("avails_missing_territory_column.xlsx", &fixture("avails_missing_territory_column.xlsx")).unwrap_err();
    match &err {
        ImportError::MissingColumns { missing, place, .. } => {
            assert_eq!(missing, &vec!["Territory".to_string()]);
            assert_eq!(place, "sheet `Template-Movies`");
        }
        other => panic!("expected MissingColumns, got {other:?}"),
    }
    assert!(err.to_string().contains("Territory"));
}

// ---------------------------------------------------------------- Manifest

#[test]
fn manifest_with_forced_and_sdh_subtitles() {
    let b = import_sample("movielabs-mddf_ManifestCore_forcedsub.xml");
    assert_eq!((b.records_seen, b.versions.len(), b.works.len()), (2, 2, 0));
    assert!(b.rejected.is_empty(), "{:?}", b.rejected);
    let main = &b.versions[0];
    assert_eq!(main.id, "md:experienceid:eidr-x:AD07-310C-C59D-6785-C63A-G:experience");
    // The same work id as the MEC file of the same title: the two imports meet in the store.
    assert_eq!(main.work_id, COUNSELOR_CID);
    assert_eq!(main.kind, VersionKind::Manifestation);
    assert_eq!(main.label.as_deref(), Some("Main / Feature"));
    assert_eq!(main.audio_languages.iter().map(|l| l.as_str()).collect::<Vec<_>>(), ["en", "fr", "pt-BR"]);
    let subs: Vec<(&str, SubtitleKind)> = main.subtitles.iter().map(|s| (s.language.as_str(), s.kind)).collect();
    assert_eq!(
        subs,
        [
            ("en", SubtitleKind::Sdh),
            ("en", SubtitleKind::ForcedNarrative),
            ("fr", SubtitleKind::Subtitles),
            ("fr", SubtitleKind::ForcedNarrative),
            ("pt-BR", SubtitleKind::Subtitles),
            ("pt-BR", SubtitleKind::ForcedNarrative),
        ]
    );
    assert!(main.subtitles.iter().all(|s| s.format.as_deref() == Some("SCC")));
    assert_eq!(
        main.subtitles[1].file.as_ref().map(|f| f.location.as_str()),
        Some("./resources/CounselorThe_AD07-310C-C59D-6785-C63A-G_closed_forced_ENG.scc")
    );
    assert!(main.files.iter().any(|f| f.location.ends_with("ManifestCore_Example1_MEC_movie.xml")));
    assert!(main.files.iter().any(|f| f.location.ends_with("_art_KR.jpg")));
    let trailer = &b.versions[1];
    assert_eq!(trailer.work_id, "md:cid:eidr-x:AD07-310C-C59D-6785-C63A-G:trailer.1");
    assert_eq!(trailer.label.as_deref(), Some("Promotion / Default Trailer"));
    assert!(trailer.subtitles.is_empty());
}

#[test]
fn manifest_md5_hashes() {
    let b = import_sample("movielabs-mddf_MMCore_with_MD5_hashes.xml");
    assert_eq!((b.records_seen, b.versions.len()), (1, 1));
    assert!(b.rejected.is_empty(), "{:?}", b.rejected);
    let v = &b.versions[0];
    let hashes: Vec<(&str, &str, &str)> = v
        .files
        .iter()
        .flat_map(|f| f.hashes.iter().map(move |h| (f.location.as_str(), h.algorithm.as_str(), h.value.as_str())))
        .collect();
    assert_eq!(hashes.len(), 2);
    assert!(hashes.contains(&(
        "resources/DISNEY_disneyjakeandtheneverlandpirates_AND_THE_NEVER_LAND_PIRATES_mec.xml",
        "md5",
        "fc2138cf96266de3b6d1de610ca4705f"
    )));
    assert!(hashes.contains(&(
        "resources/DISNEY_disneyjakeandtheneverlandpirates_AND_THE_NEVER_LAND_PIRATES_IMG_LOG_ENG.jpg",
        "md5",
        "fa862b9c54bc103aea196c635713ecdf"
    )));
}

// ---------------------------------------------------------------- AOD

#[test]
fn aod_asset_availability_becomes_a_version() {
    let b = import_sample("movielabs-mddf_AOD_AssetAvailability_v1.2.xml");
    assert_eq!(
        (b.format, b.records_seen, b.versions.len(), b.works.len(), b.rights.len()),
        (Format::AodAvailabilityXml, 2, 1, 0, 0)
    );
    assert!(b.rejected.is_empty());
    let v = &b.versions[0];
    assert_eq!(v.id, "md:alid:eidr-s:AD07-310C-C59D-6785-C63A-G#availability-US");
    assert_eq!(v.work_id, COUNSELOR_CID);
    assert_eq!(v.audio_languages.iter().map(|l| l.as_str()).collect::<Vec<_>>(), ["en", "en-US"]);
}

#[test]
fn aod_vocabulary_is_recognised_and_stores_nothing() {
    let name = "movielabs-mddf_vocab_aod_v1.4.json";
    let b = import_sample(name);
    assert_eq!(b.format, Format::AodVocabulary);
    assert_eq!(b.records_seen, 7);
    assert!(b.works.is_empty() && b.versions.is_empty() && b.rights.is_empty() && b.rejected.is_empty());
    let vocab = passerelle_mam::aod_vocabulary(name, &sample(name)).expect("vocabulary");
    let statuses = vocab.terms("AssetAvailability/StatusCode").expect("status list");
    assert_eq!(statuses, passerelle_mam::AOD_STATUS_CODES.map(String::from));
}

// ---------------------------------------------------------------- EBUCore

#[test]
fn mediainfo_ebucore_output() {
    let b = import_fixture("mediainfo_ebucore.xml");
    assert_eq!((b.format, b.records_seen, b.works.len(), b.versions.len()), (Format::EbuCoreXml, 1, 1, 1));
    assert!(b.rejected.is_empty(), "{:?}", b.rejected);
    let w = &b.works[0];
    assert_eq!((w.id.as_str(), w.title.as_str()), ("Counselor_2013_HD_EN-FR", "The Counselor"));
    assert_eq!(w.runtime_seconds, Some(7020));
    let v = &b.versions[0];
    assert_eq!(v.id, "/mnt/mam/deliveries/Counselor_2013_HD_EN-FR.mkv");
    assert_eq!(v.work_id, w.id);
    assert_eq!(v.label.as_deref(), Some("Matroska"));
    assert_eq!(v.frame_rate.as_deref(), Some("24000/1001"));
    assert_eq!(v.runtime_seconds, Some(7020));
    assert_eq!(v.audio_languages.iter().map(|l| l.as_str()).collect::<Vec<_>>(), ["en", "fr"]);
    let subs: Vec<(&str, &str, SubtitleKind, Option<&str>)> =
        v.subtitles.iter().map(|s| (s.id.as_str(), s.language.as_str(), s.kind, s.format.as_deref())).collect();
    assert_eq!(
        subs,
        [
            ("/mnt/mam/deliveries/Counselor_2013_HD_EN-FR.mkv#4", "en", SubtitleKind::Sdh, Some("SRT")),
            ("/mnt/mam/deliveries/Counselor_2013_HD_EN-FR.mkv#5", "fr", SubtitleKind::Subtitles, Some("SRT")),
            ("/mnt/mam/deliveries/Counselor_2013_HD_EN-FR.mkv#6", "fr", SubtitleKind::ForcedNarrative, Some("PGS")),
        ]
    );
    assert_eq!(v.files.len(), 1);
    assert_eq!(v.files[0].size, Some(9_688_742_144));
}

#[test]
fn handwritten_ebucore() {
    let b = import_fixture("ebucore_handwritten.xml");
    assert_eq!((b.records_seen, b.works.len(), b.versions.len()), (2, 1, 2));
    let w = &b.works[0];
    assert_eq!(w.id, "ARTE-2024-00117");
    assert_eq!(w.title, "Les Enfants du Fleuve");
    assert_eq!(
        w.titles.iter().map(|t| (t.language.as_str(), t.title.as_str())).collect::<Vec<_>>(),
        [("fr", "Les Enfants du Fleuve"), ("en", "Children of the River")]
    );
    assert_eq!(w.eidr.as_ref().map(|e| e.as_str()), Some("10.5240/7EC7-228A-510A-053E-CBB8-J"));
    assert_eq!(w.isan.as_ref().map(|e| e.as_str()), Some("1881-66C7-3420-6541-Y-9F3A-0245-O"));
    assert_eq!(w.original_language.as_ref().map(|l| l.as_str()), Some("fr"));
    assert_eq!(w.release_year, Some(2024));
    assert_eq!(w.genres, ["Documentary", "History"]);
    assert_eq!(w.summary.as_deref(), Some("Trois générations de bateliers sur la Loire."));
    let uhd = &b.versions[0];
    assert_eq!((uhd.id.as_str(), uhd.label.as_deref()), ("ARTE-2024-00117-UHD", Some("UHD master")));
    assert_eq!(uhd.frame_rate.as_deref(), Some("25"));
    assert_eq!(uhd.runtime_seconds, Some(52 * 60 + 10));
    assert_eq!(uhd.audio_languages.iter().map(|l| l.as_str()).collect::<Vec<_>>(), ["fr", "de"]);
    let subs: Vec<(&str, SubtitleKind)> = uhd.subtitles.iter().map(|s| (s.language.as_str(), s.kind)).collect();
    assert_eq!(subs, [("de", SubtitleKind::Subtitles), ("fr", SubtitleKind::Sdh)]);
    let file = &uhd.files[0];
    assert_eq!(file.location, "s3://arte-archive/masters/ARTE-2024-00117_UHD.mov");
    assert_eq!(file.mime_type.as_deref(), Some("video/quicktime"));
    assert_eq!(
        (file.hashes[0].algorithm.as_str(), file.hashes[0].value.as_str()),
        ("md5", "9e107d9d372bb6826bd81d3542a419d6")
    );
    let hd = &b.versions[1];
    assert_eq!(hd.frame_rate.as_deref(), Some("30000/1001"));
    assert_eq!(hd.runtime_seconds, Some(78250 / 25));
    // The second (wrong) EIDR and the `français` audio language are reported, nothing else.
    assert_eq!(b.rejected.len(), 2, "{:#?}", b.rejected);
    assert!(b.rejected.iter().any(|r| r.reason.contains("CBB8-K")));
    assert!(b.rejected.iter().any(|r| r.reason.contains("français") && r.location.contains("audioTrack[3]")));
}

// ---------------------------------------------------------------- CSV and JSON

#[test]
fn csv_fixture() {
    let b = import_fixture("catalogue.csv");
    assert_eq!((b.records_seen, b.works.len(), b.rights.len()), (5, 5, 3));
    let first = &b.works[0];
    assert_eq!((first.id.as_str(), first.runtime_seconds), ("acme:0001", Some(52 * 60 + 10)));
    assert_eq!(first.alt_ids[0].value, "ARTE-2024-00117");
    assert_eq!(b.works[1].title, "Cartel, le retour");
    assert_eq!(b.works[1].isan.as_ref().map(|i| i.as_str()), Some("1881-66C7-3420-6541-Y-9F3A-0245-O"));
    let w = &b.rights[0];
    assert_eq!(w.territories.iter().map(|t| t.as_str()).collect::<Vec<_>>(), ["FR", "BE", "LU"]);
    assert_eq!(w.licensor.as_deref(), Some("Acme Films"));
    let locations: Vec<&str> = b.rejected.iter().map(|r| r.location.as_str()).collect();
    assert_eq!(locations, ["line 5, column eidr", "line 6, column territories"]);
}

#[test]
fn json_fixture() {
    let b = import_fixture("catalogue.json");
    assert_eq!((b.records_seen, b.works.len(), b.versions.len(), b.rights.len()), (5, 1, 1, 1));
    assert_eq!(b.versions[0].files[0].hashes[0].value, "9e107d9d372bb6826bd81d3542a419d6");
    let locations: Vec<&str> = b.rejected.iter().map(|r| r.location.as_str()).collect();
    assert_eq!(locations, ["/works/1", "/rights/1"]);
}

// ---------------------------------------------------------------- idempotency

fn all_batches() -> Vec<(String, ImportBatch)> {
    let mut out: Vec<(String, ImportBatch)> =
        SAMPLES.iter().map(|(n, _)| ((*n).to_string(), import_sample(n))).collect();
    for (name, _) in FIXTURES.iter().filter(|(n, _)| !n.contains("missing")) {
        out.push(((*name).to_string(), import_fixture(name)));
    }
    out
}

#[test]
fn reimport_gives_the_same_ids_and_no_duplicates() {
    let first = all_batches();
    let second = all_batches();
    for ((name, a), (_, b)) in first.iter().zip(second.iter()) {
        assert_eq!(a, b, "{name}: import is deterministic");
        let works: HashSet<&str> = a.works.iter().map(|w| w.id.as_str()).collect();
        let versions: HashSet<&str> = a.versions.iter().map(|v| v.id.as_str()).collect();
        let rights: HashSet<&str> = a.rights.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(works.len(), a.works.len(), "{name}: duplicate work ids");
        assert_eq!(versions.len(), a.versions.len(), "{name}: duplicate version ids");
        assert_eq!(rights.len(), a.rights.len(), "{name}: duplicate window ids");
        assert!(a.rejected.iter().all(|r| r.file == *name && !r.location.is_empty() && !r.reason.is_empty()));
    }
}

#[test]
fn ids_do_not_depend_on_position_in_the_file() {
    // Same avails, the second one moved first: the same ids come out.
    let bytes = String::from_utf8(sample("movielabs-mddf_Avails_noErrors_v2.4.xml")).expect("utf-8");
    let first_avail = bytes.find("<avails:Avail>").expect("first");
    let second_avail = bytes[first_avail + 10..].find("<avails:Avail>").expect("second") + first_avail + 10;
    let third_avail = bytes[second_avail + 10..].find("<avails:Avail>").expect("third") + second_avail + 10;
    let swapped = format!(
        "{}{}{}{}",
        &bytes[..first_avail],
        &bytes[second_avail..third_avail],
        &bytes[first_avail..second_avail],
        &bytes[third_avail..]
    );
    let a = import_sample("movielabs-mddf_Avails_noErrors_v2.4.xml");
    let b = parse("swapped.xml", swapped.as_bytes()).expect("swapped");
    let ids = |batch: &ImportBatch| {
        let mut ids: Vec<String> = batch.rights.iter().map(|r| r.id.clone()).collect();
        ids.extend(batch.works.iter().map(|w| w.id.clone()));
        ids.extend(batch.versions.iter().map(|v| v.id.clone()));
        ids.sort();
        ids
    };
    assert_eq!(ids(&a), ids(&b));
}

// ---------------------------------------------------------------- broken input

#[test]
fn broken_files_are_errors_or_rejections() {
    assert_eq!(parse("empty.xml", b""), Err(ImportError::Empty { file: "empty.xml".into() }));
    assert!(matches!(parse("blank.csv", b" \n\n "), Err(ImportError::Empty { .. })));
    assert!(matches!(parse("garbage.bin", &[0x00, 0xFF, 0x13, 0x37, 0x80]), Err(ImportError::UnknownFormat { .. })));
    assert!(matches!(parse("feed.rss", b"<rss><channel/></rss>"), Err(ImportError::UnknownFormat { .. })));
    let err = parse_as(Format::MecXml, "a.xml", &sample("movielabs-mddf_Avails_noErrors_v2.4.xml")).unwrap_err();
    assert!(matches!(err, ImportError::UnexpectedRoot { .. }), "{err:?}");
    let err = parse_as(Format::ManifestXml, "m.xml", &sample("movielabs-mddf_MEC_movie_Counselor.xml")).unwrap_err();
    assert!(matches!(err, ImportError::UnexpectedRoot { .. }), "{err:?}");
    let err = parse_as(Format::AvailsXlsx, "x.xlsx", &sample("movielabs-mddf_MEC_movie_Counselor.xml")).unwrap_err();
    assert!(matches!(err, ImportError::Spreadsheet { .. }), "{err:?}");

    // A truncated MEC file: the only work was not complete, the break is reported.
    let mec = sample("movielabs-mddf_MEC_movie_Counselor.xml");
    let b = parse("cut.xml", &mec[..mec.len() / 3]).expect("partial");
    assert!(b.works.is_empty());
    assert_eq!(b.rejected.len(), 1);
    // A truncated manifest is read as a whole: it is an error.
    let manifest = sample("movielabs-mddf_ManifestCore_forcedsub.xml");
    assert!(matches!(parse("cut.xml", &manifest[..manifest.len() / 2]), Err(ImportError::MalformedXml { .. })));
    // A truncated workbook.
    let xlsx = sample("movielabs-mddf_Avails_Movies_v1.9.xlsx");
    assert!(matches!(parse("cut.xlsx", &xlsx[..xlsx.len() / 2]), Err(ImportError::Spreadsheet { .. })));
    // Truncated JSON.
    let json = fixture("catalogue.json");
    assert!(matches!(parse("cut.json", &json[..json.len() / 2]), Err(ImportError::Json { .. })));
}

// ---------------------------------------------------------------- scale

#[test]
fn generated_feed_imports_every_work() {
    let n = 5_000;
    let feed = passerelle_mam::testdata::generate_mec_feed(n);
    let b = parse("feed.xml", feed.as_bytes()).expect("feed");
    assert_eq!((b.records_seen, b.works.len()), (n, n));
    assert!(b.rejected.is_empty());
    assert!(b.works.iter().all(|w| w.eidr.is_some()));
}

// ---------------------------------------------------------------- robustness

fn all_inputs() -> &'static [Vec<u8>] {
    static INPUTS: std::sync::OnceLock<Vec<Vec<u8>>> = std::sync::OnceLock::new();
    INPUTS.get_or_init(|| {
        let mut inputs: Vec<Vec<u8>> = SAMPLES.iter().map(|(n, _)| sample(n)).collect();
        inputs.extend(FIXTURES.iter().map(|(n, _)| fixture(n)));
        inputs
    })
}

proptest! {
    #[test]
    fn parse_never_panics_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let _ = parse("fuzz", &bytes);
    }

    #[test]
    fn parse_never_panics_on_text_shaped_like_our_formats(
        prefix in prop::sample::select(vec!["<", "<?xml version=\"1.0\"?><", "{\"works\":", "work_id,title\n", "PK\u{3}\u{4}", "{\"aod\":"]),
        body in "[ -~\n]{0,400}",
    ) {
        let _ = parse("fuzz", format!("{prefix}{body}").as_bytes());
    }

    #[test]
    fn parse_never_panics_on_mutated_samples(
        which in 0usize..14,
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0u8..3), 1..12),
        cut in any::<prop::sample::Index>(),
        truncate in any::<bool>(),
    ) {
        let inputs = all_inputs();
        let mut bytes = inputs[which % inputs.len()].clone();
        for (at, value, op) in edits {
            if bytes.is_empty() { break; }
            let i = at.index(bytes.len());
            match op {
                0 => bytes[i] = value,
                1 => bytes.insert(i, value),
                _ => { bytes.remove(i); }
            }
        }
        if truncate && !bytes.is_empty() {
            let len = cut.index(bytes.len());
            bytes.truncate(len);
        }
        let _ = parse("mutated", &bytes);
    }
}
