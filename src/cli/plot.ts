/** One learning curve: accuracy after each round against labels and bytes fetched. */
export interface CurveSeries {
  name: string;
  points: { labels: number; bytesFetched: number; accuracy: number }[];
}

const COLORS = ['#d62728', '#1f77b4', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b'];

/**
 * Learning curves as a standalone SVG: accuracy vs labels (left) and vs bytes fetched (right),
 * one line per series (a dashed grey one for a series named 'random', the baseline).
 */
export function learningCurvesSvg(series: CurveSeries[], title = 'Active learning'): string {
  const [w, h, pad] = [420, 300, 48];
  const all = series.flatMap((s) => s.points);
  const acc = all.map((p) => p.accuracy);
  const [yMin, yMax] = niceRange(Math.min(...acc, 1), Math.max(...acc, 0));
  const panel = (x0: number, key: 'labels' | 'bytesFetched', label: string, format: (v: number) => string) => {
    const xMax = Math.max(...all.map((p) => p[key]), 1);
    const sx = (v: number) => x0 + pad + (v / xMax) * (w - pad - 16);
    const sy = (v: number) => 28 + (1 - (v - yMin) / (yMax - yMin || 1)) * (h - 28 - pad);
    const ticks = [0, 0.25, 0.5, 0.75, 1];
    const grid = ticks.map((t) => {
      const y = sy(yMin + t * (yMax - yMin));
      const x = sx(t * xMax);
      return `<line x1="${x0 + pad}" x2="${x0 + w - 16}" y1="${y}" y2="${y}" stroke="#eee"/>` +
        `<text x="${x0 + pad - 6}" y="${y + 4}" text-anchor="end">${(yMin + t * (yMax - yMin)).toFixed(3)}</text>` +
        `<text x="${x}" y="${h - pad + 16}" text-anchor="middle">${format(t * xMax)}</text>`;
    }).join('');
    const lines = series.map((s, i) => {
      const baseline = s.name === 'random';
      const color = baseline ? '#888' : COLORS[i % COLORS.length];
      const d = s.points.map((p, j) => `${j ? 'L' : 'M'}${sx(p[key]).toFixed(1)},${sy(p.accuracy).toFixed(1)}`).join('');
      const dots = s.points.map((p) => `<circle cx="${sx(p[key]).toFixed(1)}" cy="${sy(p.accuracy).toFixed(1)}" r="2.5" fill="${color}"/>`).join('');
      return `<path d="${d}" fill="none" stroke="${color}" stroke-width="2"${baseline ? ' stroke-dasharray="5 4"' : ''}/>${dots}`;
    }).join('');
    return `${grid}<line x1="${x0 + pad}" x2="${x0 + pad}" y1="28" y2="${h - pad}" stroke="#333"/>` +
      `<line x1="${x0 + pad}" x2="${x0 + w - 16}" y1="${h - pad}" y2="${h - pad}" stroke="#333"/>` +
      `<text x="${x0 + pad + (w - pad) / 2}" y="${h - 8}" text-anchor="middle">${label}</text>${lines}`;
  };
  const legend = series.map((s, i) =>
    `<rect x="${pad + i * 150}" y="${h + 4}" width="12" height="4" fill="${s.name === 'random' ? '#888' : COLORS[i % COLORS.length]}"/><text x="${pad + i * 150 + 16}" y="${h + 10}">${escape(s.name)}</text>`).join('');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${2 * w}" height="${h + 24}" viewBox="0 0 ${2 * w} ${h + 24}" font-family="sans-serif" font-size="11">` +
    `<rect width="100%" height="100%" fill="white"/><text x="${w}" y="16" text-anchor="middle" font-size="13">${escape(title)}: test accuracy</text>` +
    panel(0, 'labels', 'labels', (v) => v.toFixed(0)) + panel(w, 'bytesFetched', 'bytes fetched (MB)', (v) => (v / 1e6).toFixed(1)) + legend + '</svg>\n';
}

function niceRange(min: number, max: number): [number, number] {
  if (!(max > min)) return [Math.max(0, min - 0.05), Math.min(1, max + 0.05)];
  const margin = (max - min) * 0.08;
  return [Math.max(0, min - margin), Math.min(1, max + margin)];
}

function escape(text: string): string {
  return text.replace(/[<>&"]/g, (c) => `&#${c.charCodeAt(0)};`);
}
