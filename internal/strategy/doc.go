// Package strategy is the raffle engine: prize tables with exact integer alias
// sampling, the strategy-level rule chain (blacklist, weight, default), the
// per-award rule trees (lock, stock, luck award), and award stock.
//
// The engine holds assembled ("armed") strategies in memory; it reads no storage on
// the draw path. Stock is taken through a Counter (in process or Redis).
//
// # Arming
//
// Engine.Arm compiles a whole configuration (strategies and rule trees) into an
// immutable snapshot and swaps it in atomically; strategies left out are no longer
// armed. Raffles never lock: they load the current snapshot. Invalid input is
// rejected with an error naming the strategy or tree, and the previous snapshot
// stays in force.
//
// # Drawing
//
// Rates are relative integer weights (millionths); each strategy has an alias
// table (Alias) over its whole table and one per rule_weight group, so every draw
// is O(1), exact and never empty. A raffle runs the chain in the order the strategy
// lists its rules: rule_blacklist (a listed user gets the blacklist award at once:
// no draw, no tree, no stock), rule_weight (equal: the group whose threshold equals
// the draw count; at_least: the group with the largest threshold ≤ the count),
// then the default draw. The drawn award's rule tree runs afterwards, for weighted
// draws too: rule_lock answers ALLOW when today's draws reach its count,
// rule_stock takes one unit (TAKE_OVER with the drawn award) or answers ALLOW when
// none is left, rule_luck_award sets the fallback award with a random credit amount
// in its range. The award set last wins; when no node sets one, the drawn award
// is returned. An award without a tree is returned as drawn and takes no stock.
// Whatever a tree says, the engine never gives a stock-limited award (its tree
// has a rule_stock node) whose take failed, nor an award whose rule_lock answered
// TAKE_OVER: the tree's luck award stands in, or the raffle fails with
// ErrNoAward when the tree has none.
//
// # Stock
//
// A stock counter holds the units taken of one award of one strategy (key
// StockKey); a take is Counter.Acquire with the award's count as the limit, one
// atomic step, so stock never oversells. Counters are rebuilt from durable facts
// (StockStore.CountTakes: award records that took stock) on Arm and after a cache
// loss, never from a lagging counter, and the rebuild is fenced against the takes
// in flight: a take made inside a transaction first holds the key's stock fence
// (Request.Hold, store/fencedb) until the transaction ends, and a rebuild fences
// the counter (every take refused), waits out every holder (StockFence.Barrier),
// counts, and installs the count only if its fence is still there. A take that
// finds its counter missing while holding a fence never rebuilds it itself (the
// barrier would wait for its own transaction): it is refused (undersell) and the
// rebuild runs in the background. Successful takes are summed in memory per
// award (one atomic add) and handed to StockStore.ApplyTakes in batches by Flush
// and RunFlusher, which update the database surplus for display.
package strategy
