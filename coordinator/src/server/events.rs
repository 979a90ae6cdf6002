//! A build's event log as the state task keeps it, and its watchers.
//!
//! An event is kept compact: a stage event holds the stage's shared [`StageInfo`] and the
//! worker's shared name, not copies of the image, stage, signature and worker strings. Every
//! stage of a build makes three or more events, and the state task, which every result and
//! dispatch waits for, makes them all; the protobuf [`BuildEvent`] (the copies) is made by
//! each watcher's gRPC stream, on its own task ([`Batches`]).
//!
//! A watcher's stream sends the events ready at the time in one message ([`BuildEvents`]): a
//! build's admission logs a queued event per stage, and a watcher attaching then used to cost
//! a gRPC message per stage on both ends, enough CPU to hold back the build's first waves of
//! dispatch on a small machine (measured with `conveyor-bench dispatch`: see the README's
//! Benchmarks).

use std::collections::{BTreeMap, VecDeque};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use conveyor_proto::v1::{
    build_event, BuildEvent, BuildEvents, BuildFinished, LogLine, StageEvent, StageState,
};
use prost::Message;
use tokio::sync::mpsc;
use tokio_stream::Stream;

use super::tasks::StageInfo;

/// How many events a watcher may fall behind before it is dropped.
const WATCHER_BUFFER: usize = 4096;

/// A stream of one build's events to one watcher.
pub type EventReceiver = mpsc::Receiver<Arc<Logged>>;

/// At most this many events go in one [`BuildEvents`] message...
const BATCH_EVENTS: usize = 128;
/// ...and no more bytes than this, unless one event alone is bigger (a long log line): a
/// message stays below gRPC's usual 4 MiB limit whenever its events would fit alone.
const BATCH_BYTES: usize = 256 * 1024;

/// One event of a build's log.
#[derive(Debug)]
pub struct Logged {
    /// 1 for the build's first event, then one more per event.
    pub seq: u64,
    pub time_ms: u64,
    what: What,
}

/// What an event says.
#[derive(Debug)]
pub(super) enum What {
    Stage(StageNote),
    Log(LogLine),
    Finished(BuildFinished),
}

/// A stage event: see [`StageEvent`], whose fields these are.
#[derive(Debug, Clone)]
pub(super) struct StageNote {
    pub signature: Arc<str>,
    /// `None` for a signature the build does not list (not expected: its image and stage
    /// names are then empty).
    pub info: Option<Arc<StageInfo>>,
    pub state: StageState,
    pub worker: Option<Arc<str>>,
    pub message: String,
    pub duration_ms: u64,
    /// A failure caused by Docker or the registry (see `StageEvent.environment`).
    pub environment: bool,
}

impl StageNote {
    /// A note with no worker, message or duration.
    pub fn new(signature: Arc<str>, info: Option<Arc<StageInfo>>, state: StageState) -> Self {
        StageNote {
            signature,
            info,
            state,
            worker: None,
            message: String::new(),
            duration_ms: 0,
            environment: false,
        }
    }

    fn to_message(&self) -> StageEvent {
        let (image, stage) = self
            .info
            .as_ref()
            .map(|i| (i.image.clone(), i.stage.clone()))
            .unwrap_or_default();
        StageEvent {
            image,
            stage,
            signature: self.signature.to_string(),
            state: self.state as i32,
            worker: self.worker.as_deref().unwrap_or_default().to_string(),
            message: self.message.clone(),
            duration_ms: self.duration_ms,
            environment: self.environment,
        }
    }
}

impl Logged {
    /// The protobuf message of this event.
    pub fn to_message(&self) -> BuildEvent {
        let event = match &self.what {
            What::Stage(note) => build_event::Event::Stage(note.to_message()),
            What::Log(line) => build_event::Event::Log(line.clone()),
            What::Finished(f) => build_event::Event::Finished(f.clone()),
        };
        BuildEvent {
            seq: self.seq,
            time_ms: self.time_ms,
            event: Some(event),
        }
    }
}

/// One watcher's gRPC stream of a build's events: each message holds the events waiting at
/// the time (up to [`BATCH_EVENTS`], and no more than [`BATCH_BYTES`] unless one event alone
/// is bigger), in order. It ends when the build's log closes it (after the last event) or
/// drops it (fallen behind).
pub struct Batches {
    rx: EventReceiver,
    build_id: String,
    /// Taken from the channel but left for the next message (the last one was full).
    held: VecDeque<Arc<Logged>>,
}

impl Batches {
    pub fn new(rx: EventReceiver, build_id: String) -> Batches {
        Batches {
            rx,
            build_id,
            held: VecDeque::new(),
        }
    }
}

impl Stream for Batches {
    type Item = BuildEvents;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<BuildEvents>> {
        let this = &mut *self;
        if this.held.len() < BATCH_EVENTS {
            let mut more = Vec::new();
            let room = BATCH_EVENTS - this.held.len();
            match this.rx.poll_recv_many(cx, &mut more, room) {
                // Nothing new: what is held (if anything) goes now.
                Poll::Pending if this.held.is_empty() => return Poll::Pending,
                // The channel closed: the stream ends after what is held.
                Poll::Ready(0) if this.held.is_empty() => return Poll::Ready(None),
                _ => this.held.extend(more),
            }
        }
        let mut events = Vec::with_capacity(this.held.len());
        let mut bytes = 0;
        while let Some(e) = this.held.pop_front() {
            let event = e.to_message();
            let size = event.encoded_len();
            if !events.is_empty() && bytes + size > BATCH_BYTES {
                // For the next message (an event bigger than the bound goes alone).
                this.held.push_front(e);
                break;
            }
            bytes += size;
            events.push(event);
        }
        Poll::Ready(Some(BuildEvents {
            build_id: this.build_id.clone(),
            events,
        }))
    }
}

/// A build's events so far and the watchers of those to come.
#[derive(Default)]
pub(super) struct Log {
    /// Shared: a new watcher's backlog is a cheap copy.
    events: Vec<Arc<Logged>>,
    watchers: Vec<mpsc::Sender<Arc<Logged>>>,
}

impl Log {
    /// A log with room for `n` events (a large build's log is not regrown while workers
    /// wait for the state task).
    pub fn with_capacity(n: usize) -> Log {
        Log {
            events: Vec::with_capacity(n),
            watchers: Vec::new(),
        }
    }

    /// Appends an event and sends it to the watchers. A watcher that has fallen
    /// [`WATCHER_BUFFER`] events behind is dropped (its stream ends; a client watches again
    /// from the last event it saw).
    pub fn push(&mut self, what: What, now: u64) {
        let e = Arc::new(Logged {
            seq: self.events.len() as u64 + 1,
            time_ms: now,
            what,
        });
        self.watchers.retain(|w| w.try_send(e.clone()).is_ok());
        self.events.push(e);
    }

    /// A new watcher: the events after `after` so far, then, if `live`, the events to come.
    pub fn watch(&mut self, after: u64, live: bool) -> EventReceiver {
        let start = self.events.partition_point(|e| e.seq <= after);
        let backlog = &self.events[start..];
        let (tx, rx) = mpsc::channel(backlog.len() + WATCHER_BUFFER);
        for e in backlog {
            let _ = tx.try_send(e.clone());
        }
        if live {
            self.watchers.push(tx);
        }
        rx
    }

    /// Ends every watcher's stream (after the build's last event).
    pub fn close(&mut self) {
        self.watchers.clear();
    }

    /// The last event of each stage, by signature.
    pub fn last_stage_events(&self) -> Vec<StageEvent> {
        let mut last: BTreeMap<&str, &StageNote> = BTreeMap::new();
        for e in &self.events {
            if let What::Stage(note) = &e.what {
                last.insert(&note.signature, note);
            }
        }
        last.into_values().map(StageNote::to_message).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio_stream::StreamExt;

    fn info() -> Arc<StageInfo> {
        Arc::new(StageInfo {
            image: "app".into(),
            stage: "install".into(),
            task: Default::default(),
            inputs: vec![],
            label: "app/install".into(),
            cost: None,
        })
    }

    #[tokio::test]
    async fn messages_carry_the_stage_names_and_the_build() {
        let mut log = Log::default();
        let mut note = StageNote::new("s1".into(), Some(info()), StageState::Built);
        note.worker = Some("w1".into());
        note.duration_ms = 7;
        log.push(What::Stage(note), 100);
        log.push(
            What::Finished(BuildFinished {
                status: 2,
                message: String::new(),
            }),
            101,
        );
        let mut stream = Batches::new(log.watch(0, false), "b1".into());
        let batch = stream.next().await.expect("one message");
        assert_eq!(batch.build_id, "b1");
        let [first, second] = &batch.events[..] else {
            panic!("both events in one message, got {:?}", batch.events);
        };
        assert_eq!((first.seq, first.time_ms), (1, 100));
        let Some(build_event::Event::Stage(s)) = &first.event else {
            panic!("a stage event, got {:?}", first.event);
        };
        assert_eq!(
            (s.image.as_str(), s.stage.as_str(), s.signature.as_str()),
            ("app", "install", "s1")
        );
        assert_eq!((s.worker.as_str(), s.duration_ms), ("w1", 7));
        assert_eq!(s.state, StageState::Built as i32);
        assert_eq!(second.seq, 2);
        assert!(matches!(
            second.event,
            Some(build_event::Event::Finished(_))
        ));
        assert!(stream.next().await.is_none(), "not live: the stream ends");
    }

    #[tokio::test]
    async fn a_backlog_goes_out_in_order_in_bounded_messages() {
        let mut log = Log::default();
        let n = BATCH_EVENTS * 2 + 5;
        for i in 0..n {
            log.push(
                What::Stage(StageNote::new(
                    format!("s{i}").into(),
                    None,
                    StageState::Queued,
                )),
                1,
            );
        }
        // Two long log lines: the byte bound splits them.
        for _ in 0..2 {
            log.push(
                What::Log(LogLine {
                    line: "x".repeat(BATCH_BYTES),
                    ..LogLine::default()
                }),
                2,
            );
        }
        let batches: Vec<BuildEvents> = Batches::new(log.watch(0, false), "b".into())
            .collect()
            .await;
        let sizes: Vec<usize> = batches.iter().map(|b| b.events.len()).collect();
        assert_eq!(
            sizes,
            vec![BATCH_EVENTS, BATCH_EVENTS, 5, 1, 1],
            "two full messages; the rest, short of the byte bound; each long line alone"
        );
        let seqs: Vec<u64> = batches
            .iter()
            .flat_map(|b| &b.events)
            .map(|e| e.seq)
            .collect();
        assert_eq!(seqs, (1..=n as u64 + 2).collect::<Vec<_>>());
    }

    #[test]
    fn a_watcher_gets_the_backlog_after_its_mark_then_live_events() {
        let mut log = Log::default();
        for state in [StageState::Queued, StageState::Started] {
            log.push(What::Stage(StageNote::new("s1".into(), None, state)), 1);
        }
        let mut rx = log.watch(1, true);
        log.push(
            What::Stage(StageNote::new("s1".into(), None, StageState::Built)),
            2,
        );
        let seqs: Vec<u64> = std::iter::from_fn(|| rx.try_recv().ok())
            .map(|e| e.seq)
            .collect();
        assert_eq!(seqs, vec![2, 3]);
        let last = log.last_stage_events();
        assert_eq!(last.len(), 1);
        assert_eq!(last[0].state, StageState::Built as i32);
        assert_eq!(last[0].image, "", "no info: no names");
    }
}
