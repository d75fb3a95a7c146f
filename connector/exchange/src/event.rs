//! What the two parties of a subtitle order tell each other (the vocabulary follows MovieLabs Asset Order &
//! Delivery in our own words), and who they are.
//!
//! Events are the only way an order changes. Both connectors keep the same [`crate::OrderLog`] of them; the state
//! is derived, never sent.

use std::fmt;

use passerelle_subtitle::Timecode;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::order::{FieldProblem, Order, Problem};

/// The two parties of an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Party {
    /// Orders the subtitles and owns the work (the orderer).
    Distributor,
    /// Produces and delivers the subtitles (the supplier).
    Lab,
}

impl Party {
    pub const ALL: [Party; 2] = [Party::Distributor, Party::Lab];

    pub fn counterpart(self) -> Party {
        match self {
            Party::Distributor => Party::Lab,
            Party::Lab => Party::Distributor,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Party::Distributor => "distributor",
            Party::Lab => "lab",
        }
    }
}

impl fmt::Display for Party {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The production stages of a subtitle job, in their usual order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Stage {
    /// Building or conforming the timed template to the ordered version.
    Template,
    /// Setting in and out times of each event.
    Spotting,
    Translation,
    /// Linguistic review by a second subtitler.
    Review,
    /// The lab's own quality control before delivery.
    Qc,
}

impl Stage {
    pub const ALL: [Stage; 5] = [Stage::Template, Stage::Spotting, Stage::Translation, Stage::Review, Stage::Qc];

    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Template => "template",
            Stage::Spotting => "spotting",
            Stage::Translation => "translation",
            Stage::Review => "review",
            Stage::Qc => "qc",
        }
    }
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A price as quoted: a decimal amount in text (no float rounding on money) and an ISO 4217 currency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Price {
    /// E.g. `"1250.00"`.
    pub amount: String,
    /// E.g. `EUR`.
    pub currency: String,
}

/// One remark of a QC review asking for redelivery.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct QcNote {
    pub category: NoteCategory,
    pub severity: Severity,
    /// Where in the programme, at the order's frame rate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timecode_range: Option<TimecodeRange>,
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TimecodeRange {
    pub start: String,
    pub end: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum NoteCategory {
    /// In/out times, sync with dialogue or shot changes.
    Timing,
    ReadingSpeed,
    LineLength,
    LineCount,
    Translation,
    Spelling,
    /// House style: italics, dual speakers, numbers…
    Style,
    /// The file itself: format, encoding, declared language, frame rate.
    Format,
    Other,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Minor,
    Major,
    /// Blocks broadcast on its own.
    Critical,
}

/// One file that kept a delivery from being intact.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DeliveryProblem {
    /// The file's path in the delivery.
    pub file: String,
    /// `missing`, `size_mismatch`, `hash_mismatch`, `unexpected` or `unreadable`.
    pub problem: String,
    /// Hash mismatch: the algorithm that disagreed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub algorithm: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actual: Option<String>,
    /// The whole finding in words.
    pub message: String,
}

/// Something one party tells the other about an order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all_fields = "camelCase", deny_unknown_fields)]
pub enum Event {
    /// The distributor places the order (boxed: an order is far larger than any other event).
    OrderPlaced {
        order: Box<Order>,
    },
    /// The lab quotes (again, to revise its quote before confirmation).
    Quoted {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        price: Option<Price>,
        /// The delivery date the lab commits to, when it differs from the order's.
        #[serde(default, with = "time::serde::rfc3339::option", skip_serializing_if = "Option::is_none")]
        proposed_due_date: Option<OffsetDateTime>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        note: Option<String>,
    },
    /// The distributor accepts the quote.
    Confirmed {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        note: Option<String>,
    },
    /// The lab declines the request, or the distributor declines the quote.
    Declined {
        reason: String,
    },
    /// The lab acknowledges materials; `complete` says it has all it needs to start.
    MaterialsReceived {
        /// Ids from the order's materials list (or new ones for material sent outside it).
        materials: Vec<String>,
        complete: bool,
    },
    /// The lab reports where the job stands.
    StageProgress {
        stage: Stage,
        /// Of this stage, 0 to 100.
        percent: u8,
        /// When the lab expects to deliver.
        #[serde(default, with = "time::serde::rfc3339::option", skip_serializing_if = "Option::is_none")]
        eta: Option<OffsetDateTime>,
    },
    OnHold {
        reason: String,
    },
    Resumed {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        note: Option<String>,
    },
    /// The distributor moves the due date.
    DueDateChanged {
        #[serde(with = "time::serde::rfc3339")]
        due_date: OffsetDateTime,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
    /// The lab delivers; the manifest (files, sizes, hashes) travels with the delivery. `manifestRef` is the
    /// manifest's digest (`sha256:<hex>` of its canonical JSON); `manifest` is the `passerelle-delivery` manifest
    /// itself and `location` where the lab serves the files (for people: the distributor fetches them from the
    /// order endpoint it placed the order with, never from an address the lab names).
    Delivered {
        manifest_ref: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        manifest: Option<serde_json::Value>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        location: Option<String>,
    },
    /// The distributor's connector received the delivery intact: `receipt` is a compact JWS signed with its DID
    /// key over the order, the delivery number, the manifest digest and every file's SHA-256.
    DeliveryReceived {
        manifest_ref: String,
        receipt: String,
    },
    /// The distributor's connector refused the delivery as not intact; the lab delivers again.
    DeliveryRefused {
        manifest_ref: String,
        problems: Vec<DeliveryProblem>,
    },
    /// The distributor's automatic QC passed; a human decides next.
    Validated {
        qc_report_ref: String,
    },
    Accepted {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        note: Option<String>,
    },
    /// The distributor rejects the delivery with QC notes; the lab reworks and delivers again.
    RedeliveryRequested {
        notes: Vec<QcNote>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        qc_report_ref: Option<String>,
    },
    /// The distributor withdraws the order before delivery.
    Cancelled {
        reason: String,
    },
    /// The distributor replaces this order by another one (a new cut, a changed spec).
    Superseded {
        by_order: String,
    },
    /// An accepted delivery is withdrawn (a defect found later, a rights issue).
    Recalled {
        reason: String,
    },
}

/// An event's type without its content: what the state machine and its errors talk about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum EventKind {
    OrderPlaced,
    Quoted,
    Confirmed,
    Declined,
    MaterialsReceived,
    StageProgress,
    OnHold,
    Resumed,
    DueDateChanged,
    Delivered,
    DeliveryReceived,
    DeliveryRefused,
    Validated,
    Accepted,
    RedeliveryRequested,
    Cancelled,
    Superseded,
    Recalled,
}

impl EventKind {
    pub const ALL: [EventKind; 18] = [
        EventKind::OrderPlaced,
        EventKind::Quoted,
        EventKind::Confirmed,
        EventKind::Declined,
        EventKind::MaterialsReceived,
        EventKind::StageProgress,
        EventKind::OnHold,
        EventKind::Resumed,
        EventKind::DueDateChanged,
        EventKind::Delivered,
        EventKind::DeliveryReceived,
        EventKind::DeliveryRefused,
        EventKind::Validated,
        EventKind::Accepted,
        EventKind::RedeliveryRequested,
        EventKind::Cancelled,
        EventKind::Superseded,
        EventKind::Recalled,
    ];

    /// The `type` written on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::OrderPlaced => "OrderPlaced",
            EventKind::Quoted => "Quoted",
            EventKind::Confirmed => "Confirmed",
            EventKind::Declined => "Declined",
            EventKind::MaterialsReceived => "MaterialsReceived",
            EventKind::StageProgress => "StageProgress",
            EventKind::OnHold => "OnHold",
            EventKind::Resumed => "Resumed",
            EventKind::DueDateChanged => "DueDateChanged",
            EventKind::Delivered => "Delivered",
            EventKind::DeliveryReceived => "DeliveryReceived",
            EventKind::DeliveryRefused => "DeliveryRefused",
            EventKind::Validated => "Validated",
            EventKind::Accepted => "Accepted",
            EventKind::RedeliveryRequested => "RedeliveryRequested",
            EventKind::Cancelled => "Cancelled",
            EventKind::Superseded => "Superseded",
            EventKind::Recalled => "Recalled",
        }
    }
}

impl fmt::Display for EventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Event {
    pub fn kind(&self) -> EventKind {
        match self {
            Event::OrderPlaced { .. } => EventKind::OrderPlaced,
            Event::Quoted { .. } => EventKind::Quoted,
            Event::Confirmed { .. } => EventKind::Confirmed,
            Event::Declined { .. } => EventKind::Declined,
            Event::MaterialsReceived { .. } => EventKind::MaterialsReceived,
            Event::StageProgress { .. } => EventKind::StageProgress,
            Event::OnHold { .. } => EventKind::OnHold,
            Event::Resumed { .. } => EventKind::Resumed,
            Event::DueDateChanged { .. } => EventKind::DueDateChanged,
            Event::Delivered { .. } => EventKind::Delivered,
            Event::DeliveryReceived { .. } => EventKind::DeliveryReceived,
            Event::DeliveryRefused { .. } => EventKind::DeliveryRefused,
            Event::Validated { .. } => EventKind::Validated,
            Event::Accepted { .. } => EventKind::Accepted,
            Event::RedeliveryRequested { .. } => EventKind::RedeliveryRequested,
            Event::Cancelled { .. } => EventKind::Cancelled,
            Event::Superseded { .. } => EventKind::Superseded,
            Event::Recalled { .. } => EventKind::Recalled,
        }
    }

    /// Every problem with the event's content, at JSON paths within the event. `order` is the order the event
    /// belongs to, when known: QC note timecodes are read at its frame rate.
    pub fn problems(&self, order: Option<&Order>) -> Vec<FieldProblem> {
        let mut out = Vec::new();
        let mut non_empty = |path: &str, text: &str, hint: &'static str| {
            if text.trim().is_empty() {
                out.push(FieldProblem::new(path, Problem::Empty { hint }));
            }
        };
        match self {
            Event::OrderPlaced { order } => {
                if let Err(invalid) = order.validate() {
                    out.extend(invalid.problems.into_iter().map(|p| p.under("order")));
                }
            }
            Event::Quoted { price: Some(price), .. } => {
                if !is_amount(&price.amount) {
                    out.push(FieldProblem::new(
                        "price.amount",
                        Problem::Malformed {
                            detail: format!(
                                "`{}` is not an amount: write digits with at most 4 decimals, e.g. \"1250.00\"",
                                price.amount
                            ),
                        },
                    ));
                }
                if !(price.currency.len() == 3 && price.currency.bytes().all(|b| b.is_ascii_uppercase())) {
                    out.push(FieldProblem::new(
                        "price.currency",
                        Problem::Malformed {
                            detail: format!(
                                "`{}` is not an ISO 4217 code: write three capitals, e.g. EUR",
                                price.currency
                            ),
                        },
                    ));
                }
            }
            Event::Declined { reason }
            | Event::OnHold { reason }
            | Event::Cancelled { reason }
            | Event::Recalled { reason } => non_empty("reason", reason, "say why, so the other party can act on it"),
            Event::MaterialsReceived { materials, .. } => {
                for (i, m) in materials.iter().enumerate() {
                    non_empty(&format!("materials[{i}]"), m, "name each material received by its id");
                }
            }
            Event::StageProgress { percent, .. } if *percent > 100 => out.push(FieldProblem::new(
                "percent",
                Problem::OutOfRange { value: percent.to_string(), expected: "a percentage, 0 to 100" },
            )),
            Event::Delivered { manifest_ref, .. } => {
                non_empty("manifestRef", manifest_ref, "reference the delivery manifest")
            }
            Event::DeliveryReceived { manifest_ref, receipt } => {
                non_empty("manifestRef", manifest_ref, "reference the delivery manifest");
                non_empty("receipt", receipt, "give the signed receipt");
            }
            Event::DeliveryRefused { manifest_ref, problems } => {
                non_empty("manifestRef", manifest_ref, "reference the delivery manifest");
                if problems.is_empty() {
                    out.push(FieldProblem::new(
                        "problems",
                        Problem::Empty { hint: "name at least one file and what is wrong with it" },
                    ));
                }
            }
            Event::Validated { qc_report_ref } => {
                non_empty("qcReportRef", qc_report_ref, "reference the QC report that passed")
            }
            Event::RedeliveryRequested { notes, .. } => {
                if notes.is_empty() {
                    out.push(FieldProblem::new(
                        "notes",
                        Problem::Empty { hint: "give at least one QC note saying what to fix" },
                    ));
                }
                for (i, note) in notes.iter().enumerate() {
                    if note.text.trim().is_empty() {
                        out.push(FieldProblem::new(
                            format!("notes[{i}].text"),
                            Problem::Empty { hint: "say what is wrong and what to do" },
                        ));
                    }
                    if let Some(range) = &note.timecode_range {
                        out.extend(range_problems(&format!("notes[{i}].timecodeRange"), range, order));
                    }
                }
            }
            Event::Superseded { by_order } => {
                if by_order.trim().is_empty() {
                    out.push(FieldProblem::new(
                        "byOrder",
                        Problem::Empty { hint: "name the order that replaces this one" },
                    ));
                } else if order.is_some_and(|o| o.id == *by_order) {
                    out.push(FieldProblem::new(
                        "byOrder",
                        Problem::Inconsistent { reason: "an order cannot supersede itself; name the new order".into() },
                    ));
                }
            }
            _ => {}
        }
        out
    }
}

fn is_amount(text: &str) -> bool {
    let (whole, frac) = text.split_once('.').unwrap_or((text, ""));
    !whole.is_empty()
        && whole.bytes().all(|b| b.is_ascii_digit())
        && frac.len() <= 4
        && frac.bytes().all(|b| b.is_ascii_digit())
        && !(text.contains('.') && frac.is_empty())
}

fn range_problems(path: &str, range: &TimecodeRange, order: Option<&Order>) -> Vec<FieldProblem> {
    let mut out = Vec::new();
    let mut read = |field: &str, text: &str| -> Option<i64> {
        let tc = match text.parse::<Timecode>() {
            Ok(tc) => tc,
            Err(e) => {
                out.push(FieldProblem::new(format!("{path}.{field}"), Problem::Timecode(e)));
                return None;
            }
        };
        let rate = order?.frame_rate;
        match tc.frame_index(rate) {
            Ok(frame) => Some(frame),
            Err(e) => {
                out.push(FieldProblem::new(format!("{path}.{field}"), Problem::Timecode(e)));
                None
            }
        }
    };
    let start = read("start", &range.start);
    let end = read("end", &range.end);
    if let (Some(s), Some(e)) = (start, end)
        && s > e
    {
        out.push(FieldProblem::new(
            format!("{path}.end"),
            Problem::Inconsistent { reason: format!("{} is before start {}; swap them", range.end, range.start) },
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::order::tests::order;

    #[test]
    fn events_read_and_write_with_their_type() {
        let e: Event = serde_json::from_value(json!({
            "type": "StageProgress", "stage": "translation", "percent": 40, "eta": "2026-06-28T12:00:00Z"
        }))
        .unwrap();
        assert_eq!(e.kind(), EventKind::StageProgress);
        assert_eq!(serde_json::to_value(&e).unwrap()["stage"], "translation");
        let back: Event = serde_json::from_value(serde_json::to_value(&e).unwrap()).unwrap();
        assert_eq!(back, e);
        let e: Event = serde_json::from_value(json!({"type": "Superseded", "byOrder": "PO-2"})).unwrap();
        assert_eq!(e, Event::Superseded { by_order: "PO-2".into() });
        for kind in EventKind::ALL {
            assert_eq!(serde_json::to_value(kind).unwrap(), kind.as_str());
        }
    }

    #[test]
    fn unknown_fields_and_types_are_refused() {
        let typo = serde_json::from_value::<Event>(json!({"type": "Delivered", "manifestRef": "m", "manifests": "x"}));
        assert!(typo.unwrap_err().to_string().contains("unknown field `manifests`"));
        let refused = serde_json::from_value::<Event>(json!({"type": "DeliveryRefused", "manifestRef": "m",
            "problems": [{"file": "a.srt", "problem": "missing", "message": "`a.srt`: missing"}]}));
        assert!(refused.unwrap().problems(None).is_empty());
        let empty = Event::DeliveryRefused { manifest_ref: "m".into(), problems: vec![] };
        assert_eq!(empty.problems(None)[0].path, "problems");
        let unit = serde_json::from_value::<Event>(json!({"type": "Accepted", "notes": "ok"}));
        assert!(unit.is_err(), "a misspelt optional field must not be dropped silently");
        assert!(serde_json::from_value::<Event>(json!({"type": "Shipped"})).is_err());
    }

    #[test]
    fn content_problems_have_paths() {
        let o = order();
        let e = Event::RedeliveryRequested {
            notes: vec![
                QcNote {
                    category: NoteCategory::Timing,
                    severity: Severity::Major,
                    timecode_range: Some(TimecodeRange { start: "10:01:00:00".into(), end: "10:00:59:00".into() }),
                    text: "Out times late on the shot change".into(),
                },
                QcNote {
                    category: NoteCategory::Spelling,
                    severity: Severity::Minor,
                    timecode_range: Some(TimecodeRange { start: "10:02:00:30".into(), end: "10:02:01:00".into() }),
                    text: " ".into(),
                },
            ],
            qc_report_ref: None,
        };
        let paths: Vec<String> = e.problems(Some(&o)).into_iter().map(|p| p.path).collect();
        assert_eq!(paths, ["notes[0].timecodeRange.end", "notes[1].text", "notes[1].timecodeRange.start"]);

        let e = Event::Quoted {
            price: Some(Price { amount: "12,50".into(), currency: "euro".into() }),
            proposed_due_date: None,
            note: None,
        };
        let paths: Vec<String> = e.problems(None).into_iter().map(|p| p.path).collect();
        assert_eq!(paths, ["price.amount", "price.currency"]);
        assert!(is_amount("1250.00") && is_amount("0") && !is_amount("1.") && !is_amount(".5") && !is_amount("-1"));

        let e = Event::StageProgress { stage: Stage::Qc, percent: 101, eta: None };
        assert_eq!(e.problems(None)[0].path, "percent");
        let e = Event::Superseded { by_order: o.id.clone() };
        assert!(e.problems(Some(&o))[0].to_string().contains("cannot supersede itself"));

        let mut bad = o.clone();
        bad.target_language = "??".into();
        let p = Event::OrderPlaced { order: Box::new(bad) }.problems(None);
        assert_eq!(p[0].path, "order.targetLanguage");
    }
}
