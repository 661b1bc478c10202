import type { Dataset } from '../index.js';
import { className } from './palette.js';
import { FIT_PX, loadThumbs, type Thumb } from './samples.js';

/**
 * What the grid pages through: every sample, or a query's answer, without listing them all up
 * front; with the dataset its ids index (a query `from ref '…'` answers in another version).
 */
export interface Listing {
  dataset: Dataset;
  length: number;
  ids(from: number, to: number): Uint32Array;
}

export const everySample = (dataset: Dataset): Listing => ({ dataset, length: dataset.length, ids: (from, to) => Uint32Array.from({ length: to - from }, (_, i) => from + i) });
export const listOf = (ids: Uint32Array, dataset: Dataset): Listing => ({ dataset, length: ids.length, ids: (from, to) => ids.subarray(from, to) });

export interface GridElements {
  grid: HTMLElement;
  prev: HTMLButtonElement;
  next: HTMLButtonElement;
  /** "1–48 of 70,000". */
  position: HTMLElement;
}

/**
 * A page of thumbnails with their class names, and prev/next. Each page reads only its own
 * samples' chunks; a page asked for while another loads wins, and the older one is dropped.
 */
export class Grid {
  private listing?: Listing;
  private page = 0;
  private shown = 0;

  constructor(
    private readonly els: GridElements,
    private readonly image: string,
    private readonly label: string | undefined,
    private readonly pageSize: number,
  ) {
    els.prev.addEventListener('click', () => void (this.listing && this.show(this.listing, this.page - 1)));
    els.next.addEventListener('click', () => void (this.listing && this.show(this.listing, this.page + 1)));
  }

  /** Shows page `page` of `listing`; resolves once it is drawn (or dropped for a newer one). */
  async show(listing: Listing, page = 0): Promise<void> {
    const pages = Math.max(1, Math.ceil(listing.length / this.pageSize));
    this.listing = listing;
    this.page = Math.min(Math.max(0, page), pages - 1);
    const turn = ++this.shown;
    const from = this.page * this.pageSize;
    const to = Math.min(listing.length, from + this.pageSize);
    this.els.position.textContent = listing.length === 0 ? 'no samples' : `${(from + 1).toLocaleString('en')}–${to.toLocaleString('en')} of ${listing.length.toLocaleString('en')}`;
    this.els.prev.disabled = this.page === 0;
    this.els.next.disabled = this.page >= pages - 1;
    this.els.grid.setAttribute('aria-busy', 'true');
    try {
      const thumbs = await loadThumbs(listing.dataset, listing.ids(from, to), this.image, this.label);
      if (turn !== this.shown) return;
      const names = this.label ? listing.dataset.tensor(this.label).classNames : undefined;
      this.els.grid.replaceChildren(...thumbs.map((t) => cell(t, names)));
      this.els.grid.dataset.page = String(this.page);
    } finally {
      if (turn === this.shown) this.els.grid.setAttribute('aria-busy', 'false');
    }
  }
}

function cell(thumb: Thumb, names: readonly string[] | undefined): HTMLElement {
  const figure = document.createElement('figure');
  figure.dataset.id = String(thumb.id);
  const caption = document.createElement('figcaption');
  caption.textContent = thumb.label === undefined ? `#${thumb.id}` : className(names, thumb.label);
  caption.title = `sample ${thumb.id}`;
  if (thumb.label !== undefined) figure.dataset.label = caption.textContent;
  figure.append(draw(thumb), caption);
  return figure;
}

/** The thumbnail on a canvas: small images at their own size (CSS scales them up, pixelated), big ones drawn down. */
function draw(t: Thumb): HTMLCanvasElement {
  const rgba = new Uint8ClampedArray(t.width * t.height * 4);
  for (let p = 0; p < t.width * t.height; p++) {
    const s = p * t.channels;
    const [r, g, b] = t.channels >= 3 ? [t.data[s], t.data[s + 1], t.data[s + 2]] : [t.data[s], t.data[s], t.data[s]];
    rgba.set([r, g, b, t.channels === 2 || t.channels === 4 ? t.data[s + t.channels - 1] : 255], p * 4);
  }
  const image = new ImageData(rgba, t.width, t.height);
  const canvas = document.createElement('canvas');
  const scale = Math.min(1, FIT_PX / Math.max(t.width, t.height)); // big fixed-size images drawn down, as photos are fitted
  canvas.width = Math.max(1, Math.round(t.width * scale));
  canvas.height = Math.max(1, Math.round(t.height * scale));
  const ctx = canvas.getContext('2d')!;
  if (scale === 1) ctx.putImageData(image, 0, 0);
  else {
    const full = new OffscreenCanvas(t.width, t.height);
    full.getContext('2d')!.putImageData(image, 0, 0);
    ctx.drawImage(full, 0, 0, canvas.width, canvas.height);
  }
  canvas.classList.toggle('pixelated', scale === 1);
  return canvas;
}
