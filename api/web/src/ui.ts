// Shared pieces of the pages: error messages that name the field, transaction progress, the
// app's context (config, chain, names, session).
import type { ApiPromise } from '@polkadot/api';
import { h, replace } from './dom';
import { ApiProblem } from './http';
import { ChainError, type TxStatus } from './chain';
import type { Names } from './names';
import type { Identity } from './session';

export interface Ctx {
  rpc: string;
  api: () => Promise<ApiPromise>;
  names: () => Promise<Names>;
  identity: Identity | null;
  rerender: () => void;
}

/** Shows `e` in `where` as an alert, naming the field the API or chain named (and marking it). */
export function showError(where: HTMLElement, e: unknown, form?: HTMLElement): void {
  const field = e instanceof ApiProblem || e instanceof ChainError ? e.field : undefined;
  const msg = e instanceof ApiProblem ? e.detail : e instanceof Error ? e.message : String(e);
  replace(where, h('p', { class: 'error', role: 'alert' }, field ? h('strong', {}, `${field}: `) : null, msg));
  if (form && field) {
    const input = form.querySelector<HTMLElement>(`[data-field="${CSS.escape(field)}"]`);
    if (input) {
      input.setAttribute('aria-invalid', 'true');
      input.focus();
    }
  }
}

export function clearErrors(where: HTMLElement, form?: HTMLElement): void {
  replace(where);
  form?.querySelectorAll('[aria-invalid]').forEach((el) => el.removeAttribute('aria-invalid'));
}

const STAGES: Record<TxStatus['stage'], string> = {
  signing: 'Signing in this browser…',
  submitted: 'Sent; waiting for a block…',
  'in-block': 'In a block; waiting for finality…',
  finalized: 'Finalized.',
  failed: 'Not done.',
};

/** A live region showing a transaction's progress. */
export function txView(): { el: HTMLElement; update: (s: TxStatus) => void } {
  const el = h('div', { class: 'tx', role: 'status', 'aria-live': 'polite' });
  return {
    el,
    update(s) {
      replace(
        el,
        h('span', { class: `stage stage-${s.stage}` }, STAGES[s.stage]),
        s.block !== undefined ? h('span', {}, ` Block #${s.block}.`) : null,
        s.hash ? h('span', { class: 'mono small' }, ` Transaction ${s.hash}`) : null,
      );
      el.dataset.stage = s.stage;
    },
  };
}

/** Runs `work` with `button` disabled. */
export async function busy<T>(button: HTMLButtonElement, work: () => Promise<T>): Promise<T> {
  button.disabled = true;
  button.setAttribute('aria-busy', 'true');
  try {
    return await work();
  } finally {
    button.disabled = false;
    button.removeAttribute('aria-busy');
  }
}
