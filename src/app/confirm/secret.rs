//! The confirmations that change the pull secret: rotate it (a fresh ACR password into every
//! namespace that has it) and attach it to a service account.

use crate::app::action::Notice;
use crate::app::effects::{Effect, PasswordSlot};
use crate::app::keymap::Command;
use crate::app::notices::notify;
use crate::app::policy::refuse;
use crate::app::state::{Change, Confirm, Focus, State};
use crate::app::view;
use crate::cluster::model::ObjectRef;

/// `rotate-secret`: regenerate the ACR password not in use and write it into every namespace that has the
/// secret.
pub(crate) fn rotate(state: &mut State) {
    if refuse(state, Command::RotateSecret) {
        return;
    }
    let registry = super::registry_host(state);
    if registry.is_empty() {
        notify(
            state,
            Notice::warning("rotate: no registry connected yet (see the status bar)"),
        );
        return;
    }
    let secret = state.pull_secret.clone();
    let mut namespaces: Vec<String> = state
        .cluster
        .secrets()
        .filter(|s| s.name == secret)
        .map(|s| s.namespace.clone())
        .collect();
    namespaces.dedup();
    let mut notes = Vec::new();
    if namespaces.is_empty() {
        namespaces.push(state.namespace.clone());
        notes.push(format!(
            "secret {secret} was not seen in any watched namespace; it is created in {}",
            state.namespace
        ));
    }
    let slot = state
        .slot_in_use
        .map_or(PasswordSlot::Password2, PasswordSlot::other);
    notes.push(format!(
        "{} stays valid until every namespace has the new password",
        slot.other()
    ));
    let ns_list = if namespaces.len() > 6 {
        format!(
            "{}, … ({} in all)",
            namespaces[..5].join(", "),
            namespaces.len()
        )
    } else {
        namespaces.join(", ")
    };
    super::push(
        state,
        Confirm::new(
            "Rotate pull secret",
            Effect::RotateSecret {
                registry: registry.clone(),
                secret: secret.clone(),
                namespaces,
                slot,
                attach: None,
                dry_run: false,
            },
            vec![
                Change {
                    label: "registry".into(),
                    old: None,
                    new: registry,
                },
                Change {
                    label: "password slot".into(),
                    old: state.slot_in_use.map(|s| format!("{s} in use")),
                    new: format!("regenerate {slot}"),
                },
                Change {
                    label: "secret".into(),
                    old: None,
                    new: secret,
                },
                Change {
                    label: "namespaces".into(),
                    old: None,
                    new: ns_list,
                },
            ],
            notes,
        ),
    );
}

/// `attach-secret`: the pull secret onto the service account of the selected pod (the first pod's otherwise).
pub(crate) fn attach(state: &mut State) {
    if refuse(state, Command::AttachSecret) {
        return;
    }
    let pod = match state.focus {
        Focus::Pods => view::selected_pod(state),
        _ => view::pods(state).first().copied(),
    };
    let sa_name = pod.map_or("default".to_owned(), |p| p.service_account.clone());
    let sa_name = if sa_name.is_empty() {
        "default".to_owned()
    } else {
        sa_name
    };
    let key = ObjectRef {
        namespace: state.namespace.clone(),
        name: sa_name,
    };
    let secret = state.pull_secret.clone();
    let current: Vec<String> = state
        .cluster
        .service_account(&key.namespace, &key.name)
        .map(|sa| sa.image_pull_secrets.clone())
        .unwrap_or_default();
    if current.contains(&secret) {
        notify(
            state,
            Notice::info(format!(
                "serviceaccount {}/{} already has {secret}",
                key.namespace, key.name
            )),
        );
        return;
    }
    let show = |v: &[String]| {
        if v.is_empty() {
            "(none)".to_owned()
        } else {
            v.join(", ")
        }
    };
    let mut after = current.clone();
    after.push(secret.clone());
    let mut notes = vec!["pods created from now on pull with it; running pods keep theirs".into()];
    if state.cluster.secret(&key.namespace, &secret).is_none() {
        notes.push(format!(
            "secret {secret} is not in {} yet: rotate (s) creates it",
            key.namespace
        ));
    }
    let sa_label = format!("{}/{}", key.namespace, key.name);
    super::push(
        state,
        Confirm::new(
            "Attach pull secret",
            Effect::AttachSecret {
                service_account: key,
                secret,
                dry_run: false,
            },
            vec![
                Change {
                    label: "serviceaccount".into(),
                    old: None,
                    new: sa_label,
                },
                Change {
                    label: "imagePullSecrets".into(),
                    old: Some(show(&current)),
                    new: show(&after),
                },
            ],
            notes,
        ),
    );
}
