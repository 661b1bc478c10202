// Whole URLs (what linked tensors name) as a transport's folder and a file name in it.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { openTransportNode } from '../../src/node.js';
import { splitUrl, urlSource } from '../../src/source/urls.js';

const dir = mkdtempSync(join(tmpdir(), 'edgelake-urls-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** What splitUrl throws for `url`. */
function refusal(url: string): unknown {
  try {
    splitUrl(url);
  } catch (e) {
    return e;
  }
  throw new Error(`${url} was not refused`);
}

describe('splitUrl', () => {
  it('decodes the file name of an http(s):// or file:// URL, and keeps an http query, which may sign it', () => {
    expect(splitUrl('https://host/my%20dir/a%20b.jpg?sig=x%2B#part')).toEqual(['https://host/my%20dir/?sig=x%2B', 'a b.jpg']);
    expect(splitUrl('file:///data/my%20dir/%C3%A9t%C3%A9.jpg')).toEqual(['file:///data/my%20dir/', 'été.jpg']);
    expect(splitUrl('file:///data/a%23b%3Fc.jpg?x#y')).toEqual(['file:///data/', 'a#b?c.jpg']);
    // A path is no URL: its name is as written.
    expect(splitUrl('/data/100%.jpg')).toEqual(['/data/', '100%.jpg']);
  });

  it('refuses, naming the URL without its secrets, a name that decodes to no file name or to another path', () => {
    expect(refusal('https://user:pw@host/dir/100%.jpg?sig=s')).toMatchObject({
      code: 'invalid-input',
      message: `"https://…@host/dir/100%.jpg?…" has a '%' in its file name that starts no UTF-8 escape (a '%' itself is written %25)`,
    });
    expect(refusal('http://host/caf%E9.jpg')).toMatchObject({ code: 'invalid-input', message: expect.stringContaining('"http://host/caf%E9.jpg"') });
    expect(refusal('http://host/dir/a%2Fb.jpg')).toMatchObject({ code: 'invalid-input', message: expect.stringMatching(/"http:\/\/host\/dir\/a%2Fb\.jpg" has an encoded '\/' \(%2F\)/) });
    expect(refusal('file:///data/a%2fb.jpg')).toMatchObject({ code: 'invalid-input' });
    expect(refusal('https://host/dir/')).toMatchObject({ code: 'invalid-input', message: '"https://host/dir/" names a folder, not a file' });
  });
});

describe('urlSource', () => {
  it('reads a file:// URL as Node writes it (pathToFileURL) from the file it names', async () => {
    writeFileSync(join(dir, 'été #1.jpg'), 'the summer one');
    writeFileSync(join(dir, '%C3%A9t%C3%A9%20%231.jpg'), 'not this one');
    const files = urlSource((folder) => openTransportNode(folder));
    const bytes = await files.read(pathToFileURL(join(dir, 'été #1.jpg')).href);
    expect(new TextDecoder().decode(bytes)).toBe('the summer one');
  });
});
