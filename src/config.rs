//! config.toml: schema, location, and validation.
//!
//! Location: `--config FILE`, else `$BERTH_CONFIG`, else the platform config dir
//! (`~/.config/berth/config.toml` on Linux). A missing default file is fine (built-in defaults);
//! a file that exists but does not parse is an error that names the file, the line and the key.
//! A theme file `[ui] theme` names is read and checked with it, so a bad theme stops berth the
//! way a bad config does, before anything is drawn.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Deserialize;

use crate::theme::{BuiltinTheme, Theme};

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
    #[error(
        "theme file {path} (ui.theme in {config}) is not valid: {message}\n  \
         (assets/themes/dark.toml in berth's repository shows the format and every style)"
    )]
    Theme {
        path: PathBuf,
        config: PathBuf,
        message: String,
    },
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
    /// `[[environment]]` entries, in promotion order (dev → staging → prod).
    #[serde(default, rename = "environment")]
    pub environments: Vec<crate::envs::config::EnvironmentConfig>,
    /// `[ui] theme`, loaded with the file so that a bad theme stops berth before it starts
    /// (`Theme::from_env` still lets `NO_COLOR` replace it).
    #[serde(skip)]
    pub theme: Arc<Theme>,
}

/// `[ui]`: how the dashboard looks.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UiSection {
    /// `dark` (default), `light`, `mono`, a theme file's path (absolute, `~/…`, or relative to
    /// this file's directory), or `NAME` for `<config dir>/berth/themes/NAME.toml`.
    pub theme: Option<String>,
}

/// Where `[ui] theme` looks for the file it names.
#[derive(Clone, Debug)]
struct ThemePlaces {
    /// What a relative path is relative to: the config file's directory.
    config_dir: PathBuf,
    /// What `~/` stands for.
    home: Option<PathBuf>,
    /// Where a bare `NAME` is `NAME.toml`.
    themes_dir: Option<PathBuf>,
}

impl ThemePlaces {
    fn of_config(path: &Path) -> Self {
        Self {
            config_dir: path.parent().map(Path::to_owned).unwrap_or_default(),
            home: directories::BaseDirs::new().map(|d| d.home_dir().to_owned()),
            themes_dir: platform_config_dir().map(|d| d.join("themes")),
        }
    }

    /// The theme `setting` names, read and laid on what it extends; every mistake an error
    /// that says which file berth looked at and what to write instead.
    fn load(&self, setting: &str, config: &Path) -> Result<Theme, ConfigError> {
        let invalid = |message: String| ConfigError::Invalid {
            path: config.to_owned(),
            message: format!("ui.theme = {setting:?}: {message}"),
        };
        if let Some(builtin) = BuiltinTheme::from_name(setting) {
            return Ok(builtin.theme());
        }
        let builtins = BuiltinTheme::names();
        if setting.trim().is_empty() {
            return Err(invalid(format!(
                "write a built-in theme ({builtins}) or a theme file's path"
            )));
        }
        let bare_name =
            !setting.ends_with(".toml") && !setting.chars().any(std::path::is_separator);
        // `note` tells where the path came from when that may surprise.
        let (path, note) = if let Some(rest) = setting.strip_prefix("~/") {
            let home = self.home.as_ref().ok_or_else(|| {
                invalid("there is no home directory to find ~/ in; write the path in full".into())
            })?;
            (home.join(rest), "")
        } else if bare_name {
            let dir = self.themes_dir.as_ref().ok_or_else(|| {
                invalid(format!(
                    "not a built-in theme ({builtins}), and this system has no config directory \
                     to look for themes/{setting}.toml in; write the theme file's path"
                ))
            })?;
            (dir.join(format!("{setting}.toml")), "")
        } else if Path::new(setting).is_relative() {
            let note = " (a relative path starts at the config file's directory)";
            (self.config_dir.join(setting), note)
        } else {
            (PathBuf::from(setting), "")
        };
        let text = std::fs::read_to_string(&path).map_err(|e| {
            let shown = path.display();
            invalid(if bare_name && e.kind() == std::io::ErrorKind::NotFound {
                format!(
                    "not a built-in theme ({builtins}), and there is no theme file {shown}; put \
                     the file there, or write its path"
                )
            } else {
                format!("cannot read the theme file {shown}{note}: {e}")
            })
        })?;
        Theme::from_toml(&text).map_err(|message| ConfigError::Theme {
            path,
            config: config.to_owned(),
            message,
        })
    }
}

/// berth's directory in the platform's config dir (`~/.config/berth` on Linux).
fn platform_config_dir() -> Option<PathBuf> {
    directories::ProjectDirs::from("", "", "berth").map(|d| d.config_dir().to_owned())
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
        platform_config_dir().map(|d| d.join("config.toml"))
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
        Self::parse_with(text, path, &ThemePlaces::of_config(path))
    }

    fn parse_with(text: &str, path: &Path, places: &ThemePlaces) -> Result<Self, ConfigError> {
        let mut config: Config = toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: path.to_owned(),
            message: e.to_string(),
        })?;
        config.validate(path)?;
        if let Some(setting) = &config.ui.theme {
            config.theme = Arc::new(places.load(setting, path)?);
        }
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
        let registries: Vec<String> = self.registries.iter().map(|r| r.name.clone()).collect();
        crate::envs::config::validate(&self.environments, &registries).map_err(invalid)?;
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
    use ratatui::style::{Color, Modifier, Style};

    /// A config dir holding config.toml with `[ui] theme = setting`, and the places for it
    /// with the home and the platform's themes dir inside the same temporary directory.
    struct Setup {
        dir: tempfile::TempDir,
        places: ThemePlaces,
    }

    impl Setup {
        fn new() -> Self {
            let dir = tempfile::tempdir().unwrap();
            for sub in ["etc", "home", "themes"] {
                std::fs::create_dir(dir.path().join(sub)).unwrap();
            }
            let places = ThemePlaces {
                config_dir: dir.path().join("etc"),
                home: Some(dir.path().join("home")),
                themes_dir: Some(dir.path().join("themes")),
            };
            Self { dir, places }
        }

        fn file(&self, path: &str, text: &str) -> PathBuf {
            let path = self.dir.path().join(path);
            std::fs::write(&path, text).unwrap();
            path
        }

        fn config(&self) -> PathBuf {
            self.dir.path().join("etc/config.toml")
        }

        fn load(&self, setting: &str) -> Result<Config, ConfigError> {
            let text = format!("[ui]\ntheme = {setting:?}\n");
            Config::parse_with(&text, &self.config(), &self.places)
        }

        fn error(&self, setting: &str) -> String {
            self.load(setting).expect_err(setting).to_string()
        }
    }

    const LIGHT_TWO_CHANGED: &str = "extends = \"light\"\n\
        [styles]\n\
        ok = { fg = \"#00ff00\" }\n\
        alarm = { fg = \"white\", bg = \"magenta\", bold = true }\n";

    fn light_two_changed() -> Theme {
        Theme {
            ok: Style::new().fg(Color::Rgb(0, 0xff, 0)),
            alarm: Style::new()
                .fg(Color::White)
                .bg(Color::Magenta)
                .add_modifier(Modifier::BOLD),
            ..Theme::light()
        }
    }

    #[test]
    fn built_in_names_and_no_setting() {
        let c = Config::parse("[ui]\ntheme = \"light\"\n", Path::new("c.toml")).unwrap();
        assert_eq!(*c.theme, Theme::light());
        let c = Config::parse("[ui]\ntheme = \"mono\"\n", Path::new("c.toml")).unwrap();
        assert_eq!(*c.theme, Theme::mono());
        assert_eq!(
            *Config::parse("", Path::new("c.toml")).unwrap().theme,
            Theme::default()
        );
        assert_eq!(*Config::default().theme, Theme::default());
    }

    #[test]
    fn ui_theme_parses_and_a_wrong_name_is_named() {
        let e = Config::parse("[ui]\ntheme = \"solarized\"\n", Path::new("c.toml"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("solarized") && e.contains("dark"), "{e}");
    }

    /// `./mine.toml` is beside config.toml, wherever berth runs from.
    #[test]
    fn a_relative_path_is_relative_to_the_config_dir() {
        let setup = Setup::new();
        setup.file("etc/mine.toml", LIGHT_TWO_CHANGED);
        let config = setup.file("etc/config.toml", "[ui]\ntheme = \"./mine.toml\"\n");
        assert!(!Path::new("mine.toml").exists());
        let c = Config::from_file(&config).unwrap();
        assert_eq!(*c.theme, light_two_changed());
        let c = setup.load("mine.toml").unwrap();
        assert_eq!(*c.theme, light_two_changed());
    }

    #[test]
    fn absolute_home_and_named_theme_files() {
        let setup = Setup::new();
        let absolute = setup.file("abs.toml", LIGHT_TWO_CHANGED);
        assert_eq!(
            *setup.load(absolute.to_str().unwrap()).unwrap().theme,
            light_two_changed()
        );
        setup.file("home/sea.toml", LIGHT_TWO_CHANGED);
        assert_eq!(
            *setup.load("~/sea.toml").unwrap().theme,
            light_two_changed()
        );
        setup.file("themes/sea.toml", LIGHT_TWO_CHANGED);
        assert_eq!(*setup.load("sea").unwrap().theme, light_two_changed());
    }

    #[test]
    fn a_missing_file_names_the_paths_looked_at() {
        let setup = Setup::new();
        let config = setup.config();
        let e = setup.error("sea");
        let looked_at = setup.dir.path().join("themes/sea.toml");
        assert_eq!(
            e,
            format!(
                "config file {}: ui.theme = \"sea\": not a built-in theme (dark, light, mono), and \
                 there is no theme file {}; put the file there, or write its path",
                config.display(),
                looked_at.display()
            )
        );
        let e = setup.error("./sea.toml");
        let looked_at = setup.dir.path().join("etc/./sea.toml");
        let hint = "(a relative path starts at the config file's directory)";
        assert!(
            e.contains(&format!(
                "cannot read the theme file {} {hint}",
                looked_at.display()
            )),
            "{e}"
        );
        let e = setup.error("~/sea.toml");
        let looked_at = setup.dir.path().join("home/sea.toml");
        assert!(e.contains(&looked_at.display().to_string()), "{e}");
        let e = setup.error("");
        assert!(e.contains("dark, light, mono") && e.contains("path"), "{e}");
    }

    #[test]
    fn a_bad_theme_file_is_named_with_the_config_that_chose_it() {
        let setup = Setup::new();
        let theme = setup.file("etc/mine.toml", "[styles]\nborder = { fg = \"red\" \n");
        let e = setup.error("mine.toml");
        let head = format!(
            "theme file {} (ui.theme in {}) is not valid: ",
            theme.display(),
            setup.config().display()
        );
        assert!(e.starts_with(&head), "{e}");
        assert!(e.contains("line 2"), "{e}");
        setup.file("etc/mine.toml", "[styles]\nbordr = { fg = \"red\" }\n");
        let e = setup.error("mine.toml");
        assert!(e.starts_with(&head), "{e}");
        assert!(e.contains("styles.bordr is not a style berth draws"), "{e}");
        setup.file("etc/mine.toml", "[styles]\nborder = { fg = \"rouge\" }\n");
        let e = setup.error("mine.toml");
        assert!(
            e.contains("styles.border.fg = \"rouge\" is not a colour"),
            "{e}"
        );
        setup.file("etc/mine.toml", "extends = \"solarized\"\n");
        let e = setup.error("mine.toml");
        assert!(
            e.contains("extends = \"solarized\" is not a built-in theme"),
            "{e}"
        );
    }

    #[test]
    fn no_color_wins_over_a_theme_file() {
        let setup = Setup::new();
        setup.file("etc/mine.toml", LIGHT_TWO_CHANGED);
        let c = setup.load("./mine.toml").unwrap();
        let drawn = Theme::effective(c.theme.clone(), Some(std::ffi::OsStr::new("1")));
        assert_eq!(*drawn, Theme::mono());
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
