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
  first: HTMLButtonElement;
  prev: HTMLButtonElement;
  next: HTMLButtonElement;
  last: HTMLButtonElement;
  /** The page number, typed to go there. */
  pageNumber: HTMLInputElement;
  /** "of 1,459". */
  pages: HTMLElement;
  /** "1–48 of 70,000". */
  position: HTMLElement;
}

export interface GridHandlers {
  /** A page the user asked for could not be read; the grid and pager stay on the page shown. */
  error(e: unknown): void;
  /** The user turned to `page` and it is drawn. */
  turned(page: number): void;
}

/**
 * A page of thumbnails with their class names, and a pager (first, prev, a page number, next,
 * last, and the arrow keys). Each page reads only its own samples' chunks; a page asked for while
 * another loads wins, and the older one is dropped. The pager shows the page asked for while it
 * loads, and goes back to the page on screen if it fails.
 */
export class Grid {
  /** What was asked for last. */
  private listing?: Listing;
  private page = 0;
  /** What the grid draws now. */
  private onScreen?: { listing: Listing; page: number };
  private shown = 0;

  constructor(
    private readonly els: GridElements,
    private readonly image: string,
    private readonly label: string | undefined,
    private readonly pageSize: number,
    private readonly on: GridHandlers,
  ) {
    els.first.addEventListener('click', () => this.turn(0));
    els.prev.addEventListener('click', () => this.turn(this.page - 1));
    els.next.addEventListener('click', () => this.turn(this.page + 1));
    els.last.addEventListener('click', () => this.turn(Infinity));
    els.pageNumber.addEventListener('change', () => this.turn(Number.isNaN(els.pageNumber.valueAsNumber) ? this.page : els.pageNumber.valueAsNumber - 1));
    document.addEventListener('keydown', (e) => {
      if (e.altKey || e.ctrlKey || e.metaKey || e.shiftKey || typing(e.target)) return; // Alt+← is the browser's Back
      if (e.key === 'ArrowLeft') this.turn(this.page - 1);
      if (e.key === 'ArrowRight') this.turn(this.page + 1);
    });
    this.renderPager();
  }

  /**
   * Shows page `page` of `listing`: true once drawn, false when dropped for a newer page. On a
   * failure the pager returns to the page on screen, and the error is thrown.
   */
  async show(listing: Listing, page = 0): Promise<boolean> {
    const turn = ++this.shown;
    this.listing = listing;
    this.page = this.clamp(listing, page);
    this.renderPager();
    this.els.grid.setAttribute('aria-busy', 'true');
    const from = this.page * this.pageSize;
    try {
      const thumbs = await loadThumbs(listing.dataset, listing.ids(from, Math.min(listing.length, from + this.pageSize)), this.image, this.label);
      if (turn !== this.shown) return false;
      const names = this.label ? listing.dataset.tensor(this.label).classNames : undefined;
      this.els.grid.replaceChildren(...thumbs.map((t) => cell(t, names)));
      this.els.grid.dataset.page = String(this.page);
      this.onScreen = { listing, page: this.page };
      return true;
    } catch (e) {
      if (turn !== this.shown) return false; // a newer page decides what is shown, and reports its own failure
      ({ listing: this.listing, page: this.page } = this.onScreen ?? { listing: undefined, page: 0 });
      this.renderPager();
      throw e;
    } finally {
      if (turn === this.shown) this.els.grid.setAttribute('aria-busy', 'false');
    }
  }

  /** Page `page` of what the grid pages through now (Back and Forward); false when there is nothing to page. */
  async goTo(page: number): Promise<boolean> {
    return this.listing ? this.show(this.listing, page) : false;
  }

  /** Nothing on screen (a query failed): no older answer left under its error. */
  clear(): void {
    this.shown++;
    this.listing = this.onScreen = undefined;
    this.els.grid.replaceChildren();
    delete this.els.grid.dataset.page;
    this.els.grid.setAttribute('aria-busy', 'false');
    this.renderPager();
  }

  /** A page the user asked for: its failure reported, its success told (for the URL). */
  private turn(page: number): void {
    if (!this.listing || this.clamp(this.listing, page) === this.page) return this.renderPager(); // the number box shows the page again
    this.goTo(page).then((drawn) => drawn && this.on.turned(this.page), (e: unknown) => this.on.error(e));
  }

  private clamp(listing: Listing, page: number): number {
    return Math.min(Math.max(0, Math.floor(page) || 0), this.pageCount(listing) - 1);
  }

  private pageCount(listing: Listing): number {
    return Math.max(1, Math.ceil(listing.length / this.pageSize));
  }

  private renderPager(): void {
    const { listing, page, els } = this;
    const pages = listing ? this.pageCount(listing) : 0;
    const from = page * this.pageSize;
    const to = listing ? Math.min(listing.length, from + this.pageSize) : 0;
    els.position.textContent = !listing ? '' : listing.length === 0 ? 'no samples' : `${(from + 1).toLocaleString('en')}–${to.toLocaleString('en')} of ${listing.length.toLocaleString('en')}`;
    els.first.disabled = els.prev.disabled = page === 0;
    els.next.disabled = els.last.disabled = page >= pages - 1;
    els.pageNumber.disabled = pages <= 1;
    els.pageNumber.max = String(Math.max(1, pages));
    els.pageNumber.value = String(page + 1);
    els.pages.textContent = `of ${Math.max(1, pages).toLocaleString('en')}`;
  }
}

/** Keys typed into a field are the field's, not the pager's. */
function typing(target: EventTarget | null): boolean {
  return target instanceof HTMLElement && (target.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(target.tagName));
}

function cell(thumb: Thumb, names: readonly string[] | undefined): HTMLElement {
  const figure = document.createElement('figure');
  figure.dataset.id = String(thumb.id);
  const name = thumb.label === undefined ? undefined : className(names, thumb.label);
  const caption = document.createElement('figcaption');
  caption.textContent = name ?? `#${thumb.id}`;
  caption.title = caption.textContent; // a name cut off by the cell's width, in full
  if (name !== undefined) figure.dataset.label = name;
  const canvas = draw(thumb);
  canvas.setAttribute('role', 'img');
  canvas.setAttribute('aria-label', name === undefined ? `sample ${thumb.id}` : `${name}, sample ${thumb.id}`);
  figure.append(canvas, caption);
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
