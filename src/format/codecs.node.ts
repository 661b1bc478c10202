import { useSha256 } from './hash.js';
import { sha256HexNode } from './hash.node.js';
import { useInflate } from './inflate.js';
import { inflateBoundedNode } from './inflate.node.js';

/** Native zlib and node:crypto for every chunk this thread inflates and verifies (the Node entry and Node workers call it). */
export function useNodeCodecs(): void {
  useInflate(inflateBoundedNode);
  useSha256(sha256HexNode);
}
