//! The registry pane's data and the retag action, from the configured `[[registry]]` entries:
//! the first one is browsed until `:reg NAME` picks another; a retag may name any configured
//! host.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};

use futures::StreamExt;
use tokio::sync::mpsc::UnboundedSender;

use super::outcome::{self, done, registry_error};
use crate::app::Action;
use crate::app::action::{ConnState, RegistryUpdate, TaskError, TaskResult};
use crate::app::effects::ImageLocation;
use crate::audit::AuditLog;
use crate::reference::{Reference, same_host};
use crate::registry::cli::{short_digest, sort_newest_first};
use crate::registry::config::RegistryConfig;
use crate::registry::list::TagOrder;
use crate::registry::retag::{RetagOptions, retag};
use crate::registry::types::TagRow;
use crate::registry::{Registry, RegistryError, connect};

/// Tags whose details (digest, platforms, size) are read after the listing, newest first: the
/// rows a person looks at, without a manifest read per tag of a repository with thousands.
pub const DETAIL_LIMIT: usize = 100;

/// The configured registries, each connected once (credential resolved, token cache shared).
#[derive(Debug, Default)]
pub struct Registries {
    configs: Vec<RegistryConfig>,
    connected: tokio::sync::Mutex<HashMap<String, Registry>>,
    /// The index in `configs` of the one the pane browses.
    browsed: AtomicUsize,
}

impl Registries {
    pub fn new(configs: Vec<RegistryConfig>) -> Self {
        Self {
            configs,
            connected: Default::default(),
            browsed: AtomicUsize::new(0),
        }
    }

    /// The registry the pane browses: the first `[[registry]]`, or the one `:reg` picked.
    pub fn browsed(&self) -> Option<&RegistryConfig> {
        self.configs.get(self.browsed.load(Ordering::Acquire))
    }

    /// The first `[[registry]]`: the one rotation mints credentials from (checked once at
    /// start), whichever the pane browses.
    pub fn primary(&self) -> Option<&RegistryConfig> {
        self.configs.first()
    }

    /// Browse the entry named `name` from now on; `false` when there is none.
    pub fn select(&self, name: &str) -> bool {
        match self.configs.iter().position(|c| c.name == name) {
            Some(i) => {
                self.browsed.store(i, Ordering::Release);
                true
            }
            None => false,
        }
    }

    fn is_browsed(&self, cfg: &RegistryConfig) -> bool {
        self.browsed().is_some_and(|b| b.name == cfg.name)
    }

    pub fn for_host(&self, host: &str) -> Option<&RegistryConfig> {
        self.configs.iter().find(|c| same_host(&c.host, host))
    }

    pub async fn connect(&self, cfg: &RegistryConfig) -> Result<Registry, RegistryError> {
        let mut cache = self.connected.lock().await;
        if let Some(r) = cache.get(&cfg.name) {
            return Ok(r.clone());
        }
        let r = connect(cfg).await?;
        cache.insert(cfg.name.clone(), r.clone());
        Ok(r)
    }

    fn browsed_or_err(&self, what: &str) -> Result<&RegistryConfig, TaskError> {
        self.browsed().ok_or_else(|| no_registry(what))
    }

    fn for_host_or_err(&self, what: &str, host: &str) -> Result<&RegistryConfig, TaskError> {
        self.for_host(host).ok_or_else(|| {
            outcome::error(
                what,
                format!("no [[registry]] with host {host} in config.toml"),
                "add one (its credential says how to sign in); nothing was changed",
            )
        })
    }
}

pub fn no_registry(what: &str) -> TaskError {
    outcome::error(
        what,
        "no [[registry]] is configured",
        "add a [[registry]] section (name, host, credential) to config.toml, as in \
         config.example.toml; the registry pane stays empty until then",
    )
}

/// How the status bar shows a registry that failed.
pub fn conn_state(e: &RegistryError) -> ConnState {
    match e {
        RegistryError::Unauthorized { .. }
        | RegistryError::Forbidden { .. }
        | RegistryError::Token { .. }
        | RegistryError::Credential { .. } => ConnState::Forbidden,
        _ => ConnState::Offline,
    }
}

fn send(tx: &UnboundedSender<Action>, u: RegistryUpdate) {
    let _ = tx.send(Action::Registry(u));
}

/// Reads a listing page by page, handing each page to `on_page` (with `true` for the first) as
/// it arrives, so the pane shows rows before the last page is read; `on_page` answers `false`
/// to stop (the pane moved to another registry). Every row read, or the error and the rows read
/// before it.
pub async fn list_streaming<T: Clone>(
    mut pages: crate::registry::list::PageStream<T>,
    mut on_page: impl FnMut(Vec<T>, bool) -> bool,
) -> Result<Vec<T>, (RegistryError, Vec<T>)> {
    let mut all = Vec::new();
    let mut first = true;
    while let Some(page) = pages.next().await {
        match page {
            Ok(rows) => {
                if !on_page(rows.clone(), first) {
                    break;
                }
                first = false;
                all.extend(rows);
            }
            Err(e) => return Err((e, all)),
        }
    }
    Ok(all)
}

/// Lists the browsed registry's repositories into the pane, page by page.
pub async fn load_repositories(regs: &Registries, tx: &UnboundedSender<Action>) -> TaskResult {
    let what = "load repositories";
    let cfg = match regs.browsed_or_err(what) {
        Ok(c) => c,
        Err(e) => {
            send(tx, RegistryUpdate::Connection(ConnState::Offline));
            return Err(e);
        }
    };
    let listed = match regs.connect(cfg).await {
        Ok(reg) => list_streaming(reg.client.repository_pages(), |repositories, first| {
            let browsed = regs.is_browsed(cfg);
            if browsed {
                send(
                    tx,
                    RegistryUpdate::RepositoriesPage {
                        registry: cfg.host.clone(),
                        repositories,
                        first,
                    },
                );
            }
            browsed
        })
        .await
        .map_err(|(e, read)| {
            // What was read stays on screen as the listing; the error says it stopped short.
            send(
                tx,
                RegistryUpdate::Repositories {
                    registry: cfg.host.clone(),
                    repositories: read,
                },
            );
            e
        }),
        Err(e) => Err(e),
    };
    if !regs.is_browsed(cfg) {
        return done(format!("{} is no longer browsed", cfg.name));
    }
    match listed {
        Ok(repositories) => {
            let n = repositories.len();
            send(
                tx,
                RegistryUpdate::Repositories {
                    registry: cfg.host.clone(),
                    repositories,
                },
            );
            send(tx, RegistryUpdate::Connection(ConnState::Live));
            done(format!("{n} repositories in {}", cfg.name))
        }
        Err(e) => {
            send(tx, RegistryUpdate::Connection(conn_state(&e)));
            Err(registry_error(what, &e))
        }
    }
}

/// Lists one repository's tags (newest first) into the pane page by page, then reads the details
/// the listing lacks for the newest [`DETAIL_LIMIT`] and sends each row as it arrives.
/// Returns how many rows' details could not be read.
pub async fn load_tags(
    regs: &Registries,
    repository: &str,
    tx: &UnboundedSender<Action>,
) -> Result<usize, TaskError> {
    let what = format!("load tags of {repository}");
    let cfg = regs.browsed_or_err(&what)?;
    let reg = regs
        .connect(cfg)
        .await
        .map_err(|e| registry_error(&what, &e))?;
    let listed = list_streaming(
        reg.client.tag_pages(repository, TagOrder::NewestFirst),
        |tags, first| {
            let browsed = regs.is_browsed(cfg);
            if browsed {
                send(
                    tx,
                    RegistryUpdate::TagsPage {
                        repository: repository.to_owned(),
                        tags,
                        first,
                    },
                );
            }
            browsed
        },
    )
    .await;
    let mut rows = match listed {
        Ok(rows) => rows,
        Err((e, read)) => {
            // What was read stays on screen as the listing; the error says it stopped short.
            send(
                tx,
                RegistryUpdate::Tags {
                    repository: repository.to_owned(),
                    tags: read,
                },
            );
            return Err(registry_error(&what, &e));
        }
    };
    sort_newest_first(&mut rows);
    // After `:reg` the pane shows another registry, perhaps with a repository of this name:
    // what this load read belongs to the old one and is dropped.
    if !regs.is_browsed(cfg) {
        return Ok(0);
    }
    send(
        tx,
        RegistryUpdate::Tags {
            repository: repository.to_owned(),
            tags: rows.clone(),
        },
    );
    let wanted: Vec<TagRow> = rows
        .into_iter()
        .take(DETAIL_LIMIT)
        .filter(needs_details)
        .collect();
    let mut failed = 0;
    let mut details = reg.client.tag_details_stream(wanted);
    while let Some((_, r)) = details.next().await {
        match r {
            Ok(_) if !regs.is_browsed(cfg) => break,
            Ok(row) => send(tx, RegistryUpdate::Tag(row)),
            Err(e) => {
                failed += 1;
                tracing::warn!("details of a tag of {repository}: {e}");
            }
        }
    }
    Ok(failed)
}

/// The listing left out something the pane shows.
pub fn needs_details(t: &TagRow) -> bool {
    t.digest.is_none() || t.media_type.is_none() || (t.created.is_none() && t.updated.is_none())
}

fn reference(what: &str, l: &ImageLocation) -> Result<Reference, TaskError> {
    Reference::parse(&l.to_string()).map_err(|e| {
        outcome::error(
            what,
            e,
            "nothing was changed; a tag is letters, digits, '_', '.', '-'",
        )
    })
}

/// What a retag dry run found: the source digest, and what the target points at now.
pub fn dry_run_summary(
    src: &ImageLocation,
    dst: &ImageLocation,
    source_digest: &str,
    target_digest: Option<&str>,
    force: bool,
) -> Result<String, String> {
    let to = short_digest(source_digest);
    match target_digest {
        None => Ok(format!(
            "dry run, nothing changed: would create {dst} → {to} (from {src})"
        )),
        Some(d) if d == source_digest => Ok(format!(
            "dry run, nothing changed: {dst} already points at {to}"
        )),
        Some(d) if force => Ok(format!(
            "dry run, nothing changed: would move {dst} from {} to {to}",
            short_digest(d)
        )),
        Some(d) => Err(format!(
            "{dst} exists (digest {}) and would move to {to}",
            short_digest(d)
        )),
    }
}

/// Retags (or checks, for a dry run) `src` → `dst`; afterwards the target repository's tags
/// are read again when it is the one browsed, so the pane shows the registry's own listing.
#[allow(clippy::too_many_arguments)]
pub async fn retag_task(
    regs: &Registries,
    audit: &AuditLog,
    title: &str,
    src: &ImageLocation,
    dst: &ImageLocation,
    force: bool,
    lock: bool,
    dry_run: bool,
) -> TaskResult {
    let src_cfg = regs.for_host_or_err(title, &src.registry)?;
    let dst_cfg = regs.for_host_or_err(title, &dst.registry)?;
    let source = reference(title, src)?;
    let target = reference(title, dst)?;
    if target.tag().is_none() || target.digest().is_some() {
        return Err(outcome::error(
            title,
            format!("the target {dst} must name a tag and no digest"),
            "nothing was changed",
        ));
    }
    let src_reg = regs
        .connect(src_cfg)
        .await
        .map_err(|e| registry_error(title, &e))?;
    let dst_reg = regs
        .connect(dst_cfg)
        .await
        .map_err(|e| registry_error(title, &e))?;
    if dry_run {
        let m = src_reg
            .client
            .get_manifest(source.repository(), source.manifest_ref())
            .await
            .map_err(|e| registry_error(title, &e))?;
        let existing = match dst_reg
            .client
            .get_manifest(target.repository(), target.manifest_ref())
            .await
        {
            Ok(t) => Some(t.digest),
            Err(
                RegistryError::ManifestUnknown { .. }
                | RegistryError::NotFound { .. }
                | RegistryError::RepositoryUnknown { .. },
            ) => None,
            Err(e) => return Err(registry_error(title, &e)),
        };
        // A lock refuses the move, dry run or not.
        if existing.as_deref().is_some_and(|d| d != m.digest) {
            let tag = target.tag().expect("checked above");
            let attributes = dst_reg
                .client
                .tag_attributes(target.repository(), tag)
                .await
                .map_err(|e| registry_error(title, &e))?;
            crate::registry::locks::check_writable(
                &dst_reg.client,
                target.repository(),
                tag,
                attributes.as_ref(),
            )
            .map_err(|e| registry_error(title, &e))?;
        }
        return dry_run_summary(src, dst, &m.digest, existing.as_deref(), force)
            .map(|s| {
                if lock {
                    format!("{s}, then lock it")
                } else {
                    s
                }
            })
            .map(|s| crate::app::action::TaskOutcome::Done { summary: s })
            .map_err(|why| {
                outcome::error(
                    title,
                    why,
                    "press f in the confirmation to allow moving it, or choose another name",
                )
            });
    }
    let o = retag(
        &src_reg,
        &source,
        &dst_reg,
        &target,
        RetagOptions { force },
        audit,
    )
    .await
    .map_err(|e| registry_error(title, &e))?;
    let mut summary = outcome::retag_summary(&o);
    if lock {
        let tag = target.tag().expect("checked above");
        let l = crate::registry::locks::set_tag_attributes(
            &dst_reg,
            target.repository(),
            tag,
            &crate::registry::locks::AttributesPatch::lock(),
            audit,
        )
        .await
        .map_err(|e| {
            let mut err = registry_error(title, &e);
            err.why = format!("the retag is done, but locking {dst} failed: {}", err.why);
            err
        })?;
        summary.push_str(&format!("; {dst} locked ({})", l.new.describe()));
    }
    done(summary)
}

/// After a retag into the browsed registry: its listing again (best effort; the pane already
/// shows the new tag from the retag's own answer).
pub async fn refresh_after_retag(
    regs: &Registries,
    dst: &ImageLocation,
    tx: &UnboundedSender<Action>,
) {
    let browsed = regs
        .browsed()
        .is_some_and(|c| same_host(&c.host, &dst.registry));
    if browsed && let Err(e) = load_tags(regs, &dst.repository, tx).await {
        tracing::warn!(
            "re-reading the tags of {} after a retag: {e}",
            dst.repository
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn loc(tag: &str) -> ImageLocation {
        ImageLocation {
            registry: "127.0.0.1:16410".into(),
            repository: "web".into(),
            reference: tag.into(),
        }
    }

    fn digest(c: char) -> String {
        format!("sha256:{}", c.to_string().repeat(64))
    }

    #[test]
    fn dry_runs_say_what_would_happen() {
        let (a, b) = (digest('a'), digest('b'));
        let s = dry_run_summary(&loc("1.0.5"), &loc("rc"), &a, None, false).unwrap();
        assert_eq!(
            s,
            "dry run, nothing changed: would create 127.0.0.1:16410/web:rc → sha256:aaaaaaaaaaaa (from 127.0.0.1:16410/web:1.0.5)"
        );
        let s = dry_run_summary(&loc("1.0.5"), &loc("rc"), &a, Some(&a), false).unwrap();
        assert!(s.contains("already points at"), "{s}");
        let e = dry_run_summary(&loc("1.0.5"), &loc("rc"), &a, Some(&b), false).unwrap_err();
        assert!(e.contains("exists (digest sha256:bbbbbbbbbbbb)"), "{e}");
        let s = dry_run_summary(&loc("1.0.5"), &loc("rc"), &a, Some(&b), true).unwrap();
        assert!(s.contains("would move"), "{s}");
    }

    #[test]
    fn rows_from_an_acr_listing_still_need_their_platforms() {
        let listed = TagRow {
            repository: "web".into(),
            name: "1.0.5".into(),
            digest: Some(digest('a')),
            updated: Some(jiff::Timestamp::UNIX_EPOCH),
            ..TagRow::default()
        };
        assert!(needs_details(&listed));
        let detailed = TagRow {
            media_type: Some("application/vnd.oci.image.manifest.v1+json".into()),
            ..listed
        };
        assert!(!needs_details(&detailed));
    }

    #[test]
    fn hosts_pick_their_registry() {
        #[derive(serde::Deserialize)]
        struct F {
            registry: Vec<RegistryConfig>,
        }
        let f: F = toml::from_str(
            "[[registry]]\nname='acr'\nhost='127.0.0.1:16410'\nkind='acr'\n[[registry]]\nname='plain'\nhost='127.0.0.1:16412'\n",
        )
        .unwrap();
        let regs = Registries::new(f.registry);
        assert_eq!(regs.browsed().unwrap().name, "acr");
        assert_eq!(regs.for_host("127.0.0.1:16412").unwrap().name, "plain");
        assert!(regs.for_host("other.io").is_none());
        let e = regs.for_host_or_err("retag", "other.io").unwrap_err();
        assert!(e.why.contains("other.io") && e.hint.contains("nothing was changed"));
        assert!(Registries::default().browsed_or_err("x").is_err());
    }
}
