//! From a plan to work: the scheduler's [`StageSpec`]s and the workers' fully resolved
//! [`StageTask`]s.
//!
//! A stage's recorded inputs are the source of truth for its task (commands, imports, docker
//! instructions are JSON in them), so what a worker runs is exactly what was hashed.

use std::collections::BTreeMap;

use foldhash::{HashMap, HashMapExt, HashSet, HashSetExt};
use std::sync::Arc;

use conveyor_proto::v1::{DockerInstructions, ImportSpec, StageTask, TaskKind as ProtoKind};

use crate::plan::{ImagePlan, Plan, Stage};
use crate::sched::{StageSpec, TaskKind};

/// Where stage images live: `REPO:SIGNATURE`.
pub fn stage_reference(repo: &str, signature: &str) -> String {
    format!("{repo}:{signature}")
}

/// The prefix of the repositories of stages kept in one worker's engine (no `--repo`).
pub const LOCAL_STAGES: &str = "conveyor-stages/";

/// The repository of a build's stages: the one asked for, or a local one per project (as
/// werf keeps stages locally without `--repo`).
pub fn stage_repo(requested: &str, project: &str) -> String {
    if requested.is_empty() {
        format!("{LOCAL_STAGES}{project}")
    } else {
        requested.trim_end_matches('/').to_string()
    }
}

/// What the server keeps per stage signature of a build.
#[derive(Debug, Clone)]
pub struct StageInfo {
    pub image: String,
    pub stage: String,
    pub task: StageTask,
    /// The stage's recorded inputs (kept with the stage record; they explain rebuilds).
    pub inputs: Vec<(String, String)>,
    /// `IMAGE/STAGE`: the key of its cost history.
    pub label: String,
    /// The cost estimate the store had for `label` when this stage was first prepared in the
    /// coordinator's memory (a later build of the same signature shares it); a finished run's
    /// duration is folded into it (see `store::next_cost`), so an estimate written meanwhile
    /// for another signature of the label may be overwritten: estimates are advisory.
    pub cost: Option<u64>,
}

/// Every stage's info by signature, shared with the state task's table.
pub type StageInfos = HashMap<String, Arc<StageInfo>>;

/// The scheduler's specs and the task of every stage of the images asked for (all if
/// `images` is empty, plus whatever they need).
pub fn build_work(
    plan: &Plan,
    images: &[String],
    repo: &str,
    network: &str,
    cost: &dyn Fn(&str) -> Option<u64>,
) -> Result<(Vec<StageSpec>, StageInfos), String> {
    let selected = select(plan, images)?;
    let mut specs = vec![];
    // A hash map of shared infos: a B-tree of the infos themselves moved them (hundreds of
    // bytes each) on every insertion.
    let mut infos = HashMap::new();
    for image in plan
        .images
        .iter()
        .filter(|i| selected.contains(i.name.as_str()))
    {
        for stage in &image.stages {
            let task = task(plan, image, stage, repo, network);
            let mut deps: Vec<String> = stage.parent.iter().cloned().collect();
            deps.extend(stage.needs.iter().cloned());
            deps.sort();
            deps.dedup();
            let label = format!("{}/{}", image.name, stage.name);
            let estimate = cost(&label);
            specs.push(StageSpec {
                signature: stage.signature.clone(),
                deps,
                cached: false,
                cost: estimate.unwrap_or(1).max(1),
                kind: if stage.name == "from" && image.from.kind == "external" {
                    TaskKind::Pull
                } else {
                    TaskKind::Build
                },
                label: label.clone(),
            });
            infos.entry(stage.signature.clone()).or_insert_with(|| {
                Arc::new(StageInfo {
                    image: image.name.clone(),
                    stage: stage.name.to_string(),
                    task,
                    inputs: stage.inputs.clone(),
                    label,
                    cost: estimate,
                })
            });
        }
    }
    Ok((specs, infos))
}

/// The images asked for and, transitively, those they depend on (a set: a monorepo has
/// thousands, and `build_work` asks it about each).
fn select<'p>(plan: &'p Plan, images: &[String]) -> Result<HashSet<&'p str>, String> {
    if images.is_empty() {
        return Ok(plan.images.iter().map(|i| i.name.as_str()).collect());
    }
    let by_name: BTreeMap<&str, &ImagePlan> =
        plan.images.iter().map(|i| (i.name.as_str(), i)).collect();
    let mut out = HashSet::new();
    let mut todo: Vec<&str> = images.iter().map(String::as_str).collect();
    while let Some(name) = todo.pop() {
        let image = by_name
            .get(name)
            .ok_or_else(|| format!("No image or artifact called `{name}` in the config"))?;
        if out.insert(image.name.as_str()) {
            todo.extend(image.depends_on.iter().map(String::as_str));
        }
    }
    Ok(out)
}

fn input<'a>(stage: &'a Stage, key: &str) -> Option<&'a str> {
    stage
        .inputs
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

/// The worker's task for one stage.
fn task(plan: &Plan, image: &ImagePlan, stage: &Stage, repo: &str, network: &str) -> StageTask {
    let external_from = stage.name == "from" && image.from.kind == "external";
    let base = match (&stage.parent, external_from) {
        (_, true) => input(stage, "from").unwrap_or_default().to_string(),
        (Some(parent), false) => stage_reference(repo, parent),
        (None, false) => String::new(),
    };
    let commands: Vec<String> = input(stage, "commands")
        .and_then(|c| serde_json::from_str(c).ok())
        .unwrap_or_default();
    let imports = input(stage, "imports")
        .and_then(|v| serde_json::from_str::<Vec<serde_json::Value>>(v).ok())
        .unwrap_or_default()
        .into_iter()
        .map(|i| import_spec(&i, repo))
        .collect();
    let docker = input(stage, "instructions")
        .and_then(|v| serde_json::from_str::<serde_json::Value>(v).ok())
        .map(|d| docker(&d));
    StageTask {
        signature: stage.signature.clone(),
        stage: stage.name.to_string(),
        image: image.name.clone(),
        project: plan.project.clone(),
        kind: if stage.name == "from" {
            ProtoKind::From as i32
        } else {
            ProtoKind::Build as i32
        },
        base,
        parent_signature: stage.parent.clone().unwrap_or_default(),
        commands,
        imports,
        docker,
        target: stage_reference(repo, &stage.signature),
        network: network.to_string(),
    }
}

fn strings(v: &serde_json::Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

fn string(v: &serde_json::Value) -> String {
    v.as_str().unwrap_or_default().to_string()
}

fn import_spec(i: &serde_json::Value, repo: &str) -> ImportSpec {
    ImportSpec {
        source: stage_reference(repo, i["source"].as_str().unwrap_or_default()),
        add: string(&i["add"]),
        to: string(&i["to"]),
        include_paths: strings(&i["includePaths"]),
        exclude_paths: strings(&i["excludePaths"]),
        owner: string(&i["owner"]),
        group: string(&i["group"]),
    }
}

/// `{"shell": "x"}` → `["/bin/sh", "-c", "x"]`; `{"exec": [...]}` → the list.
fn command(v: &serde_json::Value) -> Vec<String> {
    if let Some(s) = v.get("shell").and_then(|s| s.as_str()) {
        vec!["/bin/sh".into(), "-c".into(), s.into()]
    } else {
        strings(&v["exec"])
    }
}

fn map(v: &serde_json::Value) -> std::collections::HashMap<String, String> {
    v.as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                .collect()
        })
        .unwrap_or_default()
}

fn docker(d: &serde_json::Value) -> DockerInstructions {
    DockerInstructions {
        volume: strings(&d["VOLUME"]),
        expose: strings(&d["EXPOSE"]),
        env: map(&d["ENV"]),
        label: map(&d["LABEL"]),
        entrypoint: command(&d["ENTRYPOINT"]),
        cmd: command(&d["CMD"]),
        workdir: string(&d["WORKDIR"]),
        user: string(&d["USER"]),
        healthcheck: string(&d["HEALTHCHECK"]),
    }
}
