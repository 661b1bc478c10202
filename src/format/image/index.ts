export { decodeImage, type DecodeImageOptions, type Pixels } from './decode-image.js';
export {
  decodeImageSync,
  resizeArea,
  mostImageType,
  sniffImageType,
  thumbnail,
  toRgb,
  type ImageType,
  type Region,
} from './image.js';
export { decodeJpeg, jpegScaleFor } from './jpeg.js';
export { decodeJpegBanded, type DecodeJpegBandedOptions, type JpegFrameSize } from './jpeg-banded.js';
export { packJpegCoefficients, unpackJpegCoefficients } from './jpeg-packed.js';
export { readJpegCoefficients, type ReadJpegOptions } from './jpeg/index.js';
export { decodePng } from './png.js';
export type { DecodedImage, DecodeOptions } from './decoded-image.js';
