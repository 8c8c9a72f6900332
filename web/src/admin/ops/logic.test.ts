import { describe, expect, it } from 'vitest';
import {
  canRetryAward,
  canRetryRebate,
  formatAmount,
  needsConfirm,
  newGrantId,
  outboxSearch,
  quotaRows,
  readOutboxFilters,
  reasonProblem,
  sortSwitches,
  switchKind,
  taskQuery,
} from './logic';

const acc = (n: number) => ({ totalCount: n, totalCountSurplus: n, dayCount: n, dayCountSurplus: n, monthCount: n, monthCountSurplus: n });

describe('quotaRows', () => {
  it('lists each activity once, by id', () => {
    const rows = quotaRows({ '100302': acc(2), '100301': acc(1) });
    expect(rows.map((r) => r.activityId)).toEqual([100301, 100302]);
    expect(rows[0]).toMatchObject({ activityId: 100301, totalCountSurplus: 1 });
  });
  it('is empty without accounts', () => {
    expect(quotaRows(undefined)).toEqual([]);
    expect(quotaRows({})).toEqual([]);
  });
});

describe('retry', () => {
  it('offers a retry only where the server redelivers', () => {
    expect(['create', 'delivering', 'completed', 'failed', 'pending_manual'].filter(canRetryAward)).toEqual(['failed', 'pending_manual']);
    expect(['create', 'completed', 'failed'].filter(canRetryRebate)).toEqual(['failed']);
  });
});

describe('newGrantId', () => {
  it('fits the server bound and differs per grant', () => {
    const a = newGrantId(1_800_000_000_000, () => 0.5);
    expect(a).toMatch(/^console-[0-9a-z]+-[0-9a-z]{6}$/);
    expect(a.length).toBeLessThanOrEqual(64);
    expect(newGrantId(1_800_000_000_000, () => 0.25)).not.toBe(a);
    expect(newGrantId(1_800_000_000_000, () => 0)).toMatch(/-000000$/);
  });
});

describe('reasonProblem', () => {
  it('wants one line of at most 200 bytes', () => {
    expect(reasonProblem('  ')).toBe('required');
    expect(reasonProblem('make up for the outage')).toBeUndefined();
    expect(reasonProblem('x'.repeat(200))).toBeUndefined();
    expect(reasonProblem('x'.repeat(201))).toBe('tooLong');
    expect(reasonProblem('补'.repeat(67))).toBe('tooLong'); // 3 bytes each: 201
    expect(reasonProblem('two\nlines')).toBe('oneLine');
  });
});

describe('outbox filters', () => {
  it('reads what the URL holds, dropping unknown values', () => {
    expect(readOutboxFilters(new URLSearchParams('state=fail&topic=send_award&userId=%20u1%20&page=3'))).toEqual({
      state: 'fail',
      topic: 'send_award',
      userId: 'u1',
      page: 3,
    });
    expect(readOutboxFilters(new URLSearchParams('state=done&topic=x&page=-2'))).toEqual({ state: '', topic: '', userId: '', page: 1 });
  });
  it('writes them back and pages by offset', () => {
    const f = { state: 'fail', topic: '', userId: 'u1', page: 2 };
    expect(outboxSearch(f)).toBe('?state=fail&userId=u1&page=2');
    expect(outboxSearch({ state: '', topic: '', userId: ' ', page: 1 })).toBe('');
    expect(readOutboxFilters(new URLSearchParams(outboxSearch(f)))).toEqual(f);
    expect(taskQuery(f, 50)).toEqual({ limit: 50, offset: 50, state: 'fail', userId: 'u1' });
    expect(taskQuery({ state: '', topic: 'send_rebate', userId: '', page: 1 }, 20)).toEqual({ limit: 20, offset: 0, topic: 'send_rebate' });
  });
});

describe('switches', () => {
  it('knows their kinds and order', () => {
    expect(switchKind('degradeSwitch')).toBe('onOff');
    expect(switchKind('rateLimiterSwitch')).toBe('onOff');
    expect(switchKind('rateLimiterPermitsPerSecond')).toBe('number');
    const keys = sortSwitches([{ key: 'zeta', value: '' }, { key: 'blacklistCount', value: '1' }, { key: 'degradeSwitch', value: 'close' }, { key: 'alpha', value: '' }]).map((s) => s.key);
    expect(keys).toEqual(['degradeSwitch', 'blacklistCount', 'alpha', 'zeta']);
  });
  it('confirms turning degrade on, and only that', () => {
    expect(needsConfirm('degradeSwitch', 'open')).toBe(true);
    expect(needsConfirm('degradeSwitch', 'close')).toBe(false);
    expect(needsConfirm('rateLimiterSwitch', 'open')).toBe(false);
  });
  it('formats credits with two decimals', () => {
    expect(formatAmount(12.5)).toBe('12.50');
    expect(formatAmount(undefined)).toBe('0.00');
  });
});
