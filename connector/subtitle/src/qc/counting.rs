//! Character counting as subtitle style guides mean it: what the viewer sees, not bytes or code points.

use unicode_normalization::char::is_combining_mark;

use super::profile::CharCounting;

/// Combining accents, bidi marks, zero-width characters and soft hyphens take no cell on screen.
fn is_invisible(c: char) -> bool {
    is_combining_mark(c)
        || matches!(c, '\u{ad}' | '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2060}'..='\u{2064}' | '\u{feff}')
}

/// Characters on one line, spaces and punctuation included.
pub(crate) fn line_length(line: &str) -> usize {
    line.chars().filter(|&c| !is_invisible(c)).count()
}

/// Characters of a cue that reading speed counts; line breaks never count.
pub(crate) fn reading_length(lines: &[String], counting: CharCounting) -> usize {
    let counts = |c: char| -> bool {
        if is_invisible(c) {
            return false;
        }
        let space = c.is_whitespace();
        let punctuation = !space && !c.is_alphanumeric();
        match counting {
            CharCounting::AllCharacters => true,
            CharCounting::ExcludeSpaces => !space,
            CharCounting::ExcludePunctuation => !punctuation,
            CharCounting::ExcludeSpacesAndPunctuation => !space && !punctuation,
        }
    };
    lines.iter().map(|line| line.chars().filter(|&c| counts(c)).count()).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invisible_characters_do_not_count() {
        assert_eq!(line_length("e\u{301}te\u{301}"), 3);
        assert_eq!(line_length("\u{200f}שלום\u{200e}"), 4);
        assert_eq!(line_length("Salut, toi !"), 12);
    }

    #[test]
    fn counting_rules() {
        let lines = vec!["Oui, d'accord.".to_owned(), "¿Qué ♪?".to_owned()];
        assert_eq!(reading_length(&lines, CharCounting::AllCharacters), 21);
        assert_eq!(reading_length(&lines, CharCounting::ExcludeSpaces), 19);
        assert_eq!(reading_length(&lines, CharCounting::ExcludePunctuation), 15);
        assert_eq!(reading_length(&lines, CharCounting::ExcludeSpacesAndPunctuation), 13);
    }
}
