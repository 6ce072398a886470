// The agent desktop's phone: with "Use this browser as my phone" checked, the page follows
// its events with ?phone=on and calls ring here. A ringing call's snapshot carries
// ringdesk's SDP offer (ICE-lite, DTLS-SRTP, PCMU); Answer takes the microphone, answers
// with an RTCPeerConnection and posts the SDP answer (POST /desk/phone/answer). Decline
// and Hang up post to /desk/phone/decline and /desk/phone/hangup; Mute stops sending the
// microphone. The microphone and speaker are chosen from the browser's devices.
// desk.js owns the page; it calls update() with each snapshot's `phone`.
"use strict";
window.RingdeskPhone = function (api) {
  const $ = (id) => document.getElementById(id);
  const STORE = "ringdesk-phone";
  const STAGES = { ringing: "Ringing: answer or decline", connecting: "Connecting…", talking: "On a call" };
  let leg = null; // the leg shown: { leg, stage }
  let pc = null; // the peer connection of the answered leg
  let mic = null; // the microphone stream
  let muted = false;
  let ring = null; // the ringing tone's timer and audio context
  let problem = ""; // the last phone error, shown until the next call

  function wanted() {
    try { return localStorage.getItem(STORE) === "on"; } catch (e) { return false; }
  }

  function setStatus(text) {
    if ($("phone-status").textContent !== text) $("phone-status").textContent = text;
  }

  function buttons(stage) {
    $("answer").hidden = stage !== "ringing";
    $("decline").hidden = stage !== "ringing";
    $("hangup").hidden = !(stage === "connecting" || stage === "talking");
    $("mute").hidden = stage !== "talking";
  }

  // A ring: two tones, 2 s on, 4 s off, from the browser (no file to load).
  function startRing() {
    if (ring) return;
    let ctx = null;
    try { ctx = new AudioContext(); } catch (e) { ctx = null; }
    const burst = () => {
      if (!ctx) return;
      const gain = ctx.createGain();
      gain.gain.value = 0.08;
      gain.connect(ctx.destination);
      for (const f of [440, 480]) {
        const o = ctx.createOscillator();
        o.frequency.value = f;
        o.connect(gain);
        o.start();
        o.stop(ctx.currentTime + 2);
      }
    };
    burst();
    ring = { ctx, timer: setInterval(burst, 6000) };
  }

  function stopRing() {
    if (!ring) return;
    clearInterval(ring.timer);
    if (ring.ctx) ring.ctx.close().catch(() => {});
    ring = null;
  }

  // Ends our side of the call: the connection, the microphone, the ring.
  function hangUpLocally() {
    stopRing();
    if (pc) pc.close();
    pc = null;
    if (mic) mic.getTracks().forEach((t) => t.stop());
    mic = null;
    muted = false;
    $("mute").setAttribute("aria-pressed", "false");
    $("remote").srcObject = null;
  }

  async function devices() {
    if (!navigator.mediaDevices || !navigator.mediaDevices.enumerateDevices) return;
    let list = [];
    try { list = await navigator.mediaDevices.enumerateDevices(); } catch (e) { return; }
    const fill = (id, kind, fallback) => {
      const select = $(id);
      const chosen = select.value;
      const found = list.filter((d) => d.kind === kind);
      select.replaceChildren(...found.map((d, i) =>
        new Option(d.label || fallback + " " + (i + 1), d.deviceId, false, d.deviceId === chosen)));
    };
    fill("mic", "audioinput", "Microphone");
    fill("speaker", "audiooutput", "Speaker");
    // Choosing the speaker needs setSinkId (not in every browser).
    $("speaker-box").hidden = typeof $("remote").setSinkId !== "function" || !$("speaker").options.length;
    $("devices").hidden = false;
  }

  async function answer() {
    const ringing = leg;
    if (!ringing || ringing.stage !== "ringing") return;
    stopRing();
    problem = "";
    setStatus("Connecting…");
    const micId = $("mic").value;
    try {
      mic = await navigator.mediaDevices.getUserMedia({
        audio: micId ? { deviceId: { exact: micId } } : true,
      });
    } catch (e) {
      problem = "Cannot use the microphone (" + e.name + "): allow it for this page, or use your desk phone.";
      setStatus(problem);
      await api.send("POST", "/desk/phone/decline", { leg: ringing.leg });
      return;
    }
    devices();
    pc = new RTCPeerConnection({ iceServers: [] });
    mic.getAudioTracks().forEach((t) => pc.addTrack(t, mic));
    pc.ontrack = (e) => { $("remote").srcObject = e.streams[0] || new MediaStream([e.track]); };
    let sdp = null;
    try {
      await pc.setRemoteDescription({ type: "offer", sdp: ringing.offer });
      const local = await pc.createAnswer();
      await pc.setLocalDescription(local);
      sdp = pc.localDescription.sdp;
    } catch (e) {
      problem = "The browser could not answer the call: " + e.message;
    }
    if (!sdp) {
      hangUpLocally();
      setStatus(problem);
      await api.send("POST", "/desk/phone/decline", { leg: ringing.leg });
      return;
    }
    if (!(await api.send("POST", "/desk/phone/answer", { leg: ringing.leg, sdp }))) hangUpLocally();
  }

  // The snapshot's phone: { available, on, leg: { leg, call, stage, offer } | null }.
  function update(p) {
    const box = $("phone");
    box.hidden = !p || !p.available;
    if (box.hidden) return;
    $("phone-on").checked = wanted();
    const now = p.leg;
    if (leg && (!now || now.leg !== leg.leg)) hangUpLocally(); // ended elsewhere
    leg = now;
    if (!now) {
      buttons(null);
      setStatus(problem || (p.on ? "Phone on: calls ring here" : "Phone off: calls ring on your desk phone"));
      return;
    }
    if (now.stage === "ringing") {
      startRing();
      if ($("answer").hidden) api.announce("Incoming call: press Answer or Decline");
    } else {
      stopRing();
    }
    buttons(now.stage);
    setStatus(STAGES[now.stage] || now.stage);
  }

  function stop() {
    hangUpLocally();
    leg = null;
    buttons(null);
  }

  $("phone-on").addEventListener("change", () => {
    try { localStorage.setItem(STORE, $("phone-on").checked ? "on" : "off"); } catch (e) { /* private mode */ }
    if ($("phone-on").checked) devices();
    api.reconnect();
  });
  $("answer").addEventListener("click", answer);
  $("decline").addEventListener("click", () => {
    if (!leg) return;
    stopRing();
    api.send("POST", "/desk/phone/decline", { leg: leg.leg });
  });
  $("hangup").addEventListener("click", () => {
    if (!leg) return;
    const ending = leg.leg;
    hangUpLocally();
    api.send("POST", "/desk/phone/hangup", { leg: ending });
  });
  $("mute").addEventListener("click", () => {
    if (!mic) return;
    muted = !muted;
    mic.getAudioTracks().forEach((t) => { t.enabled = !muted; });
    $("mute").setAttribute("aria-pressed", String(muted));
    setStatus(muted ? "On a call (muted)" : "On a call");
  });
  $("speaker").addEventListener("change", () => {
    const audio = $("remote");
    if (typeof audio.setSinkId === "function") audio.setSinkId($("speaker").value).catch(() => {});
  });
  if (wanted()) devices();

  // What the browser tests read: the call's audio counters (getStats), nothing else.
  window.ringdeskPhoneStats = async () => {
    if (!pc) return null;
    const out = { inbound_packets: 0, inbound_energy: 0, outbound_packets: 0 };
    (await pc.getStats()).forEach((s) => {
      if (s.type === "inbound-rtp" && s.kind === "audio") {
        out.inbound_packets += s.packetsReceived || 0;
        out.inbound_energy += s.totalAudioEnergy || 0;
      }
      if (s.type === "outbound-rtp" && s.kind === "audio") out.outbound_packets += s.packetsSent || 0;
    });
    return out;
  };

  return { wanted, update, stop };
};
