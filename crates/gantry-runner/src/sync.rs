//! [`sync`]: send what runs reported to a server kept in the spool while it was away.

use std::path::Path;

use gantry_client::{SendError, Spool};

use crate::Error;
use crate::server::{ServerSettings, Token};

/// How sending one spooled run went.
#[derive(Debug)]
pub struct Synced {
    pub run_id: String,
    /// The server it was sent to.
    pub server: String,
    /// How many events were waiting.
    pub events: usize,
    /// `Err`: they are still in the spool.
    pub sent: Result<(), SendError>,
}

/// Sends every run waiting in the spool at `dir`, each to `server` if given, else to the
/// server it was reported to, with `token`. A run that cannot be sent stays
/// in the spool; the others are sent regardless. Tells `each` how each run went, as it goes;
/// returns how many runs were waiting.
pub async fn sync(
    dir: &Path,
    server: Option<&ServerSettings>,
    token: Option<&Token>,
    mut each: impl FnMut(Synced),
) -> Result<usize, Error> {
    let runs = Spool::new(dir).pending()?;
    let count = runs.len();
    for mut run in runs {
        let target = match server {
            Some(server) => server.clone(),
            None => ServerSettings::new(run.server(), token.cloned()),
        };
        let client = target.client()?;
        let events = run.unsent()?.len();
        let finished = run.is_finished()?;
        let sent = gantry_client::send(&client, &mut run, finished).await;
        each(Synced {
            run_id: run.run_id().to_owned(),
            server: target.url,
            events,
            sent,
        });
    }
    Ok(count)
}
