//! Hand-made DAGs with makespans worked out by hand, and properties of generated ones.

use super::*;

/// Two independent images, then one built on each (the second also imports the first):
/// stages 0-1 (image 0), 2-3 (image 1), 4-5 (image 2 on 0), 6-7 (image 3 on 1, imports 0).
fn two_waves() -> Dag {
    let mut dag = Dag::default();
    dag.add_image(&[2, 3], None, &[]);
    dag.add_image(&[1, 4], None, &[]);
    dag.add_image(&[1, 2], Some(0), &[]);
    dag.add_image(&[1, 5], Some(1), &[0]);
    dag
}

/// A pull (stage 0) with a long build stage (1) after it, and three short pulls (2, 3, 4).
fn long_chain_and_pulls() -> Dag {
    let mut dag = Dag::default();
    dag.add_image(&[1, 10], None, &[]);
    for _ in 0..3 {
        dag.add_image(&[1], None, &[]);
    }
    dag
}

fn costs(dag: &Dag) -> Vec<u64> {
    dag.stages.iter().map(|s| s.cost).collect()
}

#[test]
fn add_image_chains_stages_and_wires_parents_and_imports() {
    let dag = two_waves();
    let deps: Vec<Vec<usize>> = dag.stages.iter().map(|s| s.deps.clone()).collect();
    assert_eq!(
        deps,
        [
            vec![],
            vec![0],
            vec![],
            vec![2],
            vec![1],
            vec![4],
            vec![3],
            vec![6, 1]
        ]
    );
    let pulls: Vec<bool> = dag.stages.iter().map(|s| s.pull).collect();
    assert_eq!(
        pulls,
        [true, false, true, false, false, false, false, false]
    );
    assert_eq!(dag.images[3].deps, [1, 0]);
    assert_eq!(dag.label(7), "img-3/beforeInstall");
}

#[test]
fn bound_is_the_larger_of_critical_path_and_spread_work() {
    let dag = two_waves();
    assert_eq!(dag.total_work(), 19);
    // 2 + 3 (image 0), then image 3's last stage waits for it and for image 1's 1 + 4 + 1.
    assert_eq!(dag.critical_path(), 11);
    assert_eq!(dag.bound(1), 19.0);
    assert_eq!(dag.bound(2), 11.0);
    assert_eq!(dag.bound(64), 11.0);
    let mut flat = Dag::default();
    for cost in [4, 4, 4] {
        flat.add_image(&[cost], None, &[]);
    }
    assert_eq!(flat.bound(2), 6.0);
}

#[test]
fn werf_like_runs_waves_one_after_another() {
    let dag = two_waves();
    let s = werf_like(&dag, 2);
    s.check(&dag, 2).unwrap();
    // Wave 0: image 0 (5) and image 1 (5) side by side; wave 1 from 5: image 3 takes 6.
    assert_eq!(s.makespan(&dag), 11);
    assert_eq!(s.start[6], 5);
    // One slot: everything in sequence.
    assert_eq!(werf_like(&dag, 1).makespan(&dag), 19);
}

#[test]
fn werf_like_splits_a_wave_into_static_blocks_over_at_most_five_slots() {
    let mut dag = Dag::default();
    for cost in [1, 1, 5] {
        dag.add_image(&[cost], None, &[]);
    }
    // Blocks [0] and [1, 2]: 1 and 1 + 5, where a list scheduler would take 5.
    let s = werf_like(&dag, 2);
    assert_eq!(s.makespan(&dag), 6);
    assert_eq!(s.worker, [0, 1, 1]);
    let mut seven = Dag::default();
    for _ in 0..7 {
        seven.add_image(&[1], None, &[]);
    }
    // 64 workers, 5 slots: blocks of 1, 1, 2, 1, 2 images.
    let s = werf_like(&seven, 64);
    s.check(&seven, 5).unwrap();
    assert_eq!(s.worker, [0, 1, 2, 2, 3, 4, 4]);
    assert_eq!(s.makespan(&seven), 2);
}

#[test]
fn fifo_dispatches_in_ready_order_whatever_the_costs() {
    let dag = long_chain_and_pulls();
    let s = fifo(&dag, 2);
    s.check(&dag, 2).unwrap();
    // t=0: stages 0 and 2; t=1: 3 and 4 were ready before 1; t=2: 1 runs until 12.
    assert_eq!(s.start, [0, 2, 0, 1, 1]);
    assert_eq!(s.worker, [0, 0, 1, 0, 1]);
    assert_eq!(s.makespan(&dag), 12);
    assert_eq!(fifo(&two_waves(), 2).makespan(&two_waves()), 11);
}

#[test]
fn conveyor_runs_the_longest_path_first() {
    let dag = long_chain_and_pulls();
    let run = conveyor(&dag, &costs(&dag), 2).unwrap();
    run.schedule.check(&dag, 2).unwrap();
    assert_eq!(run.schedule.start[1], 1);
    assert_eq!(run.schedule.makespan(&dag), 11);
    assert_eq!(dag.bound(2), 11.0);
}

#[test]
fn a_task_kept_for_a_busy_holder_goes_to_an_idle_worker_on_the_next_tick() {
    let mut dag = Dag::default();
    let p1 = dag.add_image(&[1_000], None, &[]);
    let p2 = dag.add_image(&[2_000], None, &[]);
    let p3 = dag.add_image(&[5_000], None, &[]);
    dag.add_image(&[3_000], Some(p2), &[]); // stage 3
    dag.add_image(&[3_000], Some(p2), &[]); // stage 4
    dag.add_image(&[20_000], Some(p1), &[p3]); // stage 5
    let run = conveyor(&dag, &costs(&dag), 3).unwrap();
    let s = &run.schedule;
    s.check(&dag, 3).unwrap();
    // By priority: p3 (25 s) on w0, p1 (21 s) on w1, p2 (5 s) on w2. At 2 s p2 is done: w1,
    // idle, is asked first, but both dependents are kept for w2, which holds p2 and is free;
    // w2 takes stage 3, and stage 4 waits for the server's next tick at 2.2 s.
    assert_eq!(s.worker[..3], [1, 2, 0]);
    assert_eq!((s.start[3], s.worker[3]), (2_000, 2));
    assert_eq!((s.start[4], s.worker[4]), (2_200, 1));
    assert_eq!(run.ticks, 1);
    assert_eq!(s.start[5], 5_000);
}

fn assert_valid(dag: &Dag, s: &Schedule, workers: usize) {
    for (i, stage) in dag.stages.iter().enumerate() {
        for &d in &stage.deps {
            assert!(
                s.start[i] >= s.start[d] + dag.stages[d].cost,
                "{i} after {d}"
            );
        }
    }
    for w in 0..workers {
        let mut spans: Vec<(u64, u64)> = (0..dag.stages.len())
            .filter(|&i| s.worker[i] == w)
            .map(|i| (s.start[i], s.start[i] + dag.stages[i].cost))
            .collect();
        spans.sort_unstable();
        assert!(spans.windows(2).all(|p| p[0].1 <= p[1].0), "overlap on {w}");
    }
    assert!(s.worker.iter().all(|&w| w < workers));
}

#[test]
fn conveyor_respects_dependencies_and_runs_one_stage_per_worker_at_a_time() {
    for shape in [Shape::Wide, Shape::Deep, Shape::Monorepo] {
        let dag = generate(shape, 400, 7);
        for workers in [1, 3, 16] {
            let run = conveyor(&dag, &costs(&dag), workers).unwrap();
            assert_valid(&dag, &run.schedule, workers);
            run.schedule.check(&dag, workers).unwrap();
            let makespan = run.schedule.makespan(&dag) as f64;
            assert!(makespan >= dag.bound(workers), "{shape:?} W={workers}");
            if workers == 1 {
                assert_eq!(makespan as u64, dag.total_work(), "one worker never idles");
            }
        }
    }
}

#[test]
fn check_rejects_overlaps_and_early_starts() {
    let dag = long_chain_and_pulls();
    let good = fifo(&dag, 2);
    let mut early = good.clone();
    early.start[1] = 0;
    early.worker[1] = 1;
    assert!(early
        .check(&dag, 2)
        .unwrap_err()
        .contains("before its dependency 0"));
    let mut overlap = good.clone();
    overlap.worker[2] = 0;
    assert!(overlap.check(&dag, 2).unwrap_err().contains("overlap"));
    assert!(good.check(&dag, 1).unwrap_err().contains("on worker 1"));
}

#[test]
fn generated_dags_are_deterministic_exact_in_size_and_dependencies_first() {
    for shape in [Shape::Wide, Shape::Deep, Shape::Monorepo] {
        let dag = generate(shape, 1_000, 3);
        assert_eq!(dag, generate(shape, 1_000, 3));
        assert_ne!(dag, generate(shape, 1_000, 4));
        assert_eq!(dag.stages.len(), 1_000);
        for (i, stage) in dag.stages.iter().enumerate() {
            assert!(stage.deps.iter().all(|&d| d < i));
            assert_eq!(stage.pull, stage.deps.is_empty());
            assert!(stage.cost >= 200 && stage.cost <= 1_800_000);
        }
        for image in &dag.images {
            assert!((1..=5).contains(&image.stages.len()));
        }
    }
}

#[test]
fn shapes_differ_as_described() {
    let depth = |dag: &Dag| {
        let mut level = vec![0usize; dag.images.len()];
        for (i, image) in dag.images.iter().enumerate() {
            level[i] = image.deps.iter().map(|&d| level[d] + 1).max().unwrap_or(0);
        }
        level.into_iter().max().unwrap_or(0)
    };
    let wide = generate(Shape::Wide, 1_000, 1);
    let deep = generate(Shape::Deep, 1_000, 1);
    let mono = generate(Shape::Monorepo, 1_000, 1);
    assert!(depth(&wide) <= 1);
    assert!(depth(&deep) >= 30, "{}", depth(&deep));
    // Services sit at most 4 deep on a base; each imports at least one of the 4 artifacts.
    assert!(depth(&mono) <= 4);
    assert!(mono.images[7..]
        .iter()
        .all(|i| i.deps.len() >= 2 && i.deps[1..].iter().all(|d| (3..7).contains(d))));
}

#[test]
fn estimates_are_the_costs_without_noise_and_off_by_about_sigma_with_it() {
    let dag = generate(Shape::Monorepo, 2_000, 5);
    assert_eq!(estimates(&dag, 0.0, 5), costs(&dag));
    let noisy = estimates(&dag, 0.5, 5);
    assert_eq!(noisy, estimates(&dag, 0.5, 5));
    let logs: Vec<f64> = noisy
        .iter()
        .zip(&dag.stages)
        .map(|(&e, s)| (e as f64 / s.cost as f64).ln())
        .collect();
    let mean = logs.iter().sum::<f64>() / logs.len() as f64;
    let sd = (logs.iter().map(|l| (l - mean).powi(2)).sum::<f64>() / logs.len() as f64).sqrt();
    assert!(mean.abs() < 0.05 && (sd - 0.5).abs() < 0.05, "{mean} {sd}");
}

#[test]
fn noisy_estimates_change_the_order_not_the_validity() {
    let dag = generate(Shape::Deep, 600, 2);
    let run = conveyor(&dag, &estimates(&dag, 1.0, 2), 4).unwrap();
    run.schedule.check(&dag, 4).unwrap();
    assert!(run.schedule.makespan(&dag) as f64 >= dag.bound(4));
}

#[test]
fn stat_is_median_min_max() {
    let s = Stat::of(&[3.0, 1.0, 2.0]);
    assert_eq!((s.median, s.min, s.max), (2.0, 1.0, 3.0));
    assert_eq!(Stat::of(&[4.0, 1.0, 2.0, 3.0]).median, 2.5);
}

#[test]
fn summary_takes_the_worst_cell_and_the_geometric_mean() {
    let cell = |ratio: f64, vs_werf: f64| Cell {
        shape: Shape::Wide,
        stages: 1,
        workers: 1,
        bound_s: Stat::of(&[1.0]),
        conveyor: Stat::of(&[ratio]),
        werf: Stat::of(&[1.0]),
        fifo: Stat::of(&[1.0]),
        vs_werf: Stat::of(&[vs_werf]),
        sched_ms: Stat::of(&[1.0]),
        ticks: Stat::of(&[0.0]),
    };
    let s = summarize(&[cell(1.01, 0.5), cell(1.04, 0.125), cell(1.02, 1.0)]);
    assert_eq!((s.max_ratio_to_bound, s.worst), (1.04, 1));
    assert!((s.geomean_ratio_to_werf - 0.25f64.powf(2.0 / 3.0) * 1.0).abs() < 1e-12);
}
