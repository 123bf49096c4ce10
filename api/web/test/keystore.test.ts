// The browser's keystore code against files the Rust wallet (`consentry wallet import`) wrote,
// and its own files' integrity. (That the CLI opens a keystore the browser wrote is shown by the
// browser test, e2e/patient.test.ts, with the real `consentry` binary.)
import { describe, expect, it } from 'vitest';
import fs from 'node:fs';
import { Keyring } from '@polkadot/keyring';
import * as ks from '../src/keystore';

const MNEMONIC = 'bottom drive obey lake curtain smoke basket hold race lonely fit walk';
const fixture = (n: string) => ks.parse(fs.readFileSync(new URL(`./fixtures/${n}`, import.meta.url), 'utf8'));

describe('Consentry keystore v1', () => {
  it('opens the CLI wallet’s file and derives the address it claims', async () => {
    const f = fixture('cli-keystore.json');
    expect(await ks.open(f, 'fixture passphrase')).toBe(MNEMONIC);
    expect(ks.addressOf(MNEMONIC)).toBe(f.address);
  });

  it('opens a CLI file holding a derivation path, as the CLI derives it', async () => {
    const f = fixture('cli-keystore-path.json');
    const uri = await ks.open(f, 'fixture passphrase');
    expect(uri).toBe(`${MNEMONIC}//hospital/0`);
    expect(new Keyring({ type: 'sr25519', ss58Format: 42 }).addFromUri(uri).address).toBe(f.address);
  });

  it('refuses a wrong passphrase', async () => {
    await expect(ks.open(fixture('cli-keystore.json'), 'wrong')).rejects.toThrow(/wrong passphrase/);
  });

  it('refuses an edited header (another address swapped in)', async () => {
    const f = { ...fixture('cli-keystore.json'), address: ks.addressOf('//Alice') };
    await expect(ks.open(f, 'fixture passphrase')).rejects.toThrow(/wrong passphrase, or the file has been modified/);
  });

  it('refuses hostile KDF parameters before deriving', async () => {
    const f = { ...fixture('cli-keystore.json'), kdf_params: { log_n: 30, r: 8, p: 1 } };
    await expect(ks.open(f, 'x')).rejects.toThrow(/out of range/);
  });

  it('writes what it reads, in the CLI’s layout', async () => {
    const f = await ks.seal(MNEMONIC, 'pw', ks.INSECURE_FOR_TESTS);
    expect(Object.keys(f)).toEqual(Object.keys(fixture('cli-keystore.json')));
    expect(f.address).toBe(fixture('cli-keystore.json').address);
    expect(await ks.open(f, 'pw')).toBe(MNEMONIC);
    expect(JSON.stringify(f)).not.toContain('bottom');
  });

  it('refuses an empty passphrase and a bad secret', async () => {
    await expect(ks.seal(MNEMONIC, '', ks.INSECURE_FOR_TESTS)).rejects.toThrow(/passphrase/);
    expect(() => ks.addressOf('not a mnemonic at all')).toThrow(/not a valid mnemonic/);
  });
});
