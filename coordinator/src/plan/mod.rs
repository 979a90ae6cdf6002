//! The stage planner: a validated [`Config`] → every image's stages with chained signatures.
//!
//! Pure: no I/O, no clock. `fromLatest` digests are resolved by the caller (see
//! [`latest_references`] and `crate::registry`) and passed in, so planning is deterministic:
//! the same config and digests give the same plan whatever the order of documents or keys.
//!
//! A stage's signature covers its own inputs and its parent's signature (see `signature`), so
//! it changes exactly when something it is built from changes. Inputs are recorded so a
//! rebuild can be explained.

mod graph;
pub mod output;
pub mod reference;
pub mod signature;
mod stages;

use std::collections::BTreeMap;

use serde::Serialize;

use crate::config::error::ConfigError;
use crate::config::model::{Base, Builder, Config};

/// The plan of a whole config.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Plan {
    pub project: String,
    /// In document order.
    pub images: Vec<ImagePlan>,
}

/// One image's or artifact's stages.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ImagePlan {
    pub name: String,
    /// `image` or `artifact`.
    pub kind: &'static str,
    pub from: FromPlan,
    /// Names of the images and artifacts this one needs (base, import sources), sorted.
    pub depends_on: Vec<String>,
    pub stages: Vec<Stage>,
    /// The last stage's signature: the image's identity.
    pub signature: String,
    /// What the plan leaves out for this image (e.g. git stages, not planned yet).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

/// What an image is built on.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FromPlan {
    /// `external`, `image` or `artifact`.
    pub kind: &'static str,
    /// The normalized reference, or the image's or artifact's name.
    #[serde(rename = "ref")]
    pub reference: String,
}

/// One stage.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Stage {
    /// werf's stage name (`from`, `install`, `importsAfterSetup`, ...).
    pub name: &'static str,
    pub signature: String,
    /// The signature of the stage this one is built on (the previous stage, or for a `from`
    /// stage of `fromImage`, the base image's last stage).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent: Option<String>,
    /// The stage's own inputs, in hashing order.
    #[serde(serialize_with = "inputs_as_map")]
    pub inputs: Vec<(String, String)>,
    /// Signatures of other images' stages this stage needs (base image, import sources).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub needs: Vec<String>,
}

fn inputs_as_map<S: serde::Serializer>(
    inputs: &[(String, String)],
    s: S,
) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeMap;
    let mut m = s.serialize_map(Some(inputs.len()))?;
    for (k, v) in inputs {
        m.serialize_entry(k, v)?;
    }
    m.end()
}

/// A `from` reference whose current digest `fromLatest` asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LatestRef {
    /// The normalized reference.
    pub reference: String,
    pub image: String,
    pub line: usize,
}

/// The references of `fromLatest` images, normalized, for the caller to resolve.
pub fn latest_references(config: &Config) -> Result<Vec<LatestRef>, ConfigError> {
    let mut out = vec![];
    for image in config.images.iter().filter(|i| i.from_latest) {
        if let Base::External { reference, line } = &image.base {
            let normalized = reference::normalize(reference).map_err(|m| {
                ConfigError::new(&config.file, *line, format!("`from`: {m}"))
                    .in_document(image.pos.document)
                    .in_image(image.kind.as_str(), &image.name)
            })?;
            out.push(LatestRef {
                reference: normalized,
                image: image.name.clone(),
                line: *line,
            });
        }
    }
    Ok(out)
}

/// Plans every image of `config`; `digests` maps `fromLatest` references to their digests.
pub fn plan(config: &Config, digests: &BTreeMap<String, String>) -> Result<Plan, ConfigError> {
    for image in &config.images {
        let (what, line) = match image.builder {
            Builder::Shell => continue,
            Builder::Ansible { line } => ("`ansible`", line),
            Builder::Dockerfile { line } => ("`dockerfile` images", line),
        };
        return Err(ConfigError::new(
            &config.file,
            line,
            format!("{what} is not supported by Conveyor yet"),
        )
        .in_document(image.pos.document)
        .in_image(image.kind.as_str(), &image.name));
    }
    let edges = graph::edges(config);
    let order = graph::order(config, &edges)?;
    // Images are planned level by level (an image's level is one more than its dependencies'
    // highest), each level's images on several threads at once when there are enough of them:
    // a monorepo's thousands of leaf images make a few big levels. Should any image fail, the
    // images are planned again one by one in `order`, so the error is the one a one-by-one walk
    // meets first, whatever the threads did.
    let mut level = vec![0usize; config.images.len()];
    let mut levels: Vec<Vec<usize>> = vec![];
    for &idx in &order {
        let l = edges[idx]
            .iter()
            .map(|e| level[e.to] + 1)
            .max()
            .unwrap_or(0);
        level[idx] = l;
        if levels.len() <= l {
            levels.resize_with(l + 1, Vec::new);
        }
        levels[l].push(idx);
    }
    let mut planned: BTreeMap<String, ImagePlan> = BTreeMap::new();
    'levels: for batch in &levels {
        for plan in plan_batch(config, &edges, &planned, digests, batch) {
            match plan {
                Ok(plan) => {
                    planned.insert(plan.name.clone(), plan);
                }
                Err(_) => {
                    planned.clear();
                    break 'levels;
                }
            }
        }
    }
    if planned.len() < order.len() {
        for &idx in &order {
            let plan = plan_image(config, &edges, &planned, digests, idx)?;
            planned.insert(plan.name.clone(), plan);
        }
    }
    let images = config
        .images
        .iter()
        .filter_map(|i| planned.remove(&i.name))
        .collect();
    Ok(Plan {
        project: config.project.clone(),
        images,
    })
}

/// Plans the images `batch` (one level: none needs another of them) with `planned` holding
/// all they need; on several threads when the batch is big enough to pay for them. In batch order.
fn plan_batch(
    config: &Config,
    edges: &[Vec<graph::Edge>],
    planned: &BTreeMap<String, ImagePlan>,
    digests: &BTreeMap<String, String>,
    batch: &[usize],
) -> Vec<Result<ImagePlan, ConfigError>> {
    /// Below this many images a batch is planned on the calling thread.
    const PARALLEL_FROM: usize = 64;
    let one = |&idx: &usize| plan_image(config, edges, planned, digests, idx);
    // Asked only for a big batch: the answer reads cgroup files, too slow to ask per level.
    let threads = if batch.len() < PARALLEL_FROM {
        1
    } else {
        std::thread::available_parallelism().map_or(1, |n| n.get().min(8))
    };
    if threads < 2 {
        return batch.iter().map(one).collect();
    }
    let chunk = batch.len().div_ceil(threads);
    std::thread::scope(|s| {
        let handles: Vec<_> = batch
            .chunks(chunk)
            .skip(1)
            .map(|part| s.spawn(move || part.iter().map(one).collect::<Vec<_>>()))
            .collect();
        let mut out: Vec<_> = batch[..chunk.min(batch.len())].iter().map(one).collect();
        for handle in handles {
            match handle.join() {
                Ok(part) => out.extend(part),
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
        out
    })
}

/// Plans image `idx`, whose dependencies are all in `planned`.
fn plan_image(
    config: &Config,
    edges: &[Vec<graph::Edge>],
    planned: &BTreeMap<String, ImagePlan>,
    digests: &BTreeMap<String, String>,
    idx: usize,
) -> Result<ImagePlan, ConfigError> {
    let image = &config.images[idx];
    let ctx = stages::Ctx {
        config,
        planned,
        digests,
    };
    let stages = stages::stages(&ctx, image)?;
    let mut depends_on: Vec<String> = edges[idx]
        .iter()
        .map(|e| config.images[e.to].name.clone())
        .collect();
    depends_on.sort();
    depends_on.dedup();
    let from = match &image.base {
        Base::External { .. } => FromPlan {
            kind: "external",
            reference: stages
                .first()
                .and_then(|s| s.inputs.first())
                .map(|(_, v)| v.clone())
                .unwrap_or_default(),
        },
        Base::Image { name, .. } => FromPlan {
            kind: "image",
            reference: name.clone(),
        },
        Base::Artifact { name, .. } => FromPlan {
            kind: "artifact",
            reference: name.clone(),
        },
        Base::None => FromPlan {
            kind: "none",
            reference: String::new(),
        },
    };
    let mut notes = vec![];
    if !image.git.is_empty() {
        notes.push(format!(
            "{} `git` entr{} not planned yet: their stages (gitArchive, gitCache, \
             gitLatestPatch) are left out of the signatures",
            image.git.len(),
            if image.git.len() == 1 {
                "y is"
            } else {
                "ies are"
            }
        ));
    }
    let signature = stages
        .last()
        .map(|s| s.signature.clone())
        .unwrap_or_default();
    Ok(ImagePlan {
        name: image.name.clone(),
        kind: image.kind.as_str(),
        from,
        depends_on,
        stages,
        signature,
        notes,
    })
}

#[cfg(test)]
mod tests;
