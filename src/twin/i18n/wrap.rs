//! Where text may wrap: between words in alphabetic scripts, between any two characters in
//! Chinese, Japanese and Korean. Used to size table columns so no word is broken and to
//! find words that a layout broke in the middle.

/// True for characters of scripts that wrap between any two characters (CJK ideographs,
/// kana, Hangul, CJK punctuation and full-width forms).
pub fn breaks_anywhere(c: char) -> bool {
    matches!(
        c as u32,
        0x2E80..=0x9FFF | 0xAC00..=0xD7AF | 0xF900..=0xFAFF | 0xFE30..=0xFE4F | 0xFF00..=0xFFEF | 0x20000..=0x3FFFF
    )
}

/// The pieces of `text` a line may not be broken inside: its words, and each CJK
/// character on its own.
pub fn unbreakable_runs(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    for word in text.split_whitespace() {
        let mut start = 0;
        for (i, c) in word.char_indices() {
            if breaks_anywhere(c) {
                if start < i {
                    out.push(&word[start..i]);
                }
                out.push(&word[i..i + c.len_utf8()]);
                start = i + c.len_utf8();
            }
        }
        if start < word.len() {
            out.push(&word[start..]);
        }
    }
    out
}

/// True when a line that ends in `last` and a line that starts with `first` split one
/// word: both are letters or digits of a script that does not wrap anywhere.
pub fn splits_a_word(last: char, first: char) -> bool {
    last.is_alphanumeric() && first.is_alphanumeric() && !breaks_anywhere(last) && !breaks_anywhere(first)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_and_cjk_characters_are_the_unbreakable_runs() {
        assert_eq!(unbreakable_runs("on  target"), ["on", "target"]);
        assert_eq!(unbreakable_runs("m²/resident (est.)"), ["m²/resident", "(est.)"]);
        assert_eq!(unbreakable_runs("告警 3 个"), ["告", "警", "3", "个"]);
        assert_eq!(unbreakable_runs("PM2.5浓度"), ["PM2.5", "浓", "度"]);
        assert!(unbreakable_runs(" \t").is_empty());
    }

    #[test]
    fn a_break_inside_a_latin_word_splits_it_and_between_cjk_does_not() {
        assert!(splits_a_word('n', 'g'));
        assert!(splits_a_word('1', '6'));
        assert!(!splits_a_word(' ', 'g'));
        assert!(!splits_a_word('/', 'r'));
        assert!(!splits_a_word('告', '警'));
        assert!(!splits_a_word('n', '警'));
    }
}
