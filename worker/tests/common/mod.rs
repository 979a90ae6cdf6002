//! Helpers shared by the executor's integration tests: engines, unique names, tasks, and
//! running a command in a stage image. The services (`scripts/services.sh up --engines 2`) must
//! be up: the tests fail, never skip, without them.
#![allow(dead_code)]

use std::collections::HashMap;
use std::hash::{BuildHasher, Hasher};

use bollard::models::{ContainerCreateBody, HostConfig};
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, ListContainersOptionsBuilder, LogsOptionsBuilder,
    RemoveContainerOptionsBuilder, RemoveImageOptionsBuilder,
};
use bollard::Docker;
use conveyor_proto::v1::{StageTask, TaskKind};
use conveyor_worker::credentials::Credentials;
use conveyor_worker::engine;
use conveyor_worker::executor::{self, LogLine, StageError, StageOutput};
use tokio_stream::StreamExt;

pub fn env_or(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_string())
}

pub fn registry() -> String {
    env_or("CONVEYOR_TEST_REGISTRY", "localhost:5000")
}

pub fn base_image() -> String {
    format!("{}/library/busybox:latest", registry())
}

pub async fn engine1() -> Docker {
    let endpoint = env_or("CONVEYOR_TEST_DOCKER", engine::DEFAULT_ENDPOINT);
    engine::connect(&endpoint)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
}

pub async fn engine2() -> Docker {
    let endpoint = env_or(
        "CONVEYOR_TEST_DOCKER2",
        "unix:///var/run/conveyor-docker2.sock",
    );
    engine::connect(&endpoint)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
}

pub fn random_hex() -> String {
    let a = std::collections::hash_map::RandomState::new()
        .build_hasher()
        .finish();
    let b = std::collections::hash_map::RandomState::new()
        .build_hasher()
        .finish();
    format!("{a:016x}{b:016x}")
}

/// A repository unique to this test run: `REGISTRY/conveyor-tests/NAME-PID-RANDOM`.
pub fn repo(name: &str) -> String {
    format!(
        "{}/conveyor-tests/{name}-{}-{}",
        registry(),
        std::process::id(),
        &random_hex()[..8]
    )
}

pub fn from_task(repo: &str, base: &str) -> StageTask {
    let signature = random_hex();
    StageTask {
        target: format!("{repo}:{signature}"),
        signature,
        stage: "from".into(),
        image: "app".into(),
        project: "conveyor-tests".into(),
        kind: TaskKind::From as i32,
        base: base.into(),
        network: "none".into(),
        ..Default::default()
    }
}

pub fn build_task(repo: &str, parent: &StageTask, stage: &str, commands: &[&str]) -> StageTask {
    let signature = random_hex();
    StageTask {
        target: format!("{repo}:{signature}"),
        signature,
        stage: stage.into(),
        image: "app".into(),
        project: "conveyor-tests".into(),
        kind: TaskKind::Build as i32,
        base: parent.target.clone(),
        parent_signature: parent.signature.clone(),
        commands: commands.iter().map(|c| c.to_string()).collect(),
        network: "none".into(),
        ..Default::default()
    }
}

/// Runs a task, collecting its log.
pub async fn run(
    docker: &Docker,
    task: &StageTask,
) -> (Result<StageOutput, StageError>, Vec<LogLine>) {
    let mut lines = Vec::new();
    let out = executor::run_stage(docker, &Credentials::default(), task, &mut |l| {
        lines.push(l)
    })
    .await;
    (out, lines)
}

/// Runs `script` with `/bin/sh -c` (entrypoint replaced) in a fresh container of `image`,
/// network `none`; returns its stdout. Panics on a non-zero exit.
pub async fn sh(docker: &Docker, image: &str, script: &str) -> String {
    let name = format!("conveyor-test-{}-{}", std::process::id(), random_hex());
    let body = ContainerCreateBody {
        image: Some(image.to_string()),
        entrypoint: Some(vec!["/bin/sh".into(), "-c".into(), script.into()]),
        cmd: Some(vec![]),
        host_config: Some(HostConfig {
            network_mode: Some("none".into()),
            ..Default::default()
        }),
        ..Default::default()
    };
    let opts = CreateContainerOptionsBuilder::default().name(&name).build();
    docker
        .create_container(Some(opts), body)
        .await
        .expect("create container");
    docker
        .start_container(&name, None)
        .await
        .expect("start container");
    let mut code = 0;
    let mut wait = docker.wait_container(&name, None);
    while let Some(status) = wait.next().await {
        match status {
            Ok(s) => code = s.status_code,
            Err(bollard::errors::Error::DockerContainerWaitError { code: c, .. }) => code = c,
            Err(e) => panic!("wait: {e}"),
        }
    }
    let mut logs = docker.logs(
        &name,
        Some(
            LogsOptionsBuilder::default()
                .stdout(true)
                .stderr(true)
                .build(),
        ),
    );
    let mut out = String::new();
    while let Some(chunk) = logs.next().await {
        out.push_str(&chunk.expect("read logs").to_string());
    }
    docker
        .remove_container(
            &name,
            Some(RemoveContainerOptionsBuilder::default().force(true).build()),
        )
        .await
        .expect("remove container");
    assert_eq!(code, 0, "`{script}` in {image}: {out}");
    out
}

/// The containers (running or not) labelled with this stage signature.
pub async fn containers_of(docker: &Docker, signature: &str) -> Vec<String> {
    let label = format!("conveyor.signature={signature}");
    let opts = ListContainersOptionsBuilder::default()
        .all(true)
        .filters(&HashMap::from([("label", vec![label.as_str()])]))
        .build();
    docker
        .list_containers(Some(opts))
        .await
        .expect("list containers")
        .into_iter()
        .flat_map(|c| c.names.unwrap_or_default())
        .collect()
}

/// Best-effort removal of the stage images a test made (the registry keeps its copies).
pub async fn forget(docker: &Docker, tasks: &[&StageTask]) {
    for t in tasks {
        let opts = RemoveImageOptionsBuilder::default().force(true).build();
        let _ = docker.remove_image(&t.target, Some(opts), None).await;
    }
}
