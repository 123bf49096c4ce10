// Writes src/drugs.json from the simulation's drug files (simulation/data/drugs/*.toml): each
// drug's name, description, default regimen and therapeutic window (lower/upper, toxic threshold,
// the metric each applies to), which the clinician page draws around the worker's curve.
// `node scripts/gen-drugs.mjs --check` fails when src/drugs.json is stale (test/drugs.test.ts).
import fs from 'node:fs';
import path from 'node:path';

const here = path.dirname(new URL(import.meta.url).pathname);
const dir = path.resolve(here, '../../../simulation/data/drugs');
const out = path.resolve(here, '../src/drugs.json');

/** The flat `key = value` pairs of `[section]` (numbers and strings; inline tables skipped). */
function section(text, name) {
  const lines = text.split('\n');
  const start = lines.findIndex((l) => l.trim() === `[${name}]`);
  if (start < 0) return null;
  const out = {};
  for (const line of lines.slice(start + 1)) {
    const t = line.trim();
    if (t.startsWith('[')) break;
    const m = /^([a-z_0-9]+)\s*=\s*(.+)$/.exec(t);
    if (!m) continue;
    const v = m[2].trim();
    if (/^-?[0-9.]+(e-?[0-9]+)?$/.test(v)) out[m[1]] = Number(v);
    else if (/^"[^"]*"$/.test(v)) out[m[1]] = v.slice(1, -1);
  }
  return out;
}

export function generate() {
  const drugs = fs.readdirSync(dir).filter((f) => f.endsWith('.toml')).sort().map((f) => {
    const text = fs.readFileSync(path.join(dir, f), 'utf8');
    const top = /^name\s*=\s*"([^"]+)"/m.exec(text)?.[1] ?? f.replace(/\.toml$/, '');
    const description = /^description\s*=\s*"([^"]+)"/m.exec(text)?.[1] ?? '';
    const w = section(text, 'window');
    const r = section(text, 'default_regimen') ?? {};
    return {
      name: top,
      description,
      regimen: { dose_mg: r.dose_mg ?? null, interval_h: r.interval_h ?? null, n_doses: r.n_doses ?? null },
      window: w ? { metric: w.metric ?? null, lower_mg_l: w.lower_mg_l ?? null, upper_mg_l: w.upper_mg_l ?? null, toxic_metric: w.toxic_metric ?? null, toxic_mg_l: w.toxic_mg_l ?? null } : null,
    };
  });
  return JSON.stringify(drugs, null, 2) + '\n';
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(new URL(import.meta.url).pathname)) {
  const text = generate();
  if (process.argv.includes('--check')) {
    if (fs.readFileSync(out, 'utf8') !== text) {
      console.error('src/drugs.json is stale: run node scripts/gen-drugs.mjs');
      process.exit(1);
    }
  } else {
    fs.writeFileSync(out, text);
  }
}
