// SVG charts for `npm run bench` (docs/perf/*.svg), written by hand so the
// report needs no plotting dependency and no browser: a line chart (optionally
// log-scaled axes, min-max whiskers per point) and a grouped bar chart (with
// min-max whiskers and an optional reference line, e.g. a machine limit).

export interface Point {
  x: number;
  y: number;
  min?: number;
  max?: number;
}

export interface Series {
  name: string;
  points: Point[];
}

export interface LineChartOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  series: Series[];
  logX?: boolean;
  logY?: boolean;
  /** Tick labels for x (e.g. 1024 -> "1 KiB"). */
  xFormat?: (x: number) => string;
}

export interface Bar {
  name: string;
  value: number;
  min?: number;
  max?: number;
}

export interface BarGroup {
  label: string;
  bars: Bar[];
}

export interface BarChartOptions {
  title: string;
  yLabel: string;
  groups: BarGroup[];
  /** A horizontal line across the plot, e.g. the machine's limit. */
  reference?: { value: number; label: string };
}

const WIDTH = 720;
const HEIGHT = 420;
const M = { left: 78, right: 20, top: 40, bottom: 62 };
const PLOT_W = WIDTH - M.left - M.right;
const COLORS = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];
const FONT = 'font-family="sans-serif" font-size="12"';

export function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** Short tick label: 1234567 -> "1.23M". */
export function shortNumber(n: number): string {
  const a = Math.abs(n);
  if (a === 0) return '0';
  if (a >= 1e9) return `${+(n / 1e9).toPrecision(3)}G`;
  if (a >= 1e6) return `${+(n / 1e6).toPrecision(3)}M`;
  if (a >= 1e4) return `${+(n / 1e3).toPrecision(3)}k`;
  if (a >= 1) return String(+n.toPrecision(3));
  return String(+n.toPrecision(2));
}

/** About `count` round tick values covering [lo, hi] (1, 2 or 5 times a power of ten apart). */
export function linearTicks(lo: number, hi: number, count = 5): number[] {
  if (!(hi > lo)) hi = lo + 1;
  const raw = (hi - lo) / count;
  const pow = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((f) => f * pow).find((s) => s >= raw) ?? 10 * pow;
  const ticks: number[] = [];
  for (let t = Math.ceil(lo / step) * step; t <= hi + step * 1e-9; t += step) ticks.push(+t.toPrecision(12));
  return ticks;
}

/** Powers of ten covering [lo, hi] (lo > 0). */
export function logTicks(lo: number, hi: number): number[] {
  const ticks: number[] = [];
  for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++) ticks.push(10 ** e);
  return ticks;
}

interface Scale {
  map(v: number): number;
  ticks: number[];
}

function scale(lo: number, hi: number, from: number, to: number, log: boolean, ticksOverride?: number[]): Scale {
  if (log) {
    const ticks = ticksOverride ?? logTicks(lo, hi);
    const a = Math.log10(Math.min(lo, ...ticks));
    const b = Math.log10(Math.max(hi, ...ticks));
    const span = b - a || 1;
    return { map: (v) => from + ((Math.log10(Math.max(v, 10 ** a)) - a) / span) * (to - from), ticks };
  }
  const ticks = ticksOverride ?? linearTicks(lo, hi);
  const a = Math.min(lo, ticks[0]);
  const b = Math.max(hi, ticks[ticks.length - 1]);
  const span = b - a || 1;
  return { map: (v) => from + ((v - a) / span) * (to - from), ticks };
}

function frame(title: string, yLabel: string, xLabel: string, legend: string[], body: string[]): string {
  const legendRows = legend.length;
  const height = HEIGHT + legendRows * 0;
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}">`,
    `<rect width="${WIDTH}" height="${height}" fill="white"/>`,
    `<text x="${WIDTH / 2}" y="22" text-anchor="middle" font-family="sans-serif" font-size="15" font-weight="bold">${escapeXml(title)}</text>`,
    `<text transform="translate(16 ${M.top + (HEIGHT - M.top - M.bottom) / 2}) rotate(-90)" text-anchor="middle" ${FONT}>${escapeXml(yLabel)}</text>`,
    `<text x="${M.left + PLOT_W / 2}" y="${HEIGHT - 8}" text-anchor="middle" ${FONT}>${escapeXml(xLabel)}</text>`,
    ...body,
    '</svg>',
  ];
  return out.join('\n') + '\n';
}

function legendBox(names: string[]): string[] {
  const out: string[] = [];
  const x = M.left + 10;
  let y = M.top + 6;
  for (let i = 0; i < names.length; i++) {
    out.push(`<rect x="${x}" y="${y}" width="12" height="12" fill="${COLORS[i % COLORS.length]}"/>`);
    out.push(`<text x="${x + 18}" y="${y + 10}" ${FONT}>${escapeXml(names[i])}</text>`);
    y += 17;
  }
  return out;
}

const finite = (xs: number[]) => xs.filter((v) => Number.isFinite(v));

export function lineChart(o: LineChartOptions): string {
  const plotBottom = HEIGHT - M.bottom;
  const xs = finite(o.series.flatMap((s) => s.points.map((p) => p.x)));
  const ys = finite(o.series.flatMap((s) => s.points.flatMap((p) => [p.y, p.min ?? p.y, p.max ?? p.y])));
  const positive = (v: number[]) => v.filter((n) => n > 0);
  const xVals = o.logX ? positive(xs) : xs;
  const yVals = o.logY ? positive(ys) : ys;
  const xlo = xVals.length ? Math.min(...xVals) : 1;
  const xhi = xVals.length ? Math.max(...xVals) : 10;
  const ylo = o.logY ? (yVals.length ? Math.min(...yVals) : 1) : Math.min(0, ...yVals);
  const yhi = yVals.length ? Math.max(...yVals) : 1;
  // Log x axes get a tick at every distinct x (batch sizes, partition counts): the values are the story.
  const xTicks = o.logX ? [...new Set(xVals)].sort((a, b) => a - b) : undefined;
  // Inset so the first and last points sit off the axes.
  const sx = scale(xlo, xhi, M.left + 24, WIDTH - M.right - 24, !!o.logX, xTicks);
  const sy = scale(ylo, yhi * (o.logY ? 1 : 1.05), plotBottom, M.top, !!o.logY);
  const body: string[] = [];
  body.push(`<g stroke="#ddd">`);
  for (const t of sy.ticks) body.push(`<line x1="${M.left}" x2="${WIDTH - M.right}" y1="${sy.map(t).toFixed(1)}" y2="${sy.map(t).toFixed(1)}"/>`);
  body.push('</g>');
  body.push(`<g stroke="black"><line x1="${M.left}" x2="${M.left}" y1="${M.top}" y2="${plotBottom}"/><line x1="${M.left}" x2="${WIDTH - M.right}" y1="${plotBottom}" y2="${plotBottom}"/></g>`);
  for (const t of sy.ticks) body.push(`<text x="${M.left - 6}" y="${(sy.map(t) + 4).toFixed(1)}" text-anchor="end" ${FONT}>${escapeXml(shortNumber(t))}</text>`);
  for (const t of sx.ticks) {
    const x = sx.map(t).toFixed(1);
    body.push(`<line x1="${x}" x2="${x}" y1="${plotBottom}" y2="${plotBottom + 5}" stroke="black"/>`);
    body.push(`<text x="${x}" y="${plotBottom + 18}" text-anchor="middle" ${FONT}>${escapeXml(o.xFormat ? o.xFormat(t) : shortNumber(t))}</text>`);
  }
  o.series.forEach((s, i) => {
    const color = COLORS[i % COLORS.length];
    const pts = s.points.filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y) && (!o.logX || p.x > 0) && (!o.logY || p.y > 0)).sort((a, b) => a.x - b.x);
    if (pts.length === 0) return;
    body.push(`<polyline fill="none" stroke="${color}" stroke-width="2" points="${pts.map((p) => `${sx.map(p.x).toFixed(1)},${sy.map(p.y).toFixed(1)}`).join(' ')}"/>`);
    for (const p of pts) {
      const x = sx.map(p.x).toFixed(1);
      if (p.min !== undefined && p.max !== undefined && Number.isFinite(p.min) && Number.isFinite(p.max) && (!o.logY || p.min > 0)) {
        body.push(`<line x1="${x}" x2="${x}" y1="${sy.map(p.min).toFixed(1)}" y2="${sy.map(p.max).toFixed(1)}" stroke="${color}" stroke-width="1"/>`);
      }
      body.push(`<circle cx="${x}" cy="${sy.map(p.y).toFixed(1)}" r="3" fill="${color}"/>`);
    }
  });
  body.push(...legendBox(o.series.map((s) => s.name)));
  return frame(o.title, o.yLabel, o.xLabel, [], body);
}

export function barChart(o: BarChartOptions): string {
  const plotBottom = HEIGHT - M.bottom;
  const names = [...new Set(o.groups.flatMap((g) => g.bars.map((b) => b.name)))];
  const values = finite(o.groups.flatMap((g) => g.bars.flatMap((b) => [b.value, b.max ?? b.value])));
  if (o.reference && Number.isFinite(o.reference.value)) values.push(o.reference.value);
  const yhi = values.length ? Math.max(...values) : 1;
  // Room above the bars for the legend.
  const sy = scale(0, yhi * (1.1 + 0.06 * names.length), plotBottom, M.top, false);
  const body: string[] = [];
  body.push(`<g stroke="#ddd">`);
  for (const t of sy.ticks) body.push(`<line x1="${M.left}" x2="${WIDTH - M.right}" y1="${sy.map(t).toFixed(1)}" y2="${sy.map(t).toFixed(1)}"/>`);
  body.push('</g>');
  for (const t of sy.ticks) body.push(`<text x="${M.left - 6}" y="${(sy.map(t) + 4).toFixed(1)}" text-anchor="end" ${FONT}>${escapeXml(shortNumber(t))}</text>`);
  const groupW = PLOT_W / Math.max(1, o.groups.length);
  const barW = Math.min(60, (groupW * 0.8) / Math.max(1, names.length));
  o.groups.forEach((g, gi) => {
    const x0 = M.left + gi * groupW + (groupW - barW * names.length) / 2;
    names.forEach((name, bi) => {
      const b = g.bars.find((x) => x.name === name);
      if (!b || !Number.isFinite(b.value)) return;
      const x = x0 + bi * barW;
      const y = sy.map(Math.max(0, b.value));
      body.push(`<rect x="${x.toFixed(1)}" y="${y.toFixed(1)}" width="${(barW - 2).toFixed(1)}" height="${(plotBottom - y).toFixed(1)}" fill="${COLORS[bi % COLORS.length]}"><title>${escapeXml(`${g.label} ${name}: ${shortNumber(b.value)}`)}</title></rect>`);
      if (b.min !== undefined && b.max !== undefined && Number.isFinite(b.min) && Number.isFinite(b.max)) {
        const cx = (x + (barW - 2) / 2).toFixed(1);
        body.push(`<line x1="${cx}" x2="${cx}" y1="${sy.map(b.min).toFixed(1)}" y2="${sy.map(b.max).toFixed(1)}" stroke="black"/>`);
      }
      body.push(`<text x="${(x + (barW - 2) / 2).toFixed(1)}" y="${(y - 4).toFixed(1)}" text-anchor="middle" font-family="sans-serif" font-size="10">${escapeXml(shortNumber(b.value))}</text>`);
    });
    body.push(`<text x="${(M.left + gi * groupW + groupW / 2).toFixed(1)}" y="${plotBottom + 18}" text-anchor="middle" ${FONT}>${escapeXml(g.label)}</text>`);
  });
  if (o.reference && Number.isFinite(o.reference.value)) {
    const y = sy.map(o.reference.value).toFixed(1);
    body.push(`<line x1="${M.left}" x2="${WIDTH - M.right}" y1="${y}" y2="${y}" stroke="#d62728" stroke-dasharray="6 4"/>`);
    body.push(`<text x="${WIDTH - M.right - 4}" y="${(Number(y) - 5).toFixed(1)}" text-anchor="end" fill="#d62728" ${FONT}>${escapeXml(o.reference.label)}</text>`);
  }
  body.push(`<g stroke="black"><line x1="${M.left}" x2="${M.left}" y1="${M.top}" y2="${plotBottom}"/><line x1="${M.left}" x2="${WIDTH - M.right}" y1="${plotBottom}" y2="${plotBottom}"/></g>`);
  body.push(...legendBox(names));
  return frame(o.title, o.yLabel, '', [], body);
}

/**
 * A structural check of our own SVG output (the smoke test's "parses as XML"):
 * one <svg> root, balanced tags, quoted attributes, escaped text, and every
 * number in a coordinate attribute finite.
 */
export function checkSvg(text: string): string | null {
  if (!text.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')) return 'no <svg> root with the SVG namespace';
  const stack: string[] = [];
  const tag = /<(\/?)([a-zA-Z]+)((?:\s+[a-zA-Z0-9:-]+="[^"<]*")*)\s*(\/?)>|([^<]+)/gy;
  let at = 0;
  let roots = 0;
  while (at < text.length) {
    tag.lastIndex = at;
    const m = tag.exec(text);
    if (!m || m.index !== at) return `unparsable markup at ${at}: ${JSON.stringify(text.slice(at, at + 40))}`;
    at = tag.lastIndex;
    if (m[5] !== undefined) {
      if (stack.length === 0 && m[5].trim() !== '') return 'text outside the root';
      if (/&(?!amp;|lt;|gt;|quot;)/.test(m[5])) return `unescaped & in ${JSON.stringify(m[5])}`;
      continue;
    }
    const [, close, name, attrs, selfClose] = m;
    for (const a of attrs.matchAll(/([a-zA-Z0-9:-]+)="([^"]*)"/g)) {
      if (['x', 'y', 'x1', 'x2', 'y1', 'y2', 'cx', 'cy', 'r', 'width', 'height'].includes(a[1]) && !Number.isFinite(Number(a[2]))) return `${name} ${a[1]}="${a[2]}" is not a finite number`;
      if (a[1] === 'points' && a[2].split(/[\s,]+/).some((v) => !Number.isFinite(Number(v)))) return `polyline points not finite: ${a[2].slice(0, 60)}`;
    }
    if (close) {
      if (stack.pop() !== name) return `</${name}> does not close the open element`;
    } else if (!selfClose) {
      if (stack.length === 0) roots++;
      stack.push(name);
    } else if (stack.length === 0) return 'self-closed element outside the root';
  }
  if (stack.length > 0) return `unclosed <${stack[stack.length - 1]}>`;
  if (roots !== 1) return `${roots} root elements`;
  return null;
}
