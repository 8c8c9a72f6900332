package counter

// QueuedTakes is the number of takes waiting for a pipeline.
func QueuedTakes(r *Redis) int { return r.pipe.queue.Queued() }
