import { Text } from '@codemirror/state';
import { describe, expect, it } from 'vitest';
import { AdminError } from '../api';
import { diagnosticsOf, offsetOf, problemsOf, rangeAt } from './problems';

const doc = Text.of([
  'version: 1',
  'strategies:',
  '  - id: 1',
  '    awards:',
  '      - {award: 101, title: 小米台灯, count: 10, rate: abc, tree: t1, sort: 1}',
  '      - {award: 102, title: "😀 gift", count: 10, rate: "0.5", tree: gone, sort: 2}',
  '',
]);

describe('offsetOf', () => {
  it('counts columns in characters, surrogate pairs as one', () => {
    // Line 6: the emoji is one character but two UTF-16 units.
    const line = doc.line(6);
    const col = [...line.text].indexOf('g', [...line.text].indexOf('😀')) + 1; // "gift"
    expect(doc.sliceString(offsetOf(doc, 6, col), offsetOf(doc, 6, col) + 4)).toBe('gift');
    const tree = [...line.text].join('').indexOf('gone');
    const treeCol = [...line.text.slice(0, tree)].length + 1;
    expect(doc.sliceString(offsetOf(doc, 6, treeCol), offsetOf(doc, 6, treeCol) + 4)).toBe('gone');
  });
  it('clamps to the document', () => {
    expect(offsetOf(doc, 0, 0)).toBe(0);
    expect(offsetOf(doc, 99, 1)).toBe(doc.line(doc.lines).from);
    expect(offsetOf(doc, 1, 99)).toBe(doc.line(1).to);
  });
});

describe('rangeAt', () => {
  it('marks a plain scalar up to the comma, a quoted one with its quotes, a key without its value', () => {
    const l5 = doc.line(5);
    const abc = l5.from + l5.text.indexOf('abc');
    expect(doc.sliceString(abc, rangeAt(doc, abc).to)).toBe('abc');
    const l6 = doc.line(6);
    const q = l6.from + l6.text.indexOf('"0.5"');
    expect(doc.sliceString(q, rangeAt(doc, q).to)).toBe('"0.5"');
    const key = doc.line(2).from;
    expect(doc.sliceString(key, rangeAt(doc, key).to)).toBe('strategies');
    const empty = doc.line(7).from;
    expect(rangeAt(doc, empty)).toEqual({ from: empty, to: empty });
  });
});

describe('diagnosticsOf', () => {
  it('places server items at their line and column', () => {
    const l5 = [...doc.line(5).text];
    const col = l5.join('').indexOf('abc');
    const ds = diagnosticsOf(doc, [
      { path: 'strategies[0].awards[0].rate', message: 'bad rate', line: 5, column: [...l5.join('').slice(0, col)].length + 1 },
      { path: '', message: 'syntax', line: 1, column: 1 },
    ]);
    expect(ds).toHaveLength(2);
    expect(doc.lineAt(ds[0].from).number).toBe(5);
    expect(doc.sliceString(ds[0].from, ds[0].to)).toBe('abc');
    expect(ds[0].message).toBe('strategies[0].awards[0].rate: bad rate');
    expect(ds[0].severity).toBe('error');
    expect(doc.sliceString(ds[1].from, ds[1].to)).toBe('version');
  });
});

describe('problemsOf', () => {
  it('reads items, falls back to problem strings and the info, and ignores other failures', () => {
    const items = [{ path: 'a', message: 'm', line: 3, column: 4 }];
    expect(problemsOf(new AdminError('0002', '1 problem(s)', 200, { problems: ['a: m'], items }))).toEqual(items);
    expect(problemsOf(new AdminError('0002', '1 problem(s)', 200, { problems: ['a: m'] }))).toEqual([{ path: '', message: 'a: m', line: 1, column: 1 }]);
    expect(problemsOf(new AdminError('0002', 'request body is empty', 200))).toEqual([{ path: '', message: 'request body is empty', line: 1, column: 1 }]);
    expect(problemsOf(new AdminError('0001', 'boom', 500))).toBeUndefined();
    expect(problemsOf(new Error('x'))).toBeUndefined();
  });
});
