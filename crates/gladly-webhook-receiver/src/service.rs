//! [`Receiver`] as a `tower::Service`, for any tower-based server (hyper,
//! axum, tonic's HTTP stack...).
//!
//! Mount it at the path your subscription's URL names: the service itself
//! answers every path it is given. It verifies against the request's URI
//! as it reaches it (or axum's `OriginalUri`, when there is one).

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{Request, Response};
use http_body::Body;
use http_body_util::Full;

use crate::receive::Receiver;

impl<B> tower_service::Service<Request<B>> for Receiver
where
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    type Response = Response<Full<Bytes>>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let receiver = self.clone();
        Box::pin(async move { Ok(receiver.receive(request).await) })
    }
}
