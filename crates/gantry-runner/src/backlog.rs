//! [`Backlog`]: the events of a live run that its store has not taken yet, in order: in memory
//! up to [`MEMORY_LIMIT`], in a file beyond, so that a task printing faster than the store
//! writes is not held up by it, and memory stays bounded however far the store falls behind.

use std::collections::VecDeque;
use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt as _;
use std::path::Path;
use std::sync::{Mutex, PoisonError};

use gantry_model::{RunEvent, RunEventKind};
use tokio::sync::Notify;

/// How many bytes of events wait in memory at most; more wait in a file.
const MEMORY_LIMIT: usize = 16 * 1024 * 1024;

/// Events waiting for the store: the run's side pushes batches, the store's writer takes
/// them, oldest first.
#[derive(Debug, Default)]
pub(crate) struct Backlog {
    state: Mutex<State>,
    /// Wakes the writer when events come or the backlog closes (one writer, so a permit
    /// stored while it is busy is never lost).
    ready: Notify,
}

#[derive(Debug, Default)]
struct State {
    /// Batches in memory, each with its weight; all older than any batch in `spill`.
    memory: VecDeque<(Vec<RunEvent>, usize)>,
    memory_bytes: usize,
    /// Batches in a file, while memory is full; gone once it is read to its end.
    spill: Option<Spill>,
    closed: bool,
}

/// Batches in an unnamed file (removed by the system when closed), each as its length and its
/// JSON, written and read at explicit offsets.
#[derive(Debug)]
struct Spill {
    file: File,
    written: u64,
    read: u64,
}

impl Backlog {
    /// Adds a batch after the others; to a file under `dir` when memory holds enough.
    pub(crate) fn push(&self, batch: Vec<RunEvent>, dir: Option<&Path>) {
        let weight = batch.iter().map(weight).sum::<usize>();
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let spill = state.spill.is_some() || state.memory_bytes + weight > MEMORY_LIMIT;
        let batch = if spill {
            match state.spill_batch(&batch, dir) {
                Ok(()) => None,
                // No room on disk either: memory it is, rather than lose an event.
                Err(_) => Some(batch),
            }
        } else {
            Some(batch)
        };
        if let Some(batch) = batch {
            state.memory_bytes += weight;
            state.memory.push_back((batch, weight));
        }
        drop(state);
        self.ready.notify_one();
    }

    /// No more batches will come: the writer ends once it has taken what is left.
    pub(crate) fn close(&self) {
        self.state.lock().unwrap_or_else(PoisonError::into_inner).closed = true;
        self.ready.notify_one();
    }

    /// The oldest batches, together at least one and up to about `events` events or
    /// `bytes` bytes; `None` once the backlog is closed and empty. An error reading the file
    /// back is returned once; the batches after it are still returned.
    pub(crate) async fn take(&self, events: usize, bytes: usize) -> Option<io::Result<Vec<RunEvent>>> {
        loop {
            {
                let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
                let mut taken: Vec<RunEvent> = Vec::new();
                let mut weight = 0;
                while taken.len() < events && weight < bytes {
                    if let Some((batch, batch_weight)) = state.memory.pop_front() {
                        state.memory_bytes -= batch_weight;
                        weight += batch_weight;
                        taken.extend(batch);
                        continue;
                    }
                    match state.unspill() {
                        Some(Ok(batch)) => {
                            weight += batch.iter().map(self::weight).sum::<usize>();
                            taken.extend(batch);
                        }
                        Some(Err(err)) => return Some(Err(err)),
                        None => break,
                    }
                }
                if !taken.is_empty() {
                    return Some(Ok(taken));
                }
                if state.closed {
                    return None;
                }
            }
            self.ready.notified().await;
        }
    }
}

impl State {
    fn spill_batch(&mut self, batch: &[RunEvent], dir: Option<&Path>) -> io::Result<()> {
        if self.spill.is_none() {
            let file = match dir {
                Some(dir) => tempfile::tempfile_in(dir)?,
                None => tempfile::tempfile()?,
            };
            self.spill = Some(Spill {
                file,
                written: 0,
                read: 0,
            });
        }
        let Some(spill) = self.spill.as_mut() else {
            return Err(io::Error::other("the backlog has no file"));
        };
        let json = serde_json::to_vec(batch).map_err(io::Error::from)?;
        let mut record = Vec::with_capacity(json.len() + 8);
        record.extend_from_slice(&(json.len() as u64).to_le_bytes());
        record.extend_from_slice(&json);
        spill.file.write_all_at(&record, spill.written)?;
        spill.written += record.len() as u64;
        Ok(())
    }

    /// The oldest batch in the file, if there is one; the file goes once it is all read.
    fn unspill(&mut self) -> Option<io::Result<Vec<RunEvent>>> {
        let spill = self.spill.as_mut()?;
        if spill.read == spill.written {
            self.spill = None;
            return None;
        }
        let mut read = || -> io::Result<Vec<RunEvent>> {
            let mut length = [0; 8];
            spill.file.read_exact_at(&mut length, spill.read)?;
            let length = u64::from_le_bytes(length);
            let mut json = vec![0; usize::try_from(length).map_err(io::Error::other)?];
            spill.file.read_exact_at(&mut json, spill.read + 8)?;
            spill.read += 8 + length;
            serde_json::from_slice(&json).map_err(io::Error::from)
        };
        let batch = read();
        if batch.is_err() {
            // What follows cannot be found any more: leave the file, keep going from memory.
            self.spill = None;
        }
        Some(batch)
    }
}

/// About how many bytes an event holds: its lines for output, a small constant else.
pub(crate) fn weight(event: &RunEvent) -> usize {
    const EVENT: usize = 256;
    match &event.kind {
        RunEventKind::TaskOutput { lines, .. } => {
            EVENT + lines.iter().map(|line| line.len() + 24).sum::<usize>()
        }
        _ => EVENT,
    }
}

#[cfg(test)]
mod tests {
    use gantry_model::{LogStream, RunId, TaskPath};

    use super::*;

    fn output(index: usize, size: usize) -> RunEvent {
        RunEvent {
            id: format!("e{index}"),
            run_id: RunId("r".to_owned()),
            at: chrono::Utc::now(),
            kind: RunEventKind::TaskOutput {
                path: TaskPath("s/t".to_owned()),
                stream: LogStream::Stdout,
                lines: vec![format!("{index} {}", "x".repeat(size))],
            },
        }
    }

    /// Far more than memory holds, taken while more comes: every event once, in order, most of
    /// them through the file, and memory never past its limit.
    #[tokio::test]
    async fn events_past_the_memory_limit_wait_on_disk_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let backlog = std::sync::Arc::new(Backlog::default());
        let events: Vec<RunEvent> = (0..400).map(|index| output(index, 256 * 1024)).collect();
        let reader = {
            let backlog = std::sync::Arc::clone(&backlog);
            tokio::spawn(async move {
                let mut seen = Vec::new();
                while let Some(batch) = backlog.take(7, usize::MAX).await {
                    seen.extend(batch.unwrap());
                    let memory = backlog.state.lock().unwrap().memory_bytes;
                    assert!(memory <= MEMORY_LIMIT, "{memory} bytes in memory");
                }
                seen
            })
        };
        let mut spilled = false;
        for chunk in events.chunks(3) {
            backlog.push(chunk.to_vec(), Some(dir.path()));
            spilled |= backlog.state.lock().unwrap().spill.is_some();
        }
        backlog.close();
        let seen = reader.await.unwrap();
        assert!(seen == events, "every event once, in order");
        assert!(spilled, "100 MiB went through the file");
        assert!(backlog.state.lock().unwrap().spill.is_none(), "the file is gone");
    }
}
