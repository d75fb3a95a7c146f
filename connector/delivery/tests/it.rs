//! End-to-end checks of the delivery library on real ASC MHL samples and on delivery folders built on disk.

use std::fs;
use std::path::{Path, PathBuf};

use passerelle_delivery::mhl::{
    DirectoryHashChoice, HashAction, HashEntry, HashList, MhlChain, MhlError, MhlImportError, MhlImportOptions,
    MhlWriteOptions, ProcessKind, manifest_from_mhl,
};
use passerelle_delivery::{
    DeliveryManifest, FileOutcome, FileRole, HashAlgorithm, IgnorePatterns, ManifestError, ManifestOptions, PathError,
    VerificationReport, VerifyOptions, c4, manifest_for_dir, verify_dir, verify_dir_against_manifest,
};
use proptest::prelude::*;

const SAMPLES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/samples/ascmhl");
const GENERATION_1: &str = "ascmhl_0001_A002R2EC_2020-01-16_091500Z.mhl";
const GENERATION_2: &str = "ascmhl_0002_A002R2EC_2020-01-17_143000Z.mhl";
const CHAIN: &str = "ascmhl_chain.xml";

fn sample(name: &str) -> Vec<u8> {
    let path = Path::new(SAMPLES).join(name);
    fs::read(&path).unwrap_or_else(|e| panic!("sample {} unreadable: {e}", path.display()))
}

fn fixed_time() -> time::OffsetDateTime {
    time::macros::datetime!(2026-03-02 08:30:00 UTC)
}

// ---------------------------------------------------------------- ASC MHL samples

#[test]
fn sample_generations_parse_into_the_model() {
    let first = HashList::parse(&sample(GENERATION_1)).unwrap();
    assert_eq!(first.creator.hostname, "myHost.local");
    assert_eq!(first.creator.tool.name, "ascmhl.py");
    assert_eq!(first.creator.tool.version.as_deref(), Some("0.3 alpha"));
    assert_eq!(first.creator.creation_date, time::macros::datetime!(2020-01-16 09:15:00 UTC));
    assert_eq!(first.process.process, ProcessKind::InPlace);
    assert_eq!(first.process.ignore, [".DS_Store", "ascmhl", "ascmhl/"]);
    let root = first.process.root_hash.as_ref().unwrap();
    assert_eq!(root.content[0].value, "8d02114c32e28cbe");
    assert_eq!(root.structure[0].value, "f557f8ca8e5a88ef");

    let files: Vec<_> = first.files().collect();
    assert_eq!(files.len(), 3);
    assert_eq!(files[0].path.as_str(), "Clips/A002C006_141024_R2EC.mov");
    assert_eq!(files[0].size, Some(5));
    assert_eq!(files[0].hashes[0].algorithm, HashAlgorithm::Xxh64);
    assert_eq!(files[0].hashes[0].value, "0ea03b369a463d9d");
    assert_eq!(files[0].hashes[0].action, Some(HashAction::Original));
    assert_eq!(files[2].path.as_str(), "Sidecar.txt");
    let dirs: Vec<_> = first.directories().collect();
    assert_eq!(dirs.len(), 1);
    assert_eq!(dirs[0].path.as_str(), "Clips");
    assert!(matches!(first.hashes[2], HashEntry::Directory(_)), "document order is kept");

    let second = HashList::parse(&sample(GENERATION_2)).unwrap();
    assert!(second.files().all(|f| f.hashes[0].action == Some(HashAction::Verified)));
    assert_eq!(second.expected_files(), first.expected_files());
}

#[test]
fn sample_generations_write_back_byte_for_byte() {
    for name in [GENERATION_1, GENERATION_2] {
        let bytes = sample(name);
        let parsed = HashList::parse(&bytes).unwrap();
        let written = parsed.to_xml();
        assert_eq!(HashList::parse(written.as_bytes()).unwrap(), parsed, "{name}: semantic round trip");
        assert_eq!(written.as_bytes(), &bytes[..], "{name}: byte round trip");
    }
}

#[test]
fn sample_chain_round_trips_and_its_c4_ids_match_the_generation_files() {
    let bytes = sample(CHAIN);
    let chain = MhlChain::parse(&bytes).unwrap();
    assert_eq!(chain.generations.len(), 2);
    assert_eq!(chain.to_xml().as_bytes(), &bytes[..]);
    for generation in &chain.generations {
        // The sample files carry an `ascmhl_` prefix the chain does not know about.
        let file = sample(&format!("ascmhl_{}", generation.path));
        assert_eq!(c4::c4_id(&file), generation.c4.value, "generation {}", generation.sequence_nr);
        chain.verify_generation(generation.sequence_nr, &file).unwrap();
    }
    let mut tampered = sample(GENERATION_1);
    tampered[200] ^= 1;
    let err = chain.verify_generation(1, &tampered).unwrap_err();
    assert!(err.to_string().contains("0001_A002R2EC_2020-01-16_091500Z.mhl"), "{err}");
}

#[test]
fn sample_folder_hashes_follow_from_the_file_hashes() {
    for name in [GENERATION_1, GENERATION_2] {
        let list = HashList::parse(&sample(name)).unwrap();
        assert_eq!(list.check_directory_hashes(), vec![], "{name}");
    }
    // A changed file hash shows up in the folder and the root hash.
    let text = String::from_utf8(sample(GENERATION_1)).unwrap().replace("7680e5f98f4a80fd", "7680e5f98f4a80fe");
    let problems = HashList::parse(text.as_bytes()).unwrap().check_directory_hashes();
    let folders: Vec<String> = problems.iter().map(|p| p.to_string()).collect();
    assert_eq!(problems.len(), 4, "{folders:?}");
    assert!(folders.iter().any(|p| p.starts_with("folder `Clips`")), "{folders:?}");
}

#[test]
fn mhl_with_traversing_or_absolute_paths_is_refused() {
    let text = String::from_utf8(sample(GENERATION_1)).unwrap();
    for bad in ["../../etc/passwd", "/etc/passwd", "Clips/../../x"] {
        let crafted = text.replace("Sidecar.txt", bad);
        let err = HashList::parse(crafted.as_bytes()).unwrap_err();
        assert!(matches!(err, MhlError::Path { .. }), "{bad}: {err:?}");
        assert!(err.to_string().contains("hash[4]/path"), "error names the entry: {err}");
    }
}

#[test]
fn mhl_structural_errors_name_the_place() {
    let text = String::from_utf8(sample(GENERATION_1)).unwrap();
    let cases = [
        (text.replace("<hostname>myHost.local</hostname>", ""), "hostname"),
        (text.replace("action=\"original\"", "action=\"maybe\""), "maybe"),
        (text.replace(">3ab5a4166b9bde44<", ">3ab5a4166b9bde4<"), "16 hex digits"),
        (text.replace("<process>in-place</process>", "<process>copy</process>"), "copy"),
        (text.replace("size=\"58\"", "size=\"-1\""), "size"),
        (text.replace("version=\"2.0\"", "version=\"1.1\""), "2.0"),
        (text.replace("<hashes>", "<hashes><bogus/>"), "bogus"),
        (text.replace("urn:ASC:MHL:v2.0", "urn:other"), "urn:ASC:MHL:v2.0"),
        (text.replace("</hashlist>", ""), "ends inside"),
    ];
    for (crafted, needle) in cases {
        let err = HashList::parse(crafted.as_bytes()).unwrap_err();
        assert!(err.to_string().contains(needle), "expected `{needle}` in: {err}");
    }
    let err = HashList::parse(
        text.replace("<hostname>", "<hostname>\n").replace("myHost.local</hostname>", "<x/></hostname>").as_bytes(),
    )
    .unwrap_err();
    assert!(err.to_string().contains("line 5"), "line is reported: {err}");
}

#[test]
fn every_optional_part_of_a_generation_round_trips() {
    let xml = r#"<?xml version="1.0" encoding="UTF-8"?>
<hashlist version="2.0" xmlns="urn:ASC:MHL:v2.0">
  <creatorinfo>
    <creationdate>2024-05-01T10:00:00.25+02:00</creationdate>
    <hostname>lab &amp; co</hostname>
    <tool version="1.0">dit-tool</tool>
    <author email="a@b.fr" phone="+33 1" role="DIT">Anne &lt;DIT&gt;</author>
    <location>Paris</location>
    <comment>day 1</comment>
  </creatorinfo>
  <processinfo>
    <process>transfer</process>
  </processinfo>
  <hashes>
    <hash>
      <path size="3" creationdate="2024-05-01T09:00:00+02:00" lastmodificationdate="2024-05-01T09:30:00+02:00">new/a.txt</path>
      <md5 action="original" hashdate="2024-05-01T10:00:00+02:00">900150983cd24fb0d6963f7d28e17f72</md5>
      <sha1 action="original" hashdate="2024-05-01T10:00:00+02:00">a9993e364706816aba3e25717850c26c9cd0d89d</sha1>
      <xxh32 action="original">32d153ff</xxh32>
      <xxh3 action="failed" hashdate="2024-05-01T10:00:00+02:00">78af5f94892f3950</xxh3>
      <previousPath>old/a.txt</previousPath>
      <metadata><vendor:clip xmlns:vendor="urn:v" reel="A002"/></metadata>
    </hash>
  </hashes>
  <metadata><note>free text</note></metadata>
  <references>
    <hashlistreference>
      <path>sub/ascmhl/0001_sub_2024-05-01_080000Z.mhl</path>
      <c4>c459dsjfscH38cYeXXYogktxf4Cd9ibshE3BHUo6a58hBXmRQdZrAkZzsWcbWtDg5oQstpDuni4Hirj75GEmTc1sFT</c4>
    </hashlistreference>
  </references>
</hashlist>
"#;
    let list = HashList::parse(xml.as_bytes()).unwrap();
    assert_eq!(list.creator.hostname, "lab & co");
    assert_eq!(list.creator.authors[0].name, "Anne <DIT>");
    let file = list.files().next().unwrap();
    assert_eq!(file.previous_path.as_ref().unwrap().as_str(), "old/a.txt");
    assert_eq!(file.metadata.as_deref(), Some(r#"<vendor:clip xmlns:vendor="urn:v" reel="A002"/>"#));
    assert!(file.trusted(HashAlgorithm::Xxh3).is_none(), "failed values are not trusted");
    assert_eq!(list.references.len(), 1);
    assert_eq!(list.to_xml(), xml);
}

// ---------------------------------------------------------------- folders on disk

fn delivery_folder() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir_all(dir.path().join("subs")).unwrap();
    fs::create_dir_all(dir.path().join("reports")).unwrap();
    fs::write(dir.path().join("subs/fr.srt"), b"1\n00:00:01,000 --> 00:00:02,000\nBonjour\n").unwrap();
    fs::write(dir.path().join("subs/de.srt"), b"1\n00:00:01,000 --> 00:00:02,000\nGuten Tag\n").unwrap();
    fs::write(dir.path().join("reports/qc_fr.pdf"), vec![7u8; 300_000]).unwrap();
    dir
}

fn build(dir: &Path) -> DeliveryManifest {
    let options = ManifestOptions {
        extra_algorithms: vec![HashAlgorithm::Md5, HashAlgorithm::Xxh64],
        created: Some(fixed_time()),
        creator: "lab.example".into(),
        ..ManifestOptions::default()
    };
    manifest_for_dir(dir, &options).unwrap()
}

fn verify(dir: &Path, manifest: &DeliveryManifest) -> VerificationReport {
    verify_dir_against_manifest(dir, manifest, &VerifyOptions::default()).unwrap()
}

#[test]
fn an_untouched_delivery_is_intact() {
    let dir = delivery_folder();
    let manifest = build(dir.path());
    let paths: Vec<&str> = manifest.files.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(paths, ["reports/qc_fr.pdf", "subs/de.srt", "subs/fr.srt"]);
    assert_eq!(manifest.files[0].role, FileRole::QcReport);
    let on_disk: u64 = paths.iter().map(|p| fs::metadata(dir.path().join(p)).unwrap().len()).sum();
    assert_eq!(manifest.total_size(), on_disk);
    // The manifest survives the trip through JSON.
    let received = DeliveryManifest::from_json(&manifest.to_json_pretty()).unwrap();
    let report = verify(dir.path(), &received);
    assert!(report.is_intact(), "{:?}", report.problems().collect::<Vec<_>>());
    assert_eq!(report.summary.ok, 3);
    assert_eq!(report.summary.bytes_hashed, manifest.total_size());
}

#[test]
fn a_changed_byte_is_a_hash_mismatch_naming_file_and_algorithms() {
    let dir = delivery_folder();
    let manifest = build(dir.path());
    let mut content = fs::read(dir.path().join("subs/fr.srt")).unwrap();
    content[35] ^= 0x20;
    fs::write(dir.path().join("subs/fr.srt"), &content).unwrap();
    let report = verify(dir.path(), &manifest);
    assert!(!report.is_intact());
    let problems: Vec<_> = report.problems().collect();
    assert_eq!(problems.len(), 1);
    assert_eq!(problems[0].path.as_str(), "subs/fr.srt");
    let FileOutcome::HashMismatch { mismatches, .. } = &problems[0].outcome else { panic!("{:?}", problems[0]) };
    let algorithms: Vec<HashAlgorithm> = mismatches.iter().map(|m| m.algorithm).collect();
    assert_eq!(algorithms, [HashAlgorithm::Sha256, HashAlgorithm::Md5, HashAlgorithm::Xxh64]);
    assert_eq!(mismatches[0].expected, manifest.files[2].sha256);
    let message = problems[0].to_string();
    assert!(message.contains("subs/fr.srt") && message.contains("sha256 expected"), "{message}");
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["files"][2]["status"], "hash_mismatch");
}

#[test]
fn a_truncated_file_is_a_size_mismatch() {
    let dir = delivery_folder();
    let manifest = build(dir.path());
    let file = fs::OpenOptions::new().write(true).open(dir.path().join("reports/qc_fr.pdf")).unwrap();
    file.set_len(100_000).unwrap();
    let report = verify(dir.path(), &manifest);
    let f = report.file("reports/qc_fr.pdf").unwrap();
    assert!(
        matches!(f.outcome, FileOutcome::SizeMismatch { expected: 300_000, actual: 100_000, .. }),
        "{:?}",
        f.outcome
    );
    assert_eq!(report.summary.size_mismatch, 1);
    assert!(!report.is_intact());
}

#[test]
fn missing_and_extra_files_are_reported() {
    let dir = delivery_folder();
    let manifest = build(dir.path());
    fs::remove_file(dir.path().join("subs/de.srt")).unwrap();
    fs::write(dir.path().join("subs/it.srt"), b"extra").unwrap();
    fs::write(dir.path().join("subs/.DS_Store"), b"litter").unwrap();
    let report = verify(dir.path(), &manifest);
    assert_eq!(report.file("subs/de.srt").unwrap().outcome, FileOutcome::Missing);
    let extra = report.file("subs/it.srt").unwrap();
    let FileOutcome::Unexpected { size: Some(5), digests } = &extra.outcome else { panic!("{extra:?}") };
    assert!(digests.get(HashAlgorithm::Sha256).is_some(), "extra files are hashed for the record");
    assert!(report.file("subs/.DS_Store").is_none(), "ignored names are not extra files");
    assert_eq!((report.summary.missing, report.summary.unexpected, report.summary.ok), (1, 1, 2));
    assert!(!report.is_intact());
}

#[test]
fn a_manifest_with_traversal_is_refused_before_touching_the_disk() {
    let outside = tempfile::tempdir().unwrap();
    fs::write(outside.path().join("secret"), b"s").unwrap();
    let inside = outside.path().join("delivery");
    fs::create_dir(&inside).unwrap();
    let json = format!(
        r#"{{"files":[{{"path":"../secret","size":1,"sha256":"{}","role":"other"}}],
        "created":"2026-01-01T00:00:00Z","creator":"x"}}"#,
        "0".repeat(64)
    );
    let err = DeliveryManifest::from_json(&json).unwrap_err();
    assert!(matches!(err, ManifestError::Path { index: 0, source: PathError::Traversal(_), .. }), "{err:?}");
    let manifest: DeliveryManifest = serde_json::from_str(&json).unwrap();
    let err = verify_dir_against_manifest(&inside, &manifest, &VerifyOptions::default()).unwrap_err();
    assert!(err.to_string().contains("../secret"), "{err}");
}

#[cfg(unix)]
#[test]
fn a_symlink_in_place_of_a_file_is_not_followed() {
    let dir = delivery_folder();
    let manifest = build(dir.path());
    let outside = tempfile::tempdir().unwrap();
    fs::copy(dir.path().join("subs/fr.srt"), outside.path().join("fr.srt")).unwrap();
    fs::remove_file(dir.path().join("subs/fr.srt")).unwrap();
    std::os::unix::fs::symlink(outside.path().join("fr.srt"), dir.path().join("subs/fr.srt")).unwrap();
    let report = verify(dir.path(), &manifest);
    let f = report.file("subs/fr.srt").unwrap();
    assert!(matches!(&f.outcome, FileOutcome::Unreadable { reason } if reason.contains("symbolic link")), "{f:?}");
}

// ---------------------------------------------------------------- MHL <-> manifest

fn write_options() -> MhlWriteOptions {
    MhlWriteOptions { hostname: "lab-01".into(), creation_date: Some(fixed_time()), ..MhlWriteOptions::default() }
}

#[test]
fn manifest_exports_to_a_consistent_mhl_and_comes_back() {
    let dir = delivery_folder();
    let manifest = build(dir.path());
    let list = HashList::from_manifest(&manifest, &write_options()).unwrap();
    let order: Vec<&str> = list
        .hashes
        .iter()
        .map(|e| match e {
            HashEntry::File(f) => f.path.as_str(),
            HashEntry::Directory(d) => d.path.as_str(),
        })
        .collect();
    assert_eq!(order, ["reports/qc_fr.pdf", "reports", "subs/de.srt", "subs/fr.srt", "subs"]);
    let first = list.files().next().unwrap();
    let algorithms: Vec<HashAlgorithm> = first.hashes.iter().map(|h| h.algorithm).collect();
    assert_eq!(algorithms, [HashAlgorithm::Md5, HashAlgorithm::Xxh64], "no sha256 element in MHL");
    assert!(list.process.root_hash.is_some());
    assert_eq!(list.check_directory_hashes(), vec![]);

    let xml = list.to_xml();
    let reparsed = HashList::parse(xml.as_bytes()).unwrap();
    assert_eq!(reparsed, list);
    assert_eq!(reparsed.to_xml(), xml);

    let options = MhlImportOptions { created: Some(fixed_time()), creator: "lab.example".into(), ..Default::default() };
    let adopted = manifest_from_mhl(&reparsed, dir.path(), &options).unwrap();
    assert_eq!(adopted, manifest, "sha256 recomputed, md5/xxh64 carried over");
}

#[test]
fn adopting_an_mhl_fails_naming_the_changed_file() {
    let dir = delivery_folder();
    let list = HashList::from_manifest(&build(dir.path()), &write_options()).unwrap();
    fs::write(dir.path().join("subs/de.srt"), b"1\n00:00:01,000 --> 00:00:02,000\nGuten Tag!\n").unwrap();
    let err = manifest_from_mhl(&list, dir.path(), &MhlImportOptions::default()).unwrap_err();
    let MhlImportError::NotIntact(report) = &err else { panic!("{err:?}") };
    assert_eq!(report.problems().count(), 1);
    assert!(err.to_string().contains("subs/de.srt"), "{err}");
}

#[test]
fn a_verification_becomes_the_next_generation() {
    let dir = delivery_folder();
    let manifest = build(dir.path());
    fs::write(dir.path().join("subs/fr.srt"), b"tampered").unwrap();
    fs::write(dir.path().join("notes.txt"), b"new").unwrap();
    fs::remove_file(dir.path().join("subs/de.srt")).unwrap();
    let report = verify(dir.path(), &manifest);
    let list = HashList::from_verification(&report, &write_options()).unwrap();
    let action = |path: &str| {
        list.files().find(|f| f.path.as_str() == path).map(|f| f.hashes.iter().map(|h| h.action).collect::<Vec<_>>())
    };
    assert_eq!(action("reports/qc_fr.pdf"), Some(vec![Some(HashAction::Verified); 2]));
    assert_eq!(action("subs/fr.srt"), Some(vec![Some(HashAction::Failed); 2]));
    assert_eq!(action("notes.txt"), Some(vec![Some(HashAction::Original); 2]));
    assert_eq!(action("subs/de.srt"), None, "missing files are not listed");
    assert_eq!(list.check_directory_hashes(), vec![]);

    // A chain grows with each generation written.
    let mut chain = MhlChain::default();
    let first = HashList::from_manifest(&manifest, &write_options()).unwrap().to_xml();
    let second = list.to_xml();
    chain.append(passerelle_delivery::RelativePath::parse("0001_d_2026-03-02_083000Z.mhl").unwrap(), first.as_bytes());
    chain.append(passerelle_delivery::RelativePath::parse("0002_d_2026-03-02_083000Z.mhl").unwrap(), second.as_bytes());
    assert!(chain.verify_generation(2, second.as_bytes()).is_ok());
    assert_eq!(MhlChain::parse(chain.to_xml().as_bytes()).unwrap(), chain);
}

#[test]
fn sha256_only_manifests_cannot_become_mhl() {
    let dir = delivery_folder();
    let options = ManifestOptions { extra_algorithms: vec![], ..ManifestOptions::default() };
    let manifest = manifest_for_dir(dir.path(), &options).unwrap();
    let err = HashList::from_manifest(&manifest, &write_options()).unwrap_err();
    assert!(err.to_string().contains("no sha256"), "{err}");
    // Choosing a folder algorithm some files lack is refused, choosing none is fine.
    let manifest = build(dir.path());
    let opts =
        MhlWriteOptions { directory_hashes: DirectoryHashChoice::Algorithm(HashAlgorithm::Xxh128), ..write_options() };
    assert!(HashList::from_manifest(&manifest, &opts).is_err());
    let opts = MhlWriteOptions { directory_hashes: DirectoryHashChoice::None, ..write_options() };
    let list = HashList::from_manifest(&manifest, &opts).unwrap();
    assert_eq!(list.directories().count(), 0);
    assert!(list.process.root_hash.is_none());
}

#[test]
fn verify_dir_accepts_mhl_expectations_directly() {
    let dir = delivery_folder();
    let list = HashList::from_manifest(&build(dir.path()), &write_options()).unwrap();
    let options = VerifyOptions { ignore: IgnorePatterns::default(), ..VerifyOptions::default() };
    let report = verify_dir(dir.path(), &list.expected_files(), &options).unwrap();
    assert!(report.is_intact());
}

// ---------------------------------------------------------------- never panics

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn parsing_arbitrary_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let _ = HashList::parse(&bytes);
        let _ = MhlChain::parse(&bytes);
        if let Ok(text) = std::str::from_utf8(&bytes) {
            let _ = DeliveryManifest::from_json(text);
        }
    }

    #[test]
    fn parsing_mutated_samples_never_panics(
        which in 0usize..3,
        edits in proptest::collection::vec((any::<proptest::sample::Index>(), any::<u8>()), 1..8),
        cut in any::<proptest::sample::Index>(),
    ) {
        let mut bytes = sample([GENERATION_1, GENERATION_2, CHAIN][which]);
        for (at, value) in edits {
            let i = at.index(bytes.len());
            bytes[i] = value;
        }
        let keep = bytes.len() - cut.index(bytes.len() / 4 + 1);
        bytes.truncate(keep);
        let _ = HashList::parse(&bytes);
        let _ = MhlChain::parse(&bytes);
        // Whatever parses writes back to something that parses to the same model.
        if let Ok(list) = HashList::parse(&bytes) {
            prop_assert_eq!(HashList::parse(list.to_xml().as_bytes()).unwrap(), list);
        }
    }

    #[test]
    fn relative_paths_never_escape(text in "[a-z./\\\\:]{0,24}") {
        if let Ok(path) = passerelle_delivery::RelativePath::parse(&text) {
            prop_assert!(path.segments().all(|s| s != ".." && s != "." && !s.is_empty()));
            prop_assert!(!path.as_str().starts_with('/'));
            let joined: PathBuf = path.under(Path::new("/root"));
            prop_assert!(joined.starts_with("/root"));
        }
    }
}
