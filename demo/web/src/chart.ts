import type { Point } from './run.js';

export interface Series {
  name: string;
  points: Point[];
  /** The random baseline: grey and dashed. */
  baseline?: boolean;
}

const [W, H] = [360, 190];
const PAD = { left: 40, right: 12, top: 10, bottom: 34 };

/**
 * Accuracy against labels and against bytes fetched, one small SVG each (they stack on a
 * narrow screen), sharing one accuracy axis.
 */
export function drawCharts(host: HTMLElement, series: Series[]): void {
  const all = series.flatMap((s) => s.points);
  if (all.length === 0) {
    host.innerHTML = '<p class="help">The curves appear after the first round.</p>';
    return;
  }
  const accs = all.map((p) => p.accuracy);
  // An axis in tenths, at least 0.3 tall, so the ticks read as round numbers.
  let lo = Math.floor(Math.min(...accs) * 10) / 10;
  let hi = Math.ceil(Math.max(...accs) * 10) / 10;
  if (hi - lo < 0.3) [lo, hi] = [Math.max(0, Math.min(lo, hi - 0.3)), Math.min(1, Math.max(hi, lo + 0.3))];
  const legend = series.map((s) => `<span class="key${s.baseline ? ' baseline' : ''}">${escape(s.name)}</span>`).join('');
  host.innerHTML = panel(series, 'labels', 'labels', (v) => v.toFixed(0), lo, hi) +
    panel(series, 'bytesFetched', 'bytes fetched', formatBytes, lo, hi) + `<p class="legend">${legend}</p>`;
}

function panel(series: Series[], key: 'labels' | 'bytesFetched', title: string, format: (v: number) => string, lo: number, hi: number): string {
  const xMax = Math.max(1, ...series.flatMap((s) => s.points.map((p) => p[key])));
  const sx = (v: number) => PAD.left + (v / xMax) * (W - PAD.left - PAD.right);
  const sy = (v: number) => PAD.top + (1 - (v - lo) / (hi - lo)) * (H - PAD.top - PAD.bottom);
  const ticks = [0, 0.5, 1];
  let out = `<svg viewBox="0 0 ${W} ${H}" role="img" aria-label="test accuracy against ${title}" data-axis="${key}">`;
  const step = hi - lo > 0.6 ? 0.2 : 0.1;
  for (let v = lo; v <= hi + 1e-9; v += step) {
    out += `<line class="gridline" x1="${PAD.left}" x2="${W - PAD.right}" y1="${sy(v)}" y2="${sy(v)}"/><text x="${PAD.left - 4}" y="${sy(v) + 4}" text-anchor="end">${v.toFixed(1)}</text>`;
  }
  for (const t of ticks) out += `<text x="${sx(t * xMax)}" y="${H - PAD.bottom + 14}" text-anchor="${t === 0 ? 'start' : t === 1 ? 'end' : 'middle'}">${format(t * xMax)}</text>`;
  out += `<text x="${(PAD.left + W - PAD.right) / 2}" y="${H - 4}" text-anchor="middle" class="title">${title}</text>`;
  for (const s of series) {
    const d = s.points.map((p, i) => `${i ? 'L' : 'M'}${sx(p[key]).toFixed(1)},${sy(p.accuracy).toFixed(1)}`).join('');
    out += `<path class="line${s.baseline ? ' baseline' : ''}" d="${d}"/>`;
    out += s.points.map((p) => `<circle class="dot${s.baseline ? ' baseline' : ''}" cx="${sx(p[key]).toFixed(1)}" cy="${sy(p.accuracy).toFixed(1)}" r="3"><title>${escape(s.name)} round ${p.round}: ${p.accuracy.toFixed(4)} at ${p.labels} labels, ${formatBytes(p.bytesFetched)}</title></circle>`).join('');
  }
  return out + '</svg>';
}

export function formatBytes(n: number): string {
  if (n < 1000) return `${Math.round(n)} B`;
  const units = ['kB', 'MB', 'GB', 'TB'];
  let v = n / 1000;
  let u = 0;
  while (v >= 1000 && u < units.length - 1) {
    v /= 1000;
    u++;
  }
  return `${v.toFixed(v < 10 ? 2 : v < 100 ? 1 : 0)} ${units[u]}`;
}

function escape(text: string): string {
  return text.replace(/[<>&"]/g, (c) => `&#${c.charCodeAt(0)};`);
}
