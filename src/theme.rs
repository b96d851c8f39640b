//! Colours and styles in one place, so panes never hard-code a colour. The shipped themes use
//! named ANSI colours only: they follow the user's terminal palette instead of fighting it.
//! Three built in: `dark` (the default), `light` (no yellow or gray text, which a light
//! background washes out) and `mono` (attributes only), which `NO_COLOR` selects.
//!
//! `dark` and `light` are theme files (assets/themes/, compiled in), read by the same code as a
//! user's theme file (`[ui] theme`, found by `config.rs`); the format is described at the top of
//! assets/themes/dark.toml. `mono` is code: it is what berth falls back to when colour cannot be
//! trusted, so nothing may fail to load it, and built from `Style::new()` and modifiers alone it
//! cannot carry a colour by accident.
//!
//! Not under `ui/`: `State` carries the theme config.toml chose, and `app` never imports `ui`.

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::str::FromStr;
use std::sync::{Arc, LazyLock};

use ratatui::style::{Color, Modifier, Style};
use serde::Deserialize;
use toml::Spanned;

use crate::app::action::Level;

/// Defines [`Theme`] from one list of its styles, so a theme file's style names are the field
/// names by construction and no second list can miss a style.
macro_rules! theme_styles {
    ($($(#[$doc:meta])* $field:ident,)*) => {
        #[derive(Clone, Debug, PartialEq, Eq)]
        pub struct Theme {
            $($(#[$doc])* pub $field: Style,)*
        }

        impl Theme {
            /// Every style, by the name theme files give it, in field order.
            pub const STYLE_NAMES: &[&str] = &[$(stringify!($field)),*];

            fn style_mut(&mut self, name: &str) -> Option<&mut Style> {
                match name {
                    $(stringify!($field) => Some(&mut self.$field),)*
                    _ => None,
                }
            }

            /// The terminal's own style everywhere: what dark.toml, which extends nothing, is
            /// laid on.
            fn plain() -> Self {
                Self { $($field: Style::new(),)* }
            }
        }
    };
}

theme_styles! {
    border,
    border_focused,
    title,
    title_focused,
    header,
    text,
    dim,
    accent,
    selected,
    selected_unfocused,
    ok,
    progressing,
    warning,
    error,
    /// Failures that must be seen (ImagePullBackOff, CrashLoopBackOff): reversed red, bold.
    alarm,
    paused,
    running_mark,
    own_action,
    key,
    key_disabled,
    status_bar,
    status_live,
    status_bad,
    read_only,
    dialog_border,
    dialog_danger,
    old_value,
    new_value,
    input,
}

/// The themes berth ships, by the names `[ui] theme` and a theme file's `extends` give them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum BuiltinTheme {
    #[default]
    Dark,
    Light,
    Mono,
}

impl BuiltinTheme {
    const ALL: [(&str, Self); 3] = [
        ("dark", Self::Dark),
        ("light", Self::Light),
        ("mono", Self::Mono),
    ];

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.iter().find(|(n, _)| *n == name).map(|(_, t)| *t)
    }

    /// "dark, light, mono", for messages.
    pub fn names() -> String {
        Self::ALL.map(|(n, _)| n).join(", ")
    }

    pub fn theme(self) -> Theme {
        match self {
            Self::Dark => Theme::default(),
            Self::Light => Theme::light(),
            Self::Mono => Theme::mono(),
        }
    }
}

const DARK_FILE: &str = include_str!("../assets/themes/dark.toml");
const LIGHT_FILE: &str = include_str!("../assets/themes/light.toml");

// Shipped files, parsed once: the tests prove they load, so a failure here is a build defect.
static DARK: LazyLock<Theme> = LazyLock::new(|| {
    ThemeFile::parse(DARK_FILE)
        .and_then(|file| file.lay_on(Theme::plain()))
        .unwrap_or_else(|e| panic!("assets/themes/dark.toml: {e}"))
});
static LIGHT: LazyLock<Theme> = LazyLock::new(|| {
    Theme::from_toml(LIGHT_FILE).unwrap_or_else(|e| panic!("assets/themes/light.toml: {e}"))
});

/// The dark theme.
impl Default for Theme {
    fn default() -> Self {
        DARK.clone()
    }
}

impl Theme {
    /// `NO_COLOR` (set and not empty, as no-color.org defines it) wins over the config: under
    /// it crossterm drops every colour sequence and, with it, the attributes a coloured theme
    /// relies on, so only `mono` stays readable.
    pub fn effective(configured: Arc<Self>, no_color: Option<&OsStr>) -> Arc<Self> {
        if no_color.is_some_and(|v| !v.is_empty()) {
            Arc::new(Self::mono())
        } else {
            configured
        }
    }

    pub fn from_env(configured: Arc<Self>) -> Arc<Self> {
        Self::effective(configured, std::env::var_os("NO_COLOR").as_deref())
    }

    /// For light backgrounds (assets/themes/light.toml).
    pub fn light() -> Self {
        LIGHT.clone()
    }

    /// A theme file's text: its styles laid on the theme it extends. `Err` says what is wrong
    /// and where, in words for the user who wrote the file.
    pub fn from_toml(text: &str) -> Result<Self, String> {
        let file = ThemeFile::parse(text)?;
        let base = match &file.extends {
            None => BuiltinTheme::default(),
            Some(name) => BuiltinTheme::from_name(name.get_ref()).ok_or_else(|| {
                format!(
                    "line {}: extends = {:?} is not a built-in theme; it takes {}",
                    file.line(name.span().start),
                    name.get_ref(),
                    BuiltinTheme::names()
                )
            })?,
        };
        file.lay_on(base.theme())
    }

    /// No colour at all (`NO_COLOR`, or terminals without it): the selection, alarms and
    /// keys are marked by reverse, bold and underline, which every terminal has. Not one
    /// style sets a colour, so the backend never sends a colour sequence; with `NO_COLOR`
    /// crossterm writes such a sequence as a bare `ESC [ m`, which resets the attributes too
    /// (that is how the selection used to vanish).
    pub fn mono() -> Self {
        let s = Style::new();
        let bold = Modifier::BOLD;
        let rev = Modifier::REVERSED;
        let under = Modifier::UNDERLINED;
        Self {
            border: s,
            border_focused: s.add_modifier(bold),
            title: s,
            title_focused: s.add_modifier(bold | under),
            header: s.add_modifier(bold),
            text: s,
            dim: s.add_modifier(Modifier::DIM),
            accent: s.add_modifier(bold),
            selected: s.add_modifier(rev | bold),
            selected_unfocused: s.add_modifier(under),
            ok: s,
            progressing: s.add_modifier(Modifier::ITALIC),
            warning: s.add_modifier(bold),
            error: s.add_modifier(bold | under),
            alarm: s.add_modifier(rev | bold | under),
            paused: s.add_modifier(Modifier::ITALIC),
            running_mark: s.add_modifier(bold),
            own_action: s.add_modifier(bold),
            key: s.add_modifier(rev),
            key_disabled: s.add_modifier(Modifier::DIM | Modifier::CROSSED_OUT),
            status_bar: s,
            status_live: s.add_modifier(bold),
            status_bad: s.add_modifier(rev | bold),
            read_only: s.add_modifier(rev | bold),
            dialog_border: s.add_modifier(bold),
            dialog_danger: s.add_modifier(bold | under),
            old_value: s.add_modifier(Modifier::CROSSED_OUT),
            new_value: s.add_modifier(bold),
            input: s.add_modifier(under),
        }
    }

    pub fn level(&self, level: Level) -> Style {
        match level {
            Level::Info => self.text,
            Level::Success => self.ok,
            Level::Warning => self.warning,
            Level::Error => self.error,
        }
    }
}

/// A theme file (format: the top of assets/themes/dark.toml).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ThemeFile {
    extends: Option<Spanned<String>>,
    #[serde(default)]
    styles: BTreeMap<String, Spanned<StyleSpec>>,
    /// The file's text, for the line numbers in messages.
    #[serde(skip)]
    text: String,
}

/// One style as a file writes it. Colours stay raw here, so that a wrong one is reported with
/// its style, key and line rather than as a bare deserialization failure.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct StyleSpec {
    fg: Option<Spanned<toml::Value>>,
    bg: Option<Spanned<toml::Value>>,
    underline_color: Option<Spanned<toml::Value>>,
    #[serde(default)]
    bold: bool,
    #[serde(default)]
    dim: bool,
    #[serde(default)]
    italic: bool,
    #[serde(default)]
    underlined: bool,
    #[serde(default)]
    slow_blink: bool,
    #[serde(default)]
    rapid_blink: bool,
    #[serde(default)]
    reversed: bool,
    #[serde(default)]
    hidden: bool,
    #[serde(default)]
    crossed_out: bool,
}

const COLOUR_FORMS: &str = "an ANSI name (black, red, green, yellow, blue, magenta, cyan, gray, \
     darkgray, lightred, lightgreen, lightyellow, lightblue, lightmagenta, lightcyan, white, \
     reset), \"#rrggbb\", or a palette index 0-255";

impl ThemeFile {
    fn parse(text: &str) -> Result<Self, String> {
        let mut file: Self = toml::from_str(text).map_err(|e| e.to_string())?;
        file.text = text.to_owned();
        Ok(file)
    }

    /// `base` with every style the file names replaced by the file's; all or nothing, so a
    /// mistake never leaves a theme half applied.
    fn lay_on(&self, mut base: Theme) -> Result<Theme, String> {
        for (name, spec) in &self.styles {
            let Some(slot) = base.style_mut(name) else {
                return Err(format!(
                    "line {}: styles.{name} is not a style berth draws; the styles are: {}",
                    self.line(spec.span().start),
                    Theme::STYLE_NAMES.join(", ")
                ));
            };
            *slot = spec.get_ref().style(|key, value| {
                colour(value.get_ref()).ok_or_else(|| {
                    format!(
                        "line {}: styles.{name}.{key} = {} is not a colour; write {COLOUR_FORMS}",
                        self.line(value.span().start),
                        value.get_ref()
                    )
                })
            })?;
        }
        Ok(base)
    }

    fn line(&self, byte: usize) -> usize {
        self.text[..byte.min(self.text.len())].matches('\n').count() + 1
    }
}

impl StyleSpec {
    fn style(
        &self,
        colour: impl Fn(&str, &Spanned<toml::Value>) -> Result<Color, String>,
    ) -> Result<Style, String> {
        let mut style = Style::new();
        if let Some(c) = &self.fg {
            style = style.fg(colour("fg", c)?);
        }
        if let Some(c) = &self.bg {
            style = style.bg(colour("bg", c)?);
        }
        if let Some(c) = &self.underline_color {
            style = style.underline_color(colour("underline_color", c)?);
        }
        let attributes = [
            (self.bold, Modifier::BOLD),
            (self.dim, Modifier::DIM),
            (self.italic, Modifier::ITALIC),
            (self.underlined, Modifier::UNDERLINED),
            (self.slow_blink, Modifier::SLOW_BLINK),
            (self.rapid_blink, Modifier::RAPID_BLINK),
            (self.reversed, Modifier::REVERSED),
            (self.hidden, Modifier::HIDDEN),
            (self.crossed_out, Modifier::CROSSED_OUT),
        ];
        for (on, modifier) in attributes {
            if on {
                style = style.add_modifier(modifier);
            }
        }
        Ok(style)
    }
}

/// ratatui's own reading of colour names, `#rrggbb` and indices; an index may also be written
/// as a TOML integer.
fn colour(value: &toml::Value) -> Option<Color> {
    match value {
        toml::Value::String(s) => Color::from_str(s).ok(),
        toml::Value::Integer(i) => u8::try_from(*i).ok().map(Color::Indexed),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn styles(t: &Theme) -> Vec<Style> {
        vec![
            t.border,
            t.border_focused,
            t.title,
            t.title_focused,
            t.header,
            t.text,
            t.dim,
            t.accent,
            t.selected,
            t.selected_unfocused,
            t.ok,
            t.progressing,
            t.warning,
            t.error,
            t.alarm,
            t.paused,
            t.running_mark,
            t.own_action,
            t.key,
            t.key_disabled,
            t.status_bar,
            t.status_live,
            t.status_bad,
            t.read_only,
            t.dialog_border,
            t.dialog_danger,
            t.old_value,
            t.new_value,
            t.input,
        ]
    }

    /// `Theme::default()` as code drew it before the dark theme became assets/themes/dark.toml,
    /// kept verbatim: the file must draw exactly this.
    fn dark_as_coded() -> Theme {
        let bold = Modifier::BOLD;
        Theme {
            border: Style::new().fg(Color::DarkGray),
            border_focused: Style::new().fg(Color::Cyan),
            title: Style::new().fg(Color::Gray),
            title_focused: Style::new().fg(Color::Cyan).add_modifier(bold),
            header: Style::new().fg(Color::DarkGray).add_modifier(bold),
            text: Style::new(),
            dim: Style::new().fg(Color::DarkGray),
            accent: Style::new().fg(Color::Cyan),
            selected: Style::new()
                .bg(Color::Blue)
                .fg(Color::White)
                .add_modifier(bold),
            selected_unfocused: Style::new().add_modifier(Modifier::REVERSED),
            ok: Style::new().fg(Color::Green),
            progressing: Style::new().fg(Color::Yellow),
            warning: Style::new().fg(Color::Yellow).add_modifier(bold),
            error: Style::new().fg(Color::Red).add_modifier(bold),
            alarm: Style::new()
                .fg(Color::White)
                .bg(Color::Red)
                .add_modifier(bold),
            paused: Style::new().fg(Color::Magenta),
            running_mark: Style::new().fg(Color::Green).add_modifier(bold),
            own_action: Style::new().fg(Color::Cyan),
            key: Style::new().fg(Color::Black).bg(Color::Cyan),
            key_disabled: Style::new()
                .fg(Color::DarkGray)
                .add_modifier(Modifier::CROSSED_OUT),
            status_bar: Style::new().bg(Color::Black).fg(Color::Gray),
            status_live: Style::new().fg(Color::Green).add_modifier(bold),
            status_bad: Style::new().fg(Color::Yellow).add_modifier(bold),
            read_only: Style::new()
                .fg(Color::Black)
                .bg(Color::Yellow)
                .add_modifier(bold),
            dialog_border: Style::new().fg(Color::Cyan),
            dialog_danger: Style::new().fg(Color::Yellow),
            old_value: Style::new().fg(Color::Red),
            new_value: Style::new().fg(Color::Green).add_modifier(bold),
            input: Style::new()
                .fg(Color::White)
                .add_modifier(Modifier::UNDERLINED),
        }
    }

    /// `Theme::light()` as code drew it before assets/themes/light.toml, kept verbatim.
    fn light_as_coded() -> Theme {
        let bold = Modifier::BOLD;
        Theme {
            border: Style::new().fg(Color::DarkGray),
            border_focused: Style::new().fg(Color::Blue),
            title: Style::new(),
            title_focused: Style::new().fg(Color::Blue).add_modifier(bold),
            header: Style::new().add_modifier(bold),
            accent: Style::new().fg(Color::Blue),
            progressing: Style::new().fg(Color::Blue),
            warning: Style::new().fg(Color::Magenta).add_modifier(bold),
            own_action: Style::new().fg(Color::Blue),
            key: Style::new().fg(Color::White).bg(Color::Blue),
            status_bar: Style::new().bg(Color::Gray).fg(Color::Black),
            status_bad: Style::new().fg(Color::Magenta).add_modifier(bold),
            read_only: Style::new()
                .fg(Color::White)
                .bg(Color::Magenta)
                .add_modifier(bold),
            dialog_border: Style::new().fg(Color::Blue),
            dialog_danger: Style::new().fg(Color::Magenta),
            input: Style::new().add_modifier(Modifier::UNDERLINED),
            ..dark_as_coded()
        }
    }

    #[test]
    fn shipped_files_draw_what_the_code_drew() {
        for (file, loaded, coded) in [
            ("dark.toml", Theme::default(), dark_as_coded()),
            ("light.toml", Theme::light(), light_as_coded()),
        ] {
            let pairs = styles(&loaded).into_iter().zip(styles(&coded));
            for (name, (got, want)) in Theme::STYLE_NAMES.iter().zip(pairs) {
                assert_eq!(got, want, "{file}: styles.{name}");
            }
            assert_eq!(loaded, coded, "{file}");
        }
    }

    /// dark.toml is the root every theme extends by default: it says every style itself.
    #[test]
    fn shipped_dark_names_every_style_and_extends_nothing() {
        let file = ThemeFile::parse(DARK_FILE).unwrap();
        assert!(file.extends.is_none());
        let named: Vec<&str> = file.styles.keys().map(String::as_str).collect();
        let mut all = Theme::STYLE_NAMES.to_vec();
        all.sort_unstable();
        assert_eq!(named, all);
    }

    #[test]
    fn a_file_extending_light_changes_just_the_styles_it_names() {
        let t = Theme::from_toml(
            "extends = \"light\"\n\
             [styles]\n\
             border = { fg = \"#ff8800\" }\n\
             [styles.alarm]\n\
             fg = 208\n\
             bg = \"Light Red\"\n\
             underline_color = \"17\"\n\
             bold = true\n\
             underlined = true\n",
        )
        .unwrap();
        let mut want = Theme::light();
        want.border = Style::new().fg(Color::Rgb(0xff, 0x88, 0x00));
        want.alarm = Style::new()
            .fg(Color::Indexed(208))
            .bg(Color::LightRed)
            .underline_color(Color::Indexed(17))
            .add_modifier(Modifier::BOLD | Modifier::UNDERLINED);
        assert_eq!(t, want);
    }

    #[test]
    fn a_file_extends_dark_unless_it_says_otherwise() {
        assert_eq!(Theme::from_toml("").unwrap(), Theme::default());
        let t = Theme::from_toml("[styles]\nok = { fg = \"blue\" }\n").unwrap();
        assert_eq!(t.ok, Style::new().fg(Color::Blue));
        assert_eq!(
            Theme {
                ok: Theme::default().ok,
                ..t
            },
            Theme::default()
        );
        let t = Theme::from_toml("extends = \"mono\"\n").unwrap();
        assert_eq!(t, Theme::mono());
    }

    fn error_of(text: &str) -> String {
        Theme::from_toml(text).expect_err(text)
    }

    #[test]
    fn an_unknown_style_is_named_with_its_line_and_the_known_ones() {
        let e = error_of("[styles]\nborder = { fg = \"red\" }\nbordr = { fg = \"red\" }\n");
        assert!(
            e.starts_with("line 3: styles.bordr is not a style berth draws"),
            "{e}"
        );
        assert!(e.contains(&Theme::STYLE_NAMES.join(", ")), "{e}");
    }

    #[test]
    fn an_unknown_colour_names_its_key_and_the_accepted_forms() {
        let e = error_of("[styles]\n\nkey = { fg = \"black\", bg = \"grey-ish\" }\n");
        assert!(
            e.starts_with(
                "line 3: styles.key.bg = \"grey-ish\" is not a colour; write an ANSI name"
            ),
            "{e}"
        );
        assert!(e.contains("\"#rrggbb\"") && e.contains("0-255"), "{e}");
        let e = error_of("[styles.key]\nfg = 256\n");
        assert!(
            e.starts_with("line 2: styles.key.fg = 256 is not a colour"),
            "{e}"
        );
        let e = error_of("[styles]\nkey = { fg = \"#12345\" }\n");
        assert!(e.contains("styles.key.fg = \"#12345\""), "{e}");
    }

    #[test]
    fn an_unknown_extends_or_attribute_is_named_with_what_is_accepted() {
        let e = error_of("extends = \"solarized\"\n");
        assert_eq!(
            e,
            "line 1: extends = \"solarized\" is not a built-in theme; it takes dark, light, mono"
        );
        let e = error_of("[styles]\nkey = { fg = \"red\", bolt = true }\n");
        assert!(e.contains("line 2") && e.contains("bolt"), "{e}");
        assert!(e.contains("crossed_out"), "{e}");
        let e = error_of("colours = {}\n");
        assert!(e.contains("colours") && e.contains("styles"), "{e}");
    }

    #[test]
    fn toml_syntax_errors_say_where() {
        let e = error_of("[styles]\nborder = { fg = \"red\"\n");
        assert!(e.contains("line 2"), "{e}");
    }

    /// `NO_COLOR` wins over any configured theme, a user's file included.
    #[test]
    fn no_color_means_mono_unless_empty() {
        let mine = Arc::new(Theme::from_toml("extends = \"light\"\n").unwrap());
        let mono = Theme::effective(mine.clone(), Some(OsStr::new("1")));
        assert_eq!(*mono, Theme::mono());
        assert_eq!(Theme::effective(mine.clone(), Some(OsStr::new(""))), mine);
        assert_eq!(Theme::effective(mine.clone(), None), mine);
    }

    #[test]
    fn mono_sets_no_colour_and_marks_what_must_be_seen() {
        let t = Theme::mono();
        for s in styles(&t) {
            assert_eq!((s.fg, s.bg, s.underline_color), (None, None, None), "{s:?}");
        }
        for must in [t.selected, t.alarm, t.key, t.read_only] {
            assert!(must.add_modifier.contains(Modifier::REVERSED), "{must:?}");
        }
        // The alarm stands out also inside a selected row.
        assert_ne!(t.alarm.add_modifier, t.selected.add_modifier);
    }

    #[test]
    fn light_has_no_yellow_or_gray_text() {
        for s in styles(&Theme::light()) {
            assert!(
                !matches!(s.fg, Some(Color::Yellow | Color::Gray)) || s.bg.is_some(),
                "{s:?}"
            );
        }
    }
}
