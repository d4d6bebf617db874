//! The web UI in a real headless Chromium: pages render, a running run's page and log update
//! without a reload, a failed task's log is two clicks from the apps overview; and, with
//! `GANTRY_SCREENSHOTS=1`, screenshots of the main pages for `docs/screenshots/`.
//!
//! Each test returns early, saying why loudly, where Chromium or chromedriver is missing
//! (`scripts/install-deps` installs them).

use std::path::PathBuf;

use fantoccini::Locator;
use gantry_model::LogStream;
use gantry_test::TestStore;

use crate::support::browser::{Browser, class_of, serve, text_of};
use crate::support::demo::{self, ALLOWED_FAILURE, finish_running_run, record, seed_demo, seed_wide};
use crate::support::page::ui_router;

#[tokio::test]
async fn pages_render_in_chromium() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let store = TestStore::new().await;
    let demo = seed_demo(&store).await;
    let base = serve(ui_router(&store)).await;
    let client = &browser.client;

    client.goto(&format!("{base}/")).await.unwrap();
    assert_eq!(client.title().await.unwrap(), "Apps · Gantry");
    let rows = client
        .find_all(Locator::Css("table.apps tbody tr"))
        .await
        .unwrap();
    assert_eq!(rows.len(), 4);
    // The stylesheet applied: the top bar is dark, not the browser's default white.
    let background = client
        .find(Locator::Css(".topbar"))
        .await
        .unwrap()
        .css_value("background-color")
        .await
        .unwrap();
    assert_eq!(background, "rgba(29, 35, 48, 1)");

    client
        .find(Locator::LinkText("Runs"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    browser
        .wait_until("the runs list", |client| async move {
            client.title().await.is_ok_and(|title| title == "Runs · Gantry")
        })
        .await;
    let rows = client
        .find_all(Locator::Css("table.runs tbody tr"))
        .await
        .unwrap();
    assert_eq!(rows.len(), 45);

    // The filter form is a plain GET form.
    client
        .find(Locator::Css("input[name=app]"))
        .await
        .unwrap()
        .send_keys("payments")
        .await
        .unwrap();
    client
        .find(Locator::Css("select[name=result]"))
        .await
        .unwrap()
        .select_by_value("failure")
        .await
        .unwrap();
    client
        .find(Locator::Css("form.filters button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    browser
        .wait_until("the filtered list", |client| async move {
            client
                .current_url()
                .await
                .is_ok_and(|url| url.query() == Some("app=payments&branch=&result=failure"))
        })
        .await;
    let rows = client
        .find_all(Locator::Css("table.runs tbody tr"))
        .await
        .unwrap();
    assert_eq!(rows.len(), 2);

    client
        .goto(&format!("{base}/runs/{}", demo.hello_latest))
        .await
        .unwrap();
    assert_eq!(client.title().await.unwrap(), "hello 1.4.24 #24 · Gantry");
    let boxes = client.find_all(Locator::Css("a.task")).await.unwrap();
    assert_eq!(boxes.len(), demo::TASKS.len());
    // Stages are laid out left to right.
    let build = client
        .find(Locator::Css("[data-stage=build]"))
        .await
        .unwrap()
        .rectangle()
        .await
        .unwrap();
    let test = client
        .find(Locator::Css("[data-stage=test]"))
        .await
        .unwrap()
        .rectangle()
        .await
        .unwrap();
    assert!(test.0 > build.0 + build.2 - 1.0, "build {build:?}, test {test:?}");
    // A parallel stage puts its branches side by side; a serial group stacks its tasks.
    let unit = client
        .find(Locator::Css("[data-path='test/unit']"))
        .await
        .unwrap()
        .rectangle()
        .await
        .unwrap();
    let start = client
        .find(Locator::Css("[data-path='test/acceptance/start']"))
        .await
        .unwrap()
        .rectangle()
        .await
        .unwrap();
    let check = client
        .find(Locator::Css("[data-path='test/acceptance/check']"))
        .await
        .unwrap()
        .rectangle()
        .await
        .unwrap();
    assert!(start.0 > unit.0 + unit.2 - 1.0, "unit {unit:?}, start {start:?}");
    assert!(
        check.1 > start.1 + start.3 - 1.0,
        "start {start:?}, check {check:?}"
    );

    client.goto(&format!("{base}/runs/no-such-run")).await.unwrap();
    assert_eq!(client.title().await.unwrap(), "Run not found · Gantry");
    browser.close().await;
}

#[tokio::test]
async fn running_run_updates_without_reload() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let store = TestStore::new().await;
    let mut running = seed_demo(&store).await.running;
    let base = serve(ui_router(&store)).await;
    let client = &browser.client;

    client
        .goto(&format!("{base}/runs/{}", running.id()))
        .await
        .unwrap();
    assert_eq!(
        browser.text(".run-title .badge").await.as_deref(),
        Some("running")
    );
    let unit = "a.task[data-path='test/unit']";
    assert!(class_of(client, unit).await.unwrap().contains("s-running"));
    assert!(
        class_of(client, "a.task[data-path='staging/deploy']")
            .await
            .unwrap()
            .contains("s-pending")
    );
    browser.mark_page().await;
    // The elapsed time of a running task ticks on in the page.
    let ticking = "a.task[data-path='test/unit'] [data-since]";
    let before = browser.text(ticking).await.unwrap();
    browser
        .wait_until("the elapsed time to tick", |client| {
            let before = before.clone();
            async move { text_of(&client, ticking).await.is_some_and(|now| now != before) }
        })
        .await;

    record(&store, &finish_running_run(&mut running)).await;

    browser
        .wait_until("the run to show success", |client| async move {
            text_of(&client, ".run-title .badge").await.as_deref() == Some("success")
        })
        .await;
    browser
        .wait_until("the task boxes to show success", |client| async move {
            class_of(&client, "a.task[data-path='staging/deploy']")
                .await
                .is_some_and(|class| class.contains("s-success"))
        })
        .await;
    assert!(class_of(client, unit).await.unwrap().contains("s-success"));
    browser.assert_not_reloaded().await;
    browser.close().await;
}

#[tokio::test]
async fn running_task_log_follows_without_reload() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let store = TestStore::new().await;
    let mut running = seed_demo(&store).await.running;
    let base = serve(ui_router(&store)).await;
    let client = &browser.client;

    client
        .goto(&format!("{base}/runs/{}/tasks/test/unit", running.id()))
        .await
        .unwrap();
    assert_eq!(client.find_all(Locator::Css("#log .l")).await.unwrap().len(), 2);
    browser.mark_page().await;

    record(
        &store,
        &[running.output_on("test/unit", LogStream::Stderr, "warning: slow test <db>")],
    )
    .await;
    browser
        .wait_until("the new line", |client| async move {
            text_of(&client, "#L3")
                .await
                .is_some_and(|text| text.contains("warning: slow test <db>"))
        })
        .await;
    assert_eq!(class_of(client, "#L3").await.unwrap(), "l e");

    record(&store, &finish_running_run(&mut running)).await;
    browser
        .wait_until("the task to show success", |client| async move {
            text_of(&client, "#task-status").await.as_deref() == Some("success")
        })
        .await;
    assert!(browser.text("#L4").await.unwrap().contains("test result: ok"));
    browser.assert_not_reloaded().await;
    browser.close().await;
}

#[tokio::test]
async fn failed_task_log_is_two_clicks_from_the_overview() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let store = TestStore::new().await;
    let demo = seed_demo(&store).await;
    let base = serve(ui_router(&store)).await;
    let client = &browser.client;

    client.goto(&format!("{base}/")).await.unwrap();
    // Click one: the failed run's badge in the overview.
    let failed = client
        .find(Locator::Css(&format!(
            "table.apps a[href='/runs/{}']",
            demo.payments_failed
        )))
        .await
        .unwrap();
    assert_eq!(failed.text().await.unwrap(), "failure");
    failed.click().await.unwrap();
    browser
        .wait_until("the run page", |client| async move {
            client
                .title()
                .await
                .is_ok_and(|title| title == "payments 1.4.12 #12 · Gantry")
        })
        .await;
    // Click two: the highlighted task.
    let culprit = client.find(Locator::Css("a.task.culprit")).await.unwrap();
    assert!(culprit.text().await.unwrap().contains("unit"));
    culprit.click().await.unwrap();
    browser
        .wait_until("the log page", |client| async move {
            client
                .title()
                .await
                .is_ok_and(|title| title.starts_with("test/unit · payments #12"))
        })
        .await;
    let lines = client.find_all(Locator::Css("#log .l")).await.unwrap();
    assert_eq!(lines.len(), 5);
    assert!(
        browser
            .text("#L4")
            .await
            .unwrap()
            .contains("assertion `left == right` failed")
    );
    assert_eq!(class_of(client, "#L4").await.unwrap(), "l e");
    browser.close().await;
}

/// A wide pipeline at 1400 px: the graph scrolls inside its own box when it must, no stage or
/// task name is cut, and an allowed failure is amber, not red.
#[tokio::test]
async fn wide_pipeline_fits_or_scrolls_without_cutting_names() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let store = TestStore::new().await;
    let wide = seed_wide(&store, "mobile-release").await;
    let base = serve(ui_router(&store)).await;
    let client = &browser.client;
    client.set_window_size(1400, 900).await.unwrap();
    client.goto(&format!("{base}/runs/{wide}")).await.unwrap();
    let check =
        "const names = [...document.querySelectorAll('.task-name, .stage-name, .stage-head, a.task')];
        const cut = names.filter(el => el.scrollWidth > el.clientWidth + 1).map(el => el.textContent);
        const graph = document.querySelector('#graph');
        const page = document.documentElement;
        return [cut, getComputedStyle(graph).overflowX, page.scrollWidth <= page.clientWidth,
                graph.scrollWidth, graph.clientWidth];";
    let result = client.execute(check, vec![]).await.unwrap();
    assert_eq!(result[0], serde_json::json!([]), "names cut: {result:?}");
    assert_eq!(result[1], "auto", "{result:?}");
    assert_eq!(result[2], true, "the page itself scrolls sideways: {result:?}");
    // Finally can be reached within the graph's own box.
    let finally = text_of(client, "[data-path='finally/notify-release-channel'] .task-name").await;
    assert_eq!(finally.as_deref(), Some("notify-release-channel"));
    let allowed = format!("a.task[data-path='{ALLOWED_FAILURE}']");
    assert!(class_of(client, &allowed).await.unwrap().contains("s-warning"));
    let text = text_of(client, &allowed).await.unwrap();
    assert!(text.contains("failed (allowed)"), "{text}");
    browser.close().await;
}

/// Writes screenshots of the main pages to `docs/screenshots/` when `GANTRY_SCREENSHOTS=1`.
#[tokio::test]
async fn screenshots() {
    if std::env::var_os("GANTRY_SCREENSHOTS").is_none_or(|value| value != "1") {
        return;
    }
    let Some(browser) = Browser::start().await else {
        return;
    };
    let store = TestStore::new().await;
    let demo = seed_demo(&store).await;
    let wide = seed_wide(&store, "mobile-release").await;
    let base = serve(ui_router(&store)).await;
    let client = &browser.client;
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    let pages = [
        ("apps-overview.png", "/".to_owned()),
        ("runs-list.png", "/runs".to_owned()),
        ("run-failed.png", format!("/runs/{}", demo.payments_failed)),
        ("run-success.png", format!("/runs/{}", demo.hello_latest)),
        ("run-running.png", format!("/runs/{}", demo.running.id())),
        ("run-wide.png", format!("/runs/{wide}")),
        (
            "task-log.png",
            format!("/runs/{}/tasks/test/unit", demo.payments_failed),
        ),
    ];
    for (name, path) in pages {
        client.set_window_size(1400, 900).await.unwrap();
        client.goto(&format!("{base}{path}")).await.unwrap();
        // The whole page, up to a screenful and a half: the window grows to fit it.
        let fit = "return [Math.ceil(document.body.getBoundingClientRect().height), \
                   window.outerHeight - window.innerHeight];";
        let sizes = client.execute(fit, vec![]).await.unwrap();
        let height = |index: usize| u32::try_from(sizes[index].as_u64().unwrap()).unwrap();
        client
            .set_window_size(1400, height(0).min(1350) + height(1))
            .await
            .unwrap();
        // Let the live scripts connect and the page settle.
        tokio::time::sleep(std::time::Duration::from_millis(600)).await;
        let png = client.screenshot().await.unwrap();
        std::fs::write(dir.join(name), png).unwrap();
        eprintln!("wrote docs/screenshots/{name}");
    }
    browser.close().await;
}
