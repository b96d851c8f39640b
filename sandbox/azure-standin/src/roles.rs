//! Azure RBAC as ACR applies it to Entra identities that are not configured service principals
//! (managed identities such as AKS's kubelet identity): built-in role definitions and the
//! registry actions their assignments grant.

use crate::App;
use crate::auth::Grant;

pub const ACR_PULL: &str = "7f951dda-4ed3-4680-a7ca-43fe172d538d";
pub const ACR_PUSH: &str = "8311e382-0749-4cb8-b61a-304f252e45ec";
pub const ACR_DELETE: &str = "c2f4ef07-c644-48eb-af81-4b1b4947fb11";
pub const OWNER: &str = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635";
pub const CONTRIBUTOR: &str = "b24988ac-6180-42a0-ab88-20f7382dd24c";
pub const READER: &str = "acdd72a7-3385-48ef-bd42-f606fba81ae7";
pub const REPOSITORY_READER: &str = "b93aa761-3e63-49ed-ac28-beffa264f7ac";
pub const REPOSITORY_WRITER: &str = "2a1e307c-b015-4ebd-883e-5b7698a07328";
pub const REPOSITORY_CONTRIBUTOR: &str = "2efddaa5-3f1f-4df3-97df-af3f13818f4c";

/// The repository roles: the only data-plane roles of a registry in ABAC mode
/// (`roleAssignmentMode: AbacRepositoryPermissions`), which honours none of the others.
pub const ABAC_ROLES: [&str; 3] = [REPOSITORY_READER, REPOSITORY_WRITER, REPOSITORY_CONTRIBUTOR];

/// Built-in roles the stand-in knows: (guid, roleName, registry actions on every repository).
/// ACR's role table: Owner/Contributor pull and push, Reader pulls, AcrPull pulls, AcrPush pulls
/// and pushes, AcrDelete deletes.
pub const ROLES: &[(&str, &str, &[&str])] = &[
    (ACR_PULL, "AcrPull", &["pull", "metadata_read"]),
    (
        ACR_PUSH,
        "AcrPush",
        &["pull", "push", "metadata_read", "metadata_write"],
    ),
    (ACR_DELETE, "AcrDelete", &["delete"]),
    (
        OWNER,
        "Owner",
        &["pull", "push", "delete", "metadata_read", "metadata_write"],
    ),
    (
        CONTRIBUTOR,
        "Contributor",
        &["pull", "push", "delete", "metadata_read", "metadata_write"],
    ),
    (READER, "Reader", &["pull", "metadata_read"]),
    (
        REPOSITORY_READER,
        "Container Registry Repository Reader",
        &["pull", "metadata_read"],
    ),
    (
        REPOSITORY_WRITER,
        "Container Registry Repository Writer",
        &["pull", "push", "metadata_read", "metadata_write"],
    ),
    (
        REPOSITORY_CONTRIBUTOR,
        "Container Registry Repository Contributor",
        &["pull", "push", "delete", "metadata_read", "metadata_write"],
    ),
];

/// The GUID at the end of a role definition id (or the GUID itself).
pub fn role_guid(role_definition_id: &str) -> &str {
    role_definition_id.rsplit('/').next().unwrap_or("")
}

pub fn role(guid: &str) -> Option<&'static (&'static str, &'static str, &'static [&'static str])> {
    ROLES.iter().find(|r| r.0.eq_ignore_ascii_case(guid))
}

/// Whether an assignment at `scope` applies to `resource` (the same scope or one above it).
pub fn covers(scope: &str, resource: &str) -> bool {
    let (s, r) = (
        scope.trim_end_matches('/').to_ascii_lowercase(),
        resource.trim_end_matches('/').to_ascii_lowercase(),
    );
    r == s || (r.starts_with(&s) && r.as_bytes().get(s.len()) == Some(&b'/'))
}

impl App {
    /// What a principal may do on this registry through its role assignments.
    pub fn role_grant(&self, principal_id: &str) -> Grant {
        let registry = self.cfg.registry_id();
        let st = self.state.lock().unwrap();
        let abac = st.network.role_assignment_mode == "AbacRepositoryPermissions";
        let mut actions: Vec<String> = Vec::new();
        for a in st.role_assignments.values() {
            if !a.principal_id.eq_ignore_ascii_case(principal_id) || !covers(&a.scope, &registry) {
                continue;
            }
            // Each mode honours its own roles (ABAC conditions are not evaluated here).
            let guid = role_guid(&a.role_definition_id);
            if abac != ABAC_ROLES.iter().any(|g| g.eq_ignore_ascii_case(guid)) {
                continue;
            }
            if let Some((_, _, acts)) = role(role_guid(&a.role_definition_id)) {
                for x in *acts {
                    if !actions.iter().any(|y| y == x) {
                        actions.push(x.to_string());
                    }
                }
            }
        }
        Grant {
            catalog: actions.iter().any(|a| a == "pull"),
            rules: if actions.is_empty() {
                vec![]
            } else {
                vec![("*".into(), actions)]
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_cover_themselves_and_what_is_below() {
        let reg =
            "/subscriptions/s/resourceGroups/rg/providers/Microsoft.ContainerRegistry/registries/r";
        assert!(covers(reg, reg));
        assert!(covers("/subscriptions/s", reg));
        assert!(covers("/subscriptions/S/resourcegroups/RG", reg));
        assert!(!covers("/subscriptions/s/resourceGroups/r", reg));
        assert!(!covers(&format!("{reg}2"), reg));
        assert!(!covers(&format!("{reg}/repositories/web"), reg));
    }

    #[test]
    fn role_ids_resolve_by_guid() {
        assert_eq!(
            role(role_guid(
                "/subscriptions/s/providers/Microsoft.Authorization/roleDefinitions/7f951dda-4ed3-4680-a7ca-43fe172d538d"
            ))
            .map(|r| r.1),
            Some("AcrPull")
        );
        assert!(role("00000000-0000-0000-0000-000000000001").is_none());
    }
}
