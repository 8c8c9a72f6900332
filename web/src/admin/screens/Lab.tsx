// The strategy lab: pick a strategy (by activity or id), set a simulated
// user's progress (total draws, today's draws), run up to 1 000 000 simulated
// draws on the server (nothing is taken or written) and compare the observed
// rate of each award with its configured one, with what the rules did: the
// chain step and rule_weight tier used, locks hit, stock takes and misses,
// luck awards. The chart and the table show the same rows.

import { Alert, Button, Card, Checkbox, Col, Descriptions, Empty, Input, InputNumber, Row, Select, Space, Table, Tag, Typography } from 'antd';
import { useCallback, useEffect, useMemo, useState } from 'react';
import { ADMIN } from '../api';
import { useAdmin } from '../context';
import { ErrorAlert } from '../ErrorAlert';
import { formatCount } from '../format';
import { useT, type Catalog } from '../i18n';
import { EChart, type ChartOption } from '../lab/EChart';
import { nowrap } from '../lab/nowrap';
import { checkForm, formatDifference, formatPercent, MAX_DRAWS, rateRows, TOLERANCE, type RateRow, type Simulation } from '../lab/rates';
import type { ActivityStock } from '../lab/types';
import { navigate, useRoute } from '../router';

type Key =
  | 'title' | 'activity' | 'activityHint' | 'strategy' | 'user' | 'userHint' | 'total' | 'totalHint' | 'today' | 'todayHint'
  | 'draws' | 'useStock' | 'useStockHint' | 'run' | 'badStrategy' | 'badDraws' | 'badProgress' | 'empty'
  | 'chart' | 'configured' | 'observed' | 'award' | 'awardTitle' | 'rate' | 'difference' | 'sigmas' | 'drawn' | 'awarded'
  | 'locked' | 'stockTaken' | 'stockEmpty' | 'luck' | 'stockLeft' | 'mark' | 'withinMark' | 'outsideMark' | 'rulesMark'
  | 'outcomes' | 'chainStep' | 'tier' | 'noTier' | 'tiers' | 'match' | 'locksHit' | 'takes' | 'misses' | 'luckAwards'
  | 'blacklist' | 'default' | 'rule_weight' | 'rule_blacklist' | 'ran' | 'notInTable' | 'configuredHint' | 'unlimited';

const msgs: Catalog<Key> = {
  en: {
    title: 'Strategy lab',
    activity: 'Activity',
    activityHint: 'Pick an activity to use its strategy',
    strategy: 'Strategy id',
    user: 'User id',
    userHint: 'simulation (blacklisted ids get the blacklist award)',
    total: 'Total draws',
    totalHint: "The user's draws in the activity, counting the simulated one (rule_weight).",
    today: "Today's draws",
    todayHint: "The user's draws today, counting the simulated one (rule_lock).",
    draws: 'Simulated draws',
    useStock: 'Use up stock as the run goes',
    useStockHint: 'Off: each take is compared with the stock left now. Nothing is ever taken from the real stock.',
    run: 'Run',
    badStrategy: 'Enter a strategy id (a positive whole number).',
    badDraws: 'Simulated draws must be a whole number from 1 to {max}.',
    badProgress: 'Total and today’s draws must be whole numbers, 0 or more.',
    empty: 'Pick a strategy and run a simulation.',
    chart: 'Observed against configured rate per award',
    configured: 'Configured',
    observed: 'Observed',
    award: 'Award',
    awardTitle: 'Title',
    rate: 'Rate',
    difference: 'Difference',
    sigmas: 'σ',
    drawn: 'Drawn',
    awarded: 'Awarded',
    locked: 'Locked',
    stockTaken: 'Stock takes',
    stockEmpty: 'No stock',
    luck: 'Luck award',
    stockLeft: 'Stock left',
    mark: 'Check',
    withinMark: 'within {k}σ',
    outsideMark: 'beyond {k}σ',
    rulesMark: 'rules',
    outcomes: 'Rule outcomes',
    chainStep: 'Chain step',
    tier: 'Weight tier used',
    noTier: 'none',
    tiers: 'Weight tiers',
    match: 'match: {m}',
    locksHit: 'Locks hit (rule_lock)',
    takes: 'Stock takes (rule_stock)',
    misses: 'Stock empty (rule_stock)',
    luckAwards: 'Luck awards (rule_luck_award)',
    blacklist: 'Blacklist (rule_blacklist)',
    default: 'default draw',
    rule_weight: 'rule_weight',
    rule_blacklist: 'rule_blacklist',
    ran: '{draws} draws of strategy {strategy} for {user} (total {total}, today {today})',
    notInTable: 'not in the table',
    configuredHint: 'Configured: the chance to be drawn from the table in force for this user (the whole table, the weight tier, or the blacklist award).',
    unlimited: 'unlimited',
  },
  'zh-CN': {
    title: '策略实验室',
    activity: '活动',
    activityHint: '选择活动以使用其策略',
    strategy: '策略 ID',
    user: '用户 ID',
    userHint: 'simulation（黑名单用户得到黑名单奖品）',
    total: '累计抽奖次数',
    totalHint: '用户在活动中的抽奖次数，含本次模拟（rule_weight）。',
    today: '今日抽奖次数',
    todayHint: '用户今日的抽奖次数，含本次模拟（rule_lock）。',
    draws: '模拟次数',
    useStock: '模拟过程中消耗库存',
    useStockHint: '关闭时：每次扣减都与当前剩余库存比较。不会扣减真实库存。',
    run: '运行',
    badStrategy: '请输入策略 ID（正整数）。',
    badDraws: '模拟次数须为 1 到 {max} 的整数。',
    badProgress: '累计和今日抽奖次数须为不小于 0 的整数。',
    empty: '选择策略并运行模拟。',
    chart: '各奖品的实际概率与配置概率',
    configured: '配置',
    observed: '实际',
    award: '奖品',
    awardTitle: '名称',
    rate: '概率',
    difference: '差值',
    sigmas: 'σ',
    drawn: '抽中',
    awarded: '发放',
    locked: '未解锁',
    stockTaken: '扣减库存',
    stockEmpty: '无库存',
    luck: '兜底奖品',
    stockLeft: '剩余库存',
    mark: '检查',
    withinMark: '{k}σ 以内',
    outsideMark: '超出 {k}σ',
    rulesMark: '受规则影响',
    outcomes: '规则结果',
    chainStep: '责任链节点',
    tier: '使用的权重档位',
    noTier: '无',
    tiers: '权重档位',
    match: '匹配：{m}',
    locksHit: '未解锁（rule_lock）',
    takes: '扣减库存（rule_stock）',
    misses: '库存不足（rule_stock）',
    luckAwards: '兜底奖品（rule_luck_award）',
    blacklist: '黑名单（rule_blacklist）',
    default: '默认抽奖',
    rule_weight: 'rule_weight',
    rule_blacklist: 'rule_blacklist',
    ran: '策略 {strategy} 为 {user} 模拟 {draws} 次（累计 {total}，今日 {today}）',
    notInTable: '不在奖品表中',
    configuredHint: '配置概率：该用户在当前生效的奖品表（全表、权重档位或黑名单奖品）中被抽中的概率。',
    unlimited: '不限',
  },
};

interface Form {
  strategyId: number | null;
  userId: string;
  totalDraws: number | null;
  todayDraws: number | null;
  draws: number | null;
  useStock: boolean;
}

function chartOption(rows: RateRow[], t: (k: Key) => string): ChartOption {
  const pct = (x: number) => Math.round(x * 100 * 10_000) / 10_000;
  return {
    animation: false,
    tooltip: { trigger: 'axis', valueFormatter: (v: unknown) => `${String(v)} %` },
    legend: { top: 0 },
    grid: { left: 8, right: 16, top: 36, bottom: 8, containLabel: true },
    xAxis: { type: 'category', data: rows.map((r) => String(r.awardId)), axisLabel: { interval: 0 } },
    yAxis: { type: 'value', axisLabel: { formatter: '{value} %' } },
    series: [
      { name: t('configured'), type: 'bar', data: rows.map((r) => pct(r.configured)), itemStyle: { color: '#91caff' } },
      { name: t('observed'), type: 'bar', data: rows.map((r) => pct(r.observed)), itemStyle: { color: '#1677ff' } },
    ],
  };
}

export default function Lab() {
  const admin = useAdmin();
  const t = useT(msgs);
  const { query } = useRoute();
  const initialStrategy = Number(query.get('strategy')) || null;
  const [form, setForm] = useState<Form>({ strategyId: initialStrategy, userId: '', totalDraws: 0, todayDraws: 0, draws: 100_000, useStock: false });
  const [activities, setActivities] = useState<ActivityStock[]>([]);
  const [activitiesError, setActivitiesError] = useState<unknown>();
  const [sim, setSim] = useState<Simulation>();
  const [running, setRunning] = useState(false);
  const [error, setError] = useState<unknown>();
  const [formError, setFormError] = useState<string>();

  const loadActivities = useCallback(async () => {
    setActivitiesError(undefined);
    try {
      const list = await admin.get<ActivityStock[]>(ADMIN + 'activities');
      setActivities(list);
      setForm((f) => (f.strategyId === null && list.length > 0 ? { ...f, strategyId: list[0].strategyId } : f));
    } catch (e) {
      setActivitiesError(e);
    }
  }, [admin]);
  useEffect(() => {
    void loadActivities();
  }, [loadActivities]);

  const set = <K extends keyof Form>(k: K, v: Form[K]) => setForm((f) => ({ ...f, [k]: v }));

  const run = async () => {
    const problem = checkForm(form);
    if (problem) {
      setFormError(problem === 'strategy' ? t('badStrategy') : problem === 'draws' ? t('badDraws', { max: formatCount(MAX_DRAWS) }) : t('badProgress'));
      return;
    }
    setFormError(undefined);
    setError(undefined);
    setRunning(true);
    try {
      const body = {
        strategyId: form.strategyId,
        draws: form.draws,
        userId: form.userId.trim(),
        totalDraws: form.totalDraws ?? 0,
        todayDraws: form.todayDraws ?? 0,
        useStock: form.useStock,
      };
      setSim(await admin.post<Simulation>(ADMIN + 'strategy/simulate', body));
      navigate('lab', `?strategy=${form.strategyId}`);
    } catch (e) {
      setError(e);
    } finally {
      setRunning(false);
    }
  };

  const rows = useMemo(() => (sim ? rateRows(sim) : []), [sim]);
  const option = useMemo(() => chartOption(rows, t), [rows, t]);
  const activityOfStrategy = activities.find((a) => a.strategyId === form.strategyId);

  const field = (label: string, control: React.ReactNode, help?: string) => (
    <Col xs={24} sm={12} lg={8}>
      <Space direction="vertical" size={2} style={{ width: '100%' }}>
        <Typography.Text strong>{label}</Typography.Text>
        {control}
        {help && <Typography.Text type="secondary" style={{ fontSize: 12 }}>{help}</Typography.Text>}
      </Space>
    </Col>
  );

  return (
    <Space direction="vertical" size={16} style={{ width: '100%' }}>
      <Card title={t('title')}>
        <ErrorAlert error={activitiesError} onRetry={() => void loadActivities()} />
        <form
          onSubmit={(e) => {
            e.preventDefault();
            void run();
          }}
        >
          <Row gutter={[16, 16]}>
            {field(
              t('activity'),
              <Select
                id="lab-activity"
                aria-label={t('activity')}
                placeholder={t('activityHint')}
                value={activityOfStrategy?.activityId}
                onChange={(id: number) => set('strategyId', activities.find((a) => a.activityId === id)?.strategyId ?? null)}
                options={activities.map((a) => ({ value: a.activityId, label: `${a.activityId} ${a.activityName} → ${a.strategyId}` }))}
                style={{ width: '100%' }}
              />,
            )}
            {field(
              t('strategy'),
              <InputNumber id="lab-strategy" aria-label={t('strategy')} min={1} precision={0} value={form.strategyId} onChange={(v) => set('strategyId', v)} style={{ width: '100%' }} />,
            )}
            {field(
              t('user'),
              <Input id="lab-user" aria-label={t('user')} maxLength={64} placeholder={t('userHint')} value={form.userId} onChange={(e) => set('userId', e.target.value)} />,
            )}
            {field(
              t('total'),
              <InputNumber id="lab-total" aria-label={t('total')} min={0} precision={0} value={form.totalDraws} onChange={(v) => set('totalDraws', v)} style={{ width: '100%' }} />,
              t('totalHint'),
            )}
            {field(
              t('today'),
              <InputNumber id="lab-today" aria-label={t('today')} min={0} precision={0} value={form.todayDraws} onChange={(v) => set('todayDraws', v)} style={{ width: '100%' }} />,
              t('todayHint'),
            )}
            {field(
              t('draws'),
              <InputNumber id="lab-draws" aria-label={t('draws')} precision={0} step={10_000} value={form.draws} onChange={(v) => set('draws', v)} style={{ width: '100%' }} />,
            )}
            <Col xs={24}>
              <Space wrap align="center">
                <Checkbox id="lab-use-stock" checked={form.useStock} onChange={(e) => set('useStock', e.target.checked)}>
                  {t('useStock')}
                </Checkbox>
                <Typography.Text type="secondary" style={{ fontSize: 12 }}>{t('useStockHint')}</Typography.Text>
              </Space>
            </Col>
            <Col xs={24}>
              <Button type="primary" htmlType="submit" id="lab-run" loading={running}>
                {t('run')}
              </Button>
            </Col>
          </Row>
        </form>
        {formError && <Alert type="warning" showIcon role="alert" title={formError} style={{ marginTop: 16 }} data-testid="lab-form-error" />}
        <div style={{ marginTop: 16 }}>
          <ErrorAlert error={error} />
        </div>
      </Card>
      {!sim ? (
        <Card>
          <Empty description={t('empty')} />
        </Card>
      ) : (
        <LabResult sim={sim} rows={rows} option={option} t={t} />
      )}
    </Space>
  );
}

function LabResult({ sim, rows, option, t }: { sim: Simulation; rows: RateRow[]; option: ChartOption; t: (k: Key, a?: Record<string, string | number>) => string }) {
  const chain = sim.rule === 'rule_weight' || sim.rule === 'rule_blacklist' ? t(sim.rule) : t('default');
  const o = sim.outcomes;
  return (
    <>
      <Card
        title={t('outcomes')}
        data-testid="lab-outcomes"
        extra={
          <Typography.Text type="secondary" data-testid="lab-ran">
            {t('ran', { draws: formatCount(sim.draws), strategy: sim.strategyId, user: sim.userId, total: sim.totalDraws, today: sim.todayDraws })}
          </Typography.Text>
        }
      >
        <Descriptions size="small" bordered layout="vertical" column={{ xs: 1, sm: 2, lg: 4 }}>
          <Descriptions.Item label={t('chainStep')}>
            <span data-testid="lab-rule" data-rule={sim.rule}>{chain}</span>
          </Descriptions.Item>
          <Descriptions.Item label={t('tier')}>
            <span data-testid="lab-weight-group">{sim.weightGroup || t('noTier')}</span>
          </Descriptions.Item>
          <Descriptions.Item label={t('tiers')}>
            <Space wrap size={4}>
              {sim.weightGroups.length === 0 && t('noTier')}
              {sim.weightGroups.map((g) => (
                <Tag key={g.key} color={g.key === sim.weightGroup ? 'blue' : undefined}>
                  {g.key}
                </Tag>
              ))}
              {sim.weightGroups.length > 0 && <Typography.Text type="secondary">{t('match', { m: sim.weightMatch })}</Typography.Text>}
            </Space>
          </Descriptions.Item>
          <Descriptions.Item label={t('locksHit')}>
            <span data-testid="lab-outcome-locked">{formatCount(o.locked)}</span>
          </Descriptions.Item>
          <Descriptions.Item label={t('takes')}>
            <span data-testid="lab-outcome-stock-taken">{formatCount(o.stockTaken)}</span>
          </Descriptions.Item>
          <Descriptions.Item label={t('misses')}>
            <span data-testid="lab-outcome-stock-empty">{formatCount(o.stockEmpty)}</span>
          </Descriptions.Item>
          <Descriptions.Item label={t('luckAwards')}>
            <span data-testid="lab-outcome-luck">{formatCount(o.luckAward)}</span>
          </Descriptions.Item>
          <Descriptions.Item label={t('blacklist')}>
            <span data-testid="lab-outcome-blacklist">{formatCount(o.chain['rule_blacklist'] ?? 0)}</span>
          </Descriptions.Item>
        </Descriptions>
      </Card>
      <Card title={t('chart')}>
        <EChart
          id="lab-chart"
          option={option}
          height={320}
          label={t('chart')}
          data={{ testid: 'lab-chart', awards: rows.map((r) => r.awardId).join(','), observed: rows.map((r) => r.observed).join(','), configured: rows.map((r) => r.configured).join(',') }}
        />
        <Typography.Paragraph type="secondary" style={{ marginTop: 8, fontSize: 12 }}>
          {t('configuredHint')}
        </Typography.Paragraph>
        <Table<RateRow>
          id="lab-table"
          data-testid="lab-table"
          rowKey="awardId"
          size="small"
          pagination={false}
          scroll={{ x: true }}
          dataSource={rows}
          onRow={(r) =>
            ({
              'data-testid': `lab-row-${r.awardId}`,
              'data-award': String(r.awardId),
              'data-configured': String(r.configured),
              'data-observed': String(r.observed),
              'data-awarded': String(r.award.awarded),
              'data-draws': String(sim.draws),
              'data-affected': String(r.affected),
            }) as React.HTMLAttributes<HTMLElement>
          }
          columns={nowrap<RateRow>([
            { title: t('award'), dataIndex: 'awardId', width: 80 },
            { title: t('awardTitle'), dataIndex: 'title', render: (v: string, r) => v || <Typography.Text type="secondary">{r.award.inTable ? '' : t('notInTable')}</Typography.Text> },
            { title: t('rate'), dataIndex: 'rate', render: (v: string) => v || '—' },
            { title: t('configured'), dataIndex: 'configured', align: 'right', render: (v: number, r) => <span data-testid={`lab-configured-${r.awardId}`}>{formatPercent(v)}</span> },
            { title: t('observed'), dataIndex: 'observed', align: 'right', render: (v: number, r) => <span data-testid={`lab-observed-${r.awardId}`}>{formatPercent(v)}</span> },
            { title: t('difference'), dataIndex: 'difference', align: 'right', render: (v: number, r) => <span data-testid={`lab-difference-${r.awardId}`}>{formatDifference(v)}</span> },
            { title: t('sigmas'), dataIndex: 'sigmas', align: 'right', render: (v: number) => (Number.isFinite(v) ? v.toFixed(2) : '∞') },
            {
              title: t('mark'),
              key: 'mark',
              render: (_: unknown, r) =>
                r.affected ? (
                  <Tag color="gold">{t('rulesMark')}</Tag>
                ) : r.within ? (
                  <Tag color="green">{t('withinMark', { k: TOLERANCE })}</Tag>
                ) : (
                  <Tag color="red">{t('outsideMark', { k: TOLERANCE })}</Tag>
                ),
            },
            { title: t('drawn'), align: 'right', render: (_: unknown, r) => formatCount(r.award.drawn) },
            { title: t('awarded'), align: 'right', render: (_: unknown, r) => formatCount(r.award.awarded) },
            { title: t('locked'), align: 'right', render: (_: unknown, r) => formatCount(r.award.locked) },
            { title: t('stockTaken'), align: 'right', render: (_: unknown, r) => formatCount(r.award.stockTaken) },
            { title: t('stockEmpty'), align: 'right', render: (_: unknown, r) => formatCount(r.award.stockEmpty) },
            { title: t('luck'), align: 'right', render: (_: unknown, r) => formatCount(r.award.luckAward) },
            { title: t('stockLeft'), align: 'right', render: (_: unknown, r) => (r.award.limited ? formatCount(r.award.stockLeft) : t('unlimited')) },
          ])}
        />
      </Card>
    </>
  );
}
