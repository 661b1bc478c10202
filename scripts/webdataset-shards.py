#!/usr/bin/env python3
"""Writes IDX images and labels as WebDataset tar shards (KEY.png + KEY.cls per sample) with
Python's own tarfile and zlib only: an independent writer for edgelake's WebDataset reader.

  python3 scripts/webdataset-shards.py IMAGES.gz LABELS.gz OUT_DIR PREFIX SHARDS [FIRST_KEY]

writes OUT_DIR/PREFIX-000.tar ... (SHARDS of them, samples split evenly, in order).
"""
import gzip, io, struct, sys, tarfile, zlib

def idx(path):
    with gzip.open(path, 'rb') as f:
        data = f.read()
    dims = data[3]
    shape = struct.unpack('>' + 'I' * dims, data[4:4 + 4 * dims])
    return shape, data[4 + 4 * dims:]

def png(gray, w, h):
    raw = b''.join(b'\x00' + gray[y * w:(y + 1) * w] for y in range(h))
    def chunk(kind, body):
        return struct.pack('>I', len(body)) + kind + body + struct.pack('>I', zlib.crc32(kind + body) & 0xffffffff)
    return b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', w, h, 8, 0, 0, 0, 0)) + chunk(b'IDAT', zlib.compress(raw, 9)) + chunk(b'IEND', b'')

def main():
    images, labels, out, prefix, shards = sys.argv[1:6]
    first = int(sys.argv[6]) if len(sys.argv) > 6 else 0
    (n, h, w), pixels = idx(images)
    (m,), classes = idx(labels)
    assert n == m, f'{n} images but {m} labels'
    shards = int(shards)
    per = -(-n // shards)
    for s in range(shards):
        with tarfile.open(f'{out}/{prefix}-{s:03d}.tar', 'w') as tar:
            for i in range(s * per, min(n, (s + 1) * per)):
                key = f'{first + i:06d}'
                for ext, body in (('png', png(pixels[i * h * w:(i + 1) * h * w], w, h)), ('cls', str(classes[i]).encode())):
                    info = tarfile.TarInfo(f'{key}.{ext}')
                    info.size = len(body)
                    tar.addfile(info, io.BytesIO(body))

main()
