//! Mutable state shared by every endpoint, persisted as JSON after each change so a restart keeps
//! rotated passwords, tokens, push times and operations.

use crate::config::Config;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

#[derive(Debug, Serialize, Deserialize, Clone)]
pub struct Password {
    pub value: String,
    pub created: Timestamp,
    pub expiry: Option<Timestamp>,
}

#[derive(Debug, Serialize, Deserialize, Clone)]
pub struct Token {
    pub scope_map: String,
    /// `enabled` or `disabled`.
    pub status: String,
    pub created: Timestamp,
    /// Slots password1 and password2.
    pub passwords: [Option<Password>; 2],
}

#[derive(Debug, Serialize, Deserialize, Clone)]
pub struct Push {
    pub digest: String,
    pub created: Timestamp,
    pub updated: Timestamp,
}

#[derive(Debug, Serialize, Deserialize, Clone)]
pub struct Operation {
    pub status: String,
    pub started: Timestamp,
    pub ended: Option<Timestamp>,
    pub error: Option<serde_json::Value>,
    /// Body the operation's Location answers with once done.
    pub result: Option<serde_json::Value>,
}

#[derive(Debug, Serialize, Deserialize, Default)]
pub struct State {
    pub admin_passwords: [String; 2],
    pub tokens: BTreeMap<String, Token>,
    /// Scope maps created at run time (config ones and the built-ins are added on load).
    pub scope_maps: BTreeMap<String, Vec<String>>,
    /// repository → tag → when it was last pushed through the stand-in.
    pub pushes: BTreeMap<String, BTreeMap<String, Push>>,
    /// `repo@digest` → first push time.
    pub manifest_pushes: BTreeMap<String, Timestamp>,
    pub operations: BTreeMap<String, Operation>,
    /// Azure RBAC role assignments, by name (a GUID).
    #[serde(default)]
    pub role_assignments: BTreeMap<String, RoleAssignment>,
    /// Resource ids of the user-assigned identities on the node pool's VMSS.
    #[serde(default)]
    pub vmss_identities: Vec<String>,
    /// The registry's network access settings.
    #[serde(default)]
    pub network: Network,
    /// Whether the AKS part of the state (attach-acr assignment, VMSS identity) was set up.
    #[serde(default)]
    pub aks_seeded: bool,
    /// repository → tag → its `changeableAttributes`, for the tags whose attributes were set
    /// (`PATCH /acr/v1/{repo}/_tags/{tag}`); every other tag has all enabled.
    #[serde(default)]
    pub tag_attributes: BTreeMap<String, BTreeMap<String, Attributes>>,
}

/// ACR's `changeableAttributes`.
#[derive(Debug, Serialize, Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Attributes {
    pub delete_enabled: bool,
    pub write_enabled: bool,
    pub read_enabled: bool,
    pub list_enabled: bool,
}

impl Default for Attributes {
    fn default() -> Self {
        Attributes {
            delete_enabled: true,
            write_enabled: true,
            read_enabled: true,
            list_enabled: true,
        }
    }
}

impl State {
    /// The attributes of `repo:tag` (all enabled unless set).
    pub fn attributes(&self, repo: &str, tag: &str) -> Attributes {
        self.tag_attributes
            .get(repo)
            .and_then(|m| m.get(tag))
            .copied()
            .unwrap_or_default()
    }
}

#[derive(Debug, Serialize, Deserialize, Clone)]
pub struct RoleAssignment {
    /// Full id: `/subscriptions/{sub}/providers/Microsoft.Authorization/roleDefinitions/{guid}`.
    pub role_definition_id: String,
    pub principal_id: String,
    pub principal_type: String,
    pub scope: String,
    pub created: Timestamp,
}

#[derive(Debug, Serialize, Deserialize, Clone)]
pub struct Network {
    /// `Allow` or `Deny`.
    pub default_action: String,
    /// Allowed IPv4 addresses or CIDR ranges.
    pub ip_rules: Vec<String>,
    /// `Enabled` or `Disabled`.
    pub public_network_access: String,
    /// `LegacyRegistryPermissions` (AcrPull & co. grant) or `AbacRepositoryPermissions` (only
    /// the repository roles do).
    #[serde(default = "legacy_mode")]
    pub role_assignment_mode: String,
}

fn legacy_mode() -> String {
    "LegacyRegistryPermissions".into()
}

impl Default for Network {
    fn default() -> Self {
        Network {
            default_action: "Allow".into(),
            ip_rules: vec![],
            public_network_access: "Enabled".into(),
            role_assignment_mode: legacy_mode(),
        }
    }
}

impl State {
    /// The persisted state if there is one, else the initial state from the config. Config tokens
    /// and scope maps missing from a persisted state are added (never overwritten).
    pub fn load(cfg: &Config) -> Result<Self, String> {
        let path = &cfg.state_file;
        let mut st = if path.exists() {
            let text = std::fs::read_to_string(path)
                .map_err(|e| format!("state {}: {e}", path.display()))?;
            serde_json::from_str(&text).map_err(|e| format!("state {}: {e}", path.display()))?
        } else {
            State {
                admin_passwords: [cfg.admin.password.clone(), cfg.admin.password2.clone()],
                ..Default::default()
            }
        };
        let now = Timestamp::now();
        for sm in &cfg.scope_maps {
            st.scope_maps
                .entry(sm.name.clone())
                .or_insert_with(|| sm.actions.clone());
        }
        for t in &cfg.tokens {
            st.tokens.entry(t.name.clone()).or_insert_with(|| {
                let pw = |v: &Option<String>, e: &Option<Timestamp>| {
                    v.as_ref().map(|value| Password {
                        value: value.clone(),
                        created: now,
                        expiry: *e,
                    })
                };
                Token {
                    scope_map: t.scope_map.clone(),
                    status: "enabled".into(),
                    created: now,
                    passwords: [
                        pw(&t.password1, &t.password1_expiry),
                        pw(&t.password2, &t.password2_expiry),
                    ],
                }
            });
        }
        if let Some(aks) = &cfg.aks
            && !st.aks_seeded
        {
            st.aks_seeded = true;
            st.vmss_identities = vec![cfg.mi_resource_id(&aks.kubelet_identity)];
            if aks.attach_acr {
                // What `az aks create --attach-acr` (ensure_aks_acr) makes.
                st.role_assignments.insert(
                    crate::jwt::uuid_like(),
                    RoleAssignment {
                        role_definition_id: format!(
                            "/subscriptions/{}/providers/Microsoft.Authorization/roleDefinitions/{}",
                            cfg.azure.subscription_id,
                            crate::roles::ACR_PULL
                        ),
                        principal_id: aks.kubelet_identity.object_id.clone(),
                        principal_type: "ServicePrincipal".into(),
                        scope: cfg.registry_id(),
                        created: now,
                    },
                );
            }
        }
        Ok(st)
    }

    pub fn save(&self, path: &Path) {
        let tmp = path.with_extension("json.tmp");
        let text = serde_json::to_string_pretty(self).expect("state serializes");
        // Holds passwords: readable by the owner only.
        let write = || -> std::io::Result<()> {
            use std::io::Write;
            use std::os::unix::fs::OpenOptionsExt;
            let mut f = std::fs::OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .mode(0o600)
                .open(&tmp)?;
            f.write_all(text.as_bytes())?;
            std::fs::rename(&tmp, path)
        };
        if let Err(e) = write() {
            eprintln!(
                "azure-standin: cannot save state to {}: {e}",
                path.display()
            );
        }
    }

    /// The actions of a scope map: built-ins (`_repositories_pull|push|admin`) or a custom one.
    pub fn scope_map_actions(&self, name: &str) -> Option<Vec<String>> {
        let all = |acts: &[&str]| {
            acts.iter()
                .map(|a| format!("repositories/*/{a}"))
                .collect::<Vec<_>>()
        };
        match name {
            "_repositories_pull" => Some(all(&["content/read", "metadata/read"])),
            "_repositories_push" => Some(all(&[
                "content/read",
                "content/write",
                "metadata/read",
                "metadata/write",
            ])),
            "_repositories_admin" => Some(all(&[
                "content/read",
                "content/write",
                "content/delete",
                "metadata/read",
                "metadata/write",
            ])),
            other => self.scope_maps.get(other).cloned(),
        }
    }
}
