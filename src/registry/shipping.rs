//! "What am I shipping": what differs between two images of a repository, read from their
//! manifests and configs: created times, OCI annotations and config labels, the runtime config
//! (env, entrypoint, cmd, user, ports, working dir), the layers added and removed with sizes, and
//! an index's platforms.
//!
//! The facts of one image ([`ImageFacts`]) and the diff of two ([`ShippingDiff`]) are pure, built
//! from the bytes; [`image_facts`] fetches those bytes by digest through the
//! [`ContentCache`], so a diff of digests seen before costs no registry round trip at all (a tag
//! costs one manifest read: tags move, digests do not).

use std::collections::{BTreeMap, BTreeSet};

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::client::RegistryClient;
use super::content_cache::{ContentCache, MAX_DOCUMENT_BYTES};
use super::error::RegistryError;
use super::manifest::Manifest;
use super::types::Platform;

/// The platform compared when both sides are indexes and none was asked for: what AKS's Linux
/// node pools run most.
pub const DEFAULT_PLATFORM: (&str, &str) = ("linux", "amd64");

/// One image, as far as a diff cares.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ImageFacts {
    /// The digest asked about (an index's, for a multi-platform image).
    pub digest: String,
    pub media_type: String,
    /// The platforms of an index (attestations left out); empty for a single image.
    pub platforms: Vec<Platform>,
    /// The platform image compared, when `digest` is an index.
    pub platform_digest: Option<String>,
    pub platform: Option<Platform>,
    pub created: Option<Timestamp>,
    /// The manifest's annotations (the index's too, the image's winning on a clash).
    pub annotations: BTreeMap<String, String>,
    pub labels: BTreeMap<String, String>,
    /// `NAME=value`, with [`HIDDEN`] for the value of a name that says secret.
    pub env: Vec<String>,
    /// sha256 of each hidden value, in memory only: tells a changed secret from an unchanged
    /// one without keeping (or ever printing) the value.
    #[serde(skip)]
    pub hidden_env: BTreeMap<String, String>,
    pub entrypoint: Option<Vec<String>>,
    pub cmd: Option<Vec<String>>,
    pub user: Option<String>,
    pub working_dir: Option<String>,
    pub exposed_ports: Vec<String>,
    pub layers: Vec<Layer>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Layer {
    pub digest: String,
    pub size: u64,
}

/// The parts of an OCI/Docker image config read here.
#[derive(Debug, Default, Deserialize)]
struct ConfigDoc {
    created: Option<String>,
    #[serde(default)]
    config: RuntimeConfig,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RuntimeConfig {
    user: Option<String>,
    exposed_ports: Option<BTreeMap<String, serde_json::Value>>,
    env: Option<Vec<String>>,
    entrypoint: Option<Vec<String>>,
    cmd: Option<Vec<String>>,
    working_dir: Option<String>,
    labels: Option<BTreeMap<String, String>>,
}

#[derive(Debug, Default, Deserialize)]
struct Annotated {
    #[serde(default)]
    annotations: BTreeMap<String, String>,
}

impl ImageFacts {
    /// The facts from an image manifest and its config (and the index above it, if any).
    pub fn from_documents(
        index: Option<&Manifest>,
        image: &Manifest,
        config: &[u8],
    ) -> Result<Self, String> {
        let doc: ConfigDoc = serde_json::from_slice(config)
            .map_err(|e| format!("the image config is not valid JSON: {e}"))?;
        let annotations_of = |m: &Manifest| {
            serde_json::from_slice::<Annotated>(&m.bytes)
                .map(|a| a.annotations)
                .unwrap_or_default()
        };
        let mut annotations = index.map(annotations_of).unwrap_or_default();
        annotations.extend(annotations_of(image));
        let rc = doc.config;
        let mut hidden_env = BTreeMap::new();
        let env = rc
            .env
            .unwrap_or_default()
            .into_iter()
            .map(|e| match e.split_once('=') {
                Some((name, value)) if secret_looking(name) => {
                    hidden_env.insert(
                        name.to_owned(),
                        super::manifest::sha256_digest(value.as_bytes()),
                    );
                    format!("{name}={HIDDEN}")
                }
                _ => e,
            })
            .collect();
        let platform = index.and_then(|i| {
            i.children()
                .iter()
                .find(|c| c.digest == image.digest)
                .and_then(|c| c.platform.as_ref())
                .map(|p| Platform {
                    os: p.os.clone(),
                    architecture: p.architecture.clone(),
                    variant: p.variant.clone(),
                })
        });
        Ok(Self {
            digest: index.unwrap_or(image).digest.clone(),
            media_type: index.unwrap_or(image).media_type.clone(),
            platforms: index.map(Manifest::platforms).unwrap_or_default(),
            platform_digest: index.map(|_| image.digest.clone()),
            platform,
            created: doc.created.and_then(|c| c.parse().ok()),
            annotations,
            labels: rc.labels.unwrap_or_default(),
            env,
            hidden_env,
            entrypoint: rc.entrypoint,
            cmd: rc.cmd,
            user: rc.user.filter(|u| !u.is_empty()),
            working_dir: rc.working_dir.filter(|w| !w.is_empty()),
            exposed_ports: rc
                .exposed_ports
                .map(|p| p.into_keys().collect())
                .unwrap_or_default(),
            layers: image
                .doc
                .layers
                .iter()
                .map(|l| Layer {
                    digest: l.digest.clone(),
                    size: l.size,
                })
                .collect(),
        })
    }
}

/// One field that differs: `old`/`new` absent when the field is absent on that side.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Change {
    /// `created`, `annotation KEY`, `label KEY`, `env NAME`, `entrypoint`, `cmd`, `user`,
    /// `working dir`, `port`.
    pub field: String,
    pub old: Option<String>,
    pub new: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct LayerDiff {
    pub kept: Vec<Layer>,
    pub added: Vec<Layer>,
    pub removed: Vec<Layer>,
}

impl LayerDiff {
    pub fn bytes(layers: &[Layer]) -> u64 {
        layers.iter().fold(0u64, |s, l| s.saturating_add(l.size))
    }
}

/// What changes when `to` replaces `from`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ShippingDiff {
    pub from: ImageFacts,
    pub to: ImageFacts,
    pub same_image: bool,
    pub changes: Vec<Change>,
    pub layers: LayerDiff,
}

/// Env entries whose name says they hold a secret: their values are never shown, only that
/// they changed (an image's author may have baked one in; the screen is not the place for it).
fn secret_looking(name: &str) -> bool {
    let n = name.to_ascii_uppercase();
    [
        "PASSWORD",
        "PASSWD",
        "SECRET",
        "TOKEN",
        "KEY",
        "CREDENTIAL",
        "PRIVATE",
    ]
    .iter()
    .any(|w| n.contains(w))
}

pub const HIDDEN: &str = "(value hidden: the name says secret)";

fn env_map(env: &[String]) -> BTreeMap<&str, String> {
    env.iter()
        .map(|e| {
            let (k, v) = e.split_once('=').unwrap_or((e.as_str(), ""));
            (k, v.to_owned())
        })
        .collect()
}

/// One change per key whose raw value differs (`shown` may hide a value; equality is over the
/// raw entries, so a hidden secret that changed still shows as changed).
fn map_changes(
    out: &mut Vec<Change>,
    what: &str,
    old: &BTreeMap<&str, String>,
    new: &BTreeMap<&str, String>,
    raw_equal: impl Fn(&str) -> bool,
) {
    let keys: BTreeSet<&str> = old.keys().chain(new.keys()).copied().collect();
    for k in keys.into_iter().filter(|k| !raw_equal(k)) {
        out.push(Change {
            field: format!("{what} {k}"),
            old: old.get(k).cloned(),
            new: new.get(k).cloned(),
        });
    }
}

fn plain(m: &BTreeMap<String, String>) -> BTreeMap<&str, String> {
    m.iter().map(|(k, v)| (k.as_str(), v.clone())).collect()
}

fn argv(v: &Option<Vec<String>>) -> Option<String> {
    v.as_ref()
        .map(|a| serde_json::to_string(a).expect("strings serialise"))
}

impl ShippingDiff {
    pub fn between(from: ImageFacts, to: ImageFacts) -> Self {
        let mut changes = Vec::new();
        let mut scalar = |field: &str, old: Option<String>, new: Option<String>| {
            if old != new {
                changes.push(Change {
                    field: field.to_owned(),
                    old,
                    new,
                });
            }
        };
        scalar(
            "created",
            from.created.map(|t| t.to_string()),
            to.created.map(|t| t.to_string()),
        );
        scalar("entrypoint", argv(&from.entrypoint), argv(&to.entrypoint));
        scalar("cmd", argv(&from.cmd), argv(&to.cmd));
        scalar("user", from.user.clone(), to.user.clone());
        scalar(
            "working dir",
            from.working_dir.clone(),
            to.working_dir.clone(),
        );
        map_changes(
            &mut changes,
            "annotation",
            &plain(&from.annotations),
            &plain(&to.annotations),
            |k| from.annotations.get(k) == to.annotations.get(k),
        );
        map_changes(
            &mut changes,
            "label",
            &plain(&from.labels),
            &plain(&to.labels),
            |k| from.labels.get(k) == to.labels.get(k),
        );
        let (old_env, new_env) = (env_map(&from.env), env_map(&to.env));
        map_changes(&mut changes, "env", &old_env, &new_env, |k| {
            old_env.get(k) == new_env.get(k) && from.hidden_env.get(k) == to.hidden_env.get(k)
        });
        let (old_ports, new_ports): (BTreeSet<&String>, BTreeSet<&String>) = (
            from.exposed_ports.iter().collect(),
            to.exposed_ports.iter().collect(),
        );
        for p in old_ports.symmetric_difference(&new_ports) {
            let was = old_ports.contains(p);
            changes.push(Change {
                field: "port".into(),
                old: was.then(|| (*p).clone()),
                new: (!was).then(|| (*p).clone()),
            });
        }
        let old_layers: BTreeSet<&str> = from.layers.iter().map(|l| l.digest.as_str()).collect();
        let new_layers: BTreeSet<&str> = to.layers.iter().map(|l| l.digest.as_str()).collect();
        let layers = LayerDiff {
            kept: to
                .layers
                .iter()
                .filter(|l| old_layers.contains(l.digest.as_str()))
                .cloned()
                .collect(),
            added: to
                .layers
                .iter()
                .filter(|l| !old_layers.contains(l.digest.as_str()))
                .cloned()
                .collect(),
            removed: from
                .layers
                .iter()
                .filter(|l| !new_layers.contains(l.digest.as_str()))
                .cloned()
                .collect(),
        };
        Self {
            same_image: from.digest == to.digest,
            from,
            to,
            changes,
            layers,
        }
    }

    /// The diff as text, one fact per line (the CLI's output, and the promote confirmation's).
    pub fn render(&self, from_name: &str, to_name: &str) -> Vec<String> {
        let mut out = vec![format!("{from_name} → {to_name}")];
        let short = |d: &str| crate::reference::short_digest(d);
        out.push(format!(
            "  digest     {} → {}",
            short(&self.from.digest),
            short(&self.to.digest)
        ));
        if self.same_image {
            out.push("  the same image: nothing changes".into());
            return out;
        }
        if let Some(p) = self.to.platform.as_ref().or(self.from.platform.as_ref()) {
            out.push(format!("  platform   {p} (compared)"));
        }
        let platforms = |f: &ImageFacts| {
            if f.platforms.is_empty() {
                "(single image)".to_owned()
            } else {
                f.platforms
                    .iter()
                    .map(Platform::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            }
        };
        if self.from.platforms != self.to.platforms {
            out.push(format!(
                "  platforms  {} → {}",
                platforms(&self.from),
                platforms(&self.to)
            ));
        }
        let show = |v: &Option<String>| v.clone().unwrap_or_else(|| "(none)".into());
        for c in &self.changes {
            let line = match (&c.old, &c.new) {
                (None, Some(n)) => format!("  + {:<9}  {n}", c.field),
                (Some(o), None) => format!("  - {:<9}  {o}", c.field),
                _ => format!("  ~ {:<9}  {} → {}", c.field, show(&c.old), show(&c.new)),
            };
            out.push(line);
        }
        if self.changes.is_empty() {
            out.push("  config     unchanged (labels, annotations, env, entrypoint, cmd, user, ports, working dir)".into());
        }
        let l = &self.layers;
        out.push(format!(
            "  layers     {} → {}: {} kept ({}), {} added ({}), {} removed ({})",
            self.from.layers.len(),
            self.to.layers.len(),
            l.kept.len(),
            human_bytes(LayerDiff::bytes(&l.kept)),
            l.added.len(),
            human_bytes(LayerDiff::bytes(&l.added)),
            l.removed.len(),
            human_bytes(LayerDiff::bytes(&l.removed)),
        ));
        for a in &l.added {
            out.push(format!(
                "    + {} {}",
                short(&a.digest),
                human_bytes(a.size)
            ));
        }
        for r in &l.removed {
            out.push(format!(
                "    - {} {}",
                short(&r.digest),
                human_bytes(r.size)
            ));
        }
        out
    }
}

/// `1.2 MB` (SI, as registries' and docker's sizes are shown). Too small a need for a crate.
pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "kB", "MB", "GB", "TB"];
    let mut v = n as f64;
    let mut unit = 0;
    while v >= 1000.0 && unit < UNITS.len() - 1 {
        v /= 1000.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[unit])
    }
}

/// A manifest by digest: from the cache, else the registry (then cached).
async fn manifest_by_digest(
    client: &RegistryClient,
    cache: &ContentCache,
    repo: &str,
    digest: &str,
) -> Result<Manifest, RegistryError> {
    if let Some(bytes) = cache.get(digest)
        && let Ok(m) = Manifest::parse(bytes, None)
    {
        return Ok(m);
    }
    let m = client.get_manifest(repo, digest).await?;
    cache.put(&m.digest, &m.bytes);
    Ok(m)
}

/// The facts of `repo@reference` (a tag costs one manifest read; a digest needs no round
/// trip once its documents are cached). For an index, the image of `platform` (default
/// [`DEFAULT_PLATFORM`], else the only one) is read.
pub async fn image_facts(
    client: &RegistryClient,
    cache: &ContentCache,
    repo: &str,
    reference: &str,
    platform: Option<&Platform>,
) -> Result<ImageFacts, RegistryError> {
    let object = if reference.starts_with("sha256:") {
        format!("{repo}@{reference}")
    } else {
        format!("{repo}:{reference}")
    };
    // A tag is read once (tags move: its manifest is not taken from the cache, but cached).
    let top = if reference.starts_with("sha256:") {
        manifest_by_digest(client, cache, repo, reference).await?
    } else {
        let m = client.get_manifest(repo, reference).await?;
        cache.put(&m.digest, &m.bytes);
        m
    };
    let (index, image) = if top.is_index() {
        let child =
            pick_platform(&top, platform).map_err(|message| RegistryError::InvalidResponse {
                registry: client.name().to_owned(),
                object: object.clone(),
                message,
            })?;
        let image = manifest_by_digest(client, cache, repo, &child).await?;
        (Some(top), image)
    } else {
        (None, top)
    };
    let config_digest = image
        .doc
        .config
        .as_ref()
        .map(|c| c.digest.clone())
        .unwrap_or_default();
    let config = match cache.get(&config_digest) {
        Some(c) => c,
        None => {
            let c = client
                .get_blob_bytes(repo, &config_digest, MAX_DOCUMENT_BYTES)
                .await?;
            cache.put(&config_digest, &c);
            c
        }
    };
    ImageFacts::from_documents(index.as_ref(), &image, &config).map_err(|message| {
        RegistryError::InvalidResponse {
            registry: client.name().to_owned(),
            object,
            message,
        }
    })
}

/// The child of an index for `wanted` (or the default platform, or the only one); an error
/// names the platforms there are.
pub fn pick_platform(index: &Manifest, wanted: Option<&Platform>) -> Result<String, String> {
    let children: Vec<_> = index
        .children()
        .iter()
        .filter_map(|c| c.platform.as_ref().map(|p| (c, p)))
        .filter(|(_, p)| p.os != "unknown" && p.architecture != "unknown")
        .collect();
    let matches = |p: &super::manifest::DescriptorPlatform, w: &Platform| {
        p.os == w.os
            && p.architecture == w.architecture
            && (w.variant.is_none() || p.variant == w.variant)
    };
    let default = Platform {
        os: DEFAULT_PLATFORM.0.into(),
        architecture: DEFAULT_PLATFORM.1.into(),
        variant: None,
    };
    let found = match wanted {
        Some(w) => children.iter().find(|(_, p)| matches(p, w)),
        None => children
            .iter()
            .find(|(_, p)| matches(p, &default))
            .or(if children.len() == 1 {
                children.first()
            } else {
                None
            }),
    };
    found.map(|(c, _)| c.digest.clone()).ok_or_else(|| {
        let there: Vec<String> = index.platforms().iter().map(Platform::to_string).collect();
        format!(
            "the index has no {} image (it has: {}); choose one with --platform",
            wanted.unwrap_or(&default),
            if there.is_empty() {
                "none".into()
            } else {
                there.join(", ")
            }
        )
    })
}

/// `os/arch[/variant]`.
pub fn parse_platform(text: &str) -> Result<Platform, String> {
    let parts: Vec<&str> = text.split('/').collect();
    match parts.as_slice() {
        [os, arch] | [os, arch, _]
            if !os.is_empty() && !arch.is_empty() && parts.iter().all(|p| !p.is_empty()) =>
        {
            Ok(Platform {
                os: (*os).to_owned(),
                architecture: (*arch).to_owned(),
                variant: parts.get(2).map(|v| (*v).to_owned()),
            })
        }
        _ => Err(format!(
            "platform {text:?} is not os/architecture[/variant] (like linux/amd64 or linux/arm64/v8)"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::manifest::sha256_digest;
    use serde_json::json;

    fn manifest(v: serde_json::Value) -> Manifest {
        Manifest::parse(serde_json::to_vec(&v).unwrap(), None).unwrap()
    }

    fn image(config: &[u8], layers: &[(&str, u64)], annotations: serde_json::Value) -> Manifest {
        manifest(json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                "digest": sha256_digest(config), "size": config.len()},
            "layers": layers.iter().map(|(d, s)| json!({"mediaType": "x", "digest": d, "size": s})).collect::<Vec<_>>(),
            "annotations": annotations,
        }))
    }

    fn facts(
        config: serde_json::Value,
        layers: &[(&str, u64)],
        ann: serde_json::Value,
    ) -> ImageFacts {
        let c = serde_json::to_vec(&config).unwrap();
        ImageFacts::from_documents(None, &image(&c, layers, ann), &c).unwrap()
    }

    #[test]
    fn names_every_config_field_that_changed_and_the_layers() {
        let old = facts(
            json!({"created": "2026-11-01T10:00:00Z", "config": {
                "User": "root", "Env": ["PATH=/bin", "MODE=blue", "DB_PASSWORD=hunter2"],
                "Cmd": ["serve"], "WorkingDir": "/", "ExposedPorts": {"80/tcp": {}},
                "Labels": {"org.opencontainers.image.version": "1.0.1", "team": "shop"}}}),
            &[("sha256:base", 1_000_000), ("sha256:app1", 20_000)],
            json!({"org.opencontainers.image.revision": "abc123"}),
        );
        let new = facts(
            json!({"created": "2026-11-02T10:00:00Z", "config": {
                "User": "1000", "Env": ["PATH=/bin", "MODE=green", "DB_PASSWORD=hunter3", "NEW=1"],
                "Entrypoint": ["/app"], "Cmd": ["serve"], "WorkingDir": "/app",
                "ExposedPorts": {"8080/tcp": {}},
                "Labels": {"org.opencontainers.image.version": "1.0.2", "team": "shop"}}}),
            &[("sha256:base", 1_000_000), ("sha256:app2", 30_000)],
            json!({"org.opencontainers.image.revision": "def456"}),
        );
        let d = ShippingDiff::between(old, new);
        let got: Vec<(&str, Option<&str>, Option<&str>)> = d
            .changes
            .iter()
            .map(|c| (c.field.as_str(), c.old.as_deref(), c.new.as_deref()))
            .collect();
        assert_eq!(
            got,
            [
                (
                    "created",
                    Some("2026-11-01T10:00:00Z"),
                    Some("2026-11-02T10:00:00Z")
                ),
                ("entrypoint", None, Some(r#"["/app"]"#)),
                ("user", Some("root"), Some("1000")),
                ("working dir", Some("/"), Some("/app")),
                (
                    "annotation org.opencontainers.image.revision",
                    Some("abc123"),
                    Some("def456")
                ),
                (
                    "label org.opencontainers.image.version",
                    Some("1.0.1"),
                    Some("1.0.2")
                ),
                ("env DB_PASSWORD", Some(HIDDEN), Some(HIDDEN)),
                ("env MODE", Some("blue"), Some("green")),
                ("env NEW", None, Some("1")),
                ("port", Some("80/tcp"), None),
                ("port", None, Some("8080/tcp")),
            ]
        );
        assert_eq!(d.layers.kept.len(), 1);
        assert_eq!(d.layers.added[0].digest, "sha256:app2");
        assert_eq!(d.layers.removed[0].digest, "sha256:app1");
        let text = d.render("web:1.0.1", "web:1.0.2").join("\n");
        assert!(
            !text.contains("hunter"),
            "a secret-looking value never shows:\n{text}"
        );
        assert!(
            text.contains("1 kept (1.0 MB), 1 added (30.0 kB), 1 removed (20.0 kB)"),
            "{text}"
        );
        let json = serde_json::to_string(&d).unwrap();
        assert!(!json.contains("hunter"), "{json}");
    }

    #[test]
    fn a_hidden_value_is_a_change_only_when_it_changed() {
        let with = |pw: &str, mode: &str| {
            facts(
                json!({"config": {"Env": [format!("API_TOKEN={pw}"), format!("MODE={mode}")]}}),
                &[],
                json!({}),
            )
        };
        let d = ShippingDiff::between(with("s3cret", "a"), with("s3cret", "b"));
        let fields: Vec<&str> = d.changes.iter().map(|c| c.field.as_str()).collect();
        assert_eq!(fields, ["env MODE"]);
        let d = ShippingDiff::between(with("s3cret", "a"), with("other", "a"));
        let fields: Vec<&str> = d.changes.iter().map(|c| c.field.as_str()).collect();
        assert_eq!(fields, ["env API_TOKEN"]);
        assert!(!format!("{d:?}").contains("s3cret"), "not even in Debug");
    }

    #[test]
    fn the_same_digest_is_the_same_image() {
        let a = facts(json!({"config": {}}), &[("sha256:l", 1)], json!({}));
        let d = ShippingDiff::between(a.clone(), a);
        assert!(d.same_image && d.changes.is_empty());
        assert!(
            d.render("a", "b")
                .iter()
                .any(|l| l.contains("nothing changes"))
        );
    }

    #[test]
    fn an_index_is_compared_by_platform_and_lists_its_platforms() {
        let idx = manifest(
            json!({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
            "annotations": {"org.opencontainers.image.source": "https://git/x"},
            "manifests": [
                {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": "sha256:aa", "size": 1,
                 "platform": {"os": "linux", "architecture": "arm64", "variant": "v8"}},
                {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": "sha256:bb", "size": 1,
                 "platform": {"os": "linux", "architecture": "amd64"}},
                {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": "sha256:cc", "size": 1,
                 "platform": {"os": "unknown", "architecture": "unknown"}}]}),
        );
        assert_eq!(pick_platform(&idx, None).unwrap(), "sha256:bb");
        let arm = parse_platform("linux/arm64").unwrap();
        assert_eq!(pick_platform(&idx, Some(&arm)).unwrap(), "sha256:aa");
        let err = pick_platform(&idx, Some(&parse_platform("windows/amd64").unwrap())).unwrap_err();
        assert!(
            err.contains("no windows/amd64 image") && err.contains("linux/arm64/v8, linux/amd64"),
            "{err}"
        );
        assert!(parse_platform("linux").is_err() && parse_platform("linux//v8").is_err());
    }

    #[test]
    fn human_bytes_reads_like_a_registry() {
        assert_eq!(human_bytes(999), "999 B");
        assert_eq!(human_bytes(1_500), "1.5 kB");
        assert_eq!(human_bytes(u64::MAX), "18446744.1 TB");
    }
}
