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
      row("Answered today", q.answered_today, "answered_today");
      row("Abandoned today", q.abandoned_today, "abandoned_today");
      if (q.timed_out_today) row("Waited too long today", q.timed_out_today, "timed_out_today");
      row("Service level (" + seconds(q.service_level_seconds) + ")",
        q.service_level === null || q.service_level === undefined
          ? "–" : Math.round(q.service_level * 100) + " %", "service_level");
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
      tr.append(el("td", a.reason || (a.call ? (a.caller_name || a.caller || "a caller") : "")));
      const since = el("td");
      since.dataset.field = "time_in_state";
      if (typeof a.seconds_in_state === "number") {
        since.dataset.since = String(Date.now() - a.seconds_in_state * 1000);
      }
      tr.append(since);
      agents.append(tr);
    }
    tick();
    flowsToday = snap.flows_today || {};
    if (flows.length) countFlow();
    const c = snap.calls;
    $("calls").textContent = c
      ? c.in_progress + " in all: " + c.in_flow + " in the flow, " + c.queued +
        " waiting for an agent, " + c.talking + " with an agent"
      : "unknown";
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

  // The flow picture: GET /flows once (the graph), each snapshot's `flows_today` for the
  // counts. Layered top to bottom by distance from the start (then from each event
  // handler's first step); a step is a focusable button showing its definition.
  const SVG = "http://www.w3.org/2000/svg";
  const W = 150, H = 44, GX = 28, GY = 56, PAD = 12;
  let flows = [];
  let flowName = null;
  let flowsToday = {};

  function svg(tag, attrs, text) {
    const e = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, String(v));
    if (text !== undefined) e.textContent = text;
    return e;
  }

  function short(text, n) {
    return text.length > n ? text.slice(0, n - 1) + "…" : text;
  }

  function layout(flow) {
    const byName = new Map(flow.nodes.map((n) => [n.name, n]));
    const depth = new Map();
    const order = [];
    let base = 0;
    for (const root of [flow.start, ...flow.handlers.map((h) => h[1])]) {
      if (!byName.has(root) || depth.has(root)) continue;
      depth.set(root, base);
      order.push(root);
      const todo = [root];
      let deepest = base;
      while (todo.length) {
        const name = todo.shift();
        const d = depth.get(name);
        deepest = Math.max(deepest, d);
        for (const [, target] of byName.get(name).exits) {
          if (byName.has(target) && !depth.has(target)) {
            depth.set(target, d + 1);
            order.push(target);
            todo.push(target);
          }
        }
      }
      base = deepest + 1;
    }
    for (const n of flow.nodes) {
      if (!depth.has(n.name)) { depth.set(n.name, base); order.push(n.name); }
    }
    const rows = new Map();
    for (const name of order) {
      const d = depth.get(name);
      if (!rows.has(d)) rows.set(d, []);
      rows.get(d).push(name);
    }
    // Fewer crossings: each row (after the first) is ordered by where the steps leading
    // to its steps stand (the barycentre heuristic of layered drawings), twice down.
    const parents = new Map();
    for (const n of flow.nodes) {
      for (const [, target] of n.exits) {
        if (!parents.has(target)) parents.set(target, []);
        if (depth.get(n.name) < depth.get(target)) parents.get(target).push(n.name);
      }
    }
    const depths = [...rows.keys()].sort((a, b) => a - b);
    for (let pass = 0; pass < 2; pass++) {
      const at = new Map();
      for (const d of depths) {
        const names = rows.get(d);
        const centre = (name) => {
          const ps = (parents.get(name) || []).filter((p) => at.has(p));
          return ps.length ? ps.reduce((sum, p) => sum + at.get(p), 0) / ps.length : Infinity;
        };
        const keyed = names.map((name, i) => [centre(name), i, name]);
        keyed.sort((a, b) => (a[0] - b[0]) || (a[1] - b[1]));
        rows.set(d, keyed.map((k) => k[2]));
        rows.get(d).forEach((name, i) => at.set(name, i));
      }
    }
    const pos = new Map();
    let widest = 1;
    for (const [d, names] of rows) {
      widest = Math.max(widest, names.length);
      names.forEach((name, i) => pos.set(name, { x: PAD + i * (W + GX), y: PAD + d * (H + GY) }));
    }
    const deepest = Math.max(0, ...rows.keys());
    return { byName, pos, width: 2 * PAD + widest * (W + GX) - GX, height: 2 * PAD + (deepest + 1) * (H + GY) - GY };
  }

  function drawFlow() {
    const flow = flows.find((f) => f.name === flowName);
    const pic = $("flow-svg");
    pic.replaceChildren();
    $("node-detail").hidden = true;
    if (!flow) return;
    const { byName, pos, width, height } = layout(flow);
    pic.setAttribute("width", width);
    pic.setAttribute("height", height);
    pic.setAttribute("viewBox", "0 0 " + width + " " + height);
    for (const n of flow.nodes) {
      const a = pos.get(n.name);
      n.exits.forEach(([exit, target], i) => {
        const b = pos.get(target);
        if (!b) return;
        // Each exit leaves from its own point along the step's bottom edge.
        const x1 = a.x + (W * (i + 1)) / (n.exits.length + 1), y1 = a.y + H;
        const x2 = b.x + W / 2, y2 = b.y;
        const bend = y2 > y1 ? (y2 - y1) / 2 : 60;
        const c1 = [x1, y1 + bend], c2 = [x2, y2 - bend];
        pic.append(svg("path", {
          class: "edge",
          d: "M" + x1 + "," + y1 + " C" + c1 + " " + c2 + " " + x2 + "," + y2,
        }));
        // The exit's name near where it leaves its step (a fifth of the way along).
        const t = 0.2, u = 1 - t;
        const along = (p0, p1, p2, p3) => u * u * u * p0 + 3 * u * u * t * p1 + 3 * u * t * t * p2 + t * t * t * p3;
        const lx = along(x1, c1[0], c2[0], x2), ly = along(y1, c1[1], c2[1], y2);
        pic.append(svg("text", { class: "exit", x: lx + 3, y: ly + 4 }, short(exit, 14)));
      });
    }
    for (const n of flow.nodes) {
      const p = pos.get(n.name);
      const g = svg("g", {
        class: "node" + (n.name === flow.start ? " start" : ""),
        transform: "translate(" + p.x + "," + p.y + ")",
        tabindex: 0,
        role: "button",
        "aria-pressed": "false",
      });
      g.dataset.node = n.name;
      g.append(svg("rect", { width: W, height: H }));
      g.append(svg("text", { x: 8, y: 17 }, short(n.name, 21)));
      g.append(svg("text", { x: 8, y: 34, class: "sub" }, ""));
      const open = () => showNode(flow, byName.get(n.name));
      g.addEventListener("click", open);
      g.addEventListener("keydown", (e) => {
        if (e.key === "Enter" || e.key === " ") { e.preventDefault(); open(); }
      });
      pic.append(g);
    }
    countFlow();
  }

  function todayOf(node) {
    return ((flowsToday || {})[flowName] || {})[node] || 0;
  }

  function countFlow() {
    for (const g of document.querySelectorAll("#flow-svg [data-node]")) {
      const n = flows.find((f) => f.name === flowName).nodes.find((x) => x.name === g.dataset.node);
      const today = todayOf(n.name);
      g.dataset.today = String(today);
      g.querySelector(".sub").textContent = n.activity + " · " + today + " today";
      g.setAttribute("aria-label", n.name + ": " + n.activity + ", " + today + " calls today");
    }
    const open = $("node-detail").dataset.node;
    if (open && !$("node-detail").hidden) {
      const flow = flows.find((f) => f.name === flowName);
      const node = flow && flow.nodes.find((x) => x.name === open);
      if (node) $("node-facts").textContent = facts(node);
    }
  }

  function facts(node) {
    const exits = node.exits.map(([e, t]) => e + " → " + t).join(", ");
    return node.activity + ", line " + node.line + ". Calls today: " + todayOf(node.name) +
      ". Exits: " + (exits || "none") + ".";
  }

  function showNode(flow, node) {
    for (const g of document.querySelectorAll("#flow-svg [data-node]")) {
      g.setAttribute("aria-pressed", String(g.dataset.node === node.name));
    }
    const box = $("node-detail");
    box.dataset.node = node.name;
    $("node-name").textContent = node.name;
    $("node-facts").textContent = facts(node);
    $("node-source").textContent = node.source;
    box.hidden = false;
  }

  async function loadFlows() {
    const r = await fetch("/flows", { credentials: "same-origin" });
    if (!r.ok) return;
    flows = await r.json();
    const pick = $("flow-pick");
    pick.replaceChildren();
    for (const f of flows) {
      const o = el("option", f.name);
      o.value = f.name;
      pick.append(o);
    }
    $("flow-pick-label").hidden = flows.length < 2;
    flowName = flows.length ? flows[0].name : null;
    drawFlow();
  }

  $("flow-pick").addEventListener("change", () => {
    flowName = $("flow-pick").value;
    drawFlow();
  });

  // Times in state count on between snapshots (the server sends one only on a change).
  function tick() {
    for (const td of document.querySelectorAll("[data-since]")) {
      td.textContent = seconds((Date.now() - Number(td.dataset.since)) / 1000);
    }
  }
  setInterval(tick, 1000);

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
      if ($("board").hidden) loadFlows();
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
