//! Generated test data: a MEC feed of `n` works, for tests and the import benchmark.

use std::fmt::Write;

use passerelle_media::ids::mod37_36_check;

const GENRES: [&str; 6] = ["Drama", "Comedy", "Thriller", "Documentary", "Animation", "Romance"];
const COUNTRIES: [&str; 6] = ["FR", "DE", "IT", "ES", "BE", "GB"];
const LANGUAGES: [&str; 6] = ["fr", "de", "it", "es", "nl", "en"];

/// A valid EIDR for work number `i`, with its computed check character.
pub fn eidr_for(i: usize) -> String {
    // Spread the numbers over the 80-bit space so that ids do not share long prefixes.
    let digits = format!("{:020X}", (i as u128).wrapping_mul(0x9E37_79B9_7F4A_7C15) & ((1u128 << 80) - 1));
    let check = mod37_36_check(&digits).unwrap_or('0');
    let groups: Vec<&str> = (0..5).map(|g| &digits[g * 4..g * 4 + 4]).collect();
    format!("10.5240/{}-{check}", groups.join("-"))
}

/// The ContentID of generated work number `i`.
pub fn content_id_for(i: usize) -> String {
    format!("md:cid:org:passerelle-test:work-{i:07}")
}

/// `n` MEC works (numbered 1..=n) in one document: an `mdmec:CoreMetadataSet`
/// wrapper holding one `mdmec:CoreMetadata` per work, each with an English and a
/// local title, summary, genre, run length, year, EIDR (valid, computed), country
/// of origin, original language and a director.
pub fn generate_mec_feed(n: usize) -> String {
    let mut xml = String::with_capacity(200 + n * 1500);
    xml.push_str(concat!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n",
        "<mdmec:CoreMetadataSet xmlns:md=\"http://www.movielabs.com/schema/md/v2.12/md\" ",
        "xmlns:mdmec=\"http://www.movielabs.com/schema/mdmec/v2.12\">\n"
    ));
    for i in 1..=n {
        let k = i % 6;
        let _ = write!(
            xml,
            concat!(
                "  <mdmec:CoreMetadata>\n",
                "    <mdmec:Basic ContentID=\"{cid}\">\n",
                "      <md:LocalizedInfo language=\"en\" default=\"true\">\n",
                "        <md:TitleDisplayUnlimited>Generated Work {i}</md:TitleDisplayUnlimited>\n",
                "        <md:Summary190>Work {i} of a generated catalogue &amp; its summary.</md:Summary190>\n",
                "        <md:Genre>{genre}</md:Genre>\n",
                "      </md:LocalizedInfo>\n",
                "      <md:LocalizedInfo language=\"{lang}\">\n",
                "        <md:TitleDisplayUnlimited>Œuvre générée {i}</md:TitleDisplayUnlimited>\n",
                "      </md:LocalizedInfo>\n",
                "      <md:RunLength>PT{minutes}M</md:RunLength>\n",
                "      <md:ReleaseYear>{year}</md:ReleaseYear>\n",
                "      <md:WorkType>Movie</md:WorkType>\n",
                "      <md:AltIdentifier><md:Namespace>EIDR-S</md:Namespace><md:Identifier>{eidr}</md:Identifier></md:AltIdentifier>\n",
                "      <md:AltIdentifier><md:Namespace>ORG</md:Namespace><md:Identifier>work-{i}</md:Identifier></md:AltIdentifier>\n",
                "      <md:CountryOfOrigin><md:country>{country}</md:country></md:CountryOfOrigin>\n",
                "      <md:OriginalLanguage>{lang}</md:OriginalLanguage>\n",
                "      <md:People><md:Job><md:JobFunction>Director</md:JobFunction></md:Job>",
                "<md:Name><md:DisplayName>Director {i}</md:DisplayName></md:Name></md:People>\n",
                "    </mdmec:Basic>\n",
                "  </mdmec:CoreMetadata>\n"
            ),
            cid = content_id_for(i),
            i = i,
            genre = GENRES[k],
            lang = LANGUAGES[k],
            minutes = 80 + i % 60,
            year = 1950 + i % 75,
            eidr = eidr_for(i),
            country = COUNTRIES[k],
        );
    }
    xml.push_str("</mdmec:CoreMetadataSet>\n");
    xml
}

#[cfg(test)]
mod tests {
    use super::*;
    use passerelle_media::Eidr;

    #[test]
    fn generated_eidrs_are_valid_and_distinct() {
        let a = eidr_for(1);
        let b = eidr_for(2);
        assert_ne!(a, b);
        for i in [0, 1, 2, 99_999, 100_000] {
            Eidr::parse(&eidr_for(i)).expect("valid EIDR");
        }
    }

    #[test]
    fn feed_parses_completely() {
        let feed = generate_mec_feed(25);
        let batch = crate::parse("feed.xml", feed.as_bytes()).expect("parse");
        assert_eq!(batch.format, crate::Format::MecXml);
        assert_eq!(batch.records_seen, 25);
        assert_eq!(batch.works.len(), 25);
        assert!(batch.rejected.is_empty(), "{:?}", batch.rejected);
        let w = &batch.works[6];
        assert_eq!(w.id, content_id_for(7));
        assert_eq!(w.title, "Generated Work 7");
        assert_eq!(w.summary.as_deref(), Some("Work 7 of a generated catalogue & its summary."));
        assert_eq!(w.eidr.as_ref().map(|e| e.to_string()), Some(eidr_for(7)));
        assert_eq!(w.titles.len(), 2);
    }
}
