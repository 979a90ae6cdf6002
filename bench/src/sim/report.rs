//! The grid's report: a Markdown table for people, one JSON object for tools, PNG charts.

use std::path::{Path, PathBuf};

use anyhow::Result;
use serde_json::{json, Value};

use super::grid::{Cell, Grid, Stat, Summary, GEOMEAN_TARGET, MAX_RATIO_TARGET};
use crate::plot::{line_chart, Chart, Corner, Series};

fn stat(s: &Stat, digits: usize) -> String {
    format!("{:.d$} ({:.d$}–{:.d$})", s.median, s.min, s.max, d = digits)
}

fn verdict(met: bool) -> &'static str {
    if met {
        "met"
    } else {
        "NOT met"
    }
}

/// The Markdown report: what ran, the table, the two headline figures against their targets.
pub fn markdown(grid: &Grid, command: &str, cells: &[Cell], summary: &Summary) -> String {
    let mut md = String::new();
    md.push_str("# Simulated scheduling: Conveyor against the bound, werf-like and FIFO\n\n");
    md.push_str(&format!(
        "`{command}`: {} DAGs per shape and size (seeds {}–{}), W single-slot workers, \
         virtual time; the scheduler {}. Each figure: median (min–max) over the runs. Ratios \
         are makespan ÷ bound, bound = max(critical path, total work ÷ W); `sched ms` is the \
         wall time of one simulation of the real scheduler.\n\n",
        grid.runs,
        grid.seed,
        grid.seed + grid.runs.max(1) as u64 - 1,
        if grid.noise == 0.0 {
            "is given the true stage costs as its history estimates".to_string()
        } else {
            format!(
                "is given estimates off by a log-normal factor (sigma {})",
                grid.noise
            )
        }
    ));
    md.push_str(
        "| shape | stages | W | bound s | Conveyor ÷ bound | werf-like ÷ bound | FIFO ÷ bound \
         | Conveyor ÷ werf-like | sched ms |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    for c in cells {
        md.push_str(&format!(
            "| {} | {} | {} | {:.0} | {} | {} | {} | {} | {:.0} |\n",
            c.shape.name(),
            c.stages,
            c.workers,
            c.bound_s.median,
            stat(&c.conveyor, 3),
            stat(&c.werf, 2),
            stat(&c.fifo, 3),
            stat(&c.vs_werf, 3),
            c.sched_ms.median,
        ));
    }
    if let Some(w) = cells.get(summary.worst) {
        md.push_str(&format!(
            "\nmaxRatioToBound = **{:.4}** (worst cell: {}, {} stages, W={}); target ≤ {}: {}\n",
            summary.max_ratio_to_bound,
            w.shape.name(),
            w.stages,
            w.workers,
            MAX_RATIO_TARGET,
            verdict(summary.max_ratio_to_bound <= MAX_RATIO_TARGET)
        ));
    }
    md.push_str(&format!(
        "\ngeomeanRatioToWerf = **{:.4}** (geometric mean over the {} cells of Conveyor ÷ \
         werf-like); target ≤ {}: {}\n",
        summary.geomean_ratio_to_werf,
        cells.len(),
        GEOMEAN_TARGET,
        verdict(summary.geomean_ratio_to_werf <= GEOMEAN_TARGET)
    ));
    md
}

fn stat_json(s: &Stat) -> Value {
    json!({"median": s.median, "min": s.min, "max": s.max})
}

/// The JSON object: the headline figures at the top level, then every cell.
pub fn json(grid: &Grid, command: &str, cells: &[Cell], summary: &Summary) -> Value {
    let cells_json: Vec<Value> = cells
        .iter()
        .map(|c| {
            json!({
                "shape": c.shape.name(), "stages": c.stages, "workers": c.workers,
                "boundSeconds": stat_json(&c.bound_s),
                "conveyorRatioToBound": stat_json(&c.conveyor),
                "werfRatioToBound": stat_json(&c.werf),
                "fifoRatioToBound": stat_json(&c.fifo),
                "conveyorRatioToWerf": stat_json(&c.vs_werf),
                "schedulerMs": stat_json(&c.sched_ms),
                "tickRounds": stat_json(&c.ticks),
            })
        })
        .collect();
    let worst = cells
        .get(summary.worst)
        .map(|w| json!({"shape": w.shape.name(), "stages": w.stages, "workers": w.workers}));
    json!({
        "bench": "sim",
        "maxRatioToBound": summary.max_ratio_to_bound,
        "geomeanRatioToWerf": summary.geomean_ratio_to_werf,
        "worstCell": worst,
        "targets": {
            "maxRatioToBound": MAX_RATIO_TARGET,
            "geomeanRatioToWerf": GEOMEAN_TARGET,
            "met": summary.max_ratio_to_bound <= MAX_RATIO_TARGET
                && summary.geomean_ratio_to_werf <= GEOMEAN_TARGET,
        },
        "command": command,
        "runs": grid.runs,
        "seed": grid.seed,
        "estimateNoise": grid.noise,
        "cells": cells_json,
    })
}

/// Writes `DIR/NAME-SHAPE-STAGES.png` (ratio to bound against W, one line per policy) for
/// each shape and size, and `DIR/NAME-vs-werf.png`. Returns the paths written.
pub fn plots(dir: &Path, name: &str, grid: &Grid, cells: &[Cell]) -> Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir)?;
    let mut written = Vec::new();
    let line = |label: &str, of: &dyn Fn(&Cell) -> f64, group: &[&Cell]| Series {
        name: label.to_string(),
        points: group.iter().map(|c| (c.workers as f64, of(c))).collect(),
    };
    let mut vs_werf = Vec::new();
    for &shape in &grid.shapes {
        for &stages in &grid.stages {
            let group: Vec<&Cell> = cells
                .iter()
                .filter(|c| c.shape == shape && c.stages == stages)
                .collect();
            if group.is_empty() {
                continue;
            }
            // Conveyor last, so it is drawn on top where the lines meet.
            let series = [
                line("werf-like", &|c| c.werf.median, &group),
                line("FIFO", &|c| c.fifo.median, &group),
                line("Conveyor", &|c| c.conveyor.median, &group),
            ];
            let path = dir.join(format!("{name}-{}-{stages}.png", shape.name()));
            let chart = Chart {
                title: format!("{}, {stages} stages: makespan ÷ bound", shape.name()),
                x_label: "workers (W)".into(),
                y_label: "makespan ÷ bound (median)".into(),
                log_x: true,
                legend: Corner::UpperLeft,
            };
            line_chart(&path, &chart, &series)?;
            written.push(path);
            let label = format!("{} {stages}", shape.name());
            vs_werf.push(line(&label, &|c| c.vs_werf.median, &group));
        }
    }
    let path = dir.join(format!("{name}-vs-werf.png"));
    let chart = Chart {
        title: "Conveyor makespan ÷ werf-like makespan".into(),
        x_label: "workers (W)".into(),
        y_label: "ratio (median)".into(),
        log_x: true,
        legend: Corner::LowerLeft,
    };
    line_chart(&path, &chart, &vs_werf)?;
    written.push(path);
    Ok(written)
}
