/**
 * A URL (or text that failed to parse as one) fit for a message: userinfo becomes `…@` and a
 * query or fragment becomes `?…`, since either may hold a credential (`user:password@`,
 * `s3://KEY:SECRET@bucket`, a presigned `?X-Amz-Signature=`). Scheme, host and path stay, so
 * the message still says which URL it is about.
 */
export function redactUrl(text: string): string {
  const cut = text.search(/[?#]/);
  const bare = cut < 0 ? text : `${text.slice(0, cut)}?…`;
  // What follows `scheme:` (WHATWG parsers accept `http:user@host` and `\` for `/`) or a leading `//`.
  const m = /^((?:[A-Za-z][A-Za-z0-9+.-]+:)[/\\]*|[/\\]{2})([^]*)$/.exec(bare);
  if (!m) return bare;
  const [, head, rest] = m;
  const slash = rest.search(/[/\\]/);
  const authority = slash < 0 ? rest : rest.slice(0, slash);
  // The userinfo ends at the authority's last `@`. A secret holding `/` (AWS secret keys may)
  // ends the authority early: `key:secr` then `et@host`, so an authority with a `:` that is no
  // port means the userinfo runs to the last `@`.
  let at = authority.lastIndexOf('@');
  if (at < 0 && authority.includes(':') && !/:\d*$/.test(authority)) at = rest.lastIndexOf('@');
  return at < 0 ? bare : `${head}…@${rest.slice(at + 1)}`;
}

/** `text` with every URL in it passed through redactUrl: a last guard on messages people see. */
export function redactUrls(text: string): string {
  return text.replace(/\b[A-Za-z][A-Za-z0-9+.-]+:\/\/[^\s"'`<>]+/g, redactUrl);
}
