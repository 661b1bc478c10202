/**
 * What JSON.parse cannot say about a refs file or manifest: whether it is RFC 8259 JSON whose
 * objects have no key twice (JSON.parse keeps the last, silently), and, when it is not, where,
 * without quoting the text (it may be any file a symlink points at). A flat loop over the text
 * with an explicit stack, so deep nesting cannot overflow the call stack; time linear in the text,
 * memory bounded by the keys of the objects open at once. Returns the problem, or undefined.
 */
export function jsonProblem(text: string, maxDepth = MAX_DEPTH): string | undefined {
  try {
    new Scanner(text, maxDepth).document();
    return undefined;
  } catch (e) {
    if (e instanceof Problem) return e.message;
    throw e;
  }
}

/** edgelake/1 files nest 5 deep at most (tensors.image.chunks[0].hash); deeper is never valid. */
const MAX_DEPTH = 64;

const WHITESPACE = /[ \t\n\r]*/y;
const NUMBER = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;
const STRING_RUN = /[^"\\\u0000-\u001f]*/y;
const ESCAPE = /\\(?:["\\/bfnrt]|u[0-9A-Fa-f]{4})/y;
const LITERAL = /true|false|null/y;

class Problem extends Error {}

/** One open object (the keys it has so far) or array (null). */
type Frame = Set<string> | null;

class Scanner {
  private i = 0;
  private readonly stack: Frame[] = [];
  constructor(private readonly text: string, private readonly maxDepth: number) {}

  document(): void {
    for (;;) {
      // A value; when it opens an object or array with something inside, go on inside it.
      if (this.value()) {
        const top = this.stack[this.stack.length - 1];
        if (top) this.key(top);
        continue;
      }
      // After a value: close what it ends, or find the next member or element.
      for (;;) {
        this.skip(WHITESPACE);
        if (this.stack.length === 0) {
          if (this.i < this.text.length) this.fail('text follows the end of the JSON value');
          return;
        }
        const top = this.stack[this.stack.length - 1];
        const c = this.text[this.i];
        if (c === ',') {
          this.i++;
          if (top) this.key(top);
          break;
        }
        if (c === (top ? '}' : ']')) {
          this.i++;
          this.stack.pop();
          continue;
        }
        this.fail(`expected ',' or '${top ? '}' : ']'}' after ${top ? 'a member of an object' : 'an element of an array'}`);
      }
    }
  }

  /** A scalar, an empty object or array; or the opening of one with contents (true), pushed on the stack. */
  private value(): boolean {
    this.skip(WHITESPACE);
    const c = this.text[this.i];
    if (c === '{' || c === '[') {
      if (this.stack.length >= this.maxDepth) this.fail(`nests objects and arrays more than ${this.maxDepth} deep`);
      this.i++;
      this.skip(WHITESPACE);
      if (this.text[this.i] === (c === '{' ? '}' : ']')) {
        this.i++;
        return false;
      }
      this.stack.push(c === '{' ? new Set() : null);
      return true;
    }
    if (c === '"') this.string();
    else if (!this.skip(NUMBER) && !this.skip(LITERAL)) this.fail(this.i < this.text.length ? 'expected a value' : 'ends where a value should be');
    return false;
  }

  /** A member's key and its colon; its value is next in document()'s loop. */
  private key(keys: Set<string>): void {
    this.skip(WHITESPACE);
    const at = this.i;
    if (this.text[at] !== '"') this.fail('expected a "quoted" key');
    const raw = this.string();
    // Escapes make "a" and "\u0061" one key: decode those (the string is known valid JSON).
    const key = raw.includes('\\') ? (JSON.parse(raw) as string) : raw.slice(1, -1);
    if (keys.has(key)) {
      const shown = key.length > 80 ? `${key.slice(0, 77)}...` : key;
      this.fail(`has the key ${JSON.stringify(shown)} twice in one object`, at);
    }
    keys.add(key);
    this.skip(WHITESPACE);
    if (this.text[this.i] !== ':') this.fail("expected ':' after a key");
    this.i++;
  }

  /** A string, from its opening quote; returns it as written, quotes included. */
  private string(): string {
    const start = this.i++;
    for (;;) {
      this.skip(STRING_RUN);
      const c = this.text[this.i];
      if (c === '"') return this.text.slice(start, ++this.i);
      if (c === '\\') {
        if (!this.skip(ESCAPE)) this.fail('has a bad escape in a string');
      } else {
        this.fail(c === undefined ? 'ends inside a string' : 'has a control character in a string');
      }
    }
  }

  /** Advances past `re` at the current position; false when it matches nothing. */
  private skip(re: RegExp): boolean {
    re.lastIndex = this.i;
    const m = re.exec(this.text);
    if (!m || m[0].length === 0) return false;
    this.i += m[0].length;
    return true;
  }

  private fail(problem: string, at = this.i): never {
    let line = 1;
    let lineStart = 0;
    for (let n = this.text.indexOf('\n'); n >= 0 && n < at; n = this.text.indexOf('\n', n + 1)) {
      line++;
      lineStart = n + 1;
    }
    const column = at - lineStart + 1;
    throw new Problem(`line ${line}, column ${column}: ${problem}`);
  }
}
