// Answers of the admin endpoints the lab and the activities screen read.

/** One award of a strategy with its stock (GET /api/admin/v1/activities). */
export interface AwardStock {
  strategyId: number;
  awardId: number;
  awardTitle: string;
  awardRate: string;
  count: number;
  taken: number;
  left: number;
}

/** One SKU of an activity with its quota package, price and stock. */
export interface SKUDetail {
  sku: number;
  activityCountId: number;
  totalCount: number;
  dayCount: number;
  monthCount: number;
  productAmount: string;
  stockCount: number;
  stockLeft: number;
}

/** One activity of GET /api/admin/v1/activities. */
export interface ActivityStock {
  activityId: number;
  activityName: string;
  activityDesc: string;
  state: string;
  beginDateTime: number;
  endDateTime: number;
  strategyId: number;
  skus: SKUDetail[];
  awards: AwardStock[];
}

/** One row of GET /api/admin/v1/stock: the durable count of takes besides the counter's. */
export interface StockRow {
  strategyId: number;
  awardId: number;
  count: number;
  taken: number;
  recorded: number;
}

/** One stage of GET /api/v1/raffle/erp/query_raffle_activity_stage_list. */
export interface Stage {
  id: number;
  channel: string;
  source: string;
  activityId: number;
  state: string;
}
