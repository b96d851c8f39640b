//! Diagnosis of pull secrets on real pods: none, for other hosts, unattached, missing, wrong
//! type, malformed, rejected, on the service account only; each first fix applied through
//! berth's actions makes the pod run.

mod diagnose_support;
mod support;

use berth::diagnose::Cause;
use berth::diagnose::cause::{NoSecretWhy, SecretProblem, Verdict};
use berth::diagnose::fix::FixAction;
use berth::secret::Secret;
use diagnose_support::*;
use support::TestNamespace;

const FAILING: &[&str] = &["ErrImagePull", "ImagePullBackOff"];

fn web(tag: &str) -> String {
    format!("{}/web:{tag}", acr())
}

/// Deploys `web:{tag}` with `secrets`, waits for the pull to fail, diagnoses.
fn failing(ns: &TestNamespace, tag: &str, secrets: &[&str]) -> berth::diagnose::Diagnosis {
    deploy(ns.name(), "web", &web(tag), secrets);
    let pod = wait_pull_failure(ns.name(), "web", FAILING);
    diagnose(ns.name(), &pod)
}

fn fix_and_run(ns: &TestNamespace, d: &berth::diagnose::Diagnosis, tag: &str) {
    apply(&d.fixes[0]);
    wait_running(ns.name(), "web", &web(tag));
}

#[test]
fn no_secret_then_create_attach_restart() {
    let ns = TestNamespace::new("diag-nosecret");
    let d = failing(&ns, "1.0.5", &[]);
    assert_eq!(
        d.cause,
        Cause::NoSecretForHost {
            host: acr(),
            why: NoSecretWhy::NoneAttached
        }
    );
    assert!(
        d.headline.starts_with("no pull secret for registry"),
        "{}",
        d.headline
    );
    let actions = &d.fixes[0].actions;
    assert!(
        matches!(actions[0], FixAction::CreateSecret { .. }),
        "{actions:?}"
    );
    assert!(
        matches!(&actions[1], FixAction::AttachSecret { service_account, .. } if service_account == "default")
    );
    assert!(matches!(actions[2], FixAction::RestartRollout { .. }));
    fix_and_run(&ns, &d, "1.0.5");
}

#[test]
fn an_unattached_secret_in_the_namespace_is_attached() {
    let ns = TestNamespace::new("diag-unattached");
    let (user, pass) = token();
    docker_secret(ns.name(), "acr-creds", &acr(), &user, &pass);
    let d = failing(&ns, "1.0.6", &[]);
    assert!(
        matches!(d.cause, Cause::NoSecretForHost { .. }),
        "{:?}",
        d.cause
    );
    assert_eq!(
        first_fix_commands(&d),
        [
            format!(
                "berth secret attach -n {} --secret acr-creds --service-account default",
                ns.name()
            ),
            format!("berth rollout restart -n {} web", ns.name()),
        ]
    );
    fix_and_run(&ns, &d, "1.0.6");
}

#[test]
fn secrets_for_other_registries_only() {
    let ns = TestNamespace::new("diag-otherhost");
    let env = support::Env::get();
    docker_secret(
        ns.name(),
        "plain-pull",
        &format!("https://{}/v1/", plain()),
        env.var("BERTH_PLAIN_USER"),
        &env.secret("BERTH_PLAIN_PASSWORD"),
    );
    let d = failing(&ns, "1.0.7", &["plain-pull"]);
    let Cause::NoSecretForHost {
        why: NoSecretWhy::OtherHosts { secrets, keys },
        ..
    } = &d.cause
    else {
        panic!("expected secrets for other hosts, got {:?}", d.cause)
    };
    assert_eq!(secrets, &["plain-pull"]);
    assert_eq!(keys, &[format!("https://{}/v1/", plain())]);
    // The pod names its own secret, so the service account's would never reach it: the
    // credentials go into the secret it names.
    assert!(
        matches!(&d.fixes[0].actions[0], FixAction::RotateSecret { secret, registry, .. } if secret == "plain-pull" && *registry == acr()),
        "{:?}",
        d.fixes
    );
    fix_and_run(&ns, &d, "1.0.7");
}

#[test]
fn a_named_secret_that_does_not_exist() {
    let ns = TestNamespace::new("diag-missing");
    let d = failing(&ns, "1.0.8", &["acr-pull"]);
    assert_eq!(
        d.cause,
        Cause::SecretMissing {
            secret: "acr-pull".into(),
            namespace: ns.name().into()
        }
    );
    assert!(
        matches!(&d.fixes[0].actions[0], FixAction::CreateSecret { secret, .. } if secret == "acr-pull")
    );
    fix_and_run(&ns, &d, "1.0.8");
}

#[test]
fn a_secret_of_the_wrong_type() {
    let ns = TestNamespace::new("diag-wrongtype");
    let (user, pass) = token();
    let config =
        serde_json::json!({"auths": {acr(): {"username": user, "password": pass.expose()}}});
    raw_secret(
        ns.name(),
        "acr-pull",
        "Opaque",
        ".dockerconfigjson",
        &config.to_string(),
    );
    let d = failing(&ns, "1.0.9", &["acr-pull"]);
    assert!(
        matches!(&d.cause, Cause::SecretUnusable { secret, problem: SecretProblem::WrongType { type_, .. } } if secret == "acr-pull" && type_ == "Opaque"),
        "{:?}",
        d.cause
    );
    assert!(matches!(
        d.fixes[0].actions[0],
        FixAction::RecreateSecret { .. }
    ));
    fix_and_run(&ns, &d, "1.0.9");
}

#[test]
fn a_malformed_secret() {
    let ns = TestNamespace::new("diag-malformed");
    let config = serde_json::json!({"auths": {acr(): {"auth": "not base64!"}}});
    raw_secret(
        ns.name(),
        "acr-pull",
        "kubernetes.io/dockerconfigjson",
        ".dockerconfigjson",
        &config.to_string(),
    );
    let d = failing(&ns, "1.0.10", &["acr-pull"]);
    assert!(
        matches!(&d.cause, Cause::SecretUnusable { secret, problem: SecretProblem::Malformed { .. } } if secret == "acr-pull"),
        "{:?}",
        d.cause
    );
    assert!(d.headline.contains("malformed"), "{}", d.headline);
    assert!(matches!(
        d.fixes[0].actions[0],
        FixAction::RotateSecret { .. }
    ));
    fix_and_run(&ns, &d, "1.0.10");
}

#[test]
fn a_wrong_password_is_rejected_then_rotated() {
    let ns = TestNamespace::new("diag-rejected");
    let (user, _) = token();
    docker_secret(
        ns.name(),
        "acr-pull",
        &acr(),
        &user,
        &Secret::new("not-the-password"),
    );
    let d = failing(&ns, "1.0.11", &["acr-pull"]);
    let Cause::CredentialsRejected {
        secret,
        username,
        verdict,
        ..
    } = &d.cause
    else {
        panic!("expected rejected credentials, got {:?}", d.cause)
    };
    assert_eq!(secret, "acr-pull");
    assert_eq!(username.as_deref(), Some(user.as_str()));
    assert_eq!(verdict, &Verdict::WrongOrRotated);
    assert!(d.headline.contains("401"), "{}", d.headline);
    assert!(
        matches!(&d.fixes[0].actions[0], FixAction::RotateSecret { secret, .. } if secret == "acr-pull")
    );
    fix_and_run(&ns, &d, "1.0.11");
}

/// The secret is attached to the service account after the pod was created: the pod does not
/// have it, the diagnosis says so, and restarting the rollout gives new pods the secret.
#[test]
fn a_secret_on_the_service_account_only() {
    let ns = TestNamespace::new("diag-saonly");
    let (user, pass) = token();
    docker_secret(ns.name(), "acr-pull", &acr(), &user, &pass);
    deploy(ns.name(), "web", &web("1.0.12"), &[]);
    let pod = wait_pull_failure(ns.name(), "web", FAILING);
    let ctx = action_ctx();
    rt().block_on(berth::cluster::rotate::attach(
        &ctx,
        ns.name(),
        "default",
        "acr-pull",
    ))
    .unwrap_or_else(|e| panic!("attach: {e}"));
    let d = diagnose(ns.name(), &pod);
    assert!(
        matches!(&d.cause, Cause::NoSecretForHost { why: NoSecretWhy::ServiceAccountOnly { secrets, .. }, .. } if secrets == &["acr-pull"]),
        "{:?}",
        d.cause
    );
    assert_eq!(
        first_fix_commands(&d),
        [format!("berth rollout restart -n {} web", ns.name())]
    );
    fix_and_run(&ns, &d, "1.0.12");
}

/// The cases of issue 12 where the real node pulled with a secret and berth said "no pull
/// secret" or "malformed: the node fails every pull". The node is the judge: a pod with the
/// secret runs. Then a pod with the same secret and a tag that does not exist fails, and
/// berth's diagnosis must have probed with the secret's credentials, as the node did: the tag
/// is missing, not the secret.
fn the_node_pulls_with(
    prefix: &str,
    tag: &str,
    (user, pass): (String, Secret),
    config: &dyn Fn(&str, &str, &str) -> String,
) {
    let ns = TestNamespace::new(prefix);
    raw_secret(
        ns.name(),
        "acr-pull",
        "kubernetes.io/dockerconfigjson",
        ".dockerconfigjson",
        &config(&acr(), &user, pass.expose()),
    );
    deploy(ns.name(), "web", &web(tag), &["acr-pull"]);
    wait_running(ns.name(), "web", &web(tag));

    deploy(ns.name(), "gone", &web("1.0.30"), &["acr-pull"]);
    let pod = wait_pull_failure(ns.name(), "gone", FAILING);
    let d = diagnose(ns.name(), &pod);
    assert!(
        matches!(&d.cause, Cause::ManifestMissing { reference, .. } if reference == "1.0.30"),
        "{:?}",
        d.cause
    );
    assert!(
        !d.headline.contains("no pull secret") && !d.headline.contains("malformed"),
        "{}",
        d.headline
    );
    assert!(
        matches!(
            &d.facts.probes[0].credential,
            berth::diagnose::facts::CredentialUsed::Secret { secret, username, .. }
                if secret == "acr-pull" && username.as_deref() == Some(user.as_str())
        ),
        "{:?}",
        d.facts.probes
    );
}

/// kubelet's `BasicDockerKeyring.Add` strips a `/v2/` path for every host, not only Docker Hub.
#[test]
fn a_key_with_a_v2_path_is_the_host() {
    the_node_pulls_with("diag-keyv2", "1.0.20", token(), &|host, user, pass| {
        serde_json::json!({"auths": {format!("https://{host}/v2/"): {"username": user, "password": pass}}})
            .to_string()
    });
}

/// kubelet's `decodeDockerConfigFieldAuth` decodes an `auth` without `=` padding with
/// `RawStdEncoding`.
#[test]
fn an_auth_without_padding_is_decoded() {
    use base64::Engine as _;
    // Only a user:password whose length is not a multiple of 3 pads: take the environment's
    // first pull credential that does.
    let env = support::Env::get();
    let candidates = [
        token(),
        (
            env.var("BERTH_ACR_TOKEN_WEB_NAME").to_owned(),
            env.secret("BERTH_ACR_TOKEN_WEB_PASSWORD"),
        ),
        (
            env.var("BERTH_ACR_ADMIN_USER").to_owned(),
            env.secret("BERTH_ACR_ADMIN_PASSWORD"),
        ),
    ];
    let creds = candidates
        .into_iter()
        .find(|(u, p)| (u.len() + 1 + p.expose().len()) % 3 != 0)
        .expect(
            "no credential of the environment needs base64 padding: this case would test nothing",
        );
    the_node_pulls_with("diag-unpadded", "1.0.21", creds, &|host, user, pass| {
        let padded = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"));
        assert!(padded.ends_with('='));
        let auth = padded.trim_end_matches('=');
        serde_json::json!({"auths": {host: {"auth": auth}}}).to_string()
    });
}

/// `DockerConfigEntry.UnmarshalJSON` accepts an entry with only an email: it is an entry
/// without credentials, and the good entry beside it is used.
#[test]
fn an_email_only_entry_beside_a_good_one() {
    the_node_pulls_with("diag-emailonly", "1.0.23", token(), &|host, user, pass| {
        serde_json::json!({"auths": {
            "other.example.com": {"email": "ops@example.com"},
            host: {"username": user, "password": pass},
        }})
        .to_string()
    });
}

/// `URLsMatch` compares paths with `strings.HasPrefix`: a key for `HOST/we` applies to
/// `HOST/web`.
#[test]
fn a_key_path_is_a_string_prefix_of_the_repository() {
    the_node_pulls_with("diag-keyprefix", "1.0.24", token(), &|host, user, pass| {
        serde_json::json!({"auths": {format!("{host}/we"): {"username": user, "password": pass}}})
            .to_string()
    });
}

/// `BasicDockerKeyring.Add` ignores a key `url.Parse` rejects, alone: the rest of the secret
/// still works. The rejected key (a trailing tab, a control character) sorts before the good
/// one in the node's order, so a berth that trimmed it would probe with its wrong
/// credentials first.
#[test]
fn a_key_that_is_not_a_url_is_ignored_alone() {
    the_node_pulls_with("diag-badkey", "1.0.26", token(), &|host, user, pass| {
        serde_json::json!({"auths": {
            format!("{host}\t"): {"username": "wrong", "password": "wrong"},
            host: {"username": user, "password": pass},
        }})
        .to_string()
    });
}
