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
  const root = svg('svg', { viewBox: `0 0 ${W} ${H + 30}`, role: 'img', 'aria-labelledby': 'chart-title', class: 'chart', width: '100%' });
  root.appendChild(svg('title', { id: 'chart-title' }, title));
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
