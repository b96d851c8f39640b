//! Listing: repositories and tags, page by page as a stream (the first page shows before the
//! last arrives), with `Link` pagination; ACR's `/acr/v1` gives digests and times in the listing,
//! a plain OCI registry gets them lazily per visible row ([`RegistryClient::tag_details`]).

use std::pin::Pin;

use futures::stream::{self, Stream, StreamExt};
use serde::Deserialize;
use url::Url;

use super::challenge::next_link;
use super::client::{CATALOG_SCOPE, RegistryClient, repo_scope};
use super::config::RegistryKind;
use super::error::RegistryError;
use super::manifest::config_created;
use super::types::{RepositoryRow, TagRow};

/// Detailed rows as they finish, with their index in the input.
pub type DetailStream = Pin<Box<dyn Stream<Item = (usize, Result<TagRow, RegistryError>)> + Send>>;

pub type PageStream<T> = Pin<Box<dyn Stream<Item = Result<Vec<T>, RegistryError>> + Send>>;

/// Tag order of an ACR listing (a plain registry lists lexically).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum TagOrder {
    /// Newest first (ACR `orderby=timedesc`).
    #[default]
    NewestFirst,
    OldestFirst,
    Name,
}

/// A `/v2/_catalog` (or ACR `/acr/v1/_catalog`) page.
#[derive(Deserialize)]
pub struct Catalog {
    #[serde(default)]
    repositories: Option<Vec<String>>,
}

impl Catalog {
    pub fn rows(self) -> Vec<RepositoryRow> {
        self.repositories
            .unwrap_or_default()
            .into_iter()
            .map(|name| RepositoryRow { name })
            .collect()
    }
}

/// A `/v2/<repo>/tags/list` page.
#[derive(Deserialize)]
pub struct TagList {
    #[serde(default)]
    tags: Option<Vec<String>>,
}

impl TagList {
    pub fn rows(self, repository: &str) -> Vec<TagRow> {
        self.tags
            .unwrap_or_default()
            .into_iter()
            .map(|name| TagRow {
                repository: repository.to_owned(),
                name,
                ..TagRow::default()
            })
            .collect()
    }
}

/// An ACR `/acr/v1/<repo>/_tags` page: names with digests and times.
#[derive(Deserialize)]
pub struct AcrTags {
    #[serde(default)]
    tags: Option<Vec<AcrTag>>,
}

impl AcrTags {
    pub fn rows(self, repository: &str) -> Vec<TagRow> {
        self.tags
            .unwrap_or_default()
            .into_iter()
            .map(|t| TagRow {
                repository: repository.to_owned(),
                name: t.name,
                digest: t.digest,
                created: timestamp(t.created_time.as_deref()),
                updated: timestamp(t.last_update_time.as_deref()),
                attributes: t.changeable_attributes,
                ..TagRow::default()
            })
            .collect()
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AcrTag {
    name: String,
    #[serde(default)]
    digest: Option<String>,
    #[serde(default)]
    created_time: Option<String>,
    #[serde(default)]
    last_update_time: Option<String>,
    #[serde(default)]
    changeable_attributes: Option<super::locks::TagAttributes>,
}

fn timestamp(s: Option<&str>) -> Option<jiff::Timestamp> {
    s.and_then(|s| s.parse().ok())
}

impl RegistryClient {
    /// Fetches pages starting at `first`, following `Link: rel="next"`, mapping each body
    /// with `rows`.
    fn pages<T, B, F>(
        &self,
        first: Url,
        scopes: Vec<String>,
        object: String,
        rows: F,
    ) -> PageStream<T>
    where
        T: Send + 'static,
        B: serde::de::DeserializeOwned + Send + 'static,
        F: Fn(B) -> Vec<T> + Send + Sync + 'static,
    {
        let client = self.clone();
        let rows = std::sync::Arc::new(rows);
        Box::pin(stream::unfold(Some(first), move |next| {
            let client = client.clone();
            let scopes = scopes.clone();
            let object = object.clone();
            let rows = rows.clone();
            async move {
                let url = next?;
                match client.get_json::<B>(url.clone(), scopes, &object).await {
                    Err(e) => Some((Err(e), None)),
                    Ok((body, headers)) => {
                        let following = headers
                            .get_all(reqwest::header::LINK)
                            .iter()
                            .filter_map(|v| v.to_str().ok())
                            .find_map(next_link)
                            .and_then(|l| url.join(&l).ok())
                            // A registry that links a page to itself would loop forever.
                            .filter(|u| *u != url);
                        Some((Ok(rows(body)), following))
                    }
                }
            }
        }))
    }

    /// Repositories, a page at a time (ACR `/acr/v1/_catalog`, else `/v2/_catalog`).
    pub fn repository_pages(&self) -> PageStream<RepositoryRow> {
        let path = match self.kind() {
            RegistryKind::Acr => "/acr/v1/_catalog",
            RegistryKind::Oci => "/v2/_catalog",
        };
        let mut url = self.url(path);
        url.query_pairs_mut()
            .append_pair("n", &self.config().page_size.max(1).to_string());
        self.pages(
            url,
            vec![CATALOG_SCOPE.to_owned()],
            "the repository catalog".into(),
            Catalog::rows,
        )
    }

    /// Tags of `repo`, a page at a time. On ACR each row has digest and times; on a plain
    /// registry only the name (fill in with [`Self::tag_details`] for the visible rows).
    pub fn tag_pages(&self, repo: &str, order: TagOrder) -> PageStream<TagRow> {
        let object = format!("tags of {repo}");
        let scopes = vec![repo_scope(repo, "pull")];
        let repo_owned = repo.to_owned();
        match self.kind() {
            RegistryKind::Acr => {
                let mut url = self.url(&format!("/acr/v1/{repo}/_tags"));
                {
                    let mut q = url.query_pairs_mut();
                    q.append_pair("n", &self.config().page_size.max(1).to_string());
                    match order {
                        TagOrder::NewestFirst => {
                            q.append_pair("orderby", "timedesc");
                        }
                        TagOrder::OldestFirst => {
                            q.append_pair("orderby", "timeasc");
                        }
                        TagOrder::Name => {}
                    }
                }
                self.pages(url, scopes, object, move |t: AcrTags| t.rows(&repo_owned))
            }
            RegistryKind::Oci => {
                let mut url = self.url(&format!("/v2/{repo}/tags/list"));
                url.query_pairs_mut()
                    .append_pair("n", &self.config().page_size.max(1).to_string());
                self.pages(url, scopes, object, move |t: TagList| t.rows(&repo_owned))
            }
        }
    }

    /// Every repository (all pages).
    pub async fn list_repositories(&self) -> Result<Vec<RepositoryRow>, RegistryError> {
        collect(self.repository_pages()).await
    }

    /// Every tag of `repo` (all pages).
    pub async fn list_tags(
        &self,
        repo: &str,
        order: TagOrder,
    ) -> Result<Vec<TagRow>, RegistryError> {
        collect(self.tag_pages(repo, order)).await
    }

    /// Fills in what the listing did not give: digest, media type, platforms of an index,
    /// size, and (for a single image) the config's `created` time when no time is known.
    pub async fn tag_details(&self, mut row: TagRow) -> Result<TagRow, RegistryError> {
        let m = self.get_manifest(&row.repository, &row.name).await?;
        row.digest = Some(m.digest.clone());
        row.media_type = Some(m.media_type.clone());
        row.platforms = m.platforms();
        if !m.is_index() {
            row.size = Some(m.size());
        }
        if row.created.is_none() {
            // An index has no config: use its first child's.
            let config = if let Some(c) = &m.doc.config {
                Some(c.digest.clone())
            } else if let Some(child) = m.children().first() {
                let cm = self.get_manifest(&row.repository, &child.digest).await?;
                cm.doc.config.as_ref().map(|c| c.digest.clone())
            } else {
                None
            };
            if let Some(cd) = config {
                let bytes = self
                    .get_blob_bytes(&row.repository, &cd, 4 * 1024 * 1024)
                    .await?;
                row.created = config_created(&bytes);
            }
        }
        Ok(row)
    }

    /// [`Self::tag_details`] for several rows with bounded concurrency; results arrive as they
    /// finish, each with its index in `rows`.
    pub fn tag_details_stream(&self, rows: Vec<TagRow>) -> DetailStream {
        let client = self.clone();
        let limit = self.config().concurrency.max(1);
        Box::pin(
            stream::iter(rows.into_iter().enumerate())
                .map(move |(i, row)| {
                    let client = client.clone();
                    async move { (i, client.tag_details(row).await) }
                })
                .buffer_unordered(limit),
        )
    }
}

async fn collect<T>(mut pages: PageStream<T>) -> Result<Vec<T>, RegistryError> {
    let mut all = Vec::new();
    while let Some(page) = pages.next().await {
        all.extend(page?);
    }
    Ok(all)
}
