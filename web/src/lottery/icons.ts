import credit from './icons/credit.svg';
import count from './icons/count.svg';
import model from './icons/model.svg';
import gift from './icons/gift.svg';
import lock from './icons/lock.svg';
import type { AwardItem } from '../api/client';

export const lockIcon = lock;

/** The prize's image: its own (campaign file), else a bundled icon per award kind. */
export function awardImage(a: Pick<AwardItem, 'awardKey' | 'image'>): string {
  if (a.image && (a.image.startsWith('/') || a.image.startsWith('data:image/'))) return a.image;
  switch (a.awardKey) {
    case 'user_credit_random':
    case 'user_credit_blacklist':
      return credit;
    case 'openai_use_count':
      return count;
    case 'openai_model':
      return model;
    default:
      return gift;
  }
}
