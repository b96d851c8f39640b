//! The UI's registry listing: repositories and their tags as the registry side streams them.
//! (The cluster side has no UI copy: the TUI reads [`crate::cluster::store::ClusterModel`],
//! the same model `berth rollout status` and the tests use.)

use std::cmp::Ordering;
use std::collections::HashMap;

use super::action::RegistryUpdate;
use crate::registry::types::{RepositoryRow, TagRow};

#[derive(Clone, Debug, Default)]
pub struct RegistryStore {
    /// Login server host of the registry in use.
    pub registry: String,
    pub repositories: Vec<RepositoryRow>,
    /// Tags per repository in `order`; absent until loaded.
    pub tags: HashMap<String, Vec<TagRow>>,
    pub order: TagOrder,
    /// Listings under way (their first pages shown, more to come): the repositories'…
    pub listing_repositories: bool,
    /// …and each repository's tags.
    pub listing_tags: std::collections::BTreeSet<String>,
}

/// How the tags pane sorts (`o` switches).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum TagOrder {
    /// By `updated` (or `created`), newest first.
    #[default]
    Newest,
    /// By version, highest first (see [`version_cmp`]); tags that are no version last.
    Version,
}

impl TagOrder {
    pub fn next(self) -> Self {
        match self {
            Self::Newest => Self::Version,
            Self::Version => Self::Newest,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Newest => "newest first",
            Self::Version => "by version",
        }
    }
}

/// Sorts `tags` in `order`. Ties (two tags pushed in the same second, or `1.0` and `v1.0`)
/// fall back to the name, descending, so the order is stable across reloads.
pub fn sort_tags(tags: &mut [TagRow], order: TagOrder) {
    tags.sort_by(|a, b| {
        let first = match order {
            TagOrder::Newest => {
                let ta = a.updated.or(a.created);
                let tb = b.updated.or(b.created);
                tb.cmp(&ta)
            }
            TagOrder::Version => version_cmp(&b.name, &a.name),
        };
        first.then_with(|| b.name.cmp(&a.name))
    });
}

/// A tag read as a version: an optional `v`, dot-separated numbers, and an optional
/// `-pre-release` (SemVer's shape, also with one, two or four numbers as registries hold them).
fn version_parts(tag: &str) -> Option<(Vec<u64>, Option<&str>)> {
    let t = tag.strip_prefix(['v', 'V']).unwrap_or(tag);
    // SemVer build metadata (`+…`; in a tag usually written `_…`, since `+` is not allowed)
    // does not order versions.
    let t = t.split(['+', '_']).next().unwrap_or(t);
    let (core, pre) = match t.split_once('-') {
        Some((c, p)) => (c, Some(p)),
        None => (t, None),
    };
    let numbers = core
        .split('.')
        .map(|n| {
            (!n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
                .then(|| n.parse::<u64>().ok())
                .flatten()
        })
        .collect::<Option<Vec<u64>>>()?;
    Some((numbers, pre))
}

/// Versions in SemVer's order (`1.0.9 < 1.0.10`, `1.0.0-rc.1 < 1.0.0`, missing numbers count
/// as 0); any version above a tag that is none (`latest`, `main`), which compare by name.
pub fn version_cmp(a: &str, b: &str) -> Ordering {
    match (version_parts(a), version_parts(b)) {
        (Some((na, pa)), Some((nb, pb))) => {
            let len = na.len().max(nb.len());
            let at = |v: &[u64], i: usize| v.get(i).copied().unwrap_or(0);
            (0..len)
                .map(|i| at(&na, i).cmp(&at(&nb, i)))
                .find(|o| o.is_ne())
                .unwrap_or(Ordering::Equal)
                .then_with(|| match (pa, pb) {
                    (None, None) => Ordering::Equal,
                    (None, Some(_)) => Ordering::Greater,
                    (Some(_), None) => Ordering::Less,
                    (Some(x), Some(y)) => pre_release_cmp(x, y),
                })
        }
        (Some(_), None) => Ordering::Greater,
        (None, Some(_)) => Ordering::Less,
        (None, None) => a.cmp(b),
    }
}

/// SemVer §11: dot-separated identifiers, numeric ones numerically and below alphanumeric
/// ones, a longer list above its prefix.
fn pre_release_cmp(a: &str, b: &str) -> Ordering {
    let mut ia = a.split('.');
    let mut ib = b.split('.');
    loop {
        match (ia.next(), ib.next()) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(x), Some(y)) => {
                let o = match (x.parse::<u64>(), y.parse::<u64>()) {
                    (Ok(n), Ok(m)) => n.cmp(&m),
                    (Ok(_), Err(_)) => Ordering::Less,
                    (Err(_), Ok(_)) => Ordering::Greater,
                    (Err(_), Err(_)) => x.cmp(y),
                };
                if o.is_ne() {
                    return o;
                }
            }
        }
    }
}

impl RegistryStore {
    pub fn apply(&mut self, update: RegistryUpdate) {
        match update {
            RegistryUpdate::Repositories {
                registry,
                mut repositories,
            } => {
                if registry != self.registry {
                    self.tags.clear();
                }
                self.registry = registry;
                repositories.sort_by(|a, b| a.name.cmp(&b.name));
                self.repositories = repositories;
                self.listing_repositories = false;
            }
            RegistryUpdate::RepositoriesPage {
                registry,
                repositories,
                first,
            } => {
                if registry != self.registry {
                    self.tags.clear();
                    self.registry = registry;
                }
                if first {
                    self.repositories.clear();
                }
                self.repositories.extend(repositories);
                self.repositories.sort_by(|a, b| a.name.cmp(&b.name));
                self.listing_repositories = true;
            }
            RegistryUpdate::Tags {
                repository,
                mut tags,
            } => {
                sort_tags(&mut tags, self.order);
                self.listing_tags.remove(&repository);
                self.tags.insert(repository, tags);
            }
            RegistryUpdate::TagsPage {
                repository,
                tags,
                first,
            } => {
                let list = self.tags.entry(repository.clone()).or_default();
                if first {
                    list.clear();
                }
                list.extend(tags);
                sort_tags(list, self.order);
                self.listing_tags.insert(repository);
            }
            RegistryUpdate::Tag(tag) => {
                let list = self.tags.entry(tag.repository.clone()).or_default();
                match list.iter_mut().find(|t| t.name == tag.name) {
                    Some(t) => *t = tag,
                    None => list.push(tag),
                }
                sort_tags(list, self.order);
            }
            RegistryUpdate::TagDeleted { repository, tag } => {
                if let Some(list) = self.tags.get_mut(&repository) {
                    list.retain(|t| t.name != tag);
                }
            }
            RegistryUpdate::Connection(_) | RegistryUpdate::SlotInUse(_) => {}
        }
    }

    /// Sorts every repository's tags in `order` from now on.
    pub fn set_order(&mut self, order: TagOrder) {
        self.order = order;
        for list in self.tags.values_mut() {
            sort_tags(list, order);
        }
    }

    pub fn tags_of(&self, repository: &str) -> Option<&[TagRow]> {
        self.tags.get(repository).map(Vec::as_slice)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn tag(name: &str) -> TagRow {
        TagRow {
            repository: "web".into(),
            name: name.into(),
            ..TagRow::default()
        }
    }

    #[test]
    fn pages_show_as_they_come_and_the_complete_listing_replaces_them() {
        let mut s = RegistryStore::default();
        let page = |tags: Vec<TagRow>, first| RegistryUpdate::TagsPage {
            repository: "web".into(),
            tags,
            first,
        };
        s.tags.insert("web".into(), vec![tag("stale")]);
        s.apply(page(vec![tag("1.0.2"), tag("1.0.1")], true));
        assert!(s.listing_tags.contains("web"));
        assert_eq!(
            s.tags_of("web").unwrap().len(),
            2,
            "the first page replaces"
        );
        s.apply(page(vec![tag("1.0.0")], false));
        assert_eq!(s.tags_of("web").unwrap().len(), 3, "later pages add");
        s.apply(RegistryUpdate::Tags {
            repository: "web".into(),
            tags: vec![tag("1.0.2"), tag("1.0.1"), tag("1.0.0"), tag("0.9.0")],
        });
        assert!(!s.listing_tags.contains("web"));
        assert_eq!(s.tags_of("web").unwrap().len(), 4);

        let repo = |name: &str| RepositoryRow { name: name.into() };
        s.apply(RegistryUpdate::RepositoriesPage {
            registry: "r.example".into(),
            repositories: vec![repo("web")],
            first: true,
        });
        assert!(
            s.listing_repositories && s.tags.is_empty(),
            "another registry's tags go"
        );
        s.apply(RegistryUpdate::RepositoriesPage {
            registry: "r.example".into(),
            repositories: vec![repo("api")],
            first: false,
        });
        let names: Vec<&str> = s.repositories.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["api", "web"]);
        s.apply(RegistryUpdate::Repositories {
            registry: "r.example".into(),
            repositories: vec![repo("web"), repo("api")],
        });
        assert!(!s.listing_repositories);
    }

    #[test]
    fn versions_sort_as_semver_and_names_last() {
        let mut v = vec![
            "latest",
            "1.0.9",
            "v1.0.10",
            "1.0.10-rc.2",
            "1.0.10-rc.10",
            "1.0.10-beta",
            "1.1",
            "main",
            "2",
            "1.0.10-rc.2.1",
            "0.9.99",
        ];
        v.sort_by(|a, b| version_cmp(b, a));
        assert_eq!(
            v,
            [
                "2",
                "1.1",
                "v1.0.10",
                "1.0.10-rc.10",
                "1.0.10-rc.2.1",
                "1.0.10-rc.2",
                "1.0.10-beta",
                "1.0.9",
                "0.9.99",
                "main",
                "latest"
            ]
        );
    }

    proptest! {
        /// A total order: antisymmetric and consistent with equality of the parts, so a sort
        /// never panics or shuffles (Rust's sort requires a total order).
        #[test]
        fn version_cmp_is_antisymmetric(a in "[v0-9.a-z-]{0,12}", b in "[v0-9.a-z-]{0,12}") {
            prop_assert_eq!(version_cmp(&a, &b), version_cmp(&b, &a).reverse());
        }

        #[test]
        fn version_cmp_is_transitive(
            a in "[0-9.]{1,6}(-[a-z0-9.]{1,4})?",
            b in "[0-9.]{1,6}(-[a-z0-9.]{1,4})?",
            c in "[0-9.]{1,6}(-[a-z0-9.]{1,4})?",
        ) {
            if version_cmp(&a, &b).is_le() && version_cmp(&b, &c).is_le() {
                prop_assert!(version_cmp(&a, &c).is_le());
            }
        }
    }
}
