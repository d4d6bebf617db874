//! The server's whole router ([`gantry_server::router::router`]) on a store opened with an
//! artifact directory, in this process: for a PostgreSQL store where the `gantry server` at
//! hand cannot be given one. Serves until SIGTERM or Ctrl-C.

use gantry_server::AppState;
use gantry_store::{Store, StoreOptions};
use tokio::net::TcpListener;

use crate::args::ServeArgs;

pub async fn run(args: &ServeArgs) -> anyhow::Result<()> {
    let options = StoreOptions {
        artifact_dir: Some(args.artifacts.clone()),
    };
    let store = Store::open_with(&args.db, &options).await?;
    store
        .ensure_admin_token("bootstrap", Some(&args.admin_token))
        .await?;
    let router = gantry_server::router::router(AppState::new(store.clone()));
    let listener = TcpListener::bind(args.listen).await?;
    println!("listening on http://{}", listener.local_addr()?);
    axum::serve(listener, router)
        .with_graceful_shutdown(stopped())
        .await?;
    store.close().await;
    Ok(())
}

async fn stopped() {
    use tokio::signal::unix::{SignalKind, signal};
    match signal(SignalKind::terminate()) {
        Ok(mut terminate) => {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = terminate.recv() => {}
            }
        }
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
