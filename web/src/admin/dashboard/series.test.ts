import { describe, expect, it } from 'vitest';
import { awardsByPrize, awardStockBars, awardTitles, drawsByMinute, drawsLastHour, minutes, outboxStates, skuStockBars } from './series';

const T = Date.UTC(2026, 10, 30, 12, 30, 15); // 12:30:15
const M = (h: number, m: number) => Date.UTC(2026, 10, 30, h, m);

describe('drawsByMinute', () => {
  it('spreads the minutes of the last hour, a series per award, zeros where none', () => {
    const s = drawsByMinute({
      time: T,
      drawsPerMinute: [
        { minute: M(11, 31), awardId: 102, count: 6 },
        { minute: M(12, 30), awardId: 101, count: 120 },
        { minute: M(12, 30), awardId: 102, count: 60 },
        { minute: M(10, 0), awardId: 101, count: 9 }, // outside the window: left out
      ],
    });
    expect(s.minutes).toHaveLength(61);
    expect(s.minutes[0]).toBe(M(11, 30));
    expect(s.minutes[60]).toBe(M(12, 30));
    expect(s.awards.map((a) => a.awardId)).toEqual([101, 102]);
    expect(s.awards[0].counts[60]).toBe(120);
    expect(s.awards[1].counts[1]).toBe(6);
    expect(s.awards[1].counts[60]).toBe(60);
    expect(s.awards[0].counts.reduce((a, b) => a + b)).toBe(120);
    expect(s.perSecond[60]).toBe(3);
    expect(s.perSecond[1]).toBe(0.1);
    expect(s.perSecond[2]).toBe(0);
  });
  it('counts the last hour', () => {
    expect(drawsLastHour({ drawsPerMinute: [{ minute: 0, awardId: 1, count: 2 }, { minute: 60000, awardId: 2, count: 5 }] })).toBe(7);
  });
  it('aligns minutes to whole minutes', () => {
    expect(minutes(M(1, 0) + 5, M(1, 2) + 1)).toEqual([M(1, 0), M(1, 1), M(1, 2)]);
  });
});

describe('awards and stock', () => {
  const stock = [
    { strategyId: 1, awardId: 101, awardTitle: 'Credits', awardRate: '0.9', count: 1000, taken: 10, left: 990 },
    { strategyId: 2, awardId: 101, awardTitle: 'Other title', awardRate: '0.5', count: 100, taken: 91, left: 9 },
    { strategyId: 2, awardId: 102, awardTitle: '', awardRate: '0.5', count: 0, taken: 0, left: 0 },
  ];
  it('names prizes by their first title, most issued first', () => {
    const title = awardTitles(stock);
    expect(title(101)).toBe('Credits');
    expect(title(102)).toBe('#102');
    expect(awardsByPrize({ awardsToday: { '101': 3, '105': 7, '102': 3 } })).toEqual([
      { awardId: 105, count: 7 },
      { awardId: 101, count: 3 },
      { awardId: 102, count: 3 },
    ]);
  });
  it('marks stock under 10 % as low', () => {
    const bars = awardStockBars(stock);
    expect(bars.map((b) => [b.label, b.low])).toEqual([
      ['1 · Credits', false],
      ['2 · Other title', true],
      ['2 · #102', true],
    ]);
    expect(bars[1].share).toBeCloseTo(0.09);
    const skus = skuStockBars([
      { sku: 9011, activityId: 1, stock: 100, left: 10 },
      { sku: 9012, activityId: 1, stock: 100, left: 9 },
    ]);
    expect(skus.map((b) => [b.label, b.low])).toEqual([
      ['SKU 9011', false],
      ['SKU 9012', true],
    ]);
  });
  it('lists outbox states in a fixed order with zeros, then others', () => {
    expect(outboxStates({ completed: 4, zeta: 1 })).toEqual([
      { state: 'create', count: 0 },
      { state: 'fail', count: 0 },
      { state: 'completed', count: 4 },
      { state: 'zeta', count: 1 },
    ]);
  });
});
