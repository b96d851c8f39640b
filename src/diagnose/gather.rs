//! Gathering the facts for failing pulls: the pod, its service account and secrets, its node
//! and events (kube client), and the registry's answer to exactly the node's credentials.

use std::path::PathBuf;
use std::time::Duration;

use futures::StreamExt;
use jiff::Timestamp;
use k8s_openapi::api::core::v1::Pod;
use kube::api::ListParams;
use kube::{Api, Client};

use crate::cluster::convert::pod_row;
use crate::cluster::model::{ContainerState, EventRow, PodRow};
use crate::cluster::rollout::IMAGE_PULL_FAILURES;
use crate::config::Config;
use crate::reference::{Reference, same_host};
use crate::registry::RegistryKind;
use crate::registry::probe::ProbeOutcome;

use super::cluster_reads::{PodContext, pod_events};
use super::facts::{
    Credential, CredentialUsed, EventFacts, Facts, NodeMessages, ProbeFacts, TagListing,
};
use super::probe::{is_loopback, list_tags, probe_once};
use super::secrets::{self, SecretInput};
use super::{Diagnosis, diagnose};

/// The `waiting.reason` berth gives a pull that has run longer than [`GatherOptions::slow_pull`].
pub const SLOW_PULL: &str = "SlowPull";

/// What config.toml says about a registry the images may come from.
#[derive(Clone, Debug)]
pub struct RegistryHint {
    pub host: String,
    pub kind: RegistryKind,
    pub ca_file: Option<PathBuf>,
}

#[derive(Clone, Debug)]
pub struct GatherOptions {
    /// The configured registries (`[[registry]]`): their kind (ACR lists tags with times) and
    /// CA file.
    pub registries: Vec<RegistryHint>,
    /// Trusted for registries with no `ca_file` of their own (`--ca-file`).
    pub default_ca_file: Option<PathBuf>,
    /// A pull running this long without finishing counts as failing.
    pub slow_pull: Duration,
    /// Bound on one registry probe (the node's own timeouts are longer; a user waits for this).
    pub probe_timeout: Duration,
    /// Pods diagnosed at once in a scope.
    pub concurrency: usize,
    /// `[cluster.aks]`: the node credential provider's images and the cluster's ARM name.
    pub aks: crate::config::AksConfig,
    /// The `[[registry]]` entries: their Azure credential and `[registry.arm]` read ARM for
    /// the kubelet identity's checks, and list tags where the node's credentials cannot.
    pub registry_configs: Vec<crate::registry::config::RegistryConfig>,
}

impl Default for GatherOptions {
    fn default() -> Self {
        Self {
            registries: Vec::new(),
            default_ca_file: None,
            slow_pull: Duration::from_secs(120),
            probe_timeout: Duration::from_secs(30),
            concurrency: 4,
            aks: Default::default(),
            registry_configs: Vec::new(),
        }
    }
}

impl GatherOptions {
    /// Kinds and CA files of the configured registries.
    pub fn from_config(config: &Config) -> Self {
        Self {
            registries: config
                .registries
                .iter()
                .map(|r| RegistryHint {
                    host: r.host.clone(),
                    kind: r.kind(),
                    ca_file: r.ca_file.clone(),
                })
                .collect(),
            aks: config.cluster.aks.clone().unwrap_or_default(),
            registry_configs: config.registries.clone(),
            ..Self::default()
        }
    }

    /// The node's own credentials for `reference`, when the node is an AKS node whose
    /// credential provider matches the image (kubelet's `matchImages` rules).
    pub fn node_identity_for(
        &self,
        reference: &Reference,
        node: Option<&super::facts::NodeFacts>,
    ) -> Option<super::facts::NodeIdentityFacts> {
        let aks = node?.aks.as_ref()?;
        let match_images = self.aks.match_images();
        let image = crate::cluster::pull_secret::keyring::image_name(reference);
        match_images
            .iter()
            .any(|m| crate::cluster::pull_secret::keyring::urls_match_str(m, &image))
            .then(|| super::facts::NodeIdentityFacts {
                match_images,
                client_id: aks.kubelet_identity_client_id.clone(),
                arm: None,
            })
    }

    /// The configured registry for `host`.
    pub(super) fn registry_config(
        &self,
        host: &str,
    ) -> Option<&crate::registry::config::RegistryConfig> {
        self.registry_configs
            .iter()
            .find(|r| same_host(&r.host, host))
    }

    fn hint(&self, host: &str) -> Option<&RegistryHint> {
        self.registries.iter().find(|r| same_host(&r.host, host))
    }

    fn ca_for(&self, host: &str) -> Option<PathBuf> {
        self.hint(host)
            .and_then(|r| r.ca_file.clone())
            .or_else(|| self.default_ca_file.clone())
    }

    fn kind_for(&self, host: &str) -> RegistryKind {
        self.hint(host)
            .map_or_else(|| RegistryKind::guess(host), |r| r.kind)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum GatherError {
    #[error("pod {namespace}/{pod} not found (list them with `kubectl get pods -n {namespace}`)")]
    PodNotFound { namespace: String, pod: String },
    #[error("cannot {what}: {reason}")]
    Kube { what: String, reason: String },
}

pub(super) fn kube_err(what: impl Into<String>) -> impl FnOnce(kube::Error) -> GatherError {
    let what = what.into();
    move |e| GatherError::Kube {
        what,
        reason: crate::startup::error_chain(&e),
    }
}

/// One container whose image pull fails (or crawls).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FailingContainer {
    pub name: String,
    pub init: bool,
    pub image: String,
    pub reason: String,
    pub message: String,
}

/// The containers of `pod` whose pull fails, or has run longer than `slow` (seen from the
/// pod's `Pulling`/`Pulled` events).
pub fn failing_containers(
    pod: &PodRow,
    events: &[EventRow],
    now: Timestamp,
    slow: Duration,
) -> Vec<FailingContainer> {
    let mut out = Vec::new();
    for c in &pod.containers {
        let ContainerState::Waiting { reason, message } = &c.state else {
            continue;
        };
        if IMAGE_PULL_FAILURES.contains(&reason.as_str()) {
            out.push(FailingContainer {
                name: c.name.clone(),
                init: c.init,
                image: c.image.clone(),
                reason: reason.clone(),
                message: message.clone(),
            });
            continue;
        }
        let about = |e: &&EventRow| e.message.contains(&format!("\"{}\"", c.image));
        let pulling = events
            .iter()
            .filter(about)
            .filter(|e| e.reason == "Pulling")
            .filter_map(|e| e.last_seen)
            .max();
        let pulled = events
            .iter()
            .filter(about)
            .filter(|e| e.reason == "Pulled")
            .filter_map(|e| e.last_seen)
            .max();
        if let Some(since) = pulling
            && pulled.is_none_or(|p| p < since)
            && now.duration_since(since).as_secs() >= slow.as_secs() as i64
        {
            out.push(FailingContainer {
                name: c.name.clone(),
                init: c.init,
                image: c.image.clone(),
                reason: SLOW_PULL.to_owned(),
                message: format!("pulling since {since}"),
            });
        }
    }
    out
}

/// Diagnoses every failing container of one pod; empty when its pulls are fine.
pub async fn diagnose_pod(
    client: &Client,
    namespace: &str,
    pod: &str,
    opts: &GatherOptions,
) -> Result<Vec<Diagnosis>, GatherError> {
    let pods: Api<Pod> = Api::namespaced(client.clone(), namespace);
    let p = pods
        .get_opt(pod)
        .await
        .map_err(kube_err(format!("read pod {namespace}/{pod}")))?
        .ok_or_else(|| GatherError::PodNotFound {
            namespace: namespace.to_owned(),
            pod: pod.to_owned(),
        })?;
    diagnose_pod_object(client, &p, opts).await
}

/// Diagnoses every pod in `namespace` (all namespaces when `None`) with a failing pull, in
/// namespace/name order.
pub async fn diagnose_scope(
    client: &Client,
    namespace: Option<&str>,
    opts: &GatherOptions,
) -> Result<Vec<Diagnosis>, GatherError> {
    let pods: Api<Pod> = match namespace {
        Some(ns) => Api::namespaced(client.clone(), ns),
        None => Api::all(client.clone()),
    };
    let where_ = namespace.map_or("all namespaces".to_owned(), |ns| format!("namespace {ns}"));
    let mut list = pods
        .list(&ListParams::default())
        .await
        .map_err(kube_err(format!("list pods in {where_}")))?
        .items;
    list.sort_by(|a, b| {
        (&a.metadata.namespace, &a.metadata.name).cmp(&(&b.metadata.namespace, &b.metadata.name))
    });
    let now = Timestamp::now();
    let candidates: Vec<Pod> = list
        .into_iter()
        .filter(|p| may_fail(&pod_row(p), now, opts.slow_pull))
        .collect();
    let results: Vec<Result<Vec<Diagnosis>, GatherError>> = futures::stream::iter(&candidates)
        .map(|p| diagnose_pod_object(client, p, opts))
        .buffered(opts.concurrency.max(1))
        .collect()
        .await;
    let mut out = Vec::new();
    for r in results {
        out.extend(r?);
    }
    Ok(out)
}

/// Cheap pre-filter before reading events: a pull failure, or a container still being created
/// in a pod older than `slow`.
fn may_fail(pod: &PodRow, now: Timestamp, slow: Duration) -> bool {
    pod.containers.iter().any(|c| match &c.state {
        ContainerState::Waiting { reason, .. } => {
            IMAGE_PULL_FAILURES.contains(&reason.as_str())
                || (matches!(reason.as_str(), "ContainerCreating" | "PodInitializing")
                    && pod
                        .created
                        .is_some_and(|t| now.duration_since(t).as_secs() >= slow.as_secs() as i64))
        }
        _ => false,
    })
}

async fn diagnose_pod_object(
    client: &Client,
    pod: &Pod,
    opts: &GatherOptions,
) -> Result<Vec<Diagnosis>, GatherError> {
    let row = pod_row(pod);
    let events = pod_events(client, &row).await?;
    let now = Timestamp::now();
    let failing = failing_containers(&row, &events, now, opts.slow_pull);
    if failing.is_empty() {
        return Ok(Vec::new());
    }
    let ctx = PodContext::read(client, pod, &row).await;
    let mut out = Vec::with_capacity(failing.len());
    for c in &failing {
        let facts = gather_container(&ctx, &row, &events, c, opts).await;
        out.push(diagnose(facts));
    }
    Ok(out)
}

async fn gather_container(
    ctx: &PodContext,
    row: &PodRow,
    events: &[EventRow],
    c: &FailingContainer,
    opts: &GatherOptions,
) -> Facts {
    let reference = Reference::parse(&c.image).map_err(|e| e.to_string());
    let node_messages = node_messages(c, events);
    let mut facts = Facts {
        namespace: row.namespace.clone(),
        pod: row.name.clone(),
        container: c.name.clone(),
        init: c.init,
        image: c.image.clone(),
        reference: reference.clone(),
        service_account: row.service_account.clone(),
        pull_secrets: Vec::new(),
        unattached_matching_secrets: Vec::new(),
        probes: Vec::new(),
        tags: None,
        node: ctx.node.clone(),
        node_pull: node_pull(c, events),
        node_identity: None,
        node_messages,
        owner: ctx.owner.clone(),
        gaps: ctx.gaps.clone(),
        observed_at: Timestamp::now(),
    };
    let Ok(reference) = reference else {
        return facts;
    };

    let lookup = |name: &str| {
        ctx.secrets
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, s)| s.clone())
            .unwrap_or(SecretInput::Missing)
    };
    let effective = secrets::evaluate(
        &row.image_pull_secrets,
        &ctx.service_account_secrets,
        lookup,
        &reference,
    );
    facts.pull_secrets = effective.secrets;
    facts.unattached_matching_secrets = ctx
        .namespace_secrets
        .iter()
        .filter(|(name, _)| !facts.pull_secrets.iter().any(|s| &s.name == name))
        .filter(|(_, cfg)| !cfg.keys_for(&reference).is_empty())
        .map(|(name, _)| name.clone())
        .collect();

    // The node's order: each matching credential until one works, anonymous only when none
    // matches.
    let anonymous = Credential {
        used: CredentialUsed::Anonymous,
        username: String::new(),
        password: Default::default(),
    };
    let tries = if effective.credentials.is_empty() {
        vec![anonymous]
    } else {
        effective.credentials
    };
    if let Some(mut identity) = opts.node_identity_for(&reference, ctx.node.as_ref()) {
        if let Some(node) = ctx.node.as_ref() {
            identity.arm =
                super::aks_reads::read(opts, node, reference.registry(), &mut facts.gaps).await;
        }
        facts.node_identity = Some(identity);
        // The node's words say the image is missing; the closest tags come from berth's own
        // credential for the registry (the node's cannot be used from here).
        if facts
            .node_pull
            .as_ref()
            .is_some_and(|p| p.any(|f| *f == super::node_words::NodeFailure::NotFound))
        {
            facts.tags =
                Some(super::aks_reads::list_tags_as_berth(opts, &reference, &mut facts.gaps).await);
        }
    }
    let ca_file = opts.ca_for(reference.registry());
    let kind = opts.kind_for(reference.registry());
    for cred in &tries {
        let outcome = probe_once(&reference, cred, kind, ca_file.clone(), opts.probe_timeout).await;
        let ok = outcome.is_ok();
        facts.probes.push(ProbeFacts {
            credential: cred.used.clone(),
            outcome,
        });
        if ok {
            break;
        }
    }
    if is_loopback(reference.registry())
        && matches!(
            facts.probes.first().map(|p| &p.outcome),
            Some(ProbeOutcome::Tls { .. })
        )
    {
        facts.gaps.push(format!(
            "containerd retries a loopback registry over plain HTTP after HTTPS fails; berth probes \
             {} over HTTPS only, so a plain-HTTP registry there looks like a TLS failure here",
            reference.registry()
        ));
    }
    let missing = facts.probes.iter().all(|p| !p.outcome.is_ok())
        && matches!(
            facts.probes.first().map(|p| &p.outcome),
            Some(ProbeOutcome::ManifestUnknown { .. } | ProbeOutcome::NotFound { .. })
        );
    if missing && facts.tags.is_none() {
        let mut listing = list_tags(
            &reference,
            &tries[0],
            kind,
            ca_file.clone(),
            opts.probe_timeout,
        )
        .await;
        // ACR's listing with times needs more than pull rights; the plain OCI listing does not.
        if kind == RegistryKind::Acr && matches!(listing, TagListing::Failed { .. }) {
            listing = list_tags(
                &reference,
                &tries[0],
                RegistryKind::Oci,
                ca_file,
                opts.probe_timeout,
            )
            .await;
        }
        facts.tags = Some(listing);
    }
    facts
}

/// kubelet's latest `Failed to pull image "IMAGE": …` for this container's image, read.
fn node_pull(c: &FailingContainer, events: &[EventRow]) -> Option<super::node_words::NodePull> {
    let prefix = format!("Failed to pull image \"{}\": ", c.image);
    events
        .iter()
        .filter(|e| e.reason == "Failed" && e.message.starts_with(&prefix))
        .max_by_key(|e| e.last_seen)
        .and_then(|e| super::node_words::parse(&e.message))
}

/// kubelet's own words about this container: its waiting reason and the pod's pull events
/// that name the image (or are the generic `Error: ...` lines).
fn node_messages(c: &FailingContainer, events: &[EventRow]) -> NodeMessages {
    let image = format!("\"{}\"", c.image);
    let relevant: Vec<&EventRow> = events
        .iter()
        .filter(|e| {
            e.message.contains(&image)
                || (e.reason == "Failed" && e.message.starts_with("Error: "))
                || e.reason == "InspectFailed"
                || e.reason == "ErrImageNeverPull"
        })
        .collect();
    let last_failure = relevant
        .iter()
        .filter(|e| e.warning)
        .filter_map(|e| e.last_seen)
        .max();
    NodeMessages {
        reason: Some(c.reason.clone()),
        message: Some(c.message.clone()).filter(|m| !m.is_empty()),
        events: relevant
            .into_iter()
            .map(|e| EventFacts {
                reason: e.reason.clone(),
                message: e.message.clone(),
                warning: e.warning,
                count: e.count,
                last_seen: e.last_seen,
            })
            .collect(),
        last_failure,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::model::ContainerRow;

    fn t(s: i64) -> Timestamp {
        Timestamp::from_second(1_800_000_000 + s).unwrap()
    }

    fn pod(states: Vec<(&str, bool, ContainerState)>) -> PodRow {
        PodRow {
            namespace: "shop".into(),
            name: "web-1".into(),
            uid: "u".into(),
            owner_uid: None,
            workload: None,
            revision_hash: None,
            phase: "Pending".into(),
            node: Some("n".into()),
            service_account: "default".into(),
            image_pull_secrets: vec![],
            containers: states
                .into_iter()
                .map(|(name, init, state)| ContainerRow {
                    name: name.into(),
                    init,
                    image: format!("reg.io/{name}:1"),
                    image_id: None,
                    ready: false,
                    restarts: 0,
                    state,
                })
                .collect(),
            pod_template_hash: None,
            created: Some(t(-600)),
            deleting: false,
        }
    }

    fn waiting(reason: &str) -> ContainerState {
        ContainerState::Waiting {
            reason: reason.into(),
            message: format!("{reason} message"),
        }
    }

    fn event(reason: &str, image: &str, at: i64) -> EventRow {
        EventRow {
            namespace: "shop".into(),
            uid: format!("{reason}{at}"),
            involved_kind: "Pod".into(),
            involved_name: "web-1".into(),
            involved_uid: "u".into(),
            reason: reason.into(),
            message: format!("{reason} image \"{image}\""),
            warning: reason == "Failed",
            count: 1,
            first_seen: Some(t(at)),
            last_seen: Some(t(at)),
            source: "kubelet".into(),
            order: 0,
        }
    }

    const SLOW: Duration = Duration::from_secs(120);

    #[test]
    fn pull_failures_of_containers_and_init_containers_are_found() {
        let p = pod(vec![
            ("init", true, waiting("ErrImagePull")),
            ("web", false, waiting("ImagePullBackOff")),
            ("side", false, waiting("InvalidImageName")),
            ("never", false, waiting("ErrImageNeverPull")),
            ("ok", false, ContainerState::Running { since: None }),
            ("crash", false, waiting("CrashLoopBackOff")),
        ]);
        let got: Vec<(String, bool, String)> = failing_containers(&p, &[], t(0), SLOW)
            .into_iter()
            .map(|c| (c.name, c.init, c.reason))
            .collect();
        assert_eq!(
            got,
            [
                ("init".into(), true, "ErrImagePull".into()),
                ("web".into(), false, "ImagePullBackOff".into()),
                ("side".into(), false, "InvalidImageName".into()),
                ("never".into(), false, "ErrImageNeverPull".into()),
            ]
        );
    }

    #[test]
    fn a_pull_running_past_the_threshold_is_slow() {
        let p = pod(vec![("web", false, waiting("ContainerCreating"))]);
        let img = "reg.io/web:1";
        // Pulling 5 minutes ago, nothing since: slow.
        let slow = failing_containers(&p, &[event("Pulling", img, -300)], t(0), SLOW);
        assert_eq!(slow.len(), 1);
        assert_eq!(slow[0].reason, SLOW_PULL);
        // Pulling 30 s ago: not yet.
        assert!(failing_containers(&p, &[event("Pulling", img, -30)], t(0), SLOW).is_empty());
        // Pulled after the last Pulling: done.
        let done = [event("Pulling", img, -300), event("Pulled", img, -200)];
        assert!(failing_containers(&p, &done, t(0), SLOW).is_empty());
        // Another image's events do not count.
        assert!(
            failing_containers(&p, &[event("Pulling", "reg.io/x:1", -300)], t(0), SLOW).is_empty()
        );
    }

    #[test]
    fn node_messages_keep_this_images_events_and_the_last_failure() {
        let c = FailingContainer {
            name: "web".into(),
            init: false,
            image: "reg.io/web:1".into(),
            reason: "ImagePullBackOff".into(),
            message: "Back-off pulling image".into(),
        };
        let mut generic = event("Failed", "", -10);
        generic.message = "Error: ErrImagePull".into();
        let events = [
            event("Pulling", "reg.io/web:1", -100),
            event("Failed", "reg.io/web:1", -90),
            event("Failed", "reg.io/other:1", -5),
            generic,
        ];
        let m = node_messages(&c, &events);
        assert_eq!(m.events.len(), 3);
        assert_eq!(m.last_failure, Some(t(-10)));
        assert_eq!(m.reason.as_deref(), Some("ImagePullBackOff"));
    }

    #[test]
    fn ca_files_and_kinds_by_host_then_the_defaults() {
        let opts = GatherOptions {
            registries: vec![RegistryHint {
                host: "Reg.io:5000".into(),
                kind: RegistryKind::Acr,
                ca_file: Some("/a.pem".into()),
            }],
            default_ca_file: Some("/d.pem".into()),
            ..GatherOptions::default()
        };
        assert_eq!(opts.ca_for("reg.io:5000"), Some("/a.pem".into()));
        assert_eq!(opts.ca_for("other.io"), Some("/d.pem".into()));
        assert_eq!(opts.kind_for("reg.io:5000"), RegistryKind::Acr);
        assert_eq!(opts.kind_for("x.azurecr.io"), RegistryKind::Acr);
        assert_eq!(opts.kind_for("other.io"), RegistryKind::Oci);
    }
}
