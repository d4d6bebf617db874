//! [`OutputReader`]: turns one of a task's output pipes into batches of masked lines for the
//! dispatcher.
//!
//! The pipe is read in large chunks; each chunk's complete lines are split out at once, decoded
//! as lossy UTF-8, masked, and sent as one message, so a chatty task costs a message per read,
//! not per line. Lines are split on `\n` only, without their ending (`\n` or `\r\n`), and never
//! split or merged however long they are: the part of a line a read ends in waits for the rest,
//! so a secret that two reads bring half each is still masked whole. A last line without an
//! ending is sent at end of file. The reader keeps a [`ReaderProbe`] up to date so the executor
//! can tell a pipe that a stray process holds open in silence from output that is still being
//! delivered.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use gantry_model::LogStream;
use tokio::io::{AsyncRead, AsyncReadExt as _};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::executor::{ExecutorMessage, LaneId};
use crate::mask::Masker;

/// How much a read asks the pipe for at most: as much as a Linux pipe holds by default, so a
/// task that prints fast fills few reads.
const CHUNK: usize = 64 * 1024;

/// The buffer a reader keeps between reads; one grown past this by a very long line is given
/// back once the line is sent.
const KEEP: usize = 4 * CHUNK;

/// What a reader is doing, shared with the executor that waits for it.
#[derive(Debug, Default)]
pub(crate) struct ReaderProbe {
    /// Bytes read so far: output is still flowing while this moves.
    bytes: AtomicU64,
    /// Set while lines wait to be accepted by the dispatcher, which may be slowed down by the
    /// event consumer; a reader in that state is not idle.
    delivering: AtomicBool,
}

impl ReaderProbe {
    pub(crate) fn bytes(&self) -> u64 {
        self.bytes.load(Ordering::Relaxed)
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
    /// Hides secrets before a line leaves the reader.
    pub(crate) masker: Arc<Masker>,
    pub(crate) probe: Arc<ReaderProbe>,
    /// Stops reading before end of file, when the pipe is held open by a process that escaped
    /// the task's process group; a partial line read so far is still sent.
    pub(crate) stop: CancellationToken,
}

impl OutputReader {
    /// Reads until end of file (or until stopped), sending every line.
    pub(crate) async fn run(self, mut pipe: impl AsyncRead + Unpin) {
        let mut buffer: Vec<u8> = Vec::with_capacity(CHUNK);
        // How much of `buffer` is known to hold no line ending: a long line is searched once.
        let mut searched = 0;
        loop {
            buffer.reserve(CHUNK);
            let read = tokio::select! {
                biased;
                () = self.stop.cancelled() => {
                    // Whatever part of a line was read before the stop is not lost.
                    if !buffer.is_empty() {
                        self.send(vec![line(&buffer)]).await;
                    }
                    return;
                }
                read = pipe.read_buf(&mut buffer) => read,
            };
            match read {
                Ok(0) => {
                    if !buffer.is_empty() {
                        self.send(vec![line(&buffer)]).await;
                    }
                    return;
                }
                Ok(count) => {
                    self.probe.bytes.fetch_add(count as u64, Ordering::Relaxed);
                    let Some(last) = memchr::memrchr(b'\n', &buffer[searched..]) else {
                        searched = buffer.len();
                        continue;
                    };
                    let end = searched + last + 1;
                    let lines = split(&buffer[..end]);
                    buffer.drain(..end);
                    searched = buffer.len();
                    if buffer.capacity() > KEEP {
                        buffer.shrink_to(CHUNK);
                    }
                    self.send(lines).await;
                }
                Err(err) => {
                    if !buffer.is_empty() {
                        self.send(vec![line(&buffer)]).await;
                    }
                    self.send(vec![format!(
                        "gantry: failed to read the task's {}: {err}",
                        stream_name(self.stream)
                    )])
                    .await;
                    return;
                }
            }
        }
    }

    /// Masks `lines` and hands them to the dispatcher, waiting while it is busy.
    async fn send(&self, mut lines: Vec<String>) {
        self.masker.mask_all(&mut lines);
        self.probe.delivering.store(true, Ordering::Relaxed);
        // The dispatcher outlives every executor; a failed send means the run is being torn down.
        let _ = self
            .messages
            .send(ExecutorMessage::Output {
                lane: self.lane,
                stream: self.stream,
                lines,
            })
            .await;
        self.probe.delivering.store(false, Ordering::Relaxed);
    }
}

/// The lines of `bytes`, which ends with a line ending.
fn split(bytes: &[u8]) -> Vec<String> {
    let mut lines = Vec::new();
    let mut start = 0;
    for end in memchr::memchr_iter(b'\n', bytes) {
        lines.push(line(&bytes[start..=end]));
        start = end + 1;
    }
    lines
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
        read_in(&[input], &[]).await
    }

    /// The lines read from a pipe that delivers `chunks` one read each, with `secrets` masked.
    async fn read_in(chunks: &[&[u8]], secrets: &[&str]) -> Vec<String> {
        let (sender, mut receiver) = mpsc::channel(16);
        let secrets: Vec<(String, String)> = secrets
            .iter()
            .map(|value| ("S".to_owned(), (*value).to_owned()))
            .collect();
        let reader = OutputReader {
            lane: 0,
            stream: LogStream::Stdout,
            messages: sender,
            masker: Arc::new(Masker::new(&secrets)),
            probe: Arc::default(),
            stop: CancellationToken::new(),
        };
        let mut pipe = tokio_test_pipe(chunks);
        let task = tokio::spawn(async move { reader.run(&mut pipe).await });
        let mut lines = Vec::new();
        while let Some(message) = receiver.recv().await {
            if let ExecutorMessage::Output { lines: batch, .. } = message {
                assert!(!batch.is_empty(), "a message carries lines");
                lines.extend(batch);
            }
        }
        task.await.unwrap();
        lines
    }

    /// A pipe whose reads return `chunks`, one each, in order.
    fn tokio_test_pipe(chunks: &[&[u8]]) -> impl AsyncRead + Unpin + Send + 'static {
        let (mut writer, reader) = tokio::io::duplex(CHUNK);
        let chunks: Vec<Vec<u8>> = chunks.iter().map(|chunk| chunk.to_vec()).collect();
        tokio::spawn(async move {
            use tokio::io::AsyncWriteExt as _;
            for chunk in chunks {
                writer.write_all(&chunk).await.unwrap();
                writer.flush().await.unwrap();
                // Let the reader take this chunk alone before the next one comes.
                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            }
        });
        reader
    }

    #[tokio::test]
    async fn a_line_split_across_reads_is_joined_and_masked_whole() {
        let lines = read_in(
            &[b"one\nthe key is hun", b"ter2 ok\ntw", b"o\n", b"tail"],
            &["hunter2"],
        )
        .await;
        assert_eq!(lines, ["one", "the key is *** ok", "two", "tail"]);
        // A secret cut anywhere, a line ending cut between `\r` and `\n`.
        let text = b"a s3cr3t-value b\r\nlast s3cr3t-value\n";
        for cut in 0..text.len() {
            let lines = read_in(&[&text[..cut], &text[cut..]], &["s3cr3t-value"]).await;
            assert_eq!(lines, ["a *** b", "last ***"], "cut at {cut}");
        }
    }

    #[tokio::test]
    async fn many_lines_come_in_few_messages_in_order() {
        let text = (1..=100_000)
            .map(|n: u32| n.to_string())
            .collect::<Vec<_>>()
            .join("\n")
            + "\n";
        let (sender, mut receiver) = mpsc::channel(1024);
        let reader = OutputReader {
            lane: 0,
            stream: LogStream::Stdout,
            messages: sender,
            masker: Arc::default(),
            probe: Arc::default(),
            stop: CancellationToken::new(),
        };
        let bytes = text.into_bytes();
        tokio::spawn(async move { reader.run(bytes.as_slice()).await })
            .await
            .unwrap();
        let mut messages = 0;
        let mut expected = 1;
        while let Ok(ExecutorMessage::Output { lines, .. }) = receiver.try_recv() {
            messages += 1;
            for line in lines {
                assert_eq!(line, expected.to_string());
                expected += 1;
            }
        }
        assert_eq!(expected, 100_001, "every line, once, in order");
        assert!(messages < 100, "{messages} messages for 100,000 lines");
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
