//! Identifier validation against the published test vectors (`shared/samples/README.md`)
//! and the good/bad forms seen in MDDF feeds.

use passerelle_media::ids::mod37_36_check;
use passerelle_media::{Eidr, IdError, Isan, LanguageTag, Territory};
use proptest::prelude::*;

const VALID_EIDRS: [&str; 5] = [
    "10.5240/7EC7-228A-510A-053E-CBB8-J",
    "10.5240/1F2A-E1C5-680A-14C6-E76B-I",
    "10.5240/B752-5B47-DBBE-E5D4-5A3F-N",
    "10.5240/AD07-310C-C59D-6785-C63A-G",
    "10.5240/8FF3-1C20-84F5-F247-8BCD-E",
];

#[test]
fn eidr_valid_vectors() {
    for v in VALID_EIDRS {
        let eidr = Eidr::parse(v).unwrap_or_else(|e| panic!("{v}: {e}"));
        assert_eq!(eidr.as_str(), v);
        assert_eq!(eidr.to_string(), v);
    }
}

#[test]
fn eidr_accepted_spellings_are_canonicalised() {
    let want = "10.5240/7EC7-228A-510A-053E-CBB8-J";
    for raw in [
        "10.5240/7ec7-228a-510a-053e-cbb8-j",
        " doi:10.5240/7EC7-228A-510A-053E-CBB8-J ",
        "https://doi.org/10.5240/7EC7-228A-510A-053E-CBB8-J",
        "urn:eidr:10.5240/7EC7-228A-510A-053E-CBB8-J",
    ] {
        assert_eq!(Eidr::parse(raw).map(|e| e.to_string()), Ok(want.to_string()), "{raw}");
    }
}

#[test]
fn eidr_invalid_vectors_say_why() {
    let cases = [
        ("10.5240/7EC7-228A-510A-053E-CBB8-K", "gives `J`"),
        ("10.5240/1489-49A2-3956-4B2D-BEFK-6", "hexadecimal"),
        ("7EC7-228A-510A-053E-CBB8-J", "prefix"),
        ("10.5237/7EC7-228A-510A-053E-CBB8-J", "prefix"),
        ("10.5240/7EC7-228A-510A-053E-CBB8", "five groups"),
        ("10.5240/7EC7-228A-510A-053E-CBB-J", "five groups"),
        ("10.5240/7EC7-228A-510A-053E-CBB8-JJ", "five groups"),
        ("", "prefix"),
    ];
    for (raw, why) in cases {
        match Eidr::parse(raw) {
            Err(e @ IdError::Eidr { .. }) => assert!(e.to_string().contains(why), "{raw}: {e}"),
            other => panic!("{raw}: expected an EIDR error, got {other:?}"),
        }
    }
}

#[test]
fn isan_vectors() {
    for v in ["0000-0000-D07A-0090-Q-0000-0000-X", "1881-66C7-3420-6541-Y-9F3A-0245-O"] {
        let isan = Isan::parse(v).unwrap_or_else(|e| panic!("{v}: {e}"));
        assert_eq!(isan.as_str(), v);
        assert!(isan.has_version());
    }
    let err = Isan::parse("0000-0001-8CFA-0000-A-0000-0000-K").unwrap_err();
    assert!(matches!(err, IdError::Isan { .. }), "{err}");
    // Short form: the work without its version part.
    let work = Isan::parse("0000-0000-D07A-0090-Q").expect("short form");
    assert!(!work.has_version());
    assert_eq!(
        Isan::parse("ISAN 1881-66c7-3420-6541-y-9f3a-0245-o").map(|i| i.to_string()),
        Ok("1881-66C7-3420-6541-Y-9F3A-0245-O".into())
    );
    let first = Isan::parse("1881-66C7-3420-6541-Z-9F3A-0245-O").unwrap_err();
    assert!(first.to_string().contains("first check character"), "{first}");
    let second = Isan::parse("1881-66C7-3420-6541-Y-9F3A-0245-P").unwrap_err();
    assert!(second.to_string().contains("second check character"), "{second}");
    for bad in [
        "",
        "1881-66C7-3420-6541",
        "1881-66C7-3420-654G-Y",
        "1881-66C7-3420-6541-Y-9F3A-0245",
        "1881-66C7-3420-6541-Y-9F3A-024X-O",
    ] {
        assert!(Isan::parse(bad).is_err(), "{bad}");
    }
}

#[test]
fn check_character_algorithm() {
    assert_eq!(mod37_36_check("7EC7228A510A053ECBB8"), Some('J'));
    assert_eq!(mod37_36_check("ad07310cc59d6785c63a"), Some('G'));
    assert_eq!(mod37_36_check("12-4"), None);
}

#[test]
fn bcp47_good_and_bad() {
    for (raw, canonical) in [
        ("en", "en"),
        ("fr-CA", "fr-CA"),
        ("es-419", "es-419"),
        ("zh-Hant-TW", "zh-Hant-TW"),
        ("pt-br", "pt-BR"),
        ("EN-us", "en-US"),
        ("sr-latn-rs", "sr-Latn-RS"),
        ("de-CH-1996", "de-CH-1996"),
        ("cmn", "cmn"),
        ("und", "und"),
    ] {
        assert_eq!(LanguageTag::parse(raw).map(|l| l.to_string()), Ok(canonical.to_string()), "{raw}");
    }
    for bad in ["", "e", "en_US", "12", "en--US", "fr-", "toolonglanguage", "français"] {
        assert!(matches!(LanguageTag::parse(bad), Err(IdError::Language { .. })), "{bad}");
    }
}

#[test]
fn bcp47_prefix_matching() {
    let tag = |s: &str| LanguageTag::parse(s).expect("tag");
    assert!(tag("es-419").matches_range(&tag("es")));
    assert!(tag("es").matches_range(&tag("es")));
    assert!(!tag("est").matches_range(&tag("es")));
    assert!(!tag("es").matches_range(&tag("es-419")));
    assert!(tag("zh-Hant-TW").matches_range(&tag("zh-hant")));
}

#[test]
fn iso3166_good_and_bad() {
    for (raw, code) in [("FR", "FR"), ("us", "US"), (" gb ", "GB"), ("XK", "XK"), ("MX", "MX")] {
        assert_eq!(Territory::parse(raw).map(|t| t.to_string()), Ok(code.to_string()), "{raw}");
    }
    for bad in ["", "F", "FRA", "F1", "ZZ", "UK", "EU", "QQ", "É"] {
        assert!(matches!(Territory::parse(bad), Err(IdError::Territory { .. })), "{bad}");
    }
}

#[test]
fn serde_validates_on_input() {
    let eidr: Eidr = serde_json::from_str("\"10.5240/7ec7-228a-510a-053e-cbb8-j\"").expect("valid");
    assert_eq!(serde_json::to_string(&eidr).expect("ser"), "\"10.5240/7EC7-228A-510A-053E-CBB8-J\"");
    assert!(serde_json::from_str::<Eidr>("\"10.5240/7EC7-228A-510A-053E-CBB8-K\"").is_err());
    assert!(serde_json::from_str::<Isan>("\"0000-0001-8CFA-0000-A-0000-0000-K\"").is_err());
    assert!(serde_json::from_str::<Territory>("\"ZZ\"").is_err());
    assert!(serde_json::from_str::<LanguageTag>("\"en_US\"").is_err());
}

proptest! {
    #[test]
    fn parsers_never_panic(s in "\\PC{0,40}") {
        let _ = Eidr::parse(&s);
        let _ = Isan::parse(&s);
        let _ = LanguageTag::parse(&s);
        let _ = Territory::parse(&s);
    }

    #[test]
    fn every_computed_eidr_is_valid_and_one_changed_check_is_not(digits in "[0-9A-F]{20}") {
        let check = mod37_36_check(&digits).expect("hex digits");
        let groups: Vec<&str> = (0..5).map(|i| &digits[i * 4..i * 4 + 4]).collect();
        let good = format!("10.5240/{}-{check}", groups.join("-"));
        prop_assert!(Eidr::parse(&good).is_ok());
        let other = if check == 'A' { 'B' } else { 'A' };
        let bad = format!("10.5240/{}-{other}", groups.join("-"));
        prop_assert!(Eidr::parse(&bad).is_err());
    }
}
