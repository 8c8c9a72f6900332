package awarddb

// QueuedCredits is the number of credit deliveries waiting for a batch on
// shard (0 when deliveries are not batched).
func (d *Deliveries) QueuedCredits(shard int) int {
	if d.batches == nil {
		return 0
	}
	return d.batches[shard].gather.Queued()
}

// RunningCredits is the number of credit batchers running on shard.
func (d *Deliveries) RunningCredits(shard int) int {
	if d.batches == nil {
		return 0
	}
	return d.batches[shard].gather.Running()
}
