// Browser test of the Tandem web console (mgmt-web/www) against a running
// tandem-webd, in headless Debian Chromium driven by playwright-core (which
// downloads no browser).
//
//   node tests/browser/console.mjs https://10.77.1.1:8443
//
// Env: CONSOLE_OUT   directory for screenshots (default tests/out/integration)
//      CONSOLE_SHOT_PREFIX  file name prefix (default "t_web_console-")
//      DRAIN_NODE    node to drain (default n1); NODES (default "n1 n2 n3")
//      EXPECT_SESSIONS=N  the session table must list at least N sessions
//      EXPECT_TRAFFIC=1   traffic runs through the VIP: a throughput > 0 must show
//      AVOID_FLOW=IP:PORT a live client session the migrate check must not move
//      V6_CLIENT=ADDR     an IPv6 client with sessions through the v6 VIP: the
//                         client filter finds them, shown as [ADDR]:PORT
//      CHROMIUM      browser binary (default /usr/bin/chromium)
//
// Prints TAP-like lines ("ok - ...", "not ok - ...", "# ...") and exits 0 only
// if every check held.  The calling shell test checks the data plane
// (tandemctl) itself.
import { mkdirSync } from 'node:fs';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { launch } from './chromium.mjs';

const base = (process.argv[2] || '').replace(/\/+$/, '');
if (!/^https?:\/\//.test(base)) {
  console.error('usage: node console.mjs https://HOST:PORT');
  process.exit(2);
}
const here = dirname(fileURLToPath(import.meta.url));
const outDir = resolve(process.env.CONSOLE_OUT || join(here, '..', 'out', 'integration'));
const prefix = process.env.CONSOLE_SHOT_PREFIX ?? 't_web_console-';
const drainNode = process.env.DRAIN_NODE || 'n1';
const nodes = (process.env.NODES || 'n1 n2 n3').split(/\s+/).filter(Boolean);
const expectSessions = Number(process.env.EXPECT_SESSIONS || 0);
const expectTraffic = process.env.EXPECT_TRAFFIC === '1';
const v6Client = process.env.V6_CLIENT || '';
const users = {
  admin: ['alice', 'alice-pw'],
  viewer: ['victor', 'victor-pw'],
  norole: ['mallory', 'mallory-pw'],
};
mkdirSync(outDir, { recursive: true });

let failed = 0;
let passed = 0;
const ok = (d) => { passed++; console.log('ok - ' + d); };
const notOk = (d, why) => {
  failed++;
  console.log('not ok - ' + d);
  for (const l of String(why || '').split('\n').slice(0, 15)) if (l) console.log('# ' + l);
};
const diag = (m) => console.log('# ' + m);

// step(DESC, fn): fn throws (or returns false) = not ok.
async function step(desc, fn) {
  try {
    const r = await fn();
    if (r === false) notOk(desc, 'condition false');
    else ok(typeof r === 'string' ? `${desc} (${r})` : desc);
    return true;
  } catch (e) {
    notOk(desc, e && e.message ? e.message : String(e));
    return false;
  }
}

async function shot(page, name) {
  const f = join(outDir, `${prefix}${name}.png`);
  await page.screenshot({ path: f, fullPage: true });
  diag('screenshot ' + f);
}

let browser;
const watchdog = setTimeout(() => {
  notOk('the browser test ends within 150 s', 'watchdog');
  process.exit(1);
}, 150_000);

try {
  browser = await launch();
  const { page } = browser;

  // Page errors and CSP refusals (the console must run under default-src 'self').
  const problems = [];
  page.on('pageerror', (e) => problems.push('page error: ' + e.message));
  page.on('console', (m) => {
    if (m.type() === 'error' && /Content Security Policy|Refused to/i.test(m.text())) problems.push('console: ' + m.text());
  });
  let csp = null;
  page.on('response', (r) => {
    if (csp === null && r.url().replace(/\/$/, '') === base) csp = r.headers()['content-security-policy'] || '';
  });

  const login = async (user, pass) => {
    await page.fill('#login-user', user);
    await page.fill('#login-password', pass);
    await page.click('#login-submit');
  };
  const loginError = async () => {
    const e = page.locator('#login-error');
    await e.waitFor({ state: 'visible' });
    return (await e.textContent()).trim();
  };

  await step('the console loads and shows the login form', async () => {
    await page.goto(base + '/', { waitUntil: 'load' });
    await page.locator('#login-form').waitFor({ state: 'visible' });
  });
  diag('Content-Security-Policy: ' + (csp || '(none sent)'));
  await shot(page, 'login');

  await step('wrong password: the form says so', async () => {
    await login(users.admin[0], 'not-' + users.admin[1]);
    const t = await loginError();
    if (!/wrong user name or password/i.test(t)) throw new Error('error shown: ' + t);
    return t;
  });

  await step(`${users.norole[0]} (no role) is refused with a clear message`, async () => {
    await login(...users.norole);
    await page.waitForFunction(() => document.querySelector('#login-error')?.dataset.status === '403');
    const t = await loginError();
    if (!/no role/i.test(t)) throw new Error('error shown: ' + t);
    return t;
  });

  // ---------------------------------------------------------- admin --
  await step(`${users.admin[0]} logs in as admin`, async () => {
    await login(...users.admin);
    await page.locator('#view-dashboard').waitFor({ state: 'visible' });
    const who = (await page.textContent('#whoami')).trim();
    const role = (await page.textContent('#user-role')).trim();
    if (who !== users.admin[0] || role !== 'admin') throw new Error(`header shows ${who} / ${role}`);
    return `${who}, ${role}`;
  });

  await step(`node table: ${nodes.join(', ')} up`, async () => {
    await page.waitForFunction((names) => names.every((n) =>
      document.querySelector(`#nodes-body tr[data-node="${n}"]`)?.dataset.state === 'up'), nodes, { timeout: 30_000 });
    const rows = await page.$$eval('#nodes-body tr[data-node]', (rs) => rs.map((r) =>
      `${r.dataset.node}:${r.dataset.state}${r.dataset.drain === 'true' ? ':drained' : ''}`));
    return rows.join(' ');
  });

  await step('status cards show the switch role and node count', async () => {
    await page.waitForFunction(() => document.querySelector('#status-role')?.dataset.role &&
      /\d+ \/ \d+/.test(document.querySelector('#nodes-up')?.textContent || ''));
    const role = await page.$eval('#status-role', (e) => e.dataset.role);
    const up = (await page.textContent('#nodes-up')).trim();
    const sync = (await page.textContent('#sync-state')).trim();
    if (up !== `${nodes.length} / ${nodes.length}`) throw new Error('nodes up: ' + up);
    return `role ${role}, nodes up ${up}, sync ${sync}`;
  });

  // The charts: points from >= 2 history samples, drawn, and moving.
  const chartInfo = (id) => page.$eval('#' + id, (e) => ({
    samples: Number(e.dataset.samples || 0), points: Number(e.dataset.points || 0), lastT: Number(e.dataset.lastT || 0),
  }));
  await step('flows chart plots points from >= 2 history samples', async () => {
    await page.waitForFunction(() => {
      const e = document.querySelector('#chart-flows');
      return Number(e.dataset.samples) >= 2 && Number(e.dataset.points) >= 2;
    }, null, { timeout: 20_000 });
    const c = await chartInfo('chart-flows');
    return `${c.samples} samples, ${c.points} points`;
  });
  await step('throughput chart plots per-node rates (>= 2 points, from >= 3 samples)', async () => {
    await page.waitForFunction(() => {
      const e = document.querySelector('#chart-throughput');
      return Number(e.dataset.samples) >= 3 && Number(e.dataset.points) >= 2;
    }, null, { timeout: 20_000 });
    const c = await chartInfo('chart-throughput');
    return `${c.samples} samples, ${c.points} points`;
  });
  if (expectTraffic) {
    await step('throughput chart shows the running download (a rate > 0 bit/s)', async () => {
      await page.waitForFunction(() => Number(document.querySelector('#chart-throughput').dataset.max) > 0, null, { timeout: 15_000 });
      const max = await page.$eval('#chart-throughput', (e) => Number(e.dataset.max));
      return `peak ${Math.round(max / 100) / 10} kbit/s`;
    });
  }
  await step('the throughput chart canvas has lines drawn on it', async () => {
    const inked = await page.$eval('#chart-throughput canvas', (cv) => {
      const d = cv.getContext('2d').getImageData(0, 0, cv.width, cv.height).data;
      const colours = new Set();
      let n = 0;
      for (let i = 0; i < d.length; i += 4) {
        if (d[i + 3] > 0) {
          n++;
          colours.add((d[i] >> 4) + ',' + (d[i + 1] >> 4) + ',' + (d[i + 2] >> 4));
        }
      }
      return { n, colours: colours.size };
    });
    if (inked.n < 200 || inked.colours < 3) throw new Error(JSON.stringify(inked));
    return `${inked.n} pixels, ${inked.colours} colours`;
  });
  await step('the charts are live: a newer history sample arrives within 6 s', async () => {
    const before = await chartInfo('chart-flows');
    await page.waitForFunction((t) => Number(document.querySelector('#chart-flows').dataset.lastT) > t,
      before.lastT, { timeout: 6_000 });
    const after = await chartInfo('chart-flows');
    return `newest sample +${after.lastT - before.lastT} ms`;
  });
  await shot(page, 'dashboard');

  // Drain through the button.
  const row = `#nodes-body tr[data-node="${drainNode}"]`;
  await step(`Drain button of ${drainNode} is enabled for the admin`, async () => {
    const b = page.locator(`${row} button[data-testid="drain-${drainNode}"]`);
    await b.waitFor({ state: 'visible' });
    if (await b.isDisabled()) throw new Error('disabled');
  });
  await step(`click Drain on ${drainNode}: the table shows it drained`, async () => {
    await page.click(`${row} button[data-testid="drain-${drainNode}"]`);
    await page.waitForFunction((r) => document.querySelector(r)?.dataset.drain === 'true', row, { timeout: 10_000 });
    const cell = (await page.textContent(`${row} [data-field="drain"]`)).trim();
    if (cell !== 'drained') throw new Error('drain cell: ' + cell);
    await page.locator(`${row} button[data-testid="undrain-${drainNode}"]`).waitFor({ state: 'visible' });
    return 'drain cell "drained", button now Undrain';
  });
  await step(`the API agrees: ${drainNode} drain true, state up`, async () => {
    const n = await page.evaluate(async (name) => {
      const r = await fetch('/api/v1/nodes', { credentials: 'same-origin' });
      return (await r.json()).nodes.find((x) => x.name === name);
    }, drainNode);
    if (!n || n.drain !== true || n.state !== 'up') throw new Error(JSON.stringify(n));
  });
  await step('other nodes are not drained', async () => {
    const others = await page.$$eval('#nodes-body tr[data-node]', (rs, d) =>
      rs.filter((r) => r.dataset.node !== d && r.dataset.drain === 'true').map((r) => r.dataset.node), drainNode);
    if (others.length) throw new Error('also drained: ' + others.join(' '));
  });
  await shot(page, 'drained');

  // Sessions view.
  await step('session table loads with its paging range', async () => {
    await page.click('#nav-sessions');
    await page.locator('#view-sessions').waitFor({ state: 'visible' });
    await page.waitForFunction(() => document.querySelector('#sessions-range')?.dataset.total !== undefined);
    const total = Number(await page.$eval('#sessions-range', (e) => e.dataset.total));
    const rows = await page.$$eval('#sessions-body tr[data-client]', (rs) => rs.length);
    if (total < expectSessions) throw new Error(`total ${total} < ${expectSessions}`);
    if (total > 0 && rows === 0) throw new Error(`total ${total} but no rows`);
    return `total ${total}, ${rows} rows shown`;
  });
  if (expectSessions > 0) {
    await step('session filter by node narrows the table', async () => {
      const first = await page.$eval('#sessions-body tr[data-client]', (r) => r.dataset.node);
      await page.selectOption('#filter-node', first);
      await page.click('#sessions-apply');
      await page.waitForFunction((n) => {
        const rs = [...document.querySelectorAll('#sessions-body tr[data-client]')];
        return rs.length > 0 && rs.every((r) => r.dataset.node === n);
      }, first);
      return `node ${first}`;
    });
    await step('Move… then Migrate re-points one flow to another node', async () => {
      // not the flow of a live TCP session: re-pointing it would break it
      const avoid = process.env.AVOID_FLOW || '';
      const rowSel = `#sessions-body tr[data-client]:not([data-client="${avoid}"])`;
      await page.locator(rowSel).first().locator('button').click();
      const client = await page.inputValue('#flow-client');
      const cport = await page.inputValue('#flow-client-port');
      const from = await page.locator(rowSel).first().getAttribute('data-node');
      const to = nodes.find((n) => n !== from && n !== drainNode);
      await page.selectOption('#flow-to', to);
      await page.click('#flow-migrate');
      await page.waitForFunction(() => /re-pointed|No flow|refused/.test(document.querySelector('#actions-result').textContent));
      const res = (await page.textContent('#actions-result')).trim();
      if (!/re-pointed/.test(res)) throw new Error(res);
      const now = await page.evaluate(async ([c, p]) => {
        const r = await (await fetch(`/api/v1/sessions?client=${c}&limit=10000`, { credentials: 'same-origin' })).json();
        return r.sessions.filter((x) => String(x.client_port) === p).map((x) => x.node);
      }, [client, cport]);
      if (now.length !== 1 || now[0] !== to) throw new Error(`the API lists ${client}:${cport} on ${now.join(',') || 'nothing'}`);
      console.log(`# migrated ${client} ${cport} ${to}`);
      return `${client}:${cport} ${from} -> ${to}: ${res}`;
    });
  }
  if (v6Client) {
    await step('IPv6 sessions: the client filter finds them, shown as [ADDRESS]:PORT', async () => {
      await page.selectOption('#filter-node', '');
      await page.fill('#filter-client', v6Client);
      await page.click('#sessions-apply');
      await page.waitForFunction((c) => {
        const rs = [...document.querySelectorAll('#sessions-body tr[data-client]')];
        return rs.length > 0 && rs.every((r) => r.dataset.client.startsWith(c + ':'));
      }, v6Client);
      const cells = await page.$$eval('#sessions-body tr[data-client]',
        (rs) => rs.map((r) => [r.cells[0].textContent, r.cells[1].textContent]));
      const bad = cells.filter(([c, v]) => !(c.startsWith(`[${v6Client}]:`) && /^\d+$/.test(c.slice(v6Client.length + 3)))
        || !/^\[[0-9a-f:]+\]:80$/.test(v));
      if (bad.length) throw new Error('cells: ' + JSON.stringify(bad.slice(0, 3)));
      return `${cells.length} rows, e.g. ${cells[0].join(' -> ')}`;
    });
  }
  await shot(page, 'sessions');

  await step('logout returns to the login form', async () => {
    await page.click('#logout');
    await page.locator('#login-form').waitFor({ state: 'visible' });
    const r = await page.evaluate(async () => (await fetch('/api/v1/session', { credentials: 'same-origin' })).status);
    if (r !== 401) throw new Error('GET /api/v1/session after logout: ' + r);
  });

  // --------------------------------------------------------- viewer --
  await step(`${users.viewer[0]} logs in as viewer`, async () => {
    await login(...users.viewer);
    await page.locator('#account').waitFor({ state: 'visible' });
    await page.click('#nav-dashboard');
    await page.locator('#view-dashboard').waitFor({ state: 'visible' });
    const role = (await page.textContent('#user-role')).trim();
    if (role !== 'viewer') throw new Error('role ' + role);
  });
  await step('viewer: every Drain/Undrain button is disabled', async () => {
    await page.waitForFunction((names) => names.every((n) => document.querySelector(`#nodes-body tr[data-node="${n}"] button.drain-btn`)),
      nodes, { timeout: 20_000 });
    const btns = await page.$$eval('#nodes-body button.drain-btn', (bs) => bs.map((b) => ({ id: b.dataset.testid, disabled: b.disabled })));
    const enabled = btns.filter((b) => !b.disabled);
    if (btns.length !== nodes.length || enabled.length) throw new Error(JSON.stringify(btns));
    return btns.map((b) => b.id).join(' ');
  });
  await step(`viewer: ${drainNode} still shown drained`, async () => {
    await page.waitForFunction((r) => document.querySelector(r)?.dataset.drain === 'true', row);
  });
  const other = nodes.find((n) => n !== drainNode);
  await step(`viewer: a drain POST with a valid CSRF token is refused (403), ${other} stays undrained`, async () => {
    const r = await page.evaluate(async (name) => {
      const s = await (await fetch('/api/v1/session', { credentials: 'same-origin' })).json();
      const res = await fetch(`/api/v1/nodes/${name}/drain`, { method: 'POST', credentials: 'same-origin', headers: { 'X-CSRF-Token': s.csrf } });
      const nodes = await (await fetch('/api/v1/nodes', { credentials: 'same-origin' })).json();
      return { status: res.status, body: await res.text(), drain: nodes.nodes.find((x) => x.name === name).drain };
    }, other);
    if (r.status !== 403 || r.drain !== false) throw new Error(JSON.stringify(r));
    return `403 ${r.body.trim()}`;
  });
  await step('viewer: config shown, Apply disabled, Validate of the current file says valid', async () => {
    await page.click('#nav-config');
    await page.locator('#view-config').waitFor({ state: 'visible' });
    await page.waitForFunction(() => document.querySelector('#config-text').value.length > 0 || !document.querySelector('#config-result').hidden);
    const text = await page.inputValue('#config-text');
    JSON.parse(text);
    if (!(await page.isDisabled('#config-apply'))) throw new Error('Apply enabled for a viewer');
    await page.click('#config-validate');
    await page.waitForFunction(() => /^(Valid|Invalid)/.test(document.querySelector('#config-result').textContent));
    const res = (await page.textContent('#config-result')).trim();
    if (!/^Valid:/.test(res)) throw new Error(res);
    return `${text.length} bytes of JSON; ${res}`;
  });
  await page.click('#nav-dashboard');
  await page.locator('#view-dashboard').waitFor({ state: 'visible' });
  await shot(page, 'viewer');

  await step('a POST without the CSRF token is refused (403)', async () => {
    const st = await page.evaluate(async () => (await fetch('/api/v1/logout', { method: 'POST', credentials: 'same-origin' })).status);
    if (st !== 403) throw new Error('status ' + st);
  });

  // --------------------------------------------------- rate limiting --
  // Last: it may lock logins out for a while.
  await step('repeated failed logins: 429, and the form says to wait', async () => {
    await page.click('#logout');
    await page.locator('#login-form').waitFor({ state: 'visible' });
    let status = 0;
    let tries = 0;
    for (; tries < 60 && status !== 429; tries++) {
      status = await page.evaluate(async () => (await fetch('/api/v1/login', {
        method: 'POST', credentials: 'same-origin', headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ user: 'mallory', password: 'wrong' }),
      })).status);
    }
    if (status !== 429) throw new Error(`no 429 after ${tries} failed logins (last ${status})`);
    await login(users.norole[0], 'wrong-again');
    await page.waitForFunction(() => document.querySelector('#login-error')?.dataset.status === '429');
    const t = await loginError();
    if (!/too many login attempts/i.test(t)) throw new Error('error shown: ' + t);
    return `after ${tries} attempts: "${t}"`;
  });
  await shot(page, 'ratelimit');

  await step('no page errors and no CSP refusals', async () => {
    if (problems.length) throw new Error(problems.join('\n'));
  });
} catch (e) {
  notOk('browser test ran to the end', e && e.stack ? e.stack : String(e));
} finally {
  clearTimeout(watchdog);
  if (browser) await browser.close();
}
console.log(`# console.mjs: ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
