//! Reads a response body chunk by chunk, refusing to hold more than a fixed cap.

use thiserror::Error;

/// Why a body could not be read.
#[derive(Debug, Error)]
pub enum BodyError {
    #[error("response body exceeds {0} bytes")]
    TooLarge(usize),
    #[error("reading the response body failed")]
    Read(#[source] reqwest::Error),
}

/// The whole body, at most `cap` bytes.
pub async fn read_capped(
    mut response: reqwest::Response,
    cap: usize,
) -> Result<Vec<u8>, BodyError> {
    if let Some(len) = response.content_length() {
        if len > cap as u64 {
            return Err(BodyError::TooLarge(cap));
        }
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(BodyError::Read)? {
        if body.len().saturating_add(chunk.len()) > cap {
            return Err(BodyError::TooLarge(cap));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}
