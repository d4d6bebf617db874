//! `POST /api/v1/runs/{id}/heartbeat`: a client running a run says it is still alive.
//!
//! A run reported over the API holds a lease ([`crate::lease`]): every batch of its events
//! renews it, and so does this call, which `gantry run --server` makes when it has sent nothing
//! for a while (a long, quiet task). A run whose lease expires is marked `interrupted`.
//!
//! The call renews the lease under the fencing number it names
//! ([`gantry_api::FENCING_HEADER`]), or, naming none, the lease the request's token holds; a
//! stale number, or a lease held by another token, is refused with `409`.

use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use gantry_api::{ErrorBody, Heartbeat};
use gantry_store::{Lease, LeaseError, RunStatus, run_resource};

use crate::auth::Principal;
use crate::error::AppError;
use crate::extract::ApiPath;
use crate::state::AppState;
use crate::{lease, wire};

/// Renews the lease of a running run.
#[utoipa::path(
    post,
    path = "/api/v1/runs/{id}/heartbeat",
    operation_id = "heartbeat_run",
    tag = "runs",
    params(
        ("id" = String, Path, description = "The run's id (the whole id, as in its events)"),
        ("gantry-lease-fencing" = Option<u64>, Header, description = "The fencing number of the run's lease; without it, the lease the token holds is renewed"),
    ),
    responses(
        (status = 200, description = "Heard; the run's status and lease", body = Heartbeat),
        (status = 401, description = "No valid token", body = ErrorBody),
        (status = 403, description = "The token may not report", body = ErrorBody),
        (status = 404, description = "No run has this id (its `run_queued` event was never sent)", body = ErrorBody),
        (status = 409, description = "The fencing number is no longer the run lease's (`lease_lost`), or another token holds the lease (`lease_held`)", body = ErrorBody),
    )
)]
pub async fn heartbeat(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
    principal: Option<axum::Extension<Principal>>,
    headers: HeaderMap,
) -> Result<Json<Heartbeat>, AppError> {
    let holder = lease::holder(principal.as_deref())?;
    let fencing = lease::fencing(&headers)?;
    let now = state.clock.now();
    let result = state
        .metrics
        .time_store("record_contact", state.store.record_contact(&id, now))
        .await?
        .ok_or_else(|| AppError::not_found(format!("no run is recorded with the id `{id}`")))?;
    // A finished run has no lease left to keep.
    let renewed = if result == RunStatus::Running {
        Some(renew(&state, &id, holder, fencing).await?)
    } else {
        None
    };
    Ok(Json(Heartbeat {
        result: wire::run_status(result),
        lease_seconds: state.remote_lease.as_secs(),
        lease: renewed.map(wire::run_lease),
    }))
}

/// Renews the run's lease under `fencing`, or under the number `holder` holds it by.
async fn renew(state: &AppState, id: &str, holder: String, fencing: Option<i64>) -> Result<Lease, AppError> {
    let resource = run_resource(id);
    let fencing = match fencing {
        Some(fencing) => fencing,
        None => match state.store.lease(&resource).await? {
            Some(current) if current.holder == holder => current.fencing,
            Some(current) => {
                return Err(LeaseError::Held {
                    resource,
                    holder: current.holder,
                    expires_at: current.expires_at,
                }
                .into());
            }
            None => {
                return Err(AppError::conflict(
                    "lease_lost",
                    format!("run `{id}` holds no lease: its first batch of events acquires one"),
                ));
            }
        },
    };
    let lease = Lease {
        resource,
        holder,
        fencing,
        expires_at: state.clock.now(),
    };
    let renewed = state
        .metrics
        .time_store(
            "renew_lease",
            state
                .store
                .renew_lease(&lease, lease::ttl(state), state.clock.now()),
        )
        .await?;
    Ok(renewed)
}
