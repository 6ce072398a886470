//! Text-to-speech engines (run as separate processes) and the prompt cache.
