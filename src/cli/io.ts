/** Where the CLI writes: injectable so tests run commands in-process and read what they print. */
export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  /** True when stderr is a terminal: progress bars redraw in place only then. */
  isTTY: boolean;
  /** The terminal's width: a redrawn line never wraps (default 80). */
  columns?: number;
}

export const processIo: CliIo = {
  stdout: (t) => {
    quietOnClosedPipe();
    process.stdout.write(t);
  },
  stderr: (t) => process.stderr.write(t),
  isTTY: Boolean(process.stderr.isTTY),
  get columns() {
    return process.stderr.columns;
  },
};

let pipeGuarded = false;

/** A reader that closed the pipe early (`| head`) has all it wanted: exit quietly, as git does, not with an EPIPE stack trace. */
function quietOnClosedPipe(): void {
  if (pipeGuarded) return;
  pipeGuarded = true;
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code !== 'EPIPE') throw e;
    process.exit(0);
  });
}

/** A progress bar, and `note` for a line printed while it shows (above it, not onto it). */
export type ProgressBar = ((done: number, total: number, detail?: string) => void) & { note(text: string): void };

/**
 * A progress bar on stderr: on a terminal, one line redrawn in place, cut to the terminal's width
 * so it never wraps; otherwise a line every 10%. `unit: 'bytes'` shows counts as sizes.
 */
export function progressBar(io: CliIo, label: string, unit?: 'bytes'): ProgressBar {
  let lastDecile = -1;
  let shown = ''; // the bar on screen, to redraw after a note
  const count = (n: number) => (unit === 'bytes' ? formatBytes(n) : String(n));
  const draw = (done: number, total: number, detail = '') => {
    const share = total > 0 ? done / total : 1;
    const tail = `${(share * 100).toFixed(0).padStart(3)}% ${count(done)}/${count(total)}${detail ? `  ${detail}` : ''}`;
    if (io.isTTY) {
      const room = Math.max(20, (io.columns || 80) - 1); // || not ??: a pseudo-terminal may report 0 columns
      const width = Math.max(5, Math.min(30, room - label.length - tail.length - 4));
      const filled = Math.round(share * width);
      shown = `${label} [${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${tail}`.slice(0, room);
      io.stderr(`\r${shown}\x1b[K`);
      if (done >= total) {
        io.stderr('\n');
        shown = '';
      }
    } else if (Math.floor(share * 10) > lastDecile) {
      lastDecile = Math.floor(share * 10);
      io.stderr(`${label} ${tail}\n`);
    }
  };
  return Object.assign(draw, {
    note(text: string) {
      io.stderr(io.isTTY && shown ? `\r\x1b[K${text}\n${shown}` : `${text}\n`);
    },
  });
}

export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${i === 0 ? n : n.toFixed(1)} ${units[i]}`;
}
