// Live charts of GET /api/v1/history (uPlot, vendor/uPlot.iife.min.js).
//
// history = {interval_ms, samples: [{t (unix ms), nodes: {NAME: {bytes,
// packets, flows, handoffs_in, handoffs_out}}, flows, handoffs, failovers,
// role}]}.  bytes, packets, handoffs and failovers are counters that only
// grow (while the daemons run); flows is a gauge (entries in the flow table).
//
//   throughput of node N at sample i = (bytes[i] - bytes[i-1]) * 8 / (t[i] - t[i-1])
//   handoffs/s, failovers/s        = the same difference of their counters
//
// A counter that went down (a daemon restarted) gives no point for that
// interval instead of a negative rate.
//
// Each chart's container carries data-samples (history samples plotted) and
// data-points (finite points of its fullest series), data-max (largest value
// plotted) and data-last-t (unix ms of the newest sample), for tests.

import { fmtBits, fmtInt } from './format.js';

const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf', '#7f7f7f', '#bcbd22'];

function rate(samples, i, pick) {
  if (i === 0) return null;
  const a = pick(samples[i - 1]);
  const b = pick(samples[i]);
  const dt = (samples[i].t - samples[i - 1].t) / 1000;
  if (typeof a !== 'number' || typeof b !== 'number' || !(dt > 0) || b < a) return null;
  return (b - a) / dt;
}

function nodeNames(samples) {
  const s = new Set();
  for (const x of samples) for (const n of Object.keys(x.nodes || {})) s.add(n);
  return [...s].sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
}

// sum of a per-node field, or null when no node has it
function nodeSum(sample, field) {
  let sum = null;
  for (const v of Object.values(sample.nodes || {})) {
    if (typeof v[field] === 'number') sum = (sum || 0) + v[field];
  }
  return sum;
}

// handoffs counter of a sample: its own, else the nodes' handoffs_in summed
function handoffCount(s) {
  return typeof s.handoffs === 'number' ? s.handoffs : nodeSum(s, 'handoffs_in');
}

export function buildSeries(history) {
  const samples = (history && Array.isArray(history.samples) ? history.samples : [])
    .filter((s) => s && typeof s.t === 'number')
    .sort((a, b) => a.t - b.t);
  const names = nodeNames(samples);
  const x = samples.map((s) => s.t / 1000);
  const thr = names.map((n) => samples.map((_, i) => {
    const r = rate(samples, i, (s) => (s.nodes && s.nodes[n] ? s.nodes[n].bytes : undefined));
    return r === null ? null : r * 8;
  }));
  const flowsTotal = samples.map((s) => (typeof s.flows === 'number' ? s.flows : nodeSum(s, 'flows')));
  const flowsPer = names.map((n) => samples.map((s) => (s.nodes && s.nodes[n] && typeof s.nodes[n].flows === 'number' ? s.nodes[n].flows : null)));
  const handoffs = samples.map((_, i) => rate(samples, i, handoffCount));
  const failovers = samples.map((_, i) => rate(samples, i, (s) => s.failovers));
  const last = samples.length ? samples[samples.length - 1] : null;
  return { samples, names, x, thr, flowsTotal, flowsPer, handoffs, failovers, last };
}

function finiteCount(arr) {
  let n = 0;
  for (const v of arr) if (typeof v === 'number' && Number.isFinite(v)) n++;
  return n;
}

function finiteMax(arr) {
  let m = 0;
  for (const v of arr) if (typeof v === 'number' && Number.isFinite(v) && v > m) m = v;
  return m;
}

class Chart {
  // spec: {title, yFormat, series: [{label, stroke, fill?, width?}], yMin0}
  constructor(container) {
    this.container = container;
    this.plot = null;
    this.key = '';
  }

  size() {
    const w = Math.max(300, this.container.clientWidth || 600);
    return { width: w, height: 220 };
  }

  update(key, seriesSpec, data, yFormat) {
    if (typeof window.uPlot !== 'function') return;
    if (!this.plot || key !== this.key) {
      if (this.plot) this.plot.destroy();
      this.key = key;
      const opts = {
        ...this.size(),
        legend: { show: true, live: true },
        cursor: { drag: { x: false, y: false } },
        scales: { x: { time: true }, y: { range: (u, min, max) => [0, max > 0 ? max * 1.1 : 1] } },
        axes: [
          { stroke: '#66707d', grid: { stroke: '#eef1f4' } },
          { stroke: '#66707d', grid: { stroke: '#eef1f4' }, size: 80, values: (u, vals) => vals.map((v) => yFormat(v)) },
        ],
        series: [{}, ...seriesSpec.map((s) => ({
          label: s.label,
          stroke: s.stroke,
          fill: s.fill,
          width: s.width || 1.5,
          spanGaps: false,
          points: { show: s.points || false },
          value: (u, v) => (v === null || v === undefined ? '–' : yFormat(v)),
          paths: s.bars && window.uPlot.paths && window.uPlot.paths.bars ? window.uPlot.paths.bars({ size: [0.8, 12] }) : undefined,
        }))],
      };
      this.plot = new window.uPlot(opts, data, this.container);
    } else {
      this.plot.setData(data);
    }
    this.container.dataset.samples = String(data[0].length);
    this.container.dataset.lastT = data[0].length ? String(Math.round(data[0][data[0].length - 1] * 1000)) : '';
    this.container.dataset.points = String(Math.max(0, ...data.slice(1).map(finiteCount)));
    this.container.dataset.max = String(Math.max(0, ...data.slice(1).map(finiteMax)));
  }

  resize() {
    if (this.plot) this.plot.setSize(this.size());
  }
}

export class Charts {
  constructor(ids) {
    this.thr = new Chart(document.getElementById(ids.throughput));
    this.flows = new Chart(document.getElementById(ids.flows));
    this.events = new Chart(document.getElementById(ids.events));
    let pending = 0;
    window.addEventListener('resize', () => {
      clearTimeout(pending);
      pending = setTimeout(() => this.resize(), 150);
    });
  }

  resize() {
    this.thr.resize();
    this.flows.resize();
    this.events.resize();
  }

  render(history) {
    const s = buildSeries(history);
    const nodeSpec = s.names.map((n, i) => ({ label: n, stroke: PALETTE[i % PALETTE.length] }));
    const key = s.names.join(',');
    this.thr.update('thr:' + key, nodeSpec, [s.x, ...s.thr], fmtBits);
    this.flows.update('flows:' + key,
      [{ label: 'all', stroke: '#1c2430', width: 2, fill: 'rgba(31,78,121,.06)' }, ...nodeSpec],
      [s.x, s.flowsTotal, ...s.flowsPer], (v) => fmtInt(Math.round(v)));
    this.events.update('events',
      [{ label: 'handoffs/s', stroke: '#2ca02c', fill: 'rgba(44,160,44,.12)' },
        { label: 'failovers/s', stroke: '#d62728', width: 2 }],
      [s.x, s.handoffs, s.failovers], (v) => (Math.abs(v) >= 100 ? fmtInt(Math.round(v)) : String(Math.round(v * 100) / 100)));
    return s;
  }
}
