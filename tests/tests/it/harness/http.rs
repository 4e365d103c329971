//! A small HTTP/1.1 client over a fresh connection per request, able to send from any
//! loopback address so the allowlist can be tested with different peers.

use std::{
    convert::Infallible,
    net::{IpAddr, SocketAddr},
};

use bytes::Bytes;
use http::{HeaderMap, Method, StatusCode};
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::Frame;
use hyper_util::rt::TokioIo;
use serde_json::Value;
use tokio::net::TcpSocket;

/// One request to send to the ingress.
#[derive(Clone, Debug)]
pub struct Request {
    pub method: Method,
    /// Path and query, e.g. `/webhooks/wf_…/secret?echo=true`.
    pub target: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// The loopback address the connection comes from (default 127.0.0.1).
    pub from: Option<IpAddr>,
    /// Send the body with chunked transfer coding, without `Content-Length`.
    pub chunked: bool,
}

impl Request {
    pub fn new(method: Method, target: impl Into<String>) -> Self {
        Self {
            method,
            target: target.into(),
            headers: Vec::new(),
            body: Vec::new(),
            from: None,
            chunked: false,
        }
    }

    pub fn post(target: impl Into<String>) -> Self {
        Self::new(Method::POST, target)
    }

    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = body.into();
        self
    }

    pub fn json(self, body: &str) -> Self {
        self.header("content-type", "application/json").body(body)
    }

    pub fn chunked(mut self) -> Self {
        self.chunked = true;
        self
    }

    pub fn from(mut self, ip: IpAddr) -> Self {
        self.from = Some(ip);
        self
    }
}

/// What came back.
#[derive(Debug)]
pub struct Response {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Response {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "response body is not JSON ({e}): {:?}",
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    pub fn detail(&self) -> String {
        self.json()["detail"]
            .as_str()
            .unwrap_or_else(|| panic!("no detail in {:?}", String::from_utf8_lossy(&self.body)))
            .to_owned()
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// Sends `request` to `server` over a new connection.
pub async fn send(server: SocketAddr, request: Request) -> Response {
    let socket = TcpSocket::new_v4().expect("create a socket");
    let from = request.from.unwrap_or(IpAddr::from([127, 0, 0, 1]));
    socket
        .bind(SocketAddr::new(from, 0))
        .expect("bind the client socket");
    let stream = socket
        .connect(server)
        .await
        .expect("connect to the ingress");
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .expect("HTTP handshake");
    tokio::spawn(connection);

    let mut builder = http::Request::builder()
        .method(request.method)
        .uri(&request.target)
        .header("host", server.to_string());
    for (name, value) in &request.headers {
        builder = builder.header(name, value);
    }
    let body = if request.chunked {
        // A stream of 16 KiB frames has no known length, so hyper sends it chunked.
        let frames: Vec<Result<Frame<Bytes>, Infallible>> = request
            .body
            .chunks(16 * 1024)
            .map(|chunk| Ok(Frame::data(Bytes::copy_from_slice(chunk))))
            .collect();
        StreamBody::new(futures_util::stream::iter(frames)).boxed()
    } else {
        Full::new(Bytes::from(request.body)).boxed()
    };
    let http_request = builder.body(body).expect("a well-formed request");

    let response = sender
        .send_request(http_request)
        .await
        .expect("the ingress answers");
    let status = response.status();
    let headers = response.headers().clone();
    let body = response
        .into_body()
        .collect()
        .await
        .expect("read the response body")
        .to_bytes();
    Response {
        status,
        headers,
        body,
    }
}
