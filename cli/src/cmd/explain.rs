//! `conveyor explain`: why each stage of an image would be rebuilt, or reused.

use std::path::PathBuf;

use clap::Args;
use conveyor_coordinator::explain::{explain, Verdict};
use conveyor_coordinator::store::{RocksStore, Store};

use super::project::ProjectArgs;
use crate::exit::Failure;

/// Explain what a build of IMAGE would do: each stage is reused (recorded), or rebuilt, with
/// the recorded input that differs from the image's last successful build (for example
/// `fromCacheVersion: "1" → "2"`), or the stage below it that changed.
///
/// Reads the embedded coordinator's database (DIR/.conveyor/db, or --db); builds nothing.
#[derive(Args, Debug)]
pub struct ExplainArgs {
    #[command(flatten)]
    project: ProjectArgs,
    /// The database of the builds to compare with (default: DIR/.conveyor/db).
    #[arg(long)]
    db: Option<PathBuf>,
    /// The image or artifact.
    image: String,
    /// Only this stage (e.g. `install`).
    stage: Option<String>,
}

pub fn run(args: ExplainArgs) -> Result<(), Failure> {
    let plan = args.project.plan()?;
    let image = plan
        .images
        .iter()
        .find(|i| i.name == args.image)
        .ok_or_else(|| {
            Failure::user(format!(
                "No image or artifact `{}` in the config",
                args.image
            ))
        })?;
    if let Some(stage) = &args.stage {
        if !image.stages.iter().any(|s| s.name == stage.as_str()) {
            let names: Vec<&str> = image.stages.iter().map(|s| s.name).collect();
            return Err(Failure::user(format!(
                "`{}` has no stage `{stage}` (it has {})",
                args.image,
                names.join(", ")
            )));
        }
    }
    let db = args
        .db
        .clone()
        .unwrap_or_else(|| args.project.dir.join(".conveyor").join("db"));
    if !db.exists() {
        return Err(Failure::user(format!(
            "No builds recorded in `{}` yet: every stage would be built",
            db.display()
        )));
    }
    let store = RocksStore::open(&db).map_err(Failure::environment)?;
    let previous = store
        .image(&format!("{}/{}", plan.project, image.name))
        .map_err(Failure::environment)?;
    let explained = explain(image, previous.as_ref(), &store).map_err(Failure::environment)?;
    match &previous {
        Some(p) => println!(
            "{} {}: compared with build {}",
            image.kind, image.name, p.build
        ),
        None => println!(
            "{} {}: no successful build of it is recorded",
            image.kind, image.name
        ),
    }
    for e in explained
        .iter()
        .filter(|e| args.stage.as_ref().is_none_or(|s| *s == e.stage))
    {
        let short = e.signature.get(..12).unwrap_or(&e.signature);
        match &e.verdict {
            Verdict::Cached { built_by, .. } => {
                println!("  {:<22} {short}  reused (built by {built_by})", e.stage)
            }
            Verdict::NoHistory => {
                println!("  {:<22} {short}  built (nothing to compare with)", e.stage)
            }
            Verdict::Added => println!("  {:<22} {short}  built (a new stage)", e.stage),
            Verdict::RecordGone => println!(
                "  {:<22} {short}  built (the last build's record of it is gone)",
                e.stage
            ),
            Verdict::Below(what) => {
                println!("  {:<22} {short}  rebuilt: {what} changed", e.stage)
            }
            Verdict::InputsChanged(changes) => {
                println!("  {:<22} {short}  rebuilt: its inputs changed", e.stage);
                for c in changes {
                    println!(
                        "    {}: {} → {}",
                        c.key,
                        show(c.before.as_deref()),
                        show(c.after.as_deref())
                    );
                }
            }
        }
    }
    Ok(())
}

/// A recorded value for a person: quoted, cut at 100 characters, `(none)` when absent.
fn show(v: Option<&str>) -> String {
    match v {
        None => "(none)".into(),
        Some(v) if v.chars().count() > 100 => {
            format!("{:?}…", v.chars().take(100).collect::<String>())
        }
        Some(v) => format!("{v:?}"),
    }
}
