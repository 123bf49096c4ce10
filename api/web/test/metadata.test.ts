// The calls the app signs against the runtime metadata the repository commits
// (chain/client/metadata/consentry.scale, regenerated with the runtime): when a call this app
// builds changes its arguments, this fails, and so does the app at run time (it signs nothing).
import { expect, it } from 'vitest';
import fs from 'node:fs';
import { Metadata, TypeRegistry } from '@polkadot/types';
import { expandMetadata } from '@polkadot/types/metadata';
import type { ApiPromise } from '@polkadot/api';
import { checkCalls } from '../src/names';

const file = new URL('../../../chain/client/metadata/consentry.scale', import.meta.url);

it('the committed runtime metadata declares the calls the app signs as it builds them', () => {
  const registry = new TypeRegistry();
  const metadata = new Metadata(registry, new Uint8Array(fs.readFileSync(file)));
  registry.setMetadata(metadata);
  const { tx } = expandMetadata(registry, metadata);
  expect(() => checkCalls({ tx } as unknown as ApiPromise)).not.toThrow();
  // And it does refuse a runtime that differs.
  const changed = { tx: { ...tx, consent: { ...tx.consent, revoke: { meta: { fields: [{ name: { toString: () => 'id' } }] } } } } };
  expect(() => checkCalls(changed as unknown as ApiPromise)).toThrow(/consent.revoke takes \(id\)/);
});
