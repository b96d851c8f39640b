//! Retag and promote against the real registry behind the stand-in, checked with skopeo and
//! the registry's own log: same repository (no blob upload, 2 sequential round trips after the
//! token), refusal to overwrite without force, cross-repository promote by mount (image and
//! index), cross-registry import through ARM, streamed copy to a plain registry.

mod registry_common;
#[path = "standin_support/mod.rs"]
mod standin_support;

use berth::audit::AuditLog;
use berth::reference::Reference;
use berth::registry::RegistryError;
use berth::registry::client::ExchangeKind;
use berth::registry::connect::Registry;
use berth::registry::retag::{RetagMethod, RetagOptions, retag};
use registry_common::*;
use serde_json::Value;

fn acr_ref(image: &str) -> Reference {
    Reference::parse(&format!("{}/{image}", Env::get().acr())).unwrap()
}

fn plain_ref(image: &str) -> Reference {
    Reference::parse(&format!(
        "{}/{image}",
        Env::get().var("BERTH_PLAIN_REGISTRY_HOST")
    ))
    .unwrap()
}

fn audit() -> (tempfile::TempDir, AuditLog) {
    let dir = tempfile::tempdir().unwrap();
    let log = AuditLog::new(dir.path().join("audit.jsonl"));
    (dir, log)
}

/// The records that end each retag (an intent precedes every retag that writes).
fn audit_lines(log: &AuditLog) -> Vec<Value> {
    let read = log.read_records().unwrap();
    assert!(read.skipped.is_empty() && read.unfinished().is_empty());
    read.finished()
        .into_iter()
        .map(|r| serde_json::to_value(r).unwrap())
        .collect()
}

#[tokio::test]
async fn same_repository_retag_moves_no_blob() {
    let repo = unique("berth-rt-same");
    push_copy("web:1.0.3", &format!("{repo}:src")).await;
    let src_digest = acr_digest(&format!("{repo}:src")).await.unwrap();
    let uploads_before = upload_lines(&repo).len();
    assert!(
        uploads_before > 0,
        "the skopeo push should show in the registry log"
    );

    let mut acr = acr_registry(false);
    acr.client = acr_client_with(admin(), |c| c.trace = true);
    let (_dir, log) = audit();
    let out = retag(
        &acr,
        &acr_ref(&format!("{repo}:src")),
        &acr,
        &acr_ref(&format!("{repo}:dst")),
        RetagOptions::default(),
        &log,
    )
    .await
    .expect("retag in one repository");
    assert_eq!(out.method, RetagMethod::SameRepository);
    assert_eq!(out.old_digest, None);
    assert_eq!(out.new_digest, src_digest);
    assert_eq!(out.bytes_copied, 0);
    assert_eq!(
        acr_digest(&format!("{repo}:dst")).await.unwrap(),
        src_digest,
        "skopeo sees the new tag at the same digest"
    );
    assert_eq!(
        upload_lines(&repo).len(),
        uploads_before,
        "a blob upload happened: {:?}",
        upload_lines(&repo)
    );

    // After the token: GET source ∥ HEAD target, then PUT.
    let trace = acr.client.take_trace();
    let last_token = trace
        .iter()
        .rposition(|e| e.kind != ExchangeKind::Registry)
        .expect("a token exchange");
    let after: Vec<String> = trace[last_token + 1..]
        .iter()
        .map(|e| format!("{} {}", e.method, e.url))
        .collect();
    assert_eq!(after.len(), 3, "{after:#?}");
    assert!(
        after
            .iter()
            .any(|e| e.starts_with("GET ") && e.ends_with("/manifests/src")),
        "{after:#?}"
    );
    assert!(
        after
            .iter()
            .any(|e| e.starts_with("HEAD ") && e.ends_with("/manifests/dst")),
        "{after:#?}"
    );
    assert!(
        after.last().unwrap().starts_with("PUT ")
            && after.last().unwrap().ends_with("/manifests/dst"),
        "{after:#?}"
    );
    assert_eq!(
        acr.client.stats().blob_bytes_uploaded + acr.client.stats().blob_bytes_downloaded,
        0
    );

    let a = audit_lines(&log);
    assert_eq!(a.len(), 1);
    let read = log.read_records().unwrap();
    let intent = read
        .intent_of(&read.records[1])
        .expect("an intent before the write");
    assert_eq!(intent.new.as_deref(), Some(src_digest.as_str()));
    assert_eq!(a[0]["action"], "retag");
    assert_eq!(a[0]["new"], src_digest.as_str());
    assert_eq!(a[0]["outcome"]["status"], "ok");
    assert!(a[0]["target"].as_str().unwrap().contains(&repo));
}

#[tokio::test]
async fn existing_tag_is_not_overwritten_without_force() {
    let repo = unique("berth-rt-force");
    push_copy("web:1.0.4", &format!("{repo}:a")).await;
    push_copy("web:1.0.5", &format!("{repo}:b")).await;
    let a = acr_digest(&format!("{repo}:a")).await.unwrap();
    let b = acr_digest(&format!("{repo}:b")).await.unwrap();
    assert_ne!(a, b);
    let acr = acr_registry(false);
    let (_dir, log) = audit();
    let (src, dst) = (acr_ref(&format!("{repo}:a")), acr_ref(&format!("{repo}:b")));

    let err = retag(&acr, &src, &acr, &dst, RetagOptions::default(), &log)
        .await
        .unwrap_err();
    match &err {
        RegistryError::TargetExists { digest, object, .. } => {
            assert_eq!(digest, &b);
            assert!(object.contains(&repo));
        }
        other => panic!("expected TargetExists, got {other}"),
    }
    assert!(err.to_string().contains("--force"), "{err}");
    assert_eq!(
        acr_digest(&format!("{repo}:b")).await.unwrap(),
        b,
        "nothing may be written"
    );

    let out = retag(&acr, &src, &acr, &dst, RetagOptions { force: true }, &log)
        .await
        .expect("forced retag");
    assert_eq!(out.old_digest.as_deref(), Some(b.as_str()));
    assert_eq!(out.new_digest, a);
    assert_eq!(acr_digest(&format!("{repo}:b")).await.unwrap(), a);

    // Retagging onto a tag that already has the digest writes nothing and says so.
    let again = retag(&acr, &src, &acr, &dst, RetagOptions::default(), &log)
        .await
        .unwrap();
    assert_eq!(again.method, RetagMethod::AlreadyTagged);

    let lines = audit_lines(&log);
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[0]["outcome"]["status"], "refused");
    assert_eq!(lines[0]["old"], b.as_str());
    assert_eq!(lines[1]["outcome"]["status"], "ok");
    assert_eq!(lines[1]["old"], b.as_str());
    assert_eq!(lines[1]["new"], a.as_str());
}

#[tokio::test]
async fn cross_repository_promote_mounts_every_blob() {
    let from = unique("berth-rt-from");
    let to = unique("berth-rt-to");
    push_copy("web:1.0.6", &format!("{from}:1")).await;
    let digest = acr_digest(&format!("{from}:1")).await.unwrap();
    let acr = acr_registry(false);
    let (_dir, log) = audit();
    let out = retag(
        &acr,
        &acr_ref(&format!("{from}:1")),
        &acr,
        &acr_ref(&format!("{to}:prod")),
        RetagOptions::default(),
        &log,
    )
    .await
    .expect("promote by mount");
    assert_eq!(out.method, RetagMethod::Mount);
    assert!(
        out.blobs_mounted >= 2,
        "config and at least one layer: {out:?}"
    );
    assert_eq!((out.blobs_copied, out.bytes_copied), (0, 0), "{out:?}");
    assert_eq!(acr_digest(&format!("{to}:prod")).await.unwrap(), digest);
    let uploads = upload_lines(&to);
    assert_eq!(uploads.len(), out.blobs_mounted, "{uploads:#?}");
    for l in &uploads {
        assert!(
            l.contains("\"POST /v2/") && l.contains("mount=") && l.contains("\" 201 "),
            "not a successful mount: {l}"
        );
    }
}

#[tokio::test]
async fn index_promote_copies_children_by_digest() {
    let to = unique("berth-rt-index");
    let acr = acr_registry(false);
    let (_dir, log) = audit();
    let out = retag(
        &acr,
        &acr_ref("tools/multiarch:1.0"),
        &acr,
        &acr_ref(&format!("{to}:1.0")),
        RetagOptions::default(),
        &log,
    )
    .await
    .expect("promote an index");
    assert_eq!(out.method, RetagMethod::Mount);
    assert_eq!(out.manifests_copied, 2, "{out:?}");
    assert_eq!(out.bytes_copied, 0);
    let (u, p) = admin_pair();
    let creds = format!("{u}:{p}");
    let raw = skopeo(&[
        "inspect",
        "--raw",
        "--creds",
        &creds,
        &format!("docker://{}/{to}:1.0", Env::get().acr()),
    ])
    .await;
    assert!(raw.ok, "{}", raw.stderr);
    let index: Value = serde_json::from_str(&raw.stdout).unwrap();
    assert_eq!(
        index["manifests"].as_array().map(Vec::len),
        Some(2),
        "{index}"
    );
    for arch in ["amd64", "arm64"] {
        let r = skopeo(&[
            "inspect",
            "--override-arch",
            arch,
            "--creds",
            &creds,
            &format!("docker://{}/{to}:1.0", Env::get().acr()),
        ])
        .await;
        assert!(r.ok, "{arch} child not readable: {}", r.stderr);
    }
    assert_eq!(
        acr_digest(&format!("{to}:1.0")).await.unwrap(),
        acr_digest("tools/multiarch:1.0").await.unwrap()
    );
}

#[tokio::test]
async fn cross_registry_import_goes_through_arm() {
    let to = unique("berth-rt-import");
    let src = plain_registry();
    let dst: Registry = acr_registry(true);
    let (_dir, log) = audit();
    let env = Env::get();
    let (pu, pp) = plain_pair();
    let src_digest = digest_on(
        env.var("BERTH_PLAIN_REGISTRY_HOST"),
        "mirror/web:1.0.0",
        &pu,
        &pp,
    )
    .await
    .unwrap();
    let out = retag(
        &src,
        &plain_ref("mirror/web:1.0.0"),
        &dst,
        &acr_ref(&format!("{to}:1.0.0")),
        RetagOptions::default(),
        &log,
    )
    .await
    .expect("import through ARM");
    assert_eq!(out.method, RetagMethod::Import);
    assert_eq!(out.new_digest, src_digest);
    assert_eq!(
        out.bytes_copied, 0,
        "the blobs travel registry to registry, not through berth"
    );
    assert_eq!(
        acr_digest(&format!("{to}:1.0.0")).await.unwrap(),
        src_digest
    );
    let s = stats("importImage").await;
    assert!(s["total"].as_u64().unwrap_or(0) >= 1, "{s}");

    // Once the tag exists, a second import without force is refused and changes nothing.
    let err = retag(
        &src,
        &plain_ref("library/busybox:1.35"),
        &dst,
        &acr_ref(&format!("{to}:1.0.0")),
        RetagOptions::default(),
        &log,
    )
    .await
    .unwrap_err();
    assert!(matches!(err, RegistryError::TargetExists { .. }), "{err}");
    assert_eq!(
        acr_digest(&format!("{to}:1.0.0")).await.unwrap(),
        src_digest
    );
}

#[tokio::test]
async fn cross_registry_copy_streams_blobs_to_a_plain_registry() {
    let to = unique("berth-rt-copy");
    let src = acr_registry(false);
    let dst = plain_registry();
    let (_dir, log) = audit();
    let out = retag(
        &src,
        &acr_ref("web:1.0.7"),
        &dst,
        &plain_ref(&format!("{to}:1.0.7")),
        RetagOptions::default(),
        &log,
    )
    .await
    .expect("streamed copy");
    assert_eq!(out.method, RetagMethod::Copy);
    assert!(out.blobs_copied >= 2 && out.bytes_copied > 0, "{out:?}");
    assert_eq!(dst.client.stats().blob_bytes_uploaded, out.bytes_copied);
    let env = Env::get();
    let (pu, pp) = plain_pair();
    let copied = digest_on(
        env.var("BERTH_PLAIN_REGISTRY_HOST"),
        &format!("{to}:1.0.7"),
        &pu,
        &pp,
    )
    .await
    .unwrap();
    assert_eq!(copied, acr_digest("web:1.0.7").await.unwrap());
}
