//! Gantry's own run events on the wire (`POST /api/v1/runs/{id}/events`) and in a client's
//! spool, in a versioned envelope, `{"version": 2, "events": [RunEvent, ...]}`.
//!
//! The version is that of the run event vocabulary ([`gantry_model::RunEvent`]): it grows when
//! a change would make an older reader misread events. A reader of another version refuses the
//! batch with [`EnvelopeError`], naming both versions and what to upgrade, instead of failing
//! on a field it does not know. A bare array (what clients sent before the envelope) is refused
//! the same way.
//!
//! A run reported this way holds a lease on the server: the answer to each batch and heartbeat
//! names it ([`RunLease`]), and the client sends its fencing number back with every later call
//! in the [`FENCING_HEADER`]. A call with a number that is no longer the lease's (the run's
//! lease expired and was swept, or another client took it) is refused with `409 lease_lost`;
//! the run's lease held by another client is refused with `409 lease_held`.

use chrono::{DateTime, Utc};
use gantry_model::RunEvent;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use utoipa::ToSchema;

use crate::run::RunStatus;

/// The request header that carries the fencing number of the run's lease, once the server gave
/// one: `Gantry-Lease-Fencing: 3`. Without it, a batch acquires the lease (the run's first
/// batch, or a client that restarted) and a heartbeat renews the lease its token holds.
pub const FENCING_HEADER: &str = "gantry-lease-fencing";

/// The version of the run events this build of Gantry writes and reads.
///
/// Version 2: a `task_output` event carries `lines` (what one read of the task's pipe
/// brought), where version 1 carried one `line`.
pub const RUN_EVENTS_VERSION: u32 = 2;

/// A batch of one run's events, in order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RunEventBatch {
    /// The run events version the batch is written in: [`RUN_EVENTS_VERSION`].
    #[schema(minimum = 2, maximum = 2)]
    pub version: u32,
    /// Run events, as `gantry run --json` prints them.
    #[schema(value_type = Vec<crate::model_schema::RunEvent>)]
    pub events: Vec<RunEvent>,
}

impl RunEventBatch {
    /// A batch in this build's version.
    pub fn new(events: Vec<RunEvent>) -> Self {
        Self {
            version: RUN_EVENTS_VERSION,
            events,
        }
    }
}

/// Why a batch of run events (or a spool) is refused: it is not in the version this side reads.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VersionError {
    /// A bare array of events, as written before versions were.
    #[error(
        "the run events carry no version (a bare array, as gantry wrote them before versions \
         were); this side reads run events version {supported}"
    )]
    Unversioned { supported: u32 },
    /// Written in another version than this side reads.
    #[error("the run events are version {found}; this side reads version {supported}")]
    Unsupported { found: u64, supported: u32 },
}

impl VersionError {
    /// Whether the writer is newer than this reader (so the reader is the one to upgrade).
    pub fn written_by_newer(&self) -> bool {
        matches!(self, Self::Unsupported { found, supported } if *found > u64::from(*supported))
    }

    /// Refuses any version but [`RUN_EVENTS_VERSION`].
    pub fn check(found: u64) -> Result<(), Self> {
        if found == u64::from(RUN_EVENTS_VERSION) {
            Ok(())
        } else {
            Err(Self::Unsupported {
                found,
                supported: RUN_EVENTS_VERSION,
            })
        }
    }
}

/// The envelope's version, read before its events: the version decides how to read them.
#[derive(Deserialize)]
struct Head<'a> {
    version: Option<u64>,
    #[allow(dead_code)] // Borrowed, not parsed: only its presence as JSON matters here.
    #[serde(borrow)]
    events: Option<&'a RawValue>,
}

/// Refuses a batch written in another version (or in none), before its events are parsed, so
/// that the reader names both versions instead of failing on a field it does not know. Text
/// that is not an envelope at all passes: parsing it as a [`RunEventBatch`] says what is wrong.
pub fn check_version(bytes: &[u8]) -> Result<(), VersionError> {
    let first = bytes.iter().find(|byte| !byte.is_ascii_whitespace());
    if first == Some(&b'[') {
        if serde_json::from_slice::<&RawValue>(bytes).is_ok() {
            return Err(VersionError::Unversioned {
                supported: RUN_EVENTS_VERSION,
            });
        }
        return Ok(());
    }
    match serde_json::from_slice::<Head<'_>>(bytes) {
        Ok(Head {
            version: Some(found), ..
        }) => VersionError::check(found),
        _ => Ok(()),
    }
}

/// A run's lease, as the client reporting it holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RunLease {
    /// Who holds it: the name of the token that reports the run.
    pub holder: String,
    /// Grows with every new acquisition of the lease: send it back in the
    /// [`FENCING_HEADER`] of every later batch and heartbeat.
    pub fencing: u64,
    /// When the run is marked `interrupted` unless a batch or a heartbeat comes first.
    pub expires_at: DateTime<Utc>,
}

/// What the server recorded of a batch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct EventsRecorded {
    /// Events in the batch, all recorded now or before.
    pub recorded: usize,
    /// The run's lease, renewed (or acquired) by this batch.
    pub lease: RunLease,
}

/// The answer to a run's heartbeat (`POST /api/v1/runs/{id}/heartbeat`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Heartbeat {
    /// The run's status: `running` while it holds its lease; anything else means it has
    /// finished (`interrupted` when its lease ran out before).
    pub result: RunStatus,
    /// How long the run stays `running` without news from its client, in seconds.
    pub lease_seconds: u64,
    /// The run's lease, renewed; absent once the run has finished.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lease: Option<RunLease>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(text: &str) -> Result<(), VersionError> {
        check_version(text.as_bytes())
    }

    #[test]
    fn writes_and_reads_its_own_version() {
        let text = serde_json::to_string(&RunEventBatch::new(Vec::new())).unwrap();
        assert_eq!(text, r#"{"version":2,"events":[]}"#);
        assert_eq!(check(&text), Ok(()));
        let batch: RunEventBatch = serde_json::from_str(&text).unwrap();
        assert_eq!(batch, RunEventBatch::new(Vec::new()));
    }

    #[test]
    fn refuses_other_versions_naming_both() {
        let newer = check(r#"{"version": 3, "events": [{"new": "shape"}]}"#).unwrap_err();
        assert!(newer.written_by_newer());
        assert_eq!(
            newer.to_string(),
            "the run events are version 3; this side reads version 2"
        );
        // Version 1 carried one line a `task_output` event: read as version 2 it would fail.
        let older = check(r#"{"version": 1, "events": []}"#).unwrap_err();
        assert!(!older.written_by_newer());
        assert_eq!(
            older.to_string(),
            "the run events are version 1; this side reads version 2"
        );
        let bare = check(r#"  [{"id": "e"}]"#).unwrap_err();
        assert_eq!(bare, VersionError::Unversioned { supported: 2 });
        assert!(bare.to_string().contains("version 2"), "{bare}");
    }

    #[test]
    fn leaves_what_is_no_envelope_to_the_parse() {
        for text in ["", "{", "[1,", "12", r#"{"events": []}"#, r#"{"version": "one"}"#] {
            assert_eq!(check(text), Ok(()), "{text}");
        }
    }
}
