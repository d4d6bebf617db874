//! Writing data to stdout without panicking when the reader goes away (`gantry show | head`):
//! a closed pipe becomes an error that [`crate::main`] treats as a quiet, successful end.

use std::io::{self, Write};

/// Writes `text` to stdout and flushes it.
pub fn print(text: &str) -> io::Result<()> {
    let mut stdout = io::stdout().lock();
    stdout.write_all(text.as_bytes())?;
    stdout.flush()
}

/// Writes `text` and a newline to stdout.
pub fn println(text: &str) -> io::Result<()> {
    print(&format!("{text}\n"))
}

/// Whether an error is the reader of stdout having gone away.
pub fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<io::Error>()
            .is_some_and(|io| io.kind() == io::ErrorKind::BrokenPipe)
    })
}
