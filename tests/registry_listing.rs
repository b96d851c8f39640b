//! Listing against the real registry behind the Azure stand-in and the plain registry:
//! pagination (more than one page, streamed), ACR tag times in order, lazy details on a plain
//! registry checked against skopeo.

mod registry_common;
#[path = "standin_support/mod.rs"]
mod standin_support;

use berth::registry::list::TagOrder;
use futures::StreamExt;
use registry_common::*;

#[tokio::test]
async fn acr_tags_stream_in_pages_newest_first() {
    let client = acr_client_with(admin(), |c| c.page_size = 7);
    let mut pages = client.tag_pages("web", TagOrder::NewestFirst);
    let mut sizes = Vec::new();
    let mut rows = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.expect("a page of web's tags");
        sizes.push(page.len());
        rows.extend(page);
    }
    // 30 versions + latest, 7 per page: 5 pages, each arriving as its own stream item.
    assert!(sizes.len() >= 5, "pages: {sizes:?}");
    assert!(sizes.iter().all(|s| *s <= 7), "pages: {sizes:?}");
    let names: Vec<&str> = rows.iter().map(|r| r.name.as_str()).collect();
    for i in 0..30 {
        let t = format!("1.0.{i}");
        assert!(names.contains(&t.as_str()), "{t} missing from {names:?}");
    }
    assert_eq!(
        names.iter().collect::<std::collections::HashSet<_>>().len(),
        names.len(),
        "a tag listed twice: {names:?}"
    );
    // Newest first by update time, every row with digest and times.
    for w in rows.windows(2) {
        assert!(
            w[0].updated >= w[1].updated,
            "{} ({:?}) listed before older-or-equal {} ({:?})",
            w[0].name,
            w[0].updated,
            w[1].name,
            w[1].updated
        );
    }
    for r in &rows {
        assert!(
            r.digest
                .as_deref()
                .is_some_and(|d| d.starts_with("sha256:")),
            "{r:?}"
        );
        assert!(r.created.is_some() && r.updated.is_some(), "{r:?}");
    }
    // Seeded configs are one hour apart: 1.0.29 is newer than 1.0.28, which is newer than 1.0.0.
    let at = |n: &str| rows.iter().find(|r| r.name == n).unwrap().updated.unwrap();
    assert!(at("1.0.29") > at("1.0.28") && at("1.0.28") > at("1.0.0"));
    // latest and 1.0.29 share a digest, which skopeo confirms.
    let digest = |n: &str| {
        rows.iter()
            .find(|r| r.name == n)
            .unwrap()
            .digest
            .clone()
            .unwrap()
    };
    assert_eq!(digest("latest"), digest("1.0.29"));
    assert_eq!(acr_digest("web:1.0.29").await.unwrap(), digest("1.0.29"));
}

#[tokio::test]
async fn acr_catalog_follows_links() {
    let client = acr_client_with(admin(), |c| c.page_size = 2);
    let mut pages = client.repository_pages();
    let mut n_pages = 0;
    let mut names = Vec::new();
    while let Some(p) = pages.next().await {
        n_pages += 1;
        names.extend(p.expect("catalog page").into_iter().map(|r| r.name));
    }
    assert!(n_pages >= 3, "{n_pages} pages for {names:?}");
    for seeded in ["api", "web", "worker", "tools/multiarch", "tools/armonly"] {
        assert!(
            names.iter().any(|n| n == seeded),
            "{seeded} missing from {names:?}"
        );
    }
    let mut sorted = names.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(
        sorted.len(),
        names.len(),
        "duplicates across pages: {names:?}"
    );
}

#[tokio::test]
async fn plain_registry_lists_in_pages_and_reads_details_lazily() {
    let client = plain_client_with(|c| c.page_size = 1);
    let repos = client.list_repositories().await.expect("plain catalog");
    let names: Vec<&str> = repos.iter().map(|r| r.name.as_str()).collect();
    assert!(
        names.contains(&"library/busybox") && names.contains(&"mirror/web"),
        "{names:?}"
    );
    let tags = client
        .list_tags("mirror/web", TagOrder::NewestFirst)
        .await
        .expect("tags of mirror/web");
    let row = tags
        .into_iter()
        .find(|t| t.name == "1.0.0")
        .expect("mirror/web:1.0.0");
    assert!(
        row.digest.is_none(),
        "a plain listing has no digest until asked"
    );
    let row = client.tag_details(row).await.expect("details");
    let env = Env::get();
    let (u, p) = plain_pair();
    let skopeo_digest = digest_on(
        env.var("BERTH_PLAIN_REGISTRY_HOST"),
        "mirror/web:1.0.0",
        &u,
        &p,
    )
    .await
    .expect("skopeo inspect on the plain registry");
    assert_eq!(row.digest.as_deref(), Some(skopeo_digest.as_str()));
    assert!(
        row.created.is_some(),
        "created read from the image config: {row:?}"
    );
    assert!(row.size.is_some_and(|s| s > 0));
}

#[tokio::test]
async fn multiarch_details_show_platforms() {
    let client = acr_client(admin());
    let tags = client
        .list_tags("tools/multiarch", TagOrder::Name)
        .await
        .unwrap();
    let row = tags
        .into_iter()
        .find(|t| t.name == "1.0")
        .expect("tools/multiarch:1.0");
    let row = client.tag_details(row).await.unwrap();
    let arch: Vec<&str> = row
        .platforms
        .iter()
        .map(|p| p.architecture.as_str())
        .collect();
    assert!(
        arch.contains(&"amd64") && arch.contains(&"arm64"),
        "{:?}",
        row.platforms
    );
    assert!(
        row.platforms.iter().all(|p| p.os == "linux"),
        "{:?}",
        row.platforms
    );
    assert!(
        row.media_type
            .as_deref()
            .is_some_and(|m| m.contains("index") || m.contains("list"))
    );
}

#[tokio::test]
async fn unknown_repository_is_a_clear_error() {
    let client = acr_client(admin());
    let repo = unique("berth-missing");
    let err = client
        .list_tags(&repo, TagOrder::NewestFirst)
        .await
        .unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("acr") && msg.contains(&repo), "{msg}");
    assert_eq!(err.kind(), "repository_unknown", "{msg}");
}

/// What the dashboard's runner does with a listing: each page handed on as it arrives (the
/// first marked), every row in the end; told to stop, it keeps what it read.
#[tokio::test]
async fn the_runner_hands_on_each_page_as_it_arrives() {
    use berth::live::registry_side::list_streaming;
    let client = acr_client_with(admin(), |c| c.page_size = 7);
    let all = client
        .list_tags("web", TagOrder::NewestFirst)
        .await
        .expect("web's tags");
    let mut seen: Vec<(usize, bool)> = Vec::new();
    let streamed = list_streaming(
        client.tag_pages("web", TagOrder::NewestFirst),
        |page, first| {
            seen.push((page.len(), first));
            true
        },
    )
    .await
    .unwrap_or_else(|(e, _)| panic!("{e}"));
    assert!(seen.len() >= 5, "pages: {seen:?}");
    assert!(seen[0].1 && seen[1..].iter().all(|(_, f)| !f), "{seen:?}");
    assert_eq!(seen.iter().map(|(n, _)| n).sum::<usize>(), all.len());
    let names = |rows: &[berth::registry::types::TagRow]| {
        let mut v: Vec<String> = rows.iter().map(|r| r.name.clone()).collect();
        v.sort();
        v
    };
    assert_eq!(names(&streamed), names(&all));
    // Told to stop after two pages (the pane moved to another registry): two pages read.
    let mut pages = 0;
    let read = list_streaming(client.tag_pages("web", TagOrder::NewestFirst), |_, _| {
        pages += 1;
        pages <= 2
    })
    .await
    .unwrap_or_else(|(e, _)| panic!("{e}"));
    assert_eq!(read.len(), 14, "two pages of seven");
}
