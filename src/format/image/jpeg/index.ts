// Our JPEG entropy decoder: bytes to quantized DCT coefficients (src/kernels/jpeg reconstructs pixels).
export { readJpegCoefficients, type ReadJpegOptions } from './read.js';
