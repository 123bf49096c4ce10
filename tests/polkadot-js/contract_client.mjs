// Reads a data-use agreement with an unmodified @polkadot/api-contract, from nothing but the
// contract's ink! metadata (as the contract build generates it) and its address: `get(id)` and
// `in_force(custodian, recipient, purpose, categories, now)`. Prints one JSON line with what it
// read; api/wallet/tests/polkadot_js_contracts.rs checks it against the chain.
//
//   node contract_client.mjs <ws-url> <metadata.json> <contract address> <caller address> <id> <now-ms>
import { ApiPromise, WsProvider } from '@polkadot/api';
import { ContractPromise } from '@polkadot/api-contract';
import { readFileSync } from 'node:fs';

const [url, metadataPath, address, caller, id, now] = process.argv.slice(2);
const api = await ApiPromise.create({ provider: new WsProvider(url), noInitWarn: true });
const abi = JSON.parse(readFileSync(metadataPath, 'utf8'));
const contract = new ContractPromise(api, abi, address);
const gasLimit = api.registry.createType('WeightV2', {
  refTime: 100_000_000_000n,
  proofSize: 1_000_000n,
});
const opts = { gasLimit, storageDepositLimit: null };

// A message's output is ink!'s `Result<T, LangError>`: unwrap it to T.
const unwrap = (o) => {
  if (o && o.isOk !== undefined) {
    if (!o.isOk) throw new Error(`the contract could not read the input: ${o.asErr.toString()}`);
    return o.asOk.toJSON();
  }
  return o.toJSON();
};
const query = async (message, ...args) => {
  const r = await contract.query[message](caller, opts, ...args);
  if (!r.result.isOk) throw new Error(`${message} failed: ${r.result.toString()}`);
  return unwrap(r.output);
};

// A category set is its bit mask: labs is bit 2. The sample agreement covers research on labs.
const labs = 1 << 2;
console.log(JSON.stringify({
  agreement: await query('get', id),
  in_force: await query('inForce', 0, 1, 'Research', labs, now),
  in_force_treatment: await query('inForce', 0, 1, 'Treatment', labs, now),
}));
await api.disconnect();
