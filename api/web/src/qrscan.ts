// Reading a QR code from the device's camera or from an image file, decoded by jsQR (pure
// JavaScript: no WebAssembly, no eval, so the page's CSP stays as it is). Loaded only when the
// patient asks for it (a chunk of its own). Not the browser's BarcodeDetector: Chromium on Linux
// and desktop Firefox lack it, and one decoder everywhere is the one the tests exercise.
import jsQR from 'jsqr';
import { ApiProblem } from './http';

/** How often a camera frame is decoded: enough to feel immediate, light on a phone's battery. */
const FRAME_MS = 200;
/** Frames are decoded at most this wide (a code fills much of the view; decoding is O(pixels)). */
const DECODE_WIDTH = 800;
/** Image files are decoded at most this large on either side (photos are often 4000 px). */
const FILE_SIDE = 2048;

export interface Scan {
  /** The text of the first code seen, or null when stopped before one was. */
  readonly found: Promise<string | null>;
  /** Stops the camera (every track) and the decoding; idempotent. */
  stop(): void;
}

function cameraProblem(detail: string): ApiProblem {
  return new ApiProblem(0, '', detail, 'camera');
}

/** Why the camera cannot be used on this page before asking for it, if that can be known. */
function unavailable(): ApiProblem | null {
  if (!window.isSecureContext) return cameraProblem('the camera can be used only on a secure (https) page; read the code from an image file instead');
  if (!navigator.mediaDevices?.getUserMedia) return cameraProblem('this browser offers no camera to web pages; read the code from an image file instead');
  // The site's Permissions-Policy header can turn the camera off for the page; getUserMedia
  // would then fail as if the patient had refused. (Chromium exposes the policy; elsewhere the
  // refusal below says both.)
  const policy = (document as unknown as { featurePolicy?: { allowsFeature(f: string): boolean } }).featurePolicy;
  if (policy && !policy.allowsFeature('camera')) {
    return cameraProblem("this site's Permissions-Policy turns the camera off for this page, so the browser cannot ask you; read the code from an image file or type the pseudonym");
  }
  return null;
}

function refusal(e: unknown): ApiProblem {
  const name = e instanceof DOMException ? e.name : '';
  switch (name) {
    case 'NotAllowedError':
    case 'SecurityError':
      return cameraProblem("permission to use the camera was refused (by you, the browser's settings, or this site's policy); allow it for this site, or read the code from an image file");
    case 'NotFoundError':
    case 'OverconstrainedError':
      return cameraProblem('no camera was found on this device; read the code from an image file instead');
    case 'NotReadableError':
    case 'AbortError':
      return cameraProblem('the camera could not be started (another application may be using it)');
    default:
      return cameraProblem(`the camera could not be started (${e instanceof Error ? e.message : String(e)})`);
  }
}

function context(canvas: HTMLCanvasElement): CanvasRenderingContext2D {
  const g = canvas.getContext('2d', { willReadFrequently: true });
  if (!g) throw new Error('this browser cannot draw images for decoding');
  return g;
}

/**
 * Shows the camera (the rear one where there is a choice) in `video` and decodes a frame every
 * FRAME_MS until a code is found, `stop` is called or `signal` aborts (also while the browser is
 * still asking for permission). Every track is stopped in each case.
 */
export async function scanCamera(video: HTMLVideoElement, signal: AbortSignal): Promise<Scan> {
  const why = unavailable();
  if (why) throw why;
  if (signal.aborted) return { found: Promise.resolve(null), stop: () => undefined };
  let stream: MediaStream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: 'environment' }, audio: false });
  } catch (e) {
    throw refusal(e);
  }
  const canvas = document.createElement('canvas');
  const g = context(canvas);
  let timer: number | undefined;
  let done = false;
  let settle: (v: string | null) => void = () => undefined;
  const found = new Promise<string | null>((resolve) => (settle = resolve));
  // A tab left in the background keeps no camera open.
  const hidden = () => document.visibilityState === 'hidden' && stop();
  const finish = (text: string | null) => {
    if (done) return;
    done = true;
    clearTimeout(timer);
    for (const t of stream.getTracks()) t.stop();
    video.srcObject = null;
    document.removeEventListener('visibilitychange', hidden);
    window.removeEventListener('pagehide', stop);
    signal.removeEventListener('abort', stop);
    settle(text);
  };
  function stop() {
    finish(null);
  }
  document.addEventListener('visibilitychange', hidden);
  window.addEventListener('pagehide', stop);
  signal.addEventListener('abort', stop);
  if (signal.aborted) stop();
  const tick = () => {
    if (done) return;
    if (video.readyState >= video.HAVE_CURRENT_DATA && video.videoWidth > 0) {
      const k = Math.min(1, DECODE_WIDTH / video.videoWidth);
      canvas.width = Math.round(video.videoWidth * k);
      canvas.height = Math.round(video.videoHeight * k);
      g.drawImage(video, 0, 0, canvas.width, canvas.height);
      const img = g.getImageData(0, 0, canvas.width, canvas.height);
      // A camera's view of a printed code is dark on light: trying inverted too would halve the rate.
      const code = jsQR(img.data, img.width, img.height, { inversionAttempts: 'dontInvert' });
      if (code?.data) return finish(code.data);
    }
    timer = window.setTimeout(tick, FRAME_MS);
  };
  if (!done) {
    video.srcObject = stream;
    try {
      await video.play();
    } catch (e) {
      // Stopped while starting (play() is then aborted): not a failure.
      if (!done) {
        stop();
        throw refusal(e);
      }
    }
    tick();
  }
  return { found, stop };
}

/** The text of the QR code in an image file, or a refusal naming the file field. */
export async function decodeFile(file: Blob): Promise<string> {
  let bitmap: ImageBitmap;
  try {
    // No object URL: the image never becomes a resource the page's CSP would have to allow.
    bitmap = await createImageBitmap(file);
  } catch {
    throw new ApiProblem(0, '', 'this file cannot be read as an image (a photo or a screenshot of the code: PNG, JPEG, ...)', 'image file');
  }
  try {
    const k = Math.min(1, FILE_SIDE / Math.max(bitmap.width, bitmap.height));
    const canvas = document.createElement('canvas');
    canvas.width = Math.max(1, Math.round(bitmap.width * k));
    canvas.height = Math.max(1, Math.round(bitmap.height * k));
    const g = context(canvas);
    g.drawImage(bitmap, 0, 0, canvas.width, canvas.height);
    const img = g.getImageData(0, 0, canvas.width, canvas.height);
    const code = jsQR(img.data, img.width, img.height, { inversionAttempts: 'attemptBoth' });
    if (!code || !code.data) throw new ApiProblem(0, '', 'no QR code was found in this image; try a sharper, closer photo of the code', 'image file');
    return code.data;
  } finally {
    bitmap.close();
  }
}
