import { useCrc32, useSha256 } from './hash.js';
import { crc32Node, sha256HexNode } from './hash.node.js';
import { useInflate } from './inflate.js';
import { inflateBoundedNode } from './inflate.node.js';

/** Native zlib (inflate, crc32) and node:crypto for every chunk this thread inflates and verifies (the Node entry and Node workers call it). */
export function useNodeCodecs(): void {
  useInflate(inflateBoundedNode);
  useSha256(sha256HexNode);
  if (crc32Node) useCrc32(crc32Node);
}
