//! Diagnosis when the registry cannot be reached, or the reference is not one: invalid name,
//! DNS, refused connection, untrusted TLS; and credentials the registry refuses for a reason
//! it names (expired, disabled) or a scope it denies.

mod diagnose_support;
mod support;

use std::process::{Child, Command, Stdio};

use berth::diagnose::Cause;
use berth::diagnose::cause::{NetStage, Verdict};
use berth::diagnose::fix::FixAction;
use diagnose_support::*;
use support::{TestNamespace, wait_for};

const FAILING: &[&str] = &["ErrImagePull", "ImagePullBackOff"];

fn failing(ns: &TestNamespace, image: &str, secrets: &[&str]) -> berth::diagnose::Diagnosis {
    deploy(ns.name(), "app", image, secrets);
    let pod = wait_pull_failure(ns.name(), "app", FAILING);
    diagnose(ns.name(), &pod)
}

#[test]
fn an_invalid_reference_says_which_part() {
    let ns = TestNamespace::new("diag-invalid");
    let image = format!("{}/Web:1.0", acr());
    deploy(ns.name(), "app", &image, &[]);
    let pod = wait_pull_failure(ns.name(), "app", &["InvalidImageName"]);
    let d = diagnose(ns.name(), &pod);
    assert!(
        matches!(&d.cause, Cause::ReferenceInvalid { image: i, .. } if *i == image),
        "{:?}",
        d.cause
    );
    assert!(d.headline.contains("lowercase"), "{}", d.headline);
    assert!(
        d.facts.probes.is_empty(),
        "nothing is probed for an invalid reference"
    );
}

#[test]
fn a_host_that_does_not_resolve() {
    let ns = TestNamespace::new("diag-dns");
    let d = failing(&ns, "berth-diagnose-test.invalid/web:1.0", &[]);
    assert!(
        matches!(&d.cause, Cause::HostUnreachable { stage: NetStage::Resolve, host, .. } if host == "berth-diagnose-test.invalid"),
        "{:?}",
        d.cause
    );
    assert!(d.headline.contains("does not resolve"), "{}", d.headline);
}

#[test]
fn a_port_that_refuses() {
    let ns = TestNamespace::new("diag-refused");
    let host = format!("127.0.0.1:{}", free_port());
    let d = failing(&ns, &format!("{host}/web:1.0"), &[]);
    assert!(
        matches!(&d.cause, Cause::HostUnreachable { stage: NetStage::Connect, host: h, .. } if *h == host),
        "{:?}",
        d.cause
    );
    assert!(d.headline.contains("refuses connections"), "{}", d.headline);
}

/// A TLS server whose certificate no CA of the node or of berth signed.
struct UntrustedTls {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl UntrustedTls {
    fn start() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
        let ok = Command::new("openssl")
            .args([
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
            ])
            .args([
                "-subj",
                "/CN=127.0.0.1",
                "-addext",
                "subjectAltName=IP:127.0.0.1",
            ])
            .args(["-addext", "basicConstraints=critical,CA:FALSE"])
            .arg("-keyout")
            .arg(&key)
            .arg("-out")
            .arg(&cert)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("run openssl req")
            .success();
        assert!(ok, "openssl req failed");
        let port = free_port();
        let child = Command::new("openssl")
            .args(["s_server", "-quiet", "-www", "-accept"])
            .arg(format!("127.0.0.1:{port}"))
            .arg("-cert")
            .arg(&cert)
            .arg("-key")
            .arg(&key)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start openssl s_server");
        wait_for(
            "the untrusted TLS server to listen",
            std::time::Duration::from_secs(20),
            || std::net::TcpStream::connect(("127.0.0.1", port)).map(|_| ()),
        );
        UntrustedTls {
            child,
            port,
            _dir: dir,
        }
    }
}

impl Drop for UntrustedTls {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn a_certificate_nobody_trusts() {
    let ns = TestNamespace::new("diag-tls");
    let server = UntrustedTls::start();
    let host = format!("127.0.0.1:{}", server.port);
    let d = failing(&ns, &format!("{host}/web:1.0"), &[]);
    assert!(
        matches!(&d.cause, Cause::HostUnreachable { stage: NetStage::Tls, host: h, .. } if *h == host),
        "{:?}",
        d.cause
    );
    assert!(
        d.headline.starts_with("TLS with registry"),
        "{}",
        d.headline
    );
    assert!(
        d.facts.gaps.iter().any(|g| g.contains("plain HTTP")),
        "the HTTP fallback of loopback registries is said: {:?}",
        d.facts.gaps
    );
}

fn token_case(
    prefix: &str,
    enabled: bool,
    expired: bool,
    scope_like: &str,
    image: &str,
) -> (TestNamespace, berth::diagnose::Diagnosis, String) {
    let ns = TestNamespace::new(prefix);
    let name = ns.name().to_owned();
    let expiry = expired.then(|| jiff::Timestamp::now() - jiff::SignedDuration::from_secs(3600));
    let password = arm_token(&name, scope_like, enabled, expiry);
    docker_secret(ns.name(), "acr-pull", &acr(), &name, &password);
    let d = failing(&ns, image, &["acr-pull"]);
    (ns, d, name)
}

#[test]
fn an_expired_token_password_is_named_and_rotated() {
    let image = format!("{}/web:1.0.13", acr());
    let (ns, d, user) = token_case("diag-expired", true, true, "berth-pull", &image);
    let Cause::CredentialsRejected {
        verdict, username, ..
    } = &d.cause
    else {
        panic!("expected rejected credentials, got {:?}", d.cause)
    };
    assert!(matches!(verdict, Verdict::Expired { .. }), "{verdict:?}");
    assert_eq!(username.as_deref(), Some(user.as_str()));
    assert!(d.headline.contains("expired"), "{}", d.headline);
    assert!(matches!(
        d.fixes[0].actions[0],
        FixAction::RotateSecret { .. }
    ));
    apply(&d.fixes[0]);
    wait_running(ns.name(), "app", &image);
}

#[test]
fn a_disabled_token_is_named() {
    let image = format!("{}/web:1.0.14", acr());
    let (_ns, d, _) = token_case("diag-disabled", false, false, "berth-pull", &image);
    assert!(
        matches!(
            &d.cause,
            Cause::CredentialsRejected {
                verdict: Verdict::Disabled,
                ..
            }
        ),
        "{:?}",
        d.cause
    );
    assert!(d.headline.contains("disabled"), "{}", d.headline);
}

/// A token allowed to pull only `web` asks for `api`: signed in, denied; rotating the secret
/// to credentials that may pull it makes the pod run.
#[test]
fn a_token_without_the_repository_in_its_scope_is_denied() {
    let image = format!("{}/api:2.1.0", acr());
    let (ns, d, user) = token_case("diag-denied", true, false, "berth-web", &image);
    let Cause::Denied {
        repository,
        username,
        ..
    } = &d.cause
    else {
        panic!("expected denied, got {:?}", d.cause)
    };
    assert_eq!(repository, "api");
    assert_eq!(username.as_deref(), Some(user.as_str()));
    assert!(d.headline.contains("403"), "{}", d.headline);
    apply(&d.fixes[0]);
    wait_running(ns.name(), "app", &image);
}
