//! Flow model, loader, validation, templates and the sans-IO executor.
