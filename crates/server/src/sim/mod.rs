//! `ringdesk call`: a simulated caller on a virtual clock, with a transcript.

pub mod driver;
pub mod script;
pub mod transcript;
