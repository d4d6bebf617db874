//! [`Executor`]: runs one attempt of one task and reports how it ended.
//!
//! An executor runs `bash -eo pipefail -c SCRIPT` in a process group of its own (or a mock
//! stand-in), streams its output, enforces the timeout and cancellation, and after a success
//! reads the context file and collects the artifacts. It owns no run state, not even its job
//! slot (the dispatcher hands those out): everything it learns goes to the dispatcher, as
//! messages while it runs and as an [`ExecutorReport`] at the end.

use std::error::Error;
use std::os::unix::process::ExitStatusExt as _;
use std::path::PathBuf;
use std::process::{ExitStatus, Stdio};
use std::sync::Arc;
use std::time::Duration;

use gantry_model::LogStream;
use gantry_model::duration::format_duration;
use nix::sys::signal::Signal;
use tokio::process::{Child, Command};
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::artifact::{self, Artifact};
use crate::mask::Masker;
use crate::mock::StandIn;
use crate::output::{OutputReader, ReaderProbe};
use crate::process_group::ProcessGroup;

/// Which lane of the current phase an executor runs a task of.
pub(crate) type LaneId = usize;

/// How long processes a task's shell left behind may take to end on their own, and how long
/// a pipe may stay silent after the task's processes are gone before it is given up on.
const DRAIN: Duration = Duration::from_millis(250);

/// How often the output readers are checked while the executor waits for them.
const POLL: Duration = Duration::from_millis(20);

/// What an executor tells the dispatcher while it runs.
#[derive(Debug)]
pub(crate) enum ExecutorMessage {
    /// Lines of output from one stream, in order, secrets masked already (never none).
    Output {
        lane: LaneId,
        stream: LogStream,
        lines: Vec<String>,
    },
    Artifact {
        lane: LaneId,
        artifact: Artifact,
    },
}

/// What an attempt runs.
#[derive(Debug)]
pub(crate) enum Work {
    Process(ProcessSpec),
    StandIn(StandIn),
}

/// A task's process, fully decided by the dispatcher.
#[derive(Debug)]
pub(crate) struct ProcessSpec {
    pub(crate) script: String,
    pub(crate) workdir: PathBuf,
    /// Set on top of the engine's own environment, later entries winning.
    pub(crate) env: Vec<(String, String)>,
    /// Removed from the inherited environment first.
    pub(crate) unset: Vec<&'static str>,
    pub(crate) timeout: Option<Duration>,
    pub(crate) artifacts: Vec<String>,
    /// Where the task writes its context (`GANTRY_CONTEXT`), or why there is no such file.
    pub(crate) context_file: Result<PathBuf, String>,
}

/// How an attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ending {
    Success,
    Failure,
    TimedOut,
    Cancelled,
}

/// The end of an attempt, for the dispatcher.
#[derive(Debug)]
pub(crate) struct ExecutorReport {
    pub(crate) ending: Ending,
    pub(crate) exit_code: Option<i32>,
    /// The context file as the task left it, after a success.
    pub(crate) context: Option<String>,
}

/// Runs one attempt of one task.
#[derive(Debug)]
pub(crate) struct Executor {
    pub(crate) lane: LaneId,
    /// To the dispatcher, which turns messages into events in the order they were sent.
    pub(crate) messages: mpsc::Sender<ExecutorMessage>,
    /// Stops the attempt: the run's cancellation, or a token nobody cancels for `finally`.
    pub(crate) cancel: CancellationToken,
    /// Between `SIGTERM` and `SIGKILL`.
    pub(crate) grace: Duration,
    /// Hides secrets in every line the attempt sends, its own included; shared, as masking
    /// happens in the readers, side by side, not in the dispatcher.
    pub(crate) masker: Arc<Masker>,
}

impl ExecutorReport {
    fn failed(exit_code: Option<i32>) -> Self {
        Self {
            ending: Ending::Failure,
            exit_code,
            context: None,
        }
    }
}

/// Why the executor stopped waiting for the shell.
enum Stop {
    Exited(std::io::Result<ExitStatus>),
    TimedOut(Duration),
    Cancelled,
}

impl Executor {
    pub(crate) async fn run(self, work: Work) -> ExecutorReport {
        match work {
            Work::Process(spec) => self.run_process(spec).await,
            Work::StandIn(stand_in) => self.run_stand_in(stand_in).await,
        }
    }

    async fn run_stand_in(&self, stand_in: StandIn) -> ExecutorReport {
        self.output(LogStream::Stdout, stand_in.line).await;
        if stand_in.fails {
            ExecutorReport::failed(Some(1))
        } else {
            ExecutorReport {
                ending: Ending::Success,
                exit_code: Some(0),
                context: None,
            }
        }
    }

    async fn run_process(&self, spec: ProcessSpec) -> ExecutorReport {
        let context_file = match &spec.context_file {
            Ok(path) => path.clone(),
            Err(reason) => {
                self.say(reason).await;
                return ExecutorReport::failed(None);
            }
        };
        if let Err(err) = tokio::fs::write(&context_file, b"").await {
            self.say(&format!(
                "failed to create the context file `{}`: {err}",
                context_file.display()
            ))
            .await;
            return ExecutorReport::failed(None);
        }
        if self.cancel.is_cancelled() {
            self.say("cancelled before the task started").await;
            return ExecutorReport {
                ending: Ending::Cancelled,
                exit_code: None,
                context: None,
            };
        }

        let mut command = Command::new("bash");
        command
            .args(["-eo", "pipefail", "-c"])
            .arg(&spec.script)
            .current_dir(&spec.workdir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            // Should this executor be dropped mid-run, the shell at least does not outlive it.
            .kill_on_drop(true);
        for key in &spec.unset {
            command.env_remove(key);
        }
        command.envs(spec.env.iter().map(|(key, value)| (key, value)));
        let mut shell = match command.spawn() {
            Ok(shell) => shell,
            Err(err) => {
                self.say(&format!(
                    "failed to start `bash` in `{}`: {err}",
                    spec.workdir.display()
                ))
                .await;
                return ExecutorReport::failed(None);
            }
        };
        let group = ProcessGroup::of(&shell);

        let stop_reading = CancellationToken::new();
        let mut readers = JoinSet::new();
        let mut probes = Vec::new();
        if let Some(stdout) = shell.stdout.take() {
            let reader = self.reader(LogStream::Stdout, &stop_reading, &mut probes);
            readers.spawn(reader.run(stdout));
        }
        if let Some(stderr) = shell.stderr.take() {
            let reader = self.reader(LogStream::Stderr, &stop_reading, &mut probes);
            readers.spawn(reader.run(stderr));
        }

        let stop = tokio::select! {
            biased;
            status = shell.wait() => Stop::Exited(status),
            () = self.cancel.cancelled() => Stop::Cancelled,
            () = sleep_for(spec.timeout) => Stop::TimedOut(spec.timeout.unwrap_or_default()),
        };
        let (ending, status) = match stop {
            Stop::Exited(status) => {
                // The shell is done; whatever it left running in the background must not
                // outlive the task (nor hold its output open forever).
                if let Some(group) = group
                    && !group.wait_gone(Instant::now() + DRAIN).await
                {
                    self.say("the task's shell exited but left processes running; stopping them")
                        .await;
                    group.stop(&mut shell, self.grace).await;
                }
                match status {
                    Ok(status) => (ending_of(status), Some(status)),
                    Err(err) => {
                        self.say(&format!("failed to wait for the task's shell: {err}"))
                            .await;
                        (Ending::Failure, None)
                    }
                }
            }
            Stop::TimedOut(timeout) => {
                self.say(&format!("timed out after {}", format_duration(timeout)))
                    .await;
                (Ending::TimedOut, self.stop_group(group, &mut shell).await)
            }
            Stop::Cancelled => {
                self.say("cancelled; stopping the task").await;
                (Ending::Cancelled, self.stop_group(group, &mut shell).await)
            }
        };
        self.finish_reading(&mut readers, &probes, &stop_reading).await;

        let exit_code = status.and_then(|status| status.code());
        if ending == Ending::Failure
            && let Some(signal) = status.and_then(|status| status.signal())
        {
            let name = Signal::try_from(signal)
                .map_or_else(|_| signal.to_string(), |signal| signal.as_str().to_owned());
            self.say(&format!("the task's shell was killed by {name}")).await;
        }
        if ending != Ending::Success {
            return ExecutorReport {
                ending,
                exit_code,
                context: None,
            };
        }

        let context = match tokio::fs::read(&context_file).await {
            Ok(bytes) => Some(String::from_utf8_lossy(&bytes).into_owned()),
            // The task may remove its own context file; then it passes nothing on.
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => None,
            Err(err) => {
                self.say(&format!(
                    "failed to read the context file `{}`: {err}",
                    context_file.display()
                ))
                .await;
                None
            }
        };
        if !spec.artifacts.is_empty() {
            let workdir = spec.workdir.clone();
            let patterns = spec.artifacts.clone();
            match tokio::task::spawn_blocking(move || artifact::collect(&workdir, &patterns)).await {
                Ok(Ok(artifacts)) => {
                    for artifact in artifacts {
                        self.send(ExecutorMessage::Artifact {
                            lane: self.lane,
                            artifact,
                        })
                        .await;
                    }
                }
                Ok(Err(err)) => {
                    self.say(&chain(&err)).await;
                    return ExecutorReport::failed(exit_code);
                }
                Err(err) => {
                    self.say(&format!("failed to collect artifacts: {err}")).await;
                    return ExecutorReport::failed(exit_code);
                }
            }
        }
        ExecutorReport {
            ending: Ending::Success,
            exit_code,
            context,
        }
    }

    fn reader(
        &self,
        stream: LogStream,
        stop: &CancellationToken,
        probes: &mut Vec<Arc<ReaderProbe>>,
    ) -> OutputReader {
        let probe = Arc::new(ReaderProbe::default());
        probes.push(Arc::clone(&probe));
        OutputReader {
            lane: self.lane,
            stream,
            messages: self.messages.clone(),
            masker: Arc::clone(&self.masker),
            probe,
            stop: stop.clone(),
        }
    }

    /// Stops the task's processes and returns how the shell ended, if it could be seen.
    async fn stop_group(&self, group: Option<ProcessGroup>, shell: &mut Child) -> Option<ExitStatus> {
        match group {
            Some(group) => group.stop(shell, self.grace).await,
            // The shell was reaped already, so its group id may not be ours to signal.
            None => {
                let _ = shell.kill().await;
            }
        }
        shell.try_wait().ok().flatten()
    }

    /// Waits until both pipes reach end of file; gives up on a pipe only when it stays silent
    /// for [`DRAIN`] while nothing is waiting to be delivered, which means a process that left
    /// the task's group holds it open. Output that is merely slow to be consumed is never cut.
    async fn finish_reading(
        &self,
        readers: &mut JoinSet<()>,
        probes: &[Arc<ReaderProbe>],
        stop: &CancellationToken,
    ) {
        let bytes = || probes.iter().map(|probe| probe.bytes()).sum::<u64>();
        let mut seen = bytes();
        let mut quiet_since = Instant::now();
        loop {
            match tokio::time::timeout(POLL, readers.join_next()).await {
                Ok(None) => return,
                Ok(Some(_)) => continue,
                Err(_) => {}
            }
            let now = bytes();
            if now != seen || probes.iter().any(|probe| probe.delivering()) {
                seen = now;
                quiet_since = Instant::now();
            } else if quiet_since.elapsed() >= DRAIN {
                stop.cancel();
                while readers.join_next().await.is_some() {}
                self.say("stopped reading output held open by a process outside the task's process group")
                    .await;
                return;
            }
        }
    }

    /// A line from the engine itself, on the task's stderr.
    async fn say(&self, text: &str) {
        self.output(LogStream::Stderr, format!("gantry: {text}")).await;
    }

    async fn output(&self, stream: LogStream, line: String) {
        self.send(ExecutorMessage::Output {
            lane: self.lane,
            stream,
            lines: vec![self.masker.mask(&line)],
        })
        .await;
    }

    async fn send(&self, message: ExecutorMessage) {
        // The dispatcher outlives every executor; a failed send means the run is being torn down.
        let _ = self.messages.send(message).await;
    }
}

fn ending_of(status: ExitStatus) -> Ending {
    if status.success() {
        Ending::Success
    } else {
        Ending::Failure
    }
}

/// Sleeps for `duration`, or forever.
async fn sleep_for(duration: Option<Duration>) {
    match duration {
        Some(duration) => tokio::time::sleep(duration).await,
        None => std::future::pending().await,
    }
}

/// An error and its sources: `failed to read `x`: permission denied`.
fn chain(err: &dyn Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
