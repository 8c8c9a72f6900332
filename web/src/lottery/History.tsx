import { useState } from 'react';
import type { Client } from '../api/client';
import { codeMessage, type Lang, type MessageKey } from '../common/i18n';
import { useQuery } from '../common/useQuery';

type T = (k: MessageKey, args?: Record<string, string | number>) => string;

const SIZE = 5;

function when(iso: string, lang: Lang): string {
  return new Date(iso).toLocaleString(lang, { month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit' });
}

function stateKey(s: string): MessageKey {
  return s === 'completed' ? 'state_completed' : s === 'pending_manual' ? 'state_pending_manual' : 'state_create';
}

function tradeKey(name: string): MessageKey | null {
  return name === 'award' ? 'trade_award' : name === 'rebate' ? 'trade_rebate' : name === 'exchange' ? 'trade_exchange' : null;
}

function Pager(props: { page: number; hasMore: boolean; set: (n: number) => void; t: T; label: string }) {
  const { t } = props;
  return (
    <nav className="pager" aria-label={props.label}>
      <button type="button" className="secondary" disabled={props.page <= 1} onClick={() => props.set(props.page - 1)}>{t('prev')}</button>
      <span>{t('pageN', { n: props.page })}</span>
      <button type="button" className="secondary" disabled={!props.hasMore} onClick={() => props.set(props.page + 1)}>{t('next')}</button>
    </nav>
  );
}

/** My prizes and my credit ledger, newest first, paged; reloaded when tick changes. */
export function History(props: { client: Client; activityId: number; lang: Lang; t: T; tick: number }) {
  const { client, activityId, lang, t, tick } = props;
  const [awardPage, setAwardPage] = useState(1);
  const [ledgerPage, setLedgerPage] = useState(1);
  const awards = useQuery(() => client.awardRecords(activityId, awardPage, SIZE), [client, activityId, awardPage, tick]);
  const ledger = useQuery(() => client.ledger(ledgerPage, SIZE), [client, ledgerPage, tick]);
  return (
    <div className="history">
      <section className="card" aria-labelledby="prizes-h" data-testid="my-prizes">
        <h2 id="prizes-h">{t('myPrizes')}</h2>
        {awards.error && <p className="notice error">{codeMessage(awards.error.code, lang)}</p>}
        {awards.data && awards.data.list.length === 0 && <p className="muted">{t('noPrizes')}</p>}
        <ul className="rows">
          {awards.data?.list.map((r) => (
            <li key={r.orderId} data-award-id={r.awardId}>
              <span className="muted">{when(r.time, lang)}</span>
              <span className="grow">{r.awardTitle}{r.amount > 0 ? ` (${r.amount})` : ''}</span>
              <span className={`badge state-${r.state}`}>{t(stateKey(r.state))}</span>
            </li>
          ))}
        </ul>
        {awards.data && (awards.data.hasMore || awardPage > 1) && <Pager page={awardPage} hasMore={awards.data.hasMore} set={setAwardPage} t={t} label={t('myPrizes')} />}
      </section>
      <section className="card" aria-labelledby="ledger-h" data-testid="my-credits">
        <h2 id="ledger-h">{t('myCredits')}</h2>
        {ledger.error && <p className="notice error">{codeMessage(ledger.error.code, lang)}</p>}
        {ledger.data && ledger.data.list.length === 0 && <p className="muted">{t('noLedger')}</p>}
        <ul className="rows">
          {ledger.data?.list.map((e) => {
            const k = tradeKey(e.tradeName);
            return (
              <li key={e.orderId}>
                <span className="muted">{when(e.time, lang)}</span>
                <span className="grow">{k ? t(k) : e.tradeName}</span>
                <span className={e.amount >= 0 ? 'plus' : 'minus'}>{e.amount >= 0 ? '+' : ''}{e.amount.toFixed(2)}</span>
                <span className="muted small">{t('balanceAfter', { b: e.balanceAfter.toFixed(2) })}</span>
              </li>
            );
          })}
        </ul>
        {ledger.data && (ledger.data.hasMore || ledgerPage > 1) && <Pager page={ledgerPage} hasMore={ledger.data.hasMore} set={setLedgerPage} t={t} label={t('myCredits')} />}
      </section>
    </div>
  );
}
