//! Task output: lines, streams, masking.

use gantry_model::{LogStream, RunResult};

use crate::harness::{Test, task};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn output_arrives_line_by_line_on_its_stream() {
    let script = r"
        echo out one
        echo err one >&2
        printf 'crlf\r\nno newline at the end'
    ";
    let run = Test::new()
        .stage("build", vec![task("print", script)])
        .run()
        .await;
    assert_eq!(run.result, RunResult::Success);
    assert_eq!(
        run.output_of("build/print", Some(LogStream::Stdout)),
        ["out one", "crlf", "no newline at the end"]
    );
    assert_eq!(run.output_of("build/print", Some(LogStream::Stderr)), ["err one"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn long_lines_and_many_lines_are_kept_whole() {
    let script = "head -c 300000 /dev/zero | tr '\\0' x; echo; seq 1 5000";
    let run = Test::new()
        .stage("build", vec![task("print", script)])
        .run()
        .await;
    let output = run.output("build/print");
    assert_eq!(output.len(), 5001);
    assert_eq!(output[0], "x".repeat(300_000));
    let numbers: Vec<String> = (1..=5000).map(|n| n.to_string()).collect();
    assert_eq!(output[1..], numbers[..]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_utf8_is_replaced_not_fatal() {
    let run = Test::new()
        .stage("build", vec![task("print", "printf 'bad \\377 byte\\n'")])
        .run()
        .await;
    assert_eq!(run.output("build/print"), ["bad \u{fffd} byte"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_are_exported_and_masked_everywhere() {
    let script = r#"
        echo "token=$API_TOKEN"
        echo "twice: $API_TOKEN$API_TOKEN" >&2
        echo "password is $DB_PASSWORD."
        test "$API_TOKEN" = "s3cr3t-t0ken"
    "#;
    let run = Test::new()
        .secret("API_TOKEN", "s3cr3t-t0ken")
        .secret("DB_PASSWORD", "hunter2")
        .secret("UNSET", "")
        .stage("build", vec![task("leak", script)])
        .run()
        .await;
    assert_eq!(run.result, RunResult::Success);
    assert_eq!(
        run.output_of("build/leak", Some(LogStream::Stdout)),
        ["token=***", "password is ***."]
    );
    assert_eq!(
        run.output_of("build/leak", Some(LogStream::Stderr)),
        ["twice: ***"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_script_killed_by_a_signal_fails_and_says_so() {
    let run = Test::new()
        .stage("build", vec![task("crash", "kill -USR1 $$")])
        .run()
        .await;
    assert_eq!(run.result, RunResult::Failure);
    let finished = run.finished("build/crash");
    assert_eq!(finished.exit_code, None);
    assert!(
        run.output("build/crash")
            .iter()
            .any(|line| line.contains("SIGUSR1")),
        "{:?}",
        run.output("build/crash")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_working_directory_fails_the_task_clearly() {
    let run = Test::new()
        .stage(
            "build",
            vec![gantry_model::Task {
                workdir: Some("nowhere".into()),
                ..task("compile", "true")
            }],
        )
        .run()
        .await;
    assert_eq!(run.result, RunResult::Failure);
    let output = run.output("build/compile");
    assert!(
        output
            .iter()
            .any(|line| line.contains("failed to start `bash` in") && line.contains("nowhere")),
        "{output:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_secret_printed_in_two_writes_is_masked_whole() {
    // The two halves reach the pipe apart, so they come in two reads.
    let script = r#"
        half=${#API_TOKEN}; half=$((half / 2))
        printf 'key=%s' "${API_TOKEN:0:$half}"
        sleep 0.2
        printf '%s done\n' "${API_TOKEN:$half}"
        seq 1 3
    "#;
    let run = Test::new()
        .secret("API_TOKEN", "s3cr3t-t0ken-value")
        .stage("build", vec![task("leak", script)])
        .run()
        .await;
    assert_eq!(run.result, RunResult::Success);
    assert_eq!(run.output("build/leak"), ["key=*** done", "1", "2", "3"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_lines_comes_in_batches_every_line_in_order() {
    let run = Test::new()
        .secret("API_TOKEN", "s3cr3t-t0ken")
        .stage(
            "build",
            vec![task("flood", "seq 1 200000; echo \"end $API_TOKEN\"")],
        )
        .run()
        .await;
    assert_eq!(run.result, RunResult::Success);
    let output = run.output("build/flood");
    assert_eq!(output.len(), 200_001);
    for (index, line) in output[..200_000].iter().enumerate() {
        assert_eq!(*line, (index + 1).to_string());
    }
    assert_eq!(output[200_000], "end ***");
    let events = run
        .events
        .iter()
        .filter(|event| matches!(event.kind, gantry_model::RunEventKind::TaskOutput { .. }))
        .count();
    assert!(events < 2_000, "{events} events for 200,001 lines");
}
