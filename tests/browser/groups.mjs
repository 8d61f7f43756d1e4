// Browser check of the console's VRRP groups table (mgmt-web/www, the
// dashboard's "VRRP groups" card) against a running tandem-webd, in headless
// Debian Chromium driven by playwright-core.
//
//   EXPECT_GROUPS='{"g1": {"state": "master", "master": "here", ...}}' \
//     node tests/browser/groups.mjs https://10.77.1.3:8443
//
// EXPECT_GROUPS: per group name, the cells the row must show, each compared
// with the cell's text: name, vips, preferred, state, dns, master_text (the
// master cell); and master, which is the row's data-master ("here", "peer",
// "none").  The page polls the
// status every 2 s: the row is read again until it matches or 20 s pass.
// Env: CONSOLE_USER, CONSOLE_PASSWORD (default victor / victor-pw, a viewer),
//      SHOT (a PNG file for a screenshot of the card), CHROMIUM (default
//      /usr/bin/chromium).
// Prints TAP-like lines ("ok - ...", "not ok - ...", "# ...") and exits 0
// only if every row matched.
import { launch } from './chromium.mjs';

const base = (process.argv[2] || '').replace(/\/+$/, '');
if (!/^https?:\/\//.test(base)) {
  console.error('usage: EXPECT_GROUPS=JSON node groups.mjs https://HOST:PORT');
  process.exit(2);
}
const expected = JSON.parse(process.env.EXPECT_GROUPS || '{}');
let failed = 0;
const say = (good, desc, why) => {
  if (!good) failed++;
  console.log((good ? 'ok - ' : 'not ok - ') + desc);
  for (const l of String(why || '').split('\n')) if (l) console.log('# ' + l);
};

// The rows as {name: {cells..., master: data-master}}.
async function readRows(page) {
  return page.$$eval('#groups-body tr[data-group]', (trs) => Object.fromEntries(trs.map((tr) => {
    const row = { master: tr.dataset.master };
    for (const td of tr.querySelectorAll('td[data-field]')) {
      const f = td.dataset.field;
      row[f === 'master' ? 'master_text' : f] = td.textContent.trim();
    }
    return [tr.dataset.group, row];
  })));
}

const differs = (want, got) => Object.keys(want).filter((k) => !got || got[k] !== want[k]);

const watchdog = setTimeout(() => {
  say(false, 'the groups check ends within 90 s', 'watchdog');
  process.exit(1);
}, 90_000);
let browser;
try {
  browser = await launch();
  const { page } = browser;
  const problems = [];
  page.on('pageerror', (e) => problems.push('page error: ' + e.message));
  await page.goto(base + '/', { waitUntil: 'load' });
  await page.fill('#login-user', process.env.CONSOLE_USER || 'victor');
  await page.fill('#login-password', process.env.CONSOLE_PASSWORD || 'victor-pw');
  await page.click('#login-submit');
  await page.locator('#view-dashboard').waitFor({ state: 'visible' });
  let rows = {};
  const end = Date.now() + 20_000;
  for (;;) {
    rows = await readRows(page);
    const bad = Object.keys(expected).filter((g) => differs(expected[g], rows[g]).length);
    if (!bad.length || Date.now() > end) break;
    await page.waitForTimeout(500);
  }
  for (const [g, want] of Object.entries(expected)) {
    const off = differs(want, rows[g]);
    say(!off.length, `console, group ${g}: ` + Object.entries(want).map(([k, v]) => `${k} ${v}`).join(', '),
      off.map((k) => `${k}: want '${want[k]}', shows '${rows[g] ? rows[g][k] : '(no row)'}'`).join('\n'));
  }
  for (const [g, r] of Object.entries(rows)) console.log(`# row ${g}: ${JSON.stringify(r)}`);
  console.log('# summary: ' + (await page.locator('#groups-summary').textContent()));
  if (process.env.SHOT) {
    await page.locator('#groups-card').screenshot({ path: process.env.SHOT });
    console.log('# screenshot ' + process.env.SHOT);
  }
  say(!problems.length, 'no page error', problems.join('\n'));
} catch (e) {
  say(false, 'the console shows the groups table', e && e.message ? e.message : String(e));
} finally {
  clearTimeout(watchdog);
  if (browser) await browser.close();
}
process.exit(failed ? 1 : 0);
