// How an edited campaign differs from the stored one, for the apply
// confirmation: the changed sections and the lines added and removed.

import { Chunk } from '@codemirror/merge';
import { Text } from '@codemirror/state';

/** What changed between two texts. */
export interface DiffSummary {
  /** Separate changed sections (a merge view's chunks). */
  sections: number;
  /** Lines of the new text inside changed sections, and of the old one. */
  added: number;
  removed: number;
}

// The lines a chunk covers in one document: from its start to its end (the
// end of its last line); none when it covers nothing there.
function lines(doc: Text, from: number, to: number, end: number): number {
  if (to <= from) return 0;
  return doc.lineAt(Math.min(end, doc.length)).number - doc.lineAt(from).number + 1;
}

/** diffSummary compares edited against stored, line by line. */
export function diffSummary(stored: string, edited: string): DiffSummary {
  const a = Text.of(stored.split('\n'));
  const b = Text.of(edited.split('\n'));
  const chunks = Chunk.build(a, b);
  let added = 0;
  let removed = 0;
  for (const c of chunks) {
    removed += lines(a, c.fromA, c.toA, c.endA);
    added += lines(b, c.fromB, c.toB, c.endB);
  }
  return { sections: chunks.length, added, removed };
}
