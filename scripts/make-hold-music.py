#!/usr/bin/env python3
"""Generates ringdesk's default music on hold: assets/defaultmusic_on_hold.wav.

An original piece written for ringdesk (so its license is the project's own): eight bars
of a slow chord progression in F major (Fmaj7 Am7 Bbmaj7 C6 | Dm7 Gm7 Bbmaj7 C7sus4) for
a soft electric-piano pad, a plucked bass and a music-box melody, 32 s at 60 bpm.

Made to loop without a click: the track is one period of a periodic signal. Every note
starts and ends at zero amplitude, and a note still sounding at the end (the last chord's
release) is wrapped around onto the start, exactly where the piece continues when the
player loops. So the sample after the last one is the first one.

Telephone friendly: 8 kHz mono 16-bit PCM (about 500 KB), no partial above 3.5 kHz (no
aliasing), bass notes carry a second harmonic so handsets that cut below 300 Hz still
hear them, level normalized to -18 dBFS RMS.

Python 3 standard library only; output is deterministic (no randomness).

Usage: scripts/make-hold-music.py [OUTPUT.wav]
"""

import math
import os
import struct
import sys
import wave

RATE = 8000
BPM = 60
BEATS_PER_BAR = 4
BAR_SECONDS = BEATS_PER_BAR * 60.0 / BPM
TARGET_RMS_DBFS = -18.0
MAX_PARTIAL_HZ = 3500.0

# Chords as MIDI note numbers (C4 = 60). Bass roots are separate.
PROGRESSION = [
    # (bass root, pad voicing)
    (41, [57, 60, 64, 65]),  # Fmaj7: A3 C4 E4 F4 over F2
    (45, [55, 60, 64, 67]),  # Am7: G3 C4 E4 G4 over A2
    (46, [57, 62, 65, 69]),  # Bbmaj7: A3 D4 F4 A4 over Bb2
    (48, [57, 60, 64, 67]),  # C6: A3 C4 E4 G4 over C3
    (38, [57, 60, 62, 65]),  # Dm7: A3 C4 D4 F4 over D2
    (43, [55, 58, 62, 65]),  # Gm7: G3 Bb3 D4 F4 over G2
    (46, [57, 62, 65, 69]),  # Bbmaj7
    (48, [58, 60, 65, 67]),  # C7sus4: Bb3 C4 F4 G4 over C3
]

# Melody: per bar, (beat offset, MIDI note, length in beats). Chord tones and gentle
# passing notes, ending on G so it resolves into the first bar's A/F when looping.
MELODY = [
    [(0.0, 76, 1.5), (1.5, 77, 0.5), (2.0, 79, 1.0), (3.0, 76, 1.0)],
    [(0.0, 76, 1.0), (1.0, 72, 1.0), (2.0, 74, 1.0), (3.0, 76, 1.0)],
    [(0.0, 77, 1.5), (1.5, 74, 0.5), (2.0, 77, 1.0), (3.0, 81, 1.0)],
    [(0.0, 79, 2.0), (2.0, 76, 1.0), (3.0, 74, 1.0)],
    [(0.0, 72, 1.5), (1.5, 74, 0.5), (2.0, 77, 1.0), (3.0, 81, 1.0)],
    [(0.0, 79, 1.0), (1.0, 77, 1.0), (2.0, 74, 1.0), (3.0, 70, 1.0)],
    [(0.0, 74, 1.0), (1.0, 77, 1.0), (2.0, 81, 1.0), (3.0, 79, 1.0)],
    [(0.0, 77, 2.0), (2.0, 79, 2.0)],
]


def hz(midi):
    return 440.0 * 2.0 ** ((midi - 69) / 12.0)


def add_note(buf, start_s, length_s, freq, partials, amp, attack_s, decay_tau, release_s):
    """Adds one note to buf, wrapping around the end (the track is periodic).

    partials: list of (frequency ratio, relative amplitude, extra decay factor).
    Envelope: raised-cosine attack from 0, exponential decay (tau seconds, None for a
    sustained note), raised-cosine release to exactly 0 over the last release_s seconds.
    """
    n_total = len(buf)
    start = int(round(start_s * RATE))
    n = int(round((length_s + release_s) * RATE))
    n_attack = max(1, int(attack_s * RATE))
    n_release = max(1, int(release_s * RATE))
    usable = [(r, a, k) for (r, a, k) in partials if freq * r < MAX_PARTIAL_HZ]
    steps = [2.0 * math.pi * freq * r / RATE for (r, _, _) in usable]
    for i in range(n):
        t = i / RATE
        if i < n_attack:
            env = 0.5 - 0.5 * math.cos(math.pi * i / n_attack)
        else:
            env = 1.0
        if decay_tau is not None:
            env *= math.exp(-t / decay_tau)
        left = n - i
        if left <= n_release:
            env *= 0.5 - 0.5 * math.cos(math.pi * (left - 1) / n_release)
        if env == 0.0:
            continue
        s = 0.0
        for (ratio, a, k), step in zip(usable, steps):
            pa = a * (math.exp(-t * k) if k else 1.0)
            s += pa * math.sin(step * i)
        buf[(start + i) % n_total] += amp * env * s


def compose():
    bars = len(PROGRESSION)
    buf = [0.0] * int(round(bars * BAR_SECONDS * RATE))
    beat = 60.0 / BPM
    # Soft electric-piano pad: fundamental, a little 2nd and 3rd harmonic; two voices
    # detuned by a few cents for warmth; slow attack, chords overlap in the release.
    pad = [(1.0, 1.0, 0.0), (2.0, 0.22, 0.35), (3.0, 0.06, 0.6)]
    for bar, (root, voicing) in enumerate(PROGRESSION):
        t0 = bar * BAR_SECONDS
        for note in voicing:
            for cents in (-4.0, 4.0):
                f = hz(note) * 2.0 ** (cents / 1200.0)
                add_note(buf, t0, BAR_SECONDS - 0.2, f, pad, 0.055, 0.9, None, 1.4)
        # Plucked bass on beats 1 and 3, second harmonic for small speakers.
        bass = [(1.0, 1.0, 0.0), (2.0, 0.55, 0.8), (3.0, 0.12, 1.5)]
        for b in (0, 2):
            add_note(buf, t0 + b * beat, 1.7, hz(root + 12), bass, 0.16, 0.02, 1.1, 0.25)
    # Music-box melody: bell-like partials that fade faster than the fundamental.
    bell = [(1.0, 1.0, 0.0), (2.0, 0.3, 2.5), (3.0, 0.08, 4.0)]
    for bar, notes in enumerate(MELODY):
        t0 = bar * BAR_SECONDS
        for offset, note, beats in notes:
            length = max(0.6, beats * beat)
            add_note(buf, t0 + offset * beat, length, hz(note), bell, 0.11, 0.008, 0.9, 0.3)
    return buf


def normalize(buf):
    rms = math.sqrt(sum(x * x for x in buf) / len(buf))
    gain = (10.0 ** (TARGET_RMS_DBFS / 20.0)) / rms
    out = [x * gain for x in buf]
    peak = max(abs(x) for x in out)
    if peak >= 0.97:
        sys.exit(f"peak {peak:.3f} would clip; lower the arrangement's levels")
    return out


def to_pcm16(buf):
    return [max(-32768, min(32767, int(round(x * 32768.0)))) for x in buf]


def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    out_path = sys.argv[1] if len(sys.argv) > 1 else os.path.join(root, "assets", "defaultmusic_on_hold.wav")
    samples = to_pcm16(normalize(compose()))
    os.makedirs(os.path.dirname(os.path.abspath(out_path)), exist_ok=True)
    tmp = out_path + ".tmp"
    with wave.open(tmp, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(struct.pack("<%dh" % len(samples), *samples))
    os.replace(tmp, out_path)
    rms = math.sqrt(sum(s * s for s in samples) / len(samples)) / 32768.0
    peak = max(abs(s) for s in samples) / 32768.0
    jumps = sorted(abs(samples[i + 1] - samples[i]) for i in range(len(samples) - 1))
    seam = abs(samples[0] - samples[-1])
    print(
        f"{out_path}: {len(samples) / RATE:.1f} s, {RATE} Hz mono 16-bit, "
        f"RMS {20 * math.log10(rms):.1f} dBFS, peak {20 * math.log10(peak):.1f} dBFS, "
        f"seam jump {seam} (median step {jumps[len(jumps) // 2]}, max {jumps[-1]})"
    )


if __name__ == "__main__":
    main()
