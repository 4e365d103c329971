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
