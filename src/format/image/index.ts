export {
  decodeImage,
  resizeArea,
  sniffImageType,
  thumbnail,
  toRgb,
  type ImageType,
  type Region,
} from './image.js';
export { decodeJpeg } from './jpeg.js';
export { decodePng } from './png.js';
export type { DecodedImage, DecodeOptions } from './decoded-image.js';
