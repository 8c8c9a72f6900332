// The campaign editor: CodeMirror 6 with YAML, line numbers, undo history and
// a lint gutter for the server's problems; and a read-only unified diff of a
// text against the stored campaign (@codemirror/merge). Both are plain
// EditorViews owned by a React component.

import { defaultKeymap, history, historyKeymap } from '@codemirror/commands';
import { yaml } from '@codemirror/lang-yaml';
import { bracketMatching, defaultHighlightStyle, foldGutter, indentOnInput, syntaxHighlighting } from '@codemirror/language';
import { lintGutter, setDiagnostics, type Diagnostic } from '@codemirror/lint';
import { unifiedMergeView } from '@codemirror/merge';
import { EditorSelection, EditorState, type Extension } from '@codemirror/state';
import {
  EditorView,
  highlightActiveLine,
  highlightActiveLineGutter,
  highlightSpecialChars,
  keymap,
  lineNumbers,
} from '@codemirror/view';
import { forwardRef, useEffect, useImperativeHandle, useRef } from 'react';
import { offsetOf } from './problems';

/** What the campaign screen does with the editor. */
export interface EditorHandle {
  /** Replace the whole text (an upload, a revert, the stored file after an apply). */
  setText(text: string): void;
  /** The current text. */
  text(): string;
  /** Place the server's diagnostics, computed for text; ignored if the text has changed since. */
  setDiagnostics(text: string, diagnostics: (doc: EditorState['doc']) => Diagnostic[]): void;
  /** Move the cursor to a 1-based line and character column and show it. */
  goTo(line: number, column: number): void;
}

const theme = EditorView.theme({
  '&': { height: 'min(62vh, 640px)', border: '1px solid #d9d9d9', borderRadius: '6px', fontSize: '13px' },
  '&.cm-focused': { outline: '2px solid #d4380d55' },
  '.cm-scroller': { overflow: 'auto', fontFamily: 'ui-monospace, SFMono-Regular, Menlo, Consolas, monospace' },
});

function base(): Extension[] {
  return [
    lineNumbers(),
    foldGutter(),
    highlightSpecialChars(),
    highlightActiveLineGutter(),
    highlightActiveLine(),
    history(),
    indentOnInput(),
    bracketMatching(),
    syntaxHighlighting(defaultHighlightStyle, { fallback: true }),
    yaml(),
    theme,
  ];
}

interface EditorProps {
  /** The text to start with. */
  initial: string;
  /** Called with the new text after every change. */
  onChange: (text: string) => void;
  label: string;
}

/** The YAML editor with lint markers. */
export const CampaignEditor = forwardRef<EditorHandle, EditorProps>(function CampaignEditor({ initial, onChange, label }, ref) {
  const host = useRef<HTMLDivElement>(null);
  const view = useRef<EditorView | null>(null);
  const changed = useRef(onChange);
  changed.current = onChange;

  useEffect(() => {
    if (!host.current) return;
    const v = new EditorView({
      parent: host.current,
      state: EditorState.create({
        doc: initial,
        extensions: [
          ...base(),
          lintGutter(),
          keymap.of([...defaultKeymap, ...historyKeymap]),
          EditorView.contentAttributes.of({ 'aria-label': label }),
          EditorView.updateListener.of((u) => {
            if (u.docChanged) changed.current(u.state.doc.toString());
          }),
        ],
      }),
    });
    view.current = v;
    return () => {
      v.destroy();
      view.current = null;
    };
    // The editor is created once; later texts arrive through setText.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);

  useImperativeHandle(
    ref,
    () => ({
      setText(text: string) {
        const v = view.current;
        if (!v || v.state.doc.toString() === text) return;
        v.dispatch({ changes: { from: 0, to: v.state.doc.length, insert: text }, selection: EditorSelection.cursor(0) });
      },
      text() {
        return view.current?.state.doc.toString() ?? '';
      },
      setDiagnostics(text, diagnostics) {
        const v = view.current;
        if (!v || v.state.doc.toString() !== text) return;
        v.dispatch(setDiagnostics(v.state, diagnostics(v.state.doc)));
      },
      goTo(line, column) {
        const v = view.current;
        if (!v) return;
        const at = offsetOf(v.state.doc, line, column);
        v.dispatch({ selection: EditorSelection.cursor(at), effects: EditorView.scrollIntoView(at, { y: 'center' }) });
        v.focus();
      },
    }),
    [],
  );

  return <div ref={host} data-testid="campaign-editor" />;
});

/** A read-only unified diff of text against original (the stored campaign). */
export function CampaignDiff({ original, text, label }: { original: string; text: string; label: string }) {
  const host = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (!host.current) return;
    const v = new EditorView({
      parent: host.current,
      state: EditorState.create({
        doc: text,
        extensions: [
          ...base(),
          EditorState.readOnly.of(true),
          EditorView.editable.of(false),
          EditorView.contentAttributes.of({ 'aria-label': label }),
          unifiedMergeView({ original, mergeControls: false, highlightChanges: true, gutter: true, collapseUnchanged: { margin: 3, minSize: 6 } }),
        ],
      }),
    });
    return () => v.destroy();
  }, [original, text, label]);
  return <div ref={host} data-testid="campaign-diff" />;
}
