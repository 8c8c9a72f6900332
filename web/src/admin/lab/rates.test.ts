import { describe, expect, it } from 'vitest';
import { affectedByRules, binomialSD, checkForm, deviation, formatDifference, formatPercent, rateRows, withinTolerance, type Simulation, type SimulatedAward } from './rates';

function award(over: Partial<SimulatedAward>): SimulatedAward {
  return {
    awardId: 1, awardTitle: 't', awardIndex: 1, inTable: true, awardRate: '0.5', configuredRate: 0.5, observedRate: 0.5,
    drawn: 50, awarded: 50, locked: 0, stockTaken: 50, stockEmpty: 0, luckAward: 0, lockCount: 0, limited: true,
    stockCount: 100, stockLeft: 100, ...over,
  };
}

describe('binomial tolerance', () => {
  it('computes the standard deviation of a proportion', () => {
    expect(binomialSD(0.5, 100)).toBeCloseTo(0.05, 12);
    expect(binomialSD(0.03, 100_000)).toBeCloseTo(Math.sqrt(0.03 * 0.97 / 100_000), 15);
    expect(binomialSD(0.5, 0)).toBe(0);
  });
  it('measures deviation in standard deviations', () => {
    expect(deviation(0.55, 0.5, 100)).toBeCloseTo(1, 9);
    expect(deviation(0.25, 0.5, 100)).toBeCloseTo(5, 9);
  });
  it('treats certain and impossible rates exactly', () => {
    expect(deviation(0, 0, 1000)).toBe(0);
    expect(deviation(1, 1, 1000)).toBe(0);
    expect(deviation(0.001, 0, 1000)).toBe(Infinity);
    expect(withinTolerance(0.001, 0, 1000)).toBe(false);
  });
  it('accepts up to k standard deviations and refuses beyond', () => {
    expect(withinTolerance(0.74, 0.5, 100, 5)).toBe(true);
    expect(withinTolerance(0.76, 0.5, 100, 5)).toBe(false);
    expect(withinTolerance(0.76, 0.5, 100, 6)).toBe(true);
  });
});

describe('affectedByRules', () => {
  it('is false for an award given every time it was drawn', () => {
    expect(affectedByRules(award({}))).toBe(false);
  });
  it('is true for locks, empty stock, luck replacements and awards given more than drawn', () => {
    expect(affectedByRules(award({ locked: 3, luckAward: 3, awarded: 47 }))).toBe(true);
    expect(affectedByRules(award({ stockEmpty: 1, luckAward: 1, awarded: 49 }))).toBe(true);
    expect(affectedByRules(award({ awarded: 80 }))).toBe(true);
  });
});

describe('rateRows', () => {
  const sim: Simulation = {
    counts: { '1': 480, '2': 520 }, strategyId: 9, draws: 1000, userId: 'u', totalDraws: 0, todayDraws: 0, useStock: false,
    rule: 'default', weightGroup: '', weightMatch: 'equal', weightGroups: [],
    outcomes: { chain: { default: 1000 }, locked: 100, stockTaken: 900, stockEmpty: 0, luckAward: 100 },
    awards: [
      award({ awardId: 1, configuredRate: 0.5, observedRate: 0.48, drawn: 480, awarded: 480, stockTaken: 480 }),
      award({ awardId: 2, configuredRate: 0.4, observedRate: 0.52, drawn: 420, awarded: 520, stockTaken: 420 }),
      award({ awardId: 3, configuredRate: 0.1, observedRate: 0, drawn: 100, awarded: 0, locked: 100, luckAward: 100, stockTaken: 0 }),
    ],
  };
  it('computes difference, deviation and marks', () => {
    const rows = rateRows(sim);
    expect(rows.map((r) => r.awardId)).toEqual([1, 2, 3]);
    expect(rows[0].difference).toBeCloseTo(-0.02, 12);
    expect(rows[0].sigmas).toBeCloseTo(0.02 / Math.sqrt(0.25 / 1000), 9);
    expect(rows[0]).toMatchObject({ affected: false, within: true });
    expect(rows[1]).toMatchObject({ affected: true, within: false });
    expect(rows[2]).toMatchObject({ affected: true, within: false, observed: 0 });
  });
});

describe('formatting', () => {
  it('formats percentages and differences', () => {
    expect(formatPercent(0.814181)).toBe('81.4181 %');
    expect(formatPercent(0)).toBe('0 %');
    expect(formatPercent(0.000309)).toBe('0.0309 %');
    expect(formatDifference(0.0012)).toBe('+0.12 pp');
    expect(formatDifference(-0.005)).toBe('−0.5 pp');
    expect(formatDifference(0)).toBe('0 pp');
  });
});

describe('checkForm', () => {
  it('accepts a valid form and names the first problem', () => {
    expect(checkForm({ strategyId: 100006, draws: 100_000, totalDraws: 0, todayDraws: 3 })).toBeUndefined();
    expect(checkForm({ strategyId: null, draws: 10 })).toBe('strategy');
    expect(checkForm({ strategyId: 1, draws: 0 })).toBe('draws');
    expect(checkForm({ strategyId: 1, draws: 1_000_001 })).toBe('draws');
    expect(checkForm({ strategyId: 1, draws: 1.5 })).toBe('draws');
    expect(checkForm({ strategyId: 1, draws: 10, todayDraws: -1 })).toBe('progress');
  });
});
