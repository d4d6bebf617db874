//! [`ErrorBody`]: the body of every failed request, `{"error": {"code", "message", "field"?}}`.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The body of every error response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

/// What went wrong.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable: `bad_request`, `invalid_json`, `invalid_body`, `invalid_query`, `invalid_path`,
    /// `unauthorized`, `forbidden`, `not_found`, `method_not_allowed`, `conflict`,
    /// `payload_too_large`, `unsupported_media_type`, `unsupported_version`, `invalid_digest`,
    /// `digest_mismatch`, `artifact_missing`, `invalid_cdevent`, `ambiguous_run`,
    /// `build_refused`, `name_taken`, `last_admin_token`, `timeout`, `unavailable`, `internal`.
    #[schema(example = "not_found")]
    pub code: String,
    /// For people; may change between versions.
    pub message: String,
    /// A JSON pointer to the offending part of the request body, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = "/subject/content/outcome")]
    pub field: Option<String>,
}
