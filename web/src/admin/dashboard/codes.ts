// The draw answers by code on the dashboard: GET stats' drawCodes (counted by
// every instance and shared per minute, so refused draws show too) turned
// into what the chart and the figures draw.

import { minutes, type Stats } from './series';

/**
 * The codes a draw answers, in the order the dashboard lists them: success,
 * the quota refusals, the protections (degrade, rate limit, busy), the
 * refusals of the request, failures. Codes not listed follow, sorted.
 */
export const CODE_ORDER = [
  '0000',
  'ERR_BIZ_006',
  'ERR_BIZ_007',
  'ERR_BIZ_008',
  '0004',
  '0005',
  '0006',
  '0007',
  '0003',
  '0008',
  '0002',
  'ERR_BIZ_003',
  'ERR_BIZ_004',
  'ERR_BIZ_009',
  'ERR_BIZ_001',
  'ERR_BIZ_002',
  '0001',
] as const;

/** The chart colour of each code (green success, amber refusals, red failures); others use the palette. */
export const CODE_COLOURS: Record<string, string> = {
  '0000': '#389e0d',
  ERR_BIZ_006: '#d48806',
  ERR_BIZ_007: '#faad14',
  ERR_BIZ_008: '#ffc53d',
  '0004': '#8c8c8c',
  '0005': '#722ed1',
  '0006': '#cf1322',
  '0007': '#ff7875',
  '0003': '#1677ff',
  '0001': '#a8071a',
};

/** Sorts codes as CODE_ORDER, unknown codes last in text order. */
export function sortCodes(codes: Iterable<string>): string[] {
  const rank = (c: string) => {
    const i = (CODE_ORDER as readonly string[]).indexOf(c);
    return i < 0 ? CODE_ORDER.length : i;
  };
  return [...new Set(codes)].sort((a, b) => rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0));
}

/** Draw answers per minute by code: one series per code seen, a value per minute (0 where none). */
export interface CodeSeries {
  minutes: number[];
  codes: { code: string; counts: number[] }[];
}

/**
 * codesByMinute spreads drawCodes over every minute of the last hour
 * (stats.time − 60 min … stats.time), one series per code in CODE_ORDER.
 */
export function codesByMinute(s: Pick<Stats, 'time' | 'drawCodes'>): CodeSeries {
  const ms = minutes(s.time - 60 * 60000, s.time);
  const index = new Map(ms.map((m, i) => [m, i]));
  const byCode = new Map<string, number[]>();
  for (const d of s.drawCodes ?? []) {
    const i = index.get(d.minute);
    if (i === undefined) continue;
    for (const [code, n] of Object.entries(d.counts)) {
      let row = byCode.get(code);
      if (!row) {
        row = ms.map(() => 0);
        byCode.set(code, row);
      }
      row[i] += n;
    }
  }
  return { minutes: ms, codes: sortCodes(byCode.keys()).map((code) => ({ code, counts: byCode.get(code)! })) };
}

/** One code's figures: answers per second over the last full minute, and in the last hour. */
export interface CodeFigure {
  code: string;
  perSecond: number;
  lastHour: number;
}

/**
 * codeFigures lists every code answered in the last hour (or in the last full
 * minute) with its rate and count, in CODE_ORDER. The rate is the server's
 * drawsPerSecond, 0 for a code not answered in the last full minute.
 */
export function codeFigures(s: Pick<Stats, 'drawCodes' | 'drawsPerSecond'>): CodeFigure[] {
  const hour = new Map<string, number>();
  for (const d of s.drawCodes ?? []) {
    for (const [code, n] of Object.entries(d.counts)) hour.set(code, (hour.get(code) ?? 0) + n);
  }
  const rates = s.drawsPerSecond ?? {};
  return sortCodes([...hour.keys(), ...Object.keys(rates)]).map((code) => ({
    code,
    perSecond: rates[code] ?? 0,
    lastHour: hour.get(code) ?? 0,
  }));
}

/** All draw answers per second over the last full minute, two decimals. */
export function totalPerSecond(figures: CodeFigure[]): number {
  return Math.round(figures.reduce((sum, f) => sum + f.perSecond, 0) * 100) / 100;
}
