import { CommanderError } from 'commander';
import { describe, expect, it } from 'vitest';
import {
  localVendorOptionsOf,
  parseStartOptions,
  simulatorLimitsLine,
  startCommand,
} from '../../../local/start-options.js';

/** A command that throws instead of exiting the test process, and prints nothing. */
const quietCommand = () =>
  startCommand((command) =>
    command.exitOverride().configureOutput({ writeErr: () => undefined, writeOut: () => undefined }),
  );

describe('npm start options (local/start-options.ts)', () => {
  describe('simulator limits', () => {
    it("are on by default, so startLocalVendor's simulator enforces Marketo's documented limits", () => {
      // Act
      const opts = parseStartOptions([], quietCommand());

      // Assess
      expect(opts.simulatorLimits).toBe(true);
      expect(localVendorOptionsOf(opts)).toEqual({
        port: 8787,
        simulatorPort: 8788,
        tokenLifespanSeconds: 3600,
        refreshIntervalMs: 60_000,
        dataDir: '.local',
        simulatorLimits: true,
        logFormat: 'text',
      });
    });

    it('are off with --no-simulator-limits, leaving startLocalVendor at its own default (off)', () => {
      // Act
      const opts = parseStartOptions(['--no-simulator-limits'], quietCommand());

      // Assess
      expect(opts.simulatorLimits).toBe(false);
      expect(localVendorOptionsOf(opts)).not.toHaveProperty('simulatorLimits');
    });

    it("are announced in one line with Marketo's values, taken from the budget's defaults", () => {
      expect(simulatorLimitsLine(true)).toBe(
        "  limits:      Marketo's, enforced by the simulator: 100 calls per 20 s (606), 10 at once (615), 50,000 a day (607); --no-simulator-limits turns them off",
      );
    });

    it('are announced as off in one line when turned off', () => {
      expect(simulatorLimitsLine(false)).toBe(
        '  limits:      off (--no-simulator-limits): the simulator answers every call',
      );
    });
  });

  describe('other flags', () => {
    it('turn into startLocalVendor options (seconds into milliseconds)', () => {
      // Act
      const opts = parseStartOptions(
        ['--port', '0', '--simulator-port', '9000', '--lifespan', '120', '--refresh-interval', '0'],
        quietCommand(),
      );

      // Assess
      expect(localVendorOptionsOf({ ...opts, dataDir: '/tmp/x' })).toEqual({
        port: 0,
        simulatorPort: 9000,
        tokenLifespanSeconds: 120,
        refreshIntervalMs: 0,
        dataDir: '/tmp/x',
        simulatorLimits: true,
        logFormat: 'text',
      });
    });

    it('refuse a port out of range with commander’s invalid-argument error', () => {
      // Act
      const refused = (() => {
        try {
          parseStartOptions(['--port', '70000'], quietCommand());
          return undefined;
        } catch (error) {
          return error;
        }
      })();

      // Assess
      expect(refused).toBeInstanceOf(CommanderError);
      expect(refused).toMatchObject({ code: 'commander.invalidArgument' });
    });
  });

  describe('log format', () => {
    it('is text for a terminal by default, and json when asked', () => {
      expect(parseStartOptions([], quietCommand()).logFormat).toBe('text');
      expect(localVendorOptionsOf(parseStartOptions(['--log-format', 'json'], quietCommand()))).toMatchObject(
        {
          logFormat: 'json',
        },
      );
    });

    it('refuses a format it does not know', () => {
      expect(() => parseStartOptions(['--log-format', 'xml'], quietCommand())).toThrow(CommanderError);
    });
  });
});
