// The dashboard's figures: the answer of GET /api/admin/v1/stats and the pure
// functions turning it into what the charts draw (kept apart from React so
// they have unit tests).

/** The answer of GET /api/admin/v1/stats; times are unix milliseconds. */
export interface Stats {
  time: number;
  timezone: string;
  dayStart: number;
  drawsPerMinute: { minute: number; awardId: number; count: number }[];
  /** Draw answers per minute by code (every instance's, shared), oldest first; quiet minutes absent. */
  drawCodes: { minute: number; counts: Record<string, number> }[];
  /** Draw answers per second by code over the last full minute. */
  drawsPerSecond: Record<string, number>;
  awardsToday: Record<string, number>;
  awardStock: AwardStock[];
  skuStock: { sku: number; activityId: number; stock: number; left: number }[];
  outbox: Record<string, number>;
  deliveryFailures: Record<string, number>;
  funnel: { signIns: number; quota: number; draws: number; awards: number; delivered: number };
  creditsIssued: number;
  creditsSpent: number;
}

/** One stock-limited award of a strategy. */
export interface AwardStock {
  strategyId: number;
  awardId: number;
  awardTitle: string;
  awardRate: string;
  count: number;
  taken: number;
  left: number;
}

/** Stock under this share of the configured count is drawn in the alert colour. */
export const LOW_STOCK = 0.1;

/** The minutes of the window, oldest first, one a minute from since to until. */
export function minutes(since: number, until: number): number[] {
  const out: number[] = [];
  const start = since - (since % 60000);
  for (let m = start; m <= until; m += 60000) out.push(m);
  return out;
}

/** Draws per minute by award: one series per award id (ascending), a value per minute (0 where none). */
export interface MinuteSeries {
  minutes: number[];
  awards: { awardId: number; counts: number[] }[];
  /** Draws per second in each minute (all awards), two decimals. */
  perSecond: number[];
}

/**
 * drawsByMinute spreads drawsPerMinute over every minute of the last hour
 * (stats.time − 60 min … stats.time), so a quiet minute shows as 0.
 */
export function drawsByMinute(s: Pick<Stats, 'time' | 'drawsPerMinute'>): MinuteSeries {
  const ms = minutes(s.time - 60 * 60000, s.time);
  const index = new Map(ms.map((m, i) => [m, i]));
  const byAward = new Map<number, number[]>();
  const total = ms.map(() => 0);
  for (const d of s.drawsPerMinute) {
    const i = index.get(d.minute);
    if (i === undefined) continue;
    let row = byAward.get(d.awardId);
    if (!row) {
      row = ms.map(() => 0);
      byAward.set(d.awardId, row);
    }
    row[i] += d.count;
    total[i] += d.count;
  }
  return {
    minutes: ms,
    awards: [...byAward.entries()].sort((a, b) => a[0] - b[0]).map(([awardId, counts]) => ({ awardId, counts })),
    perSecond: total.map((n) => Math.round((n / 60) * 100) / 100),
  };
}

/** The draws of the last hour (every minute of drawsPerMinute). */
export function drawsLastHour(s: Pick<Stats, 'drawsPerMinute'>): number {
  return s.drawsPerMinute.reduce((sum, d) => sum + d.count, 0);
}

/** An award's title by id (the first strategy naming it), or "#id". */
export function awardTitles(stock: AwardStock[]): (id: number) => string {
  const t = new Map<number, string>();
  for (const a of stock) if (!t.has(a.awardId) && a.awardTitle) t.set(a.awardId, a.awardTitle);
  return (id) => t.get(id) ?? `#${id}`;
}

/** Today's awards by prize, most issued first (ties by id). */
export function awardsByPrize(s: Pick<Stats, 'awardsToday'>): { awardId: number; count: number }[] {
  return Object.entries(s.awardsToday)
    .map(([id, count]) => ({ awardId: Number(id), count }))
    .sort((a, b) => b.count - a.count || a.awardId - b.awardId);
}

/** One bar of a stock chart: a label, what is left and the share left (0…1). */
export interface StockBar {
  label: string;
  left: number;
  total: number;
  share: number;
  low: boolean;
}

function bar(label: string, left: number, total: number): StockBar {
  const share = total > 0 ? left / total : 0;
  return { label, left, total, share, low: share < LOW_STOCK };
}

/** Stock left per award of each strategy ("strategy · title"), in the order given. */
export function awardStockBars(stock: AwardStock[]): StockBar[] {
  return stock.map((a) => bar(`${a.strategyId} · ${a.awardTitle || '#' + a.awardId}`, a.left, a.count));
}

/** Stock left per SKU ("SKU n"). */
export function skuStockBars(stock: Stats['skuStock']): StockBar[] {
  return stock.map((k) => bar(`SKU ${k.sku}`, k.left, k.stock));
}

/** The outbox states in a fixed order, then any other state the server reports. */
export function outboxStates(outbox: Record<string, number>): { state: string; count: number }[] {
  const known = ['create', 'fail', 'completed'];
  const rest = Object.keys(outbox)
    .filter((k) => !known.includes(k))
    .sort();
  return [...known, ...rest].map((state) => ({ state, count: outbox[state] ?? 0 }));
}

/** The funnel steps in order. */
export const FUNNEL_STEPS = ['signIns', 'quota', 'draws', 'awards', 'delivered'] as const;
export type FunnelStep = (typeof FUNNEL_STEPS)[number];
