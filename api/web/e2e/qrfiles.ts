// QR codes for the browser tests, encoded by the `qrcode` package (a devDependency; the app
// only decodes): a PNG for the file input, and a Y4M video for Chromium's fake camera
// (`--use-file-for-fake-video-capture`). Y4M is written here, as there is no ffmpeg: a text
// header, then frames of raw I420 (a full-size luma plane, then quarter-size U and V).
import fs from 'node:fs';
import QRCode from 'qrcode';

/** The fake camera's frame size (even, as 4:2:0 needs). */
export const CAMERA = { width: 640, height: 480 };

/** A PNG of the QR code holding `text`, as a hospital's enrolment letter would print it. */
export async function qrPng(text: string, file: string): Promise<void> {
  await QRCode.toFile(file, text, { type: 'png', errorCorrectionLevel: 'M', margin: 4, scale: 6 });
}

/**
 * A short video of the QR code holding `text` (or of no code, when `text` is null) as a camera
 * would see a printed card: off-centre, grey paper, dark ink, sensor noise. Chromium loops it.
 */
export function qrVideo(text: string | null, file: string, frames = 10): void {
  const { width: W, height: H } = CAMERA;
  let seed = 0x2545f491;
  const noise = () => {
    // xorshift32: the same frames every run.
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return ((seed >>> 0) % 21) - 10;
  };
  const modules = text === null ? null : QRCode.create(text, { errorCorrectionLevel: 'M' }).modules;
  const quiet = 4;
  const n = modules ? modules.size + 2 * quiet : 0;
  const scale = modules ? Math.floor(320 / n) : 0;
  const [ox, oy] = [Math.floor(W * 0.55 - (n * scale) / 2), Math.floor(H * 0.45 - (n * scale) / 2)];
  const dark = (x: number, y: number) => {
    if (!modules) return false;
    const [c, r] = [Math.floor((x - ox) / scale) - quiet, Math.floor((y - oy) / scale) - quiet];
    return r >= 0 && c >= 0 && r < modules.size && c < modules.size && modules.get(r, c) === 1;
  };
  const out = [Buffer.from(`YUV4MPEG2 W${W} H${H} F10:1 Ip A1:1 C420jpeg\n`)];
  const chroma = Buffer.alloc((W / 2) * (H / 2), 128);
  for (let f = 0; f < frames; f++) {
    const y = Buffer.alloc(W * H);
    for (let j = 0; j < H; j++) for (let i = 0; i < W; i++) y[j * W + i] = (dark(i, j) ? 45 : 200) + noise();
    out.push(Buffer.from('FRAME\n'), y, chroma, chroma);
  }
  fs.writeFileSync(file, Buffer.concat(out));
}
