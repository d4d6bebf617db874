//! [`run`]: a run from settings to its recorded end, the one code path of `gantry run`,
//! `gantry up` and agents.

use std::time::Duration;

use gantry_engine::{RunRequest, Stop};
use gantry_model::event::RunInfo;
use gantry_model::{RunEvent, RunEventKind, RunId, RunResult, render_version};
use tokio::sync::mpsc;

use crate::Error;
use crate::prepared::PreparedRun;
use crate::recorder::Recorder;
use crate::reporter::Reporter;
use crate::settings::{Mode, RunSettings};
use crate::sink::{Sink, Unsent};

/// How many events the engine may run ahead of the reporter and the recorder. An output
/// event holds at most one read of a pipe (64 KiB), so this bounds the memory a chatty task
/// can fill while the store catches up (16 MiB) as well.
const EVENT_BUFFER: usize = 256;

/// How many events are taken from the engine at once at most.
const BATCH: usize = 512;

/// How often a reporter is asked to redraw while no event comes (and so how long at most it
/// keeps output it holds back to draw a terminal at a bounded frame rate).
const TICK: Duration = Duration::from_millis(100);

/// How a run that started ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunOutcome {
    pub run_id: RunId,
    pub app: String,
    /// 0 for a mock run.
    pub build: u64,
    pub version: String,
    pub result: RunResult,
    /// Events a server did not take in time, kept in the spool.
    pub unsent: Option<Unsent>,
}

/// Prepares and executes a run: see [`PreparedRun::new`] and [`PreparedRun::execute`].
pub async fn run(
    settings: RunSettings,
    reporter: &mut dyn Reporter,
    stop: Stop,
) -> Result<RunOutcome, Error> {
    PreparedRun::new(settings)?.execute(reporter, stop).await
}

impl PreparedRun {
    /// Opens the destination, takes a build number, executes the plan and records every
    /// event, showing each to `reporter`.
    ///
    /// `stop` cancels the run from outside (a signal, a server): cancelled before it starts,
    /// nothing runs ([`Error::Cancelled`]); cancelled while it runs, the tasks are stopped,
    /// `finally` still runs, and the result is [`RunResult::Cancelled`]. A recording failure
    /// does not stop the run (the engine goes on and the report stays true); it is the error
    /// returned at the end.
    pub async fn execute(self, reporter: &mut dyn Reporter, stop: Stop) -> Result<RunOutcome, Error> {
        let Self {
            settings,
            workspace,
            pipeline,
            plan,
            revision,
            branch,
            secrets,
            numbered,
        } = self;
        let jobs = settings.jobs();
        let (destination, mock) = match settings.mode {
            Mode::Record { destination, .. } => (Some(destination), None),
            Mode::Mock(mock) => (None, Some(mock)),
        };
        let recorder = match destination {
            Some(destination) => Recorder::open(destination, &workspace.root).await?,
            None => Recorder::Nowhere,
        };
        if stop.is_cancelled() {
            return Err(Error::Cancelled);
        }
        let (run_id, build) = match numbered {
            Some((run_id, build)) => (RunId(run_id), build),
            None => (
                RunId(uuid::Uuid::now_v7().to_string()),
                recorder.allocate_build(&pipeline.app).await?,
            ),
        };
        let version = render_version(
            &pipeline.version,
            build,
            revision.sha.as_deref(),
            branch.as_deref(),
        );
        let app = pipeline.app.clone();
        let request = RunRequest {
            run_id: run_id.clone(),
            info: RunInfo {
                app: pipeline.app.clone(),
                version: version.clone(),
                build,
                revision: revision.sha.clone(),
                branch,
                traceable: revision.untraceable.is_none(),
                untraceable_reason: revision.untraceable,
                pipeline,
                mock: mock.is_some(),
                selection: settings.selection,
                runner: Some(gantry_model::Runner {
                    host: gantry_store::Owner::current().host,
                    pid: std::process::id(),
                }),
            },
            plan,
            root: workspace.root,
            secrets,
            jobs,
            mock,
            grace: settings.grace,
        };
        if stop.is_cancelled() {
            return Err(Error::Cancelled);
        }
        let sink = recorder.start(&run_id, &request.root)?;
        let (sender, receiver) = mpsc::channel(EVENT_BUFFER);
        let engine = tokio::spawn(gantry_engine::execute(request, sender, stop.clone()));
        let consumed = consume(receiver, reporter, &sink, &stop, &version).await;
        let result = engine.await.map_err(|source| Error::Crashed {
            task: "engine",
            source,
        })?;
        let unsent = sink.close().await;
        consumed?;
        Ok(RunOutcome {
            run_id,
            app,
            build,
            version,
            result,
            unsent: unsent?,
        })
    }
}

/// Shows every event and hands it to the sink, until the engine closes the channel; never waits
/// for the store (the sink keeps what it has not recorded yet), so the engine runs at the pace
/// of its tasks.
///
/// A recording failure does not stop the run: the report stays true, and the first failure is
/// returned at the end (by the sink's `close`). A reporting failure cancels the run, which is
/// still recorded to its end.
async fn consume(
    mut receiver: mpsc::Receiver<RunEvent>,
    reporter: &mut dyn Reporter,
    sink: &Sink,
    stop: &Stop,
    version: &str,
) -> Result<(), Error> {
    let mut batch = Vec::with_capacity(BATCH);
    let mut report_error = None;
    let mut result = RunResult::Failure;
    let mut ticker = tokio::time::interval(TICK);
    loop {
        tokio::select! {
            count = receiver.recv_many(&mut batch, BATCH) => {
                if count == 0 {
                    break;
                }
            }
            _ = ticker.tick() => {
                if report_error.is_none() {
                    reporter.tick();
                }
                continue;
            }
        }
        for event in &batch {
            if let RunEventKind::RunFinished { result: finished } = &event.kind {
                result = *finished;
            }
            if report_error.is_none()
                && let Err(err) = reporter.event(event)
            {
                // Nobody sees the run any more: stop it rather than run on unseen.
                stop.cancel();
                report_error = Some(err);
            }
        }
        if report_error.is_none()
            && let Err(err) = reporter.flush()
        {
            stop.cancel();
            report_error = Some(err);
        }
        sink.record(std::mem::replace(&mut batch, Vec::with_capacity(BATCH)));
    }
    if report_error.is_none()
        && let Err(err) = reporter.finish(result, version)
    {
        report_error = Some(err);
    }
    report_error.map_or(Ok(()), |err| Err(Error::Report(err)))
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use gantry_model::TaskOutcome;

    use super::*;
    use crate::{Checkout, Destination, MockSettings, ServerSettings};

    /// Which event a test stops its run at, from outside.
    type StopWhen = (Stop, fn(&RunEvent) -> bool);

    /// A reporter that keeps what it was shown, and may stop the run when it sees an event.
    struct Seen {
        events: Vec<RunEvent>,
        finished: Option<RunResult>,
        stop_when: Option<StopWhen>,
    }

    impl Seen {
        fn new() -> Self {
            Self {
                events: Vec::new(),
                finished: None,
                stop_when: None,
            }
        }

        fn outcome_of(&self, task: &str) -> Option<TaskOutcome> {
            self.events.iter().find_map(|event| match &event.kind {
                RunEventKind::TaskFinished { path, outcome, .. } if path.name() == task => Some(*outcome),
                _ => None,
            })
        }
    }

    impl Reporter for Seen {
        fn event(&mut self, event: &RunEvent) -> std::io::Result<()> {
            if let Some((stop, when)) = &self.stop_when
                && when(event)
            {
                stop.cancel();
            }
            self.events.push(event.clone());
            Ok(())
        }

        fn finish(&mut self, result: RunResult, _version: &str) -> std::io::Result<()> {
            self.finished = Some(result);
            Ok(())
        }
    }

    fn project(pipeline: &str) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("gantry.yml"), pipeline).unwrap();
        dir
    }

    fn store_url(dir: &Path) -> String {
        format!("sqlite://{}", dir.join("runs.db").display())
    }

    const LONG: &str = "\
app: demo
stages:
  - name: work
    tasks:
      - { name: wait, run: 'echo started; sleep 30' }
      - { name: after, run: 'touch after' }
finally:
  - { name: last, run: 'touch finally-ran' }
";

    /// What an agent does when its server says stop: the run is cancelled from outside,
    /// `finally` still runs, and the store holds the run as cancelled.
    #[tokio::test]
    async fn a_stop_from_outside_cancels_the_run_and_records_it() {
        let dir = project(LONG);
        let url = store_url(dir.path());
        let mut settings =
            RunSettings::new(Checkout::new(dir.path()), Destination::StoreAt(Some(url.clone())));
        settings.grace = Duration::from_millis(200);
        let stop = Stop::new();
        let mut seen = Seen::new();
        seen.stop_when = Some((
            stop.clone(),
            |event| matches!(&event.kind, RunEventKind::TaskOutput { lines, .. } if lines.iter().any(|line| line == "started")),
        ));
        let outcome = run(settings, &mut seen, stop).await.unwrap();
        assert_eq!(outcome.result, RunResult::Cancelled);
        assert_eq!(seen.finished, Some(RunResult::Cancelled));
        assert_eq!(outcome.build, 1);
        assert!(dir.path().join("finally-ran").exists(), "finally still runs");
        assert!(
            !dir.path().join("after").exists(),
            "nothing starts after the stop"
        );

        let store = crate::open_store(&url).await.unwrap();
        let recorded = store.find_run(&outcome.run_id.0).await.unwrap().unwrap();
        assert_eq!(recorded.summary.result, gantry_store::RunStatus::Cancelled);
        assert_eq!(recorded.summary.build, 1);
    }

    #[tokio::test]
    async fn a_run_stopped_before_it_starts_runs_and_records_nothing() {
        let dir = project(LONG);
        let url = store_url(dir.path());
        let settings = RunSettings::new(Checkout::new(dir.path()), Destination::StoreAt(Some(url.clone())));
        let stop = Stop::new();
        stop.cancel();
        let mut seen = Seen::new();
        let err = run(settings, &mut seen, stop).await.unwrap_err();
        assert!(matches!(err, Error::Cancelled), "{err:?}");
        assert!(seen.events.is_empty());
        assert!(!dir.path().join("finally-ran").exists());
        let store = crate::open_store(&url).await.unwrap();
        assert!(
            store
                .list_runs(&gantry_store::RunFilter::default())
                .await
                .unwrap()
                .is_empty()
        );
    }

    #[tokio::test]
    async fn a_mock_run_takes_no_number_and_fails_where_told() {
        let dir = project(LONG);
        let mut settings = RunSettings::new(Checkout::new(dir.path()), Destination::StoreAt(None));
        settings.mode = Mode::Mock(MockSettings {
            fail: vec!["after".to_owned()],
        });
        let mut seen = Seen::new();
        let outcome = run(settings.clone(), &mut seen, Stop::new()).await.unwrap();
        assert_eq!((outcome.build, outcome.result), (0, RunResult::Failure));
        assert_eq!(seen.outcome_of("after"), Some(TaskOutcome::Failure));
        assert_eq!(seen.outcome_of("wait"), Some(TaskOutcome::Success));
        assert!(!dir.path().join(".gantry").exists(), "a mock run records nothing");

        settings.mode = Mode::Mock(MockSettings {
            fail: vec!["nosuch".to_owned()],
        });
        let err = run(settings, &mut Seen::new(), Stop::new()).await.unwrap_err();
        assert!(
            matches!(&err, Error::Refused { message, hint: Some(hint) }
                if message.contains("nosuch") && hint.contains("work/after")),
            "{err:?}"
        );
    }

    #[tokio::test]
    async fn no_build_number_from_the_server_no_run() {
        let dir = project(LONG);
        // A port nobody listens on: bound, then let go.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let server = ServerSettings::new(format!("http://127.0.0.1:{port}"), None);
        let settings = RunSettings::new(Checkout::new(dir.path()), Destination::Server(server));
        let err = run(settings, &mut Seen::new(), Stop::new()).await.unwrap_err();
        assert!(matches!(err, Error::ServerBuild { .. }), "{err:?}");
        assert!(!dir.path().join("finally-ran").exists(), "nothing ran");

        let server = ServerSettings::new("ftp://example", None);
        let settings = RunSettings::new(Checkout::new(dir.path()), Destination::Server(server));
        let err = run(settings, &mut Seen::new(), Stop::new()).await.unwrap_err();
        assert!(matches!(err, Error::Refused { .. }), "{err:?}");
    }

    #[tokio::test]
    async fn an_invalid_pipeline_is_every_diagnostic_and_nothing_runs() {
        let dir = project(
            "app: demo\nstages:\n  - { name: s, tasks: [{ name: t, run: 'touch ran', bogus: 1 }] }\n",
        );
        let settings = RunSettings::new(Checkout::new(dir.path()), Destination::StoreAt(None));
        let err = run(settings, &mut Seen::new(), Stop::new()).await.unwrap_err();
        assert!(
            matches!(&err, Error::InvalidPipeline { diagnostics } if diagnostics.0[0].line == 3),
            "{err:?}"
        );
        assert!(!dir.path().join("ran").exists());
    }
}
