import { forwardRef, useCallback, useEffect, useImperativeHandle, useLayoutEffect, useMemo, useRef, useState } from 'react';
import { LuckyGrid, LuckyWheel, type LuckyPrize } from '@lucky-canvas/react';
import type { AwardItem } from '../api/client';
import type { MessageKey } from '../common/i18n';
import { awardImage, lockIcon } from './icons';
import { gridCells } from './tiers';

export type BoardKind = 'grid' | 'wheel';

/** What the page asks of the board: spin to a position and wait for it to stop. */
export interface BoardHandle {
  spin(index: number): Promise<void>;
}

interface Props {
  kind: BoardKind;
  /** Prizes in board order (positions 0..n-1). */
  slots: AwardItem[];
  busy: boolean;
  disabled: boolean;
  reducedMotion: boolean;
  onDraw: () => void;
  t: (k: MessageKey, args?: Record<string, string | number>) => string;
}

/** Board positions for the awards: the grid has 8 cells around the button, filled in sort order (repeating when fewer). */
export function boardSlots(kind: BoardKind, awards: readonly AwardItem[]): AwardItem[] {
  const sorted = [...awards].sort((a, b) => a.sort - b.sort);
  if (kind === 'wheel' || sorted.length === 0) return sorted;
  return gridCells.map((_, i) => sorted[i % sorted.length]);
}

function useWidth(ref: React.RefObject<HTMLDivElement | null>): number {
  const [w, setW] = useState(0);
  useLayoutEffect(() => {
    const el = ref.current;
    if (!el) return;
    const measure = () => setW(Math.floor(el.clientWidth));
    measure();
    const ro = new ResizeObserver(measure);
    ro.observe(el);
    return () => ro.disconnect();
  }, [ref]);
  return w;
}

const RED = '#e8453c';
const CELL = '#fff7e8';

export const Board = forwardRef<BoardHandle, Props>(function Board(props, ref) {
  const { kind, slots, t, reducedMotion } = props;
  const box = useRef<HTMLDivElement>(null);
  const width = useWidth(box);
  const size = Math.max(240, Math.min(width, 440));
  const lucky = useRef<LuckyGrid | LuckyWheel>(null);
  const ending = useRef<(() => void) | null>(null);
  const onDrawRef = useRef(props.onDraw);
  onDrawRef.current = props.onDraw;

  const prizes: LuckyPrize[] = useMemo(() => {
    const fs = Math.round(size / 30);
    return slots.map((a, i) => {
      const locked = !a.isAwardUnlock && a.waitUnLockCount > 0;
      const fonts = [{ text: a.awardTitle, top: kind === 'grid' ? '62%' : '12%', fontSize: `${fs}px`, fontColor: '#5b2a00', wordWrap: true, lengthLimit: '90%' }];
      if (locked) fonts.push({ text: t('lockedShort', { n: a.waitUnLockCount }), top: kind === 'grid' ? '80%' : '28%', fontSize: `${Math.max(9, fs - 3)}px`, fontColor: '#8a8a8a', wordWrap: true, lengthLimit: '90%' });
      const img = { src: locked ? lockIcon : awardImage(a), width: kind === 'grid' ? '40%' : '22%', top: kind === 'grid' ? '10%' : locked ? '42%' : '34%' };
      if (kind === 'grid') {
        return { ...gridCells[i], background: locked ? '#f1f1f1' : CELL, borderRadius: 10, fonts, imgs: [img] };
      }
      return { background: i % 2 ? '#ffe2b8' : CELL, fonts, imgs: [img] };
    });
  }, [slots, kind, size, t]);

  const disabled = props.disabled || props.busy;
  const buttons = useMemo(() => {
    const label = props.busy ? t('drawing') : t('draw');
    const bg = disabled ? '#b8b8b8' : RED;
    if (kind === 'grid') {
      return [{ x: 1, y: 1, background: bg, borderRadius: 12, fonts: [{ text: label, top: '38%', fontSize: `${Math.round(size / 18)}px`, fontColor: '#fff', fontWeight: 'bold' }] }];
    }
    return [
      { radius: '40%', background: '#ffcf8a' },
      { radius: '34%', background: bg, pointer: true, fonts: [{ text: label, top: '-14px', fontSize: `${Math.round(size / 20)}px`, fontColor: '#fff', fontWeight: 'bold' }] },
    ];
  }, [kind, props.busy, disabled, size, t]);

  const blocks = useMemo(
    () => (kind === 'grid' ? [{ padding: '10px', background: RED, borderRadius: 16 }, { padding: '6px', background: '#ffd28a', borderRadius: 12 }] : [{ padding: '12px', background: RED }, { padding: '6px', background: '#ffd28a' }]),
    [kind],
  );
  const config = useMemo(
    () => (reducedMotion ? { speed: 10, accelerationTime: 60, decelerationTime: 240 } : { speed: 20, accelerationTime: 900, decelerationTime: 1800 }),
    [reducedMotion],
  );

  const onStart = useCallback(() => onDrawRef.current(), []);
  // Where the canvas itself says it stopped, for people who cannot see it and
  // for the browser tests (data-stopped-award).
  const [stopped, setStopped] = useState<number | null>(null);
  const prizesRef = useRef(prizes);
  prizesRef.current = prizes;
  const slotsRef = useRef(slots);
  slotsRef.current = slots;
  const onEnd = useCallback((prize: LuckyPrize | undefined) => {
    const i = prize ? prizesRef.current.indexOf(prize) : -1;
    setStopped(i >= 0 ? slotsRef.current[i].awardId : null);
    const done = ending.current;
    ending.current = null;
    done?.();
  }, []);

  useImperativeHandle(
    ref,
    () => ({
      spin(index: number) {
        return new Promise<void>((resolve) => {
          const inst = lucky.current;
          if (!inst || index < 0) {
            resolve();
            return;
          }
          let finished = false;
          const finish = () => {
            if (!finished) {
              finished = true;
              resolve();
            }
          };
          ending.current = finish;
          inst.play();
          window.setTimeout(() => inst.stop(index), reducedMotion ? 30 : 900);
          // The canvas reports its end through onEnd; never wait past the longest spin.
          window.setTimeout(finish, reducedMotion ? 3000 : 8000);
        });
      },
    }),
    [reducedMotion],
  );

  useEffect(() => () => {
    ending.current?.();
  }, []);

  return (
    <div className="board" ref={box}>
      {width > 0 && slots.length > 0 && (
        <div className="board-canvas" aria-hidden="true" style={{ width: size, height: size }} data-board={kind} data-stopped-award={stopped ?? ''}>
          {kind === 'grid' ? (
            <LuckyGrid
              key={`grid-${size}`}
              ref={lucky as React.RefObject<LuckyGrid>}
              width={`${size}px`}
              height={`${size}px`}
              rows={3}
              cols={3}
              blocks={blocks}
              prizes={prizes}
              buttons={buttons}
              defaultConfig={config}
              activeStyle={{ background: '#ffe066', shadow: '0 0 8px #f0a500' }}
              onStart={onStart}
              onEnd={onEnd}
            />
          ) : (
            <LuckyWheel
              key={`wheel-${size}`}
              ref={lucky as React.RefObject<LuckyWheel>}
              width={`${size}px`}
              height={`${size}px`}
              blocks={blocks}
              prizes={prizes}
              buttons={buttons}
              defaultConfig={config}
              onStart={onStart}
              onEnd={onEnd}
            />
          )}
        </div>
      )}
      {/* Busy keeps the button focusable (aria-disabled), so keyboard focus stays on it through a draw. */}
      <button type="button" className="draw-button" data-testid="draw" onClick={props.onDraw} disabled={props.disabled} aria-disabled={props.busy} aria-busy={props.busy}>
        {props.busy ? t('drawing') : t('draw')}
      </button>
    </div>
  );
});
