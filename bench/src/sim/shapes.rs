//! Random DAGs of the three shapes the benchmark covers, each a pure function of
//! (shape, stage count, seed): the same arguments give the same DAG on every machine that
//! builds this lock file (`StdRng` is only stable within a `rand` version).
//!
//! Every image is a `from` stage plus 1 to 4 shell/docker stages (the last image is cut to
//! fit the stage count exactly). Costs are virtual milliseconds: a pull 2-30 s, a `from` on
//! another image (a tag) 0.2-2 s, a build stage log-normal, mostly short (median 8 s), one in
//! seven long (median 90 s, a dependency install or a compile), 0.5 s to 30 min.
//!
//! - `wide`: independent images on external bases; one in ten is built on one of the first
//!   ten images (depth at most 2).
//! - `deep`: about 40-image `fromImage` chains side by side (`stages / 140` of them, at
//!   least 2); one image in five also imports from a random earlier image.
//! - `monorepo`: 3 base images and 4 artifacts on external bases, then services in
//!   `fromImage` chains of 2 to 4 images whose head is built on a random base; every
//!   service imports from one artifact, one in five from a second one as well.

use clap::ValueEnum;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::dag::Dag;

/// A DAG shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, ValueEnum)]
pub enum Shape {
    Wide,
    Deep,
    Monorepo,
}

impl Shape {
    pub fn name(self) -> &'static str {
        match self {
            Shape::Wide => "wide",
            Shape::Deep => "deep",
            Shape::Monorepo => "monorepo",
        }
    }
}

/// A DAG of `shape` with exactly `stages` stages (at least 1), drawn from `seed`.
pub fn generate(shape: Shape, stages: usize, seed: u64) -> Dag {
    let mut g = Gen {
        rng: StdRng::seed_from_u64(seed),
        dag: Dag::default(),
        target: stages.max(1),
    };
    match shape {
        Shape::Wide => g.wide(),
        Shape::Deep => g.deep(),
        Shape::Monorepo => g.monorepo(),
    }
    g.dag
}

/// What the scheduler would know of `dag`'s costs from history: each cost times
/// exp(`sigma` · z) for a standard normal z drawn from `seed` (`sigma` 0: the true costs).
pub fn estimates(dag: &Dag, sigma: f64, seed: u64) -> Vec<u64> {
    let mut rng = StdRng::seed_from_u64(seed ^ 0x5eed_e571);
    dag.stages
        .iter()
        .map(|s| {
            if sigma == 0.0 {
                s.cost
            } else {
                ((s.cost as f64) * (sigma * normal(&mut rng)).exp()).max(1.0) as u64
            }
        })
        .collect()
}

struct Gen {
    rng: StdRng,
    dag: Dag,
    target: usize,
}

impl Gen {
    fn left(&self) -> usize {
        self.target - self.dag.stages.len()
    }

    fn wide(&mut self) {
        while self.left() > 0 {
            let i = self.dag.images.len();
            let parent = (i >= 10 && self.rng.gen_bool(0.1)).then(|| self.rng.gen_range(0..10));
            self.image(parent, &[]);
        }
    }

    fn deep(&mut self) {
        let chains = (self.target / 140).max(2);
        while self.left() > 0 {
            let i = self.dag.images.len();
            let parent = i.checked_sub(chains);
            let imports: Vec<usize> = match parent {
                Some(p) if p > 0 && self.rng.gen_bool(0.2) => vec![self.rng.gen_range(0..p)],
                _ => vec![],
            };
            self.image(parent, &imports);
        }
    }

    fn monorepo(&mut self) {
        let mut bases = vec![];
        let mut artifacts = vec![];
        for _ in 0..3 {
            if self.left() > 0 {
                bases.push(self.image(None, &[]));
            }
        }
        for _ in 0..4 {
            if self.left() > 0 {
                artifacts.push(self.image(None, &[]));
            }
        }
        while self.left() > 0 {
            let depth = self.rng.gen_range(2..=4);
            let mut parent = bases[self.rng.gen_range(0..bases.len())];
            for _ in 0..depth {
                if self.left() == 0 {
                    break;
                }
                let mut imports = vec![artifacts[self.rng.gen_range(0..artifacts.len())]];
                if self.rng.gen_bool(0.2) {
                    let second = artifacts[self.rng.gen_range(0..artifacts.len())];
                    if second != imports[0] {
                        imports.push(second);
                    }
                }
                parent = self.image(Some(parent), &imports);
            }
        }
    }

    /// Adds an image of 2-5 stages (fewer if the target is near), costs drawn here.
    fn image(&mut self, parent: Option<usize>, imports: &[usize]) -> usize {
        let n = (1 + self.rng.gen_range(1..=4)).min(self.left());
        let mut costs = Vec::with_capacity(n);
        costs.push(match parent {
            None => self.rng.gen_range(2_000..=30_000),
            Some(_) => self.rng.gen_range(200..=2_000),
        });
        while costs.len() < n {
            let cost = self.build_cost();
            costs.push(cost);
        }
        self.dag.add_image(&costs, parent, imports)
    }

    /// A build stage's cost: log-normal, mostly short, one in seven long.
    fn build_cost(&mut self) -> u64 {
        let (median, sigma) = if self.rng.gen_bool(1.0 / 7.0) {
            (90_000.0, 0.6)
        } else {
            (8_000.0, 0.9)
        };
        let z = normal(&mut self.rng);
        let cost = median * (sigma * z).exp();
        cost.clamp(500.0, 1_800_000.0) as u64
    }
}

/// A standard normal draw (Box-Muller).
fn normal(rng: &mut StdRng) -> f64 {
    let u1: f64 = 1.0 - rng.gen::<f64>();
    let u2: f64 = rng.gen();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}
