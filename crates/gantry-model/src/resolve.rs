//! The [`Resolver`]: finds what `uses`, `ref` and `type` name in the [`Library`], reads each
//! library file once, and catches cycles.
//!
//! A cycle is any name met again while it is still being expanded (a fragment that refers to
//! itself through other fragments, a prefab pipeline that `uses` itself); it is reported once,
//! with its chain (`a -> b -> a`), at the reference that closes it.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::rc::Rc;

use crate::diagnostic::Collector;
use crate::library::{Kind, Library};
use crate::parse;
use crate::raw::Spanned;
use crate::source::Span;
use crate::template::{self, Template};
use crate::yaml::{self, Node, Parsed};

pub(crate) struct Resolver<'l> {
    library: &'l Library,
    /// Each library file read so far, by kind and name; `None` when it could not be read as YAML
    /// (already reported).
    documents: HashMap<(Kind, String), Option<Rc<Node>>>,
    /// Task templates, checked once however many tasks use them.
    templates: HashMap<String, Option<Rc<Template>>>,
    /// The names being expanded right now, outermost first, per kind.
    chains: HashMap<Kind, Vec<String>>,
    /// Cycles already reported, by their members, so each is told once.
    cycles: HashSet<(Kind, BTreeSet<String>)>,
}

impl<'l> Resolver<'l> {
    pub fn new(library: &'l Library) -> Self {
        Self {
            library,
            documents: HashMap::new(),
            templates: HashMap::new(),
            chains: HashMap::new(),
            cycles: HashSet::new(),
        }
    }

    /// The document of the library file `name` refers to, marked as being expanded until
    /// [`Resolver::leave`]. `None` (reported) when there is no such file, it cannot be read, or
    /// expanding it would close a cycle.
    pub fn enter(&mut self, kind: Kind, name: &Spanned<String>, out: &mut Collector) -> Option<Rc<Node>> {
        let chain = self.chains.entry(kind).or_default();
        if let Some(start) = chain.iter().position(|active| *active == name.value) {
            let members: BTreeSet<String> = chain[start..].iter().cloned().collect();
            let mut path: Vec<&str> = chain[start..].iter().map(String::as_str).collect();
            path.push(&name.value);
            let path = path.join(" -> ");
            if self.cycles.insert((kind, members)) {
                let verb = if kind == Kind::Pipeline {
                    "uses"
                } else {
                    "refers to"
                };
                out.error_with_hint(
                    name.span,
                    format!("{} `{}` {verb} itself: `{path}`", kind.noun(), name.value),
                    format!(
                        "a {} may not include itself, directly or through others",
                        kind.noun()
                    ),
                );
            }
            return None;
        }
        let document = self.document(kind, name, out)?;
        self.chains.entry(kind).or_default().push(name.value.clone());
        Some(document)
    }

    /// Ends the expansion of the innermost name of `kind` that [`Resolver::enter`] returned.
    pub fn leave(&mut self, kind: Kind) {
        if let Some(chain) = self.chains.get_mut(&kind) {
            chain.pop();
        }
    }

    /// The task template `name`, checked. `None` (reported) when unknown or broken.
    pub fn template(&mut self, name: &Spanned<String>, out: &mut Collector) -> Option<Rc<Template>> {
        if let Some(known) = self.templates.get(&name.value) {
            if known.is_none() && self.library.get(Kind::Task, &name.value).is_none() {
                self.unknown(Kind::Task, name, out);
            }
            return known.clone();
        }
        let template = self.document(Kind::Task, name, out).and_then(|node| {
            let raw = parse::template(&node, out)?;
            template::check(&name.value, raw, out).map(Rc::new)
        });
        self.templates.insert(name.value.clone(), template.clone());
        template
    }

    fn document(&mut self, kind: Kind, name: &Spanned<String>, out: &mut Collector) -> Option<Rc<Node>> {
        let Some(source) = self.library.get(kind, &name.value) else {
            self.unknown(kind, name, out);
            return None;
        };
        let key = (kind, name.value.clone());
        if let Some(document) = self.documents.get(&key) {
            return document.clone();
        }
        let file = out.add_file(&source.path, &source.text);
        let document = match yaml::parse(&source.text, file, out) {
            Parsed::Document(node) => Some(Rc::new(node)),
            Parsed::Empty => {
                let expected = match kind {
                    Kind::Pipeline => "a pipeline (a mapping with `stages`)",
                    Kind::Fragment => "a list of stages or tasks",
                    Kind::Task => "a task template (a mapping with `run` and `params`)",
                };
                out.error(
                    Span::start_of(file),
                    format!("the file is empty; expected {expected}"),
                );
                None
            }
            Parsed::Invalid => None,
        };
        self.documents.insert(key, document.clone());
        document
    }

    fn unknown(&self, kind: Kind, name: &Spanned<String>, out: &mut Collector) {
        out.error_with_hint(
            name.span,
            format!("unknown {} `{}`", kind.noun(), name.value),
            self.library.unknown_hint(kind, &name.value),
        );
    }
}
