//! Over real HTTP with a hand-written server: a chunked body (no Content-Length) larger
//! than the cap is refused while streaming; one within the cap is returned whole.

#[allow(dead_code)] // each test binary uses a different subset of the helpers
mod common;

use common::{connectors, get};
use ringdesk_connector::FailureKind;
use std::net::SocketAddr;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Answers every connection with `chunks` chunks of `size` bytes, chunked encoding.
async fn chunked_server(chunks: usize, size: usize) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind loopback");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut tmp = [0u8; 1024];
                while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                    match sock.read(&mut tmp).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => buf.extend_from_slice(&tmp[..n]),
                    }
                }
                let head =
                    "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n";
                if sock.write_all(head.as_bytes()).await.is_err() {
                    return;
                }
                let chunk = format!("{size:x}\r\n{}\r\n", "y".repeat(size));
                for _ in 0..chunks {
                    if sock.write_all(chunk.as_bytes()).await.is_err() {
                        return;
                    }
                }
                let _ = sock.write_all(b"0\r\n\r\n").await;
            });
        }
    });
    addr
}

#[tokio::test]
async fn chunked_body_over_cap_is_refused() {
    let addr = chunked_server(50, 600).await;
    let c = connectors(
        &format!("[zd]\nbase_url = \"http://{addr}\"\nmax_response_bytes = 1000\n"),
        &[],
    );
    let mut req = get("zd", "/stream");
    req.retries = 2;
    let out = c.execute(req).await;
    let f = out.failure().expect("failure");
    assert_eq!(f.kind, FailureKind::Other);
    assert_eq!(f.attempts, 1, "an oversized body is not retried");
    assert!(f.message.contains("exceeds 1000 bytes"), "{}", f.message);
}

#[tokio::test]
async fn chunked_body_within_cap_is_returned() {
    let addr = chunked_server(4, 250).await;
    let c = connectors(
        &format!("[zd]\nbase_url = \"http://{addr}\"\nmax_response_bytes = 1000\n"),
        &[],
    );
    let out = c.execute(get("zd", "/stream")).await;
    let r = out.response().expect("response");
    assert_eq!(r.body, "y".repeat(1000));
}
