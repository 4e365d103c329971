//! `GET /healthz` and `GET /readyz`, outside the webhook routes and the path prefix.
//!
//! Alive means the process answers HTTP. Ready means it can accept webhooks: the
//! control plane's watch stream is connected (so the control plane answers) and the
//! ingress is not shutting down. An orchestrator sends traffic only to ready instances.

use std::sync::atomic::{AtomicBool, Ordering};

use bytes::Bytes;
use http::{HeaderValue, Method, Response, StatusCode, header};
use http_body_util::Full;

use crate::{cache::ConfigCache, response::ResponseBody};

pub const LIVENESS_PATH: &str = "/healthz";
pub const READINESS_PATH: &str = "/readyz";

/// Set once shutdown begins, so that readiness fails before the server stops.
#[derive(Default)]
pub struct Draining(AtomicBool);

impl Draining {
    pub fn begin(&self) {
        self.0.store(true, Ordering::Relaxed);
    }

    fn is_draining(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

/// The answer to a health path, or `None` when `path` is not one.
pub fn answer(
    method: &Method,
    path: &str,
    cache: &ConfigCache,
    draining: &Draining,
) -> Option<Response<ResponseBody>> {
    if path != LIVENESS_PATH && path != READINESS_PATH {
        return None;
    }
    if method != Method::GET && method != Method::HEAD {
        return Some(status(StatusCode::METHOD_NOT_ALLOWED, "method not allowed"));
    }
    if path == LIVENESS_PATH {
        return Some(status(StatusCode::OK, "ok"));
    }
    Some(if draining.is_draining() {
        status(StatusCode::SERVICE_UNAVAILABLE, "draining")
    } else if !cache.is_connected() {
        status(StatusCode::SERVICE_UNAVAILABLE, "control plane unreachable")
    } else {
        status(StatusCode::OK, "ok")
    })
}

fn status(code: StatusCode, text: &str) -> Response<ResponseBody> {
    let body = serde_json::json!({ "status": text }).to_string();
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = code;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

#[cfg(test)]
mod tests {
    use http_body_util::BodyExt;
    use sluice_proto::v1::WebhookChange;

    use super::*;

    fn connected_cache() -> ConfigCache {
        let cache = ConfigCache::new(16);
        cache.apply(&WebhookChange {
            resync: true,
            workflow_ids: Vec::new(),
        });
        cache
    }

    async fn parts(response: Option<Response<ResponseBody>>) -> (StatusCode, String) {
        let response = response.expect("a health path is answered");
        let status = response.status();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        (status, String::from_utf8(body.to_vec()).unwrap())
    }

    #[tokio::test]
    async fn liveness_is_ok_even_when_nothing_else_is() {
        let (cache, draining) = (ConfigCache::new(16), Draining::default());
        draining.begin();
        let answer = answer(&Method::GET, "/healthz", &cache, &draining);
        assert_eq!(
            parts(answer).await,
            (StatusCode::OK, r#"{"status":"ok"}"#.to_owned())
        );
    }

    #[tokio::test]
    async fn readiness_needs_the_watch_stream_and_no_shutdown() {
        let draining = Draining::default();
        let unconnected = ConfigCache::new(16);
        assert_eq!(
            parts(answer(&Method::GET, "/readyz", &unconnected, &draining)).await,
            (
                StatusCode::SERVICE_UNAVAILABLE,
                r#"{"status":"control plane unreachable"}"#.to_owned()
            )
        );

        let cache = connected_cache();
        assert_eq!(
            parts(answer(&Method::HEAD, "/readyz", &cache, &draining))
                .await
                .0,
            StatusCode::OK
        );

        draining.begin();
        assert_eq!(
            parts(answer(&Method::GET, "/readyz", &cache, &draining)).await,
            (
                StatusCode::SERVICE_UNAVAILABLE,
                r#"{"status":"draining"}"#.to_owned()
            )
        );
    }

    #[tokio::test]
    async fn only_get_and_head_are_answered_and_only_on_the_two_paths() {
        let (cache, draining) = (connected_cache(), Draining::default());
        assert_eq!(
            parts(answer(&Method::POST, "/readyz", &cache, &draining))
                .await
                .0,
            StatusCode::METHOD_NOT_ALLOWED
        );
        for path in ["/", "/healthz/", "/api/readyz", "/webhooks/wf_1/secret"] {
            assert!(
                answer(&Method::GET, path, &cache, &draining).is_none(),
                "{path}"
            );
        }
    }
}
