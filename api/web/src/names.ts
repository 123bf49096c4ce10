// Purposes and data categories by their canonical names, as the API's OpenAPI document lists them
// (consentry-primitives' one table of names, in declaration order: bit n of a PurposeSet or
// CategorySet is the n-th name). The plain-language explanations are the app's own words.
import type { ApiPromise } from '@polkadot/api';
import { getJson } from './http';

export interface Names {
  purposes: string[];
  categories: string[];
}

interface OpenApiDoc {
  components: { schemas: Record<string, { properties: Record<string, { enum?: string[]; items?: { enum?: string[] } }> }> };
}

export async function loadNames(): Promise<Names> {
  const doc = await getJson<OpenApiDoc>('/openapi.json');
  const dr = doc.components.schemas.DecisionRequest.properties;
  const purposes = dr.purpose.enum;
  const categories = dr.categories.items?.enum;
  if (!purposes || !categories) throw new Error('the API did not list its purposes and categories');
  return { purposes, categories };
}

const snake = (s: string) => s.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase();

/** The calls this app signs, with the arguments it passes, in order. The runtime's metadata must
 *  declare exactly these, or the app refuses to sign (it would build calls the runtime reads
 *  differently). */
export const CALLS: Record<string, string[]> = {
  'identity.claim': ['pseudonym'],
  'identity.appoint_guardian': ['guardian'],
  'identity.remove_guardian': ['subject', 'guardian'],
  'identity.forget': ['subject'],
  'consent.grant': ['subject', 'grantee', 'purposes', 'categories', 'valid_from', 'valid_until', 'max_uses'],
  'consent.amend': ['consent', 'purposes', 'categories', 'valid_until', 'max_uses'],
  'consent.revoke': ['consent'],
};

const camel = (s: string) => s.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());

/** Whether the runtime declares the calls this app signs as the app builds them; throws if not. */
export function checkCalls(api: ApiPromise): void {
  for (const [name, args] of Object.entries(CALLS)) {
    const [pallet, call] = name.split('.');
    const fn = api.tx[pallet]?.[camel(call)];
    if (!fn) throw new Error(`the runtime has no ${name}: this app does not match it and signs nothing`);
    const have = fn.meta.fields.map((f) => f.name.toString());
    if (have.join(',') !== args.join(',')) {
      throw new Error(`the runtime's ${name} takes (${have.join(', ')}), this app was built for (${args.join(', ')}): it signs nothing against this runtime`);
    }
  }
}

/** The chain's Purpose enum (from its metadata) must name the API's purposes, in order. */
export function checkAgainstChain(api: ApiPromise, names: Names): void {
  checkCalls(api);
  const meta = api.tx.audit.requestAccess.meta.fields.find((a) => a.name.toString() === 'purpose');
  if (!meta) throw new Error('the runtime has no Audit.request_access(purpose)');
  const def = api.registry.lookup.getSiType(meta.type);
  const variants = def.def.asVariant.variants.map((v) => snake(v.name.toString()));
  if (variants.join(',') !== names.purposes.join(',')) {
    throw new Error(`the API's purposes (${names.purposes.join(', ')}) are not the runtime's (${variants.join(', ')})`);
  }
}

export function mask(all: string[], chosen: string[]): number {
  return chosen.reduce((m, n) => {
    const i = all.indexOf(n);
    if (i < 0) throw new Error(`unknown name ${n}`);
    return m | (1 << i);
  }, 0);
}

export function unmask(all: string[], m: number): string[] {
  return all.filter((_, i) => (m & (1 << i)) !== 0);
}

const PURPOSES: Record<string, string> = {
  treatment: 'Your own care: clinicians use your data to treat you.',
  inference: 'A prediction model is run on your data (for example, how you may respond to a drug).',
  simulation: 'A digital-twin simulation of you (for example, drug levels over time for a dose).',
  federated_training: 'Training a model across hospitals; your data stays at the hospital, only model updates leave.',
  research: 'Research studies on pseudonymous data.',
  re_identification: 'Linking your pseudonym back to you (only a named institution may ever be given this).',
};
const CATEGORIES: Record<string, string> = {
  demographics: 'Age, sex, height, weight.',
  ehr: 'Your health record: diagnoses, medications, notes.',
  labs: 'Laboratory results such as blood tests.',
  genomic: 'Genetic test results (for example, how you metabolise drugs).',
  wearable: 'Data from wearable devices.',
  imaging: 'Scans and images.',
};

export const explainPurpose = (n: string) => PURPOSES[n] ?? '';
export const explainCategory = (n: string) => CATEGORIES[n] ?? '';
export const label = (n: string) => n.replace(/_/g, ' ');
