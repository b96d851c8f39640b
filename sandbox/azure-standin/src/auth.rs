//! Identities and what they may do; Entra's token endpoint; ACR's `/oauth2/exchange` and
//! `/oauth2/token`.

use crate::App;
use crate::config::AcrRole;
use crate::http::{self, Resp, first, pairs, registry_error};
use crate::jwt::{now_secs, random_id, uuid_like};
use hyper::body::Incoming;
use hyper::{Method, Request, StatusCode};
use serde_json::{Value, json};

pub const ACR_AUDIENCE: &str = "https://containerregistry.azure.net";
pub const ARM_AUDIENCE: &str = "https://management.azure.com";
pub const NULL_USER: &str = "00000000-0000-0000-0000-000000000000";
const ACCESS_TOKEN_SECS: i64 = 3600;
const REFRESH_TOKEN_SECS: i64 = 3 * 3600;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Identity {
    Admin,
    /// A service principal, by client (app) id.
    Sp(String),
    /// A scope-map token, by name.
    Token(String),
    /// A managed identity (AKS kubelet identity...), by object id; its rights come from role
    /// assignments.
    Mi(String),
    /// The stand-in itself (listing, import).
    Internal,
}

impl Identity {
    pub fn subject(&self) -> String {
        match self {
            Identity::Admin => "admin".into(),
            Identity::Sp(c) => c.clone(),
            Identity::Token(n) => format!("token:{n}"),
            Identity::Mi(oid) => oid.clone(),
            Identity::Internal => "azure-standin".into(),
        }
    }
}

pub enum AuthFail {
    Invalid,
    Expired,
    Disabled,
}

impl AuthFail {
    pub fn response(&self) -> Resp {
        let msg = match self {
            AuthFail::Invalid => {
                "authentication required, visit https://aka.ms/acr/authorization for more information."
            }
            AuthFail::Expired => {
                "the token password has expired, generate a new password for the token. visit https://aka.ms/acr/authorization for more information."
            }
            AuthFail::Disabled => {
                "the token is disabled, visit https://aka.ms/acr/authorization for more information."
            }
        };
        registry_error(StatusCode::UNAUTHORIZED, "UNAUTHORIZED", msg)
    }
}

/// What an identity may do: catalog listing and per-repository registry actions (`*` = any repo).
pub struct Grant {
    pub catalog: bool,
    pub rules: Vec<(String, Vec<String>)>,
}

const ALL_ACTIONS: [&str; 5] = ["pull", "push", "delete", "metadata_read", "metadata_write"];

impl Grant {
    pub fn allowed(&self, repo: &str) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for (r, acts) in &self.rules {
            if r == "*" || r == repo {
                for a in acts {
                    if !out.contains(a) {
                        out.push(a.clone());
                    }
                }
            }
        }
        out
    }

    /// The `access` claim for the requested scopes: each requested scope with the subset of its
    /// actions this identity holds (possibly none), as the Docker token spec says.
    pub fn access(&self, scopes: &[String]) -> Vec<Value> {
        let mut out = Vec::new();
        for s in scopes {
            let Some((typ, rest)) = s.split_once(':') else {
                continue;
            };
            let Some((name, actions)) = rest.rsplit_once(':') else {
                continue;
            };
            let requested: Vec<&str> = actions.split(',').filter(|a| !a.is_empty()).collect();
            let granted: Vec<String> = match typ {
                "registry" if name == "catalog" => {
                    if self.catalog {
                        vec!["*".into()]
                    } else {
                        vec![]
                    }
                }
                "repository" => {
                    let allowed = self.allowed(name);
                    if requested.contains(&"*") {
                        allowed
                    } else {
                        requested
                            .iter()
                            .filter(|a| allowed.iter().any(|x| x == *a))
                            .map(|a| a.to_string())
                            .collect()
                    }
                }
                _ => vec![],
            };
            out.push(json!({"type": typ, "name": name, "actions": granted}));
        }
        out
    }
}

fn scope_map_rules(actions: &[String]) -> Vec<(String, Vec<String>)> {
    let mut rules: Vec<(String, Vec<String>)> = Vec::new();
    for a in actions {
        let Some(rest) = a.strip_prefix("repositories/") else {
            continue;
        };
        let mut it = rest.rsplitn(3, '/');
        let (Some(verb), Some(kind), Some(repo)) = (it.next(), it.next(), it.next()) else {
            continue;
        };
        let mapped = match (kind, verb) {
            ("content", "read") => "pull",
            ("content", "write") => "push",
            ("content", "delete") => "delete",
            ("metadata", "read") => "metadata_read",
            ("metadata", "write") => "metadata_write",
            _ => continue,
        };
        match rules.iter_mut().find(|(r, _)| r == repo) {
            Some((_, acts)) => acts.push(mapped.into()),
            None => rules.push((repo.into(), vec![mapped.into()])),
        }
    }
    rules
}

impl App {
    pub fn grant(&self, id: &Identity) -> Grant {
        let all = |acts: &[&str]| Grant {
            catalog: true,
            rules: vec![("*".into(), acts.iter().map(|a| a.to_string()).collect())],
        };
        match id {
            Identity::Admin | Identity::Internal => all(&ALL_ACTIONS),
            Identity::Sp(c) => match self.cfg.sp(c).map(|s| s.acr_role) {
                Some(AcrRole::Push) => all(&ALL_ACTIONS),
                Some(AcrRole::Pull) => all(&["pull", "metadata_read"]),
                _ => Grant {
                    catalog: false,
                    rules: vec![],
                },
            },
            Identity::Mi(oid) => self.role_grant(oid),
            Identity::Token(name) => {
                let st = self.state.lock().unwrap();
                let actions = st
                    .tokens
                    .get(name)
                    .and_then(|t| st.scope_map_actions(&t.scope_map))
                    .unwrap_or_default();
                let rules = scope_map_rules(&actions);
                // Only tokens covering every repository may list the catalog.
                let catalog = rules.iter().any(|(r, _)| r == "*");
                Grant { catalog, rules }
            }
        }
    }

    /// Checks a username/password as ACR's Basic auth does.
    pub fn check_basic(&self, user: &str, pass: &str) -> Result<Identity, AuthFail> {
        if user == NULL_USER {
            return self.check_refresh(pass).ok_or(AuthFail::Invalid);
        }
        if user == self.cfg.admin.username {
            let st = self.state.lock().unwrap();
            return if st.admin_passwords.iter().any(|p| p == pass) {
                Ok(Identity::Admin)
            } else {
                Err(AuthFail::Invalid)
            };
        }
        if let Some(sp) = self.cfg.sp(user) {
            return if sp.client_secret == pass {
                Ok(Identity::Sp(sp.client_id.clone()))
            } else {
                Err(AuthFail::Invalid)
            };
        }
        let st = self.state.lock().unwrap();
        if let Some(t) = st.tokens.get(user) {
            let slot = t.passwords.iter().flatten().find(|p| p.value == pass);
            return match slot {
                None => Err(AuthFail::Invalid),
                Some(_) if t.status != "enabled" => Err(AuthFail::Disabled),
                Some(p) if p.expiry.is_some_and(|e| e <= jiff::Timestamp::now()) => {
                    Err(AuthFail::Expired)
                }
                Some(_) => Ok(Identity::Token(user.to_string())),
            };
        }
        Err(AuthFail::Invalid)
    }

    /// The identity behind an ACR refresh token this stand-in issued.
    pub fn check_refresh(&self, token: &str) -> Option<Identity> {
        let c = self.signer.verify(token)?;
        if c.get("standin_kind")?.as_str()? != "acr_refresh"
            || c.get("aud")?.as_str()? != self.cfg.login_server
            || self.control.refresh_expired(c.get("jti")?.as_str()?)
        {
            return None;
        }
        let appid = c.get("appid")?.as_str()?;
        if let Some(s) = self.cfg.sp(appid) {
            return Some(Identity::Sp(s.client_id.clone()));
        }
        let oid = c.get("sub")?.as_str()?;
        self.cfg.mi(oid).map(|m| Identity::Mi(m.object_id.clone()))
    }

    /// Claims of a valid Entra access token this stand-in issued.
    pub fn check_entra(&self, token: &str) -> Option<Value> {
        let c = self.signer.verify(token)?;
        (c.get("standin_kind")?.as_str()? == "entra").then_some(c)
    }

    /// Claims of a valid registry access token this stand-in issued.
    pub fn check_access(&self, token: &str) -> Option<Value> {
        let c = self.signer.verify(token)?;
        (c.get("iss")?.as_str()? == self.cfg.issuer
            && c.get("aud")?.as_str()? == self.cfg.login_server)
            .then_some(c)
    }

    pub fn mint_access(&self, id: &Identity, scopes: &[String]) -> String {
        let now = now_secs();
        let access = self.grant(id).access(scopes);
        self.signer.sign(&json!({
            "jti": uuid_like(),
            "sub": id.subject(),
            "nbf": now - 30,
            "iat": now,
            "exp": now + ACCESS_TOKEN_SECS,
            "iss": self.cfg.issuer,
            "aud": self.cfg.login_server,
            "version": "1.0",
            "grant_type": "refresh_token",
            "access": access,
            // What the client asked for: lets the proxy tell "asked and refused" (ACR's 403) from
            // "never asked" (the registry's 401 challenge, so the client fetches a new token).
            "standin_requested": scopes,
        }))
    }

    /// Whether the client asked for every action of every scope in `needed` (space-separated
    /// `type:name:actions`) when it got this token.
    pub fn token_requested(claims: &Value, needed: &str) -> bool {
        let requested: Vec<&str> = claims["standin_requested"]
            .as_array()
            .map(|a| a.iter().filter_map(|s| s.as_str()).collect())
            .unwrap_or_default();
        let split = |s: &str| -> Option<(String, Vec<String>)> {
            let (head, acts) = s.rsplit_once(':')?;
            Some((
                head.to_string(),
                acts.split(',').map(String::from).collect(),
            ))
        };
        let needed: Vec<_> = needed.split_whitespace().filter_map(split).collect();
        !needed.is_empty()
            && needed.iter().all(|(head, acts)| {
                requested.iter().filter_map(|r| split(r)).any(|(h, a)| {
                    &h == head && (a.iter().any(|x| x == "*") || acts.iter().all(|n| a.contains(n)))
                })
            })
    }

    /// Whether a token this stand-in issued carries `action` on `repo` (or catalog access).
    pub fn token_allows(claims: &Value, typ: &str, name: &str, actions: &[&str]) -> bool {
        claims
            .get("access")
            .and_then(|a| a.as_array())
            .is_some_and(|entries| {
                entries.iter().any(|e| {
                    e["type"] == typ
                        && e["name"] == name
                        && e["actions"].as_array().is_some_and(|acts| {
                            acts.iter()
                                .any(|a| a == "*" || actions.iter().any(|x| a == *x))
                        })
                })
            })
    }
}

fn entra_error(status: StatusCode, error: &str, code: u32, desc: &str) -> Resp {
    let now = jiff::Timestamp::now();
    let trace = uuid_like();
    let corr = uuid_like();
    let description = format!(
        "AADSTS{code}: {desc} Trace ID: {trace} Correlation ID: {corr} Timestamp: {}",
        now.strftime("%Y-%m-%d %H:%M:%SZ")
    );
    http::json(
        status,
        &json!({
            "error": error,
            "error_description": description,
            "error_codes": [code],
            "timestamp": now.strftime("%Y-%m-%d %H:%M:%SZ").to_string(),
            "trace_id": trace,
            "correlation_id": corr,
            "error_uri": format!("https://login.microsoftonline.com/error?code={code}"),
        }),
    )
}

/// `POST /{tenant}/oauth2/v2.0/token` (client credentials).
pub async fn entra_token(app: &App, tenant: &str, req: Request<Incoming>) -> Resp {
    if req.method() != Method::POST {
        return entra_error(
            StatusCode::METHOD_NOT_ALLOWED,
            "invalid_request",
            900561,
            "The endpoint only accepts POST requests.",
        );
    }
    let body = match http::read_body(req.into_body(), 64 * 1024).await {
        Ok(b) => b,
        Err(e) => return entra_error(StatusCode::BAD_REQUEST, "invalid_request", 900144, &e),
    };
    let form = pairs(&String::from_utf8_lossy(&body));
    if !tenant.eq_ignore_ascii_case(&app.cfg.azure.tenant_id) {
        return entra_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            90002,
            &format!(
                "Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud."
            ),
        );
    }
    let grant_type = first(&form, "grant_type").unwrap_or("");
    if grant_type != "client_credentials" {
        return entra_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            70003,
            "The app requested an unsupported grant type.",
        );
    }
    let Some(client_id) = first(&form, "client_id") else {
        return entra_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            900144,
            "The request body must contain the following parameter: 'client_id'.",
        );
    };
    let Some(sp) = app.cfg.sp(client_id) else {
        return entra_error(
            StatusCode::BAD_REQUEST,
            "unauthorized_client",
            700016,
            &format!(
                "Application with identifier '{client_id}' was not found in the directory '{tenant}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant."
            ),
        );
    };
    match first(&form, "client_secret") {
        None => {
            return entra_error(
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                7000216,
                "'client_assertion', 'client_secret' or 'request' is required for the 'client_credentials' grant type.",
            );
        }
        Some(s) if s != sp.client_secret => {
            return entra_error(
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                7000215,
                &format!(
                    "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '{}'.",
                    sp.client_id
                ),
            );
        }
        Some(_) => {}
    }
    let scope = first(&form, "scope").unwrap_or("");
    let resource = scope.trim().strip_suffix("/.default").unwrap_or("");
    let aud = match resource.trim_end_matches('/') {
        ACR_AUDIENCE => ACR_AUDIENCE,
        ARM_AUDIENCE | "https://management.core.windows.net" => ARM_AUDIENCE,
        _ => {
            return entra_error(
                StatusCode::BAD_REQUEST,
                "invalid_scope",
                1002012,
                &format!(
                    "The provided value for scope {scope} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI)."
                ),
            );
        }
    };
    let now = now_secs();
    let tid = &app.cfg.azure.tenant_id;
    let token = app.signer.sign(&json!({
        "aud": aud,
        "iss": format!("https://sts.windows.net/{tid}/"),
        "iat": now,
        "nbf": now,
        "exp": now + 3599,
        "appid": sp.client_id,
        "appidacr": "1",
        "idtyp": "app",
        "oid": sp.oid(),
        "sub": sp.oid(),
        "tid": tid,
        "ver": "1.0",
        "uti": random_id(8),
        "standin_kind": "entra",
    }));
    http::json(
        StatusCode::OK,
        &json!({"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599, "access_token": token}),
    )
}

pub fn openid_configuration(app: &App, base: &str, tenant: &str) -> Resp {
    let _ = app;
    http::json(
        StatusCode::OK,
        &json!({
            "token_endpoint": format!("{base}/{tenant}/oauth2/v2.0/token"),
            "issuer": format!("{base}/{tenant}/v2.0"),
            "authorization_endpoint": format!("{base}/{tenant}/oauth2/v2.0/authorize"),
            "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
            "tenant_region_scope": "NA",
        }),
    )
}

fn scopes_of(pairs: &[(String, String)]) -> Vec<String> {
    pairs
        .iter()
        .filter(|(k, _)| k == "scope")
        .flat_map(|(_, v)| v.split_whitespace().map(str::to_string))
        .collect()
}

fn service_ok(app: &App, pairs: &[(String, String)]) -> bool {
    first(pairs, "service").is_none_or(|s| s == app.cfg.login_server)
}

/// `POST /oauth2/exchange`: Entra access token → ACR refresh token.
pub async fn exchange(app: &App, req: Request<Incoming>) -> Resp {
    if req.method() != Method::POST {
        return registry_error(
            StatusCode::METHOD_NOT_ALLOWED,
            "UNSUPPORTED",
            "The operation is unsupported.",
        );
    }
    let body = match http::read_body(req.into_body(), 256 * 1024).await {
        Ok(b) => b,
        Err(e) => return registry_error(StatusCode::BAD_REQUEST, "UNSUPPORTED", &e),
    };
    let form = pairs(&String::from_utf8_lossy(&body));
    // `access_token` (az acr login, canipull) or `access_token_refresh_token` (kubelet's
    // acr-credential-provider, which sends the Entra token as access_token and refresh_token).
    if !matches!(
        first(&form, "grant_type"),
        Some("access_token" | "access_token_refresh_token")
    ) {
        return registry_error(
            StatusCode::BAD_REQUEST,
            "UNSUPPORTED",
            "grant_type must be access_token or access_token_refresh_token",
        );
    }
    if !service_ok(app, &form) {
        return registry_error(
            StatusCode::UNAUTHORIZED,
            "UNAUTHORIZED",
            "invalid service: the service parameter must be the registry's login server",
        );
    }
    let Some(aad) = first(&form, "access_token").and_then(|t| app.check_entra(t)) else {
        return registry_error(
            StatusCode::UNAUTHORIZED,
            "UNAUTHORIZED",
            "the access token is invalid or expired",
        );
    };
    let tid = aad["tid"].as_str().unwrap_or("");
    if first(&form, "tenant").is_some_and(|t| !t.eq_ignore_ascii_case(tid)) {
        return registry_error(
            StatusCode::UNAUTHORIZED,
            "UNAUTHORIZED",
            "the tenant does not match the access token's tenant",
        );
    }
    if aad["aud"] != ACR_AUDIENCE && aad["aud"] != ARM_AUDIENCE {
        return registry_error(
            StatusCode::UNAUTHORIZED,
            "UNAUTHORIZED",
            "the access token's audience is not accepted by this registry",
        );
    }
    let now = now_secs();
    let refresh = app.signer.sign(&json!({
        "jti": uuid_like(),
        "sub": aad["oid"],
        "appid": aad["appid"],
        "tenant": tid,
        "nbf": now - 30,
        "iat": now,
        "exp": now + REFRESH_TOKEN_SECS,
        "iss": "Azure Container Registry",
        "aud": app.cfg.login_server,
        "version": "1.0",
        "grant_type": "refresh_token",
        "standin_kind": "acr_refresh",
    }));
    http::json(StatusCode::OK, &json!({"refresh_token": refresh}))
}

/// `GET|POST /oauth2/token`: Basic credentials, a password grant or an ACR refresh token →
/// registry access token.
pub async fn token(app: &App, req: Request<Incoming>) -> Resp {
    let (parts, body) = req.into_parts();
    let query = pairs(parts.uri.query().unwrap_or(""));
    let params = match parts.method {
        Method::GET => query,
        Method::POST => {
            let body = match http::read_body(body, 256 * 1024).await {
                Ok(b) => b,
                Err(e) => return registry_error(StatusCode::BAD_REQUEST, "UNSUPPORTED", &e),
            };
            let mut form = pairs(&String::from_utf8_lossy(&body));
            form.extend(query);
            form
        }
        _ => {
            return registry_error(
                StatusCode::METHOD_NOT_ALLOWED,
                "UNSUPPORTED",
                "The operation is unsupported.",
            );
        }
    };
    let scopes = scopes_of(&params);
    let peer = parts.extensions.get::<crate::aks::Peer>().map(|p| p.0);
    let names: Vec<&str> = scopes.iter().map(String::as_str).collect();
    if let Some(denied) = app.firewall(&parts.headers, peer, &names) {
        return denied;
    }
    let identity = if parts.method == Method::GET {
        let Some((u, p)) = http::basic_auth(&parts.headers) else {
            return AuthFail::Invalid.response();
        };
        app.check_basic(&u, &p)
    } else {
        match first(&params, "grant_type") {
            Some("refresh_token") => {
                match first(&params, "refresh_token").and_then(|t| app.check_refresh(t)) {
                    Some(id) => Ok(id),
                    None => Err(AuthFail::Invalid),
                }
            }
            Some("password") => match (first(&params, "username"), first(&params, "password")) {
                (Some(u), Some(p)) => app.check_basic(u, p),
                _ => Err(AuthFail::Invalid),
            },
            _ => {
                return registry_error(
                    StatusCode::BAD_REQUEST,
                    "UNSUPPORTED",
                    "grant_type must be refresh_token or password",
                );
            }
        }
    };
    let identity = match identity {
        Ok(id) => id,
        Err(f) => return f.response(),
    };
    if !service_ok(app, &params) {
        return registry_error(
            StatusCode::UNAUTHORIZED,
            "UNAUTHORIZED",
            "invalid service: the service parameter must be the registry's login server",
        );
    }
    // An Entra identity whose role assignments grant nothing on the registry is refused, as ACR
    // does (401), rather than handed an empty token.
    if let Identity::Mi(oid) = &identity
        && app.role_grant(oid).rules.is_empty()
    {
        return AuthFail::Invalid.response();
    }
    let token = app.mint_access(&identity, &scopes);
    http::json(StatusCode::OK, &json!({"access_token": token}))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grant(rules: &[(&str, &[&str])], catalog: bool) -> Grant {
        Grant {
            catalog,
            rules: rules
                .iter()
                .map(|(r, a)| (r.to_string(), a.iter().map(|s| s.to_string()).collect()))
                .collect(),
        }
    }

    #[test]
    fn access_is_the_granted_subset_of_each_requested_scope() {
        let g = grant(&[("web", &["pull"])], false);
        let scopes = [
            "repository:web:pull,push".to_string(),
            "repository:api:pull".to_string(),
            "registry:catalog:*".to_string(),
        ];
        assert_eq!(
            serde_json::Value::Array(g.access(&scopes)),
            json!([
                {"type": "repository", "name": "web", "actions": ["pull"]},
                {"type": "repository", "name": "api", "actions": []},
                {"type": "registry", "name": "catalog", "actions": []},
            ])
        );
        let all = grant(&[("*", &["pull", "push"])], true);
        assert_eq!(
            serde_json::Value::Array(
                all.access(&["repository:a/b:*".into(), "registry:catalog:*".into()])
            ),
            json!([
                {"type": "repository", "name": "a/b", "actions": ["pull", "push"]},
                {"type": "registry", "name": "catalog", "actions": ["*"]},
            ])
        );
    }

    #[test]
    fn scope_map_actions_become_registry_actions() {
        let rules = scope_map_rules(&[
            "repositories/tools/x/content/read".into(),
            "repositories/tools/x/content/write".into(),
            "repositories/web/metadata/read".into(),
            "bogus".into(),
        ]);
        assert_eq!(
            rules,
            vec![
                (
                    "tools/x".to_string(),
                    vec!["pull".to_string(), "push".to_string()]
                ),
                ("web".to_string(), vec!["metadata_read".to_string()]),
            ]
        );
    }

    #[test]
    fn requested_scope_check() {
        let claims = json!({"standin_requested": ["repository:web:pull,push", "repository:api:*"]});
        assert!(App::token_requested(&claims, "repository:web:push"));
        assert!(App::token_requested(&claims, "repository:api:pull,push"));
        assert!(!App::token_requested(&claims, "repository:worker:pull"));
        assert!(!App::token_requested(
            &claims,
            "repository:web:pull repository:x:pull"
        ));
        assert!(!App::token_requested(&json!({}), "repository:web:pull"));
    }
}
