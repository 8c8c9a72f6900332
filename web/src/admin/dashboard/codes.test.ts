import { describe, expect, it } from 'vitest';
import { codeFigures, codesByMinute, sortCodes, totalPerSecond } from './codes';

const T = Date.UTC(2026, 10, 30, 12, 30, 15); // 12:30:15
const M = (h: number, m: number) => Date.UTC(2026, 10, 30, h, m);

describe('codesByMinute', () => {
  it('spreads the codes over the minutes of the last hour, a series per code in the dashboard order', () => {
    const s = codesByMinute({
      time: T,
      drawCodes: [
        { minute: M(10, 0), counts: { '0000': 99 } }, // outside the window: left out
        { minute: M(11, 31), counts: { '0004': 2, '0000': 1 } },
        { minute: M(12, 29), counts: { ERR_BIZ_006: 5, '0000': 60, X_NEW: 1 } },
        { minute: M(12, 30), counts: { '0000': 3, '0001': 1 } },
      ],
    });
    expect(s.minutes).toHaveLength(61);
    expect(s.minutes[0]).toBe(M(11, 30));
    expect(s.codes.map((c) => c.code)).toEqual(['0000', 'ERR_BIZ_006', '0004', '0001', 'X_NEW']);
    const row = (code: string) => s.codes.find((c) => c.code === code)!.counts;
    expect(row('0000')[1]).toBe(1);
    expect(row('0000')[59]).toBe(60);
    expect(row('0000')[60]).toBe(3);
    expect(row('0000').reduce((a, b) => a + b)).toBe(64);
    expect(row('0004')[1]).toBe(2);
    expect(row('0004')[2]).toBe(0);
    expect(row('ERR_BIZ_006')[59]).toBe(5);
  });
  it('draws nothing without answers, or from a server without drawCodes', () => {
    expect(codesByMinute({ time: T, drawCodes: [] }).codes).toEqual([]);
    expect(codesByMinute({ time: T } as never).codes).toEqual([]);
  });
});

describe('codeFigures', () => {
  it('gives each code its rate of the last full minute and its count of the hour', () => {
    const f = codeFigures({
      drawCodes: [
        { minute: M(12, 28), counts: { '0005': 4 } },
        { minute: M(12, 29), counts: { ERR_BIZ_006: 6, '0000': 120 } },
        { minute: M(12, 30), counts: { '0000': 3 } },
      ],
      drawsPerSecond: { '0000': 2, ERR_BIZ_006: 0.1 },
    });
    expect(f).toEqual([
      { code: '0000', perSecond: 2, lastHour: 123 },
      { code: 'ERR_BIZ_006', perSecond: 0.1, lastHour: 6 },
      { code: '0005', perSecond: 0, lastHour: 4 },
    ]);
    expect(totalPerSecond(f)).toBe(2.1);
  });
});

describe('sortCodes', () => {
  it('orders known codes as the dashboard lists them, unknown ones last, each once', () => {
    expect(sortCodes(['0001', 'ZZ', '0000', '0003', 'AA', '0000', '0004'])).toEqual(['0000', '0004', '0003', '0001', 'AA', 'ZZ']);
  });
});
