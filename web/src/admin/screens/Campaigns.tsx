// Campaigns: the stored campaign in a YAML editor, checked by the server as
// you type (each problem marked at its line and column, listed below the
// editor), a diff against the stored file, apply with confirmation,
// download and upload, and the history of applied revisions.

import { Alert, Button, Card, Empty, Modal, Space, Table, Tabs, Tag, Typography, message } from 'antd';
import { useCallback, useEffect, useRef, useState } from 'react';
import { ADMIN } from '../api';
import { diffSummary } from '../campaigns/diff';
import { CampaignDiff, CampaignEditor, type EditorHandle } from '../campaigns/Editor';
import { diagnosticsOf, problemsOf, problemText, type ProblemItem } from '../campaigns/problems';
import { useAdmin } from '../context';
import { ErrorAlert, useErrorText } from '../ErrorAlert';
import { formatTime } from '../format';
import { useT, type Catalog } from '../i18n';

/** How long the editor waits after the last keystroke before asking the server. */
const VALIDATE_DELAY_MS = 400;

/** One applied revision of GET campaign/revisions. */
interface Revision {
  revision: number;
  time: number;
  actor: string;
  summary: string;
}

/** The answer of POST campaign/apply. */
interface ApplySummary {
  revision: number;
}

type Key =
  | 'title'
  | 'editor'
  | 'diff'
  | 'editorLabel'
  | 'diffLabel'
  | 'checking'
  | 'valid'
  | 'problems'
  | 'unchanged'
  | 'changed'
  | 'apply'
  | 'applyTitle'
  | 'applyBody'
  | 'applyOk'
  | 'cancel'
  | 'applied'
  | 'download'
  | 'upload'
  | 'revert'
  | 'revertTitle'
  | 'revisions'
  | 'revision'
  | 'time'
  | 'actor'
  | 'summary'
  | 'noRevisions'
  | 'at'
  | 'noDiff'
  | 'uploaded'
  | 'checkFailed';

const msgs: Catalog<Key> = {
  en: {
    title: 'Campaign',
    editor: 'Editor',
    diff: 'Changes',
    editorLabel: 'Campaign file (YAML)',
    diffLabel: 'Changes against the stored campaign',
    checking: 'Checking…',
    valid: 'No problems: the file can be applied.',
    problems: '{n} problem(s): fix them before applying.',
    unchanged: 'Same as the stored campaign.',
    changed: 'Edited: {sections} changed section(s), +{added} / −{removed} lines.',
    apply: 'Apply…',
    applyTitle: 'Apply this campaign?',
    applyBody:
      'The server stores the file as a new revision and every instance picks it up at once: {sections} changed section(s), +{added} / −{removed} lines against the stored campaign. Rows left out of the file are kept as they are.',
    applyOk: 'Apply',
    cancel: 'Cancel',
    applied: 'Applied: revision {revision}.',
    download: 'Download stored (.yaml)',
    upload: 'Upload file…',
    revert: 'Revert to stored',
    revertTitle: 'Discard the edit and load the stored campaign',
    revisions: 'Applied revisions',
    revision: 'Revision',
    time: 'Time',
    actor: 'By',
    summary: 'What changed',
    noRevisions: 'No revision applied yet.',
    at: 'Line {line}, column {column}',
    noDiff: 'No change against the stored campaign.',
    uploaded: 'Loaded {name} into the editor (not applied yet).',
    checkFailed: 'The file could not be checked: {error}',
  },
  'zh-CN': {
    title: '活动配置',
    editor: '编辑',
    diff: '改动',
    editorLabel: '活动配置文件（YAML）',
    diffLabel: '与已保存配置的差异',
    checking: '检查中…',
    valid: '没有问题，可以应用。',
    problems: '{n} 个问题：请修正后再应用。',
    unchanged: '与已保存的配置相同。',
    changed: '已修改：{sections} 处改动，+{added} / −{removed} 行。',
    apply: '应用…',
    applyTitle: '应用这份配置？',
    applyBody: '服务器会把文件保存为新版本，所有实例立即生效：与已保存配置相比 {sections} 处改动，+{added} / −{removed} 行。文件中没有的行保持不变。',
    applyOk: '应用',
    cancel: '取消',
    applied: '已应用：版本 {revision}。',
    download: '下载已保存配置（.yaml）',
    upload: '上传文件…',
    revert: '恢复为已保存',
    revertTitle: '放弃修改，载入已保存的配置',
    revisions: '已应用的版本',
    revision: '版本',
    time: '时间',
    actor: '操作人',
    summary: '改动内容',
    noRevisions: '还没有应用过配置。',
    at: '第 {line} 行，第 {column} 列',
    noDiff: '与已保存的配置没有差异。',
    uploaded: '已把 {name} 载入编辑器（尚未应用）。',
    checkFailed: '无法检查文件：{error}',
  },
};

/** The server's verdict on one text. */
interface Check {
  text: string;
  problems: ProblemItem[];
}

export default function Campaigns() {
  const admin = useAdmin();
  const t = useT(msgs);
  const errorText = useErrorText();
  const [modal, modalHolder] = Modal.useModal();
  const [toast, toastHolder] = message.useMessage();
  const editor = useRef<EditorHandle>(null);
  const upload = useRef<HTMLInputElement>(null);

  const [stored, setStored] = useState<string>();
  const [loadError, setLoadError] = useState<unknown>();
  const [text, setText] = useState('');
  const [check, setCheck] = useState<Check>();
  const [checkError, setCheckError] = useState<unknown>();
  const [applying, setApplying] = useState(false);
  const [applyError, setApplyError] = useState<unknown>();
  const [applied, setApplied] = useState<number>();
  const [tab, setTab] = useState('editor');
  const [revisions, setRevisions] = useState<Revision[]>([]);
  const [revisionsError, setRevisionsError] = useState<unknown>();

  const loadStored = useCallback(async () => {
    setLoadError(undefined);
    try {
      const y = await admin.get<string>(ADMIN + 'campaign/export');
      setStored(y);
      return y;
    } catch (e) {
      setLoadError(e);
      return undefined;
    }
  }, [admin]);

  const loadRevisions = useCallback(async () => {
    setRevisionsError(undefined);
    try {
      setRevisions(await admin.get<Revision[]>(ADMIN + 'campaign/revisions', { limit: 50 }));
    } catch (e) {
      setRevisionsError(e);
    }
  }, [admin]);

  useEffect(() => {
    void loadStored().then((y) => {
      if (y !== undefined) setText(y);
    });
    void loadRevisions();
  }, [loadStored, loadRevisions]);

  // Validation as you type: the latest text only, after a pause.
  const seq = useRef(0);
  useEffect(() => {
    if (stored === undefined) return;
    const mine = ++seq.current;
    const timer = setTimeout(async () => {
      let problems: ProblemItem[] = [];
      try {
        await admin.postText(ADMIN + 'campaign/validate', text);
      } catch (e) {
        const ps = problemsOf(e);
        if (!ps) {
          if (mine === seq.current) setCheckError(e);
          return;
        }
        problems = ps;
      }
      if (mine !== seq.current) return;
      setCheckError(undefined);
      setCheck({ text, problems });
      editor.current?.setDiagnostics(text, (doc) => diagnosticsOf(doc, problems));
    }, VALIDATE_DELAY_MS);
    return () => clearTimeout(timer);
  }, [admin, text, stored]);

  const current = check && check.text === text ? check : undefined;
  const problems = current?.problems ?? [];
  const dirty = stored !== undefined && text !== stored;
  const summary = stored !== undefined && dirty ? diffSummary(stored, text) : { sections: 0, added: 0, removed: 0 };

  const apply = () => {
    setApplyError(undefined);
    setApplied(undefined);
    const body = text;
    modal.confirm({
      title: t('applyTitle'),
      content: <span data-testid="campaign-apply-body">{t('applyBody', { ...summary })}</span>,
      okText: t('applyOk'),
      cancelText: t('cancel'),
      okButtonProps: { id: 'campaign-apply-ok' },
      cancelButtonProps: { id: 'campaign-apply-cancel' },
      onOk: async () => {
        setApplying(true);
        try {
          const sum = await admin.postText<ApplySummary>(ADMIN + 'campaign/apply', body);
          setApplied(sum.revision);
          setTab('editor');
          const y = await loadStored();
          if (y !== undefined) {
            setText(y);
            editor.current?.setText(y);
          }
          void loadRevisions();
        } catch (e) {
          const ps = problemsOf(e);
          if (ps) {
            setCheck({ text: body, problems: ps });
            editor.current?.setDiagnostics(body, (doc) => diagnosticsOf(doc, ps));
          } else {
            setApplyError(e);
          }
        } finally {
          setApplying(false);
        }
      },
    });
  };

  const download = async () => {
    const y = await loadStored();
    if (y === undefined) return;
    const url = URL.createObjectURL(new Blob([y], { type: 'application/yaml' }));
    const a = document.createElement('a');
    a.href = url;
    a.download = `campaign-revision-${revisions[0]?.revision ?? 0}.yaml`;
    document.body.appendChild(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
  };

  const onUpload = async (files: FileList | null) => {
    const f = files?.[0];
    if (!f) return;
    const body = await f.text();
    editor.current?.setText(body);
    setText(body);
    setTab('editor');
    toast.info(t('uploaded', { name: f.name }));
    if (upload.current) upload.current.value = '';
  };

  const status = !current ? (
    <Tag data-testid="campaign-status" data-state="checking">
      {t('checking')}
    </Tag>
  ) : problems.length === 0 ? (
    <Tag color="success" data-testid="campaign-status" data-state="valid">
      {t('valid')}
    </Tag>
  ) : (
    <Tag color="error" data-testid="campaign-status" data-state="problems">
      {t('problems', { n: problems.length })}
    </Tag>
  );

  return (
    <Space orientation="vertical" size={16} style={{ width: '100%' }}>
      {modalHolder}
      {toastHolder}
      <Card title={t('title')}>
        <Space wrap style={{ marginBottom: 12 }}>
          <Button onClick={() => void download()} id="campaign-download">
            {t('download')}
          </Button>
          <Button onClick={() => upload.current?.click()} id="campaign-upload-button">
            {t('upload')}
          </Button>
          <input
            ref={upload}
            type="file"
            id="campaign-upload"
            aria-label={t('upload')}
            accept=".yaml,.yml,.json,application/yaml,application/json,text/yaml"
            style={{ display: 'none' }}
            onChange={(e) => void onUpload(e.target.files)}
          />
        </Space>
        <ErrorAlert error={loadError} onRetry={() => void loadStored().then((y) => y !== undefined && setText(y))} />
        {stored !== undefined && (
          <>
            <Space wrap style={{ marginBottom: 12 }}>
              {status}
              <Typography.Text type="secondary" data-testid="campaign-dirty" data-dirty={dirty}>
                {dirty ? t('changed', { ...summary }) : t('unchanged')}
              </Typography.Text>
            </Space>
            {checkError !== undefined && <Alert type="warning" showIcon title={t('checkFailed', { error: errorText(checkError) })} style={{ marginBottom: 12 }} />}
            <ErrorAlert error={applyError} />
            {applied !== undefined && !dirty && (
              <Alert
                type="success"
                showIcon
                closable
                onClose={() => setApplied(undefined)}
                title={<span data-testid="campaign-applied">{t('applied', { revision: applied })}</span>}
                style={{ marginBottom: 12 }}
              />
            )}
            <Tabs
              activeKey={tab}
              onChange={setTab}
              items={[
                {
                  key: 'editor',
                  label: t('editor'),
                  forceRender: true,
                  children: <CampaignEditor ref={editor} initial={stored} onChange={setText} label={t('editorLabel')} />,
                },
                {
                  key: 'diff',
                  label: <span data-testid="campaign-diff-tab">{t('diff')}</span>,
                  children:
                    tab === 'diff' &&
                    (dirty ? <CampaignDiff original={stored} text={text} label={t('diffLabel')} /> : <Empty description={t('noDiff')} />),
                },
              ]}
            />
            {problems.length > 0 && (
              <ol data-testid="campaign-problems" style={{ paddingLeft: 20, marginTop: 12 }}>
                {problems.map((p, i) => (
                  <li key={i}>
                    <Button
                      type="link"
                      danger
                      data-testid="campaign-problem"
                      data-line={p.line}
                      data-column={p.column}
                      style={{ whiteSpace: 'normal', height: 'auto', textAlign: 'left', padding: 0 }}
                      onClick={() => {
                        setTab('editor');
                        editor.current?.goTo(p.line, p.column);
                      }}
                    >
                      {t('at', { line: p.line, column: p.column })}
                    </Button>{' '}
                    <Typography.Text>{problemText(p)}</Typography.Text>
                  </li>
                ))}
              </ol>
            )}
            <Space wrap style={{ marginTop: 12 }}>
              <Button
                type="primary"
                onClick={apply}
                loading={applying}
                disabled={!dirty || !current || problems.length > 0}
                id="campaign-apply"
              >
                {t('apply')}
              </Button>
              <Button
                onClick={() => {
                  editor.current?.setText(stored);
                  setText(stored);
                }}
                disabled={!dirty}
                title={t('revertTitle')}
                id="campaign-revert"
              >
                {t('revert')}
              </Button>
            </Space>
          </>
        )}
      </Card>
      <Card title={t('revisions')}>
        <ErrorAlert error={revisionsError} onRetry={() => void loadRevisions()} />
        <Table<Revision>
          id="campaign-revisions"
          rowKey="revision"
          size="small"
          dataSource={revisions}
          pagination={false}
          scroll={{ x: 640 }}
          locale={{ emptyText: t('noRevisions') }}
          columns={[
            { title: t('revision'), dataIndex: 'revision', width: 90 },
            { title: t('time'), dataIndex: 'time', render: (v: number) => formatTime(v), width: 180 },
            { title: t('actor'), dataIndex: 'actor', width: 120 },
            { title: t('summary'), dataIndex: 'summary' },
          ]}
        />
      </Card>
    </Space>
  );
}
