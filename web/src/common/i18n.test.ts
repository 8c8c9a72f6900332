import { describe, expect, it } from 'vitest';
import { catalogs, codeMessage, codeMessages, detectLang, format } from './i18n';

describe('code → message', () => {
  it('maps the codes the page must explain, in both languages', () => {
    expect(codeMessage('ERR_BIZ_006', 'en')).toMatch(/No draws left.*sign in.*exchange/i);
    expect(codeMessage('ERR_BIZ_006', 'zh-CN')).toContain('签到');
    expect(codeMessage('0004', 'en')).toMatch(/paused/);
    expect(codeMessage('0004', 'zh-CN')).toContain('暂停');
    expect(codeMessage('0005', 'en')).toMatch(/Too fast/);
    expect(codeMessage('0006', 'en')).toMatch(/busy/);
  });

  it('has the same codes in every language', () => {
    expect(Object.keys(codeMessages['zh-CN']).sort()).toEqual(Object.keys(codeMessages.en).sort());
  });

  it('falls back to a generic message naming an unknown code', () => {
    expect(codeMessage('ERR_NEW_042', 'en')).toBe('Something went wrong (ERR_NEW_042)');
  });

  it('has every catalog key in both languages, none empty', () => {
    for (const k of Object.keys(catalogs.en) as (keyof typeof catalogs.en)[]) {
      expect(catalogs['zh-CN'][k], k).toBeTruthy();
    }
  });
});

describe('format and language', () => {
  it('fills placeholders and leaves unknown ones', () => {
    expect(format('{n} more draws to unlock {x}', { n: 2 })).toBe('2 more draws to unlock {x}');
  });
  it('prefers a stored choice, else the browser languages', () => {
    expect(detectLang('en', ['zh-CN'])).toBe('en');
    expect(detectLang(null, ['zh-TW', 'en'])).toBe('zh-CN');
    expect(detectLang(null, ['fr', 'en-GB'])).toBe('en');
    expect(detectLang(null, ['fr'])).toBe('en');
  });
});
