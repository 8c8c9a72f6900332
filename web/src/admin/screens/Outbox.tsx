// Outbox: the events waiting to be published, published, or failed, with
// filters by state, topic and user (kept in the URL), paging, the last error
// of each; retry one task, or every failed task the filters select (bounded,
// after a confirmation).

import { Button, Card, Input, Modal, Select, Space, Table, Tag, Typography, message } from 'antd';
import type { ColumnsType } from 'antd/es/table';
import { useEffect, useState } from 'react';
import { useQuery } from '../../common/useQuery';
import { ADMIN } from '../api';
import { useAdmin } from '../context';
import { ErrorAlert, useErrorText } from '../ErrorAlert';
import { formatTime } from '../format';
import { useT, type Catalog } from '../i18n';
import { outboxSearch, readOutboxFilters, taskQuery, TASK_STATES, TOPICS, type OutboxFilters } from '../ops/logic';
import type { RetryFailedResult, Task } from '../ops/types';
import { navigate, useRoute } from '../router';

/** Tasks per page. */
const PAGE = 50;
/** At most this many failed tasks are retried by one "retry all". */
const RETRY_ALL_LIMIT = 1000;

type Key =
  | 'title'
  | 'state'
  | 'topic'
  | 'user'
  | 'anyState'
  | 'anyTopic'
  | 'apply'
  | 'clear'
  | 'refresh'
  | 'message'
  | 'attempts'
  | 'lastError'
  | 'created'
  | 'updated'
  | 'retry'
  | 'retried'
  | 'retryAll'
  | 'retryAllTitle'
  | 'retryAllText'
  | 'retryAllFilters'
  | 'retryAllOk'
  | 'cancel'
  | 'retriedAll'
  | 'retriedMore'
  | 'prev'
  | 'next'
  | 'page'
  | 'empty'
  | 'create'
  | 'completed'
  | 'fail';

const msgs: Catalog<Key> = {
  en: {
    title: 'Outbox',
    state: 'State',
    topic: 'Topic',
    user: 'User id',
    anyState: 'Any state',
    anyTopic: 'Any topic',
    apply: 'Filter',
    clear: 'Clear',
    refresh: 'Refresh',
    message: 'Message',
    attempts: 'Attempts',
    lastError: 'Last error',
    created: 'Created',
    updated: 'Updated',
    retry: 'Retry',
    retried: 'Task {id} published again.',
    retryAll: 'Retry all failed',
    retryAllTitle: 'Retry every failed task?',
    retryAllText: 'Up to {n} failed tasks, the most recently failed first, are published again now.',
    retryAllFilters: 'Only those matching the filters: {filters}.',
    retryAllOk: 'Retry them',
    cancel: 'Cancel',
    retriedAll: '{n} failed tasks published again.',
    retriedMore: '{n} failed tasks published again; more may be left: retry again.',
    prev: 'Previous',
    next: 'Next',
    page: 'Page {n}',
    empty: 'No task matches.',
    create: 'waiting',
    completed: 'published',
    fail: 'failed',
  },
  'zh-CN': {
    title: '消息任务',
    state: '状态',
    topic: '主题',
    user: '用户 ID',
    anyState: '全部状态',
    anyTopic: '全部主题',
    apply: '筛选',
    clear: '清除',
    refresh: '刷新',
    message: '消息',
    attempts: '尝试次数',
    lastError: '最近错误',
    created: '创建时间',
    updated: '更新时间',
    retry: '重试',
    retried: '任务 {id} 已重新发布。',
    retryAll: '重试全部失败任务',
    retryAllTitle: '重试所有失败的任务？',
    retryAllText: '最多 {n} 个失败任务（最近失败的优先）将立即重新发布。',
    retryAllFilters: '仅限符合筛选条件的：{filters}。',
    retryAllOk: '重试',
    cancel: '取消',
    retriedAll: '{n} 个失败任务已重新发布。',
    retriedMore: '{n} 个失败任务已重新发布；可能还有剩余，请再次重试。',
    prev: '上一页',
    next: '下一页',
    page: '第 {n} 页',
    empty: '没有符合条件的任务。',
    create: '待发布',
    completed: '已发布',
    fail: '失败',
  },
};

const stateColor: Record<string, string> = { create: 'blue', completed: 'green', fail: 'red' };

export default function Outbox() {
  const admin = useAdmin();
  const t = useT(msgs);
  const errorText = useErrorText();
  const [api, holder] = message.useMessage();
  const { query } = useRoute();
  const filters = readOutboxFilters(query);
  const key = outboxSearch(filters);
  const tasks = useQuery<Task[]>(() => admin.get<Task[]>(ADMIN + 'tasks', taskQuery(filters, PAGE)), [admin, key]);
  const [userDraft, setUserDraft] = useState(filters.userId);
  useEffect(() => setUserDraft(filters.userId), [filters.userId]);
  const [confirming, setConfirming] = useState(false);
  const [retryingAll, setRetryingAll] = useState(false);
  const [retrying, setRetrying] = useState<string>();

  const go = (f: OutboxFilters) => navigate('outbox', outboxSearch(f));
  const stateLabel = (s: string) => ((TASK_STATES as readonly string[]).includes(s) ? t(s as 'create' | 'completed' | 'fail') : s);

  const retryOne = async (id: string) => {
    setRetrying(id);
    try {
      await admin.post<Task>(ADMIN + 'tasks/' + encodeURIComponent(id) + '/retry');
      void api.success(t('retried', { id }));
      await tasks.reload();
    } catch (e) {
      void api.error(errorText(e));
    } finally {
      setRetrying(undefined);
    }
  };
  const retryAll = async () => {
    setRetryingAll(true);
    try {
      const r = await admin.post<RetryFailedResult>(ADMIN + 'tasks/retry_failed', {
        topic: filters.topic || undefined,
        userId: filters.userId || undefined,
        limit: RETRY_ALL_LIMIT,
      });
      setConfirming(false);
      void api.success({ content: <span data-testid="retry-all-done">{t(r.more ? 'retriedMore' : 'retriedAll', { n: r.retried })}</span> });
      await tasks.reload();
    } catch (e) {
      setConfirming(false);
      void api.error(errorText(e));
    } finally {
      setRetryingAll(false);
    }
  };

  const filterText = [filters.topic && `${t('topic')} ${filters.topic}`, filters.userId && `${t('user')} ${filters.userId}`].filter(Boolean).join(', ');

  const columns: ColumnsType<Task> = [
    { title: t('updated'), dataIndex: 'updateTime', render: (v: number) => formatTime(v), width: 170 },
    {
      title: t('user'),
      dataIndex: 'userId',
      render: (v: string) => (
        <a
          href={`/admin/users/${encodeURIComponent(v)}`}
          onClick={(e) => {
            e.preventDefault();
            navigate('users/' + encodeURIComponent(v));
          }}
        >
          {v}
        </a>
      ),
    },
    { title: t('topic'), dataIndex: 'topic' },
    {
      title: t('state'),
      dataIndex: 'state',
      render: (v: string) => (
        <Tag color={stateColor[v]} data-state={v}>
          {stateLabel(v)}
        </Tag>
      ),
    },
    { title: t('attempts'), dataIndex: 'attempts' },
    {
      title: t('lastError'),
      dataIndex: 'lastError',
      render: (v: string) =>
        v ? (
          <Typography.Text type="danger" ellipsis={{ tooltip: v }} style={{ maxWidth: 320 }} data-testid="task-error">
            {v}
          </Typography.Text>
        ) : null,
    },
    { title: t('created'), dataIndex: 'createTime', render: (v: number) => formatTime(v), width: 170 },
    {
      title: t('message'),
      dataIndex: 'messageId',
      render: (v: string, r) => (
        <Typography.Text copyable={{ text: r.message }} title={r.message} code>
          {v}
        </Typography.Text>
      ),
    },
    {
      title: '',
      render: (_, r) =>
        r.state === 'completed' ? null : (
          <Button size="small" data-testid={`retry-task-${r.messageId}`} loading={retrying === r.messageId} onClick={() => void retryOne(r.messageId)}>
            {t('retry')}
          </Button>
        ),
    },
  ];
  const rows = tasks.data ?? [];

  return (
    <Card
      title={t('title')}
      extra={
        <Space wrap>
          <Button onClick={() => void tasks.reload()} loading={tasks.loading} id="outbox-refresh">
            {t('refresh')}
          </Button>
          <Button danger id="retry-all" onClick={() => setConfirming(true)}>
            {t('retryAll')}
          </Button>
        </Space>
      }
    >
      {holder}
      <Space wrap style={{ marginBottom: 16 }}>
        <Select
          id="outbox-state"
          aria-label={t('state')}
          value={filters.state}
          style={{ width: 150 }}
          onChange={(state: string) => go({ ...filters, state, page: 1 })}
          options={[{ value: '', label: t('anyState') }, ...TASK_STATES.map((s) => ({ value: s, label: stateLabel(s) }))]}
        />
        <Select
          id="outbox-topic"
          aria-label={t('topic')}
          value={filters.topic}
          style={{ width: 220 }}
          onChange={(topic: string) => go({ ...filters, topic, page: 1 })}
          options={[{ value: '', label: t('anyTopic') }, ...TOPICS.map((s) => ({ value: s, label: s }))]}
        />
        <Input.Search
          id="outbox-user"
          aria-label={t('user')}
          placeholder={t('user')}
          value={userDraft}
          maxLength={64}
          allowClear
          enterButton={t('apply')}
          onChange={(e) => setUserDraft(e.target.value)}
          onSearch={(v) => go({ ...filters, userId: v.trim(), page: 1 })}
          style={{ width: 280 }}
        />
        {key && (
          <Button
            onClick={() => {
              setUserDraft('');
              go({ state: '', topic: '', userId: '', page: 1 });
            }}
          >
            {t('clear')}
          </Button>
        )}
      </Space>
      <ErrorAlert error={tasks.error} onRetry={() => void tasks.reload()} />
      <Table<Task>
        id="outbox-table"
        rowKey="messageId"
        size="small"
        loading={tasks.loading}
        dataSource={rows}
        columns={columns}
        pagination={false}
        scroll={{ x: true }}
        locale={{ emptyText: t('empty') }}
      />
      <Space style={{ marginTop: 16 }}>
        <Button id="outbox-prev" disabled={filters.page <= 1} onClick={() => go({ ...filters, page: filters.page - 1 })}>
          {t('prev')}
        </Button>
        <span data-testid="outbox-page">{t('page', { n: filters.page })}</span>
        <Button id="outbox-next" disabled={rows.length < PAGE} onClick={() => go({ ...filters, page: filters.page + 1 })}>
          {t('next')}
        </Button>
      </Space>
      <Modal
        open={confirming}
        title={t('retryAllTitle')}
        okText={t('retryAllOk')}
        cancelText={t('cancel')}
        okButtonProps={{ danger: true, id: 'retry-all-confirm', loading: retryingAll }}
        cancelButtonProps={{ id: 'retry-all-cancel' }}
        onOk={() => void retryAll()}
        onCancel={() => setConfirming(false)}
      >
        <p>{t('retryAllText', { n: RETRY_ALL_LIMIT })}</p>
        {filterText && <p>{t('retryAllFilters', { filters: filterText })}</p>}
      </Modal>
    </Card>
  );
}
