// The Consentry keystore, version 1 — the same file `consentry wallet` writes and reads
// (api/wallet/src/keystore.rs): the key's secret URI (a BIP-39 phrase, optionally with a
// `//hard/soft` path) encrypted with XChaCha20-Poly1305 under scrypt(passphrase, salt), the clear
// header bound as associated data. Pure functions: the app runs them in a Web Worker
// (kdf.worker.ts) so the KDF never blocks the page; the unit tests run them in Node against
// files the Rust wallet wrote.
import { xchacha20poly1305 } from '@noble/ciphers/chacha';
import { scryptAsync } from '@noble/hashes/scrypt';
import { bytesToHex, hexToBytes, randomBytes, utf8ToBytes } from '@noble/hashes/utils';
import { Keyring } from '@polkadot/keyring';
import { mnemonicValidate } from '@polkadot/util-crypto';

export const VERSION = 1;

export interface KdfParams {
  log_n: number;
  r: number;
  p: number;
}

/** What new keystores use, as the CLI: N = 2^15, r = 8, p = 1. */
export const DEFAULT_KDF: KdfParams = { log_n: 15, r: 8, p: 1 };
/** Cheap parameters, for tests only. */
export const INSECURE_FOR_TESTS: KdfParams = { log_n: 8, r: 8, p: 1 };

export interface KeystoreFile {
  version: number;
  address: string;
  kdf: string;
  kdf_params: KdfParams;
  cipher: string;
  salt: string;
  nonce: string;
  ciphertext: string;
}

export class KeystoreError extends Error {}

/** The SS58 address (generic prefix 42) of a secret URI's sr25519 key; throws on a bad URI. */
export function addressOf(secretUri: string): string {
  // As the CLI (subxt-signer's SecretUri): the phrase is a BIP-39 mnemonic, a 32-byte hex seed,
  // or empty (the dev phrase, `//Alice`). polkadot.js would also take any short string as a raw
  // seed; the CLI would not, so neither does this.
  const phrase = secretUri.trim().split('/')[0].trim();
  if (phrase !== '' && !/^0x[0-9a-fA-F]{64}$/.test(phrase) && !mnemonicValidate(phrase)) {
    throw new KeystoreError('not a valid mnemonic or secret URI: the words are not a BIP-39 mnemonic (check the words and their order)');
  }
  const keyring = new Keyring({ type: 'sr25519', ss58Format: 42 });
  try {
    return keyring.createFromUri(secretUri.trim()).address;
  } catch (e) {
    throw new KeystoreError(`not a valid mnemonic or secret URI: ${e instanceof Error ? e.message : String(e)}`);
  }
}

function aad(f: KeystoreFile): Uint8Array {
  return utf8ToBytes(
    `consentry-keystore/v${f.version}/${f.address}/${f.kdf}/${f.kdf_params.log_n}/${f.kdf_params.r}/${f.kdf_params.p}/${f.cipher}`,
  );
}

function checked(p: KdfParams): KdfParams {
  if (!(p.log_n >= 1 && p.log_n <= 20 && p.r >= 1 && p.r <= 32 && p.p >= 1 && p.p <= 16)) {
    throw new KeystoreError(`keystore KDF parameters out of range (log_n ${p.log_n}, r ${p.r}, p ${p.p}); the file is damaged or not a Consentry keystore`);
  }
  return p;
}

async function key(passphrase: string, salt: Uint8Array, p: KdfParams): Promise<Uint8Array> {
  const c = checked(p);
  return scryptAsync(utf8ToBytes(passphrase), salt, { N: 2 ** c.log_n, r: c.r, p: c.p, dkLen: 32 });
}

/** Encrypts `secretUri` under `passphrase`. */
export async function seal(secretUri: string, passphrase: string, params: KdfParams = DEFAULT_KDF): Promise<KeystoreFile> {
  const uri = secretUri.trim();
  const address = addressOf(uri);
  if (passphrase.length === 0) throw new KeystoreError('passphrase: must not be empty');
  const salt = randomBytes(16);
  const nonce = randomBytes(24);
  const file: KeystoreFile = {
    version: VERSION,
    address,
    kdf: 'scrypt',
    kdf_params: params,
    cipher: 'xchacha20poly1305',
    salt: bytesToHex(salt),
    nonce: bytesToHex(nonce),
    ciphertext: '',
  };
  const k = await key(passphrase, salt, params);
  file.ciphertext = bytesToHex(xchacha20poly1305(k, nonce, aad(file)).encrypt(utf8ToBytes(uri)));
  k.fill(0);
  return file;
}

/** Parses a keystore file's text (without decrypting it). */
export function parse(text: string): KeystoreFile {
  let f: KeystoreFile;
  try {
    f = JSON.parse(text) as KeystoreFile;
  } catch {
    throw new KeystoreError('the file is not JSON');
  }
  if (typeof f !== 'object' || f === null || typeof f.ciphertext !== 'string' || typeof f.address !== 'string' || typeof f.kdf_params !== 'object') {
    throw new KeystoreError('the file is not a Consentry keystore');
  }
  return f;
}

/** Decrypts a keystore; returns the secret URI, checked against the address the file claims. */
export async function open(f: KeystoreFile, passphrase: string): Promise<string> {
  if (f.version !== VERSION) throw new KeystoreError(`keystore version ${f.version} is not supported (this wallet reads version ${VERSION})`);
  if (f.kdf !== 'scrypt' || f.cipher !== 'xchacha20poly1305') throw new KeystoreError(`keystore uses ${f.kdf}/${f.cipher}; only scrypt/xchacha20poly1305 is supported`);
  let salt: Uint8Array, nonce: Uint8Array, ct: Uint8Array;
  try {
    salt = hexToBytes(f.salt);
    nonce = hexToBytes(f.nonce);
    ct = hexToBytes(f.ciphertext);
  } catch {
    throw new KeystoreError('keystore salt, nonce or ciphertext is not hex; the file is damaged');
  }
  if (nonce.length !== 24 || salt.length < 16) throw new KeystoreError('keystore salt or nonce has the wrong length; the file is damaged');
  const k = await key(passphrase, salt, f.kdf_params);
  let plain: Uint8Array;
  try {
    plain = xchacha20poly1305(k, nonce, aad(f)).decrypt(ct);
  } catch {
    throw new KeystoreError('cannot decrypt the keystore: wrong passphrase, or the file has been modified');
  } finally {
    k.fill(0);
  }
  const uri = new TextDecoder('utf-8', { fatal: true }).decode(plain);
  const address = addressOf(uri);
  if (address !== f.address) {
    throw new KeystoreError(`keystore secret belongs to ${address}, not to the address ${f.address} the file claims; the file has been modified`);
  }
  return uri;
}
