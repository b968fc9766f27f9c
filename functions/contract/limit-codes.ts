/**
 * Marketo's limit errors (answered as HTTP 200 with `success:false`): 606 the instance's rate window is
 * full, 607 its daily quota is used up, 615 too many of its calls are running at once. A consumer reports
 * one it met anyway with its permit release (`marketoError`), and the budget slows the instance down.
 * client/permits.ts keeps its own copy, because the client imports nothing of the runtime;
 * test/unit/functions/contract/limit-codes.test.ts checks that the two agree.
 */
export const MARKETO_LIMIT_CODES = ['606', '607', '615'] as const;

export type MarketoLimitCode = (typeof MARKETO_LIMIT_CODES)[number];

export const isMarketoLimitCode = (value: unknown): value is MarketoLimitCode =>
  typeof value === 'string' && (MARKETO_LIMIT_CODES as readonly string[]).includes(value);
