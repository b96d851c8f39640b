//! "Closest existing tags": the tags a user most likely meant, newest first.

use std::cmp::Ordering;

use super::facts::TagFacts;

/// Up to `n` tags nearest to `wanted`, newest first.
///
/// Nearness: between version-like names (`1.0.30`, `v2.1`) the most equal leading numbers, then
/// the smallest gap in the next one (so `1.0.30` is nearest `1.0.29`, not `1.0.3`); otherwise the
/// longest common prefix, then the edit distance. The chosen few are then ordered by creation
/// time when the registry gives one, else by version-aware name order.
/// `latest` is left out unless nothing else exists: pinning a deployment to it is rarely the fix.
pub fn closest(wanted: &str, tags: &[TagFacts], n: usize) -> Vec<TagFacts> {
    let pool: Vec<&TagFacts> = {
        let named: Vec<&TagFacts> = tags.iter().filter(|t| t.name != "latest").collect();
        if named.is_empty() {
            tags.iter().collect()
        } else {
            named
        }
    };
    let wanted_version = version_numbers(wanted);
    let mut scored: Vec<(Nearness, &TagFacts)> = pool
        .into_iter()
        .map(|t| (nearness(wanted, wanted_version.as_deref(), &t.name), t))
        .collect();
    scored.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| newest_first(a.1, b.1)));
    let mut chosen: Vec<TagFacts> = scored.into_iter().take(n).map(|(_, t)| t.clone()).collect();
    chosen.sort_by(newest_first);
    chosen
}

/// Dated tags first, newest first; then undated ones; the highest name (version-aware) breaks
/// ties. A total order: comparing by time only when both have one, else by name, was not (with
/// some tags dated and some not it had cycles, and the standard sort panicked on a large
/// listing: "user-provided comparison function does not correctly implement a total order").
fn newest_first(a: &TagFacts, b: &TagFacts) -> Ordering {
    match (a.created, b.created) {
        (Some(x), Some(y)) => y.cmp(&x),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    }
    .then_with(|| version_cmp(&b.name, &a.name))
}

/// Smaller is nearer.
#[derive(PartialEq, Eq, PartialOrd, Ord)]
enum Nearness {
    Version {
        unequal_after: std::cmp::Reverse<usize>,
        gap: u64,
    },
    Text {
        prefix: std::cmp::Reverse<usize>,
        edits: usize,
    },
}

fn nearness(wanted: &str, wanted_version: Option<&[u64]>, tag: &str) -> Nearness {
    if let (Some(w), Some(t)) = (wanted_version, version_numbers(tag))
        && w.len() == t.len()
    {
        let same = w.iter().zip(&t).take_while(|(a, b)| a == b).count();
        let gap = w
            .get(same)
            .zip(t.get(same))
            .map_or(0, |(a, b)| a.abs_diff(*b));
        return Nearness::Version {
            unequal_after: std::cmp::Reverse(same),
            gap,
        };
    }
    Nearness::Text {
        prefix: std::cmp::Reverse(common_prefix(wanted, tag)),
        edits: edit_distance(wanted, tag),
    }
}

/// `1.0.30` / `v1.0.30` → `[1, 0, 30]`; anything else → `None`.
fn version_numbers(s: &str) -> Option<Vec<u64>> {
    let s = s.strip_prefix(['v', 'V']).unwrap_or(s);
    s.split('.').map(|c| c.parse::<u64>().ok()).collect()
}

fn common_prefix(a: &str, b: &str) -> usize {
    a.chars().zip(b.chars()).take_while(|(x, y)| x == y).count()
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != *cb);
            cur[j + 1] = sub.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

/// Compares names with runs of digits as numbers: `1.0.10` > `1.0.9`.
pub fn version_cmp(a: &str, b: &str) -> Ordering {
    let (mut x, mut y) = (a, b);
    loop {
        match (x.is_empty(), y.is_empty()) {
            (true, true) => return Ordering::Equal,
            (true, false) => return Ordering::Less,
            (false, true) => return Ordering::Greater,
            _ => {}
        }
        let dx = x.bytes().take_while(u8::is_ascii_digit).count();
        let dy = y.bytes().take_while(u8::is_ascii_digit).count();
        let ord = if dx > 0 && dy > 0 {
            let (nx, ny) = (
                x[..dx].trim_start_matches('0'),
                y[..dy].trim_start_matches('0'),
            );
            let o = nx.len().cmp(&ny.len()).then_with(|| nx.cmp(ny));
            x = &x[dx..];
            y = &y[dy..];
            o
        } else {
            let (cx, cy) = (
                x.chars().next().unwrap_or_default(),
                y.chars().next().unwrap_or_default(),
            );
            x = &x[cx.len_utf8()..];
            y = &y[cy.len_utf8()..];
            cx.cmp(&cy)
        };
        if ord != Ordering::Equal {
            return ord;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::Timestamp;

    fn t(name: &str, hour: Option<i64>) -> TagFacts {
        TagFacts {
            name: name.into(),
            created: hour.map(|h| Timestamp::from_second(1_700_000_000 + h * 3600).unwrap()),
        }
    }

    fn names(v: &[TagFacts]) -> Vec<&str> {
        v.iter().map(|t| t.name.as_str()).collect()
    }

    #[test]
    fn a_tag_past_the_newest_suggests_the_newest_first() {
        let mut tags: Vec<TagFacts> = (0..30).map(|i| t(&format!("1.0.{i}"), Some(i))).collect();
        tags.push(t("latest", Some(29)));
        let got = closest("1.0.30", &tags, 3);
        assert_eq!(names(&got), ["1.0.29", "1.0.28", "1.0.27"]);
    }

    #[test]
    fn a_typo_finds_its_tag() {
        let tags = vec![t("2.0.0", None), t("2.1.0", None), t("2.2.0", None)];
        assert_eq!(names(&closest("2.1.O", &tags, 1)), ["2.1.0"]);
        assert_eq!(
            names(&closest("v2.2.0", &tags, 3)),
            ["2.2.0", "2.1.0", "2.0.0"]
        );
    }

    #[test]
    fn without_times_names_order_by_version() {
        let tags = vec![t("1.0.9", None), t("1.0.10", None), t("1.0.8", None)];
        assert_eq!(
            names(&closest("1.0.11", &tags, 3)),
            ["1.0.10", "1.0.9", "1.0.8"]
        );
    }

    #[test]
    fn latest_only_when_alone() {
        assert_eq!(names(&closest("1", &[t("latest", None)], 3)), ["latest"]);
        assert!(closest("1", &[], 3).is_empty());
    }

    #[test]
    fn a_listing_with_some_times_missing_sorts() {
        // Found by tests/fuzz_parsers.rs: panicked in the standard sort (not a total order).
        let tags: Vec<TagFacts> = (0..4096)
            .map(|i| {
                t(
                    &format!("1.{}.{i}", i % 97),
                    (i % 2 == 0).then_some((i * 7919) % 1000),
                )
            })
            .collect();
        assert_eq!(closest("1.0.30", &tags, 5).len(), 5);
        let got = closest("9", &[t("b", None), t("a", Some(1)), t("c", Some(2))], 3);
        assert_eq!(names(&got), ["c", "a", "b"]);
    }

    #[test]
    fn version_order() {
        assert_eq!(version_cmp("1.0.10", "1.0.9"), Ordering::Greater);
        assert_eq!(version_cmp("1.0", "1.0.0"), Ordering::Less);
        assert_eq!(version_cmp("a", "a"), Ordering::Equal);
    }
}
