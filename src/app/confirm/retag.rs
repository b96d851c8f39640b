//! Retag: a tag of the registry browsed, to a new tag in the same or another repository or
//! registry.

use super::registry_host;
use crate::app::action::Notice;
use crate::app::effects::{Effect, ImageLocation};
use crate::app::keymap::Command;
use crate::app::notices::notify;
use crate::app::policy::refuse;
use crate::app::state::{Change, Confirm, Dialog, Prompt, PromptKind, State, TextInput};
use crate::app::view;
use crate::reference::short_digest;

/// `retag` on a tag: the prompt for where it goes (its confirmation follows, `confirmation`).
pub(crate) fn open(state: &mut State) {
    if refuse(state, Command::Retag) {
        return;
    }
    let Some(tag) = view::selected_tag(state).cloned() else {
        notify(
            state,
            Notice::warning("retag: select a tag first (Tab to the tags list)"),
        );
        return;
    };
    let src = ImageLocation {
        registry: registry_host(state),
        repository: tag.repository.clone(),
        reference: tag.name.clone(),
    };
    state.dialogs.push(Dialog::Prompt(Prompt {
        title: format!("Retag {}:{}", tag.repository, tag.name),
        help: "new tag (same repository), repo:tag, or host/repo:tag".to_owned(),
        kind: PromptKind::RetagTarget {
            src,
            digest: tag.digest.clone(),
        },
        input: TextInput::default(),
        error: None,
    }));
}

/// Deployments (`namespace/name`) whose containers name the image by this tag: moving the tag
/// changes what their next pods run without any rollout.
fn deployments_naming(state: &State, image: &ImageLocation) -> Vec<String> {
    state
        .cluster
        .deployments()
        .filter(|d| {
            d.containers.iter().any(|c| {
                crate::reference::Reference::parse(&c.image).is_ok_and(|r| {
                    crate::reference::same_host(r.registry(), &image.registry)
                        && r.repository() == image.repository
                        && r.digest().is_none()
                        && r.tag() == Some(image.reference.as_str())
                })
            })
        })
        .map(|d| format!("{}/{}", d.namespace, d.name))
        .collect()
}

/// What retagging `src` (at `digest`) to `dst` changes: the digest the target moves from, whether
/// it is locked or named by running workloads, and whether layers are copied.
pub(crate) fn confirmation(
    state: &State,
    src: ImageLocation,
    digest: Option<String>,
    dst: ImageLocation,
) -> Confirm {
    let existing = (dst.registry == state.registry.registry)
        .then(|| state.registry.tags_of(&dst.repository))
        .flatten()
        .and_then(|ts| ts.iter().find(|t| t.name == dst.reference));
    let new_digest = digest
        .as_deref()
        .map_or("(read at retag)".to_owned(), short_digest);
    let mut notes = Vec::new();
    let mut warnings = Vec::new();
    let mut overwrites = None;
    let mut blocked = None;
    // Locks are ACR's: its listing of the target repository carries them.
    let lockable = (dst.registry == state.registry.registry)
        .then(|| state.registry.tags_of(&dst.repository))
        .flatten()
        .is_some_and(|ts| ts.iter().any(|t| t.attributes.is_some()));
    // ACR's lock (from the listing): a move would be refused, so it is refused here, naming it.
    if let Some(t) = existing
        && t.digest != digest
        && let Some(a) = t.attributes.filter(|a| !a.write_enabled)
    {
        let why = format!(
            "{}:{} is locked (writeEnabled=false): ACR refuses to move it; unlock it first \
             (berth registry unlock {}:{}), or pick another tag",
            dst.repository, dst.reference, dst.repository, dst.reference
        );
        warnings.push(why.clone());
        if !a.delete_enabled {
            warnings.push("deleteEnabled=false as well".into());
        }
        blocked = Some(why);
    }
    let old = match existing {
        Some(t) if t.digest.is_some() && t.digest == digest => {
            notes.push(format!(
                "{}:{} already points at this digest: nothing would change",
                dst.repository, dst.reference
            ));
            t.digest.as_deref().map(short_digest)
        }
        Some(t) => {
            overwrites = Some(t.digest.clone().unwrap_or_else(|| "unknown".to_owned()));
            notes.push(format!(
                "{}:{} exists and would move: press f to allow the overwrite",
                dst.repository, dst.reference
            ));
            let naming = deployments_naming(state, &dst);
            if !naming.is_empty() {
                let (who, verb) = match naming.as_slice() {
                    [one] => (one.clone(), "runs"),
                    many => (many.join(", "), "run"),
                };
                notes.push(format!(
                    "{who} {verb} {}:{} by tag: running pods keep the old digest, new ones \
                     (scale-up, restart, eviction) would get the moved tag",
                    dst.repository, dst.reference
                ));
            }
            Some(
                t.digest
                    .as_deref()
                    .map_or("unknown".to_owned(), short_digest),
            )
        }
        None => None,
    };
    if dst.registry == src.registry {
        notes.push("same registry: the manifest is re-tagged, no layers are copied".to_owned());
    } else {
        notes.push(format!(
            "another registry: layers missing in {} are copied",
            dst.registry
        ));
    }
    Confirm {
        title: "Retag".to_owned(),
        changes: vec![
            Change {
                label: "source".into(),
                old: None,
                new: src.to_string(),
            },
            Change {
                label: "target".into(),
                old: None,
                new: dst.to_string(),
            },
            Change {
                label: "digest".into(),
                old: Some(old.unwrap_or_else(|| "(new tag)".into())),
                new: new_digest,
            },
        ],
        effect: Effect::Retag {
            src,
            dst,
            force: false,
            lock: false,
            dry_run: false,
        },
        warnings,
        notes,
        pin: None,
        overwrites,
        blocked,
        lockable,
        error: None,
    }
}
