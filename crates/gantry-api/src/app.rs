//! Apps: the overview (`GET /api/v1/apps`) and build numbers (`POST /api/v1/apps/{app}/builds`).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::run::RunSummary;

/// Every app that has runs, by name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AppList {
    pub apps: Vec<AppSummary>,
}

/// An app that has runs, with its newest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AppSummary {
    pub name: String,
    /// How many runs it has.
    pub runs: u64,
    pub last_run: RunSummary,
}

/// A build number, never handed out before for this app.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct BuildAllocated {
    pub app: String,
    /// 1 for the app's first build.
    #[schema(minimum = 1)]
    pub build: u64,
}
