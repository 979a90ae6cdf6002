//! `conveyor.v1.Workers`: one bidirectional stream per worker. The first message must be a
//! hello; after it, every message goes to the state task, and the end of the stream (or an
//! error on it) counts as the worker going away.

use std::pin::Pin;

use conveyor_proto::v1::workers_server::Workers;
use conveyor_proto::v1::{worker_message, CoordinatorMessage, WorkerMessage};
use tokio_stream::wrappers::ReceiverStream;
use tokio_stream::{Stream, StreamExt};
use tonic::{Request, Response, Status, Streaming};

use crate::server::Handle;

/// The `Workers` service.
#[derive(Clone)]
pub struct WorkersService {
    server: Handle,
}

impl WorkersService {
    pub fn new(server: Handle) -> WorkersService {
        WorkersService { server }
    }
}

/// Messages to one worker, bounded: a worker that stops reading is dropped, not buffered.
/// The bound is at least twice its slots (one assignment per free slot in a turn, and their
/// cancels), so that a burst of ready stages never looks like a worker that stopped reading.
const OUTBOX: usize = 256;
/// The largest outbox, whatever slots a worker claims.
const MAX_OUTBOX: usize = 1 << 16;

#[tonic::async_trait]
impl Workers for WorkersService {
    type AttachStream =
        Pin<Box<dyn Stream<Item = Result<CoordinatorMessage, Status>> + Send + 'static>>;

    async fn attach(
        &self,
        request: Request<Streaming<WorkerMessage>>,
    ) -> Result<Response<Self::AttachStream>, Status> {
        let mut inbound = request.into_inner();
        let hello = match inbound.next().await {
            Some(Ok(WorkerMessage {
                msg: Some(worker_message::Msg::Hello(hello)),
            })) if !hello.name.is_empty() => hello,
            Some(Err(e)) => return Err(e),
            _ => {
                return Err(Status::invalid_argument(
                    "A worker stream must open with a hello naming the worker",
                ))
            }
        };
        let capacity = (hello.slots as usize)
            .saturating_mul(2)
            .clamp(OUTBOX, MAX_OUTBOX);
        let (tx, rx) = tokio::sync::mpsc::channel(capacity);
        let conn = self.server.worker_hello(hello, tx).await?;
        let server = self.server.clone();
        tokio::spawn(async move {
            while let Some(Ok(msg)) = inbound.next().await {
                server.worker_message(conn, msg).await;
            }
            server.worker_gone(conn).await;
        });
        // Messages become protobuf here, on the stream's task (see `ToWorker`).
        let outgoing = ReceiverStream::new(rx).map(|m| Ok(m.into_message()));
        Ok(Response::new(Box::pin(outgoing)))
    }
}
