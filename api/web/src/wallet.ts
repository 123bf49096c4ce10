// The in-browser key: created or imported here, kept only encrypted (localStorage holds the
// Consentry keystore file, or a polkadot.js account file), decrypted into memory by a passphrase
// through the KDF worker, never sent anywhere. The API and the node see signatures only.
import { Keyring } from '@polkadot/keyring';
import type { KeyringPair } from '@polkadot/keyring/types';
import type { SubmittableExtrinsic, Signer as PjsSigner } from '@polkadot/api/types';
import type { Index } from '@polkadot/types/interfaces';
import { hexToU8a, stringToHex, stringToU8a, u8aToHex, u8aWrapBytes } from '@polkadot/util';
import { mnemonicGenerate } from '@polkadot/util-crypto';
import * as ks from './keystore';

const STORE = 'consentry.key.v1';

export type Stored = { kind: 'consentry'; file: ks.KeystoreFile } | { kind: 'polkadot-js'; address: string; json: string };

let worker: Worker | null = null;
let seq = 0;
const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();

function kdf<T>(msg: Record<string, unknown>): Promise<T> {
  if (!worker) {
    worker = new Worker(new URL('./kdf.worker.ts', import.meta.url), { type: 'module' });
    worker.onmessage = (ev: MessageEvent<{ id: number; ok: boolean; value?: unknown; error?: string }>) => {
      const p = pending.get(ev.data.id);
      if (!p) return;
      pending.delete(ev.data.id);
      if (ev.data.ok) p.resolve(ev.data.value);
      else p.reject(new ks.KeystoreError(ev.data.error ?? 'failed'));
    };
  }
  seq += 1;
  const id = seq;
  return new Promise<T>((resolve, reject) => {
    pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
    worker!.postMessage({ ...msg, id });
  });
}

export function stored(): Stored | null {
  const raw = localStorage.getItem(STORE);
  if (!raw) return null;
  try {
    return JSON.parse(raw) as Stored;
  } catch {
    return null;
  }
}

export function storedAddress(): string | null {
  const s = stored();
  return s ? (s.kind === 'consentry' ? s.file.address : s.address) : null;
}

export function forgetStoredKey(): void {
  localStorage.removeItem(STORE);
  lock();
}

let unlocked: { pair: KeyringPair; uri: string | null } | null = null;

/** What signs: the in-browser key, or an account of an injected wallet (browser extension). */
export interface Signer {
  address: string;
  /** `browser`, or the extension's name (`polkadot-js`, `talisman`, `subwallet-js`, …). */
  source: string;
  /** The sr25519 signature of `<Bytes>text</Bytes>`, hex (what polkadot.js `signRaw` gives). */
  signBytes(text: string): Promise<string>;
  /** Signs `tx` with `nonce`. */
  signTx(tx: SubmittableExtrinsic<'promise'>, nonce: Index): Promise<SubmittableExtrinsic<'promise'>>;
}

let extension: Signer | null = null;

export function current(): Signer | null {
  if (extension) return extension;
  if (!unlocked) return null;
  const pair = unlocked.pair;
  return {
    address: pair.address,
    source: 'browser',
    signBytes: async (text) => u8aToHex(pair.sign(u8aWrapBytes(stringToU8a(text)))),
    signTx: (tx, nonce) => tx.signAsync(pair, { nonce }),
  };
}

export function lock(): void {
  unlocked = null;
  extension = null;
}

interface InjectedAccount { address: string; type?: string; name?: string }
interface Injected {
  accounts: { get: () => Promise<InjectedAccount[]> };
  signer: PjsSigner & { signRaw?: (raw: { address: string; data: string; type: 'bytes' }) => Promise<{ signature: string }> };
}
type InjectedWeb3 = Record<string, { enable: (origin: string) => Promise<Injected>; version?: string }>;

/** The injected wallets present (the polkadot.js extension interface: `window.injectedWeb3`). */
export function extensions(): string[] {
  const w = (window as unknown as { injectedWeb3?: InjectedWeb3 }).injectedWeb3;
  return w ? Object.keys(w) : [];
}

/** Signs with the first sr25519 account of the injected wallet `name` (the extension asks its user). */
export async function connectExtension(name: string): Promise<string> {
  const w = (window as unknown as { injectedWeb3?: InjectedWeb3 }).injectedWeb3;
  const source = w?.[name];
  if (!source) throw new ks.KeystoreError(`no wallet extension named ${name}`);
  const injected = await source.enable('Consentry');
  const accounts = (await injected.accounts.get()).filter((a) => !a.type || a.type === 'sr25519');
  if (accounts.length === 0) throw new ks.KeystoreError(`the ${name} extension shares no sr25519 account with this page`);
  const signRaw = injected.signer.signRaw;
  if (!signRaw) throw new ks.KeystoreError(`the ${name} extension cannot sign messages (no signRaw)`);
  const address = keyring().encodeAddress(accounts[0].address, 42);
  extension = {
    address,
    source: name,
    // The extension wraps the bytes in <Bytes>…</Bytes> itself before signing.
    signBytes: async (text) => (await signRaw({ address: accounts[0].address, data: stringToHex(text), type: 'bytes' })).signature,
    signTx: (tx, nonce) => tx.signAsync(accounts[0].address, { nonce, signer: injected.signer }),
  };
  return address;
}

const keyring = () => new Keyring({ type: 'sr25519', ss58Format: 42 });

export function newMnemonic(): string {
  return mnemonicGenerate(12);
}

/** Checks a secret URI (mnemonic with optional path, or a dev URI) and returns its address. */
export function checkSecret(uri: string): string {
  return ks.addressOf(uri);
}

/** Encrypts the secret URI under the passphrase and keeps it (replacing any key: the caller asks). */
export async function saveSecret(uri: string, passphrase: string, params?: ks.KdfParams): Promise<string> {
  checkSecret(uri);
  if (passphrase.length < 8) throw new ks.KeystoreError('passphrase: at least 8 characters');
  const file = await kdf<ks.KeystoreFile>({ op: 'seal', uri, passphrase, params });
  localStorage.setItem(STORE, JSON.stringify({ kind: 'consentry', file } satisfies Stored));
  unlocked = { pair: keyring().addFromUri(uri.trim()), uri: uri.trim() };
  return file.address;
}

/** Keeps a keystore file (Consentry's, or polkadot.js's) after checking the passphrase opens it. */
export async function importFile(text: string, passphrase: string): Promise<string> {
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    throw new ks.KeystoreError('the file is not JSON: choose a Consentry keystore or a polkadot.js account file');
  }
  if ('ciphertext' in json) {
    const file = ks.parse(text);
    const uri = await kdf<string>({ op: 'open', file, passphrase });
    localStorage.setItem(STORE, JSON.stringify({ kind: 'consentry', file } satisfies Stored));
    unlocked = { pair: keyring().addFromUri(uri), uri };
    return file.address;
  }
  if ('encoded' in json && 'encoding' in json) {
    const r = await kdf<{ address: string; publicKey: string; secretKey: string }>({ op: 'pjsOpen', json: text, passphrase });
    const pair = keyring().addFromPair({ publicKey: hexToU8a(r.publicKey), secretKey: hexToU8a(r.secretKey) });
    localStorage.setItem(STORE, JSON.stringify({ kind: 'polkadot-js', address: pair.address, json: text } satisfies Stored));
    unlocked = { pair, uri: null };
    return pair.address;
  }
  throw new ks.KeystoreError('not a Consentry keystore nor a polkadot.js account file');
}

/** Decrypts the kept key into memory. */
export async function unlock(passphrase: string): Promise<KeyringPair> {
  const s = stored();
  if (!s) throw new ks.KeystoreError('no key in this browser: create or import one');
  if (s.kind === 'consentry') {
    const uri = await kdf<string>({ op: 'open', file: s.file, passphrase });
    unlocked = { pair: keyring().addFromUri(uri), uri };
  } else {
    const r = await kdf<{ publicKey: string; secretKey: string }>({ op: 'pjsOpen', json: s.json, passphrase });
    unlocked = { pair: keyring().addFromPair({ publicKey: hexToU8a(r.publicKey), secretKey: hexToU8a(r.secretKey) }), uri: null };
  }
  return unlocked.pair;
}

/** The kept key as a file for `consentry wallet` (`--keystore`). */
export function exportConsentry(): string {
  const s = stored();
  if (!s || s.kind !== 'consentry') {
    throw new ks.KeystoreError('this key was imported from a polkadot.js account file, which holds no mnemonic: export it in that format');
  }
  return JSON.stringify(s.file, null, 2);
}

/** The unlocked key as a polkadot.js account file, encrypted under `passphrase`. */
export async function exportPolkadotJs(passphrase: string): Promise<string> {
  const s = stored();
  if (s?.kind === 'polkadot-js') return s.json;
  if (!unlocked?.uri) throw new ks.KeystoreError('unlock the key first');
  return kdf<string>({ op: 'pjsExport', uri: unlocked.uri, passphrase });
}
