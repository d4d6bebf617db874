//! [`OutputReader`]: turns one of a task's output pipes into lines for the dispatcher.
//!
//! Lines are split on `\n` only, without their ending (`\n` or `\r\n`), decoded as lossy UTF-8,
//! and never split or merged however long they are; a last line without an ending is sent at
//! end of file. The reader keeps a [`ReaderProbe`] up to date so the executor can tell a pipe
//! that a stray process holds open in silence from output that is still being delivered.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use gantry_model::LogStream;
use tokio::io::{AsyncBufReadExt as _, AsyncRead, BufReader};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::executor::{ExecutorMessage, LaneId};

/// What a reader is doing, shared with the executor that waits for it.
#[derive(Debug, Default)]
pub(crate) struct ReaderProbe {
    /// Lines read so far: output is still flowing while this moves.
    lines: AtomicU64,
    /// Set while a line waits to be accepted by the dispatcher, which may be slowed down by the
    /// event consumer; a reader in that state is not idle.
    delivering: AtomicBool,
}

impl ReaderProbe {
    pub(crate) fn lines(&self) -> u64 {
        self.lines.load(Ordering::Relaxed)
    }

    pub(crate) fn delivering(&self) -> bool {
        self.delivering.load(Ordering::Relaxed)
    }
}

/// Reads one pipe of one task attempt.
pub(crate) struct OutputReader {
    pub(crate) lane: LaneId,
    pub(crate) stream: LogStream,
    /// Lines go to the dispatcher through the executors' shared channel, in the order read.
    pub(crate) messages: mpsc::Sender<ExecutorMessage>,
    pub(crate) probe: Arc<ReaderProbe>,
    /// Stops reading before end of file, when the pipe is held open by a process that escaped
    /// the task's process group; a partial line read so far is still sent.
    pub(crate) stop: CancellationToken,
}

impl OutputReader {
    /// Reads until end of file (or until stopped), sending every line.
    pub(crate) async fn run(self, pipe: impl AsyncRead + Unpin) {
        let mut reader = BufReader::new(pipe);
        let mut buffer = Vec::new();
        loop {
            buffer.clear();
            let read = tokio::select! {
                biased;
                () = self.stop.cancelled() => {
                    // Whatever part of a line was read before the stop is not lost.
                    if !buffer.is_empty() {
                        self.send(line(&buffer)).await;
                    }
                    return;
                }
                read = reader.read_until(b'\n', &mut buffer) => read,
            };
            match read {
                Ok(0) => return,
                Ok(_) => {
                    self.probe.lines.fetch_add(1, Ordering::Relaxed);
                    self.send(line(&buffer)).await;
                }
                Err(err) => {
                    if !buffer.is_empty() {
                        self.send(line(&buffer)).await;
                    }
                    self.send(format!(
                        "gantry: failed to read the task's {}: {err}",
                        stream_name(self.stream)
                    ))
                    .await;
                    return;
                }
            }
        }
    }

    async fn send(&self, line: String) {
        self.probe.delivering.store(true, Ordering::Relaxed);
        // The dispatcher outlives every executor; a failed send means the run is being torn down.
        let _ = self
            .messages
            .send(ExecutorMessage::Output {
                lane: self.lane,
                stream: self.stream,
                line,
            })
            .await;
        self.probe.delivering.store(false, Ordering::Relaxed);
    }
}

/// One line without its ending, as text.
fn line(bytes: &[u8]) -> String {
    let bytes = bytes.strip_suffix(b"\n").unwrap_or(bytes);
    let bytes = bytes.strip_suffix(b"\r").unwrap_or(bytes);
    String::from_utf8_lossy(bytes).into_owned()
}

fn stream_name(stream: LogStream) -> &'static str {
    match stream {
        LogStream::Stdout => "stdout",
        LogStream::Stderr => "stderr",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn read(input: &[u8]) -> Vec<String> {
        let (sender, mut receiver) = mpsc::channel(16);
        let reader = OutputReader {
            lane: 0,
            stream: LogStream::Stdout,
            messages: sender,
            probe: Arc::default(),
            stop: CancellationToken::new(),
        };
        let input = input.to_vec();
        let task = tokio::spawn(async move { reader.run(input.as_slice()).await });
        let mut lines = Vec::new();
        while let Some(message) = receiver.recv().await {
            if let ExecutorMessage::Output { line, .. } = message {
                lines.push(line);
            }
        }
        task.await.unwrap();
        lines
    }

    #[tokio::test]
    async fn splits_lines() {
        let check = async |input: &[u8], expect: &[&str]| {
            assert_eq!(read(input).await, expect, "{input:?}");
        };
        check(b"", &[]).await;
        check(b"one\ntwo\n", &["one", "two"]).await;
        check(b"partial", &["partial"]).await;
        check(b"crlf\r\nnext", &["crlf", "next"]).await;
        check(b"\n\n", &["", ""]).await;
        check(b"inner\rcarriage\n", &["inner\rcarriage"]).await;
        check(b"bad \xff byte\n", &["bad \u{fffd} byte"]).await;
        let long = "x".repeat(1 << 20);
        assert_eq!(
            read(format!("{long}\nend").as_bytes()).await,
            [long.as_str(), "end"]
        );
    }
}
