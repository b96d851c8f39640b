//! ACR's `/acr/v1/` listing API (catalog, tags, manifests) with timestamps and `Link` pagination,
//! and a tag's attributes (`GET|PATCH /acr/v1/{repo}/_tags/{tag}`, the locks ACR enforces).

use crate::App;
use crate::http::{self, Resp, acr_time, first, pairs, registry_error};
use crate::state::Attributes;
use crate::upstream::is_index;
use futures_util::StreamExt;
use hyper::body::Incoming;
use hyper::{HeaderMap, Method, Request, StatusCode};
use jiff::Timestamp;
use serde_json::{Value, json};

const DEFAULT_N: usize = 100;

/// Checks Basic or Bearer credentials for `typ:name` with any of `actions`.
fn authorize(app: &App, h: &HeaderMap, typ: &str, name: &str, actions: &[&str]) -> Option<Resp> {
    let scope = if typ == "registry" {
        "registry:catalog:*".to_string()
    } else {
        format!(
            "repository:{name}:{}",
            actions.first().copied().unwrap_or("metadata_read")
        )
    };
    let challenge = || {
        http::header(
            registry_error(
                StatusCode::UNAUTHORIZED,
                "UNAUTHORIZED",
                "authentication required, visit https://aka.ms/acr/authorization for more information.",
            ),
            "WWW-Authenticate",
            &format!(
                "Bearer realm=\"https://{0}/oauth2/token\",service=\"{0}\",scope=\"{scope}\"",
                app.cfg.login_server
            ),
        )
    };
    let denied = || {
        registry_error(
            StatusCode::FORBIDDEN,
            "DENIED",
            "requested access to the resource is denied",
        )
    };
    if let Some(t) = http::bearer(h) {
        let Some(claims) = app.check_access(&t) else {
            return Some(challenge());
        };
        if App::token_allows(&claims, typ, name, actions) {
            return None;
        }
        let asked = claims["access"]
            .as_array()
            .is_some_and(|a| a.iter().any(|e| e["type"] == typ && e["name"] == name));
        return Some(if asked { denied() } else { challenge() });
    }
    if let Some((u, p)) = http::basic_auth(h) {
        return match app.check_basic(&u, &p) {
            Err(f) => Some(f.response()),
            Ok(id) => {
                let g = app.grant(&id);
                let ok = if typ == "registry" {
                    g.catalog
                } else {
                    let allowed = g.allowed(name);
                    actions.iter().any(|a| allowed.iter().any(|x| x == a))
                };
                if ok { None } else { Some(denied()) }
            }
        };
    }
    Some(challenge())
}

fn name_unknown(repo: &str) -> Resp {
    http::json(
        StatusCode::NOT_FOUND,
        &json!({"errors": [{"code": "NAME_UNKNOWN", "message": "repository name not known to registry", "detail": {"name": repo}}]}),
    )
}

fn upstream_err(e: String) -> Resp {
    eprintln!("azure-standin: {e}");
    registry_error(StatusCode::BAD_GATEWAY, "UNAVAILABLE", &e)
}

fn link(path: &str, params: &[(&str, &str)]) -> String {
    let q = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(params.iter().filter(|(_, v)| !v.is_empty()))
        .finish();
    format!("<{path}?{q}>; rel=\"next\"")
}

fn changeable(a: Attributes) -> Value {
    serde_json::to_value(a).expect("attributes serialise")
}

/// ACR's answer to a write or delete its locks forbid (as `az acr`, docker and crane show it).
pub fn disallowed() -> Resp {
    http::json(
        StatusCode::METHOD_NOT_ALLOWED,
        &json!({"errors": [{
            "code": "REGISTRY_DISALLOWED_OPERATION",
            "message": "The operation is disallowed on this registry, repository or image. View troubleshooting steps at https://aka.ms/acr/faq/#why-does-my-pull-or-push-request-fail-with-disallowed-operation",
            "detail": {}
        }]}),
    )
}

pub async fn handle(app: &App, req: Request<Incoming>, rest: &str) -> Resp {
    if let Some((repo, tag)) = rest.rsplit_once("/_tags/")
        && !repo.is_empty()
        && !tag.is_empty()
        && !tag.contains('/')
    {
        let (repo, tag) = (repo.to_owned(), tag.to_owned());
        return tag_properties(app, req, &repo, &tag).await;
    }
    if req.method() != Method::GET {
        return registry_error(
            StatusCode::METHOD_NOT_ALLOWED,
            "UNSUPPORTED",
            "The operation is unsupported.",
        );
    }
    let q = pairs(req.uri().query().unwrap_or(""));
    let h = req.headers();
    if rest == "_catalog" {
        if let Some(r) = authorize(app, h, "registry", "catalog", &["*"]) {
            return r;
        }
        return catalog(app, &q).await;
    }
    let (repo, what) = if let Some(r) = rest.strip_suffix("/_tags") {
        (r, "tags")
    } else if let Some(r) = rest.strip_suffix("/_manifests") {
        (r, "manifests")
    } else {
        return registry_error(
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
            "unknown /acr/v1 endpoint (served: _catalog, {repo}/_tags, {repo}/_manifests)",
        );
    };
    if let Some(r) = authorize(app, h, "repository", repo, &["metadata_read", "pull"]) {
        return r;
    }
    let n = match first(&q, "n").map(str::parse::<usize>) {
        None => DEFAULT_N,
        Some(Ok(n)) if n > 0 => n,
        _ => {
            return registry_error(
                StatusCode::BAD_REQUEST,
                "PAGINATION_NUMBER_INVALID",
                "invalid number of results requested",
            );
        }
    };
    let orderby = first(&q, "orderby").unwrap_or("");
    if !matches!(orderby, "" | "timedesc" | "timeasc") {
        return registry_error(
            StatusCode::BAD_REQUEST,
            "UNSUPPORTED",
            "orderby must be timedesc or timeasc",
        );
    }
    match what {
        "tags" => tags(app, repo, &q, n, orderby).await,
        _ => manifests(app, repo, &q, n, orderby).await,
    }
}

async fn catalog(app: &App, q: &[(String, String)]) -> Resp {
    let repos = match app.catalog_all().await {
        Ok(r) => r,
        Err(e) => return upstream_err(e),
    };
    let n = first(q, "n")
        .and_then(|n| n.parse().ok())
        .unwrap_or(DEFAULT_N)
        .max(1);
    let last = first(q, "last").unwrap_or("");
    let rest: Vec<&String> = repos.iter().filter(|r| r.as_str() > last).collect();
    let page: Vec<&String> = rest.iter().take(n).copied().collect();
    let mut resp = http::json(StatusCode::OK, &json!({"repositories": page}));
    if rest.len() > n
        && let Some(l) = page.last()
    {
        let ns = n.to_string();
        resp = http::header(
            resp,
            "Link",
            &link("/acr/v1/_catalog", &[("last", l), ("n", &ns)]),
        );
    }
    resp
}

struct Row {
    key: String,
    digest: String,
    created: Timestamp,
    updated: Timestamp,
}

/// Orders rows (by key, or by update time) and cuts the page after `last`.
fn page(mut rows: Vec<Row>, orderby: &str, last: &str, n: usize) -> (Vec<Row>, bool) {
    match orderby {
        "timedesc" => rows.sort_by(|a, b| b.updated.cmp(&a.updated).then(a.key.cmp(&b.key))),
        "timeasc" => rows.sort_by(|a, b| a.updated.cmp(&b.updated).then(a.key.cmp(&b.key))),
        _ => rows.sort_by(|a, b| a.key.cmp(&b.key)),
    }
    let start = if last.is_empty() {
        0
    } else if let Some(i) = rows.iter().position(|r| r.key == last) {
        i + 1
    } else if orderby.is_empty() {
        rows.iter()
            .position(|r| r.key.as_str() > last)
            .unwrap_or(rows.len())
    } else {
        rows.len()
    };
    let more = rows.len() > start + n;
    let page = rows.into_iter().skip(start).take(n).collect();
    (page, more)
}

async fn tag_rows(app: &App, repo: &str) -> Result<Option<Vec<Row>>, String> {
    let Some(tags) = app.tags_all(repo).await? else {
        return Ok(None);
    };
    let digests: Vec<Result<(String, Option<String>), String>> = futures_util::stream::iter(tags)
        .map(|t| async move { app.resolve(repo, &t).await.map(|d| (t, d)) })
        .buffered(8)
        .collect()
        .await;
    let mut rows = Vec::new();
    for r in digests {
        let (tag, Some(digest)) = r? else {
            continue;
        };
        let push = app
            .state
            .lock()
            .unwrap()
            .pushes
            .get(repo)
            .and_then(|m| m.get(&tag))
            .filter(|p| p.digest.is_empty() || p.digest == digest)
            .cloned();
        let (created, updated) = match push {
            Some(p) => (p.created, p.updated),
            None => {
                let c = app
                    .manifest_info(repo, &digest)
                    .await?
                    .created
                    .unwrap_or(Timestamp::UNIX_EPOCH);
                (c, c)
            }
        };
        rows.push(Row {
            key: tag,
            digest,
            created,
            updated,
        });
    }
    Ok(Some(rows))
}

fn tag_unknown(repo: &str, tag: &str) -> Resp {
    http::json(
        StatusCode::NOT_FOUND,
        &json!({"errors": [{"code": "TAG_UNKNOWN", "message": "the specified tag does not exist", "detail": {"name": repo, "tag": tag}}]}),
    )
}

/// `GET /acr/v1/{repo}/_tags/{tag}` (the tag with its attributes), `PATCH` (set attributes: a
/// JSON object of `deleteEnabled`, `writeEnabled`, `readEnabled`, `listEnabled` booleans; the
/// answer is the tag as GET shows it), `DELETE` (refused as ACR does when the tag is locked;
/// deleting an unlocked tag alone is not served: the registry behind deletes manifests only).
async fn tag_properties(app: &App, req: Request<Incoming>, repo: &str, tag: &str) -> Resp {
    let method = req.method().clone();
    let needed: &[&str] = match method {
        Method::GET => &["metadata_read", "pull"],
        Method::PATCH => &["metadata_write"],
        Method::DELETE => &["delete"],
        _ => {
            return registry_error(
                StatusCode::METHOD_NOT_ALLOWED,
                "UNSUPPORTED",
                "The operation is unsupported.",
            );
        }
    };
    if let Some(r) = authorize(app, req.headers(), "repository", repo, needed) {
        return r;
    }
    let rows = match tag_rows(app, repo).await {
        Ok(Some(r)) => r,
        Ok(None) => return name_unknown(repo),
        Err(e) => return upstream_err(e),
    };
    let Some(row) = rows.into_iter().find(|r| r.key == tag) else {
        return tag_unknown(repo, tag);
    };
    let current = app.state.lock().unwrap().attributes(repo, tag);
    let attributes = match method {
        Method::DELETE => {
            if !current.write_enabled || !current.delete_enabled {
                return disallowed();
            }
            return registry_error(
                StatusCode::METHOD_NOT_ALLOWED,
                "UNSUPPORTED",
                "deleting a tag alone is not served by the stand-in (the registry behind it deletes manifests by digest)",
            );
        }
        Method::PATCH => {
            let body = match http::read_body(req.into_body(), 64 * 1024).await {
                Ok(b) => b,
                Err(e) => return registry_error(StatusCode::BAD_REQUEST, "BAD_REQUEST", &e),
            };
            match patched(current, &body) {
                Ok(a) => {
                    let mut st = app.state.lock().unwrap();
                    st.tag_attributes
                        .entry(repo.to_owned())
                        .or_default()
                        .insert(tag.to_owned(), a);
                    st.save(&app.cfg.state_file);
                    a
                }
                Err(message) => {
                    return registry_error(StatusCode::BAD_REQUEST, "BAD_REQUEST", &message);
                }
            }
        }
        _ => current,
    };
    http::json(
        StatusCode::OK,
        &json!({
            "registry": app.cfg.login_server,
            "imageName": repo,
            "tag": {
                "name": row.key,
                "digest": row.digest,
                "createdTime": acr_time(row.created),
                "lastUpdateTime": acr_time(row.updated),
                "signed": false,
                "changeableAttributes": changeable(attributes),
            }
        }),
    )
}

/// `current` with the attributes of a PATCH body set; a body that is not an object of known
/// boolean attributes changes nothing.
fn patched(current: Attributes, body: &[u8]) -> Result<Attributes, String> {
    let v: Value =
        serde_json::from_slice(body).map_err(|e| format!("the body is not JSON: {e}"))?;
    let Some(obj) = v.as_object() else {
        return Err("the body must be a JSON object of changeable attributes".into());
    };
    let mut a = current;
    for (k, v) in obj {
        let Some(b) = v.as_bool() else {
            return Err(format!("{k} must be true or false"));
        };
        match k.as_str() {
            "deleteEnabled" => a.delete_enabled = b,
            "writeEnabled" => a.write_enabled = b,
            "readEnabled" => a.read_enabled = b,
            "listEnabled" => a.list_enabled = b,
            other => {
                return Err(format!(
                    "unknown attribute {other:?} (deleteEnabled, writeEnabled, readEnabled, listEnabled)"
                ));
            }
        }
    }
    Ok(a)
}

async fn tags(app: &App, repo: &str, q: &[(String, String)], n: usize, orderby: &str) -> Resp {
    let mut rows = match tag_rows(app, repo).await {
        Ok(Some(r)) => r,
        Ok(None) => return name_unknown(repo),
        Err(e) => return upstream_err(e),
    };
    // A tag with listEnabled=false is left out of the listing (still readable by name).
    let attributes = app
        .state
        .lock()
        .unwrap()
        .tag_attributes
        .get(repo)
        .cloned()
        .unwrap_or_default();
    rows.retain(|r| attributes.get(&r.key).is_none_or(|a| a.list_enabled));
    let digest = first(q, "digest").unwrap_or("");
    if !digest.is_empty() {
        rows.retain(|r| r.digest == digest);
    }
    let last = first(q, "last").unwrap_or("");
    let (page, more) = page(rows, orderby, last, n);
    let tags: Vec<Value> = page
        .iter()
        .map(|r| {
            json!({
                "name": r.key,
                "digest": r.digest,
                "createdTime": acr_time(r.created),
                "lastUpdateTime": acr_time(r.updated),
                "signed": false,
                "changeableAttributes": changeable(attributes.get(&r.key).copied().unwrap_or_default()),
            })
        })
        .collect();
    let mut resp = http::json(
        StatusCode::OK,
        &json!({"registry": app.cfg.login_server, "imageName": repo, "tags": tags}),
    );
    if more && let Some(l) = page.last() {
        let ns = n.to_string();
        resp = http::header(
            resp,
            "Link",
            &link(
                &format!("/acr/v1/{repo}/_tags"),
                &[
                    ("last", &l.key),
                    ("n", &ns),
                    ("orderby", orderby),
                    ("digest", digest),
                ],
            ),
        );
    }
    resp
}

async fn manifests(app: &App, repo: &str, q: &[(String, String)], n: usize, orderby: &str) -> Resp {
    let tag_rows = match tag_rows(app, repo).await {
        Ok(Some(r)) => r,
        Ok(None) => return name_unknown(repo),
        Err(e) => return upstream_err(e),
    };
    // digest → (tags, latest tag update)
    let mut by_digest: std::collections::BTreeMap<String, (Vec<String>, Option<Timestamp>)> =
        Default::default();
    for r in &tag_rows {
        let e = by_digest.entry(r.digest.clone()).or_default();
        e.0.push(r.key.clone());
        e.1 = e.1.max(Some(r.updated));
    }
    let mut infos = Vec::new();
    let mut children = Vec::new();
    for d in by_digest.keys() {
        match app.manifest_info(repo, d).await {
            Ok(i) => {
                children.extend(i.references.iter().cloned());
                infos.push((d.clone(), i));
            }
            Err(e) => return upstream_err(e),
        }
    }
    for c in children {
        if by_digest.contains_key(&c) {
            continue;
        }
        match app.manifest_info(repo, &c).await {
            Ok(i) => {
                by_digest.insert(c.clone(), (vec![], None));
                infos.push((c, i));
            }
            Err(e) => return upstream_err(e),
        }
    }
    let pushed = app.state.lock().unwrap().manifest_pushes.clone();
    let mut rows = Vec::new();
    let mut meta = std::collections::HashMap::new();
    for (d, info) in infos {
        let created = pushed
            .get(&format!("{repo}@{d}"))
            .copied()
            .or(info.created)
            .unwrap_or(Timestamp::UNIX_EPOCH);
        let (tags, updated) = by_digest.get(&d).cloned().unwrap_or_default();
        rows.push(Row {
            key: d.clone(),
            digest: d.clone(),
            created,
            updated: updated.unwrap_or(created).max(created),
        });
        meta.insert(d, (info, tags));
    }
    let last = first(q, "last").unwrap_or("");
    let (page, more) = page(rows, orderby, last, n);
    let list: Vec<Value> = page
        .iter()
        .map(|r| {
            let (info, tags) = &meta[&r.digest];
            let mut m = json!({
                "digest": r.digest,
                "imageSize": info.image_size,
                "createdTime": acr_time(r.created),
                "lastUpdateTime": acr_time(r.updated),
                "architecture": info.architecture,
                "os": info.os,
                "mediaType": info.media_type,
                "tags": tags,
                "changeableAttributes": changeable(Attributes::default()),
            });
            if is_index(&info.media_type) {
                m["references"] = json!(info.references);
            }
            m
        })
        .collect();
    let mut resp = http::json(
        StatusCode::OK,
        &json!({"registry": app.cfg.login_server, "imageName": repo, "manifests": list}),
    );
    if more && let Some(l) = page.last() {
        let ns = n.to_string();
        resp = http::header(
            resp,
            "Link",
            &link(
                &format!("/acr/v1/{repo}/_manifests"),
                &[("last", &l.key), ("n", &ns), ("orderby", orderby)],
            ),
        );
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows() -> Vec<Row> {
        (0..5)
            .map(|i| {
                let t = Timestamp::from_second(1_700_000_000 + i * 3600).unwrap();
                Row {
                    key: format!("t{i}"),
                    digest: format!("sha256:{i}"),
                    created: t,
                    updated: t,
                }
            })
            .collect()
    }

    fn keys(r: &[Row]) -> Vec<&str> {
        r.iter().map(|r| r.key.as_str()).collect()
    }

    #[test]
    fn patches_set_only_known_boolean_attributes() {
        let a = patched(Attributes::default(), br#"{"writeEnabled":false}"#).unwrap();
        assert!(!a.write_enabled && a.delete_enabled && a.read_enabled && a.list_enabled);
        let b = patched(a, br#"{"deleteEnabled":false,"writeEnabled":true}"#).unwrap();
        assert!(b.write_enabled && !b.delete_enabled);
        assert_eq!(patched(b, b"{}").unwrap(), b);
        for bad in [
            &br#"{"writeEnabled":"false"}"#[..],
            br#"{"locked":true}"#,
            b"[true]",
            b"not json",
        ] {
            assert!(patched(a, bad).is_err(), "{}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn pages_follow_the_order_and_last_is_exclusive() {
        let (p, more) = page(rows(), "timedesc", "", 2);
        assert_eq!((keys(&p), more), (vec!["t4", "t3"], true));
        let (p, more) = page(rows(), "timedesc", "t3", 2);
        assert_eq!((keys(&p), more), (vec!["t2", "t1"], true));
        let (p, more) = page(rows(), "timedesc", "t1", 2);
        assert_eq!((keys(&p), more), (vec!["t0"], false));
        let (p, _) = page(rows(), "timeasc", "t2", 10);
        assert_eq!(keys(&p), vec!["t3", "t4"]);
        let (p, _) = page(rows(), "", "t1x", 10);
        assert_eq!(
            keys(&p),
            vec!["t2", "t3", "t4"],
            "name order: a missing `last` still cuts lexically"
        );
    }
}
