// The chain through the API's allowlisted JSON-RPC proxy (never a validator's RPC directly):
// @polkadot/api decodes storage, events, errors and runtime APIs from the runtime's own metadata,
// so there is no hand-written type for any Consentry pallet. Extrinsics are signed here with the
// in-browser key and sent through the API's relay (which asks the runtime's pool validation
// first); their progress is followed block by block until finalized.
import { ApiPromise, HttpProvider } from '@polkadot/api';
import type { SubmittableExtrinsic } from '@polkadot/api/types';
import type { DispatchError, EventRecord } from '@polkadot/types/interfaces';
import { ApiProblem, postJson, type Schemas } from './http';
import type { Signer } from './wallet';
import { checkCalls } from './names';

let api: Promise<ApiPromise> | null = null;

export class ChainError extends Error {
  constructor(
    message: string,
    readonly field?: string,
  ) {
    super(message);
  }
}

/** Connects once (the endpoint comes from the API's /app/config.json). */
export function chain(rpcPath: string): Promise<ApiPromise> {
  if (!api) {
    const provider = new HttpProvider(new URL(rpcPath, location.origin).toString());
    api = ApiPromise.create({ provider, initWasm: false, noInitWarn: true, throwOnConnect: true }).catch((e) => {
      api = null;
      throw new ChainError(`the chain cannot be reached through the API (${e instanceof Error ? e.message : String(e)})`);
    });
  }
  return api;
}

export type TxStage = 'signing' | 'submitted' | 'in-block' | 'finalized' | 'failed';
export interface TxStatus {
  stage: TxStage;
  hash?: string;
  block?: number;
  detail?: string;
}

// Which argument a module error is about, so the message can name the field.
const ERROR_FIELDS: Record<string, string> = {
  BadPurposes: 'purposes',
  BadCategories: 'categories',
  BadPeriod: 'period',
  BadUseLimit: 'max uses',
  UnknownGrantee: 'institution',
  ReIdentificationNeedsNamedGrantee: 'purposes',
  WideningNotAllowed: 'amendment',
  UnknownPseudonym: 'pseudonym',
  NotAddressee: 'pseudonym',
  AlreadyClaimed: 'pseudonym',
  BadGuardian: 'guardian',
  AlreadyGuardian: 'guardian',
  NotGuardian: 'guardian',
  TooManyGuardians: 'guardian',
};

function failure(api: ApiPromise, events: EventRecord[], index: number): ChainError | null {
  for (const { event, phase } of events) {
    if (!phase.isApplyExtrinsic || !phase.asApplyExtrinsic.eqn(index)) continue;
    if (api.events.system.ExtrinsicFailed.is(event)) {
      const err = event.data[0] as DispatchError;
      if (err.isModule) {
        const meta = api.registry.findMetaError(err.asModule);
        return new ChainError(`${meta.section}.${meta.name}: ${meta.docs.join(' ')}`, ERROR_FIELDS[meta.name]);
      }
      return new ChainError(err.toString());
    }
  }
  return null;
}

/** Signs `tx` with `pair`, relays it, follows it; resolves with its events once finalized. A node
 *  the API cannot reach (or any other failure of a chain call) is a ChainError saying so. */
export async function send(
  api: ApiPromise,
  tx: SubmittableExtrinsic<'promise'>,
  pair: Signer,
  onStatus: (s: TxStatus) => void,
): Promise<EventRecord[]> {
  // Against a runtime whose calls differ from the ones this app builds, sign nothing.
  checkCalls(api);
  let sent: string | undefined;
  try {
    return await follow(api, tx, pair, (st) => {
      if (st.hash) sent = st.hash;
      onStatus(st);
    });
  } catch (e) {
    if (e instanceof ChainError || e instanceof ApiProblem) {
      onStatus({ stage: 'failed', detail: e.message });
      throw e;
    }
    const why = e instanceof Error ? e.message.split('\n')[0] : String(e);
    onStatus({ stage: 'failed', detail: why });
    throw new ChainError(
      sent
        ? `the chain cannot be reached through the API any more; transaction ${sent} was sent, and whether it is final is not known (${why})`
        : `the chain cannot be reached through the API; nothing was sent or changed (${why})`,
    );
  }
}

async function follow(
  api: ApiPromise,
  tx: SubmittableExtrinsic<'promise'>,
  pair: Signer,
  onStatus: (s: TxStatus) => void,
): Promise<EventRecord[]> {
  onStatus({ stage: 'signing' });
  const start = (await api.rpc.chain.getHeader()).number.toNumber();
  const nonce = await api.rpc.system.accountNextIndex(pair.address);
  const signed = await pair.signTx(tx, nonce);
  const hash = signed.hash.toHex();
  await postJson<Schemas['RelayResponse'], Schemas['RelayRequest']>('/v1/relay', { extrinsic: signed.toHex() });
  onStatus({ stage: 'submitted', hash });
  const deadline = Date.now() + 120_000;
  let next = start + 1;
  let found: { number: number; blockHash: string; index: number } | null = null;
  while (Date.now() < deadline) {
    if (!found) {
      const best = (await api.rpc.chain.getHeader()).number.toNumber();
      for (; next <= best && !found; next++) {
        const bh = await api.rpc.chain.getBlockHash(next);
        const block = await api.rpc.chain.getBlock(bh);
        const index = block.block.extrinsics.findIndex((x) => x.hash.toHex() === hash);
        if (index >= 0) {
          found = { number: next, blockHash: bh.toHex(), index };
          onStatus({ stage: 'in-block', hash, block: next });
        }
      }
    }
    if (found) {
      const fin = await api.rpc.chain.getHeader(await api.rpc.chain.getFinalizedHead());
      if (fin.number.toNumber() >= found.number) {
        const canonical = (await api.rpc.chain.getBlockHash(found.number)).toHex();
        if (canonical !== found.blockHash) {
          // A fork lost: look again from there.
          next = found.number;
          found = null;
          continue;
        }
        const events = (await api.query.system.events.at(found.blockHash)) as unknown as EventRecord[];
        const err = failure(api, events, found.index);
        if (err) {
          onStatus({ stage: 'failed', hash, block: found.number, detail: err.message });
          throw err;
        }
        onStatus({ stage: 'finalized', hash, block: found.number });
        return events.filter(({ phase }) => phase.isApplyExtrinsic && phase.asApplyExtrinsic.eqn(found!.index));
      }
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
  throw new ChainError(`transaction ${hash} was not finalized within two minutes`);
}
