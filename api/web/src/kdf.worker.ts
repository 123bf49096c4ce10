// The key derivation and encryption off the main thread: scrypt (the Consentry keystore's and the
// polkadot.js JSON format's) takes a noticeable fraction of a second and must not freeze the page.
// Messages: { id, op, ... } in, { id, ok, value | error } out.
import { Keyring } from '@polkadot/keyring';
import { decodePair } from '@polkadot/keyring/pair/decode';
import { u8aToHex } from '@polkadot/util';
import { base64Decode } from '@polkadot/util-crypto';
import type { EncryptedJsonEncoding } from '@polkadot/util-crypto/types';
import * as ks from './keystore';

type Req =
  | { id: number; op: 'seal'; uri: string; passphrase: string; params?: ks.KdfParams }
  | { id: number; op: 'open'; file: ks.KeystoreFile; passphrase: string }
  | { id: number; op: 'pjsExport'; uri: string; passphrase: string }
  | { id: number; op: 'pjsOpen'; json: string; passphrase: string };

async function handle(req: Req): Promise<unknown> {
  switch (req.op) {
    case 'seal':
      return ks.seal(req.uri, req.passphrase, req.params ?? ks.DEFAULT_KDF);
    case 'open':
      return ks.open(req.file, req.passphrase);
    case 'pjsExport': {
      const keyring = new Keyring({ type: 'sr25519', ss58Format: 42 });
      const pair = keyring.addFromUri(req.uri.trim(), { name: 'Consentry' });
      return JSON.stringify(pair.toJson(req.passphrase));
    }
    case 'pjsOpen': {
      const keyring = new Keyring({ type: 'sr25519', ss58Format: 42 });
      let pair;
      try {
        pair = keyring.addFromJson(JSON.parse(req.json));
      } catch (e) {
        throw new ks.KeystoreError(`not a polkadot.js account file: ${e instanceof Error ? e.message : String(e)}`);
      }
      if (pair.type !== 'sr25519') throw new ks.KeystoreError(`the account is ${pair.type}; Consentry keys are sr25519`);
      const json = JSON.parse(req.json) as { encoded: string; encoding: { type: EncryptedJsonEncoding[] } };
      let decoded;
      try {
        decoded = decodePair(req.passphrase, base64Decode(json.encoded), json.encoding.type);
      } catch {
        throw new ks.KeystoreError('cannot decrypt the polkadot.js account file: wrong passphrase');
      }
      // The secret goes back only to the page that holds the key (same origin, never the network).
      return { address: pair.address, publicKey: u8aToHex(decoded.publicKey), secretKey: u8aToHex(decoded.secretKey) };
    }
  }
}

self.onmessage = async (ev: MessageEvent<Req>) => {
  const req = ev.data;
  try {
    const value = await handle(req);
    self.postMessage({ id: req.id, ok: true, value });
  } catch (e) {
    self.postMessage({ id: req.id, ok: false, error: e instanceof Error ? e.message : String(e) });
  }
};
