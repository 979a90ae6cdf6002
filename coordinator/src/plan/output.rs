//! A plan as people and tools read it: text (stages and short signatures per image), JSON
//! (the whole plan, inputs included) and Graphviz dot (the stage DAG across images).

use std::fmt::Write;

use super::Plan;

/// How many hex digits of a signature the text and dot forms show.
pub const SHORT: usize = 12;

fn short(sig: &str) -> &str {
    sig.get(..SHORT).unwrap_or(sig)
}

fn display_name(name: &str) -> &str {
    if name.is_empty() {
        "~"
    } else {
        name
    }
}

/// Per image: its base, then each stage with its short signature.
pub fn text(plan: &Plan) -> String {
    let stages: usize = plan.images.iter().map(|i| i.stages.len()).sum();
    let artifacts = plan.images.iter().filter(|i| i.kind == "artifact").count();
    let count = |n: usize, what: &str| format!("{n} {what}{}", if n == 1 { "" } else { "s" });
    let mut out = format!(
        "project {}: {}, {}, {}\n",
        plan.project,
        count(plan.images.len() - artifacts, "image"),
        count(artifacts, "artifact"),
        count(stages, "stage")
    );
    for image in &plan.images {
        let from = match image.from.kind {
            "external" => format!("from {}", image.from.reference),
            "none" => "no base".to_string(),
            kind => format!("from {kind} {}", image.from.reference),
        };
        let _ = writeln!(
            out,
            "\n{} {}  ({from})",
            image.kind,
            display_name(&image.name)
        );
        for stage in &image.stages {
            let _ = writeln!(out, "  {:<22} {}", stage.name, short(&stage.signature));
        }
        for note in &image.notes {
            let _ = writeln!(out, "  note: {note}");
        }
    }
    out
}

/// The whole plan as pretty JSON.
pub fn json(plan: &Plan) -> String {
    // Serializing plain structs of strings cannot fail.
    serde_json::to_string_pretty(plan).unwrap_or_default() + "\n"
}

/// The stage DAG for Graphviz: a cluster per image, stages chained inside it, and edges from
/// the stages other images need (base images, import sources).
pub fn dot(plan: &Plan) -> String {
    let mut out = String::from(
        "digraph conveyor {\n  rankdir=LR;\n  node [shape=box, fontname=monospace];\n",
    );
    for (i, image) in plan.images.iter().enumerate() {
        let _ = writeln!(
            out,
            "  subgraph cluster_{i} {{\n    label={:?};",
            format!("{} {}", image.kind, display_name(&image.name))
        );
        for stage in &image.stages {
            let _ = writeln!(
                out,
                "    \"{}\" [label=\"{}\\n{}\"];",
                stage.signature,
                stage.name,
                short(&stage.signature)
            );
        }
        out.push_str("  }\n");
    }
    let mut edges = std::collections::BTreeSet::new();
    for image in &plan.images {
        for stage in &image.stages {
            if let Some(parent) = &stage.parent {
                edges.insert((parent.clone(), stage.signature.clone(), false));
            }
            for need in &stage.needs {
                if Some(need) != stage.parent.as_ref() {
                    edges.insert((need.clone(), stage.signature.clone(), true));
                }
            }
        }
    }
    for (from, to, import) in edges {
        let style = if import { " [style=dashed]" } else { "" };
        let _ = writeln!(out, "  \"{from}\" -> \"{to}\"{style};");
    }
    out.push_str("}\n");
    out
}
