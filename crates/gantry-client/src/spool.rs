//! [`Spool`]: a run's events on disk, in order, until the server has acknowledged them.
//!
//! Layout, in the spool directory (`.gantry/spool/` of the repository):
//! - `RUN_ID.jsonl`: every event of the run, one JSON object a line, appended as they happen;
//! - `RUN_ID.json`: the run events version the lines are written in
//!   ([`gantry_api::RUN_EVENTS_VERSION`]), the server URL and how many of those lines the
//!   server has acknowledged;
//! - `artifacts/SHA256`: a copy of each artifact not yet uploaded (the task's file may change
//!   or vanish before the server is back).
//!
//! A run whose events are all acknowledged is removed from the spool. A spool written in
//! another version of run events (by a newer gantry, say) is refused as a whole, naming both
//! versions, before any of its lines is read.

use std::io::{BufRead, BufReader, Seek as _, SeekFrom, Write};
use std::path::{Path, PathBuf};

use fs_err as fs;
use gantry_api::{RUN_EVENTS_VERSION, VersionError};
use gantry_model::RunEvent;
use serde::{Deserialize, Serialize};

/// A spool problem: always about a file, which it names.
#[derive(Debug, thiserror::Error)]
pub enum SpoolError {
    #[error(transparent)]
    Io(#[from] std::io::Error),
    #[error("`{path}` line {line} is not a run event: {source}")]
    Corrupt {
        path: String,
        line: usize,
        #[source]
        source: serde_json::Error,
    },
    /// Written by a gantry that speaks another version of run events.
    #[error("the spooled run `{run_id}` cannot be read: {source}; {hint}")]
    Version {
        run_id: String,
        #[source]
        source: VersionError,
        hint: &'static str,
    },
}

/// The spool directory.
#[derive(Debug, Clone)]
pub struct Spool {
    dir: PathBuf,
}

/// What the spool knows of one run besides its events.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Progress {
    /// The run events version of the lines: spools from before versions were written hold
    /// version 1's lines, and say nothing.
    #[serde(default = "first_version")]
    version: u64,
    server: String,
    /// How many events (lines) the server has acknowledged.
    sent: usize,
    /// Where the first line the server has not acknowledged starts in the events file, so that
    /// reading what is left does not read what was sent again; 0 in spools written before it
    /// was kept (their first `sent` lines are skipped instead).
    #[serde(default)]
    offset: u64,
}

fn first_version() -> u64 {
    1
}

/// One run's spooled events.
#[derive(Debug)]
pub struct SpooledRun {
    run_id: String,
    events: PathBuf,
    progress_path: PathBuf,
    progress: Progress,
    artifacts: PathBuf,
    /// Where each line that the last [`SpooledRun::unsent`] returned ends in the events file:
    /// acknowledging `count` events moves [`Progress::offset`] to the end of the count-th.
    unsent_ends: std::collections::VecDeque<u64>,
}

impl Spool {
    /// The spool at `dir` (created on first write).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Starts spooling a run that reports to `server`.
    pub fn start(&self, run_id: &str, server: &str) -> Result<SpooledRun, SpoolError> {
        fs::create_dir_all(self.dir.join("artifacts"))?;
        let run = SpooledRun {
            run_id: run_id.to_owned(),
            events: self.dir.join(format!("{run_id}.jsonl")),
            progress_path: self.dir.join(format!("{run_id}.json")),
            progress: Progress {
                version: u64::from(RUN_EVENTS_VERSION),
                server: server.to_owned(),
                sent: 0,
                offset: 0,
            },
            artifacts: self.dir.join("artifacts"),
            unsent_ends: std::collections::VecDeque::new(),
        };
        fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&run.events)?;
        run.save_progress()?;
        Ok(run)
    }

    /// Every run with events the server has not acknowledged yet, oldest first.
    pub fn pending(&self) -> Result<Vec<SpooledRun>, SpoolError> {
        if !self.dir.is_dir() {
            return Ok(Vec::new());
        }
        let mut runs = Vec::new();
        for entry in fs::read_dir(&self.dir)? {
            let path = entry?.path();
            let is_progress = path.extension().is_some_and(|ext| ext == "json");
            let Some(run_id) = path.file_stem().and_then(|stem| stem.to_str()) else {
                continue;
            };
            if !is_progress {
                continue;
            }
            let progress: Progress =
                serde_json::from_str(&fs::read_to_string(&path)?).map_err(|source| SpoolError::Corrupt {
                    path: path.display().to_string(),
                    line: 1,
                    source,
                })?;
            if let Err(source) = VersionError::check(progress.version) {
                let hint = if source.written_by_newer() {
                    "send it with the newer gantry that wrote it (`gantry sync`)"
                } else {
                    "send it with the older gantry that wrote it (`gantry sync`), or remove it"
                };
                return Err(SpoolError::Version {
                    run_id: run_id.to_owned(),
                    source,
                    hint,
                });
            }
            runs.push(SpooledRun {
                run_id: run_id.to_owned(),
                events: self.dir.join(format!("{run_id}.jsonl")),
                progress_path: path.clone(),
                progress,
                artifacts: self.dir.join("artifacts"),
                unsent_ends: std::collections::VecDeque::new(),
            });
        }
        // Run ids are UUID v7: their order is the order the runs started in.
        runs.sort_by(|a, b| a.run_id.cmp(&b.run_id));
        Ok(runs)
    }
}

impl SpooledRun {
    pub fn run_id(&self) -> &str {
        &self.run_id
    }

    /// The server the run reports to.
    pub fn server(&self) -> &str {
        &self.progress.server
    }

    /// Appends events (and keeps a copy of each new artifact), before anything is sent.
    pub fn append(&mut self, events: &[RunEvent]) -> Result<(), SpoolError> {
        let mut file = std::io::BufWriter::new(fs::OpenOptions::new().append(true).open(&self.events)?);
        for event in events {
            if let gantry_model::RunEventKind::ArtifactPackaged { source, sha256, .. } = &event.kind {
                let stash = self.artifact(sha256);
                if !stash.exists() {
                    // A hard link costs nothing when the spool is on the same file system.
                    if fs::hard_link(source, &stash).is_err() {
                        fs::copy(source, &stash)?;
                    }
                }
            }
            serde_json::to_writer(&mut file, event).map_err(std::io::Error::from)?;
            file.write_all(b"\n")?;
        }
        file.flush()?;
        Ok(())
    }

    /// The events the server has not acknowledged, in order: read from where the first of
    /// them starts, not from the beginning of the file.
    pub fn unsent(&mut self) -> Result<Vec<RunEvent>, SpoolError> {
        let mut file = fs::File::open(&self.events)?;
        let (mut position, mut skip, mut number) = if self.progress.offset > 0 {
            file.seek(SeekFrom::Start(self.progress.offset))?;
            (self.progress.offset, 0, self.progress.sent)
        } else {
            (0, self.progress.sent, 0)
        };
        let mut reader = BufReader::new(file);
        let mut events = Vec::new();
        self.unsent_ends.clear();
        let mut line = String::new();
        loop {
            line.clear();
            let read = reader.read_line(&mut line)?;
            if read == 0 {
                break;
            }
            position += read as u64;
            number += 1;
            if skip > 0 {
                skip -= 1;
                continue;
            }
            if line.trim().is_empty() {
                continue;
            }
            let event = serde_json::from_str(&line).map_err(|source| SpoolError::Corrupt {
                path: self.events.display().to_string(),
                line: number,
                source,
            })?;
            events.push(event);
            self.unsent_ends.push_back(position);
        }
        Ok(events)
    }

    /// Whether the run's last spooled event is its `RunFinished`.
    pub fn is_finished(&self) -> Result<bool, SpoolError> {
        let text = fs::read_to_string(&self.events)?;
        let Some(last) = text.lines().rev().find(|line| !line.trim().is_empty()) else {
            return Ok(false);
        };
        Ok(serde_json::from_str::<RunEvent>(last)
            .is_ok_and(|event| matches!(event.kind, gantry_model::RunEventKind::RunFinished { .. })))
    }

    /// Records that `count` more events were acknowledged; removes the run when all are.
    pub fn acknowledge(&mut self, count: usize, finished: bool) -> Result<(), SpoolError> {
        self.progress.sent += count;
        if count > 0 {
            if count <= self.unsent_ends.len() {
                self.progress.offset = self.unsent_ends[count - 1];
                self.unsent_ends.drain(..count);
            } else {
                // Not read through `unsent`: count lines from the start again.
                self.progress.offset = 0;
                self.unsent_ends.clear();
            }
        }
        if finished && self.unsent()?.is_empty() {
            fs::remove_file(&self.events)?;
            fs::remove_file(&self.progress_path)?;
            return Ok(());
        }
        self.save_progress()
    }

    /// Where the spooled copy of an artifact is.
    pub fn artifact(&self, sha256: &str) -> PathBuf {
        self.artifacts.join(sha256)
    }

    /// Writes the progress file atomically (write, then rename), so a crash never leaves it half.
    fn save_progress(&self) -> Result<(), SpoolError> {
        let temporary = self.progress_path.with_extension("json.tmp");
        fs::write(
            &temporary,
            serde_json::to_vec(&self.progress).map_err(std::io::Error::from)?,
        )?;
        fs::rename(&temporary, &self.progress_path)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_spool_of_another_version_is_refused_naming_both() {
        let dir = tempfile::tempdir().unwrap();
        let spool = Spool::new(dir.path());
        spool.start("run-1", "http://server").unwrap();
        assert_eq!(spool.pending().unwrap().len(), 1);
        let progress = dir.path().join("run-1.json");
        let text = std::fs::read_to_string(&progress).unwrap();
        assert!(text.contains(r#""version":2"#), "{text}");

        // Written before versions were: version 1's lines, which this side does not read.
        std::fs::write(&progress, r#"{"server":"http://server","sent":0}"#).unwrap();
        let error = spool.pending().unwrap_err().to_string();
        assert!(error.contains("version 1; this side reads version 2"), "{error}");
        assert!(error.contains("the older gantry that wrote it"), "{error}");

        std::fs::write(&progress, r#"{"version":3,"server":"http://server","sent":0}"#).unwrap();
        let error = spool.pending().unwrap_err().to_string();
        assert!(error.contains("version 3; this side reads version 2"), "{error}");
        assert!(error.contains("the newer gantry that wrote it"), "{error}");
    }

    fn output(run_id: &str, index: usize) -> RunEvent {
        RunEvent {
            id: format!("event-{index}"),
            run_id: gantry_model::RunId(run_id.to_owned()),
            at: chrono::Utc::now(),
            kind: gantry_model::RunEventKind::TaskOutput {
                path: gantry_model::TaskPath("s/t".to_owned()),
                stream: gantry_model::LogStream::Stdout,
                lines: vec![format!("line {index}")],
            },
        }
    }

    #[test]
    fn what_was_acknowledged_is_not_read_again_even_after_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let spool = Spool::new(dir.path());
        let mut run = spool.start("run-1", "http://server").unwrap();
        let events: Vec<RunEvent> = (0..10).map(|index| output("run-1", index)).collect();
        run.append(&events[..6]).unwrap();
        assert_eq!(run.unsent().unwrap(), events[..6]);
        run.acknowledge(4, false).unwrap();
        run.append(&events[6..]).unwrap();
        assert_eq!(run.unsent().unwrap(), events[4..]);
        run.acknowledge(2, false).unwrap();

        // Another process (`gantry sync`) takes up where the acknowledgements stopped.
        let mut again = spool.pending().unwrap().pop().unwrap();
        assert_eq!(again.unsent().unwrap(), events[6..]);
        // Acknowledged without reading first: counted from the start of the file.
        let mut again = spool.pending().unwrap().pop().unwrap();
        again.acknowledge(1, false).unwrap();
        let mut again = spool.pending().unwrap().pop().unwrap();
        assert_eq!(again.unsent().unwrap(), events[7..]);
        again.unsent().unwrap();
        again.acknowledge(3, true).unwrap();
        assert!(spool.pending().unwrap().is_empty(), "all sent: removed");
    }
}
