"""An independent safetensors reader and writer, standard library only (json + struct).

  python3 read_safetensors.py read FILE    prints the file as JSON
  python3 read_safetensors.py write FILE   writes a fixed sample file, prints it as JSON

The JSON is {"metadata": {...}, "tensors": {name: {"dtype", "shape", "values"}}}, values
flattened row-major; I64 and U64 as decimal strings (beyond 2^53 for JavaScript), non-finite floats
as "nan", "inf", "-inf" (not JSON).
"""
import json
import math
import struct
import sys

FORMATS = {'F64': 'd', 'F32': 'f', 'F16': 'e', 'I64': 'q', 'U64': 'Q', 'I32': 'i', 'U32': 'I',
           'I16': 'h', 'U16': 'H', 'I8': 'b', 'U8': 'B', 'BOOL': '?'}
SIZES = {'BF16': 2, 'F8_E5M2': 1, 'F8_E4M3': 1, **{d: struct.calcsize('<' + f) for d, f in FORMATS.items()}}


def e4m3(b):
    # OCP float8 E4M3 (fn): 4 exponent bits, bias 7, 3 mantissa bits, no infinities, all ones NaN.
    sign, exponent, mantissa = (-1.0 if b & 0x80 else 1.0), (b >> 3) & 15, b & 7
    if exponent == 15 and mantissa == 7:
        return math.nan
    return sign * math.ldexp(mantissa / 8, -6) if exponent == 0 else sign * math.ldexp(1 + mantissa / 8, exponent - 7)


def unpack(dtype, raw):
    if dtype == 'BF16':  # the top half of a float32
        return [struct.unpack('<f', b'\0\0' + raw[i:i + 2])[0] for i in range(0, len(raw), 2)]
    if dtype == 'F8_E5M2':  # the top half of a float16
        return [struct.unpack('<e', b'\0' + raw[i:i + 1])[0] for i in range(len(raw))]
    if dtype == 'F8_E4M3':
        return [e4m3(b) for b in raw]
    return list(struct.unpack('<%d%s' % (len(raw) // SIZES[dtype], FORMATS[dtype]), raw))


def to_json(dtype, values):
    if dtype in ('I64', 'U64'):
        return [str(v) for v in values]
    if dtype in ('F64', 'F32', 'F16', 'BF16', 'F8_E5M2', 'F8_E4M3'):
        return [v if math.isfinite(v) else ('nan' if math.isnan(v) else ('inf' if v > 0 else '-inf')) for v in values]
    return values


def read(path):
    with open(path, 'rb') as f:
        data = f.read()
    (n,) = struct.unpack('<Q', data[:8])
    header = json.loads(data[8:8 + n].decode('utf-8'))
    buffer = data[8 + n:]
    metadata = header.pop('__metadata__', {})
    tensors, end = {}, 0
    for name, info in sorted(header.items(), key=lambda kv: kv[1]['data_offsets']):
        begin, stop = info['data_offsets']
        count = math.prod(info['shape'])
        assert begin == end, '%s starts at %d, the previous tensor ends at %d' % (name, begin, end)
        assert stop - begin == count * SIZES[info['dtype']], '%s: offsets do not match dtype and shape' % name
        end = stop
        values = unpack(info['dtype'], buffer[begin:stop])
        tensors[name] = {'dtype': info['dtype'], 'shape': info['shape'], 'values': to_json(info['dtype'], values)}
    assert end == len(buffer), '%d trailing bytes' % (len(buffer) - end)
    return {'metadata': metadata, 'tensors': tensors}


def write(path):
    # Unsorted, unpadded, metadata last: a writer unlike ours, which readers must accept too.
    tensors = [
        ('mask', 'BOOL', [3], [True, False, True]),
        ('weight', 'F32', [2, 3], [0.5, -1.25, 3.0, 1e-8, -0.0, 65504.0]),
        ('half', 'F16', [2], [1.5, -2.0]),
        ('ids', 'I64', [2], [-3, 2 ** 60 + 1]),
        ('bias', 'F64', [], [math.pi]),
        ('codes', 'U16', [2, 2], [0, 1, 65535, 300]),
        ('empty', 'I32', [0, 4], []),
    ]
    header, chunks, offset = {}, [], 0
    for name, dtype, shape, values in tensors:
        raw = struct.pack('<%d%s' % (len(values), FORMATS[dtype]), *values)
        header[name] = {'dtype': dtype, 'shape': shape, 'data_offsets': [offset, offset + len(raw)]}
        chunks.append(raw)
        offset += len(raw)
    header['__metadata__'] = {'format': 'pt', 'note': 'écrit par Python'}
    text = json.dumps(header, ensure_ascii=False).encode('utf-8')
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(text)) + text + b''.join(chunks))
    return read(path)


if __name__ == '__main__':
    command, path = sys.argv[1], sys.argv[2]
    print(json.dumps(read(path) if command == 'read' else write(path)))
