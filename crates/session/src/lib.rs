//! The call session: the sans-IO core that decides what happens in one call around the
//! flow executor.
//!
//! The executor decides what the *flow* does; the session decides what that means for a
//! call: a prompt for a caller who has hung up fails at once, music with a duration ends
//! on time, a durable request is stored with the call's record instead of sent, a caller
//! who leaves stops the media and leaves the queue or the bridge, an answered agent stops
//! the prompts and gets the caller's audio, and the interaction record follows it all.
//!
//! It takes [`Input`]s and `now` and emits [`Output`]s, like the executor:
//!
//! ```text
//! let mut s = Session::new(flow, start, helpdesk, SessionConfig::default(), now, wall_now);
//! loop {
//!     while let Some(out) = s.poll_output() { /* carry it out; answers come back as Inputs */ }
//!     if s.is_finished() { break }
//!     // wait until s.poll_timeout() or an input arrives, then
//!     s.handle_timeout(now) / s.handle_input(now, input)
//! }
//! s.end(now); /* carry out the last outputs */ let (record, outbox) = s.finish(now);
//! ```
//!
//! Two drivers use it: the SIP runtime (real media, queue and agents) and the `ringdesk
//! call` simulator (a virtual clock, a scripted caller and queue). Neither holds a rule of
//! its own about what a caller hears; they only carry the outputs out.

mod helpdesk;
mod io;
mod record;
mod session;

pub use helpdesk::{
    CheckRequest, Helpdesk, NoHelpdesk, NoteRequest, TicketSummary, MAX_SUMMARY_CHARS,
};
pub use io::{Input, Output, Party, ScreenPop};
pub use record::CallRecorder;
pub use session::{Session, SessionConfig};
