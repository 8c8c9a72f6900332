// The audit log: every admin write (campaign apply, grant, retry, switch
// change, stage activation), newest first, with time, actor and summary.

import { Button, Card, Space, Table, Tag } from 'antd';
import { useCallback, useEffect, useState } from 'react';
import { ADMIN } from '../api';
import { useAdmin } from '../context';
import { ErrorAlert } from '../ErrorAlert';
import { formatTime } from '../format';
import { useT, type Catalog } from '../i18n';

/** One entry of GET /api/admin/v1/audit. */
export interface AuditEntry {
  id: number;
  time: number;
  actor: string;
  action: string;
  target: string;
  summary: string;
}

const PAGE = 50;

const msgs: Catalog<'title' | 'time' | 'actor' | 'action' | 'target' | 'summary' | 'more' | 'refresh' | 'empty'> = {
  en: {
    title: 'Audit log',
    time: 'Time',
    actor: 'Actor',
    action: 'Action',
    target: 'Target',
    summary: 'Summary',
    more: 'Older entries',
    refresh: 'Refresh',
    empty: 'No admin write recorded yet.',
  },
  'zh-CN': {
    title: '审计日志',
    time: '时间',
    actor: '操作人',
    action: '操作',
    target: '对象',
    summary: '摘要',
    more: '更早的记录',
    refresh: '刷新',
    empty: '还没有管理操作记录。',
  },
};

export default function Audit() {
  const admin = useAdmin();
  const t = useT(msgs);
  const [entries, setEntries] = useState<AuditEntry[]>([]);
  const [hasMore, setHasMore] = useState(false);
  const [loading, setLoading] = useState(false);
  const [error, setError] = useState<unknown>();

  const load = useCallback(
    async (before?: number) => {
      setLoading(true);
      setError(undefined);
      try {
        const page = await admin.get<AuditEntry[]>(ADMIN + 'audit', { limit: PAGE, before });
        setEntries((prev) => (before ? [...prev, ...page] : page));
        setHasMore(page.length === PAGE);
      } catch (e) {
        setError(e);
      } finally {
        setLoading(false);
      }
    },
    [admin],
  );
  useEffect(() => {
    void load();
  }, [load]);

  return (
    <Card
      title={t('title')}
      extra={
        <Button onClick={() => void load()} loading={loading} id="audit-refresh">
          {t('refresh')}
        </Button>
      }
    >
      <ErrorAlert error={error} onRetry={() => void load()} />
      <Table<AuditEntry>
        id="audit-table"
        rowKey="id"
        size="small"
        loading={loading}
        dataSource={entries}
        pagination={false}
        scroll={{ x: true }}
        locale={{ emptyText: t('empty') }}
        columns={[
          { title: t('time'), dataIndex: 'time', render: (v: number) => formatTime(v), width: 180 },
          { title: t('actor'), dataIndex: 'actor', width: 120 },
          { title: t('action'), dataIndex: 'action', render: (v: string) => <Tag>{v}</Tag>, width: 150 },
          { title: t('target'), dataIndex: 'target', width: 160 },
          { title: t('summary'), dataIndex: 'summary' },
        ]}
      />
      {hasMore && (
        <Space style={{ marginTop: 16 }}>
          <Button onClick={() => void load(entries[entries.length - 1]?.id)} loading={loading}>
            {t('more')}
          </Button>
        </Space>
      )}
    </Card>
  );
}
