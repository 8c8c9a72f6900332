import { describe, expect, it } from 'vitest';
import { leftPercent, leftShare, lowStock } from './stock';

describe('stock shares', () => {
  it('computes the share left', () => {
    expect(leftShare(50, 200)).toBe(0.25);
    expect(leftShare(0, 200)).toBe(0);
    expect(leftShare(5, 0)).toBe(1);
    expect(leftShare(-1, 10)).toBe(0);
  });
  it('marks stock under 10 % as low', () => {
    expect(lowStock(10, 100)).toBe(false);
    expect(lowStock(9, 100)).toBe(true);
    expect(lowStock(0, 1)).toBe(true);
    expect(lowStock(0, 0)).toBe(false);
  });
  it('never rounds a partial stock up to 100 %', () => {
    expect(leftPercent(999, 1000)).toBe(99);
    expect(leftPercent(1000, 1000)).toBe(100);
  });
});
