//! The ACR stand-in seen by a real client: skopeo with the admin user.

use std::process::Command;

use super::Env;

/// `user:password` of the registry's admin user, as skopeo's `--creds` takes it.
pub fn admin_creds() -> String {
    let env = Env::get();
    format!(
        "{}:{}",
        env.var("BERTH_ACR_ADMIN_USER"),
        env.var("BERTH_ACR_ADMIN_PASSWORD")
    )
}

/// `skopeo copy` from `from` to `to` (both `repo:tag` in the stand-in ACR); panics with
/// skopeo's words when it fails.
pub fn acr_copy(from: &str, to: &str) {
    let env = Env::get();
    let creds = admin_creds();
    let out = Command::new("skopeo")
        .args(["copy", "-q", "--src-cert-dir"])
        .arg(env.cert_dir())
        .arg("--dest-cert-dir")
        .arg(env.cert_dir())
        .args(["--src-creds", &creds, "--dest-creds", &creds])
        .arg(format!("docker://{}/{from}", env.acr_host()))
        .arg(format!("docker://{}/{to}", env.acr_host()))
        .output()
        .expect("skopeo");
    assert!(
        out.status.success(),
        "skopeo copy {from} {to}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}
