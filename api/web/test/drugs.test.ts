// src/drugs.json is generated from simulation/data/drugs/*.toml; a change there must be followed
// by `node scripts/gen-drugs.mjs`.
import { expect, it } from 'vitest';
import fs from 'node:fs';
import { generate } from '../scripts/gen-drugs.mjs';

it('src/drugs.json is current with the simulation’s drug files', () => {
  expect(fs.readFileSync(new URL('../src/drugs.json', import.meta.url), 'utf8')).toBe(generate());
});
