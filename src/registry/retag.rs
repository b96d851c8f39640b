//! Retag and promote without moving layers where the registry allows it:
//! - same repository: GET manifest → PUT the same bytes under the new tag;
//! - another repository of the same registry: mount every blob (and copy index children by
//!   digest), then PUT;
//! - another registry: ACR `importImage` over ARM when the target has ARM configured, else a
//!   streamed blob copy.
//!
//! An existing target tag is never overwritten without `force`; the outcome shows the old and
//! new digest; every attempt is audited; nothing is written when a check fails.

use futures::stream::{self, StreamExt, TryStreamExt};
use serde::Serialize;

use super::client::{RegistryClient, repo_scope};
use super::connect::Registry;
use super::error::RegistryError;
use super::manifest::{Descriptor, Manifest};
use super::ops::MountOutcome;
use crate::audit::{self, AuditLog, AuditedError, Gate, Outcome, Subject};
use crate::azure::arm::{ArmClient, ImportSource};
use crate::reference::{Reference, same_host};

/// How the image got there.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RetagMethod {
    /// The target already pointed at the source digest: nothing written.
    AlreadyTagged,
    SameRepository,
    Mount,
    Import,
    Copy,
}

/// The result of a retag / promote.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RetagOutcome {
    pub source: String,
    pub target: String,
    pub method: RetagMethod,
    /// What the target tag pointed at before (`None`: it did not exist).
    pub old_digest: Option<String>,
    /// What it points at now (= the source digest).
    pub new_digest: String,
    pub media_type: String,
    pub blobs_mounted: usize,
    pub blobs_copied: usize,
    /// Blob bytes that travelled through berth (0 for same-registry retags).
    pub bytes_copied: u64,
    /// Child manifests of an index written by digest.
    pub manifests_copied: usize,
}

/// Options of a retag.
#[derive(Clone, Copy, Debug, Default)]
pub struct RetagOptions {
    /// Overwrite an existing target tag.
    pub force: bool,
}

fn target_tag(target: &Reference) -> Result<&str, RegistryError> {
    target.tag().filter(|_| target.digest().is_none()).ok_or_else(|| {
        RegistryError::Config {
            registry: target.registry().to_owned(),
            message: format!(
                "the target {target} must be a tag (like repo:1.2.3) without a digest: a retag writes a tag"
            ),
        }
    })
}

fn wrong_registry(client: &RegistryClient, r: &Reference, role: &str) -> RegistryError {
    RegistryError::Config {
        registry: client.name().to_owned(),
        message: format!(
            "the {role} {r} is not on this registry ({}): pick the registry that serves it",
            client.host()
        ),
    }
}

/// Retags or promotes `source` (on `src`) to `target` (on `dst`), choosing the cheapest way,
/// and audits the attempt to `audit`.
pub async fn retag(
    src: &Registry,
    source: &Reference,
    dst: &Registry,
    target: &Reference,
    options: RetagOptions,
    audit: &AuditLog,
) -> Result<RetagOutcome, RegistryError> {
    let actor = dst.client.actor();
    let target_name = format!("{}/{}", dst.client.name(), target.familiar());
    let subject = Subject::new(&actor, "retag", &target_name, false);
    audit::audited(audit, subject, |gate| {
        retag_inner(src, source, dst, target, options, gate)
    })
    .await
}

impl AuditedError for RegistryError {
    fn audit_outcome(&self) -> Outcome {
        match self {
            RegistryError::TargetExists { .. } | RegistryError::TagLocked { .. } => {
                Outcome::Refused(self.to_string())
            }
            _ => Outcome::Failed(self.to_string()),
        }
    }
}

async fn retag_inner(
    src: &Registry,
    source: &Reference,
    dst: &Registry,
    target: &Reference,
    options: RetagOptions,
    gate: Gate,
) -> Result<RetagOutcome, RegistryError> {
    let gate = &gate;
    let tag = target_tag(target)?;
    if !same_host(src.client.host(), source.api_host())
        && !same_host(src.client.host(), source.registry())
    {
        return Err(wrong_registry(&src.client, source, "source"));
    }
    if !same_host(dst.client.host(), target.api_host())
        && !same_host(dst.client.host(), target.registry())
    {
        return Err(wrong_registry(&dst.client, target, "target"));
    }
    if same_host(src.client.host(), dst.client.host()) {
        if source.repository() == target.repository() {
            same_repository(&dst.client, source, tag, options, gate).await
        } else {
            mount(&dst.client, source, target.repository(), tag, options, gate).await
        }
    } else if let (Some(arm), Some(id)) = (&dst.arm, dst.arm_registry_id())
        && let Some(import_source) = import_source(src, source)
    {
        import(
            &src.client,
            source,
            &dst.client,
            arm,
            &id,
            import_source,
            target,
            tag,
            options,
            gate,
        )
        .await
    } else {
        copy(
            &src.client,
            source,
            &dst.client,
            target.repository(),
            tag,
            options,
            gate,
        )
        .await
    }
}

/// Refuses to move an existing tag that ACR has locked (`writeEnabled: false`), before any
/// write and naming the lock; a new tag, or one already at `new`, needs no read. (`--force` does
/// not lift a lock: ACR would refuse the manifest PUT, and an ARM import would move the tag
/// behind its lock.)
async fn check_lock(
    client: &RegistryClient,
    repo: &str,
    tag: &str,
    old: Option<&str>,
    new: &str,
) -> Result<(), RegistryError> {
    match old {
        Some(d) if d != new => match client.tag_attributes(repo, tag).await {
            Ok(attributes) => super::locks::check_writable(client, repo, tag, attributes.as_ref()),
            // An identity that may push but not read metadata: ACR still refuses the PUT onto
            // a locked tag, and that answer is read as the lock (REGISTRY_DISALLOWED_OPERATION).
            Err(e @ (RegistryError::Forbidden { .. } | RegistryError::Unauthorized { .. })) => {
                tracing::warn!("cannot read the lock of {repo}:{tag} before the retag: {e}");
                Ok(())
            }
            Err(e) => Err(e),
        },
        _ => Ok(()),
    }
}

/// Refuses to overwrite; `Ok(true)` when the target already has the digest (nothing to do).
fn check_target(
    client: &RegistryClient,
    repo: &str,
    tag: &str,
    old: Option<&str>,
    new: &str,
    options: RetagOptions,
) -> Result<bool, RegistryError> {
    match old {
        Some(d) if d == new => Ok(true),
        Some(d) if !options.force => Err(RegistryError::TargetExists {
            registry: client.name().to_owned(),
            object: format!("{repo}:{tag}"),
            digest: d.to_owned(),
        }),
        _ => Ok(false),
    }
}

fn outcome(
    source: &Reference,
    client: &RegistryClient,
    repo: &str,
    tag: &str,
    method: RetagMethod,
    old: Option<String>,
    m: &Manifest,
) -> RetagOutcome {
    RetagOutcome {
        source: source.to_string(),
        target: format!("{}/{repo}:{tag}", client.host()),
        method,
        old_digest: old,
        new_digest: m.digest.clone(),
        media_type: m.media_type.clone(),
        blobs_mounted: 0,
        blobs_copied: 0,
        bytes_copied: 0,
        manifests_copied: 0,
    }
}

/// The source manifest and the target's current digest, fetched concurrently where that
/// costs no extra connection.
async fn source_and_target(
    src: &RegistryClient,
    source: &Reference,
    src_scopes: Vec<String>,
    dst: &RegistryClient,
    repo: &str,
    tag: &str,
    dst_scopes: Vec<String>,
) -> Result<(Manifest, Option<String>), RegistryError> {
    let get = src.get_manifest_scoped(source.repository(), source.manifest_ref(), src_scopes);
    let head = dst.head_manifest(repo, tag, dst_scopes);
    let (m, h) = if src.is(dst) && !dst.multiplexes() {
        // One HTTP/1.1 connection to the host: the HEAD waits for it rather than paying a
        // second connection's handshakes (and, measured on the local environment, ~50 ms).
        let m = get.await?;
        (Ok(m), head.await)
    } else {
        tokio::join!(get, head)
    };
    let m = m?;
    let old = match h? {
        Some(h) => Some(match h.digest {
            Some(d) => d,
            // No digest header on HEAD: ask for the bytes.
            None => dst.get_manifest(repo, tag).await?.digest,
        }),
        None => None,
    };
    Ok((m, old))
}

/// What a retag has to do once source and target are read. Lives for one call: the size
/// difference of the variants costs nothing.
#[allow(clippy::large_enum_variant)]
enum Plan {
    /// The target already points at the source's digest: nothing to write.
    Done(RetagOutcome),
    /// Write `m` (the source manifest) over `old` (the target's digest, if the tag exists).
    Write { m: Manifest, old: Option<String> },
}

/// Reads source and target concurrently and applies the overwrite rule; before a write the
/// intent record goes to the audit log (`gate`).
#[allow(clippy::too_many_arguments)]
async fn plan(
    src: &RegistryClient,
    source: &Reference,
    src_scopes: &[String],
    dst: &RegistryClient,
    repo: &str,
    tag: &str,
    dst_scopes: &[String],
    options: RetagOptions,
    gate: &Gate,
) -> Result<Plan, RegistryError> {
    let (m, old) = source_and_target(
        src,
        source,
        src_scopes.to_vec(),
        dst,
        repo,
        tag,
        dst_scopes.to_vec(),
    )
    .await?;
    gate.plan(old.clone(), Some(m.digest.clone()));
    check_lock(dst, repo, tag, old.as_deref(), &m.digest).await?;
    if check_target(dst, repo, tag, old.as_deref(), &m.digest, options)? {
        let done = outcome(source, dst, repo, tag, RetagMethod::AlreadyTagged, old, &m);
        return Ok(Plan::Done(done));
    }
    gate.open()?;
    Ok(Plan::Write { m, old })
}

/// The image manifests an index points at (none for an image manifest).
async fn children(
    src: &RegistryClient,
    source: &Reference,
    m: &Manifest,
    scopes: &[String],
) -> Result<Vec<Manifest>, RegistryError> {
    let mut images = Vec::new();
    for child in m.children() {
        let cm = src
            .get_manifest_scoped(source.repository(), &child.digest, scopes.to_vec())
            .await?;
        if cm.is_index() {
            return Err(nested_index(src, source));
        }
        images.push(cm);
    }
    Ok(images)
}

/// Same repository: 3 requests after the token (GET source, HEAD target, PUT; the first two
/// concurrently over HTTP/2).
async fn same_repository(
    client: &RegistryClient,
    source: &Reference,
    tag: &str,
    options: RetagOptions,
    gate: &Gate,
) -> Result<RetagOutcome, RegistryError> {
    let repo = source.repository();
    let scopes = vec![repo_scope(repo, "pull,push")];
    client.prepare(&scopes, repo).await?;
    let planned = plan(
        client, source, &scopes, client, repo, tag, &scopes, options, gate,
    );
    let (m, old) = match planned.await? {
        Plan::Done(done) => return Ok(done),
        Plan::Write { m, old } => (m, old),
    };
    client.put_manifest(repo, tag, &m, scopes).await?;
    Ok(outcome(
        source,
        client,
        repo,
        tag,
        RetagMethod::SameRepository,
        old,
        &m,
    ))
}

/// Another repository of the same registry: mount blobs, copy children, PUT.
async fn mount(
    client: &RegistryClient,
    source: &Reference,
    repo: &str,
    tag: &str,
    options: RetagOptions,
    gate: &Gate,
) -> Result<RetagOutcome, RegistryError> {
    let from = source.repository();
    let scopes = vec![repo_scope(repo, "pull,push"), repo_scope(from, "pull")];
    client.prepare(&scopes, repo).await?;
    let planned = plan(
        client, source, &scopes, client, repo, tag, &scopes, options, gate,
    );
    let (m, old) = match planned.await? {
        Plan::Done(done) => return Ok(done),
        Plan::Write { m, old } => (m, old),
    };
    let mut out = outcome(source, client, repo, tag, RetagMethod::Mount, old, &m);
    let images = children(client, source, &m, &scopes).await?;
    for image in images
        .iter()
        .chain(std::iter::once(&m).filter(|m| !m.is_index()))
    {
        let (mounted, copied, bytes) =
            mount_blobs(client, from, repo, image.blobs(), &scopes).await?;
        out.blobs_mounted += mounted;
        out.blobs_copied += copied;
        out.bytes_copied += bytes;
    }
    for cm in &images {
        client
            .put_manifest(repo, &cm.digest, cm, scopes.clone())
            .await?;
        out.manifests_copied += 1;
    }
    client.put_manifest(repo, tag, &m, scopes).await?;
    Ok(out)
}

fn nested_index(client: &RegistryClient, source: &Reference) -> RegistryError {
    RegistryError::Unsupported {
        registry: client.name().to_owned(),
        object: source.to_string(),
        message: "an index whose children are indexes is not supported".into(),
    }
}

/// Mounts blobs with bounded concurrency; a blob the registry will not mount is streamed
/// through the upload session it opened. Returns (mounted, copied, bytes copied).
async fn mount_blobs(
    client: &RegistryClient,
    from: &str,
    repo: &str,
    blobs: Vec<&Descriptor>,
    scopes: &[String],
) -> Result<(usize, usize, u64), RegistryError> {
    let limit = client.config().concurrency.max(1);
    let results: Vec<(bool, u64)> = stream::iter(blobs.into_iter().cloned())
        .map(|blob| async move {
            match client
                .mount_blob(repo, &blob.digest, from, scopes.to_vec())
                .await?
            {
                MountOutcome::Mounted => Ok((true, 0)),
                MountOutcome::UploadNeeded { location } => {
                    let body = client.get_blob(from, &blob.digest, scopes.to_vec()).await?;
                    client
                        .upload_blob_from(
                            repo,
                            &blob.digest,
                            blob.size,
                            body,
                            scopes.to_vec(),
                            Some(location),
                        )
                        .await?;
                    client.count_blob_down(blob.size);
                    Ok::<_, RegistryError>((false, blob.size))
                }
            }
        })
        .buffer_unordered(limit)
        .try_collect()
        .await?;
    let mounted = results.iter().filter(|(m, _)| *m).count();
    let bytes = results.iter().map(|(_, b)| b).sum();
    Ok((mounted, results.len() - mounted, bytes))
}

/// Another registry: stream each missing blob from source to target, then children, then tag.
async fn copy(
    src: &RegistryClient,
    source: &Reference,
    dst: &RegistryClient,
    repo: &str,
    tag: &str,
    options: RetagOptions,
    gate: &Gate,
) -> Result<RetagOutcome, RegistryError> {
    let from = source.repository();
    let src_scopes = vec![repo_scope(from, "pull")];
    let dst_scopes = vec![repo_scope(repo, "pull,push")];
    src.prepare(&src_scopes, from).await?;
    dst.prepare(&dst_scopes, repo).await?;
    let (m, old) = match plan(
        src,
        source,
        &src_scopes,
        dst,
        repo,
        tag,
        &dst_scopes,
        options,
        gate,
    )
    .await?
    {
        Plan::Done(done) => return Ok(done),
        Plan::Write { m, old } => (m, old),
    };
    let mut out = outcome(source, dst, repo, tag, RetagMethod::Copy, old, &m);
    let images = children(src, source, &m, &src_scopes).await?;
    let limit = dst.config().concurrency.max(1);
    let mut blobs: Vec<Descriptor> = Vec::new();
    for image in images
        .iter()
        .chain(std::iter::once(&m).filter(|m| !m.is_index()))
    {
        for b in image.blobs() {
            if !blobs.iter().any(|x| x.digest == b.digest) {
                blobs.push(b.clone());
            }
        }
    }
    let results: Vec<Option<u64>> = stream::iter(blobs)
        .map(|blob| {
            let (src_scopes, dst_scopes) = (src_scopes.clone(), dst_scopes.clone());
            async move {
                if dst
                    .blob_exists(repo, &blob.digest, dst_scopes.clone())
                    .await?
                {
                    return Ok::<_, RegistryError>(None);
                }
                let body = src.get_blob(from, &blob.digest, src_scopes).await?;
                dst.upload_blob_from(repo, &blob.digest, blob.size, body, dst_scopes, None)
                    .await?;
                src.count_blob_down(blob.size);
                Ok(Some(blob.size))
            }
        })
        .buffer_unordered(limit)
        .try_collect()
        .await?;
    out.blobs_copied = results.iter().flatten().count();
    out.bytes_copied = results.iter().flatten().sum();
    for cm in &images {
        dst.put_manifest(repo, &cm.digest, cm, dst_scopes.clone())
            .await?;
        out.manifests_copied += 1;
    }
    dst.put_manifest(repo, tag, &m, dst_scopes).await?;
    Ok(out)
}

/// The importImage source for `src`, when its credential can be handed to ARM.
fn import_source(src: &Registry, source: &Reference) -> Option<ImportSource> {
    use super::credential::Credential;
    let credentials = match &src.client.config().credential {
        Credential::Anonymous => None,
        Credential::Basic { username, password } => Some((username.clone(), password.clone())),
        // A token credential cannot be handed over; the streamed copy is used instead.
        _ => return None,
    };
    let image = match (source.tag(), source.digest()) {
        (_, Some(d)) => format!("{}@{d}", source.repository()),
        (t, None) => format!("{}:{}", source.repository(), t.unwrap_or("latest")),
    };
    Some(ImportSource {
        registry_uri: Some(src.client.host().to_owned()),
        resource_id: None,
        credentials,
        source_image: image,
    })
}

#[allow(clippy::too_many_arguments)]
async fn import(
    src: &RegistryClient,
    source: &Reference,
    dst: &RegistryClient,
    arm: &ArmClient,
    registry_id: &str,
    import_source: ImportSource,
    target: &Reference,
    tag: &str,
    options: RetagOptions,
    gate: &Gate,
) -> Result<RetagOutcome, RegistryError> {
    let repo = target.repository();
    let src_scopes = vec![repo_scope(source.repository(), "pull")];
    let dst_scopes = vec![repo_scope(repo, "pull")];
    let (m, old) =
        source_and_target(src, source, src_scopes, dst, repo, tag, dst_scopes.clone()).await?;
    gate.plan(old.clone(), Some(m.digest.clone()));
    check_lock(dst, repo, tag, old.as_deref(), &m.digest).await?;
    if check_target(dst, repo, tag, old.as_deref(), &m.digest, options)? {
        return Ok(outcome(
            source,
            dst,
            repo,
            tag,
            RetagMethod::AlreadyTagged,
            old,
            &m,
        ));
    }
    // Import by digest so a tag moving meanwhile cannot change what lands.
    let import_source = ImportSource {
        source_image: format!("{}@{}", source.repository(), m.digest),
        ..import_source
    };
    gate.open()?;
    arm.import_image(
        registry_id,
        &import_source,
        &[format!("{repo}:{tag}")],
        options.force,
    )
    .await
    .map_err(|e| match e.code() {
        Some("Conflict") => RegistryError::TargetExists {
            registry: dst.name().to_owned(),
            object: format!("{repo}:{tag}"),
            digest: old.clone().unwrap_or_else(|| "(created meanwhile)".into()),
        },
        _ => RegistryError::Arm {
            operation: "importImage".into(),
            message: e.to_string(),
        },
    })?;
    let now = dst.head_manifest(repo, tag, dst_scopes).await?;
    let new = now.and_then(|h| h.digest).unwrap_or_default();
    if new != m.digest {
        return Err(RegistryError::DigestMismatch {
            registry: dst.name().to_owned(),
            object: format!("{repo}:{tag} after import"),
            expected: m.digest.clone(),
            actual: new,
        });
    }
    Ok(outcome(
        source,
        dst,
        repo,
        tag,
        RetagMethod::Import,
        old,
        &m,
    ))
}
