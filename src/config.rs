//! config.toml: schema, location, and validation.
//!
//! Location: `--config FILE`, else `$BERTH_CONFIG`, else the platform config dir
//! (`~/.config/berth/config.toml` on Linux). A missing default file is fine (built-in defaults);
//! a file that exists but does not parse is an error that names the file, the line and the key.

use std::path::{Path, PathBuf};

use serde::Deserialize;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "config file {path} is not valid: {message}\n  (see config.example.toml for every setting)"
    )]
    Parse { path: PathBuf, message: String },
    #[error("config file {path}: {message}")]
    Invalid { path: PathBuf, message: String },
}

/// The whole file. Every section is optional.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub general: General,
    #[serde(default)]
    pub cluster: ClusterSection,
    /// `[[registry]]` entries: the registries berth browses, retags in and rotates secrets for.
    #[serde(default, rename = "registry")]
    pub registries: Vec<crate::registry::config::RegistryConfig>,
    /// `[keys.<layer>]` overrides of the default key map (assets/keys.default.toml lists them).
    #[serde(default)]
    pub keys: crate::app::keymap::KeysConfig,
    #[serde(default)]
    pub ui: UiSection,
}

/// `[ui]`: how the dashboard looks.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UiSection {
    /// `dark` (default), `light` or `mono`; `NO_COLOR` makes it `mono`.
    pub theme: Option<ThemeName>,
}

/// The built-in themes (`ui::Theme::named` draws them).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ThemeName {
    #[default]
    Dark,
    Light,
    Mono,
}

impl ThemeName {
    /// `NO_COLOR` (set and not empty, as no-color.org defines it) wins over the config: under
    /// it crossterm drops every colour sequence and, with it, the attributes a coloured theme
    /// relies on, so only `mono` stays readable.
    pub fn effective(configured: Option<Self>, no_color: Option<&std::ffi::OsStr>) -> Self {
        if no_color.is_some_and(|v| !v.is_empty()) {
            Self::Mono
        } else {
            configured.unwrap_or_default()
        }
    }

    pub fn from_env(configured: Option<Self>) -> Self {
        Self::effective(configured, std::env::var_os("NO_COLOR").as_deref())
    }
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct General {
    /// Remove every mutation from the TUI and refuse them headless (like `--read-only`).
    #[serde(default)]
    pub read_only: bool,
    /// Audit log path (default: `<data dir>/berth/audit.jsonl`).
    pub audit_log: Option<PathBuf>,
    /// Log file path (default: `<cache dir>/berth/berth.log`). The TUI never logs to the terminal.
    pub log_file: Option<PathBuf>,
}

/// How berth finds the AKS cluster behind the nodes (for the kubelet identity's checks). ARM is
/// read with the Azure credential of the `[[registry]]` the image comes from (its
/// `[registry.arm]` names the registry's resource).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AksConfig {
    /// Default: the subscription in the node's providerID.
    pub subscription_id: Option<String>,
    /// The cluster's resource group and name. Default: read from AKS's node resource group
    /// name `MC_{group}_{cluster}_{location}`, when it splits so.
    pub resource_group: Option<String>,
    pub cluster_name: Option<String>,
    /// The node credential provider's `matchImages` (default: AKS's, the ACR domains).
    pub provider_match_images: Option<Vec<String>>,
}

/// What AKS's `acr-credential-provider` config on the nodes matches.
pub const AKS_PROVIDER_MATCH_IMAGES: [&str; 4] = [
    "*.azurecr.io",
    "*.azurecr.cn",
    "*.azurecr.de",
    "*.azurecr.us",
];

impl AksConfig {
    pub fn match_images(&self) -> Vec<String> {
        self.provider_match_images.clone().unwrap_or_else(|| {
            AKS_PROVIDER_MATCH_IMAGES
                .iter()
                .map(|s| (*s).to_owned())
                .collect()
        })
    }
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClusterSection {
    /// `[cluster.aks]`: the AKS cluster whose nodes pull with the kubelet identity.
    #[serde(default)]
    pub aks: Option<AksConfig>,
    /// Kubeconfig file (default: `$KUBECONFIG`, else `~/.kube/config`).
    pub kubeconfig: Option<PathBuf>,
    /// Context to start in (default: the kubeconfig's current context).
    pub context: Option<String>,
    /// Namespaces to watch; empty means all namespaces.
    #[serde(default)]
    pub namespaces: Vec<String>,
}

impl Config {
    /// The default location, when the platform has a config directory.
    pub fn default_path() -> Option<PathBuf> {
        if let Some(p) = std::env::var_os("BERTH_CONFIG") {
            return Some(PathBuf::from(p));
        }
        directories::ProjectDirs::from("", "", "berth").map(|d| d.config_dir().join("config.toml"))
    }

    /// Loads `explicit` (must exist) or the default path (may be absent).
    pub fn load(explicit: Option<&Path>) -> Result<Self, ConfigError> {
        match explicit {
            Some(path) => Self::from_file(path),
            None => match Self::default_path() {
                Some(path) if path.exists() => Self::from_file(&path),
                _ => Ok(Self::default()),
            },
        }
    }

    pub fn from_file(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::parse(&text, path)
    }

    pub fn parse(text: &str, path: &Path) -> Result<Self, ConfigError> {
        let config: Config = toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: path.to_owned(),
            message: e.to_string(),
        })?;
        config.validate(path)?;
        Ok(config)
    }

    fn validate(&self, path: &Path) -> Result<(), ConfigError> {
        let invalid = |message: String| ConfigError::Invalid {
            path: path.to_owned(),
            message,
        };
        for ns in &self.cluster.namespaces {
            if !is_dns1123_label(ns) {
                return Err(invalid(format!(
                    "cluster.namespaces: {ns:?} is not a valid namespace name \
                     (lowercase letters, digits and '-', at most 63 characters)"
                )));
            }
        }
        let mut names = std::collections::HashSet::new();
        for r in &self.registries {
            r.validate().map_err(invalid)?;
            if !names.insert(r.name.as_str()) {
                return Err(invalid(format!(
                    "two [[registry]] entries are named {:?}; names must be unique",
                    r.name
                )));
            }
        }
        Ok(())
    }

    /// The registry entry named `name`, or the first one when `name` is `None`.
    pub fn registry(&self, name: Option<&str>) -> Option<&crate::registry::config::RegistryConfig> {
        match name {
            Some(n) => self.registries.iter().find(|r| r.name == n),
            None => self.registries.first(),
        }
    }
}

#[cfg(test)]
mod theme_tests {
    use super::*;
    use std::ffi::OsStr;

    #[test]
    fn no_color_means_mono_unless_empty() {
        let light = Some(ThemeName::Light);
        assert_eq!(
            ThemeName::effective(light, Some(OsStr::new("1"))),
            ThemeName::Mono
        );
        assert_eq!(
            ThemeName::effective(light, Some(OsStr::new(""))),
            ThemeName::Light
        );
        assert_eq!(ThemeName::effective(None, None), ThemeName::Dark);
    }

    #[test]
    fn ui_theme_parses_and_a_wrong_name_is_named() {
        let c = Config::parse("[ui]\ntheme = \"light\"\n", Path::new("c.toml")).unwrap();
        assert_eq!(c.ui.theme, Some(ThemeName::Light));
        let e = Config::parse("[ui]\ntheme = \"solarized\"\n", Path::new("c.toml"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("solarized") && e.contains("dark"), "{e}");
    }
}

/// Kubernetes namespace names are DNS-1123 labels.
pub fn is_dns1123_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::parse(text, Path::new("test.toml"))
    }

    #[test]
    fn empty_file_gives_defaults() {
        let c = parse("").unwrap();
        assert!(!c.general.read_only);
        assert!(c.cluster.namespaces.is_empty());
    }

    #[test]
    fn unknown_key_is_an_error_naming_it() {
        let err = parse("[general]\nreadonly = true\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("readonly"), "{err}");
        assert!(err.contains("test.toml"), "{err}");
    }

    #[test]
    fn bad_namespace_is_rejected() {
        let err = parse("[cluster]\nnamespaces = [\"Shop\"]\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("\"Shop\""), "{err}");
    }

    #[test]
    fn registries_are_validated_and_unique() {
        let one = "[[registry]]\nname = \"prod\"\nhost = \"myacr.azurecr.io\"\n";
        let c = parse(one).unwrap();
        assert_eq!(c.registry(None).unwrap().host, "myacr.azurecr.io");
        let err = parse(&format!("{one}{one}")).unwrap_err().to_string();
        assert!(err.contains("\"prod\""), "{err}");
        let err = parse("[[registry]]\nname = \"x\"\nhost = \"https://a.io\"\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("without scheme"), "{err}");
    }

    #[test]
    fn the_example_config_parses_and_names_its_registries() {
        let path = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/config.example.toml"));
        let c = Config::from_file(path).expect("config.example.toml must stay valid");
        let names: Vec<_> = c.registries.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["prod", "ci", "mirror"]);
        assert!(c.registries[0].arm.is_some());
        let (_, warnings) = crate::app::keymap::Keymap::with_overrides(&c.keys);
        assert!(warnings.is_empty(), "{warnings:?}");
    }

    #[test]
    fn dns_labels() {
        assert!(is_dns1123_label("shop-1"));
        assert!(!is_dns1123_label("-shop"));
        assert!(!is_dns1123_label(""));
        assert!(!is_dns1123_label(&"a".repeat(64)));
    }
}
