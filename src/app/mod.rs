//! The UI core: State (plain data), Action (every input), `update` (pure), Effect (typed
//! requests for the background runner), the key map, and derived views shared with `ui`.

pub mod action;
pub mod demo;
pub mod diagnosis;
pub mod effects;
pub mod fixtures;
pub mod keymap;
pub mod logs;
pub mod object_view;
pub mod refcheck;
pub mod search;
pub mod state;
pub mod store;
pub mod update;
pub mod view;

pub use action::Action;
pub use effects::{Effect, Task, TaskId};
pub use state::State;
pub use update::update;
