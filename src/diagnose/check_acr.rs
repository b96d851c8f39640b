//! `berth check-acr`: can the cluster's nodes pull from the registry with their kubelet
//! identity? What `az aks check-acr` checks (the node is an AKS node with a kubelet identity,
//! the registry's name resolves) plus what it misses: the identity on the node pool's scale
//! set (IMDS serves only those), its role assignments on the registry read from ARM, the
//! registry's network rules against the cluster's egress addresses. `--fix` makes the fixes
//! it finds (the AcrPull role assignment, an IP rule), each after a permission check, with
//! confirmation and an audit record.
//!
//! Exit codes: 0 every check passed (or every fix was applied); 1 a problem was found;
//! 2 bad input; 4 a fix was refused (no permission, not confirmed); 6 no problem found, but
//! some checks could not be made (ARM not readable: the output says why); 8 the cluster could
//! not be read; 9/10 the audit log (see `berth help`).

use std::io::{BufRead, IsTerminal, Write};
use std::process::ExitCode;

use clap::Args;
use k8s_openapi::api::core::v1::Node;
use kube::Api;
use serde::Serialize;
use serde_json::json;

use super::cause::Cause;
use super::facts::{AksArmFacts, NodeFacts};
use super::fix::{Fix, FixAction};
use super::gather::GatherOptions;
use crate::audit::{AuditFailure, AuditLog, AuditedError, Outcome, Subject, audited};
use crate::azure::aks;
use crate::azure::arm::{ArmClient, ArmError};
use crate::config::Config;

#[derive(Debug, Clone, Args)]
pub struct CheckAcrArgs {
    /// The registry's login server (default: the only `[[registry]]` with `[registry.arm]`).
    #[arg(long, value_name = "HOST")]
    pub registry: Option<String>,
    /// The node whose kubelet identity to check (default: the first AKS node).
    #[arg(long, value_name = "NODE")]
    pub node: Option<String>,
    /// Also pull as the node does, from here: the kubelet identity's token from IMDS (on an
    /// AKS node, or a pod with host networking there; default http://169.254.169.254), ACR's
    /// exchange, a pull-scope token, and the manifest of --image.
    #[arg(long, value_name = "URL", num_args = 0..=1, default_missing_value = "http://169.254.169.254")]
    pub imds: Option<String>,
    /// With --imds: the image to read, REPOSITORY:TAG (or @DIGEST) in the registry.
    #[arg(long, value_name = "REPOSITORY:TAG", requires = "imds")]
    pub image: Option<String>,
    /// Print JSON for scripts.
    #[arg(long)]
    pub json: bool,
    /// Make the fixes found (asks first on a terminal; give --yes in scripts).
    #[arg(long)]
    pub fix: bool,
    /// With --fix: do not ask.
    #[arg(long, requires = "fix")]
    pub yes: bool,
    /// With --fix: check permissions and say what would be done, change nothing.
    #[arg(long, requires = "fix")]
    pub dry_run: bool,
}

pub const EXIT_PROBLEM: u8 = 1;
pub const EXIT_BAD_INPUT: u8 = 2;
pub const EXIT_REFUSED: u8 = 4;
pub const EXIT_INCOMPLETE: u8 = 6;
pub const EXIT_CLUSTER: u8 = 8;

/// One check, as a person and a script read it.
#[derive(Clone, Debug, Serialize)]
pub struct Check {
    /// A stable name (`node`, `dns`, `kubelet_identity`, `node_pool`, `role`, `network`).
    pub check: &'static str,
    /// `None`: could not be checked (the text says why).
    pub ok: Option<bool>,
    pub text: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct Report {
    pub registry: String,
    pub node: Option<String>,
    pub checks: Vec<Check>,
    pub causes: Vec<CauseShown>,
    pub fixes: Vec<Fix>,
    /// What ARM said, for scripts.
    pub arm: Option<AksArmFacts>,
}

#[derive(Clone, Debug, Serialize)]
pub struct CauseShown {
    pub kind: &'static str,
    pub headline: String,
    pub cause: Cause,
}

impl Report {
    fn exit_code(&self) -> u8 {
        if !self.causes.is_empty() || self.checks.iter().any(|c| c.ok == Some(false)) {
            EXIT_PROBLEM
        } else if self.checks.iter().any(|c| c.ok.is_none()) {
            EXIT_INCOMPLETE
        } else {
            0
        }
    }

    fn text(&self) -> String {
        let mut s = format!("check-acr: {}", self.registry);
        if let Some(n) = &self.node {
            s.push_str(&format!(" from node {n}"));
        }
        s.push('\n');
        for c in &self.checks {
            let mark = match c.ok {
                Some(true) => "✓",
                Some(false) => "✗",
                None => "?",
            };
            s.push_str(&format!("  {mark} {:<16} {}\n", c.check, c.text));
        }
        for c in &self.causes {
            s.push_str(&format!("cause: {}\n", c.headline));
        }
        for f in &self.fixes {
            s.push_str(&format!("fix: {}\n", f.title));
            for cmd in f.commands() {
                s.push_str(&format!("  $ {cmd}\n"));
            }
            if let Some(n) = &f.note {
                s.push_str(&format!("  ({n})\n"));
            }
        }
        if self.causes.is_empty() && self.exit_code() == 0 {
            s.push_str("the kubelet identity can pull from this registry\n");
        }
        s
    }
}

/// The registry to check: `--registry`, else the only configured one with ARM.
fn registry_host(args: &CheckAcrArgs, config: &Config) -> Result<String, String> {
    if let Some(h) = &args.registry {
        return config
            .registries
            .iter()
            .find(|r| crate::reference::same_host(&r.host, h))
            .map(|r| r.host.clone())
            .ok_or_else(|| {
                format!("--registry {h}: no [[registry]] with host {h:?} in config.toml (berth reads ARM with its credential)")
            });
    }
    let with_arm: Vec<&str> = config
        .registries
        .iter()
        .filter(|r| r.arm.is_some())
        .map(|r| r.host.as_str())
        .collect();
    match with_arm.as_slice() {
        [one] => Ok((*one).to_owned()),
        [] => Err("no [[registry]] in config.toml has [registry.arm]: add it (subscription_id, resource_group, registry_name) with an Azure credential".into()),
        many => Err(format!("several registries have [registry.arm] ({}): choose one with --registry", many.join(", "))),
    }
}

async fn pick_node(client: &kube::Client, name: Option<&str>) -> Result<NodeFacts, (u8, String)> {
    let nodes: Api<Node> = Api::all(client.clone());
    let cluster = |e: kube::Error| {
        (
            EXIT_CLUSTER,
            format!("cannot read the nodes: {}", crate::startup::error_chain(&e)),
        )
    };
    let list = match name {
        Some(n) => vec![nodes.get_opt(n).await.map_err(cluster)?.ok_or_else(|| {
            (
                EXIT_BAD_INPUT,
                format!("--node {n}: no such node (list them with `kubectl get nodes`)"),
            )
        })?],
        None => {
            nodes
                .list(&Default::default())
                .await
                .map_err(cluster)?
                .items
        }
    };
    let facts: Vec<NodeFacts> = list
        .iter()
        .filter_map(super::cluster_reads::node_facts)
        .collect();
    facts
        .iter()
        .find(|n| n.aks.is_some())
        .cloned()
        .ok_or_else(|| {
            (
                EXIT_BAD_INPUT,
                match name {
                    Some(n) => format!("node {n} is not an AKS node (its providerID names no Azure scale set)"),
                    None => "no AKS node in the cluster (no providerID naming an Azure scale set): check-acr checks AKS clusters".into(),
                },
            )
        })
}

/// The checks, read-only.
pub async fn check(
    args: &CheckAcrArgs,
    client: &kube::Client,
    config: &Config,
) -> Result<Report, (u8, String)> {
    let host = registry_host(args, config).map_err(|e| (EXIT_BAD_INPUT, e))?;
    let node = pick_node(client, args.node.as_deref()).await?;
    let opts = GatherOptions::from_config(config);
    let mut checks = Vec::new();
    let aks_node = node.aks.clone().expect("picked an AKS node");
    checks.push(Check {
        check: "node",
        ok: Some(true),
        text: format!(
            "{} is an AKS node (scale set {}, node resource group {})",
            node.name, aks_node.vmss, aks_node.node_resource_group
        ),
    });
    let name = host.rsplit_once(':').map_or(host.as_str(), |(h, _)| h);
    let port = host
        .rsplit_once(':')
        .and_then(|(_, p)| p.parse().ok())
        .unwrap_or(443u16);
    checks.push(match tokio::net::lookup_host((name, port)).await {
        Ok(mut addrs) => Check {
            check: "dns",
            ok: Some(true),
            text: format!(
                "{name} resolves here to {} (a private endpoint may resolve differently on the node)",
                addrs.next().map(|a| a.ip().to_string()).unwrap_or_default()
            ),
        },
        Err(e) => Check {
            check: "dns",
            ok: Some(false),
            text: format!("{name} does not resolve here: {e}"),
        },
    });
    let mut gaps = Vec::new();
    let arm = super::aks_reads::read(&opts, &node, &host, &mut gaps).await;
    for g in gaps {
        checks.push(Check {
            check: "arm",
            ok: None,
            text: g,
        });
    }
    if let Some(a) = &arm {
        checks.push(match &a.kubelet_identity {
            Some(k) => Check {
                check: "kubelet_identity",
                ok: Some(true),
                text: format!(
                    "managed cluster {}: client id {}, object id {}",
                    a.cluster.name, k.client_id, k.object_id
                ),
            },
            None => Check {
                check: "kubelet_identity",
                ok: Some(false),
                text: format!("managed cluster {} has no kubelet identity", a.cluster.name),
            },
        });
        if let Some(on) = a.on_node_pool {
            checks.push(Check {
                check: "node_pool",
                ok: Some(on),
                text: if on {
                    format!("scale set {} carries the kubelet identity", aks_node.vmss)
                } else {
                    format!("scale set {} does not carry the kubelet identity: IMDS answers \"Identity not found\"", aks_node.vmss)
                },
            });
        }
        if let Some(roles) = &a.role_assignments {
            let pulls: Vec<String> = roles
                .iter()
                .filter_map(|r| r.pull_role.map(|n| format!("{n} at {}", r.scope)))
                .collect();
            checks.push(Check {
                check: "role",
                ok: Some(!pulls.is_empty()),
                text: if pulls.is_empty() {
                    "no role assignment lets the kubelet identity pull from the registry".into()
                } else {
                    pulls.join("; ")
                },
            });
        }
        if let Some(n) = &a.network {
            let blocked = a.blocked_ips();
            checks.push(Check {
                check: "network",
                ok: Some(blocked.is_empty() && n.public_network_access != "Disabled"),
                text: format!(
                    "public access {}, default action {}, IP rules [{}]; egress IPs [{}]{}",
                    n.public_network_access,
                    n.default_action,
                    n.ip_rules.join(", "),
                    a.egress_ips.join(", "),
                    if blocked.is_empty() {
                        " admitted".to_owned()
                    } else {
                        format!(": {} refused", blocked.join(", "))
                    }
                ),
            });
        }
    }
    if let Some(imds) = &args.imds {
        let client_id = aks_node.kubelet_identity_client_id.clone().or_else(|| {
            arm.as_ref()
                .and_then(|a| a.kubelet_identity.as_ref())
                .map(|k| k.client_id.clone())
        });
        checks.extend(
            pull_as_the_node(
                &opts,
                &host,
                imds,
                client_id.as_deref(),
                args.image.as_deref(),
            )
            .await,
        );
    }
    let now = jiff::Timestamp::now();
    let causes: Vec<Cause> = arm
        .as_ref()
        .map(|a| super::kubelet_identity::arm_causes(&host, a))
        .unwrap_or_default();
    let fixes = causes
        .iter()
        .filter_map(|c| {
            super::kubelet_identity::fixes_for(c, arm.as_ref().map(|a| &a.cluster), Some(&aks_node))
        })
        .flatten()
        .collect();
    Ok(Report {
        registry: host,
        node: Some(node.name.clone()),
        checks,
        causes: causes
            .into_iter()
            .map(|c| CauseShown {
                kind: c.kind(),
                headline: c.headline(now),
                cause: c,
            })
            .collect(),
        fixes,
        arm,
    })
}

/// What the node's credential provider does, from here: IMDS → `/oauth2/exchange` → (with an
/// image) a pull-scope token and the manifest — what `az aks check-acr`'s canipull never asks.
async fn pull_as_the_node(
    opts: &GatherOptions,
    host: &str,
    imds: &str,
    client_id: Option<&str>,
    image: Option<&str>,
) -> Vec<Check> {
    let check = |check, ok, text: String| Check {
        check,
        ok: Some(ok),
        text,
    };
    let reg = match opts.registry_config(host) {
        Some(cfg) => match crate::registry::connect::connect(cfg).await {
            Ok(r) => r,
            Err(e) => return vec![check("imds", false, e.to_string())],
        },
        None => return vec![check("imds", false, format!("no [[registry]] for {host}"))],
    };
    let http = reg.client.http().clone();
    let mut url = format!(
        "{}/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https://management.azure.com/",
        imds.trim_end_matches('/')
    );
    if let Some(c) = client_id {
        url.push_str(&format!("&client_id={c}"));
    }
    let answer = match http.get(&url).header("Metadata", "true").send().await {
        Ok(r) => r,
        Err(e) => {
            return vec![check(
                "imds",
                false,
                format!(
                    "IMDS at {imds} does not answer ({}): run this on a node of the pool",
                    crate::registry::error::chain(&e)
                ),
            )];
        }
    };
    let status = answer.status();
    let body = answer.bytes().await.unwrap_or_default();
    let token = match serde_json::from_slice::<serde_json::Value>(&body) {
        Ok(v) if status.is_success() => v["access_token"].as_str().map(crate::secret::Secret::new),
        Ok(v) => {
            return vec![check(
                "imds",
                false,
                format!(
                    "IMDS refuses the kubelet identity's token ({status}): {}: {}",
                    v["error"].as_str().unwrap_or_default(),
                    v["error_description"].as_str().unwrap_or_default()
                ),
            )];
        }
        Err(_) => None,
    };
    let Some(token) = token else {
        return vec![check(
            "imds",
            false,
            format!("IMDS answered {status} without a token"),
        )];
    };
    let mut out = vec![check(
        "imds",
        true,
        format!(
            "IMDS gave the kubelet identity{} a token",
            client_id.map(|c| format!(" ({c})")).unwrap_or_default()
        ),
    )];
    let exchange = http
        .post(format!("https://{host}/oauth2/exchange"))
        .form(&[
            ("grant_type", "access_token"),
            ("service", host),
            ("access_token", token.expose()),
        ])
        .send()
        .await;
    let refresh = match exchange {
        Ok(r) if r.status().is_success() => {
            let body = r.bytes().await.unwrap_or_default();
            match crate::registry::client::read_exchange_answer(&body) {
                Ok((t, _)) => t,
                Err(e) => {
                    out.push(check("exchange", false, e));
                    return out;
                }
            }
        }
        Ok(r) => {
            let status = r.status();
            let body = r.bytes().await.unwrap_or_default();
            out.push(check(
                "exchange",
                false,
                format!(
                    "{host}/oauth2/exchange answers {status}: {}",
                    crate::registry::client::token_error_detail(&body)
                ),
            ));
            return out;
        }
        Err(e) => {
            out.push(check(
                "exchange",
                false,
                format!(
                    "{host}/oauth2/exchange: {}",
                    crate::registry::error::chain(&e)
                ),
            ));
            return out;
        }
    };
    out.push(check(
        "exchange",
        true,
        format!("{host} exchanged it for an ACR refresh token"),
    ));
    let Some(image) = image else {
        return out;
    };
    let reference = match crate::reference::Reference::parse(&format!("{host}/{image}")) {
        Ok(r) => r,
        Err(e) => {
            out.push(check("pull", false, format!("--image {image}: {e}")));
            return out;
        }
    };
    let credential =
        crate::registry::Credential::basic("00000000-0000-0000-0000-000000000000", refresh);
    let options = crate::registry::probe::ProbeOptions {
        ca_file: reg.config.ca_file.clone(),
        kind: Some(crate::registry::RegistryKind::Acr),
    };
    let report = crate::registry::probe::probe(&reference, credential, &options).await;
    out.push(check(
        "pull",
        report.outcome.is_ok(),
        format!(
            "as the kubelet identity, from this machine: {}",
            super::evidence::probe_line(&report.outcome)
        ),
    ));
    out
}

#[derive(Debug, thiserror::Error)]
pub enum FixError {
    #[error("{0}")]
    Arm(#[from] ArmError),
    #[error(
        "you may not {what}: your Azure identity lacks {action} at {scope}; ask an Owner (or User Access Administrator) to run: {command}"
    )]
    Forbidden {
        what: String,
        action: &'static str,
        scope: String,
        command: String,
    },
    #[error(transparent)]
    Audit(#[from] AuditFailure),
    #[error("{0}")]
    Setup(String),
}

impl FixError {
    /// What the user does next.
    pub fn hint(&self) -> &'static str {
        match self {
            FixError::Forbidden { .. } => "nothing was changed; the message says who can do it",
            FixError::Audit(AuditFailure::NotAudited { .. }) => {
                "the change was made: check it, and make the audit log writable"
            }
            FixError::Audit(_) => "nothing was changed; make the audit log writable",
            FixError::Arm(_) => {
                "check the change in the Azure portal; `berth check-acr` reads the state again"
            }
            FixError::Setup(_) => "nothing was changed",
        }
    }

    pub fn applied_unaudited(&self) -> bool {
        matches!(self, FixError::Audit(AuditFailure::NotAudited { .. }))
    }
}

/// [`apply`] with the ARM access of the `[[registry]]` for `registry` (also the TUI's one key).
pub async fn apply_for_registry(
    opts: &GatherOptions,
    registry: &str,
    audit: &AuditLog,
    action: &FixAction,
    dry_run: bool,
) -> Result<String, FixError> {
    let (arm, _) = super::aks_reads::arm_for(opts, registry)
        .await
        .map_err(FixError::Setup)?;
    let actor = opts
        .registry_config(registry)
        .map(|r| format!("azure:{}", r.name))
        .unwrap_or_else(|| "azure".into());
    apply(&arm, &actor, audit, action, dry_run).await
}

impl AuditedError for FixError {
    fn audit_outcome(&self) -> Outcome {
        match self {
            FixError::Forbidden { .. } => Outcome::Refused(self.to_string()),
            _ => Outcome::Failed(self.to_string()),
        }
    }
}

/// Runs one ARM fix: the permission check, then (unless a dry run) the write, audited.
pub async fn apply(
    arm: &ArmClient,
    actor: &str,
    audit: &AuditLog,
    action: &FixAction,
    dry_run: bool,
) -> Result<String, FixError> {
    let (what, scope, needed, subject_action) = match action {
        FixAction::AssignPullRole {
            registry_id,
            principal_id,
            role,
        } => (
            format!("assign {role} on the registry to the kubelet identity {principal_id}"),
            registry_id.clone(),
            aks::ROLE_ASSIGNMENT_WRITE,
            "aks.assign-pull-role",
        ),
        FixAction::AllowRegistryIp { registry_id, ip } => (
            format!("allow {ip} in the registry's network rules"),
            registry_id.clone(),
            aks::REGISTRY_WRITE,
            "acr.allow-ip",
        ),
        other => return Ok(format!("not an ARM fix: {}", other.command())),
    };
    let subject = Subject::new(actor, subject_action, &scope, dry_run);
    let action = action.clone();
    audited(audit, subject, |gate| async move {
        if !aks::may(arm, &scope, needed).await? {
            return Err(FixError::Forbidden {
                what,
                action: needed,
                scope,
                command: action.command(),
            });
        }
        if dry_run {
            return Ok(format!("dry run: would {what} (you may)"));
        }
        match &action {
            FixAction::AssignPullRole {
                registry_id,
                principal_id,
                role,
            } => {
                let role = [aks::ACR_PULL, aks::REPOSITORY_READER]
                    .into_iter()
                    .find(|r| r.name == role)
                    .ok_or_else(|| {
                        FixError::Setup(format!("{role:?} is not a pull role berth assigns"))
                    })?;
                gate.open_with(None, Some(format!("{} for {principal_id}", role.name)))?;
                let id = aks::assign_role(arm, registry_id, principal_id, role).await?;
                Ok(format!("assigned {}: {id}", role.name))
            }
            FixAction::AllowRegistryIp { registry_id, ip } => {
                gate.open_with(None, Some(format!("allow {ip}")))?;
                aks::allow_ip(arm, registry_id, ip).await?;
                Ok(format!("allowed {ip}"))
            }
            _ => unreachable!("matched above"),
        }
    })
    .await
}

fn confirm(prompt: &str) -> bool {
    eprint!("{prompt} [y/N] ");
    let _ = std::io::stderr().flush();
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line).is_ok() && matches!(line.trim(), "y" | "Y" | "yes")
}

/// The command: checks, then (with `--fix`) the fixes and the checks again.
pub async fn run(
    args: CheckAcrArgs,
    kubeconfig: Option<&std::path::Path>,
    context: Option<&str>,
    config: &Config,
    audit: &AuditLog,
) -> ExitCode {
    let fail = |code: u8, message: String| {
        if args.json {
            println!("{}", json!({"error": {"message": message}}));
        }
        eprintln!("berth check-acr: {message}");
        ExitCode::from(code)
    };
    let target = match crate::cluster::connect::connect(kubeconfig, context).await {
        Ok(t) => t,
        Err(e) => return fail(EXIT_CLUSTER, e.to_string()),
    };
    let report = match check(&args, &target.client, config).await {
        Ok(r) => r,
        Err((code, message)) => return fail(code, message),
    };
    let print = |r: &Report, applied: &[String]| {
        if args.json {
            println!(
                "{}",
                serde_json::to_string(
                    &json!({"ok": r.exit_code() == 0, "report": r, "applied": applied})
                )
                .unwrap_or_default()
            );
        } else {
            print!("{}", r.text());
        }
    };
    let actions: Vec<FixAction> = report
        .fixes
        .iter()
        .flat_map(|f| f.actions.clone())
        .collect();
    if !args.fix || actions.is_empty() {
        print(&report, &[]);
        return ExitCode::from(report.exit_code());
    }
    if !args.dry_run && !args.yes {
        if !std::io::stdin().is_terminal() {
            return fail(
                EXIT_REFUSED,
                "--fix changes Azure resources: confirm with --yes (or run on a terminal to be asked); nothing was changed".into(),
            );
        }
        print(&report, &[]);
        let list: Vec<String> = actions.iter().map(FixAction::command).collect();
        if !confirm(&format!("make these changes?\n  {}\n", list.join("\n  "))) {
            return fail(EXIT_REFUSED, "not confirmed; nothing was changed".into());
        }
    }
    let opts = GatherOptions::from_config(config);
    let mut applied = Vec::new();
    for a in &actions {
        match apply_for_registry(&opts, &report.registry, audit, a, args.dry_run).await {
            Ok(done) => {
                if !args.json {
                    println!("{done}");
                }
                applied.push(done);
            }
            Err(FixError::Audit(e)) => return fail(e.exit_code(), e.to_string()),
            Err(e @ FixError::Forbidden { .. }) => return fail(EXIT_REFUSED, e.to_string()),
            Err(e @ FixError::Setup(_)) => return fail(EXIT_INCOMPLETE, e.to_string()),
            Err(e) => return fail(EXIT_PROBLEM, e.to_string()),
        }
    }
    if args.dry_run {
        print(&report, &applied);
        return ExitCode::from(report.exit_code());
    }
    // What ARM says now.
    match check(&args, &target.client, config).await {
        Ok(after) => {
            print(&after, &applied);
            ExitCode::from(after.exit_code())
        }
        Err((code, message)) => fail(code, message),
    }
}
