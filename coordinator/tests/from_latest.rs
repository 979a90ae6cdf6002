//! `fromLatest` against the real registry from `scripts/services.sh` (CI always runs it):
//! pushing new content under the same tag changes the from stage's signature; without
//! `fromLatest` it does not. An unreachable registry is a clear error naming the reference.

use std::process::Command;

use conveyor_coordinator::config::load;
use conveyor_coordinator::plan::{latest_references, plan, LatestRef};
use conveyor_coordinator::registry;

fn registry_host() -> String {
    std::env::var("CONVEYOR_TEST_REGISTRY").unwrap_or_else(|_| "localhost:5000".into())
}

fn docker(args: &[&str]) {
    let out = Command::new("docker")
        .args(args)
        .output()
        .expect("the docker CLI runs");
    assert!(
        out.status.success(),
        "docker {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Pushes a one-file image with `content` as REPO:latest, built on the base image.
fn push(repo: &str, content: &str) {
    let base = format!("{}/library/busybox:latest", registry_host());
    docker(&["pull", "-q", &base]);
    let name = format!("conveyor-from-latest-{}", std::process::id());
    docker(&[
        "run",
        "--name",
        &name,
        "--network",
        "none",
        &base,
        "sh",
        "-c",
        &format!("echo {content} > /content"),
    ]);
    docker(&["commit", &name, &format!("{repo}:latest")]);
    docker(&["rm", "-f", &name]);
    docker(&["push", "-q", &format!("{repo}:latest")]);
}

async fn signatures(repo: &str) -> (String, String) {
    let text = format!(
        "project: p\nconfigVersion: 1\n---\nimage: latest\nfrom: {repo}\nfromLatest: true\n\
         ---\nimage: pinned\nfrom: {repo}\n"
    );
    let config = load("werf.yaml", &text).unwrap();
    let digests = registry::resolve_all(&latest_references(&config).unwrap())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let p = plan(&config, &digests).unwrap();
    (p.images[0].signature.clone(), p.images[1].signature.clone())
}

#[tokio::test]
async fn from_latest_follows_new_content_under_the_same_tag() {
    let repo = format!(
        "{}/conveyor-tests/from-latest-{}",
        registry_host(),
        std::process::id()
    );
    push(&repo, "one");
    let (latest1, pinned1) = signatures(&repo).await;
    push(&repo, "two");
    let (latest2, pinned2) = signatures(&repo).await;
    assert_ne!(latest1, latest2, "fromLatest follows the digest");
    assert_eq!(
        pinned1, pinned2,
        "without fromLatest only the reference counts"
    );
}

#[tokio::test]
async fn unreachable_registry_is_an_error_naming_the_reference() {
    let r = LatestRef {
        reference: "127.0.0.1:1/nothing/here:latest".into(),
        image: "app".into(),
        line: 3,
    };
    let err = registry::resolve_all(&[r]).await.unwrap_err().to_string();
    assert!(err.contains("`127.0.0.1:1/nothing/here:latest`"), "{err}");
    assert!(err.contains("`app`"), "{err}");
}
