// What a hospital hands a patient to claim an enrolment: the pseudonym itself (64 hex digits)
// or this wallet's claim link (`<origin>/app/#claim=<hex>`), typed, opened, or read from a QR
// code. One check for every way in, so each refuses the same things with the same message.
import { ApiProblem } from './http';

const HEX32 = /^(0x)?[0-9a-fA-F]{64}$/;
const RULE = 'a pseudonym is 64 hexadecimal digits (0-9, a-f), optionally prefixed 0x';

function refused(detail: string): ApiProblem {
  return new ApiProblem(0, '', detail, 'pseudonym');
}

/** The pseudonym as the claim form takes it (trimmed), or a refusal naming the field. */
export function checkPseudonym(value: string): string {
  const v = value.trim();
  if (!HEX32.test(v)) throw refused(RULE);
  return v;
}

/** The pseudonym `hex` as the chain's `identity.claim` takes it. */
export function claimArg(hex: string): string {
  return hex.startsWith('0x') ? hex : `0x${hex}`;
}

/**
 * The pseudonym a QR code carries: the bare hex, or a claim link to this wallet (`origin` is
 * the page's). A link to another site is refused: its pseudonym belongs to another deployment's
 * chain, and a code that sends the patient elsewhere is not the hospital's. The refusals never
 * repeat what the code held, so nothing it carried reaches the page's text.
 */
export function pseudonymFromCode(text: string, origin: string): string {
  const t = text.trim();
  if (HEX32.test(t)) return t;
  let url: URL | null = null;
  if (/^https?:\/\//i.test(t)) {
    try {
      url = new URL(t);
    } catch {
      url = null;
    }
  }
  if (!url) throw refused(`${RULE}; this code holds neither a pseudonym nor a claim link`);
  if (url.origin !== origin) throw refused(`this code links to ${url.origin}, not to this wallet (${origin})`);
  const m = /^#claim=(.*)$/.exec(url.hash);
  if (!/^\/app\/?$/.test(url.pathname) || !m) throw refused('this code links to this wallet but carries no claim (/app/#claim=<pseudonym>)');
  return checkPseudonym(m[1]);
}
