//! [`ArtifactStored`]: the answer to `PUT /api/v1/artifacts/{sha256}`.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// An artifact the server holds now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ArtifactStored {
    /// The file's sha256, lowercase.
    #[schema(pattern = "^[0-9a-f]{64}$")]
    pub sha256: String,
    pub size: u64,
    /// `false` when the artifact was stored already.
    pub created: bool,
}
