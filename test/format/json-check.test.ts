// jsonProblem: RFC 8259 syntax and duplicate keys, checked without recursion and without quoting
// the text. JSON.parse is the independent reference for syntax: both must accept the same texts.
import { describe, expect, it } from 'vitest';
import { jsonProblem } from '../../src/format/json-check.js';
import { DEFAULT_LIMITS, parseJson, validateManifest, validateRefs } from '../../src/format/index.js';
import { mulberry32 } from '../support/random.js';
import { failure } from '../support/errors.js';

const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);
const parsesWith = (text: string): boolean => {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
};

describe('duplicate keys', () => {
  it('are refused in any object, at any depth, escaped or not, naming the key and where it is', () => {
    expect(jsonProblem('{"a": 1, "b": 2, "a": 3}')).toBe('line 1, column 18: has the key "a" twice in one object');
    expect(jsonProblem('{"t": {"x": [{"h": 1}, {"h": 2, "h": 2}]}}')).toBe('line 1, column 33: has the key "h" twice in one object');
    expect(jsonProblem('{\n  "format": 1,\n  "\\u0066ormat": 2\n}')).toBe('line 3, column 3: has the key "format" twice in one object');
    expect(jsonProblem('{"__proto__": 1, "__proto__": 2}')).toMatch(/the key "__proto__" twice/);
  });

  it('the same key in sibling or nested objects is not a duplicate', () => {
    expect(jsonProblem('{"a": {"a": {"a": 1}}, "b": [{"a": 1}, {"a": 2}], "c": {}}')).toBeUndefined();
  });
});

describe('syntax, against JSON.parse', () => {
  it('accepts and refuses what JSON.parse does, on valid JSON and on damaged copies of it', () => {
    const valid = JSON.stringify({
      format: 'edgelake/1', n: -12.5e-3, list: [0, 1, true, false, null, 'é\u2028"\\/\n\t', []], o: { k: {}, 'x y': '\ud83d\ude00' },
    }, null, 1);
    const alphabet = ['{', '}', '[', ']', ',', ':', '"', '\\', 'u', '0', '-', '.', 'e', ' ', '\n', '\u0001', 'x', 'n', 't', '1'];
    const random = mulberry32(16);
    let refused = 0;
    for (let k = 0; k < 4000; k++) {
      const at = Math.floor(random() * valid.length);
      const edit = Math.floor(random() * 3);
      const c = alphabet[Math.floor(random() * alphabet.length)];
      const text = edit === 0 ? valid.slice(0, at) + valid.slice(at + 1) : edit === 1 ? valid.slice(0, at) + c + valid.slice(at) : valid.slice(0, at) + c + valid.slice(at + 1);
      const problem = jsonProblem(text);
      const syntaxOk = problem === undefined || problem.endsWith('twice in one object'); // JSON.parse takes duplicates
      expect(syntaxOk, `${JSON.stringify(text)}: ${problem}`).toBe(parsesWith(text));
      if (problem) refused++;
    }
    expect(refused).toBeGreaterThan(1000); // the damage was real
  });

  it('says where the text goes wrong, without quoting it', () => {
    const passwd = 'root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n';
    expect(jsonProblem(passwd)).toBe('line 1, column 1: expected a value');
    expect(jsonProblem('{"a": [1, 2,\n  3 4]}')).toBe("line 2, column 5: expected ',' or ']' after an element of an array");
    expect(jsonProblem('{"a": "unterminated')).toBe('line 1, column 20: ends inside a string');
    expect(jsonProblem('')).toBe('line 1, column 1: ends where a value should be');
    expect(jsonProblem('{} {}')).toBe('line 1, column 4: text follows the end of the JSON value');
  });

  it('refuses deep nesting at once, with no stack overflow, and stays linear on 10 MB', () => {
    expect(jsonProblem('['.repeat(10_000_000))).toBe('line 1, column 65: nests objects and arrays more than 64 deep');
    expect(jsonProblem('{"a":'.repeat(1_000_000))).toMatch(/more than 64 deep/);
    expect(jsonProblem(`${'['.repeat(64)}${']'.repeat(64)}`)).toBeUndefined();
    const wide = `{"chunks": [${Array.from({ length: 100_000 }, (_, i) => `{"hash": "${i}", "bytes": ${i}, "samples": 1}`).join(',')}]}`;
    const started = performance.now();
    expect(jsonProblem(wide)).toBeUndefined();
    expect(wide.length).toBeGreaterThan(4_000_000);
    expect(performance.now() - started, 'a linear scan takes well under a second').toBeLessThan(5000);
  });
});

describe('parseJson, for refs and manifests', () => {
  const refs = (main: string) => `{"format": "edgelake/1", "name": "d", "head": "main", "refs": {"main": "${main}", "main": "${'b'.repeat(64)}"}}`;

  it('refuses duplicate keys, naming the file and the key', () => {
    const text = refs('a'.repeat(64));
    const column = text.lastIndexOf('"main"') + 1;
    expect(failure(() => validateRefs(parseJson(bytes(text), '/data/edgelake.json', DEFAULT_LIMITS))))
      .toBe(`invalid-manifest: /data/edgelake.json: not valid UTF-8 JSON (line 1, column ${column}: has the key "main" twice in one object)`);
    const manifest = '{"format": "edgelake/1", "parent": null, "message": "", "created": "2026-01-01T00:00:00Z", "length": 0, "length": 0, "splits": {}, "tensors": {}}';
    expect(failure(() => validateManifest(parseJson(bytes(manifest), 'versions/x.json', DEFAULT_LIMITS), 'versions/x.json', DEFAULT_LIMITS)))
      .toMatch(/^invalid-manifest: versions\/x\.json: .*has the key "length" twice in one object/);
  });

  it('does not quote a system file read in place of edgelake.json', () => {
    const message = failure(() => parseJson(bytes('root:x:0:0:root:/root:/bin/bash\n'), '/data/edgelake.json', DEFAULT_LIMITS));
    expect(message).toBe('invalid-manifest: /data/edgelake.json: not valid UTF-8 JSON (line 1, column 1: expected a value)');
    expect(failure(() => parseJson(Uint8Array.of(0x7b, 0xff, 0x7d), 'f.json', DEFAULT_LIMITS))).toBe('invalid-manifest: f.json: not valid UTF-8 JSON (it holds bytes that are not UTF-8)');
  });

  it('still parses what it parsed: the same value as JSON.parse', () => {
    const text = '\ufeff{"format": "edgelake/1", "name": "d", "head": "main", "refs": {"main": "' + 'a'.repeat(64) + '"}}';
    expect(parseJson(bytes(text), 'edgelake.json', DEFAULT_LIMITS)).toEqual(JSON.parse(text.slice(1)));
  });
});
