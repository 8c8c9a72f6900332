// Client-side routing under /admin/: the server answers every unknown path
// under /admin/ with the console's HTML, and the console picks the screen
// from location.pathname. Links push history entries; back/forward work.

import { useEffect, useState } from 'react';

/** The console's base path. */
export const BASE = '/admin/';

/** The screen part of a console path: "/admin/users/u1" → "users/u1". */
export function screenPath(pathname: string): string {
  return pathname.startsWith(BASE) ? pathname.slice(BASE.length).replace(/\/+$/, '') : '';
}

const listeners = new Set<() => void>();

/** Go to a console screen ("users/u1"), adding a history entry. */
export function navigate(screen: string, search = ''): void {
  const url = BASE + screen.replace(/^\/+/, '') + search;
  if (url !== window.location.pathname + window.location.search) {
    window.history.pushState(null, '', url);
  }
  listeners.forEach((l) => l());
}

/** The current screen path and query, updated on navigate and back/forward. */
export function useRoute(): { path: string; query: URLSearchParams } {
  const read = () => ({ path: screenPath(window.location.pathname), query: new URLSearchParams(window.location.search) });
  const [route, setRoute] = useState(read);
  useEffect(() => {
    const update = () => setRoute(read());
    listeners.add(update);
    window.addEventListener('popstate', update);
    return () => {
      listeners.delete(update);
      window.removeEventListener('popstate', update);
    };
  }, []);
  return route;
}
