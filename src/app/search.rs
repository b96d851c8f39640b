//! Search and wrap for the full-screen text views (logs, YAML, events): smart-case matching
//! as less and vim do it, and cutting a line into rows of a width.

use unicode_width::UnicodeWidthChar;

/// Smart case, as less and vim do it: a query with an upper-case letter matches exactly,
/// otherwise case is ignored.
fn smart_case(query: &str) -> bool {
    query.chars().any(char::is_uppercase)
}

/// The byte ranges of `query` in `text`.
pub fn find_all(text: &str, query: &str) -> Vec<(usize, usize)> {
    if query.is_empty() {
        return Vec::new();
    }
    let mut out = Vec::new();
    if smart_case(query) || text.is_ascii() && query.is_ascii() {
        let exact = smart_case(query);
        let (hay, needle) = if exact {
            (text.as_bytes().to_vec(), query.as_bytes().to_vec())
        } else {
            (
                text.as_bytes().to_ascii_lowercase(),
                query.as_bytes().to_ascii_lowercase(),
            )
        };
        let mut at = 0;
        while at + needle.len() <= hay.len() {
            match hay[at..].windows(needle.len()).position(|w| w == needle) {
                Some(i) => {
                    out.push((at + i, at + i + needle.len()));
                    at += i + needle.len();
                }
                None => break,
            }
        }
        return out;
    }
    // Non-ASCII and case-insensitive: compare char by char (lower-casing can change lengths,
    // so ranges are found in the original text).
    let q: Vec<char> = query.chars().flat_map(char::to_lowercase).collect();
    let idx: Vec<(usize, char)> = text.char_indices().collect();
    let mut i = 0;
    while i < idx.len() {
        let mut k = 0;
        let mut j = i;
        while k < q.len() && j < idx.len() {
            let lc: Vec<char> = idx[j].1.to_lowercase().collect();
            if q[k..].starts_with(&lc) {
                k += lc.len();
                j += 1;
            } else {
                break;
            }
        }
        if k == q.len() {
            let end = idx.get(j).map_or(text.len(), |(b, _)| *b);
            out.push((idx[i].0, end));
            i = j.max(i + 1);
        } else {
            i += 1;
        }
    }
    out
}

/// `text` cut into rows of at most `width` columns (a wide character never splits).
pub fn wrap(text: &str, width: usize) -> Vec<&str> {
    let width = width.max(1);
    let mut rows = Vec::new();
    let mut start = 0;
    let mut w = 0;
    for (i, c) in text.char_indices() {
        let cw = c.width().unwrap_or(0);
        if w + cw > width && i > start {
            rows.push(&text[start..i]);
            start = i;
            w = 0;
        }
        w += cw;
    }
    rows.push(&text[start..]);
    rows
}

/// What a key did to a search being typed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SearchKey {
    /// esc or ctrl-c: the search is dropped.
    Cancel,
    /// enter: search for what is typed.
    Submit,
    Edited,
    /// A key the line editor has no use for.
    Ignored,
}

/// The line editor's keys for a search field (the full-screen views share it).
pub fn edit_search(input: &mut super::state::TextInput, key: super::keymap::Key) -> SearchKey {
    use super::keymap::KeyCodeOrd;
    match (key.code, key.ctrl) {
        (KeyCodeOrd::Esc, _) | (KeyCodeOrd::Char('c'), true) => return SearchKey::Cancel,
        (KeyCodeOrd::Enter, _) => return SearchKey::Submit,
        (KeyCodeOrd::Char('u'), true) => input.clear(),
        (KeyCodeOrd::Char(c), false) => input.insert(c),
        (KeyCodeOrd::Backspace, _) => input.backspace(),
        (KeyCodeOrd::Delete, _) => input.delete(),
        (KeyCodeOrd::Left, _) => input.left(),
        (KeyCodeOrd::Right, _) => input.right(),
        _ => return SearchKey::Ignored,
    }
    SearchKey::Edited
}
