// Switches: degrade, the rate limiter and its settings, each with its current
// value and who changed it last, when. Turning degrade on (every draw is
// refused) asks to confirm; a value the server refuses is shown with the
// server's own message.

import { Alert, Button, Card, Input, Modal, Space, Switch, Table, Typography } from 'antd';
import type { ColumnsType } from 'antd/es/table';
import { useState } from 'react';
import { useQuery } from '../../common/useQuery';
import { ADMIN } from '../api';
import { useAdmin } from '../context';
import { ErrorAlert, useErrorText } from '../ErrorAlert';
import { formatTime } from '../format';
import { useT, type Catalog } from '../i18n';
import { needsConfirm, sortSwitches, switchKind } from '../ops/logic';
import type { SwitchState } from '../ops/types';

type Key =
  | 'title'
  | 'refresh'
  | 'switch'
  | 'value'
  | 'changedAt'
  | 'changedBy'
  | 'never'
  | 'on'
  | 'off'
  | 'save'
  | 'saved'
  | 'confirmTitle'
  | 'confirmText'
  | 'confirmOk'
  | 'cancel'
  | 'degradeSwitch'
  | 'degradeSwitchHelp'
  | 'rateLimiterSwitch'
  | 'rateLimiterSwitchHelp'
  | 'rateLimiterPermitsPerSecond'
  | 'rateLimiterPermitsPerSecondHelp'
  | 'blacklistCount'
  | 'blacklistCountHelp';

const msgs: Catalog<Key> = {
  en: {
    title: 'Switches',
    refresh: 'Refresh',
    switch: 'Switch',
    value: 'Value',
    changedAt: 'Last changed',
    changedBy: 'By',
    never: 'never changed',
    on: 'on',
    off: 'off',
    save: 'Save',
    saved: '{key} is now {value}.',
    confirmTitle: 'Turn degrade on?',
    confirmText: 'Every draw is refused with "paused" until degrade is turned off again. Users keep their draws.',
    confirmOk: 'Turn on',
    cancel: 'Cancel',
    degradeSwitch: 'Degrade',
    degradeSwitchHelp: 'On: draws are paused (code 0004).',
    rateLimiterSwitch: 'Rate limiter',
    rateLimiterSwitchHelp: "On: each user's draws are limited.",
    rateLimiterPermitsPerSecond: 'Draws per second per user',
    rateLimiterPermitsPerSecondHelp: 'The rate limiter\'s permits per second (0.001 to 1,000,000).',
    blacklistCount: 'Blacklist after refusals',
    blacklistCountHelp: 'Refusals that put a user on the 24-hour blacklist; 0 turns it off.',
  },
  'zh-CN': {
    title: '开关',
    refresh: '刷新',
    switch: '开关',
    value: '当前值',
    changedAt: '最近修改',
    changedBy: '修改人',
    never: '从未修改',
    on: '开',
    off: '关',
    save: '保存',
    saved: '{key} 已设为 {value}。',
    confirmTitle: '开启降级？',
    confirmText: '关闭降级前，所有抽奖都会以“暂停”被拒绝。用户的抽奖次数不受影响。',
    confirmOk: '开启',
    cancel: '取消',
    degradeSwitch: '降级',
    degradeSwitchHelp: '开启后暂停抽奖（返回码 0004）。',
    rateLimiterSwitch: '限流',
    rateLimiterSwitchHelp: '开启后限制每个用户的抽奖频率。',
    rateLimiterPermitsPerSecond: '每用户每秒抽奖次数',
    rateLimiterPermitsPerSecondHelp: '限流器每秒许可数（0.001 到 1,000,000）。',
    blacklistCount: '拉黑前的拒绝次数',
    blacklistCountHelp: '被限流拒绝多少次后拉黑 24 小时；0 表示不拉黑。',
  },
};

const known = new Set(['degradeSwitch', 'rateLimiterSwitch', 'rateLimiterPermitsPerSecond', 'blacklistCount']);

export default function Switches() {
  const admin = useAdmin();
  const t = useT(msgs);
  const errorText = useErrorText();
  const state = useQuery<SwitchState[]>(() => admin.get<SwitchState[]>(ADMIN + 'switches/state'), [admin]);
  // Per key: the draft of a number, the error of the last change, the change in flight.
  const [drafts, setDrafts] = useState<Record<string, string>>({});
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [busy, setBusy] = useState<string>();
  const [saved, setSaved] = useState<string>();
  const [confirm, setConfirm] = useState<{ key: string; value: string }>();

  const label = (key: string) => (known.has(key) ? t(key as Key) : key);
  const set = async (key: string, value: string) => {
    setBusy(key);
    setSaved(undefined);
    setErrors((e) => ({ ...e, [key]: '' }));
    try {
      await admin.put(ADMIN + 'switches', { key, value });
      setDrafts((d) => {
        const { [key]: _, ...rest } = d;
        return rest;
      });
      setSaved(t('saved', { key: label(key), value }));
      await state.reload();
    } catch (e) {
      setErrors((x) => ({ ...x, [key]: errorText(e) }));
    } finally {
      setBusy(undefined);
    }
  };
  const change = (key: string, value: string) => {
    if (needsConfirm(key, value)) setConfirm({ key, value });
    else void set(key, value);
  };

  const columns: ColumnsType<SwitchState> = [
    {
      title: t('switch'),
      dataIndex: 'key',
      render: (key: string) => (
        <div>
          <Typography.Text strong>{label(key)}</Typography.Text>
          <br />
          <Typography.Text type="secondary" code>
            {key}
          </Typography.Text>
          {known.has(key) && (
            <div>
              <Typography.Text type="secondary">{t(`${key}Help` as Key)}</Typography.Text>
            </div>
          )}
        </div>
      ),
    },
    {
      title: t('value'),
      render: (_, s) => (
        <div style={{ minWidth: 220 }}>
          {switchKind(s.key) === 'onOff' ? (
            <Space>
              <Switch
                id={`switch-${s.key}`}
                aria-label={label(s.key)}
                checked={s.value === 'open'}
                loading={busy === s.key}
                onChange={(on) => change(s.key, on ? 'open' : 'close')}
              />
              <span data-testid={`value-${s.key}`} data-value={s.value}>
                {s.value === 'open' ? t('on') : t('off')}
              </span>
            </Space>
          ) : (
            <Space.Compact>
              <Input
                id={`input-${s.key}`}
                aria-label={label(s.key)}
                value={drafts[s.key] ?? s.value}
                onChange={(e) => setDrafts((d) => ({ ...d, [s.key]: e.target.value }))}
                onPressEnter={() => change(s.key, (drafts[s.key] ?? s.value).trim())}
                style={{ width: 140 }}
                data-testid={`value-${s.key}`}
                data-value={s.value}
              />
              <Button id={`save-${s.key}`} loading={busy === s.key} disabled={drafts[s.key] === undefined || drafts[s.key] === s.value} onClick={() => change(s.key, (drafts[s.key] ?? s.value).trim())}>
                {t('save')}
              </Button>
            </Space.Compact>
          )}
          {errors[s.key] && (
            <Alert type="error" showIcon role="alert" title={<span data-testid={`switch-error-${s.key}`}>{errors[s.key]}</span>} style={{ marginTop: 8 }} />
          )}
        </div>
      ),
    },
    {
      title: t('changedAt'),
      dataIndex: 'changedAt',
      render: (v: number | undefined, s) => <span data-testid={`changed-at-${s.key}`}>{v ? formatTime(v) : <Typography.Text type="secondary">{t('never')}</Typography.Text>}</span>,
    },
    { title: t('changedBy'), dataIndex: 'changedBy', render: (v: string | undefined, s) => <span data-testid={`changed-by-${s.key}`}>{v ?? ''}</span> },
  ];

  return (
    <Card
      title={t('title')}
      extra={
        <Button onClick={() => void state.reload()} loading={state.loading} id="switches-refresh">
          {t('refresh')}
        </Button>
      }
    >
      <ErrorAlert error={state.error} onRetry={() => void state.reload()} />
      {saved && (
        <Typography.Paragraph type="success" role="status" data-testid="switch-saved">
          {saved}
        </Typography.Paragraph>
      )}
      <Table<SwitchState>
        id="switches-table"
        rowKey="key"
        size="small"
        loading={state.loading && !state.data}
        dataSource={sortSwitches(state.data ?? [])}
        columns={columns}
        pagination={false}
        scroll={{ x: true }}
      />
      <Modal
        open={confirm !== undefined}
        title={t('confirmTitle')}
        okText={t('confirmOk')}
        cancelText={t('cancel')}
        okButtonProps={{ danger: true, id: 'degrade-confirm' }}
        cancelButtonProps={{ id: 'degrade-cancel' }}
        onOk={() => {
          const c = confirm;
          setConfirm(undefined);
          if (c) void set(c.key, c.value);
        }}
        onCancel={() => setConfirm(undefined)}
      >
        <p>{t('confirmText')}</p>
      </Modal>
    </Card>
  );
}
