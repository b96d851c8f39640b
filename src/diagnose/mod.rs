//! Diagnosing image pulls that fail (ImagePullBackOff and friends) from evidence, not guesswork.
//!
//! The pipeline: the gatherer collects [`Facts`] for a failing container (the image reference,
//! the effective pull secrets, the registry's answer to exactly the credentials the node would
//! use, the node's platform and its own messages); [`diagnose`] — pure — names the [`Cause`],
//! writes the one-line headline, lists the evidence, and offers the [`Fix`]es that fit.

mod aks_reads;
pub mod cause;
pub mod check_acr;
pub mod classify;
pub mod cli;
mod cluster_reads;
pub mod evidence;
pub mod facts;
pub mod fix;
pub mod gather;
mod kubelet_identity;
pub mod node_words;
mod probe;
pub mod render;
pub mod secrets;
pub mod tags;

#[cfg(test)]
mod tests;

use serde::Serialize;

pub use cause::Cause;
pub use evidence::{EvidenceLine, Topic};
pub use facts::Facts;
pub use fix::{Fix, FixAction};

/// What is wrong with one container's image pull, and what to do about it.
#[derive(Clone, Debug, Serialize)]
pub struct Diagnosis {
    pub namespace: String,
    pub pod: String,
    pub container: String,
    pub image: String,
    pub cause: Cause,
    /// The one line a user who reads nothing else needs.
    pub headline: String,
    pub evidence: Vec<EvidenceLine>,
    /// Best first; the first is what the TUI's one key runs.
    pub fixes: Vec<Fix>,
    /// Everything gathered, for scripts.
    pub facts: Facts,
}

pub fn diagnose(facts: Facts) -> Diagnosis {
    let cause = classify::classify(&facts);
    let headline = cause.headline(facts.observed_at);
    let evidence = evidence::lines(&facts);
    let fixes = fix::fixes(&cause, &facts);
    Diagnosis {
        namespace: facts.namespace.clone(),
        pod: facts.pod.clone(),
        container: facts.container.clone(),
        image: facts.image.clone(),
        cause,
        headline,
        evidence,
        fixes,
        facts,
    }
}
