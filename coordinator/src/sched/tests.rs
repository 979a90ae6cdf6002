//! Exact-order tests on small DAGs: every event of every call is compared in full.
//! Here: ordering, sharing, caching and locality; the helpers are shared with `tests_outcome`.

use super::*;

pub(super) fn cfg() -> Config {
    Config {
        lease_ttl_ms: 100,
        max_attempts: 2,
        locality_wait_ms: 50,
    }
}

pub(super) fn sched() -> Scheduler {
    Scheduler::new(cfg())
}

pub(super) fn st(sig: &str, deps: &[&str]) -> StageSpec {
    StageSpec::new(sig, deps.iter().map(|d| d.to_string()).collect())
}

pub(super) fn pull(sig: &str) -> StageSpec {
    StageSpec {
        kind: TaskKind::Pull,
        ..st(sig, &[])
    }
}

pub(super) fn cost(mut spec: StageSpec, cost: u64) -> StageSpec {
    spec.cost = cost;
    spec
}

pub(super) fn cached(mut spec: StageSpec) -> StageSpec {
    spec.cached = true;
    spec
}

pub(super) fn queued(b: &str, s: &str) -> Event {
    Event::StageQueued {
        build: b.into(),
        signature: s.into(),
    }
}

pub(super) fn cached_ev(b: &str, s: &str) -> Event {
    Event::StageCached {
        build: b.into(),
        signature: s.into(),
    }
}

pub(super) fn done(b: &str, s: &str, source: DoneSource) -> Event {
    Event::StageDone {
        build: b.into(),
        signature: s.into(),
        source,
    }
}

pub(super) fn failed(b: &str, s: &str, reason: &str) -> Event {
    Event::StageFailed {
        build: b.into(),
        signature: s.into(),
        reason: reason.into(),
    }
}

pub(super) fn finished(b: &str, status: BuildStatus) -> Event {
    Event::BuildFinished {
        build: b.into(),
        status,
    }
}

pub(super) fn requeued(s: &str, reason: &str, attempt: u32) -> Event {
    Event::TaskRequeued {
        signature: s.into(),
        reason: reason.into(),
        attempt,
    }
}

pub(super) fn worker(s: &mut Scheduler, id: &str, slots: u32) {
    s.worker_connected(id, slots, Vec::<String>::new(), 0);
}

/// Dispatches to `w` and returns (signature, lease).
pub(super) fn take(s: &mut Scheduler, w: &str, now: u64) -> (String, LeaseId) {
    let a = s.next_ready(w, now).expect("a ready task");
    (a.signature.to_string(), a.lease)
}

pub(super) use DoneSource::{Built, Shared};

#[test]
fn chain_runs_in_order() {
    let mut s = sched();
    worker(&mut s, "w1", 1);
    let ev = s
        .add_build("x", vec![pull("a"), st("b", &["a"]), st("c", &["b"])], 0)
        .unwrap();
    assert_eq!(
        ev,
        vec![queued("x", "a"), queued("x", "b"), queued("x", "c")]
    );
    assert_eq!(s.queued_count(), 3);
    let a = s.next_ready("w1", 1).unwrap();
    assert_eq!(
        (&*a.signature, a.kind, a.attempt, a.deadline),
        ("a", TaskKind::Pull, 1, 101)
    );
    assert_eq!(
        a.started_event(),
        Event::StageStarted {
            signature: "a".into(),
            worker: "w1".into(),
            lease: a.lease,
            attempt: 1
        }
    );
    assert_eq!(s.next_ready("w1", 1), None, "one slot");
    assert_eq!(s.complete(a.lease, 2), vec![done("x", "a", Built)]);
    let (sig, l) = take(&mut s, "w1", 3);
    assert_eq!(sig, "b");
    assert_eq!(s.complete(l, 4), vec![done("x", "b", Built)]);
    let (sig, l) = take(&mut s, "w1", 5);
    assert_eq!(sig, "c");
    assert_eq!(
        s.complete(l, 6),
        vec![done("x", "c", Built), finished("x", BuildStatus::Succeeded)]
    );
    assert!(s.active_builds().is_empty());
    assert_eq!(s.queued_count(), 0);
    assert_eq!(s.signature_state("c"), Some(SignatureState::Done));
}

#[test]
fn pruned_tasks_go_with_their_dependents_and_their_slots_are_reused() {
    let mut s = sched();
    worker(&mut s, "w1", 2);
    s.add_build("x", vec![pull("a"), st("b", &["a"]), st("c", &["b"])], 0)
        .unwrap();
    for now in 1..4 {
        let (_, l) = take(&mut s, "w1", now);
        s.complete(l, now);
    }
    // `y` shares `a` and waits on `d`, so `a` stays while `d` needs it.
    s.add_build("y", vec![cached(pull("a")), st("d", &["a"])], 4)
        .unwrap();
    assert_eq!(s.prune(["a", "b", "c", "d"]), 2, "b and c only");
    assert_eq!(s.signature_state("a"), Some(SignatureState::Done));
    assert_eq!(s.signature_state("b"), None);
    assert_eq!(s.signature_state("c"), None);
    assert_eq!(s.signature_state("d"), Some(SignatureState::Ready));
    let slots = s.tasks.len();
    let (sig, l) = take(&mut s, "w1", 5);
    assert_eq!(sig, "d");
    s.complete(l, 6);
    assert_eq!(s.prune(["a", "d"]), 2);
    assert!(s.by_sig.is_empty());
    // A new build makes its tasks afresh in the freed slots; a recorded stage comes back
    // cached and never runs.
    let ev = s
        .add_build("z", vec![cached(pull("a")), st("b", &["a"])], 7)
        .unwrap();
    assert_eq!(ev, vec![cached_ev("z", "a"), queued("z", "b")]);
    assert_eq!(s.tasks.len(), slots, "slots reused");
    let (sig, l) = take(&mut s, "w1", 8);
    assert_eq!(sig, "b");
    assert_eq!(
        s.complete(l, 9),
        vec![done("z", "b", Built), finished("z", BuildStatus::Succeeded)]
    );
}

#[test]
fn diamond_longest_path_first() {
    let mut s = sched();
    worker(&mut s, "w1", 2);
    let stages = vec![
        pull("a"),
        cost(st("b", &["a"]), 1),
        cost(st("c", &["a"]), 5),
        st("d", &["b", "c"]),
    ];
    s.add_build("x", stages, 0).unwrap();
    let (_, la) = take(&mut s, "w1", 0);
    assert_eq!(s.next_ready("w1", 0), None, "b and c wait for a");
    s.complete(la, 1);
    let (first, lc) = take(&mut s, "w1", 1);
    let (second, lb) = take(&mut s, "w1", 1);
    assert_eq!((first.as_str(), second.as_str()), ("c", "b"));
    assert_eq!(s.complete(lb, 2), vec![done("x", "b", Built)]);
    assert_eq!(s.ready_count(), 0, "d still waits for c");
    s.complete(lc, 3);
    let (d, ld) = take(&mut s, "w1", 3);
    assert_eq!(d, "d");
    assert_eq!(
        s.complete(ld, 4),
        vec![done("x", "d", Built), finished("x", BuildStatus::Succeeded)]
    );
}

#[test]
fn independent_chains_longest_first_ties_by_signature() {
    let mut s = sched();
    worker(&mut s, "w1", 10);
    let stages = vec![
        st("p", &[]),
        st("q", &["p"]),
        st("z", &[]),
        cost(st("y", &[]), 2),
        st("x", &[]),
    ];
    s.add_build("b", stages, 0).unwrap();
    let order: Vec<String> = (0..4).map(|_| take(&mut s, "w1", 0).0).collect();
    // p (2: p+q) ties y (2) and wins on signature; then x and z (1 each).
    assert_eq!(order, ["p", "y", "x", "z"]);
}

#[test]
fn pulls_come_before_builds_of_equal_or_lower_priority() {
    let mut s = sched();
    worker(&mut s, "w1", 10);
    s.add_build("old", vec![st("m", &[]), cost(st("big", &[]), 9)], 0)
        .unwrap();
    s.add_build("new", vec![pull("p"), st("n", &["p"])], 1)
        .unwrap();
    // big (9) > p (2, with n) = ... m (1) is lower: the pull goes before it.
    let order: Vec<String> = (0..3).map(|_| take(&mut s, "w1", 2).0).collect();
    assert_eq!(order, ["big", "p", "m"]);
    // Equal priority: the pull wins even against a smaller signature.
    let mut s = sched();
    worker(&mut s, "w1", 10);
    s.add_build("b", vec![st("a", &[]), pull("z")], 0).unwrap();
    assert_eq!(take(&mut s, "w1", 0).0, "z");
}

#[test]
fn two_builds_share_a_stage_that_runs_once() {
    let mut s = sched();
    worker(&mut s, "w1", 2);
    s.add_build("x", vec![pull("a"), st("b", &["a"])], 0)
        .unwrap();
    let (sig, la) = take(&mut s, "w1", 1);
    assert_eq!(sig, "a");
    let ev = s
        .add_build("y", vec![pull("a"), st("c", &["a"])], 2)
        .unwrap();
    assert_eq!(ev, vec![queued("y", "a"), queued("y", "c")]);
    assert_eq!(s.next_ready("w1", 2), None, "a is not dispatched twice");
    assert_eq!(
        s.complete(la, 3),
        vec![done("x", "a", Built), done("y", "a", Shared)]
    );
    let (first, l1) = take(&mut s, "w1", 4);
    let (second, l2) = take(&mut s, "w1", 4);
    assert_eq!((first.as_str(), second.as_str()), ("b", "c"));
    assert_eq!(
        s.complete(l2, 5),
        vec![done("y", "c", Built), finished("y", BuildStatus::Succeeded)]
    );
    assert_eq!(
        s.complete(l1, 5),
        vec![done("x", "b", Built), finished("x", BuildStatus::Succeeded)]
    );
    // A third build finds everything done.
    let ev = s
        .add_build("z", vec![pull("a"), st("b", &["a"])], 6)
        .unwrap();
    assert_eq!(
        ev,
        vec![
            cached_ev("z", "a"),
            cached_ev("z", "b"),
            finished("z", BuildStatus::Succeeded)
        ]
    );
}

#[test]
fn cached_stages_never_dispatch() {
    let mut s = sched();
    worker(&mut s, "w1", 4);
    let ev = s
        .add_build(
            "x",
            vec![cached(pull("a")), st("b", &["a"]), cached(st("c", &["b"]))],
            0,
        )
        .unwrap();
    assert_eq!(
        ev,
        vec![cached_ev("x", "a"), queued("x", "b"), cached_ev("x", "c")]
    );
    let (sig, lb) = take(&mut s, "w1", 0);
    assert_eq!(sig, "b");
    assert_eq!(s.next_ready("w1", 0), None);
    assert_eq!(
        s.complete(lb, 1),
        vec![done("x", "b", Built), finished("x", BuildStatus::Succeeded)]
    );
    let ev = s.add_build("all", vec![cached(st("k", &[]))], 2).unwrap();
    assert_eq!(
        ev,
        vec![
            cached_ev("all", "k"),
            finished("all", BuildStatus::Succeeded)
        ]
    );
    assert_eq!(s.next_ready("w1", 2), None);
}

#[test]
fn locality_keeps_a_task_for_the_holder_until_the_wait_ends() {
    let mut s = sched();
    worker(&mut s, "w1", 1);
    worker(&mut s, "w2", 1);
    s.add_build("x", vec![pull("a"), st("b", &["a"])], 0)
        .unwrap();
    let (_, la) = take(&mut s, "w1", 0);
    s.complete(la, 10); // b ready at 10, w1 holds a
    assert_eq!(s.next_ready("w2", 20), None, "kept for w1");
    assert_eq!(s.next_ready("w2", 59), None, "still kept");
    assert_eq!(take(&mut s, "w2", 60).0, "b", "wait over");

    // The holder asking takes it at once, even before a better non-local task.
    let mut s = sched();
    s.worker_connected("w1", 1, vec!["base".to_string()], 0);
    worker(&mut s, "w2", 1);
    s.add_build(
        "y",
        vec![
            cached(st("base", &[])),
            st("child", &["base"]),
            cost(st("other", &[]), 9),
        ],
        0,
    )
    .unwrap();
    assert_eq!(take(&mut s, "w1", 1).0, "child");
    assert_eq!(take(&mut s, "w2", 1).0, "other");
}

#[test]
fn a_pull_beats_a_local_task_of_equal_or_lower_priority() {
    let mut s = sched();
    s.worker_connected("w1", 3, vec!["base".to_string()], 0);
    let stages = vec![
        cached(st("base", &[])),
        cost(st("child", &["base"]), 2),
        st("grandchild", &["child"]),
        pull("p"),
        cost(st("after_p", &["p"]), 2),
        pull("q"),
    ];
    s.add_build("x", stages, 0).unwrap();
    // p (3) ties child (3) and wins; then child (local) beats q (1), then q.
    let order: Vec<String> = (0..3).map(|_| take(&mut s, "w1", 0).0).collect();
    assert_eq!(order, ["p", "child", "q"]);
}

#[test]
fn locality_does_not_wait_for_a_busy_holder() {
    let mut s = sched();
    s.worker_connected("w1", 1, vec!["base".to_string()], 0);
    worker(&mut s, "w2", 1);
    s.add_build(
        "x",
        vec![
            cached(st("base", &[])),
            st("child", &["base"]),
            st("busy", &[]),
        ],
        0,
    )
    .unwrap();
    // w2 skips `child` (kept for w1) and takes `busy`.
    assert_eq!(take(&mut s, "w2", 0).0, "busy");
    assert_eq!(s.next_ready("w2", 1), None, "no free slot");
    // A holder without a free slot keeps nothing.
    let mut s = sched();
    s.worker_connected("w1", 1, vec!["base".to_string()], 0);
    worker(&mut s, "w2", 1);
    s.add_build(
        "x",
        vec![cached(st("base", &[])), cost(st("other", &[]), 5)],
        0,
    )
    .unwrap();
    assert_eq!(take(&mut s, "w1", 0).0, "other");
    s.add_build(
        "y",
        vec![cached(st("base", &[])), st("child", &["base"])],
        1,
    )
    .unwrap();
    assert_eq!(take(&mut s, "w2", 1).0, "child", "w1 has no free slot");
}

#[test]
fn a_hundred_thousand_stages_stay_cheap() {
    // 1,000 images of 100 chained stages, over 100 shared pulls, all in one build.
    let mut stages = Vec::with_capacity(100_000);
    for p in 0..100 {
        stages.push(pull(&format!("p{p}")));
    }
    for i in 0..1_000 {
        let mut parent = format!("p{}", i % 100);
        for k in 0..99 {
            let sig = format!("i{i}s{k}");
            stages.push(st(&sig, &[&parent]));
            parent = sig;
        }
    }
    let mut s = sched();
    worker(&mut s, "w1", 8);
    let ev = s.add_build("big", stages, 0).unwrap();
    assert_eq!(ev.len(), 99_100);
    assert_eq!(s.queued_count(), 99_100);
    // The pulls lead the longest paths (10 chains of 99 each).
    let mut n = 0;
    while let Some(a) = s.next_ready("w1", 1) {
        assert_eq!(a.kind, TaskKind::Pull);
        s.complete(a.lease, 1);
        n += 1;
        if n == 100 {
            break;
        }
    }
    assert_eq!(s.ready_count(), 1_000);
    // Cancelled, the build leaves nothing in flight: every task can be pruned, in one pass
    // over the lists that name them.
    s.cancel("big", 2);
    let all: Vec<String> = s.by_sig.keys().map(|k| k.to_string()).collect();
    assert_eq!(s.prune(all.iter().map(String::as_str)), 99_100);
    assert!(s.by_sig.is_empty());
    assert!(
        std::mem::size_of::<Task>() <= 256,
        "{}",
        std::mem::size_of::<Task>()
    );
}

#[test]
fn a_forgotten_stage_is_queued_again_unless_a_dependent_counts_on_it() {
    let mut s = sched();
    worker(&mut s, "w1", 1);
    s.add_build("x", vec![st("a", &[]), st("b", &["a"])], 0)
        .unwrap();
    let (_, l) = take(&mut s, "w1", 0);
    s.complete(l, 1);
    // b waits no more for a, it is ready: a stays done.
    assert!(!s.forget("a"));
    let (_, l) = take(&mut s, "w1", 2);
    s.complete(l, 3);
    assert!(s.forget("a"));
    assert!(!s.forget("a"), "only a done stage is forgotten");
    assert!(!s.forget("unknown"));
    let ev = s
        .add_build("y", vec![st("a", &[]), cached(st("b", &["a"]))], 4)
        .unwrap();
    assert_eq!(ev, vec![queued("y", "a"), cached_ev("y", "b")]);
    assert_eq!(take(&mut s, "w1", 5).0, "a");
}
