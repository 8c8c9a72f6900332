// What the operator endpoints of the users, outbox and switches screens answer
// (internal/httpapi: ops.go, outboxops.go, audit.go).

/** A user's draw quota on one activity (GET users/{userId} accounts). */
export interface Account {
  totalCount: number;
  totalCountSurplus: number;
  dayCount: number;
  dayCountSurplus: number;
  monthCount: number;
  monthCountSurplus: number;
}

export interface RaffleOrder {
  userId: string;
  activityId: number;
  activityName: string;
  strategyId: number;
  orderId: string;
  orderTime: number;
  orderState: string;
}

export interface QuotaOrder {
  orderId: string;
  sku: number;
  activityId: number;
  totalCount: number;
  dayCount: number;
  monthCount: number;
  payAmount: number;
  state: string;
  outBusinessNo: string;
  orderTime: number;
}

export interface AwardRecord {
  orderId: string;
  activityId: number;
  strategyId: number;
  awardId: number;
  awardTitle: string;
  awardConfig: string;
  awardState: string;
  awardTime: number;
  attempts: number;
  lastError: string;
}

export interface CreditOrder {
  orderId: string;
  tradeName: string;
  tradeType: string;
  tradeAmount: number;
  outBusinessNo: string;
  time: number;
}

export interface RebateOrder {
  orderId: string;
  behaviorType: string;
  rebateType: string;
  rebateConfig: string;
  outBusinessNo: string;
  bizId: string;
  state: string;
  time: number;
  attempts: number;
  lastError: string;
}

/** GET users/{userId}. */
export interface UserView {
  userId: string;
  accounts: Record<string, Account>;
  raffleOrders: RaffleOrder[];
  quotaOrders: QuotaOrder[];
  awardRecords: AwardRecord[];
  credit: number;
  ledger: CreditOrder[];
  extra?: { rebateOrders?: RebateOrder[] } & Record<string, unknown>;
}

/** One activity of GET activities (only what these screens read). */
export interface ActivityRef {
  activityId: number;
  activityName: string;
}

/** POST quota/grant. */
export interface GrantRequest {
  id: string;
  userId: string;
  activityId: number;
  total: number;
  day: number;
  month: number;
  reason: string;
}

/** One task of GET tasks. */
export interface Task {
  messageId: string;
  userId: string;
  topic: string;
  state: string;
  attempts: number;
  lastError: string;
  message: string;
  createTime: number;
  updateTime: number;
}

/** POST tasks/retry_failed. */
export interface RetryFailedResult {
  retried: number;
  more: boolean;
  tasks: Task[];
}

/** One switch of GET switches/state. */
export interface SwitchState {
  key: string;
  value: string;
  changedAt?: number;
  changedBy?: string;
}
