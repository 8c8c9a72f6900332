package counter

// QueuedTakes is the number of takes waiting for a pipeline.
func QueuedTakes(r *Redis) int {
	r.pipe.mu.Lock()
	defer r.pipe.mu.Unlock()
	return len(r.pipe.queue)
}
