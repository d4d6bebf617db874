//! [`JsonLines`]: a run's events as JSON lines on stdout (`gantry run --json`), for scripts and
//! pipeline unit tests.

use std::io::{self, BufWriter, Write as _};

use gantry_model::RunEvent;

/// One JSON object a line on stdout, each event exactly as it is recorded; written a batch of
/// events at a time.
#[derive(Debug)]
pub struct JsonLines {
    out: BufWriter<io::Stdout>,
}

impl Default for JsonLines {
    fn default() -> Self {
        Self {
            out: BufWriter::with_capacity(1 << 16, io::stdout()),
        }
    }
}

impl gantry_runner::Reporter for JsonLines {
    fn event(&mut self, event: &RunEvent) -> io::Result<()> {
        serde_json::to_writer(&mut self.out, event)?;
        writeln!(self.out)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }

    fn finish(&mut self, _result: gantry_model::RunResult, _version: &str) -> io::Result<()> {
        self.out.flush()
    }
}
