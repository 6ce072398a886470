// The agent desktop: an agent signs in (POST /desk/session sets an HttpOnly cookie),
// then follows GET /desk/events (Server-Sent Events) and redraws on each `desk` snapshot:
// their state with Ready / Not ready / Done, the call with its helpdesk ticket, and a
// wrap-up note to add to the ticket (POST /desk/note). The phone in the page is
// desk-phone.js. Every value is written with textContent: nothing from the server is
// parsed as HTML.
"use strict";
(function () {
  const $ = (id) => document.getElementById(id);
  const PHASES = { ringing: "Incoming call", talking: "On a call", wrap_up: "Wrap-up" };
  let source = null;
  let signedIn = false; // the desk is shown
  let session = false; // signed in as far as this page knows
  let reconnecting = false;
  let agent = null; // the last snapshot's agent
  let wrapEnds = null; // performance.now() at which wrap-up ends, or null
  let callId = null; // the call shown; the note is reset only when it changes
  let announced = null; // the ringing call last announced
  let savedFor = null; // the call whose note this page saved (202)
  let ticketId = null; // the ticket of the call shown
  const phone = window.RingdeskPhone({
    send: (method, url, body) => send(method, url, body),
    announce: (text) => { $("announce").textContent = text; },
    reconnect: () => follow(),
  });

  // Sets a text and hides the element when there is none.
  function show(id, text) {
    const e = $(id);
    e.textContent = text || "";
    e.hidden = !text;
  }

  function link(id, url, text) {
    const a = $(id);
    if (text) a.textContent = text;
    // Only web links: a helpdesk URL is configuration, but never a script.
    const safe = typeof url === "string" && /^https?:\/\//i.test(url) ? url : null;
    if (safe) a.href = safe; else a.removeAttribute("href");
    a.hidden = !safe;
  }

  function setText(id, text) {
    if ($(id).textContent !== text) $(id).textContent = text; // no repeated announcements
  }

  function alertText(text) {
    $("alert").textContent = text || "";
  }

  function seconds(s) {
    return Math.max(0, Math.round(s)) + " s";
  }

  // One request to the desk API; resolves to the JSON body ({} when there is none), or
  // to null after showing the error (a 401 signs out, but not at sign-in).
  async function send(method, url, body) {
    alertText("");
    let r;
    try {
      r = await fetch(url, {
        method,
        headers: { "Content-Type": "application/json" },
        body: body === undefined ? undefined : JSON.stringify(body),
        credentials: "same-origin",
      });
    } catch (e) {
      alertText("Could not reach the server: check the connection and try again.");
      return null;
    }
    let data = null;
    try { data = r.status === 204 ? null : await r.json(); } catch (e) { data = null; }
    if (r.ok) return data || {};
    const error = (data && data.error) || "The server answered " + r.status + ".";
    if (r.status === 401 && !(method === "POST" && url === "/desk/session")) {
      signOut(error);
    } else {
      alertText(error);
    }
    return null;
  }

  // Back to the login form, with a reason (or none).
  function signOut(reason) {
    if (source) source.close();
    source = null;
    signedIn = false;
    session = false;
    reconnecting = false;
    agent = null;
    wrapEnds = null;
    drawCall(null);
    phone.stop();
    $("phone").hidden = true;
    $("connecting").hidden = true;
    $("desk").hidden = true;
    $("login").hidden = false;
    alertText(reason);
    $("agent").focus();
  }

  function stateText(a) {
    switch (a.state) {
      case "available": return "Ready";
      case "not_ready": return a.reason ? "Not ready: " + a.reason : "Not ready";
      case "reserved": return "Ringing";
      case "busy": return "On a call";
      case "wrap_up":
        return wrapEnds === null ? "Wrap-up"
          : "Wrap-up: " + seconds((wrapEnds - performance.now()) / 1000) + " left";
      case "logged_out": return "Logged out: turn on the phone below or register your desk phone to take calls";
      default: return a.state;
    }
  }

  function drawStatus() {
    if (agent && !reconnecting) setText("status", stateText(agent));
  }

  function drawAgent(a, reasons) {
    agent = a;
    setText("agent-name", a.name || a.id);
    wrapEnds = a.state === "wrap_up" && a.wrap_up_left_seconds !== null && a.wrap_up_left_seconds !== undefined
      ? performance.now() + a.wrap_up_left_seconds * 1000 : null;
    drawStatus();
    $("ready").disabled = ["available", "reserved", "busy"].includes(a.state);
    $("not-ready").disabled = a.state === "busy";
    $("done").hidden = a.state !== "wrap_up";
    // Rebuild the reasons only when they change, keeping the agent's choice.
    const select = $("reason");
    const now = Array.from(select.options, (o) => o.value);
    if (now.join("\n") !== reasons.join("\n")) {
      const chosen = select.value;
      select.replaceChildren(...reasons.map((r) => new Option(r, r, false, r === chosen)));
    }
  }

  function drawTicket(c) {
    const t = c.ticket;
    ticketId = t ? t.id : null;
    $("ticket").hidden = !t;
    $("no-ticket").hidden = !!t;
    if (!t) {
      link("search-link", c.search_url);
      link("new-ticket-link", c.new_ticket_url);
      return;
    }
    setText("ticket-id", "Ticket #" + t.id);
    show("ticket-info", t.error || (t.loaded ? "" : "Loading the ticket…"));
    $("ticket-info").className = t.error ? "error" : "";
    show("ticket-subject", t.subject);
    for (const [key, value] of [["status", t.status_words || t.status], ["priority", t.priority],
      ["requester", t.requester]]) {
      show("ticket-" + key, value);
      $("ticket-" + key + "-row").hidden = !value;
    }
    show("ticket-comment", t.last_comment);
    $("ticket-comment-box").hidden = !t.last_comment;
    link("ticket-link", t.url, "Open ticket #" + t.id + " in the helpdesk");
  }

  function drawCall(c) {
    $("call").hidden = !c;
    if (!c) {
      callId = null;
      savedFor = null;
      ticketId = null;
      $("note").value = "";
      $("note-form").hidden = true;
      return;
    }
    if (c.id !== callId) {
      callId = c.id;
      savedFor = null;
      $("note").value = c.note ? c.note.text : "";
    }
    if (c.phase === "ringing" && announced !== c.id) {
      announced = c.id;
      $("announce").textContent = "Incoming call from " + (c.caller_name || c.caller);
    }
    setText("phase", PHASES[c.phase] || c.phase);
    setText("caller", c.caller_name ? c.caller_name + ", " + c.caller : c.caller);
    show("language", c.language && "Language: " + c.language);
    show("menu-choice", c.menu_choice && "Pressed " + c.menu_choice);
    show("queue", c.queue && "Queue " + c.queue +
      (c.queue_priority === null || c.queue_priority === undefined ? "" : ", priority " + c.queue_priority));
    show("waited", c.waited_seconds === null || c.waited_seconds === undefined ? ""
      : "Waited " + seconds(c.waited_seconds));
    drawTicket(c);
    $("note-form").hidden = !(c.ticket && (c.phase === "talking" || c.phase === "wrap_up"));
    setText("note-status", c.ticket && (c.note || savedFor === c.id)
      ? "Note saved: it will be added to ticket #" + c.ticket.id : "");
  }

  function draw(snap) {
    reconnecting = false;
    if (!signedIn) {
      signedIn = session = true;
      $("connecting").hidden = true;
      $("login").hidden = true;
      $("desk").hidden = false;
      if (!$("desk").contains(document.activeElement)) $("agent-name").focus();
    }
    drawAgent(snap.agent, snap.reasons || []);
    drawCall(snap.call);
    phone.update(snap.phone);
  }

  function follow() {
    if (source) source.close();
    const es = new EventSource(phone.wanted() ? "/desk/events?phone=on" : "/desk/events");
    source = es;
    es.addEventListener("desk", (e) => draw(JSON.parse(e.data)));
    es.addEventListener("ended", (e) => {
      let reason = "";
      try { reason = JSON.parse(e.data).reason; } catch (err) { reason = ""; }
      signOut(reason ? "Signed out: " + reason + "." : "Signed out.");
    });
    es.onerror = () => {
      if (es !== source) return;
      if (es.readyState === EventSource.CLOSED) {
        // Refused (no session, or it ended): sign in again.
        signOut(session ? "Your session has ended: sign in again." : "");
      } else {
        reconnecting = true;
        setText("status", "Reconnecting…");
      }
    };
  }

  $("login-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const body = { agent: $("agent").value.trim(), password: $("password").value };
    const who = await send("POST", "/desk/session", body);
    $("password").value = "";
    if (who) {
      session = true;
      $("agent-name").textContent = who.name || who.agent;
      $("login").hidden = true;
      $("connecting").hidden = false;
      follow();
    } else {
      $("password").focus();
    }
  });

  $("signout").addEventListener("click", async () => {
    if (source) source.close();
    source = null;
    await send("DELETE", "/desk/session");
    signOut("");
  });

  $("ready").addEventListener("click", () => send("POST", "/desk/state", { state: "available" }));
  $("done").addEventListener("click", () => send("POST", "/desk/state", { state: "available" }));
  $("not-ready").addEventListener("click", () => {
    const reason = $("reason").value;
    send("POST", "/desk/state", reason ? { state: "not_ready", reason } : { state: "not_ready" });
  });

  $("note-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const call = callId;
    const button = $("save-note");
    button.disabled = true;
    const saved = await send("POST", "/desk/note", { call, text: $("note").value });
    button.disabled = false;
    if (saved && call === callId) {
      savedFor = call;
      setText("note-status", "Note saved: it will be added to ticket #" + ticketId);
    }
  });

  // Wrap-up counts down locally between snapshots.
  setInterval(drawStatus, 250);
  // Already signed in (a session cookie from before)? The stream says; if not, it
  // closes and the login form shows.
  follow();
})();
