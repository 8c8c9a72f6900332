// The dashboard: what the campaigns are doing now, from GET stats (computed
// from the database and the stock counters, so every instance of a fleet
// shows the same). It refreshes every few seconds while the tab is visible.

import { Button, Card, Col, Row, Space, Statistic, Switch, Typography } from 'antd';
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { ADMIN } from '../api';
import { Chart, type ChartOption } from '../charts';
import { useAdmin } from '../context';
import {
  awardsByPrize,
  awardStockBars,
  awardTitles,
  drawsByMinute,
  drawsLastHour,
  FUNNEL_STEPS,
  outboxStates,
  skuStockBars,
  type Stats,
  type StockBar,
} from '../dashboard/series';
import { CODE_COLOURS, CODE_ORDER, codeFigures, codesByMinute, totalPerSecond } from '../dashboard/codes';
import { ErrorAlert } from '../ErrorAlert';
import { formatTime } from '../format';
import { useT, type Catalog } from '../i18n';

/** How often the dashboard asks for fresh figures while visible. */
const REFRESH_MS = 5000;

const ALERT = '#cf1322';
const OK = '#389e0d';

type Key =
  | 'title'
  | 'updated'
  | 'auto'
  | 'refresh'
  | 'drawsToday'
  | 'drawsHour'
  | 'perSecond'
  | 'drawsChart'
  | 'drawsChartHint'
  | 'awardsChart'
  | 'awardStockChart'
  | 'skuStockChart'
  | 'lowHint'
  | 'outboxChart'
  | 'failures'
  | 'failed'
  | 'pendingManual'
  | 'funnel'
  | 'signIns'
  | 'quota'
  | 'draws'
  | 'awards'
  | 'delivered'
  | 'credits'
  | 'creditsIssued'
  | 'creditsSpent'
  | 'left'
  | 'noDraws'
  | 'state_create'
  | 'state_fail'
  | 'state_completed'
  | 'codesChart'
  | 'codesChartHint'
  | 'codesPerSecond'
  | 'codesHour'
  | 'noAnswers'
  | CodeKey;

/** The draw answer codes with a name in the catalogs. */
type CodeKey = `code_${(typeof CODE_ORDER)[number]}`;

const msgs: Catalog<Key> = {
  en: {
    title: 'Dashboard',
    updated: 'Updated {time} ({tz})',
    auto: 'Auto refresh',
    refresh: 'Refresh',
    drawsToday: 'Draws today',
    drawsHour: 'Draws in the last hour',
    perSecond: 'Draws per second (last minute)',
    drawsChart: 'Draws per minute by awarded prize, last hour',
    drawsChartHint: 'Bars: draws per minute by the prize they ended in; line: draws per second.',
    awardsChart: 'Awards issued today by prize',
    awardStockChart: 'Award stock left (strategy · award)',
    skuStockChart: 'SKU stock left',
    lowHint: 'Red: under 10 % left.',
    outboxChart: 'Outbox backlog by state',
    failures: 'Delivery failures',
    failed: 'Failed',
    pendingManual: 'Pending manual',
    funnel: "Today's funnel",
    signIns: 'Sign-ins',
    quota: 'Quota granted',
    draws: 'Draws',
    awards: 'Awards',
    delivered: 'Delivered',
    credits: 'Credits today',
    creditsIssued: 'Credits issued',
    creditsSpent: 'Credits spent',
    left: 'left',
    noDraws: 'No draw in the last hour.',
    state_create: 'waiting',
    state_fail: 'failed',
    state_completed: 'completed',
    codesChart: 'Draw answers per minute by code, last hour',
    codesChartHint: 'Every answer of the draw, counted by every instance: successes and refusals (no quota, paused, rate limited, busy) alike. Figures: answers per second in the last full minute.',
    codesPerSecond: 'Draw answers per second (last minute)',
    codesHour: '{n} in the last hour',
    noAnswers: 'No draw answered in the last hour.',
    code_0000: 'Success',
    code_ERR_BIZ_006: 'No quota left',
    code_ERR_BIZ_007: 'No month quota',
    code_ERR_BIZ_008: 'No day quota',
    code_0004: 'Degraded',
    code_0005: 'Rate limited',
    code_0006: 'Busy (breaker, time budget)',
    code_0007: 'Gateway failure',
    code_0003: 'Unauthenticated',
    code_0008: 'App token refused',
    code_0002: 'Bad request',
    code_ERR_BIZ_003: 'Activity not open',
    code_ERR_BIZ_004: 'Activity not in date',
    code_ERR_BIZ_009: 'Order already used',
    code_ERR_BIZ_001: 'Weight rule missing',
    code_ERR_BIZ_002: 'Strategy not assembled',
    code_0001: 'Failure',
  },
  'zh-CN': {
    title: '概览',
    updated: '更新于 {time}（{tz}）',
    auto: '自动刷新',
    refresh: '刷新',
    drawsToday: '今日抽奖',
    drawsHour: '近一小时抽奖',
    perSecond: '每秒抽奖（最近一分钟）',
    drawsChart: '近一小时每分钟抽奖（按抽中奖品）',
    drawsChartHint: '柱：每分钟按奖品的抽奖次数；线：每秒抽奖次数。',
    awardsChart: '今日按奖品发放',
    awardStockChart: '奖品剩余库存（策略 · 奖品）',
    skuStockChart: 'SKU 剩余库存',
    lowHint: '红色：剩余不足 10%。',
    outboxChart: '任务队列（按状态）',
    failures: '发奖失败',
    failed: '失败',
    pendingManual: '待人工处理',
    funnel: '今日转化',
    signIns: '签到',
    quota: '获得次数',
    draws: '抽奖',
    awards: '中奖',
    delivered: '已发放',
    credits: '今日积分',
    creditsIssued: '发放积分',
    creditsSpent: '消耗积分',
    left: '剩余',
    noDraws: '近一小时没有抽奖。',
    state_create: '待发送',
    state_fail: '失败',
    state_completed: '已完成',
    codesChart: '近一小时每分钟抽奖应答（按返回码）',
    codesChartHint: '抽奖的每一次应答，由每个实例计数：成功与拒绝（次数不足、降级、限流、繁忙）都在内。数字：最近一个完整分钟的每秒应答数。',
    codesPerSecond: '每秒抽奖应答（最近一分钟）',
    codesHour: '近一小时 {n} 次',
    noAnswers: '近一小时没有抽奖应答。',
    code_0000: '成功',
    code_ERR_BIZ_006: '总次数不足',
    code_ERR_BIZ_007: '月次数不足',
    code_ERR_BIZ_008: '日次数不足',
    code_0004: '已降级',
    code_0005: '被限流',
    code_0006: '繁忙（熔断、超时）',
    code_0007: '网关失败',
    code_0003: '未认证',
    code_0008: '应用令牌被拒',
    code_0002: '参数错误',
    code_ERR_BIZ_003: '活动未开启',
    code_ERR_BIZ_004: '不在活动日期内',
    code_ERR_BIZ_009: '抽奖单已使用',
    code_ERR_BIZ_001: '权重规则未配置',
    code_ERR_BIZ_002: '策略未装配',
    code_0001: '失败',
  },
};

/** The figures, reloaded every REFRESH_MS while auto is on and the tab is visible. */
function useStats(auto: boolean) {
  const admin = useAdmin();
  const [stats, setStats] = useState<Stats>();
  const [error, setError] = useState<unknown>();
  const [loading, setLoading] = useState(false);
  const inFlight = useRef(false);
  const load = useCallback(async () => {
    if (inFlight.current) return;
    inFlight.current = true;
    setLoading(true);
    try {
      setStats(await admin.get<Stats>(ADMIN + 'stats'));
      setError(undefined);
    } catch (e) {
      setError(e);
    } finally {
      inFlight.current = false;
      setLoading(false);
    }
  }, [admin]);

  useEffect(() => {
    void load();
  }, [load]);

  useEffect(() => {
    if (!auto) return;
    let timer: ReturnType<typeof setInterval> | undefined;
    const start = () => {
      if (timer === undefined && !document.hidden) timer = setInterval(() => void load(), REFRESH_MS);
    };
    const stop = () => {
      if (timer !== undefined) clearInterval(timer);
      timer = undefined;
    };
    const onVisibility = () => {
      if (document.hidden) {
        stop();
      } else {
        void load();
        start();
      }
    };
    start();
    document.addEventListener('visibilitychange', onVisibility);
    return () => {
      stop();
      document.removeEventListener('visibilitychange', onVisibility);
    };
  }, [auto, load]);

  return { stats, error, loading, load };
}

function stockOption(bars: StockBar[], leftLabel: string): ChartOption {
  return {
    grid: { left: 8, right: 48, top: 8, bottom: 8, containLabel: true },
    tooltip: {
      trigger: 'item',
      formatter: (p: { dataIndex: number }) => {
        const b = bars[p.dataIndex];
        return b ? `${b.label}<br/>${b.left.toLocaleString('en-US')} / ${b.total.toLocaleString('en-US')} ${leftLabel}` : '';
      },
    },
    xAxis: { type: 'value', min: 0, max: 100, axisLabel: { formatter: '{value} %' } },
    yAxis: {
      type: 'category',
      inverse: true,
      data: bars.map((b) => b.label),
      axisLabel: { width: 160, overflow: 'truncate', color: (_: unknown, i: number) => (bars[i]?.low ? ALERT : '#595959') },
    },
    series: [
      {
        type: 'bar',
        // An empty stock still shows a sliver in the alert colour.
        barMinHeight: 4,
        data: bars.map((b) => ({
          value: Math.round(b.share * 1000) / 10,
          itemStyle: { color: b.low ? ALERT : OK },
          label: b.low ? { color: ALERT, fontWeight: 'bold' } : undefined,
        })),
        label: { show: true, position: 'right', formatter: '{c} %' },
      },
    ],
  };
}

export default function Dashboard() {
  const t = useT(msgs);
  const [auto, setAuto] = useState(true);
  const { stats, error, loading, load } = useStats(auto);

  const codeName = useCallback(
    (code: string) => ((CODE_ORDER as readonly string[]).includes(code) ? t(`code_${code}` as CodeKey) : code),
    [t],
  );

  const charts = useMemo(() => {
    if (!stats) return undefined;
    const title = awardTitles(stats.awardStock);
    const perMinute = drawsByMinute(stats);
    const hhmm = (m: number) => formatTime(m).slice(11, 16);
    const byCode = codesByMinute(stats);
    const codes: ChartOption = {
      tooltip: { trigger: 'axis' },
      legend: { type: 'scroll', bottom: 0 },
      grid: { left: 8, right: 8, top: 24, bottom: 40, containLabel: true },
      xAxis: { type: 'category', data: byCode.minutes.map(hhmm) },
      yAxis: { type: 'value', name: '/min', minInterval: 1 },
      series: byCode.codes.map((c) => ({
        type: 'bar',
        stack: 'codes',
        name: `${c.code} ${codeName(c.code)}`,
        data: c.counts,
        itemStyle: CODE_COLOURS[c.code] ? { color: CODE_COLOURS[c.code] } : undefined,
      })),
    };
    const figures = codeFigures(stats);
    const draws: ChartOption = {
      tooltip: { trigger: 'axis' },
      legend: { type: 'scroll', bottom: 0 },
      grid: { left: 8, right: 8, top: 24, bottom: 40, containLabel: true },
      xAxis: { type: 'category', data: perMinute.minutes.map(hhmm) },
      yAxis: [
        { type: 'value', name: '/min', minInterval: 1 },
        { type: 'value', name: '/s', splitLine: { show: false } },
      ],
      series: [
        ...perMinute.awards.map((a) => ({ type: 'bar', stack: 'draws', name: title(a.awardId), data: a.counts })),
        { type: 'line', name: t('perSecond'), yAxisIndex: 1, data: perMinute.perSecond, smooth: true, showSymbol: false },
      ],
    };
    const byPrize = awardsByPrize(stats);
    const awards: ChartOption = {
      tooltip: { trigger: 'axis' },
      grid: { left: 8, right: 32, top: 8, bottom: 8, containLabel: true },
      xAxis: { type: 'value', minInterval: 1 },
      yAxis: { type: 'category', inverse: true, data: byPrize.map((a) => title(a.awardId)), axisLabel: { width: 140, overflow: 'truncate' } },
      series: [{ type: 'bar', data: byPrize.map((a) => a.count), label: { show: true, position: 'right' } }],
    };
    const outbox = outboxStates(stats.outbox);
    const outboxOption: ChartOption = {
      tooltip: { trigger: 'axis' },
      grid: { left: 8, right: 8, top: 16, bottom: 8, containLabel: true },
      xAxis: { type: 'category', data: outbox.map((o) => (['create', 'fail', 'completed'].includes(o.state) ? t(`state_${o.state}` as Key) : o.state)) },
      yAxis: { type: 'value', minInterval: 1 },
      series: [
        {
          type: 'bar',
          data: outbox.map((o) => ({ value: o.count, itemStyle: { color: o.state === 'fail' ? ALERT : o.state === 'completed' ? OK : '#d48806' } })),
          label: { show: true, position: 'top' },
        },
      ],
    };
    const funnel: ChartOption = {
      tooltip: { trigger: 'item', formatter: '{b}: {c}' },
      series: [
        {
          type: 'funnel',
          sort: 'none',
          left: 8,
          right: 8,
          top: 8,
          bottom: 8,
          minSize: '8%',
          label: { show: true, position: 'inside', formatter: '{b}: {c}' },
          data: FUNNEL_STEPS.map((k) => ({ name: t(k), value: stats.funnel[k] })),
        },
      ],
    };
    const awardBars = awardStockBars(stats.awardStock);
    const skuBars = skuStockBars(stats.skuStock);
    return {
      perMinute,
      draws,
      codes,
      figures,
      codesTotal: totalPerSecond(figures),
      awards,
      awardsHeight: Math.max(120, byPrize.length * 26 + 24),
      outbox: outboxOption,
      funnel,
      awardStock: stockOption(awardBars, t('left')),
      awardStockHeight: Math.max(120, awardBars.length * 22 + 40),
      skuStock: stockOption(skuBars, t('left')),
      skuStockHeight: Math.max(120, skuBars.length * 26 + 40),
      lowAwards: awardBars.filter((b) => b.low).length,
    };
  }, [stats, t, codeName]);

  const lastMinuteRate = charts ? (charts.perMinute.perSecond[charts.perMinute.perSecond.length - 2] ?? 0) : 0;

  return (
    <Space orientation="vertical" size={16} style={{ width: '100%' }}>
      <Card title={t('title')}>
        <Space wrap style={{ marginBottom: 8 }}>
          <Switch checked={auto} onChange={setAuto} id="dashboard-auto" aria-label={t('auto')} />
          <label htmlFor="dashboard-auto">{t('auto')}</label>
          <Button onClick={() => void load()} loading={loading} id="dashboard-refresh">
            {t('refresh')}
          </Button>
        </Space>
        <ErrorAlert error={error} onRetry={() => void load()} />
        {stats && (
          <Typography.Paragraph type="secondary" data-testid="dashboard-updated" data-time={stats.time} style={{ marginBottom: 0 }}>
            {t('updated', { time: formatTime(stats.time), tz: stats.timezone })}
          </Typography.Paragraph>
        )}
        {stats && (
          <Row gutter={[16, 16]} style={{ marginTop: 12 }}>
            <Col xs={12} md={6}>
              <Statistic title={t('drawsToday')} value={stats.funnel.draws} valueRender={(n) => <span data-testid="stat-draws-today">{n}</span>} />
            </Col>
            <Col xs={12} md={6}>
              <Statistic title={t('drawsHour')} value={drawsLastHour(stats)} valueRender={(n) => <span data-testid="stat-draws-hour">{n}</span>} />
            </Col>
            <Col xs={12} md={6}>
              <Statistic title={t('perSecond')} value={lastMinuteRate} precision={2} valueRender={(n) => <span data-testid="stat-per-second">{n}</span>} />
            </Col>
            <Col xs={12} md={6}>
              <Statistic
                title={t('failures')}
                value={(stats.deliveryFailures.failed ?? 0) + (stats.deliveryFailures.pending_manual ?? 0)}
                styles={(stats.deliveryFailures.failed ?? 0) > 0 ? { content: { color: ALERT } } : undefined}
                valueRender={(n) => <span data-testid="stat-failures">{n}</span>}
              />
            </Col>
          </Row>
        )}
      </Card>
      {stats && charts && (
        <Row gutter={[16, 16]}>
          <Col xs={24}>
            <Card title={t('codesChart')} size="small">
              <Typography.Paragraph type="secondary">{t('codesChartHint')}</Typography.Paragraph>
              <Row gutter={[16, 16]} data-testid="code-figures">
                <Col xs={12} sm={8} md={6} xl={4}>
                  <Statistic
                    title={t('codesPerSecond')}
                    value={charts.codesTotal}
                    precision={2}
                    valueRender={(n) => <span data-testid="stat-codes-per-second">{n}</span>}
                  />
                </Col>
                {charts.figures.map((f) => (
                  <Col key={f.code} xs={12} sm={8} md={6} xl={4}>
                    <Statistic
                      title={
                        <span>
                          <Typography.Text code>{f.code}</Typography.Text> {codeName(f.code)}
                        </span>
                      }
                      value={f.perSecond}
                      precision={2}
                      suffix="/s"
                      styles={CODE_COLOURS[f.code] ? { content: { color: CODE_COLOURS[f.code] } } : undefined}
                      valueRender={(n) => <span data-testid={`stat-code-${f.code}`}>{n}</span>}
                    />
                    <Typography.Text type="secondary" data-testid={`stat-code-hour-${f.code}`} data-count={f.lastHour}>
                      {t('codesHour', { n: f.lastHour.toLocaleString('en-US') })}
                    </Typography.Text>
                  </Col>
                ))}
              </Row>
              {charts.figures.length === 0 && (
                <Typography.Paragraph type="secondary" data-testid="dashboard-no-answers">
                  {t('noAnswers')}
                </Typography.Paragraph>
              )}
              <Chart option={charts.codes} height={280} label={t('codesChart')} testid="chart-codes" />
            </Card>
          </Col>
          <Col xs={24} xl={16}>
            <Card title={t('drawsChart')} size="small">
              <Typography.Text type="secondary">{t('drawsChartHint')}</Typography.Text>
              {charts.perMinute.awards.length === 0 && (
                <Typography.Paragraph type="secondary" data-testid="dashboard-no-draws">
                  {t('noDraws')}
                </Typography.Paragraph>
              )}
              <Chart option={charts.draws} height={280} label={t('drawsChart')} testid="chart-draws" />
            </Card>
          </Col>
          <Col xs={24} xl={8}>
            <Card title={t('funnel')} size="small">
              <Chart option={charts.funnel} height={220} label={t('funnel')} testid="chart-funnel" />
              <Row gutter={[8, 8]}>
                {FUNNEL_STEPS.map((k) => (
                  <Col key={k} xs={8} sm={4} xl={8}>
                    <Statistic title={t(k)} value={stats.funnel[k]} valueRender={(n) => <span data-testid={`stat-funnel-${k}`}>{n}</span>} />
                  </Col>
                ))}
              </Row>
            </Card>
          </Col>
          <Col xs={24} lg={12}>
            <Card title={t('awardsChart')} size="small">
              <Chart option={charts.awards} height={charts.awardsHeight} label={t('awardsChart')} testid="chart-awards" />
            </Card>
          </Col>
          <Col xs={24} lg={12}>
            <Card title={t('credits')} size="small" style={{ marginBottom: 16 }}>
              <Row gutter={16}>
                <Col span={12}>
                  <Statistic
                    title={t('creditsIssued')}
                    value={stats.creditsIssued}
                    precision={2}
                    valueRender={(n) => <span data-testid="stat-credits-issued">{n}</span>}
                  />
                </Col>
                <Col span={12}>
                  <Statistic title={t('creditsSpent')} value={stats.creditsSpent} precision={2} valueRender={(n) => <span data-testid="stat-credits-spent">{n}</span>} />
                </Col>
              </Row>
            </Card>
            <Card title={t('failures')} size="small">
              <Row gutter={16}>
                <Col span={12}>
                  <Statistic
                    title={t('failed')}
                    value={stats.deliveryFailures.failed ?? 0}
                    valueRender={(n) => <span data-testid="stat-failures-failed">{n}</span>}
                  />
                </Col>
                <Col span={12}>
                  <Statistic
                    title={t('pendingManual')}
                    value={stats.deliveryFailures.pending_manual ?? 0}
                    valueRender={(n) => <span data-testid="stat-failures-pending_manual">{n}</span>}
                  />
                </Col>
              </Row>
            </Card>
          </Col>
          <Col xs={24} lg={12}>
            <Card title={t('outboxChart')} size="small">
              <Chart option={charts.outbox} height={220} label={t('outboxChart')} testid="chart-outbox" />
              <Row gutter={[8, 8]}>
                {outboxStates(stats.outbox).map((o) => (
                  <Col key={o.state} span={8}>
                    <Statistic
                      title={['create', 'fail', 'completed'].includes(o.state) ? t(`state_${o.state}` as Key) : o.state}
                      value={o.count}
                      valueRender={(n) => <span data-testid={`stat-outbox-${o.state}`}>{n}</span>}
                    />
                  </Col>
                ))}
              </Row>
            </Card>
          </Col>
          <Col xs={24} lg={12}>
            <Card title={t('skuStockChart')} size="small" extra={<Typography.Text type="secondary">{t('lowHint')}</Typography.Text>}>
              <Chart option={charts.skuStock} height={charts.skuStockHeight} label={t('skuStockChart')} testid="chart-sku-stock" />
            </Card>
          </Col>
          <Col xs={24}>
            <Card
              title={t('awardStockChart')}
              size="small"
              extra={
                <Typography.Text type={charts.lowAwards > 0 ? 'danger' : 'secondary'} data-testid="stat-low-awards" data-count={charts.lowAwards}>
                  {t('lowHint')}
                </Typography.Text>
              }
            >
              <Chart option={charts.awardStock} height={charts.awardStockHeight} label={t('awardStockChart')} testid="chart-award-stock" />
            </Card>
          </Col>
        </Row>
      )}
    </Space>
  );
}
