//! `gantry artifact get RUN PATH`: an artifact of a recorded run, from the local store or a
//! server's API, written to a file only once the sha256 of what was written is the digest the
//! run recorded.
//!
//! The content goes to a temporary file beside the target; that file is read back and hashed,
//! and only a file with the recorded digest is renamed into place, so a cut download or a store
//! that lost bytes never leaves a wrong file under the artifact's name.

use std::io::{self, Write as _};
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use futures_util::StreamExt as _;
use gantry_api::{Artifact, RunDocument};
use gantry_client::TextBody;
use gantry_runner::Environment;
use sha2::{Digest as _, Sha256};

use crate::args::{ArtifactCommand, ArtifactGetArgs};
use crate::commands::source::{Need, Source, refused};
use crate::exit::{CommandError, ExitStatus};

pub async fn artifact(command: ArtifactCommand, environment: &Environment) -> anyhow::Result<ExitStatus> {
    match command {
        ArtifactCommand::Get(args) => get(&args, environment).await,
    }
}

async fn get(args: &ArtifactGetArgs, environment: &Environment) -> anyhow::Result<ExitStatus> {
    let source = Source::open(&args.source, environment).await?;
    let run = source.find_run(&args.run).await?;
    let artifact = pick(&run, &args.path)?;
    let label = format!("{}#{}", run.summary.app, run.summary.build);
    let mut content = Content::open(&source, artifact, &label).await?;
    let output = match args.output.as_deref() {
        Some(path) if path == Path::new("-") => None,
        Some(path) => Some(path.to_path_buf()),
        None => Some(default_output(&artifact.name)?),
    };
    let Some(output) = output else {
        return to_stdout(&mut content, artifact, &label).await;
    };
    let dir = match output.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
        _ => PathBuf::from("."),
    };
    fs_err::create_dir_all(&dir)?;
    let mut staged = tempfile::Builder::new()
        .prefix(".gantry-artifact-")
        // As any new file: what the umask leaves of read and write for all (a temporary file
        // is private by default, and this one becomes the artifact's file).
        .permissions(std::os::unix::fs::PermissionsExt::from_mode(0o666))
        .tempfile_in(&dir)
        .with_context(|| format!("failed to create a file in `{}`", dir.display()))?;
    while let Some(chunk) = content.next().await? {
        staged
            .write_all(&chunk)
            .with_context(|| format!("failed to write beside `{}`", output.display()))?;
    }
    staged
        .as_file()
        .sync_all()
        .with_context(|| format!("failed to write beside `{}`", output.display()))?;
    // What was written, read back: the digest of the bytes on disk, not of those sent.
    let written = hash_file(staged.path())
        .with_context(|| format!("failed to read back `{}`", staged.path().display()))?;
    if !written.0.eq_ignore_ascii_case(&artifact.sha256) {
        return Err(mismatch(artifact, &label, &written.0, "nothing was written").into());
    }
    staged
        .persist(&output)
        .map_err(|error| error.error)
        .with_context(|| format!("failed to write `{}`", output.display()))?;
    eprintln!(
        "wrote `{}`: {} bytes, sha256 {} as {label} recorded it",
        output.display(),
        written.1,
        artifact.sha256
    );
    Ok(ExitStatus::Success)
}

/// The artifact of `run` named `path`; an unknown one is a usage error listing the run's.
fn pick<'a>(run: &'a RunDocument, path: &str) -> anyhow::Result<&'a Artifact> {
    let path = path.trim_start_matches("./");
    let found: Vec<&Artifact> = run
        .artifacts
        .iter()
        .filter(|artifact| artifact.name == path)
        .collect();
    match found.as_slice() {
        [one] => Ok(one),
        [first, rest @ ..] if rest.iter().all(|other| other.sha256 == first.sha256) => Ok(first),
        [] => {
            let names: Vec<&str> = run
                .artifacts
                .iter()
                .map(|artifact| artifact.name.as_str())
                .collect();
            let hint = if names.is_empty() {
                "the run recorded no artifacts".to_owned()
            } else {
                format!("its artifacts: {}", names.join(", "))
            };
            Err(CommandError::usage(format!(
                "run {}#{} has no artifact `{path}`",
                run.summary.app, run.summary.build
            ))
            .hint(hint)
            .into())
        }
        several => {
            let tasks: Vec<&str> = several
                .iter()
                .map(|artifact| artifact.task_path.as_str())
                .collect();
            Err(CommandError::usage(format!(
                "run {}#{} has several different artifacts `{path}`, from tasks {}",
                run.summary.app,
                run.summary.build,
                tasks.join(", ")
            ))
            .hint("fetch it by digest from the API: `gantry show RUN` lists each one's sha256")
            .into())
        }
    }
}

/// The artifact's file name, in the current directory.
fn default_output(name: &str) -> anyhow::Result<PathBuf> {
    match Path::new(name).file_name() {
        Some(file) => Ok(PathBuf::from(file)),
        None => Err(
            CommandError::usage(format!("artifact `{name}` has no file name to write to"))
                .hint("name the file with `-o FILE`")
                .into(),
        ),
    }
}

/// Streams the content to stdout, hashing it on the way; a wrong digest is said at the end.
async fn to_stdout(content: &mut Content, artifact: &Artifact, label: &str) -> anyhow::Result<ExitStatus> {
    let mut hasher = Sha256::new();
    let mut stdout = io::stdout().lock();
    while let Some(chunk) = content.next().await? {
        hasher.update(&chunk);
        if let Err(error) = stdout.write_all(&chunk) {
            return Err(anyhow::Error::new(error).context("failed to write to stdout"));
        }
    }
    stdout.flush().context("failed to write to stdout")?;
    let digest = hex::encode(hasher.finalize());
    if !digest.eq_ignore_ascii_case(&artifact.sha256) {
        return Err(mismatch(
            artifact,
            label,
            &digest,
            "the bytes on stdout are not the artifact",
        )
        .into());
    }
    Ok(ExitStatus::Success)
}

fn mismatch(artifact: &Artifact, label: &str, digest: &str, outcome: &str) -> CommandError {
    CommandError::failed(format!(
        "the content of `{}` has sha256 {digest}, but {label} recorded {}; {outcome}",
        artifact.name, artifact.sha256
    ))
    .hint("the store's copy is damaged or the transfer was cut: try again, and tell the store's keeper if it persists")
}

/// The sha256 (hex) and size of the file at `path`.
fn hash_file(path: &Path) -> io::Result<(String, u64)> {
    let mut hasher = Sha256::new();
    let size = io::copy(&mut fs_err::File::open(path)?, &mut hasher)?;
    Ok((hex::encode(hasher.finalize()), size))
}

/// An artifact's content as it arrives, from a store or a server.
enum Content {
    Store(gantry_store::ArtifactReader),
    Server { body: TextBody, token: bool },
}

impl Content {
    /// Starts reading the artifact's content; content the store or server does not hold is a
    /// failure that names the artifact.
    async fn open(source: &Source, artifact: &Artifact, label: &str) -> anyhow::Result<Self> {
        let missing = || {
            CommandError::failed(format!(
                "the content of `{}` of {label} (sha256 {}) is not in the store",
                artifact.name, artifact.sha256
            ))
            .hint("artifacts pruned by policy, or kept in another artifact location, cannot be fetched")
        };
        match source {
            Source::Store(store) => match store.artifacts().get(&artifact.sha256).await? {
                Some(reader) => Ok(Self::Store(reader)),
                None => Err(missing().into()),
            },
            Source::Server { client, token } => {
                match client
                    .get_stream(&Artifact::download_path(&artifact.sha256), "the artifact")
                    .await
                {
                    Ok(body) => Ok(Self::Server { body, token: *token }),
                    Err(gantry_client::ClientError::Refused { status: 404, .. }) => Err(missing().into()),
                    Err(error) => Err(refused(error, *token, Need::Read)),
                }
            }
        }
    }

    /// The next bytes; `None` at the end.
    async fn next(&mut self) -> anyhow::Result<Option<Vec<u8>>> {
        match self {
            Self::Store(reader) => match reader.content.next().await {
                Some(chunk) => Ok(Some(chunk?.to_vec())),
                None => Ok(None),
            },
            Self::Server { body, token } => body
                .chunk()
                .await
                .map_err(|error| refused(error, *token, Need::Read)),
        }
    }
}
