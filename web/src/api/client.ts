// One typed client for bigmarket's API. Every answer is the envelope
// {code, info, data}; a code other than 0000 becomes an ApiError carrying the
// code, so screens never parse envelopes themselves.

export const SUCCESS = '0000';

/** An answer whose code is not 0000, or a transport failure (code NETWORK). */
export class ApiError extends Error {
  readonly code: string;
  readonly info: string;
  readonly status: number;
  constructor(code: string, info: string, status = 200) {
    super(`${code}: ${info}`);
    this.name = 'ApiError';
    this.code = code;
    this.info = info;
    this.status = status;
  }
}

/** Code for a request that never got an envelope back (offline, 5xx HTML). */
export const NETWORK = 'NETWORK';

interface Envelope<T> {
  code: string;
  info: string;
  data: T;
}

function isEnvelope(v: unknown): v is Envelope<unknown> {
  return typeof v === 'object' && v !== null && typeof (v as { code?: unknown }).code === 'string';
}

/** Who the page acts for: a user id (open mode) or a user JWT (token mode). */
export type Identity = { kind: 'open'; userId: string } | { kind: 'token'; token: string; userId?: string };

export type Fetch = (input: string, init?: RequestInit) => Promise<Response>;

export interface AwardItem {
  awardId: number;
  awardTitle: string;
  awardSubtitle: string;
  sort: number;
  awardRuleLockCount: number;
  isAwardUnlock: boolean;
  waitUnLockCount: number;
  awardKey?: string;
  image?: string;
}

export interface DrawResult {
  awardId: number;
  awardTitle: string;
  awardIndex: number;
}

export interface Account {
  totalCount: number;
  totalCountSurplus: number;
  dayCount: number;
  dayCountSurplus: number;
  monthCount: number;
  monthCountSurplus: number;
}

export interface SKUProduct {
  sku: number;
  activityId: number;
  activityCountId: number;
  stockCount: number;
  stockCountSurplus: number;
  productAmount: number;
  activityCount: { totalCount: number; dayCount: number; monthCount: number };
}

export interface WeightItem {
  ruleWeightCount: number;
  userActivityAccountTotalUseCount: number;
  strategyAwards: { awardId: number; awardTitle: string }[];
}

export interface ActivityInfo {
  activityId: number;
  activityName: string;
  activityDesc: string;
  strategyId: number;
  state: string;
  beginDateTime: string;
  endDateTime: string;
  now: string;
}

export interface Page<T> {
  page: number;
  size: number;
  hasMore: boolean;
  list: T[];
}

export interface AwardRecord {
  time: string;
  awardId: number;
  awardTitle: string;
  amount: number;
  state: 'create' | 'completed' | 'pending_manual' | string;
  orderId: string;
}

export interface LedgerEntry {
  time: string;
  amount: number;
  tradeName: string;
  tradeType: 'forward' | 'reverse' | string;
  balanceAfter: number;
  orderId: string;
}

const V1 = '/api/v1/raffle/';

/**
 * Client calls the API as one identity. In token mode it calls only the
 * _by_token twins with the JWT as a bearer token; the body's userId is never
 * sent.
 */
export class Client {
  private readonly fetchFn: Fetch;
  readonly identity: Identity;
  readonly lang: string;

  constructor(identity: Identity, opts: { fetch?: Fetch; lang?: string } = {}) {
    this.identity = identity;
    this.fetchFn = opts.fetch ?? ((input, init) => fetch(input, init));
    this.lang = opts.lang ?? 'en';
  }

  /** POSTs body as JSON to path and returns data, or throws ApiError. */
  async post<T>(path: string, body: Record<string, unknown>): Promise<T> {
    const headers: Record<string, string> = {
      'Content-Type': 'application/json',
      Accept: 'application/json',
      'Accept-Language': this.lang,
    };
    const payload = { ...body };
    if (this.identity.kind === 'token') {
      headers.Authorization = `Bearer ${this.identity.token}`;
      delete payload.userId;
    }
    let res: Response;
    try {
      res = await this.fetchFn(path, { method: 'POST', headers, body: JSON.stringify(payload), credentials: 'same-origin' });
    } catch (e) {
      throw new ApiError(NETWORK, e instanceof Error ? e.message : String(e), 0);
    }
    let env: unknown;
    try {
      env = await res.json();
    } catch {
      throw new ApiError(NETWORK, `HTTP ${res.status}`, res.status);
    }
    if (!isEnvelope(env)) {
      throw new ApiError(NETWORK, `HTTP ${res.status}: not an envelope`, res.status);
    }
    if (env.code !== SUCCESS) {
      throw new ApiError(env.code, env.info ?? '', res.status);
    }
    return env.data as T;
  }

  /** The path of a user endpoint: its _by_token twin in token mode. */
  userPath(path: string): string {
    return this.identity.kind === 'token' ? `${V1}${path}_by_token` : V1 + path;
  }

  private user(): { userId?: string } {
    return this.identity.kind === 'open' ? { userId: this.identity.userId } : {};
  }

  activities(): Promise<ActivityInfo[]> {
    return this.post(V1 + 'activity/query_activity_list', {});
  }
  activity(activityId: number): Promise<ActivityInfo> {
    return this.post(V1 + 'activity/query_activity_info', { activityId });
  }
  awards(activityId: number): Promise<AwardItem[]> {
    return this.post(this.userPath('strategy/query_raffle_award_list'), { ...this.user(), activityId });
  }
  ruleWeight(activityId: number): Promise<WeightItem[]> {
    return this.post(this.userPath('strategy/query_raffle_strategy_rule_weight'), { ...this.user(), activityId });
  }
  account(activityId: number): Promise<Account> {
    return this.post(this.userPath('activity/query_user_activity_account'), { ...this.user(), activityId });
  }
  /** These endpoints take userId as a query or form parameter, as the original's do. */
  private userQuery(path: string): string {
    const p = this.userPath(path);
    return this.identity.kind === 'open' ? `${p}?userId=${encodeURIComponent(this.identity.userId)}` : p;
  }
  credit(): Promise<number> {
    return this.post(this.userQuery('activity/query_user_credit_account'), {});
  }
  isSignedIn(): Promise<boolean> {
    return this.post(this.userQuery('activity/is_calendar_sign_rebate'), {});
  }
  signIn(): Promise<boolean> {
    return this.post(this.userQuery('activity/calendar_sign_rebate'), {});
  }
  draw(activityId: number): Promise<DrawResult> {
    return this.post(this.userPath('activity/draw'), { ...this.user(), activityId });
  }
  skus(activityId: number): Promise<SKUProduct[]> {
    return this.post(`${V1}activity/query_sku_product_list_by_activity_id?activityId=${activityId}`, {});
  }
  exchange(sku: number): Promise<boolean> {
    return this.post(this.userPath('activity/credit_pay_exchange_sku'), { ...this.user(), sku });
  }
  awardRecords(activityId: number, page: number, size: number): Promise<Page<AwardRecord>> {
    return this.post(this.userPath('activity/query_user_award_list'), { ...this.user(), activityId, page, size });
  }
  ledger(page: number, size: number): Promise<Page<LedgerEntry>> {
    return this.post(this.userPath('activity/query_user_credit_ledger'), { ...this.user(), page, size });
  }
}
