// The auditor's dashboard (next slice): ledger search, summaries, in-browser proof checks.
import { h, replace } from './dom';
import type { Ctx } from './ui';

export async function render(root: HTMLElement, _ctx: Ctx): Promise<void> {
  document.title = 'Auditor — Consentry';
  replace(root, h('h1', {}, 'Auditor'), h('p', {}, 'Not built yet.'));
}
