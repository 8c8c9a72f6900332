package activity

import "errors"

// Errors callers branch on. The HTTP layer maps the first ones to the codes noted.
var (
	// ErrNotOpen reports an activity whose state is not open (ERR_BIZ_003).
	ErrNotOpen = errors.New("activity: activity not open")
	// ErrNotInDate reports a time outside the activity's begin/end (ERR_BIZ_004).
	ErrNotInDate = errors.New("activity: activity not in date")
	// ErrSKUStockOut reports a SKU whose stock is sold out (ERR_BIZ_005).
	ErrSKUStockOut = errors.New("activity: sku stock insufficient")
	// ErrTotalQuota reports a user without total quota left, or without an
	// account at all (ERR_BIZ_006).
	ErrTotalQuota = errors.New("activity: total quota insufficient")
	// ErrMonthQuota reports a user without quota left this month (ERR_BIZ_007).
	ErrMonthQuota = errors.New("activity: month quota insufficient")
	// ErrDayQuota reports a user without quota left today (ERR_BIZ_008).
	ErrDayQuota = errors.New("activity: day quota insufficient")
	// ErrOrderUsed reports a raffle order that was already used (ERR_BIZ_009).
	ErrOrderUsed = errors.New("activity: raffle order already used")
	// ErrDuplicate reports a repeated out_business_no (or grant id, or order
	// id): the request was already handled and nothing changed (0003).
	ErrDuplicate = errors.New("activity: duplicate order")
	// ErrUnknownActivity reports an activity id the configuration does not hold.
	ErrUnknownActivity = errors.New("activity: unknown activity")
	// ErrUnknownSKU reports a SKU the configuration does not hold, or one that
	// does not belong to the activity or count it was given with.
	ErrUnknownSKU = errors.New("activity: unknown sku")
	// ErrOrderNotFound reports a quota order that does not exist.
	ErrOrderNotFound = errors.New("activity: quota order not found")
	// ErrInvalid reports a malformed request: an empty user id, order id or
	// out_business_no, or a negative count (0002).
	ErrInvalid = errors.New("activity: invalid request")
	// ErrStockCounterLost reports a SKU stock counter still missing after a
	// rebuild (lost again meanwhile, or still being rebuilt by another order or
	// instance): the order took nothing and stored nothing; it may be retried.
	ErrStockCounterLost = errors.New("activity: sku stock counter lost")
	// ErrGrantConflict reports a grant id already used for another grant (another
	// user, activity or counts): grants are idempotent by id, so nothing is
	// granted (0003).
	ErrGrantConflict = errors.New("activity: grant id already used for another grant")
)
