//! Pulls by the kubelet identity (AKS): the node's words decide, ARM confirms, and no pull
//! secret is ever the fix. The messages are the real node's (kubelet 1.20, containerd 1.6.20;
//! tests/aks_kubelet_identity.rs asserts them there) and containerd 1.7's form.

use super::*;
use crate::azure::aks::{AksNode, ClusterRef, KubeletIdentity, RegistryAccess, RoleAssignment};

const REG_ID: &str =
    "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.ContainerRegistry/registries/berthacr";

fn image() -> String {
    format!("{HOST}/web:1.0.30")
}

fn containerd(cause: &str) -> String {
    let i = image();
    format!(
        "rpc error: code = Unknown desc = failed to pull and unpack image \"{i}\": failed to resolve reference \"{i}\": {cause}"
    )
}

fn says(errors: &[&str]) -> String {
    let parts: Vec<String> = errors.iter().map(|c| containerd(c)).collect();
    if parts.len() == 1 {
        format!("Failed to pull image \"{}\": {}", image(), parts[0])
    } else {
        format!(
            "Failed to pull image \"{}\": [{}]",
            image(),
            parts.join(", ")
        )
    }
}

const OAUTH_401: &str =
    "failed to authorize: failed to fetch oauth token: unexpected status: 401 Unauthorized";
const ANON_401: &str =
    "failed to authorize: failed to fetch anonymous token: unexpected status: 401 Unauthorized";
const OAUTH_403: &str =
    "failed to authorize: failed to fetch oauth token: unexpected status: 403 Forbidden";
const ANON_403: &str =
    "failed to authorize: failed to fetch anonymous token: unexpected status: 403 Forbidden";

fn aks_node() -> AksNode {
    AksNode {
        subscription_id: "s1".into(),
        node_resource_group: "MC_rg_aks_eastus".into(),
        vmss: "aks-nodepool1-1-vmss".into(),
        kubelet_identity_client_id: Some("kubelet-client".into()),
    }
}

/// ARM's view: the identity is on the pool, has AcrPull, and the registry is open.
fn healthy_arm() -> AksArmFacts {
    AksArmFacts {
        cluster: ClusterRef {
            subscription_id: "s1".into(),
            resource_group: "rg".into(),
            name: "aks".into(),
        },
        kubelet_identity: Some(KubeletIdentity {
            resource_id: "/id/kubelet".into(),
            client_id: "kubelet-client".into(),
            object_id: "kubelet-object".into(),
        }),
        vmss_id: format!("{}/vmss", aks_node().vmss_id()),
        on_node_pool: Some(true),
        registry_id: Some(REG_ID.into()),
        role_assignments: Some(vec![RoleAssignment {
            id: "a1".into(),
            role_definition_id: format!("/x/roleDefinitions/{}", crate::azure::aks::ACR_PULL_ROLE),
            pull_role: Some("AcrPull"),
            scope: REG_ID.into(),
            condition: None,
        }]),
        network: Some(RegistryAccess {
            public_network_access: "Enabled".into(),
            default_action: "Allow".into(),
            ip_rules: vec![],
            private_endpoints: 0,
            abac: false,
        }),
        egress_ips: vec!["20.1.2.3".into()],
    }
}

fn identity(arm: Option<AksArmFacts>) -> Option<NodeIdentityFacts> {
    Some(NodeIdentityFacts {
        match_images: vec!["*.azurecr.io".into()],
        client_id: Some("kubelet-client".into()),
        arm,
    })
}

/// A pod with no pull secret on an AKS node; the anonymous probe from here gets 401.
fn case(node_says: &[&str], arm: Option<AksArmFacts>) -> Case {
    Case {
        pod_secrets: vec![],
        outcomes: vec![ProbeOutcome::Unauthorized {
            stage: AuthStage::TokenEndpoint,
            status: 401,
            errors: vec![],
            detail: String::new(),
        }],
        node_says: (!node_says.is_empty()).then(|| says(node_says)),
        node_identity: identity(arm),
        aks_node: Some(aks_node()),
        ..Case::default()
    }
}

fn no_secret_fix(d: &Diagnosis) {
    for f in &d.fixes {
        for a in &f.actions {
            assert!(
                !matches!(
                    a,
                    FixAction::CreateSecret { .. }
                        | FixAction::RotateSecret { .. }
                        | FixAction::AttachSecret { .. }
                ),
                "a pull secret offered on a kubelet-identity cluster: {:?}",
                d.fixes
            );
        }
    }
}

#[test]
fn a_missing_role_is_named_and_the_fix_assigns_acr_pull() {
    let mut arm = healthy_arm();
    arm.role_assignments = Some(vec![]);
    let d = case(&[OAUTH_401, ANON_401], Some(arm)).run();
    assert_eq!(
        d.cause.kind(),
        "kubelet_identity_cannot_pull",
        "{}",
        d.headline
    );
    assert!(
        d.headline
            .contains("lacks AcrPull on registry berthacr.azurecr.io")
            && d.headline.contains("client id kubelet-client"),
        "{}",
        d.headline
    );
    assert_eq!(
        d.fixes[0].actions,
        [FixAction::AssignPullRole {
            registry_id: REG_ID.into(),
            principal_id: "kubelet-object".into(),
            role: "AcrPull".into()
        }]
    );
    assert!(
        first_commands(&d)[0]
            .starts_with("az role assignment create --assignee-object-id kubelet-object")
    );
    no_secret_fix(&d);
    assert!(
        d.evidence
            .iter()
            .any(|e| e.topic == Topic::Azure && !e.ok && e.text.contains("no role assignment")),
        "{:?}",
        d.evidence
    );
}

#[test]
fn without_arm_the_node_words_still_name_the_role_but_say_unconfirmed() {
    let d = case(&[OAUTH_401, ANON_401], None).run();
    assert_eq!(d.cause.kind(), "kubelet_identity_cannot_pull");
    assert!(d.headline.contains("most likely"), "{}", d.headline);
    assert!(d.fixes[0].actions.is_empty(), "{:?}", d.fixes);
    no_secret_fix(&d);
}

#[test]
fn containerd_1_7_words_give_the_same_cause() {
    let url = format!("https://{HOST}/oauth2/token");
    let oauth = format!(
        "failed to authorize: failed to fetch oauth token: unexpected status from POST request to {url}: 401 Unauthorized"
    );
    let anon = format!(
        "failed to authorize: failed to fetch anonymous token: unexpected status from GET request to {url}?scope=repository%3Aweb%3Apull&service={HOST}: 401 Unauthorized"
    );
    let mut arm = healthy_arm();
    arm.role_assignments = Some(vec![]);
    let d = case(&[&oauth, &anon], Some(arm)).run();
    assert_eq!(d.cause.kind(), "kubelet_identity_cannot_pull");
}

#[test]
fn an_identity_off_the_node_pool_leaves_only_the_anonymous_attempt() {
    let mut arm = healthy_arm();
    arm.on_node_pool = Some(false);
    let d = case(&[ANON_401], Some(arm)).run();
    assert_eq!(
        d.cause.kind(),
        "kubelet_identity_not_on_node_pool",
        "{}",
        d.headline
    );
    assert!(
        d.headline.contains("is not on node pool scale set"),
        "{}",
        d.headline
    );
    let note = d.fixes[0].note.clone().unwrap();
    assert!(note.contains("az aks update -g rg -n aks"), "{note}");
    assert!(note.contains("az vmss identity assign"), "{note}");
    no_secret_fix(&d);
    // Without ARM: the same words, said as the likely cause.
    let d = case(&[ANON_401], None).run();
    assert_eq!(d.cause.kind(), "kubelet_identity_not_on_node_pool");
    assert!(d.headline.contains("most often"), "{}", d.headline);
}

#[test]
fn a_firewall_names_the_egress_ip_and_the_fix_adds_it() {
    let mut arm = healthy_arm();
    arm.network = Some(RegistryAccess {
        public_network_access: "Enabled".into(),
        default_action: "Deny".into(),
        ip_rules: vec!["203.0.113.0/24".into()],
        private_endpoints: 0,
        abac: false,
    });
    let d = case(&[OAUTH_403, ANON_403], Some(arm)).run();
    assert_eq!(d.cause.kind(), "firewall_blocks_node", "{}", d.headline);
    assert!(d.headline.contains("egress IP 20.1.2.3"), "{}", d.headline);
    assert_eq!(
        d.fixes[0].actions,
        [FixAction::AllowRegistryIp {
            registry_id: REG_ID.into(),
            ip: "20.1.2.3".into()
        }]
    );
    assert_eq!(
        first_commands(&d),
        ["az acr network-rule add -g rg -n berthacr --ip-address 20.1.2.3"]
    );
    // Rules that admit the node: a 403 for another reason, not the firewall.
    let mut open = healthy_arm();
    open.network = Some(RegistryAccess {
        public_network_access: "Enabled".into(),
        default_action: "Deny".into(),
        ip_rules: vec!["20.1.2.0/24".into()],
        private_endpoints: 0,
        abac: false,
    });
    let d = case(&[OAUTH_403, ANON_403], Some(open)).run();
    assert_eq!(d.cause.kind(), "denied", "{}", d.headline);
    // Public access off, no private endpoint.
    let mut off = healthy_arm();
    off.network = Some(RegistryAccess {
        public_network_access: "Disabled".into(),
        default_action: "Allow".into(),
        ip_rules: vec![],
        private_endpoints: 0,
        abac: false,
    });
    let d = case(&[OAUTH_403, ANON_403], Some(off)).run();
    assert_eq!(d.cause.kind(), "firewall_blocks_node");
    assert!(
        d.headline.contains("public network access disabled"),
        "{}",
        d.headline
    );
}

#[test]
fn a_missing_tag_on_such_a_cluster_is_a_missing_tag() {
    let i = image();
    let d = Case {
        tags: Some(TagListing::Listed { tags: web_tags() }),
        ..case(&[&format!("{i}: not found")], Some(healthy_arm()))
    }
    .run();
    assert_eq!(d.cause.kind(), "manifest_missing", "{}", d.headline);
    assert!(
        d.headline.contains("tag \"1.0.30\" does not exist"),
        "{}",
        d.headline
    );
    assert!(matches!(d.fixes[0].actions[0], FixAction::SetImage { .. }));
}

#[test]
fn the_anonymous_probe_from_here_never_becomes_no_pull_secret() {
    // No node words and ARM shows nothing wrong: berth does not claim "no pull secret".
    let d = case(&[], Some(healthy_arm())).run();
    assert_ne!(d.cause.kind(), "kubelet_identity_cannot_pull");
    no_secret_fix(&d);
    assert!(
        d.evidence
            .iter()
            .any(|e| e.text.contains("from this machine, anonymously")),
        "{:?}",
        d.evidence
    );
}

#[test]
fn a_pod_secret_that_works_wins_over_the_node_identity() {
    let d = Case {
        outcomes: vec![ProbeOutcome::Ok {
            media_type: "application/vnd.oci.image.manifest.v1+json".into(),
            digest: "sha256:00".into(),
            platforms: vec![],
            children: vec![],
        }],
        node_says: Some(says(&[OAUTH_401, ANON_401])),
        node_identity: identity(Some(healthy_arm())),
        aks_node: Some(aks_node()),
        ..Case::default()
    }
    .run();
    assert_eq!(d.cause.kind(), "transient", "{}", d.headline);
}

#[test]
fn a_registry_in_abac_mode_needs_the_repository_reader_role() {
    let mut arm = healthy_arm();
    // AcrPull is assigned, but an ABAC-mode registry does not honour it.
    arm.network.as_mut().unwrap().abac = true;
    arm.role_assignments.as_mut().unwrap()[0].pull_role = None;
    let d = case(&[OAUTH_401, ANON_401], Some(arm)).run();
    assert_eq!(d.cause.kind(), "kubelet_identity_cannot_pull");
    assert!(
        d.headline
            .contains("lacks Container Registry Repository Reader on registry")
            && d.headline
                .contains("ABAC mode, where AcrPull is not honoured"),
        "{}",
        d.headline
    );
    assert_eq!(
        first_commands(&d),
        [format!(
            "az role assignment create --assignee-object-id kubelet-object --assignee-principal-type \
             ServicePrincipal --role \"Container Registry Repository Reader\" --scope {REG_ID}"
        )]
    );
    assert!(
        !d.fixes[0]
            .note
            .as_deref()
            .unwrap_or("")
            .contains("--attach-acr"),
        "--attach-acr assigns AcrPull, which ABAC mode ignores: {:?}",
        d.fixes[0].note
    );
}
