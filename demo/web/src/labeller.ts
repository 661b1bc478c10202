import type { Pick } from './run.js';

/**
 * The round's picks as a grid of small images, each with the learner's guess and uncertainty.
 * `ask`: a person accepts or corrects each label (click a card, then a class button or a key
 * 0-9; Enter accepts the rest as guessed) and the promise gives the labels. Otherwise the labels
 * are the dataset's (auto-labelling) and the grid only shows them.
 */
export function showPicks(grid: HTMLElement, palette: HTMLElement, help: HTMLElement, picks: Pick[], classNames: string[], ask: boolean): Promise<Int32Array> {
  const labels = Int32Array.from(picks, (p) => (ask ? p.guess : p.truth ?? p.guess));
  const corrected = new Set<number>();
  const cards = picks.map((p, i) => card(p, i, classNames));
  grid.replaceChildren(...cards.map((c) => c.root));
  palette.hidden = !ask;
  if (!ask) {
    const right = picks.filter((p) => p.truth === p.guess).length;
    help.textContent = `${picks.length} picked, labelled from the dataset; the learner guessed ${right} right before training on them.`;
    picks.forEach((p, i) => cards[i].show(labels[i], p.truth === undefined ? '' : p.truth === p.guess ? 'right' : 'wrong'));
    return Promise.resolve(labels);
  }

  help.textContent = 'Label these: click a picture, then its class (or press 0-9). Enter or "Accept all" keeps the guesses you did not change.';
  let focus = 0;
  const render = () => cards.forEach((c, i) => {
    c.show(labels[i], corrected.has(i) ? 'corrected' : 'guess');
    c.root.classList.toggle('focus', i === focus);
    c.root.setAttribute('aria-pressed', String(i === focus));
  });
  const accept = document.createElement('button');
  accept.type = 'button';
  accept.className = 'accept';
  accept.textContent = 'Accept all (Enter)';
  palette.replaceChildren(...classNames.map((name, c) => {
    const b = document.createElement('button');
    b.type = 'button';
    b.textContent = `${c} ${name}`;
    b.addEventListener('click', () => setLabel(c));
    return b;
  }), accept);

  const setLabel = (c: number) => {
    labels[focus] = c;
    corrected.add(focus);
    focus = Math.min(focus + 1, cards.length - 1);
    render();
  };
  render();
  cards.forEach((c, i) => c.root.addEventListener('click', () => {
    focus = i;
    render();
  }));

  return new Promise((resolve) => {
    const onKey = (e: KeyboardEvent) => {
      if ((e.target as HTMLElement | null)?.closest('input, select, textarea')) return;
      if (/^[0-9]$/.test(e.key) && Number(e.key) < classNames.length) setLabel(Number(e.key));
      else if (e.key === 'ArrowRight' || e.key === 'ArrowLeft') {
        focus = Math.max(0, Math.min(cards.length - 1, focus + (e.key === 'ArrowRight' ? 1 : -1)));
        render();
      } else if (e.key === 'Enter') done();
      else return;
      e.preventDefault();
    };
    const done = () => {
      document.removeEventListener('keydown', onKey);
      palette.hidden = true;
      help.textContent = `${corrected.size} of ${picks.length} guesses corrected.`;
      cards.forEach((c, i) => {
        c.root.classList.remove('focus');
        c.show(labels[i], corrected.has(i) ? 'corrected' : 'guess');
      });
      resolve(labels);
    };
    document.addEventListener('keydown', onKey);
    accept.addEventListener('click', done, { once: true });
  });
}

function card(p: Pick, i: number, classNames: string[]) {
  const root = document.createElement('figure');
  root.className = 'pick';
  root.tabIndex = -1;
  root.dataset.id = String(p.id);
  const canvas = document.createElement('canvas');
  const height = p.pixels.length / p.width;
  canvas.width = p.width;
  canvas.height = height;
  const image = new ImageData(p.width, height);
  p.pixels.forEach((v, k) => {
    const g = Math.round(Math.min(1, Math.max(0, v)) * 255);
    image.data.set([g, g, g, 255], k * 4);
  });
  canvas.getContext('2d')!.putImageData(image, 0, 0);
  canvas.setAttribute('role', 'img');
  canvas.setAttribute('aria-label', `sample ${p.id}`);
  const caption = document.createElement('figcaption');
  const guess = document.createElement('span');
  guess.className = 'guess';
  guess.textContent = `${classNames[p.guess] ?? p.guess}`;
  guess.title = `the learner's guess for sample ${p.id} (pick ${i + 1})`;
  const bar = document.createElement('span');
  bar.className = 'uncertainty';
  bar.style.setProperty('--u', p.uncertainty.toFixed(3));
  bar.title = `uncertainty ${p.uncertainty.toFixed(2)} (normalized entropy)`;
  bar.textContent = p.uncertainty.toFixed(2);
  const label = document.createElement('span');
  label.className = 'label';
  caption.append(guess, bar, label);
  root.append(canvas, caption);
  return {
    root,
    show(value: number, kind: 'guess' | 'corrected' | 'right' | 'wrong' | '') {
      root.dataset.kind = kind;
      label.textContent = kind === 'guess' ? '✓ accept' : kind === 'right' ? '✓ right' : `→ ${classNames[value] ?? value}`;
    },
  };
}
