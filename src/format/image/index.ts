export {
  DEFAULT_MAX_PIXELS,
  decodeImage,
  resizeArea,
  sniffImageType,
  thumbnail,
  toRgb,
  type DecodedImage,
  type DecodeOptions,
  type ImageType,
  type Region,
} from './image.js';
export { decodeJpeg } from './jpeg.js';
export { decodePng } from './png.js';
