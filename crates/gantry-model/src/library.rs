//! The [`Library`]: prefab pipelines, fragments and task templates that pipelines share.
//!
//! On disk a library is a directory with `pipelines/NAME.yml`, `fragments/NAME.yml` and
//! `tasks/NAME.yml`; the CLI reads it (from `--library DIR`, `GANTRY_LIBRARY`, or
//! `.gantry/library`) and hands the files over as [`Source`]s, keyed by `NAME`.

use std::collections::BTreeMap;

use crate::source::Source;
use crate::suggest;

/// Everything a pipeline can refer to by name, as text.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Library {
    /// Prefab pipelines, used with `uses: NAME`.
    pub pipelines: BTreeMap<String, Source>,
    /// Lists of stages or of tasks, inlined with `ref: NAME`.
    pub fragments: BTreeMap<String, Source>,
    /// Task templates, used with `type: NAME`.
    pub tasks: BTreeMap<String, Source>,
}

/// The three kinds of library files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Kind {
    Pipeline,
    Fragment,
    Task,
}

impl Kind {
    /// What a user calls one, in messages.
    pub fn noun(self) -> &'static str {
        match self {
            Self::Pipeline => "prefab pipeline",
            Self::Fragment => "fragment",
            Self::Task => "task type",
        }
    }

    fn plural(self) -> &'static str {
        match self {
            Self::Pipeline => "prefab pipelines",
            Self::Fragment => "fragments",
            Self::Task => "task types",
        }
    }

    fn directory(self) -> &'static str {
        match self {
            Self::Pipeline => "pipelines",
            Self::Fragment => "fragments",
            Self::Task => "tasks",
        }
    }
}

impl Library {
    fn shelf(&self, kind: Kind) -> &BTreeMap<String, Source> {
        match kind {
            Kind::Pipeline => &self.pipelines,
            Kind::Fragment => &self.fragments,
            Kind::Task => &self.tasks,
        }
    }

    pub(crate) fn get(&self, kind: Kind, name: &str) -> Option<&Source> {
        self.shelf(kind).get(name)
    }

    /// The hint for an unknown name: the nearest one, a few that exist, or where the library
    /// is looked up when it has none of this kind.
    pub(crate) fn unknown_hint(&self, kind: Kind, name: &str) -> String {
        let names = self.shelf(kind).keys().map(String::as_str);
        if let Some(hint) = suggest::did_you_mean(name, names.clone()) {
            return hint;
        }
        if self.shelf(kind).is_empty() {
            let what = if self.pipelines.is_empty() && self.fragments.is_empty() && self.tasks.is_empty() {
                "the library is empty".to_owned()
            } else {
                format!("the library has no {}", kind.plural())
            };
            return format!(
                "{what}; {} are read from `{}/NAME.yml` in the library directory, given by `--library DIR`, \
                 `GANTRY_LIBRARY`, or `.gantry/library`",
                kind.plural(),
                kind.directory(),
            );
        }
        format!("available {}: {}", kind.plural(), suggest::list(names, 5))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn library(fragments: &[&str], tasks: &[&str]) -> Library {
        let shelf = |names: &[&str], directory: &str| {
            names
                .iter()
                .map(|name| {
                    (
                        (*name).to_owned(),
                        Source::new(format!("{directory}/{name}.yml"), ""),
                    )
                })
                .collect()
        };
        Library {
            pipelines: BTreeMap::new(),
            fragments: shelf(fragments, "fragments"),
            tasks: shelf(tasks, "tasks"),
        }
    }

    #[test]
    fn hints_at_names() {
        let check = |library: &Library, kind: Kind, name: &str, expect: &str| {
            assert_eq!(library.unknown_hint(kind, name), expect);
        };
        let full = library(
            &["checks", "deploy", "lint", "release", "smoke", "test", "zeta"],
            &[],
        );
        check(&full, Kind::Fragment, "chekcs", "did you mean `checks`?");
        check(
            &full,
            Kind::Fragment,
            "other",
            "available fragments: `checks`, `deploy`, `lint`, `release`, `smoke` and 2 more",
        );
        check(
            &full,
            Kind::Task,
            "docker",
            "the library has no task types; task types are read from `tasks/NAME.yml` in the library directory, \
             given by `--library DIR`, `GANTRY_LIBRARY`, or `.gantry/library`",
        );
        check(
            &library(&[], &[]),
            Kind::Pipeline,
            "service",
            "the library is empty; prefab pipelines are read from `pipelines/NAME.yml` in the library directory, \
             given by `--library DIR`, `GANTRY_LIBRARY`, or `.gantry/library`",
        );
    }
}
