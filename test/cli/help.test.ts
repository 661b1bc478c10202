// Every subcommand describes itself: --help lists each flag the parser takes, from the one table
// both read; a mistyped flag gets a suggestion; progress stays on one line in a narrow terminal.
import { describe, expect, it } from 'vitest';
import { cli } from '../support/cli.js';
import { commands } from '../../src/cli/main.js';
import { parseFlags } from '../../src/cli/flags.js';
import { progressBar } from '../../src/cli/io.js';

describe('edgelake COMMAND --help', () => {
  for (const [name, command] of Object.entries(commands)) {
    it(`${name}: every flag the parser takes, with its line`, async () => {
      const r = await cli(...name.split(' '), '--help');
      expect(r.code).toBe(0);
      expect(r.stdout.startsWith(`usage: ${command.usage}\n\n${command.summary}\n`)).toBe(true);
      const listed = [...r.stdout.matchAll(/^ {2}--([a-z-]+)/gm)].map((m) => m[1]);
      expect(listed).toEqual([...Object.keys(command.flags), 'help']);
      for (const [flag, spec] of Object.entries(command.flags)) {
        expect(r.stdout).toContain(spec.help);
        // The parser takes exactly these flags.
        expect(() => parseFlags(command.flags, spec.type === 'string' ? [`--${flag}`, 'x'] : [`--${flag}`])).not.toThrow();
      }
      expect(() => parseFlags(command.flags, ['--no-such-flag'])).toThrow(/Unknown option '--no-such-flag'/);
    });
  }

  it('each usage line names every flag its command takes, optional ones in brackets; --name says its real default', () => {
    for (const [name, command] of Object.entries(commands)) {
      for (const flag of Object.keys(command.flags)) expect(command.usage, name).toContain(`--${flag}`);
    }
    expect(commands.train.usage).toContain('ROOT [--model mlp|cnn|head] [--epochs N] '); // both have defaults
    expect(commands['build idx'].flags.name?.help).toBe('a new dataset\'s name (default dataset; one already at --out keeps its own)');
    expect(commands['build imagefolder'].flags.name?.help).toBe('a new dataset\'s name (default images; one already at --out keeps its own)');
  });

  it('a mistyped flag gets the closest one; edgelake --version prints the package version', async () => {
    const typo = await cli('train', 'data', '--epoch', '3');
    expect([typo.code, typo.stderr.split('\n')[0]]).toEqual([2, "edgelake train: Unknown option '--epoch'; did you mean --epochs?"]);
    expect((await cli('learn', 'data', '--zzz')).stderr.split('\n')[0]).toBe("edgelake learn: Unknown option '--zzz'; edgelake learn --help lists the flags");
    expect((await cli('--version')).stdout).toMatch(/^edgelake \d+\.\d+\.\d+\n$/);
    expect((await cli('--help')).stdout).toContain('edgelake COMMAND --help describes a command\'s flags');
  });

  it('-h, help and a group\'s --help print on stdout and exit 0; an unknown command is named', async () => {
    const global = await cli('--help');
    expect(await cli('-h')).toEqual(global);
    expect(await cli('help')).toEqual(global);
    expect(await cli('build', '--help')).toEqual(global);
    expect(await cli('help', 'query')).toEqual(await cli('query', '--help'));
    expect(await cli('help', 'build', 'idx')).toEqual(await cli('build', 'idx', '-h'));
    const unknown = await cli('nosuchcmd');
    expect([unknown.code, unknown.stdout, unknown.stderr]).toEqual([2, '', `edgelake: unknown command 'nosuchcmd'\n\n${global.stdout}`]);
    expect((await cli('help', 'nosuchcmd')).stderr.split('\n')[0]).toBe("edgelake: unknown command 'nosuchcmd'");
    expect((await cli('build', 'zip')).stderr.split('\n')[0]).toBe("edgelake: unknown command 'build zip'");
    expect(await cli('build')).toMatchObject({ code: 2, stderr: expect.stringMatching(/^edgelake: build needs a subcommand\n/) });
  });
});

describe('progress on a terminal', () => {
  it('stays on one line of a 100-column pane, redrawn in place, and notes go above it', () => {
    let out = '';
    const io = { stdout: () => {}, stderr: (t: string) => void (out += t), isTTY: true, columns: 100 };
    const bar = progressBar(io, 'training a model with a long label');
    for (let done = 0; done <= 1000; done += 50) {
      bar(done, 1000, `epoch ${Math.floor(done / 500) + 1}/2, 12345 samples/s, and a detail long enough to overflow any narrow pane`);
      if (done === 500) bar.note('epoch 1: loss 0.4321, train accuracy 0.8765');
    }
    // What a terminal shows: \r returns to the line's start, \x1b[K clears the rest of it.
    const lines = out.split('\n');
    expect(lines.at(-1)).toBe(''); // ended by the last update's newline
    expect(lines.slice(0, -1).map((l) => l.split('\r').at(-1)!.replace('\x1b[K', ''))).toEqual(['epoch 1: loss 0.4321, train accuracy 0.8765', expect.stringMatching(/^training a model with a long label \[#+\] 100% 1000\/1000 {2}epoch 3\/2/)]);
    for (const drawn of out.split(/[\r\n]/)) expect(drawn.replace('\x1b[K', '').length).toBeLessThan(100);
  });

  it('a terminal that reports 0 columns gets the 80-column bar, not a 20-character stub', () => {
    let out = '';
    progressBar({ stdout: () => {}, stderr: (t: string) => void (out += t), isTTY: true, columns: 0 }, 'fetching')(5, 10);
    expect(out).toBe(`\rfetching [${'#'.repeat(15)}${'-'.repeat(15)}]  50% 5/10\x1b[K`);
  });

  it('without a terminal: a line every 10%, sizes for bytes', () => {
    let out = '';
    const bar = progressBar({ stdout: () => {}, stderr: (t: string) => void (out += t), isTTY: false }, 'fetching', 'bytes');
    for (let done = 0; done <= 10 * 2 ** 20; done += 2 ** 19) bar(done, 10 * 2 ** 20);
    const lines = out.trim().split('\n');
    expect(lines).toHaveLength(11);
    expect(lines[5]).toBe('fetching  50% 5.0 MiB/10.0 MiB');
  });
});
