import { describe, expect, it } from 'vitest';
import type { MachineInfo } from '../../bench/lib/machine.js';
import { renderMarkdown, spliceMarkdown } from '../../bench/lib/report.js';
import type { ScenarioReport } from '../../bench/lib/scenario.js';

const machine = (date: string): MachineInfo => ({
  cpuModel: 'cpu',
  cores: 2,
  memoryGiB: 4,
  node: 'v20',
  os: 'linux',
  date,
});
const report = (title: string, markdown: string): ScenarioReport => ({
  id: title,
  title,
  markdown,
  console: [],
  targets: [{ target: `${title} target`, measured: markdown, met: true }],
  violations: [],
  charts: [],
  durationMs: 0,
});
const ORDER = ['A, one', 'B', 'C'];

describe('docs/benchmarks.md written by partial runs (--only … --write)', () => {
  const full = renderMarkdown(
    machine('d0'),
    [report('A, one', 'a0'), report('B', 'b0'), report('C', 'c0')],
    1,
    'npm run bench',
  );
  const first = spliceMarkdown(
    full,
    machine('d1'),
    [report('A, one', 'a1'), report('B', 'b1')],
    1,
    'npm run bench -- --only a,b --write',
    ORDER,
  );

  it('names, after a second partial run, the run each re-run section comes from', () => {
    const second = spliceMarkdown(first, machine('d2'), [report('B', 'b2')], 1, 'bench --only b', ORDER);

    expect(second.split('\n').filter((line) => line.startsWith('Sections re-run on'))).toEqual([
      'Sections re-run on d1 (A, one): `npm run bench -- --only a,b --write`; the others are as the last full run wrote them.',
      'Sections re-run on d2 (B): `bench --only b`; the others are as the last full run wrote them.',
    ]);
  });

  it('drops an earlier partial run’s note once every section it re-ran is re-run again', () => {
    const second = spliceMarkdown(
      first,
      machine('d2'),
      [report('A, one', 'a2'), report('B', 'b2')],
      1,
      'bench --only a,b',
      ORDER,
    );

    expect(second.split('\n').filter((line) => line.startsWith('Sections re-run on'))).toEqual([
      'Sections re-run on d2 (A, one, B): `bench --only a,b`; the others are as the last full run wrote them.',
    ]);
  });
});
