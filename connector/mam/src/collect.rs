//! Gathers the records of one file into an [`ImportBatch`], one entry per id.
//!
//! Sources repeat themselves (every Avails row restates its work, three episodes
//! restate their season): records of the same work are merged here so that the
//! batch carries each id once and the store's upsert sees one final value.

use std::collections::HashMap;

use passerelle_media::{RightsWindow, Version, Work, WorkKind};

use crate::{Format, ImportBatch, Rejection};

pub(crate) struct Collector {
    file: String,
    format: Format,
    works: Vec<Work>,
    work_index: HashMap<String, usize>,
    versions: Vec<Version>,
    version_index: HashMap<String, usize>,
    rights: Vec<RightsWindow>,
    rights_index: HashMap<String, usize>,
    rejected: Vec<Rejection>,
    pub records_seen: usize,
}

impl Collector {
    pub fn new(file: &str, format: Format) -> Self {
        Collector {
            file: file.to_string(),
            format,
            works: Vec::new(),
            work_index: HashMap::new(),
            versions: Vec::new(),
            version_index: HashMap::new(),
            rights: Vec::new(),
            rights_index: HashMap::new(),
            rejected: Vec::new(),
            records_seen: 0,
        }
    }

    pub fn reject(&mut self, location: impl Into<String>, record: Option<&str>, reason: impl Into<String>) {
        self.rejected.push(Rejection {
            file: self.file.clone(),
            location: location.into(),
            record: record.map(str::to_string),
            reason: reason.into(),
        });
    }

    /// Adds a work, or completes the one already gathered under the same id: fields
    /// still empty are filled, localized titles, genres, alt ids and credits are
    /// added when new. The first record's values win, so a thin restatement (an
    /// episode's embedded season) never overwrites a full one.
    pub fn add_work(&mut self, work: Work) {
        match self.work_index.get(&work.id) {
            Some(&i) => merge_work(&mut self.works[i], work),
            None => {
                self.work_index.insert(work.id.clone(), self.works.len());
                self.works.push(work);
            }
        }
    }

    /// Adds a version, or merges languages, subtitle tracks and files into the one
    /// already gathered under the same id.
    pub fn add_version(&mut self, version: Version) {
        match self.version_index.get(&version.id) {
            Some(&i) => merge_version(&mut self.versions[i], version),
            None => {
                self.version_index.insert(version.id.clone(), self.versions.len());
                self.versions.push(version);
            }
        }
    }

    /// Adds a window; a second window with the same id in one file is ambiguous
    /// (which one is meant?) and is rejected rather than silently replacing the first.
    pub fn add_rights(&mut self, window: RightsWindow, location: &str) {
        if self.rights_index.contains_key(&window.id) {
            let reason = format!(
                "window id `{}` appears twice in this file; the first occurrence is kept — give each transaction its own id",
                window.id
            );
            self.reject(location, Some(&window.id.clone()), reason);
            return;
        }
        self.rights_index.insert(window.id.clone(), self.rights.len());
        self.rights.push(window);
    }

    pub fn finish(self) -> ImportBatch {
        ImportBatch {
            format: self.format,
            works: self.works,
            versions: self.versions,
            rights: self.rights,
            rejected: self.rejected,
            records_seen: self.records_seen,
        }
    }
}

fn merge_work(into: &mut Work, from: Work) {
    if into.summary.is_none() {
        into.summary = from.summary;
    }
    if into.original_language.is_none() {
        into.original_language = from.original_language;
    }
    if into.release_year.is_none() {
        into.release_year = from.release_year;
    }
    if into.runtime_seconds.is_none() {
        into.runtime_seconds = from.runtime_seconds;
    }
    if into.eidr.is_none() {
        into.eidr = from.eidr;
    }
    if into.isan.is_none() {
        into.isan = from.isan;
    }
    if into.parent.is_none() {
        into.parent = from.parent;
    }
    if into.sequence.is_none() {
        into.sequence = from.sequence;
    }
    for title in from.titles {
        if !into.titles.iter().any(|t| t.language == title.language) {
            into.titles.push(title);
        }
    }
    extend_unique(&mut into.genres, from.genres);
    extend_unique(&mut into.countries_of_origin, from.countries_of_origin);
    extend_unique(&mut into.alt_ids, from.alt_ids);
    extend_unique(&mut into.credits, from.credits);
}

fn merge_version(into: &mut Version, from: Version) {
    if into.label.is_none() {
        into.label = from.label;
    }
    if into.eidr.is_none() {
        into.eidr = from.eidr;
    }
    if into.isan.is_none() {
        into.isan = from.isan;
    }
    if into.runtime_seconds.is_none() {
        into.runtime_seconds = from.runtime_seconds;
    }
    if into.frame_rate.is_none() {
        into.frame_rate = from.frame_rate;
    }
    extend_unique(&mut into.audio_languages, from.audio_languages);
    for track in from.subtitles {
        if !into.subtitles.iter().any(|t| t.id == track.id) {
            into.subtitles.push(track);
        }
    }
    for file in from.files {
        if !into.files.iter().any(|f| f.location == file.location) {
            into.files.push(file);
        }
    }
}

/// A work with only its key, kind and title; importers fill in what their source gives.
pub(crate) fn bare_work(id: &str, kind: WorkKind, title: &str) -> Work {
    Work {
        id: id.to_string(),
        kind,
        title: title.to_string(),
        titles: Vec::new(),
        summary: None,
        original_language: None,
        release_year: None,
        runtime_seconds: None,
        genres: Vec::new(),
        countries_of_origin: Vec::new(),
        eidr: None,
        isan: None,
        alt_ids: Vec::new(),
        credits: Vec::new(),
        parent: None,
        sequence: None,
    }
}

pub(crate) fn extend_unique<T: PartialEq>(into: &mut Vec<T>, from: Vec<T>) {
    for item in from {
        push_unique(into, item);
    }
}

pub(crate) fn push_unique<T: PartialEq>(into: &mut Vec<T>, item: T) {
    if !into.contains(&item) {
        into.push(item);
    }
}
