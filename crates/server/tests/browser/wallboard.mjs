// Drives the wallboard in Debian's Chromium (playwright-core): signs in with the token
// using only the keyboard, then reports what the page shows, one line per change, until
// "quit" arrives on stdin:
//   ready | waiting=<n> (the support queue's calls waiting) | abandoned=<n> | answered=<n>
//   | service level=<text> | calls=<calls in progress text> | agent <id>=<state text>
//   | flow nodes=<steps drawn> | detail=<the step shown> | source=<its first line>
//   | node menu=<calls that entered the step `menu` today>
//   | overflow=<true|false> (a phone-sized viewport scrolls sideways) | error <text>
// Usage: node wallboard.mjs <base url> <token>
import { launch } from "./chromium.mjs";
import { createInterface } from "node:readline";

const [base, token] = process.argv.slice(2);
const say = (line) => process.stdout.write(line + "\n");
const browser = await launch();
let quit = false;
createInterface({ input: process.stdin }).on("line", (l) => { if (l.trim() === "quit") quit = true; });
try {
  // A phone-sized screen.
  const page = await browser.newPage({ viewport: { width: 360, height: 740 } });
  page.on("pageerror", (e) => say("error " + e.message));
  await page.goto(base + "/wallboard");
  // The token field has the focus on load; the form submits with Enter.
  await page.waitForFunction(() => document.activeElement && document.activeElement.id === "token");
  await page.keyboard.type(token);
  await page.keyboard.press("Enter");
  const waiting = page.locator('[data-queue="support"] [data-field="calls_queued"]');
  await waiting.waitFor({ timeout: 15000 });
  say("ready");
  // The flow picture: one element per step; Enter on a focused step shows its definition.
  const steps = page.locator("#flow-svg [data-node]");
  await steps.first().waitFor({ timeout: 15000 });
  say("flow nodes=" + (await steps.count()));
  await page.locator('#flow-svg [data-node="menu"]').focus();
  await page.keyboard.press("Enter");
  await page.locator("#node-detail").waitFor({ state: "visible", timeout: 15000 });
  say("detail=" + (await page.locator("#node-name").textContent()));
  say("source=" + (await page.locator("#node-source").textContent()).split("\n")[0].trim());
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth > window.innerWidth);
  say("overflow=" + overflow);
  let last = "";
  while (!quit) {
    const field = (name) => page.locator('[data-queue="support"] [data-field="' + name + '"]').textContent();
    const now = [
      "waiting=" + (await waiting.textContent()),
      "abandoned=" + (await field("abandoned_today")),
      "answered=" + (await field("answered_today")),
      "service level=" + (await field("service_level")),
      "calls=" + (await page.locator("#calls").textContent()),
      "node menu=" + (await page.locator('#flow-svg [data-node="menu"]').getAttribute("data-today")),
      ...(await page.locator("#agents tr").evaluateAll((rows) =>
        rows.map((r) => "agent " + r.dataset.agent + "=" + r.children[1].textContent))),
    ].join("\n");
    if (now !== last) { say(now); last = now; }
    await page.waitForTimeout(100);
  }
} catch (e) {
  say("error " + e.message);
  process.exitCode = 1;
} finally {
  await browser.close();
}
