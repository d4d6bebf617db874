//! One module a command; each exposes `async fn NAME(args) -> anyhow::Result<ExitStatus>`.

pub mod agent;
pub mod artifact;
pub mod history;
pub mod init;
pub mod logs;
pub mod plan;
pub mod run;
pub mod server;
pub mod show;
pub mod source;
pub mod sync;
pub mod token;
pub mod up;
pub mod user;

use gantry_model::Selection;

use crate::args::SelectionArgs;

/// The selection the flags ask for.
pub(crate) fn selection(args: &SelectionArgs) -> Selection {
    match (&args.to, &args.only) {
        (Some(to), _) => Selection::To(to.clone()),
        (None, Some(only)) => Selection::Only(only.clone()),
        (None, None) => Selection::All,
    }
}

/// Opens the store a command names or stands in (`--db`, `GANTRY_DB`, the project's), which
/// must exist, after marking the runs of dead processes interrupted.
pub(crate) async fn open_store(
    args: &crate::args::StoreArgs,
    environment: &gantry_runner::Environment,
) -> anyhow::Result<gantry_store::Store> {
    let location =
        gantry_runner::StoreLocation::resolve(args.db.as_deref(), environment, &std::env::current_dir()?)?;
    location.require_existing()?;
    if gantry_server::is_postgres_url(&location.url) && environment.artifacts.is_none() {
        return Err(crate::exit::CommandError::usage(
            "a PostgreSQL store keeps its artifacts elsewhere, and `GANTRY_ARTIFACTS` does not say where",
        )
        .hint("set `GANTRY_ARTIFACTS` to the servers' `--artifacts` (a directory or `s3://BUCKET/PREFIX`)")
        .into());
    }
    let artifacts = environment
        .artifacts
        .as_deref()
        .map(|location| {
            location.parse().map_err(|error| {
                anyhow::anyhow!("{}: {error}", gantry_runner::environment::ARTIFACTS_VARIABLE)
            })
        })
        .transpose()?;
    let options = gantry_store::StoreOptions { artifacts };
    Ok(gantry_runner::open_store_with(&location.url, &options).await?)
}

/// Finds a run by id, id prefix or `APP#BUILD`; an unknown one is a usage error.
pub(crate) async fn find_run(
    store: &gantry_store::Store,
    query: &str,
) -> anyhow::Result<gantry_store::RunDetail> {
    let found = match store.find_run(query).await {
        Err(gantry_store::StoreError::AmbiguousRun { candidates, .. }) => {
            return Err(
                crate::exit::CommandError::usage(format!("`{query}` matches several runs"))
                    .hint(format!(
                        "use more of the id, or `APP#BUILD`: {}",
                        candidates.join(", ")
                    ))
                    .into(),
            );
        }
        found => found?,
    };
    match found {
        Some(run) => Ok(run),
        None => Err(crate::exit::CommandError::usage(format!(
            "no run `{query}` in the build data repository"
        ))
        .hint("`gantry history` lists the recorded runs")
        .into()),
    }
}
