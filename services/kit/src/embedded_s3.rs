//! The embedded S3 endpoint (s3s + s3s-fs) serving a folder of the data dir, with SigV4
//! signatures checked, for the monolithic mode and for tests.

use std::net::SocketAddr;
use std::path::Path;

mod store;

use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder as ConnBuilder;
use s3s::auth::SimpleAuth;
use s3s::service::S3ServiceBuilder;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// A running embedded endpoint.
#[derive(Debug)]
pub struct EmbeddedS3 {
    addr: SocketAddr,
    shutdown: CancellationToken,
}

/// The embedded endpoint could not start.
#[derive(Debug, thiserror::Error)]
#[error("cannot start the embedded s3 endpoint: {0}")]
pub struct EmbeddedS3Error(String);

impl EmbeddedS3 {
    /// Serves `root` on `addr` (port 0 picks one), creating `bucket` as a folder in it.
    pub async fn start(
        root: &Path,
        addr: SocketAddr,
        bucket: &str,
        access_key: &str,
        secret_key: &str,
    ) -> Result<Self, EmbeddedS3Error> {
        let fail = |err: &dyn std::fmt::Display| EmbeddedS3Error(err.to_string());
        std::fs::create_dir_all(root.join(bucket)).map_err(|e| fail(&e))?;
        let store = store::Store::new(root).map_err(|e| fail(&e))?;
        let mut builder = S3ServiceBuilder::new(store);
        builder.set_auth(SimpleAuth::from_single(access_key, secret_key));
        let service = builder.build();
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|e| fail(&format!("{addr}: {e}")))?;
        let addr = listener.local_addr().map_err(|e| fail(&e))?;
        let shutdown = CancellationToken::new();
        let stop = shutdown.clone();
        tokio::spawn(async move {
            let http = ConnBuilder::new(TokioExecutor::new());
            loop {
                let socket = tokio::select! {
                    () = stop.cancelled() => break,
                    accepted = listener.accept() => match accepted {
                        Ok((socket, _)) => socket,
                        Err(err) => {
                            tracing::warn!(error = %err, "embedded s3 accept failed");
                            continue;
                        }
                    },
                };
                // Without nodelay every small GET waits ~40 ms for delayed ACKs.
                let _ = socket.set_nodelay(true);
                let conn = http
                    .serve_connection(TokioIo::new(socket), service.clone())
                    .into_owned();
                tokio::spawn(async move {
                    if let Err(err) = conn.await {
                        tracing::debug!(error = %err, "embedded s3 connection ended");
                    }
                });
            }
        });
        Ok(Self { addr, shutdown })
    }

    /// Returns the bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Returns the endpoint URL, e.g. `http://127.0.0.1:40123`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for EmbeddedS3 {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}
