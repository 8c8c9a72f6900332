import { useCallback, useEffect, useRef, useState } from 'react';
import { ApiError } from '../api/client';

/** Server data with its error, loaded when deps change and on reload(). */
export interface Query<T> {
  data: T | undefined;
  error: ApiError | undefined;
  loading: boolean;
  /** When the last answer arrived (Date.now()), undefined before it. */
  fetchedAt: number | undefined;
  reload: () => Promise<void>;
}

function asApiError(e: unknown): ApiError {
  return e instanceof ApiError ? e : new ApiError('0001', e instanceof Error ? e.message : String(e));
}

/** The one fetching hook: run load when deps change; a stale answer is dropped. */
export function useQuery<T>(load: (() => Promise<T>) | null, deps: readonly unknown[]): Query<T> {
  const [data, setData] = useState<T>();
  const [error, setError] = useState<ApiError>();
  const [loading, setLoading] = useState(false);
  const [fetchedAt, setFetchedAt] = useState<number>();
  const seq = useRef(0);
  const loadRef = useRef(load);
  loadRef.current = load;
  const reload = useCallback(async () => {
    const fn = loadRef.current;
    if (!fn) return;
    const n = ++seq.current;
    setLoading(true);
    try {
      const v = await fn();
      if (n === seq.current) {
        setData(v);
        setFetchedAt(Date.now());
        setError(undefined);
      }
    } catch (e) {
      if (n === seq.current) setError(asApiError(e));
    } finally {
      if (n === seq.current) setLoading(false);
    }
  }, []);
  useEffect(() => {
    void reload();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, deps);
  return { data, error, loading, fetchedAt, reload };
}

export { asApiError };
