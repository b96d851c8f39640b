//! Diagnosis against the registry's real answers: missing tag, missing repository, platform,
//! rate limit and registry errors, transient failures; each fix applied through berth.

mod diagnose_support;
mod support;

use berth::cluster::actions::ImageTarget;
use berth::diagnose::Cause;
use berth::diagnose::fix::FixAction;
use diagnose_support::*;
use support::TestNamespace;

/// A tag that does not exist: the diagnosis names it, lists the closest existing tags newest
/// first, and setting the suggested tag through berth makes the pod run.
#[test]
fn tag_missing_then_set_image_to_the_closest_tag() {
    let ns = TestNamespace::new("diag-tag");
    let (user, pass) = token();
    docker_secret(ns.name(), "acr-pull", &acr(), &user, &pass);
    let image = format!("{}/web:1.0.30", acr());
    deploy(ns.name(), "web", &image, &["acr-pull"]);
    let pod = wait_pull_failure(ns.name(), "web", &["ErrImagePull", "ImagePullBackOff"]);

    let d = diagnose(ns.name(), &pod);
    let Cause::ManifestMissing {
        reference, closest, ..
    } = &d.cause
    else {
        panic!("expected a missing tag, got {:?}", d.cause)
    };
    assert_eq!(reference, "1.0.30");
    assert_eq!(closest[..3], ["1.0.29", "1.0.28", "1.0.27"], "{closest:?}");
    assert!(
        d.headline.starts_with("tag \"1.0.30\" does not exist"),
        "{}",
        d.headline
    );
    let fixed = format!("{}/web:1.0.29", acr());
    assert_eq!(
        first_fix_commands(&d),
        [format!(
            "berth rollout set-image -n {} web web --image {fixed}",
            ns.name()
        )]
    );

    let FixAction::SetImage {
        deployment,
        container,
        image,
        ..
    } = &d.fixes[0].actions[0]
    else {
        panic!("{:?}", d.fixes[0])
    };
    let ctx = action_ctx();
    rt().block_on(berth::cluster::actions::set_image(
        &ctx,
        ns.name(),
        deployment,
        container,
        &ImageTarget::Reference(image.clone()),
    ))
    .unwrap_or_else(|e| panic!("set-image: {e}"));
    wait_running(ns.name(), "web", &fixed);
}

#[test]
fn repository_missing() {
    let ns = TestNamespace::new("diag-repo");
    let (user, pass) = token();
    docker_secret(ns.name(), "acr-pull", &acr(), &user, &pass);
    let image = format!("{}/no-such-repo:1.0", acr());
    deploy(ns.name(), "app", &image, &["acr-pull"]);
    let pod = wait_pull_failure(ns.name(), "app", &["ErrImagePull", "ImagePullBackOff"]);
    let d = diagnose(ns.name(), &pod);
    assert_eq!(
        d.cause,
        Cause::RepositoryMissing {
            host: acr(),
            repository: "no-such-repo".into()
        }
    );
    assert_eq!(
        d.headline,
        format!(
            "repository \"no-such-repo\" does not exist on registry {}",
            acr()
        )
    );
    assert!(first_fix_commands(&d).is_empty(), "{:?}", d.fixes);
}

#[test]
fn platform_missing_for_the_node() {
    let ns = TestNamespace::new("diag-arch");
    let (user, pass) = token();
    docker_secret(ns.name(), "acr-pull", &acr(), &user, &pass);
    let image = format!("{}/tools/armonly:1.0", acr());
    deploy(ns.name(), "app", &image, &["acr-pull"]);
    let pod = wait_pull_failure(ns.name(), "app", &["ErrImagePull", "ImagePullBackOff"]);
    let d = diagnose(ns.name(), &pod);
    let Cause::PlatformMissing {
        node_platform,
        available,
        ..
    } = &d.cause
    else {
        panic!("expected a missing platform, got {:?}", d.cause)
    };
    assert_eq!(node_platform, "linux/amd64");
    assert_eq!(available, &["linux/arm64/v8", "linux/s390x"]);
    assert!(d.headline.contains("linux/amd64"), "{}", d.headline);
}

/// 429 from the registry: named as rate limiting; once the registry answers again the same pod
/// is diagnosed as transient, and the suggested retry (restart the rollout) makes it run.
#[test]
fn rate_limited_then_transient_then_restart() {
    let ns = TestNamespace::new("diag-429");
    // A repository of its own, so the fault hits this test's pulls only.
    let repo = format!("{}/web", ns.name());
    promote("web", "1.0.3", &repo, "1.0");
    let fault = Fault::add(&format!("/v2/{repo}/manifests/"), 429, Some(30), 10_000);
    let (user, pass) = token();
    docker_secret(ns.name(), "acr-pull", &acr(), &user, &pass);
    let image = format!("{}/{repo}:1.0", acr());
    deploy(ns.name(), "web", &image, &["acr-pull"]);
    let pod = wait_pull_failure(ns.name(), "web", &["ErrImagePull", "ImagePullBackOff"]);

    let d = diagnose(ns.name(), &pod);
    assert_eq!(
        d.cause,
        Cause::RateLimited {
            host: acr(),
            retry_after_secs: Some(30)
        }
    );
    assert!(d.headline.contains("429"), "{}", d.headline);

    fault.remove();
    let d = diagnose(ns.name(), &pod);
    let Cause::Transient { last_failure } = &d.cause else {
        panic!("expected transient, got {:?}", d.cause)
    };
    assert!(
        last_failure.is_some(),
        "the node's last failure time is known"
    );
    assert!(d.headline.contains("transient"), "{}", d.headline);
    assert_eq!(
        first_fix_commands(&d),
        [format!("berth rollout restart -n {} web", ns.name())]
    );
    let FixAction::RestartRollout { deployment, .. } = &d.fixes[0].actions[0] else {
        panic!("{:?}", d.fixes[0])
    };
    restart(ns.name(), deployment);
    wait_running(ns.name(), "web", &image);
}

#[test]
fn registry_server_error_then_retry() {
    let ns = TestNamespace::new("diag-503");
    // A repository of its own, so the fault hits this test's pulls only.
    let repo = format!("{}/web", ns.name());
    promote("web", "1.0.4", &repo, "1.0");
    let fault = Fault::add(&format!("/v2/{repo}/manifests/"), 503, None, 10_000);
    let (user, pass) = token();
    docker_secret(ns.name(), "acr-pull", &acr(), &user, &pass);
    let image = format!("{}/{repo}:1.0", acr());
    deploy(ns.name(), "web", &image, &["acr-pull"]);
    let pod = wait_pull_failure(ns.name(), "web", &["ErrImagePull", "ImagePullBackOff"]);

    let d = diagnose(ns.name(), &pod);
    assert!(
        matches!(&d.cause, Cause::RegistryError { status: Some(503), host, .. } if *host == acr()),
        "{:?}",
        d.cause
    );
    assert!(d.headline.contains("503"), "{}", d.headline);
    // The fix retries once the registry recovers.
    fault.remove();
    let FixAction::RestartRollout { deployment, .. } = &d.fixes[0].actions[0] else {
        panic!("{:?}", d.fixes[0])
    };
    restart(ns.name(), deployment);
    wait_running(ns.name(), "web", &image);
}

/// A pull that crawls: it has not failed, but it runs past the threshold; the registry serves
/// the manifest to berth fine, so the diagnosis says slow, not broken.
#[test]
fn a_slow_pull_is_slow_not_broken() {
    use std::time::Duration;
    let ns = TestNamespace::new("diag-slow");
    let repo = format!("{}/web", ns.name());
    promote("web", "1.0.17", &repo, "1.0");
    // The node's first request for the manifest crawls (its layers are cached already, so the
    // manifest is what can be slow here); berth's probe, after it, is served at once.
    let _slow = Fault::delay(
        &format!("/v2/{repo}/manifests/"),
        Duration::from_secs(40),
        1,
    );
    let (user, pass) = token();
    docker_secret(ns.name(), "acr-pull", &acr(), &user, &pass);
    let image = format!("{}/{repo}:1.0", acr());
    deploy(ns.name(), "web", &image, &["acr-pull"]);
    let opts = berth::diagnose::gather::GatherOptions {
        slow_pull: Duration::from_secs(3),
        ..options()
    };
    let client = client();
    let d = support::wait_for("the pull to count as slow", Duration::from_secs(60), || {
        let pods = rt()
            .block_on(berth::diagnose::gather::diagnose_scope(
                &client,
                Some(ns.name()),
                &opts,
            ))
            .map_err(|e| e.to_string())?;
        pods.into_iter().next().ok_or_else(|| {
            format!(
                "no slow pull yet; pods: {}",
                support::kubectl(["-n", ns.name(), "get", "pods,events", "-o", "wide"])
            )
        })
    });
    assert!(
        matches!(d.cause, Cause::SlowPull { since: Some(_) }),
        "{:?}",
        d.cause
    );
    assert!(
        d.headline.starts_with("the pull is slow, not failing"),
        "{}",
        d.headline
    );
}

/// An init container of a bare pod: the diagnosis says which container, and offers no
/// Deployment action (there is none), only what to change by hand.
#[test]
fn an_init_container_of_a_bare_pod() {
    let ns = TestNamespace::new("diag-init");
    let (user, pass) = token();
    docker_secret(ns.name(), "acr-pull", &acr(), &user, &pass);
    bare_pod_with_init(
        ns.name(),
        "job",
        &format!("{}/api:2.9.0", acr()),
        &format!("{}/api:2.2.0", acr()),
        &["acr-pull"],
    );
    wait_init_pull_failure(ns.name(), "job", &["ErrImagePull", "ImagePullBackOff"]);
    let d = diagnose(ns.name(), "job");
    assert_eq!(d.container, "setup");
    assert!(d.facts.init);
    let Cause::ManifestMissing { closest, .. } = &d.cause else {
        panic!("expected a missing tag, got {:?}", d.cause)
    };
    assert_eq!(closest, &["2.2.0", "2.1.0", "2.0.0"]);
    assert!(
        d.evidence[0].text.starts_with("init container \"setup\""),
        "{:?}",
        d.evidence[0]
    );
    assert!(
        d.fixes.iter().all(|f| f.actions.is_empty()),
        "{:?}",
        d.fixes
    );
    assert!(
        d.fixes[0]
            .note
            .as_deref()
            .unwrap_or_default()
            .contains("2.2.0"),
        "{:?}",
        d.fixes
    );
}
