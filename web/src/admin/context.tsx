// What every console screen needs: the admin client of the signed-in operator.

import { createContext, useContext } from 'react';
import { AdminClient } from './api';

/** The signed-in operator's client; set by the shell once signed in. */
export const AdminContext = createContext<AdminClient | null>(null);

/** The admin client; only screens inside the signed-in shell call it. */
export function useAdmin(): AdminClient {
  const c = useContext(AdminContext);
  if (!c) throw new Error('useAdmin outside the signed-in console');
  return c;
}
