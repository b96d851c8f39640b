//! The ARM calls berth makes on `Microsoft.ContainerRegistry/registries`: registry GET,
//! listCredentials, regenerateCredential, generateCredentials, tokens and scopeMaps (create, get,
//! delete), importImage, and the long-running operation endpoints.

use crate::App;
use crate::auth::ARM_AUDIENCE;
use crate::http::{self, Resp, acr_time, first, pairs};
use crate::jwt::{random_password, uuid_like};
use crate::state::{Operation, Password, Token};
use hyper::body::Incoming;
use hyper::{Method, Request, StatusCode};
use jiff::Timestamp;
use serde_json::{Value, json};
use std::sync::Arc;

pub const API_VERSIONS: &[&str] = &[
    "2019-05-01",
    "2019-12-01-preview",
    "2020-11-01-preview",
    "2021-06-01-preview",
    "2021-08-01-preview",
    "2021-09-01",
    "2021-12-01-preview",
    "2022-02-01-preview",
    "2022-12-01",
    "2023-01-01-preview",
    "2023-06-01-preview",
    "2023-07-01",
    "2023-08-01-preview",
    "2023-11-01-preview",
    "2024-11-01-preview",
    "2025-03-01-preview",
    "2025-04-01",
    "2025-05-01-preview",
    "2025-11-01",
];

pub fn arm_error(status: StatusCode, code: &str, message: &str) -> Resp {
    http::json(
        status,
        &json!({"error": {"code": code, "message": message}}),
    )
}

fn op_urls(app: &App, id: &str, api: &str) -> (String, String) {
    let base = format!(
        "https://{}/subscriptions/{}/providers/Microsoft.ContainerRegistry/locations/{}",
        app.cfg.login_server, app.cfg.azure.subscription_id, app.cfg.azure.location
    );
    (
        format!("{base}/operationStatuses/{id}?api-version={api}"),
        format!("{base}/operationResults/{id}?api-version={api}"),
    )
}

/// 202 Accepted for a new long-running operation.
fn accepted(app: &App, id: &str, api: &str) -> Resp {
    let (status, result) = op_urls(app, id, api);
    let r = http::json(StatusCode::ACCEPTED, &json!({}));
    let r = http::header(r, "Azure-AsyncOperation", &status);
    let r = http::header(r, "Location", &result);
    http::header(r, "Retry-After", "1")
}

impl App {
    pub fn start_operation(&self) -> String {
        let id = uuid_like();
        let mut st = self.state.lock().unwrap();
        st.operations.insert(
            id.clone(),
            Operation {
                status: "InProgress".into(),
                started: Timestamp::now(),
                ended: None,
                error: None,
                result: None,
            },
        );
        st.save(&self.cfg.state_file);
        id
    }

    pub fn finish_operation(&self, id: &str, outcome: Result<Option<Value>, Value>) {
        let mut st = self.state.lock().unwrap();
        if let Some(op) = st.operations.get_mut(id) {
            op.ended = Some(Timestamp::now());
            match outcome {
                Ok(result) => {
                    op.status = "Succeeded".into();
                    op.result = result;
                }
                Err(e) => {
                    op.status = "Failed".into();
                    op.error = Some(e);
                }
            }
        }
        st.save(&self.cfg.state_file);
    }

    fn admin_credentials(&self) -> Value {
        let st = self.state.lock().unwrap();
        json!({
            "username": self.cfg.admin.username,
            "passwords": [
                {"name": "password", "value": st.admin_passwords[0]},
                {"name": "password2", "value": st.admin_passwords[1]},
            ]
        })
    }

    fn token_json(&self, name: &str, t: &Token) -> Value {
        let passwords: Vec<Value> = t
            .passwords
            .iter()
            .enumerate()
            .filter_map(|(i, p)| {
                p.as_ref().map(|p| {
                    json!({
                        "name": format!("password{}", i + 1),
                        "creationTime": acr_time(p.created),
                        "expiry": p.expiry.map(acr_time),
                    })
                })
            })
            .collect();
        json!({
            "id": format!("{}/tokens/{name}", self.cfg.registry_id()),
            "name": name,
            "type": "Microsoft.ContainerRegistry/registries/tokens",
            "properties": {
                "creationDate": acr_time(t.created),
                "provisioningState": "Succeeded",
                "scopeMapId": format!("{}/scopeMaps/{}", self.cfg.registry_id(), t.scope_map),
                "status": t.status,
                "credentials": {"passwords": passwords, "certificates": []},
            }
        })
    }
}

async fn body_json(req: Request<Incoming>) -> Result<Value, Resp> {
    let b = http::read_body(req.into_body(), 1024 * 1024)
        .await
        .map_err(|e| arm_error(StatusCode::BAD_REQUEST, "InvalidRequestContent", &e))?;
    if b.is_empty() {
        return Ok(json!({}));
    }
    serde_json::from_slice(&b).map_err(|e| {
        arm_error(
            StatusCode::BAD_REQUEST,
            "InvalidRequestContent",
            &format!("The request content was invalid and could not be deserialized: '{e}'."),
        )
    })
}

pub async fn handle(app: &Arc<App>, req: Request<Incoming>) -> Resp {
    // Authentication: an Entra token for the management audience.
    let Some(bearer) = http::bearer(req.headers()) else {
        return arm_error(
            StatusCode::UNAUTHORIZED,
            "AuthenticationFailed",
            "Authentication failed. The 'Authorization' header is missing.",
        );
    };
    let Some(claims) = app.check_entra(&bearer) else {
        return arm_error(
            StatusCode::UNAUTHORIZED,
            "InvalidAuthenticationToken",
            "The access token is invalid or expired.",
        );
    };
    if claims["aud"] != ARM_AUDIENCE {
        return arm_error(
            StatusCode::UNAUTHORIZED,
            "InvalidAuthenticationTokenAudience",
            &format!(
                "The access token has been obtained for wrong audience or resource '{}'. It should exactly match with one of the allowed audiences 'https://management.core.windows.net/','https://management.core.windows.net','https://management.azure.com/','https://management.azure.com'.",
                claims["aud"].as_str().unwrap_or("")
            ),
        );
    }
    let appid = claims["appid"].as_str().unwrap_or("").to_string();
    let oid = claims["oid"].as_str().unwrap_or("").to_string();
    let q = pairs(req.uri().query().unwrap_or(""));
    let api = match first(&q, "api-version") {
        None => {
            return arm_error(
                StatusCode::BAD_REQUEST,
                "MissingApiVersionParameter",
                "The api-version query parameter (?api-version=) is required for all requests.",
            );
        }
        Some(v)
            if !(if crate::aks::is_aks_path(req.uri().path()) {
                crate::aks::api_version_ok(v)
            } else {
                API_VERSIONS.contains(&v)
            }) =>
        {
            return arm_error(
                StatusCode::BAD_REQUEST,
                "InvalidApiVersionParameter",
                &format!(
                    "The api-version '{v}' is invalid. The supported versions are '{}'.",
                    API_VERSIONS.join(",")
                ),
            );
        }
        Some(v) => v.to_string(),
    };
    let path = req.uri().path().to_string();
    let segs: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let sub = segs.get(1).copied().unwrap_or("");
    if !sub.eq_ignore_ascii_case(&app.cfg.azure.subscription_id) {
        return arm_error(
            StatusCode::NOT_FOUND,
            "SubscriptionNotFound",
            &format!("The subscription '{sub}' could not be found."),
        );
    }
    let contributor = app.cfg.sp(&appid).is_some_and(|s| s.arm_contributor);
    let forbidden = |action: &str, scope: &str| {
        arm_error(
            StatusCode::FORBIDDEN,
            "AuthorizationFailed",
            &format!(
                "The client '{appid}' with object id '{oid}' does not have authorization to perform action '{action}' over scope '{scope}' or the scope is invalid. If access was recently granted, please refresh your credentials."
            ),
        )
    };
    if crate::aks::is_aks_path(req.uri().path()) {
        return crate::aks::arm(app, req, contributor, forbidden).await;
    }
    // Long-running operation status: /subscriptions/{sub}/providers/Microsoft.ContainerRegistry/locations/{loc}/operation(Statuses|Results)/{id}
    if let ["subscriptions", _, "providers", p, "locations", _, kind, id] = segs.as_slice()
        && p.eq_ignore_ascii_case("Microsoft.ContainerRegistry")
    {
        if !contributor {
            return forbidden(
                "Microsoft.ContainerRegistry/locations/operationResults/read",
                &format!("/subscriptions/{sub}"),
            );
        }
        return operation(app, kind, id, &api);
    }
    let [
        "subscriptions",
        _,
        "resourceGroups",
        rg,
        "providers",
        provider,
        "registries",
        reg,
        rest @ ..,
    ] = segs.as_slice()
    else {
        return arm_error(
            StatusCode::NOT_FOUND,
            "InvalidResourceType",
            &format!("The resource type could not be found in the namespace of path '{path}'."),
        );
    };
    if !provider.eq_ignore_ascii_case("Microsoft.ContainerRegistry") {
        return arm_error(
            StatusCode::NOT_FOUND,
            "InvalidResourceNamespace",
            &format!("The resource namespace '{provider}' is invalid."),
        );
    }
    let action = match (req.method().clone(), rest) {
        (Method::GET, []) => "Microsoft.ContainerRegistry/registries/read".to_string(),
        (Method::POST, [a]) => format!("Microsoft.ContainerRegistry/registries/{a}/action"),
        (m, [kind, _]) => format!(
            "Microsoft.ContainerRegistry/registries/{kind}/{}",
            if m == Method::GET {
                "read"
            } else if m == Method::DELETE {
                "delete"
            } else {
                "write"
            }
        ),
        _ => "Microsoft.ContainerRegistry/registries/read".to_string(),
    };
    let scope = format!(
        "/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.ContainerRegistry/registries/{reg}"
    );
    if !contributor {
        return forbidden(&action, &scope);
    }
    if !rg.eq_ignore_ascii_case(&app.cfg.azure.resource_group) {
        return arm_error(
            StatusCode::NOT_FOUND,
            "ResourceGroupNotFound",
            &format!("Resource group '{rg}' could not be found."),
        );
    }
    if !reg.eq_ignore_ascii_case(&app.cfg.azure.registry_name) {
        return arm_error(
            StatusCode::NOT_FOUND,
            "ResourceNotFound",
            &format!(
                "The Resource 'Microsoft.ContainerRegistry/registries/{reg}' under resource group '{rg}' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix"
            ),
        );
    }
    let rest: Vec<String> = rest.iter().map(|s| s.to_string()).collect();
    let method = req.method().clone();
    match (
        method,
        rest.iter()
            .map(String::as_str)
            .collect::<Vec<_>>()
            .as_slice(),
    ) {
        (Method::GET, []) => registry_resource(app),
        (Method::PATCH, []) => patch_registry(app, req).await,
        (Method::POST, ["listCredentials"]) => http::json(StatusCode::OK, &app.admin_credentials()),
        (Method::POST, ["regenerateCredential"]) => regenerate(app, req).await,
        (Method::POST, ["generateCredentials"]) => generate(app, req, &q, &api).await,
        (Method::POST, ["importImage"]) => crate::import::start(app, req, &api).await,
        (m, ["tokens", name]) => token(app, m, name, req).await,
        (m, ["scopeMaps", name]) => scope_map(app, m, name, req).await,
        (m, _) => arm_error(
            StatusCode::NOT_FOUND,
            "NotFound",
            &format!("{m} {path} is not served by the stand-in."),
        ),
    }
}

fn registry_resource(app: &App) -> Resp {
    let net = app.state.lock().unwrap().network.clone();
    http::json(
        StatusCode::OK,
        &json!({
            "id": app.cfg.registry_id(),
            "name": app.cfg.azure.registry_name,
            "type": "Microsoft.ContainerRegistry/registries",
            "location": app.cfg.azure.location,
            "sku": {"name": "Premium", "tier": "Premium"},
            "properties": {
                "loginServer": app.cfg.login_server,
                "adminUserEnabled": true,
                "provisioningState": "Succeeded",
                "anonymousPullEnabled": false,
                "publicNetworkAccess": net.public_network_access,
                "roleAssignmentMode": net.role_assignment_mode,
                "networkRuleBypassOptions": "AzureServices",
                "networkRuleSet": {
                    "defaultAction": net.default_action,
                    "ipRules": net.ip_rules.iter().map(|r| json!({"action": "Allow", "value": r})).collect::<Vec<_>>(),
                },
                "privateEndpointConnections": [],
                "dataEndpointEnabled": false,
            }
        }),
    )
}

/// `PATCH` of the registry: `properties.networkRuleSet {defaultAction, ipRules:[{action, value}]}`,
/// `properties.roleAssignmentMode` and `properties.publicNetworkAccess` (`Enabled`|`Disabled`) are applied (and enforced on
/// pulls, see aks.rs); other properties are accepted and ignored.
async fn patch_registry(app: &App, req: Request<Incoming>) -> Resp {
    let body = match body_json(req).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    let p = &body["properties"];
    let mut net = app.state.lock().unwrap().network.clone();
    if let Some(rs) = p.get("networkRuleSet").filter(|v| !v.is_null()) {
        match rs["defaultAction"].as_str() {
            Some(a @ ("Allow" | "Deny")) => net.default_action = a.to_string(),
            None => {}
            Some(other) => {
                return arm_error(
                    StatusCode::BAD_REQUEST,
                    "InvalidParameter",
                    &format!(
                        "networkRuleSet.defaultAction '{other}' is invalid: use Allow or Deny."
                    ),
                );
            }
        }
        if let Some(rules) = rs["ipRules"].as_array() {
            let mut out = Vec::new();
            for r in rules {
                let v = r["value"].as_str().unwrap_or("");
                if crate::aks::ip_allowed(&[v.to_string()], v.split('/').next().unwrap_or("")) {
                    out.push(v.to_string());
                } else {
                    return arm_error(
                        StatusCode::BAD_REQUEST,
                        "InvalidParameter",
                        &format!(
                            "The IP rule value '{v}' is not a valid IPv4 address or CIDR range."
                        ),
                    );
                }
            }
            net.ip_rules = out;
        }
    }
    match p["roleAssignmentMode"].as_str() {
        Some(m @ ("LegacyRegistryPermissions" | "AbacRepositoryPermissions")) => {
            net.role_assignment_mode = m.to_string()
        }
        None => {}
        Some(other) => {
            return arm_error(
                StatusCode::BAD_REQUEST,
                "InvalidParameter",
                &format!(
                    "roleAssignmentMode '{other}' is invalid: use LegacyRegistryPermissions or AbacRepositoryPermissions."
                ),
            );
        }
    }
    match p["publicNetworkAccess"].as_str() {
        Some(a @ ("Enabled" | "Disabled")) => net.public_network_access = a.to_string(),
        None => {}
        Some(other) => {
            return arm_error(
                StatusCode::BAD_REQUEST,
                "InvalidParameter",
                &format!("publicNetworkAccess '{other}' is invalid: use Enabled or Disabled."),
            );
        }
    }
    {
        let mut st = app.state.lock().unwrap();
        st.network = net;
        st.save(&app.cfg.state_file);
    }
    registry_resource(app)
}

fn operation(app: &App, kind: &str, id: &str, api: &str) -> Resp {
    let op = app.state.lock().unwrap().operations.get(id).cloned();
    let Some(op) = op else {
        return arm_error(
            StatusCode::NOT_FOUND,
            "ResourceNotFound",
            &format!("The operation '{id}' was not found."),
        );
    };
    match kind {
        "operationStatuses" => {
            let mut v = json!({
                "id": format!("/subscriptions/{}/providers/Microsoft.ContainerRegistry/locations/{}/operationStatuses/{id}", app.cfg.azure.subscription_id, app.cfg.azure.location),
                "name": id,
                "status": op.status,
                "startTime": acr_time(op.started),
            });
            if let Some(e) = op.ended {
                v["endTime"] = json!(acr_time(e));
            }
            if let Some(e) = &op.error {
                v["error"] = e.clone();
            }
            let r = http::json(StatusCode::OK, &v);
            if op.status == "InProgress" {
                http::header(r, "Retry-After", "1")
            } else {
                r
            }
        }
        "operationResults" => match op.status.as_str() {
            "InProgress" => {
                let (_, loc) = op_urls(app, id, api);
                let r = http::json(StatusCode::ACCEPTED, &json!({}));
                http::header(http::header(r, "Location", &loc), "Retry-After", "1")
            }
            "Succeeded" => match op.result {
                Some(v) => http::json(StatusCode::OK, &v),
                None => http::empty(StatusCode::NO_CONTENT),
            },
            _ => http::json(
                StatusCode::BAD_REQUEST,
                &json!({"error": op.error.unwrap_or(json!({"code": "Failed", "message": "operation failed"}))}),
            ),
        },
        _ => arm_error(
            StatusCode::NOT_FOUND,
            "NotFound",
            "unknown operation endpoint",
        ),
    }
}

async fn regenerate(app: &App, req: Request<Incoming>) -> Resp {
    let body = match body_json(req).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    let slot = match body["name"].as_str() {
        Some("password") => 0,
        Some("password2") => 1,
        other => {
            return arm_error(
                StatusCode::BAD_REQUEST,
                "InvalidRequestContent",
                &format!(
                    "The value '{}' of 'name' is invalid: use 'password' or 'password2'.",
                    other.unwrap_or("")
                ),
            );
        }
    };
    {
        let mut st = app.state.lock().unwrap();
        st.admin_passwords[slot] = random_password();
        st.save(&app.cfg.state_file);
    }
    eprintln!(
        "azure-standin: admin {} regenerated",
        ["password", "password2"][slot]
    );
    http::json(StatusCode::OK, &app.admin_credentials())
}

async fn generate(app: &App, req: Request<Incoming>, q: &[(String, String)], api: &str) -> Resp {
    let body = match body_json(req).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    let Some(token_id) = body["tokenId"].as_str() else {
        return arm_error(
            StatusCode::BAD_REQUEST,
            "InvalidRequestContent",
            "The request content must contain 'tokenId' (the token's ARM resource id).",
        );
    };
    let prefix = format!("{}/tokens/", app.cfg.registry_id());
    let name = match token_id.get(..prefix.len()) {
        Some(p) if p.eq_ignore_ascii_case(&prefix) => &token_id[prefix.len()..],
        _ => {
            return arm_error(
                StatusCode::BAD_REQUEST,
                "InvalidTokenId",
                &format!(
                    "The tokenId '{token_id}' is not a token of registry '{}'.",
                    app.cfg.registry_id()
                ),
            );
        }
    };
    let expiry = match body["expiry"].as_str() {
        None => None,
        Some(s) => match s.parse::<Timestamp>() {
            Ok(t) => Some(t),
            Err(e) => {
                return arm_error(
                    StatusCode::BAD_REQUEST,
                    "InvalidRequestContent",
                    &format!("The expiry '{s}' is not an RFC 3339 time: {e}"),
                );
            }
        },
    };
    let slots: Vec<usize> = match body["name"].as_str() {
        None => vec![0, 1],
        Some("password1") => vec![0],
        Some("password2") => vec![1],
        Some(o) => {
            return arm_error(
                StatusCode::BAD_REQUEST,
                "InvalidRequestContent",
                &format!("The value '{o}' of 'name' is invalid: use 'password1' or 'password2'."),
            );
        }
    };
    let now = Timestamp::now();
    let mut out = Vec::new();
    {
        let mut st = app.state.lock().unwrap();
        let Some(t) = st.tokens.get_mut(name) else {
            return arm_error(
                StatusCode::NOT_FOUND,
                "ResourceNotFound",
                &format!(
                    "The token '{name}' was not found in registry '{}'.",
                    app.cfg.azure.registry_name
                ),
            );
        };
        for s in slots {
            let p = Password {
                value: random_password(),
                created: now,
                expiry,
            };
            out.push(json!({
                "name": format!("password{}", s + 1),
                "value": p.value,
                "creationTime": acr_time(now),
                "expiry": expiry.map(acr_time),
            }));
            t.passwords[s] = Some(p);
        }
        st.save(&app.cfg.state_file);
    }
    eprintln!("azure-standin: token {name} password(s) generated");
    let result = json!({"username": name, "passwords": out});
    let long_running = app.cfg.generate_credentials_async
        || first(q, "standin-async").is_some_and(|v| v == "true" || v == "1")
        || name.ends_with("-lro");
    if long_running {
        let id = app.start_operation();
        app.finish_operation(&id, Ok(Some(result)));
        return accepted(app, &id, api);
    }
    http::json(StatusCode::OK, &result)
}

async fn token(app: &App, m: Method, name: &str, req: Request<Incoming>) -> Resp {
    let valid = !name.is_empty()
        && name.len() <= 50
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    match m {
        Method::GET => {
            let st = app.state.lock().unwrap();
            match st.tokens.get(name) {
                Some(t) => http::json(StatusCode::OK, &app.token_json(name, t)),
                None => not_found(app, "tokens", name),
            }
        }
        Method::DELETE => {
            let mut st = app.state.lock().unwrap();
            let existed = st.tokens.remove(name).is_some();
            st.save(&app.cfg.state_file);
            http::empty(if existed {
                StatusCode::OK
            } else {
                StatusCode::NO_CONTENT
            })
        }
        Method::PUT | Method::PATCH => {
            if !valid {
                return arm_error(
                    StatusCode::BAD_REQUEST,
                    "InvalidParameter",
                    "Token names are 5-50 characters: letters, digits and hyphens.",
                );
            }
            let body = match body_json(req).await {
                Ok(b) => b,
                Err(r) => return r,
            };
            let props = &body["properties"];
            let mut st = app.state.lock().unwrap();
            let scope_map = match props["scopeMapId"].as_str() {
                Some(id) => id.rsplit('/').next().unwrap_or("").to_string(),
                None => match st.tokens.get(name) {
                    Some(t) => t.scope_map.clone(),
                    None => {
                        return arm_error(
                            StatusCode::BAD_REQUEST,
                            "InvalidParameter",
                            "properties.scopeMapId is required to create a token.",
                        );
                    }
                },
            };
            if st.scope_map_actions(&scope_map).is_none() {
                return arm_error(
                    StatusCode::BAD_REQUEST,
                    "InvalidParameter",
                    &format!("The scope map '{scope_map}' does not exist."),
                );
            }
            let status = props["status"]
                .as_str()
                .unwrap_or("enabled")
                .to_ascii_lowercase();
            let created = !st.tokens.contains_key(name);
            let t = st.tokens.entry(name.to_string()).or_insert_with(|| Token {
                scope_map: scope_map.clone(),
                status: status.clone(),
                created: Timestamp::now(),
                passwords: [None, None],
            });
            t.scope_map = scope_map;
            t.status = status;
            let v = app.token_json(name, t);
            st.save(&app.cfg.state_file);
            http::json(
                if created {
                    StatusCode::CREATED
                } else {
                    StatusCode::OK
                },
                &v,
            )
        }
        _ => arm_error(
            StatusCode::METHOD_NOT_ALLOWED,
            "MethodNotAllowed",
            "use GET, PUT, PATCH or DELETE",
        ),
    }
}

async fn scope_map(app: &App, m: Method, name: &str, req: Request<Incoming>) -> Resp {
    let json_of = |name: &str, actions: &[String]| {
        json!({
            "id": format!("{}/scopeMaps/{name}", app.cfg.registry_id()),
            "name": name,
            "type": "Microsoft.ContainerRegistry/registries/scopeMaps",
            "properties": {"actions": actions, "provisioningState": "Succeeded", "type": if name.starts_with('_') { "SystemDefined" } else { "UserDefined" }},
        })
    };
    match m {
        Method::GET => {
            let st = app.state.lock().unwrap();
            match st.scope_map_actions(name) {
                Some(a) => http::json(StatusCode::OK, &json_of(name, &a)),
                None => not_found(app, "scopeMaps", name),
            }
        }
        Method::DELETE => {
            let mut st = app.state.lock().unwrap();
            let existed = st.scope_maps.remove(name).is_some();
            st.save(&app.cfg.state_file);
            http::empty(if existed {
                StatusCode::OK
            } else {
                StatusCode::NO_CONTENT
            })
        }
        Method::PUT | Method::PATCH => {
            if name.starts_with('_') {
                return arm_error(
                    StatusCode::BAD_REQUEST,
                    "InvalidParameter",
                    "System-defined scope maps cannot be changed.",
                );
            }
            let body = match body_json(req).await {
                Ok(b) => b,
                Err(r) => return r,
            };
            let Some(actions) = body["properties"]["actions"].as_array() else {
                return arm_error(
                    StatusCode::BAD_REQUEST,
                    "InvalidParameter",
                    "properties.actions (e.g. [\"repositories/web/content/read\"]) is required.",
                );
            };
            let actions: Vec<String> = actions
                .iter()
                .filter_map(|a| a.as_str().map(String::from))
                .collect();
            if let Some(bad) = actions.iter().find(|a| {
                let parts: Vec<&str> = a.split('/').collect();
                parts.len() < 4
                    || parts[0] != "repositories"
                    || !matches!(
                        (parts[parts.len() - 2], parts[parts.len() - 1]),
                        ("content", "read" | "write" | "delete") | ("metadata", "read" | "write")
                    )
            }) {
                return arm_error(
                    StatusCode::BAD_REQUEST,
                    "InvalidParameter",
                    &format!(
                        "The scope map action '{bad}' is invalid: use repositories/<name>/(content/read|content/write|content/delete|metadata/read|metadata/write)."
                    ),
                );
            }
            let mut st = app.state.lock().unwrap();
            let created = st
                .scope_maps
                .insert(name.to_string(), actions.clone())
                .is_none();
            st.save(&app.cfg.state_file);
            http::json(
                if created {
                    StatusCode::CREATED
                } else {
                    StatusCode::OK
                },
                &json_of(name, &actions),
            )
        }
        _ => arm_error(
            StatusCode::METHOD_NOT_ALLOWED,
            "MethodNotAllowed",
            "use GET, PUT, PATCH or DELETE",
        ),
    }
}

fn not_found(app: &App, kind: &str, name: &str) -> Resp {
    arm_error(
        StatusCode::NOT_FOUND,
        "ResourceNotFound",
        &format!(
            "The Resource 'Microsoft.ContainerRegistry/registries/{}/{kind}/{name}' under resource group '{}' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix",
            app.cfg.azure.registry_name, app.cfg.azure.resource_group
        ),
    )
}
