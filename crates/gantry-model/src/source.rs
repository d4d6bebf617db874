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

/// Where a node is: its file, the line and column it starts at (both counted from 1, columns in
/// characters), and how many characters of that line it covers (at least 1), which a diagnostic
/// underlines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub(crate) struct Span {
    pub file: FileId,
    pub line: usize,
    pub column: usize,
    pub width: usize,
}

impl Span {
    /// One character at `line`, `column`.
    pub fn new(file: FileId, line: usize, column: usize) -> Self {
        Self {
            file,
            line,
            column,
            width: 1,
        }
    }

    /// The same start, covering `width` characters (at least 1).
    #[must_use]
    pub fn with_width(self, width: usize) -> Self {
        Self {
            width: width.max(1),
            ..self
        }
    }

    /// The first character of `file`, for problems with the file as a whole.
    pub fn start_of(file: FileId) -> Self {
        Self::new(file, 1, 1)
    }
}
