//! Words for full-text search: titles and descriptions are folded (lower case,
//! accents removed) and cut at every non-alphanumeric character, so that
//! "Été" is found by "ete" and "Passage" by "pass".

use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

/// The folded words of `text`, in order, duplicates kept.
pub fn words(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    for c in text.nfd() {
        if is_combining_mark(c) {
            continue;
        }
        if c.is_alphanumeric() {
            current.extend(c.to_lowercase());
        } else if !current.is_empty() {
            out.push(std::mem::take(&mut current));
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_case_and_accents_and_splits_on_punctuation() {
        assert_eq!(
            words("L'Été  meurtrier — Director's Cut (2004)"),
            ["l", "ete", "meurtrier", "director", "s", "cut", "2004"]
        );
        assert_eq!(words("Straße über"), ["straße", "uber"]);
        assert!(words(" -- ").is_empty());
    }
}
