//! Who owns a workload: Helm, Argo CD or Flux, read from the labels and annotations those tools
//! put on what they apply. A change made beside its owner is reverted by it (Argo CD's self-heal
//! or next sync, Flux's next reconciliation, Helm's next upgrade), so berth warns before it, and
//! the headless commands refuse without `--force-unmanaged`.
//!
//! The marks, strongest first (the first that matches names the owner; the others present are
//! listed in [`Owner::also`]):
//!
//! 1. Flux helm-controller: labels `helm.toolkit.fluxcd.io/name` / `…/namespace` (the HelmRelease;
//!    it installs a Helm release, so Helm's marks are there too).
//! 2. Flux kustomize-controller: labels `kustomize.toolkit.fluxcd.io/name` / `…/namespace`.
//! 3. Argo CD's tracking annotation `argocd.argoproj.io/tracking-id`, `APP:GROUP/KIND:NS/NAME`
//!    (the default tracking method from Argo CD 3.0; with applications in any namespace, APP is
//!    `APPNAMESPACE_APPNAME`). Argo CD splits it at the first two `:` and wants `GROUP/KIND` and
//!    `NS/NAME`; a value of another shape is not a tracking id (Argo CD ignores it too).
//! 4. Helm 3.2+: annotations `meta.helm.sh/release-name` / `meta.helm.sh/release-namespace`
//!    (with the label `app.kubernetes.io/managed-by: Helm`), written by `helm install|upgrade`.
//! 5. Argo CD's label tracking with the label key most often configured instead of the default,
//!    `argocd.argoproj.io/instance`.
//! 6. `app.kubernetes.io/instance` without Helm's marks: Argo CD's default tracking label before
//!    3.0 — but any tool may set this common label, so the owner is only likely (`certain: false`).
//! 7. `app.kubernetes.io/managed-by: Helm` alone: rendered from a chart (`helm template`, Helm
//!    before 3.2, or Argo CD rendering a chart, in which case `app.kubernetes.io/instance` is
//!    usually the application); the release is named after the instance label, if any.

use std::collections::BTreeMap;

use serde::Serialize;

pub const MANAGED_BY: &str = "app.kubernetes.io/managed-by";
pub const INSTANCE: &str = "app.kubernetes.io/instance";
pub const HELM_RELEASE_NAME: &str = "meta.helm.sh/release-name";
pub const HELM_RELEASE_NAMESPACE: &str = "meta.helm.sh/release-namespace";
pub const ARGO_TRACKING_ID: &str = "argocd.argoproj.io/tracking-id";
pub const ARGO_INSTANCE: &str = "argocd.argoproj.io/instance";
pub const FLUX_KUSTOMIZATION_NAME: &str = "kustomize.toolkit.fluxcd.io/name";
pub const FLUX_KUSTOMIZATION_NAMESPACE: &str = "kustomize.toolkit.fluxcd.io/namespace";
pub const FLUX_HELMRELEASE_NAME: &str = "helm.toolkit.fluxcd.io/name";
pub const FLUX_HELMRELEASE_NAMESPACE: &str = "helm.toolkit.fluxcd.io/namespace";

/// The tool that owns a workload, and which of its objects.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Manager {
    /// A Helm release.
    Helm,
    /// An Argo CD Application.
    ArgoCd,
    /// A Flux Kustomization (kustomize-controller).
    FluxKustomization,
    /// A Flux HelmRelease (helm-controller).
    FluxHelmRelease,
}

impl Manager {
    /// The tool, as its users write it.
    pub fn tool(self) -> &'static str {
        match self {
            Manager::Helm => "Helm",
            Manager::ArgoCd => "Argo CD",
            Manager::FluxKustomization | Manager::FluxHelmRelease => "Flux",
        }
    }

    /// What the owning object is called in that tool.
    pub fn object(self) -> &'static str {
        match self {
            Manager::Helm => "release",
            Manager::ArgoCd => "application",
            Manager::FluxKustomization => "Kustomization",
            Manager::FluxHelmRelease => "HelmRelease",
        }
    }

    /// A short tag for narrow columns (`helm`, `argocd`, `flux`).
    pub fn short(self) -> &'static str {
        match self {
            Manager::Helm => "helm",
            Manager::ArgoCd => "argocd",
            Manager::FluxKustomization | Manager::FluxHelmRelease => "flux",
        }
    }
}

/// Who owns a workload, and the marks that say so.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Owner {
    pub manager: Manager,
    /// The release, application, Kustomization or HelmRelease, when the marks name it.
    pub name: Option<String>,
    /// Its namespace, when the marks say it (Helm: the release's; Argo CD: the Application's,
    /// only with applications in any namespace; Flux: the Kustomization's or HelmRelease's).
    pub namespace: Option<String>,
    /// False when read from marks other tools set too (`app.kubernetes.io/instance`, or
    /// `app.kubernetes.io/managed-by: Helm` without Helm's annotations).
    pub certain: bool,
    /// The labels and annotations read, as `label KEY=VALUE` / `annotation KEY=VALUE`.
    pub evidence: Vec<String>,
    /// Other owners whose marks are there as well (the Helm release a Flux HelmRelease
    /// installed; an Argo CD instance label beside a Helm release of another name).
    pub also: Vec<String>,
}

/// The mutations that go behind an owner's back.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum OwnedAction {
    SetImage,
    Undo,
    Restart,
}

impl OwnedAction {
    pub fn verb(self) -> &'static str {
        match self {
            OwnedAction::SetImage => "set-image",
            OwnedAction::Undo => "undo",
            OwnedAction::Restart => "restart",
        }
    }
}

/// What berth tells before acting on a managed workload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OwnerWarning {
    /// Who owns it and what becomes of the change.
    pub headline: String,
    /// What to do instead.
    pub instead: String,
}

fn get<'a>(m: &'a BTreeMap<String, String>, key: &str) -> Option<&'a str> {
    m.get(key).map(|v| v.trim()).filter(|v| !v.is_empty())
}

/// An Argo CD tracking id, `APP:GROUP/KIND:NS/NAME`, read as Argo CD reads it (split at the first
/// two ':'; the group is empty for core kinds). `Some((app, app_namespace, target))`.
pub fn parse_tracking_id(v: &str) -> Option<(String, Option<String>, String)> {
    let mut parts = v.splitn(3, ':');
    let app = parts.next()?;
    let group_kind = parts.next()?;
    let ns_name = parts.next()?;
    if app.is_empty()
        || group_kind.split('/').count() != 2
        || ns_name.split('/').count() != 2
        || group_kind.split('/').nth(1).is_some_and(str::is_empty)
        || ns_name.split('/').nth(1).is_some_and(str::is_empty)
    {
        return None;
    }
    // Kubernetes names have no '_', so one separates an Application's namespace from its name.
    let (app_ns, app_name) = match app.split_once('_') {
        Some((ns, name)) if !ns.is_empty() && !name.is_empty() => (Some(ns.to_owned()), name),
        _ => (None, app),
    };
    Some((
        app_name.to_owned(),
        app_ns,
        format!("{group_kind}:{ns_name}"),
    ))
}

/// Who owns an object with these labels and annotations; `None` when no tool's marks are there.
/// Pure: reads nothing else (see the module documentation for the order).
pub fn detect_owner(
    labels: &BTreeMap<String, String>,
    annotations: &BTreeMap<String, String>,
) -> Option<Owner> {
    let label = |k: &str| get(labels, k);
    let annotation = |k: &str| get(annotations, k);
    let l = |k: &str| label(k).map(|v| format!("label {k}={v}"));
    let a = |k: &str| annotation(k).map(|v| format!("annotation {k}={v}"));

    let managed_by_helm = label(MANAGED_BY).is_some_and(|v| v.eq_ignore_ascii_case("Helm"));
    let instance = label(INSTANCE);
    let helm_release = annotation(HELM_RELEASE_NAME);
    let helm_namespace = annotation(HELM_RELEASE_NAMESPACE);
    let tracking = annotation(ARGO_TRACKING_ID);
    let tracked = tracking.and_then(parse_tracking_id);

    let mut found: Vec<Owner> = Vec::new();
    let flux = |m: Manager, name_key: &str, ns_key: &str| -> Option<Owner> {
        let name = label(name_key);
        let ns = label(ns_key);
        (name.is_some() || ns.is_some()).then(|| Owner {
            manager: m,
            name: name.map(str::to_owned),
            namespace: ns.map(str::to_owned),
            certain: name.is_some(),
            evidence: [l(name_key), l(ns_key)].into_iter().flatten().collect(),
            also: Vec::new(),
        })
    };
    found.extend(flux(
        Manager::FluxHelmRelease,
        FLUX_HELMRELEASE_NAME,
        FLUX_HELMRELEASE_NAMESPACE,
    ));
    found.extend(flux(
        Manager::FluxKustomization,
        FLUX_KUSTOMIZATION_NAME,
        FLUX_KUSTOMIZATION_NAMESPACE,
    ));
    if let Some((app, app_ns, _target)) = &tracked {
        found.push(Owner {
            manager: Manager::ArgoCd,
            name: Some(app.clone()),
            namespace: app_ns.clone(),
            certain: true,
            evidence: a(ARGO_TRACKING_ID).into_iter().collect(),
            also: Vec::new(),
        });
    }
    if helm_release.is_some() || helm_namespace.is_some() {
        found.push(Owner {
            manager: Manager::Helm,
            name: helm_release.map(str::to_owned),
            namespace: helm_namespace.map(str::to_owned),
            certain: helm_release.is_some(),
            evidence: [
                l(MANAGED_BY),
                a(HELM_RELEASE_NAME),
                a(HELM_RELEASE_NAMESPACE),
            ]
            .into_iter()
            .flatten()
            .collect(),
            also: Vec::new(),
        });
    }
    if let Some(app) = label(ARGO_INSTANCE) {
        found.push(Owner {
            manager: Manager::ArgoCd,
            name: Some(app.to_owned()),
            namespace: None,
            certain: true,
            evidence: l(ARGO_INSTANCE).into_iter().collect(),
            also: Vec::new(),
        });
    }
    let helm_marked = managed_by_helm || helm_release.is_some() || helm_namespace.is_some();
    match instance {
        // Without Helm's marks the instance label is Argo CD's (label tracking), or a
        // hand-written convention: likely, not certain.
        Some(app) if !helm_marked => found.push(Owner {
            manager: Manager::ArgoCd,
            name: Some(app.to_owned()),
            namespace: None,
            certain: false,
            evidence: l(INSTANCE).into_iter().collect(),
            also: Vec::new(),
        }),
        // A chart's own instance label names its release; a different name beside a Helm
        // release is an Argo CD application that took the resource over.
        Some(app) if helm_release.is_some_and(|r| r != app) => found.push(Owner {
            manager: Manager::ArgoCd,
            name: Some(app.to_owned()),
            namespace: None,
            certain: false,
            evidence: l(INSTANCE).into_iter().collect(),
            also: Vec::new(),
        }),
        _ => {}
    }
    if managed_by_helm && helm_release.is_none() && helm_namespace.is_none() {
        found.push(Owner {
            manager: Manager::Helm,
            name: instance.map(str::to_owned),
            namespace: None,
            certain: false,
            evidence: [l(MANAGED_BY), l(INSTANCE)].into_iter().flatten().collect(),
            also: if let Some(app) = instance {
                vec![format!(
                    "Argo CD application {app}, if Argo CD renders this chart (its default \
                     tracking label is {INSTANCE})"
                )]
            } else {
                Vec::new()
            },
        });
    }
    if let Some(v) = tracking
        && tracked.is_none()
    {
        // Argo CD ignores a malformed tracking id; say that it is there all the same.
        for o in &mut found {
            o.also.push(format!(
                "a malformed {ARGO_TRACKING_ID} annotation {v:?} (Argo CD wants \
                 APP:GROUP/KIND:NAMESPACE/NAME and ignores this one)"
            ));
        }
    }
    let mut it = found.into_iter();
    let mut owner = it.next()?;
    for other in it {
        // The same tool and object seen twice (a tracking id and an instance label of the
        // same application) is one owner.
        if other.manager == owner.manager && (other.name == owner.name || other.name.is_none()) {
            for e in other.evidence {
                if !owner.evidence.contains(&e) {
                    owner.evidence.push(e);
                }
            }
            continue;
        }
        let what = other.describe();
        if !owner.also.contains(&what) {
            owner.also.push(what);
        }
    }
    Some(owner)
}

impl Owner {
    /// `Helm release web (namespace shop)`, `Argo CD application shop-web`, `Flux
    /// Kustomization apps (namespace flux-system)`.
    pub fn describe(&self) -> String {
        let mut s = format!("{} {}", self.manager.tool(), self.manager.object());
        match &self.name {
            Some(n) => {
                s.push(' ');
                s.push_str(n);
            }
            None => s.push_str(" (name not in its marks)"),
        }
        if let Some(ns) = &self.namespace {
            s.push_str(&format!(" (namespace {ns})"));
        }
        s
    }

    /// `helm:web`, `argocd:shop-web?` (`?`: not certain), `flux:apps`.
    pub fn short_label(&self) -> String {
        format!(
            "{}:{}{}",
            self.manager.short(),
            self.name.as_deref().unwrap_or("?"),
            if self.certain { "" } else { "?" }
        )
    }

    /// `managed by Helm release web (namespace shop)`, or `probably managed by …` when not certain.
    pub fn managed_by(&self) -> String {
        format!(
            "{}managed by {}",
            if self.certain { "" } else { "probably " },
            self.describe()
        )
    }

    fn name_or(&self, placeholder: &str) -> String {
        self.name.clone().unwrap_or_else(|| placeholder.to_owned())
    }

    fn ns_or(&self, fallback: &str) -> String {
        self.namespace
            .clone()
            .unwrap_or_else(|| fallback.to_owned())
    }

    /// What happens to `action` on `workload` (`deploy/web`, in namespace `ns`) and what to do
    /// instead, naming the owner.
    pub fn warning(&self, action: OwnedAction, workload: &str, ns: &str) -> OwnerWarning {
        let tool = self.manager.tool();
        let fate = match (self.manager, action) {
            (_, OwnedAction::Restart) => format!(
                "{tool} does not undo a restart (the restartedAt annotation is not in its \
                 manifests), but the restart is made outside {tool}"
            ),
            (Manager::Helm, _) => format!(
                "the next helm upgrade or rollback of {} puts the chart's template back, \
                 reverting this {}",
                self.name_or("the release"),
                action.verb()
            ),
            (Manager::ArgoCd, _) => format!(
                "Argo CD reverts this {} to what Git says at its next sync (within minutes \
                 with automated sync and self-heal)",
                action.verb()
            ),
            (Manager::FluxKustomization, _) => format!(
                "Flux reverts this {} to what Git says at the Kustomization's next \
                 reconciliation (its interval)",
                action.verb()
            ),
            (Manager::FluxHelmRelease, _) => format!(
                "Flux reverts this {} at the HelmRelease's next upgrade (at once with drift \
                 detection enabled)",
                action.verb()
            ),
        };
        let headline = format!("{workload} is {}: {fate}", self.managed_by());
        let name = self.name_or("NAME");
        let instead = match (self.manager, action) {
            (Manager::Helm, OwnedAction::SetImage) => format!(
                "helm upgrade {name} CHART -n {} --reuse-values --set <the chart's image \
                 value>=TAG (see helm get values {name} -n {})",
                self.ns_or(ns),
                self.ns_or(ns)
            ),
            (Manager::Helm, OwnedAction::Undo) => format!(
                "helm rollback {name} [REVISION] -n {} (helm history {name} -n {} lists them)",
                self.ns_or(ns),
                self.ns_or(ns)
            ),
            (Manager::Helm, OwnedAction::Restart) => format!(
                "a restart is safe beside Helm; to restart through the chart, change a pod \
                 annotation value and helm upgrade {name} -n {}",
                self.ns_or(ns)
            ),
            (Manager::ArgoCd, OwnedAction::SetImage) => format!(
                "change the image in Git and let Argo CD sync application {name} (argocd app \
                 sync {name}); for an emergency change, turn off automated sync first \
                 (argocd app set {name} --sync-policy none)"
            ),
            (Manager::ArgoCd, OwnedAction::Undo) => format!(
                "revert the commit in Git and let Argo CD sync, or argocd app rollback {name} \
                 [ID] (automated sync must be off)"
            ),
            (Manager::ArgoCd, OwnedAction::Restart) => {
                let (kind, res) = workload.split_once('/').unwrap_or(("deploy", workload));
                let kind = match kind {
                    "sts" | "statefulset" => "StatefulSet",
                    "ds" | "daemonset" => "DaemonSet",
                    _ => "Deployment",
                };
                format!("argocd app actions run {name} restart --kind {kind} --resource-name {res}")
            }
            (Manager::FluxKustomization | Manager::FluxHelmRelease, a) => {
                let obj = if self.manager == Manager::FluxKustomization {
                    "kustomization"
                } else {
                    "helmrelease"
                };
                let flux_ns = self.ns_or("flux-system");
                match a {
                    OwnedAction::Restart => format!(
                        "a restart is safe beside Flux; to go through Flux, change the manifest \
                         in Git and flux reconcile {obj} {name} -n {flux_ns}"
                    ),
                    _ => format!(
                        "change it in Git and let Flux apply it (flux reconcile {obj} {name} -n \
                         {flux_ns}); for an emergency change, flux suspend {obj} {name} -n \
                         {flux_ns} first, and resume it once Git has the change"
                    ),
                }
            }
        };
        OwnerWarning { headline, instead }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(kv: &[(&str, &str)]) -> BTreeMap<String, String> {
        kv.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn owner(labels: &[(&str, &str)], annotations: &[(&str, &str)]) -> Option<Owner> {
        detect_owner(&map(labels), &map(annotations))
    }

    #[test]
    fn nothing_marked_has_no_owner() {
        assert_eq!(owner(&[], &[]), None);
        assert_eq!(
            owner(
                &[("app", "web"), ("app.kubernetes.io/name", "web")],
                &[("kubectl.kubernetes.io/last-applied-configuration", "{}")]
            ),
            None
        );
        // Another manager than Helm is no owner berth knows.
        assert_eq!(owner(&[(MANAGED_BY, "kustomize")], &[]), None);
        // Empty values are no marks.
        assert_eq!(owner(&[(INSTANCE, " ")], &[(HELM_RELEASE_NAME, "")]), None);
    }

    #[test]
    fn helm_release_from_its_annotations() {
        let o = owner(
            &[(MANAGED_BY, "Helm"), (INSTANCE, "web")],
            &[(HELM_RELEASE_NAME, "web"), (HELM_RELEASE_NAMESPACE, "shop")],
        )
        .unwrap();
        assert_eq!(o.manager, Manager::Helm);
        assert_eq!(o.name.as_deref(), Some("web"));
        assert_eq!(o.namespace.as_deref(), Some("shop"));
        assert!(o.certain);
        assert!(o.also.is_empty(), "{:?}", o.also);
        assert_eq!(o.describe(), "Helm release web (namespace shop)");
        assert_eq!(o.short_label(), "helm:web");
        assert!(
            o.evidence
                .contains(&"annotation meta.helm.sh/release-name=web".to_owned())
        );
    }

    #[test]
    fn helm_partial_marks() {
        // The annotations without the label (someone removed it): still the release.
        let o = owner(&[], &[(HELM_RELEASE_NAME, "web")]).unwrap();
        assert_eq!((o.manager, o.certain), (Manager::Helm, true));
        assert_eq!(o.namespace, None);
        // Only the namespace annotation: Helm, release unknown.
        let o = owner(&[], &[(HELM_RELEASE_NAMESPACE, "shop")]).unwrap();
        assert_eq!((o.manager, o.certain), (Manager::Helm, false));
        assert_eq!(
            o.describe(),
            "Helm release (name not in its marks) (namespace shop)"
        );
        // Only the label: rendered from a chart; no release known.
        let o = owner(&[(MANAGED_BY, "Helm")], &[]).unwrap();
        assert_eq!(
            (o.manager, o.certain, o.name.clone()),
            (Manager::Helm, false, None)
        );
        assert_eq!(o.short_label(), "helm:??");
        // Helm writes "Helm"; other spellings are read too.
        assert!(owner(&[(MANAGED_BY, "helm")], &[]).is_some());
    }

    #[test]
    fn chart_labels_without_helm_annotations_are_ambiguous() {
        // `helm template` output, Helm < 3.2, or Argo CD rendering the chart: Helm (by the
        // label), the release named by the instance label, Argo CD mentioned.
        let o = owner(&[(MANAGED_BY, "Helm"), (INSTANCE, "web")], &[]).unwrap();
        assert_eq!(o.manager, Manager::Helm);
        assert_eq!(o.name.as_deref(), Some("web"));
        assert!(!o.certain);
        assert_eq!(o.also.len(), 1);
        assert!(
            o.also[0].starts_with("Argo CD application web"),
            "{:?}",
            o.also
        );
        assert_eq!(o.managed_by(), "probably managed by Helm release web");
    }

    #[test]
    fn argo_cd_tracking_id() {
        let o = owner(
            &[],
            &[(ARGO_TRACKING_ID, "shop-web:apps/Deployment:shop/web")],
        )
        .unwrap();
        assert_eq!(o.manager, Manager::ArgoCd);
        assert_eq!(o.name.as_deref(), Some("shop-web"));
        assert_eq!(o.namespace, None);
        assert!(o.certain);
        assert_eq!(o.describe(), "Argo CD application shop-web");
        // Core kinds have an empty group.
        assert_eq!(
            parse_tracking_id("cfg:/ConfigMap:shop/settings"),
            Some(("cfg".into(), None, "/ConfigMap:shop/settings".into()))
        );
        // Applications in any namespace: APPNAMESPACE_APPNAME.
        let o = owner(
            &[],
            &[(ARGO_TRACKING_ID, "team-a_web:apps/Deployment:shop/web")],
        )
        .unwrap();
        assert_eq!(o.name.as_deref(), Some("web"));
        assert_eq!(o.namespace.as_deref(), Some("team-a"));
    }

    #[test]
    fn argo_cd_tracking_id_wins_over_its_informational_label() {
        // annotation+label: the label is informational (and may be cut at 63 characters).
        let o = owner(
            &[(INSTANCE, "shop-web")],
            &[(ARGO_TRACKING_ID, "shop-web:apps/Deployment:shop/web")],
        )
        .unwrap();
        assert_eq!(o.manager, Manager::ArgoCd);
        assert!(o.certain);
        assert!(o.also.is_empty(), "the same app seen twice: {:?}", o.also);
        assert_eq!(o.evidence.len(), 2);
    }

    #[test]
    fn malformed_tracking_ids_are_not_tracking_ids() {
        for bad in [
            "shop-web",
            "shop-web:apps/Deployment",
            "shop-web:Deployment:shop/web",
            "shop-web:apps/Deployment:web",
            ":apps/Deployment:shop/web",
            "a:apps/Deployment:shop/",
        ] {
            assert_eq!(parse_tracking_id(bad), None, "{bad}");
        }
        // Nothing else: no owner, as for Argo CD.
        assert_eq!(owner(&[], &[(ARGO_TRACKING_ID, "shop-web")]), None);
        // With the instance label: the label decides, and the bad annotation is named.
        let o = owner(&[(INSTANCE, "shop-web")], &[(ARGO_TRACKING_ID, "shop-web")]).unwrap();
        assert_eq!((o.manager, o.certain), (Manager::ArgoCd, false));
        assert!(
            o.also.iter().any(|a| a.contains("malformed")),
            "{:?}",
            o.also
        );
    }

    #[test]
    fn argo_cd_instance_labels() {
        // The default tracking label before Argo CD 3.0: likely, not certain.
        let o = owner(&[(INSTANCE, "shop-web")], &[]).unwrap();
        assert_eq!((o.manager, o.certain), (Manager::ArgoCd, false));
        assert_eq!(o.short_label(), "argocd:shop-web?");
        // The custom key the docs suggest: Argo CD's own.
        let o = owner(&[(ARGO_INSTANCE, "shop-web")], &[]).unwrap();
        assert_eq!((o.manager, o.certain), (Manager::ArgoCd, true));
    }

    #[test]
    fn argo_cd_over_an_adopted_helm_release() {
        // Installed with Helm, then taken over by an Argo CD application: Argo CD reverts first.
        let o = owner(
            &[(MANAGED_BY, "Helm")],
            &[
                (HELM_RELEASE_NAME, "web"),
                (ARGO_TRACKING_ID, "shop:apps/Deployment:shop/web"),
            ],
        )
        .unwrap();
        assert_eq!(o.manager, Manager::ArgoCd);
        assert_eq!(o.also, vec!["Helm release web".to_owned()]);
        // A Helm release with an instance label of another name: Helm, Argo CD named beside.
        let o = owner(
            &[(MANAGED_BY, "Helm"), (INSTANCE, "shop")],
            &[(HELM_RELEASE_NAME, "web")],
        )
        .unwrap();
        assert_eq!(o.manager, Manager::Helm);
        assert_eq!(o.also, vec!["Argo CD application shop".to_owned()]);
    }

    #[test]
    fn flux_kustomization() {
        let o = owner(
            &[
                (FLUX_KUSTOMIZATION_NAME, "apps"),
                (FLUX_KUSTOMIZATION_NAMESPACE, "flux-system"),
            ],
            &[],
        )
        .unwrap();
        assert_eq!(o.manager, Manager::FluxKustomization);
        assert_eq!(
            o.describe(),
            "Flux Kustomization apps (namespace flux-system)"
        );
        assert_eq!(o.short_label(), "flux:apps");
        // The name without its namespace.
        let o = owner(&[(FLUX_KUSTOMIZATION_NAME, "apps")], &[]).unwrap();
        assert_eq!((o.certain, o.namespace.clone()), (true, None));
        // The namespace alone: Flux, name unknown.
        let o = owner(&[(FLUX_KUSTOMIZATION_NAMESPACE, "flux-system")], &[]).unwrap();
        assert_eq!((o.manager, o.certain), (Manager::FluxKustomization, false));
    }

    #[test]
    fn flux_helm_release_over_the_helm_release_it_installs() {
        let o = owner(
            &[
                (MANAGED_BY, "Helm"),
                (INSTANCE, "shop-web"),
                (FLUX_HELMRELEASE_NAME, "web"),
                (FLUX_HELMRELEASE_NAMESPACE, "shop"),
            ],
            &[
                (HELM_RELEASE_NAME, "shop-web"),
                (HELM_RELEASE_NAMESPACE, "shop"),
            ],
        )
        .unwrap();
        assert_eq!(o.manager, Manager::FluxHelmRelease);
        assert_eq!(o.describe(), "Flux HelmRelease web (namespace shop)");
        assert_eq!(
            o.also,
            vec!["Helm release shop-web (namespace shop)".to_owned()]
        );
    }

    #[test]
    fn warnings_name_the_owner_and_the_way_instead() {
        let helm = owner(
            &[(MANAGED_BY, "Helm")],
            &[(HELM_RELEASE_NAME, "web"), (HELM_RELEASE_NAMESPACE, "shop")],
        )
        .unwrap();
        let w = helm.warning(OwnedAction::SetImage, "deploy/web", "shop");
        assert!(
            w.headline.contains("managed by Helm release web"),
            "{}",
            w.headline
        );
        assert!(
            w.headline.contains("reverting this set-image"),
            "{}",
            w.headline
        );
        assert!(
            w.instead
                .starts_with("helm upgrade web CHART -n shop --reuse-values --set")
        );
        let w = helm.warning(OwnedAction::Undo, "deploy/web", "shop");
        assert!(w.instead.starts_with("helm rollback web"), "{}", w.instead);
        // A restart is not reverted, and the text says so.
        let w = helm.warning(OwnedAction::Restart, "deploy/web", "shop");
        assert!(
            w.headline.contains("does not undo a restart"),
            "{}",
            w.headline
        );

        let argo = owner(
            &[],
            &[(ARGO_TRACKING_ID, "shop-web:apps/StatefulSet:shop/db")],
        )
        .unwrap();
        let w = argo.warning(OwnedAction::SetImage, "sts/db", "shop");
        assert!(
            w.headline.contains("Argo CD reverts this set-image"),
            "{}",
            w.headline
        );
        assert!(
            w.instead.contains("change the image in Git"),
            "{}",
            w.instead
        );
        let w = argo.warning(OwnedAction::Restart, "sts/db", "shop");
        assert_eq!(
            w.instead,
            "argocd app actions run shop-web restart --kind StatefulSet --resource-name db"
        );

        let flux = owner(&[(FLUX_KUSTOMIZATION_NAME, "apps")], &[]).unwrap();
        let w = flux.warning(OwnedAction::Undo, "deploy/web", "shop");
        assert!(
            w.headline.contains("Flux reverts this undo"),
            "{}",
            w.headline
        );
        assert!(
            w.instead
                .contains("flux suspend kustomization apps -n flux-system"),
            "{}",
            w.instead
        );
    }
}
