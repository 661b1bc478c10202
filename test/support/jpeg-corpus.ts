import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { fourComponentJpeg } from '../../scripts/jpeg-four-components.js';
import { FOUR_COMPONENTS, listPhotos, MATE_DIR, VARIANTS } from '../../scripts/jpeg-testset.js';

/**
 * Small real JPEGs to mutate: `photos` mate-backgrounds photos at 1/8 size (about 320x200),
 * re-encoded by cjpeg in every variant of the decoding test set (baseline and progressive,
 * every sampling, restarts, gray, RGB; CMYK and YCCK joined from them), plus a 17x13 crop of
 * each (partial MCUs). Small, so a fuzz run decodes many of them a second. Needs djpeg, cjpeg
 * and mate-backgrounds.
 */
export function fuzzCorpus(photos = 2): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const photo of listPhotos().slice(0, photos)) {
    const small = execFileSync('djpeg', ['-scale', '1/8', '-pnm', join(MATE_DIR, photo)], { maxBuffer: 1 << 28 });
    const tiny = cropPpm(small, 17, 13);
    const made = new Map<string, [Uint8Array, Uint8Array]>();
    for (const [name, { args }] of Object.entries(VARIANTS)) {
      made.set(name, [execFileSync('cjpeg', args, { input: small, maxBuffer: 1 << 28 }), execFileSync('cjpeg', args, { input: tiny })]);
    }
    for (const { parts: [three, one], adobeTransform } of Object.values(FOUR_COMPONENTS)) {
      made.set(`${three}+${one}`, [0, 1].map((k) => fourComponentJpeg(made.get(three)![k], made.get(one)![k], adobeTransform)) as [Uint8Array, Uint8Array]);
    }
    out.push(...[...made.values()].flat());
  }
  return out.map((b) => new Uint8Array(b.buffer, b.byteOffset, b.byteLength));
}

/** The top-left width x height of a binary PPM (P6, maxval 255), as a PPM. */
function cropPpm(ppm: Uint8Array, width: number, height: number): Uint8Array {
  const header = /^P6\s+(\d+)\s+(\d+)\s+255\s/.exec(Buffer.from(ppm.subarray(0, 64)).toString('latin1'));
  if (!header) throw new Error('djpeg did not write a binary PPM');
  const stride = Number(header[1]) * 3;
  const rows = Array.from({ length: height }, (_, y) => ppm.subarray(header[0].length + y * stride, header[0].length + y * stride + width * 3));
  return Buffer.concat([Buffer.from(`P6\n${width} ${height}\n255\n`), ...rows]);
}
