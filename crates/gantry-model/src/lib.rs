//! The pure model of Gantry: the pipeline file, its validation, the plan, and the run events.
//!
//! Nothing in this crate does IO: files (the pipeline file, the library) come in as text, and
//! events go out as values. Every other crate of the workspace builds on these types.
//!
//! Loading a pipeline file, phase by phase (each phase has its own type):
//!
//! - [`source`]: a file as text ([`Source`]) and places in it.
//! - `yaml`: the text to a tree of nodes that keep their positions.
//! - `raw` and `parse`: the tree to the file-shaped raw types (also the source of the schema).
//! - `prefab`: `uses` applied; `resolve`: library files found, read once, cycles caught.
//! - `validate`: the raw types to the validated [`Pipeline`], with `ref` inlined and `type`
//!   rendered by `template`.
//! - [`load`]: the phases end to end; [`diagnostic`]: every problem at once ([`Diagnostics`]).
//! - [`library`]: the shared prefabs, fragments and task templates ([`Library`]).
//! - [`schema`]: the JSON Schema of the file ([`json_schema`]).
//!
//! Using a pipeline:
//!
//! - [`pipeline`]: the validated [`Pipeline`], [`Stage`], [`Task`] (invalid states unrepresentable).
//! - [`plan`]: the [`Plan`], what runs in which order after `when` and selection are applied.
//! - [`event`]: [`RunEvent`], the engine's only output, consumed by reporters and the store.
//! - [`duration`]: durations as written in the file (`30s`, `10m`, `1h`).
//! - [`version`]: the `version` template rendered for one run.

pub mod diagnostic;
pub mod duration;
pub mod event;
pub mod library;
pub mod load;
pub mod pipeline;
pub mod plan;
pub mod schema;
pub mod source;
pub mod version;

mod parse;
mod prefab;
mod raw;
mod resolve;
mod suggest;
mod syntax_error;
mod template;
mod token;
mod validate;
mod yaml;

pub use diagnostic::{Diagnostic, Diagnostics};
pub use duration::parse_duration;
pub use event::{LogStream, RunEvent, RunEventKind, RunId, RunResult, Runner, TaskOutcome};
pub use library::Library;
pub use load::load;
pub use pipeline::{Pipeline, Stage, Task, TaskKind, Traceability, When};
pub use plan::{Plan, PlanNode, PlanStage, Selection, SelectionError, TaskPath};
pub use schema::json_schema;
pub use source::Source;
pub use version::render_version;
