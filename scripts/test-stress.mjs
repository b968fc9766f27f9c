#!/usr/bin/env node
/**
 * `npm run test:stress`: the whole test suite while every core is busy. One CPU burner per core (a node
 * process spinning a loop) runs for the whole suite; each burner also stops itself after
 * --max-minutes (default 15), so none outlives a crashed run. The exit code is the suite's.
 *
 *   npm run test:stress                       # whole suite, one burner per core
 *   npm run test:stress -- test/reliability   # arguments after -- go to vitest
 *   STRESS_BURNERS=4 npm run test:stress      # more (or fewer) burners than cores
 */
import { spawn } from 'node:child_process';
import { availableParallelism } from 'node:os';

const args = process.argv.slice(2);
const maxMinutesAt = args.indexOf('--max-minutes');
const maxMinutes = maxMinutesAt >= 0 ? Number(args.splice(maxMinutesAt, 2)[1]) : 15;
if (!Number.isFinite(maxMinutes) || maxMinutes <= 0) {
  console.error('test:stress: --max-minutes needs a positive number');
  process.exit(2);
}
const burnerCount = Number(process.env.STRESS_BURNERS ?? availableParallelism());

// Self-bounded: the loop ends at its deadline even if this script is killed and cannot stop it.
const BURN = `const end = Date.now() + ${Math.round(maxMinutes * 60_000)}; let x = 0; while (Date.now() < end) x = (x + 1) % 1e9;`;
const burners = Array.from({ length: burnerCount }, () =>
  spawn(process.execPath, ['-e', BURN], { stdio: 'ignore' }),
);
const stopBurners = () => {
  for (const burner of burners)
    if (burner.exitCode === null && burner.signalCode === null) burner.kill('SIGKILL');
};
process.on('exit', stopBurners);
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    stopBurners();
    process.exit(130);
  });
}

console.log(
  `test:stress: ${burnerCount} CPU burner(s) on ${availableParallelism()} core(s), at most ${maxMinutes} min`,
);
const started = Date.now();
const suite = spawn('npx', ['vitest', 'run', ...args], { stdio: 'inherit' });
suite.on('exit', (code, signal) => {
  stopBurners();
  const seconds = Math.round((Date.now() - started) / 1000);
  console.log(
    `test:stress: suite ${code === 0 ? 'passed' : 'FAILED'} in ${seconds} s under ${burnerCount} burner(s)`,
  );
  process.exit(code ?? (signal ? 1 : 0));
});
