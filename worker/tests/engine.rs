//! Integration tests against the real Docker engines and registry that
//! `scripts/services.sh up --engines 2` starts (CI always runs them; they fail, never skip,
//! when the services are missing).
//!
//! Endpoints come from the environment `make test` sets:
//! `CONVEYOR_TEST_DOCKER` (default `unix:///var/run/docker.sock`), `CONVEYOR_TEST_DOCKER2`
//! (the second engine) and `CONVEYOR_TEST_REGISTRY` (default `localhost:5000`).

mod common;

use bollard::query_parameters::CreateImageOptionsBuilder;
use bollard::Docker;
use conveyor_worker::engine;
use tokio_stream::StreamExt;

async fn pull(docker: &Docker, image: &str) {
    let (name, tag) = image.rsplit_once(':').expect("image has a tag");
    let opts = CreateImageOptionsBuilder::default()
        .from_image(name)
        .tag(tag)
        .build();
    let mut progress = docker.create_image(Some(opts), None, None);
    while let Some(step) = progress.next().await {
        step.unwrap_or_else(|e| panic!("pulling {image}: {e}"));
    }
}

async fn check_engine(endpoint: &str) {
    let docker = engine::connect(endpoint)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let info = engine::info(&docker, endpoint)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(!info.version.is_empty(), "engine reports a version");
    assert!(
        info.platform.starts_with("linux/"),
        "platform: {}",
        info.platform
    );
    let image = common::base_image();
    pull(&docker, &image).await;
    let out = common::sh(
        &docker,
        &image,
        "echo conveyor $((6 * 7)) > /tmp/x; cat /tmp/x",
    )
    .await;
    assert_eq!(out, "conveyor 42\n");
}

#[tokio::test]
async fn default_engine_runs_the_base_image_from_the_registry() {
    check_engine(&common::env_or(
        "CONVEYOR_TEST_DOCKER",
        engine::DEFAULT_ENDPOINT,
    ))
    .await;
}

#[tokio::test]
async fn second_engine_shares_the_registry() {
    let endpoint = std::env::var("CONVEYOR_TEST_DOCKER2").expect(
        "CONVEYOR_TEST_DOCKER2 names the second engine's socket: run the tests through \
         `make test`, which starts it with `scripts/services.sh up --engines 2`",
    );
    check_engine(&endpoint).await;
}

#[tokio::test]
async fn unreachable_engine_is_a_clear_error() {
    let err = engine::connect("unix:///nonexistent/docker.sock")
        .await
        .map(|_| ());
    // Connecting to a unix socket is lazy in bollard; the first request fails instead.
    let err = match err {
        Err(e) => e,
        Ok(()) => {
            let docker = Docker::connect_with_unix(
                "/nonexistent/docker.sock",
                5,
                bollard::API_DEFAULT_VERSION,
            )
            .expect("client");
            engine::info(&docker, "unix:///nonexistent/docker.sock")
                .await
                .expect_err("no engine there")
        }
    };
    assert!(
        err.to_string()
            .contains("`unix:///nonexistent/docker.sock`"),
        "{err}"
    );
}
