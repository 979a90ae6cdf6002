//! Connecting to a Docker engine.
//!
//! A worker drives exactly one engine, named by an endpoint such as
//! `unix:///var/run/docker.sock` (the default) or a bare socket path. Connecting negotiates the
//! API version so that Debian's Docker 20.10 (API 1.41) and newer engines both work. Note that
//! bollard sends unversioned request paths: an engine silently ignores parameters newer than
//! its API level, so features must be checked against the negotiated version, not by errors.

use bollard::Docker;

/// The engine endpoint used when none is given.
pub const DEFAULT_ENDPOINT: &str = "unix:///var/run/docker.sock";

/// How long one request to the engine may take before it counts as unreachable.
const REQUEST_TIMEOUT_SECS: u64 = 120;

/// What went wrong talking to the engine. Both are environment errors: the engine is missing,
/// stopped or refusing us, not the user's werf.yaml.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(
        "Unsupported Docker endpoint `{0}`: use `unix:///path/to/docker.sock` or a socket path"
    )]
    BadEndpoint(String),
    #[error("Docker engine at `{endpoint}` is unreachable: {source}")]
    Unreachable {
        endpoint: String,
        #[source]
        source: bollard::errors::Error,
    },
}

/// What the engine says about itself.
#[derive(Debug, Clone)]
pub struct EngineInfo {
    /// Engine version, e.g. `20.10.24+dfsg1`.
    pub version: String,
    /// The API version negotiated with it, e.g. `1.41`.
    pub api_version: String,
    /// `os/arch` of the engine, e.g. `linux/amd64`.
    pub platform: String,
}

/// Connects to the engine at `endpoint` and negotiates the API version.
pub async fn connect(endpoint: &str) -> Result<Docker, EngineError> {
    let path = socket_path(endpoint)?;
    let unreachable = |source| EngineError::Unreachable {
        endpoint: endpoint.to_string(),
        source,
    };
    let docker =
        Docker::connect_with_unix(path, REQUEST_TIMEOUT_SECS, bollard::API_DEFAULT_VERSION)
            .map_err(unreachable)?;
    docker.negotiate_version().await.map_err(unreachable)
}

/// Connects to the engine at `endpoint` (see [`connect`]) and asks it for its version and
/// platform (see [`info`]): what a worker says hello with.
pub async fn connect_with_info(endpoint: &str) -> Result<(Docker, EngineInfo), EngineError> {
    let docker = connect(endpoint).await?;
    let info = info(&docker, endpoint).await?;
    Ok((docker, info))
}

/// Asks a connected engine for its version and platform.
pub async fn info(docker: &Docker, endpoint: &str) -> Result<EngineInfo, EngineError> {
    let v = docker
        .version()
        .await
        .map_err(|source| EngineError::Unreachable {
            endpoint: endpoint.to_string(),
            source,
        })?;
    Ok(EngineInfo {
        version: v.version.unwrap_or_default(),
        api_version: docker.client_version().to_string(),
        platform: format!(
            "{}/{}",
            v.os.unwrap_or_default(),
            v.arch.unwrap_or_default()
        ),
    })
}

/// The socket path inside an endpoint: `unix:///x.sock` and `/x.sock` are accepted.
fn socket_path(endpoint: &str) -> Result<&str, EngineError> {
    if let Some(path) = endpoint.strip_prefix("unix://") {
        if path.starts_with('/') {
            return Ok(path);
        }
    } else if endpoint.starts_with('/') {
        return Ok(endpoint);
    }
    Err(EngineError::BadEndpoint(endpoint.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_are_unix_sockets() {
        assert_eq!(
            socket_path("unix:///var/run/docker.sock").unwrap(),
            "/var/run/docker.sock"
        );
        assert_eq!(socket_path("/tmp/e2.sock").unwrap(), "/tmp/e2.sock");
        for bad in [
            "tcp://127.0.0.1:2375",
            "unix://relative.sock",
            "docker.sock",
            "",
        ] {
            let err = socket_path(bad).unwrap_err();
            assert!(
                err.to_string().contains(&format!("`{bad}`")),
                "message names the endpoint: {err}"
            );
        }
    }
}
