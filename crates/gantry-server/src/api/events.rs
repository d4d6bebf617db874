//! CDEvents from and for other tools: `POST /api/v1/events` stores CDEvents 0.5.1 (each
//! validated against its official schema, stored once by `context.id`), and
//! `GET /api/v1/events?chain=ID` reads a chain back (for Gantry's runs, the run id).

use axum::Json;
use axum::extract::State;
use gantry_api::{CdEvents, ErrorBody, EventList, EventsStored};
use gantry_store::StoreError;
use serde::Deserialize;
use serde_json::value::RawValue;
use utoipa::IntoParams;

use crate::error::AppError;
use crate::extract::{ApiQuery, JsonBytes};
use crate::state::AppState;

/// Stores one CDEvent, or a JSON array of them: all or none.
#[utoipa::path(
    post,
    path = "/api/v1/events",
    operation_id = "ingest_cdevents",
    tag = "events",
    request_body(content = CdEvents, description = "A CDEvent 0.5.1, or an array of them"),
    responses(
        (status = 200, description = "Stored", body = EventsStored),
        (status = 400, description = "The body is not JSON, or an event is not a valid CDEvent (`field` points at the problem)", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "The token may not report", body = ErrorBody),
        (status = 413, description = "Too large", body = ErrorBody),
        (status = 422, description = "The body is neither an object nor an array", body = ErrorBody),
    )
)]
pub async fn ingest(State(state): State<AppState>, body: JsonBytes) -> Result<Json<EventsStored>, AppError> {
    // Each event's text is kept as it came: the store validates it and stores that text.
    let (events, batch) = match body.first_byte() {
        Some(b'[') => (body.parse::<Vec<&RawValue>>()?, true),
        Some(b'{') => (vec![body.parse::<&RawValue>()?], false),
        _ => {
            // Not an object or an array: say why if it is not JSON at all (an empty body, say).
            body.parse::<&RawValue>()?;
            return Err(AppError::new(
                axum::http::StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_body",
                "the body must be a CDEvent (a JSON object) or an array of them",
            ));
        }
    };
    let events: Vec<&str> = events.iter().map(|event| event.get()).collect();
    let stored = match state
        .metrics
        .time_store("record_cdevents", state.store.record_cdevents(&events))
        .await
    {
        Ok(stored) => stored,
        Err(StoreError::InvalidCdEvent { index, source }) => {
            return Err(invalid(batch, index, &source.field, &source.reason));
        }
        Err(error) => return Err(error.into()),
    };
    tracing::debug!(received = events.len(), stored, "stored CDEvents");
    Ok(Json(EventsStored {
        received: events.len(),
        stored,
    }))
}

/// A 400 naming the field, as a pointer into the request body.
fn invalid(batch: bool, index: usize, field: &str, reason: &str) -> AppError {
    let pointer = match (batch, field) {
        (false, field) => field.to_owned(),
        (true, "/") => format!("/{index}"),
        (true, field) => format!("/{index}{field}"),
    };
    let which = if batch {
        format!("CDEvent #{index}")
    } else {
        "the CDEvent".to_owned()
    };
    AppError::new(
        axum::http::StatusCode::BAD_REQUEST,
        "invalid_cdevent",
        format!("{which} is not valid: at `{field}`: {reason}"),
    )
    .with_field(pointer)
}

/// Which chain to read.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ChainQuery {
    /// The `context.chainId` (for Gantry's runs, the run id).
    chain: String,
}

/// The CDEvents of one chain, in time order.
#[utoipa::path(
    get,
    path = "/api/v1/events",
    operation_id = "list_cdevents",
    tag = "events",
    params(ChainQuery),
    responses(
        (status = 200, description = "The chain's events (none for an unknown chain)", body = EventList),
        (status = 400, description = "`chain` is missing", body = ErrorBody),
        (status = 401, description = "No valid token", body = ErrorBody),
    )
)]
pub async fn chain(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<ChainQuery>,
) -> Result<Json<EventList>, AppError> {
    if query.chain.is_empty() {
        return Err(AppError::new(
            axum::http::StatusCode::BAD_REQUEST,
            "invalid_query",
            "`chain` is empty",
        ));
    }
    let events = state
        .metrics
        .time_store("events_for_chain", state.store.events_for_chain(&query.chain))
        .await?;
    Ok(Json(EventList { events }))
}
