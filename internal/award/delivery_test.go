package award_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bigmarket/bigmarket/internal/award"
	"github.com/bigmarket/bigmarket/internal/credit"
	"github.com/bigmarket/bigmarket/internal/money"
	"github.com/bigmarket/bigmarket/internal/platform/bus"
	"github.com/bigmarket/bigmarket/internal/store/awarddb"
	"github.com/bigmarket/bigmarket/internal/store/creditdb"
	"github.com/bigmarket/bigmarket/internal/store/sqldb"
	"github.com/bigmarket/bigmarket/internal/store/sqldb/sqldbtest"
)

var t0 = time.UnixMilli(1_700_000_000_000)

type fixture struct {
	records *awarddb.Store
	credits *creditdb.Store
	store   *awarddb.Deliveries
	mu      sync.Mutex
	results map[award.Outcome]int
}

func newFixture(db *sqldb.DB) *fixture {
	f := &fixture{records: awarddb.New(db), credits: creditdb.New(db), results: map[award.Outcome]int{}}
	f.store = awarddb.NewDeliveries(db, f.records, f.credits)
	return f
}

func (f *fixture) deliverer(t *testing.T, cfg award.DelivererConfig) *award.Deliverer {
	t.Helper()
	cfg.Store = f.store
	cfg.OnResult = func(o award.Outcome, _ award.SendAward, _ error) {
		f.mu.Lock()
		f.results[o]++
		f.mu.Unlock()
	}
	d, err := award.NewDeliverer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		d.Close(ctx)
	})
	return d
}

func (f *fixture) outcomes(o award.Outcome) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.results[o]
}

// won stores a record in state create and returns its send_award data.
func (f *fixture) won(t *testing.T, user, order string, key award.Key, config string) award.SendAward {
	t.Helper()
	sa := award.SendAward{UserID: user, StrategyID: 100006, ActivityID: 100301, OrderID: order, AwardID: 101,
		AwardTitle: "随机积分", AwardKey: key, AwardConfig: config}
	err := f.records.Insert(context.Background(), award.Record{UserID: user, ActivityID: sa.ActivityID,
		StrategyID: sa.StrategyID, OrderID: order, AwardID: sa.AwardID, AwardTitle: sa.AwardTitle,
		AwardConfig: config, State: award.RecordCreate, Time: t0})
	if err != nil {
		t.Fatal(err)
	}
	return sa
}

func (f *fixture) state(t *testing.T, sa award.SendAward) award.RecordState {
	t.Helper()
	rec, err := f.records.Get(context.Background(), sa.UserID, sa.OrderID)
	if err != nil {
		t.Fatal(err)
	}
	return rec.State
}

func (f *fixture) ledger(t *testing.T, user string) []credit.Order {
	t.Helper()
	l, err := f.credits.Ledger(context.Background(), user, 0)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func deliver(t *testing.T, d *award.Deliverer, sa award.SendAward, want award.Outcome) {
	t.Helper()
	got, err := d.Deliver(context.Background(), sa)
	if err != nil || got != want {
		t.Fatalf("Deliver(%s) = %s, %v; want %s", sa.OrderID, got, err, want)
	}
}

func TestCreditAwards(t *testing.T) {
	sqldbtest.ForEachEngine(t, func(t *testing.T, db *sqldb.DB) {
		f := newFixture(db)
		d := f.deliverer(t, award.DelivererConfig{})
		ctx := context.Background()

		// The luck amount decided at draw time is credited exactly.
		luck := f.won(t, "lucky", "order-luck", award.KeyCreditRandom, "37.25")
		deliver(t, d, luck, award.OutcomeCredited)
		l := f.ledger(t, "lucky")
		if len(l) != 1 || l[0].Amount != money.FromCents(3725) || l[0].OutBusinessNo != "order-luck" ||
			l[0].TradeType != credit.Forward || l[0].TradeName != credit.TradeAward {
			t.Fatalf("luck award ledger: %+v", l)
		}
		if s := f.state(t, luck); s != award.RecordCompleted {
			t.Fatalf("luck record: %s", s)
		}

		// Blacklist: the fixed config amount.
		black := f.won(t, "black", "order-black", award.KeyCreditBlacklist, "1")
		deliver(t, d, black, award.OutcomeCredited)
		if b, _ := f.credits.Balance(ctx, "black"); b != money.FromInt(1) {
			t.Fatalf("blacklist balance %s, want 1.00", b)
		}

		// A range: random amounts with two fraction digits, inside it.
		var sum money.Amount
		fractional := 0
		for i := range 60 {
			sa := f.won(t, "ranger", fmt.Sprintf("order-r%02d", i), award.KeyCreditRandom, "1,100")
			deliver(t, d, sa, award.OutcomeCredited)
		}
		for _, o := range f.ledger(t, "ranger") {
			if o.Amount.Cmp(money.FromInt(1)) < 0 || o.Amount.Cmp(money.FromInt(100)) > 0 {
				t.Fatalf("amount %s outside [1, 100]", o.Amount)
			}
			if o.Amount.Cents()%100 != 0 {
				fractional++
			}
			sum = sum.Add(o.Amount)
		}
		if fractional == 0 {
			t.Fatal("no amount with cents in 60 draws over 1..100: amounts are not drawn in hundredths")
		}
		if b, _ := f.credits.Balance(ctx, "ranger"); b != sum {
			t.Fatalf("balance %s, ledger sum %s", b, sum)
		}

		// Delivered records are not delivered again.
		deliver(t, d, luck, award.OutcomeAlreadyDone)
		if l := f.ledger(t, "lucky"); len(l) != 1 {
			t.Fatalf("redelivery credited again: %+v", l)
		}
	})
}

// Twenty copies of one send_award handled at once credit the award exactly once.
func TestDuplicatedMessageCreditsOnce(t *testing.T) {
	sqldbtest.ForEachEngine(t, func(t *testing.T, db *sqldb.DB) {
		f := newFixture(db)
		d := f.deliverer(t, award.DelivererConfig{})
		sa := f.won(t, "dup", "order-dup", award.KeyCreditRandom, "12.34")
		body, err := bus.NewEnvelope("msg-dup", t0, sa)
		if err != nil {
			t.Fatal(err)
		}
		msg := bus.Message{Topic: "send_award", ID: "msg-dup", Body: body}
		const n = 20
		var wg sync.WaitGroup
		start := make(chan struct{})
		for range n {
			wg.Go(func() {
				<-start
				if err := d.Handle(context.Background(), msg); err != nil {
					t.Errorf("Handle: %v", err)
				}
			})
		}
		close(start)
		wg.Wait()
		if got := f.outcomes(award.OutcomeCredited); got != 1 {
			t.Fatalf("%d credits, want 1 (outcomes %v)", got, f.results)
		}
		if got := f.outcomes(award.OutcomeAlreadyDone); got != n-1 {
			t.Fatalf("%d already done, want %d", got, n-1)
		}
		if b, _ := f.credits.Balance(context.Background(), "dup"); b != money.FromCents(1234) {
			t.Fatalf("balance %s, want 12.34", b)
		}
		if l := f.ledger(t, "dup"); len(l) != 1 {
			t.Fatalf("ledger %+v, want one order", l)
		}
	})
}

// The ledger already holding the award's credit order (delivered, then the
// record somehow left in create) is taken as delivered: no second credit.
func TestLedgerDuplicateCompletesRecord(t *testing.T) {
	db := sqldbtest.OpenSQLite(t)
	f := newFixture(db)
	d := f.deliverer(t, award.DelivererConfig{})
	sa := f.won(t, "u", "order-1", award.KeyCreditBlacklist, "5")
	err := f.credits.Apply(context.Background(), credit.Order{UserID: "u", OrderID: "c1", TradeName: credit.TradeAward,
		TradeType: credit.Forward, Amount: money.FromInt(5), OutBusinessNo: "order-1", Time: t0})
	if err != nil {
		t.Fatal(err)
	}
	deliver(t, d, sa, award.OutcomeAlreadyDone)
	if s := f.state(t, sa); s != award.RecordCompleted {
		t.Fatalf("record %s, want completed", s)
	}
	if b, _ := f.credits.Balance(context.Background(), "u"); b != money.FromInt(5) {
		t.Fatalf("balance %s, want 5.00", b)
	}
}

func TestPendingManualWithoutWebhook(t *testing.T) {
	sqldbtest.ForEachEngine(t, func(t *testing.T, db *sqldb.DB) {
		f := newFixture(db)
		d := f.deliverer(t, award.DelivererConfig{})
		sa := f.won(t, "gpt", "order-model", "openai_model", "gpt-4")
		deliver(t, d, sa, award.OutcomePendingManual)
		if s := f.state(t, sa); s != award.RecordPendingManual {
			t.Fatalf("record %s, want pending_manual", s)
		}
		deliver(t, d, sa, award.OutcomeAlreadyDone)
		if s := f.state(t, sa); s != award.RecordPendingManual {
			t.Fatalf("record after redelivery %s", s)
		}
	})
}

func TestConfigNotRange(t *testing.T) {
	sqldbtest.ForEachEngine(t, func(t *testing.T, db *sqldb.DB) {
		f := newFixture(db)
		d := f.deliverer(t, award.DelivererConfig{})
		for i, cfg := range []string{"abc", "5,1", "1,x", "-3", "1.234", ""} {
			sa := f.won(t, "conf", fmt.Sprintf("order-bad-%d", i), award.KeyCreditRandom, cfg)
			out, err := d.Deliver(context.Background(), sa)
			if out != award.OutcomeConfigError || !errors.Is(err, award.ErrConfigNotRange) {
				t.Fatalf("config %q: %s, %v; want ErrConfigNotRange", cfg, out, err)
			}
			if s := f.state(t, sa); s != award.RecordPendingManual {
				t.Fatalf("config %q: record %s, want pending_manual", cfg, s)
			}
		}
		// Through the bus handler the permanent error is acknowledged.
		sa := f.won(t, "conf", "order-bad-h", award.KeyCreditBlacklist, "one")
		body, _ := bus.NewEnvelope("m", t0, sa)
		if err := d.Handle(context.Background(), bus.Message{Topic: "send_award", ID: "m", Body: body}); err != nil {
			t.Fatalf("Handle of a config error: %v, want nil (kept for an operator)", err)
		}
		if s := f.state(t, sa); s != award.RecordPendingManual {
			t.Fatalf("record after Handle: %s, want pending_manual", s)
		}
		if b, _ := f.credits.Balance(context.Background(), "conf"); b.Cents() != 0 {
			t.Fatalf("bad configs credited %s", b)
		}
	})
}

func TestHandleErrors(t *testing.T) {
	db := sqldbtest.OpenSQLite(t)
	f := newFixture(db)
	d := f.deliverer(t, award.DelivererConfig{})
	if err := d.Handle(context.Background(), bus.Message{Topic: "send_award", ID: "x", Body: []byte("{not json")}); !errors.Is(err, bus.ErrBadEnvelope) {
		t.Fatalf("bad envelope: %v", err)
	}
	body, _ := bus.NewEnvelope("m", t0, award.SendAward{UserID: "ghost", OrderID: "none", AwardKey: award.KeyCreditBlacklist, AwardConfig: "1"})
	if err := d.Handle(context.Background(), bus.Message{Topic: "send_award", ID: "m", Body: body}); !errors.Is(err, award.ErrRecordNotFound) {
		t.Fatalf("unknown record: %v", err)
	}
}

// webhook is a test receiver: it checks the signature and answers with the
// statuses given, then 200.
type webhook struct {
	t        *testing.T
	secret   string
	statuses []int
	hits     atomic.Int64
	mu       sync.Mutex
	got      []award.SendAward
}

func (h *webhook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	if !award.VerifySignature(h.secret, body, r.Header.Get(award.SignatureHeader)) {
		h.t.Errorf("bad signature %q", r.Header.Get(award.SignatureHeader))
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	var sa award.SendAward
	if err := json.Unmarshal(body, &sa); err != nil || r.Header.Get(award.DeliveryHeader) != sa.OrderID {
		h.t.Errorf("body %s, delivery header %q: %v", body, r.Header.Get(award.DeliveryHeader), err)
	}
	n := int(h.hits.Add(1))
	h.mu.Lock()
	h.got = append(h.got, sa)
	status := http.StatusOK
	if n <= len(h.statuses) {
		status = h.statuses[n-1]
	}
	h.mu.Unlock()
	w.WriteHeader(status)
}

func TestWebhookRetriesThenCompletes(t *testing.T) {
	sqldbtest.ForEachEngine(t, func(t *testing.T, db *sqldb.DB) {
		f := newFixture(db)
		h := &webhook{t: t, secret: "s3cret", statuses: []int{500, 503}}
		srv := httptest.NewServer(h)
		defer srv.Close()
		d := f.deliverer(t, award.DelivererConfig{
			Webhooks:       map[award.Key]award.WebhookConfig{"openai_use_count": {URL: srv.URL, Secret: "s3cret"}},
			WebhookBackoff: time.Millisecond,
		})
		sa := f.won(t, "hooked", "order-hook", "openai_use_count", "5")
		deliver(t, d, sa, award.OutcomeWebhook)
		if h.hits.Load() != 3 {
			t.Fatalf("%d posts, want 3 (500, 503, 200)", h.hits.Load())
		}
		if h.got[2] != sa {
			t.Fatalf("posted %+v, want %+v", h.got[2], sa)
		}
		if s := f.state(t, sa); s != award.RecordCompleted {
			t.Fatalf("record %s", s)
		}
		deliver(t, d, sa, award.OutcomeAlreadyDone)
		if h.hits.Load() != 3 {
			t.Fatal("a completed record was posted again")
		}
		if l := f.ledger(t, "hooked"); len(l) != 0 {
			t.Fatalf("webhook award touched the ledger: %+v", l)
		}
	})
}

func TestWebhookFailureIsReturned(t *testing.T) {
	db := sqldbtest.OpenSQLite(t)
	f := newFixture(db)
	failing := &webhook{t: t, secret: "k", statuses: []int{500, 500, 500, 500, 500, 500}}
	refusing := &webhook{t: t, secret: "k", statuses: []int{400, 400}}
	s1, s2 := httptest.NewServer(failing), httptest.NewServer(refusing)
	defer s1.Close()
	defer s2.Close()
	d := f.deliverer(t, award.DelivererConfig{
		Webhooks: map[award.Key]award.WebhookConfig{
			"down":    {URL: s1.URL, Secret: "k"},
			"refused": {URL: s2.URL, Secret: "k"},
		},
		WebhookAttempts: 3, WebhookBackoff: time.Millisecond,
	})
	sa := f.won(t, "w", "order-down", "down", "x")
	out, err := d.Deliver(context.Background(), sa)
	if out != award.OutcomeError || !errors.Is(err, award.ErrWebhook) || failing.hits.Load() != 3 {
		t.Fatalf("always 500: %s, %v after %d posts; want ErrWebhook after 3", out, err, failing.hits.Load())
	}
	if s := f.state(t, sa); s != award.RecordCreate {
		t.Fatalf("record %s, want create (the bus redelivers)", s)
	}
	sa = f.won(t, "w", "order-refused", "refused", "x")
	if _, err := d.Deliver(context.Background(), sa); !errors.Is(err, award.ErrWebhook) || refusing.hits.Load() != 1 {
		t.Fatalf("400: %v after %d posts; want ErrWebhook after 1", err, refusing.hits.Load())
	}
	// The redelivery succeeds once the receiver is fixed.
	failing.mu.Lock()
	failing.statuses = nil
	failing.mu.Unlock()
	deliver(t, d, f.won(t, "w", "order-later", "down", "x"), award.OutcomeWebhook)
}

func TestCreditAmount(t *testing.T) {
	var asked int64
	lowest := func(n int64) int64 { asked = n; return 0 }
	highest := func(n int64) int64 { return n - 1 }
	for _, tc := range []struct {
		config string
		rand   func(int64) int64
		want   int64
	}{
		{"1,100", lowest, 100},
		{"1,100", highest, 10000},
		{"0.5, 0.75", highest, 75},
		{"37.25", highest, 3725},
		{"3,3", lowest, 300},
	} {
		got, err := award.CreditAmount(tc.config, tc.rand)
		if err != nil || got.Cents() != tc.want {
			t.Errorf("CreditAmount(%q) = %s, %v; want %d cents", tc.config, got, err, tc.want)
		}
	}
	if _, _ = award.CreditAmount("1,100", lowest); asked != 9901 {
		t.Errorf("range 1,100 drew from %d values, want 9901 hundredths", asked)
	}
	for _, bad := range []string{"", "a,b", "2,1", "-1,5", "1,2,3", "0.001"} {
		if _, err := award.CreditAmount(bad, highest); !errors.Is(err, award.ErrConfigNotRange) {
			t.Errorf("CreditAmount(%q): %v, want ErrConfigNotRange", bad, err)
		}
	}
}

func TestSignature(t *testing.T) {
	body := []byte(`{"userId":"u"}`)
	// HMAC-SHA256("key", body), computed independently with openssl.
	sig := award.Sign("key", body)
	if want := "sha256=2628adf6b6d455abff90d2fd008fd48019202d275abab1c900888ed2f630f9f2"; sig != want {
		t.Fatalf("Sign = %s, want %s", sig, want)
	}
	if !award.VerifySignature("key", body, sig) || award.VerifySignature("other", body, sig) ||
		award.VerifySignature("key", []byte(`{"userId":"v"}`), sig) {
		t.Fatalf("signature %s does not verify as it should", sig)
	}
}

func TestHandleReportsDeliveryLag(t *testing.T) {
	db := sqldbtest.OpenSQLite(t)
	f := newFixture(db)
	type lag struct {
		out award.Outcome
		d   time.Duration
	}
	var got []lag
	var mu sync.Mutex
	d := f.deliverer(t, award.DelivererConfig{
		Now: func() time.Time { return t0.Add(1500 * time.Millisecond) },
		OnDelivered: func(o award.Outcome, d time.Duration) {
			mu.Lock()
			got = append(got, lag{o, d})
			mu.Unlock()
		},
	})
	handle := func(sa award.SendAward, drawn time.Time) {
		t.Helper()
		body, err := bus.NewEnvelope("m-"+sa.OrderID, drawn, sa)
		if err != nil {
			t.Fatal(err)
		}
		if err := d.Handle(context.Background(), bus.Message{Topic: "send_award", ID: "m-" + sa.OrderID, Body: body}); err != nil {
			t.Fatal(err)
		}
	}
	credited := f.won(t, "lag", "order-lag-1", award.KeyCreditRandom, "12.50")
	handle(credited, t0)
	manual := f.won(t, "lag", "order-lag-2", "openai_model", "gpt-4")
	handle(manual, t0.Add(time.Second))
	handle(credited, t0) // a duplicate message: already done, not a delivery
	want := []lag{{award.OutcomeCredited, 1500 * time.Millisecond}, {award.OutcomePendingManual, 500 * time.Millisecond}}
	mu.Lock()
	defer mu.Unlock()
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("delivery lags %v, want %v", got, want)
	}
}
