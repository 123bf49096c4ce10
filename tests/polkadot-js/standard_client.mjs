// An unmodified @polkadot/api (what polkadot.js Apps is built on) against a Consentry `--dev` node:
// it must connect, decode storage, events and runtime APIs from the node's metadata alone, and
// sign and submit calls, including through the runtime's own `CheckPermission` extension, which
// no client knows by name. Nothing here is configured for Consentry: no type definitions, no
// signed-extension definitions.
//
// Usage: node standard_client.mjs ws://127.0.0.1:<port> <run-tag>
// Asserts as it goes (exit status 1 with the failed assertion) and prints, last, one line
// `RESULT {...}` with the ids it created, for tests/tests/polkadot_js.rs to check through subxt.

import { ApiPromise, Keyring, WsProvider } from '@polkadot/api';
import { blake2AsU8a } from '@polkadot/util-crypto';
import assert from 'node:assert/strict';

const [url, tag = 'pjs'] = process.argv.slice(2);
assert.ok(url, 'usage: node standard_client.mjs <ws-url> [run-tag]');

// The dev chain's hospital: institution 0, worker key Bob (chain/runtime/src/genesis.rs).
const HOSPITAL = 0;
// PurposeSet and CategorySet are bit masks, bit n for the variant with index n.
const SIMULATION = 1 << 2;
const LABS_AND_GENOMIC = (1 << 2) | (1 << 3);

const api = await ApiPromise.create({ provider: new WsProvider(url), throwOnConnect: true });
const keyring = new Keyring({ type: 'sr25519' });
const bob = keyring.addFromUri('//Bob');
const patient = keyring.addFromUri(`//PolkadotJs/${tag}/Patient`);
const stranger = keyring.addFromUri(`//PolkadotJs/${tag}/Stranger`);
const pseudonym = blake2AsU8a(`polkadot-js ${tag} pseudonym`);

// Signs and submits; resolves with the events of the finalized block's extrinsic, rejects with
// the decoded module error if the call failed.
function submit(tx, signer) {
  return new Promise((resolve, reject) => {
    let unsub = () => {};
    tx.signAndSend(signer, (result) => {
      const { status, events, dispatchError } = result;
      if (dispatchError) {
        unsub();
        const reason = dispatchError.isModule
          ? (({ section, name }) => `${section}.${name}`)(api.registry.findMetaError(dispatchError.asModule))
          : dispatchError.toString();
        reject(new Error(`dispatch failed: ${reason}`));
      } else if (status.isFinalized) {
        unsub();
        resolve(events.map(({ event }) => event));
      } else if (status.isInvalid || status.isDropped || status.isUsurped) {
        unsub();
        reject(new Error(`transaction ${status.type}`));
      }
    }).then((u) => { unsub = u; }, reject);
  });
}

function find(events, section, method) {
  const event = events.find((e) => e.section === section && e.method === method);
  assert.ok(event, `no ${section}.${method} among ${events.map((e) => `${e.section}.${e.method}`)}`);
  return event.data;
}

// Connected, to the runtime we built, with metadata that carries the runtime APIs.
assert.equal(api.runtimeVersion.specName.toString(), 'consentry');
assert.ok(api.runtimeMetadata.version >= 14, `metadata v${api.runtimeMetadata.version}`);
for (const call of ['subjectOf', 'consentsOf', 'decide']) {
  assert.equal(typeof api.call.consentApi?.[call], 'function', `runtime API consentApi.${call}`);
}
for (const call of ['record', 'recordsBySubject', 'recordsByInstitution', 'countsOf']) {
  assert.equal(typeof api.call.auditApi?.[call], 'function', `runtime API auditApi.${call}`);
}
const signedExtensions = api.registry.signedExtensions;
assert.ok(signedExtensions.includes('CheckPermission'), `extensions: ${signedExtensions}`);

// Storage decodes: the hospital and its worker key.
const hospital = (await api.query.identity.institutions(HOSPITAL)).unwrap();
assert.equal(hospital.name.toUtf8(), 'St. Example University Hospital');
assert.equal(hospital.status.type, 'Active');
assert.ok(hospital.serviceKeys.some((k) => k.eq(bob.address)), 'Bob is a hospital key');
assert.equal((await api.query.identity.serviceKeys(bob.address)).unwrap().toNumber(), HOSPITAL);

// The pool refuses a stranger: CheckPermission rejects it at validation as an unknown signer.
await assert.rejects(
  api.tx.system.remark('let me in').signAndSend(stranger),
  (err) => /1010: Invalid Transaction: Invalid signing address/.test(err.message),
  'a stranger is refused by the pool as an invalid signer',
);

// The hospital enrols the patient; the patient, an account with no tokens, claims.
const enrolled = find(
  await submit(api.tx.identity.enrol(pseudonym, patient.address), bob),
  'identity',
  'Enrolled',
);
assert.equal(enrolled.institution.toNumber(), HOSPITAL);
assert.ok(enrolled.patient.eq(patient.address));
const claimed = find(await submit(api.tx.identity.claim(pseudonym), patient), 'identity', 'Claimed');
const subject = claimed.subject.toNumber();
const resolved = await api.call.consentApi.subjectOf(pseudonym);
assert.equal(resolved.unwrap().toNumber(), subject, 'runtime API resolves the pseudonym');

// The patient grants the hospital Simulation over labs and genomics, three uses.
const granted = find(
  await submit(
    api.tx.consent.grant(subject, { Institution: HOSPITAL }, SIMULATION, LABS_AND_GENOMIC, null, null, 3),
    patient,
  ),
  'consent',
  'ConsentGranted',
);
const consent = granted.consent.toNumber();
assert.equal(granted.grantee.asInstitution.toNumber(), HOSPITAL);

// The worker asks twice: for the patient (granted) and for a pseudonym nobody enrolled (denied).
const jobDigest = blake2AsU8a(`polkadot-js ${tag} job`);
const access = find(
  await submit(api.tx.audit.requestAccess(pseudonym, 'Simulation', LABS_AND_GENOMIC, jobDigest), bob),
  'audit',
  'AccessGranted',
);
assert.equal(access.subject.toNumber(), subject);
assert.equal(access.purpose.type, 'Simulation');
const unknown = blake2AsU8a(`polkadot-js ${tag} nobody`);
const denial = find(
  await submit(api.tx.audit.requestAccess(unknown, 'Simulation', LABS_AND_GENOMIC, jobDigest), bob),
  'audit',
  'AccessDenied',
);
assert.equal(denial.reason.type, 'UnknownSubject');

// The runtime APIs decode: the record, the patient's consents with the use counted.
const record = (await api.call.auditApi.record(access.subject, access.id)).unwrap();
assert.equal(record.state.type, 'Granted');
assert.equal(record.jobDigest.toHex(), `0x${Buffer.from(jobDigest).toString('hex')}`);
const consents = await api.call.consentApi.consentsOf(subject);
assert.equal(consents.length, 1);
assert.equal(consents[0][0].toNumber(), consent);
assert.equal(consents[0][1].uses.toNumber(), 1);

console.log(`RESULT ${JSON.stringify({
  patient: patient.address,
  pseudonym: Buffer.from(pseudonym).toString('hex'),
  subject,
  consent,
  granted: access.id.toNumber(),
  denied: denial.id.toNumber(),
})}`);
await api.disconnect();
