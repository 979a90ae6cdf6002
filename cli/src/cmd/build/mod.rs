//! `conveyor build`: build a werf.yaml's images, on an embedded coordinator with one worker on
//! the local Docker engine, or on a cluster (`--coordinator`).
//!
//! The client renders the config locally first, recording which files and environment
//! variables the templates read; exactly those travel with the submission, so the coordinator
//! renders the same text without the client's disk.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::{Args, ValueEnum};
use conveyor_coordinator::front;
use conveyor_coordinator::rpc::{self, RequireToken};
use conveyor_coordinator::server::{self, ServerConfig};
use conveyor_coordinator::store::{RocksStore, Store};
use conveyor_proto::v1::{BuildStatus, PlanRequest, StageState, SubmitRequest};
use conveyor_worker::agent::{self, AgentConfig};
use conveyor_worker::credentials::Credentials;
use conveyor_worker::remote::{Remote, Token};
use conveyor_worker::{engine, executor};

use super::project::ProjectArgs;
use super::security::{self, ClientArgs};
use crate::exit::{Failure, Kind};

mod watch;

use watch::{watch, Outcome};

/// Build the images of werf.yaml (all, or the IMAGEs named), every stage once.
///
/// Without --coordinator, an embedded coordinator (its database under DIR/.conveyor, or
/// --db) drives one worker on the local Docker engine. With --repo, stages are pushed there as
/// REPO:SIGNATURE and reused from there by every later build (on any machine); without it
/// they stay in the local engine as conveyor-stages/PROJECT:SIGNATURE. Final images are tagged
/// PROJECT/IMAGE:latest on the local engine. Exit codes: 0 built, 1 a stage failed, 2 bad
/// werf.yaml or flags (or a coordinator refusing the token), 3 Docker, registry or
/// coordinator unreachable.
///
/// A coordinator started with --token-file needs the same token here (--token-file or
/// CONVEYOR_TOKEN_FILE); an `https://` coordinator is checked against --tls-ca (default: the
/// system's CAs). Both only apply with --coordinator: the embedded coordinator listens on
/// loopback with a random token of its own.
#[derive(Args, Debug)]
pub struct BuildArgs {
    #[command(flatten)]
    project: ProjectArgs,
    /// Where stages are shared, e.g. `localhost:5000/myproject-stages`. Without it, stages
    /// stay in the local engine as `conveyor-stages/PROJECT:SIGNATURE` (embedded mode only).
    #[arg(long)]
    repo: Option<String>,
    /// Submit to this coordinator (e.g. `http://10.0.0.5:7070`, `https://` for TLS) instead
    /// of building here.
    #[arg(long)]
    coordinator: Option<String>,
    #[command(flatten)]
    client: ClientArgs,
    /// The embedded coordinator's database (default: DIR/.conveyor/db).
    #[arg(long)]
    db: Option<PathBuf>,
    /// The local Docker engine for the embedded worker.
    #[arg(long, default_value = engine::DEFAULT_ENDPOINT)]
    docker: String,
    /// Network for build containers (default: the engine's default network).
    #[arg(long, default_value = "")]
    network: String,
    /// Write a JSON report of the build here.
    #[arg(long)]
    report: Option<PathBuf>,
    /// Progress as text for people, or JSON lines (one event per line) for tools.
    #[arg(long, value_enum, default_value_t = Output::Text)]
    output: Output,
    /// Go on building the images a failed stage does not affect (default: stop the build at
    /// the first failure).
    #[arg(long)]
    keep_going: bool,
    /// More tags for each built image (embedded mode), as a template over `{project}`,
    /// `{image}` and `{signature}`, e.g. `registry.local/{project}/{image}:{signature}`;
    /// repeatable. `PROJECT/IMAGE:latest` is always tagged.
    #[arg(long = "tag")]
    tags: Vec<String>,
    /// Images to build (with what they need); default all.
    images: Vec<String>,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum Output {
    Text,
    Json,
}

pub fn run(args: BuildArgs) -> Result<(), Failure> {
    super::block_on(build(args))
}

async fn build(args: BuildArgs) -> Result<(), Failure> {
    let started = Instant::now();
    if args.repo.is_none() && args.coordinator.is_some() {
        return Err(Failure::user(
            "`--coordinator` needs `--repo`: the workers of a cluster share stages through a \
             registry (e.g. --repo registry.example.com/PROJECT-stages)",
        ));
    }
    let (name, config) = args.project.read()?;
    let project =
        front::project_from_dir(&args.project.dir, &name, &config, &args.project.env_map())
            .map_err(Failure::user)?;

    // The coordinator: the one given, or an embedded one with a worker on the local engine.
    let mut embedded = None;
    let remote = match &args.coordinator {
        Some(address) => args.client.remote(address)?,
        None => {
            let (remote, tasks) = embedded_cluster(&args).await?;
            embedded = Some(tasks);
            remote
        }
    };
    let mut client = remote.builds().await.map_err(security::connect_failure)?;
    let plan = client
        .plan(PlanRequest {
            project: Some(project.clone()),
        })
        .await
        .map_err(status_failure)?
        .into_inner();
    let plan: serde_json::Value = serde_json::from_str(&plan.plan_json)
        .map_err(|e| Failure::environment(format!("Unreadable plan from the coordinator: {e}")))?;
    // Without --repo the coordinator keeps stages in the local engine (conveyor-stages/PROJECT).
    let repo = args.repo.clone().unwrap_or_else(|| {
        format!(
            "conveyor-stages/{}",
            plan["project"].as_str().unwrap_or("project")
        )
    });
    let build_id = client
        .submit(SubmitRequest {
            project: Some(project),
            images: args.images.clone(),
            repo: args.repo.clone().unwrap_or_default(),
        })
        .await
        .map_err(status_failure)?
        .into_inner()
        .build_id;
    let outcome = watch(&mut client, &build_id, args.output, args.keep_going).await?;

    let tags = if embedded.is_some() && outcome.status == BuildStatus::Succeeded as i32 {
        tag_final_images(&args, &plan, &repo).await?
    } else {
        BTreeMap::new()
    };
    let report = report(&plan, &outcome, &tags, &args.images);
    if let Some(path) = &args.report {
        let text = serde_json::to_string_pretty(&report).unwrap_or_default();
        std::fs::write(path, text + "\n").map_err(|e| {
            Failure::user(format!("Cannot write the report `{}`: {e}", path.display()))
        })?;
    }
    if args.output == Output::Text {
        summary(&report, started.elapsed());
    }
    if let Some(tasks) = embedded {
        for t in tasks {
            t.abort();
        }
    }
    if outcome.status == BuildStatus::Succeeded as i32 {
        Ok(())
    } else {
        Err(Failure {
            // A stage that failed for want of Docker or the registry is the environment's
            // fault (exit 3), not the stage's (exit 1).
            kind: if outcome.environment {
                Kind::Environment
            } else {
                Kind::StageFailed
            },
            message: outcome
                .failure
                .unwrap_or_else(|| "the build did not succeed".to_string()),
        })
    }
}

pub(crate) fn status_failure(s: tonic::Status) -> Failure {
    if s.code() == tonic::Code::Unauthenticated {
        return security::refused(s.message());
    }
    match conveyor_coordinator::error::Tier::from_grpc(s.code()) {
        conveyor_coordinator::error::Tier::User => Failure::user(s.message()),
        _ => Failure::environment(s.message()),
    }
}

/// Starts the embedded coordinator on loopback and one worker on the local engine. A random
/// token guards it: other users of this machine cannot reach its port and run builds on
/// this user's engine.
async fn embedded_cluster(
    args: &BuildArgs,
) -> Result<(Remote, Vec<tokio::task::JoinHandle<()>>), Failure> {
    let db = args
        .db
        .clone()
        .unwrap_or_else(|| args.project.dir.join(".conveyor").join("db"));
    // The coordinator checks recorded stages in --repo's registry: its client is made while
    // the rest starts up.
    if let Some(repo) = &args.repo {
        let registry = repo.split('/').next().unwrap_or_default();
        conveyor_coordinator::registry::warm_up(vec![registry.to_string()]);
    }
    std::fs::create_dir_all(&db)
        .map_err(|e| Failure::user(format!("Cannot create `{}`: {e}", db.display())))?;
    let store: Arc<dyn Store> = Arc::new(RocksStore::open(&db).map_err(Failure::environment)?);
    let (docker, info) = engine::connect_with_info(&args.docker)
        .await
        .map_err(Failure::environment)?;
    let config = ServerConfig {
        network: args.network.clone(),
        ..ServerConfig::default()
    };
    let handle = server::start(store, config)
        .await
        .map_err(|s| Failure::environment(s.message()))?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(Failure::environment)?;
    let address = format!(
        "http://{}",
        listener.local_addr().map_err(Failure::environment)?
    );
    let token = random_token();
    let remote = Remote::new(address).with_token(token.clone());
    let server = tokio::spawn(async move {
        let _ = tonic::transport::Server::builder()
            .add_routes(rpc::routes(handle, RequireToken::new(token.expose())))
            .serve_with_incoming(conveyor_coordinator::rpc::incoming(listener))
            .await;
    });
    let slots = std::thread::available_parallelism()
        .map(|n| n.get() as u32)
        .unwrap_or(2);
    // The embedded worker uses Docker's config.json for registries that need credentials.
    let (credentials, warnings) = Credentials::from_docker_config().map_err(Failure::user)?;
    for warning in warnings {
        eprintln!("Warning: {warning}");
    }
    let config = AgentConfig {
        coordinator: remote.clone(),
        name: "embedded".into(),
        slots,
        heartbeat: Duration::from_secs(2),
        engine_version: info.version,
        platform: info.platform,
        credentials: Arc::new(credentials),
    };
    // Its build containers are labelled as the embedded worker's: a `conveyor worker` that
    // restarts on the same engine leaves them alone.
    conveyor_worker::executor::set_owner("embedded");
    // It holds the token of its own coordinator: it is never refused.
    let worker = tokio::spawn(async move {
        let _ = agent::run(docker, config, std::future::pending()).await;
    });
    Ok((remote, vec![server, worker]))
}

/// 256 random bits from the OS, as hex.
fn random_token() -> Token {
    use rand::RngCore;
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    Token::new(hex).expect("hex is printable ASCII")
}

/// Tags each built image's last stage as `PROJECT/IMAGE:latest` on the local engine.
async fn tag_final_images(
    args: &BuildArgs,
    plan: &serde_json::Value,
    repo: &str,
) -> Result<BTreeMap<String, String>, Failure> {
    let docker = engine::connect(&args.docker)
        .await
        .map_err(Failure::environment)?;
    let project = plan["project"].as_str().unwrap_or("project");
    let finals: Vec<(&str, &str)> = plan["images"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|i| i["kind"] == "image")
        .filter_map(|i| Some((i["name"].as_str()?, i["signature"].as_str()?)))
        .filter(|(name, _)| selected(&args.images, name))
        .collect();
    pull_missing(&docker, repo, &finals).await?;
    let mut tags = BTreeMap::new();
    for (name, sig) in finals {
        let target = format!("{project}/{name}");
        let opts = bollard::query_parameters::TagImageOptionsBuilder::default()
            .repo(&target)
            .tag("latest")
            .build();
        docker
            .tag_image(&format!("{repo}:{sig}"), Some(opts))
            .await
            .map_err(|e| Failure::environment(format!("Cannot tag `{target}:latest`: {e}")))?;
        tags.insert(name.to_string(), format!("{target}:latest"));
        for template in &args.tags {
            let tag = template
                .replace("{project}", project)
                .replace("{image}", name)
                .replace("{signature}", sig);
            let (repo_part, tag_part) = match tag.rsplit_once(':') {
                Some((r, t)) if !t.contains('/') => (r.to_string(), t.to_string()),
                _ => (tag.clone(), "latest".to_string()),
            };
            let opts = bollard::query_parameters::TagImageOptionsBuilder::default()
                .repo(&repo_part)
                .tag(&tag_part)
                .build();
            docker
                .tag_image(&format!("{repo}:{sig}"), Some(opts))
                .await
                .map_err(|e| {
                    Failure::user(format!("Cannot tag `{tag}` (from --tag `{template}`): {e}"))
                })?;
        }
    }
    Ok(tags)
}

/// Makes the final images present on the local engine: a stage reused from the registry may
/// not be here (a fresh machine whose build found everything cached). Pulls a few at a time.
async fn pull_missing(
    docker: &bollard::Docker,
    repo: &str,
    finals: &[(&str, &str)],
) -> Result<(), Failure> {
    const AT_ONCE: usize = 4;
    let (credentials, _) = Credentials::from_docker_config().map_err(Failure::user)?;
    let credentials = Arc::new(credentials);
    let permits = Arc::new(tokio::sync::Semaphore::new(AT_ONCE));
    let mut pulls = tokio::task::JoinSet::new();
    for (name, sig) in finals {
        let (docker, credentials, permits) = (docker.clone(), credentials.clone(), permits.clone());
        let (name, reference) = (name.to_string(), format!("{repo}:{sig}"));
        pulls.spawn(async move {
            let _permit = permits.acquire().await;
            executor::pull_stage(&docker, &credentials, &reference)
                .await
                .map_err(|e| Failure::environment(format!("Cannot get image `{name}`: {e}")))
        });
    }
    while let Some(done) = pulls.join_next().await {
        done.map_err(|e| Failure::environment(format!("A pull stopped: {e}")))??;
    }
    Ok(())
}

fn selected(images: &[String], name: &str) -> bool {
    images.is_empty() || images.iter().any(|i| i == name)
}

/// The `--report` JSON: status and, per image, its stages and where each came from.
fn report(
    plan: &serde_json::Value,
    outcome: &Outcome,
    tags: &BTreeMap<String, String>,
    images: &[String],
) -> serde_json::Value {
    use serde_json::json;
    let status = if outcome.status == BuildStatus::Succeeded as i32 {
        "succeeded"
    } else {
        "failed"
    };
    let mut out = vec![];
    for image in plan["images"].as_array().into_iter().flatten() {
        let name = image["name"].as_str().unwrap_or_default();
        let mut stages = vec![];
        for stage in image["stages"].as_array().into_iter().flatten() {
            let sig = stage["signature"].as_str().unwrap_or_default();
            let Some((state, worker, duration)) = outcome.stages.get(sig) else {
                continue;
            };
            let source = match StageState::try_from(*state) {
                Ok(StageState::Built) => "built",
                Ok(StageState::Shared) => "shared",
                Ok(StageState::Cached) => "cached",
                Ok(StageState::Failed) => "failed",
                _ => "pending",
            };
            stages.push(
                json!({"name": stage["name"], "signature": sig, "source": source,
                "worker": worker, "durationMs": duration}),
            );
        }
        if stages.is_empty() && !selected(images, name) {
            continue;
        }
        out.push(
            json!({"name": name, "kind": image["kind"], "signature": image["signature"],
            "tag": tags.get(name), "stages": stages}),
        );
    }
    json!({"status": status, "project": plan["project"], "images": out})
}

/// The end-of-build table on stderr: per image, its stages and where each came from.
fn summary(report: &serde_json::Value, elapsed: Duration) {
    let mut err = std::io::stderr().lock();
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for image in report["images"].as_array().into_iter().flatten() {
        let _ = writeln!(
            err,
            "\n{} {}{}",
            image["kind"].as_str().unwrap_or_default(),
            image["name"].as_str().unwrap_or_default(),
            image["tag"]
                .as_str()
                .map(|t| format!(" -> {t}"))
                .unwrap_or_default()
        );
        for stage in image["stages"].as_array().into_iter().flatten() {
            let source = stage["source"].as_str().unwrap_or_default();
            *counts.entry(source.to_string()).or_default() += 1;
            let _ = writeln!(
                err,
                "  {:<22} {}  {:<7} {:>6} ms  {}",
                stage["name"].as_str().unwrap_or_default(),
                stage["signature"]
                    .as_str()
                    .unwrap_or_default()
                    .get(..12)
                    .unwrap_or_default(),
                source,
                stage["durationMs"],
                stage["worker"].as_str().unwrap_or_default()
            );
        }
    }
    let counts: Vec<String> = counts.iter().map(|(k, v)| format!("{v} {k}")).collect();
    let _ = writeln!(
        err,
        "\n{}: {} in {:.1}s",
        report["status"].as_str().unwrap_or_default(),
        counts.join(", "),
        elapsed.as_secs_f64()
    );
}
