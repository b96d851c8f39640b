//! Shared steps of the diagnosis integration tests: real pods on the real node, berth's own
//! gatherer and actions, checks through kubectl.
#![allow(dead_code)]

use std::sync::OnceLock;
use std::time::Duration;

use berth::audit::AuditLog;
use berth::cluster::actions::ActionContext;
use berth::cluster::rotate::{RotationRequest, rotate};
use berth::diagnose::Diagnosis;
use berth::diagnose::gather::{GatherOptions, diagnose_pod};
use berth::secret::Secret;
use serde_json::Value;

use crate::support::{Env, kubectl, kubectl_json, kubectl_stdin, try_kubectl, wait_for};

/// Pulls on loopback fail within seconds; the back-off between retries can reach minutes.
pub const PULL_FAILS: Duration = Duration::from_secs(90);
pub const POD_RUNS: Duration = Duration::from_secs(120);

pub fn rt() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("tokio runtime")
    })
}

pub fn client() -> kube::Client {
    let env = Env::get();
    rt().block_on(async {
        berth::cluster::connect::connect(Some(&env.kubeconfig()), None)
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .client
    })
}

pub fn acr() -> String {
    Env::get().acr_host().to_owned()
}

pub fn plain() -> String {
    Env::get().plain_registry_host().to_owned()
}

/// The scope-map token that may pull every repository.
pub fn token() -> (String, Secret) {
    let env = Env::get();
    (
        env.var("BERTH_ACR_TOKEN_NAME").to_owned(),
        env.secret("BERTH_ACR_TOKEN_PASSWORD"),
    )
}

/// As config.toml would say: the ACR stand-in is an ACR (tags listed with times); everything
/// else trusts the test CA.
pub fn options() -> GatherOptions {
    GatherOptions {
        registries: vec![berth::diagnose::gather::RegistryHint {
            host: acr(),
            kind: berth::registry::RegistryKind::Acr,
            ca_file: Some(Env::get().ca_file()),
        }],
        default_ca_file: Some(Env::get().ca_file()),
        ..GatherOptions::default()
    }
}

/// A one-replica Deployment `name` whose container `name` runs `image` (always pulled).
pub fn deploy(ns: &str, name: &str, image: &str, pull_secrets: &[&str]) {
    let secrets: Vec<Value> = pull_secrets
        .iter()
        .map(|s| serde_json::json!({ "name": s }))
        .collect();
    let manifest = serde_json::json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": ns},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {
                    "terminationGracePeriodSeconds": 0,
                    "imagePullSecrets": secrets,
                    "containers": [{
                        "name": name,
                        "image": image,
                        "imagePullPolicy": "Always",
                    }],
                },
            },
        },
    });
    kubectl_stdin(["apply", "-f", "-"], &manifest.to_string());
}

/// `kubectl create secret docker-registry`, the way users make pull secrets.
pub fn docker_secret(ns: &str, name: &str, server: &str, user: &str, password: &Secret) {
    kubectl([
        "-n",
        ns,
        "create",
        "secret",
        "docker-registry",
        name,
        &format!("--docker-server={server}"),
        &format!("--docker-username={user}"),
        &format!("--docker-password={}", password.expose()),
    ]);
}

/// A secret with raw data of `type_` (`Opaque`, `kubernetes.io/dockerconfigjson`, ...).
pub fn raw_secret(ns: &str, name: &str, type_: &str, key: &str, content: &str) {
    use base64::Engine as _;
    let manifest = serde_json::json!({
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name, "namespace": ns},
        "type": type_,
        "data": {key: base64::engine::general_purpose::STANDARD.encode(content)},
    });
    kubectl_stdin(["apply", "-f", "-"], &manifest.to_string());
}

fn pods(ns: &str, app: &str) -> Vec<Value> {
    kubectl_json(["-n", ns, "get", "pods", "-l", &format!("app={app}")])["items"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn waiting_reason(pod: &Value) -> Option<String> {
    pod["status"]["containerStatuses"][0]["state"]["waiting"]["reason"]
        .as_str()
        .map(str::to_owned)
}

/// Waits until a live pod of `app` reports one of `reasons`; returns its name.
pub fn wait_pull_failure(ns: &str, app: &str, reasons: &[&str]) -> String {
    wait_for(
        &format!("a pod of {ns}/{app} in {reasons:?}"),
        PULL_FAILS,
        || {
            let all = pods(ns, app);
            all.iter()
                .filter(|p| p["metadata"]["deletionTimestamp"].is_null())
                .find(|p| waiting_reason(p).is_some_and(|r| reasons.contains(&r.as_str())))
                .map(|p| {
                    p["metadata"]["name"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned()
                })
                .ok_or_else(|| {
                    let seen: Vec<String> = all
                        .iter()
                        .map(|p| {
                            format!(
                                "{} {:?} {:?}",
                                p["metadata"]["name"].as_str().unwrap_or_default(),
                                p["status"]["phase"].as_str(),
                                waiting_reason(p)
                            )
                        })
                        .collect();
                    format!("pods: {seen:?}")
                })
        },
    )
}

/// Waits until a ready pod of `app` runs `image`: the fix worked.
pub fn wait_running(ns: &str, app: &str, image: &str) -> String {
    wait_for(
        &format!("a ready pod of {ns}/{app} running {image}"),
        POD_RUNS,
        || {
            let all = pods(ns, app);
            all.iter()
                .find(|p| {
                    let s = &p["status"]["containerStatuses"][0];
                    s["ready"] == true
                        && s["state"]["running"].is_object()
                        && p["spec"]["containers"][0]["image"] == image
                })
                .map(|p| {
                    p["metadata"]["name"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned()
                })
                .ok_or_else(|| {
                    let seen: Vec<String> = all
                        .iter()
                        .map(|p| {
                            format!(
                                "{} {} {:?}",
                                p["metadata"]["name"].as_str().unwrap_or_default(),
                                p["spec"]["containers"][0]["image"],
                                p["status"]["containerStatuses"][0]["state"]
                            )
                        })
                        .collect();
                    format!("pods: {seen:?}")
                })
        },
    )
}

/// Runs berth's diagnosis of one pod; exactly one container is expected to fail.
pub fn diagnose(ns: &str, pod: &str) -> Diagnosis {
    diagnose_with(ns, pod, &options())
}

pub fn diagnose_with(ns: &str, pod: &str, opts: &GatherOptions) -> Diagnosis {
    let client = client();
    let mut all = rt()
        .block_on(diagnose_pod(&client, ns, pod, opts))
        .unwrap_or_else(|e| panic!("diagnosing {ns}/{pod}: {e}"));
    assert_eq!(all.len(), 1, "one failing container expected: {all:#?}");
    let d = all.remove(0);
    eprintln!("{}", berth::diagnose::render::text(&d));
    d
}

pub fn action_ctx() -> ActionContext {
    let dir = std::env::temp_dir().join(format!("berth-diag-audit-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("audit dir");
    ActionContext {
        client: client(),
        actor: "berth-diagnose-test".to_owned(),
        audit: AuditLog::new(dir.join("audit.jsonl")),
        dry_run: false,
        owner_policy: Default::default(),
    }
}

/// Writes `secret` with `user`/`password` for `registry` through berth's rotation (a static
/// source, verified against the registry first), optionally attaching it to a service account.
pub fn rotate_static(
    ns: &str,
    secret: &str,
    registry: &str,
    user: &str,
    password: &Secret,
    attach: Option<&str>,
) {
    let env = Env::get();
    let http =
        berth::registry::client::http_client(Some(&env.ca_file()), "test").expect("http client");
    let source = berth::cluster::acr_source::StaticSource {
        http,
        registry: registry.to_owned(),
        username: user.to_owned(),
        password: password.clone(),
        verify_repository: None,
    };
    let mut req = RotationRequest::new(secret, vec![ns.to_owned()]);
    req.attach_service_account = attach.map(str::to_owned);
    let ctx = action_ctx();
    let report = rt()
        .block_on(rotate(&ctx.client, &ctx.actor, &ctx.audit, &source, &req))
        .unwrap_or_else(|e| panic!("rotating {ns}/{secret}: {e}"));
    assert!(report.all_ok(), "rotation report: {report:#?}");
}

/// Restarts the Deployment through berth's action.
pub fn restart(ns: &str, deployment: &str) {
    let ctx = action_ctx();
    rt().block_on(berth::cluster::actions::restart(&ctx, ns, deployment))
        .unwrap_or_else(|e| panic!("restart {ns}/{deployment}: {e}"));
}

/// The one command of each action of the first fix.
pub fn first_fix_commands(d: &Diagnosis) -> Vec<String> {
    d.fixes.first().map(|f| f.commands()).unwrap_or_default()
}

pub fn delete_secret(ns: &str, name: &str) {
    let _ = try_kubectl(["-n", ns, "delete", "secret", name, "--ignore-not-found"]);
}

/// Copies `{acr}/{repo}:{tag}` to `{acr}/{dst_repo}:{dst_tag}` through berth's retag (admin
/// user; blobs mounted, no layer transfer). Tests use repositories of their own, so the seeded
/// ones stay as seeded.
pub fn promote(repo: &str, tag: &str, dst_repo: &str, dst_tag: &str) {
    use berth::registry::connect::Registry;
    use berth::registry::retag::{RetagOptions, retag};
    use berth::registry::{ClientConfig, Credential, RegistryClient, RegistryConfig, RegistryKind};
    let env = Env::get();
    let host = acr();
    let mut cfg = ClientConfig::new(
        "acr",
        &host,
        RegistryKind::Acr,
        Credential::basic(
            env.var("BERTH_ACR_ADMIN_USER"),
            env.secret("BERTH_ACR_ADMIN_PASSWORD"),
        ),
    );
    cfg.ca_file = Some(env.ca_file());
    let registry = Registry {
        config: RegistryConfig {
            name: "acr".into(),
            host: host.clone(),
            kind: Some(RegistryKind::Acr),
            credential: Default::default(),
            ca_file: Some(env.ca_file()),
            arm: None,
        },
        client: RegistryClient::new(cfg).expect("registry client"),
        arm: None,
    };
    let src = berth::reference::Reference::parse(&format!("{host}/{repo}:{tag}")).unwrap();
    let dst = berth::reference::Reference::parse(&format!("{host}/{dst_repo}:{dst_tag}")).unwrap();
    let audit = action_ctx().audit;
    rt().block_on(retag(
        &registry,
        &src,
        &registry,
        &dst,
        RetagOptions::default(),
        &audit,
    ))
    .unwrap_or_else(|e| panic!("retag {src} → {dst}: {e}"));
}

/// A stand-in fault (`/_standin/faults`): answers `status` to requests whose path contains
/// `path_contains`, `count` times (or, with no status, passes them on after a delay).
/// Removed on drop.
pub struct Fault {
    id: u64,
}

fn standin_http() -> reqwest::Client {
    berth::registry::client::http_client(Some(&Env::get().ca_file()), "stand-in")
        .expect("http client")
}

impl Fault {
    pub fn add(path_contains: &str, status: u16, retry_after: Option<u64>, count: u64) -> Fault {
        Self::post(serde_json::json!({
            "path_contains": path_contains,
            "status": status,
            "retry_after": retry_after,
            "count": count,
        }))
    }

    /// Requests matching `path_contains` wait `delay` before they are served.
    pub fn delay(path_contains: &str, delay: Duration, count: u64) -> Fault {
        Self::post(serde_json::json!({
            "path_contains": path_contains,
            "delay_ms": delay.as_millis() as u64,
            "count": count,
        }))
    }

    fn post(body: Value) -> Fault {
        let url = format!("{}/faults", Env::get().var("BERTH_STANDIN_CONTROL"));
        let v: Value = rt().block_on(async {
            let r = standin_http()
                .post(&url)
                .json(&body)
                .send()
                .await
                .expect("POST fault");
            assert_eq!(r.status(), 201, "adding fault {body}");
            r.json().await.expect("fault JSON")
        });
        Fault {
            id: v["id"].as_u64().expect("fault id"),
        }
    }

    pub fn remove(&self) {
        let url = format!(
            "{}/faults/{}",
            Env::get().var("BERTH_STANDIN_CONTROL"),
            self.id
        );
        rt().block_on(async {
            let _ = standin_http().delete(&url).send().await;
        });
    }
}

impl Drop for Fault {
    fn drop(&mut self) {
        self.remove();
    }
}

/// Credentials that may pull everything from `registry` (the fix's "fresh credentials").
pub fn good_credentials(registry: &str) -> (String, Secret) {
    let env = Env::get();
    if registry == plain() {
        (
            env.var("BERTH_PLAIN_USER").to_owned(),
            env.secret("BERTH_PLAIN_PASSWORD"),
        )
    } else {
        token()
    }
}

/// Applies every action of `fix` through berth's own actions (kubectl only to delete a secret
/// whose type must change, and to delete a pod: berth has no action for either).
pub fn apply(fix: &berth::diagnose::Fix) {
    use berth::diagnose::FixAction;
    assert!(!fix.actions.is_empty(), "the fix has no action: {fix:?}");
    for action in &fix.actions {
        eprintln!("applying: {}", action.command());
        match action {
            FixAction::RotateSecret {
                namespace,
                secret,
                registry,
            }
            | FixAction::CreateSecret {
                namespace,
                secret,
                registry,
            } => {
                let (user, pass) = good_credentials(registry);
                rotate_static(namespace, secret, registry, &user, &pass, None);
            }
            FixAction::RecreateSecret {
                namespace,
                secret,
                registry,
            } => {
                kubectl(["-n", namespace, "delete", "secret", secret]);
                let (user, pass) = good_credentials(registry);
                rotate_static(namespace, secret, registry, &user, &pass, None);
            }
            FixAction::AttachSecret {
                namespace,
                service_account,
                secret,
            } => {
                let ctx = action_ctx();
                rt().block_on(berth::cluster::rotate::attach(
                    &ctx,
                    namespace,
                    service_account,
                    secret,
                ))
                .unwrap_or_else(|e| panic!("attach: {e}"));
            }
            FixAction::SetImage {
                namespace,
                deployment,
                container,
                image,
            } => {
                let ctx = action_ctx();
                rt().block_on(berth::cluster::actions::set_image(
                    &ctx,
                    namespace,
                    deployment,
                    container,
                    &berth::cluster::actions::ImageTarget::Reference(image.clone()),
                ))
                .unwrap_or_else(|e| panic!("set-image: {e}"));
            }
            FixAction::RestartRollout {
                namespace,
                deployment,
            } => restart(namespace, deployment),
            FixAction::DeletePod { namespace, pod } => {
                kubectl(["-n", namespace, "delete", "pod", pod, "--wait=false"]);
            }
            FixAction::AssignPullRole { .. } | FixAction::AllowRegistryIp { .. } => {
                panic!("ARM fixes run through `berth check-acr --fix` (tests/aks_diagnose.rs)")
            }
        }
    }
}

/// The stand-in's ARM: a scope-map token of our own (`scope_like`: the existing token whose
/// scope map it gets), enabled or not, with one password that expires at `expiry`.
pub fn arm_token(
    name: &str,
    scope_like: &str,
    enabled: bool,
    expiry: Option<jiff::Timestamp>,
) -> Secret {
    let env = Env::get();
    let base = env.var("BERTH_AZURE_URL").to_owned();
    let registry_id = format!(
        "/subscriptions/{}/resourceGroups/{}/providers/Microsoft.ContainerRegistry/registries/{}",
        env.var("BERTH_SUBSCRIPTION_ID"),
        env.var("BERTH_RESOURCE_GROUP"),
        env.var("BERTH_ACR_NAME"),
    );
    let api = "api-version=2023-07-01";
    let http = standin_http();
    let client_secret = env.secret("BERTH_SP_CLIENT_SECRET");
    rt().block_on(async {
        let form = [
            ("client_id", env.var("BERTH_SP_CLIENT_ID")),
            ("client_secret", client_secret.expose()),
            ("grant_type", "client_credentials"),
            ("scope", "https://management.azure.com/.default"),
        ];
        let r = http
            .post(format!(
                "{base}/{}/oauth2/v2.0/token",
                env.var("BERTH_TENANT_ID")
            ))
            .form(&form)
            .send()
            .await
            .expect("Entra token request");
        assert!(r.status().is_success(), "Entra token: {}", r.status());
        let v: Value = r.json().await.expect("token JSON");
        let bearer = v["access_token"].as_str().expect("access_token").to_owned();

        let like: Value = http
            .get(format!("{base}{registry_id}/tokens/{scope_like}?{api}"))
            .bearer_auth(&bearer)
            .send()
            .await
            .expect("GET token")
            .json()
            .await
            .expect("token JSON");
        let scope_map = like["properties"]["scopeMapId"]
            .as_str()
            .unwrap_or_else(|| panic!("no scopeMapId in {like}"))
            .to_owned();
        let r = http
            .put(format!("{base}{registry_id}/tokens/{name}?{api}"))
            .bearer_auth(&bearer)
            .json(&serde_json::json!({"properties": {
                "scopeMapId": scope_map,
                "status": if enabled { "enabled" } else { "disabled" },
            }}))
            .send()
            .await
            .expect("PUT token");
        assert!(r.status().is_success(), "PUT token: {}", r.status());
        let mut body = serde_json::json!({
            "tokenId": format!("{registry_id}/tokens/{name}"),
            "name": "password1",
        });
        if let Some(e) = expiry {
            body["expiry"] = Value::String(e.to_string());
        }
        let r = http
            .post(format!("{base}{registry_id}/generateCredentials?{api}"))
            .bearer_auth(&bearer)
            .json(&body)
            .send()
            .await
            .expect("generateCredentials");
        assert!(
            r.status().is_success(),
            "generateCredentials: {}",
            r.status()
        );
        let v: Value = r.json().await.expect("credentials JSON");
        Secret::new(
            v["passwords"][0]["value"]
                .as_str()
                .unwrap_or_else(|| panic!("no password in the answer"))
                .to_owned(),
        )
    })
}

/// A loopback port nothing listens on (bound, then released).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("bind a loopback port")
        .port()
}

/// A bare pod (no controller) whose init container pulls `init_image`, then runs `image`.
pub fn bare_pod_with_init(
    ns: &str,
    name: &str,
    init_image: &str,
    image: &str,
    pull_secrets: &[&str],
) {
    let secrets: Vec<Value> = pull_secrets
        .iter()
        .map(|s| serde_json::json!({ "name": s }))
        .collect();
    let manifest = serde_json::json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": ns, "labels": {"app": name}},
        "spec": {
            "terminationGracePeriodSeconds": 0,
            "imagePullSecrets": secrets,
            "initContainers": [{
                "name": "setup",
                "image": init_image,
                "imagePullPolicy": "Always",
                "command": ["/bin/busybox", "true"],
            }],
            "containers": [{"name": "main", "image": image, "imagePullPolicy": "Always"}],
        },
    });
    kubectl_stdin(["apply", "-f", "-"], &manifest.to_string());
}

/// Waits until pod `name`'s init container reports one of `reasons`.
pub fn wait_init_pull_failure(ns: &str, name: &str, reasons: &[&str]) {
    wait_for(
        &format!("init container of {ns}/{name} in {reasons:?}"),
        PULL_FAILS,
        || {
            let p = kubectl_json(["-n", ns, "get", "pod", name]);
            let reason = p["status"]["initContainerStatuses"][0]["state"]["waiting"]["reason"]
                .as_str()
                .map(str::to_owned);
            reason
                .filter(|r| reasons.contains(&r.as_str()))
                .ok_or_else(|| {
                    format!(
                        "init container state: {}",
                        p["status"]["initContainerStatuses"]
                    )
                })
        },
    );
}
