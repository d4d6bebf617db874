//! A file as it comes in ([`Source`]), and a place inside one ([`Span`]).
//!
//! The model reads no files itself: the CLI hands it the text along with the path to show in
//! diagnostics. Every node read from a file remembers its [`Span`], so that any later phase can
//! point back at what the user wrote, in whichever file they wrote it.

/// The text of one file, and the path that diagnostics about it show (e.g. `gantry.yml`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    pub path: String,
    pub text: String,
}

impl Source {
    pub fn new(path: impl Into<String>, text: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            text: text.into(),
        }
    }
}

/// Which file a span points into: an index into the files a load has read so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub(crate) struct FileId(pub usize);

/// Where a node starts: its file, line and column (both counted from 1, columns in characters).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub(crate) struct Span {
    pub file: FileId,
    pub line: usize,
    pub column: usize,
}

impl Span {
    pub fn new(file: FileId, line: usize, column: usize) -> Self {
        Self { file, line, column }
    }

    /// The first character of `file`, for problems with the file as a whole.
    pub fn start_of(file: FileId) -> Self {
        Self::new(file, 1, 1)
    }
}
