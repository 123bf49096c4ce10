// What a QR code (or the typed field) may hand the claim form: the bare pseudonym or this
// wallet's claim link; everything else refused naming the field, as the typed path refuses it.
import { describe, expect, it } from 'vitest';
import { checkPseudonym, claimArg, pseudonymFromCode } from '../src/claimcode';
import { ApiProblem } from '../src/http';

const ORIGIN = 'https://wallet.hospital.example';
const HEX = '3f'.repeat(32);
const RULE = 'a pseudonym is 64 hexadecimal digits (0-9, a-f), optionally prefixed 0x';

function refusal(f: () => unknown): ApiProblem {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(ApiProblem);
    return e as ApiProblem;
  }
  throw new Error('not refused');
}

describe('the typed pseudonym', () => {
  it('takes 64 hex digits, with or without 0x, in either case, trimmed', () => {
    expect(checkPseudonym(HEX)).toBe(HEX);
    expect(checkPseudonym(`  0x${HEX.toUpperCase()}\n`)).toBe(`0x${HEX.toUpperCase()}`);
    expect(claimArg(HEX)).toBe(`0x${HEX}`);
    expect(claimArg(`0x${HEX}`)).toBe(`0x${HEX}`);
  });

  it.each([['', 'empty'], [HEX.slice(1), '63 digits'], [`${HEX}0`, '65 digits'], [`${HEX.slice(2)}zz`, 'not hex'], [`0X${HEX}`, 'capital X'], [`0x ${HEX}`, 'a space inside']])(
    'refuses %j (%s), naming the field',
    (value) => {
      const e = refusal(() => checkPseudonym(value));
      expect(e.field).toBe('pseudonym');
      expect(e.detail).toBe(RULE);
      expect(e.message).toBe(`pseudonym: ${RULE}`);
    },
  );
});

describe('a QR code', () => {
  it('holding the bare pseudonym gives it', () => {
    expect(pseudonymFromCode(HEX, ORIGIN)).toBe(HEX);
    expect(pseudonymFromCode(`0x${HEX}\r\n`, ORIGIN)).toBe(`0x${HEX}`);
  });

  it('holding this wallet’s claim link gives its pseudonym', () => {
    expect(pseudonymFromCode(`${ORIGIN}/app/#claim=${HEX}`, ORIGIN)).toBe(HEX);
    expect(pseudonymFromCode(`${ORIGIN}/app#claim=0x${HEX}`, ORIGIN)).toBe(`0x${HEX}`);
    // Origins compare as URLs do: the scheme and host's case, the default port.
    expect(pseudonymFromCode(`HTTPS://Wallet.Hospital.Example:443/app/#claim=${HEX}`, ORIGIN)).toBe(HEX);
    expect(pseudonymFromCode(`http://127.0.0.1:8080/app/#claim=${HEX}`, 'http://127.0.0.1:8080')).toBe(HEX);
  });

  it('holding a claim link with a malformed pseudonym is refused as the typed one is', () => {
    for (const bad of [HEX.slice(2), `${HEX}00`, 'x'.repeat(64), '']) {
      const e = refusal(() => pseudonymFromCode(`${ORIGIN}/app/#claim=${bad}`, ORIGIN));
      expect(e.field).toBe('pseudonym');
      expect(e.detail).toBe(RULE);
    }
  });

  it('holding neither is refused naming the field, without repeating what the code held', () => {
    for (const text of ['', 'hello', HEX.slice(4), `claim=${HEX}`, `#claim=${HEX}`, `/app/#claim=${HEX}`, `ftp://x/app/#claim=${HEX}`, `javascript:alert(1)//${HEX}`, `https://[bad/app/#claim=${HEX}`]) {
      const e = refusal(() => pseudonymFromCode(text, ORIGIN));
      expect(e.field).toBe('pseudonym');
      expect(e.detail.startsWith(RULE)).toBe(true);
      expect(e.detail).not.toContain(HEX);
    }
  });

  it('linking to another site is refused, saying which', () => {
    for (const other of ['https://wallet.hospital.example.evil.test', 'http://wallet.hospital.example', 'https://wallet.hospital.example:8443']) {
      const e = refusal(() => pseudonymFromCode(`${other}/app/#claim=${HEX}`, ORIGIN));
      expect(e.field).toBe('pseudonym');
      expect(e.detail).toBe(`this code links to ${other}, not to this wallet (${ORIGIN})`);
    }
  });

  it('linking to this wallet without a claim is refused', () => {
    for (const link of [`${ORIGIN}/app/`, `${ORIGIN}/app/audit#claim=${HEX}`, `${ORIGIN}/#claim=${HEX}`, `${ORIGIN}/app/?claim=${HEX}`, `${ORIGIN}/app/#pseudonym=${HEX}`]) {
      const e = refusal(() => pseudonymFromCode(link, ORIGIN));
      expect(e.field).toBe('pseudonym');
      expect(e.detail).toBe('this code links to this wallet but carries no claim (/app/#claim=<pseudonym>)');
    }
  });
});
