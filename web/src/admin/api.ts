// The operator console's client for the admin API (/api/admin/v1/… and the
// admin-only /api/v1/raffle/erp/…). Every call sends the admin token as a
// bearer token; an answer other than 0000 becomes an AdminError carrying the
// code, the info text and the envelope's data (e.g. a campaign's problems), so
// screens show messages and never parse envelopes themselves.

import { ApiError, NETWORK, SUCCESS, type Fetch } from '../api/client';

/** The admin API's base path. */
export const ADMIN = '/api/admin/v1/';

/** An admin answer whose code is not 0000; data is the envelope's data, if any. */
export class AdminError extends ApiError {
  readonly data: unknown;
  constructor(code: string, info: string, status: number, data?: unknown) {
    super(code, info, status);
    this.name = 'AdminError';
    this.data = data;
  }
  /** True when the server refused the token (HTTP 401). */
  get unauthorized(): boolean {
    return this.status === 401;
  }
}

interface Envelope {
  code: string;
  info?: string;
  data?: unknown;
}

function isEnvelope(v: unknown): v is Envelope {
  return typeof v === 'object' && v !== null && typeof (v as { code?: unknown }).code === 'string';
}

type Query = Record<string, string | number | boolean | undefined | null>;

/** Builds path?query, leaving out empty values. */
export function withQuery(path: string, query: Query = {}): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) {
    if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  }
  const s = q.toString();
  return s ? `${path}?${s}` : path;
}

export interface AdminClientOptions {
  fetch?: Fetch;
  lang?: string;
  /** Called when the server answers 401: the console returns to sign-in. */
  onUnauthorized?: () => void;
}

/** AdminClient calls the admin API with one admin token. */
export class AdminClient {
  private readonly token: string;
  private readonly fetchFn: Fetch;
  private readonly lang: string;
  private readonly onUnauthorized?: () => void;

  constructor(token: string, opts: AdminClientOptions = {}) {
    this.token = token;
    this.fetchFn = opts.fetch ?? ((input, init) => fetch(input, init));
    this.lang = opts.lang ?? 'en';
    this.onUnauthorized = opts.onUnauthorized;
  }

  /** GET path (with query) and return data, or throw AdminError. */
  get<T>(path: string, query?: Query): Promise<T> {
    return this.call<T>('GET', withQuery(path, query));
  }

  /** POST body as JSON and return data, or throw AdminError. */
  post<T>(path: string, body: unknown = {}, query?: Query): Promise<T> {
    return this.call<T>('POST', withQuery(path, query), JSON.stringify(body), 'application/json');
  }

  /** PUT body as JSON and return data, or throw AdminError. */
  put<T>(path: string, body: unknown): Promise<T> {
    return this.call<T>('PUT', path, JSON.stringify(body), 'application/json');
  }

  /** POST a text document (a campaign file in YAML) and return data. */
  postText<T>(path: string, text: string, contentType = 'application/yaml'): Promise<T> {
    return this.call<T>('POST', path, text, contentType);
  }

  private async call<T>(method: string, path: string, body?: string, contentType?: string): Promise<T> {
    const headers: Record<string, string> = {
      Accept: 'application/json',
      'Accept-Language': this.lang,
      Authorization: `Bearer ${this.token}`,
    };
    if (contentType) headers['Content-Type'] = contentType;
    let res: Response;
    try {
      res = await this.fetchFn(path, { method, headers, body, credentials: 'same-origin' });
    } catch (e) {
      throw new AdminError(NETWORK, e instanceof Error ? e.message : String(e), 0);
    }
    let env: unknown;
    try {
      env = await res.json();
    } catch {
      env = undefined;
    }
    if (res.status === 401) {
      this.onUnauthorized?.();
      throw new AdminError(isEnvelope(env) ? env.code : NETWORK, isEnvelope(env) ? (env.info ?? '') : 'HTTP 401', 401);
    }
    if (!isEnvelope(env)) {
      throw new AdminError(NETWORK, `HTTP ${res.status}`, res.status);
    }
    if (env.code !== SUCCESS) {
      throw new AdminError(env.code, env.info ?? '', res.status, env.data);
    }
    return env.data as T;
  }
}
