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

/** One row per class: its colour (as in the scatter), name, count and a bar. */
export function renderCounts(table: HTMLTableElement, counts: number[], names: readonly string[] | undefined): void {
  const most = Math.max(1, ...counts);
  table.tBodies[0].replaceChildren(...counts.map((count, label) => {
    const row = document.createElement('tr');
    row.dataset.class = className(names, label);
    row.dataset.count = String(count);
    const swatch = document.createElement('span');
    swatch.className = 'swatch';
    swatch.style.background = classColour(label);
    const bar = document.createElement('span');
    bar.className = 'bar';
    bar.style.width = `${(100 * count) / most}%`;
    bar.style.background = classColour(label);
    const cells = [[swatch, document.createTextNode(className(names, label))], [document.createTextNode(count.toLocaleString('en'))], [bar]];
    row.append(...cells.map((children) => {
      const td = document.createElement('td');
      td.append(...children);
      return td;
    }));
    return row;
  }));
}
