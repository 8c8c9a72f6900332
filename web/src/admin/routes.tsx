// The console's screens: the menu, in this order, and the path of each.
// A screen is a component without props; it reads the admin client with
// useAdmin and the route with useRoute. Screens load lazily so the sign-in
// screen and the shell come first.

import { lazy, type ComponentType, type LazyExoticComponent } from 'react';

import type { Lang } from '../common/i18n';

export interface Screen {
  /** The first segment of the path under /admin/. */
  path: string;
  /** The menu entry in each language. */
  label: Record<Lang, string>;
  component: LazyExoticComponent<ComponentType>;
}

export const screens: Screen[] = [
  { path: 'dashboard', label: { en: 'Dashboard', 'zh-CN': '概览' }, component: lazy(() => import('./screens/Dashboard')) },
  { path: 'campaigns', label: { en: 'Campaigns', 'zh-CN': '活动配置' }, component: lazy(() => import('./screens/Campaigns')) },
  { path: 'lab', label: { en: 'Strategy lab', 'zh-CN': '策略实验室' }, component: lazy(() => import('./screens/Lab')) },
  { path: 'activities', label: { en: 'Activities and stock', 'zh-CN': '活动与库存' }, component: lazy(() => import('./screens/Activities')) },
  { path: 'users', label: { en: 'Users', 'zh-CN': '用户' }, component: lazy(() => import('./screens/Users')) },
  { path: 'outbox', label: { en: 'Outbox', 'zh-CN': '消息任务' }, component: lazy(() => import('./screens/Outbox')) },
  { path: 'switches', label: { en: 'Switches', 'zh-CN': '开关' }, component: lazy(() => import('./screens/Switches')) },
  { path: 'audit', label: { en: 'Audit log', 'zh-CN': '审计日志' }, component: lazy(() => import('./screens/Audit')) },
];

/** The screen for a path ("users/u1" → users); the first screen for "". */
export function screenFor(path: string): Screen | undefined {
  const first = path.split('/')[0];
  if (first === '') return screens[0];
  return screens.find((s) => s.path === first);
}
