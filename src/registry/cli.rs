//! Headless registry commands.
//!
//! Entry points for `src/main.rs` / `src/cli.rs` (wire them as subcommands):
//!
//! ```text
//! berth registry repos [--registry NAME] [--json]            -> run_registry(RegistryArgs, &registries)
//! berth registry tags REPO [--registry NAME] [--details] [--json]
//! berth registry diff FROM TO [--platform OS/ARCH] [--registry NAME] [--json]
//! berth retag SRC DST [--force] [--registry NAME] [--json]   -> run_retag(RetagArgs, &registries, &audit)
//! ```
//!
//! - `RegistryArgs` (clap `Args`, holding the `RegistryCommand` subcommand) and `RetagArgs`
//!   (clap `Args`) flatten into the top-level CLI.
//! - `registries` is `config.registry` (`Vec<RegistryConfig>`, the `[[registry]]` entries);
//!   `audit` the configured `AuditLog`.
//! - Both return a `std::process::ExitCode` and have already printed (`run_*_to` variants take
//!   the output streams and return the code, for tests): the result on stdout
//!   (a table, or JSON with `--json`), and on failure a one-line reason on stderr (with
//!   `--json` also `{"error":{"kind","message"}}` on stdout).
//!
//! References: `host[:port]/repo:tag` selects the `[[registry]]` with that host; a short
//! `repo:tag` (no host) means the registry named by `--registry`, else the only (or first)
//! configured one.
//!
//! Exit codes: 0 ok; 2 bad input (reference, tag, config); 3 not found; 4 credentials
//! rejected or access denied; 5 target tag exists (use `--force`); 6 network/TLS; 7 rate
//! limited or registry failing; 8 the target tag is locked (ACR `writeEnabled: false`); 9 the audit log cannot be written (nothing was changed);
//! 10 applied, but not audited; 1 anything else.

use std::io::Write;
use std::process::ExitCode;

use clap::{Args, Subcommand};
use futures::StreamExt;
use serde::Serialize;

use super::config::RegistryConfig;
use super::connect::{Registry, connect};
use super::error::RegistryError;
use super::list::TagOrder;
use super::locks::{AttributesPatch, LockOutcome, set_tag_attributes};
use super::retag::{RetagOptions, retag};
use super::types::TagRow;
use crate::audit::AuditLog;
use crate::reference::{Reference, ReferenceError, same_host};

#[derive(Debug, Clone, Args)]
pub struct RegistryArgs {
    #[command(subcommand)]
    pub command: RegistryCommand,
}

#[derive(Debug, Clone, Subcommand)]
pub enum RegistryCommand {
    /// List the repositories of a registry.
    Repos {
        /// The `[[registry]]` name (default: the only or first one).
        #[arg(long, value_name = "NAME")]
        registry: Option<String>,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// List the tags of a repository, newest first where the registry knows times.
    Tags {
        /// Repository name (`web`, `team/api`), without tag or host.
        repo: String,
        /// The `[[registry]]` name (default: the only or first one).
        #[arg(long, value_name = "NAME")]
        registry: Option<String>,
        /// Also read digest, platforms and created time of every tag (one manifest read per tag
        /// on registries whose listing lacks them).
        #[arg(long)]
        details: bool,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// What am I shipping: what differs between two images of a registry (created times,
    /// annotations and labels, env, entrypoint/cmd, user, ports, working dir, layers, platforms)
    #[command(after_help = DIFF_EXAMPLES)]
    Diff {
        /// The image running now: `repo:tag` or `repo@sha256:…` (or with the registry host)
        #[arg(value_name = "FROM")]
        from: String,
        /// The image to ship: like FROM, or a bare tag or digest in FROM's repository
        #[arg(value_name = "TO")]
        to: String,
        /// The platform compared when an image is multi-platform (default linux/amd64)
        #[arg(long, value_name = "OS/ARCH[/VARIANT]")]
        platform: Option<String>,
        /// The `[[registry]]` for references without a host (default: the only or first one)
        #[arg(long, value_name = "NAME")]
        registry: Option<String>,
        /// Print the diff as JSON
        #[arg(long)]
        json: bool,
    },
    /// Lock a tag on ACR (writeEnabled=false): it can no longer be moved or deleted
    #[command(after_help = LOCK_EXAMPLES)]
    Lock {
        /// The tag: `repo:tag`, or with the registry host
        #[arg(value_name = "REPO:TAG")]
        image: String,
        /// The `[[registry]]` for a tag without a host (default: the only or first one)
        #[arg(long, value_name = "NAME")]
        registry: Option<String>,
        /// Print the outcome as JSON
        #[arg(long)]
        json: bool,
    },
    /// Unlock a tag on ACR (writeEnabled=true, deleteEnabled=true)
    #[command(after_help = LOCK_EXAMPLES)]
    Unlock {
        /// The tag: `repo:tag`, or with the registry host
        #[arg(value_name = "REPO:TAG")]
        image: String,
        /// The `[[registry]]` for a tag without a host (default: the only or first one)
        #[arg(long, value_name = "NAME")]
        registry: Option<String>,
        /// Print the outcome as JSON
        #[arg(long)]
        json: bool,
    },
}

const DIFF_EXAMPLES: &str = "Examples:
  berth registry diff web:1.0.27 web:1.0.28
  berth registry diff web:prod 1.0.28            (TO in FROM's repository)
  berth registry diff web@sha256:3f… sha256:9a…  (digests: no registry round trip once cached)
Manifests and configs are cached by digest under the cache dir (BERTH_CONTENT_CACHE to move it).
Env values whose name says secret (PASSWORD, TOKEN, KEY, …) are never shown, only that they changed.";

const LOCK_EXAMPLES: &str = "Examples:
  berth registry lock web:1.0.28            (writeEnabled=false: no push over it, no delete)
  berth registry unlock web:1.0.28
  berth retag web:1.0.28 web:prod --force --lock   (promote, then lock the target)
Exit status 8 of retag: the target tag is locked; nothing was written.";

#[derive(Debug, Clone, Args)]
pub struct RetagArgs {
    /// Source image: `repo:tag`, `repo@sha256:..`, or with a registry host.
    #[arg(value_name = "SOURCE")]
    pub source: String,
    /// Target: `repo:newtag` (same or other repository, in the source's registry), or
    /// `host/repo:tag` for another registry.
    #[arg(value_name = "TARGET")]
    pub target: String,
    /// Overwrite the target tag if it exists.
    #[arg(long)]
    pub force: bool,
    /// Lock the target tag after promoting it (ACR: writeEnabled=false, through
    /// PATCH /acr/v1/REPO/_tags/TAG); a locked target is refused before any write (exit 8)
    #[arg(long)]
    pub lock: bool,
    /// The `[[registry]]` for a source without a host (default: the only or first one).
    #[arg(long, value_name = "NAME")]
    pub registry: Option<String>,
    /// Print the outcome as JSON.
    #[arg(long)]
    pub json: bool,
}

/// A failure of a headless command: exit code, kind, one-line message.
#[derive(Debug)]
pub struct CliFailure {
    pub code: u8,
    pub kind: String,
    pub message: String,
}

impl CliFailure {
    fn input(message: impl Into<String>) -> Self {
        Self {
            code: 2,
            kind: "bad_input".into(),
            message: message.into(),
        }
    }
}

/// The exit code for a registry error (see the module doc).
pub fn exit_code(e: &RegistryError) -> u8 {
    match e {
        RegistryError::Reference(_) | RegistryError::Config { .. } => 2,
        RegistryError::RepositoryUnknown { .. }
        | RegistryError::ManifestUnknown { .. }
        | RegistryError::NotFound { .. } => 3,
        RegistryError::Unauthorized { .. }
        | RegistryError::Forbidden { .. }
        | RegistryError::Token { .. }
        | RegistryError::Credential { .. } => 4,
        RegistryError::TargetExists { .. } => 5,
        RegistryError::TagLocked { .. } => 8,
        RegistryError::Network { .. } => 6,
        RegistryError::RateLimited { .. } | RegistryError::Server { .. } => 7,
        RegistryError::Audit(f) => f.exit_code(),
        _ => 1,
    }
}

impl From<RegistryError> for CliFailure {
    fn from(e: RegistryError) -> Self {
        Self {
            code: exit_code(&e),
            kind: e.kind().to_owned(),
            message: one_line(&e.to_string()),
        }
    }
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Picks the `[[registry]]` by name, else the only/first one.
pub fn pick_registry<'a>(
    registries: &'a [RegistryConfig],
    name: Option<&str>,
) -> Result<&'a RegistryConfig, CliFailure> {
    match name {
        Some(n) => registries.iter().find(|r| r.name == n).ok_or_else(|| {
            let known: Vec<&str> = registries.iter().map(|r| r.name.as_str()).collect();
            CliFailure::input(format!(
                "no [[registry]] named {n:?} in config.toml (configured: {})",
                if known.is_empty() {
                    "none".into()
                } else {
                    known.join(", ")
                }
            ))
        }),
        None => registries.first().ok_or_else(|| {
            CliFailure::input(
                "no [[registry]] configured: add one to config.toml (see config.example.toml)",
            )
        }),
    }
}

/// Does the text name a registry host explicitly (docker's rule for the first component;
/// `web:not/valid` is a repository and a bad tag, not a host `web` with port `not`)?
fn has_host(input: &str) -> bool {
    crate::reference::names_registry(input)
}

fn bad_reference(e: ReferenceError) -> CliFailure {
    CliFailure::input(e.cli_message())
}

/// Resolves a reference text to (registry entry, normalised reference).
pub fn resolve<'a>(
    input: &str,
    registries: &'a [RegistryConfig],
    default: Option<&str>,
) -> Result<(&'a RegistryConfig, Reference), CliFailure> {
    if has_host(input) {
        let r = Reference::parse(input).map_err(bad_reference)?;
        let cfg = registries
            .iter()
            .find(|c| same_host(&c.host, r.registry()))
            .ok_or_else(|| {
                CliFailure::input(format!(
                    "no [[registry]] with host {} in config.toml: add one (its credential says how to sign in)",
                    r.registry()
                ))
            })?;
        Ok((cfg, r))
    } else {
        let cfg = pick_registry(registries, default)?;
        let r = Reference::parse(&format!("{}/{input}", cfg.host)).map_err(|e| match e {
            // Name what the user typed, not the host-prefixed text parsed.
            ReferenceError::Invalid { reason, .. } => bad_reference(ReferenceError::Invalid {
                input: input.to_owned(),
                reason,
            }),
            e => bad_reference(e),
        })?;
        Ok((cfg, r))
    }
}

/// `berth registry diff FROM TO`: both images are read (concurrently; by digest from the content
/// cache when seen before) and their differences printed.
async fn diff_command(
    from: &str,
    to: &str,
    platform: Option<&str>,
    registry: Option<&str>,
    json: bool,
    registries: &[RegistryConfig],
    out: &mut dyn Write,
) -> Result<(), CliFailure> {
    use super::shipping::{ShippingDiff, image_facts, parse_platform};
    let platform = platform
        .map(parse_platform)
        .transpose()
        .map_err(CliFailure::input)?;
    let (cfg, from_ref) = resolve(from, registries, registry)?;
    let pinned = |r: &Reference| r.tag().is_some() || r.digest().is_some();
    if !pinned(&from_ref) {
        return Err(CliFailure::input(format!(
            "FROM {from:?} names no tag or digest: write repo:tag or repo@sha256:…"
        )));
    }
    // A bare tag or digest is in FROM's repository (`diff web:prod 1.0.28`).
    let to_ref = if !to.contains('/') && !to.contains(':') || to.starts_with("sha256:") {
        if to.starts_with("sha256:") {
            from_ref.with_digest(to)
        } else {
            from_ref.with_tag(to)
        }
        .map_err(bad_reference)?
    } else {
        let (to_cfg, r) = resolve(to, registries, registry)?;
        if to_cfg.name != cfg.name {
            return Err(CliFailure::input(format!(
                "FROM is in [[registry]] {} and TO in {}: diff compares images of one registry \
                 (retag TO into FROM's registry first, or diff there)",
                cfg.name, to_cfg.name
            )));
        }
        r
    };
    if !pinned(&to_ref) {
        return Err(CliFailure::input(format!(
            "TO {to:?} names no tag or digest: write a tag, a digest, or repo:tag"
        )));
    }
    let reg = connect(cfg).await?;
    let cache = super::content_cache::ContentCache::default_location();
    let reference = |r: &Reference| r.digest().or(r.tag()).unwrap_or_default().to_owned();
    let (from_at, to_at) = (reference(&from_ref), reference(&to_ref));
    let (a, b) = tokio::join!(
        image_facts(
            &reg.client,
            &cache,
            from_ref.repository(),
            &from_at,
            platform.as_ref()
        ),
        image_facts(
            &reg.client,
            &cache,
            to_ref.repository(),
            &to_at,
            platform.as_ref()
        ),
    );
    let diff = ShippingDiff::between(a?, b?);
    // `web:1.0.2`, `web@sha256:3f…`: the registry is said once, in the JSON.
    let name = |r: &Reference| match (r.tag(), r.digest()) {
        (_, Some(d)) => format!("{}@{}", r.repository(), crate::reference::short_digest(d)),
        (Some(t), None) => format!("{}:{t}", r.repository()),
        (None, None) => r.repository().to_owned(),
    };
    if json {
        let _ = writeln!(
            out,
            "{}",
            serde_json::json!({
                "registry": cfg.name,
                "from": from_ref.familiar(),
                "to": to_ref.familiar(),
                "diff": diff,
            })
        );
    } else {
        for line in diff.render(&name(&from_ref), &name(&to_ref)) {
            let _ = writeln!(out, "{line}");
        }
    }
    Ok(())
}

/// `registry tags REPO` takes a repository name: a tag, digest or host in it is refused with
/// what to write instead.
fn check_repository(repo: &str, cfg: &RegistryConfig) -> Result<(), CliFailure> {
    if has_host(repo) {
        return Err(CliFailure::input(format!(
            "{repo:?} names a registry host: give the repository alone (like web or team/api) \
             and pick the registry with --registry NAME"
        )));
    }
    let r = Reference::parse(&format!("{}/{repo}", cfg.host)).map_err(bad_reference)?;
    if r.tag().is_some() || r.digest().is_some() {
        return Err(CliFailure::input(format!(
            "{repo:?} is an image reference, not a repository: `berth registry tags` takes the \
             repository alone (here: {})",
            r.repository()
        )));
    }
    Ok(())
}

fn fail(f: &CliFailure, json: bool, out: &mut dyn Write, err: &mut dyn Write) -> u8 {
    if json {
        let v = serde_json::json!({"error": {"kind": f.kind, "message": f.message}});
        let _ = writeln!(out, "{v}");
    }
    let _ = writeln!(err, "berth: {}", f.message);
    f.code
}

/// `berth registry ...`
pub async fn run_registry(
    args: RegistryArgs,
    registries: &[RegistryConfig],
    audit: &AuditLog,
) -> ExitCode {
    let code = run_registry_to(
        args,
        registries,
        audit,
        &mut std::io::stdout().lock(),
        &mut std::io::stderr().lock(),
    )
    .await;
    ExitCode::from(code)
}

/// [`run_registry`] writing to the given streams; returns the exit code.
pub async fn run_registry_to(
    args: RegistryArgs,
    registries: &[RegistryConfig],
    audit: &AuditLog,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> u8 {
    let json = match &args.command {
        RegistryCommand::Repos { json, .. }
        | RegistryCommand::Tags { json, .. }
        | RegistryCommand::Diff { json, .. }
        | RegistryCommand::Lock { json, .. }
        | RegistryCommand::Unlock { json, .. } => *json,
    };
    match registry_command(args, registries, audit, out).await {
        Ok(()) => 0,
        Err(f) => fail(&f, json, out, err),
    }
}

async fn registry_command(
    args: RegistryArgs,
    registries: &[RegistryConfig],
    audit: &AuditLog,
    out: &mut dyn Write,
) -> Result<(), CliFailure> {
    match args.command {
        RegistryCommand::Diff {
            from,
            to,
            platform,
            registry,
            json,
        } => {
            diff_command(
                &from,
                &to,
                platform.as_deref(),
                registry.as_deref(),
                json,
                registries,
                out,
            )
            .await?
        }
        RegistryCommand::Lock {
            image,
            registry,
            json,
        } => {
            lock_command(
                &image,
                registry.as_deref(),
                true,
                json,
                registries,
                audit,
                out,
            )
            .await?
        }
        RegistryCommand::Unlock {
            image,
            registry,
            json,
        } => {
            lock_command(
                &image,
                registry.as_deref(),
                false,
                json,
                registries,
                audit,
                out,
            )
            .await?
        }
        RegistryCommand::Repos { registry, json } => {
            let cfg = pick_registry(registries, registry.as_deref())?;
            let reg = connect(cfg).await?;
            let mut pages = reg.client.repository_pages();
            let mut all = Vec::new();
            // Stream to the terminal page by page; JSON needs the whole list.
            while let Some(page) = pages.next().await {
                let page = page?;
                if !json {
                    for r in &page {
                        let _ = writeln!(out, "{}", r.name);
                    }
                }
                all.extend(page);
            }
            if json {
                let names: Vec<&str> = all.iter().map(|r| r.name.as_str()).collect();
                let _ = writeln!(
                    out,
                    "{}",
                    serde_json::json!({"registry": cfg.name, "repositories": names})
                );
            }
        }
        RegistryCommand::Tags {
            repo,
            registry,
            details,
            json,
        } => {
            let cfg = pick_registry(registries, registry.as_deref())?;
            check_repository(&repo, cfg)?;
            let reg = connect(cfg).await?;
            let mut rows = reg.client.list_tags(&repo, TagOrder::NewestFirst).await?;
            if details {
                rows = fill_details(&reg, rows).await?;
            }
            sort_newest_first(&mut rows);
            if json {
                #[derive(Serialize)]
                struct Out<'a> {
                    registry: &'a str,
                    repository: &'a str,
                    tags: &'a [TagRow],
                }
                let _ = writeln!(
                    out,
                    "{}",
                    serde_json::to_string(&Out {
                        registry: &cfg.name,
                        repository: &repo,
                        tags: &rows
                    })
                    .expect("rows serialise")
                );
            } else {
                let _ = writeln!(
                    out,
                    "{:<32} {:<19} {:<20} {:<10} PLATFORMS",
                    "TAG", "DIGEST", "UPDATED", "LOCK"
                );
                for r in &rows {
                    let digest = r.digest.as_deref().map(short_digest).unwrap_or_default();
                    let when = r
                        .updated
                        .or(r.created)
                        .map(|t| t.strftime("%Y-%m-%d %H:%M:%S").to_string())
                        .unwrap_or_default();
                    let platforms: Vec<String> =
                        r.platforms.iter().map(|p| p.to_string()).collect();
                    let lock = r.attributes.map(|a| a.mark()).unwrap_or_default();
                    let _ = writeln!(
                        out,
                        "{:<32} {:<19} {:<20} {:<10} {}",
                        r.name,
                        digest,
                        when,
                        if lock.is_empty() { "-" } else { lock.as_str() },
                        platforms.join(",")
                    );
                }
            }
        }
    }
    Ok(())
}

/// `berth registry lock|unlock REPO:TAG`.
async fn lock_command(
    image: &str,
    registry: Option<&str>,
    lock: bool,
    json: bool,
    registries: &[RegistryConfig],
    audit: &AuditLog,
    out: &mut dyn Write,
) -> Result<(), CliFailure> {
    let verb = if lock { "lock" } else { "unlock" };
    let (cfg, r) = resolve(image, registries, registry)?;
    let Some(tag) = r.tag().filter(|_| r.digest().is_none()) else {
        return Err(CliFailure::input(format!(
            "{image:?} names no tag: `berth registry {verb}` takes REPO:TAG (like web:1.0.28); \
             a digest has no tag lock"
        )));
    };
    if cfg.kind() != super::config::RegistryKind::Acr {
        return Err(CliFailure::input(format!(
            "registry {} is a plain OCI registry: tag locks are an Azure Container Registry \
             feature (set kind = \"acr\" for an ACR); nothing was changed",
            cfg.name
        )));
    }
    let reg = connect(cfg).await?;
    let patch = if lock {
        AttributesPatch::lock()
    } else {
        AttributesPatch::unlock()
    };
    let o = set_tag_attributes(&reg, r.repository(), tag, &patch, audit).await?;
    print_lock(&o, json, out);
    Ok(())
}

fn print_lock(o: &LockOutcome, json: bool, out: &mut dyn Write) {
    if json {
        let _ = writeln!(
            out,
            "{}",
            serde_json::to_string(o).expect("outcome serialises")
        );
        return;
    }
    let state = if o.new.write_enabled {
        "unlocked"
    } else {
        "locked"
    };
    let _ = writeln!(
        out,
        "{}/{}:{} {}{}: {}",
        o.registry,
        o.repository,
        o.tag,
        if o.changed { "" } else { "already " },
        state,
        o.new.describe()
    );
}

async fn fill_details(reg: &Registry, rows: Vec<TagRow>) -> Result<Vec<TagRow>, RegistryError> {
    let mut filled: Vec<Option<TagRow>> = vec![None; rows.len()];
    let mut s = reg.client.tag_details_stream(rows);
    while let Some((i, r)) = s.next().await {
        filled[i] = Some(r?);
    }
    Ok(filled.into_iter().flatten().collect())
}

/// Newest first by update (else created) time; rows without a time last, by name.
pub fn sort_newest_first(rows: &mut [TagRow]) {
    rows.sort_by(|a, b| {
        let ta = a.updated.or(a.created);
        let tb = b.updated.or(b.created);
        tb.cmp(&ta).then_with(|| a.name.cmp(&b.name))
    });
}

pub use crate::reference::short_digest;

/// `berth retag SRC DST [--force]`
pub async fn run_retag(
    args: RetagArgs,
    registries: &[RegistryConfig],
    audit: &AuditLog,
) -> ExitCode {
    let code = run_retag_to(
        args,
        registries,
        audit,
        &mut std::io::stdout().lock(),
        &mut std::io::stderr().lock(),
    )
    .await;
    ExitCode::from(code)
}

/// [`run_retag`] writing to the given streams; returns the exit code.
pub async fn run_retag_to(
    args: RetagArgs,
    registries: &[RegistryConfig],
    audit: &AuditLog,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> u8 {
    match retag_command(&args, registries, audit, out).await {
        Ok(()) => 0,
        Err(f) => fail(&f, args.json, out, err),
    }
}

async fn retag_command(
    args: &RetagArgs,
    registries: &[RegistryConfig],
    audit: &AuditLog,
    out: &mut dyn Write,
) -> Result<(), CliFailure> {
    let (src_cfg, source) = resolve(&args.source, registries, args.registry.as_deref())?;
    // A short target means "the source's registry", not the default one.
    let (dst_cfg, target) = if has_host(&args.target) {
        resolve(&args.target, registries, None)?
    } else {
        resolve(&args.target, registries, Some(&src_cfg.name))?
    };
    if target.tag().is_none() || target.digest().is_some() {
        return Err(CliFailure::input(format!(
            "target {} must name a tag (like web:1.2.3) and no digest",
            args.target
        )));
    }
    if args.lock && dst_cfg.kind() != super::config::RegistryKind::Acr {
        return Err(CliFailure::input(format!(
            "--lock: registry {} is a plain OCI registry, and tag locks are an Azure Container \
             Registry feature; nothing was changed",
            dst_cfg.name
        )));
    }
    let src = connect(src_cfg).await?;
    let dst = if dst_cfg.name == src_cfg.name {
        src.clone()
    } else {
        connect(dst_cfg).await?
    };
    let o = retag(
        &src,
        &source,
        &dst,
        &target,
        RetagOptions { force: args.force },
        audit,
    )
    .await?;
    let locked = if args.lock {
        let tag = target.tag().expect("checked above");
        Some(
            set_tag_attributes(
                &dst,
                target.repository(),
                tag,
                &AttributesPatch::lock(),
                audit,
            )
            .await
            .map_err(|e| {
                let mut f = CliFailure::from(e);
                f.message = format!(
                    "{} -> {} is done, but locking it failed: {}",
                    o.source, o.target, f.message
                );
                f
            })?,
        )
    } else {
        None
    };
    if args.json {
        let mut v = serde_json::to_value(&o).expect("outcome serialises");
        if let Some(l) = &locked {
            v["lock"] = serde_json::to_value(l).expect("outcome serialises");
        }
        let _ = writeln!(out, "{v}");
    } else {
        let old = o
            .old_digest
            .as_deref()
            .map(short_digest)
            .unwrap_or_else(|| "(new tag)".into());
        let _ = writeln!(
            out,
            "{} -> {}: {} -> {} ({:?}, {} blobs mounted, {} copied, {} bytes)",
            o.source,
            o.target,
            old,
            short_digest(&o.new_digest),
            o.method,
            o.blobs_mounted,
            o.blobs_copied,
            o.bytes_copied
        );
        if let Some(l) = &locked {
            print_lock(l, false, out);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn regs() -> Vec<RegistryConfig> {
        #[derive(serde::Deserialize)]
        struct F {
            registry: Vec<RegistryConfig>,
        }
        toml::from_str::<F>(
            "[[registry]]\nname='acr'\nhost='127.0.0.1:16410'\nkind='acr'\n[[registry]]\nname='plain'\nhost='127.0.0.1:16412'\n",
        )
        .unwrap()
        .registry
    }

    #[test]
    fn short_and_full_references_resolve() {
        let r = regs();
        let (c, x) = resolve("web:1.0", &r, None).unwrap();
        assert_eq!(c.name, "acr");
        assert_eq!(x.to_string(), "127.0.0.1:16410/web:1.0");
        let (c, _) = resolve("web:1.0", &r, Some("plain")).unwrap();
        assert_eq!(c.name, "plain");
        let (c, x) = resolve("127.0.0.1:16412/mirror/web:1.0.0", &r, None).unwrap();
        assert_eq!(c.name, "plain");
        assert_eq!(x.repository(), "mirror/web");
        let e = resolve("other.io/web:1", &r, None).unwrap_err();
        assert_eq!(e.code, 2);
        assert!(e.message.contains("other.io"));
        let e = resolve("web:bad tag", &r, None).unwrap_err();
        assert_eq!(e.code, 2);
        // A short target with a '/' in its tag: a bad tag, not a host "web" with port "not".
        let e = resolve("web:not/valid", &r, Some("acr")).unwrap_err();
        assert_eq!(e.code, 2);
        assert!(
            e.message.starts_with("tag \"not/valid\" is not valid")
                && e.message.contains("[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}"),
            "{}",
            e.message
        );
        let e = resolve("Web:1", &r, None).unwrap_err();
        assert!(e.message.contains("\"Web:1\""), "{}", e.message);
        let acr = &r[0];
        assert!(check_repository("team/web", acr).is_ok());
        let e = check_repository("web:1", acr).unwrap_err();
        assert!(e.message.contains("not a repository"), "{}", e.message);
        let e = check_repository("127.0.0.1:16410/web", acr).unwrap_err();
        assert!(e.message.contains("--registry"), "{}", e.message);
        let e = resolve("web:1", &r, Some("nope")).unwrap_err();
        assert!(e.message.contains("acr, plain"), "{}", e.message);
    }

    #[test]
    fn clap_shapes() {
        #[derive(Parser)]
        struct Cli {
            #[command(subcommand)]
            cmd: Top,
        }
        #[derive(Subcommand)]
        enum Top {
            Registry(RegistryArgs),
            Retag(RetagArgs),
        }
        let c =
            Cli::try_parse_from(["berth", "retag", "web:1", "web:2", "--force", "--json"]).unwrap();
        match c.cmd {
            Top::Retag(a) => assert!(a.force && a.json && a.source == "web:1"),
            _ => panic!(),
        }
        let c = Cli::try_parse_from(["berth", "registry", "tags", "web", "--details"]).unwrap();
        match c.cmd {
            Top::Registry(RegistryArgs {
                command: RegistryCommand::Tags { repo, details, .. },
            }) => assert!(repo == "web" && details),
            _ => panic!(),
        }
    }

    #[test]
    fn exit_codes_and_sorting() {
        let e = RegistryError::TargetExists {
            registry: "a".into(),
            object: "w:1".into(),
            digest: "d".into(),
        };
        assert_eq!(exit_code(&e), 5);
        let f = CliFailure::from(e);
        assert!(!f.message.contains('\n'));
        let t = |n: &str, s: Option<i64>| TagRow {
            name: n.into(),
            updated: s.map(|s| jiff::Timestamp::from_second(s).unwrap()),
            ..TagRow::default()
        };
        let mut rows = vec![t("a", Some(1)), t("z", None), t("b", Some(5))];
        sort_newest_first(&mut rows);
        let names: Vec<&str> = rows.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["b", "a", "z"]);
        assert_eq!(
            short_digest("sha256:0123456789abcdef"),
            "sha256:0123456789ab"
        );
    }
}
