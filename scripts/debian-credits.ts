// Licences and copyrights of Debian packages' files, for the provenance of the data sets we build from them.
import { readFileSync } from 'node:fs';

/** Licence and copyright of a package's files, from its machine-readable (DEP-5) copyright file; the last matching stanza wins. */
export function readCredits(pkg: string): (file: string) => { license: string; copyright: string } {
  const path = `/usr/share/doc/${pkg}/copyright`;
  const stanzas = readFileSync(path, 'utf8').split(/\n\s*\n/).map(parseStanza).filter((s) => s.Files && s.License);
  const glob = (p: string) => new RegExp(`^${p.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`);
  return (file) => {
    const match = stanzas.filter((s) => s.Files.split(/\s+/).some((p) => glob(p).test(file))).at(-1);
    if (!match) throw new Error(`${path} says nothing about ${file}`);
    return { license: match.License.split('\n')[0].trim(), copyright: match.Copyright.split('\n').map((l) => l.trim()).filter(Boolean).join('; ') };
  };
}

function parseStanza(text: string): Record<string, string> {
  const fields: Record<string, string> = {};
  let key = '';
  for (const line of text.split('\n')) {
    const m = /^([A-Za-z-]+):\s*(.*)$/.exec(line);
    if (m) fields[(key = m[1])] = m[2];
    else if (key && /^\s/.test(line)) fields[key] += `\n${line.trim()}`;
  }
  return fields;
}
