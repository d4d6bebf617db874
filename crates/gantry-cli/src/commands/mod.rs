//! One module a command; each exposes `async fn NAME(args) -> anyhow::Result<ExitStatus>`.

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

/// Opens the store the read commands use, after marking the runs of dead processes interrupted.
pub(crate) async fn open_store(args: &crate::args::StoreArgs) -> anyhow::Result<gantry_store::Store> {
    let root = crate::workspace::current_root()?;
    let url = if let Some(url) = args.url() {
        url
    } else {
        let path = root.join(crate::workspace::STATE_DIR).join("gantry.db");
        if !path.exists() {
            return Err(crate::exit::UsageError::new(format!(
                "no build data repository at `{}`",
                path.display()
            ))
            .hint("`gantry run` creates it; or point `--db` / `GANTRY_DB` at one")
            .into());
        }
        format!("sqlite://{}", path.display())
    };
    open_recovered(&url).await
}

/// Opens the store at `url` and marks the runs of dead processes interrupted: what every
/// command reading or recording local runs does first.
pub(crate) async fn open_recovered(url: &str) -> anyhow::Result<gantry_store::Store> {
    use anyhow::Context as _;
    let store = gantry_store::Store::open(url)
        .await
        .with_context(|| format!("failed to open the store `{url}`"))?;
    store
        .recover_interrupted()
        .await
        .context("failed to check for interrupted runs")?;
    Ok(store)
}

/// Finds a run by id, id prefix or `APP#BUILD`; an unknown one is a usage error.
pub(crate) async fn find_run(
    store: &gantry_store::Store,
    query: &str,
) -> anyhow::Result<gantry_store::RunDetail> {
    let found = match store.find_run(query).await {
        Err(gantry_store::StoreError::AmbiguousRun { candidates, .. }) => {
            return Err(
                crate::exit::UsageError::new(format!("`{query}` matches several runs"))
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
        None => Err(
            crate::exit::UsageError::new(format!("no run `{query}` in the build data repository"))
                .hint("`gantry history` lists the recorded runs")
                .into(),
        ),
    }
}
