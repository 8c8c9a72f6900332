// Users: look a user up by id (the id is in the URL, /admin/users/<id>, so a
// lookup can be linked): draw quotas per activity, raffle orders, award
// records with their delivery state (retry the failed ones), quota orders,
// credit balance and ledger, rebate orders (retry the failed ones); grant
// draw quota with a reason, which the audit log keeps.

import { Button, Card, Descriptions, Form, Input, InputNumber, Select, Space, Table, Tabs, Tag, Typography, message } from 'antd';
import type { ColumnsType } from 'antd/es/table';
import { useCallback, useEffect, useMemo, useState } from 'react';
import { useQuery } from '../../common/useQuery';
import { ADMIN } from '../api';
import { useAdmin } from '../context';
import { ErrorAlert, useErrorText } from '../ErrorAlert';
import { formatCount, formatTime } from '../format';
import { useT, type Catalog } from '../i18n';
import { canRetryAward, canRetryRebate, formatAmount, newGrantId, quotaRows, reasonProblem, type QuotaRow } from '../ops/logic';
import type { ActivityRef, AwardRecord, CreditOrder, GrantRequest, QuotaOrder, RaffleOrder, RebateOrder, UserView } from '../ops/types';
import { navigate, useRoute } from '../router';

type Key =
  | 'title'
  | 'lookup'
  | 'userId'
  | 'prompt'
  | 'refresh'
  | 'credit'
  | 'quotas'
  | 'activity'
  | 'total'
  | 'month'
  | 'day'
  | 'leftOf'
  | 'noQuota'
  | 'grant'
  | 'grantHint'
  | 'grantId'
  | 'reason'
  | 'reasonPlaceholder'
  | 'reasonRequired'
  | 'reasonTooLong'
  | 'reasonOneLine'
  | 'countRequired'
  | 'activityRequired'
  | 'grantSubmit'
  | 'granted'
  | 'raffleOrders'
  | 'awards'
  | 'quotaOrders'
  | 'ledger'
  | 'rebates'
  | 'time'
  | 'orderId'
  | 'state'
  | 'award'
  | 'attempts'
  | 'lastError'
  | 'retry'
  | 'retried'
  | 'trade'
  | 'amount'
  | 'outBusinessNo'
  | 'sku'
  | 'counts'
  | 'pay'
  | 'behavior'
  | 'rebate'
  | 'empty'
  | 'outbox'
  | 'more';

const msgs: Catalog<Key> = {
  en: {
    title: 'Users',
    lookup: 'Look up',
    userId: 'User id',
    prompt: 'Enter a user id to see their quotas, orders, prizes and credits.',
    refresh: 'Refresh',
    credit: 'Credit balance',
    quotas: 'Draw quotas',
    activity: 'Activity',
    total: 'Total',
    month: 'This month',
    day: 'Today',
    leftOf: 'left of',
    noQuota: 'No quota on any activity.',
    grant: 'Grant draws',
    grantHint: 'The grant and its reason are recorded in the audit log with your name.',
    grantId: 'Grant id',
    reason: 'Reason',
    reasonPlaceholder: 'e.g. make up for the outage of 3 May',
    reasonRequired: 'Say why: the audit log keeps the reason.',
    reasonTooLong: 'At most 200 bytes.',
    reasonOneLine: 'One line, please.',
    countRequired: 'A count from 1 to 100,000,000.',
    activityRequired: 'Pick an activity.',
    grantSubmit: 'Grant',
    granted: 'Granted: {total} draws on activity {activity}.',
    raffleOrders: 'Raffle orders',
    awards: 'Prizes',
    quotaOrders: 'Quota orders',
    ledger: 'Credit ledger',
    rebates: 'Rebates',
    time: 'Time',
    orderId: 'Order',
    state: 'State',
    award: 'Prize',
    attempts: 'Attempts',
    lastError: 'Last error',
    retry: 'Retry',
    retried: 'Retried order {order}: now {state}.',
    trade: 'Trade',
    amount: 'Amount',
    outBusinessNo: 'Business no.',
    sku: 'SKU',
    counts: 'Draws (total / month / day)',
    pay: 'Paid',
    behavior: 'Behaviour',
    rebate: 'Rebate',
    empty: 'None.',
    outbox: 'Outbox tasks',
    more: 'The lists show the newest {n} entries each: show up to {max}',
  },
  'zh-CN': {
    title: '用户',
    lookup: '查询',
    userId: '用户 ID',
    prompt: '输入用户 ID，查看其额度、订单、奖品和积分。',
    refresh: '刷新',
    credit: '积分余额',
    quotas: '抽奖额度',
    activity: '活动',
    total: '总额度',
    month: '本月',
    day: '今日',
    leftOf: '剩余 / 共',
    noQuota: '没有任何活动的额度。',
    grant: '发放抽奖次数',
    grantHint: '发放及其原因会以你的名字记入审计日志。',
    grantId: '发放单号',
    reason: '原因',
    reasonPlaceholder: '例如：补偿 5 月 3 日故障',
    reasonRequired: '请填写原因：审计日志会记录它。',
    reasonTooLong: '最多 200 字节。',
    reasonOneLine: '请只写一行。',
    countRequired: '请输入 1 到 100,000,000 之间的次数。',
    activityRequired: '请选择活动。',
    grantSubmit: '发放',
    granted: '已发放：活动 {activity} 共 {total} 次。',
    raffleOrders: '抽奖单',
    awards: '奖品',
    quotaOrders: '额度订单',
    ledger: '积分流水',
    rebates: '返利',
    time: '时间',
    orderId: '单号',
    state: '状态',
    award: '奖品',
    attempts: '尝试次数',
    lastError: '最近错误',
    retry: '重试',
    retried: '已重试订单 {order}：当前状态 {state}。',
    trade: '交易',
    amount: '金额',
    outBusinessNo: '业务单号',
    sku: 'SKU',
    counts: '次数（总 / 月 / 日）',
    pay: '支付',
    behavior: '行为',
    rebate: '返利',
    empty: '无。',
    outbox: '消息任务',
    more: '列表各显示最新 {n} 条：显示最多 {max} 条',
  },
};

type StateKey =
  | 'create'
  | 'delivering'
  | 'completed'
  | 'failed'
  | 'pending_manual'
  | 'used'
  | 'cancel'
  | 'wait_pay'
  | 'forward'
  | 'reverse';

const stateMsgs: Catalog<StateKey> = {
  en: {
    create: 'pending',
    delivering: 'delivering',
    completed: 'completed',
    failed: 'failed',
    pending_manual: 'needs an operator',
    used: 'used',
    cancel: 'cancelled',
    wait_pay: 'awaiting payment',
    forward: 'earned',
    reverse: 'spent',
  },
  'zh-CN': {
    create: '待处理',
    delivering: '发放中',
    completed: '已完成',
    failed: '失败',
    pending_manual: '需人工处理',
    used: '已使用',
    cancel: '已取消',
    wait_pay: '待支付',
    forward: '收入',
    reverse: '支出',
  },
};

const stateColor: Record<string, string> = {
  completed: 'green',
  used: 'green',
  failed: 'red',
  pending_manual: 'orange',
  delivering: 'blue',
  create: 'blue',
  wait_pay: 'gold',
};

function StateTag({ state }: { state: string }) {
  const t = useT(stateMsgs);
  const label = state in stateMsgs.en ? t(state as StateKey) : state;
  return (
    <Tag color={stateColor[state]} data-state={state}>
      {label}
    </Tag>
  );
}

const PAGE = { pageSize: 10, hideOnSinglePage: true, showSizeChanger: false } as const;

/** GET users/{userId} answers the newest LIMIT entries of each list, at most MAX_LIMIT. */
const LIMIT = 100;
const MAX_LIMIT = 1000;

/** The user id of a users/… path ("" for the bare screen). */
function userIdOf(path: string): string {
  const rest = path.split('/').slice(1).join('/');
  try {
    return decodeURIComponent(rest);
  } catch {
    return rest;
  }
}

export default function Users() {
  const admin = useAdmin();
  const t = useT(msgs);
  const { path } = useRoute();
  const userId = userIdOf(path);
  const [draft, setDraft] = useState(userId);
  useEffect(() => setDraft(userId), [userId]);
  const [limit, setLimit] = useState(LIMIT);
  useEffect(() => setLimit(LIMIT), [userId]);
  const user = useQuery<UserView>(userId ? () => admin.get<UserView>(ADMIN + 'users/' + encodeURIComponent(userId), { limit }) : null, [admin, userId, limit]);

  return (
    <Space orientation="vertical" size={16} style={{ width: '100%' }}>
      <Card title={t('title')}>
        <Input.Search
          id="user-search"
          aria-label={t('userId')}
          placeholder={t('userId')}
          enterButton={t('lookup')}
          value={draft}
          maxLength={64}
          allowClear
          onChange={(e) => setDraft(e.target.value)}
          onSearch={(v) => {
            const id = v.trim();
            if (id) navigate('users/' + encodeURIComponent(id));
          }}
          style={{ maxWidth: 480 }}
        />
        {!userId && (
          <Typography.Paragraph type="secondary" style={{ marginTop: 12, marginBottom: 0 }}>
            {t('prompt')}
          </Typography.Paragraph>
        )}
      </Card>
      {userId && <ErrorAlert error={user.error} onRetry={() => void user.reload()} />}
      {userId && user.data && user.data.userId === userId && <UserDetail data={user.data} loading={user.loading} reload={user.reload} limit={limit} onMore={() => setLimit(MAX_LIMIT)} />}
    </Space>
  );
}

function UserDetail({ data, loading, reload, limit, onMore }: { data: UserView; loading: boolean; reload: () => Promise<void>; limit: number; onMore: () => void }) {
  const t = useT(msgs);
  const quotas = useMemo(() => quotaRows(data.accounts), [data.accounts]);
  const lists = [data.awardRecords, data.raffleOrders, data.quotaOrders, data.ledger, data.extra?.rebateOrders ?? []];
  const truncated = limit < MAX_LIMIT && lists.some((l) => l.length >= limit);
  return (
    <>
      <Card
        title={
          <span data-testid="user-id" style={{ wordBreak: 'break-all' }}>
            {data.userId}
          </span>
        }
        extra={
          <Button id="user-refresh" onClick={() => void reload()} loading={loading}>
            {t('refresh')}
          </Button>
        }
      >
        <Descriptions size="small" column={1} items={[{ key: 'credit', label: t('credit'), children: <span data-testid="user-credit">{formatAmount(data.credit)}</span> }]} />
        <Typography.Title level={5}>{t('quotas')}</Typography.Title>
        <QuotaTable rows={quotas} />
        <Typography.Paragraph style={{ marginTop: 12, marginBottom: 0 }}>
          <a
            href={`/admin/outbox?userId=${encodeURIComponent(data.userId)}`}
            onClick={(e) => {
              e.preventDefault();
              navigate('outbox', `?userId=${encodeURIComponent(data.userId)}`);
            }}
          >
            {t('outbox')} →
          </a>
        </Typography.Paragraph>
      </Card>
      <GrantForm userId={data.userId} quotas={quotas} onGranted={reload} />
      <Card>
        <Tabs
          items={[
            { key: 'awards', label: `${t('awards')} (${data.awardRecords.length})`, children: <AwardTable userId={data.userId} rows={data.awardRecords} onRetried={reload} /> },
            { key: 'raffle', label: `${t('raffleOrders')} (${data.raffleOrders.length})`, children: <RaffleTable rows={data.raffleOrders} /> },
            { key: 'quota', label: `${t('quotaOrders')} (${data.quotaOrders.length})`, children: <QuotaOrderTable rows={data.quotaOrders} /> },
            { key: 'ledger', label: `${t('ledger')} (${data.ledger.length})`, children: <LedgerTable rows={data.ledger} /> },
            {
              key: 'rebates',
              label: `${t('rebates')} (${data.extra?.rebateOrders?.length ?? 0})`,
              children: <RebateTable userId={data.userId} rows={data.extra?.rebateOrders ?? []} onRetried={reload} />,
            },
          ]}
        />
        {truncated && (
          <Button type="link" id="user-more" onClick={onMore}>
            {t('more', { n: limit, max: MAX_LIMIT })}
          </Button>
        )}
      </Card>
    </>
  );
}

function LeftOf({ id, left, count }: { id: string; left: number; count: number }) {
  return (
    <span data-testid={id}>
      <b data-testid={`${id}-left`}>{formatCount(left)}</b> / <span data-testid={`${id}-count`}>{formatCount(count)}</span>
    </span>
  );
}

function QuotaTable({ rows }: { rows: QuotaRow[] }) {
  const t = useT(msgs);
  const columns: ColumnsType<QuotaRow> = [
    { title: t('activity'), dataIndex: 'activityId' },
    { title: `${t('total')} (${t('leftOf')})`, render: (_, r) => <LeftOf id={`quota-${r.activityId}-total`} left={r.totalCountSurplus} count={r.totalCount} /> },
    { title: `${t('month')} (${t('leftOf')})`, render: (_, r) => <LeftOf id={`quota-${r.activityId}-month`} left={r.monthCountSurplus} count={r.monthCount} /> },
    { title: `${t('day')} (${t('leftOf')})`, render: (_, r) => <LeftOf id={`quota-${r.activityId}-day`} left={r.dayCountSurplus} count={r.dayCount} /> },
  ];
  return (
    <Table<QuotaRow>
      id="user-quotas"
      rowKey="activityId"
      size="small"
      dataSource={rows}
      columns={columns}
      pagination={false}
      scroll={{ x: true }}
      locale={{ emptyText: t('noQuota') }}
    />
  );
}

interface GrantValues {
  activityId?: number;
  total?: number;
  month?: number;
  day?: number;
  reason: string;
}

function GrantForm({ userId, quotas, onGranted }: { userId: string; quotas: QuotaRow[]; onGranted: () => Promise<void> }) {
  const admin = useAdmin();
  const t = useT(msgs);
  const [form] = Form.useForm<GrantValues>();
  const [grantId, setGrantId] = useState(() => newGrantId());
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();
  const [done, setDone] = useState<string>();
  const activities = useQuery<ActivityRef[]>(() => admin.get<ActivityRef[]>(ADMIN + 'activities'), [admin]);
  const options = useMemo(() => {
    const out = (activities.data ?? []).map((a) => ({ value: a.activityId, label: `${a.activityId} · ${a.activityName}` }));
    for (const q of quotas) {
      if (!out.some((o) => o.value === q.activityId)) out.push({ value: q.activityId, label: String(q.activityId) });
    }
    return out;
  }, [activities.data, quotas]);
  // A new user gets a new grant id: ids are per grant, not per screen.
  useEffect(() => {
    setGrantId(newGrantId());
    setDone(undefined);
    setError(undefined);
  }, [userId]);
  useEffect(() => {
    if (form.getFieldValue('activityId') === undefined && options.length > 0) form.setFieldValue('activityId', options[0].value);
  }, [form, options]);

  const submit = useCallback(
    async (v: GrantValues) => {
      if (v.activityId === undefined || v.total === undefined || v.month === undefined || v.day === undefined) return;
      const req: GrantRequest = { id: grantId, userId, activityId: v.activityId, total: v.total, month: v.month, day: v.day, reason: v.reason.trim() };
      setBusy(true);
      setError(undefined);
      setDone(undefined);
      try {
        await admin.post<boolean>(ADMIN + 'quota/grant', req);
        setDone(t('granted', { total: req.total, activity: req.activityId }));
        setGrantId(newGrantId());
        form.setFieldValue('reason', '');
        await onGranted();
      } catch (e) {
        setError(e);
      } finally {
        setBusy(false);
      }
    },
    [admin, grantId, userId, form, onGranted, t],
  );

  const count = [{ required: true, message: t('countRequired') }];
  return (
    <Card title={t('grant')}>
      <Typography.Paragraph type="secondary">{t('grantHint')}</Typography.Paragraph>
      <ErrorAlert error={error} />
      <Form<GrantValues> form={form} layout="vertical" onFinish={(v) => void submit(v)} initialValues={{ total: 1, month: 1, day: 1, reason: '' }} requiredMark={false}>
        <Space wrap align="start" size={12}>
          <Form.Item label={t('activity')} name="activityId" rules={[{ required: true, message: t('activityRequired') }]}>
            <Select id="grant-activity" options={options} style={{ minWidth: 220 }} loading={activities.loading} />
          </Form.Item>
          <Form.Item label={t('total')} name="total" rules={count}>
            <InputNumber id="grant-total" min={1} max={100_000_000} precision={0} />
          </Form.Item>
          <Form.Item label={t('month')} name="month" rules={count}>
            <InputNumber id="grant-month" min={1} max={100_000_000} precision={0} />
          </Form.Item>
          <Form.Item label={t('day')} name="day" rules={count}>
            <InputNumber id="grant-day" min={1} max={100_000_000} precision={0} />
          </Form.Item>
        </Space>
        <Form.Item
          label={t('reason')}
          name="reason"
          rules={[
            {
              validator: (_, v: string | undefined) => {
                const p = reasonProblem(v ?? '');
                const key = p === 'required' ? 'reasonRequired' : p === 'tooLong' ? 'reasonTooLong' : p === 'oneLine' ? 'reasonOneLine' : undefined;
                return key ? Promise.reject(new Error(t(key))) : Promise.resolve();
              },
            },
          ]}
        >
          <Input id="grant-reason" placeholder={t('reasonPlaceholder')} maxLength={200} style={{ maxWidth: 640 }} />
        </Form.Item>
        <Space wrap>
          <Button type="primary" htmlType="submit" id="grant-submit" loading={busy}>
            {t('grantSubmit')}
          </Button>
          <Typography.Text type="secondary">
            {t('grantId')}: <code data-testid="grant-id">{grantId}</code>
          </Typography.Text>
        </Space>
        {done && (
          <Typography.Paragraph type="success" data-testid="grant-done" role="status" style={{ marginTop: 12, marginBottom: 0 }}>
            {done}
          </Typography.Paragraph>
        )}
      </Form>
    </Card>
  );
}

/** A retry button: posts path, shows the record's new state or the error. */
function RetryButton({ testId, path, onRetried, order }: { testId: string; path: string; order: string; onRetried: () => Promise<void> }) {
  const admin = useAdmin();
  const t = useT(msgs);
  const st = useT(stateMsgs);
  const errorText = useErrorText();
  const [api, holder] = message.useMessage();
  const [busy, setBusy] = useState(false);
  return (
    <>
      {holder}
      <Button
        size="small"
        data-testid={testId}
        loading={busy}
        onClick={async () => {
          setBusy(true);
          try {
            const r = await admin.post<{ awardState?: string; state?: string }>(path);
            const s = r.awardState ?? r.state ?? '';
            void api.success(t('retried', { order, state: s in stateMsgs.en ? st(s as StateKey) : s }));
            await onRetried();
          } catch (e) {
            void api.error(errorText(e));
          } finally {
            setBusy(false);
          }
        }}
      >
        {t('retry')}
      </Button>
    </>
  );
}

function ErrorText({ text }: { text: string }) {
  if (!text) return null;
  return (
    <Typography.Text type="danger" ellipsis={{ tooltip: text }} style={{ maxWidth: 280 }}>
      {text}
    </Typography.Text>
  );
}

function AwardTable({ userId, rows, onRetried }: { userId: string; rows: AwardRecord[]; onRetried: () => Promise<void> }) {
  const t = useT(msgs);
  const base = `${ADMIN}users/${encodeURIComponent(userId)}/awards/`;
  const columns: ColumnsType<AwardRecord> = [
    { title: t('time'), dataIndex: 'awardTime', render: (v: number) => formatTime(v), width: 170 },
    { title: t('award'), render: (_, r) => `${r.awardTitle} (${r.awardId})` },
    { title: t('activity'), dataIndex: 'activityId' },
    { title: t('state'), dataIndex: 'awardState', render: (v: string) => <StateTag state={v} /> },
    { title: t('attempts'), dataIndex: 'attempts' },
    { title: t('lastError'), dataIndex: 'lastError', render: (v: string) => <ErrorText text={v} /> },
    { title: t('orderId'), dataIndex: 'orderId', render: (v: string) => <Typography.Text copyable>{v}</Typography.Text> },
    {
      title: '',
      render: (_, r) =>
        canRetryAward(r.awardState) ? (
          <RetryButton testId={`retry-award-${r.orderId}`} path={base + encodeURIComponent(r.orderId) + '/retry'} order={r.orderId} onRetried={onRetried} />
        ) : null,
    },
  ];
  return <Table<AwardRecord> id="user-awards" rowKey="orderId" size="small" dataSource={rows} columns={columns} pagination={PAGE} scroll={{ x: true }} locale={{ emptyText: t('empty') }} />;
}

function RaffleTable({ rows }: { rows: RaffleOrder[] }) {
  const t = useT(msgs);
  const columns: ColumnsType<RaffleOrder> = [
    { title: t('time'), dataIndex: 'orderTime', render: (v: number) => formatTime(v), width: 170 },
    { title: t('activity'), render: (_, r) => `${r.activityName} (${r.activityId})` },
    { title: t('state'), dataIndex: 'orderState', render: (v: string) => <StateTag state={v} /> },
    { title: t('orderId'), dataIndex: 'orderId' },
  ];
  return <Table<RaffleOrder> id="user-raffle-orders" rowKey="orderId" size="small" dataSource={rows} columns={columns} pagination={PAGE} scroll={{ x: true }} locale={{ emptyText: t('empty') }} />;
}

function QuotaOrderTable({ rows }: { rows: QuotaOrder[] }) {
  const t = useT(msgs);
  const columns: ColumnsType<QuotaOrder> = [
    { title: t('time'), dataIndex: 'orderTime', render: (v: number) => formatTime(v), width: 170 },
    { title: t('activity'), dataIndex: 'activityId' },
    { title: t('sku'), dataIndex: 'sku' },
    { title: t('counts'), render: (_, r) => `${r.totalCount} / ${r.monthCount} / ${r.dayCount}` },
    { title: t('pay'), dataIndex: 'payAmount', render: (v: number) => formatAmount(v) },
    { title: t('state'), dataIndex: 'state', render: (v: string) => <StateTag state={v} /> },
    { title: t('outBusinessNo'), dataIndex: 'outBusinessNo' },
  ];
  return <Table<QuotaOrder> id="user-quota-orders" rowKey="orderId" size="small" dataSource={rows} columns={columns} pagination={PAGE} scroll={{ x: true }} locale={{ emptyText: t('empty') }} />;
}

function LedgerTable({ rows }: { rows: CreditOrder[] }) {
  const t = useT(msgs);
  const columns: ColumnsType<CreditOrder> = [
    { title: t('time'), dataIndex: 'time', render: (v: number) => formatTime(v), width: 170 },
    { title: t('trade'), render: (_, r) => `${r.tradeName}` },
    { title: t('state'), dataIndex: 'tradeType', render: (v: string) => <StateTag state={v} /> },
    { title: t('amount'), dataIndex: 'tradeAmount', render: (v: number) => formatAmount(v), align: 'right' },
    { title: t('outBusinessNo'), dataIndex: 'outBusinessNo' },
  ];
  return <Table<CreditOrder> id="user-ledger" rowKey="orderId" size="small" dataSource={rows} columns={columns} pagination={PAGE} scroll={{ x: true }} locale={{ emptyText: t('empty') }} />;
}

function RebateTable({ userId, rows, onRetried }: { userId: string; rows: RebateOrder[]; onRetried: () => Promise<void> }) {
  const t = useT(msgs);
  const base = `${ADMIN}users/${encodeURIComponent(userId)}/rebates/`;
  const columns: ColumnsType<RebateOrder> = [
    { title: t('time'), dataIndex: 'time', render: (v: number) => formatTime(v), width: 170 },
    { title: t('behavior'), dataIndex: 'behaviorType' },
    { title: t('rebate'), render: (_, r) => `${r.rebateType} ${r.rebateConfig}` },
    { title: t('state'), dataIndex: 'state', render: (v: string) => <StateTag state={v} /> },
    { title: t('attempts'), dataIndex: 'attempts' },
    { title: t('lastError'), dataIndex: 'lastError', render: (v: string) => <ErrorText text={v} /> },
    { title: t('outBusinessNo'), dataIndex: 'outBusinessNo' },
    {
      title: '',
      render: (_, r) =>
        canRetryRebate(r.state) ? (
          <RetryButton testId={`retry-rebate-${r.orderId}`} path={base + encodeURIComponent(r.orderId) + '/retry'} order={r.orderId} onRetried={onRetried} />
        ) : null,
    },
  ];
  return <Table<RebateOrder> id="user-rebates" rowKey="orderId" size="small" dataSource={rows} columns={columns} pagination={PAGE} scroll={{ x: true }} locale={{ emptyText: t('empty') }} />;
}
