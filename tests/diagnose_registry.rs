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
