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

/// How many times in a row a build's event stream may break at the same place before the
/// client gives up on it.
const MAX_STUCK: u32 = 5;

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
    // The highest event number seen, and how many times in a row the stream broke without
    // getting past it (a stream that always breaks at the same place is given up on).
    let (mut furthest, mut furthest_at_break, mut stuck) = (0u64, 0u64, 0u32);
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
                broke @ (Some(Err(_)) | None) => {
                    stuck = if furthest <= furthest_at_break {
                        stuck + 1
                    } else {
                        0
                    };
                    furthest_at_break = furthest;
                    if stuck >= MAX_STUCK {
                        let why = match broke {
                            Some(Err(status)) => status.message().to_string(),
                            _ => "the stream ended".to_string(),
                        };
                        bar.finish_and_clear();
                        return Err(Failure::environment(format!(
                            "The events of build `{build_id}` broke off at the same place \
                             {MAX_STUCK} times in a row ({why}); the build may still be \
                             running on the coordinator"
                        )));
                    }
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
        furthest = furthest.max(event.seq);
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

#[cfg(test)]
mod tests {
    use super::*;
    use conveyor_proto::v1::builds_server::{Builds, BuildsServer};
    use conveyor_proto::v1::{
        BuildInfo, CancelRequest, CancelResponse, GetRequest, PlanRequest, PlanResponse,
        RenderRequest, RenderResponse, StageEvent, SubmitRequest, SubmitResponse,
    };
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use tonic::{Request, Response, Status};

    /// One scripted watch: the messages (or the error) its stream sends, in order.
    type Script = fn(attempt: usize) -> Vec<Result<BuildEvents, Status>>;

    /// A coordinator whose `Watch` streams follow a script (by attempt, from 0), counting the
    /// watches and cancels it gets.
    #[derive(Clone)]
    struct Scripted {
        script: Script,
        watches: Arc<AtomicUsize>,
        cancels: Arc<AtomicUsize>,
    }

    impl Scripted {
        fn new(script: Script) -> Scripted {
            Scripted {
                script,
                watches: Arc::default(),
                cancels: Arc::default(),
            }
        }

        /// Serves on a loopback port; returns a client of it and the server's task.
        async fn serve(&self) -> (BuildsClient<AuthChannel>, tokio::task::JoinHandle<()>) {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let service = BuildsServer::new(self.clone());
            let server = tokio::spawn(async move {
                let _ = tonic::transport::Server::builder()
                    .add_service(service)
                    .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener))
                    .await;
            });
            let client = conveyor_worker::remote::Remote::new(format!("http://{addr}"))
                .builds()
                .await
                .unwrap();
            (client, server)
        }
    }

    /// A message with one stage event of state `state`.
    fn stage_message(seq: u64, state: StageState) -> Result<BuildEvents, Status> {
        Ok(BuildEvents {
            build_id: "b1".into(),
            events: vec![BuildEvent {
                seq,
                time_ms: 1,
                event: Some(build_event::Event::Stage(StageEvent {
                    image: "app".into(),
                    stage: "install".into(),
                    signature: "s1".into(),
                    state: state as i32,
                    message: "exit status 1".into(),
                    ..StageEvent::default()
                })),
            }],
        })
    }

    #[tonic::async_trait]
    impl Builds for Scripted {
        async fn render(
            &self,
            _: Request<RenderRequest>,
        ) -> Result<Response<RenderResponse>, Status> {
            Err(Status::unimplemented("render"))
        }
        async fn plan(&self, _: Request<PlanRequest>) -> Result<Response<PlanResponse>, Status> {
            Err(Status::unimplemented("plan"))
        }
        async fn submit(
            &self,
            _: Request<SubmitRequest>,
        ) -> Result<Response<SubmitResponse>, Status> {
            Err(Status::unimplemented("submit"))
        }
        type WatchStream = <conveyor_coordinator::rpc::BuildsService as Builds>::WatchStream;
        async fn watch(
            &self,
            _: Request<WatchRequest>,
        ) -> Result<Response<Self::WatchStream>, Status> {
            let attempt = self.watches.fetch_add(1, Ordering::SeqCst);
            Ok(Response::new(Box::pin(tokio_stream::iter((self.script)(
                attempt,
            )))))
        }
        async fn get(&self, _: Request<GetRequest>) -> Result<Response<BuildInfo>, Status> {
            Err(Status::unimplemented("get"))
        }
        async fn cancel(
            &self,
            _: Request<CancelRequest>,
        ) -> Result<Response<CancelResponse>, Status> {
            self.cancels.fetch_add(1, Ordering::SeqCst);
            Ok(Response::new(CancelResponse {}))
        }
    }

    #[tokio::test]
    async fn a_cancel_is_asked_again_after_attaching_again() {
        // A stage fails; the stream breaks (the coordinator restarted); the build is watched
        // again, from its first event, to its end.
        let fake = Scripted::new(|attempt| match attempt {
            0 => vec![
                stage_message(1, StageState::Failed),
                Err(Status::unavailable("restarting")),
            ],
            _ => vec![
                stage_message(1, StageState::Failed),
                Ok(BuildEvents {
                    build_id: "b1".into(),
                    events: vec![BuildEvent {
                        seq: 2,
                        time_ms: 2,
                        event: Some(build_event::Event::Finished(
                            conveyor_proto::v1::BuildFinished {
                                status: BuildStatus::Cancelled as i32,
                                message: String::new(),
                            },
                        )),
                    }],
                }),
            ],
        });
        let (mut client, server) = fake.serve().await;
        let outcome = watch(&mut client, "b1", Output::Json, false)
            .await
            .unwrap_or_else(|f| panic!("the watch ends with the build: {}", f.message));
        assert_eq!(outcome.status, BuildStatus::Cancelled as i32);
        assert_eq!(
            outcome.failure.as_deref(),
            Some("Stage `install` of `app` failed: exit status 1")
        );
        assert_eq!(fake.watches.load(Ordering::SeqCst), 2);
        assert_eq!(
            fake.cancels.load(Ordering::SeqCst),
            2,
            "cancelled at the failure, and again once attached to the restarted coordinator"
        );
        server.abort();
    }

    #[tokio::test]
    async fn a_stream_that_always_breaks_at_the_same_place_is_given_up() {
        let fake = Scripted::new(|_| {
            vec![
                stage_message(1, StageState::Queued),
                Err(Status::resource_exhausted("message too large")),
            ]
        });
        let (mut client, server) = fake.serve().await;
        let outcome = watch(&mut client, "b1", Output::Json, false).await;
        let Err(failure) = outcome else {
            panic!("the watch gave up with an error")
        };
        assert!(matches!(failure.kind, crate::exit::Kind::Environment));
        let text = failure.message;
        assert!(
            text.contains("broke off at the same place") && text.contains("message too large"),
            "{text}"
        );
        assert_eq!(
            fake.watches.load(Ordering::SeqCst),
            MAX_STUCK as usize + 1,
            "the first watch, then one re-attachment per break at the same place"
        );
        server.abort();
    }
}
