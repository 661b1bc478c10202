import type { ErrorCode } from '../../../errors.js';

/**
 * What the decoder's parts throw when the bytes are wrong: a code and a message without the
 * sample's name; readJpegCoefficients turns it into an EdgelakeError that names the sample.
 */
export class JpegProblem extends Error {
  readonly code: ErrorCode;
  constructor(message: string, code: ErrorCode = 'invalid-input') {
    super(message);
    this.name = 'JpegProblem';
    this.code = code;
  }
}

export function problem(message: string, code?: ErrorCode): never {
  throw new JpegProblem(message, code);
}

export const hex = (byte: number) => `0x${byte.toString(16).padStart(2, '0')}`;
