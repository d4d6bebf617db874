//! `gantry agent` end to end: a git repository on disk, a real `gantry server` on SQLite with a
//! short job lease, two real agents with an `agent` token. A job queued through the API is
//! built by one of them and recorded with its logs; an agent killed mid-task loses its job,
//! which runs again on the other agent, the lost attempt kept as `agent_lost`; a first `SIGTERM`
//! drains, a second cancels the job held.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use gantry_test::{ADMIN, ServerProcess, gantry_binary, http_get};
use serde_json::{Value, json};

/// How long a job's lease lasts here: an agent killed is noticed within about this long.
const JOB_LEASE: &str = "3s";

/// `POST URL` with a JSON body and a bearer token: the JSON answer.
fn http_post(url: &str, token: &str, body: &Value) -> Value {
    let output = Command::new("curl")
        .args(["--silent", "--show-error", "--fail-with-body", "-X", "POST"])
        .args(["-H", "Content-Type: application/json"])
        .arg("-H")
        .arg(format!("Authorization: Bearer {token}"))
        .arg("--data")
        .arg(body.to_string())
        .arg(url)
        .output()
        .expect("curl runs");
    assert!(
        output.status.success(),
        "POST {url}: {} {}",
        String::from_utf8_lossy(&output.stderr),
        String::from_utf8_lossy(&output.stdout)
    );
    serde_json::from_slice(&output.stdout).expect("a JSON answer")
}

fn git(dir: &Path, args: &[&str]) -> String {
    let output = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .env("GIT_AUTHOR_NAME", "Gantry Test")
        .env("GIT_AUTHOR_EMAIL", "test@gantry.invalid")
        .env("GIT_COMMITTER_NAME", "Gantry Test")
        .env("GIT_COMMITTER_EMAIL", "test@gantry.invalid")
        .output()
        .expect("git runs");
    assert!(
        output.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

/// Commits `pipeline` as `gantry.yml` in the repository at `dir`; its commit id.
fn commit(dir: &Path, pipeline: &str) -> String {
    std::fs::write(dir.join("gantry.yml"), pipeline).unwrap();
    git(dir, &["add", "gantry.yml"]);
    git(dir, &["commit", "--quiet", "-m", "pipeline"]);
    git(dir, &["rev-parse", "HEAD"])
}

/// A `gantry agent` process, killed on drop if it still runs.
struct Agent(Child);

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A `gantry agent` process, its log in `DIR/NAME.log`.
fn agent(server: &str, token: &str, name: &str, dir: &Path) -> Agent {
    let log = std::fs::File::create(dir.join(format!("{name}.log"))).unwrap();
    Command::new(gantry_binary())
        .args(["agent", "--server", server, "--token", token, "--name", name])
        .args(["--labels", "os=linux,tier=test"])
        .arg("--workdir")
        .arg(dir.join(name))
        .env("NO_COLOR", "1")
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .map(Agent)
        .expect("gantry agent starts")
}

/// Waits until `check` says yes, for at most `limit`, failing with `what` and the agents' logs.
fn wait_for<T>(limit: Duration, what: &str, logs: &Path, mut check: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(found) = check() {
            return found;
        }
        if start.elapsed() > limit {
            let mut shown = String::new();
            for name in ["a", "b"] {
                let text = std::fs::read_to_string(logs.join(format!("{name}.log"))).unwrap_or_default();
                shown.push_str(&format!("--- agent {name}:\n{text}\n"));
            }
            panic!("timed out waiting for {what}\n{shown}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn queued_job(server: &ServerProcess, job: &str) -> Option<Value> {
    let queue = server.get("/api/v1/queue");
    queue["jobs"]
        .as_array()
        .and_then(|jobs| jobs.iter().find(|queued| queued["id"] == job).cloned())
}

#[test]
fn agents_build_queued_jobs_and_one_lost_is_replaced() {
    let data = tempfile::tempdir().unwrap();
    let dir: PathBuf = data.path().to_path_buf();
    let repo = dir.join("repo");
    std::fs::create_dir(&repo).unwrap();
    git(&repo, &["init", "--quiet", "--initial-branch", "main"]);
    let quick = commit(
        &repo,
        "app: hello\nstages:\n  - name: build\n    tasks:\n      - { name: greet, run: 'echo hello from an agent' }\n",
    );
    let slow = commit(
        &repo,
        "app: hello\nstages:\n  - name: build\n    tasks:\n      - { name: slow, run: 'echo started; sleep 4; echo slept' }\n",
    );

    let db = format!("sqlite://{}", dir.join("gantry.db").display());
    let server = ServerProcess::ready(ServerProcess::spawn(
        "127.0.0.1:0",
        &db,
        &["--job-lease".as_ref(), JOB_LEASE.as_ref()],
    ));
    let created = http_post(
        &format!("{}/api/v1/tokens", server.url),
        ADMIN,
        &json!({ "name": "agents", "scopes": ["agent"] }),
    );
    let token = created["secret"].as_str().expect("the token's secret").to_owned();
    // The agent token takes jobs, and reads nothing.
    let refused = Command::new("curl")
        .args([
            "--silent",
            "--output",
            "/dev/null",
            "--write-out",
            "%{http_code}",
            "-H",
        ])
        .arg(format!("Authorization: Bearer {token}"))
        .arg(format!("{}/api/v1/runs", server.url))
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&refused.stdout), "403");

    let mut a = agent(&server.url, &token, "a", &dir);
    let mut b = agent(&server.url, &token, "b", &dir);
    let repository = repo.display().to_string();

    // A job queued through the API is built by one agent, and recorded with its logs.
    let queue = format!("{}/api/v1/queue", server.url);
    let job = http_post(
        &queue,
        ADMIN,
        &json!({ "repository": repository, "revision": quick, "branch": "main", "app": "hello", "labels": { "os": "linux" } }),
    );
    assert_eq!(job["state"], "queued");
    assert_eq!(job["build"], 1);
    let first_run = job["run_id"].as_str().unwrap().to_owned();
    let id = job["id"].as_str().unwrap().to_owned();
    wait_for(Duration::from_mins(1), "the first job to finish", &dir, || {
        queued_job(&server, &id).is_none().then_some(())
    });
    let run = server.get(&format!("/api/v1/runs/{first_run}"));
    assert_eq!(run["result"], "success", "{run}");
    assert_eq!(run["build"], 1);
    assert_eq!(run["revision"], quick.as_str());
    let log = String::from_utf8(http_get(
        &format!("{}/api/v1/runs/{first_run}/logs", server.url),
        Some(ADMIN),
    ))
    .unwrap();
    assert!(log.contains("hello from an agent"), "{log}");

    // A job that waits for labels no agent has says so.
    let mac = http_post(
        &queue,
        ADMIN,
        &json!({ "repository": repository, "revision": quick, "labels": { "os": "mac" } }),
    );
    let waiting = queued_job(&server, mac["id"].as_str().unwrap()).unwrap();
    assert_eq!(waiting["waiting_for"], "no agent has labels os=mac", "{waiting}");

    // The agent running the slow job is killed mid-task: the job runs again on the other.
    let slow_job = http_post(
        &queue,
        ADMIN,
        &json!({ "repository": repository, "revision": slow, "branch": "main", "labels": { "tier": "test" } }),
    );
    let slow_id = slow_job["id"].as_str().unwrap().to_owned();
    let (holder, lost_run) = wait_for(Duration::from_mins(1), "the slow job to start", &dir, || {
        let job = queued_job(&server, &slow_id)?;
        let holder = job["agent"].as_str()?.to_owned();
        let run_id = job["run_id"].as_str()?.to_owned();
        let run = Command::new("curl")
            .args(["--silent", "--fail", "-H"])
            .arg(format!("Authorization: Bearer {ADMIN}"))
            .arg(format!("{}/api/v1/runs/{run_id}/logs", server.url))
            .output()
            .ok()?;
        String::from_utf8_lossy(&run.stdout)
            .contains("started")
            .then_some((holder, run_id))
    });
    let (killed, survivor) = if holder == "a" {
        (&mut a, "b")
    } else {
        (&mut b, "a")
    };
    killed.0.kill().unwrap();
    killed.0.wait().unwrap();

    let again = wait_for(Duration::from_mins(1), "the slow job to run again", &dir, || {
        let job = queued_job(&server, &slow_id)?;
        (job["attempts"] == 2 && job["agent"] == survivor).then_some(job)
    });
    let second_run = again["run_id"].as_str().unwrap().to_owned();
    assert_ne!(second_run, lost_run);
    wait_for(Duration::from_mins(1), "the slow job to finish", &dir, || {
        queued_job(&server, &slow_id).is_none().then_some(())
    });
    let lost = server.get(&format!("/api/v1/runs/{lost_run}"));
    assert_eq!(lost["result"], "agent_lost", "{lost}");
    let done = server.get(&format!("/api/v1/runs/{second_run}"));
    assert_eq!(done["result"], "success", "{done}");
    assert_eq!(done["build"], lost["build"], "the same build, run again");
    let log = String::from_utf8(http_get(
        &format!("{}/api/v1/runs/{second_run}/logs", server.url),
        Some(ADMIN),
    ))
    .unwrap();
    assert!(log.contains("slept"), "{log}");

    let agents = server.get("/api/v1/agents");
    let names: Vec<&str> = agents["agents"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|agent| agent["name"].as_str())
        .collect();
    assert_eq!(names, ["a", "b"], "{agents}");

    // The first SIGTERM drains the survivor: the job it holds goes on. The second cancels it:
    // `finally` runs, the run is recorded `cancelled`, and the agent exits 0.
    let endless = commit(
        &repo,
        "app: hello\nstages:\n  - name: build\n    tasks:\n      - { name: long, run: 'echo started; sleep 60' }\nfinally:\n  - { name: tidy, run: 'echo tidied' }\n",
    );
    let long_job = http_post(
        &queue,
        ADMIN,
        &json!({ "repository": repository, "revision": endless, "branch": "main" }),
    );
    let long_id = long_job["id"].as_str().unwrap().to_owned();
    let long_run = wait_for(Duration::from_mins(1), "the long job to start", &dir, || {
        let job = queued_job(&server, &long_id)?;
        let run_id = job["run_id"].as_str()?.to_owned();
        let logs = Command::new("curl")
            .args(["--silent", "--fail", "-H"])
            .arg(format!("Authorization: Bearer {ADMIN}"))
            .arg(format!("{}/api/v1/runs/{run_id}/logs", server.url))
            .output()
            .ok()?;
        String::from_utf8_lossy(&logs.stdout)
            .contains("started")
            .then_some(run_id)
    });
    let survivor = if survivor == "a" { &mut a } else { &mut b };
    let pid = nix::unistd::Pid::from_raw(i32::try_from(survivor.0.id()).unwrap());
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).unwrap();
    std::thread::sleep(Duration::from_secs(1));
    assert!(
        survivor.0.try_wait().unwrap().is_none(),
        "draining, the agent finishes its job"
    );
    assert_eq!(queued_job(&server, &long_id).unwrap()["state"], "leased");
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).unwrap();
    let status = wait_for(
        Duration::from_secs(30),
        "the agent to cancel and exit",
        &dir,
        || survivor.0.try_wait().ok().flatten(),
    );
    assert!(status.success(), "{status:?}");
    assert!(queued_job(&server, &long_id).is_none(), "the job was completed");
    let cancelled = server.get(&format!("/api/v1/runs/{long_run}"));
    assert_eq!(cancelled["result"], "cancelled", "{cancelled}");
    let log = String::from_utf8(http_get(
        &format!("{}/api/v1/runs/{long_run}/logs", server.url),
        Some(ADMIN),
    ))
    .unwrap();
    assert!(log.contains("tidied"), "finally ran: {log}");
}

/// Two server replicas on one PostgreSQL database, three agents spread over them, jobs queued
/// through both: every job runs exactly once, and none is left behind.
#[test]
fn replicas_hand_each_job_to_one_agent() {
    const JOBS: usize = 6;
    let Some(database) = gantry_test::PostgresDatabase::create_blocking() else {
        return;
    };
    let data = tempfile::tempdir().unwrap();
    let dir: PathBuf = data.path().to_path_buf();
    let repo = dir.join("repo");
    std::fs::create_dir(&repo).unwrap();
    git(&repo, &["init", "--quiet", "--initial-branch", "main"]);
    let ran = dir.join("ran");
    let revision = commit(
        &repo,
        &format!(
            "app: hello\nstages:\n  - name: build\n    tasks:\n      - {{ name: mark, run: 'echo \"$GANTRY_RUN_ID\" >> {}' }}\n",
            ran.display()
        ),
    );
    let artifacts = dir.join("artifacts");
    let extra = [
        "--artifacts".as_ref(),
        artifacts.as_os_str(),
        "--job-lease".as_ref(),
        "5s".as_ref(),
    ];
    let (first, second) = (
        ServerProcess::spawn("127.0.0.1:0", &database.url, &extra),
        ServerProcess::spawn("127.0.0.1:0", &database.url, &extra),
    );
    let replicas = [ServerProcess::ready(first), ServerProcess::ready(second)];
    let created = http_post(
        &format!("{}/api/v1/tokens", replicas[0].url),
        ADMIN,
        &json!({ "name": "agents", "scopes": ["agent"] }),
    );
    let token = created["secret"].as_str().unwrap().to_owned();
    let mut agents: Vec<Agent> = ["a", "b", "c"]
        .iter()
        .enumerate()
        .map(|(index, name)| agent(&replicas[index % 2].url, &token, name, &dir))
        .collect();
    let mut jobs = Vec::new();
    for index in 0..JOBS {
        let job = http_post(
            &format!("{}/api/v1/queue", replicas[index % 2].url),
            ADMIN,
            &json!({ "repository": repo.display().to_string(), "revision": revision, "branch": "main" }),
        );
        jobs.push(job["id"].as_str().unwrap().to_owned());
    }
    wait_for(Duration::from_mins(2), "every job to finish", &dir, || {
        replicas[1].get("/api/v1/queue")["jobs"]
            .as_array()
            .is_some_and(Vec::is_empty)
            .then_some(())
    });
    let runs = replicas[0].get("/api/v1/runs?app=hello&limit=50");
    let runs = runs["runs"].as_array().unwrap();
    assert_eq!(runs.len(), JOBS, "{runs:?}");
    assert!(runs.iter().all(|run| run["result"] == "success"), "{runs:?}");
    let mut builds: Vec<u64> = runs.iter().filter_map(|run| run["build"].as_u64()).collect();
    builds.sort_unstable();
    assert_eq!(builds, (1..=6).collect::<Vec<u64>>());
    let marks = std::fs::read_to_string(&ran).unwrap();
    assert_eq!(marks.lines().count(), JOBS, "each job ran once: {marks}");
    for agent in &mut agents {
        let pid = nix::unistd::Pid::from_raw(i32::try_from(agent.0.id()).unwrap());
        nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).unwrap();
        assert!(agent.0.wait().unwrap().success(), "an idle agent drains at once");
    }
}
