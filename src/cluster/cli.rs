//! Headless commands: `berth rollout status|restart|set-image|undo|pause|resume`,
//! `berth secret rotate`, `berth secret attach`.
//!
//! `main.rs` fills the kubeconfig, context and audit log from berth's top-level flags and
//! config.toml, so every command reads the same cluster and writes the same audit log.
//!
//! Every command prints a human summary, or one JSON object with `--json` (errors too:
//! `{"error": code, "message": ...}`), and exits with one of the `EXIT_*` codes below.
//! Mutations take `--dry-run` (server-side `dryRun=All`; rotation then mints no credentials).

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Subcommand, ValueEnum};
use serde::Serialize;
use serde_json::json;

use crate::audit::AuditLog;
use crate::secret::Secret;

use super::acr_source::{
    AcrAdminSource, AcrTokenSource, DEFAULT_API_VERSION, RegistryArm, SlotPolicy, StaticSource,
};
use super::actions::{self, ActionContext, ActionError, ActionReport, ImageTarget};
use super::connect::{self, KubeTarget};
use super::follow::{Follow, FollowEnd};
use super::model::RolloutState;
use super::rollout::state_label;
use super::rotate::{self, CredentialSource, RotateError, RotationRequest};
use super::watch::WatchOptions;
use crate::azure::arm::ArmClient;
use crate::registry::client::http_client;

pub const EXIT_OK: i32 = 0;
/// API or other unexpected failure.
pub const EXIT_FAILED: i32 = 1;
/// Bad input (clap uses 2 for usage errors too).
pub const EXIT_INVALID: i32 = 2;
/// Refused by a permission check (nothing was written).
pub const EXIT_REFUSED: i32 = 3;
/// The object changed meanwhile (optimistic concurrency); nothing was written.
pub const EXIT_CONFLICT: i32 = 4;
/// Rollout stuck, or rotation credentials failed verification.
pub const EXIT_STUCK: i32 = 5;
/// Rollout not (yet) complete: pending, progressing or paused (or `--wait` timed out).
pub const EXIT_NOT_READY: i32 = 6;
/// Rotation done in some namespaces but not all (see the per-namespace report).
pub const EXIT_PARTIAL: i32 = 7;
/// The audit log could not take the intent record: nothing was changed.
pub const EXIT_AUDIT_UNWRITABLE: i32 = crate::audit::EXIT_AUDIT_UNWRITABLE as i32;
/// Applied, but not audited: the change was made, its result record could not be written.
pub const EXIT_NOT_AUDITED: i32 = crate::audit::EXIT_NOT_AUDITED as i32;
/// Helm, Argo CD or Flux manages the workload and would revert the change; nothing was written
/// (`--force-unmanaged` goes on).
pub const EXIT_MANAGED: i32 = 11;

/// The exit status above, for the `--help` of restart, set-image and undo.
pub const EXIT_MANAGED_HELP: &str = "Owned workloads: a workload that Helm, Argo CD or Flux \
manages (its labels and annotations say so) is refused, since its owner reverts the change; the \
message names the owner and what to do instead, and --force-unmanaged goes on all the same.
Exit status 11: the workload is managed by Helm, Argo CD or Flux; nothing was changed.";

#[derive(Args, Debug, Clone)]
pub struct KubeArgs {
    /// kubeconfig file (default: $KUBECONFIG, then ~/.kube/config). Filled from berth's
    /// top-level `--kubeconfig` / config.toml, so every command reads the same one.
    #[arg(skip)]
    pub kubeconfig: Option<PathBuf>,
    /// kube context (default: the kubeconfig's current context); from the top level too.
    #[arg(skip)]
    pub context: Option<String>,
    /// Audit log (from config.toml's `general.audit_log`; default: [`AuditLog::default_location`]).
    #[arg(skip)]
    pub audit_log: Option<PathBuf>,
    /// Namespace (default: the context's namespace, else `default`)
    #[arg(short = 'n', long, global = true, value_parser = parse_namespace)]
    pub namespace: Option<String>,
    /// Print one JSON object instead of text
    #[arg(long, global = true)]
    pub json: bool,
}

impl KubeArgs {
    fn audit_log(&self) -> AuditLog {
        self.audit_log
            .clone()
            .map(AuditLog::new)
            .unwrap_or_else(AuditLog::default_location)
    }
}

#[derive(Args, Debug, Clone)]
pub struct RolloutArgs {
    #[command(flatten)]
    pub kube: KubeArgs,
    #[command(subcommand)]
    pub command: RolloutCommand,
}

pub use super::model::WorkloadKind;

/// A workload argument: `NAME` (a deployment) or kubectl's `TYPE/NAME`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Workload {
    pub kind: WorkloadKind,
    pub name: String,
}

impl std::fmt::Display for Workload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.kind.noun(), self.name)
    }
}

/// A deployment by name (what a plain `NAME` argument means).
impl From<&str> for Workload {
    fn from(name: &str) -> Self {
        Workload {
            kind: WorkloadKind::Deployment,
            name: name.to_owned(),
        }
    }
}

/// Parses `web`, `deploy/web`, `deployment/web`, `deployments/web`, `sts/db`,
/// `statefulset/db`, `ds/agent`, `daemonset/agent` (types case-insensitive, as in kubectl).
/// The name must be a valid object name (a DNS-1123 subdomain).
pub fn parse_workload(s: &str) -> Result<Workload, String> {
    let (kind, name) = match s.split_once('/') {
        None => (WorkloadKind::Deployment, s),
        Some((t, name)) => {
            let kind = match t.to_ascii_lowercase().as_str() {
                "deploy" | "deployment" | "deployments" => WorkloadKind::Deployment,
                "sts" | "statefulset" | "statefulsets" => WorkloadKind::StatefulSet,
                "ds" | "daemonset" | "daemonsets" => WorkloadKind::DaemonSet,
                _ => {
                    return Err(format!(
                        "unknown workload type {t:?}: write NAME or TYPE/NAME with TYPE one of \
                         deploy, deployment, sts, statefulset, ds, daemonset"
                    ));
                }
            };
            (kind, name)
        }
    };
    if name.is_empty() {
        return Err(format!(
            "{s:?} names no workload: write NAME or TYPE/NAME, like deploy/web"
        ));
    }
    if !is_object_name(name) {
        return Err(format!(
            "{name:?} is not a valid {} name (lowercase letters, digits, '-' and '.', \
             starting and ending with a letter or digit, at most 253 characters)",
            kind.noun()
        ));
    }
    Ok(Workload {
        kind,
        name: name.to_owned(),
    })
}

/// A DNS-1123 subdomain: what Kubernetes accepts as the name of a deployment.
fn is_object_name(s: &str) -> bool {
    s.len() <= 253
        && s.split('.').all(|label| {
            !label.is_empty()
                && label
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        })
}

pub(crate) fn parse_namespace(s: &str) -> Result<String, String> {
    if crate::config::is_dns1123_label(s) {
        Ok(s.to_owned())
    } else {
        Err(format!(
            "{s:?} is not a valid namespace name (lowercase letters, digits and '-', starting \
             and ending with a letter or digit, at most 63 characters)"
        ))
    }
}

fn parse_object_name(s: &str) -> Result<String, String> {
    if is_object_name(s) {
        Ok(s.to_owned())
    } else {
        Err(format!(
            "{s:?} is not a valid Kubernetes object name (lowercase letters, digits, '-' and \
             '.', starting and ending with a letter or digit)"
        ))
    }
}

/// A registry login server as a pull secret keys it: `host[:port]`, no scheme, no path.
fn parse_login_server(s: &str) -> Result<String, String> {
    // Docker Hub's legacy key, as `docker login` writes it.
    if s == "https://index.docker.io/v1/" {
        return Ok(s.to_owned());
    }
    let bare = s
        .split_once("://")
        .map_or(s, |(_, rest)| rest)
        .trim_end_matches('/');
    if bare != s || bare.contains('/') || bare.is_empty() {
        let host = bare.split('/').next().unwrap_or_default();
        return Err(format!(
            "{s:?} is not a login server: give the host alone{} (no scheme, no path)",
            if host.is_empty() {
                String::new()
            } else {
                format!(", like {host}")
            }
        ));
    }
    crate::reference::Reference::parse(&format!("{bare}/x"))
        .map(|_| bare.to_owned())
        .map_err(|e| format!("{s:?} is not a login server: {}", e.cli_message()))
}

fn parse_tag(s: &str) -> Result<String, String> {
    crate::reference::validate_tag(s)
        .map(|()| s.to_owned())
        .map_err(|e| e.cli_message())
}

fn parse_digest(s: &str) -> Result<String, String> {
    crate::reference::validate_digest(s)
        .map(|()| s.to_owned())
        .map_err(|e| e.cli_message())
}

fn parse_image(s: &str) -> Result<String, String> {
    crate::reference::Reference::parse(s)
        .map(|_| s.to_owned())
        .map_err(|e| e.cli_message())
}

const SET_IMAGE_USAGE: &str = "berth rollout set-image [OPTIONS] <WORKLOAD> [CONTAINER=]IMAGE
       berth rollout set-image [OPTIONS] <WORKLOAD> [CONTAINER] <--tag <TAG>|--digest <DIGEST>|--image <IMAGE>>";

const SET_IMAGE_EXAMPLES: &str = "Examples:
  berth rollout set-image deploy/web web=myacr.azurecr.io/web:1.0.28
  berth rollout set-image deploy/web myacr.azurecr.io/web:1.0.28   (web has one container)
  berth rollout set-image web web --tag 1.0.28 -n shop --dry-run
  berth rollout set-image web --digest sha256:…                    (keeps the tag, pins the digest)";

#[derive(Subcommand, Debug, Clone)]
pub enum RolloutCommand {
    /// Rollout state as `kubectl rollout status` computes it, with revisions and their pods
    Status {
        /// The workload: NAME or TYPE/NAME (deploy/web)
        #[arg(value_name = "WORKLOAD", value_parser = parse_workload)]
        deployment: Workload,
        /// Wait until the rollout completes or is stuck
        #[arg(long)]
        wait: bool,
        /// With --wait: give up after this many seconds
        #[arg(long, default_value_t = 300, value_name = "SECONDS")]
        timeout: u64,
    },
    /// Restart the pods (the kubectl.kubernetes.io/restartedAt template annotation)
    Restart {
        /// The workload: NAME or TYPE/NAME (deploy/web)
        #[arg(value_name = "WORKLOAD", value_parser = parse_workload)]
        deployment: Workload,
        /// Ask the API server to check the change (dryRun=All) without writing it
        #[arg(long)]
        dry_run: bool,
        /// Go on although Helm, Argo CD or Flux manages the workload (its owner may revert
        /// the change; without this flag berth refuses with exit status 11)
        #[arg(long)]
        force_unmanaged: bool,
    },
    /// Point one container at another image, as `kubectl set image` does; or at another tag
    /// or a pinned digest of the image it runs
    #[command(override_usage = SET_IMAGE_USAGE, after_help = SET_IMAGE_EXAMPLES)]
    #[command(group(
        clap::ArgGroup::new("new_image")
            .args(["tag", "digest", "image"])
            .multiple(false)
    ))]
    SetImage {
        /// The workload: NAME or TYPE/NAME (deploy/web)
        #[arg(value_name = "WORKLOAD", value_parser = parse_workload)]
        deployment: Workload,
        /// CONTAINER=IMAGE as in `kubectl set image` (IMAGE alone when the workload has one
        /// container); with --tag, --digest or --image: the container's name (optional when
        /// the workload has one container)
        #[arg(
            value_name = "CONTAINER=IMAGE",
            required_unless_present_any = ["tag", "digest", "image"]
        )]
        container: Option<String>,
        /// Further CONTAINER=IMAGE pairs: refused with a clear message (one at a time for now)
        #[arg(hide = true)]
        more: Vec<String>,
        /// Same repository, this tag (drops a digest pin)
        #[arg(long, value_name = "TAG", value_parser = parse_tag)]
        tag: Option<String>,
        /// Same repository and tag, pinned to this digest (sha256:…)
        #[arg(long, value_name = "DIGEST", value_parser = parse_digest)]
        digest: Option<String>,
        /// This whole image reference (like CONTAINER=IMAGE)
        #[arg(long, value_name = "IMAGE", value_parser = parse_image)]
        image: Option<String>,
        /// Ask the API server to check the change (dryRun=All) without writing it
        #[arg(long)]
        dry_run: bool,
        /// Go on although Helm, Argo CD or Flux manages the workload (its owner may revert
        /// the change; without this flag berth refuses with exit status 11)
        #[arg(long)]
        force_unmanaged: bool,
    },
    /// Roll back to the previous revision (or --to-revision), as `kubectl rollout undo`
    Undo {
        /// The workload: NAME or TYPE/NAME (deploy/web)
        #[arg(value_name = "WORKLOAD", value_parser = parse_workload)]
        deployment: Workload,
        /// The revision to go back to (default: the one before the current)
        #[arg(long, value_name = "REVISION")]
        to_revision: Option<i64>,
        /// Ask the API server to check the change (dryRun=All) without writing it
        #[arg(long)]
        dry_run: bool,
        /// Go on although Helm, Argo CD or Flux manages the workload (its owner may revert
        /// the change; without this flag berth refuses with exit status 11)
        #[arg(long)]
        force_unmanaged: bool,
    },
    /// Pause the rollout: template changes wait until `resume`
    Pause {
        /// The workload: NAME or TYPE/NAME (deploy/web)
        #[arg(value_name = "WORKLOAD", value_parser = parse_workload)]
        deployment: Workload,
        /// Ask the API server to check the change (dryRun=All) without writing it
        #[arg(long)]
        dry_run: bool,
    },
    /// Resume a paused rollout
    Resume {
        /// The workload: NAME or TYPE/NAME (deploy/web)
        #[arg(value_name = "WORKLOAD", value_parser = parse_workload)]
        deployment: Workload,
        /// Ask the API server to check the change (dryRun=All) without writing it
        #[arg(long)]
        dry_run: bool,
    },
}

impl RolloutCommand {
    /// The workload the command acts on.
    pub fn workload(&self) -> &Workload {
        match self {
            RolloutCommand::Status { deployment, .. }
            | RolloutCommand::Restart { deployment, .. }
            | RolloutCommand::SetImage { deployment, .. }
            | RolloutCommand::Undo { deployment, .. }
            | RolloutCommand::Pause { deployment, .. }
            | RolloutCommand::Resume { deployment, .. } => deployment,
        }
    }
}

/// What `set-image` was asked to do: which container (None: the only one) and what image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetImageRequest {
    pub container: Option<String>,
    pub target: ImageTarget,
}

/// Reads `set-image`'s arguments: kubectl's `CONTAINER=IMAGE` (or `IMAGE` alone), or berth's
/// `[CONTAINER] --tag|--digest|--image`. Clap has already checked that at most one flag is
/// given and that something is.
pub fn set_image_request(
    positional: &[String],
    tag: Option<&str>,
    digest: Option<&str>,
    image: Option<&str>,
) -> Result<SetImageRequest, String> {
    let flag = match (tag, digest, image) {
        (Some(t), _, _) => Some(ImageTarget::Tag(t.to_owned())),
        (_, Some(d), _) => Some(ImageTarget::Digest(d.to_owned())),
        (_, _, Some(i)) => Some(ImageTarget::Reference(i.to_owned())),
        _ => None,
    };
    let container_name = |c: &str| -> Result<String, String> {
        if c == "*" {
            return Err(
                "'*' (every container) is not supported: name the container, one at a time"
                    .to_owned(),
            );
        }
        if crate::config::is_dns1123_label(c) {
            Ok(c.to_owned())
        } else {
            Err(format!(
                "{c:?} is not a valid container name (lowercase letters, digits and '-', at most \
                 63 characters)"
            ))
        }
    };
    let one = match positional {
        [] => None,
        [one] => Some(one.as_str()),
        [_, extra, ..] => {
            return Err(format!(
                "one container at a time: {extra:?} is one too many (run set-image once per \
                 container)"
            ));
        }
    };
    match (one, flag) {
        (None, Some(target)) => Ok(SetImageRequest {
            container: None,
            target,
        }),
        (Some(c), Some(target)) => {
            if c.contains('=') {
                return Err(format!(
                    "{c:?} and a --tag/--digest/--image flag both name the new image: give one \
                     (CONTAINER=IMAGE, or CONTAINER --tag TAG)"
                ));
            }
            Ok(SetImageRequest {
                container: Some(container_name(c)?),
                target,
            })
        }
        (Some(arg), None) => {
            let (container, image) = match arg.split_once('=') {
                Some((c, i)) => {
                    if c.is_empty() {
                        return Err(format!(
                            "{arg:?} names no container before '=': write CONTAINER=IMAGE, or \
                             IMAGE alone when the workload has one container"
                        ));
                    }
                    (Some(container_name(c)?), i)
                }
                None if arg.contains([':', '@', '/']) => (None, arg),
                None => {
                    return Err(format!(
                        "{arg:?} is neither CONTAINER=IMAGE nor an image with a tag or digest: \
                         write {arg}=REPO:TAG (as kubectl set image does), or {arg} --tag TAG"
                    ));
                }
            };
            if image.is_empty() {
                return Err(format!(
                    "{arg:?} names no image after '=': write CONTAINER=IMAGE"
                ));
            }
            parse_image(image)?;
            Ok(SetImageRequest {
                container,
                target: ImageTarget::Reference(image.to_owned()),
            })
        }
        (None, None) => {
            Err("name the new image: CONTAINER=IMAGE, or --tag, --digest or --image".to_owned())
        }
    }
}

#[derive(Args, Debug, Clone)]
pub struct SecretArgs {
    #[command(flatten)]
    pub kube: KubeArgs,
    #[command(subcommand)]
    pub command: SecretCommand,
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceKind {
    /// ACR admin user (regenerateCredential, alternating password/password2)
    AcrAdmin,
    /// ACR scope-map token (generateCredentials, alternating password1/password2, with expiry)
    AcrToken,
    /// A fixed username and password (from an environment variable or a file)
    Static,
}

#[derive(Args, Debug, Clone)]
pub struct AzureArgs {
    /// Entra ID authority base URL
    #[arg(
        long,
        env = "AZURE_AUTHORITY_HOST",
        default_value = "https://login.microsoftonline.com"
    )]
    pub authority: String,
    /// ARM base URL
    #[arg(
        long,
        env = "BERTH_ARM_URL",
        default_value = "https://management.azure.com"
    )]
    pub management_url: String,
    /// Entra ID tenant of the service principal (acr-admin, acr-token)
    #[arg(long, env = "AZURE_TENANT_ID", value_name = "ID")]
    pub tenant_id: Option<String>,
    /// Subscription holding the registry (acr-admin, acr-token)
    #[arg(long, env = "AZURE_SUBSCRIPTION_ID", value_name = "ID")]
    pub subscription_id: Option<String>,
    /// Resource group holding the registry (acr-admin, acr-token)
    #[arg(long, value_name = "NAME")]
    pub resource_group: Option<String>,
    /// The registry's ARM name
    #[arg(long, value_name = "NAME")]
    pub registry_name: Option<String>,
    /// Service principal client id
    #[arg(long, env = "AZURE_CLIENT_ID", value_name = "ID")]
    pub client_id: Option<String>,
    /// Name of the environment variable holding the client secret (never pass it as a flag)
    #[arg(long, default_value = "AZURE_CLIENT_SECRET", value_name = "VAR")]
    pub client_secret_env: String,
    /// ARM API version of the Microsoft.ContainerRegistry calls
    #[arg(long, default_value = DEFAULT_API_VERSION, value_name = "VERSION")]
    pub api_version: String,
}

// Parsed once per process: size does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand, Debug, Clone)]
pub enum SecretCommand {
    /// Mint fresh registry credentials, verify them, write the pull secret in every namespace
    Rotate {
        /// The pull secret's name
        #[arg(long, value_name = "NAME", value_parser = parse_object_name)]
        secret: String,
        /// Namespaces to write (repeatable); default: -n / the context's namespace
        #[arg(long = "in", value_name = "NAMESPACE", value_parser = parse_namespace)]
        namespaces: Vec<String>,
        /// Where the new credentials come from
        #[arg(long, value_enum)]
        source: SourceKind,
        /// Registry login server (host[:port]), the key written into the secret
        #[arg(long, value_name = "HOST", value_parser = parse_login_server)]
        registry: String,
        #[command(flatten)]
        azure: AzureArgs,
        /// acr-token: the token's name
        #[arg(long, value_name = "NAME")]
        token_name: Option<String>,
        /// acr-token: lifetime of the new password, in days
        #[arg(long, default_value_t = 90, value_name = "DAYS")]
        token_lifetime_days: i64,
        /// Regenerate this slot instead of the one not in use
        #[arg(long)]
        slot: Option<String>,
        /// static: the username
        #[arg(long, value_name = "NAME")]
        username: Option<String>,
        /// static: environment variable holding the password
        #[arg(long, value_name = "VAR")]
        password_env: Option<String>,
        /// static: file holding the password
        #[arg(long)]
        password_file: Option<PathBuf>,
        /// Prove pull access on this repository when verifying
        #[arg(long, value_name = "REPO")]
        verify_repository: Option<String>,
        /// Extra CA bundle (PEM) to trust for Entra, ARM and the registry
        #[arg(long, env = "BERTH_CA_FILE")]
        ca_file: Option<PathBuf>,
        /// Restart deployments whose pods fail to pull from this registry
        #[arg(long)]
        restart_failing: bool,
        /// Also add the secret to this service account's imagePullSecrets
        #[arg(long, value_name = "SERVICE_ACCOUNT", value_parser = parse_object_name)]
        attach: Option<String>,
        /// After every namespace is written, invalidate the slot that was in use
        #[arg(long)]
        invalidate_old: bool,
        /// Parallel namespace writes
        #[arg(long, default_value_t = 8, value_name = "N")]
        concurrency: usize,
        /// Check every write with the API server (dryRun=All) and mint no credentials
        #[arg(long)]
        dry_run: bool,
    },
    /// Add a pull secret to a service account's imagePullSecrets
    Attach {
        /// The pull secret's name
        #[arg(long, value_name = "NAME", value_parser = parse_object_name)]
        secret: String,
        /// The service account to add it to
        #[arg(long, default_value = "default", value_name = "NAME", value_parser = parse_object_name)]
        service_account: String,
        /// Ask the API server to check the change (dryRun=All) without writing it
        #[arg(long)]
        dry_run: bool,
    },
}

fn print_json(v: &impl Serialize) {
    println!(
        "{}",
        serde_json::to_string_pretty(v).expect("report serialises")
    );
}

fn fail(json: bool, code: &str, message: &str, exit: i32) -> i32 {
    if json {
        print_json(&json!({"error": code, "message": message}));
    } else {
        eprintln!("error: {message}");
    }
    exit
}

async fn connect_or_exit(k: &KubeArgs) -> Result<(KubeTarget, String), i32> {
    match connect::connect(k.kubeconfig.as_deref(), k.context.as_deref()).await {
        Ok(t) => {
            let ns = k
                .namespace
                .clone()
                .unwrap_or_else(|| t.default_namespace.clone());
            Ok((t, ns))
        }
        Err(e) => Err(fail(k.json, "connect", &e.to_string(), EXIT_FAILED)),
    }
}

fn action_exit(e: &ActionError) -> i32 {
    match e {
        ActionError::Forbidden { .. } => EXIT_REFUSED,
        ActionError::Conflict { .. } => EXIT_CONFLICT,
        ActionError::Invalid(_) | ActionError::NotFound { .. } => EXIT_INVALID,
        ActionError::Api { .. } => EXIT_FAILED,
        ActionError::Managed { .. } => EXIT_MANAGED,
        ActionError::Audit(f) => i32::from(f.exit_code()),
    }
}

fn print_action(json: bool, r: &Result<ActionReport, ActionError>) -> i32 {
    match r {
        Ok(rep) => {
            if json {
                print_json(rep);
            } else {
                let prefix = if rep.dry_run { "(dry run) " } else { "" };
                println!("{prefix}{}", rep.message);
                if let (Some(o), Some(n)) = (&rep.old, &rep.new)
                    && rep.changed
                {
                    println!("  {o} → {n}");
                }
                if let Some(owner) = &rep.owner {
                    println!(
                        "  note: {}; gone on all the same (--force-unmanaged)",
                        owner.managed_by()
                    );
                }
            }
            EXIT_OK
        }
        // The owner in full, for scripts that route the change to it.
        Err(e @ ActionError::Managed { owner, .. }) if json => {
            print_json(&json!({"error": e.code(), "message": e.to_string(), "owner": owner}));
            EXIT_MANAGED
        }
        Err(e) => fail(json, e.code(), &e.to_string(), action_exit(e)),
    }
}

/// `berth rollout …`; returns the process exit code.
pub async fn run_rollout(args: RolloutArgs) -> i32 {
    let json = args.kube.json;
    let workload = args.command.workload();
    // Pause exists for Deployments only (the apiserver has no such field elsewhere).
    if workload.kind != WorkloadKind::Deployment
        && matches!(
            args.command,
            RolloutCommand::Pause { .. } | RolloutCommand::Resume { .. }
        )
    {
        return fail(
            json,
            "invalid",
            &format!(
                "{workload}: only deployments can be paused and resumed; a {} holds a rollout \
                 back with its update strategy (OnDelete, or a StatefulSet's partition); \
                 nothing was changed",
                workload.kind.noun()
            ),
            EXIT_INVALID,
        );
    }
    // Read set-image's arguments before connecting: a mistake there needs no cluster.
    let set_image = match &args.command {
        RolloutCommand::SetImage {
            container,
            more,
            tag,
            digest,
            image,
            ..
        } => match set_image_request(
            &container.iter().chain(more).cloned().collect::<Vec<_>>(),
            tag.as_deref(),
            digest.as_deref(),
            image.as_deref(),
        ) {
            Ok(r) => Some(r),
            Err(e) => return fail(json, "invalid", &e, EXIT_INVALID),
        },
        _ => None,
    };
    let (target, ns) = match connect_or_exit(&args.kube).await {
        Ok(x) => x,
        Err(code) => return code,
    };
    let target = &target;
    let ctx = |dry_run: bool, force_unmanaged: bool| async move {
        ActionContext {
            actor: connect::identity(target).await,
            client: target.client.clone(),
            audit: args.kube.audit_log(),
            dry_run,
            owner_policy: if force_unmanaged {
                actions::OwnerPolicy::Allow
            } else {
                actions::OwnerPolicy::Refuse
            },
        }
    };
    match args.command {
        RolloutCommand::Status {
            deployment,
            wait,
            timeout,
        } => {
            status(
                target,
                &ns,
                deployment.kind,
                &deployment.name,
                wait,
                Duration::from_secs(timeout),
                json,
            )
            .await
        }
        RolloutCommand::Restart {
            deployment,
            dry_run,
            force_unmanaged,
        } => {
            let c = ctx(dry_run, force_unmanaged).await;
            let result =
                actions::workload::restart(&c, deployment.kind, &ns, &deployment.name).await;
            print_action(json, &result)
        }
        RolloutCommand::SetImage {
            deployment,
            dry_run,
            force_unmanaged,
            ..
        } => {
            let request = set_image.expect("read above");
            let container = match request.container {
                Some(c) => c,
                None => match sole_container(&target.client, &ns, &deployment).await {
                    Ok(c) => c,
                    Err(e) => return fail(json, e.code(), &e.to_string(), action_exit(&e)),
                },
            };
            let c = ctx(dry_run, force_unmanaged).await;
            let result = actions::workload::set_image(
                &c,
                deployment.kind,
                &ns,
                &deployment.name,
                &container,
                &request.target,
            )
            .await;
            print_action(json, &result)
        }
        RolloutCommand::Undo {
            deployment,
            to_revision,
            dry_run,
            force_unmanaged,
        } => {
            let c = ctx(dry_run, force_unmanaged).await;
            let result =
                actions::workload::undo(&c, deployment.kind, &ns, &deployment.name, to_revision)
                    .await;
            print_action(json, &result)
        }
        RolloutCommand::Pause {
            deployment,
            dry_run,
        } => {
            let c = ctx(dry_run, false).await;
            print_action(
                json,
                &actions::set_paused(&c, &ns, &deployment.name, true).await,
            )
        }
        RolloutCommand::Resume {
            deployment,
            dry_run,
        } => {
            let c = ctx(dry_run, false).await;
            print_action(
                json,
                &actions::set_paused(&c, &ns, &deployment.name, false).await,
            )
        }
    }
}

/// The name of the deployment's only container, for `set-image` without a container name;
/// refused, with the names, when it has several (init containers count: which one is meant
/// would be a guess).
async fn sole_container(
    client: &kube::Client,
    ns: &str,
    workload: &Workload,
) -> Result<String, ActionError> {
    use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, StatefulSet};
    use kube::api::{ApiResource, DynamicObject};
    let name = &workload.name;
    let what = format!("{} {ns}/{name}", workload.kind.noun());
    let resource = match workload.kind {
        WorkloadKind::Deployment => ApiResource::erase::<Deployment>(&()),
        WorkloadKind::StatefulSet => ApiResource::erase::<StatefulSet>(&()),
        WorkloadKind::DaemonSet => ApiResource::erase::<DaemonSet>(&()),
    };
    let d = kube::Api::<DynamicObject>::namespaced_with(client.clone(), ns, &resource)
        .get(name)
        .await
        .map_err(|e| match e {
            kube::Error::Api(s) if s.code == 404 => ActionError::NotFound { what: what.clone() },
            source => ActionError::Api {
                what: what.clone(),
                source,
            },
        })?;
    let spec = &d.data["spec"]["template"]["spec"];
    let names: Vec<String> = ["initContainers", "containers"]
        .iter()
        .flat_map(|f| spec[*f].as_array().into_iter().flatten())
        .filter_map(|c| c["name"].as_str().map(str::to_owned))
        .collect();
    match names.as_slice() {
        [one] => Ok(one.clone()),
        _ => Err(ActionError::Invalid(format!(
            "{what} has {} containers ({}): name the one to change, as CONTAINER=IMAGE; nothing \
             was changed",
            names.len(),
            names.join(", ")
        ))),
    }
}

#[derive(Serialize)]
struct RevisionJson {
    revision: Option<i64>,
    replica_set: String,
    current: bool,
    images: Vec<String>,
    pods: Vec<PodJson>,
}

#[derive(Serialize)]
struct PodJson {
    name: String,
    phase: String,
    ready: bool,
    waiting: Vec<String>,
}

/// Watches the deployment's namespace (deployments, replicasets, pods) into a model until it
/// has listed once — and with `wait`, until the rollout completes or is stuck.
async fn status(
    target: &KubeTarget,
    ns: &str,
    kind: WorkloadKind,
    name: &str,
    wait: bool,
    timeout: Duration,
    json: bool,
) -> i32 {
    let options = WatchOptions {
        namespaces: Some(vec![ns.to_owned()]),
        kinds: kind.watch_kinds(),
    };
    let mut follow = Follow::start(target.client.clone(), &options);
    let end = follow
        .until(timeout, |model| match model.workload(kind, ns, name) {
            None => true,
            Some(d) => {
                !wait
                    || matches!(
                        d.rollout,
                        RolloutState::Complete | RolloutState::Stuck { .. }
                    )
            }
        })
        .await;
    let timed_out = match end {
        FollowEnd::Done => false,
        FollowEnd::TimedOut => true,
        FollowEnd::Forbidden(error) => return fail(json, "forbidden", &error, EXIT_REFUSED),
    };
    let model = follow.model();
    let noun = kind.noun();
    let Some(d) = model.workload(kind, ns, name) else {
        if timed_out {
            return fail(
                json,
                "timeout",
                &format!(
                    "could not list {noun}s in {ns} within {timeout:?}: {:?}",
                    model.connection()
                ),
                EXIT_FAILED,
            );
        }
        return fail(
            json,
            "not_found",
            &format!("{noun} {ns}/{name} not found (check the namespace and name)"),
            EXIT_INVALID,
        );
    };
    let revisions: Vec<RevisionJson> = model
        .revisions(d)
        .into_iter()
        .map(|r| RevisionJson {
            revision: r.revision,
            replica_set: r.replica_set.name.clone(),
            current: r.current,
            images: r.replica_set.images.clone(),
            pods: r
                .pods
                .iter()
                .map(|p| PodJson {
                    name: p.name.clone(),
                    phase: p.phase.clone(),
                    ready: !p.containers.is_empty()
                        && p.containers.iter().filter(|c| !c.init).all(|c| c.ready),
                    waiting: p
                        .containers
                        .iter()
                        .filter_map(|c| match &c.state {
                            super::model::ContainerState::Waiting { reason, .. } => {
                                Some(format!("{}: {reason}", c.name))
                            }
                            _ => None,
                        })
                        .collect(),
                })
                .collect(),
        })
        .collect();
    let (message, reason) = match &d.rollout {
        RolloutState::Pending => (
            format!("Waiting for {noun} spec update to be observed..."),
            None,
        ),
        RolloutState::Progressing { message } => (message.clone(), None),
        RolloutState::Complete => (format!("{noun} {name:?} successfully rolled out"), None),
        RolloutState::Stuck { reason, message } => (message.clone(), Some(reason.clone())),
        RolloutState::Paused => (format!("{noun} {name:?} is paused"), None),
    };
    let code = match &d.rollout {
        RolloutState::Complete => EXIT_OK,
        RolloutState::Stuck { .. } => EXIT_STUCK,
        _ => EXIT_NOT_READY,
    };
    if json {
        print_json(&json!({
            "namespace": ns,
            "deployment": name,
            "kind": noun,
            "state": state_label(&d.rollout),
            "reason": reason,
            "message": message,
            "revision": d.revision,
            "desired": d.desired,
            "updated": d.updated,
            "ready": d.ready,
            "available": d.available,
            "paused": d.paused,
            "owner": d.owner,
            "timed_out": timed_out,
            "revisions": revisions,
        }));
    } else {
        println!("{message}");
        println!(
            "state: {}{}  revision: {}  desired {} updated {} ready {} available {}",
            state_label(&d.rollout),
            reason.map(|r| format!(" ({r})")).unwrap_or_default(),
            d.revision.map_or("-".to_owned(), |r| r.to_string()),
            d.desired,
            d.updated,
            d.ready,
            d.available
        );
        if let Some(owner) = &d.owner {
            println!("owner: {}", owner.managed_by());
        }
        for r in &revisions {
            println!(
                "  revision {}{} {} [{}]",
                r.revision.map_or("?".to_owned(), |v| v.to_string()),
                if r.current { " (current)" } else { "" },
                r.replica_set,
                r.images.join(", ")
            );
            for p in &r.pods {
                println!(
                    "    {} {}{}",
                    p.name,
                    p.phase,
                    if p.waiting.is_empty() {
                        String::new()
                    } else {
                        format!(" waiting: {}", p.waiting.join(", "))
                    }
                );
            }
        }
        if timed_out {
            println!("(gave up waiting after {timeout:?})");
        }
    }
    code
}

fn read_secret_env(var: &str) -> Result<Secret, String> {
    std::env::var(var)
        .ok()
        .filter(|v| !v.is_empty())
        .map(Secret::new)
        .ok_or_else(|| format!("environment variable {var} is not set (it must hold the secret)"))
}

struct SourceParams<'a> {
    kind: SourceKind,
    registry: &'a str,
    azure: &'a AzureArgs,
    token_name: Option<&'a str>,
    token_lifetime_days: i64,
    slot: Option<&'a str>,
    username: Option<&'a str>,
    password_env: Option<&'a str>,
    password_file: Option<&'a std::path::Path>,
    verify_repository: Option<&'a str>,
    ca_file: Option<&'a std::path::Path>,
}

fn build_source(p: &SourceParams<'_>) -> Result<Box<dyn CredentialSource>, String> {
    let http = http_client(p.ca_file, p.registry).map_err(|e| e.to_string())?;
    let slot = match p.slot {
        Some(s) => SlotPolicy::Fixed(s.to_owned()),
        None => SlotPolicy::Alternate,
    };
    let verify_repository = p.verify_repository.map(str::to_owned);
    let arm = || -> Result<std::sync::Arc<RegistryArm>, String> {
        let a = p.azure;
        let need = |v: &Option<String>, flag: &str| {
            v.clone()
                .ok_or_else(|| format!("--{flag} is required for --source {:?}", p.kind))
        };
        // In the order the flags are listed.
        let tenant_id = need(&a.tenant_id, "tenant-id")?;
        let registry_id = format!(
            "/subscriptions/{}/resourceGroups/{}/providers/Microsoft.ContainerRegistry/registries/{}",
            need(&a.subscription_id, "subscription-id")?,
            need(&a.resource_group, "resource-group")?,
            need(&a.registry_name, "registry-name")?,
        );
        let credential = crate::azure::credential::client_secret(
            &tenant_id,
            &need(&a.client_id, "client-id")?,
            &read_secret_env(&a.client_secret_env)?,
            &http,
            Some(a.authority.trim_end_matches('/')),
        )
        .map_err(|e| e.to_string())?;
        let client = ArmClient::new(http.clone(), &a.management_url, credential)
            .map_err(|e| e.to_string())?;
        let mut registry = RegistryArm::new(client, registry_id);
        registry.api_version = a.api_version.clone();
        Ok(std::sync::Arc::new(registry))
    };
    Ok(match p.kind {
        SourceKind::AcrAdmin => Box::new(AcrAdminSource {
            arm: arm()?,
            http: http.clone(),
            login_server: p.registry.to_owned(),
            slot,
            verify_repository,
        }),
        SourceKind::AcrToken => Box::new(AcrTokenSource {
            arm: arm()?,
            http: http.clone(),
            login_server: p.registry.to_owned(),
            token_name: p
                .token_name
                .ok_or("--token-name is required for --source acr-token")?
                .to_owned(),
            lifetime: jiff::SignedDuration::from_hours(24 * p.token_lifetime_days.max(1)),
            slot,
            verify_repository,
        }),
        SourceKind::Static => {
            let password = match (p.password_env, p.password_file) {
                (Some(v), _) => read_secret_env(v)?,
                (None, Some(f)) => Secret::new(
                    std::fs::read_to_string(f)
                        .map_err(|e| format!("cannot read the password file {}: {e}", f.display()))?
                        .trim_end_matches(['\n', '\r'])
                        .to_owned(),
                ),
                (None, None) => {
                    return Err(
                        "--source static needs --password-env VAR or --password-file FILE".into(),
                    );
                }
            };
            Box::new(StaticSource {
                http,
                registry: p.registry.to_owned(),
                username: p
                    .username
                    .ok_or("--username is required for --source static")?
                    .to_owned(),
                password,
                verify_repository,
            })
        }
    })
}

fn rotate_exit(e: &RotateError) -> i32 {
    match e {
        RotateError::Refused(_) => EXIT_REFUSED,
        RotateError::Preflight { .. } | RotateError::NoNamespaces => EXIT_INVALID,
        RotateError::Verification { .. } => EXIT_STUCK,
        RotateError::Obtain { .. } => EXIT_FAILED,
        RotateError::Busy { .. } => EXIT_CONFLICT,
        RotateError::Audit(f) => i32::from(f.exit_code()),
    }
}

/// `berth secret …`; returns the process exit code.
pub async fn run_secret(args: SecretArgs) -> i32 {
    let json = args.kube.json;
    let (target, ns) = match connect_or_exit(&args.kube).await {
        Ok(x) => x,
        Err(code) => return code,
    };
    let actor = connect::identity(&target).await;
    let audit = args.kube.audit_log();
    match args.command {
        SecretCommand::Attach {
            secret,
            service_account,
            dry_run,
        } => {
            let ctx = ActionContext {
                client: target.client.clone(),
                actor,
                audit,
                dry_run,
                owner_policy: Default::default(),
            };
            match rotate::attach(&ctx, &ns, &service_account, &secret).await {
                Ok(added) => {
                    let msg = if added {
                        format!(
                            "{}secret {secret} attached to service account {ns}/{service_account}",
                            if dry_run { "(dry run) " } else { "" }
                        )
                    } else {
                        format!("service account {ns}/{service_account} already lists {secret}")
                    };
                    if json {
                        print_json(
                            &json!({"namespace": ns, "service_account": service_account, "secret": secret, "added": added, "dry_run": dry_run, "message": msg}),
                        );
                    } else {
                        println!("{msg}");
                    }
                    EXIT_OK
                }
                Err(e) => fail(json, e.code(), &e.to_string(), action_exit(&e)),
            }
        }
        SecretCommand::Rotate {
            secret,
            namespaces,
            source,
            registry,
            azure,
            token_name,
            token_lifetime_days,
            slot,
            username,
            password_env,
            password_file,
            verify_repository,
            ca_file,
            restart_failing,
            attach,
            invalidate_old,
            concurrency,
            dry_run,
        } => {
            let params = SourceParams {
                kind: source,
                registry: &registry,
                azure: &azure,
                token_name: token_name.as_deref(),
                token_lifetime_days,
                slot: slot.as_deref(),
                username: username.as_deref(),
                password_env: password_env.as_deref(),
                password_file: password_file.as_deref(),
                verify_repository: verify_repository.as_deref(),
                ca_file: ca_file.as_deref(),
            };
            let src = match build_source(&params) {
                Ok(s) => s,
                Err(e) => return fail(json, "invalid", &e, EXIT_INVALID),
            };
            if let Some(w) = src.warning()
                && !json
            {
                eprintln!("warning: {w}");
            }
            let mut req = RotationRequest::new(
                &secret,
                if namespaces.is_empty() {
                    vec![ns]
                } else {
                    namespaces
                },
            );
            req.concurrency = concurrency;
            req.dry_run = dry_run;
            req.restart_failing = restart_failing;
            req.attach_service_account = attach;
            req.invalidate_old_slot = invalidate_old;
            match rotate::rotate(&target.client, &actor, &audit, src.as_ref(), &req).await {
                Ok(rep) => {
                    let code = if rep.all_ok() { EXIT_OK } else { EXIT_PARTIAL };
                    if json {
                        print_json(&rep);
                    } else {
                        println!(
                            "{}rotated {} for {} via {}{}",
                            if rep.dry_run { "(dry run) " } else { "" },
                            rep.secret_name,
                            rep.registry,
                            rep.source,
                            rep.slot
                                .as_ref()
                                .map(|s| format!(" (slot {s})"))
                                .unwrap_or_default()
                        );
                        for n in &rep.namespaces {
                            println!(
                                "  {}: {:?}{}{}{}{}",
                                n.namespace,
                                n.secret,
                                n.message
                                    .as_ref()
                                    .map(|m| format!(" — {m}"))
                                    .unwrap_or_default(),
                                n.attached
                                    .map(|a| if a {
                                        ", attached"
                                    } else {
                                        ", already attached"
                                    })
                                    .unwrap_or(""),
                                if n.restarted.is_empty() {
                                    String::new()
                                } else {
                                    format!(", restarted {}", n.restarted.join(" "))
                                },
                                if n.follow_up_errors.is_empty() {
                                    String::new()
                                } else {
                                    format!(", errors: {}", n.follow_up_errors.join("; "))
                                }
                            );
                        }
                        if let Some(s) = &rep.invalidated_slot {
                            println!("old slot {s} invalidated");
                        }
                        if let Some(s) = &rep.invalidate_skipped {
                            println!("old slot kept valid: {s}");
                        }
                    }
                    code
                }
                Err(e) => fail(json, e.code(), &e.to_string(), rotate_exit(&e)),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser, Debug)]
    struct Cli {
        #[command(subcommand)]
        cmd: Top,
    }
    #[allow(clippy::large_enum_variant)]
    #[derive(Subcommand, Debug)]
    enum Top {
        Rollout(RolloutArgs),
        Secret(SecretArgs),
    }

    #[test]
    fn parses_the_documented_commands() {
        let c = Cli::try_parse_from([
            "berth",
            "rollout",
            "set-image",
            "web",
            "app",
            "--tag",
            "1.0.2",
            "-n",
            "prod",
            "--json",
            "--dry-run",
        ])
        .unwrap();
        let Top::Rollout(a) = c.cmd else { panic!() };
        assert_eq!(a.kube.namespace.as_deref(), Some("prod"));
        assert!(a.kube.json);
        assert!(matches!(
            a.command,
            RolloutCommand::SetImage { dry_run: true, .. }
        ));
        assert!(
            Cli::try_parse_from([
                "berth",
                "rollout",
                "set-image",
                "web",
                "app",
                "--tag",
                "1",
                "--digest",
                "sha256:x"
            ])
            .is_err(),
            "tag and digest are exclusive"
        );
        let c = Cli::try_parse_from([
            "berth",
            "secret",
            "rotate",
            "--secret",
            "acr",
            "--in",
            "a",
            "--in",
            "b",
            "--source",
            "acr-token",
            "--registry",
            "r.io",
            "--token-name",
            "t",
        ])
        .unwrap();
        let Top::Secret(a) = c.cmd else { panic!() };
        let SecretCommand::Rotate {
            namespaces, source, ..
        } = a.command
        else {
            panic!()
        };
        assert_eq!(namespaces, ["a", "b"]);
        assert_eq!(source, SourceKind::AcrToken);
    }

    #[test]
    fn workloads_parse_as_kubectl_writes_them() {
        let d = |n: &str| Workload {
            kind: WorkloadKind::Deployment,
            name: n.into(),
        };
        for s in [
            "web",
            "deploy/web",
            "deployment/web",
            "deployments/web",
            "Deploy/web",
        ] {
            assert_eq!(parse_workload(s), Ok(d("web")), "{s}");
        }
        assert_eq!(
            parse_workload("sts/db").unwrap().kind,
            WorkloadKind::StatefulSet
        );
        assert_eq!(
            parse_workload("statefulset/db").unwrap().kind,
            WorkloadKind::StatefulSet
        );
        assert_eq!(
            parse_workload("ds/agent").unwrap().kind,
            WorkloadKind::DaemonSet
        );
        assert_eq!(
            parse_workload("daemonset/agent").unwrap().kind,
            WorkloadKind::DaemonSet
        );
        assert_eq!(parse_workload("web.v2"), Ok(d("web.v2")));
        let e = parse_workload("pod/web").unwrap_err();
        assert!(e.contains("unknown workload type \"pod\""), "{e}");
        let e = parse_workload("Web").unwrap_err();
        assert!(e.contains("not a valid deployment name"), "{e}");
        assert!(
            parse_workload("deploy/")
                .unwrap_err()
                .contains("names no workload")
        );
        assert!(parse_workload("deploy/a/b").is_err());
        assert_eq!(
            parse_workload("sts/db").unwrap().to_string(),
            "statefulset/db"
        );
    }

    #[test]
    fn set_image_takes_kubectls_pairs_and_berths_flags() {
        let v = |xs: &[&str]| xs.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        let r = |c: Option<&str>, t: ImageTarget| SetImageRequest {
            container: c.map(str::to_owned),
            target: t,
        };
        let reference = |i: &str| ImageTarget::Reference(i.into());
        assert_eq!(
            set_image_request(&v(&["web=reg.io/web:1.0.28"]), None, None, None),
            Ok(r(Some("web"), reference("reg.io/web:1.0.28")))
        );
        assert_eq!(
            set_image_request(&v(&["reg.io/web:1.0.28"]), None, None, None),
            Ok(r(None, reference("reg.io/web:1.0.28")))
        );
        assert_eq!(
            set_image_request(&v(&["app"]), Some("1.2"), None, None),
            Ok(r(Some("app"), ImageTarget::Tag("1.2".into())))
        );
        assert_eq!(
            set_image_request(&[], None, Some("sha256:x"), None),
            Ok(r(None, ImageTarget::Digest("sha256:x".into())))
        );
        for (args, flag, needle) in [
            (v(&["app"]), None, "neither CONTAINER=IMAGE"),
            (
                v(&["web=reg.io/web:1"]),
                Some("2"),
                "both name the new image",
            ),
            (v(&["=reg.io/web:1"]), None, "names no container"),
            (v(&["web="]), None, "names no image"),
            (
                v(&["web=web:not/valid"]),
                None,
                "tag \"not/valid\" is not valid",
            ),
            (v(&["Web=web:1"]), None, "not a valid container name"),
            (v(&["*=web:1"]), None, "every container"),
            (v(&["a=x:1", "b=y:1"]), None, "one container at a time"),
        ] {
            let e = set_image_request(&args, flag, None, None).unwrap_err();
            assert!(e.contains(needle), "{args:?}: {e}");
        }
    }

    #[test]
    fn set_image_usage_and_flags() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
        let parse = |args: &[&str]| {
            let mut all = vec!["berth", "rollout", "set-image"];
            all.extend(args);
            Cli::try_parse_from(all)
        };
        assert!(parse(&["deploy/web", "web=reg.io/web:1"]).is_ok());
        assert!(parse(&["web", "--tag", "1"]).is_ok());
        let e = parse(&["web"]).unwrap_err();
        assert_eq!(e.kind(), clap::error::ErrorKind::MissingRequiredArgument);
        let e = parse(&["web", "app", "--tag", "not/valid"])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("tag \"not/valid\" is not valid") && e.contains("position 4"),
            "{e}"
        );
        let e = parse(&["web", "app", "--digest", "sha256:abc"])
            .unwrap_err()
            .to_string();
        assert!(e.contains("64"), "{e}");
        let e = parse(&["web", "app", "--tag", "1", "--image", "r.io/w:1"]).unwrap_err();
        assert_eq!(e.kind(), clap::error::ErrorKind::ArgumentConflict);
        let e = parse(&["web", "app", "--tag", "1", "-n", "Prod"])
            .unwrap_err()
            .to_string();
        assert!(e.contains("not a valid namespace name"), "{e}");
        let help = Cli::command()
            .find_subcommand_mut("rollout")
            .unwrap()
            .find_subcommand_mut("set-image")
            .unwrap()
            .render_help()
            .to_string();
        assert!(help.contains("[CONTAINER=]IMAGE"), "{help}");
        assert!(
            help.contains("<--tag <TAG>|--digest <DIGEST>|--image <IMAGE>>"),
            "{help}"
        );
    }

    #[test]
    fn secret_arguments_are_checked_where_they_are_given() {
        assert_eq!(
            parse_login_server("myacr.azurecr.io"),
            Ok("myacr.azurecr.io".into())
        );
        assert_eq!(
            parse_login_server("127.0.0.1:5000"),
            Ok("127.0.0.1:5000".into())
        );
        let e = parse_login_server("https://myacr.azurecr.io/").unwrap_err();
        assert!(e.contains("like myacr.azurecr.io"), "{e}");
        let e = parse_login_server("myacr.azurecr.io/team").unwrap_err();
        assert!(e.contains("no path"), "{e}");
        assert!(
            parse_login_server("reg.io:99999")
                .unwrap_err()
                .contains("port")
        );
        assert!(parse_object_name("acr-pull").is_ok());
        assert!(parse_object_name("ACR").is_err());
        assert!(parse_namespace("shop").is_ok());
        assert!(parse_namespace("shop.eu").is_err());
    }

    #[test]
    fn static_source_needs_a_password_from_env_or_file() {
        let azure = AzureArgs {
            authority: String::new(),
            management_url: String::new(),
            tenant_id: None,
            subscription_id: None,
            resource_group: None,
            registry_name: None,
            client_id: None,
            client_secret_env: "X".into(),
            api_version: DEFAULT_API_VERSION.into(),
        };
        let p = SourceParams {
            kind: SourceKind::Static,
            registry: "r",
            azure: &azure,
            token_name: None,
            token_lifetime_days: 1,
            slot: None,
            username: Some("u"),
            password_env: None,
            password_file: None,
            verify_repository: None,
            ca_file: None,
        };
        let e = build_source(&p).err().unwrap();
        assert!(e.contains("--password-env"), "{e}");
        let p = SourceParams {
            kind: SourceKind::AcrAdmin,
            ..p
        };
        let e = build_source(&p).err().unwrap();
        assert!(e.contains("--tenant-id"), "{e}");
    }
}
