import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { ApiError, Client, type AwardItem, type DrawResult, type Identity, type SKUProduct } from '../api/client';
import { Dialog } from '../common/Dialog';
import { codeMessage, type Lang, type MessageKey, useLang } from '../common/i18n';
import { parseStart } from '../common/identity';
import { asApiError, useQuery } from '../common/useQuery';
import { Board, boardSlots, type BoardHandle, type BoardKind } from './Board';
import { History } from './History';
import { awardImage } from './icons';
import { stopIndex, tiers } from './tiers';

type T = (k: MessageKey, args?: Record<string, string | number>) => string;

/** A message shown in the page (never alert()), announced through the live region. */
interface Notice {
  kind: 'error' | 'info';
  text: string;
  code?: string;
}

const BOARD_KEY = 'bigmarket.board';

function storedBoard(): BoardKind {
  try {
    return window.localStorage.getItem(BOARD_KEY) === 'wheel' ? 'wheel' : 'grid';
  } catch {
    return 'grid';
  }
}

function useReducedMotion(): boolean {
  const [reduced, setReduced] = useState(() => window.matchMedia?.('(prefers-reduced-motion: reduce)').matches ?? false);
  useEffect(() => {
    const mq = window.matchMedia?.('(prefers-reduced-motion: reduce)');
    if (!mq) return;
    const on = () => setReduced(mq.matches);
    mq.addEventListener('change', on);
    return () => mq.removeEventListener('change', on);
  }, []);
  return reduced;
}

function money(n: number | undefined, lang: Lang): string {
  return (n ?? 0).toLocaleString(lang, { minimumFractionDigits: 2, maximumFractionDigits: 2 });
}

function duration(ms: number, lang: Lang): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  const d = Math.floor(s / 86400);
  const hh = String(Math.floor((s % 86400) / 3600)).padStart(2, '0');
  const mm = String(Math.floor((s % 3600) / 60)).padStart(2, '0');
  const ss = String(s % 60).padStart(2, '0');
  const days = d > 0 ? (lang === 'zh-CN' ? `${d} 天 ` : `${d}d `) : '';
  return `${days}${hh}:${mm}:${ss}`;
}

export function App() {
  const [lang, setLang, t] = useLang();
  const [start, setStart] = useState(() => parseStart(window.location.search, window.location.hash));
  // Keep the token out of the address bar (and history) once read.
  useEffect(() => {
    if (window.location.hash.includes('token=')) {
      window.history.replaceState(null, '', window.location.pathname + window.location.search);
    }
    const onMessage = (e: MessageEvent) => {
      const d: unknown = e.data;
      if (e.source === window.parent && typeof d === 'object' && d !== null && (d as { type?: unknown }).type === 'bigmarket:token') {
        const token = (d as { token?: unknown }).token;
        if (typeof token === 'string' && token) setStart((s) => ({ ...s, ...parseStart('', `#token=${encodeURIComponent(token)}`), activityId: s.activityId }));
      }
    };
    window.addEventListener('message', onMessage);
    // A host app framing the page learns it may now post the token: a
    // message posted before this listener existed would be lost.
    if (window.parent !== window) window.parent.postMessage({ type: 'bigmarket:ready' }, '*');
    return () => window.removeEventListener('message', onMessage);
  }, []);

  return (
    <div className="page">
      <header className="top">
        <h1>{t('title')}</h1>
        <button type="button" className="link" aria-label={t('langLabel')} onClick={() => setLang(lang === 'en' ? 'zh-CN' : 'en')}>
          {t('lang')}
        </button>
      </header>
      {start.identity ? (
        <Lottery key={JSON.stringify(start)} identity={start.identity} activityParam={start.activityId} lang={lang} t={t} />
      ) : (
        <IdentityForm t={t} activityId={start.activityId} onSubmit={(userId, activityId) => {
          const q = new URLSearchParams({ userId, ...(activityId ? { activityId: String(activityId) } : {}) });
          window.history.replaceState(null, '', `?${q.toString()}`);
          setStart({ identity: { kind: 'open', userId }, activityId });
        }} />
      )}
    </div>
  );
}

function IdentityForm(props: { t: T; activityId: number | null; onSubmit: (userId: string, activityId: number | null) => void }) {
  const { t } = props;
  const [user, setUser] = useState('');
  const [aid, setAid] = useState(props.activityId ? String(props.activityId) : '');
  return (
    <form
      className="card identity"
      onSubmit={(e) => {
        e.preventDefault();
        const u = user.trim();
        const n = Number(aid);
        if (u) props.onSubmit(u, Number.isSafeInteger(n) && n > 0 ? n : null);
      }}
    >
      <p>{t('userPrompt')}</p>
      <label>
        {t('userIdLabel')}
        <input name="userId" value={user} onChange={(e) => setUser(e.target.value)} required maxLength={64} autoComplete="username" />
      </label>
      <label>
        {t('activityIdLabel')}
        <input name="activityId" value={aid} onChange={(e) => setAid(e.target.value)} inputMode="numeric" pattern="[0-9]*" />
      </label>
      <button type="submit" className="primary">{t('go')}</button>
    </form>
  );
}

function Lottery(props: { identity: Identity; activityParam: number | null; lang: Lang; t: T }) {
  const { identity, lang, t } = props;
  const client = useMemo(() => new Client(identity, { lang }), [identity, lang]);
  const [notice, setNotice] = useState<Notice | null>(null);
  const [live, setLive] = useState('');
  const say = useCallback((n: Notice | null) => {
    setNotice(n);
    if (n) setLive(n.text);
  }, []);
  const fail = useCallback((e: unknown) => {
    const err = asApiError(e);
    say({ kind: 'error', text: codeMessage(err.code, lang), code: err.code });
  }, [lang, say]);

  // Which activity: the parameter, else the only open one.
  const activities = useQuery(props.activityParam ? null : () => client.activities(), [client, props.activityParam]);
  const activityId = props.activityParam ?? (() => {
    const open = (activities.data ?? []).filter((a) => a.state === 'open' && Date.parse(a.endDateTime) > Date.parse(a.now));
    return open.length === 1 ? open[0].activityId : null;
  })();

  const [chosen, setChosen] = useState<number | null>(null);
  if (!activityId && !chosen) {
    if (activities.loading || (!activities.data && !activities.error)) return <p className="card">{t('loading')}</p>;
    if (activities.error) return <p className="card notice error" role="alert">{codeMessage(activities.error.code, lang)}</p>;
    const open = (activities.data ?? []).filter((a) => a.state === 'open' && Date.parse(a.endDateTime) > Date.parse(a.now));
    if (open.length === 0) return <p className="card notice error" role="alert">{t('noActivity')}</p>;
    return (
      <section className="card" aria-labelledby="choose-h" data-testid="choose-activity">
        <h2 id="choose-h">{t('chooseActivity')}</h2>
        <ul className="rows">
          {open.map((a) => (
            <li key={a.activityId}>
              <span className="grow">{a.activityName}</span>
              <button
                type="button"
                className="primary"
                onClick={() => {
                  const q = new URLSearchParams(window.location.search);
                  q.set('activityId', String(a.activityId));
                  window.history.replaceState(null, '', `?${q.toString()}${window.location.hash}`);
                  setChosen(a.activityId);
                }}
              >
                {t('go')}
              </button>
            </li>
          ))}
        </ul>
      </section>
    );
  }
  return <Activity client={client} activityId={(activityId ?? chosen) as number} lang={lang} t={t} notice={notice} say={say} fail={fail} live={live} setLive={setLive} />;
}

function Activity(props: {
  client: Client;
  activityId: number;
  lang: Lang;
  t: T;
  notice: Notice | null;
  say: (n: Notice | null) => void;
  fail: (e: unknown) => void;
  live: string;
  setLive: (s: string) => void;
}) {
  const { client, activityId, lang, t, say, fail } = props;
  const info = useQuery(() => client.activity(activityId), [client, activityId]);
  const awards = useQuery(() => client.awards(activityId), [client, activityId]);
  const account = useQuery(() => client.account(activityId), [client, activityId]);
  const credit = useQuery(() => client.credit(), [client]);
  const signed = useQuery(() => client.isSignedIn(), [client]);
  const weights = useQuery(() => client.ruleWeight(activityId).catch((e: unknown) => {
    if (e instanceof ApiError && e.code === 'ERR_BIZ_001') return [];
    throw e;
  }), [client, activityId]);
  const skus = useQuery(() => client.skus(activityId), [client, activityId]);
  const [historyTick, setHistoryTick] = useState(0);

  const [kind, setKind] = useState<BoardKind>(storedBoard);
  const reduced = useReducedMotion();
  const board = useRef<BoardHandle>(null);
  const busyRef = useRef(false);
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<DrawResult | null>(null);
  const [confirm, setConfirm] = useState<SKUProduct | null>(null);
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const id = window.setInterval(() => setNow(Date.now()), 1000);
    return () => window.clearInterval(id);
  }, []);

  const refreshUser = useCallback(async () => {
    await Promise.all([awards.reload(), account.reload(), credit.reload(), signed.reload(), weights.reload(), skus.reload()]);
    setHistoryTick((n) => n + 1);
  }, [awards, account, credit, signed, weights, skus]);

  // Rewards of a sign-in or a draw are delivered asynchronously: look again shortly after.
  const later = useCallback(() => {
    for (const ms of [1200, 3500]) window.setTimeout(() => void refreshUser(), ms);
  }, [refreshUser]);

  const chooseKind = (k: BoardKind) => {
    setKind(k);
    try {
      window.localStorage.setItem(BOARD_KEY, k);
    } catch {
      /* private mode: not remembered */
    }
  };

  const slots = useMemo(() => boardSlots(kind, awards.data ?? []), [kind, awards.data]);

  // Server time offset, so the countdown does not trust the device clock.
  const skew = info.data ? Date.parse(info.data.now) - (info.fetchedAt ?? Date.now()) : 0;
  const serverNow = now + skew;
  const begin = info.data ? Date.parse(info.data.beginDateTime) : 0;
  const end = info.data ? Date.parse(info.data.endDateTime) : 0;
  const phase: 'loading' | 'closed' | 'before' | 'after' | 'open' = !info.data
    ? 'loading'
    : info.data.state !== 'open'
      ? 'closed'
      : serverNow < begin
        ? 'before'
        : serverNow > end
          ? 'after'
          : 'open';

  const doDraw = useCallback(async () => {
    if (busyRef.current || phase !== 'open') return;
    busyRef.current = true;
    setBusy(true);
    say(null);
    try {
      let r: DrawResult;
      try {
        r = await client.draw(activityId);
      } catch (e) {
        fail(e);
        return;
      }
      props.setLive(t('drawing'));
      await board.current?.spin(stopIndex(slots, r));
      setResult(r);
      props.setLive(t('resultText', { title: r.awardTitle }));
    } finally {
      busyRef.current = false;
      setBusy(false);
      void refreshUser();
      later();
    }
  }, [phase, client, activityId, fail, say, slots, refreshUser, later, t, props]);

  const doSignIn = async () => {
    try {
      await client.signIn();
      say({ kind: 'info', text: t('signInDone') });
    } catch (e) {
      fail(e);
    }
    await refreshUser();
    later();
  };

  const doExchange = async (s: SKUProduct) => {
    setConfirm(null);
    try {
      await client.exchange(s.sku);
      say({ kind: 'info', text: t(s.activityCount.totalCount === 1 ? 'exchanged1' : 'exchanged', { n: s.activityCount.totalCount }) });
    } catch (e) {
      fail(e);
    }
    await refreshUser();
  };

  const firstError = [info, awards, account, credit, signed, weights, skus].find((q) => q.error)?.error;
  const balance = credit.data ?? 0;
  const today = new Date(serverNow).toLocaleDateString(lang, { year: 'numeric', month: '2-digit', day: '2-digit' });

  return (
    <main className="grid-layout">
      <div className="sr-only" aria-live="polite" role="status" data-testid="live">{props.live}</div>
      {props.notice && (
        <div className={`notice ${props.notice.kind}`} data-testid="notice" data-code={props.notice.code ?? ''}>
          <span>{props.notice.text}</span>
          <button type="button" className="link" onClick={() => say(null)} aria-label={t('dismiss')}>×</button>
        </div>
      )}
      {!props.notice && firstError && (
        <div className="notice error" data-testid="notice" data-code={firstError.code}>
          <span>{codeMessage(firstError.code, lang)}</span>
        </div>
      )}

      <section className="card member" aria-labelledby="member-h" data-testid="member">
        <div className="member-head">
          <h2 id="member-h">
            {t('user')}: <span data-testid="user">{client.identity.kind === 'open' ? client.identity.userId : client.identity.userId ?? '—'}</span>
          </h2>
          {client.identity.kind === 'token' && <span className="badge">{t('tokenMode')}</span>}
        </div>
        <dl className="stats">
          <div>
            <dt>{t('credits')}</dt>
            <dd data-testid="credits">{money(credit.data, lang)}</dd>
          </div>
          <div>
            <dt>{t('drawsLeft')} · {t('total')}</dt>
            <dd data-testid="draws-total">{account.data?.totalCountSurplus ?? '–'}</dd>
          </div>
          <div>
            <dt>{t('month')}</dt>
            <dd data-testid="draws-month">{account.data?.monthCountSurplus ?? '–'}</dd>
          </div>
          <div>
            <dt>{t('today')}</dt>
            <dd data-testid="draws-day">{account.data?.dayCountSurplus ?? '–'}</dd>
          </div>
        </dl>
        <div className="member-actions">
          <span className="muted">{t('date')}: {today}</span>
          <button type="button" className={signed.data ? 'secondary' : 'primary'} data-testid="sign-in" disabled={signed.data !== false} onClick={doSignIn}>
            {signed.data ? t('signedIn') : t('signIn')}
          </button>
          <button type="button" className="secondary" data-testid="refresh" onClick={() => void refreshUser()}>{t('refresh')}</button>
        </div>
      </section>

      <section className="card activity" aria-labelledby="activity-h">
        <h2 id="activity-h" data-testid="activity-name">{info.data?.activityName ?? t('activity')}</h2>
        {info.data?.activityDesc && info.data.activityDesc !== info.data.activityName && <p>{info.data.activityDesc}</p>}
        {info.data && (
          <p className="muted" data-testid="period">
            {t('period')}: {new Date(begin).toLocaleString(lang)} – {new Date(end).toLocaleString(lang)}
            {' · '}
            {phase === 'before' ? t('startsIn', { t: duration(begin - serverNow, lang) }) : phase === 'open' ? t('endsIn', { t: duration(end - serverNow, lang) }) : ''}
          </p>
        )}
      </section>

      <section className="card board-card" aria-labelledby="board-h">
        <div className="board-head">
          <h2 id="board-h">{t('prizes')}</h2>
          <div role="radiogroup" aria-label={t('boardKind')} className="toggle">
            {(['grid', 'wheel'] as const).map((k) => (
              <button key={k} type="button" role="radio" aria-checked={kind === k} data-testid={`board-${k}`} className={kind === k ? 'on' : ''} onClick={() => chooseKind(k)}>
                {t(k)}
              </button>
            ))}
          </div>
        </div>
        {phase === 'open' || phase === 'loading' ? (
          <Board ref={board} kind={kind} slots={slots} busy={busy} disabled={phase !== 'open'} reducedMotion={reduced} onDraw={() => void doDraw()} t={t} />
        ) : (
          <p className="notice info" data-testid="activity-state">{phase === 'before' ? t('notStarted') : phase === 'after' ? t('ended') : t('closed')}</p>
        )}
        <PrizeList awards={awards.data ?? []} t={t} />
      </section>

      <Tiers items={weights.data ?? []} t={t} />

      <section className="card shop" aria-labelledby="shop-h">
        <h2 id="shop-h">{t('shop')}</h2>
        <p className="muted">{t('shopHint')}</p>
        <ul className="skus">
          {[...(skus.data ?? [])].sort((a, b) => a.productAmount - b.productAmount).map((s) => {
            const short = balance < s.productAmount;
            const soldOut = s.stockCountSurplus <= 0;
            const reason = soldOut ? t('soldOut') : short ? t('shortOfCredits', { p: money(s.productAmount, lang), b: money(balance, lang) }) : '';
            return (
              <li key={s.sku} data-testid={`sku-${s.sku}`}>
                <div>
                  <strong>{t(s.activityCount.totalCount === 1 ? 'skuDraw1' : 'skuDraws', { n: s.activityCount.totalCount })}</strong>
                  <span className="muted"> · {t('skuStock', { n: s.stockCountSurplus })}</span>
                </div>
                <div className="sku-buy">
                  <span className="price">{t('skuPrice', { p: money(s.productAmount, lang) })}</span>
                  <button type="button" className="primary" disabled={short || soldOut} aria-describedby={reason ? `why-${s.sku}` : undefined} onClick={() => setConfirm(s)}>
                    {t('exchange')}
                  </button>
                </div>
                {reason && <small id={`why-${s.sku}`} className="why">{reason}</small>}
              </li>
            );
          })}
        </ul>
      </section>

      <History client={client} activityId={activityId} lang={lang} t={t} tick={historyTick} />

      {result && (
        <Dialog title={t('resultTitle')} onClose={() => setResult(null)} testId="result" actions={<button type="button" className="primary" onClick={() => setResult(null)}>{t('close')}</button>}>
          <div className="result" data-award-id={result.awardId}>
            <img src={awardImage(awards.data?.find((a) => a.awardId === result.awardId) ?? {})} alt="" width={72} height={72} />
            <p data-testid="result-title">{result.awardTitle}</p>
          </div>
        </Dialog>
      )}
      {confirm && (
        <Dialog
          title={t('exchange')}
          onClose={() => setConfirm(null)}
          testId="confirm"
          actions={
            <>
              <button type="button" className="secondary" onClick={() => setConfirm(null)}>{t('cancel')}</button>
              <button type="button" className="primary" data-testid="confirm-ok" onClick={() => void doExchange(confirm)}>{t('confirm')}</button>
            </>
          }
        >
          <p>{t(confirm.activityCount.totalCount === 1 ? 'confirmExchange1' : 'confirmExchange', { p: money(confirm.productAmount, lang), n: confirm.activityCount.totalCount })}</p>
        </Dialog>
      )}
    </main>
  );
}

function PrizeList(props: { awards: AwardItem[]; t: T }) {
  const { t } = props;
  return (
    <ul className="prize-list" data-testid="prize-list">
      {[...props.awards].sort((a, b) => a.sort - b.sort).map((a) => {
        const locked = !a.isAwardUnlock && a.waitUnLockCount > 0;
        return (
          <li key={a.awardId} className={locked ? 'locked' : ''} data-award-id={a.awardId}>
            <img src={awardImage(a)} alt="" width={28} height={28} />
            <span>{a.awardTitle}</span>
            {locked ? <span className="badge lock" data-testid={`lock-${a.awardId}`}>{t('locked', { n: a.waitUnLockCount })}</span> : a.awardRuleLockCount > 0 ? <span className="badge ok">{t('unlocked')}</span> : null}
          </li>
        );
      })}
    </ul>
  );
}

function Tiers(props: { items: Parameters<typeof tiers>[0]; t: T }) {
  const { t } = props;
  const list = tiers(props.items);
  if (list.length === 0) return null;
  return (
    <section className="card tiers" aria-labelledby="tiers-h">
      <h2 id="tiers-h">{t('tiers')}</h2>
      <ul>
        {list.map((x) => (
          <li key={x.threshold} data-testid={`tier-${x.threshold}`}>
            <div className="tier-line">
              <span>{x.reached ? t('tierReached') : t('tierProgress', { used: x.used, need: x.threshold })}</span>
              <span className="muted">{t('tierAwards', { titles: x.titles.join('、') })}</span>
            </div>
            <progress max={x.threshold} value={Math.min(x.used, x.threshold)} aria-label={t('tierProgress', { used: x.used, need: x.threshold })} />
          </li>
        ))}
      </ul>
    </section>
  );
}
