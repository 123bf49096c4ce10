// The sign-in message checks, mirroring api/signin's tests.
import { describe, expect, it } from 'vitest';
import { checkSignIn, parseSignIn } from '../src/signin';
import { mask, unmask } from '../src/names';

const ALICE = '5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY';
const G = `0x${'07'.repeat(32)}`;
const text = (o = 'http://127.0.0.1:8080', issued = 1_765_000_000, expires = 1_765_000_120) =>
  `consentry-auth: sign in to the Consentry API\nOrigin: ${o}\nAccount: ${ALICE}\nGenesis: ${G}\nNonce: ${'09'.repeat(32)}\nIssued-At: ${issued}\nExpires-At: ${expires}`;

describe('sign-in message', () => {
  it('parses the documented layout and accepts a fresh one for this origin, key and chain', () => {
    const m = parseSignIn(text());
    expect(m.origin).toBe('http://127.0.0.1:8080');
    expect(() => checkSignIn(m, 'http://127.0.0.1:8080', ALICE, G, 1_765_000_010)).not.toThrow();
  });
  it('refuses another origin, key, chain, stale or long-lived messages', () => {
    const now = 1_765_000_010;
    expect(() => checkSignIn(parseSignIn(text('https://evil.example')), 'http://127.0.0.1:8080', ALICE, G, now)).toThrow(/origin/);
    expect(() => checkSignIn(parseSignIn(text()), 'http://127.0.0.1:8080', '5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty', G, now)).toThrow(/account/);
    expect(() => checkSignIn(parseSignIn(text()), 'http://127.0.0.1:8080', ALICE, `0x${'08'.repeat(32)}`, now)).toThrow(/chain/);
    expect(() => checkSignIn(parseSignIn(text()), 'http://127.0.0.1:8080', ALICE, G, now + 1000)).toThrow(/fresh/);
    expect(() => checkSignIn(parseSignIn(text(undefined, now, now + 3600)), 'http://127.0.0.1:8080', ALICE, G, now)).toThrow(/valid for/);
  });
  it('refuses anything that is not exactly a sign-in message', () => {
    expect(() => parseSignIn('0x0403' + text())).toThrow();
    expect(() => parseSignIn(text() + '\nExtra: 1')).toThrow();
    expect(() => parseSignIn(text().replace('Nonce', 'Once'))).toThrow(/Nonce/);
  });
});

describe('name masks', () => {
  const all = ['demographics', 'ehr', 'labs', 'genomic', 'wearable', 'imaging'];
  it('bit n is the n-th canonical name', () => {
    expect(mask(all, ['labs', 'genomic'])).toBe((1 << 2) | (1 << 3));
    expect(unmask(all, 0b1100)).toEqual(['labs', 'genomic']);
    expect(() => mask(all, ['Labs'])).toThrow();
  });
});
