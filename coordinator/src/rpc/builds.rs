//! `conveyor.v1.Builds`: the client-facing service.

use std::collections::BTreeMap;

use conveyor_proto::v1::builds_server::Builds;
use conveyor_proto::v1::{RenderRequest, RenderResponse};
use tonic::{Request, Response, Status};

use crate::config::render::{render, FileSource, RenderInput};

/// A project's files as a client sent them (slash paths relative to the project dir).
struct SentFiles(BTreeMap<String, Vec<u8>>);

impl FileSource for SentFiles {
    fn read(&self, path: &str) -> Option<Vec<u8>> {
        self.0.get(path).cloned()
    }
    fn list(&self) -> Vec<String> {
        self.0.keys().cloned().collect()
    }
}

/// The `Builds` service.
#[derive(Debug, Default, Clone)]
pub struct BuildsService;

#[tonic::async_trait]
impl Builds for BuildsService {
    async fn render(
        &self,
        request: Request<RenderRequest>,
    ) -> Result<Response<RenderResponse>, Status> {
        let req = request.into_inner();
        let name = if req.config_name.is_empty() {
            "werf.yaml".to_string()
        } else {
            req.config_name
        };
        let rendered = tokio::task::spawn_blocking(move || {
            let files = SentFiles(req.files.into_iter().collect());
            let env = |k: &str| req.env.get(k).cloned();
            let input = RenderInput {
                config_name: &name,
                config: &req.config,
                files: &files,
                env: &env,
            };
            // A template error is the user's: INVALID_ARGUMENT with the `werf.yaml:LINE` text.
            render(&input)
                .map(|r| r.text)
                .map_err(|e| Status::invalid_argument(e.to_string()))
        })
        .await
        .map_err(|e| Status::internal(format!("Rendering stopped: {e}")))??;
        Ok(Response::new(RenderResponse { rendered }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use conveyor_proto::v1::builds_client::BuildsClient;
    use conveyor_proto::v1::builds_server::BuildsServer;

    #[tokio::test]
    async fn renders_over_grpc_with_sent_files_and_env() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(
            tonic::transport::Server::builder()
                .add_service(BuildsServer::new(BuildsService))
                .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener)),
        );
        let mut client = BuildsClient::connect(format!("http://{addr}"))
            .await
            .unwrap();
        let ok = client
            .render(RenderRequest {
                config_name: "werf.yaml".into(),
                config: "v: {{ .Files.Get \"VERSION\" | trim }}-{{ env \"STAGE\" }}\n".into(),
                files: [("VERSION".to_string(), b"1.2\n".to_vec())].into(),
                env: [("STAGE".to_string(), "ci".to_string())].into(),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(ok.rendered, "v: 1.2-ci\n");
        let err = client
            .render(RenderRequest {
                config: "a\n{{ if }}".into(),
                ..Default::default()
            })
            .await
            .unwrap_err();
        assert_eq!(err.code(), tonic::Code::InvalidArgument);
        assert_eq!(err.message(), "werf.yaml:2: missing value for if");
        server.abort();
    }
}
