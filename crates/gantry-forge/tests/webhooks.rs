//! Webhook deliveries as the forges send them: the recorded payloads (and the derived ones of
//! `fixtures/README.md`) signed as each forge signs, normalised into the events pinned by the
//! snapshots; and every way a delivery is refused.

use std::path::Path;

use gantry_forge::{
    ForgeEvent, ForgeKind, MAX_WEBHOOK_BODY, Secret, WebhookDelivery, WebhookError, hmac_sha256_hex,
    parse_webhook,
};
use http::{HeaderMap, HeaderValue, StatusCode};

const SECRET: &str = "It's a Secret to Everybody";

fn fixture(path: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(path);
    std::fs::read(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
    let mut headers = HeaderMap::new();
    for (name, value) in pairs {
        headers.insert(*name, HeaderValue::from_str(value).unwrap());
    }
    headers
}

/// The headers `kind` sends with `body` for an event of `event_kind`, signed with `SECRET`.
fn signed(kind: ForgeKind, event_kind: &str, body: &[u8]) -> HeaderMap {
    let signature = hmac_sha256_hex(SECRET.as_bytes(), body);
    match kind {
        ForgeKind::GitHub => headers(&[
            ("x-github-event", event_kind),
            ("x-github-delivery", "72d3162e-cc78-11e3-81ab-4c9367dc0958"),
            ("x-hub-signature-256", &format!("sha256={signature}")),
        ]),
        ForgeKind::Gitea => headers(&[
            ("x-gitea-event", event_kind),
            ("x-gitea-delivery", "f6266f16-1bf3-46a5-9ea4-602e06ead473"),
            ("x-gitea-signature", &signature),
        ]),
        ForgeKind::Forgejo => headers(&[
            ("x-forgejo-event", event_kind),
            ("x-forgejo-delivery", "a1b2c3d4-0000-4000-8000-000000000001"),
            ("x-forgejo-signature", &signature),
        ]),
        ForgeKind::GitLab => headers(&[
            ("x-gitlab-event", event_kind),
            ("x-gitlab-event-uuid", "13792a34-cac6-4fda-95a8-c58e00a3954e"),
            ("x-gitlab-token", SECRET),
        ]),
    }
}

fn deliver(kind: ForgeKind, event_kind: &str, body: &[u8]) -> Result<WebhookDelivery, WebhookError> {
    parse_webhook(kind, &signed(kind, event_kind, body), body, &Secret::new(SECRET))
}

/// Every payload, what it becomes; the snapshot is named after the file.
const CASES: &[(ForgeKind, &str, &str)] = &[
    (
        ForgeKind::GitHub,
        "push",
        "github/push.with-new-branch.payload.json",
    ),
    (
        ForgeKind::GitHub,
        "push",
        "github/push.with-no-username-committer.payload.json",
    ),
    (ForgeKind::GitHub, "push", "github/push.payload.json"),
    (ForgeKind::GitHub, "push", "github/derived/push.tag-created.json"),
    (
        ForgeKind::GitHub,
        "push",
        "github/derived/push.branch-deleted.json",
    ),
    (
        ForgeKind::GitHub,
        "pull_request",
        "github/pull_request.opened.payload.json",
    ),
    (
        ForgeKind::GitHub,
        "pull_request",
        "github/pull_request.reopened.payload.json",
    ),
    (
        ForgeKind::GitHub,
        "pull_request",
        "github/pull_request.synchronize.payload.json",
    ),
    (
        ForgeKind::GitHub,
        "pull_request",
        "github/pull_request.closed.payload.json",
    ),
    (ForgeKind::GitHub, "ping", "github/ping.payload.json"),
    (ForgeKind::GitHub, "create", "github/create.payload.json"),
    (ForgeKind::GitHub, "delete", "github/delete.payload.json"),
    (ForgeKind::Gitea, "push", "gitea/push-event.json"),
    (ForgeKind::Gitea, "push", "gitea/derived/push-tag.json"),
    (ForgeKind::Gitea, "pull_request", "gitea/pull-request-event.json"),
    (
        ForgeKind::Gitea,
        "pull_request",
        "gitea/derived/pull-request-synchronized.json",
    ),
    (
        ForgeKind::Gitea,
        "pull_request",
        "gitea/derived/pull-request-closed.json",
    ),
    (ForgeKind::Gitea, "create", "gitea/create-event.json"),
    (ForgeKind::Gitea, "delete", "gitea/delete-event.json"),
    (ForgeKind::GitLab, "Push Hook", "gitlab/push-event.json"),
    (
        ForgeKind::GitLab,
        "Push Hook",
        "gitlab/derived/push-branch-deleted.json",
    ),
    (ForgeKind::GitLab, "Tag Push Hook", "gitlab/tag-event.json"),
    (
        ForgeKind::GitLab,
        "Tag Push Hook",
        "gitlab/derived/tag-deleted.json",
    ),
    (
        ForgeKind::GitLab,
        "Merge Request Hook",
        "gitlab/merge-request-event.json",
    ),
    (
        ForgeKind::GitLab,
        "Merge Request Hook",
        "gitlab/derived/merge-request-update.json",
    ),
    (
        ForgeKind::GitLab,
        "Merge Request Hook",
        "gitlab/derived/merge-request-update-title.json",
    ),
    (
        ForgeKind::GitLab,
        "Merge Request Hook",
        "gitlab/derived/merge-request-close.json",
    ),
];

#[test]
fn recorded_payloads_become_events() {
    for (kind, event_kind, path) in CASES {
        let delivery =
            deliver(*kind, event_kind, &fixture(path)).unwrap_or_else(|error| panic!("{path}: {error}"));
        assert_eq!(delivery.event_kind, *event_kind);
        let name = path.replace('/', "__").trim_end_matches(".json").to_owned();
        insta::assert_json_snapshot!(name, delivery.event);
    }
}

#[test]
fn what_starts_a_build_and_what_does_not() {
    let build = |kind, event_kind, path| {
        deliver(kind, event_kind, &fixture(path))
            .unwrap()
            .event
            .commit_to_build()
            .map(str::to_owned)
    };
    // A new branch, an annotated tag (its commit, not the tag object), a pull request's head.
    assert_eq!(
        build(
            ForgeKind::GitHub,
            "push",
            "github/push.with-new-branch.payload.json"
        )
        .as_deref(),
        Some("6113728f27ae82c7b1a177c8d03f9e96e0adf246")
    );
    assert_eq!(
        build(ForgeKind::GitHub, "push", "github/derived/push.tag-created.json").as_deref(),
        Some("6113728f27ae82c7b1a177c8d03f9e96e0adf246")
    );
    assert_eq!(
        build(
            ForgeKind::GitLab,
            "Merge Request Hook",
            "gitlab/derived/merge-request-update.json"
        )
        .as_deref(),
        Some("da1560886d4f094c3e6c9ef40349f7d38b5d27d7")
    );
    // Deleted branches and tags, closed pull requests, other events: nothing.
    for (kind, event_kind, path) in [
        (
            ForgeKind::GitHub,
            "push",
            "github/derived/push.branch-deleted.json",
        ),
        (ForgeKind::GitHub, "push", "github/push.payload.json"),
        (
            ForgeKind::GitHub,
            "pull_request",
            "github/pull_request.closed.payload.json",
        ),
        (ForgeKind::Gitea, "delete", "gitea/delete-event.json"),
        (ForgeKind::Gitea, "create", "gitea/create-event.json"),
        (
            ForgeKind::GitLab,
            "Push Hook",
            "gitlab/derived/push-branch-deleted.json",
        ),
        (
            ForgeKind::GitLab,
            "Tag Push Hook",
            "gitlab/derived/tag-deleted.json",
        ),
    ] {
        assert_eq!(build(kind, event_kind, path), None, "{path}");
    }
}

#[test]
fn delivery_ids_are_read_from_each_forges_header() {
    let github = deliver(ForgeKind::GitHub, "ping", &fixture("github/ping.payload.json")).unwrap();
    assert_eq!(
        github.delivery_id.as_deref(),
        Some("72d3162e-cc78-11e3-81ab-4c9367dc0958")
    );
    assert_eq!(github.event, ForgeEvent::Ping);
    let gitea = deliver(ForgeKind::Gitea, "push", &fixture("gitea/push-event.json")).unwrap();
    assert_eq!(
        gitea.delivery_id.as_deref(),
        Some("f6266f16-1bf3-46a5-9ea4-602e06ead473")
    );
    let gitlab = deliver(ForgeKind::GitLab, "Push Hook", &fixture("gitlab/push-event.json")).unwrap();
    assert_eq!(
        gitlab.delivery_id.as_deref(),
        Some("13792a34-cac6-4fda-95a8-c58e00a3954e")
    );
}

#[test]
fn forgejo_is_understood_by_its_own_headers_and_by_gitea_s() {
    let body = fixture("gitea/push-event.json");
    let own = deliver(ForgeKind::Forgejo, "push", &body).unwrap();
    assert_eq!(
        own.delivery_id.as_deref(),
        Some("a1b2c3d4-0000-4000-8000-000000000001")
    );
    // Forgejo also sends Gitea's headers; a Gitea project receiving them from Forgejo works.
    let as_gitea = parse_webhook(
        ForgeKind::Gitea,
        &signed(ForgeKind::Forgejo, "push", &body),
        &body,
        &Secret::new(SECRET),
    )
    .unwrap();
    assert_eq!(own.event, as_gitea.event);
    assert!(matches!(own.event, ForgeEvent::Push(_)));
}

#[test]
fn missing_or_wrong_signatures_are_unauthorized() {
    let body = fixture("github/push.with-new-branch.payload.json");
    let gitlab_body = fixture("gitlab/push-event.json");
    let wrong = hmac_sha256_hex(b"not the secret", &body);
    let cases: Vec<(&str, ForgeKind, HeaderMap, &[u8])> = vec![
        (
            "github, none",
            ForgeKind::GitHub,
            headers(&[("x-github-event", "push")]),
            &body,
        ),
        (
            "github, wrong",
            ForgeKind::GitHub,
            headers(&[
                ("x-github-event", "push"),
                ("x-hub-signature-256", &format!("sha256={wrong}")),
            ]),
            &body,
        ),
        (
            "github, no algorithm prefix",
            ForgeKind::GitHub,
            headers(&[
                ("x-github-event", "push"),
                ("x-hub-signature-256", &hmac_sha256_hex(SECRET.as_bytes(), &body)),
            ]),
            &body,
        ),
        (
            "github, the old SHA-1 header only",
            ForgeKind::GitHub,
            headers(&[("x-github-event", "push"), ("x-hub-signature", "sha1=0123")]),
            &body,
        ),
        (
            "gitea, none",
            ForgeKind::Gitea,
            headers(&[("x-gitea-event", "push")]),
            &body,
        ),
        (
            "gitea, wrong",
            ForgeKind::Gitea,
            headers(&[("x-gitea-event", "push"), ("x-gitea-signature", &wrong)]),
            &body,
        ),
        (
            "forgejo, wrong",
            ForgeKind::Forgejo,
            headers(&[("x-forgejo-event", "push"), ("x-forgejo-signature", "zz")]),
            &body,
        ),
        (
            "gitlab, none",
            ForgeKind::GitLab,
            headers(&[("x-gitlab-event", "Push Hook")]),
            &gitlab_body,
        ),
        (
            "gitlab, wrong",
            ForgeKind::GitLab,
            headers(&[
                ("x-gitlab-event", "Push Hook"),
                ("x-gitlab-token", "It's a secret to everybody"),
            ]),
            &gitlab_body,
        ),
    ];
    for (name, kind, headers, body) in cases {
        let error = parse_webhook(kind, &headers, body, &Secret::new(SECRET)).unwrap_err();
        assert_eq!(error.status(), StatusCode::UNAUTHORIZED, "{name}: {error}");
    }
}

#[test]
fn a_body_changed_after_signing_is_unauthorized() {
    let body = fixture("github/push.with-new-branch.payload.json");
    let headers = signed(ForgeKind::GitHub, "push", &body);
    let mut tampered = body.clone();
    let at = tampered.len() / 2;
    tampered[at] ^= 1;
    let error = parse_webhook(ForgeKind::GitHub, &headers, &tampered, &Secret::new(SECRET)).unwrap_err();
    assert_eq!(
        error.to_string(),
        "webhook not authenticated: `X-Hub-Signature-256` does not match the body"
    );
}

#[test]
fn a_project_without_a_secret_accepts_nothing() {
    let body = fixture("gitlab/push-event.json");
    let headers = headers(&[("x-gitlab-event", "Push Hook"), ("x-gitlab-token", "")]);
    let error = parse_webhook(ForgeKind::GitLab, &headers, &body, &Secret::new("")).unwrap_err();
    assert_eq!(error.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        error.to_string(),
        "webhook not authenticated: no webhook secret is configured for this project"
    );
}

#[test]
fn truncated_bodies_are_bad_requests_that_say_where() {
    let body = fixture("github/pull_request.opened.payload.json");
    let truncated = &body[..body.len() / 3];
    let error = deliver(ForgeKind::GitHub, "pull_request", truncated).unwrap_err();
    assert_eq!(error.status(), StatusCode::BAD_REQUEST);
    let WebhookError::Malformed {
        event_kind,
        path,
        message,
    } = &error
    else {
        panic!("{error:?}");
    };
    assert_eq!(event_kind, "pull_request");
    assert!(path.starts_with("pull_request."), "{path}");
    assert!(message.contains("EOF"), "{message}");

    let error = deliver(ForgeKind::GitLab, "Push Hook", b"").unwrap_err();
    assert_eq!(error.status(), StatusCode::BAD_REQUEST);
    let error = deliver(ForgeKind::GitLab, "Push Hook", b"{} trailing").unwrap_err();
    assert_eq!(error.status(), StatusCode::BAD_REQUEST, "{error}");
}

#[test]
fn payloads_of_the_wrong_shape_are_bad_requests_that_say_where() {
    let mut value: serde_json::Value =
        serde_json::from_slice(&fixture("github/pull_request.synchronize.payload.json")).unwrap();
    value["pull_request"]["head"]["sha"] = serde_json::json!(5);
    let body = serde_json::to_vec(&value).unwrap();
    let error = deliver(ForgeKind::GitHub, "pull_request", &body).unwrap_err();
    assert_eq!(error.status(), StatusCode::BAD_REQUEST);
    assert!(
        error.to_string().starts_with(
            "malformed `pull_request` payload at `pull_request.head.sha`: \
             invalid type: integer `5`, expected a string"
        ),
        "{error}"
    );

    let mut value: serde_json::Value = serde_json::from_slice(&fixture("gitlab/push-event.json")).unwrap();
    value["commits"][1].as_object_mut().unwrap().remove("author");
    let body = serde_json::to_vec(&value).unwrap();
    let WebhookError::Malformed { path, message, .. } =
        deliver(ForgeKind::GitLab, "Push Hook", &body).unwrap_err()
    else {
        panic!("not malformed");
    };
    assert_eq!(path, "commits[1]");
    assert!(message.starts_with("missing field `author`"), "{message}");
}

#[test]
fn oversized_bodies_are_refused_before_anything_else() {
    let body = vec![b' '; MAX_WEBHOOK_BODY + 1];
    // No signature at all: the size is checked first, so nothing of the body is hashed.
    let error = parse_webhook(ForgeKind::GitHub, &HeaderMap::new(), &body, &Secret::new(SECRET)).unwrap_err();
    assert_eq!(error.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(
        error,
        WebhookError::TooLarge {
            size: MAX_WEBHOOK_BODY + 1,
            limit: 25 * 1024 * 1024
        }
    );
}

#[test]
fn unknown_events_are_ignored_and_missing_kinds_are_bad_requests() {
    let body = br#"{"action":"created"}"#;
    for (kind, event_kind) in [
        (ForgeKind::GitHub, "issue_comment"),
        (ForgeKind::Gitea, "issues"),
        (ForgeKind::GitLab, "Note Hook"),
    ] {
        let delivery = deliver(kind, event_kind, body).unwrap();
        assert_eq!(
            delivery.event,
            ForgeEvent::Ignored {
                reason: format!("event `{event_kind}` is not acted on")
            }
        );
    }
    let mut headers = signed(ForgeKind::GitHub, "push", body);
    headers.remove("x-github-event");
    let error = parse_webhook(ForgeKind::GitHub, &headers, body, &Secret::new(SECRET)).unwrap_err();
    assert_eq!(
        error,
        WebhookError::MissingHeader {
            header: "X-GitHub-Event"
        }
    );
    assert_eq!(error.status(), StatusCode::BAD_REQUEST);
}
