package awarddb

import (
	"strings"
	"time"
)

// QueuedCredits is the number of credit deliveries waiting for a batch on
// shard (0 when deliveries are not batched).
func (d *Deliveries) QueuedCredits(shard int) int {
	if d.batches == nil {
		return 0
	}
	return d.batches[shard].gather.Queued()
}

// CreditPace is the pace of shard's credit batcher (0 when deliveries are
// not batched).
func (d *Deliveries) CreditPace(shard int) time.Duration {
	if d.batches == nil {
		return 0
	}
	return d.batches[shard].gather.Pace()
}

// RunningCredits is the number of credit batchers running on shard.
func (d *Deliveries) RunningCredits(shard int) int {
	if d.batches == nil {
		return 0
	}
	return d.batches[shard].gather.Running()
}

// CompleteRecordsSQLite is the SQLite statement completing a credit batch's
// records, its order ids one JSON argument.
var CompleteRecordsSQLite = strings.ReplaceAll(qCompleteRecordsSQLite, "{{orders}}", "SELECT value FROM json_each(?)")
