// The logic of the users, outbox and switches screens that is worth a unit
// test: quota rows, which records can be retried, grant ids, the outbox
// filters in the URL, and the switches' kinds.

import type { Account, SwitchState } from './types';

/** One row of the quota table: an activity and its counts. */
export interface QuotaRow extends Account {
  activityId: number;
}

/** The accounts of GET users/{userId} as rows, by activity id. */
export function quotaRows(accounts: Record<string, Account> | undefined): QuotaRow[] {
  return Object.entries(accounts ?? {})
    .map(([id, a]) => ({ activityId: Number(id), ...a }))
    .sort((a, b) => a.activityId - b.activityId);
}

/** Award record states an operator can redeliver. */
const retryableAwardStates = new Set(['failed', 'pending_manual']);

/** Whether an award record in state can be retried from the console. */
export function canRetryAward(state: string): boolean {
  return retryableAwardStates.has(state);
}

/** Whether a rebate order in state can be retried from the console. */
export function canRetryRebate(state: string): boolean {
  return state === 'failed';
}

/**
 * A fresh id for a quota grant: grants are idempotent by id, so the console
 * keeps one id until the grant succeeds (a repeated submit grants once).
 */
export function newGrantId(now: number = Date.now(), random: () => number = Math.random): string {
  const r = Math.floor(random() * 36 ** 6)
    .toString(36)
    .padStart(6, '0');
  return `console-${now.toString(36)}-${r}`;
}

/** Checks a grant's reason as the server does: required here, one line, at most 200 bytes. */
export function reasonProblem(reason: string): 'required' | 'tooLong' | 'oneLine' | undefined {
  const r = reason.trim();
  if (r === '') return 'required';
  if (new TextEncoder().encode(r).length > 200) return 'tooLong';
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f-\u009f]/.test(r)) return 'oneLine';
  return undefined;
}

/** The outbox's topics (internal/outbox). */
export const TOPICS = ['send_award', 'send_rebate', 'credit_adjust_success', 'activity_sku_stock_zero'] as const;

/** The outbox's task states. */
export const TASK_STATES = ['create', 'completed', 'fail'] as const;

/** The outbox screen's filters and page, as kept in the URL. */
export interface OutboxFilters {
  state: string;
  topic: string;
  userId: string;
  page: number;
}

/** Reads the filters from the URL's query; unknown values are dropped. */
export function readOutboxFilters(q: URLSearchParams): OutboxFilters {
  const state = q.get('state') ?? '';
  const topic = q.get('topic') ?? '';
  const page = Number.parseInt(q.get('page') ?? '1', 10);
  return {
    state: (TASK_STATES as readonly string[]).includes(state) ? state : '',
    topic: (TOPICS as readonly string[]).includes(topic) ? topic : '',
    userId: (q.get('userId') ?? '').trim(),
    page: Number.isFinite(page) && page >= 1 ? page : 1,
  };
}

/** The URL query of filters ("" when none is set); page 1 is left out. */
export function outboxSearch(f: OutboxFilters): string {
  const q = new URLSearchParams();
  if (f.state) q.set('state', f.state);
  if (f.topic) q.set('topic', f.topic);
  if (f.userId.trim()) q.set('userId', f.userId.trim());
  if (f.page > 1) q.set('page', String(f.page));
  const s = q.toString();
  return s ? `?${s}` : '';
}

/** The GET tasks query for filters with pages of size. */
export function taskQuery(f: OutboxFilters, size: number): Record<string, string | number> {
  const q: Record<string, string | number> = { limit: size, offset: (f.page - 1) * size };
  if (f.state) q.state = f.state;
  if (f.topic) q.topic = f.topic;
  if (f.userId.trim()) q.userId = f.userId.trim();
  return q;
}

/** How the switches screen edits a switch. */
export type SwitchKind = 'onOff' | 'number';

/** The kind of a switch key: open/close switches, or numbers. */
export function switchKind(key: string): SwitchKind {
  return key === 'degradeSwitch' || key === 'rateLimiterSwitch' ? 'onOff' : 'number';
}

/** The order the switches screen lists them in; unknown keys last, by name. */
const SWITCH_ORDER = ['degradeSwitch', 'rateLimiterSwitch', 'rateLimiterPermitsPerSecond', 'blacklistCount'];

export function sortSwitches(list: SwitchState[]): SwitchState[] {
  const rank = (k: string) => {
    const i = SWITCH_ORDER.indexOf(k);
    return i < 0 ? SWITCH_ORDER.length : i;
  };
  return [...list].sort((a, b) => rank(a.key) - rank(b.key) || a.key.localeCompare(b.key));
}

/** Whether changing key from its current value to next needs a confirmation: turning degrade on. */
export function needsConfirm(key: string, next: string): boolean {
  return key === 'degradeSwitch' && next === 'open';
}

/** A credit amount as the console shows it: two decimals. */
export function formatAmount(n: number | undefined): string {
  return (n ?? 0).toFixed(2);
}
