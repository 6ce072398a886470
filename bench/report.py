#!/usr/bin/env python3
"""Writes the BENCHMARKS.md section of one bench/run: the machine, then every
measurement found in the run directory (rate.tsv, hold.jsonl, perf-top.txt,
bridge-rate.tsv, bridge.jsonl, cluster.tsv).
Only figures present in the files are written; a missing measurement says so."""

import datetime
import json
import os
import platform
import subprocess
import sys


def sh(*cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=20).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def machine():
    model = "unknown"
    mem_kib = 0
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    mem_kib = int(line.split()[1])
    except OSError:
        pass
    commit = sh("git", "rev-parse", "--short", "HEAD")
    dirty = sh("git", "status", "--porcelain", "--untracked-files=no")
    return [
        ("nproc", sh("nproc")),
        ("CPU", model),
        ("memory", f"{mem_kib / 1024 / 1024:.1f} GiB"),
        ("kernel", platform.release()),
        ("rustc", sh("rustc", "-V")),
        ("SIPp", sh("sh", "-c", "sipp -v 2>&1 | grep -o 'SIPp v[^ ]*' | head -1")),
        ("ringdesk", commit + (" (work tree with uncommitted changes)" if dirty else "")),
    ]


def read_lines(path):
    try:
        with open(path) as f:
            return [l.rstrip("\n") for l in f if l.strip()]
    except OSError:
        return None


def rate_section(out):
    rows = read_lines(os.path.join(out, "rate.tsv"))
    if rows is None:
        return ["Not measured in this run."]
    cols = [(r.split("\t") + [""] * 10) for r in rows]
    keys = {c[8] or "rtp" for c in cols}
    governor = {c[9] or "off" for c in cols}
    lines = [
        "Key 2 sent " + " and ".join(sorted(
            "as a SIP INFO" if k == "info" else "as RFC 2833 (SIPp pcap replay)" for k in keys))
        + "; load governor " + "/".join(sorted(governor))
        + ". Refused: answered 503 while ringdesk sheds load (decision 0008).",
        "",
        "| calls/s | calls | completed | failed | refused (503) | ringdesk CPU ms/completed call | step s | ringdesk RSS KiB after |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    best = None
    for r in rows:
        rate, calls, ok, failed, cpu, secs, rss, refused, _ = (r.split("\t") + [""] * 9)[:9]
        lines.append(f"| {rate} | {calls} | {ok} | {failed} | {refused or 0} | {cpu} | {secs} | {rss} |")
        if failed == "0" and ok == calls:
            best = rate
    lines.append("")
    if best:
        lines.append(f"**Highest rate with every call completed: {best} calls/s** (the last "
                     "step tried is the first that did not, or the largest step).")
    else:
        lines.append("**No step completed every call.**")
    return lines


def hold_section(out):
    rows = read_lines(os.path.join(out, "hold.jsonl"))
    if rows is None:
        return ["Not measured in this run."], []
    lines = [
        "| callers | up in window | packets | lost | late > 5 ms | late ratio | p50 ms | p99 ms | p99.9 ms | max ms "
        "| ringdesk CPU cores | CPU ms per caller-s | RSS KiB/caller | PSS KiB/caller |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    first = [
        "| callers | calls measured | p50 ms | p99 ms | max ms | min ms |",
        "| ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    best = None
    timeline = []
    for r in rows:
        j = json.loads(r)
        timeline.append(f"- {j['step']} callers: " + (", ".join(str(x) for x in j["rtp"].get("late_by_second", [])) or "none"))
        t, p, fp = j["rtp"], j["proc"], j["first_packet"]
        lost = max(0, t["expected"] - t["packets"])
        lines.append(
            f"| {j['step']} | {j['up_at_window_end']} | {t['packets']} | {lost} | {t['late']} | "
            f"{t['late_ratio']:.5f} | {t['p50_ms']:.2f} | {t['p99_ms']:.2f} | {t['p999_ms']:.2f} | "
            f"{t['max_ms']:.2f} | {fmt(p['cpu_cores_busy'])} | {fmt(p['cpu_per_held_call_ms_per_s'])} | "
            f"{fmt(p['rss_kib_per_call'])} | {fmt(p['pss_kib_per_call'])} |")
        first.append(f"| {j['step']} | {fp['n']} | {fp['p50_ms']:.2f} | {fp['p99_ms']:.2f} | "
                     f"{fp['max_ms']:.2f} | {fp['min_ms']:.2f} |")
        if t["late_ratio"] < 0.001 and j["up_at_window_end"] >= j["step"]:
            best = j["step"]
    lines.append("")
    if best:
        lines.append(f"**Most callers on hold with fewer than 0.1% of packets more than 5 ms "
                     f"late: {best}** (largest passing step; the next step tried failed or was the last).")
    else:
        lines.append("**No step passed (late ratio < 0.1% with every caller up).**")
    lines += ["", "Late packets per second of the window (all streams together):", ""] + timeline
    return lines, first


def bridge_rate_section(out):
    rows = read_lines(os.path.join(out, "bridge-rate.tsv"))
    if rows is None:
        return ["Not measured in this run."]
    lines = [
        "| calls/s | calls | callers ok | callers failed | answered by agents | ringdesk CPU ms per bridged call | agents logged in |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    best = None
    for r in rows:
        rate, calls, ok, failed, bridged, cpu, agents = (r.split("\t") + [""] * 7)[:7]
        lines.append(f"| {rate} | {calls} | {ok} | {failed} | {bridged} | {cpu} | {agents} |")
        if failed == "0" and ok == calls and bridged == calls:
            best = rate
    lines.append("")
    if best:
        lines.append(f"**Highest rate with 0 failures (every caller succeeded and was answered by an "
                     f"agent): {best} calls/s** (the last step tried is the first that failed, or the largest step).")
    else:
        lines.append("**No step finished with 0 failures.**")
    return lines


def bridge_section(out):
    rows = read_lines(os.path.join(out, "bridge.jsonl"))
    if rows is None:
        return ["Not measured in this run."]
    lines = [
        "| bridged calls | agents registered | agents busy mid-window | up in window | relayed packets | lost "
        "| late > 5 ms vs grid | late ratio | p50 ms | p99 ms | max ms "
        "| relay variation > 5 ms | its ratio | its p99 ms | sender tick p99 ms "
        "| ringdesk CPU cores | CPU ms per bridged call-s |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in rows:
        j = json.loads(r)
        t, p = j["rtp"], j["proc"]
        rv = j.get("relay_variation", {})
        tk = j.get("talk_ticks", {})
        busy = j.get("agent_states_mid_window", {}).get("busy", "n/a")
        lost = max(0, t["expected"] - t["packets"])
        lines.append(
            f"| {j['step']} | {j.get('agents_registered', 'n/a')} | {busy} | {j['up_at_window_end']} | "
            f"{t['packets']} | {lost} | {t['late']} | {t['late_ratio']:.4f} | {t['p50_ms']:.2f} | "
            f"{t['p99_ms']:.2f} | {t['max_ms']:.2f} | {rv.get('over_late', 'n/a')} | "
            f"{ratio(rv.get('over_late_ratio'))} | {fmt(rv.get('p99_ms'))} | {fmt(tk.get('late_p99_ms'))} | "
            f"{fmt(p['cpu_cores_busy'])} | {fmt(p['cpu_per_held_call_ms_per_s'])} |")
    return lines


def ratio(v):
    return "n/a" if v is None else f"{v:.4f}"


def fmt(v):
    return "n/a" if v is None else f"{v:.2f}"


def profile_section(out):
    top = read_lines(os.path.join(out, "perf-top.txt"))
    if not top:
        return ["Not profiled in this run (perf missing or `perf record` failed; see run.log)."]
    lines = ["`perf record -F 499 -g` on ringdesk during the hold window; self time by "
             "object and symbol (top entries, >= 1%):", "", "```"]
    lines += top
    lines.append("```")
    children = read_lines(os.path.join(out, "perf-children.txt"))
    if children:
        lines += ["", "Inclusive (children) time, >= 5%:", "", "```"] + children + ["```"]
    return lines


def floor_section(out):
    """The kernel's cost of one RTP-sized send (ringbench floor), and what it bounds."""
    path = os.path.join(out, "floor.json")
    if not os.path.exists(path):
        return []
    try:
        f = json.load(open(path))
    except (OSError, ValueError):
        return []
    us = f.get("cpu_us_per_packet")
    if not us:
        return []
    per_call_ms = us * 825 / 1000
    ceiling = 2000 / per_call_ms if per_call_ms else 0
    return ["", f"Floor (`ringbench floor --sockets {f.get('sockets')}`, nothing but the "
            f"kernel sending from {f.get('sockets')} sockets to a loopback sink): "
            f"**{us:.2f} µs of CPU per packet** ({f.get('sys_us_per_packet', 0):.2f} µs in the "
            f"kernel), so the ~825 packets of one default-flow call cost at least "
            f"{per_call_ms:.1f} ms of CPU before ringdesk does anything: the 2 cores of this "
            f"machine could send the audio of at most ~{ceiling:.0f} calls/s if nothing else "
            "ran (SIPp and the sandbox share them)."]


def srtp_section(out):
    rows = read_lines(os.path.join(out, "srtp.tsv"))
    if rows is None:
        return ["Not measured in this run."]
    rate = [r.split("\t") for r in rows if r.startswith("rate\t")]
    hold = [r.split("\t") for r in rows if r.startswith("hold\t")]
    lines = [
        "Plain RTP and SRTP (SDES, AES_CM_128_HMAC_SHA1_80) alternate in one run: each",
        "round measures plain first, then SRTP, on the same ringdesk build.",
        "",
        "| load | round | plain | SRTP | SRTP / plain |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]

    def pair(kind, rows, col, unit):
        by = {}
        for r in rows:
            by.setdefault(r[2], {})[r[1]] = r
        out_lines = []
        for rnd in sorted(by):
            p, q = by[rnd].get("plain"), by[rnd].get("srtp")
            if not p or not q:
                continue
            try:
                a, b = float(p[col]), float(q[col])
                r = f"{b / a:.2f}" if a > 0 else "n/a"
            except ValueError:
                a, b, r = p[col], q[col], "n/a"
            out_lines.append(f"| {kind} | {rnd} | {a} {unit} | {b} {unit} | {r} |")
        return out_lines

    lines += pair("full flow, CPU per call", rate, 6, "ms")
    lines += pair("on hold, CPU per caller", hold, 5, "ms/s")
    lines += pair("on hold, RSS per caller", hold, 6, "KiB")
    try:
        with open(os.path.join(out, "srtp-cost.json")) as f:
            cost = json.load(f)
        floor_us = None
        try:
            with open(os.path.join(out, "floor.json")) as f:
                floor_us = json.load(f).get("cpu_us_per_packet")
        except (OSError, ValueError):
            pass
        lines.append("")
        lines.append(
            f"Per packet in isolation (`ringbench srtp-cost`, one thread): protect {cost['protect_ns']} ns, "
            f"unprotect {cost['unprotect_ns']} ns"
            + (f"; the kernel's own cost of one UDP send here (`ringbench floor`): {floor_us} µs" if floor_us else "")
            + "."
        )
    except (OSError, ValueError, KeyError):
        pass
    failed = [r for r in rate if r[5] != "0" or r[4] != r[3]]
    short = [r for r in hold if r[4] != r[3]]
    lines.append("")
    lines.append(
        f"Full-flow calls failed in {len(failed)} of {len(rate)} steps; hold steps with fewer callers up than placed: {len(short)} of {len(hold)}."
    )
    return lines


def browser_section(out):
    rows = read_lines(os.path.join(out, "browser.jsonl"))
    if rows is None:
        return ["Not measured in this run."]
    lines = [
        "The same bridged calls (ringbench callers press 1 and talk) answered by SIPp agents "
        "(plain RTP, echoing) and by agent desktop pages in one headless Chromium (the page's "
        "phone: ICE-lite, DTLS-SRTP, PCMU, Chromium's fake microphone), alternately in one run. "
        "Chromium's own CPU is not counted: only ringdesk's process.",
        "",
        "| round | agents | bridged calls | up in window | packets to the caller | expected | late > 5 ms ratio | p99 ms | ringdesk CPU ms per bridged call-s |",
        "| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    by = {}
    for r in rows:
        j = json.loads(r)
        t, p = j["rtp"], j["proc"]
        by.setdefault(j["round"], {})[j["kind"]] = p["cpu_per_held_call_ms_per_s"]
        lines.append(
            f"| {j['round']} | {'SIP (RTP)' if j['kind'] == 'sip' else 'browser (WebRTC)'} | {j['step']} | "
            f"{j['up_at_window_end']} | {t['packets']} | {t['expected']} | {ratio(t['late_ratio'])} | "
            f"{fmt(t['p99_ms'])} | {fmt(p['cpu_per_held_call_ms_per_s'])} |")
    ratios = []
    for rnd in sorted(by):
        a, b = by[rnd].get("sip"), by[rnd].get("browser")
        if a and b:
            ratios.append(f"round {rnd}: {b / a:.2f}")
    if ratios:
        lines += ["", "ringdesk's CPU per bridged browser call / per bridged SIP call: " + "; ".join(ratios) + "."]
    for kind, title in (("sip", "SIP agents"), ("browser", "browser agents")):
        top = read_lines(os.path.join(out, f"perf-browser-{kind}.txt"))
        if top:
            lines += ["", f"Profile of ringdesk in round 1 with {title} (`perf record -F 499 -g`, self time, >= 1.5%):",
                      "", "```"] + top + ["```"]
    return lines


def cluster_section(out):
    rows = read_lines(os.path.join(out, "cluster.tsv"))
    if rows is None:
        return ["Not measured in this run."]
    lines = [
        "Full default flow (press 2 by SIP INFO, goodbye, BYE; every demo caller's call ends "
        "with a note through the outbox). `sqlite`: one node, SQLite; `postgres`: one node, "
        "PostgreSQL (private cluster, fsync on); `two-nodes`: two nodes on that PostgreSQL "
        "behind Kamailio (shipped config, round-robin). CPU per completed call; PostgreSQL "
        "statements, commits and statement execution time per completed call "
        "(pg_stat_statements, pg_stat_database; the outbox's delivery included).",
        "",
        "| setup | calls/s | calls | completed | failed | ringdesk CPU ms/call (all nodes) "
        "| PostgreSQL CPU ms/call | Kamailio CPU ms/call | statements/call | commits/call "
        "| statement ms/call |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    best = {}
    for r in rows:
        c = (r.split("\t") + [""] * 11)[:11]
        setup, rate, calls, ok, failed = c[:5]
        lines.append("| " + " | ".join(c) + " |")
        if failed == "0" and ok == calls:
            best[setup] = rate
    lines.append("")
    lines.append("Highest rate with every call completed: " + (", ".join(
        f"{k} {v} calls/s" for k, v in best.items()) or "none") + " (the last step tried is "
        "the first that did not, or the largest step).")
    return lines


def routing_section(out):
    rows = read_lines(os.path.join(out, "routing.tsv"))
    if rows is None:
        return ["Not measured in this run."]
    lines = [
        "The queue's routing delay: from a call asking for the queue to its offer being rung "
        "(`ringdesk_queue_offer_delay_seconds`, on the node holding the call; every agent "
        "free, so no waiting for one). Callers press 1 after the welcome (SIPp), talk 2 s "
        "to an agent (one SIPp UAS answers for all), no wrap-up. `sqlite`: one node alone "
        "(the core applied at once); `postgres`: one node with the shared queue (each input "
        "through the log in PostgreSQL and back); `two-nodes`: two nodes on that "
        "PostgreSQL, half the callers and half the agents on each. Quantiles interpolated "
        "within the histogram's buckets.",
        "",
        "| setup | calls/s | completed | failed | p50 ms | p99 ms | offers |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in rows:
        c = (r.split("\t") + [""] * 7)[:7]
        lines.append("| " + " | ".join(c) + " |")
    hold = read_lines(os.path.join(out, "cluster-hold.tsv"))
    if hold:
        lines += ["", "Callers on hold (press 1, no agents, music) with the store in PostgreSQL: "
                  "`one-node` all on one node; `two-nodes` half on each, one ringbench per node "
                  "at once (each times its node's streams; CPU is both nodes').", "",
                  "| setup | callers | up in window | packets | late > 5 ms | late ratio | p99 ms "
                  "| ringdesk CPU cores |",
                  "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
        for r in hold:
            c = (r.split("\t") + [""] * 8)[:8]
            lines.append("| " + " | ".join(c) + " |")
    replay = read_lines(os.path.join(out, "replay.tsv"))
    if replay:
        total, rows_read, secs = (replay[0].split("\t") + ["", "", ""])[:3]
        lines += ["", f"A node starting on a shared queue's log of {total} rows (synthetic: "
                  f"calls enqueued, then gone) read and applied {rows_read} rows before its "
                  f"views were current, in {secs} s (the log is never compacted: this is "
                  "what a node's start costs as it grows)."]
    return lines


def voices_section(out):
    rows = read_lines(os.path.join(out, "voices.jsonl"))
    if rows is None:
        return ["Not measured in this run."]
    lines = [
        "Every en-US sentence the default flow says to the demo customers on its main paths "
        "(welcome, each customer's ticket status, menu, goodbye, unknown caller, no agent), "
        "played in one real call by `ringdesk serve` (a generated flow), received by baresip "
        "over loopback (PCMU, 8 kHz) and transcribed by PocketSphinx 5 (PyPI, its US English "
        "model). `direct`: the same sentences rendered by the engine and transcribed at "
        "16 kHz without the telephone path (the recognizer's own error on that voice); "
        "`G.711 offline`: those renders through 8 kHz mu-law and back, no call (what "
        "narrowband audio alone costs the recognizer). The call's recording is cut at the "
        "1.5 s silences the flow leaves between sentences and each sentence decoded alone. "
        "Word error rate: (substitutions + insertions + deletions) / words said. pt-BR: not "
        "measured (no Portuguese recognizer model installs from a package registry).",
        "",
        "| engine | sentences | words | WER through the call | WER direct | WER G.711 offline | call seconds |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    examples = []
    for r in rows:
        j = json.loads(r)
        lines.append(f"| {j['engine']} | {j['sentences']} | {j['words']} | "
                     f"{j.get('call_wer', 'n/a')} | {j['direct_wer']} | {j.get('g711_wer', 'n/a')} | "
                     f"{j.get('call_seconds', 'n/a')} |")
        examples.append(f"- {j['engine']}, what the recognizer heard through the call: "
                        f"\"{j.get('call_heard', '')[:400]}\"")
    return lines + [""] + examples


def main():
    out = sys.argv[1]
    quick = len(sys.argv) > 3 and sys.argv[3] == "1"
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    s = ["", f"## Run of {now}{' (--quick)' if quick else ''}", ""]
    s += [f"- {k}: {v}" for k, v in machine()]
    loads = read_lines(os.path.join(out, "loadavg.txt")) or []
    if loads:
        s.append("- load average (1/5/15 min) before each step, from /proc/loadavg (other "
                 "engineers' builds share this machine): "
                 + "; ".join(" ".join(l.split()[:-2]) for l in loads))
    s += [f"- raw results: `bench/out/{os.path.basename(out)}/` (not committed)", ""]
    s += ["### Call rate: full default flow (SIPp, press 2, goodbye, BYE)", ""]
    s += rate_section(out)
    s += floor_section(out)
    hold, first = hold_section(out)
    s += ["", "### Callers on music on hold (ringbench, kernel receive timestamps)", ""]
    s += hold
    if first:
        s += ["", "### 200 OK to the first RTP packet (kernel timestamps of both)", ""] + first
    s += ["", "### Profile", ""] + profile_section(out)
    s += ["", "### Call rate through IVR + queue + bridge (SIPp callers press 1, echoing SIPp agents)", ""]
    s += bridge_rate_section(out)
    s += ["", "### Concurrent bridged calls, RTP relayed both ways (ringbench talks, agents echo)", ""]
    s += bridge_section(out)
    s += ["", "### The cost of SRTP (full flow and hold, plain beside SRTP)", ""]
    s += srtp_section(out)
    s += ["", "### A bridged browser call beside a bridged SIP call (ringdesk's CPU)", ""]
    s += browser_section(out)
    s += ["", "### Cluster: SQLite, PostgreSQL, two nodes behind Kamailio (call rate)", ""]
    s += cluster_section(out)
    s += ["", "### Cluster: the queue's routing delay, one node and two; callers on hold; a node's replay of the log", ""]
    s += routing_section(out)
    s += ["", "### Voices: word error rate through a real call (PocketSphinx)", ""]
    s += voices_section(out) + [""]
    print("\n".join(s))


if __name__ == "__main__":
    main()
