//! The simulated workload: a DAG of images, each a chain of stages with a cost in virtual
//! milliseconds, and the lower bound every schedule of it is measured against.
//!
//! Invariants: stages are stored dependencies first (every dependency of stage `i` is below
//! `i`), an image's stages are contiguous and chained (stage `k` depends on stage `k - 1`),
//! and an image's first stage depends on its `fromImage` parent's last stage or, with no
//! parent, is a pull of an external base. An import is one more edge, from the importing
//! image's first build stage to the source image's last stage, as werf's `import` makes the
//! `imports*` stage need the artifact's last stage.

use std::ops::Range;

/// One stage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stage {
    pub image: usize,
    /// Virtual milliseconds, at least 1.
    pub cost: u64,
    /// Stage indices, each below this stage's.
    pub deps: Vec<usize>,
    /// The `from` stage of an image on an external base: a registry pull, no dependencies.
    pub pull: bool,
}

/// One image: its stages and the images it needs (its parent first, then what it imports).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Image {
    pub stages: Range<usize>,
    pub deps: Vec<usize>,
}

/// Images and their stages. Build one with [`Dag::add_image`] or [`super::generate`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Dag {
    pub images: Vec<Image>,
    pub stages: Vec<Stage>,
}

/// werf 1.1 names of the first stages, for labels.
const STAGE_NAMES: [&str; 5] = ["from", "beforeInstall", "install", "beforeSetup", "setup"];

impl Dag {
    /// Adds an image whose stages cost `costs` (the first is its `from`), built on `parent`'s
    /// last stage (`None`: an external base, so the first stage is a pull) and importing the
    /// last stage of each of `imports` into its second stage (its first if it has one only).
    /// Returns the image's index.
    ///
    /// # Panics
    /// If `costs` is empty or `parent`/`imports` name an image not added yet: the generator
    /// and tests build DAGs in dependency order.
    pub fn add_image(&mut self, costs: &[u64], parent: Option<usize>, imports: &[usize]) -> usize {
        assert!(!costs.is_empty(), "an image has at least its from stage");
        let image = self.images.len();
        let first = self.stages.len();
        let last_of = |dag: &Dag, i: usize| dag.images[i].stages.end - 1;
        for (k, &cost) in costs.iter().enumerate() {
            let mut deps = Vec::new();
            if k > 0 {
                deps.push(first + k - 1);
            } else if let Some(p) = parent {
                deps.push(last_of(self, p));
            }
            if k == costs.len().min(2) - 1 {
                for &i in imports {
                    let dep = last_of(self, i);
                    if !deps.contains(&dep) {
                        deps.push(dep);
                    }
                }
            }
            self.stages.push(Stage {
                image,
                cost: cost.max(1),
                deps,
                pull: k == 0 && parent.is_none(),
            });
        }
        let mut deps: Vec<usize> = parent.into_iter().collect();
        for &i in imports {
            if !deps.contains(&i) {
                deps.push(i);
            }
        }
        self.images.push(Image {
            stages: first..self.stages.len(),
            deps,
        });
        image
    }

    /// A stage's label, `img-IMAGE/NAME`, as the server labels `IMAGE/STAGE`.
    pub fn label(&self, stage: usize) -> String {
        let image = self.stages[stage].image;
        let k = stage - self.images[image].stages.start;
        let name = STAGE_NAMES.get(k).copied().unwrap_or("stage");
        format!("img-{image}/{name}")
    }

    /// For each stage, the stages that depend on it, in increasing order.
    pub fn dependents(&self) -> Vec<Vec<usize>> {
        let mut out = vec![Vec::new(); self.stages.len()];
        for (i, stage) in self.stages.iter().enumerate() {
            for &d in &stage.deps {
                out[d].push(i);
            }
        }
        out
    }

    /// The sum of all stage costs.
    pub fn total_work(&self) -> u64 {
        self.stages.iter().map(|s| s.cost).sum()
    }

    /// The longest chain of dependent stages, by cost.
    pub fn critical_path(&self) -> u64 {
        let mut finish = vec![0u64; self.stages.len()];
        for (i, stage) in self.stages.iter().enumerate() {
            let ready = stage.deps.iter().map(|&d| finish[d]).max().unwrap_or(0);
            finish[i] = ready + stage.cost;
        }
        finish.into_iter().max().unwrap_or(0)
    }

    /// No schedule on `workers` single-slot workers ends before this:
    /// max(critical path, total work / workers).
    pub fn bound(&self, workers: usize) -> f64 {
        let spread = self.total_work() as f64 / workers.max(1) as f64;
        (self.critical_path() as f64).max(spread)
    }
}
