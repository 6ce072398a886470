//! Building Zendesk Authorization header values: API token Basic auth and OAuth Bearer.

use crate::Secret;
use base64::Engine as _;

/// `Basic base64("{email}/token:{api_token}")`.
pub fn api_token_authorization(email: &str, api_token: &Secret) -> Secret {
    let raw = format!("{email}/token:{}", api_token.expose());
    Secret::new(format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(raw)
    ))
}

/// `Bearer {access_token}`.
pub fn bearer_authorization(access_token: &Secret) -> Secret {
    Secret::new(format!("Bearer {}", access_token.expose()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_value_is_zendesk_token_form() {
        let v = api_token_authorization("a@b.example", &Secret::new("tok"));
        // base64("a@b.example/token:tok")
        assert_eq!(v.expose(), "Basic YUBiLmV4YW1wbGUvdG9rZW46dG9r");
        assert_eq!(bearer_authorization(&Secret::new("x")).expose(), "Bearer x");
    }
}
