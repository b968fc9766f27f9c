import { describe, expect, it } from 'vitest';
import { PERMISSION_PROBES } from '../../../../functions/contract/marketo-permissions.js';
import {
  checkPermissions,
  judgeAnswer,
  type PermissionCheckDeps,
  type RestAnswer,
} from '../../../../functions/core/permission-check.js';

const OK: RestAnswer = { status: 200, body: { success: true, result: [] } };
const marketoError = (code: string): RestAnswer => ({
  status: 200,
  body: { success: false, errors: [{ code, message: 'x' }] },
});

/** Ports on fakes: Marketo answers `answers` in order (then OK); records calls, permits and reports. */
const fakes = (answers: RestAnswer[], overrides: Partial<PermissionCheckDeps> = {}) => {
  const log: string[] = [];
  let tokens = 0;
  const deps: PermissionCheckDeps = {
    maxCalls: 12,
    token: async () => ({ accessToken: `tok-${++tokens}`, scope: 'api@example.test' }),
    replaceToken: async (rejected) => {
      log.push(`replace ${rejected}`);
      return { accessToken: `tok-${++tokens}`, scope: 'api@example.test' };
    },
    permit: async () => {
      log.push('permit');
      return {
        release: async (limit) => {
          log.push(limit === undefined ? 'release' : `release ${limit}`);
        },
      };
    },
    get: async (path, accessToken) => {
      log.push(`GET ${path.split('?')[0]} ${accessToken}`);
      return answers.shift() ?? OK;
    },
    ...overrides,
  };
  return { deps, log };
};

const statusOf = (result: Awaited<ReturnType<typeof checkPermissions>>, permission: string) =>
  result.rows.find((row) => row.permission === permission);

describe('permission check', () => {
  it('probes each family once under a permit, in order, and marks every write permission not probed', async () => {
    const { deps, log } = fakes([]);

    const result = await checkPermissions(deps);

    expect(result.callsSpent).toBe(11);
    expect(result.complete).toBe(true);
    expect(log.filter((line) => line.startsWith('GET')).map((line) => line.split(' ')[1])).toEqual(
      PERMISSION_PROBES.map((probe) => probe.path.split('?')[0]),
    );
    expect(log.filter((line) => line === 'permit')).toHaveLength(11);
    expect(log.filter((line) => line === 'release')).toHaveLength(11);
    expect(result.rows.filter((row) => row.status === 'not-probed').map((row) => row.detail)).toEqual(
      Array(13).fill('would write'),
    );
  });

  it('gives a 607 back to the budget with the permit and stops', async () => {
    const { deps, log } = fakes([marketoError('607')]);

    const result = await checkPermissions(deps);

    expect(log).toEqual(['permit', `GET ${PERMISSION_PROBES[0]?.path} tok-1`, 'release 607']);
    expect(result.stoppedBecause).toBe('stopped after 607');
    expect(result.complete).toBe(false);
  });

  it('stops without a call when the budget has no permit, saying why', async () => {
    const { deps } = fakes([], {
      permit: async () => {
        throw new Error("the instance's daily quota is used up");
      },
    });

    const result = await checkPermissions(deps);

    expect(result.callsSpent).toBe(0);
    expect(statusOf(result, 'Read-Only Lead')).toEqual({
      permission: 'Read-Only Lead',
      status: 'not-probed',
      detail: "no permit from the shared budget: the instance's daily quota is used up",
    });
  });

  it('replaces the token once after a 601/602; a second rejection leaves that family unknown', async () => {
    const { deps, log } = fakes([marketoError('602'), marketoError('601'), OK, marketoError('602')]);

    const result = await checkPermissions(deps);

    expect(log.filter((line) => line.startsWith('replace'))).toEqual(['replace tok-1']);
    expect(statusOf(result, 'Read-Only Activity')).toMatchObject({
      status: 'unknown',
      detail: 'Marketo rejected a new token too (601/602)',
    });
    expect(statusOf(result, 'Read-Only Activity Metadata')?.status).toBe('granted');
    expect(statusOf(result, 'Read-Only Assets')).toMatchObject({
      status: 'unknown',
      detail: 'Marketo rejected a new token too (601/602)',
    });
  });

  it('leaves a family unknown on another Marketo error, and goes on', async () => {
    const { deps } = fakes([marketoError('1003')]);

    const result = await checkPermissions(deps);

    expect(statusOf(result, 'Read-Only Activity')).toMatchObject({
      status: 'unknown',
      detail: 'Marketo answered 1003; cannot tell',
    });
    expect(result.callsSpent).toBe(11);
  });

  describe('judging one answer', () => {
    it('is denied only on 603', () => {
      expect(judgeAnswer(marketoError('603'))).toEqual({
        status: 'denied',
        detail: 'Marketo answered 603 Access denied',
      });
      expect(judgeAnswer(marketoError('615'))).toEqual({
        status: 'unknown',
        detail: 'Marketo answered 615: concurrency limit',
        stop: '615',
      });
    });

    it('calls an instance that does not answer unreachable, and stops', () => {
      expect(judgeAnswer({ unreachable: 'ECONNREFUSED' })).toEqual({
        status: 'unknown',
        detail: 'instance unreachable: ECONNREFUSED',
        stop: 'ECONNREFUSED',
      });
    });

    it('cannot tell from an answer without a Marketo body', () => {
      expect(judgeAnswer({ status: 404 })).toEqual({
        status: 'unknown',
        detail: 'unexpected answer: HTTP 404',
      });
    });
  });
});
