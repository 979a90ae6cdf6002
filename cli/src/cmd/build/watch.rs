//! Following a submitted build: its events as progress for people (or JSON lines for tools),
//! stopping the build at the first failure unless `--keep-going`, and attaching again when
//! the coordinator goes away (a coordinator restarting on its database resumes its builds).

use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, Instant};

use conveyor_proto::v1::builds_client::BuildsClient;
use conveyor_proto::v1::{
    build_event, BuildEvent, BuildEvents, BuildStatus, StageState, WatchRequest,
};
use conveyor_worker::remote::AuthChannel;
use tokio_stream::StreamExt;

use super::{status_failure, Output};
use crate::exit::Failure;

/// Prints a line above the progress line (also when stderr is not a terminal, where the
/// progress line itself is hidden).
fn say(bar: &indicatif::ProgressBar, line: impl std::fmt::Display) {
    bar.suspend(|| eprintln!("{line}"));
}

/// What a build did, per stage signature.
pub(super) struct Outcome {
    pub status: i32,
    pub failure: Option<String>,
    /// The first failure was Docker's or the registry's (see `StageEvent.environment`).
    pub environment: bool,
    /// Signature → (state, worker, duration ms).
    pub stages: BTreeMap<String, (i32, String, u64)>,
}

pub(super) async fn watch(
    client: &mut BuildsClient<AuthChannel>,
    build_id: &str,
    output: Output,
    keep_going: bool,
) -> Result<Outcome, Failure> {
    let mut canceller = client.clone();
    let mut cancelled = false;
    let mut events = client
        .watch(WatchRequest {
            build_id: build_id.to_string(),
            after: 0,
        })
        .await
        .map_err(status_failure)?
        .into_inner();
    let mut outcome = Outcome {
        status: BuildStatus::Unspecified as i32,
        failure: None,
        environment: false,
        stages: BTreeMap::new(),
    };
    // One live line for people: stages done so far, by where they came from.
    let bar = if output == Output::Text {
        let bar = indicatif::ProgressBar::new_spinner();
        bar.set_style(
            indicatif::ProgressStyle::with_template("{spinner} [{elapsed_precise}] {msg}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
        );
        bar.enable_steady_tick(Duration::from_millis(120));
        bar
    } else {
        indicatif::ProgressBar::hidden()
    };
    let mut counts: BTreeMap<&'static str, usize> = BTreeMap::new();
    // The events of the last message not handled yet (a message carries several).
    let mut received: VecDeque<BuildEvent> = VecDeque::new();
    loop {
        let event = match received.pop_front() {
            Some(event) => event,
            None => match events.next().await {
                Some(Ok(message)) => {
                    received.extend(message.events);
                    continue;
                }
                // The stream broke: attach again. A restarted coordinator resumes the build under
                // the same id (its events start again from the first); a coordinator that dropped
                // this watcher for falling behind sends the build's events from the first again.
                // Either way the progress counts start over.
                Some(Err(_)) | None => {
                    say(&bar, "lost the coordinator; re-attaching to the build");
                    events = reattach(client, build_id).await?;
                    counts.clear();
                    bar.set_message("re-attached");
                    // A coordinator that stopped before recording the cancel resumes the build:
                    // ask again (cancelling a build that ended is a no-op).
                    if cancelled {
                        cancel(&mut canceller, build_id).await;
                    }
                    continue;
                }
            },
        };
        if output == Output::Json {
            println!("{}", event_json(&event));
        }
        match event.event {
            Some(build_event::Event::Stage(s)) => {
                let state = StageState::try_from(s.state).unwrap_or(StageState::Unspecified);
                if output == Output::Text {
                    let what = match state {
                        StageState::Started => Some(format!("building on {}", s.worker)),
                        StageState::Built => Some(format!("built ({} ms)", s.duration_ms)),
                        StageState::Shared => Some("built by another build".to_string()),
                        StageState::Failed => Some(format!("FAILED: {}", s.message)),
                        StageState::Requeued => Some(format!("requeued: {}", s.message)),
                        _ => None,
                    };
                    if let Some(what) = what {
                        say(&bar, format!("{}/{} {}", s.image, s.stage, what));
                    }
                    let counted = match state {
                        StageState::Built => Some("built"),
                        StageState::Shared => Some("shared"),
                        StageState::Cached => Some("cached"),
                        StageState::Failed => Some("failed"),
                        StageState::Queued => Some("queued"),
                        _ => None,
                    };
                    if let Some(key) = counted {
                        *counts.entry(key).or_default() += 1;
                        let queued = counts.get("queued").copied().unwrap_or(0);
                        let done = counts
                            .iter()
                            .filter(|(k, _)| **k != "queued")
                            .map(|(_, v)| v)
                            .sum::<usize>();
                        let parts: Vec<String> = counts
                            .iter()
                            .filter(|(k, _)| **k != "queued")
                            .map(|(k, v)| format!("{v} {k}"))
                            .collect();
                        bar.set_message(format!(
                            "{done}/{} stages: {}",
                            queued.max(done),
                            parts.join(", ")
                        ));
                    }
                }
                if state == StageState::Failed && outcome.failure.is_none() {
                    outcome.failure = Some(format!(
                        "Stage `{}` of `{}` failed: {}",
                        s.stage, s.image, s.message
                    ));
                    outcome.environment = s.environment;
                    if !keep_going && !cancelled {
                        cancelled = true;
                        say(
                            &bar,
                            "stopping the build (use --keep-going to build the rest)",
                        );
                        cancel(&mut canceller, build_id).await;
                    }
                }
                outcome
                    .stages
                    .insert(s.signature, (s.state, s.worker, s.duration_ms));
            }
            Some(build_event::Event::Log(l)) if output == Output::Text => {
                say(&bar, format!("  | {}", l.line));
            }
            Some(build_event::Event::Finished(f)) => {
                bar.finish_and_clear();
                outcome.status = f.status;
                return Ok(outcome);
            }
            Some(build_event::Event::Log(_)) | None => {}
        }
    }
}

/// Asks the coordinator to cancel `build_id`. Best effort: the watch goes on either way, and a
/// build that cannot be cancelled ends by itself.
async fn cancel(client: &mut BuildsClient<AuthChannel>, build_id: &str) {
    let _ = client
        .cancel(conveyor_proto::v1::CancelRequest {
            build_id: build_id.to_string(),
        })
        .await;
}

/// Watches `build_id` again after the stream broke, for up to two minutes (a coordinator
/// restarting on its database resumes its builds under their ids).
async fn reattach(
    client: &mut BuildsClient<AuthChannel>,
    build_id: &str,
) -> Result<tonic::Streaming<BuildEvents>, Failure> {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let attempt = client
            .watch(WatchRequest {
                build_id: build_id.to_string(),
                after: 0,
            })
            .await;
        match attempt {
            Ok(stream) => return Ok(stream.into_inner()),
            // Back with another token: waiting will not help.
            Err(status) if status.code() == tonic::Code::Unauthenticated => {
                return Err(status_failure(status))
            }
            Err(status) if Instant::now() >= deadline => {
                return Err(Failure::environment(format!(
                    "Lost the coordinator during build `{build_id}`: {}",
                    status.message()
                )))
            }
            Err(_) => {}
        }
    }
}

fn event_json(e: &BuildEvent) -> serde_json::Value {
    use serde_json::json;
    match &e.event {
        Some(build_event::Event::Stage(s)) => json!({"seq": e.seq, "type": "stage",
            "image": s.image, "stage": s.stage, "signature": s.signature,
            "state": StageState::try_from(s.state).map(|x| x.as_str_name()).unwrap_or("?"),
            "worker": s.worker, "message": s.message, "durationMs": s.duration_ms,
            "environment": s.environment}),
        Some(build_event::Event::Log(l)) => json!({"seq": e.seq, "type": "log",
            "signature": l.signature, "worker": l.worker, "line": l.line, "stderr": l.stderr}),
        Some(build_event::Event::Finished(f)) => json!({"seq": e.seq, "type": "finished",
            "status": BuildStatus::try_from(f.status).map(|x| x.as_str_name()).unwrap_or("?")}),
        None => json!({"seq": e.seq}),
    }
}
