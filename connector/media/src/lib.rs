//! The media domain of Passerelle: what a distributor, a lab or a broadcaster
//! talks about — [`Work`], [`Version`], [`RightsWindow`], [`SubtitleTrack`] —
//! and the identifiers that name them ([`Eidr`], [`Isan`], [`LanguageTag`],
//! [`Territory`]).
//!
//! Pure data and validation: no I/O, nothing of ours underneath. Importers
//! (`passerelle-mam`) produce these values; the store persists them; the DSP
//! layer renders them as DCAT datasets.

pub mod ids;
pub mod model;

pub use ids::{Eidr, IdError, Isan, LanguageTag, Territory};
pub use model::{
    AltId, Credit, FileHash, FileRef, LocalizedTitle, RightsWindow, SubtitleKind, SubtitleTrack, Version, VersionKind,
    Work, WorkKind,
};
