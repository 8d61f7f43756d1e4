// The browser of the console tests: Debian's Chromium (CHROMIUM, default
// /usr/bin/chromium), headless, driven by playwright-core (which downloads
// no browser), in a throw-away profile.
import { chromium } from 'playwright-core';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// launch(): {ctx, page, close}.  The certificate of a test's webd is
// self-signed (HTTPS errors ignored); close() ends the browser and removes
// the profile, and never throws.
export async function launch() {
  const profile = mkdtempSync(join(tmpdir(), 'tandem-chromium-'));
  const close = async () => {
    if (ctx) await ctx.close().catch(() => {});
    rmSync(profile, { recursive: true, force: true });
  };
  let ctx;
  try {
    ctx = await chromium.launchPersistentContext(profile, {
      executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
        '--disable-background-networking', '--disable-component-update', '--disable-sync',
        '--disable-dev-shm-usage'],
      ignoreHTTPSErrors: true,
      viewport: { width: 1400, height: 1000 },
      timeout: 30_000,
    });
  } catch (e) {
    await close();
    throw e;
  }
  ctx.setDefaultTimeout(15_000);
  const page = ctx.pages()[0] || (await ctx.newPage());
  return { ctx, page, close };
}
