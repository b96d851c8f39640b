//! Pull-secret rotation against the real control plane, node and ACR stand-in (Entra + ARM +
//! registry), checked with kubectl (secrets decoded), the registry itself and running pods.
//!
//! The admin test only ever regenerates `password2` (other tests rely on `password`); the token
//! tests create a token of their own, so they may also invalidate its old slot.

mod cluster_common;
mod support;

use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use berth::azure::arm::ArmClient;
use berth::cluster::acr_source::{
    AcrAdminSource, AcrTokenSource, RegistryArm, SlotPolicy, verify_registry_credentials,
};
use berth::cluster::rotate::{self, CredentialSource, RotateError, RotationRequest, WriteOutcome};
use berth::registry::client::http_client;
use berth::secret::Secret;
use cluster_common::*;
use serde_json::{Value, json};
use support::{
    Env, TestNamespace, kubectl, kubectl_json, kubectl_stdin, try_kubectl, unique_name, wait_for,
};

const PODS: Duration = Duration::from_secs(180);

fn http() -> reqwest::Client {
    http_client(Some(&Env::get().ca_file()), "stand-in").expect("http client")
}

/// The registry's ARM side as berth builds it: azure_identity's client-secret credential
/// against the stand-in's Entra, the one ARM client.
fn arm() -> Arc<RegistryArm> {
    let env = Env::get();
    let url = env.var("BERTH_AZURE_URL").to_owned();
    let http = http();
    let credential = berth::azure::credential::client_secret(
        env.var("BERTH_TENANT_ID"),
        env.var("BERTH_SP_CLIENT_ID"),
        &env.secret("BERTH_SP_CLIENT_SECRET"),
        &http,
        Some(&url),
    )
    .expect("credential");
    let client = ArmClient::new(http, &url, credential).expect("ARM client");
    Arc::new(RegistryArm::new(client, env.var("BERTH_ACR_RESOURCE_ID")))
}

/// A scope-map token of this test only (pull on every repository), deleted on drop.
struct OwnToken {
    name: String,
    arm: Arc<RegistryArm>,
}

impl OwnToken {
    fn new() -> Self {
        let name = unique_name("cl-tok");
        let arm = arm();
        rt().block_on(arm.create_token(&name, "_repositories_pull"))
            .unwrap_or_else(|e| panic!("create token {name}: {e}"));
        Self { name, arm }
    }

    fn source(&self, slot: SlotPolicy) -> AcrTokenSource {
        AcrTokenSource {
            arm: self.arm.clone(),
            http: http(),
            login_server: Env::get().acr_host().into(),
            token_name: self.name.clone(),
            lifetime: jiff::SignedDuration::from_hours(24),
            slot,
            verify_repository: Some("web".into()),
        }
    }
}

impl Drop for OwnToken {
    fn drop(&mut self) {
        let _ = rt().block_on(self.arm.delete_token(&self.name));
    }
}

/// The secret's `.dockerconfigjson`, decoded, as kubectl returns it.
fn secret_config(ns: &str, name: &str) -> Option<Value> {
    let b64 = try_kubectl([
        "-n",
        ns,
        "get",
        "secret",
        name,
        "-o",
        "jsonpath={.data.\\.dockerconfigjson}",
    ])
    .ok()?;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(b64.trim())
        .expect("secret data is base64");
    Some(serde_json::from_slice(&bytes).expect("dockerconfigjson is JSON"))
}

fn password_in(config: &Value) -> Secret {
    let host = Env::get().acr_host();
    Secret::new(
        config["auths"][host]["password"]
            .as_str()
            .unwrap_or_else(|| panic!("no entry for {host} in the secret")),
    )
}

fn verify(user: &str, password: &Secret) -> Result<(), String> {
    rt().block_on(verify_registry_credentials(
        &http(),
        Env::get().acr_host(),
        user,
        password,
        Some("web"),
    ))
    .map_err(|e| e.to_string())
}

/// A deployment whose pods pull on every start (`Always`), so stale credentials show.
fn pulling_deployment(ns: &str, name: &str, tag: &str, secret: &str) {
    let mut d = deployment_json(name, &acr_image(&format!("web:{tag}")), Some(secret), 1);
    d["spec"]["template"]["spec"]["containers"][0]["imagePullPolicy"] = json!("Always");
    create(ns, &d);
}

fn pod_states(ns: &str) -> Vec<String> {
    let pods = kubectl_json(["-n", ns, "get", "pods"]);
    pods["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            let st = &p["status"]["containerStatuses"][0]["state"];
            let name = p["metadata"]["name"].as_str().unwrap_or("");
            match st["waiting"]["reason"].as_str() {
                Some(r) => format!("{name}:{r}"),
                None if st["running"].is_object()
                    && p["status"]["containerStatuses"][0]["ready"] == true =>
                {
                    format!("{name}:ready")
                }
                None => format!("{name}:other"),
            }
        })
        .collect()
}

fn wait_pull_failing(ns: &str) {
    wait_for(&format!("a pod in {ns} failing to pull"), PODS, || {
        let s = pod_states(ns);
        if s.iter()
            .any(|p| p.ends_with(":ImagePullBackOff") || p.ends_with(":ErrImagePull"))
        {
            Ok(())
        } else {
            Err(format!("{s:?}"))
        }
    });
}

fn wait_all_ready(ns: &str) {
    wait_for(
        &format!("every pod in {ns} ready, rollout done"),
        PODS,
        || {
            let s = pod_states(ns);
            let done = try_kubectl([
                "-n",
                ns,
                "rollout",
                "status",
                "deployment/web",
                "--timeout=1s",
            ])
            .is_ok();
            if done && !s.is_empty() && s.iter().all(|p| p.ends_with(":ready")) {
                Ok(())
            } else {
                Err(format!("{s:?}"))
            }
        },
    );
}

fn kube_ctx() -> (berth::cluster::connect::KubeTarget, String) {
    let t = admin();
    let actor = rt().block_on(berth::cluster::connect::identity(&t));
    (t, actor)
}

#[test]
fn token_rotation_updates_every_namespace_and_failing_pods_pull_again() {
    let _lock = apiserver_lock(false);
    let token = OwnToken::new();
    let namespaces: Vec<TestNamespace> = (0..3).map(|_| TestNamespace::new("cl-rot-tok")).collect();
    let names: Vec<String> = namespaces.iter().map(|n| n.name().to_owned()).collect();
    let (t, actor) = kube_ctx();
    let audit = Audit::new();

    // The token's first password, in every namespace; pods run with it.
    let first = rt()
        .block_on(
            token
                .source(SlotPolicy::Fixed("password1".into()))
                .fresh_credentials(&[]),
        )
        .expect("first password1");
    verify(&first.username, &first.password).expect("password1 works");
    for ns in &names {
        create_pull_secret(
            ns,
            "acr",
            Env::get().acr_host(),
            &first.username,
            &first.password,
        );
        pulling_deployment(ns, "web", "1.0.16", "acr");
    }
    for ns in &names {
        wait_all_ready(ns);
    }

    // password1 is regenerated behind the cluster's back: the secrets are now stale, and a
    // restart leaves the new pods failing to pull.
    let stale = rt()
        .block_on(
            token
                .source(SlotPolicy::Fixed("password1".into()))
                .fresh_credentials(&[]),
        )
        .expect("regenerate password1");
    assert!(
        verify(&first.username, &first.password).is_err(),
        "the stale password still works"
    );
    for ns in &names {
        kubectl(["-n", ns, "rollout", "restart", "deployment/web"]);
    }
    for ns in &names {
        wait_pull_failing(ns);
    }

    // Rotate: the slot not in use (password2, as password1 is the newest), restart the failing
    // deployments, attach to the default service account, invalidate the old slot.
    let mut req = RotationRequest::new("acr", names.clone());
    req.restart_failing = true;
    req.attach_service_account = Some("default".into());
    req.invalidate_old_slot = true;
    let source = token.source(SlotPolicy::Alternate);
    let report = rt()
        .block_on(rotate::rotate(&t.client, &actor, &audit.log, &source, &req))
        .expect("rotation");
    assert!(report.all_ok(), "{report:#?}");
    assert_eq!(report.slot.as_deref(), Some("password2"));
    assert_eq!(report.invalidated_slot.as_deref(), Some("password1"));
    assert!(report.expiry.is_some());

    let mut passwords = Vec::new();
    assert_eq!(report.namespaces.len(), names.len());
    for ns in &names {
        let rep = report
            .namespaces
            .iter()
            .find(|r| &r.namespace == ns)
            .expect("reported");
        assert_eq!(rep.secret, WriteOutcome::Updated, "{rep:?}");
        assert_eq!(rep.restarted, ["web"], "{rep:?}");
        assert_eq!(rep.attached, Some(true));
        let config = secret_config(ns, "acr").expect("secret exists");
        let entry = &config["auths"][Env::get().acr_host()];
        assert_eq!(entry["username"], token.name.as_str());
        let p = password_in(&config);
        let auth = base64::engine::general_purpose::STANDARD.encode(format!(
            "{}:{}",
            token.name,
            p.expose()
        ));
        assert_eq!(
            entry["auth"],
            auth.as_str(),
            "auth is base64(user:password)"
        );
        assert_ne!(p, first.password);
        assert_ne!(p, stale.password);
        passwords.push(p);
        let sa = kubectl([
            "-n",
            ns,
            "get",
            "serviceaccount",
            "default",
            "-o",
            "jsonpath={.imagePullSecrets[*].name}",
        ]);
        assert_eq!(sa.trim(), "acr");
    }
    assert!(
        passwords.windows(2).all(|w| w[0] == w[1]),
        "namespaces got different passwords"
    );
    verify(&token.name, &passwords[0]).expect("the rotated password works");
    assert!(
        verify(&token.name, &stale.password).is_err(),
        "the old slot was not invalidated"
    );
    for ns in &names {
        wait_all_ready(ns);
    }
    let recs = audit.records();
    let rotations = recs
        .iter()
        .filter(|r| r["action"] == "secret.rotate")
        .count();
    assert_eq!(rotations, 3, "{recs:?}");
    let text = std::fs::read_to_string(audit.log.path()).unwrap();
    assert!(
        !text.contains(passwords[0].expose()),
        "a password reached the audit log"
    );
}

#[test]
fn admin_rotation_changes_the_secret_everywhere() {
    let _lock = apiserver_lock(false);
    let env = Env::get();
    let namespaces: Vec<TestNamespace> = (0..2).map(|_| TestNamespace::new("cl-rot-adm")).collect();
    let names: Vec<String> = namespaces.iter().map(|n| n.name().to_owned()).collect();
    let (t, actor) = kube_ctx();
    let audit = Audit::new();
    // Namespace 0 has a secret with a wrong password (its pods fail), namespace 1 none at all.
    create_pull_secret(
        &names[0],
        "acr",
        env.acr_host(),
        env.var("BERTH_ACR_ADMIN_USER"),
        &Secret::new("not-the-password"),
    );
    pulling_deployment(&names[0], "web", "1.0.17", "acr");
    wait_pull_failing(&names[0]);
    let before = secret_config(&names[0], "acr").unwrap();

    let source = AcrAdminSource {
        arm: arm(),
        http: http(),
        login_server: env.acr_host().into(),
        // Never `password`: the environment's own admin password must stay valid.
        slot: SlotPolicy::Fixed("password2".into()),
        verify_repository: Some("web".into()),
    };
    let mut req = RotationRequest::new("acr", names.clone());
    req.restart_failing = true;
    let report = rt()
        .block_on(rotate::rotate(&t.client, &actor, &audit.log, &source, &req))
        .expect("admin rotation");
    assert!(report.all_ok(), "{report:#?}");
    assert_eq!(report.slot.as_deref(), Some("password2"));
    let by_ns = |n: &str| report.namespaces.iter().find(|r| r.namespace == n).unwrap();
    assert_eq!(by_ns(&names[0]).secret, WriteOutcome::Updated);
    assert_eq!(by_ns(&names[1]).secret, WriteOutcome::Created);
    assert_eq!(by_ns(&names[0]).restarted, ["web"]);
    assert!(by_ns(&names[1]).restarted.is_empty());

    let after0 = secret_config(&names[0], "acr").unwrap();
    let after1 = secret_config(&names[1], "acr").unwrap();
    assert_ne!(
        password_in(&after0),
        password_in(&before),
        "namespace 0 still has the old password"
    );
    assert_eq!(after0, after1, "both namespaces hold the same credentials");
    assert_eq!(
        after1,
        json!({"auths": {env.acr_host(): {
            "username": env.var("BERTH_ACR_ADMIN_USER"),
            "password": password_in(&after1).expose(),
            "auth": base64::engine::general_purpose::STANDARD.encode(format!(
                "{}:{}",
                env.var("BERTH_ACR_ADMIN_USER"),
                password_in(&after1).expose()
            )),
        }}}),
        "not what kubectl create secret docker-registry writes"
    );
    let secret_type = kubectl([
        "-n",
        &names[1],
        "get",
        "secret",
        "acr",
        "-o",
        "jsonpath={.type}",
    ]);
    assert_eq!(secret_type, "kubernetes.io/dockerconfigjson");
    // The pods that failed on the wrong password pull now (unless another test regenerated
    // password2 meanwhile, which the verification below would show).
    verify(env.var("BERTH_ACR_ADMIN_USER"), &password_in(&after1)).expect("new password2 works");
    wait_all_ready(&names[0]);
}

/// The registry refuses the fresh credentials (a stand-in fault on exactly this test's token
/// request): nothing is written, the old slot stays.
#[test]
fn failed_verification_writes_nothing() {
    let _lock = apiserver_lock(false);
    let env = Env::get();
    let token = OwnToken::new();
    let a = TestNamespace::new("cl-rot-ver");
    let b = TestNamespace::new("cl-rot-ver");
    let (t, actor) = kube_ctx();
    let audit = Audit::new();
    create_pull_secret(
        a.name(),
        "acr",
        env.acr_host(),
        "someone",
        &Secret::new("old"),
    );
    // What the secret holds and says (its data and annotations; the rotation's claim comes and
    // goes, so the resourceVersion moves).
    let content = || {
        let s = kubectl_json(["-n", a.name(), "get", "secret", "acr"]);
        (s["data"].clone(), s["metadata"]["annotations"].clone())
    };
    let before = content();

    // Verification asks for a token scoped to a repository only this test names; the fault
    // makes the registry's token endpoint refuse exactly that request.
    let repo = unique_name("cl-verify");
    let fault = rt().block_on(async {
        http()
            .post(format!("{}/faults", env.var("BERTH_STANDIN_CONTROL")))
            .json(&json!({"path_contains": format!("scope=repository:{repo}:pull"), "status": 401, "count": 3}))
            .send()
            .await
            .and_then(|r| r.error_for_status())
    });
    fault.expect("install the stand-in fault");
    let mut source = token.source(SlotPolicy::Fixed("password2".into()));
    source.verify_repository = Some(repo.clone());
    let mut req = RotationRequest::new("acr", vec![a.name().into(), b.name().into()]);
    req.invalidate_old_slot = true;
    let err = rt()
        .block_on(rotate::rotate(&t.client, &actor, &audit.log, &source, &req))
        .expect_err("a rotation with rejected credentials succeeded");
    assert!(matches!(err, RotateError::Verification { .. }), "{err}");
    assert!(err.to_string().contains("no secret was written"), "{err}");

    assert_eq!(
        content(),
        before,
        "the existing secret keeps its credentials, and the claim is taken off"
    );
    assert!(
        secret_config(b.name(), "acr").is_none(),
        "a secret was created"
    );
    let recs = audit.records();
    assert!(
        recs.iter().all(|r| r["outcome"]["status"] == "failed") && recs.len() == 2,
        "{recs:?}"
    );
    let _ = rt().block_on(async {
        http()
            .delete(format!(
                "{}/faults?path_contains={repo}",
                env.var("BERTH_STANDIN_CONTROL")
            ))
            .send()
            .await
    });
}

/// One namespace cannot take the secret (a quota allows no more secrets): the others are
/// written and reported, that one is reported failed, the old slot is kept valid.
#[test]
fn a_failed_namespace_keeps_the_old_slot_valid() {
    let _lock = apiserver_lock(false);
    let token = OwnToken::new();
    let ok = TestNamespace::new("cl-rot-part");
    let full = TestNamespace::new("cl-rot-part");
    let (t, actor) = kube_ctx();
    let audit = Audit::new();
    let current = rt()
        .block_on(
            token
                .source(SlotPolicy::Fixed("password1".into()))
                .fresh_credentials(&[]),
        )
        .unwrap();
    // The default service account's token secret already uses the one allowed secret.
    kubectl_stdin(
        ["-n", full.name(), "create", "-f", "-"],
        &json!({"apiVersion": "v1", "kind": "ResourceQuota", "metadata": {"name": "no-more-secrets"},
                "spec": {"hard": {"count/secrets": "1"}}})
        .to_string(),
    );
    wait_for("the quota to be enforced", Duration::from_secs(60), || {
        let q = kubectl_json(["-n", full.name(), "get", "resourcequota", "no-more-secrets"]);
        q["status"]["used"]["count/secrets"]
            .as_str()
            .map(str::to_owned)
            .ok_or(format!("{q}"))
    });
    let mut req = RotationRequest::new("acr", vec![ok.name().into(), full.name().into()]);
    req.invalidate_old_slot = true;
    let report = rt()
        .block_on(rotate::rotate(
            &t.client,
            &actor,
            &audit.log,
            &token.source(SlotPolicy::Fixed("password2".into())),
            &req,
        ))
        .expect("rotation runs");
    assert!(!report.all_ok());
    let by_ns = |n: &str| report.namespaces.iter().find(|r| r.namespace == n).unwrap();
    assert_eq!(by_ns(ok.name()).secret, WriteOutcome::Created);
    let failed = by_ns(full.name());
    assert_eq!(failed.secret, WriteOutcome::Failed);
    assert!(
        failed.message.as_deref().unwrap_or("").contains("quota"),
        "{failed:?}"
    );
    assert!(secret_config(full.name(), "acr").is_none());
    assert!(secret_config(ok.name(), "acr").is_some());
    assert_eq!(report.invalidated_slot, None);
    assert!(
        report
            .invalidate_skipped
            .as_deref()
            .unwrap()
            .contains(full.name())
    );
    verify(&current.username, &current.password).expect("the old slot must stay valid");
}

#[test]
fn readonly_identity_cannot_rotate_or_attach() {
    let _lock = apiserver_lock(false);
    let ns = TestNamespace::new("cl-rot-ro");
    let t = readonly();
    let actor = rt().block_on(berth::cluster::connect::identity(&t));
    let audit = Audit::new();
    // A source that would count if it were ever asked.
    struct Counting(std::sync::atomic::AtomicUsize);
    #[async_trait::async_trait]
    impl CredentialSource for Counting {
        fn describe(&self) -> String {
            "counting".into()
        }
        fn registry_host(&self) -> String {
            Env::get().acr_host().into()
        }
        async fn fresh_credentials(
            &self,
            _: &[Secret],
        ) -> Result<rotate::FreshCredentials, rotate::SourceError> {
            self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            Err(rotate::SourceError("must not be called".into()))
        }
        async fn verify(&self, _: &rotate::FreshCredentials) -> Result<(), rotate::SourceError> {
            Ok(())
        }
        async fn invalidate_old_slot(
            &self,
            _: &rotate::FreshCredentials,
        ) -> Result<Option<String>, rotate::SourceError> {
            Ok(None)
        }
    }
    let source = Counting(Default::default());
    let err = rt()
        .block_on(rotate::rotate(
            &t.client,
            &actor,
            &audit.log,
            &source,
            &RotationRequest::new("acr", vec![ns.name().into()]),
        ))
        .expect_err("read-only identity rotated");
    let msg = err.to_string();
    assert!(
        matches!(err, RotateError::Refused(_)) && msg.contains("berth-readonly may not"),
        "{msg}"
    );
    assert_eq!(
        source.0.load(std::sync::atomic::Ordering::SeqCst),
        0,
        "credentials were minted before the permission check"
    );
    assert!(secret_config(ns.name(), "acr").is_none());

    let ctx = action_ctx(&t, &audit, false);
    let e = rt()
        .block_on(rotate::attach(&ctx, ns.name(), "default", "acr"))
        .expect_err("read-only identity attached");
    assert!(e.to_string().contains("serviceaccounts"), "{e}");
    let sa = kubectl([
        "-n",
        ns.name(),
        "get",
        "serviceaccount",
        "default",
        "-o",
        "jsonpath={.imagePullSecrets}",
    ]);
    assert!(sa.trim().is_empty(), "{sa}");
}
