import { describe, expect, expectTypeOf, it } from 'vitest';
import { type MarketoLimitCode as ClientLimitCode, marketoLimitCode } from '../../../../client/index.js';
import {
  isMarketoLimitCode,
  MARKETO_LIMIT_CODES,
  type MarketoLimitCode,
} from '../../../../functions/contract/index.js';

/** Every three-digit code Marketo could answer with. */
const EVERY_CODE = Array.from({ length: 900 }, (_, i) => String(100 + i));

describe("Marketo's limit codes", () => {
  it('are 606, 607 and 615', () => {
    expect(MARKETO_LIMIT_CODES).toEqual(['606', '607', '615']);
  });

  it('are recognised by the client library exactly as the contract lists them (the client keeps its own copy)', () => {
    const recognised = EVERY_CODE.filter((code) => marketoLimitCode({ code }) !== undefined);

    expect(recognised).toEqual([...MARKETO_LIMIT_CODES]);
    expectTypeOf<ClientLimitCode>().toEqualTypeOf<MarketoLimitCode>();
  });

  it('are accepted by the contract as strings only', () => {
    expect(EVERY_CODE.filter(isMarketoLimitCode)).toEqual([...MARKETO_LIMIT_CODES]);
    expect(isMarketoLimitCode(606)).toBe(false);
  });
});
