//! `conveyor-bench`: benchmarks that print a table for people and, with `--json`, one JSON
//! object as the last line for tools.
//!
//! - `gen`: write a synthetic monorepo (werf.yaml + partials) to a directory.
//! - `plan`: render + parse + plan time (median, min, max of `--runs`) and peak RSS for
//!   synthetic monorepos of the given sizes. Each size runs in a child process of this binary,
//!   so its peak RSS is its own.
//! - `sim`: the real scheduling core in a simulated cluster (virtual time) against the lower
//!   bound, a werf-like policy and FIFO; writes `bench/results/sim.{md,json}` and charts.

use std::collections::BTreeMap;

/// The same allocator as the `conveyor` binary, so the front end is measured as users run it.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use clap::{Args, Parser, Subcommand};
use conveyor_bench::gen::{monorepo, Shape};
use conveyor_bench::sim;
use conveyor_coordinator::config::render::{FileSource, RenderInput};
use conveyor_coordinator::{config, plan};

#[derive(Parser)]
#[command(name = "conveyor-bench", about = "Conveyor's benchmarks")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Write a synthetic monorepo to DIR.
    Gen {
        dir: PathBuf,
        #[arg(long, default_value_t = 100)]
        images: usize,
        #[arg(long, default_value_t = 4)]
        artifacts: usize,
    },
    /// The coordinator over loopback gRPC with no-op workers: stages per second and dispatch
    /// latency (p50, p99).
    Dispatch {
        /// Synthetic monorepo size (service images; ~5 stages each).
        #[arg(long, default_value_t = 2000)]
        images: usize,
        #[arg(long, default_value_t = 4)]
        workers: usize,
        #[arg(long, default_value_t = 3)]
        runs: usize,
        #[command(flatten)]
        out: Out,
    },
    /// The coordinator's memory with every stage of a big monorepo queued (no workers).
    Queue {
        #[arg(long, default_value_t = 20_000)]
        images: usize,
        #[command(flatten)]
        out: Out,
    },
    /// A fully cached monorepo built through the coordinator (`conveyor build --coordinator`
    /// against a `conveyor coordinator` whose store holds every stage): wall time, against
    /// `conveyor plan` on the same project.
    Noop {
        #[arg(long, default_value_t = 1000)]
        images: usize,
        #[arg(long, default_value_t = 5)]
        runs: usize,
        /// The conveyor binary (default: the one beside this benchmark).
        #[arg(long)]
        conveyor: Option<PathBuf>,
        #[command(flatten)]
        out: Out,
    },
    /// Real builds: Conveyor (coordinator + a worker on each engine + registry) against the
    /// engine's BuildKit, cold, warm and on a fresh engine. Needs `scripts/services.sh up
    /// --engines 2`.
    Docker {
        /// Images in the project.
        #[arg(long, default_value_t = 20)]
        images: usize,
        /// Shell stages per image.
        #[arg(long, default_value_t = 3)]
        stages: usize,
        /// Images per fromImage chain.
        #[arg(long, default_value_t = 4)]
        chain: usize,
        /// Seconds each shell stage sleeps (stands for real work).
        #[arg(long, default_value_t = 0.5)]
        sleep: f64,
        /// Build slots of each Conveyor worker.
        #[arg(long, default_value_t = 4)]
        slots: u32,
        #[arg(long, default_value = "unix:///var/run/docker.sock")]
        engine1: String,
        #[arg(long, default_value = "unix:///var/run/conveyor-docker2.sock")]
        engine2: String,
        #[arg(long, default_value = "localhost:5000")]
        registry: String,
        #[arg(long, default_value = "localhost:5000/library/busybox:latest")]
        base: String,
        #[arg(long, default_value_t = 3)]
        runs: usize,
        #[arg(long)]
        conveyor: Option<PathBuf>,
        #[command(flatten)]
        out: Out,
    },
    /// Time render + parse + plan and measure peak RSS, per monorepo size.
    Plan {
        /// Monorepo sizes (service images).
        #[arg(long, value_delimiter = ',', default_value = "1000,10000")]
        images: Vec<usize>,
        /// Timed runs per size (the median is reported, with min and max).
        #[arg(long, default_value_t = 5)]
        runs: usize,
        #[command(flatten)]
        out: Out,
        /// Internal: run one size in this process and print `seconds... rss_kb`.
        #[arg(long, hide = true)]
        child: bool,
    },
    /// The real scheduler in a simulated cluster: makespan against the bound, werf-like, FIFO.
    Sim(SimArgs),
}

/// Where a report goes: stdout (Markdown, and with `--json` one JSON object as the last line)
/// and `NAME.md` + `NAME.json` in the results directory.
#[derive(Args)]
struct Out {
    /// Print one JSON object as the last line.
    #[arg(long)]
    json: bool,
    /// Where to write the report (default: the bench crate's `results/`).
    #[arg(long)]
    results: Option<PathBuf>,
}

impl Out {
    /// Prints `table` and writes `NAME.md` (title, command line, table) and `NAME.json`.
    fn publish(
        &self,
        name: &str,
        title: &str,
        table: &str,
        value: serde_json::Value,
    ) -> Result<()> {
        print!("{table}");
        let words: Vec<String> = std::env::args().skip(1).collect();
        let markdown = format!(
            "# {title}

`conveyor-bench {}`

{table}",
            words.join(" ")
        );
        let dir = conveyor_bench::results::dir(self.results.as_deref());
        conveyor_bench::results::write(&dir, name, &markdown, &value)?;
        if self.json {
            println!("{}", serde_json::json!({ name: value }));
        }
        Ok(())
    }
}

#[derive(Args)]
struct SimArgs {
    /// DAG sizes in stages.
    #[arg(long, value_delimiter = ',', default_value = "1000,10000")]
    stages: Vec<usize>,
    /// Worker counts (one slot each).
    #[arg(long, value_delimiter = ',', default_value = "2,4,8,16,64")]
    workers: Vec<usize>,
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "wide,deep,monorepo"
    )]
    shapes: Vec<sim::Shape>,
    /// DAGs (seeds) per shape and size; each figure is the median over them, with min and max.
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// The first seed.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// The scheduler's cost estimates are the true costs times exp(NOISE · z), z standard
    /// normal: history that is off (0: exact).
    #[arg(long, default_value_t = 0.0)]
    noise: f64,
    /// 1,000 stages only, written as `sim-quick.*` so a full run's results stay.
    #[arg(long)]
    quick: bool,
    /// Where to write the report and charts (default: the bench crate's `results/`).
    #[arg(long)]
    results: Option<PathBuf>,
    /// Print one JSON object as the last line.
    #[arg(long)]
    json: bool,
}

fn sim_command(args: SimArgs) -> Result<()> {
    let stages = if args.quick { vec![1000] } else { args.stages };
    if args.runs == 0 || stages.contains(&0) || args.workers.contains(&0) {
        bail!("`--runs`, `--stages` and `--workers` must be positive");
    }
    if !(args.noise >= 0.0 && args.noise.is_finite()) {
        bail!("`--noise` must be a finite number at least 0");
    }
    let words: Vec<String> = std::env::args().skip(1).collect();
    let opts = sim::Options {
        grid: sim::Grid {
            shapes: args.shapes,
            stages,
            workers: args.workers,
            runs: args.runs,
            seed: args.seed,
            noise: args.noise,
        },
        results: conveyor_bench::results::dir(args.results.as_deref()),
        name: if args.quick { "sim-quick" } else { "sim" }.to_string(),
        json: args.json,
        command: format!("conveyor-bench {}", words.join(" ")),
    };
    sim::main(&opts)
}

struct MapFiles(BTreeMap<String, Vec<u8>>);

impl FileSource for MapFiles {
    fn read(&self, path: &str) -> Option<Vec<u8>> {
        self.0.get(path).cloned()
    }
    fn list(&self) -> Vec<String> {
        self.0.keys().cloned().collect()
    }
}

/// Render + load + plan once; returns the number of stages planned and each phase's seconds.
fn front_end(
    project: &conveyor_bench::gen::Project,
    files: &MapFiles,
) -> Result<(usize, [f64; 2])> {
    let env = |_: &str| None;
    let input = RenderInput {
        config_name: "werf.yaml",
        config: &project.werf_yaml,
        files,
        env: &env,
    };
    let t0 = Instant::now();
    // Rendering and loading overlap (documents are parsed while later ones render).
    let (_, cfg) = config::render_and_load(&input).map_err(|e| anyhow::anyhow!("{e}"))?;
    let t1 = Instant::now();
    let p = plan::plan(&cfg, &BTreeMap::new()).map_err(|e| anyhow::anyhow!("{e}"))?;
    let t2 = Instant::now();
    let phases = [t1 - t0, t2 - t1].map(|d| d.as_secs_f64());
    Ok((p.images.iter().map(|i| i.stages.len()).sum(), phases))
}

fn peak_rss_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

fn child(images: usize, runs: usize) -> Result<()> {
    let project = monorepo(Shape {
        images,
        artifacts: 4,
    });
    let files = MapFiles(
        project
            .files
            .iter()
            .map(|(p, c)| (p.clone(), c.clone().into_bytes()))
            .collect(),
    );
    let mut times = vec![];
    let mut stages = 0;
    let mut phases = vec![];
    for _ in 0..runs {
        let start = Instant::now();
        let (n, p) = front_end(&project, &files)?;
        stages = n;
        times.push(start.elapsed().as_secs_f64());
        phases.push(p);
    }
    // Per-phase medians go to stderr for whoever profiles.
    for (k, name) in ["render+load", "plan"].iter().enumerate() {
        let mut v: Vec<f64> = phases.iter().map(|p| p[k]).collect();
        v.sort_by(|a, b| a.total_cmp(b));
        eprintln!("{images} images: {name} {:.4} s (median)", v[v.len() / 2]);
    }
    let times: Vec<String> = times.iter().map(|t| format!("{t:.6}")).collect();
    println!("{} {} {}", stages, peak_rss_kb(), times.join(" "));
    Ok(())
}

fn dispatch(images: usize, workers: usize, runs: usize, out: &Out) -> Result<()> {
    use conveyor_bench::dispatch::{percentile, run};
    use conveyor_bench::plot::{line_chart, Chart, Corner, Series};
    use conveyor_bench::procs::spread;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let (mut rates, mut p50s, mut p99s, mut curves) = (vec![], vec![], vec![], vec![]);
    let mut cpus = vec![];
    let mut stages = 0;
    for i in 0..runs.max(1) {
        let r = rt.block_on(run(images, workers))?;
        stages = r.stages;
        rates.push(r.stages as f64 / r.seconds);
        p50s.push(percentile(&r.latencies_ms, 50.0));
        p99s.push(percentile(&r.latencies_ms, 99.0));
        cpus.push(r.cpu_us_per_stage);
        let points = (0..=100)
            .map(|p| (p as f64, percentile(&r.latencies_ms, p as f64)))
            .collect();
        curves.push(Series {
            name: format!("run {}", i + 1),
            points,
        });
    }
    let (rate, rate_min, rate_max) = spread(&rates);
    let (p50, p50_min, p50_max) = spread(&p50s);
    let (p99, p99_min, p99_max) = spread(&p99s);
    let (cpu, cpu_min, cpu_max) = spread(&cpus);
    let table = format!(
        "| stages | workers | stages/s (min-max) | p50 ms (min-max) | p99 ms (min-max) | CPU µs/stage (min-max) |\n\
         |---:|---:|---:|---:|---:|---:|\n\
         | {stages} | {workers} | {rate:.0} ({rate_min:.0}-{rate_max:.0}) | {p50:.2} ({p50_min:.2}-{p50_max:.2}) | {p99:.2} ({p99_min:.2}-{p99_max:.2}) | {cpu:.1} ({cpu_min:.1}-{cpu_max:.1}) |\n\n\
         CPU is the whole process's (coordinator, the no-op workers and the watching client) \
         from submit to the build's end, divided by the stages.\n"
    );
    let dir = conveyor_bench::results::dir(out.results.as_deref());
    std::fs::create_dir_all(&dir)?;
    let chart = Chart {
        title: format!("Dispatch latency, {stages} stages on {workers} no-op workers"),
        x_label: "percentile".into(),
        y_label: "ms from ready to assigned".into(),
        legend: Corner::UpperLeft,
        ..Chart::default()
    };
    line_chart(&dir.join("dispatch-latency.png"), &chart, &curves)?;
    out.publish(
        "dispatch",
        "Dispatch through the coordinator over loopback gRPC",
        &table,
        serde_json::json!({"stages": stages, "workers": workers, "runs": rates.len(),
            "stagesPerSecond": rate, "stagesPerSecondMin": rate_min, "stagesPerSecondMax": rate_max,
            "p50Ms": p50, "p50MsMin": p50_min, "p50MsMax": p50_max,
            "p99Ms": p99, "p99MsMin": p99_min, "p99MsMax": p99_max,
            "cpuMicrosPerStage": cpu, "cpuMicrosPerStageMin": cpu_min, "cpuMicrosPerStageMax": cpu_max}),
    )
}

fn noop(images: usize, runs: usize, conveyor: Option<PathBuf>, out: &Out) -> Result<()> {
    let bin = conveyor_bench::procs::conveyor_bin(conveyor)?;
    let r = conveyor_bench::noop::run(&bin, images, runs)?;
    let j = r.json();
    let f = |k: &str| j[k].as_f64().unwrap_or(f64::NAN);
    let table = format!(
        "| images | stages | no-op build s (min-max) | conveyor plan s | ratio |\n\
         |---:|---:|---:|---:|---:|\n\
         | {images} | {} | {:.3} ({:.3}-{:.3}) | {:.3} | {:.2} |\n",
        r.stages,
        f("wallSeconds"),
        f("minSeconds"),
        f("maxSeconds"),
        f("planSeconds"),
        f("ratioToPlan"),
    );
    out.publish(
        "noop",
        "A fully cached monorepo built through the coordinator",
        &table,
        j,
    )
}

fn docker(
    params: conveyor_bench::docker::Params,
    runs: usize,
    conveyor: Option<PathBuf>,
    out: &Out,
) -> Result<()> {
    use conveyor_bench::docker;
    let bin = conveyor_bench::procs::conveyor_bin(conveyor)?;
    let mut all = vec![];
    for i in 0..runs.max(1) {
        let t = docker::run(&bin, &params)?;
        eprintln!("docker run {}: {t:?}", i + 1);
        all.push(t);
    }
    let s = docker::summary(&params, &all);
    let f = |k: &str| s[k].as_f64().unwrap_or(f64::NAN);
    let table = format!(
        "| build | Conveyor s | BuildKit s | ratio |\n|---|---:|---:|---:|\n\
         | cold | {:.2} | {:.2} | {:.2} |\n\
         | warm | {:.2} | {:.2} | {:.2} |\n\
         | fresh engine (ratio: to Conveyor's cold) | {:.2} | {:.2} | {:.2} |\n",
        f("conveyorColdSeconds"),
        f("buildkitColdSeconds"),
        f("coldRatio"),
        f("conveyorWarmSeconds"),
        f("buildkitWarmSeconds"),
        f("warmRatio"),
        f("conveyorFreshEngineSeconds"),
        f("buildkitFreshEngineSeconds"),
        f("freshEngineRatio"),
    );
    out.publish(
        "docker",
        "Real builds: Conveyor on two engines against BuildKit",
        &table,
        s,
    )
}

fn queue(images: usize, out: &Out) -> Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let (stages, rss, peak) = rt.block_on(conveyor_bench::dispatch::queued_rss(images))?;
    let table = format!(
        "| images | stages queued | RSS MB | peak RSS MB |\n|---:|---:|---:|---:|\n\
         | {images} | {stages} | {rss:.1} | {peak:.1} |\n"
    );
    out.publish(
        "queue",
        "The coordinator's memory with every stage queued",
        &table,
        serde_json::json!({"images": images, "stagesQueued": stages, "rssMb": rss, "peakRssMb": peak}),
    )
}

fn plan_sizes(images: Vec<usize>, runs: usize, out: &Out) -> Result<()> {
    use conveyor_bench::plot::{line_chart, Chart, Corner, Series};
    let exe = std::env::current_exe()?;
    let mut results = vec![];
    let mut table = String::from(
        "| images | stages | median s | min s | max s | peak RSS MB |\n|---:|---:|---:|---:|---:|---:|\n",
    );
    let (mut times, mut rss) = (vec![], vec![]);
    for n in images {
        let child = std::process::Command::new(&exe)
            .args(["plan", "--child", "--images", &n.to_string(), "--runs"])
            .arg(runs.max(1).to_string())
            .output()
            .context("running the child benchmark")?;
        if !child.status.success() {
            bail!("{n} images: {}", String::from_utf8_lossy(&child.stderr));
        }
        eprint!("{}", String::from_utf8_lossy(&child.stderr));
        let text = String::from_utf8_lossy(&child.stdout);
        let mut f = text.split_whitespace();
        let stages: usize = f.next().context("stages")?.parse()?;
        let rss_mb = f.next().context("rss")?.parse::<f64>()? / 1024.0;
        let t: Vec<f64> = f.map(|x| x.parse().unwrap_or(f64::NAN)).collect();
        let (median, min, max) = conveyor_bench::procs::spread(&t);
        table.push_str(&format!(
            "| {n} | {stages} | {median:.4} | {min:.4} | {max:.4} | {rss_mb:.1} |\n"
        ));
        times.push((n as f64, median));
        rss.push((n as f64, rss_mb));
        results.push(serde_json::json!({
            "images": n, "stages": stages, "wallSeconds": median,
            "minSeconds": min, "maxSeconds": max, "peakRssMb": rss_mb,
        }));
    }
    let dir = conveyor_bench::results::dir(out.results.as_deref());
    std::fs::create_dir_all(&dir)?;
    let chart = |title: &str, y: &str| Chart {
        title: title.into(),
        x_label: "images".into(),
        y_label: y.into(),
        legend: Corner::UpperLeft,
        ..Chart::default()
    };
    line_chart(
        &dir.join("plan-seconds.png"),
        &chart("render + load + plan", "seconds (median)"),
        &[Series {
            name: "conveyor plan".into(),
            points: times,
        }],
    )?;
    line_chart(
        &dir.join("plan-rss.png"),
        &chart("render + load + plan", "peak RSS MB"),
        &[Series {
            name: "conveyor plan".into(),
            points: rss,
        }],
    )?;
    out.publish(
        "plan",
        "Render + load + plan of synthetic monorepos",
        &table,
        serde_json::json!(results),
    )
}

fn main() -> Result<()> {
    match Cli::parse().command {
        Command::Gen {
            dir,
            images,
            artifacts,
        } => {
            let project = monorepo(Shape { images, artifacts });
            std::fs::create_dir_all(dir.join(".werf"))?;
            std::fs::write(dir.join("werf.yaml"), &project.werf_yaml)?;
            for (path, content) in &project.files {
                std::fs::write(dir.join(path), content)?;
            }
            println!(
                "wrote {} ({images} images, {artifacts} artifacts)",
                dir.display()
            );
            Ok(())
        }
        Command::Dispatch {
            images,
            workers,
            runs,
            out,
        } => {
            // The coordinator runs this way (see `os::without_huge_pages`).
            conveyor_coordinator::os::without_huge_pages();
            dispatch(images, workers, runs, &out)
        }
        Command::Noop {
            images,
            runs,
            conveyor,
            out,
        } => noop(images, runs, conveyor, &out),
        Command::Docker {
            images,
            stages,
            chain,
            sleep,
            slots,
            engine1,
            engine2,
            registry,
            base,
            runs,
            conveyor,
            out,
        } => {
            let params = conveyor_bench::docker::Params {
                images,
                stages,
                chain,
                sleep,
                engines: [engine1, engine2],
                slots,
                registry,
                base,
            };
            docker(params, runs, conveyor, &out)
        }
        Command::Sim(args) => sim_command(args),
        Command::Queue { images, out } => {
            conveyor_coordinator::os::without_huge_pages();
            queue(images, &out)
        }
        Command::Plan {
            images,
            runs,
            child: true,
            ..
        } => child(images.first().copied().unwrap_or(1000), runs.max(1)),
        Command::Plan {
            images, runs, out, ..
        } => plan_sizes(images, runs, &out),
    }
}
