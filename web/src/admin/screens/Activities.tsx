// Activities and stock: every activity in force with its state, dates and
// strategy, its SKUs (quota package, price, stock and stock left), its
// strategy's award stock (count, taken, left, and the award records that took
// stock), and the stages: which activity a channel/source pair shows, with
// activation (asks to confirm; audited by the server).

import { Button, Card, Col, Descriptions, Empty, message as antMessage, Modal, Progress, Row, Space, Table, Tag, Typography } from 'antd';
import { useCallback, useEffect, useState } from 'react';
import { ADMIN } from '../api';
import { useAdmin } from '../context';
import { ErrorAlert, useErrorText } from '../ErrorAlert';
import { formatCount, formatTime } from '../format';
import { useT, type Catalog } from '../i18n';
import { nowrap } from '../lab/nowrap';
import { leftPercent, lowStock } from '../lab/stock';
import type { ActivityStock, AwardStock, SKUDetail, Stage, StockRow } from '../lab/types';
import { navigate } from '../router';

type Key =
  | 'title' | 'refresh' | 'empty' | 'state' | 'period' | 'strategy' | 'openLab' | 'skus' | 'sku' | 'package' | 'price' | 'stock'
  | 'left' | 'taken' | 'awards' | 'award' | 'awardTitle' | 'rate' | 'count' | 'recorded' | 'leftShare' | 'stages' | 'stage'
  | 'channel' | 'source' | 'activity' | 'activate' | 'confirmTitle' | 'confirmBody' | 'activated' | 'noSkus' | 'noStages'
  | 'packageValue' | 'cancel' | 'low' | 'desc';

const msgs: Catalog<Key> = {
  en: {
    title: 'Activities and stock',
    refresh: 'Refresh',
    empty: 'No activity in force.',
    state: 'State',
    period: 'Period',
    strategy: 'Strategy',
    openLab: 'Open in the lab',
    skus: 'SKUs',
    sku: 'SKU',
    package: 'Quota (total / day / month)',
    packageValue: '{total} / {day} / {month}',
    price: 'Price (credits)',
    stock: 'Stock',
    left: 'Left',
    taken: 'Taken',
    awards: 'Award stock of strategy {id}',
    award: 'Award',
    awardTitle: 'Title',
    rate: 'Rate',
    count: 'Count',
    recorded: 'Recorded',
    leftShare: 'Left %',
    stages: 'Stages',
    stage: 'Stage',
    channel: 'Channel',
    source: 'Source',
    activity: 'Activity',
    activate: 'Activate',
    confirmTitle: 'Activate stage {id}?',
    confirmBody: 'Channel {channel} / source {source} will show activity {activity}. This is recorded in the audit log.',
    activated: 'Stage {id} is active.',
    noSkus: 'No SKU.',
    noStages: 'No stage.',
    cancel: 'Cancel',
    low: 'low',
    desc: 'Description',
  },
  'zh-CN': {
    title: '活动与库存',
    refresh: '刷新',
    empty: '没有生效的活动。',
    state: '状态',
    period: '时间',
    strategy: '策略',
    openLab: '在实验室中打开',
    skus: 'SKU',
    sku: 'SKU',
    package: '额度（总 / 日 / 月）',
    packageValue: '{total} / {day} / {month}',
    price: '价格（积分）',
    stock: '库存',
    left: '剩余',
    taken: '已用',
    awards: '策略 {id} 的奖品库存',
    award: '奖品',
    awardTitle: '名称',
    rate: '概率',
    count: '总数',
    recorded: '已记录',
    leftShare: '剩余 %',
    stages: '展位',
    stage: '展位',
    channel: '渠道',
    source: '来源',
    activity: '活动',
    activate: '启用',
    confirmTitle: '启用展位 {id}？',
    confirmBody: '渠道 {channel} / 来源 {source} 将展示活动 {activity}。此操作会记录在审计日志中。',
    activated: '展位 {id} 已启用。',
    noSkus: '没有 SKU。',
    noStages: '没有展位。',
    cancel: '取消',
    low: '不足',
    desc: '描述',
  },
};

const STAGES = '/api/v1/raffle/erp/query_raffle_activity_stage_list';
const ACTIVATE = '/api/v1/raffle/erp/update_stage_activity_2_active';

function LeftBar({ left, count }: { left: number; count: number }) {
  const low = lowStock(left, count);
  return (
    <Progress
      percent={leftPercent(left, count)}
      size="small"
      status={low ? 'exception' : 'normal'}
      strokeColor={low ? '#ff4d4f' : undefined}
      style={{ minWidth: 90, margin: 0 }}
    />
  );
}

function stateTag(state: string) {
  const color = state === 'open' || state === 'active' ? 'green' : state === 'close' ? 'default' : 'orange';
  return <Tag color={color}>{state}</Tag>;
}

export default function Activities() {
  const admin = useAdmin();
  const t = useT(msgs);
  const errorText = useErrorText();
  const [modal, modalHolder] = Modal.useModal();
  const [message, messageHolder] = antMessage.useMessage();
  const [activities, setActivities] = useState<ActivityStock[]>();
  const [recorded, setRecorded] = useState<Map<string, number>>(new Map());
  const [stages, setStages] = useState<Stage[]>([]);
  const [loading, setLoading] = useState(false);
  const [error, setError] = useState<unknown>();
  const [activating, setActivating] = useState<number>();

  const load = useCallback(async () => {
    setLoading(true);
    setError(undefined);
    try {
      const [acts, stock, st] = await Promise.all([
        admin.get<ActivityStock[]>(ADMIN + 'activities'),
        admin.get<StockRow[] | null>(ADMIN + 'stock'),
        admin.get<Stage[]>(STAGES),
      ]);
      setActivities(acts);
      setRecorded(new Map((stock ?? []).map((r) => [`${r.strategyId}/${r.awardId}`, r.recorded])));
      setStages(st);
    } catch (e) {
      setError(e);
    } finally {
      setLoading(false);
    }
  }, [admin]);
  useEffect(() => {
    void load();
  }, [load]);

  const activate = (s: Stage) => {
    void modal.confirm({
      title: t('confirmTitle', { id: s.id }),
      content: t('confirmBody', { channel: s.channel, source: s.source, activity: s.activityId }),
      okText: t('activate'),
      cancelText: t('cancel'),
      okButtonProps: { id: 'activities-confirm-activate' },
      onOk: async () => {
        setActivating(s.id);
        try {
          await admin.post<boolean>(ACTIVATE, { id: s.id });
          void message.success(t('activated', { id: s.id }));
          await load();
        } catch (e) {
          void message.error(errorText(e));
        } finally {
          setActivating(undefined);
        }
      },
    });
  };

  return (
    <Space direction="vertical" size={16} style={{ width: '100%' }}>
      {modalHolder}
      {messageHolder}
      <Card
        title={t('title')}
        extra={
          <Button id="activities-refresh" onClick={() => void load()} loading={loading}>
            {t('refresh')}
          </Button>
        }
      >
        <ErrorAlert error={error} onRetry={() => void load()} />
        {activities && activities.length === 0 && <Empty description={t('empty')} />}
        <Typography.Title level={5} style={{ marginTop: 0 }}>
          {t('stages')}
        </Typography.Title>
        <Table<Stage>
          id="activities-stages"
          rowKey="id"
          size="small"
          pagination={false}
          scroll={{ x: true }}
          dataSource={stages}
          locale={{ emptyText: t('noStages') }}
          onRow={(s) => ({ 'data-testid': `stage-${s.id}`, 'data-state': s.state }) as React.HTMLAttributes<HTMLElement>}
          columns={nowrap<Stage>([
            { title: t('stage'), dataIndex: 'id', width: 80 },
            { title: t('channel'), dataIndex: 'channel' },
            { title: t('source'), dataIndex: 'source' },
            { title: t('activity'), dataIndex: 'activityId' },
            { title: t('state'), dataIndex: 'state', render: (v: string) => stateTag(v) },
            {
              key: 'activate',
              render: (_: unknown, s) =>
                s.state === 'active' ? null : (
                  <Button size="small" id={`stage-activate-${s.id}`} loading={activating === s.id} onClick={() => activate(s)}>
                    {t('activate')}
                  </Button>
                ),
            },
          ])}
        />
      </Card>
      {(activities ?? []).map((a) => (
        <ActivityCard key={a.activityId} a={a} recorded={recorded} t={t} />
      ))}
    </Space>
  );
}

function ActivityCard({ a, recorded, t }: { a: ActivityStock; recorded: Map<string, number>; t: (k: Key, args?: Record<string, string | number>) => string }) {
  return (
    <Card
      data-testid={`activity-${a.activityId}`}
      title={
        <Space wrap>
          <span>{a.activityId}</span>
          <span>{a.activityName}</span>
          {stateTag(a.state)}
        </Space>
      }
    >
      <Descriptions size="small" column={{ xs: 1, sm: 2, lg: 3 }} style={{ marginBottom: 16 }}>
        <Descriptions.Item label={t('period')}>
          {formatTime(a.beginDateTime)} – {formatTime(a.endDateTime)}
        </Descriptions.Item>
        <Descriptions.Item label={t('strategy')}>
          <Space wrap>
            <span data-testid={`activity-${a.activityId}-strategy`}>{a.strategyId}</span>
            <Button size="small" type="link" id={`activity-${a.activityId}-lab`} onClick={() => navigate('lab', `?strategy=${a.strategyId}`)}>
              {t('openLab')}
            </Button>
          </Space>
        </Descriptions.Item>
        {a.activityDesc && <Descriptions.Item label={t('desc')}>{a.activityDesc}</Descriptions.Item>}
      </Descriptions>
      <Row gutter={[16, 16]}>
        <Col xs={24} xxl={10}>
          <Typography.Title level={5}>{t('skus')}</Typography.Title>
          <Table<SKUDetail>
            rowKey="sku"
            size="small"
            pagination={false}
            scroll={{ x: true }}
            dataSource={a.skus}
            locale={{ emptyText: t('noSkus') }}
            onRow={(s) =>
              ({ 'data-testid': `sku-${s.sku}`, 'data-stock': String(s.stockCount), 'data-left': String(s.stockLeft) }) as React.HTMLAttributes<HTMLElement>
            }
            columns={nowrap<SKUDetail>([
              { title: t('sku'), dataIndex: 'sku' },
              { title: t('package'), render: (_: unknown, s) => t('packageValue', { total: s.totalCount, day: s.dayCount, month: s.monthCount }) },
              { title: t('price'), dataIndex: 'productAmount', align: 'right' },
              { title: t('stock'), dataIndex: 'stockCount', align: 'right', render: (v: number) => formatCount(v) },
              { title: t('left'), dataIndex: 'stockLeft', align: 'right', render: (v: number, s) => <span data-testid={`sku-${s.sku}-left`}>{formatCount(v)}</span> },
              { title: t('leftShare'), render: (_: unknown, s) => <LeftBar left={s.stockLeft} count={s.stockCount} /> },
            ])}
          />
        </Col>
        <Col xs={24} xxl={14}>
          <Typography.Title level={5}>{t('awards', { id: a.strategyId })}</Typography.Title>
          <Table<AwardStock>
            rowKey="awardId"
            size="small"
            pagination={false}
            scroll={{ x: true }}
            dataSource={a.awards}
            onRow={(w) =>
              ({
                'data-testid': `award-${w.strategyId}-${w.awardId}`,
                'data-count': String(w.count),
                'data-taken': String(w.taken),
                'data-left': String(w.left),
              }) as React.HTMLAttributes<HTMLElement>
            }
            columns={nowrap<AwardStock>([
              { title: t('award'), dataIndex: 'awardId' },
              { title: t('awardTitle'), dataIndex: 'awardTitle' },
              { title: t('rate'), dataIndex: 'awardRate', align: 'right' },
              { title: t('count'), dataIndex: 'count', align: 'right', render: (v: number) => formatCount(v) },
              { title: t('taken'), dataIndex: 'taken', align: 'right', render: (v: number) => formatCount(v) },
              {
                title: t('left'),
                dataIndex: 'left',
                align: 'right',
                render: (v: number, w) => (
                  <Space size={4}>
                    <span data-testid={`award-${w.strategyId}-${w.awardId}-left`}>{formatCount(v)}</span>
                    {lowStock(v, w.count) && <Tag color="red">{t('low')}</Tag>}
                  </Space>
                ),
              },
              { title: t('recorded'), align: 'right', render: (_: unknown, w) => formatCount(recorded.get(`${w.strategyId}/${w.awardId}`) ?? 0) },
              { title: t('leftShare'), render: (_: unknown, w) => <LeftBar left={w.left} count={w.count} /> },
            ])}
          />
        </Col>
      </Row>
    </Card>
  );
}
