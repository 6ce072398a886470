// The wallboard: signs in with an admin API token (POST /session sets an HttpOnly
// cookie), then follows GET /events (Server-Sent Events) and redraws on each snapshot.
// Every value is written with textContent: nothing from the server is parsed as HTML.
"use strict";
(function () {
  const $ = (id) => document.getElementById(id);
  let source = null;

  function el(tag, text, className) {
    const e = document.createElement(tag);
    if (text !== undefined) e.textContent = text;
    if (className) e.className = className;
    return e;
  }

  function seconds(s) {
    if (s === null || s === undefined) return "–";
    const n = Math.round(s);
    return n < 60 ? n + " s" : Math.floor(n / 60) + " min " + (n % 60) + " s";
  }

  function draw(snap) {
    const queues = $("queues");
    queues.replaceChildren();
    for (const q of snap.queues || []) {
      const card = el("article", undefined, "card");
      card.setAttribute("aria-label", "Queue " + q.name);
      card.dataset.queue = q.name;
      card.append(el("h3", q.name));
      const dl = el("dl");
      const row = (label, value, key) => {
        dl.append(el("dt", label));
        const dd = el("dd", String(value));
        dd.dataset.field = key;
        dl.append(dd);
      };
      row("Calls waiting", q.calls_queued, "calls_queued");
      row("Oldest wait", seconds(q.oldest_wait_seconds), "oldest_wait");
      row("Estimated wait", seconds(q.estimated_wait_seconds), "estimated_wait");
      row("Agents signed in", q.agents_logged_in, "agents_logged_in");
      row("Agents available", q.agents_available, "agents_available");
      card.append(dl);
      queues.append(card);
    }
    const agents = $("agents");
    agents.replaceChildren();
    for (const a of snap.agents || []) {
      const tr = el("tr");
      tr.dataset.agent = a.id;
      tr.append(el("th", a.name));
      tr.firstChild.scope = "row";
      tr.append(el("td", a.state.replace("_", " "), "state-" + a.state));
      tr.append(el("td", a.reason || ""));
      agents.append(tr);
    }
    const o = snap.outbox;
    $("outbox").textContent = o
      ? o.backlog + " waiting to be delivered, " + o.dead + " failed for good" +
        (o.uncertain ? ", " + o.uncertain + " being checked" : "")
      : "unknown";
    const dead = $("dead");
    dead.replaceChildren();
    const items = (o && o.dead_items) || [];
    $("dead-table").hidden = items.length === 0;
    for (const d of items) {
      const tr = el("tr");
      tr.dataset.item = String(d.id);
      tr.append(el("td", d.request));
      tr.append(el("td", String(d.attempts)));
      tr.append(el("td", (d.last_status ? d.last_status + " " : "") + (d.last_error || "")));
      const td = el("td");
      for (const [label, verb] of [["Retry", "retry"], ["Drop", "drop"]]) {
        const b = el("button", label);
        b.type = "button";
        b.setAttribute("aria-label", label + " " + d.request);
        b.addEventListener("click", () => act(d.id, verb));
        td.append(b);
      }
      tr.append(td);
      dead.append(tr);
    }
    $("status").textContent = "Live. Updated " + new Date().toLocaleTimeString() + ".";
  }

  // Retry or drop a dead item (needs an admin token's session); the next snapshot shows
  // the result.
  async function act(id, verb) {
    $("action-error").textContent = "";
    const r = await fetch("/outbox/" + encodeURIComponent(id) + "/" + verb, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: "{}",
      credentials: "same-origin",
    });
    if (!r.ok) {
      $("action-error").textContent = r.status === 403
        ? "This token may only read: sign in with an admin token to " + verb + "."
        : "Could not " + verb + " (" + r.status + ").";
    }
  }

  function signedIn(yes) {
    $("login").hidden = yes;
    $("board").hidden = !yes;
    $("logout").hidden = !yes;
    if (!yes) $("token").focus();
  }

  function follow() {
    if (source) source.close();
    source = new EventSource("/events");
    source.addEventListener("snapshot", (e) => {
      signedIn(true);
      draw(JSON.parse(e.data));
    });
    source.onerror = () => {
      // A lost connection reconnects by itself; a refused one (no session) ends here.
      fetch("/queues", { credentials: "same-origin" }).then((r) => {
        if (r.status === 401) {
          source.close();
          signedIn(false);
          $("status").textContent = "Signed out.";
        } else {
          $("status").textContent = "Connection lost; reconnecting…";
        }
      });
    };
  }

  $("login-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    $("login-error").textContent = "";
    const r = await fetch("/session", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ token: $("token").value }),
      credentials: "same-origin",
    });
    $("token").value = "";
    if (r.ok) {
      $("status").textContent = "Signed in; connecting…";
      follow();
    } else {
      $("login-error").textContent = r.status === 401 ? "That token is not known." : "Sign-in failed (" + r.status + ").";
      $("token").focus();
    }
  });

  $("logout").addEventListener("click", async () => {
    if (source) source.close();
    await fetch("/session", { method: "DELETE", credentials: "same-origin" });
    signedIn(false);
    $("status").textContent = "Signed out.";
  });

  // Already signed in (a session cookie from before)? Follow at once.
  fetch("/queues", { credentials: "same-origin" }).then((r) => {
    if (r.ok) follow(); else signedIn(false);
  });
})();
