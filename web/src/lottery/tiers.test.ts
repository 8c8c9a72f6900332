import { describe, expect, it } from 'vitest';
import { stopIndex, tiers } from './tiers';

describe('tiers', () => {
  it('sorts by threshold and measures progress towards each', () => {
    const t = tiers([
      { ruleWeightCount: 6000, userActivityAccountTotalUseCount: 30, strategyAwards: [{ awardId: 107, awardTitle: 'c' }] },
      { ruleWeightCount: 10, userActivityAccountTotalUseCount: 30, strategyAwards: [{ awardId: 102, awardTitle: 'a' }] },
      { ruleWeightCount: 40, userActivityAccountTotalUseCount: 30, strategyAwards: [{ awardId: 105, awardTitle: '' }] },
    ]);
    expect(t.map((x) => x.threshold)).toEqual([10, 40, 6000]);
    expect(t[0]).toMatchObject({ progress: 1, reached: true, titles: ['a'] });
    expect(t[1].progress).toBeCloseTo(0.75);
    expect(t[1]).toMatchObject({ reached: false, titles: ['105'] });
    expect(t[2].progress).toBeCloseTo(0.005);
  });
  it('never goes past full or below empty', () => {
    const [a] = tiers([{ ruleWeightCount: 0, userActivityAccountTotalUseCount: -3, strategyAwards: [] }]);
    expect(a.progress).toBe(1);
    expect(a.used).toBe(0);
  });
});

describe('stopIndex', () => {
  const board = [
    { awardId: 101, sort: 1 },
    { awardId: 102, sort: 2 },
    { awardId: 103, sort: 3 },
  ];
  it('stops on the award the server returned', () => {
    expect(stopIndex(board, { awardId: 103, awardIndex: 3 })).toBe(2);
    expect(stopIndex(board, { awardId: 102, awardIndex: 9 })).toBe(1);
  });
  it('answers -1 for an award not on the board', () => {
    expect(stopIndex(board, { awardId: 999, awardIndex: 1 })).toBe(-1);
  });
});
