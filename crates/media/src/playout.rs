//! Playout queue of one stream: clips played in order, optionally looped, stoppable at
//! once (barge-in), with one [`PlayoutEvent`] per queued clip when it leaves the queue.

use std::collections::VecDeque;

use thiserror::Error;

use crate::clip::Clip;
use crate::g711::Codec;

/// Most clips queued on one stream.
pub const MAX_QUEUED_CLIPS: usize = 64;

/// Caller-chosen label of a queued clip, returned in its [`PlayoutEvent`].
pub type PlayTag = u64;

/// A clip that cannot be queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum PlayoutError {
    /// [`MAX_QUEUED_CLIPS`] are already queued.
    #[error("playout queue full")]
    QueueFull,
}

/// A queued clip left the queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlayoutEvent {
    /// The tag given when queueing.
    pub tag: PlayTag,
    /// True when it played to its end; false when stopped (or a loop was ended).
    pub completed: bool,
}

#[derive(Debug, Clone)]
struct Entry {
    clip: Clip,
    tag: PlayTag,
    looping: bool,
}

/// What plays on a stream.
#[derive(Debug, Clone, Default)]
pub struct Playout {
    queue: VecDeque<Entry>,
    position: usize,
}

impl Playout {
    /// An empty queue (silence).
    pub fn new() -> Self {
        Self::default()
    }

    /// Queue `clip` to play once after what is queued.
    pub fn enqueue(&mut self, clip: Clip, tag: PlayTag) -> Result<(), PlayoutError> {
        self.push(clip, tag, false)
    }

    /// Queue `clip` to repeat until stopped (music on hold).
    pub fn enqueue_loop(&mut self, clip: Clip, tag: PlayTag) -> Result<(), PlayoutError> {
        self.push(clip, tag, true)
    }

    fn push(&mut self, clip: Clip, tag: PlayTag, looping: bool) -> Result<(), PlayoutError> {
        if self.queue.len() >= MAX_QUEUED_CLIPS {
            return Err(PlayoutError::QueueFull);
        }
        self.queue.push_back(Entry { clip, tag, looping });
        Ok(())
    }

    /// Stop everything now; every removed clip is reported with `completed: false`.
    pub fn stop(&mut self, events: &mut impl FnMut(PlayoutEvent)) {
        for entry in self.queue.drain(..) {
            events(PlayoutEvent {
                tag: entry.tag,
                completed: false,
            });
        }
        self.position = 0;
    }

    /// True when a clip is queued.
    pub fn is_playing(&self) -> bool {
        !self.queue.is_empty()
    }

    /// Number of queued clips (including the one playing).
    pub fn len(&self) -> usize {
        self.queue.len()
    }

    /// True when nothing is queued.
    pub fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }

    /// Copy the next frame in `codec` into `out`; false when nothing plays.
    ///
    /// A clip that has just delivered its last frame is reported at once.
    pub fn next_frame(
        &mut self,
        codec: Codec,
        out: &mut [u8],
        events: &mut impl FnMut(PlayoutEvent),
    ) -> bool {
        // Each pass either returns or removes an entry, so this is bounded by the queue.
        while let Some(entry) = self.queue.front() {
            let Some(frame) = entry.clip.frame(codec, self.position) else {
                // Empty clip (or a loop of one): it is done without a frame.
                let tag = entry.tag;
                self.queue.pop_front();
                self.position = 0;
                events(PlayoutEvent {
                    tag,
                    completed: true,
                });
                continue;
            };
            let n = frame.len().min(out.len());
            if let (Some(dst), Some(src)) = (out.get_mut(..n), frame.get(..n)) {
                dst.copy_from_slice(src);
            }
            self.position += 1;
            if self.position >= entry.clip.frame_count() {
                self.position = 0;
                if !entry.looping {
                    let tag = entry.tag;
                    self.queue.pop_front();
                    events(PlayoutEvent {
                        tag,
                        completed: true,
                    });
                }
            }
            return true;
        }
        false
    }
}
