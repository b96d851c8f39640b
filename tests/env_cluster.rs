//! The local environment end to end (issue 3, "Done when"): pods on the real node pull from the
//! ACR stand-in (in front of the real registry) with real pull secrets, and every failure mode ends
//! in ImagePullBackOff with kubelet's events, all checked through kubectl and skopeo.

mod support;

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

use base64::Engine;
use berth::secret::Secret;
use serde_json::{Value, json};
use support::{
    Env, TestNamespace, events_for, kubectl, kubectl_json, kubectl_stdin, unique_name, wait_for,
};

const READY_TIMEOUT: Duration = Duration::from_secs(180);
const BACKOFF_TIMEOUT: Duration = Duration::from_secs(150);

// ------------------------------------------------------------------------------------------------
// Objects

/// A `kubernetes.io/dockerconfigjson` secret, exactly what `kubectl create secret docker-registry`
/// writes, sent on stdin so the password never appears on a command line or in a panic message.
fn create_pull_secret(ns: &str, name: &str, server: &str, user: &str, password: &Secret) {
    let b64 = base64::engine::general_purpose::STANDARD;
    let auth = b64.encode(format!("{user}:{}", password.expose()));
    let config =
        json!({"auths": {server: {"username": user, "password": password.expose(), "auth": auth}}});
    let secret = json!({
        "apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/dockerconfigjson",
        "metadata": {"name": name},
        "data": {".dockerconfigjson": b64.encode(config.to_string())}
    });
    kubectl_stdin(["-n", ns, "create", "-f", "-"], &secret.to_string());
}

fn pod_spec(image: &str, pull_secret: Option<&str>) -> Value {
    let mut spec = json!({
        "terminationGracePeriodSeconds": 1,
        "containers": [{"name": "app", "image": image, "imagePullPolicy": "Always"}]
    });
    if let Some(secret) = pull_secret {
        spec["imagePullSecrets"] = json!([{"name": secret}]);
    }
    spec
}

fn create_deployment(ns: &str, name: &str, image: &str, pull_secret: &str) {
    let deployment = json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": name}},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}},
            "template": {"metadata": {"labels": {"app": name}}, "spec": pod_spec(image, Some(pull_secret))}
        }
    });
    kubectl_stdin(["-n", ns, "apply", "-f", "-"], &deployment.to_string());
}

// ------------------------------------------------------------------------------------------------
// Checks

/// The manifest digest the registry reports for `image`, through the stand-in's token flow.
fn skopeo_digest(image: &str, user: &str, password: &Secret) -> Result<String, String> {
    let env = Env::get();
    // --creds on stdin is not supported; an auth file in a private temp dir keeps it off argv.
    let dir = tempfile::tempdir().expect("temp dir");
    let auth_file = dir.path().join("auth.json");
    let b64 = base64::engine::general_purpose::STANDARD;
    let host = image.split('/').next().unwrap_or_default();
    let auth =
        json!({"auths": {host: {"auth": b64.encode(format!("{user}:{}", password.expose()))}}});
    std::fs::write(&auth_file, auth.to_string()).expect("write auth file");
    let out = Command::new("skopeo")
        .args(["inspect", "--cert-dir"])
        .arg(env.cert_dir())
        .arg("--authfile")
        .arg(&auth_file)
        .arg(format!("docker://{image}"))
        .output()
        .expect("run skopeo");
    if !out.status.success() {
        return Err(format!(
            "skopeo inspect docker://{image} failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    let info: Value = serde_json::from_slice(&out.stdout).expect("skopeo prints JSON");
    info["Digest"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| format!("skopeo printed no Digest: {info}"))
}

fn is_ready(pod: &Value) -> bool {
    pod["status"]["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|c| c["type"] == "Ready" && c["status"] == "True")
}

/// Waits until the deployment's rollout finished: every replica updated and available, and
/// nothing else left. Returns the Running/Ready pods.
fn wait_rolled_out(ns: &str, name: &str) -> Vec<Value> {
    wait_for(
        &format!("deployment {ns}/{name} rolled out"),
        READY_TIMEOUT,
        || {
            let d = kubectl_json(["-n", ns, "get", "deployment", name]);
            let want = d["spec"]["replicas"].as_i64().unwrap_or(1);
            let s = &d["status"];
            let done = s["observedGeneration"].as_i64() >= d["metadata"]["generation"].as_i64()
                && s["updatedReplicas"].as_i64() == Some(want)
                && s["availableReplicas"].as_i64() == Some(want)
                && s["replicas"].as_i64() == Some(want);
            let pods = kubectl_json(["-n", ns, "get", "pods", "-l", &format!("app={name}")]);
            let pods: Vec<Value> = pods["items"].as_array().cloned().unwrap_or_default();
            let running: Vec<Value> = pods
                .iter()
                .filter(|p| {
                    p["metadata"]["deletionTimestamp"].is_null()
                        && p["status"]["phase"] == "Running"
                        && is_ready(p)
                })
                .cloned()
                .collect();
            if done && running.len() as i64 == want {
                Ok(running)
            } else {
                let states: Vec<String> = pods
                    .iter()
                    .map(|p| {
                        format!(
                            "{} phase={} waiting={}",
                            p["metadata"]["name"],
                            p["status"]["phase"],
                            p["status"]["containerStatuses"][0]["state"]["waiting"]
                        )
                    })
                    .collect();
                Err(format!("deployment status {s}; pods {states:?}"))
            }
        },
    )
}

/// The digest part of a containerStatuses imageID (`host/repo@sha256:…`).
fn image_id_digest(pod: &Value) -> String {
    let id = pod["status"]["containerStatuses"][0]["imageID"]
        .as_str()
        .unwrap_or_default();
    id.rsplit_once('@')
        .map(|(_, d)| d.to_owned())
        .unwrap_or_else(|| panic!("imageID without a digest: {id:?}"))
}

/// What one failed pull must show: the waiting reason, and the kubelet's events, whose Failed
/// message carries `cause` (a case-specific piece of containerd's error) and never `not_cause`.
struct PullFailure<'a> {
    cause: &'a [&'a str],
    not_cause: &'a str,
}

const NOT_FOUND: PullFailure = PullFailure {
    cause: &["not found"],
    not_cause: "401",
};
const UNAUTHORIZED: PullFailure = PullFailure {
    cause: &["401", "nauthorized"],
    not_cause: "not found",
};

/// Creates a pod pulling `image` and checks it ends in ImagePullBackOff with kubelet's events.
fn assert_pull_backoff(ns: &str, image: &str, pull_secret: Option<&str>, expect: PullFailure) {
    let name = unique_name("pull");
    let pod = json!({
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": name}, "spec": pod_spec(image, pull_secret)
    });
    kubectl_stdin(["-n", ns, "apply", "-f", "-"], &pod.to_string());

    wait_for(
        &format!("pod {ns}/{name} in ImagePullBackOff"),
        BACKOFF_TIMEOUT,
        || {
            let out = kubectl([
                "-n",
                ns,
                "get",
                "pod",
                &name,
                "-o",
                "jsonpath={.status.containerStatuses[0].state.waiting.reason}",
            ]);
            if out == "ImagePullBackOff" {
                Ok(())
            } else {
                Err(format!("waiting.reason={out:?}"))
            }
        },
    );

    let prefix = format!("Failed to pull image \"{image}\"");
    let events = wait_for(
        &format!("Failed and BackOff events of pod {ns}/{name}"),
        BACKOFF_TIMEOUT,
        || {
            let events = events_for(ns, "Pod", &name);
            let pull_failed = events
                .iter()
                .any(|(t, r, m)| t == "Warning" && r == "Failed" && m.starts_with(&prefix));
            let backoff = events
                .iter()
                .any(|(_, r, m)| r == "BackOff" && m.contains("Back-off pulling image"));
            let backoff_error = events
                .iter()
                .any(|(t, r, m)| t == "Warning" && r == "Failed" && m == "Error: ImagePullBackOff");
            if pull_failed && backoff && backoff_error {
                Ok(events)
            } else {
                Err(format!("events so far: {events:?}"))
            }
        },
    );

    let message = &events
        .iter()
        .find(|(_, r, m)| r == "Failed" && m.starts_with(&prefix))
        .expect("checked above")
        .2;
    assert!(
        expect.cause.iter().any(|c| message.contains(c)),
        "the pull of {image} failed for another reason than expected ({:?}): {message}",
        expect.cause
    );
    assert!(
        !message.contains(expect.not_cause),
        "the pull of {image} failed with {:?}, which this case must not produce: {message}",
        expect.not_cause
    );
    assert!(
        message.contains("failed to resolve reference"),
        "not containerd's resolve error: {message}"
    );
}

fn admin_secret(ns: &str) -> &'static str {
    let env = Env::get();
    create_pull_secret(
        ns,
        "acr-admin",
        env.acr_host(),
        env.var("BERTH_ACR_ADMIN_USER"),
        &env.secret("BERTH_ACR_ADMIN_PASSWORD"),
    );
    "acr-admin"
}

// ------------------------------------------------------------------------------------------------
// Azure (ARM) calls, with curl: its config goes over stdin so secrets stay off the command line.

fn curl_json(
    url: &str,
    bearer: Option<&Secret>,
    form: &[(&str, &str)],
    json_body: Option<&Value>,
) -> Value {
    let env = Env::get();
    let quote = |s: &str| format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""));
    let mut config = format!(
        "url = {}\nrequest = \"POST\"\nsilent\nshow-error\nfail-with-body\n",
        quote(url)
    );
    config += &format!("cacert = {}\n", quote(&env.ca_file().to_string_lossy()));
    if let Some(token) = bearer {
        config += &format!(
            "header = {}\n",
            quote(&format!("Authorization: Bearer {}", token.expose()))
        );
    }
    for (k, v) in form {
        config += &format!("data-urlencode = {}\n", quote(&format!("{k}={v}")));
    }
    if let Some(body) = json_body {
        config += "header = \"Content-Type: application/json\"\n";
        config += &format!("data = {}\n", quote(&body.to_string()));
    }
    let mut child = Command::new("curl")
        .args(["-K", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run curl");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(config.as_bytes())
        .expect("write curl config");
    let out = child.wait_with_output().expect("wait for curl");
    assert!(
        out.status.success(),
        "POST {url} failed: {} {}",
        String::from_utf8_lossy(&out.stderr).trim(),
        String::from_utf8_lossy(&out.stdout).trim()
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "POST {url} answered no JSON ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

fn arm_token() -> Secret {
    let env = Env::get();
    let url = format!(
        "{}/{}/oauth2/v2.0/token",
        env.var("BERTH_AZURE_URL"),
        env.var("BERTH_TENANT_ID")
    );
    let secret = env.secret("BERTH_SP_CLIENT_SECRET");
    let answer = curl_json(
        &url,
        None,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", env.var("BERTH_SP_CLIENT_ID")),
            ("client_secret", secret.expose()),
            ("scope", "https://management.azure.com/.default"),
        ],
        None,
    );
    Secret::new(
        answer["access_token"]
            .as_str()
            .expect("Entra answered no access_token"),
    )
}

fn registry_arm_url(action: &str) -> String {
    let env = Env::get();
    format!(
        "{}/subscriptions/{}/resourceGroups/{}/providers/Microsoft.ContainerRegistry/registries/{}/{action}?api-version=2023-07-01",
        env.var("BERTH_AZURE_URL"),
        env.var("BERTH_SUBSCRIPTION_ID"),
        env.var("BERTH_RESOURCE_GROUP"),
        env.var("BERTH_ACR_NAME"),
    )
}

fn password_slot(credentials: &Value, slot: &str) -> Secret {
    let value = credentials["passwords"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|p| p["name"] == slot)
        .and_then(|p| p["value"].as_str())
        .unwrap_or_else(|| panic!("no {slot} in the admin credentials"));
    Secret::new(value)
}

// ------------------------------------------------------------------------------------------------
// Tests

#[test]
fn deployment_runs_with_the_digest_from_the_registry() {
    let env = Env::get();
    let ns = TestNamespace::new("env-deploy");
    let secret = admin_secret(ns.name());
    let image = format!("{}/web:1.0.3", env.acr_host());
    create_deployment(ns.name(), "web", &image, secret);

    let pods = wait_rolled_out(ns.name(), "web");
    let expected = skopeo_digest(
        &image,
        env.var("BERTH_ACR_ADMIN_USER"),
        &env.secret("BERTH_ACR_ADMIN_PASSWORD"),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert!(expected.starts_with("sha256:"), "odd digest {expected}");
    for pod in &pods {
        // Not `status.containerStatuses[].image`: containerd names an image by any of the
        // references it holds for that digest (another test's copy of web:1.0.3 in another
        // repository may be the one reported). The image ID is the digest that ran.
        assert_eq!(pod["spec"]["containers"][0]["image"], image.as_str());
        assert_eq!(
            image_id_digest(pod),
            expected,
            "pod {} runs another image",
            pod["metadata"]["name"]
        );
    }
}

#[test]
fn rolling_update_to_a_new_tag_completes() {
    let env = Env::get();
    let ns = TestNamespace::new("env-rollout");
    let secret = admin_secret(ns.name());
    let old_image = format!("{}/web:1.0.4", env.acr_host());
    let new_image = format!("{}/web:1.0.5", env.acr_host());
    create_deployment(ns.name(), "web", &old_image, secret);
    wait_rolled_out(ns.name(), "web");
    let old_rs = kubectl_json(["-n", ns.name(), "get", "replicasets", "-l", "app=web"]);
    let old_rs_name = old_rs["items"][0]["metadata"]["name"]
        .as_str()
        .expect("a ReplicaSet")
        .to_owned();

    kubectl([
        "-n",
        ns.name(),
        "set",
        "image",
        "deployment/web",
        &format!("app={new_image}"),
    ]);
    let pods = wait_rolled_out(ns.name(), "web");

    let user = env.var("BERTH_ACR_ADMIN_USER");
    let password = env.secret("BERTH_ACR_ADMIN_PASSWORD");
    let new_digest = skopeo_digest(&new_image, user, &password).unwrap_or_else(|e| panic!("{e}"));
    let old_digest = skopeo_digest(&old_image, user, &password).unwrap_or_else(|e| panic!("{e}"));
    assert_ne!(
        new_digest, old_digest,
        "the seeded tags must have distinct digests"
    );
    for pod in &pods {
        assert_eq!(image_id_digest(pod), new_digest);
    }

    // The old ReplicaSet is scaled to 0 and has no pods left; the new one owns the replica.
    let sets = wait_for("the old ReplicaSet scaled to 0", READY_TIMEOUT, || {
        let sets = kubectl_json(["-n", ns.name(), "get", "replicasets", "-l", "app=web"]);
        let items = sets["items"].as_array().cloned().unwrap_or_default();
        let old = items
            .iter()
            .find(|rs| rs["metadata"]["name"] == old_rs_name.as_str());
        match old {
            Some(rs) if rs["spec"]["replicas"] == 0 && rs["status"]["replicas"] == 0 => Ok(items),
            other => Err(format!(
                "old ReplicaSet: {:?}",
                other.map(|rs| &rs["status"])
            )),
        }
    });
    assert_eq!(sets.len(), 2, "expected the old and the new ReplicaSet");
    let new = sets
        .iter()
        .find(|rs| rs["metadata"]["name"] != old_rs_name.as_str())
        .expect("new ReplicaSet");
    assert_eq!(
        new["spec"]["template"]["spec"]["containers"][0]["image"],
        new_image.as_str()
    );
    assert_eq!(new["status"]["readyReplicas"], 1);
}

#[test]
fn missing_tag_ends_in_image_pull_backoff() {
    let env = Env::get();
    let ns = TestNamespace::new("env-notag");
    let secret = admin_secret(ns.name());
    let image = format!("{}/web:0.0.0-missing", env.acr_host());
    assert_pull_backoff(ns.name(), &image, Some(secret), NOT_FOUND);
}

#[test]
fn missing_repository_ends_in_image_pull_backoff() {
    let env = Env::get();
    let ns = TestNamespace::new("env-norepo");
    let secret = admin_secret(ns.name());
    let image = format!("{}/{}:1.0.0", env.acr_host(), unique_name("missing"));
    assert_pull_backoff(ns.name(), &image, Some(secret), NOT_FOUND);
}

#[test]
fn no_pull_secret_ends_in_image_pull_backoff() {
    let env = Env::get();
    let ns = TestNamespace::new("env-nosecret");
    let image = format!("{}/web:1.0.6", env.acr_host());
    assert_pull_backoff(ns.name(), &image, None, UNAUTHORIZED);
}

#[test]
fn wrong_password_ends_in_image_pull_backoff() {
    let env = Env::get();
    let ns = TestNamespace::new("env-wrongpw");
    let wrong = Secret::new(unique_name("wrong-password"));
    create_pull_secret(
        ns.name(),
        "wrong",
        env.acr_host(),
        env.var("BERTH_ACR_ADMIN_USER"),
        &wrong,
    );
    let image = format!("{}/web:1.0.7", env.acr_host());
    assert_pull_backoff(ns.name(), &image, Some("wrong"), UNAUTHORIZED);
}

#[test]
fn secret_for_another_registry_ends_in_image_pull_backoff() {
    let env = Env::get();
    let ns = TestNamespace::new("env-otherhost");
    // Valid credentials, but for the plain registry: kubelet offers nothing to the ACR host.
    create_pull_secret(
        ns.name(),
        "plain",
        env.plain_registry_host(),
        env.var("BERTH_PLAIN_USER"),
        &env.secret("BERTH_PLAIN_PASSWORD"),
    );
    let image = format!("{}/web:1.0.8", env.acr_host());
    assert_pull_backoff(ns.name(), &image, Some("plain"), UNAUTHORIZED);
}

#[test]
fn rotated_away_password_ends_in_image_pull_backoff() {
    let env = Env::get();
    let ns = TestNamespace::new("env-rotated");
    let user = env.var("BERTH_ACR_ADMIN_USER");
    let image = format!("{}/web:1.0.9", env.acr_host());
    let token = arm_token();

    // password2 only: other tests rely on `password` staying valid.
    let before = curl_json(
        &registry_arm_url("listCredentials"),
        Some(&token),
        &[],
        None,
    );
    let old = password_slot(&before, "password2");
    skopeo_digest(&image, user, &old)
        .unwrap_or_else(|e| panic!("password2 did not work before the rotation: {e}"));
    create_pull_secret(ns.name(), "old-password2", env.acr_host(), user, &old);

    let after = curl_json(
        &registry_arm_url("regenerateCredential"),
        Some(&token),
        &[],
        Some(&json!({"name": "password2"})),
    );
    let new = password_slot(&after, "password2");
    assert_ne!(new, old, "regenerateCredential returned the same password2");
    assert!(
        skopeo_digest(&image, user, &old).is_err(),
        "the rotated-away password2 still authenticates"
    );
    skopeo_digest(&image, user, &new)
        .unwrap_or_else(|e| panic!("the new password2 does not work: {e}"));

    assert_pull_backoff(ns.name(), &image, Some("old-password2"), UNAUTHORIZED);
}
