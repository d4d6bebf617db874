//! The log of a server process (`gantry server`, `gantry up`) on stderr: what it does, each
//! request it answers (method, route, status, duration), as text for people or JSON lines for
//! log shippers, filtered by `RUST_LOG`.

use std::io::IsTerminal as _;

use tracing_subscriber::EnvFilter;

use crate::args::LogFormat;

/// Installs the process's log, at `default` (a `RUST_LOG` directive such as `info`) unless
/// `RUST_LOG` says otherwise. A second call (a test's process may serve twice) keeps the first.
pub fn init(format: LogFormat, default: &str) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let installed = match format {
        LogFormat::Text => {
            let colour =
                std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
            builder.with_ansi(colour).try_init()
        }
        LogFormat::Json => builder.json().with_ansi(false).try_init(),
    };
    // Only fails when a log is installed already, which is the one to keep.
    drop(installed);
}
