//! No input makes loading panic: odd YAML written by hand, and thousands of mutations of the
//! fixture pipelines and library files. Whatever the outcome, every diagnostic has a position.

use std::fs;

use gantry_model::{Diagnostics, Library, Source, load};

use crate::fixture_files::{fixtures_dir, library, sources};

fn check_well_formed(result: &Result<gantry_model::Pipeline, Diagnostics>, input: &str) {
    if let Err(diagnostics) = result {
        assert!(
            !diagnostics.0.is_empty(),
            "an error without diagnostics for:\n{input}"
        );
        for diagnostic in &diagnostics.0 {
            assert!(
                diagnostic.line >= 1 && diagnostic.column >= 1,
                "{diagnostic} for:\n{input}"
            );
            assert!(
                !diagnostic.path.is_empty() && !diagnostic.message.is_empty(),
                "{diagnostic:?}"
            );
        }
        assert!(!diagnostics.to_string().is_empty());
    }
}

fn load_text(text: &str, library: &Library) -> Result<gantry_model::Pipeline, Diagnostics> {
    let result = load(&Source::new("gantry.yml", text), library);
    check_well_formed(&result, text);
    result
}

#[test]
fn odd_yaml_is_reported_not_panicked_on() {
    let library = library();
    let odd = [
        "",
        "\u{feff}",
        "~",
        "null",
        "42",
        "\"just a string\"",
        "[]",
        "{}",
        "---\n...\n",
        "--- a\n--- b\n",
        "app: x\n---\napp: y\n---\n",
        "app: &a x\nversion: *a\nstages: []\n",
        "a: &a [*a]\n",
        "app: *b\n",
        "&x app: y\n",
        "<<: {app: merged}\nstages: [{name: s, tasks: [{name: t, run: x}]}]\n",
        "<<: [*nope]\n",
        "app: x\nstages:\n\t- name: s\n",
        "app:\tx\n",
        "app: x\nstages: [{name: 1, tasks: [{name: 2, run: 3}]}]\n",
        "app: 99999999999999999999999999999999\nstages: [{name: s, tasks: [{name: t, run: x, retry: 99999999999999999999999999999999}]}]\n",
        "app: x\nstages: [{name: s, tasks: [{name: t, run: x, retry: -0x10, timeout: 99999999999999999999h}]}]\n",
        "app: x\nstages: [{name: s, tasks: [{name: t, run: x, timeout: 18446744073709551615h18446744073709551615h}]}]\n",
        "? complex\n: key\n",
        "? [a, b]\n: c\n",
        "{[a]: b}\n",
        "app: !!binary aGVsbG8=\n",
        "%YAML 1.2\n---\napp: x\n",
        "%TAG ! tag:example.com,2000:\n---\napp: !foo x\n",
        "app: 'unterminated\n",
        "app: \"\\uD800\"\n",
        "app: x\nstages:\n  - ref:\n  - ref: []\n  - ref: {a: b}\n",
        "app: x\nstages: [{ref: checks}]\n",
        "app: x\nsetup: [{ref: test-stages}]\n",
        "uses: service\nuses: service\n",
        "uses: [service]\n",
        "uses: service\napp: x\nenv: 5\n",
        "app: x\nstages: [{name: s, tasks: [{name: t, type: deploy, with: [target]}]}]\n",
        "app: x\nstages: [{name: s, tasks: [{name: t, type: deploy, with: {target: {a: 1}}}]}]\n",
        "app: x\nstages: [{name: s, when: main, tasks: [{name: t, run: x, when: {branch: {a: b}}}]}]\n",
        "app: x\n\u{0}\n",
        "app: x\r\nstages: []\r\n",
        "\u{1F680}: \u{1F680}\n",
        &format!(
            "app: x\nstages: [{}]\n",
            "{name: s, tasks: [{name: t, run: x}]}, ".repeat(300)
        ),
        &format!(
            "app: x\nenv: {{{}}}\n",
            (0..2000)
                .map(|i| format!("V{i}: {i}"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        &format!("{}x", "- ".repeat(2000)),
        &format!("{}{}", "{a: ".repeat(1000), "}".repeat(1000)),
        &"app: x\n".repeat(1000),
    ];
    for text in odd {
        let _ = load_text(text, &library);
    }
}

/// A small, seeded generator, so that a failure can be replayed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, bound: usize) -> usize {
        if bound == 0 {
            0
        } else {
            usize::try_from(self.next() % bound as u64).unwrap_or(0)
        }
    }
}

const PIECES: &[&str] = &[
    ":",
    "- ",
    "[",
    "]",
    "{",
    "}",
    ",",
    "&a ",
    "*a",
    "<<: *a\n",
    "!",
    "!!str ",
    "|\n",
    ">\n",
    "'",
    "\"",
    "\t",
    "\n",
    "  ",
    "#",
    "---\n",
    "...",
    "?",
    "~",
    "null",
    "true",
    "-1",
    "99999999999999999999",
    "1.5",
    "ref: ",
    "uses: ",
    "type: ",
    "tasks: ",
    "name: x",
    "{{ with.",
    "}}",
    "{%",
    "/",
    "..",
    "\u{e9}",
    "\u{1F680}",
];

fn mutate(text: &str, rng: &mut Rng) -> String {
    let mut chars: Vec<char> = text.chars().collect();
    for _ in 0..=rng.below(3) {
        let at = rng.below(chars.len() + 1);
        match rng.below(4) {
            0 => {
                let end = (at + 1 + rng.below(6)).min(chars.len());
                if at < end {
                    chars.drain(at..end);
                }
            }
            1 => {
                let piece = PIECES[rng.below(PIECES.len())];
                chars.splice(at..at, piece.chars());
            }
            2 => {
                let text: String = chars.iter().collect();
                let mut lines: Vec<&str> = text.lines().collect();
                if !lines.is_empty() {
                    let line = rng.below(lines.len());
                    lines.insert(line, lines[line]);
                }
                chars = lines.join("\n").chars().collect();
            }
            _ => {
                let text: String = chars.iter().collect();
                let mut lines: Vec<&str> = text.lines().collect();
                if lines.len() > 1 {
                    let (a, b) = (rng.below(lines.len()), rng.below(lines.len()));
                    lines.swap(a, b);
                }
                chars = lines.join("\n").chars().collect();
            }
        }
    }
    chars.into_iter().collect()
}

#[test]
fn mutated_pipelines_are_reported_not_panicked_on() {
    let library = library();
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let pipelines = sources("pipelines/valid")
        .into_values()
        .chain(sources("pipelines/invalid").into_values());
    for source in pipelines {
        for _ in 0..100 {
            let _ = load_text(&mutate(&source.text, &mut rng), &library);
        }
    }
}

#[test]
fn mutated_library_files_are_reported_not_panicked_on() {
    let mut rng = Rng(0xD1B5_4A32_D192_ED03);
    let pipeline = fs::read_to_string(fixtures_dir().join("pipelines/valid/every-key.yml")).unwrap();
    let uses = "uses: rust-service\napp: x\n";
    let original = library();
    let files: Vec<(usize, String)> = [&original.pipelines, &original.fragments, &original.tasks]
        .into_iter()
        .enumerate()
        .flat_map(|(shelf, files)| files.keys().map(move |name| (shelf, name.clone())))
        .collect();
    for (shelf, name) in files {
        for _ in 0..40 {
            let mut library = original.clone();
            let files = match shelf {
                0 => &mut library.pipelines,
                1 => &mut library.fragments,
                _ => &mut library.tasks,
            };
            let source = files.get_mut(&name).unwrap();
            source.text = mutate(&source.text, &mut rng);
            let _ = load_text(&pipeline, &library);
            let _ = load_text(uses, &library);
        }
    }
}
