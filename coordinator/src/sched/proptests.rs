//! Property tests: random DAGs shared by several builds, random cached flags, and random
//! interleavings of every operation. After each step the scheduler's internal invariants
//! hold (see `check`), and across the run:
//! - a task is dispatched only when all its dependencies are done;
//! - a signature never runs twice at the same time;
//! - a cached signature never dispatches; a done signature never dispatches again;
//! - workers never run more tasks than they have slots;
//! - each build resolves each of its stages at most once and, once workers keep taking work
//!   and time advances, every build ends exactly once;
//! - pruning the signatures no active build uses never removes a task something still needs,
//!   and a pruned stage that was done comes back cached (as the store's record makes it).

use std::collections::{BTreeMap, BTreeSet, HashSet};

use proptest::prelude::*;

use super::*;

#[derive(Debug, Clone)]
struct Universe {
    /// Per signature: dependencies (lower indices), cost, cached, pull.
    stages: Vec<(Vec<usize>, u64, bool, bool)>,
    /// Builds: target indices (closed over dependencies when added).
    builds: Vec<Vec<usize>>,
}

#[derive(Debug, Clone)]
enum Op {
    Add(usize),
    Next(usize),
    Complete(usize),
    Fail(usize, bool),
    Expire,
    Advance(u64),
    Disconnect(usize),
    Connect(usize, u32, Vec<usize>),
    Heartbeat(usize),
    Cancel(usize),
    CompleteSig(usize, usize),
    Prune(Vec<usize>),
    Unknown,
}

fn universe() -> impl Strategy<Value = Universe> {
    (2usize..10).prop_flat_map(|n| {
        let stage = (
            proptest::option::of(any::<prop::sample::Index>()),
            proptest::option::of(any::<prop::sample::Index>()),
            1u64..6,
            prop::bool::weighted(0.2),
            any::<bool>(),
        );
        let stages = prop::collection::vec(stage, n).prop_map(|raw| {
            raw.into_iter()
                .enumerate()
                .map(|(i, (p, q, cost, cached, pull))| {
                    let mut deps: Vec<usize> = Vec::new();
                    if i > 0 {
                        deps.extend(p.map(|x| x.index(i)));
                        deps.extend(q.map(|x| x.index(i)));
                        deps.dedup();
                    }
                    let pull = pull && deps.is_empty();
                    (deps, cost, cached, pull)
                })
                .collect::<Vec<_>>()
        });
        let builds = prop::collection::vec(prop::collection::vec(0..n, 1..4), 1..4);
        (stages, builds).prop_map(|(stages, builds)| Universe { stages, builds })
    })
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        2 => (0usize..4).prop_map(Op::Add),
        6 => (0usize..3).prop_map(Op::Next),
        4 => (0usize..4).prop_map(Op::Complete),
        2 => ((0usize..4), any::<bool>()).prop_map(|(i, r)| Op::Fail(i, r)),
        1 => Just(Op::Expire),
        2 => (0u64..150).prop_map(Op::Advance),
        1 => (0usize..3).prop_map(Op::Disconnect),
        1 => ((0usize..3), (0u32..3), prop::collection::vec(0usize..10, 0..3))
            .prop_map(|(w, s, h)| Op::Connect(w, s, h)),
        1 => (0usize..4).prop_map(Op::Heartbeat),
        1 => (0usize..6).prop_map(Op::Cancel),
        1 => ((0usize..10), (0usize..3)).prop_map(|(s, w)| Op::CompleteSig(s, w)),
        2 => prop::collection::vec(0usize..10, 0..10).prop_map(Op::Prune),
        1 => Just(Op::Unknown),
    ]
}

fn sig(i: usize) -> String {
    format!("s{i}")
}

/// Every stage of template `k`, dependencies closed, in index order (dependencies first).
fn closure(u: &Universe, k: usize) -> Vec<usize> {
    let mut seen = BTreeSet::new();
    let mut stack: Vec<usize> = u.builds[k % u.builds.len()].clone();
    while let Some(i) = stack.pop() {
        if seen.insert(i) {
            stack.extend(u.stages[i].0.iter().copied());
        }
    }
    seen.into_iter().collect()
}

struct Harness {
    s: Scheduler,
    u: Universe,
    now: u64,
    added: Vec<(String, Vec<usize>)>,
    finished: BTreeMap<String, BuildStatus>,
    resolved: HashSet<(String, String)>,
    done_seen: HashSet<String>,
    slots: BTreeMap<String, u32>,
}

impl Harness {
    fn observe(&mut self, events: Vec<Event>) {
        for e in events {
            match e {
                Event::StageDone {
                    build, signature, ..
                }
                | Event::StageCached { build, signature }
                | Event::StageFailed {
                    build, signature, ..
                } => {
                    assert!(!self.finished.contains_key(&*build), "event after end");
                    assert!(
                        self.resolved
                            .insert((build.to_string(), signature.to_string())),
                        "{build} resolved {signature} twice"
                    );
                }
                Event::BuildFinished { build, status } => {
                    assert!(
                        self.finished.insert(build.to_string(), status).is_none(),
                        "ended twice"
                    );
                }
                _ => {}
            }
        }
        self.s.check();
        for i in 0..self.u.stages.len() {
            if self.s.signature_state(&sig(i)) == Some(SignatureState::Done) {
                self.done_seen.insert(sig(i));
            }
        }
    }

    fn dispatch(&mut self, w: &str) {
        let running: HashSet<String> = self
            .s
            .running_leases()
            .into_iter()
            .map(|l| l.signature)
            .collect();
        let Some(a) = self.s.next_ready(w, self.now) else {
            return;
        };
        let i: usize = a.signature[1..].parse().unwrap();
        assert!(
            !running.contains(&*a.signature),
            "{} runs twice",
            a.signature
        );
        assert!(!self.u.stages[i].2, "cached {} dispatched", a.signature);
        assert!(
            !self.done_seen.contains(&*a.signature),
            "done {} again",
            a.signature
        );
        for &d in &self.u.stages[i].0 {
            assert_eq!(self.s.signature_state(&sig(d)), Some(SignatureState::Done));
        }
        let on_w = self
            .s
            .running_leases()
            .iter()
            .filter(|l| l.worker == w)
            .count();
        assert!(
            on_w <= self.slots.get(w).copied().unwrap_or(0) as usize,
            "{w} over slots"
        );
        self.observe(Vec::new());
    }

    fn lease(&self, i: usize) -> Option<LeaseId> {
        let leases = self.s.running_leases();
        if leases.is_empty() {
            None
        } else {
            Some(leases[i % leases.len()].lease)
        }
    }

    fn apply(&mut self, op: Op) {
        let ev = match op {
            Op::Add(k) => {
                let id = format!("b{}", self.added.len());
                let stages = closure(&self.u, k);
                let specs = stages
                    .iter()
                    .map(|&i| {
                        let (deps, cost, cached, pull) = &self.u.stages[i];
                        StageSpec {
                            signature: sig(i),
                            deps: deps.iter().map(|&d| sig(d)).collect(),
                            cached: *cached,
                            cost: *cost,
                            kind: if *pull {
                                TaskKind::Pull
                            } else {
                                TaskKind::Build
                            },
                            label: String::new(),
                        }
                    })
                    .collect();
                self.added.push((id.clone(), stages));
                self.s.add_build(&id, specs, self.now).unwrap()
            }
            Op::Next(w) => {
                self.dispatch(&format!("w{w}"));
                vec![]
            }
            Op::Complete(i) => match self.lease(i) {
                Some(l) => self.s.complete(l, self.now),
                None => vec![],
            },
            Op::Fail(i, r) => match self.lease(i) {
                Some(l) => self.s.fail(l, self.now, "boom", r),
                None => vec![],
            },
            Op::Expire => self.s.expire(self.now),
            Op::Advance(dt) => {
                self.now += dt;
                vec![]
            }
            Op::Disconnect(w) => self.s.worker_disconnected(&format!("w{w}"), self.now),
            Op::Connect(w, slots, holds) => {
                let holds = holds.into_iter().map(sig);
                self.s
                    .worker_connected(&format!("w{w}"), slots, holds, self.now);
                self.slots.insert(format!("w{w}"), slots);
                vec![]
            }
            Op::Heartbeat(i) => {
                if let Some(l) = self.lease(i) {
                    assert!(self.s.heartbeat(l, self.now));
                }
                vec![]
            }
            Op::Cancel(k) => match self.added.get(k) {
                Some((id, _)) => {
                    let id = id.clone();
                    self.s.cancel(&id, self.now)
                }
                None => vec![],
            },
            Op::CompleteSig(i, w) => self
                .s
                .complete_signature(&sig(i), &format!("w{w}"), self.now),
            Op::Prune(asked) => {
                // Asked for any signatures, those active builds use too: the scheduler must
                // keep what they need.
                let active: BTreeSet<usize> = self
                    .added
                    .iter()
                    .filter(|(id, _)| !self.finished.contains_key(id))
                    .flat_map(|(_, stages)| stages.iter().copied())
                    .collect();
                let unused: Vec<usize> = (0..self.u.stages.len())
                    .filter(|i| asked.contains(i))
                    .collect();
                let before: Vec<Option<SignatureState>> = unused
                    .iter()
                    .map(|&i| self.s.signature_state(&sig(i)))
                    .collect();
                let names: Vec<String> = unused.iter().map(|&i| sig(i)).collect();
                let n = self.s.prune(names.iter().map(String::as_str));
                let mut gone = 0;
                for (&i, was) in unused.iter().zip(before) {
                    let now = self.s.signature_state(&sig(i));
                    assert!(now.is_none() || now == was, "{} changed", sig(i));
                    if was.is_some() && now.is_none() {
                        assert!(!active.contains(&i), "{} pruned while in use", sig(i));
                        gone += 1;
                        // Recorded in the store: a later build finds it cached.
                        if was == Some(SignatureState::Done) {
                            self.u.stages[i].2 = true;
                        }
                    }
                }
                assert_eq!(n, gone);
                vec![]
            }
            Op::Unknown => {
                let mut ev = self.s.complete(LeaseId(u64::MAX), self.now);
                ev.extend(self.s.fail(LeaseId(0), self.now, "x", false));
                ev.extend(self.s.cancel("none", self.now));
                ev
            }
        };
        self.observe(ev);
    }

    /// Workers keep taking and completing work, time advances: every build must end.
    fn drain(&mut self) {
        self.s.worker_connected("drain", 4, Vec::new(), self.now);
        self.slots.insert("drain".into(), 4);
        for _ in 0..500 {
            if self.s.active_builds().is_empty() {
                break;
            }
            self.now += 1_000;
            let ev = self.s.expire(self.now);
            self.observe(ev);
            for w in ["w0", "w1", "w2", "drain"] {
                for _ in 0..4 {
                    self.dispatch(w);
                }
            }
            for l in self.s.running_leases() {
                let ev = self.s.complete(l.lease, self.now);
                self.observe(ev);
            }
        }
        assert!(self.s.active_builds().is_empty(), "builds never ended");
        for (id, stages) in &self.added {
            let status = self.finished.get(id);
            assert!(status.is_some(), "{id} never finished");
            if status == Some(&BuildStatus::Succeeded) {
                for &i in stages {
                    assert!(self.resolved.contains(&(id.clone(), sig(i))), "{id} {i}");
                    // Done, or pruned since and recorded (cached) in the universe.
                    match self.s.signature_state(&sig(i)) {
                        None => assert!(self.u.stages[i].2, "{i} pruned unrecorded"),
                        state => assert_eq!(state, Some(SignatureState::Done)),
                    }
                }
            }
        }
        assert_eq!(self.s.queued_count(), 0);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn random_interleavings_keep_the_invariants(
        u in universe(),
        ops in prop::collection::vec(op(), 0..80),
    ) {
        let mut s = Scheduler::new(Config { lease_ttl_ms: 100, max_attempts: 3, locality_wait_ms: 30 });
        for w in 0..3 {
            s.worker_connected(&format!("w{w}"), 1 + (w as u32 % 2), Vec::new(), 0);
        }
        let mut h = Harness {
            s,
            u,
            now: 0,
            added: Vec::new(),
            finished: BTreeMap::new(),
            resolved: HashSet::new(),
            done_seen: HashSet::new(),
            slots: (0..3).map(|w| (format!("w{w}"), 1 + (w as u32 % 2))).collect(),
        };
        for op in ops {
            h.apply(op);
        }
        h.drain();
    }
}

impl Scheduler {
    /// Panics if an internal invariant (see the module docs of `sched`) is broken.
    fn check(&self) {
        let mut waiting = 0;
        let mut ready = BTreeSet::new();
        let mut remaining: BTreeMap<usize, usize> = BTreeMap::new();
        let free: BTreeSet<usize> = self.free.iter().copied().collect();
        assert_eq!(free.len(), self.free.len(), "a slot freed twice");
        for (t, task) in self.tasks.iter().enumerate() {
            assert_eq!(
                task.sig.is_empty(),
                free.contains(&t),
                "slot {t}: vacant iff free"
            );
            if task.sig.is_empty() {
                continue;
            }
            assert_eq!(self.by_sig.get(&task.sig), Some(&t), "{}: by_sig", task.sig);
            for &d in task.deps.iter().chain(&task.dependents) {
                assert!(!free.contains(&d), "{} refers to a pruned task", task.sig);
            }
            let pending = matches!(
                task.state,
                State::Waiting | State::Ready | State::Running(_)
            );
            assert_eq!(pending, !task.waiters.is_empty(), "{}: waiters", task.sig);
            assert_eq!(task.owner.is_some(), pending, "{}: owner", task.sig);
            if let Some(o) = task.owner {
                assert!(task.waiters.contains(&o));
            }
            for &b in &task.waiters {
                *remaining.entry(b).or_default() += 1;
            }
            let not_done = task
                .deps
                .iter()
                .filter(|&&d| self.tasks[d].state != State::Done)
                .count();
            match &task.state {
                State::Waiting => {
                    waiting += 1;
                    assert_eq!(task.pending, not_done, "{}: pending", task.sig);
                    assert!(not_done > 0);
                }
                State::Ready => {
                    assert_eq!(not_done, 0);
                    let key = self.key(t);
                    ready.insert(key.clone());
                    for &d in task.deps.iter() {
                        for &h in &self.tasks[d].holders {
                            assert!(self.workers.get(h).unwrap().local.contains(&key));
                        }
                    }
                }
                State::Running(lease) => {
                    let l = self.leases.get(lease).expect("running task has a lease");
                    assert_eq!(l.task, t);
                    assert!(self.workers.get(l.worker).unwrap().running.contains(lease));
                }
                _ => {}
            }
        }
        assert_eq!(self.by_sig.len() + free.len(), self.tasks.len());
        let mut listed = vec![0u32; self.tasks.len()];
        for build in self.builds.items.iter().flatten() {
            for &t in &build.stages {
                assert!(!free.contains(&t), "{} lists a pruned task", build.id);
                listed[t] += 1;
            }
        }
        for (t, task) in self.tasks.iter().enumerate() {
            assert_eq!(task.listed, listed[t], "{}: listed", task.sig);
        }
        assert_eq!(waiting, self.waiting);
        assert_eq!(ready, self.ready);
        for (_, w) in self.worker_ids.iter() {
            let worker = self.workers.get(*w).unwrap();
            assert!(worker.local.iter().all(|k| self.ready.contains(k)));
        }
        for (b, build) in self.builds.items.iter().enumerate() {
            if let Some(build) = build {
                assert_eq!(
                    build.remaining,
                    remaining.get(&b).copied().unwrap_or(0),
                    "{}",
                    build.id
                );
                assert!(build.remaining > 0, "finished build {} kept", build.id);
            }
        }
        assert_eq!(
            self.builds.items.iter().flatten().count(),
            self.build_ids.len()
        );
    }
}
