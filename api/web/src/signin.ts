// The API's sign-in message (api/signin): the browser reads it and refuses to sign anything that
// is not exactly a sign-in for the API that served this page, for this key, on the chain it reads,
// issued now — the same checks `consentry` makes (api/wallet/src/session.rs) — then signs its
// `<Bytes>…</Bytes>` form, as polkadot.js `signRaw` does.

export const PREFIX = 'consentry-auth: sign in to the Consentry API';
export const MAX_LEN = 512;
export const MAX_LIFETIME_SECS = 600;
export const MAX_CLOCK_SKEW_SECS = 300;

export interface SignInMessage {
  origin: string;
  account: string;
  genesis: string; // 0x + 64 hex
  nonce: string;
  issuedAt: number;
  expiresAt: number;
}

export class SignInError extends Error {}

export function parseSignIn(text: string): SignInMessage {
  if (text.length > MAX_LEN) throw new SignInError(`the challenge is ${text.length} bytes, more than the ${MAX_LEN} a sign-in message may have`);
  const lines = text.split('\n');
  if (lines[0] !== PREFIX) throw new SignInError(`the challenge is not a Consentry sign-in message: the first line is not '${PREFIX}'`);
  const names = ['Origin', 'Account', 'Genesis', 'Nonce', 'Issued-At', 'Expires-At'];
  if (lines.length !== names.length + 1) throw new SignInError('the challenge is not a Consentry sign-in message: wrong number of lines');
  const v = names.map((n, i) => {
    const line = lines[i + 1];
    if (!line.startsWith(`${n}: `)) throw new SignInError(`the challenge is not a Consentry sign-in message: expected '${n}: …', found '${line}'`);
    return line.slice(n.length + 2);
  });
  if (!/^0x[0-9a-f]{64}$/.test(v[2])) throw new SignInError('the challenge is not a Consentry sign-in message: Genesis is not 32 bytes of hex');
  if (!/^[0-9a-f]{64}$/.test(v[3])) throw new SignInError('the challenge is not a Consentry sign-in message: Nonce is not 32 bytes of hex');
  if (!/^[0-9]+$/.test(v[4]) || !/^[0-9]+$/.test(v[5])) throw new SignInError('the challenge is not a Consentry sign-in message: times are not unix seconds');
  return { origin: v[0], account: v[1], genesis: v[2], nonce: v[3], issuedAt: Number(v[4]), expiresAt: Number(v[5]) };
}

/** The wallet's checks before it signs. */
export function checkSignIn(m: SignInMessage, origin: string, account: string, genesis: string, now: number): void {
  if (m.origin !== origin) throw new SignInError(`the challenge is for origin ${m.origin}, but this API is ${origin} (a relayed sign-in?)`);
  if (m.account !== account) throw new SignInError(`the challenge names account ${m.account}, not this key's ${account}`);
  if (m.genesis !== genesis.toLowerCase()) throw new SignInError(`the challenge is for chain ${m.genesis}, not the chain this page reads (${genesis})`);
  if (Math.abs(m.issuedAt - now) > MAX_CLOCK_SKEW_SECS) throw new SignInError(`the challenge's times are not fresh: issued at ${m.issuedAt}, ${Math.abs(m.issuedAt - now)} s from this clock`);
  if (m.expiresAt <= now) throw new SignInError(`the challenge's times are not fresh: expired at ${m.expiresAt}`);
  if (m.expiresAt - m.issuedAt > MAX_LIFETIME_SECS) throw new SignInError(`the challenge's times are not fresh: valid for ${m.expiresAt - m.issuedAt} s, more than ${MAX_LIFETIME_SECS}`);
}
