//! [`load`]: a pipeline file and the library to a validated [`Pipeline`], or every problem.
//!
//! The phases, each with its own type: YAML text to a tree of spanned nodes (`yaml`), the tree
//! to the raw types (`parse`), `uses` applied (`prefab`), then the raw types to the
//! [`Pipeline`], inlining `ref` fragments and rendering `type` templates (`validate`). Library
//! files are read as they are referred to (`resolve`).

use crate::diagnostic::{Collector, Diagnostics};
use crate::library::Library;
use crate::parse;
use crate::pipeline::Pipeline;
use crate::prefab;
use crate::resolve::Resolver;
use crate::source::{Source, Span};
use crate::validate::Validator;
use crate::yaml::{self, Parsed};

/// Loads the pipeline in `file`, resolving `uses`, `ref` and `type` against `library`.
///
/// On failure, returns every problem found, in the file and in the library files it uses.
pub fn load(file: &Source, library: &Library) -> Result<Pipeline, Diagnostics> {
    let mut out = Collector::default();
    let id = out.add_file(&file.path, &file.text);
    let raw = match yaml::parse(&file.text, id, &mut out) {
        Parsed::Document(node) => parse::pipeline(&node, &mut out),
        Parsed::Empty => {
            out.error_with_hint(
                Span::start_of(id),
                "the file is empty",
                "a pipeline needs at least `app` and `stages`, as in `app: hello` and `stages: [...]`",
            );
            None
        }
        Parsed::Invalid => None,
    };
    let Some(raw) = raw else {
        return Err(out.into_diagnostics());
    };

    let mut resolver = Resolver::new(library);
    let raw = prefab::apply(raw, &mut resolver, &mut out);
    let pipeline = Validator::new(&mut resolver, &mut out).pipeline(&raw);
    if out.is_empty() {
        Ok(pipeline)
    } else {
        Err(out.into_diagnostics())
    }
}
