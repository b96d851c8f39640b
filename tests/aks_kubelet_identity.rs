//! AKS's kubelet-identity pulls on the real node: pods with no pull secret pull images under
//! `$BERTH_AKS_IMAGE_PREFIX` through kubelet's credential provider (sandbox/acr-credential-provider:
//! IMDS → challenge → exchange), and fail the way AKS nodes do when the AcrPull role assignment
//! is gone, when the identity is not on the node pool, or when ACR's network rules exclude the
//! node's address. Changes go through the stand-in's ARM calls and are undone on drop.
//!
//! The tests here share one kubelet identity, role assignment, node pool and network rule set,
//! so they take one lock and run one at a time.

mod cluster_common;
mod support;
mod tmux_support;

use serde_json::{Value, json};
use std::process::Command;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;
use support::{Env, TestNamespace, events_for, kubectl_json, kubectl_stdin, unique_name, wait_for};

static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|p| p.into_inner())
}

/// `curl` against the stand-in (TLS with the test CA) → (status, body as JSON or string).
fn curl(method: &str, url: &str, headers: &[String], body: Option<&str>) -> (u16, Value) {
    let env = Env::get();
    let mut cmd = Command::new("curl");
    cmd.args(["-sS", "--max-time", "30", "--cacert"])
        .arg(env.ca_file())
        .args(["-X", method, "-w", "\n%{http_code}"]);
    for h in headers {
        cmd.args(["-H", h]);
    }
    if let Some(b) = body {
        cmd.args(["-H", "Content-Type: application/json", "--data-binary", b]);
    }
    let out = cmd.arg(url).output().expect("run curl");
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let (body, code) = text.rsplit_once('\n').unwrap_or(("", &text));
    let status = code.trim().parse().unwrap_or(0);
    let v = serde_json::from_str(body).unwrap_or_else(|_| Value::String(body.to_string()));
    (status, v)
}

fn arm_token() -> String {
    let env = Env::get();
    let form = format!(
        "client_id={}&client_secret={}&grant_type=client_credentials&scope=https%3A%2F%2Fmanagement.azure.com%2F.default",
        env.var("BERTH_SP_CLIENT_ID"),
        env.var("BERTH_SP_CLIENT_SECRET")
    );
    let out = Command::new("curl")
        .args(["-sS", "--fail", "--cacert"])
        .arg(env.ca_file())
        .args(["--data-binary", &form])
        .arg(format!(
            "{}/{}/oauth2/v2.0/token",
            env.var("BERTH_AZURE_URL"),
            env.var("BERTH_TENANT_ID")
        ))
        .output()
        .expect("curl");
    let v: Value = serde_json::from_slice(&out.stdout).expect("Entra token answer");
    v["access_token"]
        .as_str()
        .expect("access_token")
        .to_string()
}

/// An ARM call; `path` starts with `/subscriptions/`.
fn arm(method: &str, path: &str, api: &str, body: Option<Value>) -> (u16, Value) {
    let env = Env::get();
    let sep = if path.contains('?') { '&' } else { '?' };
    let url = format!("{}{path}{sep}api-version={api}", env.var("BERTH_AZURE_URL"));
    let auth = format!("Authorization: Bearer {}", arm_token());
    curl(
        method,
        &url,
        &[auth],
        body.map(|b| b.to_string()).as_deref(),
    )
}

fn kubelet_assignments() -> Vec<Value> {
    let env = Env::get();
    let (s, v) = arm(
        "GET",
        &format!(
            "{}/providers/Microsoft.Authorization/roleAssignments?$filter=principalId%20eq%20'{}'",
            env.var("BERTH_ACR_RESOURCE_ID"),
            env.var("BERTH_KUBELET_IDENTITY_OBJECT_ID")
        ),
        "2022-04-01",
        None,
    );
    assert_eq!(s, 200, "role assignments list: {v}");
    v["value"].as_array().cloned().unwrap_or_default()
}

const ACR_PULL: &str = "7f951dda-4ed3-4680-a7ca-43fe172d538d";

fn is_acr_pull(a: &Value) -> bool {
    a["properties"]["roleDefinitionId"]
        .as_str()
        .is_some_and(|r| r.ends_with(ACR_PULL))
}

/// Puts AcrPull for the kubelet identity back on the registry when dropped (if it is missing).
struct RestoreAcrPull;

impl Drop for RestoreAcrPull {
    fn drop(&mut self) {
        if kubelet_assignments().iter().any(is_acr_pull) {
            return;
        }
        let env = Env::get();
        let name = format!("{:08x}-0000-4000-8000-{:012x}", std::process::id(), nanos());
        let (s, v) = arm(
            "PUT",
            &format!(
                "{}/providers/Microsoft.Authorization/roleAssignments/{name}",
                env.var("BERTH_ACR_RESOURCE_ID")
            ),
            "2022-04-01",
            Some(json!({"properties": {
                "roleDefinitionId": format!("/subscriptions/{}/providers/Microsoft.Authorization/roleDefinitions/{ACR_PULL}", env.var("BERTH_SUBSCRIPTION_ID")),
                "principalId": env.var("BERTH_KUBELET_IDENTITY_OBJECT_ID"),
                "principalType": "ServicePrincipal",
            }})),
        );
        assert_eq!(s, 201, "restoring AcrPull for the kubelet identity: {v}");
    }
}

fn nanos() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos()
        & 0xffff_ffff_ffff
}

fn vmss_path() -> String {
    let env = Env::get();
    format!(
        "/subscriptions/{}/resourceGroups/{}/providers/Microsoft.Compute/virtualMachineScaleSets/{}",
        env.var("BERTH_SUBSCRIPTION_ID"),
        env.var("BERTH_AKS_NODE_RESOURCE_GROUP"),
        env.var("BERTH_AKS_VMSS")
    )
}

fn set_node_pool_identity(present: bool) {
    let env = Env::get();
    let rid = env.var("BERTH_KUBELET_IDENTITY_RESOURCE_ID");
    let value = if present { json!({}) } else { Value::Null };
    let (s, v) = arm(
        "PATCH",
        &vmss_path(),
        "2023-09-01",
        Some(json!({"identity": {"type": "UserAssigned", "userAssignedIdentities": {rid: value}}})),
    );
    assert_eq!(s, 200, "VMSS identity PATCH: {v}");
}

struct RestoreNodePoolIdentity;

impl Drop for RestoreNodePoolIdentity {
    fn drop(&mut self) {
        set_node_pool_identity(true);
    }
}

fn set_network_rules(default_action: &str, ip_rules: &[&str]) {
    let env = Env::get();
    let rules: Vec<Value> = ip_rules
        .iter()
        .map(|r| json!({"action": "Allow", "value": r}))
        .collect();
    let (s, v) = arm(
        "PATCH",
        env.var("BERTH_ACR_RESOURCE_ID"),
        "2023-07-01",
        Some(
            json!({"properties": {"networkRuleSet": {"defaultAction": default_action, "ipRules": rules}}}),
        ),
    );
    assert_eq!(s, 200, "registry PATCH: {v}");
    assert_eq!(
        v["properties"]["networkRuleSet"]["defaultAction"],
        default_action
    );
}

/// Scopes the registry's network rules to one repository, and opens the registry again on drop.
struct Firewall(String);

impl Firewall {
    fn new(repository: &str) -> Self {
        let env = Env::get();
        let (s, v) = curl(
            "POST",
            &format!("{}/firewall", env.var("BERTH_STANDIN_CONTROL")),
            &[],
            Some(&json!({"scope": repository}).to_string()),
        );
        assert_eq!(s, 201, "firewall scope: {v}");
        Firewall(repository.to_string())
    }
}

impl Drop for Firewall {
    fn drop(&mut self) {
        set_network_rules("Allow", &[]);
        let env = Env::get();
        curl(
            "DELETE",
            &format!(
                "{}/firewall?scope={}",
                env.var("BERTH_STANDIN_CONTROL"),
                self.0
            ),
            &[],
            None,
        );
    }
}

fn image(repo_tag: &str) -> String {
    format!("{}{repo_tag}", Env::get().var("BERTH_AKS_IMAGE_PREFIX"))
}

/// A pod with no pull secret anywhere (its namespace's default service account has none).
fn create_pod(ns: &str, name: &str, image: &str) {
    let pod = json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name},
        "spec": {
            "terminationGracePeriodSeconds": 1,
            "containers": [{"name": "main", "image": image, "imagePullPolicy": "Always"}]
        }
    });
    kubectl_stdin(["-n", ns, "apply", "-f", "-"], &pod.to_string());
    let p = kubectl_json(["-n", ns, "get", "pod", name]);
    assert!(
        p["spec"]["imagePullSecrets"].is_null(),
        "the pod has pull secrets: {}",
        p["spec"]["imagePullSecrets"]
    );
}

fn wait_running(ns: &str, name: &str) {
    wait_running_within(ns, name, Duration::from_secs(120));
}

/// The message of kubelet's first `Failed` event `Failed to pull image "…": …`.
fn pull_failure(ns: &str, name: &str) -> String {
    wait_for(
        &format!("pod {name}'s pull failure event"),
        Duration::from_secs(120),
        || {
            events_for(ns, "Pod", name)
                .into_iter()
                .find(|(t, r, m)| {
                    t == "Warning" && r == "Failed" && m.starts_with("Failed to pull image")
                })
                .map(|(_, _, m)| m)
        },
    )
}

fn containerd_error(image: &str, cause: &str) -> String {
    format!(
        "rpc error: code = Unknown desc = failed to pull and unpack image \"{image}\": failed to resolve reference \"{image}\": {cause}"
    )
}

fn token_url(repo: &str) -> String {
    let env = Env::get();
    let host = env.acr_host();
    format!(
        "https://{host}/oauth2/token?scope=repository%3A{}%3Apull&service={host}",
        repo.replace('/', "%2F")
    )
}

#[test]
fn pod_without_pull_secret_pulls_through_the_kubelet_identity() {
    let _serial = serial();
    let env = Env::get();
    assert!(
        kubelet_assignments().iter().any(is_acr_pull),
        "the environment starts with --attach-acr's AcrPull for the kubelet identity"
    );
    let control = env.var("BERTH_STANDIN_CONTROL");
    let imds_before = curl(
        "GET",
        &format!("{control}/stats?path_contains=/metadata/identity/"),
        &[],
        None,
    )
    .1["total"]
        .as_u64()
        .unwrap_or(0);
    let exchanges_before = curl(
        "GET",
        &format!("{control}/stats?path_contains=/oauth2/exchange"),
        &[],
        None,
    )
    .1["total"]
        .as_u64()
        .unwrap_or(0);

    let ns = TestNamespace::new("aks-mi");
    let img = image("web:1.0.3");
    create_pod(ns.name(), "web", &img);
    wait_running(ns.name(), "web");
    let events = events_for(ns.name(), "Pod", "web");
    assert!(
        events
            .iter()
            .any(|(_, r, m)| r == "Pulled" && m.contains(&img)),
        "no Pulled event: {events:?}"
    );
    // It went through the credential provider: IMDS and the exchange were asked.
    let imds_after = curl(
        "GET",
        &format!("{control}/stats?path_contains=/metadata/identity/"),
        &[],
        None,
    )
    .1["total"]
        .as_u64()
        .unwrap_or(0);
    let exchanges_after = curl(
        "GET",
        &format!("{control}/stats?path_contains=/oauth2/exchange"),
        &[],
        None,
    )
    .1["total"]
        .as_u64()
        .unwrap_or(0);
    assert!(
        imds_after > imds_before,
        "IMDS was not asked ({imds_before} → {imds_after})"
    );
    assert!(
        exchanges_after > exchanges_before,
        "no /oauth2/exchange ({exchanges_before} → {exchanges_after})"
    );

    // The same image outside the provider's prefix has no node credentials: no secret, no pull.
    let plain = format!("{}/web:1.0.3", env.acr_host());
    create_pod(ns.name(), "plain", &plain);
    let msg = pull_failure(ns.name(), "plain");
    assert!(msg.contains("failed to fetch anonymous token"), "{msg}");
}

#[test]
fn without_the_acr_pull_role_assignment_new_pods_fail_with_401() {
    let _serial = serial();
    let _restore = RestoreAcrPull;
    let pulls: Vec<Value> = kubelet_assignments()
        .into_iter()
        .filter(is_acr_pull)
        .collect();
    assert!(
        !pulls.is_empty(),
        "no AcrPull assignment for the kubelet identity to remove"
    );
    for a in &pulls {
        let id = a["id"].as_str().unwrap();
        let (s, v) = arm("DELETE", id, "2022-04-01", None);
        assert_eq!(s, 200, "DELETE {id}: {v}");
    }
    assert!(!kubelet_assignments().iter().any(is_acr_pull));

    let ns = TestNamespace::new("aks-norole");
    let img = image("web:1.0.3");
    create_pod(ns.name(), "web", &img);
    let msg = pull_failure(ns.name(), "web");
    let want = format!(
        "Failed to pull image \"{img}\": [{}, {}]",
        containerd_error(
            &img,
            "failed to authorize: failed to fetch oauth token: unexpected status: 401 Unauthorized"
        ),
        containerd_error(
            &img,
            "failed to authorize: failed to fetch anonymous token: unexpected status: 401 Unauthorized"
        ),
    );
    assert_eq!(msg, want);
}

#[test]
fn identity_not_on_the_node_pool_gives_imds_identity_not_found_and_the_pod_fails() {
    let _serial = serial();
    let env = Env::get();
    let _restore = RestoreNodePoolIdentity;
    set_node_pool_identity(false);
    let (s, v) = arm("GET", &vmss_path(), "2023-09-01", None);
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["identity"]["type"], "None", "{v}");

    // IMDS itself, as the node asks it.
    let imds = format!(
        "{}/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https://management.azure.com/&client_id={}",
        env.var("BERTH_IMDS_ENDPOINT"),
        env.var("BERTH_KUBELET_IDENTITY_CLIENT_ID")
    );
    let (s, v) = curl("GET", &imds, &["Metadata: true".into()], None);
    assert_eq!(
        (s, v),
        (
            400,
            json!({"error": "invalid_request", "error_description": "Identity not found"})
        )
    );

    let ns = TestNamespace::new("aks-noid");
    let img = image("web:1.0.3");
    create_pod(ns.name(), "web", &img);
    let msg = pull_failure(ns.name(), "web");
    // The plugin failed, so kubelet pulled with no credentials at all.
    let want = format!(
        "Failed to pull image \"{img}\": {}",
        containerd_error(
            &img,
            "failed to authorize: failed to fetch anonymous token: unexpected status: 401 Unauthorized"
        ),
    );
    assert_eq!(msg, want);
    // The node's own words: kubelet logs the plugin's stderr.
    let log = std::fs::read_to_string(env.dir().join("logs/kubelet.log")).unwrap_or_default();
    assert!(
        log.contains("Identity not found"),
        "kubelet.log does not show the provider's IMDS error"
    );
}

#[test]
fn network_rule_excluding_the_node_gives_acr_firewall_403() {
    let _serial = serial();
    let env = Env::get();
    let repo = format!("aks/{}", unique_name("fw"));
    // The test's own repository: the rules are enforced only on it (other tests share the registry).
    copy_web_to(&repo);
    let _fw = Firewall::new(&repo);
    let node_ip = env.var("BERTH_NODE_IP");
    assert_eq!(env.var("BERTH_AKS_EGRESS_IP"), node_ip);
    set_network_rules("Deny", &["203.0.113.0/24"]);

    // What the node's containerd gets from the token endpoint.
    let basic = format!("Authorization: Basic {}", b64(&support::admin_creds()));
    let (s, v) = curl(
        "GET",
        &token_url(&repo),
        &["User-Agent: containerd/1.6.20~ds1".into(), basic.clone()],
        None,
    );
    let denied = json!({"errors": [{"code": "DENIED", "message": format!("client with IP '{node_ip}' is not allowed access. Refer https://aka.ms/acr/firewall to grant access."), "detail": null}]});
    assert_eq!((s, v), (403, denied));

    let ns = TestNamespace::new("aks-fw");
    let img = image(&format!("{}:1.0", repo.trim_start_matches("aks/")));
    create_pod(ns.name(), "web", &img);
    let msg = pull_failure(ns.name(), "web");
    let want = format!(
        "Failed to pull image \"{img}\": [{}, {}]",
        containerd_error(
            &img,
            "failed to authorize: failed to fetch oauth token: unexpected status: 403 Forbidden"
        ),
        containerd_error(
            &img,
            "failed to authorize: failed to fetch anonymous token: unexpected status: 403 Forbidden"
        ),
    );
    assert_eq!(msg, want);

    // Allowing the node's address lets a new pod pull.
    set_network_rules("Deny", &["203.0.113.0/24", &format!("{node_ip}/32")]);
    create_pod(ns.name(), "web2", &img);
    wait_running(ns.name(), "web2");
}

/// `aks/web:1.0.3` copied to `{repo}:1.0` with skopeo (the admin user).
fn copy_web_to(repo: &str) {
    support::acr_copy("aks/web:1.0.3", &format!("{repo}:1.0"));
}

fn b64(s: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(s)
}

// ---------------------------------------------------------------------------------------------
// berth on such a cluster: `berth diagnose` names the cause from the node's words and ARM,
// `berth check-acr` reports it, and `--fix` makes the pod run. The real binary, as a user runs it.

/// berth as scripts/sandbox configures it (tests/tmux_support): the ACR signed in as the ARM
/// service principal (its Azure credential reads ARM) and `[cluster.aks]` with the local
/// node's credential provider images; the cluster's name is found from the node.
struct Berth(tmux_support::Berth);

impl Berth {
    fn new() -> Self {
        Berth(tmux_support::Berth::with_service_principal("default"))
    }

    /// Runs berth → (exit code, stdout, stderr).
    fn run(&self, args: &[&str]) -> (i32, String, String) {
        let ca = Env::get().ca_file();
        let r = self.0.run(args, &[("BERTH_CA_FILE", ca.as_os_str())]);
        (r.code, r.stdout, r.stderr)
    }

    fn json(&self, args: &[&str]) -> (i32, Value) {
        let (code, out, err) = self.run(args);
        let v = serde_json::from_str(&out)
            .unwrap_or_else(|e| panic!("berth {args:?}: not JSON ({e}): {out}\nstderr: {err}"));
        (code, v)
    }

    /// The one diagnosis of pod `name`: (its cause kind, headline, the whole JSON). Waits for
    /// the pod's status to show the failure (kubelet's event comes first).
    fn diagnose(&self, ns: &str, name: &str) -> (String, String, Value) {
        let d: Value = wait_for(
            &format!("berth diagnose to find pod {name}'s failing pull"),
            Duration::from_secs(60),
            || {
                let (code, v) = self.json(&["diagnose", "-n", ns, name, "--json"]);
                if code == 1 {
                    Ok(v["diagnoses"][0].clone())
                } else {
                    Err(format!("exit {code}: {v}"))
                }
            },
        );
        (
            d["cause"]["kind"].as_str().unwrap_or_default().to_owned(),
            d["headline"].as_str().unwrap_or_default().to_owned(),
            d,
        )
    }

    fn audit(&self) -> Vec<Value> {
        self.0.audit_records()
    }
}

fn fix_actions(d: &Value) -> Vec<String> {
    d["fixes"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|f| f["actions"].as_array().cloned().unwrap_or_default())
        .filter_map(|a| a["action"].as_str().map(str::to_owned))
        .collect()
}

fn no_pull_secret_offered(d: &Value) {
    let actions = fix_actions(d);
    assert!(
        !actions.iter().any(|a| a.contains("secret")),
        "a pull secret is offered on a kubelet-identity cluster: {actions:?}"
    );
}

fn check_names(report: &Value, ok: bool) -> Vec<String> {
    report["report"]["checks"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|c| c["ok"] == json!(ok))
        .filter_map(|c| c["check"].as_str().map(str::to_owned))
        .collect()
}

#[test]
fn diagnose_and_check_acr_name_the_missing_role_and_the_fix_makes_the_pod_run() {
    let _serial = serial();
    let env = Env::get();
    let berth = Berth::new();
    let _restore = RestoreAcrPull;
    // Healthy first: every check passes.
    let (code, before) = berth.json(&["check-acr", "--json"]);
    assert_eq!(code, 0, "{before}");
    for a in kubelet_assignments().into_iter().filter(is_acr_pull) {
        let (s, v) = arm("DELETE", a["id"].as_str().unwrap(), "2022-04-01", None);
        assert_eq!(s, 200, "{v}");
    }

    let ns = TestNamespace::new("aks-dx-role");
    let img = image("web:1.0.3");
    create_pod(ns.name(), "web", &img);
    pull_failure(ns.name(), "web");
    let (kind, headline, d) = berth.diagnose(ns.name(), "web");
    assert_eq!(kind, "kubelet_identity_cannot_pull", "{d}");
    assert!(
        headline.contains(&format!(
            "the kubelet identity (client id {}) lacks AcrPull on registry {}",
            env.var("BERTH_KUBELET_IDENTITY_CLIENT_ID"),
            env.acr_host()
        )),
        "{headline}"
    );
    assert_eq!(fix_actions(&d), ["assign_pull_role"], "{d}");
    no_pull_secret_offered(&d);
    // Every finding says where it comes from: the node's words and ARM.
    let evidence = d["evidence"].to_string();
    assert!(
        evidence.contains(
            "attempt 1 of 2 (kubelet's order): with credentials: the token endpoint answered 401"
        ),
        "{evidence}"
    );
    assert!(
        evidence.contains("no role assignment lets the kubelet identity pull"),
        "{evidence}"
    );

    let (code, report) = berth.json(&["check-acr", "--json"]);
    assert_eq!(code, 1, "{report}");
    assert_eq!(check_names(&report, false), ["role"], "{report}");
    assert_eq!(
        report["report"]["causes"][0]["kind"],
        "kubelet_identity_cannot_pull"
    );
    // As the node pulls (IMDS, exchange, pull-scope token, manifest): the token is refused.
    let imds = env.var("BERTH_IMDS_ENDPOINT");
    let pull_args = [
        "check-acr",
        "--json",
        "--imds",
        imds,
        "--image",
        "aks/web:1.0.3",
    ];
    let (code, report) = berth.json(&pull_args);
    assert_eq!(code, 1, "{report}");
    assert_eq!(check_names(&report, false), ["role", "pull"], "{report}");
    let passed = check_names(&report, true);
    assert!(
        passed.contains(&"imds".to_owned()) && passed.contains(&"exchange".to_owned()),
        "{report}"
    );
    assert!(report.to_string().contains("401 Unauthorized"), "{report}");

    // Not confirmed on a script: refused, nothing changed.
    let (code, _, err) = berth.run(&["check-acr", "--fix"]);
    assert_eq!(code, 4, "{err}");
    assert!(err.contains("confirm with --yes"), "{err}");
    assert!(!kubelet_assignments().iter().any(is_acr_pull));
    // A dry run checks the permission and writes nothing.
    let (code, out, err) = berth.run(&["check-acr", "--fix", "--dry-run"]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(out.contains("dry run: would assign AcrPull"), "{out}");
    assert!(!kubelet_assignments().iter().any(is_acr_pull));

    let (code, out, err) = berth.run(&["check-acr", "--fix", "--yes"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("assigned AcrPull"), "{out}");
    assert!(kubelet_assignments().iter().any(is_acr_pull));
    let (code, report) = berth.json(&pull_args);
    assert_eq!(
        code, 0,
        "the kubelet identity pulls the manifest now: {report}"
    );
    let audit = berth.audit();
    assert!(
        audit
            .iter()
            .any(|r| r["action"] == "aks.assign-pull-role" && r["outcome"]["status"] == "ok"),
        "{audit:?}"
    );
    // The pod that failed pulls at its next try.
    wait_running_within(ns.name(), "web", Duration::from_secs(330));
}

#[test]
fn diagnose_names_the_identity_missing_from_the_node_pool() {
    let _serial = serial();
    let env = Env::get();
    let berth = Berth::new();
    let restore = RestoreNodePoolIdentity;
    set_node_pool_identity(false);
    let ns = TestNamespace::new("aks-dx-pool");
    let img = image("web:1.0.3");
    create_pod(ns.name(), "web", &img);
    pull_failure(ns.name(), "web");
    let (kind, headline, d) = berth.diagnose(ns.name(), "web");
    assert_eq!(kind, "kubelet_identity_not_on_node_pool", "{d}");
    assert!(
        headline.contains(&format!(
            "is not on node pool scale set {}",
            env.var("BERTH_AKS_VMSS")
        )),
        "{headline}"
    );
    no_pull_secret_offered(&d);
    let note = d["fixes"][0]["note"].as_str().unwrap_or_default();
    assert!(note.contains("az vmss identity assign"), "{note}");
    let (code, report) = berth.json(&["check-acr", "--json"]);
    assert_eq!(code, 1, "{report}");
    assert_eq!(check_names(&report, false), ["node_pool"], "{report}");
    let imds = env.var("BERTH_IMDS_ENDPOINT");
    let (code, report) = berth.json(&["check-acr", "--json", "--imds", imds]);
    assert_eq!(code, 1, "{report}");
    assert_eq!(
        check_names(&report, false),
        ["node_pool", "imds"],
        "{report}"
    );
    assert!(
        report.to_string().contains("Identity not found"),
        "IMDS's own words: {report}"
    );
    // The advice, done the way `az vmss identity assign` does it: the pod pulls.
    drop(restore);
    wait_running_within(ns.name(), "web", Duration::from_secs(330));
}

#[test]
fn diagnose_names_the_firewall_and_the_egress_ip_and_the_fix_allows_it() {
    let _serial = serial();
    let env = Env::get();
    let berth = Berth::new();
    let repo = format!("aks/{}", unique_name("dxfw"));
    copy_web_to(&repo);
    let _fw = Firewall::new(&repo);
    set_network_rules("Deny", &["203.0.113.0/24"]);
    let ns = TestNamespace::new("aks-dx-fw");
    let img = image(&format!("{}:1.0", repo.trim_start_matches("aks/")));
    create_pod(ns.name(), "web", &img);
    pull_failure(ns.name(), "web");
    let node_ip = env.var("BERTH_NODE_IP");
    let (kind, headline, d) = berth.diagnose(ns.name(), "web");
    assert_eq!(kind, "firewall_blocks_node", "{d}");
    assert!(
        headline.contains(&format!("egress IP {node_ip} is not in its network rules")),
        "{headline}"
    );
    assert_eq!(fix_actions(&d), ["allow_registry_ip"], "{d}");
    no_pull_secret_offered(&d);

    let (code, out, err) = berth.run(&["check-acr", "--fix", "--yes"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains(&format!("allowed {node_ip}")), "{out}");
    let (s, v) = arm("GET", env.var("BERTH_ACR_RESOURCE_ID"), "2023-07-01", None);
    assert_eq!(s, 200);
    let rules = v["properties"]["networkRuleSet"]["ipRules"].to_string();
    assert!(
        rules.contains("203.0.113.0/24") && rules.contains(node_ip),
        "the old rule is kept: {rules}"
    );
    wait_running_within(ns.name(), "web", Duration::from_secs(330));
}

#[test]
fn a_missing_tag_on_a_kubelet_identity_cluster_is_a_missing_tag() {
    let _serial = serial();
    let berth = Berth::new();
    let ns = TestNamespace::new("aks-dx-tag");
    let img = image("web:1.0.300");
    create_pod(ns.name(), "web", &img);
    pull_failure(ns.name(), "web");
    let (kind, headline, d) = berth.diagnose(ns.name(), "web");
    assert_eq!(kind, "manifest_missing", "{d}");
    assert!(
        headline.contains("tag \"1.0.300\" does not exist"),
        "{headline}"
    );
    let closest = headline
        .split("closest existing: ")
        .nth(1)
        .unwrap_or_default();
    assert!(
        closest.split(", ").any(|t| t == "1.0.3"),
        "the closest tags come from berth's own listing: {headline}"
    );
    no_pull_secret_offered(&d);
}

fn wait_running_within(ns: &str, name: &str, within: Duration) {
    wait_for(&format!("pod {name} Running"), within, || {
        let p = kubectl_json(["-n", ns, "get", "pod", name]);
        if p["status"]["phase"] == "Running" {
            Ok(())
        } else {
            Err(format!(
                "phase {} containerStatuses {} events {:?}",
                p["status"]["phase"],
                p["status"]["containerStatuses"],
                events_for(ns, "Pod", name)
            ))
        }
    });
}

/// The dashboard: the failing pod's diagnosis names the missing role from the node's words and
/// ARM, `f` offers the role assignment (not a pull secret), `y` makes it, and the pod runs.
#[test]
fn the_dashboard_names_the_missing_role_and_assigns_it_on_one_key() {
    let _serial = serial();
    let _restore = RestoreAcrPull;
    for a in kubelet_assignments().into_iter().filter(is_acr_pull) {
        let (s, v) = arm("DELETE", a["id"].as_str().unwrap(), "2022-04-01", None);
        assert_eq!(s, 200, "{v}");
    }
    let ns = TestNamespace::new("aks-ui-role");
    // Always pull: the image is on the node already from the tests before.
    let mut deployment = cluster_common::deployment_json("shopfront", &image("web:1.0.3"), None, 1);
    deployment["spec"]["template"]["spec"]["containers"][0]["imagePullPolicy"] = json!("Always");
    cluster_common::create(ns.name(), &deployment);
    let berth = tmux_support::Berth::with_service_principal(ns.name());
    let tui = berth.start(&[]);
    tui.wait("the pod failing to pull", |s| {
        tmux_support::line_with(s, &["shopfront-", "0/1", "ImagePull"]).map(|_| ())
    });
    tui.keys(&["d"]);
    tui.wait(
        "the diagnosis naming the kubelet identity's missing role",
        |s| tmux_support::line_with(s, &["lacks AcrPull on"]).map(|_| ()),
    );
    let screen = tui.screen();
    assert!(
        !screen.contains("pull secret \"") && !screen.contains("create pull secret"),
        "a pull secret is offered: {screen}"
    );
    tui.keys(&["f"]);
    tui.wait_text("the fix's confirmation", "Apply fix");
    tui.wait_text(
        "the Azure change in the confirmation",
        "az role assignment create",
    );
    tui.keys(&["y"]);
    wait_for(
        "the AcrPull assignment berth made",
        Duration::from_secs(60),
        || kubelet_assignments().iter().any(is_acr_pull).then_some(()),
    );
    let records = berth.audit_records();
    assert!(
        records
            .iter()
            .any(|r| r["action"] == "aks.assign-pull-role" && r["outcome"]["status"] == "ok"),
        "{records:?}"
    );
    wait_for(
        "the deployment's pod running",
        Duration::from_secs(330),
        || {
            let pods = kubectl_json(["-n", ns.name(), "get", "pods"]);
            let phases: Vec<String> = pods["items"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|p| p["status"]["phase"].as_str().unwrap_or("").to_owned())
                .collect();
            if phases.iter().any(|p| p == "Running") {
                Ok(())
            } else {
                Err(format!("phases {phases:?}"))
            }
        },
    );
}

/// Puts the registry in a role assignment mode; back to the legacy mode (and without the
/// repository reader assignments the test made) on drop.
struct RegistryMode;

impl RegistryMode {
    fn abac() -> Self {
        set_role_assignment_mode("AbacRepositoryPermissions");
        RegistryMode
    }
}

impl Drop for RegistryMode {
    fn drop(&mut self) {
        set_role_assignment_mode("LegacyRegistryPermissions");
        for a in kubelet_assignments() {
            if a["properties"]["roleDefinitionId"]
                .as_str()
                .is_some_and(|r| r.ends_with(REPOSITORY_READER))
            {
                arm("DELETE", a["id"].as_str().unwrap(), "2022-04-01", None);
            }
        }
    }
}

const REPOSITORY_READER: &str = "b93aa761-3e63-49ed-ac28-beffa264f7ac";

fn set_role_assignment_mode(mode: &str) {
    let env = Env::get();
    let (s, v) = arm(
        "PATCH",
        env.var("BERTH_ACR_RESOURCE_ID"),
        "2025-04-01",
        Some(json!({"properties": {"roleAssignmentMode": mode}})),
    );
    assert_eq!(s, 200, "registry PATCH: {v}");
    assert_eq!(v["properties"]["roleAssignmentMode"], mode, "{v}");
}

/// A registry in ABAC mode does not honour the AcrPull that --attach-acr made: berth names the
/// role that mode needs and assigns it.
#[test]
fn in_abac_mode_acr_pull_is_not_enough_and_the_fix_assigns_the_repository_reader() {
    let _serial = serial();
    let berth = Berth::new();
    assert!(kubelet_assignments().iter().any(is_acr_pull));
    let _mode = RegistryMode::abac();
    let ns = TestNamespace::new("aks-dx-abac");
    create_pod(ns.name(), "web", &image("web:1.0.3"));
    pull_failure(ns.name(), "web");
    let (kind, headline, d) = berth.diagnose(ns.name(), "web");
    assert_eq!(kind, "kubelet_identity_cannot_pull", "{d}");
    assert!(
        headline.contains("lacks Container Registry Repository Reader on registry")
            && headline.contains("ABAC mode, where AcrPull is not honoured"),
        "{headline}"
    );
    let (code, out, err) = berth.run(&["check-acr", "--fix", "--yes"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("assigned Container Registry Repository Reader"),
        "{out}"
    );
    wait_running_within(ns.name(), "web", Duration::from_secs(330));
}
