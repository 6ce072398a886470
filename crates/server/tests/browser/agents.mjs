// Browser agents for bench/run (--only browser): agents a1..aN sign in to the agent
// desktop in Debian's Chromium (one browser, one isolated context per agent, fake
// microphone), turn the page's phone on and answer every call that rings, until
// SIGTERM. Prints "ready <n>" once all N pages have their phone on, "answered <agent>" at
// each answer, and "error <text>" on a failure.
// Usage: node agents.mjs <base url> <count> [password prefix, default bench-pw-]
import { launch } from "./chromium.mjs";

const [base, countArg, prefix = "bench-pw-"] = process.argv.slice(2);
const count = Number(countArg);
const say = (line) => process.stdout.write(line + "\n");
const browser = await launch();
let stopping = false;
for (const signal of ["SIGTERM", "SIGINT"]) process.on(signal, () => { stopping = true; });

async function agent(n) {
  const context = await browser.newContext();
  await context.addInitScript(() => {
    try { localStorage.setItem("ringdesk-phone", "on"); } catch (e) { /* about:blank */ }
  });
  const page = await context.newPage();
  page.on("pageerror", (e) => say("error a" + n + ": " + e.message));
  await page.goto(base + "/desk");
  await page.getByLabel("Agent", { exact: true }).fill("a" + n);
  await page.getByLabel("Password", { exact: true }).fill(prefix + n);
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  await page.getByText("Phone on: calls ring here").waitFor({ timeout: 30000 });
  return async () => {
    const answer = page.getByRole("button", { name: "Answer", exact: true });
    while (!stopping) {
      try {
        await answer.click({ timeout: 1000 });
        say("answered a" + n);
      } catch (e) {
        if (!/Timeout/.test(e.message)) { say("error a" + n + ": " + e.message); return; }
      }
    }
  };
}

try {
  const loops = [];
  for (let n = 1; n <= count; n++) loops.push(await agent(n));
  say("ready " + count);
  await Promise.all(loops.map((loop) => loop()));
} catch (e) {
  say("error " + e.message);
  process.exitCode = 1;
} finally {
  await browser.close();
}
process.exit(process.exitCode ?? 0);
