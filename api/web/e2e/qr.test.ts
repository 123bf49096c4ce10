// Claiming an enrolment from the hospital's QR code, in a real Chromium against the real system
// (node, API with indexer, worker; e2e/stack.mjs): the code read from an image file and from
// the camera (Chromium's fake camera playing a video of the code), each then claimed on the
// chain; codes that hold no pseudonym refused naming the field; the camera stopped when a code
// is found, when the patient cancels and when the patient leaves the page; no camera and a
// refused permission each said plainly.
//
// The API serves `Permissions-Policy: camera=(self), microphone=(), ...` (api/server/src/web.rs):
// the camera for the app's own origin only. Every context is served the API's own responses,
// headers untouched, and the test checks that the page's document came with that policy, so an
// API that turns the camera off again fails here. One context is the exception, on purpose: a
// deployment that forbids the camera (a proxy in front of the API sending `camera=()`), played by
// a Playwright route that changes only that directive (forbidCamera), to check that the page then
// does not ask for the camera and says why.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { axe, artifacts, cspViolations, launch, shot } from './browser';
import { consentry, startStack, type TestStack } from './stack.mjs';
import { qrPng, qrVideo } from './qrfiles';

type Stack = TestStack;

const PASS = 'correct horse battery';
const RULE = 'a pseudonym is 64 hexadecimal digits (0-9, a-f), optionally prefixed 0x';
const ELSEWHERE = 'https://wallet.elsewhere.example';
let stack: Stack;
let tmp: string;
/** The Permissions-Policy the API itself sends with the app's page (fetched outside the browser). */
let apiPolicy = '';
/** The Permissions-Policy each page's document came with, as the browser received it. */
const policies = new Map<Page, string>();
/** The page served through forbidCamera. */
let forbidden: Page | undefined;
const contexts: BrowserContext[] = [];
const pages: Page[] = [];
const urls: string[] = [];
const logs: string[] = [];
const pseudonyms: string[] = [];
const a11y: Record<string, string[]> = {};

/** Enrols, for `address`, the first synthetic patient not enrolled yet; returns the bare hex. */
function enrol(address: string): string {
  for (let i = 0; i < 4; i++) {
    try {
      const p = JSON.parse(
        consentry(['institution', 'enrol', '--keystore', stack.hospital, '--identifier', `SYN-1-0000${i}`, '--pepper-file', stack.pepper,
          '--patient', address, '--node', stack.nodeWs, '--json'], { CONSENTRY_PASSPHRASE: 'hospital' }),
      ).pseudonym as string;
      const hex = p.replace(/^0x/, '');
      pseudonyms.push(hex);
      return hex;
    } catch (e) {
      if (!String(e).includes('PseudonymTaken')) throw e;
    }
  }
  throw new Error('every synthetic patient of the stack is enrolled already');
}

/**
 * A fresh profile; `args` are its launch flags. Each page records the URLs it requests and its
 * console, and every call to getUserMedia (passed through unchanged) with its stream, so the
 * test can see which camera tracks are still live.
 */
async function browser(args: string[] = []): Promise<{ ctx: BrowserContext; page: Page }> {
  const ctx = await launch({ args });
  contexts.push(ctx);
  await ctx.addInitScript(() => {
    const w = window as unknown as { __cams: { constraints: MediaStreamConstraints | undefined; stream: MediaStream }[] };
    w.__cams = [];
    const md = navigator.mediaDevices;
    if (!md) return;
    const real = md.getUserMedia.bind(md);
    md.getUserMedia = async (c) => {
      const stream = await real(c);
      w.__cams.push({ constraints: c, stream });
      return stream;
    };
  });
  const page = await ctx.newPage();
  pages.push(page);
  page.on('request', (r) => urls.push(r.url()));
  page.on('console', (m) => logs.push(m.text()));
  page.on('pageerror', (e) => logs.push(e.message));
  return { ctx, page };
}

/**
 * A deployment that forbids the camera: the app's documents as the API serves them, with only the
 * camera directive of their Permissions-Policy changed to `camera=()`.
 */
async function forbidCamera(ctx: BrowserContext): Promise<void> {
  await ctx.route(
    (u) => u.origin === stack.app && u.pathname.startsWith('/app'),
    async (route) => {
      if (route.request().resourceType() !== 'document') return route.fallback();
      const resp = await route.fetch();
      const headers = resp.headers();
      headers['permissions-policy'] = (headers['permissions-policy'] ?? '').replace('camera=(self)', 'camera=()');
      await route.fulfill({ response: resp, headers });
    },
  );
}

/** A Permissions-Policy header's directives, one string each. */
const directives = (policy: string) => policy.split(',').map((d) => d.trim()).filter(Boolean);

const cameras = (page: Page) =>
  page.evaluate(() => (window as unknown as { __cams: { constraints: MediaStreamConstraints | undefined }[] }).__cams.map((c) => c.constraints));
const liveTracks = (page: Page) =>
  page.evaluate(() =>
    (window as unknown as { __cams: { stream: MediaStream }[] }).__cams.flatMap((c) => c.stream.getTracks()).filter((t) => t.readyState === 'live').length,
  );
const alertText = (page: Page) => page.locator('form:has(#claim) [role=alert]').textContent();

/** A new key in this profile, left at the claim form (the chain does not know it yet). */
async function toClaimForm(page: Page, uri: string): Promise<string> {
  const doc = await page.goto(`${stack.app}/app/`);
  policies.set(page, (await doc!.headerValue('permissions-policy')) ?? '');
  await page.fill('#import-secret', uri);
  await page.fill('#import-pass', PASS);
  await page.click('#import-key');
  await page.waitForSelector('#pseudonym', { timeout: 60_000 });
  return (await page.textContent('#address'))!.trim();
}

async function check(page: Page, name: string) {
  await shot(page, name);
  a11y[name] = await axe(page);
}

beforeAll(async () => {
  if (process.env.CONSENTRY_WEB_E2E_STACK) {
    const s = JSON.parse(fs.readFileSync(process.env.CONSENTRY_WEB_E2E_STACK, 'utf8'));
    stack = { app: new URL(s.app).origin, nodeWs: s.node, pepper: s.pepper, hospital: s.hospital };
  } else {
    const s = await startStack();
    stack = { app: s.apiUrl, nodeWs: s.nodeWs, pepper: s.pepper, hospital: s.hospital, stop: () => s.stop() };
  }
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'consentry-qr-'));
  apiPolicy = (await fetch(`${stack.app}/app/`)).headers.get('permissions-policy') ?? '';
});

afterAll(async () => {
  fs.writeFileSync(path.join(artifacts, 'axe-qr.json'), JSON.stringify(a11y, null, 2));
  for (const c of contexts.reverse()) await c.close();
  await stack?.stop?.();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

describe.sequential('a QR code in an image file (the API’s headers as served)', () => {
  let page: Page;
  let address = '';

  beforeAll(async () => {
    ({ page } = await browser());
    address = await toClaimForm(page, `//QrFile/${Date.now()}`);
  });

  it('the API serves the app’s page with a Permissions-Policy that allows the camera for its own origin only', () => {
    const served = directives(policies.get(page) ?? '');
    expect(served).toContain('camera=(self)');
    expect(served.filter((d) => d.startsWith('camera='))).toEqual(['camera=(self)']);
    expect(served).toContain('microphone=()');
    // What the browser received is what the API sends: nothing rewrote it on the way.
    expect(policies.get(page)).toBe(apiPolicy);
  });

  it('refuses an image with no code, a file that is no image, a code that holds no pseudonym and a link to another site, naming the field; fills nothing', async () => {
    const noCode = path.join(tmp, 'no-code.png');
    await page.screenshot({ path: noCode });
    await page.setInputFiles('#claim-image', noCode);
    await expect.poll(() => alertText(page)).toBe('image file: no QR code was found in this image; try a sharper, closer photo of the code');
    expect(await page.getAttribute('#claim-image', 'aria-invalid')).toBe('true');

    const notImage = path.join(tmp, 'letter.png');
    fs.writeFileSync(notImage, 'Dear patient, ...');
    await page.setInputFiles('#claim-image', notImage);
    await expect.poll(() => alertText(page)).toMatch(/^image file: this file cannot be read as an image/);

    const hello = path.join(tmp, 'hello.png');
    await qrPng('hello', hello);
    await page.setInputFiles('#claim-image', hello);
    await expect.poll(() => alertText(page)).toBe(`pseudonym: ${RULE}; this code holds neither a pseudonym nor a claim link`);
    expect(await page.getAttribute('#pseudonym', 'aria-invalid')).toBe('true');
    expect(await page.getAttribute('#claim-image', 'aria-invalid')).toBeNull();

    const other = path.join(tmp, 'elsewhere.png');
    await qrPng(`${ELSEWHERE}/app/#claim=${'ab'.repeat(32)}`, other);
    await page.setInputFiles('#claim-image', other);
    await expect.poll(() => alertText(page)).toBe(`pseudonym: this code links to ${ELSEWHERE}, not to this wallet (${stack.app})`);
    await check(page, 'qr-file-refused');

    // The same refusal as a malformed claim link typed... read from a code.
    const short = path.join(tmp, 'short.png');
    await qrPng(`${stack.app}/app/#claim=${'ab'.repeat(31)}`, short);
    await page.setInputFiles('#claim-image', short);
    await expect.poll(() => alertText(page)).toBe(`pseudonym: ${RULE}`);
    expect(await page.inputValue('#pseudonym')).toBe('');
  });

  it('reads the claim link from the hospital’s printed code, and the patient claims the enrolment on the chain', async () => {
    const hex = enrol(address);
    const letter = path.join(tmp, 'claim-link.png');
    await qrPng(`${stack.app}/app/#claim=${hex}`, letter);
    await page.setInputFiles('#claim-image', letter);
    await expect.poll(() => page.inputValue('#pseudonym')).toBe(hex);
    expect(await page.textContent('#scan-status')).toBe('Pseudonym read from the code. Check it, then press Claim.');
    expect(await page.locator('form:has(#claim) [role=alert]').count()).toBe(0);
    expect(await page.locator('form:has(#claim) [aria-invalid]').count()).toBe(0);
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('claim');
    await check(page, 'qr-file-read');
    await page.click('#claim');
    // Signing in needs the chain to know the key: the claim is on the chain.
    await page.waitForSelector('#grant', { timeout: 90_000 });
    expect(page.url()).toBe(`${stack.app}/app/`);
    expect(await cspViolations(page)).toEqual([]);
  });
});

describe.sequential('the camera', () => {
  it('with no camera on the device, the page says so', async () => {
    const { page } = await browser();
    await toClaimForm(page, `//QrNoCamera/${Date.now()}`);
    await page.click('#scan-camera');
    await expect.poll(() => alertText(page)).toBe('camera: no camera was found on this device; read the code from an image file instead');
    expect(await page.isHidden('#scan-video')).toBe(true);
    expect(await page.isEnabled('#scan-camera')).toBe(true);
    expect(await cspViolations(page)).toEqual([]);
  });

  it('when the camera permission is refused, the page says so', async () => {
    // A camera, but no stand-in for the permission prompt: headless Chromium refuses it.
    const { page } = await browser(['--use-fake-device-for-media-stream']);
    await toClaimForm(page, `//QrRefused/${Date.now()}`);
    await page.click('#scan-camera');
    await expect.poll(() => alertText(page)).toMatch(/^camera: permission to use the camera was refused/);
    expect(await page.isHidden('#scan-video')).toBe(true);
    await check(page, 'qr-camera-refused');
  });

  describe.sequential('a fake camera filming the hospital’s code', () => {
    let page: Page;
    let address = '';
    const video = () => path.join(tmp, 'camera.y4m');

    beforeAll(async () => {
      // Chromium reads the file at each getUserMedia, so each test films what it writes.
      qrVideo(null, video());
      ({ page } = await browser(['--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream', `--use-file-for-fake-video-capture=${video()}`]));
      address = await toClaimForm(page, `//QrCamera/${Date.now()}`);
    });

    it('shows the rear camera while looking for a code, and stops it when the patient cancels', async () => {
      await page.click('#scan-camera');
      await page.waitForSelector('#scan-video:not([hidden])');
      await expect.poll(() => page.textContent('#scan-status')).toBe('Hold the QR code in front of the camera.');
      expect(await cameras(page)).toEqual([{ video: { facingMode: 'environment' }, audio: false }]);
      expect(await liveTracks(page)).toBe(1);
      await expect.poll(() => page.evaluate(() => (document.getElementById('scan-video') as HTMLVideoElement).videoWidth)).toBe(640);
      await check(page, 'qr-camera-scanning');
      await page.click('#scan-cancel');
      await expect.poll(() => liveTracks(page)).toBe(0);
      expect(await page.textContent('#scan-status')).toBe('Camera stopped.');
      expect(await page.isHidden('#scan-video')).toBe(true);
      expect(await page.evaluate(() => (document.getElementById('scan-video') as HTMLVideoElement).srcObject)).toBeNull();
      expect(await page.inputValue('#pseudonym')).toBe('');
    });

    it('stops the camera when the patient leaves the page', async () => {
      await page.click('#scan-camera');
      // Once it is playing: a video taken out of the page before then stops playing by itself.
      await expect.poll(() => page.textContent('#scan-status')).toBe('Hold the QR code in front of the camera.');
      expect(await liveTracks(page)).toBe(1);
      await page.click('nav a[data-route=clinic]');
      await expect.poll(() => liveTracks(page)).toBe(0);
      await page.click('nav a[data-route=patient]');
      await page.waitForSelector('#pseudonym', { timeout: 60_000 });
      expect(await liveTracks(page)).toBe(0);
    });

    it('refuses a code that holds no pseudonym, naming the field, and stops the camera', async () => {
      qrVideo(`${ELSEWHERE}/app/#claim=${'cd'.repeat(32)}`, video());
      await page.click('#scan-camera');
      await expect.poll(() => alertText(page), { timeout: 30_000 }).toBe(`pseudonym: this code links to ${ELSEWHERE}, not to this wallet (${stack.app})`);
      expect(await page.getAttribute('#pseudonym', 'aria-invalid')).toBe('true');
      expect(await page.inputValue('#pseudonym')).toBe('');
      expect(await liveTracks(page)).toBe(0);
      expect(await page.isHidden('#scan-video')).toBe(true);
    });

    it('reads the pseudonym the camera films, stops the camera, and the patient claims the enrolment on the chain', async () => {
      const hex = enrol(address);
      qrVideo(hex, video());
      await page.click('#scan-camera');
      await expect.poll(() => page.inputValue('#pseudonym'), { timeout: 30_000 }).toBe(hex);
      expect(await liveTracks(page)).toBe(0);
      expect(await page.isHidden('#scan-video')).toBe(true);
      expect(await page.textContent('#scan-status')).toBe('Pseudonym read from the code. Check it, then press Claim.');
      expect(await page.locator('form:has(#claim) [aria-invalid]').count()).toBe(0);
      await check(page, 'qr-camera-read');
      await page.click('#claim');
      await page.waitForSelector('#grant', { timeout: 90_000 });
      expect(page.url()).toBe(`${stack.app}/app/`);
    });
  });

  it('a deployment that forbids the camera (its page served with `camera=()` by a test route, not by the API): the camera is not asked for, and the page says why', async () => {
    // A camera and a stand-in for the permission prompt: only the policy stands in the way.
    const { ctx, page } = await browser(['--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream']);
    await forbidCamera(ctx);
    forbidden = page;
    await toClaimForm(page, `//QrForbidden/${Date.now()}`);
    expect(directives(policies.get(page) ?? '')).toEqual(directives(apiPolicy).map((d) => (d === 'camera=(self)' ? 'camera=()' : d)));
    await page.click('#scan-camera');
    await expect.poll(() => alertText(page)).toBe("camera: this site's Permissions-Policy turns the camera off for this page, so the browser cannot ask you; read the code from an image file or type the pseudonym");
    expect(await cameras(page)).toEqual([]);
    expect(await page.isHidden('#scan-video')).toBe(true);
    expect(await page.isHidden('#scan-cancel')).toBe(true);
    expect(await page.isEnabled('#scan-camera')).toBe(true);
    await check(page, 'qr-camera-policy');
  });

  it('every page but the forbidding deployment’s was served the API’s own Permissions-Policy; no pseudonym in any URL a page requested or in any console; no CSP violation; axe-core clean', async () => {
    expect(policies.size).toBe(pages.length);
    for (const [p, policy] of policies) if (p !== forbidden) expect(policy).toBe(apiPolicy);
    expect(pseudonyms.length).toBe(2);
    for (const hex of pseudonyms) {
      expect(urls.filter((u) => u.toLowerCase().includes(hex))).toEqual([]);
      expect(logs.filter((l) => l.toLowerCase().includes(hex))).toEqual([]);
    }
    for (const p of pages) expect(await cspViolations(p)).toEqual([]);
    expect(a11y).toEqual(Object.fromEntries(Object.keys(a11y).map((k) => [k, []])));
  });
});
