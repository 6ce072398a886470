// Drives the agent desktop in Debian's Chromium (playwright-core): signs in with the
// keyboard only on a phone-sized screen, then prints what the page shows, one line per
// change (polled every 200 ms), and runs the commands that arrive on stdin.
// Lines printed:
//   signed-in | sign-in refused=<the alert> and focus=<focused field> (then it quits)
//   | overflow=<true|false> (the page scrolls sideways)
//   | status=<status line> | call=<phase text>|none | ticket subject=<text>
//   | ticket status=<status in words> | note=<note status> | alert=<error shown>
//   | signed-out (the login form is back) | phone=<the phone's status line>
//   | stats inbound_packets=<n> inbound_energy=<x> outbound_packets=<n> (after `stats`)
//   | did <command word> | error <text>
// Commands, one a line: ready | not_ready <reason> | done | note <text> | overflow
//   | phone_on (checks "Use this browser as my phone") | answer | decline | hangup | mute
//   | stats | close (closes the page, as an agent closing the tab) | quit
// Usage: node desk.mjs <base url> <agent> <password>
import { launch } from "./chromium.mjs";
import { createInterface } from "node:readline";

const [base, agent, password] = process.argv.slice(2);
const say = (line) => process.stdout.write(line + "\n");
const browser = await launch();
const commands = [];
createInterface({ input: process.stdin })
  .on("line", (l) => { if (l.trim()) commands.push(l.trim()); })
  .on("close", () => commands.push("quit"));
// How long a control may take to become usable.
const ACT = { timeout: 15000 };

try {
  const page = await browser.newPage({ viewport: { width: 360, height: 740 } });
  page.on("pageerror", (e) => say("error page: " + e.message));
  page.on("console", (m) => {
    if (m.type() !== "error") return;
    // An HTTP error answered to the API (401 before sign-in, 409 ...) is the page's to
    // show, and Chromium asks for /favicon.ico by itself: not page errors.
    const url = (m.location() && m.location().url) || "";
    const path = url.startsWith(base) ? new URL(url).pathname : "";
    if (/^Failed to load resource|^EventSource/.test(m.text()) &&
      (path.startsWith("/desk/") || path === "/favicon.ico")) return;
    say("error page: " + m.text());
  });
  await page.goto(base + "/desk");

  // Sign in with the keyboard: the form submits with Enter.
  const agentField = page.getByLabel("Agent", { exact: true });
  await agentField.waitFor({ state: "visible", ...ACT });
  await agentField.focus();
  await page.keyboard.type(agent);
  await page.keyboard.press("Tab");
  await page.keyboard.type(password);
  await page.keyboard.press("Enter");
  const signOut = page.getByRole("button", { name: "Sign out", exact: true });
  await page.waitForFunction(() => {
    const out = document.getElementById("signout");
    return (out && out.checkVisibility()) || document.getElementById("alert").textContent;
  }, null, ACT);
  if (!(await signOut.isVisible())) {
    // Refused (wrong password, locked): said, and the driver ends without an error.
    say("sign-in refused=" + (await page.locator("#alert").textContent()).trim());
    const focused = await page.evaluate(() => document.activeElement && document.activeElement.id);
    say("focus=" + focused);
    commands.unshift("quit");
  } else {
    say("signed-in");
  }
  const overflow = () => page.evaluate(() =>
    document.documentElement.scrollWidth > document.documentElement.clientWidth);
  say("overflow=" + (await overflow()));

  // What the page shows: a value per line key, "" when not shown.
  const shown = () => page.evaluate(() => {
    const text = (id) => {
      const e = document.getElementById(id);
      return e && e.checkVisibility() ? e.textContent.trim() : "";
    };
    return {
      "signed-out": text("login") ? "yes" : "",
      "status=": text("status"),
      "call=": text("phase") || "none",
      "ticket subject=": text("ticket-subject"),
      "ticket status=": text("ticket-status"),
      "note=": text("note-status"),
      "alert=": text("alert"),
      "phone=": text("phone-status"),
    };
  });
  const last = {};
  const report = async () => {
    for (const [key, value] of Object.entries(await shown())) {
      if (value === (last[key] ?? "")) continue;
      last[key] = value;
      if (key === "signed-out") { if (value) say(key); continue; }
      if (value || key === "note=") say(key + value);
    }
  };
  const button = (name) => page.getByRole("button", { name, exact: true });

  let closed = false;
  for (;;) {
    if (!closed) await report();
    const command = commands.shift();
    if (command === undefined) { await new Promise((r) => setTimeout(r, 200)); continue; }
    const [word, ...rest] = command.split(" ");
    const arg = rest.join(" ");
    if (word === "quit") break;
    if (word === "ready") {
      await button("Ready").click(ACT);
    } else if (word === "not_ready") {
      if (arg) await page.getByLabel("Reason", { exact: true }).selectOption(arg, ACT);
      await button("Not ready").click(ACT);
    } else if (word === "done") {
      await button("Done").click(ACT);
    } else if (word === "note") {
      await page.getByLabel("Wrap-up note", { exact: true }).fill(arg, ACT);
      await button("Save note").click(ACT);
    } else if (word === "phone_on") {
      await page.getByLabel("Use this browser as my phone").check(ACT);
    } else if (["answer", "decline", "hangup", "mute"].includes(word)) {
      const names = { answer: "Answer", decline: "Decline", hangup: "Hang up", mute: "Mute" };
      await button(names[word]).click(ACT);
    } else if (word === "stats") {
      const st = await page.evaluate(() => window.ringdeskPhoneStats());
      say(st ? `stats inbound_packets=${st.inbound_packets} inbound_energy=${st.inbound_energy} outbound_packets=${st.outbound_packets}`
        : "stats none");
    } else if (word === "close") {
      await page.close();
      closed = true;
    } else if (word === "overflow") {
      say("overflow=" + (await overflow()));
    } else {
      throw new Error("unknown command: " + command);
    }
    say("did " + word);
  }
} catch (e) {
  say("error " + e.message);
  process.exitCode = 1;
} finally {
  await browser.close();
}
process.exit(process.exitCode ?? 0);
