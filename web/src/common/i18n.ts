// Message catalogs (zh-CN, en) and the one table mapping API codes to
// messages a person understands. Every visible string comes from here.
import { useCallback, useEffect, useState } from 'react';

export type Lang = 'zh-CN' | 'en';

const en = {
  title: 'Lucky draw',
  lang: '中文',
  langLabel: 'Switch language',
  user: 'User',
  userPrompt: 'Who are you? Enter your user id to play.',
  userIdLabel: 'User id',
  activityIdLabel: 'Activity id',
  go: 'Start',
  credits: 'Credits',
  drawsLeft: 'Draws left',
  total: 'Total',
  month: 'This month',
  today: 'Today',
  date: 'Date',
  signIn: 'Sign in',
  signedIn: 'Signed in today',
  signInDone: 'Signed in: today\'s reward is on its way.',
  refresh: 'Refresh',
  loading: 'Loading…',
  activity: 'Activity',
  period: 'Period',
  startsIn: 'Starts in {t}',
  endsIn: 'Ends in {t}',
  notStarted: 'This activity has not started yet.',
  ended: 'This activity has ended.',
  closed: 'This activity is not open.',
  grid: 'Grid',
  wheel: 'Wheel',
  boardKind: 'Board',
  draw: 'Draw',
  drawing: 'Drawing…',
  locked: '{n} more draws to unlock',
  lockedShort: '{n} more draws',
  unlocked: 'Unlocked',
  prizes: 'Prizes',
  resultTitle: 'You won',
  resultText: 'You won: {title}',
  close: 'Close',
  tiers: 'Guaranteed prize tiers',
  tierProgress: '{used} / {need} draws',
  tierReached: 'Reached',
  tierAwards: 'Guarantees: {titles}',
  shop: 'Shop',
  shopHint: 'Exchange credits for draws.',
  skuDraws: '{n} draws',
  skuDraw1: '1 draw',
  skuPrice: '{p} credits',
  skuStock: '{n} left',
  exchange: 'Exchange',
  confirmExchange: 'Exchange {p} credits for {n} draws?',
  confirmExchange1: 'Exchange {p} credits for 1 draw?',
  confirm: 'Confirm',
  cancel: 'Cancel',
  exchanged: 'Exchanged: {n} draws added.',
  exchanged1: 'Exchanged: 1 draw added.',
  shortOfCredits: 'Needs {p} credits; you have {b}.',
  soldOut: 'Sold out',
  myPrizes: 'My prizes',
  myCredits: 'Credit history',
  noPrizes: 'No prizes yet.',
  noLedger: 'No credit history yet.',
  prev: 'Previous',
  next: 'Next',
  pageN: 'Page {n}',
  state_create: 'Delivering',
  state_completed: 'Delivered',
  state_pending_manual: 'Needs an operator',
  trade_award: 'Prize',
  trade_rebate: 'Sign-in reward',
  trade_exchange: 'Exchange',
  balanceAfter: 'Balance {b}',
  time: 'Time',
  prize: 'Prize',
  state: 'State',
  amount: 'Amount',
  reason: 'Reason',
  dismiss: 'Dismiss',
  tokenMode: 'Signed in by your app',
  noActivity: 'No open activity right now.',
  chooseActivity: 'Choose an activity',
  error: 'Something went wrong',
};

export type MessageKey = keyof typeof en;

const zh: Record<MessageKey, string> = {
  title: '幸运抽奖',
  lang: 'English',
  langLabel: '切换语言',
  user: '用户',
  userPrompt: '请输入用户 ID 开始抽奖。',
  userIdLabel: '用户 ID',
  activityIdLabel: '活动 ID',
  go: '开始',
  credits: '积分',
  drawsLeft: '剩余抽奖次数',
  total: '总计',
  month: '本月',
  today: '今日',
  date: '日期',
  signIn: '签到',
  signedIn: '今日已签到',
  signInDone: '签到成功，奖励正在发放。',
  refresh: '刷新',
  loading: '加载中…',
  activity: '活动',
  period: '活动时间',
  startsIn: '{t} 后开始',
  endsIn: '{t} 后结束',
  notStarted: '活动尚未开始。',
  ended: '活动已结束。',
  closed: '活动未开启。',
  grid: '九宫格',
  wheel: '大转盘',
  boardKind: '抽奖盘',
  draw: '抽奖',
  drawing: '抽奖中…',
  locked: '再抽 {n} 次解锁',
  lockedShort: '再抽 {n} 次',
  unlocked: '已解锁',
  prizes: '奖品',
  resultTitle: '恭喜获得',
  resultText: '恭喜获得：{title}',
  close: '关闭',
  tiers: '保底奖品',
  tierProgress: '{used} / {need} 次',
  tierReached: '已达成',
  tierAwards: '必中：{titles}',
  shop: '积分兑换',
  shopHint: '用积分兑换抽奖次数。',
  skuDraws: '{n} 次抽奖',
  skuDraw1: '1 次抽奖',
  skuPrice: '{p} 积分',
  skuStock: '剩余 {n}',
  exchange: '兑换',
  confirmExchange: '确定用 {p} 积分兑换 {n} 次抽奖？',
  confirmExchange1: '确定用 {p} 积分兑换 1 次抽奖？',
  confirm: '确定',
  cancel: '取消',
  exchanged: '兑换成功，已增加 {n} 次抽奖。',
  exchanged1: '兑换成功，已增加 1 次抽奖。',
  shortOfCredits: '需要 {p} 积分，当前 {b}。',
  soldOut: '已售罄',
  myPrizes: '我的奖品',
  myCredits: '积分明细',
  noPrizes: '还没有奖品。',
  noLedger: '还没有积分记录。',
  prev: '上一页',
  next: '下一页',
  pageN: '第 {n} 页',
  state_create: '发放中',
  state_completed: '已发放',
  state_pending_manual: '待人工处理',
  trade_award: '抽奖获得',
  trade_rebate: '签到奖励',
  trade_exchange: '兑换抽奖',
  balanceAfter: '余额 {b}',
  time: '时间',
  prize: '奖品',
  state: '状态',
  amount: '数额',
  reason: '原因',
  dismiss: '关闭',
  tokenMode: '已通过应用登录',
  noActivity: '当前没有进行中的活动。',
  chooseActivity: '选择活动',
  error: '出错了',
};

export const catalogs: Record<Lang, Record<MessageKey, string>> = { en, 'zh-CN': zh };

/** The one table of API codes → messages, per language. */
export const codeMessages: Record<Lang, Record<string, string>> = {
  en: {
    '0001': 'Something went wrong on our side. Please try again.',
    '0002': 'The request was not valid.',
    '0003': 'Already done, or your sign-in has expired.',
    '0004': 'The activity is paused for now. Please come back later.',
    '0005': 'Too fast! Wait a moment before drawing again.',
    '0006': 'The service is busy. Please try again.',
    '0007': 'The service is busy. Please try again.',
    '0008': 'This app is not allowed to call the service.',
    ERR_BIZ_001: 'The prize tiers are not set up.',
    ERR_BIZ_002: 'The prize board is not ready yet.',
    ERR_BIZ_003: 'This activity is not open.',
    ERR_BIZ_004: 'This activity is not running right now.',
    ERR_BIZ_005: 'This package is sold out.',
    ERR_BIZ_006: 'No draws left. Sign in or exchange credits for more.',
    ERR_BIZ_007: 'No draws left this month. Exchange credits for more.',
    ERR_BIZ_008: 'No draws left today. Come back tomorrow or exchange credits.',
    ERR_BIZ_009: 'This draw was already used.',
    ERR_CONFIG_001: 'A prize is misconfigured.',
    ERR_CREDIT_001: 'Not enough credits.',
    NETWORK: 'Cannot reach the service. Check your connection and try again.',
  },
  'zh-CN': {
    '0001': '服务出错了，请重试。',
    '0002': '参数错误。',
    '0003': '已经操作过了，或登录已失效。',
    '0004': '活动暂停中，请稍后再来。',
    '0005': '操作太快了，请稍等再抽。',
    '0006': '服务繁忙，请重试。',
    '0007': '服务繁忙，请重试。',
    '0008': '应用无权调用服务。',
    ERR_BIZ_001: '保底规则未配置。',
    ERR_BIZ_002: '抽奖盘尚未准备好。',
    ERR_BIZ_003: '活动未开启。',
    ERR_BIZ_004: '不在活动有效期内。',
    ERR_BIZ_005: '活动库存不足，已售罄。',
    ERR_BIZ_006: '抽奖次数已用完，签到或用积分兑换次数。',
    ERR_BIZ_007: '本月抽奖次数已用完，可用积分兑换。',
    ERR_BIZ_008: '今日抽奖次数已用完，明天再来或用积分兑换。',
    ERR_BIZ_009: '该抽奖单已使用过。',
    ERR_CONFIG_001: '奖品配置有误。',
    ERR_CREDIT_001: '积分不足。',
    NETWORK: '无法连接服务，请检查网络后重试。',
  },
};

/** The message for an API code; unknown codes fall back to a generic text with the code. */
export function codeMessage(code: string, lang: Lang): string {
  return codeMessages[lang][code] ?? `${catalogs[lang].error} (${code})`;
}

/** Fills {name} placeholders of a catalog message. */
export function format(msg: string, args: Record<string, string | number> = {}): string {
  return msg.replace(/\{(\w+)\}/g, (m, k: string) => (k in args ? String(args[k]) : m));
}

/** The page language: a stored choice, else the browser's (zh… → zh-CN, else en). */
export function detectLang(stored: string | null, languages: readonly string[]): Lang {
  if (stored === 'zh-CN' || stored === 'en') return stored;
  for (const l of languages) {
    const p = l.toLowerCase();
    if (p.startsWith('zh')) return 'zh-CN';
    if (p.startsWith('en')) return 'en';
  }
  return 'en';
}

const LANG_KEY = 'bigmarket.lang';

function storage(): Storage | null {
  try {
    return window.localStorage;
  } catch {
    return null;
  }
}

/** The page language with a setter that remembers the choice. */
export function useLang(): [Lang, (l: Lang) => void, (k: MessageKey, args?: Record<string, string | number>) => string] {
  const [lang, setLangState] = useState<Lang>(() => detectLang(storage()?.getItem(LANG_KEY) ?? null, navigator.languages ?? [navigator.language]));
  useEffect(() => {
    document.documentElement.lang = lang;
  }, [lang]);
  const setLang = useCallback((l: Lang) => {
    storage()?.setItem(LANG_KEY, l);
    setLangState(l);
  }, []);
  const t = useCallback((k: MessageKey, args?: Record<string, string | number>) => format(catalogs[lang][k], args), [lang]);
  return [lang, setLang, t];
}
