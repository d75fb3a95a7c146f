//! The subtitle order as a distributor places it with a lab: which exact version of which work, into which
//! language, as what kind of subtitles, in which file format, at which frame rate and start timecode, to which
//! style profile, by when, and from which materials.
//!
//! Identifiers, the language and the start timecode arrive as text and are checked by [`Order::validate`], which
//! reports every problem at once (a subtitle coordinator fixes the whole form in one go). Closed vocabularies
//! (kind, format, counting rule), numbers and dates are typed, so serde refuses them first; [`Order::from_json`]
//! names the path of such a refusal too.

use std::collections::BTreeSet;
use std::fmt;

use passerelle_media::{Eidr, IdError, Isan, LanguageTag};
use passerelle_subtitle::{FrameRate, Timecode, TimecodeError};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use time::OffsetDateTime;

/// A subtitle order (the wire form the distributor sends; camelCase JSON, unknown fields refused).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Order {
    /// The distributor's order reference (its purchase order number); the lab quotes it back.
    pub id: String,
    pub work: WorkRef,
    /// The exact version (edit) the subtitles are timed against: a subtitle file fits one cut only.
    pub version: VersionRef,
    /// BCP 47 tag of the subtitles' language, e.g. `es-419`.
    pub target_language: String,
    pub kind: OrderKind,
    pub format: DeliveryFormat,
    /// A named profile of the format (`imsc1.1-text`, `ebu-tt-d`, a broadcaster's delivery spec…).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
    /// Picture rate of the version: `24`, `25`, `"30000/1001"`, `"23.976"`, `"29.97DF"`.
    #[serde(serialize_with = "write_rate", deserialize_with = "read_rate")]
    pub frame_rate: FrameRate,
    /// Timecode of the first frame of programme, e.g. `10:00:00:00` (`;` before the frames for drop-frame).
    pub start_timecode: String,
    pub style_profile: StyleProfile,
    #[serde(with = "time::serde::rfc3339")]
    pub due_date: OffsetDateTime,
    /// What the distributor supplies (proxy, scripts, templates…); files travel out of band.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub materials: Vec<Material>,
    /// Free text for the lab (spelling conventions, names not to translate…).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instructions: Option<String>,
}

/// The work, as the distributor's catalogue (and its offer) names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WorkRef {
    /// Id of the work in the distributor's catalogue (the dataset's work id).
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
}

/// The version, by exactly one registry identifier.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct VersionRef {
    /// EIDR edit id, `10.5240/XXXX-XXXX-XXXX-XXXX-XXXX-C`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eidr: Option<String>,
    /// ISAN with its version part, `RRRR-RRRR-RRRR-EEEE-C-VVVV-VVVV-D`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub isan: Option<String>,
    /// Human label ("Theatrical", "Director's cut"); informative only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
}

/// A version identifier that passed validation.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum VersionId {
    Eidr(Eidr),
    Isan(Isan),
}

impl fmt::Display for VersionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VersionId::Eidr(e) => write!(f, "EIDR {e}"),
            VersionId::Isan(i) => write!(f, "ISAN {i}"),
        }
    }
}

/// What kind of subtitles are ordered (a subset of [`passerelle_media::SubtitleKind`]: what a lab produces).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OrderKind {
    Subtitles,
    /// For the deaf and hard of hearing: dialogue plus speaker ids and sound cues.
    Sdh,
    /// Only foreign-language dialogue and on-screen text.
    ForcedNarrative,
}

impl OrderKind {
    pub fn to_media(self) -> passerelle_media::SubtitleKind {
        match self {
            OrderKind::Subtitles => passerelle_media::SubtitleKind::Subtitles,
            OrderKind::Sdh => passerelle_media::SubtitleKind::Sdh,
            OrderKind::ForcedNarrative => passerelle_media::SubtitleKind::ForcedNarrative,
        }
    }
}

/// The file format to deliver.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum DeliveryFormat {
    #[serde(rename = "srt")]
    Srt,
    #[serde(rename = "webvtt")]
    WebVtt,
    #[serde(rename = "ttml-imsc1.1")]
    TtmlImsc11,
    #[serde(rename = "ebu-stl")]
    EbuStl,
    #[serde(rename = "scc")]
    Scc,
}

impl DeliveryFormat {
    /// The parser family QC reads the delivery with.
    pub fn to_subtitle(self) -> passerelle_subtitle::SubtitleFormat {
        use passerelle_subtitle::SubtitleFormat as F;
        match self {
            DeliveryFormat::Srt => F::Srt,
            DeliveryFormat::WebVtt => F::WebVtt,
            DeliveryFormat::TtmlImsc11 => F::Ttml,
            DeliveryFormat::EbuStl => F::EbuStl,
            DeliveryFormat::Scc => F::Scc,
        }
    }
}

/// The limits the subtitles must keep; QC checks the delivery against them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StyleProfile {
    pub max_chars_per_line: u32,
    pub max_lines: u32,
    pub reading_speed: ReadingSpeed,
    pub min_event_duration_ms: u64,
    pub max_event_duration_ms: u64,
    /// Frames between the end of one event and the start of the next (0 allows chained events).
    pub min_gap_frames: u32,
}

/// Highest reading speed, and how its characters are counted (style guides differ on spaces and punctuation).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReadingSpeed {
    pub max_chars_per_second: f64,
    #[serde(default)]
    pub counting: Counting,
}

/// Which characters count towards reading speed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Counting {
    #[default]
    AllCharacters,
    NoSpaces,
    NoPunctuation,
    LettersAndDigits,
}

impl Counting {
    pub fn to_subtitle(self) -> passerelle_subtitle::CharCounting {
        use passerelle_subtitle::CharCounting as C;
        match self {
            Counting::AllCharacters => C::AllCharacters,
            Counting::NoSpaces => C::ExcludeSpaces,
            Counting::NoPunctuation => C::ExcludePunctuation,
            Counting::LettersAndDigits => C::ExcludeSpacesAndPunctuation,
        }
    }
}

/// One item the distributor supplies for the job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Material {
    /// Unique within the order; the lab's materials receipts name it.
    pub id: String,
    pub kind: MaterialKind,
    /// URL or shared-folder path (files travel out of band).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MaterialKind {
    /// Low-resolution picture with burnt-in timecode.
    PictureProxy,
    Audio,
    Script,
    /// Dialogue / spotting list (as-broadcast script).
    DialogueList,
    /// A timed template (pivot file) to translate from.
    Template,
    Glossary,
    Other,
}

/// One thing wrong with a submitted value: where (a JSON path such as `styleProfile.maxLines`, `$` for the whole
/// document) and what, phrased so the sender knows what to change.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {problem}")]
pub struct FieldProblem {
    pub path: String,
    pub problem: Problem,
}

impl FieldProblem {
    pub(crate) fn new(path: impl Into<String>, problem: Problem) -> Self {
        FieldProblem { path: path.into(), problem }
    }

    /// The same problem under `prefix` (an order inside an event is at `order.…`).
    pub(crate) fn under(mut self, prefix: &str) -> Self {
        self.path = if self.path == "$" { prefix.to_string() } else { format!("{prefix}.{}", self.path) };
        self
    }
}

/// What is wrong with the field a [`FieldProblem`] names.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Problem {
    #[error("{detail}")]
    Malformed { detail: String },
    #[error("must not be empty: {hint}")]
    Empty { hint: &'static str },
    #[error("{0}")]
    Identifier(IdError),
    #[error(
        "name the version by exactly one of `eidr` (an EIDR edit id) or `isan` (an ISAN with its version part); {found}"
    )]
    VersionChoice { found: &'static str },
    #[error(
        "ISAN `{value}` names the work, not a version: give the full form with the version part, \
         RRRR-RRRR-RRRR-EEEE-C-VVVV-VVVV-D"
    )]
    IsanWithoutVersion { value: String },
    #[error("{value} is out of range: {expected}")]
    OutOfRange { value: String, expected: &'static str },
    #[error("{0}")]
    Timecode(TimecodeError),
    #[error("{reason}")]
    Inconsistent { reason: String },
    #[error("`{value}` is used more than once: {hint}")]
    Duplicate { value: String, hint: &'static str },
}

/// An order that cannot be accepted, with every problem found.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct InvalidOrder {
    pub problems: Vec<FieldProblem>,
}

impl fmt::Display for InvalidOrder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the order has {} problem(s)", self.problems.len())?;
        for p in &self.problems {
            write!(f, "; {p}")?;
        }
        Ok(())
    }
}

impl Order {
    /// Reads and validates an order from its JSON form. A field serde refuses (unknown, wrong type, unknown
    /// vocabulary word) stops reading and is reported alone, at its path; otherwise every problem is reported.
    pub fn from_json(bytes: &[u8]) -> Result<Order, InvalidOrder> {
        let de = &mut serde_json::Deserializer::from_slice(bytes);
        let order: Order = serde_path_to_error::deserialize(de).map_err(|e| {
            let path = e.path().to_string();
            let path = if path == "." { "$".to_string() } else { path };
            InvalidOrder {
                problems: vec![FieldProblem::new(path, Problem::Malformed { detail: e.inner().to_string() })],
            }
        })?;
        order.validate()?;
        Ok(order)
    }

    /// Every problem with this order, each at its JSON path.
    pub fn validate(&self) -> Result<(), InvalidOrder> {
        let mut out = Vec::new();
        let mut bad = |path: &str, problem: Problem| out.push(FieldProblem::new(path, problem));

        if self.id.trim().is_empty() {
            bad("id", Problem::Empty { hint: "give the order reference the lab will quote back" });
        }
        if self.work.id.trim().is_empty() {
            bad("work.id", Problem::Empty { hint: "give the work's id in your catalogue" });
        }
        match (&self.version.eidr, &self.version.isan) {
            (Some(_), Some(_)) => bad("version", Problem::VersionChoice { found: "both were given" }),
            (None, None) => bad("version", Problem::VersionChoice { found: "neither was given" }),
            (Some(e), None) => {
                if let Err(err) = Eidr::parse(e) {
                    bad("version.eidr", Problem::Identifier(err));
                }
            }
            (None, Some(i)) => match Isan::parse(i) {
                Err(err) => bad("version.isan", Problem::Identifier(err)),
                Ok(isan) if !isan.has_version() => {
                    bad("version.isan", Problem::IsanWithoutVersion { value: isan.to_string() })
                }
                Ok(_) => {}
            },
        }
        if let Err(err) = LanguageTag::parse(&self.target_language) {
            bad("targetLanguage", Problem::Identifier(err));
        }
        if self.profile.as_deref().is_some_and(|p| p.trim().is_empty()) {
            bad("profile", Problem::Empty { hint: "name the format profile or leave the field out" });
        }
        // Below 10 fps or above 120 fps is no picture rate the trade delivers subtitles for: a typo.
        let fps = self.frame_rate.fps_f64();
        if !(10.0..=120.0).contains(&fps) {
            bad(
                "frameRate",
                Problem::OutOfRange {
                    value: self.frame_rate.to_string(),
                    expected: "a picture rate between 10 and 120 fps",
                },
            );
        }
        match self.start_timecode.parse::<Timecode>() {
            Err(err) => bad("startTimecode", Problem::Timecode(err)),
            Ok(tc) => {
                if let Err(err) = tc.frame_index(self.frame_rate) {
                    bad("startTimecode", Problem::Timecode(err));
                } else if self.frame_rate.with_drop_frame(!tc.drop_frame).is_some()
                    && tc.drop_frame != self.frame_rate.is_drop_frame()
                {
                    // Both countings exist at 29.97/59.94, so the label must say which one the frame rate names.
                    let (rate_mode, hint) = if self.frame_rate.is_drop_frame() {
                        ("drop-frame", "`;` before the frames")
                    } else {
                        ("non-drop-frame", "`:` before the frames")
                    };
                    bad(
                        "startTimecode",
                        Problem::Inconsistent {
                            reason: format!(
                                "frame rate {} counts {rate_mode} timecode but `{tc}` does not; write it with {hint}",
                                self.frame_rate
                            ),
                        },
                    );
                }
            }
        }
        let s = &self.style_profile;
        if !(1..=120).contains(&s.max_chars_per_line) {
            bad(
                "styleProfile.maxCharsPerLine",
                Problem::OutOfRange {
                    value: s.max_chars_per_line.to_string(),
                    expected: "between 1 and 120 characters",
                },
            );
        }
        if !(1..=6).contains(&s.max_lines) {
            bad(
                "styleProfile.maxLines",
                Problem::OutOfRange { value: s.max_lines.to_string(), expected: "between 1 and 6 lines" },
            );
        }
        let cps = s.reading_speed.max_chars_per_second;
        if !(cps.is_finite() && cps > 0.0 && cps <= 60.0) {
            bad(
                "styleProfile.readingSpeed.maxCharsPerSecond",
                Problem::OutOfRange {
                    value: cps.to_string(),
                    expected: "more than 0 and at most 60 characters per second",
                },
            );
        }
        if s.max_event_duration_ms == 0 || s.max_event_duration_ms > 60_000 {
            bad(
                "styleProfile.maxEventDurationMs",
                Problem::OutOfRange {
                    value: s.max_event_duration_ms.to_string(),
                    expected: "between 1 and 60000 ms (style guides use about 7000)",
                },
            );
        } else if s.min_event_duration_ms > s.max_event_duration_ms {
            bad(
                "styleProfile.minEventDurationMs",
                Problem::Inconsistent {
                    reason: format!(
                        "{} ms is longer than maxEventDurationMs ({} ms); lower the minimum or raise the maximum",
                        s.min_event_duration_ms, s.max_event_duration_ms
                    ),
                },
            );
        }
        if s.min_gap_frames > 120 {
            bad(
                "styleProfile.minGapFrames",
                Problem::OutOfRange {
                    value: s.min_gap_frames.to_string(),
                    expected: "at most 120 frames (style guides use 2 to 12)",
                },
            );
        }
        let mut seen = BTreeSet::new();
        for (i, m) in self.materials.iter().enumerate() {
            if m.id.trim().is_empty() {
                bad(
                    &format!("materials[{i}].id"),
                    Problem::Empty { hint: "give each material an id the lab can acknowledge" },
                );
            } else if !seen.insert(m.id.as_str()) {
                bad(
                    &format!("materials[{i}].id"),
                    Problem::Duplicate { value: m.id.clone(), hint: "material ids must be unique within the order" },
                );
            }
            if m.location.as_deref().is_some_and(|l| l.trim().is_empty()) {
                bad(
                    &format!("materials[{i}].location"),
                    Problem::Empty { hint: "give a URL or path, or leave the field out" },
                );
            }
        }
        if out.is_empty() { Ok(()) } else { Err(InvalidOrder { problems: out }) }
    }

    /// The version identifier, parsed (fails only on an order that did not pass [`Order::validate`]).
    pub fn version_id(&self) -> Result<VersionId, InvalidOrder> {
        let one = |path: &str, problem| InvalidOrder { problems: vec![FieldProblem::new(path, problem)] };
        match (&self.version.eidr, &self.version.isan) {
            (Some(e), None) => {
                Eidr::parse(e).map(VersionId::Eidr).map_err(|e| one("version.eidr", Problem::Identifier(e)))
            }
            (None, Some(i)) => {
                Isan::parse(i).map(VersionId::Isan).map_err(|e| one("version.isan", Problem::Identifier(e)))
            }
            (Some(_), Some(_)) => Err(one("version", Problem::VersionChoice { found: "both were given" })),
            (None, None) => Err(one("version", Problem::VersionChoice { found: "neither was given" })),
        }
    }

    /// The target language, parsed.
    pub fn language(&self) -> Result<LanguageTag, IdError> {
        LanguageTag::parse(&self.target_language)
    }

    /// The QC profile the delivery is checked against (the automatic QC of `passerelle-subtitle`).
    pub fn qc_profile(&self) -> passerelle_subtitle::StyleProfile {
        use passerelle_subtitle::TimeSpan;
        let s = &self.style_profile;
        let mut p = passerelle_subtitle::StyleProfile::new(self.frame_rate);
        p.max_chars_per_line = Some(s.max_chars_per_line);
        p.max_lines = Some(s.max_lines);
        p.max_reading_speed_cps = Some(s.reading_speed.max_chars_per_second);
        p.reading_speed_counting = s.reading_speed.counting.to_subtitle();
        p.min_duration = Some(TimeSpan::Millis(s.min_event_duration_ms));
        p.max_duration = Some(TimeSpan::Millis(s.max_event_duration_ms));
        p.min_gap_frames = Some(s.min_gap_frames);
        p.expected_language = Some(self.language().map_or_else(|_| self.target_language.clone(), |l| l.to_string()));
        p.expected_format = Some(self.format.to_subtitle());
        p
    }
}

fn write_rate<S: Serializer>(rate: &FrameRate, s: S) -> Result<S::Ok, S::Error> {
    rate.serialize(s)
}

/// A frame rate as the trade writes it: an integer (`25`) or text (`"30000/1001"`, `"23.976"`, `"29.97DF"`).
fn read_rate<'de, D: Deserializer<'de>>(d: D) -> Result<FrameRate, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Written {
        Whole(u32),
        Text(String),
    }
    let text = match Written::deserialize(d)? {
        Written::Whole(n) => n.to_string(),
        Written::Text(t) => t,
    };
    text.parse().map_err(serde::de::Error::custom)
}

#[cfg(test)]
pub(crate) mod tests {
    use serde_json::{Value, json};

    use super::*;

    pub(crate) const EIDR_EDIT: &str = "10.5240/7EC7-228A-510A-053E-CBB8-J";

    pub(crate) fn order_json() -> Value {
        json!({
            "id": "PO-2026-0042",
            "work": {"id": "work-tamis", "title": "Le Tamis"},
            "version": {"eidr": EIDR_EDIT, "label": "Theatrical"},
            "targetLanguage": "es-419",
            "kind": "subtitles",
            "format": "ttml-imsc1.1",
            "profile": "imsc1.1-text",
            "frameRate": "24000/1001",
            "startTimecode": "10:00:00:00",
            "styleProfile": {
                "maxCharsPerLine": 42,
                "maxLines": 2,
                "readingSpeed": {"maxCharsPerSecond": 17, "counting": "no-spaces"},
                "minEventDurationMs": 833,
                "maxEventDurationMs": 7000,
                "minGapFrames": 2
            },
            "dueDate": "2026-07-01T17:00:00Z",
            "materials": [
                {"id": "proxy", "kind": "picture-proxy", "location": "https://files.example/tamis/proxy.mp4"},
                {"id": "dl", "kind": "dialogue-list"}
            ]
        })
    }

    pub(crate) fn order() -> Order {
        Order::from_json(order_json().to_string().as_bytes()).unwrap()
    }

    fn problems(v: Value) -> Vec<FieldProblem> {
        Order::from_json(v.to_string().as_bytes()).unwrap_err().problems
    }

    fn paths(v: Value) -> Vec<String> {
        problems(v).into_iter().map(|p| p.path).collect()
    }

    #[test]
    fn a_good_order_reads_and_round_trips() {
        let o = order();
        assert_eq!(o.frame_rate, FrameRate::FPS_23_976);
        assert_eq!(o.version_id().unwrap(), VersionId::Eidr(Eidr::parse(EIDR_EDIT).unwrap()));
        assert_eq!(o.language().unwrap().as_str(), "es-419");
        let again: Order = serde_json::from_value(serde_json::to_value(&o).unwrap()).unwrap();
        assert_eq!(again, o);
        let qc = o.qc_profile();
        assert!(qc.validate().is_ok());
        assert_eq!(qc.expected_format, Some(passerelle_subtitle::SubtitleFormat::Ttml));
        assert_eq!(qc.reading_speed_counting, passerelle_subtitle::CharCounting::ExcludeSpaces);
    }

    #[test]
    fn frame_rates_as_the_trade_writes_them() {
        for (written, rate) in [
            (json!(25), FrameRate::FPS_25),
            (json!(24), FrameRate::FPS_24),
            (json!("30000/1001"), FrameRate::FPS_29_97_NDF),
            (json!("29.97DF"), FrameRate::FPS_29_97_DF),
        ] {
            let mut v = order_json();
            v["frameRate"] = written.clone();
            if rate.is_drop_frame() {
                v["startTimecode"] = json!("01:00:00;00");
            }
            assert_eq!(Order::from_json(v.to_string().as_bytes()).unwrap().frame_rate, rate, "{written}");
        }
    }

    #[test]
    fn a_misspelt_field_is_refused_at_its_path() {
        let mut v = order_json();
        v["styleProfile"]["maxCharPerLine"] = json!(42);
        let p = problems(v);
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].path, "styleProfile.maxCharPerLine");
        assert!(p[0].problem.to_string().contains("unknown field `maxCharPerLine`"), "{}", p[0]);

        let mut v = order_json();
        v["kind"] = json!("closed-captions");
        let p = problems(v);
        assert_eq!(p[0].path, "kind");
        assert!(p[0].problem.to_string().contains("forced-narrative"), "{}", p[0]);

        let mut v = order_json();
        v["frameRate"] = json!("fast");
        assert_eq!(paths(v), ["frameRate"]);

        let mut v = order_json();
        v["dueDate"] = json!("1 July");
        assert_eq!(paths(v), ["dueDate"]);
    }

    #[test]
    fn every_problem_is_reported_with_its_path() {
        let mut v = order_json();
        v["id"] = json!(" ");
        v["work"]["id"] = json!("");
        v["version"] = json!({"eidr": "10.5240/7EC7-228A-510A-053E-CBB8-K"});
        v["targetLanguage"] = json!("spanish!");
        v["profile"] = json!("");
        v["startTimecode"] = json!("10:00:00:24");
        v["styleProfile"]["maxCharsPerLine"] = json!(0);
        v["styleProfile"]["maxLines"] = json!(9);
        v["styleProfile"]["readingSpeed"]["maxCharsPerSecond"] = json!(0);
        v["styleProfile"]["minEventDurationMs"] = json!(8000);
        v["styleProfile"]["minGapFrames"] = json!(500);
        v["materials"] =
            json!([{"id": "proxy", "kind": "picture-proxy"}, {"id": "proxy", "kind": "script", "location": ""}]);
        let got = paths(v);
        assert_eq!(
            got,
            [
                "id",
                "work.id",
                "version.eidr",
                "targetLanguage",
                "profile",
                "startTimecode",
                "styleProfile.maxCharsPerLine",
                "styleProfile.maxLines",
                "styleProfile.readingSpeed.maxCharsPerSecond",
                "styleProfile.minEventDurationMs",
                "styleProfile.minGapFrames",
                "materials[1].id",
                "materials[1].location",
            ]
        );
    }

    #[test]
    fn problems_say_what_to_do() {
        let mut v = order_json();
        v["version"] = json!({"isan": isan(false)});
        let p = problems(v);
        assert_eq!(p[0].path, "version.isan");
        assert!(p[0].to_string().contains("names the work, not a version"), "{}", p[0]);

        let mut v = order_json();
        v["version"] = json!({});
        assert!(problems(v)[0].to_string().contains("neither was given"));

        let mut v = order_json();
        v["version"]["isan"] = json!(isan(true));
        assert!(problems(v)[0].to_string().contains("both were given"));

        let mut v = order_json();
        v["version"] = json!({"eidr": "10.5240/7EC7-228A-510A-053E-CBB8-K"});
        let text = problems(v)[0].to_string();
        assert!(text.contains("check character") && text.contains("`J`"), "{text}");

        let mut v = order_json();
        v["frameRate"] = json!("29.97DF");
        let p = problems(v);
        assert_eq!(p[0].path, "startTimecode");
        assert!(p[0].to_string().contains("`;` before the frames"), "{}", p[0]);

        let mut v = order_json();
        v["frameRate"] = json!(1000);
        assert_eq!(paths(v), ["frameRate"]);
    }

    /// An ISAN with correct check characters, built rather than copied so the test says how it is made.
    pub(crate) fn isan(with_version: bool) -> String {
        use passerelle_media::ids::mod37_36_check;
        let (root, version) = ("00000000D07A0090", "00000001");
        let c1 = mod37_36_check(root).unwrap();
        let short = format!("0000-0000-D07A-0090-{c1}");
        if !with_version {
            return short;
        }
        let c2 = mod37_36_check(&format!("{root}{version}")).unwrap();
        format!("{short}-0000-0001-{c2}")
    }

    #[test]
    fn a_valid_isan_version_is_accepted() {
        let mut v = order_json();
        v["version"] = json!({"isan": isan(true)});
        let o = Order::from_json(v.to_string().as_bytes()).unwrap();
        assert_eq!(o.version_id().unwrap(), VersionId::Isan(Isan::parse(&isan(true)).unwrap()));
    }
}
