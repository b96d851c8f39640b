//! The command palette (`:`): what it suggests for what is typed, and what a line runs. Its
//! vocabulary is the key map's command names plus `ns`, `ctx`, `reg`, `repo` and `yaml`.

use super::action::{ConnState, Notice};
use super::effects::{Effect, Task};
use super::keymap::{Command, KeyCodeOrd, Keymap, Layer};
use super::notices::notify;
use super::object_view;
use super::panes::{self, repositories};
use super::state::{Dialog, Focus, State, TextInput};
use super::store::RegistryStore;
use super::tasks::spawn;
use super::view;
use crate::cluster::model::Kind;

/// One palette entry: the text that runs it and what it does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Suggestion {
    pub text: String,
    pub detail: String,
}

/// How many suggestions the palette shows at once; the highlighted one scrolls into them.
pub const ROWS_SHOWN: usize = 8;

/// Completions for what is typed: `ns`/`ctx`/`repo` with known names, then command names.
pub fn suggestions(state: &State, typed: &str) -> Vec<Suggestion> {
    let typed = typed.trim_start();
    let (word, arg) = typed.split_once(' ').unwrap_or((typed, ""));
    let arg = arg.trim();
    let mut out = Vec::new();
    let mut names = |prefix: &str, detail: &str, items: &mut dyn Iterator<Item = &str>| {
        if word == prefix || (arg.is_empty() && !word.is_empty() && prefix.starts_with(word)) {
            // Names that start with what is typed come before names that merely contain it.
            let mut hits: Vec<&str> = items.filter(|n| view::matches(arg, n)).collect();
            hits.sort_by_key(|n| !n.starts_with(arg));
            for n in hits {
                out.push(Suggestion {
                    text: format!("{prefix} {n}"),
                    detail: detail.to_owned(),
                });
            }
        }
    };
    names(
        "ns",
        "switch namespace",
        &mut state.cluster.namespaces().map(|n| n.name.as_str()),
    );
    names(
        "ctx",
        "switch context",
        &mut state.contexts.iter().map(String::as_str),
    );
    names(
        "reg",
        "browse registry",
        &mut state.registries.iter().map(String::as_str),
    );
    // What berth knows of the namespace in view: its workloads, pods, service accounts and
    // pull secrets (the model holds no other kinds; any KIND/NAME can still be typed).
    let ns = state.namespace.as_str();
    let mut objects: Vec<String> = Vec::new();
    if word == "yaml" {
        objects.extend(
            view::deployments(state)
                .iter()
                .map(|d| format!("{}/{}", d.kind.short(), d.name)),
        );
        objects.extend(
            state
                .cluster
                .service_accounts()
                .filter(|a| a.namespace == ns)
                .map(|a| format!("sa/{}", a.name)),
        );
        objects.extend(
            state
                .cluster
                .secrets()
                .filter(|s| s.namespace == ns)
                .map(|s| format!("secret/{}", s.name)),
        );
        objects.extend(
            state
                .cluster
                .pods()
                .filter(|p| p.namespace == ns)
                .take(200)
                .map(|p| format!("pod/{}", p.name)),
        );
    }
    names("yaml", "YAML of", &mut objects.iter().map(String::as_str));
    names(
        "repo",
        "open repository",
        &mut state.registry.repositories.iter().map(|r| r.name.as_str()),
    );
    if arg.is_empty() {
        let layer = state.focus.layer();
        for b in state
            .keymap
            .layer(Layer::Global)
            .chain(state.keymap.layer(layer))
        {
            if b.command == Command::Palette || !view::matches(word, b.command.name()) {
                continue;
            }
            let text = b.command.name().to_owned();
            if out.iter().any(|s: &Suggestion| s.text == text) {
                continue;
            }
            let keys = Keymap::keys_label(&b.keys);
            out.push(Suggestion {
                text,
                detail: format!("{} ({keys})", b.command.describe()),
            });
        }
    }
    out
}

/// Up/Down pick a palette suggestion, Tab completes the input to it.
pub(crate) fn pick(state: &mut State, code: KeyCodeOrd) {
    let Some(Dialog::Palette { input, selected }) = state.dialogs.last() else {
        state.dirty = false;
        return;
    };
    let sugg = suggestions(state, &input.text);
    let sel = *selected;
    let (new_sel, completed) = match code {
        KeyCodeOrd::Up | KeyCodeOrd::BackTab => (sel.saturating_sub(1), None),
        KeyCodeOrd::Down => ((sel + 1).min(sugg.len().saturating_sub(1)), None),
        _ => (0, sugg.get(sel).map(|s| s.text.clone())),
    };
    if let Some(Dialog::Palette { input, selected }) = state.dialogs.last_mut() {
        *selected = new_sel;
        if let Some(t) = completed {
            *input = TextInput::new(&t);
        }
    }
}

/// Enter: the line typed runs; when it is not a complete command, the highlighted suggestion.
pub(crate) fn submit(state: &mut State, input: &TextInput, selected: usize, fx: &mut Vec<Task>) {
    let typed = input.text.trim().to_owned();
    let result = run(state, &typed, fx).or_else(|first_err| {
        let sugg = suggestions(state, &typed);
        match sugg.get(selected) {
            Some(s) if s.text != typed => run(state, &s.text.clone(), fx),
            _ => Err(first_err),
        }
    });
    if let Err(e) = result {
        notify(state, Notice::error(e));
    }
}

fn run(state: &mut State, typed: &str, fx: &mut Vec<Task>) -> Result<(), String> {
    let (word, arg) = typed.split_once(' ').unwrap_or((typed, ""));
    let arg = arg.trim();
    match word {
        "" => Ok(()),
        "ns" | "namespace" => {
            if arg.is_empty() {
                return Err(":ns needs a namespace name, e.g. :ns shop".into());
            }
            if state.cluster.count(Kind::Namespace) > 0 && !state.cluster.has_namespace(arg) {
                return Err(format!(
                    "namespace {arg:?} not found in context {} (known: {})",
                    state.context,
                    known(state.cluster.namespaces().map(|n| &n.name))
                ));
            }
            if arg != state.namespace {
                state.namespace = arg.to_owned();
                panes::reset_cluster(state);
                fx.push(spawn(
                    state,
                    Effect::SwitchNamespace {
                        namespace: arg.to_owned(),
                    },
                    None,
                ));
            }
            state.focus = Focus::Deployments;
            Ok(())
        }
        "ctx" | "context" => {
            if arg.is_empty() {
                return Err(":ctx needs a context name, e.g. :ctx aks-prod".into());
            }
            if !state.contexts.is_empty() && !state.contexts.iter().any(|c| c == arg) {
                return Err(format!(
                    "context {arg:?} is not in the kubeconfig (known: {})",
                    known(state.contexts.iter())
                ));
            }
            if arg != state.context {
                state.context = arg.to_owned();
                // The new watchers come with a later epoch: drop the old ones' stragglers.
                let next = state.cluster.epoch() + 1;
                state.cluster.reset(next);
                state.permissions.clear();
                panes::reset_cluster(state);
                fx.push(spawn(
                    state,
                    Effect::SwitchContext {
                        context: arg.to_owned(),
                    },
                    None,
                ));
            }
            Ok(())
        }
        "reg" | "registry" => {
            if arg.is_empty() {
                return Err(format!(
                    ":reg needs a [[registry]] name, e.g. :reg {}",
                    state.registries.first().map_or("prod", String::as_str)
                ));
            }
            if !state.registries.iter().any(|r| r == arg) {
                return Err(if state.registries.is_empty() {
                    "no [[registry]] is configured: add one to config.toml".to_owned()
                } else {
                    format!(
                        "no [[registry]] named {arg:?} in config.toml (known: {})",
                        known(state.registries.iter())
                    )
                });
            }
            if arg != state.registry_name {
                state.registry_name = arg.to_owned();
                // The old registry's rows go at once; the new one's arrive from the runner.
                let order = state.registry.order;
                state.registry = RegistryStore {
                    order,
                    ..Default::default()
                };
                state.registry_conn = ConnState::Connecting;
                state.selected_repository = None;
                state.nav.repositories = Default::default();
                state.nav.tags = Default::default();
                fx.push(spawn(
                    state,
                    Effect::SwitchRegistry {
                        name: arg.to_owned(),
                    },
                    None,
                ));
            }
            state.focus = Focus::Repositories;
            Ok(())
        }
        "yaml" | "get" => object_view::open_named(state, arg, fx),
        "repo" | "repository" => {
            if arg.is_empty() {
                return Err(":repo needs a repository name, e.g. :repo web".into());
            }
            state.nav.repositories.filter.clear();
            let Some(idx) = state
                .registry
                .repositories
                .iter()
                .position(|r| r.name == arg)
            else {
                return Err(format!(
                    "repository {arg:?} not found in {} (known: {})",
                    if state.registry.registry.is_empty() {
                        "the registry"
                    } else {
                        &state.registry.registry
                    },
                    known(state.registry.repositories.iter().map(|r| &r.name))
                ));
            };
            repositories::open(state, idx, fx);
            Ok(())
        }
        name => match Command::from_name(name) {
            Some(cmd) if arg.is_empty() => {
                super::update::on_command(state, cmd, fx);
                Ok(())
            }
            _ => Err(format!(
                "unknown command {typed:?}: try :ns NAME, :ctx NAME, :repo NAME or a key's name \
                 (see ? for the list)"
            )),
        },
    }
}

fn known<'a>(names: impl Iterator<Item = &'a String>) -> String {
    let v: Vec<&str> = names.map(String::as_str).take(6).collect();
    if v.is_empty() {
        "none yet".into()
    } else {
        v.join(", ")
    }
}
