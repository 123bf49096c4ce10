// Verifying an access record in the browser: the proof comes from the API, the header from a node
// the auditor picks, and every check is made here — the block is finalized on that node, the
// header hashes to the block hash, the storage key is the record's own (computed from the
// runtime's metadata), the proof holds against the header's state root, and the proven value
// decodes (by the metadata) to the record asked for.
import type { ApiPromise } from '@polkadot/api';
import { u8aToHex } from '@polkadot/util';
import type { Header as HeaderT } from '@polkadot/types/interfaces';
import { readProof } from './trie';

import type { Schemas } from './http';

export type ProofDoc = Schemas['ProofDoc'];

export interface Verified {
  id: number;
  block: number;
  blockHash: string;
  node: string;
  record: Record<string, unknown>;
}

export class VerifyError extends Error {}

async function rpc<T>(node: string, method: string, params: unknown[]): Promise<T> {
  let resp: Response;
  try {
    resp = await fetch(node, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ id: 1, jsonrpc: '2.0', method, params }),
      credentials: 'omit',
    });
  } catch (e) {
    throw new VerifyError(`the node ${node} cannot be reached (${String(e)}); is it up, and allowed by this page's policy (consentry-api --web-verify-node)?`);
  }
  const body = (await resp.json()) as { result?: T; error?: { message: string } };
  if (body.error || body.result === undefined) throw new VerifyError(`the node ${node} answered ${method} with an error: ${body.error?.message ?? 'no result'}`);
  return body.result;
}

function newestFirst(id: number): Uint8Array {
  const v = 0xffff_ffff_ffff_ffffn - BigInt(id);
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, v, false);
  return out;
}

export async function verify(api: ApiPromise, doc: ProofDoc, id: number, node: string): Promise<Verified> {
  const where = node.startsWith('/') ? new URL(node, location.origin).toString() : node;
  // The block must be final on the auditor's node, and the header the node gives must be the
  // block's (its hash computed here).
  const finalizedHash = await rpc<string>(where, 'chain_getFinalizedHead', []);
  const finalized = api.createType('Header', await rpc<unknown>(where, 'chain_getHeader', [finalizedHash])) as unknown as HeaderT;
  if (finalized.number.toNumber() < doc.block_number) throw new VerifyError(`block #${doc.block_number} is not finalized on ${node} (its finalized head is #${finalized.number.toNumber()})`);
  const canonical = await rpc<string>(where, 'chain_getBlockHash', [doc.block_number]);
  if (canonical !== doc.block_hash) throw new VerifyError(`${node} has block ${canonical} at #${doc.block_number}, not the proof's ${doc.block_hash}`);
  const header = api.createType('Header', await rpc<unknown>(where, 'chain_getHeader', [doc.block_hash])) as unknown as HeaderT;
  if (header.hash.toHex() !== doc.block_hash) throw new VerifyError(`the header ${node} sent does not hash to ${doc.block_hash}`);
  // The value the proof proves under the key, against that state root.
  const value = readProof(header.stateRoot.toHex(), doc.storage_key, doc.proof);
  if (!value) throw new VerifyError(`the proof shows no value under ${doc.storage_key}`);
  if (u8aToHex(value) !== doc.record) throw new VerifyError('the proven value is not the record the API sent');
  const entry = api.query.audit.records;
  const valueType = api.registry.lookup.getTypeDef(entry.creator.meta.type.asMap.value).type;
  const record = api.registry.createTypeUnsafe(valueType, [value]) as unknown as { toJSON: () => Record<string, unknown> };
  const json = record.toJSON();
  if (Number(json.id) !== id) throw new VerifyError(`the proven record is #${String(json.id)}, not #${id}`);
  const key = entry.key(json.subject ?? null, newestFirst(id));
  if (key !== doc.storage_key) throw new VerifyError(`the storage key is not record #${id}'s (${key})`);
  return { id, block: doc.block_number, blockHash: doc.block_hash, node, record: json };
}
