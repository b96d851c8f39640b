//! The stand-in's AKS side over HTTP: IMDS, the exchange with managed-identity tokens, pulls
//! authorised by role assignments, ARM's managed cluster / role assignments / VMSS identities, and
//! the registry's network rules. (Real-node behaviour: tests/aks_kubelet_identity.rs.)

mod standin_support;

use reqwest::Method;
use serde_json::{Value, json};
use standin_support::{Env, access_claim, arm_token, arm_url, unique};

async fn imds(client_id: Option<&str>, metadata: bool) -> (u16, Value) {
    let env = Env::get();
    let mut q = vec![
        ("api-version", "2018-02-01"),
        ("resource", "https://management.azure.com/"),
    ];
    if let Some(c) = client_id {
        q.push(("client_id", c));
    }
    let mut rb = reqwest::Client::new()
        .get(format!(
            "{}/metadata/identity/oauth2/token",
            env.var("BERTH_IMDS_ENDPOINT")
        ))
        .query(&q);
    if metadata {
        rb = rb.header("Metadata", "true");
    }
    let r = rb.send().await.expect("IMDS request");
    let s = r.status().as_u16();
    (s, r.json().await.unwrap_or(Value::Null))
}

async fn exchange(aad: &str, grant: &str) -> (u16, Value) {
    let env = Env::get();
    let r = env
        .http()
        .post(format!("{}/oauth2/exchange", env.base()))
        .form(&[
            ("grant_type", grant),
            ("service", env.acr()),
            ("tenant", env.var("BERTH_TENANT_ID")),
            ("access_token", aad),
            ("refresh_token", aad),
        ])
        .send()
        .await
        .unwrap();
    let s = r.status().as_u16();
    (s, r.json().await.unwrap_or(Value::Null))
}

async fn pull_token(refresh: &str, repo: &str) -> (u16, Value) {
    let env = Env::get();
    let r = env
        .http()
        .post(format!("{}/oauth2/token", env.base()))
        .form(&[
            ("grant_type", "refresh_token"),
            ("service", env.acr()),
            ("scope", &format!("repository:{repo}:pull")),
            ("refresh_token", refresh),
        ])
        .send()
        .await
        .unwrap();
    let s = r.status().as_u16();
    (s, r.json().await.unwrap_or(Value::Null))
}

fn arm_base() -> String {
    Env::get().base()
}

#[tokio::test]
async fn imds_needs_the_metadata_header_and_an_identity_on_the_node_pool() {
    let env = Env::get();
    let kid = env.var("BERTH_KUBELET_IDENTITY_CLIENT_ID");
    assert_eq!(
        imds(Some(kid), false).await,
        (
            400,
            json!({"error": "invalid_request", "error_description": "Required metadata header not specified"})
        )
    );
    assert_eq!(
        imds(Some(env.var("BERTH_OTHER_IDENTITY_CLIENT_ID")), true).await,
        (
            400,
            json!({"error": "invalid_request", "error_description": "Identity not found"})
        )
    );
    let (s, v) = imds(Some(kid), true).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["client_id"], kid);
    assert_eq!(v["resource"], "https://management.azure.com/");
    assert_eq!(v["token_type"], "Bearer");
    assert!(v["expires_in"].is_string(), "IMDS numbers are strings: {v}");
}

#[tokio::test]
async fn kubelet_identity_exchange_and_pull_token_follow_role_assignments() {
    let env = Env::get();
    let kid = env.var("BERTH_KUBELET_IDENTITY_CLIENT_ID");
    let (_, v) = imds(Some(kid), true).await;
    let aad = v["access_token"].as_str().unwrap().to_string();
    // Both grant types the real clients use.
    for grant in ["access_token_refresh_token", "access_token"] {
        let (s, v) = exchange(&aad, grant).await;
        assert_eq!(s, 200, "{grant}: {v}");
    }
    let (_, v) = exchange(&aad, "access_token").await;
    let refresh = v["refresh_token"].as_str().unwrap().to_string();
    // --attach-acr's AcrPull: pull on any repository.
    let (s, v) = pull_token(&refresh, "aks/web").await;
    assert_eq!(s, 200, "{v}");
    let access = access_claim(v["access_token"].as_str().unwrap());
    assert_eq!(
        access,
        json!([{"type": "repository", "name": "aks/web", "actions": ["pull"]}])
    );
    // The all-zero user with the refresh token as password, as kubelet hands it to containerd.
    let r = env
        .http()
        .get(format!(
            "{}/oauth2/token?service={}&scope=repository:aks/web:pull",
            env.base(),
            env.acr()
        ))
        .basic_auth("00000000-0000-0000-0000-000000000000", Some(&refresh))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn role_assignments_for_a_principal_are_listed_created_and_deleted() {
    let env = Env::get();
    let t = arm_token().await;
    let reg = env.var("BERTH_ACR_RESOURCE_ID");
    let other = env.var("BERTH_OTHER_IDENTITY_OBJECT_ID");
    let list = |filter_oid: String| {
        let t = t.clone();
        async move {
            arm_url(
                &t,
                Method::GET,
                &format!(
                    "{}{reg}/providers/Microsoft.Authorization/roleAssignments?api-version=2022-04-01&$filter=principalId eq '{filter_oid}'",
                    arm_base()
                ),
                None,
            )
            .await
        }
    };
    let r = list(env.var("BERTH_KUBELET_IDENTITY_OBJECT_ID").into()).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let first = &r.body["value"][0];
    assert_eq!(
        first["properties"]["roleDefinitionId"],
        format!(
            "/subscriptions/{}/providers/Microsoft.Authorization/roleDefinitions/7f951dda-4ed3-4680-a7ca-43fe172d538d",
            env.var("BERTH_SUBSCRIPTION_ID")
        )
    );
    assert_eq!(first["properties"]["scope"], reg);
    assert_eq!(first["type"], "Microsoft.Authorization/roleAssignments");

    // A new assignment for the other identity, at the resource group (above the registry).
    let n = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let name = format!(
        "{:08x}-{:04x}-4000-8000-{:012x}",
        std::process::id(),
        (n >> 48) & 0xffff,
        n & 0xffff_ffff_ffff
    );
    let rg_scope = format!(
        "/subscriptions/{}/resourceGroups/{}",
        env.var("BERTH_SUBSCRIPTION_ID"),
        env.var("BERTH_RESOURCE_GROUP")
    );
    let url = format!(
        "{}{rg_scope}/providers/Microsoft.Authorization/roleAssignments/{name}?api-version=2022-04-01",
        arm_base()
    );
    let body = json!({"properties": {"roleDefinitionId": "/providers/Microsoft.Authorization/roleDefinitions/7f951dda-4ed3-4680-a7ca-43fe172d538d", "principalId": other}});
    let r = arm_url(&t, Method::PUT, &url, Some(body.clone())).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let again = arm_url(
        &t,
        Method::PUT,
        &url.replace(&name[..8], "00000000"),
        Some(body),
    )
    .await;
    assert_eq!(again.status, 409, "{}", again.body);
    assert_eq!(again.body["error"]["code"], "RoleAssignmentExists");
    // Listed at the registry scope: inherited from the resource group.
    let r = list(other.into()).await;
    assert!(
        r.body["value"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["name"] == name.as_str()),
        "{}",
        r.body
    );
    let del = arm_url(&t, Method::DELETE, &url, None).await;
    assert_eq!(del.status, 200, "{}", del.body);
    let del = arm_url(&t, Method::DELETE, &url, None).await;
    assert_eq!(del.status, 204);
    let r = list(other.into()).await;
    assert_eq!(r.body["value"], json!([]), "{}", r.body);
}

#[tokio::test]
async fn managed_cluster_and_vmss_show_the_kubelet_identity() {
    let env = Env::get();
    let t = arm_token().await;
    let url = format!(
        "{}/subscriptions/{}/resourceGroups/{}/providers/Microsoft.ContainerService/managedClusters/{}?api-version=2024-05-01",
        arm_base(),
        env.var("BERTH_SUBSCRIPTION_ID"),
        env.var("BERTH_AKS_RESOURCE_GROUP"),
        env.var("BERTH_AKS_CLUSTER_NAME")
    );
    let r = arm_url(&t, Method::GET, &url, None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let k = &r.body["properties"]["identityProfile"]["kubeletidentity"];
    assert_eq!(k["clientId"], env.var("BERTH_KUBELET_IDENTITY_CLIENT_ID"));
    assert_eq!(k["objectId"], env.var("BERTH_KUBELET_IDENTITY_OBJECT_ID"));
    assert_eq!(
        k["resourceId"],
        env.var("BERTH_KUBELET_IDENTITY_RESOURCE_ID")
    );
    assert_eq!(r.body["id"], env.var("BERTH_AKS_CLUSTER_ID"));
    let ip_id = r.body["properties"]["networkProfile"]["loadBalancerProfile"]
        ["effectiveOutboundIPs"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let ip = arm_url(
        &t,
        Method::GET,
        &format!("{}{ip_id}?api-version=2024-05-01", arm_base()),
        None,
    )
    .await;
    assert_eq!(ip.status, 200, "{}", ip.body);
    assert_eq!(
        ip.body["properties"]["ipAddress"],
        env.var("BERTH_AKS_EGRESS_IP")
    );
    // The pull-only SP may not read it.
    let pull_sp = standin_support::entra_token(
        env.var("BERTH_SP_PULL_CLIENT_ID"),
        env.var("BERTH_SP_PULL_CLIENT_SECRET"),
        "https://management.azure.com",
    )
    .await;
    let r = arm_url(&pull_sp, Method::GET, &url, None).await;
    assert_eq!(r.status, 403);
    assert_eq!(r.body["error"]["code"], "AuthorizationFailed");
    // Missing api-version.
    let r = arm_url(&t, Method::GET, url.split('?').next().unwrap(), None).await;
    assert_eq!(r.status, 400);
}

#[tokio::test]
async fn network_rules_deny_other_addresses_with_acr_firewall_body() {
    let env = Env::get();
    let t = arm_token().await;
    let repo = unique("standin-fw");
    let control = env.var("BERTH_STANDIN_CONTROL");
    let http = env.http();
    let r = http
        .post(format!("{control}/firewall"))
        .json(&json!({"scope": repo}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let reg = format!("{}{}?api-version=2023-07-01", arm_base(), env.registry_id());
    let patch = |rules: Value| {
        let t = t.clone();
        let reg = reg.clone();
        async move {
            arm_url(
                &t,
                Method::PATCH,
                &reg,
                Some(json!({"properties": {"networkRuleSet": rules}})),
            )
            .await
        }
    };
    let r = patch(json!({"defaultAction": "Deny", "ipRules": [{"action": "Allow", "value": "203.0.113.0/24"}]})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        r.body["properties"]["networkRuleSet"]["ipRules"],
        json!([{"action": "Allow", "value": "203.0.113.0/24"}])
    );
    let token = |ua: &'static str, repo: String| {
        let http = http.clone();
        async move {
            let env = Env::get();
            let r = http
                .get(format!(
                    "{}/oauth2/token?service={}&scope=repository:{repo}:pull",
                    env.base(),
                    env.acr()
                ))
                .header("User-Agent", ua)
                .basic_auth(
                    env.var("BERTH_ACR_ADMIN_USER"),
                    Some(env.var("BERTH_ACR_ADMIN_PASSWORD")),
                )
                .send()
                .await
                .unwrap();
            let s = r.status().as_u16();
            (s, r.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    let msg = |ip: &str| json!({"errors": [{"code": "DENIED", "message": format!("client with IP '{ip}' is not allowed access. Refer https://aka.ms/acr/firewall to grant access."), "detail": null}]});
    // The node's containerd comes from the egress IP; this test from loopback.
    assert_eq!(
        token("containerd/1.6.20~ds1", repo.clone()).await,
        (403, msg(env.var("BERTH_AKS_EGRESS_IP")))
    );
    assert_eq!(
        token("berth-test", repo.clone()).await,
        (403, msg("127.0.0.1"))
    );
    // Other repositories are not in this test's scope.
    assert_eq!(token("berth-test", "web".into()).await.0, 200);
    // Allowing loopback lets this client through, not the node.
    patch(json!({"defaultAction": "Deny", "ipRules": [{"action": "Allow", "value": "127.0.0.1"}]}))
        .await;
    assert_eq!(token("berth-test", repo.clone()).await.0, 200);
    assert_eq!(token("containerd/1.6.20~ds1", repo.clone()).await.0, 403);
    let bad = patch(json!({"ipRules": [{"action": "Allow", "value": "not-an-ip"}]})).await;
    assert_eq!(bad.status, 400);

    let r = patch(json!({"defaultAction": "Allow", "ipRules": []})).await;
    assert_eq!(r.status, 200);
    http.delete(format!("{control}/firewall?scope={repo}"))
        .send()
        .await
        .unwrap();
    assert_eq!(token("containerd/1.6.20~ds1", repo).await.0, 200);
}
