// The console shell: sign-in with the admin token (kept in sessionStorage,
// sent as a bearer token; a 401 returns here), then a menu of screens.

import { Button, Card, ConfigProvider, Form, Input, Layout, Menu, Result, Select, Spin, Typography } from 'antd';
import enUS from 'antd/locale/en_US';
import zhCN from 'antd/locale/zh_CN';
import { Suspense, useCallback, useMemo, useState } from 'react';
import { AdminClient, AdminError } from './api';
import { AdminContext } from './context';
import { useErrorText } from './ErrorAlert';
import { LangProvider, useLangState, useT, type Catalog } from './i18n';
import { navigate, useRoute } from './router';
import { screenFor, screens } from './routes';

const TOKEN_KEY = 'bigmarket.adminToken';

type Key =
  | 'title'
  | 'signInTitle'
  | 'signInHint'
  | 'token'
  | 'tokenRequired'
  | 'signIn'
  | 'signOut'
  | 'refused'
  | 'expired'
  | 'notFound'
  | 'lottery';

const msgs: Catalog<Key> = {
  en: {
    title: 'bigmarket console',
    signInTitle: 'Sign in',
    signInHint: 'Enter an admin token (BIGMARKET_ADMIN_TOKEN or one of BIGMARKET_ADMIN_TOKENS).',
    token: 'Admin token',
    tokenRequired: 'Enter the admin token.',
    signIn: 'Sign in',
    signOut: 'Sign out',
    refused: 'This token was refused.',
    expired: 'Your session ended: sign in again.',
    notFound: 'No such screen.',
    lottery: 'Lottery page',
  },
  'zh-CN': {
    title: 'bigmarket 运营后台',
    signInTitle: '登录',
    signInHint: '请输入管理令牌（BIGMARKET_ADMIN_TOKEN 或 BIGMARKET_ADMIN_TOKENS 中的一个）。',
    token: '管理令牌',
    tokenRequired: '请输入管理令牌。',
    signIn: '登录',
    signOut: '退出',
    refused: '令牌无效。',
    expired: '会话已失效，请重新登录。',
    notFound: '没有这个页面。',
    lottery: '抽奖页',
  },
};

function session(): Storage | null {
  try {
    return window.sessionStorage;
  } catch {
    return null;
  }
}

/** The console: language provider around the shell. */
export function App() {
  return (
    <LangProvider>
      <Themed />
    </LangProvider>
  );
}

function Themed() {
  const { lang } = useLangState();
  return (
    <ConfigProvider locale={lang === 'zh-CN' ? zhCN : enUS} theme={{ token: { colorPrimary: '#d4380d' } }}>
      <Shell />
    </ConfigProvider>
  );
}

function Shell() {
  const { lang } = useLangState();
  const t = useT(msgs);
  const [token, setToken] = useState<string | null>(() => session()?.getItem(TOKEN_KEY) ?? null);
  const [notice, setNotice] = useState<string>();
  const signOut = useCallback((why?: string) => {
    session()?.removeItem(TOKEN_KEY);
    setToken(null);
    setNotice(why);
  }, []);
  const client = useMemo(
    () => (token ? new AdminClient(token, { lang, onUnauthorized: () => signOut('expired') }) : null),
    [token, lang, signOut],
  );
  if (!client) {
    return (
      <SignIn
        notice={notice ? t(notice as Key) : undefined}
        onSignedIn={(tok) => {
          session()?.setItem(TOKEN_KEY, tok);
          setNotice(undefined);
          setToken(tok);
        }}
      />
    );
  }
  return (
    <AdminContext.Provider value={client}>
      <Console onSignOut={() => signOut()} />
    </AdminContext.Provider>
  );
}

function LangSwitch() {
  const { lang, setLang } = useLangState();
  return (
    <Select
      aria-label="Language / 语言"
      size="small"
      value={lang}
      onChange={setLang}
      options={[
        { value: 'zh-CN', label: '中文' },
        { value: 'en', label: 'English' },
      ]}
      style={{ width: 96 }}
    />
  );
}

function SignIn({ notice, onSignedIn }: { notice?: string; onSignedIn: (token: string) => void }) {
  const t = useT(msgs);
  const errorText = useErrorText();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | undefined>(notice);
  const submit = async ({ token }: { token: string }) => {
    const tok = token.trim();
    setBusy(true);
    setError(undefined);
    try {
      // Any admin read proves the token: the switches are a cheap one.
      await new AdminClient(tok).get('/api/admin/v1/switches');
      onSignedIn(tok);
    } catch (e) {
      setError(e instanceof AdminError && e.unauthorized ? t('refused') : errorText(e));
    } finally {
      setBusy(false);
    }
  };
  return (
    <div style={{ minHeight: '100vh', display: 'grid', placeItems: 'center', background: '#f5f5f5', padding: 16 }}>
      <Card title={t('title')} extra={<LangSwitch />} style={{ width: '100%', maxWidth: 420 }}>
        <Typography.Paragraph type="secondary">{t('signInHint')}</Typography.Paragraph>
        <Form layout="vertical" onFinish={submit} requiredMark={false}>
          <Form.Item
            label={t('token')}
            name="token"
            rules={[{ required: true, whitespace: true, message: t('tokenRequired') }]}
            validateStatus={error ? 'error' : undefined}
            help={error ? <span data-testid="sign-in-error">{error}</span> : undefined}
          >
            <Input.Password id="admin-token" autoComplete="current-password" autoFocus />
          </Form.Item>
          <Button type="primary" htmlType="submit" loading={busy} block id="sign-in">
            {t('signIn')}
          </Button>
        </Form>
      </Card>
    </div>
  );
}

function Console({ onSignOut }: { onSignOut: () => void }) {
  const t = useT(msgs);
  const { lang } = useLangState();
  const { path } = useRoute();
  const screen = screenFor(path);
  const Component = screen?.component;
  return (
    <Layout style={{ minHeight: '100vh' }}>
      <Layout.Sider breakpoint="md" collapsedWidth={0} theme="light" width={200}>
        <div style={{ padding: '16px 24px', fontWeight: 600 }} data-testid="console-title">
          {t('title')}
        </div>
        <Menu
          mode="inline"
          selectedKeys={screen ? [screen.path] : []}
          items={screens.map((s) => ({
            key: s.path,
            label: (
              <a
                href={`/admin/${s.path}`}
                data-testid={`menu-${s.path}`}
                onClick={(e) => {
                  e.preventDefault();
                  navigate(s.path);
                }}
              >
                {s.label[lang]}
              </a>
            ),
          }))}
        />
      </Layout.Sider>
      <Layout>
        <Layout.Header style={{ background: '#fff', display: 'flex', gap: 12, justifyContent: 'flex-end', alignItems: 'center', padding: '0 16px' }}>
          <a href="/" target="_blank" rel="noreferrer">
            {t('lottery')}
          </a>
          <LangSwitch />
          <Button onClick={onSignOut} id="sign-out">
            {t('signOut')}
          </Button>
        </Layout.Header>
        <Layout.Content style={{ margin: 16 }}>
          {Component ? (
            <Suspense fallback={<Spin />}>
              <Component key={screen.path} />
            </Suspense>
          ) : (
            <Result status="404" title={t('notFound')} />
          )}
        </Layout.Content>
      </Layout>
    </Layout>
  );
}
