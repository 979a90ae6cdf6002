//! `conveyor.v1.Builds`: the client-facing service. Planning-only calls (`Render`, `Plan`)
//! are answered here; build calls go to the server's state task through its [`Handle`].

use conveyor_proto::v1::builds_server::Builds;
use conveyor_proto::v1::{
    BuildEvents, BuildInfo, CancelRequest, CancelResponse, GetRequest, PlanRequest, PlanResponse,
    Project, RenderRequest, RenderResponse, StageStatus, SubmitRequest, SubmitResponse,
    WatchRequest,
};
use tokio_stream::StreamExt;
use tonic::{Request, Response, Status};

use crate::front;
use crate::plan::output;
use crate::server::{Batches, Handle};

/// The `Builds` service.
#[derive(Clone)]
pub struct BuildsService {
    server: Handle,
}

impl BuildsService {
    pub fn new(server: Handle) -> BuildsService {
        BuildsService { server }
    }
}

#[tonic::async_trait]
impl Builds for BuildsService {
    async fn render(
        &self,
        request: Request<RenderRequest>,
    ) -> Result<Response<RenderResponse>, Status> {
        let r = request.into_inner();
        let project = Project {
            config_name: r.config_name,
            config: r.config,
            files: r.files,
            env: r.env,
        };
        let rendered = front::render_project(project)
            .await
            .map_err(|e| e.status())?;
        Ok(Response::new(RenderResponse { rendered }))
    }

    async fn plan(&self, request: Request<PlanRequest>) -> Result<Response<PlanResponse>, Status> {
        let project = request
            .into_inner()
            .project
            .ok_or_else(|| Status::invalid_argument("The request has no project"))?;
        let (_, plan) = front::plan_project(project).await.map_err(|e| e.status())?;
        let store = self.server.store();
        let mut stages = vec![];
        for image in &plan.images {
            for stage in &image.stages {
                let cached = store
                    .stage(&stage.signature)
                    .map_err(|e| Status::unavailable(e.to_string()))?
                    .is_some();
                stages.push(StageStatus {
                    image: image.name.clone(),
                    stage: stage.name.to_string(),
                    signature: stage.signature.clone(),
                    cached,
                });
            }
        }
        Ok(Response::new(PlanResponse {
            plan_json: output::json(&plan),
            stages,
        }))
    }

    async fn submit(
        &self,
        request: Request<SubmitRequest>,
    ) -> Result<Response<SubmitResponse>, Status> {
        let build_id = self.server.submit(request.into_inner()).await?;
        Ok(Response::new(SubmitResponse { build_id }))
    }

    /// The build's shared events, copied into messages as the stream sends them.
    type WatchStream = std::pin::Pin<
        Box<dyn tokio_stream::Stream<Item = Result<BuildEvents, Status>> + Send + 'static>,
    >;

    async fn watch(
        &self,
        request: Request<WatchRequest>,
    ) -> Result<Response<Self::WatchStream>, Status> {
        let r = request.into_inner();
        let rx = self.server.watch(r.build_id.clone(), r.after).await?;
        let events = Batches::new(rx, r.build_id).map(Ok);
        Ok(Response::new(Box::pin(events)))
    }

    async fn get(&self, request: Request<GetRequest>) -> Result<Response<BuildInfo>, Status> {
        Ok(Response::new(
            self.server.get(request.into_inner().build_id).await?,
        ))
    }

    async fn cancel(
        &self,
        request: Request<CancelRequest>,
    ) -> Result<Response<CancelResponse>, Status> {
        self.server.cancel(request.into_inner().build_id).await?;
        Ok(Response::new(CancelResponse {}))
    }
}
