import type { Identity } from '../api/client';

/** What the page was opened with: open-mode parameters or a token from the fragment. */
export interface Start {
  identity: Identity | null;
  activityId: number | null;
}

/** The openId claim of a JWT, for display only (the server checks the token). */
export function jwtUser(token: string): string | undefined {
  const part = token.split('.')[1];
  if (!part) return undefined;
  try {
    const json = atob(part.replace(/-/g, '+').replace(/_/g, '/').padEnd(Math.ceil(part.length / 4) * 4, '='));
    const claims: unknown = JSON.parse(decodeURIComponent(escape(json)));
    if (typeof claims === 'object' && claims !== null) {
      const c = claims as Record<string, unknown>;
      const v = c.openId ?? c.sub;
      return typeof v === 'string' ? v : undefined;
    }
  } catch {
    return undefined;
  }
  return undefined;
}

/** Reads ?userId=&activityId= and #token= (the fragment never reaches a request line). */
export function parseStart(search: string, hash: string): Start {
  const q = new URLSearchParams(search);
  const h = new URLSearchParams(hash.replace(/^#/, ''));
  const aid = Number(q.get('activityId') ?? h.get('activityId') ?? '');
  const activityId = Number.isSafeInteger(aid) && aid > 0 ? aid : null;
  const token = h.get('token');
  if (token) return { identity: { kind: 'token', token, userId: jwtUser(token) }, activityId };
  const userId = q.get('userId')?.trim();
  return { identity: userId ? { kind: 'open', userId } : null, activityId };
}
