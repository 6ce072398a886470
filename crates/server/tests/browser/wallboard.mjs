// Drives the wallboard in Debian's Chromium (playwright-core): signs in with the token
// using only the keyboard, then reports what the page shows, one line per change, until
// "quit" arrives on stdin:
//   ready | waiting=<n> (the support queue's calls waiting) | agent <id>=<state text>
//   | overflow=<true|false> (a phone-sized viewport scrolls sideways) | error <text>
// Usage: node wallboard.mjs <base url> <token>
import { chromium } from "playwright-core";
import { createInterface } from "node:readline";

const [base, token] = process.argv.slice(2);
const say = (line) => process.stdout.write(line + "\n");
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
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
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth > window.innerWidth);
  say("overflow=" + overflow);
  let last = "";
  while (!quit) {
    const now = [
      "waiting=" + (await waiting.textContent()),
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
