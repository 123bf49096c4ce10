// The in-browser proof check against a real proof: the API's /v1/access/0/proof of a dev chain and
// that block's header as the node served it (fixtures/proof.json, captured from a run of the
// stack). A flipped byte anywhere must make it fail.
import { describe, expect, it } from 'vitest';
import fs from 'node:fs';
import { bytesToHex } from '@noble/hashes/utils';
import { readProof } from '../src/trie';

const { proof, header } = JSON.parse(fs.readFileSync(new URL('./fixtures/proof.json', import.meta.url), 'utf8'));
const hex = (b: Uint8Array | null) => (b ? `0x${bytesToHex(b)}` : null);
const flip = (h: string, at: number) => {
  const i = 2 + at * 2;
  const b = (parseInt(h.slice(i, i + 2), 16) ^ 0x01).toString(16).padStart(2, '0');
  return h.slice(0, i) + b + h.slice(i + 2);
};

describe('storage proof', () => {
  it('proves the record against the header’s state root', () => {
    expect(hex(readProof(header.stateRoot, proof.storage_key, proof.proof))).toBe(proof.record);
  });
  it('fails on any flipped byte of any proof node', () => {
    proof.proof.forEach((node: string, n: number) => {
      for (const at of [0, Math.floor((node.length - 2) / 4), (node.length - 2) / 2 - 1]) {
        const bad = proof.proof.map((x: string, i: number) => (i === n ? flip(x, at) : x));
        let out: string | null | Error;
        try {
          out = hex(readProof(header.stateRoot, proof.storage_key, bad));
        } catch (e) {
          out = e as Error;
        }
        expect(out).not.toBe(proof.record);
      }
    });
  });
  it('fails against another state root, and proves nothing for another key', () => {
    expect(() => readProof(flip(header.stateRoot, 5), proof.storage_key, proof.proof)).toThrow(/lacks/);
    let other: string | null | Error;
    try {
      other = hex(readProof(header.stateRoot, flip(proof.storage_key, 40), proof.proof));
    } catch (e) {
      other = e as Error;
    }
    expect(other).not.toBe(proof.record);
  });
});
