package activitydb

// QueuedDraws is the number of draws waiting for a batch on shard (0 when
// draws are not batched).
func (s *Store) QueuedDraws(shard int) int {
	if s.batches == nil {
		return 0
	}
	return s.batches[shard].gather.Queued()
}
