// How a console screen shows a failure: a message with the code, never raw
// JSON. The info text is the server's, in the console language
// (Accept-Language); a request that got no envelope says so.

import { Alert } from 'antd';
import { ApiError, NETWORK } from '../api/client';
import { useT, type Catalog } from './i18n';

const msgs: Catalog<'network' | 'failed'> = {
  en: { network: 'The server could not be reached ({info}). Check the connection and try again.', failed: 'The request failed' },
  'zh-CN': { network: '无法连接服务器（{info}），请检查网络后重试。', failed: '请求失败' },
};

/** The text a person reads for an error. */
export function errorText(e: unknown, t: (k: 'network' | 'failed', a?: Record<string, string>) => string): string {
  if (e instanceof ApiError) {
    if (e.code === NETWORK) return t('network', { info: e.info });
    return `${e.info || t('failed')} (${e.code})`;
  }
  return e instanceof Error ? e.message : String(e);
}

/** A hook returning errorText bound to the console language. */
export function useErrorText(): (e: unknown) => string {
  const t = useT(msgs);
  return (e: unknown) => errorText(e, t);
}

/** An error banner; nothing when error is undefined. */
export function ErrorAlert({ error, onRetry }: { error: unknown; onRetry?: () => void }) {
  const text = useErrorText();
  if (!error) return null;
  return (
    <Alert
      type="error"
      showIcon
      role="alert"
      title={text(error)}
      action={onRetry ? <a onClick={onRetry}>↻</a> : undefined}
      style={{ marginBottom: 16 }}
    />
  );
}
