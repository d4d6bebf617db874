//! `uses: NAME`: a pipeline file that fills in a prefab pipeline from the library.
//!
//! The prefab is a whole pipeline file, itself possibly using another. The using file supplies
//! what differs per app: its `app`, `version` and `traceable` replace the prefab's, its `env`
//! is merged over the prefab's key by key, and its `secrets` are added. The tasks (`setup`,
//! `stages`, `finally`) come from the prefab alone.

use crate::diagnostic::Collector;
use crate::library::Kind;
use crate::parse;
use crate::raw::{RawMap, RawPipeline, RawScalar, Spanned, key_span};
use crate::resolve::Resolver;

/// `raw` with its `uses` (and the prefab's own, in turn) applied. When the prefab cannot be
/// used (reported), `uses` stays set and the tasks are left empty, so that validation neither
/// asks for what the prefab would have given nor checks tasks that cannot be kept.
pub(crate) fn apply(raw: RawPipeline, resolver: &mut Resolver<'_>, out: &mut Collector) -> RawPipeline {
    let Some(uses) = raw.uses.clone() else { return raw };
    for key in ["setup", "stages", "finally"] {
        if let Some(span) = key_span(&raw.keys, key) {
            out.error_with_hint(
                span,
                format!("`{key}` cannot be set in a file that `uses` a prefab pipeline"),
                format!(
                    "the prefab pipeline `{}` defines the tasks; remove `{key}` here, or remove `uses` and write \
                     the whole pipeline",
                    uses.value
                ),
            );
        }
    }
    let prefab = resolver.enter(Kind::Pipeline, &uses, out).map(|node| {
        let prefab = parse::pipeline(&node, out).map(|prefab| apply(prefab, resolver, out));
        resolver.leave(Kind::Pipeline);
        prefab
    });
    match prefab.flatten() {
        Some(prefab) => merge(prefab, raw),
        None => RawPipeline {
            setup: None,
            stages: None,
            finally: None,
            ..raw
        },
    }
}

fn merge(prefab: RawPipeline, file: RawPipeline) -> RawPipeline {
    let mut keys = prefab.keys;
    keys.extend(file.keys);
    RawPipeline {
        schema: None,
        app: file.app.or(prefab.app),
        version: file.version.or(prefab.version),
        env: merge_env(prefab.env, file.env),
        secrets: merge_secrets(prefab.secrets, file.secrets),
        traceable: file.traceable.or(prefab.traceable),
        uses: None,
        setup: prefab.setup,
        stages: prefab.stages,
        finally: prefab.finally,
        keys,
        span: file.span,
    }
}

type Env = Option<Spanned<RawMap<RawScalar>>>;

/// The prefab's variables in their order, each replaced by the file's value if it sets one, then
/// the file's other variables.
fn merge_env(prefab: Env, file: Env) -> Env {
    let (Some(mut merged), Some(file)) = (prefab.clone(), file.clone()) else {
        return file.or(prefab);
    };
    for (name, value) in file.value.0 {
        match merged
            .value
            .0
            .iter_mut()
            .find(|(existing, _)| existing.value == name.value)
        {
            Some(entry) => *entry = (name, value),
            None => merged.value.0.push((name, value)),
        }
    }
    Some(Spanned::new(merged.value, file.span))
}

type Secrets = Option<Spanned<Vec<Spanned<String>>>>;

fn merge_secrets(prefab: Secrets, file: Secrets) -> Secrets {
    let (Some(mut merged), Some(file)) = (prefab.clone(), file.clone()) else {
        return file.or(prefab);
    };
    for secret in file.value {
        if merged.value.iter().all(|existing| existing.value != secret.value) {
            merged.value.push(secret);
        }
    }
    Some(Spanned::new(merged.value, file.span))
}
