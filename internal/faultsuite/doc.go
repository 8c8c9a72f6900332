// Package faultsuite holds bigmarket's fault-injection suite (tests only): it
// builds the bigmarket binary, starts it as separate OS processes in embedded
// mode (SQLite) and production mode (MariaDB 2 × 4, Redis, RabbitMQ), drives
// activity/draw under load, breaks things (kill -9, SIGTERM, a killed instance of
// two, RabbitMQ, Redis and MariaDB unreachable or emptied), restarts what it
// stopped, and then checks DESIGN §9's invariants from the database directly:
// awards issued ≤ stock, every answered draw has exactly one award record, every
// record finished, credits equal to their ledger, no webhook posted twice, no
// quota spent without its raffle order.
//
// The suite runs only when BIGMARKET_FAULT_SUITE=1; .ci/run runs it in a serial
// step of its own:
//
//	BIGMARKET_FAULT_SUITE=1 BIGMARKET_REQUIRE_SERVICES=1 go test -count=1 -timeout 15m -v -run . ./internal/faultsuite/
//
// The fleet test (TestFleetBehindNginx) runs Debian's nginx with the shipped
// deploy/nginx.conf in front of three production instances, kills one with
// SIGKILL under load and restarts it, watches the Redis leases of the
// fleet-wide jobs, and checks the same invariants; it runs only when
// BIGMARKET_FLEET_SUITE=1, in a serial step of .ci/run of its own:
//
//	BIGMARKET_FLEET_SUITE=1 BIGMARKET_REQUIRE_SERVICES=1 go test -count=1 -timeout 10m -v -run TestFleet ./internal/faultsuite/
package faultsuite
