//! One object as YAML (issue 13 §2): which kinds berth can name, the read, and the rules for
//! what is shown. The YAML view, `:yaml KIND/NAME` and the events of any object use it.
//!
//! What is shown differs from `kubectl get -o yaml` in two ways, both on purpose:
//! - `metadata.managedFields` is left out unless asked for (it is most of a small object's
//!   text and rarely what an operator reads);
//! - a Secret never shows its data: each key of `data`/`stringData` shows its size instead,
//!   and `kubectl.kubernetes.io/last-applied-configuration` (which holds the data when the
//!   Secret was applied from a file) shows only its size. The values are replaced right after
//!   the read, before the object leaves this module: no other part of berth ever holds them.

use base64::Engine as _;
use kube::Client;
use kube::api::{Api, ApiResource, DynamicObject};
use serde_json::Value;

/// A kind berth can read: its API coordinates and the names kubectl accepts for it.
#[derive(Debug, PartialEq, Eq)]
pub struct KindInfo {
    pub kind: &'static str,
    pub group: &'static str,
    pub version: &'static str,
    pub plural: &'static str,
    pub namespaced: bool,
    /// kubectl's names for it: singular, plural, short names.
    pub names: &'static [&'static str],
}

macro_rules! kinds {
    ($($kind:literal $group:literal $version:literal $plural:literal $ns:literal [$($n:literal),*];)*) => {
        &[$(KindInfo {
            kind: $kind,
            group: $group,
            version: $version,
            plural: $plural,
            namespaced: $ns,
            names: &[$($n),*],
        }),*]
    };
}

/// The built-in kinds an operator of a workload reads (kubectl's names and short names).
pub const KINDS: &[KindInfo] = kinds! {
    "Pod" "" "v1" "pods" true ["pod", "po"];
    "Deployment" "apps" "v1" "deployments" true ["deployment", "deploy"];
    "StatefulSet" "apps" "v1" "statefulsets" true ["statefulset", "sts"];
    "DaemonSet" "apps" "v1" "daemonsets" true ["daemonset", "ds"];
    "ReplicaSet" "apps" "v1" "replicasets" true ["replicaset", "rs"];
    "ControllerRevision" "apps" "v1" "controllerrevisions" true ["controllerrevision"];
    "Job" "batch" "v1" "jobs" true ["job"];
    "CronJob" "batch" "v1" "cronjobs" true ["cronjob", "cj"];
    "Service" "" "v1" "services" true ["service", "svc"];
    "Ingress" "networking.k8s.io" "v1" "ingresses" true ["ingress", "ing"];
    "ConfigMap" "" "v1" "configmaps" true ["configmap", "cm"];
    "Secret" "" "v1" "secrets" true ["secret"];
    "ServiceAccount" "" "v1" "serviceaccounts" true ["serviceaccount", "sa"];
    "PersistentVolumeClaim" "" "v1" "persistentvolumeclaims" true ["persistentvolumeclaim", "pvc"];
    "HorizontalPodAutoscaler" "autoscaling" "v2" "horizontalpodautoscalers" true ["horizontalpodautoscaler", "hpa"];
    "Event" "" "v1" "events" true ["event", "ev"];
    "Namespace" "" "v1" "namespaces" false ["namespace", "ns"];
    "Node" "" "v1" "nodes" false ["node", "no"];
    "PersistentVolume" "" "v1" "persistentvolumes" false ["persistentvolume", "pv"];
};

impl KindInfo {
    /// The kind kubectl would take for `word`: a kind (`ReplicaSet`), a resource name
    /// (`replicasets`), a singular or short name (`rs`), in any case, optionally with its group
    /// (`deployments.apps`).
    pub fn find(word: &str) -> Option<&'static KindInfo> {
        let word = word.trim().to_ascii_lowercase();
        let (name, group) = match word.split_once('.') {
            Some((n, g)) => (n.to_owned(), Some(g.to_owned())),
            None => (word, None),
        };
        KINDS.iter().find(|k| {
            let named = k.kind.eq_ignore_ascii_case(&name)
                || k.plural == name
                || k.names.contains(&name.as_str());
            named && group.as_deref().is_none_or(|g| g == k.group)
        })
    }

    /// The names `:yaml` accepts, for an error that says what is known.
    pub fn known() -> String {
        KINDS
            .iter()
            .map(|k| k.names[k.names.len() - 1])
            .collect::<Vec<_>>()
            .join(", ")
    }

    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.to_owned()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    fn resource(&self) -> ApiResource {
        ApiResource {
            group: self.group.to_owned(),
            version: self.version.to_owned(),
            api_version: self.api_version(),
            kind: self.kind.to_owned(),
            plural: self.plural.to_owned(),
        }
    }

    /// kubectl's resource noun, as in `secrets "x" not found`.
    pub fn noun(&self) -> &'static str {
        self.names[0]
    }
}

/// One object to read: its kind, namespace (empty for cluster-scoped kinds) and name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObjectTarget {
    pub kind: &'static KindInfo,
    pub namespace: String,
    pub name: String,
}

impl ObjectTarget {
    /// `kind/name` as kubectl writes it (`deployment/web`).
    pub fn label(&self) -> String {
        format!("{}/{}", self.kind.noun(), self.name)
    }

    /// Parse `KIND/NAME` (or `KIND NAME`) for `namespace`.
    pub fn parse(text: &str, namespace: &str) -> Result<Self, String> {
        let text = text.trim();
        let (kind, name) = text
            .split_once('/')
            .or_else(|| text.split_once(' '))
            .map(|(k, n)| (k.trim(), n.trim()))
            .ok_or_else(|| {
                format!(
                    "{text:?} names no object: write KIND/NAME, e.g. pod/web-1 or secret/acr-pull"
                )
            })?;
        if kind.is_empty() || name.is_empty() {
            return Err(format!(
                "{text:?} names no object: write KIND/NAME, e.g. pod/web-1 or secret/acr-pull"
            ));
        }
        let Some(info) = KindInfo::find(kind) else {
            return Err(format!(
                "berth does not know the kind {kind:?} (known: {})",
                KindInfo::known()
            ));
        };
        Ok(Self {
            kind: info,
            namespace: if info.namespaced {
                namespace.to_owned()
            } else {
                String::new()
            },
            name: name.to_owned(),
        })
    }
}

/// The object as berth shows it: Secret data already replaced by sizes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Manifest {
    pub uid: String,
    pub resource_version: String,
    /// The YAML without `metadata.managedFields`…
    pub yaml: String,
    /// …and with it.
    pub yaml_full: String,
}

impl Manifest {
    /// Render an object as read (Secret values are replaced here, first).
    pub fn from_value(kind: &KindInfo, mut value: Value) -> Self {
        if kind.kind == "Secret" {
            hide_secret_data(&mut value);
        }
        let meta = |key: &str| {
            value
                .pointer(&format!("/metadata/{key}"))
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned()
        };
        let (uid, resource_version) = (meta("uid"), meta("resourceVersion"));
        let yaml_full = to_yaml(&value);
        if let Some(m) = value.get_mut("metadata").and_then(Value::as_object_mut) {
            m.remove("managedFields");
        }
        Self {
            uid,
            resource_version,
            yaml: to_yaml(&value),
            yaml_full,
        }
    }

    pub fn text(&self, managed_fields: bool) -> &str {
        if managed_fields {
            &self.yaml_full
        } else {
            &self.yaml
        }
    }
}

/// The annotation `kubectl apply` leaves: the whole applied object, data included.
const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

fn size_note(bytes: usize) -> Value {
    Value::String(format!(
        "<hidden: {bytes} byte{}>",
        if bytes == 1 { "" } else { "s" }
    ))
}

/// Replace every value of a Secret by its size: `data` (base64, the decoded size, as
/// `kubectl describe secret` prints it), `stringData`, and the last-applied annotation.
pub fn hide_secret_data(value: &mut Value) {
    if let Some(Value::Object(data)) = value.get_mut("data") {
        for v in data.values_mut() {
            let text = v.as_str().unwrap_or_default();
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(text)
                .map_or(text.len(), |d| d.len());
            *v = size_note(bytes);
        }
    }
    if let Some(Value::Object(data)) = value.get_mut("stringData") {
        for v in data.values_mut() {
            *v = size_note(v.as_str().map_or(0, str::len));
        }
    }
    if let Some(Value::Object(ann)) = value.pointer_mut("/metadata/annotations")
        && let Some(v) = ann.get_mut(LAST_APPLIED)
    {
        *v = size_note(v.as_str().map_or(0, str::len));
    }
}

/// YAML as kubectl prints it: block style, keys sorted (serde_json's map is ordered, as
/// kubectl's unstructured map is when it writes YAML), multi-line strings as literal blocks.
pub fn to_yaml(value: &Value) -> String {
    match serde_saphyr::to_string(value) {
        Ok(text) => text,
        // A serde_json::Value always serializes; keep a readable fallback all the same.
        Err(e) => {
            format!("# berth could not write this object as YAML ({e}); as JSON:\n{value:#}\n")
        }
    }
}

/// Why an object could not be read, in the apiserver's words.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("{message}")]
    Api { code: u16, message: String },
    #[error("{0}")]
    Other(String),
}

impl FetchError {
    pub fn hint(&self) -> &'static str {
        match self {
            Self::Api { code: 404, .. } => {
                "it may have been deleted or renamed: check the name and namespace"
            }
            Self::Api { code: 403, .. } => {
                "your identity may not read it: ask for `get` on this resource"
            }
            Self::Api { .. } => "the apiserver refused the read",
            Self::Other(_) => "check the cluster connection (status bar) and retry",
        }
    }
}

/// Read one object (`GET`, as `kubectl get -o yaml` does).
pub async fn fetch(client: &Client, target: &ObjectTarget) -> Result<Manifest, FetchError> {
    let resource = target.kind.resource();
    let api: Api<DynamicObject> = if target.kind.namespaced {
        Api::namespaced_with(client.clone(), &target.namespace, &resource)
    } else {
        Api::all_with(client.clone(), &resource)
    };
    let object = api.get(&target.name).await.map_err(|e| match e {
        kube::Error::Api(s) => FetchError::Api {
            code: s.code,
            message: s.message,
        },
        other => FetchError::Other(other.to_string()),
    })?;
    let mut value = serde_json::to_value(&object).map_err(|e| FetchError::Other(e.to_string()))?;
    // DynamicObject serializes its type fields from what the server sent; a list of one kind
    // can leave them out, and kubectl prints them: fill them in.
    if let Some(map) = value.as_object_mut() {
        map.entry("apiVersion")
            .or_insert_with(|| Value::String(target.kind.api_version()));
        map.entry("kind")
            .or_insert_with(|| Value::String(target.kind.kind.to_owned()));
    }
    Ok(Manifest::from_value(target.kind, value))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn kinds_are_found_by_every_name_kubectl_takes() {
        for word in ["pod", "pods", "po", "Pod", "PODS"] {
            assert_eq!(KindInfo::find(word).unwrap().kind, "Pod", "{word}");
        }
        assert_eq!(KindInfo::find("deploy").unwrap().kind, "Deployment");
        assert_eq!(
            KindInfo::find("deployments.apps").unwrap().kind,
            "Deployment"
        );
        assert!(KindInfo::find("deployments.batch").is_none());
        assert_eq!(KindInfo::find("ReplicaSet").unwrap().plural, "replicasets");
        assert_eq!(KindInfo::find("sa").unwrap().kind, "ServiceAccount");
        assert!(KindInfo::find("widgets").is_none());
        // Every kind is found by its own kind, plural and names.
        for k in KINDS {
            assert_eq!(KindInfo::find(k.kind), Some(k));
            assert_eq!(KindInfo::find(k.plural), Some(k));
            for n in k.names {
                assert_eq!(KindInfo::find(n), Some(k), "{n}");
            }
        }
    }

    #[test]
    fn targets_parse_and_errors_name_the_mistake() {
        let t = ObjectTarget::parse("secret/acr-pull", "shop").unwrap();
        assert_eq!(
            (t.kind.kind, t.namespace.as_str(), t.name.as_str()),
            ("Secret", "shop", "acr-pull")
        );
        assert_eq!(t.label(), "secret/acr-pull");
        let t = ObjectTarget::parse("node kind-worker", "shop").unwrap();
        assert_eq!((t.kind.kind, t.namespace.as_str()), ("Node", ""));
        let e = ObjectTarget::parse("widget/x", "shop").unwrap_err();
        assert!(e.contains("\"widget\"") && e.contains("secret"), "{e}");
        let e = ObjectTarget::parse("web", "shop").unwrap_err();
        assert!(e.contains("KIND/NAME"), "{e}");
        assert!(ObjectTarget::parse("pod/", "shop").is_err());
    }

    fn secret() -> Value {
        json!({
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {
                "name": "acr-pull",
                "namespace": "shop",
                "uid": "u-1",
                "resourceVersion": "42",
                "annotations": {
                    LAST_APPLIED: "{\"data\":{\"password\":\"aHVudGVyMg==\"}}",
                    "team": "payments"
                },
                "managedFields": [{"manager": "kubectl", "operation": "Update"}]
            },
            "type": "Opaque",
            "data": {"password": "aHVudGVyMg==", ".dockerconfigjson": "e30="},
            "stringData": {"token": "s3cr3t-token"}
        })
    }

    #[test]
    fn a_secret_shows_its_keys_and_sizes_never_its_data() {
        let kind = KindInfo::find("secret").unwrap();
        let m = Manifest::from_value(kind, secret());
        for text in [&m.yaml, &m.yaml_full] {
            for leaked in ["aHVudGVyMg", "hunter2", "e30=", "s3cr3t-token", "{\"data\""] {
                assert!(!text.contains(leaked), "{leaked} in:\n{text}");
            }
            assert!(
                text.contains("  password: \"<hidden: 7 bytes>\"\n"),
                "{text}"
            );
            assert!(
                text.contains(".dockerconfigjson:") && text.contains("<hidden: 2 bytes>"),
                "{text}"
            );
            assert!(text.contains("<hidden: 12 bytes>"), "{text}");
            assert!(text.contains("team: payments"), "{text}");
        }
        assert_eq!((m.uid.as_str(), m.resource_version.as_str()), ("u-1", "42"));
    }

    #[test]
    fn managed_fields_only_when_asked() {
        let kind = KindInfo::find("pod").unwrap();
        let mut v = secret();
        v["kind"] = json!("Pod");
        let m = Manifest::from_value(kind, v);
        assert!(!m.yaml.contains("managedFields"), "{}", m.yaml);
        assert!(m.yaml_full.contains("managedFields"), "{}", m.yaml_full);
        assert!(m.text(true).contains("manager: kubectl"));
        // Not a Secret: nothing is hidden.
        assert!(m.yaml.contains("aHVudGVyMg=="));
    }

    #[test]
    fn yaml_is_block_style_and_keeps_multi_line_strings_readable() {
        let v = json!({
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "app", "labels": {}},
            "data": {"app.conf": "listen 80\nroot /srv\n", "empty": "", "port": "8080", "yes": "true"}
        });
        let y = to_yaml(&v);
        assert!(y.starts_with("apiVersion: v1\n"), "{y}");
        assert!(
            y.contains("\nmetadata:\n  labels: {}\n  name: app\n"),
            "{y}"
        );
        // Strings that look like numbers or booleans stay strings.
        assert!(y.contains("  port: \"8080\"\n"), "{y}");
        assert!(y.contains("  \"yes\": \"true\"\n"), "{y}");
        // A multi-line string is a literal block, as kubectl writes it.
        assert!(
            y.contains("  app.conf: |\n    listen 80\n    root /srv\n"),
            "{y}"
        );
        // Round trip: the YAML says what the JSON says.
        let back: Value = serde_saphyr::from_str(&y).unwrap();
        assert_eq!(back, v, "{y}");
    }
}
