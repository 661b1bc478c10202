import { Loader, type Dataset } from '../index.js';
import { className, classColour } from './palette.js';

/** Samples per class, reading the label tensor alone (a few small chunks, never an image). */
export async function countClasses(ds: Dataset, label: string): Promise<number[]> {
  const counts: number[] = new Array<number>(ds.tensor(label).classNames?.length ?? 0).fill(0);
  for await (const b of new Loader(ds.view(), { batchSize: 65_536, tensors: [label] })) {
    const labels = b.tensors[label] as ArrayLike<number>;
    for (let i = 0; i < labels.length; i++) if (labels[i] >= 0) counts[labels[i]] = (counts[labels[i]] ?? 0) + 1;
  }
  return Array.from(counts, (c) => c ?? 0); // a label past the names leaves holes below it
}

/**
 * One row per class: its colour (as in the scatter), name, count and a bar with its share as text.
 * Every named class has a row (an empty class is worth seeing); other labels only where they occur.
 */
export function renderCounts(table: HTMLTableElement, counts: number[], names: readonly string[] | undefined): void {
  const most = Math.max(1, ...counts);
  const total = counts.reduce((a, c) => a + c, 0);
  const rows = counts.flatMap((count, label) => (label < (names?.length ?? 0) || count > 0 ? [row(label, count, names, count / most, count / Math.max(1, total))] : []));
  table.tBodies[0].replaceChildren(...(rows.length ? rows : [noLabels()]));
}

function row(label: number, count: number, names: readonly string[] | undefined, width: number, share: number): HTMLTableRowElement {
  const name = className(names, label);
  const tr = document.createElement('tr');
  tr.dataset.class = name;
  tr.dataset.count = String(count);
  const swatch = document.createElement('span');
  swatch.className = 'swatch';
  swatch.style.background = classColour(label);
  const bar = document.createElement('span');
  bar.className = 'bar';
  bar.style.width = `${100 * width}%`;
  bar.style.background = classColour(label);
  bar.title = `${(100 * share).toFixed(1)}% of the samples`;
  bar.setAttribute('role', 'img');
  bar.setAttribute('aria-label', bar.title);
  const cells = [[swatch, document.createTextNode(name)], [document.createTextNode(count.toLocaleString('en'))], [bar]];
  tr.append(...cells.map((children) => {
    const td = document.createElement('td');
    td.append(...children);
    return td;
  }));
  tr.cells[0].className = 'name';
  tr.cells[0].title = name; // a name cut off by the column, in full
  return tr;
}

function noLabels(): HTMLTableRowElement {
  const tr = document.createElement('tr');
  const td = tr.insertCell();
  td.colSpan = 3;
  td.className = 'muted';
  td.textContent = 'no sample has a label';
  return tr;
}
