import type { JpegCoefficients } from '../../src/kernels/index.js';

/** Random JPEG coefficients for the reconstruction tests (jpeg.ref.test.ts, test/gpu/jpeg.test.ts). */
export interface SyntheticJpeg {
  width: number;
  height: number;
  /** Each component's h x v sampling; one component is gray. */
  sampling: [number, number][];
  color?: JpegCoefficients['color'];
  orientation?: number;
  /**
   * 'photo': quantization and sparse coefficients such as an encoder makes; 'wild': any int16
   * coefficient and 16-bit quantization, which overflows and wraps (the GPU must still agree).
   */
  kind?: 'photo' | 'wild';
}

export const SAMPLINGS: Record<string, { sampling: [number, number][]; color: JpegCoefficients['color'] }> = {
  '4:4:4': { sampling: [[1, 1], [1, 1], [1, 1]], color: 'ycbcr' },
  '4:2:2': { sampling: [[2, 1], [1, 1], [1, 1]], color: 'ycbcr' },
  '4:2:0': { sampling: [[2, 2], [1, 1], [1, 1]], color: 'ycbcr' },
  '4:4:0': { sampling: [[1, 2], [1, 1], [1, 1]], color: 'ycbcr' },
  '4:1:1': { sampling: [[4, 1], [1, 1], [1, 1]], color: 'ycbcr' },
  '2x2 1x2': { sampling: [[2, 2], [1, 2], [1, 2]], color: 'ycbcr' },
  'gray': { sampling: [[1, 1]], color: 'gray' },
  'gray 2x2': { sampling: [[2, 2]], color: 'gray' },
  'rgb': { sampling: [[1, 1], [1, 1], [1, 1]], color: 'rgb' },
  'rgb 4:2:0': { sampling: [[2, 2], [1, 1], [1, 1]], color: 'rgb' },
  'cmyk': { sampling: [[1, 1], [1, 1], [1, 1], [1, 1]], color: 'cmyk' },
  'cmyk 4:2:0, K full': { sampling: [[2, 2], [1, 1], [1, 1], [2, 2]], color: 'cmyk' },
  'ycck 4:2:2, K full': { sampling: [[2, 1], [1, 1], [1, 1], [2, 1]], color: 'ycck' },
  'ycck 4:2:0, K subsampled': { sampling: [[2, 2], [1, 1], [1, 1], [1, 1]], color: 'ycck' },
};

/** Coefficients for `spec`, laid out as the contract in coefficients.ts says, drawn from `random`. */
export function syntheticCoefficients(random: () => number, spec: SyntheticJpeg): JpegCoefficients {
  const { width, height, sampling, kind = 'photo' } = spec;
  const maxH = Math.max(...sampling.map(([h]) => h));
  const maxV = Math.max(...sampling.map(([, v]) => v));
  const mcusWide = Math.ceil(width / (8 * maxH));
  const mcusHigh = Math.ceil(height / (8 * maxV));
  let firstBlock = 0;
  const components = sampling.map(([h, v]) => {
    const c = { h, v, blocksWide: mcusWide * h, blocksHigh: mcusHigh * v, firstBlock };
    firstBlock += c.blocksWide * c.blocksHigh;
    return c;
  });
  const int = (n: number) => Math.floor(random() * n);
  const quantTables = new Uint16Array(sampling.length * 64).map((_, i) =>
    kind === 'wild' ? 1 + int(65535) : 1 + int(8 + 6 * ((i % 8) + ((i >> 3) % 8))),
  );
  const coefficients = new Int16Array(firstBlock * 64);
  for (let b = 0, c = 0; b < firstBlock; b++) {
    if (c + 1 < components.length && b >= components[c + 1].firstBlock) c++;
    const shape = random(); // some blocks DC only, some with one AC row or column, most sparse
    for (let k = 0; k < 64; k++) {
      const q = quantTables[c * 64 + k];
      const [u, v] = [k % 8, k >> 3];
      let value: number;
      if (kind === 'wild') value = int(65536) - 32768;
      else if (k === 0) value = Math.round((random() * 2040 - 1024) / q);
      else if (shape < 0.2 || (shape < 0.3 && v > 0) || (shape < 0.4 && u > 0)) value = 0;
      else value = random() < 0.6 / (1 + u + v) ? Math.round(((random() - 0.5) * 700) / (q * (1 + (u + v) / 2))) : 0;
      coefficients[b * 64 + k] = value;
    }
  }
  const color = spec.color ?? (sampling.length === 1 ? 'gray' : 'ycbcr');
  return { width, height, maxH, maxV, color, components, coefficients, quantTables, orientation: spec.orientation ?? 1 };
}
