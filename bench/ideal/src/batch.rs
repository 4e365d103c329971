//! Adaptive group commit: a few writers, each taking everything queued when it is
//! free and writing it with one multi-row insert in one transaction.

use std::sync::Arc;

use anyhow::Context;
use tokio::sync::{Mutex, mpsc, oneshot};
use tokio_postgres::{Client, NoTls};
use uuid::Uuid;

const MAX_BATCH: usize = 1_024;

type Job = (String, oneshot::Sender<Result<Uuid, ()>>);

pub struct Batcher {
    queue: mpsc::UnboundedSender<Job>,
}

impl Batcher {
    pub async fn start(database_url: &str, writers: usize) -> anyhow::Result<Self> {
        let (queue, jobs) = mpsc::unbounded_channel();
        let jobs = Arc::new(Mutex::new(jobs));
        for _ in 0..writers.max(1) {
            let (client, connection) = tokio_postgres::connect(database_url, NoTls)
                .await
                .context("connect to PostgreSQL")?;
            tokio::spawn(connection);
            tokio::spawn(writer(client, jobs.clone()));
        }
        Ok(Self { queue })
    }

    pub async fn commit(&self, trigger: String) -> Result<Uuid, ()> {
        let (reply, answer) = oneshot::channel();
        self.queue.send((trigger, reply)).map_err(|_| ())?;
        answer.await.map_err(|_| ())?
    }
}

async fn writer(mut client: Client, jobs: Arc<Mutex<mpsc::UnboundedReceiver<Job>>>) {
    let Ok(insert) = client
        .prepare(
            "INSERT INTO ideal_executions (id, request_id, trigger, received_at)
             SELECT id, request_id, trigger::jsonb, now()
             FROM unnest($1::uuid[], $2::uuid[], $3::text[]) AS t(id, request_id, trigger)",
        )
        .await
    else {
        return;
    };
    loop {
        let batch = {
            let mut jobs = jobs.lock().await;
            let Some(first) = jobs.recv().await else {
                return;
            };
            let mut batch = vec![first];
            while batch.len() < MAX_BATCH {
                let Ok(job) = jobs.try_recv() else { break };
                batch.push(job);
            }
            batch
        };
        let ids: Vec<Uuid> = batch.iter().map(|_| Uuid::now_v7()).collect();
        let requests: Vec<Uuid> = batch.iter().map(|_| Uuid::now_v7()).collect();
        let triggers: Vec<&str> = batch.iter().map(|(trigger, _)| trigger.as_str()).collect();
        let result = async {
            let transaction = client.transaction().await?;
            transaction
                .execute(&insert, &[&ids, &requests, &triggers])
                .await?;
            transaction.commit().await
        }
        .await;
        let ok = result.is_ok();
        for ((_, reply), id) in batch.into_iter().zip(ids) {
            let _ = reply.send(if ok { Ok(id) } else { Err(()) });
        }
    }
}
