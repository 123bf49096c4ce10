// Signing in to the API with the in-browser key, exactly as `consentry` does.
import type { ApiPromise } from '@polkadot/api';
import { postJson, request, setToken, type Schemas } from './http';
import { checkSignIn, parseSignIn } from './signin';
import type { Signer } from './wallet';

export type Identity = Schemas['Identity'];

export async function signIn(api: ApiPromise, pair: Signer): Promise<Identity> {
  const { challenge } = await postJson<Schemas['Challenge'], Schemas['ChallengeRequest']>('/v1/auth/challenge', { account: pair.address });
  const msg = parseSignIn(challenge);
  checkSignIn(msg, location.origin, pair.address, api.genesisHash.toHex(), Math.floor(Date.now() / 1000));
  const signature = await pair.signBytes(challenge);
  const s = await postJson<Schemas['SessionGranted'], Schemas['SessionRequest']>('/v1/auth/session', { account: pair.address, challenge, signature });
  setToken(s.token);
  return s.identity;
}

export async function signOut(): Promise<void> {
  try {
    await request('DELETE', '/v1/auth/session');
  } finally {
    setToken(null);
  }
}
