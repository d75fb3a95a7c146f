//! MovieLabs Common Metadata (MEC): `mdmec:CoreMetadata/mdmec:Basic` → [`Work`].
//!
//! Streaming: every `Basic` (or `BasicMetadata`) element carrying a `ContentID` is
//! one record, wherever it sits, so a single `CoreMetadata` and a wrapper holding
//! thousands of them read the same way.

use passerelle_media::{AltId, Credit, LanguageTag, LocalizedTitle, Territory, Work, WorkKind};

use crate::collect::{Collector, push_unique};
use crate::fields::{
    eidr_in_mddf_id, is_eidr_namespace, is_isan_namespace, parse_duration_secs, parse_eidr, parse_isan, parse_year,
};
use crate::xml::{Element, walk};
use crate::{Format, ImportBatch, ImportError};

pub(crate) fn parse(file: &str, bytes: &[u8]) -> Result<ImportBatch, ImportError> {
    let mut out = Collector::new(file, Format::MecXml);
    let is_record = |name: &str, _depth: usize, attrs: &[(String, String)]| {
        (name == "Basic" || name == "BasicMetadata") && attrs.iter().any(|(k, _)| k == "ContentID")
    };
    let walked = walk(file, bytes, &is_record, |el, path| {
        out.records_seen += 1;
        if let Some(work) = work_from_basic(&el, path, &mut out) {
            out.add_work(work);
        }
    })?;
    if !matches!(walked.root.as_str(), "CoreMetadata" | "BasicMetadata" | "Basic" | "CoreMetadataSet")
        && out.records_seen == 0
    {
        return Err(ImportError::UnexpectedRoot {
            file: file.to_string(),
            expected: "MovieLabs Common Metadata (mdmec:CoreMetadata)",
            found: walked.root,
        });
    }
    if let Some((line, message)) = walked.broken {
        out.reject(
            format!("line {line}"),
            None,
            format!(
                "the XML breaks off here ({message}); works after this point were not read — fix or re-export the file"
            ),
        );
    }
    Ok(out.finish())
}

/// Maps one `Basic` element; `None` when the record is rejected as a whole.
pub(crate) fn work_from_basic(basic: &Element, path: &str, out: &mut Collector) -> Option<Work> {
    let Some(id) = basic.attr("ContentID").map(str::to_string) else {
        out.reject(Element::location(path, basic), None, "Basic has no ContentID attribute: the work has no key");
        return None;
    };
    let mut work = Work {
        id: id.clone(),
        kind: basic.child_text("WorkType").map_or(WorkKind::Other, WorkKind::from_mddf),
        title: String::new(),
        titles: Vec::new(),
        summary: None,
        original_language: None,
        release_year: basic.child_text("ReleaseYear").and_then(parse_year),
        runtime_seconds: basic.child_text("RunLength").and_then(parse_duration_secs),
        genres: Vec::new(),
        countries_of_origin: Vec::new(),
        eidr: None,
        isan: None,
        alt_ids: Vec::new(),
        credits: Vec::new(),
        parent: None,
        sequence: None,
    };
    if work.release_year.is_none() {
        work.release_year = basic.child_text("ReleaseDate").and_then(parse_year);
    }

    localized_infos(basic, path, &mut work, out);
    alt_identifiers(basic, path, &mut work, out);

    if let Some(raw) = basic.child_text("OriginalLanguage") {
        match LanguageTag::parse(raw) {
            Ok(lang) => work.original_language = Some(lang),
            Err(e) => {
                let el = basic.child("OriginalLanguage").unwrap_or(basic);
                let loc = Element::location(&Element::path_of(path, el), el);
                out.reject(loc, Some(&id), format!("{e}; original language dropped, work kept"));
            }
        }
    }
    for origin in basic.children_named("CountryOfOrigin") {
        let Some(raw) = origin.child_text("country") else { continue };
        match Territory::parse(raw) {
            Ok(t) => push_unique(&mut work.countries_of_origin, t),
            Err(e) => {
                let loc = Element::location(&Element::path_of(path, origin), origin);
                out.reject(loc, Some(&id), format!("{e}; country of origin dropped, work kept"));
            }
        }
    }
    for people in basic.children_named("People") {
        let role = people.child("Job").and_then(|j| j.child_text("JobFunction").or_else(|| j.child_text("JobDisplay")));
        let name = people.child("Name").and_then(|n| n.child_text("DisplayName"));
        if let (Some(role), Some(name)) = (role, name) {
            push_unique(&mut work.credits, Credit { role: role.to_string(), name: name.to_string() });
        }
    }
    if let Some(seq) = basic.child("SequenceInfo").and_then(|s| s.child_text("Number")) {
        work.sequence = seq.parse().ok();
    }
    if let Some(parent) = basic.child("Parent") {
        work.parent =
            parent.child_text("ParentContentID").or_else(|| parent.attr("ParentContentID")).map(str::to_string);
    }

    if work.title.is_empty() {
        let fallback = basic
            .children_named("LocalizedInfo")
            .find_map(|li| li.child_text("OriginalTitle"))
            .map(str::to_string)
            .unwrap_or_else(|| id.clone());
        out.reject(
            Element::location(path, basic),
            Some(&id),
            format!(
                "no title in any LocalizedInfo (TitleDisplayUnlimited, TitleDisplay60, TitleDisplay19, TitleSort); `{fallback}` is used as display title, work kept — add a title"
            ),
        );
        work.title = fallback;
    }
    Some(work)
}

fn localized_infos(basic: &Element, path: &str, work: &mut Work, out: &mut Collector) {
    let mut default_seen = false;
    for li in basic.children_named("LocalizedInfo") {
        let li_path = Element::path_of(path, li);
        let title = ["TitleDisplayUnlimited", "TitleDisplay60", "TitleDisplay19", "TitleSort"]
            .iter()
            .find_map(|n| li.child_text(n));
        let summary = ["Summary4000", "Summary400", "Summary190"].iter().find_map(|n| li.child_text(n));
        let is_default = li.attr("default").is_some_and(|v| v.eq_ignore_ascii_case("true"));
        // The default LocalizedInfo gives the display title; without one, the first.
        if let Some(title) = title
            && (work.title.is_empty() || (is_default && !default_seen))
        {
            work.title = title.to_string();
            work.summary = summary.map(str::to_string);
            if is_default {
                work.genres.clear();
                for g in li.children_named("Genre").filter_map(Element::value) {
                    push_unique(&mut work.genres, g.to_string());
                }
            }
        }
        if work.genres.is_empty() {
            for g in li.children_named("Genre").filter_map(Element::value) {
                push_unique(&mut work.genres, g.to_string());
            }
        }
        default_seen |= is_default;
        let Some(raw_lang) = li.attr("language") else {
            if title.is_some() {
                out.reject(
                    Element::location(&li_path, li),
                    Some(&work.id),
                    "LocalizedInfo has no language attribute; this localized title is dropped",
                );
            }
            continue;
        };
        match LanguageTag::parse(raw_lang) {
            Ok(language) => {
                if let Some(title) = title
                    && !work.titles.iter().any(|t| t.language == language)
                {
                    work.titles.push(LocalizedTitle {
                        language,
                        title: title.to_string(),
                        summary: summary.map(str::to_string),
                    });
                }
            }
            Err(e) => out.reject(
                Element::location(&li_path, li),
                Some(&work.id),
                format!("{e}; this localized title is dropped, work kept"),
            ),
        }
    }
}

fn alt_identifiers(basic: &Element, path: &str, work: &mut Work, out: &mut Collector) {
    for alt in basic.children_named("AltIdentifier") {
        let (Some(ns), Some(value)) = (alt.child_text("Namespace"), alt.child_text("Identifier")) else { continue };
        let loc = || Element::location(&Element::path_of(path, alt), alt);
        if is_eidr_namespace(ns) {
            match parse_eidr(value) {
                Ok(eidr) => {
                    if work.eidr.is_none() {
                        work.eidr = Some(eidr);
                    }
                }
                Err(e) => out.reject(loc(), Some(&work.id), format!("{e}; EIDR dropped, work kept")),
            }
        } else if is_isan_namespace(ns) {
            match parse_isan(value) {
                Ok(isan) => {
                    if work.isan.is_none() {
                        work.isan = Some(isan);
                    }
                }
                Err(e) => out.reject(loc(), Some(&work.id), format!("{e}; ISAN dropped, work kept")),
            }
        } else {
            push_unique(&mut work.alt_ids, AltId { namespace: ns.to_string(), value: value.to_string() });
        }
    }
    if work.eidr.is_none()
        && let Some(found) = eidr_in_mddf_id(&work.id)
    {
        match found {
            Ok(eidr) => work.eidr = Some(eidr),
            Err(e) => out.reject(
                Element::location(path, basic),
                Some(&work.id),
                format!("ContentID names an EIDR scheme but {e}; no EIDR recorded, work kept"),
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(xml: &str) -> ImportBatch {
        parse("t.xml", xml.as_bytes()).expect("parse")
    }

    const HEAD: &str = r#"<mdmec:CoreMetadata xmlns:md="http://www.movielabs.com/schema/md/v2.9/md" xmlns:mdmec="http://www.movielabs.com/schema/mdmec/v2.9">"#;

    #[test]
    fn maps_title_ids_and_people() {
        let xml = format!(
            r#"{HEAD}<mdmec:Basic ContentID="md:cid:org:acme:42">
              <md:LocalizedInfo language="fr"><md:TitleDisplayUnlimited>Le Titre</md:TitleDisplayUnlimited></md:LocalizedInfo>
              <md:LocalizedInfo language="en" default="true"><md:TitleDisplay60>The Title</md:TitleDisplay60><md:Summary190>Short.</md:Summary190><md:Genre>Drama</md:Genre></md:LocalizedInfo>
              <md:RunLength>PT1H30M</md:RunLength><md:ReleaseYear>2001</md:ReleaseYear><md:WorkType>Episode</md:WorkType>
              <md:AltIdentifier><md:Namespace>EIDR-URN</md:Namespace><md:Identifier>urn:eidr:10.5240:7EC7-228A-510A-053E-CBB8-J</md:Identifier></md:AltIdentifier>
              <md:AltIdentifier><md:Namespace>ISAN</md:Namespace><md:Identifier>0000-0000-D07A-0090-Q-0000-0000-X</md:Identifier></md:AltIdentifier>
              <md:AltIdentifier><md:Namespace>IMDB</md:Namespace><md:Identifier>tt0000042</md:Identifier></md:AltIdentifier>
              <md:People><md:Job><md:JobFunction>Director</md:JobFunction></md:Job><md:Name><md:DisplayName>A. Director</md:DisplayName></md:Name></md:People>
              <md:SequenceInfo><md:Number>3</md:Number></md:SequenceInfo>
              <md:Parent relationshipType="isepisodeof"><md:ParentContentID>md:cid:org:acme:season1</md:ParentContentID></md:Parent>
              <md:CountryOfOrigin><md:country>FR</md:country></md:CountryOfOrigin>
              <md:OriginalLanguage>fr</md:OriginalLanguage>
            </mdmec:Basic></mdmec:CoreMetadata>"#
        );
        let b = one(&xml);
        assert!(b.rejected.is_empty(), "{:?}", b.rejected);
        let w = &b.works[0];
        assert_eq!(w.id, "md:cid:org:acme:42");
        assert_eq!(w.title, "The Title");
        assert_eq!(w.summary.as_deref(), Some("Short."));
        assert_eq!(w.titles.len(), 2);
        assert_eq!(w.kind, WorkKind::Episode);
        assert_eq!(w.runtime_seconds, Some(5400));
        assert_eq!(w.release_year, Some(2001));
        assert_eq!(w.eidr.as_ref().map(|e| e.as_str()), Some("10.5240/7EC7-228A-510A-053E-CBB8-J"));
        assert_eq!(w.isan.as_ref().map(|e| e.as_str()), Some("0000-0000-D07A-0090-Q-0000-0000-X"));
        assert_eq!(w.alt_ids, vec![AltId { namespace: "IMDB".into(), value: "tt0000042".into() }]);
        assert_eq!(w.credits[0].name, "A. Director");
        assert_eq!(w.sequence, Some(3));
        assert_eq!(w.parent.as_deref(), Some("md:cid:org:acme:season1"));
        assert_eq!(w.countries_of_origin[0].as_str(), "FR");
        assert_eq!(w.genres, vec!["Drama".to_string()]);
    }

    #[test]
    fn bad_identifiers_are_dropped_and_reported_work_kept() {
        let xml = format!(
            r#"{HEAD}<mdmec:Basic ContentID="c1">
              <md:LocalizedInfo language="en"><md:TitleDisplayUnlimited>T</md:TitleDisplayUnlimited></md:LocalizedInfo>
              <md:LocalizedInfo language="not a tag!"><md:TitleDisplayUnlimited>X</md:TitleDisplayUnlimited></md:LocalizedInfo>
              <md:AltIdentifier><md:Namespace>EIDR-S</md:Namespace><md:Identifier>10.5240/7EC7-228A-510A-053E-CBB8-K</md:Identifier></md:AltIdentifier>
              <md:CountryOfOrigin><md:country>ZZ</md:country></md:CountryOfOrigin>
              <md:OriginalLanguage>12</md:OriginalLanguage>
            </mdmec:Basic></mdmec:CoreMetadata>"#
        );
        let b = one(&xml);
        assert_eq!(b.works.len(), 1);
        assert!(b.works[0].eidr.is_none());
        assert_eq!(b.rejected.len(), 4, "{:#?}", b.rejected);
        assert!(b.rejected.iter().all(|r| r.record.as_deref() == Some("c1")));
        let eidr = b.rejected.iter().find(|r| r.reason.contains("EIDR")).expect("eidr rejection");
        assert_eq!(eidr.location, "/CoreMetadata/Basic/AltIdentifier (line 4)");
    }

    #[test]
    fn missing_title_falls_back_and_is_reported() {
        let xml = format!(
            r#"{HEAD}<mdmec:Basic ContentID="c2"><md:WorkType>Movie</md:WorkType></mdmec:Basic></mdmec:CoreMetadata>"#
        );
        let b = one(&xml);
        assert_eq!(b.works[0].title, "c2");
        assert_eq!(b.rejected.len(), 1);
    }

    #[test]
    fn a_wrapper_holds_many_works() {
        let xml = r#"<mdmec:CoreMetadataSet xmlns:md="urn:md" xmlns:mdmec="http://www.movielabs.com/schema/mdmec/v2.9">
            <mdmec:CoreMetadata><mdmec:Basic ContentID="a"><md:LocalizedInfo language="en"><md:TitleSort>A</md:TitleSort></md:LocalizedInfo></mdmec:Basic></mdmec:CoreMetadata>
            <mdmec:CoreMetadata><mdmec:Basic ContentID="b"><md:LocalizedInfo language="en"><md:TitleSort>B</md:TitleSort></md:LocalizedInfo></mdmec:Basic></mdmec:CoreMetadata>
            </mdmec:CoreMetadataSet>"#;
        let b = one(xml);
        assert_eq!(b.records_seen, 2);
        assert_eq!(b.works.iter().map(|w| w.title.as_str()).collect::<Vec<_>>(), ["A", "B"]);
    }

    #[test]
    fn wrong_root_is_refused() {
        let err = parse("t.xml", b"<html><body/></html>").unwrap_err();
        assert!(matches!(err, ImportError::UnexpectedRoot { .. }), "{err:?}");
    }
}
