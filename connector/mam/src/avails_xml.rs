//! MovieLabs Avails XML: each `Avail` gives its asset's [`Work`](passerelle_media::Work) (and the season and
//! series an episode belongs to), an edit [`Version`] when an Edit EIDR is given,
//! and one [`RightsWindow`] per `Transaction`.

use passerelle_media::{AltId, Version, VersionKind, WorkKind};

use crate::avails::{Located, WindowDraft, build_window};
use crate::collect::{Collector, bare_work, push_unique};
use crate::fields::{
    content_id_for_alid, is_eidr_namespace, is_isan_namespace, parse_duration_secs, parse_eidr, parse_isan, parse_year,
};
use crate::xml::{Element, walk};
use crate::{Format, ImportBatch, ImportError};

pub(crate) fn parse(file: &str, bytes: &[u8]) -> Result<ImportBatch, ImportError> {
    let mut out = Collector::new(file, Format::AvailsXml);
    let walked = walk(file, bytes, &|name, _, _| name == "Avail", |el, path| {
        out.records_seen += 1;
        avail(&el, path, &mut out);
    })?;
    if !matches!(walked.root.as_str(), "AvailList" | "Avail") && out.records_seen == 0 {
        return Err(ImportError::UnexpectedRoot {
            file: file.to_string(),
            expected: "MovieLabs Avails (avails:AvailList)",
            found: walked.root,
        });
    }
    if let Some((line, message)) = walked.broken {
        out.reject(
            format!("line {line}"),
            None,
            format!(
                "the XML breaks off here ({message}); avails after this point were not read — fix or re-export the file"
            ),
        );
    }
    Ok(out.finish())
}

fn avail(el: &Element, path: &str, out: &mut Collector) {
    let alid = el.child_text("ALID").map(str::to_string);
    let asset = el.child("Asset");
    let content_id = asset.and_then(|a| a.attr("contentID")).map(str::to_string);
    let Some(work_id) = content_id.clone().or_else(|| alid.as_deref().map(content_id_for_alid)) else {
        out.reject(
            Element::location(path, el),
            None,
            "Avail has neither ALID nor Asset@contentID: nothing identifies the work",
        );
        return;
    };
    let alid = alid.unwrap_or_else(|| work_id.clone());
    if let Some(asset) = asset {
        asset_records(asset, &Element::path_of(path, asset), &work_id, out);
    } else {
        out.reject(
            Element::location(path, el),
            Some(&alid),
            "Avail has no Asset: its work is not described (windows are kept)",
        );
    }
    let licensor = el.child("Licensor").and_then(|l| l.child_text("DisplayName")).map(str::to_string);
    for tx in el.children_named("Transaction") {
        let tx_path = Element::path_of(path, tx);
        let at = |child: &Element| Element::location(&Element::path_of(&tx_path, child), child);
        let located =
            |name: &str| tx.child(name).and_then(|c| c.value().map(|v| Located { value: v, location: at(c) }));
        let mut territories = Vec::new();
        let mut excluded = Vec::new();
        for (name, into) in [("Territory", &mut territories), ("TerritoryExcluded", &mut excluded)] {
            for t in tx.children_named(name) {
                for c in &t.children {
                    if let Some(v) = c.value() {
                        let location = format!("{}/{} (line {})", Element::path_of(&tx_path, t), c.segment(), c.line);
                        into.push(Located { value: v, location });
                    }
                }
            }
        }
        let list = |name: &str| -> Vec<Located<'_>> {
            tx.children_named(name).filter_map(|c| c.value().map(|v| Located { value: v, location: at(c) })).collect()
        };
        let mut languages = list("AllowedLanguage");
        if languages.is_empty() {
            // The transaction licenses the asset in its language when no wider list is given.
            languages = list("AssetLanguage");
        }
        let id = tx.attr("TransactionID").map(|t| format!("{alid}#{t}"));
        let draft = WindowDraft {
            id,
            alid: alid.clone(),
            work_id: work_id.clone(),
            licensor: licensor.clone(),
            license_type: located("LicenseType"),
            territories,
            excluded,
            start: located("Start"),
            end: located("End").or_else(|| located("EndCondition")),
            languages,
            holdback_languages: list("HoldbackLanguage"),
            format_profile: tx.child_text("FormatProfile").map(str::to_string),
            location: Element::location(&tx_path, tx),
        };
        if let Some(window) = build_window(draft, out) {
            let location = Element::location(&tx_path, tx);
            out.add_rights(window, &location);
        }
    }
}

/// The asset's work, its edit version and, for episodes and seasons, the enclosing works.
fn asset_records(asset: &Element, path: &str, work_id: &str, out: &mut Collector) {
    let kind = asset.child_text("WorkType").map_or(WorkKind::Other, WorkKind::from_mddf);
    let (meta, meta_name) = ["Metadata", "EpisodeMetadata", "SeasonMetadata", "SeriesMetadata"]
        .iter()
        .find_map(|n| asset.child(n).map(|m| (m, *n)))
        .map_or((None, ""), |(m, n)| (Some(m), n));
    let Some(meta) = meta else {
        let mut work = bare_work(work_id, kind, work_id);
        work.title = work_id.to_string();
        out.reject(
            Element::location(path, asset),
            Some(work_id),
            "Asset has no Metadata: the work id is used as its title",
        );
        out.add_work(work);
        return;
    };
    let meta_path = Element::path_of(path, meta);
    let mut work = bare_work(work_id, kind, "");

    let (season, series) = match meta_name {
        "SeasonMetadata" => (Some(meta), meta.child("SeriesMetadata")),
        "SeriesMetadata" => (None, Some(meta)),
        _ => {
            let season = meta.child("SeasonMetadata");
            (season, season.and_then(|s| s.child("SeriesMetadata")))
        }
    };
    let series_id = series.and_then(|s| s.child_text("SeriesContentID")).map(str::to_string);
    let series_title = series
        .and_then(|s| s.child_text("SeriesTitleDisplayUnlimited").or_else(|| s.child_text("SeriesTitleInternalAlias")))
        .map(str::to_string);
    let season_id = season.and_then(|s| s.child_text("SeasonContentID")).map(str::to_string);
    let season_number = season.and_then(|s| s.child("SeasonNumber")).and_then(|n| n.child_text("Number"));

    let title = match meta_name {
        "SeasonMetadata" => meta
            .child_text("SeasonTitleDisplayUnlimited")
            .or_else(|| meta.child_text("SeasonTitleInternalAlias"))
            .map(str::to_string)
            .or_else(|| season_title(series_title.as_deref(), season_number)),
        "SeriesMetadata" => series_title.clone(),
        _ => ["TitleDisplayUnlimited", "TitleDisplay19", "TitleInternalAlias"]
            .iter()
            .find_map(|n| meta.child_text(n))
            .map(str::to_string),
    };
    match title {
        Some(t) => work.title = t,
        None => {
            out.reject(
                Element::location(&meta_path, meta),
                Some(work_id),
                "no TitleDisplayUnlimited / TitleInternalAlias: the work id is used as its title, work kept",
            );
            work.title = work_id.to_string();
        }
    }
    work.release_year = meta.child_text("ReleaseDate").and_then(parse_year);
    work.runtime_seconds = meta.child_text("RunLength").and_then(parse_duration_secs);
    match meta_name {
        "SeasonMetadata" => {
            work.sequence = season_number.and_then(|n| n.parse().ok());
            work.parent = series_id.clone();
        }
        "SeriesMetadata" => {}
        _ => {
            work.sequence =
                meta.child("EpisodeNumber").and_then(|n| n.child_text("Number")).and_then(|n| n.parse().ok());
            work.parent = season_id.clone().or_else(|| series_id.clone());
        }
    }

    for (name, scope) in
        [("TitleEIDR", "title"), ("TitleEIDR-URN", "title"), ("EditEIDR", "edit"), ("EditEIDR-URN", "edit")]
    {
        let Some(el) = meta.child(name) else { continue };
        let Some(raw) = el.value() else { continue };
        let loc = Element::location(&Element::path_of(&meta_path, el), el);
        match parse_eidr(raw) {
            Ok(eidr) if scope == "title" => {
                if work.eidr.is_none() {
                    work.eidr = Some(eidr);
                }
            }
            Ok(eidr) => out.add_version(Version {
                id: format!("{work_id}#edit"),
                work_id: work_id.to_string(),
                kind: VersionKind::Edit,
                label: None,
                eidr: Some(eidr),
                isan: None,
                runtime_seconds: work.runtime_seconds,
                frame_rate: None,
                audio_languages: Vec::new(),
                subtitles: Vec::new(),
                files: Vec::new(),
            }),
            Err(e) => out.reject(loc, Some(work_id), format!("{e}; {scope} EIDR dropped, record kept")),
        }
    }
    for alt in meta.children_named("AltIdentifier") {
        let (Some(ns), Some(value)) = (alt.child_text("Namespace"), alt.child_text("Identifier")) else { continue };
        let loc = Element::location(&Element::path_of(&meta_path, alt), alt);
        if is_eidr_namespace(ns) {
            match parse_eidr(value) {
                Ok(eidr) => {
                    work.eidr.get_or_insert(eidr);
                }
                Err(e) => out.reject(loc, Some(work_id), format!("{e}; EIDR dropped, work kept")),
            }
        } else if is_isan_namespace(ns) {
            match parse_isan(value) {
                Ok(isan) => {
                    work.isan.get_or_insert(isan);
                }
                Err(e) => out.reject(loc, Some(work_id), format!("{e}; ISAN dropped, work kept")),
            }
        } else {
            push_unique(&mut work.alt_ids, AltId { namespace: ns.to_string(), value: value.to_string() });
        }
    }
    out.add_work(work);

    // The season and series an episode belongs to exist as works too, so that the
    // episode's parent resolves; a fuller record of them (their own Avail, MEC) wins.
    if meta_name != "SeasonMetadata"
        && let Some(season_id) = &season_id
    {
        let title = season_title(series_title.as_deref(), season_number).unwrap_or_else(|| season_id.clone());
        let mut season_work = bare_work(season_id, WorkKind::Season, &title);
        season_work.sequence = season_number.and_then(|n| n.parse().ok());
        season_work.parent = series_id.clone();
        out.add_work(season_work);
    }
    if meta_name != "SeriesMetadata"
        && let Some(series_id) = &series_id
    {
        let title = series_title.clone().unwrap_or_else(|| series_id.clone());
        out.add_work(bare_work(series_id, WorkKind::Series, &title));
    }
}

fn season_title(series_title: Option<&str>, number: Option<&str>) -> Option<String> {
    match (series_title, number) {
        (Some(t), Some(n)) => Some(format!("{t} – Season {n}")),
        (Some(t), None) => Some(format!("{t} – Season")),
        (None, Some(n)) => Some(format!("Season {n}")),
        (None, None) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEAD: &str = r#"<avails:AvailList xmlns:avails="http://www.movielabs.com/schema/avails/v2.5/avails" xmlns:md="http://www.movielabs.com/schema/md/v2.8/md">"#;

    #[test]
    fn episode_avail_creates_season_and_series() {
        let xml = format!(
            r#"{HEAD}<avails:Avail><avails:ALID>md:alid:x:e1</avails:ALID><avails:Licensor><md:DisplayName>Lic</md:DisplayName></avails:Licensor>
            <avails:Asset contentID="md:cid:x:e1"><avails:WorkType>Episode</avails:WorkType>
              <avails:EpisodeMetadata><avails:TitleInternalAlias>Pilot</avails:TitleInternalAlias>
                <avails:EpisodeNumber><md:Number>1</md:Number></avails:EpisodeNumber>
                <avails:SeasonMetadata><avails:SeasonContentID>md:cid:x:s1</avails:SeasonContentID><avails:SeasonNumber><md:Number>1</md:Number></avails:SeasonNumber>
                  <avails:SeriesMetadata><avails:SeriesContentID>md:cid:x</avails:SeriesContentID><avails:SeriesTitleDisplayUnlimited>Show</avails:SeriesTitleDisplayUnlimited></avails:SeriesMetadata>
                </avails:SeasonMetadata></avails:EpisodeMetadata></avails:Asset>
            <avails:Transaction TransactionID="t1"><avails:LicenseType>SVOD</avails:LicenseType>
              <avails:Territory><md:country>FR</md:country></avails:Territory><avails:Territory><md:country>BE</md:country></avails:Territory>
              <avails:TerritoryExcluded><md:country>MC</md:country></avails:TerritoryExcluded>
              <avails:Start>2020-01-01T00:00:00</avails:Start><avails:End>2020-06-30T23:59:59</avails:End>
              <avails:HoldbackLanguage>de</avails:HoldbackLanguage><avails:FormatProfile>HD</avails:FormatProfile></avails:Transaction>
            </avails:Avail></avails:AvailList>"#
        );
        let b = parse("a.xml", xml.as_bytes()).expect("parse");
        assert!(b.rejected.is_empty(), "{:?}", b.rejected);
        let ids: Vec<&str> = b.works.iter().map(|w| w.id.as_str()).collect();
        assert_eq!(ids, ["md:cid:x:e1", "md:cid:x:s1", "md:cid:x"]);
        assert_eq!(b.works[0].parent.as_deref(), Some("md:cid:x:s1"));
        assert_eq!(b.works[0].sequence, Some(1));
        assert_eq!(b.works[1].title, "Show – Season 1");
        assert_eq!(b.works[1].parent.as_deref(), Some("md:cid:x"));
        let w = &b.rights[0];
        assert_eq!(w.id, "md:alid:x:e1#t1");
        assert_eq!(w.licensor.as_deref(), Some("Lic"));
        assert_eq!(w.territories.iter().map(|t| t.as_str()).collect::<Vec<_>>(), ["FR", "BE"]);
        assert_eq!(w.excluded_territories[0].as_str(), "MC");
        assert_eq!(w.holdback_languages[0].as_str(), "de");
    }

    #[test]
    fn a_bad_transaction_is_rejected_the_others_kept() {
        let xml = format!(
            r#"{HEAD}<avails:Avail><avails:ALID>a1</avails:ALID><avails:Asset contentID="c1"><avails:WorkType>Movie</avails:WorkType>
              <avails:Metadata><avails:TitleDisplayUnlimited>M</avails:TitleDisplayUnlimited></avails:Metadata></avails:Asset>
            <avails:Transaction TransactionID="ok"><avails:LicenseType>EST</avails:LicenseType><avails:Territory><md:country>US</md:country></avails:Territory><avails:Start>2020-01-01</avails:Start></avails:Transaction>
            <avails:Transaction TransactionID="bad"><avails:LicenseType>EST</avails:LicenseType><avails:Territory><md:country>U1</md:country></avails:Territory><avails:Start>2020-01-01</avails:Start></avails:Transaction>
            <avails:Transaction TransactionID="ok"><avails:LicenseType>VOD</avails:LicenseType><avails:Territory><md:country>US</md:country></avails:Territory></avails:Transaction>
            </avails:Avail></avails:AvailList>"#
        );
        let b = parse("a.xml", xml.as_bytes()).expect("parse");
        assert_eq!(b.rights.len(), 1);
        assert_eq!(b.rejected.len(), 2, "{:#?}", b.rejected);
        assert_eq!(b.rejected[0].location, "/AvailList/Avail/Transaction[2]/Territory/country (line 4)");
        assert_eq!(b.rejected[0].record.as_deref(), Some("a1#bad"));
        assert!(b.rejected[1].reason.contains("twice"));
    }
}
