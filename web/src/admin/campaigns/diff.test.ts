import { describe, expect, it } from 'vitest';
import { diffSummary } from './diff';

describe('diffSummary', () => {
  it('is empty for equal texts', () => {
    expect(diffSummary('a\nb\n', 'a\nb\n')).toEqual({ sections: 0, added: 0, removed: 0 });
  });
  it('counts a removed line', () => {
    expect(diffSummary('a\nb\nc\n', 'a\nc\n')).toEqual({ sections: 1, added: 0, removed: 1 });
  });
  it('counts a changed line as one removed and one added, sections apart', () => {
    const stored = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', ''].join('\n');
    const edited = ['a', 'B', 'c', 'd', 'e', 'f', 'g', 'h', 'i', ''].join('\n');
    expect(diffSummary(stored, edited)).toEqual({ sections: 2, added: 2, removed: 1 });
  });
});
