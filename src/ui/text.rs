//! Text fitting and formatting: display widths, truncation with `…`, ages, short digests.

use unicode_width::UnicodeWidthChar;

pub fn width(s: &str) -> usize {
    s.chars().map(|c| c.width().unwrap_or(0)).sum()
}

/// `s` cut to at most `max` columns, ending in `…` when cut.
pub fn fit(s: &str, max: usize) -> String {
    if width(s) <= max {
        return s.to_owned();
    }
    if max == 0 {
        return String::new();
    }
    let mut out = String::new();
    let mut w = 0;
    for c in s.chars() {
        let cw = c.width().unwrap_or(0);
        if w + cw > max - 1 {
            break;
        }
        out.push(c);
        w += cw;
    }
    out.push('…');
    out
}

/// Like [`fit`] but keeps the end (`…ghijk`): for image references and names whose tail says most.
pub fn fit_left(s: &str, max: usize) -> String {
    if width(s) <= max {
        return s.to_owned();
    }
    if max == 0 {
        return String::new();
    }
    let mut tail: Vec<char> = Vec::new();
    let mut w = 0;
    for c in s.chars().rev() {
        let cw = c.width().unwrap_or(0);
        if w + cw > max - 1 {
            break;
        }
        tail.push(c);
        w += cw;
    }
    std::iter::once('…').chain(tail.into_iter().rev()).collect()
}

/// `s` cut in the middle (`head…tail`): for references whose start and end both matter
/// (`host/repo@sha256:…`).
pub fn fit_middle(s: &str, max: usize) -> String {
    if width(s) <= max {
        return s.to_owned();
    }
    if max < 3 {
        return fit(s, max);
    }
    let head = (max - 1) * 3 / 5;
    let tail = max - 1 - head;
    let h = fit(s, head + 1);
    let h = h.trim_end_matches('…');
    format!("{h}{}", fit_left(s, tail + 1))
}

/// Greedy word wrap to `max` columns; words longer than a line are split.
pub fn wrap(text: &str, max: usize) -> Vec<String> {
    let max = max.max(1);
    let mut lines = Vec::new();
    let mut cur = String::new();
    let mut cur_w = 0;
    for word in text.split_whitespace() {
        let mut word = word.to_owned();
        loop {
            let ww = width(&word);
            let sep = usize::from(cur_w > 0);
            if cur_w + sep + ww <= max {
                if sep == 1 {
                    cur.push(' ');
                }
                cur.push_str(&word);
                cur_w += sep + ww;
                break;
            }
            if cur_w > 0 {
                lines.push(std::mem::take(&mut cur));
                cur_w = 0;
                continue;
            }
            // A word wider than the line: split it.
            let mut head = String::new();
            let mut hw = 0;
            let mut rest = String::new();
            for c in word.chars() {
                let cw = c.width().unwrap_or(0);
                if hw + cw <= max && rest.is_empty() {
                    head.push(c);
                    hw += cw;
                } else {
                    rest.push(c);
                }
            }
            lines.push(head);
            word = rest;
            if word.is_empty() {
                break;
            }
        }
    }
    if cur_w > 0 || lines.is_empty() {
        lines.push(cur);
    }
    lines
}

/// [`wrap`] limited to `rows` lines, the last one ending in `…` when text was left out.
pub fn wrap_rows(text: &str, max: usize, rows: usize) -> Vec<String> {
    let mut lines = wrap(text, max);
    if lines.len() > rows && rows > 0 {
        lines.truncate(rows);
        let last = lines.pop().unwrap_or_default();
        lines.push(fit(&format!("{last} …"), max));
        if let Some(l) = lines.last_mut()
            && !l.ends_with('…')
        {
            *l = fit(&format!("{l}…"), max);
        }
    }
    lines
}

pub use crate::app::view::age;

/// `sha256:0123456789ab…` → `0123456789ab` (12 hex digits, as `docker images` shows).
pub use crate::reference::short_hex as short_digest;

/// The registry host dropped from an image reference when it is the registry on screen.
pub fn short_image<'a>(image: &'a str, registry: &str) -> &'a str {
    if registry.is_empty() {
        return image;
    }
    image
        .strip_prefix(registry)
        .and_then(|s| s.strip_prefix('/'))
        .unwrap_or(image)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fitting() {
        assert_eq!(fit("abcdef", 6), "abcdef");
        assert_eq!(fit("abcdef", 4), "abc…");
        assert_eq!(fit("abcdef", 1), "…");
        assert_eq!(fit("abcdef", 0), "");
        assert_eq!(fit_left("abcdef", 4), "…def");
        assert_eq!(fit("日本語", 4), "日…");
        assert_eq!(fit_middle("abcdefghij", 6), "abc…ij");
        assert_eq!(fit_middle("abc", 6), "abc");
        assert_eq!(wrap("aa bb cc", 5), vec!["aa bb", "cc"]);
        assert_eq!(wrap("abcdefgh", 3), vec!["abc", "def", "gh"]);
        assert_eq!(wrap("", 3), vec![""]);
        assert_eq!(wrap_rows("aa bb cc dd", 5, 1), vec!["aa b…"]);
    }

    #[test]
    fn ages() {
        let now: jiff::Timestamp = "2026-11-23T10:00:00Z".parse().unwrap();
        let ago = |s: i64| Some(now - jiff::SignedDuration::from_secs(s));
        assert_eq!(age(now, ago(5)), "5s");
        assert_eq!(age(now, ago(600)), "10m");
        assert_eq!(age(now, ago(3 * 3600)), "3h");
        assert_eq!(age(now, ago(3 * 86400)), "3d");
        assert_eq!(age(now, None), "-");
        assert_eq!(age(now, ago(-30)), "0s");
    }
}
