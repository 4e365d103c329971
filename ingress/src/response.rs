//! Every answer the ingress gives, with its exact status and message, in one place.

use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode, header};
use http_body_util::Full;
use serde::Serialize;
use serde_json::Value;

use crate::{
    body::{BodyError, form::InvalidForm, json::InvalidJson, ndjson::NdjsonError},
    query::QueryError,
};

pub type ResponseBody = Full<Bytes>;

/// How long a sender is asked to wait before retrying after one of our own faults.
const RETRY_AFTER_SECONDS: &str = "1";

/// A request the ingress turns down. The message of each is what the sender reads in
/// `{"detail": …}`.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum Reject {
    #[error("Not found")]
    NotFound,
    /// No such webhook, a wrong secret, an unparsable workflow id, or a missing, wrong
    /// or revoked API key: one answer, so a prober learns nothing.
    #[error("Unauthorized webhook request")]
    Unauthorized,
    /// The client IP is outside the allowlist.
    #[error("Unauthorized webhook request")]
    NotAllowlisted,
    #[error("Webhook is offline")]
    Offline,
    #[error("Request method not allowed")]
    MethodNotAllowed { allow: String },
    #[error(transparent)]
    Query(#[from] QueryError),
    #[error("Payload too large")]
    PayloadTooLarge,
    #[error("Unsupported content encoding: {0}")]
    UnsupportedEncoding(String),
    #[error("Invalid compressed body")]
    InvalidCompressedBody,
    #[error("Invalid request body")]
    UnreadableBody,
    #[error("Invalid json payload")]
    InvalidJson,
    #[error("Invalid form data payload")]
    InvalidForm,
    #[error(transparent)]
    Ndjson(NdjsonError),
    #[error("Too many ndjson lines (limit {0})")]
    TooManyNdjsonLines(usize),
    #[error("No published workflow definition. Publish the workflow and try again.")]
    NotPublished,
    /// Our own fault (the control plane unreachable, slow or failing): the sender
    /// should retry, so this is never a 4xx.
    #[error("Service unavailable, retry later")]
    Unavailable,
    /// Too many requests in flight: shed before any work, answered like `Unavailable`.
    #[error("Service unavailable, retry later")]
    Overloaded,
    /// The body did not arrive within the body read timeout.
    #[error("Request body timeout")]
    BodyTimeout,
    /// The webhook's rate limit is reached; retry after the given seconds.
    #[error("Too many requests")]
    RateLimited { retry_after_seconds: u64 },
}

impl Reject {
    pub fn status(&self) -> StatusCode {
        match self {
            Self::NotFound | Self::NotPublished => StatusCode::NOT_FOUND,
            Self::Unauthorized => StatusCode::UNAUTHORIZED,
            Self::NotAllowlisted => StatusCode::FORBIDDEN,
            Self::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            Self::PayloadTooLarge | Self::TooManyNdjsonLines(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedEncoding(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::Unavailable | Self::Overloaded => StatusCode::SERVICE_UNAVAILABLE,
            Self::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::BodyTimeout => StatusCode::REQUEST_TIMEOUT,
            Self::Offline
            | Self::Query(_)
            | Self::InvalidCompressedBody
            | Self::UnreadableBody
            | Self::InvalidJson
            | Self::InvalidForm
            | Self::Ndjson(_) => StatusCode::BAD_REQUEST,
        }
    }

    /// A short stable label for traces.
    pub fn outcome(&self) -> &'static str {
        match self {
            Self::NotFound => "not_found",
            Self::Unauthorized => "unauthorized",
            Self::NotAllowlisted => "not_allowlisted",
            Self::Offline => "offline",
            Self::MethodNotAllowed { .. } => "method_not_allowed",
            Self::Query(_) => "invalid_query",
            Self::PayloadTooLarge | Self::TooManyNdjsonLines(_) => "too_large",
            Self::UnsupportedEncoding(_) => "unsupported_encoding",
            Self::InvalidCompressedBody => "invalid_compressed_body",
            Self::UnreadableBody => "unreadable_body",
            Self::InvalidJson | Self::InvalidForm | Self::Ndjson(_) => "invalid_payload",
            Self::NotPublished => "not_published",
            Self::Unavailable => "unavailable",
            Self::Overloaded => "overloaded",
            Self::RateLimited { .. } => "rate_limited",
            Self::BodyTimeout => "body_timeout",
        }
    }

    pub fn into_response(self) -> Response<ResponseBody> {
        let mut response = json_response(
            self.status(),
            &Detail {
                detail: &self.to_string(),
            },
        );
        let headers = response.headers_mut();
        match self {
            Self::MethodNotAllowed { allow } => {
                headers.insert(header::ALLOW, header_value(&allow));
            }
            Self::Unavailable | Self::Overloaded => {
                headers.insert(
                    header::RETRY_AFTER,
                    HeaderValue::from_static(RETRY_AFTER_SECONDS),
                );
            }
            Self::RateLimited {
                retry_after_seconds,
            } => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from(retry_after_seconds));
            }
            _ => {}
        }
        response
    }
}

impl From<BodyError> for Reject {
    fn from(error: BodyError) -> Self {
        match error {
            BodyError::UnsupportedEncoding(coding) => Self::UnsupportedEncoding(coding.0),
            BodyError::TooLarge => Self::PayloadTooLarge,
            BodyError::Corrupt => Self::InvalidCompressedBody,
            BodyError::Unreadable => Self::UnreadableBody,
        }
    }
}

impl From<InvalidJson> for Reject {
    fn from(_: InvalidJson) -> Self {
        Self::InvalidJson
    }
}

impl From<InvalidForm> for Reject {
    fn from(_: InvalidForm) -> Self {
        Self::InvalidForm
    }
}

impl From<NdjsonError> for Reject {
    fn from(error: NdjsonError) -> Self {
        match error {
            NdjsonError::TooManyLines { limit } => Self::TooManyNdjsonLines(limit),
            other => Self::Ndjson(other),
        }
    }
}

/// A request the ingress answered without turning it down.
#[derive(Debug, PartialEq)]
pub enum Answer {
    /// Every execution of the request is committed.
    Created {
        wf_id: String,
        /// One per trigger, in order.
        wf_exec_ids: Vec<String>,
        /// NDJSON answers list every execution id.
        list_ids: bool,
        /// The parsed body, when `echo` asked for it.
        payload: Option<Value>,
    },
    /// A 200 with no body: `echo` with `empty_echo`, and HEAD.
    Empty,
    /// A 204 to OPTIONS.
    Options { allow: String },
    /// `{"verification": …}` to Okta.
    OktaVerification(String),
    /// `{"challenge": …}` to Slack.
    SlackChallenge(String),
}

impl Answer {
    pub fn outcome(&self) -> &'static str {
        match self {
            Self::Created { .. } => "created",
            Self::Empty => "empty",
            Self::Options { .. } => "options",
            Self::OktaVerification(_) | Self::SlackChallenge(_) => "handshake",
        }
    }

    pub fn into_response(self) -> Response<ResponseBody> {
        match self {
            Self::Created {
                wf_id,
                wf_exec_ids,
                list_ids,
                payload,
            } => json_response(
                StatusCode::OK,
                &Created {
                    message: "Workflow execution created",
                    wf_id: &wf_id,
                    wf_exec_id: wf_exec_ids.last().map_or("", String::as_str),
                    wf_exec_ids: list_ids.then_some(wf_exec_ids.as_slice()),
                    payload: payload.as_ref(),
                },
            ),
            Self::Empty => empty_response(StatusCode::OK),
            Self::Options { allow } => {
                let mut response = empty_response(StatusCode::NO_CONTENT);
                response
                    .headers_mut()
                    .insert(header::ALLOW, header_value(&allow));
                response
            }
            Self::OktaVerification(verification) => json_response(
                StatusCode::OK,
                &serde_json::json!({ "verification": verification }),
            ),
            Self::SlackChallenge(challenge) => json_response(
                StatusCode::OK,
                &serde_json::json!({ "challenge": challenge }),
            ),
        }
    }
}

#[derive(Serialize)]
struct Detail<'a> {
    detail: &'a str,
}

#[derive(Serialize)]
struct Created<'a> {
    message: &'static str,
    wf_id: &'a str,
    wf_exec_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    wf_exec_ids: Option<&'a [String]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    payload: Option<&'a Value>,
}

fn json_response(status: StatusCode, body: &impl Serialize) -> Response<ResponseBody> {
    let body = serde_json::to_vec(body).expect("answer bodies always serialise");
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

fn empty_response(status: StatusCode) -> Response<ResponseBody> {
    let mut response = Response::new(Full::new(Bytes::new()));
    *response.status_mut() = status;
    response
}

/// Allow lists are built from method names, which are always valid header text.
fn header_value(text: &str) -> HeaderValue {
    HeaderValue::from_str(text).unwrap_or_else(|_| HeaderValue::from_static("HEAD, OPTIONS"))
}

#[cfg(test)]
mod tests {
    use http_body_util::BodyExt;

    use super::*;

    async fn parts(response: Response<ResponseBody>) -> (StatusCode, http::HeaderMap, String) {
        let (parts, body) = response.into_parts();
        let bytes = body.collect().await.unwrap().to_bytes();
        (
            parts.status,
            parts.headers,
            String::from_utf8(bytes.to_vec()).unwrap(),
        )
    }

    #[tokio::test]
    async fn rejections_carry_their_status_and_detail() {
        let (status, headers, body) = parts(Reject::NotPublished.into_response()).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(headers[header::CONTENT_TYPE], "application/json");
        assert_eq!(
            body,
            r#"{"detail":"No published workflow definition. Publish the workflow and try again."}"#
        );
    }

    #[tokio::test]
    async fn unavailable_asks_the_sender_to_retry() {
        let (status, headers, body) = parts(Reject::Unavailable.into_response()).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(headers[header::RETRY_AFTER], "1");
        assert_eq!(body, r#"{"detail":"Service unavailable, retry later"}"#);
    }

    #[tokio::test]
    async fn method_not_allowed_lists_the_allowed_methods() {
        let reject = Reject::MethodNotAllowed {
            allow: "POST, HEAD, OPTIONS".into(),
        };
        let (status, headers, body) = parts(reject.into_response()).await;
        assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(headers[header::ALLOW], "POST, HEAD, OPTIONS");
        assert_eq!(body, r#"{"detail":"Request method not allowed"}"#);
    }

    #[tokio::test]
    async fn created_answers_are_compact_and_list_ids_for_ndjson() {
        let answer = Answer::Created {
            wf_id: "wf_a".into(),
            wf_exec_ids: vec!["wf_a/exec_1".into(), "wf_a/exec_2".into()],
            list_ids: true,
            payload: Some(Value::Null),
        };
        let (status, _, body) = parts(answer.into_response()).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(
            body,
            r#"{"message":"Workflow execution created","wf_id":"wf_a","wf_exec_id":"wf_a/exec_2","wf_exec_ids":["wf_a/exec_1","wf_a/exec_2"],"payload":null}"#
        );
    }

    #[tokio::test]
    async fn options_answers_no_content_with_allow() {
        let answer = Answer::Options {
            allow: "GET, POST, HEAD, OPTIONS".into(),
        };
        let (status, headers, body) = parts(answer.into_response()).await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        assert_eq!(headers[header::ALLOW], "GET, POST, HEAD, OPTIONS");
        assert_eq!(body, "");
    }

    #[tokio::test]
    async fn handshakes_answer_their_challenge() {
        let (_, _, body) = parts(Answer::OktaVerification("v1".into()).into_response()).await;
        assert_eq!(body, r#"{"verification":"v1"}"#);
        let (_, _, body) = parts(Answer::SlackChallenge("c1".into()).into_response()).await;
        assert_eq!(body, r#"{"challenge":"c1"}"#);
    }
}
