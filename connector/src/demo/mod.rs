//! `passerelle demo`: the media data space on one machine, and the story it exists for.
//!
//! The demo starts, as child processes of the same `passerelle` executable, a data-space authority with its
//! federated catalogue and three participants (a distributor, a subtitling lab, a broadcaster) on loopback,
//! onboards them (membership credentials; DCP on every protocol call), imports the MovieLabs samples into the
//! distributor, and plays the French media pilot's story through the management APIs a user would call:
//! publish → discover in the catalogue → negotiate the lab's subtitling service → order Spanish subtitles →
//! quote, confirmation, progress → delivery with hashes → signed receipt and automatic QC → human acceptance →
//! the broadcaster, which negotiated the work's versions-and-rights feed (pushed to it as changes happen), sees
//! the new subtitle version.
//!
//! Nothing is simulated: every step is a real call answered by a real connector, and each step checks what it
//! got (a step that does not reach its expected state fails the demo with the connector's own message). Child
//! output goes to `DIR/<service>.log`; API keys stay in their files (only the paths are shown).

mod process;
mod story;

use std::path::PathBuf;

pub use process::Service;
pub use story::play;

/// What the demo needs from its caller.
#[derive(Debug, Clone)]
pub struct DemoOptions {
    /// The `passerelle` executable the services run as.
    pub exe: PathBuf,
    /// Where the services' folders and logs go (created; must be empty or absent).
    pub dir: PathBuf,
    /// The `samples` folder of the shared reference files (holding `mddf/`).
    pub samples: PathBuf,
}

/// One step of the story, as it is reported.
#[derive(Debug, Clone)]
pub struct Step {
    pub number: usize,
    pub name: &'static str,
    /// What happened, with the ids a user can look up.
    pub detail: String,
}

/// Steps of the story, in order (the progress shows `n/TOTAL`).
pub const STEPS: [&str; 13] = [
    "start",
    "onboard",
    "publish",
    "discover",
    "negotiate-service",
    "negotiate-feed",
    "order",
    "production",
    "deliver",
    "receipt-and-qc",
    "accept",
    "feed",
    "ready",
];

impl std::fmt::Display for Step {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "[{:>2}/{}] {:<17} {}", self.number, STEPS.len(), self.name, self.detail)
    }
}

/// A subtitle order as a distributor places it: SRT subtitles in `language` for the theatrical edit `eidr` of the
/// work, 25 fps, a common broadcast style profile (42 characters, 2 lines, 17 characters per second). The demo
/// places it; the orders benchmark and the delivery tests place the same form.
pub fn subtitle_order(id: &str, work_id: &str, title: &str, eidr: &str, language: &str) -> serde_json::Value {
    serde_json::json!({
        "id": id,
        "work": {"id": work_id, "title": title},
        "version": {"eidr": eidr, "label": "Theatrical"},
        "targetLanguage": language,
        "kind": "subtitles",
        "format": "srt",
        "frameRate": 25,
        "startTimecode": "00:00:00:00",
        "styleProfile": {
            "maxCharsPerLine": 42, "maxLines": 2,
            "readingSpeed": {"maxCharsPerSecond": 17, "counting": "no-spaces"},
            "minEventDurationMs": 833, "maxEventDurationMs": 7000, "minGapFrames": 2
        },
        "dueDate": "2099-07-01T17:00:00Z",
        "materials": []
    })
}

/// Why the demo stopped.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error("step `{step}` failed: {message}")]
    Step { step: &'static str, message: String },
}

/// The running data space: its services stop when this is dropped (or with [`DataSpace::stop`]).
pub struct DataSpace {
    pub services: Vec<Service>,
}

impl DataSpace {
    /// Where to look, for the person who ran the demo (key file paths, never keys).
    pub fn summary(&self) -> String {
        let mut out = String::from("The data space is running:\n");
        for s in &self.services {
            // The authority's admin API sits at the root of its management listener; a connector's under /api/v1.
            let api = if s.has_console { format!("{}/api/v1", s.management) } else { s.management.clone() };
            out.push_str(&format!(
                "  {:<12} {}\n               public {}\n               API    {api} (key file {})\n",
                s.name,
                s.did,
                s.public,
                s.api_key_file.display()
            ));
            if s.has_console {
                out.push_str(&format!("               console {}/console\n", s.management));
            }
            out.push_str(&format!("               log    {}\n", s.log.display()));
        }
        out
    }

    /// Stops every service (children killed, waited for).
    pub fn stop(self) {
        drop(self);
    }
}
