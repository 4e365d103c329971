//! The `Worker` gRPC service.

use sluice_proto::v1::{self, complete_request::Result as Outcome, worker_server::Worker};
use tokio::sync::watch;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status};

use super::{
    limits,
    queue::{self, WorkerError},
    subscribe::{self, Subscription},
};
use crate::{
    error::{self, Error},
    store::Store,
    watch::Arrivals,
};

pub struct WorkerService {
    store: Store,
    arrivals: Arrivals,
    shutdown: watch::Receiver<bool>,
}

impl WorkerService {
    pub fn new(store: Store, arrivals: Arrivals, shutdown: watch::Receiver<bool>) -> Self {
        Self {
            store,
            arrivals,
            shutdown,
        }
    }

    fn status(&self, error: Error) -> Status {
        error::status(error, &self.store)
    }
}

#[tonic::async_trait]
impl Worker for WorkerService {
    #[tracing::instrument(
        name = "Worker.Lease",
        skip_all,
        fields(worker_id = %request.get_ref().worker_id)
    )]
    async fn lease(
        &self,
        request: Request<v1::LeaseRequest>,
    ) -> Result<Response<v1::LeaseResponse>, Status> {
        let request = request.into_inner();
        let leased = async {
            let worker = limits::worker_id(&request.worker_id)?;
            let limit = limits::batch(request.max_executions)?;
            let duration = limits::lease(request.lease_duration)?;
            let client = self.store.client().await?;
            queue::lease(&client, worker, limit, duration).await
        };
        match leased.await {
            Ok(executions) => Ok(Response::new(v1::LeaseResponse { executions })),
            Err(error) => Err(self.status(error)),
        }
    }

    #[tracing::instrument(
        name = "Worker.ExtendLease",
        skip_all,
        fields(worker_id = %request.get_ref().worker_id)
    )]
    async fn extend_lease(
        &self,
        request: Request<v1::ExtendLeaseRequest>,
    ) -> Result<Response<v1::ExtendLeaseResponse>, Status> {
        let request = request.into_inner();
        let extended = async {
            let worker = limits::worker_id(&request.worker_id)?;
            let duration = limits::lease(request.lease_duration)?;
            let client = self.store.client().await?;
            queue::extend(&client, worker, &request.wf_exec_ids, duration).await
        };
        match extended.await {
            Ok((wf_exec_ids, expires_at)) => Ok(Response::new(v1::ExtendLeaseResponse {
                wf_exec_ids,
                lease_expires_at: expires_at.map(Into::into),
            })),
            Err(error) => Err(self.status(error)),
        }
    }

    #[tracing::instrument(
        name = "Worker.Complete",
        skip_all,
        fields(
            worker_id = %request.get_ref().worker_id,
            wf_exec_id = %request.get_ref().wf_exec_id,
        )
    )]
    async fn complete(
        &self,
        request: Request<v1::CompleteRequest>,
    ) -> Result<Response<v1::CompleteResponse>, Status> {
        let request = request.into_inner();
        let completed = async {
            let worker = limits::worker_id(&request.worker_id)?;
            let failure = match &request.result {
                Some(Outcome::Succeeded(_)) => None,
                Some(Outcome::Failed(failed)) if failed.reason.len() > limits::MAX_REASON_BYTES => {
                    return Err(Error::invalid("reason must be at most 4096 bytes").into());
                }
                Some(Outcome::Failed(failed)) => Some(failed.reason.as_str()),
                None => {
                    return Err(Error::invalid("result must be succeeded or failed").into());
                }
            };
            let client = self.store.client().await.map_err(Error::from)?;
            queue::complete(&client, worker, &request.wf_exec_id, failure).await
        };
        match completed.await {
            Ok(status) => Ok(Response::new(v1::CompleteResponse {
                status: status.to_owned(),
            })),
            Err(WorkerError::NotHeld(reason)) => Err(Status::failed_precondition(reason)),
            Err(WorkerError::Control(error)) => Err(self.status(error)),
        }
    }

    type SubscribeStream = ReceiverStream<Result<v1::LeaseResponse, Status>>;

    #[tracing::instrument(
        name = "Worker.Subscribe",
        skip_all,
        fields(worker_id = %request.get_ref().worker_id)
    )]
    async fn subscribe(
        &self,
        request: Request<v1::SubscribeRequest>,
    ) -> Result<Response<Self::SubscribeStream>, Status> {
        let request = request.into_inner();
        let subscription = (|| {
            Ok::<_, Error>(Subscription {
                worker: limits::worker_id(&request.worker_id)?.to_owned(),
                limit: limits::batch(request.max_executions)?,
                lease: limits::lease(request.lease_duration)?,
            })
        })()
        .map_err(|error| self.status(error))?;
        Ok(Response::new(subscribe::lease_stream(
            self.store.clone(),
            &self.arrivals,
            self.shutdown.clone(),
            subscription,
        )))
    }
}
