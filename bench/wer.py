#!/usr/bin/env python3
"""bench/wer.py: how well a caller can understand ringdesk's voices (issue 17), measured.

Called by `bench/run --only voices`. For each speech engine (espeak-ng; Piper when
installed in .venv/piper) it
  1. collects every en-US sentence the default flow speaks to the demo customers on the
     main paths (`ringdesk call --json`: welcome, ticket status per customer, menu,
     goodbye, unknown caller, no agent),
  2. plays them in one real call: `ringdesk serve` runs a generated flow that says them
     in order and hangs up; baresip calls it over loopback (G.711 PCMU at 8 kHz) and
     records what it hears,
  3. cuts the recording at the silences the flow leaves between sentences, transcribes
     each with PocketSphinx (its US English model, from PyPI) and gives the word error
     rate against the sentences (the whole call at once if the cut fails: said in the row),
  4. does the same with each sentence rendered by the engine and transcribed directly at
     16 kHz, without the telephone path (the recognizer's own error on that voice), and
     with the renders passed through G.711 at 8 kHz offline (what narrowband audio alone
     costs the recognizer), so the call's figure can be read.
pt-BR is not measured: no Portuguese recognizer model installs from a package registry.
Writes one JSON line per engine to <out>/voices.jsonl.

Usage: bench/wer.py <ringdesk binary> <out dir> <SIP port> <control port> <RTP port>
"""

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import wave

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PIPER_PY = os.path.join(ROOT, ".venv/piper/bin/python")
BENCH_PY = os.path.join(ROOT, ".venv/bench/bin/python")
CALLERS = ["+12125550107", "+13125550109", "+16175550110", "+12065550111", "+15125550112",
           "+15550001234"]
PATHS = ["2", "1"]

ONES = "zero one two three four five six seven eight nine ten eleven twelve thirteen " \
       "fourteen fifteen sixteen seventeen eighteen nineteen".split()
TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()


def number_words(n):
    if n < 20:
        return ONES[n]
    if n < 100:
        return TENS[n // 10] + ("" if n % 10 == 0 else " " + ONES[n % 10])
    return " ".join(ONES[int(d)] for d in str(n))


def words(text):
    text = re.sub(r"\d+", lambda m: " " + number_words(int(m.group())) + " ", text.lower())
    return re.sub(r"[^a-z' ]+", " ", text).split()


def wer(ref, hyp):
    d = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        prev, d[0] = d[0], i
        for j, h in enumerate(hyp, 1):
            cur = min(d[j] + 1, d[j - 1] + 1, prev + (r != h))
            prev, d[j] = d[j], cur
    return d[len(hyp)] / max(1, len(ref))


def sentences(binary):
    seen = []
    for path in PATHS:
        for caller in CALLERS:
            out = subprocess.run([binary, "call", "--from", caller, "--press", path, "--agents",
                                  "0", "--json"], capture_output=True, text=True, timeout=120)
            for line in out.stdout.splitlines():
                e = json.loads(line)
                if e.get("kind") == "play" and e.get("language") == "en-US" \
                        and e["text"] not in seen:
                    seen.append(e["text"])
    return seen


GAP_SECONDS = 1.5


def flow_yaml(texts):
    """Every sentence, each followed by GAP_SECONDS of silence (so the recording can be cut
    into sentences), then a hang-up."""
    lines = ["name: wer-bench", "description: Says every sentence, then hangs up.",
             "start: s0", "nodes:"]
    for i, t in enumerate(texts):
        lines += [f"  s{i}:", "    play:", f"      text: {json.dumps(t)}", f"    next: g{i}",
                  f"  g{i}:", "    music: { file: gap.wav, loop: false }",
                  f"    next: {'s' + str(i + 1) if i + 1 < len(texts) else 'bye'}"]
    lines += ["  bye:", "    disconnect: { reason: \"done\" }"]
    return "\n".join(lines) + "\n"


def write_silence(path, seconds, rate=8000):
    with wave.open(path, "wb") as w:
        w.setnchannels(1), w.setsampwidth(2), w.setframerate(rate)
        w.writeframes(b"\0\0" * int(rate * seconds))


def sentences_of(recording, n, work):
    """Cuts the recording at silences of 1 s or more; returns n 16 kHz files, one per
    sentence, or None when the cut does not give n pieces."""
    import array
    with wave.open(recording) as w:
        rate = w.getframerate()
        pcm = array.array("h", w.readframes(w.getnframes()))
    frame = rate // 50
    loud = []
    for k in range(0, len(pcm) - frame, frame):
        block = pcm[k:k + frame]
        loud.append(sum(x * x for x in block) / frame > 200.0 ** 2)
    spans, start, quiet = [], None, 0
    for k, on in enumerate(loud + [False] * 60):
        if on:
            if start is None:
                start = k
            quiet = 0
        elif start is not None:
            quiet += 1
            if quiet >= 50:
                spans.append((start, k - quiet + 1))
                start, quiet = None, 0
    if len(spans) != n:
        return None
    out = []
    for i, (a, b) in enumerate(spans):
        a, b = max(0, a - 10) * frame, min(len(pcm), (b + 10) * frame)
        piece = os.path.join(work, f"call-{i}.wav")
        with wave.open(piece, "wb") as w:
            w.setnchannels(1), w.setsampwidth(2), w.setframerate(rate)
            w.writeframes(pcm[a:b].tobytes())
        to16k(piece, os.path.join(work, f"call16-{i}.wav"))
        out.append(os.path.join(work, f"call16-{i}.wav"))
    return out


def wer_per_sentence(texts, hyps):
    edits = sum(wer(words(t), h.split()) * len(words(t)) for t, h in zip(texts, hyps))
    return edits / max(1, sum(len(words(t)) for t in texts))


def transcribe(wav16_paths):
    code = ("import sys, wave\nfrom pocketsphinx import Decoder\n"
            "d = Decoder(samprate=16000, logfn='/dev/null')\n"
            "for p in sys.argv[1:]:\n"
            "    w = wave.open(p, 'rb'); data = w.readframes(w.getnframes())\n"
            "    d.start_utt(); d.process_raw(data, full_utt=True); d.end_utt()\n"
            "    print(d.hyp().hypstr if d.hyp() else '')\n")
    out = subprocess.run([BENCH_PY, "-c", code, *wav16_paths], capture_output=True, text=True,
                         timeout=600, check=True)
    return out.stdout.splitlines()


def to16k(src, dst):
    subprocess.run(["sox", "-V1", src, "-r", "16000", "-c", "1", "-b", "16", dst], check=True)


def render(engine, text, path):
    if engine == "piper":
        model = piper_model()
        subprocess.run([PIPER_PY, "-m", "piper", "-m", model, "-f", path], input=text,
                       text=True, capture_output=True, check=True, timeout=120)
    else:
        subprocess.run(["espeak-ng", "-v", "en-us", "-w", path, "--", text], check=True,
                       timeout=60)


def piper_model():
    base = os.path.join(ROOT, ".venv/piper/lib")
    for dirpath, _, files in os.walk(base):
        for f in files:
            if f == "en_US-joe-medium.onnx":
                return os.path.join(dirpath, f)
    raise SystemExit("bench/wer.py: the Piper voice is not installed (./scripts/install-piper)")


def ctrl(port, command, params=""):
    body = json.dumps({"command": command, "params": params, "token": "wer"})
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(f"{len(body)}:{body},".encode())
        time.sleep(0.3)


def call(binary, out, engine, texts, sip_port, ctl_port, rtp_port):
    work = os.path.join(out, f"voices-{engine}")
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    with open(os.path.join(work, "wer.yaml"), "w") as f:
        f.write(flow_yaml(texts))
    tts = ""
    if engine == "piper":
        tts = f'[tts.engines.piper]\npython = "{PIPER_PY}"\n[tts.languages]\n"en-US" = "piper"\n'
    write_silence(os.path.join(work, "gap.wav"), GAP_SECONDS)
    config = (f'[sip]\nlisten = "127.0.0.1:{sip_port}"\n[admin]\nlisten = "127.0.0.1:0"\n'
              f'[store]\npath = "{work}/r.sqlite"\n[flows]\naudio_dirs = ["{work}"]\n'
              f'[flows.routes]\n"wer" = "{work}/wer.yaml"\n' + tts)
    with open(os.path.join(work, "ringdesk.toml"), "w") as f:
        f.write(config)
    log = open(os.path.join(work, "ringdesk.log"), "w")
    serve = subprocess.Popen([binary, "serve", "--config", os.path.join(work, "ringdesk.toml")],
                             stdout=subprocess.PIPE, stderr=log, text=True, cwd=work,
                             env={**os.environ, "RUST_LOG": "warn"})
    deadline = time.time() + 120
    for line in serve.stdout:
        if line.startswith("ringdesk is answering SIP calls on ") or time.time() > deadline:
            break
    # baresip as the caller: silence as its microphone, what it hears recorded.
    silence = os.path.join(work, "silence.wav")
    write_silence(silence, 240)
    with open(os.path.join(work, "config"), "w") as f:
        f.write(f"poll_method epoll\nsip_listen 127.0.0.1:{sip_port + 3}\n"
                f"audio_player aubridge,speaker\naudio_source aufile,{silence}\n"
                "audio_alert aubridge,speaker\nausrc_srate 8000\nauplay_srate 8000\n"
                "ausrc_channels 1\nauplay_channels 1\n"
                f"rtp_ports {rtp_port}-{rtp_port + 3}\nmodule_path /usr/lib/baresip/modules\n"
                "module g711.so\nmodule aufile.so\nmodule aubridge.so\nmodule sndfile.so\n"
                "module_app account.so\nmodule_app menu.so\nmodule_app ctrl_tcp.so\n"
                f"ctrl_tcp_listen 127.0.0.1:{ctl_port}\nsnd_path {work}\n")
    with open(os.path.join(work, "accounts"), "w") as f:
        f.write("<sip:+15550009999@127.0.0.1>;regint=0;audio_codecs=PCMU\n")
    bare = subprocess.Popen(["baresip", "-f", work], cwd=work, stdin=subprocess.DEVNULL,
                            stdout=open(os.path.join(work, "baresip.log"), "w"),
                            stderr=subprocess.STDOUT)
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", ctl_port), timeout=1).close()
            break
        except OSError:
            time.sleep(0.1)
    ctrl(ctl_port, "dial", f"sip:wer@127.0.0.1:{sip_port}")
    # ringdesk hangs up after the last sentence: wait for the call to end (bounded).
    started = time.time()
    while time.time() - started < 240:
        time.sleep(1)
        with open(os.path.join(work, "baresip.log")) as f:
            seen = f.read()
        if "terminated" in seen or "closed" in seen:
            break
    ctrl(ctl_port, "quit")
    try:
        bare.wait(timeout=10)
    except subprocess.TimeoutExpired:
        bare.kill()
    serve.terminate()
    try:
        serve.wait(timeout=15)
    except subprocess.TimeoutExpired:
        serve.kill()
    dumps = [f for f in os.listdir(work) if f.startswith("dump-") and f.endswith("-dec.wav")]
    if not dumps:
        return None, work
    return os.path.join(work, dumps[0]), work


def main():
    binary, out, sip_port, ctl_port, rtp_port = sys.argv[1], sys.argv[2], *map(int, sys.argv[3:6])
    texts = sentences(binary)
    ref = [w for t in texts for w in words(t)]
    engines = ["espeak-ng"] + (["piper"] if os.path.exists(PIPER_PY) else [])
    with open(os.path.join(out, "voices.jsonl"), "w") as results:
        for engine in engines:
            recording, work = call(binary, out, engine, texts, sip_port, ctl_port, rtp_port)
            row = {"engine": engine, "sentences": len(texts), "words": len(ref)}
            if recording:
                pieces = sentences_of(recording, len(texts), work)
                if pieces:
                    heard = transcribe(pieces)
                    row["call_wer"] = round(wer_per_sentence(texts, heard), 3)
                    row["call_cut"] = "per sentence"
                    hyp = " ".join(heard).split()
                else:
                    to16k(recording, os.path.join(work, "call16.wav"))
                    hyp = transcribe([os.path.join(work, "call16.wav")])[0].split()
                    row["call_wer"] = round(wer(ref, hyp), 3)
                    row["call_cut"] = "whole call (the cut at silences failed)"
                with wave.open(recording) as w:
                    row["call_seconds"] = round(w.getnframes() / w.getframerate(), 1)
                row["call_heard"] = " ".join(hyp)
            direct = []
            for i, t in enumerate(texts):
                raw, wav16 = os.path.join(work, f"direct-{i}.wav"), os.path.join(work, f"d16-{i}.wav")
                render(engine, t, raw)
                to16k(raw, wav16)
                direct.append(wav16)
            hyps = transcribe(direct)
            row["direct_wer"] = round(wer_per_sentence(texts, hyps), 3)
            # The same renders through G.711 at 8 kHz offline (no call): what narrowband
            # telephone audio alone costs this recognizer.
            narrow = []
            for i, raw in enumerate(os.path.join(work, f"direct-{i}.wav") for i in range(len(texts))):
                ulaw, back = os.path.join(work, f"n-{i}.wav"), os.path.join(work, f"n16-{i}.wav")
                subprocess.run(["sox", "-V1", raw, "-r", "8000", "-c", "1", "-e", "u-law", ulaw],
                               check=True)
                to16k(ulaw, back)
                narrow.append(back)
            row["g711_wer"] = round(wer_per_sentence(texts, transcribe(narrow)), 3)
            row["per_sentence"] = [{"text": t, "heard_direct": h} for t, h in zip(texts, hyps)]
            results.write(json.dumps(row) + "\n")
            print(f"{engine}: call WER {row.get('call_wer')}, direct WER {row['direct_wer']}, "
                  f"G.711 offline WER {row['g711_wer']}", file=sys.stderr)


if __name__ == "__main__":
    main()
