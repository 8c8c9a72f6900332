import { describe, expect, it } from 'vitest';
import { ApiError, Client, NETWORK, type Fetch } from './client';

interface Call {
  url: string;
  init: RequestInit;
}

function fake(answer: () => Response | Promise<Response>): { fetch: Fetch; calls: Call[] } {
  const calls: Call[] = [];
  return {
    calls,
    fetch: async (url, init) => {
      calls.push({ url, init: init ?? {} });
      return answer();
    },
  };
}

const json = (v: unknown, status = 200) => new Response(JSON.stringify(v), { status, headers: { 'Content-Type': 'application/json' } });

describe('Client', () => {
  it('returns data of a 0000 answer and sends the user in open mode', async () => {
    const f = fake(() => json({ code: '0000', info: 'ok', data: { awardId: 101, awardTitle: 'x', awardIndex: 1 } }));
    const c = new Client({ kind: 'open', userId: 'xiaofuge' }, { fetch: f.fetch, lang: 'zh-CN' });
    const r = await c.draw(100301);
    expect(r.awardId).toBe(101);
    expect(f.calls[0].url).toBe('/api/v1/raffle/activity/draw');
    expect(JSON.parse(String(f.calls[0].init.body))).toEqual({ userId: 'xiaofuge', activityId: 100301 });
    expect((f.calls[0].init.headers as Record<string, string>)['Accept-Language']).toBe('zh-CN');
  });

  it('turns a non-0000 code into an ApiError with the code', async () => {
    const f = fake(() => json({ code: 'ERR_BIZ_006', info: '账户总额度不足', data: null }));
    const c = new Client({ kind: 'open', userId: 'u' }, { fetch: f.fetch });
    const err = await c.draw(1).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).code).toBe('ERR_BIZ_006');
    expect((err as ApiError).info).toBe('账户总额度不足');
  });

  it('keeps the code of an error answered with an HTTP error status', async () => {
    const f = fake(() => json({ code: '0003', info: 'token', data: null }, 401));
    const c = new Client({ kind: 'token', token: 't' }, { fetch: f.fetch });
    const err = (await c.credit().catch((e: unknown) => e)) as ApiError;
    expect(err.code).toBe('0003');
    expect(err.status).toBe(401);
  });

  it('calls only _by_token twins in token mode, with the bearer and no userId', async () => {
    const f = fake(() => json({ code: '0000', info: 'ok', data: true }));
    const c = new Client({ kind: 'token', token: 'jwt.x.y', userId: 'xiaofuge' }, { fetch: f.fetch });
    await c.signIn();
    await c.draw(100301);
    await c.awardRecords(100301, 1, 10);
    expect(f.calls.map((x) => x.url)).toEqual([
      '/api/v1/raffle/activity/calendar_sign_rebate_by_token',
      '/api/v1/raffle/activity/draw_by_token',
      '/api/v1/raffle/activity/query_user_award_list_by_token',
    ]);
    for (const call of f.calls) {
      expect((call.init.headers as Record<string, string>).Authorization).toBe('Bearer jwt.x.y');
      expect(JSON.parse(String(call.init.body))).not.toHaveProperty('userId');
    }
  });

  it('sends userId in the query where the endpoint reads it there', async () => {
    const f = fake(() => json({ code: '0000', info: 'ok', data: false }));
    const c = new Client({ kind: 'open', userId: 'a b' }, { fetch: f.fetch });
    await c.isSignedIn();
    expect(f.calls[0].url).toBe('/api/v1/raffle/activity/is_calendar_sign_rebate?userId=a%20b');
  });

  it('reports a network failure or a non-envelope answer as NETWORK', async () => {
    const down = new Client({ kind: 'open', userId: 'u' }, { fetch: () => Promise.reject(new TypeError('Failed to fetch')) });
    expect(((await down.credit().catch((e: unknown) => e)) as ApiError).code).toBe(NETWORK);
    const html = new Client({ kind: 'open', userId: 'u' }, { fetch: async () => new Response('<html>', { status: 502 }) });
    const err = (await html.credit().catch((e: unknown) => e)) as ApiError;
    expect(err.code).toBe(NETWORK);
    expect(err.status).toBe(502);
  });
});
