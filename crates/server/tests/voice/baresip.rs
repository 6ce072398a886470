//! baresip as a caller (placeholder until the baresip tests land).
