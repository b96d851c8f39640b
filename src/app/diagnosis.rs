//! What the diagnosis panel shows. The diagnosis engine (`src/diagnose.rs`) produces it; the UI
//! only draws it and offers the fix on one key (through the usual confirmation).

use super::effects::Effect;
use crate::cluster::model::ObjectRef;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DiagnosisView {
    pub pod: ObjectRef,
    /// The image reference as the pod names it.
    pub image: String,
    /// One line naming the cause, e.g. "Tag missing: web:1.0.99 is not in berthacr.azurecr.io".
    pub cause: String,
    /// Machine-readable cause code (`tag-missing`, `no-secret-for-host`, ...), as `--json` has it.
    pub code: String,
    /// What was checked, in order, and what came back.
    pub evidence: Vec<Evidence>,
    /// The one-key fix, if there is one berth can apply.
    pub fix: Option<Fix>,
    /// What to do by hand when there is no automatic fix (or in addition to it).
    pub advice: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Evidence {
    pub check: String,
    pub finding: String,
    pub ok: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fix {
    /// E.g. "attach secret acr-pull to serviceaccount shop/default".
    pub title: String,
    /// The mutation; it still goes through the confirmation and the permission check.
    pub effect: Effect,
}
