//! Sans-IO media: G.711, RTP, RFC 4733 events, clips, paced playout.
