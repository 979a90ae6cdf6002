//! Workers as the state task sees them: a name, a sender for its stream, and what happens
//! when it says hello, reports, or goes away; and dispatching ready stages to them.

use conveyor_proto::v1::{
    build_event, coordinator_message, worker_message, Assign, CancelTask, CoordinatorMessage,
    FailureClass, Hello, LogLine, WorkerMessage,
};

use super::state::State;
use super::WorkerSender;
use crate::sched::LeaseId;
use crate::store::{StageRecord, TaskRecord};

/// A stage result waiting for this turn's group commit.
pub struct Finished {
    record: StageRecord,
    lease: u64,
    worker: String,
    label: String,
}

/// A connected worker stream.
pub(super) struct Worker {
    pub name: String,
    pub out: WorkerSender,
}

impl State {
    /// A worker said hello: it replaces any older stream under the same name.
    pub fn hello(&mut self, hello: Hello, out: WorkerSender, now: u64) -> u64 {
        let old: Vec<u64> = self
            .workers
            .iter()
            .filter(|(_, w)| w.name == hello.name)
            .map(|(c, _)| *c)
            .collect();
        for conn in old {
            self.gone(conn, now);
        }
        let conn = self.next_conn;
        self.next_conn += 1;
        self.sched.worker_connected(
            &hello.name,
            hello.slots.max(1),
            hello.holds.iter().cloned(),
            now,
        );
        tracing::info!("worker {} connected ({} slots)", hello.name, hello.slots);
        self.workers.insert(
            conn,
            Worker {
                name: hello.name,
                out,
            },
        );
        conn
    }

    /// A worker's stream ended: its running tasks go back to the queue.
    pub fn gone(&mut self, conn: u64, now: u64) {
        let Some(worker) = self.workers.remove(&conn) else {
            return;
        };
        tracing::info!("worker {} disconnected", worker.name);
        self.leases.retain(|_, (c, _, _)| *c != conn);
        let events = self.sched.worker_disconnected(&worker.name, now);
        self.apply(events, now);
    }

    pub fn on_worker_message(&mut self, conn: u64, msg: WorkerMessage, now: u64) {
        let Some(name) = self.workers.get(&conn).map(|w| w.name.clone()) else {
            return;
        };
        match msg.msg {
            Some(worker_message::Msg::Heartbeat(h)) => {
                for lease in h.leases {
                    self.sched.heartbeat(LeaseId(lease), now);
                }
            }
            Some(worker_message::Msg::Log(log)) => {
                for build in self.builds_with(&log.signature) {
                    self.emit(
                        &build,
                        build_event::Event::Log(LogLine {
                            signature: log.signature.clone(),
                            worker: name.clone(),
                            line: log.line.clone(),
                            stderr: log.stderr,
                        }),
                        now,
                    );
                }
            }
            Some(worker_message::Msg::Result(r)) => {
                let Some(info) = self.stages.get(&r.signature) else {
                    tracing::warn!("worker {name} reported unknown stage {}", r.signature);
                    return;
                };
                // Recorded before the scheduler hears of it: a recorded stage is in the registry.
                let record = StageRecord {
                    signature: r.signature.clone(),
                    stage: info.stage.clone(),
                    reference: r.reference.clone(),
                    digest: r.digest.clone(),
                    size: r.size,
                    created_ms: now,
                    built_by: name.clone(),
                    duration_ms: r.duration_ms,
                    inputs: info.inputs.clone(),
                };
                let label = format!("{}/{}", info.image, info.stage);
                self.pending.push(Finished {
                    record,
                    lease: r.lease,
                    worker: name.clone(),
                    label,
                });
            }
            Some(worker_message::Msg::Failure(f)) => {
                if self.leases.remove(&f.lease).is_none() {
                    return;
                }
                let _ = self.store.delete_task(&f.signature);
                let retryable = f.class != FailureClass::Stage as i32;
                let events = self
                    .sched
                    .fail(LeaseId(f.lease), now, &f.message, retryable);
                self.apply(events, now);
            }
            Some(worker_message::Msg::Hello(_)) | None => {}
        }
    }

    /// Group commit: writes the results gathered so far with one synced write on the blocking
    /// pool, one write at a time (results arriving meanwhile wait for the next one). The
    /// scheduler hears of them when their records are durable (`recorded`), so a stage is
    /// recorded before anything depends on it, and the state task never waits on an fsync.
    pub fn flush_results(&mut self, _now: u64) {
        if self.writing || self.pending.is_empty() {
            return;
        }
        let Some(me) = self.me.upgrade() else { return };
        self.writing = true;
        let finished = std::mem::take(&mut self.pending);
        let store = self.store.clone();
        tokio::task::spawn_blocking(move || {
            let records: Vec<StageRecord> = finished.iter().map(|f| f.record.clone()).collect();
            let result = store.put_stages(&records).map_err(|e| e.to_string());
            let _ = me.blocking_send(super::Msg::Recorded { finished, result });
        });
    }

    /// Results whose records are durable: the scheduler may now release their dependents. If
    /// recording failed, their leases run out and the stages are built again.
    pub fn recorded(&mut self, finished: Vec<Finished>, result: Result<(), String>, now: u64) {
        self.writing = false;
        if let Err(e) = result {
            tracing::error!("recording {} stage results: {e}", finished.len());
            return;
        }
        for f in finished {
            let sig = f.record.signature;
            let _ = self.store.record_cost(&f.label, f.record.duration_ms);
            let _ = self.store.delete_task(&sig);
            self.last_run
                .insert(sig.clone(), (f.worker.clone(), f.record.duration_ms));
            let events = if self.leases.remove(&f.lease).is_some() {
                self.sched.complete(LeaseId(f.lease), now)
            } else {
                self.sched.complete_signature(&sig, &f.worker, now)
            };
            self.apply(events, now);
        }
    }

    /// Asks a worker to stop a lease no build needs any more.
    pub fn cancel_task(&mut self, worker: &str, lease: u64) {
        self.leases.remove(&lease);
        if let Some(w) = self.workers.values().find(|w| w.name == worker) {
            let _ = w.out.try_send(Ok(CoordinatorMessage {
                msg: Some(coordinator_message::Msg::Cancel(CancelTask {
                    lease,
                    reason: "no build needs this stage any more".into(),
                })),
            }));
        }
    }

    /// Hands ready stages to workers with free slots.
    pub fn dispatch(&mut self, now: u64) {
        let conns: Vec<u64> = self.workers.keys().copied().collect();
        let mut dead = vec![];
        for conn in conns {
            let Some(name) = self.workers.get(&conn).map(|w| w.name.clone()) else {
                continue;
            };
            while let Some(a) = self.sched.next_ready(&name, now) {
                let Some(task) = self.stages.get(&a.signature).map(|i| i.task.clone()) else {
                    continue;
                };
                let msg = CoordinatorMessage {
                    msg: Some(coordinator_message::Msg::Assign(Assign {
                        lease: a.lease.0,
                        deadline_ms: a.deadline,
                        task: Some(task),
                    })),
                };
                let sent = self
                    .workers
                    .get(&conn)
                    .is_some_and(|w| w.out.try_send(Ok(msg)).is_ok());
                self.leases
                    .insert(a.lease.0, (conn, a.signature.clone(), now));
                let _ = self.store.put_task(&TaskRecord {
                    signature: a.signature.clone(),
                    lease: a.lease.0,
                    worker: name.clone(),
                    attempt: a.attempt,
                    deadline_ms: a.deadline,
                });
                self.apply(vec![a.started_event()], now);
                if !sent {
                    dead.push(conn);
                    break;
                }
            }
        }
        for conn in dead {
            self.gone(conn, now);
        }
    }
}
