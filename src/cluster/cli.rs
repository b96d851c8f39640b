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
use tokio::sync::mpsc;

use crate::audit::AuditLog;
use crate::secret::Secret;

use super::acr_source::{
    AcrAdminSource, AcrTokenSource, ArmClient, ArmTarget, ClientSecretCredential,
    DEFAULT_API_VERSION, SlotPolicy, StaticSource, http_client,
};
use super::actions::{self, ActionContext, ActionError, ActionReport, ImageTarget};
use super::connect::{self, KubeTarget};
use super::model::{ConnectionState, Kind, ModelUpdate, RolloutState};
use super::rollout::state_label;
use super::rotate::{self, CredentialSource, RotateError, RotationRequest};
use super::store::ClusterModel;
use super::watch::{WatchOptions, Watchers};

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
    #[arg(short = 'n', long, global = true)]
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

#[derive(Subcommand, Debug, Clone)]
pub enum RolloutCommand {
    /// Rollout state as `kubectl rollout status` computes it, with revisions and their pods
    Status {
        deployment: String,
        /// Wait until the rollout completes or is stuck
        #[arg(long)]
        wait: bool,
        /// With --wait: give up after this many seconds
        #[arg(long, default_value_t = 300)]
        timeout: u64,
    },
    /// Restart the pods (the kubectl.kubernetes.io/restartedAt template annotation)
    Restart {
        deployment: String,
        #[arg(long)]
        dry_run: bool,
    },
    /// Point one container at another tag, a pinned digest, or a whole image reference
    SetImage {
        deployment: String,
        /// Container (or init container) name
        container: String,
        #[arg(long, group = "target", required = true)]
        tag: Option<String>,
        #[arg(long, group = "target")]
        digest: Option<String>,
        #[arg(long, group = "target")]
        image: Option<String>,
        #[arg(long)]
        dry_run: bool,
    },
    /// Roll back to the previous revision (or --to-revision), as `kubectl rollout undo`
    Undo {
        deployment: String,
        #[arg(long)]
        to_revision: Option<i64>,
        #[arg(long)]
        dry_run: bool,
    },
    Pause {
        deployment: String,
        #[arg(long)]
        dry_run: bool,
    },
    Resume {
        deployment: String,
        #[arg(long)]
        dry_run: bool,
    },
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
    #[arg(long, env = "AZURE_TENANT_ID")]
    pub tenant_id: Option<String>,
    #[arg(long, env = "AZURE_SUBSCRIPTION_ID")]
    pub subscription_id: Option<String>,
    #[arg(long)]
    pub resource_group: Option<String>,
    /// The registry's ARM name
    #[arg(long)]
    pub registry_name: Option<String>,
    /// Service principal client id
    #[arg(long, env = "AZURE_CLIENT_ID")]
    pub client_id: Option<String>,
    /// Name of the environment variable holding the client secret (never pass it as a flag)
    #[arg(long, default_value = "AZURE_CLIENT_SECRET")]
    pub client_secret_env: String,
    #[arg(long, default_value = DEFAULT_API_VERSION)]
    pub api_version: String,
}

// Parsed once per process: size does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand, Debug, Clone)]
pub enum SecretCommand {
    /// Mint fresh registry credentials, verify them, write the pull secret in every namespace
    Rotate {
        /// The pull secret's name
        #[arg(long)]
        secret: String,
        /// Namespaces to write (repeatable); default: -n / the context's namespace
        #[arg(long = "in", value_name = "NAMESPACE")]
        namespaces: Vec<String>,
        #[arg(long, value_enum)]
        source: SourceKind,
        /// Registry login server (host[:port]), the key written into the secret
        #[arg(long)]
        registry: String,
        #[command(flatten)]
        azure: AzureArgs,
        /// acr-token: the token's name
        #[arg(long)]
        token_name: Option<String>,
        /// acr-token: lifetime of the new password, in days
        #[arg(long, default_value_t = 90)]
        token_lifetime_days: i64,
        /// Regenerate this slot instead of the one not in use
        #[arg(long)]
        slot: Option<String>,
        /// static: the username
        #[arg(long)]
        username: Option<String>,
        /// static: environment variable holding the password
        #[arg(long)]
        password_env: Option<String>,
        /// static: file holding the password
        #[arg(long)]
        password_file: Option<PathBuf>,
        /// Prove pull access on this repository when verifying
        #[arg(long)]
        verify_repository: Option<String>,
        /// Extra CA bundle (PEM) to trust for Entra, ARM and the registry
        #[arg(long, env = "BERTH_CA_FILE")]
        ca_file: Option<PathBuf>,
        /// Restart deployments whose pods fail to pull from this registry
        #[arg(long)]
        restart_failing: bool,
        /// Also add the secret to this service account's imagePullSecrets
        #[arg(long)]
        attach: Option<String>,
        /// After every namespace is written, invalidate the slot that was in use
        #[arg(long)]
        invalidate_old: bool,
        /// Parallel namespace writes
        #[arg(long, default_value_t = 8)]
        concurrency: usize,
        #[arg(long)]
        dry_run: bool,
    },
    /// Add a pull secret to a service account's imagePullSecrets
    Attach {
        #[arg(long)]
        secret: String,
        #[arg(long, default_value = "default")]
        service_account: String,
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
            }
            EXIT_OK
        }
        Err(e) => fail(json, e.code(), &e.to_string(), action_exit(e)),
    }
}

/// `berth rollout …`; returns the process exit code.
pub async fn run_rollout(args: RolloutArgs) -> i32 {
    let json = args.kube.json;
    let (target, ns) = match connect_or_exit(&args.kube).await {
        Ok(x) => x,
        Err(code) => return code,
    };
    let target = &target;
    let ctx = |dry_run: bool| async move {
        ActionContext {
            actor: connect::identity(target).await,
            client: target.client.clone(),
            audit: args.kube.audit_log(),
            dry_run,
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
                &deployment,
                wait,
                Duration::from_secs(timeout),
                json,
            )
            .await
        }
        RolloutCommand::Restart {
            deployment,
            dry_run,
        } => {
            let c = ctx(dry_run).await;
            print_action(json, &actions::restart(&c, &ns, &deployment).await)
        }
        RolloutCommand::SetImage {
            deployment,
            container,
            tag,
            digest,
            image,
            dry_run,
        } => {
            let t = match (tag, digest, image) {
                (Some(t), _, _) => ImageTarget::Tag(t),
                (_, Some(d), _) => ImageTarget::Digest(d),
                (_, _, Some(i)) => ImageTarget::Reference(i),
                _ => {
                    return fail(
                        json,
                        "invalid",
                        "give --tag, --digest or --image",
                        EXIT_INVALID,
                    );
                }
            };
            let c = ctx(dry_run).await;
            print_action(
                json,
                &actions::set_image(&c, &ns, &deployment, &container, &t).await,
            )
        }
        RolloutCommand::Undo {
            deployment,
            to_revision,
            dry_run,
        } => {
            let c = ctx(dry_run).await;
            print_action(
                json,
                &actions::undo(&c, &ns, &deployment, to_revision).await,
            )
        }
        RolloutCommand::Pause {
            deployment,
            dry_run,
        } => {
            let c = ctx(dry_run).await;
            print_action(json, &actions::set_paused(&c, &ns, &deployment, true).await)
        }
        RolloutCommand::Resume {
            deployment,
            dry_run,
        } => {
            let c = ctx(dry_run).await;
            print_action(
                json,
                &actions::set_paused(&c, &ns, &deployment, false).await,
            )
        }
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
    name: &str,
    wait: bool,
    timeout: Duration,
    json: bool,
) -> i32 {
    let (tx, mut rx) = mpsc::channel::<ModelUpdate>(1024);
    let options = WatchOptions {
        namespaces: Some(vec![ns.to_owned()]),
        kinds: vec![Kind::Deployment, Kind::ReplicaSet, Kind::Pod],
    };
    let watchers = Watchers::spawn(target.client.clone(), &options, 1, tx);
    let mut model = ClusterModel::new(watchers.epoch());
    let deadline = tokio::time::Instant::now() + timeout;
    let expected_scopes = watchers.task_count();
    let mut timed_out = false;
    loop {
        let live = model.connections().len() == expected_scopes
            && model
                .connections()
                .values()
                .all(|s| *s == ConnectionState::Live);
        if live {
            let done = match model.deployment(ns, name) {
                None => true,
                Some(d) => {
                    !wait
                        || matches!(
                            d.rollout,
                            RolloutState::Complete | RolloutState::Stuck { .. }
                        )
                }
            };
            if done {
                break;
            }
        }
        if let Some(ConnectionState::Forbidden { error }) = model
            .connections()
            .values()
            .find(|s| matches!(s, ConnectionState::Forbidden { .. }))
        {
            return fail(json, "forbidden", error, EXIT_REFUSED);
        }
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Some(u)) => {
                model.apply(u);
            }
            Ok(None) => break,
            Err(_) => {
                timed_out = true;
                break;
            }
        }
    }
    drop(watchers);
    let Some(d) = model.deployment(ns, name) else {
        if timed_out {
            return fail(
                json,
                "timeout",
                &format!(
                    "could not list deployments in {ns} within {timeout:?}: {:?}",
                    model.connection()
                ),
                EXIT_FAILED,
            );
        }
        return fail(
            json,
            "not_found",
            &format!("deployment {ns}/{name} not found (check the namespace and name)"),
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
            "Waiting for deployment spec update to be observed...".to_owned(),
            None,
        ),
        RolloutState::Progressing { message } => (message.clone(), None),
        RolloutState::Complete => (format!("deployment {name:?} successfully rolled out"), None),
        RolloutState::Stuck { reason, message } => (message.clone(), Some(reason.clone())),
        RolloutState::Paused => (format!("deployment {name:?} is paused"), None),
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
            "state": state_label(&d.rollout),
            "reason": reason,
            "message": message,
            "revision": d.revision,
            "desired": d.desired,
            "updated": d.updated,
            "ready": d.ready,
            "available": d.available,
            "paused": d.paused,
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
    let ca = match p.ca_file {
        Some(f) => Some(
            std::fs::read(f)
                .map_err(|e| format!("cannot read the CA file {}: {e}", f.display()))?,
        ),
        None => None,
    };
    let http = http_client(ca.as_deref()).map_err(|e| e.to_string())?;
    let slot = match p.slot {
        Some(s) => SlotPolicy::Fixed(s.to_owned()),
        None => SlotPolicy::Alternate,
    };
    let verify_repository = p.verify_repository.map(str::to_owned);
    let arm = || -> Result<std::sync::Arc<ArmClient>, String> {
        let a = p.azure;
        let need = |v: &Option<String>, flag: &str| {
            v.clone()
                .ok_or_else(|| format!("--{flag} is required for --source {:?}", p.kind))
        };
        let target = ArmTarget {
            authority: a.authority.clone(),
            management: a.management_url.clone(),
            tenant_id: need(&a.tenant_id, "tenant-id")?,
            subscription_id: need(&a.subscription_id, "subscription-id")?,
            resource_group: need(&a.resource_group, "resource-group")?,
            registry_name: need(&a.registry_name, "registry-name")?,
            api_version: a.api_version.clone(),
        };
        let credential = ClientSecretCredential {
            client_id: need(&a.client_id, "client-id")?,
            client_secret: read_secret_env(&a.client_secret_env)?,
        };
        Ok(std::sync::Arc::new(ArmClient::new(
            http.clone(),
            target,
            credential,
        )))
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
