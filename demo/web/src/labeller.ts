import type { Pick } from './run.js';

/**
 * The round's picks as a grid of small images, each with the learner's guess and how uncertain it
 * is. `ask`: a person labels each pick (click a card, then a class button or a key 0-9; the next
 * unlabelled card is chosen), and Enter sends the labels once every pick has one; taking the
 * model's guesses for the rest is a deliberate second button, never the default (an untrained
 * model's guesses teach it nothing). Otherwise the labels are the dataset's (auto-labelling) and
 * the grid only shows them.
 */
export function showPicks(grid: HTMLElement, palette: HTMLElement, help: HTMLElement, picks: Pick[], classNames: string[], ask: boolean): Promise<Int32Array> {
  const labels = Int32Array.from(picks, (p) => (ask ? -1 : p.truth ?? p.guess));
  const byPerson = new Set<number>();
  const cards = picks.map((p, i) => card(p, i, classNames));
  grid.replaceChildren(...cards.map((c) => c.root));
  palette.hidden = !ask;
  if (!ask) {
    const right = picks.filter((p) => p.truth === p.guess).length;
    help.textContent = `${picks.length} picked, labelled from the dataset; the learner guessed ${right} right before training on them.`;
    picks.forEach((p, i) => cards[i].show(labels[i], p.truth === undefined ? '' : p.truth === p.guess ? 'right' : 'wrong'));
    return Promise.resolve(labels);
  }

  const left = () => picks.length - byPerson.size;
  const prompt = () => {
    help.textContent = left()
      ? `Label each picture: click it, then its class (or press 0-9). ${left()} of ${picks.length} to go; Enter sends them when all have a label.`
      : 'All labelled: Enter (or Send) teaches the model.';
    send.disabled = left() > 0;
  };
  let focus = 0;
  const render = () => cards.forEach((c, i) => {
    c.show(labels[i], byPerson.has(i) ? 'labelled' : 'open');
    c.root.classList.toggle('focus', i === focus);
    c.root.setAttribute('aria-pressed', String(i === focus));
  });
  const send = button('Send labels (Enter)', 'send');
  const guesses = button("Use the model's guesses for the rest", 'guesses');
  guesses.title = 'the picks you did not label get the model\'s guess: only worth it once the model is good';
  palette.replaceChildren(...classNames.map((name, c) => {
    const b = button(`${c} ${name}`, 'class');
    b.addEventListener('click', () => setLabel(c));
    return b;
  }), send, guesses);

  const setLabel = (c: number) => {
    labels[focus] = c;
    byPerson.add(focus);
    const next = picks.findIndex((_, i) => i > focus && !byPerson.has(i));
    focus = next >= 0 ? next : Math.max(0, picks.findIndex((_, i) => !byPerson.has(i)));
    render();
    prompt();
  };
  render();
  prompt();
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
      } else if (e.key === 'Enter' && left() === 0) done();
      else return;
      e.preventDefault();
    };
    const done = () => {
      document.removeEventListener('keydown', onKey);
      palette.hidden = true;
      const guessed = picks.length - byPerson.size;
      picks.forEach((p, i) => {
        if (!byPerson.has(i)) labels[i] = p.guess;
      });
      help.textContent = `${byPerson.size} of ${picks.length} labelled by you${guessed ? `, ${guessed} from the model's guesses` : ''}.`;
      cards.forEach((c, i) => {
        c.root.classList.remove('focus');
        c.show(labels[i], byPerson.has(i) ? 'labelled' : 'guessed');
      });
      resolve(labels);
    };
    document.addEventListener('keydown', onKey);
    send.addEventListener('click', () => left() === 0 && done());
    guesses.addEventListener('click', done, { once: true });
  });
}

function button(text: string, className: string): HTMLButtonElement {
  const b = document.createElement('button');
  b.type = 'button';
  b.className = className;
  b.textContent = text;
  return b;
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
  guess.textContent = `${classNames[p.guess] ?? p.guess}?`;
  guess.title = `the learner's guess for sample ${p.id} (pick ${i + 1})`;
  const bar = document.createElement('span');
  bar.className = 'uncertainty';
  bar.style.setProperty('--u', p.uncertainty.toFixed(3));
  bar.title = `how unsure the learner is: the normalized entropy of its prediction, 0 sure, 1 no idea`;
  bar.textContent = `unsure ${p.uncertainty.toFixed(2)}`;
  const label = document.createElement('span');
  label.className = 'label';
  caption.append(guess, bar, label);
  root.append(canvas, caption);
  return {
    root,
    show(value: number, kind: 'open' | 'labelled' | 'guessed' | 'right' | 'wrong' | '') {
      root.dataset.kind = kind;
      label.textContent = kind === 'open' ? 'to label' : kind === 'right' ? '✓ right' : kind === 'guessed' ? `→ ${classNames[value] ?? value} (guess)` : `→ ${classNames[value] ?? value}`;
    },
  };
}
