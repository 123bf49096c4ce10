// A small grouped bar chart in SVG, built with DOM calls only (no inline style, so the CSP needs
// no 'unsafe-inline'); colours come from the stylesheet by class. Every chart is paired with a
// table of the same numbers by its caller; the SVG has a role and a title for screen readers.
const NS = 'http://www.w3.org/2000/svg';

function svg<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Record<string, string | number>, text?: string): SVGElementTagNameMap[K] {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  if (text !== undefined) el.textContent = text;
  return el;
}

export interface Series { name: string; values: number[]; cls: string }

export function bars(title: string, groups: string[], series: Series[]): SVGSVGElement {
  const W = 640, H = 220, left = 40, bottom = 30, top = 10;
  const max = Math.max(1, ...series.flatMap((s) => s.values));
  const gw = (W - left - 10) / Math.max(1, groups.length);
  const bw = Math.max(4, (gw - 12) / series.length);
  const id = `t${Math.random().toString(36).slice(2, 8)}`;
  const root = svg('svg', { viewBox: `0 0 ${W} ${H + 30}`, role: 'img', 'aria-labelledby': id, class: 'chart', width: '100%' });
  root.appendChild(svg('title', { id }, title));
  const y = (v: number) => top + (H - top - bottom) * (1 - v / max);
  for (let t = 0; t <= 4; t++) {
    const v = Math.round((max * t) / 4);
    root.appendChild(svg('line', { x1: left, x2: W - 10, y1: y(v), y2: y(v), class: 'grid' }));
    root.appendChild(svg('text', { x: left - 4, y: y(v) + 4, 'text-anchor': 'end', class: 'axis' }, String(v)));
  }
  groups.forEach((g, gi) => {
    series.forEach((s, si) => {
      const v = s.values[gi] ?? 0;
      const x = left + gi * gw + 6 + si * bw;
      const r = svg('rect', { x, y: y(v), width: bw - 2, height: Math.max(0, H - bottom - y(v)), class: s.cls });
      r.appendChild(svg('title', {}, `${g}: ${v} ${s.name}`));
      root.appendChild(r);
    });
    root.appendChild(svg('text', { x: left + gi * gw + gw / 2, y: H - bottom + 16, 'text-anchor': 'middle', class: 'axis' }, g));
  });
  series.forEach((s, si) => {
    root.appendChild(svg('rect', { x: left + si * 130, y: H + 8, width: 12, height: 12, class: s.cls }));
    root.appendChild(svg('text', { x: left + si * 130 + 16, y: H + 18, class: 'axis' }, s.name));
  });
  return root;
}

export interface Band { lower: number; upper: number; label: string; cls: string }
export interface Rule { y: number; label: string; cls: string }
/** A band that follows the x axis (a percentile range over time), with its median if given. */
export interface Area { lower: number[]; upper: number[]; median?: number[]; label: string; cls: string }

/**
 * A line chart of `ys` over `xs`, with optional horizontal bands (a window), rules (a threshold)
 * and an area under the curve (a population's percentiles at each x).
 */
export function line(title: string, xLabel: string, yLabel: string, xs: number[], ys: number[], bands: Band[] = [], rules: Rule[] = [], area?: Area): SVGSVGElement {
  const W = 680, H = 300, left = 56, right = 12, top = 12, bottom = 44;
  const xmax = Math.max(1e-9, ...xs);
  const ymax = Math.max(1e-9, ...ys, ...bands.map((b) => b.upper), ...rules.map((r) => r.y), ...(area?.upper ?? [])) * 1.08;
  const X = (v: number) => left + ((W - left - right) * v) / xmax;
  const Y = (v: number) => top + (H - top - bottom) * (1 - Math.min(v, ymax) / ymax);
  const id = `t${Math.random().toString(36).slice(2, 8)}`;
  const root = svg('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-labelledby': id, class: 'chart', width: '100%' });
  root.appendChild(svg('title', { id }, title));
  for (const b of bands) {
    root.appendChild(svg('rect', { x: left, width: W - left - right, y: Y(b.upper), height: Math.max(0, Y(b.lower) - Y(b.upper)), class: b.cls }));
    root.appendChild(svg('text', { x: W - right - 4, y: Y(b.upper) + 12, 'text-anchor': 'end', class: 'axis' }, b.label));
  }
  for (let t = 0; t <= 4; t++) {
    const v = (ymax * t) / 4;
    root.appendChild(svg('line', { x1: left, x2: W - right, y1: Y(v), y2: Y(v), class: 'grid' }));
    root.appendChild(svg('text', { x: left - 4, y: Y(v) + 4, 'text-anchor': 'end', class: 'axis' }, v.toPrecision(2)));
    const xv = (xmax * t) / 4;
    root.appendChild(svg('text', { x: X(xv), y: H - bottom + 16, 'text-anchor': 'middle', class: 'axis' }, xv.toFixed(0)));
  }
  for (const r of rules) {
    root.appendChild(svg('line', { x1: left, x2: W - right, y1: Y(r.y), y2: Y(r.y), class: r.cls }));
    root.appendChild(svg('text', { x: left + 4, y: Y(r.y) - 4, class: 'axis' }, r.label));
  }
  const path = (vs: number[]) => xs.map((x, i) => `${i ? 'L' : 'M'}${X(x).toFixed(1)},${Y(vs[i]).toFixed(1)}`).join('');
  if (area) {
    // Upper edge left to right, lower edge back: one closed shape.
    const back = xs.map((x, i) => `L${X(x).toFixed(1)},${Y(area.lower[i]).toFixed(1)}`).reverse().join('');
    const shape = svg('path', { d: `${path(area.upper)}${back}Z`, class: area.cls });
    shape.appendChild(svg('title', {}, area.label));
    root.appendChild(shape);
    if (area.median) root.appendChild(svg('path', { d: path(area.median), class: 'median' }));
    root.appendChild(svg('text', { x: W - right - 4, y: top + 12, 'text-anchor': 'end', class: 'axis' }, area.label));
  }
  root.appendChild(svg('path', { d: path(ys), class: 'curve' }));
  root.appendChild(svg('text', { x: (left + W) / 2, y: H - 6, 'text-anchor': 'middle', class: 'axis' }, xLabel));
  root.appendChild(svg('text', { x: 12, y: H / 2, transform: `rotate(-90 12 ${H / 2})`, 'text-anchor': 'middle', class: 'axis' }, yLabel));
  return root;
}
