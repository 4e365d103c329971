//! The ordered checks every webhook request goes through, each run only if all before
//! it passed, and the commit of its executions at the end.

use std::{net::SocketAddr, sync::Arc, time::SystemTime};

use bytes::Bytes;
use http::Request;
use sluice_proto::ids::WorkflowId;
use tracing::Span;
use uuid::Uuid;

use crate::{
    body::{self, media::MediaType},
    cache::Lookup,
    client_ip::client_ip,
    commit::{RequestFacts, commit},
    dedup_key, envelope, handshake,
    limits::Admission,
    metrics::CacheLookup,
    query,
    response::{Answer, Reject},
    route,
    service::Ingress,
    trigger,
    webhook::{ApiKeyCheck, TriggerMethod, Webhook},
};

const API_KEY_HEADER: &str = "x-tracecat-api-key";

/// Runs a request through the checks and, when they all pass, commits its executions.
pub async fn process<B>(
    ingress: &Ingress,
    request: Request<B>,
    peer: SocketAddr,
) -> Result<Answer, Reject>
where
    B: hyper::body::Body<Data = Bytes>,
{
    let received_at = SystemTime::now();
    let (parts, body) = request.into_parts();
    let settings = &ingress.settings;
    let span = Span::current();

    let route = route::parse(parts.uri.path(), &settings.path_prefix).ok_or(Reject::NotFound)?;
    // An id that names no workflow gets the same answer as a wrong secret.
    let workflow = WorkflowId::parse(route.workflow_id).ok_or(Reject::Unauthorized)?;
    span.record("workflow", tracing::field::display(workflow));
    span.record(
        "path",
        format!("/webhooks/{}/<redacted>", route.workflow_id),
    );

    // Step 1: the webhook exists and the secret matches.
    let webhook = ingress.webhook(workflow.uuid()).await?;
    if !webhook.secret_matches(route.secret) {
        return Err(Reject::Unauthorized);
    }

    // Methods other than the trigger methods are answered right after step 1.
    let method = parts.method.as_str().to_ascii_uppercase();
    let trigger_method = match method.as_str() {
        "OPTIONS" => {
            return Ok(Answer::Options {
                allow: webhook.allow_header(),
            });
        }
        "HEAD" => None,
        other => Some(TriggerMethod::parse(other).ok_or_else(|| not_allowed(&webhook))?),
    };

    // Step 2: online.
    if !webhook.online {
        return Err(Reject::Offline);
    }

    // Step 3: the webhook accepts this method (HEAD skips it).
    if let Some(method) = trigger_method
        && !webhook.allows_method(method)
    {
        return Err(not_allowed(&webhook));
    }

    // Step 4: the IP allowlist.
    let client = client_ip(peer.ip(), &parts.headers, &settings.trusted_proxies);
    if !webhook.allowlist_admits(client) {
        return Err(Reject::NotAllowlisted);
    }

    // Step 5: the API key.
    let presented = parts
        .headers
        .get(API_KEY_HEADER)
        .and_then(|value| value.to_str().ok());
    let api_key_used = match webhook.check_api_key(presented) {
        ApiKeyCheck::Refused => return Err(Reject::Unauthorized),
        ApiKeyCheck::Matched => true,
        ApiKeyCheck::NotRequired => false,
    };

    // A reachability check ends here and never creates an execution.
    let Some(trigger_method) = trigger_method else {
        return Ok(Answer::Empty);
    };

    // Step 6: the query string.
    let query = query::parse(parts.uri.query())?;

    // The webhook's rate limit, counted only for requests that reached the webhook.
    // When it is exhausted a handshake may still draw on its own reserve, so the check
    // is finished where each kind of handshake is recognised.
    let exhausted = ingress
        .rate
        .as_ref()
        .and_then(|rate| match rate.admit(webhook.workflow_id) {
            Admission::Admitted => None,
            Admission::Exhausted { retry_after } => {
                Some(retry_after.as_secs_f64().ceil().max(1.0) as u64)
            }
        });
    let limited = |retry_after_seconds| Reject::RateLimited {
        retry_after_seconds,
    };
    let handshake_reserve = |retry_after_seconds| {
        let admitted = ingress
            .rate
            .as_ref()
            .is_some_and(|rate| rate.admit_handshake(webhook.workflow_id));
        if admitted {
            Ok(())
        } else {
            Err(limited(retry_after_seconds))
        }
    };

    // Step 7: Okta's verification.
    if let Some(verification) = handshake::okta_challenge(&query, &parts.headers) {
        if let Some(retry_after) = exhausted {
            handshake_reserve(retry_after)?;
        }
        return Ok(Answer::OktaVerification(verification));
    }
    // Only a JSON body can be Slack's handshake; anything else is refused unread.
    let media = MediaType::from_headers(&parts.headers);
    if let Some(retry_after) = exhausted
        && !media.is_json_or_absent()
    {
        return Err(limited(retry_after));
    }

    // Step 8: the body, within the limits.
    let receiving = body::receive(body, &parts.headers, settings.max_body_bytes);
    let body = match tokio::time::timeout(settings.body_read_timeout, receiving).await {
        Ok(received) => received?,
        Err(_) => return Err(Reject::BodyTimeout),
    };

    // The body is parsed once, here; its failure is reported at step 11, after the
    // handshake and the published check that come first.
    let parsed = trigger::parse(&body, media.format(), settings.max_ndjson_lines, query.echo);

    // Step 9: Slack's url_verification.
    if media.is_json_or_absent()
        && let Ok(trigger::Payload::Json(value)) = &parsed
        && let Some(challenge) = handshake::slack_challenge(value)
    {
        if let Some(retry_after) = exhausted {
            handshake_reserve(retry_after)?;
        }
        return Ok(Answer::SlackChallenge(challenge.to_owned()));
    }
    if let Some(retry_after) = exhausted {
        return Err(limited(retry_after));
    }

    // Step 10: something to run.
    if webhook.published_version.is_none() {
        return Err(Reject::NotPublished);
    }

    // Step 11: the body parses for its media type.
    let payload = parsed?;
    let dedup_key = dedup_key::find(&parts.headers, &payload);
    let headers_json = webhook
        .include_headers
        .then(|| envelope::headers_json(&parts.headers));
    let triggers = trigger::build(payload, body, headers_json.as_deref(), query.echo)?;

    // Step 12: commit.
    let facts = RequestFacts {
        received_at,
        client_ip: client,
        method: trigger_method.as_str(),
        media_type: media.as_str().to_owned(),
        api_key_used,
        dedup_key,
    };
    let committed = match commit(&ingress.control, &webhook, triggers.texts, facts).await {
        Ok(committed) => committed,
        Err(reject) => {
            // The control plane knew better than our copy of the configuration.
            if matches!(
                reject,
                Reject::Offline | Reject::NotPublished | Reject::Unauthorized
            ) {
                ingress.cache.forget(webhook.workflow_id);
            }
            return Err(reject);
        }
    };
    if let Some(last) = committed.wf_exec_ids.last() {
        span.record("wf_exec_id", last.as_str());
    }

    if query.wants_empty_answer() {
        return Ok(Answer::Empty);
    }
    Ok(Answer::Created {
        wf_id: committed.wf_id,
        wf_exec_ids: committed.wf_exec_ids,
        list_ids: triggers.one_per_line,
        payload: triggers.echo,
    })
}

fn not_allowed(webhook: &Webhook) -> Reject {
    Reject::MethodNotAllowed {
        allow: webhook.allow_header(),
    }
}

impl Ingress {
    /// The webhook of a workflow, from the cache when it can be trusted, else fetched.
    async fn webhook(&self, workflow_id: Uuid) -> Result<Arc<Webhook>, Reject> {
        let lookup = self.cache.get(workflow_id);
        self.metrics.cache_lookup(match lookup {
            Lookup::Present(_) | Lookup::Absent => CacheLookup::Hit,
            Lookup::Missing(_) => CacheLookup::Miss,
        });
        let ticket = match lookup {
            Lookup::Present(webhook) => return Ok(webhook),
            Lookup::Absent => return Err(Reject::Unauthorized),
            Lookup::Missing(ticket) => ticket,
        };
        let config = self
            .control
            .webhook_config(workflow_id)
            .await
            .map_err(|_| Reject::Unavailable)?;
        let Some(config) = config else {
            self.cache.insert_absent(ticket, workflow_id);
            return Err(Reject::Unauthorized);
        };
        let webhook = Arc::new(Webhook::from_config(config, workflow_id));
        self.cache.insert(ticket, Arc::clone(&webhook));
        Ok(webhook)
    }
}
