//! `[[environment]]` entries of config.toml: where each environment runs, in promotion order.

use std::path::PathBuf;

use serde::Deserialize;

/// One environment (dev, staging, prod…). The order of the entries is the promotion order.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct EnvironmentConfig {
    /// The name commands use (`--from staging`): lowercase letters, digits and '-'.
    pub name: String,
    /// The kube context (default: the one berth uses: --context, cluster.context, else the
    /// kubeconfig's current context).
    pub context: Option<String>,
    /// The kubeconfig holding that context (default: berth's: --kubeconfig, cluster.kubeconfig,
    /// $KUBECONFIG, ~/.kube/config).
    pub kubeconfig: Option<PathBuf>,
    /// The namespace the environment's workloads live in (or `namespaces` for several; default:
    /// the context's namespace).
    pub namespace: Option<String>,
    #[serde(default)]
    pub namespaces: Vec<String>,
    /// The `[[registry]]` the environment pulls from (default: the one whose host the
    /// workload's image names).
    pub registry: Option<String>,
    /// The tag a promotion into this environment moves to what it ships (e.g. `prod`), so the
    /// registry says what runs where. Without it a promotion sets the digest alone.
    pub tag: Option<String>,
}

impl EnvironmentConfig {
    /// The namespaces named (`namespace` first); empty means the context's own.
    pub fn namespace_list(&self) -> Vec<String> {
        let mut out: Vec<String> = self.namespace.iter().cloned().collect();
        for ns in &self.namespaces {
            if !out.contains(ns) {
                out.push(ns.clone());
            }
        }
        out
    }
}

/// Checks the entries against each other and the registries; the message names the entry and
/// the mistake.
pub fn validate(envs: &[EnvironmentConfig], registries: &[String]) -> Result<(), String> {
    let mut seen = std::collections::HashSet::new();
    for e in envs {
        if !crate::config::is_dns1123_label(&e.name) {
            return Err(format!(
                "[[environment]] name {:?} is not valid: use lowercase letters, digits and '-' \
                 (at most 63), as commands take it (`berth promote web --from dev --to {}`)",
                e.name,
                e.name.to_lowercase()
            ));
        }
        if !seen.insert(e.name.as_str()) {
            return Err(format!(
                "two [[environment]] entries are named {:?}; names must be unique",
                e.name
            ));
        }
        for ns in e.namespace_list() {
            if !crate::config::is_dns1123_label(&ns) {
                return Err(format!(
                    "[[environment]] {}: {ns:?} is not a valid namespace name (lowercase \
                     letters, digits and '-', at most 63 characters)",
                    e.name
                ));
            }
        }
        if let Some(tag) = &e.tag {
            crate::reference::validate_tag(tag)
                .map_err(|err| format!("[[environment]] {}: tag: {}", e.name, err.cli_message()))?;
        }
        if let Some(r) = &e.registry
            && !registries.iter().any(|n| n == r)
        {
            return Err(format!(
                "[[environment]] {}: registry {r:?} is not a [[registry]] of this file \
                 (configured: {})",
                e.name,
                if registries.is_empty() {
                    "none".to_owned()
                } else {
                    registries.join(", ")
                }
            ));
        }
    }
    Ok(())
}

/// The environment named `name`, or an error listing the configured ones.
pub fn find<'a>(
    envs: &'a [EnvironmentConfig],
    name: &str,
) -> Result<&'a EnvironmentConfig, String> {
    envs.iter().find(|e| e.name == name).ok_or_else(|| {
        if envs.is_empty() {
            format!(
                "no environment {name:?}: config.toml has no [[environment]] entries (see \
                 config.example.toml)"
            )
        } else {
            format!(
                "no environment {name:?} in config.toml (configured, in promotion order: {})",
                envs.iter()
                    .map(|e| e.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> EnvironmentConfig {
        EnvironmentConfig {
            name: name.into(),
            ..Default::default()
        }
    }

    #[test]
    fn names_namespaces_tags_and_registries_are_checked() {
        let regs = vec!["acr".to_owned()];
        assert!(validate(&[env("dev"), env("prod")], &regs).is_ok());
        let e = validate(&[env("Prod")], &regs).unwrap_err();
        assert!(e.contains("\"Prod\"") && e.contains("--to prod"), "{e}");
        let e = validate(&[env("dev"), env("dev")], &regs).unwrap_err();
        assert!(e.contains("unique"), "{e}");
        let mut bad_ns = env("dev");
        bad_ns.namespaces = vec!["Shop".into()];
        assert!(validate(&[bad_ns], &regs).unwrap_err().contains("\"Shop\""));
        let mut bad_tag = env("dev");
        bad_tag.tag = Some("pro d".into());
        let e = validate(&[bad_tag], &regs).unwrap_err();
        assert!(e.starts_with("[[environment]] dev: tag:"), "{e}");
        let mut bad_reg = env("dev");
        bad_reg.registry = Some("nope".into());
        let e = validate(&[bad_reg], &regs).unwrap_err();
        assert!(
            e.contains("\"nope\"") && e.contains("configured: acr"),
            "{e}"
        );
    }

    #[test]
    fn namespace_and_namespaces_merge_in_order() {
        let mut e = env("dev");
        e.namespace = Some("a".into());
        e.namespaces = vec!["b".into(), "a".into()];
        assert_eq!(e.namespace_list(), ["a", "b"]);
    }

    #[test]
    fn an_unknown_environment_lists_the_known_ones() {
        let envs = [env("dev"), env("prod")];
        assert_eq!(find(&envs, "prod").unwrap().name, "prod");
        let e = find(&envs, "stage").unwrap_err();
        assert!(e.contains("dev, prod"), "{e}");
        assert!(find(&[], "x").unwrap_err().contains("no [[environment]]"));
    }
}
