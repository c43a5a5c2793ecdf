import { SetMetadata } from '@nestjs/common';

export type RateBudgetName = 'events' | 'typing';
export const RATE_BUDGET = 'chatbox:rate-budget';

/** Which per-user event budget a handler draws on; `events` unless said otherwise. */
export const RateBudget = (budget: RateBudgetName) => SetMetadata(RATE_BUDGET, budget);
