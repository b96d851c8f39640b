//! Pull-secret rotation across namespaces.
//!
//! Order, each step only if the previous succeeded:
//! 1. permission checks in every namespace (SelfSubjectAccessReview) and a read of every existing
//!    secret (a secret of another type refuses the rotation) — before any credential is minted;
//!    then every existing secret is claimed ([`CLAIM_ANNOTATION`], a write with the read
//!    resourceVersion): a second rotation of the same secret meets the claim and stops with
//!    [`RotateError::Busy`] before it mints credentials that would invalidate the first's.
//!    Then, unless a dry run, the intent record of every namespace goes to the audit log: if
//!    the log cannot take them, nothing is minted or written;
//! 2. fresh credentials from the [`CredentialSource`] (for slot sources: the slot not in use);
//! 3. verification of those credentials against the registry — if it fails nothing is written;
//! 4. create-or-update of the secret in each namespace with bounded concurrency, each write a
//!    whole secret carrying the read `resourceVersion` (a conflict is re-read and retried), so a
//!    namespace holds either its old or its new secret, never a mix;
//! 5. optional: attach to a service account; restart deployments whose pods fail to pull from
//!    that registry;
//! 6. only when every namespace was written: invalidate the old slot (if asked; its own intent
//!    record first). Otherwise the old credentials keep working for the namespaces that were not
//!    updated.
//!
//! Each namespace's result record follows with its intent's id; a change whose result record
//! cannot be written ends the rotation with [`AuditFailure::NotAudited`] ("applied, but not
//! audited").

use std::collections::{BTreeMap, BTreeSet};

use futures::StreamExt;
use k8s_openapi::api::apps::v1::ReplicaSet;
use k8s_openapi::api::core::v1::{LocalObjectReference, Pod, Secret as KubeSecret, ServiceAccount};
use kube::api::{ListParams, Patch, PatchParams, PostParams};
use kube::{Api, Client};
use serde::Serialize;

use crate::audit::{self, AuditFailure, AuditLog, AuditRecord, Intent, Outcome, Subject};
use crate::secret::Secret;

use super::actions::{self, ActionContext, ActionError, Permission};
use super::pull_secret::{
    DOCKERCFG_TYPE, DOCKERCONFIGJSON_TYPE, DockerConfig, RegistryAuth, docker_registry_secret,
    normalize_registry_host,
};
use super::rollout::IMAGE_PULL_FAILURES;

/// Fresh registry credentials from a source.
#[derive(Clone, Debug)]
pub struct FreshCredentials {
    pub username: String,
    pub password: Secret,
    /// The slot the password lives in (`password`/`password2`, `password1`/`password2`), if any.
    pub slot: Option<String>,
    pub expiry: Option<jiff::Timestamp>,
}

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct SourceError(pub String);

/// Where rotated credentials come from: ACR admin user, ACR scope-map token, a static pair,
/// an Entra refresh token... (see `acr_source.rs` for the ACR ones).
#[async_trait::async_trait]
pub trait CredentialSource: Send + Sync {
    /// For reports and the audit log, e.g. "ACR admin user of berthacr". Never a secret.
    fn describe(&self) -> String;
    /// The registry host the credentials are for (the key written into the secret).
    fn registry_host(&self) -> String;
    /// A warning to show before rotating (e.g. "Entra refresh tokens last ~3 h").
    fn warning(&self) -> Option<String> {
        None
    }
    /// Mints fresh credentials. `in_use` holds the passwords the namespaces' secrets hold now,
    /// so a slot source can regenerate the slot *not* in use.
    async fn fresh_credentials(&self, in_use: &[Secret]) -> Result<FreshCredentials, SourceError>;
    /// Proves the credentials work against the registry (e.g. a token for a pull scope).
    async fn verify(&self, creds: &FreshCredentials) -> Result<(), SourceError>;
    /// Invalidates the slot that was in use before `fresh` (regenerates it). Returns the slot.
    async fn invalidate_old_slot(
        &self,
        fresh: &FreshCredentials,
    ) -> Result<Option<String>, SourceError>;
}

#[derive(Clone, Debug)]
pub struct RotationRequest {
    pub secret_name: String,
    pub namespaces: Vec<String>,
    /// Parallel namespace writes (≥ 1).
    pub concurrency: usize,
    pub dry_run: bool,
    /// Restart deployments whose pods are in ImagePullBackOff/ErrImagePull for this registry.
    pub restart_failing: bool,
    /// Add the secret to this service account's `imagePullSecrets` in every namespace.
    pub attach_service_account: Option<String>,
    /// After every namespace is written, regenerate the slot that was in use before.
    pub invalidate_old_slot: bool,
}

impl RotationRequest {
    pub fn new(secret_name: &str, namespaces: Vec<String>) -> Self {
        Self {
            secret_name: secret_name.to_owned(),
            namespaces,
            concurrency: 8,
            dry_run: false,
            restart_failing: false,
            attach_service_account: None,
            invalidate_old_slot: false,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum WriteOutcome {
    Created,
    Updated,
    /// Server-side dry run only.
    DryRun,
    Failed,
}

#[derive(Clone, Debug, Serialize)]
pub struct NamespaceReport {
    pub namespace: String,
    pub secret: WriteOutcome,
    /// Why the write failed, or a note (e.g. "the old secret was malformed; replaced").
    pub message: Option<String>,
    /// Service account attach: `Some(true)` added, `Some(false)` already there.
    pub attached: Option<bool>,
    /// Deployments restarted because their pods failed to pull from the registry.
    pub restarted: Vec<String>,
    /// Errors of the follow-up steps (attach / restart) — the secret itself may be fine.
    pub follow_up_errors: Vec<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct RotationReport {
    pub source: String,
    pub registry: String,
    pub secret_name: String,
    pub username: Option<String>,
    pub slot: Option<String>,
    pub expiry: Option<String>,
    pub dry_run: bool,
    pub verified: bool,
    pub namespaces: Vec<NamespaceReport>,
    /// The slot regenerated after a complete rotation, if asked for.
    pub invalidated_slot: Option<String>,
    /// Why the old slot was left valid, when it was asked for but not done.
    pub invalidate_skipped: Option<String>,
    pub warning: Option<String>,
}

impl RotationReport {
    /// Every namespace written (or dry-run) and every follow-up done.
    pub fn all_ok(&self) -> bool {
        self.namespaces
            .iter()
            .all(|n| n.secret != WriteOutcome::Failed && n.follow_up_errors.is_empty())
            && self.invalidate_skipped.is_none()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RotateError {
    #[error("{0}")]
    Refused(ActionError),
    #[error("rotation refused before anything was changed: {}", .problems.join("; "))]
    Preflight { problems: Vec<String> },
    #[error("could not obtain fresh credentials from {source_name}: {error}; nothing was changed")]
    Obtain {
        source_name: String,
        error: SourceError,
    },
    #[error(
        "the fresh credentials from {source_name} failed verification against {registry}: {error}; no secret was written (the credentials in use are untouched)"
    )]
    Verification {
        source_name: String,
        registry: String,
        error: SourceError,
    },
    #[error("no namespaces given: pass --namespace (repeatable) or --all-namespaces")]
    NoNamespaces,
    /// Another rotation holds the secret: it would mint credentials that this one's would
    /// invalidate (or the other way round). Nothing was minted or written.
    #[error(
        "secret {namespace}/{secret} is being rotated by {by} (until {until}); nothing was changed: \
         wait for it to finish (the claim expires by itself if that process died), then check the \
         secret and rotate again if needed"
    )]
    Busy {
        namespace: String,
        secret: String,
        by: String,
        until: String,
    },
    #[error(transparent)]
    Audit(#[from] AuditFailure),
}

impl RotateError {
    pub fn code(&self) -> &'static str {
        match self {
            RotateError::Refused(_) => "forbidden",
            RotateError::Preflight { .. } => "preflight",
            RotateError::Obtain { .. } => "obtain_failed",
            RotateError::Verification { .. } => "verification_failed",
            RotateError::NoNamespaces => "invalid",
            RotateError::Busy { .. } => "conflict",
            RotateError::Audit(f) => f.code(),
        }
    }
}

/// What the namespace holds before the rotation.
enum Existing {
    Absent,
    Present(Option<DockerConfig>),
}

fn secrets(client: &Client, ns: &str) -> Api<KubeSecret> {
    Api::namespaced(client.clone(), ns)
}

fn api_error(e: &kube::Error) -> Option<u16> {
    match e {
        kube::Error::Api(s) => Some(s.code),
        _ => None,
    }
}

/// The annotation a rotation puts on an existing secret before it mints credentials, and takes
/// off with its write: two rotations of one secret at once would each mint credentials (an
/// admin slot, a token password) that the other's minting invalidates, so the second waits.
pub const CLAIM_ANNOTATION: &str = "berth.dev/rotation-claim";
/// A claim older than this is a dead process's: it is taken over.
const CLAIM_TTL: jiff::SignedDuration = jiff::SignedDuration::from_mins(10);

#[derive(Clone, Debug, serde::Deserialize, Serialize)]
struct Claim {
    id: String,
    by: String,
    until: jiff::Timestamp,
}

fn claim_of(s: &KubeSecret) -> Option<Claim> {
    let v = s.metadata.annotations.as_ref()?.get(CLAIM_ANNOTATION)?;
    serde_json::from_str(v).ok()
}

/// Another live rotation's claim on `s`, if any.
fn held_by_other(s: &KubeSecret, ours: &str) -> Option<Claim> {
    claim_of(s).filter(|c| c.id != ours && c.until > jiff::Timestamp::now())
}

/// Claims the existing secret of `ns` for rotation `id` (a write with the read
/// resourceVersion: of two claims at once, one gets the conflict).
async fn claim(
    client: &Client,
    ns: &str,
    name: &str,
    id: &str,
    actor: &str,
) -> Result<(), RotateError> {
    let api = secrets(client, ns);
    let busy = |c: Claim| RotateError::Busy {
        namespace: ns.to_owned(),
        secret: name.to_owned(),
        by: c.by,
        until: c.until.to_string(),
    };
    let Ok(Some(mut cur)) = api.get_opt(name).await else {
        // Absent (created by the write) or unreadable (preflight said so already).
        return Ok(());
    };
    if let Some(c) = held_by_other(&cur, id) {
        return Err(busy(c));
    }
    let claim = Claim {
        id: id.to_owned(),
        by: actor.to_owned(),
        until: jiff::Timestamp::now()
            .checked_add(CLAIM_TTL)
            .unwrap_or(jiff::Timestamp::MAX),
    };
    cur.metadata
        .annotations
        .get_or_insert_with(Default::default)
        .insert(
            CLAIM_ANNOTATION.to_owned(),
            serde_json::to_string(&claim).unwrap_or_default(),
        );
    cur.metadata.managed_fields = None;
    match api.replace(name, &PostParams::default(), &cur).await {
        Ok(_) => Ok(()),
        Err(e) if api_error(&e) == Some(409) => {
            let other = api.get_opt(name).await.ok().flatten();
            Err(busy(other.and_then(|s| claim_of(&s)).unwrap_or(Claim {
                id: String::new(),
                by: "another writer".to_owned(),
                until: claim.until,
            })))
        }
        // Not claimable (e.g. RBAC): the write itself will say so.
        Err(_) => Ok(()),
    }
}

/// Takes rotation `id`'s claim off the secrets it holds (a rotation that stops early).
async fn release(client: &Client, namespaces: &[String], name: &str, id: &str) {
    for ns in namespaces {
        let api = secrets(client, ns);
        let Ok(Some(mut cur)) = api.get_opt(name).await else {
            continue;
        };
        if claim_of(&cur).is_none_or(|c| c.id != id) {
            continue;
        }
        if let Some(a) = cur.metadata.annotations.as_mut() {
            a.remove(CLAIM_ANNOTATION);
        }
        cur.metadata.managed_fields = None;
        if let Err(e) = api.replace(name, &PostParams::default(), &cur).await {
            tracing::warn!("could not take the rotation claim off {ns}/{name}: {e}");
        }
    }
}

async fn read_existing(client: &Client, ns: &str, name: &str) -> Result<Existing, String> {
    match secrets(client, ns).get_opt(name).await {
        Ok(None) => Ok(Existing::Absent),
        Ok(Some(s)) => {
            let t = s.type_.as_deref().unwrap_or("Opaque");
            if t != DOCKERCONFIGJSON_TYPE && t != DOCKERCFG_TYPE {
                return Err(format!(
                    "secret {ns}/{name} exists with type {t:?}, not a pull secret (use another --secret name, or delete it)"
                ));
            }
            if t == DOCKERCFG_TYPE {
                return Err(format!(
                    "secret {ns}/{name} has the legacy type {DOCKERCFG_TYPE}; a secret's type cannot change: delete it (berth writes {DOCKERCONFIGJSON_TYPE})"
                ));
            }
            Ok(Existing::Present(DockerConfig::from_secret(&s).ok()))
        }
        Err(e) => Err(format!("cannot read secret {ns}/{name}: {e}")),
    }
}

fn permissions(req: &RotationRequest, ns: &str) -> Vec<Permission> {
    let mut p = vec![
        Permission::new("get", "", "secrets", ns).named(&req.secret_name),
        Permission::new("create", "", "secrets", ns),
        Permission::new("update", "", "secrets", ns).named(&req.secret_name),
    ];
    if let Some(sa) = &req.attach_service_account {
        p.push(Permission::new("get", "", "serviceaccounts", ns).named(sa));
        p.push(Permission::new("patch", "", "serviceaccounts", ns).named(sa));
    }
    if req.restart_failing {
        p.push(Permission::new("list", "", "pods", ns));
        p.push(Permission::new("get", "apps", "replicasets", ns));
        p.push(Permission::new("patch", "apps", "deployments", ns));
    }
    p
}

/// Rotates the pull secret `req.secret_name` for `source`'s registry in every namespace.
pub async fn rotate(
    client: &Client,
    actor: &str,
    audit: &AuditLog,
    source: &dyn CredentialSource,
    req: &RotationRequest,
) -> Result<RotationReport, RotateError> {
    let registry = source.registry_host();
    let target = |ns: &str| format!("{ns}/{}", req.secret_name);
    let intent_new = || Some(format!("{registry} via {}", source.describe()));
    // One record per namespace for a rotation that stops before any write (refused, preflight,
    // a dry run); an unwritable log is logged then (the rotation's own error is the message).
    let record_all = |outcome: Outcome| -> Result<(), AuditFailure> {
        for ns in &req.namespaces {
            audit
                .append(
                    &AuditRecord::new(actor, "secret.rotate", &target(ns))
                        .change(None, intent_new())
                        .outcome(outcome.clone()),
                )
                .map_err(|source| AuditFailure::NothingChanged { source })?;
        }
        Ok(())
    };
    let audit_all = |outcome: Outcome| {
        if let Err(e) = record_all(outcome) {
            tracing::error!("the rotation's audit records could not be written: {e}");
        }
    };
    let namespaces: Vec<String> = req
        .namespaces
        .iter()
        .cloned()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    if namespaces.is_empty() {
        return Err(RotateError::NoNamespaces);
    }
    let concurrency = req.concurrency.max(1);

    // 1. Permissions and existing secrets, all namespaces, before minting anything.
    let perms: Vec<Permission> = namespaces
        .iter()
        .flat_map(|ns| permissions(req, ns))
        .collect();
    let checks: Vec<Result<(), ActionError>> = futures::stream::iter(perms)
        .map(
            |p| async move { actions::check_access(client, actor, std::slice::from_ref(&p)).await },
        )
        .buffer_unordered(concurrency * 2)
        .collect()
        .await;
    if let Some(e) = checks.into_iter().find_map(Result::err) {
        audit_all(Outcome::Refused(e.to_string()));
        return Err(RotateError::Refused(e));
    }
    let existing: Vec<(String, Result<Existing, String>)> =
        futures::stream::iter(namespaces.clone())
            .map(|ns| async move {
                let r = read_existing(client, &ns, &req.secret_name).await;
                (ns, r)
            })
            .buffer_unordered(concurrency)
            .collect()
            .await;
    let problems: Vec<String> = existing
        .iter()
        .filter_map(|(_, r)| r.as_ref().err().cloned())
        .collect();
    if !problems.is_empty() {
        let e = RotateError::Preflight { problems };
        audit_all(Outcome::Failed(e.to_string()));
        return Err(e);
    }
    let in_use: Vec<Secret> = existing
        .iter()
        .filter_map(|(_, r)| match r {
            Ok(Existing::Present(Some(c))) => {
                c.credentials_for(&registry).map(|a| a.password.clone())
            }
            _ => None,
        })
        .collect();

    // 1b. Claim every existing secret before minting: a second rotation of one of them stops
    // here with the conflict, before it mints anything.
    let claim_id = uuid::Uuid::new_v4().to_string();
    if !req.dry_run {
        for ns in &namespaces {
            if let Err(e) = claim(client, ns, &req.secret_name, &claim_id, actor).await {
                release(client, &namespaces, &req.secret_name, &claim_id).await;
                audit_all(Outcome::Refused(e.to_string()));
                return Err(e);
            }
        }
    }

    // Before the first write (minting is one, at the registry): every namespace's intent
    // record. If the log cannot take them all, nothing is minted or written.
    let mut intents: BTreeMap<String, Intent> = BTreeMap::new();
    if !req.dry_run {
        for ns in &namespaces {
            let record =
                AuditRecord::new(actor, "secret.rotate", &target(ns)).change(None, intent_new());
            match audit.intent(record) {
                Ok(i) => {
                    intents.insert(ns.clone(), i);
                }
                Err(e) => {
                    let why = format!("not started: {e}");
                    for (_, i) in std::mem::take(&mut intents) {
                        let _ = i.finish(Outcome::Failed(why.clone()));
                    }
                    release(client, &namespaces, &req.secret_name, &claim_id).await;
                    return Err(RotateError::Audit(e));
                }
            }
        }
    }
    let fail_all = |intents: &mut BTreeMap<String, Intent>, e: &RotateError| {
        for (_, i) in std::mem::take(intents) {
            let _ = i.finish(Outcome::Failed(e.to_string()));
        }
    };

    // 2 + 3. Fresh credentials, verified — skipped in a dry run (minting is itself a change).
    let fresh = if req.dry_run {
        None
    } else {
        let fresh = match source.fresh_credentials(&in_use).await {
            Ok(f) => f,
            Err(error) => {
                let e = RotateError::Obtain {
                    source_name: source.describe(),
                    error,
                };
                fail_all(&mut intents, &e);
                release(client, &namespaces, &req.secret_name, &claim_id).await;
                return Err(e);
            }
        };
        if let Err(error) = source.verify(&fresh).await {
            let e = RotateError::Verification {
                source_name: source.describe(),
                registry: registry.clone(),
                error,
            };
            fail_all(&mut intents, &e);
            release(client, &namespaces, &req.secret_name, &claim_id).await;
            return Err(e);
        }
        Some(fresh)
    };
    let auth = RegistryAuth {
        username: fresh
            .as_ref()
            .map_or_else(|| "dry-run".to_owned(), |f| f.username.clone()),
        password: fresh
            .as_ref()
            .map_or_else(|| Secret::new("dry-run"), |f| f.password.clone()),
        email: None,
    };

    // 4 + 5. Write each namespace, then its follow-ups.
    let ctx = ActionContext {
        client: client.clone(),
        actor: actor.to_owned(),
        audit: audit.clone(),
        dry_run: req.dry_run,
        // `--restart-failing` restarts pods that cannot pull: Helm, Argo CD and Flux leave the
        // restartedAt annotation alone, and the pods need the new secret now.
        owner_policy: super::actions::OwnerPolicy::Allow,
    };
    // Changes made whose result record could not be written.
    let not_audited: std::sync::Mutex<Vec<AuditFailure>> = std::sync::Mutex::default();
    let mut reports: Vec<NamespaceReport> = futures::stream::iter(namespaces.clone())
        .map(|ns| {
            let (auth, registry, ctx, not_audited, claim_id) =
                (&auth, &registry, &ctx, &not_audited, claim_id.as_str());
            async move {
                let mut rep = write_namespace(client, req, &ns, registry, auth, claim_id).await;
                if rep.secret != WriteOutcome::Failed {
                    follow_up(&ctx.clone(), req, &ns, registry, &mut rep, not_audited).await;
                }
                rep
            }
        })
        .buffer_unordered(concurrency)
        .collect()
        .await;
    reports.sort_by(|a, b| a.namespace.cmp(&b.namespace));

    let slot_note = fresh
        .as_ref()
        .map(|f| {
            format!(
                "{registry} user {} slot {} via {}",
                f.username,
                f.slot.as_deref().unwrap_or("-"),
                source.describe()
            )
        })
        .unwrap_or_else(|| format!("{registry} via {} (dry run)", source.describe()));
    let mut not_audited = match not_audited.into_inner() {
        Ok(v) => v,
        Err(p) => p.into_inner(),
    };
    for r in &reports {
        let outcome = match r.secret {
            WriteOutcome::DryRun => Outcome::DryRun,
            WriteOutcome::Failed => Outcome::Failed(r.message.clone().unwrap_or_default()),
            _ => Outcome::Ok,
        };
        let result = match intents.remove(&r.namespace) {
            Some(i) => i.finish_change(None, Some(slot_note.clone()), outcome),
            // A dry run: one record, and nothing was changed if it cannot be written.
            None => audit
                .append(
                    &AuditRecord::new(actor, "secret.rotate", &target(&r.namespace))
                        .change(None, Some(slot_note.clone()))
                        .outcome(outcome),
                )
                .map_err(|source| AuditFailure::NothingChanged { source }),
        };
        match result {
            Ok(()) => {}
            Err(e @ AuditFailure::NotAudited { .. }) => not_audited.push(e),
            Err(e) => return Err(RotateError::Audit(e)),
        }
    }

    // 6. Invalidate the old slot only after a complete rotation.
    let mut invalidated_slot = None;
    let mut invalidate_skipped = None;
    if req.invalidate_old_slot {
        let failed: Vec<&str> = reports
            .iter()
            .filter(|r| r.secret == WriteOutcome::Failed)
            .map(|r| r.namespace.as_str())
            .collect();
        if req.dry_run {
            invalidate_skipped = Some("dry run".to_owned());
        } else if !failed.is_empty() {
            invalidate_skipped = Some(format!(
                "not every namespace was updated (failed: {}); the old credentials stay valid so those namespaces keep pulling",
                failed.join(", ")
            ));
        } else if let Some(f) = &fresh {
            let record = AuditRecord::new(actor, "secret.invalidate-old-slot", &registry)
                .change(None, f.slot.clone());
            match audit.intent(record) {
                Err(e) => {
                    invalidate_skipped = Some(format!("the old slot was left valid: {e}"));
                }
                Ok(intent) => match source.invalidate_old_slot(f).await {
                    Ok(slot) => {
                        invalidated_slot = slot.clone();
                        if let Err(e) = intent.finish_change(slot, f.slot.clone(), Outcome::Ok) {
                            not_audited.push(e);
                        }
                    }
                    Err(e) => {
                        invalidate_skipped = Some(format!("invalidating the old slot failed: {e}"));
                        let _ = intent.finish(Outcome::Failed(e.to_string()));
                    }
                },
            }
        }
    }
    if let Some(e) = merge_not_audited(not_audited) {
        return Err(RotateError::Audit(e));
    }

    Ok(RotationReport {
        source: source.describe(),
        registry,
        secret_name: req.secret_name.clone(),
        username: fresh.as_ref().map(|f| f.username.clone()),
        slot: fresh.as_ref().and_then(|f| f.slot.clone()),
        expiry: fresh.as_ref().and_then(|f| f.expiry).map(|t| t.to_string()),
        dry_run: req.dry_run,
        verified: fresh.is_some(),
        namespaces: reports,
        invalidated_slot,
        invalidate_skipped,
        warning: source.warning(),
    })
}

/// One "applied, but not audited" for all the changes of a rotation that lack their result.
fn merge_not_audited(list: Vec<AuditFailure>) -> Option<AuditFailure> {
    let mut applied = Vec::new();
    let mut ids = Vec::new();
    let mut first = None;
    for f in list {
        if let AuditFailure::NotAudited {
            applied: a,
            id,
            source,
        } = f
        {
            applied.push(a);
            ids.push(id);
            first.get_or_insert(source);
        }
    }
    first.map(|source| AuditFailure::NotAudited {
        applied: applied.join("; "),
        id: ids.join(", "),
        source,
    })
}

const WRITE_ATTEMPTS: usize = 4;

/// Create-or-update of one namespace's secret: a whole-object write with the read
/// resourceVersion; on a conflict (someone else wrote meanwhile) read again and retry.
async fn write_namespace(
    client: &Client,
    req: &RotationRequest,
    ns: &str,
    registry: &str,
    auth: &RegistryAuth,
    claim_id: &str,
) -> NamespaceReport {
    let mut rep = NamespaceReport {
        namespace: ns.to_owned(),
        secret: WriteOutcome::Failed,
        message: None,
        attached: None,
        restarted: Vec::new(),
        follow_up_errors: Vec::new(),
    };
    let api = secrets(client, ns);
    let pp = PostParams {
        dry_run: req.dry_run,
        field_manager: Some("berth".to_owned()),
    };
    let name = &req.secret_name;
    let mut last_error = String::new();
    for _ in 0..WRITE_ATTEMPTS {
        let current = match api.get_opt(name).await {
            Ok(c) => c,
            Err(e) => {
                last_error = format!("cannot read secret {ns}/{name}: {e}");
                break;
            }
        };
        let result = match current {
            None => {
                let obj = docker_registry_secret(
                    ns,
                    name,
                    &DockerConfig::single(registry, &auth.username, auth.password.clone()),
                );
                api.create(&pp, &obj).await.map(|_| WriteOutcome::Created)
            }
            Some(cur) => {
                // Created (or claimed) meanwhile by another rotation: its credentials stay.
                if let Some(c) = held_by_other(&cur, claim_id) {
                    rep.message = Some(format!(
                        "secret {ns}/{name} is held by another rotation ({}, until {}); its credentials are kept",
                        c.by, c.until
                    ));
                    return rep;
                }
                let mut config = match DockerConfig::from_secret(&cur) {
                    Ok(c) => c,
                    Err(e) => {
                        rep.message =
                            Some(format!("the old content was unusable and is replaced: {e}"));
                        DockerConfig::default()
                    }
                };
                config.set(registry, auth.clone());
                let mut obj = docker_registry_secret(ns, name, &config);
                obj.metadata.resource_version = cur.metadata.resource_version.clone();
                obj.metadata.labels = cur.metadata.labels.clone();
                // The write takes this rotation's claim off.
                obj.metadata.annotations = cur.metadata.annotations.clone().map(|mut a| {
                    a.remove(CLAIM_ANNOTATION);
                    a
                });
                obj.type_ = cur.type_.clone();
                api.replace(name, &pp, &obj)
                    .await
                    .map(|_| WriteOutcome::Updated)
            }
        };
        match result {
            Ok(outcome) => {
                rep.secret = if req.dry_run {
                    WriteOutcome::DryRun
                } else {
                    outcome
                };
                return rep;
            }
            // 409: changed (or created) since we read it — read again.
            Err(e) if api_error(&e) == Some(409) || api_error(&e) == Some(404) => {
                last_error = format!("secret {ns}/{name} kept changing while berth wrote it: {e}");
            }
            Err(e) => {
                last_error = format!("writing secret {ns}/{name} failed: {e}");
                break;
            }
        }
    }
    rep.message = Some(last_error);
    rep
}

async fn follow_up(
    ctx: &ActionContext,
    req: &RotationRequest,
    ns: &str,
    registry: &str,
    rep: &mut NamespaceReport,
    not_audited: &std::sync::Mutex<Vec<AuditFailure>>,
) {
    let applied_unaudited = |e: AuditFailure| match not_audited.lock() {
        Ok(mut v) => v.push(e),
        Err(p) => p.into_inner().push(e),
    };
    if let Some(sa) = &req.attach_service_account {
        match attach(ctx, ns, sa, &req.secret_name).await {
            Ok(added) => rep.attached = Some(added),
            Err(ActionError::Audit(e)) if e.applied() => {
                rep.attached = Some(true);
                applied_unaudited(e);
            }
            Err(e) => rep.follow_up_errors.push(e.to_string()),
        }
    }
    if req.restart_failing {
        match failing_deployments(&ctx.client, ns, registry).await {
            Ok(deps) => {
                for d in deps {
                    match actions::restart(ctx, ns, &d).await {
                        Ok(_) => rep.restarted.push(d),
                        Err(ActionError::Audit(e)) if e.applied() => {
                            rep.restarted.push(d);
                            applied_unaudited(e);
                        }
                        Err(e) => rep
                            .follow_up_errors
                            .push(format!("restart of {ns}/{d}: {e}")),
                    }
                }
            }
            Err(e) => rep.follow_up_errors.push(e),
        }
    }
}

/// The registry host of an image reference (`docker.io` when none is named), lower case as
/// the pull-secret keys are compared.
pub fn image_registry_host(image: &str) -> String {
    normalize_registry_host(&crate::reference::image_host(image))
}

/// Names of the deployments in `ns` with a pod waiting on an image pull failure for `registry`.
pub async fn failing_deployments(
    client: &Client,
    ns: &str,
    registry: &str,
) -> Result<Vec<String>, String> {
    let want = normalize_registry_host(registry);
    let pods: Api<Pod> = Api::namespaced(client.clone(), ns);
    let list = pods
        .list(&ListParams::default())
        .await
        .map_err(|e| format!("cannot list pods in {ns}: {e}"))?;
    let mut rs_uids: BTreeMap<String, String> = BTreeMap::new();
    for p in &list.items {
        let row = super::convert::pod_row(p);
        let failing = row.containers.iter().any(|c| {
            matches!(&c.state, super::model::ContainerState::Waiting { reason, .. }
                if IMAGE_PULL_FAILURES.contains(&reason.as_str()))
                && image_registry_host(&c.image) == want
        });
        if failing
            && let Some(owner) = p
                .metadata
                .owner_references
                .iter()
                .flatten()
                .find(|o| o.controller == Some(true) && o.kind == "ReplicaSet")
        {
            rs_uids.insert(owner.name.clone(), owner.uid.clone());
        }
    }
    let rss: Api<ReplicaSet> = Api::namespaced(client.clone(), ns);
    let mut deployments = BTreeSet::new();
    for (rs_name, _) in rs_uids {
        let rs = rss
            .get(&rs_name)
            .await
            .map_err(|e| format!("cannot read replicaset {ns}/{rs_name}: {e}"))?;
        if let Some(o) = rs
            .metadata
            .owner_references
            .iter()
            .flatten()
            .find(|o| o.controller == Some(true) && o.kind == "Deployment")
        {
            deployments.insert(o.name.clone());
        }
    }
    Ok(deployments.into_iter().collect())
}

/// Adds `secret` to the service account's `imagePullSecrets` (kept if already there).
/// Returns whether it was added. Permission-checked and audited like every action.
pub async fn attach(
    ctx: &ActionContext,
    ns: &str,
    sa: &str,
    secret: &str,
) -> Result<bool, ActionError> {
    let target = format!("{ns}/{sa}");
    let target = target.as_str();
    let subject = Subject::new(&ctx.actor, "secret.attach", target, ctx.dry_run);
    audit::audited(&ctx.audit, subject, |gate| async move {
        gate.plan(None, Some(format!("imagePullSecrets += {secret}")));
        actions::check_access(
            &ctx.client,
            &ctx.actor,
            &[
                Permission::new("get", "", "serviceaccounts", ns).named(sa),
                Permission::new("patch", "", "serviceaccounts", ns).named(sa),
            ],
        )
        .await?;
        let api: Api<ServiceAccount> = Api::namespaced(ctx.client.clone(), ns);
        for _ in 0..WRITE_ATTEMPTS {
            let cur = api.get(sa).await.map_err(|e| match api_error(&e) {
                Some(404) => ActionError::NotFound {
                    what: format!("service account {target}"),
                },
                _ => ActionError::Api {
                    what: format!("read service account {target}"),
                    source: e,
                },
            })?;
            let mut list: Vec<LocalObjectReference> =
                cur.image_pull_secrets.clone().unwrap_or_default();
            if list.iter().any(|r| r.name == secret) {
                return Ok(false);
            }
            list.push(LocalObjectReference {
                name: secret.to_owned(),
            });
            // imagePullSecrets has no merge key: the patch carries the whole list, and the read
            // resourceVersion makes a concurrent change a 409 instead of a lost update.
            let patch = serde_json::json!({
                "metadata": {"resourceVersion": cur.metadata.resource_version},
                "imagePullSecrets": list,
            });
            let mut pp = PatchParams {
                field_manager: Some("berth".to_owned()),
                ..Default::default()
            };
            pp.dry_run = ctx.dry_run;
            gate.open()?;
            match api.patch(sa, &pp, &Patch::Merge(patch)).await {
                Ok(_) => return Ok(true),
                Err(e) if api_error(&e) == Some(409) => continue,
                Err(e) => {
                    return Err(ActionError::Api {
                        what: format!("patch service account {target}"),
                        source: e,
                    });
                }
            }
        }
        Err(ActionError::Conflict {
            what: format!("service account {target}"),
            resource_version: "(kept changing)".to_owned(),
        })
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_hosts() {
        assert_eq!(
            image_registry_host("127.0.0.1:5000/web:1"),
            "127.0.0.1:5000"
        );
        assert_eq!(
            image_registry_host("MyAcr.azurecr.io/a/b@sha256:x"),
            "myacr.azurecr.io"
        );
        assert_eq!(image_registry_host("busybox"), "docker.io");
        assert_eq!(image_registry_host("library/busybox"), "docker.io");
        assert_eq!(image_registry_host("localhost/x"), "localhost");
    }
}
