//! What the gatherer reads from the cluster for one pod: its events, service account, pull
//! secrets (read the way the node reads them), the namespace's other docker-config secrets,
//! its node's platform, and the workload that owns it.

use std::collections::BTreeSet;

use k8s_openapi::api::apps::v1::ReplicaSet;
use k8s_openapi::api::core::v1::{Event, Node, Pod, Secret as KubeSecret, ServiceAccount};
use kube::api::ListParams;
use kube::{Api, Client};

use crate::cluster::convert::event_row;
use crate::cluster::model::{EventRow, PodRow};
use crate::cluster::pull_secret::{DockerConfig, PullSecretError};

use super::facts::{NodeFacts, Workload};
use super::gather::{GatherError, kube_err};
use super::secrets::{DockerEntry, SecretInput};

pub(super) async fn pod_events(
    client: &Client,
    pod: &PodRow,
) -> Result<Vec<EventRow>, GatherError> {
    let api: Api<Event> = Api::namespaced(client.clone(), &pod.namespace);
    let lp = ListParams::default().fields(&format!("involvedObject.uid={}", pod.uid));
    let mut rows: Vec<EventRow> = api
        .list(&lp)
        .await
        .map_err(kube_err(format!(
            "list the events of pod {}/{}",
            pod.namespace, pod.name
        )))?
        .items
        .iter()
        .map(event_row)
        .collect();
    rows.sort_by_key(|e| e.last_seen);
    Ok(rows)
}

/// What every failing container of one pod shares: service account, secrets, node, owner.
pub(super) struct PodContext {
    pub(super) service_account_secrets: Vec<String>,
    pub(super) secrets: Vec<(String, SecretInput)>,
    /// Docker-config secrets of the namespace, for "exists but not attached".
    pub(super) namespace_secrets: Vec<(String, DockerConfig)>,
    pub(super) node: Option<NodeFacts>,
    pub(super) owner: Option<Workload>,
    pub(super) gaps: Vec<String>,
}

impl PodContext {
    pub(super) async fn read(client: &Client, pod: &Pod, row: &PodRow) -> Self {
        let ns = row.namespace.as_str();
        let mut gaps = Vec::new();

        let sas: Api<ServiceAccount> = Api::namespaced(client.clone(), ns);
        let service_account_secrets = match sas.get_opt(&row.service_account).await {
            Ok(Some(sa)) => sa
                .image_pull_secrets
                .unwrap_or_default()
                .into_iter()
                .map(|r| r.name)
                .collect(),
            Ok(None) => {
                gaps.push(format!(
                    "service account {:?} does not exist in namespace {ns:?}",
                    row.service_account
                ));
                Vec::new()
            }
            Err(e) => {
                gaps.push(format!(
                    "service account {:?} could not be read: {}",
                    row.service_account,
                    crate::startup::error_chain(&e)
                ));
                Vec::new()
            }
        };

        let secret_api: Api<KubeSecret> = Api::namespaced(client.clone(), ns);
        let names: BTreeSet<&String> = row
            .image_pull_secrets
            .iter()
            .chain(&service_account_secrets)
            .collect();
        let mut secrets = Vec::new();
        for name in names {
            let input = match secret_api.get_opt(name).await {
                Ok(None) => SecretInput::Missing,
                Ok(Some(s)) => secret_input(&s),
                Err(e) => SecretInput::Unreadable {
                    reason: crate::startup::error_chain(&e),
                },
            };
            secrets.push((name.clone(), input));
        }

        let mut namespace_secrets = Vec::new();
        for type_ in [
            crate::cluster::pull_secret::DOCKERCONFIGJSON_TYPE,
            crate::cluster::pull_secret::DOCKERCFG_TYPE,
        ] {
            match secret_api
                .list(&ListParams::default().fields(&format!("type={type_}")))
                .await
            {
                Ok(list) => namespace_secrets.extend(list.items.iter().filter_map(|s| {
                    Some((s.metadata.name.clone()?, DockerConfig::from_secret(s).ok()?))
                })),
                Err(e) => {
                    gaps.push(format!(
                        "the namespace's pull secrets could not be listed (to find unattached ones): {}",
                        crate::startup::error_chain(&e)
                    ));
                    break;
                }
            }
        }

        let node = match &row.node {
            Some(name) => {
                let nodes: Api<Node> = Api::all(client.clone());
                match nodes.get_opt(name).await {
                    Ok(Some(n)) => node_facts(&n),
                    Ok(None) => {
                        gaps.push(format!("node {name} no longer exists"));
                        None
                    }
                    Err(e) => {
                        gaps.push(format!(
                            "node {name} could not be read (its platform is unknown): {}",
                            crate::startup::error_chain(&e)
                        ));
                        None
                    }
                }
            }
            None => None,
        };

        let owner = owner_of(client, pod, &mut gaps).await;
        Self {
            service_account_secrets,
            secrets,
            namespace_secrets,
            node,
            owner,
            gaps,
        }
    }
}

/// Reads a secret the way the node does (`MakeDockerKeyring`): only the two docker-config
/// types count, each with its own data key; content the node cannot unmarshal is malformed.
fn secret_input(s: &KubeSecret) -> SecretInput {
    let type_ = s.type_.clone().unwrap_or_else(|| "Opaque".to_owned());
    match DockerConfig::from_secret(s) {
        Ok(cfg) => SecretInput::Entries(
            cfg.auths
                .into_iter()
                .map(|(key, a)| DockerEntry {
                    key,
                    username: Some(a.username).filter(|u| !u.is_empty()),
                    password: Some(a.password).filter(|p| !p.is_empty()),
                })
                .collect(),
        ),
        Err(PullSecretError::WrongType { type_, .. }) => SecretInput::WrongType {
            type_,
            detail: "the node reads only kubernetes.io/dockerconfigjson and kubernetes.io/dockercfg secrets"
                .to_owned(),
        },
        Err(PullSecretError::Ignored { type_, reason, .. }) => SecretInput::WrongType {
            type_,
            detail: reason,
        },
        Err(PullSecretError::Malformed { problem, .. }) => SecretInput::Malformed {
            type_,
            reason: problem,
        },
    }
}

pub(super) fn node_facts(n: &Node) -> Option<NodeFacts> {
    let info = n.status.as_ref().and_then(|s| s.node_info.as_ref());
    let labels = n.metadata.labels.as_ref();
    let label = |k: &str| labels.and_then(|l| l.get(k)).cloned();
    Some(NodeFacts {
        name: n.metadata.name.clone()?,
        os: info
            .map(|i| i.operating_system.clone())
            .or_else(|| label("kubernetes.io/os"))?,
        architecture: info
            .map(|i| i.architecture.clone())
            .or_else(|| label("kubernetes.io/arch"))?,
        aks: n
            .spec
            .as_ref()
            .and_then(|s| s.provider_id.as_deref())
            .and_then(crate::azure::aks::AksNode::from_provider_id)
            .map(|mut a| {
                a.kubelet_identity_client_id =
                    label("kubernetes.azure.com/kubelet-identity-client-id");
                a
            }),
        aks_node_resource_group: label("kubernetes.azure.com/cluster"),
    })
}

/// The controller a user acts on: a ReplicaSet's Deployment, else the pod's controller itself.
async fn owner_of(client: &Client, pod: &Pod, gaps: &mut Vec<String>) -> Option<Workload> {
    let owner = pod
        .metadata
        .owner_references
        .as_ref()?
        .iter()
        .find(|o| o.controller == Some(true))?;
    let direct = Workload {
        kind: owner.kind.clone(),
        name: owner.name.clone(),
    };
    if owner.kind != "ReplicaSet" {
        return Some(direct);
    }
    let ns = pod.metadata.namespace.as_deref().unwrap_or("default");
    let rss: Api<ReplicaSet> = Api::namespaced(client.clone(), ns);
    match rss.get_opt(&owner.name).await {
        Ok(Some(rs)) => Some(
            rs.metadata
                .owner_references
                .unwrap_or_default()
                .into_iter()
                .find(|o| o.controller == Some(true) && o.kind == "Deployment")
                .map(|o| Workload {
                    kind: o.kind,
                    name: o.name,
                })
                .unwrap_or(direct),
        ),
        Ok(None) => Some(direct),
        Err(e) => {
            gaps.push(format!(
                "replica set {} could not be read (its Deployment is unknown): {}",
                owner.name,
                crate::startup::error_chain(&e)
            ));
            Some(direct)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_read_like_the_node_reads_them() {
        use crate::cluster::pull_secret::docker_registry_secret;
        use crate::secret::Secret;
        let good = docker_registry_secret(
            "shop",
            "s",
            &DockerConfig::single("reg.io", "u", Secret::new("p")),
        );
        let SecretInput::Entries(e) = secret_input(&good) else {
            panic!()
        };
        assert_eq!(e[0].key, "reg.io");
        assert_eq!(e[0].username.as_deref(), Some("u"));
        assert_eq!(e[0].password.as_ref().map(Secret::expose), Some("p"));

        let mut opaque = good.clone();
        opaque.type_ = Some("Opaque".into());
        assert!(
            matches!(secret_input(&opaque), SecretInput::WrongType { type_, .. } if type_ == "Opaque")
        );

        let mut broken = good;
        broken.data = Some(
            [(
                ".dockerconfigjson".to_owned(),
                k8s_openapi::ByteString(br#"{"auths":{"reg.io":{"auth":"%%%"}}}"#.to_vec()),
            )]
            .into(),
        );
        assert!(matches!(
            secret_input(&broken),
            SecretInput::Malformed { .. }
        ));
    }

    /// The three cases where the real node pulled and berth said "no pull secret" or
    /// "malformed": read as the node reads them, each gives the pod's credential.
    #[test]
    fn the_real_node_cases_give_credentials() {
        use crate::diagnose::facts::CredentialUsed;
        use crate::reference::Reference;
        use base64::Engine as _;
        let secret = |content: String| KubeSecret {
            metadata: kube::api::ObjectMeta {
                namespace: Some("shop".into()),
                name: Some("s".into()),
                ..Default::default()
            },
            type_: Some(crate::cluster::pull_secret::DOCKERCONFIGJSON_TYPE.into()),
            data: Some(
                [(
                    ".dockerconfigjson".to_owned(),
                    k8s_openapi::ByteString(content.into_bytes()),
                )]
                .into(),
            ),
            ..Default::default()
        };
        let unpadded = base64::engine::general_purpose::STANDARD_NO_PAD.encode("tok:pw1");
        assert!(
            !unpadded.ends_with('='),
            "the case needs a length that pads"
        );
        let cases = [
            // `Add` strips /v2/ for every host.
            r#"{"auths":{"https://reg.io:5000/v2/":{"username":"tok","password":"pw1"}}}"#.to_owned(),
            // `decodeDockerConfigFieldAuth` decodes unpadded data with RawStdEncoding.
            format!(r#"{{"auths":{{"reg.io:5000":{{"auth":"{unpadded}"}}}}}}"#),
            // An entry with only an email is an entry with empty credentials, not an error.
            r#"{"auths":{"other.io":{"email":"ops@example.com"},"reg.io:5000":{"username":"tok","password":"pw1"}}}"#.to_owned(),
        ];
        let image = Reference::parse("reg.io:5000/web:1").unwrap();
        for content in cases {
            let input = secret_input(&secret(content.clone()));
            assert!(
                matches!(input, SecretInput::Entries(_)),
                "{content}: {input:?}"
            );
            let e = super::super::secrets::evaluate(&["s".into()], &[], |_| input.clone(), &image);
            assert_eq!(e.credentials.len(), 1, "{content}");
            assert_eq!(e.credentials[0].username, "tok", "{content}");
            assert_eq!(e.credentials[0].password.expose(), "pw1", "{content}");
            assert!(
                matches!(&e.credentials[0].used, CredentialUsed::Secret { secret, .. } if secret == "s")
            );
            assert!(e.secrets[0].has_match(), "{content}");
        }
    }
}
