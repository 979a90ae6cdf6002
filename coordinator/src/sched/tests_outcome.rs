//! Exact-order tests of what ends a dispatch or a build: lease expiry and heartbeats,
//! failures and their propagation, disconnection, cancellation, results for unknown leases,
//! unknown ids and refused builds.

use super::tests::*;
use super::*;

#[test]
fn lease_expiry_requeues_and_heartbeat_extends() {
    let mut s = sched();
    worker(&mut s, "w1", 1);
    worker(&mut s, "w2", 1);
    s.add_build("x", vec![st("a", &[])], 0).unwrap();
    let a = s.next_ready("w1", 0).unwrap();
    assert_eq!(a.deadline, 100);
    assert!(s.heartbeat(a.lease, 80));
    assert_eq!(s.lease(a.lease).map(|l| l.deadline), Some(180));
    assert!(s.heartbeat(a.lease, 10), "an old heartbeat is accepted");
    assert_eq!(
        s.lease(a.lease).map(|l| l.deadline),
        Some(180),
        "never shortened"
    );
    assert_eq!(s.expire(179), vec![]);
    assert_eq!(s.expire(180), vec![requeued("a", "lease expired", 2)]);
    assert!(!s.heartbeat(a.lease, 181));
    assert_eq!(s.complete(a.lease, 181), vec![], "expired lease is unknown");
    let b = s.next_ready("w2", 181).unwrap();
    assert_eq!((&*b.signature, b.attempt), ("a", 2));
    assert_eq!(
        s.complete(b.lease, 182),
        vec![done("x", "a", Built), finished("x", BuildStatus::Succeeded)]
    );
}

#[test]
fn max_attempts_then_failure_propagates_and_others_go_on() {
    let mut s = sched();
    worker(&mut s, "w1", 1);
    s.add_build(
        "x",
        vec![
            pull("a"),
            st("b", &["a"]),
            st("c", &["b"]),
            cost(st("d", &[]), 1),
        ],
        0,
    )
    .unwrap();
    s.add_build("y", vec![pull("a"), st("e", &["a"])], 0)
        .unwrap();
    let (sig, l) = take(&mut s, "w1", 0);
    assert_eq!(sig, "a");
    assert_eq!(s.fail(l, 1, "oom", true), vec![requeued("a", "oom", 2)]);
    let (sig, l) = take(&mut s, "w1", 2);
    assert_eq!(sig, "a");
    let why = "failed after 2 attempts: oom; timeout";
    let dep = "dependency failed: a";
    assert_eq!(
        s.fail(l, 3, "timeout", true),
        vec![
            failed("x", "a", why),
            failed("x", "b", dep),
            failed("x", "c", dep),
            failed("y", "a", why),
            failed("y", "e", dep),
            finished("y", BuildStatus::Failed),
        ]
    );
    assert_eq!(
        s.signature_state("a"),
        Some(SignatureState::Failed { reason: why.into() })
    );
    assert_eq!(s.signature_state("b"), Some(SignatureState::Dropped));
    assert_eq!(s.active_builds(), ["x"]);
    let (sig, l) = take(&mut s, "w1", 4);
    assert_eq!(sig, "d", "keep going");
    assert_eq!(
        s.complete(l, 5),
        vec![done("x", "d", Built), finished("x", BuildStatus::Failed)]
    );
    // A later build queues the failed signature afresh.
    let ev = s.add_build("z", vec![pull("a")], 6).unwrap();
    assert_eq!(ev, vec![queued("z", "a")]);
    assert_eq!(s.next_ready("w1", 6).map(|a| a.attempt), Some(1));
}

#[test]
fn non_retryable_failure_fails_at_once() {
    let mut s = sched();
    worker(&mut s, "w1", 1);
    s.add_build("x", vec![st("a", &[]), st("b", &["a"])], 0)
        .unwrap();
    let (_, l) = take(&mut s, "w1", 0);
    assert_eq!(
        s.fail(l, 1, "exit 2", false),
        vec![
            failed("x", "a", "exit 2"),
            failed("x", "b", "dependency failed: a"),
            finished("x", BuildStatus::Failed)
        ]
    );
    assert_eq!(s.queued_count(), 0);
    assert_eq!(s.fail(l, 2, "again", false), vec![], "lease already ended");
}

#[test]
fn disconnect_requeues_running_tasks() {
    let mut s = sched();
    worker(&mut s, "w1", 2);
    worker(&mut s, "w2", 1);
    s.add_build("x", vec![st("a", &[]), st("b", &[])], 0)
        .unwrap();
    take(&mut s, "w1", 0);
    take(&mut s, "w1", 0);
    assert_eq!(
        s.worker_disconnected("w1", 5),
        vec![
            requeued("a", "worker w1 disconnected", 2),
            requeued("b", "worker w1 disconnected", 2)
        ]
    );
    assert!(s.running_leases().is_empty());
    assert_eq!(s.workers(), ["w2"]);
    let a = s.next_ready("w2", 6).unwrap();
    assert_eq!((&*a.signature, a.attempt), ("a", 2));
    // Out of attempts on the next disconnect.
    assert_eq!(
        s.worker_disconnected("w2", 7),
        vec![failed(
            "x",
            "a",
            "failed after 2 attempts: worker w1 disconnected; worker w2 disconnected"
        )]
    );
    assert_eq!(s.active_builds(), ["x"], "b is still queued");
}

#[test]
fn cancel_drops_only_what_no_other_build_needs() {
    let mut s = sched();
    worker(&mut s, "w1", 3);
    s.add_build("x", vec![pull("a"), st("b", &["a"]), st("only_x", &[])], 0)
        .unwrap();
    s.add_build("y", vec![pull("a"), st("c", &["a"])], 0)
        .unwrap();
    let (sig, la) = take(&mut s, "w1", 1);
    assert_eq!(sig, "a");
    let (sig, lx) = take(&mut s, "w1", 1);
    assert_eq!(sig, "only_x");
    assert_eq!(
        s.cancel("x", 2),
        vec![
            Event::CancelTask {
                worker: "w1".into(),
                lease: lx
            },
            finished("x", BuildStatus::Cancelled)
        ]
    );
    assert_eq!(s.signature_state("b"), Some(SignatureState::Dropped));
    assert_eq!(s.signature_state("only_x"), Some(SignatureState::Dropped));
    assert!(matches!(
        s.signature_state("a"),
        Some(SignatureState::Running { .. })
    ));
    assert_eq!(s.complete(lx, 3), vec![], "cancelled lease is unknown");
    // y inherits ownership of a.
    assert_eq!(s.complete(la, 3), vec![done("y", "a", Built)]);
    assert_eq!(take(&mut s, "w1", 4).0, "c");
    assert_eq!(s.next_ready("w1", 4), None, "b was dropped");
    assert_eq!(s.cancel("x", 5), vec![], "already ended");
    let ev = s.cancel("y", 5);
    assert!(matches!(ev[0], Event::CancelTask { .. }));
    assert_eq!(ev[1], finished("y", BuildStatus::Cancelled));
    assert_eq!(s.queued_count(), 0);
    assert!(s.running_leases().is_empty());
}

#[test]
fn complete_signature_for_an_unknown_lease() {
    let mut s = sched();
    worker(&mut s, "w1", 1);
    worker(&mut s, "w2", 1);
    s.add_build("x", vec![st("a", &[]), st("b", &["a"]), st("c", &["b"])], 0)
        .unwrap();
    let (_, la) = take(&mut s, "w1", 0);
    assert_eq!(
        s.complete_signature("a", "w2", 1),
        vec![
            Event::CancelTask {
                worker: "w1".into(),
                lease: la
            },
            done("x", "a", Built)
        ]
    );
    assert_eq!(s.complete_signature("a", "w2", 2), vec![], "already done");
    assert_eq!(s.complete_signature("nope", "w2", 2), vec![], "unknown");
    assert_eq!(s.complete(la, 2), vec![]);
    // w2 now holds a, so it takes b at once and w1 may not.
    assert_eq!(s.next_ready("w1", 2), None);
    let (_, lb) = take(&mut s, "w2", 2);
    // Its own running signature: no CancelTask.
    assert_eq!(
        s.complete_signature("b", "w2", 3),
        vec![done("x", "b", Built)]
    );
    assert_eq!(s.complete(lb, 3), vec![]);
    // A queued one, from a worker that is gone.
    assert_eq!(
        s.complete_signature("c", "ghost", 4),
        vec![done("x", "c", Built), finished("x", BuildStatus::Succeeded)]
    );
}

#[test]
fn unknown_ids_are_harmless() {
    let mut s = sched();
    assert_eq!(s.complete(LeaseId(7), 0), vec![]);
    assert_eq!(s.fail(LeaseId(7), 0, "x", true), vec![]);
    assert!(!s.heartbeat(LeaseId(7), 0));
    assert_eq!(s.cancel("nope", 0), vec![]);
    assert_eq!(s.worker_disconnected("nope", 0), vec![]);
    assert_eq!(s.next_ready("nope", 0), None);
    assert_eq!(s.expire(u64::MAX), vec![]);
    assert_eq!(s.signature_state("nope"), None);
    assert_eq!(s.build_remaining("nope"), None);
    s.add_build("x", vec![st("a", &[])], 0).unwrap();
    worker(&mut s, "w", 0);
    assert_eq!(s.next_ready("w", 0), None, "no slots");
}

#[test]
fn bad_builds_are_refused_without_changes() {
    let mut s = sched();
    s.add_build("x", vec![st("a", &[])], 0).unwrap();
    assert_eq!(
        s.add_build("x", vec![], 0),
        Err(SchedError::DuplicateBuild("x".into()))
    );
    assert_eq!(
        s.add_build("y", vec![st("b", &["a"])], 0),
        Err(SchedError::UnknownDependency {
            stage: "b".into(),
            dep: "a".into()
        }),
        "a is queued but not done, and not in y"
    );
    assert_eq!(
        s.add_build("y", vec![st("p", &["q"]), st("q", &["p"]), st("r", &[])], 0),
        Err(SchedError::DependencyCycle {
            signature: "p".into()
        })
    );
    assert_eq!(
        s.add_build("y", vec![st("s", &["s"])], 0),
        Err(SchedError::DependencyCycle {
            signature: "s".into()
        })
    );
    assert_eq!(s.active_builds(), ["x"]);
    assert_eq!(s.signature_state("r"), None);
    assert_eq!(s.queued_count(), 1);
    // An empty build succeeds at once; duplicates within a build merge.
    assert_eq!(
        s.add_build("e", vec![], 0),
        Ok(vec![finished("e", BuildStatus::Succeeded)])
    );
    assert_eq!(
        s.add_build("d", vec![st("m", &[]), st("m", &[])], 0),
        Ok(vec![queued("d", "m")])
    );
}

#[test]
fn a_done_dependency_outside_the_build_is_accepted() {
    let mut s = sched();
    worker(&mut s, "w1", 1);
    s.add_build("x", vec![st("a", &[])], 0).unwrap();
    let (_, l) = take(&mut s, "w1", 0);
    s.complete(l, 1);
    assert_eq!(
        s.add_build("y", vec![st("b", &["a"])], 2),
        Ok(vec![queued("y", "b")])
    );
    assert_eq!(take(&mut s, "w1", 2).0, "b");
}

#[test]
fn a_later_build_raises_the_priority_of_a_queued_task() {
    let mut s = sched();
    worker(&mut s, "w1", 1);
    s.add_build("x", vec![st("a", &[]), cost(st("b", &[]), 3)], 0)
        .unwrap();
    s.add_build("y", vec![st("a", &[]), cost(st("long", &["a"]), 10)], 0)
        .unwrap();
    assert_eq!(take(&mut s, "w1", 0).0, "a", "a now leads a path of 11");
}
