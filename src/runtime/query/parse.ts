import { EdgelakeError } from '../../errors.js';

/*
 * The query language, after Deep Lake's TQL:
 *   select * [from version 'ID' | from ref 'NAME'] [where EXPR] [order by EXPR [asc|desc]] [limit N [offset M]]
 * with ORDER BY and LIMIT in either order (the rows are ordered, then M skipped and N kept).
 * EXPR: comparisons (== = != <> < <= > >=), IN (...), and / or / not, + - * / % (% keeps the
 * dividend's sign, as in SQL), numbers, strings in single quotes ('It''s': class names, compared
 * with a class label), tensors by name ("my-tensor" in double quotes for a name that is not a word
 * or is a keyword), functions (mean, min, max, sum, shape) and NumPy-style indexing and slicing:
 * image[0:14, :, 0], image[::2, ::-1].
 */

export type Expr =
  | { kind: 'number'; value: number; at: number }
  | { kind: 'string'; value: string; at: number }
  | { kind: 'tensor'; name: string; at: number }
  | { kind: 'call'; name: string; args: Expr[]; at: number }
  | { kind: 'index'; target: Expr; parts: IndexPart[]; at: number }
  | { kind: 'unary'; op: '-' | 'not'; operand: Expr; at: number }
  | { kind: 'binary'; op: string; left: Expr; right: Expr; at: number }
  | { kind: 'in'; operand: Expr; values: Expr[]; negated: boolean; at: number };

export type IndexPart = { kind: 'at'; index: Expr } | { kind: 'slice'; start?: Expr; stop?: Expr; step?: Expr };

export interface Query {
  text: string;
  from?: { kind: 'version' | 'ref'; name: string };
  where?: Expr;
  /** `at`: the column its expression starts at. */
  orderBy?: { expr: Expr; descending: boolean; at: number };
  limit?: number;
  /** Rows of the ordered answer skipped before the LIMIT rows kept. */
  offset?: number;
}

interface Token {
  /** `name`: an identifier in double quotes ("my-tensor"), as in SQL. */
  type: 'word' | 'name' | 'number' | 'string' | 'op' | 'end';
  text: string;
  /** 1-based column in the query text. */
  at: number;
}

const OPS = ['==', '!=', '<>', '<=', '>=', '<', '>', '=', '+', '-', '*', '/', '%', '(', ')', '[', ']', ',', ':'];

/** A query's text as its parts; a mistake is refused with its column and a caret under it. */
export function parseQuery(text: string): Query {
  const tokens = tokenize(text);
  let i = 0;
  const peek = () => tokens[i];
  const fail = (message: string, at = peek().at): never => {
    throw queryError(text, message, at);
  };
  const isWord = (w: string) => peek().type === 'word' && peek().text.toLowerCase() === w;
  const word = (w: string) => (isWord(w) ? (i++, true) : false);
  const expectWord = (w: string) => word(w) || fail(`expected ${w.toUpperCase()}, found ${describe(peek())}`);
  const isOp = (o: string) => peek().type === 'op' && peek().text === o;
  const op = (o: string) => (isOp(o) ? (i++, true) : false);
  const expectOp = (o: string) => op(o) || fail(`expected '${o}', found ${describe(peek())}`);

  const primary = (): Expr => {
    const t = peek();
    if (t.type === 'number') return i++, { kind: 'number', value: Number(t.text), at: t.at };
    if (t.type === 'string') return i++, { kind: 'string', value: t.text, at: t.at };
    if (t.type === 'name') return i++, { kind: 'tensor', name: t.text, at: t.at };
    if (op('(')) {
      const e = expr();
      expectOp(')');
      return e;
    }
    if (t.type === 'word' && !KEYWORDS.has(t.text.toLowerCase())) {
      i++;
      if (!op('(')) return { kind: 'tensor', name: t.text, at: t.at };
      const args: Expr[] = [];
      if (!op(')')) {
        do args.push(expr());
        while (op(','));
        expectOp(')');
      }
      return { kind: 'call', name: t.text.toLowerCase(), args, at: t.at };
    }
    return fail(`expected a value, a tensor or '(', found ${describe(t)}`);
  };
  const postfix = (): Expr => {
    let e = primary();
    while (isOp('[')) {
      const at = peek().at;
      i++;
      const parts: IndexPart[] = [];
      const bound = (): Expr | undefined => (isOp(':') || isOp(',') || isOp(']') ? undefined : expr());
      do {
        const start = bound();
        if (op(':')) {
          const stop = bound();
          parts.push({ kind: 'slice', start, stop, step: op(':') ? bound() : undefined });
        } else if (start) parts.push({ kind: 'at', index: start });
        else fail('expected an index or a slice');
      } while (op(','));
      expectOp(']');
      e = { kind: 'index', target: e, parts, at };
    }
    return e;
  };
  const unary = (): Expr => {
    const at = peek().at;
    return op('-') ? { kind: 'unary', op: '-', operand: unary(), at } : postfix();
  };
  const binary = (next: () => Expr, ops: string[]) => (): Expr => {
    let left = next();
    for (let t = peek(); t.type === 'op' && ops.includes(t.text); t = peek()) {
      i++;
      left = { kind: 'binary', op: t.text, left, right: next(), at: t.at };
    }
    return left;
  };
  const product = binary(unary, ['*', '/', '%']);
  const sum = binary(product, ['+', '-']);
  const comparison = (): Expr => {
    const left = sum();
    const t = peek();
    if (t.type === 'op' && ['==', '=', '!=', '<>', '<', '<=', '>', '>='].includes(t.text)) {
      i++;
      const name = t.text === '=' ? '==' : t.text === '<>' ? '!=' : t.text;
      return { kind: 'binary', op: name, left, right: sum(), at: t.at };
    }
    const negated = isWord('not') && tokens[i + 1]?.type === 'word' && tokens[i + 1].text.toLowerCase() === 'in';
    if (negated) i++;
    if (word('in')) {
      expectOp('(');
      const values: Expr[] = [];
      do values.push(sum());
      while (op(','));
      expectOp(')');
      return { kind: 'in', operand: left, values, negated, at: t.at };
    }
    return left;
  };
  const not = (): Expr => {
    const at = peek().at;
    return word('not') ? { kind: 'unary', op: 'not', operand: not(), at } : comparison();
  };
  const and = (): Expr => {
    let left = not();
    for (let at = peek().at; word('and'); at = peek().at) left = { kind: 'binary', op: 'and', left, right: not(), at };
    return left;
  };
  const expr = (): Expr => {
    let left = and();
    for (let at = peek().at; word('or'); at = peek().at) left = { kind: 'binary', op: 'or', left, right: and(), at };
    return left;
  };

  const whole = (clause: string): number => {
    const n = peek();
    if (n.type !== 'number' || !/^\d+$/.test(n.text)) fail(`expected a whole number after ${clause}, found ${describe(n)}`);
    i++;
    return Number(n.text);
  };

  const query: Query = { text };
  expectWord('select');
  expectOp('*');
  const start = i;
  if (word('from')) {
    const kind = word('version') ? 'version' : word('ref') ? 'ref' : fail(`expected VERSION or REF after FROM, found ${describe(peek())}`);
    const name = peek();
    if (name.type !== 'string' && name.type !== 'name') fail(`expected the ${kind} in quotes, found ${describe(name)}`);
    i++;
    query.from = { kind, name: name.text };
  }
  if (word('where')) query.where = expr();
  // ORDER BY and LIMIT [OFFSET] in either order, as Deep Lake's examples write them; the rows are ordered first either way.
  let last: 'order' | 'limit' | undefined;
  for (;;) {
    if (!query.orderBy && word('order')) {
      expectWord('by');
      const at = peek().at;
      const e = expr();
      query.orderBy = { expr: e, descending: word('desc') ? true : (word('asc'), false), at };
      last = 'order';
    } else if (query.limit === undefined && word('limit')) {
      query.limit = whole('LIMIT');
      if (word('offset')) query.offset = whole('OFFSET');
      last = 'limit';
    } else break;
  }
  if (peek().type !== 'end') {
    const next = [
      i === start && 'FROM',
      !query.where && !last && 'WHERE',
      last === 'limit' && query.offset === undefined && 'OFFSET',
      !query.orderBy && 'ORDER BY',
      query.limit === undefined && 'LIMIT',
    ].filter(Boolean);
    fail(`expected ${next.length > 0 ? `${next.join(', ')} or ` : ''}the end of the query, found ${describe(peek())}`);
  }
  return query;
}

// OFFSET is no keyword: it only follows LIMIT N, so a tensor named offset needs no quotes.
const KEYWORDS = new Set(['select', 'from', 'where', 'order', 'by', 'asc', 'desc', 'limit', 'and', 'or', 'not', 'in', 'version', 'ref']);

/** A tensor's name as a query writes it: bare when it is a word, in double quotes otherwise ("my-tensor"). */
export function nameInQuery(name: string): string {
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(name) && !KEYWORDS.has(name.toLowerCase()) ? name : `"${name.replaceAll('"', '""')}"`;
}

function describe(t: Token): string {
  return t.type === 'end' ? 'the end of the query' : t.type === 'name' ? `"${t.text}"` : `'${t.text}'`;
}

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  for (let i = 0; i < text.length; ) {
    const c = text[i];
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    const at = i + 1;
    const number = /^(\d+\.?\d*|\.\d+)(e[+-]?\d+)?/i.exec(text.slice(i));
    if (number) {
      tokens.push({ type: 'number', text: number[0], at });
      i += number[0].length;
    } else if (c === "'" || c === '"') {
      // SQL's escape: the quote doubled inside the string ('It''s').
      let end = i;
      do end = text.indexOf(c, end + 1);
      while (end >= 0 && text[end + 1] === c && (end += 1));
      if (end < 0) throw queryError(text, c === "'" ? 'a string that never ends' : 'a name in double quotes that never ends', at);
      // Single quotes make a string (a class name); double quotes a name (a tensor), as in SQL.
      tokens.push({ type: c === "'" ? 'string' : 'name', text: text.slice(i + 1, end).replaceAll(c + c, c), at });
      i = end + 1;
    } else if (/[A-Za-z_]/.test(c)) {
      const w = /^[A-Za-z_][A-Za-z0-9_]*/.exec(text.slice(i))![0];
      tokens.push({ type: 'word', text: w, at });
      i += w.length;
    } else {
      const o = OPS.find((candidate) => text.startsWith(candidate, i));
      if (!o) throw queryError(text, `unexpected '${c}'`, at);
      tokens.push({ type: 'op', text: o, at });
      i += o.length;
    }
  }
  tokens.push({ type: 'end', text: '', at: text.length + 1 });
  return tokens;
}

/** A mistake in a query, at 1-based offset `at` of its text: its line and column, that line, and a caret under the spot. */
export function queryError(text: string, message: string, at: number): EdgelakeError {
  const start = text.lastIndexOf('\n', at - 2) + 1;
  const end = text.indexOf('\n', start);
  const line = text.slice(start, end < 0 ? undefined : end);
  const column = at - start;
  const where = text.includes('\n') ? `line ${text.slice(0, start).split('\n').length}, column ${column}` : `column ${column}`;
  const caret = line.slice(0, column - 1).replace(/[^\t]/g, ' '); // a tab stays a tab, so the caret lines up
  return new EdgelakeError('invalid-input', `query: ${message} at ${where}\n  ${line}\n  ${caret}^`);
}
