//! The image configuration a stage commit writes.
//!
//! A commit sends the engine a full configuration (the base image's, plus the conveyor labels)
//! and werf's docker instructions as Dockerfile lines in the commit's `changes`, so the engine
//! applies them with Dockerfile semantics (`$VAR` expansion in ENV and LABEL, ENTRYPOINT
//! resetting an inherited CMD, relative WORKDIR), as `docker commit --change` does for werf.
//!
//! The engine fills fields left empty in that configuration from the build container's own
//! configuration, whose entrypoint is our `/bin/sh -ec SCRIPT`; so the entrypoint and cmd are
//! always sent explicitly, empty lists included, and never leak into the image.

use std::collections::HashMap;

use bollard::models::{ContainerConfig, ImageConfig};
use conveyor_proto::v1::{DockerInstructions, StageTask};

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("docker instruction {instruction}: {value:?} holds a line break")]
    LineBreak { instruction: String, value: String },
    #[error("docker instruction EXPOSE: {0:?} is not a port")]
    BadPort(String),
}

/// The labels every stage image carries.
pub fn conveyor_labels(task: &StageTask) -> Vec<(String, String)> {
    vec![
        ("conveyor.signature".into(), task.signature.clone()),
        ("conveyor.parent".into(), task.parent_signature.clone()),
        ("conveyor.project".into(), task.project.clone()),
        ("conveyor.stage".into(), task.stage.clone()),
    ]
}

/// The configuration sent with the commit: the base image's, with the conveyor labels.
pub fn commit_body(base: &ImageConfig, labels: &[(String, String)]) -> ContainerConfig {
    let mut all: HashMap<String, String> = base.labels.clone().unwrap_or_default();
    all.extend(labels.iter().cloned());
    ContainerConfig {
        user: Some(base.user.clone().unwrap_or_default()),
        exposed_ports: base.exposed_ports.clone(),
        env: base.env.clone(),
        cmd: Some(base.cmd.clone().unwrap_or_default()),
        healthcheck: base.healthcheck.clone(),
        args_escaped: base.args_escaped,
        volumes: base.volumes.clone(),
        working_dir: Some(base.working_dir.clone().unwrap_or_default()),
        entrypoint: Some(base.entrypoint.clone().unwrap_or_default()),
        on_build: base.on_build.clone(),
        labels: Some(all),
        stop_signal: base.stop_signal.clone(),
        shell: base.shell.clone(),
        ..Default::default()
    }
}

/// werf's docker instructions as Dockerfile lines, in Dockerfile order; conveyor labels last
/// so that a user LABEL cannot overwrite them.
pub fn changes(
    docker: Option<&DockerInstructions>,
    labels: &[(String, String)],
) -> Result<Vec<String>, ConfigError> {
    let mut out = Vec::new();
    if let Some(d) = docker {
        for (key, value) in sorted(&d.env) {
            out.push(format!(
                "ENV {}={}",
                quoted("ENV", key)?,
                quoted("ENV", value)?
            ));
        }
        for (key, value) in sorted(&d.label) {
            out.push(format!(
                "LABEL {}={}",
                quoted("LABEL", key)?,
                quoted("LABEL", value)?
            ));
        }
        if !d.expose.is_empty() {
            for port in &d.expose {
                let ok = !port.is_empty()
                    && port
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || "/-".contains(c));
                if !ok {
                    return Err(ConfigError::BadPort(port.clone()));
                }
            }
            out.push(format!("EXPOSE {}", d.expose.join(" ")));
        }
        if !d.volume.is_empty() {
            out.push(format!("VOLUME {}", json_array(&d.volume)));
        }
        if !d.workdir.is_empty() {
            out.push(format!("WORKDIR {}", one_line("WORKDIR", &d.workdir)?));
        }
        if !d.user.is_empty() {
            out.push(format!("USER {}", one_line("USER", &d.user)?));
        }
        if !d.entrypoint.is_empty() {
            out.push(format!("ENTRYPOINT {}", json_array(&d.entrypoint)));
        }
        if !d.cmd.is_empty() {
            out.push(format!("CMD {}", json_array(&d.cmd)));
        }
        if !d.healthcheck.is_empty() {
            out.push(format!(
                "HEALTHCHECK {}",
                one_line("HEALTHCHECK", &d.healthcheck)?
            ));
        }
    }
    for (key, value) in labels {
        out.push(format!(
            "LABEL {}={}",
            quoted("LABEL", key)?,
            quoted("LABEL", value)?
        ));
    }
    Ok(out)
}

fn sorted(map: &HashMap<String, String>) -> Vec<(&String, &String)> {
    let mut pairs: Vec<_> = map.iter().collect();
    pairs.sort();
    pairs
}

fn one_line<'a>(instruction: &str, value: &'a str) -> Result<&'a str, ConfigError> {
    if value.contains(['\n', '\r']) {
        return Err(ConfigError::LineBreak {
            instruction: instruction.to_string(),
            value: value.to_string(),
        });
    }
    Ok(value.trim())
}

/// A Dockerfile double-quoted word: `"` and `\` escaped, `$` left for expansion.
fn quoted(instruction: &str, value: &str) -> Result<String, ConfigError> {
    let value = one_line(instruction, value)?;
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    Ok(out)
}

/// A JSON array of strings: Dockerfile's exec form.
fn json_array(items: &[String]) -> String {
    let parts: Vec<String> = items.iter().map(|s| json_string(s)).collect();
    format!("[{}]", parts.join(", "))
}

fn json_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instructions_become_dockerfile_lines() {
        let d = DockerInstructions {
            env: HashMap::from([
                ("PATH".into(), "/app/bin:$PATH".into()),
                ("Q".into(), "say \"hi\" \\o/".into()),
            ]),
            label: HashMap::from([("team".into(), "core".into())]),
            expose: vec!["80/tcp".into(), "8080".into()],
            volume: vec!["/data".into()],
            entrypoint: vec!["/bin/sh".into(), "-c".into(), "echo \"$X\"\n".into()],
            workdir: "/app".into(),
            user: "app".into(),
            healthcheck: "--interval=5s CMD true".into(),
            ..Default::default()
        };
        let labels = vec![("conveyor.signature".to_string(), "abc".to_string())];
        assert_eq!(
            changes(Some(&d), &labels).unwrap(),
            vec![
                r#"ENV "PATH"="/app/bin:$PATH""#,
                r#"ENV "Q"="say \"hi\" \\o/""#,
                r#"LABEL "team"="core""#,
                "EXPOSE 80/tcp 8080",
                r#"VOLUME ["/data"]"#,
                "WORKDIR /app",
                "USER app",
                r#"ENTRYPOINT ["/bin/sh", "-c", "echo \"$X\"\n"]"#,
                "HEALTHCHECK --interval=5s CMD true",
                r#"LABEL "conveyor.signature"="abc""#,
            ]
        );
    }

    #[test]
    fn line_breaks_and_bad_ports_are_refused() {
        let d = DockerInstructions {
            env: HashMap::from([("A".into(), "x\nRUN rm -rf /".into())]),
            ..Default::default()
        };
        assert!(matches!(
            changes(Some(&d), &[]),
            Err(ConfigError::LineBreak { .. })
        ));
        let d = DockerInstructions {
            expose: vec!["80 && x".into()],
            ..Default::default()
        };
        assert!(matches!(
            changes(Some(&d), &[]),
            Err(ConfigError::BadPort(_))
        ));
    }

    #[test]
    fn entrypoint_and_cmd_are_always_explicit() {
        let body = commit_body(&ImageConfig::default(), &[("a".into(), "b".into())]);
        assert_eq!(body.entrypoint, Some(vec![]));
        assert_eq!(body.cmd, Some(vec![]));
        assert_eq!(body.labels.unwrap()["a"], "b");
    }
}
