// The clinician's page (next slice): jobs through the chain's decision, PK/PD curves.
import { h, replace } from './dom';
import type { Ctx } from './ui';

export async function render(root: HTMLElement, _ctx: Ctx): Promise<void> {
  document.title = 'Clinician — Consentry';
  replace(root, h('h1', {}, 'Clinician'), h('p', {}, 'Not built yet.'));
}
