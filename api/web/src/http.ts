// The API over fetch: JSON in and out, bearer token in memory only, and RFC 9457 problem
// documents turned into errors that name the field the API names.

import type { components } from './api-types';

/** The API's request and answer types, generated from its OpenAPI document. */
export type Schemas = components['schemas'];

export class ApiProblem extends Error {
  constructor(
    readonly status: number,
    readonly title: string,
    readonly detail: string,
    readonly field?: string,
  ) {
    super(field ? `${field}: ${detail}` : detail);
  }
}

let token: string | null = null;
export function setToken(t: string | null): void {
  token = t;
}
export function hasToken(): boolean {
  return token !== null;
}

async function problemOf(resp: Response): Promise<ApiProblem> {
  const text = await resp.text();
  try {
    const p = JSON.parse(text) as Partial<Schemas['Problem']>;
    return new ApiProblem(resp.status, p.title ?? resp.statusText, p.detail ?? text, p.field ?? undefined);
  } catch {
    return new ApiProblem(resp.status, resp.statusText, text || `HTTP ${resp.status}`);
  }
}

export async function request(method: string, path: string, body?: unknown, opts: { accept?: string; signal?: AbortSignal } = {}): Promise<Response> {
  const headers: Record<string, string> = { accept: opts.accept ?? 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (token) headers.authorization = `Bearer ${token}`;
  let resp: Response;
  try {
    resp = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), credentials: 'omit', signal: opts.signal });
  } catch (e) {
    if (opts.signal?.aborted) throw e;
    throw new ApiProblem(0, 'Unreachable', `the API at ${location.origin} cannot be reached (${String(e)})`);
  }
  if (!resp.ok) throw await problemOf(resp);
  return resp;
}

export async function getJson<T>(path: string): Promise<T> {
  return (await request('GET', path)).json() as Promise<T>;
}

export async function postJson<T, B = unknown>(path: string, body: B): Promise<T> {
  return (await request('POST', path, body)).json() as Promise<T>;
}

/**
 * A server-sent event stream (`GET`, with the bearer token, which EventSource cannot send): the
 * response body, to read with `readEvents` (`sse.ts`); an error answer is its problem document.
 */
export async function openEvents(path: string, signal: AbortSignal): Promise<ReadableStream<Uint8Array>> {
  const resp = await request('GET', path, undefined, { accept: 'text/event-stream', signal });
  if (!resp.body) throw new ApiProblem(resp.status, 'No stream', 'the API answered without a body');
  return resp.body;
}
