import type { WeightItem } from '../api/client';

/** One rule_weight tier as the page shows it. */
export interface Tier {
  threshold: number;
  used: number;
  /** 0..1, how far the user is towards the threshold. */
  progress: number;
  reached: boolean;
  titles: string[];
}

/** Tiers sorted by threshold with the user's progress towards each. */
export function tiers(items: readonly WeightItem[]): Tier[] {
  return [...items]
    .sort((a, b) => a.ruleWeightCount - b.ruleWeightCount)
    .map((w) => {
      const threshold = Math.max(0, w.ruleWeightCount);
      const used = Math.max(0, w.userActivityAccountTotalUseCount);
      const progress = threshold === 0 ? 1 : Math.min(1, used / threshold);
      return { threshold, used, progress, reached: used >= threshold, titles: w.strategyAwards.map((a) => a.awardTitle || String(a.awardId)) };
    });
}

/** Position on the grid board (3×3, centre is the button) of the i-th prize, clockwise from top-left. */
export const gridCells: readonly { x: number; y: number }[] = [
  { x: 0, y: 0 }, { x: 1, y: 0 }, { x: 2, y: 0 }, { x: 2, y: 1 },
  { x: 2, y: 2 }, { x: 1, y: 2 }, { x: 0, y: 2 }, { x: 0, y: 1 },
];

/**
 * The board index to stop on for a draw result: the position of the award whose
 * sort equals awardIndex, else of the award with its id; -1 when not on the board.
 */
export function stopIndex(board: readonly { awardId: number; sort: number }[], r: { awardId: number; awardIndex: number }): number {
  const bySort = board.findIndex((a) => a.sort === r.awardIndex && a.awardId === r.awardId);
  if (bySort >= 0) return bySort;
  return board.findIndex((a) => a.awardId === r.awardId);
}
