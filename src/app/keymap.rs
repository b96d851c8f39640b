//! Keys as data: one table of defaults, per-layer bindings, a partial override from config.toml,
//! warnings for bad entries. The help overlay and the command palette are generated from the
//! same [`Command`] vocabulary.

use std::collections::BTreeMap;
use std::fmt;

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use serde::{Deserialize, Serialize};

use super::effects::MutationKind;

/// A named command: what a key (or a palette entry) does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Command {
    Quit,
    Help,
    NextPane,
    PrevPane,
    Up,
    Down,
    PageUp,
    PageDown,
    Top,
    Bottom,
    Enter,
    Back,
    Filter,
    Palette,
    Retag,
    SetImage,
    Restart,
    Undo,
    PauseResume,
    RotateSecret,
    AttachSecret,
    Diagnose,
    Refresh,
    /// The revision picker: undo to any revision.
    Revisions,
    /// The logs of the selected pod or workload.
    Logs,
    /// The tags pane's order: newest first, or highest version first.
    SortTags,
    /// The selected object's YAML.
    Yaml,
    /// The selected object's events.
    Events,
    // Logs layer.
    ToggleTimestamps,
    ToggleWrap,
    TogglePrevious,
    NextContainer,
    LogRange,
    Search,
    SearchNext,
    SearchPrev,
    // Object layer.
    ToggleManagedFields,
    // Dialog layer.
    Confirm,
    Cancel,
    ToggleDryRun,
    ToggleForce,
    TogglePinDigest,
    ToggleLock,
    ApplyFix,
}

impl Command {
    pub const ALL: [Command; 44] = [
        Self::Quit,
        Self::Help,
        Self::NextPane,
        Self::PrevPane,
        Self::Up,
        Self::Down,
        Self::PageUp,
        Self::PageDown,
        Self::Top,
        Self::Bottom,
        Self::Enter,
        Self::Back,
        Self::Filter,
        Self::Palette,
        Self::Retag,
        Self::SetImage,
        Self::Restart,
        Self::Undo,
        Self::PauseResume,
        Self::RotateSecret,
        Self::AttachSecret,
        Self::Diagnose,
        Self::Refresh,
        Self::Confirm,
        Self::Cancel,
        Self::ToggleDryRun,
        Self::ToggleForce,
        Self::TogglePinDigest,
        Self::ToggleLock,
        Self::ApplyFix,
        Self::Revisions,
        Self::Logs,
        Self::SortTags,
        Self::ToggleTimestamps,
        Self::ToggleWrap,
        Self::TogglePrevious,
        Self::NextContainer,
        Self::LogRange,
        Self::Search,
        Self::SearchNext,
        Self::SearchPrev,
        Self::Yaml,
        Self::Events,
        Self::ToggleManagedFields,
    ];

    /// The name used in config.toml and the palette.
    pub fn name(self) -> &'static str {
        match self {
            Self::Quit => "quit",
            Self::Help => "help",
            Self::NextPane => "next-pane",
            Self::PrevPane => "prev-pane",
            Self::Up => "up",
            Self::Down => "down",
            Self::PageUp => "page-up",
            Self::PageDown => "page-down",
            Self::Top => "top",
            Self::Bottom => "bottom",
            Self::Enter => "enter",
            Self::Back => "back",
            Self::Filter => "filter",
            Self::Palette => "palette",
            Self::Retag => "retag",
            Self::SetImage => "set-image",
            Self::Restart => "restart",
            Self::Undo => "undo",
            Self::PauseResume => "pause-resume",
            Self::RotateSecret => "rotate-secret",
            Self::AttachSecret => "attach-secret",
            Self::Diagnose => "diagnose",
            Self::Refresh => "refresh",
            Self::Confirm => "confirm",
            Self::Cancel => "cancel",
            Self::ToggleDryRun => "toggle-dry-run",
            Self::ToggleForce => "toggle-force",
            Self::TogglePinDigest => "toggle-pin-digest",
            Self::ToggleLock => "toggle-lock",
            Self::ApplyFix => "apply-fix",
            Self::Revisions => "revisions",
            Self::Logs => "logs",
            Self::SortTags => "sort",
            Self::ToggleTimestamps => "toggle-timestamps",
            Self::ToggleWrap => "toggle-wrap",
            Self::TogglePrevious => "toggle-previous",
            Self::NextContainer => "next-container",
            Self::LogRange => "log-range",
            Self::Search => "search",
            Self::SearchNext => "search-next",
            Self::SearchPrev => "search-prev",
            Self::Yaml => "yaml",
            Self::Events => "events",
            Self::ToggleManagedFields => "toggle-managed-fields",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.name() == name)
    }

    /// One line for the help overlay and the palette.
    pub fn describe(self) -> &'static str {
        match self {
            Self::Quit => "quit berth",
            Self::Help => "keys of this pane",
            Self::NextPane => "next pane",
            Self::PrevPane => "previous pane",
            Self::Up => "move up",
            Self::Down => "move down",
            Self::PageUp => "page up",
            Self::PageDown => "page down",
            Self::Top => "first row",
            Self::Bottom => "last row (events, logs: follow)",
            Self::Enter => "drill in",
            Self::Back => "back out",
            Self::Filter => "filter this list",
            Self::Palette => "command palette (:ns, :ctx, :reg, :repo, :yaml)",
            Self::Refresh => {
                "reload repositories and the selected repository's tags (object view: the object)"
            }
            Self::Retag => "retag / promote the selected tag",
            Self::SetImage => "set the deployment's image to the selected tag",
            Self::Restart => "rollout restart",
            Self::Undo => "rollout undo (previous revision)",
            Self::PauseResume => "pause / resume the rollout",
            Self::RotateSecret => "rotate the registry pull secret",
            Self::AttachSecret => "attach the pull secret to the service account",
            Self::Diagnose => "diagnose the selected pod",
            Self::Confirm => "apply",
            Self::Cancel => "cancel / close",
            Self::ToggleDryRun => "toggle server-side dry run",
            Self::ToggleForce => "toggle overwrite of an existing tag",
            Self::TogglePinDigest => "toggle tag / pinned digest",
            Self::ToggleLock => "toggle locking the target tag after the retag (ACR)",
            Self::ApplyFix => "apply the fix",
            Self::Revisions => "revisions: pick one to roll back to",
            Self::Logs => "logs of the selected pod or workload (following)",
            Self::SortTags => "sort tags: newest first / highest version first",
            Self::ToggleTimestamps => "show / hide timestamps",
            Self::ToggleWrap => "wrap / cut long lines",
            Self::TogglePrevious => "previous container's log (a crash loop) / the current one",
            Self::NextContainer => "next container (all containers, then each one)",
            Self::LogRange => "how much: last 500 lines, 5 minutes, 1 hour, everything",
            Self::Search => "search (highlights every hit)",
            Self::SearchNext => "next hit (newer)",
            Self::SearchPrev => "previous hit (older)",
            Self::Yaml => "YAML of the selected object (Secrets: keys and sizes only)",
            Self::Events => "events of the selected object",
            Self::ToggleManagedFields => "show / hide metadata.managedFields",
        }
    }

    /// The short label on the key hint bar.
    pub fn hint(self) -> &'static str {
        match self {
            Self::Retag => "retag",
            Self::SetImage => "set image",
            Self::Restart => "restart",
            Self::Undo => "undo",
            Self::PauseResume => "pause",
            Self::RotateSecret => "rotate",
            Self::AttachSecret => "attach",
            Self::Diagnose => "diagnose",
            Self::Filter => "filter",
            Self::Palette => "cmd",
            Self::Help => "help",
            Self::Quit => "quit",
            Self::Confirm => "apply",
            Self::Cancel => "cancel",
            Self::ToggleDryRun => "dry run",
            Self::ToggleForce => "force",
            Self::TogglePinDigest => "digest",
            Self::ToggleLock => "lock",
            Self::ApplyFix => "fix",
            Self::Revisions => "revisions",
            Self::Logs => "logs",
            Self::Yaml => "yaml",
            Self::Events => "events",
            Self::ToggleManagedFields => "managed fields",
            Self::ToggleTimestamps => "time",
            Self::ToggleWrap => "wrap",
            Self::TogglePrevious => "previous",
            Self::NextContainer => "container",
            Self::LogRange => "range",
            Self::Search => "search",
            Self::Enter => "open",
            Self::Back => "back",
            _ => self.name(),
        }
    }

    pub fn mutation(self) -> Option<MutationKind> {
        Some(match self {
            Self::Retag => MutationKind::Retag,
            Self::SetImage => MutationKind::SetImage,
            Self::Restart => MutationKind::Restart,
            Self::Undo | Self::Revisions => MutationKind::Undo,
            Self::PauseResume => MutationKind::PauseResume,
            Self::RotateSecret => MutationKind::RotateSecret,
            Self::AttachSecret => MutationKind::AttachSecret,
            _ => return None,
        })
    }
}

/// Where a binding applies. Lookup tries the layer in front first, then `Global` (dialogs do not
/// fall through to `Global`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Layer {
    Global,
    Repositories,
    Tags,
    Deployments,
    Pods,
    Events,
    Confirm,
    Diagnosis,
    Revisions,
    Logs,
    Object,
}

impl Layer {
    pub const ALL: [Layer; 11] = [
        Self::Global,
        Self::Repositories,
        Self::Tags,
        Self::Deployments,
        Self::Pods,
        Self::Events,
        Self::Confirm,
        Self::Diagnosis,
        Self::Revisions,
        Self::Logs,
        Self::Object,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Self::Global => "global",
            Self::Repositories => "repositories",
            Self::Tags => "tags",
            Self::Deployments => "deployments",
            Self::Pods => "pods",
            Self::Events => "events",
            Self::Confirm => "confirm",
            Self::Diagnosis => "diagnosis",
            Self::Revisions => "revisions",
            Self::Logs => "logs",
            Self::Object => "object",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|l| l.name() == name)
    }

    /// Whether `Global` bindings also apply when this layer is in front.
    pub fn falls_through(self) -> bool {
        !matches!(
            self,
            Self::Confirm | Self::Diagnosis | Self::Revisions | Self::Logs | Self::Object
        )
    }
}

/// A key with modifiers, normalised (a shifted letter is the upper-case letter, no SHIFT flag).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Key {
    pub code: KeyCodeOrd,
    pub ctrl: bool,
    pub alt: bool,
}

/// `KeyCode` restricted to what a binding can name, with an order for stable tables.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum KeyCodeOrd {
    Char(char),
    F(u8),
    Enter,
    Esc,
    Tab,
    BackTab,
    Backspace,
    Delete,
    Up,
    Down,
    Left,
    Right,
    PageUp,
    PageDown,
    Home,
    End,
}

impl Key {
    pub const fn plain(code: KeyCodeOrd) -> Self {
        Self {
            code,
            ctrl: false,
            alt: false,
        }
    }

    pub const fn ch(c: char) -> Self {
        Self::plain(KeyCodeOrd::Char(c))
    }

    pub const fn ctrl(c: char) -> Self {
        Self {
            code: KeyCodeOrd::Char(c),
            ctrl: true,
            alt: false,
        }
    }

    /// From a terminal event; `None` for releases/repeats we ignore and keys no binding can name.
    pub fn from_event(ev: &KeyEvent) -> Option<Self> {
        if ev.kind == KeyEventKind::Release {
            return None;
        }
        let code = match ev.code {
            KeyCode::Char(c) => KeyCodeOrd::Char(c),
            KeyCode::F(n) => KeyCodeOrd::F(n),
            KeyCode::Enter => KeyCodeOrd::Enter,
            KeyCode::Esc => KeyCodeOrd::Esc,
            KeyCode::Tab if ev.modifiers.contains(KeyModifiers::SHIFT) => KeyCodeOrd::BackTab,
            KeyCode::Tab => KeyCodeOrd::Tab,
            KeyCode::BackTab => KeyCodeOrd::BackTab,
            KeyCode::Backspace => KeyCodeOrd::Backspace,
            KeyCode::Delete => KeyCodeOrd::Delete,
            KeyCode::Up => KeyCodeOrd::Up,
            KeyCode::Down => KeyCodeOrd::Down,
            KeyCode::Left => KeyCodeOrd::Left,
            KeyCode::Right => KeyCodeOrd::Right,
            KeyCode::PageUp => KeyCodeOrd::PageUp,
            KeyCode::PageDown => KeyCodeOrd::PageDown,
            KeyCode::Home => KeyCodeOrd::Home,
            KeyCode::End => KeyCodeOrd::End,
            _ => return None,
        };
        let code = match code {
            // Some terminals send ctrl-letters upper-case when shift is held; bindings name the
            // lower-case letter with ctrl.
            KeyCodeOrd::Char(c) if ev.modifiers.contains(KeyModifiers::CONTROL) => {
                KeyCodeOrd::Char(c.to_ascii_lowercase())
            }
            other => other,
        };
        Some(Self {
            code,
            ctrl: ev.modifiers.contains(KeyModifiers::CONTROL),
            alt: ev.modifiers.contains(KeyModifiers::ALT),
        })
    }

    /// Parse a config name: `q`, `G`, `ctrl-c`, `alt-x`, `enter`, `esc`, `tab`, `shift-tab`,
    /// `space`, `up`, `pgdn`, `f1`...
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut ctrl = false;
        let mut alt = false;
        let mut rest = text.trim();
        if rest.is_empty() {
            return Err("empty key name".to_owned());
        }
        // Each step looks at the prefix only: lower-casing and counting the whole rest per
        // modifier made `ctrl-ctrl-…-x` quadratic (a 1 MiB name took minutes).
        loop {
            let prefix = |p: &str| {
                rest.get(..p.len())
                    .is_some_and(|h| h.eq_ignore_ascii_case(p))
            };
            // A single character is the key itself (`c`, `-`), never a modifier.
            if rest.chars().nth(1).is_none() {
                break;
            }
            if prefix("ctrl-") || prefix("c-") {
                ctrl = true;
            } else if prefix("alt-") || prefix("m-") {
                alt = true;
            } else {
                break;
            }
            rest = &rest[rest.find('-').unwrap_or(0) + 1..];
        }
        let mut chars = rest.chars();
        let code = match (chars.next(), chars.next()) {
            (Some(c), None) => KeyCodeOrd::Char(if ctrl { c.to_ascii_lowercase() } else { c }),
            _ => match rest.to_ascii_lowercase().as_str() {
                "enter" | "return" => KeyCodeOrd::Enter,
                "esc" | "escape" => KeyCodeOrd::Esc,
                "tab" => KeyCodeOrd::Tab,
                "shift-tab" | "backtab" => KeyCodeOrd::BackTab,
                "backspace" => KeyCodeOrd::Backspace,
                "delete" | "del" => KeyCodeOrd::Delete,
                "space" => KeyCodeOrd::Char(' '),
                "up" => KeyCodeOrd::Up,
                "down" => KeyCodeOrd::Down,
                "left" => KeyCodeOrd::Left,
                "right" => KeyCodeOrd::Right,
                "pgup" | "pageup" => KeyCodeOrd::PageUp,
                "pgdn" | "pagedown" => KeyCodeOrd::PageDown,
                "home" => KeyCodeOrd::Home,
                "end" => KeyCodeOrd::End,
                f if f.starts_with('f')
                    && f[1..].parse::<u8>().is_ok_and(|n| (1..=24).contains(&n)) =>
                {
                    KeyCodeOrd::F(f[1..].parse().unwrap_or(1))
                }
                _ => {
                    return Err(format!(
                        "unknown key {text:?}: use a single character, ctrl-X, alt-X, or one of \
                         enter esc tab shift-tab backspace delete space up down left right pgup \
                         pgdn home end f1..f24"
                    ));
                }
            },
        };
        Ok(Self { code, ctrl, alt })
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.ctrl {
            f.write_str("ctrl-")?;
        }
        if self.alt {
            f.write_str("alt-")?;
        }
        match self.code {
            KeyCodeOrd::Char(' ') => f.write_str("space"),
            KeyCodeOrd::Char(c) => write!(f, "{c}"),
            KeyCodeOrd::F(n) => write!(f, "f{n}"),
            KeyCodeOrd::Enter => f.write_str("enter"),
            KeyCodeOrd::Esc => f.write_str("esc"),
            KeyCodeOrd::Tab => f.write_str("tab"),
            KeyCodeOrd::BackTab => f.write_str("shift-tab"),
            KeyCodeOrd::Backspace => f.write_str("backspace"),
            KeyCodeOrd::Delete => f.write_str("delete"),
            KeyCodeOrd::Up => f.write_str("↑"),
            KeyCodeOrd::Down => f.write_str("↓"),
            KeyCodeOrd::Left => f.write_str("←"),
            KeyCodeOrd::Right => f.write_str("→"),
            KeyCodeOrd::PageUp => f.write_str("pgup"),
            KeyCodeOrd::PageDown => f.write_str("pgdn"),
            KeyCodeOrd::Home => f.write_str("home"),
            KeyCodeOrd::End => f.write_str("end"),
        }
    }
}

/// The defaults: (layer, command, keys). Order is the help overlay's order.
pub const DEFAULTS: &[(Layer, Command, &[&str])] = &[
    (Layer::Global, Command::Up, &["k", "up"]),
    (Layer::Global, Command::Down, &["j", "down"]),
    (Layer::Global, Command::PageUp, &["pgup", "ctrl-b"]),
    (Layer::Global, Command::PageDown, &["pgdn", "ctrl-f"]),
    (Layer::Global, Command::Top, &["g", "home"]),
    (Layer::Global, Command::Bottom, &["G", "end"]),
    (Layer::Global, Command::Enter, &["enter", "l", "right"]),
    (Layer::Global, Command::Back, &["esc", "h", "left"]),
    (Layer::Global, Command::NextPane, &["tab"]),
    (Layer::Global, Command::PrevPane, &["shift-tab"]),
    (Layer::Global, Command::Filter, &["/"]),
    (Layer::Global, Command::Palette, &[":"]),
    (Layer::Global, Command::Help, &["?"]),
    (Layer::Global, Command::Refresh, &["ctrl-r"]),
    (Layer::Global, Command::Quit, &["q", "ctrl-c"]),
    (Layer::Tags, Command::Retag, &["t"]),
    (Layer::Tags, Command::SetImage, &["i"]),
    (Layer::Tags, Command::SortTags, &["o"]),
    (Layer::Deployments, Command::SetImage, &["i"]),
    (Layer::Deployments, Command::Restart, &["r"]),
    (Layer::Deployments, Command::Undo, &["u"]),
    (Layer::Deployments, Command::Revisions, &["U"]),
    (Layer::Deployments, Command::PauseResume, &["p"]),
    (Layer::Deployments, Command::RotateSecret, &["s"]),
    (Layer::Deployments, Command::AttachSecret, &["a"]),
    (Layer::Deployments, Command::Diagnose, &["d"]),
    (Layer::Deployments, Command::Logs, &["l"]),
    (Layer::Deployments, Command::Yaml, &["y"]),
    (Layer::Deployments, Command::Events, &["e"]),
    (Layer::Pods, Command::SetImage, &["i"]),
    (Layer::Pods, Command::Restart, &["r"]),
    (Layer::Pods, Command::Undo, &["u"]),
    (Layer::Pods, Command::Revisions, &["U"]),
    (Layer::Pods, Command::PauseResume, &["p"]),
    (Layer::Pods, Command::RotateSecret, &["s"]),
    (Layer::Pods, Command::AttachSecret, &["a"]),
    (Layer::Pods, Command::Diagnose, &["d"]),
    (Layer::Pods, Command::Logs, &["l"]),
    (Layer::Pods, Command::Yaml, &["y"]),
    (Layer::Pods, Command::Events, &["e"]),
    (Layer::Events, Command::Yaml, &["y"]),
    (Layer::Events, Command::Events, &["e"]),
    (Layer::Confirm, Command::Confirm, &["y", "enter"]),
    (Layer::Confirm, Command::Cancel, &["n", "esc", "q"]),
    (Layer::Confirm, Command::ToggleDryRun, &["d"]),
    (Layer::Confirm, Command::ToggleForce, &["f"]),
    (Layer::Confirm, Command::TogglePinDigest, &["@"]),
    (Layer::Confirm, Command::ToggleLock, &["l"]),
    (Layer::Diagnosis, Command::ApplyFix, &["f", "enter"]),
    (Layer::Diagnosis, Command::Cancel, &["esc", "q"]),
    (Layer::Diagnosis, Command::Up, &["k", "up"]),
    (Layer::Diagnosis, Command::Down, &["j", "down"]),
    (Layer::Revisions, Command::Confirm, &["enter", "u"]),
    (Layer::Revisions, Command::Cancel, &["esc", "q"]),
    (Layer::Revisions, Command::Up, &["k", "up"]),
    (Layer::Revisions, Command::Down, &["j", "down"]),
    (Layer::Logs, Command::Cancel, &["esc", "q"]),
    (Layer::Logs, Command::Help, &["?"]),
    (Layer::Logs, Command::Up, &["k", "up"]),
    (Layer::Logs, Command::Down, &["j", "down"]),
    (Layer::Logs, Command::PageUp, &["pgup", "ctrl-b"]),
    (Layer::Logs, Command::PageDown, &["pgdn", "ctrl-f", "space"]),
    (Layer::Logs, Command::Top, &["g", "home"]),
    (Layer::Logs, Command::Bottom, &["G", "end"]),
    (Layer::Logs, Command::Search, &["/"]),
    (Layer::Logs, Command::SearchNext, &["n"]),
    (Layer::Logs, Command::SearchPrev, &["N"]),
    (Layer::Logs, Command::ToggleTimestamps, &["t"]),
    (Layer::Logs, Command::ToggleWrap, &["w"]),
    (Layer::Logs, Command::TogglePrevious, &["p"]),
    (Layer::Logs, Command::NextContainer, &["c"]),
    (Layer::Logs, Command::LogRange, &["s"]),
    (Layer::Object, Command::Cancel, &["esc", "q"]),
    (Layer::Object, Command::Help, &["?"]),
    (Layer::Object, Command::Up, &["k", "up"]),
    (Layer::Object, Command::Down, &["j", "down"]),
    (Layer::Object, Command::PageUp, &["pgup", "ctrl-b"]),
    (
        Layer::Object,
        Command::PageDown,
        &["pgdn", "ctrl-f", "space"],
    ),
    (Layer::Object, Command::Top, &["g", "home"]),
    (Layer::Object, Command::Bottom, &["G", "end"]),
    (Layer::Object, Command::Search, &["/"]),
    (Layer::Object, Command::SearchNext, &["n"]),
    (Layer::Object, Command::SearchPrev, &["N"]),
    (Layer::Object, Command::Yaml, &["y"]),
    (Layer::Object, Command::Events, &["e"]),
    (Layer::Object, Command::ToggleManagedFields, &["m"]),
    (Layer::Object, Command::ToggleWrap, &["w"]),
    (Layer::Object, Command::Refresh, &["ctrl-r"]),
];

/// The `[keys]` section of config.toml: per layer, per command, the keys that replace the
/// defaults of that command in that layer (an empty list unbinds it).
///
/// ```toml
/// [keys.global]
/// quit = ["q", "ctrl-q"]
/// [keys.pods]
/// diagnose = "D"
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(transparent)]
pub struct KeysConfig(pub BTreeMap<String, BTreeMap<String, KeyList>>);

#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(untagged)]
pub enum KeyList {
    One(String),
    Many(Vec<String>),
}

impl KeyList {
    fn keys(&self) -> Vec<&str> {
        match self {
            Self::One(k) => vec![k.as_str()],
            Self::Many(ks) => ks.iter().map(String::as_str).collect(),
        }
    }
}

/// One resolved binding.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Binding {
    pub layer: Layer,
    pub command: Command,
    pub keys: Vec<Key>,
}

/// The resolved key map: bindings in table order plus a lookup index.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Keymap {
    bindings: Vec<Binding>,
    index: BTreeMap<(Layer, Key), Command>,
}

impl Default for Keymap {
    fn default() -> Self {
        Self::with_overrides(&KeysConfig::default()).0
    }
}

impl Keymap {
    /// Defaults merged with `config`; returns the warnings for entries that were ignored
    /// (each says what was wrong and what is used instead). Never fails: a bad entry must not
    /// keep berth from starting.
    pub fn with_overrides(config: &KeysConfig) -> (Self, Vec<String>) {
        let mut warnings = Vec::new();
        let mut overridden: Vec<(Layer, Command)> = Vec::new();
        let mut bindings: Vec<Binding> = DEFAULTS
            .iter()
            .map(|(layer, command, keys)| Binding {
                layer: *layer,
                command: *command,
                keys: keys
                    .iter()
                    .map(|k| Key::parse(k).expect("default key names parse"))
                    .collect(),
            })
            .collect();

        for (layer_name, commands) in &config.0 {
            let Some(layer) = Layer::from_name(layer_name) else {
                warnings.push(format!(
                    "[keys.{layer_name}] ignored: no such layer (use one of: {})",
                    Layer::ALL.map(Layer::name).join(", ")
                ));
                continue;
            };
            for (command_name, list) in commands {
                let Some(command) = Command::from_name(command_name) else {
                    warnings.push(format!(
                        "[keys.{layer_name}] {command_name}: no such command, ignored (commands: {})",
                        Command::ALL.map(Command::name).join(", ")
                    ));
                    continue;
                };
                let mut keys = Vec::new();
                for text in list.keys() {
                    match Key::parse(text) {
                        Ok(k) => keys.push(k),
                        Err(e) => warnings.push(format!(
                            "[keys.{layer_name}] {command_name}: {e}; that key is ignored"
                        )),
                    }
                }
                overridden.push((layer, command));
                match bindings
                    .iter_mut()
                    .find(|b| b.layer == layer && b.command == command)
                {
                    Some(b) => b.keys = keys,
                    None => bindings.push(Binding {
                        layer,
                        command,
                        keys,
                    }),
                }
            }
        }

        // Overridden bindings go in last so that the user's choice wins a conflict.
        let mut index = BTreeMap::new();
        let (defaults, users): (Vec<&Binding>, Vec<&Binding>) = bindings
            .iter()
            .partition(|b| !overridden.contains(&(b.layer, b.command)));
        for b in defaults.into_iter().chain(users) {
            for k in &b.keys {
                if let Some(prev) = index.insert((b.layer, *k), b.command)
                    && prev != b.command
                {
                    warnings.push(format!(
                        "[keys.{}] key {k} is bound to both {} and {}; {} wins",
                        b.layer.name(),
                        prev.name(),
                        b.command.name(),
                        b.command.name()
                    ));
                }
            }
        }
        // A key bound twice keeps only its winner in the table the help shows.
        for b in &mut bindings {
            let layer = b.layer;
            let command = b.command;
            b.keys.retain(|k| index.get(&(layer, *k)) == Some(&command));
        }
        (Self { bindings, index }, warnings)
    }

    /// The command for a key with `layer` in front (falling through to `Global` when allowed).
    pub fn lookup(&self, layer: Layer, key: Key) -> Option<Command> {
        if let Some(c) = self.index.get(&(layer, key)) {
            return Some(*c);
        }
        if layer.falls_through() {
            return self.index.get(&(Layer::Global, key)).copied();
        }
        None
    }

    /// Bindings of one layer, in table order.
    pub fn layer(&self, layer: Layer) -> impl Iterator<Item = &Binding> {
        self.bindings
            .iter()
            .filter(move |b| b.layer == layer && !b.keys.is_empty())
    }

    /// The first key of `command` in `layer` (or Global), for hints: "t retag".
    pub fn key_for(&self, layer: Layer, command: Command) -> Option<Key> {
        let find = |l: Layer| {
            self.bindings
                .iter()
                .find(|b| b.layer == l && b.command == command)
                .and_then(|b| b.keys.first().copied())
        };
        find(layer).or_else(|| {
            if layer.falls_through() {
                find(Layer::Global)
            } else {
                None
            }
        })
    }

    /// The defaults as a documented `[keys]` section (what `assets/keys.default.toml` holds):
    /// every layer, every command, its keys and what it does.
    pub fn defaults_toml() -> String {
        let mut out = String::from(
            "# berth's default keys. Copy the lines you want to change into config.toml;\n\
             # listed keys replace that command's defaults in that layer, [] unbinds it.\n\
             # Key names: a character, ctrl-X, alt-X, enter esc tab shift-tab backspace\n\
             # delete space up down left right pgup pgdn home end f1..f24.\n",
        );
        for layer in Layer::ALL {
            if !DEFAULTS.iter().any(|(l, _, _)| *l == layer) {
                continue;
            }
            out.push_str(&format!("\n[keys.{}]\n", layer.name()));
            for (l, cmd, keys) in DEFAULTS {
                if *l != layer {
                    continue;
                }
                let list = keys
                    .iter()
                    .map(|k| format!("{k:?}"))
                    .collect::<Vec<_>>()
                    .join(", ");
                let line = format!("{} = [{list}]", cmd.name());
                out.push_str(&format!("{line:<40}# {}\n", cmd.describe()));
            }
        }
        out
    }

    /// Keys joined for display: "k/↑".
    pub fn keys_label(keys: &[Key]) -> String {
        keys.iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("/")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(code: KeyCode, mods: KeyModifiers) -> KeyEvent {
        KeyEvent::new(code, mods)
    }

    #[test]
    fn defaults_resolve_per_layer_with_global_fallthrough() {
        let km = Keymap::default();
        assert_eq!(km.lookup(Layer::Tags, Key::ch('t')), Some(Command::Retag));
        assert_eq!(km.lookup(Layer::Pods, Key::ch('t')), None);
        assert_eq!(km.lookup(Layer::Pods, Key::ch('j')), Some(Command::Down));
        assert_eq!(
            km.lookup(Layer::Pods, Key::ch('d')),
            Some(Command::Diagnose)
        );
        assert_eq!(
            km.lookup(Layer::Confirm, Key::ch('d')),
            Some(Command::ToggleDryRun)
        );
        // Dialogs do not fall through: `q` cancels a confirmation, never quits.
        assert_eq!(
            km.lookup(Layer::Confirm, Key::ch('q')),
            Some(Command::Cancel)
        );
        assert_eq!(km.lookup(Layer::Confirm, Key::ch('j')), None);
    }

    #[test]
    fn key_events_normalise() {
        let g = Key::from_event(&ev(KeyCode::Char('G'), KeyModifiers::SHIFT)).unwrap();
        assert_eq!(g, Key::ch('G'));
        let cc = Key::from_event(&ev(KeyCode::Char('C'), KeyModifiers::CONTROL)).unwrap();
        assert_eq!(cc, Key::ctrl('c'));
        let bt = Key::from_event(&ev(KeyCode::BackTab, KeyModifiers::SHIFT)).unwrap();
        assert_eq!(bt, Key::plain(KeyCodeOrd::BackTab));
    }

    #[test]
    fn modifier_prefixes_parse_in_linear_time() {
        // Found by tests/fuzz_parsers.rs: each modifier re-lowercased and re-counted the whole
        // name, so `ctrl-ctrl-…-x` was quadratic.
        let long = format!("{}x", "ctrl-".repeat(200_000));
        assert_eq!(Key::parse(&long), Ok(Key::ctrl('x')));
        assert_eq!(
            Key::parse("C-M-x"),
            Ok(Key {
                code: KeyCodeOrd::Char('x'),
                ctrl: true,
                alt: true
            })
        );
        assert_eq!(Key::parse("c"), Ok(Key::ch('c')));
        assert_eq!(Key::parse("ctrl--"), Ok(Key::ctrl('-')));
        assert!(Key::parse("ctrl-").is_err());
        assert!(Key::parse("c-é").is_ok());
        assert!(Key::parse("éé-x").is_err());
    }

    #[test]
    fn parse_and_display_round_trip() {
        for name in [
            "q",
            "G",
            "ctrl-c",
            "alt-x",
            "enter",
            "shift-tab",
            "space",
            "pgdn",
            "f5",
        ] {
            let k = Key::parse(name).unwrap();
            let shown = k.to_string();
            assert_eq!(Key::parse(&shown).unwrap_or(k), k, "{name} → {shown}");
        }
        assert!(Key::parse("hyper-x").unwrap_err().contains("unknown key"));
        assert!(Key::parse("").is_err());
    }

    #[test]
    fn overrides_replace_and_warn() {
        let cfg: KeysConfig = toml::from_str(
            r#"
            [global]
            quit = ["ctrl-q"]
            [pods]
            diagnose = "D"
            restart = ["nope-key", "R"]
            [nonsense]
            quit = "x"
            [tags]
            frobnicate = "z"
            "#,
        )
        .unwrap();
        let (km, warnings) = Keymap::with_overrides(&cfg);
        assert_eq!(km.lookup(Layer::Repositories, Key::ch('q')), None);
        assert_eq!(
            km.lookup(Layer::Repositories, Key::ctrl('q')),
            Some(Command::Quit)
        );
        assert_eq!(
            km.lookup(Layer::Pods, Key::ch('D')),
            Some(Command::Diagnose)
        );
        assert_eq!(km.lookup(Layer::Pods, Key::ch('d')), None);
        assert_eq!(km.lookup(Layer::Pods, Key::ch('R')), Some(Command::Restart));
        assert_eq!(warnings.len(), 3, "{warnings:#?}");
        assert!(warnings.iter().any(|w| w.contains("nope-key")));
        assert!(warnings.iter().any(|w| w.contains("[keys.nonsense]")));
        assert!(warnings.iter().any(|w| w.contains("frobnicate")));
    }

    #[test]
    fn shipped_default_keys_file_is_the_table() {
        let text = Keymap::defaults_toml();
        let shipped = include_str!("../../assets/keys.default.toml");
        if std::env::var_os("BERTH_BLESS_KEYS").is_some() && shipped != text {
            let path = concat!(env!("CARGO_MANIFEST_DIR"), "/assets/keys.default.toml");
            std::fs::write(path, &text).expect("write assets/keys.default.toml");
        }
        assert_eq!(
            shipped, text,
            "assets/keys.default.toml is stale: run this test with BERTH_BLESS_KEYS=1 to \
             regenerate it from Keymap::defaults_toml(), then again"
        );
        #[derive(serde::Deserialize)]
        struct File {
            keys: KeysConfig,
        }
        let f: File = toml::from_str(&text).unwrap();
        let (km, warnings) = Keymap::with_overrides(&f.keys);
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!(km, Keymap::default());
    }

    #[test]
    fn conflicting_override_warns_and_last_wins() {
        let cfg: KeysConfig = toml::from_str("[pods]\nrestart = \"d\"\n").unwrap();
        let (km, warnings) = Keymap::with_overrides(&cfg);
        assert_eq!(km.lookup(Layer::Pods, Key::ch('d')), Some(Command::Restart));
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(warnings[0].contains("bound to both"));
        // The help no longer lists `d` for diagnose.
        assert!(
            km.layer(Layer::Pods)
                .all(|b| b.command != Command::Diagnose)
        );
    }
}
