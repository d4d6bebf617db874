//! The pure model of Gantry: the pipeline file, its validation, the plan, and the run events.
//!
//! Nothing in this crate does IO: files (the pipeline file, the library) come in as text, and
//! events go out as values. Every other crate of the workspace builds on these types.
//!
//! - [`pipeline`]: the validated [`Pipeline`], [`Stage`], [`Task`] (invalid states unrepresentable).
//! - [`plan`]: the [`Plan`], what runs in which order after `when` and selection are applied.
//! - [`event`]: [`RunEvent`], the engine's only output, consumed by reporters and the store.
//! - [`duration`]: durations as written in the file (`30s`, `10m`, `1h`).

pub mod duration;
pub mod event;
pub mod pipeline;
pub mod plan;

pub use duration::parse_duration;
pub use event::{LogStream, RunEvent, RunEventKind, RunId, RunResult, TaskOutcome};
pub use pipeline::{Pipeline, Stage, Task, TaskKind, Traceability, When};
pub use plan::{Plan, PlanNode, PlanStage, Selection, TaskPath};
