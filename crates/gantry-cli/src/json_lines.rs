//! [`JsonLines`]: a run's events as JSON lines on stdout (`gantry run --json`), for scripts and
//! pipeline unit tests.

use std::io::{self, Write as _};

use gantry_model::RunEvent;

/// One JSON object a line on stdout, each event exactly as it is recorded.
#[derive(Debug, Default)]
pub struct JsonLines;

impl gantry_runner::Reporter for JsonLines {
    fn event(&mut self, event: &RunEvent) -> io::Result<()> {
        let mut stdout = io::stdout().lock();
        serde_json::to_writer(&mut stdout, event)?;
        writeln!(stdout)
    }
}
