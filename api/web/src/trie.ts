// Checks a Substrate storage read proof (sp-trie, base-16 Patricia-Merkle trie, Blake2-256,
// state versions 0 and 1) against a state root, in the browser: the auditor needs to trust neither
// the API that sent the proof nor the server of this page, only the header it fetched itself.
import { blake2b } from '@noble/hashes/blake2b';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils';

export class ProofError extends Error {}

const hash = (b: Uint8Array) => blake2b(b, { dkLen: 32 });
const strip = (h: string) => (h.startsWith('0x') ? h.slice(2) : h);

class Reader {
  pos = 0;
  constructor(readonly b: Uint8Array) {}
  byte(): number {
    if (this.pos >= this.b.length) throw new ProofError('a proof node ends early');
    return this.b[this.pos++];
  }
  bytes(n: number): Uint8Array {
    if (this.pos + n > this.b.length) throw new ProofError('a proof node ends early');
    const out = this.b.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }
  compact(): number {
    const b0 = this.byte();
    switch (b0 & 3) {
      case 0:
        return b0 >> 2;
      case 1:
        return ((b0 | (this.byte() << 8)) >>> 2) & 0x3fff;
      case 2: {
        const v = b0 | (this.byte() << 8) | (this.byte() << 16) | (this.byte() << 24);
        return (v >>> 2) >>> 0;
      }
      default:
        throw new ProofError('a proof node has an oversized length');
    }
  }
}

type Value = { inline: Uint8Array } | { hashed: Uint8Array };
type Node =
  | { kind: 'empty' }
  | { kind: 'leaf'; partial: number[]; value: Value }
  | { kind: 'branch'; partial: number[]; value: Value | null; children: (Uint8Array | null)[] };

function nibbleCount(r: Reader, first: number, bits: number): number {
  const max = (1 << bits) - 1;
  let n = first & max;
  if (n === max) {
    for (;;) {
      const b = r.byte();
      n += b;
      if (b < 255) break;
    }
  }
  return n;
}

function partialKey(r: Reader, n: number): number[] {
  const bytes = r.bytes(Math.ceil(n / 2));
  const out: number[] = [];
  bytes.forEach((b, i) => {
    if (i === 0 && n % 2 === 1) out.push(b & 0x0f);
    else out.push(b >> 4, b & 0x0f);
  });
  return out;
}

export function decodeNode(b: Uint8Array): Node {
  const r = new Reader(b);
  const h = r.byte();
  if (h === 0) return { kind: 'empty' };
  let kind: 'leaf' | 'branch';
  let hasValue: boolean;
  let hashed = false;
  let n: number;
  if ((h & 0xc0) === 0x40) {
    kind = 'leaf'; hasValue = true; n = nibbleCount(r, h, 6);
  } else if ((h & 0xc0) === 0x80) {
    kind = 'branch'; hasValue = false; n = nibbleCount(r, h, 6);
  } else if ((h & 0xc0) === 0xc0) {
    kind = 'branch'; hasValue = true; n = nibbleCount(r, h, 6);
  } else if ((h & 0xe0) === 0x20) {
    kind = 'leaf'; hasValue = true; hashed = true; n = nibbleCount(r, h, 5);
  } else if ((h & 0xf0) === 0x10) {
    kind = 'branch'; hasValue = true; hashed = true; n = nibbleCount(r, h, 4);
  } else {
    throw new ProofError(`unknown trie node header 0x${h.toString(16)}`);
  }
  const partial = partialKey(r, n);
  const readValue = (): Value => (hashed ? { hashed: r.bytes(32) } : { inline: r.bytes(r.compact()) });
  if (kind === 'leaf') {
    const value = readValue();
    if (r.pos !== b.length) throw new ProofError('a leaf node has trailing bytes');
    return { kind, partial, value };
  }
  const bitmap = r.byte() | (r.byte() << 8);
  const value = hasValue ? readValue() : null;
  const children: (Uint8Array | null)[] = [];
  for (let i = 0; i < 16; i++) children.push(bitmap & (1 << i) ? r.bytes(r.compact()) : null);
  if (r.pos !== b.length) throw new ProofError('a branch node has trailing bytes');
  return { kind, partial, value, children };
}

/**
 * The value stored under `key` in the trie with `root`, as `proof` proves it (null: proven absent).
 * Throws ProofError when the proof does not hold: a node it needs is missing (or was altered, so
 * its hash no longer matches), or a node does not decode.
 */
export function readProof(root: string, key: string, proof: string[]): Uint8Array | null {
  const db = new Map<string, Uint8Array>();
  for (const n of proof) {
    const b = hexToBytes(strip(n));
    db.set(bytesToHex(hash(b)), b);
  }
  const nibbles: number[] = [];
  for (const b of hexToBytes(strip(key))) nibbles.push(b >> 4, b & 0x0f);
  const lookup = (h: Uint8Array): Uint8Array => {
    const n = db.get(bytesToHex(h));
    if (!n) throw new ProofError(`the proof lacks the trie node 0x${bytesToHex(h)} (missing, or altered so its hash differs)`);
    return n;
  };
  const value = (v: Value): Uint8Array => ('inline' in v ? v.inline : lookup(v.hashed));
  let node = decodeNode(lookup(hexToBytes(strip(root))));
  let at = 0;
  for (let depth = 0; depth < 130; depth++) {
    if (node.kind === 'empty') return null;
    const rest = nibbles.slice(at);
    const p = node.partial;
    if (node.kind === 'leaf') {
      return rest.length === p.length && p.every((x, i) => x === rest[i]) ? value(node.value) : null;
    }
    if (rest.length < p.length || !p.every((x, i) => x === rest[i])) return null;
    at += p.length;
    if (at === nibbles.length) return node.value ? value(node.value) : null;
    const child = node.children[nibbles[at]];
    if (!child) return null;
    at += 1;
    node = decodeNode(child.length === 32 ? lookup(child) : child);
  }
  throw new ProofError('the proof is deeper than any key');
}
