// The strategy lab's figures: the answer of POST /api/admin/v1/strategy/simulate
// turned into one row per award (configured against observed rate, their
// difference in standard deviations of a binomial proportion, and whether the
// rules changed what the award's draws gave). The chart and the table are both
// drawn from these rows, so they always show the same figures.

/** One award of a simulation, as the server answers it. */
export interface SimulatedAward {
  awardId: number;
  awardTitle: string;
  awardIndex: number;
  inTable: boolean;
  /** The configured rate as written ("0.79"); "" outside the table. */
  awardRate: string;
  /** The chance to be drawn from the table in force for this user. */
  configuredRate: number;
  /** awarded / draws. */
  observedRate: number;
  drawn: number;
  awarded: number;
  locked: number;
  stockTaken: number;
  stockEmpty: number;
  luckAward: number;
  lockCount: number;
  limited: boolean;
  stockCount: number;
  stockLeft: number;
}

/** A rule_weight group ("tier") of the strategy. */
export interface WeightGroup {
  threshold: number;
  awardIds: number[];
  key: string;
}

/** The answer of POST /api/admin/v1/strategy/simulate. */
export interface Simulation {
  counts: Record<string, number>;
  strategyId: number;
  draws: number;
  userId: string;
  totalDraws: number;
  todayDraws: number;
  useStock: boolean;
  /** default, rule_weight or rule_blacklist. */
  rule: string;
  weightGroup: string;
  weightMatch: string;
  weightGroups: WeightGroup[];
  outcomes: { chain: Record<string, number>; locked: number; stockTaken: number; stockEmpty: number; luckAward: number };
  awards: SimulatedAward[];
}

/** One row of the lab's chart and table. */
export interface RateRow {
  awardId: number;
  title: string;
  /** The rate as configured ("0.79"), "" outside the table. */
  rate: string;
  configured: number;
  observed: number;
  /** observed − configured. */
  difference: number;
  /** The difference in standard deviations of the observed proportion (0 when both are 0). */
  sigmas: number;
  /** True when rules changed what this award's draws gave (locks, stock, luck awards, blacklist). */
  affected: boolean;
  /** True when the observed rate is within the tolerance of the configured one. */
  within: boolean;
  award: SimulatedAward;
}

/** The standard deviation of a binomial proportion p observed over n draws. */
export function binomialSD(p: number, n: number): number {
  if (n <= 0) return 0;
  return Math.sqrt((p * (1 - p)) / n);
}

/**
 * How many standard deviations observed lies from p over n draws. A certain or
 * impossible p has no spread: equal is 0, anything else Infinity.
 */
export function deviation(observed: number, p: number, n: number): number {
  const d = Math.abs(observed - p);
  const sd = binomialSD(p, n);
  if (sd === 0) return d < 1e-12 ? 0 : Infinity;
  return d / sd;
}

/** Whether observed lies within k standard deviations of p over n draws. */
export function withinTolerance(observed: number, p: number, n: number, k = TOLERANCE): boolean {
  return deviation(observed, p, n) <= k;
}

/** The tolerance in standard deviations the lab marks. */
export const TOLERANCE = 5;

/**
 * Whether rules changed what an award's draws gave: some were locked, found no
 * stock or were replaced by a luck award, or it came out more (or less) often
 * than it was drawn (it is another award's luck award, or the blacklist's).
 */
export function affectedByRules(a: SimulatedAward): boolean {
  return a.locked > 0 || a.stockEmpty > 0 || a.luckAward > 0 || a.awarded !== a.drawn;
}

/** The rows of a simulation, in the server's order (the table by sort, then awards outside it). */
export function rateRows(sim: Simulation, k = TOLERANCE): RateRow[] {
  return sim.awards.map((a) => {
    const sigmas = deviation(a.observedRate, a.configuredRate, sim.draws);
    return {
      awardId: a.awardId,
      title: a.awardTitle,
      rate: a.awardRate,
      configured: a.configuredRate,
      observed: a.observedRate,
      difference: a.observedRate - a.configuredRate,
      sigmas,
      affected: affectedByRules(a),
      within: sigmas <= k,
      award: a,
    };
  });
}

/** A rate as a percentage with up to 4 decimals ("81.4181 %"); "0 %" for 0. */
export function formatPercent(x: number): string {
  if (!Number.isFinite(x)) return '—';
  const v = Math.round(x * 100 * 10_000) / 10_000;
  return `${v.toLocaleString('en-US', { maximumFractionDigits: 4 })} %`;
}

/** A signed difference in percentage points ("+0.0123 pp", "−0.5 pp"). */
export function formatDifference(x: number): string {
  const v = Math.round(x * 100 * 10_000) / 10_000;
  if (v === 0) return '0 pp';
  const s = Math.abs(v).toLocaleString('en-US', { maximumFractionDigits: 4 });
  return `${v > 0 ? '+' : '−'}${s} pp`;
}

/** The bounds of a simulation request. */
export const MAX_DRAWS = 1_000_000;

/** A problem with the lab's form, or undefined when it can be run. */
export function checkForm(f: { strategyId?: number | null; draws?: number | null; totalDraws?: number | null; todayDraws?: number | null }):
  | 'strategy'
  | 'draws'
  | 'progress'
  | undefined {
  const int = (v: number | null | undefined) => typeof v === 'number' && Number.isInteger(v);
  if (!int(f.strategyId) || (f.strategyId as number) <= 0) return 'strategy';
  if (!int(f.draws) || (f.draws as number) < 1 || (f.draws as number) > MAX_DRAWS) return 'draws';
  for (const v of [f.totalDraws, f.todayDraws]) {
    if (v !== null && v !== undefined && (!int(v) || v < 0)) return 'progress';
  }
  return undefined;
}
