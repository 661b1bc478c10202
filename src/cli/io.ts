/** Where the CLI writes: injectable so tests run commands in-process and read what they print. */
export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  /** True when stderr is a terminal: progress bars redraw in place only then. */
  isTTY: boolean;
}

export const processIo: CliIo = {
  stdout: (t) => process.stdout.write(t),
  stderr: (t) => process.stderr.write(t),
  isTTY: Boolean(process.stderr.isTTY),
};

/** A progress bar on stderr: redrawn in place on a terminal, a line every 10% otherwise. */
export function progressBar(io: CliIo, label: string): (done: number, total: number, detail?: string) => void {
  let lastDecile = -1;
  return (done, total, detail = '') => {
    const share = total > 0 ? done / total : 1;
    if (io.isTTY) {
      const width = 30;
      const filled = Math.round(share * width);
      io.stderr(`\r${label} [${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${(share * 100).toFixed(0).padStart(3)}% ${done}/${total}${detail ? `  ${detail}` : ''}`);
      if (done >= total) io.stderr('\n');
    } else if (Math.floor(share * 10) > lastDecile) {
      lastDecile = Math.floor(share * 10);
      io.stderr(`${label} ${(share * 100).toFixed(0)}% (${done}/${total})${detail ? `  ${detail}` : ''}\n`);
    }
  };
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
