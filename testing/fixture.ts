/**
 * The test world as a vitest fixture, in place of per-file `let world; beforeAll(start); afterAll(stop)`:
 *
 *   import { test } from '../../testing/fixture.js';
 *   test.override('worldOptions', { lifespanSeconds: 60 });   // optional, per file or describe
 *   test('serves a token', async ({ world }) => { … });
 *
 * Each file gets its own world (started on first use, stopped after the file's last test); `virtualWorld`
 * is the same world on a {@link VirtualClock}; `ownWorld` is a world of one test alone, for tests that
 * change the whole world (its clock, faults for every client) and still run side by side with others.
 * Fixtures are lazy: a file pays only for what its tests name.
 */
import { test as base } from 'vitest';
import { VirtualClock } from './clocks.js';
import { startWorld, type World, type WorldOptions } from './world.js';

type SharedOptions = Omit<WorldOptions, 'clock'>;

export const test = base
  .extend('worldOptions', { scope: 'file' }, {} as SharedOptions)
  .extend('world', { scope: 'file' }, async ({ worldOptions }, { onCleanup }): Promise<World> => {
    const world = await startWorld(worldOptions);
    onCleanup(() => world.stop());
    return world;
  })
  // A world of the test alone (started for it, stopped after it): for tests that move the clock or inject a
  // fault for every client, so that they can run side by side (`describe.concurrent`).
  .extend('ownWorld', { scope: 'test' }, async ({ worldOptions }, { onCleanup }): Promise<World> => {
    const world = await startWorld(worldOptions);
    onCleanup(() => world.stop());
    return world;
  })
  .extend(
    'virtualWorld',
    { scope: 'file' },
    async ({ worldOptions }, { onCleanup }): Promise<World<VirtualClock>> => {
      const world = await startWorld({ ...worldOptions, clock: new VirtualClock() });
      onCleanup(() => world.stop());
      return world;
    },
  );

export { describe, expect } from 'vitest';
