//! CDEvents 0.5.1 as the API takes them (`POST /api/v1/events`) and gives them back
//! (`GET /api/v1/events?chain=ID`, and in a run's document).
//!
//! Events travel as their JSON text, kept whole (the server validates each against its official
//! schema and stores the text as it came); [`CdEvent`] describes their common shape for the
//! OpenAPI document, not every event type's `subject.content`.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A CDEvent 0.5.1: a context saying what happened and when, and the subject it happened to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CdEvent {
    pub context: CdEventContext,
    pub subject: CdEventSubject,
    /// Anything the producer adds, as `customDataContentType` says.
    #[serde(rename = "customData", default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub custom_data: Option<serde_json::Value>,
    #[serde(
        rename = "customDataContentType",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub custom_data_content_type: Option<String>,
}

/// What happened, when, and where it came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CdEventContext {
    #[schema(example = "0.5.1")]
    pub specversion: String,
    /// Unique per event: storing an event again with the same id changes nothing.
    pub id: String,
    /// Who produced it (a URI reference).
    pub source: String,
    /// `dev.cdevents.SUBJECT.PREDICATE.VERSION`.
    #[serde(rename = "type")]
    #[schema(example = "dev.cdevents.pipelinerun.finished.0.2.0")]
    pub kind: String,
    pub timestamp: String,
    /// The events of one chain belong together: for Gantry's runs, the run id.
    #[serde(rename = "chainId", default, skip_serializing_if = "Option::is_none")]
    pub chain_id: Option<String>,
    #[serde(rename = "schemaUri", default, skip_serializing_if = "Option::is_none")]
    pub schema_uri: Option<String>,
    /// Links to other events (CDEvents links), when the producer gives them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Vec<Object>>)]
    pub links: Option<Vec<serde_json::Value>>,
}

/// What the event is about.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CdEventSubject {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// The subject's type, where the event type's schema asks for it (`pipelineRun`, `taskRun`).
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// The fields of the event type (for `pipelinerun.finished`: `pipelineName`, `url`,
    /// `outcome`, `errors`).
    #[schema(value_type = Object)]
    pub content: serde_json::Value,
}

/// The CDEvents of one chain.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct EventList {
    /// In time order.
    #[schema(value_type = Vec<CdEvent>)]
    pub events: Vec<serde_json::Value>,
}

/// What `POST /api/v1/events` stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct EventsStored {
    /// CDEvents in the request.
    pub received: usize,
    /// Of those, how many were new (the others were stored before, by `context.id`).
    pub stored: usize,
}

/// The body of `POST /api/v1/events`: one CDEvent, or an array of them (stored all or none).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum CdEvents {
    One(Box<CdEvent>),
    Many(Vec<CdEvent>),
}
