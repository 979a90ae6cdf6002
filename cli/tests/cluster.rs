//! A real cluster in one process: the coordinator over loopback gRPC, two workers on the two
//! Docker engines from `scripts/services.sh up --engines 2`, and the local registry. A small
//! werf.yaml is built for real; its final image runs. CI always runs this (it fails, never
//! skips, when the services are missing).

use std::sync::Arc;
use std::time::Duration;

use conveyor_coordinator::rpc::{BuildsService, WorkersService};
use conveyor_coordinator::server::{self, ServerConfig};
use conveyor_coordinator::store::{RocksStore, Store};
use conveyor_proto::v1::builds_client::BuildsClient;
use conveyor_proto::v1::builds_server::BuildsServer;
use conveyor_proto::v1::workers_server::WorkersServer;
use conveyor_proto::v1::{
    build_event, BuildStatus, Project, StageState, SubmitRequest, WatchRequest,
};
use conveyor_worker::agent::{self, AgentConfig};
use conveyor_worker::engine;
use conveyor_worker::remote::Remote;
use tokio_stream::StreamExt;

fn env_or(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_string())
}

const CONFIG: &str = r#"project: e2e
configVersion: 1
---
artifact: tool
from: {{ env "REGISTRY" }}/library/busybox:1.35
shell:
  install:
  - mkdir -p /out/bin /out/doc
  - echo 'echo tool says hi' > /out/bin/tool && chmod +x /out/bin/tool
  - echo readme > /out/doc/README
---
image: app
from: {{ env "REGISTRY" }}/library/busybox
shell:
  beforeInstall:
  - mkdir -p /app
  install:
  - echo {{ printf "%s-%d" "built" 42 | quote }} > /app/version
import:
- artifact: tool
  add: /out
  to: /opt/tool
  includePaths: [bin]
  owner: app
  after: install
docker:
  ENV:
    MODE: production
  WORKDIR: /app
  CMD: ["cat", "/app/version"]
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_cluster_of_two_engines_builds_a_werf_yaml() {
    let registry = env_or("CONVEYOR_TEST_REGISTRY", "localhost:5000");
    let db = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(RocksStore::open(db.path()).unwrap());
    let config = ServerConfig {
        network: "none".into(),
        tick: Duration::from_millis(100),
        ..ServerConfig::default()
    };
    let handle = server::start(store, config).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move {
        let _ = tonic::transport::Server::builder()
            .add_service(BuildsServer::new(BuildsService::new(handle.clone())))
            .add_service(WorkersServer::new(WorkersService::new(handle)))
            .serve_with_incoming(conveyor_coordinator::rpc::incoming(listener))
            .await;
    });

    let mut workers = vec![];
    for (i, endpoint) in [
        env_or("CONVEYOR_TEST_DOCKER", engine::DEFAULT_ENDPOINT),
        std::env::var("CONVEYOR_TEST_DOCKER2")
            .expect("CONVEYOR_TEST_DOCKER2 names the second engine (run through `make test`)"),
    ]
    .into_iter()
    .enumerate()
    {
        let docker = engine::connect(&endpoint)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let config = AgentConfig {
            coordinator: Remote::new(format!("http://{addr}")),
            name: format!("e2e-worker-{i}"),
            slots: 2,
            heartbeat: Duration::from_secs(1),
            engine_version: String::new(),
            platform: String::new(),
            credentials: Default::default(),
        };
        workers.push(tokio::spawn(agent::run(
            docker,
            config,
            std::future::pending(),
        )));
    }

    let repo = format!("{registry}/conveyor-tests/e2e-{}", std::process::id());
    let mut client = BuildsClient::connect(format!("http://{addr}"))
        .await
        .unwrap();
    let submit = |client: &mut BuildsClient<tonic::transport::Channel>| {
        let request = SubmitRequest {
            project: Some(Project {
                config_name: "werf.yaml".into(),
                config: CONFIG.into(),
                files: Default::default(),
                env: [("REGISTRY".to_string(), registry.clone())].into(),
            }),
            images: vec![],
            repo: repo.clone(),
        };
        let mut client = client.clone();
        async move { client.submit(request).await.unwrap().into_inner().build_id }
    };
    let build = submit(&mut client).await;
    let (status, states, logs) = watch(&mut client, &build).await;
    assert_eq!(
        status,
        BuildStatus::Succeeded as i32,
        "logs:\n{}",
        logs.join("\n")
    );
    assert!(states.values().any(|s| *s == StageState::Built as i32));
    assert!(
        logs.iter().all(|l| !l.contains("error")),
        "no errors in the logs: {logs:?}"
    );

    // The final image: its file, its import (only bin/, owned by app) and its instructions.
    let out = std::process::Command::new("docker")
        .args(["run", "--rm", "--network", "none"])
        .arg(format!(
            "{repo}:{}",
            final_signature(&client_plan(&mut client, &registry).await)
        ))
        .args([
            "sh",
            "-c",
            "cat /app/version; ls /opt/tool; stat -c %u /opt/tool/bin/tool; echo $MODE; pwd",
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        text,
        "built-42\nbin\n1000\nproduction\n/app\n",
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // Built again: every stage is a cache hit, nothing runs.
    let again = submit(&mut client).await;
    let (status, states, _) = watch(&mut client, &again).await;
    assert_eq!(status, BuildStatus::Succeeded as i32);
    assert!(
        states.values().all(|s| *s == StageState::Cached as i32),
        "{states:?}"
    );

    for w in workers {
        w.abort();
    }
    server.abort();
}

async fn watch(
    client: &mut BuildsClient<tonic::transport::Channel>,
    build: &str,
) -> (i32, std::collections::BTreeMap<String, i32>, Vec<String>) {
    let mut events = client
        .watch(WatchRequest {
            build_id: build.into(),
            after: 0,
        })
        .await
        .unwrap()
        .into_inner();
    let mut states = std::collections::BTreeMap::new();
    let mut logs = vec![];
    let deadline = tokio::time::Instant::now() + Duration::from_secs(240);
    loop {
        let next = tokio::time::timeout_at(deadline, events.next())
            .await
            .expect("the build finishes in time");
        let Some(Ok(message)) = next else {
            panic!("the watch ended early")
        };
        for e in message.events {
            match e.event {
                Some(build_event::Event::Stage(s)) => {
                    if !s.message.is_empty() {
                        logs.push(format!("{} {}: {}", s.image, s.stage, s.message));
                    }
                    states.insert(s.signature, s.state);
                }
                Some(build_event::Event::Log(l)) => logs.push(l.line),
                Some(build_event::Event::Finished(f)) => return (f.status, states, logs),
                None => {}
            }
        }
    }
}

async fn client_plan(
    client: &mut BuildsClient<tonic::transport::Channel>,
    registry: &str,
) -> serde_json::Value {
    let plan = client
        .plan(conveyor_proto::v1::PlanRequest {
            project: Some(Project {
                config_name: "werf.yaml".into(),
                config: CONFIG.into(),
                files: Default::default(),
                env: [("REGISTRY".to_string(), registry.to_string())].into(),
            }),
        })
        .await
        .unwrap()
        .into_inner();
    serde_json::from_str(&plan.plan_json).unwrap()
}

fn final_signature(plan: &serde_json::Value) -> String {
    plan["images"]
        .as_array()
        .and_then(|images| images.iter().find(|i| i["name"] == "app"))
        .and_then(|app| app["signature"].as_str())
        .unwrap_or_default()
        .to_string()
}
