// Package strategy is the raffle engine: prize tables with exact integer alias
// sampling, the strategy-level rule chain (blacklist, weight, default), the
// per-award rule trees (lock, stock, luck award), and award stock.
//
// The engine holds assembled ("armed") strategies in memory; it reads no storage on
// the draw path. Stock is taken through a Counter (in process or Redis).
package strategy
