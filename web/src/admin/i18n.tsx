// The console's languages: zh-CN and en, as on the lottery page (the same
// stored choice and browser detection). Each screen keeps its own catalog of
// both languages and reads it with useT, so a screen's texts live beside it.

import { createContext, useCallback, useContext, useEffect, useState, type ReactNode } from 'react';
import { detectLang, format, type Lang } from '../common/i18n';

/** A screen's messages in both languages; zh-CN has exactly en's keys. */
export type Catalog<K extends string> = { en: Record<K, string>; 'zh-CN': Record<K, string> };

const LANG_KEY = 'bigmarket.lang';

interface LangState {
  lang: Lang;
  setLang: (l: Lang) => void;
}

const LangContext = createContext<LangState>({ lang: 'en', setLang: () => {} });

function storage(): Storage | null {
  try {
    return window.localStorage;
  } catch {
    return null;
  }
}

/** Provides the console language to every screen. */
export function LangProvider({ children }: { children: ReactNode }) {
  const [lang, setLangState] = useState<Lang>(() =>
    detectLang(storage()?.getItem(LANG_KEY) ?? null, navigator.languages ?? [navigator.language]),
  );
  useEffect(() => {
    document.documentElement.lang = lang;
  }, [lang]);
  const setLang = useCallback((l: Lang) => {
    storage()?.setItem(LANG_KEY, l);
    setLangState(l);
  }, []);
  return <LangContext.Provider value={{ lang, setLang }}>{children}</LangContext.Provider>;
}

/** The console language and its setter. */
export function useLangState(): LangState {
  return useContext(LangContext);
}

/** A translate function for catalog in the current language. */
export function useT<K extends string>(catalog: Catalog<K>): (k: K, args?: Record<string, string | number>) => string {
  const { lang } = useLangState();
  return useCallback((k: K, args?: Record<string, string | number>) => format(catalog[lang][k], args), [catalog, lang]);
}
