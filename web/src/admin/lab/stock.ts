// Stock figures of the activities screen: the share left and whether it is
// low (under 10 %, the dashboard's alert threshold).

/** The share of stock left in [0, 1]; 1 for a stock of 0 units configured. */
export function leftShare(left: number, count: number): number {
  if (count <= 0) return 1;
  return Math.min(1, Math.max(0, left / count));
}

/** The share under which stock is shown in the alert colour. */
export const LOW_STOCK = 0.1;

/** Whether the stock left is low: under LOW_STOCK of the count (an empty stock is low). */
export function lowStock(left: number, count: number): boolean {
  return count > 0 && leftShare(left, count) < LOW_STOCK;
}

/** The share left as a whole percentage for a progress bar, rounded down so 99.9 % never shows 100. */
export function leftPercent(left: number, count: number): number {
  return Math.floor(leftShare(left, count) * 100);
}
