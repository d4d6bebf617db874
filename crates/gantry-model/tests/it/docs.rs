//! The examples of `docs/pipeline.md` are true: every YAML block that starts with a file name
//! comment (`# gantry.yml`, `# fragments/checks.yml`, ...) is loaded, library files first, and a
//! pipeline followed right away (no text between) by a `text` block of diagnostics must fail
//! with exactly those.

/// A fenced block of a Markdown text.
struct Block {
    language: String,
    body: String,
    /// Whether only blank lines separate it from the block before.
    adjacent: bool,
}

use std::path::PathBuf;

use gantry_model::{Library, Source, load};

fn blocks(markdown: &str) -> Vec<Block> {
    let mut blocks = Vec::new();
    let mut current: Option<Block> = None;
    let mut adjacent = false;
    for line in markdown.lines() {
        match (&mut current, line.strip_prefix("```")) {
            (None, Some(language)) => {
                current = Some(Block {
                    language: language.trim().to_owned(),
                    body: String::new(),
                    adjacent,
                });
            }
            (Some(_), Some(_)) => {
                blocks.extend(current.take());
                adjacent = true;
            }
            (Some(block), None) => {
                block.body.push_str(line);
                block.body.push('\n');
            }
            (None, None) => adjacent &= line.trim().is_empty(),
        }
    }
    blocks
}

#[test]
fn examples_in_the_reference_load() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/pipeline.md");
    let markdown = std::fs::read_to_string(&path).expect("docs/pipeline.md");
    let blocks = blocks(&markdown);

    let mut library = Library::default();
    for Block { body, .. } in blocks.iter().filter(|block| block.language == "yaml") {
        let Some(title) = body.lines().next().and_then(|line| line.strip_prefix("# ")) else {
            continue;
        };
        let Some((kind, file)) = title.split_once('/') else {
            continue;
        };
        let Some(name) = file.strip_suffix(".yml") else {
            continue;
        };
        let shelf = match kind {
            "pipelines" => &mut library.pipelines,
            "fragments" => &mut library.fragments,
            "tasks" => &mut library.tasks,
            _ => continue,
        };
        shelf.insert(name.to_owned(), Source::new(title, body.clone()));
    }

    let mut checked = 0;
    for (index, Block { language, body, .. }) in blocks.iter().enumerate() {
        if language != "yaml" || !body.starts_with("# gantry.yml\n") {
            continue;
        }
        checked += 1;
        let expected = blocks
            .get(index + 1)
            .filter(|next| next.adjacent && next.language == "text" && next.body.starts_with("error:"))
            .map(|next| next.body.trim_end());
        match (load(&Source::new("gantry.yml", body.clone()), &library), expected) {
            (Ok(_), None) => {}
            (Ok(_), Some(expected)) => panic!("this example loads, but the docs show:\n{expected}\n\n{body}"),
            (Err(diagnostics), None) => panic!("this example does not load:\n{diagnostics}\n\n{body}"),
            (Err(diagnostics), Some(expected)) => {
                assert_eq!(
                    diagnostics.to_string(),
                    expected,
                    "the diagnostics shown for:\n{body}"
                );
            }
        }
    }
    assert!(checked >= 5, "only {checked} examples found");
}
