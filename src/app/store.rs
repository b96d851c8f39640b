//! The UI's registry listing: repositories and their tags as the registry side streams them.
//! (The cluster side has no UI copy: the TUI reads [`crate::cluster::store::ClusterModel`],
//! the same model `berth rollout status` and the tests use.)

use std::collections::HashMap;

use super::action::RegistryUpdate;
use crate::registry::types::{RepositoryRow, TagRow};

#[derive(Clone, Debug, Default)]
pub struct RegistryStore {
    /// Login server host of the registry in use.
    pub registry: String,
    pub repositories: Vec<RepositoryRow>,
    /// Tags per repository, newest first; absent until loaded.
    pub tags: HashMap<String, Vec<TagRow>>,
}

/// Newest first: by `updated` (or `created`), then by name descending so that `1.0.10` and
/// `1.0.9` pushed in the same second still come out in a stable order.
pub fn sort_tags(tags: &mut [TagRow]) {
    tags.sort_by(|a, b| {
        let ta = a.updated.or(a.created);
        let tb = b.updated.or(b.created);
        tb.cmp(&ta).then_with(|| b.name.cmp(&a.name))
    });
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
            }
            RegistryUpdate::Tags {
                repository,
                mut tags,
            } => {
                sort_tags(&mut tags);
                self.tags.insert(repository, tags);
            }
            RegistryUpdate::Tag(tag) => {
                let list = self.tags.entry(tag.repository.clone()).or_default();
                match list.iter_mut().find(|t| t.name == tag.name) {
                    Some(t) => *t = tag,
                    None => list.push(tag),
                }
                sort_tags(list);
            }
            RegistryUpdate::TagDeleted { repository, tag } => {
                if let Some(list) = self.tags.get_mut(&repository) {
                    list.retain(|t| t.name != tag);
                }
            }
            RegistryUpdate::Connection(_) | RegistryUpdate::SlotInUse(_) => {}
        }
    }

    pub fn tags_of(&self, repository: &str) -> Option<&[TagRow]> {
        self.tags.get(repository).map(Vec::as_slice)
    }
}
