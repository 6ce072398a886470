//! Named HTTP connectors: base URL, auth (API token, OAuth client credentials), timeouts and retry policy.
