//! The UI core: State (plain data), Action (every input), `update` (pure), Effect (typed
//! requests for the background runner), the key map, and derived views shared with `ui`.

pub mod action;
mod confirm;
pub mod demo;
pub mod diagnosis;
pub mod effects;
pub mod fixtures;
pub mod hints;
mod ingest;
mod input;
pub mod keymap;
pub mod layout;
pub mod logs;
mod mouse;
pub mod notices;
pub mod object_view;
pub mod palette;
mod panes;
pub mod policy;
pub mod refcheck;
mod revisions;
pub mod search;
pub mod state;
pub mod store;
mod tasks;
pub mod update;
pub mod view;

pub use action::Action;
pub use effects::{Effect, Task, TaskId};
pub use state::State;
pub use update::update;
