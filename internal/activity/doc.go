// Package activity holds raffle activities, quota packages (counts), SKUs, stages,
// per-user quota accounts, raffle orders and quota orders, with the rules that
// govern them and the small interfaces (Store, Counter) its Service consumes.
//
// # Quota accounts
//
// A user's quota on an activity is kept in three kinds of rows, all on the user's
// shard:
//
//   - the account row (user, activity) holds the total quota total_count and what
//     is left of it, total_count_surplus, plus the per-day quota day_count and the
//     per-month quota month_count (its day_count_surplus and month_count_surplus
//     grow with them and are not consumed by draws: the period rows below hold the
//     live surpluses);
//   - a day row (user, activity, "2006-01-02") is created lazily, on the first draw
//     of that day, with day_count = day_count_surplus = account.day_count;
//   - a month row (user, activity, "2006-01") likewise, from account.month_count.
//
// Days and months are computed in the configured time zone (DayKey, MonthKey).
//
// A quota order (bought with a SKU, earned by a rebate) or a grant adds its counts
// to the account's total_count and total_count_surplus, day_count and
// day_count_surplus, month_count and month_count_surplus, creating the account if
// it is missing, AND to today's day row and this month's row when they already
// exist (so a user who buys more draws mid-day can use them at once). A quota
// order paid with credits is stored wait_pay and adds nothing until it is
// completed.
//
// A partake (the first step of a draw) first reuses the user's unused raffle order
// of the activity, if there is one, without touching any quota. Otherwise it
// requires account.total_count_surplus > 0 (no account at all → ErrTotalQuota),
// then the month row's surplus > 0 (ErrMonthQuota), then the day row's surplus > 0
// (ErrDayQuota), decrements all three by one and creates a raffle order in state
// create; the order becomes used when the draw's award is recorded, in the same
// transaction. A quota of 0 means no draws, not "unlimited".
//
// The draws a user has made are total_count − total_count_surplus (rule_weight's
// progress) and, for today, the day row's day_count − day_count_surplus
// (rule_lock); a user without an account or without today's row has made 0.
//
// # SKU stock
//
// A SKU's stock never oversells: each quota order bought with a SKU takes one
// unit through an atomic Counter (key SKUStockKey, limit = the SKU's stock)
// inside the transaction that stores the order, after holding the SKU's stock
// fence (store/fencedb). The counter holds units taken; after a cache loss it is
// rebuilt from durable facts, the number of quota orders stored for the SKU,
// never from a lagging value, and the rebuild is fenced against the orders in
// flight: it fences the counter (takes refused), waits for every transaction
// holding the SKU's fence (Fence.Barrier), counts, and installs the count only
// if its fence is intact. The order that takes the last unit stores the
// activity_sku_stock_zero outbox task in the same transaction. The database
// surplus (raffle_activity_sku.stock_count_surplus) is lowered asynchronously in
// batches (Service.Flush).
package activity
