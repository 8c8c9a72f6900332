package rabbitmq

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/bigmarket/bigmarket/internal/platform/bus"
	"github.com/bigmarket/bigmarket/internal/testsvc"
)

// BenchmarkRabbitMQPublishConsume sends b.N messages through a real RabbitMQ the
// way the outbox relay and a delivery consumer do: 64 goroutines publish with
// confirms, one subscription (default prefetch and handlers) consumes and
// acknowledges them; the clock stops when every message was handled and the bus
// closed (so every acknowledgement has reached the broker). Besides messages/s it
// reports, when the broker runs on this machine, RabbitMQ's CPU per message
// (beam.smp's utime+stime, in 10 ms ticks: use a fixed -benchtime such as
// 10000x) and its read and write system calls per message, and this process's
// CPU per message. The broker is shared: other work on it counts too.
//
//	BIGMARKET_REQUIRE_SERVICES=1 go test -run '^$' -bench PublishConsume -benchtime 10000x -count 3 ./internal/platform/bus/rabbitmq
//
// The "paced" variant publishes at most 1 000 messages/s in all, nearer to a
// loaded server's rate, where fewer messages share each system call.
func BenchmarkRabbitMQPublishConsume(b *testing.B) {
	b.Run("max", func(b *testing.B) { benchPublishConsume(b, 0) })
	b.Run("paced", func(b *testing.B) { benchPublishConsume(b, 1000) })
}

// benchPublishConsume runs the benchmark, publishing at most rate messages/s
// when rate > 0.
func benchPublishConsume(b *testing.B, rate int) {
	const publishers = 64
	cfg := Config{URL: testsvc.AMQPURL(b)}
	name := testsvc.UniqueName("busbench_")
	cfg.Exchange, cfg.QueuePrefix = name, name+"."
	bb, err := New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	var handled atomic.Int64
	all := make(chan struct{})
	n := int64(b.N)
	if err := bb.Subscribe("send_award", func(context.Context, bus.Message) error {
		if handled.Add(1) == n {
			close(all)
		}
		return nil
	}); err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := bb.Start(ctx); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		bb.Close()
		q := bb.QueueName("send_award")
		withChannel(b, cfg.URL, func(ch *amqp.Channel) {
			for _, n := range []string{q, q + ".retry", q + ".failed"} {
				ch.QueueDelete(n, false, false, false)
			}
			ch.ExchangeDelete(cfg.Exchange, false, false)
		})
	})
	body, _ := bus.NewEnvelope("x", time.UnixMilli(0), map[string]int{"awardId": 101})
	broker := brokerPID()

	var next atomic.Int64
	var tick <-chan time.Time
	if rate > 0 {
		t := time.NewTicker(time.Second / time.Duration(rate))
		defer t.Stop()
		tick = t.C
	}
	var wg sync.WaitGroup
	beamBefore, ioBefore := procCPU(broker), procIO(broker)
	selfBefore := selfCPU()
	b.ResetTimer()
	start := time.Now()
	for range publishers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1)
				if i > n {
					return
				}
				if tick != nil {
					<-tick
				}
				m := bus.Message{Topic: "send_award", ID: "b" + strconv.FormatInt(i, 10), Body: body}
				if err := bb.Publish(ctx, m); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	select {
	case <-all:
	case <-ctx.Done():
		b.Fatalf("only %d of %d messages handled", handled.Load(), n)
	}
	if err := bb.Close(); err != nil {
		b.Fatal(err)
	}
	elapsed := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(n)/elapsed.Seconds(), "msgs/s")
	b.ReportMetric(float64(selfCPU()-selfBefore)/float64(time.Microsecond)/float64(n), "client-µs/msg")
	if broker > 0 {
		b.ReportMetric(float64(procCPU(broker)-beamBefore)/float64(time.Microsecond)/float64(n), "beam-µs/msg")
		io := procIO(broker)
		b.ReportMetric(float64(io[0]-ioBefore[0])/float64(n), "beam-reads/msg")
		b.ReportMetric(float64(io[1]-ioBefore[1])/float64(n), "beam-writes/msg")
	}
}

// brokerPID returns the pid of the local beam.smp (RabbitMQ), or 0.
func brokerPID() int {
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, d := range dirs {
		comm, err := os.ReadFile(d + "/comm")
		if err == nil && strings.TrimSpace(string(comm)) == "beam.smp" {
			pid, _ := strconv.Atoi(filepath.Base(d))
			return pid
		}
	}
	return 0
}

// procCPU returns the user+system CPU time of pid (0 when unknown).
func procCPU(pid int) time.Duration {
	if pid == 0 {
		return 0
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// Fields after the command name, which is in parentheses: state is field 3,
	// utime and stime are fields 14 and 15.
	f := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
	if len(f) < 13 {
		return 0
	}
	u, _ := strconv.ParseInt(f[11], 10, 64)
	s, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(u+s) * 10 * time.Millisecond // USER_HZ is 100 on Linux
}

// procIO returns the read and write system call counts of pid.
func procIO(pid int) [2]int64 {
	var r [2]int64
	if pid == 0 {
		return r
	}
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/io", pid))
	if err != nil {
		return r
	}
	for _, line := range strings.Split(string(data), "\n") {
		k, v, ok := strings.Cut(line, ": ")
		if !ok {
			continue
		}
		n, _ := strconv.ParseInt(v, 10, 64)
		switch k {
		case "syscr":
			r[0] = n
		case "syscw":
			r[1] = n
		}
	}
	return r
}

// selfCPU returns this process's user+system CPU time.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
