// The server's campaign problems in the editor: each item of a validate or
// apply answer ({path, message, line, column}, the column counted in
// characters) becomes a CodeMirror diagnostic at the right offset of the
// document (CodeMirror counts UTF-16 units, so a character outside the BMP
// counts two).

import type { Diagnostic } from '@codemirror/lint';
import type { Text } from '@codemirror/state';
import { AdminError } from '../api';

/** One problem of a campaign file as the server locates it (1-based). */
export interface ProblemItem {
  path: string;
  message: string;
  line: number;
  column: number;
}

/** The data of a validate answer, or of its 0002 error. */
interface ProblemsData {
  problems?: string[];
  items?: ProblemItem[];
}

/** The code of an invalid campaign file (and of any bad request). */
export const ILLEGAL_PARAMETER = '0002';

/**
 * problemsOf reads the problems of a failed validate or apply: the items when
 * the server sent them, else the problem strings (or the info text) at line 1,
 * column 1. It returns undefined for any other failure (network, 401, 0001),
 * which is an error to show, not a problem of the file.
 */
export function problemsOf(e: unknown): ProblemItem[] | undefined {
  if (!(e instanceof AdminError) || e.code !== ILLEGAL_PARAMETER) return undefined;
  const data = (e.data ?? {}) as ProblemsData;
  if (Array.isArray(data.items) && data.items.length > 0) {
    return data.items.map((it) => ({
      path: String(it.path ?? ''),
      message: String(it.message ?? ''),
      line: Number(it.line) || 1,
      column: Number(it.column) || 1,
    }));
  }
  if (Array.isArray(data.problems) && data.problems.length > 0) {
    return data.problems.map((p) => ({ path: '', message: String(p), line: 1, column: 1 }));
  }
  return [{ path: '', message: e.info, line: 1, column: 1 }];
}

/**
 * offsetOf is the document offset of a 1-based line and character column,
 * clamped into the document: a line past the end is the last line, a column
 * past the end of its line is the line's end.
 */
export function offsetOf(doc: Text, line: number, column: number): number {
  const l = doc.line(Math.min(Math.max(1, Math.floor(line) || 1), doc.lines));
  let units = 0;
  let chars = Math.max(0, (Math.floor(column) || 1) - 1);
  for (const ch of l.text) {
    if (chars === 0) break;
    units += ch.length; // 2 for a surrogate pair
    chars--;
  }
  return l.from + units;
}

/** Characters that end a YAML scalar in a flow mapping or sequence. */
const SCALAR_END = /[\s,\]}]/;

/**
 * rangeAt is what a problem at offset marks: the scalar starting there (up to
 * a space, comma or closing bracket, or the closing quote of a quoted scalar),
 * at least one character unless the line is empty.
 */
export function rangeAt(doc: Text, from: number): { from: number; to: number } {
  const l = doc.lineAt(from);
  const rest = l.text.slice(from - l.from);
  if (rest.length === 0) return { from, to: from };
  let len: number;
  const quote = rest[0];
  if (quote === '"' || quote === "'") {
    const close = rest.indexOf(quote, 1);
    len = close > 0 ? close + 1 : rest.length;
  } else {
    const m = SCALAR_END.exec(rest.slice(1));
    len = m ? m.index + 1 : rest.length;
    // "key: value" at a key: mark the key only.
    const colon = rest.slice(0, len).indexOf(':');
    if (colon > 0) len = colon;
  }
  return { from, to: from + len };
}

/** The text a person reads for a problem: "path: message", or the message. */
export function problemText(p: ProblemItem): string {
  return p.path ? `${p.path}: ${p.message}` : p.message;
}

/** diagnosticsOf places every problem in doc as an error diagnostic. */
export function diagnosticsOf(doc: Text, problems: ProblemItem[]): Diagnostic[] {
  return problems.map((p) => {
    const { from, to } = rangeAt(doc, offsetOf(doc, p.line, p.column));
    return { from, to, severity: 'error', source: 'server', message: problemText(p) };
  });
}
