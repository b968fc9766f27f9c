/** What tests of the refresh planner share: its settings with the default 1-minute schedule, and a silent logger. */
import type { RefreshPlanSettings } from '../functions/core/refresh-planner.js';

/** The planner's settings as the construct deploys them with `refreshSchedule` at 1 minute. */
export const MINUTE_PLAN_SETTINGS: RefreshPlanSettings = {
  periodMs: 60_000,
  marginMs: 60_000,
  leadMs: 250,
  overdueAfterMs: 60_000,
  reconcileEveryMs: 3_600_000,
  maxClientsPerMessage: 100,
};

/** A logger that drops every line. */
export const silentLogger = { debug() {}, info() {}, warn() {}, error() {} };
