//! `/acr/v1` listing through the stand-in: pagination with `Link`, time order, digest filter,
//! manifests of an index, catalog, and its authentication.

mod standin_support;

use serde_json::Value;
use standin_support::{Env, next_link, push_copy, registry_token, unique};

/// Follows `Link` from `first` to the end with Basic auth, returning (pages, all items of `key`).
async fn all_pages(first: &str, user: &str, pass: &str, key: &str) -> (usize, Vec<Value>) {
    let env = Env::get();
    let http = env.http();
    let mut url = format!("{}{first}", env.base());
    let mut items = Vec::new();
    let mut pages = 0;
    loop {
        let r = http
            .get(&url)
            .basic_auth(user, Some(pass))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "GET {url}");
        let next = next_link(r.headers());
        let v: Value = r.json().await.unwrap();
        items.extend(v[key].as_array().cloned().unwrap_or_default());
        pages += 1;
        assert!(pages < 1000, "pagination does not end");
        match next {
            Some(n) => url = format!("{}{n}", env.base()),
            None => return (pages, items),
        }
    }
}

fn names(items: &[Value]) -> Vec<String> {
    items
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn tags_of_pushed_repository_page_in_push_time_order() {
    let env = Env::get();
    let repo = unique("standin-list");
    let pushed: Vec<String> = (0..7).map(|i| format!("t{i}")).collect();
    for (i, tag) in pushed.iter().enumerate() {
        push_copy(&format!("web:1.0.{i}"), &format!("{repo}:{tag}")).await;
    }
    let user = env.var("BERTH_ACR_TOKEN_NAME");
    let pass = env.var("BERTH_ACR_TOKEN_PASSWORD");

    let (pages, desc) = all_pages(
        &format!("/acr/v1/{repo}/_tags?n=3&orderby=timedesc"),
        user,
        pass,
        "tags",
    )
    .await;
    assert_eq!(pages, 3, "7 tags at 3 per page");
    let mut expected = pushed.clone();
    expected.reverse();
    assert_eq!(names(&desc), expected, "timedesc = newest push first");
    let times: Vec<&str> = desc
        .iter()
        .map(|t| t["lastUpdateTime"].as_str().unwrap())
        .collect();
    assert!(
        times.windows(2).all(|w| w[0] > w[1]),
        "strictly decreasing times: {times:?}"
    );
    for t in &desc {
        assert!(t["digest"].as_str().unwrap().starts_with("sha256:"));
        assert_eq!(t["createdTime"], t["lastUpdateTime"]);
        assert_eq!(t["changeableAttributes"]["readEnabled"], true);
    }

    let (_, asc) = all_pages(
        &format!("/acr/v1/{repo}/_tags?n=2&orderby=timeasc"),
        user,
        pass,
        "tags",
    )
    .await;
    assert_eq!(names(&asc), pushed, "timeasc = oldest push first");

    let (_, by_name) = all_pages(&format!("/acr/v1/{repo}/_tags?n=4"), user, pass, "tags").await;
    assert_eq!(names(&by_name), pushed, "default order is by name");

    // Digest filter: exactly the tag with that digest.
    let d3 = desc.iter().find(|t| t["name"] == "t3").unwrap()["digest"]
        .as_str()
        .unwrap()
        .to_string();
    let (_, only) = all_pages(
        &format!("/acr/v1/{repo}/_tags?digest={d3}"),
        user,
        pass,
        "tags",
    )
    .await;
    assert_eq!(names(&only), vec!["t3".to_string()]);

    // Retagging moves lastUpdateTime but keeps createdTime.
    push_copy("web:1.0.6", &format!("{repo}:t0")).await;
    let (_, after) = all_pages(
        &format!("/acr/v1/{repo}/_tags?orderby=timedesc&n=1"),
        user,
        pass,
        "tags",
    )
    .await;
    assert_eq!(after[0]["name"], "t0", "the retagged tag is now the newest");
    assert!(after[0]["lastUpdateTime"].as_str() > after[0]["createdTime"].as_str());
    assert_eq!(
        after[0]["digest"],
        desc.iter().find(|t| t["name"] == "t6").unwrap()["digest"]
    );
}

#[tokio::test]
async fn seeded_web_tags_take_times_from_image_configs() {
    let env = Env::get();
    let user = env.var("BERTH_ACR_ADMIN_USER");
    let pass = env.var("BERTH_ACR_ADMIN_PASSWORD");
    let (_, tags) = all_pages("/acr/v1/web/_tags?n=5&orderby=timedesc", user, pass, "tags").await;
    let seeded: Vec<&Value> = tags
        .iter()
        .filter(|t| {
            let n = t["name"].as_str().unwrap();
            n == "latest"
                || n.strip_prefix("1.0.")
                    .is_some_and(|i| i.parse::<u32>().is_ok_and(|i| i < 30))
        })
        .collect();
    assert_eq!(seeded.len(), 31, "1.0.0..1.0.29 and latest");
    assert_eq!(seeded[0]["name"], "1.0.29");
    assert_eq!(seeded[1]["name"], "latest");
    assert_eq!(seeded[0]["digest"], seeded[1]["digest"]);
    let order: Vec<&str> = seeded[2..]
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    let expected: Vec<String> = (0..29).rev().map(|i| format!("1.0.{i}")).collect();
    assert_eq!(order, expected);
    let ts = |name: &str| -> jiff::Timestamp {
        let t = seeded.iter().find(|t| t["name"] == name).unwrap();
        t["createdTime"].as_str().unwrap().parse().unwrap()
    };
    assert_eq!(
        ts("1.0.1").duration_since(ts("1.0.0")),
        jiff::SignedDuration::from_hours(1)
    );
    let digests: std::collections::BTreeSet<&str> = seeded
        .iter()
        .map(|t| t["digest"].as_str().unwrap())
        .collect();
    assert_eq!(digests.len(), 30, "distinct digests per 1.0.x tag");
}

#[tokio::test]
async fn manifests_of_an_index_list_children_with_platforms() {
    let env = Env::get();
    let user = env.var("BERTH_ACR_TOKEN_NAME");
    let pass = env.var("BERTH_ACR_TOKEN_PASSWORD");
    let (_, ms) = all_pages(
        "/acr/v1/tools/multiarch/_manifests",
        user,
        pass,
        "manifests",
    )
    .await;
    let index = ms
        .iter()
        .find(|m| m["tags"].as_array().unwrap().iter().any(|t| t == "1.0"))
        .expect("the tagged index");
    assert_eq!(
        index["mediaType"],
        "application/vnd.oci.image.index.v1+json"
    );
    let refs: Vec<&str> = index["references"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap())
        .collect();
    assert_eq!(refs.len(), 2);
    let mut archs: Vec<&str> = ms
        .iter()
        .filter(|m| refs.contains(&m["digest"].as_str().unwrap()))
        .map(|m| m["architecture"].as_str().unwrap())
        .collect();
    archs.sort();
    assert_eq!(archs, ["amd64", "arm64"]);
    assert!(ms.iter().all(|m| m["imageSize"].as_u64().unwrap() > 0));
}

#[tokio::test]
async fn catalog_pages_lexically() {
    let env = Env::get();
    let (pages, repos) = all_pages(
        "/acr/v1/_catalog?n=2",
        env.var("BERTH_SP_PULL_CLIENT_ID"),
        env.var("BERTH_SP_PULL_CLIENT_SECRET"),
        "repositories",
    )
    .await;
    let repos: Vec<&str> = repos.iter().map(|r| r.as_str().unwrap()).collect();
    assert!(pages >= 3, "at least 5 repositories at 2 per page");
    let mut sorted = repos.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(repos, sorted, "lexical, no repeats across pages");
    for r in ["api", "tools/armonly", "tools/multiarch", "web", "worker"] {
        assert!(repos.contains(&r), "{r} missing from {repos:?}");
    }
}

#[tokio::test]
async fn listing_requires_credentials_and_the_right_scope() {
    let env = Env::get();
    let http = env.http();
    let anon = http
        .get(format!("{}/acr/v1/web/_tags", env.base()))
        .send()
        .await
        .unwrap();
    assert_eq!(anon.status(), 401);
    let challenge = anon.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        challenge.starts_with("Bearer realm=")
            && challenge.contains("repository:web:metadata_read"),
        "{challenge}"
    );
    // The token flow: a bearer token for the web repository lists web, is denied api.
    let user = env.var("BERTH_ACR_TOKEN_WEB_NAME");
    let pass = env.var("BERTH_ACR_TOKEN_WEB_PASSWORD");
    let t = registry_token(user, pass, &["repository:web:metadata_read"])
        .await
        .unwrap();
    let ok = http
        .get(format!("{}/acr/v1/web/_tags?n=1", env.base()))
        .bearer_auth(&t)
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    let t = registry_token(user, pass, &["repository:api:metadata_read"])
        .await
        .unwrap();
    let denied = http
        .get(format!("{}/acr/v1/api/_tags", env.base()))
        .bearer_auth(&t)
        .send()
        .await
        .unwrap();
    assert_eq!(denied.status(), 403);
    let cat = http
        .get(format!("{}/acr/v1/_catalog", env.base()))
        .basic_auth(user, Some(pass))
        .send()
        .await
        .unwrap();
    assert_eq!(
        cat.status(),
        403,
        "a single-repository token may not list the catalog"
    );
    let missing = http
        .get(format!(
            "{}/acr/v1/{}/_tags",
            env.base(),
            unique("no-such-repo")
        ))
        .basic_auth(
            env.var("BERTH_ACR_ADMIN_USER"),
            Some(env.var("BERTH_ACR_ADMIN_PASSWORD")),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    let body: Value = missing.json().await.unwrap();
    assert_eq!(body["errors"][0]["code"], "NAME_UNKNOWN");
}
