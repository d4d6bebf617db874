//! [`AppState`]: what every handler shares. Cheap to clone (everything inside is shared).

use gantry_store::Store;

/// Shared by every request.
#[derive(Clone)]
pub struct AppState {
    /// The build data repository; its pool is shared and safe to use from any task.
    pub store: Store,
}
